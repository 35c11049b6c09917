/*
 * config - the one configuration file (conf/cport.conf.example documents it):
 * "key = value" lines, '#' comments. Command-line flags override it.
 */
#ifndef CPORT_CONFIG_H
#define CPORT_CONFIG_H

#include <stddef.h>

struct config {
    char db[4096];          /* database path */
    char socket[4096];      /* FastCGI unix socket */
    int workers;            /* 0: one per core */
    int busy_timeout_ms;    /* SQLite busy timeout before 503 */
    int session_idle_s;     /* idle expiry of a browser session */
    int session_max_s;      /* absolute expiry of a browser session */
    int mfa_required;       /* lea, interpol and operator sessions need TOTP on */
    int lockout_attempts;   /* consecutive failures that lock an account */
    int lockout_s;          /* how long it stays locked */
    int signin_ip_limit;    /* failed sign-ins per address within the window */
    int signin_ip_window_s; /* ... before it gets 429 */
    int pwhash_ops;         /* Argon2id passes */
    int pwhash_mem_kib;     /* Argon2id memory */
    int max_body;           /* largest request body the workers accept */
    int reauth_s;           /* sensitive actions need a password + TOTP proof this recent */
    int enrol_link_s;       /* one-time enrolment links expire after this */
    int access_request_ip_limit; /* public access requests per address per hour */
    int package_s;          /* built packages are deleted after this */
    int media_max_bytes;    /* a fetched media item larger than this is refused */
    int media_timeout_s;    /* whole-transfer timeout of one media fetch */
    int media_retries;      /* retries of a transient fetch failure within a run */
    int media_attempts;     /* runs that try a failing item before it is left failed */
    int media_max_pixels;   /* images with more pixels are stored but not decoded */
    int preview_size;       /* the long side of a preview, pixels */
    char public_url[512];   /* the portal's address, for links in emails */
    char mail_command[4096]; /* sendmail-like command fed each message on stdin; empty: none */
    char feed[4096];        /* default feed for `cport import` */
    char feed_token_file[4096];
    char feed_ca_file[4096];
    char feed_client_cert[4096];
    char feed_client_key[4096];
    long feed_max_page_bytes;
    char instance[128];     /* this installation's name, shown and signed */
    char key_dir[4096];     /* instance keys; empty: "keys" beside the database */
    char data_dir[4096];    /* files cport keeps (hash index, packages, media); empty: the database's folder */
    char audit_log[4096];   /* JSON-lines copy of the audit trail for a SIEM; empty: none */
};

/* The key directory: key_dir, or the database's folder + "/keys". */
void config_key_dir(const struct config *c, const char *db, char *out, size_t outlen);

/* The data directory: data_dir, or the database's folder. */
void config_data_dir(const struct config *c, char *out, size_t outlen);

/* Defaults, then CPORT_CONFIG (or path when given) if it exists, then CPORT_DB.
 * Returns 0, or -1 with a message naming the file and line. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

#endif

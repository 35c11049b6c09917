/*
 * config - parse the key = value configuration file.
 */
#include "config.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Built-in defaults: a working set-up with nothing configured. */
static void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->db, sizeof c->db, "var/cport.db");
    snprintf(c->socket, sizeof c->socket, "var/run/cport.sock");
    c->busy_timeout_ms = 5000;
    c->session_idle_s = 30 * 60;
    c->session_max_s = 12 * 3600;
    c->lockout_attempts = 5;
    c->lockout_s = 10 * 60;
    c->signin_ip_limit = 30;
    c->signin_ip_window_s = 10 * 60;
    c->pwhash_ops = 2;
    c->pwhash_mem_kib = 19 * 1024;
    c->max_body = 1 << 20;
    c->mfa_required = 1;
    c->reauth_s = 5 * 60;
    c->enrol_link_s = 72 * 3600;
    c->access_request_ip_limit = 5;
    c->package_s = 14 * 86400;
    c->media_max_bytes = 20 << 20;
    c->media_timeout_s = 30;
    c->media_retries = 3;
    c->media_attempts = 5;
    c->media_max_pixels = 40000000;
    c->preview_size = 192;
    snprintf(c->public_url, sizeof c->public_url, "https://localhost:8443");
    c->feed_max_page_bytes = 32L << 20;
    snprintf(c->instance, sizeof c->instance, "cport");
}

/* Parse a bounded integer setting. */
static int set_int(const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || end == v || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

/* Apply one key = value pair; unknown keys are errors so typos surface. */
static int config_set(struct config *c, const char *k, const char *v)
{
    struct {
        const char *key;
        char *dst;
        size_t n;
    } strs[] = {
        {"db", c->db, sizeof c->db},
        {"socket", c->socket, sizeof c->socket},
        {"feed", c->feed, sizeof c->feed},
        {"feed_token_file", c->feed_token_file, sizeof c->feed_token_file},
        {"feed_ca_file", c->feed_ca_file, sizeof c->feed_ca_file},
        {"feed_client_cert", c->feed_client_cert, sizeof c->feed_client_cert},
        {"feed_client_key", c->feed_client_key, sizeof c->feed_client_key},
        {"instance", c->instance, sizeof c->instance},
        {"key_dir", c->key_dir, sizeof c->key_dir},
        {"data_dir", c->data_dir, sizeof c->data_dir},
        {"audit_log", c->audit_log, sizeof c->audit_log},
        {"public_url", c->public_url, sizeof c->public_url},
        {"mail_command", c->mail_command, sizeof c->mail_command},
    };
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        if (strcmp(k, strs[i].key) == 0) {
            if (strlen(v) >= strs[i].n)
                return -1;
            snprintf(strs[i].dst, strs[i].n, "%s", v);
            return 0;
        }
    /* Minutes and hours in the file, seconds in struct config: scale says how many. */
    struct {
        const char *key;
        int *dst;
        long lo, hi, scale;
    } ints[] = {
        {"workers", &c->workers, 0, 256, 1},
        {"busy_timeout_ms", &c->busy_timeout_ms, 10, 600000, 1},
        {"session_idle_minutes", &c->session_idle_s, 1, 24 * 60, 60},
        {"session_max_hours", &c->session_max_s, 1, 24 * 30, 3600},
        {"mfa_required", &c->mfa_required, 0, 1, 1},
        {"lockout_attempts", &c->lockout_attempts, 1, 100, 1},
        {"lockout_minutes", &c->lockout_s, 1, 24 * 60, 60},
        {"signin_ip_limit", &c->signin_ip_limit, 1, 100000, 1},
        {"signin_ip_window_minutes", &c->signin_ip_window_s, 1, 24 * 60, 60},
        {"pwhash_ops", &c->pwhash_ops, 1, 10, 1},
        {"pwhash_mem_kib", &c->pwhash_mem_kib, 8 * 1024, 1024 * 1024, 1},
        {"max_body", &c->max_body, 1024, 1 << 30, 1},
        {"reauth_minutes", &c->reauth_s, 1, 60, 60},
        {"enrol_link_hours", &c->enrol_link_s, 1, 24 * 14, 3600},
        {"access_request_ip_limit", &c->access_request_ip_limit, 1, 10000, 1},
        {"package_days", &c->package_s, 1, 365, 86400},
        {"media_max_bytes", &c->media_max_bytes, 1024, 1 << 30, 1},
        {"media_timeout_seconds", &c->media_timeout_s, 1, 3600, 1},
        {"media_retries", &c->media_retries, 0, 10, 1},
        {"media_attempts", &c->media_attempts, 1, 100, 1},
        {"media_max_pixels", &c->media_max_pixels, 10000, 50000000, 1}, /* PDQ_MAX_PIXELS */
        {"preview_size", &c->preview_size, 32, 512, 1},
    };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        if (strcmp(k, ints[i].key) == 0) {
            long n;
            if (set_int(v, ints[i].lo, ints[i].hi, &n))
                return -1;
            *ints[i].dst = (int)(n * ints[i].scale);
            return 0;
        }
    if (strcmp(k, "feed_max_page_bytes") == 0)
        return set_int(v, 1024, 1L << 31, &c->feed_max_page_bytes);
    return -1;
}

/* Trim leading and trailing white space in place. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

/* Load defaults, the file (explicit path must exist; CPORT_CONFIG or
 * /etc/cport/cport.conf only when present), then the CPORT_DB override. */
int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
    config_defaults(c);
    int must = path != NULL;
    if (!path)
        path = getenv("CPORT_CONFIG");
    if (path && *path) {
        FILE *f = fopen(path, "r");
        if (!f && (must || errno != ENOENT))
            return fail(err, errlen, -1, "cannot read config %s: %s", path, strerror(errno));
        if (f) {
            char line[8192];
            int no = 0;
            while (fgets(line, sizeof line, f)) {
                no++;
                char *s = trim(line);
                if (!*s || *s == '#')
                    continue;
                char *eq = strchr(s, '=');
                if (!eq) {
                    fclose(f);
                    return fail(err, errlen, -1, "%s:%d: expected key = value", path, no);
                }
                *eq = 0;
                char *k = trim(s), *v = trim(eq + 1);
                if (config_set(c, k, v)) {
                    fclose(f);
                    return fail(err, errlen, -1, "%s:%d: bad setting '%s'", path, no, k);
                }
            }
            fclose(f);
        }
    }
    const char *envdb = getenv("CPORT_DB");
    if (envdb && *envdb)
        snprintf(c->db, sizeof c->db, "%s", envdb);
    return 0;
}

/* Where the instance keys live: configured, or beside the database. */
void config_key_dir(const struct config *c, const char *db, char *out, size_t outlen)
{
    if (c->key_dir[0]) {
        snprintf(out, outlen, "%s", c->key_dir);
        return;
    }
    const char *slash = strrchr(db, '/');
    if (slash)
        snprintf(out, outlen, "%.*s/keys", (int)(slash - db), db);
    else
        snprintf(out, outlen, "keys");
}

/* Where cport keeps its files: configured, or beside the database. */
void config_data_dir(const struct config *c, char *out, size_t outlen)
{
    if (c->data_dir[0]) {
        snprintf(out, outlen, "%s", c->data_dir);
        return;
    }
    const char *slash = strrchr(c->db, '/');
    if (slash)
        snprintf(out, outlen, "%.*s", (int)(slash - c->db), c->db);
    else
        snprintf(out, outlen, ".");
}

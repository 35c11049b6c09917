/*
 * cport - the admin and batch command (CONTRACT.md): a thin front on lib/ that
 * parses flags, calls one lib function and prints its result or a one-line
 * error. Every subcommand takes --db PATH (default CPORT_DB, else the config).
 */
#include "audit.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "feedgen.h"
#include "hashlist.h"
#include "hashmatch.h"
#include "jobs.h"
#include "package.h"
#include "pkgzip.h"
#include "searches.h"
#include "importer.h"
#include "image.h"
#include "mfetch.h"
#include "mstore.h"
#include "pdq.h"
#include "rollup.h"
#include "orgs.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Parsed flags: --name value pairs, bare --switches and positional words. */
struct args {
    const char *names[32], *values[32];
    int n;
    const char *pos[8];
    int npos;
};

static struct config cfg;

/* Print "cport: message" and return the exit status 1 (2 for usage errors). */
static int die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cport: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

/* Split argv into flags and positionals; switches listed in `bare` take no value. */
static int parse_args(int argc, char **argv, const char *const *bare, struct args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) {
            if (a->npos == 8)
                return die(2, "too many arguments");
            a->pos[a->npos++] = argv[i];
            continue;
        }
        if (a->n == 32)
            return die(2, "too many flags");
        a->names[a->n] = argv[i] + 2;
        if (util_in_list(argv[i] + 2, bare)) {
            a->values[a->n++] = "1";
        } else {
            if (i + 1 >= argc)
                return die(2, "%s needs a value", argv[i]);
            a->values[a->n++] = argv[++i];
        }
    }
    return 0;
}

/* Value of a flag or NULL. */
static const char *flag(const struct args *a, const char *name)
{
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->names[i], name) == 0)
            return a->values[i];
    return NULL;
}

/* Refuse flags the subcommand does not know. */
static int only(const struct args *a, const char *const *known)
{
    for (int i = 0; i < a->n; i++)
        if (!util_in_list(a->names[i], known) && strcmp(a->names[i], "db") != 0 &&
            strcmp(a->names[i], "config") != 0)
            return die(2, "unknown flag --%s", a->names[i]);
    return 0;
}

/* A positive integer flag within bounds, or the default. */
static int int_flag(const struct args *a, const char *name, long lo, long hi, long def, long *out)
{
    const char *v = flag(a, name);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || end == v || n < lo || n > hi)
        return die(2, "--%s must be a whole number from %ld to %ld", name, lo, hi);
    *out = n;
    return 0;
}

/* Who the audit trail names for a CLI change: "cli:<login>". */
static const char *cli_actor(void)
{
    static char who[80];
    const char *u = getenv("SUDO_USER");
    if (!u || !*u)
        u = getenv("USER");
    if (!u || !*u || !util_is_clean_text(u, 64))
        u = "unknown";
    snprintf(who, sizeof who, "cli:%s", u);
    return who;
}

/* Open (and for most commands require) the database. */
static struct db *open_db(const struct args *a)
{
    char err[512];
    const char *p = flag(a, "db");
    struct db *d = db_open(p ? p : cfg.db, cfg.busy_timeout_ms, err, sizeof err);
    if (!d)
        die(1, "%s", err);
    else
        db_set_audit_log(d, cfg.audit_log);
    return d;
}

/* The database path this invocation works on. */
static const char *db_path(const struct args *a) { return flag(a, "db") ? flag(a, "db") : cfg.db; }

/* cport migrate */
static int cmd_migrate(struct args *a)
{
    static const char *const known[] = {NULL};
    if (only(a, known))
        return 2;
    struct db *d = open_db(a);
    if (!d)
        return 1;
    char err[512];
    int st = db_migrate(d, err, sizeof err);
    int v = db_schema_version(d);
    db_close(d);
    if (st != CP_OK)
        return die(1, "%s", err);
    /* The media store's key is made with the schema, so it exists before any
     * import can fetch content. */
    char keys[4096];
    config_key_dir(&cfg, db_path(a), keys, sizeof keys);
    if (mstore_key_create(keys, err, sizeof err) != CP_OK)
        return die(1, "%s", err);
    printf("schema at version %d\n", v);
    return 0;
}

/* cport org add --kind K --name N --country CC [--code CODE] */
static int cmd_org(struct args *a)
{
    static const char *const known[] = {"kind", "name", "country", "code", NULL};
    if (a->npos != 1 || strcmp(a->pos[0], "add") != 0)
        return die(2, "usage: cport org add --kind lea|hotline|interpol|operator --name NAME --country CC [--code CODE]");
    if (only(a, known))
        return 2;
    struct db *d = open_db(a);
    if (!d)
        return 1;
    char err[512];
    int64_t id;
    int st = orgs_add(d, cli_actor(), flag(a, "kind"), flag(a, "name"), flag(a, "country"), flag(a, "code"), &id, err, sizeof err);
    db_close(d);
    if (st != CP_OK)
        return die(1, "%s", err);
    printf("%lld\n", (long long)id);
    return 0;
}

/* cport agreement add --lea NAME --hotline CODE --jurisdiction CC[,CC] [flags] */
static int cmd_agreement(struct args *a)
{
    static const char *const known[] = {"lea", "hotline", "jurisdiction", "media-metadata", "media-content",
                                        "include-reported-from", "valid-from", "valid-to", NULL};
    if (a->npos != 1 || strcmp(a->pos[0], "add") != 0)
        return die(2, "usage: cport agreement add --lea NAME --hotline CODE --jurisdiction CC[,CC...]"
                      " [--media-metadata] [--media-content] [--include-reported-from] [--valid-from DATE] [--valid-to DATE]");
    if (only(a, known))
        return 2;
    if (flag(a, "media-content") && !flag(a, "media-metadata"))
        return die(2, "--media-content needs --media-metadata too (content without its hashes cannot be checked)");
    struct orgs_agreement ag = {
        .lea = flag(a, "lea"),
        .hotline = flag(a, "hotline"),
        .jurisdiction = flag(a, "jurisdiction"),
        .media_metadata = flag(a, "media-metadata") != NULL,
        .media_content = flag(a, "media-content") != NULL,
        .include_reported_from = flag(a, "include-reported-from") != NULL,
        .valid_from = flag(a, "valid-from"),
        .valid_to = flag(a, "valid-to"),
    };
    struct db *d = open_db(a);
    if (!d)
        return 1;
    char err[512];
    int64_t id;
    int st = orgs_agreement_add(d, cli_actor(), &ag, &id, err, sizeof err);
    db_close(d);
    if (st != CP_OK)
        return die(1, "%s", err);
    printf("%lld\n", (long long)id);
    return 0;
}

/* cport user add --org NAME --email EMAIL --role ROLE  (password on stdin)
 * cport user disable --email EMAIL  (ends their sessions, revokes their tokens) */
static int cmd_user(struct args *a)
{
    static const char *const known[] = {"org", "email", "role", NULL};
    if (a->npos == 1 && strcmp(a->pos[0], "disable") == 0) {
        if (only(a, known) || !flag(a, "email"))
            return die(2, "usage: cport user disable --email EMAIL");
        struct db *d = open_db(a);
        if (!d)
            return 1;
        char err[512];
        int st = auth_user_disable(d, cli_actor(), flag(a, "email"), err, sizeof err);
        db_close(d);
        if (st != CP_OK)
            return die(1, "%s", err);
        printf("user %s disabled; sessions ended, tokens revoked\n", flag(a, "email"));
        return 0;
    }
    if (a->npos != 1 || strcmp(a->pos[0], "add") != 0)
        return die(2, "usage: cport user add --org NAME --email EMAIL --role viewer|analyst|org_admin|operator < password");
    if (only(a, known))
        return 2;
    char pw[1100];
    if (isatty(0))
        fprintf(stderr, "password: ");
    if (!fgets(pw, sizeof pw, stdin))
        return die(1, "no password on standard input");
    pw[strcspn(pw, "\r\n")] = 0;
    struct db *d = open_db(a);
    if (!d)
        return 1;
    char err[512];
    int64_t id;
    int st = orgs_user_add(d, cli_actor(), &cfg, flag(a, "org"), flag(a, "email"), flag(a, "role"), pw, &id, err, sizeof err);
    db_close(d);
    if (st != CP_OK)
        return die(1, "%s", err);
    printf("%lld\n", (long long)id);
    return 0;
}

/* cport token create --email EMAIL [--name NAME] [--expires DAYS] */
static int cmd_token(struct args *a)
{
    static const char *const known[] = {"email", "name", "expires", NULL};
    if (a->npos != 1 || strcmp(a->pos[0], "create") != 0)
        return die(2, "usage: cport token create --email EMAIL [--name NAME] [--expires DAYS]");
    long days;
    if (only(a, known) || int_flag(a, "expires", 1, 3650, 0, &days))
        return 2;
    if (!flag(a, "email"))
        return die(2, "--email is required");
    struct db *d = open_db(a);
    if (!d)
        return 1;
    char err[512], token[AUTH_TOKEN_LEN];
    const char *name = flag(a, "name") ? flag(a, "name") : "cli";
    int st = auth_token_create(d, cli_actor(), flag(a, "email"), name, (int)days, token, err, sizeof err);
    db_close(d);
    if (st != CP_OK)
        return die(1, "%s", err);
    printf("%s\n", token);
    return 0;
}

/* Progress on a terminal: one line rewritten after each page. */
static void import_progress(void *arg, const struct importer_result *r)
{
    (void)arg;
    fprintf(stderr, "\rpages %ld  inserted %ld  updated %ld  deleted %ld  unchanged %ld  rejected %ld", r->pages,
            r->inserted, r->updated, r->deleted, r->unchanged, r->rejected);
}

/* Progress of the media fetch on a terminal. */
static void media_progress(void *arg, long done, long total)
{
    (void)arg;
    fprintf(stderr, "\rmedia %ld of %ld", done, total);
    if (done == total)
        fputc('\n', stderr);
}

/* cport import --feed URL [--token-file F] [--limit N] [--max-pages N] [--media] */
static int cmd_import(struct args *a)
{
    static const char *const known[] = {"feed", "token-file", "limit", "max-pages", "media", NULL};
    long limit, max_pages;
    if (a->npos || only(a, known) || int_flag(a, "limit", 1, 100000, 0, &limit) ||
        int_flag(a, "max-pages", 1, 100000000, 0, &max_pages))
        return a->npos ? die(2, "usage: cport import --feed URL [--token-file F] [--limit N] [--max-pages N] [--media]") : 2;
    const char *feed = flag(a, "feed") ? flag(a, "feed") : cfg.feed;
    if (!*feed)
        return die(2, "--feed is required (or set feed in the config)");
    char keys[4096], data[4096];
    config_key_dir(&cfg, db_path(a), keys, sizeof keys);
    config_data_dir(&cfg, data, sizeof data);
    struct mfetch_opts mo = {
        .max_bytes = cfg.media_max_bytes,
        .timeout_s = cfg.media_timeout_s,
        .retries = cfg.media_retries,
        .attempts = cfg.media_attempts,
        .max_pixels = cfg.media_max_pixels,
        .preview_size = cfg.preview_size,
        .data_dir = data,
        .key_dir = keys,
        .progress = isatty(2) ? media_progress : NULL,
    };
    struct importer_opts o = {
        .feed = feed,
        .token_file = flag(a, "token-file") ? flag(a, "token-file") : *cfg.feed_token_file ? cfg.feed_token_file : NULL,
        .ca_file = *cfg.feed_ca_file ? cfg.feed_ca_file : NULL,
        .client_cert = *cfg.feed_client_cert ? cfg.feed_client_cert : NULL,
        .client_key = *cfg.feed_client_key ? cfg.feed_client_key : NULL,
        .limit = (int)limit,
        .max_pages = (int)max_pages,
        .max_page_bytes = cfg.feed_max_page_bytes,
        .media = flag(a, "media") ? &mo : NULL,
        .progress = isatty(2) ? import_progress : NULL,
    };
    struct db *d = open_db(a);
    if (!d)
        return 1;
    char err[512];
    struct importer_result r;
    int st = importer_run(d, &o, &r, err, sizeof err);
    db_close(d);
    if (o.progress)
        fputc('\n', stderr);
    /* Saved searches count what is new after a run that changed reports, even
     * one that stopped part-way (its pages are in). */
    if (r.inserted + r.updated + r.deleted > 0) {
        char serr[300];
        long n;
        struct db *sd = open_db(a);
        if (sd && searches_recount(sd, &cfg, &n, serr, sizeof serr) != CP_OK)
            fprintf(stderr, "cport: saved searches not recounted: %s\n", serr);
        if (sd)
            db_close(sd);
    }
    /* The dashboard's day sums are rebuilt by the run itself; failing leaves
     * the days marked and the series exact, so it is said once, and not after
     * a failed run, whose line says what went wrong. */
    if (st == CP_OK && r.rollup_error[0])
        fprintf(stderr, "cport: %s\n", r.rollup_error);
    if (st != CP_OK)
        return die(1, "import failed after %ld pages: %s", r.pages, err);
    printf("import ok: run %lld, pages %ld, inserted %ld, updated %ld, deleted %ld, unchanged %ld, rejected %ld",
           (long long)r.run_id, r.pages, r.inserted, r.updated, r.deleted, r.unchanged, r.rejected);
    if (o.media)
        printf("; media stored %ld, deduplicated %ld, failed %ld, refused %ld, hash mismatches %ld, removed %ld",
               r.media.stored, r.media.deduplicated, r.media.failed, r.media.refused, r.media.mismatched,
               r.media.removed);
    printf("\n");
    return 0;
}

/* cport feedgen --count N --seed S --out DIR [--page-size P] [--no-updates] [--media-files N] */
static int cmd_feedgen(struct args *a)
{
    static const char *const known[] = {"count", "seed", "out", "page-size", "no-updates", "start-date",
                                        "media-files", NULL};
    long count, seed, page, files;
    if (only(a, known) || int_flag(a, "count", 0, 100000000, 1000, &count) ||
        int_flag(a, "seed", 0, 0x7fffffffL, 1, &seed) || int_flag(a, "page-size", 1, 100000, 500, &page) ||
        int_flag(a, "media-files", 0, 10000000, 0, &files))
        return 2;
    if (!flag(a, "out"))
        return die(2, "--out DIR is required");
    int none = flag(a, "no-updates") != NULL;
    struct feedgen_opts o = {.count = count,
                             .seed = (unsigned long long)seed,
                             .page_size = (int)page,
                             .out_dir = flag(a, "out"),
                             .update_ratio = none ? FEEDGEN_NONE : 0,
                             .delete_ratio = none ? FEEDGEN_NONE : 0,
                             .start_date = flag(a, "start-date"),
                             .media_files = files};
    char err[512];
    if (feedgen_write(&o, err, sizeof err))
        return die(1, "%s", err);
    printf("feed of %ld reports written to %s\n", count, o.out_dir);
    return 0;
}


/* Verify the audit chain; prints the result line. 0 ok, 1 broken. */
static int audit_check(struct db *d)
{
    char err[512];
    int64_t n, bad;
    int st = audit_verify(d, &n, &bad, err, sizeof err);
    if (st != CP_OK) {
        fprintf(stderr, "cport: %s\n", err);
        return 1;
    }
    printf("audit chain ok: %lld entries\n", (long long)n);
    return 0;
}

/* cport audit verify | sign | export --out FILE */
static int cmd_audit(struct args *a)
{
    static const char *const known[] = {"out", NULL};
    if (a->npos != 1 || only(a, known))
        return die(2, "usage: cport audit verify | cport audit sign | cport audit export --out FILE");
    struct db *d = open_db(a);
    if (!d)
        return 1;
    char err[512], keys[4200];
    int rc = 0;
    if (strcmp(a->pos[0], "verify") == 0) {
        rc = audit_check(d);
    } else if (strcmp(a->pos[0], "sign") == 0) {
        config_key_dir(&cfg, db_path(a), keys, sizeof keys);
        if (audit_sign_head(d, keys, err, sizeof err) != CP_OK)
            rc = die(1, "%s", err);
        else
            printf("audit head signed\n");
    } else if (strcmp(a->pos[0], "export") == 0) {
        char *json = NULL;
        FILE *f = NULL;
        if (!flag(a, "out"))
            rc = die(2, "--out FILE is required");
        else if (audit_export_heads(d, &json, err, sizeof err) != CP_OK)
            rc = die(1, "%s", err);
        else if (!(f = fopen(flag(a, "out"), "wx")))
            rc = die(1, "cannot create %s: %s", flag(a, "out"), strerror(errno));
        else {
            fputs(json, f);
            fputc('\n', f);
            rc = fclose(f) == 0 ? 0 : die(1, "cannot write %s", flag(a, "out"));
            if (!rc)
                printf("audit heads written to %s\n", flag(a, "out"));
        }
        free(json);
    } else {
        rc = die(2, "usage: cport audit verify | cport audit sign | cport audit export --out FILE");
    }
    db_close(d);
    return rc;
}

/* cport check: SQLite integrity check and the audit chain. */
static int cmd_check(struct args *a)
{
    static const char *const known[] = {NULL};
    if (only(a, known))
        return 2;
    struct db *d = open_db(a);
    if (!d)
        return 1;
    sqlite3_stmt *st;
    int bad = 0;
    sqlite3_prepare_v2(d->h, "PRAGMA integrity_check", -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(st, 0);
        if (strcmp(m, "ok") != 0) {
            fprintf(stderr, "cport: integrity: %s\n", m);
            bad = 1;
        }
    }
    sqlite3_finalize(st);
    if (!bad)
        printf("integrity ok\n");
    bad |= audit_check(d);
    db_close(d);
    return bad ? 1 : 0;
}

/* cport backup --out FILE: online copy through SQLite's backup API. */
static int cmd_backup(struct args *a)
{
    static const char *const known[] = {"out", NULL};
    if (only(a, known))
        return 2;
    const char *out = flag(a, "out");
    if (!out)
        return die(2, "--out FILE is required");
    if (access(out, F_OK) == 0)
        return die(1, "%s exists; refusing to overwrite", out);
    struct db *d = open_db(a);
    if (!d)
        return 1;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.partial", out);
    sqlite3 *dst;
    int rc = sqlite3_open(tmp, &dst);
    sqlite3_backup *b = rc == SQLITE_OK ? sqlite3_backup_init(dst, "main", d->h, "main") : NULL;
    if (b) {
        /* All pages in one step, so one read snapshot: copied in steps of 1024
         * pages, the backup starts over whenever another connection commits
         * between two steps, and with the portal writing (audit batches, imports)
         * a large database never finished (190 MB under 100 commits/s: still
         * copying after 60 s; one step: 1 s). The snapshot blocks no writer. */
        while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            if (rc != SQLITE_OK)
                sqlite3_sleep(50);
        sqlite3_backup_finish(b);
    }
    int ok = b && rc == SQLITE_DONE && sqlite3_errcode(dst) == SQLITE_OK;
    sqlite3_close(dst);
    db_close(d);
    if (!ok || rename(tmp, out) != 0) {
        unlink(tmp);
        return die(1, "backup failed");
    }
    printf("backup written to %s\n", out);
    return 0;
}

/* The export writer of the CLI: standard output. */
static int stdout_write(void *arg, const void *p, size_t n)
{
    (void)arg;
    return fwrite(p, 1, n, stdout) == n ? CP_OK : CP_ERR;
}

/* cport hashlist create --org NAME --name NAME [--kind normal|warning] [--scheme S] [--description TEXT]
 * cport hashlist import --list ID [--format vics|icse|csv|text] [--algorithm A] [--replace] [--no-reindex] FILE
 * cport hashlist export --list ID [--format vics|csv|text] [--since VERSION]   (to stdout)
 * cport hashlist share --list ID --org NAME | --org-kind lea|hotline|interpol
 * cport hashlist reindex [--index PATH] [--index-only]   (rebuild the matching index, then
 *                          correlate media with the lists; workers run it --index-only) */
static int cmd_hashlist(struct args *a)
{
    static const char *const known[] = {"org", "name", "kind", "scheme", "description", "list", "format",
                                        "algorithm", "replace", "since", "org-kind", "index", "index-only", "no-reindex", NULL};
    if (only(a, known))
        return 2;
    const char *sub = a->npos ? a->pos[0] : "";
    char err[512];
    struct audit_entry by = {.actor = cli_actor()};
    if (strcmp(sub, "create") == 0) {
        if (a->npos != 1 || !flag(a, "org") || !flag(a, "name"))
            return die(2, "usage: cport hashlist create --org NAME --name NAME [--kind normal|warning] [--scheme S]");
        struct db *d = open_db(a);
        if (!d)
            return 1;
        int64_t org, id = 0;
        char kind[16];
        int st = orgs_find(d, flag(a, "org"), &org, kind, sizeof kind);
        if (st != CP_OK) {
            db_close(d);
            return die(1, "no organisation named '%s'", flag(a, "org"));
        }
        if (strcmp(kind, "operator") == 0) {
            db_close(d);
            return die(1, "operator organisations do not own hash lists");
        }
        st = hashlist_create(d, &by, org, flag(a, "name"), flag(a, "description"), flag(a, "scheme"), flag(a, "kind"),
                             &id, err, sizeof err);
        db_close(d);
        if (st != CP_OK)
            return die(1, "%s", err);
        printf("%lld\n", (long long)id);
        return 0;
    }
    if (strcmp(sub, "import") == 0 || strcmp(sub, "export") == 0) {
        int import = sub[0] == 'i';
        long list;
        if (a->npos != (import ? 2 : 1) || !flag(a, "list"))
            return die(2, import ? "usage: cport hashlist import --list ID [--format F] [--algorithm A] [--replace] FILE"
                                 : "usage: cport hashlist export --list ID [--format vics|csv|text] [--since VERSION]");
        if (int_flag(a, "list", 1, 1L << 62, 0, &list))
            return 2;
        enum hashfmt_format fmt = 0;
        enum hashfmt_alg alg = 0;
        if (flag(a, "format") && hashfmt_format_parse(flag(a, "format"), &fmt) != CP_OK)
            return die(2, "--format must be vics, icse, csv or text");
        if (flag(a, "algorithm") && hashfmt_alg_parse(flag(a, "algorithm"), &alg) != CP_OK)
            return die(2, "--algorithm must be md5, sha1, sha256, pdq or photodna");
        struct db *d = open_db(a);
        if (!d)
            return 1;
        int st;
        if (import) {
            const char *file = a->pos[1];
            int fd = open(file, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                db_close(d);
                return die(1, "cannot read %s: %s", file, strerror(errno));
            }
            if (!fmt) {
                char head[4096];
                ssize_t n = read(fd, head, sizeof head);
                if (n <= 0 || hashfmt_sniff(head, (size_t)n, &fmt) != CP_OK || lseek(fd, 0, SEEK_SET) != 0) {
                    close(fd);
                    db_close(d);
                    return die(1, "cannot tell the format of %s; give --format", file);
                }
            }
            struct hashlist_counts *n = calloc(1, sizeof *n);
            const char *base = strrchr(file, '/');
            st = n ? hashlist_import(d, &by, list, fd, fmt, alg, flag(a, "replace") != NULL, base ? base + 1 : file, n,
                                     err, sizeof err)
                   : CP_ERR;
            close(fd);
            if (st == CP_OK) {
                printf("added %lld, changed %lld, unchanged %lld, removed %lld, invalid %lld (list version %lld)\n",
                       (long long)n->added, (long long)n->changed, (long long)n->unchanged, (long long)n->removed,
                       (long long)n->invalid, (long long)n->version);
                for (int i = 0; i < n->reported; i++)
                    fprintf(stderr, "line %ld: %s\n", n->invalid_lines[i].line, n->invalid_lines[i].reason);
                if (n->invalid > n->reported)
                    fprintf(stderr, "... and %lld more invalid lines\n", (long long)(n->invalid - n->reported));
                /* A large change is folded into the matching index at once. */
                char path[4200];
                hashmatch_index_path(&cfg, path, sizeof path);
                if (!flag(a, "no-reindex") && hashmatch_delta(d, path) > HASHMATCH_DELTA_MAX &&
                    hashmatch_reindex(d, path, NULL, err, sizeof err) != CP_OK)
                    fprintf(stderr, "cport: imported, but the index was not rebuilt: %s\n", err);
            }
            free(n);
        } else {
            long since;
            if (int_flag(a, "since", 0, 1L << 62, -1, &since)) {
                db_close(d);
                return 2;
            }
            st = hashlist_export(d, list, fmt ? fmt : HF_VICS, since, stdout_write, NULL, err, sizeof err);
        }
        db_close(d);
        return st == CP_OK ? 0 : die(1, "%s", err);
    }
    if (strcmp(sub, "share") == 0) {
        long list;
        if (a->npos != 1 || !flag(a, "list") || !flag(a, "org") == !flag(a, "org-kind"))
            return die(2, "usage: cport hashlist share --list ID --org NAME | --org-kind lea|hotline|interpol");
        if (int_flag(a, "list", 1, 1L << 62, 0, &list))
            return 2;
        struct db *d = open_db(a);
        if (!d)
            return 1;
        int64_t org = 0, id = 0;
        char kind[16];
        if (flag(a, "org") && orgs_find(d, flag(a, "org"), &org, kind, sizeof kind) != CP_OK) {
            db_close(d);
            return die(1, "no organisation named '%s'", flag(a, "org"));
        }
        int st = hashlist_share(d, &by, list, org, flag(a, "org-kind"), &id, err, sizeof err);
        db_close(d);
        if (st != CP_OK)
            return die(1, "%s", err);
        printf("%lld\n", (long long)id);
        return 0;
    }
    if (strcmp(sub, "reindex") == 0) {
        struct db *d = open_db(a);
        if (!d)
            return 1;
        char path[4200];
        if (flag(a, "index"))
            snprintf(path, sizeof path, "%s", flag(a, "index"));
        else
            hashmatch_index_path(&cfg, path, sizeof path);
        int64_t entries = 0, hits = 0;
        int st = hashmatch_reindex(d, path, &entries, err, sizeof err);
        if (st == CP_OK && !flag(a, "index-only"))
            st = hashmatch_correlate(d, path, 31, &hits, err, sizeof err);
        db_close(d);
        if (st != CP_OK)
            return die(1, "%s", err);
        printf("index: %lld entries; correlation: %lld new or changed hits\n", (long long)entries, (long long)hits);
        return 0;
    }
    return die(2, "usage: cport hashlist create|import|export|share|reindex ...");
}

/* Set when `cport jobs` is told to stop: it finishes the job in hand first. */
static volatile sig_atomic_t jobs_stop;

/* SIGTERM/SIGINT for the job runner. */
static void jobs_signal(int sig)
{
    (void)sig;
    jobs_stop = 1;
}

/* cport jobs [--once]: run background jobs (package builds) and expire old
 * packages. --once drains the queue and exits; otherwise it polls every two
 * seconds until SIGTERM, finishing the job in hand. Prints a line per run job
 * and, with --once, the runner's peak RSS. */
static int cmd_jobs(struct args *a)
{
    static const char *const known[] = {"once", NULL};
    if (only(a, known) || a->npos)
        return die(2, "usage: cport jobs [--once]");
    struct db *d = open_db(a);
    if (!d)
        return 1;
    struct sigaction sa = {0};
    sa.sa_handler = jobs_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    char err[512];
    int n = 0, total = 0, st = CP_OK;
    jobs_requeue_stale(d, &n);
    if (n)
        fprintf(stderr, "cport: %d job(s) of a runner that died are queued again\n", n);
    while (!jobs_stop) {
        package_expire(d, &cfg, util_now(), &n);
        int ran = 0;
        st = jobs_run_one(d, &cfg, &ran, err, sizeof err);
        if (st != CP_OK) {
            fprintf(stderr, "cport: jobs: %s\n", err[0] ? err : "database error");
            if (flag(a, "once"))
                break;
        }
        total += ran;
        if (ran)
            continue;
        if (flag(a, "once"))
            break;
        for (int i = 0; i < 20 && !jobs_stop; i++)
            usleep(100 * 1000);
    }
    db_close(d);
    if (flag(a, "once")) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("%d job(s) run; peak RSS %ld KB\n", total, ru.ru_maxrss);
    }
    return st == CP_OK ? 0 : 1;
}

/* Read a whole small file (a key or passphrase file), trailing newline cut. */
static int read_small(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t got = fread(out, 1, n - 1, f);
    fclose(f);
    out[got] = 0;
    out[strcspn(out, "\r\n")] = 0;
    return 0;
}

/* cport package verify FILE [--key PUBKEY] [--passphrase-file F]: check a
 * package offline: the signature over its manifest, then every file. PUBKEY is
 * the hex (or base64) key from /api/v1/keys; on the server itself the instance
 * key is used when none is given. */
static int cmd_package(struct args *a)
{
    static const char *const known[] = {"key", "passphrase-file", NULL};
    if (only(a, known) || a->npos != 2 || strcmp(a->pos[0], "verify") != 0)
        return die(2, "usage: cport package verify FILE [--key PUBKEY] [--passphrase-file FILE]");
    uint8_t pk[32];
    char err[512];
    const char *k = flag(a, "key");
    if (k) {
        if (!(strlen(k) == 64 && util_hex_decode(k, pk, 32) == 0) && util_b64_decode(k, pk, 32) != 32)
            return die(2, "--key must be the 32-byte Ed25519 public key in hex (64 digits) or base64");
    } else {
        char dir[4096];
        uint8_t sk[64];
        config_key_dir(&cfg, flag(a, "db") ? flag(a, "db") : cfg.db, dir, sizeof dir);
        if (access(dir, R_OK) != 0 || audit_instance_key(dir, pk, sk, err, sizeof err) != CP_OK)
            return die(2, "give --key (the public key from /api/v1/keys)");
        sodium_memzero(sk, sizeof sk);
    }
    char pass[1100] = "";
    if (flag(a, "passphrase-file") && read_small(flag(a, "passphrase-file"), pass, sizeof pass) != 0)
        return die(1, "cannot read %s", flag(a, "passphrase-file"));
    cJSON *m = NULL;
    char bad[256] = "";
    int st = pkgzip_verify(a->pos[1], pk, pass[0] ? pass : NULL, &m, bad, sizeof bad, err, sizeof err);
    sodium_memzero(pass, sizeof pass);
    if (st != CP_OK) {
        cJSON_Delete(m);
        /* err usually names the file already. */
        return bad[0] && strncmp(err, bad, strlen(bad)) != 0 ? die(1, "%s: %s", bad, err) : die(1, "%s", err);
    }
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(m, "counts");
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(m, "files");
    printf("ok: package %lld \"%s\" from %s, built %s by %s (%s); %lld reports, %lld media, %lld hashes;"
           " %d files verified\n",
           (long long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "package_id")),
           cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "title")),
           cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "instance")),
           cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "built_at")),
           cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "creator"), "email")),
           cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "org"), "name")),
           (long long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(counts, "reports")),
           (long long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(counts, "media")),
           (long long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(counts, "hashes")), cJSON_GetArraySize(files));
    cJSON_Delete(m);
    return 0;
}

/* Usage text. */
static int usage(void)
{
    fprintf(stderr, "usage: cport [--db PATH] [--config FILE] COMMAND ...\n"
                    "  migrate | org add | agreement add | user add | token create | import |\n"
                    "  feedgen | check | backup --out FILE | audit verify|sign|export |\n"
                    "  hashlist create|import|export|share|reindex | jobs [--once] | package verify FILE |\n"
                    "  media hash FILE... | media verify | stats refresh\n");
    return 2;
}

/* One JSON line of what cport learns from a media file (cport media hash). */
static int media_hash_one(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return die(1, "cannot read %s: %s", path, strerror(errno));
    struct buf b;
    buf_init(&b);
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0 && (long)b.len <= cfg.media_max_bytes)
        buf_add(&b, chunk, k);
    fclose(f);
    if ((long)b.len > cfg.media_max_bytes) {
        buf_free(&b);
        return die(1, "%s is larger than media_max_bytes (%d)", path, cfg.media_max_bytes);
    }
    struct mfetch_file mf;
    char err[300];
    const uint8_t *p = (const uint8_t *)(b.p ? b.p : "");
    int st = mfetch_process(p, b.len, cfg.media_max_pixels, cfg.preview_size, &mf, err, sizeof err);
    if (st != CP_OK) {
        mfetch_file_free(&mf);
        buf_free(&b);
        return die(1, "%s: %s", path, err);
    }
    struct image img = {0};
    int comps = image_decode(p, b.len, cfg.media_max_pixels, &img, err, sizeof err) == CP_OK ? img.comps : 0;
    image_free(&img);
    char md5[33], sha1[41], sha256[65], pdq[65];
    util_hex_encode(mf.md5, 16, md5);
    util_hex_encode(mf.sha1, 20, sha1);
    util_hex_encode(mf.sha256, 32, sha256);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "file", path);
    cJSON_AddStringToObject(j, "type", mf.type);
    cJSON_AddNumberToObject(j, "bytes", (double)b.len);
    cJSON_AddNumberToObject(j, "width", mf.w);
    cJSON_AddNumberToObject(j, "height", mf.h);
    cJSON_AddNumberToObject(j, "channels", comps);
    cJSON_AddStringToObject(j, "md5", md5);
    cJSON_AddStringToObject(j, "sha1", sha1);
    cJSON_AddStringToObject(j, "sha256", sha256);
    if (mf.has_pdq) {
        pdq_hex(mf.pdq, pdq);
        cJSON_AddStringToObject(j, "pdq", pdq);
        cJSON_AddNumberToObject(j, "pdq_quality", mf.pdq_quality);
    }
    if (mf.decode_error[0])
        cJSON_AddStringToObject(j, "decode_error", mf.decode_error);
    char *text = cJSON_PrintUnformatted(j);
    printf("%s\n", text ? text : "{}");
    free(text);
    cJSON_Delete(j);
    mfetch_file_free(&mf);
    buf_free(&b);
    return 0;
}

/* Check every stored original: it decrypts, authenticates and hashes to its
 * address. Prints the bad ones; 0 when all are good, 1 otherwise. */
static int media_verify(struct args *a)
{
    struct db *d = open_db(a);
    if (!d)
        return 1;
    char keys[4096], data[4096], err[300];
    config_key_dir(&cfg, db_path(a), keys, sizeof keys);
    config_data_dir(&cfg, data, sizeof data);
    struct mstore ms;
    if (mstore_open(&ms, data, keys, err, sizeof err) != CP_OK) {
        db_close(d);
        return die(1, "%s", err);
    }
    sqlite3_stmt *st = db_prep(d, "SELECT sha256, bytes FROM media_files ORDER BY sha256");
    long n = 0, bad = 0;
    int rc = SQLITE_ERROR;
    while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != 32)
            continue;
        uint8_t sha[32];
        memcpy(sha, sqlite3_column_blob(st, 0), 32);
        int64_t bytes = 0;
        n++;
        int e = mstore_verify(&ms, sha, &bytes, err, sizeof err);
        if (e == CP_OK && bytes != sqlite3_column_int64(st, 1))
            e = fail(err, sizeof err, CP_BAD, "size %lld, recorded %lld", (long long)bytes,
                     (long long)sqlite3_column_int64(st, 1));
        if (e != CP_OK) {
            char hex[65];
            util_hex_encode(sha, 32, hex);
            fprintf(stderr, "bad: %s: %s\n", hex, e == CP_NOTFOUND ? "the stored file is missing" : err);
            bad++;
        }
    }
    db_done(st);
    db_close(d);
    mstore_close(&ms);
    if (rc != SQLITE_DONE)
        return die(1, "cannot read media_files");
    if (bad) {
        fprintf(stderr, "cport: media store: %ld of %ld files failed the check\n", bad, n);
        return 1;
    }
    printf("media store ok: %ld files verified\n", n);
    return 0;
}

/* cport media hash FILE... | cport media verify */
static int cmd_media(struct args *a)
{
    static const char *const known[] = {NULL};
    if (only(a, known))
        return 2;
    if (a->npos >= 2 && strcmp(a->pos[0], "hash") == 0) {
        int rc = 0;
        for (int i = 1; i < a->npos; i++)
            rc |= media_hash_one(a->pos[i]);
        return rc;
    }
    if (a->npos == 1 && strcmp(a->pos[0], "verify") == 0)
        return media_verify(a);
    return die(2, "usage: cport media hash FILE... | cport media verify");
}

/* cport stats refresh: rebuild the dashboard's day sums of changed days (also
 * done by every `cport import`). */
static int cmd_stats(struct args *a)
{
    static const char *const known[] = {NULL};
    if (only(a, known))
        return 2;
    if (a->npos != 1 || strcmp(a->pos[0], "refresh") != 0)
        return die(2, "usage: cport stats refresh");
    struct db *d = open_db(a);
    if (!d)
        return 1;
    char err[300];
    long days;
    int st = rollup_refresh(d, &days, err, sizeof err);
    db_close(d);
    if (st != CP_OK)
        return die(1, "%s", err);
    if (days < 0)
        printf("stats ok: day sums rebuilt for every day\n");
    else
        printf("stats ok: day sums rebuilt for %ld changed days\n", days);
    return 0;
}

/* Dispatch on the subcommand. */
int main(int argc, char **argv)
{
    static const char *const bare[] = {"media-metadata", "media-content", "include-reported-from", "media",
                                       "no-updates", "replace", "index-only", "no-reindex", "once", NULL};
    /* --db and --config may also stand before the command: cport --db X migrate. */
    char *rest[64];
    int nrest = 0, cmd = 0;
    for (int i = 1; i < argc && nrest < 62; i++) {
        if (!cmd && (strcmp(argv[i], "--db") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            rest[nrest++] = argv[i];
            rest[nrest++] = argv[++i];
        } else if (!cmd && strncmp(argv[i], "--", 2) != 0) {
            cmd = i;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    if (!cmd)
        return usage();
    struct args a;
    if (parse_args(nrest, rest, bare, &a))
        return 2;
    char err[512];
    if (config_load(&cfg, flag(&a, "config"), err, sizeof err))
        return die(1, "%s", err);
    /* --db names the database for everything derived from it (the data and key
     * directories when the config leaves them to default beside it). */
    if (flag(&a, "db") && snprintf(cfg.db, sizeof cfg.db, "%s", flag(&a, "db")) >= (int)sizeof cfg.db)
        return die(2, "--db: path too long");
    static const struct {
        const char *name;
        int (*fn)(struct args *);
    } cmds[] = {{"migrate", cmd_migrate}, {"org", cmd_org},         {"agreement", cmd_agreement},
                {"user", cmd_user},       {"token", cmd_token},     {"import", cmd_import},
                {"feedgen", cmd_feedgen}, {"check", cmd_check},     {"backup", cmd_backup},
                {"audit", cmd_audit},     {"hashlist", cmd_hashlist},
                {"jobs", cmd_jobs},       {"package", cmd_package},   {"media", cmd_media},
                {"stats", cmd_stats}};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
        if (strcmp(argv[cmd], cmds[i].name) == 0)
            return cmds[i].fn(&a);
    return usage();
}

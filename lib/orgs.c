/*
 * orgs - validated administrative writes for organisations, users, agreements.
 */
#include "orgs.h"
#include "audit.h"
#include "auth.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char *const ORG_KINDS[] = {"lea", "hotline", "interpol", "operator", NULL};
static const char *const ROLES[] = {"viewer", "analyst", "org_admin", "operator", NULL};

/* Look an organisation up by name: id and kind. */
static int org_find(struct db *d, const char *name, int64_t *id, char *kind, size_t kindlen)
{
    sqlite3_stmt *st = db_prep(d, "SELECT id, kind FROM orgs WHERE name = ?");
    db_bind_text(st, 1, name);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        snprintf(kind, kindlen, "%s", db_text(st, 1));
    }
    db_done(st);
    return rc == SQLITE_ROW ? CP_OK : CP_NOTFOUND;
}

/* Run one prepared insert and report its rowid, mapping constraint errors. */
static int insert_done(struct db *d, sqlite3_stmt *st, int64_t *id, const char *what, char *err, size_t errlen)
{
    int rc = sqlite3_step(st);
    db_done(st);
    if (rc == SQLITE_CONSTRAINT)
        return fail(err, errlen, CP_CONFLICT, "%s already exists", what);
    if (rc != SQLITE_DONE)
        return fail(err, errlen, db_status(rc), "could not store %s: %s", what, sqlite3_errmsg(d->h));
    if (id)
        *id = sqlite3_last_insert_rowid(d->h);
    return CP_OK;
}

/* Inside the open transaction: the audit entry of an access change ("<kind>:<id>",
 * detail consumed) and the "access" version the workers' scope caches watch. */
static int audit_access(struct db *d, const char *actor, const char *action, const char *kind, int64_t id,
                        cJSON *detail, char *err, size_t errlen)
{
    char *text = cJSON_PrintUnformatted(detail), obj[48];
    cJSON_Delete(detail);
    snprintf(obj, sizeof obj, "%s:%lld", kind, (long long)id);
    struct audit_entry e = {.actor = actor, .action = action, .object = obj, .detail = text};
    int rc = audit_append(d, &e);
    if (rc == CP_OK)
        rc = db_bump(d, "access");
    free(text);
    return rc == CP_OK ? CP_OK : fail(err, errlen, rc, "could not write the audit entry");
}

/* Insert (st, prepared) and its audit entry in one transaction; detail is
 * consumed. The new row's id goes to *id. */
static int insert_audited(struct db *d, sqlite3_stmt *st, int64_t *id, const char *what, const char *actor,
                          const char *action, const char *kind, cJSON *detail, char *err, size_t errlen)
{
    int rc = db_begin(d);
    if (rc != CP_OK) {
        sqlite3_reset(st);
        cJSON_Delete(detail);
        return fail(err, errlen, rc, "database is busy");
    }
    int64_t rowid = 0;
    rc = insert_done(d, st, &rowid, what, err, errlen);
    if (rc == CP_OK)
        rc = audit_access(d, actor, action, kind, rowid, detail, err, errlen);
    else
        cJSON_Delete(detail);
    if (rc != CP_OK) {
        db_rollback(d);
        return rc;
    }
    if (id)
        *id = rowid;
    return db_commit(d) == CP_OK ? CP_OK : fail(err, errlen, CP_BUSY, "database is busy");
}

/* Create an organisation after validating every field. */
int orgs_add(struct db *d, const char *actor, const char *kind, const char *name, const char *country, const char *code,
             int64_t *id, char *err, size_t errlen)
{
    if (!util_in_list(kind, ORG_KINDS))
        return fail(err, errlen, CP_BAD, "--kind must be lea, hotline, interpol or operator");
    if (!name || !*name || !util_is_clean_text(name, 200))
        return fail(err, errlen, CP_BAD, "--name must be 1 to 200 printable characters");
    if (!util_is_country(country))
        return fail(err, errlen, CP_BAD, "--country must be an ISO 3166-1 alpha-2 code such as NL");
    if (code && (!*code || !util_is_clean_text(code, 32)))
        return fail(err, errlen, CP_BAD, "--code must be 1 to 32 printable characters");
    if (strcmp(kind, "hotline") == 0 && !code)
        return fail(err, errlen, CP_BAD, "a hotline needs --code (its ICCAM code, e.g. NL-EOKM)");
    sqlite3_stmt *st = db_prep(d, "INSERT INTO orgs(kind, name, country, code, created_at) VALUES (?,?,?,?,?)");
    db_bind_text(st, 1, kind);
    db_bind_text(st, 2, name);
    db_bind_text(st, 3, country);
    db_bind_text(st, 4, code);
    sqlite3_bind_int64(st, 5, util_now());
    cJSON *dt = cJSON_CreateObject();
    cJSON_AddStringToObject(dt, "kind", kind);
    cJSON_AddStringToObject(dt, "name", name);
    cJSON_AddStringToObject(dt, "country", country);
    if (code)
        cJSON_AddStringToObject(dt, "code", code);
    return insert_audited(d, st, id, "an organisation with that name or code", actor, "org.add", "org", dt, err,
                          errlen);
}

/* Create a user; the email is checked for shape, the password for length. */
int orgs_user_add(struct db *d, const char *actor, const struct config *cfg, const char *org, const char *email,
                  const char *role, const char *password, int64_t *id, char *err, size_t errlen)
{
    int64_t org_id;
    char kind[16];
    if (!org || org_find(d, org, &org_id, kind, sizeof kind) != CP_OK)
        return fail(err, errlen, CP_NOTFOUND, "no organisation named '%s'", org ? org : "");
    const char *at = email ? strchr(email, '@') : NULL;
    if (!at || at == email || !strchr(at, '.') || strchr(at + 1, '@') || !util_is_clean_text(email, 254) ||
        strchr(email, ' '))
        return fail(err, errlen, CP_BAD, "--email must be an email address");
    if (!util_in_list(role, ROLES))
        return fail(err, errlen, CP_BAD, "--role must be viewer, analyst, org_admin or operator");
    if ((strcmp(role, "operator") == 0) != (strcmp(kind, "operator") == 0))
        return fail(err, errlen, CP_BAD, "the operator role is for operator organisations, and only it");
    char hash[crypto_pwhash_STRBYTES];
    int st = auth_hash_password(cfg, password, hash, err, errlen);
    if (st != CP_OK)
        return st;
    sqlite3_stmt *q = db_prep(d, "INSERT INTO users(org_id, email, role, pw_hash, created_at) VALUES (?,?,?,?,?)");
    sqlite3_bind_int64(q, 1, org_id);
    db_bind_text(q, 2, email);
    db_bind_text(q, 3, role);
    db_bind_text(q, 4, hash);
    sqlite3_bind_int64(q, 5, util_now());
    cJSON *dt = cJSON_CreateObject();
    cJSON_AddStringToObject(dt, "org", org);
    cJSON_AddStringToObject(dt, "email", email);
    cJSON_AddStringToObject(dt, "role", role);
    return insert_audited(d, q, id, "a user with that email", actor, "user.add", "user", dt, err, errlen);
}

/* Create an agreement and its jurisdiction rows in one transaction. */
int orgs_agreement_add(struct db *d, const char *actor, const struct orgs_agreement *a, int64_t *id, char *err, size_t errlen)
{
    int64_t lea_id;
    char kind[16];
    if (!a->lea || org_find(d, a->lea, &lea_id, kind, sizeof kind) != CP_OK)
        return fail(err, errlen, CP_NOTFOUND, "no organisation named '%s'", a->lea ? a->lea : "");
    if (strcmp(kind, "lea") != 0)
        return fail(err, errlen, CP_BAD, "'%s' is not an LEA", a->lea);
    if (!a->hotline || !*a->hotline || !util_is_clean_text(a->hotline, 32))
        return fail(err, errlen, CP_BAD, "--hotline must be a hotline code such as NL-EOKM");
    char countries[64][3];
    int n = 0;
    const char *p = a->jurisdiction ? a->jurisdiction : "";
    while (*p) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        char cc[3] = {0};
        if (len == 2)
            memcpy(cc, p, 2);
        if (len != 2 || !util_is_country(cc) || n == 64)
            return fail(err, errlen, CP_BAD, "--jurisdiction must be ISO country codes such as NL or NL,BE");
        memcpy(countries[n++], cc, 3);
        p += len + (c ? 1 : 0);
        if (c && !*p)
            return fail(err, errlen, CP_BAD, "--jurisdiction has a trailing comma");
    }
    if (!n)
        return fail(err, errlen, CP_BAD, "--jurisdiction needs at least one country");
    int64_t from = 0, to = 0;
    if (a->valid_from && util_parse_time(a->valid_from, &from))
        return fail(err, errlen, CP_BAD, "--valid-from must be a date such as 2026-01-31");
    if (a->valid_to && util_parse_time(a->valid_to, &to))
        return fail(err, errlen, CP_BAD, "--valid-to must be a date such as 2026-12-31");
    if (a->valid_from && a->valid_to && to <= from)
        return fail(err, errlen, CP_BAD, "--valid-to must be after --valid-from");
    if (db_begin(d) != CP_OK)
        return fail(err, errlen, CP_BUSY, "database is busy");
    sqlite3_stmt *st = db_prep(d, "INSERT INTO agreements(lea_org_id, hotline_code, media_metadata, media_content,"
                                  " include_reported_from, valid_from, valid_to, created_at) VALUES (?,?,?,?,?,?,?,?)");
    sqlite3_bind_int64(st, 1, lea_id);
    db_bind_text(st, 2, a->hotline);
    sqlite3_bind_int(st, 3, a->media_metadata);
    sqlite3_bind_int(st, 4, a->media_content);
    sqlite3_bind_int(st, 5, a->include_reported_from);
    db_bind_opt_int(st, 6, a->valid_from != NULL, from);
    db_bind_opt_int(st, 7, a->valid_to != NULL, to);
    sqlite3_bind_int64(st, 8, util_now());
    int64_t aid;
    int rc = insert_done(d, st, &aid, "the agreement", err, errlen);
    for (int i = 0; rc == CP_OK && i < n; i++) {
        st = db_prep(d, "INSERT OR IGNORE INTO agreement_countries(agreement_id, country) VALUES (?,?)");
        sqlite3_bind_int64(st, 1, aid);
        db_bind_text(st, 2, countries[i]);
        rc = insert_done(d, st, NULL, "the jurisdiction", err, errlen);
    }
    if (rc == CP_OK) {
        cJSON *dt = cJSON_CreateObject();
        cJSON_AddStringToObject(dt, "lea", a->lea);
        cJSON_AddStringToObject(dt, "hotline", a->hotline);
        cJSON_AddStringToObject(dt, "jurisdiction", a->jurisdiction);
        cJSON_AddBoolToObject(dt, "media_metadata", a->media_metadata);
        cJSON_AddBoolToObject(dt, "media_content", a->media_content);
        cJSON_AddBoolToObject(dt, "include_reported_from", a->include_reported_from);
        if (a->valid_from)
            cJSON_AddStringToObject(dt, "valid_from", a->valid_from);
        if (a->valid_to)
            cJSON_AddStringToObject(dt, "valid_to", a->valid_to);
        rc = audit_access(d, actor, "agreement.add", "agreement", aid, dt, err, errlen);
    }
    if (rc != CP_OK) {
        db_rollback(d);
        return rc;
    }
    if (id)
        *id = aid;
    return db_commit(d) == CP_OK ? CP_OK : fail(err, errlen, CP_BUSY, "database is busy");
}

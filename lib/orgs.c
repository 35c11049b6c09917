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
int orgs_find(struct db *d, const char *name, int64_t *id, char *kind, size_t kindlen)
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
    char *text = cJSON_PrintUnformatted(detail);
    cJSON_Delete(detail);
    struct audit_entry by = {.actor = actor};
    int rc = audit_record(d, &by, action, kind, id, text);
    if (rc == CP_OK)
        rc = db_bump(d, "access");
    free(text);
    return rc == CP_OK ? CP_OK : fail(err, errlen, rc, "could not write the audit entry");
}

/* An email address: one @, a dot after it, printable, no spaces. */
int orgs_valid_email(const char *email)
{
    const char *at = email ? strchr(email, '@') : NULL;
    return at && at != email && strchr(at, '.') && !strchr(at + 1, '@') && util_is_clean_text(email, 254) &&
           !strpbrk(email, " <>,;\"'") && at[1] != '.' && email[strlen(email) - 1] != '.';
}

/* One of the four roles. */
int orgs_valid_role(const char *role) { return role && util_in_list(role, ROLES); }

/* The operator role lives in operator organisations, and only there. */
int orgs_role_fits(const char *role, const char *org_kind)
{
    return (strcmp(role, "operator") == 0) == (strcmp(org_kind, "operator") == 0);
}

/* Validate and insert an organisation row (no transaction, no audit). */
int orgs_insert_org(struct db *d, const char *kind, const char *name, const char *country, const char *code,
                    int64_t *id, char *err, size_t errlen)
{
    if (!kind || !util_in_list(kind, ORG_KINDS))
        return fail(err, errlen, CP_BAD, "kind must be lea, hotline, interpol or operator");
    if (!name || !*name || !util_is_clean_text(name, 200))
        return fail(err, errlen, CP_BAD, "name must be 1 to 200 printable characters");
    if (!country || !util_is_country(country))
        return fail(err, errlen, CP_BAD, "country must be an ISO 3166-1 alpha-2 code such as NL");
    if (code && (!*code || !util_is_clean_text(code, 32)))
        return fail(err, errlen, CP_BAD, "code must be 1 to 32 printable characters");
    if (strcmp(kind, "hotline") == 0 && !code)
        return fail(err, errlen, CP_BAD, "a hotline needs a code (its ICCAM code, e.g. NL-EOKM)");
    sqlite3_stmt *st = db_prep(d, "INSERT INTO orgs(kind, name, country, code, created_at) VALUES (?,?,?,?,?)");
    if (!st)
        return fail(err, errlen, CP_ERR, "could not prepare");
    db_bind_text(st, 1, kind);
    db_bind_text(st, 2, name);
    db_bind_text(st, 3, country);
    db_bind_text(st, 4, code);
    sqlite3_bind_int64(st, 5, util_now());
    return insert_done(d, st, id, "an organisation with that name or code", err, errlen);
}

/* Validate and insert a user row (no transaction, no audit). */
int orgs_insert_user(struct db *d, int64_t org_id, const char *email, const char *role, const char *name,
                     const char *pw_hash, int64_t *id, char *err, size_t errlen)
{
    if (!orgs_valid_email(email))
        return fail(err, errlen, CP_BAD, "email must be an email address");
    if (!orgs_valid_role(role))
        return fail(err, errlen, CP_BAD, "role must be viewer, analyst, org_admin or operator");
    if (name && !util_is_clean_text(name, 200))
        return fail(err, errlen, CP_BAD, "name must be at most 200 printable characters");
    sqlite3_stmt *st = db_prep(d, "SELECT kind FROM orgs WHERE id = ?");
    if (!st)
        return fail(err, errlen, CP_ERR, "could not prepare");
    sqlite3_bind_int64(st, 1, org_id);
    char kind[16] = "";
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(kind, sizeof kind, "%s", db_text(st, 0));
    db_done(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? fail(err, errlen, CP_NOTFOUND, "no such organisation") : db_err(rc);
    if (!orgs_role_fits(role, kind))
        return fail(err, errlen, CP_BAD, "the operator role is for operator organisations, and only it");
    /* "!" is never a valid Argon2id string: no password matches until one is set. */
    st = db_prep(d, "INSERT INTO users(org_id, email, role, name, pw_hash, created_at) VALUES (?,?,?,?,?,?)");
    if (!st)
        return fail(err, errlen, CP_ERR, "could not prepare");
    sqlite3_bind_int64(st, 1, org_id);
    db_bind_text(st, 2, email);
    db_bind_text(st, 3, role);
    db_bind_text(st, 4, name && *name ? name : NULL);
    db_bind_text(st, 5, pw_hash ? pw_hash : "!");
    sqlite3_bind_int64(st, 6, util_now());
    return insert_done(d, st, id, "a user with that email", err, errlen);
}

/* Write an agreement's countries (after removing the old ones). */
static int put_countries(struct db *d, int64_t aid, const struct orgs_terms *t, char *err, size_t errlen)
{
    sqlite3_stmt *st = db_prep(d, "DELETE FROM agreement_countries WHERE agreement_id = ?");
    sqlite3_bind_int64(st, 1, aid);
    int rc = sqlite3_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return fail(err, errlen, db_status(rc), "could not store the jurisdiction");
    for (int i = 0; i < t->n; i++) {
        st = db_prep(d, "INSERT OR IGNORE INTO agreement_countries(agreement_id, country) VALUES (?,?)");
        sqlite3_bind_int64(st, 1, aid);
        db_bind_text(st, 2, t->countries[i]);
        if ((rc = insert_done(d, st, NULL, "the jurisdiction", err, errlen)) != CP_OK)
            return rc;
    }
    return CP_OK;
}

/* Check terms that any front may have filled. */
static int terms_check(const struct orgs_terms *t, char *err, size_t errlen)
{
    if (t->n < 1 || t->n > 64)
        return fail(err, errlen, CP_BAD, "jurisdiction needs 1 to 64 countries");
    for (int i = 0; i < t->n; i++)
        if (!util_is_country(t->countries[i]))
            return fail(err, errlen, CP_BAD, "jurisdiction must be ISO country codes such as NL");
    if (t->has_from && t->has_to && t->valid_to <= t->valid_from)
        return fail(err, errlen, CP_BAD, "valid_to must be after valid_from");
    return CP_OK;
}

/* Insert an agreement and its countries (no transaction, no audit). */
int orgs_insert_agreement(struct db *d, int64_t lea_id, const char *hotline, const struct orgs_terms *t, int64_t *id,
                          char *err, size_t errlen)
{
    int rc = terms_check(t, err, errlen);
    if (rc != CP_OK)
        return rc;
    if (!hotline || !*hotline || !util_is_clean_text(hotline, 32))
        return fail(err, errlen, CP_BAD, "hotline must be a hotline code such as NL-EOKM");
    sqlite3_stmt *st = db_prep(d, "SELECT kind FROM orgs WHERE id = ?");
    sqlite3_bind_int64(st, 1, lea_id);
    rc = sqlite3_step(st);
    int lea = rc == SQLITE_ROW && strcmp(db_text(st, 0), "lea") == 0;
    db_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_err(rc);
    if (!lea)
        return fail(err, errlen, CP_BAD, "an agreement binds an LEA organisation");
    st = db_prep(d, "INSERT INTO agreements(lea_org_id, hotline_code, media_metadata, media_content,"
                    " include_reported_from, valid_from, valid_to, created_at) VALUES (?,?,?,?,?,?,?,?)");
    sqlite3_bind_int64(st, 1, lea_id);
    db_bind_text(st, 2, hotline);
    sqlite3_bind_int(st, 3, t->media_metadata);
    sqlite3_bind_int(st, 4, t->media_content);
    sqlite3_bind_int(st, 5, t->include_reported_from);
    db_bind_opt_int(st, 6, t->has_from, t->valid_from);
    db_bind_opt_int(st, 7, t->has_to, t->valid_to);
    sqlite3_bind_int64(st, 8, util_now());
    int64_t aid;
    if ((rc = insert_done(d, st, &aid, "the agreement", err, errlen)) != CP_OK)
        return rc;
    if (id)
        *id = aid;
    return put_countries(d, aid, t, err, errlen);
}

/* Replace an agreement's terms in place (no transaction, no audit). */
int orgs_update_agreement(struct db *d, int64_t id, const struct orgs_terms *t, char *err, size_t errlen)
{
    int rc = terms_check(t, err, errlen);
    if (rc != CP_OK)
        return rc;
    sqlite3_stmt *st = db_prep(d, "UPDATE agreements SET media_metadata = ?, media_content = ?,"
                                  " include_reported_from = ?, valid_from = ?, valid_to = ? WHERE id = ?");
    sqlite3_bind_int(st, 1, t->media_metadata);
    sqlite3_bind_int(st, 2, t->media_content);
    sqlite3_bind_int(st, 3, t->include_reported_from);
    db_bind_opt_int(st, 4, t->has_from, t->valid_from);
    db_bind_opt_int(st, 5, t->has_to, t->valid_to);
    sqlite3_bind_int64(st, 6, id);
    rc = sqlite3_step(st);
    int n = sqlite3_changes(d->h);
    db_done(st);
    if (rc != SQLITE_DONE)
        return fail(err, errlen, db_status(rc), "could not store the agreement");
    if (!n)
        return fail(err, errlen, CP_NOTFOUND, "no such agreement");
    return put_countries(d, id, t, err, errlen);
}

/* Run one CLI change in its own transaction: body, then its audit entry. */
static int cli_change(struct db *d, int rc_body, int64_t rowid, const char *actor, const char *action,
                      const char *kind, cJSON *detail, char *err, size_t errlen)
{
    int rc = rc_body;
    if (rc == CP_OK)
        rc = audit_access(d, actor, action, kind, rowid, detail, err, errlen);
    else
        cJSON_Delete(detail);
    if (rc != CP_OK) {
        db_rollback(d);
        return rc;
    }
    return db_commit(d) == CP_OK ? CP_OK : fail(err, errlen, CP_BUSY, "database is busy");
}

/* Create an organisation after validating every field. */
int orgs_add(struct db *d, const char *actor, const char *kind, const char *name, const char *country, const char *code,
             int64_t *id, char *err, size_t errlen)
{
    if (db_begin(d) != CP_OK)
        return fail(err, errlen, CP_BUSY, "database is busy");
    int64_t rowid = 0;
    int rc = orgs_insert_org(d, kind, name, country, code, &rowid, err, errlen);
    cJSON *dt = cJSON_CreateObject();
    if (rc == CP_OK) {
        cJSON_AddStringToObject(dt, "kind", kind);
        cJSON_AddStringToObject(dt, "name", name);
        cJSON_AddStringToObject(dt, "country", country);
        if (code)
            cJSON_AddStringToObject(dt, "code", code);
    }
    if ((rc = cli_change(d, rc, rowid, actor, "org.add", "org", dt, err, errlen)) == CP_OK && id)
        *id = rowid;
    return rc;
}

/* Create a user with a password, in the named organisation. */
int orgs_user_add(struct db *d, const char *actor, const struct config *cfg, const char *org, const char *email,
                  const char *role, const char *password, int64_t *id, char *err, size_t errlen)
{
    int64_t org_id;
    char kind[16];
    if (!org || orgs_find(d, org, &org_id, kind, sizeof kind) != CP_OK)
        return fail(err, errlen, CP_NOTFOUND, "no organisation named '%s'", org ? org : "");
    if (!orgs_valid_email(email))
        return fail(err, errlen, CP_BAD, "--email must be an email address");
    if (!orgs_valid_role(role))
        return fail(err, errlen, CP_BAD, "--role must be viewer, analyst, org_admin or operator");
    char hash[crypto_pwhash_STRBYTES];
    int rc = auth_hash_password(cfg, password, hash, err, errlen);
    if (rc != CP_OK)
        return rc;
    if (db_begin(d) != CP_OK)
        return fail(err, errlen, CP_BUSY, "database is busy");
    int64_t rowid = 0;
    rc = orgs_insert_user(d, org_id, email, role, NULL, hash, &rowid, err, errlen);
    cJSON *dt = cJSON_CreateObject();
    cJSON_AddStringToObject(dt, "org", org);
    cJSON_AddStringToObject(dt, "email", email);
    cJSON_AddStringToObject(dt, "role", role);
    if ((rc = cli_change(d, rc, rowid, actor, "user.add", "user", dt, err, errlen)) == CP_OK && id)
        *id = rowid;
    return rc;
}

/* Create an agreement from the CLI's flags. */
int orgs_agreement_add(struct db *d, const char *actor, const struct orgs_agreement *a, int64_t *id, char *err, size_t errlen)
{
    int64_t lea_id;
    char kind[16];
    if (!a->lea || orgs_find(d, a->lea, &lea_id, kind, sizeof kind) != CP_OK)
        return fail(err, errlen, CP_NOTFOUND, "no organisation named '%s'", a->lea ? a->lea : "");
    if (strcmp(kind, "lea") != 0)
        return fail(err, errlen, CP_BAD, "'%s' is not an LEA", a->lea);
    if (!a->hotline || !*a->hotline || !util_is_clean_text(a->hotline, 32))
        return fail(err, errlen, CP_BAD, "--hotline must be a hotline code such as NL-EOKM");
    struct orgs_terms t = {.media_metadata = a->media_metadata, .media_content = a->media_content,
                           .include_reported_from = a->include_reported_from};
    const char *p = a->jurisdiction ? a->jurisdiction : "";
    while (*p) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        char cc[3] = {0};
        if (len == 2)
            memcpy(cc, p, 2);
        if (len != 2 || !util_is_country(cc) || t.n == 64)
            return fail(err, errlen, CP_BAD, "--jurisdiction must be ISO country codes such as NL or NL,BE");
        memcpy(t.countries[t.n++], cc, 3);
        p += len + (c ? 1 : 0);
        if (c && !*p)
            return fail(err, errlen, CP_BAD, "--jurisdiction has a trailing comma");
    }
    if (!t.n)
        return fail(err, errlen, CP_BAD, "--jurisdiction needs at least one country");
    if (a->valid_from && util_parse_time(a->valid_from, &t.valid_from))
        return fail(err, errlen, CP_BAD, "--valid-from must be a date such as 2026-01-31");
    if (a->valid_to && util_parse_time(a->valid_to, &t.valid_to))
        return fail(err, errlen, CP_BAD, "--valid-to must be a date such as 2026-12-31");
    t.has_from = a->valid_from != NULL;
    t.has_to = a->valid_to != NULL;
    if (t.has_from && t.has_to && t.valid_to <= t.valid_from)
        return fail(err, errlen, CP_BAD, "--valid-to must be after --valid-from");
    if (db_begin(d) != CP_OK)
        return fail(err, errlen, CP_BUSY, "database is busy");
    int64_t aid = 0;
    int rc = orgs_insert_agreement(d, lea_id, a->hotline, &t, &aid, err, errlen);
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
    if ((rc = cli_change(d, rc, aid, actor, "agreement.add", "agreement", dt, err, errlen)) == CP_OK && id)
        *id = aid;
    return rc;
}

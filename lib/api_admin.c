/*
 * api_admin - administration: organisations, users (invite by one-time link,
 * change role, disable, reset access), agreements, import runs and their
 * quarantined records, and the audit search.
 *
 * Who administers what (admin_sees_org, the one rule): operators everything; an
 * org_admin their own organisation, and a hotline's org_admin also the LEAs of
 * its country (whose agreements it approves). Rows outside that are 404. Every
 * change is one transaction with its audit entry, and moves the "access" data
 * version the scope caches watch.
 */
#include "audit.h"
#include "enrol.h"
#include "handlers.h"
#include "jw.h"
#include "orgs.h"
#include "sqlq.h"

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const AUDIT_PARAMS[] = {"actor", "action", "object", "from", "to", "limit", "cursor", NULL};

/* GET /api/v1/admin/audit?actor=&action=&object=&from=&to=&limit=&cursor= */
int h_admin_audit(struct ctx *c)
{
    if (ctx_check_params(c, AUDIT_PARAMS) != CP_OK)
        return CP_BAD;
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT id, at, actor, user_id, org_id, ip, request_id, action, object, detail FROM audit WHERE 1");
    /* An org_admin's view is their organisation's entries; operators see all. */
    if (strcmp(c->who.role, "operator") != 0) {
        sqlq_sql(&q, " AND org_id = ");
        sqlq_int(&q, c->who.org_id);
    }
    static const struct {
        const char *param;
    } text_filters[] = {{"actor"}, {"action"}, {"object"}};
    int st = CP_OK;
    for (int i = 0; i < 3 && st == CP_OK; i++) {
        const char *v = ctx_qparam(c, text_filters[i].param);
        if (!v || !*v)
            continue;
        if (!util_is_clean_text(v, 254)) {
            st = ctx_bad(c, text_filters[i].param, "%s must be at most 254 printable characters", text_filters[i].param);
            break;
        }
        /* sqlq_sql takes string literals only, so each clause is spelt out. */
        if (i == 0)
            sqlq_sql(&q, " AND actor = ");
        else if (i == 1)
            sqlq_sql(&q, " AND action = ");
        else
            sqlq_sql(&q, " AND object = ");
        sqlq_text(&q, v);
    }
    int64_t t;
    const char *v;
    if (st == CP_OK && (v = ctx_qparam(c, "from")) && *v) {
        if (util_parse_time(v, &t))
            st = ctx_bad(c, "from", "from must be a date (2026-01-31) or an ISO-8601 time");
        else {
            sqlq_sql(&q, " AND at >= ");
            sqlq_int(&q, t);
        }
    }
    if (st == CP_OK && (v = ctx_qparam(c, "to")) && *v) {
        if (util_parse_time(v, &t))
            st = ctx_bad(c, "to", "to must be a date (2026-01-31) or an ISO-8601 time");
        else {
            sqlq_sql(&q, " AND at < ");
            sqlq_int(&q, t + (strlen(v) == 10 ? 86400 : 1));
        }
    }
    long limit = 100;
    if (st == CP_OK && (v = ctx_qparam(c, "limit")) && *v) {
        char *end;
        limit = strtol(v, &end, 10);
        if (*end || limit < 1 || limit > 500 || *v < '0' || *v > '9')
            st = ctx_bad(c, "limit", "limit must be a whole number from 1 to 500");
    }
    if (st == CP_OK && (v = ctx_qparam(c, "cursor")) && *v) {
        char *end;
        long long before = strtoll(v, &end, 10);
        if (*end || before < 1 || *v < '0' || *v > '9')
            st = ctx_bad(c, "cursor", "cursor is not one this server issued");
        else {
            sqlq_sql(&q, " AND id < ");
            sqlq_int(&q, before);
        }
    }
    if (st != CP_OK) {
        sqlq_free(&q);
        return st;
    }
    sqlq_sql(&q, " ORDER BY id DESC LIMIT ");
    sqlq_int(&q, limit + 1);
    sqlite3_stmt *s = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    if (!s)
        return CP_ERR;
    st = ctx_keyset_page(c, s, limit, "i:id T:at t:actor i:user_id i:org_id t:ip t:request_id t:action t:object"
                                      " t:detail");
    if (st != CP_OK)
        return st;
    /* Searching the trail is itself on it. The read transaction of this request
     * is still open, so the entry goes after it, from the dispatcher's view: a
     * separate write here would need the write lock while reading. */
    c->audit_after = "audit.search";
    return CP_OK;
}

/* Binds for admin_sees_org's SQL: (?1 all, ?2 own org id, ?3 the country whose
 * LEAs a hotline admin also administers, or NULL). */
#define ADMIN_ORG_RULE "(?1 = 1 OR o.id = ?2 OR (?3 IS NOT NULL AND o.kind = 'lea' AND o.country = ?3))"
static void admin_bind_rule(struct ctx *c, sqlite3_stmt *st)
{
    int op = strcmp(c->who.org_kind, "operator") == 0;
    sqlite3_bind_int(st, 1, op);
    sqlite3_bind_int64(st, 2, c->who.org_id);
    db_bind_text(st, 3, strcmp(c->who.org_kind, "hotline") == 0 ? c->who.org_country : NULL);
}

/* Whether the caller administers organisation org_id: CP_OK, CP_NOTFOUND. Its
 * kind goes to kind (16 bytes). */
static int admin_sees_org(struct ctx *c, int64_t org_id, char *kind)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT o.kind FROM orgs o WHERE o.id = ?4 AND " ADMIN_ORG_RULE);
    if (!st)
        return CP_ERR;
    admin_bind_rule(c, st);
    sqlite3_bind_int64(st, 4, org_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && kind)
        snprintf(kind, 16, "%s", db_text(st, 0));
    db_done(st);
    return rc == SQLITE_ROW ? CP_OK : rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
}

/* GET /api/v1/admin/orgs: the organisations the caller administers. */
int h_admin_orgs(struct ctx *c)
{
    static const char *const none[] = {NULL};
    if (ctx_check_params(c, none) != CP_OK)
        return CP_BAD;
    sqlite3_stmt *st = db_prep(c->db, "SELECT o.id, o.kind, o.name, o.country, o.code, o.created_at,"
                                      " (SELECT count(*) FROM users u WHERE u.org_id = o.id)"
                                      " FROM orgs o WHERE " ADMIN_ORG_RULE " ORDER BY o.kind, o.name");
    if (st)
        admin_bind_rule(c, st);
    return ctx_table(c, st, "items", "i:id t:kind t:name t:country t:code T:created_at i:users");
}

/* POST /api/v1/admin/orgs {kind, name, country, code?}: a new organisation
 * (operators; an LEA normally arrives through the access procedure). */
int h_admin_org_create(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    static const char *const fields[] = {"kind", "name", "country", "code", NULL};
    const char *kind, *name, *country, *code;
    int st = ctx_known_fields(c, b, fields);
    if (st == CP_OK && (st = ctx_str(c, b, "kind", 16, 0, &kind)) == CP_OK &&
        (st = ctx_str(c, b, "name", 200, 0, &name)) == CP_OK && (st = ctx_str(c, b, "country", 2, 0, &country)) == CP_OK)
        st = ctx_str(c, b, "code", 32, FIELD_OPTIONAL, &code);
    int64_t id = 0;
    char err[256];
    if (st == CP_OK && (st = db_begin(c->db)) == CP_OK) {
        st = orgs_insert_org(c->db, kind, name, country, code, &id, err, sizeof err);
        if (st == CP_OK) {
            cJSON *dt = cJSON_CreateObject();
            cJSON_AddStringToObject(dt, "kind", kind);
            cJSON_AddStringToObject(dt, "name", name);
            cJSON_AddStringToObject(dt, "country", country);
            if (code)
                cJSON_AddStringToObject(dt, "code", code);
            st = ctx_audit_json(c, "org.add", "org", id, dt);
        }
        if (st == CP_OK && (st = db_bump(c->db, "access")) == CP_OK)
            st = db_commit(c->db);
        if (st != CP_OK)
            db_rollback(c->db);
        if (st == CP_BAD)
            st = ctx_bad(c, strstr(err, "kind") ? "kind" : strstr(err, "country") ? "country"
                            : strstr(err, "code") ? "code" : "name", "%s", err);
        else if (st == CP_CONFLICT)
            snprintf(c->err, sizeof c->err, "%s", err);
    }
    cJSON_Delete(b);
    if (st != CP_OK)
        return st;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)id);
    return ctx_json(c, 201, j);
}

/* The columns of USER_COLS, as the API names them. */
#define USER_SPEC                                                                                            \
    "i:id i:org_id t:org t:email t:name t:role b:disabled b:totp_enabled b:locked T:created_at T:last_seen_at" \
    " b:enrolment_pending b:password_set"
#define USER_COLS                                                                                            \
    "u.id, u.org_id, o.name, u.email, u.name, u.role, u.disabled, u.totp_enabled,"                           \
    " coalesce(u.locked_until, 0) > ?5, u.created_at,"                                                       \
    " (SELECT max(last_seen_at) FROM sessions s WHERE s.user_id = u.id),"                                    \
    " EXISTS (SELECT 1 FROM enrolments e WHERE e.user_id = u.id AND e.used_at IS NULL AND e.expires_at > ?5)," \
    " u.pw_hash != '!'"

/* GET /api/v1/admin/users?org_id=: the users of the organisations the caller
 * administers (an LEA's users are its own org_admin's business, so a hotline
 * admin sees only its own here). */
int h_admin_users(struct ctx *c)
{
    static const char *const params[] = {"org_id", NULL};
    if (ctx_check_params(c, params) != CP_OK)
        return CP_BAD;
    int64_t org;
    if (ctx_qid(c, "org_id", &org) != CP_OK)
        return CP_BAD;
    sqlite3_stmt *st = db_prep(c->db, "SELECT " USER_COLS " FROM users u JOIN orgs o ON o.id = u.org_id"
                                      " WHERE (?1 = 1 OR u.org_id = ?2) AND (?4 = 0 OR u.org_id = ?4)"
                                      " ORDER BY o.name, u.email");
    if (st) {
        sqlite3_bind_int(st, 1, strcmp(c->who.org_kind, "operator") == 0);
        sqlite3_bind_int64(st, 2, c->who.org_id);
        sqlite3_bind_int64(st, 4, org);
        sqlite3_bind_int64(st, 5, util_now());
    }
    return ctx_table(c, st, "items", USER_SPEC);
}

/* Load user {id} if the caller administers them (operators: anyone; an
 * org_admin: their own organisation). Fills org_id, org kind and email. */
static int admin_user(struct ctx *c, int64_t id, int64_t *org_id, char *kind, char *email, char *role)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT u.org_id, o.kind, u.email, u.role FROM users u JOIN orgs o ON o.id = u.org_id"
                                      " WHERE u.id = ?3 AND (?1 = 1 OR u.org_id = ?2)");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int(st, 1, strcmp(c->who.org_kind, "operator") == 0);
    sqlite3_bind_int64(st, 2, c->who.org_id);
    sqlite3_bind_int64(st, 3, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *org_id = sqlite3_column_int64(st, 0);
        snprintf(kind, 16, "%s", db_text(st, 1));
        snprintf(email, 256, "%s", db_text(st, 2));
        snprintf(role, 16, "%s", db_text(st, 3));
    }
    db_done(st);
    return rc == SQLITE_ROW ? CP_OK : rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
}

/* Write a user created or changed just now (the same shape as the list). */
static int user_answer(struct ctx *c, int64_t id, int status, cJSON *extra)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT " USER_COLS " FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.id = ?1");
    if (!st) {
        cJSON_Delete(extra);
        return CP_ERR;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 5, util_now());
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        db_done(st);
        cJSON_Delete(extra);
        return rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
    }
    struct jw w;
    jw_init(&w, &c->out);
    jw_obj(&w);
    jw_columns(&w, st, USER_SPEC);
    db_done(st);
    if (extra) {
        const cJSON *m;
        cJSON_ArrayForEach(m, extra)
        {
            char *t = cJSON_PrintUnformatted(m);
            jw_key(&w, strcmp(m->string, "enrolment") == 0 ? "enrolment" : "extra");
            jw_raw(&w, t);
            free(t);
        }
        cJSON_Delete(extra);
    }
    jw_obj_end(&w);
    c->status = status;
    c->ctype = "application/json";
    return CP_OK;
}

/* POST /api/v1/admin/users {email, role, name?, org_id?}: invite a person. The
 * user has no password until they open their one-time enrolment link (mailed,
 * or returned once when no mail command is set). An org_admin invites into
 * their own organisation; an operator names org_id. */
int h_admin_user_create(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    static const char *const fields[] = {"email", "role", "name", "org_id", NULL};
    const char *email, *role, *name;
    int st = ctx_known_fields(c, b, fields);
    if (st == CP_OK && (st = ctx_str(c, b, "email", 254, 0, &email)) == CP_OK && !orgs_valid_email(email))
        st = ctx_bad(c, "email", "email must be an email address");
    if (st == CP_OK && (st = ctx_str(c, b, "role", 16, 0, &role)) == CP_OK && !orgs_valid_role(role))
        st = ctx_bad(c, "role", "role must be viewer, analyst, org_admin or operator");
    if (st == CP_OK)
        st = ctx_str(c, b, "name", 200, FIELD_OPTIONAL, &name);
    const cJSON *oid = cJSON_GetObjectItemCaseSensitive(b, "org_id");
    int64_t org_id = c->who.org_id;
    if (st == CP_OK && oid) {
        if (!cJSON_IsNumber(oid) || !util_whole_in(oid->valuedouble, 1, INT64_MAX / 2, &org_id))
            st = ctx_bad(c, "org_id", "org_id must be an organisation id");
    }
    char kind[16] = "";
    if (st == CP_OK && strcmp(c->who.org_kind, "operator") != 0 && org_id != c->who.org_id)
        st = CP_NOTFOUND; /* an org_admin invites into their own organisation only */
    if (st == CP_OK && (st = admin_sees_org(c, org_id, kind)) == CP_NOTFOUND)
        st = ctx_bad(c, "org_id", "no such organisation");
    if (st == CP_OK && !orgs_role_fits(role, kind))
        st = ctx_bad(c, "role", "the operator role is for operator organisations, and only it");
    int64_t id = 0, expires_at = 0;
    char token[ENROL_TOKEN_LEN], err[256];
    if (st == CP_OK && (st = db_begin(c->db)) == CP_OK) {
        st = orgs_insert_user(c->db, org_id, email, role, name, NULL, &id, err, sizeof err);
        if (st == CP_CONFLICT)
            snprintf(c->err, sizeof c->err, "%s", err);
        struct audit_entry by = ctx_actor(c);
        if (st == CP_OK)
            st = enrol_issue(c->db, c->cfg, &by, id, "invite", token, &expires_at);
        if (st == CP_OK) {
            cJSON *dt = cJSON_CreateObject();
            cJSON_AddStringToObject(dt, "email", email);
            cJSON_AddStringToObject(dt, "role", role);
            cJSON_AddNumberToObject(dt, "org_id", (double)org_id);
            st = ctx_audit_json(c, "user.invite", "user", id, dt);
        }
        if (st == CP_OK && (st = db_bump(c->db, "access")) == CP_OK)
            st = db_commit(c->db);
        if (st != CP_OK)
            db_rollback(c->db);
    }
    char saved_email[256];
    if (st == CP_OK)
        snprintf(saved_email, sizeof saved_email, "%s", email);
    cJSON_Delete(b);
    if (st != CP_OK)
        return st;
    cJSON *extra = cJSON_CreateObject();
    api_enrolment_json(c, extra, saved_email, token, expires_at, "You have been invited to cport.");
    sodium_memzero(token, sizeof token);
    return user_answer(c, id, 201, extra);
}

/* PATCH /api/v1/admin/users/{id} {role?, disabled?}: change a role, or disable
 * (every session and token ends at once) or re-enable a user. Nobody changes
 * their own account here, so an admin can't lock themselves out. */
int h_admin_user_update(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    if (!id)
        return CP_NOTFOUND;
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    static const char *const fields[] = {"role", "disabled", NULL};
    const char *role;
    int disabled = -1;
    int st = ctx_known_fields(c, b, fields);
    if (st == CP_OK && (st = ctx_str(c, b, "role", 16, FIELD_OPTIONAL, &role)) == CP_OK && role &&
        !orgs_valid_role(role))
        st = ctx_bad(c, "role", "role must be viewer, analyst, org_admin or operator");
    if (st == CP_OK)
        st = ctx_bool(c, b, "disabled", &disabled);
    if (st == CP_OK && !role && disabled < 0)
        st = ctx_bad(c, "body", "send role, disabled or both");
    int64_t org_id;
    char kind[16], email[256], old_role[16];
    if (st == CP_OK && (st = db_begin(c->db)) == CP_OK) {
        st = admin_user(c, id, &org_id, kind, email, old_role);
        if (st == CP_OK && id == c->who.user_id) {
            snprintf(c->err, sizeof c->err, "you can't change your own account here; ask another administrator");
            st = CP_CONFLICT;
        }
        if (st == CP_OK && role && !orgs_role_fits(role, kind)) {
            db_rollback(c->db);
            cJSON_Delete(b);
            return ctx_bad(c, "role", "the operator role is for operator organisations, and only it");
        }
        if (st == CP_OK && role && strcmp(role, old_role) != 0) {
            sqlite3_stmt *q = db_prep(c->db, "UPDATE users SET role = ? WHERE id = ?");
            db_bind_text(q, 1, role);
            sqlite3_bind_int64(q, 2, id);
            int rc = sqlite3_step(q);
            db_done(q);
            st = rc == SQLITE_DONE ? CP_OK : db_err(rc);
            cJSON *dt = cJSON_CreateObject();
            cJSON_AddStringToObject(dt, "from", old_role);
            cJSON_AddStringToObject(dt, "to", role);
            if (st == CP_OK)
                st = ctx_audit_json(c, "user.role", "user", id, dt);
            else
                cJSON_Delete(dt);
        }
        if (st == CP_OK && disabled >= 0) {
            sqlite3_stmt *q = db_prep(c->db, "UPDATE users SET disabled = ? WHERE id = ? AND disabled != ?");
            sqlite3_bind_int(q, 1, disabled);
            sqlite3_bind_int64(q, 2, id);
            sqlite3_bind_int(q, 3, disabled);
            int rc = sqlite3_step(q);
            int changed = sqlite3_changes(c->db->h);
            db_done(q);
            st = rc == SQLITE_DONE ? CP_OK : db_err(rc);
            int ended[2] = {0, 0};
            if (st == CP_OK && disabled)
                st = auth_user_cut(c->db, id, ended);
            if (st == CP_OK && changed) {
                cJSON *d2 = cJSON_CreateObject();
                cJSON_AddNumberToObject(d2, "sessions_ended", ended[0]);
                cJSON_AddNumberToObject(d2, "tokens_revoked", ended[1]);
                st = ctx_audit_json(c, disabled ? "user.disable" : "user.enable", "user", id, d2);
            }
        }
        if (st == CP_OK && (st = db_bump(c->db, "access")) == CP_OK)
            st = db_commit(c->db);
        if (st != CP_OK)
            db_rollback(c->db);
    }
    cJSON_Delete(b);
    return st == CP_OK ? user_answer(c, id, 200, NULL) : st;
}

/* POST /api/v1/admin/users/{id}/enrolment: reset a person's access (a lost
 * phone, a forgotten password): a new one-time link; when used it sets a new
 * password and clears the old second factor. The old password keeps working
 * until then, so a reset can't be used to lock someone out. */
int h_admin_user_enrolment(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    if (!id)
        return CP_NOTFOUND;
    int64_t org_id, expires_at = 0;
    char kind[16], email[256], role[16], token[ENROL_TOKEN_LEN];
    int st = db_begin(c->db);
    if (st != CP_OK)
        return st;
    st = admin_user(c, id, &org_id, kind, email, role);
    struct audit_entry by = ctx_actor(c);
    if (st == CP_OK)
        st = enrol_issue(c->db, c->cfg, &by, id, "reset", token, &expires_at);
    if (st == CP_OK)
        st = db_commit(c->db);
    if (st != CP_OK) {
        db_rollback(c->db);
        return st;
    }
    cJSON *extra = cJSON_CreateObject();
    api_enrolment_json(c, extra, email, token, expires_at, "An administrator reset your access to cport.");
    sodium_memzero(token, sizeof token);
    return user_answer(c, id, 200, extra);
}

/* Read agreement terms from a body over *t (members missing keep their value):
 * jurisdiction [CC...], the three flags, valid_from and valid_to (null clears). */
int api_terms_from_body(struct ctx *c, const cJSON *b, struct orgs_terms *t)
{
    int st = CP_OK;
    if ((st = ctx_bool(c, b, "media_metadata", &t->media_metadata)) != CP_OK ||
        (st = ctx_bool(c, b, "media_content", &t->media_content)) != CP_OK ||
        (st = ctx_bool(c, b, "include_reported_from", &t->include_reported_from)) != CP_OK)
        return st;
    static const char *const dates[] = {"valid_from", "valid_to"};
    for (int i = 0; i < 2; i++) {
        if (!cJSON_HasObjectItem(b, dates[i]))
            continue;
        int has;
        int64_t v;
        if ((st = ctx_time(c, b, dates[i], &has, &v)) != CP_OK)
            return st;
        *(i ? &t->has_to : &t->has_from) = has;
        *(i ? &t->valid_to : &t->valid_from) = v;
    }
    const cJSON *jur = cJSON_GetObjectItemCaseSensitive(b, "jurisdiction"), *cc;
    if (jur) {
        if (!cJSON_IsArray(jur) || cJSON_GetArraySize(jur) < 1 || cJSON_GetArraySize(jur) > 64)
            return ctx_bad(c, "jurisdiction", "jurisdiction must be a list of 1 to 64 ISO country codes");
        t->n = 0;
        cJSON_ArrayForEach(cc, jur)
        {
            if (!cJSON_IsString(cc) || !util_is_country(cc->valuestring))
                return ctx_bad(c, "jurisdiction", "jurisdiction must be ISO 3166-1 alpha-2 codes such as NL");
            memcpy(t->countries[t->n++], cc->valuestring, 3);
        }
    }
    if (t->media_content && !t->media_metadata)
        return ctx_bad(c, "media_content", "media_content needs media_metadata too");
    if (t->has_from && t->has_to && t->valid_to <= t->valid_from)
        return ctx_bad(c, "valid_to", "valid_to must be after valid_from");
    return CP_OK;
}

/* The agreements rule: operators all, an LEA's admin its own, a hotline's
 * admin those naming its code. Binds ?1 all, ?2 own org, ?3 hotline code. */
#define AGREEMENT_RULE "(?1 = 1 OR a.lea_org_id = ?2 OR a.hotline_code = ?3)"
static void agreement_bind_rule(struct ctx *c, sqlite3_stmt *st)
{
    sqlite3_bind_int(st, 1, strcmp(c->who.org_kind, "operator") == 0);
    sqlite3_bind_int64(st, 2, c->who.org_id);
    db_bind_text(st, 3, strcmp(c->who.org_kind, "hotline") == 0 ? c->who.org_code : NULL);
}

#define AGREEMENT_SPEC                                                                                       \
    "i:id i:lea_org_id t:lea t:hotline_code j:jurisdiction b:media_metadata b:media_content"                  \
    " b:include_reported_from T:valid_from T:valid_to T:created_at b:valid_now"
#define AGREEMENT_COLS                                                                                       \
    "a.id, a.lea_org_id, o.name, a.hotline_code,"                                                            \
    " (SELECT json_group_array(country) FROM agreement_countries ac WHERE ac.agreement_id = a.id),"          \
    " a.media_metadata, a.media_content, a.include_reported_from, a.valid_from, a.valid_to, a.created_at,"  \
    " (a.valid_from IS NULL OR a.valid_from <= ?4) AND (a.valid_to IS NULL OR a.valid_to > ?4)"

/* GET /api/v1/admin/agreements: the agreements the caller administers. */
int h_admin_agreements(struct ctx *c)
{
    static const char *const none[] = {NULL};
    if (ctx_check_params(c, none) != CP_OK)
        return CP_BAD;
    sqlite3_stmt *st = db_prep(c->db, "SELECT " AGREEMENT_COLS " FROM agreements a JOIN orgs o ON o.id = a.lea_org_id"
                                      " WHERE " AGREEMENT_RULE " ORDER BY o.name, a.id");
    if (st) {
        agreement_bind_rule(c, st);
        sqlite3_bind_int64(st, 4, util_now());
    }
    return ctx_table(c, st, "items", AGREEMENT_SPEC);
}

/* Answer one agreement (after a change). */
static int agreement_answer(struct ctx *c, int64_t id, int status)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT " AGREEMENT_COLS " FROM agreements a JOIN orgs o ON o.id = a.lea_org_id"
                                      " WHERE a.id = ?5");
    if (st) {
        sqlite3_bind_int64(st, 4, util_now());
        sqlite3_bind_int64(st, 5, id);
    }
    return ctx_row(c, st, AGREEMENT_SPEC, status);
}

/* The audit detail of an agreement's terms. */
static cJSON *terms_json(const struct orgs_terms *t)
{
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "jurisdiction");
    for (int i = 0; i < t->n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(t->countries[i]));
    cJSON_AddBoolToObject(j, "media_metadata", t->media_metadata);
    cJSON_AddBoolToObject(j, "media_content", t->media_content);
    cJSON_AddBoolToObject(j, "include_reported_from", t->include_reported_from);
    if (t->has_from)
        cJSON_AddNumberToObject(j, "valid_from", (double)t->valid_from);
    if (t->has_to)
        cJSON_AddNumberToObject(j, "valid_to", (double)t->valid_to);
    return j;
}

static const char *const TERMS_FIELDS[] = {"lea_org_id", "hotline_code", "jurisdiction", "media_metadata",
                                           "media_content", "include_reported_from", "valid_from", "valid_to", NULL};

/* POST /api/v1/admin/agreements {lea_org_id, hotline_code?, jurisdiction, ...}:
 * bind an LEA to a hotline. A hotline's org_admin makes them for the LEAs of
 * its country with its own code; an operator for any LEA and hotline code. */
int h_admin_agreement_create(struct ctx *c)
{
    int hotline = strcmp(c->who.org_kind, "hotline") == 0;
    if (!hotline && strcmp(c->who.org_kind, "operator") != 0) {
        snprintf(c->err, sizeof c->err, "agreements are made by the national hotline or the operator");
        return CP_DENIED;
    }
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    struct orgs_terms t = {0};
    const char *code = NULL;
    const cJSON *lea = cJSON_GetObjectItemCaseSensitive(b, "lea_org_id");
    int st = ctx_known_fields(c, b, TERMS_FIELDS);
    int64_t lea_id = 0, id = 0;
    if (st == CP_OK && (!cJSON_IsNumber(lea) || !util_whole_in(lea->valuedouble, 1, INT64_MAX / 2, &lea_id)))
        st = ctx_bad(c, "lea_org_id", "lea_org_id must be an LEA organisation's id");
    if (st == CP_OK && !cJSON_HasObjectItem(b, "jurisdiction"))
        st = ctx_bad(c, "jurisdiction", "jurisdiction must be a list of 1 to 64 ISO country codes");
    if (st == CP_OK)
        st = api_terms_from_body(c, b, &t);
    if (st == CP_OK && !hotline)
        st = ctx_str(c, b, "hotline_code", 32, 0, &code);
    else if (st == CP_OK && cJSON_HasObjectItem(b, "hotline_code") &&
             (st = ctx_str(c, b, "hotline_code", 32, 0, &code)) == CP_OK && strcmp(code, c->who.org_code) != 0)
        st = ctx_bad(c, "hotline_code", "a hotline makes agreements under its own code");
    if (hotline)
        code = c->who.org_code;
    char kind[16] = "", err[256];
    if (st == CP_OK && ((st = admin_sees_org(c, lea_id, kind)) != CP_OK || strcmp(kind, "lea") != 0))
        st = st == CP_OK || st == CP_NOTFOUND ? ctx_bad(c, "lea_org_id", "no LEA organisation with that id") : st;
    if (st == CP_OK && (st = db_begin(c->db)) == CP_OK) {
        st = orgs_insert_agreement(c->db, lea_id, code, &t, &id, err, sizeof err);
        if (st == CP_OK) {
            cJSON *dt = terms_json(&t);
            cJSON_AddNumberToObject(dt, "lea_org_id", (double)lea_id);
            cJSON_AddStringToObject(dt, "hotline", code);
            st = ctx_audit_json(c, "agreement.add", "agreement", id, dt);
        }
        if (st == CP_OK && (st = db_bump(c->db, "access")) == CP_OK)
            st = db_commit(c->db);
        if (st != CP_OK)
            db_rollback(c->db);
        if (st == CP_BAD)
            st = ctx_bad(c, "jurisdiction", "%s", err);
    }
    cJSON_Delete(b);
    return st == CP_OK ? agreement_answer(c, id, 201) : st;
}

/* Load agreement {id}'s terms if the caller administers it (LEA admins only
 * read theirs: changing them is the hotline's or the operator's business). */
static int agreement_terms(struct ctx *c, int64_t id, struct orgs_terms *t)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT " AGREEMENT_COLS " FROM agreements a JOIN orgs o ON o.id = a.lea_org_id"
                                      " WHERE a.id = ?5 AND (?1 = 1 OR a.hotline_code = ?3)");
    if (!st)
        return CP_ERR;
    agreement_bind_rule(c, st);
    sqlite3_bind_int64(st, 4, util_now());
    sqlite3_bind_int64(st, 5, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(t, 0, sizeof *t);
        cJSON *arr = cJSON_Parse(db_text(st, 4)), *cc;
        cJSON_ArrayForEach(cc, arr)
        {
            if (cJSON_IsString(cc) && t->n < 64 && strlen(cc->valuestring) == 2)
                memcpy(t->countries[t->n++], cc->valuestring, 3);
        }
        cJSON_Delete(arr);
        t->media_metadata = sqlite3_column_int(st, 5);
        t->media_content = sqlite3_column_int(st, 6);
        t->include_reported_from = sqlite3_column_int(st, 7);
        t->has_from = sqlite3_column_type(st, 8) != SQLITE_NULL;
        t->valid_from = sqlite3_column_int64(st, 8);
        t->has_to = sqlite3_column_type(st, 9) != SQLITE_NULL;
        t->valid_to = sqlite3_column_int64(st, 9);
    }
    db_done(st);
    return rc == SQLITE_ROW ? CP_OK : rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
}

/* PATCH /api/v1/admin/agreements/{id} {jurisdiction?, media_metadata?,
 * media_content?, include_reported_from?, valid_from?, valid_to?}: change the
 * terms (ending an agreement is setting valid_to). The scope of the LEA's users
 * follows at once: the "access" version moves. */
int h_admin_agreement_update(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    if (!id)
        return CP_NOTFOUND;
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    static const char *const fields[] = {"jurisdiction", "media_metadata", "media_content", "include_reported_from",
                                         "valid_from", "valid_to", NULL};
    int st = ctx_known_fields(c, b, fields);
    struct orgs_terms t, before;
    char err[256];
    if (st == CP_OK && (st = db_begin(c->db)) == CP_OK) {
        st = agreement_terms(c, id, &t);
        before = t;
        if (st == CP_OK && (st = api_terms_from_body(c, b, &t)) == CP_BAD) {
            db_rollback(c->db);
            cJSON_Delete(b);
            return CP_BAD;
        }
        if (st == CP_OK)
            st = orgs_update_agreement(c->db, id, &t, err, sizeof err);
        if (st == CP_OK) {
            cJSON *dt = cJSON_CreateObject();
            cJSON_AddItemToObject(dt, "before", terms_json(&before));
            cJSON_AddItemToObject(dt, "after", terms_json(&t));
            st = ctx_audit_json(c, "agreement.change", "agreement", id, dt);
        }
        if (st == CP_OK && (st = db_bump(c->db, "access")) == CP_OK)
            st = db_commit(c->db);
        if (st != CP_OK)
            db_rollback(c->db);
    }
    cJSON_Delete(b);
    return st == CP_OK ? agreement_answer(c, id, 200) : st;
}

/* GET /api/v1/admin/import-runs: the last 200 import runs, newest first. */
int h_admin_import_runs(struct ctx *c)
{
    static const char *const none[] = {NULL};
    if (ctx_check_params(c, none) != CP_OK)
        return CP_BAD;
    sqlite3_stmt *st = db_prep(c->db, "SELECT id, feed, started_at, ended_at, status, pages, inserted, updated, deleted,"
                                      " unchanged, rejected, error FROM import_runs ORDER BY id DESC LIMIT 200");
    return ctx_table(c, st, "items",
                     "i:id t:feed T:started_at T:ended_at t:status i:pages i:inserted i:updated i:deleted"
                     " i:unchanged i:rejected t:error");
}

/* GET /api/v1/admin/import-rejects?run_id=: quarantined feed records (newest
 * 500). The operator sees no report content, so the raw record stays in the
 * database (cport and sqlite3 on the server show it); here only its id, reason
 * and size. */
int h_admin_import_rejects(struct ctx *c)
{
    static const char *const params[] = {"run_id", NULL};
    if (ctx_check_params(c, params) != CP_OK)
        return CP_BAD;
    int64_t run;
    if (ctx_qid(c, "run_id", &run) != CP_OK)
        return CP_BAD;
    sqlite3_stmt *st = db_prep(c->db, "SELECT id, run_id, iccam_id, reason, length(raw), created_at FROM import_rejects"
                                      " WHERE (?1 = 0 OR run_id = ?1) ORDER BY id DESC LIMIT 500");
    if (st)
        sqlite3_bind_int64(st, 1, run);
    return ctx_table(c, st, "items", "i:id i:run_id t:iccam_id t:reason i:bytes T:created_at");
}

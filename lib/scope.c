/*
 * scope - who sees which reports; see scope.h.
 */
#include "scope.h"

#include <stdio.h>
#include <string.h>

/* Per-worker cache of LEA scopes: org id, when loaded, data version. */
#define SCOPE_CACHE_SLOTS 64
static struct {
    int64_t org_id, loaded_at, version;
    struct scope s;
} cache[SCOPE_CACHE_SLOTS];

/* Write the grant's countries as a JSON array, for sqlq_json_set. */
static void grant_finish(struct scope_grant *g)
{
    char *p = g->json;
    *p++ = '[';
    for (int i = 0; i < g->n; i++)
        p += sprintf(p, "%s\"%s\"", i ? "," : "", g->countries[i]);
    *p++ = ']';
    *p = 0;
}

/* Add a country to a grant unless it is there already. */
static void grant_add(struct scope_grant *g, const char *cc)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->countries[i], cc) == 0)
            return;
    if (g->n < SCOPE_MAX_COUNTRIES)
        snprintf(g->countries[g->n++], 3, "%s", cc);
}

/* Load the caller's scope: for an LEA, the union of its agreements valid now. */
int scope_load(struct db *d, const struct caller *who, int64_t now, struct scope *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->country, sizeof s->country, "%s", who->org_country);
    if (strcmp(who->org_kind, "hotline") == 0 && who->org_code[0]) {
        s->kind = SCOPE_HOTLINE;
        snprintf(s->hotline, sizeof s->hotline, "%s", who->org_code);
        return CP_OK;
    }
    if (strcmp(who->org_kind, "interpol") == 0) {
        s->kind = SCOPE_INTERPOL;
        return CP_OK;
    }
    if (strcmp(who->org_kind, "lea") != 0)
        return CP_OK; /* operators and anything unknown see nothing */
    s->kind = SCOPE_LEA;
    unsigned slot = (unsigned)(who->org_id % SCOPE_CACHE_SLOTS);
    int64_t version = db_version(d, "access");
    if (cache[slot].org_id == who->org_id && version >= 0 && cache[slot].version == version &&
        now >= cache[slot].loaded_at && now - cache[slot].loaded_at < SCOPE_CACHE_SECONDS) {
        *s = cache[slot].s;
        return CP_OK;
    }
    sqlite3_stmt *st = db_prep(d, "SELECT c.country, a.media_metadata, a.media_content, a.include_reported_from"
                                  " FROM agreements a JOIN agreement_countries c ON c.agreement_id = a.id"
                                  " WHERE a.lea_org_id = ? AND (a.valid_from IS NULL OR a.valid_from <= ?)"
                                  " AND (a.valid_to IS NULL OR a.valid_to > ?)");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, who->org_id);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, now);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *cc = db_text(st, 0);
        int meta = sqlite3_column_int(st, 1), content = sqlite3_column_int(st, 2), rf = sqlite3_column_int(st, 3);
        grant_add(&s->see, cc);
        s->see.reported_from |= rf;
        if (meta) {
            grant_add(&s->meta, cc);
            s->meta.reported_from |= rf;
        }
        if (content) {
            grant_add(&s->content, cc);
            s->content.reported_from |= rf;
        }
    }
    db_done(st);
    if (rc != SQLITE_DONE)
        return db_status(rc) == CP_OK ? CP_ERR : db_status(rc);
    grant_finish(&s->see);
    grant_finish(&s->meta);
    grant_finish(&s->content);
    cache[slot].org_id = who->org_id;
    cache[slot].loaded_at = now;
    cache[slot].version = version;
    cache[slot].s = *s;
    return CP_OK;
}

/* The grant of a level. */
static const struct scope_grant *grant_of(const struct scope *s, enum scope_level level)
{
    return level == SCOPE_SEE ? &s->see : level == SCOPE_META ? &s->meta : &s->content;
}

/* Append the condition of one LEA grant. */
static void grant_where(const struct scope *s, const struct scope_grant *g, struct sqlq *q)
{
    if (!g->n && !g->reported_from) {
        sqlq_sql(q, "(0)");
        return;
    }
    sqlq_sql(q, "(");
    if (g->n) {
        sqlq_sql(q, "r.host_country IN ");
        sqlq_json_set(q, g->json);
    }
    if (g->reported_from) {
        if (g->n)
            sqlq_sql(q, " OR ");
        sqlq_sql(q, "r.reporting_hotline IN (SELECT code FROM hotlines WHERE country = ");
        sqlq_text(q, s->country);
        sqlq_sql(q, ")");
    }
    sqlq_sql(q, ")");
}

/* The visibility condition at a level (see, media metadata, media content). */
void scope_where(const struct scope *s, enum scope_level level, struct sqlq *q)
{
    switch (s->kind) {
    case SCOPE_LEA:
        grant_where(s, grant_of(s, level), q);
        return;
    case SCOPE_HOTLINE:
        /* Hotlines see metadata of what they handled; content stays with ICCAM. */
        if (level == SCOPE_CONTENT) {
            sqlq_sql(q, "(0)");
            return;
        }
        sqlq_sql(q, "(r.reporting_hotline = ");
        sqlq_text(q, s->hotline);
        sqlq_sql(q, " OR r.assessing_hotline = ");
        sqlq_text(q, s->hotline);
        sqlq_sql(q, ")");
        return;
    case SCOPE_INTERPOL:
        if (level == SCOPE_CONTENT)
            sqlq_sql(q, "(0)");
        else
            sqlq_sql(q, "(r.class_bits & 1)");
        return;
    default:
        sqlq_sql(q, "(0)");
    }
}

/* Whether the grant names country cc. */
static int grant_has(const struct scope_grant *g, const char *cc)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->countries[i], cc) == 0)
            return 1;
    return 0;
}

/* Add one signed part. */
static int part_add(struct scope_part *out, int n, int sign, const char *prefix, const char *value)
{
    out[n].sign = sign;
    snprintf(out[n].part, sizeof out[n].part, "%s%s", prefix, value);
    return n + 1;
}

/* See scope.h: the same sets as scope_where, by inclusion and exclusion. */
int scope_parts(const struct scope *s, enum scope_level level, const char (*hosts)[3], int nhosts,
                const char (*own)[64], int nown, struct scope_part *out, int *overlap)
{
    *overlap = 0;
    int n = 0;
    switch (s->kind) {
    case SCOPE_LEA: {
        const struct scope_grant *g = grant_of(s, level);
        int others = 0; /* hosts outside the grant */
        for (int i = 0; i < nhosts; i++)
            others += !grant_has(g, hosts[i]);
        if (nhosts >= 0 && g->n > 2 + others && others < SCOPE_MAX_COUNTRIES) {
            n = part_add(out, n, 1, "*", "");
            n = part_add(out, n, -1, "h-", "");
            for (int i = 0; i < nhosts; i++)
                if (!grant_has(g, hosts[i]))
                    n = part_add(out, n, -1, "h:", hosts[i]);
        } else {
            for (int i = 0; i < g->n; i++)
                n = part_add(out, n, 1, "h:", g->countries[i]);
        }
        if (g->reported_from) {
            if (nown < 0 || nown > SCOPE_MAX_OWN_HOTLINES)
                return -1;
            for (int i = 0; i < nown; i++)
                n = part_add(out, n, 1, "r:", own[i]);
            int home = grant_has(g, s->country);
            if (home)
                n = part_add(out, n, -1, "d:", s->country);
            *overlap = g->n > home;
        }
        return n;
    }
    case SCOPE_HOTLINE:
        if (level == SCOPE_CONTENT)
            return 0;
        n = part_add(out, n, 1, "r:", s->hotline);
        n = part_add(out, n, 1, "a:", s->hotline);
        return part_add(out, n, -1, "b:", s->hotline);
    case SCOPE_INTERPOL:
        return level == SCOPE_CONTENT ? 0 : part_add(out, n, 1, "i", "");
    default:
        return 0;
    }
}

/* See scope.h: hosted in one of the grant's other countries and sent by a
 * hotline of the LEA's own. */
void scope_overlap_where(const struct scope *s, enum scope_level level, struct sqlq *q)
{
    const struct scope_grant *g = grant_of(s, level);
    if (s->kind != SCOPE_LEA || !g->reported_from || !g->n) {
        sqlq_sql(q, "(0)");
        return;
    }
    sqlq_sql(q, "(r.host_country IN ");
    sqlq_json_set(q, g->json);
    sqlq_sql(q, " AND r.host_country <> ");
    sqlq_text(q, s->country);
    sqlq_sql(q, " AND r.reporting_hotline IN (SELECT code FROM hotlines WHERE country = ");
    sqlq_text(q, s->country);
    sqlq_sql(q, "))");
}

/* Lists: own, or shared by name or kind. */
void scope_lists_where(const struct caller *who, struct sqlq *q)
{
    if (strcmp(who->org_kind, "lea") != 0 && strcmp(who->org_kind, "hotline") != 0 &&
        strcmp(who->org_kind, "interpol") != 0) {
        sqlq_sql(q, "(0)");
        return;
    }
    sqlq_sql(q, "(l.org_id = ");
    sqlq_int(q, who->org_id);
    sqlq_sql(q, " OR EXISTS (SELECT 1 FROM hash_list_shares s WHERE s.list_id = l.id AND (s.org_id = ");
    sqlq_int(q, who->org_id);
    sqlq_sql(q, " OR s.org_kind = ");
    sqlq_text(q, who->org_kind);
    sqlq_sql(q, ")))");
}

/* Any media metadata visible at all (decides whether classification filters apply). */
int scope_any_meta(const struct scope *s)
{
    if (s->kind == SCOPE_LEA)
        return s->meta.n > 0 || s->meta.reported_from;
    return s->kind == SCOPE_HOTLINE || s->kind == SCOPE_INTERPOL;
}

/* Any media content visible at all (only LEAs' agreements grant it). */
int scope_any_content(const struct scope *s)
{
    return s->kind == SCOPE_LEA && (s->content.n > 0 || s->content.reported_from);
}

/* One grant as JSON. */
static cJSON *grant_json(const struct scope_grant *g)
{
    cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "hosting_countries");
    for (int i = 0; i < g->n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(g->countries[i]));
    cJSON_AddBoolToObject(o, "reported_from_own_country", g->reported_from);
    return o;
}

/* Describe the scope for people and manifests. */
cJSON *scope_json(const struct scope *s)
{
    static const char *const kinds[] = {"nothing", "lea", "hotline", "interpol"};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", kinds[s->kind]);
    if (s->kind == SCOPE_LEA) {
        cJSON_AddItemToObject(o, "reports", grant_json(&s->see));
        cJSON_AddItemToObject(o, "media_metadata", grant_json(&s->meta));
        cJSON_AddItemToObject(o, "media_content", grant_json(&s->content));
        cJSON_AddStringToObject(o, "country", s->country);
    } else if (s->kind == SCOPE_HOTLINE) {
        cJSON_AddStringToObject(o, "hotline", s->hotline);
    }
    return o;
}

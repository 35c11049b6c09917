/*
 * sqlq - literal-only SQL text with bound values.
 */
#include "sqlq.h"

/* Start an empty query. */
void sqlq_init(struct sqlq *q)
{
    buf_init(&q->sql);
    q->n = 0;
    q->overflow = 0;
}

/* Release the query text. */
void sqlq_free(struct sqlq *q) { buf_free(&q->sql); }

/* Append literal SQL. */
void sqlq_sql_(struct sqlq *q, const char *lit) { buf_adds(&q->sql, lit); }

/* Record one value for the next placeholder. */
static struct sqlq_bind *sqlq_slot(struct sqlq *q)
{
    if (q->n >= SQLQ_MAX_BINDS) {
        q->overflow = 1;
        return NULL;
    }
    buf_adds(&q->sql, "?");
    return &q->binds[q->n++];
}

/* Placeholder bound to text. */
void sqlq_text(struct sqlq *q, const char *s)
{
    struct sqlq_bind *b = sqlq_slot(q);
    if (b)
        b->type = 1, b->s = s;
}

/* Placeholder bound to an integer. */
void sqlq_int(struct sqlq *q, int64_t v)
{
    struct sqlq_bind *b = sqlq_slot(q);
    if (b)
        b->type = 0, b->i = v;
}

/* "(?,?,?)" bound to the texts. */
void sqlq_text_list(struct sqlq *q, const char *const *vals, int n)
{
    buf_adds(&q->sql, "(");
    for (int i = 0; i < n; i++) {
        if (i)
            buf_adds(&q->sql, ",");
        sqlq_text(q, vals[i]);
    }
    buf_adds(&q->sql, ")");
}

/* A set as one bound JSON array. */
void sqlq_json_set(struct sqlq *q, const char *json)
{
    buf_adds(&q->sql, "(SELECT value FROM json_each(");
    sqlq_text(q, json);
    buf_adds(&q->sql, "))");
}

/* Prepare through the cache (the text repeats for the same filter shape) and bind. */
sqlite3_stmt *sqlq_prepare(struct sqlq *q, struct db *d)
{
    if (q->overflow)
        return NULL;
    sqlite3_stmt *st = db_prep(d, q->sql.p);
    if (!st)
        return NULL;
    for (int i = 0; i < q->n; i++) {
        if (q->binds[i].type == 1)
            sqlite3_bind_text(st, i + 1, q->binds[i].s, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_int64(st, i + 1, q->binds[i].i);
    }
    return st;
}

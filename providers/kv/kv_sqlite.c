/*
 * kv_sqlite.c - the SQLite keyvalue backend. One store = one database file in
 * WAL mode with a small pool of connections (a worker borrows one per request,
 * so requests run in parallel and readers never block the writer). Every
 * request is one transaction (BEGIN IMMEDIATE for writes), which makes Add and
 * the list/set updates atomic across threads and processes.
 *
 * Schema: corral_kv holds every key with its kind (1 plain, 2 list, 3 set),
 * the plain value, its expiry (unix ms, 0 = never) and the element count of a
 * list or set; corral_kv_list and corral_kv_set hold the elements. Keys and
 * values are BLOBs, so any bytes round-trip and set members sort bytewise.
 */
#include "kv_int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum {
    S_BEGIN_W, S_BEGIN_R, S_COMMIT, S_ROLLBACK,
    S_KIND, S_DEL_KV, S_DEL_LIST, S_DEL_SET,
    S_PUT_STR, S_UPD_VALUE, S_NEW_COLL, S_SET_N,
    S_LIST_MAXPOS, S_LIST_RANGE, S_LIST_PUSH, S_LIST_DEL,
    S_SET_ADD, S_SET_REM, S_SET_MEMBERS, S_SET_HAS,
    S_COUNT_
};

static const char *const sql_[S_COUNT_] = {
    "BEGIN IMMEDIATE", "BEGIN", "COMMIT", "ROLLBACK",
    "SELECT kind, value, expires_ms, n FROM corral_kv WHERE key = ?1",
    "DELETE FROM corral_kv WHERE key = ?1",
    "DELETE FROM corral_kv_list WHERE key = ?1",
    "DELETE FROM corral_kv_set WHERE key = ?1",
    "INSERT INTO corral_kv(key, kind, value, expires_ms, n) VALUES (?1, 1, ?2, ?3, 0) "
    "ON CONFLICT(key) DO UPDATE SET kind = 1, value = excluded.value, "
    "expires_ms = excluded.expires_ms, n = 0",
    "UPDATE corral_kv SET value = ?2 WHERE key = ?1",
    "INSERT INTO corral_kv(key, kind, value, expires_ms, n) VALUES (?1, ?2, NULL, 0, 0)",
    "UPDATE corral_kv SET n = ?2 WHERE key = ?1",
    "SELECT coalesce(max(pos), 0) FROM corral_kv_list WHERE key = ?1",
    "SELECT value FROM corral_kv_list WHERE key = ?1 ORDER BY pos LIMIT ?2 OFFSET ?3",
    "INSERT INTO corral_kv_list(key, pos, value) VALUES (?1, ?2, ?3)",
    "DELETE FROM corral_kv_list WHERE key = ?1 AND value = ?2",
    "INSERT OR IGNORE INTO corral_kv_set(key, member) VALUES (?1, ?2)",
    "DELETE FROM corral_kv_set WHERE key = ?1 AND member = ?2",
    "SELECT member FROM corral_kv_set WHERE key = ?1 ORDER BY member",
    "SELECT 1 FROM corral_kv_set WHERE key = ?1 AND member = ?2",
};

static const char schema_[] =
    "CREATE TABLE IF NOT EXISTS corral_kv(key BLOB PRIMARY KEY, kind INTEGER NOT NULL, "
    "value BLOB, expires_ms INTEGER NOT NULL DEFAULT 0, n INTEGER NOT NULL DEFAULT 0) "
    "WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS corral_kv_list(key BLOB NOT NULL, pos INTEGER NOT NULL, "
    "value BLOB NOT NULL, PRIMARY KEY (key, pos)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS corral_kv_set(key BLOB NOT NULL, member BLOB NOT NULL, "
    "PRIMARY KEY (key, member)) WITHOUT ROWID;";

#define POOL_MAX 16

typedef struct sq_conn {
    sqlite3 *db;
    sqlite3_stmt *st[S_COUNT_];
} sq_conn_t;

typedef struct sq_store {
    char *path;
    int sync_full;
    pthread_mutex_t lock;
    sq_conn_t *idle[POOL_MAX];
    int n_idle;
} sq_store_t;

static corral_status_t sq_identity(const kv_cfg_t *cfg, corral_buf_t *id) {
    return corral_buf_printf(id, "sqlite:%s:%s", cfg->sync_full ? "full" : "normal", cfg->path);
}

static void conn_close(sq_conn_t *c) {
    if (!c) return;
    for (int i = 0; i < S_COUNT_; i++) sqlite3_finalize(c->st[i]);
    sqlite3_close(c->db);
    corral_free(c);
}

static corral_status_t db_err(corral_err_t *err, const sq_store_t *s, sqlite3 *db, int rc,
                              const char *what) {
    int base = rc & 0xff;
    corral_status_t st = base == SQLITE_BUSY || base == SQLITE_LOCKED ? CORRAL_ERR_BUSY
                         : base == SQLITE_NOMEM                        ? CORRAL_ERR_NOMEM
                                                                       : CORRAL_ERR_IO;
    return corral_err_set(err, st, "keyvalue:sqlite %s: %s: %s", s->path, what,
                          db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static corral_status_t conn_open(sq_store_t *s, int init_schema, sq_conn_t **out,
                                 corral_err_t *err) {
    *out = NULL;
    sq_conn_t *c = corral_calloc(1, sizeof *c);
    if (!c) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    corral_status_t st;
    int rc = sqlite3_open_v2(s->path, &c->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        st = db_err(err, s, c->db, rc, "cannot open the database");
        goto fail;
    }
    sqlite3_busy_timeout(c->db, 10000);
    char pragmas[160];
    snprintf(pragmas, sizeof pragmas, "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;",
             s->sync_full ? "FULL" : "NORMAL");
    rc = sqlite3_exec(c->db, pragmas, NULL, NULL, NULL);
    if (rc == SQLITE_OK && init_schema) rc = sqlite3_exec(c->db, schema_, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        st = db_err(err, s, c->db, rc, "cannot set up the database");
        goto fail;
    }
    for (int i = 0; i < S_COUNT_; i++) {
        rc = sqlite3_prepare_v3(c->db, sql_[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i], NULL);
        if (rc != SQLITE_OK) {
            st = db_err(err, s, c->db, rc, "cannot prepare a statement");
            goto fail;
        }
    }
    *out = c;
    return CORRAL_OK;
fail:
    conn_close(c);
    return st;
}

static void sq_close(void *store) {
    sq_store_t *s = store;
    if (!s) return;
    for (int i = 0; i < s->n_idle; i++) conn_close(s->idle[i]);
    pthread_mutex_destroy(&s->lock);
    corral_free(s->path);
    corral_free(s);
}

static corral_status_t sq_open(const kv_cfg_t *cfg, const corral_provider_host_t *host,
                               void **store, corral_err_t *err) {
    sq_store_t *s = corral_calloc(1, sizeof *s);
    if (!s || !(s->path = corral_strdup(cfg->path))) {
        corral_free(s);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    }
    s->sync_full = cfg->sync_full;
    pthread_mutex_init(&s->lock, NULL);
    sq_conn_t *c;
    corral_status_t st = conn_open(s, 1, &c, err);
    if (st != CORRAL_OK) {
        sq_close(s);
        return st;
    }
    s->idle[s->n_idle++] = c;
    *store = s;
    return CORRAL_OK;
}

static corral_status_t conn_get(sq_store_t *s, sq_conn_t **out, corral_err_t *err) {
    pthread_mutex_lock(&s->lock);
    *out = s->n_idle ? s->idle[--s->n_idle] : NULL;
    pthread_mutex_unlock(&s->lock);
    return *out ? CORRAL_OK : conn_open(s, 0, out, err);
}

static void conn_put(sq_store_t *s, sq_conn_t *c) {
    pthread_mutex_lock(&s->lock);
    if (s->n_idle < POOL_MAX) {
        s->idle[s->n_idle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    conn_close(c);
}

/* Wall clock in ms: expiries are stored in the file, so they must survive a
 * restart (the monotonic clock would not). */
static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- statement helpers ---- */

typedef struct sq_ctx {
    sq_store_t *s;
    sq_conn_t *c;
    corral_err_t *err;
} sq_ctx_t;

static sqlite3_stmt *stmt(sq_ctx_t *x, int id) {
    sqlite3_stmt *st = x->c->st[id];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static void bind_str(sqlite3_stmt *st, int i, kv_str_t v) {
    sqlite3_bind_blob(st, i, v.p ? (const void *)v.p : "", (int)v.n, SQLITE_STATIC);
}

/* Runs a statement that returns no rows. */
static corral_status_t exec_done(sq_ctx_t *x, sqlite3_stmt *st, const char *what) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return db_err(x->err, x->s, x->c->db, rc, what);
    return CORRAL_OK;
}

static corral_status_t run(sq_ctx_t *x, int id, const char *what) {
    return exec_done(x, stmt(x, id), what);
}

static corral_status_t run_key(sq_ctx_t *x, int id, kv_str_t key, const char *what) {
    sqlite3_stmt *st = stmt(x, id);
    bind_str(st, 1, key);
    return exec_done(x, st, what);
}

typedef struct sq_key {
    kv_kind_t kind;
    int64_t n; /* element count of a list or set */
} sq_key_t;

/* Looks a key up; an expired plain value counts as absent (and is deleted
 * when `purge`, inside a write transaction). For Get, copies the value. */
static corral_status_t key_info(sq_ctx_t *x, kv_str_t key, int purge, sq_key_t *ki,
                                kv_bytes_t *value) {
    sqlite3_stmt *st = stmt(x, S_KIND);
    bind_str(st, 1, key);
    int rc = sqlite3_step(st);
    ki->kind = KV_NONE;
    ki->n = 0;
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return CORRAL_OK;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return db_err(x->err, x->s, x->c->db, rc, "lookup");
    }
    int kind = sqlite3_column_int(st, 0);
    int64_t exp = sqlite3_column_int64(st, 2);
    ki->n = sqlite3_column_int64(st, 3);
    int expired = kind == 1 && exp > 0 && exp <= now_ms();
    if (!expired) {
        ki->kind = kind == 1 ? KV_STRING : kind == 2 ? KV_LIST : KV_SET;
        if (value && kind == 1) {
            const void *p = sqlite3_column_blob(st, 1);
            int n = sqlite3_column_bytes(st, 1);
            if (corral_kv_bytes_set(value, p, (size_t)n) != CORRAL_OK) {
                sqlite3_reset(st);
                return corral_err_set(x->err, CORRAL_ERR_NOMEM, "out of memory");
            }
        }
    }
    sqlite3_reset(st);
    if (expired && purge) return run_key(x, S_DEL_KV, key, "expire");
    return CORRAL_OK;
}

static corral_status_t del_key(sq_ctx_t *x, kv_str_t key, kv_kind_t kind) {
    corral_status_t st = run_key(x, S_DEL_KV, key, "delete");
    if (st == CORRAL_OK && kind == KV_LIST) st = run_key(x, S_DEL_LIST, key, "delete");
    if (st == CORRAL_OK && kind == KV_SET) st = run_key(x, S_DEL_SET, key, "delete");
    return st;
}

static corral_status_t set_n(sq_ctx_t *x, kv_str_t key, int64_t n) {
    if (n == 0) return run_key(x, S_DEL_KV, key, "update");
    sqlite3_stmt *st = stmt(x, S_SET_N);
    bind_str(st, 1, key);
    sqlite3_bind_int64(st, 2, n);
    return exec_done(x, st, "update");
}

static corral_status_t new_coll(sq_ctx_t *x, kv_str_t key, kv_kind_t kind) {
    sqlite3_stmt *st = stmt(x, S_NEW_COLL);
    bind_str(st, 1, key);
    sqlite3_bind_int(st, 2, kind == KV_LIST ? 2 : 3);
    return exec_done(x, st, "insert");
}

/* Appends the first column of every row of a prepared query to l. */
static corral_status_t collect(sq_ctx_t *x, sqlite3_stmt *st, kv_list_t *l) {
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(st, 0);
        int n = sqlite3_column_bytes(st, 0);
        if (corral_kv_list_push(l, p ? p : "", (size_t)n) != CORRAL_OK) {
            sqlite3_reset(st);
            return corral_err_set(x->err, CORRAL_ERR_NOMEM, "out of memory");
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? CORRAL_OK : db_err(x->err, x->s, x->c->db, rc, "query");
}

static int set_has(sq_ctx_t *x, kv_str_t key, kv_str_t member, corral_status_t *st) {
    sqlite3_stmt *q = stmt(x, S_SET_HAS);
    bind_str(q, 1, key);
    bind_str(q, 2, member);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) *st = db_err(x->err, x->s, x->c->db, rc, "query");
    return rc == SQLITE_ROW;
}

static int is_write(kv_op_t op) {
    switch (op) {
    case KV_ADD: case KV_SET_VALUE: case KV_DEL: case KV_CLEAR: case KV_PUSH: case KV_LIST_DEL:
    case KV_SET_ADD: case KV_SET_REMOVE: return 1;
    default: return 0;
    }
}

static corral_status_t op_txn(sq_ctx_t *x, const kv_req_t *r, kv_res_t *res) {
    corral_err_t *err = x->err;
    int w = is_write(r->op);
    kv_kind_t want = corral_kv_op_kind(r->op);
    sq_key_t ki = {KV_NONE, 0};
    corral_status_t st;
    if (r->op != KV_SET_UNION && r->op != KV_SET_INTER) {
        st = key_info(x, r->key, w, &ki, r->op == KV_GET || r->op == KV_ADD ? &res->value : NULL);
        if (st != CORRAL_OK) return st;
        if (ki.kind != KV_NONE && want != KV_NONE && r->op != KV_SET_VALUE && ki.kind != want)
            return corral_kv_err_wrong_type(err, r, r->key, ki.kind);
    }
    switch (r->op) {
    case KV_ADD: {
        int64_t cur = 0, sum;
        if (ki.kind == KV_STRING && !corral_kv_parse_i64(res->value.p, res->value.n, &cur))
            return corral_kv_err_not_int(err, r, r->key);
        corral_kv_bytes_free(&res->value);
        if (!corral_kv_add_i64(cur, r->delta, &sum)) return corral_kv_err_overflow(err, r, r->key);
        char buf[24];
        size_t n = corral_kv_fmt_i64(sum, buf);
        kv_str_t v = {(const uint8_t *)buf, n};
        sqlite3_stmt *q;
        if (ki.kind == KV_STRING) { /* keep the expiry, as INCRBY does */
            q = stmt(x, S_UPD_VALUE);
            bind_str(q, 1, r->key);
            bind_str(q, 2, v);
        } else {
            q = stmt(x, S_PUT_STR);
            bind_str(q, 1, r->key);
            bind_str(q, 2, v);
            sqlite3_bind_int64(q, 3, 0);
        }
        res->num = sum;
        return exec_done(x, q, "write");
    }
    case KV_GET:
        res->exists = ki.kind != KV_NONE;
        if (!res->value.p && corral_kv_bytes_set(&res->value, NULL, 0) != CORRAL_OK)
            return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        return CORRAL_OK;
    case KV_EXISTS:
        res->exists = ki.kind != KV_NONE;
        return CORRAL_OK;
    case KV_SET_VALUE: {
        if (ki.kind == KV_LIST || ki.kind == KV_SET) {
            if ((st = del_key(x, r->key, ki.kind)) != CORRAL_OK) return st;
        }
        sqlite3_stmt *q = stmt(x, S_PUT_STR);
        bind_str(q, 1, r->key);
        bind_str(q, 2, r->value);
        sqlite3_bind_int64(q, 3, r->expires ? now_ms() + (int64_t)r->expires * 1000 : 0);
        return exec_done(x, q, "write");
    }
    case KV_DEL: case KV_CLEAR:
        return ki.kind == KV_NONE ? CORRAL_OK : del_key(x, r->key, ki.kind);
    case KV_RANGE: {
        if (ki.kind == KV_NONE) return CORRAL_OK;
        int64_t from, to;
        corral_kv_range(ki.n, r->start, r->stop, &from, &to);
        if (from >= to) return CORRAL_OK;
        sqlite3_stmt *q = stmt(x, S_LIST_RANGE);
        bind_str(q, 1, r->key);
        sqlite3_bind_int64(q, 2, to - from);
        sqlite3_bind_int64(q, 3, from);
        return collect(x, q, &res->list);
    }
    case KV_PUSH: {
        int64_t pos = 0;
        if (ki.kind == KV_NONE) {
            if ((st = new_coll(x, r->key, KV_LIST)) != CORRAL_OK) return st;
        } else {
            sqlite3_stmt *q = stmt(x, S_LIST_MAXPOS);
            bind_str(q, 1, r->key);
            int rc = sqlite3_step(q);
            if (rc == SQLITE_ROW) pos = sqlite3_column_int64(q, 0);
            sqlite3_reset(q);
            if (rc != SQLITE_ROW) return db_err(err, x->s, x->c->db, rc, "query");
        }
        sqlite3_stmt *q = stmt(x, S_LIST_PUSH);
        bind_str(q, 1, r->key);
        sqlite3_bind_int64(q, 2, pos + 1);
        bind_str(q, 3, r->value);
        if ((st = exec_done(x, q, "write")) != CORRAL_OK) return st;
        res->num = ki.n + 1;
        return set_n(x, r->key, res->num);
    }
    case KV_LIST_DEL: case KV_SET_ADD: case KV_SET_REMOVE: {
        if (ki.kind == KV_NONE && r->op != KV_SET_ADD) return CORRAL_OK;
        if (ki.kind == KV_NONE && (st = new_coll(x, r->key, KV_SET)) != CORRAL_OK) return st;
        int id = r->op == KV_LIST_DEL ? S_LIST_DEL : r->op == KV_SET_ADD ? S_SET_ADD : S_SET_REM;
        sqlite3_stmt *q = stmt(x, id);
        bind_str(q, 1, r->key);
        bind_str(q, 2, r->value);
        if ((st = exec_done(x, q, "write")) != CORRAL_OK) return st;
        int64_t changed = sqlite3_changes(x->c->db);
        res->num = r->op == KV_SET_ADD ? ki.n + changed : ki.n - changed;
        return changed ? set_n(x, r->key, res->num) : CORRAL_OK;
    }
    case KV_SET_QUERY: {
        if (ki.kind == KV_NONE) return CORRAL_OK;
        sqlite3_stmt *q = stmt(x, S_SET_MEMBERS);
        bind_str(q, 1, r->key);
        return collect(x, q, &res->list);
    }
    case KV_SET_UNION: case KV_SET_INTER: {
        int missing = 0;
        size_t first = 0; /* Intersection walks the members of the first key */
        for (size_t i = 0; i < r->n_keys; i++) {
            kv_str_t k = corral_mp_item_str(&r->keys[i]);
            if ((st = key_info(x, k, 0, &ki, NULL)) != CORRAL_OK) return st;
            if (ki.kind == KV_NONE) missing = 1;
            else if (ki.kind != KV_SET) return corral_kv_err_wrong_type(err, r, k, ki.kind);
        }
        if (r->n_keys == 0 || (r->op == KV_SET_INTER && missing)) return CORRAL_OK;
        if (r->op == KV_SET_INTER) {
            kv_list_t cand = {0};
            sqlite3_stmt *q = stmt(x, S_SET_MEMBERS);
            kv_str_t k0 = corral_mp_item_str(&r->keys[first]);
            bind_str(q, 1, k0);
            st = collect(x, q, &cand);
            for (size_t j = 0; j < cand.n && st == CORRAL_OK; j++) {
                kv_str_t v = {cand.v[j].p, cand.v[j].n};
                int all = 1;
                for (size_t i = 1; i < r->n_keys && all && st == CORRAL_OK; i++)
                    all = set_has(x, corral_mp_item_str(&r->keys[i]), v, &st);
                if (all && st == CORRAL_OK && corral_kv_list_push(&res->list, v.p, v.n) != CORRAL_OK)
                    st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
            }
            corral_kv_list_free(&cand);
            return st;
        }
        for (size_t i = 0; i < r->n_keys; i++) {
            sqlite3_stmt *q = stmt(x, S_SET_MEMBERS);
            kv_str_t k = corral_mp_item_str(&r->keys[i]);
            bind_str(q, 1, k);
            if ((st = collect(x, q, &res->list)) != CORRAL_OK) return st;
        }
        corral_kv_list_sort(&res->list);
        size_t o = 0;
        for (size_t j = 0; j < res->list.n; j++) {
            if (o && corral_kv_cmp(res->list.v[o - 1].p, res->list.v[o - 1].n, res->list.v[j].p,
                                   res->list.v[j].n) == 0)
                corral_free(res->list.v[j].p);
            else
                res->list.v[o++] = res->list.v[j];
        }
        res->list.n = o;
        return CORRAL_OK;
    }
    }
    return corral_err_set(err, CORRAL_ERR_INTERNAL, "unknown keyvalue operation");
}

static corral_status_t sq_op(void *store, const kv_req_t *r, kv_res_t *res, corral_err_t *err) {
    sq_store_t *s = store;
    sq_ctx_t x = {s, NULL, err};
    corral_status_t st = conn_get(s, &x.c, err);
    if (st != CORRAL_OK) return st;
    st = run(&x, is_write(r->op) ? S_BEGIN_W : S_BEGIN_R, "begin");
    if (st != CORRAL_OK) goto out;
    st = op_txn(&x, r, res);
    if (st == CORRAL_OK) st = run(&x, S_COMMIT, "commit");
    if (st != CORRAL_OK) {
        corral_err_t ignored;
        x.err = &ignored;
        if (!sqlite3_get_autocommit(x.c->db)) run(&x, S_ROLLBACK, "rollback");
    }
out:
    conn_put(s, x.c);
    return st;
}

static corral_status_t sq_health(void *store, corral_err_t *err) {
    sq_store_t *s = store;
    sq_ctx_t x = {s, NULL, err};
    corral_status_t st = conn_get(s, &x.c, err);
    if (st != CORRAL_OK) return st;
    st = run(&x, S_BEGIN_R, "health check");
    if (st == CORRAL_OK) st = run(&x, S_COMMIT, "health check");
    conn_put(s, x.c);
    return st;
}

const kv_backend_t corral_kv_backend_sqlite = {"sqlite", sq_identity, sq_open, sq_close, sq_health,
                                               sq_op};

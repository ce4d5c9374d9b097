/*
 * kv_redis.c - the Redis keyvalue backend (hiredis, blocking contexts). One
 * store = one Redis server + database with a small pool of connections; a
 * worker borrows one per request. Operations map to single Redis commands
 * (Lua for the ones that need a count after the change, so they stay atomic).
 *
 * Reconnecting: a broken connection is dropped together with every idle one
 * (they share its fate), and the next request connects anew. While Redis is
 * unreachable, a failed connect marks the store down: for DOWN_MS every
 * request fails at once with "keyvalue backend unavailable", then one request
 * at a time probes with a new connect (bounded by CONNECT_TIMEOUT_MS) while
 * the others keep failing fast, so no worker piles up behind a dead server.
 */
#include "kv_int.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_MAX 16
#define CONNECT_TIMEOUT_MS 500
#define COMMAND_TIMEOUT_MS 2000
#define DOWN_MS 250

typedef struct rd_store {
    char *host;
    int port;
    int db;
    pthread_mutex_t lock;
    redisContext *idle[POOL_MAX];
    int n_idle;
    int down;              /* the last connect failed */
    int probing;           /* a thread is trying to connect while down */
    uint64_t down_until_ns; /* no new attempt before this */
} rd_store_t;

/* Parses redis://host[:port][/db]. Returns 0 when malformed. */
static int parse_url(const char *url, char *host, size_t host_cap, int *port, int *db) {
    const char *p = url;
    if (strncmp(p, "redis://", 8) != 0) return 0;
    p += 8;
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= host_cap) return 0;
    memcpy(host, p, hl);
    host[hl] = '\0';
    p += hl;
    *port = 6379;
    *db = 0;
    if (*p == ':') {
        char *end;
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || v < 1 || v > 65535) return 0;
        *port = (int)v;
        p = end;
    }
    if (*p == '/') {
        if (p[1] == '\0') return 1;
        char *end;
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end || v < 0 || v > 1000000) return 0;
        *db = (int)v;
        p = end;
    }
    return *p == '\0';
}

static corral_status_t rd_identity(const kv_cfg_t *cfg, corral_buf_t *id) {
    char host[256];
    int port, db;
    if (!parse_url(cfg->url, host, sizeof host, &port, &db)) return CORRAL_ERR_INVALID_ARG;
    return corral_buf_printf(id, "redis:%s:%d/%d", host, port, db);
}

static corral_status_t rd_open(const kv_cfg_t *cfg, const corral_provider_host_t *host,
                               void **store, corral_err_t *err) {
    char h[256];
    int port, db;
    if (!parse_url(cfg->url, h, sizeof h, &port, &db))
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "URL '%.200s' is not redis://host:port[/db]", cfg->url);
    rd_store_t *s = corral_calloc(1, sizeof *s);
    if (!s || !(s->host = corral_strdup(h))) {
        corral_free(s);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    }
    s->port = port;
    s->db = db;
    pthread_mutex_init(&s->lock, NULL);
    *store = s; /* connections are made on demand: Redis may come up later */
    return CORRAL_OK;
}

static void rd_close(void *store) {
    rd_store_t *s = store;
    if (!s) return;
    for (int i = 0; i < s->n_idle; i++) redisFree(s->idle[i]);
    pthread_mutex_destroy(&s->lock);
    corral_free(s->host);
    corral_free(s);
}

static struct timeval ms_tv(int ms) {
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

static void mark(rd_store_t *s, int down) {
    pthread_mutex_lock(&s->lock);
    s->down = down;
    s->probing = 0;
    s->down_until_ns = down ? corral_now_ns() + (uint64_t)DOWN_MS * 1000000u : 0;
    pthread_mutex_unlock(&s->lock);
}

/* Borrows a connection; *reused tells whether it came from the pool. While
 * the store is down, only one thread at a time (and at most once per
 * DOWN_MS) tries to connect; every other request fails at once. */
static corral_status_t conn_get(rd_store_t *s, redisContext **out, int *reused,
                                corral_err_t *err) {
    pthread_mutex_lock(&s->lock);
    redisContext *c = s->n_idle ? s->idle[--s->n_idle] : NULL;
    int refuse = 0;
    if (!c && s->down) {
        if (s->probing || corral_now_ns() < s->down_until_ns)
            refuse = 1;
        else
            s->probing = 1;
    }
    pthread_mutex_unlock(&s->lock);
    *reused = c != NULL;
    if (c) {
        *out = c;
        return CORRAL_OK;
    }
    if (refuse) return corral_kv_err_unavailable(err, NULL);
    char detail[300];
    c = redisConnectWithTimeout(s->host, s->port, ms_tv(CONNECT_TIMEOUT_MS));
    if (c && !c->err) {
        redisSetTimeout(c, ms_tv(COMMAND_TIMEOUT_MS));
        if (s->db) {
            redisReply *r = redisCommand(c, "SELECT %d", s->db);
            int ok = r && r->type == REDIS_REPLY_STATUS;
            if (r) freeReplyObject(r);
            if (!ok) {
                snprintf(detail, sizeof detail, "redis %s:%d: cannot select database %d",
                         s->host, s->port, s->db);
                redisFree(c);
                mark(s, 1);
                return corral_kv_err_unavailable(err, detail);
            }
        }
        mark(s, 0);
        *out = c;
        return CORRAL_OK;
    }
    snprintf(detail, sizeof detail, "redis %s:%d: %s", s->host, s->port,
             c ? c->errstr : "cannot allocate a connection");
    if (c) redisFree(c);
    mark(s, 1);
    return corral_kv_err_unavailable(err, detail);
}

static void conn_put(rd_store_t *s, redisContext *c) {
    pthread_mutex_lock(&s->lock);
    if (s->n_idle < POOL_MAX) {
        s->idle[s->n_idle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    if (c) redisFree(c);
}

/* A broken connection: its idle siblings most likely broke with it. */
static void conn_broken(rd_store_t *s, redisContext *c) {
    redisContext *old[POOL_MAX];
    pthread_mutex_lock(&s->lock);
    int n = s->n_idle;
    memcpy(old, s->idle, (size_t)n * sizeof old[0]);
    s->n_idle = 0;
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < n; i++) redisFree(old[i]);
    redisFree(c);
}

typedef struct rd_cmd {
    int argc;
    const char **argv;
    size_t *lens;
} rd_cmd_t;

/* Runs one command, reconnecting once when a pooled connection turned out to
 * be dead and the command may safely run twice. */
static corral_status_t command(rd_store_t *s, const rd_cmd_t *cmd, int retry_safe,
                               redisReply **out, corral_err_t *err) {
    *out = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        redisContext *c = NULL;
        int reused;
        corral_status_t st = conn_get(s, &c, &reused, err);
        if (st != CORRAL_OK) return st;
        redisReply *r = redisCommandArgv(c, cmd->argc, cmd->argv, cmd->lens);
        if (r) {
            conn_put(s, c);
            *out = r;
            return CORRAL_OK;
        }
        char detail[300];
        snprintf(detail, sizeof detail, "redis %s:%d: %s", s->host, s->port,
                 c->errstr[0] ? c->errstr : "connection lost");
        conn_broken(s, c);
        if (!(reused && retry_safe)) return corral_kv_err_unavailable(err, detail);
    }
    return corral_kv_err_unavailable(err, NULL);
}

static kv_kind_t kind_of(rd_store_t *s, kv_str_t key) {
    const char *argv[2] = {"TYPE", (const char *)key.p};
    size_t lens[2] = {4, key.n};
    rd_cmd_t cmd = {2, argv, lens};
    redisReply *r;
    corral_err_t ignored;
    if (command(s, &cmd, 1, &r, &ignored) != CORRAL_OK) return KV_STRING;
    kv_kind_t k = KV_STRING;
    if (r->type == REDIS_REPLY_STATUS) {
        if (strcmp(r->str, "none") == 0) k = KV_NONE;
        else if (strcmp(r->str, "list") == 0) k = KV_LIST;
        else if (strcmp(r->str, "set") == 0) k = KV_SET;
    }
    freeReplyObject(r);
    return k;
}

/* Turns a Redis error reply into the shared error texts. */
static corral_status_t reply_error(rd_store_t *s, const kv_req_t *req, const redisReply *r,
                                   corral_err_t *err) {
    const char *e = r->str ? r->str : "";
    if (strstr(e, "WRONGTYPE")) {
        kv_kind_t want = corral_kv_op_kind(req->op);
        if (req->op == KV_SET_UNION || req->op == KV_SET_INTER) {
            for (size_t i = 0; i < req->n_keys; i++) {
                kv_str_t k = corral_mp_item_str(&req->keys[i]);
                kv_kind_t have = kind_of(s, k);
                if (have != KV_NONE && have != want) return corral_kv_err_wrong_type(err, req, k, have);
            }
            return corral_kv_err_wrong_type(err, req, corral_mp_item_str(&req->keys[0]), KV_STRING);
        }
        kv_kind_t have = kind_of(s, req->key);
        return corral_kv_err_wrong_type(err, req, req->key, have == want ? KV_STRING : have);
    }
    if (strstr(e, "not an integer")) return corral_kv_err_not_int(err, req, req->key);
    if (strstr(e, "overflow")) return corral_kv_err_overflow(err, req, req->key);
    return corral_err_set(err, CORRAL_ERR_IO, "%s: redis %s:%d: %.200s", req->opname, s->host,
                          s->port, e);
}

static corral_status_t unexpected(rd_store_t *s, const kv_req_t *req, corral_err_t *err) {
    return corral_err_set(err, CORRAL_ERR_IO, "%s: redis %s:%d gave an unexpected reply",
                          req->opname, s->host, s->port);
}

static corral_status_t take_list(const redisReply *r, kv_list_t *l, corral_err_t *err) {
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_STRING) continue;
        if (corral_kv_list_push(l, (const uint8_t *)e->str, e->len) != CORRAL_OK)
            return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    }
    return CORRAL_OK;
}

static const char lua_ldel_[] =
    "redis.call('LREM', KEYS[1], 0, ARGV[1]) return redis.call('LLEN', KEYS[1])";
static const char lua_sadd_[] = "redis.call('SADD', KEYS[1], ARGV[1]) return redis.call('SCARD', KEYS[1])";
static const char lua_srem_[] = "redis.call('SREM', KEYS[1], ARGV[1]) return redis.call('SCARD', KEYS[1])";

static corral_status_t rd_op(void *store, const kv_req_t *req, kv_res_t *res, corral_err_t *err) {
    rd_store_t *s = store;
    const char *argv_s[8];
    size_t lens_s[8];
    const char **argv = argv_s;
    size_t *lens = lens_s;
    int argc = 0, retry = 1;
    char num[3][24];
#define ARG(p, n) (argv[argc] = (const char *)(p), lens[argc++] = (n))
#define ARGS(str) ARG(str, strlen(str))
    const uint8_t *kp = req->key.p;
    size_t kn = req->key.n;
    switch (req->op) {
    case KV_ADD:
        ARGS("INCRBY"); ARG(kp, kn);
        ARG(num[0], corral_kv_fmt_i64(req->delta, num[0]));
        retry = 0;
        break;
    case KV_GET: ARGS("GET"); ARG(kp, kn); break;
    case KV_SET_VALUE:
        ARGS("SET"); ARG(kp, kn); ARG(req->value.p, req->value.n);
        if (req->expires) {
            ARGS("EX");
            ARG(num[0], corral_kv_fmt_i64(req->expires, num[0]));
        }
        break;
    case KV_DEL: case KV_CLEAR: ARGS("DEL"); ARG(kp, kn); break;
    case KV_EXISTS: ARGS("EXISTS"); ARG(kp, kn); break;
    case KV_RANGE:
        ARGS("LRANGE"); ARG(kp, kn);
        ARG(num[0], corral_kv_fmt_i64(req->start, num[0]));
        ARG(num[1], corral_kv_fmt_i64(req->stop, num[1]));
        break;
    case KV_PUSH: ARGS("RPUSH"); ARG(kp, kn); ARG(req->value.p, req->value.n); retry = 0; break;
    case KV_LIST_DEL: case KV_SET_ADD: case KV_SET_REMOVE:
        ARGS("EVAL");
        ARGS(req->op == KV_LIST_DEL ? lua_ldel_ : req->op == KV_SET_ADD ? lua_sadd_ : lua_srem_);
        ARGS("1"); ARG(kp, kn); ARG(req->value.p, req->value.n);
        break;
    case KV_SET_QUERY: ARGS("SMEMBERS"); ARG(kp, kn); break;
    case KV_SET_UNION: case KV_SET_INTER:
        if (req->n_keys == 0) return CORRAL_OK; /* Redis would refuse; the contract says empty */
        if (req->n_keys + 1 > 8) {
            argv = corral_malloc((req->n_keys + 1) * sizeof *argv);
            lens = corral_malloc((req->n_keys + 1) * sizeof *lens);
            if (!argv || !lens) {
                if (argv != argv_s) corral_free(argv);
                if (lens != lens_s) corral_free(lens);
                return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
            }
        }
        ARGS(req->op == KV_SET_UNION ? "SUNION" : "SINTER");
        for (size_t i = 0; i < req->n_keys; i++) {
            kv_str_t k = corral_mp_item_str(&req->keys[i]);
            ARG(k.p, k.n);
        }
        break;
    }
#undef ARG
#undef ARGS
    rd_cmd_t cmd = {argc, argv, lens};
    redisReply *r = NULL;
    corral_status_t st = command(s, &cmd, retry, &r, err);
    if (argv != argv_s) corral_free(argv);
    if (lens != lens_s) corral_free(lens);
    if (st != CORRAL_OK) return st;
    if (r->type == REDIS_REPLY_ERROR) {
        st = reply_error(s, req, r, err);
        goto out;
    }
    switch (req->op) {
    case KV_ADD: case KV_PUSH: case KV_LIST_DEL: case KV_SET_ADD: case KV_SET_REMOVE:
        if (r->type != REDIS_REPLY_INTEGER) st = unexpected(s, req, err);
        else res->num = r->integer;
        break;
    case KV_GET:
        if (r->type == REDIS_REPLY_NIL) {
            res->exists = 0;
            if (corral_kv_bytes_set(&res->value, NULL, 0) != CORRAL_OK)
                st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        } else if (r->type == REDIS_REPLY_STRING) {
            res->exists = 1;
            if (corral_kv_bytes_set(&res->value, (const uint8_t *)r->str, r->len) != CORRAL_OK)
                st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        } else {
            st = unexpected(s, req, err);
        }
        break;
    case KV_EXISTS:
        if (r->type != REDIS_REPLY_INTEGER) st = unexpected(s, req, err);
        else res->exists = r->integer > 0;
        break;
    case KV_SET_VALUE:
        if (r->type != REDIS_REPLY_STATUS) st = unexpected(s, req, err);
        break;
    case KV_DEL: case KV_CLEAR:
        if (r->type != REDIS_REPLY_INTEGER) st = unexpected(s, req, err);
        break;
    case KV_RANGE: case KV_SET_QUERY: case KV_SET_UNION: case KV_SET_INTER:
        if (r->type != REDIS_REPLY_ARRAY) {
            st = unexpected(s, req, err);
            break;
        }
        st = take_list(r, &res->list, err);
        if (st == CORRAL_OK && req->op != KV_RANGE) corral_kv_list_sort(&res->list);
        break;
    }
out:
    freeReplyObject(r);
    return st;
}

static corral_status_t rd_health(void *store, corral_err_t *err) {
    rd_store_t *s = store;
    const char *argv[1] = {"PING"};
    size_t lens[1] = {4};
    rd_cmd_t cmd = {1, argv, lens};
    redisReply *r;
    corral_status_t st = command(s, &cmd, 1, &r, err);
    if (st != CORRAL_OK) return st;
    int ok = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    return ok ? CORRAL_OK : corral_err_set(err, CORRAL_ERR_IO, "redis %s:%d did not answer PING",
                                           s->host, s->port);
}

const kv_backend_t corral_kv_backend_redis = {"redis", rd_identity, rd_open, rd_close, rd_health,
                                              rd_op};

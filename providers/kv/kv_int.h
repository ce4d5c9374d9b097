/*
 * kv_int.h - the wasmcloud:keyvalue provider's inside: one contract layer
 * (kv.c: decodes requests, checks them, encodes responses, keeps links)
 * drives three interchangeable backends (kv_memory.c, kv_sqlite.c,
 * kv_redis.c) through the kv_backend_t table below. Behaviour that must be
 * identical everywhere - error texts, integer parsing, LRANGE index rules,
 * result ordering - lives here, not in the backends.
 */
#ifndef CORRAL_KV_INT_H
#define CORRAL_KV_INT_H

#include "../corral_provider_int.h"
#include "../msgpack/corral_mp.h"

typedef enum kv_op {
    KV_ADD,
    KV_GET,
    KV_SET_VALUE,
    KV_DEL,
    KV_CLEAR,
    KV_RANGE,
    KV_PUSH,
    KV_LIST_DEL,
    KV_SET_ADD,
    KV_SET_REMOVE,
    KV_SET_UNION,
    KV_SET_INTER,
    KV_SET_QUERY,
    KV_EXISTS
} kv_op_t;

/* What a key holds. KV_NONE = absent (or expired). */
typedef enum kv_kind { KV_NONE = 0, KV_STRING, KV_LIST, KV_SET } kv_kind_t;

typedef corral_mp_str_t kv_str_t; /* borrowed bytes */

/* Owned bytes (corral_malloc; p is never NULL once filled: empty = "" alloc). */
typedef struct kv_bytes {
    uint8_t *p;
    size_t n;
} kv_bytes_t;

typedef struct kv_list {
    kv_bytes_t *v;
    size_t n, cap;
} kv_list_t;

typedef struct kv_req {
    kv_op_t op;
    const char *opname;
    kv_str_t key;
    kv_str_t value;                /* Set, Push, ListItemDelete, SetAdd, SetRemove */
    int32_t delta;                 /* Add */
    int32_t expires;               /* Set, seconds, >= 0 */
    int32_t start, stop;           /* Range */
    const msgpack_object *keys;    /* SetUnion, SetIntersection (str objects) */
    size_t n_keys;
} kv_req_t;

typedef struct kv_res {
    int64_t num;      /* Add: new total; Push/ListItemDelete/SetAdd/SetRemove: new size */
    int exists;       /* Get, KeyExists */
    kv_bytes_t value; /* Get */
    kv_list_t list;   /* Range, SetUnion, SetIntersection, SetQuery */
} kv_res_t;

/* Resolved link configuration. */
typedef struct kv_cfg {
    const char *path; /* SQLite database file */
    int sync_full;    /* SQLite SYNC=full */
    const char *url;  /* Redis URL */
} kv_cfg_t;

/* A backend. A store is one database (a SQLite file, a Redis server+db, or
 * one in-memory table) shared by all links that resolve to the same id.
 * `op` is called from many threads at once and must be atomic per request. */
typedef struct kv_backend {
    const char *name; /* "memory", "sqlite", "redis" */
    /* Appends the identity of the store cfg designates (links with equal ids
     * share one store). */
    corral_status_t (*identity)(const kv_cfg_t *cfg, corral_buf_t *id);
    corral_status_t (*open)(const kv_cfg_t *cfg, const corral_provider_host_t *host, void **store,
                            corral_err_t *err);
    void (*close)(void *store);
    corral_status_t (*health)(void *store, corral_err_t *err);
    corral_status_t (*op)(void *store, const kv_req_t *req, kv_res_t *res, corral_err_t *err);
} kv_backend_t;

extern const kv_backend_t corral_kv_backend_memory;
extern const kv_backend_t corral_kv_backend_sqlite;
extern const kv_backend_t corral_kv_backend_redis;

/* ---- shared semantics (kv.c) ---- */

const char *corral_kv_kind_name(kv_kind_t k);
/* The kind an operation needs of its key(s). */
kv_kind_t corral_kv_op_kind(kv_op_t op);

/* "<Op>: key '<key>' holds a <have>, not a <want>" (CORRAL_ERR_WRONG_TYPE). */
corral_status_t corral_kv_err_wrong_type(corral_err_t *err, const kv_req_t *req, kv_str_t key,
                                         kv_kind_t have);
/* "Add: value of key '<key>' is not an integer or out of range". */
corral_status_t corral_kv_err_not_int(corral_err_t *err, const kv_req_t *req, kv_str_t key);
/* "Add: increment of key '<key>' would overflow". */
corral_status_t corral_kv_err_overflow(corral_err_t *err, const kv_req_t *req, kv_str_t key);
/* The backend's store cannot be reached. */
corral_status_t corral_kv_err_unavailable(corral_err_t *err, const char *detail);

/* Parses a stored value as Redis does for INCRBY: optional '-', no leading
 * zeros or '+', no spaces, within int64. Returns 1 when valid. */
int corral_kv_parse_i64(const uint8_t *p, size_t n, int64_t *out);
/* Adds with overflow check; returns 0 on overflow. */
int corral_kv_add_i64(int64_t a, int64_t b, int64_t *out);
/* Formats v in decimal into buf (>= 21 bytes); returns the length. */
size_t corral_kv_fmt_i64(int64_t v, char *buf);

/* Redis LRANGE index rules: resolves [start, stop] against len into a
 * half-open [*from, *to); empty when *from >= *to. */
void corral_kv_range(int64_t len, int64_t start, int64_t stop, int64_t *from, int64_t *to);

/* Byte order used for set results everywhere (memcmp, then shorter first,
 * like SQLite's BLOB order). */
int corral_kv_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);

corral_status_t corral_kv_bytes_set(kv_bytes_t *b, const uint8_t *p, size_t n);
void corral_kv_bytes_free(kv_bytes_t *b);
corral_status_t corral_kv_list_push(kv_list_t *l, const uint8_t *p, size_t n);
void corral_kv_list_sort(kv_list_t *l);
void corral_kv_list_free(kv_list_t *l);
void corral_kv_res_free(kv_res_t *r);

#endif

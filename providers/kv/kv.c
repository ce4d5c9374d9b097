/*
 * kv.c - the wasmcloud:keyvalue contract layer shared by the memory, SQLite
 * and Redis providers: strict request decoding, the responses of
 * contracts.md, link bookkeeping with shared reference-counted stores, and
 * the semantics every backend must share (error texts, integer rules,
 * LRANGE indexes, result order).
 */
#include "kv_int.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- shared semantics ------------------------------------------------------ */

const char *corral_kv_kind_name(kv_kind_t k) {
    switch (k) {
    case KV_STRING: return "plain value";
    case KV_LIST: return "list";
    case KV_SET: return "set";
    default: return "nothing";
    }
}

kv_kind_t corral_kv_op_kind(kv_op_t op) {
    switch (op) {
    case KV_ADD: case KV_GET: case KV_SET_VALUE: return KV_STRING;
    case KV_RANGE: case KV_PUSH: case KV_LIST_DEL: return KV_LIST;
    case KV_SET_ADD: case KV_SET_REMOVE: case KV_SET_UNION: case KV_SET_INTER: case KV_SET_QUERY:
        return KV_SET;
    default: return KV_NONE;
    }
}

/* Writes a printable, bounded rendering of a key for messages. */
static void show_key(kv_str_t key, char *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < key.n && o + 8 < cap; i++) {
        unsigned char c = key.p[i];
        if (i == 64) {
            o += (size_t)snprintf(out + o, cap - o, "...");
            break;
        }
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    out[o] = '\0';
}

corral_status_t corral_kv_err_wrong_type(corral_err_t *err, const kv_req_t *req, kv_str_t key,
                                         kv_kind_t have) {
    char k[300];
    show_key(key, k, sizeof k);
    return corral_err_set(err, CORRAL_ERR_WRONG_TYPE, "%s: key '%s' holds a %s, not a %s",
                          req->opname, k, corral_kv_kind_name(have),
                          corral_kv_kind_name(corral_kv_op_kind(req->op)));
}

corral_status_t corral_kv_err_not_int(corral_err_t *err, const kv_req_t *req, kv_str_t key) {
    char k[300];
    show_key(key, k, sizeof k);
    return corral_err_set(err, CORRAL_ERR_WRONG_TYPE,
                          "%s: value of key '%s' is not an integer or out of range", req->opname, k);
}

corral_status_t corral_kv_err_overflow(corral_err_t *err, const kv_req_t *req, kv_str_t key) {
    char k[300];
    show_key(key, k, sizeof k);
    return corral_err_set(err, CORRAL_ERR_TOO_LARGE, "%s: increment of key '%s' would overflow",
                          req->opname, k);
}

corral_status_t corral_kv_err_unavailable(corral_err_t *err, const char *detail) {
    if (detail && *detail)
        return corral_err_set(err, CORRAL_ERR_BACKEND_UNAVAILABLE,
                              "keyvalue backend unavailable (%s)", detail);
    return corral_err_set(err, CORRAL_ERR_BACKEND_UNAVAILABLE, "keyvalue backend unavailable");
}

int corral_kv_parse_i64(const uint8_t *p, size_t n, int64_t *out) {
    if (n == 0 || n > 20) return 0;
    size_t i = 0;
    int neg = 0;
    if (p[0] == '-') {
        neg = 1;
        i = 1;
        if (n == 1) return 0;
    }
    if (p[i] == '0') {
        if (n == 1) {
            *out = 0;
            return 1;
        }
        return 0; /* leading zero or "-0" */
    }
    uint64_t v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1) return 0;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX) return 0;
        *out = (int64_t)v;
    }
    return 1;
}

int corral_kv_add_i64(int64_t a, int64_t b, int64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

size_t corral_kv_fmt_i64(int64_t v, char *buf) {
    return (size_t)snprintf(buf, 21, "%lld", (long long)v);
}

void corral_kv_range(int64_t len, int64_t start, int64_t stop, int64_t *from, int64_t *to) {
    if (start < 0) start += len;
    if (stop < 0) stop += len;
    if (start < 0) start = 0;
    if (start > stop || start >= len) {
        *from = *to = 0;
        return;
    }
    if (stop >= len) stop = len - 1;
    *from = start;
    *to = stop + 1;
}

int corral_kv_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    size_t m = an < bn ? an : bn;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

corral_status_t corral_kv_bytes_set(kv_bytes_t *b, const uint8_t *p, size_t n) {
    uint8_t *d = corral_malloc(n ? n : 1);
    if (!d) return CORRAL_ERR_NOMEM;
    if (n) memcpy(d, p, n);
    corral_free(b->p);
    b->p = d;
    b->n = n;
    return CORRAL_OK;
}

void corral_kv_bytes_free(kv_bytes_t *b) {
    corral_free(b->p);
    b->p = NULL;
    b->n = 0;
}

corral_status_t corral_kv_list_push(kv_list_t *l, const uint8_t *p, size_t n) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        kv_bytes_t *v = corral_realloc(l->v, cap * sizeof *v);
        if (!v) return CORRAL_ERR_NOMEM;
        l->v = v;
        l->cap = cap;
    }
    kv_bytes_t b = {NULL, 0};
    if (corral_kv_bytes_set(&b, p, n) != CORRAL_OK) return CORRAL_ERR_NOMEM;
    l->v[l->n++] = b;
    return CORRAL_OK;
}

static int cmp_bytes(const void *x, const void *y) {
    const kv_bytes_t *a = x, *b = y;
    return corral_kv_cmp(a->p, a->n, b->p, b->n);
}

void corral_kv_list_sort(kv_list_t *l) {
    if (l->n > 1) qsort(l->v, l->n, sizeof *l->v, cmp_bytes);
}

void corral_kv_list_free(kv_list_t *l) {
    for (size_t i = 0; i < l->n; i++) corral_free(l->v[i].p);
    corral_free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

void corral_kv_res_free(kv_res_t *r) {
    corral_kv_bytes_free(&r->value);
    corral_kv_list_free(&r->list);
}

/* ---- the provider instance --------------------------------------------------- */

typedef struct kv_store_ref {
    char *id;
    void *store;
    int refs; /* links + calls in flight; guarded by kv_inst_t.lock */
    struct kv_store_ref *next;
} kv_store_ref_t;

typedef struct kv_link {
    char *actor;
    char *link;
    kv_store_ref_t *ref;
    struct kv_link *next;
} kv_link_t;

typedef struct kv_inst {
    const kv_backend_t *be;
    const corral_provider_host_t *host;
    pthread_mutex_t lock; /* links and stores lists; never held across backend I/O */
    kv_link_t *links;
    kv_store_ref_t *stores;
    char *def_path, *def_sync, *def_url; /* provider-wide defaults from create() */
} kv_inst_t;

static corral_status_t check_host(const corral_provider_host_t *host, corral_err_t *err) {
    if (!host || host->abi_version != CORRAL_PROVIDER_ABI_VERSION ||
        host->struct_size < sizeof(corral_provider_host_t) || !host->alloc || !host->free)
        return corral_err_set(err, CORRAL_ERR_PROVIDER_ABI,
                              "keyvalue provider: host services table has the wrong ABI version "
                              "or size");
    return CORRAL_OK;
}

static corral_status_t dup_opt(const char *s, char **out) {
    *out = NULL;
    if (!s) return CORRAL_OK;
    *out = corral_strdup(s);
    return *out ? CORRAL_OK : CORRAL_ERR_NOMEM;
}

static void kv_destroy(void *instance);

static corral_status_t parse_sync(const char *s, int *full, corral_err_t *err) {
    if (!s || strcasecmp(s, "normal") == 0) {
        *full = 0;
        return CORRAL_OK;
    }
    if (strcasecmp(s, "full") == 0) {
        *full = 1;
        return CORRAL_OK;
    }
    return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                          "keyvalue: SYNC must be 'normal' or 'full', not '%s'", s);
}

static corral_status_t kv_create(const kv_backend_t *be, const corral_provider_kv_t *config,
                                 size_t n_config, const corral_provider_host_t *host,
                                 void **instance, corral_err_t *err) {
    *instance = NULL;
    corral_status_t st = check_host(host, err);
    if (st != CORRAL_OK) return st;
    int full;
    st = parse_sync(corral_provider_kv_get(config, n_config, "SYNC"), &full, err);
    if (st != CORRAL_OK) return st;
    kv_inst_t *in = corral_calloc(1, sizeof *in);
    if (!in) return corral_err_set(err, CORRAL_ERR_NOMEM, "keyvalue: out of memory");
    pthread_mutex_init(&in->lock, NULL);
    in->be = be;
    in->host = host;
    if (dup_opt(corral_provider_kv_get(config, n_config, "PATH"), &in->def_path) ||
        dup_opt(corral_provider_kv_get(config, n_config, "SYNC"), &in->def_sync) ||
        dup_opt(corral_provider_kv_get(config, n_config, "URL"), &in->def_url)) {
        kv_destroy(in);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "keyvalue: out of memory");
    }
    *instance = in;
    return CORRAL_OK;
}

/* Drops one reference; the last one closes the store. Counts change only
 * under in->lock, so a store found in the list is never freed under a finder. */
static void ref_release(kv_inst_t *in, kv_store_ref_t *ref) {
    pthread_mutex_lock(&in->lock);
    int drop = --ref->refs == 0;
    if (drop) {
        for (kv_store_ref_t **pp = &in->stores; *pp; pp = &(*pp)->next)
            if (*pp == ref) {
                *pp = ref->next;
                break;
            }
    }
    pthread_mutex_unlock(&in->lock);
    if (drop) {
        in->be->close(ref->store);
        corral_free(ref->id);
        corral_free(ref);
    }
}

static void link_free(kv_link_t *l) {
    corral_free(l->actor);
    corral_free(l->link);
    corral_free(l);
}

static void kv_destroy(void *instance) {
    kv_inst_t *in = instance;
    if (!in) return;
    while (in->links) {
        kv_link_t *l = in->links;
        in->links = l->next;
        kv_store_ref_t *ref = l->ref;
        link_free(l);
        ref_release(in, ref);
    }
    pthread_mutex_destroy(&in->lock);
    corral_free(in->def_path);
    corral_free(in->def_sync);
    corral_free(in->def_url);
    corral_free(in);
}

static const char *norm_link(const char *link_name) {
    return link_name && *link_name ? link_name : "default";
}

static kv_link_t **find_link(kv_inst_t *in, const char *actor, const char *link) {
    for (kv_link_t **pp = &in->links; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->actor, actor) == 0 && strcmp((*pp)->link, link) == 0) return pp;
    return NULL;
}

static corral_status_t kv_link(void *instance, const char *actor_key, const char *link_name,
                               const corral_provider_kv_t *values, size_t n_values,
                               corral_err_t *err) {
    kv_inst_t *in = instance;
    corral_buf_t id = CORRAL_BUF_INIT, defpath = CORRAL_BUF_INIT;
    kv_link_t *nl = NULL;
    kv_store_ref_t *ref = NULL;
    void *store = NULL;
    corral_status_t st;
    if (!actor_key || !*actor_key)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "keyvalue: link without an actor key");
    link_name = norm_link(link_name);

    kv_cfg_t cfg = {0};
    const char *sync = corral_provider_kv_get(values, n_values, "SYNC");
    if (!sync) sync = in->def_sync;
    st = parse_sync(sync, &cfg.sync_full, err);
    if (st != CORRAL_OK) goto fail;
    cfg.path = corral_provider_kv_get(values, n_values, "PATH");
    if (!cfg.path || !*cfg.path) cfg.path = in->def_path;
    if (!cfg.path || !*cfg.path) {
        if (in->host->data_dir && *in->host->data_dir) {
            if (corral_buf_printf(&defpath, "%s/keyvalue.sqlite", in->host->data_dir) ||
                corral_buf_terminate(&defpath)) {
                st = corral_err_set(err, CORRAL_ERR_NOMEM, "keyvalue: out of memory");
                goto fail;
            }
            cfg.path = (const char *)defpath.data;
        } else if (in->be == &corral_kv_backend_sqlite) {
            st = corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                "keyvalue:sqlite link for %s has no PATH and the host has no data "
                                "directory",
                                actor_key);
            goto fail;
        }
    }
    cfg.url = corral_provider_kv_get(values, n_values, "URL");
    if (!cfg.url || !*cfg.url) cfg.url = in->def_url;
    if (!cfg.url || !*cfg.url) cfg.url = "redis://127.0.0.1:6379";

    st = in->be->identity(&cfg, &id);
    if (st == CORRAL_OK) st = corral_buf_terminate(&id);
    if (st != CORRAL_OK) {
        st = corral_err_set(err, st, "keyvalue: link for %s: bad configuration", actor_key);
        goto fail;
    }
    nl = corral_calloc(1, sizeof *nl);
    if (!nl || !(nl->actor = corral_strdup(actor_key)) || !(nl->link = corral_strdup(link_name))) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "keyvalue: out of memory");
        goto fail;
    }

    /* Reuse an open store with the same identity, else open one outside the lock. */
    pthread_mutex_lock(&in->lock);
    for (kv_store_ref_t *r = in->stores; r; r = r->next)
        if (strcmp(r->id, (const char *)id.data) == 0) {
            r->refs++;
            ref = r;
            break;
        }
    pthread_mutex_unlock(&in->lock);
    if (!ref) {
        st = in->be->open(&cfg, in->host, &store, err);
        if (st != CORRAL_OK) {
            corral_err_wrap(err, "keyvalue:%s link for %s (%s)", in->be->name, actor_key,
                            link_name);
            goto fail;
        }
        ref = corral_calloc(1, sizeof *ref);
        if (!ref || !(ref->id = (char *)corral_buf_take(&id, NULL))) {
            st = corral_err_set(err, CORRAL_ERR_NOMEM, "keyvalue: out of memory");
            goto fail;
        }
        ref->store = store;
        store = NULL;
        ref->refs = 1;
        pthread_mutex_lock(&in->lock);
        ref->next = in->stores;
        in->stores = ref;
        pthread_mutex_unlock(&in->lock);
    }
    nl->ref = ref;
    ref = NULL;

    kv_store_ref_t *old = NULL;
    pthread_mutex_lock(&in->lock);
    kv_link_t **pp = find_link(in, nl->actor, nl->link);
    if (pp) {
        kv_link_t *o = *pp;
        *pp = o->next;
        old = o->ref;
        link_free(o);
    }
    nl->next = in->links;
    in->links = nl;
    pthread_mutex_unlock(&in->lock);
    if (old) ref_release(in, old);
    corral_buf_free(&id);
    corral_buf_free(&defpath);
    return CORRAL_OK;
fail:
    if (store) in->be->close(store);
    if (ref && ref->store) ref_release(in, ref);
    else if (ref) corral_free(ref);
    if (nl) link_free(nl);
    corral_buf_free(&id);
    corral_buf_free(&defpath);
    return st;
}

static void kv_unlink(void *instance, const char *actor_key, const char *link_name) {
    kv_inst_t *in = instance;
    if (!actor_key) return;
    kv_store_ref_t *ref = NULL;
    pthread_mutex_lock(&in->lock);
    kv_link_t **pp = find_link(in, actor_key, norm_link(link_name));
    if (pp) {
        kv_link_t *l = *pp;
        *pp = l->next;
        ref = l->ref;
        link_free(l);
    }
    pthread_mutex_unlock(&in->lock);
    if (ref) ref_release(in, ref);
}

/* ---- requests and responses ------------------------------------------------------ */

static const struct {
    const char *name;
    kv_op_t op;
} ops_[] = {
    {"Add", KV_ADD},           {"Get", KV_GET},
    {"Set", KV_SET_VALUE},           {"Del", KV_DEL},
    {"Clear", KV_CLEAR},       {"Range", KV_RANGE},
    {"Push", KV_PUSH},         {"ListItemDelete", KV_LIST_DEL},
    {"SetAdd", KV_SET_ADD},    {"SetRemove", KV_SET_REMOVE},
    {"SetUnion", KV_SET_UNION}, {"SetIntersection", KV_SET_INTER},
    {"SetQuery", KV_SET_QUERY}, {"KeyExists", KV_EXISTS},
};

static corral_status_t decode(const corral_mp_doc_t *doc, kv_req_t *r, corral_err_t *err) {
    corral_status_t st = CORRAL_OK;
    if (r->op != KV_SET_UNION && r->op != KV_SET_INTER) {
        st = corral_mp_get_str(doc, "key", &r->key, err);
        if (st != CORRAL_OK) return st;
    }
    switch (r->op) {
    case KV_ADD: return corral_mp_get_i32(doc, "value", &r->delta, err);
    case KV_SET_VALUE:
        if ((st = corral_mp_get_str(doc, "value", &r->value, err)) != CORRAL_OK) return st;
        if ((st = corral_mp_get_i32(doc, "expires", &r->expires, err)) != CORRAL_OK) return st;
        if (r->expires < 0)
            return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                  "Set: request field 'expires' must be 0 (never) or a number of "
                                  "seconds, not %d",
                                  (int)r->expires);
        return CORRAL_OK;
    case KV_RANGE:
        if ((st = corral_mp_get_i32(doc, "start", &r->start, err)) != CORRAL_OK) return st;
        return corral_mp_get_i32(doc, "stop", &r->stop, err);
    case KV_PUSH: case KV_LIST_DEL: case KV_SET_ADD: case KV_SET_REMOVE:
        return corral_mp_get_str(doc, "value", &r->value, err);
    case KV_SET_UNION: case KV_SET_INTER:
        return corral_mp_get_str_array(doc, "keys", &r->keys, &r->n_keys, err);
    default: return CORRAL_OK;
    }
}

static int pack_list(msgpack_packer *pk, const kv_list_t *l) {
    int rc = msgpack_pack_array(pk, l->n);
    for (size_t i = 0; i < l->n && !rc; i++) rc = corral_mp_pack_str(pk, l->v[i].p, l->v[i].n);
    return rc;
}

static int encode(msgpack_packer *pk, const kv_req_t *r, const kv_res_t *res) {
    int rc = 0;
    switch (r->op) {
    case KV_ADD:
        rc |= msgpack_pack_map(pk, 1);
        rc |= corral_mp_pack_cstr(pk, "value");
        rc |= msgpack_pack_int32(pk, (int32_t)res->num);
        break;
    case KV_GET: case KV_EXISTS:
        rc |= msgpack_pack_map(pk, 2);
        rc |= corral_mp_pack_cstr(pk, "value");
        rc |= corral_mp_pack_str(pk, res->value.p ? res->value.p : (const uint8_t *)"", res->value.n);
        rc |= corral_mp_pack_cstr(pk, "exists");
        rc |= res->exists ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
        break;
    case KV_SET_VALUE:
        rc |= msgpack_pack_map(pk, 1);
        rc |= corral_mp_pack_cstr(pk, "value");
        rc |= corral_mp_pack_str(pk, r->value.p, r->value.n);
        break;
    case KV_DEL: case KV_CLEAR:
        rc |= msgpack_pack_map(pk, 1);
        rc |= corral_mp_pack_cstr(pk, "key");
        rc |= corral_mp_pack_str(pk, r->key.p, r->key.n);
        break;
    case KV_RANGE: case KV_SET_UNION: case KV_SET_INTER: case KV_SET_QUERY:
        rc |= msgpack_pack_map(pk, 1);
        rc |= corral_mp_pack_cstr(pk, "values");
        rc |= pack_list(pk, &res->list);
        break;
    case KV_PUSH: case KV_LIST_DEL:
        rc |= msgpack_pack_map(pk, 1);
        rc |= corral_mp_pack_cstr(pk, "newCount");
        rc |= msgpack_pack_int32(pk, (int32_t)res->num);
        break;
    case KV_SET_ADD: case KV_SET_REMOVE:
        rc |= msgpack_pack_map(pk, 2);
        rc |= corral_mp_pack_cstr(pk, "new_count");
        rc |= msgpack_pack_int32(pk, (int32_t)res->num);
        rc |= corral_mp_pack_cstr(pk, "newCount");
        rc |= msgpack_pack_int32(pk, (int32_t)res->num);
        break;
    }
    return rc;
}

static corral_status_t kv_call(void *instance, const corral_provider_call_t *call,
                               corral_provider_bytes_t *resp, corral_err_t *err) {
    kv_inst_t *in = instance;
    corral_mp_doc_t doc = {0};
    corral_buf_t out = CORRAL_BUF_INIT;
    kv_res_t res = {0};
    kv_store_ref_t *ref = NULL;
    corral_status_t st;
    resp->data = NULL;
    resp->len = 0;

    kv_req_t req = {0};
    const char *opname = call->operation ? call->operation : "";
    size_t i;
    for (i = 0; i < sizeof ops_ / sizeof ops_[0]; i++)
        if (strcmp(ops_[i].name, opname) == 0) break;
    if (i == sizeof ops_ / sizeof ops_[0])
        return corral_err_set(err, CORRAL_ERR_UNSUPPORTED,
                              "wasmcloud:keyvalue has no operation '%.64s'", opname);
    req.op = ops_[i].op;
    req.opname = ops_[i].name;

    st = corral_mp_doc_parse(&doc, req.opname, call->payload, call->payload_len, err);
    if (st != CORRAL_OK) return st;
    st = decode(&doc, &req, err);
    if (st != CORRAL_OK) goto fail;

    const char *actor = call->actor_key ? call->actor_key : "";
    const char *link = norm_link(call->link_name);
    pthread_mutex_lock(&in->lock);
    kv_link_t **pp = find_link(in, actor, link);
    if (pp) {
        ref = (*pp)->ref;
        ref->refs++;
    }
    pthread_mutex_unlock(&in->lock);
    if (!ref) {
        st = corral_err_set(err, CORRAL_ERR_NO_LINK,
                            "actor %s has no keyvalue:%s link named '%s'", actor, in->be->name, link);
        goto fail;
    }
    st = in->be->op(ref->store, &req, &res, err);
    if (st != CORRAL_OK) goto fail;
    if ((req.op == KV_ADD || req.op == KV_PUSH || req.op == KV_LIST_DEL ||
         req.op == KV_SET_ADD || req.op == KV_SET_REMOVE) &&
        (res.num > INT32_MAX || res.num < INT32_MIN)) {
        st = corral_err_set(err, CORRAL_ERR_TOO_LARGE,
                            "%s: the result %lld does not fit the response's i32", req.opname,
                            (long long)res.num);
        goto fail;
    }
    msgpack_packer pk;
    corral_mp_packer_init(&pk, &out);
    if (encode(&pk, &req, &res) != 0) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "%s: out of memory encoding the response",
                            req.opname);
        goto fail;
    }
    st = corral_provider_respond(in->host, &out, resp, err);
fail:
    if (ref) ref_release(in, ref);
    corral_kv_res_free(&res);
    corral_buf_free(&out);
    corral_mp_doc_deinit(&doc);
    return st;
}

static corral_status_t kv_health(void *instance, corral_err_t *err) {
    kv_inst_t *in = instance;
    kv_store_ref_t *refs[16];
    size_t n = 0;
    pthread_mutex_lock(&in->lock);
    for (kv_store_ref_t *r = in->stores; r && n < 16; r = r->next) {
        r->refs++;
        refs[n++] = r;
    }
    pthread_mutex_unlock(&in->lock);
    corral_status_t st = CORRAL_OK;
    for (size_t i = 0; i < n; i++) {
        if (st == CORRAL_OK && in->be->health) st = in->be->health(refs[i]->store, err);
        ref_release(in, refs[i]);
    }
    return st;
}

/* ---- the three provider tables ---------------------------------------------------- */

static const char *const kv_aliases_[] = {CORRAL_CONTRACT_KEYVALUE_WASCC, NULL};

#define KV_PROVIDER(be_, desc_)                                                                    \
    static void describe_##be_(corral_provider_info_t *info) {                                     \
        info->contract_id = CORRAL_CONTRACT_KEYVALUE;                                              \
        info->contract_aliases = kv_aliases_;                                                      \
        info->name = "keyvalue:" #be_;                                                             \
        info->description = desc_;                                                                 \
        info->version = "1.0";                                                                     \
    }                                                                                              \
    static corral_status_t create_##be_(const corral_provider_kv_t *config, size_t n_config,       \
                                        const corral_provider_host_t *host, void **instance,       \
                                        corral_err_t *err) {                                       \
        return kv_create(&corral_kv_backend_##be_, config, n_config, host, instance, err);         \
    }                                                                                              \
    const corral_provider_t corral_provider_kv_##be_ = {                                           \
        CORRAL_PROVIDER_ABI_VERSION, sizeof(corral_provider_t), describe_##be_, create_##be_,      \
        kv_destroy, kv_link, kv_unlink, kv_call, kv_health};

KV_PROVIDER(memory, "key-value store in process memory (lost on exit)")
KV_PROVIDER(sqlite, "key-value store in a SQLite database (WAL)")
KV_PROVIDER(redis, "key-value store on a Redis server")

/*
 * kv_memory.c - the in-memory keyvalue backend: one hash table per store
 * (chained, power-of-two buckets) whose entries hold a plain value (with an
 * optional expiry), a list (array in order) or a set (array kept sorted in
 * corral_kv_cmp order, so results come out ordered like the other backends).
 * One mutex per store makes every request atomic.
 */
#include "kv_int.h"

#include <pthread.h>
#include <string.h>

typedef struct mem_entry {
    struct mem_entry *next;
    uint64_t hash;
    kv_bytes_t key;
    kv_kind_t kind;
    kv_bytes_t str;      /* KV_STRING */
    uint64_t expires_ns; /* KV_STRING; 0 = never (monotonic clock) */
    kv_list_t items;     /* KV_LIST in order, KV_SET sorted */
} mem_entry_t;

typedef struct mem_store {
    pthread_mutex_t lock;
    mem_entry_t **buckets;
    size_t n_buckets, count;
} mem_store_t;

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static corral_status_t mem_identity(const kv_cfg_t *cfg, corral_buf_t *id) {
    return corral_buf_append_str(id, "memory");
}

static corral_status_t mem_open(const kv_cfg_t *cfg, const corral_provider_host_t *host,
                                void **store, corral_err_t *err) {
    mem_store_t *s = corral_calloc(1, sizeof *s);
    if (s) s->buckets = corral_calloc(64, sizeof *s->buckets);
    if (!s || !s->buckets) {
        corral_free(s);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    }
    s->n_buckets = 64;
    pthread_mutex_init(&s->lock, NULL);
    *store = s;
    return CORRAL_OK;
}

static void entry_free(mem_entry_t *e) {
    corral_kv_bytes_free(&e->key);
    corral_kv_bytes_free(&e->str);
    corral_kv_list_free(&e->items);
    corral_free(e);
}

static void mem_close(void *store) {
    mem_store_t *s = store;
    if (!s) return;
    for (size_t i = 0; i < s->n_buckets; i++)
        while (s->buckets[i]) {
            mem_entry_t *e = s->buckets[i];
            s->buckets[i] = e->next;
            entry_free(e);
        }
    corral_free(s->buckets);
    pthread_mutex_destroy(&s->lock);
    corral_free(s);
}

/* Finds key; an expired plain value is removed and reported absent. */
static mem_entry_t **lookup(mem_store_t *s, kv_str_t key, uint64_t *hash_out) {
    uint64_t h = hash_bytes(key.p, key.n);
    if (hash_out) *hash_out = h;
    mem_entry_t **pp = &s->buckets[h & (s->n_buckets - 1)];
    for (; *pp; pp = &(*pp)->next) {
        mem_entry_t *e = *pp;
        if (e->hash != h || corral_kv_cmp(e->key.p, e->key.n, key.p, key.n) != 0) continue;
        if (e->kind == KV_STRING && e->expires_ns && corral_now_ns() >= e->expires_ns) {
            *pp = e->next;
            entry_free(e);
            s->count--;
            return NULL;
        }
        return pp;
    }
    return NULL;
}

static mem_entry_t *find(mem_store_t *s, kv_str_t key) {
    mem_entry_t **pp = lookup(s, key, NULL);
    return pp ? *pp : NULL;
}

static void remove_key(mem_store_t *s, kv_str_t key) {
    mem_entry_t **pp = lookup(s, key, NULL);
    if (!pp) return;
    mem_entry_t *e = *pp;
    *pp = e->next;
    entry_free(e);
    s->count--;
}

static void grow(mem_store_t *s) {
    size_t nb = s->n_buckets * 2;
    mem_entry_t **b = corral_calloc(nb, sizeof *b);
    if (!b) return; /* keep the longer chains; still correct */
    for (size_t i = 0; i < s->n_buckets; i++)
        while (s->buckets[i]) {
            mem_entry_t *e = s->buckets[i];
            s->buckets[i] = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    corral_free(s->buckets);
    s->buckets = b;
    s->n_buckets = nb;
}

static corral_status_t create(mem_store_t *s, kv_str_t key, kv_kind_t kind, mem_entry_t **out,
                              corral_err_t *err) {
    if (s->count >= s->n_buckets) grow(s);
    mem_entry_t *e = corral_calloc(1, sizeof *e);
    if (!e || corral_kv_bytes_set(&e->key, key.p, key.n) != CORRAL_OK) {
        corral_free(e);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    }
    e->hash = hash_bytes(key.p, key.n);
    e->kind = kind;
    size_t b = e->hash & (s->n_buckets - 1);
    e->next = s->buckets[b];
    s->buckets[b] = e;
    s->count++;
    *out = e;
    return CORRAL_OK;
}

/* Binary search in a sorted set; returns the index where v is or would go. */
static size_t set_pos(const kv_list_t *l, kv_str_t v, int *found) {
    size_t lo = 0, hi = l->n;
    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = corral_kv_cmp(l->v[mid].p, l->v[mid].n, v.p, v.n);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static int set_has(const mem_entry_t *e, kv_str_t v) {
    int found;
    set_pos(&e->items, v, &found);
    return found;
}

static corral_status_t copy_items(const kv_list_t *from, size_t a, size_t b, kv_list_t *to,
                                  corral_err_t *err) {
    for (size_t i = a; i < b; i++)
        if (corral_kv_list_push(to, from->v[i].p, from->v[i].n) != CORRAL_OK)
            return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    return CORRAL_OK;
}

static corral_status_t op_locked(mem_store_t *s, const kv_req_t *r, kv_res_t *res,
                                 corral_err_t *err) {
    kv_kind_t want = corral_kv_op_kind(r->op);
    mem_entry_t *e = NULL;
    if (r->op != KV_SET_UNION && r->op != KV_SET_INTER) {
        e = find(s, r->key);
        /* Set overwrites any kind, as Redis SET does; Del/Clear/KeyExists take any. */
        if (e && want != KV_NONE && r->op != KV_SET_VALUE && e->kind != want)
            return corral_kv_err_wrong_type(err, r, r->key, e->kind);
    }
    corral_status_t st;
    switch (r->op) {
    case KV_ADD: {
        int64_t cur = 0, sum;
        if (e && !corral_kv_parse_i64(e->str.p, e->str.n, &cur))
            return corral_kv_err_not_int(err, r, r->key);
        if (!corral_kv_add_i64(cur, r->delta, &sum)) return corral_kv_err_overflow(err, r, r->key);
        char buf[24];
        size_t n = corral_kv_fmt_i64(sum, buf);
        if (!e && (st = create(s, r->key, KV_STRING, &e, err)) != CORRAL_OK) return st;
        if (corral_kv_bytes_set(&e->str, (const uint8_t *)buf, n) != CORRAL_OK)
            return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        res->num = sum;
        return CORRAL_OK;
    }
    case KV_GET:
        res->exists = e != NULL;
        if (corral_kv_bytes_set(&res->value, e ? e->str.p : NULL, e ? e->str.n : 0) != CORRAL_OK)
            return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        return CORRAL_OK;
    case KV_SET_VALUE:
        if (e && e->kind != KV_STRING) {
            remove_key(s, r->key);
            e = NULL;
        }
        if (!e && (st = create(s, r->key, KV_STRING, &e, err)) != CORRAL_OK) return st;
        if (corral_kv_bytes_set(&e->str, r->value.p, r->value.n) != CORRAL_OK)
            return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        e->expires_ns = r->expires ? corral_now_ns() + (uint64_t)r->expires * 1000000000ull : 0;
        return CORRAL_OK;
    case KV_DEL: case KV_CLEAR:
        remove_key(s, r->key);
        return CORRAL_OK;
    case KV_EXISTS:
        res->exists = e != NULL;
        return CORRAL_OK;
    case KV_RANGE: {
        if (!e) return CORRAL_OK;
        int64_t from, to;
        corral_kv_range((int64_t)e->items.n, r->start, r->stop, &from, &to);
        return copy_items(&e->items, (size_t)from, (size_t)to, &res->list, err);
    }
    case KV_PUSH:
        if (!e && (st = create(s, r->key, KV_LIST, &e, err)) != CORRAL_OK) return st;
        if (corral_kv_list_push(&e->items, r->value.p, r->value.n) != CORRAL_OK) {
            if (e->items.n == 0) remove_key(s, r->key);
            return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        }
        res->num = (int64_t)e->items.n;
        return CORRAL_OK;
    case KV_LIST_DEL: {
        if (!e) return CORRAL_OK;
        size_t o = 0;
        for (size_t i = 0; i < e->items.n; i++) {
            if (corral_kv_cmp(e->items.v[i].p, e->items.v[i].n, r->value.p, r->value.n) == 0)
                corral_free(e->items.v[i].p);
            else
                e->items.v[o++] = e->items.v[i];
        }
        e->items.n = o;
        res->num = (int64_t)o;
        if (o == 0) remove_key(s, r->key);
        return CORRAL_OK;
    }
    case KV_SET_ADD: {
        if (!e && (st = create(s, r->key, KV_SET, &e, err)) != CORRAL_OK) return st;
        int found;
        size_t at = set_pos(&e->items, r->value, &found);
        if (!found) {
            if (corral_kv_list_push(&e->items, r->value.p, r->value.n) != CORRAL_OK) {
                if (e->items.n == 0) remove_key(s, r->key);
                return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
            }
            kv_bytes_t nv = e->items.v[e->items.n - 1];
            memmove(&e->items.v[at + 1], &e->items.v[at], (e->items.n - 1 - at) * sizeof nv);
            e->items.v[at] = nv;
        }
        res->num = (int64_t)e->items.n;
        return CORRAL_OK;
    }
    case KV_SET_REMOVE: {
        if (!e) return CORRAL_OK;
        int found;
        size_t at = set_pos(&e->items, r->value, &found);
        if (found) {
            corral_free(e->items.v[at].p);
            memmove(&e->items.v[at], &e->items.v[at + 1],
                    (e->items.n - at - 1) * sizeof e->items.v[0]);
            e->items.n--;
        }
        res->num = (int64_t)e->items.n;
        if (e->items.n == 0) remove_key(s, r->key);
        return CORRAL_OK;
    }
    case KV_SET_QUERY:
        return e ? copy_items(&e->items, 0, e->items.n, &res->list, err) : CORRAL_OK;
    case KV_SET_UNION: case KV_SET_INTER: {
        /* Type-check every key first (as Redis does), then combine. */
        const mem_entry_t *sets[256];
        const mem_entry_t **ps = r->n_keys <= 256 ? sets : corral_calloc(r->n_keys, sizeof *ps);
        if (!ps) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        int missing = 0;
        st = CORRAL_OK;
        for (size_t i = 0; i < r->n_keys && st == CORRAL_OK; i++) {
            kv_str_t k = corral_mp_item_str(&r->keys[i]);
            ps[i] = find(s, k);
            if (!ps[i]) missing = 1;
            else if (ps[i]->kind != KV_SET) st = corral_kv_err_wrong_type(err, r, k, ps[i]->kind);
        }
        if (st == CORRAL_OK && r->op == KV_SET_INTER && !missing && r->n_keys > 0) {
            const kv_list_t *first = &ps[0]->items;
            for (size_t j = 0; j < first->n && st == CORRAL_OK; j++) {
                kv_str_t v = {first->v[j].p, first->v[j].n};
                int all = 1;
                for (size_t i = 1; i < r->n_keys && all; i++) all = set_has(ps[i], v);
                if (all && corral_kv_list_push(&res->list, v.p, v.n) != CORRAL_OK)
                    st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
            }
        } else if (st == CORRAL_OK && r->op == KV_SET_UNION) {
            for (size_t i = 0; i < r->n_keys && st == CORRAL_OK; i++)
                if (ps[i]) st = copy_items(&ps[i]->items, 0, ps[i]->items.n, &res->list, err);
            if (st == CORRAL_OK) {
                corral_kv_list_sort(&res->list);
                size_t o = 0; /* drop duplicates */
                for (size_t j = 0; j < res->list.n; j++) {
                    if (o && corral_kv_cmp(res->list.v[o - 1].p, res->list.v[o - 1].n,
                                           res->list.v[j].p, res->list.v[j].n) == 0)
                        corral_free(res->list.v[j].p);
                    else
                        res->list.v[o++] = res->list.v[j];
                }
                res->list.n = o;
            }
        }
        if (ps != sets) corral_free(ps);
        return st;
    }
    }
    return corral_err_set(err, CORRAL_ERR_INTERNAL, "unknown keyvalue operation");
}

static corral_status_t mem_op(void *store, const kv_req_t *r, kv_res_t *res, corral_err_t *err) {
    mem_store_t *s = store;
    pthread_mutex_lock(&s->lock);
    corral_status_t st = op_locked(s, r, res, err);
    pthread_mutex_unlock(&s->lock);
    return st;
}

const kv_backend_t corral_kv_backend_memory = {"memory", mem_identity, mem_open, mem_close, NULL,
                                               mem_op};

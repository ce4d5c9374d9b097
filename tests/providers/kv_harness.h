/*
 * kv_harness.h - helpers for the keyvalue conformance suite: build msgpack
 * requests, read responses, and run one request against every backend.
 */
#ifndef CORRAL_TEST_KV_HARNESS_H
#define CORRAL_TEST_KV_HARNESS_H

#include <msgpack.h>
#include <stdarg.h>
#include <stdbool.h>

#include "corral_provider.h"
#include "test.h"

/* Builds a request map into b. fields: triples (name, type, value) ended by
 * NULL. Types: 's' str (const char *), 'i' int, 'I' long long, 'u' unsigned,
 * 'b' bool (int),
 * 'n' nil (value ignored, pass 0), 'a' array of str (const char ** ending in
 * NULL), 'B' bin (const char *), 'f' double. */
static inline int mp_write_(void *data, const char *p, size_t n) {
    return corral_buf_append((corral_buf_t *)data, p, n) == CORRAL_OK ? 0 : -1;
}

static inline void req_build(corral_buf_t *b, ...) {
    corral_buf_free(b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, mp_write_);
    va_list ap;
    va_start(ap, b);
    int n = 0;
    va_list cp;
    va_copy(cp, ap);
    for (;;) {
        const char *name = va_arg(cp, const char *);
        if (!name) break;
        int t = va_arg(cp, int);
        if (t == 'f') (void)va_arg(cp, double);
        else if (t == 's' || t == 'a' || t == 'B') (void)va_arg(cp, const char *);
        else if (t == 'I') (void)va_arg(cp, long long);
        else (void)va_arg(cp, int);
        n++;
    }
    va_end(cp);
    msgpack_pack_map(&pk, (size_t)n);
    for (;;) {
        const char *name = va_arg(ap, const char *);
        if (!name) break;
        int t = va_arg(ap, int);
        msgpack_pack_str_with_body(&pk, name, strlen(name));
        switch (t) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            msgpack_pack_str_with_body(&pk, s, strlen(s));
            break;
        }
        case 'B': {
            const char *s = va_arg(ap, const char *);
            msgpack_pack_bin_with_body(&pk, s, strlen(s));
            break;
        }
        case 'a': {
            const char **a = va_arg(ap, const char **);
            size_t k = 0;
            while (a[k]) k++;
            msgpack_pack_array(&pk, k);
            for (size_t i = 0; i < k; i++) msgpack_pack_str_with_body(&pk, a[i], strlen(a[i]));
            break;
        }
        case 'i': msgpack_pack_int(&pk, va_arg(ap, int)); break;
        case 'I': msgpack_pack_int64(&pk, va_arg(ap, long long)); break;
        case 'u': msgpack_pack_unsigned_int(&pk, va_arg(ap, unsigned)); break;
        case 'b': {
            int v = va_arg(ap, int);
            if (v) msgpack_pack_true(&pk);
            else msgpack_pack_false(&pk);
            break;
        }
        case 'f': msgpack_pack_double(&pk, va_arg(ap, double)); break;
        default: (void)va_arg(ap, int); msgpack_pack_nil(&pk); break;
        }
    }
    va_end(ap);
}

/* A decoded response (owns its zone). */
/* msgpack-c's objects point into the input, so a doc that must outlive the
 * response bytes takes them over (owned, freed by resp_free). */
typedef struct resp_doc {
    msgpack_unpacked up;
    int ok;
    uint8_t *owned;
} resp_doc_t;

static inline void resp_parse(resp_doc_t *d, const uint8_t *p, size_t n) {
    d->owned = NULL;
    msgpack_unpacked_init(&d->up);
    size_t off = 0;
    d->ok = n > 0 && msgpack_unpack_next(&d->up, (const char *)p, n, &off) == MSGPACK_UNPACK_SUCCESS &&
            off == n && d->up.data.type == MSGPACK_OBJECT_MAP;
}

static inline void resp_free(resp_doc_t *d) {
    msgpack_unpacked_destroy(&d->up);
    corral_free(d->owned);
    d->owned = NULL;
}

static inline const msgpack_object *resp_get(const resp_doc_t *d, const char *key) {
    if (!d->ok) return NULL;
    const msgpack_object_map *m = &d->up.data.via.map;
    for (uint32_t i = 0; i < m->size; i++)
        if (m->ptr[i].key.type == MSGPACK_OBJECT_STR && m->ptr[i].key.via.str.size == strlen(key) &&
            memcmp(m->ptr[i].key.via.str.ptr, key, strlen(key)) == 0)
            return &m->ptr[i].val;
    return NULL;
}

/* Integer field, or LLONG_MIN when missing / not an integer. */
static inline long long resp_int(const resp_doc_t *d, const char *key) {
    const msgpack_object *o = resp_get(d, key);
    if (!o) return -999999999LL;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) return (long long)o->via.u64;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) return o->via.i64;
    return -999999998LL;
}

/* String field copied into out (cap bytes), "<missing>" / "<not str>". */
static inline const char *resp_str(const resp_doc_t *d, const char *key, char *out, size_t cap) {
    const msgpack_object *o = resp_get(d, key);
    if (!o) snprintf(out, cap, "<missing>");
    else if (o->type != MSGPACK_OBJECT_STR) snprintf(out, cap, "<not str>");
    else snprintf(out, cap, "%.*s", (int)o->via.str.size, o->via.str.ptr);
    return out;
}

/* Bool field: 1/0, -1 when missing or not a bool. */
static inline int resp_bool(const resp_doc_t *d, const char *key) {
    const msgpack_object *o = resp_get(d, key);
    if (!o || o->type != MSGPACK_OBJECT_BOOLEAN) return -1;
    return o->via.boolean;
}

/* Array-of-str field joined with ',' ("<missing>" otherwise). */
static inline const char *resp_list(const resp_doc_t *d, const char *key, char *out, size_t cap) {
    const msgpack_object *o = resp_get(d, key);
    if (!o || o->type != MSGPACK_OBJECT_ARRAY) {
        snprintf(out, cap, "<missing>");
        return out;
    }
    size_t w = 0;
    out[0] = '\0';
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *e = &o->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_STR) {
            snprintf(out, cap, "<not str>");
            return out;
        }
        w += (size_t)snprintf(out + w, w < cap ? cap - w : 0, "%s%.*s", i ? "," : "",
                              (int)e->via.str.size, e->via.str.ptr);
        if (w >= cap) break;
    }
    return out;
}

#endif

/*
 * trace.c - W3C Trace Context (traceparent) for calls through the host.
 *
 * Every guest call (actor_call in actors.c) pushes a frame on a per-thread
 * chain: a top-level call starts a trace, or continues the one a caller
 * brought (the `traceparent` header of an HTTP request, set by links.c with
 * host_trace_set_incoming); a call made from inside another (actor to actor)
 * is a child span of the same trace. Ids are drawn lazily, only when
 * something asks for the traceparent (a debug log line, the lattice via
 * corral_host_traceparent), so calls that nobody traces pay a few stores.
 */
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "host_int.h"

static _Thread_local host_trace_t *tl_cur;
static _Thread_local char tl_incoming[CORRAL_HOST_TRACEPARENT_LEN + 1];

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static int parse_hex(const char *s, uint8_t *out, size_t n) {
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return 0;
        out[i] = (uint8_t)(hi << 4 | lo);
        nonzero |= out[i];
    }
    return nonzero ? 1 : -1; /* -1: all zeros */
}

int corral_host_traceparent_parse(const char *s, size_t n, uint8_t trace_id[16],
                                  uint8_t parent_id[8], uint8_t *flags) {
    uint8_t ver, tid[16], pid[8], fl;
    /* version 00 is exactly 55 bytes; a later version may append "-..." */
    if (!s || n < 55 || (n > 55 && s[55] != '-')) return 0;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-') return 0;
    if (parse_hex(s, &ver, 1) == 0 || ver == 0xff || (ver == 0 && n != 55)) return 0;
    if (parse_hex(s + 3, tid, 16) != 1 || parse_hex(s + 36, pid, 8) != 1) return 0;
    if (parse_hex(s + 53, &fl, 1) == 0) return 0;
    if (trace_id) memcpy(trace_id, tid, 16);
    if (parent_id) memcpy(parent_id, pid, 8);
    if (flags) *flags = fl;
    return 1;
}

void host_trace_set_incoming(const char *tp, size_t n) {
    if (tp && corral_host_traceparent_parse(tp, n, NULL, NULL, NULL)) {
        memcpy(tl_incoming, tp, 55);
        memcpy(tl_incoming, "00", 2); /* we speak version 00 onwards */
        tl_incoming[55] = '\0';
    } else {
        tl_incoming[0] = '\0';
    }
}

void host_trace_push(host_trace_t *t) {
    t->parent = tl_cur;
    t->have = 0;
    t->from_incoming = 0;
    if (!t->parent && tl_incoming[0]) {
        corral_host_traceparent_parse(tl_incoming, 55, t->trace_id, NULL, &t->flags);
        t->from_incoming = 1;
        tl_incoming[0] = '\0';
    }
    tl_cur = t;
}

void host_trace_pop(host_trace_t *t) {
    tl_cur = t->parent;
}

static void materialize(host_trace_t *t) {
    if (t->have) return;
    if (t->parent) {
        materialize(t->parent);
        memcpy(t->trace_id, t->parent->trace_id, 16);
        t->flags = t->parent->flags;
    } else if (!t->from_incoming) {
        do randombytes_buf(t->trace_id, 16);
        while (sodium_is_zero(t->trace_id, 16));
        t->flags = 1; /* sampled: the host logs it */
    }
    do randombytes_buf(t->span_id, 8);
    while (sodium_is_zero(t->span_id, 8));
    t->have = 1;
}

static void format_tp(const uint8_t tid[16], const uint8_t sid[8], uint8_t flags,
                      char out[CORRAL_HOST_TRACEPARENT_LEN + 1]) {
    static const char hx[] = "0123456789abcdef";
    char *p = out;
    *p++ = '0';
    *p++ = '0';
    *p++ = '-';
    for (int i = 0; i < 16; i++) {
        *p++ = hx[tid[i] >> 4];
        *p++ = hx[tid[i] & 15];
    }
    *p++ = '-';
    for (int i = 0; i < 8; i++) {
        *p++ = hx[sid[i] >> 4];
        *p++ = hx[sid[i] & 15];
    }
    *p++ = '-';
    *p++ = hx[flags >> 4];
    *p++ = hx[flags & 15];
    *p = '\0';
}

void host_trace_format(host_trace_t *t, char out[CORRAL_HOST_TRACEPARENT_LEN + 1]) {
    materialize(t);
    format_tp(t->trace_id, t->span_id, t->flags, out);
}

int corral_host_traceparent(char out[CORRAL_HOST_TRACEPARENT_LEN + 1]) {
    if (tl_cur) {
        host_trace_format(tl_cur, out);
        return 1;
    }
    if (tl_incoming[0]) {
        memcpy(out, tl_incoming, CORRAL_HOST_TRACEPARENT_LEN + 1);
        return 1;
    }
    out[0] = '\0';
    return 0;
}

/* The `traceparent` header of a wasmcloud:httpserver HandleRequest payload
 * (msgpack {method, path, queryString, header: {name: value}, body}; the
 * provider lowercases names). Sets it as the incoming trace of this thread's
 * next call, or clears it when there is none or it is malformed. */
void host_trace_from_http_request(const uint8_t *p, size_t n) {
    tl_incoming[0] = '\0';
    /* most requests carry none: skip the parse (the name is lowercase on the wire) */
    if (!p || !n || !memmem(p, n, "traceparent", 11)) return;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, (const char *)p, n, NULL) == MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_MAP) {
        const msgpack_object_map *m = &u.data.via.map;
        for (uint32_t i = 0; i < m->size; i++) {
            const msgpack_object *k = &m->ptr[i].key, *v = &m->ptr[i].val;
            if (k->type != MSGPACK_OBJECT_STR || k->via.str.size != 6 ||
                memcmp(k->via.str.ptr, "header", 6) != 0 || v->type != MSGPACK_OBJECT_MAP)
                continue;
            for (uint32_t j = 0; j < v->via.map.size; j++) {
                const msgpack_object *hk = &v->via.map.ptr[j].key, *hv = &v->via.map.ptr[j].val;
                if (hk->type == MSGPACK_OBJECT_STR && hk->via.str.size == 11 &&
                    memcmp(hk->via.str.ptr, "traceparent", 11) == 0 &&
                    hv->type == MSGPACK_OBJECT_STR) {
                    host_trace_set_incoming(hv->via.str.ptr, hv->via.str.size);
                    break;
                }
            }
            break;
        }
    }
    msgpack_unpacked_destroy(&u);
}

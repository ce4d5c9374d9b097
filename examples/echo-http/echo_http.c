/*
 * echo_http.c - an HTTP actor (wasmcloud:httpserver) that answers every
 * request with 200 and a JSON description of it: {"method", "path",
 * "query", "body_bytes"}. Useful to see what the HTTP provider hands actors.
 */
#include "wapc_contracts.h"
#include "wapc_guest.h"

typedef struct {
    char *p;
    uint32_t len, cap;
} out_t;

static void put(out_t *o, const char *s, uint32_t n) {
    if (o->len + n > o->cap) return;
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

/* A JSON string: quotes, backslashes escaped; control bytes become '?'. */
static void put_json_str(out_t *o, wapc_str_t s) {
    put(o, "\"", 1);
    for (uint32_t i = 0; i < s.len; i++) {
        char ch = s.s[i];
        if (ch == '"' || ch == '\\') put(o, "\\", 1);
        if ((uint8_t)ch < 0x20) ch = '?';
        put(o, &ch, 1);
    }
    put(o, "\"", 1);
}

static void put_u32(out_t *o, uint32_t v) {
    char tmp[10];
    uint32_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) put(o, &tmp[--n], 1);
}

static int handle(const uint8_t *payload, uint32_t len) {
    mp_reader_t r;
    wapc_http_request_t req;
    mp_reader_init(&r, payload, len);
    if (!wapc_http_request_decode(&r, &req, wapc_alloc)) return wapc_fail(r.err);
    out_t o;
    o.cap = 64 + 2 * (req.method.len + req.path.len + req.query_string.len);
    o.len = 0;
    if (!(o.p = wapc_alloc(o.cap))) return wapc_fail("out of memory");
    put(&o, "{\"method\":", 10);
    put_json_str(&o, req.method);
    put(&o, ",\"path\":", 8);
    put_json_str(&o, req.path);
    put(&o, ",\"query\":", 9);
    put_json_str(&o, req.query_string);
    put(&o, ",\"body_bytes\":", 14);
    put_u32(&o, req.body.len);
    put(&o, "}", 1);

    wapc_header_t h = {{"content-type", 12}, {"application/json", 16}};
    wapc_http_response_t resp = {200, {"OK", 2}, {&h, 1}, {o.p, o.len}};
    mp_writer_t w;
    mp_writer_init(&w, wapc_alloc);
    wapc_http_response_encode(&w, &resp);
    if (w.err) return wapc_fail(w.err);
    return wapc_respond(w.buf, w.len);
}

WAPC_EXPORT("wapc_init") void wapc_init(void) {
    wapc_register("HandleRequest", handle);
}

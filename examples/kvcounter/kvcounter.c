/*
 * kvcounter.c - the demo actor: an HTTP counter kept in a key-value store.
 * HandleRequest (wasmcloud:httpserver): GET /<path> adds 1 to the key
 * "<path with every '/' replaced by ':'>" (so GET /counter counts under
 * ":counter") through wasmcloud:keyvalue Add on link "default", and answers
 * 200 {"counter":N} as application/json. Any other method gets 405 with an
 * Allow header. When the store cannot be reached (no provider linked, backend
 * down) it answers 503 with Retry-After and {"error": "..."} so clients can
 * tell "try again" from a bug. HealthRequest answers {healthy: true,
 * message: "ok"}. Built with the C guest SDK (examples/sdk).
 */
#include "wapc_contracts.h"
#include "wapc_guest.h"

static int append(char *dst, uint32_t cap, uint32_t *len, const char *s, uint32_t n) {
    if (*len + n > cap) return 0;
    memcpy(dst + *len, s, n);
    *len += n;
    return 1;
}

/* Decimal text of v into buf (at least 12 bytes); returns the length. */
static uint32_t fmt_i32(int32_t v, char *buf) {
    char tmp[12];
    uint32_t n = 0, len = 0;
    uint32_t u = v < 0 ? (uint32_t)0 - (uint32_t)v : (uint32_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) buf[len++] = '-';
    while (n) buf[len++] = tmp[--n];
    return len;
}

static int respond_http(uint32_t code, const char *status, const char *extra_name,
                        const char *extra_value, const char *body, uint32_t body_len) {
    wapc_header_t h[2];
    uint32_t nh = 0;
    h[nh].name.s = "content-type";
    h[nh].name.len = 12;
    h[nh].value.s = code == 405 ? "text/plain" : "application/json";
    h[nh].value.len = wapc_strlen(h[nh].value.s);
    nh++;
    if (extra_name) {
        h[nh].name.s = extra_name;
        h[nh].name.len = wapc_strlen(extra_name);
        h[nh].value.s = extra_value;
        h[nh].value.len = wapc_strlen(extra_value);
        nh++;
    }
    wapc_http_response_t resp;
    resp.status_code = code;
    resp.status.s = status;
    resp.status.len = wapc_strlen(status);
    resp.header.items = h;
    resp.header.n = nh;
    resp.body.s = body;
    resp.body.len = body_len;
    mp_writer_t w;
    mp_writer_init(&w, wapc_alloc);
    wapc_http_response_encode(&w, &resp);
    if (w.err) return wapc_fail(w.err);
    return wapc_respond(w.buf, w.len);
}

/* 503 {"error": "<text>"} with the text JSON-escaped (control bytes dropped). */
static int unavailable(const uint8_t *msg, uint32_t n) {
    static const char pre[] = "{\"error\":\"", post[] = "\"}";
    uint32_t cap = sizeof pre + 2 * n + sizeof post, len = 0;
    char *body = wapc_alloc(cap);
    if (!body) return wapc_fail("out of memory");
    append(body, cap, &len, pre, sizeof pre - 1);
    for (uint32_t i = 0; i < n; i++) {
        char ch = (char)msg[i];
        if ((uint8_t)ch < 0x20) continue;
        if (ch == '"' || ch == '\\') body[len++] = '\\';
        body[len++] = ch;
    }
    append(body, cap, &len, post, sizeof post - 1);
    return respond_http(503, "Service Unavailable", "retry-after", "1", body, len);
}

static int handle_request(const uint8_t *payload, uint32_t len) {
    mp_reader_t r;
    wapc_http_request_t req;
    mp_reader_init(&r, payload, len);
    if (!wapc_http_request_decode(&r, &req, wapc_alloc)) return wapc_fail(r.err);
    if (req.method.len != 3 || !wapc_memeq(req.method.s, "GET", 3)) {
        static const char msg[] = "method not allowed: kvcounter answers GET\n";
        return respond_http(405, "Method Not Allowed", "allow", "GET", msg, sizeof msg - 1);
    }
    /* The key: the path with '/' -> ':' ("/counter" -> ":counter"). */
    char *key = wapc_alloc(req.path.len + 1);
    if (!key) return wapc_fail("out of memory");
    for (uint32_t i = 0; i < req.path.len; i++) key[i] = req.path.s[i] == '/' ? ':' : req.path.s[i];
    key[req.path.len] = '\0';

    mp_writer_t w;
    mp_writer_init(&w, wapc_alloc);
    wapc_kv_add_encode(&w, key, 1);
    if (w.err) return wapc_fail(w.err);
    const uint8_t *out;
    uint32_t out_len;
    if (!wapc_host_call("default", "wasmcloud:keyvalue", "Add", w.buf, w.len, &out, &out_len))
        return unavailable(out, out_len);
    int32_t total = 0;
    mp_reader_init(&r, out, out_len);
    if (!wapc_kv_add_decode(&r, &total)) return wapc_fail("keyvalue Add: malformed response");

    static const char pre[] = "{\"counter\":", post[] = "}";
    char body[sizeof pre + 12 + sizeof post];
    uint32_t blen = 0;
    char num[12];
    uint32_t nl = fmt_i32(total, num);
    append(body, sizeof body, &blen, pre, sizeof pre - 1);
    append(body, sizeof body, &blen, num, nl);
    append(body, sizeof body, &blen, post, sizeof post - 1);
    return respond_http(200, "OK", 0, 0, body, blen);
}

static int health(const uint8_t *payload, uint32_t len) {
    (void)payload;
    (void)len;
    mp_writer_t w;
    mp_writer_init(&w, wapc_alloc);
    wapc_health_response_encode(&w, 1, "ok");
    if (w.err) return wapc_fail(w.err);
    return wapc_respond(w.buf, w.len);
}

WAPC_EXPORT("wapc_init") void wapc_init(void) {
    wapc_register("HandleRequest", handle_request);
    wapc_register("HealthRequest", health);
}

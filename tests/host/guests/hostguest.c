/*
 * hostguest.c - the test actor of tests/host: built twice (GUEST_VERSION 1
 * and 2) so a live update has something visibly different to swap in.
 * Operations:
 *   echo           answers its payload
 *   version        answers "v<GUEST_VERSION>"
 *   kv_add         payload = key; wasmcloud:keyvalue Add {key, value: 1};
 *                  answers the new total in decimal, or fails with the host error
 *   hostcall       payload = binding \0 namespace \0 operation \0 body; makes that
 *                  host call and answers its response, or fails with the host error
 *   trap           executes `unreachable`
 *   spin           loops for ever (for deadlines)
 *   HealthRequest  answers {healthy: true, message: "ok v<GUEST_VERSION>"}
 */
#include "wapc_contracts.h"
#include "wapc_guest.h"

#ifndef GUEST_VERSION
#define GUEST_VERSION 1
#endif
#define STR2(x) #x
#define STR(x) STR2(x)

static int echo(const uint8_t *p, uint32_t n) {
    return wapc_respond(p, n);
}

static int version(const uint8_t *p, uint32_t n) {
    static const char v[] = "v" STR(GUEST_VERSION);
    return wapc_respond(v, sizeof v - 1);
}

static char *cstr(const uint8_t *p, uint32_t n) {
    char *s = wapc_alloc(n + 1);
    if (!s) return 0;
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static int kv_add(const uint8_t *p, uint32_t n) {
    char *key = cstr(p, n);
    if (!key) return wapc_fail("out of memory");
    mp_writer_t w;
    mp_writer_init(&w, wapc_alloc);
    wapc_kv_add_encode(&w, key, 1);
    if (w.err) return wapc_fail(w.err);
    const uint8_t *out;
    uint32_t olen;
    if (!wapc_host_call("", "wasmcloud:keyvalue", "Add", w.buf, w.len, &out, &olen))
        return wapc_fail_n(out, olen);
    mp_reader_t r;
    mp_reader_init(&r, out, olen);
    int32_t v;
    if (!wapc_kv_add_decode(&r, &v)) return wapc_fail("Add: bad response");
    char buf[16];
    int i = 15, neg = v < 0;
    uint32_t u = neg ? (uint32_t)(-(int64_t)v) : (uint32_t)v;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (neg) buf[--i] = '-';
    return wapc_respond(buf + i, (uint32_t)(15 - i));
}

static int hostcall(const uint8_t *p, uint32_t n) {
    const char *part[3];
    uint32_t at = 0;
    for (int k = 0; k < 3; k++) {
        uint32_t s = at;
        while (at < n && p[at]) at++;
        if (at >= n) return wapc_fail("hostcall: payload needs binding, namespace, operation");
        part[k] = cstr(p + s, at - s);
        if (!part[k]) return wapc_fail("out of memory");
        at++;
    }
    const uint8_t *out;
    uint32_t olen;
    if (!wapc_host_call(part[0], part[1], part[2], p + at, n - at, &out, &olen))
        return wapc_fail_n(out, olen);
    return wapc_respond(out, olen);
}

static int trap(const uint8_t *p, uint32_t n) {
    __builtin_trap();
}

static int spin(const uint8_t *p, uint32_t n) {
    volatile uint32_t x = 0;
    for (;;) x++;
    return 0;
}

static int health(const uint8_t *p, uint32_t n) {
    mp_writer_t w;
    mp_writer_init(&w, wapc_alloc);
    wapc_health_response_encode(&w, 1, "ok v" STR(GUEST_VERSION));
    if (w.err) return wapc_fail(w.err);
    return wapc_respond(w.buf, w.len);
}

WAPC_EXPORT("wapc_init") void wapc_init(void) {
    wapc_register("echo", echo);
    wapc_register("version", version);
    wapc_register("kv_add", kv_add);
    wapc_register("hostcall", hostcall);
    wapc_register("trap", trap);
    wapc_register("spin", spin);
    wapc_register("HealthRequest", health);
}

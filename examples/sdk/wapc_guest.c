/*
 * wapc_guest.c - the guest half of waPC for C actors (see wapc_guest.h):
 * the `__guest_call` export, handler dispatch, host calls, logging and the
 * per-call bump allocator. Built only for wasm32.
 */
#include "wapc_guest.h"

WAPC_IMPORT("wapc", "__guest_request") void __guest_request(uint8_t *op, uint8_t *payload);
WAPC_IMPORT("wapc", "__guest_response") void __guest_response(const void *p, uint32_t len);
WAPC_IMPORT("wapc", "__guest_error") void __guest_error(const void *p, uint32_t len);
WAPC_IMPORT("wapc", "__host_call")
int __host_call(const void *bd, uint32_t bd_len, const void *ns, uint32_t ns_len, const void *op,
                uint32_t op_len, const void *p, uint32_t len);
WAPC_IMPORT("wapc", "__host_response_len") uint32_t __host_response_len(void);
WAPC_IMPORT("wapc", "__host_response") void __host_response(uint8_t *p);
WAPC_IMPORT("wapc", "__host_error_len") uint32_t __host_error_len(void);
WAPC_IMPORT("wapc", "__host_error") void __host_error(uint8_t *p);
WAPC_IMPORT("wapc", "__console_log") void __console_log(const void *p, uint32_t len);

/* ---- libc bits --------------------------------------------------------------- */

void *memcpy(void *d, const void *s, size_t n) {
    __builtin_memcpy(d, s, n); /* memory.copy with -mbulk-memory */
    return d;
}
void *memmove(void *d, const void *s, size_t n) {
    __builtin_memmove(d, s, n);
    return d;
}
void *memset(void *d, int c, size_t n) {
    __builtin_memset(d, c, n);
    return d;
}
int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}
uint32_t wapc_strlen(const char *s) {
    uint32_t n = 0;
    while (s[n]) n++;
    return n;
}
int wapc_memeq(const void *a, const void *b, uint32_t n) {
    return memcmp(a, b, n) == 0;
}

/* ---- allocator ------------------------------------------------------------------- */

extern uint8_t __heap_base;
static uintptr_t heap_top;   /* next free byte */
static uintptr_t heap_mark;  /* reset point after each call (end of init data) */
static int in_call;

void *wapc_alloc(uint32_t n) {
    if (!heap_top) heap_top = heap_mark = ((uintptr_t)&__heap_base + 15) & ~(uintptr_t)15;
    if (n > 0x7ffffff0u) return 0; /* more than wasm32 memory could ever hold */
    uintptr_t p = heap_top, end = p + (((uintptr_t)n + 15) & ~(uintptr_t)15);
    if (end < p) return 0;
    uintptr_t have = __builtin_wasm_memory_size(0) * 65536u;
    if (end > have) {
        uintptr_t pages = (end - have + 65535) / 65536;
        if (__builtin_wasm_memory_grow(0, pages) == (uintptr_t)-1) return 0;
    }
    heap_top = end;
    if (!in_call) heap_mark = heap_top;
    return (void *)p;
}

/* ---- dispatch --------------------------------------------------------------------- */

static struct {
    const char *op;
    uint32_t len;
    wapc_handler_t fn;
} handlers[WAPC_MAX_HANDLERS];
static uint32_t nhandlers;

int wapc_register(const char *op, wapc_handler_t fn) {
    if (nhandlers == WAPC_MAX_HANDLERS) return 0;
    handlers[nhandlers].op = op;
    handlers[nhandlers].len = wapc_strlen(op);
    handlers[nhandlers].fn = fn;
    nhandlers++;
    return 1;
}

int wapc_respond(const void *p, uint32_t len) {
    __guest_response(p, len);
    return 1;
}

int wapc_fail_n(const void *msg, uint32_t len) {
    __guest_error(msg, len);
    return 0;
}

int wapc_fail(const char *msg) {
    return wapc_fail_n(msg, wapc_strlen(msg));
}

void wapc_log(const char *msg) {
    __console_log(msg, wapc_strlen(msg));
}

int wapc_host_call(const char *binding, const char *ns, const char *op, const void *payload,
                   uint32_t len, const uint8_t **out, uint32_t *out_len) {
    int ok = __host_call(binding, wapc_strlen(binding), ns, wapc_strlen(ns), op, wapc_strlen(op),
                         payload, len);
    uint32_t n = ok ? __host_response_len() : __host_error_len();
    uint8_t *buf = wapc_alloc(n ? n : 1);
    if (!buf) {
        *out = (const uint8_t *)"out of memory";
        *out_len = 13;
        return 0;
    }
    if (ok) __host_response(buf);
    else __host_error(buf);
    *out = buf;
    *out_len = n;
    return ok;
}

WAPC_EXPORT("__guest_call") int __guest_call(uint32_t op_len, uint32_t payload_len) {
    static const char unknown[] = "unknown operation: ";
    in_call = 1;
    if (!heap_top) wapc_alloc(0);
    heap_top = heap_mark;
    int rc = 0;
    uint8_t *op = op_len < 0x7ffffff0u ? wapc_alloc(op_len + 1) : 0;
    uint8_t *payload = payload_len < 0x7ffffff0u ? wapc_alloc(payload_len + 1) : 0;
    if (!op || !payload) {
        rc = wapc_fail("out of memory for the request");
        goto out;
    }
    __guest_request(op, payload);
    for (uint32_t i = 0; i < nhandlers; i++) {
        if (handlers[i].len == op_len && wapc_memeq(handlers[i].op, op, op_len)) {
            rc = handlers[i].fn(payload, payload_len);
            goto out;
        }
    }
    if (op_len == 13 && wapc_memeq(op, "HealthRequest", 13)) {
        /* No handler of its own: the actor is alive, so it is healthy. */
        static const uint8_t healthy[] = "\x82\xa7healthy\xc3\xa7message\xa0";
        rc = wapc_respond(healthy, sizeof healthy - 1);
        goto out;
    }
    uint8_t *msg = wapc_alloc(sizeof unknown - 1 + op_len);
    if (!msg) {
        rc = wapc_fail("unknown operation");
        goto out;
    }
    memcpy(msg, unknown, sizeof unknown - 1);
    memcpy(msg + sizeof unknown - 1, op, op_len);
    rc = wapc_fail_n(msg, sizeof unknown - 1 + op_len);
out:
    heap_top = heap_mark;
    in_call = 0;
    return rc;
}

/*
 * kitchen.c - the C test guest of tests/wapc: one operation per behaviour the
 * waPC layer must handle (outcomes, traps, limits, host calls, logging,
 * WASI). Built twice: WHOAMI names the build ("v1", "v2") so hot-replace
 * tests can tell which module answered.
 */
#include "wapc_guest.h"

#ifndef WHOAMI
#define WHOAMI "v1"
#endif

#define WASI(name) WAPC_IMPORT("wasi_snapshot_preview1", name)
WASI("fd_write") int wasi_fd_write(int fd, const void *iovs, int n, uint32_t *written);
WASI("fd_close") int wasi_fd_close(int fd);
WASI("fd_seek") int wasi_fd_seek(int fd, int64_t off, int whence, uint64_t *pos);
WASI("fd_fdstat_get") int wasi_fd_fdstat_get(int fd, void *buf);
WASI("proc_exit") void wasi_proc_exit(int code);
WASI("random_get") int wasi_random_get(void *buf, uint32_t len);
WASI("clock_time_get") int wasi_clock_time_get(int id, uint64_t precision, uint64_t *out);
WASI("args_sizes_get") int wasi_args_sizes_get(uint32_t *argc, uint32_t *size);
WASI("environ_sizes_get") int wasi_environ_sizes_get(uint32_t *n, uint32_t *size);
WASI("args_get") int wasi_args_get(void *argv, void *buf);
WASI("poll_oneoff") int wasi_poll_oneoff(const void *in, void *out, uint32_t n, uint32_t *nev);
/* Not implemented by the host: must link and return ENOSYS. */
WASI("sched_yield") int wasi_sched_yield(void);

static volatile uint32_t sink;
static uint32_t counter, inits;

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static int respond_u32(uint32_t v) {
    uint8_t b[4];
    put_u32(b, v);
    return wapc_respond(b, 4);
}

static int echo(const uint8_t *p, uint32_t n) { return wapc_respond(p, n); }
static int whoami(const uint8_t *p, uint32_t n) { return wapc_respond(WHOAMI, sizeof WHOAMI - 1); }
static int fail(const uint8_t *p, uint32_t n) { return wapc_fail_n(p, n); }
static int fail_silent(const uint8_t *p, uint32_t n) { return 0; }
static int no_response(const uint8_t *p, uint32_t n) { return 1; }
static int empty(const uint8_t *p, uint32_t n) { return wapc_respond(p, 0); }
static int twice(const uint8_t *p, uint32_t n) {
    wapc_respond("first", 5);
    return wapc_respond(p, n);
}
static int unreachable(const uint8_t *p, uint32_t n) { __builtin_trap(); }
static int oob_store(const uint8_t *p, uint32_t n) {
    *(volatile uint32_t *)(uintptr_t)0xfffffff0u = 1;
    return 1;
}
static int loop(const uint8_t *p, uint32_t n) {
    for (;;) sink++;
}
__attribute__((noinline)) static uint32_t rec(uint32_t d) {
    sink = d;
    if (sink == 0xffffffffu) return 0;
    return rec(d + 1) + sink;
}
static int recurse(const uint8_t *p, uint32_t n) { return respond_u32(rec(0)); }

/* memory.grow one page at a time until refused; answers the final size. */
static int grow(const uint8_t *p, uint32_t n) {
    while (__builtin_wasm_memory_grow(0, 1) != (uintptr_t)-1) {
    }
    return respond_u32((uint32_t)__builtin_wasm_memory_size(0));
}

/* Answers get_u32(payload) bytes of 'x'. */
static int big(const uint8_t *p, uint32_t n) {
    if (n < 4) return wapc_fail("big: need a 4-byte size");
    uint32_t size = get_u32(p);
    uint8_t *out = wapc_alloc(size);
    if (!out) return wapc_fail("big: out of memory");
    memset(out, 'x', size);
    return wapc_respond(out, size);
}

/* Payload "binding\0namespace\0operation\0body": forwards it to the host and
 * answers the host response, or fails with the host error. */
static int host(const uint8_t *p, uint32_t n) {
    const char *part[3];
    uint32_t at = 0;
    for (int i = 0; i < 3; i++) {
        part[i] = (const char *)p + at;
        while (at < n && p[at]) at++;
        if (at == n) return wapc_fail("host: need binding\\0namespace\\0operation\\0body");
        at++;
    }
    const uint8_t *out;
    uint32_t len;
    int ok = wapc_host_call(part[0], part[1], part[2], p + at, n - at, &out, &len);
    return ok ? wapc_respond(out, len) : wapc_fail_n(out, len);
}

WAPC_IMPORT("wapc", "__host_call")
int hc(const void *, uint32_t, const void *, uint32_t, const void *, uint32_t, const void *,
       uint32_t);
WAPC_IMPORT("wapc", "__host_response_len") uint32_t hc_resp_len(void);
WAPC_IMPORT("wapc", "__host_error_len") uint32_t hc_err_len(void);

/* Shows that each host call clears the previous response and error:
 * answers 6 u32: (rc, resp_len, err_len) after an ok call then a failing one. */
static int host_clear(const uint8_t *p, uint32_t n) {
    uint8_t out[24];
    int rc = hc("", 0, "test", 4, "echo", 4, "abc", 3);
    put_u32(out, (uint32_t)rc);
    put_u32(out + 4, hc_resp_len());
    put_u32(out + 8, hc_err_len());
    rc = hc("", 0, "test", 4, "fail", 4, "", 0);
    put_u32(out + 12, (uint32_t)rc);
    put_u32(out + 16, hc_resp_len());
    put_u32(out + 20, hc_err_len());
    return wapc_respond(out, 24);
}

static int log_(const uint8_t *p, uint32_t n) {
    WAPC_IMPORT("wapc", "__console_log") void console(const void *, uint32_t);
    console(p, n);
    return wapc_respond("", 0);
}

/* Two fd_write calls to stdout: "hello " + "world\npart" then "ial\n", and
 * one to stderr without a newline (flushed at the end of the call). */
static int stdout_(const uint8_t *p, uint32_t n) {
    uint32_t iov[4] = {(uint32_t)(uintptr_t) "hello ", 6, (uint32_t)(uintptr_t) "world\npart", 10};
    uint32_t w1 = 0, w2 = 0, w3 = 0;
    wasi_fd_write(1, iov, 2, &w1);
    iov[0] = (uint32_t)(uintptr_t) "ial\n";
    iov[1] = 4;
    wasi_fd_write(1, iov, 1, &w2);
    iov[0] = (uint32_t)(uintptr_t) "err line";
    iov[1] = 8;
    wasi_fd_write(2, iov, 1, &w3);
    return respond_u32(w1 + w2 + w3);
}

/* Answers 13 u32 results of WASI calls (see test_wapc.c for the order). */
static int wasi(const uint8_t *p, uint32_t n) {
    uint32_t r[13];
    uint8_t rnd[32] = {0};
    uint64_t t0 = 0, t1 = 0;
    uint32_t a = 7, b = 7, c = 7, d = 7;
    uint8_t st[24];
    uint64_t pos;
    r[0] = (uint32_t)wasi_random_get(rnd, sizeof rnd);
    uint32_t nz = 0;
    for (int i = 0; i < 32; i++) nz += rnd[i] != 0;
    r[1] = nz;
    r[2] = (uint32_t)wasi_clock_time_get(0, 1, &t0);
    r[3] = (uint32_t)(t0 / 1000000000u); /* unix seconds (fits until 2106) */
    r[4] = (uint32_t)wasi_clock_time_get(1, 1, &t1);
    r[5] = (uint32_t)wasi_args_sizes_get(&a, &b) + a + b;
    r[6] = (uint32_t)wasi_environ_sizes_get(&c, &d) + c + d;
    r[7] = (uint32_t)wasi_fd_fdstat_get(1, st);
    r[8] = st[0];
    r[9] = (uint32_t)wasi_fd_write(5, st, 0, &a);
    r[10] = (uint32_t)wasi_fd_seek(1, 0, 0, &pos);
    r[11] = (uint32_t)wasi_fd_close(9);
    r[12] = (uint32_t)wasi_sched_yield();
    uint8_t out[52];
    for (int i = 0; i < 13; i++) put_u32(out + 4 * i, r[i]);
    return wapc_respond(out, sizeof out);
}

/* Sleeps get_u32(payload) ms with poll_oneoff; answers the ms slept. */
static int sleep_(const uint8_t *p, uint32_t n) {
    if (n < 4) return wapc_fail("sleep: need a 4-byte ms count");
    uint8_t sub[48] = {0}, ev[32];
    uint32_t nev = 0;
    uint64_t t0, t1, ns = (uint64_t)get_u32(p) * 1000000u;
    sub[0] = 42;                                /* userdata */
    sub[8] = 0;                                 /* clock */
    put_u32(sub + 16, 1);                       /* monotonic */
    put_u32(sub + 24, (uint32_t)ns);
    put_u32(sub + 28, (uint32_t)(ns >> 32));
    wasi_clock_time_get(1, 1, &t0);
    int rc = wasi_poll_oneoff(sub, ev, 1, &nev);
    wasi_clock_time_get(1, 1, &t1);
    if (rc != 0 || nev != 1 || ev[0] != 42) return wapc_fail("sleep: poll_oneoff failed");
    return respond_u32((uint32_t)((t1 - t0) / 1000000u));
}

static int exit_(const uint8_t *p, uint32_t n) {
    wasi_proc_exit(n ? p[0] : 0);
    return 1;
}

static int count(const uint8_t *p, uint32_t n) { return respond_u32(++counter); }
static int init_count(const uint8_t *p, uint32_t n) { return respond_u32(inits); }

WAPC_EXPORT("wapc_init") void wapc_init(void) {
    inits++;
    wapc_register("echo", echo);
    wapc_register("whoami", whoami);
    wapc_register("fail", fail);
    wapc_register("fail_silent", fail_silent);
    wapc_register("no_response", no_response);
    wapc_register("empty", empty);
    wapc_register("twice", twice);
    wapc_register("unreachable", unreachable);
    wapc_register("oob_store", oob_store);
    wapc_register("loop", loop);
    wapc_register("recurse", recurse);
    wapc_register("grow", grow);
    wapc_register("big", big);
    wapc_register("host", host);
    wapc_register("host_clear", host_clear);
    wapc_register("log", log_);
    wapc_register("stdout", stdout_);
    wapc_register("wasi", wasi);
    wapc_register("sleep", sleep_);
    wapc_register("exit", exit_);
    wapc_register("count", count);
    wapc_register("init_count", init_count);
}

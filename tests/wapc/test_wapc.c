/*
 * test_wapc.c - tests of the waPC layer (wapc/corral_wapc.h) against real
 * guests: the C test guest kitchen.c (built twice, "v1" and "v2"), the
 * examples echo and hello, and hand-written WAT modules for edge cases.
 * Covers every row of the outcome table in docs/wapc.md, every trap, every
 * limit, init order, the wasmbus alias, WASI, pools under concurrent calls
 * and hot replacement under load.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "corral_wapc.h"
#include "test.h"

#ifndef CORRAL_GUEST_DIR
#error "CORRAL_GUEST_DIR must name the directory of the built guests"
#endif

/* ---- helpers ------------------------------------------------------------------------ */

static corral_status_t load(const char *name, corral_wapc_module_t **out, corral_err_t *err) {
    char path[512];
    corral_buf_t b = CORRAL_BUF_INIT;
    snprintf(path, sizeof path, "%s/%s.wasm", CORRAL_GUEST_DIR, name);
    corral_status_t st = corral_file_read(path, 0, &b, err);
    if (st == CORRAL_OK) st = corral_wapc_module_new(b.data, b.len, out, err);
    corral_buf_free(&b);
    return st;
}

typedef struct host_rec {
    pthread_mutex_t mu;
    int calls;
    char binding[64], ns[64], op[64];
    corral_buf_t log; /* "c:line|o:line|e:line|" */
} host_rec_t;

static corral_status_t test_host(void *user, const corral_wapc_host_call_t *c, corral_buf_t *out,
                                 corral_err_t *err) {
    host_rec_t *h = user;
    pthread_mutex_lock(&h->mu);
    h->calls++;
    snprintf(h->binding, sizeof h->binding, "%s", c->binding);
    snprintf(h->ns, sizeof h->ns, "%s", c->ns);
    snprintf(h->op, sizeof h->op, "%s", c->op);
    pthread_mutex_unlock(&h->mu);
    if (strcmp(c->ns, "example:greeter") == 0) {
        if (c->payload_len == 4 && memcmp(c->payload, "fail", 4) == 0)
            return corral_err_set(err, CORRAL_ERR_NO_LINK, "no name today");
        return corral_buf_append(out, "world", 5);
    }
    if (strcmp(c->ns, "test") == 0 && strcmp(c->op, "echo") == 0)
        return corral_buf_append(out, c->payload, c->payload_len);
    if (strcmp(c->ns, "test") == 0 && strcmp(c->op, "fail") == 0)
        return corral_err_set(err, CORRAL_ERR_HOST_CALL, "boom");
    if (strcmp(c->ns, "test") == 0 && strcmp(c->op, "huge") == 0) {
        corral_status_t st = corral_buf_reserve(out, 2048);
        if (st != CORRAL_OK) return st;
        memset(out->data, 'h', 2048);
        out->len = 2048;
        return CORRAL_OK;
    }
    if (strcmp(c->ns, "test") == 0 && strcmp(c->op, "silent") == 0)
        return CORRAL_ERR_NO_LINK; /* error without a message: the status text */
    return corral_err_set(err, CORRAL_ERR_NO_LINK, "no provider linked for %s", c->ns);
}

static void test_log(void *user, corral_wapc_log_source_t src, const char *line, size_t len) {
    host_rec_t *h = user;
    CHECK_EQ_INT(strlen(line), len);
    pthread_mutex_lock(&h->mu);
    corral_buf_printf(&h->log, "%c:%s|", "coe"[src], line);
    pthread_mutex_unlock(&h->mu);
}

static void rec_init(host_rec_t *h) {
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
}

static void rec_free(host_rec_t *h) {
    corral_buf_free(&h->log);
    pthread_mutex_destroy(&h->mu);
}

static corral_wapc_config_t config(host_rec_t *h) {
    corral_wapc_config_t c;
    memset(&c, 0, sizeof c);
    c.host_call = test_host;
    c.log = test_log;
    c.user = h;
    return c;
}

/* One call on a fresh instance of `guest`; response in *resp (NUL-terminated). */
static corral_status_t call1(const char *guest, const corral_wapc_config_t *cfg, const char *op,
                             const void *payload, size_t len, corral_buf_t *resp,
                             corral_err_t *err) {
    corral_wapc_module_t *m = NULL;
    corral_wapc_instance_t *inst = NULL;
    corral_status_t st = load(guest, &m, err);
    if (st != CORRAL_OK) return st;
    st = corral_wapc_instance_new(m, cfg, &inst, err);
    corral_wapc_module_free(m);
    if (st != CORRAL_OK) return st;
    st = corral_wapc_instance_call(inst, op, strlen(op), payload, len, resp, err);
    corral_buf_terminate(resp);
    corral_wapc_instance_free(inst);
    return st;
}

static uint32_t u32_at(const corral_buf_t *b, size_t i) {
    const uint8_t *p = b->data + 4 * i;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- module checks ------------------------------------------------------------------ */

TEST(module_checks) {
    corral_wapc_module_t *m = NULL;
    corral_err_t err;
    CHECK_EQ_INT(load("no_guest_call", &m, &err), CORRAL_ERR_INVALID_ARG);
    CHECK_CONTAINS(err.msg, "__guest_call");
    CHECK(m == NULL);
    CHECK_EQ_INT(load("no_memory", &m, &err), CORRAL_ERR_INVALID_ARG);
    CHECK_CONTAINS(err.msg, "memory");
    CHECK_EQ_INT(load("unknown_import", &m, &err), CORRAL_ERR_UNLINKABLE);
    CHECK_CONTAINS(err.msg, "env.foo");
    CHECK_EQ_INT(load("unknown_wapc_import", &m, &err), CORRAL_ERR_UNLINKABLE);
    CHECK_CONTAINS(err.msg, "wapc.__guest_frobnicate");
    CHECK_EQ_INT(load("wrong_import_type", &m, &err), CORRAL_ERR_UNLINKABLE);
    CHECK_CONTAINS(err.msg, "wapc.__guest_response");
    CHECK_EQ_INT(load("bad_guest_call_type", &m, &err), CORRAL_ERR_INVALID_ARG);
    CHECK_CONTAINS(err.msg, "(i32, i32) -> i32");
    REQUIRE(load("bad_init_type", &m, &err) == CORRAL_OK);
    corral_wapc_instance_t *inst = NULL;
    CHECK_EQ_INT(corral_wapc_instance_new(m, NULL, &inst, &err), CORRAL_ERR_UNLINKABLE);
    CHECK_CONTAINS(err.msg, "wapc_init must take and return nothing");
    CHECK(inst == NULL);
    corral_wapc_module_free(m);
    m = NULL;
    static const uint8_t junk[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 0xff};
    CHECK(corral_wapc_module_new(junk, sizeof junk, &m, &err) != CORRAL_OK);
    CHECK(m == NULL);
    REQUIRE(load("echo", &m, &err) == CORRAL_OK);
    CHECK(corral_wapc_module_vm(m) != NULL);
    corral_wapc_module_free(m);
}

/* ---- the outcome table ---------------------------------------------------------------- */

TEST(echo_round_trip) {
    host_rec_t h;
    rec_init(&h);
    corral_wapc_config_t cfg = config(&h);
    corral_wapc_module_t *m = NULL;
    corral_wapc_instance_t *inst = NULL;
    corral_err_t err;
    REQUIRE(load("echo", &m, &err) == CORRAL_OK);
    REQUIRE(corral_wapc_instance_new(m, &cfg, &inst, &err) == CORRAL_OK);
    corral_wapc_module_free(m); /* the instance keeps its own reference */
    corral_buf_t resp = CORRAL_BUF_INIT;
    uint8_t payload[300];
    for (size_t i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i * 7);
    for (size_t n = 0; n <= sizeof payload; n += 50) {
        resp.len = 0;
        CHECK_EQ_INT(corral_wapc_instance_call(inst, "echo", 4, payload, n, &resp, &err), CORRAL_OK);
        CHECK_EQ_INT(resp.len, n);
        CHECK(n == 0 || memcmp(resp.data, payload, n) == 0);
    }
    /* The response is appended after what the caller's buffer held. */
    resp.len = 0;
    corral_buf_append(&resp, "pre", 3);
    CHECK_EQ_INT(corral_wapc_instance_call(inst, "echo", 4, (const uint8_t *)"abc", 3, &resp, &err),
                 CORRAL_OK);
    CHECK_EQ_INT(resp.len, 6);
    CHECK(memcmp(resp.data, "preabc", 6) == 0);
    /* Unknown operation: the SDK's guest error, buffer left as it was. */
    CHECK_EQ_INT(corral_wapc_instance_call(inst, "nope", 4, NULL, 0, &resp, &err), CORRAL_ERR_GUEST);
    CHECK_EQ_STR(err.msg, "unknown operation: nope");
    CHECK_EQ_INT(resp.len, 6);
    CHECK(!corral_wapc_instance_poisoned(inst));
    /* The SDK answers health checks for actors that do not. */
    static const char placeholder[] = "\x81\xabplaceholder\xc3";
    resp.len = 0;
    CHECK_EQ_INT(corral_wapc_instance_call(inst, "HealthRequest", 13, (const uint8_t *)placeholder,
                                           sizeof placeholder - 1, &resp, &err),
                 CORRAL_OK);
    static const char healthy[] = "\x82\xa7healthy\xc3\xa7message\xa0";
    CHECK(resp.len == sizeof healthy - 1 && memcmp(resp.data, healthy, resp.len) == 0);
    corral_buf_free(&resp);
    corral_wapc_instance_free(inst);
    rec_free(&h);
}

TEST(outcomes) {
    host_rec_t h;
    rec_init(&h);
    corral_wapc_config_t cfg = config(&h);
    corral_buf_t r = CORRAL_BUF_INIT;
    corral_err_t err;
    /* returned 0 with an error text */
    CHECK_EQ_INT(call1("kitchen", &cfg, "fail", "it broke", 8, &r, &err), CORRAL_ERR_GUEST);
    CHECK_EQ_STR(err.msg, "it broke");
    CHECK_EQ_INT(r.len, 0);
    /* returned 0 without one */
    CHECK_EQ_INT(call1("kitchen", &cfg, "fail_silent", NULL, 0, &r, &err), CORRAL_ERR_GUEST);
    CHECK_EQ_STR(err.msg, "guest call failed without an error message");
    /* returned 1 without a response (C guest and WAT guest) */
    CHECK_EQ_INT(call1("kitchen", &cfg, "no_response", NULL, 0, &r, &err), CORRAL_ERR_NO_RESPONSE);
    CHECK_EQ_STR(err.msg, "guest returned success without a response");
    CHECK_EQ_INT(call1("no_response", &cfg, "x", NULL, 0, &r, &err), CORRAL_ERR_NO_RESPONSE);
    CHECK_EQ_STR(err.msg, "guest returned success without a response");
    /* returned 1 after __guest_response(ptr, 0): a valid empty response */
    r.len = 0;
    CHECK_EQ_INT(call1("kitchen", &cfg, "empty", "abc", 3, &r, &err), CORRAL_OK);
    CHECK_EQ_INT(r.len, 0);
    /* the last __guest_response wins */
    r.len = 0;
    CHECK_EQ_INT(call1("kitchen", &cfg, "twice", "second", 6, &r, &err), CORRAL_OK);
    CHECK_EQ_STR((const char *)r.data, "second");
    /* guest error text with bad UTF-8: replaced, never passed on */
    CHECK_EQ_INT(call1("bad_utf8_error", &cfg, "x", NULL, 0, &r, &err), CORRAL_ERR_GUEST);
    CHECK_EQ_STR(err.msg, "\xef\xbf\xbd\xef\xbf\xbdhello\xef\xbf\xbd");
    CHECK(corral_utf8_valid((const uint8_t *)err.msg, strlen(err.msg)));
    /* an over-long guest error is cut to fit, on a character boundary */
    char longmsg[2000];
    for (size_t i = 0; i < sizeof longmsg; i += 2) memcpy(longmsg + i, "\xc3\xa9", 2);
    CHECK_EQ_INT(call1("kitchen", &cfg, "fail", longmsg, sizeof longmsg, &r, &err), CORRAL_ERR_GUEST);
    CHECK(strlen(err.msg) >= CORRAL_ERR_MSG_MAX - 3);
    CHECK(corral_utf8_valid((const uint8_t *)err.msg, strlen(err.msg)));
    corral_buf_free(&r);
    rec_free(&h);
}

/* ---- traps ---------------------------------------------------------------------------- */

static void expect_trap(const char *op, const corral_wapc_config_t *cfg, corral_status_t want,
                        const char *text) {
    corral_wapc_module_t *m = NULL;
    corral_wapc_instance_t *inst = NULL;
    corral_err_t err;
    corral_buf_t r = CORRAL_BUF_INIT;
    REQUIRE(load("kitchen", &m, &err) == CORRAL_OK);
    REQUIRE(corral_wapc_instance_new(m, cfg, &inst, &err) == CORRAL_OK);
    corral_wapc_module_free(m);
    uint64_t t0 = corral_now_ns();
    corral_status_t st = corral_wapc_instance_call(inst, op, strlen(op), NULL, 0, &r, &err);
    uint64_t ms = (corral_now_ns() - t0) / 1000000u;
    if (st != want) fprintf(stderr, "  op %s: got %s: %s\n", op, corral_status_name(st), err.msg);
    CHECK_EQ_INT(st, want);
    CHECK_CONTAINS(err.msg, text);
    CHECK_EQ_INT(r.len, 0);
    CHECK(corral_wapc_instance_poisoned(inst));
    CHECK(ms < 5000);
    CHECK_EQ_INT(corral_wapc_instance_call(inst, "echo", 4, NULL, 0, &r, &err), CORRAL_ERR_STATE);
    corral_buf_free(&r);
    corral_wapc_instance_free(inst);
}

TEST(traps) {
    corral_wapc_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    expect_trap("unreachable", &cfg, CORRAL_ERR_TRAP_UNREACHABLE, "unreachable");
    expect_trap("oob_store", &cfg, CORRAL_ERR_TRAP_MEMORY_OOB, "out of bounds memory access");
    expect_trap("recurse", &cfg, CORRAL_ERR_TRAP_STACK_EXHAUSTED, "call stack exhausted");
    cfg.limits.max_call_depth = 100;
    expect_trap("recurse", &cfg, CORRAL_ERR_TRAP_STACK_EXHAUSTED, "call stack exhausted");
    memset(&cfg, 0, sizeof cfg);
    cfg.limits.deadline_ns = 100 * 1000000ull;
    expect_trap("loop", &cfg, CORRAL_ERR_TRAP_DEADLINE, "deadline exceeded after 100 ms");
    memset(&cfg, 0, sizeof cfg);
    cfg.limits.fuel = 1000000;
    expect_trap("loop", &cfg, CORRAL_ERR_TRAP_FUEL_EXHAUSTED, "fuel exhausted");
    memset(&cfg, 0, sizeof cfg);
    expect_trap("exit", &cfg, CORRAL_ERR_TRAP_EXIT, "proc_exit(0)");
}

typedef struct {
    corral_wapc_instance_t *inst;
    corral_status_t st;
} interrupt_arg_t;

static void *interrupt_call(void *p) {
    interrupt_arg_t *a = p;
    corral_buf_t r = CORRAL_BUF_INIT;
    corral_err_t err;
    a->st = corral_wapc_instance_call(a->inst, "loop", 4, NULL, 0, &r, &err);
    corral_buf_free(&r);
    return NULL;
}

TEST(interrupt) {
    corral_wapc_module_t *m = NULL;
    corral_err_t err;
    interrupt_arg_t a = {NULL, CORRAL_OK};
    REQUIRE(load("kitchen", &m, &err) == CORRAL_OK);
    REQUIRE(corral_wapc_instance_new(m, NULL, &a.inst, &err) == CORRAL_OK);
    corral_wapc_module_free(m);
    pthread_t t;
    pthread_create(&t, NULL, interrupt_call, &a);
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL);
    corral_wapc_instance_interrupt(a.inst);
    pthread_join(t, NULL);
    CHECK_EQ_INT(a.st, CORRAL_ERR_TRAP_INTERRUPTED);
    CHECK(corral_wapc_instance_poisoned(a.inst));
    corral_wapc_instance_free(a.inst);
}

/* ---- limits ------------------------------------------------------------------------------ */

TEST(limits) {
    host_rec_t h;
    rec_init(&h);
    corral_wapc_config_t cfg = config(&h);
    corral_buf_t r = CORRAL_BUF_INIT;
    corral_err_t err;
    /* memory.grow is refused at max_pages */
    cfg.limits.max_pages = 10;
    REQUIRE(call1("kitchen", &cfg, "grow", NULL, 0, &r, &err) == CORRAL_OK);
    CHECK_EQ_INT(r.len, 4);
    CHECK_EQ_INT(u32_at(&r, 0), 10);

    /* response size: at the limit is fine, one byte more is refused without
     * poisoning the instance */
    cfg.limits.max_pages = 0;
    cfg.max_response_bytes = 100000;
    corral_wapc_module_t *m = NULL;
    corral_wapc_instance_t *inst = NULL;
    REQUIRE(load("kitchen", &m, &err) == CORRAL_OK);
    REQUIRE(corral_wapc_instance_new(m, &cfg, &inst, &err) == CORRAL_OK);
    corral_wapc_module_free(m);
    uint8_t sz[4] = {0xa0, 0x86, 0x01, 0}; /* 100000 */
    r.len = 0;
    CHECK_EQ_INT(corral_wapc_instance_call(inst, "big", 3, sz, 4, &r, &err), CORRAL_OK);
    CHECK_EQ_INT(r.len, 100000);
    CHECK(r.data[0] == 'x' && r.data[99999] == 'x');
    sz[0]++;
    r.len = 0;
    CHECK_EQ_INT(corral_wapc_instance_call(inst, "big", 3, sz, 4, &r, &err), CORRAL_ERR_TOO_LARGE);
    CHECK_CONTAINS(err.msg, "100001 bytes exceeds the limit of 100000");
    CHECK_EQ_INT(r.len, 0);
    CHECK(!corral_wapc_instance_poisoned(inst));
    CHECK_EQ_INT(corral_wapc_instance_call(inst, "echo", 4, sz, 4, &r, &err), CORRAL_OK);
    /* a host response over the limit becomes a host error for the guest */
    cfg.max_response_bytes = 1000;
    corral_wapc_instance_free(inst);
    REQUIRE(load("kitchen", &m, &err) == CORRAL_OK);
    REQUIRE(corral_wapc_instance_new(m, &cfg, &inst, &err) == CORRAL_OK);
    corral_wapc_module_free(m);
    static const char huge[] = "\0test\0huge\0";
    CHECK_EQ_INT(corral_wapc_instance_call(inst, "host", 4, (const uint8_t *)huge, sizeof huge - 1,
                                           &r, &err),
                 CORRAL_ERR_GUEST);
    CHECK_CONTAINS(err.msg, "host response of 2048 bytes exceeds the limit of 1000 bytes");
    corral_wapc_instance_free(inst);
    corral_buf_free(&r);
    rec_free(&h);
}

/* ---- host calls ---------------------------------------------------------------------------- */

TEST(host_calls) {
    host_rec_t h;
    rec_init(&h);
    corral_wapc_config_t cfg = config(&h);
    corral_buf_t r = CORRAL_BUF_INIT;
    corral_err_t err;
    REQUIRE(call1("hello", &cfg, "hello", "x", 1, &r, &err) == CORRAL_OK);
    CHECK_EQ_STR((const char *)r.data, "Hello, world");
    CHECK_EQ_STR(h.binding, "default"); /* empty binding means "default" */
    CHECK_EQ_STR(h.ns, "example:greeter");
    CHECK_EQ_STR(h.op, "Name");
    r.len = 0;
    CHECK_EQ_INT(call1("hello", &cfg, "hello", "fail", 4, &r, &err), CORRAL_ERR_GUEST);
    CHECK_EQ_STR(err.msg, "host call failed: no name today");
    /* named binding, payload through, error without message -> status text */
    static const char fwd[] = "cache\0test\0echo\0payload!";
    r.len = 0;
    REQUIRE(call1("kitchen", &cfg, "host", fwd, sizeof fwd - 1, &r, &err) == CORRAL_OK);
    CHECK_EQ_STR((const char *)r.data, "payload!");
    CHECK_EQ_STR(h.binding, "cache");
    static const char silent[] = "\0test\0silent\0";
    CHECK_EQ_INT(call1("kitchen", &cfg, "host", silent, sizeof silent - 1, &r, &err),
                 CORRAL_ERR_GUEST);
    CHECK_EQ_STR(err.msg, corral_status_str(CORRAL_ERR_NO_LINK));
    /* each host call clears the previous response and error */
    r.len = 0;
    REQUIRE(call1("kitchen", &cfg, "host_clear", NULL, 0, &r, &err) == CORRAL_OK);
    CHECK_EQ_INT(u32_at(&r, 0), 1);
    CHECK_EQ_INT(u32_at(&r, 1), 3);
    CHECK_EQ_INT(u32_at(&r, 2), 0);
    CHECK_EQ_INT(u32_at(&r, 3), 0);
    CHECK_EQ_INT(u32_at(&r, 4), 0);
    CHECK_EQ_INT(u32_at(&r, 5), 4); /* "boom" */
    /* no handler configured */
    r.len = 0;
    CHECK_EQ_INT(call1("hello", NULL, "hello", "x", 1, &r, &err), CORRAL_ERR_GUEST);
    CHECK_EQ_STR(err.msg, "host call failed: no host call handler");
    corral_buf_free(&r);
    rec_free(&h);
}

TEST(wasmbus_alias) {
    host_rec_t h;
    rec_init(&h);
    corral_wapc_config_t cfg = config(&h);
    corral_buf_t r = CORRAL_BUF_INIT;
    corral_err_t err;
    REQUIRE(call1("wasmbus", &cfg, "op", "hi there", 8, &r, &err) == CORRAL_OK);
    CHECK_EQ_STR((const char *)r.data, "hi there");
    r.len = 0;
    REQUIRE(call1("wasmbus", &cfg, "op", NULL, 0, &r, &err) == CORRAL_OK);
    CHECK_EQ_STR((const char *)r.data, "abc");
    CHECK_EQ_INT(h.calls, 1);
    corral_buf_free(&r);
    rec_free(&h);
}

/* ---- out-of-range pointers into each import --------------------------------------------------- */

TEST(oob_pointers) {
    static const struct {
        const char *text;
    } cases[] = {
        {"__guest_request: operation buffer (ptr 0x10000, len 1)"},
        {"__guest_response: response (ptr 0xfffa, len 10)"},
        {"__guest_error: error text (ptr 0xffffffff, len 2)"},
        {"__host_call: binding (ptr 0x11170, len 1)"},
        {"__host_call: namespace (ptr 0xfffe, len 4)"},
        {"__host_call: operation (ptr 0xd2, len 4294967280)"},
        {"__host_call: payload (ptr 0xea60, len 6000)"},
        {"__host_response: buffer (ptr 0xfffe, len 4)"},
        {"__host_error: buffer (ptr 0xffff, len 4)"},
        {"__console_log: text (ptr 0xfde8, len 1000)"},
        {"__host_call: namespace is not valid UTF-8"},
        {NULL},
        {"__guest_response: response (ptr 0x10001, len 0)"},
    };
    host_rec_t h;
    rec_init(&h);
    corral_wapc_config_t cfg = config(&h);
    for (uint8_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        corral_buf_t r = CORRAL_BUF_INIT;
        corral_err_t err;
        corral_status_t st = call1("oob", &cfg, "x", &c, 1, &r, &err);
        if (!cases[c].text) {
            CHECK_EQ_INT(st, CORRAL_OK);
            CHECK_EQ_INT(r.len, 0);
        } else {
            if (st != CORRAL_ERR_TRAP_HOST) fprintf(stderr, "  case %u: %s\n", c, err.msg);
            CHECK_EQ_INT(st, CORRAL_ERR_TRAP_HOST);
            CHECK_CONTAINS(err.msg, cases[c].text);
            if (c != 10) CHECK_CONTAINS(err.msg, "outside guest memory of 65536 bytes");
        }
        corral_buf_free(&r);
    }
    rec_free(&h);
}

/* ---- init ------------------------------------------------------------------------------------ */

TEST(init) {
    corral_buf_t r = CORRAL_BUF_INIT;
    corral_err_t err;
    REQUIRE(call1("init_order", NULL, "x", NULL, 0, &r, &err) == CORRAL_OK);
    CHECK_EQ_STR((const char *)r.data, "0SIW");
    CHECK_EQ_INT(call1("init_trap", NULL, "x", NULL, 0, &r, &err), CORRAL_ERR_TRAP_UNREACHABLE);
    CHECK_CONTAINS(err.msg, "wapc_init");
    CHECK_CONTAINS(err.msg, "unreachable");
    CHECK_EQ_INT(call1("exit_nonzero", NULL, "x", NULL, 0, &r, &err), CORRAL_ERR_TRAP_EXIT);
    CHECK_CONTAINS(err.msg, "_start");
    CHECK_CONTAINS(err.msg, "proc_exit(3)");
    /* wapc_init runs once per instance */
    r.len = 0;
    REQUIRE(call1("kitchen", NULL, "init_count", NULL, 0, &r, &err) == CORRAL_OK);
    CHECK_EQ_INT(u32_at(&r, 0), 1);
    corral_buf_free(&r);
}

/* ---- logging and WASI --------------------------------------------------------------------------- */

TEST(logging) {
    host_rec_t h;
    rec_init(&h);
    corral_wapc_config_t cfg = config(&h);
    corral_buf_t r = CORRAL_BUF_INIT;
    corral_err_t err;
    REQUIRE(call1("kitchen", &cfg, "log", "hello \xff log\n", 12, &r, &err) == CORRAL_OK);
    r.len = 0;
    REQUIRE(call1("kitchen", &cfg, "stdout", NULL, 0, &r, &err) == CORRAL_OK);
    CHECK_EQ_INT(u32_at(&r, 0), 6 + 10 + 4 + 8);
    corral_buf_terminate(&h.log);
    CHECK_EQ_STR((const char *)h.log.data,
                 "c:hello \xef\xbf\xbd log|o:hello world|o:partial|e:err line|");
    corral_buf_free(&r);
    rec_free(&h);
}

TEST(wasi) {
    corral_buf_t r = CORRAL_BUF_INIT;
    corral_err_t err;
    REQUIRE(call1("kitchen", NULL, "wasi", NULL, 0, &r, &err) == CORRAL_OK);
    CHECK_EQ_INT(r.len, 52);
    if (r.len != 52) {
        corral_buf_free(&r);
        return;
    }
    CHECK_EQ_INT(u32_at(&r, 0), 0);     /* random_get ok */
    CHECK(u32_at(&r, 1) >= 20);         /* 32 random bytes are not mostly zero */
    CHECK_EQ_INT(u32_at(&r, 2), 0);     /* clock_time_get(realtime) ok */
    int64_t now = corral_unix_time();
    CHECK(u32_at(&r, 3) + 5 >= (uint64_t)now && u32_at(&r, 3) <= (uint64_t)now + 5);
    CHECK_EQ_INT(u32_at(&r, 4), 0);     /* monotonic ok */
    CHECK_EQ_INT(u32_at(&r, 5), 0);     /* args: ok, 0, 0 */
    CHECK_EQ_INT(u32_at(&r, 6), 0);     /* environ: ok, 0, 0 */
    CHECK_EQ_INT(u32_at(&r, 7), 0);     /* fdstat(1) ok */
    CHECK_EQ_INT(u32_at(&r, 8), 2);     /* character device */
    CHECK_EQ_INT(u32_at(&r, 9), 8);     /* fd_write(5): EBADF */
    CHECK_EQ_INT(u32_at(&r, 10), 70);   /* fd_seek(1): ESPIPE */
    CHECK_EQ_INT(u32_at(&r, 11), 8);    /* fd_close(9): EBADF */
    CHECK_EQ_INT(u32_at(&r, 12), 52);   /* sched_yield: ENOSYS */
    r.len = 0;
    REQUIRE(call1("unknown_wasi", NULL, "x", NULL, 0, &r, &err) == CORRAL_OK);
    CHECK_EQ_INT(u32_at(&r, 0), 52);
    CHECK_EQ_INT(u32_at(&r, 1), 52);
    corral_buf_free(&r);
}

TEST(wasi_sleep) {
    corral_wapc_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    corral_buf_t r = CORRAL_BUF_INIT;
    corral_err_t err;
    uint8_t ms[4] = {30, 0, 0, 0};
    REQUIRE(call1("kitchen", &cfg, "sleep", ms, 4, &r, &err) == CORRAL_OK);
    CHECK(u32_at(&r, 0) >= 30 && u32_at(&r, 0) < 2000);
    /* a sleep past the deadline ends at the deadline with its trap */
    cfg.limits.deadline_ns = 50 * 1000000ull;
    ms[0] = 0;
    ms[1] = 0x13; /* 4864 ms */
    uint64_t t0 = corral_now_ns();
    CHECK_EQ_INT(call1("kitchen", &cfg, "sleep", ms, 4, &r, &err), CORRAL_ERR_TRAP_DEADLINE);
    CHECK_CONTAINS(err.msg, "deadline exceeded after 50 ms");
    CHECK((corral_now_ns() - t0) / 1000000u < 1500);
    /* the wasi_unstable layout of a clock subscription */
    r.len = 0;
    t0 = corral_now_ns();
    REQUIRE(call1("wasi_unstable_poll", NULL, "x", NULL, 0, &r, &err) == CORRAL_OK);
    CHECK((corral_now_ns() - t0) >= 20 * 1000000ull);
    CHECK_EQ_INT(r.len, 16);
    CHECK_EQ_INT(u32_at(&r, 0), 0);
    CHECK_EQ_INT(u32_at(&r, 1), 1);
    CHECK_EQ_INT(u32_at(&r, 2), 77);
    CHECK_EQ_INT(u32_at(&r, 3), 0);
    corral_buf_free(&r);
}

/* ---- pools --------------------------------------------------------------------------------------- */

typedef struct {
    corral_wapc_pool_t *pool;
    int id, calls, trap_every; /* calls = 0: run until *stop */
    int failures;
    int v2_seen;
    atomic_int *stop;
    long done;
} worker_t;

static void *worker(void *p) {
    worker_t *w = p;
    corral_buf_t r = CORRAL_BUF_INIT;
    char msg[64];
    for (int i = 0; w->calls ? i < w->calls : !atomic_load(w->stop); i++) {
        corral_err_t err;
        w->done++;
        if (w->trap_every && i % w->trap_every == w->trap_every - 1) {
            if (corral_wapc_pool_call(w->pool, "unreachable", 11, NULL, 0, &r, &err) !=
                CORRAL_ERR_TRAP_UNREACHABLE)
                w->failures++;
            continue;
        }
        int n = snprintf(msg, sizeof msg, "worker %d call %d", w->id, i);
        r.len = 0;
        corral_status_t st = corral_wapc_pool_call(w->pool, "echo", 4, (const uint8_t *)msg,
                                                   (size_t)n, &r, &err);
        if (st != CORRAL_OK || r.len != (size_t)n || memcmp(r.data, msg, (size_t)n) != 0) {
            if (w->failures++ < 3)
                fprintf(stderr, "  worker %d call %d: %s\n", w->id, i, corral_err_msg(&err));
        }
        r.len = 0;
        if (i % 16 == 0 &&
            corral_wapc_pool_call(w->pool, "whoami", 6, NULL, 0, &r, &err) == CORRAL_OK &&
            r.len == 2 && memcmp(r.data, "v2", 2) == 0)
            w->v2_seen = 1;
    }
    corral_buf_free(&r);
    return NULL;
}

TEST(pool_concurrent) {
    corral_wapc_module_t *m = NULL;
    corral_wapc_pool_t *pool = NULL;
    corral_err_t err;
    corral_wapc_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_instances = 3;
    REQUIRE(load("kitchen", &m, &err) == CORRAL_OK);
    REQUIRE(corral_wapc_pool_new(m, &cfg, &pool, &err) == CORRAL_OK);
    corral_wapc_module_free(m);
    enum { N = 6 };
    worker_t w[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        w[i] = (worker_t){pool, i, 400, i == 0 ? 50 : 0, 0, 0, NULL, 0};
        pthread_create(&t[i], NULL, worker, &w[i]);
    }
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++) CHECK_EQ_INT(w[i].failures, 0);
    corral_wapc_pool_stats_t s;
    corral_wapc_pool_stats(pool, &s);
    CHECK(s.live <= 3);
    CHECK_EQ_INT(s.traps, 8);
    CHECK(s.instances_made >= 1 + 0 && s.instances_made <= 3 + 8);
    CHECK_EQ_INT(s.old_live, 0);
    corral_wapc_pool_free(pool);
}

typedef struct sleeper {
    corral_wapc_pool_t *pool;
    corral_status_t st;
} sleeper_t;

static void *pool_sleeper(void *p) {
    sleeper_t *s = p;
    corral_buf_t r = CORRAL_BUF_INIT;
    corral_err_t err;
    uint8_t ms[4] = {200, 0, 0, 0};
    s->st = corral_wapc_pool_call(s->pool, "sleep", 5, ms, 4, &r, &err);
    corral_buf_free(&r);
    return NULL;
}

TEST(pool_busy) {
    corral_wapc_module_t *m = NULL;
    corral_wapc_pool_t *pool = NULL;
    corral_err_t err;
    corral_wapc_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_instances = 1;
    cfg.acquire_timeout_ns = 50 * 1000000ull;
    REQUIRE(load("kitchen", &m, &err) == CORRAL_OK);
    REQUIRE(corral_wapc_pool_new(m, &cfg, &pool, &err) == CORRAL_OK);
    corral_wapc_module_free(m);
    /* one slow call (200 ms) holds the only instance */
    sleeper_t s = {pool, CORRAL_ERR_INTERNAL};
    pthread_t t;
    pthread_create(&t, NULL, pool_sleeper, &s);
    struct timespec ts = {0, 40 * 1000000};
    nanosleep(&ts, NULL);
    corral_buf_t r = CORRAL_BUF_INIT;
    uint64_t t0 = corral_now_ns();
    CHECK_EQ_INT(corral_wapc_pool_call(pool, "echo", 4, NULL, 0, &r, &err), CORRAL_ERR_BUSY);
    CHECK_CONTAINS(err.msg, "busy");
    CHECK((corral_now_ns() - t0) >= 45 * 1000000ull);
    pthread_join(t, NULL);
    CHECK_EQ_INT(s.st, CORRAL_OK);
    /* the same instance is reused: its counter goes on */
    r.len = 0;
    REQUIRE(corral_wapc_pool_call(pool, "count", 5, NULL, 0, &r, &err) == CORRAL_OK);
    CHECK_EQ_INT(u32_at(&r, 0), 1);
    r.len = 0;
    REQUIRE(corral_wapc_pool_call(pool, "count", 5, NULL, 0, &r, &err) == CORRAL_OK);
    CHECK_EQ_INT(u32_at(&r, 0), 2);
    /* after a trap the instance is replaced by a fresh one */
    CHECK_EQ_INT(corral_wapc_pool_call(pool, "unreachable", 11, NULL, 0, &r, &err),
                 CORRAL_ERR_TRAP_UNREACHABLE);
    r.len = 0;
    REQUIRE(corral_wapc_pool_call(pool, "count", 5, NULL, 0, &r, &err) == CORRAL_OK);
    CHECK_EQ_INT(u32_at(&r, 0), 1);
    corral_buf_free(&r);
    corral_wapc_pool_free(pool);
}

TEST(hot_replace) {
    corral_wapc_module_t *v1 = NULL, *v2 = NULL, *bad = NULL;
    corral_wapc_pool_t *pool = NULL;
    corral_err_t err;
    corral_wapc_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_instances = 4;
    REQUIRE(load("kitchen", &v1, &err) == CORRAL_OK);
    REQUIRE(load("kitchen_v2", &v2, &err) == CORRAL_OK);
    REQUIRE(load("init_trap", &bad, &err) == CORRAL_OK);
    REQUIRE(corral_wapc_pool_new(v1, &cfg, &pool, &err) == CORRAL_OK);
    enum { N = 4 };
    atomic_int stop = 0;
    worker_t w[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        w[i] = (worker_t){pool, i, 0, 0, 0, 0, &stop, 0};
        pthread_create(&t[i], NULL, worker, &w[i]);
    }
    struct timespec ts = {0, 5 * 1000000};
    for (int k = 0; k < 20; k++) {
        nanosleep(&ts, NULL);
        CHECK_EQ_INT(corral_wapc_pool_replace(pool, k % 2 ? v1 : v2, &err), CORRAL_OK);
    }
    /* a module that fails to initialise is refused; the pool keeps the old one */
    CHECK_EQ_INT(corral_wapc_pool_replace(pool, bad, &err), CORRAL_ERR_TRAP_UNREACHABLE);
    CHECK_CONTAINS(err.msg, "wapc_init");
    CHECK_EQ_INT(corral_wapc_pool_replace(pool, v2, &err), CORRAL_OK);
    nanosleep(&ts, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
    int v2_seen = 0;
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(w[i].failures, 0);
        v2_seen |= w[i].v2_seen;
    }
    CHECK(v2_seen);
    corral_buf_t r = CORRAL_BUF_INIT;
    REQUIRE(corral_wapc_pool_call(pool, "whoami", 6, NULL, 0, &r, &err) == CORRAL_OK);
    CHECK(r.len == 2 && memcmp(r.data, "v2", 2) == 0);
    corral_wapc_module_t *cur = corral_wapc_pool_module(pool);
    CHECK(cur == v2);
    corral_wapc_module_free(cur);
    corral_wapc_pool_stats_t s;
    corral_wapc_pool_stats(pool, &s);
    CHECK_EQ_INT(s.replaces, 21);
    CHECK_EQ_INT(s.old_live, 0);
    fprintf(stderr, "  hot replace: %llu calls, max swap pause %llu ns\n",
            (unsigned long long)s.calls, (unsigned long long)s.max_swap_pause_ns);
    corral_buf_free(&r);
    corral_wapc_pool_free(pool);
    corral_wapc_module_free(v1);
    corral_wapc_module_free(v2);
    corral_wapc_module_free(bad);
}

TEST_MAIN(TEST_ENTRY(module_checks), TEST_ENTRY(echo_round_trip), TEST_ENTRY(outcomes),
          TEST_ENTRY(traps), TEST_ENTRY(interrupt), TEST_ENTRY(limits), TEST_ENTRY(host_calls),
          TEST_ENTRY(wasmbus_alias), TEST_ENTRY(oob_pointers), TEST_ENTRY(init),
          TEST_ENTRY(logging), TEST_ENTRY(wasi), TEST_ENTRY(wasi_sleep),
          TEST_ENTRY(pool_concurrent), TEST_ENTRY(pool_busy), TEST_ENTRY(hot_replace))

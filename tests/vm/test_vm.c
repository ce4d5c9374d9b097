/*
 * test_vm.c - tests of the engine's public API (wapc/vm/corral_vm.h) as an
 * embedder uses it: host functions and their context, traps of every kind,
 * guest memory access, limits (fuel, deadline, interrupt, pages, call depth),
 * exports, externs shared between instances, concurrent instantiation,
 * rejected features and lazy memory. The spec test suite (tests/spec) covers
 * the instruction semantics; this file covers what the spec does not.
 *
 * Modules are .wat files beside this one, built with wat2wasm into
 * VM_TEST_DIR; small malformed ones are byte arrays here.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "corral_vm.h"
#include "test.h"

#ifndef VM_TEST_DIR
#error "VM_TEST_DIR must name the folder of the built test modules"
#endif

/* ---- helpers -------------------------------------------------------------------- */

/* Loads VM_TEST_DIR/<stem>.wasm; a failure counts as a test failure. */
static corral_vm_module_t *load_wat(const char *stem) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.wasm", VM_TEST_DIR, stem);
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_err_t err;
    corral_err_clear(&err);
    corral_vm_module_t *m = NULL;
    corral_status_t st = corral_file_read(path, 0, &b, &err);
    if (st == CORRAL_OK) st = corral_vm_module_new(b.data, b.len, &m, &err);
    corral_buf_free(&b);
    if (st != CORRAL_OK) {
        fprintf(stderr, "  loading %s: %s: %s\n", stem, corral_status_name(st),
                corral_err_msg(&err));
        test_failures_++;
        return NULL;
    }
    return m;
}

static corral_vm_instance_t *instantiate(corral_vm_module_t *m, const corral_vm_imports_t *imp,
                                         const corral_vm_limits_t *lim, void *user) {
    corral_err_t err;
    corral_err_clear(&err);
    corral_vm_instance_t *inst = NULL;
    corral_status_t st = corral_vm_instance_new(m, imp, lim, user, &inst, &err);
    if (st != CORRAL_OK) {
        fprintf(stderr, "  instantiate: %s: %s\n", corral_status_name(st), corral_err_msg(&err));
        test_failures_++;
        return NULL;
    }
    return inst;
}

/* Calls export `name`; results land in res. A missing export counts as a
 * test failure. */
static corral_status_t call(corral_vm_instance_t *inst, const char *name, const uint64_t *args,
                            uint32_t nargs, uint64_t *res, uint32_t nres, corral_err_t *err) {
    corral_vm_extern_t f;
    corral_err_clear(err);
    corral_status_t st = corral_vm_instance_export(inst, name, &f);
    if (st != CORRAL_OK) {
        fprintf(stderr, "  no export %s\n", name);
        test_failures_++;
        return st;
    }
    return corral_vm_call(inst, f, args, nargs, res, nres, err);
}

static corral_status_t call_i32(corral_vm_instance_t *inst, const char *name, int nargs,
                                uint32_t a0, uint32_t *out, corral_err_t *err) {
    uint64_t args[1] = {a0}, res[1] = {0};
    corral_status_t st = call(inst, name, args, (uint32_t)nargs, res, out ? 1 : 0, err);
    if (out) *out = (uint32_t)res[0];
    return st;
}

static double elapsed_ms(uint64_t t0) {
    return (double)(corral_now_ns() - t0) / 1e6;
}

/* ---- loading errors ------------------------------------------------------------------ */

TEST(malformed_bytes_report_offset) {
    static const uint8_t not_wasm[] = {0x00, 0x61, 0x73, 0x6e, 0x01, 0x00, 0x00, 0x00};
    static const uint8_t truncated[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00,
                                        0x00, 0x00, 0x01, 0x05, 0x01, 0x60}; /* type section cut */
    corral_vm_module_t *m = (corral_vm_module_t *)1;
    corral_err_t err;
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_vm_module_new(not_wasm, sizeof not_wasm, &m, &err), CORRAL_ERR_MALFORMED);
    CHECK(m == NULL);
    CHECK_CONTAINS(corral_err_msg(&err), "offset");
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_vm_module_new(truncated, sizeof truncated, &m, &err), CORRAL_ERR_MALFORMED);
    CHECK_CONTAINS(corral_err_msg(&err), "offset");
    CHECK_EQ_INT(corral_vm_module_new(not_wasm, 0, &m, NULL), CORRAL_ERR_MALFORMED);
}

TEST(invalid_module_rejected) {
    /* (func (result i32) (i64.const 0)): type mismatch at validation. */
    static const uint8_t bad[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, /* header */
                                  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,       /* type */
                                  0x03, 0x02, 0x01, 0x00,                         /* func */
                                  0x0a, 0x06, 0x01, 0x04, 0x00, 0x42, 0x00, 0x0b};
    corral_vm_module_t *m = NULL;
    corral_err_t err;
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_vm_module_new(bad, sizeof bad, &m, &err), CORRAL_ERR_INVALID);
    CHECK(m == NULL);
    CHECK(strlen(corral_err_msg(&err)) > 0);
}

/* Validation on the polymorphic stack after `unreachable`: each of these
 * once crashed the validator (fuzz_vm_run). They must be rejected cleanly. */
TEST(unreachable_code_validation_does_not_crash) {
    /* type ()->f64; body: unreachable; ref.is_null; end  (i32 left, f64 expected) */
    static const uint8_t is_null[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01,
                                      0x05, 0x01, 0x60, 0x00, 0x01, 0x7c, 0x03, 0x02, 0x01,
                                      0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x00, 0xd1, 0x0b};
    corral_vm_module_t *m = NULL;
    corral_err_t err;
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_vm_module_new(is_null, sizeof is_null, &m, &err), CORRAL_ERR_INVALID);
    CHECK_CONTAINS(corral_err_msg(&err), "type mismatch");
    CHECK(m == NULL);
}

TEST(simd_rejected_as_unsupported) {
    char path[1024];
    snprintf(path, sizeof path, "%s/simd.wasm", VM_TEST_DIR);
    corral_buf_t b = CORRAL_BUF_INIT;
    REQUIRE(corral_file_read(path, 0, &b, NULL) == CORRAL_OK);
    corral_vm_module_t *m = NULL;
    corral_err_t err;
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_vm_module_new(b.data, b.len, &m, &err), CORRAL_ERR_VM_UNSUPPORTED);
    CHECK(m == NULL);
    corral_buf_free(&b);
}

/* ---- host functions -------------------------------------------------------------------- */

typedef struct host_ctx {
    int32_t addend;
    int calls;
    corral_vm_instance_t *seen_caller;
    void *seen_inst_user;
} host_ctx_t;

static corral_status_t h_add_user(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    host_ctx_t *c = user;
    c->calls++;
    c->seen_caller = caller;
    c->seen_inst_user = corral_vm_instance_user(caller);
    sp[0] = (uint32_t)((int32_t)(uint32_t)sp[0] + c->addend);
    return CORRAL_OK;
}

static corral_status_t h_fail(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    if ((uint32_t)sp[0] == 0) return CORRAL_OK;
    return corral_vm_trap(caller, CORRAL_ERR_TRAP_HOST, "host refused %u", (unsigned)sp[0]);
}

static corral_status_t h_write(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    uint8_t *p = corral_vm_memory_slice(caller, (uint32_t)sp[0], 4);
    if (!p)
        return corral_vm_trap(caller, CORRAL_ERR_TRAP_MEMORY_OOB, "write at %u", (unsigned)sp[0]);
    uint32_t v = (uint32_t)sp[1];
    memcpy(p, &v, 4);
    return CORRAL_OK;
}

static corral_status_t h_mix(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    int64_t a = (int64_t)sp[0];
    uint32_t fb = (uint32_t)sp[1];
    float f;
    double d;
    memcpy(&f, &fb, 4);
    memcpy(&d, &sp[2], 8);
    double r = (double)a * 100 + (double)f * 10 + d; /* -500 + 15 + 0.25 */
    memcpy(&sp[0], &r, 8);
    return CORRAL_OK;
}

static corral_vm_imports_t *host_imports(host_ctx_t *ctx) {
    corral_vm_imports_t *imp = corral_vm_imports_new();
    if (!imp) {
        test_failures_++;
        return NULL;
    }
    corral_err_t err;
    corral_err_clear(&err);
    if (corral_vm_imports_add_func(imp, "env", "add_user", "i:i", h_add_user, ctx, &err) ||
        corral_vm_imports_add_func(imp, "env", "fail", "i:", h_fail, NULL, &err) ||
        corral_vm_imports_add_func(imp, "env", "write", "ii:", h_write, NULL, &err) ||
        corral_vm_imports_add_func(imp, "env", "mix", "IfF:F", h_mix, NULL, &err)) {
        fprintf(stderr, "  imports: %s\n", corral_err_msg(&err));
        test_failures_++;
        corral_vm_imports_free(imp);
        return NULL;
    }
    return imp;
}

TEST(host_function_gets_user_pointer_and_caller) {
    host_ctx_t ctx = {1000, 0, NULL, NULL};
    int inst_user = 0;
    corral_vm_module_t *m = load_wat("host");
    REQUIRE(m);
    corral_vm_imports_t *imp = host_imports(&ctx);
    corral_vm_instance_t *inst = imp ? instantiate(m, imp, NULL, &inst_user) : NULL;
    if (inst) {
        corral_err_t err;
        uint32_t r = 0;
        CHECK_EQ_INT(call_i32(inst, "call_add", 1, 23, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 1023);
        ctx.addend = -50;
        CHECK_EQ_INT(call_i32(inst, "call_add", 1, 8, &r, &err), CORRAL_OK);
        CHECK_EQ_INT((int32_t)r, -42);
        CHECK_EQ_INT(ctx.calls, 2);
        CHECK(ctx.seen_caller == inst);
        CHECK(ctx.seen_inst_user == &inst_user);
        CHECK(corral_vm_instance_user(inst) == &inst_user);
        corral_vm_instance_set_user(inst, &ctx);
        CHECK(corral_vm_instance_user(inst) == &ctx);
        CHECK(corral_vm_instance_module(inst) == m);

        uint64_t res[1] = {0};
        CHECK_EQ_INT(call(inst, "call_mix", NULL, 0, res, 1, &err), CORRAL_OK);
        double d;
        memcpy(&d, &res[0], 8);
        CHECK(d == -484.75);
    }
    corral_vm_instance_free(inst);
    corral_vm_imports_free(imp);
    corral_vm_module_free(m);
}

TEST(host_function_trap_stops_the_call) {
    host_ctx_t ctx = {0, 0, NULL, NULL};
    corral_vm_module_t *m = load_wat("host");
    REQUIRE(m);
    corral_vm_imports_t *imp = host_imports(&ctx);
    corral_vm_instance_t *inst = imp ? instantiate(m, imp, NULL, NULL) : NULL;
    if (inst) {
        corral_err_t err;
        uint32_t r = 0;
        CHECK_EQ_INT(call_i32(inst, "call_fail", 1, 0, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 99);
        CHECK_EQ_INT(call_i32(inst, "call_fail", 1, 7, &r, &err), CORRAL_ERR_TRAP_HOST);
        CHECK_CONTAINS(corral_err_msg(&err), "host refused 7");
        /* The instance stays usable after a host trap. */
        CHECK_EQ_INT(call_i32(inst, "call_fail", 1, 0, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 99);
    }
    corral_vm_instance_free(inst);
    corral_vm_imports_free(imp);
    corral_vm_module_free(m);
}

TEST(missing_or_mistyped_import_is_unlinkable) {
    corral_vm_module_t *m = load_wat("host");
    REQUIRE(m);
    corral_vm_imports_t *imp = corral_vm_imports_new();
    REQUIRE(imp);
    corral_err_t err;
    corral_err_clear(&err);
    corral_vm_instance_t *inst = NULL;
    CHECK_EQ_INT(corral_vm_instance_new(m, imp, NULL, NULL, &inst, &err), CORRAL_ERR_UNLINKABLE);
    CHECK_CONTAINS(corral_err_msg(&err), "env.");
    CHECK(inst == NULL);
    CHECK_EQ_INT(corral_vm_instance_new(m, NULL, NULL, NULL, &inst, &err), CORRAL_ERR_UNLINKABLE);

    host_ctx_t ctx = {0, 0, NULL, NULL};
    corral_vm_imports_free(imp);
    imp = host_imports(&ctx);
    REQUIRE(imp);
    /* Replace add_user with a wrongly typed one. */
    CHECK_EQ_INT(corral_vm_imports_add_func(imp, "env", "add_user", "I:i", h_add_user, &ctx, &err),
                 CORRAL_OK);
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_vm_instance_new(m, imp, NULL, NULL, &inst, &err), CORRAL_ERR_UNLINKABLE);
    CHECK_CONTAINS(corral_err_msg(&err), "env.add_user");
    CHECK_EQ_INT(corral_vm_imports_add_func(imp, "env", "x", "q:", h_add_user, &ctx, &err),
                 CORRAL_ERR_INVALID_ARG);
    corral_vm_imports_free(imp);
    corral_vm_module_free(m);
}

TEST(memory_slice_bounds) {
    host_ctx_t ctx = {0, 0, NULL, NULL};
    corral_vm_module_t *m = load_wat("host");
    REQUIRE(m);
    corral_vm_imports_t *imp = host_imports(&ctx);
    corral_vm_instance_t *inst = imp ? instantiate(m, imp, NULL, NULL) : NULL;
    if (inst) {
        CHECK_EQ_INT(corral_vm_memory_size(inst), 65536);
        CHECK(corral_vm_memory_slice(inst, 0, 65536) != NULL);
        CHECK(corral_vm_memory_slice(inst, 65535, 1) != NULL);
        CHECK(corral_vm_memory_slice(inst, 65536, 0) != NULL);
        CHECK(corral_vm_memory_slice(inst, 65536, 1) == NULL);
        CHECK(corral_vm_memory_slice(inst, 65537, 0) == NULL);
        CHECK(corral_vm_memory_slice(inst, 0, 65537) == NULL);
        CHECK(corral_vm_memory_slice(inst, 0xFFFFFFFFu, 2) == NULL);
        CHECK(corral_vm_memory_slice(inst, 2, 0xFFFFFFFFu) == NULL);
        CHECK(corral_vm_memory_slice(inst, 0xFFFFFFFFu, 0xFFFFFFFFu) == NULL);
        uint8_t *p0 = corral_vm_memory_slice(inst, 0, 1), *p9 = corral_vm_memory_slice(inst, 9, 1);
        CHECK(p0 && p9 && p9 - p0 == 9);

        /* Host writes through a slice; the guest reads it back. */
        corral_err_t err;
        uint32_t r = 0;
        CHECK_EQ_INT(call_i32(inst, "write_read", 1, 100, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 0x01020305);
        uint8_t *p = corral_vm_memory_slice(inst, 100, 4);
        CHECK(p && p[0] == 0x04 && p[3] == 0x01);
        /* And a write the host refuses because the slice is out of bounds. */
        CHECK_EQ_INT(call_i32(inst, "write_read", 1, 65533, &r, &err), CORRAL_ERR_TRAP_MEMORY_OOB);
    }
    corral_vm_instance_free(inst);
    corral_vm_imports_free(imp);
    corral_vm_module_free(m);

    /* An instance without memory has no slices. */
    corral_vm_module_t *mn = load_wat("nomem");
    REQUIRE(mn);
    corral_vm_instance_t *in = instantiate(mn, NULL, NULL, NULL);
    if (in) {
        CHECK_EQ_INT(corral_vm_memory_size(in), 0);
        CHECK(corral_vm_memory_slice(in, 0, 0) == NULL);
        CHECK(corral_vm_memory_slice(in, 0, 1) == NULL);
    }
    corral_vm_instance_free(in);
    corral_vm_module_free(mn);
}

/* ---- traps -------------------------------------------------------------------------------- */

TEST(every_trap_kind) {
    static const struct {
        const char *name;
        int nargs, nres;
        corral_status_t want;
    } cases[] = {
        {"unreachable", 0, 0, CORRAL_ERR_TRAP_UNREACHABLE},
        {"memory_oob", 0, 1, CORRAL_ERR_TRAP_MEMORY_OOB},
        {"memory_oob_store", 0, 0, CORRAL_ERR_TRAP_MEMORY_OOB},
        {"table_oob", 0, 1, CORRAL_ERR_TRAP_TABLE_OOB},
        {"div_zero", 1, 1, CORRAL_ERR_TRAP_DIV_ZERO},
        {"rem_zero_i64", 0, 1, CORRAL_ERR_TRAP_DIV_ZERO},
        {"int_overflow", 0, 1, CORRAL_ERR_TRAP_INT_OVERFLOW},
        {"trunc_overflow", 0, 1, CORRAL_ERR_TRAP_INT_OVERFLOW},
        {"invalid_conversion", 0, 1, CORRAL_ERR_TRAP_INVALID_CONVERSION},
        {"undefined_element", 0, 1, CORRAL_ERR_TRAP_UNDEFINED_ELEMENT},
        {"uninitialized_element", 0, 1, CORRAL_ERR_TRAP_UNINITIALIZED_ELEMENT},
        {"indirect_mismatch", 0, 1, CORRAL_ERR_TRAP_INDIRECT_MISMATCH},
        {"stack_exhausted", 0, 1, CORRAL_ERR_TRAP_STACK_EXHAUSTED},
    };
    corral_vm_module_t *m = load_wat("traps");
    REQUIRE(m);
    corral_vm_instance_t *inst = instantiate(m, NULL, NULL, NULL);
    if (inst) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            corral_err_t err;
            uint64_t args[1] = {0}, res[1] = {0};
            corral_status_t st = call(inst, cases[i].name, args, (uint32_t)cases[i].nargs, res,
                                      (uint32_t)cases[i].nres, &err);
            if (st != cases[i].want)
                fprintf(stderr, "  %s: got %s (%s)\n", cases[i].name, corral_status_name(st),
                        corral_err_msg(&err));
            CHECK_EQ_INT(st, cases[i].want);
            /* The message starts with the spec's text. */
            CHECK_CONTAINS(corral_err_msg(&err), corral_status_str(cases[i].want));
        }
        /* Traps leave the instance callable. */
        corral_err_t err;
        uint32_t r = 0;
        CHECK_EQ_INT(call_i32(inst, "ok_indirect", 0, 0, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 42);
        CHECK_EQ_INT(call_i32(inst, "div_zero", 1, 7, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 1);
    }
    corral_vm_instance_free(inst);
    corral_vm_module_free(m);
}

TEST(start_trap_and_oob_segment_fail_instantiation) {
    corral_vm_module_t *m = load_wat("start_trap");
    REQUIRE(m);
    corral_vm_instance_t *inst = NULL;
    corral_err_t err;
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_vm_instance_new(m, NULL, NULL, NULL, &inst, &err),
                 CORRAL_ERR_TRAP_UNREACHABLE);
    CHECK(inst == NULL);
    corral_vm_module_free(m);
    m = load_wat("oob_data");
    REQUIRE(m);
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_vm_instance_new(m, NULL, NULL, NULL, &inst, &err),
                 CORRAL_ERR_UNINSTANTIABLE);
    CHECK(inst == NULL);
    corral_vm_module_free(m);
}

TEST(call_checks_argument_counts) {
    corral_vm_module_t *m = load_wat("traps");
    REQUIRE(m);
    corral_vm_instance_t *inst = instantiate(m, NULL, NULL, NULL);
    if (inst) {
        corral_err_t err;
        uint64_t args[2] = {1, 2}, res[2];
        CHECK_EQ_INT(call(inst, "div_zero", args, 2, res, 1, &err), CORRAL_ERR_INVALID_ARG);
        CHECK_EQ_INT(call(inst, "div_zero", args, 1, res, 0, &err), CORRAL_ERR_INVALID_ARG);
        CHECK_EQ_INT(call(inst, "div_zero", args, 1, res, 1, &err), CORRAL_OK);
        CHECK_EQ_INT(res[0], 7);
    }
    corral_vm_instance_free(inst);
    corral_vm_module_free(m);
}

/* ---- limits --------------------------------------------------------------------------------- */

TEST(fuel_exhaustion_per_call) {
    corral_vm_module_t *m = load_wat("traps");
    REQUIRE(m);
    corral_vm_limits_t lim = {0, 0, 100000, 0};
    corral_vm_instance_t *inst = instantiate(m, NULL, &lim, NULL);
    if (inst) {
        corral_err_t err;
        uint32_t r = 0;
        CHECK_EQ_INT(call_i32(inst, "spin", 0, 0, NULL, &err), CORRAL_ERR_TRAP_FUEL_EXHAUSTED);
        CHECK_CONTAINS(corral_err_msg(&err), "fuel");
        /* A short loop fits, and the tank is full again on every call. */
        for (int i = 0; i < 3; i++) {
            CHECK_EQ_INT(call_i32(inst, "count", 1, 100, &r, &err), CORRAL_OK);
            CHECK_EQ_INT(r, 100);
        }
        CHECK_EQ_INT(call_i32(inst, "count", 1, 100000000, &r, &err),
                     CORRAL_ERR_TRAP_FUEL_EXHAUSTED);
        /* Lifting the limit lets the long loop finish. */
        corral_vm_limits_t none = {0, 0, 0, 0};
        corral_vm_instance_set_limits(inst, &none);
        CHECK_EQ_INT(call_i32(inst, "count", 1, 1000000, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 1000000);
    }
    corral_vm_instance_free(inst);
    corral_vm_module_free(m);
}

TEST(deadline_stops_an_endless_loop) {
    corral_vm_module_t *m = load_wat("traps");
    REQUIRE(m);
    corral_vm_limits_t lim = {0, 0, 0, 50ull * 1000 * 1000};
    corral_vm_instance_t *inst = instantiate(m, NULL, &lim, NULL);
    if (inst) {
        corral_err_t err;
        for (int i = 0; i < 2; i++) { /* the deadline is fresh on each call */
            uint64_t t0 = corral_now_ns();
            CHECK_EQ_INT(call_i32(inst, "spin", 0, 0, NULL, &err), CORRAL_ERR_TRAP_DEADLINE);
            double ms = elapsed_ms(t0);
            CHECK_CONTAINS(corral_err_msg(&err), "deadline exceeded after 50 ms");
            CHECK(ms >= 50.0);
            CHECK(ms < 5000.0); /* it stopped at all */
        }
    }
    corral_vm_instance_free(inst);
    corral_vm_module_free(m);
}

typedef struct interrupter {
    corral_vm_instance_t *inst;
    unsigned delay_ms;
} interrupter_t;

static void *interrupt_later(void *arg) {
    interrupter_t *it = arg;
    struct timespec ts = {0, (long)it->delay_ms * 1000000L};
    nanosleep(&ts, NULL);
    corral_vm_instance_interrupt(it->inst);
    return NULL;
}

TEST(interrupt_from_another_thread) {
    corral_vm_module_t *m = load_wat("traps");
    REQUIRE(m);
    /* A deadline far away only as a safety net for a broken interrupt. */
    corral_vm_limits_t lim = {0, 0, 0, 20ull * 1000 * 1000 * 1000};
    corral_vm_instance_t *inst = instantiate(m, NULL, &lim, NULL);
    if (inst) {
        interrupter_t it = {inst, 30};
        pthread_t th;
        REQUIRE(pthread_create(&th, NULL, interrupt_later, &it) == 0);
        corral_err_t err;
        uint64_t t0 = corral_now_ns();
        CHECK_EQ_INT(call_i32(inst, "spin", 0, 0, NULL, &err), CORRAL_ERR_TRAP_INTERRUPTED);
        CHECK(elapsed_ms(t0) < 10000.0);
        pthread_join(th, NULL);
        /* The request is cleared when the next call starts. */
        uint32_t r = 0;
        CHECK_EQ_INT(call_i32(inst, "count", 1, 1000, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 1000);
        /* An interrupt raised between calls is dropped by the next call too. */
        corral_vm_instance_interrupt(inst);
        CHECK_EQ_INT(call_i32(inst, "count", 1, 10, &r, &err), CORRAL_OK);
    }
    corral_vm_instance_free(inst);
    corral_vm_module_free(m);
}

TEST(max_pages_makes_grow_fail) {
    corral_vm_module_t *m = load_wat("traps");
    REQUIRE(m);
    corral_vm_limits_t lim = {3, 0, 0, 0};
    corral_vm_instance_t *inst = instantiate(m, NULL, &lim, NULL);
    if (inst) {
        corral_err_t err;
        uint32_t r = 0;
        CHECK_EQ_INT(call_i32(inst, "grow", 1, 1, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 1);
        CHECK_EQ_INT(call_i32(inst, "grow", 1, 2, &r, &err), CORRAL_OK);
        CHECK_EQ_INT((int32_t)r, -1);
        CHECK_EQ_INT(call_i32(inst, "grow", 1, 1, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 2);
        CHECK_EQ_INT(call_i32(inst, "grow", 1, 1, &r, &err), CORRAL_OK);
        CHECK_EQ_INT((int32_t)r, -1);
        CHECK_EQ_INT(call_i32(inst, "size", 0, 0, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 3);
        CHECK_EQ_INT(corral_vm_memory_size(inst), 3 * 65536);
        /* New pages are zero and reachable. */
        CHECK(corral_vm_memory_slice(inst, 3 * 65536 - 4, 4) != NULL);
        CHECK_EQ_INT(call_i32(inst, "load", 1, 3 * 65536 - 4, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 0);
    }
    corral_vm_instance_free(inst);
    corral_vm_module_free(m);
}

TEST(max_pages_binds_initial_memory) {
    /* big_memory declares 256 pages: a cap of 255 refuses it at instantiation,
     * a cap of 256 admits it. */
    corral_vm_module_t *m = load_wat("big_memory");
    REQUIRE(m);
    corral_vm_limits_t lim = {255, 0, 0, 0};
    corral_vm_instance_t *inst = NULL;
    corral_err_t err;
    CHECK_EQ_INT(corral_vm_instance_new(m, NULL, &lim, NULL, &inst, &err),
                 CORRAL_ERR_UNINSTANTIABLE);
    CHECK(inst == NULL);
    CHECK_CONTAINS(err.msg, "needs 256 pages at start, above the limit of 255 pages");
    lim.max_pages = 256;
    CHECK_EQ_INT(corral_vm_instance_new(m, NULL, &lim, NULL, &inst, &err), CORRAL_OK);
    corral_vm_instance_free(inst);
    corral_vm_module_free(m);
}

TEST(max_call_depth) {
    corral_vm_module_t *m = load_wat("traps");
    REQUIRE(m);
    corral_vm_limits_t lim = {0, 100, 0, 0};
    corral_vm_instance_t *inst = instantiate(m, NULL, &lim, NULL);
    if (inst) {
        corral_err_t err;
        uint32_t r = 0;
        CHECK_EQ_INT(call_i32(inst, "depth", 1, 50, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 50);
        CHECK_EQ_INT(call_i32(inst, "depth", 1, 1000, &r, &err), CORRAL_ERR_TRAP_STACK_EXHAUSTED);
        CHECK_CONTAINS(corral_err_msg(&err), "call stack exhausted");
        /* The default depth allows far more. */
        corral_vm_limits_t none = {0, 0, 0, 0};
        corral_vm_instance_set_limits(inst, &none);
        CHECK_EQ_INT(call_i32(inst, "depth", 1, 5000, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 5000);
        CHECK_EQ_INT(call_i32(inst, "depth", 1, 100000, &r, &err), CORRAL_ERR_TRAP_STACK_EXHAUSTED);
    }
    corral_vm_instance_free(inst);
    corral_vm_module_free(m);
}

/* ---- exports ----------------------------------------------------------------------------------
 */

TEST(exports_lookup_and_description) {
    corral_vm_module_t *m = load_wat("exports");
    REQUIRE(m);
    CHECK_EQ_INT(corral_vm_module_import_count(m), 0);
    corral_vm_import_desc_t id;
    CHECK_EQ_INT(corral_vm_module_import(m, 0, &id), CORRAL_ERR_NOT_FOUND);
    uint32_t n = corral_vm_module_export_count(m);
    CHECK_EQ_INT(n, 8);
    int seen_f = 0, seen_nul = 0;
    for (uint32_t i = 0; i < n; i++) {
        corral_vm_export_desc_t d;
        REQUIRE(corral_vm_module_export(m, i, &d) == CORRAL_OK);
        if (d.name_len == 1 && d.name[0] == 'f') {
            seen_f = 1;
            CHECK_EQ_INT(d.kind, CORRAL_VM_EXTERN_FUNC);
            CHECK_EQ_INT(d.type.nparams, 2);
            CHECK_EQ_INT(d.type.nresults, 2);
            CHECK(d.type.params[0] == CORRAL_VM_I32 && d.type.params[1] == CORRAL_VM_I64);
            CHECK(d.type.results[0] == CORRAL_VM_F32 && d.type.results[1] == CORRAL_VM_F64);
        }
        if (d.name_len == 3 && memcmp(d.name, "a\0b", 3) == 0) seen_nul = 1;
        if (d.name_len == 1 && d.name[0] == 'm') CHECK_EQ_INT(d.kind, CORRAL_VM_EXTERN_MEMORY);
        if (d.name_len == 1 && d.name[0] == 't') CHECK_EQ_INT(d.kind, CORRAL_VM_EXTERN_TABLE);
        if (d.name_len == 4 && memcmp(d.name, "gi64", 4) == 0)
            CHECK_EQ_INT(d.kind, CORRAL_VM_EXTERN_GLOBAL);
    }
    CHECK(seen_f && seen_nul);
    corral_vm_export_desc_t d;
    CHECK_EQ_INT(corral_vm_module_export(m, n, &d), CORRAL_ERR_NOT_FOUND);

    corral_vm_instance_t *inst = instantiate(m, NULL, NULL, NULL);
    if (inst) {
        corral_vm_extern_t e;
        corral_err_t err;
        CHECK_EQ_INT(corral_vm_instance_export(inst, "nope", &e), CORRAL_ERR_NOT_FOUND);
        CHECK_EQ_INT(corral_vm_instance_export(inst, "f", &e), CORRAL_OK);
        CHECK_EQ_INT(e.kind, CORRAL_VM_EXTERN_FUNC);
        corral_vm_functype_t ft = corral_vm_func_type(e);
        CHECK_EQ_INT(ft.nparams, 2);
        CHECK_EQ_INT(ft.nresults, 2);
        uint64_t args[2] = {1, 2}, res[2] = {0, 0};
        CHECK_EQ_INT(corral_vm_call(inst, e, args, 2, res, 2, &err), CORRAL_OK);
        CHECK_EQ_INT(res[0], 0x3f800000);           /* 1.0f */
        CHECK_EQ_INT(res[1], 0x4000000000000000ll); /* 2.0 */

        /* "a\0b" and "a" are different exports. */
        uint32_t r = 0;
        CHECK_EQ_INT(corral_vm_instance_export_n(inst, "a\0b", 3, &e), CORRAL_OK);
        CHECK_EQ_INT(corral_vm_call(inst, e, NULL, 0, res, 1, &err), CORRAL_OK);
        CHECK_EQ_INT(res[0], 7);
        CHECK_EQ_INT(call_i32(inst, "a", 0, 0, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 8);
        CHECK_EQ_INT(corral_vm_instance_export_n(inst, "a\0c", 3, &e), CORRAL_ERR_NOT_FOUND);

        CHECK_EQ_INT(corral_vm_instance_export(inst, "gi64", &e), CORRAL_OK);
        CHECK_EQ_INT(e.kind, CORRAL_VM_EXTERN_GLOBAL);
        CHECK_EQ_INT((int64_t)corral_vm_global_get(e), -7);
        CHECK_EQ_INT(corral_vm_instance_export(inst, "gf64", &e), CORRAL_OK);
        CHECK_EQ_INT(corral_vm_global_get(e), 0x4084D4CCCCCCCCCDll);
        CHECK_EQ_INT(corral_vm_instance_export(inst, "m", &e), CORRAL_OK);
        CHECK_EQ_INT(e.kind, CORRAL_VM_EXTERN_MEMORY);
        CHECK_EQ_INT(corral_vm_instance_export(inst, "t", &e), CORRAL_OK);
        CHECK_EQ_INT(e.kind, CORRAL_VM_EXTERN_TABLE);

        /* externref words go through unchanged. */
        args[0] = 0xdeadbeef12ull;
        CHECK_EQ_INT(call(inst, "echo_ref", args, 1, res, 1, &err), CORRAL_OK);
        CHECK_EQ_INT(res[0], 0xdeadbeef12ll);
        args[0] = 0;
        CHECK_EQ_INT(call(inst, "echo_ref", args, 1, res, 1, &err), CORRAL_OK);
        CHECK_EQ_INT(res[0], 0);
    }
    corral_vm_instance_free(inst);
    corral_vm_module_free(m);
}

/* ---- externs shared between instances
 * ------------------------------------------------------------ */

TEST(externs_shared_across_instances) {
    corral_vm_module_t *ma = load_wat("shared_a"), *mb = load_wat("shared_b");
    corral_vm_instance_t *a = NULL, *b = NULL, *b2 = NULL;
    corral_vm_imports_t *imp = NULL;
    if (!ma || !mb) goto done;
    a = instantiate(ma, NULL, NULL, NULL);
    if (!a) goto done;
    imp = corral_vm_imports_new();
    REQUIRE(imp);
    static const char *const names[] = {"mem", "g", "tab", "triple"};
    for (int i = 0; i < 4; i++) {
        corral_vm_extern_t e;
        CHECK_EQ_INT(corral_vm_instance_export(a, names[i], &e), CORRAL_OK);
        CHECK_EQ_INT(corral_vm_imports_add_extern(imp, "a", names[i], e, NULL), CORRAL_OK);
    }
    b = instantiate(mb, imp, NULL, NULL);
    b2 = instantiate(mb, imp, NULL, NULL);
    /* The set can go: instances keep what they use. */
    corral_vm_imports_free(imp);
    imp = NULL;
    if (!b || !b2) goto done;
    corral_err_t err;
    uint64_t args[2] = {64, 0xabcdef}, res[1];
    uint32_t r = 0;
    CHECK_EQ_INT(call(b, "poke", args, 2, res, 0, &err), CORRAL_OK);
    CHECK_EQ_INT(call_i32(a, "peek", 1, 64, &r, &err), CORRAL_OK);
    CHECK_EQ_INT(r, 0xabcdef);
    uint8_t *pa = corral_vm_memory_slice(a, 64, 4), *pb = corral_vm_memory_slice(b2, 64, 4);
    CHECK(pa && pa == pb);

    CHECK_EQ_INT(call_i32(b2, "set_g", 1, 77, NULL, &err), CORRAL_OK);
    CHECK_EQ_INT(call_i32(a, "get_g", 0, 0, &r, &err), CORRAL_OK);
    CHECK_EQ_INT(r, 77);
    corral_vm_extern_t g;
    CHECK_EQ_INT(corral_vm_instance_export(a, "g", &g), CORRAL_OK);
    CHECK_EQ_INT(corral_vm_global_get(g), 77);

    CHECK_EQ_INT(call_i32(b, "call_triple", 1, 14, &r, &err), CORRAL_OK);
    CHECK_EQ_INT(r, 42);
    CHECK_EQ_INT(call_i32(b, "call_tab0", 1, 5, &r, &err), CORRAL_OK);
    CHECK_EQ_INT(r, 15);

    /* An extern outlives its instance while retained. */
    corral_vm_extern_t mem;
    CHECK_EQ_INT(corral_vm_instance_export(a, "g", &mem), CORRAL_OK);
    corral_vm_extern_retain(mem);
    corral_vm_instance_free(b);
    corral_vm_instance_free(b2);
    corral_vm_instance_free(a);
    a = b = b2 = NULL;
    CHECK_EQ_INT(corral_vm_global_get(mem), 77);
    corral_vm_extern_release(mem);
done:
    corral_vm_imports_free(imp);
    corral_vm_instance_free(b);
    corral_vm_instance_free(b2);
    corral_vm_instance_free(a);
    corral_vm_module_free(mb);
    corral_vm_module_free(ma);
}

TEST(embedder_made_externs) {
    corral_vm_extern_t mem = {0}, tab = {0}, gl = {0};
    corral_err_t err;
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_vm_memory_new(1, 2, 1, &mem, &err), CORRAL_OK);
    CHECK_EQ_INT(mem.kind, CORRAL_VM_EXTERN_MEMORY);
    CHECK_EQ_INT(corral_vm_table_new(CORRAL_VM_FUNCREF, 2, 0, 0, &tab, &err), CORRAL_OK);
    CHECK_EQ_INT(tab.kind, CORRAL_VM_EXTERN_TABLE);
    CHECK_EQ_INT(corral_vm_global_new(CORRAL_VM_I32, 1, 5, &gl, &err), CORRAL_OK);
    CHECK_EQ_INT(gl.kind, CORRAL_VM_EXTERN_GLOBAL);
    CHECK_EQ_INT(corral_vm_global_get(gl), 5);

    /* shared_b imports memory 1..2, a mutable i32, a table of 2 and a function. */
    corral_vm_module_t *mb = load_wat("shared_b"), *ma = load_wat("shared_a");
    corral_vm_instance_t *a = ma ? instantiate(ma, NULL, NULL, NULL) : NULL;
    corral_vm_imports_t *imp = corral_vm_imports_new();
    if (mb && a && imp) {
        corral_vm_extern_t f;
        CHECK_EQ_INT(corral_vm_instance_export(a, "triple", &f), CORRAL_OK);
        corral_vm_imports_add_extern(imp, "a", "mem", mem, NULL);
        corral_vm_imports_add_extern(imp, "a", "g", gl, NULL);
        corral_vm_imports_add_extern(imp, "a", "tab", tab, NULL);
        corral_vm_imports_add_extern(imp, "a", "triple", f, NULL);
        corral_vm_instance_t *b = instantiate(mb, imp, NULL, NULL);
        if (b) {
            CHECK_EQ_INT(call_i32(b, "set_g", 1, 9, NULL, &err), CORRAL_OK);
            CHECK_EQ_INT(corral_vm_global_get(gl), 9);
            uint64_t args[2] = {8, 1234};
            CHECK_EQ_INT(call(b, "poke", args, 2, NULL, 0, &err), CORRAL_OK);
            uint8_t *p = corral_vm_memory_slice(b, 8, 4);
            uint32_t v = 0;
            if (p) memcpy(&v, p, 4);
            CHECK_EQ_INT(v, 1234);
            /* The table is empty: calling through it traps. */
            CHECK_EQ_INT(call_i32(b, "call_tab0", 1, 1, &v, &err),
                         CORRAL_ERR_TRAP_UNINITIALIZED_ELEMENT);
            corral_vm_instance_free(b);
        }
        /* An immutable global where a mutable one is imported does not link. */
        corral_vm_extern_t gc = {0};
        CHECK_EQ_INT(corral_vm_global_new(CORRAL_VM_I32, 0, 5, &gc, &err), CORRAL_OK);
        corral_vm_imports_add_extern(imp, "a", "g", gc, NULL);
        corral_vm_extern_release(gc);
        corral_vm_instance_t *bad = NULL;
        CHECK_EQ_INT(corral_vm_instance_new(mb, imp, NULL, NULL, &bad, &err),
                     CORRAL_ERR_UNLINKABLE);
        corral_vm_instance_free(bad);
    }
    corral_vm_imports_free(imp);
    corral_vm_instance_free(a);
    corral_vm_module_free(ma);
    corral_vm_module_free(mb);
    corral_vm_extern_release(mem);
    corral_vm_extern_release(tab);
    corral_vm_extern_release(gl);
}

/* ---- threads
 * ------------------------------------------------------------------------------------- */

typedef struct worker {
    const corral_vm_module_t *m;
    int ok;
} worker_t;

static void *instantiate_many(void *arg) {
    worker_t *w = arg;
    for (int i = 0; i < 50; i++) {
        corral_vm_instance_t *inst = NULL;
        if (corral_vm_instance_new(w->m, NULL, NULL, NULL, &inst, NULL) != CORRAL_OK) return NULL;
        corral_vm_extern_t f;
        uint64_t args[1] = {(uint64_t)(i + 1)}, res[1] = {0};
        int good = corral_vm_instance_export(inst, "count", &f) == CORRAL_OK &&
                   corral_vm_call(inst, f, args, 1, res, 1, NULL) == CORRAL_OK &&
                   res[0] == (uint64_t)(i + 1);
        corral_vm_instance_free(inst);
        if (!good) return NULL;
        w->ok++;
    }
    return NULL;
}

TEST(instantiate_one_module_from_many_threads) {
    corral_vm_module_t *m = load_wat("traps");
    REQUIRE(m);
    enum { N = 4 };
    pthread_t th[N];
    worker_t w[N];
    for (int i = 0; i < N; i++) {
        w[i].m = m;
        w[i].ok = 0;
        REQUIRE(pthread_create(&th[i], NULL, instantiate_many, &w[i]) == 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(w[i].ok, 50);
    }
    corral_vm_module_free(m);
}

/* ---- re-entrancy, lifetimes, allocation failures ------------------------------------------------
 */

typedef struct reenter_ctx {
    corral_vm_instance_t *target; /* where the callback calls "inner" */
    corral_status_t nested_status;
} reenter_ctx_t;

static corral_status_t h_callback(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    reenter_ctx_t *c = user;
    corral_vm_extern_t f;
    corral_err_t err;
    corral_err_clear(&err);
    if (corral_vm_instance_export(c->target, "inner", &f) != CORRAL_OK)
        return corral_vm_trap(caller, CORRAL_ERR_TRAP_HOST, "no inner");
    uint64_t a[1] = {sp[0]}, r[1] = {0};
    c->nested_status = corral_vm_call(c->target, f, a, 1, r, 1, &err);
    if (c->nested_status != CORRAL_OK)
        return corral_vm_trap(caller, CORRAL_ERR_TRAP_HOST, "nested: %s", corral_err_msg(&err));
    sp[0] = r[0] + 1;
    return CORRAL_OK;
}

TEST(nested_calls_from_host_functions) {
    corral_vm_module_t *m = load_wat("reenter");
    REQUIRE(m);
    reenter_ctx_t ctx = {NULL, CORRAL_OK};
    corral_vm_imports_t *imp = corral_vm_imports_new();
    REQUIRE(imp);
    CHECK_EQ_INT(corral_vm_imports_add_func(imp, "env", "callback", "i:i", h_callback, &ctx, NULL),
                 CORRAL_OK);
    corral_vm_instance_t *a = instantiate(m, imp, NULL, NULL), *b = instantiate(m, imp, NULL, NULL);
    if (a && b) {
        corral_err_t err;
        uint32_t r = 0;
        /* Into another instance: allowed. */
        ctx.target = b;
        CHECK_EQ_INT(call_i32(a, "outer", 1, 20, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 41);
        /* Into the instance that is running: refused with ERR_STATE, no crash. */
        ctx.target = a;
        CHECK_EQ_INT(call_i32(a, "outer", 1, 20, &r, &err), CORRAL_ERR_TRAP_HOST);
        CHECK_EQ_INT(ctx.nested_status, CORRAL_ERR_STATE);
        /* Both instances still work afterwards. */
        CHECK_EQ_INT(call_i32(a, "inner", 1, 4, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 8);
        ctx.target = a;
        CHECK_EQ_INT(call_i32(b, "outer", 1, 5, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 11);
    }
    corral_vm_instance_free(a);
    corral_vm_instance_free(b);
    corral_vm_imports_free(imp);
    corral_vm_module_free(m);
}

TEST(instance_keeps_its_module_alive) {
    corral_vm_module_t *m = load_wat("traps");
    REQUIRE(m);
    corral_vm_instance_t *inst = instantiate(m, NULL, NULL, NULL);
    corral_vm_module_free(m); /* the instance holds its own reference */
    if (inst) {
        corral_err_t err;
        uint32_t r = 0;
        CHECK_EQ_INT(call_i32(inst, "count", 1, 77, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(r, 77);
        CHECK(corral_vm_instance_module(inst) != NULL);
        CHECK(corral_vm_module_export_count(corral_vm_instance_module(inst)) > 10);
    }
    corral_vm_instance_free(inst);
}

TEST(fuel_counts_entries_and_back_edges) {
    /* count(n) enters once and jumps back to its loop n+1 times (docs/engine.md);
     * the budget check may sit before or after the unit, so allow slack of a few
     * units, but the order of magnitude must be right. */
    corral_vm_module_t *m = load_wat("traps");
    REQUIRE(m);
    corral_vm_limits_t lim = {0, 0, 1010, 0};
    corral_vm_instance_t *inst = instantiate(m, NULL, &lim, NULL);
    if (inst) {
        corral_err_t err;
        uint32_t r = 0;
        CHECK_EQ_INT(call_i32(inst, "count", 1, 1000, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(call_i32(inst, "count", 1, 1020, &r, &err), CORRAL_ERR_TRAP_FUEL_EXHAUSTED);
        /* Calls cost fuel too: depth(n) makes n+1 entries. */
        CHECK_EQ_INT(call_i32(inst, "depth", 1, 1000, &r, &err), CORRAL_OK);
        CHECK_EQ_INT(call_i32(inst, "depth", 1, 1020, &r, &err), CORRAL_ERR_TRAP_FUEL_EXHAUSTED);
    }
    corral_vm_instance_free(inst);
    corral_vm_module_free(m);
}

TEST(externref_through_the_api) {
    corral_vm_module_t *m = load_wat("reenter");
    REQUIRE(m);
    reenter_ctx_t ctx = {NULL, CORRAL_OK};
    corral_vm_imports_t *imp = corral_vm_imports_new();
    REQUIRE(imp);
    corral_vm_imports_add_func(imp, "env", "callback", "i:i", h_callback, &ctx, NULL);
    corral_vm_instance_t *inst = instantiate(m, imp, NULL, NULL);
    if (inst) {
        corral_err_t err;
        static int anchor;
        uint64_t a[1] = {(uint64_t)(uintptr_t)&anchor}, r[1] = {0};
        CHECK_EQ_INT(call(inst, "ref_through_host", a, 1, r, 1, &err), CORRAL_OK);
        CHECK(r[0] == (uint64_t)(uintptr_t)&anchor);
    }
    corral_vm_instance_free(inst);
    corral_vm_imports_free(imp);
    corral_vm_module_free(m);
}

/* Every allocation the engine makes while loading, instantiating and calling
 * may fail: the call must report NOMEM (or succeed) and leak nothing. */
TEST(allocation_failures_are_handled) {
    char path[1024];
    snprintf(path, sizeof path, "%s/shared_a.wasm", VM_TEST_DIR);
    corral_buf_t b = CORRAL_BUF_INIT;
    REQUIRE(corral_file_read(path, 0, &b, NULL) == CORRAL_OK);
    int succeeded = 0;
    for (long n = 1; n < 400 && !succeeded; n++) {
        long live = corral_alloc_live();
        corral_vm_module_t *m = NULL;
        corral_vm_instance_t *inst = NULL;
        corral_alloc_fail_after(n, 1);
        corral_status_t st = corral_vm_module_new(b.data, b.len, &m, NULL);
        if (st == CORRAL_OK) st = corral_vm_instance_new(m, NULL, NULL, NULL, &inst, NULL);
        uint64_t res[1] = {0};
        if (st == CORRAL_OK) {
            corral_vm_extern_t f;
            st = corral_vm_instance_export(inst, "get_g", &f);
            if (st == CORRAL_OK) st = corral_vm_call(inst, f, NULL, 0, res, 1, NULL);
        }
        corral_alloc_fail_after(0, 0);
        if (st == CORRAL_OK) {
            CHECK_EQ_INT(res[0], 5);
            succeeded = 1;
        } else if (st != CORRAL_ERR_NOMEM) {
            fprintf(stderr, "  allocation %ld failing gave %s\n", n, corral_status_name(st));
            CHECK_EQ_INT(st, CORRAL_ERR_NOMEM);
        }
        corral_vm_instance_free(inst);
        corral_vm_module_free(m);
        if (corral_alloc_live() != live) {
            fprintf(stderr, "  allocation %ld failing leaked %ld blocks\n", n,
                    corral_alloc_live() - live);
            CHECK_EQ_INT(corral_alloc_live(), live);
            break;
        }
    }
    CHECK(succeeded);
    corral_buf_free(&b);
}

typedef struct host_worker {
    const corral_vm_module_t *m;
    const corral_vm_imports_t *imp;
    int ok;
} host_worker_t;

static void *instantiate_with_imports(void *arg) {
    host_worker_t *w = arg;
    for (int i = 0; i < 50; i++) {
        corral_vm_instance_t *inst = NULL;
        if (corral_vm_instance_new(w->m, w->imp, NULL, NULL, &inst, NULL) != CORRAL_OK) return NULL;
        corral_vm_extern_t f;
        uint64_t args[1] = {(uint64_t)i}, res[1] = {0};
        int good = corral_vm_instance_export(inst, "write_read", &f) == CORRAL_OK &&
                   corral_vm_call(inst, f, args, 1, res, 1, NULL) == CORRAL_OK &&
                   res[0] == 0x01020305;
        corral_vm_instance_free(inst);
        if (!good) return NULL;
        w->ok++;
    }
    return NULL;
}

TEST(one_import_set_serves_many_threads) {
    host_ctx_t ctx = {0, 0, NULL, NULL};
    corral_vm_module_t *m = load_wat("host");
    REQUIRE(m);
    corral_vm_imports_t *imp = host_imports(&ctx);
    enum { N = 4 };
    pthread_t th[N];
    host_worker_t w[N];
    for (int i = 0; imp && i < N; i++) {
        w[i] = (host_worker_t){m, imp, 0};
        REQUIRE(pthread_create(&th[i], NULL, instantiate_with_imports, &w[i]) == 0);
    }
    for (int i = 0; imp && i < N; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(w[i].ok, 50);
    }
    corral_vm_imports_free(imp);
    corral_vm_module_free(m);
}

/* ---- lazy memory
 * ----------------------------------------------------------------------------------- */

static long rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages_total = 0, pages_res = 0;
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages_total, &pages_res) != 2) pages_res = -1;
    fclose(f);
    return pages_res < 0 ? -1 : pages_res * sysconf(_SC_PAGESIZE);
}

TEST(big_initial_memory_is_lazy) {
    corral_vm_module_t *m = load_wat("big_memory");
    REQUIRE(m);
    long before = rss_bytes();
    REQUIRE(before > 0);
    corral_vm_instance_t *inst = instantiate(m, NULL, NULL, NULL);
    long after = rss_bytes();
    if (inst) {
        long grew = after - before;
        if (grew >= 4l << 20) fprintf(stderr, "  RSS grew by %ld bytes\n", grew);
        /* Far below the 16 MiB the module asks for. Valgrind shadows every
         * mapped page itself, so RSS says nothing there (scripts/test.sh sets
         * CORRAL_UNDER_VALGRIND). */
        if (!getenv("CORRAL_UNDER_VALGRIND")) CHECK(grew < (4l << 20));
        CHECK_EQ_INT(corral_vm_memory_size(inst), 16l << 20);
        uint8_t *p = corral_vm_memory_slice(inst, 16, 6);
        CHECK(p && memcmp(p, "corral", 6) == 0);
        corral_err_t err;
        uint64_t args[2] = {(16u << 20) - 4, 0x5a5a5a5a}, res[1] = {0};
        CHECK_EQ_INT(call(inst, "touch", args, 2, res, 1, &err), CORRAL_OK);
        CHECK_EQ_INT(res[0], 0x5a5a5a5a);
        uint8_t *z = corral_vm_memory_slice(inst, 8u << 20, 4096);
        int zero = z != NULL;
        for (int i = 0; z && i < 4096; i++)
            zero &= z[i] == 0;
        CHECK(zero);
    }
    corral_vm_instance_free(inst);
    corral_vm_module_free(m);
}

TEST_MAIN(TEST_ENTRY(malformed_bytes_report_offset), TEST_ENTRY(invalid_module_rejected),
          TEST_ENTRY(unreachable_code_validation_does_not_crash),
          TEST_ENTRY(simd_rejected_as_unsupported),
          TEST_ENTRY(host_function_gets_user_pointer_and_caller),
          TEST_ENTRY(host_function_trap_stops_the_call),
          TEST_ENTRY(missing_or_mistyped_import_is_unlinkable), TEST_ENTRY(memory_slice_bounds),
          TEST_ENTRY(every_trap_kind), TEST_ENTRY(start_trap_and_oob_segment_fail_instantiation),
          TEST_ENTRY(call_checks_argument_counts), TEST_ENTRY(fuel_exhaustion_per_call),
          TEST_ENTRY(deadline_stops_an_endless_loop), TEST_ENTRY(interrupt_from_another_thread),
          TEST_ENTRY(max_pages_makes_grow_fail),
          TEST_ENTRY(max_pages_binds_initial_memory), TEST_ENTRY(max_call_depth),
          TEST_ENTRY(exports_lookup_and_description), TEST_ENTRY(externs_shared_across_instances),
          TEST_ENTRY(embedder_made_externs), TEST_ENTRY(instantiate_one_module_from_many_threads),
          TEST_ENTRY(big_initial_memory_is_lazy), TEST_ENTRY(nested_calls_from_host_functions),
          TEST_ENTRY(instance_keeps_its_module_alive),
          TEST_ENTRY(fuel_counts_entries_and_back_edges), TEST_ENTRY(externref_through_the_api),
          TEST_ENTRY(allocation_failures_are_handled),
          TEST_ENTRY(one_import_set_serves_many_threads))

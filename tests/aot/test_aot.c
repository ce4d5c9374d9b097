/*
 * test_aot.c - the AOT tier (wapc/aot/corral_aot.h): compiles limits.wat's
 * module once, then checks every behaviour against the interpreter running
 * the same module in the same process - values of each type, memory and its
 * page cap, traps and their codes, fuel, deadline, interrupt, call depth,
 * call_indirect, host imports (results and traps) - and the artifact rules:
 * hash and ABI checks, truncation, the cache directory's permissions.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aot_int.h" /* aot_loops_*: which loops go unchecked */
#include "corral_aot.h"
#include "corral_claims.h"
#include "corral_vm.h"
#include "test.h"

static char dir[256], art[300];
static corral_aot_module_t *amod;
static corral_vm_module_t *vmod;

static corral_status_t host_add(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    (void)caller;
    sp[0] = (uint64_t)(uint32_t)sp[0] + sp[1] + (uint64_t)(uintptr_t)user;
    return CORRAL_OK;
}

static corral_status_t host_fail(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    (void)user;
    return corral_vm_trap(caller, CORRAL_ERR_TRAP_HOST, "host refused %u", (unsigned)sp[0]);
}

/* Both tiers side by side. */
typedef struct pair {
    corral_aot_instance_t *a;
    corral_vm_instance_t *v;
    corral_vm_imports_t *imp;
} pair_t;

/* Compiles the module once (the first test that needs it); each test then
 * loads its own module objects (mods_open/mods_close) so the harness's
 * per-test leak check sees balanced allocations. */
static int under_valgrind(void) {
    const char *v = getenv("CORRAL_UNDER_VALGRIND");
    return v && v[0] == '1';
}

static int compiled;
static uint32_t vector_loops; /* what corral_aot_compile reported */
static uint8_t *wasm_bytes;
static size_t wasm_len;

static int setup(void) {
    if (compiled) return compiled > 0;
    compiled = -1;
    corral_err_t err;
    corral_err_clear(&err);
    FILE *f = fopen(AOT_TEST_DIR "/limits.wasm", "rb");
    if (!f) return 0;
    wasm_bytes = malloc(1 << 20);
    wasm_len = fread(wasm_bytes, 1, 1 << 20, f);
    fclose(f);
    snprintf(dir, sizeof dir, "/tmp/corral-test-aot-%ld", (long)getpid());
    mkdir(dir, 0700);
    snprintf(art, sizeof art, "%s/limits.caot", dir);
    corral_aot_info_t info;
    /* valgrind does not decode AVX-512, which -march=native may use here,
     * and reports every trapped access to a guard page: explicit checks */
    corral_aot_opts_t o = {.march = under_valgrind() ? "x86-64-v3" : NULL};
    if (under_valgrind()) setenv("CORRAL_AOT_EXPLICIT_CHECKS", "1", 1);
    corral_status_t st = corral_aot_compile(wasm_bytes, wasm_len, art, &o, &info, &err);
    if (st != CORRAL_OK) {
        fprintf(stderr, "  compile: %s\n", corral_err_msg(&err));
        return 0;
    }
    char hash[65];
    if (corral_claims_module_hash(wasm_bytes, wasm_len, hash, &err) != CORRAL_OK) return 0;
    if (strcmp(hash, info.module_hash) != 0) return 0;
    vector_loops = info.vector_loops;
    compiled = 1;
    return 1;
}

static int mods_open(void) {
    if (!setup()) return 0;
    corral_err_t err;
    corral_err_clear(&err);
    char hash[65];
    if (corral_claims_module_hash(wasm_bytes, wasm_len, hash, &err) != CORRAL_OK) return 0;
    if (corral_aot_module_load(art, hash, &amod, &err) != CORRAL_OK) {
        fprintf(stderr, "  load: %s\n", corral_err_msg(&err));
        return 0;
    }
    return corral_vm_module_new(wasm_bytes, wasm_len, &vmod, &err) == CORRAL_OK;
}

static void mods_close(void) {
    corral_aot_module_free(amod);
    corral_vm_module_free(vmod);
    amod = NULL;
    vmod = NULL;
}

static corral_status_t pair_new(pair_t *p, const corral_vm_limits_t *lim, corral_err_t *aerr, corral_err_t *verr,
                                corral_status_t *vst) {
    memset(p, 0, sizeof *p);
    corral_aot_hostfn_t fns[2] = {{host_add, (void *)(uintptr_t)1000}, {host_fail, NULL}};
    p->imp = corral_vm_imports_new();
    corral_vm_imports_add_func(p->imp, "env", "host_add", "iI:I", host_add, (void *)(uintptr_t)1000, NULL);
    corral_vm_imports_add_func(p->imp, "env", "host_fail", "i:", host_fail, NULL, NULL);
    *vst = corral_vm_instance_new(vmod, p->imp, lim, NULL, &p->v, verr);
    return corral_aot_instance_new(amod, fns, 2, lim, NULL, &p->a, aerr);
}

static void pair_free(pair_t *p) {
    corral_aot_instance_free(p->a);
    corral_vm_instance_free(p->v);
    corral_vm_imports_free(p->imp);
}

/* Calls name on both tiers; checks status, results and trap text agree.
 * Returns the status. */
static corral_status_t both(pair_t *p, const char *name, const uint64_t *args, uint32_t na, uint64_t *res,
                            uint32_t nr) {
    corral_err_t ea, ev;
    corral_err_clear(&ea);
    corral_err_clear(&ev);
    uint64_t ra[4] = {0}, rv[4] = {0};
    int32_t idx = corral_aot_module_func(amod, name, strlen(name), NULL);
    CHECK(idx >= 0);
    corral_vm_extern_t f;
    CHECK(corral_vm_instance_export(p->v, name, &f) == CORRAL_OK);
    corral_status_t sa = corral_aot_call(p->a, idx, args, na, ra, nr, &ea);
    corral_status_t sv = corral_vm_call(p->v, f, args, na, rv, nr, &ev);
    if (sa != sv || (sa != CORRAL_OK && strcmp(corral_err_msg(&ea), corral_err_msg(&ev)) != 0))
        fprintf(stderr, "  %s: aot %s '%s' vs interp %s '%s'\n", name, corral_status_name(sa), corral_err_msg(&ea),
                corral_status_name(sv), corral_err_msg(&ev));
    CHECK_EQ_INT(sa, sv);
    if (sa == CORRAL_OK && sv == CORRAL_OK)
        for (uint32_t i = 0; i < nr; i++) CHECK(ra[i] == rv[i]);
    else if (sa == sv && sa != CORRAL_ERR_TRAP_DEADLINE)
        CHECK_EQ_STR(corral_err_msg(&ea), corral_err_msg(&ev));
    if (res)
        for (uint32_t i = 0; i < nr; i++) res[i] = ra[i];
    return sa;
}

TEST(values) {
    REQUIRE(mods_open());
    pair_t p;
    corral_err_t ea, ev;
    corral_status_t vst;
    REQUIRE(pair_new(&p, NULL, &ea, &ev, &vst) == CORRAL_OK);
    REQUIRE(vst == CORRAL_OK);
    uint64_t r[1];
    CHECK(both(&p, "started", NULL, 0, r, 1) == CORRAL_OK && r[0] == 42);
    uint64_t a2[2] = {0xffffffffu, 2};
    CHECK(both(&p, "add", a2, 2, r, 1) == CORRAL_OK && r[0] == 1);
    uint64_t m2[2] = {0x100000001ull, 3};
    CHECK(both(&p, "mul64", m2, 2, r, 1) == CORRAL_OK && r[0] == 0x300000003ull);
    uint64_t f1 = 0x3fc00000u; /* 1.5f */
    CHECK(both(&p, "f32neg", &f1, 1, r, 1) == CORRAL_OK && r[0] == 0xbfc00000u);
    double d = 1.25, d2;
    uint64_t db;
    memcpy(&db, &d, 8);
    CHECK(both(&p, "f64x2", &db, 1, r, 1) == CORRAL_OK);
    memcpy(&d2, &r[0], 8);
    CHECK(d2 == 2.5);
    uint64_t h[2] = {5, 7};
    CHECK(both(&p, "call_host", h, 2, r, 1) == CORRAL_OK && r[0] == 1012);
    pair_free(&p);
    mods_close();
}

TEST(memory) {
    REQUIRE(mods_open());
    pair_t p;
    corral_err_t ea, ev;
    corral_status_t vst;
    corral_vm_limits_t lim = {.max_pages = 2};
    REQUIRE(pair_new(&p, &lim, &ea, &ev, &vst) == CORRAL_OK);
    uint64_t r[1], a[2] = {100, 0xdeadbeef};
    CHECK(both(&p, "store", a, 2, NULL, 0) == CORRAL_OK);
    CHECK(both(&p, "load", a, 1, r, 1) == CORRAL_OK && r[0] == 0xdeadbeef);
    uint8_t *s = corral_aot_memory_slice(p.a, 100, 4);
    REQUIRE(s != NULL);
    CHECK(s[0] == 0xef && s[3] == 0xde);
    CHECK(corral_aot_memory_slice(p.a, 65533, 4) == NULL);
    CHECK(corral_aot_memory_size(p.a) == 65536);
    uint64_t oob = 65534;
    CHECK(both(&p, "load", &oob, 1, r, 1) == CORRAL_ERR_TRAP_MEMORY_OOB);
    uint64_t one = 1;
    CHECK(both(&p, "grow", &one, 1, r, 1) == CORRAL_OK && r[0] == 1);
    CHECK(corral_aot_memory_size(p.a) == 2 * 65536);
    CHECK(both(&p, "load", &oob, 1, r, 1) == CORRAL_OK);
    /* the host's cap (2 pages) is below the declared maximum (4) */
    CHECK(both(&p, "grow", &one, 1, r, 1) == CORRAL_OK && r[0] == 0xffffffffu);
    CHECK(both(&p, "size", NULL, 0, r, 1) == CORRAL_OK && r[0] == 2);
    pair_free(&p);
    mods_close();
}

TEST(traps) {
    REQUIRE(mods_open());
    pair_t p;
    corral_err_t ea, ev;
    corral_status_t vst;
    REQUIRE(pair_new(&p, NULL, &ea, &ev, &vst) == CORRAL_OK);
    uint64_t r[1];
    uint64_t dz[2] = {1, 0}, ov[2] = {0x80000000u, 0xffffffffu};
    CHECK(both(&p, "div", dz, 2, r, 1) == CORRAL_ERR_TRAP_DIV_ZERO);
    CHECK(both(&p, "div", ov, 2, r, 1) == CORRAL_ERR_TRAP_INT_OVERFLOW);
    double nan = __builtin_nan(""), big = 1e300;
    uint64_t b;
    memcpy(&b, &nan, 8);
    CHECK(both(&p, "trunc", &b, 1, r, 1) == CORRAL_ERR_TRAP_INVALID_CONVERSION);
    memcpy(&b, &big, 8);
    CHECK(both(&p, "trunc", &b, 1, r, 1) == CORRAL_ERR_TRAP_INT_OVERFLOW);
    CHECK(both(&p, "unreachable", NULL, 0, NULL, 0) == CORRAL_ERR_TRAP_UNREACHABLE);
    uint64_t i0 = 0, i1 = 1, i2 = 2, i9 = 9;
    CHECK(both(&p, "indirect", &i0, 1, r, 1) == CORRAL_OK && r[0] == 5);
    CHECK(both(&p, "indirect", &i1, 1, r, 1) == CORRAL_ERR_TRAP_INDIRECT_MISMATCH);
    CHECK(both(&p, "indirect", &i2, 1, r, 1) == CORRAL_ERR_TRAP_UNINITIALIZED_ELEMENT);
    CHECK(both(&p, "indirect", &i9, 1, r, 1) == CORRAL_ERR_TRAP_UNDEFINED_ELEMENT);
    uint64_t seven = 7;
    CHECK(both(&p, "call_fail", &seven, 1, NULL, 0) == CORRAL_ERR_TRAP_HOST);
    corral_err_t e;
    corral_err_clear(&e);
    int32_t idx = corral_aot_module_func(amod, "call_fail", 9, NULL);
    CHECK(corral_aot_call(p.a, idx, &seven, 1, NULL, 0, &e) == CORRAL_ERR_TRAP_HOST);
    CHECK_CONTAINS(corral_err_msg(&e), "host refused 7");
    CHECK(both(&p, "forever", NULL, 0, NULL, 0) == CORRAL_ERR_TRAP_STACK_EXHAUSTED);
    /* the instance still works after every trap */
    uint64_t a2[2] = {2, 3};
    CHECK(both(&p, "add", a2, 2, r, 1) == CORRAL_OK && r[0] == 5);
    /* wrong argument counts */
    CHECK(corral_aot_call(p.a, corral_aot_module_func(amod, "add", 3, NULL), a2, 1, r, 1, &e) ==
          CORRAL_ERR_INVALID_ARG);
    pair_free(&p);
    mods_close();
}

TEST(call_depth) {
    REQUIRE(mods_open());
    pair_t p;
    corral_err_t ea, ev;
    corral_status_t vst;
    corral_vm_limits_t lim = {.max_call_depth = 100};
    REQUIRE(pair_new(&p, &lim, &ea, &ev, &vst) == CORRAL_OK);
    uint64_t r[1], n = 90;
    CHECK(both(&p, "down", &n, 1, r, 1) == CORRAL_OK && r[0] == 90);
    n = 150;
    CHECK(both(&p, "down", &n, 1, r, 1) == CORRAL_ERR_TRAP_STACK_EXHAUSTED);
    /* exact edge: depth 100 allowed (down(99) is 100 frames), 101 not */
    n = 99;
    corral_err_t e;
    corral_err_clear(&e);
    int32_t idx = corral_aot_module_func(amod, "down", 4, NULL);
    CHECK(corral_aot_call(p.a, idx, &n, 1, r, 1, &e) == CORRAL_OK);
    n = 100;
    CHECK(corral_aot_call(p.a, idx, &n, 1, r, 1, &e) == CORRAL_ERR_TRAP_STACK_EXHAUSTED);
    pair_free(&p);
    mods_close();
}

TEST(fuel) {
    REQUIRE(mods_open());
    pair_t p;
    corral_err_t ea, ev;
    corral_status_t vst;
    corral_vm_limits_t lim = {.fuel = 100000};
    REQUIRE(pair_new(&p, &lim, &ea, &ev, &vst) == CORRAL_OK);
    uint64_t r[1], n = 1000;
    CHECK(both(&p, "count", &n, 1, r, 1) == CORRAL_OK && r[0] == 1000);
    CHECK(both(&p, "spin", NULL, 0, NULL, 0) == CORRAL_ERR_TRAP_FUEL_EXHAUSTED);
    n = 10000000;
    CHECK(both(&p, "count", &n, 1, r, 1) == CORRAL_ERR_TRAP_FUEL_EXHAUSTED);
    /* fuel is per call: a small call still succeeds afterwards */
    n = 10;
    CHECK(both(&p, "count", &n, 1, r, 1) == CORRAL_OK && r[0] == 10);
    pair_free(&p);
    mods_close();
}

TEST(deadline) {
    REQUIRE(mods_open());
    pair_t p;
    corral_err_t ea, ev;
    corral_status_t vst;
    corral_vm_limits_t lim = {.deadline_ns = 50 * 1000 * 1000};
    REQUIRE(pair_new(&p, &lim, &ea, &ev, &vst) == CORRAL_OK);
    corral_err_t e;
    corral_err_clear(&e);
    int32_t idx = corral_aot_module_func(amod, "spin", 4, NULL);
    uint64_t t0 = corral_now_ns();
    CHECK(corral_aot_call(p.a, idx, NULL, 0, NULL, 0, &e) == CORRAL_ERR_TRAP_DEADLINE);
    uint64_t ms = (corral_now_ns() - t0) / 1000000;
    CHECK(ms >= 50 && ms < 5000);
    CHECK_CONTAINS(corral_err_msg(&e), "deadline exceeded after 50 ms");
    pair_free(&p);
    mods_close();
}

/* Recursion without loops (2^60 calls) is stopped too: fuel, deadline and
 * interrupt are checked at function entries, also in calls gcc inlined. */
TEST(recursion_limits) {
    REQUIRE(mods_open());
    pair_t p;
    corral_err_t ea, ev;
    corral_status_t vst;
    corral_vm_limits_t lim = {.deadline_ns = 50 * 1000 * 1000};
    REQUIRE(pair_new(&p, &lim, &ea, &ev, &vst) == CORRAL_OK);
    uint64_t n = 60;
    CHECK(both(&p, "fan", &n, 1, NULL, 0) == CORRAL_ERR_TRAP_DEADLINE);
    pair_free(&p);
    /* fan(n) makes 2^(n+1) - 1 calls: fan(10) needs 2047 units of fuel */
    corral_vm_limits_t lf = {.fuel = 2047};
    REQUIRE(pair_new(&p, &lf, &ea, &ev, &vst) == CORRAL_OK);
    n = 10;
    CHECK(both(&p, "fan", &n, 1, NULL, 0) == CORRAL_OK);
    n = 11;
    CHECK(both(&p, "fan", &n, 1, NULL, 0) == CORRAL_ERR_TRAP_FUEL_EXHAUSTED);
    n = 60;
    CHECK(both(&p, "fan", &n, 1, NULL, 0) == CORRAL_ERR_TRAP_FUEL_EXHAUSTED);
    pair_free(&p);
    mods_close();
}

static void *interrupter(void *arg) {
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    corral_aot_instance_interrupt(arg);
    return NULL;
}

TEST(interrupt) {
    REQUIRE(mods_open());
    pair_t p;
    corral_err_t ea, ev;
    corral_status_t vst;
    REQUIRE(pair_new(&p, NULL, &ea, &ev, &vst) == CORRAL_OK);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, interrupter, p.a) == 0);
    corral_err_t e;
    corral_err_clear(&e);
    int32_t idx = corral_aot_module_func(amod, "spin", 4, NULL);
    CHECK(corral_aot_call(p.a, idx, NULL, 0, NULL, 0, &e) == CORRAL_ERR_TRAP_INTERRUPTED);
    pthread_join(t, NULL);
    pair_free(&p);
    mods_close();
}

/* Fuel is charged per function entry and per jump back to a loop start on
 * both tiers: count(n) costs n + 1 units (the export's entry, n jumps back),
 * so it runs with exactly that much fuel and traps with one unit less. */
TEST(fuel_edge) {
    REQUIRE(mods_open());
    uint32_t ns[] = {0, 1, 10, 4094, 4095, 4096, 5000, 9000};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        for (uint64_t fuel = ns[i]; fuel <= (uint64_t)ns[i] + 1; fuel++) {
            if (!fuel) continue; /* 0 means no fuel limit */
            pair_t p;
            corral_err_t ea, ev;
            corral_status_t vst;
            corral_vm_limits_t lim = {.fuel = fuel};
            REQUIRE(pair_new(&p, &lim, &ea, &ev, &vst) == CORRAL_OK);
            uint64_t r[1], n = ns[i];
            corral_status_t want = fuel == (uint64_t)ns[i] + 1 ? CORRAL_OK : CORRAL_ERR_TRAP_FUEL_EXHAUSTED;
            CHECK_EQ_INT(both(&p, "count", &n, 1, r, 1), want);
            pair_free(&p);
        }
    }
    mods_close();
}

/* With a call depth limit far beyond what the native stack holds, the
 * stack guard stops "forever" before the stack ends: on the main thread
 * (whose bounds come from the stack size limit) and on a thread with a
 * small stack (from its attributes). */
static void *forever_on_thread(void *arg) {
    corral_aot_instance_t *inst = arg;
    corral_err_t e;
    corral_err_clear(&e);
    int32_t idx = corral_aot_module_func(amod, "forever", 7, NULL);
    return (void *)(uintptr_t)(corral_aot_call(inst, idx, NULL, 0, NULL, 0, &e) == CORRAL_ERR_TRAP_STACK_EXHAUSTED);
}

TEST(native_stack_guard) {
    REQUIRE(mods_open());
    pair_t p;
    corral_err_t ea, ev;
    corral_status_t vst;
    corral_vm_limits_t lim = {.max_call_depth = 100000000};
    REQUIRE(pair_new(&p, &lim, &ea, &ev, &vst) == CORRAL_OK);
    CHECK(forever_on_thread(p.a) != NULL);
    CHECK(forever_on_thread(p.a) != NULL); /* cached bounds, same answer */
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 1u << 20);
    pthread_t t;
    void *ok = NULL;
    REQUIRE(pthread_create(&t, &a, forever_on_thread, p.a) == 0);
    pthread_join(t, &ok);
    pthread_attr_destroy(&a);
    CHECK(ok != NULL);
    pair_free(&p);
    mods_close();
}

/* Loops the C compiler vectorises go without a check on their back-edge
 * (aot_loops.c): same results, same traps, and the fuel verdict at the
 * exact edge, including when one call's count crosses refills of 4096. */
TEST(vector_loops) {
    REQUIRE(mods_open());
    /* vadd's inner loop and vadd_high; not chase (unbounded), not the outer
     * loop (it holds another loop); explicit checks vectorise nothing */
    if (under_valgrind()) CHECK_EQ_INT(vector_loops, 0);
    else CHECK_EQ_INT(vector_loops, 2);
    pair_t p;
    corral_err_t ea, ev;
    corral_status_t vst;
    REQUIRE(pair_new(&p, NULL, &ea, &ev, &vst) == CORRAL_OK);
    uint64_t reps = 3, r[1];
    CHECK_EQ_INT(both(&p, "vadd", &reps, 1, NULL, 0), CORRAL_OK);
    uint64_t addrs[] = {0x8000, 0x8004, 0x8800, 0x8ffc, 0x9000};
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        CHECK_EQ_INT(both(&p, "load", &addrs[i], 1, r, 1), CORRAL_OK);
        CHECK(r[0] == (addrs[i] < 0x9000 ? 3u : 0u));
    }
    /* 0xf800 + 4096 crosses the end of the one page */
    CHECK_EQ_INT(both(&p, "vadd_high", NULL, 0, NULL, 0), CORRAL_ERR_TRAP_MEMORY_OOB);
    uint64_t one = 1;
    CHECK_EQ_INT(both(&p, "grow", &one, 1, r, 1), CORRAL_OK);
    CHECK_EQ_INT(both(&p, "vadd_high", NULL, 0, NULL, 0), CORRAL_OK);
    uint64_t hi = 0x107fc;
    CHECK_EQ_INT(both(&p, "load", &hi, 1, r, 1), CORRAL_OK);
    CHECK(r[0] == 1);
    pair_free(&p);

    /* the fuel edge: reps * 1024 units (entry, 1023 inner and reps - 1
     * outer back-edges); 5 reps cross the 4096-unit refill */
    uint64_t repss[] = {1, 5};
    for (size_t k = 0; k < 2; k++) {
        int ok = 0, out = 0;
        for (uint64_t fuel = repss[k] * 1024 - 2; fuel <= repss[k] * 1024 + 2; fuel++) {
            corral_vm_limits_t lim = {.fuel = fuel};
            REQUIRE(pair_new(&p, &lim, &ea, &ev, &vst) == CORRAL_OK);
            corral_status_t s = both(&p, "vadd", &repss[k], 1, NULL, 0);
            ok += s == CORRAL_OK;
            out += s == CORRAL_ERR_TRAP_FUEL_EXHAUSTED;
            CHECK(s == (fuel >= repss[k] * 1024 ? CORRAL_OK : CORRAL_ERR_TRAP_FUEL_EXHAUSTED));
            pair_free(&p);
        }
        CHECK(ok > 0 && out > 0);
    }

    /* the deadline still stops a long run of unchecked inner loops: the
     * outer loop's checks come every 1024 units */
    corral_vm_limits_t dl = {.deadline_ns = 20 * 1000 * 1000};
    REQUIRE(pair_new(&p, &dl, &ea, &ev, &vst) == CORRAL_OK);
    uint64_t forever = 1000000000u;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ_INT(both(&p, "vadd", &forever, 1, NULL, 0), CORRAL_ERR_TRAP_DEADLINE);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 2000); /* both tiers, 20 ms each */
    pair_free(&p);

    /* a loop nothing bounds keeps its check: a cycle in memory */
    corral_vm_limits_t lim = {.fuel = 100000};
    REQUIRE(pair_new(&p, &lim, &ea, &ev, &vst) == CORRAL_OK);
    uint64_t cyc[2] = {0x100, 0x100}, start = 0x100;
    CHECK_EQ_INT(both(&p, "store", cyc, 2, NULL, 0), CORRAL_OK);
    CHECK_EQ_INT(both(&p, "chase", &start, 1, r, 1), CORRAL_ERR_TRAP_FUEL_EXHAUSTED);
    pair_free(&p);
    mods_close();
}

/* From the cache (trust.from_cache): the first load writes <artifact>.so
 * and maps it, later loads map it again; a damaged copy is written again;
 * the same checks still run on the artifact's header; nothing is written
 * beside an artifact outside such a place. */
static int same_add(corral_aot_module_t *m) {
    corral_aot_instance_t *in = NULL;
    corral_err_t e;
    corral_err_clear(&e);
    corral_aot_hostfn_t fns[2] = {{host_add, NULL}, {host_fail, NULL}};
    if (corral_aot_instance_new(m, fns, 2, NULL, NULL, &in, &e) != CORRAL_OK) return 0;
    uint64_t a[2] = {40, 2}, r = 0;
    int ok = corral_aot_call(in, corral_aot_module_func(m, "add", 3, NULL), a, 2, &r, 1, &e) == CORRAL_OK && r == 42;
    corral_aot_instance_free(in);
    return ok;
}

TEST(cache_sidecar) {
    REQUIRE(mods_open());
    corral_err_t e;
    corral_err_clear(&e);
    char hash[65], d[300], a2[400], so[420];
    REQUIRE(corral_claims_module_hash(wasm_bytes, wasm_len, hash, &e) == CORRAL_OK);
    snprintf(d, sizeof d, "%s/cache", dir);
    REQUIRE(mkdir(d, 0700) == 0);
    snprintf(a2, sizeof a2, "%s/x.caot", d);
    snprintf(so, sizeof so, "%s.so", a2);
    corral_buf_t b = {0};
    REQUIRE(corral_file_read(art, 1 << 30, &b, &e) == CORRAL_OK);
    REQUIRE(corral_file_write(a2, b.data, b.len, 0600, &e) == CORRAL_OK);
    corral_aot_info_t info;
    REQUIRE(corral_aot_info_read(a2, &info, &e) == CORRAL_OK);
    corral_aot_trust_t tr = {.from_cache = 1};
    corral_aot_module_t *m = NULL;
    struct stat st1, st2;
    FILE *f;

    REQUIRE(corral_aot_module_load_trusted(a2, hash, &tr, &m, &e) == CORRAL_OK);
    CHECK(same_add(m));
    corral_aot_module_free(m);
    REQUIRE(stat(so, &st1) == 0);
    CHECK((uint64_t)st1.st_size == info.elf_bytes);
    CHECK((st1.st_mode & 0777) == 0600);
    REQUIRE(corral_aot_module_load_trusted(a2, hash, &tr, &m, &e) == CORRAL_OK);
    CHECK(same_add(m));
    corral_aot_module_free(m);
    REQUIRE(stat(so, &st2) == 0);
    CHECK(st1.st_ino == st2.st_ino); /* mapped again, not rewritten */

    /* damaged in place (same size, newer): written again, and it runs */
    f = fopen(so, "r+b");
    REQUIRE(f != NULL);
    fwrite("JUNK", 1, 4, f);
    fclose(f);
    REQUIRE(corral_aot_module_load_trusted(a2, hash, &tr, &m, &e) == CORRAL_OK);
    CHECK(same_add(m));
    corral_aot_module_free(m);
    char magic[4] = {0};
    f = fopen(so, "rb");
    REQUIRE(f != NULL);
    CHECK(fread(magic, 1, 4, f) == 4 && memcmp(magic, "\177ELF", 4) == 0);
    fclose(f);

    /* the header's checks run first: a wrong hash is refused */
    char wrong[65];
    memset(wrong, 'B', 64);
    wrong[64] = 0;
    CHECK(corral_aot_module_load_trusted(a2, wrong, &tr, &m, &e) == CORRAL_ERR_INVALID);
    CHECK_CONTAINS(corral_err_msg(&e), "is for module");

    /* not from a cache, or a directory others may write: no copy beside it */
    unlink(so);
    REQUIRE(corral_aot_module_load(a2, hash, &m, &e) == CORRAL_OK);
    corral_aot_module_free(m);
    CHECK(access(so, F_OK) != 0);
    REQUIRE(chmod(d, 0775) == 0);
    REQUIRE(corral_aot_module_load_trusted(a2, hash, &tr, &m, &e) == CORRAL_OK);
    CHECK(same_add(m));
    corral_aot_module_free(m);
    CHECK(access(so, F_OK) != 0);

    unlink(a2);
    rmdir(d);
    corral_buf_free(&b);
    mods_close();
}

/* Which back-edges go unchecked, on wasm2c-shaped text and dump lines:
 * only an innermost loop with one back-edge and no call, and only when the
 * compiler vectorised every copy with a constant count within the bound. */
TEST(loop_report) {
    static const char src[] = "static void w2c_f(Z_m_instance_t* instance, u32 w2c_p0) {\n" /* 1 */
                              "  w2c_L1: \n"
                              "    w2c_i0 = i32_load(&instance->w2c_memory, (u64)(w2c_i0));\n"
                              "    if (w2c_i0) {goto w2c_L1;}\n" /* 4: candidate */
                              "  w2c_L2: \n"
                              "    w2c_i0 = w2c_g(instance, w2c_i0);\n"
                              "    if (w2c_i0) {goto w2c_L2;}\n" /* 7: a call */
                              "  w2c_L3: \n"
                              "    w2c_L4: \n"
                              "      if (w2c_i0) {goto w2c_L4;}\n" /* 10: candidate */
                              "    if (w2c_i0) {goto w2c_L3;}\n"   /* 11: holds a loop */
                              "  w2c_L5: \n"
                              "    if (w2c_i0) {goto w2c_L5;}\n" /* 13: two back-edges */
                              "    if (w2c_i1) {goto w2c_L5;}\n"
                              "  FUNC_EPILOGUE;\n"
                              "}\n";
    struct {
        const char *dump;
        size_t kept;
    } cases[] = {
        {"patched.c:4:8: optimized: loop vectorized using 64 byte vectors\n"
         "patched.c:4:8: note:  vectorization_factor = 16, niters = 128\n", 1},
        {"/tmp/x/patched.c:4:8: optimized: loop vectorized using 64 byte vectors\n"
         "/tmp/x/patched.c:4:8: note:  vectorization_factor = 16, niters = 1048576\n"
         "patched.c:10:8: optimized: loop vectorized using 32 byte vectors\n"
         "patched.c:10:8: note:  vectorization_factor = 8, niters = 64\n", 2},
        /* above 2^20 iterations, symbolic, with assumptions, one copy not
         * vectorised, no count seen, not vectorised, not a candidate */
        {"patched.c:4:8: optimized: loop vectorized using 64 byte vectors\n"
         "patched.c:4:8: note:  vectorization_factor = 16, niters = 1048577\n", 0},
        {"patched.c:4:8: optimized: loop vectorized using 64 byte vectors\n"
         "patched.c:4:8: note:   Symbolic number of iterations is n_5\n"
         "patched.c:4:8: note:  vectorization_factor = 16, niters = 128\n", 0},
        {"patched.c:4:8: optimized: loop vectorized using 64 byte vectors\n"
         "patched.c:4:8: missed: niters analysis ends up with assumptions.\n"
         "patched.c:4:8: note:  vectorization_factor = 16, niters = 128\n", 0},
        {"patched.c:4:8: optimized: loop vectorized using 64 byte vectors\n"
         "patched.c:4:8: note:  vectorization_factor = 16, niters = 128\n"
         "patched.c:4:8: missed: couldn't vectorize loop\n", 0},
        {"patched.c:4:8: optimized: loop vectorized using 64 byte vectors\n", 0},
        {"patched.c:4:8: note:  vectorization_factor = 16, niters = 128\n", 0},
        {"patched.c:7:8: optimized: loop vectorized using 64 byte vectors\n"
         "patched.c:7:8: note:  vectorization_factor = 16, niters = 8\n"
         "patched.c:13:8: optimized: loop vectorized using 64 byte vectors\n"
         "patched.c:13:8: note:  vectorization_factor = 16, niters = 8\n"
         "patched.c:11:8: optimized: loop vectorized using 64 byte vectors\n"
         "patched.c:11:8: note:  vectorization_factor = 16, niters = 8\n", 0},
        {"", 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        aot_loops_t l;
        REQUIRE(aot_loops_scan(src, sizeof src - 1, "(&instance->w2c_memory, (u64)", &l) == CORRAL_OK);
        CHECK_EQ_INT(l.ncandidates, 2);
        CHECK(l.flags[3] & AOT_LINE_EDGE);
        CHECK(l.flags[9] & AOT_LINE_EDGE);
        CHECK(!(l.flags[6] & AOT_LINE_EDGE) && !(l.flags[10] & AOT_LINE_EDGE) && !(l.flags[12] & AOT_LINE_EDGE));
        CHECK(l.flags[2] & AOT_LINE_NB);  /* the load inside the candidate */
        CHECK(!(l.flags[5] & AOT_LINE_NB));
        size_t kept = aot_loops_apply_report(&l, cases[c].dump, strlen(cases[c].dump));
        if (kept != cases[c].kept) fprintf(stderr, "  case %zu: kept %zu\n", c, kept);
        CHECK_EQ_INT(kept, cases[c].kept);
        CHECK(((l.flags[3] & AOT_LINE_EDGE) != 0) == (kept >= 1));
        CHECK(((l.flags[2] & AOT_LINE_NB) != 0) == (kept >= 1)); /* a loop kept checked keeps its barrier */
        aot_loops_free(&l);
    }
}

/* Out-of-bounds accesses fault on guard pages; the trap must come back
 * every time (the signal is not left blocked) and on every thread. */
static void *oob_loop(void *arg) {
    corral_aot_instance_t *inst = arg;
    int32_t ld = corral_aot_module_func(amod, "load", 4, NULL);
    int32_t st = corral_aot_module_func(amod, "store", 5, NULL);
    long bad = 0;
    for (int i = 0; i < 2000; i++) {
        corral_err_t e;
        corral_err_clear(&e);
        uint64_t a = 65533 + (uint64_t)(i % 3) * 0x40000000u, r = 0, sa[2] = {0xfffffffcu, 1};
        if (corral_aot_call(inst, ld, &a, 1, &r, 1, &e) != CORRAL_ERR_TRAP_MEMORY_OOB) bad++;
        if (corral_aot_call(inst, st, sa, 2, NULL, 0, &e) != CORRAL_ERR_TRAP_MEMORY_OOB) bad++;
        uint64_t ok = 8;
        if (corral_aot_call(inst, ld, &ok, 1, &r, 1, &e) != CORRAL_OK) bad++;
    }
    return (void *)bad;
}

TEST(guard_pages) {
    REQUIRE(mods_open());
    pair_t p1, p2;
    corral_err_t ea, ev;
    corral_status_t vst;
    REQUIRE(pair_new(&p1, NULL, &ea, &ev, &vst) == CORRAL_OK);
    REQUIRE(pair_new(&p2, NULL, &ea, &ev, &vst) == CORRAL_OK);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, oob_loop, p2.a) == 0);
    long bad1 = (long)oob_loop(p1.a);
    void *bad2 = NULL;
    pthread_join(t, &bad2);
    CHECK_EQ_INT(bad1, 0);
    CHECK_EQ_INT((long)bad2, 0);
    /* the highest address a load can form (index + offset near 8 GiB)
     * traps like any other */
    uint64_t r[1], hi = 0xffffffffu;
    CHECK(both(&p1, "load", &hi, 1, r, 1) == CORRAL_ERR_TRAP_MEMORY_OOB);
    pair_free(&p1);
    pair_free(&p2);
    mods_close();
}

/* An import that calls into another instance of the same artifact (nested
 * entry on one thread): the inner call's trap (a guard-page fault) lands in
 * the inner entry, and the outer call goes on with its own fuel and depth
 * (kept in registers across the import) and can still trap itself. */
static corral_aot_instance_t *inner_inst;
static int inner_traps;

static corral_status_t host_nested(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    (void)caller;
    (void)user;
    corral_err_t e;
    corral_err_clear(&e);
    uint64_t a = 0xfffffff0u, r = 0;
    if (corral_aot_call(inner_inst, corral_aot_module_func(amod, "load", 4, NULL), &a, 1, &r, 1, &e) ==
        CORRAL_ERR_TRAP_MEMORY_OOB)
        inner_traps++;
    uint64_t n = 50;
    if (corral_aot_call(inner_inst, corral_aot_module_func(amod, "count", 5, NULL), &n, 1, &r, 1, &e) == CORRAL_OK &&
        r == 50)
        inner_traps += 100;
    sp[0] = (uint64_t)(uint32_t)sp[0] + sp[1];
    return CORRAL_OK;
}

TEST(nested_entry) {
    REQUIRE(mods_open());
    corral_err_t e;
    corral_err_clear(&e);
    corral_aot_hostfn_t fns[2] = {{host_nested, NULL}, {host_fail, NULL}};
    corral_vm_limits_t lim = {.fuel = 10};
    corral_aot_instance_t *outer = NULL;
    REQUIRE(corral_aot_instance_new(amod, fns, 2, &lim, NULL, &outer, &e) == CORRAL_OK);
    REQUIRE(corral_aot_instance_new(amod, fns, 2, NULL, NULL, &inner_inst, &e) == CORRAL_OK);
    inner_traps = 0;
    uint64_t a[2] = {3, 4}, r = 0;
    CHECK_EQ_INT(corral_aot_call(outer, corral_aot_module_func(amod, "call_host", 9, NULL), a, 2, &r, 1, &e),
                 CORRAL_OK);
    CHECK(r == 7);
    CHECK_EQ_INT(inner_traps, 101);
    /* the outer instance's own limits still hold after the nested calls:
     * count(9) costs 10 units, count(10) 11 */
    uint64_t n = 9;
    int32_t cnt = corral_aot_module_func(amod, "count", 5, NULL);
    CHECK_EQ_INT(corral_aot_call(outer, cnt, &n, 1, &r, 1, &e), CORRAL_OK);
    n = 10;
    CHECK_EQ_INT(corral_aot_call(outer, cnt, &n, 1, &r, 1, &e), CORRAL_ERR_TRAP_FUEL_EXHAUSTED);
    /* within one call too: the loop after a nested import stops at the
     * same fuel edge as after a plain import, on both tiers */
    int32_t htc = corral_aot_module_func(amod, "host_then_count", 15, NULL);
    for (uint64_t fuel = 95; fuel <= 110; fuel++) {
        pair_t p;
        corral_err_t ea, ev;
        corral_status_t vst;
        corral_vm_limits_t lf = {.fuel = fuel};
        REQUIRE(pair_new(&p, &lf, &ea, &ev, &vst) == CORRAL_OK);
        uint64_t m = 100, rp = 0;
        corral_status_t plain = both(&p, "host_then_count", &m, 1, &rp, 1);
        pair_free(&p);
        corral_aot_instance_set_limits(outer, &lf);
        inner_traps = 0;
        CHECK_EQ_INT(corral_aot_call(outer, htc, &m, 1, &r, 1, &e), plain);
        CHECK_EQ_INT(inner_traps, 101);
        if (plain == CORRAL_OK) CHECK(r == 100);
    }
    corral_aot_instance_set_limits(outer, &lim);
    /* and its memory still traps on its own guard pages */
    uint64_t oob = 0x10000;
    CHECK_EQ_INT(corral_aot_call(outer, corral_aot_module_func(amod, "load", 4, NULL), &oob, 1, &r, 1, &e),
                 CORRAL_ERR_TRAP_MEMORY_OOB);
    corral_aot_instance_free(inner_inst);
    inner_inst = NULL;
    corral_aot_instance_free(outer);
    mods_close();
}

/* A fault in host code is never taken for a guest trap, even when the
 * host touches a guest memory's guard pages during an import: the process
 * dies with the fault (checked in a child). */
static corral_aot_instance_t *crash_inst;

static corral_status_t host_touch_guard(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    (void)caller;
    (void)user;
    volatile uint8_t *m = corral_aot_memory_slice(crash_inst, 0, 1);
    m[corral_aot_memory_size(crash_inst) + 4096] = 1; /* PROT_NONE, inside the reservation */
    sp[0] = 0;
    return CORRAL_OK;
}

TEST(host_fault_not_trapped) {
    REQUIRE(mods_open());
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        corral_aot_hostfn_t fns[2] = {{host_touch_guard, NULL}, {host_fail, NULL}};
        corral_err_t e;
        corral_err_clear(&e);
        if (corral_aot_instance_new(amod, fns, 2, NULL, NULL, &crash_inst, &e) != CORRAL_OK) _exit(4);
        uint64_t a[2] = {1, 2}, r = 0;
        corral_status_t st = corral_aot_call(crash_inst, corral_aot_module_func(amod, "call_host", 9, NULL), a, 2, &r,
                                             1, &e);
        _exit(st == CORRAL_ERR_TRAP_MEMORY_OOB ? 3 : 5); /* returned: the fault was swallowed */
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    /* plain build: killed by SIGSEGV; under ASan (the handler we chained to)
     * its report aborts or exits non-zero */
    int died = WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 3 &&
                                       WEXITSTATUS(status) != 4 && WEXITSTATUS(status) != 5);
    if (!died) fprintf(stderr, "  child status %d\n", status);
    CHECK(died);
    if (WIFSIGNALED(status)) CHECK(WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGABRT);
    mods_close();
}

TEST(artifact_checks) {
    REQUIRE(mods_open());
    corral_err_t e;
    corral_err_clear(&e);
    corral_aot_module_t *m = NULL;
    char wrong[65];
    memset(wrong, 'A', 64);
    wrong[64] = 0;
    CHECK(corral_aot_module_load(art, wrong, &m, &e) == CORRAL_ERR_INVALID);
    CHECK_CONTAINS(corral_err_msg(&e), "is for module");
    CHECK(m == NULL);
    corral_buf_t b = {0};
    REQUIRE(corral_file_read(art, 1 << 30, &b, &e) == CORRAL_OK);
    char p2[320];
    snprintf(p2, sizeof p2, "%s/bad.caot", dir);
    /* another ABI */
    char abiline[32];
    snprintf(abiline, sizeof abiline, "\nabi %u\n", corral_aot_abi());
    char *abi = strstr((char *)b.data, abiline);
    REQUIRE(abi != NULL);
    char was = abi[5];
    abi[5] = '9';
    REQUIRE(corral_file_write(p2, b.data, b.len, 0600, &e) == CORRAL_OK);
    CHECK(corral_aot_module_load(p2, NULL, &m, &e) == CORRAL_ERR_INVALID);
    CHECK_CONTAINS(corral_err_msg(&e), "ABI 9");
    abi[5] = was;
    /* truncated */
    REQUIRE(corral_file_write(p2, b.data, b.len - 100, 0600, &e) == CORRAL_OK);
    CHECK(corral_aot_module_load(p2, NULL, &m, &e) == CORRAL_ERR_INVALID);
    CHECK_CONTAINS(corral_err_msg(&e), "truncated");
    /* not an artifact at all */
    REQUIRE(corral_file_write(p2, wasm_bytes, wasm_len, 0600, &e) == CORRAL_OK);
    CHECK(corral_aot_module_load(p2, NULL, &m, &e) == CORRAL_ERR_INVALID);
    unlink(p2);
    corral_buf_free(&b);
    corral_aot_info_t info;
    CHECK(corral_aot_info_read(art, &info, &e) == CORRAL_OK);
    CHECK(info.abi == corral_aot_abi());
    CHECK_CONTAINS(info.target, under_valgrind() ? "-march=x86-64-v3" : "-march=native");
    mods_close();
}

TEST(cache_dir) {
    char c[320], got[512];
    corral_err_t e;
    corral_err_clear(&e);
    snprintf(c, sizeof c, "%s/cache", dir);
    setenv("CORRAL_AOT_CACHE", c, 1);
    CHECK(corral_aot_cache_dir(got, sizeof got, &e) == CORRAL_OK);
    CHECK_EQ_STR(got, c);
    struct stat sb;
    CHECK(stat(c, &sb) == 0 && (sb.st_mode & 0777) == 0700);
    chmod(c, 0755);
    CHECK(corral_aot_cache_dir(got, sizeof got, &e) != CORRAL_OK);
    CHECK_CONTAINS(corral_err_msg(&e), "not trusted");
    chmod(c, 0700);
    CHECK(corral_aot_cache_path("ABC", got, sizeof got, &e) == CORRAL_OK);
    CHECK_CONTAINS(got, "/ABC-abi");
    rmdir(c);
    unsetenv("CORRAL_AOT_CACHE");
}

TEST(compile_errors) {
    corral_err_t e;
    corral_err_clear(&e);
    char out[320];
    snprintf(out, sizeof out, "%s/x.caot", dir);
    static const uint8_t junk[] = {0, 'a', 's', 'm', 9, 0, 0, 0};
    CHECK(corral_aot_compile(junk, sizeof junk, out, NULL, NULL, &e) == CORRAL_ERR_MALFORMED);
    REQUIRE(setup());
    corral_aot_opts_t o = {.cc = "/nonexistent/cc"};
    CHECK(corral_aot_compile(wasm_bytes, wasm_len, out, &o, NULL, &e) == CORRAL_ERR_NOT_FOUND);
    CHECK_CONTAINS(corral_err_msg(&e), "C compiler");
    corral_aot_opts_t o2 = {.wasm2c = "/nonexistent/wasm2c"};
    CHECK(corral_aot_compile(wasm_bytes, wasm_len, out, &o2, NULL, &e) == CORRAL_ERR_NOT_FOUND);
    CHECK_CONTAINS(corral_err_msg(&e), "wasm2c");
    CHECK(access(out, F_OK) != 0);
}

/* ---- behind corral_vm.h ---- */

static corral_status_t host_add_mem(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    (void)user;
    uint8_t *p = corral_vm_memory_slice(caller, 100, 4);
    if (!p) return corral_vm_trap(caller, CORRAL_ERR_TRAP_HOST, "no memory");
    uint32_t v;
    memcpy(&v, p, 4);
    sp[0] = (uint64_t)(uint32_t)sp[0] + sp[1] + v;
    return CORRAL_OK;
}

static void *vm_interrupter(void *arg) {
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    corral_vm_instance_interrupt(arg);
    return NULL;
}

static corral_status_t vcall(corral_vm_instance_t *inst, const char *name, const uint64_t *a, uint32_t na,
                             uint64_t *r, uint32_t nr, corral_err_t *e) {
    corral_vm_extern_t f;
    if (corral_vm_instance_export(inst, name, &f) != CORRAL_OK) return CORRAL_ERR_NOT_FOUND;
    return corral_vm_call(inst, f, a, na, r, nr, e);
}

TEST(vm_api) {
    REQUIRE(setup());
    corral_err_t e;
    corral_err_clear(&e);
    corral_vm_module_t *m = NULL;
    REQUIRE(corral_aot_vm_module_new(wasm_bytes, wasm_len, art, &m, &e) == CORRAL_OK);
    corral_vm_imports_t *imp = corral_vm_imports_new();
    corral_vm_imports_add_func(imp, "env", "host_add", "iI:I", host_add_mem, NULL, NULL);
    corral_vm_instance_t *inst = NULL;
    /* an import missing: unlinkable, as on the interpreter */
    CHECK(corral_vm_instance_new(m, imp, NULL, NULL, &inst, &e) == CORRAL_ERR_UNLINKABLE);
    CHECK_CONTAINS(corral_err_msg(&e), "unknown import env.host_fail");
    corral_vm_imports_add_func(imp, "env", "host_fail", "i:", host_fail, NULL, NULL);
    int user;
    REQUIRE(corral_vm_instance_new(m, imp, NULL, &user, &inst, &e) == CORRAL_OK);
    corral_vm_module_free(m); /* instances keep their module */
    CHECK(corral_vm_instance_user(inst) == &user);
    uint64_t r[1], st2[2] = {100, 7}, h[2] = {1, 2};
    CHECK(vcall(inst, "started", NULL, 0, r, 1, &e) == CORRAL_OK && r[0] == 42);
    CHECK(vcall(inst, "store", st2, 2, NULL, 0, &e) == CORRAL_OK);
    CHECK(vcall(inst, "call_host", h, 2, r, 1, &e) == CORRAL_OK && r[0] == 10);
    uint8_t *p = corral_vm_memory_slice(inst, 100, 4);
    CHECK(p && p[0] == 7);
    CHECK(corral_vm_memory_size(inst) == 65536);
    CHECK(corral_vm_memory_slice(inst, 65535, 2) == NULL);
    uint64_t dz[2] = {1, 0};
    CHECK(vcall(inst, "div", dz, 2, r, 1, &e) == CORRAL_ERR_TRAP_DIV_ZERO);
    CHECK_CONTAINS(corral_err_msg(&e), "integer divide by zero");
    uint64_t nine = 9;
    CHECK(vcall(inst, "call_fail", &nine, 1, NULL, 0, &e) == CORRAL_ERR_TRAP_HOST);
    CHECK_CONTAINS(corral_err_msg(&e), "host refused 9");
    corral_vm_extern_t mem;
    CHECK(corral_vm_instance_export(inst, "memory", &mem) == CORRAL_ERR_NOT_FOUND);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, vm_interrupter, inst) == 0);
    CHECK(vcall(inst, "spin", NULL, 0, NULL, 0, &e) == CORRAL_ERR_TRAP_INTERRUPTED);
    pthread_join(t, NULL);
    corral_vm_limits_t lim = {.fuel = 5000};
    corral_vm_instance_set_limits(inst, &lim);
    CHECK(vcall(inst, "spin", NULL, 0, NULL, 0, &e) == CORRAL_ERR_TRAP_FUEL_EXHAUSTED);
    uint64_t a2[2] = {20, 22};
    CHECK(vcall(inst, "add", a2, 2, r, 1, &e) == CORRAL_OK && r[0] == 42);
    /* an interpreter instance cannot import a native-code function: refused
     * at link time (it would have nothing to run) */
    corral_vm_extern_t native_fn;
    REQUIRE(corral_vm_instance_export(inst, "call_host", &native_fn) == CORRAL_OK);
    corral_vm_imports_t *imp2 = corral_vm_imports_new();
    corral_vm_imports_add_extern(imp2, "env", "host_add", native_fn, NULL);
    corral_vm_imports_add_func(imp2, "env", "host_fail", "i:", host_fail, NULL, NULL);
    corral_vm_module_t *im = NULL;
    REQUIRE(corral_vm_module_new(wasm_bytes, wasm_len, &im, &e) == CORRAL_OK);
    corral_vm_instance_t *i2 = NULL;
    CHECK(corral_vm_instance_new(im, imp2, NULL, NULL, &i2, &e) == CORRAL_ERR_UNLINKABLE);
    CHECK_CONTAINS(corral_err_msg(&e), "native-code");
    CHECK(i2 == NULL);
    corral_vm_module_free(im);
    corral_vm_imports_free(imp2);
    corral_vm_instance_free(inst);
    corral_vm_imports_free(imp);
    /* an artifact of another module is refused */
    static const uint8_t empty[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    CHECK(corral_aot_vm_module_new(empty, sizeof empty, art, &m, &e) == CORRAL_ERR_INVALID);
    CHECK(m == NULL);
}

TEST(teardown) {
    free(wasm_bytes);
    wasm_bytes = NULL;
    unlink(art);
    rmdir(dir);
}

TEST_MAIN(TEST_ENTRY(values), TEST_ENTRY(memory), TEST_ENTRY(traps), TEST_ENTRY(call_depth), TEST_ENTRY(fuel),
          TEST_ENTRY(deadline), TEST_ENTRY(interrupt), TEST_ENTRY(recursion_limits), TEST_ENTRY(fuel_edge), TEST_ENTRY(vector_loops), TEST_ENTRY(native_stack_guard), TEST_ENTRY(cache_sidecar), TEST_ENTRY(loop_report), TEST_ENTRY(guard_pages), TEST_ENTRY(nested_entry),
          TEST_ENTRY(host_fault_not_trapped), TEST_ENTRY(artifact_checks), TEST_ENTRY(cache_dir),
          TEST_ENTRY(compile_errors), TEST_ENTRY(vm_api), TEST_ENTRY(teardown))

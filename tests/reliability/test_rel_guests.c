/*
 * test_rel_guests.c - hostile guests through the whole host path (issue 7):
 * each guest of tests/reliability/guests/ is signed here with the claims API
 * and started with corral_host_actor_start, then called REL_CALLS (10 000)
 * times with corral_host_call. For each attack the test checks the
 * documented error (docs/wapc.md, docs/claims.md), that the host keeps
 * answering a well-behaved actor (also while the attack runs, from another
 * thread), the time a call takes to be stopped (deadline + a bounded delay),
 * and that neither the host's counted allocations (corral_alloc_live) nor its
 * resident memory grow across the calls beyond what the actor's pool holds.
 * Each test prints one "figure:" line with what it measured
 * (docs/reliability.md quotes them).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "rel_util.h"

#ifndef REL_CALLS
#define REL_CALLS 10000
#endif
/* Slack on the counted allocations after warm-up (none expected) and on RSS
 * (malloc arenas, page cache of the guest files). */
#define REL_LIVE_SLACK 16
#define REL_RSS_SLACK_KIB (16 * 1024)
/* Bound on how late a deadline may stop a call, beyond the deadline itself.
 * Over 10 000 calls the bound applies to the 99th percentile: on a shared
 * machine the slowest single call measures the scheduler, not the host. */
#define REL_STOP_SLACK_MS 250.0

/* Under AddressSanitizer freed memory sits in its quarantine (256 MiB by
 * default), so RSS says nothing about leaks there: only the counted
 * allocations and LeakSanitizer are checked. */
#if defined(__SANITIZE_ADDRESS__)
#define REL_CHECK_RSS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REL_CHECK_RSS 0
#endif
#endif
#ifndef REL_CHECK_RSS
#define REL_CHECK_RSS 1
#endif

static int is_trap(corral_status_t st) {
    return st >= CORRAL_ERR_TRAP_UNREACHABLE && st <= CORRAL_ERR_TRAP_EXIT;
}

/* The fixture: a started host with the echo actor (alias "echo"). */
typedef struct fixture {
    char dir[64];
    corral_host_t *h;
    char echo[CORRAL_HOST_KEY_LEN];
} fixture_t;

static int fx_init(fixture_t *f) {
    memset(f, 0, sizeof *f);
    if (!tmpdir(f->dir)) return 0;
    f->h = start_host(f->dir, 0, NULL);
    if (!f->h) return 0;
    corral_err_t err;
    if (start_signed(f->h, "rel_echo", "echo", NULL, "echo", NULL, f->echo, &err) != CORRAL_OK) {
        fprintf(stderr, "  echo: %s\n", corral_err_msg(&err));
        return 0;
    }
    return 1;
}

static void fx_deinit(fixture_t *f) {
    corral_host_free(f->h);
    rmtree(f->dir);
}

/* The host still answers: the echo actor returns its payload. */
static int echo_ok(corral_host_t *h) {
    corral_buf_t r = {0};
    corral_err_t err;
    corral_status_t st = call_text(h, "echo", "x", "still here", &r, &err);
    int ok = st == CORRAL_OK && r.data && strcmp((char *)r.data, "still here") == 0;
    if (!ok) fprintf(stderr, "  echo: %s\n", corral_err_msg(&err));
    corral_buf_free(&r);
    return ok;
}

/* A thread that calls echo until told to stop, counting failures. */
typedef struct prober {
    corral_host_t *h;
    atomic_int stop;
    long calls, fails;
    double max_ms;
    pthread_t t;
} prober_t;

static void *prober_main(void *arg) {
    prober_t *p = arg;
    while (!atomic_load(&p->stop)) {
        double t0 = now_ms();
        if (!echo_ok(p->h)) p->fails++;
        double d = now_ms() - t0;
        if (d > p->max_ms) p->max_ms = d;
        p->calls++;
        usleep(2000);
    }
    return NULL;
}

static void prober_start(prober_t *p, corral_host_t *h) {
    memset(p, 0, sizeof *p);
    p->h = h;
    pthread_create(&p->t, NULL, prober_main, p);
}

static void prober_stop(prober_t *p) {
    atomic_store(&p->stop, 1);
    pthread_join(p->t, NULL);
}

/* What one run of calls measured. */
typedef struct run {
    long wrong;          /* calls whose status or message was not the expected one */
    double max_ms, sum_ms, p99_ms;
    long live0, live1;   /* counted allocations before / after */
    long rss0, rss1;     /* KiB */
    char first_msg[512]; /* the error of the first call */
} run_t;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Calls `actor` `op` n times (after `warm` warm-up calls), expecting status
 * want (or any trap when want is -1) and, when msg is not NULL, an error
 * message containing it. */
static void run_calls(corral_host_t *h, const char *actor, const char *op, long warm, long n,
                      int want, const char *msg, run_t *r) {
    memset(r, 0, sizeof *r);
    corral_buf_t resp = {0};
    corral_err_t err;
    double *lat = malloc(sizeof(double) * (size_t)(n ? n : 1));
    for (long i = 0; i < warm + n; i++) {
        if (i == warm) {
            r->live0 = corral_alloc_live();
            r->rss0 = rss_kib();
        }
        corral_err_clear(&err);
        double t0 = now_ms();
        corral_status_t st = corral_host_call(h, actor, op, (const uint8_t *)"p", 1, &resp, &err);
        double d = now_ms() - t0;
        corral_buf_free(&resp);
        if (i == 0) snprintf(r->first_msg, sizeof r->first_msg, "%s", corral_err_msg(&err));
        int ok = want == -1 ? is_trap(st) : (int)st == want;
        if (ok && msg && !strstr(corral_err_msg(&err), msg)) ok = 0;
        if (!ok) {
            if (r->wrong < 3)
                fprintf(stderr, "  call %ld of %s: %s: %s\n", i, op, corral_status_name(st),
                        corral_err_msg(&err));
            r->wrong++;
        }
        if (i >= warm) {
            r->sum_ms += d;
            if (d > r->max_ms) r->max_ms = d;
            if (lat) lat[i - warm] = d;
        }
    }
    r->live1 = corral_alloc_live();
    r->rss1 = rss_kib();
    if (lat && n > 0) {
        qsort(lat, (size_t)n, sizeof *lat, cmp_double);
        r->p99_ms = lat[(size_t)n * 99 / 100];
    }
    free(lat);
}

static void report(const char *name, const run_t *r, long n) {
    fprintf(stderr,
            "  figure: %s: %ld calls, %ld wrong, mean %.3f ms, p99 %.1f ms, max %.1f ms; live "
            "allocations %ld -> %ld; RSS %ld -> %ld KiB; error \"%s\"\n",
            name, n, r->wrong, r->sum_ms / (double)n, r->p99_ms, r->max_ms, r->live0, r->live1,
            r->rss0,
            r->rss1, r->first_msg);
}

static void check_memory(const run_t *r) {
    CHECK(r->live1 <= r->live0 + REL_LIVE_SLACK);
    if (REL_CHECK_RSS) CHECK(r->rss1 <= r->rss0 + REL_RSS_SLACK_KIB);
}

/* One hostile actor called REL_CALLS times with the expected outcome. */
static void hostile(const char *guest, const char *const *caps, const char *op,
                    const corral_host_limits_t *lim, int want, const char *msg) {
    fixture_t f;
    REQUIRE(fx_init(&f));
    char key[CORRAL_HOST_KEY_LEN];
    corral_err_t err;
    corral_status_t st = start_signed(f.h, guest, guest, caps, NULL, lim, key, &err);
    if (st != CORRAL_OK) fprintf(stderr, "  start %s: %s\n", guest, corral_err_msg(&err));
    CHECK_EQ_INT(st, CORRAL_OK);
    if (st == CORRAL_OK) {
        prober_t p;
        prober_start(&p, f.h);
        run_t r;
        run_calls(f.h, key, op, 50, REL_CALLS, want, msg, &r);
        prober_stop(&p);
        report(guest, &r, REL_CALLS);
        fprintf(stderr, "  figure: %s: echo answered %ld/%ld calls meanwhile, max %.1f ms\n",
                guest, p.calls - p.fails, p.calls, p.max_ms);
        CHECK_EQ_INT(r.wrong, 0);
        CHECK_EQ_INT(p.fails, 0);
        CHECK(p.calls > 0);
        check_memory(&r);
        corral_host_actor_stats_t s;
        CHECK_EQ_INT(corral_host_actor_stats(f.h, key, &s, NULL), CORRAL_OK);
        CHECK_EQ_INT(s.calls, REL_CALLS + 50);
        CHECK(s.instances <= s.max_instances);
    }
    CHECK(echo_ok(f.h));
    fx_deinit(&f);
}

/* A guest stopped by its deadline: first the time to stop it (10 calls with
 * a 100 ms deadline while echo is probed), then REL_CALLS calls with a 1 ms
 * deadline for the memory figures. */
static void deadline_case(const char *guest, const char *const *caps, int strict,
                          uint64_t mem_fuel) {
    fixture_t f;
    REQUIRE(fx_init(&f));
    char key[CORRAL_HOST_KEY_LEN];
    corral_err_t err;
    corral_host_limits_t lim = {0};
    lim.deadline_ms = 100;
    CHECK_EQ_INT(start_signed(f.h, guest, "slow", caps, NULL, &lim, key, &err), CORRAL_OK);
    prober_t p;
    prober_start(&p, f.h);
    run_t r;
    run_calls(f.h, key, "x", 0, 10, CORRAL_ERR_TRAP_DEADLINE, "deadline exceeded", &r);
    prober_stop(&p);
    fprintf(stderr,
            "  figure: %s: time to stop with deadline 100 ms: mean %.1f ms, max %.1f ms; echo "
            "answered %ld/%ld meanwhile, max %.1f ms; error \"%s\"\n",
            guest, r.sum_ms / 10, r.max_ms, p.calls - p.fails, p.calls, p.max_ms, r.first_msg);
    CHECK_EQ_INT(r.wrong, 0);
    CHECK(r.max_ms >= 100.0);
    if (strict) CHECK(r.max_ms <= 100.0 + REL_STOP_SLACK_MS);
    CHECK_EQ_INT(p.fails, 0);
    CHECK(p.calls > 10);
    if (strict < 0) { /* only the time to stop */
        fx_deinit(&f);
        return;
    }

    /* The memory run: a 1 ms deadline, or fuel when mem_fuel is set. */
    lim.deadline_ms = mem_fuel ? 0 : 1;
    lim.fuel = mem_fuel;
    char key1[CORRAL_HOST_KEY_LEN];
    CHECK_EQ_INT(start_signed(f.h, guest, "fast", caps, NULL, &lim, key1, &err), CORRAL_OK);
    if (mem_fuel)
        run_calls(f.h, key1, "x", 50, REL_CALLS, CORRAL_ERR_TRAP_FUEL_EXHAUSTED, "fuel exhausted",
                  &r);
    else
        run_calls(f.h, key1, "x", 50, REL_CALLS, CORRAL_ERR_TRAP_DEADLINE, "deadline exceeded",
                  &r);
    report(guest, &r, REL_CALLS);
    CHECK_EQ_INT(r.wrong, 0);
    if (!mem_fuel) CHECK(r.p99_ms <= 1.0 + REL_STOP_SLACK_MS);
    check_memory(&r);
    CHECK(echo_ok(f.h));
    fx_deinit(&f);
}

TEST(infinite_loop) { deadline_case("rel_loop", NULL, 1, 0); }

static const char *const storm_caps[] = {"wasmcloud:builtin:numbergen", NULL};

/* The storm is stopped by its deadline, but late (bugs.md: the engine checks
 * the clock every 4096 back-edges whatever they cost, so a loop of host
 * calls overshoots by 4096 host calls). This test checks the error, that
 * the host answers meanwhile, and memory over 10 000 storms stopped by fuel
 * (200 units, about 200 host calls each). The time to stop is printed but
 * not bounded here (it overshoots by 4096 host calls: 60 ms on a quiet
 * machine, over 2 s under ASan and load); host_call_storm_stop_time checks
 * the bound with slow host calls (not registered until the engine bug is
 * fixed). */
TEST(host_call_storm) { deadline_case("rel_storm", storm_caps, 0, 200); }

/* The deadline's bound when each loop iteration is a slow host call (an
 * actor -> actor call into "slowpoke", which spins until its own 1 ms
 * deadline): the caller's 100 ms deadline must still stop it within the
 * bound. The engine looks at the clock after every host function returns;
 * before that it looked only every 4096 loop iterations (about 5 s here). */
TEST(host_call_storm_stop_time) {
    fixture_t f;
    REQUIRE(fx_init(&f));
    corral_err_t err;
    corral_host_limits_t slow = {0}, lim = {0};
    slow.deadline_ms = 1;
    lim.deadline_ms = 100;
    char key[CORRAL_HOST_KEY_LEN];
    CHECK_EQ_INT(start_signed(f.h, "rel_loop", "slowpoke", NULL, "slowpoke", &slow, NULL, &err),
                 CORRAL_OK);
    CHECK_EQ_INT(start_signed(f.h, "rel_storm_slow", "storm", NULL, NULL, &lim, key, &err),
                 CORRAL_OK);
    run_t r;
    run_calls(f.h, key, "x", 0, 3, CORRAL_ERR_TRAP_DEADLINE, "deadline exceeded", &r);
    fprintf(stderr, "  figure: rel_storm_slow: time to stop with deadline 100 ms: mean %.1f ms, "
            "max %.1f ms\n", r.sum_ms / 3, r.max_ms);
    CHECK_EQ_INT(r.wrong, 0);
    CHECK(r.max_ms <= 100.0 + REL_STOP_SLACK_MS);
    CHECK(echo_ok(f.h));
    fx_deinit(&f);
}

TEST(deep_recursion) {
    hostile("rel_recurse", NULL, "x", NULL, CORRAL_ERR_TRAP_STACK_EXHAUSTED,
            "call stack exhausted");
}

TEST(trap_every_call) {
    hostile("rel_trap_always", NULL, "x", NULL, CORRAL_ERR_TRAP_UNREACHABLE, "unreachable");
}

TEST(success_without_response) {
    hostile("rel_noresp", NULL, "x", NULL, CORRAL_ERR_NO_RESPONSE,
            "guest returned success without a response");
}

TEST(capability_not_claimed) {
    static const char *const caps[] = {"wasmcloud:builtin:numbergen", NULL};
    hostile("rel_nocap", caps, "x", NULL, CORRAL_ERR_GUEST, "may not use wasmcloud:keyvalue");
}

TEST(huge_response) {
    corral_host_limits_t lim = {0};
    lim.max_pages = 300;
    hostile("rel_huge", NULL, "x", &lim, CORRAL_ERR_TOO_LARGE, NULL);
}

/* Memory growth to the cap: op "g" answers the pages reached (must be the
 * cap, and stays there), op "trap" traps after growing so each call grows a
 * fresh instance to the cap. */
TEST(memory_growth_to_cap) {
    corral_host_limits_t lim = {0};
    lim.max_pages = 256; /* 16 MiB */
    fixture_t f;
    REQUIRE(fx_init(&f));
    char key[CORRAL_HOST_KEY_LEN];
    corral_err_t err;
    CHECK_EQ_INT(start_signed(f.h, "rel_grow", "grow", NULL, NULL, &lim, key, &err), CORRAL_OK);
    corral_buf_t r = {0};
    CHECK_EQ_INT(corral_host_call(f.h, key, "g", NULL, 0, &r, &err), CORRAL_OK);
    CHECK_EQ_INT(r.len, 4);
    if (r.len == 4) {
        uint32_t pages = (uint32_t)r.data[0] | (uint32_t)r.data[1] << 8 |
                         (uint32_t)r.data[2] << 16 | (uint32_t)r.data[3] << 24;
        CHECK_EQ_INT(pages, 256);
    }
    corral_buf_free(&r);
    fx_deinit(&f);
    hostile("rel_grow", NULL, "trap", &lim, CORRAL_ERR_TRAP_UNREACHABLE, NULL);
}

TEST(trap_in_init) {
    fixture_t f;
    REQUIRE(fx_init(&f));
    test_keys_t k;
    keys_new(&k);
    corral_buf_t s = {0};
    REQUIRE(sign_guest("rel_init_trap", "inittrap", NULL, NULL, 1, &k, &s));
    run_t r;
    memset(&r, 0, sizeof r);
    corral_err_t err;
    double *lat = malloc(sizeof(double) * REL_CALLS);
    for (long i = 0; i < 50 + REL_CALLS; i++) {
        if (i == 50) {
            r.live0 = corral_alloc_live();
            r.rss0 = rss_kib();
        }
        corral_err_clear(&err);
        double t0 = now_ms();
        corral_status_t st = corral_host_actor_start(f.h, s.data, s.len, NULL, NULL, &err);
        double d = now_ms() - t0;
        if (i == 0) snprintf(r.first_msg, sizeof r.first_msg, "%s", corral_err_msg(&err));
        if (st != CORRAL_ERR_TRAP_UNREACHABLE || !strstr(corral_err_msg(&err), "wapc_init")) {
            if (r.wrong < 3) fprintf(stderr, "  start: %s\n", corral_err_msg(&err));
            r.wrong++;
        }
        if (i >= 50) {
            r.sum_ms += d;
            if (d > r.max_ms) r.max_ms = d;
            if (lat) lat[i - 50] = d;
        }
    }
    r.live1 = corral_alloc_live();
    r.rss1 = rss_kib();
    if (lat) {
        qsort(lat, REL_CALLS, sizeof *lat, cmp_double);
        r.p99_ms = lat[(size_t)REL_CALLS * 99 / 100];
        free(lat);
    }
    report("rel_init_trap (actor starts)", &r, REL_CALLS);
    CHECK_EQ_INT(r.wrong, 0);
    check_memory(&r);
    CHECK_EQ_INT(corral_host_actor_resolve(f.h, k.module_key, NULL, NULL), CORRAL_ERR_NO_ACTOR);
    CHECK(echo_ok(f.h));
    corral_buf_free(&s);
    keys_wipe(&k);
    fx_deinit(&f);
}

/* Out-of-range (ptr, len) pairs into every waPC import: the operation's
 * length picks the case in rel_badptr.wat; each must trap with a message
 * naming the import. */
TEST(bad_pointers) {
    static const char *const imports[] = {
        "", "__guest_request", "__guest_request", "__guest_response", "__guest_response",
        "__guest_error", "__host_call", "__host_call", "__host_call", "__host_call",
        "__host_response", "__host_error", "__console_log", "__host_call", "__console_log",
    };
    fixture_t f;
    REQUIRE(fx_init(&f));
    char key[CORRAL_HOST_KEY_LEN];
    corral_err_t err;
    CHECK_EQ_INT(start_signed(f.h, "rel_badptr", "badptr", NULL, NULL, NULL, key, &err),
                 CORRAL_OK);
    long per = REL_CALLS / 14 + 1;
    run_t tot;
    memset(&tot, 0, sizeof tot);
    tot.live0 = -1;
    for (int c = 1; c <= 14; c++) {
        char op[16];
        memset(op, 'a', (size_t)c);
        op[c] = 0;
        run_t r;
        run_calls(f.h, key, op, c == 1 ? 50 : 0, per, -1, imports[c], &r);
        fprintf(stderr, "  case %d (%s): \"%s\"\n", c, imports[c], r.first_msg);
        CHECK_EQ_INT(r.wrong, 0);
        if (tot.live0 < 0) {
            tot.live0 = r.live0;
            tot.rss0 = r.rss0;
        }
        tot.live1 = r.live1;
        tot.rss1 = r.rss1;
        tot.wrong += r.wrong;
        tot.sum_ms += r.sum_ms;
        if (r.max_ms > tot.max_ms) tot.max_ms = r.max_ms;
    }
    snprintf(tot.first_msg, sizeof tot.first_msg, "(per case above)");
    report("rel_badptr", &tot, per * 14);
    check_memory(&tot);
    CHECK(echo_ok(f.h));
    fx_deinit(&f);
}

TEST(invalid_utf8_in_host_call) {
    static const char *const caps[] = {"wasmcloud:builtin:numbergen", NULL};
    fixture_t f;
    REQUIRE(fx_init(&f));
    char key[CORRAL_HOST_KEY_LEN];
    corral_err_t err;
    CHECK_EQ_INT(start_signed(f.h, "rel_badutf8", "badutf8", caps, NULL, NULL, key, &err),
                 CORRAL_OK);
    static const char *const ops[] = {"a", "aa", "aaa"};
    static const char *const what[] = {"namespace", "binding", "operation"};
    long per = REL_CALLS / 3 + 1;
    for (int c = 0; c < 3; c++) {
        run_t r;
        run_calls(f.h, key, ops[c], 50, per, -1, "UTF-8", &r);
        fprintf(stderr, "  case %s: \"%s\"\n", what[c], r.first_msg);
        report("rel_badutf8", &r, per);
        CHECK_EQ_INT(r.wrong, 0);
        check_memory(&r);
    }
    CHECK(echo_ok(f.h));
    fx_deinit(&f);
}

TEST_MAIN(TEST_ENTRY(infinite_loop), TEST_ENTRY(host_call_storm),
          TEST_ENTRY(host_call_storm_stop_time), TEST_ENTRY(deep_recursion),
          TEST_ENTRY(trap_every_call), TEST_ENTRY(success_without_response),
          TEST_ENTRY(capability_not_claimed), TEST_ENTRY(huge_response),
          TEST_ENTRY(memory_growth_to_cap), TEST_ENTRY(trap_in_init), TEST_ENTRY(bad_pointers),
          TEST_ENTRY(invalid_utf8_in_host_call))

/*
 * test_host_actors.c - the host with real actors on the engine: the signed
 * test actor (guests/hostguest.c, v1 and v2) with an in-memory keyvalue
 * provider; capability refusal, missing link, actor -> actor by alias and
 * key, built-ins, live update accepted and refused, update under concurrent
 * calls, provider swap under traffic, traps, deadlines, health, provider ->
 * actor calls through the services table, and every control op over the
 * socket.
 */
#include <jansson.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/stat.h>

#include "corral_provider.h"
#include "host_test_util.h"

static const char *const kv_caps[] = {"wasmcloud:keyvalue", NULL};

typedef struct fixture {
    char dir[64];
    corral_host_t *h;
    corral_buf_t v1, v2; /* unsigned guest builds */
    test_keys_t k;
} fixture_t;

static int fixture_init(fixture_t *f, const corral_host_limits_t *limits) {
    memset(f, 0, sizeof *f);
    if (!tmpdir(f->dir)) return 0;
    if (!read_guest("host_guest_v1", &f->v1) || !read_guest("host_guest_v2", &f->v2)) return 0;
    keys_new(&f->k);
    f->h = start_host(f->dir, 0, limits);
    return f->h != NULL;
}

static void fixture_deinit(fixture_t *f) {
    corral_host_free(f->h);
    corral_buf_free(&f->v1);
    corral_buf_free(&f->v2);
    keys_wipe(&f->k);
    rmtree(f->dir);
}

/* Signs and starts a guest; returns 1 on success. */
static int start_actor(fixture_t *f, const corral_buf_t *wasm, const test_keys_t *k,
                       const char *name, const char *const *caps, int64_t rev, const char *alias,
                       const corral_host_actor_opts_t *opts) {
    corral_buf_t s = CORRAL_BUF_INIT;
    int ok = sign(wasm, k, name, caps, rev, alias, &s);
    corral_err_t err;
    corral_err_clear(&err);
    if (ok && corral_host_actor_start(f->h, s.data, s.len, opts, NULL, &err) != CORRAL_OK) {
        fprintf(stderr, "  actor_start: %s\n", corral_err_msg(&err));
        ok = 0;
    }
    corral_buf_free(&s);
    return ok;
}

static int start_kv(fixture_t *f, const char *kind, char key_out[57]) {
    corral_host_provider_opts_t po = {.kind = kind};
    corral_host_provider_info_t info;
    corral_err_t err;
    corral_err_clear(&err);
    if (corral_host_provider_start(f->h, &po, &info, &err) != CORRAL_OK) {
        fprintf(stderr, "  provider_start: %s\n", corral_err_msg(&err));
        return 0;
    }
    if (key_out) memcpy(key_out, info.key, 57);
    return 1;
}

TEST(echo_and_kv) {
    fixture_t f;
    REQUIRE(fixture_init(&f, NULL));
    REQUIRE(start_actor(&f, &f.v1, &f.k, "kvtest", kv_caps, 1, "kvtest", NULL));
    REQUIRE(start_kv(&f, "keyvalue:memory", NULL));
    corral_err_t err;
    corral_buf_t resp = CORRAL_BUF_INIT;
    CHECK_EQ_INT(call_text(f.h, "kvtest", "echo", "hello", &resp, &err), CORRAL_OK);
    CHECK_EQ_STR((const char *)resp.data, "hello");
    CHECK_EQ_INT(call_text(f.h, f.k.module_key, "version", NULL, &resp, &err), CORRAL_OK);
    CHECK_EQ_STR((const char *)resp.data, "v1");
    /* missing link */
    CHECK_EQ_INT(call_text(f.h, "kvtest", "kv_add", "counter", &resp, &err), CORRAL_ERR_GUEST);
    CHECK_CONTAINS(err.msg, "no provider linked for wasmcloud:keyvalue (link default)");
    /* link it: the counter counts */
    REQUIRE(corral_host_link_put(f.h, "kvtest", "wasmcloud:keyvalue", NULL, NULL, 0, &err) ==
            CORRAL_OK);
    for (int i = 1; i <= 3; i++) {
        char want[8];
        snprintf(want, sizeof want, "%d", i);
        CHECK_EQ_INT(call_text(f.h, "kvtest", "kv_add", "counter", &resp, &err), CORRAL_OK);
        CHECK_EQ_STR((const char *)resp.data, want);
    }
    /* unknown actor */
    CHECK_EQ_INT(call_text(f.h, "nobody", "echo", "x", &resp, &err), CORRAL_ERR_NO_ACTOR);
    /* a guest error is reported with the actor's key and name */
    CHECK_EQ_INT(call_text(f.h, "kvtest", "no_such_op", "x", &resp, &err), CORRAL_ERR_GUEST);
    CHECK_CONTAINS(err.msg, f.k.module_key);
    CHECK_CONTAINS(err.msg, "(kvtest)");
    corral_host_actor_stats_t st;
    REQUIRE(corral_host_actor_stats(f.h, "kvtest", &st, NULL) == CORRAL_OK);
    CHECK_EQ_INT(st.calls, 7);
    CHECK_EQ_INT(st.errors, 2);
    CHECK_EQ_INT(st.traps, 0);
    CHECK_EQ_INT(st.rev, 1);
    CHECK(st.instances >= 1);
    /* a guest error full of multi-byte characters, cut to fit, still makes a
     * valid JSON reply with the guest's code */
    corral_buf_t req = CORRAL_BUF_INIT;
    corral_buf_append_str(&req, "{\"op\":\"call\",\"actor\":\"kvtest\",\"operation\":\"");
    for (int i = 0; i < 400; i++) corral_buf_append_str(&req, "\xc3\xa9");
    corral_buf_append_str(&req, "\"}");
    char *reply = NULL;
    REQUIRE(corral_host_control_exec(f.h, (const char *)req.data, req.len, &reply) == CORRAL_OK);
    json_t *j = json_loads(reply, 0, NULL);
    CHECK(j != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "code")), "ERR_GUEST");
    CHECK_CONTAINS(json_string_value(json_object_get(j, "error")), "\xc3\xa9\xc3\xa9");
    json_decref(j);
    corral_free(reply);
    corral_buf_free(&req);
    /* link values must be UTF-8 */
    corral_host_kv_t bad[] = {{"K", "\xff"}};
    CHECK_EQ_INT(corral_host_link_put(f.h, "kvtest", "wasmcloud:keyvalue", "other", bad, 1, &err),
                 CORRAL_ERR_INVALID_ARG);
    /* starting the same actor again is refused */
    CHECK(!start_actor(&f, &f.v1, &f.k, "kvtest", kv_caps, 1, "kvtest", NULL));
    corral_buf_free(&resp);
    fixture_deinit(&f);
}

TEST(capability_refusal) {
    fixture_t f;
    REQUIRE(fixture_init(&f, NULL));
    static const char *const http_only[] = {"wasmcloud:httpserver", NULL};
    REQUIRE(start_actor(&f, &f.v1, &f.k, "kvcounter", http_only, 1, NULL, NULL));
    REQUIRE(start_kv(&f, "keyvalue:memory", NULL));
    corral_err_t err;
    corral_err_clear(&err);
    REQUIRE(corral_host_link_put(f.h, f.k.module_key, "wasmcloud:keyvalue", "default", NULL, 0,
                                 &err) == CORRAL_OK);
    corral_buf_t resp = CORRAL_BUF_INIT;
    CHECK_EQ_INT(call_text(f.h, f.k.module_key, "kv_add", "c", &resp, &err), CORRAL_ERR_GUEST);
    char want[256];
    snprintf(want, sizeof want,
             "actor %s (kvcounter) may not use wasmcloud:keyvalue: its claims list only "
             "wasmcloud:httpserver",
             f.k.module_key);
    CHECK_CONTAINS(err.msg, want);
    /* the older spelling of a claimed contract is accepted: wascc:keyvalue cap */
    test_keys_t k2;
    keys_new(&k2);
    static const char *const wascc[] = {"wascc:keyvalue", NULL};
    REQUIRE(start_actor(&f, &f.v1, &k2, "old", wascc, 1, "old", NULL));
    REQUIRE(corral_host_link_put(f.h, "old", "wascc:keyvalue", NULL, NULL, 0, &err) == CORRAL_OK);
    CHECK_EQ_INT(call_text(f.h, "old", "kv_add", "c", &resp, &err), CORRAL_OK);
    CHECK_EQ_STR((const char *)resp.data, "1");
    keys_wipe(&k2);
    corral_buf_free(&resp);
    fixture_deinit(&f);
}

TEST(actor_to_actor_and_builtins) {
    fixture_t f;
    REQUIRE(fixture_init(&f, NULL));
    static const char *const ng[] = {"wasmcloud:builtin:numbergen", "wasmcloud:logging", NULL};
    REQUIRE(start_actor(&f, &f.v1, &f.k, "alpha", ng, 1, "alpha", NULL));
    test_keys_t kb;
    keys_new(&kb);
    REQUIRE(start_actor(&f, &f.v2, &kb, "beta", NULL, 1, "beta", NULL));
    corral_err_t err;
    corral_buf_t p = CORRAL_BUF_INIT, resp = CORRAL_BUF_INIT;
    /* by alias, no caps needed, payload passes through */
    hostcall_payload(&p, "", "beta", "echo", "ping\0pong", 9);
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_call(f.h, "alpha", "hostcall", p.data, p.len, &resp, &err), CORRAL_OK);
    CHECK_EQ_INT(resp.len, 9);
    CHECK(resp.len == 9 && memcmp(resp.data, "ping\0pong", 9) == 0);
    /* by module key */
    corral_buf_free(&p);
    corral_buf_free(&resp);
    hostcall_payload(&p, "", kb.module_key, "version", NULL, 0);
    CHECK_EQ_INT(corral_host_call(f.h, "alpha", "hostcall", p.data, p.len, &resp, &err), CORRAL_OK);
    CHECK(resp.len == 2 && memcmp(resp.data, "v2", 2) == 0);
    corral_host_actor_stats_t st;
    REQUIRE(corral_host_actor_stats(f.h, "beta", &st, NULL) == CORRAL_OK);
    CHECK_EQ_INT(st.calls, 2);
    /* beta may not call numbergen: it claims nothing */
    corral_buf_free(&p);
    corral_buf_free(&resp);
    static const uint8_t ngreq[] = {0x85, 0xa4, 'g', 'u', 'i', 'd', 0xc2, 0xa8, 's', 'e', 'q',
                                    'u', 'e', 'n', 'c', 'e', 0xc3, 0xa6, 'r', 'a', 'n', 'd',
                                    'o', 'm', 0xc2, 0xa3, 'm', 'i', 'n', 0x00, 0xa3, 'm', 'a',
                                    'x', 0x00};
    hostcall_payload(&p, "", "wasmcloud:builtin:numbergen", "RequestSequence", ngreq,
                     sizeof ngreq);
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_call(f.h, "beta", "hostcall", p.data, p.len, &resp, &err),
                 CORRAL_ERR_GUEST);
    CHECK_CONTAINS(err.msg, "may not use wasmcloud:builtin:numbergen: its claims list only (none)");
    /* alpha may: built-ins are linked implicitly; the sequence counts from 0 */
    for (uint64_t want = 0; want < 2; want++) {
        corral_buf_free(&resp);
        corral_err_clear(&err);
        CHECK_EQ_INT(corral_host_call(f.h, "alpha", "hostcall", p.data, p.len, &resp, &err),
                     CORRAL_OK);
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        int found = 0;
        if (msgpack_unpack_next(&up, (const char *)resp.data, resp.len, NULL) ==
                MSGPACK_UNPACK_SUCCESS &&
            up.data.type == MSGPACK_OBJECT_MAP)
            for (uint32_t i = 0; i < up.data.via.map.size; i++) {
                msgpack_object_kv *kv = &up.data.via.map.ptr[i];
                if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 14 &&
                    memcmp(kv->key.via.str.ptr, "sequenceNumber", 14) == 0 &&
                    kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
                    CHECK_EQ_INT(kv->val.via.u64, want);
                    found = 1;
                }
            }
        CHECK(found);
        msgpack_unpacked_destroy(&up);
    }
    /* logging through the built-in */
    corral_buf_free(&p);
    corral_buf_free(&resp);
    static const uint8_t logreq[] = {0x83, 0xa6, 't', 'a', 'r', 'g', 'e', 't', 0xa1, 't',
                                     0xa5, 'l', 'e', 'v', 'e', 'l', 0xa4, 'i', 'n', 'f', 'o',
                                     0xa4, 't', 'e', 'x', 't', 0xa2, 'h', 'i'};
    hostcall_payload(&p, "", "wasmcloud:logging", "WriteLog", logreq, sizeof logreq);
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_call(f.h, "alpha", "hostcall", p.data, p.len, &resp, &err), CORRAL_OK);
    /* a configured logging provider replaces the built-in; actors stay linked */
    REQUIRE(start_kv(&f, "logging", NULL));
    corral_buf_free(&resp);
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_call(f.h, "alpha", "hostcall", p.data, p.len, &resp, &err), CORRAL_OK);
    /* an actor that is not running, by key */
    corral_buf_free(&p);
    test_keys_t kc;
    keys_new(&kc);
    hostcall_payload(&p, "", kc.module_key, "echo", NULL, 0);
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_call(f.h, "alpha", "hostcall", p.data, p.len, &resp, &err),
                 CORRAL_ERR_GUEST);
    CHECK_CONTAINS(err.msg, "which is not running");
    /* stopping beta: calls to it fail, alpha lives on */
    char key[57];
    REQUIRE(corral_host_actor_stop(f.h, "beta", key, &err) == CORRAL_OK);
    CHECK_EQ_STR(key, kb.module_key);
    corral_buf_free(&p);
    hostcall_payload(&p, "", "beta", "echo", "x", 1);
    corral_err_clear(&err);
    CHECK(corral_host_call(f.h, "alpha", "hostcall", p.data, p.len, &resp, &err) != CORRAL_OK);
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_actor_stop(f.h, "beta", NULL, &err), CORRAL_ERR_NO_ACTOR);
    keys_wipe(&kb);
    keys_wipe(&kc);
    corral_buf_free(&p);
    corral_buf_free(&resp);
    fixture_deinit(&f);
}

TEST(live_update) {
    fixture_t f;
    REQUIRE(fixture_init(&f, NULL));
    REQUIRE(start_actor(&f, &f.v1, &f.k, "upd", kv_caps, 3, "upd", NULL));
    corral_err_t err;
    corral_buf_t resp = CORRAL_BUF_INIT, s = CORRAL_BUF_INIT;
    CHECK_EQ_INT(call_text(f.h, "upd", "version", NULL, &resp, &err), CORRAL_OK);
    CHECK_EQ_STR((const char *)resp.data, "v1");
    /* refused: another module key */
    test_keys_t other;
    keys_new(&other);
    REQUIRE(sign(&f.v2, &other, "upd", kv_caps, 9, NULL, &s));
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_actor_update(f.h, "upd", s.data, s.len, NULL, &err),
                 CORRAL_ERR_UPDATE_REFUSED);
    CHECK_CONTAINS(err.msg, f.k.module_key);
    CHECK_CONTAINS(err.msg, other.module_key);
    /* refused: equal and lower rev */
    for (int64_t rev = 3; rev >= 2; rev--) {
        corral_buf_free(&s);
        REQUIRE(sign(&f.v2, &f.k, "upd", kv_caps, rev, "upd", &s));
        corral_err_clear(&err);
        CHECK_EQ_INT(corral_host_actor_update(f.h, "upd", s.data, s.len, NULL, &err),
                     CORRAL_ERR_UPDATE_REFUSED);
        char want[64];
        snprintf(want, sizeof want, "new revision %lld", (long long)rev);
        CHECK_CONTAINS(err.msg, want);
        CHECK_CONTAINS(err.msg, "rev 3");
    }
    CHECK_EQ_INT(call_text(f.h, "upd", "version", NULL, &resp, &err), CORRAL_OK);
    CHECK_EQ_STR((const char *)resp.data, "v1");
    /* accepted: same key, higher rev, changed caps */
    static const char *const more[] = {"wasmcloud:keyvalue", "wasmcloud:logging", NULL};
    corral_buf_free(&s);
    REQUIRE(sign(&f.v2, &f.k, "upd", more, 4, "upd", &s));
    corral_host_update_result_t r;
    corral_err_clear(&err);
    REQUIRE(corral_host_actor_update(f.h, "upd", s.data, s.len, &r, &err) == CORRAL_OK);
    CHECK_EQ_STR(r.key, f.k.module_key);
    CHECK_EQ_INT(r.old_rev, 3);
    CHECK_EQ_INT(r.new_rev, 4);
    CHECK_EQ_INT(r.caps_changed, 1);
    CHECK_EQ_INT(call_text(f.h, "upd", "version", NULL, &resp, &err), CORRAL_OK);
    CHECK_EQ_STR((const char *)resp.data, "v2");
    corral_host_actor_stats_t st;
    REQUIRE(corral_host_actor_stats(f.h, "upd", &st, NULL) == CORRAL_OK);
    CHECK_EQ_INT(st.rev, 4);
    CHECK_EQ_INT(st.calls, 3); /* counters survive the update */
    corral_host_health_t hr;
    REQUIRE(corral_host_actor_health(f.h, "upd", &hr, &err) == CORRAL_OK);
    CHECK_EQ_INT(hr.healthy, 1);
    CHECK_EQ_STR(hr.message, "ok v2");
    keys_wipe(&other);
    corral_buf_free(&s);
    corral_buf_free(&resp);
    fixture_deinit(&f);
}

/* ---- concurrency ------------------------------------------------------------------------ */

typedef struct traffic {
    corral_host_t *h;
    const char *actor, *op, *payload;
    atomic_int *stop;
    atomic_long ok, fail, v1, v2, no_link;
    uint64_t max_fail_ns;
    char last_err[CORRAL_ERR_MSG_MAX];
} traffic_t;

static void *traffic_main(void *arg) {
    traffic_t *t = arg;
    corral_buf_t resp = CORRAL_BUF_INIT;
    corral_err_t err;
    while (!atomic_load(t->stop)) {
        uint64_t t0 = corral_now_ns();
        corral_status_t st = call_text(t->h, t->actor, t->op, t->payload, &resp, &err);
        if (st == CORRAL_OK) {
            t->ok++;
            if (strcmp((const char *)resp.data, "v1") == 0) t->v1++;
            if (strcmp((const char *)resp.data, "v2") == 0) t->v2++;
        } else {
            uint64_t d = corral_now_ns() - t0;
            if (d > t->max_fail_ns) t->max_fail_ns = d;
            t->fail++;
            if (strstr(err.msg, "no provider linked")) t->no_link++;
            snprintf(t->last_err, sizeof t->last_err, "%s", err.msg);
        }
    }
    corral_buf_free(&resp);
    return NULL;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

#define NTHREADS 4

/* Waits until the sum of one counter over the threads exceeds `above`
 * (bounded by 20 s, so a loaded machine does not make the test flaky). */
static long wait_sum(traffic_t *t, int n, size_t off, long above) {
    long sum = 0;
    for (int tries = 0; tries < 20000; tries++) {
        sum = 0;
        for (int i = 0; i < n; i++) sum += atomic_load((atomic_long *)((char *)&t[i] + off));
        if (sum > above) break;
        sleep_ms(1);
    }
    return sum;
}

TEST(update_under_traffic) {
    fixture_t f;
    corral_host_limits_t lim = {.max_instances = 4};
    REQUIRE(fixture_init(&f, &lim));
    REQUIRE(start_actor(&f, &f.v1, &f.k, "busy", NULL, 1, "busy", NULL));
    atomic_int stop = 0;
    traffic_t t[NTHREADS];
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].h = f.h;
        t[i].actor = "busy";
        t[i].op = "version";
        t[i].stop = &stop;
        pthread_create(&th[i], NULL, traffic_main, &t[i]);
    }
    wait_sum(t, NTHREADS, offsetof(traffic_t, v1), 100);
    corral_buf_t s = CORRAL_BUF_INIT;
    REQUIRE(sign(&f.v2, &f.k, "busy", NULL, 2, "busy", &s));
    corral_host_update_result_t r;
    corral_err_t err;
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_actor_update(f.h, "busy", s.data, s.len, &r, &err), CORRAL_OK);
    CHECK_EQ_INT(r.caps_changed, 0);
    wait_sum(t, NTHREADS, offsetof(traffic_t, v2), 100);
    atomic_store(&stop, 1);
    long ok = 0, fail = 0, v1 = 0, v2 = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        ok += t[i].ok;
        fail += t[i].fail;
        v1 += t[i].v1;
        v2 += t[i].v2;
        if (t[i].fail) fprintf(stderr, "  thread %d: %s\n", i, t[i].last_err);
    }
    fprintf(stderr, "  live update under %d threads: %ld calls (%ld on v1, %ld on v2), %ld failed, "
                    "swap pause %llu us\n",
            NTHREADS, ok + fail, v1, v2, fail, (unsigned long long)r.swap_pause_us);
    CHECK_EQ_INT(fail, 0);
    CHECK(v1 > 0);
    CHECK(v2 > 0);
    CHECK_EQ_INT(v1 + v2, ok);
    corral_buf_t resp = CORRAL_BUF_INIT;
    CHECK_EQ_INT(call_text(f.h, "busy", "version", NULL, &resp, &err), CORRAL_OK);
    CHECK_EQ_STR((const char *)resp.data, "v2");
    corral_buf_free(&resp);
    corral_buf_free(&s);
    fixture_deinit(&f);
}

TEST(provider_swap_under_traffic) {
    fixture_t f;
    REQUIRE(fixture_init(&f, NULL));
    REQUIRE(start_actor(&f, &f.v1, &f.k, "swap", kv_caps, 1, "swap", NULL));
    char mem[57];
    REQUIRE(start_kv(&f, "keyvalue:memory", mem));
    corral_err_t err;
    corral_err_clear(&err);
    REQUIRE(corral_host_link_put(f.h, "swap", "wasmcloud:keyvalue", NULL, NULL, 0, &err) ==
            CORRAL_OK);
    atomic_int stop = 0;
    traffic_t t[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].h = f.h;
        t[i].actor = "swap";
        t[i].op = "kv_add";
        t[i].payload = "n";
        t[i].stop = &stop;
        pthread_create(&th[i], NULL, traffic_main, &t[i]);
    }
    wait_sum(t, 2, offsetof(traffic_t, ok), 20);
    REQUIRE(corral_host_link_del(f.h, "swap", "wasmcloud:keyvalue", NULL, &err) == CORRAL_OK);
    long ok_at_unlink = t[0].ok + t[1].ok;
    long no_link_before = wait_sum(t, 2, offsetof(traffic_t, no_link), 20);
    REQUIRE(corral_host_provider_stop(f.h, mem, &err) == CORRAL_OK);
    REQUIRE(start_kv(&f, "keyvalue:sqlite", NULL));
    REQUIRE(corral_host_link_put(f.h, "swap", "wasmcloud:keyvalue", NULL, NULL, 0, &err) ==
            CORRAL_OK);
    long ok_at_relink = t[0].ok + t[1].ok;
    wait_sum(t, 2, offsetof(traffic_t, ok), ok_at_relink + 20);
    atomic_store(&stop, 1);
    long ok = 0, fail = 0, no_link = 0;
    uint64_t max_fail = 0;
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        ok += t[i].ok;
        fail += t[i].fail;
        no_link += t[i].no_link;
        if (t[i].max_fail_ns > max_fail) max_fail = t[i].max_fail_ns;
    }
    fprintf(stderr, "  provider swap: %ld ok, %ld failed (all 'no provider linked': %s), slowest "
                    "failure %.3f ms\n",
            ok, fail, fail == no_link ? "yes" : "no", max_fail / 1e6);
    CHECK(ok_at_unlink > 0);
    CHECK(no_link_before > 0);
    CHECK_EQ_INT(fail, no_link); /* every failure is the fast "no provider linked" one */
    CHECK(max_fail < 1000000000ull);
    CHECK(ok > ok_at_relink + 20); /* successes again after relinking */
    /* the new provider counts from scratch */
    corral_buf_t resp = CORRAL_BUF_INIT;
    CHECK_EQ_INT(call_text(f.h, "swap", "kv_add", "fresh", &resp, &err), CORRAL_OK);
    CHECK_EQ_STR((const char *)resp.data, "1");
    corral_buf_free(&resp);
    fixture_deinit(&f);
}

TEST(trap_and_deadline) {
    fixture_t f;
    REQUIRE(fixture_init(&f, NULL));
    corral_host_actor_opts_t o = {.limits = {.deadline_ms = 200, .max_instances = 1}};
    REQUIRE(start_actor(&f, &f.v1, &f.k, "wild", NULL, 1, "wild", &o));
    corral_err_t err;
    corral_buf_t resp = CORRAL_BUF_INIT;
    CHECK_EQ_INT(call_text(f.h, "wild", "trap", NULL, &resp, &err), CORRAL_ERR_TRAP_UNREACHABLE);
    CHECK_CONTAINS(err.msg, "unreachable");
    CHECK_EQ_INT(call_text(f.h, "wild", "echo", "after", &resp, &err), CORRAL_OK);
    CHECK_EQ_STR((const char *)resp.data, "after");
    uint64_t t0 = corral_now_ns();
    CHECK_EQ_INT(call_text(f.h, "wild", "spin", NULL, &resp, &err), CORRAL_ERR_TRAP_DEADLINE);
    uint64_t took = corral_now_ns() - t0;
    CHECK(took >= 150000000ull && took < 5000000000ull);
    CHECK_EQ_INT(call_text(f.h, "wild", "echo", "alive", &resp, &err), CORRAL_OK);
    CHECK_EQ_STR((const char *)resp.data, "alive");
    corral_host_actor_stats_t st;
    REQUIRE(corral_host_actor_stats(f.h, "wild", &st, NULL) == CORRAL_OK);
    CHECK_EQ_INT(st.traps, 2);
    CHECK_EQ_INT(st.errors, 2);
    CHECK_EQ_INT(st.calls, 4);
    CHECK_EQ_INT(st.max_instances, 1);
    /* health of a spinning... no: a healthy actor */
    corral_host_health_t hr;
    REQUIRE(corral_host_actor_health(f.h, "wild", &hr, &err) == CORRAL_OK);
    CHECK_EQ_INT(hr.healthy, 1);
    CHECK_EQ_STR(hr.message, "ok v1");
    corral_buf_free(&resp);
    fixture_deinit(&f);
}

TEST(unsigned_actor_and_health_periodic) {
    char dir[64];
    REQUIRE(tmpdir(dir));
    corral_host_t *h = start_host(dir, 50, NULL); /* health every 50 ms */
    REQUIRE(h);
    corral_buf_t v1 = CORRAL_BUF_INIT;
    REQUIRE(read_guest("host_guest_v1", &v1));
    corral_host_actor_opts_t o = {.allow_unsigned = 1};
    corral_host_actor_info_t info;
    corral_err_t err;
    corral_err_clear(&err);
    REQUIRE(corral_host_actor_start(h, v1.data, v1.len, &o, &info, &err) == CORRAL_OK);
    CHECK(info.key[0] == 'M');
    CHECK(corral_nkey_from_public(info.key, CORRAL_NKEY_MODULE, NULL, NULL) == CORRAL_OK);
    /* an unsigned actor has no capabilities */
    corral_buf_t p = CORRAL_BUF_INIT, resp = CORRAL_BUF_INIT;
    hostcall_payload(&p, "", "wasmcloud:logging", "WriteLog", NULL, 0);
    CHECK_EQ_INT(corral_host_call(h, info.key, "hostcall", p.data, p.len, &resp, &err),
                 CORRAL_ERR_GUEST);
    CHECK_CONTAINS(err.msg, "may not use wasmcloud:logging");
    /* wait (bounded) for at least three periodic checks */
    json_t *j = NULL, *a = NULL;
    for (int tries = 0; tries < 200; tries++) {
        json_decref(j);
        char *inv = NULL;
        REQUIRE(corral_host_inventory(h, &inv, NULL) == CORRAL_OK);
        j = json_loads(inv, 0, NULL);
        corral_free(inv);
        a = json_array_get(json_object_get(j, "actors"), 0);
        if (json_integer_value(json_object_get(a, "calls")) >= 4) break;
        sleep_ms(50);
    }
    json_t *health = json_object_get(a, "health");
    CHECK(json_is_true(json_object_get(health, "healthy")));
    CHECK_EQ_STR(json_string_value(json_object_get(health, "message")), "ok v1");
    CHECK(json_integer_value(json_object_get(a, "calls")) >= 4); /* 1 call + the health checks */
    json_decref(j);
    corral_buf_free(&p);
    corral_buf_free(&resp);
    corral_buf_free(&v1);
    corral_host_free(h);
    rmtree(dir);
}

/* ---- provider -> actor through the services table -------------------------------------------- */

typedef struct echo_prov {
    const corral_provider_host_t *host;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    corral_status_t st;
    char resp[64];
} echo_prov_t;

static echo_prov_t *g_echo_prov;
static atomic_int g_slow_in, g_slow_release;

static void ep_describe(corral_provider_info_t *info) {
    info->contract_id = "test:echo";
    info->contract_aliases = NULL;
    info->name = "test-echo";
    info->description = "test provider calling actors back";
    info->version = "1";
}

static corral_status_t ep_create(const corral_provider_kv_t *c, size_t n,
                                 const corral_provider_host_t *host, void **inst,
                                 corral_err_t *err) {
    echo_prov_t *p = corral_calloc(1, sizeof *p);
    if (!p) return CORRAL_ERR_NOMEM;
    p->host = host;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    g_echo_prov = p;
    *inst = p;
    return CORRAL_OK;
}

static void ep_destroy(void *inst) {
    echo_prov_t *p = inst;
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    g_echo_prov = NULL;
    corral_free(p);
}

static corral_status_t ep_link(void *inst, const char *actor, const char *ln,
                               const corral_provider_kv_t *v, size_t n, corral_err_t *err) {
    int seen = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].key, "__wasmcloud_capabilities") == 0 &&
            strcmp(v[i].value, "test:echo") == 0)
            seen = 1;
    return seen ? CORRAL_OK
                : corral_err_set(err, CORRAL_ERR_INVALID_ARG, "missing __wasmcloud_capabilities");
}

static void ep_unlink(void *inst, const char *actor, const char *ln) {}

static corral_status_t ep_call(void *inst, const corral_provider_call_t *call,
                               corral_provider_bytes_t *resp, corral_err_t *err) {
    echo_prov_t *p = inst;
    if (strcmp(call->operation, "Sleep") == 0) { /* a slow backend */
        atomic_store(&g_slow_in, 1);
        while (!atomic_load(&g_slow_release)) sleep_ms(1);
    }
    resp->len = call->payload_len;
    resp->data = p->host->alloc(resp->len ? resp->len : 1);
    if (resp->len) memcpy(resp->data, call->payload, resp->len);
    return CORRAL_OK;
}

static const corral_provider_t echo_provider = {CORRAL_PROVIDER_ABI_VERSION,
                                                sizeof(corral_provider_t),
                                                ep_describe,
                                                ep_create,
                                                ep_destroy,
                                                ep_link,
                                                ep_unlink,
                                                ep_call,
                                                NULL};

static void ep_done(void *user, corral_status_t st, const uint8_t *resp, size_t len,
                    const corral_err_t *err) {
    echo_prov_t *p = user;
    pthread_mutex_lock(&p->mu);
    p->st = st;
    snprintf(p->resp, sizeof p->resp, "%.*s", (int)len, resp ? (const char *)resp : "");
    p->done = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

TEST(provider_calls_actor) {
    fixture_t f;
    REQUIRE(fixture_init(&f, NULL));
    corral_err_t err;
    corral_err_clear(&err);
    corral_status_t rst = corral_provider_builtin_register(&echo_provider, &err);
    REQUIRE(rst == CORRAL_OK || rst == CORRAL_ERR_EXISTS);
    static const char *const caps[] = {"test:echo", NULL};
    REQUIRE(start_actor(&f, &f.v1, &f.k, "callee", caps, 1, "callee", NULL));
    REQUIRE(start_kv(&f, "test-echo", NULL));
    echo_prov_t *p = g_echo_prov;
    REQUIRE(p);
    corral_provider_bytes_t r = {0};
    /* not linked yet */
    corral_err_clear(&err);
    CHECK_EQ_INT(p->host->call_actor(p->host->ctx, f.k.module_key, NULL, "echo",
                                     (const uint8_t *)"x", 1, &r, &err),
                 CORRAL_ERR_NO_LINK);
    REQUIRE(corral_host_link_put(f.h, "callee", "test:echo", NULL, NULL, 0, &err) == CORRAL_OK);
    corral_err_clear(&err);
    CHECK_EQ_INT(p->host->call_actor(p->host->ctx, f.k.module_key, "default", "echo",
                                     (const uint8_t *)"sync", 4, &r, &err),
                 CORRAL_OK);
    CHECK(r.len == 4 && memcmp(r.data, "sync", 4) == 0);
    p->host->free(r.data);
    CHECK_EQ_INT(p->host->call_actor_async(p->host->ctx, f.k.module_key, NULL, "echo",
                                           (const uint8_t *)"async", 5, 0, ep_done, p, &err),
                 CORRAL_OK);
    pthread_mutex_lock(&p->mu);
    while (!p->done) pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    CHECK_EQ_INT(p->st, CORRAL_OK);
    CHECK_EQ_STR(p->resp, "async");
    corral_err_clear(&err);
    CHECK_EQ_INT(p->host->call_actor_async(p->host->ctx, "MNOPE", NULL, "echo", NULL, 0, 0, ep_done,
                                           p, &err),
                 CORRAL_ERR_NO_ACTOR);
    /* the actor -> provider direction through the same link */
    corral_buf_t pl = CORRAL_BUF_INIT, resp = CORRAL_BUF_INIT;
    hostcall_payload(&pl, "", "test:echo", "Echo", "back", 4);
    CHECK_EQ_INT(corral_host_call(f.h, "callee", "hostcall", pl.data, pl.len, &resp, &err),
                 CORRAL_OK);
    CHECK(resp.len == 4 && memcmp(resp.data, "back", 4) == 0);
    corral_buf_free(&pl);
    corral_buf_free(&resp);
    fixture_deinit(&f);
}

/* A provider call that does not return must not hold up other actors, other
 * calls of the same actor, or control operations. */
typedef struct slow_call {
    corral_host_t *h;
    corral_status_t st;
    atomic_int done;
} slow_call_t;

static void *slow_main(void *arg) {
    slow_call_t *sc = arg;
    corral_buf_t p = CORRAL_BUF_INIT, resp = CORRAL_BUF_INIT;
    hostcall_payload(&p, "", "test:echo", "Sleep", "zz", 2);
    corral_err_t err;
    sc->st = corral_host_call(sc->h, "slowpoke", "hostcall", p.data, p.len, &resp, &err);
    atomic_store(&sc->done, 1);
    corral_buf_free(&p);
    corral_buf_free(&resp);
    return NULL;
}

TEST(slow_provider_blocks_nobody_else) {
    fixture_t f;
    REQUIRE(fixture_init(&f, NULL));
    corral_err_t err;
    corral_err_clear(&err);
    corral_status_t rst = corral_provider_builtin_register(&echo_provider, &err);
    REQUIRE(rst == CORRAL_OK || rst == CORRAL_ERR_EXISTS);
    static const char *const caps[] = {"test:echo", NULL};
    REQUIRE(start_actor(&f, &f.v1, &f.k, "slowpoke", caps, 1, "slowpoke", NULL));
    test_keys_t k2;
    keys_new(&k2);
    REQUIRE(start_actor(&f, &f.v2, &k2, "bystander", NULL, 1, "bystander", NULL));
    REQUIRE(start_kv(&f, "test-echo", NULL));
    REQUIRE(corral_host_link_put(f.h, "slowpoke", "test:echo", NULL, NULL, 0, &err) == CORRAL_OK);
    atomic_store(&g_slow_in, 0);
    atomic_store(&g_slow_release, 0);
    slow_call_t sc = {.h = f.h};
    pthread_t th;
    pthread_create(&th, NULL, slow_main, &sc);
    for (int i = 0; i < 20000 && !atomic_load(&g_slow_in); i++) sleep_ms(1);
    CHECK(atomic_load(&g_slow_in));
    corral_buf_t resp = CORRAL_BUF_INIT;
    /* another actor, the same actor, and control operations all proceed */
    CHECK_EQ_INT(call_text(f.h, "bystander", "version", NULL, &resp, &err), CORRAL_OK);
    CHECK_EQ_STR((const char *)resp.data, "v2");
    CHECK_EQ_INT(call_text(f.h, "slowpoke", "echo", "quick", &resp, &err), CORRAL_OK);
    CHECK_EQ_STR((const char *)resp.data, "quick");
    CHECK_EQ_INT(corral_host_link_put(f.h, "bystander", "wasmcloud:keyvalue", NULL, NULL, 0, &err),
                 CORRAL_OK);
    char *inv = NULL;
    CHECK_EQ_INT(corral_host_inventory(f.h, &inv, &err), CORRAL_OK);
    corral_free(inv);
    CHECK_EQ_INT(atomic_load(&sc.done), 0); /* the slow call was in flight all along */
    atomic_store(&g_slow_release, 1);
    pthread_join(th, NULL);
    CHECK_EQ_INT(sc.st, CORRAL_OK);
    keys_wipe(&k2);
    corral_buf_free(&resp);
    fixture_deinit(&f);
}

/* Every allocation failure in the control paths and in a call is handled:
 * a clean error and a host that keeps working; the harness's leak check at
 * the end of the test proves that nothing leaked. */
TEST(alloc_failure_sweep) {
    fixture_t f;
    REQUIRE(fixture_init(&f, NULL));
    REQUIRE(start_actor(&f, &f.v1, &f.k, "base", kv_caps, 1, "base", NULL));
    REQUIRE(start_kv(&f, "keyvalue:memory", NULL));
    corral_err_t err;
    corral_buf_t resp = CORRAL_BUF_INIT, s2 = CORRAL_BUF_INIT, s3 = CORRAL_BUF_INIT;
    test_keys_t k2;
    keys_new(&k2);
    REQUIRE(sign(&f.v2, &k2, "second", kv_caps, 1, "second", &s2));
    REQUIRE(sign(&f.v2, &f.k, "base", kv_caps, 2, "base", &s3));
    int done[5] = {0};
    long sweep = 0;
    for (long n = 1; n < 20000 && !(done[0] && done[1] && done[2] && done[3] && done[4]); n++) {
        sweep = n;
        corral_status_t st[5] = {CORRAL_OK, CORRAL_OK, CORRAL_OK, CORRAL_OK, CORRAL_OK};
        char *reply = NULL;
        corral_buf_free(&resp);
        corral_alloc_fail_after(n, 1);
        if (!done[0]) st[0] = corral_host_actor_start(f.h, s2.data, s2.len, NULL, NULL, &err);
        corral_alloc_fail_after(n, 1);
        if (!done[1])
            st[1] = corral_host_link_put(f.h, "base", "wasmcloud:keyvalue", NULL, NULL, 0, &err);
        corral_alloc_fail_after(n, 1);
        if (!done[2])
            st[2] = corral_host_call(f.h, "base", "kv_add", (const uint8_t *)"k", 1, &resp, &err);
        corral_alloc_fail_after(n, 1);
        if (!done[3]) st[3] = corral_host_actor_update(f.h, "base", s3.data, s3.len, NULL, &err);
        corral_alloc_fail_after(n, 1);
        if (!done[4]) st[4] = corral_host_control_exec(f.h, "{\"op\":\"inventory\"}", 18, &reply);
        corral_alloc_fail_after(0, 0);
        if (!done[4] && st[4] == CORRAL_OK) {
            done[4] = strstr(reply, "\"ok\":true") != NULL;
            corral_free(reply);
        }
        if (!done[0] && st[0] == CORRAL_OK) {
            done[0] = 1;
            CHECK_EQ_INT(corral_host_actor_stop(f.h, "second", NULL, &err), CORRAL_OK);
        }
        if (!done[1] && st[1] == CORRAL_OK) done[1] = 1;
        if (!done[2] && st[2] == CORRAL_OK) done[2] = 1;
        if (!done[3] && st[3] == CORRAL_OK) done[3] = 1;
        corral_buf_free(&resp);
        /* the host still answers */
        if (call_text(f.h, "base", "echo", "ok", &resp, &err) != CORRAL_OK) {
            fprintf(stderr, "  after failing allocation %ld: %s\n", n, err.msg);
            CHECK(0);
            break;
        }
    }
    CHECK(done[0] && done[1] && done[2] && done[3] && done[4]);
    fprintf(stderr, "  allocation failure sweep: %ld failure points\n", sweep);
    CHECK_EQ_INT(call_text(f.h, "base", "version", NULL, &resp, &err), CORRAL_OK);
    CHECK_EQ_STR((const char *)resp.data, "v2");
    keys_wipe(&k2);
    corral_buf_free(&resp);
    corral_buf_free(&s2);
    corral_buf_free(&s3);
    fixture_deinit(&f);
}

/* ---- control socket, every op ------------------------------------------------------------------- */

static json_t *rt(int fd, const char *req) {
    corral_buf_t line = CORRAL_BUF_INIT;
    json_t *j = NULL;
    if (ctl_roundtrip(fd, req, &line)) j = json_loads((const char *)line.data, 0, NULL);
    if (j && !json_is_true(json_object_get(j, "ok")))
        fprintf(stderr, "  reply: %s\n", (const char *)line.data);
    corral_buf_free(&line);
    return j;
}

static const char *res_str(json_t *j, const char *k) {
    return json_string_value(json_object_get(json_object_get(j, "result"), k));
}

TEST(control_every_op) {
    fixture_t f;
    REQUIRE(fixture_init(&f, NULL));
    char run[128];
    snprintf(run, sizeof run, "%s/run", f.dir);
    REQUIRE(corral_host_control_start(f.h, run, NULL) == CORRAL_OK);
    int fd = ctl_connect(corral_host_control_path(f.h));
    REQUIRE(fd >= 0);
    /* start_actor by path */
    corral_buf_t s = CORRAL_BUF_INIT, b64 = CORRAL_BUF_INIT;
    REQUIRE(sign(&f.v1, &f.k, "ctl", kv_caps, 1, "ctl", &s));
    char path[256];
    snprintf(path, sizeof path, "%s/ctl.wasm", f.dir);
    REQUIRE(corral_file_write(path, s.data, s.len, 0600, NULL) == CORRAL_OK);
    char req[1024];
    snprintf(req, sizeof req, "{\"op\":\"start_actor\",\"path\":\"%s\",\"max_instances\":2}", path);
    json_t *j = rt(fd, req);
    CHECK(json_is_true(json_object_get(j, "ok")));
    CHECK_EQ_STR(res_str(j, "key"), f.k.module_key);
    CHECK_EQ_STR(res_str(j, "name"), "ctl");
    json_decref(j);
    /* start_provider, link_put */
    j = rt(fd, "{\"op\":\"start_provider\",\"kind\":\"keyvalue:memory\"}");
    CHECK(json_is_true(json_object_get(j, "ok")));
    char pkey[57] = "";
    if (res_str(j, "key")) snprintf(pkey, sizeof pkey, "%s", res_str(j, "key"));
    json_decref(j);
    j = rt(fd, "{\"op\":\"link_put\",\"actor\":\"ctl\",\"contract_id\":\"wasmcloud:keyvalue\","
               "\"values\":{\"K\":\"V\"}}");
    CHECK(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    /* call: payload "abc" -> kv_add "abc" = "1" */
    j = rt(fd, "{\"op\":\"call\",\"actor\":\"ctl\",\"operation\":\"kv_add\",\"payload_b64\":\"YWJj\"}");
    CHECK_EQ_STR(res_str(j, "response_b64"), "MQ=="); /* "1" */
    json_decref(j);
    j = rt(fd, "{\"op\":\"health\",\"actor\":\"ctl\"}");
    CHECK(json_is_true(json_object_get(json_object_get(j, "result"), "healthy")));
    CHECK_EQ_STR(res_str(j, "message"), "ok v1");
    json_decref(j);
    /* inventory */
    j = rt(fd, "{\"op\":\"inventory\"}");
    json_t *inv = json_object_get(j, "result");
    json_t *a = json_array_get(json_object_get(inv, "actors"), 0);
    CHECK_EQ_STR(json_string_value(json_object_get(a, "key")), f.k.module_key);
    CHECK_EQ_STR(json_string_value(json_object_get(a, "call_alias")), "ctl");
    CHECK_EQ_STR(json_string_value(json_object_get(a, "ver")), "0.1.0");
    CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(a, "caps"), 0)),
                 "wasmcloud:keyvalue");
    CHECK_EQ_INT(json_integer_value(json_object_get(a, "max_instances")), 2);
    CHECK_EQ_INT(json_integer_value(json_object_get(a, "calls")), 2);
    CHECK_EQ_INT(json_integer_value(json_object_get(a, "errors")), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(a, "traps")), 0);
    CHECK(json_integer_value(json_object_get(a, "instances")) >= 1);
    json_t *l = json_array_get(json_object_get(inv, "links"), 0);
    CHECK_EQ_STR(json_string_value(json_object_get(l, "provider")), pkey);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(l, "values"), "K")), "V");
    json_decref(j);
    /* update_actor by module_b64 */
    corral_buf_free(&s);
    REQUIRE(sign(&f.v2, &f.k, "ctl", kv_caps, 2, "ctl", &s));
    REQUIRE(corral_base64_encode(s.data, s.len, &b64) == CORRAL_OK);
    corral_buf_terminate(&b64);
    corral_buf_t big = CORRAL_BUF_INIT;
    corral_buf_printf(&big, "{\"op\":\"update_actor\",\"actor\":\"ctl\",\"module_b64\":\"%s\"}",
                      (const char *)b64.data);
    corral_buf_terminate(&big);
    j = rt(fd, (const char *)big.data);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "result"), "old_rev")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "result"), "new_rev")), 2);
    CHECK(json_is_false(json_object_get(json_object_get(j, "result"), "caps_changed")));
    CHECK(json_is_integer(json_object_get(json_object_get(j, "result"), "swap_pause_us")));
    json_decref(j);
    /* the same update again is refused: equal rev */
    j = rt(fd, (const char *)big.data);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "code")), "ERR_UPDATE_REFUSED");
    json_decref(j);
    j = rt(fd, "{\"op\":\"call\",\"actor\":\"ctl\",\"operation\":\"version\"}");
    CHECK_EQ_STR(res_str(j, "response_b64"), "djI="); /* "v2" */
    json_decref(j);
    /* link_del -> no provider linked */
    j = rt(fd, "{\"op\":\"link_del\",\"actor\":\"ctl\",\"contract_id\":\"wasmcloud:keyvalue\","
               "\"link_name\":\"default\"}");
    CHECK(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    j = rt(fd, "{\"op\":\"call\",\"actor\":\"ctl\",\"operation\":\"kv_add\",\"payload_b64\":\"YWJj\"}");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "code")), "ERR_GUEST");
    CHECK_CONTAINS(json_string_value(json_object_get(j, "error")), "no provider linked");
    json_decref(j);
    snprintf(req, sizeof req, "{\"op\":\"stop_provider\",\"provider\":\"%s\"}", pkey);
    j = rt(fd, req);
    CHECK_EQ_STR(res_str(j, "key"), pkey);
    json_decref(j);
    j = rt(fd, "{\"op\":\"stop_actor\",\"actor\":\"ctl\"}");
    CHECK_EQ_STR(res_str(j, "key"), f.k.module_key);
    json_decref(j);
    j = rt(fd, "{\"op\":\"stop_host\"}");
    CHECK(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    CHECK_EQ_INT(corral_host_wait(f.h, 5000), 1);
    close(fd);
    corral_buf_free(&s);
    corral_buf_free(&b64);
    corral_buf_free(&big);
    fixture_deinit(&f);
}

TEST(stop_with_calls_in_flight) {
    fixture_t f;
    REQUIRE(fixture_init(&f, NULL));
    REQUIRE(start_actor(&f, &f.v1, &f.k, "drain", NULL, 1, "drain", NULL));
    atomic_int stop = 0;
    traffic_t t[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].h = f.h;
        t[i].actor = "drain";
        t[i].op = "echo";
        t[i].payload = "x";
        t[i].stop = &stop;
        pthread_create(&th[i], NULL, traffic_main, &t[i]);
    }
    wait_sum(t, 2, offsetof(traffic_t, ok), 10);
    corral_err_t err;
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_actor_stop(f.h, "drain", NULL, &err), CORRAL_OK);
    sleep_ms(20);
    corral_host_stop(f.h); /* callers now get "host is stopping" */
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    CHECK(t[0].ok + t[1].ok > 0);
    fixture_deinit(&f);
}

TEST_MAIN(TEST_ENTRY(echo_and_kv), TEST_ENTRY(capability_refusal),
          TEST_ENTRY(actor_to_actor_and_builtins), TEST_ENTRY(live_update),
          TEST_ENTRY(update_under_traffic), TEST_ENTRY(provider_swap_under_traffic),
          TEST_ENTRY(trap_and_deadline), TEST_ENTRY(unsigned_actor_and_health_periodic),
          TEST_ENTRY(provider_calls_actor), TEST_ENTRY(slow_provider_blocks_nobody_else),
          TEST_ENTRY(alloc_failure_sweep), TEST_ENTRY(control_every_op),
          TEST_ENTRY(stop_with_calls_in_flight))

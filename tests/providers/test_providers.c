/*
 * test_providers.c - the provider plumbing and the small built-ins: registry
 * lookups and aliases, table checks, the shared-object loader (a real .so,
 * and one built for another ABI), the logging provider (both payload forms,
 * actor key and name in the line) and numbergen (exact key spellings, range,
 * per-actor sequences).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "corral_provider.h"
#include "kv_harness.h"
#include "test.h"

#define ACTOR_A "MAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define ACTOR_B "MBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"

static const char *name_of(const corral_provider_t *p) {
    corral_provider_info_t info = {0};
    if (!p) return "(none)";
    p->describe(&info);
    return info.name;
}

TEST(registry_lookup) {
    CHECK_EQ_STR(name_of(corral_provider_builtin_find("keyvalue:memory")), "keyvalue:memory");
    CHECK_EQ_STR(name_of(corral_provider_builtin_find("keyvalue")), "keyvalue:memory");
    CHECK_EQ_STR(name_of(corral_provider_builtin_find("keyvalue:sqlite")), "keyvalue:sqlite");
    CHECK_EQ_STR(name_of(corral_provider_builtin_find("keyvalue:redis")), "keyvalue:redis");
    CHECK_EQ_STR(name_of(corral_provider_builtin_find("logging")), "logging");
    CHECK_EQ_STR(name_of(corral_provider_builtin_find("numbergen")), "numbergen");
    CHECK(corral_provider_builtin_find("keyvalue:etcd") == NULL);
    CHECK(corral_provider_builtin_find(NULL) == NULL);

    CHECK_EQ_STR(name_of(corral_provider_builtin_for_contract("wasmcloud:keyvalue", NULL)),
                 "keyvalue:memory");
    CHECK_EQ_STR(name_of(corral_provider_builtin_for_contract("wascc:keyvalue", "redis")),
                 "keyvalue:redis");
    CHECK_EQ_STR(name_of(corral_provider_builtin_for_contract("wascc:keyvalue", "sqlite")),
                 "keyvalue:sqlite");
    CHECK_EQ_STR(name_of(corral_provider_builtin_for_contract("wascc:logging", "")), "logging");
    CHECK_EQ_STR(name_of(corral_provider_builtin_for_contract("wascc:extras", NULL)), "numbergen");
    CHECK_EQ_STR(name_of(corral_provider_builtin_for_contract("wasmcloud:builtin:numbergen", NULL)),
                 "numbergen");
    CHECK(corral_provider_builtin_for_contract("wasmcloud:httpserver", NULL) == NULL);

    CHECK_EQ_STR(corral_provider_contract_canonical("wascc:http_server"), "wasmcloud:httpserver");
    CHECK_EQ_STR(corral_provider_contract_canonical("wascc:keyvalue"), "wasmcloud:keyvalue");
    CHECK_EQ_STR(corral_provider_contract_canonical("acme:thing"), "acme:thing");

    size_t n = 0;
    for (; corral_provider_builtin_at(n); n++) {
        corral_err_t err;
        CHECK_EQ_INT(corral_provider_check(corral_provider_builtin_at(n), NULL, &err), CORRAL_OK);
    }
    CHECK_EQ_INT(n, 5);
}

static void dummy_describe(corral_provider_info_t *info) {
    info->contract_id = "acme:dummy";
    info->name = "dummy";
}

TEST(check_and_register) {
    corral_err_t err;
    CHECK_EQ_INT(corral_provider_check(NULL, "x", &err), CORRAL_ERR_INVALID_ARG);
    corral_provider_t t = *corral_provider_builtin_find("logging");
    t.abi_version = 2;
    CHECK_EQ_INT(corral_provider_check(&t, "t.so", &err), CORRAL_ERR_PROVIDER_ABI);
    CHECK_CONTAINS(corral_err_msg(&err), "built for provider ABI 2, this host speaks 1");
    t.abi_version = CORRAL_PROVIDER_ABI_VERSION;
    t.struct_size = 8;
    CHECK_EQ_INT(corral_provider_check(&t, "t.so", &err), CORRAL_ERR_PROVIDER_ABI);
    t.struct_size = sizeof t;
    t.call = NULL;
    CHECK_EQ_INT(corral_provider_check(&t, "t.so", &err), CORRAL_ERR_PROVIDER_ABI);

    static corral_provider_t dummy;
    dummy = *corral_provider_builtin_find("logging");
    dummy.describe = dummy_describe;
    CHECK_EQ_INT(corral_provider_builtin_register(&dummy, &err), CORRAL_OK);
    CHECK(corral_provider_builtin_find("dummy") == &dummy);
    CHECK(corral_provider_builtin_for_contract("acme:dummy", NULL) == &dummy);
    CHECK_EQ_INT(corral_provider_builtin_register(&dummy, &err), CORRAL_ERR_EXISTS);
    CHECK_EQ_INT(corral_provider_builtin_register(corral_provider_builtin_find("numbergen"), &err),
                 CORRAL_ERR_EXISTS);
}

TEST(loader_shared_object) {
    corral_provider_lib_t *lib = NULL;
    corral_err_t err;
    REQUIRE(corral_provider_load(EXAMPLE_PROVIDER_SO, &lib, &err) == CORRAL_OK);
    const corral_provider_t *p = corral_provider_lib_provider(lib);
    CHECK_EQ_STR(name_of(p), "example:echo");
    CHECK_EQ_STR(corral_provider_lib_path(lib), EXAMPLE_PROVIDER_SO);
    CHECK(corral_provider_serves(p, "example:echo"));
    CHECK(!corral_provider_serves(p, "wasmcloud:keyvalue"));

    corral_provider_host_t host;
    corral_provider_host_init_default(&host, "/tmp");
    void *inst = NULL;
    REQUIRE(p->create(NULL, 0, &host, &inst, &err) == CORRAL_OK);
    CHECK_EQ_INT(p->link(inst, ACTOR_A, "default", NULL, 0, &err), CORRAL_OK);
    CHECK_EQ_INT(p->link(inst, ACTOR_B, "default", NULL, 0, &err), CORRAL_OK);
    const uint8_t payload[] = {1, 2, 3, 250};
    corral_provider_call_t c = {ACTOR_A, "default", "example:echo", "Echo", payload, 4};
    corral_provider_bytes_t resp = {NULL, 0};
    CHECK_EQ_INT(p->call(inst, &c, &resp, &err), CORRAL_OK);
    CHECK_EQ_INT(resp.len, 4);
    CHECK(resp.data && memcmp(resp.data, payload, 4) == 0);
    host.free(resp.data);
    c.operation = "Links";
    CHECK_EQ_INT(p->call(inst, &c, &resp, &err), CORRAL_OK);
    CHECK(resp.len == 1 && resp.data[0] == 2);
    host.free(resp.data);
    p->unlink(inst, ACTOR_B, "default");
    CHECK_EQ_INT(p->call(inst, &c, &resp, &err), CORRAL_OK);
    CHECK(resp.len == 1 && resp.data[0] == 1);
    host.free(resp.data);
    c.operation = "CallBack"; /* through the host services: the standalone host has no actors */
    CHECK_EQ_INT(p->call(inst, &c, &resp, &err), CORRAL_ERR_NO_ACTOR);
    CHECK_CONTAINS(corral_err_msg(&err), ACTOR_A);
    c.operation = "Nope";
    CHECK_EQ_INT(p->call(inst, &c, &resp, &err), CORRAL_ERR_UNSUPPORTED);
    p->destroy(inst);
    corral_provider_unload(lib);
}

TEST(loader_refuses) {
    corral_provider_lib_t *lib = (corral_provider_lib_t *)1;
    corral_err_t err;
    CHECK_EQ_INT(corral_provider_load(EXAMPLE_PROVIDER_BADABI_SO, &lib, &err),
                 CORRAL_ERR_PROVIDER_ABI);
    CHECK(lib == NULL);
    CHECK_CONTAINS(corral_err_msg(&err), "built for provider ABI 99, this host speaks 1");
    CHECK_CONTAINS(corral_err_msg(&err), EXAMPLE_PROVIDER_BADABI_SO);
    CHECK_EQ_INT(corral_provider_load("/nonexistent/p.so", &lib, &err), CORRAL_ERR_NOT_FOUND);
    /* a shared object that is not a provider (libc has no entry symbol) */
    CHECK_EQ_INT(corral_provider_load("/lib/x86_64-linux-gnu/libm.so.6", &lib, &err),
                 CORRAL_ERR_INVALID_ARG);
    CHECK_CONTAINS(corral_err_msg(&err), "corral_provider_entry");
    /* not a shared object at all */
    CHECK_EQ_INT(corral_provider_load("/etc/hostname", &lib, &err), CORRAL_ERR_IO);
    corral_provider_unload(NULL);
}

/* ---- logging ---- */

typedef struct captured {
    pthread_mutex_t lock;
    int n;
    corral_log_level_t level[16];
    char line[16][512];
} captured_t;

static captured_t cap_ = {PTHREAD_MUTEX_INITIALIZER, 0, {0}, {{0}}};

static void capture_log(void *ctx, corral_log_level_t level, const char *component,
                        const char *msg) {
    pthread_mutex_lock(&cap_.lock);
    if (cap_.n < 16) {
        cap_.level[cap_.n] = level;
        snprintf(cap_.line[cap_.n], sizeof cap_.line[0], "%s|%s", component, msg);
        cap_.n++;
    }
    pthread_mutex_unlock(&cap_.lock);
}

static corral_status_t log_call(const corral_provider_t *p, void *inst, const char *contract,
                                const corral_buf_t *q, corral_err_t *err) {
    corral_provider_call_t c = {ACTOR_A, "default", contract, "WriteLog", q->data, q->len};
    corral_provider_bytes_t resp = {NULL, 0};
    corral_status_t st = p->call(inst, &c, &resp, err);
    CHECK(resp.data == NULL && resp.len == 0); /* the response is empty */
    return st;
}

TEST(logging_provider) {
    corral_provider_host_t host;
    corral_provider_host_init_default(&host, "/tmp");
    host.log = capture_log;
    cap_.n = 0;
    const corral_provider_t *p = corral_provider_builtin_find("logging");
    void *inst = NULL;
    corral_err_t err;
    REQUIRE(p->create(NULL, 0, &host, &inst, &err) == CORRAL_OK);
    corral_provider_kv_t vals[] = {{"__wasmcloud_name", "kvcounter"}, {"__wasmcloud_tags", "x"}};
    REQUIRE(p->link(inst, ACTOR_A, "", vals, 2, &err) == CORRAL_OK);
    corral_buf_t q = CORRAL_BUF_INIT;
    req_build(&q, "target", 's', "app::db", "level", 's', "warn", "text", 's', "disk 91% full",
              NULL);
    CHECK_EQ_INT(log_call(p, inst, "wasmcloud:logging", &q, &err), CORRAL_OK);
    req_build(&q, "target", 's', "", "level", 's', "LOUD", "text", 's', "hello", NULL);
    CHECK_EQ_INT(log_call(p, inst, "wasmcloud:logging", &q, &err), CORRAL_OK);
    req_build(&q, "level", 'u', 1u, "body", 's', "old style", NULL);
    CHECK_EQ_INT(log_call(p, inst, "wascc:logging", &q, &err), CORRAL_OK);
    req_build(&q, "level", 'u', 5u, "body", 's', "tracing", NULL);
    CHECK_EQ_INT(log_call(p, inst, "wascc:logging", &q, &err), CORRAL_OK);
    req_build(&q, "level", 'u', 77u, "body", 's', "odd level", NULL);
    CHECK_EQ_INT(log_call(p, inst, "wascc:logging", &q, &err), CORRAL_OK);
    REQUIRE(cap_.n == 5);
    CHECK_EQ_INT(cap_.level[0], CORRAL_LOG_WARN);
    CHECK_EQ_STR(cap_.line[0], "actor|" ACTOR_A " (kvcounter) [app::db] disk 91% full");
    CHECK_EQ_INT(cap_.level[1], CORRAL_LOG_INFO); /* unknown level = info */
    CHECK_EQ_STR(cap_.line[1], "actor|" ACTOR_A " (kvcounter) hello");
    CHECK_EQ_INT(cap_.level[2], CORRAL_LOG_ERROR);
    CHECK_EQ_STR(cap_.line[2], "actor|" ACTOR_A " (kvcounter) old style");
    CHECK_EQ_INT(cap_.level[3], CORRAL_LOG_TRACE);
    CHECK_EQ_INT(cap_.level[4], CORRAL_LOG_INFO);

    /* strict decoding: the newer form sent under the old contract id, and vice versa */
    req_build(&q, "target", 's', "t", "level", 's', "info", "text", 's', "x", NULL);
    CHECK_EQ_INT(log_call(p, inst, "wascc:logging", &q, &err), CORRAL_ERR_PARSE);
    CHECK_CONTAINS(corral_err_msg(&err), "'level' must be a u32, not a string");
    req_build(&q, "level", 'u', 1u, "body", 's', "x", NULL);
    CHECK_EQ_INT(log_call(p, inst, "wasmcloud:logging", &q, &err), CORRAL_ERR_PARSE);
    CHECK_CONTAINS(corral_err_msg(&err), "'target' is missing");
    corral_buf_free(&q);
    corral_buf_append(&q, "\x83\xa6target", 8);
    CHECK_EQ_INT(log_call(p, inst, "wasmcloud:logging", &q, &err), CORRAL_ERR_PARSE);
    corral_provider_call_t c = {ACTOR_A, "default", "wasmcloud:logging", "Shout", NULL, 0};
    corral_provider_bytes_t resp = {NULL, 0};
    CHECK_EQ_INT(p->call(inst, &c, &resp, &err), CORRAL_ERR_UNSUPPORTED);
    /* after unlink the name is forgotten */
    p->unlink(inst, ACTOR_A, "default");
    req_build(&q, "target", 's', "", "level", 's', "error", "text", 's', "bye", NULL);
    CHECK_EQ_INT(log_call(p, inst, "wasmcloud:logging", &q, &err), CORRAL_OK);
    CHECK_EQ_STR(cap_.line[5], "actor|" ACTOR_A " (unnamed) bye");
    corral_buf_free(&q);
    p->destroy(inst);
}

/* ---- numbergen ---- */

typedef struct ng_out {
    corral_status_t st;
    int guid_nil;
    char guid[64];
    long long seq, rnd;
    int keys;
} ng_out_t;

static ng_out_t ng_call(const corral_provider_t *p, void *inst, const char *actor, const char *op,
                        unsigned min, unsigned max) {
    corral_buf_t q = CORRAL_BUF_INIT;
    req_build(&q, "guid", 'b', strcmp(op, "RequestGuid") == 0, "sequence", 'b',
              strcmp(op, "RequestSequence") == 0, "random", 'b', strcmp(op, "RequestRandom") == 0,
              "min", 'u', min, "max", 'u', max, NULL);
    corral_provider_call_t c = {actor, "default", "wasmcloud:builtin:numbergen", op, q.data, q.len};
    corral_provider_bytes_t resp = {NULL, 0};
    corral_err_t err;
    ng_out_t o = {0};
    o.st = p->call(inst, &c, &resp, &err);
    if (o.st == CORRAL_OK) {
        resp_doc_t d;
        resp_parse(&d, resp.data, resp.len);
        o.keys = d.ok ? (int)d.up.data.via.map.size : -1;
        const msgpack_object *g = resp_get(&d, "guid");
        o.guid_nil = g && g->type == MSGPACK_OBJECT_NIL;
        resp_str(&d, "guid", o.guid, sizeof o.guid);
        o.seq = resp_int(&d, "sequenceNumber");
        o.rnd = resp_int(&d, "random_number");
        resp_free(&d);
    }
    corral_free(resp.data);
    corral_buf_free(&q);
    return o;
}

static int is_uuid4(const char *s) {
    if (strlen(s) != 36) return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return 0;
        } else if (!strchr("0123456789abcdef", s[i])) {
            return 0;
        }
    }
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

TEST(numbergen_provider) {
    corral_provider_host_t host;
    corral_provider_host_init_default(&host, "/tmp");
    const corral_provider_t *p = corral_provider_builtin_for_contract("wascc:extras", NULL);
    REQUIRE(p != NULL);
    void *inst = NULL;
    corral_err_t err;
    REQUIRE(p->create(NULL, 0, &host, &inst, &err) == CORRAL_OK);

    ng_out_t a = ng_call(p, inst, ACTOR_A, "RequestGuid", 0, 0);
    ng_out_t b = ng_call(p, inst, ACTOR_A, "RequestGuid", 0, 0);
    CHECK_EQ_INT(a.st, CORRAL_OK);
    CHECK_EQ_INT(a.keys, 3);
    CHECK(is_uuid4(a.guid));
    CHECK(is_uuid4(b.guid));
    CHECK(strcmp(a.guid, b.guid) != 0);
    CHECK_EQ_INT(a.seq, 0);
    CHECK_EQ_INT(a.rnd, 0);

    /* sequences: per actor, from 0 */
    for (int i = 0; i < 5; i++) {
        ng_out_t s = ng_call(p, inst, ACTOR_A, "RequestSequence", 0, 0);
        CHECK_EQ_INT(s.st, CORRAL_OK);
        CHECK_EQ_INT(s.seq, i);
        CHECK(s.guid_nil);
        CHECK_EQ_INT(s.keys, 3);
    }
    CHECK_EQ_INT(ng_call(p, inst, ACTOR_B, "RequestSequence", 0, 0).seq, 0);
    CHECK_EQ_INT(ng_call(p, inst, ACTOR_A, "RequestSequence", 0, 0).seq, 5);

    /* random: uniform in [min, max) - every value of a small range shows up */
    int seen[10] = {0};
    for (int i = 0; i < 2000; i++) {
        ng_out_t r = ng_call(p, inst, ACTOR_A, "RequestRandom", 10, 20);
        CHECK_EQ_INT(r.st, CORRAL_OK);
        if (r.rnd < 10 || r.rnd >= 20) {
            CHECK(r.rnd >= 10 && r.rnd < 20);
            break;
        }
        seen[r.rnd - 10]++;
        if (i == 0) CHECK(r.guid_nil);
    }
    for (int i = 0; i < 10; i++) CHECK(seen[i] > 100); /* expected 200 each */
    ng_out_t big = ng_call(p, inst, ACTOR_A, "RequestRandom", 4000000000u, 4294967295u);
    CHECK(big.rnd >= 4000000000LL && big.rnd < 4294967295LL);
    CHECK_EQ_INT(ng_call(p, inst, ACTOR_A, "RequestRandom", 7, 8).rnd, 7);
    CHECK_EQ_INT(ng_call(p, inst, ACTOR_A, "RequestRandom", 5, 5).st, CORRAL_ERR_INVALID_ARG);
    CHECK_EQ_INT(ng_call(p, inst, ACTOR_A, "RequestRandom", 9, 3).st, CORRAL_ERR_INVALID_ARG);
    CHECK_EQ_INT(ng_call(p, inst, ACTOR_A, "RequestPi", 0, 1).st, CORRAL_ERR_UNSUPPORTED);

    /* the exact key spellings and the smallest encodings, byte for byte */
    corral_buf_t q = CORRAL_BUF_INIT;
    req_build(&q, "guid", 'b', 0, "sequence", 'b', 1, "random", 'b', 0, "min", 'u', 0u, "max", 'u',
              0u, NULL);
    corral_provider_call_t c = {ACTOR_B, "default", "wascc:extras", "RequestSequence", q.data,
                                q.len};
    corral_provider_bytes_t resp = {NULL, 0};
    REQUIRE(p->call(inst, &c, &resp, &err) == CORRAL_OK);
    static const uint8_t want[] = {0x83, 0xa4, 'g', 'u', 'i', 'd', 0xc0, 0xae, 's', 'e', 'q', 'u',
                                   'e', 'n', 'c', 'e', 'N', 'u', 'm', 'b', 'e', 'r', 0x01, 0xad,
                                   'r', 'a', 'n', 'd', 'o', 'm', '_', 'n', 'u', 'm', 'b', 'e', 'r',
                                   0x00};
    CHECK_EQ_INT(resp.len, sizeof want);
    CHECK(resp.len == sizeof want && memcmp(resp.data, want, sizeof want) == 0);
    corral_free(resp.data);

    /* strict request decoding */
    req_build(&q, "guid", 'b', 1, "sequence", 'b', 0, "random", 'b', 0, "min", 'u', 0u, NULL);
    c.operation = "RequestGuid";
    c.payload = q.data;
    c.payload_len = q.len;
    CHECK_EQ_INT(p->call(inst, &c, &resp, &err), CORRAL_ERR_PARSE);
    CHECK_CONTAINS(corral_err_msg(&err), "'max' is missing");
    req_build(&q, "guid", 's', "yes", "sequence", 'b', 0, "random", 'b', 0, "min", 'u', 0u, "max",
              'u', 0u, NULL);
    c.payload = q.data;
    c.payload_len = q.len;
    CHECK_EQ_INT(p->call(inst, &c, &resp, &err), CORRAL_ERR_PARSE);
    CHECK_CONTAINS(corral_err_msg(&err), "'guid' must be a bool");
    req_build(&q, "guid", 'b', 1, "sequence", 'b', 0, "random", 'b', 0, "min", 'i', -1, "max",
              'u', 0u, NULL);
    c.payload = q.data;
    c.payload_len = q.len;
    CHECK_EQ_INT(p->call(inst, &c, &resp, &err), CORRAL_ERR_PARSE);
    CHECK_CONTAINS(corral_err_msg(&err), "'min' is out of range for a u32");
    c.payload_len = q.len - 1;
    CHECK_EQ_INT(p->call(inst, &c, &resp, &err), CORRAL_ERR_PARSE);
    corral_buf_free(&q);
    p->destroy(inst);
}

TEST_MAIN(TEST_ENTRY(registry_lookup), TEST_ENTRY(check_and_register),
          TEST_ENTRY(loader_shared_object), TEST_ENTRY(loader_refuses),
          TEST_ENTRY(logging_provider), TEST_ENTRY(numbergen_provider))

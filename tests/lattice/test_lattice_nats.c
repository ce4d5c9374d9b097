/*
 * test_lattice_nats.c - hosts joined over a real nats-server with JetStream:
 * remote actor calls, a remote provider call, queue-group balancing, a link
 * learned from the bucket by a late host, a chunked payload above the
 * server's limit, timeouts and "no host runs it" errors, control subjects,
 * and forged / unsigned / replayed invocations published with raw cnats
 * (refused, answered with an error, announced as invocation_failed, never
 * reaching the actor).
 *
 * The server: CORRAL_TEST_NATS_URL when set, else a nats-server started here
 * on a free loopback port with a temporary JetStream store and a 64 KiB
 * max_payload (so chunking is exercised with small bodies), stopped by PID.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <nats/nats.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "corral_lattice.h"
#include "corral_mp.h"
#include "corral_provider.h"
#include "nats_server.h"
#include "test.h"

#define ECHO_WASM CORRAL_GUEST_DIR "/echo.wasm"

static int g_lattice_n;
static int g_insecure_unsigned; /* members started meanwhile use insecure_unsigned */
static corral_nkey_t g_cluster;
static char g_seed[CORRAL_NKEY_SEED_LEN + 1];

static int server_start(void) {
    if (test_nats_start()) return -1;
    if (!g_seed[0]) {
        corral_nkey_generate(CORRAL_NKEY_CLUSTER, &g_cluster, NULL);
        corral_nkey_seed_str(&g_cluster, g_seed, NULL);
    }
    return 0;
}

/* One member: a host (no built-ins, unsigned modules allowed) and its lattice. */
typedef struct member {
    corral_host_t *host;
    corral_lattice_t *lat;
} member_t;

static int member_start_at(member_t *m, const char *lattice, const char *url, const char *nkey,
                           corral_lattice_provider_call_fn pc, void *pcu, corral_err_t *errp) {
    corral_host_config_t hc = {0};
    hc.allow_unsigned = 1;
    hc.no_builtins = 1;
    hc.health_interval_ms = CORRAL_HOST_HEALTH_OFF;
    hc.worker_threads = 2;
    corral_err_t err;
    memset(m, 0, sizeof *m);
    if (corral_host_new(&hc, &m->host, &err) || corral_host_start(m->host, &err)) {
        fprintf(stderr, "host: %s\n", err.msg);
        return -1;
    }
    corral_host_kv_t labels[1] = {{"zone", "test"}};
    corral_lattice_config_t lc = {0};
    lc.lattice = lattice;
    lc.nats_url = url;
    lc.nkey_seed = nkey;
    lc.cluster_seed = g_seed;
    lc.labels = labels;
    lc.nlabels = 1;
    lc.call_timeout_ms = 3000;
    lc.insecure_unsigned = g_insecure_unsigned;
    lc.provider_call = pc;
    lc.provider_call_user = pcu;
    if (corral_lattice_new(m->host, &lc, &m->lat, &err) || corral_lattice_start(m->lat, &err)) {
        if (errp) *errp = err;
        else fprintf(stderr, "lattice: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int member_start(member_t *m, const char *lattice, corral_lattice_provider_call_fn pc,
                        void *pcu) {
    return member_start_at(m, lattice, g_url, NULL, pc, pcu, NULL);
}

static void member_stop(member_t *m) {
    corral_host_stop(m->host); /* the host first: nothing is inside a lattice hook after it */
    corral_lattice_free(m->lat);
    corral_host_free(m->host);
    memset(m, 0, sizeof *m);
}

static int start_echo(member_t *m, char key[CORRAL_HOST_KEY_LEN]) {
    corral_host_actor_info_t info;
    corral_err_t err;
    if (corral_host_actor_start_file(m->host, ECHO_WASM, NULL, &info, &err)) {
        fprintf(stderr, "echo: %s\n", err.msg);
        return -1;
    }
    if (key) memcpy(key, info.key, CORRAL_HOST_KEY_LEN);
    return corral_lattice_sync(m->lat, &err) == CORRAL_OK ? 0 : -1;
}

static const char *new_lattice(char *buf, size_t n) {
    snprintf(buf, n, "t%d-%d", (int)getpid(), g_lattice_n++);
    return buf;
}

static corral_status_t call_actor(member_t *m, const char *key, const char *op, const void *p,
                                  size_t n, uint32_t tmo, corral_buf_t *out, corral_err_t *err) {
    corral_lattice_entity_t t = {(char *)key, NULL, NULL};
    return corral_lattice_call(m->lat, NULL, &t, op, p, n, tmo, out, err);
}

#define NEED_SERVER()                                                                              \
    do {                                                                                           \
        REQUIRE(server_start() == 0);                                                              \
    } while (0)

TEST(remote_actor_call) {
    NEED_SERVER();
    char ln[64], key[CORRAL_HOST_KEY_LEN];
    new_lattice(ln, sizeof ln);
    member_t a, b;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
    REQUIRE(member_start(&b, ln, NULL, NULL) == 0);
    REQUIRE(start_echo(&b, key) == 0);
    corral_buf_t out = CORRAL_BUF_INIT;
    corral_err_t err;
    CHECK_EQ_INT(call_actor(&a, key, "echo", "over the wire", 13, 0, &out, &err), CORRAL_OK);
    CHECK(out.len == 13 && memcmp(out.data, "over the wire", 13) == 0);
    corral_lattice_stats_t sa, sb;
    corral_lattice_stats(a.lat, &sa);
    corral_lattice_stats(b.lat, &sb);
    CHECK_EQ_INT(sa.calls_out, 1);
    CHECK_EQ_INT(sb.calls_in, 1);
    /* a remote guest error travels back as an error */
    out.len = 0;
    CHECK_EQ_INT(call_actor(&a, key, "no-such-op", "x", 1, 0, &out, &err), CORRAL_ERR_GUEST);
    CHECK_CONTAINS(err.msg, "remote call to");
    /* a local callee stays in process */
    out.len = 0;
    CHECK_EQ_INT(call_actor(&b, key, "echo", "local", 5, 0, &out, &err), CORRAL_OK);
    corral_lattice_stats(b.lat, &sb);
    CHECK_EQ_INT(sb.calls_out, 0);
    /* the callee host leaves: no one answers */
    member_stop(&b);
    out.len = 0;
    CHECK_EQ_INT(call_actor(&a, key, "echo", "x", 1, 500, &out, &err), CORRAL_ERR_NO_ACTOR);
    CHECK_CONTAINS(err.msg, "no host in lattice");
    corral_buf_free(&out);
    member_stop(&a);
}

/* Anti-forgery off (insecure_unsigned, API only): such a member's calls
 * carry no token, and a member with the default settings refuses them
 * without reaching the actor; two unsigned members talk to each other. */
TEST(unsigned_member_refused_by_default) {
    NEED_SERVER();
    char ln[64], key[CORRAL_HOST_KEY_LEN];
    new_lattice(ln, sizeof ln);
    member_t u, d, u2;
    g_insecure_unsigned = 1;
    REQUIRE(member_start(&u, ln, NULL, NULL) == 0);
    g_insecure_unsigned = 0;
    REQUIRE(member_start(&d, ln, NULL, NULL) == 0);
    REQUIRE(start_echo(&d, key) == 0);
    corral_buf_t out = CORRAL_BUF_INIT;
    corral_err_t err;
    CHECK_EQ_INT(call_actor(&u, key, "echo", "no token", 8, 0, &out, &err), CORRAL_ERR_GUEST);
    CHECK_CONTAINS(err.msg, "anti-forgery token");
    CHECK_EQ_INT(out.len, 0);
    corral_lattice_stats_t sd;
    corral_lattice_stats(d.lat, &sd);
    CHECK_EQ_INT(sd.refused, 1);
    CHECK_EQ_INT(sd.calls_in, 0);
    /* the default member's own signed calls are fine */
    member_t d2;
    REQUIRE(member_start(&d2, ln, NULL, NULL) == 0);
    CHECK_EQ_INT(call_actor(&d2, key, "echo", "signed", 6, 0, &out, &err), CORRAL_OK);
    CHECK(out.len == 6 && memcmp(out.data, "signed", 6) == 0);
    member_stop(&d2);
    member_stop(&d);
    /* unsigned to unsigned: accepted */
    g_insecure_unsigned = 1;
    REQUIRE(member_start(&u2, ln, NULL, NULL) == 0);
    g_insecure_unsigned = 0;
    REQUIRE(start_echo(&u2, key) == 0);
    out.len = 0;
    CHECK_EQ_INT(call_actor(&u, key, "echo", "no token", 8, 0, &out, &err), CORRAL_OK);
    CHECK(out.len == 8 && memcmp(out.data, "no token", 8) == 0);
    corral_lattice_stats_t su2;
    corral_lattice_stats(u2.lat, &su2);
    CHECK_EQ_INT(su2.calls_in, 1);
    corral_buf_free(&out);
    member_stop(&u2);
    member_stop(&u);
}

TEST(timeout_when_callee_hangs) {
    NEED_SERVER();
    char ln[64];
    new_lattice(ln, sizeof ln);
    member_t a;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
    /* a "host" that subscribed and then hung: it never answers */
    natsConnection *nc = NULL;
    natsSubscription *sub = NULL;
    REQUIRE(natsConnection_ConnectTo(&nc, g_url) == NATS_OK);
    const char *key = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
    char subj[256];
    snprintf(subj, sizeof subj, "wasmbus.rpc.%s.%s", ln, key);
    REQUIRE(natsConnection_SubscribeSync(&sub, nc, subj) == NATS_OK);
    natsConnection_Flush(nc);
    corral_buf_t out = CORRAL_BUF_INIT;
    corral_err_t err;
    uint64_t t0 = corral_now_ns();
    CHECK_EQ_INT(call_actor(&a, key, "echo", "x", 1, 300, &out, &err), CORRAL_ERR_TIMEOUT);
    uint64_t ms = (corral_now_ns() - t0) / 1000000;
    char want[128];
    snprintf(want, sizeof want, "timeout calling %s after 300 ms", key);
    CHECK_EQ_STR(err.msg, want);
    CHECK(ms >= 290 && ms < 2000);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    corral_buf_free(&out);
    member_stop(&a);
}

TEST(queue_group_balancing) {
    NEED_SERVER();
    char ln[64], key[CORRAL_HOST_KEY_LEN];
    new_lattice(ln, sizeof ln);
    member_t a, b, c;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
    REQUIRE(member_start(&b, ln, NULL, NULL) == 0);
    REQUIRE(member_start(&c, ln, NULL, NULL) == 0);
    REQUIRE(start_echo(&b, key) == 0);
    REQUIRE(start_echo(&c, NULL) == 0);
    corral_buf_t out = CORRAL_BUF_INIT;
    int ok = 0;
    for (int i = 0; i < 60; i++) {
        out.len = 0;
        ok += call_actor(&a, key, "echo", "b", 1, 0, &out, NULL) == CORRAL_OK;
    }
    CHECK_EQ_INT(ok, 60);
    corral_lattice_stats_t sb, sc;
    corral_lattice_stats(b.lat, &sb);
    corral_lattice_stats(c.lat, &sc);
    CHECK_EQ_INT(sb.calls_in + sc.calls_in, 60);
    CHECK(sb.calls_in >= 5 && sc.calls_in >= 5); /* both hosts served */
    corral_buf_free(&out);
    member_stop(&c);
    member_stop(&b);
    member_stop(&a);
}

/* Calls stream from A while the actor stops on B: every call must still
 * succeed (C takes over), none answered "not running here" or lost. */
typedef struct caller {
    member_t *m;
    const char *key;
    atomic_int stop;
    int ok, failed;
    char last_err[512];
} caller_t;

static void *caller_main(void *arg) {
    caller_t *c = arg;
    corral_buf_t out = CORRAL_BUF_INIT;
    while (!atomic_load(&c->stop)) {
        corral_err_t err;
        corral_err_clear(&err);
        out.len = 0;
        if (call_actor(c->m, c->key, "echo", "x", 1, 3000, &out, &err) == CORRAL_OK && out.len == 1 &&
            out.data[0] == 'x') {
            c->ok++;
        } else {
            c->failed++;
            snprintf(c->last_err, sizeof c->last_err, "%.160s", err.msg);
        }
    }
    corral_buf_free(&out);
    return NULL;
}

TEST(stop_on_one_host_no_failed_call) {
    NEED_SERVER();
    char ln[64], key[CORRAL_HOST_KEY_LEN];
    new_lattice(ln, sizeof ln);
    member_t a, b, c;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
    REQUIRE(member_start(&b, ln, NULL, NULL) == 0);
    REQUIRE(member_start(&c, ln, NULL, NULL) == 0);
    REQUIRE(start_echo(&b, key) == 0);
    REQUIRE(start_echo(&c, NULL) == 0);
    caller_t cl;
    memset(&cl, 0, sizeof cl);
    cl.m = &a;
    cl.key = key;
    atomic_init(&cl.stop, 0);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, caller_main, &cl) == 0);
    usleep(300 * 1000);
    corral_lattice_stats_t sb0;
    corral_lattice_stats(b.lat, &sb0);
    corral_err_t err;
    CHECK_EQ_INT(corral_host_actor_stop(b.host, key, NULL, &err), CORRAL_OK);
    corral_lattice_stats_t sb1, sc1, sb2, sc2;
    usleep(100 * 1000); /* requests B had already taken have been handed on */
    corral_lattice_stats(b.lat, &sb1);
    corral_lattice_stats(c.lat, &sc1);
    usleep(500 * 1000);
    corral_lattice_stats(b.lat, &sb2);
    corral_lattice_stats(c.lat, &sc2);
    atomic_store(&cl.stop, 1);
    pthread_join(th, NULL);
    if (cl.failed) fprintf(stderr, "failed calls: %d, last: %s\n", cl.failed, cl.last_err);
    CHECK_EQ_INT(cl.failed, 0);
    CHECK(cl.ok >= 20);
    CHECK(sb0.calls_in >= 2);                   /* B served before the stop */
    CHECK_EQ_INT(sb2.calls_in, sb1.calls_in);   /* and nothing after it */
    CHECK(sc2.calls_in - sc1.calls_in >= 10);   /* C took every call after */
    member_stop(&c);
    member_stop(&b);
    member_stop(&a);
}

TEST(chunked_payload) {
    NEED_SERVER();
    char ln[64], key[CORRAL_HOST_KEY_LEN];
    new_lattice(ln, sizeof ln);
    member_t a, b;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
    REQUIRE(member_start(&b, ln, NULL, NULL) == 0);
    REQUIRE(start_echo(&b, key) == 0);
    natsConnection *nc = NULL;
    REQUIRE(natsConnection_ConnectTo(&nc, g_url) == NATS_OK);
    size_t n = (size_t)natsConnection_GetMaxPayload(nc) * 5 / 2;
    natsConnection_Destroy(nc);
    uint8_t *big = corral_malloc(n);
    REQUIRE(big);
    for (size_t i = 0; i < n; i++) big[i] = (uint8_t)(i * 131 + 7);
    corral_buf_t out = CORRAL_BUF_INIT;
    corral_err_t err;
    CHECK_EQ_INT(call_actor(&a, key, "echo", big, n, 10000, &out, &err), CORRAL_OK);
    CHECK(out.len == n && memcmp(out.data, big, n) == 0);
    corral_lattice_stats_t sa, sb;
    corral_lattice_stats(a.lat, &sa);
    corral_lattice_stats(b.lat, &sb);
    CHECK_EQ_INT(sa.chunked_out, 1); /* the request */
    CHECK_EQ_INT(sb.chunked_in, 1);
    CHECK_EQ_INT(sb.chunked_out, 1); /* the response */
    CHECK_EQ_INT(sa.chunked_in, 1);
    corral_free(big);
    corral_buf_free(&out);
    member_stop(&b);
    member_stop(&a);
}

/* ---- a remote provider ------------------------------------------------------------ */

typedef struct prov {
    const corral_provider_t *p;
    void *inst;
    corral_provider_host_t ph;
} prov_t;

static corral_status_t prov_call(void *user, const char *provider_key, const char *contract_id,
                                 const char *link_name, const char *origin_actor,
                                 const char *operation, const uint8_t *msg, size_t len,
                                 corral_buf_t *resp, corral_err_t *err) {
    prov_t *pv = user;
    corral_provider_call_t c = {origin_actor, link_name, contract_id, operation, msg, len};
    corral_provider_bytes_t r = {0};
    corral_status_t st = pv->p->call(pv->inst, &c, &r, err);
    if (st == CORRAL_OK && r.len) st = corral_buf_append(resp, r.data, r.len);
    corral_free(r.data);
    return st;
}

TEST(remote_provider_call) {
    NEED_SERVER();
    char ln[64];
    new_lattice(ln, sizeof ln);
    prov_t pv = {0};
    pv.p = corral_provider_builtin_find("keyvalue:memory");
    REQUIRE(pv.p);
    corral_provider_host_init_default(&pv.ph, "/tmp");
    corral_err_t err;
    REQUIRE(pv.p->create(NULL, 0, &pv.ph, &pv.inst, &err) == CORRAL_OK);
    const char *actor = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
    REQUIRE(pv.p->link(pv.inst, actor, "default", NULL, 0, &err) == CORRAL_OK);
    member_t a, b;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
    REQUIRE(member_start(&b, ln, prov_call, &pv) == 0);
    const char *pkey = "VAHNM37G5ARLUVVRXB6JFCZE6DYMYUUJW2WXKN7TURDVK2GWVGZLBCP4";
    REQUIRE(corral_lattice_provider_add(b.lat, pkey, "wasmcloud:keyvalue", "default", &err) ==
            CORRAL_OK);
    /* Set {key, value, expires} from a's side, addressed by contract and link
     * only: a learns the provider's key from b's provider_started event. */
    corral_buf_t req = CORRAL_BUF_INIT, out = CORRAL_BUF_INIT;
    msgpack_packer pk;
    corral_mp_packer_init(&pk, &req);
    msgpack_pack_map(&pk, 3);
    corral_mp_pack_cstr(&pk, "key");
    corral_mp_pack_cstr(&pk, "color");
    corral_mp_pack_cstr(&pk, "value");
    corral_mp_pack_cstr(&pk, "green");
    corral_mp_pack_cstr(&pk, "expires");
    msgpack_pack_int(&pk, 0);
    corral_lattice_entity_t origin = {(char *)actor, NULL, NULL};
    corral_lattice_entity_t target = {NULL, "wasmcloud:keyvalue", "default"};
    corral_status_t st = CORRAL_ERR_NO_LINK;
    for (int i = 0; i < 100 && st == CORRAL_ERR_NO_LINK; i++) {
        st = corral_lattice_call(a.lat, &origin, &target, "Set", req.data, req.len, 0, &out, &err);
        if (st == CORRAL_ERR_NO_LINK) usleep(20000);
    }
    CHECK_EQ_INT(st, CORRAL_OK);
    req.len = 0;
    out.len = 0;
    msgpack_pack_map(&pk, 1);
    corral_mp_pack_cstr(&pk, "key");
    corral_mp_pack_cstr(&pk, "color");
    CHECK_EQ_INT(corral_lattice_call(a.lat, &origin, &target, "Get", req.data, req.len, 0, &out,
                                     &err),
                 CORRAL_OK);
    corral_mp_doc_t doc;
    if (corral_mp_doc_parse(&doc, "Get", out.data, out.len, &err) == CORRAL_OK) {
        corral_mp_str_t v = {0};
        CHECK(corral_mp_get_str(&doc, "value", &v, &err) == CORRAL_OK);
        CHECK(v.n == 5 && memcmp(v.p, "green", 5) == 0);
        corral_mp_doc_deinit(&doc);
    } else {
        CHECK(!"Get response decodes");
    }
    corral_buf_free(&req);
    corral_buf_free(&out);
    member_stop(&b);
    member_stop(&a);
    pv.p->destroy(pv.inst);
}

/* ---- links from the bucket ------------------------------------------------------- */

TEST(late_host_learns_links) {
    NEED_SERVER();
    char ln[64];
    new_lattice(ln, sizeof ln);
    member_t a, d;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
    const char *actor = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
    corral_host_kv_t vals[1] = {{"URL", "redis://nowhere"}};
    corral_err_t err;
    REQUIRE(corral_lattice_link_put(a.lat, actor, "wasmcloud:keyvalue", "cache", NULL, vals, 1,
                                    &err) == CORRAL_OK);
    /* d starts after the link was made */
    REQUIRE(member_start(&d, ln, NULL, NULL) == 0);
    char *inv = NULL;
    REQUIRE(corral_host_inventory(d.host, &inv, &err) == CORRAL_OK);
    json_t *j = json_loads(inv, 0, NULL);
    corral_free(inv);
    int found = 0;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(j, "links"), i, l) {
        if (strcmp(json_string_value(json_object_get(l, "actor")), actor) == 0 &&
            strcmp(json_string_value(json_object_get(l, "link_name")), "cache") == 0 &&
            strcmp(json_string_value(json_object_get(json_object_get(l, "values"), "URL")),
                   "redis://nowhere") == 0)
            found = 1;
    }
    json_decref(j);
    CHECK(found);
    corral_lattice_stats_t sd;
    corral_lattice_stats(d.lat, &sd);
    CHECK(sd.links_applied >= 1);
    /* a delete reaches d through its watcher */
    REQUIRE(corral_lattice_link_del(a.lat, actor, "wasmcloud:keyvalue", "cache", &err) ==
            CORRAL_OK);
    int gone = 0;
    for (int k = 0; k < 100 && !gone; k++) {
        REQUIRE(corral_host_inventory(d.host, &inv, &err) == CORRAL_OK);
        j = json_loads(inv, 0, NULL);
        corral_free(inv);
        gone = json_array_size(json_object_get(j, "links")) == 0;
        json_decref(j);
        if (!gone) usleep(20000);
    }
    CHECK(gone);
    CHECK_EQ_INT(corral_lattice_link_del(a.lat, actor, "wasmcloud:keyvalue", "cache", &err),
                 CORRAL_ERR_NOT_FOUND);
    member_stop(&d);
    member_stop(&a);
}

/* ---- control subjects ----------------------------------------------------------------- */

TEST(control_subjects) {
    NEED_SERVER();
    char ln[64], subj[256];
    new_lattice(ln, sizeof ln);
    member_t a;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
    natsConnection *nc = NULL;
    natsMsg *r = NULL;
    REQUIRE(natsConnection_ConnectTo(&nc, g_url) == NATS_OK);
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.ping.hosts", ln);
    REQUIRE(natsConnection_RequestString(&r, nc, subj, "", 2000) == NATS_OK);
    json_t *j = json_loadb(natsMsg_GetData(r), (size_t)natsMsg_GetDataLength(r), 0, NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "id")), corral_host_key(a.host));
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(j, "labels"), "zone")), "test");
    json_decref(j);
    natsMsg_Destroy(r);
    /* la: start an actor by command, then it answers over the lattice */
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.cmd.%s.la", ln, corral_host_key(a.host));
    char cmd[512];
    /* A path on the host's disk is refused over the lattice ... */
    snprintf(cmd, sizeof cmd, "{\"path\":\"%s\",\"allow_unsigned\":true}", ECHO_WASM);
    REQUIRE(natsConnection_RequestString(&r, nc, subj, cmd, 5000) == NATS_OK);
    j = json_loadb(natsMsg_GetData(r), (size_t)natsMsg_GetDataLength(r), 0, NULL);
    CHECK(json_is_false(json_object_get(j, "accepted")));
    CHECK_CONTAINS(json_string_value(json_object_get(j, "error")),
                   "module path is not accepted over the lattice");
    json_decref(j);
    natsMsg_Destroy(r);
    /* ... the module itself is sent. */
    corral_buf_t wasm = CORRAL_BUF_INIT, la = CORRAL_BUF_INIT;
    REQUIRE(corral_file_read(ECHO_WASM, 0, &wasm, NULL) == CORRAL_OK);
    corral_buf_append_str(&la, "{\"allow_unsigned\":true,\"module_b64\":\"");
    corral_base64_encode(wasm.data, wasm.len, &la);
    corral_buf_append_str(&la, "\"}");
    corral_buf_free(&wasm);
    natsStatus ns = natsConnection_Request(&r, nc, subj, la.data, (int)la.len, 5000);
    corral_buf_free(&la);
    REQUIRE(ns == NATS_OK);
    j = json_loadb(natsMsg_GetData(r), (size_t)natsMsg_GetDataLength(r), 0, NULL);
    CHECK(json_is_true(json_object_get(j, "accepted")));
    const char *key = json_string_value(json_object_get(json_object_get(j, "result"), "key"));
    char k[CORRAL_HOST_KEY_LEN] = "";
    if (key) snprintf(k, sizeof k, "%s", key);
    json_decref(j);
    natsMsg_Destroy(r);
    /* inventory over NATS lists it */
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.get.%s.inv", ln, corral_host_key(a.host));
    REQUIRE(natsConnection_RequestString(&r, nc, subj, "", 2000) == NATS_OK);
    j = json_loadb(natsMsg_GetData(r), (size_t)natsMsg_GetDataLength(r), 0, NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(j, "actors"), 0),
                                                   "key")),
                 k);
    json_decref(j);
    natsMsg_Destroy(r);
    /* its claims are in the bucket */
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.get.claims", ln);
    REQUIRE(natsConnection_RequestString(&r, nc, subj, "", 2000) == NATS_OK);
    j = json_loadb(natsMsg_GetData(r), (size_t)natsMsg_GetDataLength(r), 0, NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(j, "claims"), 0),
                                                   "sub")),
                 k);
    json_decref(j);
    natsMsg_Destroy(r);
    /* auctions: matching labels answer, others stay silent */
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.auction.actor", ln);
    REQUIRE(natsConnection_RequestString(&r, nc, subj, "{\"constraints\":{\"zone\":\"test\"}}",
                                         2000) == NATS_OK);
    natsMsg_Destroy(r);
    r = NULL;
    CHECK(natsConnection_RequestString(&r, nc, subj, "{\"constraints\":{\"zone\":\"mars\"}}",
                                       300) != NATS_OK);
    natsMsg_Destroy(r);
    /* lp / sp: a provider by command */
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.cmd.%s.lp", ln, corral_host_key(a.host));
    REQUIRE(natsConnection_RequestString(&r, nc, subj, "{\"kind\":\"keyvalue:memory\"}", 5000) ==
            NATS_OK);
    j = json_loadb(natsMsg_GetData(r), (size_t)natsMsg_GetDataLength(r), 0, NULL);
    CHECK(json_is_true(json_object_get(j, "accepted")));
    char pk[CORRAL_HOST_KEY_LEN] = "";
    const char *pks = json_string_value(json_object_get(json_object_get(j, "result"), "key"));
    if (pks) snprintf(pk, sizeof pk, "%s", pks);
    json_decref(j);
    natsMsg_Destroy(r);
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.cmd.%s.sp", ln, corral_host_key(a.host));
    snprintf(cmd, sizeof cmd, "{\"provider\":\"%s\"}", pk);
    REQUIRE(natsConnection_RequestString(&r, nc, subj, cmd, 5000) == NATS_OK);
    j = json_loadb(natsMsg_GetData(r), (size_t)natsMsg_GetDataLength(r), 0, NULL);
    CHECK(json_is_true(json_object_get(j, "accepted")));
    json_decref(j);
    natsMsg_Destroy(r);
    /* sa: stop the actor; then nobody answers for it */
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.cmd.%s.sa", ln, corral_host_key(a.host));
    snprintf(cmd, sizeof cmd, "{\"actor\":\"%s\"}", k);
    REQUIRE(natsConnection_RequestString(&r, nc, subj, cmd, 5000) == NATS_OK);
    j = json_loadb(natsMsg_GetData(r), (size_t)natsMsg_GetDataLength(r), 0, NULL);
    CHECK(json_is_true(json_object_get(j, "accepted")));
    json_decref(j);
    natsMsg_Destroy(r);
    snprintf(subj, sizeof subj, "wasmbus.rpc.%s.%s", ln, k);
    r = NULL;
    CHECK_EQ_INT(natsConnection_RequestString(&r, nc, subj, "x", 1000), NATS_NO_RESPONDERS);
    natsMsg_Destroy(r);
    /* a refused command carries the host's reason */
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.cmd.%s.sa", ln, corral_host_key(a.host));
    REQUIRE(natsConnection_RequestString(&r, nc, subj, "{\"actor\":\"nobody\"}", 5000) ==
            NATS_OK);
    j = json_loadb(natsMsg_GetData(r), (size_t)natsMsg_GetDataLength(r), 0, NULL);
    CHECK(json_is_false(json_object_get(j, "accepted")));
    CHECK_CONTAINS(json_string_value(json_object_get(j, "error")), "nobody");
    json_decref(j);
    natsMsg_Destroy(r);
    /* an unknown command is refused */
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.cmd.%s.xyz", ln, corral_host_key(a.host));
    REQUIRE(natsConnection_RequestString(&r, nc, subj, "{}", 2000) == NATS_OK);
    j = json_loadb(natsMsg_GetData(r), (size_t)natsMsg_GetDataLength(r), 0, NULL);
    CHECK(json_is_false(json_object_get(j, "accepted")));
    json_decref(j);
    natsMsg_Destroy(r);
    /* stop: the host is asked to stop (corral up then drains and exits) */
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.cmd.%s.stop", ln, corral_host_key(a.host));
    REQUIRE(natsConnection_RequestString(&r, nc, subj, "{}", 5000) == NATS_OK);
    j = json_loadb(natsMsg_GetData(r), (size_t)natsMsg_GetDataLength(r), 0, NULL);
    CHECK(json_is_true(json_object_get(j, "accepted")));
    json_decref(j);
    natsMsg_Destroy(r);
    CHECK_EQ_INT(corral_host_wait(a.host, 2000), 1);
    natsConnection_Destroy(nc);
    member_stop(&a);
}

/* ---- forged invocations with raw cnats ------------------------------------------------ */

static corral_status_t raw_call(natsConnection *nc, const char *subj,
                                corral_lattice_invocation_t *inv, corral_lattice_response_t *r) {
    corral_buf_t b = CORRAL_BUF_INIT;
    natsMsg *m = NULL;
    corral_status_t st = corral_lattice_invocation_encode(inv, &b, NULL);
    if (!st && natsConnection_Request(&m, nc, subj, b.data, (int)b.len, 3000) != NATS_OK)
        st = CORRAL_ERR_IO;
    if (!st)
        st = corral_lattice_response_decode((const uint8_t *)natsMsg_GetData(m),
                                            (size_t)natsMsg_GetDataLength(m), r, NULL);
    natsMsg_Destroy(m);
    corral_buf_free(&b);
    return st;
}

TEST(forged_invocations_refused) {
    NEED_SERVER();
    char ln[64], key[CORRAL_HOST_KEY_LEN], subj[256];
    new_lattice(ln, sizeof ln);
    member_t b;
    REQUIRE(member_start(&b, ln, NULL, NULL) == 0);
    REQUIRE(start_echo(&b, key) == 0);
    natsConnection *nc = NULL;
    natsSubscription *evs = NULL;
    REQUIRE(natsConnection_ConnectTo(&nc, g_url) == NATS_OK);
    snprintf(subj, sizeof subj, "wasmbus.evt.%s", ln);
    REQUIRE(natsConnection_SubscribeSync(&evs, nc, subj) == NATS_OK);
    natsConnection_Flush(nc);
    snprintf(subj, sizeof subj, "wasmbus.rpc.%s.%s", ln, key);
    corral_nkey_t outsider;
    corral_nkey_generate(CORRAL_NKEY_CLUSTER, &outsider, NULL);
    corral_lattice_invocation_t inv;
    corral_lattice_response_t r;
    memset(&inv, 0, sizeof inv);
    inv.origin.public_key = corral_strdup("MATTACKERXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
    inv.target.public_key = corral_strdup(key);
    inv.operation = corral_strdup("echo");
    inv.host_id = corral_strdup("NATTACKER");
    inv.msg = (uint8_t *)corral_strdup("pwn");
    inv.msg_len = inv.content_length = 3;
    /* 1 unsigned */
    inv.id = corral_strdup("forged-1");
    inv.encoded_claims = corral_strdup("");
    REQUIRE(raw_call(nc, subj, &inv, &r) == CORRAL_OK);
    CHECK(r.error != NULL);
    CHECK(r.msg_len == 0);
    corral_lattice_response_deinit(&r);
    /* 2 signed by a cluster key the lattice does not trust */
    corral_free(inv.id);
    inv.id = NULL;
    REQUIRE(corral_lattice_sign(&inv, NULL, 0, &outsider, 0, 0, NULL) == CORRAL_OK);
    REQUIRE(raw_call(nc, subj, &inv, &r) == CORRAL_OK);
    CHECK(r.error && strstr(r.error, "cluster issuers"));
    corral_lattice_response_deinit(&r);
    /* 3 signed by the lattice's key but tampered after signing */
    corral_free(inv.id);
    inv.id = NULL;
    REQUIRE(corral_lattice_sign(&inv, NULL, 0, &g_cluster, 0, 0, NULL) == CORRAL_OK);
    inv.msg[0] = 'P';
    REQUIRE(raw_call(nc, subj, &inv, &r) == CORRAL_OK);
    CHECK(r.error && strstr(r.error, "hash"));
    corral_lattice_response_deinit(&r);
    /* 4 expired */
    corral_free(inv.id);
    inv.id = NULL;
    REQUIRE(corral_lattice_sign(&inv, NULL, 0, &g_cluster, corral_unix_time() - 120, 0, NULL) ==
            CORRAL_OK);
    REQUIRE(raw_call(nc, subj, &inv, &r) == CORRAL_OK);
    CHECK(r.error && strstr(r.error, "expired"));
    corral_lattice_response_deinit(&r);
    corral_host_actor_stats_t as;
    REQUIRE(corral_host_actor_stats(b.host, key, &as, NULL) == CORRAL_OK);
    CHECK_EQ_INT(as.calls, 0); /* none of them reached the actor */
    /* 5 a genuine one works once ... */
    corral_free(inv.id);
    inv.id = NULL;
    REQUIRE(corral_lattice_sign(&inv, NULL, 0, &g_cluster, 0, 0, NULL) == CORRAL_OK);
    REQUIRE(raw_call(nc, subj, &inv, &r) == CORRAL_OK);
    CHECK(r.error == NULL);
    CHECK(r.msg_len == 3 && memcmp(r.msg, "Pwn", 3) == 0);
    corral_lattice_response_deinit(&r);
    /* ... and is refused when replayed */
    REQUIRE(raw_call(nc, subj, &inv, &r) == CORRAL_OK);
    CHECK(r.error && strstr(r.error, "replay"));
    corral_lattice_response_deinit(&r);
    REQUIRE(corral_host_actor_stats(b.host, key, &as, NULL) == CORRAL_OK);
    CHECK_EQ_INT(as.calls, 1);
    corral_lattice_stats_t sb;
    corral_lattice_stats(b.lat, &sb);
    CHECK_EQ_INT(sb.refused, 5);
    /* each refusal was announced */
    int failed = 0;
    natsMsg *m = NULL;
    while (natsSubscription_NextMsg(&m, evs, 500) == NATS_OK) {
        json_t *e = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
        const char *t = json_string_value(json_object_get(e, "type"));
        if (t && strcmp(t, "com.wasmcloud.lattice.invocation_failed") == 0) failed++;
        CHECK_EQ_STR(json_string_value(json_object_get(e, "specversion")), "1.0");
        json_decref(e);
        natsMsg_Destroy(m);
    }
    CHECK_EQ_INT(failed, 5);
    /* garbage bytes are answered too */
    natsMsg *rm = NULL;
    REQUIRE(natsConnection_Request(&rm, nc, subj, "\xc1\xc1", 2, 2000) == NATS_OK);
    CHECK(corral_lattice_response_decode((const uint8_t *)natsMsg_GetData(rm),
                                         (size_t)natsMsg_GetDataLength(rm), &r, NULL) == CORRAL_OK);
    CHECK(r.error != NULL);
    corral_lattice_response_deinit(&r);
    natsMsg_Destroy(rm);
    corral_lattice_invocation_deinit(&inv);
    corral_nkey_wipe(&outsider);
    natsSubscription_Destroy(evs);
    natsConnection_Destroy(nc);
    member_stop(&b);
}


/* ---- the CLI against a live lattice ---------------------------------------------------- */

#ifdef CORRAL_CLI_PATH
#ifdef CORRAL_CLI_GET_HOOKED
static char *run_cli(const char *args) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", CORRAL_CLI_PATH, args);
    FILE *f = popen(cmd, "r");
    if (!f) return NULL;
    corral_buf_t b = CORRAL_BUF_INIT;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) corral_buf_append(&b, buf, n);
    pclose(f);
    corral_buf_terminate(&b);
    return (char *)b.data;
}
#endif

TEST(cli_get_and_watch) {
    NEED_SERVER();
    char ln[64];
    new_lattice(ln, sizeof ln);
    member_t a;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
#ifdef CORRAL_CLI_GET_HOOKED
    char args[512];
    snprintf(args, sizeof args, "get hosts --lattice %s --nats %s --timeout 500", ln, g_url);
    char *out = run_cli(args);
    CHECK_CONTAINS(out, corral_host_key(a.host));
    CHECK_CONTAINS(out, "HOSTS (1)");
    CHECK_CONTAINS(out, "{\"zone\":\"test\"}");
    corral_free(out);
    REQUIRE(corral_lattice_link_put(a.lat, "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5",
                                    "wasmcloud:keyvalue", "default", NULL, NULL, 0, NULL) ==
            CORRAL_OK);
    snprintf(args, sizeof args, "get links --lattice %s --nats %s", ln, g_url);
    out = run_cli(args);
    CHECK_CONTAINS(out, "LINKS (1)");
    CHECK_CONTAINS(out, "wasmcloud:keyvalue");
    corral_free(out);
#endif
    /* watch: the next actor_started event, printed as one line */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s watch events --lattice %s --nats %s --type actor_started --count 1 "
             "--timeout 10000 2>&1",
             CORRAL_CLI_PATH, ln, g_url);
    FILE *f = popen(cmd, "r");
    REQUIRE(f);
    char line[2048] = "";
    if (!fgets(line, sizeof line, f)) line[0] = 0; /* "watching ...": it has subscribed */
    CHECK_CONTAINS(line, "watching wasmbus.evt.");
    char key[CORRAL_HOST_KEY_LEN];
    REQUIRE(start_echo(&a, key) == 0);
    if (!fgets(line, sizeof line, f)) line[0] = 0;
    pclose(f);
    CHECK_CONTAINS(line, "actor_started");
    CHECK_CONTAINS(line, key);
#ifdef CORRAL_CLI_GET_HOOKED
    char args2[512];
    snprintf(args2, sizeof args2, "get hosts --lattice nobody-%s --nats %s --timeout 200", ln, g_url);
    char *out2 = run_cli(args2);
    CHECK_CONTAINS(out2, "no host of lattice");
    corral_free(out2);
#endif
    member_stop(&a);
}
#endif

/* ---- `corral get hosts|links|claims`, called as cmd_get.c will call it ------------------ */

#ifdef CORRAL_TEST_CLI_LATTICE
int corral_cli_lattice_get(int argc, char **argv);

/* Runs corral_cli_lattice_get with stdout sent to a file; returns what it printed. */
static char *cli_get(int *rc, const char *what, const char *lattice, const char *extra) {
    char *argv[10];
    int argc = 0;
    argv[argc++] = "get";
    argv[argc++] = (char *)what;
    argv[argc++] = "--lattice";
    argv[argc++] = (char *)lattice;
    argv[argc++] = "--nats";
    argv[argc++] = g_url;
    if (extra) argv[argc++] = (char *)extra;
    argv[argc] = NULL;
    char path[] = "/tmp/corral-cli-out-XXXXXX";
    int fd = mkstemp(path);
    fflush(stdout);
    int saved = dup(1);
    dup2(fd, 1);
    *rc = corral_cli_lattice_get(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_file_read(path, 1 << 20, &b, NULL);
    close(fd);
    unlink(path);
    corral_buf_terminate(&b);
    return (char *)b.data;
}

TEST(cli_lattice_get) {
    NEED_SERVER();
    char ln[64], key[CORRAL_HOST_KEY_LEN];
    new_lattice(ln, sizeof ln);
    member_t a;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
    REQUIRE(start_echo(&a, key) == 0);
    REQUIRE(corral_lattice_link_put(a.lat, key, "wasmcloud:keyvalue", "default", NULL, NULL, 0,
                                    NULL) == CORRAL_OK);
    int rc;
    char *out = cli_get(&rc, "hosts", ln, NULL);
    CHECK_EQ_INT(rc, 0);
    CHECK_CONTAINS(out, "HOSTS (1)");
    CHECK_CONTAINS(out, corral_host_key(a.host));
    CHECK_CONTAINS(out, "\"zone\":\"test\"");
    corral_free(out);
    out = cli_get(&rc, "links", ln, NULL);
    CHECK_EQ_INT(rc, 0);
    CHECK_CONTAINS(out, "LINKS (1)");
    CHECK_CONTAINS(out, key);
    corral_free(out);
    out = cli_get(&rc, "claims", ln, "--json");
    CHECK_EQ_INT(rc, 0);
    CHECK_CONTAINS(out, key);
    corral_free(out);
    char other[80];
    snprintf(other, sizeof other, "nobody-%s", ln);
    out = cli_get(&rc, "hosts", other, NULL);
    CHECK_EQ_INT(rc, 1);
    corral_free(out);
    out = cli_get(&rc, "planets", ln, NULL);
    CHECK_EQ_INT(rc, 2);
    corral_free(out);
    member_stop(&a);
}
#endif

/* ---- the hook table the host will call, and events ------------------------------------- */

static int inventory_has_link(corral_host_t *h, const char *actor, const char *link) {
    char *inv = NULL;
    if (corral_host_inventory(h, &inv, NULL)) return 0;
    json_t *j = json_loads(inv, 0, NULL);
    corral_free(inv);
    int found = 0;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(j, "links"), i, l) {
        found |= strcmp(json_string_value(json_object_get(l, "actor")), actor) == 0 &&
                 strcmp(json_string_value(json_object_get(l, "link_name")), link) == 0;
    }
    json_decref(j);
    return found;
}

TEST(host_hooks) {
    NEED_SERVER();
    char ln[64], key[CORRAL_HOST_KEY_LEN];
    new_lattice(ln, sizeof ln);
    member_t a, b;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
    REQUIRE(member_start(&b, ln, NULL, NULL) == 0);
    REQUIRE(start_echo(&b, key) == 0);
    corral_lattice_remote_t r;
    corral_lattice_remote_hooks(a.lat, &r);
    REQUIRE(r.ctx == a.lat && r.call && r.actor_changed && r.provider_changed && r.link_changed);
    /* an actor on a calls the remote actor, as host_dispatch will */
    corral_buf_t out = CORRAL_BUF_INIT;
    corral_err_t err;
    const char *caller = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
    CHECK_EQ_INT(r.call(r.ctx, caller, NULL, NULL, key, NULL, NULL, "echo",
                        (const uint8_t *)"hook", 4, 0, &out, &err),
                 CORRAL_OK);
    CHECK(out.len == 4 && memcmp(out.data, "hook", 4) == 0);
    /* a link made on a's control socket goes lattice-wide */
    corral_host_kv_t v[1] = {{"PORT", "8080"}};
    r.link_changed(r.ctx, caller, "wasmcloud:httpserver", "web", v, 1, 1);
    int seen = 0;
    for (int i = 0; i < 100 && !seen; i++) {
        seen = inventory_has_link(b.host, caller, "web");
        if (!seen) usleep(20000);
    }
    CHECK(seen);
    r.link_changed(r.ctx, caller, "wasmcloud:httpserver", "web", NULL, 0, 0);
    for (int i = 0; i < 100 && seen; i++) {
        seen = inventory_has_link(b.host, caller, "web");
        if (seen) usleep(20000);
    }
    CHECK(!seen);
    /* actor_changed: stopping the actor on b unsubscribes it at once */
    corral_lattice_remote_t rb;
    corral_lattice_remote_hooks(b.lat, &rb);
    REQUIRE(corral_host_actor_stop(b.host, key, NULL, &err) == CORRAL_OK);
    rb.actor_changed(rb.ctx, key, 0);
    out.len = 0;
    CHECK_EQ_INT(r.call(r.ctx, caller, NULL, NULL, key, NULL, NULL, "echo",
                        (const uint8_t *)"x", 1, 500, &out, &err),
                 CORRAL_ERR_NO_ACTOR);
    corral_buf_free(&out);
    member_stop(&b);
    member_stop(&a);
}

TEST(events_and_heartbeat) {
    NEED_SERVER();
    char ln[64], subj[256];
    new_lattice(ln, sizeof ln);
    natsConnection *nc = NULL;
    natsSubscription *sub = NULL;
    REQUIRE(natsConnection_ConnectTo(&nc, g_url) == NATS_OK);
    snprintf(subj, sizeof subj, "wasmbus.evt.%s", ln);
    REQUIRE(natsConnection_SubscribeSync(&sub, nc, subj) == NATS_OK);
    natsConnection_Flush(nc);
    member_t a;
    corral_host_config_t hc = {0};
    hc.allow_unsigned = 1;
    hc.no_builtins = 1;
    hc.health_interval_ms = CORRAL_HOST_HEALTH_OFF;
    REQUIRE(corral_host_new(&hc, &a.host, NULL) == CORRAL_OK);
    REQUIRE(corral_host_start(a.host, NULL) == CORRAL_OK);
    corral_lattice_config_t lc = {0};
    lc.lattice = ln;
    lc.nats_url = g_url;
    lc.cluster_seed = g_seed;
    lc.heartbeat_ms = 1000;
    REQUIRE(corral_lattice_new(a.host, &lc, &a.lat, NULL) == CORRAL_OK);
    REQUIRE(corral_lattice_start(a.lat, NULL) == CORRAL_OK);
    char key[CORRAL_HOST_KEY_LEN];
    REQUIRE(start_echo(&a, key) == 0);
    int started = 0, actor = 0, beat = 0;
    uint64_t end = corral_now_ns() + 4000000000ull;
    while (corral_now_ns() < end && !beat) {
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, sub, 200) != NATS_OK) continue;
        json_t *e = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
        const char *t = json_string_value(json_object_get(e, "type"));
        CHECK_EQ_STR(json_string_value(json_object_get(e, "source")), corral_host_key(a.host));
        CHECK(json_string_value(json_object_get(e, "id")) && json_object_get(e, "time"));
        if (t && !strcmp(t, "com.wasmcloud.lattice.host_started")) started = 1;
        if (t && !strcmp(t, "com.wasmcloud.lattice.actor_started"))
            actor = !strcmp(json_string_value(json_object_get(json_object_get(e, "data"),
                                                              "public_key")),
                            key);
        if (t && !strcmp(t, "com.wasmcloud.lattice.host_heartbeat")) {
            json_t *acts = json_object_get(json_object_get(e, "data"), "actors");
            beat = json_array_size(acts) == 1 &&
                   !strcmp(json_string_value(json_object_get(json_array_get(acts, 0), "key")), key);
        }
        json_decref(e);
        natsMsg_Destroy(m);
    }
    CHECK(started);
    CHECK(actor);
    CHECK(beat); /* carries the inventory */
    /* a health check is announced once, as passed or failed */
    corral_host_health_t hh;
    REQUIRE(corral_host_actor_health(a.host, key, &hh, NULL) == CORRAL_OK);
    const char *want = hh.healthy ? "com.wasmcloud.lattice.health_check_passed"
                                  : "com.wasmcloud.lattice.health_check_failed";
    REQUIRE(corral_lattice_sync(a.lat, NULL) == CORRAL_OK);
    REQUIRE(corral_lattice_sync(a.lat, NULL) == CORRAL_OK);
    int failed = 0;
    natsMsg *hm = NULL;
    while (natsSubscription_NextMsg(&hm, sub, 300) == NATS_OK) {
        if (strstr(natsMsg_GetData(hm), want) &&
            strstr(natsMsg_GetData(hm), key))
            failed++;
        natsMsg_Destroy(hm);
    }
    CHECK_EQ_INT(failed, 1);
    member_stop(&a);
    int stopped = 0;
    natsMsg *m = NULL;
    while (!stopped && natsSubscription_NextMsg(&m, sub, 1000) == NATS_OK) {
        stopped = strstr(natsMsg_GetData(m), "host_stopped") != NULL;
        natsMsg_Destroy(m);
    }
    CHECK(stopped);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
}

/* ---- a call alias learned from the claims in the bucket -------------------------------- */

TEST(remote_call_by_alias) {
    NEED_SERVER();
    char ln[64];
    new_lattice(ln, sizeof ln);
    member_t a, b;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
    REQUIRE(member_start(&b, ln, NULL, NULL) == 0);
    corral_host_actor_info_t info;
    corral_err_t err;
    REQUIRE(corral_host_actor_start_file(b.host, CORRAL_GUEST_DIR "/pong_s.wasm", NULL, &info,
                                         &err) == CORRAL_OK);
    REQUIRE(corral_lattice_sync(b.lat, &err) == CORRAL_OK);
    corral_buf_t out = CORRAL_BUF_INIT;
    corral_status_t st = CORRAL_ERR_NO_ACTOR;
    for (int i = 0; i < 100 && st == CORRAL_ERR_NO_ACTOR; i++) { /* a's watcher learns it */
        out.len = 0;
        st = call_actor(&a, "pong", "Pong", "hi", 2, 0, &out, &err);
        if (st == CORRAL_ERR_NO_ACTOR) usleep(20000);
    }
    CHECK_EQ_INT(st, CORRAL_OK);
    CHECK(out.len == 8 && memcmp(out.data, "pong: hi", 8) == 0);
    corral_lattice_stats_t sb;
    corral_lattice_stats(b.lat, &sb);
    CHECK_EQ_INT(sb.calls_in, 1);
    out.len = 0;
    CHECK_EQ_INT(call_actor(&a, "nobody", "Pong", "hi", 2, 0, &out, &err), CORRAL_ERR_NO_ACTOR);
    CHECK_CONTAINS(err.msg, "'nobody'");
    corral_buf_free(&out);
    /* a link naming the actor by its alias, made on a host that does not
     * run it, is stored and applied under the module key */
    corral_host_kv_t vals[1] = {{"URL", "redis://nowhere"}};
    REQUIRE(corral_lattice_link_put(a.lat, "pong", "wasmcloud:keyvalue", "cache", NULL, vals, 1,
                                    &err) == CORRAL_OK);
    int seen = 0;
    for (int i = 0; i < 100 && !seen; i++) {
        seen = inventory_has_link(a.host, info.key, "cache");
        if (!seen) usleep(20000);
    }
    CHECK(seen);
    CHECK(!inventory_has_link(a.host, "pong", "cache"));
    CHECK_EQ_INT(corral_lattice_link_del(a.lat, "pong", "wasmcloud:keyvalue", "cache", &err),
                 CORRAL_OK);
    for (int i = 0; i < 100 && seen; i++) {
        seen = inventory_has_link(a.host, info.key, "cache");
        if (seen) usleep(20000);
    }
    CHECK(!seen);
    member_stop(&b);
    member_stop(&a);
}

/* ---- NATS goes away and comes back --------------------------------------------------- */

TEST(reconnect) {
    NEED_SERVER();
    if (!test_nats_can_restart()) {
        printf("  (server not ours: reconnect not tested)\n");
        return;
    }
    char ln[64], key[CORRAL_HOST_KEY_LEN];
    new_lattice(ln, sizeof ln);
    member_t a, b;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
    REQUIRE(member_start(&b, ln, NULL, NULL) == 0);
    REQUIRE(start_echo(&b, key) == 0);
    corral_buf_t out = CORRAL_BUF_INIT;
    corral_err_t err;
    REQUIRE(call_actor(&a, key, "echo", "1", 1, 0, &out, &err) == CORRAL_OK);
    REQUIRE(test_nats_restart() == 0);
    corral_status_t st = CORRAL_ERR_IO;
    for (int i = 0; i < 100 && st != CORRAL_OK; i++) { /* back-off is at most ~7.5 s */
        out.len = 0;
        st = call_actor(&a, key, "echo", "2", 1, 500, &out, &err);
        if (st != CORRAL_OK) usleep(100000);
    }
    CHECK_EQ_INT(st, CORRAL_OK);
    CHECK(out.len == 1 && out.data[0] == '2');
    /* the bucket and its watchers work again: a link made now reaches b */
    const char *actor = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
    st = CORRAL_ERR_IO;
    for (int i = 0; i < 50 && st != CORRAL_OK; i++) {
        st = corral_lattice_link_put(a.lat, actor, "wasmcloud:keyvalue", "after", NULL, NULL, 0,
                                     &err);
        if (st != CORRAL_OK) usleep(100000);
    }
    CHECK_EQ_INT(st, CORRAL_OK);
    int seen = 0;
    for (int i = 0; i < 150 && !seen; i++) {
        seen = inventory_has_link(b.host, actor, "after");
        if (!seen) usleep(20000);
    }
    CHECK(seen);
    corral_buf_free(&out);
    member_stop(&b);
    member_stop(&a);
}

/* ---- through the host's own dispatch (needs the host hook API) ------------------------- */

#ifdef CORRAL_HOST_REMOTE

/* A remote callee that itself calls out through the lattice (ping on a,
 * called from c, calls pong on b): invocations of ping are answered while
 * a nested call is in flight from them, many times over (past the point
 * where a cheap callee would be answered on the delivery thread), each well
 * within the call timeout. */
TEST(nested_remote_calls) {
    NEED_SERVER();
    char ln[64];
    new_lattice(ln, sizeof ln);
    member_t a, b, c;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
    REQUIRE(member_start(&b, ln, NULL, NULL) == 0);
    REQUIRE(member_start(&c, ln, NULL, NULL) == 0);
    corral_host_actor_info_t ping, pong;
    corral_err_t err;
    REQUIRE(corral_host_actor_start_file(a.host, CORRAL_GUEST_DIR "/ping_s.wasm", NULL, &ping,
                                         &err) == CORRAL_OK);
    REQUIRE(corral_host_actor_start_file(b.host, CORRAL_GUEST_DIR "/pong_s.wasm", NULL, &pong,
                                         &err) == CORRAL_OK);
    REQUIRE(corral_lattice_sync(a.lat, &err) == CORRAL_OK);
    REQUIRE(corral_lattice_sync(b.lat, &err) == CORRAL_OK);
    corral_buf_t out = CORRAL_BUF_INIT;
    corral_status_t st = CORRAL_ERR_NO_ACTOR;
    for (int i = 0; i < 150 && st != CORRAL_OK; i++) { /* until a learns pong's alias */
        out.len = 0;
        st = call_actor(&c, ping.key, "Ping", "hi", 2, 0, &out, &err);
        if (st != CORRAL_OK) usleep(20000);
    }
    REQUIRE(st == CORRAL_OK);
    int ok = 0;
    uint64_t worst = 0;
    for (int i = 0; i < 30; i++) {
        out.len = 0;
        uint64_t t0 = corral_now_ns();
        if (call_actor(&c, ping.key, "Ping", "hi", 2, 0, &out, &err) == CORRAL_OK &&
            out.len == 16 && memcmp(out.data, "ping -> pong: hi", 16) == 0)
            ok++;
        uint64_t dt = corral_now_ns() - t0;
        if (dt > worst) worst = dt;
    }
    CHECK_EQ_INT(ok, 30);
    CHECK(worst < 1000000000ull); /* no call waited for a timeout (3 s) */
    corral_lattice_stats_t sa;
    corral_lattice_stats(a.lat, &sa);
    CHECK(sa.calls_in >= 31);
    CHECK(sa.calls_out >= 31);
    corral_buf_free(&out);
    member_stop(&c);
    member_stop(&b);
    member_stop(&a);
}
TEST(host_dispatch_across_hosts) {
    NEED_SERVER();
    char ln[64];
    new_lattice(ln, sizeof ln);
    member_t a, b;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
    REQUIRE(member_start(&b, ln, NULL, NULL) == 0);
    corral_host_actor_info_t ping, pong, kvc;
    corral_err_t err;
    /* ping on a calls "pong" by alias; pong runs only on b */
    REQUIRE(corral_host_actor_start_file(a.host, CORRAL_GUEST_DIR "/ping_s.wasm", NULL, &ping,
                                         &err) == CORRAL_OK);
    REQUIRE(corral_host_actor_start_file(b.host, CORRAL_GUEST_DIR "/pong_s.wasm", NULL, &pong,
                                         &err) == CORRAL_OK);
    corral_buf_t out = CORRAL_BUF_INIT;
    corral_status_t st = CORRAL_ERR_NO_ACTOR;
    for (int i = 0; i < 150 && st != CORRAL_OK; i++) { /* until a learns the alias */
        out.len = 0;
        st = corral_host_call(a.host, "ping", "Ping", (const uint8_t *)"hi", 2, &out, &err);
        if (st != CORRAL_OK) usleep(20000);
    }
    CHECK_EQ_INT(st, CORRAL_OK);
    corral_buf_terminate(&out);
    CHECK_EQ_STR((char *)out.data, "ping -> pong: hi");
    corral_lattice_stats_t sb;
    corral_lattice_stats(b.lat, &sb);
    CHECK(sb.calls_in >= 1);
    /* kvcounter on a, its keyvalue provider on b, the link made on a's host */
    REQUIRE(corral_host_actor_start_file(a.host, CORRAL_GUEST_DIR "/kvcounter_s.wasm", NULL, &kvc,
                                         &err) == CORRAL_OK);
    corral_host_provider_opts_t po = {0};
    po.kind = "keyvalue:memory";
    corral_host_provider_info_t pinfo;
    REQUIRE(corral_host_provider_start(b.host, &po, &pinfo, &err) == CORRAL_OK);
    REQUIRE(corral_host_link_put(a.host, kvc.key, "wasmcloud:keyvalue", "default", NULL, 0,
                                 &err) == CORRAL_OK);
    corral_buf_t req = CORRAL_BUF_INIT;
    msgpack_packer pk;
    corral_mp_packer_init(&pk, &req);
    msgpack_pack_map(&pk, 5);
    corral_mp_pack_cstr(&pk, "method");
    corral_mp_pack_cstr(&pk, "GET");
    corral_mp_pack_cstr(&pk, "path");
    corral_mp_pack_cstr(&pk, "/counter");
    corral_mp_pack_cstr(&pk, "queryString");
    corral_mp_pack_cstr(&pk, "");
    corral_mp_pack_cstr(&pk, "header");
    msgpack_pack_map(&pk, 0);
    corral_mp_pack_cstr(&pk, "body");
    msgpack_pack_bin(&pk, 0);
    int got = 0;
    for (int i = 0; i < 150 && !got; i++) { /* until b applied the link and a knows b's provider */
        out.len = 0;
        if (corral_host_call(a.host, kvc.key, "HandleRequest", req.data, req.len, &out, &err) ==
                CORRAL_OK &&
            memmem(out.data, out.len, "{\"counter\":1}", 13))
            got = 1;
        else
            usleep(20000);
    }
    CHECK(got);
    out.len = 0;
    CHECK_EQ_INT(corral_host_call(a.host, kvc.key, "HandleRequest", req.data, req.len, &out, &err),
                 CORRAL_OK);
    CHECK(memmem(out.data, out.len, "{\"counter\":2}", 13) != NULL);
    corral_buf_free(&req);
    corral_buf_free(&out);
    member_stop(&b);
    member_stop(&a);
}
#endif

/* ---- a server that wants a user nkey ----------------------------------------------------- */

static pid_t spawn_server(const char *conf) {
    pid_t pid = fork();
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY);
        if (dn >= 0) {
            dup2(dn, 1);
            dup2(dn, 2);
        }
        execlp(CORRAL_NATS_SERVER, "nats-server", "-c", conf, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void stop_server(pid_t pid) {
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

TEST(nkey_auth) {
    NEED_SERVER(); /* for the cluster seed */
    corral_nkey_t user;
    char upub[CORRAL_NKEY_PUBLIC_LEN + 1], useed[CORRAL_NKEY_SEED_LEN + 1];
    REQUIRE(corral_nkey_generate(CORRAL_NKEY_USER, &user, NULL) == CORRAL_OK);
    corral_nkey_public_str(&user, upub);
    corral_nkey_seed_str(&user, useed, NULL);
    char dir[] = "/tmp/corral-nats-auth-XXXXXX", conf[128], url[64], cmd[128];
    REQUIRE(mkdtemp(dir));
    snprintf(conf, sizeof conf, "%s/nats.conf", dir);
    FILE *f = fopen(conf, "w");
    REQUIRE(f);
    /* the server picks its port (a port probed here could be taken by
     * another test's server before ours binds it) */
    fprintf(f,
            "host: 127.0.0.1\nport: -1\nports_file_dir: \"%s\"\n"
            "jetstream { store_dir: \"%s/js\" }\n"
            "authorization { users = [ { nkey: %s } ] }\n",
            dir, dir, upub);
    fclose(f);
    pid_t pid = spawn_server(conf);
    REQUIRE(pid > 0);
    REQUIRE(test_nats_url_from_ports(dir, (int)pid, url, sizeof url, 10000) == 0);
    f = fopen(conf, "w"); /* the restart below comes back on that port */
    REQUIRE(f);
    fprintf(f,
            "host: 127.0.0.1\nport: %s\njetstream { store_dir: \"%s/js\" }\n"
            "authorization { users = [ { nkey: %s } ] }\n",
            strrchr(url, ':') + 1, dir, upub);
    fclose(f);
    char ln[64], key[CORRAL_HOST_KEY_LEN];
    new_lattice(ln, sizeof ln);
    member_t a, b, c;
    corral_err_t err;
    /* without the key: refused, and said so */
    int rc = member_start_at(&c, ln, url, NULL, NULL, NULL, &err);
    CHECK(rc != 0);
    CHECK_CONTAINS(err.msg, "cannot reach NATS");
    member_stop(&c);
    /* with it (seed text for one, for the other a file) */
    char seedfile[160];
    snprintf(seedfile, sizeof seedfile, "%s/user.nk", dir);
    REQUIRE(corral_file_write(seedfile, useed, strlen(useed), 0600, NULL) == CORRAL_OK);
    REQUIRE(member_start_at(&a, ln, url, useed, NULL, NULL, NULL) == 0);
    REQUIRE(member_start_at(&b, ln, url, seedfile, NULL, NULL, NULL) == 0);
    REQUIRE(start_echo(&b, key) == 0);
    corral_buf_t out = CORRAL_BUF_INIT;
    CHECK_EQ_INT(call_actor(&a, key, "echo", "k", 1, 0, &out, &err), CORRAL_OK);
    /* a restart makes both sign the new server's nonce again */
    stop_server(pid);
    usleep(300000);
    pid = spawn_server(conf);
    corral_status_t st = CORRAL_ERR_IO;
    for (int i = 0; i < 100 && st != CORRAL_OK; i++) {
        out.len = 0;
        st = call_actor(&a, key, "echo", "again", 5, 500, &out, &err);
        if (st != CORRAL_OK) usleep(100000);
    }
    CHECK_EQ_INT(st, CORRAL_OK);
    CHECK(out.len == 5 && memcmp(out.data, "again", 5) == 0);
    corral_buf_free(&out);
    member_stop(&b);
    member_stop(&a);
    stop_server(pid);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    corral_nkey_wipe(&user);
    corral_nkey_wipe_text(useed, sizeof useed);
}

#ifdef CORRAL_HOST_REMOTE
/* A provider on one host delivering to an actor on another: the messaging
 * provider on b gets a message for echo, which runs only on a. */
TEST(provider_to_remote_actor) {
    NEED_SERVER();
    char ln[64], key[CORRAL_HOST_KEY_LEN], subj[128];
    new_lattice(ln, sizeof ln);
    member_t a, b;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
    REQUIRE(member_start(&b, ln, NULL, NULL) == 0);
    REQUIRE(start_echo(&a, key) == 0);
    corral_host_provider_opts_t po = {0};
    po.kind = "messaging";
    corral_err_t err;
    REQUIRE(corral_host_provider_start(b.host, &po, NULL, &err) == CORRAL_OK);
    snprintf(subj, sizeof subj, "news.%s", ln);
    corral_host_kv_t v[1] = {{"SUBSCRIPTION", subj}};
    REQUIRE(corral_host_link_put(a.host, key, "wasmcloud:messaging", "default", v, 1, &err) ==
            CORRAL_OK);
    natsConnection *nc = NULL;
    REQUIRE(natsConnection_ConnectTo(&nc, g_url) == NATS_OK);
    corral_host_actor_stats_t as = {0};
    for (int i = 0; i < 150 && as.calls == 0; i++) { /* until b has applied the link */
        natsConnection_PublishString(nc, subj, "hello");
        natsConnection_Flush(nc);
        usleep(20000);
        REQUIRE(corral_host_actor_stats(a.host, key, &as, NULL) == CORRAL_OK);
    }
    CHECK(as.calls >= 1); /* HandleMessage reached echo on a (which does not know it) */
    corral_lattice_stats_t sa, sb;
    corral_lattice_stats(a.lat, &sa);
    corral_lattice_stats(b.lat, &sb);
    CHECK(sa.calls_in >= 1);
    CHECK(sb.calls_out >= 1);
    natsConnection_Destroy(nc);
    member_stop(&b);
    member_stop(&a);
}

/* A provider that records the values of the last link it got, for the
 * __wasmcloud_* claim values of an actor that runs on another host. */
static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static char rec_values[2048];
static int rec_links;

static void rec_describe(corral_provider_info_t *info) {
    info->contract_id = "acme:linkrec";
    info->name = "linkrec";
    info->description = "test: records link values";
    info->version = "0";
}

static corral_status_t rec_link(void *instance, const char *actor_key, const char *link_name,
                                const corral_provider_kv_t *values, size_t n, corral_err_t *err) {
    (void)instance, (void)actor_key, (void)link_name, (void)err;
    pthread_mutex_lock(&rec_mu);
    size_t used = 0;
    rec_values[0] = 0;
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(rec_values + used, sizeof rec_values - used, "%s=%s;", values[i].key,
                         values[i].value);
        if (w < 0 || (size_t)w >= sizeof rec_values - used) break;
        used += (size_t)w;
    }
    rec_links++;
    pthread_mutex_unlock(&rec_mu);
    return CORRAL_OK;
}

static int rec_has(const char *s) {
    pthread_mutex_lock(&rec_mu);
    int r = strstr(rec_values, s) != NULL;
    pthread_mutex_unlock(&rec_mu);
    return r;
}

/* contracts.md: a provider gets the actor's claims as __wasmcloud_* values
 * with every link, also when the actor runs on another host of the lattice
 * (the claims come from the lattice's bucket). */
TEST(remote_link_carries_claims) {
    NEED_SERVER();
    static corral_provider_t rec;
    rec = *corral_provider_builtin_find("logging");
    rec.describe = rec_describe;
    rec.link = rec_link;
    corral_err_t err;
    if (!corral_provider_builtin_find("linkrec"))
        REQUIRE(corral_provider_builtin_register(&rec, &err) == CORRAL_OK);
    char ln[64];
    new_lattice(ln, sizeof ln);
    member_t a, b;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
    REQUIRE(member_start(&b, ln, NULL, NULL) == 0);
    corral_host_actor_info_t kvc;
    REQUIRE(corral_host_actor_start_file(a.host, CORRAL_GUEST_DIR "/kvcounter_s.wasm", NULL, &kvc,
                                         &err) == CORRAL_OK);
    REQUIRE(kvc.name[0] != 0);
    corral_host_provider_opts_t po = {0};
    po.kind = "linkrec";
    REQUIRE(corral_host_provider_start(b.host, &po, NULL, &err) == CORRAL_OK);
    corral_host_kv_t v[1] = {{"COLOR", "green"}};
    REQUIRE(corral_host_link_put(a.host, kvc.key, "acme:linkrec", "default", v, 1, &err) ==
            CORRAL_OK);
    char want_name[CORRAL_HOST_NAME_MAX + 32];
    snprintf(want_name, sizeof want_name, "__wasmcloud_name=%s;", kvc.name);
    for (int i = 0; i < 250 && !rec_has(want_name); i++) usleep(20000);
    CHECK(rec_has("COLOR=green;"));
    CHECK(rec_has(want_name));
    CHECK(rec_has("__wasmcloud_issuer=A"));
    CHECK(rec_has("__wasmcloud_capabilities=wasmcloud:httpserver,wasmcloud:keyvalue;") ||
          rec_has("__wasmcloud_capabilities=wasmcloud:keyvalue,wasmcloud:httpserver;"));
    CHECK(rec_has("__wasmcloud_expires=0;"));
    CHECK(rec_has("__wasmcloud_tags="));
    if (!rec_has(want_name)) fprintf(stderr, "  provider got (%d links): %s\n", rec_links, rec_values);
    /* a link made before its actor runs anywhere: the provider gets it
     * without claims, then again with them once the actor has started */
    corral_buf_t w = CORRAL_BUF_INIT;
    corral_claims_t *pc = NULL;
    REQUIRE(corral_file_read(CORRAL_GUEST_DIR "/pong_s.wasm", 0, &w, &err) == CORRAL_OK);
    REQUIRE(corral_claims_read_module(w.data, w.len, &pc, &err) == CORRAL_OK);
    corral_host_kv_t v2[1] = {{"COLOR", "blue"}};
    pthread_mutex_lock(&rec_mu);
    int before = rec_links;
    pthread_mutex_unlock(&rec_mu);
    REQUIRE(corral_lattice_link_put(a.lat, pc->sub, "acme:linkrec", "default", NULL, v2, 1, &err) ==
            CORRAL_OK);
    for (int i = 0; i < 250 && !rec_has("COLOR=blue;"); i++) usleep(20000);
    CHECK(rec_has("COLOR=blue;"));
    CHECK(!rec_has("__wasmcloud_name")); /* no claims anywhere yet */
    corral_host_actor_info_t pong;
    REQUIRE(corral_host_actor_start(a.host, w.data, w.len, NULL, &pong, &err) == CORRAL_OK);
    snprintf(want_name, sizeof want_name, "__wasmcloud_name=%s;", pong.name);
    for (int i = 0; i < 250 && !rec_has(want_name); i++) usleep(20000);
    CHECK(rec_has(want_name));
    CHECK(rec_has("COLOR=blue;"));
    pthread_mutex_lock(&rec_mu);
    CHECK(rec_links >= before + 2);
    pthread_mutex_unlock(&rec_mu);
    corral_claims_free(pc);
    corral_buf_free(&w);
    member_stop(&b);
    member_stop(&a);
}

/* A guest publishes with the SDK's Publish encoder through the messaging
 * provider of another host: a raw subscriber gets the guest's exact body. */
TEST(guest_publish_through_remote_messaging) {
    NEED_SERVER();
    char ln[64], subj[128];
    new_lattice(ln, sizeof ln);
    member_t a, b;
    REQUIRE(member_start(&a, ln, NULL, NULL) == 0);
    REQUIRE(member_start(&b, ln, NULL, NULL) == 0);
    corral_host_actor_info_t info;
    corral_err_t err;
    REQUIRE(corral_host_actor_start_file(a.host, CORRAL_GUEST_DIR "/lattice_publisher_s.wasm", NULL,
                                         &info, &err) == CORRAL_OK);
    REQUIRE(corral_lattice_sync(a.lat, &err) == CORRAL_OK);
    corral_host_provider_opts_t po = {0};
    po.kind = "messaging";
    REQUIRE(corral_host_provider_start(b.host, &po, NULL, &err) == CORRAL_OK);
    REQUIRE(corral_host_link_put(a.host, info.key, "wasmcloud:messaging", "default", NULL, 0,
                                 &err) == CORRAL_OK);
    snprintf(subj, sizeof subj, "out.%s", ln);
    natsConnection *nc = NULL;
    natsSubscription *sub = NULL;
    REQUIRE(natsConnection_ConnectTo(&nc, g_url) == NATS_OK);
    REQUIRE(natsConnection_SubscribeSync(&sub, nc, subj) == NATS_OK);
    REQUIRE(natsConnection_Flush(nc) == NATS_OK);
    char payload[256];
    static const char body[] = "from the guest\x01\x00!";
    size_t sl = strlen(subj);
    memcpy(payload, subj, sl + 1);
    memcpy(payload + sl + 1, body, sizeof body);
    corral_buf_t out = CORRAL_BUF_INIT;
    corral_status_t st = CORRAL_ERR_NO_ACTOR;
    for (int i = 0; i < 150 && st != CORRAL_OK; i++) { /* until a knows b's provider */
        out.len = 0;
        st = corral_host_call(a.host, info.key, "pub", (const uint8_t *)payload,
                              sl + 1 + sizeof body, &out, &err);
        if (st != CORRAL_OK) usleep(20000);
    }
    if (st != CORRAL_OK) fprintf(stderr, "pub: %s\n", err.msg);
    REQUIRE(st == CORRAL_OK);
    CHECK(out.len == 1 && out.data[0] == 0); /* Publish answers an empty body */
    natsMsg *m = NULL;
    REQUIRE(natsSubscription_NextMsg(&m, sub, 3000) == NATS_OK);
    CHECK_EQ_INT(natsMsg_GetDataLength(m), (int)sizeof body);
    CHECK(memcmp(natsMsg_GetData(m), body, sizeof body) == 0);
    CHECK(natsMsg_GetReply(m) == NULL || natsMsg_GetReply(m)[0] == 0);
    natsMsg_Destroy(m);
    corral_lattice_stats_t sa, sb;
    corral_lattice_stats(a.lat, &sa);
    corral_lattice_stats(b.lat, &sb);
    CHECK(sa.calls_out >= 1); /* the Publish went over the lattice */
    CHECK(sb.calls_in >= 1);
    corral_buf_free(&out);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    member_stop(&b);
    member_stop(&a);
}
#endif

TEST_MAIN(TEST_ENTRY(remote_actor_call), TEST_ENTRY(unsigned_member_refused_by_default),
          TEST_ENTRY(timeout_when_callee_hangs),
          TEST_ENTRY(queue_group_balancing), TEST_ENTRY(stop_on_one_host_no_failed_call),
          TEST_ENTRY(chunked_payload),
          TEST_ENTRY(remote_provider_call), TEST_ENTRY(late_host_learns_links),
          TEST_ENTRY(control_subjects), TEST_ENTRY(forged_invocations_refused),
          TEST_ENTRY(host_hooks), TEST_ENTRY(events_and_heartbeat),
          TEST_ENTRY(remote_call_by_alias), TEST_ENTRY(reconnect), TEST_ENTRY(nkey_auth)
#ifdef CORRAL_CLI_PATH
          , TEST_ENTRY(cli_get_and_watch)
#endif
#ifdef CORRAL_TEST_CLI_LATTICE
          , TEST_ENTRY(cli_lattice_get)
#endif
#ifdef CORRAL_HOST_REMOTE
          , TEST_ENTRY(host_dispatch_across_hosts), TEST_ENTRY(nested_remote_calls),
            TEST_ENTRY(provider_to_remote_actor),
            TEST_ENTRY(guest_publish_through_remote_messaging), TEST_ENTRY(remote_link_carries_claims)
#endif
)

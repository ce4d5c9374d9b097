/*
 * test_messaging.c - the wasmcloud:messaging provider against a real
 * nats-server: Publish reaches a raw subscriber, Request gets a raw
 * responder's answer, SUBSCRIPTION subjects (plain and queue group) deliver
 * HandleMessage to the linked actor through the host's async call, unlink
 * stops delivery, and malformed requests are refused naming the field.
 */
#include <nats/nats.h>
#include <pthread.h>
#include <unistd.h>

#include "corral_mp.h"
#include "corral_provider_messaging.h"
#include "nats_server.h"
#include "test.h"

#define ACTOR "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"

/* What the stub host received. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_count;
static char g_last_subject[128], g_last_body[128], g_last_op[64], g_last_actor[64];

static corral_status_t stub_async(void *ctx, const char *actor_key, const char *link_name,
                                  const char *operation, const uint8_t *payload, size_t len,
                                  uint32_t timeout_ms, corral_provider_reply_fn done,
                                  void *done_user, corral_err_t *err) {
    corral_mp_doc_t doc;
    if (corral_mp_doc_parse(&doc, "HandleMessage", payload, len, err)) return CORRAL_ERR_PARSE;
    corral_mp_str_t s = {0};
    const msgpack_object *b = corral_mp_find(&doc, "body");
    pthread_mutex_lock(&g_mu);
    if (corral_mp_get_str(&doc, "subject", &s, NULL) == CORRAL_OK)
        snprintf(g_last_subject, sizeof g_last_subject, "%.*s", (int)s.n, (const char *)s.p);
    if (b && b->type == MSGPACK_OBJECT_BIN)
        snprintf(g_last_body, sizeof g_last_body, "%.*s", (int)b->via.bin.size, b->via.bin.ptr);
    snprintf(g_last_op, sizeof g_last_op, "%s", operation);
    snprintf(g_last_actor, sizeof g_last_actor, "%s", actor_key);
    g_count++;
    pthread_mutex_unlock(&g_mu);
    corral_mp_doc_deinit(&doc);
    done(done_user, CORRAL_OK, NULL, 0, NULL);
    return CORRAL_OK;
}

static int wait_count(int n) {
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&g_mu);
        int c = g_count;
        pthread_mutex_unlock(&g_mu);
        if (c >= n) return c;
        usleep(10000);
    }
    return g_count;
}

static void pack_req(corral_buf_t *b, const char *subject, const char *body, int with_timeout) {
    msgpack_packer pk;
    b->len = 0;
    corral_mp_packer_init(&pk, b);
    msgpack_pack_map(&pk, with_timeout ? 3 : 2);
    corral_mp_pack_cstr(&pk, "subject");
    corral_mp_pack_cstr(&pk, subject);
    corral_mp_pack_cstr(&pk, "body");
    msgpack_pack_bin(&pk, strlen(body));
    msgpack_pack_bin_body(&pk, body, strlen(body));
    if (with_timeout) {
        corral_mp_pack_cstr(&pk, "timeoutMs");
        msgpack_pack_uint32(&pk, 1000);
    }
}

static void *responder(void *arg) {
    natsConnection *nc = arg;
    natsSubscription *sub = NULL;
    natsMsg *m = NULL;
    natsConnection_SubscribeSync(&sub, nc, "svc.upper");
    natsConnection_Flush(nc);
    if (natsSubscription_NextMsg(&m, sub, 5000) == NATS_OK) {
        char out[64];
        int n = natsMsg_GetDataLength(m);
        for (int i = 0; i < n && i < 63; i++) {
            char c = natsMsg_GetData(m)[i];
            out[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
        }
        natsConnection_Publish(nc, natsMsg_GetReply(m), out, n);
        natsConnection_Flush(nc);
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    return NULL;
}

TEST(messaging) {
    REQUIRE(test_nats_start() == 0);
    const corral_provider_t *p = corral_provider_messaging();
    REQUIRE(corral_provider_check(p, "messaging", NULL) == CORRAL_OK);
    corral_provider_host_t host;
    corral_provider_host_init_default(&host, "/tmp");
    host.call_actor_async = stub_async;
    corral_provider_kv_t cfg[1] = {{"URL", g_url}};
    void *inst = NULL;
    corral_err_t err;
    REQUIRE(p->create(cfg, 1, &host, &inst, &err) == CORRAL_OK);
    CHECK_EQ_INT(p->health(inst, &err), CORRAL_OK);
    natsConnection *nc = NULL;
    REQUIRE(natsConnection_ConnectTo(&nc, g_url) == NATS_OK);

    /* subscriptions of the link deliver HandleMessage */
    corral_provider_kv_t vals[1] = {{"SUBSCRIPTION", "news.sport, work.jobs|workers"}};
    REQUIRE(p->link(inst, ACTOR, "default", vals, 1, &err) == CORRAL_OK);
    natsConnection_PublishString(nc, "news.sport", "goal");
    natsConnection_Flush(nc);
    CHECK_EQ_INT(wait_count(1), 1);
    CHECK_EQ_STR(g_last_subject, "news.sport");
    CHECK_EQ_STR(g_last_body, "goal");
    CHECK_EQ_STR(g_last_op, "HandleMessage");
    CHECK_EQ_STR(g_last_actor, ACTOR);
    natsConnection_PublishString(nc, "work.jobs", "job-1");
    natsConnection_Flush(nc);
    CHECK_EQ_INT(wait_count(2), 2);
    CHECK_EQ_STR(g_last_body, "job-1");

    /* Publish reaches a raw subscriber */
    natsSubscription *sub = NULL;
    natsMsg *m = NULL;
    REQUIRE(natsConnection_SubscribeSync(&sub, nc, "out.events") == NATS_OK);
    natsConnection_Flush(nc);
    corral_buf_t req = CORRAL_BUF_INIT;
    pack_req(&req, "out.events", "hello", 0);
    corral_provider_call_t c = {ACTOR, "default", "wasmcloud:messaging", "Publish", req.data,
                                req.len};
    corral_provider_bytes_t resp = {0};
    CHECK_EQ_INT(p->call(inst, &c, &resp, &err), CORRAL_OK);
    CHECK(resp.len == 0);
    REQUIRE(natsSubscription_NextMsg(&m, sub, 2000) == NATS_OK);
    CHECK(natsMsg_GetDataLength(m) == 5 && memcmp(natsMsg_GetData(m), "hello", 5) == 0);
    natsMsg_Destroy(m);
    natsSubscription_Destroy(sub);

    /* Request gets the responder's answer */
    natsConnection *rc = NULL;
    REQUIRE(natsConnection_ConnectTo(&rc, g_url) == NATS_OK);
    pthread_t th;
    pthread_create(&th, NULL, responder, rc);
    usleep(100000);
    pack_req(&req, "svc.upper", "shout", 1);
    c.operation = "Request";
    c.payload = req.data;
    c.payload_len = req.len;
    CHECK_EQ_INT(p->call(inst, &c, &resp, &err), CORRAL_OK);
    pthread_join(th, NULL);
    natsConnection_Destroy(rc);
    corral_mp_doc_t doc;
    if (corral_mp_doc_parse(&doc, "Request", resp.data, resp.len, &err) == CORRAL_OK) {
        const msgpack_object *b = corral_mp_find(&doc, "body");
        CHECK(b && b->type == MSGPACK_OBJECT_BIN && b->via.bin.size == 5 &&
              memcmp(b->via.bin.ptr, "SHOUT", 5) == 0);
        corral_mp_doc_deinit(&doc);
    } else {
        CHECK(!"Request response decodes");
    }
    corral_free(resp.data);
    resp.data = NULL;

    /* a Request no one answers times out; a bad request names the field */
    pack_req(&req, "svc.nobody", "x", 1);
    c.payload = req.data;
    c.payload_len = req.len;
    corral_status_t st = p->call(inst, &c, &resp, &err);
    CHECK(st == CORRAL_ERR_TIMEOUT || st == CORRAL_ERR_IO);
    c.payload = (const uint8_t *)"\x81\xa4" "body\x01";
    c.payload_len = 7;
    CHECK_EQ_INT(p->call(inst, &c, &resp, &err), CORRAL_ERR_PARSE);
    CHECK_CONTAINS(err.msg, "subject");
    c.operation = "Subscribe";
    CHECK_EQ_INT(p->call(inst, &c, &resp, &err), CORRAL_ERR_UNSUPPORTED);

    /* unlink stops delivery */
    p->unlink(inst, ACTOR, "default");
    natsConnection_PublishString(nc, "news.sport", "late");
    natsConnection_Flush(nc);
    usleep(200000);
    pthread_mutex_lock(&g_mu);
    CHECK_EQ_INT(g_count, 2);
    pthread_mutex_unlock(&g_mu);

    corral_buf_free(&req);
    natsConnection_Destroy(nc);
    p->destroy(inst);
}

TEST_MAIN(TEST_ENTRY(messaging))

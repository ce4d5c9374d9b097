/*
 * test_providers_kv.c - the keyvalue conformance suite: every operation of
 * wasmcloud:keyvalue, including the error cases (wrong kinds, malformed and
 * truncated msgpack, missing fields), runs against the memory, SQLite and
 * Redis backends, which must answer with identical statuses, messages and
 * response bytes; spot checks assert the expected values. Plus expiry,
 * concurrency (exact Add totals), SQLite persistence and SYNC, Redis fail-fast
 * and self-reconnect, links, and allocation failures.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "corral_provider.h"
#include "kv_harness.h"
#include "redis_fixture.h"
#include "test.h"

#define ACTOR "MBKVTESTACTOR0000000000000000000000000000000000000000000"
#define NB 3

typedef struct be {
    const char *name;
    const corral_provider_t *p;
    void *inst;
} be_t;

typedef struct result {
    corral_status_t st;
    char msg[CORRAL_ERR_MSG_MAX];
    uint8_t *data;
    size_t len;
} result_t;

static corral_provider_host_t host_;
static char dir_[256];
static redis_fixture_t redis_;
static be_t be_[NB];
static char prefix_[48];

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Keys carry a per-run prefix so an external Redis (CORRAL_TEST_REDIS_URL)
 * never sees collisions; the prefix is the same in every backend, so error
 * messages (which name keys) still compare equal. */
static const char *K(const char *k) {
    static __thread char buf[8][128];
    static __thread int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s%s", prefix_, k);
    return buf[i];
}

static corral_status_t link_be(be_t *b, const char *actor, const char *link, corral_err_t *err) {
    char path[300];
    snprintf(path, sizeof path, "%s/kv.db", dir_);
    corral_provider_kv_t v[3];
    size_t n = 0;
    v[n++] = (corral_provider_kv_t){"__wasmcloud_name", "kvtest"};
    if (strcmp(b->name, "sqlite") == 0) v[n++] = (corral_provider_kv_t){"PATH", path};
    if (strcmp(b->name, "redis") == 0) v[n++] = (corral_provider_kv_t){"URL", redis_.url};
    return b->p->link(b->inst, actor, link, v, n, err);
}

static int setup(void) {
    snprintf(dir_, sizeof dir_, "/tmp/corral-kvtest-XXXXXX");
    if (!mkdtemp(dir_)) return -1;
    snprintf(prefix_, sizeof prefix_, "t%d.%lld:", (int)getpid(), (long long)corral_now_ns());
    corral_provider_host_init_default(&host_, dir_);
    if (redis_fixture_start(&redis_) != 0) return -1;
    const char *names[NB] = {"memory", "sqlite", "redis"};
    for (int i = 0; i < NB; i++) {
        char full[32];
        snprintf(full, sizeof full, "keyvalue:%s", names[i]);
        be_[i].name = names[i];
        be_[i].p = corral_provider_builtin_find(full);
        if (!be_[i].p) return -1;
        corral_err_t err;
        if (be_[i].p->create(NULL, 0, &host_, &be_[i].inst, &err) != CORRAL_OK ||
            link_be(&be_[i], ACTOR, "default", &err) != CORRAL_OK) {
            fprintf(stderr, "  setup %s: %s\n", names[i], corral_err_msg(&err));
            return -1;
        }
    }
    return 0;
}

static void teardown(void) {
    for (int i = 0; i < NB; i++) {
        if (be_[i].p && be_[i].inst) be_[i].p->destroy(be_[i].inst);
        be_[i].inst = NULL;
    }
    redis_fixture_stop(&redis_);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir_);
    if (system(cmd) != 0) fprintf(stderr, "  could not remove %s\n", dir_);
}

static void call_be(be_t *b, const char *op, const uint8_t *p, size_t n, result_t *r) {
    corral_provider_call_t c = {ACTOR, "default", "wasmcloud:keyvalue", op, p, n};
    corral_provider_bytes_t resp = {NULL, 0};
    corral_err_t err;
    corral_err_clear(&err);
    r->st = b->p->call(b->inst, &c, &resp, &err);
    snprintf(r->msg, sizeof r->msg, "%s", r->st == CORRAL_OK ? "" : corral_err_msg(&err));
    r->data = resp.data;
    r->len = resp.len;
}

/* Runs one request on every backend, checks they agree, and parses the
 * memory backend's response into d. Returns the (common) status; the message
 * goes to msg. `line` is the caller's, for failures. */
static corral_status_t run_(const char *op, const corral_buf_t *req, resp_doc_t *d, char *msg,
                            int line) {
    result_t r[NB];
    for (int i = 0; i < NB; i++) call_be(&be_[i], op, req->data, req->len, &r[i]);
    for (int i = 1; i < NB; i++) {
        int same = r[i].st == r[0].st && strcmp(r[i].msg, r[0].msg) == 0 && r[i].len == r[0].len &&
                   (r[0].len == 0 || memcmp(r[i].data, r[0].data, r[0].len) == 0);
        if (!same) {
            fprintf(stderr, "  line %d: %s: %s differs from %s:\n    %s: %s '%s' (%zu bytes)\n    %s: %s '%s' (%zu bytes)\n",
                    line, op, be_[i].name, be_[0].name, be_[0].name, corral_status_name(r[0].st),
                    r[0].msg, r[0].len, be_[i].name, corral_status_name(r[i].st), r[i].msg, r[i].len);
            test_failures_++;
        }
    }
    if (d) {
        resp_parse(d, r[0].data, r[0].len);
        d->owned = r[0].data; /* the doc points into these bytes */
        r[0].data = NULL;
    }
    if (msg) snprintf(msg, CORRAL_ERR_MSG_MAX, "%s", r[0].msg);
    corral_status_t st = r[0].st;
    for (int i = 0; i < NB; i++) corral_free(r[i].data);
    return st;
}
#define RUN(op, req, d, msg) run_(op, req, d, msg, __LINE__)

/* Convenience wrappers returning one field. */
static long long op_int(const char *op, corral_buf_t *req, const char *field) {
    resp_doc_t d;
    char msg[CORRAL_ERR_MSG_MAX];
    corral_status_t st = RUN(op, req, &d, msg);
    long long v = st == CORRAL_OK ? resp_int(&d, field) : -(long long)st - 1000000;
    if (st != CORRAL_OK) fprintf(stderr, "  %s failed: %s\n", op, msg);
    resp_free(&d);
    return v;
}

static const char *op_list(const char *op, corral_buf_t *req, char *out, size_t cap) {
    resp_doc_t d;
    char msg[CORRAL_ERR_MSG_MAX];
    corral_status_t st = RUN(op, req, &d, msg);
    if (st == CORRAL_OK) resp_list(&d, "values", out, cap);
    else snprintf(out, cap, "ERR %.400s", msg);
    resp_free(&d);
    return out;
}

/* Prefix-stripped list: removes prefix_ from each element (set members are
 * plain values here, so this only matters for readability). */
static corral_status_t op_err(const char *op, corral_buf_t *req, char *msg) {
    return RUN(op, req, NULL, msg);
}

TEST(kv_conformance_plain) {
    REQUIRE(setup() == 0);
    corral_buf_t q = CORRAL_BUF_INIT;
    resp_doc_t d;
    char s[512], msg[CORRAL_ERR_MSG_MAX];

    req_build(&q, "key", 's', K("a"), NULL);
    CHECK_EQ_INT(RUN("Get", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_INT(resp_bool(&d, "exists"), 0);
    CHECK_EQ_STR(resp_str(&d, "value", s, sizeof s), "");
    static const uint8_t missing[] = {0x82, 0xa5, 'v', 'a', 'l', 'u', 'e', 0xa0,
                                      0xa6, 'e', 'x', 'i', 's', 't', 's', 0xc2};
    CHECK(d.owned && memcmp(d.owned, missing, sizeof missing) == 0);
    resp_free(&d);

    req_build(&q, "key", 's', K("a"), "value", 's', "hello", "expires", 'i', 0, NULL);
    CHECK_EQ_INT(RUN("Set", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_STR(resp_str(&d, "value", s, sizeof s), "hello");
    resp_free(&d);
    req_build(&q, "key", 's', K("a"), NULL);
    CHECK_EQ_INT(RUN("Get", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_INT(resp_bool(&d, "exists"), 1);
    CHECK_EQ_STR(resp_str(&d, "value", s, sizeof s), "hello");
    resp_free(&d);
    CHECK_EQ_INT(RUN("KeyExists", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_INT(resp_bool(&d, "exists"), 1);
    resp_free(&d);
    req_build(&q, "key", 's', K("nope"), NULL);
    CHECK_EQ_INT(RUN("KeyExists", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_INT(resp_bool(&d, "exists"), 0);
    resp_free(&d);

    /* Add: counts from 0, negative deltas, i32 limits; the smallest encodings */
    req_build(&q, "key", 's', K("ctr"), "value", 'i', 5, NULL);
    CHECK_EQ_INT(RUN("Add", &q, &d, NULL), CORRAL_OK);
    static const uint8_t add5[] = {0x81, 0xa5, 'v', 'a', 'l', 'u', 'e', 0x05};
    CHECK(d.owned && memcmp(d.owned, add5, sizeof add5) == 0);
    resp_free(&d);
    req_build(&q, "key", 's', K("ctr"), "value", 'i', -7, NULL);
    CHECK_EQ_INT(RUN("Add", &q, &d, NULL), CORRAL_OK);
    static const uint8_t addm2[] = {0x81, 0xa5, 'v', 'a', 'l', 'u', 'e', 0xfe}; /* negative fixint */
    CHECK(d.owned && memcmp(d.owned, addm2, sizeof addm2) == 0);
    CHECK_EQ_INT(resp_int(&d, "value"), -2);
    resp_free(&d);
    req_build(&q, "key", 's', K("ctr"), "value", 'i', 2147483647, NULL);
    CHECK_EQ_INT(op_int("Add", &q, "value"), 2147483645);
    req_build(&q, "key", 's', K("ctr"), "value", 'i', 10, NULL);
    CHECK_EQ_INT(op_err("Add", &q, msg), CORRAL_ERR_TOO_LARGE);
    CHECK_CONTAINS(msg, "does not fit");
    req_build(&q, "key", 's', K("ctr"), NULL);
    CHECK_EQ_INT(RUN("Get", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_STR(resp_str(&d, "value", s, sizeof s), "2147483655"); /* stored, as Redis does */
    resp_free(&d);
    req_build(&q, "key", 's', K("ctr"), "value", 'i', (int)INT32_MIN, NULL);
    CHECK_EQ_INT(op_int("Add", &q, "value"), 7);

    /* Add on a non-integer, leading zero, "-0", and int64 overflow */
    req_build(&q, "key", 's', K("a"), "value", 'i', 1, NULL);
    CHECK_EQ_INT(op_err("Add", &q, msg), CORRAL_ERR_WRONG_TYPE);
    CHECK_CONTAINS(msg, "is not an integer");
    const char *bad[] = {"007", "-0", " 1", "+1", "", "1.5", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req_build(&q, "key", 's', K("n"), "value", 's', bad[i], "expires", 'i', 0, NULL);
        CHECK_EQ_INT(op_err("Set", &q, msg), CORRAL_OK);
        req_build(&q, "key", 's', K("n"), "value", 'i', 1, NULL);
        CHECK_EQ_INT(op_err("Add", &q, msg), CORRAL_ERR_WRONG_TYPE);
    }
    req_build(&q, "key", 's', K("n"), "value", 's', "9223372036854775807", "expires", 'i', 0, NULL);
    CHECK_EQ_INT(op_err("Set", &q, msg), CORRAL_OK);
    req_build(&q, "key", 's', K("n"), "value", 'i', 1, NULL);
    CHECK_EQ_INT(op_err("Add", &q, msg), CORRAL_ERR_TOO_LARGE);
    CHECK_CONTAINS(msg, "would overflow");
    req_build(&q, "key", 's', K("n"), "value", 's', "-12", "expires", 'i', 0, NULL);
    CHECK_EQ_INT(op_err("Set", &q, msg), CORRAL_OK);
    req_build(&q, "key", 's', K("n"), "value", 'i', 2, NULL);
    CHECK_EQ_INT(op_int("Add", &q, "value"), -10);

    /* Del answers with the key and removes it */
    req_build(&q, "key", 's', K("a"), NULL);
    CHECK_EQ_INT(RUN("Del", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_STR(resp_str(&d, "key", s, sizeof s), K("a"));
    resp_free(&d);
    CHECK_EQ_INT(RUN("Get", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_INT(resp_bool(&d, "exists"), 0);
    resp_free(&d);
    CHECK_EQ_INT(RUN("Del", &q, NULL, NULL), CORRAL_OK); /* deleting nothing is fine */

    /* empty key and value, non-ASCII */
    req_build(&q, "key", 's', K(""), "value", 's', "", "expires", 'i', 0, NULL);
    CHECK_EQ_INT(RUN("Set", &q, NULL, NULL), CORRAL_OK);
    req_build(&q, "key", 's', K(""), NULL);
    CHECK_EQ_INT(RUN("Get", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_INT(resp_bool(&d, "exists"), 1);
    CHECK_EQ_STR(resp_str(&d, "value", s, sizeof s), "");
    resp_free(&d);
    req_build(&q, "key", 's', K("ключ"), "value", 's', "значение ✓", "expires", 'i', 0, NULL);
    CHECK_EQ_INT(RUN("Set", &q, NULL, NULL), CORRAL_OK);
    req_build(&q, "key", 's', K("ключ"), NULL);
    CHECK_EQ_INT(RUN("Get", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_STR(resp_str(&d, "value", s, sizeof s), "значение ✓");
    resp_free(&d);

    /* unknown operation */
    CHECK_EQ_INT(op_err("Frobnicate", &q, msg), CORRAL_ERR_UNSUPPORTED);
    CHECK_CONTAINS(msg, "Frobnicate");
    corral_buf_free(&q);
    teardown();
}

TEST(kv_conformance_lists) {
    REQUIRE(setup() == 0);
    corral_buf_t q = CORRAL_BUF_INIT;
    resp_doc_t d;
    char s[512], msg[CORRAL_ERR_MSG_MAX];
    const char *items[] = {"x", "y", "z"};
    for (int i = 0; i < 3; i++) {
        req_build(&q, "key", 's', K("l"), "value", 's', items[i], NULL);
        CHECK_EQ_INT(op_int("Push", &q, "newCount"), i + 1);
    }
    struct {
        int start, stop;
        const char *want;
    } ranges[] = {{0, -1, "x,y,z"}, {1, 1, "y"},   {-2, -1, "y,z"}, {5, 10, ""},
                  {-100, 100, "x,y,z"}, {2, 1, ""}, {0, -4, ""},    {-5, 0, "x"},
                  {0, 0, "x"},    {2, 2, "z"},      {3, 3, ""},     {-1, -1, "z"},
                  {INT32_MIN, INT32_MAX, "x,y,z"}, {INT32_MAX, INT32_MIN, ""}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        req_build(&q, "key", 's', K("l"), "start", 'i', ranges[i].start, "stop", 'i',
                  ranges[i].stop, NULL);
        CHECK_EQ_STR(op_list("Range", &q, s, sizeof s), ranges[i].want);
    }
    req_build(&q, "key", 's', K("missing"), "start", 'i', 0, "stop", 'i', -1, NULL);
    CHECK_EQ_STR(op_list("Range", &q, s, sizeof s), "");

    req_build(&q, "key", 's', K("l"), "value", 's', "y", NULL);
    CHECK_EQ_INT(op_int("Push", &q, "newCount"), 4);
    CHECK_EQ_INT(op_int("ListItemDelete", &q, "newCount"), 2); /* both y's go */
    req_build(&q, "key", 's', K("l"), "start", 'i', 0, "stop", 'i', -1, NULL);
    CHECK_EQ_STR(op_list("Range", &q, s, sizeof s), "x,z");
    req_build(&q, "key", 's', K("l"), "value", 's', "nope", NULL);
    CHECK_EQ_INT(op_int("ListItemDelete", &q, "newCount"), 2);
    req_build(&q, "key", 's', K("missing"), "value", 's', "x", NULL);
    CHECK_EQ_INT(op_int("ListItemDelete", &q, "newCount"), 0);

    /* wrong kinds, in both directions */
    req_build(&q, "key", 's', K("l"), NULL);
    CHECK_EQ_INT(op_err("Get", &q, msg), CORRAL_ERR_WRONG_TYPE);
    CHECK_CONTAINS(msg, "holds a list, not a plain value");
    req_build(&q, "key", 's', K("l"), "value", 'i', 1, NULL);
    CHECK_EQ_INT(op_err("Add", &q, msg), CORRAL_ERR_WRONG_TYPE);
    CHECK_CONTAINS(msg, "Add: key '");
    req_build(&q, "key", 's', K("l"), "value", 's', "v", NULL);
    CHECK_EQ_INT(op_err("SetAdd", &q, msg), CORRAL_ERR_WRONG_TYPE);
    CHECK_CONTAINS(msg, "holds a list, not a set");
    req_build(&q, "key", 's', K("l"), NULL);
    CHECK_EQ_INT(op_err("SetQuery", &q, msg), CORRAL_ERR_WRONG_TYPE);
    req_build(&q, "key", 's', K("str"), "value", 's', "v", "expires", 'i', 0, NULL);
    CHECK_EQ_INT(op_err("Set", &q, msg), CORRAL_OK);
    req_build(&q, "key", 's', K("str"), "value", 's', "v", NULL);
    CHECK_EQ_INT(op_err("Push", &q, msg), CORRAL_ERR_WRONG_TYPE);
    CHECK_CONTAINS(msg, "holds a plain value, not a list");
    CHECK_EQ_INT(op_err("ListItemDelete", &q, msg), CORRAL_ERR_WRONG_TYPE);
    req_build(&q, "key", 's', K("str"), "start", 'i', 0, "stop", 'i', 1, NULL);
    CHECK_EQ_INT(op_err("Range", &q, msg), CORRAL_ERR_WRONG_TYPE);
    req_build(&q, "key", 's', K("l"), NULL);
    CHECK_EQ_INT(RUN("KeyExists", &q, &d, NULL), CORRAL_OK); /* any kind exists */
    CHECK_EQ_INT(resp_bool(&d, "exists"), 1);
    resp_free(&d);

    /* Set replaces a list, as Redis SET does */
    req_build(&q, "key", 's', K("l"), "value", 's', "over", "expires", 'i', 0, NULL);
    CHECK_EQ_INT(op_err("Set", &q, msg), CORRAL_OK);
    req_build(&q, "key", 's', K("l"), NULL);
    CHECK_EQ_INT(RUN("Get", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_STR(resp_str(&d, "value", s, sizeof s), "over");
    resp_free(&d);

    /* Clear deletes a list; deleting the last item deletes the key */
    req_build(&q, "key", 's', K("l2"), "value", 's', "only", NULL);
    CHECK_EQ_INT(op_int("Push", &q, "newCount"), 1);
    CHECK_EQ_INT(op_int("ListItemDelete", &q, "newCount"), 0);
    req_build(&q, "key", 's', K("l2"), NULL);
    CHECK_EQ_INT(RUN("KeyExists", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_INT(resp_bool(&d, "exists"), 0);
    resp_free(&d);
    req_build(&q, "key", 's', K("l3"), "value", 's', "a", NULL);
    CHECK_EQ_INT(op_int("Push", &q, "newCount"), 1);
    req_build(&q, "key", 's', K("l3"), NULL);
    CHECK_EQ_INT(RUN("Clear", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_STR(resp_str(&d, "key", s, sizeof s), K("l3"));
    resp_free(&d);
    CHECK_EQ_INT(RUN("KeyExists", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_INT(resp_bool(&d, "exists"), 0);
    resp_free(&d);
    /* a list pushed again after Clear starts over */
    req_build(&q, "key", 's', K("l3"), "value", 's', "b", NULL);
    CHECK_EQ_INT(op_int("Push", &q, "newCount"), 1);
    corral_buf_free(&q);
    teardown();
}

TEST(kv_conformance_sets) {
    REQUIRE(setup() == 0);
    corral_buf_t q = CORRAL_BUF_INIT;
    resp_doc_t d;
    char s[512], msg[CORRAL_ERR_MSG_MAX];
    const char *m1[] = {"c", "a", "b"};
    for (int i = 0; i < 3; i++) {
        req_build(&q, "key", 's', K("s1"), "value", 's', m1[i], NULL);
        CHECK_EQ_INT(RUN("SetAdd", &q, &d, NULL), CORRAL_OK);
        CHECK_EQ_INT(resp_int(&d, "new_count"), i + 1);
        CHECK_EQ_INT(resp_int(&d, "newCount"), i + 1);
        resp_free(&d);
    }
    req_build(&q, "key", 's', K("s1"), "value", 's', "a", NULL);
    CHECK_EQ_INT(op_int("SetAdd", &q, "newCount"), 3); /* already there */
    req_build(&q, "key", 's', K("s1"), "value", 's', "b", NULL);
    CHECK_EQ_INT(RUN("SetRemove", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_INT(resp_int(&d, "new_count"), 2);
    CHECK_EQ_INT(resp_int(&d, "newCount"), 2);
    resp_free(&d);
    req_build(&q, "key", 's', K("s1"), "value", 's', "zz", NULL);
    CHECK_EQ_INT(op_int("SetRemove", &q, "newCount"), 2);
    req_build(&q, "key", 's', K("nope"), "value", 's', "zz", NULL);
    CHECK_EQ_INT(op_int("SetRemove", &q, "newCount"), 0);
    req_build(&q, "key", 's', K("s1"), NULL);
    CHECK_EQ_STR(op_list("SetQuery", &q, s, sizeof s), "a,c");
    req_build(&q, "key", 's', K("nope"), NULL);
    CHECK_EQ_STR(op_list("SetQuery", &q, s, sizeof s), "");
    const char *m2[] = {"d", "c", "B", "aa"};
    for (int i = 0; i < 4; i++) {
        req_build(&q, "key", 's', K("s2"), "value", 's', m2[i], NULL);
        CHECK_EQ_INT(op_int("SetAdd", &q, "newCount"), i + 1);
    }
    const char *both[] = {K("s1"), K("s2"), NULL};
    req_build(&q, "keys", 'a', both, NULL);
    CHECK_EQ_STR(op_list("SetUnion", &q, s, sizeof s), "B,a,aa,c,d");
    CHECK_EQ_STR(op_list("SetIntersection", &q, s, sizeof s), "c");
    const char *with_missing[] = {K("s1"), K("missing"), NULL};
    req_build(&q, "keys", 'a', with_missing, NULL);
    CHECK_EQ_STR(op_list("SetUnion", &q, s, sizeof s), "a,c");
    CHECK_EQ_STR(op_list("SetIntersection", &q, s, sizeof s), "");
    const char *one[] = {K("s2"), NULL};
    req_build(&q, "keys", 'a', one, NULL);
    CHECK_EQ_STR(op_list("SetIntersection", &q, s, sizeof s), "B,aa,c,d");
    const char *none[] = {NULL};
    req_build(&q, "keys", 'a', none, NULL);
    CHECK_EQ_STR(op_list("SetUnion", &q, s, sizeof s), "");
    CHECK_EQ_STR(op_list("SetIntersection", &q, s, sizeof s), "");

    /* a plain value among the keys */
    req_build(&q, "key", 's', K("plain"), "value", 's', "v", "expires", 'i', 0, NULL);
    CHECK_EQ_INT(op_err("Set", &q, msg), CORRAL_OK);
    const char *mixed[] = {K("s1"), K("plain"), NULL};
    req_build(&q, "keys", 'a', mixed, NULL);
    CHECK_EQ_INT(op_err("SetUnion", &q, msg), CORRAL_ERR_WRONG_TYPE);
    CHECK_CONTAINS(msg, "plain' holds a plain value, not a set");
    CHECK_EQ_INT(op_err("SetIntersection", &q, msg), CORRAL_ERR_WRONG_TYPE);
    const char *mixed2[] = {K("missing"), K("plain"), NULL};
    req_build(&q, "keys", 'a', mixed2, NULL);
    (void)op_err("SetIntersection", &q, msg); /* whatever it is, all three must agree */
    (void)op_err("SetUnion", &q, msg);
    req_build(&q, "key", 's', K("s1"), "value", 's', "v", NULL);
    CHECK_EQ_INT(op_err("Push", &q, msg), CORRAL_ERR_WRONG_TYPE);
    CHECK_CONTAINS(msg, "holds a set, not a list");
    req_build(&q, "key", 's', K("s1"), NULL);
    CHECK_EQ_INT(op_err("Get", &q, msg), CORRAL_ERR_WRONG_TYPE);
    CHECK_CONTAINS(msg, "holds a set, not a plain value");

    /* removing every member deletes the set; Clear deletes a set */
    const char *m2r[] = {"d", "c", "B", "aa"};
    for (int i = 0; i < 4; i++) {
        req_build(&q, "key", 's', K("s2"), "value", 's', m2r[i], NULL);
        CHECK_EQ_INT(op_int("SetRemove", &q, "newCount"), 3 - i);
    }
    req_build(&q, "key", 's', K("s2"), NULL);
    CHECK_EQ_INT(RUN("KeyExists", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_INT(resp_bool(&d, "exists"), 0);
    resp_free(&d);
    req_build(&q, "key", 's', K("s1"), NULL);
    CHECK_EQ_INT(RUN("Clear", &q, NULL, NULL), CORRAL_OK);
    CHECK_EQ_STR(op_list("SetQuery", &q, s, sizeof s), "");
    /* a set can become a plain value through Set, and back after Del */
    req_build(&q, "key", 's', K("s3"), "value", 's', "m", NULL);
    CHECK_EQ_INT(op_int("SetAdd", &q, "newCount"), 1);
    req_build(&q, "key", 's', K("s3"), "value", 's', "now plain", "expires", 'i', 0, NULL);
    CHECK_EQ_INT(op_err("Set", &q, msg), CORRAL_OK);
    req_build(&q, "key", 's', K("s3"), "value", 's', "m", NULL);
    CHECK_EQ_INT(op_err("SetAdd", &q, msg), CORRAL_ERR_WRONG_TYPE);
    req_build(&q, "key", 's', K("s3"), NULL);
    CHECK_EQ_INT(RUN("Del", &q, NULL, NULL), CORRAL_OK);
    req_build(&q, "key", 's', K("s3"), "value", 's', "m", NULL);
    CHECK_EQ_INT(op_int("SetAdd", &q, "newCount"), 1);
    corral_buf_free(&q);
    teardown();
}

/* Requests that must be refused identically, without a crash. */
TEST(kv_malformed_requests) {
    REQUIRE(setup() == 0);
    corral_buf_t q = CORRAL_BUF_INIT;
    char msg[CORRAL_ERR_MSG_MAX];

    /* every truncation of a valid Set */
    req_build(&q, "key", 's', K("k"), "value", 's', "value", "expires", 'i', 300, NULL);
    size_t full = q.len;
    for (size_t n = 0; n < full; n++) {
        corral_buf_t t = CORRAL_BUF_INIT;
        corral_buf_append(&t, q.data, n);
        CHECK_EQ_INT(op_err("Set", &t, msg), CORRAL_ERR_PARSE);
        corral_buf_free(&t);
    }
    CHECK_CONTAINS(msg, "Set: request is truncated");
    uint8_t extra = 0xc0;
    corral_buf_append(&q, &extra, 1);
    CHECK_EQ_INT(op_err("Set", &q, msg), CORRAL_ERR_PARSE);
    CHECK_CONTAINS(msg, "trailing");

    req_build(&q, "key", 'i', 5, NULL);
    CHECK_EQ_INT(op_err("Get", &q, msg), CORRAL_ERR_PARSE);
    CHECK_EQ_STR(msg, "Get: request field 'key' must be a string, not an integer");
    req_build(&q, "key", 'B', "bin", NULL);
    CHECK_EQ_INT(op_err("Get", &q, msg), CORRAL_ERR_PARSE);
    CHECK_CONTAINS(msg, "must be a string, not bin");
    req_build(&q, "KEY", 's', "k", NULL);
    CHECK_EQ_INT(op_err("Get", &q, msg), CORRAL_ERR_PARSE);
    CHECK_EQ_STR(msg, "Get: request field 'key' is missing");
    req_build(&q, "key", 's', K("k"), "value", 's', "5", NULL);
    CHECK_EQ_INT(op_err("Add", &q, msg), CORRAL_ERR_PARSE);
    CHECK_CONTAINS(msg, "'value' must be an i32, not a string");
    req_build(&q, "key", 's', K("k"), "value", 'I', 1LL << 40, NULL);
    CHECK_EQ_INT(op_err("Add", &q, msg), CORRAL_ERR_PARSE);
    CHECK_CONTAINS(msg, "out of range");
    req_build(&q, "key", 's', K("k"), "value", 'f', 1.5, NULL);
    CHECK_EQ_INT(op_err("Add", &q, msg), CORRAL_ERR_PARSE);
    req_build(&q, "key", 's', K("k"), "value", 's', "v", NULL);
    CHECK_EQ_INT(op_err("Set", &q, msg), CORRAL_ERR_PARSE);
    CHECK_CONTAINS(msg, "'expires' is missing");
    req_build(&q, "key", 's', K("k"), "value", 's', "v", "expires", 'i', -1, NULL);
    CHECK_EQ_INT(op_err("Set", &q, msg), CORRAL_ERR_INVALID_ARG);
    req_build(&q, "key", 's', K("k"), "start", 'i', 0, NULL);
    CHECK_EQ_INT(op_err("Range", &q, msg), CORRAL_ERR_PARSE);
    CHECK_CONTAINS(msg, "'stop' is missing");
    req_build(&q, "keys", 's', "notalist", NULL);
    CHECK_EQ_INT(op_err("SetUnion", &q, msg), CORRAL_ERR_PARSE);
    CHECK_CONTAINS(msg, "must be an array of strings");
    req_build(&q, "key", 's', K("k"), NULL);
    CHECK_EQ_INT(op_err("SetIntersection", &q, msg), CORRAL_ERR_PARSE);
    /* an array with a non-string item */
    corral_buf_free(&q);
    const uint8_t arr_int[] = {0x81, 0xa4, 'k', 'e', 'y', 's', 0x92, 0xa1, 'a', 0x05};
    corral_buf_append(&q, arr_int, sizeof arr_int);
    CHECK_EQ_INT(op_err("SetUnion", &q, msg), CORRAL_ERR_PARSE);
    CHECK_CONTAINS(msg, "item 1 must be a string");
    /* not a map; empty; nil; an array header claiming 4 billion items */
    const uint8_t not_map[] = {0x91, 0xa1, 'k'};
    const uint8_t nil[] = {0xc0};
    const uint8_t huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    const uint8_t huge_map[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa3, 'k', 'e', 'y'};
    const uint8_t huge_str[] = {0x81, 0xa3, 'k', 'e', 'y', 0xdb, 0xff, 0xff, 0xff, 0xf0, 'a'};
    const uint8_t reserved[] = {0x81, 0xa3, 'k', 'e', 'y', 0xc1};
    struct {
        const uint8_t *p;
        size_t n;
    } raw[] = {{not_map, sizeof not_map}, {nil, sizeof nil},         {huge, sizeof huge},
               {huge_map, sizeof huge_map}, {huge_str, sizeof huge_str}, {reserved, sizeof reserved},
               {NULL, 0}};
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        corral_buf_free(&q);
        if (raw[i].n) corral_buf_append(&q, raw[i].p, raw[i].n);
        CHECK_EQ_INT(op_err("Get", &q, msg), CORRAL_ERR_PARSE);
    }
    /* deep nesting (msgpack-c limits its stack) */
    corral_buf_free(&q);
    uint8_t deep[4000];
    deep[0] = 0x81;
    deep[1] = 0xa3;
    memcpy(deep + 2, "key", 3);
    for (size_t i = 5; i < sizeof deep - 1; i++) deep[i] = 0x91;
    deep[sizeof deep - 1] = 0x01;
    corral_buf_append(&q, deep, sizeof deep);
    CHECK_EQ_INT(op_err("Get", &q, msg), CORRAL_ERR_PARSE);

    /* pseudo-random bytes: any outcome, but the same everywhere and no crash */
    uint32_t seed = 12345;
    for (int it = 0; it < 300; it++) {
        corral_buf_free(&q);
        size_t n = 1 + it % 40;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            uint8_t b = (uint8_t)(seed >> 16);
            if (i == 0) b = (uint8_t)(0x80 | (b & 0x0f)); /* mostly maps */
            corral_buf_append(&q, &b, 1);
        }
        static const char *ops[] = {"Get", "Set", "Add", "Range", "SetUnion", "Push"};
        (void)op_err(ops[it % 6], &q, msg);
    }
    corral_buf_free(&q);
    teardown();
}

TEST(kv_expiry) {
    REQUIRE(setup() == 0);
    corral_buf_t q = CORRAL_BUF_INIT;
    resp_doc_t d;
    req_build(&q, "key", 's', K("e"), "value", 's', "soon gone", "expires", 'i', 1, NULL);
    CHECK_EQ_INT(RUN("Set", &q, NULL, NULL), CORRAL_OK);
    req_build(&q, "key", 's', K("keep"), "value", 's', "stays", "expires", 'i', 100, NULL);
    CHECK_EQ_INT(RUN("Set", &q, NULL, NULL), CORRAL_OK);
    req_build(&q, "key", 's', K("e"), NULL);
    CHECK_EQ_INT(RUN("Get", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_INT(resp_bool(&d, "exists"), 1);
    resp_free(&d);
    sleep_ms(1300);
    CHECK_EQ_INT(RUN("Get", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_INT(resp_bool(&d, "exists"), 0);
    resp_free(&d);
    CHECK_EQ_INT(RUN("KeyExists", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_INT(resp_bool(&d, "exists"), 0);
    resp_free(&d);
    req_build(&q, "key", 's', K("keep"), NULL);
    CHECK_EQ_INT(RUN("Get", &q, &d, NULL), CORRAL_OK);
    CHECK_EQ_INT(resp_bool(&d, "exists"), 1);
    resp_free(&d);
    req_build(&q, "key", 's', K("e"), "value", 'i', 3, NULL);
    CHECK_EQ_INT(op_int("Add", &q, "value"), 3); /* an expired value counts as absent */
    req_build(&q, "key", 's', K("e"), "value", 's', "v", NULL);
    CHECK_EQ_INT(RUN("Push", &q, NULL, NULL), CORRAL_ERR_WRONG_TYPE);
    corral_buf_free(&q);
    teardown();
}

typedef struct adder {
    be_t *b;
    int n;
    int failures;
} adder_t;

static void *add_thread(void *arg) {
    adder_t *a = arg;
    corral_buf_t q = CORRAL_BUF_INIT;
    req_build(&q, "key", 's', K("shared"), "value", 'i', 1, NULL);
    for (int i = 0; i < a->n; i++) {
        result_t r;
        call_be(a->b, "Add", q.data, q.len, &r);
        if (r.st != CORRAL_OK) {
            if (a->failures++ == 0) fprintf(stderr, "  %s Add failed: %s\n", a->b->name, r.msg);
        }
        corral_free(r.data);
    }
    corral_buf_free(&q);
    return NULL;
}

TEST(kv_concurrent_add_exact) {
    REQUIRE(setup() == 0);
    enum { THREADS = 8, PER = 250 };
    for (int b = 0; b < NB; b++) {
        pthread_t t[THREADS];
        adder_t a[THREADS];
        for (int i = 0; i < THREADS; i++) {
            a[i] = (adder_t){&be_[b], PER, 0};
            pthread_create(&t[i], NULL, add_thread, &a[i]);
        }
        int failures = 0;
        for (int i = 0; i < THREADS; i++) {
            pthread_join(t[i], NULL);
            failures += a[i].failures;
        }
        CHECK_EQ_INT(failures, 0);
        corral_buf_t q = CORRAL_BUF_INIT;
        req_build(&q, "key", 's', K("shared"), "value", 'i', 0, NULL);
        result_t r;
        call_be(&be_[b], "Add", q.data, q.len, &r);
        resp_doc_t d;
        resp_parse(&d, r.data, r.len);
        if (resp_int(&d, "value") != THREADS * PER)
            fprintf(stderr, "  backend %s\n", be_[b].name);
        CHECK_EQ_INT(resp_int(&d, "value"), THREADS * PER);
        resp_free(&d);
        corral_free(r.data);
        corral_buf_free(&q);
    }
    teardown();
}

/* link/unlink run on the control thread while workers call: relinking
 * "default" (same store) and churning another link must not fail a call. */
TEST(kv_relink_during_calls) {
    REQUIRE(setup() == 0);
    enum { THREADS = 4, PER = 150 };
    for (int b = 0; b < NB; b++) {
        pthread_t t[THREADS];
        adder_t a[THREADS];
        for (int i = 0; i < THREADS; i++) {
            a[i] = (adder_t){&be_[b], PER, 0};
            pthread_create(&t[i], NULL, add_thread, &a[i]);
        }
        corral_err_t err;
        int link_failures = 0;
        for (int i = 0; i < 40; i++) {
            if (link_be(&be_[b], ACTOR, "default", &err) != CORRAL_OK) link_failures++;
            if (link_be(&be_[b], ACTOR, "churn", &err) != CORRAL_OK) link_failures++;
            be_[b].p->unlink(be_[b].inst, ACTOR, "churn");
        }
        int failures = 0;
        for (int i = 0; i < THREADS; i++) {
            pthread_join(t[i], NULL);
            failures += a[i].failures;
        }
        CHECK_EQ_INT(link_failures, 0);
        CHECK_EQ_INT(failures, 0);
        corral_buf_t q = CORRAL_BUF_INIT;
        req_build(&q, "key", 's', K("shared"), "value", 'i', 0, NULL);
        result_t r;
        call_be(&be_[b], "Add", q.data, q.len, &r);
        resp_doc_t d;
        resp_parse(&d, r.data, r.len);
        CHECK_EQ_INT(resp_int(&d, "value"), THREADS * PER);
        resp_free(&d);
        corral_free(r.data);
        corral_buf_free(&q);
    }
    teardown();
}

static long long sqlite_add(const char *path, const char *sync, int delta, corral_err_t *err) {
    const corral_provider_t *p = corral_provider_builtin_find("keyvalue:sqlite");
    void *inst = NULL;
    long long v = LLONG_MIN;
    if (p->create(NULL, 0, &host_, &inst, err) != CORRAL_OK) return v;
    corral_provider_kv_t vals[2] = {{"PATH", path}, {"SYNC", sync}};
    if (p->link(inst, ACTOR, "", vals, sync ? 2 : 1, err) == CORRAL_OK) {
        corral_buf_t q = CORRAL_BUF_INIT;
        req_build(&q, "key", 's', "persist", "value", 'i', delta, NULL);
        corral_provider_call_t c = {ACTOR, NULL, "wascc:keyvalue", "Add", q.data, q.len};
        corral_provider_bytes_t resp = {NULL, 0};
        if (p->call(inst, &c, &resp, err) == CORRAL_OK) {
            resp_doc_t d;
            resp_parse(&d, resp.data, resp.len);
            v = resp_int(&d, "value");
            resp_free(&d);
        }
        corral_free(resp.data);
        corral_buf_free(&q);
        p->unlink(inst, ACTOR, "default");
    }
    p->destroy(inst);
    return v;
}

TEST(kv_sqlite_persistence_and_sync) {
    REQUIRE(setup() == 0);
    char path[300];
    snprintf(path, sizeof path, "%s/persist.db", dir_);
    corral_err_t err;
    CHECK_EQ_INT(sqlite_add(path, NULL, 3, &err), 3);
    CHECK_EQ_INT(sqlite_add(path, "full", 4, &err), 7); /* a new instance sees the old count */
    CHECK_EQ_INT(sqlite_add(path, "NORMAL", 5, &err), 12);
    struct stat sb;
    CHECK(stat(path, &sb) == 0);
    CHECK_EQ_INT(sqlite_add(path, "sometimes", 1, &err), LLONG_MIN);
    CHECK_EQ_INT(err.status, CORRAL_ERR_INVALID_ARG);
    CHECK_CONTAINS(corral_err_msg(&err), "SYNC must be 'normal' or 'full'");
    CHECK_EQ_INT(sqlite_add("/nonexistent-dir/x/kv.db", NULL, 1, &err), LLONG_MIN);
    CHECK_EQ_INT(err.status, CORRAL_ERR_IO);
    CHECK_CONTAINS(corral_err_msg(&err), "/nonexistent-dir/x/kv.db");
    /* the default PATH lives under the host's data directory */
    const corral_provider_t *p = corral_provider_builtin_find("keyvalue:sqlite");
    void *inst = NULL;
    REQUIRE(p->create(NULL, 0, &host_, &inst, &err) == CORRAL_OK);
    CHECK_EQ_INT(p->link(inst, ACTOR, "default", NULL, 0, &err), CORRAL_OK);
    char def[300];
    snprintf(def, sizeof def, "%s/keyvalue.sqlite", dir_);
    CHECK(stat(def, &sb) == 0);
    char wal[320];
    snprintf(wal, sizeof wal, "%s-wal", def);
    CHECK(stat(wal, &sb) == 0); /* the database runs in WAL mode */
    p->destroy(inst);
    teardown();
}

TEST(kv_redis_fail_fast_and_reconnect) {
    REQUIRE(setup() == 0);
    if (redis_.pid == 0) {
        fprintf(stderr, "  (external Redis from CORRAL_TEST_REDIS_URL: cannot stop it; skipped)\n");
        teardown();
        return;
    }
    be_t *r = &be_[2];
    corral_buf_t q = CORRAL_BUF_INIT;
    result_t res;
    req_build(&q, "key", 's', K("ff"), "value", 'i', 1, NULL);
    call_be(r, "Add", q.data, q.len, &res);
    CHECK_EQ_INT(res.st, CORRAL_OK);
    corral_free(res.data);
    corral_err_t err;
    CHECK_EQ_INT(r->p->health(r->inst, &err), CORRAL_OK);

    redis_fixture_kill(&redis_);
    for (int i = 0; i < 5; i++) {
        uint64_t t0 = corral_now_ns();
        call_be(r, i % 2 ? "Add" : "Get", q.data, q.len, &res);
        uint64_t ms = (corral_now_ns() - t0) / 1000000;
        CHECK_EQ_INT(res.st, CORRAL_ERR_BACKEND_UNAVAILABLE);
        CHECK_CONTAINS(res.msg, "keyvalue backend unavailable");
        CHECK(ms < 300); /* a refused loopback connect is immediate; a timeout would be 500 */
        corral_free(res.data);
    }
    CHECK_EQ_INT(r->p->health(r->inst, &err), CORRAL_ERR_BACKEND_UNAVAILABLE);

    REQUIRE(redis_fixture_restart(&redis_) == 0);
    /* no action from us: the backend must reconnect on its own */
    int ok = 0;
    for (int i = 0; i < 100 && !ok; i++) {
        call_be(r, "Add", q.data, q.len, &res);
        ok = res.st == CORRAL_OK;
        if (ok) {
            resp_doc_t d;
            resp_parse(&d, res.data, res.len);
            CHECK_EQ_INT(resp_int(&d, "value"), 1); /* a fresh server: counts from 0 again */
            resp_free(&d);
        }
        corral_free(res.data);
        if (!ok) sleep_ms(50);
    }
    CHECK(ok);
    call_be(r, "Add", q.data, q.len, &res);
    CHECK_EQ_INT(res.st, CORRAL_OK);
    corral_free(res.data);
    CHECK_EQ_INT(r->p->health(r->inst, &err), CORRAL_OK);
    corral_buf_free(&q);
    teardown();
}

TEST(kv_links) {
    REQUIRE(setup() == 0);
    corral_buf_t q = CORRAL_BUF_INIT;
    req_build(&q, "key", 's', K("x"), "value", 'i', 2, NULL);
    for (int b = 0; b < NB; b++) {
        corral_provider_call_t c = {"MOTHERACTOR", "default", "wasmcloud:keyvalue", "Add", q.data,
                                    q.len};
        corral_provider_bytes_t resp = {NULL, 0};
        corral_err_t err;
        CHECK_EQ_INT(be_[b].p->call(be_[b].inst, &c, &resp, &err), CORRAL_ERR_NO_LINK);
        CHECK_CONTAINS(corral_err_msg(&err), "MOTHERACTOR");
        CHECK(resp.data == NULL);
        /* a second link name for the same actor is a separate binding */
        REQUIRE(link_be(&be_[b], ACTOR, "other", &err) == CORRAL_OK);
        c.actor_key = ACTOR;
        c.link_name = "other";
        CHECK_EQ_INT(be_[b].p->call(be_[b].inst, &c, &resp, &err), CORRAL_OK);
        corral_free(resp.data);
        be_[b].p->unlink(be_[b].inst, ACTOR, "other");
        CHECK_EQ_INT(be_[b].p->call(be_[b].inst, &c, &resp, &err), CORRAL_ERR_NO_LINK);
        be_[b].p->unlink(be_[b].inst, ACTOR, "never-linked"); /* a no-op */
        /* relinking replaces the link; both names see the same store */
        REQUIRE(link_be(&be_[b], ACTOR, "default", &err) == CORRAL_OK);
        c.link_name = "";
        CHECK_EQ_INT(be_[b].p->call(be_[b].inst, &c, &resp, &err), CORRAL_OK);
        resp_doc_t d;
        resp_parse(&d, resp.data, resp.len);
        CHECK_EQ_INT(resp_int(&d, "value"), 4);
        resp_free(&d);
        corral_free(resp.data);
        CHECK_EQ_INT(be_[b].p->health(be_[b].inst, &err), CORRAL_OK);
    }
    /* redis://host:port/db selects the database: two links, two namespaces */
    if (redis_.port) {
        char u1[160], u2[160];
        snprintf(u1, sizeof u1, "%s/1", redis_.url);
        snprintf(u2, sizeof u2, "%s/2", redis_.url);
        corral_provider_kv_t l1 = {"URL", u1}, l2 = {"URL", u2};
        corral_err_t e;
        REQUIRE(be_[2].p->link(be_[2].inst, ACTOR, "db1", &l1, 1, &e) == CORRAL_OK);
        REQUIRE(be_[2].p->link(be_[2].inst, ACTOR, "db2", &l2, 1, &e) == CORRAL_OK);
        long long got[2];
        const char *links[2] = {"db1", "db2"};
        for (int i = 0; i < 2; i++) {
            req_build(&q, "key", 's', K("dbkey"), "value", 'i', 10 * (i + 1), NULL);
            corral_provider_call_t c = {ACTOR, links[i], "wasmcloud:keyvalue", "Add", q.data, q.len};
            corral_provider_bytes_t resp = {NULL, 0};
            got[i] = -1;
            if (be_[2].p->call(be_[2].inst, &c, &resp, &e) == CORRAL_OK) {
                resp_doc_t d;
                resp_parse(&d, resp.data, resp.len);
                got[i] = resp_int(&d, "value");
                resp_free(&d);
            }
            corral_free(resp.data);
        }
        CHECK_EQ_INT(got[0], 10);
        CHECK_EQ_INT(got[1], 20); /* not 30: another database */
    }
    /* a bad Redis URL is refused at link time */
    corral_err_t err;
    corral_provider_kv_t bad = {"URL", "http://nope"};
    CHECK_EQ_INT(be_[2].p->link(be_[2].inst, ACTOR, "bad", &bad, 1, &err), CORRAL_ERR_INVALID_ARG);
    corral_buf_free(&q);
    teardown();
}

/* Every allocation failure in a memory-backend lifecycle is reported, never
 * crashes, and leaks nothing (the harness checks the count). */
TEST(kv_memory_alloc_failures) {
    corral_provider_host_t host;
    corral_provider_host_init_default(&host, "/tmp");
    const corral_provider_t *p = corral_provider_builtin_find("keyvalue");
    REQUIRE(p != NULL);
    corral_buf_t reqs[5] = {CORRAL_BUF_INIT, CORRAL_BUF_INIT, CORRAL_BUF_INIT, CORRAL_BUF_INIT,
                            CORRAL_BUF_INIT};
    const char *ops[5] = {"Set", "Push", "SetAdd", "SetUnion", "Range"};
    req_build(&reqs[0], "key", 's', "k", "value", 's', "v", "expires", 'i', 0, NULL);
    req_build(&reqs[1], "key", 's', "l", "value", 's', "v", NULL);
    req_build(&reqs[2], "key", 's', "s", "value", 's', "v", NULL);
    const char *keys[] = {"s", "t", NULL};
    req_build(&reqs[3], "keys", 'a', keys, NULL);
    req_build(&reqs[4], "key", 's', "l", "start", 'i', 0, "stop", 'i', -1, NULL);
    int completed = 0;
    for (long n = 1; n < 200 && !completed; n++) {
        corral_alloc_fail_after(n, 1);
        void *inst = NULL;
        corral_err_t err;
        int all_ok = 0;
        if (p->create(NULL, 0, &host, &inst, &err) == CORRAL_OK) {
            if (p->link(inst, ACTOR, "default", NULL, 0, &err) == CORRAL_OK) {
                all_ok = 1;
                for (int i = 0; i < 5; i++) {
                    corral_provider_call_t c = {ACTOR, "default", "wasmcloud:keyvalue", ops[i],
                                                reqs[i].data, reqs[i].len};
                    corral_provider_bytes_t resp = {NULL, 0};
                    corral_status_t st = p->call(inst, &c, &resp, &err);
                    if (st != CORRAL_OK) {
                        all_ok = 0;
                        CHECK_EQ_INT(st, CORRAL_ERR_NOMEM);
                    }
                    corral_free(resp.data);
                }
            } else {
                CHECK_EQ_INT(err.status, CORRAL_ERR_NOMEM);
            }
            p->destroy(inst);
        } else {
            CHECK_EQ_INT(err.status, CORRAL_ERR_NOMEM);
        }
        corral_alloc_fail_after(0, 0);
        completed = all_ok;
    }
    CHECK(completed); /* eventually there were enough allocations for everything */
    for (int i = 0; i < 5; i++) corral_buf_free(&reqs[i]);
}

TEST_MAIN(TEST_ENTRY(kv_conformance_plain), TEST_ENTRY(kv_conformance_lists),
          TEST_ENTRY(kv_conformance_sets), TEST_ENTRY(kv_malformed_requests),
          TEST_ENTRY(kv_expiry), TEST_ENTRY(kv_concurrent_add_exact), TEST_ENTRY(kv_relink_during_calls),
          TEST_ENTRY(kv_sqlite_persistence_and_sync), TEST_ENTRY(kv_redis_fail_fast_and_reconnect),
          TEST_ENTRY(kv_links), TEST_ENTRY(kv_memory_alloc_failures))

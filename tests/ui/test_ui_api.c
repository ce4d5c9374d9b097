/*
 * test_ui_api.c - the JSON API of `corral ui` (cli/ui_server.c) without a
 * browser or a socket: corral_ui_handle on hand-made requests. Hostile
 * input first (wrong Host, method, path, token, origin, content type,
 * oversize / empty / malformed bodies, missing and mistyped fields), then
 * the real control traffic against a scripted host on a Unix socket: the
 * state with call rates from two samples, update_actor with the resolved
 * path, relink as link_del + link_put, and the old link put back when the
 * host refuses the new one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "test.h"
#include "ui_server.h"

#define TOKEN "0123456789abcdef0123456789abcdef"
#define HOSTHDR "127.0.0.1:7777"

static const char page[] = "<meta content=\"{{TOKEN}}\"><script nonce=\"{{NONCE}}\">{x}</script>";

/* ---- a scripted host ---------------------------------------------------- */

typedef struct fake_host {
    int lfd;
    pthread_t th;
    pthread_mutex_t mu;
    long long calls, errors; /* what inventory reports */
    int refuse_puts;         /* link_put answers no this many times */
    char ops[1024];          /* the ops received, space-separated */
    char last_put[8192];     /* the last link_put request */
    char last_update[8192];  /* the last update_actor request */
} fake_host_t;

static char run_dir[64];

static void answer(fake_host_t *h, int c, const char *line) {
    json_t *req = json_loads(line, 0, NULL);
    const char *op = json_string_value(json_object_get(req, "op"));
    char reply[2048];
    pthread_mutex_lock(&h->mu);
    snprintf(h->ops + strlen(h->ops), sizeof h->ops - strlen(h->ops), "%s ", op ? op : "?");
    if (op && strcmp(op, "inventory") == 0) {
        snprintf(reply, sizeof reply,
                 "{\"ok\":true,\"result\":{\"host_key\":\"NHOST\",\"labels\":{},\"uptime_s\":5,"
                 "\"actors\":[{\"key\":\"MK1\",\"name\":\"kv\",\"call_alias\":\"kvalias\",\"rev\":1,"
                 "\"calls\":%lld,\"errors\":%lld}],\"providers\":[],\"links\":[{\"actor\":\"MK1\","
                 "\"contract_id\":\"wasmcloud:httpserver\",\"link_name\":\"default\","
                 "\"values\":{\"PORT\":\"1\"}}]}}\n",
                 h->calls, h->errors);
    } else if (op && strcmp(op, "update_actor") == 0) {
        snprintf(h->last_update, sizeof h->last_update, "%s", line);
        snprintf(reply, sizeof reply,
                 "{\"ok\":true,\"result\":{\"key\":\"MK1\",\"old_rev\":1,\"new_rev\":2,"
                 "\"swap_pause_us\":3,\"caps_changed\":false}}\n");
    } else if (op && strcmp(op, "link_put") == 0) {
        snprintf(h->last_put, sizeof h->last_put, "%s", line);
        if (h->refuse_puts > 0) {
            h->refuse_puts--;
            snprintf(reply, sizeof reply,
                     "{\"ok\":false,\"code\":\"ERR_INVALID_ARG\",\"error\":\"PORT is not a port\"}\n");
        } else {
            snprintf(reply, sizeof reply, "{\"ok\":true,\"result\":{}}\n");
        }
    } else if (op && strcmp(op, "link_del") == 0) {
        snprintf(reply, sizeof reply, "{\"ok\":true,\"result\":{}}\n");
    } else {
        snprintf(reply, sizeof reply, "{\"ok\":false,\"code\":\"ERR_INVALID_ARG\",\"error\":\"op?\"}\n");
    }
    pthread_mutex_unlock(&h->mu);
    json_decref(req);
    if (send(c, reply, strlen(reply), MSG_NOSIGNAL) < 0) return;
}

static void *serve(void *arg) {
    fake_host_t *h = arg;
    for (;;) {
        int c = accept(h->lfd, NULL, NULL);
        if (c < 0) return NULL;
        char buf[8192];
        size_t n = 0;
        for (;;) { /* answer each line until the client closes */
            ssize_t r = recv(c, buf + n, sizeof buf - 1 - n, 0);
            if (r <= 0) break;
            n += (size_t)r;
            buf[n] = '\0';
            char *nl;
            while ((nl = strchr(buf, '\n')) != NULL) {
                *nl = '\0';
                answer(h, c, buf);
                size_t used = (size_t)(nl + 1 - buf);
                memmove(buf, nl + 1, n - used + 1);
                n -= used;
            }
            if (n == sizeof buf - 1) break;
        }
        close(c);
    }
}

static int host_start(fake_host_t *h) {
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/control.sock", run_dir);
    unlink(path);
    h->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) return 0;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (bind(h->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(h->lfd, 8) != 0) return 0;
    return pthread_create(&h->th, NULL, serve, h) == 0;
}

static void host_stop(fake_host_t *h) {
    shutdown(h->lfd, SHUT_RDWR);
    close(h->lfd);
    pthread_join(h->th, NULL);
    pthread_mutex_destroy(&h->mu);
    char path[128];
    snprintf(path, sizeof path, "%s/control.sock", run_dir);
    unlink(path);
}

static void remove_dir(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/module.wasm", run_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/control.sock", run_dir);
    unlink(path);
    rmdir(run_dir);
}

static void need_dir(void) {
    if (run_dir[0]) return;
    snprintf(run_dir, sizeof run_dir, "/tmp/corral-ui-test.XXXXXX");
    if (!mkdtemp(run_dir)) abort();
    atexit(remove_dir);
}

/* ---- helpers ------------------------------------------------------------ */

static corral_ui_t *new_ui(void) {
    need_dir();
    corral_ui_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.run_dir = run_dir;
    cfg.port = 7777;
    cfg.page = (const uint8_t *)page;
    cfg.page_len = sizeof page - 1;
    cfg.token = TOKEN;
    corral_err_t err;
    corral_ui_t *ui = NULL;
    if (corral_ui_new(&cfg, &ui, &err) != CORRAL_OK) return NULL;
    return ui;
}

/* A well-formed POST with body b (NULL: no body). */
static corral_ui_request_t post(const char *path, const char *b) {
    corral_ui_request_t rq;
    memset(&rq, 0, sizeof rq);
    rq.method = "POST";
    rq.path = path;
    rq.host = HOSTHDR;
    rq.token = TOKEN;
    rq.origin = "http://" HOSTHDR;
    rq.content_type = "application/json";
    rq.body = b;
    rq.body_len = b ? strlen(b) : 0;
    return rq;
}

static corral_ui_request_t get(const char *path) {
    corral_ui_request_t rq;
    memset(&rq, 0, sizeof rq);
    rq.method = "GET";
    rq.path = path;
    rq.host = HOSTHDR;
    return rq;
}

/* Runs rq; returns the status; *body (free it) gets the NUL-terminated body. */
static unsigned run(corral_ui_t *ui, const corral_ui_request_t *rq, char **body) {
    corral_ui_response_t rs;
    corral_ui_handle(ui, rq, &rs);
    *body = corral_strndup(rs.body.data ? (const char *)rs.body.data : "", rs.body.len);
    unsigned st = rs.status;
    corral_ui_response_free(&rs);
    return st;
}

/* Expects status and an {"error": ...} containing `needle`. */
#define EXPECT_ERR(ui, rq, status, needle)                                                         \
    do {                                                                                           \
        corral_ui_request_t rq_ = (rq);                                                            \
        char *b_ = NULL;                                                                           \
        CHECK_EQ_INT(run((ui), &rq_, &b_), (status));                                              \
        json_t *j_ = json_loads(b_ ? b_ : "", 0, NULL);                                            \
        CHECK(json_is_string(json_object_get(j_, "error")));                                       \
        CHECK_CONTAINS(json_string_value(json_object_get(j_, "error")), (needle));                 \
        json_decref(j_);                                                                           \
        corral_free(b_);                                                                           \
    } while (0)

/* ---- tests -------------------------------------------------------------- */

TEST(config_refuses_non_loopback) {
    corral_ui_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    corral_err_t err;
    corral_ui_t *ui = NULL;
    cfg.bind = "0.0.0.0";
    CHECK_EQ_INT(corral_ui_new(&cfg, &ui, &err), CORRAL_ERR_INVALID_ARG);
    CHECK_CONTAINS(corral_err_msg(&err), "not a loopback address");
    CHECK(ui == NULL);
    cfg.bind = "example.org";
    CHECK_EQ_INT(corral_ui_new(&cfg, &ui, &err), CORRAL_ERR_INVALID_ARG);
    cfg.bind = "0.0.0.0";
    cfg.allow_remote = 1;
    CHECK_EQ_INT(corral_ui_new(&cfg, &ui, &err), CORRAL_OK);
    corral_ui_free(ui);
    ui = NULL;
    cfg.allow_remote = 0;
    cfg.bind = "::1";
    CHECK_EQ_INT(corral_ui_new(&cfg, &ui, &err), CORRAL_OK);
    CHECK_EQ_INT(strlen(corral_ui_token(ui)), 32); /* a random token */
    corral_ui_free(ui);
}

/* This test is built without libnats: a lattice is refused up front, with
 * the reason (tests/ui/ui_lattice.sh tests the lattice backend itself). */
TEST(lattice_needs_lattice_support) {
    corral_ui_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    corral_err_t err;
    corral_ui_t *ui = NULL;
    cfg.lattice = "default";
#ifdef CORRAL_HAVE_LATTICE
    CHECK_EQ_INT(corral_ui_new(&cfg, &ui, &err), CORRAL_OK);
    corral_ui_free(ui);
    ui = NULL;
    cfg.lattice = "a.b";
    CHECK_EQ_INT(corral_ui_new(&cfg, &ui, &err), CORRAL_ERR_INVALID_ARG);
    CHECK_CONTAINS(corral_err_msg(&err), "is not valid");
#else
    CHECK_EQ_INT(corral_ui_new(&cfg, &ui, &err), CORRAL_ERR_UNSUPPORTED);
    CHECK_CONTAINS(corral_err_msg(&err), "without lattice support");
#endif
    CHECK(ui == NULL);
}

TEST(page_has_token_and_nonce) {
    corral_ui_t *ui = new_ui();
    REQUIRE(ui);
    corral_ui_request_t rq = get("/");
    corral_ui_response_t rs;
    corral_ui_handle(ui, &rq, &rs);
    CHECK_EQ_INT(rs.status, 200);
    CHECK(rs.html);
    CHECK_EQ_INT(strlen(rs.nonce), 32);
    char *b = corral_strndup((const char *)rs.body.data, rs.body.len);
    char want[256];
    snprintf(want, sizeof want, "<meta content=\"%s\"><script nonce=\"%s\">{x}</script>", TOKEN, rs.nonce);
    CHECK_EQ_STR(b, want);
    corral_free(b);
    corral_ui_response_free(&rs);
    corral_ui_free(ui);
}

TEST(routing_and_host_header) {
    corral_ui_t *ui = new_ui();
    REQUIRE(ui);
    EXPECT_ERR(ui, get("/api/nope"), 404, "no such path");
    EXPECT_ERR(ui, get("/../etc/passwd"), 404, "no such path");
    EXPECT_ERR(ui, post("/", "{}"), 405, "GET only");
    EXPECT_ERR(ui, get("/api/update"), 405, "POST only");
    corral_ui_request_t rq = get("/api/relink");
    rq.method = "DELETE";
    corral_ui_response_t rs;
    corral_ui_handle(ui, &rq, &rs);
    CHECK_EQ_INT(rs.status, 405);
    CHECK_EQ_STR(rs.allow, "POST");
    corral_ui_response_free(&rs);
    rq = get("/");
    rq.host = "evil.example:7777"; /* a rebound DNS name */
    EXPECT_ERR(ui, rq, 403, "DNS rebinding");
    rq.host = NULL;
    EXPECT_ERR(ui, rq, 403, "Host header");
    rq.host = "127.0.0.1:7778";
    EXPECT_ERR(ui, rq, 403, "Host header");
    rq.host = "LOCALHOST:7777";
    char *b = NULL;
    CHECK_EQ_INT(run(ui, &rq, &b), 200);
    corral_free(b);
    corral_ui_free(ui);
}

TEST(post_guards) {
    corral_ui_t *ui = new_ui();
    REQUIRE(ui);
    const char *ok = "{\"actor\":\"a\",\"path\":\"/x\"}";
    corral_ui_request_t rq = post("/api/update", ok);
    rq.token = NULL;
    EXPECT_ERR(ui, rq, 403, "X-Corral-UI-Token");
    rq.token = "0123456789abcdef0123456789abcdee";
    EXPECT_ERR(ui, rq, 403, "X-Corral-UI-Token");
    rq.token = TOKEN "0";
    EXPECT_ERR(ui, rq, 403, "X-Corral-UI-Token");
    rq = post("/api/update", ok);
    rq.origin = "http://evil.example";
    EXPECT_ERR(ui, rq, 403, "cross-origin");
    rq = post("/api/update", ok);
    rq.content_type = "text/plain";
    EXPECT_ERR(ui, rq, 415, "application/json");
    rq.content_type = "application/jsonx";
    EXPECT_ERR(ui, rq, 415, "application/json");
    rq.content_type = NULL;
    EXPECT_ERR(ui, rq, 415, "application/json");
    rq = post("/api/update", NULL);
    rq.body_too_large = 1;
    EXPECT_ERR(ui, rq, 413, "larger than 16384");
    char *big = corral_malloc(CORRAL_UI_MAX_BODY + 2);
    REQUIRE(big);
    memset(big, ' ', CORRAL_UI_MAX_BODY + 1);
    big[CORRAL_UI_MAX_BODY + 1] = '\0';
    EXPECT_ERR(ui, post("/api/relink", big), 413, "larger than");
    corral_free(big);
    corral_ui_free(ui);
}

TEST(bodies_validated) {
    corral_ui_t *ui = new_ui();
    REQUIRE(ui);
    EXPECT_ERR(ui, post("/api/update", NULL), 400, "empty request body");
    EXPECT_ERR(ui, post("/api/update", "{\"actor\":"), 400, "not valid JSON");
    EXPECT_ERR(ui, post("/api/update", "[1,2]"), 400, "must be a JSON object");
    EXPECT_ERR(ui, post("/api/update", "{\"actor\":\"a\",\"actor\":\"b\",\"path\":\"/x\"}"), 400,
               "not valid JSON");
    EXPECT_ERR(ui, post("/api/update", "{\"actor\":\"a\"}"), 400, "missing field 'path'");
    EXPECT_ERR(ui, post("/api/update", "{\"path\":\"/x\"}"), 400, "missing field 'actor'");
    EXPECT_ERR(ui, post("/api/update", "{\"actor\":7,\"path\":\"/x\"}"), 400, "'actor' must be a string");
    EXPECT_ERR(ui, post("/api/update", "{\"actor\":\"\",\"path\":\"/x\"}"), 400, "1 to 256 bytes");
    EXPECT_ERR(ui, post("/api/update", "{\"actor\":\"a\",\"path\":\"/x\",\"rm\":1}"), 400,
               "unknown field 'rm'");
    EXPECT_ERR(ui, post("/api/update", "{\"actor\":\"a\",\"path\":\"rel.wasm\"}"), 400, "absolute");
    EXPECT_ERR(ui, post("/api/update", "{\"actor\":\"a\",\"path\":\"/no/such/file.wasm\"}"), 400,
               "No such file");
    EXPECT_ERR(ui, post("/api/update", "{\"actor\":\"a\",\"path\":\"/tmp\"}"), 400, "not a regular file");
    EXPECT_ERR(ui, post("/api/update", "{\"actor\":\"a\\u0000b\",\"path\":\"/x\"}"), 400, "not valid JSON");
    EXPECT_ERR(ui, post("/api/update", "{\"actor\":\"\xff\",\"path\":\"/x\"}"), 400, "not valid JSON");
    const char *c = "{\"actor\":\"a\",\"contract_id\":\"c\",";
    char b[512];
    EXPECT_ERR(ui, post("/api/relink", "{\"actor\":\"a\"}"), 400, "missing field 'contract_id'");
    snprintf(b, sizeof b, "%s\"values\":[]}", c);
    EXPECT_ERR(ui, post("/api/relink", b), 400, "'values' must be an object");
    snprintf(b, sizeof b, "%s\"values\":{\"PORT\":8080}}", c);
    EXPECT_ERR(ui, post("/api/relink", b), 400, "values['PORT'] must be a string");
    snprintf(b, sizeof b, "%s\"values\":{\"\":\"x\"}}", c);
    EXPECT_ERR(ui, post("/api/relink", b), 400, "a key in 'values'");
    snprintf(b, sizeof b, "%s\"link_name\":null}", c);
    EXPECT_ERR(ui, post("/api/relink", b), 400, "'link_name' must be a string");
    char many[4096];
    size_t n = (size_t)snprintf(many, sizeof many, "%s\"values\":{", c);
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "%s\"k%d\":\"v\"", i ? "," : "", i);
    snprintf(many + n, sizeof many - n, "}}");
    EXPECT_ERR(ui, post("/api/relink", many), 400, "more than 64 entries");
    corral_ui_free(ui);
}

TEST(no_host_is_502) {
    corral_ui_t *ui = new_ui();
    REQUIRE(ui);
    corral_ui_request_t rq = get("/api/state");
    char *b = NULL;
    CHECK_EQ_INT(run(ui, &rq, &b), 502);
    json_t *j = json_loads(b, 0, NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "code")), "ERR_CLOSED");
    CHECK_CONTAINS(json_string_value(json_object_get(j, "error")), "no host is running");
    json_decref(j);
    corral_free(b);
    corral_ui_free(ui);
}

static json_t *actor0(corral_ui_t *ui, unsigned *status) {
    corral_ui_request_t rq = get("/api/state");
    char *b = NULL;
    *status = run(ui, &rq, &b);
    json_t *j = json_loads(b, 0, NULL);
    corral_free(b);
    json_t *a = json_incref(json_array_get(json_object_get(j, "actors"), 0));
    json_decref(j);
    return a;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

TEST(state_rates_from_two_samples) {
    fake_host_t h;
    need_dir();
    REQUIRE(host_start(&h));
    corral_ui_t *ui = new_ui();
    REQUIRE(ui);
    h.calls = 100;
    h.errors = 4;
    unsigned st;
    json_t *a = actor0(ui, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_STR(json_string_value(json_object_get(a, "key")), "MK1");
    CHECK(json_is_null(json_object_get(a, "calls_per_s"))); /* one sample: no rate yet */
    json_decref(a);
    sleep_ms(600);
    pthread_mutex_lock(&h.mu);
    h.calls = 130;
    h.errors = 7;
    pthread_mutex_unlock(&h.mu);
    a = actor0(ui, &st);
    double cps = json_real_value(json_object_get(a, "calls_per_s"));
    double eps = json_real_value(json_object_get(a, "errors_per_s"));
    /* 30 calls and 3 errors over the same interval of at least 0.6 s */
    CHECK(cps > 0 && cps <= 50);
    CHECK(eps > 0 && eps <= 5);
    CHECK(cps > 9.99 * eps && cps < 10.01 * eps);
    json_decref(a);
    /* an immediate second poll keeps the same rates (no 0/0 interval) */
    a = actor0(ui, &st);
    CHECK(json_real_value(json_object_get(a, "calls_per_s")) == cps);
    json_decref(a);
    sleep_ms(600);
    pthread_mutex_lock(&h.mu);
    h.calls = 5; /* the actor restarted: its counter went back */
    pthread_mutex_unlock(&h.mu);
    a = actor0(ui, &st);
    CHECK(json_is_null(json_object_get(a, "calls_per_s")));
    json_decref(a);
    corral_ui_free(ui);
    host_stop(&h);
}

TEST(update_sends_the_resolved_path) {
    fake_host_t h;
    need_dir();
    REQUIRE(host_start(&h));
    corral_ui_t *ui = new_ui();
    REQUIRE(ui);
    char mod[128], dotted[160], body[512];
    snprintf(mod, sizeof mod, "%s/module.wasm", run_dir);
    FILE *f = fopen(mod, "w");
    REQUIRE(f);
    fputs("x", f);
    fclose(f);
    snprintf(dotted, sizeof dotted, "%s/./module.wasm", run_dir);
    snprintf(body, sizeof body, "{\"actor\":\"kvalias\",\"path\":\"%s\"}", dotted);
    char *b = NULL;
    corral_ui_request_t rq = post("/api/update", body);
    CHECK_EQ_INT(run(ui, &rq, &b), 200);
    json_t *j = json_loads(b, 0, NULL);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "new_rev")), 2);
    json_decref(j);
    corral_free(b);
    json_t *sent = json_loads(h.last_update, 0, NULL);
    char *want = realpath(mod, NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(sent, "path")), want);
    CHECK_EQ_STR(json_string_value(json_object_get(sent, "actor")), "kvalias");
    free(want);
    json_decref(sent);
    CHECK_EQ_STR(h.ops, "update_actor ");
    corral_ui_free(ui);
    host_stop(&h);
}

TEST(relink_is_del_then_put) {
    fake_host_t h;
    need_dir();
    REQUIRE(host_start(&h));
    corral_ui_t *ui = new_ui();
    REQUIRE(ui);
    char *b = NULL;
    corral_ui_request_t rq = post("/api/relink", "{\"actor\":\"kvalias\",\"contract_id\":"
                                                 "\"wasmcloud:httpserver\",\"values\":{\"PORT\":\"2\"}}");
    CHECK_EQ_INT(run(ui, &rq, &b), 200);
    json_t *j = json_loads(b, 0, NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "actor")), "MK1");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(j, "old_values"), "PORT")), "1");
    json_decref(j);
    corral_free(b);
    CHECK_EQ_STR(h.ops, "inventory link_del link_put ");
    json_t *put = json_loads(h.last_put, 0, NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(put, "actor")), "MK1");
    CHECK_EQ_STR(json_string_value(json_object_get(put, "link_name")), "default");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(put, "values"), "PORT")), "2");
    json_decref(put);

    /* the host refuses the new link: the old one is put back */
    h.ops[0] = '\0';
    h.refuse_puts = 1;
    rq = post("/api/relink", "{\"actor\":\"MK1\",\"contract_id\":\"wasmcloud:httpserver\","
                             "\"new_link_name\":\"other\",\"values\":{\"PORT\":\"x\"}}");
    CHECK_EQ_INT(run(ui, &rq, &b), 409);
    j = json_loads(b, 0, NULL);
    CHECK_CONTAINS(json_string_value(json_object_get(j, "error")), "the old link is back");
    CHECK_CONTAINS(json_string_value(json_object_get(j, "error")), "PORT is not a port");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "code")), "ERR_INVALID_ARG");
    json_decref(j);
    corral_free(b);
    CHECK_EQ_STR(h.ops, "inventory link_del link_put link_put ");
    put = json_loads(h.last_put, 0, NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(put, "link_name")), "default");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(put, "values"), "PORT")), "1");
    json_decref(put);

    /* nothing to relink: nothing is sent but the inventory */
    h.ops[0] = '\0';
    EXPECT_ERR(ui, post("/api/relink", "{\"actor\":\"nobody\",\"contract_id\":\"c\"}"), 404,
               "no actor 'nobody'");
    EXPECT_ERR(ui, post("/api/relink", "{\"actor\":\"kvalias\",\"contract_id\":\"wasmcloud:keyvalue\"}"),
               404, "has no link to wasmcloud:keyvalue");
    CHECK_EQ_STR(h.ops, "inventory inventory ");
    corral_ui_free(ui);
    host_stop(&h);
}

TEST_MAIN(TEST_ENTRY(config_refuses_non_loopback), TEST_ENTRY(lattice_needs_lattice_support),
          TEST_ENTRY(page_has_token_and_nonce),
          TEST_ENTRY(routing_and_host_header), TEST_ENTRY(post_guards), TEST_ENTRY(bodies_validated),
          TEST_ENTRY(no_host_is_502), TEST_ENTRY(state_rates_from_two_samples),
          TEST_ENTRY(update_sends_the_resolved_path), TEST_ENTRY(relink_is_del_then_put))

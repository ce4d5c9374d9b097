/*
 * test_control_client.c - the CLI's control socket client (cli/control_client.c)
 * against a scripted server thread on a real Unix socket: replies that are
 * fine, refusals mapped to their status, malformed or missing replies, two
 * replies arriving in one read, no host running, over-long paths; and the
 * `corral call` local/remote decision.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "control_client.h"
#include "test.h"

typedef struct {
    int lfd;
    const char *replies; /* sent after the first request line arrives */
    int close_after;     /* close without sending anything */
    char got[4096];      /* what the client sent */
} server_t;

static void *serve(void *arg) {
    server_t *s = arg;
    int c = accept(s->lfd, NULL, NULL);
    if (c < 0) return NULL;
    size_t n = 0;
    while (n < sizeof s->got - 1) {
        ssize_t r = recv(c, s->got + n, sizeof s->got - 1 - n, 0);
        if (r <= 0) break;
        n += (size_t)r;
        if (memchr(s->got, '\n', n)) break;
    }
    s->got[n] = '\0';
    if (!s->close_after) {
        size_t len = strlen(s->replies);
        if (send(c, s->replies, len, MSG_NOSIGNAL) != (ssize_t)len) abort();
        /* Keep the connection until the client is done with it. */
        char tmp[256];
        while (recv(c, tmp, sizeof tmp, 0) > 0) {
        }
    }
    close(c);
    return NULL;
}

static char dir[64];

static void remove_dir(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/control.sock", dir);
    unlink(path);
    rmdir(dir);
}

/* A fresh temp dir for the socket, made once, removed at exit. */
static void need_dir(void) {
    if (dir[0]) return;
    snprintf(dir, sizeof dir, "/tmp/corral-ctl-test.XXXXXX");
    if (!mkdtemp(dir)) abort();
    atexit(remove_dir);
}

static int start_server(server_t *s, pthread_t *th) {
    need_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/control.sock", dir);
    unlink(path);
    s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    if (bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s->lfd, 4) != 0) return 0;
    return pthread_create(th, NULL, serve, s) == 0;
}

static void stop_server(server_t *s, pthread_t th) {
    pthread_join(th, NULL);
    close(s->lfd);
}

static corral_status_t one(server_t *s, json_t **res, corral_err_t *err) {
    pthread_t th;
    if (!start_server(s, &th)) return CORRAL_ERR_INTERNAL;
    json_t *req = json_pack("{s:s}", "op", "inventory");
    corral_status_t st = corral_ctl_once(dir, req, res, err);
    json_decref(req);
    stop_server(s, th);
    return st;
}

TEST(reply_ok_and_request_line) {
    server_t s = {0};
    s.replies = "{\"ok\": true, \"result\": {\"host_key\": \"NABC\"}}\n";
    json_t *res = NULL;
    corral_err_t err;
    REQUIRE(one(&s, &res, &err) == CORRAL_OK);
    CHECK_EQ_STR(json_string_value(json_object_get(res, "host_key")), "NABC");
    json_decref(res);
    CHECK_EQ_STR(s.got, "{\"op\":\"inventory\"}\n");
}

TEST(refusal_maps_status) {
    server_t s = {0};
    s.replies = "{\"ok\": false, \"code\": \"ERR_NO_LINK\", \"error\": \"no provider linked for x\"}\n";
    json_t *res = (json_t *)1;
    corral_err_t err;
    CHECK(one(&s, &res, &err) == CORRAL_ERR_NO_LINK);
    CHECK(res == NULL);
    CHECK_EQ_STR(err.msg, "no provider linked for x");
    s.replies = "{\"ok\": false, \"code\": \"ERR_FROM_THE_FUTURE\", \"error\": \"new\"}\n";
    CHECK(one(&s, NULL, &err) == CORRAL_ERR_INTERNAL);
    CHECK_EQ_STR(err.msg, "new");
    CHECK(corral_ctl_status_from_name("CORRAL_ERR_UPDATE_REFUSED") == CORRAL_ERR_UPDATE_REFUSED);
    CHECK_EQ_STR(corral_ctl_status_name(CORRAL_ERR_NO_ACTOR), "ERR_NO_ACTOR");
}

TEST(malformed_replies) {
    server_t s = {0};
    corral_err_t err;
    s.replies = "this is not json\n";
    CHECK(one(&s, NULL, &err) == CORRAL_ERR_PARSE);
    CHECK_CONTAINS(err.msg, "is not a JSON object");
    s.replies = "[1, 2]\n";
    CHECK(one(&s, NULL, &err) == CORRAL_ERR_PARSE);
    s.replies = "{\"result\": {}}\n";
    CHECK(one(&s, NULL, &err) == CORRAL_ERR_PARSE);
    CHECK_CONTAINS(err.msg, "no boolean 'ok'");
    s.replies = "{\"ok\": true}\n"; /* no result: an empty object */
    json_t *res = NULL;
    CHECK(one(&s, &res, &err) == CORRAL_OK);
    CHECK(json_is_object(res) && json_object_size(res) == 0);
    json_decref(res);
    memset(&s, 0, sizeof s);
    s.close_after = 1;
    CHECK(one(&s, NULL, &err) == CORRAL_ERR_CLOSED);
    CHECK_CONTAINS(err.msg, "closed");
}

TEST(two_replies_in_one_read) {
    server_t s = {0};
    s.replies = "{\"ok\": true, \"result\": {\"n\": 1}}\n{\"ok\": true, \"result\": {\"n\": 2}}\n";
    pthread_t th;
    REQUIRE(start_server(&s, &th));
    corral_ctl_t *c = NULL;
    corral_err_t err;
    REQUIRE(corral_ctl_connect(dir, &c, &err) == CORRAL_OK);
    json_t *req = json_pack("{s:s}", "op", "inventory"), *r1 = NULL, *r2 = NULL;
    CHECK(corral_ctl_request(c, req, 5000, &r1, &err) == CORRAL_OK);
    CHECK(corral_ctl_request(c, req, 5000, &r2, &err) == CORRAL_OK);
    CHECK_EQ_INT(json_integer_value(json_object_get(r1, "n")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(r2, "n")), 2);
    json_decref(r1);
    json_decref(r2);
    json_decref(req);
    corral_ctl_close(c);
    stop_server(&s, th);
}

TEST(no_host_and_long_paths) {
    corral_ctl_t *c = (corral_ctl_t *)1;
    corral_err_t err;
    need_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/control.sock", dir);
    unlink(path);
    CHECK(corral_ctl_connect(dir, &c, &err) == CORRAL_ERR_CLOSED);
    CHECK(c == NULL);
    char want[200];
    snprintf(want, sizeof want, "no host is running: cannot connect to %s/control.sock: ", dir);
    CHECK_CONTAINS(err.msg, want);
    char longdir[300];
    memset(longdir, 'x', sizeof longdir - 1);
    longdir[0] = '/';
    longdir[sizeof longdir - 1] = '\0';
    CHECK(corral_ctl_connect(longdir, &c, &err) == CORRAL_ERR_TOO_LARGE);
    CHECK_CONTAINS(err.msg, "use a shorter --run-dir");
    char def[256];
    CHECK(corral_ctl_default_run_dir(def, sizeof def) == CORRAL_OK);
    CHECK(strstr(def, "corral") != NULL);
    CHECK(corral_ctl_default_run_dir(def, 4) == CORRAL_ERR_TOO_LARGE);
}

TEST(call_local_or_remote) {
    need_dir();
    char file[128];
    snprintf(file, sizeof file, "%s/m.wasm", dir);
    FILE *f = fopen(file, "w");
    REQUIRE(f);
    fclose(f);
    char *local[] = {"call", file, "op", NULL};
    CHECK_EQ_INT(corral_cli_call_is_remote(3, local), 0);
    char *remote[] = {"call", "kvcounter", "HealthRequest", NULL};
    CHECK_EQ_INT(corral_cli_call_is_remote(3, remote), 1);
    char *opt_first[] = {"call", "--payload", "kvcounter", file, "op", NULL};
    CHECK_EQ_INT(corral_cli_call_is_remote(5, opt_first), 0);
    char *opt_eq[] = {"call", "--payload=x", "pong", "op", NULL};
    CHECK_EQ_INT(corral_cli_call_is_remote(4, opt_eq), 1);
    char *run_dir[] = {"call", file, "op", "--run-dir", "/tmp/x", NULL};
    CHECK_EQ_INT(corral_cli_call_is_remote(5, run_dir), 1);
    char *missing_path[] = {"call", "/nonexistent/m.wasm", "op", NULL};
    CHECK_EQ_INT(corral_cli_call_is_remote(3, missing_path), 0);
    char *missing_wasm[] = {"call", "nothere.wasm", "op", NULL};
    CHECK_EQ_INT(corral_cli_call_is_remote(3, missing_wasm), 0);
    char *help[] = {"call", "--help", NULL};
    CHECK_EQ_INT(corral_cli_call_is_remote(2, help), 0);
    unlink(file);
}

TEST_MAIN(TEST_ENTRY(reply_ok_and_request_line),
          TEST_ENTRY(refusal_maps_status), TEST_ENTRY(malformed_replies),
          TEST_ENTRY(two_replies_in_one_read), TEST_ENTRY(no_host_and_long_paths),
          TEST_ENTRY(call_local_or_remote))

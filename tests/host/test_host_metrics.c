/*
 * test_host_metrics.c - the host's call metrics (host/metrics.c): per actor
 * and operation counters and latency histograms in the Prometheus text
 * format, the bounded operation table against invented names, concurrent
 * counting, swaps across a live update, and the control op `metrics`.
 * Runs the signed test guest (guests/hostguest.c).
 */
#include <jansson.h>
#include <pthread.h>

#include "host_test_util.h"

typedef struct fixture {
    char dir[64];
    corral_host_t *h;
    corral_buf_t v1, v2;
    test_keys_t k;
} fixture_t;

static int fixture_init(fixture_t *f) {
    memset(f, 0, sizeof *f);
    if (!tmpdir(f->dir)) return 0;
    if (!read_guest("host_guest_v1", &f->v1) || !read_guest("host_guest_v2", &f->v2)) return 0;
    keys_new(&f->k);
    f->h = start_host(f->dir, 0, NULL);
    return f->h != NULL;
}

static void fixture_deinit(fixture_t *f) {
    corral_host_free(f->h);
    corral_buf_free(&f->v1);
    corral_buf_free(&f->v2);
    keys_wipe(&f->k);
    rmtree(f->dir);
}

static int start_signed(fixture_t *f, const corral_buf_t *wasm, const char *name, int64_t rev,
                        const char *alias) {
    corral_buf_t s = CORRAL_BUF_INIT;
    int ok = sign(wasm, &f->k, name, NULL, rev, alias, &s);
    corral_err_t err;
    corral_err_clear(&err);
    if (ok && corral_host_actor_start(f->h, s.data, s.len, NULL, NULL, &err) != CORRAL_OK) {
        fprintf(stderr, "  actor_start: %s\n", corral_err_msg(&err));
        ok = 0;
    }
    corral_buf_free(&s);
    return ok;
}

/* The metrics text, NUL-terminated. */
static int get_metrics(corral_host_t *h, corral_buf_t *out) {
    corral_buf_free(out);
    corral_err_t err;
    corral_err_clear(&err);
    if (corral_host_metrics(h, out, &err) != CORRAL_OK) return 0;
    return corral_buf_terminate(out) == CORRAL_OK;
}

/* The value of the sample whose "name{labels}" part is exactly `series`,
 * or -1 when there is none; -2 when it occurs twice. */
static double sample(const char *text, const char *series) {
    size_t n = strlen(series);
    double v = -1;
    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            if (v != -1) return -2;
            v = strtod(p + n + 1, NULL);
        }
        p = eol ? eol + 1 : NULL;
    }
    return v;
}

/* Sum of every sample of `metric` whose labels contain `actor="key"`. */
static double sum_family(const char *text, const char *metric, const char *key, int *lines) {
    char pre[128], lab[128];
    snprintf(pre, sizeof pre, "%s{", metric);
    snprintf(lab, sizeof lab, "actor=\"%s\"", key);
    double s = 0;
    *lines = 0;
    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (strncmp(p, pre, strlen(pre)) == 0) {
            char line[512];
            snprintf(line, sizeof line, "%.*s", (int)(len < 511 ? len : 511), p);
            char *close = strrchr(line, '}');
            if (close && strstr(line, lab)) {
                s += strtod(close + 2, NULL);
                (*lines)++;
            }
        }
        p = eol ? eol + 1 : NULL;
    }
    return s;
}

static void series(char *out, size_t n, const char *metric, const char *key, const char *name,
                   const char *op, const char *le) {
    if (le)
        snprintf(out, n, "%s{actor=\"%s\",name=\"%s\",operation=\"%s\",le=\"%s\"}", metric, key,
                 name, op, le);
    else if (op)
        snprintf(out, n, "%s{actor=\"%s\",name=\"%s\",operation=\"%s\"}", metric, key, name, op);
    else
        snprintf(out, n, "%s{actor=\"%s\",name=\"%s\"}", metric, key, name);
}

TEST(counts_per_operation) {
    fixture_t f;
    REQUIRE(fixture_init(&f));
    REQUIRE(start_signed(&f, &f.v1, "metered", 1, "metered"));
    const char *k = f.k.module_key;
    corral_buf_t resp = CORRAL_BUF_INIT, m = CORRAL_BUF_INIT;
    corral_err_t err;
    for (int i = 0; i < 7; i++) CHECK_EQ_INT(call_text(f.h, "metered", "echo", "x", &resp, &err), CORRAL_OK);
    CHECK_EQ_INT(call_text(f.h, "metered", "trap", NULL, &resp, &err), CORRAL_ERR_TRAP_UNREACHABLE);
    CHECK(call_text(f.h, "metered", "nosuchop", NULL, &resp, &err) != CORRAL_OK);
    REQUIRE(get_metrics(f.h, &m));
    const char *t = (const char *)m.data;
    char s[512];
    CHECK(strstr(t, "# TYPE corral_actor_calls_total counter\n") != NULL);
    CHECK(strstr(t, "# TYPE corral_actor_call_duration_seconds histogram\n") != NULL);
    series(s, sizeof s, "corral_actor_calls_total", k, "metered", "echo", NULL);
    CHECK(sample(t, s) == 7);
    series(s, sizeof s, "corral_actor_errors_total", k, "metered", "echo", NULL);
    CHECK(sample(t, s) == 0);
    series(s, sizeof s, "corral_actor_calls_total", k, "metered", "trap", NULL);
    CHECK(sample(t, s) == 1);
    series(s, sizeof s, "corral_actor_errors_total", k, "metered", "trap", NULL);
    CHECK(sample(t, s) == 1);
    series(s, sizeof s, "corral_actor_traps_total", k, "metered", "trap", NULL);
    CHECK(sample(t, s) == 1);
    series(s, sizeof s, "corral_actor_errors_total", k, "metered", "nosuchop", NULL);
    CHECK(sample(t, s) == 1);
    series(s, sizeof s, "corral_actor_traps_total", k, "metered", "nosuchop", NULL);
    CHECK(sample(t, s) == 0);
    /* histogram: cumulative buckets ending in +Inf == _count == calls */
    static const char *les[] = {"5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025",
                                "0.005", "0.01",   "0.025",   "0.05",   "0.1",   "0.25",
                                "0.5",   "1",      "2.5",     "5",      "10",    "+Inf"};
    double prev = 0;
    for (size_t i = 0; i < sizeof les / sizeof les[0]; i++) {
        series(s, sizeof s, "corral_actor_call_duration_seconds_bucket", k, "metered", "echo", les[i]);
        double v = sample(t, s);
        CHECK(v >= prev);
        prev = v;
    }
    CHECK(prev == 7);
    series(s, sizeof s, "corral_actor_call_duration_seconds_count", k, "metered", "echo", NULL);
    CHECK(sample(t, s) == 7);
    series(s, sizeof s, "corral_actor_call_duration_seconds_sum", k, "metered", "echo", NULL);
    double sum = sample(t, s);
    CHECK(sum > 0 && sum < 7 * 10.0);
    /* per actor gauges */
    series(s, sizeof s, "corral_actor_swaps_total", k, "metered", NULL, NULL);
    CHECK(sample(t, s) == 0);
    series(s, sizeof s, "corral_actor_revision", k, "metered", NULL, NULL);
    CHECK(sample(t, s) == 1);
    series(s, sizeof s, "corral_actor_instances", k, "metered", NULL, NULL);
    CHECK(sample(t, s) >= 1);
    /* the built-in providers show as up */
    CHECK(strstr(t, "corral_provider_up{provider=\"V") != NULL);
    /* a live update keeps the counters and counts one swap */
    corral_buf_t s2 = CORRAL_BUF_INIT;
    REQUIRE(sign(&f.v2, &f.k, "metered", NULL, 2, "metered", &s2));
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_actor_update(f.h, "metered", s2.data, s2.len, NULL, &err), CORRAL_OK);
    corral_buf_free(&s2);
    CHECK_EQ_INT(call_text(f.h, "metered", "echo", "y", &resp, &err), CORRAL_OK);
    REQUIRE(get_metrics(f.h, &m));
    t = (const char *)m.data;
    series(s, sizeof s, "corral_actor_swaps_total", k, "metered", NULL, NULL);
    CHECK(sample(t, s) == 1);
    series(s, sizeof s, "corral_actor_revision", k, "metered", NULL, NULL);
    CHECK(sample(t, s) == 2);
    series(s, sizeof s, "corral_actor_calls_total", k, "metered", "echo", NULL);
    CHECK(sample(t, s) == 8);
    /* a stopped actor leaves the exposition */
    CHECK_EQ_INT(corral_host_actor_stop(f.h, "metered", NULL, NULL), CORRAL_OK);
    REQUIRE(get_metrics(f.h, &m));
    CHECK(strstr((const char *)m.data, k) == NULL);
    corral_buf_free(&resp);
    corral_buf_free(&m);
    fixture_deinit(&f);
}

TEST(invented_operation_names_are_bounded) {
    fixture_t f;
    REQUIRE(fixture_init(&f));
    REQUIRE(start_signed(&f, &f.v1, "hostile\"na\\me\nx", 1, "hostile"));
    const char *k = f.k.module_key;
    corral_buf_t resp = CORRAL_BUF_INIT, m = CORRAL_BUF_INIT;
    corral_err_t err;
    int total = 0;
    char op[128];
    for (int i = 0; i < 100; i++, total++) {
        snprintf(op, sizeof op, "op%d", i);
        (void)call_text(f.h, "hostile", op, NULL, &resp, &err);
    }
    const char *odd[] = {"a\"b", "x\ny", "sp ace", "{}", "\xff\xfe"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++, total++)
        (void)call_text(f.h, "hostile", odd[i], NULL, &resp, &err);
    memset(op, 'L', 100);
    op[100] = '\0';
    (void)call_text(f.h, "hostile", op, NULL, &resp, &err);
    total++;
    REQUIRE(get_metrics(f.h, &m));
    const char *t = (const char *)m.data;
    int lines = 0;
    CHECK(sum_family(t, "corral_actor_calls_total", k, &lines) == total);
    CHECK(lines == 33); /* 32 named rows and "(other)" */
    CHECK(sum_family(t, "corral_actor_errors_total", k, &lines) == total);
    char s[512];
    /* the hostile name is escaped (quote, backslash, newline) */
    series(s, sizeof s, "corral_actor_calls_total", k, "hostile\\\"na\\\\me\\nx", "(other)", NULL);
    CHECK(sample(t, s) == total - 32);
    /* no line of the exposition starts with anything but a metric or a comment */
    for (const char *p = t; *p;) {
        CHECK(strncmp(p, "corral_", 7) == 0 || strncmp(p, "# ", 2) == 0);
        const char *eol = strchr(p, '\n');
        if (!eol) break;
        p = eol + 1;
    }
    corral_buf_free(&resp);
    corral_buf_free(&m);
    fixture_deinit(&f);
}

typedef struct worker {
    corral_host_t *h;
    int id, n;
    int failed;
} worker_t;

static void *worker_main(void *arg) {
    worker_t *w = arg;
    corral_buf_t resp = CORRAL_BUF_INIT;
    corral_err_t err;
    char op[16];
    for (int i = 0; i < w->n; i++) {
        /* every thread races to name the same ten operations */
        if (i % 2) snprintf(op, sizeof op, "op%d", (i / 2) % 10);
        else snprintf(op, sizeof op, "echo");
        corral_status_t st = call_text(w->h, "busy", op, "p", &resp, &err);
        if ((i % 2 == 0) != (st == CORRAL_OK)) w->failed++;
    }
    corral_buf_free(&resp);
    return NULL;
}

TEST(concurrent_calls_counted_exactly) {
    fixture_t f;
    REQUIRE(fixture_init(&f));
    REQUIRE(start_signed(&f, &f.v1, "busy", 1, "busy"));
    const char *k = f.k.module_key;
    enum { T = 4, N = 1000 };
    worker_t w[T];
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
        w[i] = (worker_t){.h = f.h, .id = i, .n = N};
        REQUIRE(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(w[i].failed, 0);
    }
    corral_buf_t m = CORRAL_BUF_INIT;
    REQUIRE(get_metrics(f.h, &m));
    const char *t = (const char *)m.data;
    char s[512];
    series(s, sizeof s, "corral_actor_calls_total", k, "busy", "echo", NULL);
    CHECK(sample(t, s) == T * N / 2);
    series(s, sizeof s, "corral_actor_call_duration_seconds_count", k, "busy", "echo", NULL);
    CHECK(sample(t, s) == T * N / 2);
    for (int i = 0; i < 10; i++) {
        char op[16];
        snprintf(op, sizeof op, "op%d", i);
        series(s, sizeof s, "corral_actor_calls_total", k, "busy", op, NULL);
        CHECK(sample(t, s) == T * N / 20); /* exactly one row each, none lost */
    }
    int lines;
    CHECK(sum_family(t, "corral_actor_calls_total", k, &lines) == T * N);
    CHECK_EQ_INT(lines, 11);
    corral_buf_free(&m);
    fixture_deinit(&f);
}

TEST(control_op_metrics) {
    fixture_t f;
    REQUIRE(fixture_init(&f));
    REQUIRE(start_signed(&f, &f.v1, "ctlm", 1, "ctlm"));
    corral_buf_t resp = CORRAL_BUF_INIT, line = CORRAL_BUF_INIT;
    corral_err_t err;
    for (int i = 0; i < 3; i++) CHECK_EQ_INT(call_text(f.h, "ctlm", "echo", "z", &resp, &err), CORRAL_OK);
    char run[128];
    snprintf(run, sizeof run, "%s/run", f.dir);
    REQUIRE(corral_host_control_start(f.h, run, NULL) == CORRAL_OK);
    int fd = ctl_connect(corral_host_control_path(f.h));
    REQUIRE(fd >= 0);
    REQUIRE(ctl_roundtrip(fd, "{\"op\":\"metrics\"}", &line));
    json_t *j = json_loads((const char *)line.data, 0, NULL);
    REQUIRE(j != NULL);
    CHECK(json_is_true(json_object_get(j, "ok")));
    const char *text = json_string_value(json_object_get(json_object_get(j, "result"), "text"));
    REQUIRE(text != NULL);
    char s[512];
    series(s, sizeof s, "corral_actor_calls_total", f.k.module_key, "ctlm", "echo", NULL);
    CHECK(sample(text, s) == 3);
    json_decref(j);
    close(fd);
    corral_buf_free(&resp);
    corral_buf_free(&line);
    fixture_deinit(&f);
}

#include <arpa/inet.h>
#include <netinet/in.h>

/* Sends req to 127.0.0.1:port and reads the whole answer (NUL-terminated). */
static int http_roundtrip(uint16_t port, const char *req, size_t n, corral_buf_t *out) {
    corral_buf_free(out);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (fd >= 0) close(fd);
        return 0;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, req + off, n - off);
        if (w <= 0) break; /* the server may answer 431 and close early */
        off += (size_t)w;
    }
    char buf[4096];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0) corral_buf_append(out, buf, (size_t)r);
    close(fd);
    corral_buf_terminate(out);
    return out->len > 0;
}

TEST(http_endpoint) {
    fixture_t f;
    REQUIRE(fixture_init(&f));
    REQUIRE(start_signed(&f, &f.v1, "web", 1, "web"));
    corral_buf_t resp = CORRAL_BUF_INIT, a = CORRAL_BUF_INIT;
    corral_err_t err;
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(call_text(f.h, "web", "echo", "z", &resp, &err), CORRAL_OK);
    corral_host_metrics_http_t *srv = NULL;
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_metrics_http_start(f.h, "not-an-ip", 0, &srv, &err),
                 CORRAL_ERR_INVALID_ARG);
    REQUIRE(corral_host_metrics_http_start(f.h, NULL, 0, &srv, &err) == CORRAL_OK);
    uint16_t port = corral_host_metrics_http_port(srv);
    CHECK(port != 0);
    static const char get[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(http_roundtrip(port, get, sizeof get - 1, &a));
    const char *t = (const char *)a.data;
    CHECK(strncmp(t, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(t, "Content-Type: text/plain; version=0.0.4") != NULL);
    const char *body = strstr(t, "\r\n\r\n");
    REQUIRE(body != NULL);
    char s[512];
    series(s, sizeof s, "corral_actor_calls_total", f.k.module_key, "web", "echo", NULL);
    CHECK(sample(body + 4, s) == 4);
    /* the Content-Length is the body's */
    const char *cl = strstr(t, "Content-Length: ");
    REQUIRE(cl != NULL);
    CHECK_EQ_INT(strtoul(cl + 16, NULL, 10), strlen(body + 4));
    static const char nf[] = "GET /other HTTP/1.1\r\n\r\n";
    REQUIRE(http_roundtrip(port, nf, sizeof nf - 1, &a));
    CHECK(strncmp((const char *)a.data, "HTTP/1.1 404 ", 13) == 0);
    static const char post[] = "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
    REQUIRE(http_roundtrip(port, post, sizeof post - 1, &a));
    CHECK(strncmp((const char *)a.data, "HTTP/1.1 405 ", 13) == 0);
    static const char bad[] = "hello\r\n\r\n";
    REQUIRE(http_roundtrip(port, bad, sizeof bad - 1, &a));
    CHECK(strncmp((const char *)a.data, "HTTP/1.1 400 ", 13) == 0);
    char *big = malloc(20000);
    REQUIRE(big != NULL);
    memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
    memset(big + 26, 'a', 20000 - 26);
    REQUIRE(http_roundtrip(port, big, 20000, &a));
    CHECK(strncmp((const char *)a.data, "HTTP/1.1 431 ", 13) == 0);
    free(big);
    /* still serving after all that */
    REQUIRE(http_roundtrip(port, get, sizeof get - 1, &a));
    CHECK(strncmp((const char *)a.data, "HTTP/1.1 200 OK\r\n", 17) == 0);
    corral_host_metrics_http_stop(srv);
    corral_host_metrics_http_stop(NULL);
    corral_buf_free(&resp);
    corral_buf_free(&a);
    fixture_deinit(&f);
}

TEST(traceparent_parse) {
    uint8_t tid[16], pid[8], fl = 0;
    const char *ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    CHECK_EQ_INT(corral_host_traceparent_parse(ok, strlen(ok), tid, pid, &fl), 1);
    CHECK(tid[0] == 0x4b && tid[15] == 0x36 && pid[0] == 0x00 && pid[7] == 0xb7 && fl == 1);
    const char *bad[] = {
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", /* uppercase */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", /* zero trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", /* zero parent id */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* version ff */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", /* 00 with extra */
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  /* short */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* separator */
        "", "garbage"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(corral_host_traceparent_parse(bad[i], strlen(bad[i]), NULL, NULL, NULL), 0);
    const char *later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future";
    CHECK_EQ_INT(corral_host_traceparent_parse(later, strlen(later), NULL, NULL, NULL), 1);
    char out[CORRAL_HOST_TRACEPARENT_LEN + 1];
    CHECK_EQ_INT(corral_host_traceparent(out), 0); /* not inside a call */
    CHECK_EQ_STR(out, "");
}

/* Collects the traceparents of the host's debug call lines. */
typedef struct tp_log {
    pthread_mutex_t mu;
    char tp[8][CORRAL_HOST_TRACEPARENT_LEN + 1];
    char op[8][32];
    int n;
} tp_log_t;

static void tp_sink(corral_log_level_t level, const char *component, const char *msg, void *user) {
    tp_log_t *l = user;
    const char *t = strstr(msg, "traceparent=");
    const char *o = strstr(msg, "operation ");
    if (level != CORRAL_LOG_DEBUG || !t || !o) return;
    pthread_mutex_lock(&l->mu);
    if (l->n < 8) {
        snprintf(l->tp[l->n], sizeof l->tp[0], "%.55s", t + 12);
        snprintf(l->op[l->n], sizeof l->op[0], "%.*s", (int)strcspn(o + 10, ":"), o + 10);
        l->n++;
    }
    pthread_mutex_unlock(&l->mu);
}

TEST(traceparent_in_call_logs) {
    fixture_t f;
    REQUIRE(fixture_init(&f));
    REQUIRE(start_signed(&f, &f.v1, "alpha", 1, "alpha"));
    test_keys_t kb;
    keys_new(&kb);
    corral_buf_t sb = CORRAL_BUF_INIT;
    REQUIRE(sign(&f.v2, &kb, "beta", NULL, 1, "beta", &sb));
    REQUIRE(corral_host_actor_start(f.h, sb.data, sb.len, NULL, NULL, NULL) == CORRAL_OK);
    corral_buf_free(&sb);
    static tp_log_t l = {.mu = PTHREAD_MUTEX_INITIALIZER};
    l.n = 0;
    corral_log_set_sink(tp_sink, &l);
    corral_log_set_level(CORRAL_LOG_DEBUG);
    corral_buf_t resp = CORRAL_BUF_INIT, p = CORRAL_BUF_INIT;
    corral_err_t err;
    CHECK_EQ_INT(call_text(f.h, "alpha", "echo", "a", &resp, &err), CORRAL_OK);
    CHECK_EQ_INT(call_text(f.h, "alpha", "echo", "b", &resp, &err), CORRAL_OK);
    /* alpha calls beta from inside its call: one trace, two spans */
    hostcall_payload(&p, "", "beta", "echo", "x", 1);
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_call(f.h, "alpha", "hostcall", p.data, p.len, &resp, &err), CORRAL_OK);
    corral_log_set_level(CORRAL_LOG_WARN);
    corral_log_set_sink(NULL, NULL);
    REQUIRE(l.n == 4);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(corral_host_traceparent_parse(l.tp[i], strlen(l.tp[i]), NULL, NULL, NULL), 1);
    /* two top-level calls: two traces */
    CHECK(memcmp(l.tp[0] + 3, l.tp[1] + 3, 32) != 0);
    /* the inner call (beta's echo) logs first, then alpha's hostcall */
    CHECK_EQ_STR(l.op[2], "echo");
    CHECK_EQ_STR(l.op[3], "hostcall");
    CHECK(memcmp(l.tp[2] + 3, l.tp[3] + 3, 32) == 0);  /* same trace id */
    CHECK(memcmp(l.tp[2] + 36, l.tp[3] + 36, 16) != 0); /* its own span */
    corral_buf_free(&p);
    corral_buf_free(&resp);
    keys_wipe(&kb);
    fixture_deinit(&f);
}

/* Collects CloudEvents lines. */
typedef struct ev_log {
    pthread_mutex_t mu;
    json_t *events; /* array */
} ev_log_t;

static void ev_sink(void *user, const char *line) {
    ev_log_t *l = user;
    json_t *j = json_loads(line, 0, NULL);
    pthread_mutex_lock(&l->mu);
    json_array_append_new(l->events, j ? j : json_string("unparsable"));
    pthread_mutex_unlock(&l->mu);
}

/* The index of the first event of type t (without the prefix) whose data[k]
 * is v, from index from on; -1 when none. Also checks the envelope. */
static int find_event(json_t *evs, size_t from, const char *t, const char *k, const char *v) {
    char full[96];
    snprintf(full, sizeof full, "com.wasmcloud.lattice.%s", t);
    for (size_t i = from; i < json_array_size(evs); i++) {
        json_t *e = json_array_get(evs, i);
        const char *ty = json_string_value(json_object_get(e, "type"));
        json_t *d = json_object_get(e, "data");
        const char *dv = json_string_value(json_object_get(d, k));
        if (!ty || strcmp(ty, full) != 0 || !dv || strcmp(dv, v) != 0) continue;
        if (strcmp(json_string_value(json_object_get(e, "specversion")), "1.0") != 0) return -2;
        const char *id = json_string_value(json_object_get(e, "id"));
        const char *src = json_string_value(json_object_get(e, "source"));
        const char *tm = json_string_value(json_object_get(e, "time"));
        if (!id || strlen(id) != 32 || !src || strncmp(src, "corral://host/N", 15) != 0 || !tm ||
            strlen(tm) != 24 || tm[10] != 'T' || tm[23] != 'Z')
            return -2;
        return (int)i;
    }
    return -1;
}

TEST(lifecycle_cloudevents) {
    fixture_t f;
    memset(&f, 0, sizeof f);
    REQUIRE(tmpdir(f.dir));
    REQUIRE(read_guest("host_guest_v1", &f.v1) && read_guest("host_guest_v2", &f.v2));
    keys_new(&f.k);
    static ev_log_t l = {.mu = PTHREAD_MUTEX_INITIALIZER};
    l.events = json_array();
    char data[128];
    snprintf(data, sizeof data, "%s/data", f.dir);
    corral_host_config_t cfg = {0};
    cfg.data_dir = data;
    cfg.health_interval_ms = CORRAL_HOST_HEALTH_OFF;
    REQUIRE(corral_host_new(&cfg, &f.h, NULL) == CORRAL_OK);
    corral_host_set_event_sink(f.h, ev_sink, &l);
    REQUIRE(corral_host_start(f.h, NULL) == CORRAL_OK);
    /* the host's built-in providers */
    CHECK(find_event(l.events, 0, "provider_started", "contract_id", "wasmcloud:logging") >= 0);
    REQUIRE(start_signed(&f, &f.v1, "evt", 1, "evt"));
    const char *k = f.k.module_key;
    CHECK(find_event(l.events, 0, "actor_started", "public_key", k) >= 0);
    corral_host_provider_opts_t po = {.kind = "keyvalue:memory"};
    corral_host_provider_info_t pi;
    REQUIRE(corral_host_provider_start(f.h, &po, &pi, NULL) == CORRAL_OK);
    int ps = find_event(l.events, 0, "provider_started", "public_key", pi.key);
    CHECK(ps >= 0);
    CHECK_EQ_INT(corral_host_link_put(f.h, "evt", "wasmcloud:keyvalue", NULL, NULL, 0, NULL),
                 CORRAL_OK);
    int ls = find_event(l.events, 0, "linkdef_set", "actor_id", k);
    CHECK(ls >= 0);
    CHECK_EQ_STR(json_string_value(json_object_get(
                     json_object_get(json_array_get(l.events, ls >= 0 ? ls : 0), "data"),
                     "contract_id")),
                 "wasmcloud:keyvalue");
    corral_buf_t s2 = CORRAL_BUF_INIT;
    REQUIRE(sign(&f.v2, &f.k, "evt", NULL, 2, "evt", &s2));
    CHECK_EQ_INT(corral_host_actor_update(f.h, "evt", s2.data, s2.len, NULL, NULL), CORRAL_OK);
    corral_buf_free(&s2);
    CHECK(find_event(l.events, 0, "actor_updated", "public_key", k) >= 0);
    CHECK_EQ_INT(corral_host_link_del(f.h, "evt", "wasmcloud:keyvalue", NULL, NULL), CORRAL_OK);
    CHECK(find_event(l.events, 0, "linkdef_deleted", "actor_id", k) > ls);
    CHECK_EQ_INT(corral_host_provider_stop(f.h, pi.key, NULL), CORRAL_OK);
    CHECK(find_event(l.events, 0, "provider_stopped", "public_key", pi.key) > ps);
    CHECK_EQ_INT(corral_host_actor_stop(f.h, "evt", NULL, NULL), CORRAL_OK);
    CHECK(find_event(l.events, 0, "actor_stopped", "public_key", k) >= 0);
    /* a refused change emits nothing */
    size_t n = json_array_size(l.events);
    CHECK(corral_host_actor_stop(f.h, "evt", NULL, NULL) != CORRAL_OK);
    CHECK_EQ_INT(json_array_size(l.events), n);
    fixture_deinit(&f);
    json_decref(l.events);
}

TEST_MAIN(TEST_ENTRY(counts_per_operation), TEST_ENTRY(invented_operation_names_are_bounded),
          TEST_ENTRY(concurrent_calls_counted_exactly), TEST_ENTRY(control_op_metrics),
          TEST_ENTRY(http_endpoint), TEST_ENTRY(traceparent_parse),
          TEST_ENTRY(traceparent_in_call_logs), TEST_ENTRY(lifecycle_cloudevents))

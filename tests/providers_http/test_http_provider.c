/*
 * test_http_provider.c - the httpserver provider end to end over loopback
 * sockets, with the fake host of http_fake_host.h standing in for the engine:
 * the HandleRequest map the actor receives, the answers for every outcome
 * (200, 500 malformed / guest error, 503, 413, 504), BIND and PORT, unlink
 * while requests are in flight, late replies after a client hang-up, many
 * concurrent clients, hostile requests, link value errors, and loading the
 * provider as a shared object.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "corral_provider_http.h"
#include "http_fake_host.h"
#include "test.h"

#define ACTOR "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"

/* ---- a small HTTP/1.1 client ------------------------------------------------------ */

typedef struct resp {
    int status;     /* 0 when no status line arrived */
    int sys_errno;  /* connect/recv error, 0 if none */
    char head[8192];/* header block, names as sent */
    char body[65536];
    size_t body_len;
} resp_t;

static void msleep(unsigned ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int connect_to(const char *ip, uint16_t port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int send_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k <= 0) return -1;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Finds a header value (case-insensitive name) in r->head; copies it out. */
static const char *hdr(const resp_t *r, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name);
    const char *p = strstr(r->head, "\r\n");
    while (p && p[2]) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ') v++;
            const char *e = strstr(v, "\r\n");
            size_t n = e ? (size_t)(e - v) : strlen(v);
            if (n >= cap) n = cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return out;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

/* Reads one response from fd into r (head + Content-Length body). */
static void read_resp(int fd, resp_t *r) {
    static __thread char raw[sizeof r->head + sizeof r->body];
    size_t have = 0;
    char *end = NULL;
    for (;;) {
        if (have == sizeof raw) break;
        ssize_t k = recv(fd, raw + have, sizeof raw - have - 1, 0);
        if (k < 0) {
            r->sys_errno = errno;
            break;
        }
        if (k == 0) break;
        have += (size_t)k;
        raw[have] = '\0';
        if (!end) end = strstr(raw, "\r\n\r\n");
        if (end) {
            size_t hl = (size_t)(end - raw) + 4;
            const char *cl = NULL;
            char tmp[32];
            if (hl >= sizeof r->head) break;
            memcpy(r->head, raw, hl);
            r->head[hl] = '\0';
            cl = hdr(r, "Content-Length", tmp, sizeof tmp);
            if (cl && have - hl >= (size_t)atol(cl)) break;
        }
    }
    raw[have] = '\0';
    end = strstr(raw, "\r\n\r\n");
    if (!end) return;
    size_t hl = (size_t)(end - raw) + 4;
    if (hl >= sizeof r->head) return;
    memcpy(r->head, raw, hl);
    r->head[hl] = '\0';
    sscanf(raw, "HTTP/1.%*d %d", &r->status);
    r->body_len = have - hl < sizeof r->body ? have - hl : sizeof r->body - 1;
    memcpy(r->body, raw + hl, r->body_len);
    r->body[r->body_len] = '\0';
}

/* Sends a raw request on a new connection and reads the answer. */
static void http_raw(const char *ip, uint16_t port, const char *req, size_t len, resp_t *r) {
    memset(r, 0, sizeof *r);
    int fd = connect_to(ip, port);
    if (fd < 0) {
        r->sys_errno = -fd;
        return;
    }
    if (send_all(fd, req, len) < 0) r->sys_errno = errno;
    read_resp(fd, r);
    close(fd);
}

#define RAW(ip, port, lit, r) http_raw(ip, port, lit, strlen(lit), r)

static void http_get(uint16_t port, const char *target, resp_t *r) {
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                     target);
    http_raw("127.0.0.1", port, req, (size_t)n, r);
}

static void http_post(uint16_t port, const char *target, const void *body, size_t len,
                      resp_t *r) {
    static __thread char req[300000];
    int n = snprintf(req, sizeof req,
                     "POST %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n",
                     target, len);
    memcpy(req + n, body, len);
    http_raw("127.0.0.1", port, req, (size_t)n + len, r);
}

static uint16_t free_port(void) {
    struct sockaddr_in a;
    socklen_t sl = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &sl) < 0) {
        if (fd >= 0) close(fd);
        return 0;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* ---- fixture ----------------------------------------------------------------------------- */

typedef struct fx {
    fake_host_t fake;
    const corral_provider_t *p;
    void *inst;
    uint16_t port;
    char port_s[8];
} fx_t;

static int fx_start(fx_t *f, int threads) {
    memset(f, 0, sizeof *f);
    if (fake_host_start(&f->fake, threads)) return -1;
    f->p = corral_provider_http();
    corral_err_t e;
    if (f->p->create(NULL, 0, &f->fake.host, &f->inst, &e) != CORRAL_OK) {
        fprintf(stderr, "  create: %s\n", e.msg);
        return -1;
    }
    f->port = free_port();
    snprintf(f->port_s, sizeof f->port_s, "%u", f->port);
    return f->port ? 0 : -1;
}

/* Links ACTOR/default with PORT plus extra key/value pairs (NULL-terminated). */
static corral_status_t fx_link(fx_t *f, corral_err_t *e, ...) {
    corral_provider_kv_t kv[16];
    size_t n = 0;
    va_list ap;
    kv[n++] = (corral_provider_kv_t){"PORT", f->port_s};
    kv[n++] = (corral_provider_kv_t){"__wasmcloud_name", "test actor"};
    va_start(ap, e);
    for (const char *k; n < 16 && (k = va_arg(ap, const char *));) {
        kv[n].key = k;
        kv[n].value = va_arg(ap, const char *);
        n++;
    }
    va_end(ap);
    return f->p->link(f->inst, ACTOR, "default", kv, n, e);
}

static void fx_stop(fx_t *f) {
    f->p->destroy(f->inst);
    fake_host_stop(&f->fake);
}

/* Waits (up to 10 s) until the fake host has answered n calls. */
static int wait_answered(fake_host_t *f, long n) {
    for (int i = 0; i < 1000; i++) {
        if (fake_host_answered(f) >= n) return 1;
        msleep(10);
    }
    return 0;
}

/* ---- tests --------------------------------------------------------------------------------- */

TEST(describe_and_table) {
    const corral_provider_t *p = corral_provider_http();
    corral_provider_info_t info;
    REQUIRE(p);
    CHECK_EQ_INT(p->abi_version, CORRAL_PROVIDER_ABI_VERSION);
    CHECK_EQ_INT(p->struct_size, sizeof(corral_provider_t));
    CHECK(p->create && p->destroy && p->link && p->unlink && p->call);
    p->describe(&info);
    CHECK_EQ_STR(info.contract_id, "wasmcloud:httpserver");
    CHECK_EQ_STR(info.name, "httpserver");
    REQUIRE(info.contract_aliases);
    CHECK_EQ_STR(info.contract_aliases[0], "wascc:http_server");
    CHECK(info.contract_aliases[1] == NULL);
    CHECK(info.version && info.description);
}

TEST(request_map_received) {
    fx_t f;
    corral_err_t e;
    resp_t r;
    REQUIRE(fx_start(&f, 1) == 0);
    REQUIRE(fx_link(&f, &e, NULL) == CORRAL_OK);
    const char req[] = "POST /a/b%20c?x=1&y=%20 HTTP/1.1\r\nHost: t\r\nX-Multi: a\r\n"
                       "x-multi: b\r\nX-Single: Value Z\r\nConnection: close\r\n"
                       "Content-Length: 5\r\n\r\nh\0llo";
    http_raw("127.0.0.1", f.port, req, sizeof req - 1, &r);
    CHECK_EQ_INT(r.status, 200);
    pthread_mutex_lock(&f.fake.mu);
    CHECK_EQ_STR(f.fake.last_op, "HandleRequest");
    CHECK_EQ_STR(f.fake.last_actor, ACTOR);
    CHECK_EQ_STR(f.fake.last_link, "default");
    CHECK_EQ_INT(f.fake.last_timeout_ms, 2000);
    msgpack_unpacked up;
    size_t off = 0;
    msgpack_unpacked_init(&up);
    int ok = msgpack_unpack_next(&up, (const char *)f.fake.last_payload, f.fake.last_len, &off) ==
             MSGPACK_UNPACK_SUCCESS;
    pthread_mutex_unlock(&f.fake.mu);
    CHECK(ok);
    if (ok) {
        const msgpack_object *m = &up.data;
        REQUIRE(m->type == MSGPACK_OBJECT_MAP);
        CHECK_EQ_INT(m->via.map.size, 5);
        int seen = 0;
        for (uint32_t i = 0; i < m->via.map.size; i++) {
            const msgpack_object_kv *kv = &m->via.map.ptr[i];
            char key[32] = {0};
            REQUIRE(kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size < sizeof key);
            memcpy(key, kv->key.via.str.ptr, kv->key.via.str.size);
            char val[256] = {0};
            if (kv->val.type == MSGPACK_OBJECT_STR && kv->val.via.str.size < sizeof val)
                memcpy(val, kv->val.via.str.ptr, kv->val.via.str.size);
            if (!strcmp(key, "method")) {
                CHECK_EQ_STR(val, "POST");
                seen |= 1;
            } else if (!strcmp(key, "path")) {
                CHECK_EQ_STR(val, "/a/b%20c");
                seen |= 2;
            } else if (!strcmp(key, "queryString")) {
                CHECK_EQ_STR(val, "x=1&y=%20");
                seen |= 4;
            } else if (!strcmp(key, "header")) {
                REQUIRE(kv->val.type == MSGPACK_OBJECT_MAP);
                int hs = 0;
                for (uint32_t j = 0; j < kv->val.via.map.size; j++) {
                    const msgpack_object_kv *h = &kv->val.via.map.ptr[j];
                    char hn[64] = {0}, hv[128] = {0};
                    REQUIRE(h->key.type == MSGPACK_OBJECT_STR && h->val.type == MSGPACK_OBJECT_STR);
                    REQUIRE(h->key.via.str.size < sizeof hn && h->val.via.str.size < sizeof hv);
                    memcpy(hn, h->key.via.str.ptr, h->key.via.str.size);
                    memcpy(hv, h->val.via.str.ptr, h->val.via.str.size);
                    for (char *c = hn; *c; c++) CHECK(!(*c >= 'A' && *c <= 'Z'));
                    if (!strcmp(hn, "x-multi")) {
                        CHECK_EQ_STR(hv, "a, b");
                        hs |= 1;
                    } else if (!strcmp(hn, "x-single")) {
                        CHECK_EQ_STR(hv, "Value Z");
                        hs |= 2;
                    } else if (!strcmp(hn, "host")) {
                        CHECK_EQ_STR(hv, "t");
                        hs |= 4;
                    } else if (!strcmp(hn, "content-length")) {
                        CHECK_EQ_STR(hv, "5");
                        hs |= 8;
                    }
                }
                CHECK_EQ_INT(hs, 15);
                CHECK_EQ_INT(kv->val.via.map.size, 5); /* + connection */
                seen |= 8;
            } else if (!strcmp(key, "body")) {
                REQUIRE(kv->val.type == MSGPACK_OBJECT_BIN);
                CHECK_EQ_INT(kv->val.via.bin.size, 5);
                CHECK(memcmp(kv->val.via.bin.ptr, "h\0llo", 5) == 0);
                seen |= 16;
            }
        }
        CHECK_EQ_INT(seen, 31);
    }
    msgpack_unpacked_destroy(&up);

    /* No query, no body: keys still present, queryString "". */
    http_get(f.port, "/only", &r);
    CHECK_EQ_INT(r.status, 200);
    char v[256];
    CHECK_EQ_STR(hdr(&r, "x-path", v, sizeof v), "/only");
    /* queryString is present and empty (0xa0): look for it in the raw map. An
     * empty header value cannot be sent by libmicrohttpd, so the echoed
     * x-query header is dropped (and logged at debug). */
    pthread_mutex_lock(&f.fake.mu);
    CHECK(memmem(f.fake.last_payload, f.fake.last_len, "\xabqueryString\xa0", 13) != NULL);
    CHECK(memmem(f.fake.last_payload, f.fake.last_len, "\xa4" "body" "\xc4\x00", 7) != NULL);
    pthread_mutex_unlock(&f.fake.mu);
    CHECK(hdr(&r, "x-query", v, sizeof v) == NULL);
    CHECK_EQ_STR(hdr(&r, "x-method", v, sizeof v), "GET");
    fx_stop(&f);
}

TEST(response_passed_back) {
    fx_t f;
    corral_err_t e;
    resp_t r;
    char v[256];
    REQUIRE(fx_start(&f, 1) == 0);
    REQUIRE(fx_link(&f, &e, NULL) == CORRAL_OK);
    http_post(f.port, "/echo?q=1", "payload", 7, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(r.body_len, 12);
    CHECK_EQ_STR(r.body, "echo:payload");
    CHECK_EQ_STR(hdr(&r, "content-type", v, sizeof v), "application/octet-stream");
    CHECK_EQ_STR(hdr(&r, "x-query", v, sizeof v), "q=1");
    CHECK_EQ_STR(hdr(&r, "x-method", v, sizeof v), "POST");
    /* The actor picks the status code. */
    const char req[] = "GET / HTTP/1.1\r\nHost: t\r\nX-Status: 418\r\nConnection: close\r\n\r\n";
    http_raw("127.0.0.1", f.port, req, sizeof req - 1, &r);
    CHECK_EQ_INT(r.status, 418);
    CHECK_EQ_STR(r.body, "echo:");
    /* HEAD gets the headers without a body. */
    const char head[] = "HEAD /h HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    http_raw("127.0.0.1", f.port, head, sizeof head - 1, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(r.body_len, 0);
    /* Keep-alive: two requests on one connection. */
    {
        int fd = connect_to("127.0.0.1", f.port);
        REQUIRE(fd >= 0);
        for (int i = 0; i < 2; i++) {
            const char ka[] = "GET /ka HTTP/1.1\r\nHost: t\r\n\r\n";
            CHECK(send_all(fd, ka, sizeof ka - 1) == 0);
            memset(&r, 0, sizeof r);
            read_resp(fd, &r);
            CHECK_EQ_INT(r.status, 200);
            CHECK_EQ_STR(hdr(&r, "x-path", v, sizeof v), "/ka");
        }
        close(fd);
    }
    fx_stop(&f);
}

TEST(error_answers) {
    fx_t f;
    corral_err_t e;
    resp_t r;
    char v[64];
    REQUIRE(fx_start(&f, 1) == 0);
    REQUIRE(fx_link(&f, &e, NULL) == CORRAL_OK);

    f.fake.mode = FAKE_GARBAGE;
    http_get(f.port, "/", &r);
    CHECK_EQ_INT(r.status, 500);
    CHECK_EQ_STR(r.body, "malformed response from actor\n");

    /* A response with a header-injection attempt is malformed too. */
    static const uint8_t inj[] = {0x82, 0xaa, 's', 't', 'a', 't', 'u', 's', 'C', 'o', 'd', 'e',
                                  0xcc, 200, 0xa6, 'h', 'e', 'a', 'd', 'e', 'r', 0x81, 0xa1, 'x',
                                  0xa4, 'a', '\r', '\n', 'b'};
    f.fake.mode = FAKE_FIXED;
    f.fake.fixed_resp = inj;
    f.fake.fixed_len = sizeof inj;
    http_get(f.port, "/", &r);
    CHECK_EQ_INT(r.status, 500);
    CHECK_EQ_STR(r.body, "malformed response from actor\n");

    f.fake.mode = FAKE_GUEST_ERROR;
    http_get(f.port, "/", &r);
    CHECK_EQ_INT(r.status, 500);
    CHECK(r.body_len > 0 && r.body_len < 100);
    CHECK(strstr(r.body, "secret") == NULL && strstr(r.body, "deadbeef") == NULL);
    CHECK(strstr(r.head, "secret") == NULL);

    f.fake.mode = FAKE_TRAP;
    http_get(f.port, "/", &r);
    CHECK_EQ_INT(r.status, 500);
    CHECK(strstr(r.body, "secret") == NULL);

    f.fake.mode = FAKE_LATE_TIMEOUT;
    http_get(f.port, "/", &r);
    CHECK_EQ_INT(r.status, 504);
    CHECK(strstr(r.body, "secret") == NULL);

    f.fake.mode = FAKE_FAIL_NOW;
    f.fake.fail_status = CORRAL_ERR_NO_ACTOR;
    http_get(f.port, "/", &r);
    CHECK_EQ_INT(r.status, 503);
    CHECK_EQ_STR(hdr(&r, "retry-after", v, sizeof v), "1");
    CHECK(strstr(r.body, "secret") == NULL);
    f.fake.fail_status = CORRAL_ERR_NO_LINK;
    http_get(f.port, "/", &r);
    CHECK_EQ_INT(r.status, 503);
    CHECK(hdr(&r, "retry-after", v, sizeof v) != NULL);
    f.fake.fail_status = CORRAL_ERR_BUSY;
    http_get(f.port, "/", &r);
    CHECK_EQ_INT(r.status, 503);

    f.fake.mode = FAKE_ECHO;
    http_get(f.port, "/again", &r);
    CHECK_EQ_INT(r.status, 200);
    fx_stop(&f);
}

TEST(body_limit) {
    fx_t f;
    corral_err_t e;
    resp_t r;
    REQUIRE(fx_start(&f, 1) == 0);
    REQUIRE(fx_link(&f, &e, "MAX_BODY_BYTES", "16", NULL) == CORRAL_OK);
    http_post(f.port, "/", "0123456789abcdef", 16, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(r.body, "echo:0123456789abcdef");
    long calls = f.fake.calls;
    http_post(f.port, "/", "0123456789abcdefg", 17, &r);
    CHECK_EQ_INT(r.status, 413);
    /* Chunked, too large. */
    const char ch[] = "POST / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n"
                      "5\r\nxyzzy\r\n0\r\n\r\n";
    http_raw("127.0.0.1", f.port, ch, sizeof ch - 1, &r);
    CHECK_EQ_INT(r.status, 413);
    /* Announced as huge, with Expect: refused before the body is sent. */
    const char big[] = "POST / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                       "Content-Length: 10000000000\r\nExpect: 100-continue\r\n\r\n";
    http_raw("127.0.0.1", f.port, big, sizeof big - 1, &r);
    CHECK_EQ_INT(r.status, 413);
    /* An endless chunked body is cut off: the connection is closed. */
    {
        int fd = connect_to("127.0.0.1", f.port);
        REQUIRE(fd >= 0);
        const char h[] = "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
        static char chunk[65536 + 16];
        int hl = snprintf(chunk, sizeof chunk, "10000\r\n");
        memset(chunk + hl, 'z', 65536);
        memcpy(chunk + hl + 65536, "\r\n", 2);
        int sent_ok = send_all(fd, h, sizeof h - 1) == 0, closed = 0;
        for (int i = 0; i < 64 && sent_ok; i++)
            if (send_all(fd, chunk, (size_t)hl + 65536 + 2) < 0) closed = 1;
        if (!closed) {
            char tmp[256];
            ssize_t k = recv(fd, tmp, sizeof tmp, 0);
            closed = k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
        }
        CHECK(closed);
        close(fd);
    }
    pthread_mutex_lock(&f.fake.mu);
    CHECK_EQ_INT(f.fake.calls, calls); /* the actor never saw them */
    pthread_mutex_unlock(&f.fake.mu);
    /* Expect: 100-continue within the limit: 100, then the body, then 200. */
    {
        int fd = connect_to("127.0.0.1", f.port);
        REQUIRE(fd >= 0);
        const char h[] = "POST /cont HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                         "Content-Length: 3\r\nExpect: 100-continue\r\n\r\n";
        CHECK(send_all(fd, h, sizeof h - 1) == 0);
        char first[64] = {0};
        ssize_t k = recv(fd, first, sizeof first - 1, 0);
        CHECK(k > 0 && strncmp(first, "HTTP/1.1 100", 12) == 0);
        CHECK(send_all(fd, "abc", 3) == 0);
        memset(&r, 0, sizeof r);
        read_resp(fd, &r);
        close(fd);
        CHECK_EQ_INT(r.status, 200);
        CHECK_EQ_STR(r.body, "echo:abc");
    }
    /* Relinking with the same address changes the limit in place. */
    REQUIRE(fx_link(&f, &e, "MAX_BODY_BYTES", "32", NULL) == CORRAL_OK);
    http_post(f.port, "/", "0123456789abcdefg", 17, &r);
    CHECK_EQ_INT(r.status, 200);
    fx_stop(&f);
}

TEST(timeout_and_late_reply) {
    fx_t f;
    corral_err_t e;
    resp_t r;
    REQUIRE(fx_start(&f, 1) == 0);
    REQUIRE(fx_link(&f, &e, "TIMEOUT_MS", "200", NULL) == CORRAL_OK);
    f.fake.delay_ms = 1500;
    uint64_t t0 = corral_now_ns();
    http_get(f.port, "/slow", &r);
    uint64_t ms = (corral_now_ns() - t0) / 1000000u;
    CHECK_EQ_INT(r.status, 504);
    CHECK(ms >= 150 && ms < 1400);
    CHECK_EQ_INT(f.fake.last_timeout_ms, 200);
    /* The late reply arrives after the client is gone; then all is normal. */
    CHECK(wait_answered(&f.fake, 1));
    f.fake.delay_ms = 0;
    http_get(f.port, "/fast", &r);
    CHECK_EQ_INT(r.status, 200);
    fx_stop(&f);
}

TEST(client_hangs_up_before_reply) {
    fx_t f;
    corral_err_t e;
    resp_t r;
    REQUIRE(fx_start(&f, 1) == 0);
    REQUIRE(fx_link(&f, &e, NULL) == CORRAL_OK);
    f.fake.delay_ms = 150;
    for (int i = 0; i < 5; i++) {
        int fd = connect_to("127.0.0.1", f.port);
        REQUIRE(fd >= 0);
        const char req[] = "GET /gone HTTP/1.1\r\nHost: t\r\n\r\n";
        CHECK(send_all(fd, req, sizeof req - 1) == 0);
        msleep(20);
        close(fd);
    }
    CHECK(wait_answered(&f.fake, 5));
    f.fake.delay_ms = 0;
    http_get(f.port, "/still", &r);
    CHECK_EQ_INT(r.status, 200);
    /* And a hang-up with a reply still owed when the provider is destroyed. */
    f.fake.delay_ms = 300;
    int fd = connect_to("127.0.0.1", f.port);
    REQUIRE(fd >= 0);
    const char req[] = "GET /owed HTTP/1.1\r\nHost: t\r\n\r\n";
    CHECK(send_all(fd, req, sizeof req - 1) == 0);
    msleep(30);
    close(fd);
    fx_stop(&f); /* destroy waits for the owed reply */
    CHECK_EQ_INT(f.fake.answered, 7);
}

typedef struct bg {
    uint16_t port;
    resp_t r;
} bg_t;

/* Waits (up to 5 s) until the fake host has received n calls. */
static int wait_calls(fake_host_t *f, long n) {
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&f->mu);
        long c = f->calls;
        pthread_mutex_unlock(&f->mu);
        if (c >= n) return 1;
        msleep(10);
    }
    return 0;
}

static void *bg_get(void *arg) {
    bg_t *b = arg;
    http_get(b->port, "/inflight", &b->r);
    return NULL;
}

TEST(unlink_with_requests_in_flight) {
    fx_t f;
    corral_err_t e;
    resp_t r;
    REQUIRE(fx_start(&f, 1) == 0);
    REQUIRE(fx_link(&f, &e, NULL) == CORRAL_OK);
    f.fake.delay_ms = 300;
    bg_t b[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        b[i].port = f.port;
        REQUIRE(pthread_create(&t[i], NULL, bg_get, &b[i]) == 0);
    }
    CHECK(wait_calls(&f.fake, 3));
    uint64_t t0 = corral_now_ns();
    f.p->unlink(f.inst, ACTOR, "default");
    uint64_t ms = (corral_now_ns() - t0) / 1000000u;
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_INT(b[i].r.sys_errno, 0);
        CHECK_EQ_INT(b[i].r.status, 200); /* the actor's answer, not a reset */
        CHECK_EQ_STR(b[i].r.body, "echo:");
    }
    CHECK(ms < 2500);
    /* The listener is gone. */
    http_get(f.port, "/", &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_INT(r.sys_errno, ECONNREFUSED);
    /* Unknown unlink is a no-op; relinking listens again. */
    f.p->unlink(f.inst, ACTOR, "default");
    f.p->unlink(f.inst, "Mnobody", "x");
    f.fake.delay_ms = 0;
    REQUIRE(fx_link(&f, &e, NULL) == CORRAL_OK);
    http_get(f.port, "/back", &r);
    CHECK_EQ_INT(r.status, 200);
    fx_stop(&f);
}

TEST(unlink_when_actor_never_answers_in_time) {
    fx_t f;
    corral_err_t e;
    REQUIRE(fx_start(&f, 1) == 0);
    REQUIRE(fx_link(&f, &e, "TIMEOUT_MS", "300", NULL) == CORRAL_OK);
    f.fake.delay_ms = 1500;
    bg_t b = {.port = f.port};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, bg_get, &b) == 0);
    CHECK(wait_calls(&f.fake, 1));
    f.p->unlink(f.inst, ACTOR, "default");
    pthread_join(t, NULL);
    CHECK_EQ_INT(b.r.sys_errno, 0);
    CHECK_EQ_INT(b.r.status, 504);
    fx_stop(&f);
}

TEST(bind_and_port) {
    fx_t f;
    corral_err_t e;
    resp_t r;
    REQUIRE(fx_start(&f, 1) == 0);
    REQUIRE(fx_link(&f, &e, "BIND", "127.0.0.2", NULL) == CORRAL_OK);
    RAW("127.0.0.2", f.port, "GET /b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r);
    CHECK_EQ_INT(r.status, 200);
    http_get(f.port, "/b", &r); /* 127.0.0.1 */
    CHECK_EQ_INT(r.sys_errno, ECONNREFUSED);
    /* Relink on another port moves the listener. */
    uint16_t old = f.port;
    f.port = free_port();
    snprintf(f.port_s, sizeof f.port_s, "%u", f.port);
    REQUIRE(fx_link(&f, &e, NULL) == CORRAL_OK);
    http_get(f.port, "/moved", &r);
    CHECK_EQ_INT(r.status, 200);
    RAW("127.0.0.2", old, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    CHECK_EQ_INT(r.sys_errno, ECONNREFUSED);
    /* A second link name of the same actor gets its own listener. */
    char p2[8];
    snprintf(p2, sizeof p2, "%u", free_port());
    corral_provider_kv_t kv[] = {{"PORT", p2}};
    REQUIRE(f.p->link(f.inst, ACTOR, "admin", kv, 1, &e) == CORRAL_OK);
    http_get((uint16_t)atoi(p2), "/admin", &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(f.fake.last_link, "admin");
    /* A port in use is a clear error. */
    corral_provider_kv_t kv2[] = {{"PORT", p2}};
    CHECK_EQ_INT(f.p->link(f.inst, "Mother", "default", kv2, 1, &e), CORRAL_ERR_IO);
    CHECK_CONTAINS(e.msg, p2);
    CHECK_CONTAINS(e.msg, "in use");
    /* Relinking onto a port in use fails and keeps the current listener. */
    CHECK_EQ_INT(f.p->link(f.inst, ACTOR, "default", kv2, 1, &e), CORRAL_ERR_IO);
    http_get(f.port, "/kept", &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(f.fake.last_link, "default");
    fx_stop(&f);
}

TEST(bind_ipv6) {
    fx_t f;
    corral_err_t e;
    REQUIRE(fx_start(&f, 1) == 0);
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    if (probe < 0 || bind(probe, (struct sockaddr *)&a, sizeof a) < 0) {
        fprintf(stderr, "  (no IPv6 loopback here: only the link is checked)\n");
        if (probe >= 0) close(probe);
        CHECK_EQ_INT(fx_link(&f, &e, "BIND", "::1", NULL), CORRAL_ERR_IO);
        fx_stop(&f);
        return;
    }
    close(probe);
    REQUIRE(fx_link(&f, &e, "BIND", "::1", NULL) == CORRAL_OK);
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    a.sin6_port = htons(f.port);
    REQUIRE(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    const char req[] = "GET /six HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    CHECK(send_all(fd, req, sizeof req - 1) == 0);
    static resp_t r;
    memset(&r, 0, sizeof r);
    read_resp(fd, &r);
    close(fd);
    CHECK_EQ_INT(r.status, 200);
    fx_stop(&f);
}

TEST(bad_link_values) {
    fx_t f;
    corral_err_t e;
    REQUIRE(fx_start(&f, 1) == 0);
    static const char *bad_ports[] = {"80x", "0", "70000", "", "-1", " 80", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_ports / sizeof *bad_ports; i++) {
        corral_provider_kv_t kv[] = {{"PORT", bad_ports[i]}};
        corral_err_clear(&e);
        CHECK_EQ_INT(f.p->link(f.inst, ACTOR, "default", kv, 1, &e), CORRAL_ERR_INVALID_ARG);
        CHECK_CONTAINS(e.msg, "PORT");
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad_ports[i]);
        CHECK_CONTAINS(e.msg, quoted);
    }
    CHECK_EQ_INT(f.p->link(f.inst, ACTOR, "default", NULL, 0, &e), CORRAL_ERR_INVALID_ARG);
    CHECK_CONTAINS(e.msg, "PORT");
    CHECK_EQ_INT(fx_link(&f, &e, "BIND", "localhost", NULL), CORRAL_ERR_INVALID_ARG);
    CHECK_CONTAINS(e.msg, "'localhost'");
    CHECK_EQ_INT(fx_link(&f, &e, "MAX_BODY_BYTES", "lots", NULL), CORRAL_ERR_INVALID_ARG);
    CHECK_CONTAINS(e.msg, "MAX_BODY_BYTES 'lots'");
    CHECK_EQ_INT(fx_link(&f, &e, "TIMEOUT_MS", "0", NULL), CORRAL_ERR_INVALID_ARG);
    CHECK_CONTAINS(e.msg, "TIMEOUT_MS '0'");
    CHECK_EQ_INT(fx_link(&f, &e, "THREADS", "1000", NULL), CORRAL_ERR_INVALID_ARG);
    CHECK_EQ_INT(f.p->link(f.inst, "", "default", NULL, 0, &e), CORRAL_ERR_INVALID_ARG);
    /* Bad provider-wide configuration. */
    void *inst2 = NULL;
    corral_provider_kv_t cfg[] = {{"TIMEOUT_MS", "soon"}};
    CHECK_EQ_INT(f.p->create(cfg, 1, &f.fake.host, &inst2, &e), CORRAL_ERR_INVALID_ARG);
    CHECK(inst2 == NULL);
    CHECK_CONTAINS(e.msg, "'soon'");
    /* Actors cannot call this provider. */
    corral_provider_call_t call = {ACTOR, "default", "wasmcloud:httpserver", "HandleRequest",
                                   NULL, 0};
    corral_provider_bytes_t out = {(uint8_t *)1, 1};
    CHECK_EQ_INT(f.p->call(f.inst, &call, &out, &e), CORRAL_ERR_UNSUPPORTED);
    CHECK(out.data == NULL && out.len == 0);
    CHECK_EQ_INT(f.p->health(f.inst, &e), CORRAL_OK);
    fx_stop(&f);
}

TEST(hostile_requests) {
    fx_t f;
    corral_err_t e;
    resp_t r;
    REQUIRE(fx_start(&f, 1) == 0);
    REQUIRE(fx_link(&f, &e, NULL) == CORRAL_OK);
    /* Headers far beyond the per-connection memory. */
    static char big[200000];
    int n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; n < 150000; i++) n += snprintf(big + n, sizeof big - (size_t)n, "X-H%d: %0100d\r\n", i, i);
    n += snprintf(big + n, sizeof big - (size_t)n, "\r\n");
    http_raw("127.0.0.1", f.port, big, (size_t)n, &r);
    CHECK(r.status == 431 || r.status == 413 || r.status == 400 || r.status == 0);
    /* Garbage request line. */
    RAW("127.0.0.1", f.port, "\x01\x02 garbage\r\n\r\n", &r);
    CHECK(r.status == 400 || r.status == 0);
    /* Invalid UTF-8 in the path and in a header value. */
    const char bad_path[] = "GET /\xff\xfe HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    http_raw("127.0.0.1", f.port, bad_path, sizeof bad_path - 1, &r);
    CHECK_EQ_INT(r.status, 400);
    const char bad_hdr[] = "GET / HTTP/1.1\r\nHost: t\r\nX-A: \xc0\xaf\r\nConnection: close\r\n\r\n";
    http_raw("127.0.0.1", f.port, bad_hdr, sizeof bad_hdr - 1, &r);
    CHECK_EQ_INT(r.status, 400);
    /* absolute-form target: the actor still gets a path and a query. */
    char v[128];
    RAW("127.0.0.1", f.port, "GET http://example.com/abs/x?k=v HTTP/1.1\r\nHost: example.com\r\n"
        "Connection: close\r\n\r\n", &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(hdr(&r, "x-path", v, sizeof v), "/abs/x");
    CHECK_EQ_STR(hdr(&r, "x-query", v, sizeof v), "k=v");
    RAW("127.0.0.1", f.port, "GET http://example.com HTTP/1.1\r\nHost: example.com\r\n"
        "Connection: close\r\n\r\n", &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(hdr(&r, "x-path", v, sizeof v), "/");
    RAW("127.0.0.1", f.port, "OPTIONS * HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r);
    CHECK_EQ_INT(r.status, 400);
    /* Half a request, then hang up. */
    {
        int fd = connect_to("127.0.0.1", f.port);
        REQUIRE(fd >= 0);
        const char half[] = "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc";
        CHECK(send_all(fd, half, sizeof half - 1) == 0);
        msleep(20);
        close(fd);
    }
    /* Still serving. */
    http_get(f.port, "/ok", &r);
    CHECK_EQ_INT(r.status, 200);
    fx_stop(&f);
}

#define CONC_THREADS 8
#define CONC_REQS    200

typedef struct conc {
    uint16_t port;
    int id;
    int ok;
} conc_t;

static void *conc_main(void *arg) {
    conc_t *c = arg;
    static __thread resp_t r;
    for (int i = 0; i < CONC_REQS; i++) {
        char body[64], path[64], want[80], v[128];
        int bl = snprintf(body, sizeof body, "t%d-r%d", c->id, i);
        snprintf(path, sizeof path, "/c/%d/%d", c->id, i);
        http_post(c->port, path, body, (size_t)bl, &r);
        snprintf(want, sizeof want, "echo:%s", body);
        if (r.status == 200 && strcmp(r.body, want) == 0 && hdr(&r, "x-path", v, sizeof v) &&
            strcmp(v, path) == 0)
            c->ok++;
        else
            fprintf(stderr, "  request %s: status %d errno %d body '%s'\n", path, r.status,
                    r.sys_errno, r.body);
    }
    return NULL;
}

TEST(many_concurrent_requests) {
    fx_t f;
    corral_err_t e;
    REQUIRE(fx_start(&f, 2) == 0);
    REQUIRE(fx_link(&f, &e, NULL) == CORRAL_OK);
    pthread_t t[CONC_THREADS];
    conc_t c[CONC_THREADS];
    for (int i = 0; i < CONC_THREADS; i++) {
        c[i] = (conc_t){f.port, i, 0};
        REQUIRE(pthread_create(&t[i], NULL, conc_main, &c[i]) == 0);
    }
    int ok = 0;
    for (int i = 0; i < CONC_THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += c[i].ok;
    }
    CHECK_EQ_INT(ok, CONC_THREADS * CONC_REQS);
    CHECK_EQ_INT(fake_host_answered(&f.fake), CONC_THREADS * CONC_REQS);
    fx_stop(&f);
}

TEST(reply_inline_on_calling_thread) {
    fx_t f;
    corral_err_t e;
    resp_t r;
    REQUIRE(fx_start(&f, 1) == 0);
    REQUIRE(fx_link(&f, &e, "THREADS", "1", NULL) == CORRAL_OK);
    f.fake.inline_reply = 1;
    for (int i = 0; i < 20; i++) {
        http_post(f.port, "/inline", "abc", 3, &r);
        CHECK_EQ_INT(r.status, 200);
        CHECK_EQ_STR(r.body, "echo:abc");
    }
    fx_stop(&f);
}

typedef struct hammer {
    uint16_t port;
    _Atomic int *stop;
    int ok, unavailable, refused, reset, bad;
} hammer_t;

static void *hammer_main(void *arg) {
    hammer_t *h = arg;
    static __thread resp_t r;
    while (!*h->stop) {
        http_post(h->port, "/h", "xyz", 3, &r);
        if (r.status == 200 && strcmp(r.body, "echo:xyz") == 0) h->ok++;
        else if (r.status == 503) h->unavailable++;
        else if (r.status == 0 && r.sys_errno == ECONNREFUSED) h->refused++; /* no listener */
        else if (r.status == 0) h->reset++; /* accepted by the kernel, never by the daemon */
        else {
            h->bad++;
            fprintf(stderr, "  unexpected: status %d body '%s'\n", r.status, r.body);
        }
    }
    return NULL;
}

TEST(unlink_and_relink_under_load) {
    fx_t f;
    corral_err_t e;
    REQUIRE(fx_start(&f, 2) == 0);
    REQUIRE(fx_link(&f, &e, NULL) == CORRAL_OK);
    f.fake.delay_ms = 0;
    f.fake.jitter_ms = 5;
    _Atomic int stop = 0;
    hammer_t h[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        h[i] = (hammer_t){f.port, &stop, 0, 0, 0, 0, 0};
        REQUIRE(pthread_create(&t[i], NULL, hammer_main, &h[i]) == 0);
    }
    for (int round = 0; round < 6; round++) {
        msleep(60);
        f.p->unlink(f.inst, ACTOR, "default");
        msleep(10);
        REQUIRE(fx_link(&f, &e, NULL) == CORRAL_OK);
    }
    msleep(60);
    stop = 1;
    int ok = 0, bad = 0, unavailable = 0, refused = 0, reset = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ok += h[i].ok;
        bad += h[i].bad;
        unavailable += h[i].unavailable;
        refused += h[i].refused;
        reset += h[i].reset;
    }
    fprintf(stderr, "  %d answered, %d 503 while stopping, %d refused, %d reset\n", ok,
            unavailable, refused, reset);
    CHECK(ok > 0);
    CHECK_EQ_INT(bad, 0);
    /* Every request that reached the actor was answered to its client:
     * resets only hit connections the daemon had not read a request from. */
    CHECK_EQ_INT(fake_host_answered(&f.fake), ok);
    fx_stop(&f);
}

TEST(shared_object_entry) {
    void *h = dlopen(HTTP_MODULE_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!h) fprintf(stderr, "  dlopen: %s\n", dlerror());
    REQUIRE(h);
    corral_provider_entry_fn entry = (corral_provider_entry_fn)dlsym(h, CORRAL_PROVIDER_ENTRY_SYMBOL);
    REQUIRE(entry);
    const corral_provider_t *p = entry();
    REQUIRE(p);
    corral_provider_info_t info;
    CHECK_EQ_INT(p->abi_version, CORRAL_PROVIDER_ABI_VERSION);
    p->describe(&info);
    CHECK_EQ_STR(info.name, "httpserver");
    CHECK_EQ_STR(info.contract_id, "wasmcloud:httpserver");
    dlclose(h);
}

TEST_MAIN(TEST_ENTRY(describe_and_table), TEST_ENTRY(request_map_received),
          TEST_ENTRY(response_passed_back), TEST_ENTRY(error_answers), TEST_ENTRY(body_limit),
          TEST_ENTRY(timeout_and_late_reply), TEST_ENTRY(client_hangs_up_before_reply),
          TEST_ENTRY(unlink_with_requests_in_flight),
          TEST_ENTRY(unlink_when_actor_never_answers_in_time), TEST_ENTRY(bind_and_port), TEST_ENTRY(bind_ipv6),
          TEST_ENTRY(bad_link_values), TEST_ENTRY(hostile_requests),
          TEST_ENTRY(many_concurrent_requests),
          TEST_ENTRY(reply_inline_on_calling_thread), TEST_ENTRY(unlink_and_relink_under_load), TEST_ENTRY(shared_object_entry))

/*
 * fuzz_http_request.c - libFuzzer target for the HTTP request path into the
 * httpserver provider: each input is sent as raw bytes over loopback TCP to a
 * live provider instance (libmicrohttpd, linked for one actor, small body
 * limit and timeout), the write side is shut down, and the reply is read
 * until the provider closes. A fake host answers every HandleRequest inline
 * and checks what the provider hands the actor: a msgpack map of the five
 * keys whose path starts with '/' and holds no '?'. The reply, when any,
 * must be an HTTP/1.x status line. Library: corral_http (alias of
 * corral_provider_http; msgpack-c comes with it).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr */
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "corral_provider.h"
#include "corral_provider_http.h"
#include <msgpack.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ACTOR "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"

static corral_provider_host_t host_;
static const corral_provider_t *p_;
static void *inst_;
static int port_;

/* {statusCode: 200, body: "ok"} */
static const uint8_t resp_[] = {0x82, 0xaa, 's', 't', 'a', 't', 'u', 's', 'C', 'o', 'd', 'e',
                                0xcc, 200,  0xa4, 'b', 'o', 'd', 'y', 0xc4, 2,   'o', 'k'};

static void quiet(void *ctx, corral_log_level_t level, const char *component, const char *msg) {
    (void)ctx, (void)level, (void)component, (void)msg;
}

static void quiet_log(corral_log_level_t level, const char *component, const char *msg, void *u) {
    (void)level, (void)component, (void)msg, (void)u;
}

static corral_status_t answer(void *ctx, const char *actor_key, const char *link_name,
                              const char *operation, const uint8_t *payload, size_t len,
                              uint32_t timeout_ms, corral_provider_reply_fn done, void *done_user,
                              corral_err_t *err) {
    (void)ctx, (void)link_name, (void)timeout_ms, (void)err;
    if (strcmp(actor_key, ACTOR) != 0 || strcmp(operation, "HandleRequest") != 0) abort();
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    if (msgpack_unpack_next(&up, (const char *)payload, len, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != len || up.data.type != MSGPACK_OBJECT_MAP || up.data.via.map.size != 5)
        abort();
    int seen = 0;
    for (uint32_t i = 0; i < 5; i++) {
        const msgpack_object_kv *kv = &up.data.via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR) abort();
        const char *k = kv->key.via.str.ptr;
        uint32_t kn = kv->key.via.str.size;
        if (kn == 4 && memcmp(k, "path", 4) == 0) {
            const msgpack_object_str *v = &kv->val.via.str;
            if (kv->val.type != MSGPACK_OBJECT_STR || !v->size || v->ptr[0] != '/' ||
                memchr(v->ptr, '?', v->size))
                abort();
            seen |= 1;
        } else if (kn == 6 && memcmp(k, "method", 6) == 0) {
            if (kv->val.type != MSGPACK_OBJECT_STR) abort();
            seen |= 2;
        } else if (kn == 11 && memcmp(k, "queryString", 11) == 0) {
            if (kv->val.type != MSGPACK_OBJECT_STR) abort();
            seen |= 4;
        } else if (kn == 6 && memcmp(k, "header", 6) == 0) {
            if (kv->val.type != MSGPACK_OBJECT_MAP) abort();
            seen |= 8;
        } else if (kn == 4 && memcmp(k, "body", 4) == 0) {
            if (kv->val.type != MSGPACK_OBJECT_BIN) abort();
            seen |= 16;
        }
    }
    if (seen != 31) abort();
    msgpack_unpacked_destroy(&up);
    done(done_user, CORRAL_OK, resp_, sizeof resp_, NULL);
    return CORRAL_OK;
}

static int free_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) || getsockname(s, (void *)&a, &n))
        abort();
    close(s);
    return ntohs(a.sin_port);
}

static void init(void) {
    corral_log_set_sink(quiet_log, NULL);
    host_.abi_version = CORRAL_PROVIDER_ABI_VERSION;
    host_.struct_size = sizeof host_;
    host_.data_dir = "/tmp";
    host_.alloc = corral_malloc;
    host_.free = corral_free;
    host_.log = quiet;
    host_.call_actor_async = answer;
    p_ = corral_provider_http();
    if (p_->create(NULL, 0, &host_, &inst_, NULL) != CORRAL_OK) abort();
    port_ = free_port();
    char port[16];
    snprintf(port, sizeof port, "%d", port_);
    corral_provider_kv_t kv[] = {{"PORT", port}, {"MAX_BODY_BYTES", "4096"}, {"TIMEOUT_MS", "500"}};
    if (p_->link(inst_, ACTOR, "default", kv, 3, NULL) != CORRAL_OK) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!p_) init();
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port_),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {0, 200000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) abort(); /* the provider died */
    size_t off = 0;
    while (off < size) {
        ssize_t w = send(s, data + off, size - off, MSG_NOSIGNAL);
        if (w <= 0) break; /* the provider may close early (413, 400) */
        off += (size_t)w;
    }
    shutdown(s, SHUT_WR);
    /* Read one response: up to its Content-Length, or until the provider
     * closes or goes quiet (libmicrohttpd does not always act on our
     * half-close, and an incomplete request gets no answer at all). */
    static char buf[65536];
    size_t got = 0;
    while (got < sizeof buf - 1) {
        ssize_t r = recv(s, buf + got, sizeof buf - 1 - got, 0);
        if (r <= 0) break;
        got += (size_t)r;
        buf[got] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) continue;
        const char *cl = strcasestr(buf, "\r\ncontent-length:");
        if (cl && cl < end && got >= (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10)) break;
    }
    close(s);
    if (got >= 8 && memcmp(buf, "HTTP/1.", 7) != 0) abort();
    return 0;
}

/*
 * http_provider.c - the wasmcloud:httpserver provider: one libmicrohttpd
 * daemon (epoll, internal thread pool, suspend/resume) per linked actor,
 * turning each HTTP request into an asynchronous HandleRequest call.
 *
 * Request life (all shared fields under the listener's mutex):
 *   uri_cb        allocates the request state, keeps the raw URI (one MHD ref)
 *   access (1st)  Content-Length check; 413 early only when the client waits
 *                 for 100-continue or the body is far too large
 *   access (n)    body bytes appended, bounded by MAX_BODY_BYTES
 *   access (last) encodes HandleRequest, suspends the connection, then calls
 *                 call_actor_async (the callback holds a second ref)
 *   one of: the reply callback, the timeout thread (504), a failed call (503)
 *                 or the unlink drain moves the state CALLING -> DONE, stores
 *                 an MHD response and - being the only one to make that move -
 *                 resumes the connection
 *   access (resumed) queues the stored response
 *   completed_cb  drops MHD's ref; the reply callback drops its own whenever it
 *                 runs, so a late reply after a client hang-up or an unlink
 *                 finds live memory.
 * The connection is suspended before anybody else can see the request in
 * CALLING, so a resume can never precede its suspend. A listener is itself
 * reference-counted by its requests; the instance counts live listeners and
 * destroy() waits for them.
 */
#include "corral_provider_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_int.h"

#define HTTP_DEFAULT_MAX_BODY   (1024u * 1024u)
#define HTTP_MAX_MAX_BODY       (1024u * 1024u * 1024u)
#define HTTP_DEFAULT_TIMEOUT_MS 2000u
#define HTTP_DEFAULT_THREADS    2u
#define HTTP_DEFAULT_MAX_CONNS  1024u
#define HTTP_DEFAULT_IDLE_S     30u
/* Header bytes per connection (libmicrohttpd's pool): bounds header count
 * and size; beyond it libmicrohttpd answers 431/413 itself. */
#define HTTP_CONN_MEMORY        (64u * 1024u)
/* A body above the limit by at most this much is read and discarded so the
 * 413 arrives intact; a larger one is refused before it is read. */
#define HTTP_DISCARD_SLACK      (256u * 1024u)
/* How long destroy() waits for straggling reply callbacks. */
#define HTTP_DESTROY_WAIT_MS    15000u

enum { PH_NEW = 0, PH_CALLING, PH_DONE };

typedef struct http_instance http_instance_t;
typedef struct http_listener http_listener_t;
typedef struct http_req http_req_t;

typedef struct http_cfg {
    int have_port;
    uint16_t port;
    char bind[64];
    size_t max_body;
    uint32_t timeout_ms;
    unsigned threads;
    unsigned max_conns;
    unsigned idle_s;
} http_cfg_t;

struct http_req {
    http_listener_t *l;
    struct MHD_Connection *conn; /* valid while MHD holds its ref */
    int refs;
    int phase;
    int started;
    int too_large;
    int oom;
    size_t discarded;
    size_t max_body;
    uint32_t timeout_ms;
    uint64_t deadline_ns;
    http_req_t *prev, *next; /* in l->inflight while CALLING */
    http_req_t *expired_next;
    char *uri;
    size_t path_off; /* uri + path_off: the path (after an absolute-form authority) */
    size_t path_len; /* path_len bytes of path; then '?' and the query, or the end */
    corral_buf_t body;
    struct MHD_Response *resp;
    unsigned resp_status;
};

struct http_listener {
    http_instance_t *inst;
    char *actor_key;
    char *link_name;
    http_cfg_t cfg; /* max_body/timeout_ms may change under mu on relink */
    struct MHD_Daemon *d;
    int listen_fd;
    pthread_mutex_t mu;
    pthread_cond_t cond;       /* drain: inflight/active/resuming changes */
    pthread_cond_t timer_cond; /* the timeout thread sleeps here */
    int refs;
    int stopping;
    int timer_quit;
    int timer_started;
    pthread_t timer;
    uint64_t timer_wake_ns; /* when the timer plans to wake; 0 = no plan */
    http_req_t *inflight_head, *inflight_tail;
    size_t active;   /* request states MHD still holds */
    size_t resuming; /* MHD_resume_connection calls in progress */
    http_listener_t *next;
};

struct http_instance {
    const corral_provider_host_t *host;
    http_cfg_t defaults;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    http_listener_t *listeners;
    size_t live; /* listener structs not yet freed */
};

/* ---- small helpers ----------------------------------------------------------- */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void ts_at(uint64_t ns, struct timespec *ts) {
    ts->tv_sec = (time_t)(ns / 1000000000u);
    ts->tv_nsec = (long)(ns % 1000000000u);
}

static void hlog(http_instance_t *inst, corral_log_level_t lv, const char *fmt, ...)
    CORRAL_PRINTF(3, 4);
static void hlog(http_instance_t *inst, corral_log_level_t lv, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    if (!inst->host->log) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    inst->host->log(inst->host->ctx, lv, "http", msg);
}

static int cond_init_mono(pthread_cond_t *c) {
    pthread_condattr_t a;
    if (pthread_condattr_init(&a)) return -1;
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    int r = pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
    return r;
}

/* Parses a decimal in [lo, hi]; the whole string must be digits. */
static int parse_uint(const char *s, unsigned long long lo, unsigned long long hi,
                      unsigned long long *out) {
    unsigned long long v = 0;
    if (!s || !*s || strlen(s) > 19) return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (unsigned long long)(*p - '0');
    }
    if (v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* A bounded printable rendering of a configuration value for messages. */
static const char *show(const char *s, char *buf, size_t cap) {
    size_t o = 0;
    for (; *s && o + 5 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch >= 0x20 && ch < 0x7f) buf[o++] = (char)ch;
        else o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
    }
    buf[o] = '\0';
    return buf;
}

/* Applies the keys this provider knows from values onto cfg. */
static corral_status_t cfg_apply(http_cfg_t *cfg, const corral_provider_kv_t *kv, size_t n,
                                 corral_err_t *err) {
    char shown[96];
    for (size_t i = 0; i < n; i++) {
        const char *k = kv[i].key, *v = kv[i].value;
        unsigned long long x;
        if (!k || !v) continue;
        if (strcasecmp(k, "PORT") == 0) {
            if (parse_uint(v, 1, 65535, &x))
                return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                      "httpserver: PORT '%s' is not a port number (1-65535)",
                                      show(v, shown, sizeof shown));
            cfg->port = (uint16_t)x;
            cfg->have_port = 1;
        } else if (strcasecmp(k, "BIND") == 0) {
            struct in_addr a4;
            struct in6_addr a6;
            if (strlen(v) >= sizeof cfg->bind ||
                (inet_pton(AF_INET, v, &a4) != 1 && inet_pton(AF_INET6, v, &a6) != 1))
                return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                      "httpserver: BIND '%s' is not an IPv4 or IPv6 address",
                                      show(v, shown, sizeof shown));
            snprintf(cfg->bind, sizeof cfg->bind, "%s", v);
        } else if (strcasecmp(k, "MAX_BODY_BYTES") == 0) {
            if (parse_uint(v, 0, HTTP_MAX_MAX_BODY, &x))
                return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                      "httpserver: MAX_BODY_BYTES '%s' is not a byte count "
                                      "(0-%u)", show(v, shown, sizeof shown), HTTP_MAX_MAX_BODY);
            cfg->max_body = (size_t)x;
        } else if (strcasecmp(k, "TIMEOUT_MS") == 0) {
            if (parse_uint(v, 1, 3600000, &x))
                return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                      "httpserver: TIMEOUT_MS '%s' is not a number of "
                                      "milliseconds (1-3600000)", show(v, shown, sizeof shown));
            cfg->timeout_ms = (uint32_t)x;
        } else if (strcasecmp(k, "THREADS") == 0) {
            if (parse_uint(v, 1, 64, &x))
                return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                      "httpserver: THREADS '%s' is not a thread count (1-64)",
                                      show(v, shown, sizeof shown));
            cfg->threads = (unsigned)x;
        } else if (strcasecmp(k, "MAX_CONNECTIONS") == 0) {
            if (parse_uint(v, 1, 100000, &x))
                return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                      "httpserver: MAX_CONNECTIONS '%s' is not a count "
                                      "(1-100000)", show(v, shown, sizeof shown));
            cfg->max_conns = (unsigned)x;
        } else if (strcasecmp(k, "IDLE_TIMEOUT_S") == 0) {
            if (parse_uint(v, 1, 86400, &x))
                return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                      "httpserver: IDLE_TIMEOUT_S '%s' is not a number of "
                                      "seconds (1-86400)", show(v, shown, sizeof shown));
            cfg->idle_s = (unsigned)x;
        }
    }
    return CORRAL_OK;
}

/* ---- responses ------------------------------------------------------------------ */

/* A plain-text response from a static string; NULL when out of memory. */
static struct MHD_Response *text_resp(const char *text, int retry_after) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r) return NULL;
    if (MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8") != MHD_YES ||
        (retry_after && MHD_add_response_header(r, "Retry-After", "1") != MHD_YES)) {
        MHD_destroy_response(r);
        return NULL;
    }
    return r;
}

static const char TXT_MALFORMED[] = "malformed response from actor\n";
static const char TXT_ACTOR_FAILED[] = "internal server error: the actor failed to handle the request\n";
static const char TXT_INTERNAL[] = "internal server error\n";
static const char TXT_UNAVAILABLE[] = "service unavailable: no actor is ready for this request\n";
static const char TXT_STOPPING[] = "service unavailable: this listener is shutting down\n";
static const char TXT_TIMEOUT[] = "gateway timeout: the actor did not answer in time\n";
static const char TXT_TOO_LARGE[] = "request body too large\n";
static const char TXT_BAD_TARGET[] = "bad request: the target must be a path starting with /\n";
static const char TXT_BAD_UTF8[] = "bad request: path, query and headers must be UTF-8\n";

/* The HTTP answer for a failed call: status and body (no host internals). */
static unsigned map_failure(corral_status_t st, const char **text, int *retry) {
    *retry = 0;
    switch (st) {
    case CORRAL_ERR_NO_ACTOR:
    case CORRAL_ERR_NO_LINK:
    case CORRAL_ERR_BUSY:
    case CORRAL_ERR_CLOSED:
    case CORRAL_ERR_STATE:
    case CORRAL_ERR_UPDATE_REFUSED:
        *text = TXT_UNAVAILABLE;
        *retry = 1;
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    case CORRAL_ERR_TIMEOUT:
    case CORRAL_ERR_TRAP_DEADLINE:
        *text = TXT_TIMEOUT;
        return MHD_HTTP_GATEWAY_TIMEOUT;
    case CORRAL_ERR_NO_RESPONSE:
        *text = TXT_MALFORMED;
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    case CORRAL_ERR_NOMEM:
        *text = TXT_INTERNAL;
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    default:
        *text = TXT_ACTOR_FAILED;
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* Builds the MHD response for an actor's answer (or NULL when out of memory).
 * *status gets the HTTP status. */
static struct MHD_Response *build_actor_resp(http_listener_t *l, const uint8_t *p, size_t n,
                                             unsigned *status) {
    corral_http_resp_t r;
    corral_err_t e;
    struct MHD_Response *m;
    if (corral_http_decode_response(p, n, &r, &e) != CORRAL_OK) {
        hlog(l->inst, CORRAL_LOG_WARN, "actor %s (link %s): %s", l->actor_key, l->link_name,
             corral_err_msg(&e));
        *status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        return text_resp(e.status == CORRAL_ERR_NOMEM ? TXT_INTERNAL : TXT_MALFORMED, 0);
    }
    /* 204 and 304 carry no body by definition. */
    int no_body = r.status_code == 204 || r.status_code == 304;
    if (r.body_len && !no_body) {
        m = MHD_create_response_from_buffer_with_free_callback(r.body_len, r.body, corral_free);
        if (m) r.body = NULL; /* owned by the response now */
    } else {
        m = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!m) goto oom;
    for (size_t i = 0; i < r.n_headers; i++) {
        if (corral_http_header_reserved(r.names[i])) continue;
        if (MHD_add_response_header(m, r.names[i], r.values[i]) != MHD_YES) {
            /* libmicrohttpd refuses a few combinations (e.g. a second Date). */
            hlog(l->inst, CORRAL_LOG_DEBUG, "actor %s: response header '%s' dropped",
                 l->actor_key, r.names[i]);
        }
    }
    *status = r.status_code;
    corral_http_resp_free(&r);
    return m;
oom:
    corral_http_resp_free(&r);
    *status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    return text_resp(TXT_INTERNAL, 0);
}

/* ---- reference counting ------------------------------------------------------------ */

static void listener_free(http_listener_t *l) {
    http_instance_t *inst = l->inst;
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cond);
    pthread_cond_destroy(&l->timer_cond);
    corral_free(l->actor_key);
    corral_free(l->link_name);
    corral_free(l);
    pthread_mutex_lock(&inst->mu);
    inst->live--;
    pthread_cond_broadcast(&inst->cond);
    pthread_mutex_unlock(&inst->mu);
}

static void listener_unref(http_listener_t *l) {
    pthread_mutex_lock(&l->mu);
    int n = --l->refs;
    pthread_mutex_unlock(&l->mu);
    if (n == 0) listener_free(l);
}

/* Frees a request whose refs reached 0 (called without l->mu). */
static void req_free(http_req_t *r) {
    http_listener_t *l = r->l;
    if (r->resp) MHD_destroy_response(r->resp);
    corral_buf_free(&r->body);
    corral_free(r->uri);
    corral_free(r);
    listener_unref(l);
}

/* ---- the in-flight list (l->mu held) --------------------------------------------------- */

static void inflight_add(http_listener_t *l, http_req_t *r) {
    r->prev = l->inflight_tail;
    r->next = NULL;
    if (l->inflight_tail) l->inflight_tail->next = r;
    else l->inflight_head = r;
    l->inflight_tail = r;
}

static void inflight_remove(http_listener_t *l, http_req_t *r) {
    if (r->prev) r->prev->next = r->next;
    else l->inflight_head = r->next;
    if (r->next) r->next->prev = r->prev;
    else l->inflight_tail = r->prev;
    r->prev = r->next = NULL;
}

/* Moves r from CALLING to DONE with response m (l->mu held). The caller must
 * then call finish_resume(l, r) without the lock. */
static void complete_locked(http_listener_t *l, http_req_t *r, struct MHD_Response *m,
                            unsigned status) {
    inflight_remove(l, r);
    r->phase = PH_DONE;
    r->resp = m;
    r->resp_status = status;
    l->resuming++;
}

static void finish_resume(http_listener_t *l, http_req_t *r) {
    /* The connection is suspended and nobody else resumes it, so it is
     * valid here; l->resuming keeps the daemon from being stopped under us. */
    MHD_resume_connection(r->conn);
    pthread_mutex_lock(&l->mu);
    l->resuming--;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mu);
}

/* ---- the reply callback and the timeout thread ---------------------------------------- */

static void on_reply(void *user, corral_status_t st, const uint8_t *resp, size_t resp_len,
                     const corral_err_t *err) {
    http_req_t *r = user;
    http_listener_t *l = r->l;
    struct MHD_Response *m = NULL;
    unsigned status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    int resume = 0, n;

    /* Build outside the lock, unless the request is already answered. */
    pthread_mutex_lock(&l->mu);
    int live = r->phase == PH_CALLING;
    pthread_mutex_unlock(&l->mu);
    if (live) {
        if (st == CORRAL_OK) {
            m = build_actor_resp(l, resp, resp_len, &status);
        } else {
            const char *text;
            int retry;
            status = map_failure(st, &text, &retry);
            if (status == MHD_HTTP_INTERNAL_SERVER_ERROR)
                hlog(l->inst, CORRAL_LOG_WARN, "actor %s (link %s): HandleRequest failed: %s",
                     l->actor_key, l->link_name,
                     err ? corral_err_msg(err) : corral_status_str(st));
            m = text_resp(text, retry);
        }
    }
    pthread_mutex_lock(&l->mu);
    if (r->phase == PH_CALLING) {
        complete_locked(l, r, m, status);
        m = NULL;
        resume = 1;
    }
    n = --r->refs;
    pthread_mutex_unlock(&l->mu);
    if (m) MHD_destroy_response(m);
    if (resume) finish_resume(l, r);
    if (n == 0) req_free(r);
}

static void *timer_main(void *arg) {
    http_listener_t *l = arg;
    pthread_mutex_lock(&l->mu);
    while (!l->timer_quit) {
        uint64_t now = now_ns(), next = 0;
        http_req_t *expired = NULL;
        for (http_req_t *r = l->inflight_head, *nx; r; r = nx) {
            nx = r->next;
            if (r->deadline_ns <= now) {
                complete_locked(l, r, text_resp(TXT_TIMEOUT, 0), MHD_HTTP_GATEWAY_TIMEOUT);
                r->expired_next = expired;
                expired = r;
            } else if (!next || r->deadline_ns < next) {
                next = r->deadline_ns;
            }
        }
        if (expired) {
            pthread_mutex_unlock(&l->mu);
            while (expired) {
                http_req_t *r = expired;
                expired = r->expired_next;
                finish_resume(l, r);
            }
            pthread_mutex_lock(&l->mu);
            continue;
        }
        l->timer_wake_ns = next;
        if (next) {
            struct timespec ts;
            ts_at(next, &ts);
            pthread_cond_timedwait(&l->timer_cond, &l->mu, &ts);
        } else {
            pthread_cond_wait(&l->timer_cond, &l->mu);
        }
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* ---- libmicrohttpd callbacks ------------------------------------------------------------- */

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *c) {
    http_listener_t *l = cls;
    http_req_t *r = corral_calloc(1, sizeof *r);
    if (!r) return NULL;
    r->uri = corral_strdup(uri ? uri : "/");
    if (!r->uri) {
        corral_free(r);
        return NULL;
    }
    /* absolute-form ("http://host/p?q", RFC 9112 3.2.2): keep from the path on. */
    const char *start = r->uri;
    if (strncasecmp(start, "http://", 7) == 0 || strncasecmp(start, "https://", 8) == 0) {
        const char *p = strstr(start, "://") + 3;
        p += strcspn(p, "/?");
        start = p;
    }
    r->path_off = (size_t)(start - r->uri);
    const char *q = strchr(start, '?');
    r->path_len = q ? (size_t)(q - start) : strlen(start);
    r->l = l;
    r->conn = c;
    r->refs = 1;
    pthread_mutex_lock(&l->mu);
    l->refs++;
    l->active++;
    r->max_body = l->cfg.max_body;
    r->timeout_ms = l->cfg.timeout_ms;
    pthread_mutex_unlock(&l->mu);
    return r;
}

static void completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    http_listener_t *l = cls;
    http_req_t *r = *con_cls;
    if (!r) return;
    *con_cls = NULL;
    pthread_mutex_lock(&l->mu);
    if (r->phase == PH_CALLING) {
        /* Only reachable if libmicrohttpd closed a suspended connection;
         * the reply callback will find the request answered. */
        inflight_remove(l, r);
        r->phase = PH_DONE;
    }
    r->conn = NULL;
    l->active--;
    int n = --r->refs;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mu);
    if (n == 0) req_free(r);
}

static size_t unescape_cb(void *cls, struct MHD_Connection *c, char *s) {
    /* Keep the path raw: actors get it exactly as the client sent it. */
    return strlen(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    http_listener_t *l = cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    hlog(l->inst, CORRAL_LOG_DEBUG, "listener %s:%u: %s", l->cfg.bind, l->cfg.port, msg);
}

typedef struct hdr_vec {
    corral_http_hdr_t *v;
    size_t n, cap;
    int oom, bad;
} hdr_vec_t;

static enum MHD_Result hdr_it(void *cls, enum MHD_ValueKind kind, const char *key,
                              size_t key_size, const char *value, size_t value_size) {
    hdr_vec_t *h = cls;
    if (!key) return MHD_YES;
    if (!value) {
        value = "";
        value_size = 0;
    }
    if (!corral_utf8_valid((const uint8_t *)key, key_size) ||
        !corral_utf8_valid((const uint8_t *)value, value_size)) {
        h->bad = 1;
        return MHD_NO;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        corral_http_hdr_t *v = corral_realloc(h->v, cap * sizeof *v);
        if (!v) {
            h->oom = 1;
            return MHD_NO;
        }
        h->v = v;
        h->cap = cap;
    }
    h->v[h->n++] = (corral_http_hdr_t){key, key_size, value, value_size};
    return MHD_YES;
}

static enum MHD_Result queue_text(struct MHD_Connection *c, unsigned status, const char *text,
                                  int retry, int close_conn) {
    struct MHD_Response *m = text_resp(text, retry);
    if (!m) return MHD_NO;
    if (close_conn) MHD_add_response_header(m, "Connection", "close");
    enum MHD_Result ret = MHD_queue_response(c, status, m);
    MHD_destroy_response(m);
    return ret;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls) {
    http_listener_t *l = cls;
    http_req_t *r = *con_cls;

    if (!r) return queue_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, TXT_INTERNAL, 0, 1);

    if (!r->started) {
        r->started = 1;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        unsigned long long len;
        if (cl && parse_uint(cl, 0, ~0ull, &len) == 0 && len > r->max_body) {
            const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                             MHD_HTTP_HEADER_EXPECT);
            r->too_large = 1;
            if (expect || len - r->max_body > HTTP_DISCARD_SLACK)
                return queue_text(c, MHD_HTTP_CONTENT_TOO_LARGE, TXT_TOO_LARGE, 0, 1);
        }
        return MHD_YES;
    }

    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->too_large || r->oom) {
            /* Discard a bounded amount so the 413 arrives intact; beyond it
             * the client is not listening anyway: close. */
            r->discarded += n;
            return r->discarded > HTTP_DISCARD_SLACK ? MHD_NO : MHD_YES;
        }
        if (n > r->max_body - r->body.len) {
            r->too_large = 1;
            corral_buf_free(&r->body);
            return MHD_YES;
        }
        if (corral_buf_append(&r->body, upload, n) != CORRAL_OK) {
            r->oom = 1;
            corral_buf_free(&r->body);
        }
        return MHD_YES;
    }

    if (r->phase == PH_DONE) { /* resumed: the answer is ready */
        struct MHD_Response *m = r->resp;
        int stopping;
        r->resp = NULL;
        if (!m) return MHD_NO; /* out of memory building it: close */
        pthread_mutex_lock(&l->mu);
        stopping = l->stopping;
        pthread_mutex_unlock(&l->mu);
        if (stopping) MHD_add_response_header(m, "Connection", "close");
        enum MHD_Result ret = MHD_queue_response(c, r->resp_status, m);
        MHD_destroy_response(m);
        return ret;
    }
    if (r->phase == PH_CALLING) return MHD_YES; /* not expected: still suspended */

    /* The whole request is here. */
    if (r->too_large) return queue_text(c, MHD_HTTP_CONTENT_TOO_LARGE, TXT_TOO_LARGE, 0, 1);
    if (r->oom) return queue_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, TXT_INTERNAL, 0, 1);

    const char *path = r->uri + r->path_off, *query = "";
    size_t path_len = r->path_len, query_len = 0;
    if (path[path_len] == '?') {
        query = path + path_len + 1;
        query_len = strlen(query);
    }
    if (path_len == 0 && r->path_off > 0) {
        path = "/"; /* "http://host" or "http://host?q" */
        path_len = 1;
    } else if (path_len == 0 || path[0] != '/') { /* e.g. OPTIONS * */
        return queue_text(c, MHD_HTTP_BAD_REQUEST, TXT_BAD_TARGET, 0, 1);
    }
    if (!corral_utf8_valid((const uint8_t *)path, path_len) ||
        !corral_utf8_valid((const uint8_t *)query, query_len))
        return queue_text(c, MHD_HTTP_BAD_REQUEST, TXT_BAD_UTF8, 0, 1);

    hdr_vec_t h = {0};
    corral_buf_t payload = CORRAL_BUF_INIT;
    MHD_get_connection_values_n(c, MHD_HEADER_KIND, hdr_it, &h);
    if (h.bad || h.oom) {
        corral_free(h.v);
        return h.bad ? queue_text(c, MHD_HTTP_BAD_REQUEST, TXT_BAD_UTF8, 0, 1)
                     : queue_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, TXT_INTERNAL, 0, 1);
    }
    corral_status_t st = corral_http_encode_request(method, path, path_len, query, query_len, h.v,
                                                    h.n, r->body.data, r->body.len, &payload);
    corral_free(h.v);
    corral_buf_free(&r->body);
    if (st != CORRAL_OK) {
        corral_buf_free(&payload);
        return queue_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, TXT_INTERNAL, 0, 1);
    }

    /* Suspend first: nobody can resume before the request is in CALLING. */
    MHD_suspend_connection(c);
    pthread_mutex_lock(&l->mu);
    if (l->stopping) {
        r->phase = PH_CALLING; /* so complete_locked's list removal is valid */
        inflight_add(l, r);
        complete_locked(l, r, text_resp(TXT_STOPPING, 1), MHD_HTTP_SERVICE_UNAVAILABLE);
        pthread_mutex_unlock(&l->mu);
        corral_buf_free(&payload);
        finish_resume(l, r);
        return MHD_YES;
    }
    r->phase = PH_CALLING;
    r->deadline_ns = now_ns() + (uint64_t)r->timeout_ms * 1000000u;
    r->refs++; /* the reply callback's */
    inflight_add(l, r);
    if (!l->timer_wake_ns || r->deadline_ns < l->timer_wake_ns) {
        l->timer_wake_ns = r->deadline_ns;
        pthread_cond_signal(&l->timer_cond);
    }
    pthread_mutex_unlock(&l->mu);

    const corral_provider_host_t *host = l->inst->host;
    corral_err_t e;
    corral_err_clear(&e);
    st = host->call_actor_async(host->ctx, l->actor_key, l->link_name, "HandleRequest",
                                payload.data, payload.len, r->timeout_ms, on_reply, r, &e);
    corral_buf_free(&payload);
    if (st != CORRAL_OK) {
        const char *text;
        int retry, resume = 0;
        unsigned status = map_failure(st, &text, &retry);
        struct MHD_Response *m = text_resp(text, retry);
        if (status == MHD_HTTP_INTERNAL_SERVER_ERROR)
            hlog(l->inst, CORRAL_LOG_WARN, "actor %s (link %s): cannot call HandleRequest: %s",
                 l->actor_key, l->link_name, corral_err_msg(&e));
        pthread_mutex_lock(&l->mu);
        r->refs--; /* the callback will not run; MHD's ref keeps r alive */
        if (r->phase == PH_CALLING) {
            complete_locked(l, r, m, status);
            m = NULL;
            resume = 1;
        }
        pthread_mutex_unlock(&l->mu);
        if (m) MHD_destroy_response(m);
        if (resume) finish_resume(l, r);
    }
    return MHD_YES;
}

/* ---- listeners -------------------------------------------------------------------------- */

static corral_status_t open_socket(const http_cfg_t *cfg, int *fd_out, int *ipv6,
                                   corral_err_t *err) {
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd = -1, one = 1;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, cfg->bind, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(cfg->port);
        sl = sizeof *s4;
        *ipv6 = 0;
    } else if (inet_pton(AF_INET6, cfg->bind, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(cfg->port);
        sl = sizeof *s6;
        *ipv6 = 1;
    } else {
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "httpserver: BIND '%s' is not an IPv4 or IPv6 address", cfg->bind);
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) goto fail;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) goto fail;
    if (*ipv6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0) goto fail;
    if (listen(fd, 511) < 0) goto fail;
    *fd_out = fd;
    return CORRAL_OK;
fail: {
    int e = errno;
    if (fd >= 0) close(fd);
    return corral_err_set(err, CORRAL_ERR_IO, "httpserver: cannot listen on %s%s%s:%u: %s",
                          *ipv6 ? "[" : "", cfg->bind, *ipv6 ? "]" : "", cfg->port, strerror(e));
}
}

/* Stops accepting, drains in-flight requests, stops the daemon and the timer.
 * Drops the caller's reference. Control thread. */
static void listener_stop(http_listener_t *l) {
    pthread_mutex_lock(&l->mu);
    l->stopping = 1;
    uint32_t timeout = l->cfg.timeout_ms;
    pthread_mutex_unlock(&l->mu);

    int qfd = l->d ? MHD_quiesce_daemon(l->d) : MHD_INVALID_SOCKET;
    /* Stop listening at once: new connections are refused instead of
     * waiting in the backlog for a daemon that will never accept them. The
     * descriptor itself stays open until the daemon's threads are gone. */
    if (qfd != MHD_INVALID_SOCKET) shutdown(qfd, SHUT_RDWR);

    /* Every in-flight request ends within its timeout (the timer answers 504),
     * so this wait is bounded; the margin lets responses reach the wire. */
    uint64_t deadline = now_ns() + ((uint64_t)timeout + 1000u) * 1000000u;
    struct timespec ts;
    ts_at(deadline, &ts);
    pthread_mutex_lock(&l->mu);
    while ((l->inflight_head || l->active || l->resuming) && now_ns() < deadline)
        pthread_cond_timedwait(&l->cond, &l->mu, &ts);
    /* Whatever is still waiting for the actor is answered now. */
    http_req_t *forced = NULL;
    while (l->inflight_head) {
        http_req_t *r = l->inflight_head;
        complete_locked(l, r, text_resp(TXT_STOPPING, 1), MHD_HTTP_SERVICE_UNAVAILABLE);
        r->expired_next = forced;
        forced = r;
    }
    pthread_mutex_unlock(&l->mu);
    while (forced) {
        http_req_t *r = forced;
        forced = r->expired_next;
        finish_resume(l, r);
    }
    /* Give the forced answers a moment to be sent, then wait out every
     * MHD_resume_connection call (the daemon must outlive them). */
    uint64_t grace = now_ns() + 200u * 1000000u;
    ts_at(grace, &ts);
    pthread_mutex_lock(&l->mu);
    while (l->active && now_ns() < grace) pthread_cond_timedwait(&l->cond, &l->mu, &ts);
    while (l->resuming) pthread_cond_wait(&l->cond, &l->mu);
    l->timer_quit = 1;
    pthread_cond_signal(&l->timer_cond);
    pthread_mutex_unlock(&l->mu);

    if (l->timer_started) pthread_join(l->timer, NULL);
    if (l->d) MHD_stop_daemon(l->d);
    l->d = NULL;
    if (qfd != MHD_INVALID_SOCKET) close(qfd);
    hlog(l->inst, CORRAL_LOG_INFO, "actor %s (link %s): stopped listening on %s:%u",
         l->actor_key, l->link_name, l->cfg.bind, l->cfg.port);
    listener_unref(l);
}

static corral_status_t listener_start(http_instance_t *inst, const char *actor_key,
                                      const char *link_name, const http_cfg_t *cfg,
                                      http_listener_t **out, corral_err_t *err) {
    corral_status_t st;
    int fd = -1, ipv6 = 0;
    http_listener_t *l = corral_calloc(1, sizeof *l);
    if (!l) return corral_err_set(err, CORRAL_ERR_NOMEM, "httpserver: out of memory");
    l->inst = inst;
    l->cfg = *cfg;
    l->refs = 1;
    l->listen_fd = -1;
    l->actor_key = corral_strdup(actor_key);
    l->link_name = corral_strdup(link_name);
    if (!l->actor_key || !l->link_name) {
        corral_free(l->actor_key);
        corral_free(l->link_name);
        corral_free(l);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "httpserver: out of memory");
    }
    if (pthread_mutex_init(&l->mu, NULL) || pthread_cond_init(&l->cond, NULL) ||
        cond_init_mono(&l->timer_cond)) {
        corral_free(l->actor_key);
        corral_free(l->link_name);
        corral_free(l);
        return corral_err_set(err, CORRAL_ERR_INTERNAL, "httpserver: cannot create locks");
    }
    pthread_mutex_lock(&inst->mu);
    inst->live++;
    pthread_mutex_unlock(&inst->mu);

    if ((st = open_socket(cfg, &fd, &ipv6, err))) goto fail;
    if (pthread_create(&l->timer, NULL, timer_main, l)) {
        st = corral_err_set(err, CORRAL_ERR_INTERNAL, "httpserver: cannot start a thread");
        goto fail;
    }
    l->timer_started = 1;

    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ipv6) flags |= MHD_USE_IPv6;
    l->d = MHD_start_daemon(
        flags, 0, NULL, NULL, access_cb, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, l,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, cfg->threads,
        MHD_OPTION_CONNECTION_LIMIT, cfg->max_conns, MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
        MHD_OPTION_URI_LOG_CALLBACK, uri_cb, l, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, l,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_cb, NULL, MHD_OPTION_END);
    if (!l->d) {
        st = corral_err_set(err, CORRAL_ERR_IO,
                            "httpserver: libmicrohttpd could not start on %s:%u", cfg->bind,
                            cfg->port);
        goto fail;
    }
    fd = -1; /* the daemon's now; closed by MHD_stop_daemon or after quiesce */
    hlog(inst, CORRAL_LOG_INFO, "actor %s (link %s): listening on http://%s%s%s:%u/", actor_key,
         link_name, ipv6 ? "[" : "", cfg->bind, ipv6 ? "]" : "", cfg->port);
    *out = l;
    return CORRAL_OK;
fail:
    if (l->timer_started) {
        pthread_mutex_lock(&l->mu);
        l->timer_quit = 1;
        pthread_cond_signal(&l->timer_cond);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->timer, NULL);
    }
    if (fd >= 0) close(fd);
    listener_free(l);
    return st;
}

/* ---- the provider table --------------------------------------------------------------------- */

static const char *const http_aliases[] = {CORRAL_CONTRACT_HTTPSERVER_WASCC, NULL};

static void http_describe(corral_provider_info_t *info) {
    info->contract_id = CORRAL_CONTRACT_HTTPSERVER;
    info->contract_aliases = http_aliases;
    info->name = CORRAL_PROVIDER_HTTP_NAME;
    info->description = "HTTP server (libmicrohttpd): each request calls the linked actor's "
                        "HandleRequest";
    info->version = "0.1.0";
}

static corral_status_t http_create(const corral_provider_kv_t *config, size_t n_config,
                                   const corral_provider_host_t *host, void **instance,
                                   corral_err_t *err) {
    http_instance_t *inst;
    corral_status_t st;
    *instance = NULL;
    if (!host || !host->call_actor_async)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "httpserver: the host offers no call_actor_async");
    inst = corral_calloc(1, sizeof *inst);
    if (!inst) return corral_err_set(err, CORRAL_ERR_NOMEM, "httpserver: out of memory");
    inst->host = host;
    snprintf(inst->defaults.bind, sizeof inst->defaults.bind, "127.0.0.1");
    inst->defaults.max_body = HTTP_DEFAULT_MAX_BODY;
    inst->defaults.timeout_ms = HTTP_DEFAULT_TIMEOUT_MS;
    inst->defaults.threads = HTTP_DEFAULT_THREADS;
    inst->defaults.max_conns = HTTP_DEFAULT_MAX_CONNS;
    inst->defaults.idle_s = HTTP_DEFAULT_IDLE_S;
    if ((st = cfg_apply(&inst->defaults, config, n_config, err))) {
        corral_free(inst);
        return st;
    }
    if (pthread_mutex_init(&inst->mu, NULL) || cond_init_mono(&inst->cond)) {
        corral_free(inst);
        return corral_err_set(err, CORRAL_ERR_INTERNAL, "httpserver: cannot create locks");
    }
    *instance = inst;
    return CORRAL_OK;
}

/* Removes and returns the listener of (actor, link) from the table (inst->mu held). */
static http_listener_t *take_listener(http_instance_t *inst, const char *actor_key,
                                      const char *link_name) {
    for (http_listener_t **pp = &inst->listeners; *pp; pp = &(*pp)->next) {
        http_listener_t *l = *pp;
        if (strcmp(l->actor_key, actor_key) == 0 && strcmp(l->link_name, link_name) == 0) {
            *pp = l->next;
            l->next = NULL;
            return l;
        }
    }
    return NULL;
}

static void http_unlink(void *instance, const char *actor_key, const char *link_name) {
    http_instance_t *inst = instance;
    if (!inst || !actor_key) return;
    if (!link_name || !*link_name) link_name = "default";
    pthread_mutex_lock(&inst->mu);
    http_listener_t *l = take_listener(inst, actor_key, link_name);
    pthread_mutex_unlock(&inst->mu);
    if (l) listener_stop(l);
}

static corral_status_t http_link(void *instance, const char *actor_key, const char *link_name,
                                 const corral_provider_kv_t *values, size_t n_values,
                                 corral_err_t *err) {
    http_instance_t *inst = instance;
    http_cfg_t cfg;
    corral_status_t st;
    http_listener_t *l;
    if (!inst || !actor_key || !*actor_key)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "httpserver: link needs an actor key");
    if (!link_name || !*link_name) link_name = "default";
    cfg = inst->defaults;
    if ((st = cfg_apply(&cfg, values, n_values, err))) return st;
    if (!cfg.have_port)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "httpserver: link of actor %s needs a PORT value", actor_key);

    /* Same address: update the limits in place, keep the listener. */
    pthread_mutex_lock(&inst->mu);
    for (l = inst->listeners; l; l = l->next) {
        if (strcmp(l->actor_key, actor_key) || strcmp(l->link_name, link_name)) continue;
        if (l->cfg.port == cfg.port && strcmp(l->cfg.bind, cfg.bind) == 0 &&
            l->cfg.threads == cfg.threads && l->cfg.max_conns == cfg.max_conns &&
            l->cfg.idle_s == cfg.idle_s) {
            pthread_mutex_lock(&l->mu);
            l->cfg.max_body = cfg.max_body;
            l->cfg.timeout_ms = cfg.timeout_ms;
            pthread_mutex_unlock(&l->mu);
            pthread_mutex_unlock(&inst->mu);
            return CORRAL_OK;
        }
        break;
    }
    /* Another address: open the new listener first so a failure keeps the
     * old one; only when the old one holds the same port is it stopped first.
     * link/unlink run on the control thread one at a time, so `l` stays in
     * the table while the lock is dropped. */
    http_listener_t *old = l;
    pthread_mutex_unlock(&inst->mu);
    if (old && old->cfg.port == cfg.port) {
        pthread_mutex_lock(&inst->mu);
        old = take_listener(inst, actor_key, link_name);
        pthread_mutex_unlock(&inst->mu);
        if (old) listener_stop(old);
        old = NULL;
    }
    if ((st = listener_start(inst, actor_key, link_name, &cfg, &l, err))) return st;
    pthread_mutex_lock(&inst->mu);
    if (old) old = take_listener(inst, actor_key, link_name);
    l->next = inst->listeners;
    inst->listeners = l;
    pthread_mutex_unlock(&inst->mu);
    if (old) listener_stop(old);
    return CORRAL_OK;
}

static void http_destroy(void *instance) {
    http_instance_t *inst = instance;
    if (!inst) return;
    for (;;) {
        pthread_mutex_lock(&inst->mu);
        http_listener_t *l = inst->listeners;
        if (l) inst->listeners = l->next;
        pthread_mutex_unlock(&inst->mu);
        if (!l) break;
        listener_stop(l);
    }
    /* Reply callbacks still owed by the host keep their listeners alive. */
    uint64_t deadline = now_ns() + (uint64_t)HTTP_DESTROY_WAIT_MS * 1000000u;
    struct timespec ts;
    ts_at(deadline, &ts);
    pthread_mutex_lock(&inst->mu);
    while (inst->live && now_ns() < deadline) pthread_cond_timedwait(&inst->cond, &inst->mu, &ts);
    size_t live = inst->live;
    pthread_mutex_unlock(&inst->mu);
    if (live) {
        /* Freeing now would let a late callback touch freed memory. */
        hlog(inst, CORRAL_LOG_ERROR,
             "destroy: %zu listener(s) still wait for HandleRequest replies; leaking them", live);
        return;
    }
    pthread_mutex_destroy(&inst->mu);
    pthread_cond_destroy(&inst->cond);
    corral_free(inst);
}

static corral_status_t http_call(void *instance, const corral_provider_call_t *call,
                                 corral_provider_bytes_t *resp, corral_err_t *err) {
    resp->data = NULL;
    resp->len = 0;
    return corral_err_set(err, CORRAL_ERR_UNSUPPORTED,
                          "httpserver: actors cannot call '%s'; this provider only calls "
                          "actors (HandleRequest)",
                          call && call->operation ? call->operation : "(none)");
}

static corral_status_t http_health(void *instance, corral_err_t *err) {
    return CORRAL_OK;
}

static const corral_provider_t http_provider = {
    .abi_version = CORRAL_PROVIDER_ABI_VERSION,
    .struct_size = sizeof(corral_provider_t),
    .describe = http_describe,
    .create = http_create,
    .destroy = http_destroy,
    .link = http_link,
    .unlink = http_unlink,
    .call = http_call,
    .health = http_health,
};

const corral_provider_t *corral_provider_http(void) {
    return &http_provider;
}

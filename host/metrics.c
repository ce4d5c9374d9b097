/*
 * metrics.c - the host's call metrics and their Prometheus text exposition
 * (corral_host_metrics, the control op `metrics`, `corral up --metrics-port`).
 *
 * actor_call (actors.c) records every guest call here: per actor and
 * operation a calls/errors/traps counter and a latency histogram. The table
 * per actor is fixed-size (host_actor_met_t in host_int.h) and lock-free:
 * an operation claims a slot once (compare-and-swap on its state), later calls
 * find it by hash and bump relaxed atomics. The exposition walks the master
 * lists under the control lock, never the call path. At the end, a tiny
 * HTTP/1.1 server for GET /metrics (corral up --metrics-port), and the
 * lifecycle events as CloudEvents (corral up --events stdout).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "host_int.h"

/* Finite bucket bounds in nanoseconds and as Prometheus prints them. */
static const uint64_t bound_ns_[HOST_MET_BUCKETS - 1] = {
    50000ull,     100000ull,     250000ull,     500000ull,     1000000ull,    2500000ull,
    5000000ull,   10000000ull,   25000000ull,   50000000ull,   100000000ull,  250000000ull,
    500000000ull, 1000000000ull, 2500000000ull, 5000000000ull, 10000000000ull};
static const char *const bound_str_[HOST_MET_BUCKETS] = {
    "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05",  "0.1",    "0.25",    "0.5",    "1",     "2.5",    "5",     "10",   "+Inf"};

#define OTHER_NAME "(other)" /* cannot collide: '(' is not allowed in a slot name */

/* Slot names are restricted to characters operation names use in practice,
 * so they need no escaping and "(other)" stays distinct. */
int host_met_printable(const char *op, size_t n) {
    if (n == 0 || n >= HOST_MET_NAME) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)op[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == ':' || ch == '/' || ch == '-' || ch == '@'))
            return 0;
    }
    return 1;
}

static int slot_is(host_op_met_t *s, const char *op, size_t n) {
    return s->name_len == n && memcmp(s->name, op, n) == 0;
}

/* Waits out another thread naming slot s (a handful of stores). */
static int slot_wait(host_op_met_t *s) {
    int st;
    unsigned spins = 0;
    while ((st = atomic_load_explicit(&s->state, memory_order_acquire)) == 1)
        if (++spins > 64) sched_yield();
    return st;
}

static host_op_met_t *find_slot(host_actor_met_t *m, const char *op, size_t n) {
    if (!host_met_printable(op, n)) return &m->other;
    uint32_t hsh = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) hsh = (hsh ^ (unsigned char)op[i]) * 16777619u;
    for (unsigned i = 0; i < HOST_MET_OPS; i++) {
        host_op_met_t *s = &m->ops[(hsh + i) % HOST_MET_OPS];
        int st = atomic_load_explicit(&s->state, memory_order_acquire);
        if (st == 0) {
            int zero = 0;
            if (atomic_compare_exchange_strong(&s->state, &zero, 1)) {
                memcpy(s->name, op, n);
                s->name[n] = '\0';
                s->name_len = (unsigned)n;
                atomic_store_explicit(&s->state, 2, memory_order_release);
                return s;
            }
            st = zero;
        }
        if (st == 1) st = slot_wait(s);
        if (st == 2 && slot_is(s, op, n)) return s;
    }
    return &m->other;
}

void host_met_record(host_actor_met_t *m, const char *op, size_t op_len, int error, int trap,
                     uint64_t ns) {
    host_op_met_t *s = find_slot(m, op, op_len);
    unsigned b = 0;
    while (b < HOST_MET_BUCKETS - 1 && ns > bound_ns_[b]) b++;
    atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_ns, ns, memory_order_relaxed);
    if (error) atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
    if (trap) atomic_fetch_add_explicit(&s->traps, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->calls, 1, memory_order_relaxed);
}

/* ---- exposition ------------------------------------------------------------------------------ */

/* A label value: \ " and newline escaped as the format asks; other control
 * bytes, and every non-ASCII byte of a string that is not UTF-8, become '?'
 * (claims names are guest input). */
static corral_status_t put_label(corral_buf_t *b, const char *s) {
    corral_status_t st = CORRAL_OK;
    size_t n = strlen(s);
    int utf8 = corral_utf8_valid((const uint8_t *)s, n);
    for (size_t i = 0; st == CORRAL_OK && i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\\') st = corral_buf_append(b, "\\\\", 2);
        else if (ch == '"') st = corral_buf_append(b, "\\\"", 2);
        else if (ch == '\n') st = corral_buf_append(b, "\\n", 2);
        else if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && !utf8)) st = corral_buf_append(b, "?", 1);
        else st = corral_buf_append(b, &s[i], 1);
    }
    return st;
}

static corral_status_t put_actor_labels(corral_buf_t *b, actor_ver_t *v) {
    corral_status_t st = corral_buf_printf(b, "actor=\"%s\",name=\"", v->core->key);
    if (st == CORRAL_OK) st = put_label(b, actor_name(v));
    if (st == CORRAL_OK) st = corral_buf_append(b, "\"", 1);
    return st;
}

static corral_status_t put_family(corral_buf_t *b, const char *name, const char *type,
                                  const char *help) {
    return corral_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

typedef enum { OPV_CALLS, OPV_ERRORS, OPV_TRAPS } op_val_t;

static int slot_used(host_op_met_t *s) {
    return atomic_load_explicit(&s->calls, memory_order_relaxed) != 0;
}

/* Calls fn for every used slot of every actor (named slots, then "other"). */
#define FOR_EACH_OP(h, a, s, name)                                                             \
    for (actor_entry_t *a = (h)->actors; a; a = a->next)                                       \
        for (unsigned i_ = 0; i_ <= HOST_MET_OPS; i_++)                                        \
            for (host_op_met_t *s = i_ < HOST_MET_OPS ? &a->ver->core->met.ops[i_]             \
                                                      : &a->ver->core->met.other;              \
                 s; s = NULL)                                                                  \
                for (const char *name = i_ < HOST_MET_OPS ? s->name : OTHER_NAME; name;        \
                     name = NULL)                                                              \
                    if ((i_ == HOST_MET_OPS ||                                                 \
                         atomic_load_explicit(&s->state, memory_order_acquire) == 2) &&        \
                        slot_used(s))

static corral_status_t put_op_counter(corral_buf_t *b, corral_host_t *h, const char *metric,
                                      const char *help, op_val_t which) {
    corral_status_t st = put_family(b, metric, "counter", help);
    FOR_EACH_OP(h, a, s, name) {
        if (st != CORRAL_OK) return st;
        unsigned long long v = atomic_load_explicit(which == OPV_CALLS    ? &s->calls
                                                    : which == OPV_ERRORS ? &s->errors
                                                                          : &s->traps,
                                                    memory_order_relaxed);
        st = corral_buf_printf(b, "%s{", metric);
        if (st == CORRAL_OK) st = put_actor_labels(b, a->ver);
        if (st == CORRAL_OK) st = corral_buf_printf(b, ",operation=\"%s\"} %llu\n", name, v);
    }
    return st;
}

static corral_status_t put_op_histogram(corral_buf_t *b, corral_host_t *h) {
    static const char *m = "corral_actor_call_duration_seconds";
    corral_status_t st =
        put_family(b, m, "histogram", "Duration of guest calls by operation, in seconds.");
    FOR_EACH_OP(h, a, s, name) {
        unsigned long long cum = 0;
        for (unsigned k = 0; st == CORRAL_OK && k < HOST_MET_BUCKETS; k++) {
            cum += atomic_load_explicit(&s->buckets[k], memory_order_relaxed);
            st = corral_buf_printf(b, "%s_bucket{", m);
            if (st == CORRAL_OK) st = put_actor_labels(b, a->ver);
            if (st == CORRAL_OK)
                st = corral_buf_printf(b, ",operation=\"%s\",le=\"%s\"} %llu\n", name,
                                       bound_str_[k], cum);
        }
        unsigned long long sum = atomic_load_explicit(&s->sum_ns, memory_order_relaxed);
        if (st == CORRAL_OK) st = corral_buf_printf(b, "%s_sum{", m);
        if (st == CORRAL_OK) st = put_actor_labels(b, a->ver);
        if (st == CORRAL_OK)
            st = corral_buf_printf(b, ",operation=\"%s\"} %llu.%09llu\n", name, sum / 1000000000ull,
                                   sum % 1000000000ull);
        /* _count from the buckets, so it always equals the +Inf bucket */
        if (st == CORRAL_OK) st = corral_buf_printf(b, "%s_count{", m);
        if (st == CORRAL_OK) st = put_actor_labels(b, a->ver);
        if (st == CORRAL_OK) st = corral_buf_printf(b, ",operation=\"%s\"} %llu\n", name, cum);
        if (st != CORRAL_OK) return st;
    }
    return st;
}

typedef enum { AV_INSTANCES, AV_MAX_INSTANCES, AV_INFLIGHT, AV_SWAPS, AV_REV } actor_val_t;

static corral_status_t put_actor_gauge(corral_buf_t *b, corral_host_t *h, const char *metric,
                                       const char *type, const char *help, actor_val_t which) {
    corral_status_t st = put_family(b, metric, type, help);
    for (actor_entry_t *a = h->actors; st == CORRAL_OK && a; a = a->next) {
        actor_core_t *c = a->ver->core;
        corral_wapc_pool_stats_t ps;
        corral_wapc_pool_stats(c->pool, &ps);
        long long v = which == AV_INSTANCES       ? (long long)ps.live
                      : which == AV_MAX_INSTANCES ? (long long)c->limits.max_instances
                      : which == AV_INFLIGHT      ? (long long)atomic_load(&c->inflight)
                      : which == AV_SWAPS         ? (long long)ps.replaces
                                                  : (long long)(a->ver->claims ? a->ver->claims->rev : 0);
        st = corral_buf_printf(b, "%s{", metric);
        if (st == CORRAL_OK) st = put_actor_labels(b, a->ver);
        if (st == CORRAL_OK) st = corral_buf_printf(b, "} %lld\n", v);
    }
    return st;
}

static corral_status_t put_all(corral_buf_t *b, corral_host_t *h) {
    corral_status_t st;
    uint64_t up = h->started_ns ? corral_now_ns() - h->started_ns : 0;
    if ((st = put_family(b, "corral_host_info", "gauge", "The host's key (always 1).")) ||
        (st = corral_buf_printf(b, "corral_host_info{host=\"%s\"} 1\n", h->key)) ||
        (st = put_family(b, "corral_host_uptime_seconds", "gauge", "Seconds since the host started.")) ||
        (st = corral_buf_printf(b, "corral_host_uptime_seconds %llu.%03llu\n",
                                (unsigned long long)(up / 1000000000ull),
                                (unsigned long long)(up / 1000000ull % 1000ull))) ||
        (st = put_family(b, "corral_host_jobs_pending", "gauge",
                         "Provider-to-actor calls queued or running on the workers.")) ||
        (st = corral_buf_printf(b, "corral_host_jobs_pending %ld\n",
                                (long)atomic_load(&h->jobs_pending))))
        return st;
    if ((st = put_op_counter(b, h, "corral_actor_calls_total",
                             "Guest calls by operation, from any source.", OPV_CALLS)) ||
        (st = put_op_counter(b, h, "corral_actor_errors_total",
                             "Guest calls that did not succeed (traps included).", OPV_ERRORS)) ||
        (st = put_op_counter(b, h, "corral_actor_traps_total", "Guest calls that trapped.",
                             OPV_TRAPS)) ||
        (st = put_op_histogram(b, h)))
        return st;
    if ((st = put_actor_gauge(b, h, "corral_actor_instances", "gauge",
                              "Live instances of the actor's current module.", AV_INSTANCES)) ||
        (st = put_actor_gauge(b, h, "corral_actor_max_instances", "gauge",
                              "The actor's instance limit.", AV_MAX_INSTANCES)) ||
        (st = put_actor_gauge(b, h, "corral_actor_inflight", "gauge", "Calls running now.",
                              AV_INFLIGHT)) ||
        (st = put_actor_gauge(b, h, "corral_actor_swaps_total", "counter",
                              "Module swaps of the running actor (live updates, native code).",
                              AV_SWAPS)) ||
        (st = put_actor_gauge(b, h, "corral_actor_revision", "gauge",
                              "Revision of the running module's claims.", AV_REV)))
        return st;
    if ((st = put_family(b, "corral_actor_healthy", "gauge",
                         "Last health check result (1 healthy, 0 not); absent until checked.")))
        return st;
    for (actor_entry_t *a = h->actors; st == CORRAL_OK && a; a = a->next) {
        actor_core_t *c = a->ver->core;
        pthread_mutex_lock(&c->health_mu);
        int known = c->health_known, ok = c->healthy;
        pthread_mutex_unlock(&c->health_mu);
        if (!known) continue;
        st = corral_buf_append_str(b, "corral_actor_healthy{");
        if (st == CORRAL_OK) st = put_actor_labels(b, a->ver);
        if (st == CORRAL_OK) st = corral_buf_printf(b, "} %d\n", ok ? 1 : 0);
    }
    if (st == CORRAL_OK)
        st = put_family(b, "corral_provider_up", "gauge",
                        "Providers running on this host (1 running, 0 stopping).");
    for (prov_entry_t *e = h->provs; st == CORRAL_OK && e; e = e->next) {
        prov_t *p = e->prov;
        st = corral_buf_printf(b, "corral_provider_up{provider=\"%s\",name=\"", p->key);
        if (st == CORRAL_OK) st = put_label(b, p->name);
        if (st == CORRAL_OK) st = corral_buf_append_str(b, "\",contract_id=\"");
        if (st == CORRAL_OK) st = put_label(b, p->contract_id);
        if (st == CORRAL_OK) st = corral_buf_append_str(b, "\",link_name=\"");
        if (st == CORRAL_OK) st = put_label(b, p->link_name);
        if (st == CORRAL_OK)
            st = corral_buf_printf(b, "\"} %d\n", atomic_load(&p->stopping) ? 0 : 1);
    }
    if (st == CORRAL_OK)
        st = put_family(b, "corral_link_applied", "gauge",
                        "Kept links: 1 when a running provider accepted it, 0 while waiting.");
    for (link_t *l = h->links; st == CORRAL_OK && l; l = l->next) {
        st = corral_buf_printf(b, "corral_link_applied{actor=\"%s\",contract_id=\"", l->actor);
        if (st == CORRAL_OK) st = put_label(b, l->contract_id);
        if (st == CORRAL_OK) st = corral_buf_append_str(b, "\",link_name=\"");
        if (st == CORRAL_OK) st = put_label(b, l->link_name);
        if (st == CORRAL_OK) st = corral_buf_printf(b, "\"} %d\n", l->applied ? 1 : 0);
    }
    return st;
}

corral_status_t corral_host_metrics(corral_host_t *h, corral_buf_t *out, corral_err_t *err) {
    size_t start = out->len;
    pthread_mutex_lock(&h->ctl);
    corral_status_t st = put_all(out, h);
    pthread_mutex_unlock(&h->ctl);
    if (st != CORRAL_OK) {
        out->len = start;
        return corral_err_set(err, st, "out of memory building the metrics");
    }
    return CORRAL_OK;
}

/* ---- the /metrics HTTP endpoint ------------------------------------------------------------ */

/* One connection at a time on one thread: a scraper needs no more, and the
 * bounds (8 KiB request head, 2 s to send it, 5 s to take the answer) keep
 * a stuck or hostile peer from holding it longer. */

#define MHTTP_HEAD_MAX 8192

struct corral_host_metrics_http {
    corral_host_t *host;
    int fd;
    int wake[2];
    uint16_t port;
    pthread_t thread;
};

static void send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

static void reply(int fd, const char *status, const char *ctype, const char *body, size_t n) {
    char head[256];
    int hn = snprintf(head, sizeof head,
                      "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, ctype, n);
    send_all(fd, head, (size_t)hn);
    if (n) send_all(fd, body, n);
}

static void serve_one(corral_host_metrics_http_t *s, int fd) {
    struct timeval rt = {2, 0}, wt = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof rt);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wt, sizeof wt);
    char buf[MHTTP_HEAD_MAX + 1];
    size_t len = 0;
    uint64_t deadline = corral_now_ns() + 2000000000ull;
    for (;;) {
        if (len == MHTTP_HEAD_MAX) {
            static const char m[] = "request head too large\n";
            reply(fd, "431 Request Header Fields Too Large", "text/plain", m, sizeof m - 1);
            return;
        }
        ssize_t r = recv(fd, buf + len, MHTTP_HEAD_MAX - len, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0 || corral_now_ns() > deadline) return;
        len += (size_t)r;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n")) break;
    }
    char *eol = strpbrk(buf, "\r\n");
    *eol = '\0';
    char *sp1 = strchr(buf, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        static const char m[] = "bad request\n";
        reply(fd, "400 Bad Request", "text/plain", m, sizeof m - 1);
        return;
    }
    *sp1 = *sp2 = '\0';
    const char *path = sp1 + 1;
    size_t plen = strcspn(path, "?");
    if (plen != 8 || strncmp(path, "/metrics", 8) != 0) {
        static const char m[] = "not found: the metrics are at /metrics\n";
        reply(fd, "404 Not Found", "text/plain", m, sizeof m - 1);
        return;
    }
    if (strcmp(buf, "GET") != 0) {
        static const char m[] = "only GET\n";
        reply(fd, "405 Method Not Allowed", "text/plain", m, sizeof m - 1);
        return;
    }
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_err_t err;
    corral_err_clear(&err);
    if (corral_host_metrics(s->host, &b, &err) != CORRAL_OK) {
        static const char m[] = "out of memory\n";
        reply(fd, "500 Internal Server Error", "text/plain", m, sizeof m - 1);
    } else {
        reply(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", (const char *)b.data,
              b.len);
    }
    corral_buf_free(&b);
}

static void *mhttp_main(void *arg) {
    corral_host_metrics_http_t *s = arg;
    struct pollfd pf[2] = {{.fd = s->fd, .events = POLLIN}, {.fd = s->wake[0], .events = POLLIN}};
    for (;;) {
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (pf[1].revents) break;
        if (!(pf[0].revents & POLLIN)) continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) continue;
        serve_one(s, c);
        /* lingering close: read what the peer still sends (bounded), so
         * closing with unread bytes does not reset the answer away */
        shutdown(c, SHUT_WR);
        struct timeval lt = {0, 200000};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &lt, sizeof lt);
        char sink[4096];
        size_t drained = 0;
        ssize_t r;
        while (drained < 65536 && (r = recv(c, sink, sizeof sink, 0)) > 0) drained += (size_t)r;
        close(c);
    }
    return NULL;
}

corral_status_t corral_host_metrics_http_start(corral_host_t *h, const char *bind_addr,
                                               uint16_t port, corral_host_metrics_http_t **out,
                                               corral_err_t *err) {
    *out = NULL;
    if (!bind_addr || !*bind_addr) bind_addr = "127.0.0.1";
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, bind_addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        sl = sizeof *a4;
    } else if (inet_pton(AF_INET6, bind_addr, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        sl = sizeof *a6;
    } else {
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "metrics endpoint: '%s' is not an IPv4 or IPv6 address", bind_addr);
    }
    corral_host_metrics_http_t *s = corral_calloc(1, sizeof *s);
    if (!s) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    s->host = h;
    s->wake[0] = s->wake[1] = -1;
    s->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    corral_status_t st;
    if (s->fd < 0) {
        st = corral_err_set(err, CORRAL_ERR_IO, "metrics endpoint: socket: %s", strerror(errno));
        goto fail;
    }
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s->fd, (struct sockaddr *)&ss, sl) != 0 || listen(s->fd, 16) != 0) {
        st = corral_err_set(err, CORRAL_ERR_IO, "metrics endpoint: cannot listen on %s port %u: %s",
                            bind_addr, (unsigned)port, strerror(errno));
        goto fail;
    }
    getsockname(s->fd, (struct sockaddr *)&ss, &sl);
    s->port = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
    if (pipe(s->wake) != 0) {
        st = corral_err_set(err, CORRAL_ERR_IO, "metrics endpoint: pipe: %s", strerror(errno));
        goto fail;
    }
    if (pthread_create(&s->thread, NULL, mhttp_main, s) != 0) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "metrics endpoint: cannot start its thread");
        goto fail;
    }
    *out = s;
    return CORRAL_OK;
fail:
    if (s->fd >= 0) close(s->fd);
    if (s->wake[0] >= 0) close(s->wake[0]);
    if (s->wake[1] >= 0) close(s->wake[1]);
    corral_free(s);
    return st;
}

uint16_t corral_host_metrics_http_port(const corral_host_metrics_http_t *s) {
    return s ? s->port : 0;
}

void corral_host_metrics_http_stop(corral_host_metrics_http_t *s) {
    if (!s) return;
    ssize_t w;
    do w = write(s->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(s->thread, NULL);
    close(s->fd);
    close(s->wake[0]);
    close(s->wake[1]);
    corral_free(s);
}

/* ---- lifecycle events as CloudEvents ----------------------------------------------------- */

void corral_host_set_event_sink(corral_host_t *h, corral_host_event_fn fn, void *user) {
    h->ev_user = user;
    h->ev_fn = fn;
}

void host_event(corral_host_t *h, const char *type, ...) {
    corral_host_event_fn fn = h->ev_fn;
    if (!fn) return;
    uint8_t idb[16];
    char id[33], tm[96], ty[96], src[96];
    randombytes_buf(idb, sizeof idb);
    sodium_bin2hex(id, sizeof id, idb, sizeof idb);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm t;
    gmtime_r(&ts.tv_sec, &t);
    snprintf(tm, sizeof tm, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", t.tm_year + 1900, t.tm_mon + 1,
             t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, (long)(ts.tv_nsec / 1000000L % 1000));
    snprintf(ty, sizeof ty, "com.wasmcloud.lattice.%s", type);
    snprintf(src, sizeof src, "corral://host/%s", h->key);
    json_t *data = json_object();
    va_list ap;
    va_start(ap, type);
    const char *k;
    while (data && (k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        if (v) json_object_set_new(data, k, json_string(v));
    }
    va_end(ap);
    json_object_set_new(data, "host_id", json_string(h->key));
    json_t *ev = data ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "specversion", "1.0",
                                  "id", id, "source", src, "type", ty, "time", tm,
                                  "datacontenttype", "application/json", "data", data)
                      : NULL;
    char *line = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (line) fn(h->ev_user, line);
    free(line);
}

/*
 * cmd_top.c - `corral top`: a live view of a running host's actors. Polls the
 * control op `metrics` (docs/control.md; the Prometheus text of
 * host/metrics.c) every interval and redraws one table in place: instances,
 * calls in flight, totals, calls and errors per second, and p50/p99 latency
 * estimated from the histogram's change over the interval. `--once` prints a
 * single frame without escape codes (for scripts and tests).
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "control_client.h"

#define TOP_BUCKETS 18
static const double le_[TOP_BUCKETS] = {50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3,
                                        5e-3,  10e-3,  25e-3,  50e-3,  0.1,  0.25,
                                        0.5,   1,      2.5,    5,      10,   INFINITY};

typedef struct top_actor {
    char key[64];
    char name[96];
    unsigned long long calls, errors, traps;
    long long instances, inflight, swaps;
    unsigned long long buckets[TOP_BUCKETS]; /* cumulative, summed over operations */
} top_actor_t;

typedef struct top_sample {
    top_actor_t *a;
    size_t n, cap;
    double uptime_s;
    char host[64];
    uint64_t at_ns;
} top_sample_t;

static void sample_free(top_sample_t *s) {
    corral_free(s->a);
    memset(s, 0, sizeof *s);
}

/* Reads the label `name` of a sample line's label set into out (unescaped).
 * 0 when absent. */
static int label(const char *labels, const char *name, char *out, size_t n) {
    size_t nl = strlen(name);
    for (const char *p = labels; (p = strstr(p, name)) != NULL; p += nl) {
        if ((p != labels && p[-1] != ',' && p[-1] != '{') || strncmp(p + nl, "=\"", 2) != 0)
            continue;
        const char *q = p + nl + 2;
        size_t o = 0;
        while (*q && *q != '"') {
            char ch = *q++;
            if (ch == '\\' && *q) {
                ch = *q++;
                if (ch == 'n') ch = ' ';
            }
            if (o + 1 < n) out[o++] = ch;
        }
        out[o] = '\0';
        return 1;
    }
    return 0;
}

static top_actor_t *actor_of(top_sample_t *s, const char *key) {
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->a[i].key, key) == 0) return &s->a[i];
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        top_actor_t *g = corral_realloc(s->a, cap * sizeof *g);
        if (!g) return NULL;
        s->a = g;
        s->cap = cap;
    }
    top_actor_t *a = &s->a[s->n++];
    memset(a, 0, sizeof *a);
    snprintf(a->key, sizeof a->key, "%s", key);
    return a;
}

static int bucket_index(const char *le) {
    if (strcmp(le, "+Inf") == 0) return TOP_BUCKETS - 1;
    double v = strtod(le, NULL);
    for (int i = 0; i < TOP_BUCKETS - 1; i++)
        if (fabs(v - le_[i]) <= le_[i] * 1e-9) return i;
    return -1;
}

/* Parses the exposition text into s (only the families top shows). */
static corral_status_t parse(const char *text, top_sample_t *s) {
    char key[64], name[96], le[32];
    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[1024];
        if (len < sizeof line && *p != '#') {
            memcpy(line, p, len);
            line[len] = '\0';
            char *brace = strchr(line, '{'), *close = strrchr(line, '}');
            double v = 0;
            if (brace && close && close > brace) {
                v = strtod(close + 1, NULL);
                *brace = '\0';
                *close = '\0';
                const char *labels = brace + 1;
                if (strcmp(line, "corral_host_info") == 0) {
                    label(labels, "host", s->host, sizeof s->host);
                } else if (strncmp(line, "corral_actor_", 13) == 0 &&
                           label(labels, "actor", key, sizeof key)) {
                    top_actor_t *a = actor_of(s, key);
                    if (!a) return CORRAL_ERR_NOMEM;
                    if (label(labels, "name", name, sizeof name))
                        snprintf(a->name, sizeof a->name, "%s", name);
                    const char *m = line + 13;
                    unsigned long long u = v > 0 ? (unsigned long long)v : 0;
                    if (strcmp(m, "calls_total") == 0) a->calls += u;
                    else if (strcmp(m, "errors_total") == 0) a->errors += u;
                    else if (strcmp(m, "traps_total") == 0) a->traps += u;
                    else if (strcmp(m, "instances") == 0) a->instances = (long long)v;
                    else if (strcmp(m, "inflight") == 0) a->inflight = (long long)v;
                    else if (strcmp(m, "swaps_total") == 0) a->swaps = (long long)v;
                    else if (strcmp(m, "call_duration_seconds_bucket") == 0 &&
                             label(labels, "le", le, sizeof le)) {
                        int b = bucket_index(le);
                        if (b >= 0) a->buckets[b] += u;
                    }
                }
            } else if (strncmp(line, "corral_host_uptime_seconds ", 27) == 0) {
                s->uptime_s = strtod(line + 27, NULL);
            }
        }
        p = eol ? eol + 1 : NULL;
    }
    return CORRAL_OK;
}

static corral_status_t fetch(corral_ctl_t *c, top_sample_t *s, corral_err_t *err) {
    json_t *req = json_pack("{s:s}", "op", "metrics"), *res = NULL;
    if (!req) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    corral_status_t st = corral_ctl_request(c, req, 10000, &res, err);
    json_decref(req);
    if (st != CORRAL_OK) return st;
    const char *text = json_string_value(json_object_get(res, "text"));
    if (!text) {
        json_decref(res);
        return corral_err_set(err, CORRAL_ERR_PARSE,
                              "the host's metrics reply has no \"text\" (an older host?)");
    }
    s->at_ns = corral_now_ns();
    st = parse(text, s);
    json_decref(res);
    if (st != CORRAL_OK) return corral_err_set(err, st, "out of memory");
    return CORRAL_OK;
}

/* The q-quantile of a cumulative histogram, interpolated linearly inside
 * its bucket (as Prometheus' histogram_quantile does); -1 when empty. */
static double quantile(const unsigned long long *cum, double q) {
    unsigned long long total = cum[TOP_BUCKETS - 1];
    if (total == 0) return -1;
    double rank = q * (double)total;
    for (int i = 0; i < TOP_BUCKETS; i++) {
        if ((double)cum[i] >= rank) {
            if (i == TOP_BUCKETS - 1) return le_[TOP_BUCKETS - 2]; /* beyond the last bound */
            double lo = i ? le_[i - 1] : 0, prev = i ? (double)cum[i - 1] : 0;
            double in = (double)cum[i] - prev;
            return in > 0 ? lo + (le_[i] - lo) * (rank - prev) / in : le_[i];
        }
    }
    return le_[TOP_BUCKETS - 2];
}

static void fmt_dur(char *out, size_t n, double s) {
    if (s < 0) snprintf(out, n, "-");
    else if (s < 1e-3) snprintf(out, n, "%.0fus", s * 1e6);
    else if (s < 1) snprintf(out, n, "%.1fms", s * 1e3);
    else snprintf(out, n, "%.2fs", s);
}

static const top_actor_t *find(const top_sample_t *s, const char *key) {
    for (size_t i = 0; s && i < s->n; i++)
        if (strcmp(s->a[i].key, key) == 0) return &s->a[i];
    return NULL;
}

typedef struct row {
    const top_actor_t *a;
    double cps, eps, p50, p99;
} row_t;

static int by_rate(const void *x, const void *y) {
    const row_t *a = x, *b = y;
    if (a->cps != b->cps) return a->cps < b->cps ? 1 : -1;
    int c = strcmp(a->a->name, b->a->name);
    return c ? c : strcmp(a->a->key, b->a->key);
}

/* Draws one frame of cur against prev (NULL: no rates yet). */
static void draw(const top_sample_t *prev, const top_sample_t *cur, int ansi) {
    double dt = prev ? (double)(cur->at_ns - prev->at_ns) / 1e9 : 0;
    row_t *rows = cur->n ? corral_calloc(cur->n, sizeof *rows) : NULL;
    if (cur->n && !rows) return;
    for (size_t i = 0; i < cur->n; i++) {
        const top_actor_t *a = &cur->a[i], *b = find(prev, a->key);
        rows[i].a = a;
        unsigned long long d[TOP_BUCKETS];
        int have = 0;
        if (b && dt > 0 && a->calls >= b->calls) {
            rows[i].cps = (double)(a->calls - b->calls) / dt;
            rows[i].eps = a->errors >= b->errors ? (double)(a->errors - b->errors) / dt : 0;
            for (int k = 0; k < TOP_BUCKETS; k++)
                d[k] = a->buckets[k] >= b->buckets[k] ? a->buckets[k] - b->buckets[k] : 0;
            have = d[TOP_BUCKETS - 1] > 0;
        }
        /* latency of the interval, or since start when the interval had no calls */
        rows[i].p50 = quantile(have ? d : a->buckets, 0.5);
        rows[i].p99 = quantile(have ? d : a->buckets, 0.99);
    }
    if (cur->n) qsort(rows, cur->n, sizeof *rows, by_rate);
    if (ansi) fputs("\x1b[H\x1b[2J", stdout);
    printf("corral top - host %.12s  up %.0fs  %zu actor(s)%s\n\n", cur->host[0] ? cur->host : "?",
           cur->uptime_s, cur->n, prev ? "" : "  (rates after the next sample)");
    printf("%-20s %-12s %5s %5s %10s %8s %6s %9s %8s %9s %9s\n", "ACTOR", "KEY", "INST", "BUSY",
           "CALLS", "ERRORS", "TRAPS", "CALLS/S", "ERR/S", "P50", "P99");
    for (size_t i = 0; i < cur->n; i++) {
        const top_actor_t *a = rows[i].a;
        char p50[16], p99[16];
        fmt_dur(p50, sizeof p50, rows[i].p50);
        fmt_dur(p99, sizeof p99, rows[i].p99);
        printf("%-20.20s %-12.12s %5lld %5lld %10llu %8llu %6llu %9.1f %8.1f %9s %9s\n",
               a->name[0] ? a->name : "-", a->key, a->instances, a->inflight, a->calls, a->errors,
               a->traps, rows[i].cps, rows[i].eps, p50, p99);
    }
    fflush(stdout);
    corral_free(rows);
}

static volatile sig_atomic_t g_top_stop;
static void top_on_signal(int sig) {
    (void)sig;
    g_top_stop = 1;
}

static void top_usage(FILE *out) {
    fprintf(out,
            "usage: corral top [--run-dir D] [--interval-ms N] [--once]\n\n"
            "A live view of a running host's actors, redrawn in place every interval:\n"
            "instances, calls in flight (BUSY), total calls, errors and traps, calls and\n"
            "errors per second, and p50/p99 call latency over the interval (since start\n"
            "when the interval had no calls; estimated from the histogram buckets of the\n"
            "host's metrics, docs/running.md). Ctrl-C quits.\n\n"
            "  --run-dir D        the host's run dir (default $XDG_RUNTIME_DIR/corral, else\n"
            "                     /tmp/corral-<uid>)\n"
            "  --interval-ms N    time between samples (default 1000, at least 100)\n"
            "  --once             take two samples one interval apart, print one frame\n"
            "                     without terminal escape codes and exit\n\n"
            "exit codes: 0 done, 1 no host or the host failed, 2 usage error\n");
}

int corral_cli_top(int argc, char **argv) {
    static const struct option opts[] = {{"run-dir", required_argument, NULL, 'R'},
                                         {"interval-ms", required_argument, NULL, 'i'},
                                         {"once", no_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *run_dir = NULL;
    unsigned long long interval = 1000;
    int once = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'R': run_dir = optarg; break;
        case 'i':
            if (!corral_cli_parse_uint("--interval-ms", optarg, 100, 3600000, &interval))
                return CORRAL_EXIT_USAGE;
            break;
        case 'o': once = 1; break;
        case 'h': top_usage(stdout); return CORRAL_EXIT_OK;
        default: top_usage(stderr); return CORRAL_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        corral_cli_error("top takes no arguments (see 'corral top --help')");
        return CORRAL_EXIT_USAGE;
    }
    corral_err_t err;
    corral_err_clear(&err);
    corral_ctl_t *ctl = NULL;
    top_sample_t s[2];
    memset(s, 0, sizeof s);
    int rc = CORRAL_EXIT_OK, cur = 0, have_prev = 0;
    corral_status_t st = corral_ctl_connect(run_dir, &ctl, &err);
    if (st != CORRAL_OK) {
        corral_cli_error("%s", corral_err_msg(&err));
        return corral_cli_exit_for(st);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = top_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    for (int frame = 0; !g_top_stop; frame++) {
        sample_free(&s[cur]);
        if ((st = fetch(ctl, &s[cur], &err)) != CORRAL_OK) {
            corral_cli_error("%s", corral_err_msg(&err));
            rc = corral_cli_exit_for(st);
            break;
        }
        if (!once || frame == 1) draw(have_prev ? &s[!cur] : NULL, &s[cur], !once);
        if (once && frame == 1) break;
        have_prev = 1;
        cur = !cur;
        struct timespec ts = {(time_t)(interval / 1000), (long)(interval % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && !g_top_stop) {
        }
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sample_free(&s[0]);
    sample_free(&s[1]);
    corral_ctl_close(ctl);
    return rc;
}

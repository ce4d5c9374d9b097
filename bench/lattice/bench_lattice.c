/*
 * bench_lattice.c - corral_bench_lattice: the cost of a call across the
 * lattice (issue 6). In one process, against one nats-server:
 *   - the floor the machine sets for the token: raw libsodium
 *     crypto_sign_detached / crypto_sign_verify_detached over a
 *     token-sized message, then corral_lattice_sign / _verify as a call
 *     uses them;
 *   - a bare cnats request-reply echo (a subscriber answering with the
 *     request's bytes) carried by the lattice members' own NATS connections,
 *     so it has exactly the connection options the lattice uses;
 *   - a remote actor call (host A -> NATS -> host B's echo actor) with the
 *     envelope, the cluster-signed token, its verification and the replay
 *     check on every call;
 *   - the same remote call between two members started with
 *     insecure_unsigned (no token at all): what anti-forgery costs.
 * Latency is measured one call at a time, the three kinds (and a raw
 * sign + verify) first interleaved call by call, so each sees the same
 * machine load (this machine is shared), then each alone in turn (as
 * before issue 6 was worked on: a tight loop of one kind keeps its threads
 * and CPUs hot, which favours the bare echo most); each round prints
 * p50/p99, the p50 ratios to the bare round trip, and the floor ratio
 * (bare + raw sign + raw verify) / bare that no signed call can beat.
 * Calls/s are measured with many callers in flight.
 *
 * usage: corral_bench_lattice [--nats URL] [--seconds S] [--threads T]
 *                             [--size N] [--rounds R]
 * Without --nats (or CORRAL_TEST_NATS_URL) it starts nats-server itself.
 */
#include <nats/nats.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "corral_lattice.h"
#include "nats_server.h"

static double now_s(void) { return (double)corral_now_ns() / 1e9; }

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef int (*call_fn)(void *ctx, const uint8_t *p, size_t n);

/* One kind of call and its latencies (ns) in the current round. */
typedef struct series {
    const char *name;
    call_fn fn;
    void *ctx;
    uint64_t *lat;
    size_t n, cap;
    int errors;
    double p50_sum; /* over rounds, for the summary */
    double p99_sum;
} series_t;

static double pct(series_t *s, int p) {
    if (!s->n) return 0;
    qsort(s->lat, s->n, sizeof *s->lat, cmp_u64);
    size_t i = s->n * (size_t)p / 100;
    return (double)s->lat[i < s->n ? i : s->n - 1] / 1e3;
}

/* Calls each series in turn (rotating who goes first) for `seconds`. */
static void interleaved(series_t *s, int ns, const uint8_t *p, size_t n, double seconds) {
    for (int k = 0; k < ns; k++) {
        s[k].n = 0;
        s[k].errors = 0;
        for (int i = 0; i < 100; i++) s[k].errors += s[k].fn(s[k].ctx, p, n); /* warm up */
    }
    double end = now_s() + seconds;
    for (unsigned it = 0; now_s() < end; it++) {
        for (int j = 0; j < ns; j++) {
            series_t *x = &s[(it + (unsigned)j) % (unsigned)ns];
            if (x->n == x->cap) continue;
            uint64_t t0 = corral_now_ns();
            x->errors += x->fn(x->ctx, p, n);
            x->lat[x->n++] = corral_now_ns() - t0;
        }
    }
}

/* Latency of one kind alone (no NATS, or crypto only). */
static void alone(const char *name, call_fn fn, void *ctx, const uint8_t *p, size_t n,
                  double seconds) {
    series_t s = {name, fn, ctx, NULL, 0, 1 << 20, 0, 0, 0};
    s.lat = malloc(s.cap * sizeof *s.lat);
    interleaved(&s, 1, p, n, seconds);
    double p50 = pct(&s, 50), p99 = pct(&s, 99);
    printf("  %-40s p50 %7.1f us  p99 %7.1f us  min %6.1f us  (%zu calls, %d errors)\n", name,
           p50, p99, s.n ? s.lat[0] / 1e3 : 0, s.n, s.errors);
    free(s.lat);
}

typedef struct tp_arg {
    call_fn fn;
    void *ctx;
    const uint8_t *p;
    size_t n;
    double end;
    atomic_long *calls, *errors;
} tp_arg_t;

static void *tp_main(void *a_) {
    tp_arg_t *a = a_;
    long c = 0, e = 0;
    while (now_s() < a->end) {
        e += a->fn(a->ctx, a->p, a->n);
        c++;
    }
    atomic_fetch_add(a->calls, c);
    atomic_fetch_add(a->errors, e);
    return NULL;
}

/* CPU seconds this process (every thread; not nats-server) has used. */
static double cpu_s(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec +
           u.ru_stime.tv_usec / 1e6;
}

/* Calls/s with `threads` callers, each one call at a time, and the CPU
 * time (user + system, all of this process's threads) per call. */
static void throughput(const char *name, call_fn fn, void *ctx, const uint8_t *p, size_t n,
                       double seconds, int threads) {
    atomic_long calls = 0, errors = 0;
    pthread_t th[256];
    tp_arg_t a = {fn, ctx, p, n, now_s() + seconds, &calls, &errors};
    double t0 = now_s(), c0 = cpu_s();
    for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, tp_main, &a);
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    double dt = now_s() - t0, dc = cpu_s() - c0;
    printf("  %-40s %9.0f calls/s  %6.1f us CPU/call  (%d in flight, %ld calls, %ld errors)\n",
           name, (double)calls / dt, calls ? dc * 1e6 / (double)calls : 0, threads, (long)calls,
           (long)errors);
}

/* ---- raw crypto ----------------------------------------------------------------- */

typedef struct raw_ctx {
    unsigned char pk[32], sk[64], sig[64], msg[480];
} raw_ctx_t;

static int raw_sign(void *ctx, const uint8_t *p, size_t n) {
    raw_ctx_t *r = ctx;
    (void)p, (void)n;
    return crypto_sign_detached(r->sig, NULL, r->msg, sizeof r->msg, r->sk) != 0;
}

static int raw_verify(void *ctx, const uint8_t *p, size_t n) {
    raw_ctx_t *r = ctx;
    (void)p, (void)n;
    return crypto_sign_verify_detached(r->sig, r->msg, sizeof r->msg, r->pk) != 0;
}

/* What one signed call cannot do without: one signature and one check. */
static int raw_both(void *ctx, const uint8_t *p, size_t n) {
    return raw_sign(ctx, p, n) | raw_verify(ctx, p, n);
}

/* ---- bare cnats ------------------------------------------------------------- */

static void on_echo(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *c) {
    (void)sub, (void)c;
    natsConnection_Publish(nc, natsMsg_GetReply(m), natsMsg_GetData(m), natsMsg_GetDataLength(m));
    natsMsg_Destroy(m);
}

static int bare_call(void *ctx, const uint8_t *p, size_t n) {
    natsMsg *r = NULL;
    natsStatus s = natsConnection_Request(&r, ctx, "bench.echo", p, (int)n, 2000);
    int bad = s != NATS_OK || (size_t)natsMsg_GetDataLength(r) != n ||
              (n && memcmp(natsMsg_GetData(r), p, n) != 0);
    natsMsg_Destroy(r);
    return bad;
}

/* ---- lattice ------------------------------------------------------------------- */

typedef struct lat_ctx {
    corral_lattice_t *lat;
    char key[CORRAL_HOST_KEY_LEN];
} lat_ctx_t;

static int lattice_call(void *ctx, const uint8_t *p, size_t n) {
    lat_ctx_t *c = ctx;
    corral_lattice_entity_t t = {c->key, NULL, NULL};
    corral_buf_t out = CORRAL_BUF_INIT;
    int bad = corral_lattice_call(c->lat, NULL, &t, "echo", p, n, 0, &out, NULL) != CORRAL_OK ||
              out.len != n || (n && memcmp(out.data, p, n) != 0);
    corral_buf_free(&out);
    return bad;
}

typedef struct sign_ctx {
    corral_nkey_t key;
    char pub[CORRAL_NKEY_PUBLIC_LEN + 1];
    int verify;
    corral_lattice_replay_t *replay;
} sign_ctx_t;

static int sign_only(void *ctx, const uint8_t *p, size_t n) {
    sign_ctx_t *s = ctx;
    corral_lattice_invocation_t inv;
    memset(&inv, 0, sizeof inv);
    inv.origin.public_key = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
    inv.target.public_key = "MAAAOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
    inv.operation = "echo";
    inv.msg = (uint8_t *)p;
    inv.msg_len = n;
    int bad = corral_lattice_sign(&inv, NULL, 0, &s->key, 0, 0, NULL) != CORRAL_OK;
    if (!bad && s->verify) {
        const char *iss[1] = {s->pub};
        corral_lattice_verify_opts_t o = {iss, 1, 0, 0, s->replay, 0};
        bad = corral_lattice_verify(&inv, NULL, 0, &o, NULL) != CORRAL_OK;
    }
    corral_free(inv.id);
    corral_free(inv.encoded_claims);
    return bad;
}

/* `rounds` rounds of the four kinds (interleaved call by call, or each
 * alone in turn), each round's p50/p99 and ratios, then their means. */
static void rounds_of(series_t *s, int rounds, int inter, const uint8_t *p, size_t n,
                      double seconds) {
    const char *m = inter ? "interleaved" : "sequential";
    for (int k = 0; k < 4; k++) s[k].p50_sum = s[k].p99_sum = 0;
    for (int r = 0; r < rounds; r++) {
        if (inter) interleaved(s, 4, p, n, seconds);
        else
            for (int k = 0; k < 4; k++) interleaved(&s[k], 1, p, n, seconds);
        double p50[4];
        for (int k = 0; k < 4; k++) {
            p50[k] = pct(&s[k], 50);
            double p99 = pct(&s[k], 99);
            s[k].p50_sum += p50[k];
            s[k].p99_sum += p99;
            printf("  round %d  %-38s p50 %7.1f us  p99 %7.1f us  (%zu calls, %d errors)\n", r + 1,
                   s[k].name, p50[k], p99, s[k].n, s[k].errors);
        }
        printf("  round %d  p50 ratio to bare: signed %.2fx, unsigned %.2fx, floor %.2fx\n", r + 1,
               p50[1] / p50[0], p50[2] / p50[0], (p50[0] + p50[3]) / p50[0]);
    }
    printf("%s, mean of %d round(s): bare p50 %.1f us | signed p50 %.1f us, p99 %.1f us | "
           "unsigned p50 %.1f us, p99 %.1f us | raw sign + verify p50 %.1f us\n",
           m, rounds, s[0].p50_sum / rounds, s[1].p50_sum / rounds, s[1].p99_sum / rounds,
           s[2].p50_sum / rounds, s[2].p99_sum / rounds, s[3].p50_sum / rounds);
    printf("%s: signed p50 ratio %.2fx (goal <= 1.50x), unsigned p50 ratio %.2fx, floor %.2fx\n",
           m, s[1].p50_sum / s[0].p50_sum, s[2].p50_sum / s[0].p50_sum,
           (s[0].p50_sum + s[3].p50_sum) / s[0].p50_sum);
}

static int member_start(corral_host_t **h, corral_lattice_t **l, const char *lattice,
                        const char *seed, int insecure_unsigned);

int main(int argc, char **argv) {
    double seconds = 2;
    int threads = 16, rounds = 3;
    size_t size = 64;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--nats")) setenv("CORRAL_TEST_NATS_URL", argv[i + 1], 1);
        else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--size")) size = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: %s [--nats URL] [--seconds S] [--threads T] [--size N] "
                            "[--rounds R]\n", argv[0]);
            return 2;
        }
    }
    if (threads < 1 || threads > 256) threads = 16;
    if (rounds < 1 || rounds > 100) rounds = 3;
    if (seconds <= 0) seconds = 2;
    corral_log_set_level(CORRAL_LOG_ERROR); /* the unsigned members' warning is printed below */
    if (sodium_init() < 0 || test_nats_start()) {
        fprintf(stderr, "bench: no libsodium or no nats-server\n");
        return 1;
    }
    uint8_t *payload = malloc(size ? size : 1);
    for (size_t i = 0; i < size; i++) payload[i] = (uint8_t)i;
    printf("corral_bench_lattice: %zu-byte payload, %.1f s per figure, %d round(s), NATS %s\n",
           size, seconds, rounds, g_url);

    /* the floor: what ed25519 itself costs on this machine */
    raw_ctx_t raw;
    crypto_sign_keypair(raw.pk, raw.sk);
    randombytes_buf(raw.msg, sizeof raw.msg);
    crypto_sign_detached(raw.sig, NULL, raw.msg, sizeof raw.msg, raw.sk);
    printf("crypto floor (libsodium %s, %zu-byte message, one core)\n", sodium_version_string(),
           sizeof raw.msg);
    alone("crypto_sign_detached", raw_sign, &raw, payload, size, seconds / 4);
    alone("crypto_sign_verify_detached", raw_verify, &raw, payload, size, seconds / 4);

    corral_nkey_t cluster;
    char seed[CORRAL_NKEY_SEED_LEN + 1];
    corral_nkey_generate(CORRAL_NKEY_CLUSTER, &cluster, NULL);
    corral_nkey_seed_str(&cluster, seed, NULL);
    sign_ctx_t sc = {0};
    sc.key = cluster;
    corral_nkey_public_str(&cluster, sc.pub);
    corral_lattice_replay_new(0, &sc.replay, NULL);
    printf("anti-forgery per invocation (token, JSON, base64url, SHA-256, replay cache)\n");
    alone("corral_lattice_sign", sign_only, &sc, payload, size, seconds / 4);
    sc.verify = 1;
    alone("corral_lattice_sign + _verify", sign_only, &sc, payload, size, seconds / 4);

    /* members A, B (signed, the default) and C, D (insecure_unsigned), in
     * two lattices; the echo actor runs on B and on D only */
    corral_host_t *ha, *hb, *hc, *hd;
    corral_lattice_t *la, *lb, *lcu, *ldu;
    if (member_start(&ha, &la, "bench", seed, 0) || member_start(&hb, &lb, "bench", seed, 0) ||
        member_start(&hc, &lcu, "benchu", seed, 1) || member_start(&hd, &ldu, "benchu", seed, 1))
        return 1;
    corral_host_actor_info_t info;
    corral_host_actor_opts_t ao = {0};
    ao.limits.max_instances = 8;
    corral_err_t err;
    if (corral_host_actor_start_file(hb, BENCH_GUEST_DIR "/echo.wasm", &ao, &info, &err) ||
        corral_lattice_sync(lb, &err) ||
        corral_host_actor_start_file(hd, BENCH_GUEST_DIR "/echo.wasm", &ao, &info, &err) ||
        corral_lattice_sync(ldu, &err)) {
        fprintf(stderr, "bench: echo actor: %s\n", err.msg);
        return 1;
    }
    /* bare echo: responder on B's connection, requests from A's: the very
     * connections (and natsOptions) the lattice's calls travel on */
    natsSubscription *sub = NULL;
    if (natsConnection_Subscribe(&sub, corral_lattice_connection(lb), "bench.echo", on_echo,
                                 NULL) != NATS_OK ||
        natsConnection_Flush(corral_lattice_connection(lb)) != NATS_OK) {
        fprintf(stderr, "bench: cannot subscribe the bare echo\n");
        return 1;
    }
    lat_ctx_t sig = {la, ""}, uns = {lcu, ""}, local = {lb, ""};
    memcpy(sig.key, info.key, sizeof sig.key);
    memcpy(uns.key, info.key, sizeof uns.key);
    memcpy(local.key, info.key, sizeof local.key);

    series_t s[4] = {
        {.name = "bare cnats request-reply", .fn = bare_call},
        {.name = "remote actor call, signed+verified", .fn = lattice_call, .ctx = &sig},
        {.name = "remote actor call, insecure_unsigned", .fn = lattice_call, .ctx = &uns},
        {.name = "raw crypto_sign + _verify_detached", .fn = raw_both, .ctx = &raw},
    };
    s[0].ctx = corral_lattice_connection(la);
    for (int k = 0; k < 4; k++) {
        s[k].cap = 1 << 20;
        s[k].lat = malloc(s[k].cap * sizeof *s[k].lat);
    }
    printf("one call at a time; the bare echo runs over the lattice members' own NATS\n"
           "connections (same natsOptions, SendAsap on); 'floor' is (bare + raw sign + raw\n"
           "verify) / bare: the least ratio a signed call can have here\n");
    printf("interleaved: the kinds take turns call by call (each sees the same load)\n");
    rounds_of(s, rounds, 1, payload, size, seconds);
    printf("sequential: each kind alone for %.1f s in turn (a tight loop keeps its threads "
           "hot)\n", seconds / 2);
    rounds_of(s, rounds, 0, payload, size, seconds / 2);
    for (int k = 0; k < 4; k++) free(s[k].lat);
    alone("same call, callee local (no NATS)", lattice_call, &local, payload, size, seconds / 4);

    printf("many calls in flight\n");
    throughput("bare cnats request-reply", bare_call, corral_lattice_connection(la), payload, size,
               seconds, threads);
    throughput("remote actor call, signed+verified", lattice_call, &sig, payload, size, seconds,
               threads);
    throughput("remote actor call, insecure_unsigned", lattice_call, &uns, payload, size, seconds,
               threads);

    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    corral_host_stop(ha);
    corral_host_stop(hb);
    corral_host_stop(hc);
    corral_host_stop(hd);
    corral_lattice_free(la);
    corral_lattice_free(lb);
    corral_lattice_free(lcu);
    corral_lattice_free(ldu);
    corral_host_free(ha);
    corral_host_free(hb);
    corral_host_free(hc);
    corral_host_free(hd);
    corral_lattice_replay_free(sc.replay);
    corral_nkey_wipe(&cluster);
    corral_nkey_wipe(&sc.key);
    free(payload);
    return 0;
}

static int member_start(corral_host_t **h, corral_lattice_t **l, const char *lattice,
                        const char *seed, int insecure_unsigned) {
    corral_host_config_t hc = {0};
    hc.allow_unsigned = 1;
    hc.no_builtins = 1;
    hc.health_interval_ms = CORRAL_HOST_HEALTH_OFF;
    corral_err_t err;
    corral_lattice_config_t lc = {0};
    lc.lattice = lattice;
    lc.nats_url = g_url;
    lc.cluster_seed = seed;
    lc.rpc_threads = 4;
    lc.insecure_unsigned = insecure_unsigned;
    if (corral_host_new(&hc, h, &err) || corral_host_start(*h, &err) ||
        corral_lattice_new(*h, &lc, l, &err) || corral_lattice_start(*l, &err)) {
        fprintf(stderr, "bench: member: %s\n", err.msg);
        return 1;
    }
    if (insecure_unsigned)
        printf("  member of lattice %s started with insecure_unsigned (it logs an INSECURE "
               "warning)\n", lattice);
    return 0;
}

/*
 * bench_lattice.c - corral_bench_lattice: the cost of a call across the
 * lattice. In one run, against one nats-server:
 *   - bare cnats request-reply echo (a subscriber answering with the
 *     request's bytes): the floor NATS itself sets;
 *   - a remote actor call (host A -> NATS -> host B's echo actor), with the
 *     envelope, the cluster-signed token, its verification and the replay
 *     check on every call;
 *   - signing and verifying one invocation token alone (what "without
 *     signing" would save per call: anti-forgery cannot be switched off).
 * Each is measured one call at a time (p50/p99 latency) and with many calls
 * in flight from several threads (calls/s).
 *
 * usage: corral_bench_lattice [--nats URL] [--seconds S] [--threads T] [--size N]
 * Without --nats (or CORRAL_TEST_NATS_URL) it starts nats-server itself.
 */
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral_lattice.h"
#include "nats_server.h"

static double now_s(void) { return (double)corral_now_ns() / 1e9; }

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef int (*call_fn)(void *ctx, const uint8_t *p, size_t n);

/* Latency of one call at a time for `seconds`. */
static void latency(const char *name, call_fn fn, void *ctx, const uint8_t *p, size_t n,
                    double seconds) {
    size_t cap = 1 << 20, cnt = 0;
    uint64_t *lat = malloc(cap * sizeof *lat);
    int errors = 0;
    for (int i = 0; i < 200; i++) errors += fn(ctx, p, n); /* warm up */
    double end = now_s() + seconds;
    while (now_s() < end && cnt < cap) {
        uint64_t t0 = corral_now_ns();
        errors += fn(ctx, p, n);
        lat[cnt++] = corral_now_ns() - t0;
    }
    qsort(lat, cnt, sizeof *lat, cmp_u64);
    printf("  %-34s  p50 %7.1f us  p99 %7.1f us  (%zu calls, %d errors)\n", name,
           cnt ? lat[cnt / 2] / 1e3 : 0, cnt ? lat[cnt * 99 / 100] / 1e3 : 0, cnt, errors);
    free(lat);
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

/* Calls/s with `threads` callers, each one call at a time. */
static void throughput(const char *name, call_fn fn, void *ctx, const uint8_t *p, size_t n,
                       double seconds, int threads) {
    atomic_long calls = 0, errors = 0;
    pthread_t th[256];
    tp_arg_t a = {fn, ctx, p, n, now_s() + seconds, &calls, &errors};
    double t0 = now_s();
    for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, tp_main, &a);
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    double dt = now_s() - t0;
    printf("  %-34s  %9.0f calls/s  (%d in flight, %ld calls, %ld errors)\n", name,
           (double)calls / dt, threads, (long)calls, (long)errors);
}

/* ---- bare cnats ------------------------------------------------------------- */

static void on_echo(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *c) {
    natsConnection_Publish(nc, natsMsg_GetReply(m), natsMsg_GetData(m), natsMsg_GetDataLength(m));
    natsMsg_Destroy(m);
}

static int bare_call(void *ctx, const uint8_t *p, size_t n) {
    natsMsg *r = NULL;
    natsStatus s = natsConnection_Request(&r, ctx, "bench.echo", p, (int)n, 2000);
    int bad = s != NATS_OK || (size_t)natsMsg_GetDataLength(r) != n;
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
              out.len != n;
    corral_buf_free(&out);
    return bad;
}

typedef struct sign_ctx {
    corral_nkey_t key;
    char pub[CORRAL_NKEY_PUBLIC_LEN + 1];
    int verify;
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
        corral_lattice_verify_opts_t o = {iss, 1, 0, 0, NULL, 0};
        bad = corral_lattice_verify(&inv, NULL, 0, &o, NULL) != CORRAL_OK;
    }
    corral_free(inv.id);
    corral_free(inv.encoded_claims);
    return bad;
}

static int member_start(corral_host_t **h, corral_lattice_t **l, const char *seed);

int main(int argc, char **argv) {
    double seconds = 2;
    int threads = 16;
    size_t size = 64;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--nats")) setenv("CORRAL_TEST_NATS_URL", argv[i + 1], 1);
        else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--size")) size = (size_t)atol(argv[i + 1]);
    }
    if (threads < 1 || threads > 256) threads = 16;
    corral_log_set_level(CORRAL_LOG_WARN);
    if (test_nats_start()) {
        fprintf(stderr, "bench: no nats-server\n");
        return 1;
    }
    uint8_t *payload = malloc(size ? size : 1);
    for (size_t i = 0; i < size; i++) payload[i] = (uint8_t)i;
    printf("corral_bench_lattice: %zu-byte payload, %.1f s per figure, NATS %s\n", size, seconds,
           g_url);

    /* bare cnats: a responder connection and a requester connection, both
     * flushing at once (SendAsap) as the lattice does */
    natsOptions *o = NULL;
    natsConnection *srv = NULL, *cli = NULL;
    natsSubscription *sub = NULL;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, g_url);
    natsOptions_SetSendAsap(o, true);
    if (natsConnection_Connect(&srv, o) != NATS_OK || natsConnection_Connect(&cli, o) != NATS_OK ||
        natsConnection_Subscribe(&sub, srv, "bench.echo", on_echo, NULL) != NATS_OK) {
        fprintf(stderr, "bench: cannot connect\n");
        return 1;
    }
    natsConnection_Flush(srv);
    printf("bare cnats request-reply echo\n");
    latency("one at a time", bare_call, cli, payload, size, seconds);
    throughput("many in flight", bare_call, cli, payload, size, seconds, threads);

    /* two hosts in one process, the echo actor on host B only */
    corral_nkey_t cluster;
    char seed[CORRAL_NKEY_SEED_LEN + 1];
    corral_nkey_generate(CORRAL_NKEY_CLUSTER, &cluster, NULL);
    corral_nkey_seed_str(&cluster, seed, NULL);
    corral_host_t *ha, *hb;
    corral_lattice_t *la, *lb;
    if (member_start(&ha, &la, seed) || member_start(&hb, &lb, seed)) return 1;
    corral_host_actor_info_t info;
    corral_host_actor_opts_t ao = {0};
    ao.limits.max_instances = 8;
    corral_err_t err;
    if (corral_host_actor_start_file(hb, BENCH_GUEST_DIR "/echo.wasm", &ao, &info, &err) ||
        corral_lattice_sync(lb, &err)) {
        fprintf(stderr, "bench: echo actor: %s\n", err.msg);
        return 1;
    }
    lat_ctx_t lc = {la, ""};
    memcpy(lc.key, info.key, sizeof lc.key);
    printf("remote actor call (signed, verified, replay-checked)\n");
    latency("one at a time", lattice_call, &lc, payload, size, seconds);
    throughput("many in flight", lattice_call, &lc, payload, size, seconds, threads);
    lat_ctx_t local = {lb, ""};
    memcpy(local.key, info.key, sizeof local.key);
    latency("same call, callee local (no NATS)", lattice_call, &local, payload, size, seconds);

    sign_ctx_t sc = {0};
    sc.key = cluster;
    corral_nkey_public_str(&cluster, sc.pub);
    printf("anti-forgery alone (per invocation)\n");
    latency("sign", sign_only, &sc, payload, size, seconds / 2);
    sc.verify = 1;
    latency("sign + verify", sign_only, &sc, payload, size, seconds / 2);

    corral_host_stop(ha);
    corral_host_stop(hb);
    corral_lattice_free(la);
    corral_lattice_free(lb);
    corral_host_free(ha);
    corral_host_free(hb);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(srv);
    natsConnection_Destroy(cli);
    natsOptions_Destroy(o);
    corral_nkey_wipe(&cluster);
    corral_nkey_wipe(&sc.key);
    free(payload);
    return 0;
}

static int member_start(corral_host_t **h, corral_lattice_t **l, const char *seed) {
    corral_host_config_t hc = {0};
    hc.allow_unsigned = 1;
    hc.no_builtins = 1;
    hc.health_interval_ms = CORRAL_HOST_HEALTH_OFF;
    corral_err_t err;
    corral_lattice_config_t lc = {0};
    lc.lattice = "bench";
    lc.nats_url = g_url;
    lc.cluster_seed = seed;
    lc.rpc_threads = 4;
    if (corral_host_new(&hc, h, &err) || corral_host_start(*h, &err) ||
        corral_lattice_new(*h, &lc, l, &err) || corral_lattice_start(*l, &err)) {
        fprintf(stderr, "bench: member: %s\n", err.msg);
        return 1;
    }
    return 0;
}

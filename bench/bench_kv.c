/*
 * bench_kv.c - throughput of the wasmcloud:keyvalue providers as the host
 * sees them: provider->call() with msgpack requests, including decoding,
 * the backend and encoding the response. For each backend (memory, SQLite
 * with SYNC=normal and SYNC=full, Redis on a private loopback redis-server)
 * it times Set, Get and Add from one thread, and Add from THREADS threads on
 * one key (the contended, atomic case). Prints ops/s and microseconds/op.
 *
 *   corral_bench_kv [ops_per_case]      (default 20000; SYNC=full uses 1/10)
 */
#include <msgpack.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corral_provider.h"
#include "redis_fixture.h"

#define ACTOR "MBENCHACTOR"
#define THREADS 2

static int wr(void *d, const char *p, size_t n) {
    return corral_buf_append((corral_buf_t *)d, p, n) == CORRAL_OK ? 0 : -1;
}

static void pk_str(msgpack_packer *pk, const char *s) { msgpack_pack_str_with_body(pk, s, strlen(s)); }

/* Set {key, value, expires 0}, Get {key}, Add {key, value 1} */
static void build(corral_buf_t *b, const char *op, const char *key) {
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, wr);
    if (strcmp(op, "Set") == 0) {
        msgpack_pack_map(&pk, 3);
        pk_str(&pk, "key"); pk_str(&pk, key);
        pk_str(&pk, "value"); pk_str(&pk, "a value of some thirty bytes..");
        pk_str(&pk, "expires"); msgpack_pack_int(&pk, 0);
    } else if (strcmp(op, "Get") == 0) {
        msgpack_pack_map(&pk, 1);
        pk_str(&pk, "key"); pk_str(&pk, key);
    } else {
        msgpack_pack_map(&pk, 2);
        pk_str(&pk, "key"); pk_str(&pk, key);
        pk_str(&pk, "value"); msgpack_pack_int(&pk, 1);
    }
}

typedef struct job {
    const corral_provider_t *p;
    void *inst;
    const char *op;
    int n, fails, distinct;
} job_t;

static void *run(void *arg) {
    job_t *j = arg;
    corral_buf_t req[64];
    for (int k = 0; k < 64; k++) {
        char key[32];
        snprintf(key, sizeof key, j->distinct ? "key-%d" : "counter", k);
        req[k] = (corral_buf_t)CORRAL_BUF_INIT;
        build(&req[k], j->op, key);
    }
    for (int i = 0; i < j->n; i++) {
        corral_buf_t *r = &req[i & 63];
        corral_provider_call_t c = {ACTOR, "default", "wasmcloud:keyvalue", j->op, r->data, r->len};
        corral_provider_bytes_t resp = {NULL, 0};
        corral_err_t err;
        if (j->p->call(j->inst, &c, &resp, &err) != CORRAL_OK) j->fails++;
        corral_free(resp.data);
    }
    for (int k = 0; k < 64; k++) corral_buf_free(&req[k]);
    return NULL;
}

static void bench(const char *label, const corral_provider_t *p, void *inst, const char *op,
                  int threads, int n) {
    pthread_t t[THREADS];
    job_t j[THREADS];
    uint64_t t0 = corral_now_ns();
    for (int i = 0; i < threads; i++) {
        j[i] = (job_t){p, inst, op, n / threads, 0, strcmp(op, "Add") != 0};
        pthread_create(&t[i], NULL, run, &j[i]);
    }
    int fails = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        fails += j[i].fails;
    }
    double s = (double)(corral_now_ns() - t0) / 1e9;
    int done = (n / threads) * threads;
    printf("%-16s %-4s x%d  %8d ops  %10.0f ops/s  %8.2f us/op%s\n", label, op, threads, done,
           done / s, s * 1e6 / done, fails ? "  (FAILURES)" : "");
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    if (n < THREADS) n = THREADS;
    char dir[] = "/tmp/corral-benchkv-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    corral_provider_host_t host;
    corral_provider_host_init_default(&host, dir);
    redis_fixture_t redis;
    int have_redis = redis_fixture_start(&redis) == 0;
    char path_n[300], path_f[300];
    snprintf(path_n, sizeof path_n, "%s/normal.db", dir);
    snprintf(path_f, sizeof path_f, "%s/full.db", dir);
    struct {
        const char *label, *kind;
        corral_provider_kv_t v[2];
        size_t nv;
        int div;
    } cases[] = {
        {"memory", "keyvalue:memory", {{0}}, 0, 1},
        {"sqlite normal", "keyvalue:sqlite", {{"PATH", path_n}, {"SYNC", "normal"}}, 2, 1},
        {"sqlite full", "keyvalue:sqlite", {{"PATH", path_f}, {"SYNC", "full"}}, 2, 10},
        {"redis", "keyvalue:redis", {{"URL", redis.url}}, 1, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        if (strcmp(cases[c].kind, "keyvalue:redis") == 0 && !have_redis) {
            printf("redis: skipped (no redis-server)\n");
            continue;
        }
        const corral_provider_t *p = corral_provider_builtin_find(cases[c].kind);
        void *inst = NULL;
        corral_err_t err;
        if (p->create(NULL, 0, &host, &inst, &err) != CORRAL_OK ||
            p->link(inst, ACTOR, "default", cases[c].v, cases[c].nv, &err) != CORRAL_OK) {
            printf("%s: %s\n", cases[c].label, corral_err_msg(&err));
            continue;
        }
        int m = n / cases[c].div;
        bench(cases[c].label, p, inst, "Set", 1, m);
        bench(cases[c].label, p, inst, "Get", 1, m);
        bench(cases[c].label, p, inst, "Add", 1, m);
        bench(cases[c].label, p, inst, "Add", THREADS, m);
        p->destroy(inst);
    }
    if (have_redis) redis_fixture_stop(&redis);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}

/*
 * bench_wapc.c - corral_bench_wapc: the cost of the waPC layer.
 *   - echo round trip: one host -> guest call of the `echo` example with a
 *     64-byte payload (request copy in, response copy out), on an instance
 *     and through a pool, beside a native C function doing the same copies;
 *   - a round trip with one guest -> host call inside (test guest `kitchen`,
 *     operation `host`, the host echoing 64 bytes);
 *   - hot replace: how long a swap holds the pool lock while two threads
 *     keep calling, and how long the whole replace (with instantiation) takes.
 * Goal: echo round trip < 1 us.
 *
 *   corral_bench_wapc [--quick]
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "corral_wapc.h"

#ifndef CORRAL_GUEST_DIR
#error "CORRAL_GUEST_DIR must name the directory of the built guests"
#endif

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static corral_wapc_module_t *load(const char *name) {
    char path[512];
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_err_t err;
    corral_wapc_module_t *m = NULL;
    snprintf(path, sizeof path, "%s/%s.wasm", CORRAL_GUEST_DIR, name);
    if (corral_file_read(path, 0, &b, &err) != CORRAL_OK ||
        corral_wapc_module_new(b.data, b.len, &m, &err) != CORRAL_OK)
        fprintf(stderr, "bench: %s: %s\n", path, corral_err_msg(&err));
    corral_buf_free(&b);
    return m;
}

/* CPU time of this thread: on a shared, loaded machine the wall clock also
 * counts time other processes had the core, so both are printed. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu0;

static double start(void) {
    cpu0 = cpu_now();
    return now();
}

static void report(const char *what, long n, double secs) {
    double cpu = cpu_now() - cpu0;
    printf("%-40s %11.0f calls/s %8.1f ns/call (wall) %8.1f ns/call (cpu)\n", what,
           (double)n / secs, secs * 1e9 / (double)n, cpu * 1e9 / (double)n);
}

/* The native comparison: what a waPC round trip must do at least, as plain
 * C through a function pointer: copy op and payload into "guest memory",
 * then copy the response out into the caller's buffer. */
static uint8_t fake_guest_mem[4096];

__attribute__((noinline)) static int native_echo(const char *op, size_t op_len,
                                                 const uint8_t *payload, size_t len,
                                                 corral_buf_t *resp) {
    __asm__ volatile("");
    memcpy(fake_guest_mem, op, op_len);
    memcpy(fake_guest_mem + 64, payload, len);
    __asm__ volatile("" ::: "memory");
    if (corral_buf_reserve(resp, len) != CORRAL_OK) return -1;
    memcpy(resp->data + resp->len, fake_guest_mem + 64, len);
    resp->len += len;
    return 0;
}

static corral_status_t host_echo(void *user, const corral_wapc_host_call_t *c, corral_buf_t *out,
                                 corral_err_t *err) {
    return corral_buf_append(out, c->payload, c->payload_len);
}

typedef struct {
    corral_wapc_pool_t *pool;
    volatile int stop;
    long calls, failures;
} loader_t;

static void *load_loop(void *p) {
    loader_t *l = p;
    corral_buf_t r = CORRAL_BUF_INIT;
    uint8_t payload[64];
    memset(payload, 'p', sizeof payload);
    while (!l->stop) {
        corral_err_t err;
        r.len = 0;
        if (corral_wapc_pool_call(l->pool, "echo", 4, payload, sizeof payload, &r, &err) !=
                CORRAL_OK ||
            r.len != sizeof payload)
            l->failures++;
        l->calls++;
    }
    corral_buf_free(&r);
    return NULL;
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    long n = quick ? 200000 : 2000000;
    corral_wapc_module_t *echo = load("echo"), *kitchen = load("kitchen");
    if (!echo || !kitchen) return 1;
    corral_wapc_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.host_call = host_echo;
    corral_wapc_instance_t *inst = NULL;
    corral_err_t err;
    if (corral_wapc_instance_new(echo, &cfg, &inst, &err) != CORRAL_OK) {
        fprintf(stderr, "bench: %s\n", corral_err_msg(&err));
        return 1;
    }
    uint8_t payload[64];
    for (int i = 0; i < 64; i++) payload[i] = (uint8_t)i;
    corral_buf_t r = CORRAL_BUF_INIT;
    printf("waPC round trips, 64-byte payload (%ld calls each)\n", n);

    int (*volatile native)(const char *, size_t, const uint8_t *, size_t, corral_buf_t *) =
        native_echo;
    double t0 = start();
    for (long i = 0; i < n; i++) {
        r.len = 0;
        native("echo", 4, payload, 64, &r);
    }
    report("native C function, same copies", n, now() - t0);

    for (long i = 0; i < n / 10; i++) { /* warm-up */
        r.len = 0;
        corral_wapc_instance_call(inst, "echo", 4, payload, 64, &r, &err);
    }
    t0 = start();
    for (long i = 0; i < n; i++) {
        r.len = 0;
        if (corral_wapc_instance_call(inst, "echo", 4, payload, 64, &r, &err) != CORRAL_OK) {
            fprintf(stderr, "bench: echo: %s\n", corral_err_msg(&err));
            return 1;
        }
    }
    report("waPC echo (instance)", n, now() - t0);
    if (r.len != 64 || memcmp(r.data, payload, 64) != 0) {
        fprintf(stderr, "bench: echo answered wrong bytes\n");
        return 1;
    }

    corral_wapc_pool_t *pool = NULL;
    if (corral_wapc_pool_new(echo, &cfg, &pool, &err) != CORRAL_OK) {
        fprintf(stderr, "bench: %s\n", corral_err_msg(&err));
        return 1;
    }
    t0 = start();
    for (long i = 0; i < n; i++) {
        r.len = 0;
        corral_wapc_pool_call(pool, "echo", 4, payload, 64, &r, &err);
    }
    report("waPC echo (pool, one thread)", n, now() - t0);

    corral_wapc_instance_t *kin = NULL;
    if (corral_wapc_instance_new(kitchen, &cfg, &kin, &err) != CORRAL_OK) {
        fprintf(stderr, "bench: %s\n", corral_err_msg(&err));
        return 1;
    }
    uint8_t hp[11 + 64];
    memcpy(hp, "\0test\0echo\0", 11);
    memcpy(hp + 11, payload, 64);
    long nh = n / 2;
    t0 = start();
    for (long i = 0; i < nh; i++) {
        r.len = 0;
        if (corral_wapc_instance_call(kin, "host", 4, hp, sizeof hp, &r, &err) != CORRAL_OK) {
            fprintf(stderr, "bench: host: %s\n", corral_err_msg(&err));
            return 1;
        }
    }
    report("waPC call with one host call inside", nh, now() - t0);
    if (r.len != 64 || memcmp(r.data, payload, 64) != 0) {
        fprintf(stderr, "bench: host call answered wrong bytes\n");
        return 1;
    }

    /* Hot replace under load. */
    loader_t l[2] = {{pool, 0, 0, 0}, {pool, 0, 0, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, load_loop, &l[i]);
    int swaps = quick ? 20 : 100;
    double replace_total = 0;
    for (int k = 0; k < swaps; k++) {
        struct timespec ts = {0, 2 * 1000000};
        nanosleep(&ts, NULL);
        double a = now();
        if (corral_wapc_pool_replace(pool, echo, &err) != CORRAL_OK) {
            fprintf(stderr, "bench: replace: %s\n", corral_err_msg(&err));
            return 1;
        }
        replace_total += now() - a;
    }
    for (int i = 0; i < 2; i++) {
        l[i].stop = 1;
        pthread_join(t[i], NULL);
    }
    corral_wapc_pool_stats_t s;
    corral_wapc_pool_stats(pool, &s);
    printf("hot replace x%d under 2 calling threads: %ld calls, %ld failed;\n"
           "  swap pause (pool lock held) max %.0f ns, last %.0f ns; whole replace "
           "(instantiate + swap) %.1f us average\n",
           swaps, l[0].calls + l[1].calls, l[0].failures + l[1].failures,
           (double)s.max_swap_pause_ns, (double)s.last_swap_pause_ns,
           replace_total / swaps * 1e6);

    corral_buf_free(&r);
    corral_wapc_pool_free(pool);
    corral_wapc_instance_free(inst);
    corral_wapc_instance_free(kin);
    corral_wapc_module_free(echo);
    corral_wapc_module_free(kitchen);
    return l[0].failures + l[1].failures ? 1 : 0;
}

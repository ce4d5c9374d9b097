/*
 * bench_calls.c - corral_bench_calls: the engine's fixed costs.
 *   - ns per call: the host calling an exported i32 add(i32,i32), beside a
 *     native call through a function pointer in the same run; a guest calling
 *     a host import; a guest calling a wasm function; the bare guest loop.
 *   - start-up: load+validate+prepare of the CoreMark-style module (its size
 *     is printed), instantiate+free time, and host memory per live instance
 *     (malloc'd bytes and resident pages), for that module and for a module
 *     with 16 MiB of initial memory (sieve).
 *
 *   corral_bench_calls [--quick]
 *
 * Times are CPU time of the running thread (CORRAL_BENCH_WALL=1: wall clock).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "corral_vm.h"

static corral_status_t host_add(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    sp[0] = (uint32_t)((uint32_t)sp[0] + (uint32_t)sp[1]);
    return CORRAL_OK;
}

__attribute__((noinline)) static uint32_t native_add(uint32_t a, uint32_t b) {
    __asm__ volatile("");
    return a + b;
}

static int call1(corral_vm_instance_t *inst, const char *name, uint32_t n, uint32_t *out,
                 double *secs) {
    corral_vm_extern_t f;
    corral_err_t err;
    corral_err_clear(&err);
    if (corral_vm_instance_export(inst, name, &f) != CORRAL_OK) return -1;
    uint64_t a = n, r = 0;
    double t0 = bench_now();
    corral_status_t st = corral_vm_call(inst, f, &a, 1, &r, 1, &err);
    *secs = bench_now() - t0;
    if (st != CORRAL_OK) {
        fprintf(stderr, "bench: %s: %s\n", name, corral_err_msg(&err));
        return -1;
    }
    *out = (uint32_t)r;
    return 0;
}

static int bench_call_costs(uint32_t n) {
    corral_vm_module_t *m = bench_load("calls", NULL);
    corral_vm_imports_t *imp = corral_vm_imports_new();
    corral_vm_instance_t *inst = NULL;
    int rc = 1;
    if (!m || !imp) goto done;
    if (corral_vm_imports_add_func(imp, "env", "host_add", "ii:i", host_add, NULL, NULL) !=
        CORRAL_OK)
        goto done;
    corral_err_t err;
    corral_err_clear(&err);
    if (corral_vm_instance_new(m, imp, NULL, NULL, &inst, &err) != CORRAL_OK) {
        fprintf(stderr, "bench: calls: %s\n", corral_err_msg(&err));
        goto done;
    }

    /* native baseline */
    uint32_t (*volatile fp)(uint32_t, uint32_t) = native_add;
    uint32_t acc = 0;
    double t0 = bench_now();
    for (uint32_t i = 0; i < n; i++)
        acc = fp(acc, i);
    double t_native = bench_now() - t0;

    /* host -> guest */
    corral_vm_extern_t add;
    if (corral_vm_instance_export(inst, "add", &add) != CORRAL_OK) goto done;
    uint64_t args[2], res[1];
    uint32_t acc2 = 0;
    t0 = bench_now();
    for (uint32_t i = 0; i < n; i++) {
        args[0] = acc2;
        args[1] = i;
        if (corral_vm_call(inst, add, args, 2, res, 1, NULL) != CORRAL_OK) {
            fprintf(stderr, "bench: add failed\n");
            goto done;
        }
        acc2 = (uint32_t)res[0];
    }
    double t_h2g = bench_now() - t0;
    if (acc2 != acc) fprintf(stderr, "bench: add results differ (%u vs %u)\n", acc2, acc);

    uint32_t r_host = 0, r_guest = 0, r_loop = 0;
    double t_g2h = 0, t_g2g = 0, t_loop = 0;
    if (call1(inst, "call_host", n, &r_host, &t_g2h) ||
        call1(inst, "call_guest", n, &r_guest, &t_g2g) ||
        call1(inst, "loop_only", n, &r_loop, &t_loop))
        goto done;
    if (r_host != r_loop || r_guest != r_loop) fprintf(stderr, "bench: loop results differ\n");

    printf("calls (%u each)                          ns/call\n", n);
    printf("  native call through a pointer         %8.1f\n", t_native * 1e9 / n);
    printf("  host -> guest add(i32,i32)            %8.1f\n", t_h2g * 1e9 / n);
    printf("  guest -> host import (in a loop)      %8.1f   (loop alone %.1f)\n", t_g2h * 1e9 / n,
           t_loop * 1e9 / n);
    printf("  guest -> guest call (in a loop)       %8.1f\n", t_g2g * 1e9 / n);
    rc = 0;
done:
    corral_vm_instance_free(inst);
    corral_vm_imports_free(imp);
    corral_vm_module_free(m);
    return rc;
}

static int bench_startup(const char *stem, int loads, int insts, int live) {
    size_t len = 0;
    uint8_t *bytes = bench_read(stem, &len);
    if (!bytes) return 1;
    double *t = calloc((size_t)loads, sizeof *t);
    corral_vm_module_t *m = NULL;
    corral_vm_instance_t **held = calloc((size_t)live, sizeof *held);
    int rc = 1;
    if (!t || !held) goto done;
    for (int i = 0; i < loads; i++) {
        corral_err_t err;
        corral_err_clear(&err);
        double t0 = bench_now();
        corral_status_t st = corral_vm_module_new(bytes, len, &m, &err);
        t[i] = bench_now() - t0;
        if (st != CORRAL_OK) {
            fprintf(stderr, "bench: %s: %s\n", stem, corral_err_msg(&err));
            goto done;
        }
        if (i + 1 < loads) {
            corral_vm_module_free(m);
            m = NULL;
        }
    }
    qsort(t, (size_t)loads, sizeof *t, bench_cmp_double);
    double t0 = bench_now();
    for (int i = 0; i < insts; i++) {
        corral_vm_instance_t *inst = NULL;
        if (corral_vm_instance_new(m, NULL, NULL, NULL, &inst, NULL) != CORRAL_OK) {
            fprintf(stderr, "bench: %s: instantiate failed\n", stem);
            goto done;
        }
        corral_vm_instance_free(inst);
    }
    double t_inst = (bench_now() - t0) / insts;
    size_t heap0 = bench_heap();
    long rss0 = bench_rss();
    for (int i = 0; i < live; i++) {
        if (corral_vm_instance_new(m, NULL, NULL, NULL, &held[i], NULL) != CORRAL_OK) goto done;
    }
    size_t heap1 = bench_heap();
    long rss1 = bench_rss();
    printf("start-up: %s.wasm (%zu bytes)\n", stem, len);
    printf("  load+validate+prepare   median %.3f ms, min %.3f ms (%d runs)\n", t[loads / 2] * 1e3,
           t[0] * 1e3, loads);
    printf("  instantiate+free        %.1f us (mean of %d)\n", t_inst * 1e6, insts);
    printf("  host memory/instance    %.1f KiB malloc'd, %.1f KiB resident (%d live)\n",
           (double)(heap1 - heap0) / live / 1024, (double)(rss1 - rss0) / live / 1024, live);
    rc = 0;
done:
    for (int i = 0; held && i < live; i++)
        corral_vm_instance_free(held[i]);
    corral_vm_module_free(m);
    free(held);
    free(t);
    corral_free(bytes);
    return rc;
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (argc > 1 && !quick) {
        printf("usage: corral_bench_calls [--quick]\n");
        return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    int rc = bench_call_costs(quick ? 200000 : 5000000);
    rc |= bench_startup("coremark", quick ? 5 : 21, quick ? 100 : 2000, 200);
    rc |= bench_startup("sieve", quick ? 5 : 21, quick ? 100 : 2000, 200);
    return rc;
}

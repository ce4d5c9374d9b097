/*
 * bench_engine.c - corral_bench_engine: runs every kernel in kernels/ three
 * ways in one process - natively (gcc -O2), on Corral's engine (the kernel's
 * wasm32 build), and through wasm2c (the same .wasm translated to C, gcc -O2:
 * the near-native reference for "wasm semantics, compiled") - checks the
 * three checksums agree, and prints time per kernel, the ratios to native
 * and their geometric means.
 *
 *   corral_bench_engine [--quick] [--limits] [kernel...]
 *
 * Times are CPU time of the running thread (bench_util.h; set
 * CORRAL_BENCH_WALL=1 for wall-clock time) for the call only (module load and instantiation are
 * measured by corral_bench_calls); native and wasm2c take the best of two runs, the engine one run.
 * Exit status 1 when a checksum differs or the engine fails.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_kernels.h"
#include "bench_util.h"
#include "corral_vm.h"

#include "bench_w2c.h"

/* Runs one kernel on the engine; returns 0 on success. */
/* With --limits, every engine call runs with fuel and a deadline set (both
 * far out of reach) so the cost of metering shows. */
static corral_vm_limits_t engine_limits;

static int engine_run(const bench_kernel_t *k, uint32_t n, uint32_t *sum, double *secs) {
    corral_vm_module_t *m = bench_load(k->name, NULL);
    corral_vm_instance_t *inst = NULL;
    corral_err_t err;
    corral_err_clear(&err);
    int rc = 1;
    if (!m) return 1;
    corral_status_t st = corral_vm_instance_new(m, NULL, &engine_limits, NULL, &inst, &err);
    if (st != CORRAL_OK) {
        fprintf(stderr, "bench: %s: instantiate: %s\n", k->name, corral_err_msg(&err));
        goto done;
    }
    corral_vm_extern_t f;
    if (corral_vm_instance_export(inst, k->export, &f) != CORRAL_OK) {
        fprintf(stderr, "bench: %s: no export %s\n", k->name, k->export);
        goto done;
    }
    uint64_t arg = n, res = 0;
    double t0 = bench_now();
    st = corral_vm_call(inst, f, &arg, 1, &res, 1, &err);
    *secs = bench_now() - t0;
    if (st != CORRAL_OK) {
        fprintf(stderr, "bench: %s: %s: %s\n", k->name, corral_status_name(st),
                corral_err_msg(&err));
        goto done;
    }
    *sum = (uint32_t)res;
    rc = 0;
done:
    corral_vm_instance_free(inst);
    corral_vm_module_free(m);
    return rc;
}

int main(int argc, char **argv) {
    int quick = 0, status = 0;
    const char *only[32];
    int nonly = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else if (strcmp(argv[i], "--limits") == 0) {
            engine_limits.fuel = UINT64_MAX / 2;
            engine_limits.deadline_ns = 3600ull * 1000 * 1000 * 1000;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: corral_bench_engine [--quick] [--limits] [kernel...]\n"
                   "  --quick   run each kernel at about 1/8 of its size (smoke test)\n"
                   "  --limits  run the engine with fuel and a deadline set (metering cost)\n");
            return 0;
        } else if (nonly < 32)
            only[nonly++] = argv[i];
    }
    bench_w2c_init();
    printf("%-12s %10s %10s %7s %10s %7s  %-10s %s\n", "kernel", "native ms", "wasm2c ms", "x",
           "corral ms", "x", "checksum", "what");
    double log_engine = 0, log_w2c = 0;
    int n_engine = 0, n_w2c = 0;
    for (size_t i = 0; i < bench_nkernels; i++) {
        const bench_kernel_t *k = &bench_kernels[i];
        if (nonly) {
            int want = 0;
            for (int j = 0; j < nonly; j++)
                want |= strcmp(only[j], k->name) == 0;
            if (!want) continue;
        }
        uint32_t n = k->n;
        if (quick) n = strcmp(k->name, "fib") == 0 ? n - 4 : (n + 7) / 8;
        double tn = 1e30, tw = 1e30, te = 0;
        uint32_t sn = 0, sw = 0, se = 0;
        for (int r = 0; r < 2; r++) {
            double t0 = bench_now();
            sn = k->native(n);
            double t = bench_now() - t0;
            if (t < tn) tn = t;
            sw = bench_w2c_find(k->name)(n);
            if (bench_w2c_seconds < tw) tw = bench_w2c_seconds;
        }
        int eng_ok = engine_run(k, n, &se, &te) == 0;
        int same = sw == sn && (!eng_ok || se == sn);
        char eng_ms[32] = "error", eng_x[32] = "-";
        if (eng_ok) {
            snprintf(eng_ms, sizeof eng_ms, "%.1f", te * 1e3);
            snprintf(eng_x, sizeof eng_x, "%.2f", te / tn);
            log_engine += log(te / tn);
            n_engine++;
        } else {
            status = 1;
        }
        log_w2c += log(tw / tn);
        n_w2c++;
        printf("%-12s %10.1f %10.1f %7.2f %10s %7s  0x%08x %s%s\n", k->name, tn * 1e3, tw * 1e3,
               tw / tn, eng_ms, eng_x, sn, k->what, same ? "" : "  CHECKSUM MISMATCH");
        if (!same) {
            printf("    native 0x%08x  wasm2c 0x%08x  corral 0x%08x\n", sn, sw, se);
            status = 1;
        }
        fflush(stdout);
    }
    if (n_w2c)
        printf("geometric mean vs native: wasm2c %.2fx, corral %s", exp(log_w2c / n_w2c),
               n_engine ? "" : "n/a");
    if (n_engine) printf("%.2fx (%d kernels)", exp(log_engine / n_engine), n_engine);
    printf("\n");
    return status;
}

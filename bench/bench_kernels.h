/*
 * bench_kernels.h - the CPU kernels of bench/kernels/ as the engine and AOT
 * benchmarks run them: module file stem, exported entry, the same code built
 * natively (gcc -O2) and the argument sized for ~0.1-0.4 s natively. One
 * table, so both benchmarks time the same work.
 */
#ifndef CORRAL_BENCH_KERNELS_H
#define CORRAL_BENCH_KERNELS_H
#include <stddef.h>
#include <stdint.h>

typedef struct bench_kernel {
    const char *name;   /* module file stem (BENCH_WASM_DIR/<name>.wasm) */
    const char *export; /* exported entry */
    uint32_t (*native)(uint32_t n);
    uint32_t n;
    const char *what;
} bench_kernel_t;

extern const bench_kernel_t bench_kernels[];
extern const size_t bench_nkernels;

#endif

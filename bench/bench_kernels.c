/*
 * bench_kernels.c - the kernel table of bench_kernels.h. The native entry
 * points are the kernels' own C sources, compiled into each benchmark.
 */
#include "bench_kernels.h"

uint32_t fib_run(uint32_t n);
uint32_t sieve_run(uint32_t n);
uint32_t crc32_run(uint32_t n);
uint32_t sha256_run(uint32_t n);
uint32_t matmul_run(uint32_t n);
uint32_t memops_run(uint32_t n);
uint32_t interp_run(uint32_t n);
uint32_t coremark_run(uint32_t n);

const bench_kernel_t bench_kernels[] = {
    {"fib", "fib_run", fib_run, 40, "recursive fib(40)"},
    {"sieve", "sieve_run", sieve_run, 2, "sieve of 16 Mi numbers, x2"},
    {"crc32", "crc32_run", crc32_run, 6, "CRC-32 of 16 MiB, x6"},
    {"sha256", "sha256_run", sha256_run, 3, "SHA-256 of 16 MiB, x3"},
    {"matmul", "matmul_run", matmul_run, 50, "256x256 f64 matmul, x50"},
    {"memops", "memops_run", memops_run, 200000, "memcpy/memset loop (no bulk memory)"},
    {"memops_bulk", "memops_run", memops_run, 200000, "memcpy/memset loop (memory.copy/fill)"},
    {"interp", "interp_run", interp_run, 50, "bytecode interpreter loop"},
    {"coremark", "coremark_run", coremark_run, 16000, "CoreMark-style list/matrix/state/crc"},
};
const size_t bench_nkernels = sizeof bench_kernels / sizeof bench_kernels[0];

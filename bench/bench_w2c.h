/*
 * bench_w2c.h - the kernels through wabt's wasm2c with wabt's own runtime
 * (wasm-rt-impl.c: guard pages, no fuel, no depth or deadline checks), gcc -O2:
 * the "bare wasm2c" reference shared by corral_bench_engine and
 * corral_bench_aot. Each runner instantiates, times only the call (CPU time,
 * bench_util.h) into bench_w2c_seconds, frees, and returns the checksum.
 * bench_w2c_find(name) returns the runner of a kernel module, or NULL.
 */
#ifndef CORRAL_BENCH_W2C_H
#define CORRAL_BENCH_W2C_H
#include <stdint.h>

extern double bench_w2c_seconds;
typedef uint32_t (*bench_w2c_fn_t)(uint32_t n);
bench_w2c_fn_t bench_w2c_find(const char *module);
/* wabt's wasm_rt_init (its signal handler for guard-page traps): once, before any runner. */
void bench_w2c_init(void);

#endif

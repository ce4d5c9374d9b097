/*
 * bench_w2c.c - one wasm2c runner per kernel module (bench_w2c.h). The
 * module's init runs once; each call gets a fresh instance so no kernel
 * sees another's memory.
 */
#include <string.h>

#include "bench_util.h"
#include "bench_w2c.h"

#include "coremark_w2c.h"
#include "crc32_w2c.h"
#include "fib_w2c.h"
#include "interp_w2c.h"
#include "matmul_w2c.h"
#include "memops_bulk_w2c.h"
#include "memops_w2c.h"
#include "sha256_w2c.h"
#include "sieve_w2c.h"

double bench_w2c_seconds;

#define W2C_RUNNER(mod, fn)                                                                        \
    static uint32_t w2c_##mod(uint32_t n) {                                                        \
        static int inited;                                                                         \
        if (!inited) Z_##mod##_init_module(), inited = 1;                                          \
        Z_##mod##_instance_t inst;                                                                 \
        Z_##mod##_instantiate(&inst);                                                              \
        double t0 = bench_now();                                                                   \
        uint32_t r = Z_##mod##Z_##fn(&inst, n);                                                    \
        bench_w2c_seconds = bench_now() - t0;                                                      \
        Z_##mod##_free(&inst);                                                                     \
        return r;                                                                                  \
    }
W2C_RUNNER(fib, fib_run)
W2C_RUNNER(sieve, sieve_run)
W2C_RUNNER(crc32, crc32_run)
W2C_RUNNER(sha256, sha256_run)
W2C_RUNNER(matmul, matmul_run)
W2C_RUNNER(memops, memops_run)
W2C_RUNNER(memops_bulk, memops_run)
W2C_RUNNER(interp, interp_run)
W2C_RUNNER(coremark, coremark_run)

void bench_w2c_init(void) { wasm_rt_init(); }

bench_w2c_fn_t bench_w2c_find(const char *module) {
    static const struct {
        const char *name;
        bench_w2c_fn_t fn;
    } t[] = {{"fib", w2c_fib},           {"sieve", w2c_sieve},   {"crc32", w2c_crc32},
             {"sha256", w2c_sha256},     {"matmul", w2c_matmul}, {"memops", w2c_memops},
             {"memops_bulk", w2c_memops_bulk}, {"interp", w2c_interp}, {"coremark", w2c_coremark}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].name, module) == 0) return t[i].fn;
    return NULL;
}

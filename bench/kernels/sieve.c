/* sieve.c - benchmark kernel: sieve of Eratosthenes over 16 MiB of flags,
 * repeated n times (byte loads and stores, branchy inner loops). */
#include "kernel.h"

#define SIEVE_N (16u << 20)
static uint8_t composite[SIEVE_N];

uint32_t sieve_run(uint32_t n);
uint32_t sieve_run(uint32_t n) {
    uint32_t h = 0;
    for (uint32_t rep = 0; rep < n; rep++) {
        for (uint32_t i = 0; i < SIEVE_N; i++)
            composite[i] = 0;
        uint32_t count = 0;
        for (uint32_t i = 2; i < SIEVE_N; i++) {
            if (composite[i]) continue;
            count++;
            for (uint32_t j = i * 2; j < SIEVE_N; j += i)
                composite[j] = 1;
        }
        h = kernel_mix(h, count);
    }
    return h;
}

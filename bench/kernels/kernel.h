/*
 * kernel.h - what every benchmark kernel shares. A kernel is one C file with
 * one entry `uint32_t <name>_run(uint32_t n)` that returns a checksum; it is
 * compiled natively into corral_bench_engine and with clang --target=wasm32
 * -nostdlib into a module exporting that entry (bench/CMakeLists.txt). It
 * therefore uses no libc: buffers are static arrays (bss, so in wasm they
 * cost no data segment) and wasm builds get the two memory routines the
 * compiler may call.
 */
#ifndef CORRAL_BENCH_KERNEL_H
#define CORRAL_BENCH_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __wasm__
/* The compiler lowers struct copies and some loops to these. Without
 * -mbulk-memory __builtin_memcpy also calls them. Word-at-a-time like a
 * small libc would do it. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memcpy(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 3) == 0) {
        for (; n >= 16; n -= 16, d += 16, s += 16) {
            ((uint32_t *)d)[0] = ((const uint32_t *)s)[0];
            ((uint32_t *)d)[1] = ((const uint32_t *)s)[1];
            ((uint32_t *)d)[2] = ((const uint32_t *)s)[2];
            ((uint32_t *)d)[3] = ((const uint32_t *)s)[3];
        }
    }
    while (n--)
        *d++ = *s++;
    return dst;
}
void *memmove(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d <= s || d >= s + n) return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}
void *memset(void *dst, int c, size_t n) {
    uint8_t *d = dst;
    uint32_t w = (uint8_t)c * 0x01010101u;
    for (; n && ((uintptr_t)d & 3); n--)
        *d++ = (uint8_t)c;
    for (; n >= 16; n -= 16, d += 16) {
        ((uint32_t *)d)[0] = w;
        ((uint32_t *)d)[1] = w;
        ((uint32_t *)d)[2] = w;
        ((uint32_t *)d)[3] = w;
    }
    while (n--)
        *d++ = (uint8_t)c;
    return dst;
}
#endif

/* A small deterministic generator for test data (xorshift32). */
static inline uint32_t kernel_rand(uint32_t *s) {
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Keeps the compiler from folding a whole kernel into a constant. */
static inline uint32_t kernel_mix(uint32_t h, uint32_t v) {
    h ^= v + 0x9e3779b9u + (h << 6) + (h >> 2);
    return h;
}

#endif

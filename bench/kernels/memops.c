/* memops.c - benchmark kernel: memcpy/memset-heavy loop over a 4 MiB buffer
 * with sizes from 8 bytes to 64 KiB. Built into two modules: with
 * -mbulk-memory the copies become memory.copy/memory.fill, without it they
 * are calls to kernel.h's word loops. */
#include "kernel.h"

#define MEM_BYTES (4u << 20)
static uint8_t buf[MEM_BYTES];

uint32_t memops_run(uint32_t n);
uint32_t memops_run(uint32_t n) {
    uint32_t s = 99, h = 0;
    for (uint32_t i = 0; i < MEM_BYTES; i++)
        buf[i] = (uint8_t)i;
    for (uint32_t rep = 0; rep < n; rep++) {
        uint32_t r = kernel_rand(&s);
        uint32_t len = 8u << (r % 14); /* 8 B .. 64 KiB */
        uint32_t src = (r >> 8) % (MEM_BYTES - len), dst = kernel_rand(&s) % (MEM_BYTES - len);
        if (r & 0x80000000u)
            __builtin_memset(buf + dst, (int)(r >> 4), len);
        else
            __builtin_memmove(buf + dst, buf + src, len);
        h = kernel_mix(h, buf[dst + len / 2]);
    }
    for (uint32_t i = 0; i < MEM_BYTES; i += 4093)
        h = kernel_mix(h, buf[i]);
    return h;
}

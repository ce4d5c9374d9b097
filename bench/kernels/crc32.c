/* crc32.c - benchmark kernel: table-driven CRC-32 (IEEE 802.3, reflected,
 * polynomial 0xEDB88320) over 16 MiB of generated data, n passes. */
#include "kernel.h"

#define CRC_BYTES (16u << 20)
static uint8_t data[CRC_BYTES];
static uint32_t table[256];

uint32_t crc32_run(uint32_t n);
uint32_t crc32_run(uint32_t n) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
        table[i] = c;
    }
    uint32_t s = 12345;
    for (uint32_t i = 0; i < CRC_BYTES; i += 4) {
        uint32_t r = kernel_rand(&s);
        data[i] = (uint8_t)r;
        data[i + 1] = (uint8_t)(r >> 8);
        data[i + 2] = (uint8_t)(r >> 16);
        data[i + 3] = (uint8_t)(r >> 24);
    }
    uint32_t h = 0;
    for (uint32_t rep = 0; rep < n; rep++) {
        uint32_t crc = 0xFFFFFFFFu ^ rep;
        for (uint32_t i = 0; i < CRC_BYTES; i++)
            crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
        h = kernel_mix(h, ~crc);
    }
    return h;
}

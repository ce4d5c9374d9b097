/*
 * fuzz_aot_loops.c - libFuzzer target: the loop scan and the vectoriser
 * report rules of the AOT compile (wapc/aot/aot_loops.c) on arbitrary text.
 * The input is split at its first NUL: before it the "generated C", after it
 * the "gcc dump". Must never crash, hang or leak; every back-edge left
 * unchecked must have been a candidate, lie in the source and have its loop
 * label before it, with the load-barrier marks only inside such loops.
 * Seeds: tests/fuzz/seeds/aot_loops/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aot_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    long live = corral_alloc_live();
    const uint8_t *nul = memchr(data, 0, size);
    size_t slen = nul ? (size_t)(nul - data) : size;
    const char *dump = nul ? (const char *)nul + 1 : "";
    size_t dlen = nul ? size - slen - 1 : 0;
    aot_loops_t l;
    if (aot_loops_scan((const char *)data, slen, "(&instance->w2c_memory, (u64)", &l) !=
        CORRAL_OK) {
        if (l.flags || l.from || l.nlines) __builtin_trap();
        return 0;
    }
    size_t cand = l.ncandidates, edges = 0;
    uint8_t *before = corral_malloc(l.nlines + 1);
    if (!before) __builtin_trap();
    if (l.nlines) memcpy(before, l.flags, l.nlines);
    for (size_t i = 0; i < l.nlines; i++) {
        if (!(l.flags[i] & AOT_LINE_EDGE)) continue;
        edges++;
        if (l.from[i] > i || !(l.flags[i] & AOT_LINE_NB) || !(l.flags[l.from[i]] & AOT_LINE_NB))
            __builtin_trap();
    }
    if (edges != cand) __builtin_trap();
    size_t kept = aot_loops_apply_report(&l, dump, dlen);
    if (kept > cand || kept != l.ncandidates) __builtin_trap();
    edges = 0;
    for (size_t i = 0; i < l.nlines; i++) {
        if ((l.flags[i] & AOT_LINE_EDGE) && !(before[i] & AOT_LINE_EDGE)) __builtin_trap();
        if ((l.flags[i] & AOT_LINE_NB) && !(before[i] & AOT_LINE_NB)) __builtin_trap();
        edges += (l.flags[i] & AOT_LINE_EDGE) != 0;
    }
    if (edges != kept) __builtin_trap();
    corral_free(before);
    aot_loops_free(&l);
    if (corral_alloc_live() != live) __builtin_trap();
    return 0;
}

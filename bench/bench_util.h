/*
 * bench_util.h - small helpers shared by the bench programs: loading a
 * built module from BENCH_WASM_DIR, clocks and process memory figures.
 */
#ifndef CORRAL_BENCH_UTIL_H
#define CORRAL_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "corral_vm.h"

/* Loads BENCH_WASM_DIR/<stem>.wasm into a module. Returns NULL (and prints
 * why) on failure; *size gets the file size when not NULL. */
corral_vm_module_t *bench_load(const char *stem, size_t *size);

/* Reads BENCH_WASM_DIR/<stem>.wasm into a buffer (free with corral_free). */
uint8_t *bench_read(const char *stem, size_t *size);

/* Seconds of CPU time used by the calling thread, so that other work on a
 * shared machine does not count; with CORRAL_BENCH_WALL set in the
 * environment, seconds on the monotonic wall clock instead. Every kernel and
 * call measured runs on the calling thread. */
double bench_now(void);

/* qsort comparator for doubles, ascending. */
int bench_cmp_double(const void *a, const void *b);

/* Resident set size of this process in bytes (-1 if unknown). */
long bench_rss(void);

/* Bytes currently allocated through malloc (glibc mallinfo2). */
size_t bench_heap(void);

#endif

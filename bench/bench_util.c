/* bench_util.c - helpers shared by the bench programs (see bench_util.h). */
#include "bench_util.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

uint8_t *bench_read(const char *stem, size_t *size) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.wasm", BENCH_WASM_DIR, stem);
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_err_t err;
    corral_err_clear(&err);
    if (corral_file_read(path, 0, &b, &err) != CORRAL_OK) {
        fprintf(stderr, "bench: %s\n", corral_err_msg(&err));
        corral_buf_free(&b);
        return NULL;
    }
    size_t len = 0;
    uint8_t *p = corral_buf_take(&b, &len);
    if (size) *size = len;
    return p;
}

corral_vm_module_t *bench_load(const char *stem, size_t *size) {
    size_t len = 0;
    uint8_t *p = bench_read(stem, &len);
    if (!p) return NULL;
    corral_vm_module_t *m = NULL;
    corral_err_t err;
    corral_err_clear(&err);
    corral_status_t st = corral_vm_module_new(p, len, &m, &err);
    corral_free(p);
    if (st != CORRAL_OK) {
        fprintf(stderr, "bench: %s.wasm: %s: %s\n", stem, corral_status_name(st),
                corral_err_msg(&err));
        return NULL;
    }
    if (size) *size = len;
    return m;
}

double bench_now(void) {
    static int wall = -1;
    if (wall < 0) wall = getenv("CORRAL_BENCH_WALL") != NULL;
    struct timespec ts;
    clock_gettime(wall ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

long bench_rss(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long total = 0, res = -1;
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &total, &res) != 2) res = -1;
    fclose(f);
    return res < 0 ? -1 : res * sysconf(_SC_PAGESIZE);
}

size_t bench_heap(void) {
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

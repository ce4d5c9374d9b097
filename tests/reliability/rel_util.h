/*
 * rel_util.h - helpers of the reliability tests (tests/reliability/): the
 * process's resident memory, a monotonic clock in milliseconds, and starting
 * a guest of CORRAL_GUEST_DIR as a signed actor (signed here with fresh keys
 * through the claims API, so the whole host path is covered). Builds on the
 * host tests' helpers (tests/host/host_test_util.h).
 */
#ifndef REL_UTIL_H
#define REL_UTIL_H

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "../host/host_test_util.h"

/* Resident set size of this process in KiB (from /proc/self/statm). */
static inline long rss_kib(void) {
    long pages_total = 0, pages_res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages_total, &pages_res) != 2) pages_res = -1;
    fclose(f);
    return pages_res < 0 ? -1 : pages_res * (sysconf(_SC_PAGESIZE) / 1024);
}

static inline double now_ms(void) { return (double)corral_now_ns() / 1e6; }

/* Signs guest `guest` (CORRAL_GUEST_DIR/<guest>.wasm) with fresh keys and the
 * given claims into out. caps: NULL-terminated or NULL. */
static inline int sign_guest(const char *guest, const char *name, const char *const *caps,
                             const char *alias, int64_t rev, test_keys_t *keys,
                             corral_buf_t *out) {
    corral_buf_t w = {0};
    if (!read_guest(guest, &w)) return 0;
    int ok = sign(&w, keys, name, caps, rev, alias, out);
    corral_buf_free(&w);
    return ok;
}

/* Signs and starts a guest with per-actor limits; key_out gets its key. */
static inline corral_status_t start_signed(corral_host_t *h, const char *guest, const char *name,
                                           const char *const *caps, const char *alias,
                                           const corral_host_limits_t *limits,
                                           char key_out[CORRAL_HOST_KEY_LEN], corral_err_t *err) {
    test_keys_t k;
    keys_new(&k);
    corral_buf_t s = {0};
    corral_status_t st = CORRAL_ERR_INTERNAL;
    corral_err_clear(err);
    if (sign_guest(guest, name, caps, alias, 1, &k, &s)) {
        corral_host_actor_opts_t o = {0};
        if (limits) o.limits = *limits;
        corral_host_actor_info_t info;
        st = corral_host_actor_start(h, s.data, s.len, &o, &info, err);
        if (st == CORRAL_OK && key_out) memcpy(key_out, info.key, CORRAL_HOST_KEY_LEN);
    }
    corral_buf_free(&s);
    keys_wipe(&k);
    return st;
}

#endif

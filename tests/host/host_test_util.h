/*
 * host_test_util.h - helpers shared by the host tests: temporary
 * directories, a started host, signing guest modules with fresh keys, the
 * hostcall payload of the test guest (guests/hostguest.c) and a tiny control
 * socket client.
 */
#ifndef HOST_TEST_UTIL_H
#define HOST_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "corral_claims.h"
#include "corral_host.h"
#include "test.h"

/* A fresh temporary directory; `out` must hold 64 bytes. */
static inline int tmpdir(char *out) {
    strcpy(out, "/tmp/corral-host-test-XXXXXX");
    return mkdtemp(out) != NULL;
}

static inline void rmtree(const char *dir) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "  (could not remove %s)\n", dir);
}

/* A started host with its data dir under `dir`, health checks off (unless
 * health_ms), 2 workers. */
static inline corral_host_t *start_host(const char *dir, uint32_t health_ms,
                                        const corral_host_limits_t *limits) {
    char data[128];
    snprintf(data, sizeof data, "%s/data", dir);
    corral_log_set_level(CORRAL_LOG_WARN);
    corral_host_kv_t labels[] = {{"region", "test"}};
    corral_host_config_t cfg = {0};
    cfg.data_dir = data;
    cfg.labels = labels;
    cfg.nlabels = 1;
    cfg.worker_threads = 2;
    cfg.health_interval_ms = health_ms ? health_ms : CORRAL_HOST_HEALTH_OFF;
    if (limits) cfg.limits = *limits;
    corral_host_t *h = NULL;
    corral_err_t err;
    corral_err_clear(&err);
    if (corral_host_new(&cfg, &h, &err) != CORRAL_OK) {
        fprintf(stderr, "  host_new: %s\n", corral_err_msg(&err));
        return NULL;
    }
    if (corral_host_start(h, &err) != CORRAL_OK) {
        fprintf(stderr, "  host_start: %s\n", corral_err_msg(&err));
        corral_host_free(h);
        return NULL;
    }
    return h;
}

/* Keys that sign test actors. */
typedef struct test_keys {
    corral_nkey_t account, module;
    char module_key[CORRAL_NKEY_PUBLIC_LEN + 1];
} test_keys_t;

static inline void keys_new(test_keys_t *k) {
    corral_nkey_generate(CORRAL_NKEY_ACCOUNT, &k->account, NULL);
    corral_nkey_generate(CORRAL_NKEY_MODULE, &k->module, NULL);
    corral_nkey_public_str(&k->module, k->module_key);
}

static inline void keys_wipe(test_keys_t *k) {
    corral_nkey_wipe(&k->account);
    corral_nkey_wipe(&k->module);
}

/* Reads a guest built into CORRAL_GUEST_DIR. */
static inline int read_guest(const char *name, corral_buf_t *out) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.wasm", CORRAL_GUEST_DIR, name);
    corral_err_t err;
    corral_err_clear(&err);
    if (corral_file_read(path, 0, out, &err) != CORRAL_OK) {
        fprintf(stderr, "  %s\n", corral_err_msg(&err));
        return 0;
    }
    return 1;
}

/* Signs wasm into out with the given claims. caps is a NULL-terminated list. */
static inline int sign(const corral_buf_t *wasm, const test_keys_t *k, const char *name,
                       const char *const *caps, int64_t rev, const char *alias,
                       corral_buf_t *out) {
    size_t n = 0;
    while (caps && caps[n]) n++;
    corral_claims_sign_opts_t o = {0};
    o.name = name;
    o.caps = caps;
    o.ncaps = n;
    o.rev = rev;
    o.ver = "0.1.0";
    o.call_alias = alias;
    corral_err_t err;
    corral_err_clear(&err);
    if (corral_claims_sign_module(wasm->data, wasm->len, &o, &k->account, &k->module, out, NULL,
                                  &err) != CORRAL_OK) {
        fprintf(stderr, "  sign: %s\n", corral_err_msg(&err));
        return 0;
    }
    return 1;
}

/* binding \0 ns \0 op \0 body */
static inline void hostcall_payload(corral_buf_t *b, const char *binding, const char *ns,
                                    const char *op, const void *body, size_t n) {
    corral_buf_append(b, binding, strlen(binding) + 1);
    corral_buf_append(b, ns, strlen(ns) + 1);
    corral_buf_append(b, op, strlen(op) + 1);
    if (n) corral_buf_append(b, body, n);
}

/* Calls op with a text payload; on success the NUL-terminated response
 * is in resp. */
static inline corral_status_t call_text(corral_host_t *h, const char *actor, const char *op,
                                        const char *payload, corral_buf_t *resp,
                                        corral_err_t *err) {
    corral_buf_free(resp);
    corral_err_clear(err);
    corral_status_t st = corral_host_call(h, actor, op, (const uint8_t *)payload,
                                          payload ? strlen(payload) : 0, resp, err);
    corral_buf_terminate(resp);
    return st;
}

/* ---- control socket client ------------------------------------------------------------ */

static inline int ctl_connect(const char *path) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        if (fd >= 0) close(fd);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

/* Sends one line and reads one reply line into out (NUL-terminated). */
static inline int ctl_roundtrip(int fd, const char *req, corral_buf_t *out) {
    corral_buf_free(out);
    size_t n = strlen(req);
    if (write(fd, req, n) != (ssize_t)n || write(fd, "\n", 1) != 1) return 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r != 1) return 0;
        if (c == '\n') break;
        corral_buf_append(out, &c, 1);
    }
    corral_buf_terminate(out);
    return 1;
}

#endif

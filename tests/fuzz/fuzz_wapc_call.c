/*
 * fuzz_wapc_call.c - libFuzzer target for the waPC layer (wapc/): loads the
 * input as an actor module (import and export checks, WASI stub binding),
 * instantiates it under small limits (init functions run) and makes two
 * calls whose operation and payload come from the input's last bytes, with a
 * host that echoes, fails or answers huge. Guest errors and traps are fine;
 * a crash, a leak, a hang or a sanitizer report is a bug.
 * Seeds: tests/fuzz/seeds/wapc/ (small waPC guests).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "corral_wapc.h"

static corral_status_t fuzz_host(void *user, const corral_wapc_host_call_t *c, corral_buf_t *out,
                                 corral_err_t *err) {
    if (c->payload_len && c->payload[0] == 'F') return corral_err_set(err, CORRAL_ERR_HOST_CALL, "no");
    if (c->payload_len && c->payload[0] == 'H') {
        corral_status_t st = corral_buf_reserve(out, 70000);
        if (st != CORRAL_OK) return st;
        memset(out->data, 'h', 70000);
        out->len = 70000;
        return CORRAL_OK;
    }
    return corral_buf_append(out, c->payload, c->payload_len);
}

static void fuzz_log(void *user, corral_wapc_log_source_t src, const char *line, size_t len) {
    (void)user, (void)src, (void)line, (void)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    corral_wapc_module_t *m = NULL;
    corral_wapc_instance_t *inst = NULL;
    if (corral_wapc_module_new(data, size, &m, NULL) != CORRAL_OK) return 0;
    corral_wapc_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.limits.fuel = 200000;
    cfg.limits.max_pages = 32;
    cfg.limits.max_call_depth = 200;
    cfg.limits.deadline_ns = 200 * 1000000ull;
    cfg.max_response_bytes = 65536;
    cfg.host_call = fuzz_host;
    cfg.log = fuzz_log;
    if (corral_wapc_instance_new(m, &cfg, &inst, NULL) == CORRAL_OK) {
        corral_buf_t resp = CORRAL_BUF_INIT;
        size_t tail = size < 16 ? size : 16;
        const uint8_t *p = data + size - tail;
        for (int i = 0; i < 2 && !corral_wapc_instance_poisoned(inst); i++) {
            resp.len = 0;
            corral_wapc_instance_call(inst, (const char *)p, tail / 2, p + tail / 2, tail - tail / 2,
                                      &resp, NULL);
        }
        corral_buf_free(&resp);
        corral_wapc_instance_free(inst);
    }
    corral_wapc_module_free(m);
    return 0;
}

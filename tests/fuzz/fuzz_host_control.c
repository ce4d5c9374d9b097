/*
 * fuzz_host_control.c - libFuzzer target for the host's control protocol
 * (docs/control.md): arbitrary bytes as one request line to
 * corral_host_control_exec on a started host. Every input must produce a
 * reply that is a JSON object with a boolean "ok" (and "code"/"error" when
 * false), without crashing or leaking. Requests that would touch the file
 * system or the network on the fuzzer's behalf (a "path" anywhere at the top
 * level, providers other than keyvalue:memory) are skipped. The host is
 * remade every 256 inputs so its tables stay small.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "corral_host.h"

static corral_host_t *host_;
static unsigned uses_;

static void quiet(corral_log_level_t level, const char *component, const char *msg, void *user) {}

static void fresh_host(void) {
    corral_host_free(host_);
    corral_host_config_t cfg = {0};
    cfg.data_dir = "/tmp/corral-fuzz-host";
    cfg.worker_threads = 1;
    cfg.health_interval_ms = CORRAL_HOST_HEALTH_OFF;
    if (corral_host_new(&cfg, &host_, NULL) != CORRAL_OK || corral_host_start(host_, NULL) != CORRAL_OK)
        abort();
    uses_ = 0;
}

static int unsafe(const uint8_t *data, size_t size) {
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    int bad = 0;
    if (json_is_object(j)) {
        const char *op = json_string_value(json_object_get(j, "op"));
        const char *kind = json_string_value(json_object_get(j, "kind"));
        bad = json_object_get(j, "path") != NULL ||
              (op && strcmp(op, "start_provider") == 0 && (!kind || strcmp(kind, "keyvalue:memory") != 0));
    }
    json_decref(j);
    return bad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!host_) {
        corral_log_set_sink(quiet, NULL);
        fresh_host();
    }
    if (unsafe(data, size)) return 0;
    if (++uses_ > 256) fresh_host();
    char *reply = NULL;
    if (corral_host_control_exec(host_, (const char *)data, size, &reply) != CORRAL_OK) abort();
    json_t *j = json_loads(reply, 0, NULL);
    json_t *ok = json_object_get(j, "ok");
    if (!j || !json_is_boolean(ok)) abort();
    if (json_is_false(ok) && (!json_is_string(json_object_get(j, "code")) ||
                              !json_is_string(json_object_get(j, "error"))))
        abort();
    json_decref(j);
    corral_free(reply);
    return 0;
}

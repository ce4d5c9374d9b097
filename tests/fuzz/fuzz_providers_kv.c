/*
 * fuzz_providers_kv.c - libFuzzer target for what actors send to the built-in
 * providers: arbitrary bytes as the msgpack request of every keyvalue
 * operation (in-memory backend), of WriteLog (both payload forms) and of the
 * numbergen operations. The first byte picks the operation, the rest is the
 * payload. Every call must return a status without crashing or leaking; on
 * success the response must be a non-empty msgpack map (or empty for WriteLog).
 */
#include <stdlib.h>
#include <string.h>

#include "corral_provider.h"

static const char *const ops_[] = {
    "Add",      "Get",       "Set",      "Del",      "Clear",          "Range",
    "Push",     "ListItemDelete", "SetAdd", "SetRemove", "SetUnion", "SetIntersection",
    "SetQuery", "KeyExists", "WriteLog", "WriteLog", "RequestGuid", "RequestRandom",
    "RequestSequence",
};
#define N_OPS (sizeof ops_ / sizeof ops_[0])

static corral_provider_host_t host_;
static const corral_provider_t *kv_, *log_, *ng_;
static void *kv_inst_, *log_inst_, *ng_inst_;

static void quiet(void *ctx, corral_log_level_t level, const char *component, const char *msg) {}

static void init(void) {
    corral_err_t err;
    corral_provider_host_init_default(&host_, "/tmp");
    host_.log = quiet;
    kv_ = corral_provider_builtin_find("keyvalue:memory");
    log_ = corral_provider_builtin_find("logging");
    ng_ = corral_provider_builtin_find("numbergen");
    if (kv_->create(NULL, 0, &host_, &kv_inst_, &err) != CORRAL_OK ||
        kv_->link(kv_inst_, "MFUZZ", "default", NULL, 0, &err) != CORRAL_OK ||
        log_->create(NULL, 0, &host_, &log_inst_, &err) != CORRAL_OK ||
        ng_->create(NULL, 0, &host_, &ng_inst_, &err) != CORRAL_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!kv_) init();
    if (size < 1) return 0;
    size_t which = data[0] % N_OPS;
    const corral_provider_t *p = which < 14 ? kv_ : which < 16 ? log_ : ng_;
    void *inst = which < 14 ? kv_inst_ : which < 16 ? log_inst_ : ng_inst_;
    const char *contract = which == 15 ? "wascc:logging" : which == 14 ? "wasmcloud:logging"
                           : which < 14 ? "wasmcloud:keyvalue" : "wascc:extras";
    corral_provider_call_t c = {"MFUZZ", "default", contract, ops_[which], data + 1, size - 1};
    corral_provider_bytes_t resp = {NULL, 0};
    corral_err_t err;
    corral_status_t st = p->call(inst, &c, &resp, &err);
    if (st == CORRAL_OK && which != 14 && which != 15 && (resp.len == 0 || (resp.data[0] & 0xf0) != 0x80))
        abort(); /* every keyvalue/numbergen response is a small map */
    if (st != CORRAL_OK && (resp.data || err.msg[0] == '\0')) abort(); /* errors carry a message */
    corral_free(resp.data);
    return 0;
}

/*
 * example_provider.c - the smallest complete Corral provider, built as a
 * shared object for the loader tests (and as a template). It serves the
 * made-up contract "example:echo": Echo returns the payload, Links returns
 * how many links it holds (as one msgpack positive fixint or uint32), CallBack
 * calls the actor back through the host, anything else is an error.
 *
 * It links against nothing from the host: only the types of
 * corral_provider.h and the services table passed to create(). Built with
 * -DEXAMPLE_ABI=99 it claims a foreign ABI version and must be refused.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral_provider.h"

#ifndef EXAMPLE_ABI
#define EXAMPLE_ABI CORRAL_PROVIDER_ABI_VERSION
#endif

typedef struct ex_inst {
    const corral_provider_host_t *host;
    atomic_int links;
} ex_inst_t;

static corral_status_t fail(corral_err_t *err, corral_status_t st, const char *msg) {
    if (err) {
        err->status = st;
        snprintf(err->msg, sizeof err->msg, "%s", msg);
    }
    return st;
}

static void ex_describe(corral_provider_info_t *info) {
    info->contract_id = "example:echo";
    info->contract_aliases = NULL;
    info->name = "example:echo";
    info->description = "echo provider for loader tests";
    info->version = "0.1";
}

static corral_status_t ex_create(const corral_provider_kv_t *config, size_t n_config,
                                 const corral_provider_host_t *host, void **instance,
                                 corral_err_t *err) {
    if (!host || host->abi_version != CORRAL_PROVIDER_ABI_VERSION ||
        host->struct_size < sizeof *host)
        return fail(err, CORRAL_ERR_PROVIDER_ABI, "example: host table has another ABI");
    ex_inst_t *in = host->alloc(sizeof *in);
    if (!in) return fail(err, CORRAL_ERR_NOMEM, "example: out of memory");
    in->host = host;
    atomic_init(&in->links, 0);
    *instance = in;
    return CORRAL_OK;
}

static void ex_destroy(void *instance) {
    ex_inst_t *in = instance;
    if (in) in->host->free(in);
}

static corral_status_t ex_link(void *instance, const char *actor_key, const char *link_name,
                               const corral_provider_kv_t *values, size_t n_values,
                               corral_err_t *err) {
    ex_inst_t *in = instance;
    atomic_fetch_add(&in->links, 1);
    return CORRAL_OK;
}

static void ex_unlink(void *instance, const char *actor_key, const char *link_name) {
    ex_inst_t *in = instance;
    atomic_fetch_sub(&in->links, 1);
}

static corral_status_t ex_call(void *instance, const corral_provider_call_t *call,
                               corral_provider_bytes_t *resp, corral_err_t *err) {
    ex_inst_t *in = instance;
    resp->data = NULL;
    resp->len = 0;
    if (strcmp(call->operation, "Echo") == 0) {
        if (call->payload_len == 0) return CORRAL_OK;
        resp->data = in->host->alloc(call->payload_len);
        if (!resp->data) return fail(err, CORRAL_ERR_NOMEM, "example: out of memory");
        memcpy(resp->data, call->payload, call->payload_len);
        resp->len = call->payload_len;
        return CORRAL_OK;
    }
    if (strcmp(call->operation, "Links") == 0) {
        resp->data = in->host->alloc(1);
        if (!resp->data) return fail(err, CORRAL_ERR_NOMEM, "example: out of memory");
        resp->data[0] = (uint8_t)(atomic_load(&in->links) & 0x7f);
        resp->len = 1;
        return CORRAL_OK;
    }
    if (strcmp(call->operation, "CallBack") == 0)
        return in->host->call_actor(in->host->ctx, call->actor_key, call->link_name, "Ping",
                                    call->payload, call->payload_len, resp, err);
    return fail(err, CORRAL_ERR_UNSUPPORTED, "example:echo has no such operation");
}

static const corral_provider_t example_ = {
    EXAMPLE_ABI, sizeof(corral_provider_t), ex_describe, ex_create, ex_destroy,
    ex_link,     ex_unlink,                 ex_call,     NULL};

__attribute__((visibility("default"))) const corral_provider_t *corral_provider_entry(void) {
    return &example_;
}

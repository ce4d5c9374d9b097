/*
 * corral_provider_int.h - what the built-in providers share privately: their
 * tables (listed in the registry), and small helpers for handing responses
 * and log lines across the host services table.
 */
#ifndef CORRAL_PROVIDER_INT_H
#define CORRAL_PROVIDER_INT_H

#include "corral_provider.h"

extern const corral_provider_t corral_provider_kv_memory;
extern const corral_provider_t corral_provider_kv_sqlite;
extern const corral_provider_t corral_provider_kv_redis;
extern const corral_provider_t corral_provider_logging;
extern const corral_provider_t corral_provider_numbergen;

/* Moves buf's bytes into *resp allocated with host->alloc (without a copy
 * when the host allocator is corral_malloc). buf is left empty either way.
 * CORRAL_ERR_NOMEM when the copy fails. */
corral_status_t corral_provider_respond(const corral_provider_host_t *host, corral_buf_t *buf,
                                        corral_provider_bytes_t *resp, corral_err_t *err);

/* Formats and sends a line through host->log (or corral_log when the host
 * gave none). */
void corral_provider_logf(const corral_provider_host_t *host, corral_log_level_t level,
                          const char *component, const char *fmt, ...) CORRAL_PRINTF(4, 5);

/* The value of `key` among n pairs, or NULL. */
const char *corral_provider_kv_get(const corral_provider_kv_t *kv, size_t n, const char *key);

#endif

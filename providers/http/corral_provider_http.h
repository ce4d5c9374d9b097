/*
 * corral_provider_http.h - the wasmcloud:httpserver capability provider
 * (alias wascc:http_server) on libmicrohttpd. It does not serve any
 * actor -> provider operation; it calls actors: every HTTP request that
 * arrives on a linked actor's listener becomes one `HandleRequest` call
 * (contracts.md), made with host->call_actor_async, and the actor's answer
 * becomes the HTTP response.
 *
 * The host registers the table with corral_provider_builtin_register(); as a
 * shared object (target corral_provider_http_module) the same table is what
 * CORRAL_PROVIDER_ENTRY_SYMBOL returns.
 *
 * Link values (a link value overrides the same key given to create()):
 *   PORT            required, decimal 1..65535
 *   BIND            IPv4 or IPv6 literal, default 127.0.0.1 (0.0.0.0 or ::
 *                   only when asked)
 *   MAX_BODY_BYTES  request body limit, default 1048576 (1 MiB); larger -> 413
 *   TIMEOUT_MS      time the actor has to answer, default 2000; expiry -> 504
 *   THREADS         libmicrohttpd worker threads (epoll, one pool per
 *                   listener), 1..64, default 2
 *   MAX_CONNECTIONS open connections per listener, default 1024
 *   IDLE_TIMEOUT_S  idle keep-alive connections are closed after this many
 *                   seconds, default 30
 * Unknown keys (including the __wasmcloud_* claim values) are ignored.
 *
 * HTTP answers the provider produces itself (never the host's internals):
 *   400 request not valid UTF-8 in path, query or headers
 *   413 body above MAX_BODY_BYTES
 *   500 "malformed response from actor" / actor error or trap (short text)
 *   503 + Retry-After: no actor or link, host busy, listener shutting down
 *   504 actor did not answer within TIMEOUT_MS
 *
 * Lifetimes: linking opens one listener per (actor key, link name);
 * relinking with the same PORT, BIND and pool settings updates
 * MAX_BODY_BYTES and TIMEOUT_MS in place; otherwise a new listener is opened
 * and the old one stopped (if the new one cannot be opened the old one stays,
 * except when both use the same PORT: then the old one is stopped first and
 * a failure leaves no listener). A chunked body that exceeds the limit by
 * more than 256 KiB makes the provider close the connection. Unlinking
 * stops accepting, lets in-flight requests finish (each bounded by its
 * TIMEOUT_MS; they are answered, never reset), then closes the listener.
 * Reply callbacks that arrive after their connection is gone, or after the
 * unlink, are absorbed safely (reference-counted request state).
 */
#ifndef CORRAL_PROVIDER_HTTP_H
#define CORRAL_PROVIDER_HTTP_H

#include "corral_provider.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Registry name of the provider. */
#define CORRAL_PROVIDER_HTTP_NAME "httpserver"

/* The provider table (static, valid for the process's life). Any thread. */
const corral_provider_t *corral_provider_http(void);

#ifdef __cplusplus
}
#endif

#endif

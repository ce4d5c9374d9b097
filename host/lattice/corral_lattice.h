/*
 * corral_lattice.h - many Corral hosts as one over NATS (docs/lattice.md):
 * the whole public API of the lattice module.
 *
 * Three parts:
 *   - the wire format (corral_lattice_invocation_*, _response_*): the msgpack
 *     Invocation and InvocationResponse maps, encoded and strictly decoded
 *     (every field bounds- and type-checked; hostile bytes never crash);
 *   - anti-forgery (corral_lattice_sign, _verify, corral_lattice_replay_*):
 *     the cluster-signed token each invocation carries, in the wascap format
 *     (the metadata {target_url, origin_url, hash} lives in the "wascap"
 *     claim, as wasmCloud's Claims<Invocation> writes it), and the replay
 *     cache of invocation ids;
 *   - the lattice itself (corral_lattice_new/start/stop/free, _call): one
 *     NATS connection per host, the rpc / control / event subjects, remote
 *     calls both ways with per-call timeouts and chunking, link definitions
 *     and actor claims in the lattice's JetStream key-value bucket.
 *
 * How it joins the host runtime: the lattice calls public corral_host
 * functions for everything that arrives (corral_host_call for actors,
 * corral_host_control_exec for control commands, corral_host_link_put/_del
 * for links learned from the bucket). The host calls the lattice through a
 * table of hooks (corral_lattice_remote_t below, the same table as
 * corral_host_remote_t) when a callee is not local: corral_lattice_start
 * installs it with corral_host_set_remote, and provider invocations that
 * arrive go to corral_host_provider_call. The lattice also reads the host's
 * inventory every second (corral_lattice_sync) to catch anything the hooks
 * did not report (e.g. the built-in providers started with the host).
 *
 * Lifetimes: create the host and start it, then the lattice. To shut down,
 * stop the host first (corral_host_stop: no call is inside a hook after it),
 * then free the lattice, then free the host.
 *
 * Conventions: `err` may be NULL; a failing call fills it with its status
 * and a message naming what failed. Allocation goes through corral_malloc
 * (JSON through jansson). Seeds are never logged or put in messages.
 */
#ifndef CORRAL_LATTICE_H
#define CORRAL_LATTICE_H

#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#include "corral_base.h"
#include "corral_claims.h"
#include "corral_host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* wire format                                                              */
/* ======================================================================== */

/* Limits of decoded fields (bytes, without the NUL). Longer is a parse error. */
#define CORRAL_LATTICE_ID_MAX      128  /* invocation id */
#define CORRAL_LATTICE_NAME_MAX    256  /* keys, contract ids, link names, operations */
#define CORRAL_LATTICE_TOKEN_MAX   8192 /* encoded_claims */
#define CORRAL_LATTICE_TRACE_MAX   512  /* traceparent */
#define CORRAL_LATTICE_ERROR_MAX   65536 /* response error text */

/* An actor (only public_key) or a provider (public_key = service key V...,
 * contract_id, link_name). In a decoded invocation the strings are owned by
 * the invocation; in one given to encode they are borrowed. contract_id /
 * link_name are NULL (or "") for an actor. */
typedef struct corral_lattice_entity {
    char *public_key;
    char *contract_id;
    char *link_name;
} corral_lattice_entity_t;

/* 1 when e names a provider (non-empty contract_id). */
int corral_lattice_entity_is_provider(const corral_lattice_entity_t *e);

/* An Invocation. msg_len may be 0 while content_length is larger: the body
 * then travels in chunks (the lattice fetches it). traceparent may be NULL. */
typedef struct corral_lattice_invocation {
    char *id;
    corral_lattice_entity_t origin;
    corral_lattice_entity_t target;
    char *operation;
    uint8_t *msg;
    size_t msg_len;
    char *host_id;
    char *encoded_claims;
    uint64_t content_length;
    char *traceparent;
} corral_lattice_invocation_t;

/* An InvocationResponse. error NULL = success. */
typedef struct corral_lattice_response {
    char *invocation_id;
    uint8_t *msg;
    size_t msg_len;
    char *error;
    uint64_t content_length;
} corral_lattice_response_t;

/* Appends the msgpack map of inv to out (fields borrowed). NULL strings are
 * written as "" except traceparent (omitted) and an actor's contract_id /
 * link_name (omitted). CORRAL_ERR_NOMEM (out keeps what it had up to the
 * failure), CORRAL_ERR_INVALID_ARG for a NULL id/operation/public key. */
corral_status_t corral_lattice_invocation_encode(const corral_lattice_invocation_t *inv,
                                                 corral_buf_t *out, corral_err_t *err);

/* Decodes data[0..len) into *out (zeroed first; owned, free with
 * corral_lattice_invocation_deinit even on failure). Strict: one msgpack map
 * and nothing after it, every required field present with its type (str
 * fields valid UTF-8 within the limits above, msg bin, content_length a
 * non-negative integer), content_length equal to msg_len unless msg is empty
 * (chunked), unknown fields ignored. CORRAL_ERR_PARSE naming the field. */
corral_status_t corral_lattice_invocation_decode(const uint8_t *data, size_t len,
                                                 corral_lattice_invocation_t *out,
                                                 corral_err_t *err);
void corral_lattice_invocation_deinit(corral_lattice_invocation_t *inv);

/* The same for responses. error, when present, must be a str. */
corral_status_t corral_lattice_response_encode(const corral_lattice_response_t *r,
                                               corral_buf_t *out, corral_err_t *err);
corral_status_t corral_lattice_response_decode(const uint8_t *data, size_t len,
                                               corral_lattice_response_t *out, corral_err_t *err);
void corral_lattice_response_deinit(corral_lattice_response_t *r);

/* ======================================================================== */
/* anti-forgery                                                             */
/* ======================================================================== */

/* Seconds an invocation token is valid after it is issued. */
#define CORRAL_LATTICE_TOKEN_TTL_S 30
/* A token claiming a longer life than this is refused (it would pin the
 * replay cache). */
#define CORRAL_LATTICE_TOKEN_MAX_TTL_S 300

/* Appends the bus URL of e to out: an actor "wasmbus://{key}", a provider
 * "wasmbus://{contract id, ':' -> '/'}/{link_name}/{key}" (link name
 * "default" when empty). Not NUL-terminated counting: a NUL follows. */
corral_status_t corral_lattice_entity_url(const corral_lattice_entity_t *e, corral_buf_t *out);

/* Fills inv->id with a fresh UUID (when NULL) and inv->encoded_claims with a
 * token signed by cluster (a cluster key with seed): iss, sub = id, iat =
 * now, exp = now + ttl_s (0 = CORRAL_LATTICE_TOKEN_TTL_S), jti, and wascap
 * {target_url = url(target) "/" operation, origin_url = url(origin), hash =
 * uppercase hex SHA-256 of origin_url || target_url || operation || msg}.
 * msg must be the whole body even when it will travel in chunks: pass it as
 * body/body_len (NULL = inv->msg). now 0 = wall clock. Owned strings are
 * allocated with corral_malloc (freed by _invocation_deinit). Errors:
 * CORRAL_ERR_KEY_TYPE (not a cluster key), CORRAL_ERR_KEY_SEED, _NOMEM. */
corral_status_t corral_lattice_sign(corral_lattice_invocation_t *inv, const uint8_t *body,
                                    size_t body_len, const corral_nkey_t *cluster, int64_t now,
                                    uint32_t ttl_s, corral_err_t *err);

typedef struct corral_lattice_replay corral_lattice_replay_t;

/* A replay cache of invocation ids, each remembered until its token expires.
 * Bounded: at most `capacity` live ids (0 = 1,000,000); beyond that new ids
 * are refused (CORRAL_ERR_BUSY) rather than forgetting live ones.
 * Thread-safe. */
corral_status_t corral_lattice_replay_new(size_t capacity, corral_lattice_replay_t **out,
                                          corral_err_t *err);
void corral_lattice_replay_free(corral_lattice_replay_t *rc);
/* Records id until exp (seconds); CORRAL_ERR_REPLAY when it is already there
 * and not yet expired. now 0 = wall clock. */
corral_status_t corral_lattice_replay_check(corral_lattice_replay_t *rc, const char *id,
                                            int64_t exp, int64_t now, corral_err_t *err);

typedef struct corral_lattice_verify_opts {
    const char *const *issuers; /* cluster public keys accepted (required, >= 1) */
    size_t n_issuers;
    int64_t now;                /* 0 = wall clock */
    int64_t clock_skew_s;
    corral_lattice_replay_t *replay; /* NULL = no replay check (tests only) */
    int no_hash; /* check everything but the hash and the replay cache: for a
                    chunked body, before spending work fetching it */
} corral_lattice_verify_opts_t;

/* Verifies inv's token against the envelope. body/body_len is the whole
 * message (NULL = inv->msg). Checks, in order: token shape, header, iss a
 * cluster key, signature (CORRAL_ERR_FORGED wrapping the token error),
 * expiry (CORRAL_ERR_TOKEN_EXPIRED), iss among issuers
 * (CORRAL_ERR_ISSUER_NOT_ALLOWED), exp present and exp - iat within
 * CORRAL_LATTICE_TOKEN_MAX_TTL_S, sub = id, target_url, origin_url and hash
 * equal to those computed from the envelope (CORRAL_ERR_FORGED naming the
 * field), then the replay cache (CORRAL_ERR_REPLAY). */
corral_status_t corral_lattice_verify(const corral_lattice_invocation_t *inv, const uint8_t *body,
                                      size_t body_len, const corral_lattice_verify_opts_t *opts,
                                      corral_err_t *err);

/* ======================================================================== */
/* the lattice                                                              */
/* ======================================================================== */

typedef struct corral_lattice corral_lattice_t;

#define CORRAL_LATTICE_DEFAULT_NAME "default"
#define CORRAL_LATTICE_DEFAULT_URL "nats://127.0.0.1:4222"
#define CORRAL_LATTICE_DEFAULT_TIMEOUT_MS 2000u
#define CORRAL_LATTICE_DEFAULT_HEARTBEAT_MS 30000u
#define CORRAL_LATTICE_DEFAULT_MAX_CHUNKED (64u << 20)

/* Dispatch of an invocation that arrived for a local provider. The host has
 * no public function for it yet (see the report / corral_lattice_remote_t);
 * whoever embeds the lattice may supply one. On CORRAL_OK the response is
 * appended to resp. Called from lattice worker threads, many at once. */
typedef corral_status_t (*corral_lattice_provider_call_fn)(
    void *user, const char *provider_key, const char *contract_id, const char *link_name,
    const char *origin_actor, const char *operation, const uint8_t *msg, size_t len,
    corral_buf_t *resp, corral_err_t *err);

typedef struct corral_lattice_config {
    const char *lattice;       /* NULL = "default"; [A-Za-z0-9_-]+ */
    const char *nats_url;      /* NULL = CORRAL_LATTICE_DEFAULT_URL; comma-separated list ok */
    const char *nkey_seed;     /* NATS user nkey seed (SU...) or a file holding it;
                                  it signs the server's nonce on every (re)connect;
                                  NULL = none */
    const char *creds_file;    /* NATS .creds file; NULL = none */
    const char *cluster_seed;  /* cluster seed (SC...) or file; NULL = generate one
                                  (logged as a warning: other hosts must list its
                                  public key as an issuer) */
    const char *const *cluster_issuers; /* accepted C... keys besides our own */
    size_t n_cluster_issuers;
    const corral_host_kv_t *labels; /* for auctions; copied */
    size_t nlabels;
    uint32_t call_timeout_ms;  /* 0 = 2000 */
    uint32_t heartbeat_ms;     /* 0 = 30000 */
    size_t max_chunked;        /* largest body accepted in chunks; 0 = 64 MiB */
    uint32_t rpc_threads;      /* workers for incoming invocations; 0 = 4 */
    int no_kv;                 /* do not use JetStream (links only by control) */
    int insecure_unsigned;     /* INSECURE, off by default, reachable only from the
                                  API (no CLI flag): send invocations without an
                                  anti-forgery token and accept them without
                                  checking one (no signature, issuer, expiry,
                                  hash, URL or replay check). Any client of the
                                  NATS server can then invoke this host's actors.
                                  Logged as a warning at corral_lattice_new. Hosts
                                  that keep the default refuse this member's
                                  calls. For measuring what signing costs. */
    corral_lattice_provider_call_fn provider_call; /* may be NULL */
    void *provider_call_user;
} corral_lattice_config_t;

/* Makes a lattice member for host (borrowed: must outlive the lattice, and
 * must be started before corral_lattice_start). Checks and copies cfg; loads
 * or generates the cluster key. Errors: CORRAL_ERR_INVALID_ARG (bad lattice
 * name), the key loading errors naming the key, CORRAL_ERR_NOMEM. */
corral_status_t corral_lattice_new(corral_host_t *host, const corral_lattice_config_t *cfg,
                                   corral_lattice_t **out, corral_err_t *err);

/* Connects (the first connection must succeed: CORRAL_ERR_IO "cannot reach
 * NATS at <url>: ..."; afterwards it reconnects forever with jittered
 * back-off, buffering up to 8 MiB of publishes while disconnected), opens or
 * creates the key-value buckets LATTICEDATA_<lattice> and CHUNKS_<lattice>,
 * registers the wasmcloud:messaging provider ("messaging", on this
 * connection) in the built-in registry, subscribes the control
 * subjects and every local actor / provider, applies every link of the
 * bucket, starts the heartbeat thread and publishes host_started. */
corral_status_t corral_lattice_start(corral_lattice_t *lat, corral_err_t *err);

/* Publishes host_stopped, unsubscribes, drains and closes the connection,
 * joins its threads. Safe to call twice. */
void corral_lattice_stop(corral_lattice_t *lat);

/* Stops (if needed) and frees. NULL is a no-op. */
void corral_lattice_free(corral_lattice_t *lat);

/* This member's NATS connection (NULL before corral_lattice_start and after
 * stop), with the options every rpc uses (natsOptions_SetSendAsap, ...):
 * for benchmarks that measure bare NATS on the very same connections, and
 * embedders sharing it. Borrowed: do not close or destroy it. */
natsConnection *corral_lattice_connection(const corral_lattice_t *lat);

/* The cluster public key this member signs with (C...). */
const char *corral_lattice_cluster_key(const corral_lattice_t *lat);
const char *corral_lattice_name(const corral_lattice_t *lat);

/* Reads the host's inventory and subscribes / unsubscribes the rpc subjects
 * so they match the actors and providers running now; publishes
 * actor_started / actor_stopped / provider_started / provider_stopped for
 * the differences. Also called on every heartbeat tick (1 s). */
corral_status_t corral_lattice_sync(corral_lattice_t *lat, corral_err_t *err);

/* Registers a local provider instance the inventory does not show (e.g. one
 * served by provider_call): subscribes wasmbus.rpc.<lattice>.<key>.<link>. */
corral_status_t corral_lattice_provider_add(corral_lattice_t *lat, const char *provider_key,
                                            const char *contract_id, const char *link_name,
                                            corral_err_t *err);

/* Calls target through the lattice: signs an invocation from origin (NULL =
 * this host's key as an anonymous origin), sends it (in chunks when the body
 * is above the server's limit), waits up to timeout_ms (0 = configured
 * default) and appends the response body to resp. A provider target with an
 * empty public_key is resolved from the lattice's link definitions and
 * provider announcements. Errors: CORRAL_ERR_TIMEOUT "timeout calling
 * <target> after N ms", CORRAL_ERR_NO_ACTOR / CORRAL_ERR_NO_LINK when no
 * host in the lattice answers for it, CORRAL_ERR_TOO_LARGE above
 * max_chunked, CORRAL_ERR_GUEST carrying the remote error text, CORRAL_ERR_IO.
 * Thread-safe, many calls in flight. */
corral_status_t corral_lattice_call(corral_lattice_t *lat, const corral_lattice_entity_t *origin,
                                    const corral_lattice_entity_t *target, const char *operation,
                                    const uint8_t *payload, size_t len, uint32_t timeout_ms,
                                    corral_buf_t *resp, corral_err_t *err);

/* Puts / deletes a link definition lattice-wide (in the bucket; every
 * member, this one included, applies it through its watcher). */
corral_status_t corral_lattice_link_put(corral_lattice_t *lat, const char *actor,
                                        const char *contract_id, const char *link_name,
                                        const char *provider_key, const corral_host_kv_t *values,
                                        size_t nvalues, corral_err_t *err);
corral_status_t corral_lattice_link_del(corral_lattice_t *lat, const char *actor,
                                        const char *contract_id, const char *link_name,
                                        corral_err_t *err);

/* Counters, for tests and `corral get hosts`. */
typedef struct corral_lattice_stats {
    uint64_t calls_out, calls_in, refused, links_applied, chunked_out, chunked_in;
} corral_lattice_stats_t;
void corral_lattice_stats(const corral_lattice_t *lat, corral_lattice_stats_t *out);

/* ---- the hook table the host calls (see the report for the host patch) ---- */

/* What the host runtime calls into: `call` when the callee is not local
 * (an actor's __host_call naming an actor key / alias, or a linked contract
 * with no local provider; or a provider's call_actor(_async) naming an actor
 * this host does not run); the notifications when its tables change, so
 * subscriptions follow at once instead of at the next tick. Plain strings
 * only, so corral_host.h can declare the same table without including this
 * header. Every function is thread-safe; ctx is the lattice.
 *   call: origin_key is the caller (actor M... or provider V...);
 *         origin_contract / origin_link are NULL for an actor. target is an
 *         actor key or alias (target_contract NULL), or a provider: target
 *         NULL or its service key, target_contract and target_link set.
 *         timeout_ms 0 = the lattice default. On CORRAL_OK the response is
 *         appended to resp. Errors as corral_lattice_call. */
#ifdef CORRAL_HOST_REMOTE
/* corral_host.h declares the same table: the lattice installs it itself
 * (corral_host_set_remote in corral_lattice_start). */
typedef corral_host_remote_t corral_lattice_remote_t;
#else
typedef struct corral_lattice_remote {
    void *ctx;
    corral_status_t (*call)(void *ctx, const char *origin_key, const char *origin_contract,
                            const char *origin_link, const char *target,
                            const char *target_contract, const char *target_link,
                            const char *operation, const uint8_t *payload, size_t len,
                            uint32_t timeout_ms, corral_buf_t *resp, corral_err_t *err);
    void (*actor_changed)(void *ctx, const char *actor_key, int running);
    void (*provider_changed)(void *ctx, const char *provider_key, const char *contract_id,
                             const char *link_name, int running);
    void (*link_changed)(void *ctx, const char *actor, const char *contract_id,
                         const char *link_name, const corral_host_kv_t *values,
                         size_t nvalues, int put);
    int (*actor_claims)(void *ctx, const char *actor_key, const char *out[5], char *buf, size_t n);
} corral_lattice_remote_t;
#endif

/* Fills *out with the lattice's hooks (ctx = lat). When corral_host.h has
 * the hook API (CORRAL_HOST_REMOTE), corral_lattice_start installs them in
 * the host and uses corral_host_provider_call for provider invocations
 * (unless the config gives provider_call); corral_lattice_stop removes them
 * and waits for calls in flight through them. Stop the host first. */
void corral_lattice_remote_hooks(corral_lattice_t *lat, corral_lattice_remote_t *out);

#ifdef __cplusplus
}
#endif

#endif

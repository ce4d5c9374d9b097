/*
 * corral_host.h - the actor host runtime: the whole public API of the host
 * module. A host runs signed WebAssembly actors (each in a waPC instance pool
 * from corral_wapc.h), capability providers (corral_provider.h), and the links
 * between them; it routes every actor's __host_call (docs/contracts.md:
 * module key, then call alias, then a linked contract id), swaps actor
 * versions live (docs/claims.md stage 9), checks actor health, and serves the
 * control socket (docs/control.md) that the `corral` CLI speaks.
 *
 * Objects and lifetimes
 *   corral_host_t   one host. Made by corral_host_new, started by
 *                   corral_host_start (server key, worker threads, built-in
 *                   providers, health timer), stopped by corral_host_stop
 *                   (drains in-flight calls, then stops actors and providers),
 *                   freed by corral_host_free.
 *   Actors, providers and links are named by text: an actor by its module key
 *   (M..., 56 characters) or its call alias; a provider instance by its
 *   service key (V..., generated when it starts); a link by (actor, contract
 *   id, link name). Every function copies what it keeps; nothing the caller
 *   passes is borrowed past the call.
 *
 * Threads
 *   - Control functions (actor start/stop/update, provider start/stop,
 *     link put/del, inventory) may be called from any thread; the host
 *     serialises them internally (one at a time). They never block calls in
 *     flight: actor, provider and link tables are immutable snapshots that
 *     calls read without locks, and control functions publish new ones.
 *   - corral_host_call and corral_host_actor_health may be called from any
 *     number of threads at once. A call runs on the calling thread (actor ->
 *     actor calls too); only provider -> actor asynchronous calls use the
 *     host's worker pool.
 *   - Nothing in a call path waits on another actor's lock: a slow provider
 *     only delays the actors that call it.
 *
 * Errors: every fallible function returns a corral_status_t and fills the
 * caller's corral_err_t (may be NULL) with a message that says what failed,
 * where, and what to do. Codes used throughout: CORRAL_ERR_STATE (host not
 * started, or stopping), CORRAL_ERR_NO_ACTOR ("no actor with key or alias
 * 'x' is running: see `corral get inventory`"), CORRAL_ERR_NOMEM.
 */
#ifndef CORRAL_HOST_H
#define CORRAL_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "corral_base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corral_host corral_host_t;

/* Text sizes (including the NUL). */
#define CORRAL_HOST_KEY_LEN  57  /* public key text: 56 characters */
#define CORRAL_HOST_NAME_MAX 256 /* names, contract ids and link names are cut to fit */
#define CORRAL_HOST_DEFAULT_HEALTH_MS 30000u
#define CORRAL_HOST_DEFAULT_MAX_INSTANCES 4u
#define CORRAL_HOST_DEFAULT_DEADLINE_MS 10000u
/* 16 MiB per instance: one hostile actor must not take the machine's memory
 * (the engine alone would allow 4 GiB). Raise it per actor with max_pages. */
#define CORRAL_HOST_DEFAULT_MAX_PAGES 256u
/* health_interval_ms value that turns periodic health checks off. */
#define CORRAL_HOST_HEALTH_OFF UINT32_MAX

/* A string pair: labels, provider configuration and link values. Borrowed
 * for the duration of the call that receives it. */
typedef struct corral_host_kv {
    const char *key;
    const char *value;
} corral_host_kv_t;

/* Which tier runs an actor's code (docs/engine.md; wapc/aot/corral_aot.h).
 * INTERP: the interpreter. AOT: native code from the host's artifact cache
 * (owner-only directory, corral_aot_cache_dir), compiled at start when
 * missing (blocking the start). AUTO: the cached artifact when present;
 * otherwise the actor starts at once on the interpreter, the host compiles
 * in the background (one compile at a time, progress in the log) and swaps
 * the actor's pool onto native code between calls, caching the artifact.
 * Whenever the native path fails (no compiler, an unsupported module, a
 * stale or foreign artifact) the actor runs on the interpreter and the log
 * says why, once. DEFAULT: the host's setting (for the host: INTERP). An
 * actor may also name a prebuilt artifact (corral_host_actor_opts_t), from
 * the cache or signed by an allowed signer (docs/engine.md, "AOT tier"). */
typedef enum corral_host_engine {
    CORRAL_HOST_ENGINE_DEFAULT = 0,
    CORRAL_HOST_ENGINE_INTERP,
    CORRAL_HOST_ENGINE_AOT,
    CORRAL_HOST_ENGINE_AUTO
} corral_host_engine_t;

/* Per-actor limits. Zero in any field means the host's default (which is
 * itself filled in from the constants above when zero). */
typedef struct corral_host_limits {
    uint32_t max_instances; /* instances per actor pool (default 4) */
    uint64_t deadline_ms;   /* wall-clock budget per call (default 10000) */
    uint64_t fuel;          /* engine fuel per call (default unlimited) */
    uint32_t max_pages;     /* 64 KiB pages of guest memory (default 256 = 16 MiB) */
} corral_host_limits_t;

/* Host configuration. Zero-initialise, then set what you need. Everything is
 * copied by corral_host_new. */
typedef struct corral_host_config {
    /* Directory for provider files (SQLite databases ...). Created (0700) if
     * missing. NULL = $XDG_DATA_HOME/corral, else $HOME/.local/share/corral,
     * else /tmp/corral-data-<uid>. */
    const char *data_dir;
    /* Directory for the control socket. NULL = $XDG_RUNTIME_DIR/corral, else
     * /tmp/corral-<uid> (docs/control.md). Only used by
     * corral_host_control_start when it is given no directory. */
    const char *run_dir;
    const corral_host_kv_t *labels; /* host labels, shown in the inventory */
    size_t nlabels;
    corral_host_limits_t limits;    /* defaults for every actor */
    uint32_t worker_threads;        /* provider -> actor async calls (0 = one per core) */
    int allow_unsigned;             /* accept modules without a claims token */
    const char *const *allowed_issuers; /* account keys (A...); NULL/0 = any */
    size_t n_allowed_issuers;
    const char *const *revoked;     /* revoked jti values or module keys */
    size_t n_revoked;
    int64_t clock_skew_s;           /* exp/nbf allowance, seconds */
    uint32_t health_interval_ms;    /* 0 = 30 s; CORRAL_HOST_HEALTH_OFF = never */
    int no_builtins;                /* do not start the built-in logging and
                                       numbergen providers at start-up */
    corral_host_engine_t engine;    /* default tier for actors (DEFAULT = INTERP) */
    /* Public keys (operator O... or account A...) whose signed AOT artifacts
     * an actor may name (corral_host_actor_opts_t.artifact) from outside the
     * host's cache; NULL/0 = none. Checked by corral_host_new
     * (CORRAL_ERR_KEY_* naming the entry). */
    const char *const *aot_signers;
    size_t n_aot_signers;
} corral_host_config_t;

/* ---- lifecycle -------------------------------------------------------------------- */

/* Makes a host (not yet running) from cfg (NULL = all defaults). Checks the
 * configuration (keys in allowed_issuers must be account keys:
 * CORRAL_ERR_KEY_* naming the entry) and creates data_dir. *out is NULL on
 * failure. */
corral_status_t corral_host_new(const corral_host_config_t *cfg, corral_host_t **out,
                                corral_err_t *err);

/* Stops the host if it runs (corral_host_stop) and frees it. NULL is a no-op.
 * No other thread may be using the host. */
void corral_host_free(corral_host_t *host);

/* Starts the host: generates its server key (N...), starts the worker threads
 * and the health timer, and starts one instance of each built-in provider
 * that serves logging and numbergen (unless no_builtins). Errors:
 * CORRAL_ERR_STATE when already started (or stopped: a host starts once),
 * CORRAL_ERR_INTERNAL when a thread cannot be started. */
corral_status_t corral_host_start(corral_host_t *host, corral_err_t *err);

/* Stops the host: stops the control socket server, refuses new calls
 * (CORRAL_ERR_STATE "host is stopping"), waits for every call in flight to
 * finish (each is bounded by its actor's deadline), runs the queued async
 * completions, unlinks and destroys every provider, frees every actor. Safe
 * to call twice; a host that never started is a no-op. Must not be called
 * from inside a call (an actor or provider thread). */
void corral_host_stop(corral_host_t *host);

/* The host's server key (N..., 56 characters), "" before start. Borrowed,
 * valid until corral_host_free. Any thread after start. */
const char *corral_host_key(const corral_host_t *host);

/* Asks whoever waits in corral_host_wait to go on (the control op
 * `stop_host` calls this). Async-signal-safe: may be called from a signal
 * handler. */
void corral_host_request_stop(corral_host_t *host);

/* Blocks until corral_host_request_stop is called (or timeout_ms passes;
 * 0 = wait forever). Returns 1 when a stop was requested, 0 on timeout.
 * `corral up` calls this, then corral_host_stop. */
int corral_host_wait(corral_host_t *host, uint32_t timeout_ms);

/* ---- actors ------------------------------------------------------------------------ */

/* Options for starting an actor. Zero-initialise; zero fields take the host's
 * defaults. */
typedef struct corral_host_actor_opts {
    int allow_unsigned;          /* accept this module without a token even if
                                    the host's config does not */
    corral_host_limits_t limits; /* per-actor overrides */
    corral_host_engine_t engine; /* DEFAULT = the host's, or AOT when artifact is set */
    /* A prebuilt AOT artifact (path, read at start) to run this actor on.
     * Used only when its recorded hash is this module's, its ABI is this
     * host's, and it lies in the host's own cache directory or is signed by
     * one of the config's aot_signers; otherwise the actor runs on the
     * interpreter and the log says exactly why, once. Ignored (with a log
     * line) when the engine is INTERP. NULL = the cache rules of engine. */
    const char *artifact;
} corral_host_actor_opts_t;

/* What corral_host_actor_start reports. */
typedef struct corral_host_actor_info {
    char key[CORRAL_HOST_KEY_LEN];  /* module key (for an unsigned module: a
                                       module key derived from its SHA-256) */
    char name[CORRAL_HOST_NAME_MAX]; /* claims name ("" when unsigned) */
    int64_t rev;
} corral_host_actor_info_t;

/* Starts an actor from module bytes (copied as needed; free them on return).
 * Verifies the claims strictly (docs/claims.md stages 1-7, with the host's
 * allowed issuers and revocation list); a module without a token is accepted
 * only when allow_unsigned is set in the host config or opts (it then has no
 * capabilities: it may call other actors only). Checks the module as a waPC
 * guest and instantiates its first instance, so link/init errors surface
 * here. Registers it under its module key and its call alias, and applies
 * every kept link for that key. out may be NULL. Errors: the claims stage's
 * code (message "actor module: <stage message>"), CORRAL_ERR_EXISTS (that
 * module key, or that call alias, is already running: use update),
 * CORRAL_ERR_UNLINKABLE / _MALFORMED / _INVALID / a trap of an init function
 * (from corral_wapc), CORRAL_ERR_STATE, CORRAL_ERR_NOMEM. */
corral_status_t corral_host_actor_start(corral_host_t *host, const uint8_t *wasm, size_t len,
                                        const corral_host_actor_opts_t *opts,
                                        corral_host_actor_info_t *out, corral_err_t *err);

/* The same, reading the module from a file (CORRAL_ERR_NOT_FOUND / _IO naming
 * the path). */
corral_status_t corral_host_actor_start_file(corral_host_t *host, const char *path,
                                             const corral_host_actor_opts_t *opts,
                                             corral_host_actor_info_t *out, corral_err_t *err);

/* Stops the actor named by key or call alias: removes it from the tables
 * (new calls get CORRAL_ERR_NO_ACTOR), unlinks it from its providers (the
 * links themselves are kept and apply again if the actor starts again; use
 * link_del to forget them), waits for its calls in flight, frees its pool.
 * key_out (optional) receives its module key. */
corral_status_t corral_host_actor_stop(corral_host_t *host, const char *actor,
                                       char key_out[CORRAL_HOST_KEY_LEN], corral_err_t *err);

/* What corral_host_actor_update reports. */
typedef struct corral_host_update_result {
    char key[CORRAL_HOST_KEY_LEN];
    int64_t old_rev, new_rev;
    uint64_t swap_pause_us; /* longest time the pool lock was held by the swap */
    int caps_changed;       /* the new claims list other capabilities */
} corral_host_update_result_t;

/* Live update of the running actor `actor` (key or alias) to a new module:
 * verifies it as actor_start does, then requires the same subject (module
 * key) and a strictly greater rev, else CORRAL_ERR_UPDATE_REFUSED with a
 * message naming both keys or both revs. Prepares the new version off the hot
 * path and swaps it in with corral_wapc_pool_replace: calls in flight finish
 * on the old version, later calls run on the new one, no call fails. The new
 * claims (caps, name, alias) take effect for calls that start after the
 * swap; when caps change, links to capabilities the new version lists are
 * applied. out may be NULL. */
corral_status_t corral_host_actor_update(corral_host_t *host, const char *actor,
                                         const uint8_t *wasm, size_t len,
                                         corral_host_update_result_t *out, corral_err_t *err);

corral_status_t corral_host_actor_update_file(corral_host_t *host, const char *actor,
                                              const char *path, corral_host_update_result_t *out,
                                              corral_err_t *err);

/* Calls `operation` on the actor named by key or alias with payload (may be
 * NULL when len is 0), on the calling thread. On CORRAL_OK the response is
 * appended to resp (caller-owned). Errors: CORRAL_ERR_NO_ACTOR, the waPC
 * outcomes (CORRAL_ERR_GUEST with the guest's message, CORRAL_ERR_TRAP_*,
 * CORRAL_ERR_BUSY ...), each prefixed with the actor's key and name.
 * Counted in the actor's calls/errors/traps. Thread-safe. */
corral_status_t corral_host_call(corral_host_t *host, const char *actor, const char *operation,
                                 const uint8_t *payload, size_t len, corral_buf_t *resp,
                                 corral_err_t *err);

typedef struct corral_host_health {
    int healthy;
    char message[CORRAL_HOST_NAME_MAX];
} corral_host_health_t;

/* Sends HealthRequest {placeholder: true} to the actor and decodes
 * {healthy, message}. An actor that errors, traps, answers late or answers
 * something that does not decode is reported unhealthy with the reason in
 * message; the function itself then still returns CORRAL_OK. Errors only for
 * CORRAL_ERR_NO_ACTOR / _STATE / _NOMEM. The result is also remembered for
 * the inventory. Thread-safe. */
corral_status_t corral_host_actor_health(corral_host_t *host, const char *actor,
                                         corral_host_health_t *out, corral_err_t *err);

/* Counters of one actor, since it started (across updates). Thread-safe;
 * the counters are read one by one, not as one atomic picture.
 * CORRAL_ERR_NO_ACTOR when it does not run. */
typedef struct corral_host_actor_stats {
    uint64_t calls;  /* guest calls made (from any source) */
    uint64_t errors; /* calls that did not return CORRAL_OK */
    uint64_t traps;  /* calls that trapped */
    uint32_t instances, max_instances;
    int64_t rev;
} corral_host_actor_stats_t;

corral_status_t corral_host_actor_stats(corral_host_t *host, const char *actor,
                                        corral_host_actor_stats_t *out, corral_err_t *err);

/* Appends the host's metrics to out (caller-owned) in the Prometheus text
 * exposition format 0.0.4: per actor and operation corral_actor_calls_total,
 * _errors_total, _traps_total and the corral_actor_call_duration_seconds
 * histogram (buckets 50 us .. 10 s); per actor instances, inflight, swaps,
 * revision, health; per provider corral_provider_up; per kept link
 * corral_link_applied. Operation names are counted in a fixed table per actor
 * (32 names; the rest, and names with characters outside [A-Za-z0-9_.:/@-]
 * or 48 bytes and longer, share operation="(other)"), so hostile names cannot
 * grow it. Counters are read one by one, not as one atomic picture.
 * Thread-safe (takes the control lock briefly). CORRAL_ERR_NOMEM leaves out
 * as it was. */
corral_status_t corral_host_metrics(corral_host_t *host, corral_buf_t *out, corral_err_t *err);

/* A minimal HTTP endpoint serving corral_host_metrics at GET /metrics (404
 * for other paths, 405 for other methods, request heads bounded to 8 KiB
 * and 2 s). One connection at a time on its own thread. bind_addr is an IPv4
 * or IPv6 literal (NULL = 127.0.0.1); port 0 picks a free port (see
 * corral_host_metrics_http_port). Stop it before corral_host_free.
 * Errors: CORRAL_ERR_INVALID_ARG (address), CORRAL_ERR_IO (bind/listen). */
typedef struct corral_host_metrics_http corral_host_metrics_http_t;
corral_status_t corral_host_metrics_http_start(corral_host_t *host, const char *bind_addr,
                                               uint16_t port, corral_host_metrics_http_t **out,
                                               corral_err_t *err);
uint16_t corral_host_metrics_http_port(const corral_host_metrics_http_t *srv);
/* Stops serving and frees srv (waits for a request being answered). NULL is a no-op. */
void corral_host_metrics_http_stop(corral_host_metrics_http_t *srv);

/* ---- lifecycle events ---- */

/* Receives each lifecycle event as one CloudEvents 1.0 JSON object
 * (structured mode, compact, no newline): type
 * com.wasmcloud.lattice.<actor_started|actor_stopped|actor_updated|
 * provider_started|provider_stopped|linkdef_set|linkdef_deleted>, source
 * corral://host/<host key>, data {public_key | actor_id, contract_id,
 * link_name, host_id}. line is borrowed for the call. Called on the thread
 * that made the change, after the change, never under a host lock; must be
 * thread-safe. */
typedef void (*corral_host_event_fn)(void *user, const char *line);

/* Installs the event sink (NULL: none). Call before corral_host_start. */
void corral_host_set_event_sink(corral_host_t *host, corral_host_event_fn fn, void *user);

/* ---- tracing (W3C Trace Context) ---- */

#define CORRAL_HOST_TRACEPARENT_LEN 55 /* "00-" 32 hex "-" 16 hex "-" 2 hex */

/* The traceparent of the guest call running on this thread (a child span of
 * the caller's: an HTTP request's `traceparent` header, an actor's call),
 * or, on a worker about to hand a provider's call to the lattice, the one it
 * carries. Writes it NUL-terminated to out and returns 1; 0 (out = "") when
 * the thread is in no call. Lattice hooks call it to put the traceparent on
 * invocations. The host logs it at debug level with each call. */
int corral_host_traceparent(char out[CORRAL_HOST_TRACEPARENT_LEN + 1]);

/* Checks s[0..n) is a valid traceparent (version 00 exactly, later versions
 * by prefix; not version ff; trace and parent ids not all zero; lowercase
 * hex). Returns 1 and fills the optional outputs, else 0. Pure function. */
int corral_host_traceparent_parse(const char *s, size_t n, uint8_t trace_id[16],
                                  uint8_t parent_id[8], uint8_t *flags);

/* Resolves a key or call alias to the module key. CORRAL_ERR_NO_ACTOR.
 * Thread-safe, lock-free (reads the current tables). */
corral_status_t corral_host_actor_resolve(corral_host_t *host, const char *actor,
                                          char key_out[CORRAL_HOST_KEY_LEN], corral_err_t *err);

/* ---- providers ---------------------------------------------------------------------- */

typedef struct corral_host_provider_opts {
    const char *kind;        /* registry name ("keyvalue:memory", "httpserver") ... */
    const char *path;        /* ... or a shared object (exactly one of the two) */
    const char *link_name;   /* NULL or "" = "default" */
    const corral_host_kv_t *values; /* provider configuration */
    size_t nvalues;
} corral_host_provider_opts_t;

typedef struct corral_host_provider_info {
    char key[CORRAL_HOST_KEY_LEN];           /* service key V... */
    char name[CORRAL_HOST_NAME_MAX];         /* registry name */
    char contract_id[CORRAL_HOST_NAME_MAX];  /* canonical */
    char link_name[CORRAL_HOST_NAME_MAX];
} corral_host_provider_info_t;

/* Each provider instance gets its own services table (corral_provider.h):
 *   alloc/free   corral_malloc / corral_free;
 *   log          corral_log with the provider's registry name prefixed;
 *   data_dir     the host's data directory;
 *   call_actor   runs the actor on the calling thread; the call must go
 *                through a link of this provider instance (actor key, link
 *                name), else CORRAL_ERR_NO_ACTOR / CORRAL_ERR_NO_LINK;
 *   call_actor_async  checks the same, copies the payload and queues the
 *                call on the host's workers (CORRAL_ERR_BUSY when 65536 calls
 *                wait). timeout_ms (0 = 30 s) bounds the wait for a worker:
 *                a call that waited longer completes with CORRAL_ERR_TIMEOUT
 *                without running; once running, the actor's deadline bounds
 *                it. While the provider or the host stops, new async calls
 *                get CORRAL_ERR_STATE; queued ones still complete.
 *
 * Starts a provider instance: finds it in the built-in registry or loads the
 * shared object, creates it with the configuration values and a host services
 * table of its own (alloc/free, log, data_dir, call_actor, call_actor_async),
 * gives it a service key, and applies every kept link with its contract id
 * and link name. Errors: CORRAL_ERR_NOT_FOUND ("no built-in provider named
 * 'x': known providers are ..."), CORRAL_ERR_INVALID_ARG (neither or both of
 * kind/path), CORRAL_ERR_EXISTS (a provider for that contract id and link
 * name already runs: stop it first; except the host's own built-in logging
 * or numbergen instance, which the new one replaces, keeping the implicit
 * links), the loader's and create's errors. A link
 * the provider refuses is logged and kept (it is retried when the provider
 * or the actor restarts). out may be NULL. */
corral_status_t corral_host_provider_start(corral_host_t *host,
                                           const corral_host_provider_opts_t *opts,
                                           corral_host_provider_info_t *out, corral_err_t *err);

/* Stops the provider with service key `key`: publishes tables without it
 * (actor calls to its contract fail fast with "no provider linked ..."),
 * unlinks every actor from it, waits for its calls in flight (both
 * directions), destroys it (and unloads its shared object). Links stay kept
 * for the next provider of that contract id and link name.
 * CORRAL_ERR_NOT_FOUND for an unknown key. */
corral_status_t corral_host_provider_stop(corral_host_t *host, const char *key,
                                          corral_err_t *err);

/* ---- links ---------------------------------------------------------------------------- */

/* Puts the link (actor, contract id, link name) -> values, replacing an
 * existing one. `actor` is a module key, or the call alias of a running
 * actor. contract_id is canonicalised (older waSCC ids accepted); link_name
 * NULL or "" = "default". When the actor runs and a provider with that
 * contract id and link name runs, the provider's link() is called with the
 * values plus the actor's claims (__wasmcloud_issuer, __wasmcloud_capabilities,
 * __wasmcloud_name, __wasmcloud_expires, __wasmcloud_tags); otherwise the
 * link is kept and applied when both are there. Errors: the provider's link()
 * error (the link is then not kept), CORRAL_ERR_NO_ACTOR (an alias no running
 * actor has; a module key is always accepted), CORRAL_ERR_INVALID_ARG. */
corral_status_t corral_host_link_put(corral_host_t *host, const char *actor,
                                     const char *contract_id, const char *link_name,
                                     const corral_host_kv_t *values, size_t nvalues,
                                     corral_err_t *err);

/* Deletes a link and calls the provider's unlink(). CORRAL_ERR_NOT_FOUND when
 * there is no such link. */
corral_status_t corral_host_link_del(corral_host_t *host, const char *actor,
                                     const char *contract_id, const char *link_name,
                                     corral_err_t *err);

/* ---- lattice (host/lattice/corral_lattice.h) ------------------------------------------- */

/* Defined when this header has the hooks below (host/lattice tests for it). */
#define CORRAL_HOST_REMOTE 1

/* What a lattice member gives the host so callees that are not local are
 * reached over the lattice, and so it hears about table changes at once.
 * Plain strings; every function is thread-safe and may be called with the
 * host's control lock held, so none of them calls back into the host.
 *   call: origin_key is the caller (actor M... or provider V...),
 *         origin_contract / origin_link NULL for an actor; target an actor
 *         key or alias (target_contract NULL) or a provider (target NULL or
 *         its key, target_contract and target_link set); timeout_ms 0 = the
 *         lattice default. On CORRAL_OK the response is appended to resp.
 *   actor_changed / provider_changed: after a start (running 1) or a stop;
 *         actor_changed also after a live update (running 1 again).
 *   link_changed: after a link put (put 1, values borrowed for the call) or
 *         del (put 0) made on this host. */
typedef struct corral_host_remote {
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
                         const char *link_name, const corral_host_kv_t *values, size_t nvalues,
                         int put);
    /* Optional (may be NULL): the claims of an actor that runs on another
     * host, for its __wasmcloud_* link values (contracts.md): out[0..4] =
     * issuer, capabilities (comma-joined), name, expires ("0" if none), tags
     * (comma-joined), the strings copied into buf (n bytes). Returns 1, or 0
     * when the claims are unknown or do not fit. Called under the host's
     * control lock: must not call back into the host. */
    int (*actor_claims)(void *ctx, const char *actor_key, const char *out[5], char *buf, size_t n);
} corral_host_remote_t;

/* Installs the hooks (copied; remote non-NULL) or removes them (NULL).
 * Install after corral_host_start; remove only after corral_host_stop (no
 * call may be inside a hook), and keep ctx valid until then. With hooks an
 * actor's call to an actor key or alias that is not local, or to a linked
 * contract with no local provider, goes to remote->call; a provider's
 * call_actor(_async) to an actor that is not local too; and links made for
 * actors that do not run here are applied to local providers, with the
 * __wasmcloud_* claim values from remote->actor_claims when it knows them. */
void corral_host_set_remote(corral_host_t *host, const corral_host_remote_t *remote);

/* Dispatches an operation that arrived from elsewhere (the lattice) to the
 * local provider with service key provider_key, as if origin_actor had called
 * it through its link link_name. On CORRAL_OK the response is appended to
 * resp. Errors: CORRAL_ERR_NOT_FOUND (no such provider here), CORRAL_ERR_STATE,
 * the provider's errors (CORRAL_ERR_NO_LINK when the actor is not linked to
 * it). Thread-safe. */
corral_status_t corral_host_provider_call(corral_host_t *host, const char *provider_key,
                                          const char *origin_actor, const char *contract_id,
                                          const char *link_name, const char *operation,
                                          const uint8_t *payload, size_t len, corral_buf_t *resp,
                                          corral_err_t *err);

/* ---- inventory ------------------------------------------------------------------------- */

/* The inventory as one JSON object, exactly the `inventory` result of
 * docs/control.md (host_key, labels, uptime_s, actors with counters,
 * providers, links), plus "health" {healthy, message} on actors checked at
 * least once, "engine" ("aot" or "interp": the tier the actor's instances
 * run on now) on actors and "builtin" on providers. A link's "provider" is the service
 * key of the provider it is applied to, or null while it is only kept.
 * *json_out is NUL-terminated, free with corral_free. Thread-safe (a control
 * function). CORRAL_ERR_NOMEM. */
corral_status_t corral_host_inventory(corral_host_t *host, char **json_out, corral_err_t *err);

/* ---- control socket (docs/control.md) ---------------------------------------------------- */

/* Executes one control request (one JSON object, as a line of the socket
 * would carry, without the newline) and returns the reply object as text
 * without a newline in *reply_out (free with corral_free). Always produces a
 * reply: malformed requests get {"ok":false,"code":"ERR_PARSE",...}. Returns
 * CORRAL_OK when a reply was produced (whatever its "ok"), CORRAL_ERR_NOMEM
 * otherwise. Thread-safe. The op `stop_host` replies and then calls
 * corral_host_request_stop. */
corral_status_t corral_host_control_exec(corral_host_t *host, const char *request, size_t len,
                                         char **reply_out);

/* Starts the control server: creates run_dir (NULL = the config's run_dir or
 * its default) with mode 0700 (an existing one must be owned by this user and
 * is chmod'ed to 0700), binds <run_dir>/control.sock with mode 0600 (a stale
 * socket no one answers on is replaced; a live one is CORRAL_ERR_EXISTS
 * "another host is running on <path>"), and starts a thread that accepts
 * connections (one thread per connection). Peers whose uid differs are
 * refused. Errors: CORRAL_ERR_IO naming the path and the OS error,
 * CORRAL_ERR_STATE when already running. */
corral_status_t corral_host_control_start(corral_host_t *host, const char *run_dir,
                                          corral_err_t *err);

/* The socket path of the running control server ("" when not running).
 * Borrowed, valid until control_stop. Not synchronised with start/stop:
 * call it from the thread that manages the server. */
const char *corral_host_control_path(const corral_host_t *host);

/* Stops the control server: closes the socket, ends connection threads
 * (waiting for requests they are executing), removes the socket file. No-op
 * when not running. Never from a control connection's own request. */
void corral_host_control_stop(corral_host_t *host);

/* The default run dir of docs/control.md into out (n bytes):
 * $XDG_RUNTIME_DIR/corral, else /tmp/corral-<uid>. CORRAL_ERR_TOO_LARGE when
 * it does not fit. Thread-safe (reads the environment). */
corral_status_t corral_host_default_run_dir(char *out, size_t n);

#ifdef __cplusplus
}
#endif

#endif

/*
 * corral_provider.h - the versioned capability-provider interface: what a
 * provider (key-value, logging, numbergen, HTTP, or one loaded from a shared
 * object) exposes to the host, and what the host exposes to it.
 *
 * A provider is a static table of function pointers (corral_provider_t) with
 * an ABI version and the table's size. It is either built into the host (and
 * found in the registry by name or contract id) or loaded from a shared object
 * that exports the function CORRAL_PROVIDER_ENTRY_SYMBOL. The host hands each
 * provider instance its services as a table (corral_provider_host_t) - calling
 * actors, logging, allocation, the data directory - so a provider never links
 * against host symbols. Only types (corral_status_t, corral_err_t,
 * corral_log_level_t) come from corral_base.h; a shared-object provider may
 * use them without linking corral_base.
 *
 * Versioning: CORRAL_PROVIDER_ABI_VERSION changes whenever an existing field
 * changes meaning or position. New fields are only ever appended; a table
 * whose struct_size is smaller than the size the host was built with is
 * refused (CORRAL_ERR_PROVIDER_ABI), a larger one is accepted (the host
 * ignores the tail). The same rule applies to corral_provider_host_t in the
 * other direction.
 *
 * Memory: every byte buffer that crosses the boundary and changes owner is
 * allocated with host->alloc and released with host->free. For built-in
 * providers host->alloc is corral_malloc.
 *
 * Threads (per function, repeated below):
 *   describe  - any thread, any time, even without an instance; pure.
 *   create    - control thread; no other call on that instance can run yet.
 *   destroy   - control thread; the host guarantees that no other call on the
 *               instance is running or will start (it unlinks first and waits
 *               for in-flight calls to drain).
 *   link      - control thread, one at a time per instance, but CONCURRENT
 *   unlink      with `call` and `health` on other worker threads (also for
 *               the same actor): the provider synchronises its own tables.
 *   call      - any host worker thread, many at once on one instance.
 *   health    - any thread, concurrently with everything except destroy.
 */
#ifndef CORRAL_PROVIDER_H
#define CORRAL_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "corral_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change of corral_provider_t or
 * corral_provider_host_t. */
#define CORRAL_PROVIDER_ABI_VERSION 1u

/* The function a shared-object provider exports:
 *   const corral_provider_t *corral_provider_entry(void);
 * It returns a pointer to a static table that lives as long as the object is
 * loaded; it must not allocate or start threads. */
#define CORRAL_PROVIDER_ENTRY_SYMBOL "corral_provider_entry"

/* Well-known contract ids (the actor-side namespaces). */
#define CORRAL_CONTRACT_KEYVALUE        "wasmcloud:keyvalue"
#define CORRAL_CONTRACT_KEYVALUE_WASCC  "wascc:keyvalue"
#define CORRAL_CONTRACT_LOGGING         "wasmcloud:logging"
#define CORRAL_CONTRACT_LOGGING_WASCC   "wascc:logging"
#define CORRAL_CONTRACT_NUMBERGEN       "wasmcloud:builtin:numbergen"
#define CORRAL_CONTRACT_NUMBERGEN_WASCC "wascc:extras"
#define CORRAL_CONTRACT_HTTPSERVER      "wasmcloud:httpserver"
#define CORRAL_CONTRACT_HTTPSERVER_WASCC "wascc:http_server"

/* A string key/value pair: configuration and link values. Both strings are
 * NUL-terminated and borrowed for the duration of the call that receives
 * them; a provider copies what it keeps. */
typedef struct corral_provider_kv {
    const char *key;
    const char *value;
} corral_provider_kv_t;

/* A byte buffer whose ownership moves: data was allocated with host->alloc
 * (or is NULL when len is 0) and the receiver frees it with host->free. */
typedef struct corral_provider_bytes {
    uint8_t *data;
    size_t len;
} corral_provider_bytes_t;

/* ---- host services (host -> provider) ----------------------------------- */

/* Completion of an asynchronous provider -> actor call. Runs exactly once, on
 * a host worker thread (or on the calling thread when call_actor_async fails
 * immediately it does NOT run: the failure is returned instead). On success
 * st is CORRAL_OK and resp/resp_len are the actor's response, borrowed for the
 * duration of the callback; otherwise err describes the failure (borrowed
 * too). The callback must not block for long: it occupies a worker. */
typedef void (*corral_provider_reply_fn)(void *done_user, corral_status_t st, const uint8_t *resp,
                                         size_t resp_len, const corral_err_t *err);

typedef struct corral_provider_host {
    uint32_t abi_version; /* CORRAL_PROVIDER_ABI_VERSION of the host */
    uint32_t struct_size; /* sizeof(corral_provider_host_t) in the host */

    /* Opaque host context for this provider instance; pass it back as the
     * first argument of the functions below. */
    void *ctx;

    /* The host's data directory (absolute, exists, writable; no trailing
     * slash). Providers keep their files under it unless configured otherwise.
     * Valid for the instance's lifetime. */
    const char *data_dir;

    /* Allocation for buffers that change owner (responses, payloads). Any
     * thread. alloc returns NULL on failure. */
    void *(*alloc)(size_t n);
    void (*free)(void *p);

    /* Writes a log line through the host's logger. `component` is a short
     * name ("kv", "logging"). Any thread. */
    void (*log)(void *ctx, corral_log_level_t level, const char *component, const char *msg);

    /* Provider -> actor call, synchronous: runs `operation` on the actor with
     * public key actor_key, addressed through the link (actor_key, link_name)
     * of this provider instance, and blocks until it answers. On success
     * *resp receives the response (owned by the caller, free with host->free).
     * Errors: CORRAL_ERR_NO_ACTOR / CORRAL_ERR_NO_LINK when there is no such
     * actor or link, CORRAL_ERR_GUEST (err carries the guest's message) or a
     * trap status, CORRAL_ERR_TIMEOUT. Call it from the provider's own
     * threads, never from inside `call` (that would hold a host worker while
     * waiting for another). Thread-safe. */
    corral_status_t (*call_actor)(void *ctx, const char *actor_key, const char *link_name,
                                  const char *operation, const uint8_t *payload, size_t len,
                                  corral_provider_bytes_t *resp, corral_err_t *err);

    /* Provider -> actor call, asynchronous: queues the call on a host worker
     * and returns at once. The payload is copied before returning. On
     * CORRAL_OK `done` runs exactly once later; on an immediate failure (no
     * such actor/link, queue full -> CORRAL_ERR_BUSY, out of memory) the
     * failure is returned and `done` never runs. timeout_ms 0 = host
     * default. Thread-safe; this is what an I/O thread (HTTP) should use. */
    corral_status_t (*call_actor_async)(void *ctx, const char *actor_key, const char *link_name,
                                        const char *operation, const uint8_t *payload, size_t len,
                                        uint32_t timeout_ms, corral_provider_reply_fn done,
                                        void *done_user, corral_err_t *err);
} corral_provider_host_t;

/* ---- the provider (provider -> host) ------------------------------------ */

/* What a provider is. All strings are static. */
typedef struct corral_provider_info {
    /* Canonical contract id served ("wasmcloud:keyvalue"). */
    const char *contract_id;
    /* NULL-terminated list of other ids that name the same contract
     * ("wascc:keyvalue"), or NULL. */
    const char *const *contract_aliases;
    /* Registry name: "<short contract>[:<backend>]" e.g. "keyvalue:sqlite",
     * "logging", "numbergen". */
    const char *name;
    /* Human-readable one-liner and version, for `corral` listings. */
    const char *description;
    const char *version;
} corral_provider_info_t;

/* One actor -> provider invocation. Everything is borrowed for the duration
 * of `call`. */
typedef struct corral_provider_call {
    const char *actor_key;   /* the calling actor's module key (M...) */
    const char *link_name;   /* never NULL; "default" when the actor gave none */
    const char *contract_id; /* as the actor named it (e.g. "wascc:logging"), so a
                              * provider can tell older payload forms apart */
    const char *operation;   /* e.g. "Get" */
    const uint8_t *payload;  /* msgpack request; may be NULL when payload_len is 0 */
    size_t payload_len;
} corral_provider_call_t;

typedef struct corral_provider corral_provider_t;

struct corral_provider {
    uint32_t abi_version; /* CORRAL_PROVIDER_ABI_VERSION the provider was built against */
    uint32_t struct_size; /* sizeof(corral_provider_t) the provider was built against */

    /* Fills *info. Any thread; no instance needed; cannot fail. */
    void (*describe)(corral_provider_info_t *info);

    /* Creates an instance. `config` (n_config pairs, borrowed) holds
     * provider-wide defaults (e.g. PATH, URL); `host` must outlive the
     * instance (the provider keeps the pointer). On success *instance is set.
     * Errors: CORRAL_ERR_INVALID_ARG for bad configuration (message names the
     * key), CORRAL_ERR_NOMEM, CORRAL_ERR_IO. Control thread. */
    corral_status_t (*create)(const corral_provider_kv_t *config, size_t n_config,
                              const corral_provider_host_t *host, void **instance,
                              corral_err_t *err);

    /* Releases an instance and everything it owns (connections, threads).
     * Control thread; no other call on the instance is running or will start.
     * NULL is a no-op. */
    void (*destroy)(void *instance);

    /* Binds actor_key under link_name ("default" when empty) with the link
     * values, which include the __wasmcloud_* claim values (issuer,
     * capabilities, name, expires, tags). Linking an already linked
     * (actor, link name) replaces its values. Errors: CORRAL_ERR_INVALID_ARG
     * (bad value, message names it), CORRAL_ERR_IO / _BACKEND_UNAVAILABLE when
     * a resource cannot be opened. Control thread; concurrent with `call`. */
    corral_status_t (*link)(void *instance, const char *actor_key, const char *link_name,
                            const corral_provider_kv_t *values, size_t n_values, corral_err_t *err);

    /* Drops the state of (actor_key, link_name): listeners, connections.
     * Unknown links are a no-op. Calls already running for that link finish
     * safely; later ones fail with CORRAL_ERR_NO_LINK where the provider needs
     * a link. Control thread; concurrent with `call`. */
    void (*unlink)(void *instance, const char *actor_key, const char *link_name);

    /* Handles one actor -> provider operation. On CORRAL_OK *resp holds the
     * msgpack response (allocated with host->alloc; {NULL, 0} for an empty
     * response) and the caller owns it. On failure *resp is {NULL, 0} and err
     * says what failed, e.g. CORRAL_ERR_PARSE "Get: request field 'key' is
     * missing", CORRAL_ERR_WRONG_TYPE, CORRAL_ERR_BACKEND_UNAVAILABLE
     * "keyvalue backend unavailable", CORRAL_ERR_UNSUPPORTED for an unknown
     * operation, CORRAL_ERR_NO_LINK. Any worker thread, many at once. */
    corral_status_t (*call)(void *instance, const corral_provider_call_t *call,
                            corral_provider_bytes_t *resp, corral_err_t *err);

    /* Reports whether the instance can serve (e.g. its backend answers).
     * CORRAL_OK when healthy; otherwise a status and a message in err. May be
     * NULL (always healthy). Any thread. */
    corral_status_t (*health)(void *instance, corral_err_t *err);
};

/* The entry point a shared-object provider defines. */
typedef const corral_provider_t *(*corral_provider_entry_fn)(void);

/* ---- checks and names ------------------------------------------------------ */

/* Checks a provider table the host did not build itself: non-NULL, ABI
 * version equal to the host's, struct_size at least the host's, mandatory
 * functions present (describe, create, destroy, link, unlink, call), and
 * describe() giving a contract id and a name. `origin` names it in the
 * message (a path). Errors: CORRAL_ERR_PROVIDER_ABI with e.g. "provider
 * ./p.so was built for provider ABI 7, this host speaks 1: rebuild it
 * against corral_provider.h". Thread-safe. */
corral_status_t corral_provider_check(const corral_provider_t *p, const char *origin,
                                      corral_err_t *err);

/* Maps an older contract id to the one used by providers: "wascc:keyvalue"
 * -> "wasmcloud:keyvalue", "wascc:logging" -> "wasmcloud:logging",
 * "wascc:http_server" -> "wasmcloud:httpserver", "wascc:extras" ->
 * "wasmcloud:builtin:numbergen". Any other id is returned unchanged. The
 * result is static or `id` itself. Thread-safe. */
const char *corral_provider_contract_canonical(const char *id);

/* Whether provider p serves contract id `id` (canonical or alias). */
int corral_provider_serves(const corral_provider_t *p, const char *id);

/* ---- registry of built-in providers ---------------------------------------- */

/* Finds a built-in provider by registry name ("keyvalue:memory",
 * "keyvalue:sqlite", "keyvalue:redis", "logging", "numbergen"). "keyvalue"
 * alone means "keyvalue:memory". NULL when unknown. Thread-safe. */
const corral_provider_t *corral_provider_builtin_find(const char *name);

/* Finds a built-in provider by contract id (any alias) and optional backend
 * ("sqlite"; NULL or "" = the contract's default backend). NULL when unknown.
 * Thread-safe. */
const corral_provider_t *corral_provider_builtin_for_contract(const char *contract_id,
                                                             const char *backend);

/* The i-th registered provider (0-based), NULL past the end: for listings. */
const corral_provider_t *corral_provider_builtin_at(size_t i);

/* Adds a provider built by another module (e.g. the HTTP server provider) to
 * the registry, after corral_provider_check. Errors: CORRAL_ERR_EXISTS when
 * the name is taken, CORRAL_ERR_TOO_LARGE when the registry is full (32),
 * CORRAL_ERR_PROVIDER_ABI. The table must stay valid for the process's life.
 * Thread-safe. */
corral_status_t corral_provider_builtin_register(const corral_provider_t *p, corral_err_t *err);

/* ---- shared-object loader -------------------------------------------------- */

typedef struct corral_provider_lib corral_provider_lib_t;

/* dlopen()s path (RTLD_NOW | RTLD_LOCAL), looks up
 * CORRAL_PROVIDER_ENTRY_SYMBOL, calls it and checks the table with
 * corral_provider_check. On success *out owns the library. Errors:
 * CORRAL_ERR_NOT_FOUND / CORRAL_ERR_IO (dlerror text in the message),
 * CORRAL_ERR_INVALID_ARG (no entry symbol, or it returned NULL),
 * CORRAL_ERR_PROVIDER_ABI (wrong version or too small a table). On failure
 * the library is closed again. Control thread. */
corral_status_t corral_provider_load(const char *path, corral_provider_lib_t **out,
                                     corral_err_t *err);

/* The provider table of a loaded library; valid until corral_provider_unload. */
const corral_provider_t *corral_provider_lib_provider(const corral_provider_lib_t *lib);

/* The path the library was loaded from. */
const char *corral_provider_lib_path(const corral_provider_lib_t *lib);

/* dlclose()s the library. Every instance made from it must be destroyed
 * first. NULL is a no-op. Control thread. */
void corral_provider_unload(corral_provider_lib_t *lib);

/* ---- convenience for hosts and tests ---------------------------------------- */

/* A host services table for standalone use (tests, tools): alloc/free are
 * corral_malloc/corral_free, log goes to corral_log, data_dir is the given
 * directory (borrowed), call_actor/call_actor_async fail with
 * CORRAL_ERR_NO_ACTOR. */
void corral_provider_host_init_default(corral_provider_host_t *host, const char *data_dir);

#ifdef __cplusplus
}
#endif

#endif

/*
 * corral_wapc.h - the waPC host protocol on top of Corral's engine
 * (wapc/vm/corral_vm.h): load an actor module, instantiate it with the waPC
 * imports (under `wapc` and `wasmbus`) and a minimal WASI preview 1 (under
 * `wasi_snapshot_preview1` and `wasi_unstable`), and make host -> guest calls
 * that move opaque byte blobs. The convention is the one in docs/wapc.md;
 * guests built by any waPC toolchain (Rust, TinyGo, AssemblyScript, Zig, C)
 * run unmodified.
 *
 * Objects and their lifetimes
 *   corral_wapc_module_t    a compiled, checked actor module. Immutable and
 *                           reference counted: share it between threads;
 *                           instances and pools keep their own reference, so
 *                           the creator may drop its reference at any time.
 *   corral_wapc_instance_t  one running guest. One call at a time, one thread
 *                           at a time (it may move between threads between
 *                           calls). A trap poisons it: discard it.
 *   corral_wapc_pool_t      up to max_instances instances of one module for
 *                           concurrent calls from many threads, with hot
 *                           replacement of the module. Thread-safe.
 *
 * Errors: every fallible function returns a corral_status_t and fills the
 * caller's corral_err_t (may be NULL) with a message meant for humans.
 * Outcome of a call (docs/wapc.md "One host -> guest call"):
 *   CORRAL_OK               the guest returned 1 and called __guest_response
 *                           (an empty response counts only when
 *                           __guest_response(ptr, 0) was called).
 *   CORRAL_ERR_GUEST        the guest returned 0; err holds the guest's error
 *                           text (invalid UTF-8 replaced by U+FFFD, cut to
 *                           fit corral_err_t) or "guest call failed without
 *                           an error message".
 *   CORRAL_ERR_NO_RESPONSE  the guest returned 1 without a response:
 *                           "guest returned success without a response".
 *   CORRAL_ERR_TOO_LARGE    the guest's response exceeded max_response_bytes.
 *                           The instance stays usable.
 *   CORRAL_ERR_TRAP_*       the guest trapped (text as the engine gives it:
 *                           "unreachable", "deadline exceeded after 100 ms",
 *                           "__guest_response: (ptr 0x10000, len 4) is
 *                           outside guest memory of 65536 bytes", ...).
 *                           CORRAL_ERR_TRAP_EXIT when the guest called WASI
 *                           proc_exit during a call. The instance is poisoned.
 *   CORRAL_ERR_BUSY         (pools) no instance became free in time.
 *   CORRAL_ERR_NOMEM        out of memory.
 */
#ifndef CORRAL_WAPC_H
#define CORRAL_WAPC_H

#include <stddef.h>
#include <stdint.h>

#include "corral_base.h"
#include "corral_vm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corral_wapc_module corral_wapc_module_t;
typedef struct corral_wapc_instance corral_wapc_instance_t;
typedef struct corral_wapc_pool corral_wapc_pool_t;

/* Default bound on a guest response, a guest error and a host response. */
#define CORRAL_WAPC_DEFAULT_MAX_RESPONSE (16u * 1024u * 1024u)
/* Default bound on how long a pool call waits for a free instance when
 * neither acquire_timeout_ns nor limits.deadline_ns is set. */
#define CORRAL_WAPC_DEFAULT_ACQUIRE_NS (30ull * 1000000000ull)

/* ---- callbacks ------------------------------------------------------------------- */

/* One guest -> host call (__host_call). binding, ns and op are validated
 * UTF-8, NUL-terminated copies (lengths exclude the NUL; they contain no
 * interior NUL only if the guest sent none, so prefer the lengths); an empty
 * binding arrives as "default". payload points into guest memory. Everything
 * is valid only for the duration of the callback. */
typedef struct corral_wapc_host_call {
    const char *binding;
    size_t binding_len;
    const char *ns; /* namespace: contract id, actor key or call alias */
    size_t ns_len;
    const char *op;
    size_t op_len;
    const uint8_t *payload;
    size_t payload_len;
} corral_wapc_host_call_t;

/* Answers a host call. `user` is corral_wapc_config_t.user (the actor's
 * identity). On success append the response bytes to `out` (empty, never
 * NULL) and return CORRAL_OK: the guest sees 1 and the bytes. On failure
 * return an error status and fill `err`: the guest sees 0 and err's message
 * (or the status text when the message is empty) as its host error. Runs on
 * the thread making the guest call, inside the guest call; it may call other
 * instances or pools (actor -> actor) but never the instance that called it.
 * A response larger than max_response_bytes is turned into an error. */
typedef corral_status_t (*corral_wapc_host_fn_t)(void *user, const corral_wapc_host_call_t *call,
                                                 corral_buf_t *out, corral_err_t *err);

typedef enum corral_wapc_log_source {
    CORRAL_WAPC_LOG_CONSOLE = 0, /* __console_log */
    CORRAL_WAPC_LOG_STDOUT = 1,  /* WASI fd_write to fd 1, one call per line */
    CORRAL_WAPC_LOG_STDERR = 2   /* WASI fd_write to fd 2, one call per line */
} corral_wapc_log_source_t;

/* Receives a guest log line: NUL-terminated, valid UTF-8 (invalid sequences
 * replaced by U+FFFD), without its trailing newline, at most 64 KiB (longer
 * lines are split). Valid only during the callback. Runs on the calling
 * thread, possibly on several threads at once for a pool. */
typedef void (*corral_wapc_log_fn_t)(void *user, corral_wapc_log_source_t src, const char *line,
                                     size_t len);

/* ---- configuration ---------------------------------------------------------------- */

/* Zero-initialise, then set what you need; every zero field means its
 * default. The struct is copied by instance_new / pool_new. */
typedef struct corral_wapc_config {
    corral_vm_limits_t limits;    /* per call and per init function: deadline, fuel,
                                     max pages, call depth (engine defaults) */
    uint32_t max_instances;       /* pool size limit (default 4) */
    uint64_t max_response_bytes;  /* default CORRAL_WAPC_DEFAULT_MAX_RESPONSE */
    uint64_t acquire_timeout_ns;  /* pool wait for a free instance (default:
                                     limits.deadline_ns, else CORRAL_WAPC_DEFAULT_ACQUIRE_NS) */
    corral_wapc_host_fn_t host_call; /* NULL: every host call fails with
                                        "no host call handler" */
    corral_wapc_log_fn_t log;     /* NULL: corral_log(INFO, "actor", ...) */
    void *user;                   /* passed to host_call and log: the actor */
} corral_wapc_config_t;

/* ---- modules ----------------------------------------------------------------------- */

/* Decodes, validates and checks an actor module: it must export
 * `__guest_call` of type (i32, i32) -> i32 and a memory named `memory`, and
 * every import must be one the host provides (waPC under `wapc`/`wasmbus`,
 * WASI under `wasi_snapshot_preview1`/`wasi_unstable`; WASI functions the host
 * does not implement are bound to a stub returning ENOSYS = 52). Errors:
 * CORRAL_ERR_MALFORMED / INVALID / VM_UNSUPPORTED from the engine,
 * CORRAL_ERR_UNLINKABLE ("module imports env.foo, which the host does not
 * provide", or a known import with the wrong type), CORRAL_ERR_INVALID_ARG
 * ("module does not export __guest_call"), CORRAL_ERR_NOMEM. The bytes may be
 * freed on return. The result holds one reference. Thread-safe. */
corral_status_t corral_wapc_module_new(const uint8_t *bytes, size_t len,
                                       corral_wapc_module_t **out, corral_err_t *err);

/* The same for an engine module the caller made - e.g. one whose instances
 * run native code (corral_aot_vm_module_new, wapc/aot). Takes over vm: it is
 * freed with the waPC module, or at once on error. Thread-safe. */
corral_status_t corral_wapc_module_new_vm(corral_vm_module_t *vm, corral_wapc_module_t **out,
                                          corral_err_t *err);

/* Adds a reference (for a second owner). Returns m. Thread-safe. */
corral_wapc_module_t *corral_wapc_module_retain(corral_wapc_module_t *m);

/* Drops the caller's reference; the module is freed when instances and pools
 * using it are gone too. NULL is a no-op. Thread-safe. */
void corral_wapc_module_free(corral_wapc_module_t *m);

/* The engine module inside (for tools: export and import lists). Borrowed. */
const corral_vm_module_t *corral_wapc_module_vm(const corral_wapc_module_t *m);

/* ---- instances ---------------------------------------------------------------------- */

/* Instantiates m under cfg (NULL = all defaults) and runs the init functions
 * `_start`, `_initialize`, `wapc_init` in that order when exported (each must
 * take and return nothing). WASI proc_exit(0) from `_start` ends it
 * successfully. Errors: CORRAL_ERR_UNLINKABLE / UNINSTANTIABLE / NOMEM, or the
 * trap of a start section or an init function, with a message naming it
 * ("wapc_init: unreachable"). Thread-safe. */
corral_status_t corral_wapc_instance_new(corral_wapc_module_t *m, const corral_wapc_config_t *cfg,
                                         corral_wapc_instance_t **out, corral_err_t *err);

/* Frees an instance and drops its module reference. NULL is a no-op. Never
 * while a call into it is running. */
void corral_wapc_instance_free(corral_wapc_instance_t *inst);

/* Calls the guest: operation `op` (op_len bytes, any bytes) with `payload`
 * (may be NULL when len is 0). On CORRAL_OK the response is appended to
 * `resp` (which the caller owns; left as it was on any error). Outcomes are
 * listed at the top of this file. Calling a poisoned instance returns
 * CORRAL_ERR_STATE. Not thread-safe on one instance. */
corral_status_t corral_wapc_instance_call(corral_wapc_instance_t *inst, const char *op,
                                          size_t op_len, const uint8_t *payload,
                                          size_t payload_len, corral_buf_t *resp,
                                          corral_err_t *err);

/* 1 when a trap (or proc_exit) left the instance unusable. */
int corral_wapc_instance_poisoned(const corral_wapc_instance_t *inst);

/* Asks a running call to stop (it traps with CORRAL_ERR_TRAP_INTERRUPTED).
 * Safe from any thread while the instance lives. */
void corral_wapc_instance_interrupt(corral_wapc_instance_t *inst);

/* The module of an instance (borrowed). */
corral_wapc_module_t *corral_wapc_instance_module(const corral_wapc_instance_t *inst);

/* ---- pools -------------------------------------------------------------------------- */

/* Makes a pool for m and instantiates its first instance right away, so link
 * and init errors surface here (same errors as corral_wapc_instance_new).
 * Further instances are made on demand, up to cfg->max_instances. */
corral_status_t corral_wapc_pool_new(corral_wapc_module_t *m, const corral_wapc_config_t *cfg,
                                     corral_wapc_pool_t **out, corral_err_t *err);

/* Frees the pool and its idle instances. NULL is a no-op. No call may be in
 * flight. */
void corral_wapc_pool_free(corral_wapc_pool_t *pool);

/* Makes one call on a free instance (waiting up to the acquire timeout when
 * all max_instances are busy: CORRAL_ERR_BUSY), then returns the instance
 * to the pool. A poisoned instance is freed and replaced by a fresh one on
 * demand. Outcomes as corral_wapc_instance_call. Thread-safe. */
corral_status_t corral_wapc_pool_call(corral_wapc_pool_t *pool, const char *op, size_t op_len,
                                      const uint8_t *payload, size_t payload_len,
                                      corral_buf_t *resp, corral_err_t *err);

/* Hot replace: instantiates one instance of new_module first (on failure the
 * pool keeps its old module and the error is returned), then switches: every
 * call that starts afterwards runs on new_module; calls in flight finish on
 * the old instances, which are freed when they come back. No call fails
 * because of the swap. The pool takes its own reference to new_module.
 * Thread-safe, also against concurrent calls. */
corral_status_t corral_wapc_pool_replace(corral_wapc_pool_t *pool, corral_wapc_module_t *new_module,
                                         corral_err_t *err);

/* The module new calls use, with a new reference the caller must free. */
corral_wapc_module_t *corral_wapc_pool_module(corral_wapc_pool_t *pool);

typedef struct corral_wapc_pool_stats {
    uint32_t idle;            /* current-module instances waiting for a call */
    uint32_t live;            /* current-module instances, idle or busy */
    uint32_t old_live;        /* instances of replaced modules still in a call */
    uint64_t calls;           /* calls made (any outcome) */
    uint64_t traps;           /* calls that poisoned their instance */
    uint64_t instances_made;  /* instantiations, including replacements */
    uint64_t replaces;        /* successful corral_wapc_pool_replace calls */
    uint64_t last_swap_pause_ns; /* how long the last swap held the pool lock */
    uint64_t max_swap_pause_ns;
} corral_wapc_pool_stats_t;

/* A consistent snapshot of the pool's counters. Thread-safe. */
void corral_wapc_pool_stats(corral_wapc_pool_t *pool, corral_wapc_pool_stats_t *out);

#ifdef __cplusplus
}
#endif

#endif

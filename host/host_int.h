/*
 * host_int.h - private structures of the host module (corral_host.h), shared
 * by host.c (lifecycle, snapshots, workers, health timer), actors.c,
 * links.c (providers, links, dispatch, provider services), inventory.c and
 * control.c.
 *
 * State lives in two places:
 *   - the master lists (actors, providers, links) owned by the control side
 *     and changed only under host->ctl (one control operation at a time);
 *   - an immutable snapshot built from them after every change and published
 *     with an atomic pointer swap. Calls read only the snapshot, pinned for a
 *     few instructions by an epoch counter (snap_pin/snap_unpin), never while
 *     calling a guest or a provider: what they keep past the pin they hold
 *     by reference count (actor versions, providers).
 */
#ifndef CORRAL_HOST_INT_H
#define CORRAL_HOST_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "corral_claims.h"
#include "corral_host.h"
#include "corral_provider.h"
#include "corral_wapc.h"

#define HOST_COMPONENT "host"

/* Per-operation call metrics (metrics.c). A fixed table per actor, so the
 * call path neither allocates nor locks and a guest or caller inventing
 * operation names cannot grow memory: names beyond HOST_MET_OPS, longer than
 * HOST_MET_NAME - 1 or not printable ASCII share the "other" row. */
#define HOST_MET_OPS 32
#define HOST_MET_NAME 48
#define HOST_MET_BUCKETS 18 /* 17 finite bounds (50 us .. 10 s) and +Inf */
typedef struct host_op_met {
    atomic_int state; /* 0 free, 1 being named, 2 named (name immutable) */
    unsigned name_len;
    char name[HOST_MET_NAME];
    atomic_ullong calls, errors, traps, sum_ns;
    atomic_ullong buckets[HOST_MET_BUCKETS]; /* not cumulative */
} host_op_met_t;

typedef struct host_actor_met {
    host_op_met_t ops[HOST_MET_OPS];
    host_op_met_t other;
} host_actor_met_t;

/* Counts one finished call of `op` that took ns nanoseconds. Lock-free. */
void host_met_record(host_actor_met_t *m, const char *op, size_t op_len, int error, int trap,
                     uint64_t ns);
/* 1 when op may be a named row (and printed as is in logs). */
int host_met_printable(const char *op, size_t n);

/* A guest call's place in a W3C trace (trace.c); lives on actor_call's stack. */
typedef struct host_trace {
    struct host_trace *parent; /* the call this one was made from, or NULL */
    uint8_t trace_id[16], span_id[8], flags;
    int have;          /* ids drawn */
    int from_incoming; /* trace_id/flags came from the caller's traceparent */
} host_trace_t;

void host_trace_push(host_trace_t *t);
void host_trace_pop(host_trace_t *t);
/* Draws the ids when needed and writes "00-<trace>-<span>-<flags>". */
void host_trace_format(host_trace_t *t, char out[CORRAL_HOST_TRACEPARENT_LEN + 1]);
/* The traceparent the next top-level call on this thread continues (a valid
 * one; anything else clears it). */
void host_trace_set_incoming(const char *tp, size_t n);
void host_trace_from_http_request(const uint8_t *p, size_t n);

/* The part of an actor that survives live updates: its pool (hot-replaced),
 * limits and counters. Reference counted by its versions. */
typedef struct actor_core {
    atomic_long refs;
    char key[CORRAL_HOST_KEY_LEN];
    struct corral_host *host;
    corral_wapc_pool_t *pool;
    corral_host_limits_t limits;
    atomic_ullong calls, errors, traps;
    host_actor_met_t met; /* per operation (metrics.c) */
    atomic_long inflight; /* calls running on this actor */
    atomic_int stopping;  /* set by stop: calls that have not begun are refused */
    atomic_int native;    /* the pool runs AOT native code (inventory "engine") */
    corral_host_engine_t engine; /* the tier chosen at start; updates keep it (set once) */
    /* the current version (one reference), read by dispatch under a snapshot
     * pin; replaced by update and cleared by stop, the old one released only
     * after the next publish */
    _Atomic(struct actor_ver *) cur;
    /* last health result, for the inventory; guarded by health_mu (never on
     * the call path) */
    pthread_mutex_t health_mu;
    int health_known, healthy;
    char health_msg[CORRAL_HOST_NAME_MAX];
} actor_core_t;

/* One version of an actor: its claims. Immutable, reference counted by the
 * master list, snapshots and calls in flight. */
typedef struct actor_ver {
    atomic_long refs;
    actor_core_t *core; /* one reference */
    corral_claims_t *claims;
    int unsigned_;      /* started without a token */
} actor_ver_t;

/* A running provider instance. Reference counted by the master list,
 * snapshots and calls in flight (actor -> provider calls and queued
 * provider -> actor async jobs). */
typedef struct prov {
    atomic_long refs;
    struct corral_host *host;
    char key[CORRAL_HOST_KEY_LEN];
    char name[CORRAL_HOST_NAME_MAX];
    char contract_id[CORRAL_HOST_NAME_MAX]; /* canonical */
    char link_name[CORRAL_HOST_NAME_MAX];
    const corral_provider_t *p;
    corral_provider_lib_t *lib; /* shared object, or NULL for a built-in */
    void *inst;
    corral_provider_host_t services; /* ctx = this */
    int builtin;                /* linked implicitly to every actor that claims its
                                   contract (the host's logging/numbergen, or what
                                   replaced them) */
    int host_owned;             /* started by the host itself: a configured
                                   instance may replace it */
    atomic_int stopping;        /* refuse new provider -> actor async calls */
} prov_t;

/* A kept link (master list). values are owned copies. */
typedef struct link {
    char actor[CORRAL_HOST_KEY_LEN];
    char contract_id[CORRAL_HOST_NAME_MAX]; /* canonical */
    char link_name[CORRAL_HOST_NAME_MAX];
    corral_host_kv_t *values; /* owned strings */
    size_t nvalues;
    prov_t *applied;          /* provider whose link() accepted it, or NULL */
    struct link *next;
} link_t;

/* A link as calls see it. */
typedef struct snap_link {
    const char *actor, *contract_id, *link_name; /* into the link_t (freed only
                                                    after the snapshot) */
    prov_t *prov; /* applied provider (the snapshot holds a reference) or NULL */
} snap_link_t;

typedef struct snap {
    size_t nactors, nprovs, nlinks;
    actor_ver_t **actors; /* each holds a reference */
    prov_t **provs;       /* each holds a reference */
    snap_link_t *links;
} snap_t;

typedef struct actor_entry {
    actor_ver_t *ver; /* one reference */
    struct actor_entry *next;
} actor_entry_t;

typedef struct prov_entry {
    prov_t *prov; /* one reference */
    struct prov_entry *next;
} prov_entry_t;

/* A queued provider -> actor call. */
typedef struct job {
    struct job *next;
    prov_t *prov; /* one reference */
    char actor[CORRAL_HOST_KEY_LEN];
    char *link_name;
    char *op;
    uint8_t *payload;
    size_t len;
    uint64_t enqueued_ns, timeout_ns;
    corral_provider_reply_fn done;
    void *done_user;
    int remote; /* the actor is not local: the call goes to the lattice */
} job_t;

typedef struct control_conn control_conn_t;

/* Counters every call touches are split into cache-line-sized stripes, one
 * per group of threads, so calls of unrelated actors on different cores do
 * not contend on one line. Writers wait until every stripe drains. */
#define HOST_STRIPES 16
typedef struct host_stripe {
    atomic_long n;
    char pad_[64 - sizeof(atomic_long)]; /* padding, not alignment: the host is
                                            allocated with corral_calloc */
} host_stripe_t;

struct corral_host {
    /* configuration (owned copies) */
    char *data_dir, *run_dir;
    corral_host_kv_t *labels;
    size_t nlabels;
    corral_host_limits_t limits;
    uint32_t worker_threads;
    int allow_unsigned, no_builtins;
    corral_host_engine_t engine; /* default tier for actors (actors.c) */
    char **allowed_issuers;
    size_t n_allowed_issuers;
    char **aot_signers; /* allowed signers of AOT artifacts outside the cache (actors.c) */
    size_t n_aot_signers;
    char **revoked;
    size_t n_revoked;
    int64_t clock_skew_s;
    uint32_t health_interval_ms;

    char key[CORRAL_HOST_KEY_LEN];
    uint64_t started_ns;
    atomic_int state; /* 0 new, 1 running, 2 stopping, 3 stopped */

    /* control side */
    pthread_mutex_t ctl;
    actor_entry_t *actors;
    prov_entry_t *provs;
    link_t *links;

    /* snapshot and epoch pinning */
    _Atomic(snap_t *) snap;
    atomic_uint epoch;
    host_stripe_t readers[2][HOST_STRIPES];

    /* background AOT compiles still running (actors.c); stop waits for them */
    atomic_long aot_bg;

    /* calls in flight from outside (host calls, provider calls, jobs, health) */
    host_stripe_t inflight[HOST_STRIPES];

    /* worker pool */
    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;
    job_t *q_head, *q_tail;
    size_t q_len;
    int q_stop;
    pthread_t *workers;
    uint32_t nworkers;
    atomic_long jobs_pending; /* queued or running */

    /* health timer */
    pthread_t health_thread;
    int health_running;
    pthread_mutex_t h_mu;
    pthread_cond_t h_cv;
    int h_stop;

    /* stop request (corral_host_request_stop / corral_host_wait) */
    int stop_pipe[2];
    atomic_int stop_requested;

    /* lifecycle events (corral_host_set_event_sink; set before start) */
    corral_host_event_fn ev_fn;
    void *ev_user;

    /* lattice hooks (corral_host_set_remote) */
    corral_host_remote_t remote;
    atomic_int remote_on;

    /* control socket server */
    pthread_mutex_t c_mu;
    int c_running;
    int c_fd;
    char c_path[512];
    pthread_t c_thread;
    control_conn_t *c_conns;
};

/* ---- host.c ------------------------------------------------------------------ */

/* Pins the current snapshot; returns it and the slot to pass to unpin. The
 * pin must be short: never call a guest or a provider while holding it. */
snap_t *host_snap_pin(corral_host_t *h, int *slot);
void host_snap_unpin(corral_host_t *h, int slot);
/* Builds a snapshot from the master lists and publishes it, then waits until
 * no reader can still see the previous one and frees it. Under h->ctl. On
 * CORRAL_ERR_NOMEM the old snapshot stays (the grace period still runs). */
corral_status_t host_publish(corral_host_t *h, corral_err_t *err);
/* The same, retrying (out of memory is transient) until it succeeds: for
 * changes that cannot be undone (a provider about to be destroyed). */
void host_publish_hard(corral_host_t *h);

/* Counts a call from outside (refused with CORRAL_ERR_STATE while stopping).
 * host_leave must run on the thread that entered (the stripe is per thread). */
corral_status_t host_enter(corral_host_t *h, corral_err_t *err);
void host_leave(corral_host_t *h);

/* Waits (polling) until *counter <= target. */
void host_wait_count(atomic_long *counter, long target);

/* Queues a job on the workers; CORRAL_ERR_BUSY when the queue is full. */
corral_status_t host_queue_job(corral_host_t *h, job_t *j, corral_err_t *err);

/* Contract id as providers name it (older ids mapped, plus
 * wasmcloud:builtin:logging -> wasmcloud:logging). */
const char *host_contract_canonical(const char *id);

/* Copies s into a fixed buffer, cutting it to fit. */
void host_strlcpy(char *dst, const char *src, size_t n);

/* ---- actors.c ----------------------------------------------------------------- */

void actor_ver_retain(actor_ver_t *v);
void actor_ver_release(actor_ver_t *v);
/* Finds an actor by key or alias in a pinned snapshot (no reference taken). */
actor_ver_t *snap_find_actor(const snap_t *s, const char *actor);
/* Pins, finds and retains. NULL with CORRAL_ERR_NO_ACTOR when not running. */
actor_ver_t *host_get_actor(corral_host_t *h, const char *actor, corral_err_t *err);
/* A call on a retained actor version, counted in its core. */
corral_status_t actor_call(actor_ver_t *v, const char *op, size_t op_len, const uint8_t *payload,
                           size_t len, corral_buf_t *resp, corral_err_t *err);
/* Master-list lookups under h->ctl. */
actor_entry_t *host_find_actor_entry(corral_host_t *h, const char *actor);
/* Stops every actor (host stop). Under h->ctl. */
void host_stop_all_actors(corral_host_t *h);
const char *actor_name(const actor_ver_t *v);

/* ---- links.c -------------------------------------------------------------------- */

void prov_retain(prov_t *p);
void prov_release(prov_t *p);
/* The waPC host-call handler: user is the actor_core_t. */
corral_status_t host_dispatch(void *user, const corral_wapc_host_call_t *call, corral_buf_t *out,
                              corral_err_t *err);
/* Applies every kept link of actor v (and its implicit built-in links);
 * unlinks them. Under h->ctl. */
void host_apply_actor_links(corral_host_t *h, actor_ver_t *v);
void host_unapply_actor_links(corral_host_t *h, const char *actor_key);
/* Stops every provider (host stop). Under h->ctl. */
void host_stop_all_providers(corral_host_t *h);
/* corral_host_provider_start, marking the instance as a host built-in. */
corral_status_t host_provider_start(corral_host_t *h, const corral_host_provider_opts_t *opts,
                                    int builtin, corral_host_provider_info_t *out,
                                    corral_err_t *err);
void host_free_links(corral_host_t *h);
/* Runs one queued job (worker thread). */
void host_run_job(corral_host_t *h, job_t *j);
void host_job_free(job_t *j);

/* ---- metrics.c ------------------------------------------------------------------ */

/* Emits lifecycle event `type` (actor_started ...) to the event sink, if
 * any, as a CloudEvent whose data holds the NULL-terminated string pairs
 * (key, value; a NULL value is left out). Call without h->ctl held. */
void host_event(corral_host_t *h, const char *type, ...);

/* ---- inventory.c / control.c ----------------------------------------------------- */

/* The inventory as jansson object (new reference) or NULL on NOMEM. Under h->ctl. */
struct json_t;
struct json_t *host_inventory_json(corral_host_t *h);

/* The lattice hooks, or NULL when none are installed. */
static inline const corral_host_remote_t *host_remote(corral_host_t *h) {
    return atomic_load(&h->remote_on) ? &h->remote : NULL;
}

#endif

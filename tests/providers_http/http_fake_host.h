/*
 * http_fake_host.h - a stand-in for the Corral host when testing or
 * benchmarking the httpserver provider without the engine: a
 * corral_provider_host_t whose call_actor_async queues the call and answers
 * it later on the fake host's own worker threads, the way the real host's
 * workers do. What it answers is chosen by `mode` (echo the request, return
 * garbage, a guest error, ...).
 */
#ifndef CORRAL_HTTP_FAKE_HOST_H
#define CORRAL_HTTP_FAKE_HOST_H

#include <pthread.h>

#include "corral_provider.h"

typedef enum fake_mode {
    /* {statusCode: 200 or the request's x-status header, header: {x-method,
     * x-path, x-query, x-headers (count), content-type}, body: "echo:" + body} */
    FAKE_ECHO = 0,
    FAKE_GARBAGE,     /* answers bytes that are not a response map */
    FAKE_FIXED,       /* answers fixed_resp verbatim */
    FAKE_GUEST_ERROR, /* done(CORRAL_ERR_GUEST) with a message full of internals */
    FAKE_TRAP,        /* done(CORRAL_ERR_TRAP_UNREACHABLE) */
    FAKE_LATE_TIMEOUT,/* done(CORRAL_ERR_TIMEOUT) */
    FAKE_FAIL_NOW     /* call_actor_async itself fails with fail_status */
} fake_mode_t;

#define FAKE_SECRET "/var/lib/corral/secret-internals wasm backtrace 0xdeadbeef"

typedef struct fake_job fake_job_t;

typedef struct fake_host {
    corral_provider_host_t host; /* ctx points back at this struct */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_t threads[4];
    int n_threads;
    int quit;
    fake_job_t *jobs; /* sorted by due time */
    /* Settings: change them only while no request is in flight. */
    fake_mode_t mode;
    unsigned delay_ms;
    corral_status_t fail_status;
    const uint8_t *fixed_resp;
    size_t fixed_len;
    int inline_reply; /* answer inside call_actor_async, on the caller's thread */
    int jitter_ms;    /* add 0..jitter_ms-1 ms to delay_ms per call */
    /* Observations, under mu. */
    long calls;
    long answered; /* replies handed to the provider (counted before each goes out) */
    uint8_t *last_payload; /* copy of the last HandleRequest payload (corral_malloc) */
    size_t last_len;
    char last_actor[128];
    char last_link[64];
    char last_op[64];
    uint32_t last_timeout_ms;
    unsigned seed;
} fake_host_t;

/* Starts n_threads (1..4) worker threads. Returns 0 on success. */
int fake_host_start(fake_host_t *f, int n_threads);

/* Answers every queued call at once, joins the workers and frees the state.
 * Call it after the provider instance is destroyed (destroy waits for owed
 * replies, which the workers deliver). */
void fake_host_stop(fake_host_t *f);

/* Calls answered so far (thread-safe). */
long fake_host_answered(fake_host_t *f);

#endif

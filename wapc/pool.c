/*
 * pool.c - instances of one actor module for concurrent calls, and hot
 * replacement of that module. The pool keeps a stack of idle instances of
 * the current module ("generation"); a call takes one (or makes one, up to
 * max_instances, or waits), runs, and gives it back. A trapped instance is
 * freed instead and its slot reopened. Replacing the module bumps the
 * generation under the lock: instances of older generations still in a call
 * finish there and are freed when they come back, so no call ever fails
 * because of a swap, and the lock is held only to exchange pointers.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "wapc_int.h"

struct corral_wapc_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* an instance came back or a slot opened */
    corral_wapc_config_t cfg;
    corral_wapc_module_t *mod; /* current module (one reference) */
    uint64_t gen;
    corral_wapc_instance_t *idle; /* stack of current-generation idle instances */
    uint32_t nidle;
    uint32_t live;     /* current generation: idle + busy + being made */
    uint32_t old_live; /* older generations still busy */
    uint32_t waiters;
    corral_wapc_pool_stats_t stats;
};

static void abs_deadline(struct timespec *ts, uint64_t ns) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    uint64_t t = (uint64_t)ts->tv_nsec + ns % 1000000000u;
    ts->tv_sec += (time_t)(ns / 1000000000u + t / 1000000000u);
    ts->tv_nsec = (long)(t % 1000000000u);
}

corral_status_t corral_wapc_pool_new(corral_wapc_module_t *m, const corral_wapc_config_t *cfg,
                                     corral_wapc_pool_t **out, corral_err_t *err) {
    corral_status_t st;
    corral_wapc_instance_t *first = NULL;
    *out = NULL;
    corral_wapc_pool_t *p = corral_calloc(1, sizeof *p);
    if (!p) return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        corral_free(p);
        return corral_err_set(err, CORRAL_ERR_INTERNAL, "pthread_mutex_init failed");
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        pthread_mutex_destroy(&p->mu);
        corral_free(p);
        return corral_err_set(err, CORRAL_ERR_INTERNAL, "pthread_cond_init failed");
    }
    /* Same defaults as instances get, so the pool sees the real numbers. */
    if ((st = corral_wapc_instance_new(m, cfg, &first, err)) != CORRAL_OK) goto fail;
    p->cfg = first->cfg;
    p->mod = corral_wapc_module_retain(m);
    first->gen = p->gen;
    p->idle = first;
    p->nidle = 1;
    p->live = 1;
    p->stats.instances_made = 1;
    *out = p;
    return CORRAL_OK;
fail:
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    corral_free(p);
    return st;
}

void corral_wapc_pool_free(corral_wapc_pool_t *p) {
    if (!p) return;
    while (p->idle) {
        corral_wapc_instance_t *i = p->idle;
        p->idle = i->next;
        corral_wapc_instance_free(i);
    }
    corral_wapc_module_free(p->mod);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    corral_free(p);
}

/* Takes an idle instance, or makes one, or waits. */
static corral_status_t acquire(corral_wapc_pool_t *p, corral_wapc_instance_t **out,
                               corral_err_t *err) {
    struct timespec until;
    int have_until = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->idle) {
            corral_wapc_instance_t *i = p->idle;
            p->idle = i->next;
            p->nidle--;
            i->next = NULL;
            pthread_mutex_unlock(&p->mu);
            *out = i;
            return CORRAL_OK;
        }
        if (p->live < p->cfg.max_instances) {
            /* Reserve the slot, then instantiate without holding the lock. */
            corral_wapc_module_t *m = corral_wapc_module_retain(p->mod);
            uint64_t gen = p->gen;
            p->live++;
            pthread_mutex_unlock(&p->mu);
            corral_wapc_instance_t *i = NULL;
            corral_status_t st = corral_wapc_instance_new(m, &p->cfg, &i, err);
            corral_wapc_module_free(m);
            pthread_mutex_lock(&p->mu);
            p->stats.instances_made += st == CORRAL_OK;
            if (st != CORRAL_OK) {
                if (gen == p->gen) p->live--;
                else p->old_live--;
                pthread_cond_signal(&p->cv);
                pthread_mutex_unlock(&p->mu);
                return st;
            }
            i->gen = gen;
            pthread_mutex_unlock(&p->mu);
            *out = i;
            return CORRAL_OK;
        }
        if (!have_until) {
            abs_deadline(&until, p->cfg.acquire_timeout_ns);
            have_until = 1;
        }
        p->waiters++;
        int rc = pthread_cond_timedwait(&p->cv, &p->mu, &until);
        p->waiters--;
        if (rc == ETIMEDOUT && !p->idle && p->live >= p->cfg.max_instances) {
            uint32_t n = p->cfg.max_instances;
            pthread_mutex_unlock(&p->mu);
            return corral_err_set(err, CORRAL_ERR_BUSY,
                                  "all %u instances of the actor stayed busy for %llu ms", n,
                                  (unsigned long long)(p->cfg.acquire_timeout_ns / 1000000u));
        }
    }
}

/* Gives an instance back: to the idle stack when it is healthy and of the
 * current generation, else frees it (outside the lock). */
static void release(corral_wapc_pool_t *p, corral_wapc_instance_t *i, int trapped) {
    int drop;
    pthread_mutex_lock(&p->mu);
    p->stats.calls++;
    p->stats.traps += trapped != 0;
    if (i->gen != p->gen) {
        p->old_live--;
        drop = 1;
    } else if (i->poisoned) {
        p->live--;
        drop = 1;
    } else {
        i->next = p->idle;
        p->idle = i;
        p->nidle++;
        drop = 0;
    }
    if (p->waiters) pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (drop) corral_wapc_instance_free(i);
}

corral_status_t corral_wapc_pool_call(corral_wapc_pool_t *p, const char *op, size_t op_len,
                                      const uint8_t *payload, size_t payload_len,
                                      corral_buf_t *resp, corral_err_t *err) {
    corral_wapc_instance_t *i = NULL;
    corral_status_t st = acquire(p, &i, err);
    if (st != CORRAL_OK) return st;
    st = corral_wapc_instance_call(i, op, op_len, payload, payload_len, resp, err);
    release(p, i, i->poisoned);
    return st;
}

corral_status_t corral_wapc_pool_replace(corral_wapc_pool_t *p, corral_wapc_module_t *nm,
                                         corral_err_t *err) {
    corral_wapc_instance_t *fresh = NULL;
    corral_status_t st = corral_wapc_instance_new(nm, &p->cfg, &fresh, err);
    if (st != CORRAL_OK) return st;
    corral_wapc_module_retain(nm);

    pthread_mutex_lock(&p->mu);
    uint64_t t0 = corral_now_ns(); /* the pause callers can see: the time the lock is held */
    corral_wapc_module_t *old_mod = p->mod;
    corral_wapc_instance_t *old_idle = p->idle;
    p->old_live += p->live - p->nidle; /* the busy ones finish on the old module */
    p->mod = nm;
    p->gen++;
    fresh->gen = p->gen;
    fresh->next = NULL;
    p->idle = fresh;
    p->nidle = 1;
    p->live = 1;
    p->stats.instances_made++;
    p->stats.replaces++;
    if (p->waiters) pthread_cond_broadcast(&p->cv);
    uint64_t pause = corral_now_ns() - t0;
    p->stats.last_swap_pause_ns = pause;
    if (pause > p->stats.max_swap_pause_ns) p->stats.max_swap_pause_ns = pause;
    pthread_mutex_unlock(&p->mu);

    while (old_idle) {
        corral_wapc_instance_t *i = old_idle;
        old_idle = i->next;
        corral_wapc_instance_free(i);
    }
    corral_wapc_module_free(old_mod);
    return CORRAL_OK;
}

corral_wapc_module_t *corral_wapc_pool_module(corral_wapc_pool_t *p) {
    pthread_mutex_lock(&p->mu);
    corral_wapc_module_t *m = corral_wapc_module_retain(p->mod);
    pthread_mutex_unlock(&p->mu);
    return m;
}

void corral_wapc_pool_stats(corral_wapc_pool_t *p, corral_wapc_pool_stats_t *out) {
    pthread_mutex_lock(&p->mu);
    *out = p->stats;
    out->idle = p->nidle;
    out->live = p->live;
    out->old_live = p->old_live;
    pthread_mutex_unlock(&p->mu);
}

/*
 * host.c - the host's lifecycle (new/start/stop/free), the immutable snapshot
 * that calls read without locks, the worker pool that runs provider -> actor
 * asynchronous calls, the periodic health timer and the stop request.
 * Actors are in actors.c, providers/links/dispatch in links.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host_int.h"

#define QUEUE_MAX 65536

void host_strlcpy(char *dst, const char *src, size_t n) {
    if (!n) return;
    size_t l = src ? strlen(src) : 0;
    if (l >= n) l = n - 1;
    if (l) memcpy(dst, src, l);
    dst[l] = 0;
}

const char *host_contract_canonical(const char *id) {
    if (id && strcmp(id, "wasmcloud:builtin:logging") == 0) return CORRAL_CONTRACT_LOGGING;
    return corral_provider_contract_canonical(id);
}

static void sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

void host_wait_count(atomic_long *counter, long target) {
    for (int i = 0; atomic_load(counter) > target; i++) {
        if (i < 100)
            sched_yield();
        else
            sleep_us(i < 1000 ? 100 : 1000);
    }
}

/* ---- snapshot --------------------------------------------------------------------- */

/* This thread's stripe (assigned round-robin on first use). */
static unsigned my_stripe(void) {
    static atomic_uint next;
    static _Thread_local unsigned mine; /* stripe + 1; 0 = not yet assigned */
    if (!mine) mine = atomic_fetch_add(&next, 1) % HOST_STRIPES + 1;
    return mine - 1;
}

snap_t *host_snap_pin(corral_host_t *h, int *slot) {
    unsigned s = my_stripe();
    for (;;) {
        unsigned e = atomic_load(&h->epoch);
        atomic_fetch_add(&h->readers[e & 1][s].n, 1);
        if (atomic_load(&h->epoch) == e) {
            *slot = (int)((e & 1) * HOST_STRIPES + s);
            return atomic_load(&h->snap);
        }
        atomic_fetch_sub(&h->readers[e & 1][s].n, 1);
    }
}

void host_snap_unpin(corral_host_t *h, int slot) {
    atomic_fetch_sub(&h->readers[slot / HOST_STRIPES][slot % HOST_STRIPES].n, 1);
}

static void snap_free(snap_t *s) {
    if (!s) return;
    for (size_t i = 0; i < s->nactors; i++) actor_ver_release(s->actors[i]);
    for (size_t i = 0; i < s->nprovs; i++) prov_release(s->provs[i]);
    for (size_t i = 0; i < s->nlinks; i++)
        if (s->links[i].prov) prov_release(s->links[i].prov);
    corral_free(s->actors);
    corral_free(s->provs);
    corral_free(s->links);
    corral_free(s);
}

/* Waits until no reader can still hold a snapshot published before now: flip
 * the epoch so new readers count in the other slot, then wait for the old
 * slot to drain. Readers that loaded the old epoch but had not yet
 * re-checked it retry, so they never see the old snapshot. */
static void snap_synchronize(corral_host_t *h) {
    unsigned e = atomic_fetch_add(&h->epoch, 1);
    for (int i = 0; i < HOST_STRIPES; i++) host_wait_count(&h->readers[e & 1][i].n, 0);
}

static snap_t *snap_build(corral_host_t *h) {
    snap_t *s = corral_calloc(1, sizeof *s);
    if (!s) return NULL;
    size_t na = 0, np = 0, nl = 0;
    for (actor_entry_t *a = h->actors; a; a = a->next) na++;
    for (prov_entry_t *p = h->provs; p; p = p->next) np++;
    for (link_t *l = h->links; l; l = l->next) nl++;
    if ((na && !(s->actors = corral_calloc(na, sizeof *s->actors))) ||
        (np && !(s->provs = corral_calloc(np, sizeof *s->provs))) ||
        (nl && !(s->links = corral_calloc(nl, sizeof *s->links)))) {
        snap_free(s);
        return NULL;
    }
    for (actor_entry_t *a = h->actors; a; a = a->next) {
        actor_ver_retain(a->ver);
        s->actors[s->nactors++] = a->ver;
    }
    for (prov_entry_t *p = h->provs; p; p = p->next) {
        prov_retain(p->prov);
        s->provs[s->nprovs++] = p->prov;
    }
    for (link_t *l = h->links; l; l = l->next) {
        snap_link_t *sl = &s->links[s->nlinks++];
        sl->actor = l->actor;
        sl->contract_id = l->contract_id;
        sl->link_name = l->link_name;
        sl->prov = l->applied;
        if (sl->prov) prov_retain(sl->prov);
    }
    return s;
}

corral_status_t host_publish(corral_host_t *h, corral_err_t *err) {
    snap_t *s = snap_build(h);
    if (!s) {
        /* still a grace period, so callers may free what readers could
         * have loaded from elsewhere (an actor's current version) */
        snap_synchronize(h);
        return corral_err_set(err, CORRAL_ERR_NOMEM,
                              "host: out of memory publishing the actor/provider tables");
    }
    snap_t *old = atomic_exchange(&h->snap, s);
    snap_synchronize(h);
    snap_free(old);
    return CORRAL_OK;
}

void host_publish_hard(corral_host_t *h) {
    for (int i = 0;; i++) {
        if (host_publish(h, NULL) == CORRAL_OK) return;
        if (i == 0)
            CORRAL_LOG_ERROR_(HOST_COMPONENT, "out of memory publishing the host tables; retrying");
        sleep_us(i < 100 ? 1000 : 100000);
    }
}

/* ---- calls from outside --------------------------------------------------------------- */

corral_status_t host_enter(corral_host_t *h, corral_err_t *err) {
    atomic_long *n = &h->inflight[my_stripe()].n;
    atomic_fetch_add(n, 1);
    if (atomic_load(&h->state) != 1) {
        atomic_fetch_sub(n, 1);
        return corral_err_set(err, CORRAL_ERR_STATE,
                              atomic_load(&h->state) == 0
                                  ? "host is not started: call corral_host_start first"
                                  : "host is stopping: no new calls are accepted");
    }
    return CORRAL_OK;
}

void host_leave(corral_host_t *h) {
    atomic_fetch_sub(&h->inflight[my_stripe()].n, 1);
}

/* ---- workers ---------------------------------------------------------------------------- */

corral_status_t host_queue_job(corral_host_t *h, job_t *j, corral_err_t *err) {
    pthread_mutex_lock(&h->q_mu);
    if (h->q_stop) {
        pthread_mutex_unlock(&h->q_mu);
        return corral_err_set(err, CORRAL_ERR_STATE, "host is stopping: no new calls are accepted");
    }
    if (h->q_len >= QUEUE_MAX) {
        pthread_mutex_unlock(&h->q_mu);
        return corral_err_set(err, CORRAL_ERR_BUSY,
                              "host work queue is full (%d calls waiting): retry later",
                              QUEUE_MAX);
    }
    j->next = NULL;
    if (h->q_tail)
        h->q_tail->next = j;
    else
        h->q_head = j;
    h->q_tail = j;
    h->q_len++;
    atomic_fetch_add(&h->jobs_pending, 1);
    pthread_cond_signal(&h->q_cv);
    pthread_mutex_unlock(&h->q_mu);
    return CORRAL_OK;
}

static void *worker_main(void *arg) {
    corral_host_t *h = arg;
    for (;;) {
        pthread_mutex_lock(&h->q_mu);
        while (!h->q_head && !h->q_stop) pthread_cond_wait(&h->q_cv, &h->q_mu);
        job_t *j = h->q_head;
        if (!j) { /* stopping and drained */
            pthread_mutex_unlock(&h->q_mu);
            return NULL;
        }
        h->q_head = j->next;
        if (!h->q_head) h->q_tail = NULL;
        h->q_len--;
        pthread_mutex_unlock(&h->q_mu);
        host_run_job(h, j);
        host_job_free(j);
        atomic_fetch_sub(&h->jobs_pending, 1);
    }
}

/* ---- health timer ------------------------------------------------------------------------- */

static void health_round(corral_host_t *h) {
    int slot;
    snap_t *s = host_snap_pin(h, &slot);
    size_t n = s ? s->nactors : 0;
    actor_ver_t **vs = n ? corral_calloc(n, sizeof *vs) : NULL;
    if (n && !vs) {
        host_snap_unpin(h, slot);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        vs[i] = s->actors[i];
        actor_ver_retain(vs[i]);
    }
    host_snap_unpin(h, slot);
    for (size_t i = 0; i < n; i++) {
        corral_host_health_t hr;
        if (atomic_load(&h->state) == 1 &&
            corral_host_actor_health(h, vs[i]->core->key, &hr, NULL) == CORRAL_OK && !hr.healthy)
            CORRAL_LOG_WARN_(HOST_COMPONENT, "actor %s (%s) is unhealthy: %s", vs[i]->core->key,
                             actor_name(vs[i]), hr.message);
        actor_ver_release(vs[i]);
    }
    corral_free(vs);
}

static void *health_main(void *arg) {
    corral_host_t *h = arg;
    pthread_mutex_lock(&h->h_mu);
    while (!h->h_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)h->health_interval_ms * 1000000ull;
        ts.tv_sec += (time_t)(ns / 1000000000ull);
        ts.tv_nsec = (long)(ns % 1000000000ull);
        int rc = 0;
        while (!h->h_stop && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&h->h_cv, &h->h_mu, &ts);
        if (h->h_stop) break;
        pthread_mutex_unlock(&h->h_mu);
        health_round(h);
        pthread_mutex_lock(&h->h_mu);
    }
    pthread_mutex_unlock(&h->h_mu);
    return NULL;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static char **copy_strv(const char *const *v, size_t n, int *ok) {
    *ok = 1;
    if (!n || !v) return NULL;
    char **out = corral_calloc(n, sizeof *out);
    if (!out) {
        *ok = 0;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!(out[i] = corral_strdup(v[i] ? v[i] : ""))) *ok = 0;
    return out;
}

static void free_strv(char **v, size_t n) {
    for (size_t i = 0; v && i < n; i++) corral_free(v[i]);
    corral_free(v);
}

static corral_status_t mkdir_p(const char *path, corral_err_t *err) {
    char buf[1024];
    if (strlen(path) >= sizeof buf)
        return corral_err_set(err, CORRAL_ERR_TOO_LARGE, "directory path is too long: %s", path);
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return corral_err_set(err, CORRAL_ERR_IO, "cannot create directory %s: %s", buf,
                                  strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return corral_err_set(err, CORRAL_ERR_IO, "cannot create directory %s: %s", buf,
                              strerror(errno));
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return corral_err_set(err, CORRAL_ERR_IO, "%s is not a directory", buf);
    return CORRAL_OK;
}

static char *default_data_dir(void) {
    corral_buf_t b = CORRAL_BUF_INIT;
    const char *x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    corral_status_t st;
    if (x && *x == '/')
        st = corral_buf_printf(&b, "%s/corral", x);
    else if (home && *home == '/')
        st = corral_buf_printf(&b, "%s/.local/share/corral", home);
    else
        st = corral_buf_printf(&b, "/tmp/corral-data-%u", (unsigned)getuid());
    if (st != CORRAL_OK || corral_buf_terminate(&b) != CORRAL_OK) {
        corral_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

corral_status_t corral_host_default_run_dir(char *out, size_t n) {
    const char *x = getenv("XDG_RUNTIME_DIR");
    int w = (x && *x == '/') ? snprintf(out, n, "%s/corral", x)
                             : snprintf(out, n, "/tmp/corral-%u", (unsigned)getuid());
    return (w < 0 || (size_t)w >= n) ? CORRAL_ERR_TOO_LARGE : CORRAL_OK;
}

corral_status_t corral_host_new(const corral_host_config_t *cfg, corral_host_t **out,
                                corral_err_t *err) {
    corral_host_config_t zero = {0};
    corral_status_t st = CORRAL_ERR_NOMEM;
    if (!cfg) cfg = &zero;
    *out = NULL;
    for (size_t i = 0; i < cfg->n_allowed_issuers; i++) {
        corral_err_t e;
        corral_err_clear(&e);
        if (!cfg->allowed_issuers[i] ||
            corral_nkey_from_public(cfg->allowed_issuers[i], CORRAL_NKEY_ACCOUNT, NULL, &e) !=
                CORRAL_OK)
            return corral_err_set(err, e.status ? e.status : CORRAL_ERR_INVALID_ARG,
                                  "host config: allowed issuer #%zu '%s' is not an account key "
                                  "(A..., 56 characters): %s",
                                  i + 1, cfg->allowed_issuers[i] ? cfg->allowed_issuers[i] : "",
                                  corral_err_msg(&e));
    }
    for (size_t i = 0; i < cfg->n_aot_signers; i++) {
        corral_err_t e;
        corral_nkey_t k;
        corral_err_clear(&e);
        if (!cfg->aot_signers[i] ||
            corral_nkey_from_public(cfg->aot_signers[i], CORRAL_NKEY_ANY, &k, &e) != CORRAL_OK ||
            (k.type != CORRAL_NKEY_OPERATOR && k.type != CORRAL_NKEY_ACCOUNT))
            return corral_err_set(err, e.status ? e.status : CORRAL_ERR_KEY_TYPE,
                                  "host config: AOT artifact signer #%zu '%s' is not an operator or "
                                  "account key (O... or A..., 56 characters)%s%s",
                                  i + 1, cfg->aot_signers[i] ? cfg->aot_signers[i] : "",
                                  e.status ? ": " : "", e.status ? corral_err_msg(&e) : "");
    }
    corral_host_t *h = corral_calloc(1, sizeof *h);
    if (!h) return corral_err_set(err, CORRAL_ERR_NOMEM, "host: out of memory");
    h->stop_pipe[0] = h->stop_pipe[1] = -1;
    h->c_fd = -1;
    pthread_mutex_init(&h->ctl, NULL);
    pthread_mutex_init(&h->q_mu, NULL);
    pthread_cond_init(&h->q_cv, NULL);
    pthread_mutex_init(&h->h_mu, NULL);
    pthread_cond_init(&h->h_cv, NULL);
    pthread_mutex_init(&h->c_mu, NULL);
    int ok1, ok2, ok3;
    h->data_dir = cfg->data_dir ? corral_strdup(cfg->data_dir) : default_data_dir();
    h->run_dir = cfg->run_dir ? corral_strdup(cfg->run_dir) : NULL;
    h->allowed_issuers = copy_strv(cfg->allowed_issuers, cfg->n_allowed_issuers, &ok1);
    h->n_allowed_issuers = h->allowed_issuers ? cfg->n_allowed_issuers : 0;
    h->revoked = copy_strv(cfg->revoked, cfg->n_revoked, &ok2);
    h->n_revoked = h->revoked ? cfg->n_revoked : 0;
    h->aot_signers = copy_strv(cfg->aot_signers, cfg->n_aot_signers, &ok3);
    h->n_aot_signers = h->aot_signers ? cfg->n_aot_signers : 0;
    if (!h->data_dir || (cfg->run_dir && !h->run_dir) || !ok1 || !ok2 || !ok3) {
        corral_err_set(err, CORRAL_ERR_NOMEM, "host: out of memory");
        goto fail;
    }
    if (cfg->nlabels) {
        h->labels = corral_calloc(cfg->nlabels, sizeof *h->labels);
        if (!h->labels) {
            corral_err_set(err, CORRAL_ERR_NOMEM, "host: out of memory");
            goto fail;
        }
        h->nlabels = cfg->nlabels;
        for (size_t i = 0; i < cfg->nlabels; i++) {
            const char *lk = cfg->labels[i].key ? cfg->labels[i].key : "";
            const char *lv = cfg->labels[i].value ? cfg->labels[i].value : "";
            if (!corral_utf8_valid((const uint8_t *)lk, strlen(lk)) ||
                !corral_utf8_valid((const uint8_t *)lv, strlen(lv))) {
                st = corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                    "host config: label #%zu is not valid UTF-8", i + 1);
                goto fail;
            }
            h->labels[i].key = corral_strdup(cfg->labels[i].key ? cfg->labels[i].key : "");
            h->labels[i].value = corral_strdup(cfg->labels[i].value ? cfg->labels[i].value : "");
            if (!h->labels[i].key || !h->labels[i].value) {
                corral_err_set(err, CORRAL_ERR_NOMEM, "host: out of memory");
                goto fail;
            }
        }
    }
    h->limits = cfg->limits;
    if (!h->limits.max_instances) h->limits.max_instances = CORRAL_HOST_DEFAULT_MAX_INSTANCES;
    if (!h->limits.deadline_ms) h->limits.deadline_ms = CORRAL_HOST_DEFAULT_DEADLINE_MS;
    if (!h->limits.max_pages) h->limits.max_pages = CORRAL_HOST_DEFAULT_MAX_PAGES;
    h->worker_threads = cfg->worker_threads;
    if (!h->worker_threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        h->worker_threads = n > 0 ? (uint32_t)n : 1;
    }
    if (h->worker_threads > 256) h->worker_threads = 256;
    h->allow_unsigned = cfg->allow_unsigned;
    h->engine = cfg->engine;
    h->no_builtins = cfg->no_builtins;
    h->clock_skew_s = cfg->clock_skew_s < 0 ? 0 : cfg->clock_skew_s;
    h->health_interval_ms = cfg->health_interval_ms ? cfg->health_interval_ms
                                                    : CORRAL_HOST_DEFAULT_HEALTH_MS;
    if ((st = mkdir_p(h->data_dir, err)) != CORRAL_OK) {
        corral_err_wrap(err, "host data directory");
        goto fail;
    }
    if (pipe(h->stop_pipe) != 0) {
        st = corral_err_set(err, CORRAL_ERR_IO, "host: cannot create a pipe: %s", strerror(errno));
        goto fail;
    }
    fcntl(h->stop_pipe[0], F_SETFD, FD_CLOEXEC);
    fcntl(h->stop_pipe[1], F_SETFD, FD_CLOEXEC);
    fcntl(h->stop_pipe[1], F_SETFL, O_NONBLOCK);
    *out = h;
    return CORRAL_OK;
fail:
    corral_host_free(h);
    return err ? err->status : st;
}

corral_status_t corral_host_start(corral_host_t *h, corral_err_t *err) {
    pthread_mutex_lock(&h->ctl);
    corral_status_t st = CORRAL_OK;
    if (atomic_load(&h->state) != 0) {
        st = corral_err_set(err, CORRAL_ERR_STATE, "host already started (a host starts once)");
        goto out;
    }
    corral_nkey_t k;
    if ((st = corral_nkey_generate(CORRAL_NKEY_SERVER, &k, err)) != CORRAL_OK) goto out;
    corral_nkey_public_str(&k, h->key);
    corral_nkey_wipe(&k);
    if ((st = host_publish(h, err)) != CORRAL_OK) goto out;
    h->workers = corral_calloc(h->worker_threads, sizeof *h->workers);
    if (!h->workers) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "host: out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < h->worker_threads; i++) {
        if (pthread_create(&h->workers[i], NULL, worker_main, h) != 0) {
            st = corral_err_set(err, CORRAL_ERR_INTERNAL, "host: cannot start worker thread %u",
                                i + 1);
            break;
        }
        h->nworkers++;
    }
    h->started_ns = corral_now_ns();
    atomic_store(&h->state, 1);
    if (st != CORRAL_OK) goto out;
    if (h->health_interval_ms != CORRAL_HOST_HEALTH_OFF) {
        if (pthread_create(&h->health_thread, NULL, health_main, h) != 0) {
            st = corral_err_set(err, CORRAL_ERR_INTERNAL, "host: cannot start the health thread");
            goto out;
        }
        h->health_running = 1;
    }
    pthread_mutex_unlock(&h->ctl);
    if (!h->no_builtins) {
        static const char *const builtins[] = {"logging", "numbergen"};
        for (size_t i = 0; i < 2; i++) {
            corral_host_provider_opts_t po = {.kind = builtins[i]};
            corral_err_t e;
            corral_err_clear(&e);
            if (corral_provider_builtin_find(builtins[i]) &&
                host_provider_start(h, &po, 1, NULL, &e) != CORRAL_OK)
                CORRAL_LOG_WARN_(HOST_COMPONENT, "built-in provider %s did not start: %s",
                                 builtins[i], corral_err_msg(&e));
        }
    }
    CORRAL_LOG_INFO_(HOST_COMPONENT, "host %s started (%u workers)", h->key, h->nworkers);
    return CORRAL_OK;
out:
    pthread_mutex_unlock(&h->ctl);
    if (st != CORRAL_OK && atomic_load(&h->state) == 1) corral_host_stop(h);
    return st;
}

void corral_host_stop(corral_host_t *h) {
    if (!h) return;
    int expect = 1;
    if (!atomic_compare_exchange_strong(&h->state, &expect, 2)) return;
    corral_host_control_stop(h);
    if (h->health_running) {
        pthread_mutex_lock(&h->h_mu);
        h->h_stop = 1;
        pthread_cond_broadcast(&h->h_cv);
        pthread_mutex_unlock(&h->h_mu);
        pthread_join(h->health_thread, NULL);
        h->health_running = 0;
    }
    host_wait_count(&h->aot_bg, 0); /* a background compile finishes first (actors.c) */
    /* drain: calls from outside, then queued jobs (the workers run what is
     * queued and exit) */
    for (int i = 0; i < HOST_STRIPES; i++) host_wait_count(&h->inflight[i].n, 0);
    pthread_mutex_lock(&h->q_mu);
    h->q_stop = 1;
    pthread_cond_broadcast(&h->q_cv);
    pthread_mutex_unlock(&h->q_mu);
    for (uint32_t i = 0; i < h->nworkers; i++) pthread_join(h->workers[i], NULL);
    corral_free(h->workers);
    h->workers = NULL;
    h->nworkers = 0;
    pthread_mutex_lock(&h->ctl);
    host_stop_all_providers(h);
    host_stop_all_actors(h);
    host_free_links(h);
    host_publish_hard(h);
    pthread_mutex_unlock(&h->ctl);
    atomic_store(&h->state, 3);
    CORRAL_LOG_INFO_(HOST_COMPONENT, "host %s stopped", h->key);
}

void corral_host_free(corral_host_t *h) {
    if (!h) return;
    corral_host_stop(h);
    corral_host_control_stop(h); /* a server started on a host that never started */
    snap_free(atomic_exchange(&h->snap, NULL));
    corral_free(h->data_dir);
    corral_free(h->run_dir);
    for (size_t i = 0; i < h->nlabels; i++) {
        corral_free((char *)h->labels[i].key);
        corral_free((char *)h->labels[i].value);
    }
    corral_free(h->labels);
    free_strv(h->allowed_issuers, h->n_allowed_issuers);
    free_strv(h->revoked, h->n_revoked);
    free_strv(h->aot_signers, h->n_aot_signers);
    if (h->stop_pipe[0] >= 0) close(h->stop_pipe[0]);
    if (h->stop_pipe[1] >= 0) close(h->stop_pipe[1]);
    pthread_mutex_destroy(&h->ctl);
    pthread_mutex_destroy(&h->q_mu);
    pthread_cond_destroy(&h->q_cv);
    pthread_mutex_destroy(&h->h_mu);
    pthread_cond_destroy(&h->h_cv);
    pthread_mutex_destroy(&h->c_mu);
    corral_free(h);
}

const char *corral_host_key(const corral_host_t *h) {
    return h->key;
}

void corral_host_set_remote(corral_host_t *h, const corral_host_remote_t *remote) {
    atomic_store(&h->remote_on, 0);
    if (!remote) return;
    h->remote = *remote;
    atomic_store(&h->remote_on, 1);
}

void corral_host_request_stop(corral_host_t *h) {
    atomic_store(&h->stop_requested, 1);
    if (h->stop_pipe[1] >= 0) {
        char c = 1;
        ssize_t r = write(h->stop_pipe[1], &c, 1);
        (void)r;
    }
}

int corral_host_wait(corral_host_t *h, uint32_t timeout_ms) {
    uint64_t end = corral_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (!atomic_load(&h->stop_requested)) {
        int wait_ms = -1;
        if (timeout_ms) {
            uint64_t now = corral_now_ns();
            if (now >= end) return 0;
            wait_ms = (int)((end - now + 999999) / 1000000);
        }
        struct pollfd p = {.fd = h->stop_pipe[0], .events = POLLIN};
        int r = poll(&p, 1, wait_ms);
        if (r > 0) {
            char c;
            ssize_t n = read(h->stop_pipe[0], &c, 1);
            (void)n;
        }
    }
    return 1;
}

/*
 * http_fake_host.c - the fake host of http_fake_host.h: a due-time-ordered
 * job queue served by a few worker threads, echoing HandleRequest maps with
 * msgpack-c (the test's independent decoder) or answering what the mode asks.
 */
#include "http_fake_host.h"

#include <msgpack.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct fake_job {
    fake_job_t *next;
    uint64_t due_ns;
    uint8_t *payload;
    size_t len;
    corral_provider_reply_fn done;
    void *done_user;
};

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int buf_write(void *data, const char *p, size_t n) {
    return corral_buf_append((corral_buf_t *)data, p, n) == CORRAL_OK ? 0 : -1;
}

static void pack_cstr(msgpack_packer *pk, const char *s, size_t n) {
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static const msgpack_object *map_get(const msgpack_object *m, const char *key) {
    if (m->type != MSGPACK_OBJECT_MAP) return NULL;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object_kv *kv = &m->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(key) &&
            memcmp(kv->key.via.str.ptr, key, kv->key.via.str.size) == 0)
            return &kv->val;
    }
    return NULL;
}

/* Builds the echo response for a request payload; an undecodable request
 * gets statusCode 599 so a test notices. */
static void echo(const uint8_t *p, size_t n, corral_buf_t *out) {
    msgpack_unpacked up;
    msgpack_packer pk;
    size_t off = 0;
    unsigned code = 200;
    char count[16];
    msgpack_unpacked_init(&up);
    msgpack_packer_init(&pk, out, buf_write);
    if (msgpack_unpack_next(&up, (const char *)p, n, &off) != MSGPACK_UNPACK_SUCCESS) {
        msgpack_pack_map(&pk, 1);
        pack_cstr(&pk, "statusCode", 10);
        msgpack_pack_uint32(&pk, 599);
        msgpack_unpacked_destroy(&up);
        return;
    }
    const msgpack_object *m = map_get(&up.data, "method"), *pa = map_get(&up.data, "path"),
                         *q = map_get(&up.data, "queryString"), *h = map_get(&up.data, "header"),
                         *b = map_get(&up.data, "body");
    if (!m || !pa || !q || !h || !b || m->type != MSGPACK_OBJECT_STR ||
        pa->type != MSGPACK_OBJECT_STR || q->type != MSGPACK_OBJECT_STR ||
        h->type != MSGPACK_OBJECT_MAP || b->type != MSGPACK_OBJECT_BIN) {
        msgpack_pack_map(&pk, 1);
        pack_cstr(&pk, "statusCode", 10);
        msgpack_pack_uint32(&pk, 598);
        msgpack_unpacked_destroy(&up);
        return;
    }
    const msgpack_object *xs = map_get(h, "x-status");
    if (xs && xs->type == MSGPACK_OBJECT_STR && xs->via.str.size == 3)
        code = (unsigned)((xs->via.str.ptr[0] - '0') * 100 + (xs->via.str.ptr[1] - '0') * 10 +
                          (xs->via.str.ptr[2] - '0'));
    snprintf(count, sizeof count, "%u", h->via.map.size);
    msgpack_pack_map(&pk, 4);
    pack_cstr(&pk, "statusCode", 10);
    msgpack_pack_uint32(&pk, code);
    pack_cstr(&pk, "status", 6);
    pack_cstr(&pk, "OK", 2);
    pack_cstr(&pk, "header", 6);
    msgpack_pack_map(&pk, 5);
    pack_cstr(&pk, "x-method", 8);
    pack_cstr(&pk, m->via.str.ptr, m->via.str.size);
    pack_cstr(&pk, "x-path", 6);
    pack_cstr(&pk, pa->via.str.ptr, pa->via.str.size);
    pack_cstr(&pk, "x-query", 7);
    pack_cstr(&pk, q->via.str.ptr, q->via.str.size);
    pack_cstr(&pk, "x-headers", 9);
    pack_cstr(&pk, count, strlen(count));
    pack_cstr(&pk, "content-type", 12);
    pack_cstr(&pk, "application/octet-stream", 24);
    pack_cstr(&pk, "body", 4);
    msgpack_pack_bin(&pk, 5 + b->via.bin.size);
    msgpack_pack_bin_body(&pk, "echo:", 5);
    if (b->via.bin.size) msgpack_pack_bin_body(&pk, b->via.bin.ptr, b->via.bin.size);
    msgpack_unpacked_destroy(&up);
}

static void answer(fake_host_t *f, fake_job_t *j) {
    corral_buf_t out = CORRAL_BUF_INIT;
    corral_err_t err;
    corral_err_clear(&err);
    switch (f->mode) {
    case FAKE_ECHO:
        echo(j->payload, j->len, &out);
        j->done(j->done_user, CORRAL_OK, out.data, out.len, NULL);
        break;
    case FAKE_GARBAGE:
        j->done(j->done_user, CORRAL_OK, (const uint8_t *)"\xc1garbage", 8, NULL);
        break;
    case FAKE_FIXED:
        j->done(j->done_user, CORRAL_OK, f->fixed_resp, f->fixed_len, NULL);
        break;
    case FAKE_GUEST_ERROR:
        corral_err_set(&err, CORRAL_ERR_GUEST, "guest panicked at %s", FAKE_SECRET);
        j->done(j->done_user, CORRAL_ERR_GUEST, NULL, 0, &err);
        break;
    case FAKE_TRAP:
        corral_err_set(&err, CORRAL_ERR_TRAP_UNREACHABLE, "unreachable at %s", FAKE_SECRET);
        j->done(j->done_user, CORRAL_ERR_TRAP_UNREACHABLE, NULL, 0, &err);
        break;
    case FAKE_LATE_TIMEOUT:
        corral_err_set(&err, CORRAL_ERR_TIMEOUT, "deadline %s", FAKE_SECRET);
        j->done(j->done_user, CORRAL_ERR_TIMEOUT, NULL, 0, &err);
        break;
    default:
        j->done(j->done_user, CORRAL_ERR_INTERNAL, NULL, 0, NULL);
        break;
    }
    corral_buf_free(&out);
}

static void *worker(void *arg) {
    fake_host_t *f = arg;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        fake_job_t *j = f->jobs;
        if (!j) {
            if (f->quit) break;
            pthread_cond_wait(&f->cond, &f->mu);
            continue;
        }
        uint64_t now = mono_ns();
        if (!f->quit && j->due_ns > now) {
            struct timespec ts = {(time_t)(j->due_ns / 1000000000u),
                                  (long)(j->due_ns % 1000000000u)};
            pthread_cond_timedwait(&f->cond, &f->mu, &ts);
            continue;
        }
        f->jobs = j->next;
        /* counted before the reply goes out: a client that has its answer
         * must find it counted (unlink_and_relink_under_load compares) */
        f->answered++;
        pthread_mutex_unlock(&f->mu);
        answer(f, j);
        corral_free(j->payload);
        corral_free(j);
        pthread_mutex_lock(&f->mu);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static corral_status_t fake_call_async(void *ctx, const char *actor_key, const char *link_name,
                                       const char *operation, const uint8_t *payload, size_t len,
                                       uint32_t timeout_ms, corral_provider_reply_fn done,
                                       void *done_user, corral_err_t *err) {
    fake_host_t *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->calls++;
    snprintf(f->last_actor, sizeof f->last_actor, "%s", actor_key);
    snprintf(f->last_link, sizeof f->last_link, "%s", link_name);
    snprintf(f->last_op, sizeof f->last_op, "%s", operation);
    f->last_timeout_ms = timeout_ms;
    corral_free(f->last_payload);
    f->last_payload = corral_malloc(len ? len : 1);
    if (f->last_payload) memcpy(f->last_payload, payload, len);
    f->last_len = len;
    if (f->mode == FAKE_FAIL_NOW) {
        pthread_mutex_unlock(&f->mu);
        return corral_err_set(err, f->fail_status, "no actor %s at %s", actor_key, FAKE_SECRET);
    }
    fake_job_t *j = corral_calloc(1, sizeof *j);
    uint8_t *copy = corral_malloc(len ? len : 1);
    if (!j || !copy) {
        pthread_mutex_unlock(&f->mu);
        corral_free(j);
        corral_free(copy);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "fake host: out of memory");
    }
    memcpy(copy, payload, len);
    if (f->inline_reply) {
        fake_job_t job = {NULL, 0, copy, len, done, done_user};
        f->answered++;
        pthread_mutex_unlock(&f->mu);
        corral_free(j);
        answer(f, &job);
        corral_free(copy);
        return CORRAL_OK;
    }
    j->payload = copy;
    j->len = len;
    j->done = done;
    j->done_user = done_user;
    unsigned delay = f->delay_ms;
    if (f->jitter_ms > 0) {
        f->seed = f->seed * 1103515245u + 12345u;
        delay += (f->seed >> 16) % (unsigned)f->jitter_ms;
    }
    j->due_ns = mono_ns() + (uint64_t)delay * 1000000u;
    fake_job_t **pp = &f->jobs;
    while (*pp && (*pp)->due_ns <= j->due_ns) pp = &(*pp)->next;
    j->next = *pp;
    *pp = j;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
    return CORRAL_OK;
}

static void fake_log(void *ctx, corral_log_level_t level, const char *component,
                     const char *msg) {
    corral_log(level, component, "%s", msg);
}

static corral_status_t fake_call_sync(void *ctx, const char *actor_key, const char *link_name,
                                      const char *operation, const uint8_t *payload, size_t len,
                                      corral_provider_bytes_t *resp, corral_err_t *err) {
    resp->data = NULL;
    resp->len = 0;
    return corral_err_set(err, CORRAL_ERR_NO_ACTOR, "fake host: no synchronous calls");
}

int fake_host_start(fake_host_t *f, int n_threads) {
    pthread_condattr_t a;
    memset(f, 0, sizeof *f);
    f->host.abi_version = CORRAL_PROVIDER_ABI_VERSION;
    f->host.struct_size = sizeof f->host;
    f->host.data_dir = "/tmp";
    f->host.alloc = corral_malloc;
    f->host.free = corral_free;
    f->host.log = fake_log;
    f->host.call_actor = fake_call_sync;
    f->host.ctx = f;
    f->host.call_actor_async = fake_call_async;
    f->fail_status = CORRAL_ERR_NO_ACTOR;
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cond, &a);
    pthread_condattr_destroy(&a);
    if (n_threads < 1) n_threads = 1;
    if (n_threads > 4) n_threads = 4;
    for (int i = 0; i < n_threads; i++) {
        if (pthread_create(&f->threads[i], NULL, worker, f)) return -1;
        f->n_threads++;
    }
    return 0;
}

void fake_host_stop(fake_host_t *f) {
    pthread_mutex_lock(&f->mu);
    f->quit = 1;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
    for (int i = 0; i < f->n_threads; i++) pthread_join(f->threads[i], NULL);
    corral_free(f->last_payload);
    f->last_payload = NULL;
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cond);
}

long fake_host_answered(fake_host_t *f) {
    pthread_mutex_lock(&f->mu);
    long n = f->answered;
    pthread_mutex_unlock(&f->mu);
    return n;
}

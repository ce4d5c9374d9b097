/*
 * actors.c - actors on the host: start (claims-gated, docs/claims.md stages
 * 1-7), stop (drain, then release), live update (stage 9, pool hot replace),
 * calls with per-actor counters, and health checks (HealthRequest of
 * docs/contracts.md). The tables calls read are published by host.c.
 */
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "host_int.h"

#ifdef CORRAL_HOST_HAVE_AOT
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "corral_aot.h"
#endif

/* ---- references --------------------------------------------------------------------- */

static void core_release(actor_core_t *c) {
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1) return;
    corral_wapc_pool_free(c->pool);
    pthread_mutex_destroy(&c->health_mu);
    corral_free(c);
}

void actor_ver_retain(actor_ver_t *v) {
    atomic_fetch_add(&v->refs, 1);
}

void actor_ver_release(actor_ver_t *v) {
    if (!v || atomic_fetch_sub(&v->refs, 1) != 1) return;
    corral_claims_free(v->claims);
    core_release(v->core);
    corral_free(v);
}

const char *actor_name(const actor_ver_t *v) {
    return v->claims && v->claims->name ? v->claims->name : "unsigned";
}

/* ---- lookups ----------------------------------------------------------------------------- */

static int ver_matches(const actor_ver_t *v, const char *actor) {
    if (strcmp(v->core->key, actor) == 0) return 1;
    return v->claims && v->claims->call_alias && *v->claims->call_alias &&
           strcmp(v->claims->call_alias, actor) == 0;
}

actor_ver_t *snap_find_actor(const snap_t *s, const char *actor) {
    if (!s || !actor) return NULL;
    /* keys first: an alias never shadows a module key */
    for (size_t i = 0; i < s->nactors; i++)
        if (strcmp(s->actors[i]->core->key, actor) == 0) return s->actors[i];
    for (size_t i = 0; i < s->nactors; i++)
        if (ver_matches(s->actors[i], actor)) return s->actors[i];
    return NULL;
}

static corral_status_t no_actor(corral_err_t *err, const char *actor) {
    return corral_err_set(err, CORRAL_ERR_NO_ACTOR,
                          "no actor with key or call alias '%s' is running on this host (see "
                          "`corral get inventory`)",
                          actor ? actor : "");
}

actor_ver_t *host_get_actor(corral_host_t *h, const char *actor, corral_err_t *err) {
    int slot;
    snap_t *s = host_snap_pin(h, &slot);
    actor_ver_t *v = snap_find_actor(s, actor);
    if (v) actor_ver_retain(v);
    host_snap_unpin(h, slot);
    if (!v) no_actor(err, actor);
    return v;
}

actor_entry_t *host_find_actor_entry(corral_host_t *h, const char *actor) {
    for (actor_entry_t *a = h->actors; a; a = a->next)
        if (strcmp(a->ver->core->key, actor) == 0) return a;
    for (actor_entry_t *a = h->actors; a; a = a->next)
        if (ver_matches(a->ver, actor)) return a;
    return NULL;
}

/* ---- calls ---------------------------------------------------------------------------------- */

static int is_trap(corral_status_t st) {
    return st >= CORRAL_ERR_TRAP_UNREACHABLE && st <= CORRAL_ERR_TRAP_EXIT;
}

corral_status_t actor_call(actor_ver_t *v, const char *op, size_t op_len, const uint8_t *payload,
                           size_t len, corral_buf_t *resp, corral_err_t *err) {
    actor_core_t *c = v->core;
    atomic_fetch_add(&c->inflight, 1);
    if (atomic_load(&c->stopping)) {
        atomic_fetch_sub(&c->inflight, 1);
        return corral_err_set(err, CORRAL_ERR_NO_ACTOR, "actor %s (%s) is stopping", c->key,
                              actor_name(v));
    }
    host_trace_t tr;
    host_trace_push(&tr);
    uint64_t t0 = corral_now_ns();
    corral_status_t st = corral_wapc_pool_call(c->pool, op, op_len, payload, len, resp, err);
    uint64_t t1 = corral_now_ns();
    if (corral_log_get_level() >= CORRAL_LOG_DEBUG) {
        char tp[CORRAL_HOST_TRACEPARENT_LEN + 1];
        host_trace_format(&tr, tp);
        corral_log(CORRAL_LOG_DEBUG, HOST_COMPONENT,
                   "call %s (%s) operation %.*s: %s in %llu us traceparent=%s", c->key,
                   actor_name(v), host_met_printable(op, op_len) ? (int)op_len : 7,
                   host_met_printable(op, op_len) ? op : "(other)", corral_status_name(st),
                   (unsigned long long)((t1 - t0) / 1000), tp);
    }
    host_trace_pop(&tr);
    atomic_fetch_add(&c->calls, 1);
    int trap = 0;
    if (st != CORRAL_OK) {
        atomic_fetch_add(&c->errors, 1);
        if ((trap = is_trap(st)) != 0) atomic_fetch_add(&c->traps, 1);
    }
    host_met_record(&c->met, op, op_len, st != CORRAL_OK, trap, t1 - t0);
    atomic_fetch_sub(&c->inflight, 1);
    return st;
}

corral_status_t corral_host_call(corral_host_t *h, const char *actor, const char *operation,
                                 const uint8_t *payload, size_t len, corral_buf_t *resp,
                                 corral_err_t *err) {
    corral_status_t st = host_enter(h, err);
    if (st != CORRAL_OK) return st;
    if (!actor || !operation) {
        host_leave(h);
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "call: actor and operation are required");
    }
    actor_ver_t *v = host_get_actor(h, actor, err);
    if (!v) {
        host_leave(h);
        return CORRAL_ERR_NO_ACTOR;
    }
    st = actor_call(v, operation, strlen(operation), payload, len, resp, err);
    if (st != CORRAL_OK)
        corral_err_wrap(err, "actor %s (%s), operation %s", v->core->key, actor_name(v), operation);
    actor_ver_release(v);
    host_leave(h);
    return st;
}

corral_status_t corral_host_actor_resolve(corral_host_t *h, const char *actor,
                                          char key_out[CORRAL_HOST_KEY_LEN], corral_err_t *err) {
    actor_ver_t *v = host_get_actor(h, actor, err);
    if (!v) return CORRAL_ERR_NO_ACTOR;
    host_strlcpy(key_out, v->core->key, CORRAL_HOST_KEY_LEN);
    actor_ver_release(v);
    return CORRAL_OK;
}

corral_status_t corral_host_actor_stats(corral_host_t *h, const char *actor,
                                        corral_host_actor_stats_t *out, corral_err_t *err) {
    actor_ver_t *v = host_get_actor(h, actor, err);
    if (!v) return CORRAL_ERR_NO_ACTOR;
    actor_core_t *c = v->core;
    corral_wapc_pool_stats_t ps;
    corral_wapc_pool_stats(c->pool, &ps);
    out->calls = atomic_load(&c->calls);
    out->errors = atomic_load(&c->errors);
    out->traps = atomic_load(&c->traps);
    out->instances = ps.live;
    out->max_instances = c->limits.max_instances;
    out->rev = v->claims ? v->claims->rev : 0;
    actor_ver_release(v);
    return CORRAL_OK;
}

/* ---- health ---------------------------------------------------------------------------------- */

/* {placeholder: true} */
static const uint8_t health_req_[] = {0x81, 0xab, 'p', 'l', 'a', 'c', 'e', 'h', 'o', 'l', 'd', 'e',
                                      'r', 0xc3};

static void decode_health(const uint8_t *p, size_t n, corral_host_health_t *out) {
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    out->healthy = 0;
    if (msgpack_unpack_next(&up, (const char *)p, n, &off) != MSGPACK_UNPACK_SUCCESS) {
        snprintf(out->message, sizeof out->message,
                 "HealthRequest: the answer (%zu bytes) is not MessagePack", n);
        goto done;
    }
    if (off != n) {
        snprintf(out->message, sizeof out->message,
                 "HealthRequest: %zu stray bytes after the answer", n - off);
        goto done;
    }
    if (up.data.type != MSGPACK_OBJECT_MAP) {
        snprintf(out->message, sizeof out->message, "HealthRequest: the answer is not a map");
        goto done;
    }
    int have_h = 0, have_m = 0, healthy = 0;
    char msg[sizeof out->message] = "";
    const msgpack_object_map *m = &up.data.via.map;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key, *val = &m->ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR) continue;
        if (k->via.str.size == 7 && memcmp(k->via.str.ptr, "healthy", 7) == 0) {
            if (val->type != MSGPACK_OBJECT_BOOLEAN) {
                snprintf(out->message, sizeof out->message,
                         "HealthRequest: field 'healthy' is not a bool");
                goto done;
            }
            healthy = val->via.boolean;
            have_h = 1;
        } else if (k->via.str.size == 7 && memcmp(k->via.str.ptr, "message", 7) == 0) {
            if (val->type != MSGPACK_OBJECT_STR ||
                !corral_utf8_valid((const uint8_t *)val->via.str.ptr, val->via.str.size)) {
                snprintf(out->message, sizeof out->message,
                         "HealthRequest: field 'message' is not a UTF-8 string");
                goto done;
            }
            size_t l = val->via.str.size < sizeof msg - 1 ? val->via.str.size : sizeof msg - 1;
            /* cut on a character boundary */
            while (l < val->via.str.size && l && ((unsigned char)val->via.str.ptr[l] & 0xC0) == 0x80)
                l--;
            memcpy(msg, val->via.str.ptr, l);
            msg[l] = 0;
            have_m = 1;
        }
    }
    if (!have_h || !have_m) {
        snprintf(out->message, sizeof out->message, "HealthRequest: the answer lacks '%s'",
                 !have_h ? "healthy" : "message");
        goto done;
    }
    out->healthy = healthy;
    memcpy(out->message, msg, sizeof msg);
done:
    msgpack_unpacked_destroy(&up);
}

corral_status_t corral_host_actor_health(corral_host_t *h, const char *actor,
                                         corral_host_health_t *out, corral_err_t *err) {
    corral_status_t st = host_enter(h, err);
    if (st != CORRAL_OK) return st;
    actor_ver_t *v = host_get_actor(h, actor, err);
    if (!v) {
        host_leave(h);
        return CORRAL_ERR_NO_ACTOR;
    }
    corral_buf_t resp = CORRAL_BUF_INIT;
    corral_err_t e;
    corral_err_clear(&e);
    memset(out, 0, sizeof *out);
    st = actor_call(v, "HealthRequest", 13, health_req_, sizeof health_req_, &resp, &e);
    if (st == CORRAL_ERR_NOMEM) {
        corral_err_set(err, st, "health check of actor %s: out of memory", v->core->key);
    } else if (st != CORRAL_OK) {
        snprintf(out->message, sizeof out->message, "HealthRequest failed: %s", corral_err_msg(&e));
        /* a cut multi-byte character at the end would make the text invalid */
        size_t n = strlen(out->message);
        for (int cut = 0; cut < 4 && n && !corral_utf8_valid((uint8_t *)out->message, n); cut++)
            out->message[--n] = 0;
        st = CORRAL_OK;
    } else {
        decode_health(resp.data, resp.len, out);
    }
    corral_buf_free(&resp);
    if (st == CORRAL_OK) {
        actor_core_t *c = v->core;
        pthread_mutex_lock(&c->health_mu);
        c->health_known = 1;
        c->healthy = out->healthy;
        host_strlcpy(c->health_msg, out->message, sizeof c->health_msg);
        pthread_mutex_unlock(&c->health_mu);
    }
    actor_ver_release(v);
    host_leave(h);
    return st;
}

/* ---- verification ------------------------------------------------------------------------------ */

/* Claims for a module without a token: a module key derived from the
 * module's SHA-256 (so the same bytes get the same key), no name, no caps. */
static corral_status_t unsigned_claims(const uint8_t *wasm, size_t len, corral_claims_t **out,
                                       corral_err_t *err) {
    corral_nkey_t k = {0};
    k.type = CORRAL_NKEY_MODULE;
    crypto_hash_sha256(k.public_key, wasm, len);
    char key[CORRAL_NKEY_PUBLIC_LEN + 1];
    corral_nkey_public_str(&k, key);
    corral_claims_t *c = corral_calloc(1, sizeof *c);
    if (!c || !(c->sub = corral_strdup(key)) || !(c->name = corral_strdup("unsigned"))) {
        corral_claims_free(c);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    }
    *out = c;
    return CORRAL_OK;
}

static corral_status_t verify(corral_host_t *h, const uint8_t *wasm, size_t len, int allow_unsigned,
                              corral_claims_t **out, int *is_unsigned, corral_err_t *err) {
    corral_claims_verify_opts_t vo = {0};
    vo.allowed_issuers = (const char *const *)h->allowed_issuers;
    vo.n_allowed_issuers = h->n_allowed_issuers;
    vo.revoked = (const char *const *)h->revoked;
    vo.n_revoked = h->n_revoked;
    vo.clock_skew = h->clock_skew_s;
    *is_unsigned = 0;
    corral_err_t e;
    corral_err_clear(&e);
    corral_status_t st = corral_claims_verify_module(wasm, len, &vo, out, &e);
    if (st == CORRAL_ERR_NO_TOKEN && (allow_unsigned || h->allow_unsigned)) {
        *is_unsigned = 1;
        return unsigned_claims(wasm, len, out, err);
    }
    if (st == CORRAL_ERR_NO_TOKEN)
        return corral_err_set(err, st,
                              "actor module carries no claims token: sign it with `corral claims "
                              "sign`, or start it with allow_unsigned");
    if (st != CORRAL_OK)
        return corral_err_set(err, st, "actor module failed claims verification: %s",
                              corral_err_msg(&e));
    if ((*out)->prov) {
        corral_claims_free(*out);
        *out = NULL;
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "module's claims say it is a capability provider, not an actor");
    }
    return CORRAL_OK;
}

static void actor_log(void *user, corral_wapc_log_source_t src, const char *line, size_t len) {
    actor_core_t *c = user;
    corral_log(src == CORRAL_WAPC_LOG_STDERR ? CORRAL_LOG_WARN : CORRAL_LOG_INFO, "actor",
               "%s: %.*s", c->key, (int)len, line);
}

static corral_host_limits_t merge_limits(const corral_host_t *h, const corral_host_limits_t *o) {
    corral_host_limits_t l = h->limits;
    if (o) {
        if (o->max_instances) l.max_instances = o->max_instances;
        if (o->deadline_ms) l.deadline_ms = o->deadline_ms;
        if (o->fuel) l.fuel = o->fuel;
        if (o->max_pages) l.max_pages = o->max_pages;
    }
    return l;
}

/* Is the alias taken by an actor other than `key`? */
static int alias_taken(corral_host_t *h, const char *alias, const char *key) {
    if (!alias || !*alias) return 0;
    for (actor_entry_t *a = h->actors; a; a = a->next) {
        if (strcmp(a->ver->core->key, key) == 0) continue;
        if (strcmp(a->ver->core->key, alias) == 0) return 1;
        if (a->ver->claims->call_alias && strcmp(a->ver->claims->call_alias, alias) == 0)
            return 1;
    }
    return 0;
}

static int host_running(corral_host_t *h, corral_err_t *err) {
    int s = atomic_load(&h->state);
    if (s == 1) return 1;
    corral_err_set(err, CORRAL_ERR_STATE,
                   s == 0 ? "host is not started: call corral_host_start first"
                          : "host is stopping: no changes are accepted");
    return 0;
}

/* ---- engine choice (corral_host_engine_t) ------------------------------------------------------ */

static corral_host_engine_t engine_of(corral_host_t *h, const corral_host_actor_opts_t *opts) {
    corral_host_engine_t e = opts ? opts->engine : CORRAL_HOST_ENGINE_DEFAULT;
    /* naming an artifact asks for it, whatever the host's default */
    if (e == CORRAL_HOST_ENGINE_DEFAULT && opts && opts->artifact) e = CORRAL_HOST_ENGINE_AOT;
    if (e == CORRAL_HOST_ENGINE_DEFAULT) e = h->engine;
    return e == CORRAL_HOST_ENGINE_DEFAULT ? CORRAL_HOST_ENGINE_INTERP : e;
}

#ifdef CORRAL_HOST_HAVE_AOT
/* One compile at a time, host-wide (and process-wide: compiles are heavy). */
static pthread_mutex_t aot_compile_mu = PTHREAD_MUTEX_INITIALIZER;

/* A waPC module on native code from the cache, compiling it first when
 * `compile` is set. Returns CORRAL_OK or the reason it is not possible. */
static corral_status_t aot_module(const uint8_t *wasm, size_t len, const char *known_hash, const char *key,
                                  int compile, corral_wapc_module_t **out, corral_err_t *err) {
    char hash[65], path[4096];
    corral_status_t st = CORRAL_OK;
    if (known_hash && strlen(known_hash) == 64) memcpy(hash, known_hash, 65);
    else st = corral_claims_module_hash(wasm, len, hash, err);
    if (st == CORRAL_OK) st = corral_aot_cache_path(hash, path, sizeof path, err);
    if (st != CORRAL_OK) return st;
    if (access(path, R_OK) != 0) {
        if (!compile)
            return corral_err_set(err, CORRAL_ERR_NOT_FOUND, "no artifact in the cache");
        pthread_mutex_lock(&aot_compile_mu);
        uint64_t t0 = corral_now_ns();
        corral_log(CORRAL_LOG_INFO, "host", "actor %s: compiling to native code (%zu KB module)", key,
                   len / 1024);
        st = access(path, R_OK) == 0 ? CORRAL_OK : corral_aot_compile(wasm, len, path, NULL, NULL, err);
        if (st == CORRAL_OK)
            corral_log(CORRAL_LOG_INFO, "host", "actor %s: native code ready after %.1f s", key,
                       (double)(corral_now_ns() - t0) / 1e9);
        pthread_mutex_unlock(&aot_compile_mu);
        if (st != CORRAL_OK) return st;
    }
    corral_vm_module_t *vm = NULL;
    corral_aot_trust_t cached = {0};
    cached.from_cache = 1;
    if ((st = corral_aot_vm_module_new_trusted(wasm, len, hash, path, &cached, &vm, err)) != CORRAL_OK) return st;
    return corral_wapc_module_new_vm(vm, out, err);
}

/* Whether path lies directly in the host's own (trusted, owner-only) cache
 * directory, symlinks resolved; if so, real receives the resolved path, which
 * is what gets read (a symlink elsewhere could be re-pointed meanwhile). */
static int in_aot_cache(const char *path, char *real, size_t n_real) {
    char dir[4096], *rd = NULL, *rp = NULL;
    int yes = 0;
    if (corral_aot_cache_dir(dir, sizeof dir, NULL) == CORRAL_OK && (rd = realpath(dir, NULL)) &&
        (rp = realpath(path, NULL))) {
        size_t n = strlen(rd);
        yes = strncmp(rp, rd, n) == 0 && rp[n] == '/' && !strchr(rp + n + 1, '/') &&
              strlen(rp) < n_real;
        if (yes) memcpy(real, rp, strlen(rp) + 1);
    }
    free(rd);
    free(rp);
    return yes;
}

/* A waPC module on the prebuilt artifact an actor names (opts.artifact):
 * from the cache as it is, from anywhere else only signed by an allowed
 * signer. *how says which. */
static corral_status_t artifact_module(corral_host_t *h, const uint8_t *wasm, size_t len, const char *hash,
                                       const char *artifact, corral_wapc_module_t **out,
                                       const char **how, corral_err_t *err) {
    corral_aot_trust_t t = {0};
    char real[4096];
    t.require_signed = !in_aot_cache(artifact, real, sizeof real);
    t.from_cache = !t.require_signed;
    if (!t.require_signed) artifact = real;
    t.signers = (const char *const *)h->aot_signers;
    t.nsigners = h->n_aot_signers;
    *how = t.require_signed ? "signed by an allowed signer" : "in the host's cache";
    corral_vm_module_t *vm = NULL;
    corral_status_t st = corral_aot_vm_module_new_trusted(wasm, len, hash, artifact, &t, &vm, err);
    if (st != CORRAL_OK) return st;
    return corral_wapc_module_new_vm(vm, out, err);
}

typedef struct aot_bg {
    corral_host_t *h;
    actor_core_t *core;
    actor_ver_t *ver; /* the version being compiled: no swap after an update */
    uint8_t *wasm;
    size_t len;
} aot_bg_t;

static void *aot_bg_main(void *arg) {
    aot_bg_t *b = arg;
    actor_core_t *c = b->core;
    corral_err_t err;
    corral_err_clear(&err);
    corral_wapc_module_t *mod = NULL;
    corral_status_t st = atomic_load(&b->h->state) == 1
                             ? aot_module(b->wasm, b->len, NULL, c->key, 1, &mod, &err)
                             : corral_err_set(&err, CORRAL_ERR_STATE, "host is stopping");
    if (st == CORRAL_OK) {
        pthread_mutex_lock(&b->h->ctl);
        if (atomic_load(&b->h->state) != 1 || atomic_load(&c->cur) != b->ver)
            st = corral_err_set(&err, CORRAL_ERR_STATE, "actor was stopped or updated meanwhile");
        else if ((st = corral_wapc_pool_replace(c->pool, mod, &err)) == CORRAL_OK)
            atomic_store(&c->native, 1);
        pthread_mutex_unlock(&b->h->ctl);
    }
    if (st == CORRAL_OK)
        corral_log(CORRAL_LOG_INFO, "host", "actor %s: now running on native code (live swap)", c->key);
    else
        corral_log(CORRAL_LOG_WARN, "host", "actor %s: stays on the interpreter: %s", c->key,
                   corral_err_msg(&err));
    corral_wapc_module_free(mod);
    actor_ver_release(b->ver);
    core_release(c);
    corral_free(b->wasm);
    atomic_fetch_sub(&b->h->aot_bg, 1);
    corral_free(b);
    return NULL;
}

/* Starts the background compile of an actor that started on the
 * interpreter (engine AUTO). Failure to start it is only logged. */
static void aot_bg_start(corral_host_t *h, actor_core_t *c, actor_ver_t *ver, const uint8_t *wasm,
                         size_t len) {
    aot_bg_t *b = corral_calloc(1, sizeof *b);
    uint8_t *copy = corral_malloc(len ? len : 1);
    if (!b || !copy) {
        corral_free(b);
        corral_free(copy);
        corral_log(CORRAL_LOG_WARN, "host", "actor %s: stays on the interpreter: out of memory", c->key);
        return;
    }
    memcpy(copy, wasm, len);
    b->h = h;
    b->core = c;
    b->ver = ver;
    b->wasm = copy;
    b->len = len;
    atomic_fetch_add(&c->refs, 1);
    actor_ver_retain(ver);
    atomic_fetch_add(&h->aot_bg, 1);
    pthread_attr_t a;
    pthread_t t;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &a, aot_bg_main, b);
    pthread_attr_destroy(&a);
    if (rc != 0) {
        atomic_fetch_sub(&h->aot_bg, 1);
        actor_ver_release(ver);
        core_release(c);
        corral_free(copy);
        corral_free(b);
        corral_log(CORRAL_LOG_WARN, "host", "actor %s: stays on the interpreter: no thread for the compile",
                   c->key);
        return;
    }
    corral_log(CORRAL_LOG_INFO, "host", "actor %s: started on the interpreter; compiling to native code in the "
               "background", c->key);
}
#endif

/* The waPC module for an actor on the chosen engine; *bg is set when AUTO
 * wants a background compile, *native when the module runs native code.
 * Native-code failures fall back to the interpreter with one log line.
 * hash: the module hash when verified claims carry it (else NULL). */
static corral_status_t module_for_engine(corral_host_t *h, corral_host_engine_t e,
                                         const char *artifact, const uint8_t *wasm, size_t len,
                                         const char *hash, const char *key, corral_wapc_module_t **out,
                                         int *bg, int *native, corral_err_t *err) {
    *bg = 0;
    *native = 0;
    if (artifact && e == CORRAL_HOST_ENGINE_INTERP) {
        corral_log(CORRAL_LOG_WARN, "host", "actor %s: artifact %s not used: the engine is interp", key,
                   artifact);
        artifact = NULL;
    }
#ifdef CORRAL_HOST_HAVE_AOT
    if (artifact) {
        corral_err_t why;
        const char *how = "";
        corral_err_clear(&why);
        if (artifact_module(h, wasm, len, hash, artifact, out, &how, &why) == CORRAL_OK) {
            corral_log(CORRAL_LOG_INFO, "host", "actor %s: running on native code (artifact %s, %s)", key,
                       artifact, how);
            *native = 1;
            return CORRAL_OK;
        }
        corral_log(CORRAL_LOG_WARN, "host", "actor %s: native code not used (%s): running on the interpreter",
                   key, corral_err_msg(&why));
        return corral_wapc_module_new(wasm, len, out, err);
    }
    if (e == CORRAL_HOST_ENGINE_AOT || e == CORRAL_HOST_ENGINE_AUTO) {
        corral_err_t why;
        corral_err_clear(&why);
        if (aot_module(wasm, len, hash, key, e == CORRAL_HOST_ENGINE_AOT, out, &why) == CORRAL_OK) {
            corral_log(CORRAL_LOG_INFO, "host", "actor %s: running on native code (cached artifact)", key);
            *native = 1;
            return CORRAL_OK;
        }
        if (e == CORRAL_HOST_ENGINE_AUTO && why.status == CORRAL_ERR_NOT_FOUND)
            *bg = 1;
        else
            corral_log(CORRAL_LOG_WARN, "host", "actor %s: native code not used (%s): running on the "
                       "interpreter", key, corral_err_msg(&why));
    }
#else
    (void)h;
    if (e == CORRAL_HOST_ENGINE_AOT || e == CORRAL_HOST_ENGINE_AUTO)
        corral_log(CORRAL_LOG_WARN, "host", "actor %s: this build has no AOT tier: running on the interpreter",
                   key);
#endif
    return corral_wapc_module_new(wasm, len, out, err);
}

/* ---- start ------------------------------------------------------------------------------------- */

corral_status_t corral_host_actor_start(corral_host_t *h, const uint8_t *wasm, size_t len,
                                        const corral_host_actor_opts_t *opts,
                                        corral_host_actor_info_t *out, corral_err_t *err) {
    corral_claims_t *claims = NULL;
    corral_wapc_module_t *mod = NULL;
    actor_core_t *core = NULL;
    actor_ver_t *ver = NULL;
    actor_entry_t *ent = NULL;
    int is_unsigned = 0, locked = 0;
    corral_status_t st;

    if (!wasm && len) return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "actor module is NULL");
    if ((st = verify(h, wasm, len, opts && opts->allow_unsigned, &claims, &is_unsigned, err)) !=
        CORRAL_OK)
        return st;
    int want_bg = 0, native = 0;
    /* signed: the claims' hash is the module's (verify compared them) */
    if ((st = module_for_engine(h, engine_of(h, opts), opts ? opts->artifact : NULL, wasm, len,
                                is_unsigned ? NULL : claims->hash, claims->sub, &mod, &want_bg, &native,
                                err)) != CORRAL_OK) {
        corral_err_wrap(err, "actor %s (%s) is not a usable waPC module", claims->sub,
                        claims->name ? claims->name : "");
        goto fail;
    }
    core = corral_calloc(1, sizeof *core);
    ver = corral_calloc(1, sizeof *ver);
    ent = corral_calloc(1, sizeof *ent);
    if (!core || !ver || !ent) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory starting actor %s", claims->sub);
        goto fail;
    }
    atomic_init(&core->refs, 1); /* the version's */
    host_strlcpy(core->key, claims->sub, sizeof core->key);
    core->host = h;
    core->limits = merge_limits(h, opts ? &opts->limits : NULL);
    atomic_init(&core->native, native);
    core->engine = engine_of(h, opts);
    pthread_mutex_init(&core->health_mu, NULL);
    atomic_init(&ver->refs, 1); /* the master list's */
    ver->core = core;
    ver->claims = claims;
    ver->unsigned_ = is_unsigned;
    claims = NULL;
    core = NULL; /* owned by ver now */
    actor_core_t *c = ver->core;
    actor_ver_retain(ver);
    atomic_store(&c->cur, ver); /* so host calls made by its init functions see its claims */

    pthread_mutex_lock(&h->ctl);
    locked = 1;
    if (!host_running(h, err)) {
        st = CORRAL_ERR_STATE;
        goto fail_cur;
    }
    actor_entry_t *dup = host_find_actor_entry(h, c->key);
    if (dup && strcmp(dup->ver->core->key, c->key) == 0) {
        st = corral_err_set(err, CORRAL_ERR_EXISTS,
                            "actor %s (%s) is already running: use update to replace it", c->key,
                            actor_name(ver));
        goto fail_cur;
    }
    if (alias_taken(h, ver->claims->call_alias, c->key)) {
        st = corral_err_set(err, CORRAL_ERR_EXISTS,
                            "actor %s (%s): call alias '%s' is already used by another running "
                            "actor",
                            c->key, actor_name(ver), ver->claims->call_alias);
        goto fail_cur;
    }
    corral_wapc_config_t wc = {0};
    wc.limits.deadline_ns = c->limits.deadline_ms * 1000000ull;
    wc.limits.fuel = c->limits.fuel;
    wc.limits.max_pages = c->limits.max_pages;
    wc.max_instances = c->limits.max_instances;
    wc.host_call = host_dispatch;
    wc.log = actor_log;
    wc.user = c;
    if ((st = corral_wapc_pool_new(mod, &wc, &c->pool, err)) != CORRAL_OK) {
        corral_err_wrap(err, "actor %s (%s) did not start", c->key, actor_name(ver));
        goto fail_cur;
    }
    corral_wapc_module_free(mod);
    mod = NULL;
    ent->ver = ver;
    ent->next = h->actors;
    h->actors = ent;
    ent = NULL;
    host_apply_actor_links(h, ver);
#ifdef CORRAL_HOST_HAVE_AOT
    if (want_bg) aot_bg_start(h, c, ver, wasm, len);
#else
    (void)want_bg;
#endif
    if ((st = host_publish(h, err)) != CORRAL_OK) {
        /* undo: take it out again */
        host_unapply_actor_links(h, c->key);
        actor_entry_t *e = h->actors;
        h->actors = e->next;
        corral_free(e);
        goto fail_cur;
    }
    if (out) {
        host_strlcpy(out->key, c->key, sizeof out->key);
        host_strlcpy(out->name, ver->claims->name ? ver->claims->name : "", sizeof out->name);
        out->rev = ver->claims->rev;
    }
    CORRAL_LOG_INFO_(HOST_COMPONENT, "actor %s (%s) rev %lld started%s", c->key, actor_name(ver),
                     (long long)ver->claims->rev, is_unsigned ? " (unsigned)" : "");
    char started_key[CORRAL_HOST_KEY_LEN];
    host_strlcpy(started_key, c->key, sizeof started_key);
    pthread_mutex_unlock(&h->ctl);
    const corral_host_remote_t *rm = host_remote(h);
    if (rm) rm->actor_changed(rm->ctx, started_key, 1);
    host_event(h, "actor_started", "public_key", started_key, NULL);
    return CORRAL_OK;

fail_cur:
    /* no snapshot ever held it: drop the cur reference directly */
    actor_ver_release(atomic_exchange(&c->cur, NULL));
fail:
    if (locked) pthread_mutex_unlock(&h->ctl);
    corral_wapc_module_free(mod);
    corral_claims_free(claims);
    corral_free(core);
    if (ver && ver->core)
        actor_ver_release(ver);
    else
        corral_free(ver);
    corral_free(ent);
    return st;
}

corral_status_t corral_host_actor_start_file(corral_host_t *h, const char *path,
                                             const corral_host_actor_opts_t *opts,
                                             corral_host_actor_info_t *out, corral_err_t *err) {
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_status_t st = corral_file_read(path, 0, &b, err);
    if (st == CORRAL_OK) {
        st = corral_host_actor_start(h, b.data, b.len, opts, out, err);
        if (st != CORRAL_OK) corral_err_wrap(err, "%s", path);
    }
    corral_buf_free(&b);
    return st;
}

/* ---- stop -------------------------------------------------------------------------------------- */

/* Takes the entry out of the master list (under h->ctl), publishes, unlinks,
 * drains and releases. */
static void stop_entry(corral_host_t *h, actor_entry_t *ent) {
    actor_entry_t **pp = &h->actors;
    while (*pp && *pp != ent) pp = &(*pp)->next;
    if (*pp) *pp = ent->next;
    actor_ver_t *v = ent->ver;
    actor_core_t *c = v->core;
    atomic_store(&c->stopping, 1);
    host_unapply_actor_links(h, c->key);
    (void)host_publish(h, NULL); /* on failure the next publish drops it */
    host_wait_count(&c->inflight, 0);
    actor_ver_t *cur = atomic_exchange(&c->cur, NULL);
    /* dispatch readers of cur pin the snapshot while retaining it: the
     * publish's grace period (which runs even when it fails) covers them */
    (void)host_publish(h, NULL);
    actor_ver_release(cur);
    CORRAL_LOG_INFO_(HOST_COMPONENT, "actor %s (%s) stopped", c->key, actor_name(v));
    actor_ver_release(v);
    corral_free(ent);
}

corral_status_t corral_host_actor_stop(corral_host_t *h, const char *actor,
                                       char key_out[CORRAL_HOST_KEY_LEN], corral_err_t *err) {
    if (!actor) return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "stop actor: actor is required");
    pthread_mutex_lock(&h->ctl);
    corral_status_t st = CORRAL_OK;
    if (!host_running(h, err)) {
        st = CORRAL_ERR_STATE;
        goto out;
    }
    actor_entry_t *ent = host_find_actor_entry(h, actor);
    if (!ent) {
        st = no_actor(err, actor);
        goto out;
    }
    if (key_out) host_strlcpy(key_out, ent->ver->core->key, CORRAL_HOST_KEY_LEN);
    char stopped_key[CORRAL_HOST_KEY_LEN];
    host_strlcpy(stopped_key, ent->ver->core->key, sizeof stopped_key);
    stop_entry(h, ent);
    pthread_mutex_unlock(&h->ctl);
    const corral_host_remote_t *rm = host_remote(h);
    if (rm) rm->actor_changed(rm->ctx, stopped_key, 0);
    host_event(h, "actor_stopped", "public_key", stopped_key, NULL);
    return st;
out:
    pthread_mutex_unlock(&h->ctl);
    return st;
}

void host_stop_all_actors(corral_host_t *h) {
    while (h->actors) stop_entry(h, h->actors);
}

/* ---- update ------------------------------------------------------------------------------------ */

corral_status_t corral_host_actor_update(corral_host_t *h, const char *actor, const uint8_t *wasm,
                                         size_t len, corral_host_update_result_t *out,
                                         corral_err_t *err) {
    corral_claims_t *claims = NULL;
    corral_wapc_module_t *mod = NULL;
    actor_ver_t *nv = NULL;
    int is_unsigned = 0, caps_changed = 0, want_bg = 0, native = 0;
    corral_status_t st;
    if (!actor) return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "update actor: actor is required");
    if ((st = verify(h, wasm, len, 0, &claims, &is_unsigned, err)) != CORRAL_OK) {
        corral_err_wrap(err, "update of %s refused", actor);
        return st;
    }
    /* The new module is built before the control lock is taken, on the tier the
     * actor was started with (an AOT compile can take seconds); the checks run
     * under the lock, after it. */
    pthread_mutex_lock(&h->ctl);
    actor_entry_t *ent = host_find_actor_entry(h, actor);
    if (!ent) {
        st = no_actor(err, actor);
        goto fail;
    }
    corral_host_engine_t engine = ent->ver->core->engine;
    pthread_mutex_unlock(&h->ctl);
    if ((st = module_for_engine(h, engine, NULL, wasm, len, is_unsigned ? NULL : claims->hash,
                                claims->sub ? claims->sub : actor, &mod, &want_bg, &native, err)) != CORRAL_OK) {
        corral_err_wrap(err, "update of %s refused: the new module is not a usable waPC module",
                        actor);
        pthread_mutex_lock(&h->ctl);
        goto fail;
    }
    pthread_mutex_lock(&h->ctl);
    if (!host_running(h, err)) {
        st = CORRAL_ERR_STATE;
        goto fail;
    }
    ent = host_find_actor_entry(h, actor);
    if (!ent) {
        st = no_actor(err, actor);
        goto fail;
    }
    actor_ver_t *old = ent->ver;
    actor_core_t *c = old->core;
    corral_err_t e;
    corral_err_clear(&e);
    if (corral_claims_check_update(old->claims, claims, &caps_changed, &e) != CORRAL_OK) {
        st = corral_err_set(err, CORRAL_ERR_UPDATE_REFUSED,
                            "%s (running: %s rev %lld; new module: %s rev %lld). A live update "
                            "must keep the module key and raise the revision: re-sign with the "
                            "same module seed and a higher --rev",
                            corral_err_msg(&e), c->key, (long long)old->claims->rev,
                            claims->sub ? claims->sub : "(none)", (long long)claims->rev);
        goto fail;
    }
    if (alias_taken(h, claims->call_alias, c->key)) {
        st = corral_err_set(err, CORRAL_ERR_EXISTS,
                            "update of %s refused: call alias '%s' is used by another running "
                            "actor",
                            c->key, claims->call_alias);
        goto fail;
    }
    nv = corral_calloc(1, sizeof *nv);
    if (!nv) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory updating actor %s", c->key);
        goto fail;
    }
    if ((st = corral_wapc_pool_replace(c->pool, mod, err)) != CORRAL_OK) {
        corral_err_wrap(err, "update of %s failed (the old version keeps running)", c->key);
        goto fail;
    }
    atomic_store(&c->native, native);
    corral_wapc_module_free(mod);
    mod = NULL;
    atomic_init(&nv->refs, 1);
    atomic_fetch_add(&c->refs, 1);
    nv->core = c;
    nv->claims = claims;
    nv->unsigned_ = is_unsigned;
    claims = NULL;
    ent->ver = nv;
    actor_ver_retain(nv);
    actor_ver_t *old_cur = atomic_exchange(&c->cur, nv);
    host_apply_actor_links(h, nv); /* the links carry the claims: re-send them */
#ifdef CORRAL_HOST_HAVE_AOT
    if (want_bg) aot_bg_start(h, c, nv, wasm, len); /* AUTO: native again once compiled */
#endif
    (void)host_publish(h, NULL);
    corral_wapc_pool_stats_t ps;
    corral_wapc_pool_stats(c->pool, &ps);
    if (out) {
        host_strlcpy(out->key, c->key, sizeof out->key);
        out->old_rev = old->claims->rev;
        out->new_rev = nv->claims->rev;
        out->swap_pause_us = (ps.last_swap_pause_ns + 999) / 1000; /* rounded up */
        out->caps_changed = caps_changed;
    }
    if (caps_changed) {
        char a[512], b[512];
        corral_claims_caps_str(old->claims, a, sizeof a);
        corral_claims_caps_str(nv->claims, b, sizeof b);
        CORRAL_LOG_WARN_(HOST_COMPONENT, "actor %s capabilities changed by update: [%s] -> [%s]",
                         c->key, a, b);
    }
    CORRAL_LOG_INFO_(HOST_COMPONENT, "actor %s (%s) updated rev %lld -> %lld (swap pause %llu us)",
                     c->key, actor_name(nv), (long long)old->claims->rev,
                     (long long)nv->claims->rev, (unsigned long long)(ps.last_swap_pause_ns / 1000));
    actor_ver_release(old_cur);
    actor_ver_release(old);
    char updated_key[CORRAL_HOST_KEY_LEN];
    host_strlcpy(updated_key, c->key, sizeof updated_key);
    pthread_mutex_unlock(&h->ctl);
    const corral_host_remote_t *rm = host_remote(h);
    if (rm) rm->actor_changed(rm->ctx, updated_key, 1); /* a new revision runs */
    host_event(h, "actor_updated", "public_key", updated_key, NULL);
    return CORRAL_OK;
fail:
    pthread_mutex_unlock(&h->ctl);
    corral_wapc_module_free(mod);
    corral_claims_free(claims);
    corral_free(nv);
    return st;
}

corral_status_t corral_host_actor_update_file(corral_host_t *h, const char *actor,
                                              const char *path, corral_host_update_result_t *out,
                                              corral_err_t *err) {
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_status_t st = corral_file_read(path, 0, &b, err);
    if (st == CORRAL_OK) {
        st = corral_host_actor_update(h, actor, b.data, b.len, out, err);
        if (st != CORRAL_OK) corral_err_wrap(err, "%s", path);
    }
    corral_buf_free(&b);
    return st;
}

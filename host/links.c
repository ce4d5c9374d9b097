/*
 * links.c - providers, links and the dispatch of actor host calls.
 *
 * Providers start by registry name or from a shared object, each with a host
 * services table of its own (alloc/free, log, data_dir, call_actor,
 * call_actor_async). Links (actor key, contract id, link name) -> values are
 * kept even while the actor or the provider is missing, and applied (the
 * provider's link() with the actor's claims added) when both are there.
 * host_dispatch is the waPC host-call handler: module key, then call alias,
 * then a contract id the actor claims and has a link for (docs/contracts.md).
 */
#include <stdio.h>
#include <string.h>

#include "host_int.h"

/* ---- references ------------------------------------------------------------------- */

void prov_retain(prov_t *p) {
    atomic_fetch_add(&p->refs, 1);
}

void prov_release(prov_t *p) {
    if (p && atomic_fetch_sub(&p->refs, 1) == 1) corral_free(p);
}

static const char *link_name_or_default(const char *n) {
    return n && *n ? n : "default";
}

/* Does the actor's claims list contract `ns` (either spelling)? */
static int claims_cap(const corral_claims_t *c, const char *ns) {
    const char *canon = host_contract_canonical(ns);
    for (size_t i = 0; c && i < c->ncaps; i++)
        if (strcmp(c->caps[i], ns) == 0 || strcmp(host_contract_canonical(c->caps[i]), canon) == 0)
            return 1;
    return 0;
}

/* ---- link values ----------------------------------------------------------------------- */

/* The values a provider's link() gets: the link's own plus the actor's
 * claims. Strings are owned by `store`. */
typedef struct link_values {
    corral_provider_kv_t *kv;
    size_t n;
    char *joined[3]; /* caps, tags, expires */
} link_values_t;

static void link_values_free(link_values_t *lv) {
    corral_free(lv->kv);
    for (int i = 0; i < 3; i++) corral_free(lv->joined[i]);
}

static char *join(char **v, size_t n) {
    corral_buf_t b = CORRAL_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        if ((i && corral_buf_append_str(&b, ",") != CORRAL_OK) ||
            corral_buf_append_str(&b, v[i]) != CORRAL_OK)
            goto fail;
    if (corral_buf_append(&b, "", 1) != CORRAL_OK) goto fail;
    return (char *)b.data;
fail:
    corral_buf_free(&b);
    return NULL;
}

/* contracts.md: the actor's claims go to the provider with every link, as
 * these values (in the order of corral_host_remote_t.actor_claims). */
static void claim_values_add(corral_provider_kv_t *kv, size_t *n, const char *const v[5]) {
    static const char *const keys[5] = {"__wasmcloud_issuer", "__wasmcloud_capabilities",
                                        "__wasmcloud_name", "__wasmcloud_expires",
                                        "__wasmcloud_tags"};
    for (int i = 0; i < 5; i++) kv[(*n)++] = (corral_provider_kv_t){keys[i], v[i]};
}

static corral_status_t link_values_build(const corral_host_kv_t *values, size_t n,
                                         const actor_ver_t *v, link_values_t *lv,
                                         corral_err_t *err) {
    memset(lv, 0, sizeof *lv);
    const corral_claims_t *c = v->claims;
    lv->kv = corral_calloc(n + 5, sizeof *lv->kv);
    lv->joined[0] = join(c->caps, c->ncaps);
    lv->joined[1] = join(c->tags, c->ntags);
    lv->joined[2] = corral_malloc(24);
    if (!lv->kv || !lv->joined[0] || !lv->joined[1] || !lv->joined[2]) {
        link_values_free(lv);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory building link values");
    }
    snprintf(lv->joined[2], 24, "%lld", c->has_exp ? (long long)c->exp : 0LL);
    for (size_t i = 0; i < n; i++) {
        lv->kv[lv->n].key = values[i].key;
        lv->kv[lv->n++].value = values[i].value;
    }
    const char *cv[5] = {c->iss ? c->iss : "", lv->joined[0], c->name ? c->name : "",
                         lv->joined[2], lv->joined[1]};
    claim_values_add(lv->kv, &lv->n, cv);
    return CORRAL_OK;
}

static corral_status_t prov_link(prov_t *p, const actor_ver_t *v, const char *link_name,
                                 const corral_host_kv_t *values, size_t n, corral_err_t *err) {
    link_values_t lv;
    corral_status_t st = link_values_build(values, n, v, &lv, err);
    if (st != CORRAL_OK) return st;
    st = p->p->link(p->inst, v->core->key, link_name, lv.kv, lv.n, err);
    link_values_free(&lv);
    if (st != CORRAL_OK)
        corral_err_wrap(err, "provider %s (%s) refused the link of actor %s (link %s)", p->name,
                        p->key, v->core->key, link_name);
    return st;
}

/* Links an actor that runs on another host of the lattice: its claims are
 * not here, so the __wasmcloud_* values come from the lattice's copy of them
 * (remote->actor_claims); while it has none, only the link's own values go
 * to the provider (the lattice links again when the claims arrive). */
static corral_status_t prov_link_remote(corral_host_t *h, prov_t *p, const char *actor_key,
                                        const char *link_name, const corral_host_kv_t *values,
                                        size_t n, corral_err_t *err) {
    corral_provider_kv_t *kv = corral_calloc(n + 5, sizeof *kv);
    if (!kv) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory building link values");
    size_t nkv = 0;
    for (; nkv < n; nkv++) kv[nkv] = (corral_provider_kv_t){values[nkv].key, values[nkv].value};
    const corral_host_remote_t *rm = host_remote(h);
    const char *cv[5];
    char buf[4096];
    if (rm && rm->actor_claims && rm->actor_claims(rm->ctx, actor_key, cv, buf, sizeof buf))
        claim_values_add(kv, &nkv, cv);
    corral_status_t st = p->p->link(p->inst, actor_key, link_name, kv, nkv, err);
    corral_free(kv);
    if (st != CORRAL_OK)
        corral_err_wrap(err, "provider %s (%s) refused the link of remote actor %s (link %s)",
                        p->name, p->key, actor_key, link_name);
    return st;
}

/* ---- master-list helpers (under h->ctl) ------------------------------------------------- */

static prov_t *find_prov(corral_host_t *h, const char *contract, const char *link_name) {
    for (prov_entry_t *e = h->provs; e; e = e->next)
        if (strcmp(e->prov->contract_id, contract) == 0 &&
            strcmp(e->prov->link_name, link_name) == 0)
            return e->prov;
    return NULL;
}

static link_t *find_link(corral_host_t *h, const char *actor, const char *contract,
                         const char *link_name) {
    for (link_t *l = h->links; l; l = l->next)
        if (strcmp(l->actor, actor) == 0 && strcmp(l->contract_id, contract) == 0 &&
            strcmp(l->link_name, link_name) == 0)
            return l;
    return NULL;
}

static void link_free(link_t *l) {
    if (!l) return;
    for (size_t i = 0; i < l->nvalues; i++) {
        corral_free((char *)l->values[i].key);
        corral_free((char *)l->values[i].value);
    }
    corral_free(l->values);
    corral_free(l);
}

static void unlink_from_list(corral_host_t *h, link_t *l) {
    for (link_t **pp = &h->links; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            return;
        }
}

void host_free_links(corral_host_t *h) {
    while (h->links) {
        link_t *l = h->links;
        h->links = l->next;
        link_free(l);
    }
}

void host_apply_actor_links(corral_host_t *h, actor_ver_t *v) {
    for (link_t *l = h->links; l; l = l->next) {
        if (strcmp(l->actor, v->core->key) != 0) continue;
        prov_t *p = find_prov(h, l->contract_id, l->link_name);
        if (!p) continue;
        corral_err_t e;
        corral_err_clear(&e);
        if (prov_link(p, v, l->link_name, l->values, l->nvalues, &e) == CORRAL_OK)
            l->applied = p;
        else
            CORRAL_LOG_WARN_(HOST_COMPONENT, "%s; the link is kept and retried when the "
                             "provider or the actor restarts", corral_err_msg(&e));
    }
    /* implicit links to the built-ins the actor claims */
    for (prov_entry_t *e = h->provs; e; e = e->next) {
        prov_t *p = e->prov;
        if (!p->builtin || !claims_cap(v->claims, p->contract_id)) continue;
        if (find_link(h, v->core->key, p->contract_id, p->link_name)) continue;
        corral_err_t er;
        corral_err_clear(&er);
        if (prov_link(p, v, p->link_name, NULL, 0, &er) != CORRAL_OK)
            CORRAL_LOG_WARN_(HOST_COMPONENT, "%s", corral_err_msg(&er));
    }
}

void host_unapply_actor_links(corral_host_t *h, const char *key) {
    int remote = host_remote(h) != NULL;
    for (link_t *l = h->links; l; l = l->next) {
        if (strcmp(l->actor, key) != 0 || !l->applied) continue;
        /* In a lattice the actor may run on other hosts, which still call
         * this provider: keep the link, in its remote form (the lattice's
         * copy of the claims). */
        if (remote && prov_link_remote(h, l->applied, key, l->link_name, l->values, l->nvalues,
                                       NULL) == CORRAL_OK)
            continue;
        l->applied->p->unlink(l->applied->inst, key, l->link_name);
        l->applied = NULL;
    }
    for (prov_entry_t *e = h->provs; e; e = e->next)
        if (e->prov->builtin) e->prov->p->unlink(e->prov->inst, key, e->prov->link_name);
}

/* ---- provider services -------------------------------------------------------------------- */

static void svc_log(void *ctx, corral_log_level_t level, const char *component, const char *msg) {
    prov_t *p = ctx;
    corral_log(level, component && *component ? component : "provider", "%s: %s", p->name,
               msg ? msg : "");
}

/* Finds the link (actor, this provider's contract, link name) served by p
 * and retains the actor. Pins the snapshot only for the lookup. */
static actor_ver_t *prov_find_target(prov_t *p, const char *actor_key, const char *link_name,
                                     corral_err_t *err) {
    corral_host_t *h = p->host;
    int slot;
    snap_t *s = host_snap_pin(h, &slot);
    actor_ver_t *v = snap_find_actor(s, actor_key);
    int linked = 0;
    for (size_t i = 0; v && i < s->nlinks && !linked; i++) {
        const snap_link_t *l = &s->links[i];
        linked = l->prov == p && strcmp(l->actor, v->core->key) == 0 &&
                 strcmp(l->link_name, link_name) == 0;
    }
    if (v && linked) actor_ver_retain(v);
    host_snap_unpin(h, slot);
    if (!v) {
        corral_err_set(err, CORRAL_ERR_NO_ACTOR,
                       "provider %s: no actor %s is running on this host", p->name,
                       actor_key ? actor_key : "");
        return NULL;
    }
    if (!linked) {
        corral_err_set(err, CORRAL_ERR_NO_LINK,
                       "provider %s: actor %s is not linked to it (contract %s, link %s)",
                       p->name, actor_key, p->contract_id, link_name);
        return NULL;
    }
    return v;
}

static corral_status_t svc_call_actor(void *ctx, const char *actor_key, const char *link_name,
                                      const char *operation, const uint8_t *payload, size_t len,
                                      corral_provider_bytes_t *resp, corral_err_t *err) {
    prov_t *p = ctx;
    corral_host_t *h = p->host;
    resp->data = NULL;
    resp->len = 0;
    if (!operation || !actor_key)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "call_actor: actor and operation needed");
    corral_status_t st = host_enter(h, err);
    if (st != CORRAL_OK) return st;
    corral_err_t e;
    corral_err_clear(&e);
    actor_ver_t *v = prov_find_target(p, actor_key, link_name_or_default(link_name), &e);
    const corral_host_remote_t *rm = host_remote(h);
    if (!v && e.status == CORRAL_ERR_NO_ACTOR && rm) {
        corral_buf_t rb = CORRAL_BUF_INIT;
        st = rm->call(rm->ctx, p->key, p->contract_id, link_name_or_default(link_name), actor_key,
                      NULL, NULL, operation, payload, len, 0, &rb, err);
        if (st == CORRAL_OK) resp->data = corral_buf_take(&rb, &resp->len);
        corral_buf_free(&rb);
        host_leave(h);
        return st;
    }
    if (!v) {
        if (err) *err = e;
        host_leave(h);
        return e.status ? e.status : CORRAL_ERR_NO_LINK;
    }
    corral_buf_t b = CORRAL_BUF_INIT;
    st = actor_call(v, operation, strlen(operation), payload, len, &b, err);
    if (st == CORRAL_OK) resp->data = corral_buf_take(&b, &resp->len);
    corral_buf_free(&b);
    actor_ver_release(v);
    host_leave(h);
    return st;
}

void host_job_free(job_t *j) {
    if (!j) return;
    prov_release(j->prov);
    corral_free(j->link_name);
    corral_free(j->op);
    corral_free(j->payload);
    corral_free(j);
}

static corral_status_t svc_call_actor_async(void *ctx, const char *actor_key,
                                            const char *link_name, const char *operation,
                                            const uint8_t *payload, size_t len,
                                            uint32_t timeout_ms, corral_provider_reply_fn done,
                                            void *done_user, corral_err_t *err) {
    prov_t *p = ctx;
    corral_host_t *h = p->host;
    if (!operation || !actor_key || !done)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "call_actor_async: actor, operation and done are required");
    corral_status_t st = host_enter(h, err);
    if (st != CORRAL_OK) return st;
    prov_retain(p);
    if (atomic_load(&p->stopping)) {
        prov_release(p);
        host_leave(h);
        return corral_err_set(err, CORRAL_ERR_STATE, "provider %s is stopping", p->name);
    }
    const char *ln = link_name_or_default(link_name);
    corral_err_t e;
    corral_err_clear(&e);
    actor_ver_t *v = prov_find_target(p, actor_key, ln, &e);
    int remote = !v && e.status == CORRAL_ERR_NO_ACTOR && host_remote(h);
    if (!v && !remote) {
        if (err) *err = e;
        prov_release(p);
        host_leave(h);
        return e.status ? e.status : CORRAL_ERR_NO_LINK;
    }
    actor_ver_release(v);
    job_t *j = corral_calloc(1, sizeof *j);
    if (!j) {
        prov_release(p);
        host_leave(h);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory queuing a call to %s",
                              actor_key);
    }
    j->prov = p; /* the reference taken above */
    host_strlcpy(j->actor, actor_key, sizeof j->actor);
    j->link_name = corral_strdup(ln);
    j->op = corral_strdup(operation);
    j->payload = len ? corral_malloc(len) : NULL;
    j->len = len;
    j->enqueued_ns = corral_now_ns();
    j->timeout_ns = (uint64_t)(timeout_ms ? timeout_ms : 30000) * 1000000ull;
    j->done = done;
    j->done_user = done_user;
    j->remote = remote;
    if (!j->link_name || !j->op || (len && !j->payload)) {
        host_job_free(j);
        host_leave(h);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory queuing a call to %s",
                              actor_key);
    }
    if (len) memcpy(j->payload, payload, len);
    st = host_queue_job(h, j, err);
    if (st != CORRAL_OK) host_job_free(j);
    host_leave(h);
    return st;
}

void host_run_job(corral_host_t *h, job_t *j) {
    corral_err_t e;
    corral_err_clear(&e);
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_status_t st;
    /* an HTTP request's traceparent header continues in the actor call (or
     * in the lattice invocation: corral_host_traceparent) */
    if (strcmp(j->op, "HandleRequest") == 0 &&
        strcmp(j->prov->contract_id, "wasmcloud:httpserver") == 0)
        host_trace_from_http_request(j->payload, j->len);
    if (corral_now_ns() - j->enqueued_ns > j->timeout_ns) {
        st = corral_err_set(&e, CORRAL_ERR_TIMEOUT,
                            "call to actor %s waited longer than its timeout for a worker",
                            j->actor);
    } else if (j->remote && host_remote(h)) {
        const corral_host_remote_t *rm = host_remote(h);
        uint64_t left = (j->timeout_ns - (corral_now_ns() - j->enqueued_ns)) / 1000000ull;
        st = rm->call(rm->ctx, j->prov->key, j->prov->contract_id, j->link_name, j->actor, NULL,
                      NULL, j->op, j->payload, j->len, left ? (uint32_t)left : 1, &b, &e);
    } else if ((st = host_enter(h, &e)) == CORRAL_OK) {
        actor_ver_t *v = prov_find_target(j->prov, j->actor, j->link_name, &e);
        st = v ? actor_call(v, j->op, strlen(j->op), j->payload, j->len, &b, &e) : e.status;
        actor_ver_release(v);
        host_leave(h);
    }
    host_trace_set_incoming(NULL, 0);
    if (st == CORRAL_OK)
        j->done(j->done_user, st, b.data, b.len, NULL);
    else
        j->done(j->done_user, st, NULL, 0, &e);
    corral_buf_free(&b);
}

/* ---- providers ------------------------------------------------------------------------------- */

static void stop_prov_entry(corral_host_t *h, prov_entry_t *ent);

static void known_providers(char *out, size_t n) {
    size_t off = 0;
    out[0] = 0;
    for (size_t i = 0;; i++) {
        const corral_provider_t *p = corral_provider_builtin_at(i);
        if (!p) break;
        corral_provider_info_t info = {0};
        p->describe(&info);
        int w = snprintf(out + off, n - off, "%s%s", i ? ", " : "", info.name);
        if (w < 0 || (size_t)w >= n - off) break;
        off += (size_t)w;
    }
}

static int host_is_running(corral_host_t *h, corral_err_t *err) {
    int s = atomic_load(&h->state);
    if (s == 1) return 1;
    corral_err_set(err, CORRAL_ERR_STATE,
                   s == 0 ? "host is not started: call corral_host_start first"
                          : "host is stopping: no changes are accepted");
    return 0;
}

corral_status_t host_provider_start(corral_host_t *h, const corral_host_provider_opts_t *opts,
                                    int builtin, corral_host_provider_info_t *out,
                                    corral_err_t *err) {
    const corral_provider_t *tab = NULL;
    corral_provider_lib_t *lib = NULL;
    prov_t *p = NULL;
    prov_entry_t *ent = NULL;
    corral_provider_kv_t *cfg = NULL;
    corral_status_t st;
    int have_kind = opts && opts->kind && *opts->kind, have_path = opts && opts->path && *opts->path;
    if (have_kind == have_path)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "start provider: give either a registry name (kind) or a shared "
                              "object (path), not %s",
                              have_kind ? "both" : "neither");
    if (have_kind) {
        tab = corral_provider_builtin_find(opts->kind);
        if (!tab) {
            char names[512];
            known_providers(names, sizeof names);
            return corral_err_set(err, CORRAL_ERR_NOT_FOUND,
                                  "no built-in provider named '%s': known providers are %s",
                                  opts->kind, names);
        }
    } else {
        if ((st = corral_provider_load(opts->path, &lib, err)) != CORRAL_OK) return st;
        tab = corral_provider_lib_provider(lib);
    }
    corral_provider_info_t info = {0};
    tab->describe(&info);
    const char *ln = link_name_or_default(opts->link_name);

    pthread_mutex_lock(&h->ctl);
    if (!host_is_running(h, err)) {
        st = CORRAL_ERR_STATE;
        goto fail;
    }
    const char *canon = host_contract_canonical(info.contract_id);
    prov_t *dup = find_prov(h, canon, ln);
    int implicit = builtin;
    if (dup && dup->host_owned && !builtin) {
        /* a manifest that lists a built-in (logging, numbergen) gets its own
         * configured instance in place of the host's, still linked implicitly */
        prov_entry_t *e = h->provs;
        while (e && e->prov != dup) e = e->next;
        CORRAL_LOG_INFO_(HOST_COMPONENT, "provider %s replaces the host's built-in %s (%s)",
                         info.name, dup->name, dup->key);
        stop_prov_entry(h, e);
        dup = NULL;
        implicit = 1;
    }
    if (dup) {
        st = corral_err_set(err, CORRAL_ERR_EXISTS,
                            "a provider for %s (link %s) is already running: %s (%s); stop it "
                            "first",
                            canon, ln, dup->name, dup->key);
        goto fail;
    }
    p = corral_calloc(1, sizeof *p);
    ent = corral_calloc(1, sizeof *ent);
    cfg = opts->nvalues ? corral_calloc(opts->nvalues, sizeof *cfg) : NULL;
    if (!p || !ent || (opts->nvalues && !cfg)) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory starting provider %s",
                            info.name);
        goto fail;
    }
    atomic_init(&p->refs, 1);
    p->host = h;
    p->p = tab;
    p->builtin = implicit;
    p->host_owned = builtin;
    host_strlcpy(p->name, info.name, sizeof p->name);
    host_strlcpy(p->contract_id, canon, sizeof p->contract_id);
    host_strlcpy(p->link_name, ln, sizeof p->link_name);
    corral_nkey_t k;
    if ((st = corral_nkey_generate(CORRAL_NKEY_SERVICE, &k, err)) != CORRAL_OK) goto fail;
    corral_nkey_public_str(&k, p->key);
    corral_nkey_wipe(&k);
    p->services.abi_version = CORRAL_PROVIDER_ABI_VERSION;
    p->services.struct_size = sizeof p->services;
    p->services.ctx = p;
    p->services.data_dir = h->data_dir;
    p->services.alloc = corral_malloc;
    p->services.free = corral_free;
    p->services.log = svc_log;
    p->services.call_actor = svc_call_actor;
    p->services.call_actor_async = svc_call_actor_async;
    for (size_t i = 0; i < opts->nvalues; i++) {
        cfg[i].key = opts->values[i].key ? opts->values[i].key : "";
        cfg[i].value = opts->values[i].value ? opts->values[i].value : "";
    }
    if ((st = tab->create(cfg, opts->nvalues, &p->services, &p->inst, err)) != CORRAL_OK) {
        corral_err_wrap(err, "provider %s did not start", info.name);
        goto fail;
    }
    p->lib = lib;
    lib = NULL;
    ent->prov = p;
    ent->next = NULL;
    prov_entry_t **tail = &h->provs;
    while (*tail) tail = &(*tail)->next;
    *tail = ent;
    ent = NULL;
    /* kept links for this contract and link name */
    for (link_t *l = h->links; l; l = l->next) {
        if (strcmp(l->contract_id, p->contract_id) != 0 || strcmp(l->link_name, ln) != 0) continue;
        actor_entry_t *a = host_find_actor_entry(h, l->actor);
        corral_err_t e;
        corral_err_clear(&e);
        if ((!a || strcmp(a->ver->core->key, l->actor) != 0) && host_remote(h)) {
            if (prov_link_remote(h, p, l->actor, l->link_name, l->values, l->nvalues, &e) ==
                CORRAL_OK)
                l->applied = p;
            else
                CORRAL_LOG_WARN_(HOST_COMPONENT, "%s; the link is kept", corral_err_msg(&e));
            continue;
        }
        if (!a || strcmp(a->ver->core->key, l->actor) != 0) continue;
        if (prov_link(p, a->ver, l->link_name, l->values, l->nvalues, &e) == CORRAL_OK)
            l->applied = p;
        else
            CORRAL_LOG_WARN_(HOST_COMPONENT, "%s; the link is kept", corral_err_msg(&e));
    }
    if (implicit)
        for (actor_entry_t *a = h->actors; a; a = a->next)
            if (claims_cap(a->ver->claims, p->contract_id)) {
                corral_err_t e;
                corral_err_clear(&e);
                if (prov_link(p, a->ver, ln, NULL, 0, &e) != CORRAL_OK)
                    CORRAL_LOG_WARN_(HOST_COMPONENT, "%s", corral_err_msg(&e));
            }
    (void)host_publish(h, NULL);
    if (out) {
        host_strlcpy(out->key, p->key, sizeof out->key);
        host_strlcpy(out->name, p->name, sizeof out->name);
        host_strlcpy(out->contract_id, p->contract_id, sizeof out->contract_id);
        host_strlcpy(out->link_name, p->link_name, sizeof out->link_name);
    }
    CORRAL_LOG_INFO_(HOST_COMPONENT, "provider %s (%s) started for %s, link %s", p->name, p->key,
                     p->contract_id, p->link_name);
    pthread_mutex_unlock(&h->ctl);
    corral_free(cfg);
    const corral_host_remote_t *rm = host_remote(h);
    if (rm) rm->provider_changed(rm->ctx, p->key, p->contract_id, p->link_name, 1);
    host_event(h, "provider_started", "public_key", p->key, "contract_id", p->contract_id,
               "link_name", p->link_name, NULL);
    return CORRAL_OK;
fail:
    pthread_mutex_unlock(&h->ctl);
    corral_free(cfg);
    corral_free(ent);
    corral_free(p);
    corral_provider_unload(lib);
    return st;
}

corral_status_t corral_host_provider_start(corral_host_t *h, const corral_host_provider_opts_t *opts,
                                           corral_host_provider_info_t *out, corral_err_t *err) {
    return host_provider_start(h, opts, 0, out, err);
}

/* Takes the provider out (under h->ctl), publishes, unlinks every actor,
 * drains its calls and destroys it. */
static void stop_prov_entry(corral_host_t *h, prov_entry_t *ent) {
    prov_t *p = ent->prov;
    for (prov_entry_t **pp = &h->provs; *pp; pp = &(*pp)->next)
        if (*pp == ent) {
            *pp = ent->next;
            break;
        }
    corral_free(ent);
    atomic_store(&p->stopping, 1);
    /* links that were applied to it stay kept, unapplied */
    for (link_t *l = h->links; l; l = l->next)
        if (l->applied == p) l->applied = NULL;
    host_publish_hard(h); /* no snapshot may keep it: it is about to be destroyed */
    /* unlink (the link_t strings stay valid: we hold h->ctl) */
    for (link_t *l = h->links; l; l = l->next)
        if (strcmp(l->contract_id, p->contract_id) == 0 && strcmp(l->link_name, p->link_name) == 0)
            p->p->unlink(p->inst, l->actor, l->link_name);
    if (p->builtin)
        for (actor_entry_t *a = h->actors; a; a = a->next)
            p->p->unlink(p->inst, a->ver->core->key, p->link_name);
    /* drain calls into it and its queued calls out of it */
    host_wait_count(&p->refs, 1);
    p->p->destroy(p->inst);
    p->inst = NULL;
    corral_provider_unload(p->lib);
    p->lib = NULL;
    CORRAL_LOG_INFO_(HOST_COMPONENT, "provider %s (%s) stopped", p->name, p->key);
    prov_release(p);
}

corral_status_t corral_host_provider_stop(corral_host_t *h, const char *key, corral_err_t *err) {
    corral_status_t st = CORRAL_OK;
    pthread_mutex_lock(&h->ctl);
    if (!host_is_running(h, err)) {
        st = CORRAL_ERR_STATE;
        goto out;
    }
    prov_entry_t *ent = h->provs;
    while (ent && (!key || strcmp(ent->prov->key, key) != 0)) ent = ent->next;
    if (!ent) {
        st = corral_err_set(err, CORRAL_ERR_NOT_FOUND,
                            "no provider with service key '%s' is running (see `corral get "
                            "inventory`)",
                            key ? key : "");
        goto out;
    }
    char pk[CORRAL_HOST_KEY_LEN];
    host_strlcpy(pk, ent->prov->key, sizeof pk);
    stop_prov_entry(h, ent);
    pthread_mutex_unlock(&h->ctl);
    const corral_host_remote_t *rm = host_remote(h);
    if (rm) rm->provider_changed(rm->ctx, pk, NULL, NULL, 0);
    host_event(h, "provider_stopped", "public_key", pk, NULL);
    return st;
out:
    pthread_mutex_unlock(&h->ctl);
    return st;
}

void host_stop_all_providers(corral_host_t *h) {
    while (h->provs) stop_prov_entry(h, h->provs);
}

/* ---- links ------------------------------------------------------------------------------------ */

/* The module key of `actor`: a running actor's key or alias, or any valid
 * module key. */
static corral_status_t resolve_link_actor(corral_host_t *h, const char *actor,
                                          char key[CORRAL_HOST_KEY_LEN], corral_err_t *err) {
    if (!actor || !*actor)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "link: actor is required");
    actor_entry_t *a = host_find_actor_entry(h, actor);
    if (a) {
        host_strlcpy(key, a->ver->core->key, CORRAL_HOST_KEY_LEN);
        return CORRAL_OK;
    }
    if (corral_nkey_from_public(actor, CORRAL_NKEY_MODULE, NULL, NULL) == CORRAL_OK) {
        host_strlcpy(key, actor, CORRAL_HOST_KEY_LEN);
        return CORRAL_OK;
    }
    return corral_err_set(err, CORRAL_ERR_NO_ACTOR,
                          "link: '%s' is neither a module key (M..., 56 characters) nor the call "
                          "alias of a running actor",
                          actor);
}

corral_status_t corral_host_link_put(corral_host_t *h, const char *actor, const char *contract_id,
                                     const char *link_name, const corral_host_kv_t *values,
                                     size_t nvalues, corral_err_t *err) {
    corral_status_t st;
    link_t *nl = NULL;
    if (!contract_id || !*contract_id)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "link: contract_id is required");
    pthread_mutex_lock(&h->ctl);
    char key[CORRAL_HOST_KEY_LEN];
    if (!host_is_running(h, err)) {
        st = CORRAL_ERR_STATE;
        goto fail;
    }
    if ((st = resolve_link_actor(h, actor, key, err)) != CORRAL_OK) goto fail;
    const char *canon = host_contract_canonical(contract_id);
    const char *ln = link_name_or_default(link_name);
    nl = corral_calloc(1, sizeof *nl);
    if (!nl || (nvalues && !(nl->values = corral_calloc(nvalues, sizeof *nl->values)))) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory making a link");
        goto fail;
    }
    host_strlcpy(nl->actor, key, sizeof nl->actor);
    host_strlcpy(nl->contract_id, canon, sizeof nl->contract_id);
    host_strlcpy(nl->link_name, ln, sizeof nl->link_name);
    for (size_t i = 0; i < nvalues; i++) {
        const char *vk = values[i].key ? values[i].key : "", *vv = values[i].value ? values[i].value : "";
        if (!corral_utf8_valid((const uint8_t *)vk, strlen(vk)) ||
            !corral_utf8_valid((const uint8_t *)vv, strlen(vv))) {
            st = corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                "link: value #%zu (key '%s') is not valid UTF-8", i + 1,
                                corral_utf8_valid((const uint8_t *)vk, strlen(vk)) ? vk : "?");
            goto fail;
        }
        nl->values[i].key = corral_strdup(values[i].key ? values[i].key : "");
        nl->values[i].value = corral_strdup(values[i].value ? values[i].value : "");
        nl->nvalues++;
        if (!nl->values[i].key || !nl->values[i].value) {
            st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory making a link");
            goto fail;
        }
    }
    actor_entry_t *a = host_find_actor_entry(h, key);
    prov_t *p = find_prov(h, canon, ln);
    if (a && p) {
        if ((st = prov_link(p, a->ver, ln, nl->values, nl->nvalues, err)) != CORRAL_OK) goto fail;
        nl->applied = p;
    } else if (p && host_remote(h)) {
        if ((st = prov_link_remote(h, p, key, ln, nl->values, nl->nvalues, err)) != CORRAL_OK)
            goto fail;
        nl->applied = p;
    }
    link_t *old = find_link(h, key, canon, ln);
    if (old) unlink_from_list(h, old);
    nl->next = h->links;
    h->links = nl;
    if ((st = host_publish(h, err)) != CORRAL_OK) {
        /* undo: the old link (if any) comes back, with its values */
        unlink_from_list(h, nl);
        if (old) {
            old->next = h->links;
            h->links = old;
            if (a && p && old->applied == p)
                (void)prov_link(p, a->ver, ln, old->values, old->nvalues, NULL);
        } else if (nl->applied) {
            p->p->unlink(p->inst, key, ln);
        }
        goto fail;
    }
    link_free(old);
    pthread_mutex_unlock(&h->ctl);
    const corral_host_remote_t *rm = host_remote(h);
    if (rm) rm->link_changed(rm->ctx, key, canon, ln, values, nvalues, 1);
    host_event(h, "linkdef_set", "actor_id", key, "contract_id", canon, "link_name", ln, NULL);
    return CORRAL_OK;
fail:
    pthread_mutex_unlock(&h->ctl);
    link_free(nl);
    return st;
}

corral_status_t corral_host_link_del(corral_host_t *h, const char *actor, const char *contract_id,
                                     const char *link_name, corral_err_t *err) {
    corral_status_t st = CORRAL_OK;
    if (!contract_id || !*contract_id)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "link: contract_id is required");
    pthread_mutex_lock(&h->ctl);
    char key[CORRAL_HOST_KEY_LEN];
    if (!host_is_running(h, err)) {
        st = CORRAL_ERR_STATE;
        goto out;
    }
    if ((st = resolve_link_actor(h, actor, key, err)) != CORRAL_OK) goto out;
    const char *canon = host_contract_canonical(contract_id);
    const char *ln = link_name_or_default(link_name);
    link_t *l = find_link(h, key, canon, ln);
    if (!l) {
        st = corral_err_set(err, CORRAL_ERR_NOT_FOUND, "no link of actor %s to %s (link %s)", key,
                            canon, ln);
        goto out;
    }
    unlink_from_list(h, l);
    if ((st = host_publish(h, err)) != CORRAL_OK) { /* calls would still see it: keep it */
        l->next = h->links;
        h->links = l;
        goto out;
    }
    /* calls now fail fast with "no provider linked" */
    if (l->applied) l->applied->p->unlink(l->applied->inst, key, ln);
    char canon_copy[CORRAL_HOST_NAME_MAX], ln_copy[CORRAL_HOST_NAME_MAX];
    host_strlcpy(canon_copy, l->contract_id, sizeof canon_copy);
    host_strlcpy(ln_copy, l->link_name, sizeof ln_copy);
    link_free(l);
    pthread_mutex_unlock(&h->ctl);
    const corral_host_remote_t *rm = host_remote(h);
    if (rm) rm->link_changed(rm->ctx, key, canon_copy, ln_copy, NULL, 0, 0);
    host_event(h, "linkdef_deleted", "actor_id", key, "contract_id", canon_copy, "link_name",
               ln_copy, NULL);
    return st;
out:
    pthread_mutex_unlock(&h->ctl);
    return st;
}

/* ---- dispatch ------------------------------------------------------------------------------------ */

corral_status_t host_dispatch(void *user, const corral_wapc_host_call_t *call, corral_buf_t *out,
                              corral_err_t *err) {
    actor_core_t *c = user;
    corral_host_t *h = c->host;
    const char *ns = call->ns, *ln = link_name_or_default(call->binding);
    int slot;
    snap_t *s = host_snap_pin(h, &slot);
    actor_ver_t *self = atomic_load(&c->cur);
    if (!self) {
        host_snap_unpin(h, slot);
        return corral_err_set(err, CORRAL_ERR_STATE, "actor %s is stopping", c->key);
    }
    actor_ver_retain(self);
    /* 1, 2: another actor by module key or call alias */
    actor_ver_t *target = snap_find_actor(s, ns);
    if (target) {
        actor_ver_retain(target);
        host_snap_unpin(h, slot);
        corral_status_t st = actor_call(target, call->op, call->op_len, call->payload,
                                        call->payload_len, out, err);
        if (st != CORRAL_OK)
            corral_err_wrap(err, "actor %s (%s), operation %s", target->core->key,
                            actor_name(target), call->op);
        actor_ver_release(target);
        actor_ver_release(self);
        return st;
    }
    corral_status_t st;
    const corral_host_remote_t *rm = host_remote(h);
    /* not local: an actor key, or an alias (no ':', not a claimed contract),
     * may run elsewhere in the lattice */
    if (rm && ((call->ns_len == 56 && ns[0] == 'M' &&
                corral_nkey_from_public(ns, CORRAL_NKEY_MODULE, NULL, NULL) == CORRAL_OK) ||
               (!strchr(ns, ':') && !claims_cap(self->claims, ns)))) {
        host_snap_unpin(h, slot);
        st = rm->call(rm->ctx, c->key, NULL, NULL, ns, NULL, NULL, call->op, call->payload,
                      call->payload_len, 0, out, err);
        if (st != CORRAL_OK) corral_err_wrap(err, "actor %s, operation %s", ns, call->op);
        actor_ver_release(self);
        return st;
    }
    if (call->ns_len == 56 && ns[0] == 'M' &&
        corral_nkey_from_public(ns, CORRAL_NKEY_MODULE, NULL, NULL) == CORRAL_OK) {
        host_snap_unpin(h, slot);
        st = corral_err_set(err, CORRAL_ERR_NO_ACTOR,
                            "actor %s (%s) called actor %s, which is not running on this host",
                            c->key, actor_name(self), ns);
        actor_ver_release(self);
        return st;
    }
    /* 3: a capability contract */
    if (!claims_cap(self->claims, ns)) {
        host_snap_unpin(h, slot);
        char caps[512];
        corral_claims_caps_str(self->claims, caps, sizeof caps);
        st = corral_err_set(err, CORRAL_ERR_CAP_NOT_CLAIMED,
                            "actor %s (%s) may not use %s: its claims list only %s", c->key,
                            actor_name(self), ns, caps);
        actor_ver_release(self);
        return st;
    }
    const char *canon = host_contract_canonical(ns);
    prov_t *p = NULL;
    int found = 0;
    for (size_t i = 0; i < s->nlinks && !found; i++) {
        const snap_link_t *l = &s->links[i];
        if (strcmp(l->actor, c->key) == 0 && strcmp(l->contract_id, canon) == 0 &&
            strcmp(l->link_name, ln) == 0) {
            found = 1;
            p = l->prov;
        }
    }
    for (size_t i = 0; !found && i < s->nprovs; i++) /* implicit links to built-ins */
        if (s->provs[i]->builtin && strcmp(s->provs[i]->contract_id, canon) == 0 &&
            strcmp(s->provs[i]->link_name, ln) == 0)
            p = s->provs[i];
    if (p) prov_retain(p);
    host_snap_unpin(h, slot);
    if (!p && found && rm) { /* linked, but its provider runs on another host */
        st = rm->call(rm->ctx, c->key, NULL, NULL, NULL, canon, ln, call->op, call->payload,
                      call->payload_len, 0, out, err);
        if (st != CORRAL_OK) corral_err_wrap(err, "%s %s (link %s, remote)", ns, call->op, ln);
        actor_ver_release(self);
        return st;
    }
    if (!p) {
        st = corral_err_set(err, CORRAL_ERR_NO_LINK,
                            "no provider linked for %s (link %s): actor %s (%s) has no link to a "
                            "running provider of that contract; start one and `corral link put`",
                            ns, ln, c->key, actor_name(self));
        actor_ver_release(self);
        return st;
    }
    corral_provider_call_t pc = {.actor_key = c->key,
                                 .link_name = ln,
                                 .contract_id = ns,
                                 .operation = call->op,
                                 .payload = call->payload,
                                 .payload_len = call->payload_len};
    corral_provider_bytes_t r = {NULL, 0};
    st = p->p->call(p->inst, &pc, &r, err);
    if (st == CORRAL_OK && r.len && corral_buf_append(out, r.data, r.len) != CORRAL_OK)
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory copying a provider response");
    if (st == CORRAL_ERR_NO_LINK) /* the link went away while the call was on its way */
        corral_err_set(err, st,
                       "no provider linked for %s (link %s): provider %s (%s) dropped the link of "
                       "actor %s (%s)",
                       ns, ln, p->name, p->key, c->key, actor_name(self));
    else if (st != CORRAL_OK && err && !strstr(err->msg, p->name))
        corral_err_wrap(err, "%s %s (provider %s)", ns, call->op, p->name);
    p->services.free(r.data);
    prov_release(p);
    actor_ver_release(self);
    return st;
}

/* ---- calls that arrive from the lattice ---------------------------------------------------- */

corral_status_t corral_host_provider_call(corral_host_t *h, const char *provider_key,
                                          const char *origin_actor, const char *contract_id,
                                          const char *link_name, const char *operation,
                                          const uint8_t *payload, size_t len, corral_buf_t *resp,
                                          corral_err_t *err) {
    if (!provider_key || !origin_actor || !operation)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "provider call: provider, actor and operation are required");
    corral_status_t st = host_enter(h, err);
    if (st != CORRAL_OK) return st;
    int slot;
    snap_t *s = host_snap_pin(h, &slot);
    prov_t *p = NULL;
    for (size_t i = 0; i < s->nprovs && !p; i++)
        if (strcmp(s->provs[i]->key, provider_key) == 0) p = s->provs[i];
    if (p) prov_retain(p);
    host_snap_unpin(h, slot);
    if (!p) {
        host_leave(h);
        return corral_err_set(err, CORRAL_ERR_NOT_FOUND,
                              "no provider with service key %s runs on host %s", provider_key,
                              h->key);
    }
    corral_provider_call_t pc = {.actor_key = origin_actor,
                                 .link_name = link_name_or_default(link_name),
                                 .contract_id = contract_id && *contract_id ? contract_id
                                                                            : p->contract_id,
                                 .operation = operation,
                                 .payload = payload,
                                 .payload_len = len};
    corral_provider_bytes_t r = {NULL, 0};
    st = p->p->call(p->inst, &pc, &r, err);
    if (st == CORRAL_OK && r.len && corral_buf_append(resp, r.data, r.len) != CORRAL_OK)
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory copying a provider response");
    p->services.free(r.data);
    prov_release(p);
    host_leave(h);
    return st;
}

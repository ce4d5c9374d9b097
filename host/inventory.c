/*
 * inventory.c - the host's inventory as JSON, exactly the `inventory` result
 * of docs/control.md (plus a "health" object per actor once it was checked).
 * Read from the master lists under the control lock; counters are atomics.
 */
#include <jansson.h>
#include <stdlib.h>

#include "host_int.h"

static json_t *str_array(char **v, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *kv_object(const corral_host_kv_t *kv, size_t n) {
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++)
        if (json_object_set_new(o, kv[i].key, json_string(kv[i].value)) != 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

static json_t *actor_json(actor_ver_t *v) {
    actor_core_t *c = v->core;
    const corral_claims_t *cl = v->claims;
    corral_wapc_pool_stats_t ps;
    corral_wapc_pool_stats(c->pool, &ps);
    json_t *caps = str_array(cl->caps, cl->ncaps);
    json_t *a = json_pack("{s:s, s:s, s:s?, s:I, s:s?, s:o, s:I, s:I, s:I, s:I, s:I}", "key", c->key,
                          "name", cl->name ? cl->name : "", "call_alias", cl->call_alias, "rev",
                          (json_int_t)cl->rev, "ver", cl->ver, "caps", caps ? caps : json_array(),
                          "instances", (json_int_t)ps.live, "max_instances",
                          (json_int_t)c->limits.max_instances, "calls",
                          (json_int_t)atomic_load(&c->calls), "errors",
                          (json_int_t)atomic_load(&c->errors), "traps",
                          (json_int_t)atomic_load(&c->traps));
    if (!a) return NULL;
    /* the rest of the claims, which a lattice keeps for the providers of
     * other hosts (their __wasmcloud_* link values) */
    json_t *tags = str_array(cl->tags, cl->ntags);
    json_object_set_new(a, "issuer", json_string(cl->iss ? cl->iss : ""));
    json_object_set_new(a, "tags", tags ? tags : json_array());
    json_object_set_new(a, "expires", json_integer(cl->has_exp ? (json_int_t)cl->exp : 0));
    json_object_set_new(a, "engine", json_string(atomic_load(&c->native) ? "aot" : "interp"));
    pthread_mutex_lock(&c->health_mu);
    if (c->health_known)
        json_object_set_new(a, "health",
                            json_pack("{s:b, s:s}", "healthy", c->healthy, "message",
                                      c->health_msg));
    pthread_mutex_unlock(&c->health_mu);
    return a;
}

json_t *host_inventory_json(corral_host_t *h) {
    json_t *actors = json_array(), *provs = json_array(), *links = json_array();
    json_t *labels = kv_object(h->labels, h->nlabels);
    json_t *inv = NULL;
    if (!actors || !provs || !links || !labels) goto fail;
    for (actor_entry_t *a = h->actors; a; a = a->next)
        if (json_array_append_new(actors, actor_json(a->ver)) != 0) goto fail;
    for (prov_entry_t *e = h->provs; e; e = e->next) {
        prov_t *p = e->prov;
        if (json_array_append_new(provs, json_pack("{s:s, s:s, s:s, s:s, s:b}", "key", p->key,
                                                   "name", p->name, "contract_id", p->contract_id,
                                                   "link_name", p->link_name, "builtin",
                                                   p->host_owned)) != 0)
            goto fail;
    }
    for (link_t *l = h->links; l; l = l->next) {
        json_t *vals = kv_object(l->values, l->nvalues);
        if (!vals) goto fail;
        json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "actor", l->actor, "contract_id",
                              l->contract_id, "link_name", l->link_name, "values", vals);
        if (!o) goto fail;
        json_object_set_new(o, "provider", l->applied ? json_string(l->applied->key) : json_null());
        if (json_array_append_new(links, o) != 0) goto fail;
    }
    uint64_t up = h->started_ns ? (corral_now_ns() - h->started_ns) / 1000000000ull : 0;
    inv = json_pack("{s:s, s:o, s:I, s:o, s:o, s:o}", "host_key", h->key, "labels", labels,
                    "uptime_s", (json_int_t)up, "actors", actors, "providers", provs, "links",
                    links);
    return inv; /* json_pack's "o" steals the references even on failure */
fail:
    json_decref(actors);
    json_decref(provs);
    json_decref(links);
    json_decref(labels);
    return NULL;
}

corral_status_t corral_host_inventory(corral_host_t *h, char **json_out, corral_err_t *err) {
    *json_out = NULL;
    pthread_mutex_lock(&h->ctl);
    json_t *inv = host_inventory_json(h);
    pthread_mutex_unlock(&h->ctl);
    char *text = inv ? json_dumps(inv, JSON_COMPACT) : NULL;
    json_decref(inv);
    if (!text) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory building the inventory");
    *json_out = corral_strdup(text);
    free(text);
    if (!*json_out) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    return CORRAL_OK;
}

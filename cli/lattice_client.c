/*
 * lattice_client.c - the CLI's control client for a lattice
 * (lattice_client.h): NATS connection with the CLI's credential options,
 * request / reply on the wasmbus.ctl.<lattice>.* subjects, host discovery
 * (ping.hosts), inventories, modules sent inline or through the chunk
 * bucket, update and link definitions. Shared by cmd_lattice.c (`corral ...
 * --lattice`) and ui_server.c (the lattice view of `corral ui`). It prints
 * nothing: every failure is a status and a message in a corral_err_t.
 */
#ifdef CORRAL_HAVE_LATTICE

#include "lattice_client.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corral_lattice.h"

struct corral_lc {
    char *lattice, *url;
    long timeout_ms;
    natsConnection *nc;
    corral_nkey_t user; /* the --nats-nkey user, signing the server's nonce */
    int have_user;
    void (*warn)(void *ctx, const char *msg);
    void *warn_ctx;
};

static int subject_token_ok(const char *s) { return s && *s && !strpbrk(s, ".*> "); }

static natsStatus sign_nonce(char **custom_err, unsigned char **sig, int *sig_len, const char *nonce,
                             void *closure) {
    (void)custom_err;
    corral_lc_t *lc = closure;
    /* libnats frees it with free() */
    unsigned char *out = malloc(CORRAL_NKEY_SIG_LEN);
    if (!out) return NATS_NO_MEMORY;
    if (corral_nkey_sign(&lc->user, nonce, strlen(nonce), out, NULL) != CORRAL_OK) {
        free(out);
        return NATS_ERR;
    }
    *sig = out;
    *sig_len = CORRAL_NKEY_SIG_LEN;
    return NATS_OK;
}

corral_status_t corral_lc_connect(const corral_lc_config_t *cfg, corral_lc_t **out,
                                  corral_err_t *err) {
    natsOptions *no = NULL;
    natsStatus s;
    corral_status_t st;
    char pub[CORRAL_NKEY_PUBLIC_LEN + 1];
    *out = NULL;
    if (!subject_token_ok(cfg->lattice))
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "lattice name '%s' is not valid",
                              cfg->lattice ? cfg->lattice : "");
    corral_lc_t *lc = corral_calloc(1, sizeof *lc);
    if (!lc) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    lc->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 2000;
    lc->warn = cfg->warn;
    lc->warn_ctx = cfg->warn_ctx;
    const char *url = cfg->url ? cfg->url : "nats://127.0.0.1:4222";
    if (!(lc->lattice = corral_strdup(cfg->lattice)) || !(lc->url = corral_strdup(url))) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((s = natsOptions_Create(&no)) != NATS_OK || (s = natsOptions_SetURL(no, url)) != NATS_OK ||
        (s = natsOptions_SetName(no, cfg->conn_name ? cfg->conn_name : "corral-cli")) != NATS_OK) {
        st = corral_err_set(err, CORRAL_ERR_INVALID_ARG, "NATS options: %s", natsStatus_GetText(s));
        goto fail;
    }
    if (cfg->keep_reconnecting && (s = natsOptions_SetMaxReconnect(no, -1)) != NATS_OK) {
        st = corral_err_set(err, CORRAL_ERR_INVALID_ARG, "NATS options: %s", natsStatus_GetText(s));
        goto fail;
    }
    if (cfg->creds && (s = natsOptions_SetUserCredentialsFromFiles(no, cfg->creds, NULL)) != NATS_OK) {
        st = corral_err_set(err, CORRAL_ERR_INVALID_ARG, "--nats-creds %s: %s", cfg->creds,
                            natsStatus_GetText(s));
        goto fail;
    }
    if (cfg->nkey) {
        corral_err_t e2;
        if (corral_nkey_load(cfg->nkey, CORRAL_NKEY_USER, &lc->user, &e2) != CORRAL_OK) {
            st = corral_err_set(err, CORRAL_ERR_INVALID_ARG, "--nats-nkey: %s", corral_err_msg(&e2));
            goto fail;
        }
        lc->have_user = 1;
        corral_nkey_public_str(&lc->user, pub);
        if ((s = natsOptions_SetNKey(no, pub, sign_nonce, lc)) != NATS_OK) {
            st = corral_err_set(err, CORRAL_ERR_INVALID_ARG, "--nats-nkey: %s", natsStatus_GetText(s));
            goto fail;
        }
    }
    s = natsConnection_Connect(&lc->nc, no);
    if (s != NATS_OK) {
        lc->nc = NULL;
        st = corral_err_set(err, CORRAL_ERR_IO, "cannot reach NATS at %s: %s", url,
                            natsStatus_GetText(s));
        goto fail;
    }
    natsOptions_Destroy(no);
    *out = lc;
    return CORRAL_OK;
fail:
    natsOptions_Destroy(no);
    corral_lc_close(lc);
    return st;
}

void corral_lc_close(corral_lc_t *lc) {
    if (!lc) return;
    if (lc->nc) natsConnection_Destroy(lc->nc);
    if (lc->have_user) corral_nkey_wipe(&lc->user);
    corral_free(lc->lattice);
    corral_free(lc->url);
    corral_free(lc);
}

natsConnection *corral_lc_nats(corral_lc_t *lc) { return lc->nc; }
const char *corral_lc_lattice(const corral_lc_t *lc) { return lc->lattice; }
long corral_lc_timeout_ms(const corral_lc_t *lc) { return lc->timeout_ms; }

json_t *corral_lc_collect(corral_lc_t *lc, const char *subj, const char *payload, long wait_ms) {
    char inbox[128];
    natsInbox *ib = NULL;
    natsSubscription *sub = NULL;
    json_t *all = json_array();
    if (!all || natsInbox_Create(&ib) != NATS_OK) {
        natsInbox_Destroy(ib);
        return all;
    }
    snprintf(inbox, sizeof inbox, "%s", (const char *)ib);
    natsInbox_Destroy(ib);
    if (natsConnection_SubscribeSync(&sub, lc->nc, inbox) != NATS_OK ||
        natsConnection_PublishRequestString(lc->nc, subj, inbox, payload) != NATS_OK) {
        natsSubscription_Destroy(sub);
        return all;
    }
    natsConnection_Flush(lc->nc);
    int64_t deadline = nats_Now() + wait_ms;
    for (;;) {
        int64_t left = deadline - nats_Now();
        natsMsg *m = NULL;
        if (left <= 0 || natsSubscription_NextMsg(&m, sub, left) != NATS_OK) break;
        json_t *j = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
        if (json_is_object(j)) json_array_append_new(all, j);
        else json_decref(j);
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    return all;
}

corral_status_t corral_lc_request(corral_lc_t *lc, const char *subj, json_t *req, const char *who,
                                  json_t **out, corral_err_t *err) {
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    *out = NULL;
    if (!text) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    natsMsg *m = NULL;
    natsStatus s = natsConnection_Request(&m, lc->nc, subj, text, (int)strlen(text), lc->timeout_ms);
    free(text);
    if (s == NATS_TIMEOUT)
        return corral_err_set(err, CORRAL_ERR_TIMEOUT, "%s did not answer in %ld ms", who,
                              lc->timeout_ms);
    if (s == NATS_NO_RESPONDERS)
        return corral_err_set(err, CORRAL_ERR_CLOSED, "%s is not in lattice %s (no one listens on %s)",
                              who, lc->lattice, subj);
    if (s == NATS_MAX_PAYLOAD)
        return corral_err_set(err, CORRAL_ERR_TOO_LARGE,
                              "the request to %s is above the server's message limit", who);
    if (s != NATS_OK)
        return corral_err_set(err, CORRAL_ERR_IO, "asking %s: %s", who, natsStatus_GetText(s));
    json_t *j = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
    natsMsg_Destroy(m);
    if (!json_is_object(j)) {
        json_decref(j);
        return corral_err_set(err, CORRAL_ERR_PARSE,
                              "%s answered with something that is not a JSON object", who);
    }
    *out = j;
    return CORRAL_OK;
}

corral_status_t corral_lc_cmd(corral_lc_t *lc, const char *host, const char *op, json_t *req,
                              json_t **res, corral_err_t *err) {
    char subj[512], who[128];
    json_t *ack = NULL;
    *res = NULL;
    if (!subject_token_ok(host)) {
        json_decref(req);
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "'%.64s' is not a host key", host ? host : "");
    }
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.cmd.%s.%s", lc->lattice, host, op);
    snprintf(who, sizeof who, "host %s", host);
    corral_status_t st = corral_lc_request(lc, subj, req, who, &ack, err);
    if (st != CORRAL_OK) return st;
    if (json_is_true(json_object_get(ack, "accepted"))) {
        json_t *r = json_object_get(ack, "result");
        *res = r ? json_incref(r) : json_object();
        if (!*res) st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    } else {
        const char *e = json_string_value(json_object_get(ack, "error"));
        st = corral_err_set(err, strcmp(op, "upd") == 0 ? CORRAL_ERR_UPDATE_REFUSED : CORRAL_ERR_STATE,
                            "host %s refused: %s", host, e ? e : "(no reason given)");
    }
    json_decref(ack);
    return st;
}

json_t *corral_lc_ping(corral_lc_t *lc) {
    char subj[256];
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.ping.hosts", lc->lattice);
    return corral_lc_collect(lc, subj, "", CORRAL_LC_DISCOVER_MS);
}

json_t *corral_lc_hosts(corral_lc_t *lc) {
    json_t *all = corral_lc_ping(lc), *keys = json_array(), *h;
    size_t i;
    json_array_foreach(all, i, h) {
        const char *id = json_string_value(json_object_get(h, "id"));
        if (id && keys) json_array_append_new(keys, json_string(id));
    }
    json_decref(all);
    return keys;
}

corral_status_t corral_lc_inventory(corral_lc_t *lc, const char *host, json_t **inv,
                                    corral_err_t *err) {
    char subj[512], who[128];
    *inv = NULL;
    if (!subject_token_ok(host))
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "'%.64s' is not a host key", host ? host : "");
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.get.%s.inv", lc->lattice, host);
    snprintf(who, sizeof who, "host %s", host);
    return corral_lc_request(lc, subj, json_object(), who, inv, err);
}

corral_status_t corral_lc_links(corral_lc_t *lc, json_t **links, corral_err_t *err) {
    char subj[256], who[300];
    json_t *ans = NULL;
    *links = NULL;
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.get.links", lc->lattice);
    snprintf(who, sizeof who, "no host of lattice %s (asked for its links)", lc->lattice);
    corral_status_t st = corral_lc_request(lc, subj, json_object(), who, &ans, err);
    if (st != CORRAL_OK) return st;
    json_t *l = json_object_get(ans, "links");
    if (!json_is_array(l)) st = corral_err_set(err, CORRAL_ERR_PARSE, "the lattice's links answer has no links list");
    else *links = json_incref(l);
    json_decref(ans);
    return st;
}

corral_status_t corral_lc_hosts_running(corral_lc_t *lc, const char *what, int actor,
                                        json_t **found, corral_err_t *err) {
    json_t *keys = corral_lc_hosts(lc), *k;
    size_t i, j;
    *found = json_array();
    if (!keys || !*found) {
        json_decref(keys);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    }
    json_array_foreach(keys, i, k) {
        json_t *inv = NULL, *e;
        corral_err_t e2;
        if (corral_lc_inventory(lc, json_string_value(k), &inv, &e2) != CORRAL_OK) {
            if (lc->warn) lc->warn(lc->warn_ctx, corral_err_msg(&e2));
            continue;
        }
        json_array_foreach(json_object_get(inv, actor ? "actors" : "providers"), j, e) {
            const char *key = json_string_value(json_object_get(e, "key"));
            const char *alias = json_string_value(json_object_get(e, "call_alias"));
            if ((key && strcmp(key, what) == 0) || (actor && alias && strcmp(alias, what) == 0)) {
                json_array_append(*found, k);
                break;
            }
        }
        json_decref(inv);
    }
    json_decref(keys);
    if (!json_array_size(*found))
        return corral_err_set(err, actor ? CORRAL_ERR_NO_ACTOR : CORRAL_ERR_NOT_FOUND,
                              "no host of lattice %s runs %s %s", lc->lattice,
                              actor ? "actor" : "provider", what);
    return CORRAL_OK;
}

corral_status_t corral_lc_module(corral_lc_t *lc, const char *path, json_t *req,
                                 corral_lc_module_t *m, corral_err_t *err) {
    corral_buf_t mod = CORRAL_BUF_INIT, b64 = CORRAL_BUF_INIT;
    corral_err_t e2;
    corral_status_t st = CORRAL_OK;
    memset(m, 0, sizeof *m);
    if ((st = corral_file_read(path, 0, &mod, &e2)) != CORRAL_OK) {
        m->file_failed = 1;
        return corral_err_set(err, st, "%s: %s", path, corral_err_msg(&e2));
    }
    int64_t maxp = natsConnection_GetMaxPayload(lc->nc);
    if (maxp <= 0) maxp = 1 << 20;
    if ((int64_t)(mod.len / 3 * 4 + 8192) < maxp) {
        json_t *s = NULL;
        if (corral_base64_encode(mod.data, mod.len, &b64) || corral_buf_append(&b64, "", 1) ||
            !(s = json_string((const char *)b64.data)) || json_object_set_new(req, "module_b64", s))
            st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        goto out;
    }
    char bucket[256];
    snprintf(bucket, sizeof bucket, "CHUNKS_%s", lc->lattice);
    natsStatus s = natsConnection_JetStream(&m->js, lc->nc, NULL);
    if (s == NATS_OK) s = js_KeyValue(&m->kv, m->js, bucket);
    if (s != NATS_OK) {
        st = corral_err_set(err, CORRAL_ERR_IO,
                            "%s is %zu bytes, above the server's message limit of %lld, and the "
                            "lattice's chunk bucket %s cannot be opened: %s",
                            path, mod.len, (long long)maxp, bucket, natsStatus_GetText(s));
        goto out;
    }
    snprintf(m->prefix, sizeof m->prefix, "mod-%ld-%llu", (long)getpid(),
             (unsigned long long)corral_now_ns());
    size_t cs = (size_t)(maxp > 20480 ? maxp - 16384 : 4096);
    char key[128];
    for (size_t off = 0, i = 0; off < mod.len; off += cs, i++) {
        size_t len = mod.len - off < cs ? mod.len - off : cs;
        snprintf(key, sizeof key, "%s.%zu", m->prefix, i);
        if ((s = kvStore_Put(NULL, m->kv, key, mod.data + off, (int)len)) != NATS_OK) {
            st = corral_err_set(err, CORRAL_ERR_IO, "storing %s in %s: %s", path, bucket,
                                natsStatus_GetText(s));
            goto out;
        }
    }
    json_object_set_new(req, "module_ref",
                        json_pack("{s:s, s:I}", "prefix", m->prefix, "size", (json_int_t)mod.len));
out:
    corral_buf_free(&mod);
    corral_buf_free(&b64);
    return st;
}

void corral_lc_module_cleanup(corral_lc_module_t *m) {
    if (m->kv && m->prefix[0]) {
        kvKeysList l = {0};
        if (kvStore_Keys(&l, m->kv, NULL) == NATS_OK) {
            size_t pl = strlen(m->prefix);
            for (int i = 0; i < l.Count; i++)
                if (strncmp(l.Keys[i], m->prefix, pl) == 0 && l.Keys[i][pl] == '.')
                    kvStore_Purge(m->kv, l.Keys[i], NULL);
            kvKeysList_Destroy(&l);
        }
    }
    kvStore_Destroy(m->kv);
    jsCtx_Destroy(m->js);
    m->kv = NULL;
    m->js = NULL;
    m->prefix[0] = 0;
}

corral_status_t corral_lc_update(corral_lc_t *lc, const char *host, const char *actor,
                                 const char *path, json_t **res, corral_err_t *err) {
    corral_lc_module_t m;
    *res = NULL;
    json_t *req = json_pack("{s:s}", "actor", actor);
    if (!req) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    corral_status_t st = corral_lc_module(lc, path, req, &m, err);
    if (st == CORRAL_OK) st = corral_lc_cmd(lc, host, "upd", json_incref(req), res, err);
    corral_lc_module_cleanup(&m);
    json_decref(req);
    return st;
}

corral_status_t corral_lc_link(corral_lc_t *lc, int put, const char *actor, const char *contract,
                               const char *link_name, json_t *values, const char *provider,
                               json_t **ack_out, corral_err_t *err) {
    char subj[256], who[300];
    json_t *ack = NULL;
    if (ack_out) *ack_out = NULL;
    json_t *req = json_pack("{s:s, s:s, s:s}", "actor_id", actor, "contract_id", contract,
                            "link_name", link_name ? link_name : "default");
    if (req && put) {
        if (json_object_set_new(req, "values", values ? json_incref(values) : json_object()) ||
            (provider && json_object_set_new(req, "provider_id", json_string(provider)))) {
            json_decref(req);
            req = NULL;
        }
    }
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.linkdefs.%s", lc->lattice, put ? "put" : "del");
    snprintf(who, sizeof who, "no host of lattice %s: linkdefs.%s", lc->lattice, put ? "put" : "del");
    corral_status_t st = corral_lc_request(lc, subj, req, who, &ack, err);
    if (st != CORRAL_OK) return st;
    if (!json_is_true(json_object_get(ack, "accepted"))) {
        const char *e = json_string_value(json_object_get(ack, "error"));
        st = corral_err_set(err, CORRAL_ERR_STATE, "link %s refused: %s", put ? "put" : "del",
                            e && *e ? e : "(no reason given)");
        json_decref(ack);
        return st;
    }
    if (ack_out) *ack_out = ack;
    else json_decref(ack);
    return CORRAL_OK;
}

#else
/* Without lattice support there is nothing here (ISO C wants a declaration). */
typedef int corral_lattice_client_unused_t;
#endif

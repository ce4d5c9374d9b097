/*
 * messaging.c - the wasmcloud:messaging provider (see
 * corral_provider_messaging.h): Publish and Request from actors over NATS,
 * and HandleMessage delivery to linked actors from their SUBSCRIPTION
 * subjects, handed to the host's asynchronous call so cnats' delivery
 * threads never wait on an actor.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "corral_mp.h"
#include "corral_provider_messaging.h"

#define MSG_DEFAULT_URL "nats://127.0.0.1:4222"
#define MSG_MAX_SUBS 64

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static natsConnection *g_shared;

void corral_provider_messaging_use_connection(natsConnection *nc) {
    pthread_mutex_lock(&g_mu);
    g_shared = nc;
    pthread_mutex_unlock(&g_mu);
}

typedef struct msg_link msg_link_t;

/* One subscription of a link; its closure. */
typedef struct msg_sub {
    msg_link_t *link;
    natsSubscription *sub;
} msg_sub_t;

struct msg_link {
    struct msg_inst *inst;
    char *actor, *link_name;
    msg_sub_t subs[MSG_MAX_SUBS];
    size_t nsubs;
    msg_link_t *next;
};

typedef struct msg_inst {
    const corral_provider_host_t *host;
    natsConnection *nc;
    int own_nc;
    pthread_mutex_t mu;
    msg_link_t *links;
} msg_inst_t;

static void describe(corral_provider_info_t *info) {
    static const char *const aliases[] = {"wascc:messaging", NULL};
    info->contract_id = CORRAL_CONTRACT_MESSAGING;
    info->contract_aliases = aliases;
    info->name = "messaging";
    info->description = "wasmcloud:messaging on NATS (publish, request, subscriptions)";
    info->version = "0.1.0";
}

static corral_status_t create(const corral_provider_kv_t *config, size_t n_config,
                              const corral_provider_host_t *host, void **instance,
                              corral_err_t *err) {
    const char *url = NULL;
    for (size_t i = 0; i < n_config; i++)
        if (strcmp(config[i].key, "URL") == 0) url = config[i].value;
    msg_inst_t *m = corral_calloc(1, sizeof *m);
    if (!m) return corral_err_set(err, CORRAL_ERR_NOMEM, "messaging: out of memory");
    m->host = host;
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_lock(&g_mu);
    m->nc = url ? NULL : g_shared;
    pthread_mutex_unlock(&g_mu);
    if (!m->nc) {
        natsStatus s = natsConnection_ConnectTo(&m->nc, url ? url : MSG_DEFAULT_URL);
        if (s != NATS_OK) {
            pthread_mutex_destroy(&m->mu);
            corral_free(m);
            return corral_err_set(err, CORRAL_ERR_IO, "messaging: cannot reach NATS at %s: %s",
                                  url ? url : MSG_DEFAULT_URL, natsStatus_GetText(s));
        }
        m->own_nc = 1;
    }
    *instance = m;
    return CORRAL_OK;
}

static void link_free(msg_link_t *l) {
    for (size_t i = 0; i < l->nsubs; i++) {
        natsSubscription_Unsubscribe(l->subs[i].sub);
        natsSubscription_Destroy(l->subs[i].sub);
    }
    corral_free(l->actor);
    corral_free(l->link_name);
    corral_free(l);
}

static void destroy(void *instance) {
    msg_inst_t *m = instance;
    if (!m) return;
    while (m->links) {
        msg_link_t *l = m->links;
        m->links = l->next;
        link_free(l);
    }
    if (m->own_nc) natsConnection_Destroy(m->nc);
    pthread_mutex_destroy(&m->mu);
    corral_free(m);
}

/* Packs {subject, replyTo, body}. */
static int pack_message(msgpack_packer *pk, const char *subject, const char *reply,
                        const void *body, size_t n) {
    return msgpack_pack_map(pk, 3) || corral_mp_pack_cstr(pk, "subject") ||
           corral_mp_pack_cstr(pk, subject ? subject : "") ||
           corral_mp_pack_cstr(pk, "replyTo") || corral_mp_pack_cstr(pk, reply ? reply : "") ||
           corral_mp_pack_cstr(pk, "body") || msgpack_pack_bin(pk, n) ||
           (n && msgpack_pack_bin_body(pk, body, n));
}

static void delivered(void *user, corral_status_t st, const uint8_t *resp, size_t len,
                      const corral_err_t *err) {
    (void)user;
    (void)resp;
    (void)len;
    (void)st;
    (void)err;
}

static void on_message(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    msg_sub_t *ms = closure;
    msg_link_t *l = ms->link;
    const corral_provider_host_t *h = l->inst->host;
    corral_buf_t b = CORRAL_BUF_INIT;
    msgpack_packer pk;
    corral_mp_packer_init(&pk, &b);
    if (pack_message(&pk, natsMsg_GetSubject(msg), natsMsg_GetReply(msg), natsMsg_GetData(msg),
                     (size_t)natsMsg_GetDataLength(msg)) == 0) {
        corral_err_t err;
        if (h->call_actor_async(h->ctx, l->actor, l->link_name, "HandleMessage", b.data, b.len, 0,
                                delivered, NULL, &err) != CORRAL_OK && h->log) {
            char line[CORRAL_ERR_MSG_MAX + 128];
            snprintf(line, sizeof line, "message on %s not delivered to %s: %s",
                     natsMsg_GetSubject(msg), l->actor, err.msg);
            h->log(h->ctx, CORRAL_LOG_WARN, "messaging", line);
        }
    }
    corral_buf_free(&b);
    natsMsg_Destroy(msg);
}

static corral_status_t link(void *instance, const char *actor_key, const char *link_name,
                            const corral_provider_kv_t *values, size_t n_values,
                            corral_err_t *err) {
    msg_inst_t *m = instance;
    const char *subs = NULL;
    corral_status_t st = CORRAL_OK;
    for (size_t i = 0; i < n_values; i++)
        if (strcmp(values[i].key, "SUBSCRIPTION") == 0) subs = values[i].value;
    msg_link_t *l = corral_calloc(1, sizeof *l);
    char *copy = subs ? corral_strdup(subs) : NULL;
    if (!l || (subs && !copy)) {
        corral_free(l);
        corral_free(copy);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "messaging: out of memory");
    }
    l->inst = m;
    l->actor = corral_strdup(actor_key);
    l->link_name = corral_strdup(link_name && *link_name ? link_name : "default");
    if (!l->actor || !l->link_name) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "messaging: out of memory");
        goto fail;
    }
    char *save = NULL;
    for (char *item = copy ? strtok_r(copy, ",", &save) : NULL; item;
         item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ') item++;
        char *queue = strchr(item, '|');
        if (queue) *queue++ = 0;
        size_t n = strlen(item);
        while (n && item[n - 1] == ' ') item[--n] = 0;
        if (!*item) continue;
        if (l->nsubs == MSG_MAX_SUBS) {
            st = corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                "SUBSCRIPTION: more than %d subjects", MSG_MAX_SUBS);
            goto fail;
        }
        msg_sub_t *ms = &l->subs[l->nsubs];
        ms->link = l;
        natsStatus s = queue && *queue
                           ? natsConnection_QueueSubscribe(&ms->sub, m->nc, item, queue,
                                                           on_message, ms)
                           : natsConnection_Subscribe(&ms->sub, m->nc, item, on_message, ms);
        if (s != NATS_OK) {
            st = corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                "SUBSCRIPTION: cannot subscribe '%.100s': %s", item,
                                natsStatus_GetText(s));
            goto fail;
        }
        l->nsubs++;
    }
    natsConnection_Flush(m->nc);
    corral_free(copy);
    pthread_mutex_lock(&m->mu);
    for (msg_link_t **p = &m->links; *p; p = &(*p)->next) /* relink replaces */
        if (strcmp((*p)->actor, l->actor) == 0 && strcmp((*p)->link_name, l->link_name) == 0) {
            msg_link_t *old = *p;
            *p = old->next;
            link_free(old);
            break;
        }
    l->next = m->links;
    m->links = l;
    pthread_mutex_unlock(&m->mu);
    return CORRAL_OK;
fail:
    corral_free(copy);
    link_free(l);
    return st;
}

static void unlink_(void *instance, const char *actor_key, const char *link_name) {
    msg_inst_t *m = instance;
    if (!link_name || !*link_name) link_name = "default";
    pthread_mutex_lock(&m->mu);
    for (msg_link_t **p = &m->links; *p; p = &(*p)->next)
        if (strcmp((*p)->actor, actor_key) == 0 && strcmp((*p)->link_name, link_name) == 0) {
            msg_link_t *old = *p;
            *p = old->next;
            link_free(old);
            break;
        }
    pthread_mutex_unlock(&m->mu);
}

/* body: bin (or str from older guests). */
static corral_status_t get_body(const corral_mp_doc_t *doc, const char *what, const void **p,
                                size_t *n, corral_err_t *err) {
    const msgpack_object *o = corral_mp_find(doc, "body");
    *p = NULL;
    *n = 0;
    if (!o || o->type == MSGPACK_OBJECT_NIL) return CORRAL_OK;
    if (o->type == MSGPACK_OBJECT_BIN) {
        *p = o->via.bin.ptr;
        *n = o->via.bin.size;
    } else if (o->type == MSGPACK_OBJECT_STR) {
        *p = o->via.str.ptr;
        *n = o->via.str.size;
    } else {
        return corral_err_set(err, CORRAL_ERR_PARSE, "%s: request field 'body' is not binary",
                              what);
    }
    return CORRAL_OK;
}

static corral_status_t call(void *instance, const corral_provider_call_t *c,
                            corral_provider_bytes_t *resp, corral_err_t *err) {
    msg_inst_t *m = instance;
    const msgpack_object *o;
    corral_mp_doc_t doc;
    corral_status_t st;
    char subject[512], reply[512] = "";
    const void *body;
    size_t blen;
    resp->data = NULL;
    resp->len = 0;
    const char *op = c->operation;
    if (strncmp(op, "Messaging.", 10) == 0) op += 10;
    int is_pub = strcmp(op, "Publish") == 0, is_req = strcmp(op, "Request") == 0;
    if (!is_pub && !is_req)
        return corral_err_set(err, CORRAL_ERR_UNSUPPORTED,
                              "wasmcloud:messaging has no operation '%.80s'", c->operation);
    if ((st = corral_mp_doc_parse(&doc, op, c->payload, c->payload_len, err))) return st;
    corral_mp_str_t s;
    if ((st = corral_mp_get_str(&doc, "subject", &s, err))) goto out;
    if (s.n == 0 || s.n >= sizeof subject || memchr(s.p, 0, s.n) || memchr(s.p, ' ', s.n)) {
        st = corral_err_set(err, CORRAL_ERR_INVALID_ARG, "%s: subject is empty, too long or has "
                            "blanks", op);
        goto out;
    }
    memcpy(subject, s.p, s.n);
    subject[s.n] = 0;
    if ((st = get_body(&doc, op, &body, &blen, err))) goto out;
    if (blen > (size_t)INT32_MAX) {
        st = corral_err_set(err, CORRAL_ERR_TOO_LARGE, "%s: body too large", op);
        goto out;
    }
    if (is_pub) {
        if ((o = corral_mp_find(&doc, "replyTo")) && o->type == MSGPACK_OBJECT_STR &&
            o->via.str.size && o->via.str.size < sizeof reply) {
            memcpy(reply, o->via.str.ptr, o->via.str.size);
            reply[o->via.str.size] = 0;
        }
        natsStatus ns = reply[0] ? natsConnection_PublishRequest(m->nc, subject, reply, body,
                                                                 (int)blen)
                                 : natsConnection_Publish(m->nc, subject, body, (int)blen);
        if (ns == NATS_OK) ns = natsConnection_Flush(m->nc);
        if (ns != NATS_OK)
            st = corral_err_set(err, CORRAL_ERR_IO, "Publish to %s: %s", subject,
                                natsStatus_GetText(ns));
        goto out;
    }
    uint32_t tmo = 0;
    if ((o = corral_mp_find(&doc, "timeoutMs")) && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        tmo = o->via.u64 > 600000 ? 600000 : (uint32_t)o->via.u64;
    if (!tmo) tmo = 2000;
    natsMsg *r = NULL;
    natsStatus ns = natsConnection_Request(&r, m->nc, subject, body, (int)blen, tmo);
    if (ns == NATS_TIMEOUT) {
        st = corral_err_set(err, CORRAL_ERR_TIMEOUT, "Request to %s: no answer after %u ms",
                            subject, tmo);
        goto out;
    }
    if (ns != NATS_OK) {
        st = corral_err_set(err, CORRAL_ERR_IO, "Request to %s: %s", subject,
                            natsStatus_GetText(ns));
        goto out;
    }
    corral_buf_t b = CORRAL_BUF_INIT;
    msgpack_packer pk;
    corral_mp_packer_init(&pk, &b);
    if (pack_message(&pk, natsMsg_GetSubject(r), natsMsg_GetReply(r), natsMsg_GetData(r),
                     (size_t)natsMsg_GetDataLength(r))) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "Request: out of memory");
        corral_buf_free(&b);
    } else {
        resp->data = corral_buf_take(&b, &resp->len);
    }
    natsMsg_Destroy(r);
out:
    corral_mp_doc_deinit(&doc);
    return st;
}

static corral_status_t health(void *instance, corral_err_t *err) {
    msg_inst_t *m = instance;
    natsConnStatus s = natsConnection_Status(m->nc);
    if (s == NATS_CONN_STATUS_CONNECTED) return CORRAL_OK;
    return corral_err_set(err, CORRAL_ERR_BACKEND_UNAVAILABLE, "messaging: NATS is not connected");
}

static const corral_provider_t provider = {
    CORRAL_PROVIDER_ABI_VERSION, sizeof(corral_provider_t), describe, create, destroy,
    link, unlink_, call, health};

const corral_provider_t *corral_provider_messaging(void) { return &provider; }

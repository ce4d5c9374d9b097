/*
 * logging.c - the wasmcloud:logging provider (and waSCC's wascc:logging with
 * its older payload): WriteLog requests become host log lines tagged with the
 * calling actor's public key and, when a link gave it, its name.
 *
 * Threads: `call` runs on many workers at once; the table of actor names is
 * guarded by a mutex (written by link/unlink, read per call).
 */
#include "../corral_provider_int.h"
#include "../msgpack/corral_mp.h"

#include <pthread.h>
#include <string.h>

typedef struct log_actor {
    char *key;
    char *link;
    char *name;
    struct log_actor *next;
} log_actor_t;

typedef struct log_inst {
    const corral_provider_host_t *host;
    pthread_mutex_t lock;
    log_actor_t *actors;
} log_inst_t;

static const char *const aliases_[] = {CORRAL_CONTRACT_LOGGING_WASCC, NULL};

static void lg_describe(corral_provider_info_t *info) {
    info->contract_id = CORRAL_CONTRACT_LOGGING;
    info->contract_aliases = aliases_;
    info->name = "logging";
    info->description = "actor log lines into the host's log";
    info->version = "1.0";
}

static corral_status_t lg_create(const corral_provider_kv_t *config, size_t n_config,
                                 const corral_provider_host_t *host, void **instance,
                                 corral_err_t *err) {
    *instance = NULL;
    if (!host || host->abi_version != CORRAL_PROVIDER_ABI_VERSION ||
        host->struct_size < sizeof(corral_provider_host_t) || !host->alloc || !host->free)
        return corral_err_set(err, CORRAL_ERR_PROVIDER_ABI,
                              "logging provider: host services table has the wrong ABI");
    log_inst_t *in = corral_calloc(1, sizeof *in);
    if (!in) return corral_err_set(err, CORRAL_ERR_NOMEM, "logging provider: out of memory");
    in->host = host;
    pthread_mutex_init(&in->lock, NULL);
    *instance = in;
    return CORRAL_OK;
}

static void actor_free(log_actor_t *a) {
    corral_free(a->key);
    corral_free(a->link);
    corral_free(a->name);
    corral_free(a);
}

static void lg_destroy(void *instance) {
    log_inst_t *in = instance;
    if (!in) return;
    while (in->actors) {
        log_actor_t *a = in->actors;
        in->actors = a->next;
        actor_free(a);
    }
    pthread_mutex_destroy(&in->lock);
    corral_free(in);
}

static log_actor_t **find(log_inst_t *in, const char *key, const char *link) {
    for (log_actor_t **pp = &in->actors; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->key, key) == 0 && (!link || strcmp((*pp)->link, link) == 0)) return pp;
    return NULL;
}

static const char *norm_link(const char *l) { return l && *l ? l : "default"; }

static void lg_unlink(void *instance, const char *actor_key, const char *link_name) {
    log_inst_t *in = instance;
    if (!actor_key) return;
    pthread_mutex_lock(&in->lock);
    log_actor_t **pp = find(in, actor_key, norm_link(link_name));
    log_actor_t *a = pp ? *pp : NULL;
    if (a) *pp = a->next;
    pthread_mutex_unlock(&in->lock);
    if (a) actor_free(a);
}

static corral_status_t lg_link(void *instance, const char *actor_key, const char *link_name,
                               const corral_provider_kv_t *values, size_t n_values,
                               corral_err_t *err) {
    log_inst_t *in = instance;
    if (!actor_key || !*actor_key)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "logging: link without an actor key");
    const char *name = corral_provider_kv_get(values, n_values, "__wasmcloud_name");
    log_actor_t *a = corral_calloc(1, sizeof *a);
    if (!a || !(a->key = corral_strdup(actor_key)) ||
        !(a->link = corral_strdup(norm_link(link_name))) ||
        !(a->name = corral_strdup(name ? name : ""))) {
        if (a) actor_free(a);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "logging: out of memory");
    }
    lg_unlink(in, actor_key, link_name);
    pthread_mutex_lock(&in->lock);
    a->next = in->actors;
    in->actors = a;
    pthread_mutex_unlock(&in->lock);
    return CORRAL_OK;
}

static corral_log_level_t level_of(const corral_mp_str_t *s) {
    static const struct {
        const char *name;
        corral_log_level_t level;
    } names[] = {{"error", CORRAL_LOG_ERROR},
                 {"warn", CORRAL_LOG_WARN},
                 {"info", CORRAL_LOG_INFO},
                 {"debug", CORRAL_LOG_DEBUG},
                 {"trace", CORRAL_LOG_TRACE}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (s->n == strlen(names[i].name) && memcmp(s->p, names[i].name, s->n) == 0)
            return names[i].level;
    return CORRAL_LOG_INFO;
}

static corral_status_t lg_call(void *instance, const corral_provider_call_t *call,
                               corral_provider_bytes_t *resp, corral_err_t *err) {
    log_inst_t *in = instance;
    resp->data = NULL;
    resp->len = 0;
    const char *op = call->operation ? call->operation : "";
    if (strcmp(op, "WriteLog") != 0)
        return corral_err_set(err, CORRAL_ERR_UNSUPPORTED, "wasmcloud:logging has no operation '%.64s'",
                              op);
    int wascc = call->contract_id && strcmp(call->contract_id, CORRAL_CONTRACT_LOGGING_WASCC) == 0;
    corral_mp_doc_t doc;
    corral_status_t st = corral_mp_doc_parse(&doc, "WriteLog", call->payload, call->payload_len, err);
    if (st != CORRAL_OK) return st;
    corral_log_level_t level;
    corral_mp_str_t target = {(const uint8_t *)"", 0}, text;
    if (wascc) {
        uint32_t lv;
        if ((st = corral_mp_get_u32(&doc, "level", &lv, err)) != CORRAL_OK ||
            (st = corral_mp_get_str(&doc, "body", &text, err)) != CORRAL_OK)
            goto out;
        level = lv >= 1 && lv <= 5 ? (corral_log_level_t)(lv - 1) : CORRAL_LOG_INFO;
    } else {
        corral_mp_str_t lvs;
        if ((st = corral_mp_get_str(&doc, "target", &target, err)) != CORRAL_OK ||
            (st = corral_mp_get_str(&doc, "level", &lvs, err)) != CORRAL_OK ||
            (st = corral_mp_get_str(&doc, "text", &text, err)) != CORRAL_OK)
            goto out;
        level = level_of(&lvs);
    }
    char name[128] = "";
    const char *key = call->actor_key ? call->actor_key : "?";
    pthread_mutex_lock(&in->lock);
    log_actor_t **pp = find(in, key, NULL);
    if (pp) snprintf(name, sizeof name, "%s", (*pp)->name);
    pthread_mutex_unlock(&in->lock);
    /* Text is the guest's: bounded, and %.*s keeps embedded bytes from
     * being read as format directives. */
    int tl = text.n > 4000 ? 4000 : (int)text.n;
    int gl = target.n > 200 ? 200 : (int)target.n;
    if (gl)
        corral_provider_logf(in->host, level, "actor", "%s (%s) [%.*s] %.*s", key,
                             name[0] ? name : "unnamed", gl, (const char *)target.p, tl,
                             (const char *)text.p);
    else
        corral_provider_logf(in->host, level, "actor", "%s (%s) %.*s", key,
                             name[0] ? name : "unnamed", tl, (const char *)text.p);
out:
    corral_mp_doc_deinit(&doc);
    return st;
}

const corral_provider_t corral_provider_logging = {
    CORRAL_PROVIDER_ABI_VERSION, sizeof(corral_provider_t), lg_describe, lg_create, lg_destroy,
    lg_link, lg_unlink, lg_call, NULL};

/*
 * lattice.c - one host's membership of a lattice (docs/lattice.md): the NATS
 * connection (cnats), the rpc subscriptions of local actors and providers,
 * incoming invocations (decoded, chunks fetched, anti-forgery verified, then
 * dispatched to the host on a small worker pool), outgoing calls with
 * per-call timeouts and chunking, the control subjects, CloudEvents, the
 * heartbeat, and the lattice's JetStream key-value bucket of link
 * definitions and actor claims (watched, so a late host learns every link).
 */
#include <jansson.h>
#include <nats/nats.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "corral_provider_messaging.h"
#include "lattice_int.h"

#define SUBJ_MAX 640
#define CHUNK_HEADROOM (16u << 10)
#define CORRAL_LATTICE_QUEUE_MAX 4096 /* incoming invocations waiting for a worker */
#define REQUEUED_HDR "Corral-Requeued-By" /* a request handed back once by a host whose actor stopped */

/* Per rpc subscription, the closure of its handler: whether invocations may
 * be answered on cnats' delivery thread of the subscription itself (see
 * on_rpc). Lives until corral_lattice_free, as cnats may run the handler
 * until the connection is gone. */
typedef struct rpc_ctx {
    struct corral_lattice *lat;
    atomic_uint_fast64_t cost_ns; /* moving average of handling one invocation */
    atomic_uint_fast64_t handled; /* invocations handled so far */
    atomic_int nested;            /* its callee called out through the lattice */
    struct rpc_ctx *next;
} rpc_ctx_t;

/* A subscription of an rpc subject for a local actor or provider. */
typedef struct rpc_sub {
    char key[CORRAL_HOST_KEY_LEN];
    char *contract_id; /* NULL for an actor */
    char *link_name;
    natsSubscription *sub;
    rpc_ctx_t *ctx;
    int seen;        /* mark for sync */
    int manual;      /* added by corral_lattice_provider_add: not in the inventory */
    int claims_put;  /* its claims are in the bucket (actors) */
    int health;      /* last health published: -1 none, 0 failed, 1 passed */
    json_int_t rev;  /* revision last seen (actors; -1 none yet) */
} rpc_sub_t;

/* A provider somewhere in the lattice (from announcements and links). */
typedef struct dir_entry {
    char key[CORRAL_HOST_KEY_LEN];
    char *contract_id, *link_name;
} dir_entry_t;

/* A link definition learned from the bucket (deletes carry no value). */
typedef struct link_entry {
    char *kv_key, *actor, *contract_id, *link_name;
} link_entry_t;

/* The claims of an actor learned from the bucket, as the __wasmcloud_* link
 * values the providers of this host get for it when it runs elsewhere. */
typedef struct claims_entry {
    char key[CORRAL_HOST_KEY_LEN];
    char *vals[5]; /* issuer, capabilities, name, expires, tags */
} claims_entry_t;

/* An alias learned from the claims in the bucket. */
typedef struct alias_entry {
    char *alias;
    char key[CORRAL_HOST_KEY_LEN];
} alias_entry_t;

typedef struct work_item {
    natsMsg *msg;
    rpc_ctx_t *ctx;
    int verified; /* handed over after its token was checked (see handle_rpc) */
    struct work_item *next;
} work_item_t;

struct corral_lattice {
    corral_host_t *host;
    char *name, *url, *creds;
    corral_nkey_t cluster;
    char cluster_pub[CORRAL_NKEY_PUBLIC_LEN + 1];
    corral_nkey_t user;  /* NATS user nkey (has_seed 0 when none) */
    char user_pub[CORRAL_NKEY_PUBLIC_LEN + 1];
    char **issuers;
    corral_nkey_t *issuer_keys; /* issuers decoded once, same order */
    size_t nissuers;
    char **label_k, **label_v;
    size_t nlabels;
    uint32_t timeout_ms, heartbeat_ms, nthreads;
    size_t max_chunked;
    int no_kv;
    int unsigned_; /* insecure_unsigned: no token sent, none checked */
    corral_lattice_provider_call_fn provider_call;
    void *provider_call_user;

    natsConnection *nc;
    jsCtx *js;
    kvStore *kv, *chunks;
    natsSubscription *ctl_subs[16];
    size_t nctl;
    corral_lattice_replay_t *replay;
    int64_t max_payload;
    uint64_t started_ns;

    pthread_mutex_t mu; /* subs, dir, links, aliases, ctxs */
    rpc_ctx_t *ctxs;
    rpc_sub_t *subs;
    size_t nsubs;
    dir_entry_t *dir;
    size_t ndir;
    link_entry_t *links;
    size_t nlinks;
    alias_entry_t *aliases;
    size_t naliases;
    /* its own lock: read by the host's link code under the host's control
     * lock, which is taken while lat->mu is held elsewhere */
    pthread_mutex_t cmu;
    claims_entry_t *claims;
    size_t nclaims;

    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    work_item_t *qhead, *qtail;
    size_t qlen;
    pthread_t *workers;
    pthread_t ticker, watcher;
    int have_ticker, have_watcher, nworkers;
    kvWatcher *kvw;
    atomic_int stopping;
    atomic_int hb_asap;   /* another host started: send our heartbeat at the next wake-up */
    atomic_int sync_asap; /* an actor started or was updated: sync at once */
    int started;
    pthread_mutex_t tmu;
    pthread_cond_t tcv;

    atomic_uint_fast64_t calls_out, calls_in, refused, links_applied, chunked_out, chunked_in;
    atomic_long calls_inflight; /* in corral_lattice_call: stop waits for them */
    int closed;                 /* cnats ran our closed callback (under tmu) */
    long live_subs;             /* subscriptions whose handler may still run (under tmu) */
    int hooks_installed;
};

static const char *ev_prefix = "com.wasmcloud.lattice.";

/* Set while this thread applies a link from the bucket, so the host's
 * link_changed hook does not write it back (a loop). */
static _Thread_local int applying_kv;

/* The subscription whose invocation this thread is answering (inline or
 * as a worker), if any: a lattice call made meanwhile marks it `nested`
 * (see on_rpc). */
static _Thread_local rpc_ctx_t *serving_ctx;

/* Invocations are answered inline when handling one takes less than this
 * on average (a moving average over the last few). */
#define INLINE_MAX_NS 1000000u
/* and only bodies up to this size travel inline (larger ones are copied
 * and hashed at length: better spread over the workers) */
#define INLINE_MAX_BYTES (64u << 10)
/* and only once this many invocations were handled by workers (and none of
 * them called out through the lattice) */
#define INLINE_AFTER 8u

/* ---- small helpers ----------------------------------------------------------- */

static char *xstrdup0(const char *s) { return s ? corral_strdup(s) : NULL; }

static int name_ok(const char *s) {
    if (!s || !*s || strlen(s) > 128) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return 0;
    return 1;
}

/* A NATS subject token must not hold '.', '*', '>' or blanks. */
static int token_ok(const char *s) {
    if (!s || !*s) return 0;
    for (; *s; s++)
        if (*s == '.' || *s == '*' || *s == '>' || *s == ' ' || *s == '\t' || *s == '\r' ||
            *s == '\n')
            return 0;
    return 1;
}

static corral_status_t nats_err(corral_err_t *err, natsStatus s, const char *what) {
    return corral_err_set(err, CORRAL_ERR_IO, "%s: %s", what, natsStatus_GetText(s));
}

static void iso_time(char out[32]) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void hex_sha256(const char *s, char out[65]) {
    uint8_t d[32];
    crypto_hash_sha256(d, (const uint8_t *)s, strlen(s));
    static const char hex[] = "0123456789ABCDEF";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = 0;
}

/* ---- events ----------------------------------------------------------------- */

/* Publishes a CloudEvents 1.0 JSON event; steals data. */
static void publish_event(corral_lattice_t *lat, const char *type, json_t *data) {
    if (!lat->nc || !data) {
        json_decref(data);
        return;
    }
    char id[37], t[32], subj[SUBJ_MAX], full[128];
    corral_lattice_new_id(id);
    iso_time(t);
    snprintf(full, sizeof full, "%s%s", ev_prefix, type);
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "specversion", "1.0", "id", id,
                           "type", full, "source", corral_host_key(lat->host), "datacontenttype",
                           "application/json", "time", t, "data", data);
    char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    if (text) {
        snprintf(subj, sizeof subj, "wasmbus.evt.%s", lat->name);
        natsConnection_PublishString(lat->nc, subj, text);
    }
    free(text);
    json_decref(ev);
}

/* ---- provider directory, links, aliases (lat->mu held by callers) ------------ */

static void dir_put(corral_lattice_t *lat, const char *key, const char *contract,
                    const char *link) {
    if (!key || !contract || strlen(key) >= CORRAL_HOST_KEY_LEN) return;
    if (!link || !*link) link = "default";
    for (size_t i = 0; i < lat->ndir; i++)
        if (strcmp(lat->dir[i].key, key) == 0) return;
    dir_entry_t *n = corral_realloc(lat->dir, (lat->ndir + 1) * sizeof *n);
    if (!n) return;
    lat->dir = n;
    dir_entry_t *e = &n[lat->ndir];
    memset(e, 0, sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", key);
    e->contract_id = corral_strdup(contract);
    e->link_name = corral_strdup(link);
    if (!e->contract_id || !e->link_name) {
        corral_free(e->contract_id);
        corral_free(e->link_name);
        return;
    }
    lat->ndir++;
}

static void dir_del(corral_lattice_t *lat, const char *key) {
    for (size_t i = 0; i < lat->ndir; i++)
        if (strcmp(lat->dir[i].key, key) == 0) {
            corral_free(lat->dir[i].contract_id);
            corral_free(lat->dir[i].link_name);
            lat->dir[i] = lat->dir[--lat->ndir];
            return;
        }
}

/* ---- connection ----------------------------------------------------------------- */

static int64_t reconnect_delay(natsConnection *nc, int attempts, void *closure) {
    (void)nc;
    (void)closure;
    int64_t base = 250;
    for (int i = 0; i < attempts && base < 5000; i++) base *= 2;
    if (base > 5000) base = 5000;
    return base + (int64_t)randombytes_uniform((uint32_t)(base / 2 + 1));
}

static void on_disconnected(natsConnection *nc, void *closure) {
    corral_lattice_t *lat = closure;
    if (!atomic_load(&lat->stopping)) {
        const char *why = NULL;
        natsConnection_GetLastError(nc, &why);
        corral_log(CORRAL_LOG_WARN, "lattice",
                   "lost the NATS connection of lattice %s (%s): reconnecting", lat->name,
                   why && *why ? why : "connection closed");
    }
}

/* cnats runs connection callbacks on its own thread, after Close returns:
 * stop waits for this last one before the lattice may be freed. */
static void on_closed(natsConnection *nc, void *closure) {
    corral_lattice_t *lat = closure;
    pthread_mutex_lock(&lat->tmu);
    lat->closed = 1;
    pthread_cond_broadcast(&lat->tcv);
    pthread_mutex_unlock(&lat->tmu);
}

/* A subscription's handler has returned for the last time. */
static void on_sub_complete(void *closure) {
    corral_lattice_t *lat = closure;
    pthread_mutex_lock(&lat->tmu);
    lat->live_subs--;
    pthread_cond_broadcast(&lat->tcv);
    pthread_mutex_unlock(&lat->tmu);
}

/* Counts sub as live until cnats says its handler is done for good. */
static void track_sub(corral_lattice_t *lat, natsSubscription *sub) {
    if (natsSubscription_SetOnCompleteCB(sub, on_sub_complete, lat) != NATS_OK) return;
    pthread_mutex_lock(&lat->tmu);
    lat->live_subs++;
    pthread_mutex_unlock(&lat->tmu);
}

static void on_reconnected(natsConnection *nc, void *closure) {
    corral_lattice_t *lat = closure;
    corral_log(CORRAL_LOG_INFO, "lattice", "reconnected to NATS (lattice %s)", lat->name);
}

/* Signs the server's nonce with the user nkey, on every (re)connect, so the
 * seed never has to sit in a file. cnats frees the signature with free(). */
static natsStatus sign_nonce(char **custom_err, unsigned char **sig, int *sig_len,
                             const char *nonce, void *closure) {
    corral_lattice_t *lat = closure;
    unsigned char *out = malloc(CORRAL_NKEY_SIG_LEN);
    if (!out) return NATS_NO_MEMORY;
    if (corral_nkey_sign(&lat->user, nonce, strlen(nonce), out, NULL) != CORRAL_OK) {
        free(out);
        return NATS_ERR;
    }
    *sig = out;
    *sig_len = CORRAL_NKEY_SIG_LEN;
    return NATS_OK;
}

/* ---- new / free ----------------------------------------------------------------- */

corral_status_t corral_lattice_new(corral_host_t *host, const corral_lattice_config_t *cfg,
                                   corral_lattice_t **out, corral_err_t *err) {
    corral_lattice_config_t def = {0};
    corral_status_t st = CORRAL_OK;
    *out = NULL;
    if (!host) return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "lattice: no host given");
    if (!cfg) cfg = &def;
    const char *name = cfg->lattice && *cfg->lattice ? cfg->lattice : CORRAL_LATTICE_DEFAULT_NAME;
    if (!name_ok(name))
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "lattice name '%.64s' is not valid: use letters, digits, '-' and '_'",
                              name);
    corral_lattice_t *lat = corral_calloc(1, sizeof *lat);
    if (!lat) return corral_err_set(err, CORRAL_ERR_NOMEM, "lattice: out of memory");
    pthread_mutex_init(&lat->mu, NULL);
    pthread_mutex_init(&lat->cmu, NULL);
    pthread_mutex_init(&lat->qmu, NULL);
    pthread_cond_init(&lat->qcv, NULL);
    pthread_mutex_init(&lat->tmu, NULL);
    pthread_cond_init(&lat->tcv, NULL);
    lat->host = host;
    lat->name = corral_strdup(name);
    lat->url = corral_strdup(cfg->nats_url && *cfg->nats_url ? cfg->nats_url
                                                             : CORRAL_LATTICE_DEFAULT_URL);
    lat->creds = xstrdup0(cfg->creds_file);
    lat->timeout_ms = cfg->call_timeout_ms ? cfg->call_timeout_ms : CORRAL_LATTICE_DEFAULT_TIMEOUT_MS;
    lat->heartbeat_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : CORRAL_LATTICE_DEFAULT_HEARTBEAT_MS;
    lat->max_chunked = cfg->max_chunked ? cfg->max_chunked : CORRAL_LATTICE_DEFAULT_MAX_CHUNKED;
    lat->nthreads = cfg->rpc_threads ? cfg->rpc_threads : 4;
    lat->no_kv = cfg->no_kv;
    lat->unsigned_ = cfg->insecure_unsigned != 0;
    if (lat->unsigned_)
        corral_log(CORRAL_LOG_WARN, "lattice",
                   "lattice %s: INSECURE: anti-forgery is OFF on this member (insecure_unsigned): "
                   "its invocations carry no token and it runs invocations without checking one, "
                   "so any client of the NATS server can invoke its actors",
                   name);
    lat->provider_call = cfg->provider_call;
    lat->provider_call_user = cfg->provider_call_user;
    if (!lat->name || !lat->url || (cfg->creds_file && !lat->creds))
        goto nomem;
    if (cfg->nkey_seed) {
        if ((st = corral_nkey_load(cfg->nkey_seed, CORRAL_NKEY_USER, &lat->user, err))) {
            corral_err_wrap(err, "NATS user nkey");
            goto fail;
        }
        corral_nkey_public_str(&lat->user, lat->user_pub);
    }
    if (cfg->cluster_seed) {
        if ((st = corral_nkey_load(cfg->cluster_seed, CORRAL_NKEY_CLUSTER, &lat->cluster, err))) {
            corral_err_wrap(err, "lattice cluster seed");
            goto fail;
        }
    } else {
        if ((st = corral_nkey_generate(CORRAL_NKEY_CLUSTER, &lat->cluster, err))) goto fail;
    }
    corral_nkey_public_str(&lat->cluster, lat->cluster_pub);
    if (!cfg->cluster_seed)
        corral_log(CORRAL_LOG_WARN, "lattice",
                   "no cluster seed given: generated cluster key %s; other hosts of lattice %s "
                   "must list it as a cluster issuer to accept this host's calls",
                   lat->cluster_pub, lat->name);
    lat->issuers = corral_calloc(cfg->n_cluster_issuers + 1, sizeof(char *));
    lat->issuer_keys = corral_calloc(cfg->n_cluster_issuers + 1, sizeof *lat->issuer_keys);
    if (!lat->issuers || !lat->issuer_keys) goto nomem;
    if (!(lat->issuers[lat->nissuers] = corral_strdup(lat->cluster_pub))) goto nomem;
    if ((st = corral_nkey_from_public(lat->cluster_pub, CORRAL_NKEY_CLUSTER,
                                      &lat->issuer_keys[lat->nissuers++], err)))
        goto fail;
    for (size_t i = 0; i < cfg->n_cluster_issuers; i++) {
        if ((st = corral_nkey_from_public(cfg->cluster_issuers[i], CORRAL_NKEY_CLUSTER,
                                          &lat->issuer_keys[lat->nissuers], err))) {
            corral_err_wrap(err, "cluster issuer %zu", i + 1);
            goto fail;
        }
        if (!(lat->issuers[lat->nissuers++] = corral_strdup(cfg->cluster_issuers[i]))) goto nomem;
    }
    if (cfg->nlabels) {
        lat->label_k = corral_calloc(cfg->nlabels, sizeof(char *));
        lat->label_v = corral_calloc(cfg->nlabels, sizeof(char *));
        if (!lat->label_k || !lat->label_v) goto nomem;
        for (size_t i = 0; i < cfg->nlabels; i++) {
            lat->label_k[i] = corral_strdup(cfg->labels[i].key ? cfg->labels[i].key : "");
            lat->label_v[i] = corral_strdup(cfg->labels[i].value ? cfg->labels[i].value : "");
            lat->nlabels++;
            if (!lat->label_k[i] || !lat->label_v[i]) goto nomem;
        }
    }
    if ((st = corral_lattice_replay_new(0, &lat->replay, err))) goto fail;
    *out = lat;
    return CORRAL_OK;
nomem:
    st = corral_err_set(err, CORRAL_ERR_NOMEM, "lattice: out of memory");
fail:
    corral_lattice_free(lat);
    return st;
}

const char *corral_lattice_cluster_key(const corral_lattice_t *lat) { return lat->cluster_pub; }
natsConnection *corral_lattice_connection(const corral_lattice_t *lat) { return lat->nc; }
const char *corral_lattice_name(const corral_lattice_t *lat) { return lat->name; }

void corral_lattice_stats(const corral_lattice_t *lat, corral_lattice_stats_t *out) {
    corral_lattice_t *l = (corral_lattice_t *)lat;
    out->calls_out = atomic_load(&l->calls_out);
    out->calls_in = atomic_load(&l->calls_in);
    out->refused = atomic_load(&l->refused);
    out->links_applied = atomic_load(&l->links_applied);
    out->chunked_out = atomic_load(&l->chunked_out);
    out->chunked_in = atomic_load(&l->chunked_in);
}

void corral_lattice_free(corral_lattice_t *lat) {
    if (!lat) return;
    corral_lattice_stop(lat);
    corral_nkey_wipe(&lat->cluster);
    corral_nkey_wipe(&lat->user);
    for (size_t i = 0; i < lat->nissuers; i++) corral_free(lat->issuers[i]);
    corral_free(lat->issuers);
    corral_free(lat->issuer_keys);
    while (lat->ctxs) {
        rpc_ctx_t *c = lat->ctxs;
        lat->ctxs = c->next;
        corral_free(c);
    }
    for (size_t i = 0; i < lat->nlabels; i++) {
        corral_free(lat->label_k[i]);
        corral_free(lat->label_v[i]);
    }
    corral_free(lat->label_k);
    corral_free(lat->label_v);
    for (size_t i = 0; i < lat->nsubs; i++) {
        corral_free(lat->subs[i].contract_id);
        corral_free(lat->subs[i].link_name);
    }
    corral_free(lat->subs);
    for (size_t i = 0; i < lat->ndir; i++) {
        corral_free(lat->dir[i].contract_id);
        corral_free(lat->dir[i].link_name);
    }
    corral_free(lat->dir);
    for (size_t i = 0; i < lat->nlinks; i++) {
        corral_free(lat->links[i].kv_key);
        corral_free(lat->links[i].actor);
        corral_free(lat->links[i].contract_id);
        corral_free(lat->links[i].link_name);
    }
    corral_free(lat->links);
    for (size_t i = 0; i < lat->naliases; i++) corral_free(lat->aliases[i].alias);
    corral_free(lat->aliases);
    for (size_t i = 0; i < lat->nclaims; i++)
        for (int k = 0; k < 5; k++) corral_free(lat->claims[i].vals[k]);
    corral_free(lat->claims);
    pthread_mutex_destroy(&lat->cmu);
    corral_lattice_replay_free(lat->replay);
    corral_free(lat->creds);
    corral_free(lat->name);
    corral_free(lat->url);
    pthread_mutex_destroy(&lat->mu);
    pthread_mutex_destroy(&lat->qmu);
    pthread_cond_destroy(&lat->qcv);
    pthread_mutex_destroy(&lat->tmu);
    pthread_cond_destroy(&lat->tcv);
    corral_free(lat);
}

/* ---- chunks -------------------------------------------------------------------- */

static size_t chunk_size(const corral_lattice_t *lat) {
    int64_t mp = lat->max_payload > 0 ? lat->max_payload : (1 << 20);
    int64_t c = mp - (int64_t)CHUNK_HEADROOM;
    return (size_t)(c < 4096 ? 4096 : c);
}

static int needs_chunks(const corral_lattice_t *lat, size_t len) {
    return len > chunk_size(lat);
}

/* Stores body under "<prefix>.<i>" keys of the chunk bucket. */
static corral_status_t chunks_put(corral_lattice_t *lat, const char *prefix, const uint8_t *body,
                                  size_t len, corral_err_t *err) {
    if (!lat->chunks)
        return corral_err_set(err, CORRAL_ERR_TOO_LARGE,
                              "a body of %zu bytes is above the NATS limit and this host has no "
                              "JetStream chunk store",
                              len);
    if (len > lat->max_chunked)
        return corral_err_set(err, CORRAL_ERR_TOO_LARGE,
                              "a body of %zu bytes is above the lattice's maximum of %zu bytes",
                              len, lat->max_chunked);
    size_t cs = chunk_size(lat);
    char key[CORRAL_LATTICE_ID_MAX + 32];
    for (size_t off = 0, i = 0; off < len; off += cs, i++) {
        size_t n = len - off < cs ? len - off : cs;
        snprintf(key, sizeof key, "%s.%zu", prefix, i);
        natsStatus s = kvStore_Put(NULL, lat->chunks, key, body + off, (int)n);
        if (s != NATS_OK) return nats_err(err, s, "storing a chunk");
    }
    atomic_fetch_add(&lat->chunked_out, 1);
    return CORRAL_OK;
}

/* Reads total bytes from "<prefix>.<i>" keys into out, deleting them. */
static corral_status_t chunks_get(corral_lattice_t *lat, const char *prefix, uint64_t total,
                                  corral_buf_t *out, corral_err_t *err) {
    if (!lat->chunks)
        return corral_err_set(err, CORRAL_ERR_UNSUPPORTED, "chunked body but no chunk store");
    if (total > lat->max_chunked)
        return corral_err_set(err, CORRAL_ERR_TOO_LARGE,
                              "a chunked body of %llu bytes is above the lattice's maximum of %zu",
                              (unsigned long long)total, lat->max_chunked);
    if (corral_buf_reserve(out, (size_t)total))
        return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory for a chunked body");
    char key[CORRAL_LATTICE_ID_MAX + 32];
    size_t start = out->len;
    for (size_t i = 0; out->len - start < total; i++) {
        kvEntry *e = NULL;
        snprintf(key, sizeof key, "%s.%zu", prefix, i);
        natsStatus s = kvStore_Get(&e, lat->chunks, key);
        if (s != NATS_OK) return nats_err(err, s, "fetching a chunk");
        size_t n = (size_t)kvEntry_ValueLen(e);
        if (n == 0 || n > total - (out->len - start)) {
            kvEntry_Destroy(e);
            return corral_err_set(err, CORRAL_ERR_PARSE, "chunk %zu of %s has a bad size", i,
                                  prefix);
        }
        corral_buf_append(out, kvEntry_Value(e), n);
        kvEntry_Destroy(e);
        kvStore_Purge(lat->chunks, key, NULL);
    }
    atomic_fetch_add(&lat->chunked_in, 1);
    return CORRAL_OK;
}

/* ---- incoming invocations -------------------------------------------------------- */

static void reply_response(corral_lattice_t *lat, natsMsg *msg, const char *inv_id,
                           const uint8_t *body, size_t len, const char *error) {
    const char *reply = natsMsg_GetReply(msg);
    if (!reply || !*reply) return;
    corral_lattice_response_t r = {0};
    r.invocation_id = (char *)(inv_id && *inv_id ? inv_id : "unknown");
    r.error = (char *)error;
    char prefix[CORRAL_LATTICE_ID_MAX + 8];
    corral_err_t err;
    if (!error && len && needs_chunks(lat, len)) {
        snprintf(prefix, sizeof prefix, "%s-r", inv_id);
        if (chunks_put(lat, prefix, body, len, &err) == CORRAL_OK) {
            r.content_length = len;
        } else {
            r.error = err.msg;
            r.content_length = 0;
        }
    } else if (!error) {
        r.msg = (uint8_t *)body;
        r.msg_len = len;
        r.content_length = len;
    }
    corral_buf_t b = CORRAL_BUF_INIT;
    if (corral_lattice_response_encode(&r, &b, NULL) == CORRAL_OK)
        natsConnection_Publish(lat->nc, reply, b.data, (int)b.len);
    corral_buf_free(&b);
}

static void invocation_failed(corral_lattice_t *lat, const corral_lattice_invocation_t *inv,
                              const char *why) {
    json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:s}", "invocation_id",
                          inv && inv->id ? inv->id : "", "origin",
                          inv && inv->origin.public_key ? inv->origin.public_key : "", "target",
                          inv && inv->target.public_key ? inv->target.public_key : "",
                          "operation", inv && inv->operation ? inv->operation : "", "error", why);
    publish_event(lat, "invocation_failed", d);
}

static void sub_remove_at(corral_lattice_t *lat, size_t i);

/* The actor stopped here after the request was routed to us (it was in our
 * queue subscription or worker queue): drop our interest (if the host's
 * stop hook has not yet) and hand the request back to the queue group, so a
 * host still running the actor answers instead of the caller getting "not
 * running". Once only (a header marks it), so it cannot bounce for ever; if
 * no host runs the actor any more the caller times out. 1 if requeued. */
static int requeue(corral_lattice_t *lat, natsMsg *msg, const char *key) {
    const char *seen = NULL;
    const char *reply = natsMsg_GetReply(msg);
    if (!reply || !*reply || natsMsgHeader_Get(msg, REQUEUED_HDR, &seen) == NATS_OK) return 0;
    pthread_mutex_lock(&lat->mu);
    for (size_t i = 0; i < lat->nsubs; i++)
        if (!lat->subs[i].contract_id && strcmp(lat->subs[i].key, key) == 0) {
            sub_remove_at(lat, i);
            break;
        }
    pthread_mutex_unlock(&lat->mu);
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, natsMsg_GetSubject(msg), reply, natsMsg_GetData(msg),
                                  natsMsg_GetDataLength(msg));
    if (s == NATS_OK) s = natsMsgHeader_Set(m, REQUEUED_HDR, corral_host_key(lat->host));
    if (s == NATS_OK) s = natsConnection_PublishMsg(lat->nc, m);
    natsMsg_Destroy(m);
    if (s != NATS_OK) return 0;
    corral_log(CORRAL_LOG_INFO, "lattice", "actor %s stopped here: request handed back to the lattice",
               key);
    return 1;
}

/* Answers one invocation. inline_: on cnats' delivery thread of the
 * subscription (on_rpc): a chunked body (slow to fetch) and an actor found
 * gone (requeue drains this very subscription, which would then wait for
 * itself) are left to a worker instead: returns 1 with *checked set when the
 * token was already verified (its id is in the replay cache now, so the
 * worker must not check it again: pass checked = 1). Otherwise answers and
 * returns 0; msg stays the caller's. */
static int handle_rpc(corral_lattice_t *lat, natsMsg *msg, int inline_, int checked,
                      int *checked_out) {
    corral_lattice_invocation_t inv;
    corral_err_t err;
    corral_buf_t body = CORRAL_BUF_INIT, resp = CORRAL_BUF_INIT;
    const uint8_t *bp;
    size_t bl;
    int deferred = 0;
    corral_err_clear(&err);
    if (corral_lattice_invocation_decode((const uint8_t *)natsMsg_GetData(msg),
                                         (size_t)natsMsg_GetDataLength(msg), &inv, &err)) {
        atomic_fetch_add(&lat->refused, 1);
        invocation_failed(lat, NULL, err.msg);
        reply_response(lat, msg, NULL, NULL, 0, err.msg);
        return 0;
    }
    if (inline_ && inv.msg_len == 0 && inv.content_length > 0) {
        *checked_out = 0;
        deferred = 1;
        goto done;
    }
    corral_lattice_verify_opts_t vo = {(const char *const *)lat->issuers, lat->nissuers, 0, 0,
                                       lat->replay, 0};
    if (inv.msg_len == 0 && inv.content_length > 0) {
        /* no fetching (up to max_chunked bytes) for an invocation whose
         * token does not even verify */
        corral_lattice_verify_opts_t pre = vo;
        pre.replay = NULL;
        pre.no_hash = 1;
        if (!lat->unsigned_ && !checked &&
            corral_lattice_verify_keys(&inv, NULL, 0, &pre, lat->issuer_keys, &err))
            goto refuse;
        if (chunks_get(lat, inv.id, inv.content_length, &body, &err)) goto refuse;
        bp = body.data;
        bl = body.len;
    } else {
        bp = inv.msg;
        bl = inv.msg_len;
    }
    if (!lat->unsigned_ && !checked &&
        corral_lattice_verify_keys(&inv, bp, bl, &vo, lat->issuer_keys, &err))
        goto refuse;
    atomic_fetch_add(&lat->calls_in, 1);
    corral_status_t st;
    if (corral_lattice_entity_is_provider(&inv.target)) {
        if (!lat->provider_call)
            st = corral_err_set(&err, CORRAL_ERR_UNSUPPORTED,
                                "host %s cannot dispatch lattice calls to providers",
                                corral_host_key(lat->host));
        else
            st = lat->provider_call(lat->provider_call_user, inv.target.public_key,
                                    inv.target.contract_id,
                                    inv.target.link_name && *inv.target.link_name
                                        ? inv.target.link_name
                                        : "default",
                                    inv.origin.public_key, inv.operation, bp, bl, &resp, &err);
    } else {
        st = corral_host_call(lat->host, inv.target.public_key, inv.operation, bp, bl, &resp, &err);
        if (st == CORRAL_ERR_NO_ACTOR && inline_) {
            atomic_fetch_sub(&lat->calls_in, 1); /* counted again by the worker */
            *checked_out = 1;
            deferred = 1;
            goto done;
        }
        if (st == CORRAL_ERR_NO_ACTOR && requeue(lat, msg, inv.target.public_key)) {
            atomic_fetch_sub(&lat->calls_in, 1); /* another host serves it */
            goto done;
        }
    }
    reply_response(lat, msg, inv.id, resp.data, resp.len, st ? corral_err_msg(&err) : NULL);
    goto done;
refuse:
    atomic_fetch_add(&lat->refused, 1);
    corral_log(CORRAL_LOG_WARN, "lattice", "refused invocation: %s", err.msg);
    invocation_failed(lat, &inv, err.msg);
    reply_response(lat, msg, inv.id, NULL, 0, err.msg);
done:
    corral_buf_free(&body);
    corral_buf_free(&resp);
    corral_lattice_invocation_deinit(&inv);
    return deferred;
}

/* Folds one handling time into the subscription's moving average (weight
 * 1/4: a slow callee stops inline answering after one or two calls, and a
 * callee that became fast again gets it back after a few). */
static void cost_add(rpc_ctx_t *ctx, uint64_t ns) {
    uint64_t old = atomic_load(&ctx->cost_ns);
    atomic_store(&ctx->cost_ns, old - old / 4 + ns / 4);
    atomic_fetch_add(&ctx->handled, 1);
}

static void *worker_main(void *arg) {
    corral_lattice_t *lat = arg;
    for (;;) {
        pthread_mutex_lock(&lat->qmu);
        while (!lat->qhead && !atomic_load(&lat->stopping)) pthread_cond_wait(&lat->qcv, &lat->qmu);
        work_item_t *w = lat->qhead;
        if (!w) {
            pthread_mutex_unlock(&lat->qmu);
            return NULL;
        }
        lat->qhead = w->next;
        if (!lat->qhead) lat->qtail = NULL;
        lat->qlen--;
        pthread_mutex_unlock(&lat->qmu);
        uint64_t t0 = corral_now_ns();
        serving_ctx = w->ctx;
        handle_rpc(lat, w->msg, 0, w->verified, NULL);
        serving_ctx = NULL;
        cost_add(w->ctx, corral_now_ns() - t0);
        natsMsg_Destroy(w->msg);
        corral_free(w);
    }
}

/* Hands msg to the workers (taking it). */
static void enqueue(corral_lattice_t *lat, rpc_ctx_t *ctx, natsMsg *msg, int verified) {
    work_item_t *w = corral_malloc(sizeof *w);
    if (!w) {
        natsMsg_Destroy(msg);
        return;
    }
    w->msg = msg;
    w->ctx = ctx;
    w->verified = verified;
    w->next = NULL;
    pthread_mutex_lock(&lat->qmu);
    if (atomic_load(&lat->stopping)) { /* the workers may be gone */
        pthread_mutex_unlock(&lat->qmu);
        corral_free(w);
        natsMsg_Destroy(msg);
        return;
    }
    if (lat->qlen >= CORRAL_LATTICE_QUEUE_MAX) { /* answer at once rather than pile up */
        pthread_mutex_unlock(&lat->qmu);
        corral_free(w);
        atomic_fetch_add(&lat->refused, 1);
        reply_response(lat, msg, NULL, NULL, 0, "host is overloaded: too many invocations queued");
        natsMsg_Destroy(msg);
        return;
    }
    lat->qlen++;
    if (lat->qtail) lat->qtail->next = w;
    else lat->qhead = w;
    lat->qtail = w;
    pthread_cond_signal(&lat->qcv);
    pthread_mutex_unlock(&lat->qmu);
}

/* An invocation arrived. Handing it to a worker costs a thread wake-up,
 * which on a busy machine is a good part of a remote call's round trip; so
 * when the callee is known cheap (its first INLINE_AFTER invocations went
 * to workers, none called out through the lattice, and its moving average
 * is below INLINE_MAX_NS), nothing else waits in this subscription and the
 * body is small, it is answered right here on cnats' delivery thread.
 * Otherwise (and whenever calls pile up: those go to the workers, which run
 * them in parallel) the workers take it. A callee that ever calls out
 * through the lattice is never answered inline again (`nested`): a call
 * coming back to this same subscription would have to wait for the thread
 * that waits for it. */
static void on_rpc(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    rpc_ctx_t *ctx = closure;
    corral_lattice_t *lat = ctx->lat;
    int pending = 1;
    if (atomic_load(&lat->stopping)) {
        natsMsg_Destroy(msg);
        return;
    }
    if (!atomic_load(&ctx->nested) && atomic_load(&ctx->handled) >= INLINE_AFTER &&
        atomic_load(&ctx->cost_ns) < INLINE_MAX_NS &&
        natsMsg_GetDataLength(msg) <= (int)INLINE_MAX_BYTES &&
        natsSubscription_GetPending(sub, &pending, NULL) == NATS_OK && pending == 0) {
        int checked = 0;
        uint64_t t0 = corral_now_ns();
        serving_ctx = ctx;
        int deferred = handle_rpc(lat, msg, 1, 0, &checked);
        serving_ctx = NULL;
        cost_add(ctx, corral_now_ns() - t0);
        if (!deferred) {
            natsMsg_Destroy(msg);
            return;
        }
        enqueue(lat, ctx, msg, checked);
        return;
    }
    enqueue(lat, ctx, msg, 0);
}

/* ---- rpc subscriptions and sync ---------------------------------------------------- */

static corral_status_t sub_add(corral_lattice_t *lat, const char *key, const char *contract,
                               const char *link, corral_err_t *err) {
    for (size_t i = 0; i < lat->nsubs; i++)
        if (strcmp(lat->subs[i].key, key) == 0) {
            lat->subs[i].seen = 1;
            return CORRAL_OK;
        }
    if (atomic_load(&lat->stopping))
        return corral_err_set(err, CORRAL_ERR_STATE, "lattice %s is stopping", lat->name);
    if (!token_ok(key) || strlen(key) >= CORRAL_HOST_KEY_LEN || (contract && !token_ok(link)))
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "cannot subscribe '%.80s' / link '%.80s': not a NATS subject token",
                              key, link ? link : "");
    char subj[SUBJ_MAX];
    if (contract)
        snprintf(subj, sizeof subj, "wasmbus.rpc.%s.%s.%s", lat->name, key, link);
    else
        snprintf(subj, sizeof subj, "wasmbus.rpc.%s.%s", lat->name, key);
    rpc_sub_t *n = corral_realloc(lat->subs, (lat->nsubs + 1) * sizeof *n);
    if (!n) return corral_err_set(err, CORRAL_ERR_NOMEM, "lattice: out of memory");
    lat->subs = n;
    rpc_sub_t *s = &n[lat->nsubs];
    memset(s, 0, sizeof *s);
    snprintf(s->key, sizeof s->key, "%s", key);
    s->health = -1;
    s->rev = -1;
    s->contract_id = xstrdup0(contract);
    s->link_name = xstrdup0(link);
    s->ctx = corral_calloc(1, sizeof *s->ctx);
    if (!s->ctx || (contract && !s->contract_id) || (link && !s->link_name)) {
        corral_free(s->ctx);
        corral_free(s->contract_id);
        corral_free(s->link_name);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "lattice: out of memory");
    }
    s->ctx->lat = lat;
    natsStatus ns = natsConnection_QueueSubscribe(&s->sub, lat->nc, subj, key, on_rpc, s->ctx);
    if (ns != NATS_OK) {
        corral_free(s->ctx);
        corral_free(s->contract_id);
        corral_free(s->link_name);
        return nats_err(err, ns, "subscribing an rpc subject");
    }
    s->ctx->next = lat->ctxs; /* freed with the lattice: cnats may still call on_rpc with it */
    lat->ctxs = s->ctx;
    natsSubscription_SetPendingLimits(s->sub, 65536, 256 << 20);
    track_sub(lat, s->sub);
    s->seen = 1;
    lat->nsubs++;
    if (contract) {
        dir_put(lat, key, contract, link);
        publish_event(lat, "provider_started",
                      json_pack("{s:s, s:s, s:s, s:s}", "public_key", key, "contract_id", contract,
                                "link_name", link, "host_id", corral_host_key(lat->host)));
    } else {
        publish_event(lat, "actor_started",
                      json_pack("{s:s, s:s}", "public_key", key, "host_id",
                                corral_host_key(lat->host)));
    }
    return CORRAL_OK;
}

static void sub_remove_at(corral_lattice_t *lat, size_t i) {
    rpc_sub_t *s = &lat->subs[i];
    /* drain, not unsubscribe: requests the server already routed to us are
     * still handed to on_rpc (and requeued by handle_rpc) instead of being
     * dropped, which the caller would only see as a timeout. on_rpc never
     * takes lat->mu, so waiting here under it cannot deadlock. */
    if (natsSubscription_Drain(s->sub) == NATS_OK)
        natsSubscription_WaitForDrainCompletion(s->sub, 2000);
    else
        natsSubscription_Unsubscribe(s->sub);
    natsSubscription_Destroy(s->sub);
    /* a round trip, so the server has dropped the interest before anyone
     * is told the actor is gone (callers then get "no host runs it") */
    natsConnection_FlushTimeout(lat->nc, 1000);
    if (s->contract_id) {
        publish_event(lat, "provider_stopped",
                      json_pack("{s:s, s:s, s:s, s:s}", "public_key", s->key, "contract_id",
                                s->contract_id, "link_name", s->link_name, "host_id",
                                corral_host_key(lat->host)));
        dir_del(lat, s->key);
    } else {
        publish_event(lat, "actor_stopped",
                      json_pack("{s:s, s:s}", "public_key", s->key, "host_id",
                                corral_host_key(lat->host)));
    }
    corral_free(s->contract_id);
    corral_free(s->link_name);
    lat->subs[i] = lat->subs[--lat->nsubs];
}

corral_status_t corral_lattice_provider_add(corral_lattice_t *lat, const char *provider_key,
                                            const char *contract_id, const char *link_name,
                                            corral_err_t *err) {
    if (!lat->nc) return corral_err_set(err, CORRAL_ERR_STATE, "lattice is not started");
    pthread_mutex_lock(&lat->mu);
    corral_status_t st = sub_add(lat, provider_key, contract_id,
                                 link_name && *link_name ? link_name : "default", err);
    for (size_t i = 0; st == CORRAL_OK && i < lat->nsubs; i++)
        if (strcmp(lat->subs[i].key, provider_key) == 0) lat->subs[i].manual = 1;
    pthread_mutex_unlock(&lat->mu);
    return st;
}

static void put_claims(corral_lattice_t *lat, json_t *actor) {
    if (!lat->kv) return;
    const char *key = json_string_value(json_object_get(actor, "key"));
    if (!key || !token_ok(key)) return;
    json_t *c = json_pack("{s:s, s:O, s:O, s:O, s:O, s:O}", "sub", key, "name",
                          json_object_get(actor, "name") ? json_object_get(actor, "name")
                                                         : json_null(),
                          "call_alias",
                          json_object_get(actor, "call_alias") ? json_object_get(actor, "call_alias")
                                                               : json_null(),
                          "rev", json_object_get(actor, "rev") ? json_object_get(actor, "rev")
                                                               : json_null(),
                          "ver", json_object_get(actor, "ver") ? json_object_get(actor, "ver")
                                                               : json_null(),
                          "caps", json_object_get(actor, "caps") ? json_object_get(actor, "caps")
                                                                 : json_null());
    if (c) {
        json_t *x;
        if ((x = json_object_get(actor, "issuer"))) json_object_set(c, "iss", x);
        if ((x = json_object_get(actor, "tags"))) json_object_set(c, "tags", x);
        if ((x = json_object_get(actor, "expires"))) json_object_set(c, "exp", x);
    }
    char *text = c ? json_dumps(c, JSON_COMPACT) : NULL;
    char kk[CORRAL_HOST_KEY_LEN + 16];
    snprintf(kk, sizeof kk, "CLAIMS_%s", key);
    if (text) kvStore_PutString(NULL, lat->kv, kk, text);
    free(text);
    json_decref(c);
}

corral_status_t corral_lattice_sync(corral_lattice_t *lat, corral_err_t *err) {
    if (!lat->nc) return corral_err_set(err, CORRAL_ERR_STATE, "lattice is not started");
    char *inv = NULL;
    corral_status_t st = corral_host_inventory(lat->host, &inv, err);
    if (st) return st;
    json_t *root = json_loads(inv, 0, NULL);
    corral_free(inv);
    if (!root) return corral_err_set(err, CORRAL_ERR_PARSE, "lattice: host inventory is not JSON");
    pthread_mutex_lock(&lat->mu);
    for (size_t i = 0; i < lat->nsubs; i++) lat->subs[i].seen = 0;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(root, "actors"), i, v) {
        const char *key = json_string_value(json_object_get(v, "key"));
        if (!key) continue;
        if (sub_add(lat, key, NULL, NULL, err) != CORRAL_OK) continue;
        json_t *h = json_object_get(v, "health");
        for (size_t k = 0; k < lat->nsubs; k++) {
            rpc_sub_t *s = &lat->subs[k];
            if (strcmp(s->key, key) != 0) continue;
            /* A live update (by the control socket or a lattice command)
             * shows as a new revision: the bucket's claims follow, and
             * actor_updated is announced from here, once. */
            json_t *rv = json_object_get(v, "rev");
            json_int_t rev = json_is_integer(rv) ? json_integer_value(rv) : -1;
            if (s->claims_put && rev > s->rev) {
                put_claims(lat, v);
                publish_event(lat, "actor_updated",
                              json_pack("{s:s, s:I, s:I, s:s}", "public_key", key, "revision",
                                        rev, "previous_revision", s->rev, "host_id",
                                        corral_host_key(lat->host)));
            }
            if (rev > s->rev) s->rev = rev;
            if (!s->claims_put) {
                put_claims(lat, v);
                s->claims_put = 1;
            }
            /* the host's latest health check, announced when it changes */
            if (json_is_object(h)) {
                int ok = json_is_true(json_object_get(h, "healthy"));
                if (ok != s->health) {
                    const char *m = json_string_value(json_object_get(h, "message"));
                    publish_event(lat, ok ? "health_check_passed" : "health_check_failed",
                                  json_pack("{s:s, s:s, s:s}", "public_key", key, "message",
                                            m ? m : "", "host_id", corral_host_key(lat->host)));
                    s->health = ok;
                }
            }
        }
    }
    json_array_foreach(json_object_get(root, "providers"), i, v) {
        const char *key = json_string_value(json_object_get(v, "key"));
        const char *c = json_string_value(json_object_get(v, "contract_id"));
        const char *l = json_string_value(json_object_get(v, "link_name"));
        if (key && c) sub_add(lat, key, c, l && *l ? l : "default", err);
    }
    /* Providers added with corral_lattice_provider_add are not in the
     * inventory: keep them (they are removed only by stop). */
    for (size_t k = lat->nsubs; k-- > 0;) {
        rpc_sub_t *s = &lat->subs[k];
        if (s->seen || s->manual) continue;
        sub_remove_at(lat, k);
    }
    pthread_mutex_unlock(&lat->mu);
    json_decref(root);
    return CORRAL_OK;
}

/* ---- control subjects ------------------------------------------------------------ */

static void reply_json(corral_lattice_t *lat, natsMsg *msg, json_t *j) {
    const char *reply = natsMsg_GetReply(msg);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (reply && *reply && text) natsConnection_PublishString(lat->nc, reply, text);
    free(text);
    json_decref(j);
}

static json_t *labels_json(corral_lattice_t *lat) {
    json_t *o = json_object();
    for (size_t i = 0; i < lat->nlabels; i++)
        json_object_set_new(o, lat->label_k[i], json_string(lat->label_v[i]));
    return o;
}

static json_t *host_summary(corral_lattice_t *lat) {
    return json_pack("{s:s, s:s, s:o, s:I, s:s}", "id", corral_host_key(lat->host), "lattice",
                     lat->name, "labels", labels_json(lat), "uptime_seconds",
                     (json_int_t)((corral_now_ns() - lat->started_ns) / 1000000000ull),
                     "cluster_issuer", lat->cluster_pub);
}

/* la/sa/upd/lp/sp/stop: the control socket's ops, acked as docs/lattice.md says. */
static void handle_cmd(corral_lattice_t *lat, natsMsg *msg, const char *op) {
    static const struct {
        const char *cmd, *op;
    } map[] = {{"la", "start_actor"},   {"sa", "stop_actor"},    {"upd", "update_actor"},
               {"lp", "start_provider"}, {"sp", "stop_provider"}, {"stop", "stop_host"}};
    const char *cop = NULL;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].cmd, op) == 0) cop = map[i].op;
    json_t *req = natsMsg_GetDataLength(msg)
                      ? json_loadb(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), 0, NULL)
                      : json_object();
    if (!cop || !json_is_object(req)) {
        json_decref(req);
        reply_json(lat, msg,
                   json_pack("{s:b, s:s}", "accepted", 0, "error",
                             cop ? "command is not a JSON object" : "unknown command"));
        return;
    }
    json_object_set_new(req, "op", json_string(cop));
    /* A path names a file on this host: over the lattice that would let anyone
     * who can publish here load any module or shared object on disk. Modules
     * travel as bytes (inline or by reference); providers by built-in kind. */
    if (json_object_get(req, "path")) {
        json_decref(req);
        reply_json(lat, msg,
                   json_pack("{s:b, s:s}", "accepted", 0, "error",
                             strcmp(op, "lp") == 0
                                 ? "a provider path is not accepted over the lattice: start a "
                                   "built-in kind, or load shared objects on the host itself"
                                 : "a module path is not accepted over the lattice: send the "
                                   "module itself (module_b64 or module_ref)"));
        return;
    }
    if (json_object_get(req, "artifact")) { /* a file on this host too; "engine" passes */
        json_decref(req);
        reply_json(lat, msg,
                   json_pack("{s:b, s:s}", "accepted", 0, "error",
                             "an AOT artifact path is not accepted over the lattice: use "
                             "engine aot or auto (the host's own cache)"));
        return;
    }
    /* A module above the server's message limit comes by reference: the
     * client put it in the chunk bucket; fetch it and hand it on inline, so
     * the host verifies its claims exactly as for any other module. */
    json_t *ref = json_object_get(req, "module_ref");
    if (ref && (strcmp(op, "la") == 0 || strcmp(op, "upd") == 0)) {
        const char *pfx = json_string_value(json_object_get(ref, "prefix"));
        json_t *sz = json_object_get(ref, "size");
        corral_err_t err;
        corral_buf_t mod = CORRAL_BUF_INIT, b64 = CORRAL_BUF_INIT;
        const char *why = NULL;
        if (!pfx || !*pfx || strlen(pfx) > 64 ||
            pfx[strspn(pfx, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")] || !json_is_integer(sz) ||
            json_integer_value(sz) <= 0)
            why = "module_ref needs a prefix ([A-Za-z0-9_-], at most 64) and a positive size";
        else if (json_object_get(req, "module_b64") || json_object_get(req, "path"))
            why = "give module_ref alone, without module_b64 or path";
        else if (chunks_get(lat, pfx, (uint64_t)json_integer_value(sz), &mod, &err))
            why = err.msg;
        else if (corral_base64_encode(mod.data, mod.len, &b64) ||
                 corral_buf_append(&b64, "", 1))
            why = "out of memory";
        if (!why) {
            json_object_del(req, "module_ref");
            json_object_set_new(req, "module_b64", json_string((const char *)b64.data));
        }
        corral_buf_free(&mod);
        corral_buf_free(&b64);
        if (why) {
            json_decref(req);
            reply_json(lat, msg, json_pack("{s:b, s:s}", "accepted", 0, "error", why));
            return;
        }
    }
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char *reply = NULL;
    if (!text || corral_host_control_exec(lat->host, text, strlen(text), &reply)) {
        free(text);
        reply_json(lat, msg, json_pack("{s:b, s:s}", "accepted", 0, "error", "out of memory"));
        return;
    }
    free(text);
    json_t *r = json_loads(reply, 0, NULL);
    corral_free(reply);
    int ok = json_is_true(json_object_get(r, "ok"));
    json_t *ack = json_pack("{s:b}", "accepted", ok);
    json_t *rerr = json_object_get(r, "error");
    if (!ok) json_object_set_new(ack, "error", rerr ? json_incref(rerr) : json_string("failed"));
    else if (json_object_get(r, "result"))
        json_object_set(ack, "result", json_object_get(r, "result"));
    json_decref(r);
    /* subscriptions and claims follow before the ack, so whoever waits for it
     * can call the actor at once */
    if (ok && strcmp(op, "stop") != 0) corral_lattice_sync(lat, NULL);
    /* (a successful update is announced by the sync above, as a new revision) */
    if (strcmp(op, "upd") == 0 && !ok)
        publish_event(lat, "actor_update_failed",
                      json_pack("{s:s, s:O}", "host_id", corral_host_key(lat->host), "ack", ack));
    reply_json(lat, msg, ack);
}

static int labels_match(corral_lattice_t *lat, json_t *constraints) {
    const char *k;
    json_t *v;
    json_object_foreach(constraints, k, v) {
        const char *want = json_string_value(v);
        int found = 0;
        for (size_t i = 0; i < lat->nlabels; i++)
            if (strcmp(lat->label_k[i], k) == 0 && want && strcmp(lat->label_v[i], want) == 0)
                found = 1;
        if (!found) return 0;
    }
    return 1;
}

static json_t *kv_list(corral_lattice_t *lat, const char *prefix) {
    json_t *arr = json_array();
    if (!lat->kv) return arr;
    kvKeysList l = {0};
    if (kvStore_Keys(&l, lat->kv, NULL) != NATS_OK) return arr;
    for (int i = 0; i < l.Count; i++) {
        if (strncmp(l.Keys[i], prefix, strlen(prefix)) != 0) continue;
        kvEntry *e = NULL;
        if (kvStore_Get(&e, lat->kv, l.Keys[i]) != NATS_OK) continue;
        json_t *j = json_loadb(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), 0, NULL);
        if (j) json_array_append_new(arr, j);
        kvEntry_Destroy(e);
    }
    kvKeysList_Destroy(&l);
    return arr;
}

static void on_ctl(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    corral_lattice_t *lat = closure;
    const char *subj = natsMsg_GetSubject(msg);
    char pfx[SUBJ_MAX];
    int n = snprintf(pfx, sizeof pfx, "wasmbus.ctl.%s.", lat->name);
    const char *rest = strncmp(subj, pfx, (size_t)n) == 0 ? subj + n : "";
    const char *hk = corral_host_key(lat->host);
    size_t hl = strlen(hk);
    json_t *req = NULL;
    if (strncmp(rest, "cmd.", 4) == 0 && strncmp(rest + 4, hk, hl) == 0 && rest[4 + hl] == '.') {
        handle_cmd(lat, msg, rest + 5 + hl);
    } else if (strcmp(rest, "ping.hosts") == 0) {
        reply_json(lat, msg, host_summary(lat));
    } else if (strncmp(rest, "get.", 4) == 0 && strncmp(rest + 4, hk, hl) == 0 &&
               strcmp(rest + 4 + hl, ".inv") == 0) {
        char *inv = NULL;
        json_t *j = NULL;
        if (corral_host_inventory(lat->host, &inv, NULL) == CORRAL_OK) j = json_loads(inv, 0, NULL);
        corral_free(inv);
        if (j) json_object_set_new(j, "labels", labels_json(lat));
        reply_json(lat, msg, j);
    } else if (strcmp(rest, "get.links") == 0) {
        reply_json(lat, msg, json_pack("{s:o}", "links", kv_list(lat, "LINKDEF_")));
    } else if (strcmp(rest, "get.claims") == 0) {
        reply_json(lat, msg, json_pack("{s:o}", "claims", kv_list(lat, "CLAIMS_")));
    } else if (strcmp(rest, "linkdefs.put") == 0 || strcmp(rest, "linkdefs.del") == 0) {
        int put = rest[9] == 'p';
        req = json_loadb(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), 0, NULL);
        const char *a = json_string_value(json_object_get(req, "actor_id"));
        const char *c = json_string_value(json_object_get(req, "contract_id"));
        const char *l = json_string_value(json_object_get(req, "link_name"));
        const char *p = json_string_value(json_object_get(req, "provider_id"));
        corral_err_t err;
        corral_status_t st;
        if (!a || !c) {
            st = corral_err_set(&err, CORRAL_ERR_INVALID_ARG,
                                "a link definition needs actor_id and contract_id");
        } else if (put) {
            json_t *vals = json_object_get(req, "values");
            size_t nv = json_is_object(vals) ? json_object_size(vals) : 0, k = 0;
            corral_host_kv_t *kvs = corral_calloc(nv + 1, sizeof *kvs);
            const char *vk;
            json_t *vv;
            json_object_foreach(vals, vk, vv) {
                if (json_is_string(vv) && kvs) kvs[k++] = (corral_host_kv_t){vk, json_string_value(vv)};
            }
            st = kvs ? corral_lattice_link_put(lat, a, c, l, p, kvs, k, &err)
                     : corral_err_set(&err, CORRAL_ERR_NOMEM, "out of memory");
            corral_free(kvs);
        } else {
            st = corral_lattice_link_del(lat, a, c, l, &err);
        }
        reply_json(lat, msg,
                   st ? json_pack("{s:b, s:s}", "accepted", 0, "error", err.msg)
                      : json_pack("{s:b}", "accepted", 1));
    } else if (strcmp(rest, "auction.actor") == 0 || strcmp(rest, "auction.provider") == 0) {
        req = json_loadb(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), 0, NULL);
        json_t *cons = json_object_get(req, "constraints");
        if (json_is_object(req) && (!cons || (json_is_object(cons) && labels_match(lat, cons))))
            reply_json(lat, msg,
                       json_pack("{s:s, s:O}", "host_id", hk, "constraints",
                                 cons ? cons : json_object()));
    }
    json_decref(req);
    natsMsg_Destroy(msg);
}

/* Events of other hosts: learn where providers run. */
static void on_evt(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    corral_lattice_t *lat = closure;
    json_t *ev = json_loadb(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), 0, NULL);
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *d = json_object_get(ev, "data");
    size_t pl = strlen(ev_prefix);
    if (type && strncmp(type, ev_prefix, pl) == 0) {
        type += pl;
        pthread_mutex_lock(&lat->mu);
        if (strcmp(type, "provider_started") == 0) {
            dir_put(lat, json_string_value(json_object_get(d, "public_key")),
                    json_string_value(json_object_get(d, "contract_id")),
                    json_string_value(json_object_get(d, "link_name")));
        } else if (strcmp(type, "provider_stopped") == 0) {
            const char *k = json_string_value(json_object_get(d, "public_key"));
            if (k) dir_del(lat, k);
        } else if (strcmp(type, "host_heartbeat") == 0) {
            size_t i;
            json_t *p;
            json_array_foreach(json_object_get(d, "providers"), i, p)
                dir_put(lat, json_string_value(json_object_get(p, "key")),
                        json_string_value(json_object_get(p, "contract_id")),
                        json_string_value(json_object_get(p, "link_name")));
        }
        pthread_mutex_unlock(&lat->mu);
        /* A newcomer missed our provider_started events: answer its
         * host_started with a heartbeat now (from the ticker: it reads the
         * host's inventory), not up to heartbeat_ms later. */
        const char *src = json_string_value(json_object_get(ev, "source"));
        if (strcmp(type, "host_started") == 0 && src &&
            strcmp(src, corral_host_key(lat->host)) != 0) {
            pthread_mutex_lock(&lat->tmu);
            atomic_store(&lat->hb_asap, 1);
            pthread_cond_broadcast(&lat->tcv);
            pthread_mutex_unlock(&lat->tmu);
        }
    }
    json_decref(ev);
    natsMsg_Destroy(msg);
}

/* ---- links and claims from the bucket ------------------------------------------------ */

static void link_kv_key(const char *actor, const char *contract, const char *link, char out[80]) {
    char buf[3 * CORRAL_LATTICE_NAME_MAX + 8], h[65];
    snprintf(buf, sizeof buf, "%s|%s|%s", actor, contract, link);
    hex_sha256(buf, h);
    snprintf(out, 80, "LINKDEF_%s", h);
}

/* A link may name its actor by call alias: where the lattice knows the
 * alias (from the claims in the bucket), the link is written and applied
 * under the actor's module key, so a host that does not run the actor, and
 * its providers, see the same key as the calls carry. Unknown names are
 * left as they are (the host resolves its own actors' aliases). Never calls
 * into the host: the host's link hook may hold its locks. */
static const char *actor_key_of(corral_lattice_t *lat, const char *actor,
                                char buf[CORRAL_HOST_KEY_LEN]) {
    if (!actor || strlen(actor) == CORRAL_NKEY_PUBLIC_LEN) return actor;
    const char *key = actor;
    pthread_mutex_lock(&lat->mu);
    for (size_t i = 0; i < lat->naliases; i++)
        if (strcmp(lat->aliases[i].alias, actor) == 0) {
            snprintf(buf, CORRAL_HOST_KEY_LEN, "%s", lat->aliases[i].key);
            key = buf;
            break;
        }
    pthread_mutex_unlock(&lat->mu);
    return key;
}

corral_status_t corral_lattice_link_put(corral_lattice_t *lat, const char *actor,
                                        const char *contract_id, const char *link_name,
                                        const char *provider_key, const corral_host_kv_t *values,
                                        size_t nvalues, corral_err_t *err) {
    char abuf[CORRAL_HOST_KEY_LEN];
    if (!actor || !contract_id)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "link: actor and contract id required");
    if (!link_name || !*link_name) link_name = "default";
    actor = actor_key_of(lat, actor, abuf);
    if (!lat->kv)
        return corral_host_link_put(lat->host, actor, contract_id, link_name, values, nvalues, err);
    json_t *vals = json_object();
    for (size_t i = 0; i < nvalues; i++)
        json_object_set_new(vals, values[i].key, json_string(values[i].value));
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o}", "actor_id", actor, "contract_id",
                          contract_id, "link_name", link_name, "provider_id",
                          provider_key ? provider_key : "", "values", vals);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) return corral_err_set(err, CORRAL_ERR_NOMEM, "link: out of memory");
    char key[80];
    link_kv_key(actor, contract_id, link_name, key);
    /* writing what the bucket already holds would only echo through every
     * watcher (and could loop through a host hook): skip it */
    kvEntry *cur = NULL;
    if (kvStore_Get(&cur, lat->kv, key) == NATS_OK && cur &&
        kvEntry_Operation(cur) == kvOp_Put && (size_t)kvEntry_ValueLen(cur) == strlen(text) &&
        memcmp(kvEntry_Value(cur), text, strlen(text)) == 0) {
        kvEntry_Destroy(cur);
        free(text);
        return CORRAL_OK;
    }
    kvEntry_Destroy(cur);
    natsStatus s = kvStore_PutString(NULL, lat->kv, key, text);
    free(text);
    if (s != NATS_OK) return nats_err(err, s, "storing the link definition");
    publish_event(lat, "linkdef_set",
                  json_pack("{s:s, s:s, s:s, s:s}", "actor_id", actor, "contract_id", contract_id,
                            "link_name", link_name, "provider_id",
                            provider_key ? provider_key : ""));
    return CORRAL_OK;
}

corral_status_t corral_lattice_link_del(corral_lattice_t *lat, const char *actor,
                                        const char *contract_id, const char *link_name,
                                        corral_err_t *err) {
    char abuf[CORRAL_HOST_KEY_LEN];
    if (!actor || !contract_id)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "link: actor and contract id required");
    if (!link_name || !*link_name) link_name = "default";
    if (!lat->kv) return corral_host_link_del(lat->host, actor, contract_id, link_name, err);
    /* under the module key when the alias is known (as link_put wrote it),
     * else under the name as given (written before the alias was known) */
    const char *named = actor;
    actor = actor_key_of(lat, actor, abuf);
    char key[80];
    link_kv_key(actor, contract_id, link_name, key);
    kvEntry *cur = NULL;
    natsStatus s = kvStore_Get(&cur, lat->kv, key);
    kvEntry_Destroy(cur);
    if (s == NATS_NOT_FOUND && actor != named) {
        actor = named;
        link_kv_key(actor, contract_id, link_name, key);
        cur = NULL;
        s = kvStore_Get(&cur, lat->kv, key);
        kvEntry_Destroy(cur);
    }
    if (s == NATS_NOT_FOUND)
        return corral_err_set(err, CORRAL_ERR_NOT_FOUND,
                              "no link of actor %s to %s (link %s) in lattice %s", actor,
                              contract_id, link_name, lat->name);
    s = kvStore_Delete(lat->kv, key);
    if (s != NATS_OK) return nats_err(err, s, "deleting the link definition");
    publish_event(lat, "linkdef_deleted",
                  json_pack("{s:s, s:s, s:s}", "actor_id", actor, "contract_id", contract_id,
                            "link_name", link_name));
    return CORRAL_OK;
}

static void apply_kv_entry(corral_lattice_t *lat, kvEntry *e);

/* "a,b,c" from a JSON array of strings (others skipped); NULL on no memory. */
static char *join_strings(json_t *arr) {
    corral_buf_t b = CORRAL_BUF_INIT;
    size_t i, n = 0;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *t = json_string_value(v);
        if (!t) continue;
        if ((n++ && corral_buf_append_str(&b, ",") != CORRAL_OK) ||
            corral_buf_append_str(&b, t) != CORRAL_OK)
            goto fail;
    }
    if (corral_buf_append(&b, "", 1) != CORRAL_OK) goto fail;
    return (char *)b.data;
fail:
    corral_buf_free(&b);
    return NULL;
}

/* Keeps the claims j (from the bucket) of actor sub as link values.
 * Returns 1 when they are new to this host (not when they replace others). */
static int claims_learn(corral_lattice_t *lat, const char *sub, json_t *j) {
    char exp[24];
    json_t *x = json_object_get(j, "exp");
    snprintf(exp, sizeof exp, "%lld", json_is_integer(x) ? (long long)json_integer_value(x) : 0LL);
    const char *iss = json_string_value(json_object_get(j, "iss"));
    const char *name = json_string_value(json_object_get(j, "name"));
    char *v[5] = {corral_strdup(iss ? iss : ""), join_strings(json_object_get(j, "caps")),
                  corral_strdup(name ? name : ""), corral_strdup(exp),
                  join_strings(json_object_get(j, "tags"))};
    int ok = v[0] && v[1] && v[2] && v[3] && v[4], fresh = 0;
    pthread_mutex_lock(&lat->cmu);
    size_t i;
    for (i = 0; i < lat->nclaims; i++)
        if (strcmp(lat->claims[i].key, sub) == 0) break;
    if (ok && i == lat->nclaims) {
        claims_entry_t *n = corral_realloc(lat->claims, (i + 1) * sizeof *n);
        if (n) {
            lat->claims = n;
            memset(&n[i], 0, sizeof n[i]);
            snprintf(n[i].key, sizeof n[i].key, "%s", sub);
            lat->nclaims++;
            fresh = 1;
        } else {
            ok = 0;
        }
    }
    if (ok)
        for (int k = 0; k < 5; k++) {
            corral_free(lat->claims[i].vals[k]);
            lat->claims[i].vals[k] = v[k];
            v[k] = NULL;
        }
    pthread_mutex_unlock(&lat->cmu);
    for (int k = 0; k < 5; k++) corral_free(v[k]);
    return fresh;
}

/* Claims that arrive after a link of their actor was applied here (a link
 * made before the actor started anywhere): the providers of this host get
 * the link again, now with the __wasmcloud_* values. Only for actors that
 * do not run here (this host's own actors link with their own claims). */
static void relink_remote_actor(corral_lattice_t *lat, const char *sub) {
    char **keys = NULL;
    size_t n = 0, local = 0;
    pthread_mutex_lock(&lat->mu);
    for (size_t i = 0; i < lat->nsubs; i++)
        if (strcmp(lat->subs[i].key, sub) == 0) local = 1;
    if (!local && lat->nlinks && (keys = corral_calloc(lat->nlinks, sizeof *keys)))
        for (size_t i = 0; i < lat->nlinks; i++)
            if (lat->links[i].actor && strcmp(lat->links[i].actor, sub) == 0 &&
                (keys[n] = corral_strdup(lat->links[i].kv_key)))
                n++;
    pthread_mutex_unlock(&lat->mu);
    for (size_t i = 0; i < n; i++) {
        kvEntry *le = NULL;
        if (kvStore_Get(&le, lat->kv, keys[i]) == NATS_OK && le) apply_kv_entry(lat, le);
        kvEntry_Destroy(le);
        corral_free(keys[i]);
    }
    corral_free(keys);
}

static int hook_claims(void *ctx, const char *actor_key, const char *out[5], char *buf, size_t n) {
    corral_lattice_t *lat = ctx;
    int got = 0;
    size_t used = 0;
    pthread_mutex_lock(&lat->cmu);
    for (size_t i = 0; i < lat->nclaims; i++) {
        if (strcmp(lat->claims[i].key, actor_key) != 0) continue;
        got = 1;
        for (int k = 0; k < 5 && got; k++) {
            size_t l = strlen(lat->claims[i].vals[k]) + 1;
            got = used + l <= n; /* too long for buf: none rather than some */
            if (got) {
                out[k] = memcpy(buf + used, lat->claims[i].vals[k], l);
                used += l;
            }
        }
        break;
    }
    pthread_mutex_unlock(&lat->cmu);
    return got;
}

static void apply_kv_entry(corral_lattice_t *lat, kvEntry *e) {
    const char *key = kvEntry_Key(e);
    kvOperation op = kvEntry_Operation(e);
    if (strncmp(key, "LINKDEF_", 8) == 0) {
        if (op == kvOp_Put) {
            json_t *j = json_loadb(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), 0, NULL);
            char abuf[CORRAL_HOST_KEY_LEN];
            const char *a =
                actor_key_of(lat, json_string_value(json_object_get(j, "actor_id")), abuf);
            const char *c = json_string_value(json_object_get(j, "contract_id"));
            const char *l = json_string_value(json_object_get(j, "link_name"));
            const char *p = json_string_value(json_object_get(j, "provider_id"));
            json_t *vals = json_object_get(j, "values");
            if (a && c && l) {
                size_t nv = json_is_object(vals) ? json_object_size(vals) : 0, k = 0;
                corral_host_kv_t *kvs = corral_calloc(nv + 1, sizeof *kvs);
                const char *vk;
                json_t *vv;
                json_object_foreach(vals, vk, vv) {
                    if (json_is_string(vv) && kvs)
                        kvs[k++] = (corral_host_kv_t){vk, json_string_value(vv)};
                }
                corral_err_t err;
                applying_kv = 1;
                corral_status_t lst = kvs ? corral_host_link_put(lat->host, a, c, l, kvs, k, &err)
                                          : CORRAL_ERR_NOMEM;
                applying_kv = 0;
                if (lst == CORRAL_OK)
                    atomic_fetch_add(&lat->links_applied, 1);
                else
                    corral_log(CORRAL_LOG_WARN, "lattice", "link %s %s %s not applied: %s", a, c,
                               l, kvs ? err.msg : "out of memory");
                corral_free(kvs);
                pthread_mutex_lock(&lat->mu);
                if (p && *p) dir_put(lat, p, c, l);
                size_t i;
                for (i = 0; i < lat->nlinks; i++)
                    if (strcmp(lat->links[i].kv_key, key) == 0) break;
                if (i == lat->nlinks) {
                    link_entry_t *n = corral_realloc(lat->links, (lat->nlinks + 1) * sizeof *n);
                    if (n) {
                        lat->links = n;
                        n[i].kv_key = corral_strdup(key);
                        n[i].actor = corral_strdup(a);
                        n[i].contract_id = corral_strdup(c);
                        n[i].link_name = corral_strdup(l);
                        lat->nlinks++;
                    }
                }
                pthread_mutex_unlock(&lat->mu);
            }
            json_decref(j);
        } else {
            pthread_mutex_lock(&lat->mu);
            for (size_t i = 0; i < lat->nlinks; i++) {
                link_entry_t *le = &lat->links[i];
                if (strcmp(le->kv_key, key) != 0) continue;
                applying_kv = 1;
                if (le->actor && le->contract_id && le->link_name)
                    corral_host_link_del(lat->host, le->actor, le->contract_id, le->link_name,
                                         NULL);
                applying_kv = 0;
                corral_free(le->kv_key);
                corral_free(le->actor);
                corral_free(le->contract_id);
                corral_free(le->link_name);
                lat->links[i] = lat->links[--lat->nlinks];
                break;
            }
            pthread_mutex_unlock(&lat->mu);
        }
    } else if (strncmp(key, "CLAIMS_", 7) == 0 && op == kvOp_Put) {
        json_t *j = json_loadb(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), 0, NULL);
        const char *alias = json_string_value(json_object_get(j, "call_alias"));
        const char *sub = json_string_value(json_object_get(j, "sub"));
        if (sub && token_ok(sub) && strlen(sub) < CORRAL_HOST_KEY_LEN && claims_learn(lat, sub, j))
            relink_remote_actor(lat, sub);
        if (alias && *alias && sub && strlen(sub) < CORRAL_HOST_KEY_LEN) {
            pthread_mutex_lock(&lat->mu);
            size_t i;
            for (i = 0; i < lat->naliases; i++)
                if (strcmp(lat->aliases[i].alias, alias) == 0) break;
            if (i == lat->naliases) {
                alias_entry_t *n = corral_realloc(lat->aliases, (i + 1) * sizeof *n);
                if (n && (n[i].alias = corral_strdup(alias))) {
                    lat->aliases = n;
                    lat->naliases++;
                } else if (n) {
                    lat->aliases = n;
                    i = SIZE_MAX;
                }
            }
            if (i != SIZE_MAX) snprintf(lat->aliases[i].key, CORRAL_HOST_KEY_LEN, "%s", sub);
            pthread_mutex_unlock(&lat->mu);
        }
        json_decref(j);
    }
}

static void *watcher_main(void *arg) {
    corral_lattice_t *lat = arg;
    while (!atomic_load(&lat->stopping)) {
        kvEntry *e = NULL;
        natsStatus s = kvWatcher_Next(&e, lat->kvw, 250);
        if (s == NATS_OK && e) {
            apply_kv_entry(lat, e);
            kvEntry_Destroy(e);
        } else if (s != NATS_OK && s != NATS_TIMEOUT) {
            break; /* watcher stopped */
        }
    }
    return NULL;
}

/* ---- heartbeat ticker -------------------------------------------------------------- */

static void heartbeat(corral_lattice_t *lat) {
    char *inv = NULL;
    json_t *d = NULL;
    if (corral_host_inventory(lat->host, &inv, NULL) == CORRAL_OK) d = json_loads(inv, 0, NULL);
    corral_free(inv);
    if (!d) return;
    json_object_set_new(d, "labels", labels_json(lat));
    json_object_set_new(d, "lattice", json_string(lat->name));
    publish_event(lat, "host_heartbeat", d);
}

static void *ticker_main(void *arg) {
    corral_lattice_t *lat = arg;
    uint64_t last_hb = corral_now_ns();
    pthread_mutex_lock(&lat->tmu);
    while (!atomic_load(&lat->stopping)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        if (!atomic_load(&lat->hb_asap) && !atomic_load(&lat->sync_asap))
            pthread_cond_timedwait(&lat->tcv, &lat->tmu, &ts);
        if (atomic_load(&lat->stopping)) break;
        pthread_mutex_unlock(&lat->tmu);
        atomic_store(&lat->sync_asap, 0);
        corral_lattice_sync(lat, NULL);
        uint64_t now = corral_now_ns();
        if (atomic_exchange(&lat->hb_asap, 0) ||
            now - last_hb >= (uint64_t)lat->heartbeat_ms * 1000000ull) {
            heartbeat(lat);
            last_hb = now;
        }
        pthread_mutex_lock(&lat->tmu);
    }
    pthread_mutex_unlock(&lat->tmu);
    return NULL;
}

/* ---- start / stop ----------------------------------------------------------------- */

#ifdef CORRAL_HOST_REMOTE
static corral_status_t host_provider_call(void *user, const char *provider_key,
                                          const char *contract_id, const char *link_name,
                                          const char *origin_actor, const char *operation,
                                          const uint8_t *msg, size_t len, corral_buf_t *resp,
                                          corral_err_t *err) {
    return corral_host_provider_call(user, provider_key, origin_actor, contract_id, link_name,
                                     operation, msg, len, resp, err);
}
#endif

static corral_status_t open_kv(corral_lattice_t *lat, const char *bucket, int64_t ttl_ns,
                               kvStore **out, corral_err_t *err) {
    kvConfig kc;
    kvConfig_Init(&kc);
    kc.Bucket = bucket;
    kc.History = 1;
    kc.TTL = ttl_ns; /* cnats takes nanoseconds */
    natsStatus s = js_CreateKeyValue(out, lat->js, &kc);
    char why[256];
    snprintf(why, sizeof why, "%s", nats_GetLastError(NULL) ? nats_GetLastError(NULL) : "");
    if (s != NATS_OK) s = js_KeyValue(out, lat->js, bucket);
    if (s != NATS_OK) {
        *out = NULL;
        return corral_err_set(err, CORRAL_ERR_IO,
                              "cannot open the JetStream key-value bucket %s (is JetStream "
                              "enabled on the server? nats-server -js): %s",
                              bucket, why[0] ? why : natsStatus_GetText(s));
    }
    return CORRAL_OK;
}

static corral_status_t ctl_sub(corral_lattice_t *lat, const char *suffix, const char *queue,
                               natsMsgHandler cb, corral_err_t *err) {
    char subj[SUBJ_MAX];
    if (lat->nctl >= sizeof lat->ctl_subs / sizeof lat->ctl_subs[0])
        return corral_err_set(err, CORRAL_ERR_INTERNAL, "too many control subscriptions");
    snprintf(subj, sizeof subj, "%s", suffix);
    natsStatus s = queue ? natsConnection_QueueSubscribe(&lat->ctl_subs[lat->nctl], lat->nc, subj,
                                                         queue, cb, lat)
                         : natsConnection_Subscribe(&lat->ctl_subs[lat->nctl], lat->nc, subj, cb,
                                                    lat);
    if (s != NATS_OK) return nats_err(err, s, "subscribing a control subject");
    track_sub(lat, lat->ctl_subs[lat->nctl]);
    lat->nctl++;
    return CORRAL_OK;
}

corral_status_t corral_lattice_start(corral_lattice_t *lat, corral_err_t *err) {
    corral_status_t st = CORRAL_OK;
    natsOptions *o = NULL;
    natsStatus s;
    if (lat->started) return corral_err_set(err, CORRAL_ERR_STATE, "lattice already started");
    const char *hk = corral_host_key(lat->host);
    if (!hk || !*hk)
        return corral_err_set(err, CORRAL_ERR_STATE, "start the host before joining a lattice");
    lat->started = 1;
    atomic_store(&lat->stopping, 0);
    lat->started_ns = corral_now_ns();
    char nm[128];
    snprintf(nm, sizeof nm, "corral host %.56s", hk);
    if ((s = natsOptions_Create(&o)) != NATS_OK ||
        (s = natsOptions_SetServers(o, NULL, 0)) != NATS_OK ||
        (s = natsOptions_SetURL(o, lat->url)) != NATS_OK ||
        (s = natsOptions_SetName(o, nm)) != NATS_OK ||
        (s = natsOptions_SetMaxReconnect(o, -1)) != NATS_OK ||
        (s = natsOptions_SetCustomReconnectDelay(o, reconnect_delay, lat)) != NATS_OK ||
        (s = natsOptions_SetReconnectBufSize(o, 8 << 20)) != NATS_OK ||
        (s = natsOptions_SetSendAsap(o, true)) != NATS_OK ||
        (s = natsOptions_SetDisconnectedCB(o, on_disconnected, lat)) != NATS_OK ||
        (s = natsOptions_SetReconnectedCB(o, on_reconnected, lat)) != NATS_OK ||
        (s = natsOptions_SetClosedCB(o, on_closed, lat)) != NATS_OK) {
        st = nats_err(err, s, "NATS options");
        goto fail;
    }
    if (lat->creds && (s = natsOptions_SetUserCredentialsFromFiles(o, lat->creds, NULL)) != NATS_OK) {
        st = nats_err(err, s, "NATS credentials file");
        goto fail;
    }
    if (lat->user.has_seed &&
        (s = natsOptions_SetNKey(o, lat->user_pub, sign_nonce, lat)) != NATS_OK) {
        st = nats_err(err, s, "NATS user nkey");
        goto fail;
    }
    s = natsConnection_Connect(&lat->nc, o);
    if (s != NATS_OK) {
        lat->nc = NULL;
        st = corral_err_set(err, CORRAL_ERR_IO, "cannot reach NATS at %s: %s", lat->url,
                            natsStatus_GetText(s));
        goto fail;
    }
    lat->max_payload = natsConnection_GetMaxPayload(lat->nc);
    /* wasmcloud:messaging rides on this connection: register it once */
    corral_provider_messaging_use_connection(lat->nc);
    if (!corral_provider_builtin_find("messaging"))
        corral_provider_builtin_register(corral_provider_messaging(), NULL);
    if (!lat->no_kv) {
        char b[160];
        if ((s = natsConnection_JetStream(&lat->js, lat->nc, NULL)) != NATS_OK) {
            st = nats_err(err, s, "JetStream context");
            goto fail;
        }
        snprintf(b, sizeof b, "LATTICEDATA_%s", lat->name);
        if ((st = open_kv(lat, b, 0, &lat->kv, err))) goto fail;
        snprintf(b, sizeof b, "CHUNKS_%s", lat->name);
        if ((st = open_kv(lat, b, (int64_t)600 * 1000000000, &lat->chunks, err))) goto fail;
    }
    /* workers before any rpc subscription */
    lat->workers = corral_calloc(lat->nthreads, sizeof(pthread_t));
    if (!lat->workers) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "lattice: out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < lat->nthreads; i++) {
        if (pthread_create(&lat->workers[i], NULL, worker_main, lat) != 0) {
            st = corral_err_set(err, CORRAL_ERR_INTERNAL, "cannot start a lattice worker thread");
            goto fail;
        }
        lat->nworkers++;
    }
    char subj[SUBJ_MAX];
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.cmd.%s.*", lat->name, hk);
    if ((st = ctl_sub(lat, subj, NULL, on_ctl, err))) goto fail;
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.ping.hosts", lat->name);
    if ((st = ctl_sub(lat, subj, NULL, on_ctl, err))) goto fail;
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.get.%s.inv", lat->name, hk);
    if ((st = ctl_sub(lat, subj, NULL, on_ctl, err))) goto fail;
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.get.links", lat->name);
    if ((st = ctl_sub(lat, subj, "lattice-ctl", on_ctl, err))) goto fail;
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.get.claims", lat->name);
    if ((st = ctl_sub(lat, subj, "lattice-ctl", on_ctl, err))) goto fail;
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.linkdefs.*", lat->name);
    if ((st = ctl_sub(lat, subj, "lattice-ctl", on_ctl, err))) goto fail;
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.auction.*", lat->name);
    if ((st = ctl_sub(lat, subj, NULL, on_ctl, err))) goto fail;
    snprintf(subj, sizeof subj, "wasmbus.evt.%s", lat->name);
    if ((st = ctl_sub(lat, subj, NULL, on_evt, err))) goto fail;
    if ((st = corral_lattice_sync(lat, err))) goto fail;
    if (lat->kv) {
        kvWatchOptions wo;
        kvWatchOptions_Init(&wo);
        if ((s = kvStore_WatchAll(&lat->kvw, lat->kv, &wo)) != NATS_OK) {
            st = nats_err(err, s, "watching the lattice bucket");
            goto fail;
        }
        /* apply everything the bucket already holds before returning, so a
         * late host has every link once started */
        for (;;) {
            kvEntry *e = NULL;
            s = kvWatcher_Next(&e, lat->kvw, 5000);
            if (s != NATS_OK) break;
            if (!e) break; /* nil entry: initial values done */
            apply_kv_entry(lat, e);
            kvEntry_Destroy(e);
        }
        if (pthread_create(&lat->watcher, NULL, watcher_main, lat) != 0) {
            st = corral_err_set(err, CORRAL_ERR_INTERNAL, "cannot start the bucket watcher");
            goto fail;
        }
        lat->have_watcher = 1;
    }
    if (pthread_create(&lat->ticker, NULL, ticker_main, lat) != 0) {
        st = corral_err_set(err, CORRAL_ERR_INTERNAL, "cannot start the heartbeat thread");
        goto fail;
    }
    lat->have_ticker = 1;
#ifdef CORRAL_HOST_REMOTE
    if (!lat->provider_call) {
        lat->provider_call = host_provider_call;
        lat->provider_call_user = lat->host;
    }
    corral_lattice_remote_t hooks;
    corral_lattice_remote_hooks(lat, &hooks);
    corral_host_set_remote(lat->host, &hooks);
    lat->hooks_installed = 1;
#endif
    natsOptions_Destroy(o);
    json_t *hs = host_summary(lat);
    publish_event(lat, "host_started", hs);
    natsConnection_Flush(lat->nc);
    corral_log(CORRAL_LOG_INFO, "lattice", "host %s joined lattice %s at %s (cluster key %s)", hk,
               lat->name, lat->url, lat->cluster_pub);
    return CORRAL_OK;
fail:
    natsOptions_Destroy(o);
    corral_lattice_stop(lat);
    lat->started = 0;
    return st;
}

void corral_lattice_stop(corral_lattice_t *lat) {
    if (!lat || !lat->started || atomic_exchange(&lat->stopping, 1)) return;
#ifdef CORRAL_HOST_REMOTE
    if (lat->hooks_installed) corral_host_set_remote(lat->host, NULL);
    lat->hooks_installed = 0;
#endif
    /* calls already inside corral_lattice_call finish (each bounded by its
     * timeout) before the connection goes away */
    while (atomic_load(&lat->calls_inflight) > 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    if (lat->nc) {
        publish_event(lat, "host_stopped",
                      json_pack("{s:s}", "id", corral_host_key(lat->host)));
        natsConnection_Flush(lat->nc);
    }
    pthread_mutex_lock(&lat->tmu);
    pthread_cond_broadcast(&lat->tcv);
    pthread_mutex_unlock(&lat->tmu);
    if (lat->have_ticker) pthread_join(lat->ticker, NULL);
    lat->have_ticker = 0;
    if (lat->kvw) kvWatcher_Stop(lat->kvw);
    if (lat->have_watcher) pthread_join(lat->watcher, NULL);
    lat->have_watcher = 0;
    kvWatcher_Destroy(lat->kvw);
    lat->kvw = NULL;
    pthread_mutex_lock(&lat->mu);
    for (size_t i = 0; i < lat->nsubs; i++) {
        natsSubscription_Unsubscribe(lat->subs[i].sub);
        natsSubscription_Destroy(lat->subs[i].sub);
        corral_free(lat->subs[i].contract_id);
        corral_free(lat->subs[i].link_name);
    }
    lat->nsubs = 0;
    pthread_mutex_unlock(&lat->mu);
    if (lat->nc) natsConnection_FlushTimeout(lat->nc, 1000);
    for (size_t i = 0; i < lat->nctl; i++) {
        natsSubscription_Unsubscribe(lat->ctl_subs[i]);
        natsSubscription_Destroy(lat->ctl_subs[i]);
    }
    lat->nctl = 0;
    pthread_mutex_lock(&lat->qmu);
    pthread_cond_broadcast(&lat->qcv);
    pthread_mutex_unlock(&lat->qmu);
    for (int i = 0; i < lat->nworkers; i++) pthread_join(lat->workers[i], NULL);
    lat->nworkers = 0;
    corral_free(lat->workers);
    lat->workers = NULL;
    pthread_mutex_lock(&lat->qmu);
    while (lat->qhead) { /* drained by workers; anything left never started */
        work_item_t *w = lat->qhead;
        lat->qhead = w->next;
        natsMsg_Destroy(w->msg);
        corral_free(w);
    }
    lat->qtail = NULL;
    lat->qlen = 0;
    pthread_mutex_unlock(&lat->qmu);
    kvStore_Destroy(lat->kv);
    kvStore_Destroy(lat->chunks);
    lat->kv = lat->chunks = NULL;
    jsCtx_Destroy(lat->js);
    lat->js = NULL;
    if (lat->nc) {
        corral_provider_messaging_use_connection(NULL);
        natsConnection_Close(lat->nc);
        pthread_mutex_lock(&lat->tmu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 5;
        while (!lat->closed && pthread_cond_timedwait(&lat->tcv, &lat->tmu, &ts) == 0) {
        }
        /* and for every handler of ours that cnats may still be running */
        while (lat->live_subs > 0 && pthread_cond_timedwait(&lat->tcv, &lat->tmu, &ts) == 0) {
        }
        if (lat->live_subs > 0)
            corral_log(CORRAL_LOG_WARN, "lattice", "lattice %s: %ld handler(s) still running at stop",
                       lat->name, lat->live_subs);
        pthread_mutex_unlock(&lat->tmu);
        natsConnection_Destroy(lat->nc);
    }
    lat->nc = NULL;
}

/* ---- outgoing calls ----------------------------------------------------------------- */

static const char *target_name(const corral_lattice_entity_t *t) {
    return t->public_key && *t->public_key ? t->public_key : t->contract_id;
}

static corral_status_t call_inner(corral_lattice_t *lat, const corral_lattice_entity_t *origin,
                                  const corral_lattice_entity_t *target, const char *operation,
                                  const uint8_t *payload, size_t len, uint32_t timeout_ms,
                                  corral_buf_t *resp, corral_err_t *err);

corral_status_t corral_lattice_call(corral_lattice_t *lat, const corral_lattice_entity_t *origin,
                                    const corral_lattice_entity_t *target, const char *operation,
                                    const uint8_t *payload, size_t len, uint32_t timeout_ms,
                                    corral_buf_t *resp, corral_err_t *err) {
    corral_status_t st;
    if (serving_ctx) atomic_store(&serving_ctx->nested, 1); /* see on_rpc */
    atomic_fetch_add(&lat->calls_inflight, 1);
    if (!lat->nc || atomic_load(&lat->stopping)) {
        atomic_fetch_sub(&lat->calls_inflight, 1);
        return corral_err_set(err, CORRAL_ERR_STATE, "lattice %s is not running", lat->name);
    }
    st = call_inner(lat, origin, target, operation, payload, len, timeout_ms, resp, err);
    atomic_fetch_sub(&lat->calls_inflight, 1);
    return st;
}

static corral_status_t call_inner(corral_lattice_t *lat, const corral_lattice_entity_t *origin,
                                  const corral_lattice_entity_t *target, const char *operation,
                                  const uint8_t *payload, size_t len, uint32_t timeout_ms,
                                  corral_buf_t *resp, corral_err_t *err) {
    corral_status_t st = CORRAL_OK;
    corral_lattice_invocation_t inv;
    corral_buf_t wire = CORRAL_BUF_INIT;
    natsMsg *reply = NULL;
    corral_lattice_response_t r;
    char pkey[CORRAL_HOST_KEY_LEN] = "";
    int owned = 0; /* inv.id / inv.encoded_claims were allocated */
    memset(&inv, 0, sizeof inv);
    memset(&r, 0, sizeof r);
    if (!target || !operation || !*operation)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "lattice call: target and operation");
    if (!timeout_ms) timeout_ms = lat->timeout_ms;
    int prov = corral_lattice_entity_is_provider(target);
    const char *link = target->link_name && *target->link_name ? target->link_name : "default";
    const char *tkey = target->public_key;
    if (!prov) {
        /* a local callee never leaves the process */
        if (tkey && corral_host_actor_resolve(lat->host, tkey, pkey, NULL) == CORRAL_OK)
            return corral_host_call(lat->host, pkey, operation, payload, len, resp, err);
        if (tkey && strlen(tkey) != CORRAL_NKEY_PUBLIC_LEN) { /* an alias */
            pthread_mutex_lock(&lat->mu);
            for (size_t i = 0; i < lat->naliases; i++)
                if (strcmp(lat->aliases[i].alias, tkey) == 0)
                    snprintf(pkey, sizeof pkey, "%s", lat->aliases[i].key);
            pthread_mutex_unlock(&lat->mu);
            if (!*pkey)
                return corral_err_set(err, CORRAL_ERR_NO_ACTOR,
                                      "no actor with key or alias '%.80s' runs in lattice %s", tkey,
                                      lat->name);
            tkey = pkey;
        }
    } else if (!tkey || !*tkey) {
        pthread_mutex_lock(&lat->mu);
        for (size_t i = 0; i < lat->ndir; i++)
            if (strcmp(lat->dir[i].contract_id, target->contract_id) == 0 &&
                strcmp(lat->dir[i].link_name, link) == 0)
                snprintf(pkey, sizeof pkey, "%s", lat->dir[i].key);
        pthread_mutex_unlock(&lat->mu);
        if (!*pkey)
            return corral_err_set(err, CORRAL_ERR_NO_LINK,
                                  "no provider of %s (link %s) is known in lattice %s",
                                  target->contract_id, link, lat->name);
        tkey = pkey;
    }
    if (!tkey || !token_ok(tkey) || (prov && !token_ok(link)))
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "lattice call: bad target '%.80s'",
                              tkey ? tkey : "");
    if (len > lat->max_chunked)
        return corral_err_set(err, CORRAL_ERR_TOO_LARGE,
                              "calling %s: payload of %zu bytes is above the lattice's maximum of "
                              "%zu bytes",
                              tkey, len, lat->max_chunked);
    /* the envelope borrows the caller's strings; only id and token are ours */
    inv.origin.public_key = (char *)(origin && origin->public_key ? origin->public_key
                                                                  : corral_host_key(lat->host));
    if (origin && corral_lattice_entity_is_provider(origin)) {
        inv.origin.contract_id = origin->contract_id;
        inv.origin.link_name = origin->link_name;
    }
    inv.target.public_key = (char *)tkey;
    if (prov) {
        inv.target.contract_id = target->contract_id;
        inv.target.link_name = (char *)link;
    }
    inv.operation = (char *)operation;
    inv.host_id = (char *)corral_host_key(lat->host);
    inv.content_length = len;
    /* W3C trace context of the call making this one (borrowed, like the rest) */
    char tp[CORRAL_HOST_TRACEPARENT_LEN + 1];
    if (corral_host_traceparent(tp)) inv.traceparent = tp;
    /* id and token live on this stack frame unless the general signing
     * path (fields too long for it, or not UTF-8) had to allocate them */
    char id[37], token[CORRAL_LATTICE_TOKEN_MAX + 1];
    if (lat->unsigned_) {
        corral_lattice_new_id(id);
        inv.id = id;
        inv.encoded_claims = NULL; /* travels as "" */
    } else if (corral_lattice_sign_into(&inv, payload, len, &lat->cluster, lat->cluster_pub, 0, 0,
                                        id, token, sizeof token) == CORRAL_OK) {
        inv.id = id;
        inv.encoded_claims = token;
    } else if ((st = corral_lattice_sign(&inv, payload, len, &lat->cluster, 0, 0, err))) {
        goto out;
    } else {
        owned = 1;
    }
    if (needs_chunks(lat, len)) {
        if ((st = chunks_put(lat, inv.id, payload, len, err))) goto out;
    } else {
        inv.msg = (uint8_t *)payload;
        inv.msg_len = len;
    }
    if ((st = corral_lattice_invocation_encode(&inv, &wire, err))) goto out;
    char subj[SUBJ_MAX];
    if (prov)
        snprintf(subj, sizeof subj, "wasmbus.rpc.%s.%s.%s", lat->name, tkey, link);
    else
        snprintf(subj, sizeof subj, "wasmbus.rpc.%s.%s", lat->name, tkey);
    atomic_fetch_add(&lat->calls_out, 1);
    natsStatus s = natsConnection_Request(&reply, lat->nc, subj, wire.data, (int)wire.len,
                                          (int64_t)timeout_ms);
    if (s == NATS_TIMEOUT) {
        st = corral_err_set(err, CORRAL_ERR_TIMEOUT, "timeout calling %s after %u ms", tkey,
                            timeout_ms);
        goto out;
    }
    if (s == NATS_NO_RESPONDERS) {
        st = prov ? corral_err_set(err, CORRAL_ERR_NO_LINK,
                                   "no host in lattice %s runs provider %s (%s, link %s)",
                                   lat->name, tkey, target->contract_id, link)
                  : corral_err_set(err, CORRAL_ERR_NO_ACTOR,
                                   "no host in lattice %s runs actor %s", lat->name, tkey);
        goto out;
    }
    if (s != NATS_OK) {
        st = corral_err_set(err, CORRAL_ERR_IO, "calling %s over NATS: %s", tkey,
                            natsStatus_GetText(s));
        goto out;
    }
    if ((st = corral_lattice_response_decode((const uint8_t *)natsMsg_GetData(reply),
                                             (size_t)natsMsg_GetDataLength(reply), &r, err))) {
        corral_err_wrap(err, "calling %s", tkey);
        goto out;
    }
    if (strcmp(r.invocation_id, inv.id) != 0) {
        st = corral_err_set(err, CORRAL_ERR_PARSE, "calling %s: the answer is for another call",
                            tkey);
        goto out;
    }
    if (r.error) {
        st = corral_err_set(err, CORRAL_ERR_GUEST, "%s (remote call to %s)", r.error, tkey);
        goto out;
    }
    if (r.msg_len == 0 && r.content_length > 0) {
        char prefix[CORRAL_LATTICE_ID_MAX + 8];
        snprintf(prefix, sizeof prefix, "%s-r", inv.id);
        st = chunks_get(lat, prefix, r.content_length, resp, err);
    } else if (r.msg_len && corral_buf_append(resp, r.msg, r.msg_len)) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    }
out:
    (void)target_name;
    natsMsg_Destroy(reply);
    corral_lattice_response_deinit(&r);
    corral_buf_free(&wire);
    if (owned) {
        corral_free(inv.id);
        corral_free(inv.encoded_claims);
    }
    return st;
}

/* ---- hooks for the host ------------------------------------------------------------ */

static corral_status_t hook_call(void *ctx, const char *origin_key, const char *origin_contract,
                                 const char *origin_link, const char *target,
                                 const char *target_contract, const char *target_link,
                                 const char *operation, const uint8_t *payload, size_t len,
                                 uint32_t timeout_ms, corral_buf_t *resp, corral_err_t *err) {
    corral_lattice_entity_t o = {(char *)origin_key, (char *)origin_contract, (char *)origin_link};
    corral_lattice_entity_t t = {(char *)target, (char *)target_contract, (char *)target_link};
    return corral_lattice_call(ctx, origin_key ? &o : NULL, &t, operation, payload, len,
                               timeout_ms, resp, err);
}

/* The host may call these with its own locks held: they never call back
 * into the host (the claims of a new actor follow at the next tick). */
static void hook_sub(corral_lattice_t *lat, const char *key, const char *contract,
                     const char *link, int running) {
    if (!lat->nc || !key) return;
    pthread_mutex_lock(&lat->mu);
    if (running) {
        sub_add(lat, key, contract, contract ? (link && *link ? link : "default") : NULL, NULL);
    } else {
        for (size_t i = 0; i < lat->nsubs; i++)
            if (strcmp(lat->subs[i].key, key) == 0) {
                sub_remove_at(lat, i);
                break;
            }
    }
    pthread_mutex_unlock(&lat->mu);
}

static void hook_actor(void *ctx, const char *actor_key, int running) {
    corral_lattice_t *lat = ctx;
    hook_sub(lat, actor_key, NULL, NULL, running);
    if (!running) return;
    /* started or live-updated: the ticker syncs now, so the bucket's claims
     * and actor_updated follow at once (not here: we may be called with the
     * host's locks held, and sync reads the host's inventory) */
    pthread_mutex_lock(&lat->tmu);
    atomic_store(&lat->sync_asap, 1);
    pthread_cond_broadcast(&lat->tcv);
    pthread_mutex_unlock(&lat->tmu);
}

static void hook_provider(void *ctx, const char *key, const char *contract, const char *link,
                          int running) {
    hook_sub(ctx, key, contract, link, running);
}

static void hook_link(void *ctx, const char *actor, const char *contract_id,
                      const char *link_name, const corral_host_kv_t *values, size_t nvalues,
                      int put) {
    corral_lattice_t *lat = ctx;
    if (!lat->kv || applying_kv) return;
    if (put)
        corral_lattice_link_put(lat, actor, contract_id, link_name, NULL, values, nvalues, NULL);
    else
        corral_lattice_link_del(lat, actor, contract_id, link_name, NULL);
}

void corral_lattice_remote_hooks(corral_lattice_t *lat, corral_lattice_remote_t *out) {
    out->ctx = lat;
    out->call = hook_call;
    out->actor_changed = hook_actor;
    out->provider_changed = hook_provider;
    out->link_changed = hook_link;
    out->actor_claims = hook_claims;
}

/*
 * numbergen.c - the wasmcloud:builtin:numbergen provider (waSCC:
 * wascc:extras): RequestGuid (a random UUID v4), RequestRandom (uniform in
 * [min, max) from libsodium) and RequestSequence (a counter per actor, from 0).
 * Responses always carry all three keys, with the exact spellings of the
 * contract: guid (str or nil), sequenceNumber (u64), random_number (u32).
 *
 * Threads: `call` runs on many workers at once; the per-actor counters sit in
 * a small hash table under a mutex. No link is needed.
 */
#include "../corral_provider_int.h"
#include "../msgpack/corral_mp.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

typedef struct ng_seq {
    char *actor;
    uint64_t next;
    struct ng_seq *link;
} ng_seq_t;

#define NG_BUCKETS 64

typedef struct ng_inst {
    const corral_provider_host_t *host;
    pthread_mutex_t lock;
    ng_seq_t *buckets[NG_BUCKETS];
} ng_inst_t;

static const char *const aliases_[] = {CORRAL_CONTRACT_NUMBERGEN_WASCC, NULL};

static void ng_describe(corral_provider_info_t *info) {
    info->contract_id = CORRAL_CONTRACT_NUMBERGEN;
    info->contract_aliases = aliases_;
    info->name = "numbergen";
    info->description = "GUIDs, random numbers and per-actor sequences";
    info->version = "1.0";
}

static corral_status_t ng_create(const corral_provider_kv_t *config, size_t n_config,
                                 const corral_provider_host_t *host, void **instance,
                                 corral_err_t *err) {
    *instance = NULL;
    if (!host || host->abi_version != CORRAL_PROVIDER_ABI_VERSION ||
        host->struct_size < sizeof(corral_provider_host_t) || !host->alloc || !host->free)
        return corral_err_set(err, CORRAL_ERR_PROVIDER_ABI,
                              "numbergen provider: host services table has the wrong ABI");
    if (sodium_init() < 0)
        return corral_err_set(err, CORRAL_ERR_INTERNAL, "numbergen: libsodium failed to start");
    ng_inst_t *in = corral_calloc(1, sizeof *in);
    if (!in) return corral_err_set(err, CORRAL_ERR_NOMEM, "numbergen: out of memory");
    in->host = host;
    pthread_mutex_init(&in->lock, NULL);
    *instance = in;
    return CORRAL_OK;
}

static void ng_destroy(void *instance) {
    ng_inst_t *in = instance;
    if (!in) return;
    for (int i = 0; i < NG_BUCKETS; i++)
        while (in->buckets[i]) {
            ng_seq_t *s = in->buckets[i];
            in->buckets[i] = s->link;
            corral_free(s->actor);
            corral_free(s);
        }
    pthread_mutex_destroy(&in->lock);
    corral_free(in);
}

static corral_status_t ng_link(void *instance, const char *actor_key, const char *link_name,
                               const corral_provider_kv_t *values, size_t n_values,
                               corral_err_t *err) {
    return CORRAL_OK; /* nothing per link: sequences are per actor */
}

static void ng_unlink(void *instance, const char *actor_key, const char *link_name) {}

/* Returns the actor's next sequence number (0 first). */
static corral_status_t next_seq(ng_inst_t *in, const char *actor, uint64_t *out,
                                corral_err_t *err) {
    uint64_t h = 5381;
    for (const char *p = actor; *p; p++) h = h * 33 + (unsigned char)*p;
    corral_status_t st = CORRAL_OK;
    pthread_mutex_lock(&in->lock);
    ng_seq_t **pp = &in->buckets[h % NG_BUCKETS];
    while (*pp && strcmp((*pp)->actor, actor) != 0) pp = &(*pp)->link;
    if (!*pp) {
        ng_seq_t *s = corral_calloc(1, sizeof *s);
        if (!s || !(s->actor = corral_strdup(actor))) {
            corral_free(s);
            st = corral_err_set(err, CORRAL_ERR_NOMEM, "RequestSequence: out of memory");
        } else {
            *pp = s;
        }
    }
    if (st == CORRAL_OK) *out = (*pp)->next++;
    pthread_mutex_unlock(&in->lock);
    return st;
}

static void make_guid(char out[37]) {
    uint8_t b[16];
    randombytes_buf(b, sizeof b);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static corral_status_t ng_call(void *instance, const corral_provider_call_t *call,
                               corral_provider_bytes_t *resp, corral_err_t *err) {
    ng_inst_t *in = instance;
    resp->data = NULL;
    resp->len = 0;
    const char *op = call->operation ? call->operation : "";
    int which = strcmp(op, "RequestGuid") == 0       ? 0
                : strcmp(op, "RequestRandom") == 0   ? 1
                : strcmp(op, "RequestSequence") == 0 ? 2
                                                     : -1;
    if (which < 0)
        return corral_err_set(err, CORRAL_ERR_UNSUPPORTED,
                              "wasmcloud:builtin:numbergen has no operation '%.64s'", op);
    corral_mp_doc_t doc;
    corral_status_t st = corral_mp_doc_parse(&doc, op, call->payload, call->payload_len, err);
    if (st != CORRAL_OK) return st;
    bool b;
    uint32_t min = 0, max = 0;
    if ((st = corral_mp_get_bool(&doc, "guid", &b, err)) != CORRAL_OK ||
        (st = corral_mp_get_bool(&doc, "sequence", &b, err)) != CORRAL_OK ||
        (st = corral_mp_get_bool(&doc, "random", &b, err)) != CORRAL_OK ||
        (st = corral_mp_get_u32(&doc, "min", &min, err)) != CORRAL_OK ||
        (st = corral_mp_get_u32(&doc, "max", &max, err)) != CORRAL_OK) {
        corral_mp_doc_deinit(&doc);
        return st;
    }
    corral_mp_doc_deinit(&doc);

    char guid[37];
    uint64_t seq = 0;
    uint32_t rnd = 0;
    if (which == 0) {
        make_guid(guid);
    } else if (which == 1) {
        if (min >= max)
            return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                  "RequestRandom: min (%u) must be below max (%u): the range is "
                                  "[min, max)",
                                  (unsigned)min, (unsigned)max);
        rnd = min + randombytes_uniform(max - min);
    } else {
        st = next_seq(in, call->actor_key ? call->actor_key : "", &seq, err);
        if (st != CORRAL_OK) return st;
    }

    corral_buf_t out = CORRAL_BUF_INIT;
    msgpack_packer pk;
    corral_mp_packer_init(&pk, &out);
    int rc = msgpack_pack_map(&pk, 3);
    rc |= corral_mp_pack_cstr(&pk, "guid");
    rc |= which == 0 ? corral_mp_pack_cstr(&pk, guid) : msgpack_pack_nil(&pk);
    rc |= corral_mp_pack_cstr(&pk, "sequenceNumber");
    rc |= msgpack_pack_uint64(&pk, seq);
    rc |= corral_mp_pack_cstr(&pk, "random_number");
    rc |= msgpack_pack_uint32(&pk, rnd);
    if (rc) {
        corral_buf_free(&out);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "%s: out of memory", op);
    }
    return corral_provider_respond(in->host, &out, resp, err);
}

const corral_provider_t corral_provider_numbergen = {
    CORRAL_PROVIDER_ABI_VERSION, sizeof(corral_provider_t), ng_describe, ng_create, ng_destroy,
    ng_link, ng_unlink, ng_call, NULL};

/*
 * antiforgery.c - the invocation token of docs/lattice.md: a wascap-format
 * JWT signed by a cluster key (C...) whose "wascap" claim carries
 * {target_url, origin_url, hash}, as wasmCloud's Claims<Invocation> does;
 * and the replay cache that refuses an invocation id seen within its token's
 * validity window. Token signing and signature checks are the claims
 * module's; this file binds the token to the envelope.
 */
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "lattice_int.h"

corral_status_t corral_lattice_entity_url(const corral_lattice_entity_t *e, corral_buf_t *out) {
    corral_status_t st;
    if (!corral_lattice_entity_is_provider(e))
        return corral_buf_printf(out, "wasmbus://%s", e->public_key ? e->public_key : "");
    if ((st = corral_buf_append_str(out, "wasmbus://"))) return st;
    for (const char *p = e->contract_id; *p; p++)
        if ((st = corral_buf_append(out, *p == ':' ? "/" : p, 1))) return st;
    return corral_buf_printf(out, "/%s/%s",
                             e->link_name && e->link_name[0] ? e->link_name : "default",
                             e->public_key ? e->public_key : "");
}

/* origin_url, target_url (with "/operation") and the hash, for one envelope. */
typedef struct inv_urls {
    corral_buf_t origin, target;
    char hash[65];
} inv_urls_t;

static void urls_deinit(inv_urls_t *u) {
    corral_buf_free(&u->origin);
    corral_buf_free(&u->target);
}

static corral_status_t urls_make(const corral_lattice_invocation_t *inv, const uint8_t *body,
                                 size_t body_len, inv_urls_t *u, corral_err_t *err) {
    memset(u, 0, sizeof *u);
    if (corral_lattice_entity_url(&inv->origin, &u->origin) ||
        corral_lattice_entity_url(&inv->target, &u->target) ||
        corral_buf_printf(&u->target, "/%s", inv->operation) || corral_buf_terminate(&u->origin) ||
        corral_buf_terminate(&u->target)) {
        urls_deinit(u);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "invocation: out of memory");
    }
    crypto_hash_sha256_state h;
    uint8_t d[32];
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, u->origin.data, u->origin.len);
    crypto_hash_sha256_update(&h, u->target.data, u->target.len);
    crypto_hash_sha256_update(&h, (const uint8_t *)inv->operation, strlen(inv->operation));
    if (body_len) crypto_hash_sha256_update(&h, body, body_len);
    crypto_hash_sha256_final(&h, d);
    static const char hex[] = "0123456789ABCDEF";
    for (int i = 0; i < 32; i++) {
        u->hash[2 * i] = hex[d[i] >> 4];
        u->hash[2 * i + 1] = hex[d[i] & 15];
    }
    u->hash[64] = 0;
    return CORRAL_OK;
}

void corral_lattice_new_id(char out[37]) {
    uint8_t b[16];
    randombytes_buf(b, sizeof b);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = 0;
}

corral_status_t corral_lattice_sign(corral_lattice_invocation_t *inv, const uint8_t *body,
                                    size_t body_len, const corral_nkey_t *cluster, int64_t now,
                                    uint32_t ttl_s, corral_err_t *err) {
    corral_status_t st = CORRAL_OK;
    inv_urls_t u;
    json_t *claims = NULL;
    char *text = NULL, *token = NULL;
    if (!cluster || cluster->type != CORRAL_NKEY_CLUSTER)
        return corral_err_set(err, CORRAL_ERR_KEY_TYPE, "invocations are signed by a cluster key (C...)");
    if (!body) {
        body = inv->msg;
        body_len = inv->msg_len;
    }
    if (!inv->id) {
        char id[37];
        corral_lattice_new_id(id);
        if (!(inv->id = corral_strdup(id)))
            return corral_err_set(err, CORRAL_ERR_NOMEM, "invocation: out of memory");
    }
    if ((st = urls_make(inv, body, body_len, &u, err))) return st;
    if (!now) now = corral_unix_time();
    if (!ttl_s) ttl_s = CORRAL_LATTICE_TOKEN_TTL_S;
    char iss[CORRAL_NKEY_PUBLIC_LEN + 1], jti[CORRAL_CLAIMS_JTI_LEN + 1];
    corral_nkey_public_str(cluster, iss);
    corral_claims_new_jti(jti);
    claims = json_pack("{s:s, s:I, s:s, s:s, s:I, s:{s:s, s:s, s:s}}", "jti", jti, "iat",
                       (json_int_t)now, "iss", iss, "sub", inv->id, "exp",
                       (json_int_t)(now + ttl_s), "wascap", "target_url",
                       (const char *)u.target.data, "origin_url", (const char *)u.origin.data,
                       "hash", u.hash);
    if (!claims || !(text = json_dumps(claims, JSON_COMPACT))) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "invocation: out of memory");
        goto fail;
    }
    if ((st = corral_claims_token_sign(text, cluster, &token, err))) goto fail;
    corral_free(inv->encoded_claims);
    inv->encoded_claims = token;
fail:
    free(text);
    json_decref(claims);
    urls_deinit(&u);
    return st;
}

corral_status_t corral_lattice_verify(const corral_lattice_invocation_t *inv, const uint8_t *body,
                                      size_t body_len, const corral_lattice_verify_opts_t *opts,
                                      corral_err_t *err) {
    corral_status_t st;
    corral_claims_token_t *tok = NULL;
    json_t *root = NULL;
    inv_urls_t u;
    int have_urls = 0;
    if (!body) {
        body = inv->msg;
        body_len = inv->msg_len;
    }
    if (!inv->encoded_claims || !inv->encoded_claims[0])
        return corral_err_set(err, CORRAL_ERR_FORGED, "invocation %s carries no anti-forgery token",
                              inv->id ? inv->id : "?");
    if (!opts || opts->n_issuers == 0)
        return corral_err_set(err, CORRAL_ERR_FORGED,
                              "no cluster issuers are configured: every invocation is refused");
    corral_claims_token_opts_t to = {0};
    to.issuer_type = CORRAL_NKEY_CLUSTER;
    to.now = opts->now;
    to.clock_skew = opts->clock_skew_s;
    st = corral_claims_token_verify(inv->encoded_claims, strlen(inv->encoded_claims), &to, &tok,
                                    err);
    if (st == CORRAL_ERR_TOKEN_EXPIRED || st == CORRAL_ERR_TOKEN_NOT_YET_VALID) {
        corral_err_wrap(err, "invocation %s refused", inv->id);
        goto fail;
    }
    if (st) {
        corral_err_wrap(err, "invocation %s refused: its anti-forgery token does not verify",
                        inv->id);
        if (err) err->status = CORRAL_ERR_FORGED;
        st = CORRAL_ERR_FORGED;
        goto fail;
    }
    int ok = 0;
    for (size_t i = 0; i < opts->n_issuers; i++)
        if (opts->issuers[i] && strcmp(opts->issuers[i], tok->iss) == 0) ok = 1;
    if (!ok) {
        st = corral_err_set(err, CORRAL_ERR_ISSUER_NOT_ALLOWED,
                            "invocation %s refused: issuer %s is not one of the lattice's "
                            "cluster issuers",
                            inv->id, tok->iss);
        goto fail;
    }
    if (!tok->exp || tok->exp - tok->iat > CORRAL_LATTICE_TOKEN_MAX_TTL_S || tok->exp < tok->iat) {
        st = corral_err_set(err, CORRAL_ERR_FORGED,
                            "invocation %s refused: its token must expire within %d s of issue",
                            inv->id, CORRAL_LATTICE_TOKEN_MAX_TTL_S);
        goto fail;
    }
    if (!tok->sub || strcmp(tok->sub, inv->id) != 0) {
        st = corral_err_set(err, CORRAL_ERR_FORGED,
                            "invocation %s refused: its token was issued for another invocation",
                            inv->id);
        goto fail;
    }
    root = json_loads(tok->claims_json, 0, NULL);
    json_t *w = root ? json_object_get(root, "wascap") : NULL;
    const char *turl = json_string_value(json_object_get(w, "target_url"));
    const char *ourl = json_string_value(json_object_get(w, "origin_url"));
    const char *hash = json_string_value(json_object_get(w, "hash"));
    if (!turl || !ourl || !hash) {
        st = corral_err_set(err, CORRAL_ERR_FORGED,
                            "invocation %s refused: its token lacks wascap target_url, "
                            "origin_url or hash",
                            inv->id);
        goto fail;
    }
    if ((st = urls_make(inv, body, body_len, &u, err))) goto fail;
    have_urls = 1;
    if (strcmp(turl, (const char *)u.target.data) != 0) {
        st = corral_err_set(err, CORRAL_ERR_FORGED,
                            "invocation %s refused: its token's target_url does not match the "
                            "envelope's target %s",
                            inv->id, (const char *)u.target.data);
        goto fail;
    }
    if (strcmp(ourl, (const char *)u.origin.data) != 0) {
        st = corral_err_set(err, CORRAL_ERR_FORGED,
                            "invocation %s refused: its token's origin_url does not match the "
                            "envelope's origin %s",
                            inv->id, (const char *)u.origin.data);
        goto fail;
    }
    if (opts->no_hash) goto fail; /* st is CORRAL_OK here */
    if (strcmp(hash, u.hash) != 0) {
        st = corral_err_set(err, CORRAL_ERR_FORGED,
                            "invocation %s refused: the message hash does not match its token "
                            "(tampered in transit)",
                            inv->id);
        goto fail;
    }
    if (opts->replay)
        st = corral_lattice_replay_check(opts->replay, inv->id, tok->exp + opts->clock_skew_s,
                                         opts->now, err);
fail:
    if (have_urls) urls_deinit(&u);
    json_decref(root);
    corral_claims_token_free(tok);
    return st;
}

/* ---- replay cache ----------------------------------------------------------
 * Open addressing over 128-bit digests of the ids (collisions of distinct
 * ids are negligible); expired slots are reused, and the table is rebuilt
 * (dropping expired entries) when it fills up. */

typedef struct replay_slot {
    uint8_t d[16];
    int64_t exp; /* 0 = empty */
} replay_slot_t;

struct corral_lattice_replay {
    pthread_mutex_t mu;
    replay_slot_t *slots;
    size_t nslots, used, capacity;
};

corral_status_t corral_lattice_replay_new(size_t capacity, corral_lattice_replay_t **out,
                                          corral_err_t *err) {
    *out = NULL;
    corral_lattice_replay_t *rc = corral_calloc(1, sizeof *rc);
    if (!rc) return corral_err_set(err, CORRAL_ERR_NOMEM, "replay cache: out of memory");
    rc->capacity = capacity ? capacity : 1000000;
    rc->nslots = 1024;
    rc->slots = corral_calloc(rc->nslots, sizeof *rc->slots);
    if (!rc->slots) {
        corral_free(rc);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "replay cache: out of memory");
    }
    pthread_mutex_init(&rc->mu, NULL);
    *out = rc;
    return CORRAL_OK;
}

void corral_lattice_replay_free(corral_lattice_replay_t *rc) {
    if (!rc) return;
    pthread_mutex_destroy(&rc->mu);
    corral_free(rc->slots);
    corral_free(rc);
}

static size_t slot_index(const uint8_t d[16], size_t n) {
    uint64_t h;
    memcpy(&h, d, 8);
    return (size_t)(h & (n - 1));
}

/* Rehashes into n slots keeping only live entries. */
static int replay_rebuild(corral_lattice_replay_t *rc, size_t n, int64_t now) {
    replay_slot_t *ns = corral_calloc(n, sizeof *ns);
    if (!ns) return -1;
    size_t used = 0;
    for (size_t i = 0; i < rc->nslots; i++) {
        replay_slot_t *s = &rc->slots[i];
        if (!s->exp || s->exp < now) continue;
        size_t j = slot_index(s->d, n);
        while (ns[j].exp) j = (j + 1) & (n - 1);
        ns[j] = *s;
        used++;
    }
    corral_free(rc->slots);
    rc->slots = ns;
    rc->nslots = n;
    rc->used = used;
    return 0;
}

corral_status_t corral_lattice_replay_check(corral_lattice_replay_t *rc, const char *id,
                                            int64_t exp, int64_t now, corral_err_t *err) {
    uint8_t full[32], d[16];
    crypto_hash_sha256(full, (const uint8_t *)id, strlen(id));
    memcpy(d, full, 16);
    if (!now) now = corral_unix_time();
    corral_status_t st = CORRAL_OK;
    pthread_mutex_lock(&rc->mu);
    /* Deletion-free probing: expired slots stay occupied (so chains hold)
     * until a rebuild drops them. */
    size_t i = slot_index(d, rc->nslots);
    while (rc->slots[i].exp) {
        if (memcmp(rc->slots[i].d, d, 16) == 0) {
            if (rc->slots[i].exp >= now) {
                st = corral_err_set(err, CORRAL_ERR_REPLAY,
                                    "invocation %s refused: this id was already seen (replay)", id);
                goto out;
            }
            rc->slots[i].exp = exp; /* same id again after its window: a new token */
            goto out;
        }
        i = (i + 1) & (rc->nslots - 1);
    }
    if (rc->used >= rc->capacity || (rc->used + 1) * 2 > rc->nslots) {
        size_t n = rc->nslots;
        if (replay_rebuild(rc, n, now)) goto nomem;
        while ((rc->used + 1) * 2 > n) n *= 2;
        if (rc->used >= rc->capacity) {
            st = corral_err_set(err, CORRAL_ERR_BUSY,
                                "invocation %s refused: the replay cache holds %zu live ids", id,
                                rc->used);
            goto out;
        }
        if (n != rc->nslots && replay_rebuild(rc, n, now)) goto nomem;
        i = slot_index(d, rc->nslots);
        while (rc->slots[i].exp) i = (i + 1) & (rc->nslots - 1);
    }
    memcpy(rc->slots[i].d, d, 16);
    rc->slots[i].exp = exp > 0 ? exp : 1;
    rc->used++;
    goto out;
nomem:
    st = corral_err_set(err, CORRAL_ERR_NOMEM, "replay cache: out of memory");
out:
    pthread_mutex_unlock(&rc->mu);
    return st;
}

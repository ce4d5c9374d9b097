/*
 * antiforgery.c - the invocation token of docs/lattice.md: a wascap-format
 * JWT signed by a cluster key (C...) whose "wascap" claim carries
 * {target_url, origin_url, hash}, as wasmCloud's Claims<Invocation> does;
 * and the replay cache that refuses an invocation id seen within its token's
 * validity window.
 *
 * Two paths. The fast path (every call: sign_into / verify_fast) builds
 * and checks the token in stack buffers, without allocating, with one
 * randombytes call on the sending side; the cluster keys it checks against
 * are decoded once (corral_lattice_verify_keys). It
 * accepts only tokens shaped exactly as this file writes them and passing
 * every check of docs/lattice.md; anything else (a foreign header, an
 * unknown issuer, a field that fails) goes to the general path (the claims
 * module's corral_claims_token_verify and the checks below it), which gives
 * the precise error. So the fast path changes speed, never the verdict.
 */
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
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

/* hash of docs/lattice.md: uppercase hex SHA-256 of origin_url ||
 * target_url || operation || msg, into out (64 characters and a NUL). */
static void hash_hex(const void *o, size_t on, const void *t, size_t tn, const char *operation,
                     const uint8_t *body, size_t body_len, char out[65]) {
    crypto_hash_sha256_state h;
    uint8_t d[32];
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, o, on);
    crypto_hash_sha256_update(&h, t, tn);
    crypto_hash_sha256_update(&h, (const uint8_t *)operation, strlen(operation));
    if (body_len) crypto_hash_sha256_update(&h, body, body_len);
    crypto_hash_sha256_final(&h, d);
    static const char hex[] = "0123456789ABCDEF";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = 0;
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
    hash_hex(u->origin.data, u->origin.len, u->target.data, u->target.len, inv->operation, body,
             body_len, u->hash);
    return CORRAL_OK;
}

/* The UUID text of 16 random bytes. */
static void id_from_bytes(uint8_t b[16], char out[37]) {
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

void corral_lattice_new_id(char out[37]) {
    uint8_t b[16];
    randombytes_buf(b, sizeof b);
    id_from_bytes(b, out);
}

/* ---- fast path ---------------------------------------------------------------
 * Bounded text in caller buffers: a field that does not fit makes the fast
 * path give up (the general path then handles it). */

#define URL_CAP 2048 /* an entity URL of fields within CORRAL_LATTICE_NAME_MAX fits */
#define CLAIMS_CAP ((CORRAL_LATTICE_TOKEN_MAX / 4) * 3)
/* base64url of CORRAL_CLAIMS_HEADER, the first segment of every token we write */
#define HEADER_B64 "eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0"

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int over;
} sbuf_t;

static void sb_put(sbuf_t *b, const char *s, size_t n) {
    if (b->over || n >= b->cap - b->n) {
        b->over = 1;
        return;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_str(sbuf_t *b, const char *s) { sb_put(b, s, strlen(s)); }

/* s as the inside of a JSON string (s is valid UTF-8). */
static void sb_json(sbuf_t *b, const char *s) {
    static const char hex[] = "0123456789abcdef";
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        sb_put(b, run, (size_t)(s - run));
        run = s + 1;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sb_put(b, e, 2);
        } else {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sb_put(b, e, 6);
        }
    }
    sb_put(b, run, (size_t)(s - run));
}

static void sb_int(sbuf_t *b, int64_t v) {
    char t[24];
    int n = snprintf(t, sizeof t, "%lld", (long long)v);
    sb_put(b, t, (size_t)n);
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Unpadded base64url of p[0..n). */
static void sb_b64(sbuf_t *b, const uint8_t *p, size_t n) {
    if (b->over || (n + 2) / 3 * 4 >= b->cap - b->n) {
        b->over = 1;
        return;
    }
    char *o = b->p + b->n;
    size_t k = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8) | p[i + 2];
        o[k++] = b64url[v >> 18];
        o[k++] = b64url[(v >> 12) & 63];
        o[k++] = b64url[(v >> 6) & 63];
        o[k++] = b64url[v & 63];
    }
    if (n - i) {
        uint32_t v = (uint32_t)p[i] << 16 | (n - i == 2 ? (uint32_t)p[i + 1] << 8 : 0);
        o[k++] = b64url[v >> 18];
        o[k++] = b64url[(v >> 12) & 63];
        if (n - i == 2) o[k++] = b64url[(v >> 6) & 63];
    }
    b->n += k;
    b->p[b->n] = 0;
}

static int b64url_val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

/* Strict unpadded base64url (unused trailing bits zero, as the claims
 * module requires) into out[0..cap); the decoded length, or -1. */
static long b64url_decode(const char *s, size_t n, uint8_t *out, size_t cap) {
    if (n % 4 == 1 || n / 4 * 3 + 2 > cap) return -1;
    uint32_t acc = 0;
    int bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_val((unsigned char)s[i]);
        if (v < 0) return -1;
        acc = ((acc << 6) | (uint32_t)v) & 0xFFF;
        bits += 6;
        if (bits >= 8) {
            out[k++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return -1;
    return (long)k;
}

/* The entity URL (as corral_lattice_entity_url writes it). */
static void sb_url(sbuf_t *b, const corral_lattice_entity_t *e) {
    sb_str(b, "wasmbus://");
    if (!corral_lattice_entity_is_provider(e)) {
        sb_str(b, e->public_key ? e->public_key : "");
        return;
    }
    for (const char *p = e->contract_id; *p; p++) sb_put(b, *p == ':' ? "/" : p, 1);
    sb_str(b, "/");
    sb_str(b, e->link_name && e->link_name[0] ? e->link_name : "default");
    sb_str(b, "/");
    sb_str(b, e->public_key ? e->public_key : "");
}

typedef struct fast_urls {
    char origin[URL_CAP], target[URL_CAP];
    char hash[65];
} fast_urls_t;

/* 0 when both URLs fit (then hash is set), -1 otherwise. */
static int fast_urls(const corral_lattice_invocation_t *inv, const uint8_t *body, size_t body_len,
                     fast_urls_t *u) {
    sbuf_t o = {u->origin, 0, URL_CAP, 0}, t = {u->target, 0, URL_CAP, 0};
    sb_url(&o, &inv->origin);
    sb_url(&t, &inv->target);
    sb_str(&t, "/");
    sb_str(&t, inv->operation);
    if (o.over || t.over) return -1;
    hash_hex(o.p, o.n, t.p, t.n, inv->operation, body, body_len, u->hash);
    return 0;
}

static int utf8z(const char *s) { return !s || corral_utf8_valid((const uint8_t *)s, strlen(s)); }

corral_status_t corral_lattice_sign_into(const corral_lattice_invocation_t *inv,
                                         const uint8_t *body, size_t body_len,
                                         const corral_nkey_t *cluster, const char *iss,
                                         int64_t now, uint32_t ttl_s, char id[37], char *token,
                                         size_t cap) {
    if (!cluster || cluster->type != CORRAL_NKEY_CLUSTER || !cluster->has_seed || !inv->operation)
        return CORRAL_ERR_INVALID_ARG;
    const char *e[] = {inv->id, inv->operation, inv->origin.public_key, inv->origin.contract_id,
                       inv->origin.link_name, inv->target.public_key, inv->target.contract_id,
                       inv->target.link_name};
    for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
        if (!utf8z(e[i])) return CORRAL_ERR_INVALID_ARG; /* the general path says why */
    /* one call to the random source for the id and the jti */
    uint8_t rnd[64];
    randombytes_buf(rnd, sizeof rnd);
    if (!inv->id) id_from_bytes(rnd, id);
    char jti[CORRAL_CLAIMS_JTI_LEN + 1];
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for (size_t i = 16, k = 0; k < CORRAL_CLAIMS_JTI_LEN;) {
        if (i == sizeof rnd) {
            randombytes_buf(rnd, sizeof rnd);
            i = 0;
        }
        uint8_t r = rnd[i++];
        if (r < 248) jti[k++] = b62[r % 62]; /* 248 = 4 * 62: no bias */
    }
    jti[CORRAL_CLAIMS_JTI_LEN] = 0;
    fast_urls_t u;
    if (fast_urls(inv, body, body_len, &u)) return CORRAL_ERR_TOO_LARGE;
    char ibuf[CORRAL_NKEY_PUBLIC_LEN + 1];
    if (!iss) {
        corral_nkey_public_str(cluster, ibuf);
        iss = ibuf;
    }
    if (!now) now = corral_unix_time();
    if (!ttl_s) ttl_s = CORRAL_LATTICE_TOKEN_TTL_S;
    char claims[CLAIMS_CAP];
    sbuf_t c = {claims, 0, sizeof claims, 0};
    sb_str(&c, "{\"jti\":\"");
    sb_str(&c, jti);
    sb_str(&c, "\",\"iat\":");
    sb_int(&c, now);
    sb_str(&c, ",\"iss\":\"");
    sb_str(&c, iss);
    sb_str(&c, "\",\"sub\":\"");
    sb_json(&c, inv->id ? inv->id : id);
    sb_str(&c, "\",\"exp\":");
    sb_int(&c, now + ttl_s);
    sb_str(&c, ",\"wascap\":{\"target_url\":\"");
    sb_json(&c, u.target);
    sb_str(&c, "\",\"origin_url\":\"");
    sb_json(&c, u.origin);
    sb_str(&c, "\",\"hash\":\"");
    sb_str(&c, u.hash);
    sb_str(&c, "\"}}");
    if (c.over) return CORRAL_ERR_TOO_LARGE;
    sbuf_t t = {token, 0, cap, 0};
    sb_str(&t, HEADER_B64 ".");
    sb_b64(&t, (const uint8_t *)claims, c.n);
    if (t.over) return CORRAL_ERR_TOO_LARGE;
    uint8_t sig[CORRAL_NKEY_SIG_LEN];
    if (corral_nkey_sign(cluster, token, t.n, sig, NULL)) return CORRAL_ERR_KEY_SEED;
    sb_str(&t, ".");
    sb_b64(&t, sig, sizeof sig);
    return t.over ? CORRAL_ERR_TOO_LARGE : CORRAL_OK;
}

/* The claims exactly as sign_into writes them, read without allocating:
 * {"jti":S,"iat":N,"iss":S,"sub":S,"exp":N,"wascap":{"target_url":S,
 * "origin_url":S,"hash":S}} with no whitespace, strings escaping only '"',
 * '\' and control characters (\u00XX), integers without sign or leading
 * zero. Anything else (another writer, other members, nbf) makes it give
 * up and the general path (jansson) reads the token: what this accepts,
 * jansson reads as the same values. */
typedef struct claims_view {
    const char *str[7]; /* jti iss sub target_url origin_url hash: NUL-terminated */
    int64_t iat, exp;
} claims_view_t;

enum { CV_JTI, CV_ISS, CV_SUB, CV_TURL, CV_OURL, CV_HASH };

typedef struct cursor {
    const char *p, *end;
    char *out, *out_end; /* decoded strings go here */
} cursor_t;

static int lit(cursor_t *c, const char *s) {
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0) return -1;
    c->p += n;
    return 0;
}

static int hexv(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* A string value (after its opening quote has been matched by lit). */
static const char *str_val(cursor_t *c) {
    char *start = c->out;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (c->out == c->out_end || ch < 0x20) return NULL;
        if (ch != '\\') {
            *c->out++ = (char)ch;
            c->p++;
            continue;
        }
        if (c->end - c->p < 2) return NULL;
        char e = c->p[1];
        if (e == '"' || e == '\\') {
            *c->out++ = e;
            c->p += 2;
            continue;
        }
        int h, l;
        if (e != 'u' || c->end - c->p < 6 || c->p[2] != '0' || c->p[3] != '0' ||
            (h = hexv(c->p[4])) < 0 || (l = hexv(c->p[5])) < 0 || h > 7 || (h == 0 && l == 0))
            return NULL; /* \u0000 is refused by jansson; others are the general path's */
        *c->out++ = (char)(h * 16 + l);
        c->p += 6;
    }
    if (c->p == c->end || c->out == c->out_end) return NULL;
    c->p++; /* closing quote */
    *c->out++ = 0;
    return corral_utf8_valid((const uint8_t *)start, (size_t)(c->out - 1 - start)) ? start : NULL;
}

static int int_val(cursor_t *c, int64_t *v) {
    const char *s = c->p;
    int64_t x = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && c->p - s < 18)
        x = x * 10 + (*c->p++ - '0');
    if (c->p == s || (*s == '0' && c->p - s > 1)) return -1;
    if (c->p < c->end && *c->p >= '0' && *c->p <= '9') return -1; /* too long for us */
    *v = x;
    return 0;
}

static int claims_read(const char *text, size_t n, char *buf, size_t cap, claims_view_t *v) {
    cursor_t c = {text, text + n, buf, buf + cap};
    if (lit(&c, "{\"jti\":\"") || !(v->str[CV_JTI] = str_val(&c)) || lit(&c, ",\"iat\":") ||
        int_val(&c, &v->iat) || lit(&c, ",\"iss\":\"") || !(v->str[CV_ISS] = str_val(&c)) ||
        lit(&c, ",\"sub\":\"") || !(v->str[CV_SUB] = str_val(&c)) || lit(&c, ",\"exp\":") ||
        int_val(&c, &v->exp) || lit(&c, ",\"wascap\":{\"target_url\":\"") ||
        !(v->str[CV_TURL] = str_val(&c)) || lit(&c, ",\"origin_url\":\"") ||
        !(v->str[CV_OURL] = str_val(&c)) || lit(&c, ",\"hash\":\"") ||
        !(v->str[CV_HASH] = str_val(&c)) || lit(&c, "}}") || c.p != c.end)
        return -1;
    return 0;
}

/* 1 when inv's token passes every check but the replay cache (*exp is then
 * its expiry); 0 when anything is off (the general path says what). */
static int verify_fast(const corral_lattice_invocation_t *inv, const uint8_t *body,
                       size_t body_len, const corral_lattice_verify_opts_t *opts,
                       const corral_nkey_t *keys, int64_t *exp) {
    const char *tok = inv->encoded_claims;
    size_t len = strlen(tok), hl = sizeof HEADER_B64 - 1;
    if (!inv->id || !inv->operation || len > CORRAL_LATTICE_TOKEN_MAX || len <= hl ||
        memcmp(tok, HEADER_B64 ".", hl + 1) != 0)
        return 0;
    const char *cs = tok + hl + 1, *d2 = strchr(cs, '.');
    if (!d2 || strchr(d2 + 1, '.')) return 0;
    uint8_t claims[CLAIMS_CAP + 1], sig[CORRAL_NKEY_SIG_LEN + 2];
    char strings[CLAIMS_CAP];
    long cl = b64url_decode(cs, (size_t)(d2 - cs), claims, sizeof claims - 1);
    if (cl < 0 || b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - tok), sig, sizeof sig) !=
                      CORRAL_NKEY_SIG_LEN)
        return 0;
    claims_view_t v;
    if (claims_read((const char *)claims, (size_t)cl, strings, sizeof strings, &v)) return 0;
    const char *iss = v.str[CV_ISS];
    size_t i = 0;
    while (i < opts->n_issuers && (!opts->issuers[i] || strcmp(opts->issuers[i], iss))) i++;
    if (i == opts->n_issuers) return 0;
    corral_nkey_t k;
    const corral_nkey_t *key = keys ? &keys[i] : &k;
    if (!keys && corral_nkey_from_public(iss, CORRAL_NKEY_CLUSTER, &k, NULL)) return 0;
    if (key->type != CORRAL_NKEY_CLUSTER ||
        corral_nkey_verify(key, tok, (size_t)(d2 - tok), sig, NULL) != CORRAL_OK)
        return 0;
    int64_t now = opts->now ? opts->now : corral_unix_time(), skew = opts->clock_skew_s;
    if (skew < 0) skew = 0;
    if (skew > 315360000) skew = 315360000;
    *exp = v.exp;
    if (!v.exp || now - skew >= v.exp || v.exp - v.iat > CORRAL_LATTICE_TOKEN_MAX_TTL_S ||
        v.exp < v.iat)
        return 0;
    if (strcmp(v.str[CV_SUB], inv->id) != 0) return 0;
    fast_urls_t u;
    if (fast_urls(inv, body, body_len, &u) || strcmp(v.str[CV_TURL], u.target) ||
        strcmp(v.str[CV_OURL], u.origin) || (!opts->no_hash && strcmp(v.str[CV_HASH], u.hash)))
        return 0;
    return 1;
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
    {
        char id[37], tok[CORRAL_LATTICE_TOKEN_MAX + 1];
        if (corral_lattice_sign_into(inv, body, body_len, cluster, NULL, now, ttl_s, id, tok,
                                     sizeof tok) == CORRAL_OK) {
            char *nid = inv->id ? NULL : corral_strdup(id), *ntok = corral_strdup(tok);
            if ((!inv->id && !nid) || !ntok) {
                corral_free(nid);
                corral_free(ntok);
                return corral_err_set(err, CORRAL_ERR_NOMEM, "invocation: out of memory");
            }
            if (nid) inv->id = nid;
            corral_free(inv->encoded_claims);
            inv->encoded_claims = ntok;
            return CORRAL_OK;
        }
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
    return corral_lattice_verify_keys(inv, body, body_len, opts, NULL, err);
}

corral_status_t corral_lattice_verify_keys(const corral_lattice_invocation_t *inv,
                                           const uint8_t *body, size_t body_len,
                                           const corral_lattice_verify_opts_t *opts,
                                           const corral_nkey_t *keys, corral_err_t *err) {
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
    int64_t fexp;
    if (verify_fast(inv, body, body_len, opts, keys, &fexp)) {
        if (opts->no_hash || !opts->replay) return CORRAL_OK;
        return corral_lattice_replay_check(opts->replay, inv->id, fexp + opts->clock_skew_s,
                                           opts->now, err);
    }
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

/*
 * token.c - the JWT layer: base64url, signing an arbitrary claims object with
 * an nkey seed, and splitting, decoding and verifying a token. Both actor
 * claims (claims.c) and the lattice's invocation tokens go through here.
 */
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "claims_int.h"
#include "token_int.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

corral_status_t claims_b64url_encode(const uint8_t *p, size_t n, corral_buf_t *out) {
    if (n > (SIZE_MAX / 4) * 3 - 3) return CORRAL_ERR_NOMEM;
    corral_status_t st = corral_buf_reserve(out, (n + 2) / 3 * 4 + 1);
    if (st != CORRAL_OK) return st;
    char *o = (char *)out->data + out->len;
    size_t k = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8) | p[i + 2];
        o[k++] = b64url_alphabet[v >> 18];
        o[k++] = b64url_alphabet[(v >> 12) & 63];
        o[k++] = b64url_alphabet[(v >> 6) & 63];
        o[k++] = b64url_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        o[k++] = b64url_alphabet[v >> 18];
        o[k++] = b64url_alphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8);
        o[k++] = b64url_alphabet[v >> 18];
        o[k++] = b64url_alphabet[(v >> 12) & 63];
        o[k++] = b64url_alphabet[(v >> 6) & 63];
    }
    out->len += k;
    return CORRAL_OK;
}

static int b64url_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

corral_status_t claims_b64url_decode(const char *s, size_t n, corral_buf_t *out) {
    if (n % 4 == 1) return CORRAL_ERR_PARSE;
    corral_status_t st = corral_buf_reserve(out, n / 4 * 3 + 3);
    if (st != CORRAL_OK) return st;
    uint8_t *o = out->data + out->len;
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value((unsigned char)s[i]);
        if (v < 0) return CORRAL_ERR_PARSE;
        acc = ((acc << 6) | (uint32_t)v) & 0xFFF;
        bits += 6;
        if (bits >= 8) {
            o[k++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    /* Unused trailing bits must be zero: one encoding per byte string. */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return CORRAL_ERR_PARSE;
    out->len += k;
    return CORRAL_OK;
}

void corral_claims_new_jti(char out[CORRAL_CLAIMS_JTI_LEN + 1]) {
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    claims_sodium_init();
    for (int i = 0; i < CORRAL_CLAIMS_JTI_LEN; i++) out[i] = b62[randombytes_uniform(62)];
    out[CORRAL_CLAIMS_JTI_LEN] = '\0';
}

corral_status_t claims_token_sign_raw(const char *claims, size_t n, const corral_nkey_t *issuer,
                                      char **token_out, corral_err_t *err) {
    corral_buf_t b = CORRAL_BUF_INIT;
    uint8_t sig[CORRAL_NKEY_SIG_LEN];
    corral_status_t st;
    *token_out = NULL;
    if (!issuer->has_seed)
        return corral_err_set(err, CORRAL_ERR_KEY_SEED, "cannot sign a token: issuer key has no seed");
    static const char header[] = CORRAL_CLAIMS_HEADER;
    if ((st = claims_b64url_encode((const uint8_t *)header, sizeof header - 1, &b)) != CORRAL_OK ||
        (st = corral_buf_append(&b, ".", 1)) != CORRAL_OK ||
        (st = claims_b64url_encode((const uint8_t *)claims, n, &b)) != CORRAL_OK)
        goto fail;
    if ((st = corral_nkey_sign(issuer, b.data, b.len, sig, err)) != CORRAL_OK) goto fail;
    if ((st = corral_buf_append(&b, ".", 1)) != CORRAL_OK ||
        (st = claims_b64url_encode(sig, sizeof sig, &b)) != CORRAL_OK ||
        (st = corral_buf_terminate(&b)) != CORRAL_OK)
        goto fail;
    size_t len;
    *token_out = (char *)corral_buf_take(&b, &len);
    return CORRAL_OK;
fail:
    corral_buf_free(&b);
    if (st == CORRAL_ERR_NOMEM) return corral_err_set(err, st, "out of memory signing a token");
    return st;
}

corral_status_t corral_claims_token_sign(const char *claims_json, const corral_nkey_t *issuer,
                                         char **token_out, corral_err_t *err) {
    json_error_t je;
    char pub[CORRAL_NKEY_PUBLIC_LEN + 1];
    *token_out = NULL;
    if (!claims_json) return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "no claims to sign");
    json_t *obj = json_loads(claims_json, JSON_REJECT_DUPLICATES, &je);
    if (!obj)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "claims to sign are not JSON: %s (line %d)",
                              je.text, je.line);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "claims to sign are not a JSON object");
    }
    json_t *iss = json_object_get(obj, "iss");
    corral_nkey_public_str(issuer, pub);
    if (iss && (!json_is_string(iss) || strcmp(json_string_value(iss), pub) != 0)) {
        json_decref(obj);
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "claims name an iss other than the signing key %s", pub);
    }
    json_decref(obj);
    return claims_token_sign_raw(claims_json, strlen(claims_json), issuer, token_out, err);
}

void claims_parts_free(claims_parts_t *p) {
    corral_buf_free(&p->header);
    corral_buf_free(&p->claims);
    memset(p, 0, sizeof *p);
}

corral_status_t claims_token_split(const char *token, size_t len, claims_parts_t *p,
                                   corral_err_t *err) {
    corral_buf_t sigb = CORRAL_BUF_INIT;
    corral_status_t st;
    memset(p, 0, sizeof *p);
    if (len > CORRAL_CLAIMS_TOKEN_MAX)
        return corral_err_set(err, CORRAL_ERR_TOKEN_MALFORMED,
                              "claims token is %zu bytes, above the limit of %u", len,
                              CORRAL_CLAIMS_TOKEN_MAX);
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return corral_err_set(err, CORRAL_ERR_TOKEN_MALFORMED,
                              "claims token is not three dot-separated segments");
    p->signed_len = (size_t)(d2 - token);
    struct {
        const char *s;
        size_t n;
        corral_buf_t *b;
        const char *what;
    } seg[3] = {{token, (size_t)(d1 - token), &p->header, "header"},
                {d1 + 1, (size_t)(d2 - d1 - 1), &p->claims, "claims"},
                {d2 + 1, len - (size_t)(d2 + 1 - token), &sigb, "signature"}};
    for (int i = 0; i < 3; i++) {
        st = claims_b64url_decode(seg[i].s, seg[i].n, seg[i].b);
        if (st == CORRAL_OK) st = corral_buf_terminate(seg[i].b);
        if (st == CORRAL_ERR_PARSE) {
            st = corral_err_set(err, CORRAL_ERR_TOKEN_MALFORMED,
                                "claims token %s segment is not unpadded base64url", seg[i].what);
            goto fail;
        }
        if (st != CORRAL_OK) {
            st = corral_err_set(err, st, "out of memory decoding a claims token");
            goto fail;
        }
    }
    if (sigb.len != CORRAL_NKEY_SIG_LEN) {
        st = corral_err_set(err, CORRAL_ERR_TOKEN_MALFORMED,
                            "claims token signature is %zu bytes, expected %d", sigb.len,
                            CORRAL_NKEY_SIG_LEN);
        goto fail;
    }
    memcpy(p->sig, sigb.data, CORRAL_NKEY_SIG_LEN);
    corral_buf_free(&sigb);
    return CORRAL_OK;
fail:
    corral_buf_free(&sigb);
    claims_parts_free(p);
    return st;
}

corral_status_t claims_check_header(const claims_parts_t *p, corral_err_t *err) {
    json_t *h = json_loadb((const char *)p->header.data, p->header.len, JSON_REJECT_DUPLICATES, NULL);
    int ok = h && json_is_object(h) && json_object_size(h) == 2 &&
             json_is_string(json_object_get(h, "typ")) &&
             strcmp(json_string_value(json_object_get(h, "typ")), "jwt") == 0 &&
             json_is_string(json_object_get(h, "alg")) &&
             strcmp(json_string_value(json_object_get(h, "alg")), "Ed25519") == 0;
    json_decref(h);
    if (!ok)
        return corral_err_set(err, CORRAL_ERR_TOKEN_HEADER,
                              "claims token header is not {\"typ\":\"jwt\",\"alg\":\"Ed25519\"}");
    return CORRAL_OK;
}

const char *claims_printable_key(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != n) return "(not key text)";
    return s;
}

corral_status_t claims_check_signature(const char *token, const claims_parts_t *p, const char *iss,
                                       corral_nkey_type_t type, corral_err_t *err) {
    corral_nkey_t k;
    corral_err_t kerr;
    if (!iss)
        return corral_err_set(err, CORRAL_ERR_TOKEN_ISSUER, "claims have no issuer (iss)");
    if (corral_nkey_from_public(iss, type, &k, &kerr) != CORRAL_OK)
        return corral_err_set(err, CORRAL_ERR_TOKEN_ISSUER, "claims issuer '%s' is not a valid %s key: %s",
                              claims_printable_key(iss), corral_nkey_type_name(type), kerr.msg);
    if (corral_nkey_verify(&k, token, p->signed_len, p->sig, NULL) != CORRAL_OK)
        return corral_err_set(err, CORRAL_ERR_TOKEN_SIGNATURE,
                              "claims signature does not verify with issuer %s (the token or its "
                              "signature was altered, or signed by another key)",
                              iss);
    return CORRAL_OK;
}

void claims_fmt_time(int64_t t, char *out, size_t n) {
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, n, "%lld", (long long)t);
}

corral_status_t claims_check_times(int64_t now, int64_t skew, int has_exp, int64_t exp, int has_nbf,
                                   int64_t nbf, corral_err_t *err) {
    char a[40], b[40];
    if (now == 0) now = corral_unix_time();
    if (skew < 0) skew = 0;
    if (skew > 315360000) skew = 315360000; /* ten years keeps the sums in range */
    if (has_exp && now - skew >= exp) {
        claims_fmt_time(exp, a, sizeof a);
        claims_fmt_time(now, b, sizeof b);
        return corral_err_set(err, CORRAL_ERR_TOKEN_EXPIRED, "claims token expired at %s (now %s)", a, b);
    }
    if (has_nbf && now + skew < nbf) {
        claims_fmt_time(nbf, a, sizeof a);
        claims_fmt_time(now, b, sizeof b);
        return corral_err_set(err, CORRAL_ERR_TOKEN_NOT_YET_VALID,
                              "claims token is not valid before %s (now %s)", a, b);
    }
    return CORRAL_OK;
}

/* Reads an optional non-negative integer member. Returns -1 on a wrong type. */
int claims_json_time(json_t *obj, const char *key, int *has, int64_t *v) {
    json_t *x = json_object_get(obj, key);
    *has = 0;
    *v = 0;
    if (!x || json_is_null(x)) return 0;
    if (!json_is_integer(x) || json_integer_value(x) < 0) return -1;
    *has = 1;
    *v = (int64_t)json_integer_value(x);
    return 0;
}

static char *dup_str(json_t *obj, const char *key) {
    json_t *x = json_object_get(obj, key);
    return json_is_string(x) ? corral_strdup(json_string_value(x)) : NULL;
}

corral_status_t corral_claims_token_verify(const char *token, size_t len,
                                           const corral_claims_token_opts_t *opts,
                                           corral_claims_token_t **out, corral_err_t *err) {
    claims_parts_t p;
    corral_claims_token_opts_t defaults = {0};
    corral_claims_token_t *t = NULL;
    json_t *c = NULL;
    corral_status_t st;
    int has_exp, has_nbf, has_iat;
    int64_t exp, nbf, iat;
    if (out) *out = NULL;
    if (!opts) opts = &defaults;
    if (!token) return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "no token");
    corral_nkey_type_t type = opts->issuer_type == 0 ? CORRAL_NKEY_ACCOUNT : opts->issuer_type;
    if ((st = claims_token_split(token, len, &p, err)) != CORRAL_OK) return st;
    if ((st = claims_check_header(&p, err)) != CORRAL_OK) goto fail;
    c = json_loadb((const char *)p.claims.data, p.claims.len, JSON_REJECT_DUPLICATES, NULL);
    if (!c || !json_is_object(c)) {
        st = corral_err_set(err, CORRAL_ERR_TOKEN_MALFORMED, "claims token claims are not a JSON object");
        goto fail;
    }
    json_t *iss = json_object_get(c, "iss");
    if (iss && !json_is_string(iss)) {
        st = corral_err_set(err, CORRAL_ERR_TOKEN_ISSUER, "claims issuer (iss) is not a string");
        goto fail;
    }
    if ((st = claims_check_signature(token, &p, iss ? json_string_value(iss) : NULL, type, err)) !=
        CORRAL_OK)
        goto fail;
    if (claims_json_time(c, "exp", &has_exp, &exp) || claims_json_time(c, "nbf", &has_nbf, &nbf) ||
        claims_json_time(c, "iat", &has_iat, &iat) ||
        (json_object_get(c, "sub") && !json_is_string(json_object_get(c, "sub"))) ||
        (json_object_get(c, "jti") && !json_is_string(json_object_get(c, "jti")))) {
        st = corral_err_set(err, CORRAL_ERR_TOKEN_MALFORMED,
                            "claims token has a mistyped iat, exp, nbf, sub or jti");
        goto fail;
    }
    if ((st = claims_check_times(opts->now, opts->clock_skew, has_exp, exp, has_nbf, nbf, err)) !=
        CORRAL_OK)
        goto fail;
    if (opts->n_allowed_issuers) {
        size_t i = 0;
        while (i < opts->n_allowed_issuers && strcmp(opts->allowed_issuers[i], json_string_value(iss)))
            i++;
        if (i == opts->n_allowed_issuers) {
            st = corral_err_set(err, CORRAL_ERR_ISSUER_NOT_ALLOWED,
                                "claims issuer %s is not on the allowed issuer list",
                                json_string_value(iss));
            goto fail;
        }
    }
    if (out) {
        t = corral_calloc(1, sizeof *t);
        if (!t) goto nomem;
        snprintf(t->iss, sizeof t->iss, "%s", json_string_value(iss));
        t->iat = iat;
        t->exp = exp;
        t->nbf = nbf;
        t->header_json = corral_strndup((const char *)p.header.data, p.header.len);
        t->claims_json = corral_strndup((const char *)p.claims.data, p.claims.len);
        if (!t->header_json || !t->claims_json) goto nomem;
        if (json_object_get(c, "sub") && !(t->sub = dup_str(c, "sub"))) goto nomem;
        if (json_object_get(c, "jti") && !(t->jti = dup_str(c, "jti"))) goto nomem;
        *out = t;
    }
    json_decref(c);
    claims_parts_free(&p);
    return CORRAL_OK;
nomem:
    st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory decoding a claims token");
fail:
    corral_claims_token_free(t);
    json_decref(c);
    claims_parts_free(&p);
    return st;
}

void corral_claims_token_free(corral_claims_token_t *t) {
    if (!t) return;
    corral_free(t->header_json);
    corral_free(t->claims_json);
    corral_free(t->sub);
    corral_free(t->jti);
    corral_free(t);
}

/*
 * claims.c - actor claims: building and signing them into a module, parsing
 * them back, and the verification stages of docs/claims.md in their order
 * (find token, header, issuer + signature, subject, hash, times, issuer and
 * revocation lists), plus the call-time capability and live-update checks.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "token_int.h"

void corral_claims_free(corral_claims_t *c) {
    if (!c) return;
    corral_free(c->header_json);
    corral_free(c->claims_json);
    corral_free(c->token);
    corral_free(c->jti);
    corral_free(c->iss);
    corral_free(c->sub);
    corral_free(c->name);
    corral_free(c->hash);
    for (size_t i = 0; i < c->ntags; i++) corral_free(c->tags[i]);
    corral_free(c->tags);
    for (size_t i = 0; i < c->ncaps; i++) corral_free(c->caps[i]);
    corral_free(c->caps);
    corral_free(c->ver);
    corral_free(c->call_alias);
    corral_free(c);
}

/* ---- parsing --------------------------------------------------------------- */

/* Optional string member into *out. 0 ok, -1 wrong type, -2 out of memory. */
static int opt_str(json_t *obj, const char *key, char **out) {
    json_t *x = json_object_get(obj, key);
    *out = NULL;
    if (!x || json_is_null(x)) return 0;
    if (!json_is_string(x)) return -1;
    return (*out = corral_strdup(json_string_value(x))) ? 0 : -2;
}

/* Optional array of strings. */
static int opt_strs(json_t *obj, const char *key, char ***out, size_t *n) {
    json_t *x = json_object_get(obj, key);
    *out = NULL;
    *n = 0;
    if (!x || json_is_null(x)) return 0;
    if (!json_is_array(x)) return -1;
    size_t cnt = json_array_size(x);
    for (size_t i = 0; i < cnt; i++)
        if (!json_is_string(json_array_get(x, i))) return -1;
    if (cnt == 0) return 0;
    char **a = corral_calloc(cnt, sizeof *a);
    if (!a) return -2;
    *out = a;
    for (size_t i = 0; i < cnt; i++) {
        if (!(a[i] = corral_strdup(json_string_value(json_array_get(x, i))))) return -2;
        *n = i + 1;
    }
    return 0;
}

/* Fills c from the decoded claims; c owns what it gets even on failure. */
static corral_status_t fill_claims(corral_claims_t *c, const claims_parts_t *p, corral_err_t *err) {
    json_error_t je;
    const char *bad = NULL;
    int r, has;
    corral_status_t st = CORRAL_OK;
    json_t *obj = json_loadb((const char *)p->claims.data, p->claims.len, JSON_REJECT_DUPLICATES, &je);
    if (!obj)
        return corral_err_set(err, CORRAL_ERR_TOKEN_MALFORMED, "claims are not valid JSON: %s",
                              je.text);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return corral_err_set(err, CORRAL_ERR_TOKEN_MALFORMED, "claims are not a JSON object");
    }
#define FIELD(call, name)                                                                          \
    if ((r = (call)) != 0) {                                                                       \
        bad = name;                                                                                \
        goto out;                                                                                  \
    }
    FIELD(opt_str(obj, "jti", &c->jti), "jti (a string)");
    FIELD(opt_str(obj, "iss", &c->iss), "iss (a string)");
    FIELD(opt_str(obj, "sub", &c->sub), "sub (a string)");
    FIELD(claims_json_time(obj, "iat", &has, &c->iat), "iat (seconds since the epoch)");
    FIELD(claims_json_time(obj, "exp", &c->has_exp, &c->exp), "exp (seconds since the epoch)");
    FIELD(claims_json_time(obj, "nbf", &c->has_nbf, &c->nbf), "nbf (seconds since the epoch)");
    json_t *rv = json_object_get(obj, "wascap_revision");
    r = rv && !json_is_null(rv) && !json_is_integer(rv);
    FIELD(r ? -1 : 0, "wascap_revision (an integer)");
    if (json_is_integer(rv)) c->wascap_revision = (int64_t)json_integer_value(rv);
    json_t *w = json_object_get(obj, "wascap");
    FIELD(json_is_object(w) ? 0 : -1, "wascap (the actor metadata object)");
    FIELD(opt_str(w, "name", &c->name), "wascap.name (a string)");
    FIELD(opt_str(w, "hash", &c->hash), "wascap.hash (a string)");
    FIELD(opt_strs(w, "tags", &c->tags, &c->ntags), "wascap.tags (an array of strings)");
    FIELD(opt_strs(w, "caps", &c->caps, &c->ncaps), "wascap.caps (an array of strings)");
    json_t *x = json_object_get(w, "rev");
    r = x && !json_is_null(x) && !json_is_integer(x);
    FIELD(r ? -1 : 0, "wascap.rev (an integer)");
    if (json_is_integer(x)) {
        c->rev = (int64_t)json_integer_value(x);
        c->has_rev = 1;
    }
    FIELD(opt_str(w, "ver", &c->ver), "wascap.ver (a string)");
    FIELD(opt_str(w, "call_alias", &c->call_alias), "wascap.call_alias (a string)");
    x = json_object_get(w, "prov");
    r = x && !json_is_null(x) && !json_is_boolean(x);
    FIELD(r ? -1 : 0, "wascap.prov (a boolean)");
    c->prov = json_is_true(x);
#undef FIELD
out:
    if (bad && r == -2)
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory reading claims");
    else if (bad)
        st = corral_err_set(err, CORRAL_ERR_TOKEN_MALFORMED, "claims field %s is missing or mistyped",
                            bad);
    json_decref(obj);
    return st;
}

/* Splits and parses; on success *out owns the parts' texts. parts is left
 * filled for the caller's signature check (free it with claims_parts_free). */
static corral_status_t parse_token(const char *token, size_t len, claims_parts_t *p,
                                   corral_claims_t **out, corral_err_t *err) {
    corral_status_t st;
    corral_claims_t *c = NULL;
    *out = NULL;
    if ((st = claims_token_split(token, len, p, err)) != CORRAL_OK) return st;
    if (!(c = corral_calloc(1, sizeof *c))) goto nomem;
    if (!(c->token = corral_strndup(token, len)) ||
        !(c->header_json = corral_strndup((const char *)p->header.data, p->header.len)) ||
        !(c->claims_json = corral_strndup((const char *)p->claims.data, p->claims.len)))
        goto nomem;
    if ((st = fill_claims(c, p, err)) != CORRAL_OK) goto fail;
    *out = c;
    return CORRAL_OK;
nomem:
    st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory reading claims");
fail:
    corral_claims_free(c);
    claims_parts_free(p);
    return st;
}

corral_status_t corral_claims_parse_token(const char *token, size_t len, corral_claims_t **out,
                                          corral_err_t *err) {
    claims_parts_t p;
    corral_status_t st = parse_token(token, len, &p, out, err);
    if (st == CORRAL_OK) claims_parts_free(&p);
    return st;
}

corral_status_t corral_claims_read_module(const uint8_t *wasm, size_t len, corral_claims_t **out,
                                          corral_err_t *err) {
    const uint8_t *tok;
    size_t tlen;
    *out = NULL;
    corral_status_t st = corral_claims_find_token(wasm, len, &tok, &tlen, err);
    if (st != CORRAL_OK) return st;
    return corral_claims_parse_token((const char *)tok, tlen, out, err);
}

/* ---- verification -------------------------------------------------------- */

static int in_list(const char *const *list, size_t n, const char *s) {
    if (!s) return 0;
    for (size_t i = 0; i < n; i++)
        if (list[i] && strcmp(list[i], s) == 0) return 1;
    return 0;
}

corral_status_t corral_claims_verify_module(const uint8_t *wasm, size_t len,
                                            const corral_claims_verify_opts_t *opts,
                                            corral_claims_t **out, corral_err_t *err) {
    corral_claims_verify_opts_t defaults = {0};
    const uint8_t *tok;
    size_t tlen;
    claims_parts_t p;
    corral_claims_t *c = NULL;
    corral_err_t kerr;
    char hash[65];
    corral_status_t st;
    if (out) *out = NULL;
    if (!opts) opts = &defaults;
    /* 1: sections, exactly one token, token shape */
    if ((st = corral_claims_find_token(wasm, len, &tok, &tlen, err)) != CORRAL_OK) return st;
    if ((st = claims_token_split((const char *)tok, tlen, &p, err)) != CORRAL_OK) return st;
    /* 2: header (checked before the claims are parsed) */
    st = claims_check_header(&p, err);
    claims_parts_free(&p);
    if (st != CORRAL_OK) return st;
    if ((st = parse_token((const char *)tok, tlen, &p, &c, err)) != CORRAL_OK) return st;
    /* 3: issuer and signature */
    st = claims_check_signature(c->token, &p, c->iss, CORRAL_NKEY_ACCOUNT, err);
    claims_parts_free(&p);
    if (st != CORRAL_OK) goto fail;
    /* 4: subject */
    if (!c->sub) {
        st = corral_err_set(err, CORRAL_ERR_TOKEN_SUBJECT, "claims have no subject (sub)");
        goto fail;
    }
    if (corral_nkey_from_public(c->sub, CORRAL_NKEY_MODULE, NULL, &kerr) != CORRAL_OK) {
        st = corral_err_set(err, CORRAL_ERR_TOKEN_SUBJECT,
                            "claims subject '%s' is not a valid module key: %s",
                            claims_printable_key(c->sub), kerr.msg);
        goto fail;
    }
    /* 5: hash */
    if ((st = corral_claims_module_hash(wasm, len, hash, err)) != CORRAL_OK) goto fail;
    if (!c->hash || strcmp(c->hash, hash) != 0) {
        st = corral_err_set(err, CORRAL_ERR_HASH_MISMATCH,
                            "module hash %s does not match the hash in its claims (%.64s): the "
                            "module was altered after signing",
                            hash, c->hash ? c->hash : "none");
        goto fail;
    }
    /* 6: times */
    if ((st = claims_check_times(opts->now, opts->clock_skew, c->has_exp, c->exp, c->has_nbf,
                                 c->nbf, err)) != CORRAL_OK)
        goto fail;
    /* 7: host policy */
    if (opts->n_allowed_issuers && !in_list(opts->allowed_issuers, opts->n_allowed_issuers, c->iss)) {
        st = corral_err_set(err, CORRAL_ERR_ISSUER_NOT_ALLOWED,
                            "claims issuer %s of actor %s is not on the allowed issuer list", c->iss,
                            c->sub);
        goto fail;
    }
    if (in_list(opts->revoked, opts->n_revoked, c->jti)) {
        st = corral_err_set(err, CORRAL_ERR_REVOKED, "claims token %s of actor %s is revoked",
                            c->jti, c->sub);
        goto fail;
    }
    if (in_list(opts->revoked, opts->n_revoked, c->sub)) {
        st = corral_err_set(err, CORRAL_ERR_REVOKED, "actor %s is revoked", c->sub);
        goto fail;
    }
    if (out)
        *out = c;
    else
        corral_claims_free(c);
    return CORRAL_OK;
fail:
    corral_claims_free(c);
    return st;
}

void corral_claims_caps_str(const corral_claims_t *c, char *out, size_t n) {
    size_t o = 0;
    if (n == 0) return;
    out[0] = '\0';
    if (!c || c->ncaps == 0) {
        snprintf(out, n, "(none)");
        return;
    }
    for (size_t i = 0; i < c->ncaps && o < n; i++) {
        int w = snprintf(out + o, n - o, "%s%s", i ? ", " : "", c->caps[i]);
        if (w < 0) break;
        o += (size_t)w;
    }
}

corral_status_t corral_claims_check_cap(const corral_claims_t *c, const char *contract_id,
                                        corral_err_t *err) {
    char caps[256];
    if (!contract_id || !*contract_id)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "no capability contract id to check");
    for (size_t i = 0; i < c->ncaps; i++)
        if (strcmp(c->caps[i], contract_id) == 0) return CORRAL_OK;
    corral_claims_caps_str(c, caps, sizeof caps);
    if (c->ncaps == 0)
        return corral_err_set(err, CORRAL_ERR_CAP_NOT_CLAIMED,
                              "actor %s (%s) may not use %s: its claims list no capabilities",
                              c->sub ? c->sub : "?", c->name ? c->name : "unnamed", contract_id);
    return corral_err_set(err, CORRAL_ERR_CAP_NOT_CLAIMED,
                          "actor %s (%s) may not use %s: its claims list only %s",
                          c->sub ? c->sub : "?", c->name ? c->name : "unnamed", contract_id, caps);
}

static int caps_subset(const corral_claims_t *a, const corral_claims_t *b) {
    for (size_t i = 0; i < a->ncaps; i++) {
        size_t j = 0;
        while (j < b->ncaps && strcmp(a->caps[i], b->caps[j]) != 0) j++;
        if (j == b->ncaps) return 0;
    }
    return 1;
}

corral_status_t corral_claims_check_update(const corral_claims_t *cur, const corral_claims_t *next,
                                           int *caps_changed, corral_err_t *err) {
    if (caps_changed) *caps_changed = !(caps_subset(cur, next) && caps_subset(next, cur));
    if (!cur->sub || !next->sub || strcmp(cur->sub, next->sub) != 0)
        return corral_err_set(err, CORRAL_ERR_UPDATE_REFUSED,
                              "update refused: new module's subject %s is not the running actor %s",
                              next->sub ? next->sub : "(none)", cur->sub ? cur->sub : "(none)");
    if (next->rev <= cur->rev)
        return corral_err_set(err, CORRAL_ERR_UPDATE_REFUSED,
                              "update refused for actor %s: new revision %lld is not greater than "
                              "the running revision %lld",
                              cur->sub, (long long)next->rev, (long long)cur->rev);
    return CORRAL_OK;
}

/* ---- signing ------------------------------------------------------------- */

static int text_ok(const char *s) {
    return !s || corral_utf8_valid((const uint8_t *)s, strlen(s));
}

static int texts_ok(const char *const *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!v[i] || !text_ok(v[i])) return 0;
    return 1;
}

static json_t *str_array(const char *const *v, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        if (!v[i] || json_array_append_new(a, json_string(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

corral_status_t corral_claims_sign_module(const uint8_t *wasm, size_t len,
                                          const corral_claims_sign_opts_t *opts,
                                          const corral_nkey_t *issuer,
                                          const corral_nkey_t *subject, corral_buf_t *out,
                                          char **token_out, corral_err_t *err) {
    char hash[65], iss[CORRAL_NKEY_PUBLIC_LEN + 1], sub[CORRAL_NKEY_PUBLIC_LEN + 1];
    char jti[CORRAL_CLAIMS_JTI_LEN + 1];
    json_t *root = NULL, *w = NULL;
    char *json = NULL, *token = NULL;
    corral_status_t st;
    if (token_out) *token_out = NULL;
    if (!opts || !opts->name || !*opts->name)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "an actor needs a name to be signed");
    if (issuer->type != CORRAL_NKEY_ACCOUNT)
        return corral_err_set(err, CORRAL_ERR_KEY_TYPE,
                              "the issuer must be an account key (A...), not a %s key",
                              corral_nkey_type_name(issuer->type));
    if (!issuer->has_seed)
        return corral_err_set(err, CORRAL_ERR_KEY_SEED, "the issuer key has no seed to sign with");
    if (subject->type != CORRAL_NKEY_MODULE)
        return corral_err_set(err, CORRAL_ERR_KEY_TYPE,
                              "the subject must be a module key (M...), not a %s key",
                              corral_nkey_type_name(subject->type));
    if (!text_ok(opts->name) || !text_ok(opts->ver) || !text_ok(opts->call_alias) ||
        !texts_ok(opts->tags, opts->ntags) || !texts_ok(opts->caps, opts->ncaps))
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "a name, tag, capability, version or call alias is missing or not "
                              "valid UTF-8");
    /* The module is copied with its section sizes in shortest form, as wascap
     * writes them, so the hash here is also the one wash computes. */
    size_t before = out->len;
    if ((st = claims_strip_normalized(wasm, len, out, err)) != CORRAL_OK) return st;
    if ((st = corral_claims_module_hash(out->data + before, out->len - before, hash, err)) !=
        CORRAL_OK)
        goto fail;
    corral_nkey_public_str(issuer, iss);
    corral_nkey_public_str(subject, sub);
    corral_claims_new_jti(jti);
    int64_t iat = opts->iat ? opts->iat : corral_unix_time();
    root = json_object();
    w = json_object();
    if (!root || !w) goto nomem;
    json_t *tags = str_array(opts->tags, opts->ntags), *caps = str_array(opts->caps, opts->ncaps);
    /* json_object_set_new consumes its value even when it fails. */
    int bad = json_object_set_new(w, "name", json_string(opts->name)) |
              json_object_set_new(w, "hash", json_string(hash)) |
              json_object_set_new(w, "tags", tags) | json_object_set_new(w, "caps", caps) |
              json_object_set_new(w, "rev", json_integer(opts->rev));
    if (opts->ver) bad |= json_object_set_new(w, "ver", json_string(opts->ver));
    if (opts->call_alias) bad |= json_object_set_new(w, "call_alias", json_string(opts->call_alias));
    bad |= json_object_set_new(w, "prov", json_false());
    bad |= json_object_set_new(root, "jti", json_string(jti)) |
           json_object_set_new(root, "iat", json_integer(iat)) |
           json_object_set_new(root, "iss", json_string(iss)) |
           json_object_set_new(root, "sub", json_string(sub));
    if (opts->exp) bad |= json_object_set_new(root, "exp", json_integer(opts->exp));
    if (opts->nbf) bad |= json_object_set_new(root, "nbf", json_integer(opts->nbf));
    bad |= json_object_set_new(root, "wascap", w);
    w = NULL;
    bad |= json_object_set_new(root, "wascap_revision", json_integer(3));
    if (bad) goto nomem; /* strings were checked above, so only memory can fail */
    if (!(json = json_dumps(root, JSON_COMPACT))) goto nomem;
    if ((st = claims_token_sign_raw(json, strlen(json), issuer, &token, err)) != CORRAL_OK) goto fail;
    if ((st = claims_append_token(out, token, strlen(token), opts->section, err)) != CORRAL_OK)
        goto fail;
    free(json);
    json_decref(root);
    if (token_out)
        *token_out = token;
    else
        corral_free(token);
    return CORRAL_OK;
nomem:
    st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory building claims");
fail:
    out->len = before;
    free(json);
    json_decref(w);
    json_decref(root);
    corral_free(token);
    return st;
}

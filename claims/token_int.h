/*
 * token_int.h - the JWT building blocks token.c shares with claims.c (actor
 * claims): splitting and decoding a token, the header, signature and time
 * checks. Private to the claims module.
 */
#ifndef CORRAL_TOKEN_INT_H
#define CORRAL_TOKEN_INT_H

#include <jansson.h>

#include "claims_int.h"

/* A token split into its decoded parts. header/claims are NUL-terminated
 * (the NUL is not counted). signed_len is the length of "header.claims". */
typedef struct claims_parts {
    corral_buf_t header;
    corral_buf_t claims;
    uint8_t sig[CORRAL_NKEY_SIG_LEN];
    size_t signed_len;
} claims_parts_t;

/* CORRAL_ERR_TOKEN_MALFORMED unless token is three unpadded base64url
 * segments with a 64-byte signature. p is empty on failure. */
corral_status_t claims_token_split(const char *token, size_t len, claims_parts_t *p,
                                   corral_err_t *err);
void claims_parts_free(claims_parts_t *p);

/* CORRAL_ERR_TOKEN_HEADER unless the header is exactly typ jwt / alg Ed25519. */
corral_status_t claims_check_header(const claims_parts_t *p, corral_err_t *err);

/* CORRAL_ERR_TOKEN_ISSUER if iss is NULL or not a key of `type`,
 * CORRAL_ERR_TOKEN_SIGNATURE if the signature does not verify. */
corral_status_t claims_check_signature(const char *token, const claims_parts_t *p, const char *iss,
                                       corral_nkey_type_t type, corral_err_t *err);

/* s when it is plausible key text (base32, at most 64 characters), else a
 * placeholder: keeps hostile strings (escape codes, huge text) out of error
 * messages before the token is known to be genuine. */
const char *claims_printable_key(const char *s);

/* Stage 6 (now 0 = wall clock). */
corral_status_t claims_check_times(int64_t now, int64_t skew, int has_exp, int64_t exp, int has_nbf,
                                   int64_t nbf, corral_err_t *err);

/* Signs claims[0..n) as they are. */
corral_status_t claims_token_sign_raw(const char *claims, size_t n, const corral_nkey_t *issuer,
                                      char **token_out, corral_err_t *err);

/* Optional non-negative integer member; -1 on a wrong type. */
int claims_json_time(json_t *obj, const char *key, int *has, int64_t *v);

/* ISO 8601 UTC date of t. */
void claims_fmt_time(int64_t t, char *out, size_t n);

#endif

/*
 * claims_int.h - private helpers shared by the claims module's files:
 * libsodium start-up, base32 for nkeys and base64url for tokens. Not part of
 * the public API (see corral_claims.h).
 */
#ifndef CORRAL_CLAIMS_INT_H
#define CORRAL_CLAIMS_INT_H

#include "corral_claims.h"

/* Initialises libsodium once (thread-safe). Returns 0 on success. */
int claims_sodium_init(void);

/* base64url without padding. Appends to out. */
corral_status_t claims_b64url_encode(const uint8_t *p, size_t n, corral_buf_t *out);

/* Strict base64url decode without padding: only A-Za-z0-9-_ , no length of
 * 1 mod 4, unused trailing bits must be zero. Appends to out. Returns
 * CORRAL_ERR_PARSE on bad input, CORRAL_ERR_NOMEM. */
corral_status_t claims_b64url_decode(const char *s, size_t n, corral_buf_t *out);

/* The section names a token may live in. */
#define CLAIMS_SECTION_JWT           "jwt"
#define CLAIMS_SECTION_WASMCLOUD_JWT "wasmcloud_jwt"

/* corral_claims_strip, but every kept section is rewritten with its size as
 * the shortest LEB128 (payloads unchanged), as wascap does when it strips. */
corral_status_t claims_strip_normalized(const uint8_t *wasm, size_t len, corral_buf_t *out,
                                        corral_err_t *err);

/* Appends one custom section holding the token to out (out unchanged on
 * failure). */
corral_status_t claims_append_token(corral_buf_t *out, const char *token, size_t token_len,
                                    corral_claims_section_name_t section, corral_err_t *err);

#endif

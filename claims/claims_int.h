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

#endif

/*
 * lattice_int.h - private declarations shared by the lattice's files
 * (invocation.c, antiforgery.c, lattice.c). Not installed; not for callers.
 */
#ifndef CORRAL_LATTICE_INT_H
#define CORRAL_LATTICE_INT_H

#include "corral_lattice.h"

/* Writes a random (v4) UUID, 36 characters and a NUL. */
void corral_lattice_new_id(char out[37]);

/* corral_lattice_sign without allocating: when inv->id is NULL a fresh id is
 * written to id (and used as sub); the token goes to token[0..cap) with a
 * NUL. iss is the cluster's public key text (NULL = derived from cluster).
 * CORRAL_OK, or a status without a message (CORRAL_ERR_TOO_LARGE when a
 * field does not fit, CORRAL_ERR_INVALID_ARG for text that is not UTF-8 or
 * a key that cannot sign): callers fall back to corral_lattice_sign, which
 * says what is wrong. */
corral_status_t corral_lattice_sign_into(const corral_lattice_invocation_t *inv,
                                         const uint8_t *body, size_t body_len,
                                         const corral_nkey_t *cluster, const char *iss,
                                         int64_t now, uint32_t ttl_s, char id[37], char *token,
                                         size_t cap);

/* corral_lattice_verify with opts->issuers already decoded into keys (same
 * order, so no call decodes key text); keys NULL = decode per call. */
corral_status_t corral_lattice_verify_keys(const corral_lattice_invocation_t *inv,
                                           const uint8_t *body, size_t body_len,
                                           const corral_lattice_verify_opts_t *opts,
                                           const corral_nkey_t *keys, corral_err_t *err);

#endif

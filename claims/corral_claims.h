/*
 * corral_claims.h - keys, claims tokens and signed modules: the whole public
 * API of the claims module. Compatible with the waSCC / wasmCloud "wascap"
 * format (docs/claims.md): a module signed by `wash` verifies here, and one
 * signed here verifies there.
 *
 * Four parts:
 *   - nkeys (corral_nkey_*): ed25519 keys as 56-character public key text and
 *     58-character seed text, with a type prefix and a CRC-16 checksum;
 *   - tokens (corral_claims_token_*): JWTs with the header
 *     {"typ":"jwt","alg":"Ed25519"}, signed by an nkey seed; used for actors
 *     here and for the lattice's invocation anti-forgery tokens;
 *   - module sections (corral_claims_scan_*, _find_token, _strip, _embed,
 *     _module_hash): the `jwt` / `wasmcloud_jwt` custom section and the hash;
 *   - actor claims (corral_claims_sign_module, _read_module, _verify_module,
 *     _check_cap, _check_update): the verification stages of the doc, in
 *     order, each with its own status code.
 *
 * Conventions for every function here:
 *   - Inputs (modules, tokens, key text) are treated as hostile: every length
 *     is bounds-checked, failures return a status and never read out of
 *     bounds.
 *   - `err` may be NULL; when not, a failing call fills it with its status and
 *     a message naming what failed. Seeds never appear in messages or logs.
 *   - Allocation goes through corral_malloc (JSON through jansson, which uses
 *     malloc). Any allocation failure returns CORRAL_ERR_NOMEM, leaving the
 *     outputs empty and nothing allocated.
 *   - Functions are thread-safe when the objects they are given are not
 *     shared with a concurrent writer; there is no hidden global state apart
 *     from libsodium's one-time initialisation (done here, thread-safe).
 */
#ifndef CORRAL_CLAIMS_H
#define CORRAL_CLAIMS_H

#include <stddef.h>
#include <stdint.h>

#include "corral_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* nkeys                                                                     */
/* ======================================================================== */

/* The type byte of a key; the value is what is encoded in the key's prefix
 * (its first character). */
typedef enum corral_nkey_type {
    CORRAL_NKEY_ACCOUNT = 0,        /* A: issuers of actors */
    CORRAL_NKEY_CLUSTER = 2 << 3,   /* C: lattice signing keys */
    CORRAL_NKEY_MODULE = 12 << 3,   /* M: actors */
    CORRAL_NKEY_SERVER = 13 << 3,   /* N: hosts */
    CORRAL_NKEY_OPERATOR = 14 << 3, /* O */
    CORRAL_NKEY_USER = 20 << 3,     /* U */
    CORRAL_NKEY_SERVICE = 21 << 3,  /* V: providers */
    CORRAL_NKEY_ANY = -1            /* "any of the above" where a type is expected */
} corral_nkey_type_t;

#define CORRAL_NKEY_PUBLIC_LEN 56 /* characters of public key text */
#define CORRAL_NKEY_SEED_LEN   58 /* characters of seed text */
#define CORRAL_NKEY_SIG_LEN    64 /* bytes of an ed25519 signature */

/* A key: its type, its 32-byte ed25519 public key and, when made from a
 * seed or generated, the private half. A plain value owned by the caller:
 * no heap memory, copyable, but whoever holds one with a seed must call
 * corral_nkey_wipe() when done so the private key does not linger in memory.
 * Treat the fields as read-only; the private part is not for direct use. */
typedef struct corral_nkey {
    corral_nkey_type_t type;
    uint8_t public_key[32];
    int has_seed;          /* 1 when seed/secret_ are valid */
    uint8_t seed[32];      /* RFC 8032 private seed (private; never log) */
    uint8_t secret_[64];   /* libsodium secret key derived from seed (private) */
} corral_nkey_t;

/* "account", "module", "server", "cluster", "operator", "user", "service";
 * "unknown" for other values. Static string. */
const char *corral_nkey_type_name(corral_nkey_type_t type);

/* Parses one of the names above (as corral_nkey_type_name gives them).
 * CORRAL_ERR_INVALID_ARG for anything else. */
corral_status_t corral_nkey_type_parse(const char *name, corral_nkey_type_t *out,
                                       corral_err_t *err);

/* Makes a new random key of `type` (not CORRAL_NKEY_ANY) with libsodium's
 * generator. out is overwritten; wipe it when done. Errors:
 * CORRAL_ERR_INVALID_ARG for a bad type, CORRAL_ERR_INTERNAL if libsodium
 * cannot initialise. */
corral_status_t corral_nkey_generate(corral_nkey_type_t type, corral_nkey_t *out,
                                     corral_err_t *err);

/* Decodes seed text (58 characters, "S" + type letter ...) into out, deriving
 * the key pair. `expect` is the required type or CORRAL_NKEY_ANY. The text is
 * only read; the caller wipes its own copy. Errors, checked in this order:
 * CORRAL_ERR_KEY_LENGTH (not 58 characters; a 56-character public key gives
 * CORRAL_ERR_KEY_SEED "a public key, not a seed"), CORRAL_ERR_KEY_ALPHABET (a
 * character outside A-Z2-7, or non-canonical trailing bits),
 * CORRAL_ERR_KEY_CHECKSUM, CORRAL_ERR_KEY_SEED (the prefix is not a seed
 * prefix), CORRAL_ERR_KEY_TYPE (unknown type, or not `expect`). On failure
 * out is zeroed. */
corral_status_t corral_nkey_from_seed(const char *text, corral_nkey_type_t expect,
                                      corral_nkey_t *out, corral_err_t *err);

/* Loads a seed given either as seed text or as the path of a file holding
 * it (as `wash` writes .nk files; surrounding whitespace is ignored). An
 * argument that starts with 'S' and contains no '/' or '.' is taken as seed
 * text, anything else as a path (when no such file exists and the argument is
 * all base32 characters, it is judged as seed text, so a public key given by
 * mistake gets CORRAL_ERR_KEY_SEED). The file's bytes are wiped after use.
 * Errors: those of corral_nkey_from_seed (the message says which file),
 * CORRAL_ERR_NOT_FOUND / CORRAL_ERR_IO for an unreadable file,
 * CORRAL_ERR_TOO_LARGE for a file above 4 KiB. */
corral_status_t corral_nkey_load(const char *seed_or_path, corral_nkey_type_t expect,
                                 corral_nkey_t *out, corral_err_t *err);

/* Decodes public key text (56 characters) into out (has_seed = 0).
 * Errors as for corral_nkey_from_seed: CORRAL_ERR_KEY_LENGTH,
 * CORRAL_ERR_KEY_ALPHABET, CORRAL_ERR_KEY_CHECKSUM, CORRAL_ERR_KEY_TYPE (an
 * unknown prefix, a seed, or not `expect`). out may be NULL to only check. */
corral_status_t corral_nkey_from_public(const char *text, corral_nkey_type_t expect,
                                        corral_nkey_t *out, corral_err_t *err);

/* Writes the public key text of k into out (NUL-terminated). Cannot fail for
 * a key made by the functions above. */
void corral_nkey_public_str(const corral_nkey_t *k, char out[CORRAL_NKEY_PUBLIC_LEN + 1]);

/* Writes the seed text of k into out (NUL-terminated). The caller must wipe
 * out (sodium_memzero or corral_nkey_wipe_text) after use.
 * CORRAL_ERR_KEY_SEED when k has no seed. */
corral_status_t corral_nkey_seed_str(const corral_nkey_t *k, char out[CORRAL_NKEY_SEED_LEN + 1],
                                     corral_err_t *err);

/* Signs msg[0..len) with k's seed (ed25519, detached).
 * CORRAL_ERR_KEY_SEED when k has no seed. */
corral_status_t corral_nkey_sign(const corral_nkey_t *k, const void *msg, size_t len,
                                 uint8_t sig[CORRAL_NKEY_SIG_LEN], corral_err_t *err);

/* Checks an ed25519 signature of msg by k's public key.
 * CORRAL_ERR_TOKEN_SIGNATURE when it does not verify. */
corral_status_t corral_nkey_verify(const corral_nkey_t *k, const void *msg, size_t len,
                                   const uint8_t sig[CORRAL_NKEY_SIG_LEN], corral_err_t *err);

/* Erases the private half of k (sodium_memzero) and the rest of it. k may be
 * NULL. */
void corral_nkey_wipe(corral_nkey_t *k);

/* Erases a NUL-terminated text buffer of n bytes that held a seed. */
void corral_nkey_wipe_text(char *text, size_t n);

/* CRC-16/XMODEM (poly 0x1021, init 0) of p[0..n): the nkey checksum. */
uint16_t corral_nkey_crc16(const uint8_t *p, size_t n);

/* ======================================================================== */
/* tokens (JWT)                                                             */
/* ======================================================================== */

/* The exact header of every token. */
#define CORRAL_CLAIMS_HEADER "{\"typ\":\"jwt\",\"alg\":\"Ed25519\"}"
/* Tokens longer than this are rejected as malformed before any parsing. */
#define CORRAL_CLAIMS_TOKEN_MAX (1u << 20)
/* Characters of a generated jti (base62). */
#define CORRAL_CLAIMS_JTI_LEN 22

/* Signs an arbitrary claims object: token = b64url(header) "." b64url(claims
 * as given) "." b64url(signature by issuer's seed). claims_json must be one
 * JSON object; if it has an "iss" string it must equal the issuer's public
 * key. *token_out receives a NUL-terminated token (free with corral_free).
 * Errors: CORRAL_ERR_INVALID_ARG (not a JSON object, iss mismatch),
 * CORRAL_ERR_KEY_SEED (issuer has no seed), CORRAL_ERR_NOMEM. */
corral_status_t corral_claims_token_sign(const char *claims_json, const corral_nkey_t *issuer,
                                         char **token_out, corral_err_t *err);

/* Makes a fresh random jti (22 base62 characters) into out. */
void corral_claims_new_jti(char out[CORRAL_CLAIMS_JTI_LEN + 1]);

/* A verified, decoded token. Everything is owned by the struct; free it with
 * corral_claims_token_free. The JSON texts are exactly the decoded segments,
 * unknown fields included. */
typedef struct corral_claims_token {
    char *header_json;                        /* decoded header segment */
    char *claims_json;                        /* decoded claims segment */
    char iss[CORRAL_NKEY_PUBLIC_LEN + 1];     /* issuer public key (verified) */
    char *sub;                                /* "sub" string, or NULL if absent */
    char *jti;                                /* "jti" string, or NULL if absent */
    int64_t iat, exp, nbf;                    /* 0 when absent */
} corral_claims_token_t;

/* Options for corral_claims_token_verify. Zero-initialise. */
typedef struct corral_claims_token_opts {
    corral_nkey_type_t issuer_type;       /* e.g. CORRAL_NKEY_CLUSTER; 0 is ACCOUNT */
    const char *const *allowed_issuers;   /* NULL / 0 = any issuer of that type */
    size_t n_allowed_issuers;
    int64_t now;                          /* seconds since the epoch; 0 = wall clock */
    int64_t clock_skew;                   /* seconds allowed each way, >= 0 */
} corral_claims_token_opts_t;

/* Verifies a general token: shape and base64url (CORRAL_ERR_TOKEN_MALFORMED),
 * header (CORRAL_ERR_TOKEN_HEADER), iss decodes as issuer_type
 * (CORRAL_ERR_TOKEN_ISSUER), signature (CORRAL_ERR_TOKEN_SIGNATURE), exp/nbf
 * (CORRAL_ERR_TOKEN_EXPIRED / CORRAL_ERR_TOKEN_NOT_YET_VALID), allowed
 * issuers (CORRAL_ERR_ISSUER_NOT_ALLOWED). On success *out (may be NULL) gets
 * a new token; on failure *out is NULL. */
corral_status_t corral_claims_token_verify(const char *token, size_t len,
                                           const corral_claims_token_opts_t *opts,
                                           corral_claims_token_t **out, corral_err_t *err);

/* Frees a token from corral_claims_token_verify. NULL is a no-op. */
void corral_claims_token_free(corral_claims_token_t *t);

/* ======================================================================== */
/* module sections                                                           */
/* ======================================================================== */

/* A section of a module, as offsets into the module's bytes. For a custom
 * section (id 0) name/name_len point into the module (not NUL-terminated)
 * and data..end is its payload. */
typedef struct corral_claims_section {
    uint8_t id;
    size_t start;            /* offset of the id byte */
    size_t end;              /* offset one past the section */
    size_t content;          /* offset of the contents (after the size) */
    const uint8_t *name;     /* custom sections only, else NULL */
    size_t name_len;
    size_t data;             /* custom: offset of the payload after the name */
} corral_claims_section_t;

/* A cursor over a module's sections; allocation-free. Not thread-safe. */
typedef struct corral_claims_scan {
    const uint8_t *wasm;
    size_t len;
    size_t pos;
} corral_claims_scan_t;

/* Starts a scan: checks the 8-byte header (magic "\0asm", version 1).
 * CORRAL_ERR_NOT_WASM otherwise. The scan borrows wasm, which must outlive it. */
corral_status_t corral_claims_scan_init(corral_claims_scan_t *s, const uint8_t *wasm, size_t len,
                                        corral_err_t *err);

/* Reads the next section into *out and sets *more = 1, or sets *more = 0 at
 * the end. CORRAL_ERR_SECTION_MALFORMED (message with the offset) for a
 * truncated or over-long size, a size running past the end, or a custom
 * section whose name runs past its section. */
corral_status_t corral_claims_scan_next(corral_claims_scan_t *s, corral_claims_section_t *out,
                                        int *more, corral_err_t *err);

/* 1 if the section is a token section (custom, named `jwt` or
 * `wasmcloud_jwt`). */
int corral_claims_section_is_token(const corral_claims_section_t *sec);

/* Finds the one token section: *token / *token_len point into wasm
 * (borrowed). Errors: CORRAL_ERR_NOT_WASM, CORRAL_ERR_SECTION_MALFORMED,
 * CORRAL_ERR_NO_TOKEN, CORRAL_ERR_MULTIPLE_TOKENS. */
corral_status_t corral_claims_find_token(const uint8_t *wasm, size_t len, const uint8_t **token,
                                         size_t *token_len, corral_err_t *err);

/* Appends to out the module without any token section, every other byte kept
 * in order. Errors: CORRAL_ERR_NOT_WASM, CORRAL_ERR_SECTION_MALFORMED,
 * CORRAL_ERR_NOMEM (out keeps what it had). */
corral_status_t corral_claims_strip(const uint8_t *wasm, size_t len, corral_buf_t *out,
                                    corral_err_t *err);

/* The module hash: uppercase hex SHA-256 of the module without its token
 * sections (out is NUL-terminated, 64 characters). Allocation-free.
 * Errors: CORRAL_ERR_NOT_WASM, CORRAL_ERR_SECTION_MALFORMED. */
corral_status_t corral_claims_module_hash(const uint8_t *wasm, size_t len, char out[65],
                                          corral_err_t *err);

/* Which custom section name to write a token into. */
typedef enum corral_claims_section_name {
    CORRAL_CLAIMS_SECTION_JWT = 0,       /* "jwt" (default, read by all tools) */
    CORRAL_CLAIMS_SECTION_WASMCLOUD_JWT  /* "wasmcloud_jwt" (newer wasmCloud) */
} corral_claims_section_name_t;

/* Appends to out the module with every token section removed and one new
 * custom section holding token[0..token_len) at the end. Errors as
 * corral_claims_strip, plus CORRAL_ERR_TOO_LARGE for a token over 4 GiB. */
corral_status_t corral_claims_embed(const uint8_t *wasm, size_t len, const char *token,
                                    size_t token_len, corral_claims_section_name_t section,
                                    corral_buf_t *out, corral_err_t *err);

/* ======================================================================== */
/* actor claims                                                              */
/* ======================================================================== */

/* An actor's decoded claims. Owned by the struct (strings and arrays), freed
 * with corral_claims_free. Optional strings are NULL when absent;
 * tags/caps are arrays of ncaps / ntags strings (NULL when empty). */
typedef struct corral_claims {
    char *header_json;      /* the decoded header, as in the token */
    char *claims_json;      /* the decoded claims, unknown fields included */
    char *token;            /* the token text itself */
    char *jti;
    char *iss;
    char *sub;
    int64_t iat;
    int64_t exp, nbf;       /* 0 when absent */
    int has_exp, has_nbf;
    /* wascap */
    char *name;
    char *hash;
    char **tags;
    size_t ntags;
    char **caps;
    size_t ncaps;
    int64_t rev;            /* 0 when absent */
    int has_rev;
    char *ver;
    char *call_alias;
    int prov;
    int64_t wascap_revision; /* 0 when absent */
} corral_claims_t;

/* Frees claims from this module. NULL is a no-op. */
void corral_claims_free(corral_claims_t *c);

/* What to sign into a module. Strings and arrays are borrowed for the call.
 * Zero-initialise; every field but name is optional. */
typedef struct corral_claims_sign_opts {
    const char *name;
    const char *const *caps;
    size_t ncaps;
    const char *const *tags;
    size_t ntags;
    int64_t rev;            /* revision, written always (wash's default is 0) */
    const char *ver;
    const char *call_alias;
    int64_t iat;            /* 0 = now */
    int64_t exp;            /* absolute seconds; 0 = never expires */
    int64_t nbf;            /* absolute seconds; 0 = none */
    corral_claims_section_name_t section;
} corral_claims_sign_opts_t;

/* Signs a module: strips any existing token sections, hashes, builds the
 * claims (fresh jti, iat, iss = issuer's account key, sub = subject's module
 * key, wascap{...}, wascap_revision 3), signs them with the issuer's seed and
 * appends one custom section at the end. Every other section keeps its
 * payload byte for byte; a section size written in a padded (longer than
 * needed) LEB128 form is rewritten in its shortest form, as wasmCloud's tools
 * do, so the hash is the one they compute too. The signed module is appended
 * to out; *token_out (optional, may be NULL) receives the token (free with
 * corral_free). The keys are only read. Errors: CORRAL_ERR_INVALID_ARG (no
 * name; a string that is not UTF-8), CORRAL_ERR_KEY_TYPE (issuer not an
 * account key, subject not a module key), CORRAL_ERR_KEY_SEED (issuer has no
 * seed), CORRAL_ERR_NOT_WASM, CORRAL_ERR_SECTION_MALFORMED, CORRAL_ERR_NOMEM.
 * On failure out keeps what it had. */
corral_status_t corral_claims_sign_module(const uint8_t *wasm, size_t len,
                                          const corral_claims_sign_opts_t *opts,
                                          const corral_nkey_t *issuer,
                                          const corral_nkey_t *subject, corral_buf_t *out,
                                          char **token_out, corral_err_t *err);

/* Parses a token's actor claims WITHOUT checking anything beyond its shape
 * (for display). Errors: CORRAL_ERR_TOKEN_MALFORMED (message names the
 * field), CORRAL_ERR_NOMEM. *out is NULL on failure. */
corral_status_t corral_claims_parse_token(const char *token, size_t len, corral_claims_t **out,
                                          corral_err_t *err);

/* Finds the module's token and parses it as corral_claims_parse_token does
 * (stage 1 errors plus those of parse). Nothing is verified. */
corral_status_t corral_claims_read_module(const uint8_t *wasm, size_t len, corral_claims_t **out,
                                          corral_err_t *err);

/* Options of corral_claims_verify_module. Zero-initialise. */
typedef struct corral_claims_verify_opts {
    const char *const *allowed_issuers; /* account keys; NULL / 0 = any */
    size_t n_allowed_issuers;
    const char *const *revoked;         /* jti values or subject keys */
    size_t n_revoked;
    int64_t clock_skew;                 /* seconds, >= 0; default 0 */
    int64_t now;                        /* seconds since the epoch; 0 = wall clock */
} corral_claims_verify_opts_t;

/* Verifies a signed module, strictly in the order of docs/claims.md, and
 * stops at the first failure with that stage's code:
 *   1 CORRAL_ERR_NOT_WASM, _SECTION_MALFORMED, _NO_TOKEN, _MULTIPLE_TOKENS,
 *     _TOKEN_MALFORMED (not three base64url segments of JSON, bad fields);
 *   2 _TOKEN_HEADER; 3 _TOKEN_ISSUER, _TOKEN_SIGNATURE; 4 _TOKEN_SUBJECT;
 *   5 _HASH_MISMATCH; 6 _TOKEN_EXPIRED, _TOKEN_NOT_YET_VALID;
 *   7 _ISSUER_NOT_ALLOWED, _REVOKED.
 * opts may be NULL (defaults). On success *out (optional) receives the
 * claims; on failure it is NULL. */
corral_status_t corral_claims_verify_module(const uint8_t *wasm, size_t len,
                                            const corral_claims_verify_opts_t *opts,
                                            corral_claims_t **out, corral_err_t *err);

/* Stage 8: may the actor use capability contract_id? CORRAL_OK when it is in
 * caps; CORRAL_ERR_CAP_NOT_CLAIMED with "actor <sub> (<name>) may not use
 * <contract>: its claims list only <caps>" otherwise. Calls to another actor
 * need no capability: do not call this for them. */
corral_status_t corral_claims_check_cap(const corral_claims_t *c, const char *contract_id,
                                        corral_err_t *err);

/* Stage 9: may `next` replace the running `cur`? Same sub and a strictly
 * greater rev, else CORRAL_ERR_UPDATE_REFUSED with the reason.
 * *caps_changed (optional) is set to 1 when the two caps sets differ. */
corral_status_t corral_claims_check_update(const corral_claims_t *cur, const corral_claims_t *next,
                                           int *caps_changed, corral_err_t *err);

/* Writes the caps joined by ", " (or "(none)") into out, truncated to n. */
void corral_claims_caps_str(const corral_claims_t *c, char *out, size_t n);

#ifdef __cplusplus
}
#endif

#endif

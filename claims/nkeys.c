/*
 * nkeys.c - ed25519 keys as text (the NATS "nkeys" encoding used by wascap):
 * base32 (RFC 4648, no padding) of a type prefix, the 32-byte key and a
 * little-endian CRC-16/XMODEM. Signing and verifying go through libsodium.
 * Seeds are wiped from every temporary buffer before returning.
 */
#include <string.h>

#include <sodium.h>

#include "claims_int.h"

#define SEED_PREFIX 0x90 /* 18 << 3: the "S" of every seed */

int claims_sodium_init(void) {
    /* sodium_init is idempotent and thread-safe; it returns 1 when already done. */
    return sodium_init() < 0 ? -1 : 0;
}

uint16_t corral_nkey_crc16(const uint8_t *p, size_t n) {
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* out must hold (n * 8 + 4) / 5 + 1 characters. */
static void b32_encode(const uint8_t *p, size_t n, char *out) {
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | p[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = b32_alphabet[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0) out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
}

/* Decodes n characters into exactly n*5/8 bytes. Returns 0, or -1 on a
 * character outside the alphabet or non-zero unused trailing bits. */
static int b32_decode(const char *s, size_t n, uint8_t *out) {
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        uint32_t v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= '2' && c <= '7')
            v = c - '2' + 26;
        else
            return -1;
        acc = ((acc << 5) | v) & 0xFFFF;
        bits += 5;
        if (bits >= 8) {
            out[o++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return -1;
    return 0;
}

static int type_known(int t) {
    switch (t) {
    case CORRAL_NKEY_ACCOUNT:
    case CORRAL_NKEY_CLUSTER:
    case CORRAL_NKEY_MODULE:
    case CORRAL_NKEY_SERVER:
    case CORRAL_NKEY_OPERATOR:
    case CORRAL_NKEY_USER:
    case CORRAL_NKEY_SERVICE:
        return 1;
    default:
        return 0;
    }
}

const char *corral_nkey_type_name(corral_nkey_type_t type) {
    switch (type) {
    case CORRAL_NKEY_ACCOUNT: return "account";
    case CORRAL_NKEY_CLUSTER: return "cluster";
    case CORRAL_NKEY_MODULE: return "module";
    case CORRAL_NKEY_SERVER: return "server";
    case CORRAL_NKEY_OPERATOR: return "operator";
    case CORRAL_NKEY_USER: return "user";
    case CORRAL_NKEY_SERVICE: return "service";
    default: return "unknown";
    }
}

static const corral_nkey_type_t all_types[] = {
    CORRAL_NKEY_ACCOUNT, CORRAL_NKEY_MODULE,   CORRAL_NKEY_SERVER, CORRAL_NKEY_CLUSTER,
    CORRAL_NKEY_OPERATOR, CORRAL_NKEY_USER, CORRAL_NKEY_SERVICE};

corral_status_t corral_nkey_type_parse(const char *name, corral_nkey_type_t *out,
                                       corral_err_t *err) {
    for (size_t i = 0; name && i < sizeof all_types / sizeof all_types[0]; i++) {
        if (strcmp(name, corral_nkey_type_name(all_types[i])) == 0) {
            *out = all_types[i];
            return CORRAL_OK;
        }
    }
    return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                          "unknown key type '%s' (expected account, module, server, cluster, "
                          "operator, user or service)",
                          name ? name : "(null)");
}

/* Type letter for messages: the first character of a public key. */
static char type_letter(corral_nkey_type_t t) {
    return b32_alphabet[((unsigned)t >> 3) & 31];
}

static corral_status_t wrong_type(corral_err_t *err, const char *what, int got,
                                  corral_nkey_type_t expect) {
    if (!type_known(got))
        return corral_err_set(err, CORRAL_ERR_KEY_TYPE, "%s has an unknown key type prefix", what);
    return corral_err_set(err, CORRAL_ERR_KEY_TYPE, "%s is a%s %s key (%c...), expected a%s %s key (%c...)",
                          what, got == CORRAL_NKEY_ACCOUNT || got == CORRAL_NKEY_OPERATOR ? "n" : "",
                          corral_nkey_type_name((corral_nkey_type_t)got), type_letter((corral_nkey_type_t)got),
                          expect == CORRAL_NKEY_ACCOUNT || expect == CORRAL_NKEY_OPERATOR ? "n" : "",
                          corral_nkey_type_name(expect), type_letter(expect));
}

static corral_status_t keypair_from_seed(corral_nkey_t *k, corral_err_t *err) {
    if (claims_sodium_init() != 0)
        return corral_err_set(err, CORRAL_ERR_INTERNAL, "libsodium failed to initialise");
    crypto_sign_seed_keypair(k->public_key, k->secret_, k->seed);
    k->has_seed = 1;
    return CORRAL_OK;
}

corral_status_t corral_nkey_generate(corral_nkey_type_t type, corral_nkey_t *out,
                                     corral_err_t *err) {
    memset(out, 0, sizeof *out);
    if (!type_known(type))
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "cannot generate a key of unknown type %d",
                              (int)type);
    if (claims_sodium_init() != 0)
        return corral_err_set(err, CORRAL_ERR_INTERNAL, "libsodium failed to initialise");
    out->type = type;
    randombytes_buf(out->seed, sizeof out->seed);
    return keypair_from_seed(out, err);
}

corral_status_t corral_nkey_from_seed(const char *text, corral_nkey_type_t expect,
                                      corral_nkey_t *out, corral_err_t *err) {
    uint8_t raw[36];
    corral_status_t st;
    memset(out, 0, sizeof *out);
    size_t n = text ? strlen(text) : 0;
    if (n == CORRAL_NKEY_PUBLIC_LEN && text[0] != 'S') {
        st = corral_err_set(err, CORRAL_ERR_KEY_SEED,
                            "expected a seed (58 characters starting with S), got what looks like "
                            "a public key");
        goto fail;
    }
    if (n != CORRAL_NKEY_SEED_LEN) {
        st = corral_err_set(err, CORRAL_ERR_KEY_LENGTH,
                            "seed has %zu characters, expected %d", n, CORRAL_NKEY_SEED_LEN);
        goto fail;
    }
    if (b32_decode(text, n, raw) != 0) {
        st = corral_err_set(err, CORRAL_ERR_KEY_ALPHABET,
                            "seed has a character outside the base32 alphabet A-Z2-7");
        goto fail;
    }
    uint16_t crc = (uint16_t)(raw[34] | (raw[35] << 8));
    if (corral_nkey_crc16(raw, 34) != crc) {
        st = corral_err_set(err, CORRAL_ERR_KEY_CHECKSUM, "seed checksum does not match");
        goto fail;
    }
    if ((raw[0] & 0xF8) != SEED_PREFIX) {
        st = corral_err_set(err, CORRAL_ERR_KEY_SEED, "seed does not carry the seed prefix 'S'");
        goto fail;
    }
    int type = ((raw[0] & 7) << 5) | (raw[1] >> 3);
    if ((raw[1] & 7) != 0 || !type_known(type) || (expect != CORRAL_NKEY_ANY && type != (int)expect)) {
        st = wrong_type(err, "seed", (raw[1] & 7) ? -1 : type,
                        expect == CORRAL_NKEY_ANY ? CORRAL_NKEY_ACCOUNT : expect);
        goto fail;
    }
    out->type = (corral_nkey_type_t)type;
    memcpy(out->seed, raw + 2, 32);
    st = keypair_from_seed(out, err);
    if (st != CORRAL_OK) goto fail;
    sodium_memzero(raw, sizeof raw);
    return CORRAL_OK;
fail:
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(out, sizeof *out);
    return st;
}

corral_status_t corral_nkey_from_public(const char *text, corral_nkey_type_t expect,
                                        corral_nkey_t *out, corral_err_t *err) {
    uint8_t raw[35];
    size_t n = text ? strlen(text) : 0;
    if (out) memset(out, 0, sizeof *out);
    if (n != CORRAL_NKEY_PUBLIC_LEN)
        return corral_err_set(err, CORRAL_ERR_KEY_LENGTH, "public key has %zu characters, expected %d",
                              n, CORRAL_NKEY_PUBLIC_LEN);
    if (b32_decode(text, n, raw) != 0)
        return corral_err_set(err, CORRAL_ERR_KEY_ALPHABET,
                              "public key has a character outside the base32 alphabet A-Z2-7");
    uint16_t crc = (uint16_t)(raw[33] | (raw[34] << 8));
    if (corral_nkey_crc16(raw, 33) != crc)
        return corral_err_set(err, CORRAL_ERR_KEY_CHECKSUM, "public key checksum does not match");
    int type = raw[0];
    if ((type & 7) != 0 || !type_known(type) || (expect != CORRAL_NKEY_ANY && type != (int)expect))
        return wrong_type(err, "public key", (type & 7) ? -1 : type,
                          expect == CORRAL_NKEY_ANY ? CORRAL_NKEY_ACCOUNT : expect);
    if (out) {
        out->type = (corral_nkey_type_t)type;
        memcpy(out->public_key, raw + 1, 32);
    }
    return CORRAL_OK;
}

void corral_nkey_public_str(const corral_nkey_t *k, char out[CORRAL_NKEY_PUBLIC_LEN + 1]) {
    uint8_t raw[35];
    raw[0] = (uint8_t)k->type;
    memcpy(raw + 1, k->public_key, 32);
    uint16_t crc = corral_nkey_crc16(raw, 33);
    raw[33] = (uint8_t)(crc & 0xFF);
    raw[34] = (uint8_t)(crc >> 8);
    b32_encode(raw, sizeof raw, out);
}

corral_status_t corral_nkey_seed_str(const corral_nkey_t *k, char out[CORRAL_NKEY_SEED_LEN + 1],
                                     corral_err_t *err) {
    uint8_t raw[36];
    if (!k->has_seed) {
        out[0] = '\0';
        return corral_err_set(err, CORRAL_ERR_KEY_SEED, "key has no seed");
    }
    raw[0] = (uint8_t)(SEED_PREFIX | ((unsigned)k->type >> 5));
    raw[1] = (uint8_t)(((unsigned)k->type & 31) << 3);
    memcpy(raw + 2, k->seed, 32);
    uint16_t crc = corral_nkey_crc16(raw, 34);
    raw[34] = (uint8_t)(crc & 0xFF);
    raw[35] = (uint8_t)(crc >> 8);
    b32_encode(raw, sizeof raw, out);
    sodium_memzero(raw, sizeof raw);
    return CORRAL_OK;
}

corral_status_t corral_nkey_sign(const corral_nkey_t *k, const void *msg, size_t len,
                                 uint8_t sig[CORRAL_NKEY_SIG_LEN], corral_err_t *err) {
    if (!k->has_seed) return corral_err_set(err, CORRAL_ERR_KEY_SEED, "cannot sign: key has no seed");
    crypto_sign_detached(sig, NULL, (const unsigned char *)msg, len, k->secret_);
    return CORRAL_OK;
}

corral_status_t corral_nkey_verify(const corral_nkey_t *k, const void *msg, size_t len,
                                   const uint8_t sig[CORRAL_NKEY_SIG_LEN], corral_err_t *err) {
    if (claims_sodium_init() != 0)
        return corral_err_set(err, CORRAL_ERR_INTERNAL, "libsodium failed to initialise");
    if (crypto_sign_verify_detached(sig, (const unsigned char *)msg, len, k->public_key) != 0)
        return corral_err_set(err, CORRAL_ERR_TOKEN_SIGNATURE, "signature does not verify");
    return CORRAL_OK;
}

void corral_nkey_wipe(corral_nkey_t *k) {
    if (k) sodium_memzero(k, sizeof *k);
}

void corral_nkey_wipe_text(char *text, size_t n) {
    if (text) sodium_memzero(text, n);
}

corral_status_t corral_nkey_load(const char *arg, corral_nkey_type_t expect, corral_nkey_t *out,
                                 corral_err_t *err) {
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_status_t st;
    memset(out, 0, sizeof *out);
    if (!arg || !*arg) return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "no key given");
    if (arg[0] == 'S' && !strchr(arg, '/') && !strchr(arg, '.'))
        return corral_nkey_from_seed(arg, expect, out, err);
    if ((st = corral_file_read(arg, 4096, &b, err)) != CORRAL_OK) {
        if (b.data) sodium_memzero(b.data, b.len);
        corral_buf_free(&b);
        /* No such file, but it reads like key text (a public key, say): say
         * what is wrong with it as a key rather than as a path. */
        if (st == CORRAL_ERR_NOT_FOUND && strspn(arg, b32_alphabet) == strlen(arg))
            return corral_nkey_from_seed(arg, expect, out, err);
        return corral_err_wrap(err, "cannot read key file");
    }
    char *s = (char *)b.data, *e = s + b.len;
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) e--;
    *e = '\0';
    st = corral_nkey_from_seed(s, expect, out, err);
    if (st != CORRAL_OK) corral_err_wrap(err, "key file '%s'", arg);
    sodium_memzero(b.data, b.len);
    corral_buf_free(&b);
    return st;
}

/*
 * fuzz_claims_token.c - libFuzzer target for the claims module's hostile
 * inputs: the section scanner, token parser and module verifier. The first
 * byte picks what the rest is:
 *   0  a module: scan, find the token, hash, strip, read and verify it;
 *   1  a token: parse and verify it alone and inside a fixed module;
 *   2  a claims object: signed here with a fixed account key and embedded in
 *      a fixed module, so the stages after the signature (subject, hash,
 *      times, lists, caps, update) see arbitrary claims;
 *   3  key text: decode as public key and as seed.
 * Every call must return a status without crashing or leaking.
 */
#include <stdlib.h>
#include <string.h>

#include "claims_int.h"
#include "corral_claims.h"
#include "token_int.h"

static const uint8_t module[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01,
    0x7f, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x2a, 0x0b,
};

static void verify_all(const uint8_t *m, size_t n) {
    static const char *lists[] = {"ACODERUVFFAWZQDSS6SBIACUA5O6SXF7HJ3YTYXBALHZP3P7R4BUO4J2", "x"};
    corral_claims_verify_opts_t o = {0};
    corral_claims_t *c = NULL, *r = NULL;
    corral_err_t e;
    o.now = 1700000000;
    o.clock_skew = 30;
    o.allowed_issuers = lists;
    o.n_allowed_issuers = 2;
    o.revoked = lists + 1;
    o.n_revoked = 1;
    if (corral_claims_verify_module(m, n, &o, &c, &e) == CORRAL_OK) {
        corral_claims_check_cap(c, "wasmcloud:keyvalue", &e);
        int changed;
        corral_claims_check_update(c, c, &changed, &e);
    }
    if (corral_claims_read_module(m, n, &r, &e) == CORRAL_OK) {
        char caps[64];
        corral_claims_caps_str(r, caps, sizeof caps);
        if (c) corral_claims_check_update(c, r, NULL, &e);
    }
    corral_claims_free(c);
    corral_claims_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static corral_nkey_t key;
    static int have_key;
    corral_err_t e;
    if (!have_key) {
        corral_nkey_from_seed("SAAPN4W3EG6KCJGUQTKTJ5GSB5NHK5CHAJL4DBGFUM3HHROI4XUEP4OBK4",
                              CORRAL_NKEY_ACCOUNT, &key, NULL);
        have_key = 1;
    }
    if (size == 0) return 0;
    uint8_t mode = data[0] & 3;
    data++;
    size--;
    long live = corral_alloc_live();
    switch (mode) {
    case 0: {
        corral_claims_scan_t s;
        corral_claims_section_t sec;
        int more = 0;
        if (corral_claims_scan_init(&s, data, size, &e) == CORRAL_OK)
            while (corral_claims_scan_next(&s, &sec, &more, &e) == CORRAL_OK && more) {
                if (sec.end > size || sec.content > sec.end || sec.data > sec.end) abort();
            }
        const uint8_t *tok;
        size_t tlen;
        if (corral_claims_find_token(data, size, &tok, &tlen, &e) == CORRAL_OK &&
            (tok < data || tok + tlen > data + size))
            abort();
        char hash[65];
        corral_claims_module_hash(data, size, hash, &e);
        corral_buf_t b = CORRAL_BUF_INIT;
        if (corral_claims_strip(data, size, &b, &e) == CORRAL_OK) {
            /* stripping twice changes nothing, and the hash is that of the stripped bytes */
            corral_buf_t b2 = CORRAL_BUF_INIT;
            char h2[65], h3[65];
            if (corral_claims_strip(b.data, b.len, &b2, &e) != CORRAL_OK || b2.len != b.len ||
                memcmp(b.data, b2.data, b.len) != 0)
                abort();
            if (corral_claims_module_hash(b.data, b.len, h2, &e) != CORRAL_OK ||
                corral_claims_module_hash(data, size, h3, &e) != CORRAL_OK || strcmp(h2, h3) != 0)
                abort();
            corral_buf_free(&b2);
        }
        corral_buf_free(&b);
        verify_all(data, size);
        break;
    }
    case 1: {
        corral_claims_t *c = NULL;
        corral_claims_token_t *t = NULL;
        corral_claims_token_opts_t o = {0};
        o.now = 1700000000;
        corral_claims_parse_token((const char *)data, size, &c, &e);
        corral_claims_free(c);
        corral_claims_token_verify((const char *)data, size, &o, &t, &e);
        corral_claims_token_free(t);
        corral_buf_t m = CORRAL_BUF_INIT;
        if (corral_claims_embed(module, sizeof module, (const char *)data, size,
                                CORRAL_CLAIMS_SECTION_WASMCLOUD_JWT, &m, &e) == CORRAL_OK)
            verify_all(m.data, m.len);
        corral_buf_free(&m);
        break;
    }
    case 2: {
        char *token = NULL;
        if (claims_token_sign_raw((const char *)data, size, &key, &token, &e) == CORRAL_OK) {
            corral_buf_t m = CORRAL_BUF_INIT;
            if (corral_claims_embed(module, sizeof module, token, strlen(token),
                                    CORRAL_CLAIMS_SECTION_JWT, &m, &e) == CORRAL_OK)
                verify_all(m.data, m.len);
            corral_buf_free(&m);
            corral_claims_token_opts_t o = {0};
            corral_claims_token_t *t = NULL;
            o.now = 1700000000;
            corral_claims_token_verify(token, strlen(token), &o, &t, &e);
            corral_claims_token_free(t);
        }
        corral_free(token);
        break;
    }
    default: {
        char text[80];
        size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
        memcpy(text, data, n);
        text[n] = '\0';
        corral_nkey_t k;
        if (corral_nkey_from_public(text, CORRAL_NKEY_ANY, &k, &e) == CORRAL_OK) {
            char back[57];
            corral_nkey_public_str(&k, back);
            if (strcmp(back, text) != 0) abort(); /* one text per key */
        }
        if (corral_nkey_from_seed(text, CORRAL_NKEY_ANY, &k, &e) == CORRAL_OK) {
            char back[59];
            corral_nkey_seed_str(&k, back, &e);
            if (strcmp(back, text) != 0) abort();
            corral_nkey_wipe_text(back, sizeof back);
        }
        corral_nkey_wipe(&k);
        break;
    }
    }
    if (corral_alloc_live() != live) abort(); /* a leak through corral_malloc */
    return 0;
}

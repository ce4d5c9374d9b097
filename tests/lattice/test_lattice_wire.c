/*
 * test_lattice_wire.c - the lattice's wire format and anti-forgery, without
 * NATS: Invocation / InvocationResponse round trips and strict decoding of
 * hostile bytes; tokens bound to the envelope (forged, unsigned, tampered,
 * expired, replayed, wrong issuer each refused with its own code), the
 * same verdicts for tokens of any shape (ours, another writer's, escapes,
 * fields too long for the quick path).
 */
#include <jansson.h>
#include <msgpack.h>
#include <sodium.h>

#include "corral_lattice.h"
#include "corral_mp.h"
#include "test.h"

#define ACTOR "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"
#define PROV "VAHNM37G5ARLUVVRXB6JFCZE6DYMYUUJW2WXKN7TURDVK2GWVGZLBCP4"

static void make_inv(corral_lattice_invocation_t *inv, const uint8_t *msg, size_t n) {
    memset(inv, 0, sizeof *inv);
    inv->origin.public_key = corral_strdup(ACTOR);
    inv->target.public_key = corral_strdup(PROV);
    inv->target.contract_id = corral_strdup("wasmcloud:keyvalue");
    inv->target.link_name = corral_strdup("default");
    inv->operation = corral_strdup("Get");
    inv->host_id = corral_strdup("NHOSTKEY");
    if (n) {
        inv->msg = corral_malloc(n);
        memcpy(inv->msg, msg, n);
    }
    inv->msg_len = n;
    inv->content_length = n;
}

TEST(urls) {
    corral_lattice_entity_t a = {ACTOR, NULL, NULL};
    corral_lattice_entity_t p = {PROV, "wasmcloud:builtin:numbergen", ""};
    corral_buf_t b = CORRAL_BUF_INIT;
    REQUIRE(corral_lattice_entity_url(&a, &b) == CORRAL_OK);
    CHECK_EQ_STR((char *)b.data, "wasmbus://" ACTOR);
    b.len = 0;
    REQUIRE(corral_lattice_entity_url(&p, &b) == CORRAL_OK);
    corral_buf_terminate(&b);
    CHECK_EQ_STR((char *)b.data, "wasmbus://wasmcloud/builtin/numbergen/default/" PROV);
    corral_buf_free(&b);
    CHECK(!corral_lattice_entity_is_provider(&a));
    CHECK(corral_lattice_entity_is_provider(&p));
}

TEST(invocation_roundtrip) {
    corral_lattice_invocation_t inv, d;
    const uint8_t body[] = {0x81, 0xa3, 'k', 'e', 'y', 0xa1, 'x'};
    make_inv(&inv, body, sizeof body);
    inv.id = corral_strdup("id-1");
    inv.encoded_claims = corral_strdup("a.b.c");
    inv.traceparent = corral_strdup("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_err_t err;
    REQUIRE(corral_lattice_invocation_encode(&inv, &b, &err) == CORRAL_OK);
    REQUIRE(corral_lattice_invocation_decode(b.data, b.len, &d, &err) == CORRAL_OK);
    CHECK_EQ_STR(d.id, "id-1");
    CHECK_EQ_STR(d.origin.public_key, ACTOR);
    CHECK(d.origin.contract_id == NULL); /* an actor carries only its key */
    CHECK_EQ_STR(d.target.public_key, PROV);
    CHECK_EQ_STR(d.target.contract_id, "wasmcloud:keyvalue");
    CHECK_EQ_STR(d.target.link_name, "default");
    CHECK_EQ_STR(d.operation, "Get");
    CHECK_EQ_INT(d.msg_len, sizeof body);
    CHECK(d.msg && memcmp(d.msg, body, sizeof body) == 0);
    CHECK_EQ_STR(d.host_id, "NHOSTKEY");
    CHECK_EQ_STR(d.encoded_claims, "a.b.c");
    CHECK_EQ_INT(d.content_length, sizeof body);
    CHECK_EQ_STR(d.traceparent, inv.traceparent);
    /* every proper prefix is refused, never read past */
    for (size_t n = 0; n < b.len; n++) {
        corral_lattice_invocation_t t;
        CHECK(corral_lattice_invocation_decode(b.data, n, &t, &err) == CORRAL_ERR_PARSE);
        corral_lattice_invocation_deinit(&t);
    }
    /* trailing bytes */
    corral_buf_append(&b, "\xc0", 1);
    corral_lattice_invocation_t t;
    CHECK(corral_lattice_invocation_decode(b.data, b.len, &t, &err) == CORRAL_ERR_PARSE);
    corral_lattice_invocation_deinit(&t);
    corral_buf_free(&b);
    corral_lattice_invocation_deinit(&d);
    corral_lattice_invocation_deinit(&inv);
}

/* Packs a map from (key, packer fn) and expects decode to fail naming key. */
static void expect_bad(const char *field, void (*mut)(msgpack_packer *pk, const char *k)) {
    static const char *keys[] = {"id", "origin", "target", "operation", "msg",
                                 "host_id", "encoded_claims", "content_length"};
    corral_buf_t b = CORRAL_BUF_INIT;
    msgpack_packer pk;
    corral_mp_packer_init(&pk, &b);
    msgpack_pack_map(&pk, 8);
    for (int i = 0; i < 8; i++) {
        corral_mp_pack_cstr(&pk, keys[i]);
        if (strcmp(keys[i], field) == 0) {
            mut(&pk, keys[i]);
        } else if (!strcmp(keys[i], "origin") || !strcmp(keys[i], "target")) {
            msgpack_pack_map(&pk, 1);
            corral_mp_pack_cstr(&pk, "public_key");
            corral_mp_pack_cstr(&pk, ACTOR);
        } else if (!strcmp(keys[i], "msg")) {
            msgpack_pack_bin(&pk, 2);
            msgpack_pack_bin_body(&pk, "hi", 2);
        } else if (!strcmp(keys[i], "content_length")) {
            msgpack_pack_uint64(&pk, 2);
        } else {
            corral_mp_pack_cstr(&pk, "x");
        }
    }
    corral_lattice_invocation_t d;
    corral_err_t err;
    corral_status_t st = corral_lattice_invocation_decode(b.data, b.len, &d, &err);
    CHECK_EQ_INT(st, CORRAL_ERR_PARSE);
    if (st) CHECK_CONTAINS(err.msg, field);
    corral_lattice_invocation_deinit(&d);
    corral_buf_free(&b);
}

static void m_int(msgpack_packer *pk, const char *k) { msgpack_pack_int(pk, -5); }
static void m_badutf8(msgpack_packer *pk, const char *k) { corral_mp_pack_str(pk, "\xff\xfe", 2); }
static void m_long(msgpack_packer *pk, const char *k) {
    char s[400];
    memset(s, 'a', sizeof s);
    corral_mp_pack_str(pk, s, sizeof s);
}
static void m_str(msgpack_packer *pk, const char *k) { corral_mp_pack_cstr(pk, "hi"); }
static void m_len3(msgpack_packer *pk, const char *k) { msgpack_pack_uint64(pk, 3); }
static void m_emptykey(msgpack_packer *pk, const char *k) {
    msgpack_pack_map(pk, 1);
    corral_mp_pack_cstr(pk, "public_key");
    corral_mp_pack_cstr(pk, "");
}
static void m_nul(msgpack_packer *pk, const char *k) { corral_mp_pack_str(pk, "a\0b", 3); }

TEST(invocation_strict) {
    expect_bad("id", m_int);
    expect_bad("id", m_badutf8);
    expect_bad("id", m_long);
    expect_bad("operation", m_nul);
    expect_bad("origin", m_str);
    expect_bad("target", m_emptykey);
    expect_bad("msg", m_str);
    expect_bad("content_length", m_int);
    expect_bad("content_length", m_len3);
    expect_bad("encoded_claims", m_int);
    /* a top-level array, and a map missing everything */
    corral_lattice_invocation_t d;
    corral_err_t err;
    CHECK(corral_lattice_invocation_decode((const uint8_t *)"\x90", 1, &d, &err) == CORRAL_ERR_PARSE);
    CHECK(corral_lattice_invocation_decode((const uint8_t *)"\x80", 1, &d, &err) == CORRAL_ERR_PARSE);
    CHECK_CONTAINS(err.msg, "'id' is missing");
    /* a bin claiming 4 GiB in 5 bytes */
    CHECK(corral_lattice_invocation_decode((const uint8_t *)"\x81\xa3msg\xc6\xff\xff\xff\xff", 10,
                                           &d, &err) == CORRAL_ERR_PARSE);
}

TEST(response_roundtrip) {
    corral_lattice_response_t r = {0}, d;
    r.invocation_id = "inv-9";
    r.msg = (uint8_t *)"pong";
    r.msg_len = 4;
    r.content_length = 4;
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_err_t err;
    REQUIRE(corral_lattice_response_encode(&r, &b, &err) == CORRAL_OK);
    REQUIRE(corral_lattice_response_decode(b.data, b.len, &d, &err) == CORRAL_OK);
    CHECK_EQ_STR(d.invocation_id, "inv-9");
    CHECK(d.error == NULL);
    CHECK(d.msg_len == 4 && memcmp(d.msg, "pong", 4) == 0);
    corral_lattice_response_deinit(&d);
    b.len = 0;
    r.msg = NULL;
    r.msg_len = 0;
    r.content_length = 0;
    r.error = "no such actor";
    REQUIRE(corral_lattice_response_encode(&r, &b, &err) == CORRAL_OK);
    REQUIRE(corral_lattice_response_decode(b.data, b.len, &d, &err) == CORRAL_OK);
    CHECK_EQ_STR(d.error, "no such actor");
    CHECK_EQ_INT(d.msg_len, 0);
    corral_lattice_response_deinit(&d);
    for (size_t n = 0; n < b.len; n++) {
        CHECK(corral_lattice_response_decode(b.data, n, &d, &err) == CORRAL_ERR_PARSE);
        corral_lattice_response_deinit(&d);
    }
    corral_buf_free(&b);
}

/* ---- anti-forgery ---------------------------------------------------------- */

typedef struct keys {
    corral_nkey_t c1, c2;
    char p1[CORRAL_NKEY_PUBLIC_LEN + 1], p2[CORRAL_NKEY_PUBLIC_LEN + 1];
} keys_t;

static void make_keys(keys_t *k) {
    corral_nkey_generate(CORRAL_NKEY_CLUSTER, &k->c1, NULL);
    corral_nkey_generate(CORRAL_NKEY_CLUSTER, &k->c2, NULL);
    corral_nkey_public_str(&k->c1, k->p1);
    corral_nkey_public_str(&k->c2, k->p2);
}

static corral_status_t verify(const corral_lattice_invocation_t *inv, const char *issuer,
                              int64_t now, corral_lattice_replay_t *rc, corral_err_t *err) {
    const char *iss[1] = {issuer};
    corral_lattice_verify_opts_t o = {iss, 1, now, 0, rc, 0};
    return corral_lattice_verify(inv, NULL, 0, &o, err);
}

/* The token's wascap claims, decoded without verification. */
static json_t *token_claims(const char *tok) {
    const char *a = strchr(tok, '.'), *b = a ? strchr(a + 1, '.') : NULL;
    if (!b) return NULL;
    size_t n = (size_t)(b - a - 1);
    char *bin = malloc(n + 4);
    size_t out = 0;
    if (sodium_base642bin((unsigned char *)bin, n + 4, a + 1, n, NULL, &out, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
        free(bin);
        return NULL;
    }
    json_t *j = json_loadb(bin, out, 0, NULL);
    free(bin);
    return j;
}

TEST(sign_verify) {
    keys_t k;
    make_keys(&k);
    corral_lattice_invocation_t inv;
    make_inv(&inv, (const uint8_t *)"hello", 5);
    corral_err_t err;
    int64_t now = 1700000000;
    REQUIRE(corral_lattice_sign(&inv, NULL, 0, &k.c1, now, 0, &err) == CORRAL_OK);
    REQUIRE(inv.id && strlen(inv.id) == 36);
    /* the claims are wascap's Claims<Invocation> */
    json_t *c = token_claims(inv.encoded_claims);
    REQUIRE(c);
    CHECK_EQ_STR(json_string_value(json_object_get(c, "iss")), k.p1);
    CHECK_EQ_STR(json_string_value(json_object_get(c, "sub")), inv.id);
    CHECK_EQ_INT(json_integer_value(json_object_get(c, "iat")), now);
    CHECK_EQ_INT(json_integer_value(json_object_get(c, "exp")), now + 30);
    json_t *w = json_object_get(c, "wascap");
    const char *turl = "wasmbus://wasmcloud/keyvalue/default/" PROV "/Get";
    const char *ourl = "wasmbus://" ACTOR;
    CHECK_EQ_STR(json_string_value(json_object_get(w, "target_url")), turl);
    CHECK_EQ_STR(json_string_value(json_object_get(w, "origin_url")), ourl);
    /* hash recomputed here independently */
    crypto_hash_sha256_state h;
    uint8_t d[32];
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const uint8_t *)ourl, strlen(ourl));
    crypto_hash_sha256_update(&h, (const uint8_t *)turl, strlen(turl));
    crypto_hash_sha256_update(&h, (const uint8_t *)"Get", 3);
    crypto_hash_sha256_update(&h, (const uint8_t *)"hello", 5);
    crypto_hash_sha256_final(&h, d);
    char hex[65];
    for (int i = 0; i < 32; i++) sprintf(hex + 2 * i, "%02X", d[i]);
    CHECK_EQ_STR(json_string_value(json_object_get(w, "hash")), hex);
    json_decref(c);

    corral_lattice_replay_t *rc;
    REQUIRE(corral_lattice_replay_new(0, &rc, NULL) == CORRAL_OK);
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, rc, &err), CORRAL_OK);
    /* replayed: the same id within its window */
    CHECK_EQ_INT(verify(&inv, k.p1, now + 2, rc, &err), CORRAL_ERR_REPLAY);
    CHECK_CONTAINS(err.msg, "replay");
    /* wrong issuer: signed by a cluster key the lattice does not list */
    CHECK_EQ_INT(verify(&inv, k.p2, now + 1, NULL, &err), CORRAL_ERR_ISSUER_NOT_ALLOWED);
    /* expired */
    CHECK_EQ_INT(verify(&inv, k.p1, now + 31, NULL, &err), CORRAL_ERR_TOKEN_EXPIRED);
    /* tampered body */
    inv.msg[0] = 'j';
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, NULL, &err), CORRAL_ERR_FORGED);
    CHECK_CONTAINS(err.msg, "hash");
    inv.msg[0] = 'h';
    /* tampered target and operation */
    char *save = inv.target.public_key;
    inv.target.public_key = corral_strdup(ACTOR);
    corral_free(inv.target.contract_id);
    inv.target.contract_id = NULL;
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, NULL, &err), CORRAL_ERR_FORGED);
    CHECK_CONTAINS(err.msg, "target_url");
    corral_free(inv.target.public_key);
    inv.target.public_key = save;
    inv.target.contract_id = corral_strdup("wasmcloud:keyvalue");
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, NULL, &err), CORRAL_OK);
    corral_free(inv.operation);
    inv.operation = corral_strdup("Set");
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, NULL, &err), CORRAL_ERR_FORGED);
    corral_free(inv.operation);
    inv.operation = corral_strdup("Get");
    /* tampered origin */
    inv.origin.public_key[5] = inv.origin.public_key[5] == 'A' ? 'B' : 'A';
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, NULL, &err), CORRAL_ERR_FORGED);
    CHECK_CONTAINS(err.msg, "origin_url");
    inv.origin.public_key[5] = ACTOR[5];
    /* token moved to another invocation id */
    char *id = inv.id;
    inv.id = corral_strdup("another-id");
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, NULL, &err), CORRAL_ERR_FORGED);
    corral_free(inv.id);
    inv.id = id;
    /* forged signature: one character of the signature segment changed */
    char *t = inv.encoded_claims;
    size_t tl = strlen(t);
    char saved = t[tl - 5];
    t[tl - 5] = saved == 'A' ? 'B' : 'A';
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, NULL, &err), CORRAL_ERR_FORGED);
    t[tl - 5] = saved;
    /* unsigned */
    corral_free(inv.encoded_claims);
    inv.encoded_claims = corral_strdup("");
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, NULL, &err), CORRAL_ERR_FORGED);
    corral_free(inv.encoded_claims);
    inv.encoded_claims = corral_strdup("not.a.token");
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, NULL, &err), CORRAL_ERR_FORGED);
    /* an actor key cannot sign */
    corral_nkey_t acct;
    corral_nkey_generate(CORRAL_NKEY_ACCOUNT, &acct, NULL);
    CHECK_EQ_INT(corral_lattice_sign(&inv, NULL, 0, &acct, now, 0, &err), CORRAL_ERR_KEY_TYPE);
    /* a token claiming a long life is refused even when signed correctly */
    CHECK_EQ_INT(corral_lattice_sign(&inv, NULL, 0, &k.c1, now, 3600, &err), CORRAL_OK);
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, NULL, &err), CORRAL_ERR_FORGED);
    corral_nkey_wipe(&acct);
    corral_lattice_replay_free(rc);
    corral_lattice_invocation_deinit(&inv);
    corral_nkey_wipe(&k.c1);
    corral_nkey_wipe(&k.c2);
}

/* A token assembled by hand: header and claims as given, signed by k. */
static char *hand_token(const char *header, const char *claims, const corral_nkey_t *k) {
    size_t hl = strlen(header), cl = strlen(claims);
    size_t cap = sodium_base64_ENCODED_LEN(hl + cl, sodium_base64_VARIANT_URLSAFE_NO_PADDING) * 2 + 200;
    char *t = corral_malloc(cap);
    sodium_bin2base64(t, cap, (const unsigned char *)header, hl,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    strcat(t, ".");
    size_t n = strlen(t);
    sodium_bin2base64(t + n, cap - n, (const unsigned char *)claims, cl,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    uint8_t sig[CORRAL_NKEY_SIG_LEN];
    corral_nkey_sign(k, t, strlen(t), sig, NULL);
    strcat(t, ".");
    n = strlen(t);
    sodium_bin2base64(t + n, cap - n, sig, sizeof sig, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return t;
}

/* The claims of inv's envelope as jansson writes them, with extra members. */
static char *claims_for(const corral_lattice_invocation_t *inv, const char *iss, int64_t iat,
                        json_t *exp, const char *dup) {
    corral_buf_t o = CORRAL_BUF_INIT, t = CORRAL_BUF_INIT;
    corral_lattice_entity_url(&inv->origin, &o);
    corral_lattice_entity_url(&inv->target, &t);
    corral_buf_printf(&t, "/%s", inv->operation);
    corral_buf_terminate(&o);
    corral_buf_terminate(&t);
    crypto_hash_sha256_state h;
    uint8_t d[32];
    char hex[65];
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, o.data, o.len);
    crypto_hash_sha256_update(&h, t.data, t.len);
    crypto_hash_sha256_update(&h, (const uint8_t *)inv->operation, strlen(inv->operation));
    crypto_hash_sha256_update(&h, inv->msg, inv->msg_len);
    crypto_hash_sha256_final(&h, d);
    for (int i = 0; i < 32; i++) sprintf(hex + 2 * i, "%02X", d[i]);
    if (!exp) { /* our member order, but with spaces after the colons */
        char *x = malloc(4096);
        snprintf(x, 4096,
                 "{\"jti\": \"j\",\"iat\": %lld,\"iss\": \"%s\",\"sub\": \"%s\",\"exp\": %lld,"
                 "\"wascap\": {\"target_url\": \"%s\",\"origin_url\": \"%s\",\"hash\": \"%s\"}}",
                 (long long)iat, iss, inv->id, (long long)iat + 30, (const char *)t.data,
                 (const char *)o.data, hex);
        corral_buf_free(&o);
        corral_buf_free(&t);
        return x;
    }
    /* members in another order than ours, and an nbf */
    json_t *c = json_pack("{s:{s:s, s:s, s:s}, s:s, s:o, s:I, s:I, s:s}", "wascap", "hash", hex,
                          "origin_url", (const char *)o.data, "target_url", (const char *)t.data,
                          "sub", inv->id, "exp", exp, "iat", (json_int_t)iat, "nbf",
                          (json_int_t)iat, "iss", iss);
    char *text = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    corral_buf_free(&o);
    corral_buf_free(&t);
    if (dup) { /* a second "sub" member appended by hand */
        char *x = malloc(strlen(text) + strlen(dup) + 16);
        sprintf(x, "%.*s,\"sub\":\"%s\"}", (int)strlen(text) - 1, text, dup);
        free(text);
        text = x;
    }
    return text;
}

/* Tokens are checked the same whatever their shape: ours (the quick path),
 * another writer's (member order, header order, nbf: the general path),
 * text needing JSON escapes, fields too long for the quick path. */
TEST(token_shapes) {
    keys_t k;
    make_keys(&k);
    corral_err_t err;
    int64_t now = 1700000000;
    corral_lattice_replay_t *rc;
    REQUIRE(corral_lattice_replay_new(0, &rc, NULL) == CORRAL_OK);
    /* id and operation with quotes, backslashes and control characters */
    corral_lattice_invocation_t inv;
    make_inv(&inv, (const uint8_t *)"x", 1);
    inv.id = corral_strdup("id \"quoted\" \\ \x01 end");
    corral_free(inv.operation);
    inv.operation = corral_strdup("G\"e\\t\x02");
    REQUIRE(corral_lattice_sign(&inv, NULL, 0, &k.c1, now, 0, &err) == CORRAL_OK);
    json_t *c = token_claims(inv.encoded_claims);
    REQUIRE(c);
    CHECK_EQ_STR(json_string_value(json_object_get(c, "sub")), inv.id);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(c, "wascap"), "target_url")),
                 "wasmbus://wasmcloud/keyvalue/default/" PROV "/G\"e\\t\x02");
    json_decref(c);
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, rc, &err), CORRAL_OK);
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, rc, &err), CORRAL_ERR_REPLAY);
    corral_lattice_invocation_deinit(&inv);

    /* another writer's shape verifies, and is replay-checked once */
    make_inv(&inv, (const uint8_t *)"abc", 3);
    inv.id = corral_strdup("other-writer-1");
    char *cl = claims_for(&inv, k.p1, now, json_integer(now + 30), NULL);
    inv.encoded_claims = hand_token("{\"alg\":\"Ed25519\",\"typ\":\"jwt\"}", cl, &k.c1);
    free(cl);
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, rc, &err), CORRAL_OK);
    CHECK_EQ_INT(verify(&inv, k.p1, now + 2, rc, &err), CORRAL_ERR_REPLAY);
    /* ... and is refused for the same reasons as ours */
    CHECK_EQ_INT(verify(&inv, k.p1, now + 31, NULL, &err), CORRAL_ERR_TOKEN_EXPIRED);
    CHECK_EQ_INT(verify(&inv, k.p2, now + 1, NULL, &err), CORRAL_ERR_ISSUER_NOT_ALLOWED);
    inv.msg[1] = 'X';
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, NULL, &err), CORRAL_ERR_FORGED);
    CHECK_CONTAINS(err.msg, "hash");
    inv.msg[1] = 'b';
    corral_free(inv.encoded_claims);
    /* our header, the claims in another order: still the same checks */
    cl = claims_for(&inv, k.p1, now, json_integer(now + 30), NULL);
    inv.encoded_claims = hand_token(CORRAL_CLAIMS_HEADER, cl, &k.c1);
    free(cl);
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, NULL, &err), CORRAL_OK);
    CHECK_EQ_INT(verify(&inv, k.p1, now - 100, NULL, &err), CORRAL_ERR_TOKEN_NOT_YET_VALID);
    corral_free(inv.encoded_claims);
    /* no expiry (null): refused */
    cl = claims_for(&inv, k.p1, now, json_null(), NULL);
    inv.encoded_claims = hand_token(CORRAL_CLAIMS_HEADER, cl, &k.c1);
    free(cl);
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, NULL, &err), CORRAL_ERR_FORGED);
    CHECK_CONTAINS(err.msg, "expire");
    corral_free(inv.encoded_claims);
    /* whitespace: read by the general path, same verdicts */
    corral_free(inv.id);
    inv.id = corral_strdup("spaced-1");
    cl = claims_for(&inv, k.p1, now, NULL, NULL);
    inv.encoded_claims = hand_token(CORRAL_CLAIMS_HEADER, cl, &k.c1);
    free(cl);
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, rc, &err), CORRAL_OK);
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, rc, &err), CORRAL_ERR_REPLAY);
    CHECK_EQ_INT(verify(&inv, k.p1, now + 30, NULL, &err), CORRAL_ERR_TOKEN_EXPIRED);
    corral_free(inv.encoded_claims);
    /* a duplicate member (a second sub naming this id): refused */
    cl = claims_for(&inv, k.p1, now, json_integer(now + 30), inv.id);
    inv.encoded_claims = hand_token(CORRAL_CLAIMS_HEADER, cl, &k.c1);
    free(cl);
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, NULL, &err), CORRAL_ERR_FORGED);
    corral_free(inv.encoded_claims);
    inv.encoded_claims = NULL;
    /* an operation too long for the quick path: signed and checked the
     * general way, with the same verdicts */
    corral_free(inv.operation);
    inv.operation = corral_malloc(3001);
    memset(inv.operation, 'o', 3000);
    inv.operation[3000] = 0;
    corral_free(inv.id);
    inv.id = corral_strdup("long-operation");
    REQUIRE(corral_lattice_sign(&inv, NULL, 0, &k.c1, now, 0, &err) == CORRAL_OK);
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, rc, &err), CORRAL_OK);
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, rc, &err), CORRAL_ERR_REPLAY);
    inv.operation[10] = 'p';
    CHECK_EQ_INT(verify(&inv, k.p1, now + 1, NULL, &err), CORRAL_ERR_FORGED);
    corral_lattice_invocation_deinit(&inv);
    corral_lattice_replay_free(rc);
    corral_nkey_wipe(&k.c1);
    corral_nkey_wipe(&k.c2);
}

TEST(chunked_body_hash) {
    /* a chunked invocation has an empty msg; the hash covers the whole body */
    keys_t k;
    make_keys(&k);
    corral_lattice_invocation_t inv;
    make_inv(&inv, NULL, 0);
    inv.content_length = 3000;
    uint8_t *big = malloc(3000);
    memset(big, 7, 3000);
    REQUIRE(corral_lattice_sign(&inv, big, 3000, &k.c1, 0, 0, NULL) == CORRAL_OK);
    const char *iss[1] = {k.p1};
    corral_lattice_verify_opts_t o = {iss, 1, 0, 0, NULL, 0};
    CHECK_EQ_INT(corral_lattice_verify(&inv, big, 3000, &o, NULL), CORRAL_OK);
    big[2999] = 8;
    CHECK_EQ_INT(corral_lattice_verify(&inv, big, 3000, &o, NULL), CORRAL_ERR_FORGED);
    /* before fetching a chunked body: everything but the hash is checked */
    corral_lattice_verify_opts_t pre = o;
    pre.no_hash = 1;
    CHECK_EQ_INT(corral_lattice_verify(&inv, NULL, 0, &pre, NULL), CORRAL_OK);
    const char *other[1] = {k.p2};
    pre.issuers = other;
    CHECK_EQ_INT(corral_lattice_verify(&inv, NULL, 0, &pre, NULL), CORRAL_ERR_ISSUER_NOT_ALLOWED);
    free(big);
    corral_lattice_invocation_deinit(&inv);
}

TEST(replay_cache) {
    corral_lattice_replay_t *rc;
    REQUIRE(corral_lattice_replay_new(3000, &rc, NULL) == CORRAL_OK);
    char id[32];
    /* many ids, each seen once, then all refused as replays */
    for (int i = 0; i < 2500; i++) {
        snprintf(id, sizeof id, "id-%d", i);
        CHECK_EQ_INT(corral_lattice_replay_check(rc, id, 1000, 900, NULL), CORRAL_OK);
    }
    int replays = 0;
    for (int i = 0; i < 2500; i++) {
        snprintf(id, sizeof id, "id-%d", i);
        replays += corral_lattice_replay_check(rc, id, 1000, 901, NULL) == CORRAL_ERR_REPLAY;
    }
    CHECK_EQ_INT(replays, 2500);
    /* the capacity bounds live ids ... */
    corral_status_t st = CORRAL_OK;
    for (int i = 2500; i < 4000 && st == CORRAL_OK; i++) {
        snprintf(id, sizeof id, "id-%d", i);
        st = corral_lattice_replay_check(rc, id, 1000, 902, NULL);
    }
    CHECK_EQ_INT(st, CORRAL_ERR_BUSY);
    /* ... and expired ones are forgotten, making room */
    CHECK_EQ_INT(corral_lattice_replay_check(rc, "fresh", 3000, 2000, NULL), CORRAL_OK);
    CHECK_EQ_INT(corral_lattice_replay_check(rc, "id-1", 3000, 2000, NULL), CORRAL_OK);
    CHECK_EQ_INT(corral_lattice_replay_check(rc, "id-1", 3000, 2001, NULL), CORRAL_ERR_REPLAY);
    corral_lattice_replay_free(rc);
}

TEST_MAIN(TEST_ENTRY(urls), TEST_ENTRY(invocation_roundtrip), TEST_ENTRY(invocation_strict),
          TEST_ENTRY(response_roundtrip), TEST_ENTRY(sign_verify), TEST_ENTRY(token_shapes), TEST_ENTRY(chunked_body_hash),
          TEST_ENTRY(replay_cache))

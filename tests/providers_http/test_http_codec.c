/*
 * test_http_codec.c - the httpserver provider's HandleRequest codec on its
 * own: the request map as msgpack-c decodes it, and strict decoding of
 * actor responses (valid forms, every malformation, every truncation,
 * random bytes).
 */
#include <msgpack.h>

#include "http_int.h"
#include "test.h"

static int buf_write(void *data, const char *p, size_t n) {
    return corral_buf_append((corral_buf_t *)data, p, n) == CORRAL_OK ? 0 : -1;
}

static void pstr(msgpack_packer *pk, const char *s) {
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static const msgpack_object *get(const msgpack_object *m, const char *key) {
    if (m->type != MSGPACK_OBJECT_MAP) return NULL;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object_kv *kv = &m->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(key) &&
            memcmp(kv->key.via.str.ptr, key, kv->key.via.str.size) == 0)
            return &kv->val;
    }
    return NULL;
}

static int str_is(const msgpack_object *o, const char *s) {
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
           memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

TEST(request_map) {
    corral_http_hdr_t h[] = {
        {"Host", 4, "x", 1},
        {"X-Multi", 7, "a", 1},
        {"Accept", 6, "text/html", 9},
        {"x-multi", 7, "b", 1},
        {"X-MULTI", 7, "c d", 3},
    };
    const uint8_t body[] = {0, 1, 2, 0xff};
    corral_buf_t out = CORRAL_BUF_INIT;
    REQUIRE(corral_http_encode_request("POST", "/p/q?x", 4, "a=1&b", 5, h, 5, body, 4, &out) ==
            CORRAL_OK);
    msgpack_unpacked up;
    size_t off = 0;
    msgpack_unpacked_init(&up);
    REQUIRE(msgpack_unpack_next(&up, (const char *)out.data, out.len, &off) ==
            MSGPACK_UNPACK_SUCCESS);
    CHECK_EQ_INT(off, out.len);
    CHECK(up.data.type == MSGPACK_OBJECT_MAP);
    CHECK_EQ_INT(up.data.via.map.size, 5);
    CHECK(str_is(get(&up.data, "method"), "POST"));
    CHECK(str_is(get(&up.data, "path"), "/p/q"));
    CHECK(str_is(get(&up.data, "queryString"), "a=1&b"));
    const msgpack_object *hd = get(&up.data, "header");
    REQUIRE(hd && hd->type == MSGPACK_OBJECT_MAP);
    CHECK_EQ_INT(hd->via.map.size, 3);
    CHECK(str_is(get(hd, "host"), "x"));
    CHECK(str_is(get(hd, "accept"), "text/html"));
    CHECK(str_is(get(hd, "x-multi"), "a, b, c d"));
    const msgpack_object *b = get(&up.data, "body");
    REQUIRE(b && b->type == MSGPACK_OBJECT_BIN);
    CHECK_EQ_INT(b->via.bin.size, 4);
    CHECK(memcmp(b->via.bin.ptr, body, 4) == 0);
    msgpack_unpacked_destroy(&up);
    corral_buf_free(&out);

    /* Empty request: every key still present, body an empty bin. */
    REQUIRE(corral_http_encode_request("GET", "/", 1, "", 0, NULL, 0, NULL, 0, &out) == CORRAL_OK);
    msgpack_unpacked_init(&up);
    off = 0;
    REQUIRE(msgpack_unpack_next(&up, (const char *)out.data, out.len, &off) ==
            MSGPACK_UNPACK_SUCCESS);
    CHECK(str_is(get(&up.data, "queryString"), ""));
    b = get(&up.data, "body");
    CHECK(b && b->type == MSGPACK_OBJECT_BIN && b->via.bin.size == 0);
    hd = get(&up.data, "header");
    CHECK(hd && hd->type == MSGPACK_OBJECT_MAP && hd->via.map.size == 0);
    msgpack_unpacked_destroy(&up);
    corral_buf_free(&out);
}

TEST(request_encode_oom) {
    corral_http_hdr_t h[] = {{"A", 1, "1", 1}, {"a", 1, "2", 1}};
    corral_buf_t out = CORRAL_BUF_INIT;
    int failures = 0;
    for (long n = 1; n < 50; n++) {
        corral_alloc_fail_after(n, 1);
        corral_status_t st =
            corral_http_encode_request("GET", "/", 1, "", 0, h, 2, (const uint8_t *)"b", 1, &out);
        corral_alloc_fail_after(0, 0);
        corral_buf_free(&out);
        if (st == CORRAL_OK) break;
        CHECK_EQ_INT(st, CORRAL_ERR_NOMEM);
        failures++;
    }
    CHECK(failures > 0);
}

/* A response with the given parts; code < 0 leaves statusCode out. */
static void make_resp(corral_buf_t *out, long code, const char *hname, const char *hval,
                      const char *body, int body_as_str) {
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_write);
    msgpack_pack_map(&pk, (code >= 0) + 3);
    if (code >= 0) {
        pstr(&pk, "statusCode");
        msgpack_pack_uint32(&pk, (uint32_t)code);
    }
    pstr(&pk, "status");
    pstr(&pk, "OK");
    pstr(&pk, "header");
    msgpack_pack_map(&pk, hname ? 1 : 0);
    if (hname) {
        pstr(&pk, hname);
        pstr(&pk, hval);
    }
    pstr(&pk, "body");
    if (body_as_str) {
        pstr(&pk, body);
    } else {
        msgpack_pack_bin(&pk, strlen(body));
        msgpack_pack_bin_body(&pk, body, strlen(body));
    }
}

TEST(response_valid) {
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_http_resp_t r;
    corral_err_t e;
    make_resp(&b, 201, "X-Thing", "v 1", "hello", 0);
    REQUIRE(corral_http_decode_response(b.data, b.len, &r, &e) == CORRAL_OK);
    CHECK_EQ_INT(r.status_code, 201);
    REQUIRE(r.n_headers == 1);
    CHECK_EQ_STR(r.names[0], "X-Thing");
    CHECK_EQ_STR(r.values[0], "v 1");
    CHECK_EQ_INT(r.body_len, 5);
    CHECK(memcmp(r.body, "hello", 5) == 0);
    corral_http_resp_free(&r);
    corral_buf_free(&b);

    make_resp(&b, 404, NULL, NULL, "as str", 1);
    REQUIRE(corral_http_decode_response(b.data, b.len, &r, &e) == CORRAL_OK);
    CHECK_EQ_INT(r.status_code, 404);
    CHECK_EQ_INT(r.body_len, 6);
    corral_http_resp_free(&r);
    corral_buf_free(&b);

    /* Only statusCode, plus an unknown nested key that must be skipped. */
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, buf_write);
    msgpack_pack_map(&pk, 2);
    pstr(&pk, "extra");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_map(&pk, 1);
    pstr(&pk, "k");
    msgpack_pack_double(&pk, 1.5);
    msgpack_pack_nil(&pk);
    pstr(&pk, "statusCode");
    msgpack_pack_int16(&pk, 302); /* signed encodings of non-negative values are accepted */
    REQUIRE(corral_http_decode_response(b.data, b.len, &r, &e) == CORRAL_OK);
    CHECK_EQ_INT(r.status_code, 302);
    CHECK_EQ_INT(r.n_headers, 0);
    CHECK_EQ_INT(r.body_len, 0);
    corral_http_resp_free(&r);
    corral_buf_free(&b);
}

static void expect_bad(const uint8_t *p, size_t n, const char *what) {
    corral_http_resp_t r;
    corral_err_t e;
    corral_err_clear(&e);
    corral_status_t st = corral_http_decode_response(p, n, &r, &e);
    CHECK_EQ_INT(st, CORRAL_ERR_PARSE);
    CHECK_CONTAINS(e.msg, "HandleRequest response");
    if (what) CHECK_CONTAINS(e.msg, what);
    CHECK(r.body == NULL && r.names == NULL && r.n_headers == 0);
}

TEST(response_malformed) {
    corral_buf_t b = CORRAL_BUF_INIT;
    msgpack_packer pk;

    expect_bad(NULL, 0, "empty");
    expect_bad((const uint8_t *)"\xc1", 1, "expected a map");
    make_resp(&b, -1, NULL, NULL, "x", 0);
    expect_bad(b.data, b.len, "statusCode is missing");
    corral_buf_free(&b);
    make_resp(&b, 99, NULL, NULL, "x", 0);
    expect_bad(b.data, b.len, "200..599");
    corral_buf_free(&b);
    make_resp(&b, 700, NULL, NULL, "x", 0);
    expect_bad(b.data, b.len, "200..599");
    corral_buf_free(&b);
    make_resp(&b, 200, "X-Bad", "a\r\nSet-Cookie: evil=1", "x", 0);
    expect_bad(b.data, b.len, "CR, LF");
    corral_buf_free(&b);
    make_resp(&b, 200, "Bad Name", "v", "x", 0);
    expect_bad(b.data, b.len, "token");
    corral_buf_free(&b);

    /* statusCode as a string */
    msgpack_packer_init(&pk, &b, buf_write);
    msgpack_pack_map(&pk, 1);
    pstr(&pk, "statusCode");
    pstr(&pk, "200");
    expect_bad(b.data, b.len, "unsigned integer");
    corral_buf_free(&b);
    /* negative statusCode */
    msgpack_packer_init(&pk, &b, buf_write);
    msgpack_pack_map(&pk, 1);
    pstr(&pk, "statusCode");
    msgpack_pack_int32(&pk, -200);
    expect_bad(b.data, b.len, NULL);
    corral_buf_free(&b);
    /* body of the wrong type */
    msgpack_packer_init(&pk, &b, buf_write);
    msgpack_pack_map(&pk, 2);
    pstr(&pk, "statusCode");
    msgpack_pack_uint32(&pk, 200);
    pstr(&pk, "body");
    msgpack_pack_array(&pk, 0);
    expect_bad(b.data, b.len, "body");
    corral_buf_free(&b);
    /* duplicate statusCode */
    msgpack_packer_init(&pk, &b, buf_write);
    msgpack_pack_map(&pk, 2);
    pstr(&pk, "statusCode");
    msgpack_pack_uint32(&pk, 200);
    pstr(&pk, "statusCode");
    msgpack_pack_uint32(&pk, 500);
    expect_bad(b.data, b.len, "duplicate");
    corral_buf_free(&b);
    /* trailing bytes */
    make_resp(&b, 200, NULL, NULL, "x", 0);
    corral_buf_append(&b, "\x00", 1);
    expect_bad(b.data, b.len, "trailing");
    corral_buf_free(&b);
    /* map claiming 4 billion entries in 5 bytes */
    expect_bad((const uint8_t *)"\xdf\xff\xff\xff\xff", 5, "exceeds");
    /* header map claiming 65535 entries */
    {
        static const uint8_t p[] = {0x81, 0xa6, 'h', 'e', 'a', 'd', 'e', 'r', 0xde, 0xff, 0xff};
        expect_bad(p, sizeof p, "exceeds");
    }
    /* unknown key nested 100 deep */
    {
        uint8_t p[120];
        size_t n = 0;
        p[n++] = 0x82;
        p[n++] = 0xa1;
        p[n++] = 'z';
        for (int i = 0; i < 100; i++) p[n++] = 0x91;
        p[n++] = 0xc0;
        expect_bad(p, n, "too deep");
    }
    /* bin claiming more bytes than present */
    {
        static const uint8_t p[] = {0x81, 0xa4, 'b', 'o', 'd', 'y', 0xc6, 0x7f, 0xff, 0xff, 0xff};
        expect_bad(p, sizeof p, "exceeds");
    }
}

TEST(response_truncations_and_noise) {
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_http_resp_t r;
    corral_err_t e;
    make_resp(&b, 200, "Content-Type", "text/plain", "the body", 0);
    for (size_t n = 0; n < b.len; n++) {
        CHECK(corral_http_decode_response(b.data, n, &r, &e) == CORRAL_ERR_PARSE);
        CHECK(r.body == NULL && r.n_headers == 0);
    }
    CHECK(corral_http_decode_response(b.data, b.len, &r, &e) == CORRAL_OK);
    corral_http_resp_free(&r);
    /* Random mutations: must never crash or leak; either decodes or fails. */
    uint32_t seed = 12345;
    uint8_t m[256];
    for (int it = 0; it < 20000; it++) {
        size_t n = b.len < sizeof m ? b.len : sizeof m;
        memcpy(m, b.data, n);
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            m[(seed >> 8) % n] = (uint8_t)(seed >> 20);
        }
        corral_status_t st = corral_http_decode_response(m, n, &r, &e);
        CHECK(st == CORRAL_OK || st == CORRAL_ERR_PARSE);
        if (st == CORRAL_OK) {
            CHECK(r.status_code >= 200 && r.status_code <= 599);
            for (size_t i = 0; i < r.n_headers; i++)
                CHECK(!strchr(r.values[i], '\r') && !strchr(r.values[i], '\n'));
        }
        corral_http_resp_free(&r);
    }
    corral_buf_free(&b);
}

TEST(response_decode_oom) {
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_http_resp_t r;
    corral_err_t e;
    int failures = 0;
    make_resp(&b, 200, "A", "b", "body", 0);
    for (long n = 1; n < 50; n++) {
        corral_alloc_fail_after(n, 1);
        corral_status_t st = corral_http_decode_response(b.data, b.len, &r, &e);
        corral_alloc_fail_after(0, 0);
        corral_http_resp_free(&r);
        if (st == CORRAL_OK) break;
        CHECK_EQ_INT(st, CORRAL_ERR_NOMEM);
        failures++;
    }
    CHECK(failures > 0);
    corral_buf_free(&b);
}

TEST(reserved_headers) {
    CHECK(corral_http_header_reserved("Content-Length"));
    CHECK(corral_http_header_reserved("transfer-encoding"));
    CHECK(corral_http_header_reserved("CONNECTION"));
    CHECK(!corral_http_header_reserved("content-type"));
}

TEST_MAIN(TEST_ENTRY(request_map), TEST_ENTRY(request_encode_oom), TEST_ENTRY(response_valid),
          TEST_ENTRY(response_malformed), TEST_ENTRY(response_truncations_and_noise),
          TEST_ENTRY(response_decode_oom), TEST_ENTRY(reserved_headers))

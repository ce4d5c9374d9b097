/*
 * test_msgpack.c - the guest SDK's MessagePack writer/reader and contract
 * shapes (examples/sdk/wapc_msgpack.c, wapc_contracts.c), compiled natively:
 * exact encodings, strict decoding, every truncation of valid input, and
 * mutated input that must fail cleanly.
 */
#include "test.h"
#include "wapc_contracts.h"

/* The writer's allocator: a test arena freed at the end of each test. */
static void *arena[4096];
static int narena;

static void *test_alloc(uint32_t n) {
    if (narena == (int)(sizeof arena / sizeof arena[0])) return NULL;
    void *p = corral_malloc(n ? n : 1);
    if (p) arena[narena++] = p;
    return p;
}

static void arena_free(void) {
    while (narena) corral_free(arena[--narena]);
}

static int bytes_are(const mp_writer_t *w, const char *hex) {
    char buf[512];
    size_t n = 0;
    for (uint32_t i = 0; i < w->len && n + 3 < sizeof buf; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%02x", w->buf[i]);
    buf[n] = 0;
    if (strcmp(buf, hex) != 0) fprintf(stderr, "  got %s want %s\n", buf, hex);
    return strcmp(buf, hex) == 0;
}

TEST(smallest_encodings) {
    mp_writer_t w;
    mp_writer_init(&w, test_alloc);
    mp_write_uint(&w, 0);
    mp_write_uint(&w, 127);
    mp_write_uint(&w, 128);
    mp_write_uint(&w, 256);
    mp_write_uint(&w, 65536);
    mp_write_uint(&w, 1ull << 32);
    CHECK(bytes_are(&w, "007fcc80cd0100ce00010000cf0000000100000000"));
    mp_writer_init(&w, test_alloc);
    mp_write_int(&w, -1);
    mp_write_int(&w, -32);
    mp_write_int(&w, -33);
    mp_write_int(&w, -129);
    mp_write_int(&w, -32769);
    mp_write_int(&w, INT64_MIN);
    CHECK(bytes_are(&w, "ffe0d0dfd1ff7fd2ffff7fffd38000000000000000"));
    mp_writer_init(&w, test_alloc);
    mp_write_cstr(&w, "ab");
    mp_write_bin(&w, "\x01", 1);
    mp_write_map(&w, 1);
    mp_write_array(&w, 16);
    mp_write_nil(&w);
    mp_write_bool(&w, 1);
    mp_write_bool(&w, 0);
    CHECK(bytes_are(&w, "a26162c4010181dc0010c0c3c2"));
    CHECK(w.err == NULL);
    arena_free();
}

TEST(reader_strict) {
    mp_reader_t r;
    uint64_t u;
    int64_t i;
    int32_t i32;
    const char *s;
    uint32_t n;
    mp_reader_init(&r, "\xcc\x80", 2);
    CHECK(mp_read_uint(&r, &u) && u == 128);
    mp_reader_init(&r, "\xff", 1);
    CHECK(!mp_read_uint(&r, &u));
    CHECK_CONTAINS(r.err, "non-negative");
    mp_reader_init(&r, "\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9);
    CHECK(!mp_read_int(&r, &i));
    mp_reader_init(&r, "\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9);
    CHECK(mp_read_int(&r, &i) && i == INT64_MIN);
    mp_reader_init(&r, "\xce\x80\x00\x00\x00", 5);
    CHECK(!mp_read_i32(&r, &i32));
    mp_reader_init(&r, "\xa3" "ab", 3);
    CHECK(!mp_read_str(&r, &s, &n));
    CHECK_CONTAINS(r.err, "truncated");
    CHECK(!mp_read_nil(&r)); /* sticky error */
    mp_reader_init(&r, "\xc4\x01x", 3);
    CHECK(!mp_read_str(&r, &s, &n)); /* bin is not str */
    mp_reader_init(&r, "\xdd\xff\xff\xff\xff", 5);
    CHECK(!mp_read_array(&r, &n)); /* implausible count */
    mp_reader_init(&r, "\xc1", 1);
    CHECK(!mp_skip(&r));
    /* nesting bomb */
    uint8_t deep[100];
    memset(deep, 0x91, sizeof deep);
    mp_reader_init(&r, deep, sizeof deep);
    CHECK(!mp_skip(&r));
}

static uint32_t http_request(mp_writer_t *w) {
    wapc_header_t hs[2] = {{{"host", 4}, {"x", 1}}, {{"accept", 6}, {"a, b", 4}}};
    wapc_http_request_t q = {{"GET", 3}, {"/p", 2}, {"a=1", 3}, {hs, 2}, {"body", 4}};
    mp_writer_init(w, test_alloc);
    wapc_http_request_encode(w, &q);
    return w->len;
}

TEST(http_round_trip) {
    mp_writer_t w;
    uint32_t n = http_request(&w);
    mp_reader_t r;
    wapc_http_request_t q;
    mp_reader_init(&r, w.buf, n);
    REQUIRE(wapc_http_request_decode(&r, &q, test_alloc));
    CHECK(q.method.len == 3 && memcmp(q.method.s, "GET", 3) == 0);
    CHECK(q.query_string.len == 3 && q.header.n == 2);
    CHECK(q.header.items[1].value.len == 4 && memcmp(q.header.items[1].value.s, "a, b", 4) == 0);
    CHECK(q.body.len == 4 && memcmp(q.body.s, "body", 4) == 0);
    /* every truncation fails cleanly */
    for (uint32_t k = 0; k < n; k++) {
        mp_reader_init(&r, w.buf, k);
        CHECK(!wapc_http_request_decode(&r, &q, test_alloc));
        CHECK(r.err != NULL);
    }
    /* response round trip */
    wapc_http_response_t p = {200, {"OK", 2}, {NULL, 0}, {"hi", 2}}, p2;
    mp_writer_init(&w, test_alloc);
    wapc_http_response_encode(&w, &p);
    mp_reader_init(&r, w.buf, w.len);
    REQUIRE(wapc_http_response_decode(&r, &p2, test_alloc));
    CHECK_EQ_INT(p2.status_code, 200);
    CHECK(p2.body.len == 2 && memcmp(p2.body.s, "hi", 2) == 0);
    arena_free();
}

TEST(missing_and_duplicate_keys) {
    mp_writer_t w;
    mp_reader_t r;
    wapc_http_response_t p;
    mp_writer_init(&w, test_alloc);
    mp_write_map(&w, 2);
    mp_write_cstr(&w, "statusCode");
    mp_write_uint(&w, 200);
    mp_write_cstr(&w, "extra");
    mp_write_array(&w, 2);
    mp_write_nil(&w);
    mp_write_map(&w, 0);
    mp_reader_init(&r, w.buf, w.len);
    CHECK(!wapc_http_response_decode(&r, &p, test_alloc));
    CHECK_CONTAINS(r.err, "missing");
    CHECK_EQ_STR(r.key, "status");
    mp_writer_init(&w, test_alloc);
    mp_write_map(&w, 2);
    mp_write_cstr(&w, "value");
    mp_write_int(&w, 1);
    mp_write_cstr(&w, "value");
    mp_write_int(&w, 2);
    int32_t v;
    mp_reader_init(&r, w.buf, w.len);
    CHECK(!wapc_kv_add_decode(&r, &v));
    CHECK_CONTAINS(r.err, "duplicate");
    /* wrong type names the key */
    mp_writer_init(&w, test_alloc);
    mp_write_map(&w, 1);
    mp_write_cstr(&w, "value");
    mp_write_cstr(&w, "7");
    mp_reader_init(&r, w.buf, w.len);
    CHECK(!wapc_kv_add_decode(&r, &v));
    CHECK_EQ_STR(r.key, "value");
    arena_free();
}

TEST(keyvalue_and_friends) {
    mp_writer_t w;
    mp_reader_t r;
    int32_t c = 0;
    mp_writer_init(&w, test_alloc);
    mp_write_map(&w, 2);
    mp_write_cstr(&w, "new_count");
    mp_write_int(&w, 3);
    mp_write_cstr(&w, "newCount");
    mp_write_int(&w, 3);
    mp_reader_init(&r, w.buf, w.len);
    CHECK(wapc_kv_count_decode(&r, &c) && c == 3);
    mp_writer_init(&w, test_alloc);
    mp_write_map(&w, 1);
    mp_write_cstr(&w, "new_count");
    mp_write_int(&w, 9);
    mp_reader_init(&r, w.buf, w.len);
    CHECK(wapc_kv_count_decode(&r, &c) && c == 9);
    mp_writer_init(&w, test_alloc);
    mp_write_map(&w, 0);
    mp_reader_init(&r, w.buf, w.len);
    CHECK(!wapc_kv_count_decode(&r, &c));
    /* {values: [..]} */
    mp_writer_init(&w, test_alloc);
    const char *keys[] = {"a", "bb"};
    wapc_kv_keys_encode(&w, keys, 2);
    CHECK(bytes_are(&w, "81a46b65797392a161a26262"));
    mp_writer_init(&w, test_alloc);
    mp_write_map(&w, 1);
    mp_write_cstr(&w, "values");
    mp_write_array(&w, 2);
    mp_write_cstr(&w, "x");
    mp_write_cstr(&w, "yz");
    wapc_str_list_t l;
    mp_reader_init(&r, w.buf, w.len);
    REQUIRE(wapc_kv_values_decode(&r, &l, test_alloc));
    CHECK(l.n == 2 && l.items[1].len == 2 && memcmp(l.items[1].s, "yz", 2) == 0);
    /* Get response */
    mp_writer_init(&w, test_alloc);
    mp_write_map(&w, 2);
    mp_write_cstr(&w, "value");
    mp_write_cstr(&w, "");
    mp_write_cstr(&w, "exists");
    mp_write_bool(&w, 0);
    wapc_str_t val;
    int ex = 1;
    mp_reader_init(&r, w.buf, w.len);
    CHECK(wapc_kv_get_decode(&r, &val, &ex) && ex == 0 && val.len == 0);
    /* numbergen response with nil guid */
    mp_writer_init(&w, test_alloc);
    mp_write_map(&w, 3);
    mp_write_cstr(&w, "guid");
    mp_write_nil(&w);
    mp_write_cstr(&w, "sequenceNumber");
    mp_write_uint(&w, 5);
    mp_write_cstr(&w, "random_number");
    mp_write_uint(&w, 77);
    wapc_numbergen_response_t ng;
    mp_reader_init(&r, w.buf, w.len);
    CHECK(wapc_numbergen_response_decode(&r, &ng) && ng.guid.s == NULL &&
          ng.sequence_number == 5 && ng.random_number == 77);
    /* health */
    mp_writer_init(&w, test_alloc);
    wapc_health_response_encode(&w, 1, "ok");
    CHECK(bytes_are(&w, "82a76865616c746879c3a76d657373616765a26f6b"));
    arena_free();
}

/* wasmcloud:messaging: Publish / reply / HandleMessage {subject, replyTo,
 * body} and Request {subject, body, timeoutMs}, bodies as bin. */
TEST(messaging_shapes) {
    mp_writer_t w;
    mp_reader_t r;
    wapc_broker_message_t m;
    wapc_messaging_request_t q;
    mp_writer_init(&w, test_alloc);
    wapc_broker_message_encode(&w, "s", NULL, "\x01", 1);
    CHECK(bytes_are(&w, "83a77375626a656374a173a77265706c79546fa0a4626f6479c40101"));
    mp_writer_init(&w, test_alloc);
    wapc_messaging_request_encode(&w, "a.b", "xy", 2, 500);
    CHECK(bytes_are(&w, "83a77375626a656374a3612e62a4626f6479c4027879a974696d656f75744d73cd01f4"));
    mp_reader_init(&r, w.buf, w.len);
    REQUIRE(wapc_messaging_request_decode(&r, &q));
    CHECK(q.subject.len == 3 && memcmp(q.subject.s, "a.b", 3) == 0);
    CHECK(q.body.len == 2 && memcmp(q.body.s, "xy", 2) == 0 && q.timeout_ms == 500);
    /* round trip with a reply subject and a body with NULs; every truncation fails */
    static const uint8_t body[] = {0, 1, 0xc1, 0xff, 0};
    mp_writer_init(&w, test_alloc);
    wapc_broker_message_encode(&w, "orders.new", "_INBOX.42", body, sizeof body);
    mp_reader_init(&r, w.buf, w.len);
    REQUIRE(wapc_broker_message_decode(&r, &m));
    CHECK(m.subject.len == 10 && memcmp(m.subject.s, "orders.new", 10) == 0);
    CHECK(m.reply_to.len == 9 && memcmp(m.reply_to.s, "_INBOX.42", 9) == 0);
    CHECK(m.body.len == sizeof body && memcmp(m.body.s, body, sizeof body) == 0);
    CHECK_EQ_INT(r.pos, w.len);
    for (uint32_t k = 0; k < w.len; k++) {
        mp_reader_init(&r, w.buf, k);
        CHECK(!wapc_broker_message_decode(&r, &m));
        CHECK(r.err != NULL);
    }
    /* replyTo may be nil or absent; timeoutMs may be absent */
    mp_writer_init(&w, test_alloc);
    mp_write_map(&w, 3);
    mp_write_cstr(&w, "body");
    mp_write_bin(&w, "", 0);
    mp_write_cstr(&w, "replyTo");
    mp_write_nil(&w);
    mp_write_cstr(&w, "subject");
    mp_write_cstr(&w, "t");
    mp_reader_init(&r, w.buf, w.len);
    REQUIRE(wapc_broker_message_decode(&r, &m));
    CHECK(m.reply_to.s == NULL && m.body.len == 0 && m.subject.len == 1);
    mp_writer_init(&w, test_alloc);
    mp_write_map(&w, 2);
    mp_write_cstr(&w, "subject");
    mp_write_cstr(&w, "t");
    mp_write_cstr(&w, "body");
    mp_write_bin(&w, "z", 1);
    mp_reader_init(&r, w.buf, w.len);
    q.timeout_ms = 9;
    REQUIRE(wapc_messaging_request_decode(&r, &q));
    CHECK_EQ_INT(q.timeout_ms, 0);
    mp_reader_init(&r, w.buf, w.len);
    REQUIRE(wapc_broker_message_decode(&r, &m));
    CHECK(m.reply_to.s == NULL && m.body.len == 1);
    /* body as str (not bin) is refused and named */
    mp_writer_init(&w, test_alloc);
    mp_write_map(&w, 2);
    mp_write_cstr(&w, "subject");
    mp_write_cstr(&w, "t");
    mp_write_cstr(&w, "body");
    mp_write_cstr(&w, "z");
    mp_reader_init(&r, w.buf, w.len);
    CHECK(!wapc_broker_message_decode(&r, &m));
    CHECK_EQ_STR(r.key, "body");
    /* missing subject */
    mp_writer_init(&w, test_alloc);
    mp_write_map(&w, 1);
    mp_write_cstr(&w, "body");
    mp_write_bin(&w, "z", 1);
    mp_reader_init(&r, w.buf, w.len);
    CHECK(!wapc_messaging_request_decode(&r, &q));
    CHECK_CONTAINS(r.err, "missing");
    CHECK_EQ_STR(r.key, "subject");
    /* timeoutMs beyond 32 bits, negative, and a duplicate key */
    mp_writer_init(&w, test_alloc);
    mp_write_map(&w, 3);
    mp_write_cstr(&w, "subject");
    mp_write_cstr(&w, "t");
    mp_write_cstr(&w, "body");
    mp_write_bin(&w, "z", 1);
    mp_write_cstr(&w, "timeoutMs");
    mp_write_uint(&w, 1ull << 32);
    mp_reader_init(&r, w.buf, w.len);
    CHECK(!wapc_messaging_request_decode(&r, &q));
    CHECK_EQ_STR(r.key, "timeoutMs");
    mp_writer_init(&w, test_alloc);
    mp_write_map(&w, 3);
    mp_write_cstr(&w, "subject");
    mp_write_cstr(&w, "t");
    mp_write_cstr(&w, "body");
    mp_write_bin(&w, "z", 1);
    mp_write_cstr(&w, "timeoutMs");
    mp_write_int(&w, -1);
    mp_reader_init(&r, w.buf, w.len);
    CHECK(!wapc_messaging_request_decode(&r, &q));
    CHECK_EQ_STR(r.key, "timeoutMs");
    mp_writer_init(&w, test_alloc);
    mp_write_map(&w, 3);
    mp_write_cstr(&w, "subject");
    mp_write_cstr(&w, "t");
    mp_write_cstr(&w, "subject");
    mp_write_cstr(&w, "u");
    mp_write_cstr(&w, "body");
    mp_write_bin(&w, "z", 1);
    mp_reader_init(&r, w.buf, w.len);
    CHECK(!wapc_broker_message_decode(&r, &m));
    CHECK_CONTAINS(r.err, "duplicate");
    /* a map header claiming more entries than the input holds */
    static const uint8_t lie[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 's'};
    mp_reader_init(&r, lie, sizeof lie);
    CHECK(!wapc_broker_message_decode(&r, &m));
    CHECK(r.err != NULL);
    arena_free();
}

TEST(mutations_never_crash) {
    mp_writer_t w;
    uint32_t n = http_request(&w);
    uint8_t orig[256], buf[256];
    REQUIRE(n <= sizeof buf);
    memcpy(orig, w.buf, n); /* the arena (and w.buf) is recycled below */
    uint32_t seed = 12345;
    int ok = 0, bad = 0;
    for (int it = 0; it < 20000; it++) {
        memcpy(buf, orig, n);
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[(seed >> 8) % n] = (uint8_t)(seed >> 20);
        }
        mp_reader_t r;
        wapc_http_request_t q;
        mp_reader_init(&r, buf, n);
        if (wapc_http_request_decode(&r, &q, test_alloc)) {
            ok++;
            CHECK(r.pos <= n);
            CHECK(q.body.s >= (const char *)buf && q.body.s + q.body.len <= (const char *)buf + n);
        } else {
            bad++;
            CHECK(r.err != NULL);
        }
        if (narena > 4000) arena_free();
    }
    CHECK(bad > 0);
    arena_free();
}

TEST_MAIN(TEST_ENTRY(smallest_encodings), TEST_ENTRY(reader_strict), TEST_ENTRY(http_round_trip),
          TEST_ENTRY(missing_and_duplicate_keys), TEST_ENTRY(keyvalue_and_friends),
          TEST_ENTRY(messaging_shapes), TEST_ENTRY(mutations_never_crash))

/*
 * test_base.c - tests of the base module: status texts, error records,
 * counted allocation and fault injection, buffers, files, UTF-8, base64.
 */
#include <unistd.h>

#include "test.h"

TEST(status_texts) {
    CHECK_EQ_STR(corral_status_str(CORRAL_OK), "ok");
    CHECK_EQ_STR(corral_status_str(CORRAL_ERR_TRAP_MEMORY_OOB), "out of bounds memory access");
    CHECK_EQ_STR(corral_status_name(CORRAL_ERR_NOMEM), "ERR_NOMEM");
    CHECK_EQ_STR(corral_status_str((corral_status_t)9999), "unknown status");
}

TEST(err_record) {
    corral_err_t e;
    corral_err_clear(&e);
    CHECK_EQ_STR(corral_err_msg(&e), "ok");
    CHECK_EQ_INT(corral_err_set(&e, CORRAL_ERR_IO, "cannot open %s", "x"), CORRAL_ERR_IO);
    CHECK_EQ_STR(e.msg, "cannot open x");
    corral_err_wrap(&e, "loading %d", 7);
    CHECK_EQ_STR(e.msg, "loading 7: cannot open x");
    CHECK_EQ_INT(e.status, CORRAL_ERR_IO);
    CHECK_EQ_INT(corral_err_set(NULL, CORRAL_ERR_NOMEM, "ignored"), CORRAL_ERR_NOMEM);
    corral_err_set(&e, CORRAL_ERR_NOT_FOUND, NULL);
    CHECK_EQ_STR(e.msg, "not found");
}

TEST(alloc_fault_injection) {
    long live = corral_alloc_live();
    corral_alloc_fail_after(2, 0);
    void *a = corral_malloc(8);
    void *b = corral_malloc(8);
    void *c = corral_malloc(8);
    CHECK(a != NULL);
    CHECK(b == NULL);
    CHECK(c != NULL);
    CHECK_EQ_INT(corral_alloc_live(), live + 2);
    corral_free(a);
    corral_free(c);
    corral_free(NULL);
    corral_alloc_fail_after(1, 1);
    CHECK(corral_malloc(1) == NULL);
    CHECK(corral_calloc(1, 1) == NULL);
    corral_alloc_fail_after(0, 0);
    CHECK_EQ_INT(corral_alloc_live(), live);
}

TEST(buffers) {
    corral_buf_t b = CORRAL_BUF_INIT;
    CHECK_EQ_INT(corral_buf_append_str(&b, "abc"), CORRAL_OK);
    CHECK_EQ_INT(corral_buf_printf(&b, "-%d-", 42), CORRAL_OK);
    CHECK_EQ_INT(b.len, 7);
    CHECK_EQ_STR((char *)b.data, "abc-42-");
    for (int i = 0; i < 1000; i++) corral_buf_append(&b, "x", 1);
    CHECK_EQ_INT(b.len, 1007);
    CHECK_EQ_INT(corral_buf_reserve(&b, SIZE_MAX), CORRAL_ERR_NOMEM);
    size_t n;
    uint8_t *p = corral_buf_take(&b, &n);
    CHECK_EQ_INT(n, 1007);
    CHECK(b.data == NULL && b.len == 0);
    corral_free(p);
    corral_buf_free(&b);
    corral_alloc_fail_after(1, 0);
    CHECK_EQ_INT(corral_buf_append_str(&b, "a"), CORRAL_ERR_NOMEM);
    CHECK_EQ_INT(b.len, 0);
}

TEST(files) {
    char path[] = "/tmp/corral_test_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    corral_err_t e;
    CHECK_EQ_INT(corral_file_write(path, "hello", 5, 0600, &e), CORRAL_OK);
    corral_buf_t b = CORRAL_BUF_INIT;
    CHECK_EQ_INT(corral_file_read(path, 0, &b, &e), CORRAL_OK);
    CHECK_EQ_STR((char *)b.data, "hello");
    corral_buf_free(&b);
    CHECK_EQ_INT(corral_file_read(path, 3, &b, &e), CORRAL_ERR_TOO_LARGE);
    corral_buf_free(&b);
    unlink(path);
    CHECK_EQ_INT(corral_file_read(path, 0, &b, &e), CORRAL_ERR_NOT_FOUND);
    CHECK_CONTAINS(e.msg, path);
    CHECK_EQ_INT(corral_file_read("/tmp", 0, &b, &e), CORRAL_ERR_IO);
    CHECK_CONTAINS(e.msg, "directory");
    corral_buf_free(&b);
}

TEST(utf8) {
    CHECK(corral_utf8_valid((const uint8_t *)"hello", 5));
    CHECK(corral_utf8_valid((const uint8_t *)"\xc3\xa9", 2));
    CHECK(corral_utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80", 4));
    CHECK(!corral_utf8_valid((const uint8_t *)"\xc3", 1));
    CHECK(!corral_utf8_valid((const uint8_t *)"\xc0\x80", 2));     /* overlong */
    CHECK(!corral_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3)); /* surrogate */
    CHECK(!corral_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4));
    CHECK(!corral_utf8_valid((const uint8_t *)"\xff", 1));
}

TEST(base64) {
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        corral_buf_t b = CORRAL_BUF_INIT;
        CHECK_EQ_INT(corral_base64_encode((const uint8_t *)in[i], strlen(in[i]), &b), CORRAL_OK);
        CHECK_EQ_STR(b.data ? (char *)b.data : "", out[i]);
        corral_buf_free(&b);
    }
}

TEST(log_levels) {
    corral_log_level_t l;
    CHECK_EQ_INT(corral_log_level_parse("debug", &l), CORRAL_OK);
    CHECK_EQ_INT(l, CORRAL_LOG_DEBUG);
    CHECK_EQ_INT(corral_log_level_parse("loud", &l), CORRAL_ERR_INVALID_ARG);
}

TEST_MAIN(TEST_ENTRY(status_texts), TEST_ENTRY(err_record), TEST_ENTRY(alloc_fault_injection),
          TEST_ENTRY(buffers), TEST_ENTRY(files), TEST_ENTRY(utf8), TEST_ENTRY(base64),
          TEST_ENTRY(log_levels))

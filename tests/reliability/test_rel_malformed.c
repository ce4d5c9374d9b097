/*
 * test_rel_malformed.c - malformed modules through every loader (issue 7):
 * corral_vm_module_new, corral_wapc_module_new and corral_host_actor_start
 * (unsigned with allow_unsigned, and signed with the claims API). The corpus:
 *   - every binary module of the spec tests' assert_malformed and
 *     assert_invalid commands, converted with wast2json at test time from
 *     CORRAL_SPEC_DIR (../shared/wasm-testsuite/core next to the sources);
 *   - every truncation of a real actor (the kitchen guest of tests/wapc,
 *     signed here), all prefixes of the first 2 KiB and then every 7th;
 *   - 4000 single-bit flips of the same signed actor (fixed seed).
 * Each must be refused with an error (never a crash, never a leak: the
 * harness checks the allocation count). Exceptions are checked precisely:
 * a prefix that ends exactly on a section boundary is a valid module for
 * the engine (but never a valid signed actor), and a bit flip may leave a
 * valid module for the engine (but the signed actor must always be refused).
 */
#include <dirent.h>
#include <jansson.h>

#include "corral_vm.h"
#include "corral_wapc.h"
#include "rel_util.h"

static corral_host_t *host_;
static char dir_[64];

/* Tries the three loaders; returns how many accepted the module. */
static int load_all(const uint8_t *p, size_t n, int *vm_ok, int *wapc_ok, int *host_ok) {
    corral_err_t err;
    corral_vm_module_t *vm = NULL;
    corral_err_clear(&err);
    corral_status_t st = corral_vm_module_new(p, n, &vm, &err);
    *vm_ok = st == CORRAL_OK;
    if (st != CORRAL_OK && !err.msg[0]) *vm_ok = -1; /* an error without a message */
    corral_vm_module_free(vm);
    corral_wapc_module_t *wm = NULL;
    corral_err_clear(&err);
    st = corral_wapc_module_new(p, n, &wm, &err);
    *wapc_ok = st == CORRAL_OK;
    if (st != CORRAL_OK && !err.msg[0]) *wapc_ok = -1;
    corral_wapc_module_free(wm);
    corral_host_actor_opts_t o = {0};
    o.allow_unsigned = 1;
    corral_host_actor_info_t info;
    corral_err_clear(&err);
    st = corral_host_actor_start(host_, p, n, &o, &info, &err);
    *host_ok = st == CORRAL_OK;
    if (st != CORRAL_OK && !err.msg[0]) *host_ok = -1;
    if (st == CORRAL_OK) corral_host_actor_stop(host_, info.key, NULL, NULL);
    return (*vm_ok == 1) + (*wapc_ok == 1) + (*host_ok == 1);
}

/* A signed module through corral_host_actor_start without allow_unsigned:
 * CORRAL_OK or the error (message required). */
static corral_status_t host_signed(const uint8_t *p, size_t n, char *msg, size_t msgn) {
    corral_err_t err;
    corral_err_clear(&err);
    corral_host_actor_info_t info;
    corral_status_t st = corral_host_actor_start(host_, p, n, NULL, &info, &err);
    if (msg) snprintf(msg, msgn, "%s", corral_err_msg(&err));
    if (st == CORRAL_OK) corral_host_actor_stop(host_, info.key, NULL, NULL);
    else if (!err.msg[0]) return CORRAL_ERR_INTERNAL;
    return st;
}

static int setup(void) {
    if (!tmpdir(dir_)) return 0;
    host_ = start_host(dir_, 0, NULL);
    corral_log_set_level(CORRAL_LOG_ERROR);
    return host_ != NULL;
}

static void teardown(void) {
    corral_host_free(host_);
    host_ = NULL;
    rmtree(dir_);
}

TEST(spec_malformed_and_invalid) {
    const char *suite = CORRAL_SPEC_DIR;
    DIR *d = opendir(suite);
    if (!d) {
        fprintf(stderr, "  spec suite %s not found\n", suite);
        CHECK(d != NULL);
        return;
    }
    REQUIRE(setup());
    char out[64];
    REQUIRE(tmpdir(out));
    long files = 0, mods = 0, accepted = 0, signed_tested = 0;
    test_keys_t k;
    keys_new(&k);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t L = strlen(e->d_name);
        if (L < 6 || strcmp(e->d_name + L - 5, ".wast") != 0) continue;
        char cmd[1024], json[512];
        snprintf(json, sizeof json, "%s/%.*s.json", out, (int)(L - 5), e->d_name);
        snprintf(cmd, sizeof cmd, "wast2json --enable-all '%s/%s' -o '%s' >/dev/null 2>&1",
                 suite, e->d_name, json);
        if (system(cmd) != 0) {
            snprintf(cmd, sizeof cmd, "wast2json '%s/%s' -o '%s' >/dev/null 2>&1", suite,
                     e->d_name, json);
            if (system(cmd) != 0) continue; /* wabt cannot read this file: no binary cases */
        }
        files++;
        json_error_t je;
        json_t *root = json_load_file(json, 0, &je);
        if (!root) continue;
        json_t *cmds = json_object_get(root, "commands");
        size_t i;
        json_t *c;
        json_array_foreach(cmds, i, c) {
            const char *type = json_string_value(json_object_get(c, "type"));
            const char *mt = json_string_value(json_object_get(c, "module_type"));
            const char *fn = json_string_value(json_object_get(c, "filename"));
            if (!type || !mt || !fn || strcmp(mt, "binary") != 0) continue;
            if (strcmp(type, "assert_malformed") != 0 && strcmp(type, "assert_invalid") != 0)
                continue;
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", out, fn);
            corral_buf_t b = {0};
            if (corral_file_read(path, 0, &b, NULL) != CORRAL_OK) continue;
            mods++;
            int v, w, h;
            if (load_all(b.data, b.len, &v, &w, &h)) {
                fprintf(stderr, "  %s (%s, line %lld) accepted: vm %d wapc %d host %d\n", fn,
                        type, (long long)json_integer_value(json_object_get(c, "line")), v, w,
                        h);
                accepted++;
            }
            CHECK(v == 0 && w == 0 && h == 0);
            /* Signed (when the claims scanner can sign it): refused too. */
            corral_buf_t s = {0};
            corral_claims_sign_opts_t o = {0};
            o.name = "malformed";
            if (corral_claims_sign_module(b.data, b.len, &o, &k.account, &k.module, &s, NULL,
                                          NULL) == CORRAL_OK) {
                signed_tested++;
                CHECK(host_signed(s.data, s.len, NULL, 0) != CORRAL_OK);
            }
            corral_buf_free(&s);
            corral_buf_free(&b);
        }
        json_decref(root);
    }
    closedir(d);
    keys_wipe(&k);
    fprintf(stderr,
            "  figure: spec corpus: %ld .wast files, %ld binary malformed/invalid modules "
            "(%ld also signed), %ld accepted\n",
            files, mods, signed_tested, accepted);
    CHECK(mods > 100);
    CHECK_EQ_INT(accepted, 0);
    rmtree(out);
    teardown();
}

/* The signed kitchen guest and the offsets where its sections end. */
static int real_module(corral_buf_t *plain, corral_buf_t *signed_, size_t *ends, size_t *nends) {
    if (!read_guest("rel_kitchen", plain)) return 0;
    test_keys_t k;
    keys_new(&k);
    static const char *const caps[] = {"wasmcloud:keyvalue", NULL};
    int ok = sign(plain, &k, "kitchen", caps, 1, NULL, signed_);
    keys_wipe(&k);
    corral_claims_scan_t sc;
    corral_claims_section_t sec;
    int more = 1;
    *nends = 0;
    ends[(*nends)++] = 8;
    if (corral_claims_scan_init(&sc, signed_->data, signed_->len, NULL) != CORRAL_OK) return 0;
    while (corral_claims_scan_next(&sc, &sec, &more, NULL) == CORRAL_OK && more && *nends < 64)
        ends[(*nends)++] = sec.end;
    return ok;
}

TEST(truncations) {
    REQUIRE(setup());
    corral_buf_t plain = {0}, s = {0};
    size_t ends[64], nends = 0;
    REQUIRE(real_module(&plain, &s, ends, &nends));
    char msg[512];
    REQUIRE(host_signed(s.data, s.len, msg, sizeof msg) == CORRAL_OK);
    long tried = 0, vm_accepted = 0, bad = 0;
    for (size_t n = 0; n < s.len; n += n < 2048 ? 1 : 7) {
        tried++;
        int v, w, h;
        load_all(s.data, n, &v, &w, &h);
        int boundary = 0;
        for (size_t j = 0; j < nends; j++) boundary |= ends[j] == n;
        if (v == 1) vm_accepted++;
        if (v < 0 || w < 0 || h < 0 || (v == 1 && !boundary)) {
            if (bad++ < 5)
                fprintf(stderr, "  prefix %zu: vm %d wapc %d host %d (boundary %d)\n", n, v, w, h,
                        boundary);
        }
        corral_status_t st = host_signed(s.data, n, msg, sizeof msg);
        if (st == CORRAL_OK || st == CORRAL_ERR_INTERNAL) {
            if (bad++ < 5) fprintf(stderr, "  signed prefix %zu: %s\n", n, msg);
        }
    }
    fprintf(stderr,
            "  figure: truncations of the signed kitchen guest (%zu bytes): %ld prefixes, "
            "%ld accepted by the engine (all on section boundaries), 0 signed accepted\n",
            s.len, tried, vm_accepted);
    CHECK_EQ_INT(bad, 0);
    corral_buf_free(&plain);
    corral_buf_free(&s);
    teardown();
}

TEST(bit_flips) {
    REQUIRE(setup());
    corral_buf_t plain = {0}, s = {0};
    size_t ends[64], nends = 0;
    REQUIRE(real_module(&plain, &s, ends, &nends));
    uint8_t *m = malloc(s.len);
    REQUIRE(m);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    long tried = 0, vm_accepted = 0, bad = 0;
    char msg[512];
    for (int i = 0; i < 4000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t pos = (size_t)(x % s.len);
        memcpy(m, s.data, s.len);
        m[pos] ^= (uint8_t)(1u << ((x >> 32) & 7));
        tried++;
        int v, w, h;
        load_all(m, s.len, &v, &w, &h);
        if (v == 1) vm_accepted++;
        if (v < 0 || w < 0 || h < 0) bad++;
        corral_status_t st = host_signed(m, s.len, msg, sizeof msg);
        if (st == CORRAL_OK || st == CORRAL_ERR_INTERNAL) {
            if (bad++ < 5) fprintf(stderr, "  flip at %zu accepted signed: %s\n", pos, msg);
        }
    }
    fprintf(stderr,
            "  figure: bit flips of the signed kitchen guest: %ld flips, %ld still valid for "
            "the engine, 0 signed accepted\n",
            tried, vm_accepted);
    CHECK_EQ_INT(bad, 0);
    free(m);
    corral_buf_free(&plain);
    corral_buf_free(&s);
    teardown();
}

TEST_MAIN(TEST_ENTRY(spec_malformed_and_invalid), TEST_ENTRY(truncations), TEST_ENTRY(bit_flips))

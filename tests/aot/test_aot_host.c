/*
 * test_aot_host.c - the host's engine choice (corral_host_engine_t) with the
 * AOT tier: with AUTO an actor starts at once on the interpreter, the host
 * compiles it in the background and swaps it onto native code between calls
 * while another thread keeps calling it (no call may fail), the artifact
 * lands in the (owner-only) cache, and the next host starts the actor
 * straight on native code. A cache directory others can write is refused
 * and the actor runs on the interpreter, saying so in the log.
 *
 * Signed artifacts (corral_aot_sign, corral_host_actor_opts_t.artifact): an
 * artifact signed by an allowed signer runs from anywhere (inventory engine
 * "aot"); every tamper - a header field, an ELF byte, a signature byte -, a
 * signer the host does not allow, an unsigned artifact outside the cache,
 * another module's artifact and another ABI each leave the actor on the
 * interpreter with its exact reason logged once; an unsigned artifact in
 * the host's cache is taken as it is.
 *
 * Updates keep the tier the actor was started on: AOT compiles the new
 * revision before the swap, AUTO swaps to the interpreter and then to native
 * code again in the background under traffic, INTERP stays interpreted.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "corral_aot.h"
#include "corral_claims.h"
#include "corral_host.h"
#include "test.h"

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char logbuf[65536];
static size_t loglen;

static void sink(corral_log_level_t level, const char *component, const char *msg, void *user) {
    (void)level;
    (void)user;
    pthread_mutex_lock(&log_mu);
    int n = snprintf(logbuf + loglen, sizeof logbuf - loglen, "%s: %s\n", component, msg);
    if (n > 0 && (size_t)n < sizeof logbuf - loglen) loglen += (size_t)n;
    pthread_mutex_unlock(&log_mu);
}

static int log_has(const char *s) {
    pthread_mutex_lock(&log_mu);
    int r = strstr(logbuf, s) != NULL;
    pthread_mutex_unlock(&log_mu);
    return r;
}

static void log_reset(void) {
    pthread_mutex_lock(&log_mu);
    loglen = 0;
    logbuf[0] = 0;
    pthread_mutex_unlock(&log_mu);
}

static char tmp[256], cache[300], data[300];

static corral_host_t *host_up(corral_host_engine_t e, char *key) {
    corral_host_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = data;
    cfg.allow_unsigned = 1;
    cfg.no_builtins = 1;
    cfg.engine = e;
    corral_host_t *h = NULL;
    corral_err_t err;
    corral_err_clear(&err);
    if (corral_host_new(&cfg, &h, &err) != CORRAL_OK || corral_host_start(h, &err) != CORRAL_OK) {
        fprintf(stderr, "  host: %s\n", corral_err_msg(&err));
        corral_host_free(h);
        return NULL;
    }
    corral_host_actor_info_t info;
    if (corral_host_actor_start_file(h, CORRAL_GUEST_DIR "/echo.wasm", NULL, &info, &err) != CORRAL_OK) {
        fprintf(stderr, "  actor: %s\n", corral_err_msg(&err));
        corral_host_free(h);
        return NULL;
    }
    strcpy(key, info.key);
    return h;
}

static int echo_once(corral_host_t *h, const char *key) {
    corral_buf_t r = {0};
    corral_err_t err;
    corral_err_clear(&err);
    static const uint8_t msg[] = "hello native";
    corral_status_t st = corral_host_call(h, key, "echo", msg, sizeof msg - 1, &r, &err);
    int ok = st == CORRAL_OK && r.len == sizeof msg - 1 && memcmp(r.data, msg, r.len) == 0;
    if (!ok) fprintf(stderr, "  echo failed: %s\n", corral_err_msg(&err));
    corral_buf_free(&r);
    return ok;
}

TEST(auto_swaps_live_and_caches) {
    snprintf(tmp, sizeof tmp, "/tmp/corral-test-aot-host-%ld", (long)getpid());
    mkdir(tmp, 0700);
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    snprintf(data, sizeof data, "%s/data", tmp);
    setenv("CORRAL_AOT_CACHE", cache, 1);
    corral_log_set_sink(sink, NULL);
    char key[128];
    corral_host_t *h = host_up(CORRAL_HOST_ENGINE_AUTO, key);
    REQUIRE(h != NULL);
    CHECK(log_has("compiling to native code in the background"));
    long calls = 0, failed = 0;
    uint64_t t0 = corral_now_ns();
    while (!log_has("now running on native code") && !log_has("stays on the interpreter") &&
           corral_now_ns() - t0 < 240ull * 1000000000ull) {
        calls++;
        failed += !echo_once(h, key);
    }
    CHECK(log_has("now running on native code (live swap)"));
    for (int i = 0; i < 200; i++, calls++) failed += !echo_once(h, key);
    CHECK(calls > 200);
    CHECK_EQ_INT(failed, 0);
    corral_host_free(h);
    /* the artifact is cached: the next host starts on native code */
    log_reset();
    h = host_up(CORRAL_HOST_ENGINE_AUTO, key);
    REQUIRE(h != NULL);
    CHECK(log_has("running on native code (cached artifact)"));
    CHECK(!log_has("background"));
    CHECK(echo_once(h, key));
    corral_host_free(h);
    /* a cache others can write is not trusted: interpreter, said once */
    log_reset();
    chmod(cache, 0777);
    h = host_up(CORRAL_HOST_ENGINE_AOT, key);
    REQUIRE(h != NULL);
    CHECK(log_has("native code not used"));
    CHECK(log_has("not trusted"));
    CHECK(echo_once(h, key));
    corral_host_free(h);
    chmod(cache, 0700);
    /* interp: nothing about native code at all */
    log_reset();
    h = host_up(CORRAL_HOST_ENGINE_INTERP, key);
    REQUIRE(h != NULL);
    CHECK(!log_has("native"));
    CHECK(echo_once(h, key));
    corral_host_free(h);
    corral_log_set_sink(NULL, NULL);
    unsetenv("CORRAL_AOT_CACHE");
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0);
}

/* ---- signed artifacts ------------------------------------------------------------------------ */

static int count_of(const char *s) {
    pthread_mutex_lock(&log_mu);
    int n = 0;
    for (const char *p = logbuf; (p = strstr(p, s)); p += strlen(s)) n++;
    pthread_mutex_unlock(&log_mu);
    return n;
}

/* The engine the inventory reports for the (only) actor. */
static const char *inv_engine(corral_host_t *h) {
    char *inv = NULL;
    corral_err_t err;
    corral_err_clear(&err);
    const char *e = "?";
    if (corral_host_inventory(h, &inv, &err) == CORRAL_OK) {
        if (strstr(inv, "\"engine\":\"aot\"")) e = "aot";
        else if (strstr(inv, "\"engine\":\"interp\"")) e = "interp";
    }
    corral_free(inv);
    return e;
}

static int copy_file(const char *from, const char *to) {
    corral_buf_t b = {0};
    int ok = corral_file_read(from, 0, &b, NULL) == CORRAL_OK &&
             corral_file_write(to, b.data, b.len, 0600, NULL) == CORRAL_OK;
    corral_buf_free(&b);
    return ok;
}

/* Changes the byte at off (from the start, or from the end when off < 0) of
 * a copy of from. */
static int tampered(const char *from, const char *to, long off) {
    corral_buf_t b = {0};
    int ok = corral_file_read(from, 0, &b, NULL) == CORRAL_OK;
    if (ok) {
        size_t at = off < 0 ? b.len - (size_t)(-off) : (size_t)off;
        b.data[at] ^= 0x01;
        ok = corral_file_write(to, b.data, b.len, 0600, NULL) == CORRAL_OK;
    }
    corral_buf_free(&b);
    return ok;
}

/* Offset of the first occurrence of s in the file (its header). */
static long find_in(const char *path, const char *s) {
    corral_buf_t b = {0};
    long at = -1;
    if (corral_file_read(path, 0, &b, NULL) == CORRAL_OK) {
        size_t n = b.len < 4096 ? b.len : 4096, l = strlen(s);
        for (size_t i = 0; i + l <= n; i++)
            if (memcmp(b.data + i, s, l) == 0) {
                at = (long)i;
                break;
            }
    }
    corral_buf_free(&b);
    return at;
}

/* Starts echo on artifact with the given engine, checks what the log and
 * the inventory say and that it answers, stops it. want_log: the exact
 * reason (or the accepting line), logged exactly once. */
static void run_case(corral_host_t *h, const char *artifact, corral_host_engine_t e, const char *want_engine,
                     const char *want_log) {
    log_reset();
    corral_host_actor_opts_t o;
    memset(&o, 0, sizeof o);
    o.artifact = artifact;
    o.engine = e;
    corral_host_actor_info_t info;
    corral_err_t err;
    corral_err_clear(&err);
    corral_status_t st = corral_host_actor_start_file(h, CORRAL_GUEST_DIR "/echo.wasm", &o, &info, &err);
    CHECK_EQ_INT(st, CORRAL_OK);
    if (st != CORRAL_OK) {
        fprintf(stderr, "  start: %s\n", corral_err_msg(&err));
        return;
    }
    CHECK_EQ_STR(inv_engine(h), want_engine);
    CHECK_EQ_INT(count_of(want_log), 1);
    if (count_of(want_log) != 1) fprintf(stderr, "  wanted once: %s\n  log:\n%s", want_log, logbuf);
    /* exactly one line about the choice of tier */
    CHECK_EQ_INT(count_of("native code"), 1);
    CHECK(echo_once(h, info.key));
    CHECK_EQ_INT(corral_host_actor_stop(h, info.key, NULL, &err), CORRAL_OK);
}

TEST(signed_artifacts) {
    char dir[256], cdir[300], ddir[300], unsig[320], good[320], other[320], wrong[320], t[320], abi[320],
        incache[4200], hash[65], why[1400];
    snprintf(dir, sizeof dir, "/tmp/corral-test-aot-sign-%ld", (long)getpid());
    REQUIRE(mkdir(dir, 0700) == 0);
    snprintf(cdir, sizeof cdir, "%s/cache", dir);
    snprintf(ddir, sizeof ddir, "%s/data", dir);
    setenv("CORRAL_AOT_CACHE", cdir, 1);
    snprintf(unsig, sizeof unsig, "%s/echo-unsigned.caot", dir);
    snprintf(good, sizeof good, "%s/echo-signed.caot", dir);
    snprintf(other, sizeof other, "%s/ping-signed.caot", dir);
    snprintf(wrong, sizeof wrong, "%s/echo-wrong-signer.caot", dir);
    snprintf(abi, sizeof abi, "%s/echo-abi9.caot", dir);
    snprintf(t, sizeof t, "%s/tampered.caot", dir);
    corral_err_t err;
    corral_err_clear(&err);

    /* keys: an allowed operator, an account nobody allowed, a module key */
    corral_nkey_t op, acct, mod;
    char op_seed[CORRAL_NKEY_SEED_LEN + 1], acct_seed[CORRAL_NKEY_SEED_LEN + 1], mod_seed[CORRAL_NKEY_SEED_LEN + 1];
    char op_pub[CORRAL_NKEY_PUBLIC_LEN + 1], acct_pub[CORRAL_NKEY_PUBLIC_LEN + 1];
    REQUIRE(corral_nkey_generate(CORRAL_NKEY_OPERATOR, &op, &err) == CORRAL_OK);
    REQUIRE(corral_nkey_generate(CORRAL_NKEY_ACCOUNT, &acct, &err) == CORRAL_OK);
    REQUIRE(corral_nkey_generate(CORRAL_NKEY_MODULE, &mod, &err) == CORRAL_OK);
    REQUIRE(corral_nkey_seed_str(&op, op_seed, &err) == CORRAL_OK);
    REQUIRE(corral_nkey_seed_str(&acct, acct_seed, &err) == CORRAL_OK);
    REQUIRE(corral_nkey_seed_str(&mod, mod_seed, &err) == CORRAL_OK);
    corral_nkey_public_str(&op, op_pub);
    corral_nkey_public_str(&acct, acct_pub);

    /* compile echo (and ping, for a foreign artifact) outside the cache */
    corral_buf_t w = {0};
    REQUIRE(corral_file_read(CORRAL_GUEST_DIR "/echo.wasm", 0, &w, &err) == CORRAL_OK);
    REQUIRE(corral_claims_module_hash(w.data, w.len, hash, &err) == CORRAL_OK);
    corral_aot_opts_t ao;
    memset(&ao, 0, sizeof ao);
    ao.quiet = 1;
    corral_status_t st = corral_aot_compile(w.data, w.len, unsig, &ao, NULL, &err);
    corral_buf_free(&w);
    REQUIRE(st == CORRAL_OK);
    REQUIRE(corral_file_read(CORRAL_GUEST_DIR "/ping.wasm", 0, &w, &err) == CORRAL_OK);
    st = corral_aot_compile(w.data, w.len, other, &ao, NULL, &err);
    corral_buf_free(&w);
    REQUIRE(st == CORRAL_OK);

    /* sign -> verify */
    corral_aot_info_t info;
    REQUIRE(copy_file(unsig, good));
    CHECK_EQ_INT(corral_aot_sign(good, op_seed, &info, &err), CORRAL_OK);
    CHECK_EQ_STR(info.signer, op_pub);
    CHECK_EQ_STR(info.module_hash, hash);
    const char *allowed[] = {op_pub};
    corral_aot_trust_t tr = {.require_signed = 1, .signers = allowed, .nsigners = 1};
    memset(&info, 0, sizeof info);
    CHECK_EQ_INT(corral_aot_verify(good, &tr, &info, &err), CORRAL_OK);
    CHECK_EQ_STR(info.signer, op_pub);
    CHECK_EQ_INT(corral_aot_info_read(good, &info, &err), CORRAL_OK);
    CHECK_EQ_STR(info.signer, op_pub);
    CHECK_EQ_INT(corral_aot_info_read(unsig, &info, &err), CORRAL_OK);
    CHECK_EQ_STR(info.signer, "");
    /* signing again replaces the signature: the account's verifies, not the operator's */
    REQUIRE(copy_file(good, wrong));
    CHECK_EQ_INT(corral_aot_sign(wrong, acct_seed, &info, &err), CORRAL_OK);
    CHECK_EQ_INT(corral_aot_verify(wrong, NULL, &info, &err), CORRAL_OK);
    CHECK_EQ_STR(info.signer, acct_pub);
    CHECK_EQ_INT(corral_aot_verify(wrong, &tr, NULL, &err), CORRAL_ERR_ISSUER_NOT_ALLOWED);
    CHECK_EQ_INT(find_in(wrong, op_pub), -1);
    /* a module seed cannot sign; an unsigned artifact does not verify */
    CHECK_EQ_INT(corral_aot_sign(t, mod_seed, NULL, &err), CORRAL_ERR_KEY_TYPE);
    CHECK_EQ_INT(corral_aot_verify(unsig, NULL, NULL, &err), CORRAL_ERR_NO_TOKEN);
    /* the foreign module's artifact, signed by the allowed operator */
    CHECK_EQ_INT(corral_aot_sign(other, op_seed, NULL, &err), CORRAL_OK);
    /* another ABI, signed after the change (so only the ABI is wrong) */
    REQUIRE(copy_file(unsig, abi));
    char abi_line[32];
    snprintf(abi_line, sizeof abi_line, "\nabi %u\n", corral_aot_abi());
    REQUIRE(corral_aot_abi() < 9);
    long abi_at = find_in(abi, abi_line);
    REQUIRE(abi_at > 0);
    {
        corral_buf_t b = {0};
        REQUIRE(corral_file_read(abi, 0, &b, NULL) == CORRAL_OK);
        b.data[abi_at + 5] = '9';
        REQUIRE(corral_file_write(abi, b.data, b.len, 0600, NULL) == CORRAL_OK);
        corral_buf_free(&b);
    }
    CHECK_EQ_INT(corral_aot_sign(abi, op_seed, NULL, &err), CORRAL_OK);

    /* a host allowing the operator */
    corral_log_set_sink(sink, NULL);
    corral_host_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = ddir;
    cfg.allow_unsigned = 1;
    cfg.no_builtins = 1;
    cfg.aot_signers = allowed;
    cfg.n_aot_signers = 1;
    corral_host_t *h = NULL;
    REQUIRE(corral_host_new(&cfg, &h, &err) == CORRAL_OK);
    REQUIRE(corral_host_start(h, &err) == CORRAL_OK);

    /* accepted: signed by an allowed signer, from outside the cache (no engine given: aot) */
    run_case(h, good, CORRAL_HOST_ENGINE_DEFAULT, "aot", "running on native code (artifact");
    CHECK(log_has("signed by an allowed signer"));
    run_case(h, good, CORRAL_HOST_ENGINE_AUTO, "aot", "signed by an allowed signer");

    /* every tamper: interpreter, the exact reason once */
    snprintf(why, sizeof why, "native code not used (AOT artifact %s: the signature by %s does not verify", t, op_pub);
    long at = find_in(good, "\ncompiler ");
    REQUIRE(at > 0);
    REQUIRE(tampered(good, t, at + 12)); /* a header field */
    run_case(h, t, CORRAL_HOST_ENGINE_AOT, "interp", why);
    at = find_in(good, "\nmodule-sha256 ");
    REQUIRE(tampered(good, t, at + 20)); /* the recorded hash */
    run_case(h, t, CORRAL_HOST_ENGINE_AOT, "interp", why);
    REQUIRE(tampered(good, t, -1000)); /* an ELF byte */
    run_case(h, t, CORRAL_HOST_ENGINE_AOT, "interp", why);
    REQUIRE(tampered(good, t, -1)); /* the last ELF byte */
    run_case(h, t, CORRAL_HOST_ENGINE_AOT, "interp", why);
    at = find_in(good, "\nsignature ");
    REQUIRE(at > 0);
    { /* a signature digit: still lowercase hex, another value */
        corral_buf_t b = {0};
        REQUIRE(corral_file_read(good, 0, &b, NULL) == CORRAL_OK);
        uint8_t *d = b.data + at + 11 + 40;
        *d = *d == '0' ? '7' : '0';
        REQUIRE(corral_file_write(t, b.data, b.len, 0600, NULL) == CORRAL_OK);
        corral_buf_free(&b);
    }
    run_case(h, t, CORRAL_HOST_ENGINE_AOT, "interp", why);
    at = find_in(good, "\nsigner ");
    REQUIRE(at > 0);
    REQUIRE(tampered(good, t, at + 8 + 30)); /* the signer's key text: checksum breaks */
    run_case(h, t, CORRAL_HOST_ENGINE_AOT, "interp", "native code not used (AOT artifact");

    /* a signer the host does not allow */
    snprintf(why, sizeof why, "AOT artifact %s is signed by %s, which is not an allowed artifact signer", wrong,
             acct_pub);
    run_case(h, wrong, CORRAL_HOST_ENGINE_AOT, "interp", why);
    /* unsigned outside the cache */
    snprintf(why, sizeof why, "AOT artifact %s is not signed (outside the host's own cache", unsig);
    run_case(h, unsig, CORRAL_HOST_ENGINE_AUTO, "interp", why);
    /* signed, but another module's */
    snprintf(why, sizeof why, "AOT artifact %s is for module ", other);
    run_case(h, other, CORRAL_HOST_ENGINE_AOT, "interp", why);
    CHECK(log_has(", not ") && log_has("running on the interpreter"));
    /* signed, but another ABI */
    snprintf(why, sizeof why, "AOT artifact %s was built for ABI 9, this host runs ABI %u", abi, corral_aot_abi());
    run_case(h, abi, CORRAL_HOST_ENGINE_AOT, "interp", why);
    /* the engine says interp: the artifact is not even read */
    snprintf(why, sizeof why, "artifact %s not used: the engine is interp", good);
    log_reset();
    corral_host_actor_opts_t o;
    memset(&o, 0, sizeof o);
    o.artifact = good;
    o.engine = CORRAL_HOST_ENGINE_INTERP;
    corral_host_actor_info_t ai;
    REQUIRE(corral_host_actor_start_file(h, CORRAL_GUEST_DIR "/echo.wasm", &o, &ai, &err) == CORRAL_OK);
    CHECK_EQ_STR(inv_engine(h), "interp");
    CHECK_EQ_INT(count_of(why), 1);
    CHECK(echo_once(h, ai.key));
    CHECK_EQ_INT(corral_host_actor_stop(h, ai.key, NULL, &err), CORRAL_OK);
    /* an unsigned artifact in the host's own cache is the host's own */
    char cachedir[4096];
    REQUIRE(corral_aot_cache_dir(cachedir, sizeof cachedir, &err) == CORRAL_OK);
    snprintf(incache, sizeof incache, "%s/prebuilt.caot", cachedir);
    REQUIRE(copy_file(unsig, incache));
    run_case(h, incache, CORRAL_HOST_ENGINE_AOT, "aot", "in the host's cache");
    /* a symlink in the cache to an artifact elsewhere is judged where it points */
    snprintf(incache, sizeof incache, "%s/link.caot", cachedir);
    REQUIRE(symlink(unsig, incache) == 0);
    run_case(h, incache, CORRAL_HOST_ENGINE_AOT, "interp", "is not signed (outside the host's own cache");
    CHECK(log_has(incache));
    corral_host_free(h);

    /* a host allowing nobody says so */
    cfg.aot_signers = NULL;
    cfg.n_aot_signers = 0;
    REQUIRE(corral_host_new(&cfg, &h, &err) == CORRAL_OK);
    REQUIRE(corral_host_start(h, &err) == CORRAL_OK);
    run_case(h, good, CORRAL_HOST_ENGINE_AOT, "interp", "(this host allows none: corral up --aot-signer)");
    corral_host_free(h);
    /* only operator and account keys can be allowed */
    char mod_pub[CORRAL_NKEY_PUBLIC_LEN + 1];
    corral_nkey_public_str(&mod, mod_pub);
    const char *bad[] = {mod_pub};
    cfg.aot_signers = bad;
    cfg.n_aot_signers = 1;
    CHECK_EQ_INT(corral_host_new(&cfg, &h, &err), CORRAL_ERR_KEY_TYPE);
    CHECK(h == NULL);
    CHECK(strstr(corral_err_msg(&err), "AOT artifact signer #1") != NULL);

    corral_log_set_sink(NULL, NULL);
    corral_nkey_wipe(&op);
    corral_nkey_wipe(&acct);
    corral_nkey_wipe(&mod);
    unsetenv("CORRAL_AOT_CACHE");
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* ---- updates keep the tier ------------------------------------------------------------------- */

/* echo.wasm signed with the given keys and revision. The claims are not part
 * of the module hash, so each revision also gets a custom section of its own:
 * a new hash, so a new artifact (the code itself stays echo). */
static int signed_echo(const corral_nkey_t *acct, const corral_nkey_t *mod, int64_t rev, corral_buf_t *out) {
    corral_buf_t w = {0};
    corral_err_t err;
    corral_err_clear(&err);
    corral_claims_sign_opts_t o = {0};
    o.name = "echo";
    o.rev = rev;
    o.ver = "0.1.0";
    const uint8_t sec[] = {0, 5, 3, 'r', 'e', 'v', (uint8_t)rev};
    int ok = corral_file_read(CORRAL_GUEST_DIR "/echo.wasm", 0, &w, &err) == CORRAL_OK &&
             corral_buf_append(&w, sec, sizeof sec) == CORRAL_OK &&
             corral_claims_sign_module(w.data, w.len, &o, acct, mod, out, NULL, &err) == CORRAL_OK;
    if (!ok) fprintf(stderr, "  sign: %s\n", corral_err_msg(&err));
    corral_buf_free(&w);
    return ok;
}

typedef struct caller {
    corral_host_t *h;
    const char *key;
    atomic_int stop;
    atomic_long calls, failed;
} caller_t;

static void *caller_main(void *arg) {
    caller_t *c = arg;
    while (!atomic_load(&c->stop)) {
        atomic_fetch_add(&c->calls, 1);
        if (!echo_once(c->h, c->key)) atomic_fetch_add(&c->failed, 1);
    }
    return NULL;
}

/* An actor started on AOT is updated onto native code of the new revision
 * (compiled before the swap); one started on AUTO is updated onto the
 * interpreter at once and swapped to native code again in the background,
 * while a thread keeps calling it: no call fails. */
TEST(update_keeps_the_tier) {
    char dir[256], cdir[300], ddir[300];
    snprintf(dir, sizeof dir, "/tmp/corral-test-aot-upd-%ld", (long)getpid());
    snprintf(cdir, sizeof cdir, "%s/cache", dir);
    snprintf(ddir, sizeof ddir, "%s/data", dir);
    REQUIRE(mkdir(dir, 0700) == 0);
    setenv("CORRAL_AOT_CACHE", cdir, 1);
    corral_log_set_sink(sink, NULL);
    corral_nkey_t acct, mod;
    REQUIRE(corral_nkey_generate(CORRAL_NKEY_ACCOUNT, &acct, NULL) == CORRAL_OK);
    REQUIRE(corral_nkey_generate(CORRAL_NKEY_MODULE, &mod, NULL) == CORRAL_OK);
    corral_buf_t v[4] = {{0}};
    for (int i = 1; i <= 3; i++) REQUIRE(signed_echo(&acct, &mod, i, &v[i]));

    corral_host_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = ddir;
    cfg.no_builtins = 1;
    corral_err_t err;
    corral_err_clear(&err);
    corral_host_t *h = NULL;
    REQUIRE(corral_host_new(&cfg, &h, &err) == CORRAL_OK);
    REQUIRE(corral_host_start(h, &err) == CORRAL_OK);
    corral_host_actor_opts_t o;
    memset(&o, 0, sizeof o);
    corral_host_actor_info_t ai;

    /* AOT: rev 1 compiled at start, rev 2 compiled by the update */
    o.engine = CORRAL_HOST_ENGINE_AOT;
    log_reset();
    REQUIRE(corral_host_actor_start(h, v[1].data, v[1].len, &o, &ai, &err) == CORRAL_OK);
    CHECK_EQ_STR(inv_engine(h), "aot");
    corral_host_update_result_t r;
    log_reset();
    CHECK_EQ_INT(corral_host_actor_update(h, ai.key, v[2].data, v[2].len, &r, &err), CORRAL_OK);
    CHECK_EQ_INT(r.new_rev, 2);
    CHECK_EQ_STR(inv_engine(h), "aot");
    CHECK_EQ_INT(count_of("running on native code"), 1);
    CHECK(echo_once(h, ai.key));
    CHECK_EQ_INT(corral_host_actor_stop(h, ai.key, NULL, &err), CORRAL_OK);

    /* AUTO: rev 2 is cached by now, so it starts on native code; rev 3 is
     * not: the update runs it on the interpreter, then native again */
    o.engine = CORRAL_HOST_ENGINE_AUTO;
    log_reset();
    REQUIRE(corral_host_actor_start(h, v[2].data, v[2].len, &o, &ai, &err) == CORRAL_OK);
    CHECK_EQ_STR(inv_engine(h), "aot");
    CHECK(log_has("running on native code (cached artifact)"));
    caller_t c = {.h = h, .key = ai.key};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, caller_main, &c) == 0);
    log_reset();
    CHECK_EQ_INT(corral_host_actor_update(h, ai.key, v[3].data, v[3].len, &r, &err), CORRAL_OK);
    CHECK_EQ_INT(r.new_rev, 3);
    CHECK(log_has("compiling to native code in the background"));
    if (!log_has("compiling to native code in the background")) fprintf(stderr, "  log:\n%s", logbuf);
    uint64_t t0 = corral_now_ns();
    while (!log_has("now running on native code") && !log_has("stays on the interpreter") &&
           corral_now_ns() - t0 < 240ull * 1000000000ull) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    CHECK(log_has("now running on native code (live swap)"));
    CHECK_EQ_STR(inv_engine(h), "aot");
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL);
    atomic_store(&c.stop, 1);
    pthread_join(t, NULL);
    CHECK(atomic_load(&c.calls) > 10);
    CHECK_EQ_INT(atomic_load(&c.failed), 0);

    /* INTERP: an update never mentions native code */
    CHECK_EQ_INT(corral_host_actor_stop(h, ai.key, NULL, &err), CORRAL_OK);
    o.engine = CORRAL_HOST_ENGINE_INTERP;
    REQUIRE(corral_host_actor_start(h, v[1].data, v[1].len, &o, &ai, &err) == CORRAL_OK);
    log_reset();
    CHECK_EQ_INT(corral_host_actor_update(h, ai.key, v[3].data, v[3].len, &r, &err), CORRAL_OK);
    CHECK_EQ_STR(inv_engine(h), "interp");
    CHECK(!log_has("native"));
    CHECK(echo_once(h, ai.key));

    corral_host_free(h);
    corral_log_set_sink(NULL, NULL);
    for (int i = 1; i <= 3; i++) corral_buf_free(&v[i]);
    corral_nkey_wipe(&acct);
    corral_nkey_wipe(&mod);
    unsetenv("CORRAL_AOT_CACHE");
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

TEST_MAIN(TEST_ENTRY(auto_swaps_live_and_caches), TEST_ENTRY(signed_artifacts), TEST_ENTRY(update_keeps_the_tier))

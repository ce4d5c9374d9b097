/*
 * test_aot_host.c - the host's engine choice (corral_host_engine_t) with the
 * AOT tier: with AUTO an actor starts at once on the interpreter, the host
 * compiles it in the background and swaps it onto native code between calls
 * while another thread keeps calling it (no call may fail), the artifact
 * lands in the (owner-only) cache, and the next host starts the actor
 * straight on native code. A cache directory others can write is refused
 * and the actor runs on the interpreter, saying so in the log.
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

TEST_MAIN(TEST_ENTRY(auto_swaps_live_and_caches))

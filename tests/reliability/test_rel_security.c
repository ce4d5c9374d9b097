/*
 * test_rel_security.c - security checks through the host runtime (issue 7):
 *   - the tamper matrix (code changed, signature changed, claims changed,
 *     token removed, two tokens, expired, not yet valid) refused with its
 *     own code by corral_host_actor_start AND by a live update, after which
 *     the running version still answers;
 *   - a revoked module key / jti and an issuer not on the allowed list,
 *     refused at start and at update;
 *   - update with another subject or a rev not greater refused;
 *   - the control socket: directory 0700, socket 0600, and a client running
 *     as `nobody` refused both by the file modes and, with the modes opened
 *     up, by the SO_PEERCRED uid check (root only; skipped otherwise);
 *   - no seed used by the test ever appears in a log line (every line at
 *     TRACE is captured) or an error message.
 */
#include <pthread.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "rel_util.h"

/* ---- every log line, for the seed check ---------------------------------------------- */
/* Plain libc buffers: they outlive single tests, which the harness's
 * corral_malloc leak check would count against them. */
typedef struct text {
    char *data;
    size_t len, cap;
} text_t;
static text_t logs_, errs_;
static pthread_mutex_t log_mu_ = PTHREAD_MUTEX_INITIALIZER;

static void text_add(text_t *t, const char *s) {
    size_t n = strlen(s);
    if (t->len + n + 1 > t->cap) {
        size_t c = (t->cap ? t->cap * 2 : 4096) + n;
        char *d = realloc(t->data, c);
        if (!d) return;
        t->data = d;
        t->cap = c;
    }
    memcpy(t->data + t->len, s, n + 1);
    t->len += n;
}

static void sink(corral_log_level_t level, const char *component, const char *msg, void *user) {
    (void)user, (void)level;
    pthread_mutex_lock(&log_mu_);
    text_add(&logs_, component);
    text_add(&logs_, ": ");
    text_add(&logs_, msg);
    text_add(&logs_, "\n");
    pthread_mutex_unlock(&log_mu_);
}

static void note_err(const corral_err_t *e) {
    text_add(&errs_, corral_err_msg(e));
    text_add(&errs_, "\n");
}

/* ---- signing ------------------------------------------------------------------------- */

static int sign_echo(const test_keys_t *k, int64_t rev, int64_t exp, int64_t nbf,
                     corral_buf_t *out) {
    corral_buf_t w = {0};
    if (!read_guest("rel_echo", &w)) return 0;
    corral_claims_sign_opts_t o = {0};
    o.name = "echo";
    o.call_alias = "echo";
    o.rev = rev;
    o.exp = exp;
    o.nbf = nbf;
    corral_err_t err;
    int ok = corral_claims_sign_module(w.data, w.len, &o, &k->account, &k->module, out, NULL,
                                       &err) == CORRAL_OK;
    corral_buf_free(&w);
    return ok;
}

/* The tampered variants of a signed module. */
enum { T_CODE, T_SIG, T_CLAIMS, T_STRIP, T_TWO, T_EXPIRED, T_NBF, T_COUNT };
static const char *const tname_[] = {"code changed",    "signature changed", "claims changed",
                                     "token removed",   "two tokens",        "expired",
                                     "not yet valid"};

static int tamper(int t, const test_keys_t *k, int64_t rev, corral_buf_t *out) {
    corral_buf_t s = {0};
    int64_t now = corral_unix_time();
    if (!sign_echo(k, rev, t == T_EXPIRED ? now - 100 : 0, t == T_NBF ? now + 3600 : 0, &s))
        return 0;
    if (t == T_EXPIRED || t == T_NBF) {
        *out = s;
        return 1;
    }
    const uint8_t *tok;
    size_t tl;
    if (corral_claims_find_token(s.data, s.len, &tok, &tl, NULL) != CORRAL_OK) return 0;
    char *copy = corral_strndup((const char *)tok, tl);
    int ok = 1;
    if (t == T_CODE) {
        /* flip a byte of the code section's body */
        corral_claims_scan_t sc;
        corral_claims_section_t sec;
        int more = 1;
        corral_claims_scan_init(&sc, s.data, s.len, NULL);
        while (corral_claims_scan_next(&sc, &sec, &more, NULL) == CORRAL_OK && more)
            if (sec.id == 10) s.data[sec.end - 2] ^= 0x01;
        ok = corral_buf_append(out, s.data, s.len) == CORRAL_OK;
    } else if (t == T_SIG || t == T_CLAIMS) {
        char *d1 = strchr(copy, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
        char *c = t == T_SIG ? d2 + 10 : d1 + 20;
        *c = *c == 'A' ? 'B' : 'A';
        ok = corral_claims_embed(s.data, s.len, copy, tl, CORRAL_CLAIMS_SECTION_JWT, out, NULL) ==
             CORRAL_OK;
    } else if (t == T_STRIP) {
        ok = corral_claims_strip(s.data, s.len, out, NULL) == CORRAL_OK;
    } else if (t == T_TWO) {
        /* append a second `wasmcloud_jwt` section with the same token */
        corral_buf_append(out, s.data, s.len);
        uint8_t hdr[8];
        size_t body = 1 + 13 + tl, n = 0;
        hdr[n++] = 0;
        for (size_t v = body;; ) { /* LEB128 */
            uint8_t b = v & 0x7f;
            v >>= 7;
            hdr[n++] = b | (v ? 0x80 : 0);
            if (!v) break;
        }
        hdr[n++] = 13;
        corral_buf_append(out, hdr, n);
        corral_buf_append(out, "wasmcloud_jwt", 13);
        corral_buf_append(out, copy, tl);
    }
    corral_free(copy);
    corral_buf_free(&s);
    return ok;
}

static const corral_status_t want_[] = {
    CORRAL_ERR_HASH_MISMATCH,  CORRAL_ERR_TOKEN_SIGNATURE, CORRAL_ERR_TOKEN_SIGNATURE,
    CORRAL_ERR_NO_TOKEN,       CORRAL_ERR_MULTIPLE_TOKENS, CORRAL_ERR_TOKEN_EXPIRED,
    CORRAL_ERR_TOKEN_NOT_YET_VALID,
};

/* A changed character of the claims segment either breaks its JSON (stage
 * 1, TOKEN_MALFORMED) or its signature (stage 3): both are the right
 * refusal. Everything else must be exactly the expected code. */
static int same_stage(corral_status_t got, corral_status_t want) {
    if (got == want) return 1;
    return want == CORRAL_ERR_TOKEN_SIGNATURE && got == CORRAL_ERR_TOKEN_MALFORMED;
}

static int64_t rev_of(corral_host_t *h) {
    corral_host_actor_stats_t s;
    if (corral_host_actor_stats(h, "echo", &s, NULL) != CORRAL_OK) return -1;
    return s.rev;
}

static int echo_ok(corral_host_t *h) {
    corral_buf_t r = {0};
    corral_err_t e;
    int ok = call_text(h, "echo", "x", "hi", &r, &e) == CORRAL_OK && r.len == 2;
    corral_buf_free(&r);
    return ok;
}

TEST(tamper_matrix_start_and_update) {
    char dir[64];
    REQUIRE(tmpdir(dir));
    corral_host_t *h = start_host(dir, 0, NULL);
    corral_log_set_level(CORRAL_LOG_TRACE);
    REQUIRE(h);
    test_keys_t k;
    keys_new(&k);
    corral_err_t err;
    for (int t = 0; t < T_COUNT; t++) {
        corral_buf_t m = {0};
        REQUIRE(tamper(t, &k, 1, &m));
        corral_err_clear(&err);
        corral_status_t st = corral_host_actor_start(h, m.data, m.len, NULL, NULL, &err);
        note_err(&err);
        fprintf(stderr, "  start, %s: %s: %s\n", tname_[t], corral_status_name(st),
                corral_err_msg(&err));
        CHECK(same_stage(st, want_[t]));
        corral_buf_free(&m);
    }
    /* rev 1 runs; every tampered rev 2 is refused by update with its code */
    corral_buf_t v1 = {0};
    REQUIRE(sign_echo(&k, 1, 0, 0, &v1));
    REQUIRE(corral_host_actor_start(h, v1.data, v1.len, NULL, NULL, &err) == CORRAL_OK);
    for (int t = 0; t < T_COUNT; t++) {
        corral_buf_t m = {0};
        REQUIRE(tamper(t, &k, 2, &m));
        corral_err_clear(&err);
        corral_status_t st = corral_host_actor_update(h, "echo", m.data, m.len, NULL, &err);
        note_err(&err);
        fprintf(stderr, "  update, %s: %s: %s\n", tname_[t], corral_status_name(st),
                corral_err_msg(&err));
        CHECK(same_stage(st, want_[t]));
        CHECK_EQ_INT(rev_of(h), 1);
        CHECK(echo_ok(h));
        corral_buf_free(&m);
    }
    /* another subject, and a rev not greater */
    test_keys_t k2;
    keys_new(&k2);
    k2.account = k.account; /* same issuer, other module key */
    corral_buf_t other = {0}, same = {0};
    REQUIRE(sign_echo(&k2, 5, 0, 0, &other));
    REQUIRE(sign_echo(&k, 1, 0, 0, &same));
    CHECK_EQ_INT(corral_host_actor_update(h, "echo", other.data, other.len, NULL, &err),
                 CORRAL_ERR_UPDATE_REFUSED);
    note_err(&err);
    CHECK_EQ_INT(corral_host_actor_update(h, "echo", same.data, same.len, NULL, &err),
                 CORRAL_ERR_UPDATE_REFUSED);
    note_err(&err);
    CHECK_EQ_INT(rev_of(h), 1);
    CHECK(echo_ok(h));
    corral_nkey_wipe(&k2.module);
    corral_buf_free(&other);
    corral_buf_free(&same);
    corral_buf_free(&v1);
    keys_wipe(&k);
    corral_host_free(h);
    rmtree(dir);
}

/* A host with a revocation list and / or an allowed-issuer list. */
static corral_host_t *host_with(const char *dir, const char *const *revoked, size_t nrev,
                                const char *const *allowed, size_t nallowed) {
    char data[128];
    snprintf(data, sizeof data, "%s/data", dir);
    corral_host_config_t cfg = {0};
    cfg.data_dir = data;
    cfg.health_interval_ms = CORRAL_HOST_HEALTH_OFF;
    cfg.revoked = revoked;
    cfg.n_revoked = nrev;
    cfg.allowed_issuers = allowed;
    cfg.n_allowed_issuers = nallowed;
    corral_host_t *h = NULL;
    if (corral_host_new(&cfg, &h, NULL) != CORRAL_OK) return NULL;
    if (corral_host_start(h, NULL) != CORRAL_OK) {
        corral_host_free(h);
        return NULL;
    }
    return h;
}

static char *jti_of(const corral_buf_t *m) {
    corral_claims_t *c = NULL;
    if (corral_claims_read_module(m->data, m->len, &c, NULL) != CORRAL_OK) return NULL;
    char *j = corral_strdup(c->jti);
    corral_claims_free(c);
    return j;
}

TEST(revoked_and_issuers_at_start_and_update) {
    char dir[64];
    REQUIRE(tmpdir(dir));
    test_keys_t k, other;
    keys_new(&k);
    keys_new(&other);
    char acct[CORRAL_NKEY_PUBLIC_LEN + 1], acct2[CORRAL_NKEY_PUBLIC_LEN + 1];
    corral_nkey_public_str(&k.account, acct);
    corral_nkey_public_str(&other.account, acct2);
    corral_buf_t v1 = {0}, v2 = {0}, v2_other_issuer = {0};
    REQUIRE(sign_echo(&k, 1, 0, 0, &v1));
    REQUIRE(sign_echo(&k, 2, 0, 0, &v2));
    test_keys_t mixed = other;
    mixed.module = k.module; /* same actor, signed by another account */
    REQUIRE(sign_echo(&mixed, 2, 0, 0, &v2_other_issuer));
    char *jti1 = jti_of(&v1), *jti2 = jti_of(&v2);
    REQUIRE(jti1 && jti2);
    corral_err_t err;

    /* start: revoked module key, revoked jti, issuer not allowed */
    const char *rk[] = {k.module_key};
    const char *rj[] = {jti1};
    const char *al[] = {acct2};
    corral_host_t *h = host_with(dir, rk, 1, NULL, 0);
    REQUIRE(h);
    CHECK_EQ_INT(corral_host_actor_start(h, v1.data, v1.len, NULL, NULL, &err), CORRAL_ERR_REVOKED);
    note_err(&err);
    corral_host_free(h);
    h = host_with(dir, rj, 1, NULL, 0);
    REQUIRE(h);
    CHECK_EQ_INT(corral_host_actor_start(h, v1.data, v1.len, NULL, NULL, &err), CORRAL_ERR_REVOKED);
    note_err(&err);
    corral_host_free(h);
    h = host_with(dir, NULL, 0, al, 1);
    REQUIRE(h);
    CHECK_EQ_INT(corral_host_actor_start(h, v1.data, v1.len, NULL, NULL, &err),
                 CORRAL_ERR_ISSUER_NOT_ALLOWED);
    note_err(&err);
    corral_host_free(h);

    /* update: rev 2's jti revoked; rev 2 from an issuer not allowed */
    const char *rj2[] = {jti2};
    h = host_with(dir, rj2, 1, NULL, 0);
    REQUIRE(h);
    CHECK_EQ_INT(corral_host_actor_start(h, v1.data, v1.len, NULL, NULL, &err), CORRAL_OK);
    CHECK_EQ_INT(corral_host_actor_update(h, "echo", v2.data, v2.len, NULL, &err),
                 CORRAL_ERR_REVOKED);
    note_err(&err);
    CHECK_EQ_INT(rev_of(h), 1);
    CHECK(echo_ok(h));
    corral_host_free(h);
    const char *al1[] = {acct};
    h = host_with(dir, NULL, 0, al1, 1);
    REQUIRE(h);
    CHECK_EQ_INT(corral_host_actor_start(h, v1.data, v1.len, NULL, NULL, &err), CORRAL_OK);
    CHECK_EQ_INT(corral_host_actor_update(h, "echo", v2_other_issuer.data, v2_other_issuer.len,
                                          NULL, &err),
                 CORRAL_ERR_ISSUER_NOT_ALLOWED);
    note_err(&err);
    CHECK_EQ_INT(rev_of(h), 1);
    CHECK_EQ_INT(corral_host_actor_update(h, "echo", v2.data, v2.len, NULL, &err), CORRAL_OK);
    CHECK_EQ_INT(rev_of(h), 2);
    corral_host_free(h);

    corral_free(jti1);
    corral_free(jti2);
    corral_buf_free(&v1);
    corral_buf_free(&v2);
    corral_buf_free(&v2_other_issuer);
    keys_wipe(&k);
    keys_wipe(&other);
    rmtree(dir);
}

/* Runs `inventory` on the socket as uid/gid 65534 in a child: returns 0
 * when the child could not connect, 1 when refused after connecting (no
 * reply or ok:false), 2 when the command was served. */
static int as_nobody(const char *sock) {
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(9);
        int fd = ctl_connect(sock);
        if (fd < 0) _exit(0);
        corral_buf_t r = {0};
        int got = ctl_roundtrip(fd, "{\"op\":\"inventory\"}", &r);
        int served = got && r.data && strstr((char *)r.data, "\"ok\": true") ;
        served = served || (got && r.data && strstr((char *)r.data, "\"ok\":true"));
        _exit(served ? 2 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 9;
}

TEST(control_socket_owner_only) {
    char dir[64], run[128];
    REQUIRE(tmpdir(dir));
    corral_host_t *h = start_host(dir, 0, NULL);
    REQUIRE(h);
    snprintf(run, sizeof run, "%s/run", dir);
    corral_err_t err;
    REQUIRE(corral_host_control_start(h, run, &err) == CORRAL_OK);
    const char *sock = corral_host_control_path(h);
    struct stat st;
    REQUIRE(stat(run, &st) == 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0700);
    REQUIRE(stat(sock, &st) == 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0600);
    /* the owner is served */
    int fd = ctl_connect(sock);
    REQUIRE(fd >= 0);
    corral_buf_t r = {0};
    CHECK(ctl_roundtrip(fd, "{\"op\":\"inventory\"}", &r));
    CHECK(r.data && strstr((char *)r.data, "host_key"));
    corral_buf_free(&r);
    close(fd);
    if (geteuid() == 0) {
        chmod(dir, 0755);
        int a = as_nobody(sock);
        fprintf(stderr, "  figure: nobody with modes as created: %s\n",
                a == 0 ? "cannot connect" : a == 1 ? "refused" : "SERVED");
        CHECK_EQ_INT(a, 0);
        /* open the modes up: the uid check must still refuse */
        chmod(run, 0777);
        chmod(sock, 0777);
        int b = as_nobody(sock);
        fprintf(stderr, "  figure: nobody with modes opened up: %s\n",
                b == 0 ? "cannot connect" : b == 1 ? "refused" : "SERVED");
        CHECK_EQ_INT(b, 1);
    } else {
        fprintf(stderr, "  (not root: the other-uid client is not tried)\n");
    }
    corral_host_free(h);
    rmtree(dir);
}

/* Runs last: no seed appears in any log line or error message captured by
 * the tests above. Any run of 58 base32 characters starting with 'S' and a
 * key type letter that decodes as a seed counts (so every seed of every key
 * the tests made, and any other). */
static int looks_like_seed(const char *s, size_t n) {
    static const char types[] = "AMNCOUV";
    for (size_t i = 0; i + 58 <= n; i++) {
        if (s[i] != 'S' || !strchr(types, s[i + 1]) || !s[i + 1]) continue;
        if (i > 0 && ((s[i - 1] >= 'A' && s[i - 1] <= 'Z') || (s[i - 1] >= '2' && s[i - 1] <= '7')))
            continue;
        size_t j = i;
        while (j < n && ((s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= '2' && s[j] <= '7'))) j++;
        if (j - i != 58) continue;
        corral_nkey_t k;
        char text[59];
        memcpy(text, s + i, 58);
        text[58] = 0;
        int ok = 0;
        if (corral_nkey_from_seed(text, CORRAL_NKEY_ANY, &k, NULL) == CORRAL_OK) {
            ok = 1;
            corral_nkey_wipe(&k);
        }
        corral_nkey_wipe_text(text, sizeof text);
        if (ok) return 1;
    }
    return 0;
}

TEST(no_seed_in_logs_or_errors) {
    CHECK(logs_.len > 0);
    CHECK(errs_.len > 0);
    CHECK(!looks_like_seed(logs_.data, logs_.len));
    CHECK(!looks_like_seed(errs_.data, errs_.len));
    /* the detector itself works */
    corral_nkey_t k;
    char seed[CORRAL_NKEY_SEED_LEN + 1];
    corral_nkey_generate(CORRAL_NKEY_ACCOUNT, &k, NULL);
    corral_nkey_seed_str(&k, seed, NULL);
    char line[128];
    snprintf(line, sizeof line, "x %s y", seed);
    CHECK(looks_like_seed(line, strlen(line)));
    corral_nkey_wipe_text(seed, sizeof seed);
    corral_nkey_wipe_text(line, sizeof line);
    corral_nkey_wipe(&k);
    fprintf(stderr, "  figure: %zu bytes of log lines and %zu bytes of error messages scanned\n",
            logs_.len, errs_.len);
    corral_log_set_sink(NULL, NULL);
    free(logs_.data);
    free(errs_.data);
    memset(&logs_, 0, sizeof logs_);
    memset(&errs_, 0, sizeof errs_);
}

static int install_sink(void) {
    corral_log_set_sink(sink, NULL);
    return 1;
}

TEST(setup_log_capture) { CHECK(install_sink()); }

TEST_MAIN(TEST_ENTRY(setup_log_capture), TEST_ENTRY(tamper_matrix_start_and_update),
          TEST_ENTRY(revoked_and_issuers_at_start_and_update), TEST_ENTRY(control_socket_owner_only),
          TEST_ENTRY(no_seed_in_logs_or_errors))

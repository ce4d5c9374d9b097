/*
 * test_host.c - host tests that need no guest running: lifecycle, built-in
 * providers, providers and kept links, claims refusals at start, the
 * control protocol (exec and over the socket), socket permissions and peer
 * handling, stop requests.
 */
#include <jansson.h>
#include <pthread.h>
#include <sys/stat.h>

#include "host_test_util.h"

static json_t *exec_json(corral_host_t *h, const char *req) {
    char *reply = NULL;
    if (corral_host_control_exec(h, req, strlen(req), &reply) != CORRAL_OK) return NULL;
    json_t *j = json_loads(reply, 0, NULL);
    corral_free(reply);
    return j;
}

static int reply_ok(json_t *r) {
    return r && json_is_true(json_object_get(r, "ok"));
}

static const char *reply_code(json_t *r) {
    return r ? json_string_value(json_object_get(r, "code")) : NULL;
}

static const char *reply_error(json_t *r) {
    return r ? json_string_value(json_object_get(r, "error")) : NULL;
}

static json_t *result(json_t *r) {
    return json_object_get(r, "result");
}

TEST(lifecycle_and_builtins) {
    char dir[64];
    REQUIRE(tmpdir(dir));
    corral_host_t *h = start_host(dir, 0, NULL);
    REQUIRE(h);
    const char *key = corral_host_key(h);
    CHECK_EQ_INT(strlen(key), 56);
    CHECK(key[0] == 'N');
    CHECK(corral_nkey_from_public(key, CORRAL_NKEY_SERVER, NULL, NULL) == CORRAL_OK);
    char *inv = NULL;
    REQUIRE(corral_host_inventory(h, &inv, NULL) == CORRAL_OK);
    json_t *j = json_loads(inv, 0, NULL);
    corral_free(inv);
    REQUIRE(j);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "host_key")), key);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(j, "labels"), "region")), "test");
    CHECK(json_is_integer(json_object_get(j, "uptime_s")));
    CHECK_EQ_INT(json_array_size(json_object_get(j, "actors")), 0);
    json_t *provs = json_object_get(j, "providers");
    CHECK_EQ_INT(json_array_size(provs), 2);
    int logging = 0, numbergen = 0;
    for (size_t i = 0; i < json_array_size(provs); i++) {
        json_t *p = json_array_get(provs, i);
        const char *c = json_string_value(json_object_get(p, "contract_id"));
        const char *k = json_string_value(json_object_get(p, "key"));
        CHECK(k && k[0] == 'V' && strlen(k) == 56);
        CHECK_EQ_STR(json_string_value(json_object_get(p, "link_name")), "default");
        logging += c && strcmp(c, "wasmcloud:logging") == 0;
        numbergen += c && strcmp(c, "wasmcloud:builtin:numbergen") == 0;
    }
    CHECK_EQ_INT(logging, 1);
    CHECK_EQ_INT(numbergen, 1);
    json_decref(j);
    /* a host starts once */
    corral_err_t err;
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_start(h, &err), CORRAL_ERR_STATE);
    corral_host_stop(h);
    corral_host_stop(h); /* twice is fine */
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_call(h, "x", "echo", NULL, 0, NULL, &err), CORRAL_ERR_STATE);
    CHECK_CONTAINS(err.msg, "stopping");
    corral_host_free(h);
    rmtree(dir);
}

TEST(bad_config) {
    const char *issuers[] = {"not-a-key"};
    corral_host_config_t cfg = {0};
    cfg.data_dir = "/tmp";
    cfg.allowed_issuers = issuers;
    cfg.n_allowed_issuers = 1;
    corral_host_t *h = (corral_host_t *)1;
    corral_err_t err;
    corral_err_clear(&err);
    CHECK(corral_host_new(&cfg, &h, &err) != CORRAL_OK);
    CHECK(h == NULL);
    CHECK_CONTAINS(err.msg, "allowed issuer #1 'not-a-key'");
    /* a data dir that cannot be made */
    corral_host_config_t c2 = {0};
    c2.data_dir = "/proc/corral-cannot-exist/data";
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_new(&c2, &h, &err), CORRAL_ERR_IO);
    CHECK_CONTAINS(err.msg, "/proc/corral-cannot-exist");
}

TEST(actor_start_refusals) {
    char dir[64];
    REQUIRE(tmpdir(dir));
    corral_host_t *h = start_host(dir, 0, NULL);
    REQUIRE(h);
    corral_err_t err;
    corral_err_clear(&err);
    static const uint8_t junk[] = "definitely not wasm";
    CHECK_EQ_INT(corral_host_actor_start(h, junk, sizeof junk, NULL, NULL, &err),
                 CORRAL_ERR_NOT_WASM);
    CHECK_CONTAINS(err.msg, "claims verification");
    /* a module without a token */
    static const uint8_t empty[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_actor_start(h, empty, sizeof empty, NULL, NULL, &err),
                 CORRAL_ERR_NO_TOKEN);
    CHECK_CONTAINS(err.msg, "allow_unsigned");
    /* with allow_unsigned it gets past claims, and the module check refuses it */
    corral_host_actor_opts_t o = {.allow_unsigned = 1};
    corral_err_clear(&err);
    corral_status_t st = corral_host_actor_start(h, empty, sizeof empty, &o, NULL, &err);
    CHECK(st != CORRAL_OK && st != CORRAL_ERR_NO_TOKEN);
    CHECK_CONTAINS(err.msg, "not a usable waPC module");
    /* a signed module from an issuer not on the allowed list */
    corral_host_free(h);
    test_keys_t k, other;
    keys_new(&k);
    keys_new(&other);
    char allowed[57];
    corral_nkey_public_str(&other.account, allowed);
    const char *issuers[] = {allowed};
    char data[128];
    snprintf(data, sizeof data, "%s/data", dir);
    corral_host_config_t cfg = {.data_dir = data,
                                .allowed_issuers = issuers,
                                .n_allowed_issuers = 1,
                                .health_interval_ms = CORRAL_HOST_HEALTH_OFF};
    REQUIRE(corral_host_new(&cfg, &h, NULL) == CORRAL_OK);
    REQUIRE(corral_host_start(h, NULL) == CORRAL_OK);
    corral_buf_t wasm = CORRAL_BUF_INIT, signed_ = CORRAL_BUF_INIT;
    corral_buf_append(&wasm, empty, sizeof empty);
    REQUIRE(sign(&wasm, &k, "stranger", NULL, 1, NULL, &signed_));
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_actor_start(h, signed_.data, signed_.len, NULL, NULL, &err),
                 CORRAL_ERR_ISSUER_NOT_ALLOWED);
    /* tampered module: hash mismatch */
    corral_buf_t tampered = CORRAL_BUF_INIT;
    REQUIRE(sign(&wasm, &other, "tampered", NULL, 1, NULL, &tampered));
    /* append an unrelated custom section after signing: changes the hash */
    static const uint8_t extra[] = {0, 4, 1, 'x', 'y', 'z'};
    corral_buf_append(&tampered, extra, sizeof extra);
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_actor_start(h, tampered.data, tampered.len, NULL, NULL, &err),
                 CORRAL_ERR_HASH_MISMATCH);
    corral_buf_free(&wasm);
    corral_buf_free(&signed_);
    corral_buf_free(&tampered);
    keys_wipe(&k);
    keys_wipe(&other);
    corral_host_free(h);
    rmtree(dir);
}

TEST(providers_and_kept_links) {
    char dir[64];
    REQUIRE(tmpdir(dir));
    corral_host_t *h = start_host(dir, 0, NULL);
    REQUIRE(h);
    corral_err_t err;
    corral_err_clear(&err);
    corral_host_provider_opts_t po = {.kind = "no-such-provider"};
    CHECK_EQ_INT(corral_host_provider_start(h, &po, NULL, &err), CORRAL_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "known providers are");
    CHECK_CONTAINS(err.msg, "keyvalue:memory");
    corral_host_provider_opts_t none = {0};
    CHECK_EQ_INT(corral_host_provider_start(h, &none, NULL, &err), CORRAL_ERR_INVALID_ARG);
    /* a configured logging provider replaces the host's built-in one */
    corral_host_provider_info_t info;
    corral_host_provider_opts_t lg = {.kind = "logging"};
    REQUIRE(corral_host_provider_start(h, &lg, &info, &err) == CORRAL_OK);
    char *inv0 = NULL;
    REQUIRE(corral_host_inventory(h, &inv0, NULL) == CORRAL_OK);
    json_t *j0 = json_loads(inv0, 0, NULL);
    corral_free(inv0);
    int nlog = 0;
    for (size_t i = 0; i < json_array_size(json_object_get(j0, "providers")); i++) {
        json_t *p = json_array_get(json_object_get(j0, "providers"), i);
        if (strcmp(json_string_value(json_object_get(p, "contract_id")), "wasmcloud:logging") == 0) {
            nlog++;
            CHECK_EQ_STR(json_string_value(json_object_get(p, "key")), info.key);
        }
    }
    CHECK_EQ_INT(nlog, 1);
    json_decref(j0);
    /* but not a second configured one */
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_provider_start(h, &lg, NULL, &err), CORRAL_ERR_EXISTS);
    corral_host_provider_opts_t kv = {.kind = "keyvalue:memory"};
    REQUIRE(corral_host_provider_start(h, &kv, &info, &err) == CORRAL_OK);
    CHECK_EQ_STR(info.contract_id, "wasmcloud:keyvalue");
    CHECK_EQ_STR(info.link_name, "default");
    CHECK(info.key[0] == 'V');
    /* a second one for the same contract and link name is refused */
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_provider_start(h, &kv, NULL, &err), CORRAL_ERR_EXISTS);
    CHECK_CONTAINS(err.msg, info.key);
    /* a link for an actor that does not run yet is kept (waSCC id accepted) */
    test_keys_t k;
    keys_new(&k);
    corral_host_kv_t vals[] = {{"A", "1"}};
    REQUIRE(corral_host_link_put(h, k.module_key, "wascc:keyvalue", NULL, vals, 1, &err) ==
            CORRAL_OK);
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_link_put(h, "no-such-alias", "wasmcloud:keyvalue", NULL, NULL, 0, &err),
                 CORRAL_ERR_NO_ACTOR);
    char *inv = NULL;
    REQUIRE(corral_host_inventory(h, &inv, NULL) == CORRAL_OK);
    json_t *j = json_loads(inv, 0, NULL);
    corral_free(inv);
    json_t *links = json_object_get(j, "links");
    REQUIRE(json_array_size(links) == 1);
    json_t *l = json_array_get(links, 0);
    CHECK_EQ_STR(json_string_value(json_object_get(l, "actor")), k.module_key);
    CHECK_EQ_STR(json_string_value(json_object_get(l, "contract_id")), "wasmcloud:keyvalue");
    CHECK_EQ_STR(json_string_value(json_object_get(l, "link_name")), "default");
    CHECK(json_is_null(json_object_get(l, "provider"))); /* actor not running: not applied */
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(l, "values"), "A")), "1");
    json_decref(j);
    /* stop the provider: link stays */
    REQUIRE(corral_host_provider_stop(h, info.key, &err) == CORRAL_OK);
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_provider_stop(h, info.key, &err), CORRAL_ERR_NOT_FOUND);
    REQUIRE(corral_host_link_del(h, k.module_key, "wasmcloud:keyvalue", "default", &err) ==
            CORRAL_OK);
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_link_del(h, k.module_key, "wasmcloud:keyvalue", "default", &err),
                 CORRAL_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "no link of actor");
    keys_wipe(&k);
    corral_host_free(h);
    rmtree(dir);
}

TEST(control_exec_errors) {
    char dir[64];
    REQUIRE(tmpdir(dir));
    corral_host_t *h = start_host(dir, 0, NULL);
    REQUIRE(h);
    json_t *r = exec_json(h, "{not json");
    CHECK(!reply_ok(r));
    CHECK_EQ_STR(reply_code(r), "ERR_PARSE");
    CHECK_CONTAINS(reply_error(r), "not valid JSON");
    json_decref(r);
    r = exec_json(h, "[1,2]");
    CHECK_EQ_STR(reply_code(r), "ERR_PARSE");
    json_decref(r);
    r = exec_json(h, "{\"op\":\"frobnicate\"}");
    CHECK_EQ_STR(reply_code(r), "ERR_UNSUPPORTED");
    CHECK_CONTAINS(reply_error(r), "unknown op \"frobnicate\"");
    json_decref(r);
    r = exec_json(h, "{\"nop\":1}");
    CHECK_EQ_STR(reply_code(r), "ERR_INVALID_ARG");
    json_decref(r);
    r = exec_json(h, "{\"op\":\"call\",\"operation\":\"x\"}");
    CHECK_EQ_STR(reply_code(r), "ERR_INVALID_ARG");
    CHECK_CONTAINS(reply_error(r), "call: missing \"actor\"");
    json_decref(r);
    r = exec_json(h, "{\"op\":\"call\",\"actor\":\"ghost\",\"operation\":\"x\"}");
    CHECK_EQ_STR(reply_code(r), "ERR_NO_ACTOR");
    CHECK_CONTAINS(reply_error(r), "'ghost'");
    json_decref(r);
    r = exec_json(h, "{\"op\":\"start_actor\",\"path\":\"relative.wasm\"}");
    CHECK_EQ_STR(reply_code(r), "ERR_INVALID_ARG");
    CHECK_CONTAINS(reply_error(r), "absolute");
    json_decref(r);
    r = exec_json(h, "{\"op\":\"start_actor\",\"path\":\"/nonexistent/a.wasm\"}");
    CHECK_EQ_STR(reply_code(r), "ERR_NOT_FOUND");
    CHECK_CONTAINS(reply_error(r), "/nonexistent/a.wasm");
    json_decref(r);
    r = exec_json(h, "{\"op\":\"start_actor\",\"module_b64\":\"!!!\"}");
    CHECK_EQ_STR(reply_code(r), "ERR_INVALID_ARG");
    json_decref(r);
    r = exec_json(h, "{\"op\":\"start_actor\",\"module_b64\":\"AGFzbQEAAAA=\"}"); /* empty module */
    CHECK_EQ_STR(reply_code(r), "ERR_NO_TOKEN");
    json_decref(r);
    r = exec_json(h, "{\"op\":\"start_actor\",\"module_b64\":\"AGFzbQEAAAA=\",\"max_instances\":-1}");
    CHECK_EQ_STR(reply_code(r), "ERR_INVALID_ARG");
    json_decref(r);
    r = exec_json(h, "{\"op\":\"start_provider\",\"kind\":\"keyvalue\",\"values\":{\"X\":8080}}");
    CHECK_EQ_STR(reply_code(r), "ERR_INVALID_ARG");
    CHECK_CONTAINS(reply_error(r), "values.X must be a string");
    json_decref(r);
    r = exec_json(h, "{\"op\":\"stop_provider\",\"provider\":\"VNOPE\"}");
    CHECK_EQ_STR(reply_code(r), "ERR_NOT_FOUND");
    json_decref(r);
    r = exec_json(h, "{\"op\":\"health\",\"actor\":\"ghost\"}");
    CHECK_EQ_STR(reply_code(r), "ERR_NO_ACTOR");
    json_decref(r);
    r = exec_json(h, "{\"op\":\"update_actor\",\"actor\":\"ghost\",\"module_b64\":\"AGFzbQEAAAA=\"}");
    CHECK(!reply_ok(r));
    json_decref(r);
    /* stop_host replies and requests a stop */
    CHECK_EQ_INT(corral_host_wait(h, 1), 0);
    r = exec_json(h, "{\"op\":\"stop_host\"}");
    CHECK(reply_ok(r));
    CHECK(json_is_object(result(r)));
    json_decref(r);
    CHECK_EQ_INT(corral_host_wait(h, 0), 1);
    corral_host_free(h);
    rmtree(dir);
}

TEST(control_socket) {
    char dir[64];
    REQUIRE(tmpdir(dir));
    corral_host_t *h = start_host(dir, 0, NULL);
    REQUIRE(h);
    char run[128];
    snprintf(run, sizeof run, "%s/run", dir);
    corral_err_t err;
    corral_err_clear(&err);
    REQUIRE(corral_host_control_start(h, run, &err) == CORRAL_OK);
    char path[256];
    snprintf(path, sizeof path, "%s/control.sock", run);
    CHECK_EQ_STR(corral_host_control_path(h), path);
    struct stat st;
    REQUIRE(stat(run, &st) == 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0700);
    REQUIRE(stat(path, &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK_EQ_INT(st.st_mode & 0777, 0600);
    /* a second server on the same dir is refused while the first lives */
    corral_host_t *h2 = start_host(dir, 0, NULL);
    REQUIRE(h2);
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_host_control_start(h2, run, &err), CORRAL_ERR_EXISTS);
    CHECK_CONTAINS(err.msg, "another host is running");
    corral_host_free(h2);

    int fd = ctl_connect(path);
    REQUIRE(fd >= 0);
    corral_buf_t line = CORRAL_BUF_INIT;
    REQUIRE(ctl_roundtrip(fd, "{\"op\":\"inventory\"}", &line));
    json_t *r = json_loads((const char *)line.data, 0, NULL);
    CHECK(reply_ok(r));
    CHECK_EQ_STR(json_string_value(json_object_get(result(r), "host_key")), corral_host_key(h));
    json_decref(r);
    /* several requests on one connection, answered in order */
    REQUIRE(ctl_roundtrip(fd, "{\"op\":\"start_provider\",\"kind\":\"keyvalue:memory\","
                              "\"link_name\":\"cache\"}",
                          &line));
    r = json_loads((const char *)line.data, 0, NULL);
    CHECK(reply_ok(r));
    char pkey[64] = "";
    const char *pk = json_string_value(json_object_get(result(r), "key"));
    if (pk) snprintf(pkey, sizeof pkey, "%s", pk);
    CHECK_EQ_STR(json_string_value(json_object_get(result(r), "link_name")), "cache");
    CHECK_EQ_STR(json_string_value(json_object_get(result(r), "contract_id")), "wasmcloud:keyvalue");
    json_decref(r);
    REQUIRE(ctl_roundtrip(fd, "garbage", &line));
    r = json_loads((const char *)line.data, 0, NULL);
    CHECK_EQ_STR(reply_code(r), "ERR_PARSE");
    json_decref(r);
    char req[256];
    snprintf(req, sizeof req, "{\"op\":\"stop_provider\",\"provider\":\"%s\"}", pkey);
    REQUIRE(ctl_roundtrip(fd, req, &line));
    r = json_loads((const char *)line.data, 0, NULL);
    CHECK(reply_ok(r));
    CHECK_EQ_STR(json_string_value(json_object_get(result(r), "key")), pkey);
    json_decref(r);
    REQUIRE(ctl_roundtrip(fd, "{\"op\":\"stop_host\"}", &line));
    r = json_loads((const char *)line.data, 0, NULL);
    CHECK(reply_ok(r));
    json_decref(r);
    CHECK_EQ_INT(corral_host_wait(h, 5000), 1);
    /* stopping the host closes the connection and removes the socket */
    corral_host_stop(h);
    char c;
    CHECK(read(fd, &c, 1) <= 0);
    close(fd);
    CHECK(stat(path, &st) != 0);
    corral_buf_free(&line);
    corral_host_free(h);
    rmtree(dir);
}

TEST(control_socket_on_unstarted_host) {
    char dir[64];
    REQUIRE(tmpdir(dir));
    char data[128], run[128];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    corral_host_config_t cfg = {.data_dir = data, .run_dir = run};
    corral_host_t *h = NULL;
    REQUIRE(corral_host_new(&cfg, &h, NULL) == CORRAL_OK);
    REQUIRE(corral_host_control_start(h, NULL, NULL) == CORRAL_OK); /* the config's run dir */
    int fd = ctl_connect(corral_host_control_path(h));
    REQUIRE(fd >= 0);
    corral_buf_t line = CORRAL_BUF_INIT;
    CHECK(ctl_roundtrip(fd, "{\"op\":\"start_provider\",\"kind\":\"logging\"}", &line));
    CHECK_CONTAINS((const char *)line.data, "ERR_STATE");
    CHECK_CONTAINS((const char *)line.data, "not started");
    close(fd);
    corral_buf_free(&line);
    corral_host_free(h); /* stops the server too */
    rmtree(dir);
}

TEST(control_socket_stale_and_dir) {
    char dir[64];
    REQUIRE(tmpdir(dir));
    char run[128], path[256];
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(path, sizeof path, "%s/control.sock", run);
    /* a stale socket from a crashed host (bound, never listening) and a loose dir mode */
    REQUIRE(mkdir(run, 0755) == 0);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    REQUIRE(strlen(path) < sizeof sa.sun_path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    REQUIRE(bind(s, (struct sockaddr *)&sa, sizeof sa) == 0);
    close(s);
    corral_host_t *h = start_host(dir, 0, NULL);
    REQUIRE(h);
    corral_err_t err;
    corral_err_clear(&err);
    CHECK(corral_host_control_start(h, run, &err) == CORRAL_OK);
    struct stat st;
    REQUIRE(stat(run, &st) == 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0700);
    int fd = ctl_connect(path);
    CHECK(fd >= 0);
    corral_buf_t line = CORRAL_BUF_INIT;
    CHECK(fd >= 0 && ctl_roundtrip(fd, "{\"op\":\"inventory\"}", &line));
    CHECK_CONTAINS((const char *)line.data, "\"ok\":true");
    if (fd >= 0) close(fd);
    corral_buf_free(&line);
    corral_host_control_stop(h);
    corral_host_control_stop(h);
    CHECK(stat(path, &st) != 0);
    corral_host_free(h);
    rmtree(dir);
}

TEST_MAIN(TEST_ENTRY(lifecycle_and_builtins), TEST_ENTRY(bad_config),
          TEST_ENTRY(actor_start_refusals), TEST_ENTRY(providers_and_kept_links),
          TEST_ENTRY(control_exec_errors), TEST_ENTRY(control_socket),
          TEST_ENTRY(control_socket_on_unstarted_host), TEST_ENTRY(control_socket_stale_and_dir))

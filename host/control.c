/*
 * control.c - the control socket of docs/control.md: one JSON object per line
 * each way over a Unix stream socket <run dir>/control.sock (directory 0700,
 * socket 0600, peers of another uid refused by SO_PEERCRED). Every op maps
 * onto a public corral_host_* function; corral_host_control_exec runs one
 * request without a socket (tests, in-process CLI paths).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "host_int.h"

#define LINE_MAX_BYTES (64u * 1024u * 1024u)

struct control_conn {
    corral_host_t *host;
    int fd;
    pthread_t thread;
    atomic_int done;
    control_conn_t *next;
};

/* ---- base64 (decode; encode is in base) -------------------------------------------------- */

static int b64_val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Standard base64, padding optional. */
static corral_status_t b64_decode(const char *s, size_t n, corral_buf_t *out, const char *what,
                                  corral_err_t *err) {
    while (n && s[n - 1] == '=') n--;
    if (n % 4 == 1)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "\"%s\" is not valid base64 (length)",
                              what);
    if (corral_buf_reserve(out, n / 4 * 3 + 3) != CORRAL_OK)
        return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory decoding \"%s\"", what);
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_val((unsigned char)s[i]);
        if (v < 0)
            return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                  "\"%s\" is not valid base64 (character %zu)", what, i + 1);
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out->data[out->len++] = (uint8_t)(acc >> bits);
        }
    }
    return CORRAL_OK;
}

/* Messages can be cut mid-character when context is prefixed (the error
 * record has a fixed size) and jansson refuses invalid UTF-8: drop a cut
 * character at the end, and turn any other invalid byte into '?'. */
static void utf8_sanitize(char *s) {
    size_t n = strlen(s);
    for (int cut = 0; cut < 4 && n && !corral_utf8_valid((const uint8_t *)s, n); cut++) s[--n] = 0;
    if (!corral_utf8_valid((const uint8_t *)s, n))
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] >= 0x80) s[i] = '?';
}

/* ---- argument helpers ---------------------------------------------------------------------- */

static corral_status_t arg_str(json_t *req, const char *op, const char *key, int required,
                               const char **out, corral_err_t *err) {
    json_t *v = json_object_get(req, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "%s: missing \"%s\"", op, key);
        return CORRAL_OK;
    }
    if (!json_is_string(v))
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "%s: \"%s\" must be a string", op, key);
    *out = json_string_value(v);
    return CORRAL_OK;
}

static corral_status_t arg_uint(json_t *req, const char *op, const char *key, uint64_t *out,
                                corral_err_t *err) {
    json_t *v = json_object_get(req, key);
    if (!v || json_is_null(v)) return CORRAL_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "%s: \"%s\" must be a non-negative integer", op, key);
    *out = (uint64_t)json_integer_value(v);
    return CORRAL_OK;
}

/* An object of strings -> kv array (strings borrowed from the JSON). */
static corral_status_t arg_values(json_t *req, const char *op, corral_host_kv_t **out, size_t *n,
                                  corral_err_t *err) {
    json_t *v = json_object_get(req, "values");
    *out = NULL;
    *n = 0;
    if (!v || json_is_null(v)) return CORRAL_OK;
    if (!json_is_object(v))
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "%s: \"values\" must be an object of strings", op);
    size_t cnt = json_object_size(v);
    if (!cnt) return CORRAL_OK;
    corral_host_kv_t *kv = corral_calloc(cnt, sizeof *kv);
    if (!kv) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    const char *k;
    json_t *val;
    size_t i = 0;
    json_object_foreach(v, k, val) {
        if (!json_is_string(val)) {
            corral_free(kv);
            return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                  "%s: values.%s must be a string (write numbers as \"8080\")", op,
                                  k);
        }
        kv[i].key = k;
        kv[i++].value = json_string_value(val);
    }
    *out = kv;
    *n = i;
    return CORRAL_OK;
}

/* The module of start_actor / update_actor: "path" (absolute) or "module_b64". */
static corral_status_t arg_module(json_t *req, const char *op, corral_buf_t *mod, const char **path,
                                  corral_err_t *err) {
    const char *b64;
    corral_status_t st;
    if ((st = arg_str(req, op, "path", 0, path, err)) != CORRAL_OK ||
        (st = arg_str(req, op, "module_b64", 0, &b64, err)) != CORRAL_OK)
        return st;
    if (!!*path == !!b64)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "%s: give exactly one of \"path\" and \"module_b64\"", op);
    if (*path) {
        if ((*path)[0] != '/')
            return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                  "%s: \"path\" must be absolute (the host does not share the "
                                  "client's working directory): %s",
                                  op, *path);
        return corral_file_read(*path, 0, mod, err);
    }
    return b64_decode(b64, strlen(b64), mod, "module_b64", err);
}

/* ---- ops ------------------------------------------------------------------------------------------ */

static corral_status_t op_start_actor(corral_host_t *h, json_t *req, json_t **res,
                                      corral_err_t *err) {
    const char *op = "start_actor", *path;
    corral_buf_t mod = CORRAL_BUF_INIT;
    corral_host_actor_opts_t o = {0};
    uint64_t mi = 0, dl = 0, fuel = 0, mp = 0;
    corral_status_t st;
    json_t *au = json_object_get(req, "allow_unsigned");
    if (au && !json_is_null(au) && !json_is_boolean(au))
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "%s: \"allow_unsigned\" must be true or false", op);
    o.allow_unsigned = au && json_is_true(au);
    if ((st = arg_uint(req, op, "max_instances", &mi, err)) != CORRAL_OK ||
        (st = arg_uint(req, op, "deadline_ms", &dl, err)) != CORRAL_OK ||
        (st = arg_uint(req, op, "fuel", &fuel, err)) != CORRAL_OK ||
        (st = arg_uint(req, op, "max_pages", &mp, err)) != CORRAL_OK)
        return st;
    if (mi > 100000 || mp > 65536)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "%s: max_instances (<= 100000) or max_pages (<= 65536) too large",
                              op);
    o.limits.max_instances = (uint32_t)mi;
    o.limits.deadline_ms = dl;
    o.limits.fuel = fuel;
    o.limits.max_pages = (uint32_t)mp;
    const char *engine, *artifact;
    if ((st = arg_str(req, op, "engine", 0, &engine, err)) != CORRAL_OK ||
        (st = arg_str(req, op, "artifact", 0, &artifact, err)) != CORRAL_OK)
        return st;
    if (engine) {
        if (strcmp(engine, "interp") == 0) o.engine = CORRAL_HOST_ENGINE_INTERP;
        else if (strcmp(engine, "aot") == 0) o.engine = CORRAL_HOST_ENGINE_AOT;
        else if (strcmp(engine, "auto") == 0) o.engine = CORRAL_HOST_ENGINE_AUTO;
        else
            return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                  "%s: \"engine\" must be \"interp\", \"aot\" or \"auto\"", op);
    }
    if (artifact && artifact[0] != '/')
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "%s: \"artifact\" must be an absolute path: %s", op, artifact);
    o.artifact = artifact;
    if ((st = arg_module(req, op, &mod, &path, err)) != CORRAL_OK) goto out;
    corral_host_actor_info_t info;
    if ((st = corral_host_actor_start(h, mod.data, mod.len, &o, &info, err)) != CORRAL_OK) {
        if (path) corral_err_wrap(err, "%s", path);
        goto out;
    }
    *res = json_pack("{s:s, s:s, s:I}", "key", info.key, "name", info.name, "rev",
                     (json_int_t)info.rev);
out:
    corral_buf_free(&mod);
    return st;
}

static corral_status_t op_update_actor(corral_host_t *h, json_t *req, json_t **res,
                                       corral_err_t *err) {
    const char *op = "update_actor", *actor, *path;
    corral_buf_t mod = CORRAL_BUF_INIT;
    corral_status_t st;
    if ((st = arg_str(req, op, "actor", 1, &actor, err)) != CORRAL_OK) return st;
    if ((st = arg_module(req, op, &mod, &path, err)) != CORRAL_OK) goto out;
    corral_host_update_result_t r;
    if ((st = corral_host_actor_update(h, actor, mod.data, mod.len, &r, err)) != CORRAL_OK) {
        if (path) corral_err_wrap(err, "%s", path);
        goto out;
    }
    *res = json_pack("{s:s, s:I, s:I, s:I, s:b}", "key", r.key, "old_rev", (json_int_t)r.old_rev,
                     "new_rev", (json_int_t)r.new_rev, "swap_pause_us",
                     (json_int_t)r.swap_pause_us, "caps_changed", r.caps_changed);
out:
    corral_buf_free(&mod);
    return st;
}

static corral_status_t op_stop_actor(corral_host_t *h, json_t *req, json_t **res,
                                     corral_err_t *err) {
    const char *actor;
    char key[CORRAL_HOST_KEY_LEN];
    corral_status_t st;
    if ((st = arg_str(req, "stop_actor", "actor", 1, &actor, err)) != CORRAL_OK) return st;
    if ((st = corral_host_actor_stop(h, actor, key, err)) != CORRAL_OK) return st;
    *res = json_pack("{s:s}", "key", key);
    return CORRAL_OK;
}

static corral_status_t op_start_provider(corral_host_t *h, json_t *req, json_t **res,
                                         corral_err_t *err) {
    const char *op = "start_provider";
    corral_host_provider_opts_t o = {0};
    corral_host_kv_t *kv = NULL;
    corral_status_t st;
    if ((st = arg_str(req, op, "kind", 0, &o.kind, err)) != CORRAL_OK ||
        (st = arg_str(req, op, "path", 0, &o.path, err)) != CORRAL_OK ||
        (st = arg_str(req, op, "link_name", 0, &o.link_name, err)) != CORRAL_OK ||
        (st = arg_values(req, op, &kv, &o.nvalues, err)) != CORRAL_OK)
        return st;
    if (o.path && o.path[0] != '/') {
        corral_free(kv);
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "%s: \"path\" must be absolute: %s",
                              op, o.path);
    }
    o.values = kv;
    corral_host_provider_info_t info;
    st = corral_host_provider_start(h, &o, &info, err);
    corral_free(kv);
    if (st != CORRAL_OK) return st;
    *res = json_pack("{s:s, s:s, s:s, s:s}", "key", info.key, "name", info.name, "contract_id",
                     info.contract_id, "link_name", info.link_name);
    return CORRAL_OK;
}

static corral_status_t op_stop_provider(corral_host_t *h, json_t *req, json_t **res,
                                        corral_err_t *err) {
    const char *key;
    corral_status_t st;
    if ((st = arg_str(req, "stop_provider", "provider", 1, &key, err)) != CORRAL_OK) return st;
    if ((st = corral_host_provider_stop(h, key, err)) != CORRAL_OK) return st;
    *res = json_pack("{s:s}", "key", key);
    return CORRAL_OK;
}

static corral_status_t op_link_put(corral_host_t *h, json_t *req, json_t **res,
                                   corral_err_t *err) {
    const char *op = "link_put", *actor, *contract, *ln;
    corral_host_kv_t *kv = NULL;
    size_t n = 0;
    corral_status_t st;
    if ((st = arg_str(req, op, "actor", 1, &actor, err)) != CORRAL_OK ||
        (st = arg_str(req, op, "contract_id", 1, &contract, err)) != CORRAL_OK ||
        (st = arg_str(req, op, "link_name", 0, &ln, err)) != CORRAL_OK ||
        (st = arg_values(req, op, &kv, &n, err)) != CORRAL_OK)
        return st;
    st = corral_host_link_put(h, actor, contract, ln, kv, n, err);
    corral_free(kv);
    if (st == CORRAL_OK) *res = json_object();
    return st;
}

static corral_status_t op_link_del(corral_host_t *h, json_t *req, json_t **res,
                                   corral_err_t *err) {
    const char *op = "link_del", *actor, *contract, *ln;
    corral_status_t st;
    if ((st = arg_str(req, op, "actor", 1, &actor, err)) != CORRAL_OK ||
        (st = arg_str(req, op, "contract_id", 1, &contract, err)) != CORRAL_OK ||
        (st = arg_str(req, op, "link_name", 0, &ln, err)) != CORRAL_OK)
        return st;
    if ((st = corral_host_link_del(h, actor, contract, ln, err)) == CORRAL_OK) *res = json_object();
    return st;
}

static corral_status_t op_call(corral_host_t *h, json_t *req, json_t **res, corral_err_t *err) {
    const char *op = "call", *actor, *operation, *b64;
    corral_buf_t payload = CORRAL_BUF_INIT, resp = CORRAL_BUF_INIT, enc = CORRAL_BUF_INIT;
    corral_status_t st;
    if ((st = arg_str(req, op, "actor", 1, &actor, err)) != CORRAL_OK ||
        (st = arg_str(req, op, "operation", 1, &operation, err)) != CORRAL_OK ||
        (st = arg_str(req, op, "payload_b64", 0, &b64, err)) != CORRAL_OK)
        return st;
    if (b64 && (st = b64_decode(b64, strlen(b64), &payload, "payload_b64", err)) != CORRAL_OK)
        goto out;
    if ((st = corral_host_call(h, actor, operation, payload.data, payload.len, &resp, err)) !=
        CORRAL_OK)
        goto out;
    if (corral_base64_encode(resp.data, resp.len, &enc) != CORRAL_OK ||
        corral_buf_terminate(&enc) != CORRAL_OK) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory encoding the response");
        goto out;
    }
    *res = json_pack("{s:s}", "response_b64", enc.data ? (const char *)enc.data : "");
out:
    corral_buf_free(&payload);
    corral_buf_free(&resp);
    corral_buf_free(&enc);
    return st;
}

static corral_status_t op_health(corral_host_t *h, json_t *req, json_t **res, corral_err_t *err) {
    const char *actor;
    corral_status_t st;
    if ((st = arg_str(req, "health", "actor", 1, &actor, err)) != CORRAL_OK) return st;
    corral_host_health_t hr;
    if ((st = corral_host_actor_health(h, actor, &hr, err)) != CORRAL_OK) return st;
    *res = json_pack("{s:b, s:s}", "healthy", hr.healthy, "message", hr.message);
    return CORRAL_OK;
}

static corral_status_t op_inventory(corral_host_t *h, json_t *req, json_t **res,
                                    corral_err_t *err) {
    pthread_mutex_lock(&h->ctl);
    *res = host_inventory_json(h);
    pthread_mutex_unlock(&h->ctl);
    return *res ? CORRAL_OK : corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
}

static corral_status_t op_metrics(corral_host_t *h, json_t *req, json_t **res, corral_err_t *err) {
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_status_t st = corral_host_metrics(h, &b, err);
    if (st == CORRAL_OK) {
        *res = json_pack("{s:s%}", "text", b.data ? (const char *)b.data : "", b.len);
        st = *res ? CORRAL_OK : corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    }
    corral_buf_free(&b);
    return st;
}

static corral_status_t op_stop_host(corral_host_t *h, json_t *req, json_t **res,
                                    corral_err_t *err) {
    *res = json_object();
    return CORRAL_OK;
}

typedef corral_status_t (*op_fn)(corral_host_t *, json_t *, json_t **, corral_err_t *);

static const struct {
    const char *name;
    op_fn fn;
} ops_[] = {
    {"inventory", op_inventory},         {"start_actor", op_start_actor},
    {"stop_actor", op_stop_actor},       {"update_actor", op_update_actor},
    {"start_provider", op_start_provider}, {"stop_provider", op_stop_provider},
    {"link_put", op_link_put},           {"link_del", op_link_del},
    {"call", op_call},                   {"health", op_health},
    {"stop_host", op_stop_host},         {"metrics", op_metrics},
};

/* Runs one request; *stop_after is set for a successful stop_host. */
static corral_status_t exec_line(corral_host_t *h, const char *request, size_t len, char **reply_out,
                                 int *stop_after) {
    corral_err_t err;
    corral_err_clear(&err);
    json_t *res = NULL, *reply = NULL;
    json_error_t je;
    corral_status_t st = CORRAL_OK;
    *reply_out = NULL;
    *stop_after = 0;
    json_t *req = json_loadb(request, len, JSON_REJECT_DUPLICATES, &je);
    if (!req) {
        st = corral_err_set(&err, CORRAL_ERR_PARSE,
                            "request is not valid JSON: %s (line %d, column %d); send one JSON "
                            "object per line, e.g. {\"op\":\"inventory\"}",
                            je.text, je.line, je.column);
    } else if (!json_is_object(req)) {
        st = corral_err_set(&err, CORRAL_ERR_PARSE, "request must be a JSON object");
    } else {
        json_t *opv = json_object_get(req, "op");
        const char *op = json_is_string(opv) ? json_string_value(opv) : NULL;
        if (!op) {
            st = corral_err_set(&err, CORRAL_ERR_INVALID_ARG,
                                "request lacks a string \"op\" (one of inventory, start_actor, "
                                "stop_actor, update_actor, start_provider, stop_provider, "
                                "link_put, link_del, call, health, metrics, stop_host)");
        } else {
            size_t i = 0;
            while (i < sizeof ops_ / sizeof ops_[0] && strcmp(ops_[i].name, op) != 0) i++;
            if (i == sizeof ops_ / sizeof ops_[0]) {
                st = corral_err_set(&err, CORRAL_ERR_UNSUPPORTED,
                                    "unknown op \"%s\": this host knows inventory, start_actor, "
                                    "stop_actor, update_actor, start_provider, stop_provider, "
                                    "link_put, link_del, call, health, metrics, stop_host",
                                    op);
            } else {
                st = ops_[i].fn(h, req, &res, &err);
                if (st == CORRAL_OK && !res)
                    st = corral_err_set(&err, CORRAL_ERR_NOMEM, "out of memory building the reply");
                if (st == CORRAL_OK && ops_[i].fn == op_stop_host) *stop_after = 1;
            }
        }
    }
    json_decref(req);
    if (st == CORRAL_OK)
        reply = json_pack("{s:b, s:o}", "ok", 1, "result", res);
    else {
        if (!err.msg[0]) corral_err_set(&err, st, NULL);
        utf8_sanitize(err.msg);
        reply = json_pack("{s:b, s:s, s:s}", "ok", 0, "code", corral_status_name(st), "error",
                          err.msg);
    }
    char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
    json_decref(reply);
    if (text) {
        *reply_out = corral_strdup(text);
        free(text);
    }
    if (!*reply_out)
        *reply_out = corral_strdup("{\"ok\":false,\"code\":\"ERR_NOMEM\",\"error\":\"out of memory\"}");
    return *reply_out ? CORRAL_OK : CORRAL_ERR_NOMEM;
}

corral_status_t corral_host_control_exec(corral_host_t *h, const char *request, size_t len,
                                         char **reply_out) {
    int stop_after;
    corral_status_t st = exec_line(h, request, len, reply_out, &stop_after);
    if (stop_after) corral_host_request_stop(h);
    return st;
}

/* ---- socket server ------------------------------------------------------------------------------------ */

static int write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int send_reply(int fd, const char *reply) {
    return write_all(fd, reply, strlen(reply)) || write_all(fd, "\n", 1) ? -1 : 0;
}

static void *conn_main(void *arg) {
    control_conn_t *c = arg;
    corral_buf_t in = CORRAL_BUF_INIT;
    struct ucred cred;
    socklen_t cl = sizeof cred;
    if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 || cred.uid != getuid()) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "{\"ok\":false,\"code\":\"ERR_STATE\",\"error\":\"control socket: peer uid %u "
                 "is not the host's uid %u: connection refused\"}",
                 (unsigned)cred.uid, (unsigned)getuid());
        CORRAL_LOG_WARN_(HOST_COMPONENT, "control socket: refused a peer with uid %u",
                         (unsigned)cred.uid);
        send_reply(c->fd, msg);
        goto done;
    }
    size_t scan = 0;
    for (;;) {
        uint8_t *nl = in.len > scan ? memchr(in.data + scan, '\n', in.len - scan) : NULL;
        if (!nl) {
            scan = in.len;
            if (in.len > LINE_MAX_BYTES) {
                send_reply(c->fd, "{\"ok\":false,\"code\":\"ERR_TOO_LARGE\",\"error\":\"request "
                                  "line longer than 64 MiB\"}");
                goto done;
            }
            if (corral_buf_reserve(&in, 65536) != CORRAL_OK) goto done;
            ssize_t r = recv(c->fd, in.data + in.len, in.cap - in.len, 0);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) goto done;
            in.len += (size_t)r;
            continue;
        }
        size_t line = (size_t)(nl - in.data);
        char *reply = NULL;
        int stop_after = 0;
        if (line == 0 || (line == 1 && in.data[0] == '\r')) {
            /* blank line: ignore */
        } else if (exec_line(c->host, (const char *)in.data, line, &reply, &stop_after) !=
                   CORRAL_OK) {
            goto done;
        }
        int bad = reply && send_reply(c->fd, reply) != 0;
        corral_free(reply);
        if (stop_after) corral_host_request_stop(c->host);
        if (bad) goto done;
        memmove(in.data, in.data + line + 1, in.len - line - 1);
        in.len -= line + 1;
        scan = 0;
    }
done:
    corral_buf_free(&in);
    atomic_store(&c->done, 1);
    return NULL;
}

static void reap(corral_host_t *h, int all) {
    control_conn_t **pp = &h->c_conns;
    while (*pp) {
        control_conn_t *c = *pp;
        if (!all && !atomic_load(&c->done)) {
            pp = &c->next;
            continue;
        }
        if (all) shutdown(c->fd, SHUT_RDWR);
        pthread_join(c->thread, NULL);
        close(c->fd);
        *pp = c->next;
        corral_free(c);
    }
}

static void *accept_main(void *arg) {
    corral_host_t *h = arg;
    for (;;) {
        int fd = accept4(h->c_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                usleep(10000);
                continue;
            }
            break; /* shut down */
        }
        pthread_mutex_lock(&h->c_mu);
        if (!h->c_running) {
            pthread_mutex_unlock(&h->c_mu);
            close(fd);
            break;
        }
        reap(h, 0);
        control_conn_t *c = corral_calloc(1, sizeof *c);
        if (!c || (c->host = h, c->fd = fd,
                   pthread_create(&c->thread, NULL, conn_main, c) != 0)) {
            pthread_mutex_unlock(&h->c_mu);
            corral_free(c);
            close(fd);
            continue;
        }
        c->next = h->c_conns;
        h->c_conns = c;
        pthread_mutex_unlock(&h->c_mu);
    }
    return NULL;
}

static corral_status_t prepare_run_dir(const char *dir, corral_err_t *err) {
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return corral_err_set(err, CORRAL_ERR_IO, "cannot create run directory %s: %s", dir,
                              strerror(errno));
    struct stat st;
    if (lstat(dir, &st) != 0)
        return corral_err_set(err, CORRAL_ERR_IO, "run directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return corral_err_set(err, CORRAL_ERR_IO, "run directory %s is not a directory", dir);
    if (st.st_uid != getuid())
        return corral_err_set(err, CORRAL_ERR_IO,
                              "run directory %s belongs to uid %u, not to this user (uid %u): "
                              "choose another with --run-dir",
                              dir, (unsigned)st.st_uid, (unsigned)getuid());
    if ((st.st_mode & 0777) != 0700 && chmod(dir, 0700) != 0)
        return corral_err_set(err, CORRAL_ERR_IO, "cannot make run directory %s private: %s", dir,
                              strerror(errno));
    return CORRAL_OK;
}

corral_status_t corral_host_control_start(corral_host_t *h, const char *run_dir,
                                          corral_err_t *err) {
    char dir[512];
    corral_status_t st;
    if (run_dir)
        host_strlcpy(dir, run_dir, sizeof dir);
    else if (h->run_dir)
        host_strlcpy(dir, h->run_dir, sizeof dir);
    else if (corral_host_default_run_dir(dir, sizeof dir) != CORRAL_OK)
        return corral_err_set(err, CORRAL_ERR_TOO_LARGE, "default run directory path too long");
    pthread_mutex_lock(&h->c_mu);
    if (h->c_running) {
        pthread_mutex_unlock(&h->c_mu);
        return corral_err_set(err, CORRAL_ERR_STATE, "control socket already running on %s",
                              h->c_path);
    }
    pthread_mutex_unlock(&h->c_mu);
    if ((st = prepare_run_dir(dir, err)) != CORRAL_OK) return st;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int w = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/control.sock", dir);
    if (w < 0 || (size_t)w >= sizeof sa.sun_path)
        return corral_err_set(err, CORRAL_ERR_TOO_LARGE,
                              "control socket path %s/control.sock is longer than %zu bytes: "
                              "choose a shorter --run-dir",
                              dir, sizeof sa.sun_path - 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return corral_err_set(err, CORRAL_ERR_IO, "control socket: %s", strerror(errno));
    /* a socket file nobody answers on is stale (a crashed host): replace it */
    struct stat sst;
    if (lstat(sa.sun_path, &sst) == 0) {
        if (!S_ISSOCK(sst.st_mode)) {
            close(fd);
            return corral_err_set(err, CORRAL_ERR_EXISTS,
                                  "%s exists and is not a socket: remove it", sa.sun_path);
        }
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
        if (probe >= 0) close(probe);
        if (live) {
            close(fd);
            return corral_err_set(err, CORRAL_ERR_EXISTS,
                                  "another host is running on %s: stop it (`corral stop host`) "
                                  "or use another --run-dir",
                                  sa.sun_path);
        }
        unlink(sa.sun_path);
    }
    mode_t old = umask(0177);
    int b = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (b != 0 || chmod(sa.sun_path, 0600) != 0 || listen(fd, 64) != 0) {
        st = corral_err_set(err, CORRAL_ERR_IO, "cannot listen on %s: %s", sa.sun_path,
                            strerror(errno));
        close(fd);
        if (b == 0) unlink(sa.sun_path);
        return st;
    }
    pthread_mutex_lock(&h->c_mu);
    h->c_fd = fd;
    host_strlcpy(h->c_path, sa.sun_path, sizeof h->c_path);
    h->c_running = 1;
    if (pthread_create(&h->c_thread, NULL, accept_main, h) != 0) {
        h->c_running = 0;
        h->c_fd = -1;
        h->c_path[0] = 0;
        pthread_mutex_unlock(&h->c_mu);
        close(fd);
        unlink(sa.sun_path);
        return corral_err_set(err, CORRAL_ERR_INTERNAL, "cannot start the control thread");
    }
    pthread_mutex_unlock(&h->c_mu);
    CORRAL_LOG_INFO_(HOST_COMPONENT, "control socket listening on %s", sa.sun_path);
    return CORRAL_OK;
}

const char *corral_host_control_path(const corral_host_t *h) {
    return h->c_running ? h->c_path : "";
}

void corral_host_control_stop(corral_host_t *h) {
    pthread_mutex_lock(&h->c_mu);
    if (!h->c_running) {
        pthread_mutex_unlock(&h->c_mu);
        return;
    }
    h->c_running = 0;
    shutdown(h->c_fd, SHUT_RDWR); /* wakes accept() */
    pthread_mutex_unlock(&h->c_mu);
    pthread_join(h->c_thread, NULL);
    pthread_mutex_lock(&h->c_mu);
    reap(h, 1);
    close(h->c_fd);
    h->c_fd = -1;
    unlink(h->c_path);
    h->c_path[0] = 0;
    pthread_mutex_unlock(&h->c_mu);
}

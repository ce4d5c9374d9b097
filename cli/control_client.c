/*
 * control_client.c - the CLI's end of the control socket (docs/control.md):
 * a Unix stream connection carrying one JSON object per line each way, and
 * the remote form of `corral call`. Speaks only the documented protocol, so
 * it works against any host that implements it.
 */
#include "control_client.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

#define CTL_MAX_LINE (64u * 1024u * 1024u)
#define CTL_DEFAULT_TIMEOUT_MS 120000u

struct corral_ctl {
    int fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    corral_buf_t in; /* bytes read past the last reply */
};

corral_status_t corral_ctl_default_run_dir(char *out, size_t n) {
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int w = (xdg && *xdg) ? snprintf(out, n, "%s/corral", xdg)
                          : snprintf(out, n, "/tmp/corral-%u", (unsigned)getuid());
    return (w < 0 || (size_t)w >= n) ? CORRAL_ERR_TOO_LARGE : CORRAL_OK;
}

#define CTL_NAME_(name, msg) #name,
static const char *const status_names[] = {CORRAL_STATUS_LIST(CTL_NAME_)};
#undef CTL_NAME_

const char *corral_ctl_status_name(corral_status_t st) {
    size_t i = (size_t)st;
    return i < sizeof status_names / sizeof status_names[0] ? status_names[i] : "ERR_INTERNAL";
}

corral_status_t corral_ctl_status_from_name(const char *name) {
    if (!name) return CORRAL_ERR_INTERNAL;
    if (strncmp(name, "CORRAL_", 7) == 0) name += 7;
    for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
        if (strcmp(status_names[i], name) == 0) return (corral_status_t)i;
    return CORRAL_ERR_INTERNAL;
}

corral_status_t corral_ctl_connect(const char *run_dir, corral_ctl_t **out, corral_err_t *err) {
    char dir[4096];
    corral_ctl_t *c = NULL;
    *out = NULL;
    if (!run_dir) {
        if (corral_ctl_default_run_dir(dir, sizeof dir) != CORRAL_OK)
            return corral_err_set(err, CORRAL_ERR_TOO_LARGE, "the default run dir is too long");
        run_dir = dir;
    }
    if (!(c = corral_calloc(1, sizeof *c))) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    c->fd = -1;
    int w = snprintf(c->path, sizeof c->path, "%s/control.sock", run_dir);
    if (w < 0 || (size_t)w >= sizeof c->path) {
        corral_free(c);
        return corral_err_set(err, CORRAL_ERR_TOO_LARGE,
                              "control socket path %s/control.sock is longer than %zu bytes: use a "
                              "shorter --run-dir",
                              run_dir, sizeof c->path - 1);
    }
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        corral_status_t st = corral_err_set(err, CORRAL_ERR_IO, "socket: %s", strerror(errno));
        corral_free(c);
        return st;
    }
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        corral_status_t st = corral_err_set(err, CORRAL_ERR_CLOSED,
                                            "no host is running: cannot connect to %s: %s", c->path,
                                            strerror(errno));
        close(c->fd);
        corral_free(c);
        return st;
    }
    *out = c;
    return CORRAL_OK;
}

void corral_ctl_close(corral_ctl_t *c) {
    if (!c) return;
    if (c->fd >= 0) close(c->fd);
    corral_buf_free(&c->in);
    corral_free(c);
}

const char *corral_ctl_path(const corral_ctl_t *c) {
    return c->path;
}

static corral_status_t send_all(corral_ctl_t *c, const char *p, size_t n, corral_err_t *err) {
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return corral_err_set(err, CORRAL_ERR_IO, "writing to %s: %s", c->path, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return CORRAL_OK;
}

/* Reads until a newline is buffered; returns the line length (without it). */
static corral_status_t read_line(corral_ctl_t *c, unsigned timeout_ms, size_t *line_len,
                                 corral_err_t *err) {
    uint64_t deadline = corral_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    size_t scanned = 0;
    for (;;) {
        if (c->in.len > scanned) {
            uint8_t *nl = memchr(c->in.data + scanned, '\n', c->in.len - scanned);
            if (nl) {
                *line_len = (size_t)(nl - c->in.data);
                return CORRAL_OK;
            }
            scanned = c->in.len;
        }
        if (c->in.len > CTL_MAX_LINE)
            return corral_err_set(err, CORRAL_ERR_TOO_LARGE, "reply from %s is longer than 64 MiB",
                                  c->path);
        uint64_t now = corral_now_ns();
        if (now >= deadline)
            return corral_err_set(err, CORRAL_ERR_TIMEOUT, "no reply from %s within %u ms", c->path,
                                  timeout_ms);
        struct pollfd pfd = {c->fd, POLLIN, 0};
        int left = (int)((deadline - now) / 1000000ull) + 1;
        int pr = poll(&pfd, 1, left);
        if (pr < 0 && errno != EINTR)
            return corral_err_set(err, CORRAL_ERR_IO, "waiting for %s: %s", c->path, strerror(errno));
        if (pr <= 0) continue;
        if (corral_buf_reserve(&c->in, 65536) != CORRAL_OK)
            return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        ssize_t r = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return corral_err_set(err, CORRAL_ERR_IO, "reading from %s: %s", c->path, strerror(errno));
        }
        if (r == 0)
            return corral_err_set(err, CORRAL_ERR_CLOSED, "the host closed %s before replying",
                                  c->path);
        c->in.len += (size_t)r;
    }
}

corral_status_t corral_ctl_request(corral_ctl_t *c, json_t *req, unsigned timeout_ms,
                                   json_t **result_out, corral_err_t *err) {
    corral_status_t st;
    json_t *reply = NULL;
    size_t len = 0;
    if (result_out) *result_out = NULL;
    if (!timeout_ms) timeout_ms = CTL_DEFAULT_TIMEOUT_MS;
    char *text = json_dumps(req, JSON_COMPACT);
    if (!text) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    st = send_all(c, text, strlen(text), err);
    if (st == CORRAL_OK) st = send_all(c, "\n", 1, err);
    free(text);
    if (st != CORRAL_OK) return st;
    if ((st = read_line(c, timeout_ms, &len, err)) != CORRAL_OK) return st;
    json_error_t je;
    reply = json_loadb((const char *)c->in.data, len, JSON_REJECT_DUPLICATES, &je);
    /* Drop the line and its newline, keep any bytes after it. */
    memmove(c->in.data, c->in.data + len + 1, c->in.len - len - 1);
    c->in.len -= len + 1;
    if (!reply || !json_is_object(reply)) {
        st = corral_err_set(err, CORRAL_ERR_PARSE, "reply from %s is not a JSON object: %s", c->path,
                            reply ? "another JSON value" : je.text);
        goto done;
    }
    json_t *ok = json_object_get(reply, "ok");
    if (json_is_true(ok)) {
        json_t *res = json_object_get(reply, "result");
        if (result_out) *result_out = res ? json_incref(res) : json_object();
        st = CORRAL_OK;
        goto done;
    }
    if (!json_is_false(ok)) {
        st = corral_err_set(err, CORRAL_ERR_PARSE, "reply from %s has no boolean 'ok'", c->path);
        goto done;
    }
    const char *code = json_string_value(json_object_get(reply, "code"));
    const char *msg = json_string_value(json_object_get(reply, "error"));
    st = corral_ctl_status_from_name(code);
    if (st == CORRAL_OK) st = CORRAL_ERR_INTERNAL;
    corral_err_set(err, st, "%s", msg && *msg ? msg : (code ? code : "the host refused the request"));
done:
    json_decref(reply);
    return st;
}

corral_status_t corral_ctl_once(const char *run_dir, json_t *req, json_t **result_out,
                                corral_err_t *err) {
    corral_ctl_t *c = NULL;
    corral_status_t st = corral_ctl_connect(run_dir, &c, err);
    if (st != CORRAL_OK) return st;
    st = corral_ctl_request(c, req, 0, result_out, err);
    corral_ctl_close(c);
    return st;
}

int corral_ctl_cli(const char *run_dir, json_t *req, json_t **res_out) {
    corral_err_t err;
    json_t *res = NULL;
    if (res_out) *res_out = NULL;
    if (!req) {
        corral_cli_error("out of memory");
        return CORRAL_EXIT_INTERNAL;
    }
    corral_status_t st = corral_ctl_once(run_dir, req, &res, &err);
    json_decref(req);
    if (st != CORRAL_OK) {
        corral_cli_error("%s", corral_err_msg(&err));
        switch (st) {
        case CORRAL_ERR_NOMEM: return CORRAL_EXIT_INTERNAL;
        /* The arguments parsed here; the host refused the request's content (a bad link
         * value, say): that is a refusal, not a usage error. */
        case CORRAL_ERR_INVALID_ARG:
        case CORRAL_ERR_NOT_FOUND:
        case CORRAL_ERR_NO_ACTOR:
        case CORRAL_ERR_CLOSED:
        case CORRAL_ERR_IO:
        case CORRAL_ERR_TIMEOUT: return CORRAL_EXIT_FAIL;
        default: return corral_cli_exit_for(st);
        }
    }
    if (res_out) *res_out = res;
    else json_decref(res);
    return CORRAL_EXIT_OK;
}

int corral_ctl_add_kv(json_t **obj, const char *kv, const char *what) {
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        corral_cli_error("%s '%s' must look like KEY=VALUE", what, kv);
        return CORRAL_EXIT_USAGE;
    }
    if (!*obj && !(*obj = json_object())) goto oom;
    char *k = corral_strndup(kv, (size_t)(eq - kv));
    if (!k) goto oom;
    int r = json_object_set_new(*obj, k, json_string(eq + 1));
    corral_free(k);
    if (r != 0) {
        corral_cli_error("%s '%s' is not valid UTF-8", what, kv);
        return CORRAL_EXIT_USAGE;
    }
    return CORRAL_EXIT_OK;
oom:
    corral_cli_error("out of memory");
    return CORRAL_EXIT_INTERNAL;
}

int corral_cli_call_is_remote(int argc, char **argv) {
    static const char *const with_value[] = {"--payload", "--payload-file", "--host-call",
                                             "--deadline-ms", "--fuel", "--max-pages",
                                             "--run-dir", NULL};
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--run-dir", 9) == 0 && (argv[i][9] == '\0' || argv[i][9] == '='))
            return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            a = i + 1 < argc ? argv[i + 1] : NULL;
            if (!a) return 0;
        } else if (a[0] == '-') {
            for (size_t k = 0; with_value[k]; k++)
                if (strcmp(a, with_value[k]) == 0) i++; /* skip its value */
            continue;
        }
        /* A path that does not exist is still a path: let the local call say
         * "cannot open"; only a bare name (module key or call alias) goes remote. */
        struct stat sb;
        if (stat(a, &sb) == 0 || strchr(a, '/')) return 0;
        size_t n = strlen(a);
        return !(n >= 5 && strcmp(a + n - 5, ".wasm") == 0);
    }
    return 0;
}

/* ---- corral call <actor> <operation> (remote) ------------------------------------------ */

static void call_usage(FILE *out) {
    fprintf(out,
            "usage: corral call <actor key or alias> <operation> [--payload TEXT |\n"
            "                   --payload-file FILE] [--json] [--run-dir D]\n\n"
            "Calls <operation> on an actor of a running host (through its control socket)\n"
            "and writes the response bytes to stdout.\n"
            "  --payload TEXT       the payload bytes (default: empty)\n"
            "  --payload-file FILE  read the payload from FILE ('-' = stdin)\n"
            "  --json               print {\"ok\": true, \"response\": \"<base64>\"} or\n"
            "                       {\"ok\": false, \"error\": \"...\", \"status\": \"...\"}\n"
            "  --run-dir D          the host's run dir (default $XDG_RUNTIME_DIR/corral, else\n"
            "                       /tmp/corral-<uid>)\n\n"
            "exit codes: 0 success, 1 the call failed (guest error, trap, no such actor, no\n"
            "            host running), 2 usage error, 3 unreadable payload file,\n"
            "            4 internal error\n");
}

int corral_cli_call_remote(int argc, char **argv) {
    static const struct option opts[] = {{"payload", required_argument, NULL, 'p'},
                                         {"payload-file", required_argument, NULL, 'f'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"run-dir", required_argument, NULL, 'R'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *payload = NULL, *payload_file = NULL, *run_dir = NULL;
    int json = 0, c, rc = CORRAL_EXIT_USAGE;
    corral_buf_t pb = CORRAL_BUF_INIT, b64 = CORRAL_BUF_INIT;
    json_t *req = NULL, *res = NULL;
    uint8_t *bytes = NULL;
    corral_err_t err;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:f:jR:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': payload = optarg; break;
        case 'f': payload_file = optarg; break;
        case 'j': json = 1; break;
        case 'R': run_dir = optarg; break;
        case 'h': call_usage(stdout); return CORRAL_EXIT_OK;
        default: call_usage(stderr); return CORRAL_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        corral_cli_error("call needs an actor (key or alias) and an operation (see 'corral call --help')");
        return CORRAL_EXIT_USAGE;
    }
    if (payload && payload_file) {
        corral_cli_error("give --payload or --payload-file, not both");
        return CORRAL_EXIT_USAGE;
    }
    if (payload && corral_buf_append_str(&pb, payload) != CORRAL_OK) goto oom;
    if (payload_file) {
        if (strcmp(payload_file, "-") == 0) {
            uint8_t tmp[65536];
            size_t r;
            while ((r = fread(tmp, 1, sizeof tmp, stdin)) > 0)
                if (corral_buf_append(&pb, tmp, r) != CORRAL_OK) goto oom;
        } else if (corral_file_read(payload_file, 0, &pb, &err) != CORRAL_OK) {
            corral_cli_error("%s", corral_err_msg(&err));
            rc = CORRAL_EXIT_INPUT;
            goto done;
        }
    }
    if (corral_base64_encode(pb.data, pb.len, &b64) != CORRAL_OK || corral_buf_terminate(&b64) != CORRAL_OK)
        goto oom;
    req = json_pack("{s:s, s:s, s:s, s:s}", "op", "call", "actor", argv[optind], "operation",
                    argv[optind + 1], "payload_b64", b64.data ? (const char *)b64.data : "");
    if (!req) goto oom;
    corral_status_t st = corral_ctl_once(run_dir, req, &res, &err);
    if (st != CORRAL_OK) {
        if (json) {
            json_t *o = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", corral_err_msg(&err), "status",
                                  corral_ctl_status_name(st));
            char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
            if (t) printf("%s\n", t);
            free(t);
            json_decref(o);
        }
        corral_cli_error("%s", corral_err_msg(&err));
        rc = st == CORRAL_ERR_NOMEM ? CORRAL_EXIT_INTERNAL : CORRAL_EXIT_FAIL;
        goto done;
    }
    const char *resp = json_string_value(json_object_get(res, "response_b64"));
    if (!resp) {
        corral_cli_error("the host's reply has no response_b64");
        rc = CORRAL_EXIT_FAIL;
        goto done;
    }
    if (json) {
        printf("{\"ok\": true, \"response\": \"%s\"}\n", resp);
    } else {
        size_t n = 0;
        /* jansson has no base64; decode by hand (standard alphabet, padding). */
        size_t rl = strlen(resp);
        if (!(bytes = corral_malloc(rl / 4 * 3 + 3))) goto oom;
        uint32_t acc = 0;
        int bits = 0;
        for (size_t i = 0; i < rl; i++) {
            char ch = resp[i];
            int v;
            if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
            else if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
            else if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
            else if (ch == '+') v = 62;
            else if (ch == '/') v = 63;
            else if (ch == '=') break;
            else {
                corral_cli_error("the host's response_b64 is not base64");
                rc = CORRAL_EXIT_FAIL;
                goto done;
            }
            acc = (acc << 6) | (uint32_t)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                bytes[n++] = (uint8_t)(acc >> bits);
            }
        }
        if (fwrite(bytes, 1, n, stdout) != n) goto oom;
    }
    rc = fflush(stdout) == 0 ? CORRAL_EXIT_OK : CORRAL_EXIT_INTERNAL;
    goto done;
oom:
    corral_cli_error("out of memory");
    rc = CORRAL_EXIT_INTERNAL;
done:
    corral_free(bytes);
    json_decref(req);
    json_decref(res);
    corral_buf_free(&pb);
    corral_buf_free(&b64);
    return rc;
}

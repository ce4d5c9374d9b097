/*
 * cmd_call.c - `corral call`: instantiates one waPC module on its own and
 * makes one host -> guest call (wapc/corral_wapc.h). A stand-alone host
 * answers the guest's host calls as --host-call says. Handy for trying an
 * actor without a running host, and used by the waPC CLI tests.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "control_client.h"
#include "corral_wapc.h"

typedef enum { HOST_ERROR, HOST_ECHO, HOST_EMPTY } host_mode_t;

static void call_usage(FILE *out) {
    fprintf(out,
            "usage: corral call <module.wasm> <operation> [options]\n"
            "       corral call <actor key or alias> <operation> [--payload T] [--run-dir D]\n\n"
            "With a module file, instantiates the waPC module alone and makes one call to\n"
            "<operation>, then prints the guest's response bytes as they are (with --json\n"
            "as base64). With an actor key or call alias (or --run-dir), asks the running\n"
            "host (see 'corral up') to make the call, through its control socket.\n\n"
            "options:\n"
            "  --payload <text>        the call's payload (default: empty)\n"
            "  --payload-file <path>   read the payload from a file\n"
            "  --host-call <mode>      how guest -> host calls are answered:\n"
            "                            error  fail with \"no provider linked for <namespace>\" (default)\n"
            "                            echo   succeed with the guest's payload\n"
            "                            empty  succeed with an empty response\n"
            "  --deadline-ms <N>       wall-clock limit for init and for the call\n"
            "  --fuel <N>              fuel limit per call (engine units)\n"
            "  --max-pages <N>         memory limit in 64 KiB pages\n"
            "  --json                  print {\"ok\": true, \"response\": \"<base64>\"} or\n"
            "                          {\"ok\": false, \"error\": \"...\", \"status\": \"...\"}\n"
            "  --help                  this text\n\n"
            "Guest log lines (__console_log, WASI stdout/stderr) go to stderr.\n\n"
            "exit codes: 0 success, 1 guest error, trap or link error, 2 usage error,\n"
            "            3 unreadable or malformed module or payload file, 4 internal error\n");
}

static corral_status_t cli_host(void *user, const corral_wapc_host_call_t *c, corral_buf_t *out,
                                corral_err_t *err) {
    host_mode_t mode = *(host_mode_t *)user;
    switch (mode) {
    case HOST_ECHO:
        return corral_buf_append(out, c->payload, c->payload_len);
    case HOST_EMPTY:
        return CORRAL_OK;
    case HOST_ERROR:
        break;
    }
    return corral_err_set(err, CORRAL_ERR_NO_LINK, "no provider linked for %s", c->ns);
}

static void cli_log(void *user, corral_wapc_log_source_t src, const char *line, size_t len) {
    static const char *const names[] = {"console", "stdout", "stderr"};
    fprintf(stderr, "[guest %s] %s\n", names[src], line);
}

static int parse_u64(const char *s, const char *opt, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') {
        corral_cli_error("%s needs a non-negative integer, not '%s'", opt, s);
        return 0;
    }
    *out = v;
    return 1;
}

static int report_error(int json, corral_status_t st, const corral_err_t *err) {
    if (json) {
        json_t *o = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", corral_err_msg(err), "status",
                              corral_status_name(st));
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s) puts(s);
        free(s);
        json_decref(o);
    } else {
        corral_cli_error("%s", corral_err_msg(err));
    }
    return corral_cli_exit_for(st);
}

/* cmd_lattice.c: the same command through a lattice when --lattice is given */
int corral_cli_lattice_wants(int argc, char **argv);
int corral_cli_lattice_cmd(int argc, char **argv);

int corral_cli_call(int argc, char **argv) {
    if (corral_cli_lattice_wants(argc, argv)) return corral_cli_lattice_cmd(argc, argv);
    static const struct option opts[] = {{"payload", required_argument, NULL, 'p'},
                                         {"payload-file", required_argument, NULL, 'f'},
                                         {"host-call", required_argument, NULL, 'H'},
                                         {"deadline-ms", required_argument, NULL, 'd'},
                                         {"fuel", required_argument, NULL, 'F'},
                                         {"max-pages", required_argument, NULL, 'm'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    /* A key or alias instead of a file means: the call goes to a running host. */
    if (corral_cli_call_is_remote(argc, argv)) return corral_cli_call_remote(argc, argv);
    const char *payload = NULL, *payload_file = NULL;
    host_mode_t mode = HOST_ERROR;
    corral_wapc_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    int json = 0, c;
    uint64_t v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:f:H:d:F:m:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'p': payload = optarg; break;
        case 'f': payload_file = optarg; break;
        case 'H':
            if (strcmp(optarg, "error") == 0) mode = HOST_ERROR;
            else if (strcmp(optarg, "echo") == 0) mode = HOST_ECHO;
            else if (strcmp(optarg, "empty") == 0) mode = HOST_EMPTY;
            else {
                corral_cli_error("--host-call must be error, echo or empty, not '%s'", optarg);
                return CORRAL_EXIT_USAGE;
            }
            break;
        case 'd':
            if (!parse_u64(optarg, "--deadline-ms", &v) || v > UINT64_MAX / 1000000u)
                return CORRAL_EXIT_USAGE;
            cfg.limits.deadline_ns = v * 1000000u;
            break;
        case 'F':
            if (!parse_u64(optarg, "--fuel", &v)) return CORRAL_EXIT_USAGE;
            cfg.limits.fuel = v;
            break;
        case 'm':
            if (!parse_u64(optarg, "--max-pages", &v)) return CORRAL_EXIT_USAGE;
            if (v == 0 || v > 65536) {
                corral_cli_error("--max-pages must be between 1 and 65536");
                return CORRAL_EXIT_USAGE;
            }
            cfg.limits.max_pages = (uint32_t)v;
            break;
        case 'j': json = 1; break;
        case 'h': call_usage(stdout); return CORRAL_EXIT_OK;
        default: call_usage(stderr); return CORRAL_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        corral_cli_error("call needs a module and an operation (see 'corral call --help')");
        return CORRAL_EXIT_USAGE;
    }
    if (payload && payload_file) {
        corral_cli_error("give --payload or --payload-file, not both");
        return CORRAL_EXIT_USAGE;
    }
    const char *path = argv[optind], *op = argv[optind + 1];
    cfg.host_call = cli_host;
    cfg.log = cli_log;
    cfg.user = &mode;

    int rc;
    corral_err_t err;
    corral_status_t st;
    corral_buf_t wasm = CORRAL_BUF_INIT, body = CORRAL_BUF_INIT, resp = CORRAL_BUF_INIT;
    corral_wapc_module_t *m = NULL;
    corral_wapc_instance_t *inst = NULL;
    corral_err_clear(&err);
    if ((st = corral_file_read(path, 0, &wasm, &err)) != CORRAL_OK) goto fail;
    if (payload_file && (st = corral_file_read(payload_file, 0, &body, &err)) != CORRAL_OK)
        goto fail;
    if (payload && (st = corral_buf_append_str(&body, payload)) != CORRAL_OK) {
        corral_err_set(&err, st, NULL);
        goto fail;
    }
    if ((st = corral_wapc_module_new(wasm.data, wasm.len, &m, &err)) != CORRAL_OK) {
        corral_err_wrap(&err, "%s", path);
        goto fail;
    }
    if ((st = corral_wapc_instance_new(m, &cfg, &inst, &err)) != CORRAL_OK) {
        corral_err_wrap(&err, "instantiating %s", path);
        goto fail;
    }
    st = corral_wapc_instance_call(inst, op, strlen(op), body.data, body.len, &resp, &err);
    if (st != CORRAL_OK) goto fail;
    if (json) {
        corral_buf_t b64 = CORRAL_BUF_INIT;
        if ((st = corral_base64_encode(resp.data, resp.len, &b64)) != CORRAL_OK ||
            (st = corral_buf_terminate(&b64)) != CORRAL_OK) {
            corral_buf_free(&b64);
            corral_err_set(&err, st, NULL);
            goto fail;
        }
        printf("{\"ok\": true, \"response\": \"%s\"}\n", b64.data ? (char *)b64.data : "");
        corral_buf_free(&b64);
    } else if (resp.len) {
        fwrite(resp.data, 1, resp.len, stdout);
    }
    rc = fflush(stdout) == 0 ? CORRAL_EXIT_OK : CORRAL_EXIT_INTERNAL;
    goto done;
fail:
    rc = report_error(json, st, &err);
done:
    corral_wapc_instance_free(inst);
    corral_wapc_module_free(m);
    corral_buf_free(&wasm);
    corral_buf_free(&body);
    corral_buf_free(&resp);
    return rc;
}

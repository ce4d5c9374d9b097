/*
 * control_client.h - the CLI side of the control socket (docs/control.md):
 * connect to a running host's <run dir>/control.sock, send one JSON request
 * per line, read one JSON reply per line. Used by `corral get`, `start`,
 * `stop`, `update`, `link` and the remote form of `call`. Independent of the
 * host library: it only speaks the documented protocol.
 *
 * Thread-safety: a connection belongs to one thread at a time.
 */
#ifndef CORRAL_CONTROL_CLIENT_H
#define CORRAL_CONTROL_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "corral_base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corral_ctl corral_ctl_t;

/* The default run dir of docs/control.md: $XDG_RUNTIME_DIR/corral, else
 * /tmp/corral-<uid>. CORRAL_ERR_TOO_LARGE when it does not fit in n. */
corral_status_t corral_ctl_default_run_dir(char *out, size_t n);

/* Connects to <run_dir>/control.sock (run_dir NULL = the default). Errors:
 * CORRAL_ERR_CLOSED "no host is running: cannot connect to <path>: <OS
 * error>", CORRAL_ERR_TOO_LARGE (path longer than a socket address holds),
 * CORRAL_ERR_NOMEM. *out is NULL on failure. */
corral_status_t corral_ctl_connect(const char *run_dir, corral_ctl_t **out, corral_err_t *err);

/* Closes the connection. NULL is a no-op. */
void corral_ctl_close(corral_ctl_t *c);

/* The socket path this connection uses (borrowed). */
const char *corral_ctl_path(const corral_ctl_t *c);

/* Sends `req` (a JSON object, borrowed) and waits for the reply (bounded by
 * timeout_ms, 0 = 120 s). On {"ok": true} *result_out (may be NULL) receives
 * a new reference to "result" (json_decref it). On {"ok": false} returns the
 * status named by "code" (CORRAL_ERR_INTERNAL for a name this build does not
 * know) with the host's "error" text in err. CORRAL_ERR_IO / _CLOSED / _PARSE
 * / _TIMEOUT when the socket fails or the reply is not a JSON object. */
corral_status_t corral_ctl_request(corral_ctl_t *c, json_t *req, unsigned timeout_ms,
                                   json_t **result_out, corral_err_t *err);

/* Connect, one request, close: the common case for a CLI command. */
corral_status_t corral_ctl_once(const char *run_dir, json_t *req, json_t **result_out,
                                corral_err_t *err);

/* Maps a status name from a reply ("ERR_NO_LINK", with or without the
 * "CORRAL_" prefix) to its code; CORRAL_ERR_INTERNAL when unknown. */
corral_status_t corral_ctl_status_from_name(const char *name);

/* The status name used on the wire for st ("ERR_NO_LINK"). Static string. */
const char *corral_ctl_status_name(corral_status_t st);

/* For CLI commands: sends `req` (stolen: it is freed here) to the host at
 * run_dir and returns an exit code (cli.h). On failure prints
 * "corral: <message>" to stderr. On success *res_out (may be NULL) receives
 * the result object (json_decref it). */
int corral_ctl_cli(const char *run_dir, json_t *req, json_t **res_out);

/* Parses "K=V" into a string member of obj (made on first use). Prints an
 * error and returns CORRAL_EXIT_USAGE when there is no '=' or K is empty. */
int corral_ctl_add_kv(json_t **obj, const char *kv, const char *what);

/* Whether a `corral call` command line means a running host: --run-dir is
 * given, or its first positional argument (the module or actor) is a bare
 * name: not an existing file, without a '/', not ending in ".wasm" (so a
 * mistyped module path still gets "cannot open"). Options that take a value (--payload, --payload-file,
 * --host-call, --deadline-ms, --fuel, --max-pages, --run-dir, in either
 * "--opt value" or "--opt=value" form) are skipped while looking. */
int corral_cli_call_is_remote(int argc, char **argv);

/* `corral call <actor key or alias> <operation> [--payload TEXT |
 * --payload-file F] [--run-dir D] [--json]`: calls an actor of a running host
 * through the control socket and writes the response bytes to stdout.
 * argv[0] is "call". Returns an exit code (cli.h). cmd_call.c hands over to
 * this when its first argument is not an existing file. */
int corral_cli_call_remote(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif

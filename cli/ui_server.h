/*
 * ui_server.h - the web dashboard behind `corral ui` (docs/ui.md): a small
 * HTTP server (libmicrohttpd) on a loopback port serving one embedded HTML
 * page and a JSON API under /api/. Every request it makes of the host goes
 * through the control client (control_client.h), the same path as `corral
 * get inventory`, `corral update actor` and `corral link`: it adds no
 * host-side protocol.
 *
 * With a lattice configured (corral_ui_config_t.lattice) the dashboard shows
 * every host of that lattice instead, through the lattice control client
 * (lattice_client.h, the path of `corral ... --lattice`): the same API and
 * the same input checks, another backend.
 *
 * Every HTTP request is treated as hostile: the Host header must name this
 * server (a DNS-rebinding guard), POSTs need the per-run token in the
 * X-Corral-UI-Token header (another web page cannot read it, so it cannot
 * drive the buttons), bodies are bounded and validated field by field, and
 * every refusal is a 4xx with {"error": "..."}.
 *
 * Thread-safety: corral_ui_handle may be called from several threads at once
 * (the rate state is locked); new/start/free belong to one thread.
 */
#ifndef CORRAL_UI_SERVER_H
#define CORRAL_UI_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "corral_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest POST body accepted (413 beyond). */
#define CORRAL_UI_MAX_BODY (16u * 1024u)

typedef struct corral_ui corral_ui_t;

typedef struct corral_ui_config {
    const char *run_dir;      /* the host's run dir; NULL = the default of docs/control.md */
    const char *bind;         /* address to listen on; NULL = "127.0.0.1" */
    uint16_t port;            /* 0 = any free port (see corral_ui_port) */
    int allow_remote;         /* accept a bind address that is not loopback */
    const uint8_t *page;      /* the HTML page (borrowed for the server's life); its
                                 "{{TOKEN}}" and "{{NONCE}}" are filled in per response */
    size_t page_len;
    const char *token;        /* the POST token; NULL = 32 random hex digits */
    /* The lattice backend: when lattice is set, run_dir is not used and every
     * request goes over NATS (lattice_client.h) to the lattice's hosts. The
     * strings are copied. NATS is first reached on the first request (the
     * dashboard may start before it). */
    const char *lattice;      /* the lattice name, or NULL for one host's socket */
    const char *nats_url;     /* NULL = nats://127.0.0.1:4222 */
    const char *nats_creds;   /* a NATS credentials file, or NULL */
    const char *nats_nkey;    /* a NATS user nkey seed or its file, or NULL */
    long timeout_ms;          /* per lattice answer; 0 = 2000 */
} corral_ui_config_t;

/* Checks the configuration and makes a server that does not listen yet.
 * Errors: CORRAL_ERR_INVALID_ARG (bind is not an IPv4/IPv6 address or
 * "localhost"; bind is not loopback and allow_remote is 0 - the message
 * says why; a lattice name that cannot be a subject token),
 * CORRAL_ERR_UNSUPPORTED (a lattice, in a build without lattice support),
 * CORRAL_ERR_IO (no randomness for the token), CORRAL_ERR_NOMEM.
 * *out is NULL on failure. */
corral_status_t corral_ui_new(const corral_ui_config_t *cfg, corral_ui_t **out, corral_err_t *err);

/* Starts listening (an internal thread answers requests). CORRAL_ERR_IO
 * when the address cannot be bound. */
corral_status_t corral_ui_start(corral_ui_t *ui, corral_err_t *err);

/* The port listened on (after corral_ui_start; the real one for port 0). */
uint16_t corral_ui_port(const corral_ui_t *ui);

/* The per-run POST token (borrowed; lives as long as ui). */
const char *corral_ui_token(const corral_ui_t *ui);

/* Writes "http://ADDR:PORT/" into out (IPv6 in brackets). */
void corral_ui_url(const corral_ui_t *ui, char *out, size_t n);

/* Stops listening (waits for the request being answered) and frees. NULL
 * is a no-op. */
void corral_ui_free(corral_ui_t *ui);

/* One HTTP request, transport-independent (what the libmicrohttpd callback
 * hands over, and what tests build directly). Header values are NULL when
 * absent. body_too_large: the transport stopped reading past
 * CORRAL_UI_MAX_BODY (body is then NULL). */
typedef struct corral_ui_request {
    const char *method, *path;
    const char *host, *origin, *token, *content_type;
    const char *body;
    size_t body_len;
    int body_too_large;
} corral_ui_request_t;

typedef struct corral_ui_response {
    unsigned status;
    const char *content_type; /* static string */
    const char *allow;        /* the Allow header of a 405, else NULL */
    int html;                 /* the page: send the page's security headers */
    char nonce[33];           /* the page's script/style nonce (html only) */
    corral_buf_t body;        /* owned: corral_ui_response_free */
} corral_ui_response_t;

/* Answers one request into *rs (always filled, also on out of memory: a
 * 500 with an empty body). Blocks while the host answers (bounded by the
 * control client's timeouts). */
void corral_ui_handle(corral_ui_t *ui, const corral_ui_request_t *rq, corral_ui_response_t *rs);

void corral_ui_response_free(corral_ui_response_t *rs);

/* For `corral up --ui-port` (defined in cmd_ui.c, which holds the embedded
 * page): a dashboard for the host whose run dir is run_dir, on
 * 127.0.0.1:port, started, its URL logged. Errors as corral_ui_new and
 * corral_ui_start. Free with corral_ui_free before the host stops. */
corral_status_t corral_cli_ui_serve(const char *run_dir, uint16_t port, corral_ui_t **out,
                                    corral_err_t *err);

/* The same for `corral up --lattice L --ui-port N`: the lattice view of
 * lattice L at nats_url (creds / nkey as for the host, NULL = none). */
corral_status_t corral_cli_ui_serve_lattice(const char *lattice, const char *nats_url,
                                            const char *nats_creds, const char *nats_nkey,
                                            uint16_t port, corral_ui_t **out, corral_err_t *err);

#ifdef __cplusplus
}
#endif

#endif

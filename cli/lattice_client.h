/*
 * lattice_client.h - the CLI's control client for a lattice (docs/lattice.md
 * subjects over NATS): what `corral get|start|stop|update|link ... --lattice`
 * (cmd_lattice.c) and the lattice view of `corral ui` (ui_server.c) send. It
 * is to a lattice what control_client.h is to one host's control socket: it
 * builds the requests and reads the answers; it prints nothing. Callers turn
 * its errors into messages (cmd_lattice.c prints them as they are, so the CLI
 * says exactly what it said before this file existed) or HTTP answers.
 *
 * Built only with lattice support (CORRAL_HAVE_LATTICE: libnats).
 *
 * Errors (corral_err_t messages are for people):
 *   CORRAL_ERR_INVALID_ARG  a bad option (--nats-creds, --nats-nkey, a lattice
 *                           or host name that cannot be a subject token)
 *   CORRAL_ERR_IO           NATS unreachable, or a NATS error on a request
 *   CORRAL_ERR_CLOSED       no one listens on the subject (no such host, or
 *                           no host in the lattice)
 *   CORRAL_ERR_TIMEOUT      the host did not answer in the client's timeout
 *   CORRAL_ERR_TOO_LARGE    the request is above the server's message limit
 *   CORRAL_ERR_PARSE        the answer is not a JSON object
 *   CORRAL_ERR_STATE        the host answered and refused (its reason is in
 *                           the message); CORRAL_ERR_UPDATE_REFUSED for an
 *                           update, CORRAL_ERR_NO_ACTOR when no host runs the
 *                           actor asked for
 *   CORRAL_ERR_NOMEM
 *   a file's status         a module file that cannot be read (the message
 *                           names the file)
 *
 * Thread-safety: one corral_lc_t may be used from several threads at once
 * (libnats connections are thread-safe and the client keeps no other mutable
 * state); connect / close belong to one thread.
 */
#ifndef CORRAL_LATTICE_CLIENT_H
#define CORRAL_LATTICE_CLIENT_H

#include <jansson.h>
#include <nats/nats.h>

#include "corral_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How long ping.hosts and auction answers are collected. */
#define CORRAL_LC_DISCOVER_MS 500

typedef struct corral_lc corral_lc_t;

typedef struct corral_lc_config {
    const char *lattice;   /* the lattice name (no '.', '*', '>' or space) */
    const char *url;       /* NATS server(s) */
    const char *creds;     /* a NATS credentials file, or NULL */
    const char *nkey;      /* a NATS user nkey seed (SU...) or its file, or NULL */
    long timeout_ms;       /* how long to wait for each answer; 0 = 2000 */
    const char *conn_name; /* the NATS connection's name; NULL = "corral-cli" */
    int keep_reconnecting; /* a long-lived client (the dashboard): retry a lost
                              server for ever instead of libnats' 60 times */
    /* Told about a host that failed while several were asked (a host that
     * did not answer its inventory request while looking for an actor): the
     * request goes on with the others. NULL = not told. Called on the
     * caller's thread. */
    void (*warn)(void *ctx, const char *msg);
    void *warn_ctx;
} corral_lc_config_t;

/* Connects to NATS. The strings of cfg are copied. Errors: INVALID_ARG (the
 * options: its message is the one the CLI prints), IO (NATS unreachable:
 * "cannot reach NATS at URL: ..."), NOMEM. *out is NULL on failure. */
corral_status_t corral_lc_connect(const corral_lc_config_t *cfg, corral_lc_t **out,
                                  corral_err_t *err);

/* Closes the connection and wipes the nkey. NULL is a no-op. */
void corral_lc_close(corral_lc_t *lc);

/* The connection (borrowed, for what this file does not cover: calls and
 * their chunk bucket), the lattice name and the per-answer timeout. */
natsConnection *corral_lc_nats(corral_lc_t *lc);
const char *corral_lc_lattice(const corral_lc_t *lc);
long corral_lc_timeout_ms(const corral_lc_t *lc);

/* Publishes payload on subj and collects every JSON object answered within
 * wait_ms. Never NULL except out of memory; an empty array when nobody
 * answered. The caller owns the array. */
json_t *corral_lc_collect(corral_lc_t *lc, const char *subj, const char *payload, long wait_ms);

/* One request / reply on subj with req (stolen, NULL = out of memory). who
 * names the answerer in messages ("host N..."). *out: the JSON object
 * answered (owned by the caller). */
corral_status_t corral_lc_request(corral_lc_t *lc, const char *subj, json_t *req, const char *who,
                                  json_t **out, corral_err_t *err);

/* A control command (la, sa, upd, lp, sp) to host with req (stolen). *res:
 * the ack's "result" on acceptance (an empty object when it had none).
 * Refused: CORRAL_ERR_STATE (UPDATE_REFUSED for upd), "host H refused:
 * <its reason>". */
corral_status_t corral_lc_cmd(corral_lc_t *lc, const char *host, const char *op, json_t *req,
                              json_t **res, corral_err_t *err);

/* Every host's ping.hosts answer ({"id", "labels", "uptime_seconds", ...})
 * collected for CORRAL_LC_DISCOVER_MS; NULL only out of memory. */
json_t *corral_lc_ping(corral_lc_t *lc);

/* The keys (strings) of corral_lc_ping's hosts; NULL only out of memory. */
json_t *corral_lc_hosts(corral_lc_t *lc);

/* One host's inventory (get.<host>.inv): the host's control `inventory`
 * result plus its "labels". */
corral_status_t corral_lc_inventory(corral_lc_t *lc, const char *host, json_t **inv,
                                    corral_err_t *err);

/* The lattice's link definitions (get.links): *links is its "links" array
 * ({"actor_id", "contract_id", "link_name", "values", ...}). */
corral_status_t corral_lc_links(corral_lc_t *lc, json_t **links, corral_err_t *err);

/* The keys of the hosts running an actor (by key or call alias; actor = 1)
 * or a provider (by key), from every host's inventory (a host that fails
 * goes to warn). None: an empty array and CORRAL_ERR_NO_ACTOR /
 * CORRAL_ERR_NOT_FOUND "no host of lattice L runs actor|provider X". */
corral_status_t corral_lc_hosts_running(corral_lc_t *lc, const char *what, int actor,
                                        json_t **found, corral_err_t *err);

/* Chunks a module left in the lattice's chunk bucket; see corral_lc_module. */
typedef struct corral_lc_module {
    char prefix[96];  /* "" when the module went inline */
    kvStore *kv;
    jsCtx *js;
    int file_failed; /* the module file could not be read (the CLI exits 3) */
} corral_lc_module_t;

/* Puts the module file at path into req: inline ("module_b64") when the
 * message stays under the server's limit, else in the lattice's chunk
 * bucket CHUNKS_<lattice> ("module_ref"). Always follow with
 * corral_lc_module_cleanup (also on failure). Errors: the file's status
 * (unreadable), IO (the bucket), NOMEM. */
corral_status_t corral_lc_module(corral_lc_t *lc, const char *path, json_t *req,
                                 corral_lc_module_t *m, corral_err_t *err);

/* Removes whatever chunks the host did not fetch (it purges those it read). */
void corral_lc_module_cleanup(corral_lc_module_t *m);

/* update actor on one host: corral_lc_module, op upd, cleanup. *res: the
 * host's result ({"key", "old_rev", "new_rev", "swap_pause_us", ...}). */
corral_status_t corral_lc_update(corral_lc_t *lc, const char *host, const char *actor,
                                 const char *path, json_t **res, corral_err_t *err);

/* linkdefs.put (put = 1, with values (borrowed; NULL = none) and an
 * optional provider key) or linkdefs.del for actor / contract / link name
 * (NULL = "default"). Refused: CORRAL_ERR_STATE, "link put|del refused:
 * <reason>". *ack (may be NULL): the acknowledgement. */
corral_status_t corral_lc_link(corral_lc_t *lc, int put, const char *actor, const char *contract,
                               const char *link_name, json_t *values, const char *provider,
                               json_t **ack, corral_err_t *err);

#ifdef __cplusplus
}
#endif

#endif

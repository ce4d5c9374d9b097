/*
 * ui_server.c - the dashboard server of `corral ui` (ui_server.h,
 * docs/ui.md). corral_ui_handle is the whole API, written against a plain
 * request struct so it is tested without a socket (tests/ui/test_ui_api.c);
 * the libmicrohttpd glue at the bottom only bounds and collects the body,
 * copies four headers in and sends what the handler made.
 *
 * The host is reached only through control_client.h, one connection per
 * request: inventory for the tables, update_actor for the update button,
 * link_del + link_put for the relink button - the same operations
 * `corral get`, `corral update actor` and `corral link` send.
 *
 * The lattice backend (a lattice name in the configuration) answers the
 * same three API calls through lattice_client.h instead, the path of
 * `corral get hosts|inventory|links`, `corral update actor` and `corral
 * link put|del` with --lattice: ping.hosts and every host's inventory for
 * the tables, upd on every host running the actor, linkdefs.del + put.
 * The request checks (parse_body, get_str, the module path, the values)
 * are the same functions for both.
 */
#include "ui_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "control_client.h"
#ifdef CORRAL_HAVE_LATTICE
#include "lattice_client.h"
#endif

#define UI_MAX_FIELD 256u       /* actor, contract id, link name, value key */
#define UI_MAX_PATH 4096u       /* module path */
#define UI_MAX_VALUE 4096u      /* a link value */
#define UI_MAX_VALUES 64u       /* values of one link */
#define UI_RATE_MIN_NS 500000000ull /* a new rate sample at most every 0.5 s */
#define UI_INVENTORY_TIMEOUT_MS 10000u
#define UI_DISCARD_MAX (1u << 20) /* bytes of an oversize body read before closing */

typedef struct ui_counter {
    char key[128]; /* the actor's key; "<host key>/<actor key>" on a lattice */
    unsigned long long calls, errors;
    double cps, eps;
    int have_rate;
} ui_counter_t;

struct corral_ui {
    char *run_dir;
    char *lattice, *nats_url, *nats_creds, *nats_nkey; /* lattice != NULL: the lattice backend */
    long timeout_ms;
#ifdef CORRAL_HAVE_LATTICE
    pthread_mutex_t lc_mu; /* guards lc (connected on first use) */
    corral_lc_t *lc;
#endif
    char bind[INET6_ADDRSTRLEN];
    int ipv6;
    uint16_t port;
    char token[65];
    const uint8_t *page;
    size_t page_len;
    struct MHD_Daemon *d;

    pthread_mutex_t mu; /* guards the rate state below */
    ui_counter_t *counters;
    size_t n_counters;
    uint64_t sample_ns; /* when counters were sampled; 0 = never */
    double interval_s;  /* the interval the current rates cover */
};

/* ---- helpers ---------------------------------------------------------- */

static corral_status_t random_hex(char *out, size_t nbytes, corral_err_t *err) {
    uint8_t b[32];
    if (nbytes > sizeof b) nbytes = sizeof b;
    size_t got = 0;
    while (got < nbytes) {
        ssize_t n = getrandom(b + got, nbytes - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return corral_err_set(err, CORRAL_ERR_IO, "getrandom: %s", strerror(errno));
        got += (size_t)n;
    }
    for (size_t i = 0; i < nbytes; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
    return CORRAL_OK;
}

/* Constant time for equal lengths: the token must not leak by timing. */
static int token_equal(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    unsigned diff = (unsigned)(la ^ lb);
    for (size_t i = 0; i < la && i < lb; i++) diff |= (unsigned)(a[i] ^ b[i]);
    return diff == 0;
}

static void set_body(corral_ui_response_t *rs, unsigned status, const char *ctype, char *text) {
    corral_buf_free(&rs->body);
    rs->status = status;
    rs->content_type = ctype;
    if (!text || corral_buf_append_str(&rs->body, text) != CORRAL_OK) {
        corral_buf_free(&rs->body);
        rs->status = 500;
        rs->content_type = "text/plain; charset=utf-8";
    }
}

/* Steals obj. */
static void reply_json(corral_ui_response_t *rs, unsigned status, json_t *obj) {
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    set_body(rs, status, "application/json", text);
    free(text);
    json_decref(obj);
}

static void reply_error(corral_ui_response_t *rs, unsigned status, const char *fmt, ...)
    CORRAL_PRINTF(3, 4);
static void reply_error(corral_ui_response_t *rs, unsigned status, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* msg may carry bytes from the request: jansson refuses invalid UTF-8, so
     * fall back to a fixed text rather than an empty reply */
    json_t *s = json_string(msg);
    reply_json(rs, status, json_pack("{s:o}", "error", s ? s : json_string("bad request")));
}

/* A failure of the host or of the way to it: 502 when the host could not
 * be reached or did not answer, 409 when it answered no. */
static void reply_host_error(corral_ui_response_t *rs, corral_status_t st, const corral_err_t *err) {
    unsigned status = (st == CORRAL_ERR_CLOSED || st == CORRAL_ERR_IO || st == CORRAL_ERR_TIMEOUT) ? 502
                      : st == CORRAL_ERR_NOMEM                                                    ? 500
                                                                                                  : 409;
    json_t *msg = json_string(corral_err_msg(err));
    reply_json(rs, status,
               json_pack("{s:o, s:s}", "error", msg ? msg : json_string("the host refused"), "code",
                         corral_ctl_status_name(st)));
}

/* One control request over a fresh connection (steals req). */
static corral_status_t ctl_call(corral_ui_t *ui, json_t *req, unsigned timeout_ms, json_t **res,
                                corral_err_t *err) {
    corral_ctl_t *c = NULL;
    corral_status_t st;
    if (res) *res = NULL;
    if (!req) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = corral_ctl_connect(ui->run_dir, &c, err)) != CORRAL_OK) goto fail;
    st = corral_ctl_request(c, req, timeout_ms, res, err);
fail:
    corral_ctl_close(c);
    json_decref(req);
    return st;
}

/* ---- request bodies --------------------------------------------------- */

/* Parses a POST body: a JSON object whose members are all in `allowed`. */
static json_t *parse_body(const corral_ui_request_t *rq, const char *const *allowed,
                          corral_ui_response_t *rs) {
    if (rq->body_too_large || rq->body_len > CORRAL_UI_MAX_BODY) {
        reply_error(rs, 413, "request body larger than %u bytes", CORRAL_UI_MAX_BODY);
        return NULL;
    }
    if (!rq->body || rq->body_len == 0) {
        reply_error(rs, 400, "empty request body: send a JSON object");
        return NULL;
    }
    json_error_t je;
    json_t *o = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        reply_error(rs, 400, "request body is not valid JSON: %s (at byte %d)", je.text, je.position);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        reply_error(rs, 400, "request body must be a JSON object");
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++) ok |= strcmp(k, allowed[i]) == 0;
        if (!ok) {
            reply_error(rs, 400, "unknown field '%.64s'", k);
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* A string member 1..max bytes long. Missing: *out = dflt (NULL = required). */
static int get_str(json_t *o, const char *name, size_t max, const char *dflt, const char **out,
                   corral_ui_response_t *rs) {
    json_t *v = json_object_get(o, name);
    if (!v) {
        if (dflt) {
            *out = dflt;
            return 1;
        }
        reply_error(rs, 400, "missing field '%s'", name);
        return 0;
    }
    if (!json_is_string(v)) {
        reply_error(rs, 400, "field '%s' must be a string", name);
        return 0;
    }
    size_t n = json_string_length(v);
    if (n == 0 || n > max) {
        reply_error(rs, 400, "field '%s' must be 1 to %zu bytes long", name, max);
        return 0;
    }
    *out = json_string_value(v);
    return 1;
}

/* ---- GET /api/state --------------------------------------------------- */

static const ui_counter_t *counter_find(const ui_counter_t *c, size_t n, const char *key) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].key, key) == 0) return &c[i];
    return NULL;
}

static unsigned long long uint_of(json_t *o, const char *name) {
    json_t *v = json_object_get(o, name);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (unsigned long long)json_integer_value(v)
                                                           : 0;
}

/* Names an actor's counters: its key, with its host's in front on a
 * lattice (the same actor runs on several hosts, each counting its own). */
static int counter_key(json_t *a, char *out, size_t n) {
    const char *key = json_string_value(json_object_get(a, "key"));
    const char *host = json_string_value(json_object_get(a, "host_key"));
    if (!key) return 0;
    int len = host ? snprintf(out, n, "%s/%s", host, key) : snprintf(out, n, "%s", key);
    return len > 0 && (size_t)len < n;
}

/* Samples the actors' call and error counters and sets calls_per_s /
 * errors_per_s (null until two samples exist) on each actor object, like
 * `corral top` does between two scrapes. A sample younger than 0.5 s is not
 * replaced, so two pages polling at once still see rates over a real
 * interval. */
static corral_status_t add_rates(corral_ui_t *ui, json_t *inv, uint64_t now) {
    json_t *actors = json_object_get(inv, "actors"), *a;
    size_t n = json_array_size(actors), i;
    corral_status_t st = CORRAL_OK;
    pthread_mutex_lock(&ui->mu);
    if (ui->sample_ns == 0 || now - ui->sample_ns >= UI_RATE_MIN_NS) {
        double dt = ui->sample_ns ? (double)(now - ui->sample_ns) / 1e9 : 0;
        ui_counter_t *next = corral_calloc(n ? n : 1, sizeof *next);
        if (!next) {
            st = CORRAL_ERR_NOMEM;
            goto done;
        }
        size_t m = 0;
        json_array_foreach(actors, i, a) {
            char key[sizeof next[m].key];
            if (!counter_key(a, key, sizeof key)) continue;
            ui_counter_t *c = &next[m++];
            snprintf(c->key, sizeof c->key, "%s", key);
            c->calls = uint_of(a, "calls");
            c->errors = uint_of(a, "errors");
            const ui_counter_t *old = counter_find(ui->counters, ui->n_counters, key);
            /* a counter that went back is a restarted actor: no rate this time */
            if (old && dt > 0 && c->calls >= old->calls && c->errors >= old->errors) {
                c->cps = (double)(c->calls - old->calls) / dt;
                c->eps = (double)(c->errors - old->errors) / dt;
                c->have_rate = 1;
            }
        }
        corral_free(ui->counters);
        ui->counters = next;
        ui->n_counters = m;
        ui->sample_ns = now;
        ui->interval_s = dt;
    }
    json_array_foreach(actors, i, a) {
        char key[sizeof ui->counters[0].key];
        const ui_counter_t *c =
            counter_key(a, key, sizeof key) ? counter_find(ui->counters, ui->n_counters, key) : NULL;
        if (!json_is_object(a)) continue;
        json_object_set_new(a, "calls_per_s", c && c->have_rate ? json_real(c->cps) : json_null());
        json_object_set_new(a, "errors_per_s", c && c->have_rate ? json_real(c->eps) : json_null());
    }
    json_object_set_new(inv, "rate_interval_s", json_real(ui->interval_s));
done:
    pthread_mutex_unlock(&ui->mu);
    return st;
}

#ifdef CORRAL_HAVE_LATTICE
static void lat_state(corral_ui_t *ui, corral_ui_response_t *rs);
#endif

static void api_state(corral_ui_t *ui, corral_ui_response_t *rs) {
#ifdef CORRAL_HAVE_LATTICE
    if (ui->lattice) {
        lat_state(ui, rs);
        return;
    }
#endif
    corral_err_t err;
    corral_err_clear(&err);
    json_t *inv = NULL;
    corral_status_t st =
        ctl_call(ui, json_pack("{s:s}", "op", "inventory"), UI_INVENTORY_TIMEOUT_MS, &inv, &err);
    if (st != CORRAL_OK) {
        reply_host_error(rs, st, &err);
        return;
    }
    if (!json_is_object(inv) || !json_is_array(json_object_get(inv, "actors"))) {
        json_decref(inv);
        reply_error(rs, 502, "the host's inventory has no actors list");
        return;
    }
    if (add_rates(ui, inv, corral_now_ns()) != CORRAL_OK) {
        json_decref(inv);
        reply_error(rs, 500, "out of memory");
        return;
    }
    reply_json(rs, 200, inv);
}

/* ---- the lattice backend ---------------------------------------------- */

#ifdef CORRAL_HAVE_LATTICE

/* The lattice client, connected on first use and kept for the server's
 * life (libnats reconnects it for ever); never freed while requests run. */
static corral_status_t lat_client(corral_ui_t *ui, corral_lc_t **out, corral_err_t *err) {
    corral_status_t st = CORRAL_OK;
    pthread_mutex_lock(&ui->lc_mu);
    if (!ui->lc) {
        corral_lc_config_t cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.lattice = ui->lattice;
        cfg.url = ui->nats_url;
        cfg.creds = ui->nats_creds;
        cfg.nkey = ui->nats_nkey;
        cfg.timeout_ms = ui->timeout_ms;
        cfg.conn_name = "corral-ui";
        cfg.keep_reconnecting = 1;
        st = corral_lc_connect(&cfg, &ui->lc, err);
        /* a bad credential is not the browser's fault: the lattice is unreachable */
        if (st == CORRAL_ERR_INVALID_ARG) st = CORRAL_ERR_IO;
    }
    *out = ui->lc;
    pthread_mutex_unlock(&ui->lc_mu);
    return st;
}

static int host_key_ok(const char *s) { return s && *s && strlen(s) < 64 && !strpbrk(s, ".*> "); }

/* Copies each object of src into dst with "host_key" added. */
static int append_with_host(json_t *dst, json_t *src, const char *host) {
    size_t i;
    json_t *e;
    json_array_foreach(src, i, e) {
        json_t *c = json_is_object(e) ? json_deep_copy(e) : NULL;
        if (!c || json_object_set_new(c, "host_key", json_string(host)) ||
            json_array_append_new(dst, c))
            return 0;
    }
    return 1;
}

/* GET /api/state on a lattice: every host answering ping.hosts (sorted by
 * key), each host's inventory (its actors and providers flattened into
 * lists carrying "host_key"), and the lattice's link definitions. */
static void lat_state(corral_ui_t *ui, corral_ui_response_t *rs) {
    corral_err_t err;
    corral_err_clear(&err);
    corral_lc_t *lc;
    corral_status_t st = lat_client(ui, &lc, &err);
    if (st != CORRAL_OK) {
        reply_host_error(rs, st, &err);
        return;
    }
    json_t *ping = corral_lc_ping(lc), *sorted = json_array(), *hosts = json_array();
    json_t *actors = json_array(), *provs = json_array(), *links = json_array(), *out = NULL, *h;
    json_t *ll = NULL;
    size_t i, j;
    if (!ping || !sorted || !hosts || !actors || !provs || !links) goto nomem;
    json_array_foreach(ping, i, h) {
        const char *id = json_string_value(json_object_get(h, "id"));
        if (!host_key_ok(id)) continue; /* hostile or broken answer */
        for (j = 0; j < json_array_size(sorted); j++)
            if (strcmp(id, json_string_value(json_object_get(json_array_get(sorted, j), "id"))) < 0)
                break;
        if (json_array_insert(sorted, j, h)) goto nomem;
    }
    if (!json_array_size(sorted)) {
        corral_err_set(&err, CORRAL_ERR_CLOSED, "no host of lattice %s answered ping.hosts in %d ms",
                       ui->lattice, CORRAL_LC_DISCOVER_MS);
        reply_host_error(rs, CORRAL_ERR_CLOSED, &err);
        goto done;
    }
    json_array_foreach(sorted, i, h) {
        const char *id = json_string_value(json_object_get(h, "id"));
        json_t *inv = NULL, *labels = json_object_get(h, "labels");
        json_t *up = json_object_get(h, "uptime_seconds");
        st = corral_lc_inventory(lc, id, &inv, &err);
        if (st == CORRAL_OK) {
            if (json_is_object(json_object_get(inv, "labels"))) labels = json_object_get(inv, "labels");
            if (json_is_integer(json_object_get(inv, "uptime_s"))) up = json_object_get(inv, "uptime_s");
        }
        /* "o" takes the reference made here (also when the pack fails) */
        json_t *ho = json_pack("{s:s, s:o, s:o, s:I, s:I}", "host_key", id, "labels",
                               json_is_object(labels) ? json_incref(labels) : json_object(),
                               "uptime_s", json_is_integer(up) ? json_incref(up) : json_integer(0),
                               "actors",
                               (json_int_t)json_array_size(json_object_get(inv, "actors")),
                               "providers",
                               (json_int_t)json_array_size(json_object_get(inv, "providers")));
        if (ho && st != CORRAL_OK) json_object_set_new(ho, "error", json_string(corral_err_msg(&err)));
        int ok = ho && json_array_append_new(hosts, ho) == 0 &&
                 append_with_host(actors, json_object_get(inv, "actors"), id) &&
                 append_with_host(provs, json_object_get(inv, "providers"), id);
        json_decref(inv);
        if (!ok) goto nomem;
    }
    out = json_pack("{s:s, s:O, s:O, s:O, s:O}", "lattice", ui->lattice, "hosts", hosts, "actors",
                    actors, "providers", provs, "links", links);
    if (!out) goto nomem;
    /* the link definitions are the lattice's (its bucket), not one host's */
    if ((st = corral_lc_links(lc, &ll, &err)) != CORRAL_OK) {
        json_object_set_new(out, "links_error", json_string(corral_err_msg(&err)));
    } else {
        json_array_foreach(ll, i, h) {
            const char *a = json_string_value(json_object_get(h, "actor_id"));
            const char *c = json_string_value(json_object_get(h, "contract_id"));
            const char *n = json_string_value(json_object_get(h, "link_name"));
            const char *p = json_string_value(json_object_get(h, "provider_id"));
            json_t *v = json_object_get(h, "values");
            if (!a || !c) continue;
            json_t *l = json_pack("{s:s, s:s, s:s, s:o}", "actor", a, "contract_id", c, "link_name",
                                  n && *n ? n : "default", "values",
                                  json_is_object(v) ? json_incref(v) : json_object());
            if (l && p && *p) json_object_set_new(l, "provider", json_string(p));
            if (!l || json_array_append_new(links, l)) goto nomem;
        }
    }
    if (add_rates(ui, out, corral_now_ns()) != CORRAL_OK) goto nomem;
    reply_json(rs, 200, out);
    out = NULL;
    goto done;
nomem:
    reply_error(rs, 500, "out of memory");
done:
    json_decref(out);
    json_decref(ll);
    json_decref(ping);
    json_decref(sorted);
    json_decref(hosts);
    json_decref(actors);
    json_decref(provs);
    json_decref(links);
}

/* POST /api/update on a lattice: the module to every host running the
 * actor (or to "host" alone), as `corral update actor --lattice` does. The
 * answer is the first host's result plus "hosts" (every host's); a host
 * that refuses makes it the refusal, saying how many hosts took it. */
static void lat_update(corral_ui_t *ui, const char *actor, const char *path, const char *host,
                       corral_ui_response_t *rs) {
    corral_err_t err, first_err;
    corral_err_clear(&err);
    corral_err_clear(&first_err);
    corral_lc_t *lc;
    json_t *hosts = NULL, *results = json_array(), *h;
    corral_status_t first = CORRAL_OK;
    size_t i;
    corral_status_t st = lat_client(ui, &lc, &err);
    if (st == CORRAL_OK) {
        if (host) {
            if (!host_key_ok(host)) {
                reply_error(rs, 400, "field 'host' must be a host key (N...)");
                goto done;
            }
            hosts = json_pack("[s]", host);
        } else {
            st = corral_lc_hosts_running(lc, actor, 1, &hosts, &err);
        }
    }
    if (st != CORRAL_OK || !results || !hosts) {
        if (st == CORRAL_OK) reply_error(rs, 500, "out of memory");
        else reply_host_error(rs, st, &err);
        goto done;
    }
    json_array_foreach(hosts, i, h) {
        json_t *res = NULL;
        const char *hk = json_string_value(h);
        if ((st = corral_lc_update(lc, hk, actor, path, &res, &err)) != CORRAL_OK) {
            if (first == CORRAL_OK) {
                first = st;
                first_err = err;
            }
            continue;
        }
        if (!json_is_object(res) || json_object_set_new(res, "host_id", json_string(hk)) ||
            json_array_append_new(results, res)) {
            json_decref(res);
            reply_error(rs, 500, "out of memory");
            goto done;
        }
    }
    if (first != CORRAL_OK) {
        if (json_array_size(results))
            corral_err_wrap(&first_err, "updated on %zu of %zu hosts", json_array_size(results),
                            json_array_size(hosts));
        reply_host_error(rs, first, &first_err);
        goto done;
    }
    json_t *out = json_deep_copy(json_array_get(results, 0));
    if (!out || json_object_set(out, "hosts", results)) {
        json_decref(out);
        reply_error(rs, 500, "out of memory");
        goto done;
    }
    reply_json(rs, 200, out);
done:
    json_decref(hosts);
    json_decref(results);
}

/* An actor's module key: as given when a link names it, else from the
 * lattice's claims by call alias or name (what `corral call --lattice`
 * does); NULL when unknown. */
static const char *lat_actor_key(corral_lc_t *lc, const char *lattice, json_t *links,
                                 const char *actor, char *buf, size_t n) {
    size_t i;
    json_t *l, *claims = NULL, *c;
    json_array_foreach(links, i, l) {
        const char *a = json_string_value(json_object_get(l, "actor_id"));
        if (a && strcmp(a, actor) == 0) return actor;
    }
    char subj[256], who[300];
    corral_err_t err;
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.get.claims", lattice);
    snprintf(who, sizeof who, "no host of lattice %s (asked for its claims)", lattice);
    if (corral_lc_request(lc, subj, json_object(), who, &claims, &err) != CORRAL_OK) return NULL;
    buf[0] = 0;
    json_array_foreach(json_object_get(claims, "claims"), i, c) {
        const char *alias = json_string_value(json_object_get(c, "call_alias"));
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *sub = json_string_value(json_object_get(c, "sub"));
        if (sub && ((alias && strcmp(alias, actor) == 0) || (name && strcmp(name, actor) == 0))) {
            snprintf(buf, n, "%s", sub);
            break;
        }
    }
    json_decref(claims);
    return buf[0] ? buf : NULL;
}

/* POST /api/relink on a lattice: linkdefs.del of the existing definition,
 * then linkdefs.put with the new name and values (its provider kept), as
 * `corral link del` and `corral link put` with --lattice send. A refused
 * put puts the old definition back. */
static void lat_relink(corral_ui_t *ui, const char *actor, const char *contract, const char *name,
                       const char *new_name, json_t *values, corral_ui_response_t *rs) {
    corral_err_t err;
    corral_err_clear(&err);
    corral_lc_t *lc;
    json_t *links = NULL, *l, *link = NULL, *old = NULL;
    char kbuf[128];
    size_t i;
    corral_status_t st = lat_client(ui, &lc, &err);
    if (st == CORRAL_OK) st = corral_lc_links(lc, &links, &err);
    if (st != CORRAL_OK) {
        reply_host_error(rs, st, &err);
        goto done;
    }
    const char *key = lat_actor_key(lc, ui->lattice, links, actor, kbuf, sizeof kbuf);
    if (!key) {
        reply_error(rs, 404, "no actor '%.256s' in lattice %s (neither a linked key nor a known "
                             "call alias or name)", actor, ui->lattice);
        goto done;
    }
    json_array_foreach(links, i, l) {
        const char *la = json_string_value(json_object_get(l, "actor_id"));
        const char *lc_ = json_string_value(json_object_get(l, "contract_id"));
        const char *ln = json_string_value(json_object_get(l, "link_name"));
        if (la && lc_ && strcmp(la, key) == 0 && strcmp(lc_, contract) == 0 &&
            strcmp(ln && *ln ? ln : "default", name) == 0) {
            link = l;
            break;
        }
    }
    if (!link) {
        reply_error(rs, 404, "lattice %s has no link of actor '%.256s' to %.256s named '%.256s'",
                    ui->lattice, actor, contract, name);
        goto done;
    }
    old = json_object_get(link, "values");
    old = json_is_object(old) ? json_deep_copy(old) : json_object();
    const char *prov = json_string_value(json_object_get(link, "provider_id"));
    if (prov && !*prov) prov = NULL;
    if (!old) {
        reply_error(rs, 500, "out of memory");
        goto done;
    }
    if ((st = corral_lc_link(lc, 0, key, contract, name, NULL, NULL, NULL, &err)) != CORRAL_OK) {
        reply_host_error(rs, st, &err);
        goto done;
    }
    if ((st = corral_lc_link(lc, 1, key, contract, new_name, values, prov, NULL, &err)) != CORRAL_OK) {
        corral_err_t err2;
        corral_err_clear(&err2);
        if (corral_lc_link(lc, 1, key, contract, name, old, prov, NULL, &err2) == CORRAL_OK)
            corral_err_wrap(&err, "the lattice refused the new link (the old link is back)");
        else
            corral_err_wrap(&err, "the lattice refused the new link, and putting the old link back "
                                  "failed too (%s)", corral_err_msg(&err2));
        reply_host_error(rs, st, &err);
        goto done;
    }
    reply_json(rs, 200,
               json_pack("{s:s, s:s, s:s, s:O, s:s, s:O}", "actor", key, "contract_id", contract,
                         "link_name", new_name, "values", values, "old_link_name", name,
                         "old_values", old));
done:
    json_decref(old);
    json_decref(links);
}

#endif /* CORRAL_HAVE_LATTICE */

/* ---- POST /api/update ------------------------------------------------- */

static void api_update(corral_ui_t *ui, const corral_ui_request_t *rq, corral_ui_response_t *rs) {
    static const char *const fields[] = {"actor", "path", NULL};
    static const char *const lat_fields[] = {"actor", "path", "host", NULL};
    const char *actor, *path, *host = NULL;
    char *abs = NULL;
    json_t *body = parse_body(rq, ui->lattice ? lat_fields : fields, rs), *res = NULL;
    if (!body) return;
    if (!get_str(body, "actor", UI_MAX_FIELD, NULL, &actor, rs) ||
        !get_str(body, "path", UI_MAX_PATH, NULL, &path, rs) ||
        (json_object_get(body, "host") && !get_str(body, "host", UI_MAX_FIELD, NULL, &host, rs)))
        goto done;
    /* the server's working directory means nothing to someone in a browser */
    if (path[0] != '/') {
        reply_error(rs, 400, "path must be absolute (a signed module on the dashboard's machine)");
        goto done;
    }
    struct stat sb;
    if (!(abs = realpath(path, NULL)) || stat(abs, &sb) != 0) {
        reply_error(rs, 400, "%.512s: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        reply_error(rs, 400, "%.512s: not a regular file", path);
        goto done;
    }
#ifdef CORRAL_HAVE_LATTICE
    if (ui->lattice) {
        lat_update(ui, actor, abs, host, rs);
        goto done;
    }
#endif
    (void)host;
    corral_err_t err;
    corral_err_clear(&err);
    corral_status_t st = ctl_call(
        ui, json_pack("{s:s, s:s, s:s}", "op", "update_actor", "actor", actor, "path", abs), 0, &res,
        &err);
    if (st != CORRAL_OK) {
        reply_host_error(rs, st, &err);
        goto done;
    }
    reply_json(rs, 200, res);
    res = NULL;
done:
    free(abs);
    json_decref(res);
    json_decref(body);
}

/* ---- POST /api/relink ------------------------------------------------- */

/* Checks `values`: an object of at most UI_MAX_VALUES string members. */
static int check_values(json_t *values, corral_ui_response_t *rs) {
    if (!json_is_object(values)) {
        reply_error(rs, 400, "field 'values' must be an object of strings");
        return 0;
    }
    if (json_object_size(values) > UI_MAX_VALUES) {
        reply_error(rs, 400, "field 'values' has more than %u entries", UI_MAX_VALUES);
        return 0;
    }
    const char *k;
    json_t *v;
    json_object_foreach(values, k, v) {
        size_t kl = strlen(k);
        if (kl == 0 || kl > UI_MAX_FIELD) {
            reply_error(rs, 400, "a key in 'values' must be 1 to %u bytes long", UI_MAX_FIELD);
            return 0;
        }
        if (!json_is_string(v) || json_string_length(v) > UI_MAX_VALUE ||
            strlen(json_string_value(v)) != json_string_length(v)) {
            reply_error(rs, 400, "values['%.64s'] must be a string of at most %u bytes", k,
                        UI_MAX_VALUE);
            return 0;
        }
    }
    return 1;
}

/* Finds the actor (key or call alias) and its link in an inventory. */
static const char *find_link(json_t *inv, const char *actor, const char *contract,
                             const char *link_name, json_t **link_out) {
    json_t *a, *l;
    size_t i;
    const char *key = NULL;
    *link_out = NULL;
    json_array_foreach(json_object_get(inv, "actors"), i, a) {
        const char *k = json_string_value(json_object_get(a, "key"));
        const char *al = json_string_value(json_object_get(a, "call_alias"));
        if (k && (strcmp(k, actor) == 0 || (al && *al && strcmp(al, actor) == 0))) {
            key = k;
            break;
        }
    }
    if (!key) return NULL;
    json_array_foreach(json_object_get(inv, "links"), i, l) {
        const char *la = json_string_value(json_object_get(l, "actor"));
        const char *lc = json_string_value(json_object_get(l, "contract_id"));
        const char *ln = json_string_value(json_object_get(l, "link_name"));
        if (la && lc && strcmp(la, key) == 0 && strcmp(lc, contract) == 0 &&
            strcmp(ln ? ln : "default", link_name) == 0) {
            *link_out = l;
            break;
        }
    }
    return key;
}

static json_t *link_req(const char *op, const char *actor, const char *contract, const char *name,
                        json_t *values) {
    json_t *r = json_pack("{s:s, s:s, s:s, s:s}", "op", op, "actor", actor, "contract_id", contract,
                          "link_name", name);
    if (r && values && json_object_set(r, "values", values) != 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* Relink = link del of the existing link, then link put with the new link
 * name and values (what `corral link del` and `corral link put` send).
 * When the host refuses the new link, the old one is put back. */
static void api_relink(corral_ui_t *ui, const corral_ui_request_t *rq, corral_ui_response_t *rs) {
    static const char *const fields[] = {"actor", "contract_id", "link_name", "new_link_name",
                                         "values", NULL};
    const char *actor, *contract, *name, *new_name;
    json_t *body = parse_body(rq, fields, rs), *inv = NULL, *values, *old = NULL;
    if (!body) return;
    if (!get_str(body, "actor", UI_MAX_FIELD, NULL, &actor, rs) ||
        !get_str(body, "contract_id", UI_MAX_FIELD, NULL, &contract, rs) ||
        !get_str(body, "link_name", UI_MAX_FIELD, "default", &name, rs) ||
        !get_str(body, "new_link_name", UI_MAX_FIELD, name, &new_name, rs))
        goto done;
    values = json_object_get(body, "values");
    if (!values) {
        values = json_object();
        if (!values || json_object_set_new(body, "values", values) != 0) {
            reply_error(rs, 500, "out of memory");
            goto done;
        }
    }
    if (!check_values(values, rs)) goto done;
#ifdef CORRAL_HAVE_LATTICE
    if (ui->lattice) {
        lat_relink(ui, actor, contract, name, new_name, values, rs);
        goto done;
    }
#endif

    corral_err_t err;
    corral_err_clear(&err);
    corral_status_t st =
        ctl_call(ui, json_pack("{s:s}", "op", "inventory"), UI_INVENTORY_TIMEOUT_MS, &inv, &err);
    if (st != CORRAL_OK) {
        reply_host_error(rs, st, &err);
        goto done;
    }
    json_t *link;
    const char *key = find_link(inv, actor, contract, name, &link);
    if (!key) {
        reply_error(rs, 404, "no actor '%.256s' on this host", actor);
        goto done;
    }
    if (!link) {
        reply_error(rs, 404, "actor '%.256s' has no link to %.256s named '%.256s'", actor, contract,
                    name);
        goto done;
    }
    old = json_object_get(link, "values");
    old = json_is_object(old) ? json_deep_copy(old) : json_object();
    if (!old) {
        reply_error(rs, 500, "out of memory");
        goto done;
    }
    if ((st = ctl_call(ui, link_req("link_del", key, contract, name, NULL), 0, NULL, &err))) {
        reply_host_error(rs, st, &err);
        goto done;
    }
    if ((st = ctl_call(ui, link_req("link_put", key, contract, new_name, values), 0, NULL, &err))) {
        corral_err_t err2;
        corral_err_clear(&err2);
        corral_status_t st2 = ctl_call(ui, link_req("link_put", key, contract, name, old), 0, NULL, &err2);
        if (st2 == CORRAL_OK)
            corral_err_wrap(&err, "the host refused the new link (the old link is back)");
        else
            corral_err_wrap(&err, "the host refused the new link, and putting the old link back "
                                  "failed too (%s)", corral_err_msg(&err2));
        reply_host_error(rs, st, &err);
        goto done;
    }
    reply_json(rs, 200,
               json_pack("{s:s, s:s, s:s, s:O, s:s, s:O}", "actor", key, "contract_id", contract,
                         "link_name", new_name, "values", values, "old_link_name", name,
                         "old_values", old));
done:
    json_decref(old);
    json_decref(inv);
    json_decref(body);
}

/* ---- the page --------------------------------------------------------- */

static void serve_page(corral_ui_t *ui, corral_ui_response_t *rs) {
    corral_err_t err;
    if (random_hex(rs->nonce, 16, &err) != CORRAL_OK) {
        reply_error(rs, 500, "%s", corral_err_msg(&err));
        return;
    }
    corral_buf_free(&rs->body);
    const char *p = (const char *)ui->page, *end = p + ui->page_len;
    corral_status_t st = CORRAL_OK;
    while (p < end && st == CORRAL_OK) {
        const char *mark = memchr(p, '{', (size_t)(end - p));
        if (!mark) {
            st = corral_buf_append(&rs->body, p, (size_t)(end - p));
            break;
        }
        if ((st = corral_buf_append(&rs->body, p, (size_t)(mark - p))) != CORRAL_OK) break;
        size_t left = (size_t)(end - mark);
        if (left >= 9 && memcmp(mark, "{{TOKEN}}", 9) == 0) {
            st = corral_buf_append_str(&rs->body, ui->token);
            p = mark + 9;
        } else if (left >= 9 && memcmp(mark, "{{NONCE}}", 9) == 0) {
            st = corral_buf_append_str(&rs->body, rs->nonce);
            p = mark + 9;
        } else {
            st = corral_buf_append(&rs->body, mark, 1);
            p = mark + 1;
        }
    }
    if (st != CORRAL_OK) {
        set_body(rs, 500, NULL, NULL);
        return;
    }
    rs->status = 200;
    rs->content_type = "text/html; charset=utf-8";
    rs->html = 1;
}

/* ---- routing ---------------------------------------------------------- */

/* Whether Host names this server: a loopback name or the bind address,
 * with our port. Another name is a DNS-rebinding attempt (a hostile page
 * whose name now resolves to 127.0.0.1 would be same-origin otherwise). */
static int host_ok(const corral_ui_t *ui, const char *host) {
    char want[INET6_ADDRSTRLEN + 16];
    const char *names[] = {"127.0.0.1", "localhost", "[::1]", NULL};
    if (!host) return 0;
    for (size_t i = 0; names[i]; i++) {
        snprintf(want, sizeof want, "%s:%u", names[i], (unsigned)ui->port);
        if (strcasecmp(host, want) == 0) return 1;
    }
    snprintf(want, sizeof want, ui->ipv6 ? "[%s]:%u" : "%s:%u", ui->bind, (unsigned)ui->port);
    return strcasecmp(host, want) == 0;
}

void corral_ui_handle(corral_ui_t *ui, const corral_ui_request_t *rq, corral_ui_response_t *rs) {
    memset(rs, 0, sizeof *rs);
    const char *m = rq->method ? rq->method : "", *path = rq->path ? rq->path : "";
    int get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
    if (!host_ok(ui, rq->host)) {
        reply_error(rs, 403, "the Host header must name this dashboard (127.0.0.1:%u or "
                             "localhost:%u): other names are refused against DNS rebinding",
                    (unsigned)ui->port, (unsigned)ui->port);
        return;
    }
    int is_page = strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0;
    int is_state = strcmp(path, "/api/state") == 0;
    int is_update = strcmp(path, "/api/update") == 0, is_relink = strcmp(path, "/api/relink") == 0;
    if (!is_page && !is_state && !is_update && !is_relink) {
        reply_error(rs, 404, "no such path (the API is GET /api/state, POST /api/update, POST "
                             "/api/relink)");
        return;
    }
    if ((is_page || is_state) && !get) {
        reply_error(rs, 405, "%s takes GET only", is_page ? "the page" : "/api/state");
        rs->allow = "GET";
        return;
    }
    if ((is_update || is_relink) && !post) {
        reply_error(rs, 405, "%s takes POST only", path);
        rs->allow = "POST";
        return;
    }
    if (post) {
        /* A cross-site form or fetch cannot set this header without a CORS
         * preflight, which this server never grants, and cannot read the
         * page that holds the token. */
        if (!rq->token || !token_equal(rq->token, ui->token)) {
            reply_error(rs, 403, "missing or wrong X-Corral-UI-Token header (the dashboard page "
                                 "sends it; other pages cannot)");
            return;
        }
        if (rq->origin) {
            char want[INET6_ADDRSTRLEN + 32];
            snprintf(want, sizeof want, "http://%s", rq->host);
            if (strcasecmp(rq->origin, want) != 0) {
                reply_error(rs, 403, "cross-origin request refused");
                return;
            }
        }
        if (!rq->content_type || strncasecmp(rq->content_type, "application/json", 16) != 0 ||
            (rq->content_type[16] != '\0' && rq->content_type[16] != ';')) {
            reply_error(rs, 415, "Content-Type must be application/json");
            return;
        }
    }
    if (is_page) serve_page(ui, rs);
    else if (is_state) api_state(ui, rs);
    else if (is_update) api_update(ui, rq, rs);
    else api_relink(ui, rq, rs);
}

void corral_ui_response_free(corral_ui_response_t *rs) {
    if (rs) corral_buf_free(&rs->body);
}

/* ---- lifecycle -------------------------------------------------------- */

corral_status_t corral_ui_new(const corral_ui_config_t *cfg, corral_ui_t **out, corral_err_t *err) {
    corral_status_t st;
    *out = NULL;
    const char *bind = cfg->bind ? cfg->bind : "127.0.0.1";
    if (strcasecmp(bind, "localhost") == 0) bind = "127.0.0.1";
    struct in_addr a4;
    struct in6_addr a6;
    int v4 = inet_pton(AF_INET, bind, &a4) == 1, v6 = !v4 && inet_pton(AF_INET6, bind, &a6) == 1;
    if (!v4 && !v6)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "--bind needs an IPv4 or IPv6 address (or localhost), not '%s'", bind);
    int loopback = v4 ? (ntohl(a4.s_addr) >> 24) == 127 : IN6_IS_ADDR_LOOPBACK(&a6);
    if (!loopback && !cfg->allow_remote)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "refusing to serve the dashboard on %s: it is not a loopback "
                              "address, and the dashboard has no login (anyone who can reach "
                              "it can update actors); add --allow-remote to do it anyway",
                              bind);
    if (cfg->lattice) {
#ifndef CORRAL_HAVE_LATTICE
        return corral_err_set(err, CORRAL_ERR_UNSUPPORTED,
                              "this corral was built without lattice support (libnats)");
#endif
        if (!*cfg->lattice || strpbrk(cfg->lattice, ".*> "))
            return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "lattice name '%s' is not valid",
                                  cfg->lattice);
    }
    if (cfg->token && (strlen(cfg->token) < 16 || strlen(cfg->token) > 64))
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "the token must be 16 to 64 characters");
    corral_ui_t *ui = corral_calloc(1, sizeof *ui);
    if (!ui) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    if (pthread_mutex_init(&ui->mu, NULL) != 0) {
        corral_free(ui);
        return corral_err_set(err, CORRAL_ERR_INTERNAL, "cannot create a lock");
    }
#ifdef CORRAL_HAVE_LATTICE
    if (pthread_mutex_init(&ui->lc_mu, NULL) != 0) {
        pthread_mutex_destroy(&ui->mu);
        corral_free(ui);
        return corral_err_set(err, CORRAL_ERR_INTERNAL, "cannot create a lock");
    }
#endif
    snprintf(ui->bind, sizeof ui->bind, "%s", bind);
    ui->ipv6 = v6;
    ui->port = cfg->port;
    ui->page = cfg->page;
    ui->page_len = cfg->page ? cfg->page_len : 0;
    if (cfg->run_dir && !(ui->run_dir = corral_strdup(cfg->run_dir))) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        goto fail;
    }
    ui->timeout_ms = cfg->timeout_ms;
    if ((cfg->lattice && !(ui->lattice = corral_strdup(cfg->lattice))) ||
        (cfg->nats_url && !(ui->nats_url = corral_strdup(cfg->nats_url))) ||
        (cfg->nats_creds && !(ui->nats_creds = corral_strdup(cfg->nats_creds))) ||
        (cfg->nats_nkey && !(ui->nats_nkey = corral_strdup(cfg->nats_nkey)))) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (cfg->token) snprintf(ui->token, sizeof ui->token, "%s", cfg->token);
    else if ((st = random_hex(ui->token, 16, err)) != CORRAL_OK) goto fail;
    *out = ui;
    return CORRAL_OK;
fail:
    corral_ui_free(ui);
    return st;
}

uint16_t corral_ui_port(const corral_ui_t *ui) { return ui->port; }

const char *corral_ui_token(const corral_ui_t *ui) { return ui->token; }

void corral_ui_url(const corral_ui_t *ui, char *out, size_t n) {
    snprintf(out, n, ui->ipv6 ? "http://[%s]:%u/" : "http://%s:%u/", ui->bind, (unsigned)ui->port);
}

void corral_ui_free(corral_ui_t *ui) {
    if (!ui) return;
    if (ui->d) MHD_stop_daemon(ui->d);
    pthread_mutex_destroy(&ui->mu);
#ifdef CORRAL_HAVE_LATTICE
    corral_lc_close(ui->lc);
    pthread_mutex_destroy(&ui->lc_mu);
#endif
    corral_free(ui->lattice);
    corral_free(ui->nats_url);
    corral_free(ui->nats_creds);
    corral_free(ui->nats_nkey);
    corral_free(ui->counters);
    corral_free(ui->run_dir);
    corral_free(ui);
}

/* ---- libmicrohttpd glue ----------------------------------------------- */

typedef struct ui_conn {
    corral_buf_t body;
    size_t discarded;
    int too_large;
} ui_conn_t;

static enum MHD_Result send_response(struct MHD_Connection *c, const corral_ui_response_t *rs) {
    struct MHD_Response *m = MHD_create_response_from_buffer(
        rs->body.len, rs->body.data ? (void *)rs->body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (!m) return MHD_NO;
    MHD_add_response_header(m, "Content-Type",
                            rs->content_type ? rs->content_type : "text/plain; charset=utf-8");
    MHD_add_response_header(m, "Cache-Control", "no-store");
    MHD_add_response_header(m, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(m, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(m, "X-Frame-Options", "DENY");
    if (rs->allow) MHD_add_response_header(m, "Allow", rs->allow);
    if (rs->html) {
        char csp[320];
        snprintf(csp, sizeof csp,
                 "default-src 'none'; script-src 'nonce-%s'; style-src 'nonce-%s'; "
                 "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                 rs->nonce, rs->nonce);
        MHD_add_response_header(m, "Content-Security-Policy", csp);
    }
    enum MHD_Result ret = MHD_queue_response(c, rs->status, m);
    MHD_destroy_response(m);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, corral_ui_t *ui, unsigned status,
                                  const char *msg) {
    corral_ui_response_t rs;
    memset(&rs, 0, sizeof rs);
    (void)ui;
    reply_error(&rs, status, "%s", msg);
    enum MHD_Result ret = send_response(c, &rs);
    corral_ui_response_free(&rs);
    return ret;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls) {
    corral_ui_t *ui = cls;
    ui_conn_t *r = *con_cls;
    (void)version;
    if (!r) {
        if (!(r = corral_calloc(1, sizeof *r))) return MHD_NO;
        *con_cls = r;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long len = strtoull(cl, &end, 10);
            if (errno || end == cl || *end || len > CORRAL_UI_MAX_BODY) {
                /* answered before the body is read; libmicrohttpd closes after */
                r->too_large = 1;
                char msg[64];
                snprintf(msg, sizeof msg, "request body larger than %u bytes", CORRAL_UI_MAX_BODY);
                return send_error(c, ui, 413, msg);
            }
        }
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->too_large) {
            r->discarded += n;
            return r->discarded > UI_DISCARD_MAX ? MHD_NO : MHD_YES;
        }
        if (n > CORRAL_UI_MAX_BODY - r->body.len) {
            r->too_large = 1;
            corral_buf_free(&r->body);
            return MHD_YES;
        }
        if (corral_buf_append(&r->body, upload, n) != CORRAL_OK) return MHD_NO;
        return MHD_YES;
    }
    corral_ui_request_t rq;
    memset(&rq, 0, sizeof rq);
    rq.method = method;
    rq.path = url;
    rq.host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    rq.origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    rq.token = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Corral-UI-Token");
    rq.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    rq.body = (const char *)r->body.data;
    rq.body_len = r->body.len;
    rq.body_too_large = r->too_large;
    corral_ui_response_t rs;
    corral_ui_handle(ui, &rq, &rs);
    enum MHD_Result ret = send_response(c, &rs);
    corral_ui_response_free(&rs);
    return ret;
}

static void completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)c;
    (void)toe;
    ui_conn_t *r = *con_cls;
    if (!r) return;
    corral_buf_free(&r->body);
    corral_free(r);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = '\0';
    corral_log(CORRAL_LOG_DEBUG, "ui", "libmicrohttpd: %s", msg);
}

corral_status_t corral_ui_start(corral_ui_t *ui, corral_err_t *err) {
    struct sockaddr_in s4;
    struct sockaddr_in6 s6;
    const struct sockaddr *sa;
    /* A thread per connection (at most 32): a long update_actor (an AOT
     * compile, a slow host) must not stall the other tab's polling. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (ui->ipv6) {
        memset(&s6, 0, sizeof s6);
        s6.sin6_family = AF_INET6;
        s6.sin6_port = htons(ui->port);
        inet_pton(AF_INET6, ui->bind, &s6.sin6_addr);
        sa = (const struct sockaddr *)&s6;
        flags |= MHD_USE_IPv6;
    } else {
        memset(&s4, 0, sizeof s4);
        s4.sin_family = AF_INET;
        s4.sin_port = htons(ui->port);
        inet_pton(AF_INET, ui->bind, &s4.sin_addr);
        sa = (const struct sockaddr *)&s4;
    }
    ui->d = MHD_start_daemon(flags, ui->port, NULL, NULL, access_cb, ui, MHD_OPTION_SOCK_ADDR, sa,
                             MHD_OPTION_EXTERNAL_LOGGER, mhd_log, ui, MHD_OPTION_NOTIFY_COMPLETED,
                             completed_cb, ui, MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_END);
    if (!ui->d)
        return corral_err_set(err, CORRAL_ERR_IO, "cannot listen on %s port %u (in use?)", ui->bind,
                              (unsigned)ui->port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(ui->d, MHD_DAEMON_INFO_BIND_PORT);
    if (info && info->port) ui->port = info->port;
    return CORRAL_OK;
}

/*
 * greeter_provider.c - a complete capability provider built as a shared
 * object: the worked example of docs/providers.md. It serves the custom
 * contract "example:greeter":
 *
 *   Greet   payload: a name (plain UTF-8 text, may be empty)
 *           reply:   "<greeting>, <name>!" as plain text ("world" for an
 *                    empty name); <greeting> is the link value GREETING,
 *                    else the provider's config value GREETING, else "Hello"
 *   Count   reply:   how many Greet calls this link has answered, as decimal text
 *
 * It links against nothing of the host: it uses only the types of
 * corral_provider.h and the services table handed to create() (allocation
 * for buffers that change owner, logging). Links may change while calls run
 * on other threads, so the link table has its own mutex.
 *
 * Load it with `corral start provider ./greeter_provider.so` or a manifest
 * entry `capabilities: - path: greeter_provider.so`.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "corral_provider.h"

#define GREETER_CONTRACT "example:greeter"
#define GREETER_MAX_LINKS 64
#define GREETER_MAX_TEXT 64 /* greeting and key length, NUL included */
#define GREETER_MAX_NAME 256

typedef struct greeter_link {
    char actor_key[GREETER_MAX_TEXT];
    char link_name[GREETER_MAX_TEXT];
    char greeting[GREETER_MAX_TEXT];
    unsigned long greets;
} greeter_link_t;

typedef struct greeter {
    const corral_provider_host_t *host; /* outlives the instance (the interface says so) */
    char greeting[GREETER_MAX_TEXT];    /* provider-wide default */
    pthread_mutex_t mu;                 /* guards links[] and n_links */
    greeter_link_t links[GREETER_MAX_LINKS];
    size_t n_links;
} greeter_t;

/* The provider cannot call corral_err_set (that is in corral_base, which it
 * does not link): it fills the caller's record itself. */
static corral_status_t greeter_fail(corral_err_t *err, corral_status_t st, const char *msg) {
    if (err) {
        err->status = st;
        snprintf(err->msg, sizeof err->msg, "%s", msg);
    }
    return st;
}

/* Copies a configuration value that must fit a fixed buffer and be printable. */
static corral_status_t greeter_set_text(char *dst, const char *value, corral_err_t *err) {
    size_t n = strlen(value);
    if (n == 0 || n >= GREETER_MAX_TEXT)
        return greeter_fail(err, CORRAL_ERR_INVALID_ARG,
                            "example:greeter: GREETING must be 1 to 63 bytes");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)value[i] < 0x20)
            return greeter_fail(err, CORRAL_ERR_INVALID_ARG,
                                "example:greeter: GREETING holds a control character");
    memcpy(dst, value, n + 1);
    return CORRAL_OK;
}

static void greeter_describe(corral_provider_info_t *info) {
    info->contract_id = GREETER_CONTRACT;
    info->contract_aliases = NULL;
    info->name = "example:greeter";
    info->description = "greets by name (docs/providers.md example)";
    info->version = "1.0.0";
}

static corral_status_t greeter_create(const corral_provider_kv_t *config, size_t n_config,
                                      const corral_provider_host_t *host, void **instance,
                                      corral_err_t *err) {
    /* The host table may be newer (larger) than this header, never older. */
    if (!host || host->abi_version != CORRAL_PROVIDER_ABI_VERSION ||
        host->struct_size < sizeof *host)
        return greeter_fail(err, CORRAL_ERR_PROVIDER_ABI,
                            "example:greeter: the host speaks another provider ABI");
    greeter_t *g = host->alloc(sizeof *g);
    if (!g) return greeter_fail(err, CORRAL_ERR_NOMEM, "example:greeter: out of memory");
    memset(g, 0, sizeof *g);
    g->host = host;
    memcpy(g->greeting, "Hello", sizeof "Hello");
    for (size_t i = 0; i < n_config; i++) {
        if (strcmp(config[i].key, "GREETING") != 0) continue;
        corral_status_t st = greeter_set_text(g->greeting, config[i].value, err);
        if (st != CORRAL_OK) {
            host->free(g);
            return st;
        }
    }
    if (pthread_mutex_init(&g->mu, NULL) != 0) {
        host->free(g);
        return greeter_fail(err, CORRAL_ERR_NOMEM, "example:greeter: cannot make a mutex");
    }
    *instance = g;
    return CORRAL_OK;
}

static void greeter_destroy(void *instance) {
    greeter_t *g = instance;
    if (!g) return;
    pthread_mutex_destroy(&g->mu);
    g->host->free(g);
}

/* The link of (actor, link name), or NULL. Caller holds g->mu. */
static greeter_link_t *greeter_find(greeter_t *g, const char *actor_key, const char *link_name) {
    for (size_t i = 0; i < g->n_links; i++)
        if (strcmp(g->links[i].actor_key, actor_key) == 0 &&
            strcmp(g->links[i].link_name, link_name) == 0)
            return &g->links[i];
    return NULL;
}

static corral_status_t greeter_link(void *instance, const char *actor_key, const char *link_name,
                                    const corral_provider_kv_t *values, size_t n_values,
                                    corral_err_t *err) {
    greeter_t *g = instance;
    if (!link_name || !*link_name) link_name = "default";
    if (strlen(actor_key) >= GREETER_MAX_TEXT || strlen(link_name) >= GREETER_MAX_TEXT)
        return greeter_fail(err, CORRAL_ERR_INVALID_ARG, "example:greeter: key or link name too long");
    /* Validate before touching the table, so a bad value changes nothing.
     * The values also carry the host's __wasmcloud_* claim values; this
     * provider ignores every key but GREETING. */
    char greeting[GREETER_MAX_TEXT];
    memcpy(greeting, g->greeting, sizeof greeting);
    for (size_t i = 0; i < n_values; i++) {
        if (strcmp(values[i].key, "GREETING") != 0) continue;
        corral_status_t st = greeter_set_text(greeting, values[i].value, err);
        if (st != CORRAL_OK) return st;
    }
    pthread_mutex_lock(&g->mu);
    greeter_link_t *l = greeter_find(g, actor_key, link_name);
    if (!l) {
        if (g->n_links == GREETER_MAX_LINKS) {
            pthread_mutex_unlock(&g->mu);
            return greeter_fail(err, CORRAL_ERR_TOO_LARGE, "example:greeter: too many links");
        }
        l = &g->links[g->n_links++];
        memset(l, 0, sizeof *l);
        snprintf(l->actor_key, sizeof l->actor_key, "%s", actor_key);
        snprintf(l->link_name, sizeof l->link_name, "%s", link_name);
    }
    memcpy(l->greeting, greeting, sizeof l->greeting); /* a re-link replaces the values */
    pthread_mutex_unlock(&g->mu);
    char line[160];
    snprintf(line, sizeof line, "linked %.56s (%s) greeting '%s'", actor_key, link_name, greeting);
    g->host->log(g->host->ctx, CORRAL_LOG_INFO, "greeter", line);
    return CORRAL_OK;
}

static void greeter_unlink(void *instance, const char *actor_key, const char *link_name) {
    greeter_t *g = instance;
    if (!link_name || !*link_name) link_name = "default";
    pthread_mutex_lock(&g->mu);
    greeter_link_t *l = greeter_find(g, actor_key, link_name);
    if (l) *l = g->links[--g->n_links]; /* order does not matter */
    pthread_mutex_unlock(&g->mu);
}

/* Hands text to the host as a response buffer allocated with host->alloc. */
static corral_status_t greeter_reply(greeter_t *g, const char *text, size_t n,
                                     corral_provider_bytes_t *resp, corral_err_t *err) {
    resp->data = g->host->alloc(n ? n : 1);
    if (!resp->data) return greeter_fail(err, CORRAL_ERR_NOMEM, "example:greeter: out of memory");
    memcpy(resp->data, text, n);
    resp->len = n;
    return CORRAL_OK;
}

static corral_status_t greeter_call(void *instance, const corral_provider_call_t *call,
                                    corral_provider_bytes_t *resp, corral_err_t *err) {
    greeter_t *g = instance;
    resp->data = NULL;
    resp->len = 0;
    int greet = strcmp(call->operation, "Greet") == 0;
    if (!greet && strcmp(call->operation, "Count") != 0)
        return greeter_fail(err, CORRAL_ERR_UNSUPPORTED,
                            "example:greeter: unknown operation (expected Greet or Count)");
    /* The payload comes from a guest: bound it and refuse control bytes
     * before it goes into the reply. */
    if (greet && call->payload_len > GREETER_MAX_NAME)
        return greeter_fail(err, CORRAL_ERR_INVALID_ARG, "Greet: name longer than 256 bytes");
    for (size_t i = 0; greet && i < call->payload_len; i++)
        if (call->payload[i] < 0x20)
            return greeter_fail(err, CORRAL_ERR_INVALID_ARG, "Greet: name holds a control byte");

    char greeting[GREETER_MAX_TEXT];
    unsigned long count;
    pthread_mutex_lock(&g->mu);
    greeter_link_t *l = greeter_find(g, call->actor_key, call->link_name);
    if (!l) {
        pthread_mutex_unlock(&g->mu);
        return greeter_fail(err, CORRAL_ERR_NO_LINK, "example:greeter: the actor is not linked");
    }
    if (greet) l->greets++;
    count = l->greets;
    memcpy(greeting, l->greeting, sizeof greeting);
    pthread_mutex_unlock(&g->mu);

    char text[GREETER_MAX_TEXT + GREETER_MAX_NAME + 8];
    int n;
    if (!greet)
        n = snprintf(text, sizeof text, "%lu", count);
    else if (call->payload_len == 0)
        n = snprintf(text, sizeof text, "%s, world!", greeting);
    else
        n = snprintf(text, sizeof text, "%s, %.*s!", greeting, (int)call->payload_len,
                     (const char *)call->payload);
    return greeter_reply(g, text, (size_t)n, resp, err);
}

static corral_status_t greeter_health(void *instance, corral_err_t *err) {
    (void)instance;
    (void)err;
    return CORRAL_OK; /* no backend that could be down */
}

static const corral_provider_t greeter_provider = {
    .abi_version = CORRAL_PROVIDER_ABI_VERSION,
    .struct_size = sizeof(corral_provider_t),
    .describe = greeter_describe,
    .create = greeter_create,
    .destroy = greeter_destroy,
    .link = greeter_link,
    .unlink = greeter_unlink,
    .call = greeter_call,
    .health = greeter_health,
};

/* The one symbol the host looks up (CORRAL_PROVIDER_ENTRY_SYMBOL). */
__attribute__((visibility("default"))) const corral_provider_t *corral_provider_entry(void) {
    return &greeter_provider;
}

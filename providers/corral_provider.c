/*
 * corral_provider.c - the provider plumbing the host uses: table checks,
 * contract-id aliases, the registry of built-in providers, the shared-object
 * loader, and a standalone host services table for tests and tools.
 */
#include "corral_provider_int.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* ---- checks and names ------------------------------------------------------ */

corral_status_t corral_provider_check(const corral_provider_t *p, const char *origin,
                                      corral_err_t *err) {
    if (!origin) origin = "(built-in)";
    if (!p)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "provider %s: entry returned no table",
                              origin);
    if (p->abi_version != CORRAL_PROVIDER_ABI_VERSION)
        return corral_err_set(err, CORRAL_ERR_PROVIDER_ABI,
                              "provider %s was built for provider ABI %u, this host speaks %u: "
                              "rebuild it against this host's corral_provider.h",
                              origin, (unsigned)p->abi_version, CORRAL_PROVIDER_ABI_VERSION);
    if (p->struct_size < sizeof(corral_provider_t))
        return corral_err_set(err, CORRAL_ERR_PROVIDER_ABI,
                              "provider %s has a %u-byte table, this host needs at least %zu: "
                              "rebuild it against this host's corral_provider.h",
                              origin, (unsigned)p->struct_size, sizeof(corral_provider_t));
    if (!p->describe || !p->create || !p->destroy || !p->link || !p->unlink || !p->call)
        return corral_err_set(err, CORRAL_ERR_PROVIDER_ABI,
                              "provider %s lacks a mandatory function (describe, create, destroy, "
                              "link, unlink, call)",
                              origin);
    corral_provider_info_t info = {0};
    p->describe(&info);
    if (!info.contract_id || !*info.contract_id || !info.name || !*info.name)
        return corral_err_set(err, CORRAL_ERR_PROVIDER_ABI,
                              "provider %s does not describe its contract id and name", origin);
    return CORRAL_OK;
}

static const char *const aliases_[][2] = {
    {CORRAL_CONTRACT_KEYVALUE_WASCC, CORRAL_CONTRACT_KEYVALUE},
    {CORRAL_CONTRACT_LOGGING_WASCC, CORRAL_CONTRACT_LOGGING},
    {CORRAL_CONTRACT_HTTPSERVER_WASCC, CORRAL_CONTRACT_HTTPSERVER},
    {CORRAL_CONTRACT_NUMBERGEN_WASCC, CORRAL_CONTRACT_NUMBERGEN},
};

const char *corral_provider_contract_canonical(const char *id) {
    if (!id) return id;
    for (size_t i = 0; i < sizeof aliases_ / sizeof aliases_[0]; i++)
        if (strcmp(id, aliases_[i][0]) == 0) return aliases_[i][1];
    return id;
}

int corral_provider_serves(const corral_provider_t *p, const char *id) {
    if (!p || !id) return 0;
    corral_provider_info_t info = {0};
    p->describe(&info);
    const char *canon = corral_provider_contract_canonical(id);
    if (strcmp(info.contract_id, id) == 0 || strcmp(info.contract_id, canon) == 0) return 1;
    for (const char *const *a = info.contract_aliases; a && *a; a++)
        if (strcmp(*a, id) == 0) return 1;
    return 0;
}

/* ---- registry ---------------------------------------------------------------- */

#define REGISTRY_MAX 32

static const corral_provider_t *const builtin_[] = {
    &corral_provider_kv_memory, &corral_provider_kv_sqlite, &corral_provider_kv_redis,
    &corral_provider_logging,   &corral_provider_numbergen,
};
#define N_BUILTIN (sizeof builtin_ / sizeof builtin_[0])

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static const corral_provider_t *extra_[REGISTRY_MAX];
static size_t n_extra;

const corral_provider_t *corral_provider_builtin_at(size_t i) {
    if (i < N_BUILTIN) return builtin_[i];
    i -= N_BUILTIN;
    const corral_provider_t *p = NULL;
    pthread_mutex_lock(&reg_lock);
    if (i < n_extra) p = extra_[i];
    pthread_mutex_unlock(&reg_lock);
    return p;
}

const corral_provider_t *corral_provider_builtin_find(const char *name) {
    if (!name) return NULL;
    if (strcmp(name, "keyvalue") == 0) name = "keyvalue:memory";
    const corral_provider_t *p;
    for (size_t i = 0; (p = corral_provider_builtin_at(i)) != NULL; i++) {
        corral_provider_info_t info = {0};
        p->describe(&info);
        if (strcmp(info.name, name) == 0) return p;
    }
    return NULL;
}

const corral_provider_t *corral_provider_builtin_for_contract(const char *contract_id,
                                                             const char *backend) {
    if (!contract_id) return NULL;
    const corral_provider_t *p;
    for (size_t i = 0; (p = corral_provider_builtin_at(i)) != NULL; i++) {
        if (!corral_provider_serves(p, contract_id)) continue;
        if (!backend || !*backend) return p; /* the first listed is the default */
        corral_provider_info_t info = {0};
        p->describe(&info);
        const char *colon = strrchr(info.name, ':');
        if ((colon && strcmp(colon + 1, backend) == 0) || strcmp(info.name, backend) == 0)
            return p;
    }
    return NULL;
}

corral_status_t corral_provider_builtin_register(const corral_provider_t *p, corral_err_t *err) {
    corral_status_t st = corral_provider_check(p, "(registered)", err);
    if (st != CORRAL_OK) return st;
    corral_provider_info_t info = {0};
    p->describe(&info);
    pthread_mutex_lock(&reg_lock);
    st = CORRAL_OK;
    for (size_t i = 0; i < N_BUILTIN + n_extra && st == CORRAL_OK; i++) {
        const corral_provider_t *q = i < N_BUILTIN ? builtin_[i] : extra_[i - N_BUILTIN];
        corral_provider_info_t qi = {0};
        q->describe(&qi);
        if (strcmp(qi.name, info.name) == 0)
            st = corral_err_set(err, CORRAL_ERR_EXISTS, "a provider named '%s' is already registered",
                                info.name);
    }
    if (st == CORRAL_OK && n_extra == REGISTRY_MAX)
        st = corral_err_set(err, CORRAL_ERR_TOO_LARGE,
                            "provider registry is full (%d extra providers)", REGISTRY_MAX);
    if (st == CORRAL_OK) extra_[n_extra++] = p;
    pthread_mutex_unlock(&reg_lock);
    return st;
}

/* ---- loader -------------------------------------------------------------------- */

struct corral_provider_lib {
    void *handle;
    const corral_provider_t *provider;
    char *path;
};

corral_status_t corral_provider_load(const char *path, corral_provider_lib_t **out,
                                     corral_err_t *err) {
    *out = NULL;
    corral_provider_lib_t *lib = NULL;
    corral_status_t st;
    struct stat sb;
    if (!path || stat(path, &sb) != 0)
        return corral_err_set(err, CORRAL_ERR_NOT_FOUND, "provider %s: %s", path ? path : "(null)",
                              path ? strerror(errno) : "no path");
    lib = corral_calloc(1, sizeof *lib);
    if (!lib || !(lib->path = corral_strdup(path))) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "provider %s: out of memory", path);
        goto fail;
    }
    lib->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib->handle) {
        const char *e = dlerror();
        st = corral_err_set(err, CORRAL_ERR_IO, "provider %s cannot be loaded: %s", path,
                            e ? e : "unknown dlopen error");
        goto fail;
    }
    dlerror();
    void *sym = dlsym(lib->handle, CORRAL_PROVIDER_ENTRY_SYMBOL);
    if (!sym) {
        st = corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                            "provider %s does not export %s(): it is not a Corral provider", path,
                            CORRAL_PROVIDER_ENTRY_SYMBOL);
        goto fail;
    }
    corral_provider_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry); /* object -> function pointer, as POSIX allows */
    lib->provider = entry();
    if (!lib->provider) {
        st = corral_err_set(err, CORRAL_ERR_INVALID_ARG, "provider %s: %s() returned NULL", path,
                            CORRAL_PROVIDER_ENTRY_SYMBOL);
        goto fail;
    }
    st = corral_provider_check(lib->provider, path, err);
    if (st != CORRAL_OK) goto fail;
    *out = lib;
    return CORRAL_OK;
fail:
    corral_provider_unload(lib);
    return st;
}

const corral_provider_t *corral_provider_lib_provider(const corral_provider_lib_t *lib) {
    return lib ? lib->provider : NULL;
}

const char *corral_provider_lib_path(const corral_provider_lib_t *lib) {
    return lib ? lib->path : NULL;
}

void corral_provider_unload(corral_provider_lib_t *lib) {
    if (!lib) return;
    if (lib->handle) dlclose(lib->handle);
    corral_free(lib->path);
    corral_free(lib);
}

/* ---- helpers for built-ins -------------------------------------------------------- */

corral_status_t corral_provider_respond(const corral_provider_host_t *host, corral_buf_t *buf,
                                        corral_provider_bytes_t *resp, corral_err_t *err) {
    resp->data = NULL;
    resp->len = 0;
    if (buf->len == 0) {
        corral_buf_free(buf);
        return CORRAL_OK;
    }
    if (host->alloc == corral_malloc && host->free == corral_free) {
        resp->data = corral_buf_take(buf, &resp->len);
        return CORRAL_OK;
    }
    resp->data = host->alloc(buf->len);
    if (!resp->data) {
        corral_buf_free(buf);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory for a %zu-byte response",
                              buf->len);
    }
    memcpy(resp->data, buf->data, buf->len);
    resp->len = buf->len;
    corral_buf_free(buf);
    return CORRAL_OK;
}

void corral_provider_logf(const corral_provider_host_t *host, corral_log_level_t level,
                          const char *component, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (host && host->log)
        host->log(host->ctx, level, component, msg);
    else
        corral_log(level, component, "%s", msg);
}

const char *corral_provider_kv_get(const corral_provider_kv_t *kv, size_t n, const char *key) {
    for (size_t i = 0; i < n; i++)
        if (kv[i].key && strcmp(kv[i].key, key) == 0) return kv[i].value;
    return NULL;
}

/* ---- standalone host ---------------------------------------------------------------- */

static void default_log(void *ctx, corral_log_level_t level, const char *component,
                        const char *msg) {
    corral_log(level, component, "%s", msg);
}

static corral_status_t default_call(void *ctx, const char *actor_key, const char *link_name,
                                    const char *operation, const uint8_t *payload, size_t len,
                                    corral_provider_bytes_t *resp, corral_err_t *err) {
    resp->data = NULL;
    resp->len = 0;
    return corral_err_set(err, CORRAL_ERR_NO_ACTOR, "no actor %s: this is a standalone host",
                          actor_key ? actor_key : "(null)");
}

static corral_status_t default_call_async(void *ctx, const char *actor_key, const char *link_name,
                                          const char *operation, const uint8_t *payload, size_t len,
                                          uint32_t timeout_ms, corral_provider_reply_fn done,
                                          void *done_user, corral_err_t *err) {
    return corral_err_set(err, CORRAL_ERR_NO_ACTOR, "no actor %s: this is a standalone host",
                          actor_key ? actor_key : "(null)");
}

void corral_provider_host_init_default(corral_provider_host_t *host, const char *data_dir) {
    memset(host, 0, sizeof *host);
    host->abi_version = CORRAL_PROVIDER_ABI_VERSION;
    host->struct_size = sizeof *host;
    host->data_dir = data_dir;
    host->alloc = corral_malloc;
    host->free = corral_free;
    host->log = default_log;
    host->call_actor = default_call;
    host->call_actor_async = default_call_async;
}

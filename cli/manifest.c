/*
 * manifest.c - the host manifest parser behind `corral up` (docs/manifest.md).
 * libyaml loads the document into a node tree; this file walks the few shapes
 * the format allows and nothing else, so aliases and deep nesting cost no
 * more than the fixed schema (a self-referencing alias is never followed
 * beyond it). Every error carries file, line and key path.
 */
#include "manifest.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct {
    const char *file;
    const char *base_dir;
    corral_manifest_env_fn env;
    void *env_user;
    yaml_document_t *doc;
    corral_err_t *err;
} ctx_t;

static corral_status_t fail_at(ctx_t *c, const yaml_node_t *n, const char *keypath, const char *fmt,
                               ...) CORRAL_PRINTF(4, 5);

static corral_status_t fail_at(ctx_t *c, const yaml_node_t *n, const char *keypath, const char *fmt,
                               ...) {
    char what[CORRAL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    unsigned long line = n ? (unsigned long)n->start_mark.line + 1 : 1;
    if (keypath && *keypath)
        return corral_err_set(c->err, CORRAL_ERR_PARSE, "%s:%lu: %s: %s", c->file, line, keypath,
                              what);
    return corral_err_set(c->err, CORRAL_ERR_PARSE, "%s:%lu: %s", c->file, line, what);
}

static corral_status_t nomem(ctx_t *c) {
    return corral_err_set(c->err, CORRAL_ERR_NOMEM, "%s: out of memory", c->file);
}

static const char *default_env(const char *name, void *user) {
    (void)user;
    return getenv(name);
}

static int is_name_start(char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
}
static int is_name_char(char ch) {
    return is_name_start(ch) || (ch >= '0' && ch <= '9');
}

/* Expands ${NAME}, ${NAME:-default} and $${ in a scalar. */
static corral_status_t expand(ctx_t *c, const yaml_node_t *n, const char *key, char **out) {
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_status_t st = CORRAL_OK;
    *out = NULL;
    if (memchr(s, '\0', len)) {
        st = fail_at(c, n, key, "value contains a NUL character");
        goto fail;
    }
    for (size_t i = 0; i < len;) {
        if (s[i] == '$' && i + 2 < len && s[i + 1] == '$' && s[i + 2] == '{') {
            if ((st = corral_buf_append(&b, "${", 2)) != CORRAL_OK) goto oom;
            i += 3;
            continue;
        }
        if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
            size_t j = i + 2, name_start = j;
            if (j >= len || !is_name_start(s[j])) {
                st = fail_at(c, n, key, "'${' must be followed by a variable name (write '$${' for a literal '${')");
                goto fail;
            }
            while (j < len && is_name_char(s[j])) j++;
            size_t name_len = j - name_start;
            const char *def = NULL;
            size_t def_len = 0;
            if (j + 1 < len && s[j] == ':' && s[j + 1] == '-') {
                size_t k = j + 2;
                while (k < len && s[k] != '}') k++;
                def = s + j + 2;
                def_len = k - (j + 2);
                j = k;
            }
            if (j >= len || s[j] != '}') {
                st = fail_at(c, n, key, "unterminated '${%.*s'", (int)(name_len > 64 ? 64 : name_len),
                             s + name_start);
                goto fail;
            }
            if (name_len > 255) {
                st = fail_at(c, n, key, "variable name is too long");
                goto fail;
            }
            char name[256];
            memcpy(name, s + name_start, name_len);
            name[name_len] = '\0';
            const char *v = c->env(name, c->env_user);
            if (v) {
                if ((st = corral_buf_append_str(&b, v)) != CORRAL_OK) goto oom;
            } else if (def) {
                if ((st = corral_buf_append(&b, def, def_len)) != CORRAL_OK) goto oom;
            } else {
                st = fail_at(c, n, key, "environment variable %s is not set", name);
                goto fail;
            }
            i = j + 1;
            continue;
        }
        if ((st = corral_buf_append(&b, s + i, 1)) != CORRAL_OK) goto oom;
        i++;
    }
    if ((st = corral_buf_terminate(&b)) != CORRAL_OK) goto oom;
    if (!b.data) {
        *out = corral_strdup("");
        if (!*out) goto oom;
        return CORRAL_OK;
    }
    *out = (char *)corral_buf_take(&b, NULL);
    return CORRAL_OK;
oom:
    st = nomem(c);
fail:
    corral_buf_free(&b);
    return st;
}

static const char *scalar_text(const yaml_node_t *n) {
    return (const char *)n->data.scalar.value;
}

/* A plain YAML null: "", "~", "null". */
static int is_null(const yaml_node_t *n) {
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *s = scalar_text(n);
    return n->data.scalar.length == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static corral_status_t get_string(ctx_t *c, const yaml_node_t *n, const char *key, char **out) {
    if (n->type != YAML_SCALAR_NODE) return fail_at(c, n, key, "must be a string");
    return expand(c, n, key, out);
}

static corral_status_t get_uint(ctx_t *c, const yaml_node_t *n, const char *key, uint64_t max,
                                uint64_t *out) {
    char *s = NULL;
    corral_status_t st = get_string(c, n, key, &s);
    if (st != CORRAL_OK) return st;
    char *end = NULL;
    errno = 0;
    unsigned long long v = (s[0] >= '0' && s[0] <= '9') ? strtoull(s, &end, 10) : 0;
    if (!end || *end != '\0' || errno == ERANGE || v > max) {
        st = fail_at(c, n, key, "'%.64s' is not a whole number from 0 to %llu", s,
                     (unsigned long long)max);
        corral_free(s);
        return st;
    }
    corral_free(s);
    *out = v;
    return CORRAL_OK;
}

static corral_status_t resolve_path(ctx_t *c, const yaml_node_t *n, const char *key, char **path) {
    if ((*path)[0] == '\0') return fail_at(c, n, key, "path is empty");
    if (!c->base_dir || (*path)[0] == '/') return CORRAL_OK;
    size_t need = strlen(c->base_dir) + 1 + strlen(*path) + 1;
    char *abs = corral_malloc(need);
    if (!abs) return nomem(c);
    snprintf(abs, need, "%s/%s", c->base_dir, *path);
    corral_free(*path);
    *path = abs;
    return CORRAL_OK;
}

/* Checks that every key of mapping n is a distinct scalar among `allowed`. */
static corral_status_t check_keys(ctx_t *c, const yaml_node_t *n, const char *where,
                                  const char *const *allowed) {
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        if (!k || k->type != YAML_SCALAR_NODE) return fail_at(c, k, where, "keys must be strings");
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(scalar_text(k), allowed[i]) == 0) ok = 1;
        if (!ok) {
            char list[256] = "";
            for (size_t i = 0; allowed[i]; i++) {
                if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
                strncat(list, allowed[i], sizeof list - strlen(list) - 1);
            }
            return fail_at(c, k, where, "unknown key '%.64s' (expected one of: %s)", scalar_text(k),
                           list);
        }
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = yaml_document_get_node(c->doc, q->key);
            if (k2 && k2->type == YAML_SCALAR_NODE && strcmp(scalar_text(k2), scalar_text(k)) == 0)
                return fail_at(c, k, where, "key '%.64s' appears twice", scalar_text(k));
        }
    }
    return CORRAL_OK;
}

/* The value of the first key among names[] (aliases of one key), or NULL. */
static yaml_node_t *lookup(ctx_t *c, const yaml_node_t *map, const char *const *names) {
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        if (!k || k->type != YAML_SCALAR_NODE) continue;
        for (size_t i = 0; names[i]; i++)
            if (strcmp(scalar_text(k), names[i]) == 0) return yaml_document_get_node(c->doc, p->value);
    }
    return NULL;
}

static yaml_node_t *lookup1(ctx_t *c, const yaml_node_t *map, const char *name) {
    const char *names[] = {name, NULL};
    return lookup(c, map, names);
}

static corral_status_t both_given(ctx_t *c, const yaml_node_t *map, const char *where,
                                  const char *a, const char *b) {
    if (lookup1(c, map, a) && lookup1(c, map, b))
        return fail_at(c, map, where, "give '%s' or '%s', not both", a, b);
    return CORRAL_OK;
}

static void kv_free(corral_manifest_kv_t *kv, size_t n) {
    for (size_t i = 0; i < n; i++) {
        corral_free(kv[i].key);
        corral_free(kv[i].value);
    }
    corral_free(kv);
}

/* A map of strings (labels, values). */
static corral_status_t parse_kv(ctx_t *c, const yaml_node_t *n, const char *where,
                                corral_manifest_kv_t **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    if (is_null(n)) return CORRAL_OK;
    if (n->type != YAML_MAPPING_NODE) return fail_at(c, n, where, "must be a map of strings");
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    corral_manifest_kv_t *kv = corral_calloc(cnt ? cnt : 1, sizeof *kv);
    if (!kv) return nomem(c);
    corral_status_t st = CORRAL_OK;
    size_t i = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++, i++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        if (!k || !v || k->type != YAML_SCALAR_NODE) {
            st = fail_at(c, k ? k : n, where, "keys must be strings");
            goto fail;
        }
        if (k->data.scalar.length == 0 || memchr(k->data.scalar.value, '\0', k->data.scalar.length)) {
            st = fail_at(c, k, where, "a key is empty or contains a NUL character");
            goto fail;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(kv[j].key, scalar_text(k)) == 0) {
                st = fail_at(c, k, where, "key '%.64s' appears twice", scalar_text(k));
                goto fail;
            }
        char sub[160];
        snprintf(sub, sizeof sub, "%s.%.64s", where, scalar_text(k));
        if (!(kv[i].key = corral_strdup(scalar_text(k)))) {
            st = nomem(c);
            goto fail;
        }
        if (v->type != YAML_SCALAR_NODE) {
            st = fail_at(c, v, sub, "must be a string");
            goto fail;
        }
        if ((st = expand(c, v, sub, &kv[i].value)) != CORRAL_OK) goto fail;
    }
    *out = kv;
    *n_out = cnt;
    return CORRAL_OK;
fail:
    kv_free(kv, cnt);
    return st;
}

static corral_status_t parse_actor(ctx_t *c, const yaml_node_t *n, const char *where,
                                   corral_manifest_actor_t *a) {
    corral_status_t st;
    char key[160];
    a->line = (uint32_t)n->start_mark.line + 1;
    if (n->type == YAML_SCALAR_NODE) {
        if ((st = expand(c, n, where, &a->path)) != CORRAL_OK) return st;
        return resolve_path(c, n, where, &a->path);
    }
    if (n->type != YAML_MAPPING_NODE)
        return fail_at(c, n, where, "must be a path or a map with 'path'");
    static const char *const allowed[] = {"path", "max_instances", "deadline_ms", "fuel", "max_pages",
                                          "engine", "artifact", NULL};
    if ((st = check_keys(c, n, where, allowed)) != CORRAL_OK) return st;
    yaml_node_t *v = lookup1(c, n, "path");
    if (!v) return fail_at(c, n, where, "missing 'path'");
    snprintf(key, sizeof key, "%s.path", where);
    if ((st = get_string(c, v, key, &a->path)) != CORRAL_OK) return st;
    if ((st = resolve_path(c, v, key, &a->path)) != CORRAL_OK) return st;
    uint64_t u;
    if ((v = lookup1(c, n, "max_instances"))) {
        snprintf(key, sizeof key, "%s.max_instances", where);
        if ((st = get_uint(c, v, key, 100000, &u)) != CORRAL_OK) return st;
        a->max_instances = (uint32_t)u;
    }
    if ((v = lookup1(c, n, "deadline_ms"))) {
        snprintf(key, sizeof key, "%s.deadline_ms", where);
        if ((st = get_uint(c, v, key, 86400000u, &u)) != CORRAL_OK) return st;
        a->deadline_ms = (uint32_t)u;
    }
    if ((v = lookup1(c, n, "fuel"))) {
        snprintf(key, sizeof key, "%s.fuel", where);
        if ((st = get_uint(c, v, key, UINT64_MAX, &u)) != CORRAL_OK) return st;
        a->fuel = u;
    }
    if ((v = lookup1(c, n, "max_pages"))) {
        snprintf(key, sizeof key, "%s.max_pages", where);
        if ((st = get_uint(c, v, key, 65536, &u)) != CORRAL_OK) return st;
        a->max_pages = (uint32_t)u;
    }
    if ((v = lookup1(c, n, "engine"))) {
        char *e = NULL;
        snprintf(key, sizeof key, "%s.engine", where);
        if ((st = get_string(c, v, key, &e)) != CORRAL_OK) return st;
        a->engine = strcmp(e, "interp") == 0 ? 1 : strcmp(e, "aot") == 0 ? 2 : strcmp(e, "auto") == 0 ? 3 : -1;
        corral_free(e);
        if (a->engine < 0) return fail_at(c, v, key, "must be interp, aot or auto");
    }
    if ((v = lookup1(c, n, "artifact"))) {
        snprintf(key, sizeof key, "%s.artifact", where);
        if ((st = get_string(c, v, key, &a->artifact)) != CORRAL_OK) return st;
        if ((st = resolve_path(c, v, key, &a->artifact)) != CORRAL_OK) return st;
    }
    return CORRAL_OK;
}

static corral_status_t opt_link_name(ctx_t *c, const yaml_node_t *n, const char *where, char **out) {
    static const char *const names[] = {"link_name", "binding_name", NULL};
    corral_status_t st;
    char key[160];
    if ((st = both_given(c, n, where, "link_name", "binding_name")) != CORRAL_OK) return st;
    yaml_node_t *v = lookup(c, n, names);
    if (v && !is_null(v)) {
        snprintf(key, sizeof key, "%s.link_name", where);
        if ((st = get_string(c, v, key, out)) != CORRAL_OK) return st;
        if (**out) return CORRAL_OK;
        corral_free(*out);
        *out = NULL;
    }
    *out = corral_strdup("default");
    return *out ? CORRAL_OK : nomem(c);
}

static corral_status_t parse_provider(ctx_t *c, const yaml_node_t *n, const char *where,
                                      corral_manifest_provider_t *p) {
    corral_status_t st;
    char key[160];
    p->line = (uint32_t)n->start_mark.line + 1;
    if (n->type != YAML_MAPPING_NODE) return fail_at(c, n, where, "must be a map with 'kind' or 'path'");
    static const char *const allowed[] = {"kind", "path", "link_name", "binding_name", "values", NULL};
    if ((st = check_keys(c, n, where, allowed)) != CORRAL_OK) return st;
    yaml_node_t *kind = lookup1(c, n, "kind"), *path = lookup1(c, n, "path");
    if (!kind && !path) return fail_at(c, n, where, "missing 'kind' (a built-in provider) or 'path' (a shared object)");
    if ((st = both_given(c, n, where, "kind", "path")) != CORRAL_OK) return st;
    if (kind) {
        snprintf(key, sizeof key, "%s.kind", where);
        if ((st = get_string(c, kind, key, &p->kind)) != CORRAL_OK) return st;
        if (!*p->kind) return fail_at(c, kind, key, "is empty");
    } else {
        snprintf(key, sizeof key, "%s.path", where);
        if ((st = get_string(c, path, key, &p->path)) != CORRAL_OK) return st;
        if ((st = resolve_path(c, path, key, &p->path)) != CORRAL_OK) return st;
    }
    if ((st = opt_link_name(c, n, where, &p->link_name)) != CORRAL_OK) return st;
    yaml_node_t *v = lookup1(c, n, "values");
    if (v) {
        snprintf(key, sizeof key, "%s.values", where);
        if ((st = parse_kv(c, v, key, &p->values, &p->n_values)) != CORRAL_OK) return st;
    }
    return CORRAL_OK;
}

static corral_status_t parse_link(ctx_t *c, const yaml_node_t *n, const char *where,
                                  corral_manifest_link_t *l) {
    corral_status_t st;
    char key[160];
    l->line = (uint32_t)n->start_mark.line + 1;
    if (n->type != YAML_MAPPING_NODE)
        return fail_at(c, n, where, "must be a map with 'actor' and 'contract_id'");
    static const char *const allowed[] = {"actor", "contract_id", "capability", "link_name",
                                          "binding_name", "values", "provider_id", NULL};
    if ((st = check_keys(c, n, where, allowed)) != CORRAL_OK) return st;
    yaml_node_t *v = lookup1(c, n, "actor");
    if (!v) return fail_at(c, n, where, "missing 'actor'");
    snprintf(key, sizeof key, "%s.actor", where);
    if ((st = get_string(c, v, key, &l->actor)) != CORRAL_OK) return st;
    if (!*l->actor) return fail_at(c, v, key, "is empty");
    static const char *const cids[] = {"contract_id", "capability", NULL};
    if ((st = both_given(c, n, where, "contract_id", "capability")) != CORRAL_OK) return st;
    v = lookup(c, n, cids);
    if (!v) return fail_at(c, n, where, "missing 'contract_id'");
    snprintf(key, sizeof key, "%s.contract_id", where);
    if ((st = get_string(c, v, key, &l->contract_id)) != CORRAL_OK) return st;
    if (!*l->contract_id) return fail_at(c, v, key, "is empty");
    if ((st = opt_link_name(c, n, where, &l->link_name)) != CORRAL_OK) return st;
    if ((v = lookup1(c, n, "values"))) {
        snprintf(key, sizeof key, "%s.values", where);
        if ((st = parse_kv(c, v, key, &l->values, &l->n_values)) != CORRAL_OK) return st;
    }
    return CORRAL_OK;
}

/* Walks a sequence, calling parse on each item into an array of `size`-byte
 * elements. */
typedef corral_status_t (*item_fn)(ctx_t *c, const yaml_node_t *n, const char *where, void *item);

static corral_status_t parse_seq(ctx_t *c, const yaml_node_t *n, const char *name, size_t size,
                                 item_fn fn, void **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    if (is_null(n)) return CORRAL_OK;
    if (n->type != YAML_SEQUENCE_NODE) return fail_at(c, n, name, "must be a list");
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (cnt == 0) return CORRAL_OK;
    uint8_t *arr = corral_calloc(cnt, size);
    if (!arr) return nomem(c);
    *out = arr;
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *item = yaml_document_get_node(c->doc, n->data.sequence.items.start[i]);
        char where[64];
        snprintf(where, sizeof where, "%s[%zu]", name, i);
        *n_out = i + 1; /* so the caller frees what was filled */
        if (!item) return fail_at(c, n, where, "missing item");
        corral_status_t st = fn(c, item, where, arr + i * size);
        if (st != CORRAL_OK) return st;
    }
    return CORRAL_OK;
}

static corral_status_t actor_item(ctx_t *c, const yaml_node_t *n, const char *w, void *it) {
    return parse_actor(c, n, w, it);
}
static corral_status_t provider_item(ctx_t *c, const yaml_node_t *n, const char *w, void *it) {
    return parse_provider(c, n, w, it);
}
static corral_status_t link_item(ctx_t *c, const yaml_node_t *n, const char *w, void *it) {
    return parse_link(c, n, w, it);
}
static corral_status_t signer_item(ctx_t *c, const yaml_node_t *n, const char *w, void *it) {
    corral_status_t st = get_string(c, n, w, (char **)it);
    if (st == CORRAL_OK && strlen(*(char **)it) != 56)
        return fail_at(c, n, w, "'%.64s' is not a public key (O... or A..., 56 characters)", *(char **)it);
    return st;
}

void corral_manifest_free(corral_manifest_t *m) {
    if (!m) return;
    corral_free(m->file);
    kv_free(m->labels, m->n_labels);
    for (size_t i = 0; i < m->n_actors; i++) {
        corral_free(m->actors[i].path);
        corral_free(m->actors[i].artifact);
    }
    for (size_t i = 0; i < m->n_aot_signers; i++) corral_free(m->aot_signers[i]);
    corral_free(m->aot_signers);
    corral_free(m->actors);
    for (size_t i = 0; i < m->n_providers; i++) {
        corral_free(m->providers[i].kind);
        corral_free(m->providers[i].path);
        corral_free(m->providers[i].link_name);
        kv_free(m->providers[i].values, m->providers[i].n_values);
    }
    corral_free(m->providers);
    for (size_t i = 0; i < m->n_links; i++) {
        corral_free(m->links[i].actor);
        corral_free(m->links[i].contract_id);
        corral_free(m->links[i].link_name);
        kv_free(m->links[i].values, m->links[i].n_values);
    }
    corral_free(m->links);
    corral_free(m);
}

corral_status_t corral_manifest_parse(const char *file, const char *base_dir, const uint8_t *text,
                                      size_t len, corral_manifest_env_fn env, void *env_user,
                                      corral_manifest_t **out, corral_err_t *err) {
    ctx_t c = {file ? file : "manifest", base_dir, env ? env : default_env, env_user, NULL, err};
    yaml_parser_t parser;
    yaml_document_t doc;
    int have_parser = 0, have_doc = 0;
    corral_status_t st = CORRAL_OK;
    corral_manifest_t *m = NULL;
    *out = NULL;

    if (len > CORRAL_MANIFEST_MAX_BYTES)
        return corral_err_set(err, CORRAL_ERR_TOO_LARGE, "%s: larger than %u bytes", c.file,
                              CORRAL_MANIFEST_MAX_BYTES);
    if (!(m = corral_calloc(1, sizeof *m)) || !(m->file = corral_strdup(c.file))) {
        st = nomem(&c);
        goto fail;
    }
    if (!yaml_parser_initialize(&parser)) {
        st = nomem(&c);
        goto fail;
    }
    have_parser = 1;
    yaml_parser_set_input_string(&parser, text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        const char *problem = parser.problem ? parser.problem : "malformed YAML";
        unsigned long line = (unsigned long)parser.problem_mark.line + 1;
        if (parser.error == YAML_MEMORY_ERROR) st = nomem(&c);
        else if (parser.context)
            st = corral_err_set(err, CORRAL_ERR_PARSE, "%s:%lu: %s %s", c.file, line, problem,
                                parser.context);
        else
            st = corral_err_set(err, CORRAL_ERR_PARSE, "%s:%lu: %s", c.file, line, problem);
        goto fail;
    }
    have_doc = 1;
    c.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && !is_null(root)) {
        if (root->type != YAML_MAPPING_NODE) {
            st = fail_at(&c, root, NULL,
                         "the manifest must be a map with 'actors', 'capabilities' and 'links'");
            goto fail;
        }
        static const char *const allowed[] = {"labels", "actors", "capabilities", "providers",
                                              "links", "bindings", "aot_signers", NULL};
        if ((st = check_keys(&c, root, NULL, allowed)) != CORRAL_OK) goto fail;
        if ((st = both_given(&c, root, NULL, "links", "bindings")) != CORRAL_OK) goto fail;
        if ((st = both_given(&c, root, NULL, "capabilities", "providers")) != CORRAL_OK) goto fail;
        yaml_node_t *v;
        if ((v = lookup1(&c, root, "labels")) &&
            (st = parse_kv(&c, v, "labels", &m->labels, &m->n_labels)) != CORRAL_OK)
            goto fail;
        if ((v = lookup1(&c, root, "actors")) &&
            (st = parse_seq(&c, v, "actors", sizeof *m->actors, actor_item, (void **)&m->actors,
                            &m->n_actors)) != CORRAL_OK)
            goto fail;
        if ((v = lookup1(&c, root, "aot_signers")) &&
            (st = parse_seq(&c, v, "aot_signers", sizeof *m->aot_signers, signer_item,
                            (void **)&m->aot_signers, &m->n_aot_signers)) != CORRAL_OK)
            goto fail;
        static const char *const caps[] = {"capabilities", "providers", NULL};
        if ((v = lookup(&c, root, caps)) &&
            (st = parse_seq(&c, v, "capabilities", sizeof *m->providers, provider_item,
                            (void **)&m->providers, &m->n_providers)) != CORRAL_OK)
            goto fail;
        static const char *const links[] = {"links", "bindings", NULL};
        if ((v = lookup(&c, root, links)) &&
            (st = parse_seq(&c, v, "links", sizeof *m->links, link_item, (void **)&m->links,
                            &m->n_links)) != CORRAL_OK)
            goto fail;
    }
    /* A second document in the stream is almost certainly a mistake. */
    yaml_document_t extra;
    if (yaml_parser_load(&parser, &extra)) {
        int more = yaml_document_get_root_node(&extra) != NULL;
        unsigned long line = (unsigned long)extra.start_mark.line + 1;
        yaml_document_delete(&extra);
        if (more) {
            st = corral_err_set(err, CORRAL_ERR_PARSE, "%s:%lu: a manifest holds one YAML document",
                                c.file, line);
            goto fail;
        }
    } else {
        st = corral_err_set(err, CORRAL_ERR_PARSE, "%s:%lu: %s", c.file,
                            (unsigned long)parser.problem_mark.line + 1,
                            parser.problem ? parser.problem : "malformed YAML");
        goto fail;
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    *out = m;
    return CORRAL_OK;
fail:
    if (have_doc) yaml_document_delete(&doc);
    if (have_parser) yaml_parser_delete(&parser);
    corral_manifest_free(m);
    return st;
}

corral_status_t corral_manifest_load(const char *path, corral_manifest_t **out, corral_err_t *err) {
    corral_buf_t text = CORRAL_BUF_INIT;
    char *dir = NULL, *abs = NULL;
    corral_status_t st;
    *out = NULL;
    if ((st = corral_file_read(path, CORRAL_MANIFEST_MAX_BYTES, &text, err)) != CORRAL_OK) goto done;
    if (!(dir = corral_strdup(path))) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        goto done;
    }
    char *slash = strrchr(dir, '/');
    if (slash == dir) dir[1] = '\0';
    else if (slash) *slash = '\0';
    else strcpy(dir, ".");
    abs = realpath(dir, NULL); /* libc's malloc: freed with free() */
    if (!abs) {
        st = corral_err_set(err, CORRAL_ERR_IO, "%s: cannot resolve its folder: %s", path,
                            strerror(errno));
        goto done;
    }
    st = corral_manifest_parse(path, abs, text.data, text.len, NULL, NULL, out, err);
done:
    free(abs);
    corral_free(dir);
    corral_buf_free(&text);
    return st;
}

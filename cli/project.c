/*
 * project.c - the actor project file (corral.project) and the developer's
 * home folder, shared by `corral new`, `corral build` and `corral run`
 * (see project.h for the format).
 */
#include "project.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PROJECT_FILE_MAX (64 * 1024)

const char *corral_project_lang_name(corral_project_lang_t lang) {
    return lang == CORRAL_LANG_AS ? "assemblyscript" : "c";
}

corral_status_t corral_project_check_name(const char *name, corral_err_t *err) {
    size_t n = strlen(name);
    if (n == 0 || n > CORRAL_PROJECT_NAME_MAX)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "actor name must have 1 to %d characters", CORRAL_PROJECT_NAME_MAX);
    if (name[0] < 'a' || name[0] > 'z')
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "actor name '%s' must start with a lower-case letter", name);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                  "actor name '%s' may hold only a-z, 0-9, '-' and '_'", name);
    }
    return CORRAL_OK;
}

const char *corral_project_cap_id(const char *cap) {
    static const struct {
        const char *s, *id;
    } shorts[] = {{"httpserver", "wasmcloud:httpserver"},
                  {"keyvalue", "wasmcloud:keyvalue"},
                  {"logging", "wasmcloud:logging"},
                  {"numbergen", "wasmcloud:builtin:numbergen"}};
    for (size_t i = 0; i < sizeof shorts / sizeof shorts[0]; i++)
        if (strcmp(cap, shorts[i].s) == 0) return shorts[i].id;
    if (strchr(cap, ':') && cap[0] != ':') return cap;
    return NULL;
}

int corral_project_has_cap(const corral_project_t *p, const char *contract_id) {
    for (size_t i = 0; i < p->ncaps; i++)
        if (strcmp(p->caps[i], contract_id) == 0) return 1;
    return 0;
}

void corral_project_free(corral_project_t *p) {
    if (!p) return;
    corral_free(p->dir);
    corral_free(p->file);
    for (size_t i = 0; i < p->ncaps; i++) corral_free(p->caps[i]);
    corral_free(p->ver);
    corral_free(p->call_alias);
    corral_free(p->sdk);
    corral_free(p);
}

static char *trim(char *s, char *end) {
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r')) s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) end--;
    *end = '\0';
    return s;
}

/* Parses the caps list ("a, b, c"). */
static corral_status_t parse_caps(corral_project_t *p, char *v, unsigned line, corral_err_t *err) {
    char *save = NULL;
    for (char *tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *t = trim(tok, tok + strlen(tok));
        if (!*t) continue;
        const char *id = corral_project_cap_id(t);
        if (!id)
            return corral_err_set(err, CORRAL_ERR_PARSE,
                                  "%s:%u: unknown capability '%s': use httpserver, keyvalue, "
                                  "logging, numbergen or a contract id such as wasmcloud:messaging",
                                  p->file, line, t);
        if (corral_project_has_cap(p, id)) continue;
        if (p->ncaps == CORRAL_PROJECT_MAX_CAPS)
            return corral_err_set(err, CORRAL_ERR_PARSE, "%s:%u: more than %d capabilities",
                                  p->file, line, CORRAL_PROJECT_MAX_CAPS);
        if (!(p->caps[p->ncaps] = corral_strdup(id)))
            return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        p->ncaps++;
    }
    return CORRAL_OK;
}

static corral_status_t set_str(char **dst, const char *v, corral_err_t *err) {
    corral_free(*dst);
    if (!(*dst = corral_strdup(v))) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    return CORRAL_OK;
}

corral_status_t corral_project_load(const char *dir, corral_project_t **out, corral_err_t *err) {
    corral_status_t st;
    corral_buf_t text = CORRAL_BUF_INIT, path = CORRAL_BUF_INIT;
    int have_name = 0, have_lang = 0, have_alias = 0;
    *out = NULL;
    corral_project_t *p = corral_calloc(1, sizeof *p);
    if (!p) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/') dl--;
    if (!(p->dir = corral_strndup(dir, dl)) ||
        corral_buf_printf(&path, "%s/%s", p->dir, CORRAL_PROJECT_FILE) != CORRAL_OK ||
        corral_buf_terminate(&path) != CORRAL_OK) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        goto fail;
    }
    p->file = (char *)corral_buf_take(&path, NULL);
    if ((st = corral_file_read(p->file, PROJECT_FILE_MAX, &text, err)) != CORRAL_OK) {
        if (st == CORRAL_ERR_NOT_FOUND)
            corral_err_set(err, st,
                           "no %s in %s: this is not an actor project (make one with `corral new "
                           "actor <name>`, or give the project's folder)",
                           CORRAL_PROJECT_FILE, p->dir);
        goto fail;
    }
    char *s = text.data ? (char *)text.data : "";
    unsigned line = 0;
    while (*s) {
        char *nl = strchr(s, '\n');
        char *end = nl ? nl : s + strlen(s);
        char *next = nl ? nl + 1 : end;
        line++;
        char *hash = memchr(s, '#', (size_t)(end - s));
        if (hash) end = hash;
        char *l = trim(s, end);
        s = next;
        if (!*l) continue;
        char *eq = strchr(l, '=');
        if (!eq) {
            st = corral_err_set(err, CORRAL_ERR_PARSE, "%s:%u: expected 'key = value', got '%s'",
                                p->file, line, l);
            goto fail;
        }
        char *k = trim(l, eq), *v = trim(eq + 1, eq + 1 + strlen(eq + 1));
        if (strcmp(k, "name") == 0) {
            corral_err_t ne;
            corral_err_clear(&ne);
            if (corral_project_check_name(v, &ne) != CORRAL_OK) {
                st = corral_err_set(err, CORRAL_ERR_PARSE, "%s:%u: %s", p->file, line,
                                    corral_err_msg(&ne));
                goto fail;
            }
            strcpy(p->name, v);
            have_name = 1;
        } else if (strcmp(k, "lang") == 0) {
            if (strcmp(v, "c") == 0) p->lang = CORRAL_LANG_C;
            else if (strcmp(v, "assemblyscript") == 0 || strcmp(v, "as") == 0) p->lang = CORRAL_LANG_AS;
            else {
                st = corral_err_set(err, CORRAL_ERR_PARSE,
                                    "%s:%u: lang must be c or assemblyscript, not '%s'", p->file,
                                    line, v);
                goto fail;
            }
            have_lang = 1;
        } else if (strcmp(k, "caps") == 0) {
            if ((st = parse_caps(p, v, line, err)) != CORRAL_OK) goto fail;
        } else if (strcmp(k, "rev") == 0) {
            char *e = NULL;
            errno = 0;
            long long r = strtoll(v, &e, 10);
            if (errno || !*v || *e || r < 0 || r >= INT64_MAX / 2) {
                st = corral_err_set(err, CORRAL_ERR_PARSE,
                                    "%s:%u: rev must be a non-negative integer, not '%s'", p->file,
                                    line, v);
                goto fail;
            }
            p->rev = r;
        } else if (strcmp(k, "ver") == 0) {
            if ((st = set_str(&p->ver, v, err)) != CORRAL_OK) goto fail;
        } else if (strcmp(k, "call_alias") == 0) {
            have_alias = 1;
            if (strcmp(v, "-") != 0 && *v && (st = set_str(&p->call_alias, v, err)) != CORRAL_OK)
                goto fail;
        } else if (strcmp(k, "sdk") == 0) {
            if ((st = set_str(&p->sdk, v, err)) != CORRAL_OK) goto fail;
        } else {
            st = corral_err_set(err, CORRAL_ERR_PARSE,
                                "%s:%u: unknown key '%s' (known: name, lang, caps, rev, ver, "
                                "call_alias, sdk)",
                                p->file, line, k);
            goto fail;
        }
    }
    if (!have_name) {
        st = corral_err_set(err, CORRAL_ERR_PARSE, "%s: missing 'name = <actor name>'", p->file);
        goto fail;
    }
    if (!have_lang) p->lang = CORRAL_LANG_C;
    if (!p->ver && (st = set_str(&p->ver, "0.1.0", err)) != CORRAL_OK) goto fail;
    if (!have_alias && (st = set_str(&p->call_alias, p->name, err)) != CORRAL_OK) goto fail;
    if (!p->sdk &&
        (st = set_str(&p->sdk, p->lang == CORRAL_LANG_C ? "sdk" : "assembly/wapc", err)) != CORRAL_OK)
        goto fail;
    corral_buf_free(&text);
    *out = p;
    return CORRAL_OK;
fail:
    corral_buf_free(&text);
    corral_buf_free(&path);
    corral_project_free(p);
    return st;
}

corral_status_t corral_project_save_rev(corral_project_t *p, int64_t rev, corral_err_t *err) {
    corral_buf_t text = CORRAL_BUF_INIT, out = CORRAL_BUF_INIT;
    corral_status_t st;
    int done = 0;
    if ((st = corral_file_read(p->file, PROJECT_FILE_MAX, &text, err)) != CORRAL_OK) goto fail;
    const char *s = text.data ? (const char *)text.data : "";
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) + 1 : strlen(s);
        const char *k = s;
        while (*k == ' ' || *k == '\t') k++;
        if (!done && strncmp(k, "rev", 3) == 0 && (k[3] == ' ' || k[3] == '\t' || k[3] == '=')) {
            st = corral_buf_printf(&out, "rev = %lld\n", (long long)rev);
            done = 1;
        } else {
            st = corral_buf_append(&out, s, n);
            if (st == CORRAL_OK && !nl) st = corral_buf_append(&out, "\n", 1);
        }
        if (st != CORRAL_OK) goto nomem;
        s += n;
    }
    if (!done && corral_buf_printf(&out, "rev = %lld\n", (long long)rev) != CORRAL_OK) goto nomem;
    if ((st = corral_file_write(p->file, out.data, out.len, 0644, err)) != CORRAL_OK) goto fail;
    p->rev = rev;
    corral_buf_free(&text);
    corral_buf_free(&out);
    return CORRAL_OK;
nomem:
    st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
fail:
    corral_buf_free(&text);
    corral_buf_free(&out);
    return st;
}

corral_status_t corral_project_home(char *out, size_t n, corral_err_t *err) {
    const char *h = getenv("CORRAL_HOME");
    int w;
    if (h && *h) w = snprintf(out, n, "%s", h);
    else {
        const char *home = getenv("HOME");
        if (!home || !*home)
            return corral_err_set(err, CORRAL_ERR_NOT_FOUND,
                                  "neither CORRAL_HOME nor HOME is set: cannot find ~/.corral");
        w = snprintf(out, n, "%s/.corral", home);
    }
    if (w < 0 || (size_t)w >= n)
        return corral_err_set(err, CORRAL_ERR_TOO_LARGE, "the corral home path is too long");
    return CORRAL_OK;
}

corral_status_t corral_project_mkdirs(const char *path, unsigned mode, corral_err_t *err) {
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf) return corral_err_set(err, CORRAL_ERR_TOO_LARGE, "path too long: %s", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST) {
            int e = errno;
            return corral_err_set(err, CORRAL_ERR_IO, "cannot create folder %s: %s", buf,
                                  strerror(e));
        }
        buf[i] = c;
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return corral_err_set(err, CORRAL_ERR_IO, "%s is not a folder", path);
    return CORRAL_OK;
}

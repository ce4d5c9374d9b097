/*
 * cmd_new.c - `corral new actor <name>`: scaffolds an actor project that
 * builds and runs as it is: corral.project, the actor's source (C or
 * AssemblyScript), the guest SDK vendored from the copy embedded in this
 * binary (project.h: corral_sdk_files), a README, a .gitignore and test.sh
 * (build, then one HandleRequest through `corral call --host-call echo`).
 * The actor answers HTTP with "Hello from <name>"; with keyvalue in its caps
 * it counts visits, with logging it logs each request.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "project.h"

static void new_usage(FILE *out) {
    fprintf(out,
            "usage: corral new actor <name> [options]\n\n"
            "Makes a folder with a working actor project: corral.project, the source, the\n"
            "guest SDK (vendored), README.md and test.sh. Then: corral build <dir>, or\n"
            "corral run <dir> to serve it locally and reload on every change.\n\n"
            "  --lang L        c (default) or assemblyscript\n"
            "  --caps LIST     capabilities, comma-separated: httpserver, keyvalue, logging,\n"
            "                  numbergen or contract ids (default httpserver,keyvalue)\n"
            "  --dir D         the folder to create (default ./<name>); it must not exist\n"
            "                  or must be empty\n\n"
            "Names: a lower-case letter, then a-z, 0-9, '-' or '_' (at most 64).\n\n"
            "exit codes: 0 made, 1 the folder could not be written, 2 usage error\n");
}

typedef struct {
    const char *name;
    int kv, logging, http;
    corral_buf_t caps; /* "a, b" */
} tpl_t;

/* ---- C templates ------------------------------------------------------------------------ */

static corral_status_t c_source(const tpl_t *t, corral_buf_t *b) {
    corral_status_t st = CORRAL_OK;
#define P(...) (st = st != CORRAL_OK ? st : corral_buf_printf(b, __VA_ARGS__))
    P("/*\n"
      " * %s.c - the %s actor (made by `corral new actor`).\n"
      " * HandleRequest (wasmcloud:httpserver) answers 200 with GREETING%s.\n"
      " * HealthRequest answers healthy. Build and sign: corral build; try it:\n"
      " * corral run (serves HTTP locally and reloads this file when it changes).\n"
      " * The C guest SDK (sdk/) is documented in sdk/wapc_guest.h.\n"
      " */\n"
      "#include \"wapc_contracts.h\"\n"
      "#include \"wapc_guest.h\"\n\n"
      "#define GREETING \"Hello from %s\"\n\n",
      t->name, t->name, t->kv ? "\n * and the visit count (kept in wasmcloud:keyvalue)" : "",
      t->name);
    P("/* Appends s[0..n) to buf (cap bytes), as far as it fits. */\n"
      "static void append(char *buf, uint32_t cap, uint32_t *len, const char *s, uint32_t n) {\n"
      "    if (n > cap - *len) n = cap - *len;\n"
      "    memcpy(buf + *len, s, n);\n"
      "    *len += n;\n"
      "}\n\n");
    if (t->kv)
        P("/* Decimal text of v (non-negative) into buf; returns the length. */\n"
          "static uint32_t fmt_u32(uint32_t v, char *buf) {\n"
          "    char tmp[10];\n"
          "    uint32_t n = 0, len = 0;\n"
          "    do {\n"
          "        tmp[n++] = (char)('0' + v %% 10);\n"
          "        v /= 10;\n"
          "    } while (v);\n"
          "    while (n) buf[len++] = tmp[--n];\n"
          "    return len;\n"
          "}\n\n");
    P("static int respond(uint32_t code, const char *status, const char *body, uint32_t len) {\n"
      "    wapc_header_t h = {{\"content-type\", 12}, {\"text/plain\", 10}};\n"
      "    wapc_http_response_t resp = {code, {status, wapc_strlen(status)}, {&h, 1}, {body, len}};\n"
      "    mp_writer_t w;\n"
      "    mp_writer_init(&w, wapc_alloc);\n"
      "    wapc_http_response_encode(&w, &resp);\n"
      "    if (w.err) return wapc_fail(w.err);\n"
      "    return wapc_respond(w.buf, w.len);\n"
      "}\n\n");
    P("static int handle_request(const uint8_t *payload, uint32_t len) {\n"
      "    mp_reader_t r;\n"
      "    wapc_http_request_t req;\n"
      "    mp_reader_init(&r, payload, len);\n"
      "    if (!wapc_http_request_decode(&r, &req, wapc_alloc)) return wapc_fail(r.err);\n"
      "    char body[256];\n"
      "    uint32_t n = 0;\n"
      "    append(body, sizeof body, &n, GREETING, sizeof GREETING - 1);\n");
    if (t->logging)
        P("\n    /* One log line per request through wasmcloud:logging. */\n"
          "    mp_writer_t lw;\n"
          "    mp_writer_init(&lw, wapc_alloc);\n"
          "    wapc_logging_encode(&lw, \"%s\", \"info\", \"request\");\n"
          "    const uint8_t *lout;\n"
          "    uint32_t lout_len;\n"
          "    if (!lw.err)\n"
          "        (void)wapc_host_call(\"\", \"wasmcloud:logging\", \"WriteLog\", lw.buf, lw.len, "
          "&lout, &lout_len);\n",
          t->name);
    if (t->kv)
        P("\n    /* Count the visit: Add 1 to the key \"visits\" (atomic in the store). */\n"
          "    mp_writer_t w;\n"
          "    mp_writer_init(&w, wapc_alloc);\n"
          "    wapc_kv_add_encode(&w, \"visits\", 1);\n"
          "    if (w.err) return wapc_fail(w.err);\n"
          "    const uint8_t *out;\n"
          "    uint32_t out_len;\n"
          "    if (!wapc_host_call(\"\", \"wasmcloud:keyvalue\", \"Add\", w.buf, w.len, &out, "
          "&out_len)) {\n"
          "        static const char down[] = \"the visit counter is unavailable\\n\";\n"
          "        return respond(503, \"Service Unavailable\", down, sizeof down - 1);\n"
          "    }\n"
          "    int32_t visits = 0;\n"
          "    mp_reader_init(&r, out, out_len);\n"
          "    if (!wapc_kv_add_decode(&r, &visits)) return wapc_fail(\"keyvalue Add: malformed "
          "response\");\n"
          "    char num[10];\n"
          "    append(body, sizeof body, &n, \" (visit #\", 9);\n"
          "    append(body, sizeof body, &n, num, fmt_u32(visits < 0 ? 0 : (uint32_t)visits, "
          "num));\n"
          "    append(body, sizeof body, &n, \")\", 1);\n");
    P("    append(body, sizeof body, &n, \"\\n\", 1);\n"
      "    return respond(200, \"OK\", body, n);\n"
      "}\n\n"
      "static int health(const uint8_t *payload, uint32_t len) {\n"
      "    mp_writer_t w;\n"
      "    mp_writer_init(&w, wapc_alloc);\n"
      "    wapc_health_response_encode(&w, 1, \"ok\");\n"
      "    if (w.err) return wapc_fail(w.err);\n"
      "    return wapc_respond(w.buf, w.len);\n"
      "}\n\n"
      "WAPC_EXPORT(\"wapc_init\") void wapc_init(void) {\n"
      "    wapc_register(\"HandleRequest\", handle_request);\n"
      "    wapc_register(\"HealthRequest\", health);\n"
      "}\n");
#undef P
    return st;
}

/* ---- AssemblyScript templates ---------------------------------------------------------------- */

static corral_status_t as_source(const tpl_t *t, corral_buf_t *b) {
    corral_status_t st = CORRAL_OK;
#define P(...) (st = st != CORRAL_OK ? st : corral_buf_printf(b, __VA_ARGS__))
    P("// index.ts - the %s actor (made by `corral new actor --lang assemblyscript`).\n"
      "// HandleRequest (wasmcloud:httpserver) answers 200 with GREETING%s.\n"
      "// Build and sign: corral build; try it: corral run (serves HTTP locally and\n"
      "// reloads when a file changes). The SDK is in assembly/wapc/.\n"
      "import {\n"
      "  register, respond, fail, decodeError, HttpRequest, HttpResponse, HealthResponse,%s%s%s\n"
      "} from \"./wapc\";\n"
      "export { __guest_call } from \"./wapc\";\n\n"
      "const GREETING = \"Hello from %s\";\n\n",
      t->name, t->kv ? "\n// and the visit count (kept in wasmcloud:keyvalue)" : "",
      t->kv || t->logging ? "\n  hostCall," : "", t->kv ? " KvAdd, KvAddResponse," : "",
      t->logging ? " LogRequest," : "", t->name);
    P("function handleRequest(payload: Uint8Array): i32 {\n"
      "  const req = HttpRequest.decode(payload);\n"
      "  if (req == null) return fail(decodeError());\n"
      "  let body = GREETING;\n");
    if (t->logging)
      P("  hostCall(\"\", \"wasmcloud:logging\", \"WriteLog\",\n"
        "           new LogRequest(\"%s\", \"info\", \"request \" + req.path).encode());\n",
        t->name);
    if (t->kv)
      P("  // Count the visit: Add 1 to the key \"visits\" (atomic in the store).\n"
        "  const r = hostCall(\"\", \"wasmcloud:keyvalue\", \"Add\", new KvAdd(\"visits\", 1).encode());\n"
        "  if (!r.ok) {\n"
        "    return respond(HttpResponse.text(503, \"the visit counter is unavailable\\n\").encode());\n"
        "  }\n"
        "  const added = KvAddResponse.decode(r.data);\n"
        "  if (added == null) return fail(decodeError());\n"
        "  body += \" (visit #\" + added.value.toString() + \")\";\n");
    P("  return respond(HttpResponse.text(200, body + \"\\n\").encode());\n"
      "}\n\n"
      "function health(payload: Uint8Array): i32 {\n"
      "  return respond(new HealthResponse(true, \"ok\").encode());\n"
      "}\n\n"
      "register(\"HandleRequest\", handleRequest);\n"
      "register(\"HealthRequest\", health);\n");
#undef P
    return st;
}

/* ---- common files ----------------------------------------------------------------------------- */

static corral_status_t project_file(const tpl_t *t, int as, corral_buf_t *b) {
    return corral_buf_printf(b,
                             "# corral.project - the %s actor. `corral build` compiles and signs it\n"
                             "# (and bumps rev); `corral run` serves it and reloads on changes.\n"
                             "name = %s\n"
                             "lang = %s\n"
                             "caps = %s\n"
                             "ver = 0.1.0\n"
                             "rev = 0\n",
                             t->name, t->name, as ? "assemblyscript" : "c", (char *)t->caps.data);
}

static corral_status_t readme(const tpl_t *t, int as, corral_buf_t *b) {
    corral_status_t st = CORRAL_OK;
#define P(...) (st = st != CORRAL_OK ? st : corral_buf_printf(b, __VA_ARGS__))
    P("# %s\n\n"
      "A Corral actor (WebAssembly, waPC) written in %s. It answers HTTP with\n"
      "\"Hello from %s\"%s.\n\n"
      "Capabilities (corral.project `caps`): %s.\n\n",
      t->name, as ? "AssemblyScript" : "C", t->name,
      t->kv ? " and counts the visits in a key-value store" : "", (char *)t->caps.data);
    if (as)
        P("## Set up once\n\n"
          "    npm install        # fetches the AssemblyScript compiler (asc)\n\n");
    P("## Build\n\n"
      "    corral build       # -> build/%s_s.wasm, signed; prints key, caps and size\n\n"
      "Each build is signed with your keys in ~/.corral/keys (made on first use) and\n"
      "gets the next revision (`rev` in corral.project), so a running host accepts it\n"
      "as a live update of the same actor.\n\n"
      "## Run\n\n"
      "    corral run         # serves it on a free port; prints the URL\n"
      "    curl http://127.0.0.1:<port>/\n\n"
      "`corral run` rebuilds and live-updates the actor whenever a file in %s changes;\n"
      "requests keep being served during the update. Ctrl-C stops it.\n\n"
      "## Test\n\n"
      "    ./test.sh          # builds, then makes one HandleRequest call with `corral call`\n\n"
      "## Files\n\n"
      "- `corral.project`: name, language, capabilities, revision\n"
      "- `%s`: the actor\n"
      "- `%s`: the guest SDK (a copy; `corral new` vendored it)\n",
      t->name, as ? "assembly/" : "src/", as ? "assembly/index.ts" : "src/", as ? "assembly/wapc/" : "sdk/");
    if (as) P("- `package.json`: the AssemblyScript compiler version\n");
#undef P
    return st;
}

static corral_status_t test_script(const tpl_t *t, corral_buf_t *b) {
    /* A msgpack HandleRequest {method GET, path /, queryString "", header {}, body bin ""}
     * written with octal escapes, which every POSIX printf understands. */
    return corral_buf_printf(
        b,
        "#!/bin/sh\n"
        "# test.sh - builds the %s actor and makes one HandleRequest call with\n"
        "# `corral call` (no host: host calls are echoed back, so a keyvalue Add\n"
        "# answers 1). Exit 0 when the reply says \"Hello from %s\".\n"
        "set -eu\n"
        "cd \"$(dirname \"$0\")\"\n"
        "CORRAL=${CORRAL:-corral}\n"
        "\"$CORRAL\" build .\n"
        "printf '\\205\\246method\\243GET\\244path\\241/\\253queryString\\240\\246header\\200"
        "\\244body\\304\\000' > build/request.msgpack\n"
        "\"$CORRAL\" call build/%s_s.wasm HandleRequest --payload-file build/request.msgpack \\\n"
        "  --host-call echo > build/reply.msgpack\n"
        "if grep -a -q 'Hello from %s' build/reply.msgpack; then\n"
        "  echo \"ok: %s answers: $(grep -a -o 'Hello from [[:print:]]*' build/reply.msgpack | head -1)\"\n"
        "else\n"
        "  echo \"FAIL: unexpected reply:\"; od -c build/reply.msgpack | head -20; exit 1\n"
        "fi\n",
        t->name, t->name, t->name, t->name, t->name);
}

/* ---- writing ------------------------------------------------------------------------------------- */

static corral_status_t write_file(const char *dir, const char *rel, const void *data, size_t len,
                                  unsigned mode, corral_err_t *err) {
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, rel) >= sizeof path)
        return corral_err_set(err, CORRAL_ERR_TOO_LARGE, "path too long: %s/%s", dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    corral_status_t st = corral_project_mkdirs(path, 0755, err);
    *slash = '/';
    if (st != CORRAL_OK) return st;
    return corral_file_write(path, data, len, mode, err);
}

static corral_status_t vendor_sdk(const char *dir, const char *prefix, const char *to,
                                  corral_err_t *err) {
    size_t pl = strlen(prefix), n = 0;
    for (const corral_sdk_file_t *f = corral_sdk_files; f->path; f++) {
        if (strncmp(f->path, prefix, pl) != 0) continue;
        char rel[PATH_MAX];
        snprintf(rel, sizeof rel, "%s/%s", to, f->path + pl);
        corral_status_t st = write_file(dir, rel, f->data, f->len, 0644, err);
        if (st != CORRAL_OK) return st;
        n++;
    }
    if (!n)
        return corral_err_set(err, CORRAL_ERR_INTERNAL,
                              "this corral was built without the %s guest SDK sources",
                              strcmp(prefix, "c/") == 0 ? "C" : "AssemblyScript");
    return CORRAL_OK;
}

static corral_status_t scaffold(const char *dir, const tpl_t *t, int as, corral_err_t *err) {
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_status_t st;
    char rel[PATH_MAX];
#define EMIT(rel_, gen, mode)                                                                      \
    do {                                                                                           \
        b.len = 0;                                                                                 \
        if ((st = (gen)) != CORRAL_OK) {                                                           \
            corral_err_set(err, st, "out of memory");                                              \
            goto done;                                                                             \
        }                                                                                          \
        if ((st = write_file(dir, rel_, b.data, b.len, mode, err)) != CORRAL_OK) goto done;        \
    } while (0)
    EMIT(CORRAL_PROJECT_FILE, project_file(t, as, &b), 0644);
    if (as) {
        EMIT("assembly/index.ts", as_source(t, &b), 0644);
        EMIT("package.json",
             corral_buf_printf(&b,
                               "{\n  \"name\": \"%s\",\n  \"version\": \"0.1.0\",\n"
                               "  \"private\": true,\n"
                               "  \"description\": \"the %s actor (Corral, AssemblyScript)\",\n"
                               "  \"scripts\": { \"build\": \"corral build .\" },\n"
                               "  \"devDependencies\": { \"assemblyscript\": \"0.28.20\" }\n}\n",
                               t->name, t->name),
             0644);
        EMIT("assembly/tsconfig.json",
             corral_buf_append_str(&b, "{\n  \"extends\": \"assemblyscript/std/assembly.json\",\n"
                                       "  \"include\": [\"./**/*.ts\"]\n}\n"),
             0644);
        if ((st = vendor_sdk(dir, "as/", "assembly/wapc", err)) != CORRAL_OK) goto done;
    } else {
        snprintf(rel, sizeof rel, "src/%s.c", t->name);
        EMIT(rel, c_source(t, &b), 0644);
        if ((st = vendor_sdk(dir, "c/", "sdk", err)) != CORRAL_OK) goto done;
    }
    EMIT("README.md", readme(t, as, &b), 0644);
    EMIT("test.sh", test_script(t, &b), 0755);
    EMIT(".gitignore", corral_buf_append_str(&b, as ? "build/\nnode_modules/\n" : "build/\n"), 0644);
#undef EMIT
    st = CORRAL_OK;
done:
    corral_buf_free(&b);
    return st;
}

/* 1 when path does not exist or is an empty folder. */
static int usable_dir(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) return errno == ENOENT;
    if (!S_ISDIR(sb.st_mode)) return 0;
    DIR *d = opendir(path);
    if (!d) return 0;
    int empty = 1;
    struct dirent *e;
    while (empty && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = 0;
    closedir(d);
    return empty;
}

int corral_cli_new(int argc, char **argv) {
    static const struct option opts[] = {{"lang", required_argument, NULL, 'l'},
                                         {"caps", required_argument, NULL, 'c'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *lang = "c", *caps = "httpserver,keyvalue", *dir = NULL;
    int c, rc = CORRAL_EXIT_USAGE;
    tpl_t t;
    memset(&t, 0, sizeof t);
    corral_err_t err;
    corral_err_clear(&err);
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:c:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': lang = optarg; break;
        case 'c': caps = optarg; break;
        case 'd': dir = optarg; break;
        case 'h': new_usage(stdout); return CORRAL_EXIT_OK;
        default: new_usage(stderr); return CORRAL_EXIT_USAGE;
        }
    }
    if (argc - optind != 2 || strcmp(argv[optind], "actor") != 0) {
        corral_cli_error("usage: corral new actor <name> [--lang c|assemblyscript] [--caps ...] "
                         "[--dir D] (see 'corral new --help')");
        return CORRAL_EXIT_USAGE;
    }
    t.name = argv[optind + 1];
    if (corral_project_check_name(t.name, &err) != CORRAL_OK) {
        corral_cli_error("%s", corral_err_msg(&err));
        return CORRAL_EXIT_USAGE;
    }
    int as;
    if (strcmp(lang, "c") == 0) as = 0;
    else if (strcmp(lang, "assemblyscript") == 0 || strcmp(lang, "as") == 0) as = 1;
    else {
        corral_cli_error("--lang must be c or assemblyscript, not '%s'", lang);
        return CORRAL_EXIT_USAGE;
    }
    /* caps: short names or contract ids, kept as contract ids */
    char *list = corral_strdup(caps), *save = NULL;
    if (!list) {
        corral_cli_error("out of memory");
        return CORRAL_EXIT_INTERNAL;
    }
    size_t ncaps = 0;
    const char *ids[CORRAL_PROJECT_MAX_CAPS]; /* point into list or static names */
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') tok++;
        char *e = tok + strlen(tok);
        while (e > tok && e[-1] == ' ') *--e = '\0';
        if (!*tok) continue;
        const char *id = corral_project_cap_id(tok);
        if (!id) {
            corral_cli_error("unknown capability '%s': use httpserver, keyvalue, logging, "
                             "numbergen or a contract id such as wasmcloud:messaging",
                             tok);
            goto done;
        }
        if (ncaps == CORRAL_PROJECT_MAX_CAPS) {
            corral_cli_error("at most %d capabilities", CORRAL_PROJECT_MAX_CAPS);
            goto done;
        }
        int dup = 0;
        for (size_t i = 0; i < ncaps; i++) dup |= strcmp(ids[i], id) == 0;
        if (dup) continue;
        if (corral_buf_printf(&t.caps, "%s%s", ncaps ? ", " : "", id) != CORRAL_OK) goto nomem;
        ids[ncaps++] = id;
        if (strcmp(id, "wasmcloud:keyvalue") == 0) t.kv = 1;
        if (strcmp(id, "wasmcloud:logging") == 0) t.logging = 1;
        if (strcmp(id, "wasmcloud:httpserver") == 0) t.http = 1;
    }
    if (corral_buf_terminate(&t.caps) != CORRAL_OK) goto nomem;
    if (!t.http)
        fprintf(stderr, "corral: note: without httpserver in --caps, `corral run` serves no HTTP\n");
    if (!dir) dir = t.name;
    if (!usable_dir(dir)) {
        corral_cli_error("%s already exists and is not an empty folder: choose another --dir", dir);
        rc = CORRAL_EXIT_FAIL;
        goto done;
    }
    if (scaffold(dir, &t, as, &err) != CORRAL_OK) {
        corral_cli_error("cannot write the project: %s", corral_err_msg(&err));
        rc = CORRAL_EXIT_FAIL;
        goto done;
    }
    printf("made the %s actor %s in %s/ (caps: %s)\n", as ? "AssemblyScript" : "C", t.name, dir,
           ncaps ? (char *)t.caps.data : "none");
    printf("next:\n");
    if (as) printf("  cd %s && npm install   # once: the AssemblyScript compiler\n", dir);
    printf("  corral build %s        # compile and sign\n"
           "  corral run %s          # serve it locally, reload on changes\n",
           dir, dir);
    rc = CORRAL_EXIT_OK;
    goto done;
nomem:
    corral_cli_error("out of memory");
    rc = CORRAL_EXIT_INTERNAL;
done:
    corral_free(list);
    corral_buf_free(&t.caps);
    return rc;
}

/*
 * cmd_build.c - `corral build [dir]`: compiles an actor project (project.h)
 * to wasm32 and signs it with the developer's keys, bumping its revision.
 * C projects are compiled by clang-14 directly (no CMake, no make) with the
 * SDK vendored in the project; AssemblyScript projects by `asc`. The keys
 * live under $CORRAL_HOME (default ~/.corral)/keys: account.nk (the issuer
 * of every actor this developer signs) and <name>_module.nk (the actor's
 * identity, so every rebuild is the same actor with a higher revision), made
 * on first use with mode 0600 in a 0700 folder, as wash does.
 * `corral run` calls corral_cli_build_project for every rebuild.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "corral_claims.h"
#include "project.h"

#define BUILD_MAX_SOURCES 256
#define BUILD_OUTPUT_MAX (1u << 20)

static void build_usage(FILE *out) {
    fprintf(out,
            "usage: corral build [dir]\n\n"
            "Builds the actor project in dir (default: the current folder; it holds\n"
            "corral.project): compiles it to build/<name>.wasm (C: clang-14 --target=wasm32\n"
            "with the vendored SDK in sdk/; AssemblyScript: asc), signs it into\n"
            "build/<name>_s.wasm with the caps of corral.project and the next revision\n"
            "(saved back into corral.project), and prints the module key, caps and size.\n\n"
            "Keys: $CORRAL_HOME/keys (default ~/.corral/keys): account.nk signs every actor,\n"
            "<name>_module.nk is the actor's identity; both are made on first use (0600).\n\n"
            "environment: CORRAL_CLANG (the C compiler, default clang-14 then clang),\n"
            "             CORRAL_ASC (the AssemblyScript compiler, default\n"
            "             node_modules/.bin/asc of the project, then asc on PATH),\n"
            "             CORRAL_HOME\n\n"
            "exit codes: 0 built and signed, 1 compile error, 2 usage error, 3 no project\n"
            "            file, a malformed one, no compiler or a bad key, 4 internal error\n");
}

/* Finds an executable by name on PATH (or a path with '/'). */
static int find_exe(const char *name, char *out, size_t n) {
    if (strchr(name, '/')) {
        if (access(name, X_OK) != 0) return 0;
        snprintf(out, n, "%s", name);
        return 1;
    }
    const char *path = getenv("PATH");
    if (!path) path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *c = strchr(path, ':');
        size_t l = c ? (size_t)(c - path) : strlen(path);
        if (l && (size_t)snprintf(out, n, "%.*s/%s", (int)l, path, name) < n &&
            access(out, X_OK) == 0)
            return 1;
        path += l + (c ? 1 : 0);
    }
    return 0;
}

/* Runs argv in cwd with stdout and stderr captured into out; returns the exit
 * status (or -1 when it could not run, with err set). */
static int run_capture(char *const *argv, const char *cwd, corral_buf_t *out, corral_err_t *err) {
    int fds[2];
    if (pipe(fds) != 0) {
        corral_err_set(err, CORRAL_ERR_IO, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        corral_err_set(err, CORRAL_ERR_IO, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[1]);
        if (cwd && chdir(cwd) != 0) _exit(126);
        execv(argv[0], argv);
        dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    char buf[4096];
    for (;;) {
        ssize_t r = read(fds[0], buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (out->len < BUILD_OUTPUT_MAX) (void)corral_buf_append(out, buf, (size_t)r);
    }
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            corral_err_set(err, CORRAL_ERR_IO, "waitpid: %s", strerror(errno));
            return -1;
        }
    (void)corral_buf_terminate(out);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    corral_err_set(err, CORRAL_ERR_INTERNAL, "%s was killed by signal %d", argv[0],
                   WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return -1;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends every "<dir>/<name>" with the given suffix in dir, sorted, to v. */
static corral_status_t list_files(const char *dir, const char *suffix, char **v, size_t *n,
                                  corral_err_t *err) {
    DIR *d = opendir(dir);
    if (!d) return corral_err_set(err, CORRAL_ERR_NOT_FOUND, "cannot open %s: %s", dir, strerror(errno));
    size_t start = *n, sl = strlen(suffix);
    struct dirent *e;
    corral_status_t st = CORRAL_OK;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l <= sl || strcmp(e->d_name + l - sl, suffix) != 0) continue;
        if (*n == BUILD_MAX_SOURCES) {
            st = corral_err_set(err, CORRAL_ERR_TOO_LARGE, "more than %d source files",
                                BUILD_MAX_SOURCES);
            break;
        }
        corral_buf_t b = CORRAL_BUF_INIT;
        if (corral_buf_printf(&b, "%s/%s", dir, e->d_name) != CORRAL_OK ||
            corral_buf_terminate(&b) != CORRAL_OK) {
            corral_buf_free(&b);
            st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
            break;
        }
        v[(*n)++] = (char *)corral_buf_take(&b, NULL);
    }
    closedir(d);
    qsort(v + start, *n - start, sizeof *v, cmp_str);
    return st;
}

static corral_status_t load_key(const char *path, corral_nkey_type_t type, corral_nkey_t *key,
                                corral_err_t *err) {
    struct stat sb;
    if (stat(path, &sb) == 0 && (sb.st_mode & 077))
        fprintf(stderr, "corral: warning: %s can be read by others (chmod 600 it)\n", path);
    return corral_nkey_load(path, type, key, err);
}

/* Loads the seed in path, or makes a new key of `type` and stores it there
 * (0600). The new file is written aside and hard-linked into place, so two
 * first builds racing end up with one key, never one overwriting the other. */
static corral_status_t load_or_make_key(const char *path, corral_nkey_type_t type,
                                        corral_nkey_t *key, int *made, corral_err_t *err) {
    *made = 0;
    if (access(path, F_OK) == 0) return load_key(path, type, key, err);
    corral_status_t st = corral_nkey_generate(type, key, err);
    if (st != CORRAL_OK) return st;
    char seed[CORRAL_NKEY_SEED_LEN + 2], tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.new.%ld", path, (long)getpid()) >= sizeof tmp) {
        st = corral_err_set(err, CORRAL_ERR_TOO_LARGE, "key path too long: %s", path);
        goto fail;
    }
    if ((st = corral_nkey_seed_str(key, seed, err)) != CORRAL_OK) goto fail;
    seed[CORRAL_NKEY_SEED_LEN] = '\n';
    st = corral_file_write(tmp, seed, CORRAL_NKEY_SEED_LEN + 1, 0600, err);
    corral_nkey_wipe_text(seed, sizeof seed);
    if (st != CORRAL_OK) goto fail;
    int linked = link(tmp, path) == 0, e = errno;
    unlink(tmp);
    if (!linked) {
        corral_nkey_wipe(key);
        if (e == EEXIST) return load_key(path, type, key, err); /* another build won */
        return corral_err_set(err, CORRAL_ERR_IO, "cannot create %s: %s", path, strerror(e));
    }
    *made = 1;
    return CORRAL_OK;
fail:
    corral_nkey_wipe(key);
    return st;
}

/* The C compile: clang-14 --target=wasm32 ... with every .c file of src/ and
 * of the SDK folder. */
static corral_status_t compile_c(const corral_project_t *p, const char *out, corral_buf_t *log,
                                 corral_err_t *err) {
    char clang[PATH_MAX];
    const char *want = getenv("CORRAL_CLANG");
    corral_status_t st = CORRAL_OK;
    if (want && *want) {
        if (!find_exe(want, clang, sizeof clang))
            return corral_err_set(err, CORRAL_ERR_NOT_FOUND,
                                  "CORRAL_CLANG=%s is not an executable compiler", want);
    } else if (!find_exe("clang-14", clang, sizeof clang) && !find_exe("clang", clang, sizeof clang)) {
        return corral_err_set(err, CORRAL_ERR_NOT_FOUND,
                              "clang-14 not found on PATH: it compiles C actors to wasm32 "
                              "(Debian: apt-get install clang-14 lld-14; or set CORRAL_CLANG)");
    }
    char *srcs[BUILD_MAX_SOURCES];
    size_t nsrc = 0;
    char *argv[BUILD_MAX_SOURCES + 24];
    size_t na = 0;
    corral_buf_t srcdir = CORRAL_BUF_INIT, sdkdir = CORRAL_BUF_INIT, inc = CORRAL_BUF_INIT;
    if (corral_buf_printf(&srcdir, "%s/src", p->dir) || corral_buf_terminate(&srcdir) ||
        corral_buf_printf(&sdkdir, "%s/%s", p->dir, p->sdk) || corral_buf_terminate(&sdkdir) ||
        corral_buf_printf(&inc, "-I%s", (char *)sdkdir.data) || corral_buf_terminate(&inc)) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = list_files((char *)srcdir.data, ".c", srcs, &nsrc, err)) != CORRAL_OK) goto done;
    if (nsrc == 0) {
        st = corral_err_set(err, CORRAL_ERR_NOT_FOUND, "no .c files in %s", (char *)srcdir.data);
        goto done;
    }
    if ((st = list_files((char *)sdkdir.data, ".c", srcs, &nsrc, err)) != CORRAL_OK) {
        corral_err_wrap(err, "the C guest SDK (sdk = %s in %s)", p->sdk, p->file);
        goto done;
    }
    static const char *const flags[] = {"--target=wasm32", "-O2", "-nostdlib", "-mbulk-memory",
                                        "-Wall", "-Wextra", "-Wno-unused-parameter",
                                        "-Wl,--no-entry", "-Wl,--export=__guest_call",
                                        "-Wl,--strip-debug"};
    argv[na++] = clang;
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) argv[na++] = (char *)flags[i];
    argv[na++] = (char *)inc.data;
    argv[na++] = "-o";
    argv[na++] = (char *)out;
    for (size_t i = 0; i < nsrc; i++) argv[na++] = srcs[i];
    argv[na] = NULL;
    int rc = run_capture(argv, NULL, log, err);
    if (rc < 0) st = err ? err->status : CORRAL_ERR_INTERNAL;
    else if (rc != 0)
        st = corral_err_set(err, CORRAL_ERR_INVALID, "compile failed (%s exited with %d)", clang, rc);
done:
    for (size_t i = 0; i < nsrc; i++) corral_free(srcs[i]);
    corral_buf_free(&srcdir);
    corral_buf_free(&sdkdir);
    corral_buf_free(&inc);
    return st;
}

/* The AssemblyScript compile: asc assembly/index.ts with the SDK's abort
 * (so the module imports nothing but waPC). */
static corral_status_t compile_as(const corral_project_t *p, const char *out, corral_buf_t *log,
                                  corral_err_t *err) {
    char asc[PATH_MAX], cand[PATH_MAX];
    const char *want = getenv("CORRAL_ASC");
    if (want && *want) {
        if (!find_exe(want, asc, sizeof asc))
            return corral_err_set(err, CORRAL_ERR_NOT_FOUND,
                                  "CORRAL_ASC=%s is not an executable compiler", want);
    } else {
        snprintf(cand, sizeof cand, "%s/node_modules/.bin/asc", p->dir);
        if (!find_exe(cand, asc, sizeof asc) && !find_exe("asc", asc, sizeof asc)) {
            snprintf(cand, sizeof cand, "%s/sdk/assemblyscript/node_modules/.bin/asc", CORRAL_SDK_DIR);
            if (!find_exe(cand, asc, sizeof asc))
                return corral_err_set(err, CORRAL_ERR_NOT_FOUND,
                                      "the AssemblyScript compiler (asc) was not found: run `npm "
                                      "install` in %s (it needs node and npm), or set CORRAL_ASC",
                                      p->dir);
        }
    }
    corral_buf_t use = CORRAL_BUF_INIT, outabs = CORRAL_BUF_INIT;
    corral_status_t st = CORRAL_OK;
    if (corral_buf_printf(&use, "abort=%s/index/wapcAbort", p->sdk) || corral_buf_terminate(&use)) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* asc runs in the project folder so import paths and --use resolve there. */
    char *argv[] = {asc,          "assembly/index.ts", "-o",        (char *)out,
                    "--optimizeLevel", "3",             "--shrinkLevel", "1",
                    "--runtime",  "incremental",       "--use",      (char *)use.data,
                    NULL};
    int rc = run_capture(argv, p->dir, log, err);
    if (rc < 0) st = err ? err->status : CORRAL_ERR_INTERNAL;
    else if (rc != 0)
        st = corral_err_set(err, CORRAL_ERR_INVALID, "compile failed (%s exited with %d)", asc, rc);
done:
    corral_buf_free(&use);
    corral_buf_free(&outabs);
    return st;
}

corral_status_t corral_cli_build_project(const char *dir, int quiet, corral_build_result_t *res,
                                         corral_err_t *err) {
    corral_project_t *p = NULL;
    corral_status_t st;
    corral_buf_t log = CORRAL_BUF_INIT, wasm = CORRAL_BUF_INIT, signed_ = CORRAL_BUF_INIT;
    corral_nkey_t account, module;
    memset(&account, 0, sizeof account);
    memset(&module, 0, sizeof module);
    char home[PATH_MAX], keys[PATH_MAX], path[PATH_MAX], builddir[PATH_MAX], raw[PATH_MAX];
    memset(res, 0, sizeof *res);

    if ((st = corral_project_load(dir, &p, err)) != CORRAL_OK) return st;
    if ((size_t)snprintf(builddir, sizeof builddir, "%s/build", p->dir) >= sizeof builddir ||
        (size_t)snprintf(raw, sizeof raw, "%s/build/%s.wasm", p->dir, p->name) >= sizeof raw ||
        (size_t)snprintf(res->wasm_path, sizeof res->wasm_path, "%s/build/%s_s.wasm", p->dir,
                         p->name) >= sizeof res->wasm_path) {
        st = corral_err_set(err, CORRAL_ERR_TOO_LARGE, "project path too long");
        goto done;
    }
    if ((st = corral_project_mkdirs(builddir, 0755, err)) != CORRAL_OK) goto done;
    /* asc runs inside the project: give it a path relative to there. */
    char as_out[PATH_MAX];
    snprintf(as_out, sizeof as_out, "build/%s.wasm", p->name);
    st = p->lang == CORRAL_LANG_C ? compile_c(p, raw, &log, err) : compile_as(p, as_out, &log, err);
    if (log.len) fprintf(stderr, "%s%s", (char *)log.data, log.data[log.len - 1] == '\n' ? "" : "\n");
    if (st != CORRAL_OK) goto done;
    if ((st = corral_file_read(raw, 0, &wasm, err)) != CORRAL_OK) goto done;

    /* keys */
    if ((st = corral_project_home(home, sizeof home, err)) != CORRAL_OK) goto done;
    if ((size_t)snprintf(keys, sizeof keys, "%s/keys", home) >= sizeof keys) {
        st = corral_err_set(err, CORRAL_ERR_TOO_LARGE, "key folder path too long");
        goto done;
    }
    if ((st = corral_project_mkdirs(home, 0700, err)) != CORRAL_OK ||
        (st = corral_project_mkdirs(keys, 0700, err)) != CORRAL_OK)
        goto done;
    int made;
    if ((size_t)snprintf(path, sizeof path, "%s/account.nk", keys) >= sizeof path) {
        st = corral_err_set(err, CORRAL_ERR_TOO_LARGE, "key path too long");
        goto done;
    }
    if ((st = load_or_make_key(path, CORRAL_NKEY_ACCOUNT, &account, &made, err)) != CORRAL_OK)
        goto done;
    if (made && !quiet) printf("made the account key %s (it signs all your actors)\n", path);
    if ((size_t)snprintf(path, sizeof path, "%s/%s_module.nk", keys, p->name) >= sizeof path) {
        st = corral_err_set(err, CORRAL_ERR_TOO_LARGE, "key path too long");
        goto done;
    }
    if ((st = load_or_make_key(path, CORRAL_NKEY_MODULE, &module, &made, err)) != CORRAL_OK)
        goto done;
    if (made && !quiet) printf("made the module key %s (the identity of %s)\n", path, p->name);

    /* sign with the next revision */
    corral_claims_sign_opts_t so;
    memset(&so, 0, sizeof so);
    so.name = p->name;
    so.caps = (const char *const *)p->caps;
    so.ncaps = p->ncaps;
    so.rev = p->rev + 1;
    so.ver = p->ver;
    so.call_alias = p->call_alias;
    if ((st = corral_claims_sign_module(wasm.data, wasm.len, &so, &account, &module, &signed_,
                                        NULL, err)) != CORRAL_OK) {
        corral_err_wrap(err, "signing %s", raw);
        goto done;
    }
    if ((st = corral_file_write(res->wasm_path, signed_.data, signed_.len, 0644, err)) != CORRAL_OK ||
        (st = corral_project_save_rev(p, so.rev, err)) != CORRAL_OK)
        goto done;
    corral_nkey_public_str(&module, res->key);
    res->rev = so.rev;
    res->size = signed_.len;
    if (!quiet) {
        printf("built %s rev %lld -> %s\n", p->name, (long long)res->rev, res->wasm_path);
        printf("  module key  %s\n", res->key);
        printf("  caps        ");
        for (size_t i = 0; i < p->ncaps; i++) printf("%s%s", i ? ", " : "", p->caps[i]);
        printf("%s\n", p->ncaps ? "" : "(none)");
        printf("  size        %zu bytes\n", res->size);
    }
done:
    corral_nkey_wipe(&account);
    corral_nkey_wipe(&module);
    corral_buf_free(&log);
    corral_buf_free(&wasm);
    corral_buf_free(&signed_);
    corral_project_free(p);
    return st;
}

int corral_cli_build(int argc, char **argv) {
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': build_usage(stdout); return CORRAL_EXIT_OK;
        default: build_usage(stderr); return CORRAL_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        corral_cli_error("build takes at most one folder (see 'corral build --help')");
        return CORRAL_EXIT_USAGE;
    }
    const char *dir = argc - optind == 1 ? argv[optind] : ".";
    corral_build_result_t res;
    corral_err_t err;
    corral_err_clear(&err);
    corral_status_t st = corral_cli_build_project(dir, 0, &res, &err);
    if (st == CORRAL_OK) return CORRAL_EXIT_OK;
    corral_cli_error("%s", corral_err_msg(&err));
    if (st == CORRAL_ERR_INVALID) return CORRAL_EXIT_FAIL;
    if (st == CORRAL_ERR_PARSE) return CORRAL_EXIT_INPUT;
    return corral_cli_exit_for(st);
}

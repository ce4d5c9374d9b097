/*
 * cmd_run.c - `corral run [dir]`: the inner loop of actor development.
 * Builds the project (cmd_build.c), starts an in-process host
 * (corral_host.h) with the actor, starts a provider for each capability the
 * project lists (HTTP on a free port or --port, SQLite key-value under the
 * data dir; logging and numbergen are the host's built-ins) and links them,
 * prints the URL, then polls the project's files every 500 ms: on a change
 * it rebuilds (next revision) and live-updates the actor with
 * corral_host_actor_update, so requests in flight finish on the old version
 * and none fails. A failed build keeps the running version. SIGINT or
 * SIGTERM drains and stops cleanly (exit 0).
 */
#include "cli.h"

#ifndef CORRAL_HAVE_HOST
int corral_cli_run(int argc, char **argv) {
    (void)argc;
    (void)argv;
    corral_cli_error("this corral was built without the host module: 'run' is unavailable");
    return CORRAL_EXIT_INTERNAL;
}
#else

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corral_host.h"
#include "project.h"
#ifdef CORRAL_HAVE_HTTP_PROVIDER
#include "corral_provider_http.h"
#endif
#include "corral_provider.h"

static void run_usage(FILE *out) {
    fprintf(out,
            "usage: corral run [dir] [options]\n\n"
            "Builds the actor project in dir (default: the current folder), runs it in a\n"
            "local host with a provider for each of its capabilities (httpserver on a free\n"
            "port, keyvalue in SQLite under the data dir, logging, numbergen) and prints\n"
            "the URL to try. Then it watches the project's sources: on every change it\n"
            "rebuilds (next revision) and live-updates the actor; requests keep being\n"
            "served during the update. A build that fails keeps the running version.\n"
            "SIGINT (Ctrl-C) stops it.\n\n"
            "  --port N         HTTP port (default: a free one)\n"
            "  --data-dir D     where the key-value store lives (default\n"
            "                   $CORRAL_HOME/data/<name>, CORRAL_HOME defaults to ~/.corral)\n"
            "  --poll-ms N      how often to look for changes (default 500)\n"
            "  --run-dir D      also open the control socket in D (D/control.sock), so\n"
            "                   `corral get inventory --run-dir D` and friends work\n"
            "  --log-level L    error, warn, info (default), debug or trace\n\n"
            "exit codes: 0 stopped cleanly, 1 the build or the host failed, 2 usage error,\n"
            "            3 no project file or a malformed one, 4 internal error\n");
}

static corral_host_t *volatile g_host;
static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
    if (++g_stop > 1 && sig == SIGINT) _exit(130);
    if (g_host) corral_host_request_stop(g_host);
}

/* A port nobody listens on now (bound then released: the provider binds it
 * again a moment later). 0 on failure. */
static unsigned free_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return 0;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    unsigned port = 0;
    if (bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    close(s);
    return port;
}

/* A fingerprint of the watched files: name, size and mtime of every regular
 * file under the folder (two levels deep, dot names and build output
 * skipped). */
static void fingerprint_dir(const char *dir, int depth, uint64_t *h) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "build") == 0 ||
            strcmp(e->d_name, "node_modules") == 0)
            continue;
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path) continue;
        struct stat sb;
        if (stat(path, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) {
            if (depth < 3) fingerprint_dir(path, depth + 1, h);
            continue;
        }
        size_t l = strlen(e->d_name);
        int src = (l > 2 && strcmp(e->d_name + l - 2, ".c") == 0) ||
                  (l > 2 && strcmp(e->d_name + l - 2, ".h") == 0) ||
                  (l > 3 && strcmp(e->d_name + l - 3, ".ts") == 0);
        if (!src) continue;
        uint64_t x = 1469598103934665603ull;
        for (const char *c = path; *c; c++) x = (x ^ (uint8_t)*c) * 1099511628211ull;
        x ^= (uint64_t)sb.st_size * 0x9e3779b97f4a7c15ull;
        x ^= ((uint64_t)sb.st_mtim.tv_sec * 1000000000ull + (uint64_t)sb.st_mtim.tv_nsec) *
             0xc2b2ae3d27d4eb4full;
        *h += x; /* order-independent */
    }
    closedir(d);
}

/* The sources' fingerprint plus corral.project's text without its rev line:
 * the build rewrites rev, which must not look like a change. */
static uint64_t fingerprint(const char *dir) {
    uint64_t h = 0;
    fingerprint_dir(dir, 0, &h);
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, CORRAL_PROJECT_FILE) >= sizeof path)
        return h;
    FILE *f = fopen(path, "r");
    if (!f) return h;
    char line[1024];
    uint64_t x = 1469598103934665603ull;
    while (fgets(line, sizeof line, f)) {
        const char *k = line + strspn(line, " \t");
        if (strncmp(k, "rev", 3) == 0 && strchr(" \t=", k[3])) continue;
        for (const char *c = line; *c; c++) x = (x ^ (uint8_t)*c) * 1099511628211ull;
    }
    fclose(f);
    return h + x;
}

typedef struct {
    corral_host_t *host;
    corral_project_t *proj; /* reloaded after each build */
    char key[CORRAL_HOST_KEY_LEN];
    unsigned port;
    int have_http, have_kv; /* providers started */
} run_t;

/* Starts a provider of `kind` and links the actor to contract_id with one
 * optional value. */
static corral_status_t start_and_link(run_t *r, const char *kind, const char *contract_id,
                                      const char *vkey, const char *vval, corral_err_t *err) {
    corral_host_provider_opts_t po;
    memset(&po, 0, sizeof po);
    po.kind = kind;
    corral_status_t st = corral_host_provider_start(r->host, &po, NULL, err);
    if (st != CORRAL_OK) return corral_err_wrap(err, "starting the %s provider", kind);
    corral_host_kv_t v = {vkey, vval};
    st = corral_host_link_put(r->host, r->key, contract_id, NULL, vkey ? &v : NULL, vkey ? 1 : 0,
                              err);
    if (st != CORRAL_OK) return corral_err_wrap(err, "linking %s", contract_id);
    return CORRAL_OK;
}

/* Starts providers for the caps that have none yet. */
static corral_status_t provide(run_t *r, corral_err_t *err) {
    corral_status_t st;
    const corral_project_t *p = r->proj;
    for (size_t i = 0; i < p->ncaps; i++) {
        const char *id = p->caps[i];
        if (strcmp(id, "wasmcloud:httpserver") == 0 || strcmp(id, "wascc:http_server") == 0) {
            if (r->have_http) continue;
            char port[16];
            snprintf(port, sizeof port, "%u", r->port);
            if ((st = start_and_link(r, "httpserver", "wasmcloud:httpserver", "PORT", port, err)) !=
                CORRAL_OK)
                return st;
            r->have_http = 1;
        } else if (strcmp(id, "wasmcloud:keyvalue") == 0 || strcmp(id, "wascc:keyvalue") == 0) {
            if (r->have_kv) continue;
            if ((st = start_and_link(r, "keyvalue:sqlite", "wasmcloud:keyvalue", NULL, NULL,
                                     err)) != CORRAL_OK)
                return st;
            r->have_kv = 1;
        } else if (strcmp(id, "wasmcloud:logging") == 0 || strcmp(id, "wascc:logging") == 0 ||
                   strcmp(id, "wasmcloud:builtin:numbergen") == 0 ||
                   strcmp(id, "wascc:extras") == 0) {
            /* built into the host, linked implicitly */
        } else {
            fprintf(stderr, "corral: warning: no local provider for %s: its calls will fail\n", id);
        }
    }
    return CORRAL_OK;
}

static corral_status_t reload_project(run_t *r, const char *dir, corral_err_t *err) {
    corral_project_t *p = NULL;
    corral_status_t st = corral_project_load(dir, &p, err);
    if (st != CORRAL_OK) return st;
    corral_project_free(r->proj);
    r->proj = p;
    return CORRAL_OK;
}

int corral_cli_run(int argc, char **argv) {
    static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
                                         {"data-dir", required_argument, NULL, 'D'},
                                         {"poll-ms", required_argument, NULL, 'P'},
                                         {"log-level", required_argument, NULL, 'L'},
                                         {"run-dir", required_argument, NULL, 'R'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *data_dir = NULL, *run_dir = NULL;
    unsigned long port = 0, poll_ms = 500;
    corral_log_level_t level = CORRAL_LOG_INFO;
    int c, rc = CORRAL_EXIT_USAGE;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:D:P:L:R:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            port = strtoul(optarg, &end, 10);
            if (*end || !*optarg || optarg[0] == '-' || port == 0 || port > 65535) {
                corral_cli_error("--port needs a number from 1 to 65535, not '%s'", optarg);
                return CORRAL_EXIT_USAGE;
            }
            break;
        case 'D': data_dir = optarg; break;
        case 'R': run_dir = optarg; break;
        case 'P':
            poll_ms = strtoul(optarg, &end, 10);
            if (*end || !*optarg || optarg[0] == '-' || poll_ms < 10 || poll_ms > 60000) {
                corral_cli_error("--poll-ms needs a number from 10 to 60000, not '%s'", optarg);
                return CORRAL_EXIT_USAGE;
            }
            break;
        case 'L':
            if (corral_log_level_parse(optarg, &level) != CORRAL_OK) {
                corral_cli_error("--log-level must be error, warn, info, debug or trace");
                return CORRAL_EXIT_USAGE;
            }
            break;
        case 'h': run_usage(stdout); return CORRAL_EXIT_OK;
        default: run_usage(stderr); return CORRAL_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        corral_cli_error("run takes at most one folder (see 'corral run --help')");
        return CORRAL_EXIT_USAGE;
    }
    const char *dir = argc - optind == 1 ? argv[optind] : ".";
    corral_log_set_level(level);
    setvbuf(stdout, NULL, _IOLBF, 0);

    run_t r;
    memset(&r, 0, sizeof r);
    corral_err_t err;
    corral_err_clear(&err);
    corral_status_t st;
    corral_build_result_t b;
    char ddir[PATH_MAX];

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if ((st = corral_cli_build_project(dir, 0, &b, &err)) != CORRAL_OK) {
        corral_cli_error("%s", corral_err_msg(&err));
        rc = st == CORRAL_ERR_INVALID ? CORRAL_EXIT_FAIL
             : st == CORRAL_ERR_PARSE ? CORRAL_EXIT_INPUT
                                      : corral_cli_exit_for(st);
        goto done;
    }
    if (g_stop) {
        rc = CORRAL_EXIT_OK;
        goto done;
    }
    if ((st = reload_project(&r, dir, &err)) != CORRAL_OK) goto fail;
    if (!data_dir) {
        char home[PATH_MAX];
        if ((st = corral_project_home(home, sizeof home, &err)) != CORRAL_OK) goto fail;
        if ((size_t)snprintf(ddir, sizeof ddir, "%s/data/%s", home, r.proj->name) >= sizeof ddir) {
            st = corral_err_set(&err, CORRAL_ERR_TOO_LARGE, "data dir path too long");
            goto fail;
        }
        if ((st = corral_project_mkdirs(ddir, 0700, &err)) != CORRAL_OK) goto fail;
        data_dir = ddir;
    }
    r.port = port ? (unsigned)port : free_port();
    if (!r.port) {
        st = corral_err_set(&err, CORRAL_ERR_IO, "cannot find a free TCP port: use --port");
        goto fail;
    }

#ifdef CORRAL_HAVE_HTTP_PROVIDER
    if (!corral_provider_builtin_find(CORRAL_PROVIDER_HTTP_NAME)) {
        corral_status_t rs = corral_provider_builtin_register(corral_provider_http(), &err);
        if (rs != CORRAL_OK && rs != CORRAL_ERR_EXISTS)
            corral_log(CORRAL_LOG_WARN, "run", "HTTP server provider unavailable: %s",
                       corral_err_msg(&err));
    }
#endif
    corral_host_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = data_dir;
    corral_host_kv_t label = {"corral-run", r.proj->name};
    cfg.labels = &label;
    cfg.nlabels = 1;
    cfg.worker_threads = 2;
    if ((st = corral_host_new(&cfg, &r.host, &err)) != CORRAL_OK ||
        (st = corral_host_start(r.host, &err)) != CORRAL_OK) {
        corral_err_wrap(&err, "cannot start the host");
        goto fail;
    }
    g_host = r.host;
    if (g_stop) corral_host_request_stop(r.host);
    corral_host_actor_info_t info;
    if ((st = corral_host_actor_start_file(r.host, b.wasm_path, NULL, &info, &err)) != CORRAL_OK)
        goto fail;
    snprintf(r.key, sizeof r.key, "%s", info.key);
    if ((st = provide(&r, &err)) != CORRAL_OK) goto fail;
    if (run_dir && (st = corral_host_control_start(r.host, run_dir, &err)) != CORRAL_OK) {
        corral_err_wrap(&err, "cannot open the control socket");
        goto fail;
    }

    printf("%s rev %lld is running (module key %s)\n", r.proj->name, (long long)info.rev, r.key);
    if (r.have_http) printf("try: curl http://127.0.0.1:%u/\n", r.port);
    if (r.have_kv) printf("key-value store: %s/keyvalue.sqlite\n", data_dir);
    if (run_dir) printf("control socket: %s\n", corral_host_control_path(r.host));
    printf("watching %s for changes (Ctrl-C stops)\n", r.proj->dir);

    uint64_t seen = fingerprint(r.proj->dir);
    while (!corral_host_wait(r.host, (uint32_t)poll_ms)) {
        uint64_t now = fingerprint(r.proj->dir);
        if (now == seen) continue;
        /* Let an editor finish writing (several files, or write + rename). */
        do {
            seen = now;
            if (corral_host_wait(r.host, 100)) goto stopped;
            now = fingerprint(r.proj->dir);
        } while (now != seen);
        /* `seen` is what this build compiles: an edit made while it runs is
         * picked up by the next poll. */
        printf("change seen: rebuilding %s\n", r.proj->name);
        corral_err_clear(&err);
        if (corral_cli_build_project(dir, 1, &b, &err) != CORRAL_OK) {
            fprintf(stderr, "corral: %s\ncorral: still serving the previous revision\n",
                    corral_err_msg(&err));
            continue;
        }
        corral_host_update_result_t u;
        if (corral_host_actor_update_file(r.host, r.key, b.wasm_path, &u, &err) != CORRAL_OK) {
            fprintf(stderr, "corral: live update refused: %s\n", corral_err_msg(&err));
            continue;
        }
        if (reload_project(&r, dir, &err) == CORRAL_OK && u.caps_changed &&
            provide(&r, &err) != CORRAL_OK)
            fprintf(stderr, "corral: %s\n", corral_err_msg(&err));
        printf("updated %s to rev %lld (%zu bytes, swap pause %llu us)\n", r.proj->name,
               (long long)u.new_rev, b.size, (unsigned long long)u.swap_pause_us);
    }
stopped:
    printf("stopping %s\n", r.proj->name);
    rc = CORRAL_EXIT_OK;
    goto done;
fail:
    corral_cli_error("%s", corral_err_msg(&err));
    rc = corral_cli_exit_for(st) == CORRAL_EXIT_INTERNAL ? CORRAL_EXIT_INTERNAL : CORRAL_EXIT_FAIL;
done:
    if (r.host) corral_host_stop(r.host);
    g_host = NULL;
    corral_host_free(r.host);
    corral_project_free(r.proj);
    return rc;
}

#endif /* CORRAL_HAVE_HOST */

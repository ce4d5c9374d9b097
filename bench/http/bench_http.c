/*
 * bench_http.c - HTTP throughput of the httpserver provider against a bare
 * libmicrohttpd server, measured with wrk on loopback in the same run.
 *
 *   bare      a libmicrohttpd "hello" server with the provider's settings
 *             (epoll, internal thread pool, suspend/resume allowed, same
 *             connection limits), answering from the access handler
 *   provider  the httpserver provider linked to a fake in-process actor
 *             (tests/providers_http/http_fake_host.c) that answers every
 *             HandleRequest at once with a prebuilt "hello" response on its
 *             own worker thread, as a host worker would
 *
 * Prints requests/s and p50/p99 latency (wrk --latency) of both and the ratio
 * provider/bare. The host-side comparison (a real kvcounter actor) belongs
 * with the host's benchmarks.
 *
 * Usage: corral_bench_http [-d seconds] [-c connections] [-t wrk threads]
 *                          [-p pool threads] [-w fake-host workers]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "corral_provider_http.h"
#include "http_fake_host.h"

typedef struct wrk_result {
    double rps;
    double p50_ms, p99_ms;
    long non2xx;
    char errors[160];
} wrk_result_t;

static uint16_t free_port(void) {
    struct sockaddr_in a;
    socklen_t sl = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &sl) < 0) {
        if (fd >= 0) close(fd);
        return 0;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* "1.23ms" / "850.00us" / "1.2s" -> milliseconds. */
static double to_ms(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (strncmp(end, "us", 2) == 0) return v / 1000.0;
    if (strncmp(end, "ms", 2) == 0) return v;
    if (strncmp(end, "s", 1) == 0) return v * 1000.0;
    if (strncmp(end, "m", 1) == 0) return v * 60000.0;
    return v;
}

/* Runs wrk against url; returns 0 and fills *r when wrk ran. */
static int run_wrk(const char *url, int threads, int conns, int secs, wrk_result_t *r) {
    int pfd[2];
    char t[16], c[16], d[16];
    memset(r, 0, sizeof *r);
    snprintf(t, sizeof t, "-t%d", threads);
    snprintf(c, sizeof c, "-c%d", conns);
    snprintf(d, sizeof d, "-d%ds", secs);
    if (pipe(pfd) < 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execlp("wrk", "wrk", t, c, d, "--latency", url, (char *)NULL);
        fprintf(stderr, "cannot run wrk: %s\n", strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    static char out[16384];
    size_t n = 0;
    ssize_t k;
    while ((k = read(pfd[0], out + n, sizeof out - 1 - n)) > 0) n += (size_t)k;
    out[n] = '\0';
    close(pfd[0]);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "wrk failed:\n%s\n", out);
        return -1;
    }
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        char v[32];
        while (*line == ' ') line++;
        if (sscanf(line, "Requests/sec: %lf", &r->rps) == 1) continue;
        if (sscanf(line, "50%% %31s", v) == 1) r->p50_ms = to_ms(v);
        else if (sscanf(line, "99%% %31s", v) == 1) r->p99_ms = to_ms(v);
        else if (sscanf(line, "Non-2xx or 3xx responses: %ld", &r->non2xx) == 1) continue;
        else if (strncmp(line, "Socket errors:", 14) == 0)
            snprintf(r->errors, sizeof r->errors, "%s", line);
    }
    return r->rps > 0 ? 0 : -1;
}

/* ---- the bare server ------------------------------------------------------------- */

static const char HELLO[] = "hello";

static enum MHD_Result bare_access(void *cls, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *version, const char *upload,
                                   size_t *upload_size, void **con_cls) {
    static int first;
    if (!*con_cls) { /* headers only: wait for the body like the provider does */
        *con_cls = &first;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof HELLO - 1, (void *)HELLO, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "content-type", "text/plain");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- main ---------------------------------------------------------------------------- */

static int buf_write(void *data, const char *p, size_t n) {
    return corral_buf_append((corral_buf_t *)data, p, n) == CORRAL_OK ? 0 : -1;
}

static void print_row(const char *name, const wrk_result_t *r) {
    printf("%-9s %12.0f %10.3f %10.3f %8ld  %s\n", name, r->rps, r->p50_ms, r->p99_ms, r->non2xx,
           r->errors);
}

int main(int argc, char **argv) {
    int secs = 5, conns = 16, wthreads = 1, pool = 2, workers = 1, opt;
    static const struct option longopts[] = {{"duration", required_argument, NULL, 'd'},
                                             {"connections", required_argument, NULL, 'c'},
                                             {"wrk-threads", required_argument, NULL, 't'},
                                             {"pool", required_argument, NULL, 'p'},
                                             {"workers", required_argument, NULL, 'w'},
                                             {NULL, 0, NULL, 0}};
    while ((opt = getopt_long(argc, argv, "d:c:t:p:w:", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd': secs = atoi(optarg); break;
        case 'c': conns = atoi(optarg); break;
        case 't': wthreads = atoi(optarg); break;
        case 'p': pool = atoi(optarg); break;
        case 'w': workers = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: %s [-d secs] [-c conns] [-t wrk threads] [-p pool] [-w workers]\n",
                    argv[0]);
            return 2;
        }
    }
    if (secs < 1 || conns < 1 || wthreads < 1 || pool < 1 || pool > 64 || workers < 1) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    corral_log_set_level(CORRAL_LOG_WARN);
    char url[64];
    wrk_result_t bare, prov;

    /* 1. bare libmicrohttpd, same settings as the provider's listeners */
    uint16_t port = free_port();
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, port, NULL,
        NULL, bare_access, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)pool, MHD_OPTION_CONNECTION_LIMIT, 1024u,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(64 * 1024), MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "cannot start the bare server on port %u\n", port);
        return 1;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", port);
    printf("bare libmicrohttpd: %s (pool %d)\n", url, pool);
    fflush(stdout);
    int rc = run_wrk(url, wthreads, conns, secs, &bare);
    MHD_stop_daemon(d);
    if (rc) return 1;

    /* 2. the provider with an instant fake actor */
    corral_buf_t resp = CORRAL_BUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &resp, buf_write);
    msgpack_pack_map(&pk, 4);
    msgpack_pack_str_with_body(&pk, "statusCode", 10);
    msgpack_pack_uint16(&pk, 200);
    msgpack_pack_str_with_body(&pk, "status", 6);
    msgpack_pack_str_with_body(&pk, "OK", 2);
    msgpack_pack_str_with_body(&pk, "header", 6);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "content-type", 12);
    msgpack_pack_str_with_body(&pk, "text/plain", 10);
    msgpack_pack_str_with_body(&pk, "body", 4);
    msgpack_pack_bin_with_body(&pk, HELLO, sizeof HELLO - 1);

    fake_host_t fake;
    if (fake_host_start(&fake, workers)) return 1;
    fake.mode = FAKE_FIXED;
    fake.fixed_resp = resp.data;
    fake.fixed_len = resp.len;
    const corral_provider_t *p = corral_provider_http();
    void *inst = NULL;
    corral_err_t err;
    char port_s[8], pool_s[8];
    port = free_port();
    snprintf(port_s, sizeof port_s, "%u", port);
    snprintf(pool_s, sizeof pool_s, "%d", pool);
    corral_provider_kv_t kv[] = {{"PORT", port_s}, {"THREADS", pool_s}};
    if (p->create(NULL, 0, &fake.host, &inst, &err) != CORRAL_OK ||
        p->link(inst, "MBENCHACTOR", "default", kv, 2, &err) != CORRAL_OK) {
        fprintf(stderr, "provider: %s\n", err.msg);
        return 1;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", port);
    printf("httpserver provider: %s (pool %d, fake host workers %d)\n", url, pool, workers);
    fflush(stdout);
    rc = run_wrk(url, wthreads, conns, secs, &prov);
    p->destroy(inst);
    long answered = fake_host_answered(&fake);
    fake_host_stop(&fake);
    corral_buf_free(&resp);
    if (rc) return 1;

    printf("\nwrk -t%d -c%d -d%ds --latency, loopback, same run\n", wthreads, conns, secs);
    printf("%-9s %12s %10s %10s %8s\n", "server", "requests/s", "p50 ms", "p99 ms", "non-2xx");
    print_row("bare", &bare);
    print_row("provider", &prov);
    printf("ratio provider/bare: %.2f (requests/s), p50 x%.2f, p99 x%.2f; actor calls: %ld\n",
           prov.rps / bare.rps, bare.p50_ms > 0 ? prov.p50_ms / bare.p50_ms : 0.0,
           bare.p99_ms > 0 ? prov.p99_ms / bare.p99_ms : 0.0, answered);
    return 0;
}

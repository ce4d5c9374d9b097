/*
 * bare_hello.c - the baseline of bench/host: a bare libmicrohttpd server
 * with the HTTP provider's default settings (epoll, an internal pool of 2
 * threads, 127.0.0.1) answering every request with a fixed 13-byte JSON body
 * ({"counter":1}, as long as a kvcounter answer) from the access handler.
 * It shows what HTTP alone costs on this machine, so the kvcounter figures
 * can be read as "HTTP + actor + store" against "HTTP".
 *
 *   corral_bench_bare_hello <port> [threads]    (runs until SIGTERM/SIGINT)
 */
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char BODY[] = "{\"counter\":1}";

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state) {
    (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size, (void)state;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof BODY - 1, (void *)BODY, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "content-type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static volatile sig_atomic_t stop;
static void on_signal(int s) {
    (void)s;
    stop = 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: corral_bench_bare_hello <port> [threads]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : 2;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, (uint16_t)port,
        NULL, NULL, answer, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, 1024u,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!stop) pause();
    MHD_stop_daemon(d);
    return 0;
}

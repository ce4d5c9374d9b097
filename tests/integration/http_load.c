/*
 * http_load.c - a bounded HTTP/1.1 load client for the integration tests:
 * N threads, each on its own keep-alive connection to 127.0.0.1:<port>,
 * send GET <path> back to back for a fixed time and classify every outcome:
 * a status (200, 503, other), a connection reset, a refused connect, or a
 * hang (no complete response within the timeout). A connection the server
 * closes cleanly between responses is reopened and counted apart. Prints
 * one JSON line of counts (status_504 is also counted in status_other);
 * exits 1 when anything but 200 / 503 happened.
 *
 *   http_load <port> <path> <connections> <seconds> [timeout_ms]
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int g_port, g_timeout_ms = 5000;
static const char *g_path;
static double g_end;
static atomic_long n200, n503, n504, nother, nreset, nrefused, nhang, nclosed;
static atomic_long max_latency_us;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int open_conn(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)g_port);
    sa.sin_addr.s_addr = htonl(0x7f000001);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One request on fd. Returns the status (>0), 0 when the server closed the
 * connection before any byte of the response, -1 on reset, -2 on timeout. */
static int one_request(int fd, int *server_closes) {
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", g_path);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) return errno == EPIPE ? 0 : -1;
    char buf[16384];
    size_t have = 0;
    long need = -1; /* total bytes of head + body once known */
    int status = 0;
    double deadline = now_s() + g_timeout_ms / 1000.0;
    for (;;) {
        if (need >= 0 && (long)have >= need) return status;
        int left = (int)((deadline - now_s()) * 1000);
        if (left <= 0) return -2;
        struct pollfd p = {fd, POLLIN, 0};
        int pr = poll(&p, 1, left);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) return -2;
        ssize_t r = recv(fd, buf + have, sizeof buf - have, 0);
        if (r < 0) return errno == ECONNRESET ? -1 : -1;
        if (r == 0) return have == 0 ? 0 : -1; /* closed mid-response = broken */
        have += (size_t)r;
        if (need < 0) {
            buf[have < sizeof buf ? have : sizeof buf - 1] = '\0';
            char *end = strstr(buf, "\r\n\r\n");
            if (!end) {
                if (have == sizeof buf) return -1;
                continue;
            }
            if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) return -1;
            long clen = 0;
            for (char *h = strstr(buf, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n")) {
                if (strncasecmp(h + 2, "content-length:", 15) == 0) clen = strtol(h + 17, NULL, 10);
                if (strncasecmp(h + 2, "connection: close", 17) == 0) *server_closes = 1;
            }
            need = (long)(end + 4 - buf) + clen;
            if (need > (long)sizeof buf) return -1;
        }
    }
}

static void *worker(void *arg) {
    (void)arg;
    int fd = -1;
    while (now_s() < g_end) {
        if (fd < 0 && (fd = open_conn()) < 0) {
            atomic_fetch_add(&nrefused, 1);
            usleep(10000);
            continue;
        }
        int closes = 0;
        double t0 = now_s();
        int st = one_request(fd, &closes);
        long us = (long)((now_s() - t0) * 1e6);
        long cur = atomic_load(&max_latency_us);
        while (us > cur && !atomic_compare_exchange_weak(&max_latency_us, &cur, us)) {
        }
        if (st == 200) atomic_fetch_add(&n200, 1);
        else if (st == 503) atomic_fetch_add(&n503, 1);
        else if (st > 0) {
            atomic_fetch_add(&nother, 1);
            if (st == 504) atomic_fetch_add(&n504, 1);
        }
        else if (st == 0) atomic_fetch_add(&nclosed, 1);
        else if (st == -1) atomic_fetch_add(&nreset, 1);
        else atomic_fetch_add(&nhang, 1);
        if (st <= 0 || closes) {
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0) close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: http_load <port> <path> <connections> <seconds> [timeout_ms]\n");
        return 2;
    }
    g_port = atoi(argv[1]);
    g_path = argv[2];
    int conns = atoi(argv[3]);
    double secs = atof(argv[4]);
    if (argc > 5) g_timeout_ms = atoi(argv[5]);
    if (g_port <= 0 || conns <= 0 || conns > 256 || secs <= 0) {
        fprintf(stderr, "http_load: bad arguments\n");
        return 2;
    }
    g_end = now_s() + secs;
    pthread_t th[256];
    for (int i = 0; i < conns; i++) pthread_create(&th[i], NULL, worker, NULL);
    for (int i = 0; i < conns; i++) pthread_join(th[i], NULL);
    long ok = atomic_load(&n200), un = atomic_load(&n503), other = atomic_load(&nother),
         reset = atomic_load(&nreset), refused = atomic_load(&nrefused), hang = atomic_load(&nhang),
         closed = atomic_load(&nclosed);
    printf("{\"requests\": %ld, \"status_200\": %ld, \"status_503\": %ld, \"status_other\": %ld, "
           "\"status_504\": %ld, \"resets\": %ld, \"refused\": %ld, \"hangs\": %ld, "
           "\"server_closed\": %ld, \"max_latency_ms\": %.1f, \"seconds\": %.1f, "
           "\"connections\": %d}\n",
           ok + un + other + reset + hang + closed, ok, un, other, atomic_load(&n504), reset,
           refused, hang, closed,
           atomic_load(&max_latency_us) / 1000.0, secs, conns);
    return (other || reset || refused || hang || ok == 0) ? 1 : 0;
}

/*
 * nats_server.c - test helper: a nats-server with JetStream for the lattice
 * tests. CORRAL_TEST_NATS_URL when set; otherwise one started on a free
 * loopback port with a temporary store and a 64 KiB max_payload (so
 * chunking is exercised with small bodies), stopped by PID at exit.
 */
#include <fcntl.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nats_server.h"

char g_url[128];
static pid_t g_pid;
static char g_dir[64];
static char g_conf[128];

static pid_t spawn(void) {
    pid_t pid = fork();
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY);
        if (dn >= 0) {
            dup2(dn, 1);
            dup2(dn, 2);
        }
        execlp(CORRAL_NATS_SERVER, "nats-server", "-c", g_conf, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_up(void) {
    for (int i = 0; i < 100; i++) {
        natsConnection *nc = NULL;
        if (natsConnection_ConnectTo(&nc, g_url) == NATS_OK) {
            natsConnection_Destroy(nc);
            return 0;
        }
        usleep(50000);
    }
    return -1;
}

int test_nats_can_restart(void) { return g_pid > 0; }

int test_nats_restart(void) {
    if (g_pid <= 0) return -1;
    kill(g_pid, SIGTERM);
    waitpid(g_pid, NULL, 0);
    usleep(300000); /* the members notice and start reconnecting */
    g_pid = spawn();
    return wait_up();
}

static void server_stop(void) {
    if (g_pid > 0) {
        kill(g_pid, SIGTERM);
        waitpid(g_pid, NULL, 0);
        g_pid = 0;
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", g_dir);
    }
}

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &l)) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

int test_nats_start(void) {
    if (g_url[0]) return 0;
    const char *env = getenv("CORRAL_TEST_NATS_URL");
    if (env && *env) {
        snprintf(g_url, sizeof g_url, "%s", env);
    } else {
        snprintf(g_dir, sizeof g_dir, "/tmp/corral-nats-XXXXXX");
        if (!mkdtemp(g_dir)) return -1;
        int port = free_port();
        snprintf(g_conf, sizeof g_conf, "%s/nats.conf", g_dir);
        FILE *f = fopen(g_conf, "w");
        if (!f) return -1;
        fprintf(f, "host: 127.0.0.1\nport: %d\nmax_payload: 65536\njetstream {\n store_dir: \"%s/js\"\n}\n",
                port, g_dir);
        fclose(f);
        g_pid = spawn();
        atexit(server_stop);
        snprintf(g_url, sizeof g_url, "nats://127.0.0.1:%d", port);
    }
    return wait_up();
}


/*
 * nats_server.c - test helper: a nats-server with JetStream for the lattice
 * tests. CORRAL_TEST_NATS_URL when set; otherwise one started on a
 * loopback port it picks itself (port -1; its ports file says which, so no
 * other process can take the port between our choosing and its binding, as
 * with a port probed beforehand) with a temporary store and a 64 KiB
 * max_payload (so chunking is exercised with small bodies), stopped by PID
 * at exit. Restarts reuse that port.
 */
#include <fcntl.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int test_nats_url_from_ports(const char *dir, int pid, char *url, size_t n, int timeout_ms) {
    char path[256], text[512];
    snprintf(path, sizeof path, "%s/nats-server_%d.ports", dir, pid);
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        FILE *f = fopen(path, "r");
        size_t got = f ? fread(text, 1, sizeof text - 1, f) : 0;
        if (f) fclose(f);
        text[got] = 0;
        const char *u = strstr(text, "nats://"), *e = u ? strchr(u, '"') : NULL;
        if (e && (size_t)(e - u) < n) {
            snprintf(url, n, "%.*s", (int)(e - u), u);
            return 0;
        }
        usleep(20000);
    }
    return -1;
}

int test_nats_start(void) {
    if (g_url[0]) return 0;
    const char *env = getenv("CORRAL_TEST_NATS_URL");
    if (env && *env) {
        snprintf(g_url, sizeof g_url, "%s", env);
    } else {
        snprintf(g_dir, sizeof g_dir, "/tmp/corral-nats-XXXXXX");
        if (!mkdtemp(g_dir)) return -1;
        snprintf(g_conf, sizeof g_conf, "%s/nats.conf", g_dir);
        const char *conf = "host: 127.0.0.1\nport: %s\nports_file_dir: \"%s\"\n"
                           "max_payload: 65536\njetstream {\n store_dir: \"%s/js\"\n}\n";
        FILE *f = fopen(g_conf, "w");
        if (!f) return -1;
        fprintf(f, conf, "-1", g_dir, g_dir);
        fclose(f);
        g_pid = spawn();
        atexit(server_stop);
        if (g_pid <= 0 || test_nats_url_from_ports(g_dir, (int)g_pid, g_url, sizeof g_url, 10000))
            return -1;
        /* restarts come back on the same port */
        const char *port = strrchr(g_url, ':') + 1;
        if (!(f = fopen(g_conf, "w"))) return -1;
        fprintf(f, conf, port, g_dir, g_dir);
        fclose(f);
    }
    return wait_up();
}


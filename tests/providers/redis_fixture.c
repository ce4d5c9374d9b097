/*
 * redis_fixture.c - starts and stops a private redis-server for the provider
 * tests (see redis_fixture.h).
 */
#include "redis_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int can_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int spawn(redis_fixture_t *f) {
    char port[16];
    snprintf(port, sizeof port, "%d", f->port);
    char *argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 01 /* O_WRONLY */, 0);
    int rc = posix_spawnp(&f->pid, "redis-server", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "  cannot start redis-server: %s\n", strerror(rc));
        f->pid = 0;
        return -1;
    }
    for (int i = 0; i < 500; i++) {
        if (can_connect(f->port)) return 0;
        int status;
        if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
            fprintf(stderr, "  redis-server exited at start-up (port %d)\n", f->port);
            f->pid = 0;
            return -1;
        }
        sleep_ms(10);
    }
    fprintf(stderr, "  redis-server did not listen on port %d within 5 s\n", f->port);
    redis_fixture_kill(f);
    return -1;
}

int redis_fixture_start(redis_fixture_t *f) {
    memset(f, 0, sizeof *f);
    const char *env = getenv("CORRAL_TEST_REDIS_URL");
    if (env && *env) {
        snprintf(f->url, sizeof f->url, "%s", env);
        return 0;
    }
    f->port = free_port();
    if (f->port <= 0) {
        fprintf(stderr, "  no free loopback port: %s\n", strerror(errno));
        return -1;
    }
    snprintf(f->url, sizeof f->url, "redis://127.0.0.1:%d", f->port);
    return spawn(f);
}

int redis_fixture_restart(redis_fixture_t *f) { return f->port ? spawn(f) : -1; }

void redis_fixture_kill(redis_fixture_t *f) {
    if (f->pid <= 0) return;
    kill(f->pid, SIGKILL);
    waitpid(f->pid, NULL, 0);
    f->pid = 0;
}

void redis_fixture_stop(redis_fixture_t *f) { redis_fixture_kill(f); }

/*
 * nats_server.h - test helper: the URL of a nats-server with JetStream for
 * the lattice tests (see nats_server.c).
 */
#ifndef CORRAL_TEST_NATS_SERVER_H
#define CORRAL_TEST_NATS_SERVER_H

#include <stddef.h>

extern char g_url[128];

/* Starts (once) or finds the server; 0 when g_url answers. */
int test_nats_start(void);

/* Waits up to timeout_ms for the ports file that nats-server `pid` writes
 * into dir (config ports_file_dir) once it listens, and copies its client
 * URL into url[0..n). 0 when found. */
int test_nats_url_from_ports(const char *dir, int pid, char *url, size_t n, int timeout_ms);

/* 1 when the server was started here (and so can be restarted). */
int test_nats_can_restart(void);

/* Stops the server and starts it again on the same port and store. */
int test_nats_restart(void);

#endif

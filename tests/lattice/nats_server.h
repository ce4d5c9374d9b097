/*
 * nats_server.h - test helper: the URL of a nats-server with JetStream for
 * the lattice tests (see nats_server.c).
 */
#ifndef CORRAL_TEST_NATS_SERVER_H
#define CORRAL_TEST_NATS_SERVER_H

extern char g_url[128];

/* Starts (once) or finds the server; 0 when g_url answers. */
int test_nats_start(void);

/* 1 when the server was started here (and so can be restarted). */
int test_nats_can_restart(void);

/* Stops the server and starts it again on the same port and store. */
int test_nats_restart(void);

#endif

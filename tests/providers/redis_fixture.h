/*
 * redis_fixture.h - a throwaway redis-server for the provider tests: started
 * on a free loopback port with persistence off, stopped by its PID. Or, when
 * CORRAL_TEST_REDIS_URL is set, that server is used instead (and never
 * stopped; tests that must stop Redis are then skipped with a message).
 */
#ifndef CORRAL_TEST_REDIS_FIXTURE_H
#define CORRAL_TEST_REDIS_FIXTURE_H

#include <sys/types.h>

typedef struct redis_fixture {
    pid_t pid;     /* 0 when external */
    int port;
    char url[128]; /* redis://127.0.0.1:PORT */
} redis_fixture_t;

/* Starts (or adopts) a server. Returns 0 on success, -1 with a message on
 * stderr. */
int redis_fixture_start(redis_fixture_t *f);
/* Starts the server again on the same port (after redis_fixture_kill). */
int redis_fixture_restart(redis_fixture_t *f);
/* Stops our server by PID and waits for it to exit. */
void redis_fixture_kill(redis_fixture_t *f);
void redis_fixture_stop(redis_fixture_t *f);

#endif

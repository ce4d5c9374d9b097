/*
 * echo.c - the smallest useful actor: operation "echo" answers with its
 * payload. Used by the waPC tests and the round-trip benchmark.
 */
#include "wapc_guest.h"

static int echo(const uint8_t *payload, uint32_t len) {
    return wapc_respond(payload, len);
}

WAPC_EXPORT("wapc_init") void wapc_init(void) {
    wapc_register("echo", echo);
}

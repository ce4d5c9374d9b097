/*
 * pong.c - the other half of the actor-to-actor example (call alias "pong"):
 * operation "Pong" answers "pong: <payload>".
 */
#include "wapc_guest.h"

static int pong(const uint8_t *payload, uint32_t len) {
    static const char pre[] = "pong: ";
    uint8_t *out = wapc_alloc(sizeof pre - 1 + len);
    if (!out) return wapc_fail("out of memory");
    memcpy(out, pre, sizeof pre - 1);
    memcpy(out + sizeof pre - 1, payload, len);
    return wapc_respond(out, sizeof pre - 1 + len);
}

WAPC_EXPORT("wapc_init") void wapc_init(void) {
    wapc_register("Pong", pong);
}

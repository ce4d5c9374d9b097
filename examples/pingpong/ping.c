/*
 * ping.c - one half of the actor-to-actor example: operation "Ping" calls the
 * actor with call alias "pong" (operation "Pong", same payload) through the
 * host and answers "ping -> <pong's answer>"; when pong cannot be reached it
 * fails with "pong unreachable: <host error>". Actor-to-actor calls need no
 * capability claim.
 */
#include "wapc_guest.h"

static int ping(const uint8_t *payload, uint32_t len) {
    static const char pre[] = "ping -> ", bad[] = "pong unreachable: ";
    const uint8_t *reply;
    uint32_t n;
    int ok = wapc_host_call("", "pong", "Pong", payload, len, &reply, &n);
    const char *p = ok ? pre : bad;
    uint32_t plen = ok ? sizeof pre - 1 : sizeof bad - 1;
    uint8_t *out = wapc_alloc(plen + n);
    if (!out) return wapc_fail("out of memory");
    memcpy(out, p, plen);
    memcpy(out + plen, reply, n);
    return ok ? wapc_respond(out, plen + n) : wapc_fail_n(out, plen + n);
}

WAPC_EXPORT("wapc_init") void wapc_init(void) {
    wapc_register("Ping", ping);
}

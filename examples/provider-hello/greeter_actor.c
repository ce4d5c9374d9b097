/*
 * greeter_actor.c - the actor side of the provider-hello example: operation
 * "SayHello" passes its payload (a name) to the example:greeter provider's
 * Greet and answers with the provider's reply; "GreetCount" returns the
 * provider's Count. Signed with the capability example:greeter, so a host
 * lets it call that contract and no other.
 */
#include "wapc_guest.h"

static int forward(const char *op, const uint8_t *payload, uint32_t len) {
    const uint8_t *out;
    uint32_t out_len;
    if (!wapc_host_call("", "example:greeter", op, payload, len, &out, &out_len))
        return wapc_fail_n(out, out_len); /* the host's error text */
    return wapc_respond(out, out_len);
}

static int say_hello(const uint8_t *payload, uint32_t len) {
    return forward("Greet", payload, len);
}

static int greet_count(const uint8_t *payload, uint32_t len) {
    return forward("Count", payload, len);
}

WAPC_EXPORT("wapc_init") void wapc_init(void) {
    wapc_register("SayHello", say_hello);
    wapc_register("GreetCount", greet_count);
}

/*
 * hello.c - an actor that asks its host for a name and greets it.
 * Operation "hello": calls the host with (binding "", namespace
 * "example:greeter", operation "Name", the call's payload) and answers
 * "Hello, <reply>", or fails with "host call failed: <host error>".
 */
#include "wapc_guest.h"

static int hello(const uint8_t *payload, uint32_t len) {
    static const char hi[] = "Hello, ", bad[] = "host call failed: ";
    const uint8_t *reply;
    uint32_t n;
    int ok = wapc_host_call("", "example:greeter", "Name", payload, len, &reply, &n);
    const char *pre = ok ? hi : bad;
    uint32_t plen = ok ? sizeof hi - 1 : sizeof bad - 1;
    uint8_t *out = wapc_alloc(plen + n);
    if (!out) return wapc_fail("out of memory");
    memcpy(out, pre, plen);
    memcpy(out + plen, reply, n);
    return ok ? wapc_respond(out, plen + n) : wapc_fail_n(out, plen + n);
}

WAPC_EXPORT("wapc_init") void wapc_init(void) {
    wapc_register("hello", hello);
}

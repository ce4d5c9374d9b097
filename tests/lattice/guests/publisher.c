/*
 * publisher.c - a test guest (tests/lattice) that publishes through the
 * wasmcloud:messaging provider with the SDK's contract encoder: operation
 * "pub", payload "subject\0body" -> Publish {subject, replyTo: "", body}
 * on link "default"; answers the provider's (empty) response length as one
 * byte.
 */
#include "wapc_contracts.h"
#include "wapc_guest.h"

static int pub(const uint8_t *p, uint32_t n) {
    uint32_t at = 0;
    while (at < n && p[at]) at++;
    if (at == 0 || at == n) return wapc_fail("pub: need subject\\0body");
    char *subject = wapc_alloc(at + 1);
    if (!subject) return wapc_fail("pub: out of memory");
    for (uint32_t i = 0; i < at; i++) subject[i] = (char)p[i];
    subject[at] = 0;
    mp_writer_t w;
    mp_writer_init(&w, wapc_alloc);
    wapc_broker_message_encode(&w, subject, 0, p + at + 1, n - at - 1);
    if (w.err) return wapc_fail(w.err);
    const uint8_t *out;
    uint32_t out_len;
    if (!wapc_host_call("default", "wasmcloud:messaging", "Publish", w.buf, w.len, &out, &out_len))
        return wapc_fail_n(out, out_len);
    uint8_t len = (uint8_t)(out_len > 255 ? 255 : out_len);
    return wapc_respond(&len, 1);
}

WAPC_EXPORT("wapc_init") void wapc_init(void) { wapc_register("pub", pub); }

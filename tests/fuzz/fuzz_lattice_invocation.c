/*
 * fuzz_lattice_invocation.c - libFuzzer target for the lattice wire format:
 * hostile bytes as an Invocation and as an InvocationResponse; whatever
 * decodes is re-encoded and must decode to the same fields, and its token
 * goes through the anti-forgery verifier (which must refuse it).
 */
#include <stdlib.h>
#include <string.h>

#include "corral_lattice.h"

static const char *issuer = "CDDBGIRIY6SA3DNB5Y6TPMUQ35Y3WPPXGNFQOG64UOUX5LKZOZMKB4NX";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    corral_lattice_invocation_t inv, again;
    corral_err_t err;
    if (corral_lattice_invocation_decode(data, size, &inv, &err) == CORRAL_OK) {
        corral_buf_t b = CORRAL_BUF_INIT;
        if (corral_lattice_invocation_encode(&inv, &b, NULL) == CORRAL_OK) {
            if (corral_lattice_invocation_decode(b.data, b.len, &again, NULL) != CORRAL_OK ||
                strcmp(again.id, inv.id) != 0 || again.msg_len != inv.msg_len ||
                (inv.msg_len && memcmp(again.msg, inv.msg, inv.msg_len) != 0) ||
                strcmp(again.operation, inv.operation) != 0)
                abort();
            corral_lattice_invocation_deinit(&again);
        }
        corral_buf_free(&b);
        const char *iss[1] = {issuer};
        corral_lattice_verify_opts_t o = {iss, 1, 0, 0, NULL, 0};
        if (corral_lattice_verify(&inv, NULL, 0, &o, &err) == CORRAL_OK) abort();
    }
    corral_lattice_invocation_deinit(&inv);
    corral_lattice_response_t r;
    if (corral_lattice_response_decode(data, size, &r, &err) == CORRAL_OK) {
        corral_buf_t b = CORRAL_BUF_INIT;
        corral_lattice_response_t r2;
        if (corral_lattice_response_encode(&r, &b, NULL) == CORRAL_OK) {
            if (corral_lattice_response_decode(b.data, b.len, &r2, NULL) != CORRAL_OK ||
                r2.msg_len != r.msg_len || (!r.error) != (!r2.error))
                abort();
            corral_lattice_response_deinit(&r2);
        }
        corral_buf_free(&b);
    }
    corral_lattice_response_deinit(&r);
    return 0;
}

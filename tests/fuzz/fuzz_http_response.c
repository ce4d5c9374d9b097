/*
 * fuzz_http_response.c - libFuzzer target for what an actor answers the
 * httpserver provider: arbitrary bytes as a HandleRequest response. The
 * decoder must return OK or PARSE without crashing or leaking, and a decoded
 * response must be safe to put on the wire (status 200..599, header names
 * HTTP tokens, no CR/LF/NUL in values). Library: corral_http (an alias of
 * corral_provider_http, see providers/http/CMakeLists.txt).
 */
#include <stdlib.h>
#include <string.h>

#include "http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    corral_http_resp_t r;
    corral_err_t err;
    long live = corral_alloc_live();
    corral_status_t st = corral_http_decode_response(data, size, &r, &err);
    if (st != CORRAL_OK && st != CORRAL_ERR_PARSE) abort();
    if (st == CORRAL_OK) {
        if (r.status_code < 200 || r.status_code > 599) abort();
        for (size_t i = 0; i < r.n_headers; i++) {
            if (!r.names[i][0] || strpbrk(r.names[i], " \t\r\n:")) abort();
            if (strpbrk(r.values[i], "\r\n")) abort();
        }
        if (r.body_len && !r.body) abort();
    } else if (r.body || r.names || r.n_headers) {
        abort();
    }
    corral_http_resp_free(&r);
    if (corral_alloc_live() != live) abort();
    return 0;
}

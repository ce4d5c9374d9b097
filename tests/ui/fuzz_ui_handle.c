/*
 * fuzz_ui_handle.c - libFuzzer target for the `corral ui` request handler
 * (cli/ui_server.c corral_ui_handle): arbitrary method, path, headers and
 * body. Built by tests/ui/CMakeLists.txt under -DCORRAL_FUZZ=ON into
 * tests/fuzz/ so scripts/fuzz.sh runs it with the other targets. The run
 * dir holds no host, so requests that pass validation end in a clean 502.
 *
 * Input: byte 0 picks the method, byte 1 the path, byte 2 the header
 * variants (bit 0 token, bit 1 a foreign Origin, bit 2 content type, bit 3
 * a wrong Host, bit 4 body_too_large); the rest is the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ui_server.h"

#define TOKEN "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"

static corral_ui_t *ui;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", ""};
    static const char *const paths[] = {"/", "/index.html", "/api/state", "/api/update",
                                        "/api/relink", "/api/", "/api/update/", "//api/state"};
    static const uint8_t page[] = "<p>{{TOKEN}} {{NONCE}} {{TOK</p>{{";
    if (!ui) {
        corral_ui_config_t cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.run_dir = "/nonexistent/corral-fuzz-ui";
        cfg.port = 9;
        cfg.page = page;
        cfg.page_len = sizeof page - 1;
        cfg.token = TOKEN;
        corral_err_t err;
        if (corral_ui_new(&cfg, &ui, &err) != CORRAL_OK) abort();
    }
    if (size < 3) return 0;
    corral_ui_request_t rq;
    memset(&rq, 0, sizeof rq);
    rq.method = methods[data[0] % (sizeof methods / sizeof methods[0])];
    rq.path = paths[data[1] % (sizeof paths / sizeof paths[0])];
    uint8_t f = data[2];
    rq.token = (f & 1) ? TOKEN : NULL;
    rq.origin = (f & 2) ? "http://evil.example" : NULL;
    rq.content_type = (f & 4) ? "application/json; charset=utf-8" : "text/plain";
    rq.host = (f & 8) ? "evil.example:9" : "127.0.0.1:9";
    rq.body_too_large = (f & 16) != 0;
    /* the body in a buffer of its own size, so ASan sees any overread */
    char *body = size > 3 ? malloc(size - 3) : NULL;
    if (body) memcpy(body, data + 3, size - 3);
    rq.body = body;
    rq.body_len = body ? size - 3 : 0;
    corral_ui_response_t rs;
    corral_ui_handle(ui, &rq, &rs);
    if (rs.status < 200 || rs.status > 599) abort();
    if (rs.status != 200 && rs.body.len == 0 && rs.status != 500) abort(); /* refusals say why */
    corral_ui_response_free(&rs);
    free(body);
    return 0;
}

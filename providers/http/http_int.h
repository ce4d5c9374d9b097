/*
 * http_int.h - private to the httpserver provider: the msgpack codec for
 * HandleRequest (request encoding, strict response decoding). Kept apart from
 * the libmicrohttpd glue so the tests can drive it directly.
 */
#ifndef CORRAL_HTTP_INT_H
#define CORRAL_HTTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "corral_base.h"

/* Limits on what an actor may answer (a hostile guest must not make the
 * provider allocate without bound). */
#define CORRAL_HTTP_MAX_RESP_HEADERS   256
#define CORRAL_HTTP_MAX_HEADER_NAME    256
#define CORRAL_HTTP_MAX_HEADER_VALUE   8192
#define CORRAL_HTTP_MAX_DEPTH          32

/* One request header as received: name and value are borrowed, the name is
 * not lower-cased yet. */
typedef struct corral_http_hdr {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} corral_http_hdr_t;

/* Encodes the HandleRequest map {method, path, queryString, header, body}
 * into out (appended). Header names are lower-cased and repeated names are
 * joined with ", " in arrival order. Errors: CORRAL_ERR_NOMEM. */
corral_status_t corral_http_encode_request(const char *method, const char *path, size_t path_len,
                                           const char *query, size_t query_len,
                                           const corral_http_hdr_t *hdrs, size_t n_hdrs,
                                           const uint8_t *body, size_t body_len, corral_buf_t *out);

/* A decoded actor response. Every string is owned (corral_malloc) and
 * NUL-terminated; body is owned too. */
typedef struct corral_http_resp {
    unsigned status_code;
    size_t n_headers;
    char **names;  /* n_headers entries */
    char **values; /* n_headers entries */
    uint8_t *body;
    size_t body_len;
} corral_http_resp_t;

/* Strictly decodes the response map: `statusCode` (unsigned int, 200..599)
 * is required; `status` (str or nil) is ignored; `header` (map str -> str,
 * names HTTP tokens, values without CR/LF/NUL) and `body` (bin or str) are
 * optional and default to empty. Unknown keys are skipped (bounded depth);
 * duplicate known keys, wrong types, truncation and trailing bytes are
 * errors. On failure *out is empty and err says what failed
 * (CORRAL_ERR_PARSE, CORRAL_ERR_NOMEM). */
corral_status_t corral_http_decode_response(const uint8_t *p, size_t n, corral_http_resp_t *out,
                                            corral_err_t *err);

/* Frees what a decoded response owns and empties it. NULL is a no-op. */
void corral_http_resp_free(corral_http_resp_t *r);

/* Whether a header name should be dropped from an actor's response because
 * libmicrohttpd owns it (Content-Length, Transfer-Encoding, Connection). */
int corral_http_header_reserved(const char *name);

#endif

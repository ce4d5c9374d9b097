/*
 * http_codec.c - HandleRequest payloads for the httpserver provider: the
 * request map is written with msgpack-c's packer into a corral_buf_t; the
 * actor's response is read by a small cursor decoder of our own, because the
 * response is guest input and msgpack-c's unpacker would allocate whatever
 * element count a 5-byte header declares before seeing the elements.
 */
#include "http_int.h"

#include <msgpack.h>
#include <string.h>
#include <strings.h>

/* ---- request encoding ------------------------------------------------------ */

static int buf_write(void *data, const char *p, size_t n) {
    return corral_buf_append((corral_buf_t *)data, p, n) == CORRAL_OK ? 0 : -1;
}

static int pack_str(msgpack_packer *pk, const char *s, size_t n) {
    if (msgpack_pack_str(pk, n) != 0) return -1;
    return n ? msgpack_pack_str_body(pk, s, n) : 0;
}

static int name_eq_ci(const char *a, size_t an, const char *b, size_t bn) {
    return an == bn && strncasecmp(a, b, an) == 0;
}

corral_status_t corral_http_encode_request(const char *method, const char *path, size_t path_len,
                                           const char *query, size_t query_len,
                                           const corral_http_hdr_t *hdrs, size_t n_hdrs,
                                           const uint8_t *body, size_t body_len, corral_buf_t *out) {
    corral_status_t st = CORRAL_ERR_NOMEM;
    msgpack_packer pk;
    /* first[i]: index of the first header with the same name as i. */
    size_t *first = NULL;
    size_t n_unique = 0;
    corral_buf_t val = CORRAL_BUF_INIT;
    char *lower = NULL;

    msgpack_packer_init(&pk, out, buf_write);
    if (n_hdrs) {
        first = corral_malloc(n_hdrs * sizeof *first);
        if (!first) goto fail;
    }
    /* Quadratic, but n_hdrs is bounded by libmicrohttpd's per-connection
     * memory limit (a few hundred headers at most). */
    for (size_t i = 0; i < n_hdrs; i++) {
        first[i] = i;
        for (size_t j = 0; j < i; j++) {
            if (first[j] == j &&
                name_eq_ci(hdrs[i].name, hdrs[i].name_len, hdrs[j].name, hdrs[j].name_len)) {
                first[i] = j;
                break;
            }
        }
        if (first[i] == i) n_unique++;
    }

    if (msgpack_pack_map(&pk, 5) || pack_str(&pk, "method", 6) ||
        pack_str(&pk, method, strlen(method)) || pack_str(&pk, "path", 4) ||
        pack_str(&pk, path, path_len) || pack_str(&pk, "queryString", 11) ||
        pack_str(&pk, query, query_len) || pack_str(&pk, "header", 6) ||
        msgpack_pack_map(&pk, n_unique))
        goto fail;
    for (size_t i = 0; i < n_hdrs; i++) {
        if (first[i] != i) continue;
        lower = corral_malloc(hdrs[i].name_len + 1);
        if (!lower) goto fail;
        for (size_t k = 0; k < hdrs[i].name_len; k++) {
            char c = hdrs[i].name[k];
            lower[k] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        val.len = 0;
        if (corral_buf_append(&val, hdrs[i].value, hdrs[i].value_len) != CORRAL_OK) goto fail;
        for (size_t j = i + 1; j < n_hdrs; j++) {
            if (first[j] != i) continue;
            if (corral_buf_append(&val, ", ", 2) != CORRAL_OK ||
                corral_buf_append(&val, hdrs[j].value, hdrs[j].value_len) != CORRAL_OK)
                goto fail;
        }
        if (pack_str(&pk, lower, hdrs[i].name_len) ||
            pack_str(&pk, (const char *)val.data, val.len))
            goto fail;
        corral_free(lower);
        lower = NULL;
    }
    if (pack_str(&pk, "body", 4) || msgpack_pack_bin(&pk, body_len) ||
        (body_len && msgpack_pack_bin_body(&pk, body, body_len)))
        goto fail;
    st = CORRAL_OK;
fail:
    corral_free(lower);
    corral_free(first);
    corral_buf_free(&val);
    return st;
}

/* ---- response decoding ------------------------------------------------------- */

typedef struct cur {
    const uint8_t *p;
    size_t n, off;
    corral_err_t *err;
} cur_t;

static corral_status_t bad(cur_t *c, const char *what) {
    return corral_err_set(c->err, CORRAL_ERR_PARSE,
                          "HandleRequest response: %s at byte %zu", what, c->off);
}

static int need(cur_t *c, size_t k) {
    return c->n - c->off >= k;
}

static uint64_t be(const uint8_t *p, size_t k) {
    uint64_t v = 0;
    for (size_t i = 0; i < k; i++) v = (v << 8) | p[i];
    return v;
}

/* Reads a fixed-width big-endian length/value of k bytes after the tag. */
static corral_status_t rd_be(cur_t *c, size_t k, uint64_t *v) {
    if (!need(c, k)) return bad(c, "truncated input");
    *v = be(c->p + c->off, k);
    c->off += k;
    return CORRAL_OK;
}

static corral_status_t rd_map_len(cur_t *c, size_t *len) {
    uint64_t v = 0;
    if (!need(c, 1)) return bad(c, "truncated input");
    uint8_t t = c->p[c->off];
    if (t >= 0x80 && t <= 0x8f) {
        c->off++;
        *len = t & 0x0f;
        return CORRAL_OK;
    }
    if (t != 0xde && t != 0xdf) return bad(c, "expected a map");
    c->off++;
    if (rd_be(c, t == 0xde ? 2 : 4, &v)) return c->err ? c->err->status : CORRAL_ERR_PARSE;
    /* Each entry takes at least two bytes: refuse counts the input cannot hold. */
    if (v > (c->n - c->off) / 2) return bad(c, "map length exceeds the input");
    *len = (size_t)v;
    return CORRAL_OK;
}

/* str (bin_ok = 0) or str/bin (bin_ok = 1): borrowed bytes. */
static corral_status_t rd_bytes(cur_t *c, int bin_ok, const uint8_t **p, size_t *len,
                                const char *what) {
    uint64_t v = 0;
    size_t k;
    if (!need(c, 1)) return bad(c, "truncated input");
    uint8_t t = c->p[c->off];
    if (t >= 0xa0 && t <= 0xbf) {
        c->off++;
        v = t & 0x1f;
    } else {
        if (t == 0xd9 || (bin_ok && t == 0xc4)) k = 1;
        else if (t == 0xda || (bin_ok && t == 0xc5)) k = 2;
        else if (t == 0xdb || (bin_ok && t == 0xc6)) k = 4;
        else return bad(c, what);
        c->off++;
        if (rd_be(c, k, &v)) return CORRAL_ERR_PARSE;
    }
    if (v > c->n - c->off) return bad(c, "string or binary length exceeds the input");
    *p = c->p + c->off;
    *len = (size_t)v;
    c->off += (size_t)v;
    return CORRAL_OK;
}

static corral_status_t rd_uint(cur_t *c, uint64_t *out) {
    uint64_t v = 0;
    if (!need(c, 1)) return bad(c, "truncated input");
    uint8_t t = c->p[c->off];
    if (t <= 0x7f) {
        c->off++;
        *out = t;
        return CORRAL_OK;
    }
    size_t k;
    int sign = 0;
    switch (t) {
    case 0xcc: k = 1; break;
    case 0xcd: k = 2; break;
    case 0xce: k = 4; break;
    case 0xcf: k = 8; break;
    case 0xd0: k = 1; sign = 1; break;
    case 0xd1: k = 2; sign = 1; break;
    case 0xd2: k = 4; sign = 1; break;
    case 0xd3: k = 8; sign = 1; break;
    default: return bad(c, "statusCode is not an unsigned integer");
    }
    c->off++;
    if (rd_be(c, k, &v)) return CORRAL_ERR_PARSE;
    /* Some encoders write small non-negative numbers as signed ints. */
    if (sign && (v >> (k * 8 - 1)) & 1) return bad(c, "statusCode is negative");
    *out = v;
    return CORRAL_OK;
}

/* Skips one value of any type, nesting at most CORRAL_HTTP_MAX_DEPTH deep. */
static corral_status_t skip(cur_t *c, int depth) {
    uint64_t v = 0;
    size_t k = 0, count = 0;
    if (depth > CORRAL_HTTP_MAX_DEPTH) return bad(c, "nesting too deep");
    if (!need(c, 1)) return bad(c, "truncated input");
    uint8_t t = c->p[c->off++];
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) return CORRAL_OK;
    if (t >= 0xa0 && t <= 0xbf) {
        v = t & 0x1f;
        goto skip_bytes;
    }
    if (t >= 0x80 && t <= 0x8f) {
        count = (size_t)(t & 0x0f) * 2;
        goto skip_items;
    }
    if (t >= 0x90 && t <= 0x9f) {
        count = t & 0x0f;
        goto skip_items;
    }
    switch (t) {
    case 0xcc: case 0xd0: k = 1; break;
    case 0xcd: case 0xd1: k = 2; break;
    case 0xca: case 0xce: case 0xd2: k = 4; break;
    case 0xcb: case 0xcf: case 0xd3: k = 8; break;
    case 0xd4: k = 2; break;
    case 0xd5: k = 3; break;
    case 0xd6: k = 5; break;
    case 0xd7: k = 9; break;
    case 0xd8: k = 17; break;
    case 0xc4: case 0xd9:
        if (rd_be(c, 1, &v)) return CORRAL_ERR_PARSE;
        goto skip_bytes;
    case 0xc5: case 0xda:
        if (rd_be(c, 2, &v)) return CORRAL_ERR_PARSE;
        goto skip_bytes;
    case 0xc6: case 0xdb:
        if (rd_be(c, 4, &v)) return CORRAL_ERR_PARSE;
        goto skip_bytes;
    case 0xc7: case 0xc8: case 0xc9:
        if (rd_be(c, t == 0xc7 ? 1 : t == 0xc8 ? 2 : 4, &v)) return CORRAL_ERR_PARSE;
        v += 1; /* the ext type byte */
        goto skip_bytes;
    case 0xdc: case 0xdd:
        if (rd_be(c, t == 0xdc ? 2 : 4, &v)) return CORRAL_ERR_PARSE;
        if (v > c->n - c->off) return bad(c, "array length exceeds the input");
        count = (size_t)v;
        goto skip_items;
    case 0xde: case 0xdf:
        if (rd_be(c, t == 0xde ? 2 : 4, &v)) return CORRAL_ERR_PARSE;
        if (v > (c->n - c->off) / 2) return bad(c, "map length exceeds the input");
        count = (size_t)v * 2;
        goto skip_items;
    default: return bad(c, "invalid msgpack type byte");
    }
    if (!need(c, k)) return bad(c, "truncated input");
    c->off += k;
    return CORRAL_OK;
skip_bytes:
    if (v > c->n - c->off) return bad(c, "string or binary length exceeds the input");
    c->off += (size_t)v;
    return CORRAL_OK;
skip_items:
    for (size_t i = 0; i < count; i++)
        if (skip(c, depth + 1)) return CORRAL_ERR_PARSE;
    return CORRAL_OK;
}

static int is_tchar(uint8_t ch) {
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return 1;
    return ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

int corral_http_header_reserved(const char *name) {
    return strcasecmp(name, "content-length") == 0 || strcasecmp(name, "transfer-encoding") == 0 ||
           strcasecmp(name, "connection") == 0;
}

static corral_status_t rd_headers(cur_t *c, corral_http_resp_t *r) {
    size_t n;
    if (c->off < c->n && c->p[c->off] == 0xc0) { /* nil: no headers */
        c->off++;
        return CORRAL_OK;
    }
    if (rd_map_len(c, &n)) return CORRAL_ERR_PARSE;
    if (n > CORRAL_HTTP_MAX_RESP_HEADERS) return bad(c, "too many headers");
    if (n == 0) return CORRAL_OK;
    r->names = corral_calloc(n, sizeof *r->names);
    r->values = corral_calloc(n, sizeof *r->values);
    if (!r->names || !r->values)
        return corral_err_set(c->err, CORRAL_ERR_NOMEM, "HandleRequest response: out of memory");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *kp, *vp;
        size_t kn, vn;
        if (rd_bytes(c, 0, &kp, &kn, "header name is not a string")) return CORRAL_ERR_PARSE;
        if (rd_bytes(c, 0, &vp, &vn, "header value is not a string")) return CORRAL_ERR_PARSE;
        if (kn == 0 || kn > CORRAL_HTTP_MAX_HEADER_NAME) return bad(c, "header name length");
        for (size_t j = 0; j < kn; j++)
            if (!is_tchar(kp[j])) return bad(c, "header name is not an HTTP token");
        if (vn > CORRAL_HTTP_MAX_HEADER_VALUE) return bad(c, "header value too long");
        for (size_t j = 0; j < vn; j++)
            if (vp[j] == '\r' || vp[j] == '\n' || vp[j] == '\0')
                return bad(c, "header value contains CR, LF or NUL");
        char *name = corral_strndup((const char *)kp, kn);
        char *value = corral_strndup((const char *)vp, vn);
        if (!name || !value) {
            corral_free(name);
            corral_free(value);
            return corral_err_set(c->err, CORRAL_ERR_NOMEM, "HandleRequest response: out of memory");
        }
        r->names[r->n_headers] = name;
        r->values[r->n_headers] = value;
        r->n_headers++;
    }
    return CORRAL_OK;
}

corral_status_t corral_http_decode_response(const uint8_t *p, size_t n, corral_http_resp_t *out,
                                            corral_err_t *err) {
    cur_t c = {p, p ? n : 0, 0, err};
    corral_err_t local;
    size_t entries;
    int have_code = 0, have_status = 0, have_header = 0, have_body = 0;
    corral_status_t st;

    if (!c.err) c.err = &local;
    memset(out, 0, sizeof *out);
    if (c.n == 0) {
        st = corral_err_set(err, CORRAL_ERR_PARSE, "HandleRequest response: empty");
        goto fail;
    }
    if ((st = rd_map_len(&c, &entries))) goto fail;
    for (size_t i = 0; i < entries; i++) {
        const uint8_t *kp;
        size_t kn;
        st = CORRAL_ERR_PARSE;
        if (rd_bytes(&c, 0, &kp, &kn, "map key is not a string")) goto fail;
        if (kn == 10 && memcmp(kp, "statusCode", 10) == 0) {
            uint64_t v = 0;
            if (have_code++) { bad(&c, "duplicate key statusCode"); goto fail; }
            if (rd_uint(&c, &v)) goto fail;
            if (v < 200 || v > 599) { bad(&c, "statusCode outside 200..599"); goto fail; }
            out->status_code = (unsigned)v;
        } else if (kn == 6 && memcmp(kp, "status", 6) == 0) {
            const uint8_t *sp;
            size_t sn;
            if (have_status++) { bad(&c, "duplicate key status"); goto fail; }
            if (c.off < c.n && c.p[c.off] == 0xc0) c.off++;
            else if (rd_bytes(&c, 0, &sp, &sn, "status is not a string")) goto fail;
        } else if (kn == 6 && memcmp(kp, "header", 6) == 0) {
            if (have_header++) { bad(&c, "duplicate key header"); goto fail; }
            if ((st = rd_headers(&c, out))) goto fail;
        } else if (kn == 4 && memcmp(kp, "body", 4) == 0) {
            const uint8_t *bp;
            size_t bn;
            if (have_body++) { bad(&c, "duplicate key body"); goto fail; }
            if (c.off < c.n && c.p[c.off] == 0xc0) {
                c.off++;
            } else {
                if (rd_bytes(&c, 1, &bp, &bn, "body is not bin or str")) goto fail;
                if (bn) {
                    out->body = corral_malloc(bn);
                    if (!out->body) {
                        st = corral_err_set(err, CORRAL_ERR_NOMEM,
                                            "HandleRequest response: out of memory");
                        goto fail;
                    }
                    memcpy(out->body, bp, bn);
                    out->body_len = bn;
                }
            }
        } else {
            if (skip(&c, 1)) goto fail;
        }
    }
    st = CORRAL_ERR_PARSE;
    if (!have_code) { bad(&c, "statusCode is missing"); goto fail; }
    if (c.off != c.n) { bad(&c, "trailing bytes after the map"); goto fail; }
    return CORRAL_OK;
fail:
    corral_http_resp_free(out);
    return st;
}

void corral_http_resp_free(corral_http_resp_t *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_headers; i++) {
        corral_free(r->names[i]);
        corral_free(r->values[i]);
    }
    corral_free(r->names);
    corral_free(r->values);
    corral_free(r->body);
    memset(r, 0, sizeof *r);
}

/*
 * wasm.c - just enough of the WebAssembly binary format to find, strip and
 * append the custom section that carries an actor's claims token, and to
 * hash a module the way wascap does. Every size is bounds-checked; nothing
 * here allocates except the output buffers of strip/embed.
 */
#include <string.h>

#include <sodium.h>

#include "claims_int.h"

static const uint8_t wasm_header[8] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};

corral_status_t corral_claims_scan_init(corral_claims_scan_t *s, const uint8_t *wasm, size_t len,
                                        corral_err_t *err) {
    s->wasm = wasm;
    s->len = len;
    s->pos = 0;
    if (!wasm || len < 8 || memcmp(wasm, wasm_header, 4) != 0)
        return corral_err_set(err, CORRAL_ERR_NOT_WASM,
                              "not a WebAssembly module: missing the \\0asm magic");
    if (memcmp(wasm + 4, wasm_header + 4, 4) != 0)
        return corral_err_set(err, CORRAL_ERR_NOT_WASM,
                              "not a WebAssembly core module: version is not 1");
    s->pos = 8;
    return CORRAL_OK;
}

/* Reads an unsigned LEB128 u32 at *pos, bounded by end. -1 when it runs past
 * end, -2 when it is longer than 5 bytes or exceeds 32 bits. */
static int read_u32(const uint8_t *p, size_t end, size_t *pos, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 5; i++) {
        if (*pos >= end) return -1;
        uint8_t b = p[(*pos)++];
        if (i == 4 && (b & 0xF0) != 0) return -2;
        v |= (uint32_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -2;
}

corral_status_t corral_claims_scan_next(corral_claims_scan_t *s, corral_claims_section_t *out,
                                        int *more, corral_err_t *err) {
    *more = 0;
    memset(out, 0, sizeof *out);
    if (s->pos < 8) return corral_err_set(err, CORRAL_ERR_STATE, "section scan not initialised");
    if (s->pos >= s->len) return CORRAL_OK;
    size_t start = s->pos, pos = s->pos + 1;
    uint32_t size;
    int r = read_u32(s->wasm, s->len, &pos, &size);
    if (r == -1)
        return corral_err_set(err, CORRAL_ERR_SECTION_MALFORMED,
                              "section %u at offset %zu: size is truncated by the end of the module",
                              s->wasm[start], start);
    if (r == -2)
        return corral_err_set(err, CORRAL_ERR_SECTION_MALFORMED,
                              "section %u at offset %zu: size is over-long (more than 32 bits)",
                              s->wasm[start], start);
    if (size > s->len - pos)
        return corral_err_set(err, CORRAL_ERR_SECTION_MALFORMED,
                              "section %u at offset %zu: size %u runs %zu bytes past the end of the "
                              "module",
                              s->wasm[start], start, size, (size_t)size - (s->len - pos));
    out->id = s->wasm[start];
    out->start = start;
    out->content = pos;
    out->end = pos + size;
    if (out->id == 0) {
        size_t npos = pos;
        uint32_t nlen;
        r = read_u32(s->wasm, out->end, &npos, &nlen);
        if (r != 0 || nlen > out->end - npos)
            return corral_err_set(err, CORRAL_ERR_SECTION_MALFORMED,
                                  "custom section at offset %zu: name length runs past the section",
                                  start);
        out->name = s->wasm + npos;
        out->name_len = nlen;
        out->data = npos + nlen;
    } else {
        out->data = pos;
    }
    s->pos = out->end;
    *more = 1;
    return CORRAL_OK;
}

static int name_is(const corral_claims_section_t *sec, const char *name) {
    size_t n = strlen(name);
    return sec->name_len == n && memcmp(sec->name, name, n) == 0;
}

int corral_claims_section_is_token(const corral_claims_section_t *sec) {
    return sec->id == 0 && sec->name &&
           (name_is(sec, CLAIMS_SECTION_JWT) || name_is(sec, CLAIMS_SECTION_WASMCLOUD_JWT));
}

corral_status_t corral_claims_find_token(const uint8_t *wasm, size_t len, const uint8_t **token,
                                         size_t *token_len, corral_err_t *err) {
    corral_claims_scan_t s;
    corral_claims_section_t sec, found = {0}, second = {0};
    int more, count = 0;
    corral_status_t st;
    *token = NULL;
    *token_len = 0;
    if ((st = corral_claims_scan_init(&s, wasm, len, err)) != CORRAL_OK) return st;
    for (;;) {
        if ((st = corral_claims_scan_next(&s, &sec, &more, err)) != CORRAL_OK) return st;
        if (!more) break;
        if (!corral_claims_section_is_token(&sec)) continue;
        if (count++ == 0)
            found = sec;
        else if (count == 2)
            second = sec;
    }
    /* Reported only after the whole module scanned cleanly. */
    if (count > 1)
        return corral_err_set(err, CORRAL_ERR_MULTIPLE_TOKENS,
                              "module carries %d claims tokens (custom sections '%.*s' at offset "
                              "%zu and '%.*s' at offset %zu); a signed module has exactly one",
                              count, (int)found.name_len, (const char *)found.name, found.start,
                              (int)second.name_len, (const char *)second.name, second.start);
    if (count == 0)
        return corral_err_set(err, CORRAL_ERR_NO_TOKEN,
                              "module carries no claims token (no 'jwt' or 'wasmcloud_jwt' custom "
                              "section); sign it with 'corral claims sign'");
    *token = wasm + found.data;
    *token_len = found.end - found.data;
    return CORRAL_OK;
}

/* Calls fn on every byte range of the module that is not a token section.
 * With `normalize`, each kept section is re-emitted with its size as the
 * shortest LEB128 (what wasmCloud's wascap does when it strips a module), so
 * padded sizes from some linkers hash the same here and there. */
typedef corral_status_t (*range_fn)(void *user, const uint8_t *p, size_t n);

static void put_u32(uint8_t *p, size_t *n, uint32_t v);

static corral_status_t for_each_kept(const uint8_t *wasm, size_t len, int normalize, range_fn fn,
                                     void *user, corral_err_t *err) {
    corral_claims_scan_t s;
    corral_claims_section_t sec;
    int more;
    corral_status_t st;
    if ((st = corral_claims_scan_init(&s, wasm, len, err)) != CORRAL_OK) return st;
    /* Validate the whole module first so no output is produced for a bad one. */
    for (;;) {
        if ((st = corral_claims_scan_next(&s, &sec, &more, err)) != CORRAL_OK) return st;
        if (!more) break;
    }
    corral_claims_scan_init(&s, wasm, len, NULL);
    size_t run = 0; /* start of the current run of kept bytes */
    if (normalize && (st = fn(user, wasm, 8)) != CORRAL_OK) return corral_err_set(err, st, NULL);
    for (;;) {
        corral_claims_scan_next(&s, &sec, &more, NULL);
        if (!more) break;
        if (normalize) {
            if (corral_claims_section_is_token(&sec)) continue;
            uint8_t hdr[6];
            size_t h = 0;
            hdr[h++] = sec.id;
            put_u32(hdr, &h, (uint32_t)(sec.end - sec.content));
            if ((st = fn(user, hdr, h)) != CORRAL_OK ||
                (st = fn(user, wasm + sec.content, sec.end - sec.content)) != CORRAL_OK)
                return corral_err_set(err, st, NULL);
        } else if (corral_claims_section_is_token(&sec)) {
            if (sec.start > run && (st = fn(user, wasm + run, sec.start - run)) != CORRAL_OK)
                return corral_err_set(err, st, NULL);
            run = sec.end;
        }
    }
    if (!normalize && len > run && (st = fn(user, wasm + run, len - run)) != CORRAL_OK)
        return corral_err_set(err, st, NULL);
    return CORRAL_OK;
}

static corral_status_t hash_range(void *user, const uint8_t *p, size_t n) {
    crypto_hash_sha256_update((crypto_hash_sha256_state *)user, p, n);
    return CORRAL_OK;
}

corral_status_t corral_claims_module_hash(const uint8_t *wasm, size_t len, char out[65],
                                          corral_err_t *err) {
    crypto_hash_sha256_state h;
    uint8_t digest[32];
    static const char hex[] = "0123456789ABCDEF";
    out[0] = '\0';
    if (claims_sodium_init() != 0)
        return corral_err_set(err, CORRAL_ERR_INTERNAL, "libsodium failed to initialise");
    crypto_hash_sha256_init(&h);
    corral_status_t st = for_each_kept(wasm, len, 0, hash_range, &h, err);
    if (st != CORRAL_OK) return st;
    crypto_hash_sha256_final(&h, digest);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[64] = '\0';
    return CORRAL_OK;
}

static corral_status_t buf_range(void *user, const uint8_t *p, size_t n) {
    return corral_buf_append((corral_buf_t *)user, p, n);
}

static corral_status_t strip(const uint8_t *wasm, size_t len, int normalize, corral_buf_t *out,
                             corral_err_t *err) {
    size_t before = out->len;
    corral_status_t st = for_each_kept(wasm, len, normalize, buf_range, out, err);
    if (st != CORRAL_OK) out->len = before;
    if (st == CORRAL_ERR_NOMEM) corral_err_set(err, st, "out of memory copying the module");
    return st;
}

corral_status_t corral_claims_strip(const uint8_t *wasm, size_t len, corral_buf_t *out,
                                    corral_err_t *err) {
    return strip(wasm, len, 0, out, err);
}

corral_status_t claims_strip_normalized(const uint8_t *wasm, size_t len, corral_buf_t *out,
                                        corral_err_t *err) {
    return strip(wasm, len, 1, out, err);
}

static void put_u32(uint8_t *p, size_t *n, uint32_t v) {
    do {
        uint8_t b = v & 0x7F;
        v >>= 7;
        p[(*n)++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
}

corral_status_t claims_append_token(corral_buf_t *out, const char *token, size_t token_len,
                                   corral_claims_section_name_t section, corral_err_t *err) {
    const char *name = section == CORRAL_CLAIMS_SECTION_WASMCLOUD_JWT ? CLAIMS_SECTION_WASMCLOUD_JWT
                                                                     : CLAIMS_SECTION_JWT;
    size_t name_len = strlen(name);
    uint8_t hdr[16], nl[8];
    size_t h = 0, l = 0;
    if (token_len > UINT32_MAX - 32)
        return corral_err_set(err, CORRAL_ERR_TOO_LARGE, "token of %zu bytes is too large", token_len);
    put_u32(nl, &l, (uint32_t)name_len);
    hdr[h++] = 0;
    put_u32(hdr, &h, (uint32_t)(l + name_len + token_len));
    if (corral_buf_reserve(out, h + l + name_len + token_len) != CORRAL_OK)
        return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory appending the token section");
    corral_buf_append(out, hdr, h);
    corral_buf_append(out, nl, l);
    corral_buf_append(out, name, name_len);
    corral_buf_append(out, token, token_len);
    return CORRAL_OK;
}

corral_status_t corral_claims_embed(const uint8_t *wasm, size_t len, const char *token,
                                    size_t token_len, corral_claims_section_name_t section,
                                    corral_buf_t *out, corral_err_t *err) {
    size_t before = out->len;
    if (token_len > UINT32_MAX - 32)
        return corral_err_set(err, CORRAL_ERR_TOO_LARGE, "token of %zu bytes is too large", token_len);
    corral_status_t st = corral_claims_strip(wasm, len, out, err);
    if (st != CORRAL_OK) return st;
    if ((st = claims_append_token(out, token, token_len, section, err)) != CORRAL_OK) out->len = before;
    return st;
}

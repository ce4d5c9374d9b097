/*
 * wapc_msgpack.c - the strict MessagePack writer and reader of the guest SDK
 * (see wapc_msgpack.h). Every read is checked against the bytes left before
 * it happens; lengths are 32-bit and compared without overflow.
 */
#include "wapc_msgpack.h"

/* ---- writer ------------------------------------------------------------------------ */

void mp_writer_init(mp_writer_t *w, mp_alloc_fn alloc) {
    w->buf = 0;
    w->len = w->cap = 0;
    w->alloc = alloc;
    w->err = 0;
}

static int reserve(mp_writer_t *w, uint32_t n) {
    if (w->err) return 0;
    if (n > UINT32_MAX - w->len) {
        w->err = "msgpack output over 4 GiB";
        return 0;
    }
    if (w->len + n <= w->cap) return 1;
    uint32_t cap = w->cap ? w->cap : 64;
    while (cap < w->len + n) {
        if (cap > UINT32_MAX / 2) {
            cap = w->len + n;
            break;
        }
        cap *= 2;
    }
    uint8_t *nb = w->alloc(cap);
    if (!nb) {
        w->err = "out of memory writing msgpack";
        return 0;
    }
    if (w->len) __builtin_memcpy(nb, w->buf, w->len);
    w->buf = nb; /* the old buffer belongs to the arena */
    w->cap = cap;
    return 1;
}

static void put(mp_writer_t *w, const void *p, uint32_t n) {
    if (!reserve(w, n)) return;
    if (n) __builtin_memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void put_tagged(mp_writer_t *w, uint8_t tag, uint64_t v, int bytes) {
    uint8_t b[9];
    b[0] = tag;
    for (int i = 0; i < bytes; i++) b[1 + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    put(w, b, (uint32_t)bytes + 1);
}

void mp_write_nil(mp_writer_t *w) { put_tagged(w, 0xc0, 0, 0); }
void mp_write_bool(mp_writer_t *w, int v) { put_tagged(w, v ? 0xc3 : 0xc2, 0, 0); }

void mp_write_uint(mp_writer_t *w, uint64_t v) {
    if (v < 0x80) put_tagged(w, (uint8_t)v, 0, 0);
    else if (v <= 0xff) put_tagged(w, 0xcc, v, 1);
    else if (v <= 0xffff) put_tagged(w, 0xcd, v, 2);
    else if (v <= 0xffffffffu) put_tagged(w, 0xce, v, 4);
    else put_tagged(w, 0xcf, v, 8);
}

void mp_write_int(mp_writer_t *w, int64_t v) {
    if (v >= 0) mp_write_uint(w, (uint64_t)v);
    else if (v >= -32) put_tagged(w, (uint8_t)(int8_t)v, 0, 0);
    else if (v >= -128) put_tagged(w, 0xd0, (uint64_t)v, 1);
    else if (v >= -32768) put_tagged(w, 0xd1, (uint64_t)v, 2);
    else if (v >= -2147483647 - 1) put_tagged(w, 0xd2, (uint64_t)v, 4);
    else put_tagged(w, 0xd3, (uint64_t)v, 8);
}

static void put_len(mp_writer_t *w, uint32_t n, uint8_t fix, uint32_t fixmax, uint8_t t8,
                    uint8_t t16, uint8_t t32) {
    if (n <= fixmax) put_tagged(w, (uint8_t)(fix | n), 0, 0);
    else if (t8 && n <= 0xff) put_tagged(w, t8, n, 1);
    else if (n <= 0xffff) put_tagged(w, t16, n, 2);
    else put_tagged(w, t32, n, 4);
}

void mp_write_str(mp_writer_t *w, const char *s, uint32_t len) {
    put_len(w, len, 0xa0, 31, 0xd9, 0xda, 0xdb);
    put(w, s, len);
}

void mp_write_cstr(mp_writer_t *w, const char *s) {
    uint32_t n = 0;
    while (s[n]) n++;
    mp_write_str(w, s, n);
}

void mp_write_bin(mp_writer_t *w, const void *p, uint32_t len) {
    if (len <= 0xff) put_tagged(w, 0xc4, len, 1);
    else if (len <= 0xffff) put_tagged(w, 0xc5, len, 2);
    else put_tagged(w, 0xc6, len, 4);
    put(w, p, len);
}

void mp_write_array(mp_writer_t *w, uint32_t n) { put_len(w, n, 0x90, 15, 0, 0xdc, 0xdd); }
void mp_write_map(mp_writer_t *w, uint32_t n) { put_len(w, n, 0x80, 15, 0, 0xde, 0xdf); }

/* ---- reader ----------------------------------------------------------------------------- */

void mp_reader_init(mp_reader_t *r, const void *p, uint32_t len) {
    r->p = p;
    r->len = len;
    r->pos = 0;
    r->err = 0;
    r->key = 0;
}

int mp_fail(mp_reader_t *r, const char *msg) {
    if (!r->err) r->err = msg;
    return 0;
}

static int need(mp_reader_t *r, uint32_t n) {
    if (r->err) return 0;
    if (n > r->len - r->pos) return mp_fail(r, "msgpack input is truncated");
    return 1;
}

static uint64_t be(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* Reads a big-endian number of n bytes after the tag already consumed. */
static int take(mp_reader_t *r, int n, uint64_t *v) {
    if (!need(r, (uint32_t)n)) return 0;
    *v = be(r->p + r->pos, n);
    r->pos += (uint32_t)n;
    return 1;
}

static int tag(mp_reader_t *r, uint8_t *t) {
    if (!need(r, 1)) return 0;
    *t = r->p[r->pos++];
    return 1;
}

int mp_peek_nil(const mp_reader_t *r) {
    return !r->err && r->pos < r->len && r->p[r->pos] == 0xc0;
}

int mp_read_nil(mp_reader_t *r) {
    uint8_t t;
    if (!tag(r, &t)) return 0;
    if (t != 0xc0) return mp_fail(r, "msgpack: expected nil");
    return 1;
}

int mp_read_bool(mp_reader_t *r, int *v) {
    uint8_t t;
    if (!tag(r, &t)) return 0;
    if (t != 0xc2 && t != 0xc3) return mp_fail(r, "msgpack: expected a boolean");
    *v = t == 0xc3;
    return 1;
}

/* Any integer as (negative?, magnitude as int64 or uint64). */
static int read_any_int(mp_reader_t *r, int *neg, uint64_t *u, int64_t *s) {
    uint8_t t;
    uint64_t v;
    if (!tag(r, &t)) return 0;
    *neg = 0;
    if (t < 0x80) { *u = t; return 1; }
    if (t >= 0xe0) { *neg = 1; *s = (int8_t)t; return 1; }
    switch (t) {
    case 0xcc: if (!take(r, 1, &v)) return 0; *u = v; return 1;
    case 0xcd: if (!take(r, 2, &v)) return 0; *u = v; return 1;
    case 0xce: if (!take(r, 4, &v)) return 0; *u = v; return 1;
    case 0xcf: if (!take(r, 8, &v)) return 0; *u = v; return 1;
    case 0xd0: if (!take(r, 1, &v)) return 0; *s = (int8_t)v; break;
    case 0xd1: if (!take(r, 2, &v)) return 0; *s = (int16_t)v; break;
    case 0xd2: if (!take(r, 4, &v)) return 0; *s = (int32_t)v; break;
    case 0xd3: if (!take(r, 8, &v)) return 0; *s = (int64_t)v; break;
    default: return mp_fail(r, "msgpack: expected an integer");
    }
    if (*s >= 0) { *u = (uint64_t)*s; return 1; }
    *neg = 1;
    return 1;
}

int mp_read_uint(mp_reader_t *r, uint64_t *v) {
    int neg;
    uint64_t u = 0;
    int64_t s = 0;
    if (!read_any_int(r, &neg, &u, &s)) return 0;
    if (neg) return mp_fail(r, "msgpack: expected a non-negative integer");
    *v = u;
    return 1;
}

int mp_read_int(mp_reader_t *r, int64_t *v) {
    int neg;
    uint64_t u = 0;
    int64_t s = 0;
    if (!read_any_int(r, &neg, &u, &s)) return 0;
    if (neg) { *v = s; return 1; }
    if (u > (uint64_t)INT64_MAX) return mp_fail(r, "msgpack: integer out of range");
    *v = (int64_t)u;
    return 1;
}

int mp_read_i32(mp_reader_t *r, int32_t *v) {
    int64_t x;
    if (!mp_read_int(r, &x)) return 0;
    if (x < INT32_MIN || x > INT32_MAX) return mp_fail(r, "msgpack: integer out of 32-bit range");
    *v = (int32_t)x;
    return 1;
}

static int read_bytes(mp_reader_t *r, uint32_t n, const uint8_t **p) {
    if (!need(r, n)) return 0;
    *p = r->p + r->pos;
    r->pos += n;
    return 1;
}

int mp_read_str(mp_reader_t *r, const char **s, uint32_t *len) {
    uint8_t t;
    uint64_t n;
    if (!tag(r, &t)) return 0;
    if ((t & 0xe0) == 0xa0) n = t & 0x1f;
    else if (t == 0xd9) { if (!take(r, 1, &n)) return 0; }
    else if (t == 0xda) { if (!take(r, 2, &n)) return 0; }
    else if (t == 0xdb) { if (!take(r, 4, &n)) return 0; }
    else return mp_fail(r, "msgpack: expected a string");
    const uint8_t *p;
    if (!read_bytes(r, (uint32_t)n, &p)) return 0;
    *s = (const char *)p;
    *len = (uint32_t)n;
    return 1;
}

int mp_read_bin(mp_reader_t *r, const uint8_t **p, uint32_t *len) {
    uint8_t t;
    uint64_t n;
    if (!tag(r, &t)) return 0;
    if (t == 0xc4) { if (!take(r, 1, &n)) return 0; }
    else if (t == 0xc5) { if (!take(r, 2, &n)) return 0; }
    else if (t == 0xc6) { if (!take(r, 4, &n)) return 0; }
    else return mp_fail(r, "msgpack: expected binary data");
    if (!read_bytes(r, (uint32_t)n, p)) return 0;
    *len = (uint32_t)n;
    return 1;
}

/* Containers: the count must be plausible (each element takes >= 1 byte). */
static int read_count(mp_reader_t *r, uint8_t fix, uint8_t t16, uint8_t t32, uint32_t per,
                      uint32_t *n, const char *what) {
    uint8_t t;
    uint64_t v;
    if (!tag(r, &t)) return 0;
    if ((t & 0xf0) == fix) v = t & 0x0f;
    else if (t == t16) { if (!take(r, 2, &v)) return 0; }
    else if (t == t32) { if (!take(r, 4, &v)) return 0; }
    else return mp_fail(r, what);
    if (v * per > (uint64_t)(r->len - r->pos)) return mp_fail(r, "msgpack input is truncated");
    *n = (uint32_t)v;
    return 1;
}

int mp_read_array(mp_reader_t *r, uint32_t *n) {
    return read_count(r, 0x90, 0xdc, 0xdd, 1, n, "msgpack: expected an array");
}

int mp_read_map(mp_reader_t *r, uint32_t *n) {
    return read_count(r, 0x80, 0xde, 0xdf, 2, n, "msgpack: expected a map");
}

static int skip_depth(mp_reader_t *r, int depth) {
    uint8_t t;
    uint64_t n;
    if (depth > MP_MAX_DEPTH) return mp_fail(r, "msgpack: nesting too deep");
    if (!need(r, 1)) return 0;
    t = r->p[r->pos];
    if (t < 0x80 || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) { r->pos++; return 1; }
    if ((t & 0xe0) == 0xa0 || t == 0xd9 || t == 0xda || t == 0xdb) {
        const char *s; uint32_t l;
        return mp_read_str(r, &s, &l);
    }
    if (t == 0xc4 || t == 0xc5 || t == 0xc6) {
        const uint8_t *p; uint32_t l;
        return mp_read_bin(r, &p, &l);
    }
    if ((t & 0xf0) == 0x90 || t == 0xdc || t == 0xdd || (t & 0xf0) == 0x80 || t == 0xde ||
        t == 0xdf) {
        uint32_t c;
        int map = (t & 0xf0) == 0x80 || t == 0xde || t == 0xdf;
        if (!(map ? mp_read_map(r, &c) : mp_read_array(r, &c))) return 0;
        uint64_t items = map ? (uint64_t)c * 2 : c;
        for (uint64_t i = 0; i < items; i++)
            if (!skip_depth(r, depth + 1)) return 0;
        return 1;
    }
    r->pos++;
    switch (t) {
    case 0xcc: case 0xd0: return take(r, 1, &n);
    case 0xcd: case 0xd1: return take(r, 2, &n);
    case 0xce: case 0xd2: case 0xca: return take(r, 4, &n);
    case 0xcf: case 0xd3: case 0xcb: return take(r, 8, &n);
    case 0xd4: return take(r, 2, &n); /* fixext 1: type + 1 */
    case 0xd5: return take(r, 3, &n) ;
    case 0xd6: return take(r, 5, &n);
    case 0xd7: { const uint8_t *p; return read_bytes(r, 9, &p); }
    case 0xd8: { const uint8_t *p; return read_bytes(r, 17, &p); }
    case 0xc7: case 0xc8: case 0xc9: {
        int w = t == 0xc7 ? 1 : t == 0xc8 ? 2 : 4;
        const uint8_t *p;
        if (!take(r, w, &n)) return 0;
        return read_bytes(r, 1, &p) && (n <= UINT32_MAX && read_bytes(r, (uint32_t)n, &p));
    }
    default: return mp_fail(r, "msgpack: invalid type byte 0xc1");
    }
}

int mp_skip(mp_reader_t *r) { return skip_depth(r, 0); }

int mp_key_is(const char *k, uint32_t klen, const char *lit) {
    uint32_t i = 0;
    for (; i < klen; i++)
        if (lit[i] != k[i] || !lit[i]) return 0;
    return lit[i] == 0;
}

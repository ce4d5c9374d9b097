/*
 * corral_mp.c - strict request decoding and response encoding for the
 * built-in providers (see corral_mp.h): a bounds pre-scan, then msgpack-c.
 */
#include "corral_mp.h"

#include <string.h>

/* Reads a big-endian unsigned of n bytes at p. */
static uint64_t be(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

/* Deepest nesting accepted; msgpack-c's own parser stack is 32 deep and
 * reports overflow as "out of memory", so refuse deeper input here first. */
#define MP_MAX_DEPTH 24

/* Walks the whole encoding without allocating: every declared length must
 * fit in what remains (each element of a container takes at least one byte),
 * so msgpack-c never sizes an allocation from an unchecked header. Returns
 * the number of bytes the first object spans, 0 when it does not fit, or
 * (size_t)-1 when it nests deeper than MP_MAX_DEPTH. */
static size_t prescan(const uint8_t *p, size_t len) {
    size_t off = 0;
    uint64_t left[MP_MAX_DEPTH + 1]; /* objects still to read at each depth */
    int depth = 0;
    left[0] = 1;
    while (depth >= 0) {
        if (left[depth] == 0) {
            depth--;
            continue;
        }
        if (off >= len) return 0;
        uint8_t b = p[off++];
        uint64_t skip = 0, items = 0;
        int hdr = 0; /* bytes of length field */
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        } else if (b >= 0x80 && b <= 0x8f) {
            items = 2u * (b & 0x0f);
        } else if (b >= 0x90 && b <= 0x9f) {
            items = b & 0x0f;
        } else if (b >= 0xa0 && b <= 0xbf) {
            skip = b & 0x1f;
        } else {
            switch (b) {
            case 0xc4: case 0xd9: hdr = 1; break; /* bin8, str8 */
            case 0xc5: case 0xda: hdr = 2; break;
            case 0xc6: case 0xdb: hdr = 4; break;
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xca: case 0xce: case 0xd2: skip = 4; break;
            case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break; /* fixext: type + data */
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xc7: case 0xc8: case 0xc9: { /* ext 8/16/32 */
                int h = b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4;
                if (len - off < (size_t)h) return 0;
                skip = be(p + off, h) + 1;
                off += (size_t)h;
                break;
            }
            case 0xdc: case 0xdd: {
                int h = b == 0xdc ? 2 : 4;
                if (len - off < (size_t)h) return 0;
                items = be(p + off, h);
                off += (size_t)h;
                break;
            }
            case 0xde: case 0xdf: {
                int h = b == 0xde ? 2 : 4;
                if (len - off < (size_t)h) return 0;
                items = 2 * be(p + off, h);
                off += (size_t)h;
                break;
            }
            default: return 0; /* 0xc1 is never used */
            }
        }
        if (hdr) {
            if (len - off < (size_t)hdr) return 0;
            skip = be(p + off, hdr);
            off += (size_t)hdr;
        }
        if (skip > len - off) return 0;
        off += (size_t)skip;
        left[depth]--;
        if (items > len - off) return 0;
        if (items) {
            if (depth == MP_MAX_DEPTH) return (size_t)-1;
            left[++depth] = items;
        }
    }
    return off;
}

corral_status_t corral_mp_doc_parse(corral_mp_doc_t *doc, const char *what, const uint8_t *data,
                                    size_t len, corral_err_t *err) {
    memset(doc, 0, sizeof *doc);
    doc->what = what;
    if (len == 0 || !data)
        return corral_err_set(err, CORRAL_ERR_PARSE, "%s: request is empty (expected a msgpack map)",
                              what);
    size_t span = prescan(data, len);
    if (span == (size_t)-1)
        return corral_err_set(err, CORRAL_ERR_PARSE,
                              "%s: request nests deeper than %d levels", what, MP_MAX_DEPTH);
    if (span == 0)
        return corral_err_set(err, CORRAL_ERR_PARSE,
                              "%s: request is truncated or malformed msgpack (%zu bytes)", what, len);
    if (span != len)
        return corral_err_set(err, CORRAL_ERR_PARSE,
                              "%s: %zu trailing bytes after the msgpack request", what, len - span);
    msgpack_unpacked_init(&doc->up);
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(&doc->up, (const char *)data, len, &off);
    if (r == MSGPACK_UNPACK_NOMEM_ERROR) {
        msgpack_unpacked_destroy(&doc->up);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "%s: out of memory decoding the request", what);
    }
    if (r != MSGPACK_UNPACK_SUCCESS || off != len) {
        msgpack_unpacked_destroy(&doc->up);
        return corral_err_set(err, CORRAL_ERR_PARSE, "%s: request is malformed msgpack", what);
    }
    if (doc->up.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(&doc->up);
        return corral_err_set(err, CORRAL_ERR_PARSE, "%s: request is not a msgpack map", what);
    }
    doc->map = &doc->up.data.via.map;
    return CORRAL_OK;
}

void corral_mp_doc_deinit(corral_mp_doc_t *doc) {
    if (doc && doc->map) {
        msgpack_unpacked_destroy(&doc->up);
        doc->map = NULL;
    }
}

const msgpack_object *corral_mp_find(const corral_mp_doc_t *doc, const char *key) {
    size_t kl = strlen(key);
    for (uint32_t i = 0; i < doc->map->size; i++) {
        const msgpack_object *k = &doc->map->ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl &&
            memcmp(k->via.str.ptr, key, kl) == 0)
            return &doc->map->ptr[i].val;
    }
    return NULL;
}

static const char *type_name(const msgpack_object *o) {
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "a bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "an integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "a float";
    case MSGPACK_OBJECT_STR: return "a string";
    case MSGPACK_OBJECT_ARRAY: return "an array";
    case MSGPACK_OBJECT_MAP: return "a map";
    case MSGPACK_OBJECT_BIN: return "bin";
    default: return "an ext value";
    }
}

static corral_status_t need(const corral_mp_doc_t *doc, const char *key, const msgpack_object **o,
                            corral_err_t *err) {
    *o = corral_mp_find(doc, key);
    if (!*o)
        return corral_err_set(err, CORRAL_ERR_PARSE, "%s: request field '%s' is missing", doc->what,
                              key);
    return CORRAL_OK;
}

static corral_status_t wrong(const corral_mp_doc_t *doc, const char *key, const char *want,
                             const msgpack_object *o, corral_err_t *err) {
    return corral_err_set(err, CORRAL_ERR_PARSE, "%s: request field '%s' must be %s, not %s",
                          doc->what, key, want, type_name(o));
}

corral_status_t corral_mp_get_str(const corral_mp_doc_t *doc, const char *key, corral_mp_str_t *out,
                                  corral_err_t *err) {
    const msgpack_object *o;
    if (need(doc, key, &o, err)) return err ? err->status : CORRAL_ERR_PARSE;
    if (o->type != MSGPACK_OBJECT_STR) return wrong(doc, key, "a string", o, err);
    *out = corral_mp_item_str(o);
    return CORRAL_OK;
}

static corral_status_t get_int(const corral_mp_doc_t *doc, const char *key, int64_t lo, int64_t hi,
                               const char *want, int64_t *out, corral_err_t *err) {
    const msgpack_object *o;
    if (need(doc, key, &o, err)) return CORRAL_ERR_PARSE;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)hi) goto range;
        *out = (int64_t)o->via.u64;
        return CORRAL_OK;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        if (o->via.i64 < lo) goto range;
        *out = o->via.i64;
        return CORRAL_OK;
    }
    return wrong(doc, key, want, o, err);
range:
    return corral_err_set(err, CORRAL_ERR_PARSE, "%s: request field '%s' is out of range for %s",
                          doc->what, key, want);
}

corral_status_t corral_mp_get_i32(const corral_mp_doc_t *doc, const char *key, int32_t *out,
                                  corral_err_t *err) {
    int64_t v;
    corral_status_t st = get_int(doc, key, INT32_MIN, INT32_MAX, "an i32", &v, err);
    if (st == CORRAL_OK) *out = (int32_t)v;
    return st;
}

corral_status_t corral_mp_get_u32(const corral_mp_doc_t *doc, const char *key, uint32_t *out,
                                  corral_err_t *err) {
    int64_t v;
    corral_status_t st = get_int(doc, key, 0, UINT32_MAX, "a u32", &v, err);
    if (st == CORRAL_OK) *out = (uint32_t)v;
    return st;
}

corral_status_t corral_mp_get_bool(const corral_mp_doc_t *doc, const char *key, bool *out,
                                   corral_err_t *err) {
    const msgpack_object *o;
    if (need(doc, key, &o, err)) return CORRAL_ERR_PARSE;
    if (o->type != MSGPACK_OBJECT_BOOLEAN) return wrong(doc, key, "a bool", o, err);
    *out = o->via.boolean;
    return CORRAL_OK;
}

corral_status_t corral_mp_get_str_array(const corral_mp_doc_t *doc, const char *key,
                                        const msgpack_object **items, size_t *n, corral_err_t *err) {
    const msgpack_object *o;
    if (need(doc, key, &o, err)) return CORRAL_ERR_PARSE;
    if (o->type != MSGPACK_OBJECT_ARRAY) return wrong(doc, key, "an array of strings", o, err);
    for (uint32_t i = 0; i < o->via.array.size; i++)
        if (o->via.array.ptr[i].type != MSGPACK_OBJECT_STR)
            return corral_err_set(err, CORRAL_ERR_PARSE,
                                  "%s: request field '%s' item %u must be a string, not %s",
                                  doc->what, key, (unsigned)i, type_name(&o->via.array.ptr[i]));
    *items = o->via.array.ptr;
    *n = o->via.array.size;
    return CORRAL_OK;
}

corral_mp_str_t corral_mp_item_str(const msgpack_object *o) {
    corral_mp_str_t s = {(const uint8_t *)o->via.str.ptr, o->via.str.size};
    if (!s.p) s.p = (const uint8_t *)"";
    return s;
}

static int buf_write(void *data, const char *p, size_t n) {
    return corral_buf_append((corral_buf_t *)data, p, n) == CORRAL_OK ? 0 : -1;
}

void corral_mp_packer_init(msgpack_packer *pk, corral_buf_t *buf) {
    msgpack_packer_init(pk, buf, buf_write);
}

int corral_mp_pack_str(msgpack_packer *pk, const void *p, size_t n) {
    return msgpack_pack_str_with_body(pk, p, n);
}

int corral_mp_pack_cstr(msgpack_packer *pk, const char *s) {
    return corral_mp_pack_str(pk, s, strlen(s));
}

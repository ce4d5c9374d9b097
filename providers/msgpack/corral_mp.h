/*
 * corral_mp.h - strict MessagePack helpers shared by the built-in providers,
 * on top of msgpack-c 4.x: decode an actor's request map and read its fields
 * by name with exact types, and encode responses into a corral_buf_t.
 *
 * Decoding never trusts the input: before msgpack-c sees the bytes, a
 * pre-scan checks that every declared string/bin/array/map length fits in the
 * bytes that remain (so a 5-byte "array of 4 billion" cannot make msgpack-c
 * allocate gigabytes), and trailing bytes after the request are refused.
 * Every error message starts with the operation name ("Get: ...").
 *
 * Thread-safety: a corral_mp_doc_t belongs to one thread; the functions keep
 * no global state.
 */
#ifndef CORRAL_MP_H
#define CORRAL_MP_H

#include <msgpack.h>
#include <stdbool.h>

#include "corral_base.h"

#if MSGPACK_VERSION_MAJOR < 4
#error "Corral needs the msgpack-c 4.x C API"
#endif

/* A decoded request: a map at the top level. `what` (the operation name) is
 * borrowed and used in messages. */
typedef struct corral_mp_doc {
    msgpack_unpacked up;
    const msgpack_object_map *map;
    const char *what;
} corral_mp_doc_t;

/* Borrowed bytes of a str field (not NUL-terminated). */
typedef struct corral_mp_str {
    const uint8_t *p;
    size_t n;
} corral_mp_str_t;

/* Decodes data[0..len) as one msgpack map. On failure the doc needs no
 * deinit. Errors (CORRAL_ERR_PARSE): empty, truncated, malformed, trailing
 * bytes, not a map, a lengths that overruns the input. */
corral_status_t corral_mp_doc_parse(corral_mp_doc_t *doc, const char *what, const uint8_t *data,
                                    size_t len, corral_err_t *err);
void corral_mp_doc_deinit(corral_mp_doc_t *doc);

/* Field readers. A missing field or a value of the wrong type or range is a
 * CORRAL_ERR_PARSE with a message naming the field and the expected type.
 * Results borrow from the doc. */
corral_status_t corral_mp_get_str(const corral_mp_doc_t *doc, const char *key, corral_mp_str_t *out,
                                  corral_err_t *err);
corral_status_t corral_mp_get_i32(const corral_mp_doc_t *doc, const char *key, int32_t *out,
                                  corral_err_t *err);
corral_status_t corral_mp_get_u32(const corral_mp_doc_t *doc, const char *key, uint32_t *out,
                                  corral_err_t *err);
corral_status_t corral_mp_get_bool(const corral_mp_doc_t *doc, const char *key, bool *out,
                                   corral_err_t *err);
/* An array of str: *items points at the msgpack objects (each checked to be
 * a str); read them with corral_mp_item_str. */
corral_status_t corral_mp_get_str_array(const corral_mp_doc_t *doc, const char *key,
                                        const msgpack_object **items, size_t *n, corral_err_t *err);
corral_mp_str_t corral_mp_item_str(const msgpack_object *o);

/* The field's object, or NULL when absent (for optional fields). */
const msgpack_object *corral_mp_find(const corral_mp_doc_t *doc, const char *key);

/* Encoding: a packer that appends to a corral_buf_t (corral_malloc). Packing
 * functions return 0 on success, -1 when out of memory. */
void corral_mp_packer_init(msgpack_packer *pk, corral_buf_t *buf);
int corral_mp_pack_cstr(msgpack_packer *pk, const char *s);
int corral_mp_pack_str(msgpack_packer *pk, const void *p, size_t n);

#endif

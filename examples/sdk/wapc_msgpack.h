/*
 * wapc_msgpack.h - a small, strict, bounds-checked MessagePack writer and
 * reader for guests (msgpack-c does not build for wasm32 without libc).
 * Portable C11 with no libc calls, so the host's tests compile it natively
 * and feed it hostile input.
 *
 * Writer: appends to a buffer that grows through a caller-given allocator;
 * any failure sets w->err and later writes do nothing, so a sequence of
 * writes needs one check at the end. Integers use the smallest encoding.
 * Reader: every read checks the type byte and the remaining length; the
 * first failure sets r->err (a static message) and every later read fails,
 * so a decoder may check once at the end. Nesting is limited by
 * MP_MAX_DEPTH when skipping unknown values.
 */
#ifndef WAPC_MSGPACK_H
#define WAPC_MSGPACK_H

#include <stddef.h>
#include <stdint.h>

#define MP_MAX_DEPTH 32

typedef void *(*mp_alloc_fn)(uint32_t n);

typedef struct mp_writer {
    uint8_t *buf;
    uint32_t len, cap;
    mp_alloc_fn alloc; /* grows by allocating a new buffer and copying */
    const char *err;
} mp_writer_t;

void mp_writer_init(mp_writer_t *w, mp_alloc_fn alloc);
void mp_write_nil(mp_writer_t *w);
void mp_write_bool(mp_writer_t *w, int v);
void mp_write_uint(mp_writer_t *w, uint64_t v);
void mp_write_int(mp_writer_t *w, int64_t v);
void mp_write_str(mp_writer_t *w, const char *s, uint32_t len);
void mp_write_cstr(mp_writer_t *w, const char *s);
void mp_write_bin(mp_writer_t *w, const void *p, uint32_t len);
void mp_write_array(mp_writer_t *w, uint32_t n);
void mp_write_map(mp_writer_t *w, uint32_t n);

typedef struct mp_reader {
    const uint8_t *p;
    uint32_t len, pos;
    const char *err;
    const char *key; /* with err: the map key concerned, or NULL */
} mp_reader_t;

void mp_reader_init(mp_reader_t *r, const void *p, uint32_t len);
/* Each returns 1 on success, 0 (with r->err set) on a wrong type, truncated
 * input or an earlier error. Strings and bins point into the input. */
int mp_read_nil(mp_reader_t *r);
int mp_read_bool(mp_reader_t *r, int *v);
int mp_read_uint(mp_reader_t *r, uint64_t *v);   /* non-negative ints of any width */
int mp_read_int(mp_reader_t *r, int64_t *v);     /* any int that fits in int64 */
int mp_read_i32(mp_reader_t *r, int32_t *v);     /* any int that fits in int32 */
int mp_read_str(mp_reader_t *r, const char **s, uint32_t *len);
int mp_read_bin(mp_reader_t *r, const uint8_t **p, uint32_t *len);
int mp_read_array(mp_reader_t *r, uint32_t *n);
int mp_read_map(mp_reader_t *r, uint32_t *n);
/* 1 when the next value is nil (does not consume it). */
int mp_peek_nil(const mp_reader_t *r);
/* Skips one value of any type (nested up to MP_MAX_DEPTH). */
int mp_skip(mp_reader_t *r);
/* Sets r->err (if unset) and returns 0: for decoders' own checks. */
int mp_fail(mp_reader_t *r, const char *msg);
/* 1 when the key equals the NUL-terminated lit. */
int mp_key_is(const char *k, uint32_t klen, const char *lit);

#endif

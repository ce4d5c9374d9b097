/*
 * wapc_contracts.h - MessagePack shapes of the capability contracts
 * (docs/contracts.md) for C guests: httpserver requests and responses,
 * keyvalue requests and responses, messaging (Publish, Request, the reply
 * and HandleMessage), logging, numbergen and health. Every
 * struct travels as a map keyed by field-name strings; decoders are strict
 * (wrong type, missing key, duplicate key, truncated input -> 0 with
 * r->err and r->key set) and ignore unknown keys. Strings and byte fields
 * point into the input; arrays come from the caller's allocator.
 * Portable C11 without libc, like wapc_msgpack.c.
 */
#ifndef WAPC_CONTRACTS_H
#define WAPC_CONTRACTS_H

#include "wapc_msgpack.h"

typedef struct wapc_str {
    const char *s;
    uint32_t len;
} wapc_str_t;

typedef struct wapc_header {
    wapc_str_t name, value;
} wapc_header_t;

/* ---- generic struct decoding --------------------------------------------------- */

typedef enum {
    WAPC_F_STR,        /* wapc_str_t */
    WAPC_F_STR_OR_NIL, /* wapc_str_t, {NULL, 0} for nil */
    WAPC_F_BIN,        /* wapc_str_t (bytes) */
    WAPC_F_BOOL,       /* int */
    WAPC_F_I32,        /* int32_t */
    WAPC_F_U32,        /* uint32_t */
    WAPC_F_U64,        /* uint64_t */
    WAPC_F_STR_ARRAY,  /* wapc_str_list_t */
    WAPC_F_STR_MAP     /* wapc_header_list_t */
} wapc_field_type_t;

typedef struct wapc_str_list {
    wapc_str_t *items;
    uint32_t n;
} wapc_str_list_t;

typedef struct wapc_header_list {
    wapc_header_t *items;
    uint32_t n;
} wapc_header_list_t;

typedef struct wapc_field {
    const char *key;
    wapc_field_type_t type;
    void *out;
    int required;
} wapc_field_t;

/* Decodes one map into fields; returns 1 or 0 with r->err / r->key. */
int wapc_decode_struct(mp_reader_t *r, const wapc_field_t *fields, uint32_t n, mp_alloc_fn alloc);
/* The same, also reporting which fields were present (bit j = fields[j]). */
int wapc_decode_struct_seen(mp_reader_t *r, const wapc_field_t *fields, uint32_t n,
                            mp_alloc_fn alloc, uint64_t *seen_out);

/* ---- wasmcloud:httpserver ----------------------------------------------------------- */

typedef struct wapc_http_request {
    wapc_str_t method, path, query_string;
    wapc_header_list_t header;
    wapc_str_t body;
} wapc_http_request_t;

typedef struct wapc_http_response {
    uint32_t status_code;
    wapc_str_t status;
    wapc_header_list_t header;
    wapc_str_t body;
} wapc_http_response_t;

int wapc_http_request_decode(mp_reader_t *r, wapc_http_request_t *out, mp_alloc_fn alloc);
void wapc_http_request_encode(mp_writer_t *w, const wapc_http_request_t *req);
int wapc_http_response_decode(mp_reader_t *r, wapc_http_response_t *out, mp_alloc_fn alloc);
void wapc_http_response_encode(mp_writer_t *w, const wapc_http_response_t *resp);

/* ---- wasmcloud:keyvalue ------------------------------------------------------------- */

/* Requests. {key} serves Get, Del, Clear, SetQuery, KeyExists. */
void wapc_kv_key_encode(mp_writer_t *w, const char *key);
void wapc_kv_add_encode(mp_writer_t *w, const char *key, int32_t value);
void wapc_kv_set_encode(mp_writer_t *w, const char *key, const char *value, int32_t expires);
/* {key, value}: Push, ListItemDelete, SetAdd, SetRemove. */
void wapc_kv_key_value_encode(mp_writer_t *w, const char *key, const char *value);
void wapc_kv_range_encode(mp_writer_t *w, const char *key, int32_t start, int32_t stop);
void wapc_kv_keys_encode(mp_writer_t *w, const char *const *keys, uint32_t n);

/* Responses. */
int wapc_kv_add_decode(mp_reader_t *r, int32_t *value);                   /* {value: i32} */
int wapc_kv_get_decode(mp_reader_t *r, wapc_str_t *value, int *exists);   /* Get, KeyExists */
int wapc_kv_str_decode(mp_reader_t *r, const char *key, wapc_str_t *out); /* {value}/{key} */
int wapc_kv_count_decode(mp_reader_t *r, int32_t *count); /* {newCount} or {new_count} */
int wapc_kv_values_decode(mp_reader_t *r, wapc_str_list_t *values, mp_alloc_fn alloc);

/* ---- wasmcloud:messaging ------------------------------------------------------------- */

/* {subject, replyTo, body}: the Publish request, the reply to a Request and
 * the HandleMessage a subscribed actor receives. replyTo is a string ("" for
 * none; nil is accepted when decoding and gives {NULL, 0}); body is bin. */
typedef struct wapc_broker_message {
    wapc_str_t subject, reply_to, body;
} wapc_broker_message_t;

/* Request {subject, body, timeoutMs}; timeout_ms 0 = the provider's default. */
typedef struct wapc_messaging_request {
    wapc_str_t subject, body;
    uint32_t timeout_ms;
} wapc_messaging_request_t;

/* reply_to may be NULL (written as ""); body may be NULL when len is 0. */
void wapc_broker_message_encode(mp_writer_t *w, const char *subject, const char *reply_to,
                                const void *body, uint32_t len);
/* subject and body are required, replyTo is optional. */
int wapc_broker_message_decode(mp_reader_t *r, wapc_broker_message_t *out);
void wapc_messaging_request_encode(mp_writer_t *w, const char *subject, const void *body,
                                   uint32_t len, uint32_t timeout_ms);
/* subject and body are required, timeoutMs optional (0 when absent). */
int wapc_messaging_request_decode(mp_reader_t *r, wapc_messaging_request_t *out);

/* ---- wasmcloud:logging, numbergen, health --------------------------------------------- */

void wapc_logging_encode(mp_writer_t *w, const char *target, const char *level, const char *text);

typedef struct wapc_numbergen_request {
    int guid, sequence, random;
    uint32_t min, max;
} wapc_numbergen_request_t;

typedef struct wapc_numbergen_response {
    wapc_str_t guid; /* {NULL, 0} when nil */
    uint64_t sequence_number;
    uint32_t random_number;
} wapc_numbergen_response_t;

void wapc_numbergen_request_encode(mp_writer_t *w, const wapc_numbergen_request_t *req);
int wapc_numbergen_response_decode(mp_reader_t *r, wapc_numbergen_response_t *out);

int wapc_health_request_decode(mp_reader_t *r, int *placeholder);
void wapc_health_response_encode(mp_writer_t *w, int healthy, const char *message);

#endif

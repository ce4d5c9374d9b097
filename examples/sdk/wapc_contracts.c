/*
 * wapc_contracts.c - the contract shapes of wapc_contracts.h on top of the
 * strict msgpack reader/writer. One table-driven struct decoder serves every
 * contract, so strictness (types, required keys, duplicates) lives in one
 * place.
 */
#include "wapc_contracts.h"

static uint32_t cstrlen(const char *s) {
    uint32_t n = 0;
    while (s[n]) n++;
    return n;
}

static int read_field(mp_reader_t *r, const wapc_field_t *f, mp_alloc_fn alloc) {
    wapc_str_t *s = f->out;
    switch (f->type) {
    case WAPC_F_STR:
        return mp_read_str(r, &s->s, &s->len);
    case WAPC_F_STR_OR_NIL:
        if (mp_peek_nil(r)) {
            s->s = 0;
            s->len = 0;
            return mp_read_nil(r);
        }
        return mp_read_str(r, &s->s, &s->len);
    case WAPC_F_BIN: {
        const uint8_t *p;
        if (!mp_read_bin(r, &p, &s->len)) return 0;
        s->s = (const char *)p;
        return 1;
    }
    case WAPC_F_BOOL:
        return mp_read_bool(r, f->out);
    case WAPC_F_I32:
        return mp_read_i32(r, f->out);
    case WAPC_F_U32: {
        uint64_t v;
        if (!mp_read_uint(r, &v)) return 0;
        if (v > UINT32_MAX) return mp_fail(r, "msgpack: integer out of 32-bit range");
        *(uint32_t *)f->out = (uint32_t)v;
        return 1;
    }
    case WAPC_F_U64:
        return mp_read_uint(r, f->out);
    case WAPC_F_STR_ARRAY: {
        wapc_str_list_t *l = f->out;
        uint32_t n;
        if (!mp_read_array(r, &n)) return 0;
        l->n = 0;
        l->items = n ? alloc(n * (uint32_t)sizeof *l->items) : 0;
        if (n && (!alloc || !l->items)) return mp_fail(r, "out of memory decoding an array");
        for (uint32_t i = 0; i < n; i++) {
            if (!mp_read_str(r, &l->items[i].s, &l->items[i].len)) return 0;
            l->n++;
        }
        return 1;
    }
    case WAPC_F_STR_MAP: {
        wapc_header_list_t *l = f->out;
        uint32_t n;
        if (!mp_read_map(r, &n)) return 0;
        l->n = 0;
        l->items = n ? alloc(n * (uint32_t)sizeof *l->items) : 0;
        if (n && (!alloc || !l->items)) return mp_fail(r, "out of memory decoding a map");
        for (uint32_t i = 0; i < n; i++) {
            wapc_header_t *h = &l->items[i];
            if (!mp_read_str(r, &h->name.s, &h->name.len) ||
                !mp_read_str(r, &h->value.s, &h->value.len))
                return 0;
            l->n++;
        }
        return 1;
    }
    }
    return mp_fail(r, "internal: unknown field type");
}

int wapc_decode_struct(mp_reader_t *r, const wapc_field_t *fields, uint32_t n, mp_alloc_fn alloc) {
    return wapc_decode_struct_seen(r, fields, n, alloc, 0);
}

int wapc_decode_struct_seen(mp_reader_t *r, const wapc_field_t *fields, uint32_t n,
                            mp_alloc_fn alloc, uint64_t *seen_out) {
    uint32_t count;
    uint64_t seen = 0; /* up to 64 fields */
    if (n > 64) return mp_fail(r, "internal: too many fields");
    if (!mp_read_map(r, &count)) return 0;
    for (uint32_t i = 0; i < count; i++) {
        const char *k;
        uint32_t kl;
        if (!mp_read_str(r, &k, &kl)) return mp_fail(r, "msgpack: map key is not a string");
        uint32_t j;
        for (j = 0; j < n; j++)
            if (mp_key_is(k, kl, fields[j].key)) break;
        if (j == n) {
            if (!mp_skip(r)) return 0;
            continue;
        }
        if (seen & (1ull << j)) {
            r->key = fields[j].key;
            return mp_fail(r, "msgpack: duplicate key");
        }
        seen |= 1ull << j;
        if (!read_field(r, &fields[j], alloc)) {
            if (!r->key) r->key = fields[j].key;
            return 0;
        }
    }
    for (uint32_t j = 0; j < n; j++) {
        if (fields[j].required && !(seen & (1ull << j))) {
            r->key = fields[j].key;
            return mp_fail(r, "msgpack: missing required key");
        }
    }
    if (seen_out) *seen_out = seen;
    return 1;
}

static void write_str(mp_writer_t *w, wapc_str_t s) { mp_write_str(w, s.s, s.len); }

static void write_headers(mp_writer_t *w, const wapc_header_list_t *h) {
    mp_write_map(w, h->n);
    for (uint32_t i = 0; i < h->n; i++) {
        write_str(w, h->items[i].name);
        write_str(w, h->items[i].value);
    }
}

/* ---- httpserver --------------------------------------------------------------------- */

int wapc_http_request_decode(mp_reader_t *r, wapc_http_request_t *o, mp_alloc_fn alloc) {
    const wapc_field_t f[] = {
        {"method", WAPC_F_STR, &o->method, 1},
        {"path", WAPC_F_STR, &o->path, 1},
        {"queryString", WAPC_F_STR, &o->query_string, 1},
        {"header", WAPC_F_STR_MAP, &o->header, 1},
        {"body", WAPC_F_BIN, &o->body, 1},
    };
    return wapc_decode_struct(r, f, 5, alloc);
}

void wapc_http_request_encode(mp_writer_t *w, const wapc_http_request_t *q) {
    mp_write_map(w, 5);
    mp_write_cstr(w, "method");
    write_str(w, q->method);
    mp_write_cstr(w, "path");
    write_str(w, q->path);
    mp_write_cstr(w, "queryString");
    write_str(w, q->query_string);
    mp_write_cstr(w, "header");
    write_headers(w, &q->header);
    mp_write_cstr(w, "body");
    mp_write_bin(w, q->body.s, q->body.len);
}

int wapc_http_response_decode(mp_reader_t *r, wapc_http_response_t *o, mp_alloc_fn alloc) {
    const wapc_field_t f[] = {
        {"statusCode", WAPC_F_U32, &o->status_code, 1},
        {"status", WAPC_F_STR, &o->status, 1},
        {"header", WAPC_F_STR_MAP, &o->header, 1},
        {"body", WAPC_F_BIN, &o->body, 1},
    };
    return wapc_decode_struct(r, f, 4, alloc);
}

void wapc_http_response_encode(mp_writer_t *w, const wapc_http_response_t *p) {
    mp_write_map(w, 4);
    mp_write_cstr(w, "statusCode");
    mp_write_uint(w, p->status_code);
    mp_write_cstr(w, "status");
    write_str(w, p->status);
    mp_write_cstr(w, "header");
    write_headers(w, &p->header);
    mp_write_cstr(w, "body");
    mp_write_bin(w, p->body.s, p->body.len);
}

/* ---- keyvalue ------------------------------------------------------------------------ */

void wapc_kv_key_encode(mp_writer_t *w, const char *key) {
    mp_write_map(w, 1);
    mp_write_cstr(w, "key");
    mp_write_cstr(w, key);
}

void wapc_kv_add_encode(mp_writer_t *w, const char *key, int32_t value) {
    mp_write_map(w, 2);
    mp_write_cstr(w, "key");
    mp_write_cstr(w, key);
    mp_write_cstr(w, "value");
    mp_write_int(w, value);
}

void wapc_kv_set_encode(mp_writer_t *w, const char *key, const char *value, int32_t expires) {
    mp_write_map(w, 3);
    mp_write_cstr(w, "key");
    mp_write_cstr(w, key);
    mp_write_cstr(w, "value");
    mp_write_cstr(w, value);
    mp_write_cstr(w, "expires");
    mp_write_int(w, expires);
}

void wapc_kv_key_value_encode(mp_writer_t *w, const char *key, const char *value) {
    mp_write_map(w, 2);
    mp_write_cstr(w, "key");
    mp_write_cstr(w, key);
    mp_write_cstr(w, "value");
    mp_write_cstr(w, value);
}

void wapc_kv_range_encode(mp_writer_t *w, const char *key, int32_t start, int32_t stop) {
    mp_write_map(w, 3);
    mp_write_cstr(w, "key");
    mp_write_cstr(w, key);
    mp_write_cstr(w, "start");
    mp_write_int(w, start);
    mp_write_cstr(w, "stop");
    mp_write_int(w, stop);
}

void wapc_kv_keys_encode(mp_writer_t *w, const char *const *keys, uint32_t n) {
    mp_write_map(w, 1);
    mp_write_cstr(w, "keys");
    mp_write_array(w, n);
    for (uint32_t i = 0; i < n; i++) mp_write_str(w, keys[i], cstrlen(keys[i]));
}

int wapc_kv_add_decode(mp_reader_t *r, int32_t *value) {
    const wapc_field_t f[] = {{"value", WAPC_F_I32, value, 1}};
    return wapc_decode_struct(r, f, 1, 0);
}

int wapc_kv_get_decode(mp_reader_t *r, wapc_str_t *value, int *exists) {
    const wapc_field_t f[] = {{"value", WAPC_F_STR, value, 1}, {"exists", WAPC_F_BOOL, exists, 1}};
    return wapc_decode_struct(r, f, 2, 0);
}

int wapc_kv_str_decode(mp_reader_t *r, const char *key, wapc_str_t *out) {
    const wapc_field_t f[] = {{key, WAPC_F_STR, out, 1}};
    return wapc_decode_struct(r, f, 1, 0);
}

int wapc_kv_count_decode(mp_reader_t *r, int32_t *count) {
    int32_t a = 0, b = 0;
    uint64_t seen = 0;
    const wapc_field_t f[] = {{"newCount", WAPC_F_I32, &a, 0}, {"new_count", WAPC_F_I32, &b, 0}};
    if (!wapc_decode_struct_seen(r, f, 2, 0, &seen)) return 0;
    if (!seen) { /* either spelling will do, but one must be there */
        r->key = "newCount";
        return mp_fail(r, "msgpack: missing required key");
    }
    *count = (seen & 1) ? a : b;
    return 1;
}

int wapc_kv_values_decode(mp_reader_t *r, wapc_str_list_t *values, mp_alloc_fn alloc) {
    const wapc_field_t f[] = {{"values", WAPC_F_STR_ARRAY, values, 1}};
    return wapc_decode_struct(r, f, 1, alloc);
}

/* ---- messaging ------------------------------------------------------------------------ */

void wapc_broker_message_encode(mp_writer_t *w, const char *subject, const char *reply_to,
                                const void *body, uint32_t len) {
    mp_write_map(w, 3);
    mp_write_cstr(w, "subject");
    mp_write_cstr(w, subject);
    mp_write_cstr(w, "replyTo");
    mp_write_cstr(w, reply_to ? reply_to : "");
    mp_write_cstr(w, "body");
    mp_write_bin(w, body, len);
}

int wapc_broker_message_decode(mp_reader_t *r, wapc_broker_message_t *o) {
    o->reply_to.s = 0;
    o->reply_to.len = 0;
    const wapc_field_t f[] = {
        {"subject", WAPC_F_STR, &o->subject, 1},
        {"replyTo", WAPC_F_STR_OR_NIL, &o->reply_to, 0},
        {"body", WAPC_F_BIN, &o->body, 1},
    };
    return wapc_decode_struct(r, f, 3, 0);
}

void wapc_messaging_request_encode(mp_writer_t *w, const char *subject, const void *body,
                                   uint32_t len, uint32_t timeout_ms) {
    mp_write_map(w, 3);
    mp_write_cstr(w, "subject");
    mp_write_cstr(w, subject);
    mp_write_cstr(w, "body");
    mp_write_bin(w, body, len);
    mp_write_cstr(w, "timeoutMs");
    mp_write_uint(w, timeout_ms);
}

int wapc_messaging_request_decode(mp_reader_t *r, wapc_messaging_request_t *o) {
    o->timeout_ms = 0;
    const wapc_field_t f[] = {
        {"subject", WAPC_F_STR, &o->subject, 1},
        {"body", WAPC_F_BIN, &o->body, 1},
        {"timeoutMs", WAPC_F_U32, &o->timeout_ms, 0},
    };
    return wapc_decode_struct(r, f, 3, 0);
}

/* ---- logging, numbergen, health ---------------------------------------------------------- */

void wapc_logging_encode(mp_writer_t *w, const char *target, const char *level, const char *text) {
    mp_write_map(w, 3);
    mp_write_cstr(w, "target");
    mp_write_cstr(w, target);
    mp_write_cstr(w, "level");
    mp_write_cstr(w, level);
    mp_write_cstr(w, "text");
    mp_write_cstr(w, text);
}

void wapc_numbergen_request_encode(mp_writer_t *w, const wapc_numbergen_request_t *q) {
    mp_write_map(w, 5);
    mp_write_cstr(w, "guid");
    mp_write_bool(w, q->guid);
    mp_write_cstr(w, "sequence");
    mp_write_bool(w, q->sequence);
    mp_write_cstr(w, "random");
    mp_write_bool(w, q->random);
    mp_write_cstr(w, "min");
    mp_write_uint(w, q->min);
    mp_write_cstr(w, "max");
    mp_write_uint(w, q->max);
}

int wapc_numbergen_response_decode(mp_reader_t *r, wapc_numbergen_response_t *o) {
    const wapc_field_t f[] = {
        {"guid", WAPC_F_STR_OR_NIL, &o->guid, 1},
        {"sequenceNumber", WAPC_F_U64, &o->sequence_number, 1},
        {"random_number", WAPC_F_U32, &o->random_number, 1},
    };
    return wapc_decode_struct(r, f, 3, 0);
}

int wapc_health_request_decode(mp_reader_t *r, int *placeholder) {
    const wapc_field_t f[] = {{"placeholder", WAPC_F_BOOL, placeholder, 1}};
    return wapc_decode_struct(r, f, 1, 0);
}

void wapc_health_response_encode(mp_writer_t *w, int healthy, const char *message) {
    mp_write_map(w, 2);
    mp_write_cstr(w, "healthy");
    mp_write_bool(w, healthy);
    mp_write_cstr(w, "message");
    mp_write_cstr(w, message);
}

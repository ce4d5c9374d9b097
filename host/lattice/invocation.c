/*
 * invocation.c - the lattice wire format: the msgpack Invocation and
 * InvocationResponse maps of docs/lattice.md, encoded with msgpack-c and
 * decoded strictly (the bytes come from the network: every field is checked
 * for type, length and UTF-8 before it is copied out).
 */
#include <string.h>

#include "corral_lattice.h"
#include "corral_mp.h"

int corral_lattice_entity_is_provider(const corral_lattice_entity_t *e) {
    return e && e->contract_id && e->contract_id[0];
}

/* ---- encode --------------------------------------------------------------- */

static int pack_kstr(msgpack_packer *pk, const char *k, const char *v) {
    return corral_mp_pack_cstr(pk, k) || corral_mp_pack_cstr(pk, v ? v : "");
}

static int pack_entity(msgpack_packer *pk, const corral_lattice_entity_t *e) {
    int prov = corral_lattice_entity_is_provider(e);
    if (msgpack_pack_map(pk, prov ? 3 : 1)) return -1;
    if (pack_kstr(pk, "public_key", e->public_key)) return -1;
    if (prov) {
        if (pack_kstr(pk, "contract_id", e->contract_id)) return -1;
        if (pack_kstr(pk, "link_name",
                      e->link_name && e->link_name[0] ? e->link_name : "default"))
            return -1;
    }
    return 0;
}

corral_status_t corral_lattice_invocation_encode(const corral_lattice_invocation_t *inv,
                                                 corral_buf_t *out, corral_err_t *err) {
    if (!inv || !inv->id || !inv->operation || !inv->origin.public_key ||
        !inv->target.public_key || (inv->msg_len && !inv->msg))
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "invocation: id, operation, origin and target keys are required");
    msgpack_packer pk;
    corral_mp_packer_init(&pk, out);
    size_t n = inv->traceparent ? 9 : 8;
    if (msgpack_pack_map(&pk, n) || pack_kstr(&pk, "id", inv->id) ||
        corral_mp_pack_cstr(&pk, "origin") || pack_entity(&pk, &inv->origin) ||
        corral_mp_pack_cstr(&pk, "target") || pack_entity(&pk, &inv->target) ||
        pack_kstr(&pk, "operation", inv->operation) || corral_mp_pack_cstr(&pk, "msg") ||
        msgpack_pack_bin(&pk, inv->msg_len) ||
        (inv->msg_len && msgpack_pack_bin_body(&pk, inv->msg, inv->msg_len)) ||
        pack_kstr(&pk, "host_id", inv->host_id) ||
        pack_kstr(&pk, "encoded_claims", inv->encoded_claims) ||
        corral_mp_pack_cstr(&pk, "content_length") ||
        msgpack_pack_uint64(&pk, inv->content_length) ||
        (inv->traceparent && pack_kstr(&pk, "traceparent", inv->traceparent)))
        return corral_err_set(err, CORRAL_ERR_NOMEM, "invocation: out of memory encoding");
    return CORRAL_OK;
}

corral_status_t corral_lattice_response_encode(const corral_lattice_response_t *r,
                                               corral_buf_t *out, corral_err_t *err) {
    if (!r || !r->invocation_id || (r->msg_len && !r->msg))
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "response: invocation_id is required");
    msgpack_packer pk;
    corral_mp_packer_init(&pk, out);
    if (msgpack_pack_map(&pk, r->error ? 4 : 3) ||
        pack_kstr(&pk, "invocation_id", r->invocation_id) || corral_mp_pack_cstr(&pk, "msg") ||
        msgpack_pack_bin(&pk, r->msg_len) ||
        (r->msg_len && msgpack_pack_bin_body(&pk, r->msg, r->msg_len)) ||
        (r->error && pack_kstr(&pk, "error", r->error)) ||
        corral_mp_pack_cstr(&pk, "content_length") ||
        msgpack_pack_uint64(&pk, r->content_length))
        return corral_err_set(err, CORRAL_ERR_NOMEM, "response: out of memory encoding");
    return CORRAL_OK;
}

/* ---- decode --------------------------------------------------------------- */

static const msgpack_object *map_find(const msgpack_object_map *m, const char *key) {
    size_t kl = strlen(key);
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl &&
            memcmp(k->via.str.ptr, key, kl) == 0)
            return &m->ptr[i].val;
    }
    return NULL;
}

/* Copies a str object (required unless optional; nil counts as absent). */
static corral_status_t take_str(const char *what, const msgpack_object_map *m, const char *key,
                                size_t max, int optional, char **out, corral_err_t *err) {
    const msgpack_object *o = map_find(m, key);
    if (!o || o->type == MSGPACK_OBJECT_NIL) {
        if (optional) return CORRAL_OK;
        return corral_err_set(err, CORRAL_ERR_PARSE, "%s: field '%s' is missing", what, key);
    }
    if (o->type != MSGPACK_OBJECT_STR)
        return corral_err_set(err, CORRAL_ERR_PARSE, "%s: field '%s' is not a string", what, key);
    if (o->via.str.size > max)
        return corral_err_set(err, CORRAL_ERR_PARSE, "%s: field '%s' is longer than %zu bytes",
                              what, key, max);
    if (!corral_utf8_valid((const uint8_t *)o->via.str.ptr, o->via.str.size))
        return corral_err_set(err, CORRAL_ERR_PARSE, "%s: field '%s' is not valid UTF-8", what,
                              key);
    if (memchr(o->via.str.ptr, 0, o->via.str.size))
        return corral_err_set(err, CORRAL_ERR_PARSE, "%s: field '%s' contains a NUL byte", what,
                              key);
    *out = corral_strndup(o->via.str.ptr, o->via.str.size);
    if (!*out) return corral_err_set(err, CORRAL_ERR_NOMEM, "%s: out of memory", what);
    return CORRAL_OK;
}

static corral_status_t take_bin(const char *what, const msgpack_object_map *m, uint8_t **out,
                                size_t *len, corral_err_t *err) {
    const msgpack_object *o = map_find(m, "msg");
    if (!o) return corral_err_set(err, CORRAL_ERR_PARSE, "%s: field 'msg' is missing", what);
    const char *p;
    size_t n;
    if (o->type == MSGPACK_OBJECT_BIN) {
        p = o->via.bin.ptr;
        n = o->via.bin.size;
    } else if (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 0) {
        p = NULL; /* serde without serde_bytes writes an empty Vec<u8> so */
        n = 0;
    } else {
        return corral_err_set(err, CORRAL_ERR_PARSE, "%s: field 'msg' is not binary", what);
    }
    *len = n;
    if (n == 0) return CORRAL_OK;
    *out = corral_malloc(n);
    if (!*out) return corral_err_set(err, CORRAL_ERR_NOMEM, "%s: out of memory", what);
    memcpy(*out, p, n);
    return CORRAL_OK;
}

static corral_status_t take_u64(const char *what, const msgpack_object_map *m, const char *key,
                                uint64_t *out, corral_err_t *err) {
    const msgpack_object *o = map_find(m, key);
    if (!o) return corral_err_set(err, CORRAL_ERR_PARSE, "%s: field '%s' is missing", what, key);
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return corral_err_set(err, CORRAL_ERR_PARSE,
                              "%s: field '%s' is not a non-negative integer", what, key);
    *out = o->via.u64;
    return CORRAL_OK;
}

static corral_status_t take_entity(const msgpack_object_map *m, const char *key,
                                   corral_lattice_entity_t *e, corral_err_t *err) {
    const msgpack_object *o = map_find(m, key);
    if (!o)
        return corral_err_set(err, CORRAL_ERR_PARSE, "invocation: field '%s' is missing", key);
    if (o->type != MSGPACK_OBJECT_MAP)
        return corral_err_set(err, CORRAL_ERR_PARSE, "invocation: field '%s' is not a map", key);
    const char *what = strcmp(key, "origin") == 0 ? "invocation origin" : "invocation target";
    corral_status_t st;
    if ((st = take_str(what, &o->via.map, "public_key", CORRAL_LATTICE_NAME_MAX, 0,
                       &e->public_key, err)) ||
        (st = take_str(what, &o->via.map, "contract_id", CORRAL_LATTICE_NAME_MAX, 1,
                       &e->contract_id, err)) ||
        (st = take_str(what, &o->via.map, "link_name", CORRAL_LATTICE_NAME_MAX, 1, &e->link_name,
                       err)))
        return st;
    if (!e->public_key[0])
        return corral_err_set(err, CORRAL_ERR_PARSE, "%s: public_key is empty", what);
    return CORRAL_OK;
}

static void entity_deinit(corral_lattice_entity_t *e) {
    corral_free(e->public_key);
    corral_free(e->contract_id);
    corral_free(e->link_name);
    memset(e, 0, sizeof *e);
}

void corral_lattice_invocation_deinit(corral_lattice_invocation_t *inv) {
    if (!inv) return;
    corral_free(inv->id);
    entity_deinit(&inv->origin);
    entity_deinit(&inv->target);
    corral_free(inv->operation);
    corral_free(inv->msg);
    corral_free(inv->host_id);
    corral_free(inv->encoded_claims);
    corral_free(inv->traceparent);
    memset(inv, 0, sizeof *inv);
}

void corral_lattice_response_deinit(corral_lattice_response_t *r) {
    if (!r) return;
    corral_free(r->invocation_id);
    corral_free(r->msg);
    corral_free(r->error);
    memset(r, 0, sizeof *r);
}

corral_status_t corral_lattice_invocation_decode(const uint8_t *data, size_t len,
                                                 corral_lattice_invocation_t *out,
                                                 corral_err_t *err) {
    memset(out, 0, sizeof *out);
    corral_mp_doc_t doc;
    corral_status_t st = corral_mp_doc_parse(&doc, "invocation", data, len, err);
    if (st) return st;
    const msgpack_object_map *m = doc.map;
    const char *w = "invocation";
    if ((st = take_str(w, m, "id", CORRAL_LATTICE_ID_MAX, 0, &out->id, err)) ||
        (st = take_entity(m, "origin", &out->origin, err)) ||
        (st = take_entity(m, "target", &out->target, err)) ||
        (st = take_str(w, m, "operation", CORRAL_LATTICE_NAME_MAX, 0, &out->operation, err)) ||
        (st = take_bin(w, m, &out->msg, &out->msg_len, err)) ||
        (st = take_str(w, m, "host_id", CORRAL_LATTICE_NAME_MAX, 0, &out->host_id, err)) ||
        (st = take_str(w, m, "encoded_claims", CORRAL_LATTICE_TOKEN_MAX, 0, &out->encoded_claims,
                       err)) ||
        (st = take_u64(w, m, "content_length", &out->content_length, err)) ||
        (st = take_str(w, m, "traceparent", CORRAL_LATTICE_TRACE_MAX, 1, &out->traceparent, err)))
        goto fail;
    if (!out->id[0] || !out->operation[0]) {
        st = corral_err_set(err, CORRAL_ERR_PARSE, "invocation: id and operation must not be empty");
        goto fail;
    }
    if (out->msg_len && out->content_length != out->msg_len) {
        st = corral_err_set(err, CORRAL_ERR_PARSE,
                            "invocation: content_length %llu does not match msg of %zu bytes",
                            (unsigned long long)out->content_length, out->msg_len);
        goto fail;
    }
    corral_mp_doc_deinit(&doc);
    return CORRAL_OK;
fail:
    corral_mp_doc_deinit(&doc);
    corral_lattice_invocation_deinit(out);
    return st;
}

corral_status_t corral_lattice_response_decode(const uint8_t *data, size_t len,
                                               corral_lattice_response_t *out, corral_err_t *err) {
    memset(out, 0, sizeof *out);
    corral_mp_doc_t doc;
    corral_status_t st = corral_mp_doc_parse(&doc, "response", data, len, err);
    if (st) return st;
    const msgpack_object_map *m = doc.map;
    const char *w = "response";
    if ((st = take_str(w, m, "invocation_id", CORRAL_LATTICE_ID_MAX, 0, &out->invocation_id,
                       err)) ||
        (st = take_bin(w, m, &out->msg, &out->msg_len, err)) ||
        (st = take_str(w, m, "error", CORRAL_LATTICE_ERROR_MAX, 1, &out->error, err)) ||
        (st = take_u64(w, m, "content_length", &out->content_length, err)))
        goto fail;
    if (out->msg_len && out->content_length != out->msg_len) {
        st = corral_err_set(err, CORRAL_ERR_PARSE,
                            "response: content_length %llu does not match msg of %zu bytes",
                            (unsigned long long)out->content_length, out->msg_len);
        goto fail;
    }
    corral_mp_doc_deinit(&doc);
    return CORRAL_OK;
fail:
    corral_mp_doc_deinit(&doc);
    corral_lattice_response_deinit(out);
    return st;
}

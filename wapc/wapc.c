/*
 * wapc.c - the waPC host protocol: checks an actor module, builds its import
 * set (the waPC functions under `wapc` and `wasmbus`, WASI from wasi.c),
 * instantiates it, runs its init functions and makes host -> guest calls,
 * mapping each outcome as docs/wapc.md says. Pools live in pool.c.
 *
 * Every guest (ptr, len) goes through corral_vm_memory_slice and traps the
 * call when out of range: the host never touches memory outside the guest's.
 */
#include <inttypes.h>
#include <string.h>

#include <sodium.h>

#include "wapc_int.h"

/* ---- small helpers ---------------------------------------------------------------- */

static corral_wapc_instance_t *inst_of(corral_vm_instance_t *caller) {
    return (corral_wapc_instance_t *)corral_vm_instance_user(caller);
}

/* Bounds-checks a guest range for import `fn`; NULL after trapping. */
static uint8_t *guest_slice(corral_vm_instance_t *caller, const char *fn, const char *what,
                            uint32_t ptr, uint32_t len, corral_status_t *st) {
    uint8_t *p = corral_vm_memory_slice(caller, ptr, len);
    if (!p)
        *st = corral_vm_trap(caller, CORRAL_ERR_TRAP_HOST,
                             "%s: %s (ptr 0x%" PRIx32 ", len %" PRIu32
                             ") is outside guest memory of %" PRIu64 " bytes",
                             fn, what, ptr, len, corral_vm_memory_size(caller));
    return p;
}

int wapc_sig_of(const corral_vm_functype_t *t, char *buf, size_t cap) {
    size_t n = 0;
    for (int part = 0; part < 2; part++) {
        uint32_t cnt = part ? t->nresults : t->nparams;
        const uint8_t *ty = part ? t->results : t->params;
        for (uint32_t i = 0; i < cnt; i++) {
            char c;
            switch (ty[i]) {
            case CORRAL_VM_I32: c = 'i'; break;
            case CORRAL_VM_I64: c = 'I'; break;
            case CORRAL_VM_F32: c = 'f'; break;
            case CORRAL_VM_F64: c = 'F'; break;
            case CORRAL_VM_EXTERNREF: c = 'e'; break;
            case CORRAL_VM_FUNCREF: c = 'r'; break;
            default: return 0;
            }
            if (n + 2 >= cap) return 0;
            buf[n++] = c;
        }
        if (part == 0) {
            if (n + 2 >= cap) return 0;
            buf[n++] = ':';
        }
    }
    buf[n] = 0;
    return 1;
}

corral_status_t wapc_append_utf8_lossy(corral_buf_t *b, const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        /* Copy the longest valid run, then one replacement per bad byte. */
        size_t j = i;
        while (j < n) {
            uint8_t c = s[j];
            size_t k = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3
                                 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
            if (k == 0 || j + k > n || !corral_utf8_valid(s + j, k)) break;
            j += k;
        }
        if (j > i && corral_buf_append(b, s + i, j - i) != CORRAL_OK) return CORRAL_ERR_NOMEM;
        if (j < n) {
            if (corral_buf_append(b, "\xef\xbf\xbd", 3) != CORRAL_OK) return CORRAL_ERR_NOMEM;
            j++;
        }
        i = j;
    }
    return CORRAL_OK;
}

/* ---- guest log lines ---------------------------------------------------------------- */

static void log_emit(corral_wapc_instance_t *inst, corral_wapc_log_source_t src, const uint8_t *p,
                     size_t n) {
    if (n && p[n - 1] == '\n') n--;
    if (n && p[n - 1] == '\r') n--;
    corral_buf_t *b = &inst->scratch;
    b->len = 0;
    if (wapc_append_utf8_lossy(b, p, n) != CORRAL_OK || corral_buf_terminate(b) != CORRAL_OK)
        return; /* out of memory: the line is lost, the call goes on */
    if (inst->cfg.log) {
        inst->cfg.log(inst->cfg.user, src, (const char *)b->data, b->len);
    } else {
        static const char *const names[] = {"console", "stdout", "stderr"};
        corral_log(CORRAL_LOG_INFO, "actor", "%s: %s", names[src], (const char *)b->data);
    }
}

void wapc_log_bytes(corral_wapc_instance_t *inst, corral_wapc_log_source_t src, const uint8_t *p,
                    size_t n) {
    if (src == CORRAL_WAPC_LOG_CONSOLE) {
        log_emit(inst, src, p, n > WAPC_LOG_LINE_MAX ? WAPC_LOG_LINE_MAX : n);
        return;
    }
    corral_buf_t *line = &inst->line[src == CORRAL_WAPC_LOG_STDERR];
    while (n) {
        const uint8_t *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) + 1 : n;
        size_t room = WAPC_LOG_LINE_MAX - line->len;
        int complete = nl != NULL;
        if (take > room) {
            take = room;
            complete = 1;
        }
        if (corral_buf_append(line, p, take) != CORRAL_OK) complete = 1;
        if (complete) {
            log_emit(inst, src, line->data, line->len);
            line->len = 0;
        }
        p += take;
        n -= take;
    }
}

void wapc_log_flush(corral_wapc_instance_t *inst) {
    for (int i = 0; i < 2; i++) {
        if (inst->line[i].len) {
            log_emit(inst, i ? CORRAL_WAPC_LOG_STDERR : CORRAL_WAPC_LOG_STDOUT, inst->line[i].data,
                     inst->line[i].len);
            inst->line[i].len = 0;
        }
    }
}

/* ---- the waPC imports ----------------------------------------------------------------- */

static corral_status_t h_guest_request(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    corral_wapc_instance_t *inst = inst_of(caller);
    corral_status_t st = CORRAL_OK;
    if (!inst->in_call) return CORRAL_OK; /* nothing pending: nothing written */
    uint8_t *op = guest_slice(caller, "__guest_request", "operation buffer", (uint32_t)sp[0],
                              (uint32_t)inst->req_op_len, &st);
    if (!op) return st;
    uint8_t *pl = guest_slice(caller, "__guest_request", "payload buffer", (uint32_t)sp[1],
                              (uint32_t)inst->req_payload_len, &st);
    if (!pl) return st;
    if (inst->req_payload_len) memmove(pl, inst->req_payload, inst->req_payload_len);
    if (inst->req_op_len) memmove(op, inst->req_op, inst->req_op_len);
    return CORRAL_OK;
}

static corral_status_t h_guest_response(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    corral_wapc_instance_t *inst = inst_of(caller);
    corral_status_t st = CORRAL_OK;
    uint32_t len = (uint32_t)sp[1];
    uint8_t *p = guest_slice(caller, "__guest_response", "response", (uint32_t)sp[0], len, &st);
    if (!p) return st;
    if (!inst->in_call || !inst->resp) return CORRAL_OK; /* during init: no call to answer */
    inst->resp->len = inst->resp_base;
    inst->has_resp = 0;
    if (len > inst->cfg.max_response_bytes) {
        inst->resp_too_large = len;
        return CORRAL_OK;
    }
    inst->resp_too_large = 0;
    if (corral_buf_reserve(inst->resp, len ? len : 1) != CORRAL_OK)
        return corral_vm_trap(caller, CORRAL_ERR_TRAP_HOST,
                              "__guest_response: out of memory storing %" PRIu32 " bytes", len);
    memcpy(inst->resp->data + inst->resp->len, p, len);
    inst->resp->len += len;
    inst->has_resp = 1;
    return CORRAL_OK;
}

static corral_status_t h_guest_error(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    corral_wapc_instance_t *inst = inst_of(caller);
    corral_status_t st = CORRAL_OK;
    uint32_t len = (uint32_t)sp[1];
    uint8_t *p = guest_slice(caller, "__guest_error", "error text", (uint32_t)sp[0], len, &st);
    if (!p) return st;
    /* Only the first CORRAL_ERR_MSG_MAX bytes can ever be shown. */
    size_t keep = len < CORRAL_ERR_MSG_MAX ? len : CORRAL_ERR_MSG_MAX;
    inst->guest_err.len = 0;
    if (corral_buf_append(&inst->guest_err, p, keep) != CORRAL_OK)
        return corral_vm_trap(caller, CORRAL_ERR_TRAP_HOST, "__guest_error: out of memory");
    inst->has_err = 1;
    return CORRAL_OK;
}

static corral_status_t set_host_error(corral_wapc_instance_t *inst, const char *msg) {
    inst->host_resp.len = 0;
    inst->host_err.len = 0;
    return corral_buf_append_str(&inst->host_err, msg);
}

static corral_status_t h_host_call(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    static const char *const what[3] = {"binding", "namespace", "operation"};
    corral_wapc_instance_t *inst = inst_of(caller);
    corral_status_t st = CORRAL_OK;
    inst->host_resp.len = 0;
    inst->host_err.len = 0;

    const uint8_t *s[3];
    uint32_t n[3];
    for (int i = 0; i < 3; i++) {
        n[i] = (uint32_t)sp[2 * i + 1];
        s[i] = guest_slice(caller, "__host_call", what[i], (uint32_t)sp[2 * i], n[i], &st);
        if (!s[i]) return st;
        if (!corral_utf8_valid(s[i], n[i]))
            return corral_vm_trap(caller, CORRAL_ERR_TRAP_HOST,
                                  "__host_call: %s is not valid UTF-8", what[i]);
    }
    uint32_t plen = (uint32_t)sp[7];
    const uint8_t *payload = guest_slice(caller, "__host_call", "payload", (uint32_t)sp[6], plen, &st);
    if (!payload) return st;

    /* NUL-terminated copies, all in one reused buffer. */
    corral_buf_t *b = &inst->scratch;
    b->len = 0;
    size_t off[3];
    for (int i = 0; i < 3; i++) {
        off[i] = b->len;
        if (i == 0 && n[0] == 0) {
            if (corral_buf_append(b, "default", 8) != CORRAL_OK) goto nomem;
            n[0] = 7;
        } else if (corral_buf_append(b, s[i], n[i]) != CORRAL_OK ||
                   corral_buf_append(b, "", 1) != CORRAL_OK) {
            goto nomem;
        }
    }
    corral_wapc_host_call_t call = {
        .binding = (const char *)b->data + off[0], .binding_len = n[0],
        .ns = (const char *)b->data + off[1], .ns_len = n[1],
        .op = (const char *)b->data + off[2], .op_len = n[2],
        .payload = payload, .payload_len = plen,
    };

    corral_err_t e;
    corral_err_clear(&e);
    corral_status_t rc;
    if (inst->cfg.host_call) {
        rc = inst->cfg.host_call(inst->cfg.user, &call, &inst->host_resp, &e);
    } else {
        rc = corral_err_set(&e, CORRAL_ERR_NO_LINK, "no host call handler");
    }
    if (rc == CORRAL_OK && inst->host_resp.len > inst->cfg.max_response_bytes) {
        char msg[128];
        snprintf(msg, sizeof msg, "host response of %zu bytes exceeds the limit of %" PRIu64 " bytes",
                 inst->host_resp.len, inst->cfg.max_response_bytes);
        if (set_host_error(inst, msg) != CORRAL_OK) goto nomem;
        rc = CORRAL_ERR_TOO_LARGE;
    } else if (rc != CORRAL_OK) {
        if (e.status == CORRAL_OK) e.status = rc;
        if (set_host_error(inst, e.msg[0] ? e.msg : corral_status_str(rc)) != CORRAL_OK)
            goto nomem;
    }
    sp[0] = rc == CORRAL_OK ? 1 : 0;
    return CORRAL_OK;
nomem:
    return corral_vm_trap(caller, CORRAL_ERR_TRAP_HOST, "__host_call: out of memory");
}

static corral_status_t h_host_response_len(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    sp[0] = (uint32_t)inst_of(caller)->host_resp.len;
    return CORRAL_OK;
}

static corral_status_t h_host_error_len(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    sp[0] = (uint32_t)inst_of(caller)->host_err.len;
    return CORRAL_OK;
}

static corral_status_t copy_out(corral_vm_instance_t *caller, const char *fn, uint32_t ptr,
                                const corral_buf_t *b) {
    corral_status_t st = CORRAL_OK;
    uint8_t *p = guest_slice(caller, fn, "buffer", ptr, (uint32_t)b->len, &st);
    if (!p) return st;
    if (b->len) memcpy(p, b->data, b->len);
    return CORRAL_OK;
}

static corral_status_t h_host_response(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    return copy_out(caller, "__host_response", (uint32_t)sp[0], &inst_of(caller)->host_resp);
}

static corral_status_t h_host_error(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    return copy_out(caller, "__host_error", (uint32_t)sp[0], &inst_of(caller)->host_err);
}

static corral_status_t h_console_log(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    corral_status_t st = CORRAL_OK;
    uint32_t len = (uint32_t)sp[1];
    uint8_t *p = guest_slice(caller, "__console_log", "text", (uint32_t)sp[0], len, &st);
    if (!p) return st;
    wapc_log_bytes(inst_of(caller), CORRAL_WAPC_LOG_CONSOLE, p, len);
    return CORRAL_OK;
}

typedef struct {
    const char *name;
    const char *sig;
    corral_vm_host_fn_t fn;
} wapc_fn_t;

static const wapc_fn_t wapc_fns[] = {
    {"__guest_request", "ii:", h_guest_request},
    {"__guest_response", "ii:", h_guest_response},
    {"__guest_error", "ii:", h_guest_error},
    {"__host_call", "iiiiiiii:i", h_host_call},
    {"__host_response_len", ":i", h_host_response_len},
    {"__host_response", "i:", h_host_response},
    {"__host_error_len", ":i", h_host_error_len},
    {"__host_error", "i:", h_host_error},
    {"__console_log", "ii:", h_console_log},
};

#define NWAPC_FNS (sizeof wapc_fns / sizeof wapc_fns[0])

static int name_is(const char *s, size_t n, const char *lit) {
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static int is_wapc_module(const char *s, size_t n) {
    return name_is(s, n, "wapc") || name_is(s, n, "wasmbus");
}

/* ---- modules ---------------------------------------------------------------------- */

/* Checks that every import is one the host provides, with the right type. */
static corral_status_t check_imports(const corral_vm_module_t *vm, corral_err_t *err) {
    uint32_t n = corral_vm_module_import_count(vm);
    for (uint32_t i = 0; i < n; i++) {
        corral_vm_import_desc_t d;
        if (corral_vm_module_import(vm, i, &d) != CORRAL_OK)
            return corral_err_set(err, CORRAL_ERR_INTERNAL, "cannot read import %" PRIu32, i);
        int mod_len = d.module_len > 200 ? 200 : (int)d.module_len;
        int name_len = d.name_len > 200 ? 200 : (int)d.name_len;
        if (is_wapc_module(d.module, d.module_len)) {
            size_t k;
            for (k = 0; k < NWAPC_FNS; k++)
                if (name_is(d.name, d.name_len, wapc_fns[k].name)) break;
            if (k == NWAPC_FNS) goto unknown;
            char sig[160];
            if (d.kind != CORRAL_VM_EXTERN_FUNC || !wapc_sig_of(&d.type, sig, sizeof sig) ||
                strcmp(sig, wapc_fns[k].sig) != 0)
                return corral_err_set(err, CORRAL_ERR_UNLINKABLE,
                                      "incompatible import type for %.*s.%.*s (expected a function "
                                      "of type %s)",
                                      mod_len, d.module, name_len, d.name, wapc_fns[k].sig);
            continue;
        }
        if (wapc_is_wasi_module(d.module, d.module_len)) {
            if (d.kind != CORRAL_VM_EXTERN_FUNC)
                return corral_err_set(err, CORRAL_ERR_UNLINKABLE,
                                      "%.*s.%.*s is imported as a non-function; WASI provides "
                                      "only functions",
                                      mod_len, d.module, name_len, d.name);
            continue; /* types are checked by wapc_wasi_register */
        }
    unknown:
        return corral_err_set(err, CORRAL_ERR_UNLINKABLE,
                              "unknown import %.*s.%.*s: the host does not provide it", mod_len,
                              d.module, name_len, d.name);
    }
    return CORRAL_OK;
}

static corral_status_t check_exports(const corral_vm_module_t *vm, corral_err_t *err) {
    int have_call = 0, have_mem = 0;
    uint32_t n = corral_vm_module_export_count(vm);
    for (uint32_t i = 0; i < n; i++) {
        corral_vm_export_desc_t d;
        if (corral_vm_module_export(vm, i, &d) != CORRAL_OK)
            return corral_err_set(err, CORRAL_ERR_INTERNAL, "cannot read export %" PRIu32, i);
        if (name_is(d.name, d.name_len, "__guest_call")) {
            char sig[160];
            if (d.kind != CORRAL_VM_EXTERN_FUNC || !wapc_sig_of(&d.type, sig, sizeof sig) ||
                strcmp(sig, "ii:i") != 0)
                return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                      "export __guest_call must be a function of type "
                                      "(i32, i32) -> i32");
            have_call = 1;
        } else if (name_is(d.name, d.name_len, "memory")) {
            if (d.kind != CORRAL_VM_EXTERN_MEMORY)
                return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                                      "export memory must be a memory");
            have_mem = 1;
        }
    }
    if (!have_call)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "not a waPC module: it does not export __guest_call");
    if (!have_mem)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "not a waPC module: it does not export its memory as \"memory\"");
    return CORRAL_OK;
}

corral_status_t corral_wapc_module_new(const uint8_t *bytes, size_t len,
                                       corral_wapc_module_t **out, corral_err_t *err) {
    corral_vm_module_t *vm = NULL;
    *out = NULL;
    corral_status_t st = corral_vm_module_new(bytes, len, &vm, err);
    if (st != CORRAL_OK) return st;
    return corral_wapc_module_new_vm(vm, out, err);
}

corral_status_t corral_wapc_module_new_vm(corral_vm_module_t *vm, corral_wapc_module_t **out,
                                          corral_err_t *err) {
    corral_status_t st;
    corral_wapc_module_t *m = NULL;
    *out = NULL;
    if (sodium_init() < 0) {
        corral_vm_module_free(vm);
        return corral_err_set(err, CORRAL_ERR_INTERNAL, "libsodium init failed");
    }
    m = corral_calloc(1, sizeof *m);
    if (!m) {
        corral_vm_module_free(vm);
        return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    }
    atomic_init(&m->refs, 1);
    m->vm = vm;
    if ((st = check_exports(m->vm, err)) != CORRAL_OK) goto fail;
    if ((st = check_imports(m->vm, err)) != CORRAL_OK) goto fail;
    m->imports = corral_vm_imports_new();
    if (!m->imports) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
        goto fail;
    }
    for (int mod = 0; mod < 2; mod++) {
        for (size_t k = 0; k < NWAPC_FNS; k++) {
            st = corral_vm_imports_add_func(m->imports, mod ? "wasmbus" : "wapc", wapc_fns[k].name,
                                            wapc_fns[k].sig, wapc_fns[k].fn, NULL, err);
            if (st != CORRAL_OK) goto fail;
        }
    }
    if ((st = wapc_wasi_register(m->imports, m->vm, err)) != CORRAL_OK) goto fail;
    *out = m;
    return CORRAL_OK;
fail:
    corral_vm_imports_free(m->imports);
    corral_vm_module_free(m->vm);
    corral_free(m);
    return st;
}

corral_wapc_module_t *corral_wapc_module_retain(corral_wapc_module_t *m) {
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

void corral_wapc_module_free(corral_wapc_module_t *m) {
    if (!m) return;
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1) return;
    corral_vm_imports_free(m->imports);
    corral_vm_module_free(m->vm);
    corral_free(m);
}

const corral_vm_module_t *corral_wapc_module_vm(const corral_wapc_module_t *m) {
    return m->vm;
}

/* ---- instances ------------------------------------------------------------------- */

static void config_defaults(corral_wapc_config_t *c, const corral_wapc_config_t *in) {
    if (in) *c = *in;
    else memset(c, 0, sizeof *c);
    if (!c->max_instances) c->max_instances = 4;
    if (!c->max_response_bytes) c->max_response_bytes = CORRAL_WAPC_DEFAULT_MAX_RESPONSE;
    if (c->max_response_bytes > UINT32_MAX) c->max_response_bytes = UINT32_MAX;
    if (!c->acquire_timeout_ns)
        c->acquire_timeout_ns =
            c->limits.deadline_ns ? c->limits.deadline_ns : CORRAL_WAPC_DEFAULT_ACQUIRE_NS;
}

static corral_status_t run_init(corral_wapc_instance_t *inst, corral_err_t *err) {
    static const char *const names[] = {"_start", "_initialize", "wapc_init"};
    for (int i = 0; i < 3; i++) {
        corral_vm_extern_t fn;
        if (corral_vm_instance_export(inst->vm, names[i], &fn) != CORRAL_OK) continue;
        if (fn.kind != CORRAL_VM_EXTERN_FUNC)
            return corral_err_set(err, CORRAL_ERR_UNLINKABLE, "export %s is not a function",
                                  names[i]);
        corral_vm_functype_t t = corral_vm_func_type(fn);
        if (t.nparams || t.nresults)
            return corral_err_set(err, CORRAL_ERR_UNLINKABLE,
                                  "init function %s must take and return nothing", names[i]);
        inst->exited = 0;
        inst->call_start_ns = corral_now_ns();
        corral_err_t e;
        corral_err_clear(&e);
        corral_status_t st = corral_vm_call(inst->vm, fn, NULL, 0, NULL, 0, &e);
        wapc_log_flush(inst);
        if (st == CORRAL_ERR_TRAP_EXIT && inst->exited && inst->exit_code == 0 && i == 0) {
            inst->exited = 0;
            continue; /* proc_exit(0) from _start: a normal end of main() */
        }
        if (st != CORRAL_OK)
            return corral_err_set(err, st, "%s: %s", names[i], corral_err_msg(&e));
    }
    return CORRAL_OK;
}

corral_status_t corral_wapc_instance_new(corral_wapc_module_t *m, const corral_wapc_config_t *cfg,
                                         corral_wapc_instance_t **out, corral_err_t *err) {
    corral_status_t st;
    *out = NULL;
    corral_wapc_instance_t *inst = corral_calloc(1, sizeof *inst);
    if (!inst) return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    config_defaults(&inst->cfg, cfg);
    inst->mod = corral_wapc_module_retain(m);
    inst->call_start_ns = corral_now_ns();
    st = corral_vm_instance_new(m->vm, m->imports, &inst->cfg.limits, inst, &inst->vm, err);
    if (st != CORRAL_OK) goto fail;
    if (corral_vm_instance_export(inst->vm, "__guest_call", &inst->guest_call) != CORRAL_OK) {
        st = corral_err_set(err, CORRAL_ERR_INVALID_ARG, "module does not export __guest_call");
        goto fail;
    }
    if ((st = run_init(inst, err)) != CORRAL_OK) goto fail;
    *out = inst;
    return CORRAL_OK;
fail:
    wapc_log_flush(inst);
    corral_wapc_instance_free(inst);
    return st;
}

void corral_wapc_instance_free(corral_wapc_instance_t *inst) {
    if (!inst) return;
    corral_vm_instance_free(inst->vm);
    corral_buf_free(&inst->guest_err);
    corral_buf_free(&inst->host_resp);
    corral_buf_free(&inst->host_err);
    corral_buf_free(&inst->scratch);
    corral_buf_free(&inst->line[0]);
    corral_buf_free(&inst->line[1]);
    corral_wapc_module_free(inst->mod);
    corral_free(inst);
}

/* Keeps memory from a rare huge call from staying pinned to the instance. */
static void trim(corral_buf_t *b) {
    if (b->cap > (1u << 20)) corral_buf_free(b);
    else b->len = 0;
}

/* Copies the guest's error text into err, lossily as UTF-8, cut on a
 * character boundary to fit. */
static corral_status_t guest_error(corral_wapc_instance_t *inst, corral_err_t *err) {
    if (!inst->has_err || inst->guest_err.len == 0)
        return corral_err_set(err, CORRAL_ERR_GUEST, "guest call failed without an error message");
    corral_buf_t *b = &inst->scratch;
    b->len = 0;
    if (wapc_append_utf8_lossy(b, inst->guest_err.data, inst->guest_err.len) != CORRAL_OK)
        return corral_err_set(err, CORRAL_ERR_GUEST, "guest call failed (error text lost: out of memory)");
    size_t n = b->len;
    if (n > CORRAL_ERR_MSG_MAX - 1) {
        n = CORRAL_ERR_MSG_MAX - 1;
        while (n && (b->data[n] & 0xc0) == 0x80) n--;
    }
    return corral_err_set(err, CORRAL_ERR_GUEST, "%.*s", (int)n, (const char *)b->data);
}

corral_status_t corral_wapc_instance_call(corral_wapc_instance_t *inst, const char *op,
                                          size_t op_len, const uint8_t *payload,
                                          size_t payload_len, corral_buf_t *resp,
                                          corral_err_t *err) {
    if (inst->poisoned)
        return corral_err_set(err, CORRAL_ERR_STATE,
                              "instance was poisoned by an earlier trap; discard it");
    if (op_len > UINT32_MAX || payload_len > UINT32_MAX)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "operation or payload over 4 GiB");
    inst->req_op = op;
    inst->req_op_len = op_len;
    inst->req_payload = payload;
    inst->req_payload_len = payload_len;
    inst->resp = resp;
    inst->resp_base = resp->len;
    inst->has_resp = 0;
    inst->resp_too_large = 0;
    inst->guest_err.len = 0;
    inst->has_err = 0;
    inst->host_resp.len = 0;
    inst->host_err.len = 0;
    inst->exited = 0;
    inst->in_call = 1;
    /* Only poll_oneoff needs it, and only to honour a deadline: skip the
     * clock read on the hot path otherwise. */
    if (inst->cfg.limits.deadline_ns) inst->call_start_ns = corral_now_ns();

    uint64_t args[2] = {op_len, payload_len}, r = 0;
    corral_err_t e;
    e.status = CORRAL_OK;
    e.msg[0] = 0;
    corral_status_t st = corral_vm_call(inst->vm, inst->guest_call, args, 2, &r, 1, &e);

    inst->in_call = 0;
    inst->req_op = NULL;
    inst->req_payload = NULL;
    inst->resp = NULL;
    if (inst->line[0].len || inst->line[1].len) wapc_log_flush(inst);
    if (inst->host_resp.cap > (1u << 20)) trim(&inst->host_resp);

    if (st != CORRAL_OK) {
        inst->poisoned = 1;
        resp->len = inst->resp_base;
        return corral_err_set(err, st, "%s", corral_err_msg(&e));
    }
    if ((uint32_t)r == 0) {
        resp->len = inst->resp_base;
        return guest_error(inst, err);
    }
    if (inst->resp_too_large) {
        resp->len = inst->resp_base;
        return corral_err_set(err, CORRAL_ERR_TOO_LARGE,
                              "guest response of %" PRIu64 " bytes exceeds the limit of %" PRIu64
                              " bytes",
                              inst->resp_too_large, inst->cfg.max_response_bytes);
    }
    if (!inst->has_resp) {
        resp->len = inst->resp_base;
        return corral_err_set(err, CORRAL_ERR_NO_RESPONSE,
                              "guest returned success without a response");
    }
    return CORRAL_OK;
}

int corral_wapc_instance_poisoned(const corral_wapc_instance_t *inst) {
    return inst->poisoned;
}

void corral_wapc_instance_interrupt(corral_wapc_instance_t *inst) {
    corral_vm_instance_interrupt(inst->vm);
}

corral_wapc_module_t *corral_wapc_instance_module(const corral_wapc_instance_t *inst) {
    return inst->mod;
}

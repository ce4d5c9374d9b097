/*
 * wapc_int.h - private structures shared by wapc.c (modules, instances, the
 * waPC imports), wasi.c (the minimal WASI preview 1) and pool.c (pools and
 * hot replace). Not installed; nothing outside wapc/ includes it.
 */
#ifndef CORRAL_WAPC_INT_H
#define CORRAL_WAPC_INT_H

#include <stdatomic.h>

#include "corral_wapc.h"

/* Most bytes one guest log line may carry before it is split. */
#define WAPC_LOG_LINE_MAX (64u * 1024u)

struct corral_wapc_module {
    atomic_long refs;
    corral_vm_module_t *vm;
    /* Import set made for this module: waPC and WASI functions plus ENOSYS
     * stubs of the exact types for the WASI functions it imports that the
     * host does not implement. Shared read-only by all its instances. */
    corral_vm_imports_t *imports;
};

struct corral_wapc_instance {
    corral_wapc_module_t *mod;
    corral_vm_instance_t *vm;
    corral_vm_extern_t guest_call;
    corral_wapc_config_t cfg; /* defaults filled in */

    /* The five slots of the current call. */
    int in_call;
    const char *req_op;
    size_t req_op_len;
    const uint8_t *req_payload;
    size_t req_payload_len;
    corral_buf_t *resp;       /* caller's buffer; guest response appended at resp_base */
    size_t resp_base;
    int has_resp;
    uint64_t resp_too_large;  /* nonzero: length of a refused response */
    corral_buf_t guest_err;
    int has_err;
    corral_buf_t host_resp;
    corral_buf_t host_err;

    /* Scratch for host-call strings and log lines (kept between calls). */
    corral_buf_t scratch;
    corral_buf_t line[2]; /* partial stdout / stderr lines */

    uint64_t call_start_ns; /* for poll_oneoff's deadline bound */
    int exited;             /* proc_exit was called ... */
    uint32_t exit_code;     /* ... with this code */
    int poisoned;

    /* Pool bookkeeping (pool.c). */
    uint64_t gen;
    corral_wapc_instance_t *next;
};

/* Registers the WASI preview 1 functions under both WASI module names, and
 * ENOSYS stubs for the other WASI functions m imports (wasi.c). */
corral_status_t wapc_wasi_register(corral_vm_imports_t *imp, const corral_vm_module_t *m,
                                   corral_err_t *err);

/* 1 when (module, name) is a WASI module name. */
int wapc_is_wasi_module(const char *module, size_t len);

/* Hands guest output to the log callback, split into lines (wapc.c). src is
 * the source; a partial stdout/stderr line is kept until its newline or
 * wapc_log_flush. */
void wapc_log_bytes(corral_wapc_instance_t *inst, corral_wapc_log_source_t src, const uint8_t *p,
                    size_t n);
void wapc_log_flush(corral_wapc_instance_t *inst);

/* Converts an engine function type to the "PARAMS:RESULTS" signature string
 * (buf of at least 2 * 64 + 2 bytes). Returns 0 when a type has no letter
 * (v128) or too many values. */
int wapc_sig_of(const corral_vm_functype_t *t, char *buf, size_t cap);

/* Appends s[0..n) to b with invalid UTF-8 replaced by U+FFFD. */
corral_status_t wapc_append_utf8_lossy(corral_buf_t *b, const uint8_t *s, size_t n);

#endif

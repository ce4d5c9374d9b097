/*
 * wapc_guest.h - Corral's C guest SDK for waPC actors, for
 * `clang-14 --target=wasm32 -nostdlib` (no libc). It provides:
 *   - the `__guest_call` export and dispatch by operation name to handlers
 *     registered with wapc_register() (usually from an exported `wapc_init`);
 *   - wapc_host_call() (guest -> host), wapc_log() (__console_log),
 *     wapc_respond() / wapc_fail() to answer a call;
 *   - a per-call bump allocator: wapc_alloc() memory lives until the current
 *     call returns (memory allocated during init lives for ever);
 *   - a strict, bounds-checked MessagePack encoder/decoder (wapc_msgpack.h)
 *     and helpers for the capability contracts (wapc_contracts.h).
 * The waPC convention itself is docs/wapc.md.
 *
 * A minimal actor:
 *     static int echo(const uint8_t *p, uint32_t n) { return wapc_respond(p, n); }
 *     WAPC_EXPORT("wapc_init") void init(void) { wapc_register("echo", echo); }
 */
#ifndef WAPC_GUEST_H
#define WAPC_GUEST_H

#include <stddef.h>
#include <stdint.h>

#define WAPC_EXPORT(name) __attribute__((export_name(name)))
#define WAPC_IMPORT(mod, name) __attribute__((import_module(mod), import_name(name)))

/* A handler gets the call's payload (valid until the call returns) and
 * returns what __guest_call returns: 1 after wapc_respond(), 0 after
 * wapc_fail(). */
typedef int (*wapc_handler_t)(const uint8_t *payload, uint32_t len);

/* Registers a handler for an operation (the name is not copied: pass a
 * string literal). Up to WAPC_MAX_HANDLERS; returns 0 when full. An unknown
 * operation fails the call with "unknown operation: <op>", except
 * "HealthRequest", which without a handler of its own answers
 * {healthy: true, message: ""} (docs/contracts.md, Health). */
#define WAPC_MAX_HANDLERS 64
int wapc_register(const char *op, wapc_handler_t fn);

/* Stores the response (__guest_response) and returns 1. */
int wapc_respond(const void *p, uint32_t len);
/* Stores the error text (__guest_error) and returns 0. */
int wapc_fail(const char *msg);
int wapc_fail_n(const void *msg, uint32_t len);

/* Calls the host. binding "" means "default". On 1 (success) *out and *out_len
 * hold the host response; on 0 they hold the host's error text. Either lives
 * in the call arena. */
int wapc_host_call(const char *binding, const char *ns, const char *op, const void *payload,
                   uint32_t len, const uint8_t **out, uint32_t *out_len);

/* Logs a line through __console_log. */
void wapc_log(const char *msg);

/* Per-call bump allocator, 16-byte aligned; NULL when memory cannot grow. */
void *wapc_alloc(uint32_t n);

/* Tiny string helpers (no libc). */
uint32_t wapc_strlen(const char *s);
int wapc_memeq(const void *a, const void *b, uint32_t n);

/* The libc symbols the compiler may call on its own. */
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif

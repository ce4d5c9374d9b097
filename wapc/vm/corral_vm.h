/*
 * corral_vm.h - Corral's WebAssembly engine: decode, validate, prepare,
 * instantiate, call. It knows nothing of waPC or actors; wapc/ builds the
 * actor protocol on top of it.
 *
 * Objects and their lifetimes
 *   corral_vm_module_t   decoded, validated and translated code. Immutable
 *                        once made: share it between threads and instantiate
 *                        it any number of times. Each instance keeps its
 *                        module alive, so the module may be freed at any
 *                        time (the memory goes when the last instance goes).
 *   corral_vm_imports_t  a set of named extern values (host functions,
 *                        memories, tables, globals, exports of other
 *                        instances) used to resolve a module's imports. It is
 *                        read, never changed, by instantiation, so one set may
 *                        serve many instantiations on many threads once built.
 *   corral_vm_instance_t a running instance: memory, tables, globals. Used by
 *                        one thread at a time (no concurrent calls into one
 *                        instance); may move between threads between calls.
 *   corral_vm_extern_t   a reference to a function, table, memory or global.
 *                        Externs are reference counted inside the engine: an
 *                        extern obtained from an instance or made by the
 *                        embedder stays valid while anything holds it; release
 *                        your own with corral_vm_extern_release().
 *
 * Values cross the API as uint64_t slots: i32 in the low 32 bits (upper bits
 * ignored on input, zero on output), i64 as is, f32/f64 as their IEEE bit
 * patterns (f32 in the low 32 bits), references as opaque nonzero words with
 * 0 meaning null. An externref is any nonzero word the embedder chooses; a
 * funcref is a word the engine made (from an exported function or a table).
 *
 * Errors: every fallible function returns a corral_status_t and, when given a
 * corral_err_t, fills it with a message. Load errors carry the byte offset
 * ("malformed module at offset 0x1f: unexpected end"). A trap during a call
 * returns one of the CORRAL_ERR_TRAP_* codes (their texts are the spec's);
 * after a trap the instance's state is whatever the guest left, and the
 * embedder usually discards it. The process is never affected.
 */
#ifndef CORRAL_VM_H
#define CORRAL_VM_H

#include <stddef.h>
#include <stdint.h>

#include "corral_base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corral_vm_module corral_vm_module_t;
typedef struct corral_vm_imports corral_vm_imports_t;
typedef struct corral_vm_instance corral_vm_instance_t;

/* Value types, by their binary encoding. */
typedef enum corral_vm_valtype {
    CORRAL_VM_I32 = 0x7f,
    CORRAL_VM_I64 = 0x7e,
    CORRAL_VM_F32 = 0x7d,
    CORRAL_VM_F64 = 0x7c,
    CORRAL_VM_V128 = 0x7b,
    CORRAL_VM_FUNCREF = 0x70,
    CORRAL_VM_EXTERNREF = 0x6f
} corral_vm_valtype_t;

typedef enum corral_vm_extern_kind {
    CORRAL_VM_EXTERN_FUNC = 0,
    CORRAL_VM_EXTERN_TABLE = 1,
    CORRAL_VM_EXTERN_MEMORY = 2,
    CORRAL_VM_EXTERN_GLOBAL = 3
} corral_vm_extern_kind_t;

/* A function type as the engine sees it. The arrays point into engine-owned
 * storage that lives as long as the module (or extern) they came from. */
typedef struct corral_vm_functype {
    uint32_t nparams;
    uint32_t nresults;
    const uint8_t *params;  /* corral_vm_valtype_t values */
    const uint8_t *results;
} corral_vm_functype_t;

/* An extern value. `obj` is engine-owned and opaque. */
typedef struct corral_vm_extern {
    corral_vm_extern_kind_t kind;
    void *obj;
} corral_vm_extern_t;

/* ---- configuration and limits ------------------------------------------------- */

/* Per-instance limits, chosen by the embedder. Zero in any field means the
 * default given beside it. Fuel and deadline are per top-level call: each
 * corral_vm_call() starts with a full tank and a fresh deadline. */
typedef struct corral_vm_limits {
    uint32_t max_pages;      /* memory.grow past this returns -1 (default: 65536) */
    uint32_t max_call_depth; /* nested wasm calls before "call stack exhausted" (default 10000) */
    uint64_t fuel;           /* budget per call in engine fuel units (default: unlimited):
                                one unit per wasm function entry and per jump back
                                to a loop start (docs/engine.md) */
    uint64_t deadline_ns;    /* wall-clock budget per call (default: none) */
} corral_vm_limits_t;

/* ---- modules --------------------------------------------------------------------- */

/* Decodes, validates and prepares `len` bytes of a binary module. The bytes
 * are copied as needed; the caller may free them on return. Errors:
 * CORRAL_ERR_MALFORMED (binary format), CORRAL_ERR_INVALID (validation),
 * CORRAL_ERR_VM_UNSUPPORTED (e.g. SIMD), CORRAL_ERR_NOMEM. On error *out is
 * NULL. Thread-safe. */
corral_status_t corral_vm_module_new(const uint8_t *bytes, size_t len, corral_vm_module_t **out,
                                     corral_err_t *err);

/* Drops the embedder's reference to a module. NULL is a no-op. Instances
 * still alive keep the module; it is released with the last of them.
 * (Refinement: earlier drafts required every instance to be freed first;
 * that order still works.) */
void corral_vm_module_free(corral_vm_module_t *m);

/* Import and export descriptions, for embedders that resolve imports
 * themselves and for tools. Strings are owned by the module and are not
 * NUL-safe (names may contain NUL): use the lengths. Index out of range
 * returns CORRAL_ERR_NOT_FOUND. */
typedef struct corral_vm_import_desc {
    const char *module;
    size_t module_len;
    const char *name;
    size_t name_len;
    corral_vm_extern_kind_t kind;
    corral_vm_functype_t type; /* valid when kind == FUNC */
} corral_vm_import_desc_t;

typedef struct corral_vm_export_desc {
    const char *name;
    size_t name_len;
    corral_vm_extern_kind_t kind;
    corral_vm_functype_t type; /* valid when kind == FUNC */
} corral_vm_export_desc_t;

uint32_t corral_vm_module_import_count(const corral_vm_module_t *m);
corral_status_t corral_vm_module_import(const corral_vm_module_t *m, uint32_t i,
                                        corral_vm_import_desc_t *out);
uint32_t corral_vm_module_export_count(const corral_vm_module_t *m);
corral_status_t corral_vm_module_export(const corral_vm_module_t *m, uint32_t i,
                                        corral_vm_export_desc_t *out);

/* ---- host functions and imports ---------------------------------------------------- */

/* A host function. `sp` holds the arguments on entry (sp[0] is the first) and
 * receives the results (sp[0] is the first result); it has room for
 * max(nparams, nresults) slots. `caller` is the instance whose code made the
 * call: use it for memory access and corral_vm_instance_user(). Return
 * CORRAL_OK, or trap the call by returning corral_vm_trap(caller, ...). The
 * function runs on the calling thread, inside the guest call. */
typedef corral_status_t (*corral_vm_host_fn_t)(corral_vm_instance_t *caller, uint64_t *sp,
                                               void *user);

/* Makes an empty import set. Returns NULL when out of memory. */
corral_vm_imports_t *corral_vm_imports_new(void);

/* Frees an import set and drops its references. NULL is a no-op. Instances
 * made with it keep what they use, so the set may be freed at any time. */
void corral_vm_imports_free(corral_vm_imports_t *imp);

/* Registers a host function under (module, name) with the type written as
 * "PARAMS:RESULTS" using i=i32 I=i64 f=f32 F=f64 e=externref r=funcref,
 * e.g. "ii:i", "iiiiiiii:i", ":" (no params, no results), "i:".
 * A later registration of the same (module, name) replaces the earlier one.
 * CORRAL_ERR_INVALID_ARG for a bad signature string. Not thread-safe on one
 * set; build the set before sharing it. */
corral_status_t corral_vm_imports_add_func(corral_vm_imports_t *imp, const char *module,
                                           const char *name, const char *sig,
                                           corral_vm_host_fn_t fn, void *user, corral_err_t *err);

/* Registers any extern (an export of another instance, or one made with the
 * constructors below) under (module, name). The set takes its own reference. */
corral_status_t corral_vm_imports_add_extern(corral_vm_imports_t *imp, const char *module,
                                             const char *name, corral_vm_extern_t ext,
                                             corral_err_t *err);

/* Embedder-made externs (the spec test host module uses these). Each returns
 * a new reference in *out; release it with corral_vm_extern_release().
 * has_max = 0 means "no maximum" (max is then ignored). */
corral_status_t corral_vm_memory_new(uint32_t min_pages, uint32_t max_pages, int has_max,
                                     corral_vm_extern_t *out, corral_err_t *err);
corral_status_t corral_vm_table_new(corral_vm_valtype_t elem, uint32_t min, uint32_t max,
                                    int has_max, corral_vm_extern_t *out, corral_err_t *err);
corral_status_t corral_vm_global_new(corral_vm_valtype_t type, int mutable_, uint64_t value,
                                     corral_vm_extern_t *out, corral_err_t *err);

/* Reads an exported or embedder-made global's current value. */
uint64_t corral_vm_global_get(corral_vm_extern_t global);

/* The type of a function extern (pointers valid while the extern lives). */
corral_vm_functype_t corral_vm_func_type(corral_vm_extern_t func);

/* Adds a reference / drops one. Dropping the last frees the object. */
void corral_vm_extern_retain(corral_vm_extern_t ext);
void corral_vm_extern_release(corral_vm_extern_t ext);

/* ---- instances ------------------------------------------------------------------------ */

/* Instantiates a module: resolves every import by (module, name) in `imp`
 * (which may be NULL when the module has no imports) and checks its type,
 * allocates memory (lazily: untouched pages cost nothing), applies active
 * data and element segments, and runs the start function under `limits`.
 * `limits` may be NULL for defaults. `user` is returned by
 * corral_vm_instance_user() (host functions find their context there).
 * Errors: CORRAL_ERR_UNLINKABLE ("unknown import env.foo", "incompatible
 * import type for env.foo"), CORRAL_ERR_UNINSTANTIABLE (segment out of
 * bounds), a CORRAL_ERR_TRAP_* raised by the start function, CORRAL_ERR_NOMEM.
 * Thread-safe with respect to other instantiations of the same module. */
corral_status_t corral_vm_instance_new(const corral_vm_module_t *m, const corral_vm_imports_t *imp,
                                       const corral_vm_limits_t *limits, void *user,
                                       corral_vm_instance_t **out, corral_err_t *err);

/* Frees an instance and drops its references. NULL is a no-op. Must not be
 * called while a call into it is running. */
void corral_vm_instance_free(corral_vm_instance_t *inst);

void *corral_vm_instance_user(const corral_vm_instance_t *inst);
void corral_vm_instance_set_user(corral_vm_instance_t *inst, void *user);
const corral_vm_module_t *corral_vm_instance_module(const corral_vm_instance_t *inst);

/* Replaces the limits used by later calls. */
void corral_vm_instance_set_limits(corral_vm_instance_t *inst, const corral_vm_limits_t *limits);

/* Looks up an export by name (a NUL-terminated name; use the _n form for
 * names containing NUL). Returns CORRAL_ERR_NOT_FOUND when absent. The extern
 * is borrowed: valid while the instance lives; retain it to keep it longer. */
corral_status_t corral_vm_instance_export(corral_vm_instance_t *inst, const char *name,
                                          corral_vm_extern_t *out);
corral_status_t corral_vm_instance_export_n(corral_vm_instance_t *inst, const char *name,
                                            size_t name_len, corral_vm_extern_t *out);

/* Calls a function extern (from corral_vm_instance_export, or a funcref).
 * `args` holds nargs slots, `results` has room for nresults; both counts must
 * equal the function's type (CORRAL_ERR_INVALID_ARG otherwise). The call runs
 * on the caller's thread in the context of the instance that owns the
 * function; `inst` must be that instance or one linked to it, and no other
 * call may be running in it (a nested call into the same instance, e.g. from
 * a host function, fails with CORRAL_ERR_STATE). Returns CORRAL_OK or the
 * trap that stopped it (err gets the text, e.g. "deadline exceeded after
 * 100 ms"). A funcref held in a table or global keeps its instance alive
 * only through the instance's own imports and exports: free an instance
 * only when nothing will call through its functions any more. */
corral_status_t corral_vm_call(corral_vm_instance_t *inst, corral_vm_extern_t func,
                               const uint64_t *args, uint32_t nargs, uint64_t *results,
                               uint32_t nresults, corral_err_t *err);

/* Asks a running call in inst to stop; it traps with CORRAL_ERR_TRAP_INTERRUPTED
 * at the next function entry or loop back-edge. Safe from any thread and from
 * signal handlers. The request is cleared when the next call starts. */
void corral_vm_instance_interrupt(corral_vm_instance_t *inst);

/* ---- guest memory ---------------------------------------------------------------------- */

/* The one way to reach guest memory (memory 0 of inst): returns a pointer to
 * bytes [offset, offset + len) or NULL when any of it lies outside the
 * current memory (overflow-safe; len 0 at offset == size is allowed and
 * returns a non-NULL pointer). The pointer is valid until the guest runs
 * again or memory grows. Returns NULL when the instance has no memory. */
uint8_t *corral_vm_memory_slice(corral_vm_instance_t *inst, uint32_t offset, uint32_t len);

/* Current size of memory 0 in bytes (0 when there is none). */
uint64_t corral_vm_memory_size(const corral_vm_instance_t *inst);

/* Traps the running call from inside a host function: records `st` (a
 * CORRAL_ERR_TRAP_* code, usually CORRAL_ERR_TRAP_HOST) and the formatted
 * message for the caller of corral_vm_call, and returns st for the host
 * function to return. */
corral_status_t corral_vm_trap(corral_vm_instance_t *caller, corral_status_t st, const char *fmt,
                               ...) CORRAL_PRINTF(3, 4);

#ifdef __cplusplus
}
#endif

#endif

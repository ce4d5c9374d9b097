/*
 * vm_int.h - private structures of the engine shared by its parts:
 * vm_load.c (binary decoder), vm_compile.c (validator + translator to
 * threaded slot code), vm_interp.c (the interpreter) and vm_runtime.c
 * (externs, instances, the public API). Nothing here is visible to
 * embedders; see docs/engine.md for the design.
 */
#ifndef CORRAL_VM_INT_H
#define CORRAL_VM_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include "corral_vm.h"

#define VM_PAGE          65536u
#define VM_MAX_PAGES     65536u
#define VM_MAX_TABLE     10000000u /* table.grow/instantiation refuse larger tables */
#define VM_STACK_SLOTS   (1u << 20) /* value stack: 8 MiB reserved, touched lazily */
#define VM_CHECK_EVERY   4096       /* countdown between slow-path limit checks */

/* Value types used while validating: the binary encodings plus "unknown"
 * (the bottom type of unreachable code). */
enum { VT_UNKNOWN = 0, VT_I32 = 0x7f, VT_I64 = 0x7e, VT_F32 = 0x7d, VT_F64 = 0x7c,
       VT_V128 = 0x7b, VT_FUNCREF = 0x70, VT_EXTERNREF = 0x6f };

/* ---- reference-counted extern objects ----------------------------------------------- */

typedef enum vm_objkind { OBJ_FUNC_HOST, OBJ_FUNC_WASM, OBJ_TABLE, OBJ_MEMORY, OBJ_GLOBAL } vm_objkind_t;

typedef struct vm_obj {
    vm_objkind_t kind;
    atomic_long refs;
} vm_obj_t;

typedef struct vm_code vm_code_t;

/* A function: the word a funcref holds is the address of one of these. A
 * wasm function lives inside its instance (refs go to the instance). */
typedef struct vm_func {
    vm_obj_t hdr;
    const corral_vm_functype_t *type;
    struct corral_vm_instance *inst; /* owning instance (wasm) */
    const vm_code_t *code;           /* wasm */
    corral_vm_host_fn_t host;        /* host */
    void *user;
    uint8_t *sig_storage;            /* host: owns type arrays */
} vm_func_t;

typedef struct vm_memory {
    vm_obj_t hdr;
    uint8_t *base;
    uint64_t size;     /* bytes */
    uint32_t pages;
    uint32_t max;      /* declared maximum (VM_MAX_PAGES when none) */
    int has_max;
    uint64_t reserved; /* bytes of address space reserved at base */
} vm_memory_t;

typedef struct vm_table {
    vm_obj_t hdr;
    uint8_t elem;
    int has_max;
    uint32_t size, max;
    uint64_t *elems;
    /* Instances whose instantiation failed after their element segments
     * had written functions into this (imported) table: the table keeps
     * them alive, as the spec keeps those writes. */
    struct corral_vm_instance **zombies;
    uint32_t nzombies;
} vm_table_t;

typedef struct vm_global {
    vm_obj_t hdr;
    uint64_t val;
    uint8_t type;
    uint8_t mut;
} vm_global_t;

/* ---- modules ------------------------------------------------------------------------- */

typedef struct vm_limits_d {
    uint32_t min, max;
    int has_max;
} vm_limits_d_t;

/* A 2.0 constant expression is one instruction. */
enum { CE_CONST, CE_GLOBAL, CE_REFNULL, CE_REFFUNC };
typedef struct vm_cexpr {
    uint8_t kind;
    uint8_t type;
    uint32_t idx;
    uint64_t val;
} vm_cexpr_t;

typedef struct vm_import {
    const char *mod, *name;
    uint32_t mod_len, name_len;
    corral_vm_extern_kind_t kind;
    uint32_t type;      /* func: type index */
    uint8_t elem;       /* table */
    vm_limits_d_t lim;  /* table / memory */
    uint8_t gtype, gmut;/* global */
} vm_import_t;

typedef struct vm_export {
    const char *name;
    uint32_t name_len;
    corral_vm_extern_kind_t kind;
    uint32_t idx;
} vm_export_t;

enum { SEG_ACTIVE, SEG_PASSIVE, SEG_DECLARATIVE };

typedef struct vm_elem {
    uint8_t mode, type;
    uint32_t table;
    vm_cexpr_t offset;
    uint32_t count;
    vm_cexpr_t *items;
} vm_elem_t;

typedef struct vm_data {
    uint8_t mode;
    vm_cexpr_t offset;
    const uint8_t *bytes;
    uint32_t len;
} vm_data_t;

/* Translated code of one defined function. */
struct vm_code {
    uint64_t *code;       /* threaded code: handler address then operands */
    size_t ncode;
    const corral_vm_functype_t *type;
    uint32_t nparams;
    uint32_t nlocals;     /* params + declared locals */
    uint32_t frame;       /* slots the frame needs: locals + max operand height */
};

struct corral_vm_module {
    atomic_long mrefs; /* the embedder's plus one per live instance */
    uint8_t *bytes; /* copy of the binary: names and data point into it */
    size_t len;

    uint32_t ntypes;
    corral_vm_functype_t *types;
    uint8_t *typebytes;

    uint32_t nimports;
    vm_import_t *imports;

    uint32_t nfuncs, nfunc_imports;
    uint32_t *func_type; /* type index of every function */

    uint32_t ntables, ntable_imports;
    struct { uint8_t elem; vm_limits_d_t lim; } *tables;

    uint32_t nmems, nmem_imports;
    vm_limits_d_t *mems;

    uint32_t nglobals, nglobal_imports;
    struct { uint8_t type, mut; vm_cexpr_t init; } *globals;

    uint32_t nexports;
    vm_export_t *exports;

    int has_start;
    uint32_t start;

    uint32_t nelems;
    vm_elem_t *elems;

    int has_datacount;
    int needs_datacount; /* memory.init/data.drop seen without a data count section */
    uint32_t datacount;
    uint32_t ndatas;
    vm_data_t *datas;

    uint8_t *refs; /* bitmap of functions declared for ref.func */
    int no_code;   /* decoded without translating function bodies (vm_module_new_decoded) */

    vm_code_t *codes; /* nfuncs - nfunc_imports entries */

    /* Another tier runs this module's instances (wapc/aot via
     * corral_aot_vm_module_new); NULL for the interpreter. */
    const struct vm_backend *be;
    void *be_mod;
};

/* ---- instances ------------------------------------------------------------------------- */

typedef struct vm_frame {
    const uint64_t *ip;
    uint64_t *fp;
    struct corral_vm_instance *inst;
} vm_frame_t;

/* State of one top-level call: value stack, call frames, limits. Lives in
 * the instance the embedder called (corral_vm_call's inst). */
typedef struct vm_exec {
    uint64_t *stack, *stack_end;
    vm_frame_t *frames;
    uint32_t max_depth;
    int64_t countdown;   /* decremented at entries and loop heads */
    uint64_t fuel_left;  /* beyond the countdown */
    int has_fuel;
    uint64_t deadline;   /* absolute ns, 0 = none */
    uint64_t start_ns;
    atomic_int *interrupt;
} vm_exec_t;

struct corral_vm_instance {
    atomic_long refs;
    const corral_vm_module_t *mod;
    void *user;
    corral_vm_limits_t limits;
    atomic_int interrupt;
    int running;

    vm_func_t **funcs;      /* every function index */
    vm_table_t **tables;
    vm_memory_t **mems;
    vm_global_t **globals;
    vm_func_t *own;         /* defined functions, embedded */
    uint8_t *dropped_elem;  /* elem.drop'ped / applied */
    uint8_t *dropped_data;
    vm_memory_t *mem0;      /* mems[0] or NULL */
    uint8_t *weak_tables;   /* zombie: imported tables it holds no reference to */
    vm_exec_t exec;
    size_t stack_bytes, frames_bytes;
    void *be_inst;          /* the backend's instance when mod->be is set */
};

/* Hooks of another tier (see `be` above). An instance of such a module is
 * made as usual up to its imports and function objects (so exports, user
 * data, limits and the interrupt flag work unchanged); then instance_new
 * takes over (no tables, memories, globals or segments on this side) and
 * calls, memory access and freeing go through these. */
typedef struct vm_backend {
    const char *name;
    corral_status_t (*instance_new)(corral_vm_instance_t *inst, corral_err_t *err);
    void (*instance_free)(corral_vm_instance_t *inst);
    corral_status_t (*call)(corral_vm_instance_t *inst, vm_func_t *f, const uint64_t *args, uint64_t *results,
                            corral_err_t *err);
    uint8_t *(*memory_slice)(corral_vm_instance_t *inst, uint32_t offset, uint32_t len);
    uint64_t (*memory_size)(const corral_vm_instance_t *inst);
    void (*module_free)(void *be_mod);
} vm_backend_t;

/* ---- parts --------------------------------------------------------------------------- */

/* vm_load.c */
corral_status_t vm_load(corral_vm_module_t *m, corral_err_t *err);

/* vm_runtime.c: a module decoded for its descriptions only (types, imports,
 * exports, memories, tables, globals, segments): function bodies are
 * skipped, neither validated nor translated, so the module cannot run on
 * the interpreter. For a backend that runs other code built from these
 * exact bytes after they were validated (wapc/aot: an artifact whose
 * recorded module hash matched). Errors as corral_vm_module_new. */
corral_status_t vm_module_new_decoded(const uint8_t *bytes, size_t len, corral_vm_module_t **out,
                                      corral_err_t *err);
void vm_module_release(corral_vm_module_t *m);
int vm_functype_eq(const corral_vm_functype_t *a, const corral_vm_functype_t *b);

/* vm_compile.c: validates and translates one function body [p, end). */
corral_status_t vm_compile(corral_vm_module_t *m, uint32_t fidx, const uint8_t *p,
                           const uint8_t *end, size_t base_off, vm_code_t *out, corral_err_t *err);

/* vm_interp.c */
const void *const *vm_handlers(void);
/* Runs func with its arguments in sp[0..) on ex's stack; results land in sp. */
corral_status_t vm_run(corral_vm_instance_t *inst, vm_func_t *f, uint64_t *sp);
void vm_trap_msg(const char *fmt, ...) CORRAL_PRINTF(1, 2);
const char *vm_trap_text(void);
void vm_trap_clear(void);

/* vm_runtime.c, used by the interpreter */
int32_t vm_memory_grow(corral_vm_instance_t *inst, vm_memory_t *mem, uint32_t delta);
int32_t vm_table_grow(vm_table_t *t, uint32_t delta, uint64_t init);
corral_status_t vm_exec_slow(vm_exec_t *ex);
/* Interrupt flag and deadline only (no fuel): run after every host function,
 * which may block far longer than VM_CHECK_EVERY loop iterations. */
corral_status_t vm_exec_check_time(vm_exec_t *ex);

#endif

/*
 * aot_abi.h - the contract between the host (wapc/aot/aot_load.c) and a
 * compiled artifact (a shared object built by corral_aot_compile from
 * wasm2c's C, the glue aot_compile.c writes and the runtime aot_rt.c).
 *
 * This header is compiled twice: into Corral, and - embedded as text - into
 * every artifact. Any change to a struct or a meaning here must bump
 * CORRAL_AOT_ABI, so the host refuses artifacts built against another
 * layout (and falls back to the interpreter). It depends on nothing but
 * <stdint.h> and <stddef.h>.
 *
 * Per-instance state lives in corral_aot_rt_t, which sits immediately
 * before wasm2c's instance struct: generated code reaches it from its
 * `instance` pointer (CORRAL_AOT_RT below). ABI 2: guard-page memories
 * (explicit bounds checks gone), the thread slot for the host's signal
 * handler, fuel and depth kept in registers while wasm code runs.
 */
#ifndef CORRAL_AOT_ABI_H
#define CORRAL_AOT_ABI_H

#include <stddef.h>
#include <stdint.h>

#define CORRAL_AOT_ABI 3

/* Traps an artifact reports (0 = none). The host maps them to its
 * CORRAL_ERR_TRAP_* codes. */
enum {
    CORRAL_AOT_OK = 0,
    CORRAL_AOT_TRAP_UNREACHABLE,
    CORRAL_AOT_TRAP_MEMORY_OOB,
    CORRAL_AOT_TRAP_TABLE_OOB,
    CORRAL_AOT_TRAP_DIV_ZERO,
    CORRAL_AOT_TRAP_INT_OVERFLOW,
    CORRAL_AOT_TRAP_INVALID_CONVERSION,
    CORRAL_AOT_TRAP_UNDEFINED_ELEMENT,
    CORRAL_AOT_TRAP_UNINITIALIZED_ELEMENT,
    CORRAL_AOT_TRAP_INDIRECT_MISMATCH,
    CORRAL_AOT_TRAP_STACK_EXHAUSTED,
    CORRAL_AOT_TRAP_FUEL,      /* the host's slow path said so */
    CORRAL_AOT_TRAP_DEADLINE,
    CORRAL_AOT_TRAP_INTERRUPTED,
    CORRAL_AOT_TRAP_HOST,      /* an import returned an error */
    CORRAL_AOT_TRAP_NOMEM,     /* memory or table allocation failed */
    CORRAL_AOT_TRAP_LIMIT,     /* initial memory above the host's page cap */
    CORRAL_AOT_TRAP_OTHER
};

typedef struct corral_aot_rt corral_aot_rt_t;

/* Bytes of address space reserved for a linear memory: every address a
 * wasm load or store can form (32-bit index + 32-bit offset + 8 bytes)
 * falls inside, so out-of-bounds accesses hit PROT_NONE pages instead of
 * being checked (the host's signal handler turns the fault into a trap). */
#define CORRAL_AOT_MEM_RESERVE ((uint64_t)8 << 30)
#define CORRAL_AOT_MEM_GUARD ((uint64_t)64 << 10)

/* Per-instance runtime state. Written by the host before each call, read
 * and updated by generated code. Size is a multiple of 16 so the wasm2c
 * instance that follows is aligned. */
struct corral_aot_rt {
    int64_t countdown;       /* fuel units left before the host's slow path
                                (spent per function entry and loop back-edge;
                                below 0 calls slow) */
    uint32_t depth;          /* wasm call depth when the call started (0) */
    uint32_t max_depth;      /* trap above this */
    uintptr_t stack_limit;   /* native stack guard: trap when a frame lies below */
    uint32_t max_pages;      /* the host's memory cap (pages) */
    uint32_t trap;           /* CORRAL_AOT_TRAP_* of the last failed call */
    void *jmp;               /* sigjmp_buf * of the running call (artifact-owned) */
    void *host;              /* the host's instance */
    /* Host callbacks. slow: returns 0 after refilling countdown, or a trap.
     * import: runs import idx with arguments / results in sp; 0 or a trap. */
    int (*slow)(corral_aot_rt_t *rt);
    int (*import)(corral_aot_rt_t *rt, uint32_t idx, uint64_t *sp);
    uint8_t *mem_data;       /* memory 0 as last seen (host reads these); its
                                reservation is CORRAL_AOT_MEM_RESERVE +
                                CORRAL_AOT_MEM_GUARD bytes from mem_data */
    uint64_t mem_size;
    /* Host callback: the calling thread's "instance running wasm code"
     * slot, which the host's SIGSEGV/SIGBUS handler reads (installing the
     * handler on first use). The artifact points it at rt while wasm code
     * runs on the thread and at NULL while a host import runs, so only a
     * fault in wasm code, inside rt's reservation, becomes a trap. */
    corral_aot_rt_t **(*thread_slot)(void);
    corral_aot_rt_t **slot;  /* thread_slot() of the running call (artifact-owned) */
};

#define CORRAL_AOT_RT_SIZE ((sizeof(corral_aot_rt_t) + 15u) & ~(size_t)15u)
#define CORRAL_AOT_RT(inst) ((corral_aot_rt_t *)((char *)(inst) - CORRAL_AOT_RT_SIZE))

/* One export: functions carry a trampoline taking the wasm2c instance and
 * the slot array (arguments in, results out). sig: "PARAMS:RESULTS" in
 * corral_vm's letters (i I f F). */
typedef struct corral_aot_export {
    const char *name;
    uint32_t name_len;
    uint32_t kind; /* corral_vm_extern_kind_t value */
    const char *sig;
    void (*fn)(void *winst, uint64_t *sp);
} corral_aot_export_t;

typedef struct corral_aot_import {
    const char *module;
    uint32_t module_len;
    const char *name;
    uint32_t name_len;
    const char *sig;
} corral_aot_import_t;

/* The one symbol an artifact exports: "corral_aot_desc". */
typedef struct corral_aot_desc {
    uint32_t abi;         /* CORRAL_AOT_ABI */
    uint32_t rt_size;     /* CORRAL_AOT_RT_SIZE */
    size_t inst_size;     /* bytes to allocate: rt + wasm2c instance */
    uint32_t nexports, nimports;
    const corral_aot_export_t *exports;
    const corral_aot_import_t *imports;
    /* Once per loaded artifact, before anything else. */
    void (*init_module)(void);
    /* Instantiates into zeroed rt (inst_size bytes) and runs the start
     * function; returns 0 or a trap. On a trap the instance must still be
     * released with free_instance. */
    int (*instantiate)(corral_aot_rt_t *rt);
    /* Calls export idx (a function). 0 or a trap. */
    int (*call)(corral_aot_rt_t *rt, uint32_t idx, uint64_t *sp);
    void (*free_instance)(corral_aot_rt_t *rt);
    /* The module's hash (64 uppercase hex digits), as in the artifact's
     * header: a shared object loaded by path (aot_load.c) is checked
     * against it. Since ABI 3. */
    const char *module_hash;
} corral_aot_desc_t;

#endif

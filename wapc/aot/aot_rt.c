/*
 * aot_rt.c - the runtime of every AOT artifact: Corral's own implementation
 * of the wasm-rt functions wasm2c's C calls (traps, memories, tables,
 * function types), plus the entry points of corral_aot_desc_t. It is
 * embedded as text in Corral and compiled into each artifact, in the same
 * translation unit as the generated code (so it is never linked into
 * Corral itself, and symbols stay private to the artifact).
 *
 * Traps: the host enters through corral_rt_enter, which sets a per-thread
 * jump buffer with sigsetjmp; corral_rt_trap records the reason in the
 * instance's corral_aot_rt_t and siglongjmps back. Only artifact frames lie
 * between (host functions have returned before their trap is raised), so
 * no host state is skipped. An out-of-bounds access faults on the memory's
 * PROT_NONE pages; the host's handler (aot_signal.c) finds the instance
 * through the thread slot set here and jumps to the same place. That slot
 * (the host's, thread-local) is also how traps and memory growth find
 * their instance; it is touched only at entry, exit, imports, traps and
 * memory growth, never on the hot path; fuel and depth live in registers
 * (aot_rt.h) from entry to exit.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CORRAL_RT_PAGE 65536u

/* The host's per-thread "instance running wasm code" slot (the same
 * function for every instance in the process: set on every entry). The
 * artifact keeps no thread-local storage of its own: a dlopen'd object's
 * TLS costs a module id at load and an allocation per thread at first use. */
static corral_aot_rt_t **(*corral_rt_slot_fn)(void);

/* The instance whose wasm code this thread runs (NULL outside a call, and
 * while a host import runs). */
static inline corral_aot_rt_t *corral_rt_current(void)
{
    corral_aot_rt_t **(*f)(void) = __atomic_load_n(&corral_rt_slot_fn, __ATOMIC_RELAXED);
    return f ? *f() : NULL;
}

void corral_rt_trap(int code)
{
    corral_aot_rt_t *rt = corral_rt_current();
    if (!rt || !rt->jmp) abort(); /* a trap outside any entry: a bug in the glue */
    rt->trap = (uint32_t)code;
    siglongjmp(*(sigjmp_buf *)rt->jmp, 1);
}

/* Fuel ran out (countdown below 0): the host checks its limits and
 * refills, or says which trap. */
void corral_rt_fuel(void *instance)
{
    corral_aot_rt_t *rt = CORRAL_AOT_RT(instance);
    rt->countdown = corral_fuel_;
    int code = rt->slow(rt);
    if (code) corral_rt_trap(code);
    corral_fuel_ = rt->countdown;
}

/* A function entry's combined check failed: depth, stack or fuel. */
void corral_rt_entry_slow(corral_aot_rt_t *rt, uintptr_t sp)
{
    if (corral_depth_left_ < 0 || sp < rt->stack_limit) corral_rt_trap(CORRAL_AOT_TRAP_STACK_EXHAUSTED);
    corral_rt_fuel((char *)rt + CORRAL_AOT_RT_SIZE);
}

/* While the host runs an import, a fault on this thread is the host's. */
static void corral_rt_import(corral_aot_rt_t *rt, uint32_t idx, uint64_t *sp)
{
    *rt->slot = NULL;
    int code = rt->import(rt, idx, sp);
    *rt->slot = rt;
    if (code) corral_rt_trap(code);
}

void wasm_rt_trap(wasm_rt_trap_t t)
{
    int code;
    switch (t) {
    case WASM_RT_TRAP_OOB: code = CORRAL_AOT_TRAP_MEMORY_OOB; break;
    case WASM_RT_TRAP_INT_OVERFLOW: code = CORRAL_AOT_TRAP_INT_OVERFLOW; break;
    case WASM_RT_TRAP_DIV_BY_ZERO: code = CORRAL_AOT_TRAP_DIV_ZERO; break;
    case WASM_RT_TRAP_INVALID_CONVERSION: code = CORRAL_AOT_TRAP_INVALID_CONVERSION; break;
    case WASM_RT_TRAP_UNREACHABLE: code = CORRAL_AOT_TRAP_UNREACHABLE; break;
    case WASM_RT_TRAP_CALL_INDIRECT: code = CORRAL_AOT_TRAP_INDIRECT_MISMATCH; break;
    case WASM_RT_TRAP_EXHAUSTION: code = CORRAL_AOT_TRAP_STACK_EXHAUSTED; break;
    default: code = CORRAL_AOT_TRAP_OTHER; break;
    }
    corral_rt_trap(code);
}

const char *wasm_rt_strerror(wasm_rt_trap_t t)
{
    (void)t;
    return "trap";
}

void wasm_rt_init(void) {}
bool wasm_rt_is_initialized(void) { return true; }
void wasm_rt_free(void) {}

/* Function types: an index per distinct signature, private to this
 * artifact (tables are never shared with another module). Registered only
 * from init_module, which the host runs once under its own lock. */
#define CORRAL_RT_MAX_SIG 64
static struct { uint32_t np, nr; wasm_rt_type_t *t; } *corral_rt_types;
static uint32_t corral_rt_ntypes, corral_rt_captypes;

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...)
{
    wasm_rt_type_t buf[CORRAL_RT_MAX_SIG];
    uint32_t n = params + results;
    va_list ap;
    va_start(ap, results);
    for (uint32_t i = 0; i < n; i++) {
        wasm_rt_type_t t = (wasm_rt_type_t)va_arg(ap, int);
        if (i < CORRAL_RT_MAX_SIG) buf[i] = t;
    }
    va_end(ap);
    if (n > CORRAL_RT_MAX_SIG) n = CORRAL_RT_MAX_SIG; /* longer ones compare on a prefix */
    for (uint32_t i = 0; i < corral_rt_ntypes; i++)
        if (corral_rt_types[i].np == params && corral_rt_types[i].nr == results &&
            memcmp(corral_rt_types[i].t, buf, n * sizeof buf[0]) == 0)
            return i + 1;
    if (corral_rt_ntypes == corral_rt_captypes) {
        uint32_t cap = corral_rt_captypes ? corral_rt_captypes * 2 : 16;
        void *p = realloc(corral_rt_types, cap * sizeof corral_rt_types[0]);
        if (!p) abort();
        corral_rt_types = p;
        corral_rt_captypes = cap;
    }
    wasm_rt_type_t *t = malloc(n ? n * sizeof buf[0] : 1);
    if (!t) abort();
    memcpy(t, buf, n * sizeof buf[0]);
    corral_rt_types[corral_rt_ntypes].np = params;
    corral_rt_types[corral_rt_ntypes].nr = results;
    corral_rt_types[corral_rt_ntypes].t = t;
    return ++corral_rt_ntypes;
}

/* The registry goes when the artifact is unloaded (dlclose). */
__attribute__((destructor)) static void corral_rt_types_free(void)
{
    for (uint32_t i = 0; i < corral_rt_ntypes; i++) free(corral_rt_types[i].t);
    free(corral_rt_types);
    corral_rt_types = NULL;
    corral_rt_ntypes = corral_rt_captypes = 0;
}

/* Memories: CORRAL_AOT_MEM_RESERVE + a guard of address space is reserved
 * (PROT_NONE) whatever the size, so every address a load or store can form
 * lies inside and needs no check; pages become accessible as the memory
 * grows, so the data never moves and untouched pages cost nothing.
 * max_pages becomes the effective maximum (declared maximum capped by the
 * host's limit): growth past it fails as before. */
#define CORRAL_RT_RESERVE (CORRAL_AOT_MEM_RESERVE + CORRAL_AOT_MEM_GUARD)

void wasm_rt_allocate_memory(wasm_rt_memory_t *m, uint32_t initial, uint32_t max)
{
    corral_aot_rt_t *rt = corral_rt_current();
    uint32_t cap = rt && rt->max_pages ? rt->max_pages : 65536u;
    if (max > 65536u) max = 65536u;
    if (max > cap) max = cap;
    memset(m, 0, sizeof *m);
    if (initial > max) corral_rt_trap(CORRAL_AOT_TRAP_LIMIT);
    m->max_pages = max;
    void *p = mmap(NULL, CORRAL_RT_RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        m->max_pages = 0;
        corral_rt_trap(CORRAL_AOT_TRAP_NOMEM);
    }
    m->data = p;
    if (initial && mprotect(p, (size_t)initial * CORRAL_RT_PAGE, PROT_READ | PROT_WRITE) != 0)
        corral_rt_trap(CORRAL_AOT_TRAP_NOMEM);
    m->pages = initial;
    m->size = initial * CORRAL_RT_PAGE; /* 65536 pages overflow u32 size: capped below */
    if (initial == 65536u) m->size = 0xffffffffu;
    if (rt && !rt->mem_data) {
        rt->mem_data = m->data;
        rt->mem_size = (uint64_t)initial * CORRAL_RT_PAGE;
    }
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *m, uint32_t delta)
{
    uint32_t old = m->pages;
    uint64_t np = (uint64_t)old + delta;
    corral_aot_rt_t *rt = corral_rt_current();
    uint32_t cap = rt && rt->max_pages ? rt->max_pages : 65536u;
    if (np > m->max_pages || np > cap) return 0xffffffffu;
    if (delta && mprotect(m->data + (uint64_t)old * CORRAL_RT_PAGE, (size_t)delta * CORRAL_RT_PAGE,
                          PROT_READ | PROT_WRITE) != 0)
        return 0xffffffffu;
    m->pages = (uint32_t)np;
    m->size = np >= 65536u ? 0xffffffffu : (uint32_t)(np * CORRAL_RT_PAGE);
    if (rt && rt->mem_data == m->data) rt->mem_size = np * CORRAL_RT_PAGE;
    return old;
}

void wasm_rt_free_memory(wasm_rt_memory_t *m)
{
    if (m->data) munmap(m->data, CORRAL_RT_RESERVE);
    m->data = NULL;
}

#define CORRAL_RT_TABLE_MAX 10000000u

/* The funcref and the externref table differ only in their element type:
 * one definition of allocate, free and grow serves both. */
#define CORRAL_RT_TABLE_FNS(kind)                                                                  \
    void wasm_rt_allocate_##kind##_table(wasm_rt_##kind##_table_t *t, uint32_t n, uint32_t max)    \
    {                                                                                              \
        if (n > CORRAL_RT_TABLE_MAX) corral_rt_trap(CORRAL_AOT_TRAP_NOMEM);                        \
        t->data = calloc(n ? n : 1, sizeof *t->data);                                              \
        if (!t->data) corral_rt_trap(CORRAL_AOT_TRAP_NOMEM);                                       \
        t->size = n;                                                                               \
        t->max_size = max;                                                                         \
    }                                                                                              \
                                                                                                   \
    void wasm_rt_free_##kind##_table(wasm_rt_##kind##_table_t *t)                                  \
    {                                                                                              \
        free(t->data);                                                                             \
        t->data = NULL;                                                                            \
    }                                                                                              \
                                                                                                   \
    uint32_t wasm_rt_grow_##kind##_table(wasm_rt_##kind##_table_t *t, uint32_t delta,              \
                                         wasm_rt_##kind##_t init)                                  \
    {                                                                                              \
        uint32_t old = t->size;                                                                    \
        uint64_t n = (uint64_t)old + delta;                                                        \
        if (n > t->max_size || n > CORRAL_RT_TABLE_MAX) return 0xffffffffu;                        \
        if (delta) {                                                                               \
            void *p = realloc(t->data, (size_t)n * sizeof *t->data);                               \
            if (!p) return 0xffffffffu;                                                            \
            t->data = p;                                                                           \
            for (uint64_t i = old; i < n; i++) t->data[i] = init;                                  \
        }                                                                                          \
        t->size = (uint32_t)n;                                                                     \
        return old;                                                                                \
    }

CORRAL_RT_TABLE_FNS(funcref)
CORRAL_RT_TABLE_FNS(externref)

/* Runs fn(rt, arg, sp) with a trap landing pad; returns 0 or the trap.
 * Nested entries (a host function calling into another instance of this
 * artifact on the same thread) save and restore the outer state, and
 * every entry gives the host back its r14/r15 on the way out (aot_rt.h). */
typedef void (*corral_rt_body_t)(corral_aot_rt_t *rt, uint32_t arg, uint64_t *sp);

static int corral_rt_enter(corral_aot_rt_t *rt, corral_rt_body_t fn, uint32_t arg, uint64_t *sp)
{
    sigjmp_buf jb;
    volatile int64_t host_fuel = corral_fuel_, host_depth = corral_depth_left_;
    void *volatile outer_jmp = rt->jmp;
    corral_aot_rt_t **slot = rt->thread_slot();
    corral_aot_rt_t *volatile outer_running = *slot;
    __atomic_store_n(&corral_rt_slot_fn, rt->thread_slot, __ATOMIC_RELAXED);
    rt->trap = 0;
    rt->slot = slot;
    if (sigsetjmp(jb, 0) == 0) {
        rt->jmp = &jb;
        corral_fuel_ = rt->countdown;
        corral_depth_left_ = (int64_t)rt->max_depth - (int64_t)rt->depth;
        *slot = rt;
        fn(rt, arg, sp);
        /* unchecked loops may have run the countdown below 0 since the
         * last check: the call fails as it would have mid-loop */
        if (corral_fuel_ < 0) corral_rt_fuel((char *)rt + CORRAL_AOT_RT_SIZE);
        rt->countdown = corral_fuel_;
    }
    *slot = outer_running;
    rt->jmp = outer_jmp;
    corral_fuel_ = host_fuel;
    corral_depth_left_ = host_depth;
    return (int)rt->trap;
}

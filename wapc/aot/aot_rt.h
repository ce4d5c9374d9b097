/*
 * aot_rt.h - prelude of every AOT artifact (embedded as text by Corral and
 * compiled into the artifact, never into Corral itself). It is included
 * before wasm2c's generated C, whose own FUNC_PROLOGUE / FUNC_EPILOGUE /
 * CALL_INDIRECT definitions aot_compile.c renames away, so these take their
 * place:
 *   - a function entry spends one unit of fuel, counts call depth against
 *     the host's limit and checks the native stack guard: one combined
 *     branch;
 *   - a jump back to a loop start (CORRAL_LOOP_BACK, which aot_compile.c
 *     puts before every `goto w2c_L<n>`) spends one unit of fuel; the host's
 *     slow path runs every few thousand units (fuel, deadline, interrupt),
 *     as in the interpreter, which charges the same two events; loops the
 *     C compiler vectorises count their jumps unchecked and are charged
 *     when they end (CORRAL_LOOP_COUNT);
 *   - call_indirect reports the same three traps as the interpreter.
 *
 * Speed: while wasm code runs, the fuel countdown and the remaining call
 * depth live in two callee-saved registers reserved for the whole artifact
 * (GCC global register variables: r15, r14 on x86-64). Nothing the guest
 * stores can alias them, so loops keep them in registers and a call costs
 * no memory round trip. The entry (corral_rt_enter, aot_rt.c) saves the
 * host's values and restores them on every way out; host code preserves
 * them as the ABI requires of callee-saved registers. Each function takes
 * a local copy of memory 0's base (corral_m_, below; aot_compile.c points
 * wasm2c's loads and stores at it): a guest store cannot alias a local, so
 * the base is not reloaded after every store as instance->w2c_memory.data
 * would be.
 *
 * Memory accesses are not checked: a memory is a PROT_NONE reservation
 * covering every address a load or store can form (CORRAL_AOT_MEM_RESERVE),
 * made accessible as it grows; an access beyond the current size faults and
 * the host's signal handler turns the fault into "out of bounds memory
 * access" (wapc/aot/aot_signal.c). Built with -DCORRAL_AOT_EXPLICIT_CHECKS
 * (CORRAL_AOT_EXPLICIT_CHECKS=1 in corral_aot_compile's environment) the
 * artifact uses wasm2c's explicit checks instead.
 */
#ifndef CORRAL_AOT_RT_H
#define CORRAL_AOT_RT_H

#include <stdint.h>

#ifdef CORRAL_AOT_EXPLICIT_CHECKS
#define WASM_RT_MEMCHECK_SIGNAL_HANDLER 0
#else
#define WASM_RT_MEMCHECK_SIGNAL_HANDLER 1
#endif
#define WASM_RT_USE_STACK_DEPTH_COUNT 1

#if defined(__x86_64__)
register int64_t corral_fuel_ __asm__("r15");
register int64_t corral_depth_left_ __asm__("r14");
#define CORRAL_SP()                                                                             \
    __extension__({                                                                             \
        uintptr_t sp_;                                                                          \
        __asm__("mov %%rsp, %0" : "=r"(sp_));                                                   \
        sp_;                                                                                    \
    })
#else
#error "Corral's AOT runtime supports x86-64 only (it pins fuel and depth to r15/r14)"
#endif

#include "aot_abi.h"
#include "wasm-rt.h"

__attribute__((noreturn, cold)) void corral_rt_trap(int code);
__attribute__((cold, noinline)) void corral_rt_entry_slow(corral_aot_rt_t *rt, uintptr_t sp);
__attribute__((cold, noinline)) void corral_rt_fuel(void *instance);

#define CORRAL_LIKELY(x) __builtin_expect(!!(x), 1)
#define CORRAL_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* wasm2c's loads and stores address memory through this; aot_compile.c
 * passes them CORRAL_MEMREF(&instance->w2c_<memory>): &corral_m_, the
 * function's copy (the module has at most one memory, never imported on
 * this tier, and its data never moves). With explicit checks they need the
 * live size, so the instance's own memory. */
#define CORRAL_MEM_DATA(mem) ((mem)->data)
#ifdef CORRAL_AOT_EXPLICIT_CHECKS
#define CORRAL_MEMREF(m) (m)
#else
#define CORRAL_MEMREF(m) (&corral_m_)
#endif

/* One branch: any of fuel, depth or the stack distance going negative.
 * corral_m_: see CORRAL_MEM_DATA (unused, it costs nothing). corral_lf_:
 * back-edges of unchecked loops not yet taken from the fuel (below). */
#define FUNC_PROLOGUE                                                                           \
    wasm_rt_memory_t corral_m_ = {CORRAL_AOT_RT(instance)->mem_data};                           \
    int64_t corral_lf_ = 0;                                                                     \
    do {                                                                                        \
        corral_aot_rt_t *rt_ = CORRAL_AOT_RT(instance);                                         \
        uintptr_t sp_ = CORRAL_SP();                                                            \
        if (CORRAL_UNLIKELY((--corral_fuel_ | --corral_depth_left_ |                            \
                             (int64_t)(sp_ - rt_->stack_limit)) < 0))                           \
            corral_rt_entry_slow(rt_, sp_);                                                     \
    } while (0)

#define FUNC_EPILOGUE (corral_fuel_ -= corral_lf_, ++corral_depth_left_)

/* A checked back-edge also takes the unchecked loops' count; in a function
 * without such loops corral_lf_ is 0 and the compiler drops it. */
#define CORRAL_LOOP_BACK()                                                                      \
    do {                                                                                        \
        if (CORRAL_UNLIKELY((corral_fuel_ -= 1 + corral_lf_) < 0)) corral_rt_fuel(instance);    \
        corral_lf_ = 0;                                                                         \
    } while (0)

/* The back-edge of a loop the compiler vectorises with a constant count of
 * at most 2^20 iterations (aot_loops.c): counted into a local, which stays an induction variable
 * the vectoriser can handle, and checked at the next CORRAL_LOOP_BACK, the
 * function's return or the call's exit (corral_rt_enter). */
#define CORRAL_LOOP_COUNT() (++corral_lf_)

/* Loads inside such loops: wasm2c's load helpers end with an empty asm that
 * keeps a load whose value is unused (it must still fault when out of
 * bounds), and that asm stops vectorisation. aot_compile.c puts one of
 * these beside each DEFINE_LOAD(...) of wasm2c's, with its arguments. */
#define CORRAL_NB_LOAD(name, t1, t2, t3)                                                        \
    static inline t3 name##_nb(wasm_rt_memory_t *mem, u64 addr) {                               \
        MEMCHECK(mem, addr, t1);                                                                \
        t1 result;                                                                              \
        wasm_rt_memcpy(&result, &CORRAL_MEM_DATA(mem)[addr], sizeof(t1));                       \
        return (t3)(t2)result;                                                                  \
    }

#define CALL_INDIRECT(table, t, ft, x, ...)                                                     \
    ((CORRAL_UNLIKELY((x) >= table.size) ? corral_rt_trap(CORRAL_AOT_TRAP_UNDEFINED_ELEMENT)   \
                                         : (void)0),                                            \
     (CORRAL_UNLIKELY(!table.data[x].func) ? corral_rt_trap(CORRAL_AOT_TRAP_UNINITIALIZED_ELEMENT) \
                                           : (void)0),                                          \
     (CORRAL_UNLIKELY(table.data[x].func_type != func_types[ft])                                \
          ? corral_rt_trap(CORRAL_AOT_TRAP_INDIRECT_MISMATCH)                                   \
          : (void)0),                                                                           \
     ((t)table.data[x].func)(__VA_ARGS__))

#endif

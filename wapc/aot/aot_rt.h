/*
 * aot_rt.h - prelude of every AOT artifact (embedded as text by Corral and
 * compiled into the artifact, never into Corral itself). It is included
 * before wasm2c's generated C, whose own FUNC_PROLOGUE / FUNC_EPILOGUE /
 * CALL_INDIRECT definitions aot_compile.c renames away, so these take their
 * place:
 *   - a function entry counts call depth against the host's limit, checks
 *     the native stack guard and spends one unit of fuel;
 *   - a loop head (CORRAL_LOOP_HEAD, inserted after each loop label) spends
 *     one unit of fuel; the host's slow path runs every few thousand units
 *     (fuel, deadline, interrupt), as in the interpreter;
 *   - call_indirect reports the same three traps as the interpreter.
 * Memory accesses use wasm2c's explicit bounds checks
 * (WASM_RT_MEMCHECK_SIGNAL_HANDLER=0): no signal handlers in a host that
 * runs many threads.
 */
#ifndef CORRAL_AOT_RT_H
#define CORRAL_AOT_RT_H

#define WASM_RT_MEMCHECK_SIGNAL_HANDLER 0
#define WASM_RT_USE_STACK_DEPTH_COUNT 1

#include "aot_abi.h"
#include "wasm-rt.h"

__attribute__((noreturn, cold)) void corral_rt_trap(int code);
__attribute__((cold)) void corral_rt_slow(corral_aot_rt_t *rt);

#define CORRAL_LIKELY(x) __builtin_expect(!!(x), 1)
#define CORRAL_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define FUNC_PROLOGUE                                                                           \
    corral_aot_rt_t *corral_rt_ = CORRAL_AOT_RT(instance);                                      \
    if (CORRAL_UNLIKELY(++corral_rt_->depth > corral_rt_->max_depth ||                          \
                        (uintptr_t)__builtin_frame_address(0) < corral_rt_->stack_limit))       \
        corral_rt_trap(CORRAL_AOT_TRAP_STACK_EXHAUSTED);                                        \
    if (CORRAL_UNLIKELY(--corral_rt_->countdown < 0)) corral_rt_slow(corral_rt_)

#define FUNC_EPILOGUE (--corral_rt_->depth)

#define CORRAL_LOOP_HEAD()                                                                      \
    do {                                                                                        \
        if (CORRAL_UNLIKELY(--CORRAL_AOT_RT(instance)->countdown < 0))                          \
            corral_rt_slow(CORRAL_AOT_RT(instance));                                            \
    } while (0)

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

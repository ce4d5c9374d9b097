/*
 * vm_ops.h - the internal instruction set that vm_compile.c emits and
 * vm_interp.c executes. Each instruction is a handler address followed by
 * operand words: slot indices relative to the frame pointer, immediates, or
 * jump offsets in words relative to the instruction's first word. jifl_*,
 * br_if_loop and jmp_loop are the backward (loop) branches: they also count
 * fuel and check limits. Loads have _ss/_si forms that fold a preceding
 * i32.add into the address (same wrap-around semantics). The list
 * is an X-macro so the compiler's enum and the interpreter's label table
 * cannot drift apart.
 */
#ifndef CORRAL_VM_OPS_H
#define CORRAL_VM_OPS_H

/* Integer binary operators: each has an _ss (slot, slot) and an _si
 * (slot, immediate) form. */
#define VM_IBIN(X, T)                                                                              \
    X(T##_add) X(T##_sub) X(T##_mul) X(T##_and) X(T##_or) X(T##_xor) X(T##_shl) X(T##_shr_s)      \
    X(T##_shr_u) X(T##_rotl) X(T##_rotr) X(T##_div_s) X(T##_div_u) X(T##_rem_s) X(T##_rem_u)      \
    X(T##_eq) X(T##_ne) X(T##_lt_s) X(T##_lt_u) X(T##_gt_s) X(T##_gt_u) X(T##_le_s) X(T##_le_u)   \
    X(T##_ge_s) X(T##_ge_u)

/* Integer comparisons that fuse with a following br_if / if. */
#define VM_ICMP(X, T)                                                                              \
    X(T##_eq) X(T##_ne) X(T##_lt_s) X(T##_lt_u) X(T##_gt_s) X(T##_gt_u) X(T##_le_s) X(T##_le_u)   \
    X(T##_ge_s) X(T##_ge_u)

#define VM_FBIN(X, T)                                                                              \
    X(T##_add) X(T##_sub) X(T##_mul) X(T##_div) X(T##_min) X(T##_max) X(T##_copysign) X(T##_eq)   \
    X(T##_ne) X(T##_lt) X(T##_gt) X(T##_le) X(T##_ge)

#define VM_UNOPS(X)                                                                                \
    X(i32_clz) X(i32_ctz) X(i32_popcnt) X(i32_eqz) X(i64_clz) X(i64_ctz) X(i64_popcnt) X(i64_eqz)  \
    X(f32_abs) X(f32_neg) X(f32_ceil) X(f32_floor) X(f32_trunc) X(f32_nearest) X(f32_sqrt)         \
    X(f64_abs) X(f64_neg) X(f64_ceil) X(f64_floor) X(f64_trunc) X(f64_nearest) X(f64_sqrt)         \
    X(i32_wrap_i64) X(i32_trunc_f32_s) X(i32_trunc_f32_u) X(i32_trunc_f64_s) X(i32_trunc_f64_u)    \
    X(i64_extend_i32_s) X(i64_extend_i32_u) X(i64_trunc_f32_s) X(i64_trunc_f32_u)                  \
    X(i64_trunc_f64_s) X(i64_trunc_f64_u) X(f32_convert_i32_s) X(f32_convert_i32_u)                \
    X(f32_convert_i64_s) X(f32_convert_i64_u) X(f32_demote_f64) X(f64_convert_i32_s)               \
    X(f64_convert_i32_u) X(f64_convert_i64_s) X(f64_convert_i64_u) X(f64_promote_f32)              \
    X(i32_extend8_s) X(i32_extend16_s) X(i64_extend8_s) X(i64_extend16_s) X(i64_extend32_s)        \
    X(i32_trunc_sat_f32_s) X(i32_trunc_sat_f32_u) X(i32_trunc_sat_f64_s) X(i32_trunc_sat_f64_u)    \
    X(i64_trunc_sat_f32_s) X(i64_trunc_sat_f32_u) X(i64_trunc_sat_f64_s) X(i64_trunc_sat_f64_u)    \
    X(ref_is_null)

#define VM_LOADS(X)                                                                                \
    X(i32_load) X(i64_load) X(f32_load) X(f64_load) X(i32_load8_s) X(i32_load8_u)                  \
    X(i32_load16_s) X(i32_load16_u) X(i64_load8_s) X(i64_load8_u) X(i64_load16_s)                  \
    X(i64_load16_u) X(i64_load32_s) X(i64_load32_u)

#define VM_STORES(X)                                                                               \
    X(i32_store) X(i64_store) X(f32_store) X(f64_store) X(i32_store8) X(i32_store16)               \
    X(i64_store8) X(i64_store16) X(i64_store32)


/* The full list. X_ is defined by the includer. */
#define VM_OPS_MISC                                                                                \
    X_(unreachable) X_(nop) X_(copy) X_(const) X_(jmp) X_(br_if) X_(br_unless) X_(br_table)       \
    X_(loop) X_(call) X_(call_ext) X_(call_indirect) X_(ret) X_(select) X_(global_get)            \
    X_(global_set) X_(memory_size) X_(memory_grow) X_(memory_copy) X_(memory_fill)                 \
    X_(memory_init) X_(data_drop) X_(table_get) X_(table_set) X_(table_size) X_(table_grow)        \
    X_(table_fill) X_(table_copy) X_(table_init) X_(elem_drop) X_(ref_func) X_(jif_i32_eqz)        \
    X_(jif_i32_nez) X_(jif_i64_eqz) X_(jif_i64_nez) X_(copy2) X_(jmp_loop) X_(br_if_loop)          \
    X_(jifl_i32_eqz) X_(jifl_i32_nez) X_(jifl_i64_eqz) X_(jifl_i64_nez)

#define VM_X_ONE_(n) X_(n)
#define VM_X_SS_(n) X_(n##_ss) X_(n##_si)
#define VM_X_JIF_(n) X_(jif_##n##_ss) X_(jif_##n##_si)
#define VM_X_JIFL_(n) X_(jifl_##n##_ss) X_(jifl_##n##_si)
#define VM_X_SI1_(n) X_(n##_si)

#define VM_OPS                                                                                     \
    VM_OPS_MISC                                                                                    \
    VM_IBIN(VM_X_SS_, i32) VM_IBIN(VM_X_SS_, i64)                                                  \
    VM_FBIN(VM_X_ONE_, f32) VM_FBIN(VM_X_ONE_, f64)                                                \
    VM_UNOPS(VM_X_ONE_) VM_LOADS(VM_X_ONE_) VM_STORES(VM_X_ONE_)                                   \
    VM_ICMP(VM_X_JIF_, i32) VM_ICMP(VM_X_JIF_, i64)                                                \
    VM_ICMP(VM_X_JIFL_, i32) VM_ICMP(VM_X_JIFL_, i64) VM_LOADS(VM_X_SS_) VM_STORES(VM_X_SI1_)

#define X_(n) OP_##n,
enum vm_op { VM_OPS OP_COUNT_ };
#undef X_

#endif

/*
 * vm_interp.c - the interpreter: runs the threaded slot code made by
 * vm_compile.c. One C function; every instruction is a label whose address
 * the code stream holds, and each handler ends by jumping straight to the
 * next one (GCC/clang labels-as-values). Operands are frame slots (fp[i]);
 * wasm calls push a vm_frame_t on the exec's own frame array and never
 * recurse on the C stack. Limits are checked only at function entries and
 * loop heads through a countdown whose slow path lives in vm_runtime.c.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm_int.h"
#include "vm_ops.h"

static _Thread_local char tl_msg[CORRAL_ERR_MSG_MAX];

void vm_trap_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tl_msg, sizeof tl_msg, fmt, ap);
    va_end(ap);
}
const char *vm_trap_text(void) { return tl_msg; }
void vm_trap_clear(void) { tl_msg[0] = 0; }

static inline float F32(uint64_t s)
{
    uint32_t u = (uint32_t)s;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline double F64(uint64_t s)
{
    double d;
    memcpy(&d, &s, 8);
    return d;
}
static inline uint64_t UF32(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline uint64_t UF64(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

/* libm may hand a signalling NaN back unchanged; wasm wants it quieted. */
static inline float fq32(float r, float a) { return a != a ? a + a : r; }
static inline double fq64(double r, double a) { return a != a ? a + a : r; }

static inline float wminf(float a, float b)
{
    if (a != a || b != b) return a + b;
    if (a == 0 && b == 0) return signbit(a) ? a : b;
    return a < b ? a : b;
}
static inline float wmaxf(float a, float b)
{
    if (a != a || b != b) return a + b;
    if (a == 0 && b == 0) return signbit(a) ? b : a;
    return a > b ? a : b;
}
static inline double wmin(double a, double b)
{
    if (a != a || b != b) return a + b;
    if (a == 0 && b == 0) return signbit(a) ? a : b;
    return a < b ? a : b;
}
static inline double wmax(double a, double b)
{
    if (a != a || b != b) return a + b;
    if (a == 0 && b == 0) return signbit(a) ? b : a;
    return a > b ? a : b;
}

static inline uint32_t rotl32(uint32_t a, uint32_t b) { b &= 31; return (a << b) | (a >> ((32 - b) & 31)); }
static inline uint32_t rotr32(uint32_t a, uint32_t b) { b &= 31; return (a >> b) | (a << ((32 - b) & 31)); }
static inline uint64_t rotl64(uint64_t a, uint64_t b) { b &= 63; return (a << b) | (a >> ((64 - b) & 63)); }
static inline uint64_t rotr64(uint64_t a, uint64_t b) { b &= 63; return (a >> b) | (a << ((64 - b) & 63)); }

static uint64_t elem_value(corral_vm_instance_t *inst, const vm_cexpr_t *e)
{
    switch (e->kind) {
    case CE_REFFUNC: return (uint64_t)(uintptr_t)inst->funcs[e->idx];
    case CE_GLOBAL: return inst->globals[e->idx]->val;
    default: return e->val;
    }
}

#ifdef VM_PROFILE
/* Developer aid (build with -DVM_PROFILE): counts executed instructions per
 * handler and prints the histogram at exit. Single-threaded use only. */
#define X_(n) #n,
static const char *const prof_names[] = {VM_OPS};
#undef X_
static uint64_t prof_count[OP_COUNT_];
static const void *const *prof_tbl;
static void prof_dump(void)
{
    uint64_t total = 0;
    for (int i = 0; i < OP_COUNT_; i++) total += prof_count[i];
    for (int k = 0; k < 40; k++) {
        int best = -1;
        for (int i = 0; i < OP_COUNT_; i++)
            if (prof_count[i] && (best < 0 || prof_count[i] > prof_count[best])) best = i;
        if (best < 0) break;
        fprintf(stderr, "%-24s %12llu %5.1f%%\n", prof_names[best], (unsigned long long)prof_count[best],
                100.0 * (double)prof_count[best] / (double)total);
        prof_count[best] = 0;
    }
}
static void vm_prof_hit(const void *const *tbl, uint64_t h)
{
    if (!prof_tbl) {
        prof_tbl = tbl;
        atexit(prof_dump);
    }
    for (int i = 0; i < OP_COUNT_; i++)
        if ((uint64_t)(uintptr_t)tbl[i] == h) {
            prof_count[i]++;
            return;
        }
}
#endif

static corral_status_t interp(vm_exec_t *ex, corral_vm_instance_t *inst, vm_func_t *entry,
                              uint64_t *sp, const void *const **tbl_out)
{
#define X_(n) &&op_##n,
    static const void *const tbl[] = {VM_OPS};
#undef X_
    if (tbl_out) {
        *tbl_out = tbl;
        return CORRAL_OK;
    }
    const uint64_t *ip;
    uint64_t *fp = sp;
    uint8_t *mb = NULL;
    uint64_t ms = 0;
    const vm_code_t *codes = inst->mod->codes;
    vm_frame_t *frames = ex->frames;
    uint64_t *stack_end = ex->stack_end;
    uint32_t depth = 0, maxdepth = ex->max_depth;
    int64_t budget = ex->countdown;
    corral_status_t st = CORRAL_OK;
    vm_func_t *fn;
    uint64_t *nfp;
    const uint64_t *ret;
    const vm_code_t *cd;

#define RELOAD()                                                                                   \
    do {                                                                                           \
        vm_memory_t *m0_ = inst->mem0;                                                             \
        if (m0_) {                                                                                 \
            mb = m0_->base;                                                                        \
            ms = m0_->size;                                                                        \
        }                                                                                          \
    } while (0)
#ifdef VM_PROFILE
#define DISPATCH()                                                                                 \
    do {                                                                                           \
        vm_prof_hit(tbl, ip[0]);                                                                   \
        goto *(const void *)(uintptr_t)ip[0];                                                      \
    } while (0)
#else
#define DISPATCH() goto *(const void *)(uintptr_t)ip[0]
#endif
#define NEXT(n)                                                                                    \
    do {                                                                                           \
        ip += (n);                                                                                 \
        DISPATCH();                                                                                \
    } while (0)
#define TRAP(s)                                                                                    \
    do {                                                                                           \
        st = (s);                                                                                  \
        tl_msg[0] = 0; /* plain trap: its status text; drop any stale message */                  \
        goto trap;                                                                                 \
    } while (0)
#define TICK()                                                                                     \
    do {                                                                                           \
        if (CORRAL_UNLIKELY(--budget < 0)) {                                                      \
            ex->countdown = budget;                                                                \
            st = vm_exec_slow(ex);                                                                 \
            if (st != CORRAL_OK) goto trap;                                                        \
            budget = ex->countdown;                                                                \
        }                                                                                          \
    } while (0)
#define S(i) fp[ip[i]]

    RELOAD();
    cd = entry->code;
    if (fp + cd->frame > stack_end) TRAP(CORRAL_ERR_TRAP_STACK_EXHAUSTED);
    for (uint32_t i = cd->nparams; i < cd->nlocals; i++) fp[i] = 0;
    ip = cd->code;
    TICK();
    DISPATCH();

op_unreachable:
    TRAP(CORRAL_ERR_TRAP_UNREACHABLE);
op_nop:
    NEXT(1);
op_copy:
    S(1) = S(2);
    NEXT(3);
op_copy2:
    S(1) = S(2);
    S(3) = S(4);
    NEXT(5);
op_const:
    S(1) = ip[2];
    NEXT(3);
op_jmp:
    ip += (int64_t)ip[1];
    DISPATCH();
op_br_if:
    if ((uint32_t)S(1)) ip += (int64_t)ip[2];
    else ip += 3;
    DISPATCH();
op_br_unless:
    if (!(uint32_t)S(1)) ip += (int64_t)ip[2];
    else ip += 3;
    DISPATCH();
op_br_table: {
    uint32_t i = (uint32_t)S(1), n = (uint32_t)ip[2];
    if (i > n) i = n;
    ip += (int64_t)ip[3 + i];
    DISPATCH();
}
op_loop: /* unused: loops tick on their back-edges */
    TICK();
    NEXT(1);

#define ENTER(CD, NFP, RET)                                                                        \
    do {                                                                                           \
        if (CORRAL_UNLIKELY(depth >= maxdepth || (NFP) + (CD)->frame > stack_end))                 \
            TRAP(CORRAL_ERR_TRAP_STACK_EXHAUSTED);                                                 \
        frames[depth].ip = (RET);                                                                  \
        frames[depth].fp = fp;                                                                     \
        frames[depth].inst = inst;                                                                 \
        depth++;                                                                                   \
        fp = (NFP);                                                                                \
        for (uint32_t i_ = (CD)->nparams; i_ < (CD)->nlocals; i_++) fp[i_] = 0;                    \
        ip = (CD)->code;                                                                           \
        TICK();                                                                                    \
    } while (0)

op_call:
    cd = &codes[ip[1]];
    nfp = fp + ip[2];
    ENTER(cd, nfp, ip + 3);
    DISPATCH();
op_call_ext:
    fn = inst->funcs[ip[1]];
    nfp = fp + ip[2];
    ret = ip + 3;
    goto call_fn;
op_call_indirect: {
    vm_table_t *t = inst->tables[ip[3]];
    uint32_t i = (uint32_t)S(4);
    if (i >= t->size) TRAP(CORRAL_ERR_TRAP_UNDEFINED_ELEMENT);
    fn = (vm_func_t *)(uintptr_t)t->elems[i];
    if (!fn) TRAP(CORRAL_ERR_TRAP_UNINITIALIZED_ELEMENT);
    if (!vm_functype_eq(fn->type, (const corral_vm_functype_t *)(uintptr_t)ip[1]))
        TRAP(CORRAL_ERR_TRAP_INDIRECT_MISMATCH);
    nfp = fp + ip[2];
    ret = ip + 5;
    goto call_fn;
}
call_fn:
    if (fn->host) {
        if (CORRAL_UNLIKELY(nfp + (fn->type->nparams > fn->type->nresults ? fn->type->nparams : fn->type->nresults) > stack_end))
            TRAP(CORRAL_ERR_TRAP_STACK_EXHAUSTED);
        st = fn->host(inst, nfp, fn->user);
        if (CORRAL_UNLIKELY(st != CORRAL_OK)) goto trap;
        /* A host function may block (another actor, a provider): look at the
         * clock now, not up to VM_CHECK_EVERY loop iterations later. */
        if (ex->deadline || atomic_load_explicit(ex->interrupt, memory_order_relaxed)) {
            st = vm_exec_check_time(ex);
            if (st != CORRAL_OK) goto trap;
        }
        RELOAD();
        ip = ret;
        DISPATCH();
    }
    cd = fn->code;
    ENTER(cd, nfp, ret);
    if (fn->inst != inst) {
        inst = fn->inst;
        codes = inst->mod->codes;
        RELOAD();
    }
    DISPATCH();
op_ret:
    if (CORRAL_UNLIKELY(depth == 0)) goto done;
    depth--;
    ip = frames[depth].ip;
    fp = frames[depth].fp;
    if (frames[depth].inst != inst) {
        inst = frames[depth].inst;
        codes = inst->mod->codes;
    }
    RELOAD();
    DISPATCH();
op_select:
    S(1) = (uint32_t)S(4) ? S(2) : S(3);
    NEXT(5);
op_global_get:
    S(1) = inst->globals[ip[2]]->val;
    NEXT(3);
op_global_set:
    inst->globals[ip[1]]->val = S(2);
    NEXT(3);
op_memory_size:
    S(1) = ms / VM_PAGE;
    NEXT(2);
op_memory_grow: {
    int32_t r = vm_memory_grow(inst, inst->mem0, (uint32_t)S(2));
    RELOAD();
    S(1) = (uint32_t)r;
    NEXT(3);
}
op_memory_copy: {
    uint64_t d = (uint32_t)S(1), s = (uint32_t)S(2), n = (uint32_t)S(3);
    if (d + n > ms || s + n > ms) TRAP(CORRAL_ERR_TRAP_MEMORY_OOB);
    memmove(mb + d, mb + s, n);
    NEXT(4);
}
op_memory_fill: {
    uint64_t d = (uint32_t)S(1), n = (uint32_t)S(3);
    if (d + n > ms) TRAP(CORRAL_ERR_TRAP_MEMORY_OOB);
    memset(mb + d, (int)(uint8_t)S(2), n);
    NEXT(4);
}
op_memory_init: {
    const vm_data_t *dd = &inst->mod->datas[ip[1]];
    uint64_t len = inst->dropped_data[ip[1]] ? 0 : dd->len;
    uint64_t d = (uint32_t)S(2), s = (uint32_t)S(3), n = (uint32_t)S(4);
    if (s + n > len || d + n > ms) TRAP(CORRAL_ERR_TRAP_MEMORY_OOB);
    if (n) memcpy(mb + d, dd->bytes + s, n);
    NEXT(5);
}
op_data_drop:
    inst->dropped_data[ip[1]] = 1;
    NEXT(2);
op_table_get: {
    vm_table_t *t = inst->tables[ip[2]];
    uint32_t i = (uint32_t)S(3);
    if (i >= t->size) TRAP(CORRAL_ERR_TRAP_TABLE_OOB);
    S(1) = t->elems[i];
    NEXT(4);
}
op_table_set: {
    vm_table_t *t = inst->tables[ip[1]];
    uint32_t i = (uint32_t)S(2);
    if (i >= t->size) TRAP(CORRAL_ERR_TRAP_TABLE_OOB);
    t->elems[i] = S(3);
    NEXT(4);
}
op_table_size:
    S(1) = inst->tables[ip[2]]->size;
    NEXT(3);
op_table_grow: {
    vm_table_t *t = inst->tables[ip[2]];
    int32_t r = vm_table_grow(t, (uint32_t)S(4), S(3));
    S(1) = (uint32_t)r;
    NEXT(5);
}
op_table_fill: {
    vm_table_t *t = inst->tables[ip[1]];
    uint64_t i = (uint32_t)S(2), v = S(3), n = (uint32_t)S(4);
    if (i + n > t->size) TRAP(CORRAL_ERR_TRAP_TABLE_OOB);
    for (uint64_t k = 0; k < n; k++) t->elems[i + k] = v;
    NEXT(5);
}
op_table_copy: {
    vm_table_t *td = inst->tables[ip[1]], *ts = inst->tables[ip[2]];
    uint64_t d = (uint32_t)S(3), s = (uint32_t)S(4), n = (uint32_t)S(5);
    if (d + n > td->size || s + n > ts->size) TRAP(CORRAL_ERR_TRAP_TABLE_OOB);
    if (n) memmove(td->elems + d, ts->elems + s, n * 8);
    NEXT(6);
}
op_table_init: {
    vm_table_t *t = inst->tables[ip[1]];
    const vm_elem_t *e = &inst->mod->elems[ip[2]];
    uint64_t len = inst->dropped_elem[ip[2]] ? 0 : e->count;
    uint64_t d = (uint32_t)S(3), s = (uint32_t)S(4), n = (uint32_t)S(5);
    if (s + n > len || d + n > t->size) TRAP(CORRAL_ERR_TRAP_TABLE_OOB);
    for (uint64_t k = 0; k < n; k++) t->elems[d + k] = elem_value(inst, &e->items[s + k]);
    NEXT(6);
}
op_elem_drop:
    inst->dropped_elem[ip[1]] = 1;
    NEXT(2);
op_ref_func:
    S(1) = (uint64_t)(uintptr_t)inst->funcs[ip[2]];
    NEXT(3);

    /* ---- integer binary operators ---- */
#define IB(T, U, name, pre, expr)                                                                  \
    op_##T##_##name##_ss: {                                                                        \
        U a = (U)S(2), b = (U)S(3);                                                                \
        pre;                                                                                       \
        S(1) = (U)(expr);                                                                          \
        NEXT(4);                                                                                   \
    }                                                                                              \
    op_##T##_##name##_si: {                                                                        \
        U a = (U)S(2), b = (U)ip[3];                                                               \
        pre;                                                                                       \
        S(1) = (U)(expr);                                                                          \
        NEXT(4);                                                                                   \
    }
#define IBALL(T, U, SI, BITS, ROTL, ROTR)                                                          \
    IB(T, U, add, , a + b)                                                                         \
    IB(T, U, sub, , a - b)                                                                         \
    IB(T, U, mul, , a * b)                                                                         \
    IB(T, U, and, , a & b)                                                                         \
    IB(T, U, or, , a | b)                                                                          \
    IB(T, U, xor, , a ^ b)                                                                         \
    IB(T, U, shl, , a << (b & (BITS - 1)))                                                         \
    IB(T, U, shr_s, , (U)((SI)a >> (b & (BITS - 1))))                                              \
    IB(T, U, shr_u, , a >> (b & (BITS - 1)))                                                       \
    IB(T, U, rotl, , ROTL(a, b))                                                                   \
    IB(T, U, rotr, , ROTR(a, b))                                                                   \
    IB(T, U, div_s,                                                                                \
       if (b == 0) TRAP(CORRAL_ERR_TRAP_DIV_ZERO);                                                 \
       if ((SI)b == -1 && a == (U)1 << (BITS - 1)) TRAP(CORRAL_ERR_TRAP_INT_OVERFLOW),             \
       (U)((SI)a / (SI)b))                                                                         \
    IB(T, U, div_u, if (b == 0) TRAP(CORRAL_ERR_TRAP_DIV_ZERO), a / b)                             \
    IB(T, U, rem_s, if (b == 0) TRAP(CORRAL_ERR_TRAP_DIV_ZERO),                                    \
       (SI)b == -1 ? 0 : (U)((SI)a % (SI)b))                                                       \
    IB(T, U, rem_u, if (b == 0) TRAP(CORRAL_ERR_TRAP_DIV_ZERO), a % b)                             \
    IB(T, U, eq, , a == b)                                                                         \
    IB(T, U, ne, , a != b)                                                                         \
    IB(T, U, lt_s, , (SI)a < (SI)b)                                                                \
    IB(T, U, lt_u, , a < b)                                                                        \
    IB(T, U, gt_s, , (SI)a > (SI)b)                                                                \
    IB(T, U, gt_u, , a > b)                                                                        \
    IB(T, U, le_s, , (SI)a <= (SI)b)                                                               \
    IB(T, U, le_u, , a <= b)                                                                       \
    IB(T, U, ge_s, , (SI)a >= (SI)b)                                                               \
    IB(T, U, ge_u, , a >= b)

    IBALL(i32, uint32_t, int32_t, 32, rotl32, rotr32)
    IBALL(i64, uint64_t, int64_t, 64, rotl64, rotr64)

    /* ---- compare and jump (jifl: backward to a loop, counts fuel) ---- */
#define JIF(P, T, U, name, expr, TK)                                                               \
    op_##P##_##T##_##name##_ss: {                                                                  \
        U a = (U)S(1), b = (U)S(2);                                                                \
        if (expr) {                                                                                \
            ip += (int64_t)ip[3];                                                                  \
            TK;                                                                                    \
        } else                                                                                     \
            ip += 4;                                                                               \
        DISPATCH();                                                                                \
    }                                                                                              \
    op_##P##_##T##_##name##_si: {                                                                  \
        U a = (U)S(1), b = (U)ip[2];                                                               \
        if (expr) {                                                                                \
            ip += (int64_t)ip[3];                                                                  \
            TK;                                                                                    \
        } else                                                                                     \
            ip += 4;                                                                               \
        DISPATCH();                                                                                \
    }
#define JIFALL(P, T, U, SI, TK)                                                                    \
    JIF(P, T, U, eq, a == b, TK)                                                                   \
    JIF(P, T, U, ne, a != b, TK)                                                                   \
    JIF(P, T, U, lt_s, (SI)a < (SI)b, TK)                                                          \
    JIF(P, T, U, lt_u, a < b, TK)                                                                  \
    JIF(P, T, U, gt_s, (SI)a > (SI)b, TK)                                                          \
    JIF(P, T, U, gt_u, a > b, TK)                                                                  \
    JIF(P, T, U, le_s, (SI)a <= (SI)b, TK)                                                         \
    JIF(P, T, U, le_u, a <= b, TK)                                                                 \
    JIF(P, T, U, ge_s, (SI)a >= (SI)b, TK)                                                         \
    JIF(P, T, U, ge_u, a >= b, TK)
    JIFALL(jif, i32, uint32_t, int32_t, (void)0)
    JIFALL(jif, i64, uint64_t, int64_t, (void)0)
    JIFALL(jifl, i32, uint32_t, int32_t, TICK())
    JIFALL(jifl, i64, uint64_t, int64_t, TICK())
#define JZ(name, cond, TK)                                                                         \
    op_##name:                                                                                     \
    if (cond) {                                                                                    \
        ip += (int64_t)ip[2];                                                                      \
        TK;                                                                                        \
    } else                                                                                         \
        ip += 3;                                                                                   \
    DISPATCH();
    JZ(jif_i32_eqz, !(uint32_t)S(1), (void)0)
    JZ(jif_i32_nez, (uint32_t)S(1), (void)0)
    JZ(jif_i64_eqz, !S(1), (void)0)
    JZ(jif_i64_nez, S(1), (void)0)
    JZ(jifl_i32_eqz, !(uint32_t)S(1), TICK())
    JZ(jifl_i32_nez, (uint32_t)S(1), TICK())
    JZ(jifl_i64_eqz, !S(1), TICK())
    JZ(jifl_i64_nez, S(1), TICK())
    JZ(br_if_loop, (uint32_t)S(1), TICK())
op_jmp_loop:
    ip += (int64_t)ip[1];
    TICK();
    DISPATCH();

    /* ---- float binary operators ---- */
#define FB(T, name, expr)                                                                          \
    op_##T##_##name: {                                                                             \
        uint64_t ua = S(2), ub = S(3);                                                             \
        S(1) = (expr);                                                                             \
        NEXT(4);                                                                                   \
    }
    FB(f32, add, UF32(F32(ua) + F32(ub)))
    FB(f32, sub, UF32(F32(ua) - F32(ub)))
    FB(f32, mul, UF32(F32(ua) * F32(ub)))
    FB(f32, div, UF32(F32(ua) / F32(ub)))
    FB(f32, min, UF32(wminf(F32(ua), F32(ub))))
    FB(f32, max, UF32(wmaxf(F32(ua), F32(ub))))
    FB(f32, copysign, (uint32_t)((ua & 0x7fffffffu) | (ub & 0x80000000u)))
    FB(f32, eq, F32(ua) == F32(ub))
    FB(f32, ne, F32(ua) != F32(ub))
    FB(f32, lt, F32(ua) < F32(ub))
    FB(f32, gt, F32(ua) > F32(ub))
    FB(f32, le, F32(ua) <= F32(ub))
    FB(f32, ge, F32(ua) >= F32(ub))
    FB(f64, add, UF64(F64(ua) + F64(ub)))
    FB(f64, sub, UF64(F64(ua) - F64(ub)))
    FB(f64, mul, UF64(F64(ua) * F64(ub)))
    FB(f64, div, UF64(F64(ua) / F64(ub)))
    FB(f64, min, UF64(wmin(F64(ua), F64(ub))))
    FB(f64, max, UF64(wmax(F64(ua), F64(ub))))
    FB(f64, copysign, (ua & 0x7fffffffffffffffull) | (ub & 0x8000000000000000ull))
    FB(f64, eq, F64(ua) == F64(ub))
    FB(f64, ne, F64(ua) != F64(ub))
    FB(f64, lt, F64(ua) < F64(ub))
    FB(f64, gt, F64(ua) > F64(ub))
    FB(f64, le, F64(ua) <= F64(ub))
    FB(f64, ge, F64(ua) >= F64(ub))

    /* ---- unary operators and conversions ---- */
#define UN(name, expr)                                                                             \
    op_##name: {                                                                                   \
        uint64_t a = S(2);                                                                         \
        S(1) = (expr);                                                                             \
        NEXT(3);                                                                                   \
    }
#define UNT(name, pre, expr)                                                                       \
    op_##name: {                                                                                   \
        uint64_t a = S(2);                                                                         \
        pre;                                                                                       \
        S(1) = (expr);                                                                             \
        NEXT(3);                                                                                   \
    }
    UN(i32_clz, (uint32_t)a ? (uint64_t)__builtin_clz((uint32_t)a) : 32)
    UN(i32_ctz, (uint32_t)a ? (uint64_t)__builtin_ctz((uint32_t)a) : 32)
    UN(i32_popcnt, (uint64_t)__builtin_popcount((uint32_t)a))
    UN(i32_eqz, (uint32_t)a == 0)
    UN(i64_clz, a ? (uint64_t)__builtin_clzll(a) : 64)
    UN(i64_ctz, a ? (uint64_t)__builtin_ctzll(a) : 64)
    UN(i64_popcnt, (uint64_t)__builtin_popcountll(a))
    UN(i64_eqz, a == 0)
    UN(f32_abs, a & 0x7fffffffu)
    UN(f32_neg, (a ^ 0x80000000u) & 0xffffffffu)
    UN(f32_ceil, UF32(fq32(ceilf(F32(a)), F32(a))))
    UN(f32_floor, UF32(fq32(floorf(F32(a)), F32(a))))
    UN(f32_trunc, UF32(fq32(truncf(F32(a)), F32(a))))
    UN(f32_nearest, UF32(fq32(nearbyintf(F32(a)), F32(a))))
    UN(f32_sqrt, UF32(fq32(sqrtf(F32(a)), F32(a))))
    UN(f64_abs, a & 0x7fffffffffffffffull)
    UN(f64_neg, a ^ 0x8000000000000000ull)
    UN(f64_ceil, UF64(fq64(ceil(F64(a)), F64(a))))
    UN(f64_floor, UF64(fq64(floor(F64(a)), F64(a))))
    UN(f64_trunc, UF64(fq64(trunc(F64(a)), F64(a))))
    UN(f64_nearest, UF64(nearbyint(F64(a))))
    UN(f64_sqrt, UF64(fq64(sqrt(F64(a)), F64(a))))
    UN(i32_wrap_i64, (uint32_t)a)
    UNT(i32_trunc_f32_s, float x = F32(a); if (x != x) TRAP(CORRAL_ERR_TRAP_INVALID_CONVERSION);
        if (!(x >= -2147483648.0f && x < 2147483648.0f)) TRAP(CORRAL_ERR_TRAP_INT_OVERFLOW),
        (uint32_t)(int32_t)x)
    UNT(i32_trunc_f32_u, float x = F32(a); if (x != x) TRAP(CORRAL_ERR_TRAP_INVALID_CONVERSION);
        if (!(x > -1.0f && x < 4294967296.0f)) TRAP(CORRAL_ERR_TRAP_INT_OVERFLOW), (uint32_t)x)
    UNT(i32_trunc_f64_s, double x = F64(a); if (x != x) TRAP(CORRAL_ERR_TRAP_INVALID_CONVERSION);
        if (!(x > -2147483649.0 && x < 2147483648.0)) TRAP(CORRAL_ERR_TRAP_INT_OVERFLOW),
        (uint32_t)(int32_t)x)
    UNT(i32_trunc_f64_u, double x = F64(a); if (x != x) TRAP(CORRAL_ERR_TRAP_INVALID_CONVERSION);
        if (!(x > -1.0 && x < 4294967296.0)) TRAP(CORRAL_ERR_TRAP_INT_OVERFLOW), (uint32_t)x)
    UN(i64_extend_i32_s, (uint64_t)(int64_t)(int32_t)(uint32_t)a)
    UN(i64_extend_i32_u, (uint32_t)a)
    UNT(i64_trunc_f32_s, float x = F32(a); if (x != x) TRAP(CORRAL_ERR_TRAP_INVALID_CONVERSION);
        if (!(x >= -9223372036854775808.0f && x < 9223372036854775808.0f))
            TRAP(CORRAL_ERR_TRAP_INT_OVERFLOW),
        (uint64_t)(int64_t)x)
    UNT(i64_trunc_f32_u, float x = F32(a); if (x != x) TRAP(CORRAL_ERR_TRAP_INVALID_CONVERSION);
        if (!(x > -1.0f && x < 18446744073709551616.0f)) TRAP(CORRAL_ERR_TRAP_INT_OVERFLOW),
        (uint64_t)x)
    UNT(i64_trunc_f64_s, double x = F64(a); if (x != x) TRAP(CORRAL_ERR_TRAP_INVALID_CONVERSION);
        if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0))
            TRAP(CORRAL_ERR_TRAP_INT_OVERFLOW),
        (uint64_t)(int64_t)x)
    UNT(i64_trunc_f64_u, double x = F64(a); if (x != x) TRAP(CORRAL_ERR_TRAP_INVALID_CONVERSION);
        if (!(x > -1.0 && x < 18446744073709551616.0)) TRAP(CORRAL_ERR_TRAP_INT_OVERFLOW),
        (uint64_t)x)
    UN(f32_convert_i32_s, UF32((float)(int32_t)(uint32_t)a))
    UN(f32_convert_i32_u, UF32((float)(uint32_t)a))
    UN(f32_convert_i64_s, UF32((float)(int64_t)a))
    UN(f32_convert_i64_u, UF32((float)a))
    UN(f32_demote_f64, UF32((float)F64(a)))
    UN(f64_convert_i32_s, UF64((double)(int32_t)(uint32_t)a))
    UN(f64_convert_i32_u, UF64((double)(uint32_t)a))
    UN(f64_convert_i64_s, UF64((double)(int64_t)a))
    UN(f64_convert_i64_u, UF64((double)a))
    UN(f64_promote_f32, UF64((double)F32(a)))
    UN(i32_extend8_s, (uint32_t)(int32_t)(int8_t)(uint8_t)a)
    UN(i32_extend16_s, (uint32_t)(int32_t)(int16_t)(uint16_t)a)
    UN(i64_extend8_s, (uint64_t)(int64_t)(int8_t)(uint8_t)a)
    UN(i64_extend16_s, (uint64_t)(int64_t)(int16_t)(uint16_t)a)
    UN(i64_extend32_s, (uint64_t)(int64_t)(int32_t)(uint32_t)a)
    UNT(i32_trunc_sat_f32_s, float x = F32(a),
        x != x ? 0 : x < -2147483648.0f ? 0x80000000u : x >= 2147483648.0f ? 0x7fffffffu : (uint32_t)(int32_t)x)
    UNT(i32_trunc_sat_f32_u, float x = F32(a),
        x != x || x <= -1.0f ? 0 : x >= 4294967296.0f ? 0xffffffffu : (uint32_t)x)
    UNT(i32_trunc_sat_f64_s, double x = F64(a),
        x != x ? 0 : x <= -2147483649.0 ? 0x80000000u : x >= 2147483648.0 ? 0x7fffffffu : (uint32_t)(int32_t)x)
    UNT(i32_trunc_sat_f64_u, double x = F64(a),
        x != x || x <= -1.0 ? 0 : x >= 4294967296.0 ? 0xffffffffu : (uint32_t)x)
    UNT(i64_trunc_sat_f32_s, float x = F32(a),
        x != x ? 0 : x < -9223372036854775808.0f ? 0x8000000000000000ull
        : x >= 9223372036854775808.0f ? 0x7fffffffffffffffull : (uint64_t)(int64_t)x)
    UNT(i64_trunc_sat_f32_u, float x = F32(a),
        x != x || x <= -1.0f ? 0 : x >= 18446744073709551616.0f ? ~0ull : (uint64_t)x)
    UNT(i64_trunc_sat_f64_s, double x = F64(a),
        x != x ? 0 : x < -9223372036854775808.0 ? 0x8000000000000000ull
        : x >= 9223372036854775808.0 ? 0x7fffffffffffffffull : (uint64_t)(int64_t)x)
    UNT(i64_trunc_sat_f64_u, double x = F64(a),
        x != x || x <= -1.0 ? 0 : x >= 18446744073709551616.0 ? ~0ull : (uint64_t)x)
    UN(ref_is_null, a == 0)

    /* ---- memory ---- */
#define LD(name, T, conv)                                                                          \
    op_##name: {                                                                                   \
        uint64_t ea = (uint64_t)(uint32_t)S(2) + ip[3];                                            \
        if (CORRAL_UNLIKELY(ea + sizeof(T) > ms)) TRAP(CORRAL_ERR_TRAP_MEMORY_OOB);                \
        T v;                                                                                       \
        memcpy(&v, mb + ea, sizeof v);                                                             \
        S(1) = (conv);                                                                             \
        NEXT(4);                                                                                   \
    }
#define LDF(name, T, conv)                                                                         \
    op_##name##_ss: {                                                                              \
        uint64_t ea = (uint64_t)(uint32_t)((uint32_t)S(2) + (uint32_t)S(3)) + ip[4];               \
        if (CORRAL_UNLIKELY(ea + sizeof(T) > ms)) TRAP(CORRAL_ERR_TRAP_MEMORY_OOB);                \
        T v;                                                                                       \
        memcpy(&v, mb + ea, sizeof v);                                                             \
        S(1) = (conv);                                                                             \
        NEXT(5);                                                                                   \
    }                                                                                              \
    op_##name##_si: {                                                                              \
        uint64_t ea = (uint64_t)(uint32_t)((uint32_t)S(2) + (uint32_t)ip[3]) + ip[4];              \
        if (CORRAL_UNLIKELY(ea + sizeof(T) > ms)) TRAP(CORRAL_ERR_TRAP_MEMORY_OOB);                \
        T v;                                                                                       \
        memcpy(&v, mb + ea, sizeof v);                                                             \
        S(1) = (conv);                                                                             \
        NEXT(5);                                                                                   \
    }                                                                                              \
    LD(name, T, conv)
    LDF(i32_load, uint32_t, v)
    LDF(i64_load, uint64_t, v)
    LDF(f32_load, uint32_t, v)
    LDF(f64_load, uint64_t, v)
    LDF(i32_load8_s, int8_t, (uint32_t)(int32_t)v)
    LDF(i32_load8_u, uint8_t, v)
    LDF(i32_load16_s, int16_t, (uint32_t)(int32_t)v)
    LDF(i32_load16_u, uint16_t, v)
    LDF(i64_load8_s, int8_t, (uint64_t)(int64_t)v)
    LDF(i64_load8_u, uint8_t, v)
    LDF(i64_load16_s, int16_t, (uint64_t)(int64_t)v)
    LDF(i64_load16_u, uint16_t, v)
    LDF(i64_load32_s, int32_t, (uint64_t)(int64_t)v)
    LDF(i64_load32_u, uint32_t, v)
#define ST(name, T)                                                                                \
    op_##name: {                                                                                   \
        uint64_t ea = (uint64_t)(uint32_t)S(1) + ip[3];                                            \
        if (CORRAL_UNLIKELY(ea + sizeof(T) > ms)) TRAP(CORRAL_ERR_TRAP_MEMORY_OOB);                \
        T v = (T)S(2);                                                                             \
        memcpy(mb + ea, &v, sizeof v);                                                             \
        NEXT(4);                                                                                   \
    }
    /* _si: the address is slot + constant (a folded i32.add), wrapping */
#define STF(name, T)                                                                               \
    op_##name##_si: {                                                                              \
        uint64_t ea = (uint64_t)(uint32_t)((uint32_t)S(1) + (uint32_t)ip[4]) + ip[3];              \
        if (CORRAL_UNLIKELY(ea + sizeof(T) > ms)) TRAP(CORRAL_ERR_TRAP_MEMORY_OOB);                \
        T v = (T)S(2);                                                                             \
        memcpy(mb + ea, &v, sizeof v);                                                             \
        NEXT(5);                                                                                   \
    }                                                                                              \
    ST(name, T)
    STF(i32_store, uint32_t)
    STF(i64_store, uint64_t)
    STF(f32_store, uint32_t)
    STF(f64_store, uint64_t)
    STF(i32_store8, uint8_t)
    STF(i32_store16, uint16_t)
    STF(i64_store8, uint8_t)
    STF(i64_store16, uint16_t)
    STF(i64_store32, uint32_t)

done:
    ex->countdown = budget;
    return CORRAL_OK;
trap:
    ex->countdown = budget;
    return st;
}

const void *const *vm_handlers(void)
{
    const void *const *t = NULL;
    interp(NULL, NULL, NULL, NULL, &t);
    return t;
}

corral_status_t vm_run(corral_vm_instance_t *inst, vm_func_t *f, uint64_t *sp)
{
    return interp(&inst->exec, f->inst, f, sp, NULL);
}

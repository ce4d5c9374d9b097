/*
 * vm_compile.c - validates one function body and translates it, in the same
 * pass, into threaded slot code for vm_interp.c.
 *
 * Every operand-stack position h becomes a fixed frame slot (nlocals + h).
 * The compile-time stack remembers, per entry, where its value really is:
 * already in its home slot, still in a local (a deferred local.get), or a
 * constant not yet written anywhere. Instructions then name their operands'
 * slots directly, so local.get/const usually cost nothing at run time;
 * deferred entries are written to their home slots only when something
 * needs them there (block boundaries, calls, a local.set that would change
 * the local under a deferred read). Constant right operands of integer
 * operators become immediates; an integer compare followed by br_if/if
 * becomes one compare-and-jump; a local.set right after an instruction
 * retargets that instruction's destination.
 */
#include <string.h>

#include "vm_int.h"
#include "vm_ops.h"
#include "vm_rd.h"

/* Where an entry's value is: its home slot, a local (deferred local.get),
 * a constant, or "slot `local` + constant k" (a deferred i32.add/sub with a
 * constant, which loads and stores fold into their address). */
enum { K_SLOT, K_LOCAL, K_CONST, K_ADDI };

typedef struct ent {
    uint8_t type, kind;
    uint32_t local;
    uint64_t k;
} ent_t;

enum { C_BLOCK, C_LOOP, C_IF, C_ELSE, C_FUNC };

typedef struct ctrl {
    uint8_t kind;
    uint8_t unreachable, dead;
    uint32_t height; /* stack height below the block's params */
    uint32_t np, nr;
    const uint8_t *pt, *rt;
    uint8_t single; /* storage for a single result type */
    size_t loop_pos;
    size_t else_fix, else_ins; /* if: the jump to patch to the else arm */
    size_t fix_mark;
} ctrl_t;

typedef struct fixup {
    size_t word, ins;
    uint32_t ctrl;
} fixup_t;

typedef struct cc {
    corral_vm_module_t *m;
    vm_rd_t *r;
    const void *const *h; /* handler table */
    uint64_t *code;
    size_t n, cap;
    ent_t *st;
    uint32_t sp, scap, maxh;
    ctrl_t *cs;
    uint32_t csp, ccap;
    fixup_t *fx;
    size_t nfx, fxcap;
    uint8_t *ltypes;
    uint8_t *kz; /* per local: known to hold zero here (straight-line code since entry/label) */
    uint32_t nlocals;
    int oom;
    /* the last instruction, for fusion */
    size_t last_ins, last_dst;
    uint32_t last_h;
    int last_cmp; /* 0 none, else op index of the fusable compare */
    int last_op;  /* op of the last instruction when it is a binary operator */
    uint64_t last_a, last_b;
} cc_t;

#define TRY(x)                                                                                     \
    do {                                                                                           \
        corral_status_t st_ = (x);                                                                 \
        if (st_ != CORRAL_OK) return st_;                                                          \
    } while (0)
#define MAL(at, msg) return vm_rd_fail(c->r, (at), CORRAL_ERR_MALFORMED, msg)
#define INV(at, msg) return vm_rd_fail(c->r, (at), CORRAL_ERR_INVALID, msg)
#define NOMEM() return corral_err_set(c->r->err, CORRAL_ERR_NOMEM, NULL)

#define NONE ((size_t)-1)

static inline uint32_t home(cc_t *c, uint32_t h) { return c->nlocals + h; }
static inline int live(cc_t *c)
{
    ctrl_t *t = &c->cs[c->csp - 1];
    return !t->unreachable && !t->dead;
}

static void w(cc_t *c, uint64_t v)
{
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 256;
        uint64_t *p = corral_realloc(c->code, nc * sizeof *p);
        if (!p) {
            c->oom = 1;
            c->n = 0; /* keep writing harmlessly into the old buffer */
            return;
        }
        c->code = p;
        c->cap = nc;
    }
    c->code[c->n++] = v;
}

/* Starts an instruction; returns its position. */
static size_t ins(cc_t *c, int op)
{
    size_t at = c->n;
    c->last_ins = NONE;
    c->last_dst = NONE;
    c->last_cmp = 0;
    c->last_op = 0;
    w(c, (uint64_t)(uintptr_t)c->h[op]);
    return at;
}

static void forget_last(cc_t *c)
{
    c->last_ins = NONE;
    c->last_dst = NONE;
    c->last_cmp = 0;
    c->last_op = 0;
}

static corral_status_t push(cc_t *c, uint8_t type, uint8_t kind, uint32_t local, uint64_t k)
{
    if (c->sp == c->scap) {
        uint32_t nc = c->scap ? c->scap * 2 : 64;
        ent_t *p = corral_realloc(c->st, nc * sizeof *p);
        if (!p) NOMEM();
        c->st = p;
        c->scap = nc;
    }
    c->st[c->sp++] = (ent_t){type, kind, local, k};
    if (c->sp > c->maxh) c->maxh = c->sp;
    if (c->nlocals + (uint64_t)c->maxh > 1000000)
        return vm_rd_fail(c->r, c->r->p, CORRAL_ERR_VM_UNSUPPORTED, "function frame too large for this engine");
    return CORRAL_OK;
}

/* Pops an entry of type `want` (VT_UNKNOWN accepts any). */
static corral_status_t pop(cc_t *c, uint8_t want, ent_t *out)
{
    ctrl_t *t = &c->cs[c->csp - 1];
    if (c->sp == t->height) {
        if (t->unreachable) {
            *out = (ent_t){want, K_SLOT, 0, 0};
            return CORRAL_OK;
        }
        INV(c->r->p, "type mismatch");
    }
    ent_t e = c->st[--c->sp];
    if (want != VT_UNKNOWN && e.type != VT_UNKNOWN && e.type != want) INV(c->r->p, "type mismatch");
    *out = e;
    return CORRAL_OK;
}

/* Writes a deferred entry at height i into `dst`. */
static void put(cc_t *c, ent_t *e, uint32_t dst, uint32_t i)
{
    if (!live(c)) return;
    if (e->kind == K_LOCAL) {
        ins(c, OP_copy); w(c, dst); w(c, e->local);
    } else if (e->kind == K_CONST) {
        ins(c, OP_const); w(c, dst); w(c, e->k);
    } else if (e->kind == K_ADDI) {
        ins(c, OP_i32_add_si); w(c, dst); w(c, e->local); w(c, (uint32_t)e->k);
    } else if (home(c, i) != dst) {
        ins(c, OP_copy); w(c, dst); w(c, home(c, i));
    }
}

static void materialize(cc_t *c, uint32_t i)
{
    ent_t *e = &c->st[i];
    if (e->kind != K_SLOT) {
        put(c, e, home(c, i), i);
        e->kind = K_SLOT;
    }
}

/* The slot holding entry e that was at height i (now popped). */
static uint32_t src(cc_t *c, ent_t *e, uint32_t i)
{
    if (e->kind == K_LOCAL) return e->local;
    if (e->kind == K_CONST || e->kind == K_ADDI) {
        put(c, e, home(c, i), i);
        e->kind = K_SLOT;
    }
    return home(c, i);
}

static void materialize_locals(cc_t *c, int only, uint32_t local)
{
    for (uint32_t i = 0; i < c->sp; i++)
        if ((c->st[i].kind == K_LOCAL || c->st[i].kind == K_ADDI) && (!only || c->st[i].local == local))
            materialize(c, i);
}

/* ---- labels and branches -------------------------------------------------------------- */

static corral_status_t add_fix(cc_t *c, size_t word, size_t insat, uint32_t ctrl)
{
    if (c->nfx == c->fxcap) {
        size_t nc = c->fxcap ? c->fxcap * 2 : 32;
        fixup_t *p = corral_realloc(c->fx, nc * sizeof *p);
        if (!p) NOMEM();
        c->fx = p;
        c->fxcap = nc;
    }
    c->fx[c->nfx++] = (fixup_t){word, insat, ctrl};
    return CORRAL_OK;
}

static void bind(cc_t *c, uint32_t ci)
{
    size_t k = c->cs[ci].fix_mark;
    for (size_t i = c->cs[ci].fix_mark; i < c->nfx; i++) {
        if (c->fx[i].ctrl == ci) {
            if (!c->oom) c->code[c->fx[i].word] = (uint64_t)(int64_t)(c->n - c->fx[i].ins);
        } else {
            c->fx[k++] = c->fx[i];
        }
    }
    c->nfx = k;
    forget_last(c);
    memset(c->kz, 0, c->nlocals); /* paths merge here */
}

static uint32_t label_arity(ctrl_t *t) { return t->kind == C_LOOP ? t->np : t->nr; }
/* A single result type lives inside the ctrl entry (which moves when the
 * ctrl stack grows), so it is never pointed to for long. */
#define RT(t) ((t)->rt ? (t)->rt : &(t)->single)
static const uint8_t *label_types(ctrl_t *t) { return t->kind == C_LOOP ? t->pt : RT(t); }

/* Checks that the top of the stack matches the label's types (no pop). */
static corral_status_t check_label(cc_t *c, ctrl_t *l)
{
    uint32_t n = label_arity(l);
    const uint8_t *ty = label_types(l);
    ctrl_t *t = &c->cs[c->csp - 1];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t depth = n - 1 - i; /* distance from top */
        if (c->sp - t->height <= depth) {
            if (!t->unreachable) INV(c->r->p, "type mismatch");
            continue;
        }
        uint8_t have = c->st[c->sp - 1 - depth].type;
        if (have != VT_UNKNOWN && have != ty[i]) INV(c->r->p, "type mismatch");
    }
    return CORRAL_OK;
}

/* Emits the copies that move the label's values into place. */
static void branch_copies(cc_t *c, ctrl_t *l)
{
    uint32_t n = label_arity(l);
    if (l->kind == C_FUNC) {
        /* a single result just computed: write it straight to slot 0 */
        if (n == 1 && c->sp > 0 && c->st[c->sp - 1].kind == K_SLOT && c->last_dst != NONE &&
            c->last_h == c->sp - 1 && live(c) && !c->oom) {
            c->code[c->last_dst] = 0;
            forget_last(c);
            return;
        }
        /* results go to slots 0..n, which may be locals that deferred
         * entries still read: first move those entries home (without
         * changing the compile-time stack: this code may be conditional) */
        for (uint32_t i = 0; i < n; i++) {
            ent_t e = c->st[c->sp - n + i];
            if (e.kind != K_SLOT) put(c, &e, home(c, c->sp - n + i), c->sp - n + i);
        }
        for (uint32_t i = 0; i < n; i++) {
            uint32_t from = home(c, c->sp - n + i);
            if (from != i && live(c)) { ins(c, OP_copy); w(c, i); w(c, from); }
        }
        return;
    }
    uint32_t dst = home(c, l->height);
    for (uint32_t i = 0; i < n; i++) {
        ent_t e = c->st[c->sp - n + i];
        put(c, &e, dst + i, c->sp - n + i);
    }
}

static int needs_copies(cc_t *c, ctrl_t *l)
{
    uint32_t n = label_arity(l);
    if (l->kind == C_FUNC) return 1;
    if (n == 0) return 0;
    if (c->sp - n != l->height) return 1;
    for (uint32_t i = 0; i < n; i++)
        if (c->st[c->sp - n + i].kind != K_SLOT) return 1;
    return 0;
}

/* Emits an unconditional jump to label l (already copied). */
static corral_status_t jump_to(cc_t *c, uint32_t li)
{
    ctrl_t *l = &c->cs[li];
    if (l->kind == C_FUNC) {
        ins(c, OP_ret);
        return CORRAL_OK;
    }
    size_t at = ins(c, l->kind == C_LOOP ? OP_jmp_loop : OP_jmp);
    if (l->kind == C_LOOP) {
        w(c, (uint64_t)(int64_t)(l->loop_pos - at));
        return CORRAL_OK;
    }
    w(c, 0);
    return add_fix(c, c->n - 1, at, li);
}

static corral_status_t rd_label(cc_t *c, uint32_t *li)
{
    const uint8_t *at = c->r->p;
    uint32_t d;
    TRY(vm_rd_u32(c->r, &d));
    if (d >= c->csp) INV(at, "unknown label");
    *li = c->csp - 1 - d;
    return CORRAL_OK;
}

static corral_status_t set_unreachable(cc_t *c)
{
    ctrl_t *t = &c->cs[c->csp - 1];
    c->sp = t->height;
    t->unreachable = 1;
    forget_last(c);
    return CORRAL_OK;
}

/* ---- blocks ---------------------------------------------------------------------------- */

static corral_status_t rd_blocktype(cc_t *c, ctrl_t *b)
{
    const uint8_t *at = c->r->p;
    if (c->r->p >= c->r->end) MAL(at, "unexpected end");
    uint8_t x = *c->r->p;
    b->np = b->nr = 0;
    b->pt = b->rt = NULL;
    if (x == 0x40) {
        c->r->p++;
        return CORRAL_OK;
    }
    if (x == VT_I32 || x == VT_I64 || x == VT_F32 || x == VT_F64 || x == VT_FUNCREF ||
        x == VT_EXTERNREF || x == VT_V128) {
        TRY(vm_rd_valtype(c->r, &b->single));
        b->nr = 1;
        return CORRAL_OK;
    }
    uint64_t v;
    TRY(vm_rd_leb(c->r, 33, 1, &v));
    if ((int64_t)v < 0) MAL(at, "malformed block type");
    if (v >= c->m->ntypes) INV(at, "unknown type");
    corral_vm_functype_t *ft = &c->m->types[v];
    b->np = ft->nparams;
    b->nr = ft->nresults;
    b->pt = ft->params;
    b->rt = ft->results;
    return CORRAL_OK;
}

static corral_status_t push_ctrl(cc_t *c, uint8_t kind, ctrl_t *b)
{
    if (c->csp == c->ccap) {
        uint32_t nc = c->ccap ? c->ccap * 2 : 16;
        ctrl_t *p = corral_realloc(c->cs, nc * sizeof *p);
        if (!p) NOMEM();
        c->cs = p;
        c->ccap = nc;
    }
    ctrl_t *parent = c->csp ? &c->cs[c->csp - 1] : NULL;
    b->kind = kind;
    b->unreachable = 0;
    b->dead = parent ? (parent->dead || parent->unreachable) : 0;
    b->fix_mark = c->nfx;
    b->else_fix = NONE;
    c->cs[c->csp++] = *b;
    return CORRAL_OK;
}

/* Makes sure the top n entries exist with the given types (validating them;
 * in unreachable code missing entries are synthesised). */
static corral_status_t settle(cc_t *c, uint32_t n, const uint8_t *types)
{
    ctrl_t *t = &c->cs[c->csp - 1];
    uint32_t have = c->sp - t->height;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t depth = n - 1 - i;
        if (have <= depth) {
            if (!t->unreachable) INV(c->r->p, "type mismatch");
            continue;
        }
        uint8_t ht = c->st[c->sp - 1 - depth].type;
        if (ht != VT_UNKNOWN && ht != types[i]) INV(c->r->p, "type mismatch");
    }
    if (have < n) {
        c->sp = t->height;
        for (uint32_t i = 0; i < n; i++) TRY(push(c, types[i], K_SLOT, 0, 0));
    }
    for (uint32_t i = 0; i < n; i++) c->st[c->sp - n + i].type = types[i];
    return CORRAL_OK;
}

/* ---- numeric op table ------------------------------------------------------------------ */

static const uint8_t ibin_map[15] = {0, 1, 2, 11, 12, 13, 14, 3, 4, 5, 6, 7, 8, 9, 10};

/* Conversion ops 0xa7..0xbb: input and output types. */
static const uint8_t conv_in[21] = {VT_I64, VT_F32, VT_F32, VT_F64, VT_F64, VT_I32, VT_I32,
                                    VT_F32, VT_F32, VT_F64, VT_F64, VT_I32, VT_I32, VT_I64,
                                    VT_I64, VT_F64, VT_I32, VT_I32, VT_I64, VT_I64, VT_F32};
static const uint8_t conv_out[21] = {VT_I32, VT_I32, VT_I32, VT_I32, VT_I32, VT_I64, VT_I64,
                                     VT_I64, VT_I64, VT_I64, VT_I64, VT_F32, VT_F32, VT_F32,
                                     VT_F32, VT_F32, VT_F64, VT_F64, VT_F64, VT_F64, VT_F64};

static corral_status_t emit_unop(cc_t *c, int op, uint8_t tin, uint8_t tout)
{
    ent_t a;
    TRY(pop(c, tin, &a));
    uint32_t h = c->sp;
    uint32_t s = src(c, &a, h);
    if (live(c)) {
        size_t at = ins(c, op);
        w(c, home(c, h)); w(c, s);
        c->last_ins = at;
        c->last_dst = at + 1;
        c->last_h = h;
        if (op == OP_i32_eqz || op == OP_i64_eqz) { c->last_cmp = op; c->last_a = s; }
    }
    return push(c, tout, K_SLOT, 0, 0);
}

static int is_icmp(int op)
{
    return (op >= OP_i32_eq_ss && op <= OP_i32_ge_u_si) || (op >= OP_i64_eq_ss && op <= OP_i64_ge_u_si);
}

static corral_status_t emit_binop(cc_t *c, int op_ss, int has_si, uint8_t tin, uint8_t tout)
{
    ent_t a, b;
    TRY(pop(c, tin, &b));
    TRY(pop(c, tin, &a));
    uint32_t h = c->sp;
    if ((op_ss == OP_i32_add_ss || op_ss == OP_i32_sub_ss) && b.kind == K_CONST && live(c) &&
        (a.kind == K_LOCAL || a.kind == K_SLOT || a.kind == K_ADDI)) {
        uint32_t k = (uint32_t)b.k;
        if (op_ss == OP_i32_sub_ss) k = 0u - k;
        uint32_t base = a.kind == K_SLOT ? home(c, h) : a.local;
        if (a.kind == K_ADDI) k += (uint32_t)a.k;
        forget_last(c);
        return push(c, VT_I32, K_ADDI, base, k);
    }
    int op = op_ss;
    uint64_t sb;
    if (has_si && b.kind == K_CONST) {
        op = op_ss + 1;
        sb = tin == VT_I32 ? (uint32_t)b.k : b.k;
    } else {
        sb = src(c, &b, h + 1);
    }
    uint32_t sa = src(c, &a, h);
    if (live(c)) {
        size_t at = ins(c, op);
        w(c, home(c, h)); w(c, sa); w(c, sb);
        c->last_ins = at;
        c->last_dst = at + 1;
        c->last_h = h;
        c->last_op = op;
        c->last_a = sa;
        c->last_b = sb;
        if (is_icmp(op)) c->last_cmp = op;
    }
    return push(c, tout, K_SLOT, 0, 0);
}

/* Pops an i32 condition; if it was just computed by a fusable compare,
 * removes that compare and returns it in *cmp (with operands). */
static corral_status_t pop_cond(cc_t *c, int *cmp, uint64_t *a, uint64_t *b, uint32_t *slot)
{
    ent_t e;
    int fusable = c->last_cmp && c->sp > 0 && c->st[c->sp - 1].kind == K_SLOT &&
                  c->last_h == c->sp - 1 && live(c);
    TRY(pop(c, VT_I32, &e));
    *cmp = 0;
    if (fusable && !c->oom) {
        *cmp = c->last_cmp;
        *a = c->last_a;
        *b = c->last_b;
        c->n = c->last_ins;
        forget_last(c);
        return CORRAL_OK;
    }
    *slot = src(c, &e, c->sp);
    return CORRAL_OK;
}

/* Emits "jump if (cond) [negated]" and returns the offset word position. */
static size_t emit_condjump(cc_t *c, int cmp, uint64_t a, uint64_t b, uint32_t slot, int negate,
                            size_t *insat, int loop)
{
    size_t at;
    if (!cmp) {
        at = ins(c, negate ? OP_br_unless : loop ? OP_br_if_loop : OP_br_if);
        w(c, slot);
    } else if (cmp == OP_i32_eqz || cmp == OP_i64_eqz) {
        int is32 = cmp == OP_i32_eqz;
        int op = is32 ? (negate ? OP_jif_i32_nez : OP_jif_i32_eqz) : (negate ? OP_jif_i64_nez : OP_jif_i64_eqz);
        if (loop) op += OP_jifl_i32_eqz - OP_jif_i32_eqz;
        at = ins(c, op);
        w(c, a);
    } else {
        static const int neg[10] = {1, 0, 8, 9, 6, 7, 4, 5, 2, 3};
        int is32 = cmp <= OP_i32_ge_u_si;
        int base = is32 ? OP_i32_eq_ss : OP_i64_eq_ss;
        int k = (cmp - base) / 2, si = (cmp - base) & 1;
        if (negate) k = neg[k];
        int jbase = loop ? (is32 ? OP_jifl_i32_eq_ss : OP_jifl_i64_eq_ss)
                         : (is32 ? OP_jif_i32_eq_ss : OP_jif_i64_eq_ss);
        at = ins(c, jbase + 2 * k + si);
        w(c, a);
        w(c, b);
    }
    w(c, 0);
    *insat = at;
    return c->n - 1;
}

static corral_status_t memarg(cc_t *c, uint32_t natural_log2, uint32_t *offset)
{
    const uint8_t *at = c->r->p;
    uint32_t align;
    TRY(vm_rd_u32(c->r, &align));
    TRY(vm_rd_u32(c->r, offset));
    if (c->m->nmems == 0) INV(at, "unknown memory 0");
    if (align > natural_log2) INV(at, "alignment must not be larger than natural");
    return CORRAL_OK;
}

static corral_status_t zero_byte(cc_t *c)
{
    const uint8_t *at = c->r->p;
    uint8_t b;
    TRY(vm_rd_byte(c->r, &b));
    if (b != 0) MAL(at, "zero byte expected");
    if (c->m->nmems == 0) INV(at, "unknown memory 0");
    return CORRAL_OK;
}

static corral_status_t rd_table(cc_t *c, uint32_t *t)
{
    const uint8_t *at = c->r->p;
    TRY(vm_rd_u32(c->r, t));
    if (*t >= c->m->ntables) INV(at, "unknown table");
    return CORRAL_OK;
}

/* Pops n operands of the given types into slots (materialized). */
static corral_status_t pop_slots(cc_t *c, uint32_t n, const uint8_t *types, uint32_t *slots)
{
    ent_t e[6];
    for (uint32_t i = n; i-- > 0;) TRY(pop(c, types[i], &e[i]));
    for (uint32_t i = 0; i < n; i++) slots[i] = src(c, &e[i], c->sp + i);
    return CORRAL_OK;
}

static corral_status_t emit_call(cc_t *c, const corral_vm_functype_t *ft, int op, uint64_t imm1,
                                 uint64_t imm2, int has_idx)
{
    uint32_t idxslot = 0;
    if (has_idx) {
        ent_t e;
        TRY(pop(c, VT_I32, &e));
        idxslot = src(c, &e, c->sp);
    }
    for (uint32_t i = ft->nparams; i-- > 0;) {
        ent_t e;
        TRY(pop(c, ft->params[i], &e));
    }
    uint32_t base = c->sp;
    /* args must sit in their home slots: the callee's frame starts there */
    if (live(c)) {
        for (uint32_t i = 0; i < ft->nparams; i++) {
            ent_t *e = &c->st[base + i];
            if (e->kind != K_SLOT) { put(c, e, home(c, base + i), base + i); }
        }
        size_t at = ins(c, op);
        (void)at;
        w(c, imm1);
        w(c, home(c, base));
        if (has_idx) { w(c, imm2); w(c, idxslot); }
    }
    for (uint32_t i = 0; i < ft->nresults; i++) TRY(push(c, ft->results[i], K_SLOT, 0, 0));
    /* host functions get max(params, results) slots */
    if (base + ft->nparams > c->maxh) c->maxh = base + ft->nparams;
    return CORRAL_OK;
}

/* ---- the body ------------------------------------------------------------------------- */

static corral_status_t body(cc_t *c)
{
    vm_rd_t *r = c->r;
    corral_vm_module_t *m = c->m;
    while (c->csp > 0) {
        const uint8_t *at = r->p;
        uint8_t op;
        if (r->p >= r->end) MAL(at, "unexpected end of section or function");
        op = *r->p++;
        switch (op) {
        case 0x00: /* unreachable */
            if (live(c)) ins(c, OP_unreachable);
            TRY(set_unreachable(c));
            break;
        case 0x01: break;
        case 0x02: case 0x03: { /* block, loop */
            ctrl_t b;
            memset(&b, 0, sizeof b);
            TRY(rd_blocktype(c, &b));
            TRY(settle(c, b.np, b.pt));
            uint32_t hb = c->sp - b.np;
            materialize_locals(c, 0, 0);
            for (uint32_t i = 0; i < b.np; i++) materialize(c, hb + i);
            b.height = hb;
            TRY(push_ctrl(c, op == 0x02 ? C_BLOCK : C_LOOP, &b));
            forget_last(c);
            if (op == 0x03) {
                ctrl_t *t = &c->cs[c->csp - 1];
                t->loop_pos = c->n; /* back-edges count fuel, not the header */
                forget_last(c);
                memset(c->kz, 0, c->nlocals);
            }
            break;
        }
        case 0x04: { /* if */
            ctrl_t b;
            memset(&b, 0, sizeof b);
            TRY(rd_blocktype(c, &b));
            int cmp;
            uint64_t ca = 0, cb = 0;
            uint32_t cslot = 0;
            TRY(pop_cond(c, &cmp, &ca, &cb, &cslot));
            TRY(settle(c, b.np, b.pt));
            uint32_t hb = c->sp - b.np;
            materialize_locals(c, 0, 0);
            for (uint32_t i = 0; i < b.np; i++) materialize(c, hb + i);
            b.height = hb;
            int wasl = live(c);
            size_t fw = NONE, fi = NONE;
            if (wasl) fw = emit_condjump(c, cmp, ca, cb, cslot, 1, &fi, 0);
            TRY(push_ctrl(c, C_IF, &b));
            c->cs[c->csp - 1].else_fix = fw;
            c->cs[c->csp - 1].else_ins = fi;
            forget_last(c);
            break;
        }
        case 0x05: { /* else */
            ctrl_t *t = &c->cs[c->csp - 1];
            if (t->kind != C_IF) INV(at, "else without if");
            TRY(settle(c, t->nr, RT(t)));
            if (c->sp - t->nr != t->height) INV(at, "type mismatch");
            /* move results home and jump to end */
            if (live(c)) {
                for (uint32_t i = 0; i < t->nr; i++) {
                    if (c->sp - t->nr + i < c->scap) materialize(c, c->sp - t->nr + i);
                }
                size_t j = ins(c, OP_jmp);
                w(c, 0);
                TRY(add_fix(c, c->n - 1, j, c->csp - 1));
            }
            t = &c->cs[c->csp - 1];
            if (t->else_fix != NONE && !c->oom) c->code[t->else_fix] = (uint64_t)(int64_t)(c->n - t->else_ins);
            t->else_fix = NONE;
            t->kind = C_ELSE;
            t->unreachable = 0;
            memset(c->kz, 0, c->nlocals);
            c->sp = t->height;
            for (uint32_t i = 0; i < t->np; i++) TRY(push(c, t->pt[i], K_SLOT, 0, 0));
            forget_last(c);
            break;
        }
        case 0x0b: { /* end */
            ctrl_t *t = &c->cs[c->csp - 1];
            TRY(settle(c, t->nr, RT(t)));
            if (c->sp - t->nr != t->height) INV(at, "type mismatch");
            if (t->kind == C_IF && (t->np != t->nr || (t->np && memcmp(t->pt, RT(t), t->np) != 0)))
                INV(at, "type mismatch");
            uint32_t ci = c->csp - 1;
            if (t->kind == C_FUNC) {
                if (live(c)) {
                    for (uint32_t i = 0; i < t->nr; i++) {
                        if (c->st[c->sp - t->nr + i].type == VT_UNKNOWN) c->st[c->sp - t->nr + i].kind = K_SLOT;
                    }
                    branch_copies(c, t);
                    ins(c, OP_ret);
                }
                bind(c, ci);
                c->csp--;
                break;
            }
            if (live(c))
                for (uint32_t i = 0; i < t->nr; i++) materialize(c, c->sp - t->nr + i);
            if (t->else_fix != NONE && !c->oom) c->code[t->else_fix] = (uint64_t)(int64_t)(c->n - t->else_ins);
            bind(c, ci);
            uint32_t nr = t->nr, hb = t->height;
            const uint8_t *rt = t->rt;
            uint8_t single = t->single;
            c->csp--;
            c->sp = hb;
            for (uint32_t i = 0; i < nr; i++) TRY(push(c, rt ? rt[i] : single, K_SLOT, 0, 0));
            break;
        }
        case 0x0c: { /* br */
            uint32_t li;
            TRY(rd_label(c, &li));
            ctrl_t *l = &c->cs[li];
            TRY(check_label(c, l));
            if (live(c)) {
                branch_copies(c, l);
                TRY(jump_to(c, li));
            }
            TRY(set_unreachable(c));
            break;
        }
        case 0x0d: { /* br_if */
            uint32_t li;
            TRY(rd_label(c, &li));
            int cmp;
            uint64_t ca = 0, cb = 0;
            uint32_t cslot = 0;
            TRY(pop_cond(c, &cmp, &ca, &cb, &cslot));
            ctrl_t *l = &c->cs[li];
            TRY(settle(c, label_arity(l), label_types(l)));
            if (!live(c)) break;
            if (!needs_copies(c, l)) {
                size_t fi;
                size_t fw = emit_condjump(c, cmp, ca, cb, cslot, 0, &fi, l->kind == C_LOOP);
                if (l->kind == C_LOOP) {
                    if (!c->oom) c->code[fw] = (uint64_t)(int64_t)(l->loop_pos - fi);
                } else {
                    TRY(add_fix(c, fw, fi, li));
                }
            } else {
                size_t fi;
                size_t fw = emit_condjump(c, cmp, ca, cb, cslot, 1, &fi, 0);
                branch_copies(c, l);
                TRY(jump_to(c, li));
                if (!c->oom) c->code[fw] = (uint64_t)(int64_t)(c->n - fi);
            }
            forget_last(c);
            break;
        }
        case 0x0e: { /* br_table */
            uint32_t cnt;
            TRY(vm_rd_u32(r, &cnt));
            if (cnt > (uint32_t)(r->end - r->p)) MAL(r->p, "unexpected end");
            uint32_t *lbl = corral_malloc(((size_t)cnt + 1) * sizeof *lbl);
            if (!lbl) NOMEM();
            corral_status_t st = CORRAL_OK;
            for (uint32_t i = 0; i <= cnt && st == CORRAL_OK; i++) st = rd_label(c, &lbl[i]);
            ent_t e;
            if (st == CORRAL_OK) st = pop(c, VT_I32, &e);
            uint32_t arity = st == CORRAL_OK ? label_arity(&c->cs[lbl[cnt]]) : 0;
            for (uint32_t i = 0; i <= cnt && st == CORRAL_OK; i++) {
                if (label_arity(&c->cs[lbl[i]]) != arity) st = vm_rd_fail(r, at, CORRAL_ERR_INVALID, "type mismatch");
                else st = check_label(c, &c->cs[lbl[i]]);
            }
            if (st == CORRAL_OK && live(c)) {
                uint32_t is = src(c, &e, c->sp);
                size_t bt = ins(c, OP_br_table);
                w(c, is);
                w(c, cnt);
                size_t tab = c->n;
                for (uint32_t i = 0; i <= cnt; i++) w(c, 0);
                for (uint32_t i = 0; i <= cnt && st == CORRAL_OK; i++) {
                    ctrl_t *l = &c->cs[lbl[i]];
                    if (needs_copies(c, l)) {
                        if (!c->oom) c->code[tab + i] = (uint64_t)(int64_t)(c->n - bt);
                        branch_copies(c, l);
                        st = jump_to(c, lbl[i]);
                    } else if (l->kind == C_LOOP) {
                        if (!c->oom) c->code[tab + i] = (uint64_t)(int64_t)(c->n - bt);
                        st = jump_to(c, lbl[i]);
                    } else {
                        st = add_fix(c, tab + i, bt, lbl[i]);
                    }
                }
            }
            corral_free(lbl);
            TRY(st);
            TRY(set_unreachable(c));
            break;
        }
        case 0x0f: { /* return */
            ctrl_t *l = &c->cs[0];
            TRY(check_label(c, l));
            if (live(c)) {
                branch_copies(c, l);
                ins(c, OP_ret);
            }
            TRY(set_unreachable(c));
            break;
        }
        case 0x10: { /* call */
            uint32_t f;
            TRY(vm_rd_u32(r, &f));
            if (f >= m->nfuncs) INV(at, "unknown function");
            const corral_vm_functype_t *ft = &m->types[m->func_type[f]];
            if (f < m->nfunc_imports) TRY(emit_call(c, ft, OP_call_ext, f, 0, 0));
            else TRY(emit_call(c, ft, OP_call, f - m->nfunc_imports, 0, 0));
            break;
        }
        case 0x11: { /* call_indirect */
            uint32_t ti, tab;
            TRY(vm_rd_u32(r, &ti));
            TRY(vm_rd_u32(r, &tab));
            if (tab >= m->ntables) INV(at, "unknown table");
            if (ti >= m->ntypes) INV(at, "unknown type");
            if (m->tables[tab].elem != VT_FUNCREF) INV(at, "type mismatch");
            TRY(emit_call(c, &m->types[ti], OP_call_indirect, (uint64_t)(uintptr_t)&m->types[ti], tab, 1));
            break;
        }
        case 0x1a: { ent_t e; TRY(pop(c, VT_UNKNOWN, &e)); break; }
        case 0x1b: case 0x1c: { /* select */
            uint8_t t = VT_UNKNOWN;
            if (op == 0x1c) {
                uint32_t n;
                TRY(vm_rd_u32(r, &n));
                if (n != 1) INV(at, "invalid result arity");
                TRY(vm_rd_valtype(r, &t));
            }
            ent_t cnd, b, a;
            TRY(pop(c, VT_I32, &cnd));
            TRY(pop(c, t, &b));
            TRY(pop(c, t, &a));
            if (op == 0x1b) {
                uint8_t ta = a.type, tb = b.type;
                if (ta != VT_UNKNOWN && tb != VT_UNKNOWN && ta != tb) INV(at, "type mismatch");
                t = ta != VT_UNKNOWN ? ta : tb;
                if (t == VT_FUNCREF || t == VT_EXTERNREF) INV(at, "type mismatch");
            }
            uint32_t h = c->sp;
            uint32_t sc = src(c, &cnd, h + 2), sb = src(c, &b, h + 1), sa = src(c, &a, h);
            if (live(c)) {
                size_t i0 = ins(c, OP_select);
                w(c, home(c, h)); w(c, sa); w(c, sb); w(c, sc);
                c->last_ins = i0; c->last_dst = i0 + 1; c->last_h = h;
            }
            TRY(push(c, t, K_SLOT, 0, 0));
            break;
        }
        case 0x20: case 0x21: case 0x22: { /* local.get/set/tee */
            uint32_t x;
            TRY(vm_rd_u32(r, &x));
            if (x >= c->nlocals) INV(at, "unknown local");
            uint8_t lt = c->ltypes[x];
            if (op == 0x20) {
                TRY(push(c, lt, K_LOCAL, x, 0));
                break;
            }
            ent_t e;
            TRY(pop(c, lt, &e));
            uint32_t h = c->sp;
            if (!live(c)) {
                if (op == 0x22) TRY(push(c, lt, K_SLOT, 0, 0));
                break;
            }
            if (e.kind == K_LOCAL && e.local == x) {
                if (op == 0x22) TRY(push(c, lt, K_LOCAL, x, 0));
                break;
            }
            int zero = e.kind == K_CONST && e.k == 0;
            if (zero && c->kz[x]) { /* e.g. "i32.const 0; local.set" of a fresh local */
                if (op == 0x22) TRY(push(c, lt, K_LOCAL, x, 0));
                break;
            }
            c->kz[x] = (uint8_t)zero;
            int pending = 0;
            for (uint32_t i = 0; i < c->sp; i++)
                if ((c->st[i].kind == K_LOCAL || c->st[i].kind == K_ADDI) && c->st[i].local == x) pending = 1;
            if (!pending && e.kind == K_SLOT && c->last_dst != NONE && c->last_h == h && !c->oom) {
                c->code[c->last_dst] = x;
                forget_last(c);
            } else {
                materialize_locals(c, 1, x);
                put(c, &e, x, h);
            }
            if (op == 0x22) TRY(push(c, lt, K_LOCAL, x, 0));
            break;
        }
        case 0x23: case 0x24: { /* global.get/set */
            uint32_t g;
            TRY(vm_rd_u32(r, &g));
            if (g >= m->nglobals) INV(at, "unknown global");
            if (op == 0x23) {
                uint32_t h = c->sp;
                if (live(c)) {
                    size_t i0 = ins(c, OP_global_get);
                    w(c, home(c, h)); w(c, g);
                    c->last_ins = i0; c->last_dst = i0 + 1; c->last_h = h;
                }
                TRY(push(c, m->globals[g].type, K_SLOT, 0, 0));
            } else {
                if (!m->globals[g].mut) INV(at, "global is immutable");
                ent_t e;
                TRY(pop(c, m->globals[g].type, &e));
                uint32_t s = src(c, &e, c->sp);
                if (live(c)) { ins(c, OP_global_set); w(c, g); w(c, s); }
            }
            break;
        }
        case 0x25: case 0x26: { /* table.get/set */
            uint32_t t;
            TRY(rd_table(c, &t));
            uint8_t et = m->tables[t].elem;
            if (op == 0x25) {
                ent_t i;
                TRY(pop(c, VT_I32, &i));
                uint32_t h = c->sp, s = src(c, &i, h);
                if (live(c)) { ins(c, OP_table_get); w(c, home(c, h)); w(c, t); w(c, s); }
                TRY(push(c, et, K_SLOT, 0, 0));
            } else {
                uint8_t ty[2] = {VT_I32, et};
                uint32_t s[2];
                TRY(pop_slots(c, 2, ty, s));
                if (live(c)) { ins(c, OP_table_set); w(c, t); w(c, s[0]); w(c, s[1]); }
            }
            break;
        }
        case 0x28: case 0x29: case 0x2a: case 0x2b: case 0x2c: case 0x2d: case 0x2e: case 0x2f:
        case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35: { /* loads */
            static const uint8_t lg[14] = {2, 3, 2, 3, 0, 0, 1, 1, 0, 0, 1, 1, 2, 2};
            static const uint8_t rt[14] = {VT_I32, VT_I64, VT_F32, VT_F64, VT_I32, VT_I32, VT_I32,
                                           VT_I32, VT_I64, VT_I64, VT_I64, VT_I64, VT_I64, VT_I64};
            uint32_t off;
            TRY(memarg(c, lg[op - 0x28], &off));
            ent_t a;
            /* i32.add feeding the address folds into the load */
            int fold = live(c) && !c->oom && c->last_ins != NONE &&
                       (c->last_op == OP_i32_add_ss || c->last_op == OP_i32_add_si) && c->sp > 0 &&
                       c->st[c->sp - 1].kind == K_SLOT && c->last_h == c->sp - 1;
            int fsi = c->last_op == OP_i32_add_si;
            uint64_t fa = c->last_a, fb = c->last_b;
            size_t fat = c->last_ins;
            TRY(pop(c, VT_I32, &a));
            uint32_t h = c->sp;
            if (a.kind == K_ADDI && live(c)) {
                size_t i0 = ins(c, OP_i32_load_si + 2 * (op - 0x28));
                w(c, home(c, h)); w(c, a.local); w(c, (uint32_t)a.k); w(c, off);
                c->last_ins = i0; c->last_dst = i0 + 1; c->last_h = h;
            } else if (fold) {
                c->n = fat;
                size_t i0 = ins(c, OP_i32_load_ss + 2 * (op - 0x28) + fsi);
                w(c, home(c, h)); w(c, fa); w(c, fb); w(c, off);
                c->last_ins = i0; c->last_dst = i0 + 1; c->last_h = h;
            } else {
                uint32_t s = src(c, &a, h);
                if (live(c)) {
                    size_t i0 = ins(c, OP_i32_load + (op - 0x28));
                    w(c, home(c, h)); w(c, s); w(c, off);
                    c->last_ins = i0; c->last_dst = i0 + 1; c->last_h = h;
                }
            }
            TRY(push(c, rt[op - 0x28], K_SLOT, 0, 0));
            break;
        }
        case 0x36: case 0x37: case 0x38: case 0x39: case 0x3a: case 0x3b: case 0x3c: case 0x3d:
        case 0x3e: { /* stores */
            static const uint8_t lg[9] = {2, 3, 2, 3, 0, 1, 0, 1, 2};
            static const uint8_t vt[9] = {VT_I32, VT_I64, VT_F32, VT_F64, VT_I32, VT_I32, VT_I64, VT_I64, VT_I64};
            uint32_t off;
            TRY(memarg(c, lg[op - 0x36], &off));
            ent_t ev, ea;
            TRY(pop(c, vt[op - 0x36], &ev));
            TRY(pop(c, VT_I32, &ea));
            uint32_t h = c->sp;
            if (ea.kind == K_ADDI) {
                uint32_t sv = src(c, &ev, h + 1);
                if (live(c)) {
                    ins(c, OP_i32_store_si + (op - 0x36));
                    w(c, ea.local); w(c, sv); w(c, off); w(c, (uint32_t)ea.k);
                }
            } else {
                uint32_t sv = src(c, &ev, h + 1), sa = src(c, &ea, h);
                if (live(c)) { ins(c, OP_i32_store + (op - 0x36)); w(c, sa); w(c, sv); w(c, off); }
            }
            break;
        }
        case 0x3f: { /* memory.size */
            TRY(zero_byte(c));
            uint32_t h = c->sp;
            if (live(c)) { ins(c, OP_memory_size); w(c, home(c, h)); }
            TRY(push(c, VT_I32, K_SLOT, 0, 0));
            break;
        }
        case 0x40: { /* memory.grow */
            TRY(zero_byte(c));
            ent_t a;
            TRY(pop(c, VT_I32, &a));
            uint32_t h = c->sp, s = src(c, &a, h);
            if (live(c)) { ins(c, OP_memory_grow); w(c, home(c, h)); w(c, s); }
            TRY(push(c, VT_I32, K_SLOT, 0, 0));
            break;
        }
        case 0x41: { uint64_t v; TRY(vm_rd_leb(r, 32, 1, &v)); TRY(push(c, VT_I32, K_CONST, 0, (uint32_t)v)); break; }
        case 0x42: { uint64_t v; TRY(vm_rd_leb(r, 64, 1, &v)); TRY(push(c, VT_I64, K_CONST, 0, v)); break; }
        case 0x43: {
            if (r->end - r->p < 4) MAL(r->p, "unexpected end");
            uint32_t v; memcpy(&v, r->p, 4); r->p += 4;
            TRY(push(c, VT_F32, K_CONST, 0, v));
            break;
        }
        case 0x44: {
            if (r->end - r->p < 8) MAL(r->p, "unexpected end");
            uint64_t v; memcpy(&v, r->p, 8); r->p += 8;
            TRY(push(c, VT_F64, K_CONST, 0, v));
            break;
        }
        case 0x45: TRY(emit_unop(c, OP_i32_eqz, VT_I32, VT_I32)); break;
        case 0x50: TRY(emit_unop(c, OP_i64_eqz, VT_I64, VT_I32)); break;
        case 0x46: case 0x47: case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d:
        case 0x4e: case 0x4f:
            TRY(emit_binop(c, OP_i32_eq_ss + 2 * (op - 0x46), 1, VT_I32, VT_I32));
            break;
        case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57: case 0x58:
        case 0x59: case 0x5a:
            TRY(emit_binop(c, OP_i64_eq_ss + 2 * (op - 0x51), 1, VT_I64, VT_I32));
            break;
        case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f: case 0x60:
            TRY(emit_binop(c, OP_f32_eq + (op - 0x5b), 0, VT_F32, VT_I32));
            break;
        case 0x61: case 0x62: case 0x63: case 0x64: case 0x65: case 0x66:
            TRY(emit_binop(c, OP_f64_eq + (op - 0x61), 0, VT_F64, VT_I32));
            break;
        case 0x67: case 0x68: case 0x69:
            TRY(emit_unop(c, OP_i32_clz + (op - 0x67), VT_I32, VT_I32));
            break;
        case 0x79: case 0x7a: case 0x7b:
            TRY(emit_unop(c, OP_i64_clz + (op - 0x79), VT_I64, VT_I64));
            break;
        case 0x6a: case 0x6b: case 0x6c: case 0x6d: case 0x6e: case 0x6f: case 0x70: case 0x71:
        case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77: case 0x78:
            TRY(emit_binop(c, OP_i32_add_ss + 2 * ibin_map[op - 0x6a], 1, VT_I32, VT_I32));
            break;
        case 0x7c: case 0x7d: case 0x7e: case 0x7f: case 0x80: case 0x81: case 0x82: case 0x83:
        case 0x84: case 0x85: case 0x86: case 0x87: case 0x88: case 0x89: case 0x8a:
            TRY(emit_binop(c, OP_i64_add_ss + 2 * ibin_map[op - 0x7c], 1, VT_I64, VT_I64));
            break;
        case 0x8b: case 0x8c: case 0x8d: case 0x8e: case 0x8f: case 0x90: case 0x91:
            TRY(emit_unop(c, OP_f32_abs + (op - 0x8b), VT_F32, VT_F32));
            break;
        case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97: case 0x98:
            TRY(emit_binop(c, OP_f32_add + (op - 0x92), 0, VT_F32, VT_F32));
            break;
        case 0x99: case 0x9a: case 0x9b: case 0x9c: case 0x9d: case 0x9e: case 0x9f:
            TRY(emit_unop(c, OP_f64_abs + (op - 0x99), VT_F64, VT_F64));
            break;
        case 0xa0: case 0xa1: case 0xa2: case 0xa3: case 0xa4: case 0xa5: case 0xa6:
            TRY(emit_binop(c, OP_f64_add + (op - 0xa0), 0, VT_F64, VT_F64));
            break;
        case 0xbc: case 0xbd: case 0xbe: case 0xbf: { /* reinterpret: same bits, new type */
            static const uint8_t fi[4] = {VT_F32, VT_F64, VT_I32, VT_I64};
            static const uint8_t fo[4] = {VT_I32, VT_I64, VT_F32, VT_F64};
            ent_t e;
            TRY(pop(c, fi[op - 0xbc], &e));
            e.type = fo[op - 0xbc];
            TRY(push(c, e.type, e.kind, e.local, e.k));
            forget_last(c);
            break;
        }
        case 0xc0: case 0xc1:
            TRY(emit_unop(c, OP_i32_extend8_s + (op - 0xc0), VT_I32, VT_I32));
            break;
        case 0xc2: case 0xc3: case 0xc4:
            TRY(emit_unop(c, OP_i64_extend8_s + (op - 0xc2), VT_I64, VT_I64));
            break;
        case 0xd0: { /* ref.null */
            const uint8_t *tat = r->p;
            uint8_t t;
            TRY(vm_rd_byte(r, &t));
            if (t != VT_FUNCREF && t != VT_EXTERNREF) MAL(tat, "malformed reference type");
            TRY(push(c, t, K_CONST, 0, 0));
            break;
        }
        case 0xd1: { /* ref.is_null */
            ent_t e;
            TRY(pop(c, VT_UNKNOWN, &e));
            if (e.type != VT_UNKNOWN && e.type != VT_FUNCREF && e.type != VT_EXTERNREF) INV(at, "type mismatch");
            uint32_t h = c->sp, s = src(c, &e, h);
            if (live(c)) { ins(c, OP_ref_is_null); w(c, home(c, h)); w(c, s); }
            TRY(push(c, VT_I32, K_SLOT, 0, 0));
            break;
        }
        case 0xd2: { /* ref.func */
            uint32_t f;
            TRY(vm_rd_u32(r, &f));
            if (f >= m->nfuncs) INV(at, "unknown function");
            if (!(m->refs[f >> 3] & (1u << (f & 7)))) INV(at, "undeclared function reference");
            uint32_t h = c->sp;
            if (live(c)) { ins(c, OP_ref_func); w(c, home(c, h)); w(c, f); }
            TRY(push(c, VT_FUNCREF, K_SLOT, 0, 0));
            break;
        }
        case 0xfc: {
            uint32_t sub;
            TRY(vm_rd_u32(r, &sub));
            if (sub <= 7) {
                static const uint8_t in[8] = {VT_F32, VT_F32, VT_F64, VT_F64, VT_F32, VT_F32, VT_F64, VT_F64};
                TRY(emit_unop(c, OP_i32_trunc_sat_f32_s + sub, in[sub], sub < 4 ? VT_I32 : VT_I64));
                break;
            }
            switch (sub) {
            case 8: { /* memory.init */
                uint32_t d;
                TRY(vm_rd_u32(r, &d));
                TRY(zero_byte(c));
                if (!m->has_datacount) m->needs_datacount = 1;
                else if (d >= m->datacount) INV(at, "unknown data segment");
                static const uint8_t ty[3] = {VT_I32, VT_I32, VT_I32};
                uint32_t s[3];
                TRY(pop_slots(c, 3, ty, s));
                if (live(c)) { ins(c, OP_memory_init); w(c, d); w(c, s[0]); w(c, s[1]); w(c, s[2]); }
                break;
            }
            case 9: {
                uint32_t d;
                TRY(vm_rd_u32(r, &d));
                if (!m->has_datacount) m->needs_datacount = 1;
                else if (d >= m->datacount) INV(at, "unknown data segment");
                if (live(c)) { ins(c, OP_data_drop); w(c, d); }
                break;
            }
            case 10: case 11: {
                TRY(zero_byte(c));
                if (sub == 10) TRY(zero_byte(c));
                static const uint8_t ty[3] = {VT_I32, VT_I32, VT_I32};
                uint32_t s[3];
                TRY(pop_slots(c, 3, ty, s));
                if (live(c)) { ins(c, sub == 10 ? OP_memory_copy : OP_memory_fill); w(c, s[0]); w(c, s[1]); w(c, s[2]); }
                break;
            }
            case 12: { /* table.init elem table */
                uint32_t e, t;
                TRY(vm_rd_u32(r, &e));
                TRY(rd_table(c, &t));
                if (e >= m->nelems) INV(at, "unknown elem segment");
                if (m->elems[e].type != m->tables[t].elem) INV(at, "type mismatch");
                static const uint8_t ty[3] = {VT_I32, VT_I32, VT_I32};
                uint32_t s[3];
                TRY(pop_slots(c, 3, ty, s));
                if (live(c)) { ins(c, OP_table_init); w(c, t); w(c, e); w(c, s[0]); w(c, s[1]); w(c, s[2]); }
                break;
            }
            case 13: {
                uint32_t e;
                TRY(vm_rd_u32(r, &e));
                if (e >= m->nelems) INV(at, "unknown elem segment");
                if (live(c)) { ins(c, OP_elem_drop); w(c, e); }
                break;
            }
            case 14: { /* table.copy dst src */
                uint32_t td, ts;
                TRY(rd_table(c, &td));
                TRY(rd_table(c, &ts));
                if (m->tables[td].elem != m->tables[ts].elem) INV(at, "type mismatch");
                static const uint8_t ty[3] = {VT_I32, VT_I32, VT_I32};
                uint32_t s[3];
                TRY(pop_slots(c, 3, ty, s));
                if (live(c)) { ins(c, OP_table_copy); w(c, td); w(c, ts); w(c, s[0]); w(c, s[1]); w(c, s[2]); }
                break;
            }
            case 15: { /* table.grow */
                uint32_t t;
                TRY(rd_table(c, &t));
                uint8_t ty[2] = {m->tables[t].elem, VT_I32};
                uint32_t s[2];
                TRY(pop_slots(c, 2, ty, s));
                uint32_t h = c->sp;
                if (live(c)) { ins(c, OP_table_grow); w(c, home(c, h)); w(c, t); w(c, s[0]); w(c, s[1]); }
                TRY(push(c, VT_I32, K_SLOT, 0, 0));
                break;
            }
            case 16: {
                uint32_t t;
                TRY(rd_table(c, &t));
                uint32_t h = c->sp;
                if (live(c)) { ins(c, OP_table_size); w(c, home(c, h)); w(c, t); }
                TRY(push(c, VT_I32, K_SLOT, 0, 0));
                break;
            }
            case 17: {
                uint32_t t;
                TRY(rd_table(c, &t));
                uint8_t ty[3] = {VT_I32, m->tables[t].elem, VT_I32};
                uint32_t s[3];
                TRY(pop_slots(c, 3, ty, s));
                if (live(c)) { ins(c, OP_table_fill); w(c, t); w(c, s[0]); w(c, s[1]); w(c, s[2]); }
                break;
            }
            default: MAL(at, "illegal opcode");
            }
            break;
        }
        case 0xfd:
            return vm_rd_fail(r, at, CORRAL_ERR_VM_UNSUPPORTED, "unsupported feature: SIMD");
        default:
            if (op >= 0xa7 && op <= 0xbb) {
                TRY(emit_unop(c, OP_i32_wrap_i64 + (op - 0xa7), conv_in[op - 0xa7], conv_out[op - 0xa7]));
                break;
            }
            MAL(at, "illegal opcode");
        }
        if (c->oom) NOMEM();
    }
    if (r->p != r->end) MAL(r->p, "section size mismatch");
    return CORRAL_OK;
}

corral_status_t vm_compile(corral_vm_module_t *m, uint32_t fidx, const uint8_t *p, const uint8_t *end,
                           size_t base_off, vm_code_t *out, corral_err_t *err)
{
    vm_rd_t rr = {p, end, p, base_off, err};
    cc_t cc, *c = &cc;
    memset(c, 0, sizeof cc);
    c->m = m;
    c->r = &rr;
    c->h = vm_handlers();
    corral_status_t st = CORRAL_OK;
    const corral_vm_functype_t *ft = &m->types[m->func_type[fidx]];

    /* locals */
    uint32_t ngroups;
    uint64_t total = ft->nparams;
    st = vm_rd_u32(&rr, &ngroups);
    if (st != CORRAL_OK) goto fail;
    const uint8_t *save = rr.p;
    for (uint32_t i = 0; i < ngroups; i++) {
        uint32_t n;
        uint8_t t;
        if ((st = vm_rd_u32(&rr, &n)) != CORRAL_OK) goto fail;
        if ((st = vm_rd_valtype(&rr, &t)) != CORRAL_OK) goto fail;
        total += n;
        if (total > 0xffffffffu) {
            st = vm_rd_fail(&rr, rr.p, CORRAL_ERR_MALFORMED, "too many locals");
            goto fail;
        }
    }
    if (total > 50000) {
        st = vm_rd_fail(&rr, save, CORRAL_ERR_VM_UNSUPPORTED, "too many locals for this engine");
        goto fail;
    }
    c->nlocals = (uint32_t)total;
    c->ltypes = corral_malloc(total + 1);
    c->kz = corral_calloc(total + 1, 1);
    if (!c->ltypes || !c->kz) { st = corral_err_set(err, CORRAL_ERR_NOMEM, NULL); goto fail; }
    memcpy(c->ltypes, ft->params, ft->nparams);
    memset(c->kz + ft->nparams, 1, total - ft->nparams); /* declared locals start at zero */
    rr.p = save;
    {
        uint32_t k = ft->nparams;
        for (uint32_t i = 0; i < ngroups; i++) {
            uint32_t n;
            uint8_t t;
            vm_rd_u32(&rr, &n);
            vm_rd_valtype(&rr, &t);
            memset(c->ltypes + k, t, n);
            k += n;
        }
    }
    ctrl_t f;
    memset(&f, 0, sizeof f);
    f.nr = ft->nresults;
    f.rt = ft->results;
    f.height = 0;
    st = push_ctrl(c, C_FUNC, &f);
    if (st != CORRAL_OK) goto fail;
    forget_last(c);
    st = body(c);
    if (st != CORRAL_OK) goto fail;
    if (c->oom) { st = corral_err_set(err, CORRAL_ERR_NOMEM, NULL); goto fail; }
    out->code = c->code;
    out->ncode = c->n;
    out->type = ft;
    out->nparams = ft->nparams;
    out->nlocals = c->nlocals;
    out->frame = c->nlocals + c->maxh + 2;
    c->code = NULL;
fail:
    corral_free(c->code);
    corral_free(c->st);
    corral_free(c->cs);
    corral_free(c->fx);
    corral_free(c->ltypes);
    corral_free(c->kz);
    return st;
}

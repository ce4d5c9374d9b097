/*
 * vm_runtime.c - the engine's public API (corral_vm.h): modules, import
 * sets, reference-counted externs (functions, tables, memories, globals),
 * instantiation (import resolution, segments, start), calls with limits,
 * and guest memory access. Linear memory is reserved with mmap and made
 * accessible page range by page range as it grows, so untouched pages cost
 * nothing and the base address never moves.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "vm_int.h"

/* ---- modules ---------------------------------------------------------------------------- */

static corral_status_t module_new(const uint8_t *bytes, size_t len, int no_code, corral_vm_module_t **out,
                                  corral_err_t *err)
{
    *out = NULL;
    if (!bytes && len) return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "no module bytes");
    if (len > 0xffffffffu) return corral_err_set(err, CORRAL_ERR_TOO_LARGE, "module larger than 4 GiB");
    corral_vm_module_t *m = corral_calloc(1, sizeof *m);
    if (!m) return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    m->bytes = corral_malloc(len ? len : 1);
    if (!m->bytes) {
        corral_free(m);
        return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    }
    if (len) memcpy(m->bytes, bytes, len);
    m->len = len;
    m->no_code = no_code;
    corral_status_t st = vm_load(m, err);
    if (st != CORRAL_OK) {
        vm_module_release(m);
        corral_free(m);
        return st;
    }
    atomic_init(&m->mrefs, 1);
    *out = m;
    return CORRAL_OK;
}

corral_status_t corral_vm_module_new(const uint8_t *bytes, size_t len, corral_vm_module_t **out,
                                     corral_err_t *err)
{
    return module_new(bytes, len, 0, out, err);
}

corral_status_t vm_module_new_decoded(const uint8_t *bytes, size_t len, corral_vm_module_t **out,
                                      corral_err_t *err)
{
    return module_new(bytes, len, 1, out, err);
}

static void module_release(const corral_vm_module_t *cm)
{
    corral_vm_module_t *m = (corral_vm_module_t *)cm;
    if (atomic_fetch_sub(&m->mrefs, 1) == 1) {
        if (m->be) m->be->module_free(m->be_mod);
        vm_module_release(m);
        corral_free(m);
    }
}

void corral_vm_module_free(corral_vm_module_t *m)
{
    if (m) module_release(m);
}

uint32_t corral_vm_module_import_count(const corral_vm_module_t *m) { return m->nimports; }

corral_status_t corral_vm_module_import(const corral_vm_module_t *m, uint32_t i,
                                        corral_vm_import_desc_t *out)
{
    if (i >= m->nimports) return CORRAL_ERR_NOT_FOUND;
    const vm_import_t *im = &m->imports[i];
    memset(out, 0, sizeof *out);
    out->module = im->mod;
    out->module_len = im->mod_len;
    out->name = im->name;
    out->name_len = im->name_len;
    out->kind = im->kind;
    if (im->kind == CORRAL_VM_EXTERN_FUNC) out->type = m->types[im->type];
    return CORRAL_OK;
}

uint32_t corral_vm_module_export_count(const corral_vm_module_t *m) { return m->nexports; }

corral_status_t corral_vm_module_export(const corral_vm_module_t *m, uint32_t i,
                                        corral_vm_export_desc_t *out)
{
    if (i >= m->nexports) return CORRAL_ERR_NOT_FOUND;
    const vm_export_t *e = &m->exports[i];
    memset(out, 0, sizeof *out);
    out->name = e->name;
    out->name_len = e->name_len;
    out->kind = e->kind;
    if (e->kind == CORRAL_VM_EXTERN_FUNC) out->type = m->types[m->func_type[e->idx]];
    return CORRAL_OK;
}

/* ---- extern objects ---------------------------------------------------------------------- */

static void instance_destroy(corral_vm_instance_t *inst);

static void inst_retain(corral_vm_instance_t *inst) { atomic_fetch_add(&inst->refs, 1); }
static void inst_release(corral_vm_instance_t *inst)
{
    if (inst && atomic_fetch_sub(&inst->refs, 1) == 1) instance_destroy(inst);
}

static void memory_destroy(vm_memory_t *m)
{
    if (m->base) munmap(m->base, m->reserved);
    corral_free(m);
}

static void obj_retain(vm_obj_t *o)
{
    if (!o) return;
    if (o->kind == OBJ_FUNC_WASM) inst_retain(((vm_func_t *)o)->inst);
    else atomic_fetch_add(&o->refs, 1);
}

static void obj_release(vm_obj_t *o)
{
    if (!o) return;
    if (o->kind == OBJ_FUNC_WASM) {
        inst_release(((vm_func_t *)o)->inst);
        return;
    }
    if (atomic_fetch_sub(&o->refs, 1) != 1) return;
    switch (o->kind) {
    case OBJ_FUNC_HOST: corral_free(((vm_func_t *)o)->sig_storage); corral_free(o); break;
    case OBJ_TABLE: {
        vm_table_t *t = (vm_table_t *)o;
        for (uint32_t i = 0; i < t->nzombies; i++) inst_release(t->zombies[i]);
        corral_free(t->zombies);
        corral_free(t->elems);
        corral_free(t);
        break;
    }
    case OBJ_MEMORY: memory_destroy((vm_memory_t *)o); break;
    case OBJ_GLOBAL: corral_free(o); break;
    default: break;
    }
}

void corral_vm_extern_retain(corral_vm_extern_t ext) { obj_retain(ext.obj); }
void corral_vm_extern_release(corral_vm_extern_t ext) { obj_release(ext.obj); }

static corral_status_t memory_make(uint32_t min, uint32_t max, int has_max, vm_memory_t **out,
                                   corral_err_t *err)
{
    *out = NULL;
    if (min > VM_MAX_PAGES || (has_max && (max > VM_MAX_PAGES || max < min)))
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "bad memory limits");
    vm_memory_t *m = corral_calloc(1, sizeof *m);
    if (!m) return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    m->hdr.kind = OBJ_MEMORY;
    atomic_init(&m->hdr.refs, 1);
    m->max = has_max ? max : VM_MAX_PAGES;
    m->has_max = has_max;
    uint64_t res = (uint64_t)m->max * VM_PAGE;
    if (res == 0) res = VM_PAGE;
    void *p = mmap(NULL, res, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        corral_free(m);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "cannot reserve %llu bytes for linear memory",
                              (unsigned long long)res);
    }
    m->base = p;
    m->reserved = res;
    if (min && mprotect(p, (size_t)min * VM_PAGE, PROT_READ | PROT_WRITE) != 0) {
        memory_destroy(m);
        return corral_err_set(err, CORRAL_ERR_NOMEM, "cannot commit %u pages of linear memory", min);
    }
    m->pages = min;
    m->size = (uint64_t)min * VM_PAGE;
    *out = m;
    return CORRAL_OK;
}

int32_t vm_memory_grow(corral_vm_instance_t *inst, vm_memory_t *m, uint32_t delta)
{
    uint32_t old = m->pages;
    uint64_t np = (uint64_t)old + delta;
    uint64_t limit = m->max;
    if (inst && inst->limits.max_pages && inst->limits.max_pages < limit) limit = inst->limits.max_pages;
    if (np > limit) return -1;
    if (np * VM_PAGE > m->reserved) return -1;
    if (delta && mprotect(m->base + (uint64_t)old * VM_PAGE, (size_t)delta * VM_PAGE, PROT_READ | PROT_WRITE) != 0)
        return -1;
    m->pages = (uint32_t)np;
    m->size = np * VM_PAGE;
    return (int32_t)old;
}

static corral_status_t table_make(uint8_t elem, uint32_t min, uint32_t max, int has_max, vm_table_t **out,
                                  corral_err_t *err)
{
    *out = NULL;
    if (min > VM_MAX_TABLE) return corral_err_set(err, CORRAL_ERR_NOMEM, "table of %u elements is too large", min);
    vm_table_t *t = corral_calloc(1, sizeof *t);
    if (!t) return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    t->hdr.kind = OBJ_TABLE;
    atomic_init(&t->hdr.refs, 1);
    t->elem = elem;
    t->size = min;
    t->max = has_max ? max : 0xffffffffu;
    t->has_max = has_max;
    t->elems = corral_calloc(min ? min : 1, sizeof *t->elems);
    if (!t->elems) {
        corral_free(t);
        return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    }
    *out = t;
    return CORRAL_OK;
}

int32_t vm_table_grow(vm_table_t *t, uint32_t delta, uint64_t init)
{
    uint32_t old = t->size;
    uint64_t ns = (uint64_t)old + delta;
    if (ns > t->max || ns > VM_MAX_TABLE) return -1;
    if (delta) {
        uint64_t *e = corral_realloc(t->elems, (size_t)ns * sizeof *e);
        if (!e) return -1;
        t->elems = e;
        for (uint64_t i = old; i < ns; i++) e[i] = init;
    }
    t->size = (uint32_t)ns;
    return (int32_t)old;
}

corral_status_t corral_vm_memory_new(uint32_t min_pages, uint32_t max_pages, int has_max,
                                     corral_vm_extern_t *out, corral_err_t *err)
{
    vm_memory_t *m;
    corral_status_t st = memory_make(min_pages, max_pages, has_max, &m, err);
    out->kind = CORRAL_VM_EXTERN_MEMORY;
    out->obj = m;
    return st;
}

corral_status_t corral_vm_table_new(corral_vm_valtype_t elem, uint32_t min, uint32_t max, int has_max,
                                    corral_vm_extern_t *out, corral_err_t *err)
{
    if (elem != CORRAL_VM_FUNCREF && elem != CORRAL_VM_EXTERNREF)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "table element type must be a reference type");
    if (has_max && max < min) return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "table min above max");
    vm_table_t *t;
    corral_status_t st = table_make((uint8_t)elem, min, max, has_max, &t, err);
    out->kind = CORRAL_VM_EXTERN_TABLE;
    out->obj = t;
    return st;
}

static vm_global_t *global_make(uint8_t type, int mut, uint64_t v)
{
    vm_global_t *g = corral_calloc(1, sizeof *g);
    if (!g) return NULL;
    g->hdr.kind = OBJ_GLOBAL;
    atomic_init(&g->hdr.refs, 1);
    g->type = type;
    g->mut = (uint8_t)!!mut;
    g->val = v;
    return g;
}

static uint64_t norm(uint8_t type, uint64_t v)
{
    return (type == VT_I32 || type == VT_F32) ? (uint32_t)v : v;
}

corral_status_t corral_vm_global_new(corral_vm_valtype_t type, int mutable_, uint64_t value,
                                     corral_vm_extern_t *out, corral_err_t *err)
{
    out->kind = CORRAL_VM_EXTERN_GLOBAL;
    out->obj = NULL;
    if (type != CORRAL_VM_I32 && type != CORRAL_VM_I64 && type != CORRAL_VM_F32 && type != CORRAL_VM_F64 &&
        type != CORRAL_VM_FUNCREF && type != CORRAL_VM_EXTERNREF)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "unsupported global type");
    out->obj = global_make((uint8_t)type, mutable_, norm((uint8_t)type, value));
    return out->obj ? CORRAL_OK : corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
}

uint64_t corral_vm_global_get(corral_vm_extern_t global)
{
    if (global.kind != CORRAL_VM_EXTERN_GLOBAL || !global.obj) return 0;
    return ((vm_global_t *)global.obj)->val;
}

corral_vm_functype_t corral_vm_func_type(corral_vm_extern_t func)
{
    corral_vm_functype_t none = {0, 0, NULL, NULL};
    if (func.kind != CORRAL_VM_EXTERN_FUNC || !func.obj) return none;
    return *((vm_func_t *)func.obj)->type;
}

/* ---- import sets ---------------------------------------------------------------------------- */

typedef struct imp_entry {
    char *mod, *name;
    size_t mod_len, name_len;
    corral_vm_extern_t ext;
} imp_entry_t;

struct corral_vm_imports {
    imp_entry_t *e;
    size_t n, cap;
};

corral_vm_imports_t *corral_vm_imports_new(void) { return corral_calloc(1, sizeof(corral_vm_imports_t)); }

void corral_vm_imports_free(corral_vm_imports_t *imp)
{
    if (!imp) return;
    for (size_t i = 0; i < imp->n; i++) {
        corral_free(imp->e[i].mod);
        corral_free(imp->e[i].name);
        obj_release(imp->e[i].ext.obj);
    }
    corral_free(imp->e);
    corral_free(imp);
}

static imp_entry_t *imp_find(const corral_vm_imports_t *imp, const char *mod, size_t ml, const char *name,
                             size_t nl)
{
    if (!imp) return NULL;
    for (size_t i = imp->n; i-- > 0;) {
        imp_entry_t *e = &imp->e[i];
        if (e->mod_len == ml && e->name_len == nl && memcmp(e->mod, mod, ml) == 0 && memcmp(e->name, name, nl) == 0)
            return e;
    }
    return NULL;
}

/* Takes over one reference of ext. */
static corral_status_t imp_put(corral_vm_imports_t *imp, const char *mod, const char *name,
                               corral_vm_extern_t ext, corral_err_t *err)
{
    size_t ml = strlen(mod), nl = strlen(name);
    imp_entry_t *e = imp_find(imp, mod, ml, name, nl);
    if (e) {
        obj_release(e->ext.obj);
        e->ext = ext;
        return CORRAL_OK;
    }
    if (imp->n == imp->cap) {
        size_t nc = imp->cap ? imp->cap * 2 : 16;
        imp_entry_t *p = corral_realloc(imp->e, nc * sizeof *p);
        if (!p) goto nomem;
        imp->e = p;
        imp->cap = nc;
    }
    e = &imp->e[imp->n];
    e->mod = corral_strdup(mod);
    e->name = corral_strdup(name);
    if (!e->mod || !e->name) {
        corral_free(e->mod);
        corral_free(e->name);
        goto nomem;
    }
    e->mod_len = ml;
    e->name_len = nl;
    e->ext = ext;
    imp->n++;
    return CORRAL_OK;
nomem:
    obj_release(ext.obj);
    return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
}

static int sig_type(char ch, uint8_t *t)
{
    switch (ch) {
    case 'i': *t = VT_I32; return 1;
    case 'I': *t = VT_I64; return 1;
    case 'f': *t = VT_F32; return 1;
    case 'F': *t = VT_F64; return 1;
    case 'e': *t = VT_EXTERNREF; return 1;
    case 'r': *t = VT_FUNCREF; return 1;
    default: return 0;
    }
}

corral_status_t corral_vm_imports_add_func(corral_vm_imports_t *imp, const char *module, const char *name,
                                           const char *sig, corral_vm_host_fn_t fn, void *user,
                                           corral_err_t *err)
{
    if (!imp || !module || !name || !sig || !fn)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "missing argument to corral_vm_imports_add_func");
    const char *colon = strchr(sig, ':');
    if (!colon || strchr(colon + 1, ':'))
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "bad signature \"%s\": want PARAMS:RESULTS", sig);
    size_t np = (size_t)(colon - sig), nr = strlen(colon + 1);
    vm_func_t *f = corral_calloc(1, sizeof *f + sizeof(corral_vm_functype_t));
    uint8_t *ts = corral_malloc(np + nr + 1);
    if (!f || !ts) {
        corral_free(f);
        corral_free(ts);
        return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    }
    for (size_t i = 0; i < np + nr; i++) {
        char ch = i < np ? sig[i] : colon[1 + i - np];
        if (!sig_type(ch, &ts[i])) {
            corral_free(f);
            corral_free(ts);
            return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "bad signature \"%s\": unknown type '%c'", sig, ch);
        }
    }
    corral_vm_functype_t *ft = (corral_vm_functype_t *)(f + 1);
    ft->nparams = (uint32_t)np;
    ft->nresults = (uint32_t)nr;
    ft->params = ts;
    ft->results = ts + np;
    f->hdr.kind = OBJ_FUNC_HOST;
    atomic_init(&f->hdr.refs, 1);
    f->type = ft;
    f->host = fn;
    f->user = user;
    f->sig_storage = ts;
    return imp_put(imp, module, name, (corral_vm_extern_t){CORRAL_VM_EXTERN_FUNC, f}, err);
}

corral_status_t corral_vm_imports_add_extern(corral_vm_imports_t *imp, const char *module, const char *name,
                                             corral_vm_extern_t ext, corral_err_t *err)
{
    if (!imp || !module || !name || !ext.obj)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "missing argument to corral_vm_imports_add_extern");
    obj_retain(ext.obj);
    return imp_put(imp, module, name, ext, err);
}

/* ---- instances ----------------------------------------------------------------------------- */

static void limits_fill(corral_vm_limits_t *l, const corral_vm_limits_t *in)
{
    if (in) *l = *in;
    else memset(l, 0, sizeof *l);
    if (!l->max_pages || l->max_pages > VM_MAX_PAGES) l->max_pages = VM_MAX_PAGES;
    if (!l->max_call_depth) l->max_call_depth = 10000;
}

static void instance_destroy(corral_vm_instance_t *inst)
{
    const corral_vm_module_t *m = inst->mod;
    if (m->be && inst->be_inst) m->be->instance_free(inst);
    if (inst->funcs)
        for (uint32_t i = 0; i < m->nfunc_imports; i++) obj_release(inst->funcs[i] ? &inst->funcs[i]->hdr : NULL);
    if (inst->tables)
        for (uint32_t i = 0; i < m->ntables; i++)
            if (!(inst->weak_tables && i < m->ntable_imports && inst->weak_tables[i]))
                obj_release(inst->tables[i] ? &inst->tables[i]->hdr : NULL);
    corral_free(inst->weak_tables);
    if (inst->mems)
        for (uint32_t i = 0; i < m->nmems; i++) obj_release(inst->mems[i] ? &inst->mems[i]->hdr : NULL);
    if (inst->globals)
        for (uint32_t i = 0; i < m->nglobals; i++) obj_release(inst->globals[i] ? &inst->globals[i]->hdr : NULL);
    if (inst->exec.stack) munmap(inst->exec.stack, inst->stack_bytes);
    if (inst->exec.frames) munmap(inst->exec.frames, inst->frames_bytes);
    module_release(m);
    corral_free(inst);
}

void corral_vm_instance_free(corral_vm_instance_t *inst)
{
    if (inst) inst_release(inst);
}

static uint64_t cexpr_eval(corral_vm_instance_t *inst, const vm_cexpr_t *e)
{
    switch (e->kind) {
    case CE_REFFUNC: return (uint64_t)(uintptr_t)inst->funcs[e->idx];
    case CE_GLOBAL: return inst->globals[e->idx]->val;
    default: return e->val;
    }
}

static corral_status_t unlinkable(corral_err_t *err, const char *what, const vm_import_t *im)
{
    return corral_err_set(err, CORRAL_ERR_UNLINKABLE, "%s %.*s.%.*s", what, (int)im->mod_len, im->mod,
                          (int)im->name_len, im->name);
}

static int limits_ok(uint64_t have_min, int have_has_max, uint64_t have_max, const vm_limits_d_t *want)
{
    if (have_min < want->min) return 0;
    if (want->has_max && (!have_has_max || have_max > want->max)) return 0;
    return 1;
}

static corral_status_t exec_prepare(corral_vm_instance_t *inst, corral_err_t *err)
{
    vm_exec_t *ex = &inst->exec;
    uint32_t depth = inst->limits.max_call_depth;
    size_t fb = ((size_t)depth + 1) * sizeof(vm_frame_t);
    if (ex->frames && ex->max_depth == depth) return CORRAL_OK;
    if (ex->frames) {
        munmap(ex->frames, inst->frames_bytes);
        ex->frames = NULL;
    }
    if (!ex->stack) {
        size_t sb = (size_t)VM_STACK_SLOTS * 8;
        void *p = mmap(NULL, sb, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) return corral_err_set(err, CORRAL_ERR_NOMEM, "cannot map the wasm stack");
        ex->stack = p;
        ex->stack_end = ex->stack + VM_STACK_SLOTS;
        inst->stack_bytes = sb;
    }
    void *f = mmap(NULL, fb, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (f == MAP_FAILED) return corral_err_set(err, CORRAL_ERR_NOMEM, "cannot map the call frames");
    ex->frames = f;
    inst->frames_bytes = fb;
    ex->max_depth = depth;
    ex->interrupt = &inst->interrupt;
    return CORRAL_OK;
}

corral_status_t vm_exec_check_time(vm_exec_t *ex)
{
    if (atomic_load_explicit(ex->interrupt, memory_order_relaxed)) {
        vm_trap_msg("interrupted");
        return CORRAL_ERR_TRAP_INTERRUPTED;
    }
    if (ex->deadline && corral_now_ns() >= ex->deadline) {
        vm_trap_msg("deadline exceeded after %llu ms",
                    (unsigned long long)((ex->deadline - ex->start_ns) / 1000000u));
        return CORRAL_ERR_TRAP_DEADLINE;
    }
    return CORRAL_OK;
}

corral_status_t vm_exec_slow(vm_exec_t *ex)
{
    corral_status_t st = vm_exec_check_time(ex);
    if (st != CORRAL_OK) return st;
    uint64_t n = VM_CHECK_EVERY;
    if (ex->has_fuel) {
        if (ex->fuel_left == 0) {
            vm_trap_msg("fuel exhausted");
            return CORRAL_ERR_TRAP_FUEL_EXHAUSTED;
        }
        if (n > ex->fuel_left) n = ex->fuel_left;
        ex->fuel_left -= n;
    }
    ex->countdown = (int64_t)n - 1;
    return CORRAL_OK;
}

static void exec_start(corral_vm_instance_t *inst)
{
    vm_exec_t *ex = &inst->exec;
    atomic_store_explicit(&inst->interrupt, 0, memory_order_relaxed);
    if (CORRAL_LIKELY(!(inst->limits.deadline_ns | inst->limits.fuel))) {
        ex->deadline = 0;
        ex->has_fuel = 0;
        ex->countdown = VM_CHECK_EVERY;
        return;
    }
    ex->deadline = 0;
    if (inst->limits.deadline_ns) {
        ex->start_ns = corral_now_ns();
        ex->deadline = ex->start_ns + inst->limits.deadline_ns;
    }
    uint64_t n = VM_CHECK_EVERY;
    ex->has_fuel = inst->limits.fuel != 0;
    if (ex->has_fuel) {
        ex->fuel_left = inst->limits.fuel;
        if (n > ex->fuel_left) n = ex->fuel_left;
        ex->fuel_left -= n;
    }
    ex->countdown = (int64_t)n;
}

static corral_status_t call_func(corral_vm_instance_t *inst, vm_func_t *f, const uint64_t *args,
                                 uint64_t *results, corral_err_t *err)
{
    const corral_vm_functype_t *ft = f->type;
    corral_status_t st;
    if (inst->running) return corral_err_set(err, CORRAL_ERR_STATE, "a call is already running in this instance");
    if (!f->host && !f->code) return f->inst->mod->be->call(f->inst, f, args, results, err);
    vm_trap_clear();
    if (f->host) {
        uint64_t small[16];
        size_t n = ft->nparams > ft->nresults ? ft->nparams : ft->nresults;
        uint64_t *sp = n <= 16 ? small : corral_malloc(n * 8);
        if (!sp) return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
        for (uint32_t i = 0; i < ft->nparams; i++) sp[i] = norm(ft->params[i], args[i]);
        inst->running = 1;
        st = f->host(inst, sp, f->user);
        inst->running = 0;
        if (st == CORRAL_OK)
            for (uint32_t i = 0; i < ft->nresults; i++) results[i] = norm(ft->results[i], sp[i]);
        if (sp != small) corral_free(sp);
    } else {
        if (CORRAL_UNLIKELY(!inst->exec.frames || inst->exec.max_depth != inst->limits.max_call_depth)) {
            st = exec_prepare(inst, err);
            if (st != CORRAL_OK) return st;
        }
        exec_start(inst);
        uint64_t *sp = inst->exec.stack;
        for (uint32_t i = 0; i < ft->nparams; i++) sp[i] = norm(ft->params[i], args[i]);
        inst->running = 1;
        st = vm_run(inst, f, sp);
        inst->running = 0;
        if (st == CORRAL_OK)
            for (uint32_t i = 0; i < ft->nresults; i++) results[i] = sp[i];
    }
    if (st != CORRAL_OK) {
        const char *t = vm_trap_text();
        if (t[0]) corral_err_set(err, st, "%s", t);
        else corral_err_set(err, st, NULL);
    }
    return st;
}

static __attribute__((noinline, cold)) corral_status_t trap_err(corral_err_t *err, corral_status_t st)
{
    const char *t = vm_trap_text();
    if (t[0]) return corral_err_set(err, st, "%s", t);
    return corral_err_set(err, st, NULL);
}

static __attribute__((noinline, cold)) corral_status_t call_bad(corral_err_t *err, vm_func_t *f)
{
    if (!f) return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "not a function");
    return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "function takes %u arguments and returns %u results",
                          f->type->nparams, f->type->nresults);
}

corral_status_t corral_vm_call(corral_vm_instance_t *inst, corral_vm_extern_t func, const uint64_t *args,
                               uint32_t nargs, uint64_t *results, uint32_t nresults, corral_err_t *err)
{
    if (CORRAL_UNLIKELY(!inst || func.kind != CORRAL_VM_EXTERN_FUNC || !func.obj)) return call_bad(err, NULL);
    vm_func_t *f = func.obj;
    if (CORRAL_UNLIKELY(nargs != f->type->nparams || nresults != f->type->nresults)) return call_bad(err, f);
    if (CORRAL_LIKELY(!f->host && !inst->running && inst->exec.frames &&
                      inst->exec.max_depth == inst->limits.max_call_depth)) {
        /* the common case, kept short: a wasm function, exec ready */
        const corral_vm_functype_t *ft = f->type;
        vm_trap_clear();
        exec_start(inst);
        uint64_t *sp = inst->exec.stack;
        for (uint32_t i = 0; i < nargs; i++) sp[i] = norm(ft->params[i], args[i]);
        inst->running = 1;
        corral_status_t st = vm_run(inst, f, sp);
        inst->running = 0;
        if (CORRAL_LIKELY(st == CORRAL_OK)) {
            for (uint32_t i = 0; i < nresults; i++) results[i] = sp[i];
            return CORRAL_OK;
        }
        return trap_err(err, st);
    }
    return call_func(inst, f, args, results, err);
}

void corral_vm_instance_interrupt(corral_vm_instance_t *inst)
{
    if (inst) atomic_store_explicit(&inst->interrupt, 1, memory_order_relaxed);
}

corral_status_t corral_vm_instance_new(const corral_vm_module_t *m, const corral_vm_imports_t *imp,
                                       const corral_vm_limits_t *limits, void *user,
                                       corral_vm_instance_t **out, corral_err_t *err)
{
    *out = NULL;
    uint32_t ndef = m->nfuncs - m->nfunc_imports;
    size_t sz = sizeof(corral_vm_instance_t);
    size_t o_funcs = sz;
    sz += (size_t)m->nfuncs * sizeof(vm_func_t *);
    size_t o_tables = sz;
    sz += (size_t)m->ntables * sizeof(vm_table_t *);
    size_t o_mems = sz;
    sz += (size_t)m->nmems * sizeof(vm_memory_t *);
    size_t o_globals = sz;
    sz += (size_t)m->nglobals * sizeof(vm_global_t *);
    size_t o_own = sz;
    sz += (size_t)ndef * sizeof(vm_func_t);
    size_t o_de = sz;
    sz += m->nelems;
    size_t o_dd = sz;
    sz += m->ndatas;
    uint8_t *blk = corral_calloc(1, sz);
    if (!blk) return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    corral_vm_instance_t *inst = (corral_vm_instance_t *)blk;
    atomic_init(&inst->refs, 1);
    atomic_init(&inst->interrupt, 0);
    inst->mod = m;
    atomic_fetch_add(&((corral_vm_module_t *)m)->mrefs, 1);
    inst->user = user;
    limits_fill(&inst->limits, limits);
    inst->funcs = (vm_func_t **)(blk + o_funcs);
    inst->tables = (vm_table_t **)(blk + o_tables);
    inst->mems = (vm_memory_t **)(blk + o_mems);
    inst->globals = (vm_global_t **)(blk + o_globals);
    inst->own = (vm_func_t *)(blk + o_own);
    inst->dropped_elem = blk + o_de;
    inst->dropped_data = blk + o_dd;
    corral_status_t st = CORRAL_OK;

    /* imports */
    uint32_t fi = 0, ti = 0, mi = 0, gi = 0;
    for (uint32_t i = 0; i < m->nimports; i++) {
        const vm_import_t *im = &m->imports[i];
        imp_entry_t *e = imp_find(imp, im->mod, im->mod_len, im->name, im->name_len);
        if (!e) {
            st = unlinkable(err, "unknown import", im);
            goto fail;
        }
        if (e->ext.kind != im->kind) {
            st = unlinkable(err, "incompatible import type for", im);
            goto fail;
        }
        switch (im->kind) {
        case CORRAL_VM_EXTERN_FUNC: {
            vm_func_t *f = e->ext.obj;
            if (!vm_functype_eq(f->type, &m->types[im->type])) {
                st = unlinkable(err, "incompatible import type for", im);
                goto fail;
            }
            if (!f->host && !f->code) { /* another tier's function (vm_backend_t): not callable from here */
                st = unlinkable(err, "cannot link a native-code (AOT) function as", im);
                goto fail;
            }
            obj_retain(&f->hdr);
            inst->funcs[fi++] = f;
            break;
        }
        case CORRAL_VM_EXTERN_TABLE: {
            vm_table_t *t = e->ext.obj;
            if (t->elem != im->elem || !limits_ok(t->size, t->has_max, t->max, &im->lim)) {
                st = unlinkable(err, "incompatible import type for", im);
                goto fail;
            }
            obj_retain(&t->hdr);
            inst->tables[ti++] = t;
            break;
        }
        case CORRAL_VM_EXTERN_MEMORY: {
            vm_memory_t *mm = e->ext.obj;
            if (!limits_ok(mm->pages, mm->has_max, mm->max, &im->lim)) {
                st = unlinkable(err, "incompatible import type for", im);
                goto fail;
            }
            obj_retain(&mm->hdr);
            inst->mems[mi++] = mm;
            break;
        }
        case CORRAL_VM_EXTERN_GLOBAL: {
            vm_global_t *g = e->ext.obj;
            if (g->type != im->gtype || g->mut != im->gmut) {
                st = unlinkable(err, "incompatible import type for", im);
                goto fail;
            }
            obj_retain(&g->hdr);
            inst->globals[gi++] = g;
            break;
        }
        }
    }
    for (uint32_t i = 0; i < ndef; i++) {
        vm_func_t *f = &inst->own[i];
        f->hdr.kind = OBJ_FUNC_WASM;
        f->type = &m->types[m->func_type[m->nfunc_imports + i]];
        f->inst = inst;
        f->code = &m->codes[i];
        inst->funcs[m->nfunc_imports + i] = f;
    }
    /* The embedder's page cap binds the module's own declarations too:
     * otherwise a module could take any amount of memory by declaring it. */
    for (uint32_t i = m->nmem_imports; i < m->nmems; i++) {
        if (m->mems[i].min > inst->limits.max_pages) {
            st = corral_err_set(err, CORRAL_ERR_UNINSTANTIABLE,
                                "memory %u needs %u pages at start, above the limit of %u pages", i,
                                m->mems[i].min, inst->limits.max_pages);
            goto fail;
        }
    }
    if (m->no_code && !m->be) { /* vm_module_new_decoded without its backend: nothing to run */
        st = corral_err_set(err, CORRAL_ERR_INVALID_ARG, "module was decoded without its code");
        goto fail;
    }
    if (m->be) { /* another tier builds and runs the rest */
        for (uint32_t i = 0; i < ndef; i++) inst->own[i].code = NULL;
        st = m->be->instance_new(inst, err);
        if (st != CORRAL_OK) goto fail;
        *out = inst;
        return CORRAL_OK;
    }
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++) {
        st = table_make(m->tables[i].elem, m->tables[i].lim.min, m->tables[i].lim.max, m->tables[i].lim.has_max,
                        &inst->tables[i], err);
        if (st != CORRAL_OK) goto fail;
    }
    for (uint32_t i = m->nmem_imports; i < m->nmems; i++) {
        st = memory_make(m->mems[i].min, m->mems[i].max, m->mems[i].has_max, &inst->mems[i], err);
        if (st != CORRAL_OK) goto fail;
    }
    inst->mem0 = m->nmems ? inst->mems[0] : NULL;
    for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++) {
        inst->globals[i] = global_make(m->globals[i].type, m->globals[i].mut, 0);
        if (!inst->globals[i]) {
            st = corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
            goto fail;
        }
        inst->globals[i]->val = cexpr_eval(inst, &m->globals[i].init);
    }
    /* element segments, then data segments, in order */
    for (uint32_t i = 0; i < m->nelems; i++) {
        const vm_elem_t *el = &m->elems[i];
        if (el->mode == SEG_ACTIVE) {
            vm_table_t *t = inst->tables[el->table];
            uint64_t off = (uint32_t)cexpr_eval(inst, &el->offset);
            if (off + el->count > t->size) {
                st = corral_err_set(err, CORRAL_ERR_UNINSTANTIABLE, "out of bounds table access");
                goto fail_started;
            }
            for (uint32_t k = 0; k < el->count; k++) t->elems[off + k] = cexpr_eval(inst, &el->items[k]);
        }
        if (el->mode != SEG_PASSIVE) inst->dropped_elem[i] = 1;
    }
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const vm_data_t *d = &m->datas[i];
        if (d->mode != SEG_ACTIVE) continue;
        vm_memory_t *mm = inst->mems[0];
        uint64_t off = (uint32_t)cexpr_eval(inst, &d->offset);
        if (off + d->len > mm->size) {
            st = corral_err_set(err, CORRAL_ERR_UNINSTANTIABLE, "out of bounds memory access");
            goto fail_started;
        }
        if (d->len) memcpy(mm->base + off, d->bytes, d->len);
        inst->dropped_data[i] = 1;
    }
    if (m->has_start) {
        st = call_func(inst, inst->funcs[m->start], NULL, NULL, err);
        if (st != CORRAL_OK) goto fail_started;
    }
    *out = inst;
    return CORRAL_OK;

fail_started:
    /* Segments may already have put this instance's functions into an
     * imported table, where other instances can still call them: the spec
     * keeps those writes, so the instance lives on, owned by those tables
     * (its own references to them become weak to avoid a cycle). */
    if (m->ntable_imports && !inst->weak_tables) {
        int kept = 0;
        inst->weak_tables = corral_calloc(m->ntable_imports, 1);
        for (uint32_t i = 0; inst->weak_tables && i < m->ntable_imports; i++) {
            vm_table_t *t = inst->tables[i];
            int has = 0;
            for (uint32_t k = 0; k < t->size && !has; k++) {
                vm_func_t *f = (vm_func_t *)(uintptr_t)t->elems[k];
                has = t->elem == VT_FUNCREF && f && f->hdr.kind == OBJ_FUNC_WASM && f->inst == inst;
            }
            if (!has) continue;
            vm_table_t *dup = NULL;
            for (uint32_t j = 0; j < i; j++)
                if (inst->tables[j] == t) dup = t;
            if (dup) continue;
            struct corral_vm_instance **z = corral_realloc(t->zombies, (t->nzombies + 1) * sizeof *z);
            if (!z) continue;
            t->zombies = z;
            z[t->nzombies++] = inst;
            inst_retain(inst);
            inst->weak_tables[i] = 1;
            for (uint32_t j = i + 1; j < m->ntable_imports; j++)
                if (inst->tables[j] == t) inst->weak_tables[j] = 1;
            kept = 1;
        }
        if (kept) {
            for (uint32_t i = 0; i < m->ntable_imports; i++)
                if (inst->weak_tables[i]) obj_release(&inst->tables[i]->hdr);
            inst_release(inst);
            return st;
        }
    }
fail:
    instance_destroy(inst);
    return st;
}

void *corral_vm_instance_user(const corral_vm_instance_t *inst) { return inst->user; }
void corral_vm_instance_set_user(corral_vm_instance_t *inst, void *user) { inst->user = user; }
const corral_vm_module_t *corral_vm_instance_module(const corral_vm_instance_t *inst) { return inst->mod; }

void corral_vm_instance_set_limits(corral_vm_instance_t *inst, const corral_vm_limits_t *limits)
{
    limits_fill(&inst->limits, limits);
}

corral_status_t corral_vm_instance_export_n(corral_vm_instance_t *inst, const char *name, size_t name_len,
                                            corral_vm_extern_t *out)
{
    const corral_vm_module_t *m = inst->mod;
    for (uint32_t i = 0; i < m->nexports; i++) {
        const vm_export_t *e = &m->exports[i];
        if (e->name_len != name_len || memcmp(e->name, name, name_len) != 0) continue;
        if (m->be && e->kind != CORRAL_VM_EXTERN_FUNC) return CORRAL_ERR_NOT_FOUND;
        out->kind = e->kind;
        switch (e->kind) {
        case CORRAL_VM_EXTERN_FUNC: out->obj = inst->funcs[e->idx]; break;
        case CORRAL_VM_EXTERN_TABLE: out->obj = inst->tables[e->idx]; break;
        case CORRAL_VM_EXTERN_MEMORY: out->obj = inst->mems[e->idx]; break;
        case CORRAL_VM_EXTERN_GLOBAL: out->obj = inst->globals[e->idx]; break;
        }
        return CORRAL_OK;
    }
    return CORRAL_ERR_NOT_FOUND;
}

corral_status_t corral_vm_instance_export(corral_vm_instance_t *inst, const char *name, corral_vm_extern_t *out)
{
    return corral_vm_instance_export_n(inst, name, strlen(name), out);
}

/* ---- guest memory ----------------------------------------------------------------------------- */

uint8_t *corral_vm_memory_slice(corral_vm_instance_t *inst, uint32_t offset, uint32_t len)
{
    if (inst && inst->mod->be) return inst->mod->be->memory_slice(inst, offset, len);
    vm_memory_t *m = inst ? inst->mem0 : NULL;
    if (!m) return NULL;
    if ((uint64_t)offset + len > m->size) return NULL;
    return m->base + offset;
}

uint64_t corral_vm_memory_size(const corral_vm_instance_t *inst)
{
    if (inst && inst->mod->be) return inst->mod->be->memory_size(inst);
    return inst && inst->mem0 ? inst->mem0->size : 0;
}

corral_status_t corral_vm_trap(corral_vm_instance_t *caller, corral_status_t st, const char *fmt, ...)
{
    (void)caller;
    if (fmt) {
        char buf[CORRAL_ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        vm_trap_msg("%s", buf);
    } else {
        vm_trap_msg("%s", corral_status_str(st));
    }
    return st;
}

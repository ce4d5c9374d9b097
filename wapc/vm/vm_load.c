/*
 * vm_load.c - decodes a WebAssembly 2.0 binary module into corral_vm_module_t
 * and validates everything outside function bodies (types, imports, limits,
 * constant expressions, exports, segments). Function bodies are handed to
 * vm_compile.c, which validates and translates them in one pass.
 *
 * Decode problems are CORRAL_ERR_MALFORMED, rule violations
 * CORRAL_ERR_INVALID; both messages carry the byte offset.
 */
#include <string.h>

#include "vm_int.h"
#include "vm_rd.h"

corral_status_t vm_rd_fail(vm_rd_t *r, const uint8_t *at, corral_status_t st, const char *msg)
{
    const char *what = st == CORRAL_ERR_MALFORMED ? "malformed" : st == CORRAL_ERR_INVALID ? "invalid" : "unsupported";
    return corral_err_set(r->err, st, "%s module at offset 0x%zx: %s", what,
                          (size_t)(at - r->base) + r->off, msg);
}

/* Shared LEB128 reader. `bits` is 32, 33 or 64; `sign` selects signed. */
corral_status_t vm_rd_leb(vm_rd_t *r, unsigned bits, int sign, uint64_t *out)
{
    const uint8_t *start = r->p;
    unsigned maxb = (bits + 6) / 7;
    uint64_t v = 0;
    unsigned shift = 0;
    for (unsigned i = 0; i < maxb; i++) {
        if (r->p >= r->end) return vm_rd_fail(r, r->p, CORRAL_ERR_MALFORMED, "unexpected end");
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (i == maxb - 1) {
            if (b & 0x80)
                return vm_rd_fail(r, start, CORRAL_ERR_MALFORMED, "integer representation too long");
            unsigned used = bits - 7 * (maxb - 1);
            if (sign) {
                uint8_t m = (uint8_t)((0x7fu >> (used - 1)) << (used - 1));
                if ((b & m) != 0 && (b & m) != m)
                    return vm_rd_fail(r, start, CORRAL_ERR_MALFORMED, "integer too large");
            } else {
                uint8_t m = (uint8_t)((0x7fu >> used) << used);
                if (b & m) return vm_rd_fail(r, start, CORRAL_ERR_MALFORMED, "integer too large");
            }
        }
        if (!(b & 0x80)) {
            if (sign && shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
            *out = v;
            return CORRAL_OK;
        }
    }
    return vm_rd_fail(r, start, CORRAL_ERR_MALFORMED, "integer representation too long");
}

corral_status_t vm_rd_u32(vm_rd_t *r, uint32_t *out)
{
    uint64_t v;
    corral_status_t st = vm_rd_leb(r, 32, 0, &v);
    *out = (uint32_t)v;
    return st;
}

corral_status_t vm_rd_byte(vm_rd_t *r, uint8_t *out)
{
    if (r->p >= r->end) return vm_rd_fail(r, r->p, CORRAL_ERR_MALFORMED, "unexpected end");
    *out = *r->p++;
    return CORRAL_OK;
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        corral_status_t st_ = (x);                                                                 \
        if (st_ != CORRAL_OK) return st_;                                                          \
    } while (0)
#define MAL(at, msg) return vm_rd_fail(r, (at), CORRAL_ERR_MALFORMED, msg)
#define INV(at, msg) return vm_rd_fail(r, (at), CORRAL_ERR_INVALID, msg)

int vm_functype_eq(const corral_vm_functype_t *a, const corral_vm_functype_t *b)
{
    return a == b || (a->nparams == b->nparams && a->nresults == b->nresults &&
                      memcmp(a->params, b->params, a->nparams) == 0 &&
                      memcmp(a->results, b->results, a->nresults) == 0);
}

static corral_status_t rd_name(vm_rd_t *r, const char **s, uint32_t *len)
{
    uint32_t n;
    TRY(vm_rd_u32(r, &n));
    if ((size_t)(r->end - r->p) < n) MAL(r->p, "length out of bounds");
    if (!corral_utf8_valid(r->p, n)) MAL(r->p, "malformed UTF-8 encoding");
    *s = (const char *)r->p;
    *len = n;
    r->p += n;
    return CORRAL_OK;
}

corral_status_t vm_rd_valtype(vm_rd_t *r, uint8_t *t)
{
    const uint8_t *at = r->p;
    TRY(vm_rd_byte(r, t));
    switch (*t) {
    case VT_I32: case VT_I64: case VT_F32: case VT_F64: case VT_FUNCREF: case VT_EXTERNREF:
        return CORRAL_OK;
    case VT_V128:
        return vm_rd_fail(r, at, CORRAL_ERR_VM_UNSUPPORTED, "unsupported feature: SIMD");
    default:
        MAL(at, "malformed value type");
    }
}

static corral_status_t rd_reftype(vm_rd_t *r, uint8_t *t)
{
    const uint8_t *at = r->p;
    TRY(vm_rd_byte(r, t));
    if (*t != VT_FUNCREF && *t != VT_EXTERNREF) MAL(at, "malformed reference type");
    return CORRAL_OK;
}

static corral_status_t rd_limits(vm_rd_t *r, vm_limits_d_t *l, int is_mem)
{
    const uint8_t *at = r->p;
    uint8_t flag = 0;
    TRY(vm_rd_byte(r, &flag));
    if (flag > 1) MAL(at, is_mem ? "integer too large" : "integer too large");
    TRY(vm_rd_u32(r, &l->min));
    l->has_max = flag;
    l->max = 0;
    if (flag) TRY(vm_rd_u32(r, &l->max));
    if (is_mem) {
        if (l->min > VM_MAX_PAGES) INV(at, "memory size must be at most 65536 pages (4GiB)");
        if (flag && l->max > VM_MAX_PAGES) INV(at, "memory size must be at most 65536 pages (4GiB)");
    }
    if (flag && l->min > l->max) INV(at, "size minimum must not be greater than maximum");
    return CORRAL_OK;
}

static void mark_ref(corral_vm_module_t *m, uint32_t f)
{
    m->refs[f >> 3] |= (uint8_t)(1u << (f & 7));
}

/* A constant expression of type `want`; `nglob` globals are visible. */
static corral_status_t rd_cexpr(vm_rd_t *r, corral_vm_module_t *m, uint8_t want, uint32_t nglob,
                                vm_cexpr_t *e)
{
    const uint8_t *at = r->p;
    uint8_t op = 0, t = 0;
    uint64_t v;
    memset(e, 0, sizeof *e);
    TRY(vm_rd_byte(r, &op));
    switch (op) {
    case 0x41: TRY(vm_rd_leb(r, 32, 1, &v)); e->kind = CE_CONST; e->val = (uint32_t)v; t = VT_I32; break;
    case 0x42: TRY(vm_rd_leb(r, 64, 1, &v)); e->kind = CE_CONST; e->val = v; t = VT_I64; break;
    case 0x43:
        if (r->end - r->p < 4) MAL(r->p, "unexpected end");
        { uint32_t x; memcpy(&x, r->p, 4); e->val = x; }
        r->p += 4; e->kind = CE_CONST; t = VT_F32; break;
    case 0x44:
        if (r->end - r->p < 8) MAL(r->p, "unexpected end");
        memcpy(&e->val, r->p, 8);
        r->p += 8; e->kind = CE_CONST; t = VT_F64; break;
    case 0xd0: TRY(rd_reftype(r, &t)); e->kind = CE_REFNULL; break;
    case 0xd2: {
        uint32_t f;
        TRY(vm_rd_u32(r, &f));
        if (f >= m->nfuncs) INV(at, "unknown function");
        mark_ref(m, f);
        e->kind = CE_REFFUNC; e->idx = f; t = VT_FUNCREF;
        break;
    }
    case 0x23: {
        uint32_t g;
        TRY(vm_rd_u32(r, &g));
        if (g >= nglob || g >= m->nglobal_imports) INV(at, "unknown global");
        if (m->globals[g].mut) INV(at, "constant expression required");
        e->kind = CE_GLOBAL; e->idx = g; t = m->globals[g].type;
        break;
    }
    case 0x0b: INV(at, "type mismatch");
    default:
        INV(at, "constant expression required");
    }
    e->type = t;
    if (r->p >= r->end) MAL(r->p, "unexpected end");
    if (*r->p != 0x0b) {
        if (*r->p == 0x41 || *r->p == 0x42 || *r->p == 0x43 || *r->p == 0x44 || *r->p == 0xd0 ||
            *r->p == 0xd2 || *r->p == 0x23)
            INV(r->p, "type mismatch");
        INV(r->p, "constant expression required");
    }
    r->p++;
    if (t != want) INV(at, "type mismatch");
    return CORRAL_OK;
}

static corral_status_t sec_type(vm_rd_t *r, corral_vm_module_t *m)
{
    uint32_t n;
    TRY(vm_rd_u32(r, &n));
    if (n > (uint32_t)(r->end - r->p)) MAL(r->p, "length out of bounds");
    m->types = corral_calloc(n ? n : 1, sizeof *m->types);
    /* Every type's value types fit in the section's own bytes. */
    m->typebytes = corral_malloc((size_t)(r->end - r->p) + 1);
    if (!m->types || !m->typebytes) return corral_err_set(r->err, CORRAL_ERR_NOMEM, NULL);
    uint8_t *tb = m->typebytes;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *at = r->p;
        uint8_t form = 0;
        TRY(vm_rd_byte(r, &form));
        if (form != 0x60) MAL(at, "integer representation too long");
        corral_vm_functype_t *ft = &m->types[i];
        uint32_t np, nr;
        TRY(vm_rd_u32(r, &np));
        if (np > (uint32_t)(r->end - r->p)) MAL(r->p, "length out of bounds");
        ft->params = tb;
        for (uint32_t j = 0; j < np; j++) TRY(vm_rd_valtype(r, tb++));
        TRY(vm_rd_u32(r, &nr));
        if (nr > (uint32_t)(r->end - r->p)) MAL(r->p, "length out of bounds");
        ft->results = tb;
        for (uint32_t j = 0; j < nr; j++) TRY(vm_rd_valtype(r, tb++));
        ft->nparams = np;
        ft->nresults = nr;
        m->ntypes = i + 1;
    }
    return CORRAL_OK;
}

static corral_status_t sec_import(vm_rd_t *r, corral_vm_module_t *m)
{
    uint32_t n;
    TRY(vm_rd_u32(r, &n));
    if (n > (uint32_t)(r->end - r->p)) MAL(r->p, "length out of bounds");
    m->imports = corral_calloc(n ? n : 1, sizeof *m->imports);
    if (!m->imports) return corral_err_set(r->err, CORRAL_ERR_NOMEM, NULL);
    for (uint32_t i = 0; i < n; i++) {
        vm_import_t *im = &m->imports[i];
        TRY(rd_name(r, &im->mod, &im->mod_len));
        TRY(rd_name(r, &im->name, &im->name_len));
        const uint8_t *at = r->p;
        uint8_t kind = 0;
        TRY(vm_rd_byte(r, &kind));
        switch (kind) {
        case 0:
            TRY(vm_rd_u32(r, &im->type));
            if (im->type >= m->ntypes) INV(at, "unknown type");
            m->nfunc_imports++;
            break;
        case 1: TRY(rd_reftype(r, &im->elem)); TRY(rd_limits(r, &im->lim, 0)); m->ntable_imports++; break;
        case 2: TRY(rd_limits(r, &im->lim, 1)); m->nmem_imports++; break;
        case 3: {
            TRY(vm_rd_valtype(r, &im->gtype));
            const uint8_t *mat = r->p;
            TRY(vm_rd_byte(r, &im->gmut));
            if (im->gmut > 1) MAL(mat, "malformed mutability");
            m->nglobal_imports++;
            break;
        }
        default: MAL(at, "malformed import kind");
        }
        im->kind = (corral_vm_extern_kind_t)kind;
        m->nimports = i + 1;
        if (m->nmem_imports > 1) INV(at, "multiple memories");
    }
    return CORRAL_OK;
}

/* After the import section (or its absence): allocate the index spaces. */
static corral_status_t grow_spaces(vm_rd_t *r, corral_vm_module_t *m, uint32_t nf, uint32_t nt,
                                   uint32_t nm, uint32_t ng)
{
    m->func_type = corral_calloc((size_t)nf + 1, sizeof *m->func_type);
    m->tables = corral_calloc(nt ? nt : 1, sizeof *m->tables);
    m->mems = corral_calloc(nm ? nm : 1, sizeof *m->mems);
    m->globals = corral_calloc(ng ? ng : 1, sizeof *m->globals);
    if (!m->func_type || !m->tables || !m->mems || !m->globals)
        return corral_err_set(r->err, CORRAL_ERR_NOMEM, NULL);
    uint32_t fi = 0, ti = 0, mi = 0, gi = 0;
    for (uint32_t i = 0; i < m->nimports; i++) {
        vm_import_t *im = &m->imports[i];
        if (im->kind == CORRAL_VM_EXTERN_FUNC) m->func_type[fi++] = im->type;
        if (im->kind == CORRAL_VM_EXTERN_TABLE) { m->tables[ti].elem = im->elem; m->tables[ti++].lim = im->lim; }
        if (im->kind == CORRAL_VM_EXTERN_MEMORY) m->mems[mi++] = im->lim;
        if (im->kind == CORRAL_VM_EXTERN_GLOBAL) { m->globals[gi].type = im->gtype; m->globals[gi++].mut = im->gmut; }
    }
    return CORRAL_OK;
}

static corral_status_t sec_func(vm_rd_t *r, corral_vm_module_t *m, uint32_t *ndecl)
{
    uint32_t n;
    TRY(vm_rd_u32(r, &n));
    if (n > (uint32_t)(r->end - r->p)) MAL(r->p, "length out of bounds");
    uint32_t *ft = corral_realloc(m->func_type, ((size_t)m->nfunc_imports + n + 1) * sizeof *ft);
    if (!ft) return corral_err_set(r->err, CORRAL_ERR_NOMEM, NULL);
    m->func_type = ft;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *at = r->p;
        uint32_t t;
        TRY(vm_rd_u32(r, &t));
        if (t >= m->ntypes) INV(at, "unknown type");
        ft[m->nfunc_imports + i] = t;
    }
    *ndecl = n;
    m->nfuncs = m->nfunc_imports + n;
    return CORRAL_OK;
}

static corral_status_t sec_table(vm_rd_t *r, corral_vm_module_t *m)
{
    uint32_t n;
    TRY(vm_rd_u32(r, &n));
    if (n > (uint32_t)(r->end - r->p)) MAL(r->p, "length out of bounds");
    void *t = corral_realloc(m->tables, ((size_t)m->ntable_imports + n + 1) * sizeof *m->tables);
    if (!t) return corral_err_set(r->err, CORRAL_ERR_NOMEM, NULL);
    m->tables = t;
    for (uint32_t i = 0; i < n; i++) {
        TRY(rd_reftype(r, &m->tables[m->ntable_imports + i].elem));
        TRY(rd_limits(r, &m->tables[m->ntable_imports + i].lim, 0));
    }
    m->ntables = m->ntable_imports + n;
    return CORRAL_OK;
}

static corral_status_t sec_mem(vm_rd_t *r, corral_vm_module_t *m)
{
    uint32_t n;
    const uint8_t *at = r->p;
    TRY(vm_rd_u32(r, &n));
    if (n > (uint32_t)(r->end - r->p)) MAL(r->p, "length out of bounds");
    void *t = corral_realloc(m->mems, ((size_t)m->nmem_imports + n + 1) * sizeof *m->mems);
    if (!t) return corral_err_set(r->err, CORRAL_ERR_NOMEM, NULL);
    m->mems = t;
    for (uint32_t i = 0; i < n; i++) TRY(rd_limits(r, &m->mems[m->nmem_imports + i], 1));
    m->nmems = m->nmem_imports + n;
    if (m->nmems > 1) INV(at, "multiple memories");
    return CORRAL_OK;
}

static corral_status_t sec_global(vm_rd_t *r, corral_vm_module_t *m)
{
    uint32_t n;
    TRY(vm_rd_u32(r, &n));
    if (n > (uint32_t)(r->end - r->p)) MAL(r->p, "length out of bounds");
    void *t = corral_realloc(m->globals, ((size_t)m->nglobal_imports + n + 1) * sizeof *m->globals);
    if (!t) return corral_err_set(r->err, CORRAL_ERR_NOMEM, NULL);
    m->globals = t;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t g = m->nglobal_imports + i;
        TRY(vm_rd_valtype(r, &m->globals[g].type));
        const uint8_t *at = r->p;
        TRY(vm_rd_byte(r, &m->globals[g].mut));
        if (m->globals[g].mut > 1) MAL(at, "malformed mutability");
        TRY(rd_cexpr(r, m, m->globals[g].type, m->nglobal_imports, &m->globals[g].init));
        m->nglobals = g + 1;
    }
    return CORRAL_OK;
}

static corral_status_t sec_export(vm_rd_t *r, corral_vm_module_t *m)
{
    uint32_t n;
    TRY(vm_rd_u32(r, &n));
    if (n > (uint32_t)(r->end - r->p)) MAL(r->p, "length out of bounds");
    m->exports = corral_calloc(n ? n : 1, sizeof *m->exports);
    if (!m->exports) return corral_err_set(r->err, CORRAL_ERR_NOMEM, NULL);
    for (uint32_t i = 0; i < n; i++) {
        vm_export_t *e = &m->exports[i];
        const uint8_t *nat = r->p;
        TRY(rd_name(r, &e->name, &e->name_len));
        const uint8_t *at = r->p;
        uint8_t kind = 0;
        TRY(vm_rd_byte(r, &kind));
        TRY(vm_rd_u32(r, &e->idx));
        switch (kind) {
        case 0: if (e->idx >= m->nfuncs) INV(at, "unknown function"); mark_ref(m, e->idx); break;
        case 1: if (e->idx >= m->ntables) INV(at, "unknown table"); break;
        case 2: if (e->idx >= m->nmems) INV(at, "unknown memory"); break;
        case 3: if (e->idx >= m->nglobals) INV(at, "unknown global"); break;
        default: MAL(at, "malformed export kind");
        }
        e->kind = (corral_vm_extern_kind_t)kind;
        for (uint32_t j = 0; j < i; j++)
            if (m->exports[j].name_len == e->name_len && memcmp(m->exports[j].name, e->name, e->name_len) == 0)
                INV(nat, "duplicate export name");
        m->nexports = i + 1;
    }
    return CORRAL_OK;
}

static corral_status_t sec_elem(vm_rd_t *r, corral_vm_module_t *m)
{
    uint32_t n;
    TRY(vm_rd_u32(r, &n));
    if (n > (uint32_t)(r->end - r->p)) MAL(r->p, "length out of bounds");
    m->elems = corral_calloc(n ? n : 1, sizeof *m->elems);
    if (!m->elems) return corral_err_set(r->err, CORRAL_ERR_NOMEM, NULL);
    for (uint32_t i = 0; i < n; i++) {
        vm_elem_t *e = &m->elems[i];
        const uint8_t *at = r->p;
        uint32_t flags;
        TRY(vm_rd_u32(r, &flags));
        if (flags > 7) MAL(at, "malformed elements segment kind");
        m->nelems = i + 1;
        e->type = VT_FUNCREF;
        e->mode = (flags & 1) ? ((flags & 2) ? SEG_DECLARATIVE : SEG_PASSIVE) : SEG_ACTIVE;
        if (e->mode == SEG_ACTIVE) {
            if (flags & 2) TRY(vm_rd_u32(r, &e->table));
            if (e->table >= m->ntables) INV(at, "unknown table");
            TRY(rd_cexpr(r, m, VT_I32, m->nglobals, &e->offset));
        }
        if (flags & 3) {
            const uint8_t *kat = r->p;
            if (flags & 4) {
                TRY(rd_reftype(r, &e->type));
            } else {
                uint8_t k = 0;
                TRY(vm_rd_byte(r, &k));
                if (k != 0) MAL(kat, "malformed element kind");
            }
        }
        uint32_t cnt;
        TRY(vm_rd_u32(r, &cnt));
        if (cnt > (uint32_t)(r->end - r->p)) MAL(r->p, "length out of bounds");
        e->items = corral_calloc(cnt ? cnt : 1, sizeof *e->items);
        if (!e->items) return corral_err_set(r->err, CORRAL_ERR_NOMEM, NULL);
        e->count = cnt;
        for (uint32_t j = 0; j < cnt; j++) {
            if (flags & 4) {
                TRY(rd_cexpr(r, m, e->type, m->nglobals, &e->items[j]));
            } else {
                const uint8_t *fat = r->p;
                uint32_t f;
                TRY(vm_rd_u32(r, &f));
                if (f >= m->nfuncs) INV(fat, "unknown function");
                mark_ref(m, f);
                e->items[j].kind = CE_REFFUNC;
                e->items[j].type = VT_FUNCREF;
                e->items[j].idx = f;
            }
        }
        if (e->mode == SEG_ACTIVE && m->tables[e->table].elem != e->type) INV(at, "type mismatch");
    }
    return CORRAL_OK;
}

static corral_status_t sec_data(vm_rd_t *r, corral_vm_module_t *m)
{
    uint32_t n;
    const uint8_t *at0 = r->p;
    TRY(vm_rd_u32(r, &n));
    if (m->has_datacount && n != m->datacount)
        MAL(at0, "data count and data section have inconsistent lengths");
    if (n > (uint32_t)(r->end - r->p)) MAL(r->p, "length out of bounds");
    m->datas = corral_calloc(n ? n : 1, sizeof *m->datas);
    if (!m->datas) return corral_err_set(r->err, CORRAL_ERR_NOMEM, NULL);
    for (uint32_t i = 0; i < n; i++) {
        vm_data_t *d = &m->datas[i];
        const uint8_t *at = r->p;
        uint32_t flags, mem = 0;
        TRY(vm_rd_u32(r, &flags));
        if (flags > 2) MAL(at, "malformed data segment kind");
        m->ndatas = i + 1;
        d->mode = flags == 1 ? SEG_PASSIVE : SEG_ACTIVE;
        if (flags == 2) TRY(vm_rd_u32(r, &mem));
        if (d->mode == SEG_ACTIVE) {
            if (mem >= m->nmems) INV(at, "unknown memory");
            TRY(rd_cexpr(r, m, VT_I32, m->nglobals, &d->offset));
        }
        TRY(vm_rd_u32(r, &d->len));
        if (d->len > (uint32_t)(r->end - r->p)) MAL(r->p, "unexpected end of section or function");
        d->bytes = r->p;
        r->p += d->len;
    }
    return CORRAL_OK;
}

static corral_status_t sec_code(vm_rd_t *r, corral_vm_module_t *m, uint32_t ndecl)
{
    uint32_t n;
    const uint8_t *at0 = r->p;
    TRY(vm_rd_u32(r, &n));
    if (n != ndecl) MAL(at0, "function and code section have inconsistent lengths");
    m->codes = corral_calloc(n ? n : 1, sizeof *m->codes);
    if (!m->codes) return corral_err_set(r->err, CORRAL_ERR_NOMEM, NULL);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t size;
        TRY(vm_rd_u32(r, &size));
        if (size > (uint32_t)(r->end - r->p)) MAL(r->p, "unexpected end of section or function");
        const uint8_t *body = r->p;
        r->p += size;
        if (m->no_code) continue; /* vm_module_new_decoded */
        TRY(vm_compile(m, m->nfunc_imports + i, body, body + size, r->off + (size_t)(body - r->base),
                       &m->codes[i], r->err));
    }
    return CORRAL_OK;
}

/* Section order, by id: the position each id must keep. */
static int sec_rank(uint8_t id)
{
    static const int rank[13] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
    return rank[id];
}

corral_status_t vm_load(corral_vm_module_t *m, corral_err_t *err)
{
    vm_rd_t rr = {m->bytes, m->bytes + m->len, m->bytes, 0, err}, *r = &rr;
    static const uint8_t magic[4] = {0, 'a', 's', 'm'};
    if (m->len < 4 || memcmp(m->bytes, magic, 4) != 0) MAL(r->p, "magic header not detected");
    if (m->len < 8) MAL(r->p + 4, "unexpected end");
    if (memcmp(m->bytes + 4, "\1\0\0\0", 4) != 0) MAL(r->p + 4, "unknown binary version");
    r->p += 8;
    int last = 0, spaces = 0;
    uint32_t ndecl = 0;
    int saw_func = 0, saw_code = 0;
    m->refs = NULL;
    while (r->p < r->end) {
        const uint8_t *at = r->p;
        uint8_t id = 0;
        uint32_t size;
        TRY(vm_rd_byte(r, &id));
        if (id > 12) MAL(at, "malformed section id");
        TRY(vm_rd_u32(r, &size));
        if (size > (uint32_t)(r->end - r->p)) MAL(r->p, "section size mismatch: unexpected end");
        const uint8_t *send = r->p + size;
        if (id != 0) {
            if (sec_rank(id) <= last) MAL(at, "unexpected content after last section");
            last = sec_rank(id);
        }
        if (id > 2 && !spaces) {
            /* index spaces exist once imports are known */
            m->nfuncs = m->nfunc_imports;
            m->ntables = m->ntable_imports;
            m->nmems = m->nmem_imports;
            m->nglobals = m->nglobal_imports;
            TRY(grow_spaces(r, m, m->nfunc_imports, m->ntable_imports, m->nmem_imports, m->nglobal_imports));
            spaces = 1;
        }
        if (id >= 6 && !m->refs) {
            m->refs = corral_calloc(m->nfuncs / 8 + 1, 1);
            if (!m->refs) return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
        }
        vm_rd_t sub = {r->p, send, r->base, r->off, err};
        corral_status_t st = CORRAL_OK;
        switch (id) {
        case 0: {
            const char *nm;
            uint32_t nl;
            st = rd_name(&sub, &nm, &nl);
            sub.p = send;
            break;
        }
        case 1: st = sec_type(&sub, m); break;
        case 2: st = sec_import(&sub, m); break;
        case 3: st = sec_func(&sub, m, &ndecl); saw_func = 1; break;
        case 4: st = sec_table(&sub, m); break;
        case 5: st = sec_mem(&sub, m); break;
        case 6: st = sec_global(&sub, m); break;
        case 7: st = sec_export(&sub, m); break;
        case 8: {
            const uint8_t *sat = sub.p;
            st = vm_rd_u32(&sub, &m->start);
            if (st == CORRAL_OK) {
                if (m->start >= m->nfuncs) return vm_rd_fail(r, sat, CORRAL_ERR_INVALID, "unknown function");
                const corral_vm_functype_t *ft = &m->types[m->func_type[m->start]];
                if (ft->nparams || ft->nresults) return vm_rd_fail(r, sat, CORRAL_ERR_INVALID, "start function");
                m->has_start = 1;
            }
            break;
        }
        case 9: st = sec_elem(&sub, m); break;
        case 12: st = vm_rd_u32(&sub, &m->datacount); m->has_datacount = 1; break;
        case 10: st = sec_code(&sub, m, ndecl); saw_code = 1; break;
        case 11: st = sec_data(&sub, m); break;
        }
        if (st != CORRAL_OK) return st;
        if (sub.p != send) MAL(sub.p, "section size mismatch");
        r->p = send;
    }
    if (!spaces) {
        m->nfuncs = m->nfunc_imports;
        m->ntables = m->ntable_imports;
        m->nmems = m->nmem_imports;
        m->nglobals = m->nglobal_imports;
        TRY(grow_spaces(r, m, m->nfunc_imports, m->ntable_imports, m->nmem_imports, m->nglobal_imports));
    }
    if (!m->refs) {
        m->refs = corral_calloc(m->nfuncs / 8 + 1, 1);
        if (!m->refs) return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    }
    if (saw_func && ndecl && !saw_code) MAL(r->p, "function and code section have inconsistent lengths");
    if (m->needs_datacount)
        return vm_rd_fail(r, r->p, m->ndatas ? CORRAL_ERR_MALFORMED : CORRAL_ERR_INVALID,
                          m->ndatas ? "data count section required" : "unknown data segment");
    if (m->has_datacount && m->datacount != m->ndatas)
        MAL(r->p, "data count and data section have inconsistent lengths");
    return CORRAL_OK;
}

void vm_module_release(corral_vm_module_t *m)
{
    if (m->codes)
        for (uint32_t i = 0; i < m->nfuncs - m->nfunc_imports; i++) corral_free(m->codes[i].code);
    corral_free(m->codes);
    for (uint32_t i = 0; i < m->nelems; i++) corral_free(m->elems[i].items);
    corral_free(m->elems);
    corral_free(m->datas);
    corral_free(m->exports);
    corral_free(m->globals);
    corral_free(m->mems);
    corral_free(m->tables);
    corral_free(m->func_type);
    corral_free(m->imports);
    corral_free(m->types);
    corral_free(m->typebytes);
    corral_free(m->refs);
    corral_free(m->bytes);
}

/*
 * aot_vm.c - the AOT tier behind corral_vm.h: corral_aot_vm_module_new
 * makes a corral_vm_module_t whose instances run an artifact's native code.
 * The interpreter's loader still decodes the module (imports, exports and
 * types answer as usual); the vm_backend_t hooks of vm_int.h send
 * instantiation, calls and memory access here. Embedders (waPC, the host)
 * use the same corral_vm_* calls for both tiers.
 */
#include <stdatomic.h>
#include <string.h>

#include "aot_int.h"
#include "corral_aot.h"
#include "corral_claims.h"
#include "vm_int.h"

static corral_status_t be_instance_new(corral_vm_instance_t *inst, corral_err_t *err)
{
    const corral_vm_module_t *m = inst->mod;
    corral_aot_module_t *am = m->be_mod;
    corral_aot_hostfn_t small[16] = {{0}}, *fns = small;
    uint32_t n = m->nfunc_imports;
    if (n > 16) {
        fns = corral_calloc(n, sizeof *fns);
        if (!fns) return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!inst->funcs[i]->host) {
            if (fns != small) corral_free(fns);
            return corral_err_set(err, CORRAL_ERR_UNLINKABLE, "AOT tier: import %.*s.%.*s must be a host function",
                                  (int)m->imports[i].mod_len, m->imports[i].mod, (int)m->imports[i].name_len,
                                  m->imports[i].name);
        }
        fns[i].fn = inst->funcs[i]->host;
        fns[i].user = inst->funcs[i]->user;
    }
    /* function index -> export index, for calls through exported externs */
    for (uint32_t i = 0; i < m->nexports; i++) {
        const vm_export_t *e = &m->exports[i];
        if (e->kind != CORRAL_VM_EXTERN_FUNC || e->idx < m->nfunc_imports) continue;
        int32_t x = corral_aot_module_func(am, e->name, e->name_len, NULL);
        if (x >= 0) inst->funcs[e->idx]->user = (void *)(uintptr_t)(x + 1);
    }
    corral_aot_instance_t *ai = NULL;
    corral_status_t st = corral_aot_instance_new(am, fns, n, &inst->limits, inst, &ai, err);
    if (fns != small) corral_free(fns);
    if (st != CORRAL_OK) return st;
    aot_instance_link_interrupt(ai, &inst->interrupt);
    inst->be_inst = ai;
    return CORRAL_OK;
}

static void be_instance_free(corral_vm_instance_t *inst) { corral_aot_instance_free(inst->be_inst); }

static corral_status_t be_call(corral_vm_instance_t *inst, vm_func_t *f, const uint64_t *args, uint64_t *results,
                               corral_err_t *err)
{
    corral_aot_instance_t *ai = inst->be_inst;
    if (!ai || !f->user) return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "AOT tier: function is not exported");
    corral_aot_instance_set_limits(ai, &inst->limits);
    atomic_store_explicit(&inst->interrupt, 0, memory_order_relaxed);
    return corral_aot_call(ai, (int32_t)((uintptr_t)f->user - 1), args, f->type->nparams, results, f->type->nresults,
                           err);
}

static uint8_t *be_memory_slice(corral_vm_instance_t *inst, uint32_t offset, uint32_t len)
{
    return corral_aot_memory_slice(inst->be_inst, offset, len);
}

static uint64_t be_memory_size(const corral_vm_instance_t *inst) { return corral_aot_memory_size(inst->be_inst); }

static void be_module_free(void *be_mod) { corral_aot_module_free(be_mod); }

static const vm_backend_t aot_backend = {"aot",          be_instance_new, be_instance_free, be_call,
                                         be_memory_slice, be_memory_size,  be_module_free};

corral_status_t corral_aot_vm_module_new(const uint8_t *bytes, size_t len, const char *artifact,
                                         corral_vm_module_t **out, corral_err_t *err)
{
    return corral_aot_vm_module_new_trusted(bytes, len, NULL, artifact, NULL, out, err);
}

corral_status_t corral_aot_vm_module_new_trusted(const uint8_t *bytes, size_t len, const char *hash,
                                                 const char *artifact, const corral_aot_trust_t *trust,
                                                 corral_vm_module_t **out, corral_err_t *err)
{
    *out = NULL;
    char own[65];
    corral_status_t st;
    if (!hash) {
        if ((st = corral_claims_module_hash(bytes, len, own, err)) != CORRAL_OK) return st;
        hash = own;
    }
    /* the artifact first: once it is known to be built from these exact
     * bytes (which its compile validated), decoding their descriptions is
     * all the interpreter's loader needs to do */
    corral_aot_module_t *am = NULL;
    st = corral_aot_module_load_trusted(artifact, hash, trust, &am, err);
    if (st != CORRAL_OK) return st;
    corral_vm_module_t *m = NULL;
    st = vm_module_new_decoded(bytes, len, &m, err);
    if (st != CORRAL_OK) {
        corral_aot_module_free(am);
        return st;
    }
    for (uint32_t i = 0; i < m->nimports; i++)
        if (m->imports[i].kind != CORRAL_VM_EXTERN_FUNC) {
            st = corral_err_set(err, CORRAL_ERR_VM_UNSUPPORTED,
                                "AOT tier: the module imports a memory, table or global");
            goto fail;
        }
    if (corral_aot_module_import_count(am) != m->nimports || corral_aot_module_export_count(am) != m->nexports) {
        st = corral_err_set(err, CORRAL_ERR_INVALID, "AOT artifact %s does not describe this module", artifact);
        goto fail;
    }
    m->be = &aot_backend;
    m->be_mod = am;
    *out = m;
    return CORRAL_OK;
fail:
    corral_aot_module_free(am);
    corral_vm_module_free(m);
    return st;
}

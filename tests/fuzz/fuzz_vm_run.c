/*
 * fuzz_vm_run.c - libFuzzer target: loads arbitrary bytes as a module,
 * satisfies its function imports with host functions that return zeros (and
 * sometimes trap), instantiates it under small limits and calls every
 * exported function (the first 16) with zero arguments, each call bounded by
 * fuel and a 50 ms deadline so one input stays well under libFuzzer's
 * timeout. Any trap is fine; a crash, a hang past the deadline, a leak or
 * a sanitizer report is a bug.
 * Seeds: the testsuite's .wasm files (scripts/fuzz.sh).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "corral_vm.h"

static corral_status_t host_zero(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    const corral_vm_functype_t *t = user;
    /* Touch guest memory the way real host functions do. */
    uint8_t *p = corral_vm_memory_slice(caller, 0, 8);
    if (p) p[0] ^= 1;
    uint32_t n = t->nparams > t->nresults ? t->nparams : t->nresults;
    uint64_t first = t->nparams ? sp[0] : 0;
    for (uint32_t i = 0; i < n; i++)
        sp[i] = 0;
    if (first == 7) return corral_vm_trap(caller, CORRAL_ERR_TRAP_HOST, "fuzz host trap");
    return CORRAL_OK;
}

static int sig_of(const corral_vm_functype_t *t, char *out, size_t cap) {
    size_t o = 0;
    for (int part = 0; part < 2; part++) {
        uint32_t n = part ? t->nresults : t->nparams;
        const uint8_t *v = part ? t->results : t->params;
        for (uint32_t i = 0; i < n; i++) {
            char c;
            switch (v[i]) {
            case CORRAL_VM_I32:
                c = 'i';
                break;
            case CORRAL_VM_I64:
                c = 'I';
                break;
            case CORRAL_VM_F32:
                c = 'f';
                break;
            case CORRAL_VM_F64:
                c = 'F';
                break;
            case CORRAL_VM_EXTERNREF:
                c = 'e';
                break;
            case CORRAL_VM_FUNCREF:
                c = 'r';
                break;
            default:
                return 0;
            }
            if (o + 2 >= cap) return 0;
            out[o++] = c;
        }
        if (!part) out[o++] = ':';
    }
    out[o] = '\0';
    return 1;
}

#define MAX_SLOTS 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    corral_vm_module_t *m = NULL;
    corral_vm_imports_t *imp = NULL;
    corral_vm_instance_t *inst = NULL;
    corral_vm_functype_t types[64];
    if (corral_vm_module_new(data, size, &m, NULL) != CORRAL_OK) return 0;
    imp = corral_vm_imports_new();
    if (!imp) goto done;
    uint32_t ni = corral_vm_module_import_count(m);
    for (uint32_t i = 0; i < ni && i < 64; i++) {
        corral_vm_import_desc_t d;
        char sig[128], mod[64], name[64];
        if (corral_vm_module_import(m, i, &d) != CORRAL_OK) goto done;
        if (d.kind != CORRAL_VM_EXTERN_FUNC || !sig_of(&d.type, sig, sizeof sig)) continue;
        if (d.module_len >= sizeof mod || d.name_len >= sizeof name) continue;
        if (memchr(d.module, 0, d.module_len) || memchr(d.name, 0, d.name_len)) continue;
        memcpy(mod, d.module, d.module_len);
        mod[d.module_len] = '\0';
        memcpy(name, d.name, d.name_len);
        name[d.name_len] = '\0';
        types[i] = d.type;
        corral_vm_imports_add_func(imp, mod, name, sig, host_zero, &types[i], NULL);
    }
    corral_vm_limits_t lim = {64, 200, 200000, 50ull * 1000 * 1000};
    if (corral_vm_instance_new(m, imp, &lim, NULL, &inst, NULL) != CORRAL_OK) goto done;
    /* memory.grow may not pass max_pages (the initial size may, if the module asks). */
    uint64_t cap = corral_vm_memory_size(inst);
    if (cap < 64ull * 65536) cap = 64ull * 65536;
    uint32_t ne = corral_vm_module_export_count(m);
    static uint64_t args[MAX_SLOTS], res[MAX_SLOTS];
    for (uint32_t i = 0; i < ne && i < 16; i++) {
        corral_vm_export_desc_t d;
        corral_vm_extern_t f;
        if (corral_vm_module_export(m, i, &d) != CORRAL_OK) break;
        if (d.kind != CORRAL_VM_EXTERN_FUNC) continue;
        if (d.type.nparams > MAX_SLOTS || d.type.nresults > MAX_SLOTS) continue;
        if (corral_vm_instance_export_n(inst, d.name, d.name_len, &f) != CORRAL_OK)
            __builtin_trap(); /* an export the module lists must be found */
        memset(args, 0, d.type.nparams * sizeof args[0]);
        corral_err_t err;
        corral_err_clear(&err);
        corral_status_t st =
            corral_vm_call(inst, f, args, d.type.nparams, res, d.type.nresults, &err);
        if (st != CORRAL_OK && !err.msg[0]) __builtin_trap();
        /* Memory stays reachable and consistent after any call or trap. */
        uint64_t msz = corral_vm_memory_size(inst);
        if (msz && msz <= 0xFFFFFFFFu && !corral_vm_memory_slice(inst, (uint32_t)msz - 1, 1))
            __builtin_trap();
        if (msz > cap) __builtin_trap();
    }
done:
    corral_vm_instance_free(inst);
    corral_vm_imports_free(imp);
    corral_vm_module_free(m);
    return 0;
}

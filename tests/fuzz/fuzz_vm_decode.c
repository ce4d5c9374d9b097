/*
 * fuzz_vm_decode.c - libFuzzer target: corral_vm_module_new on arbitrary
 * bytes (decode, validate, prepare), then every import and export
 * description of a module that loads. Must never crash, hang or leak.
 * Seeds: the testsuite's .wasm files (scripts/fuzz.sh).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "corral_vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    corral_vm_module_t *m = NULL;
    corral_err_t err;
    corral_err_clear(&err);
    corral_status_t st = corral_vm_module_new(data, size, &m, &err);
    if (st != CORRAL_OK) {
        if (m) __builtin_trap();           /* *out must be NULL on error */
        if (!err.msg[0]) __builtin_trap(); /* every failure names its reason */
        if (memchr(err.msg, 0, sizeof err.msg) == NULL) __builtin_trap();
        return 0;
    }
    uint32_t ni = corral_vm_module_import_count(m), ne = corral_vm_module_export_count(m);
    volatile size_t sink = 0;
    for (uint32_t i = 0; i < ni; i++) {
        corral_vm_import_desc_t d;
        if (corral_vm_module_import(m, i, &d) != CORRAL_OK) __builtin_trap();
        sink += d.module_len + d.name_len;
        if (d.module_len) sink += (unsigned char)d.module[d.module_len - 1];
        if (d.name_len) sink += (unsigned char)d.name[d.name_len - 1];
        if (d.kind == CORRAL_VM_EXTERN_FUNC) {
            for (uint32_t k = 0; k < d.type.nparams; k++)
                sink += d.type.params[k];
            for (uint32_t k = 0; k < d.type.nresults; k++)
                sink += d.type.results[k];
        }
    }
    for (uint32_t i = 0; i < ne; i++) {
        corral_vm_export_desc_t d;
        if (corral_vm_module_export(m, i, &d) != CORRAL_OK) __builtin_trap();
        sink += d.name_len;
        if (d.name_len) sink += (unsigned char)d.name[d.name_len - 1];
    }
    corral_vm_import_desc_t di;
    if (corral_vm_module_import(m, ni, &di) != CORRAL_ERR_NOT_FOUND) __builtin_trap();
    (void)sink;
    corral_vm_module_free(m);
    return 0;
}

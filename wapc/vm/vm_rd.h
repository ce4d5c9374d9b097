/*
 * vm_rd.h - the bounded byte reader shared by the decoder (vm_load.c) and
 * the function compiler (vm_compile.c). Every read checks the end; errors
 * carry the absolute byte offset in the module.
 */
#ifndef CORRAL_VM_RD_H
#define CORRAL_VM_RD_H

#include "vm_int.h"

typedef struct vm_rd {
    const uint8_t *p, *end, *base;
    size_t off; /* module offset of base */
    corral_err_t *err;
} vm_rd_t;

corral_status_t vm_rd_fail(vm_rd_t *r, const uint8_t *at, corral_status_t st, const char *msg);
corral_status_t vm_rd_leb(vm_rd_t *r, unsigned bits, int sign, uint64_t *out);
corral_status_t vm_rd_u32(vm_rd_t *r, uint32_t *out);
corral_status_t vm_rd_byte(vm_rd_t *r, uint8_t *out);
corral_status_t vm_rd_valtype(vm_rd_t *r, uint8_t *t);

#endif

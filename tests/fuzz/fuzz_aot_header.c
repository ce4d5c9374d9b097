/*
 * fuzz_aot_header.c - libFuzzer target: the AOT artifact header parser and
 * the signature checks (wapc/aot/aot_load.c aot_parse_header, aot_sign.c
 * aot_check_trust) on arbitrary bytes, as a host meets them in an artifact
 * an actor names. Nothing here ever maps the bytes. Must never crash, hang
 * or leak; a header that parses must describe the file it came from.
 * Seeds: tests/fuzz/seeds/aot/ (an unsigned and a signed header with a few
 * stand-in ELF bytes).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aot_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    long live = corral_alloc_live();
    corral_err_t err;
    corral_err_clear(&err);
    aot_hdr_t h;
    corral_status_t st = aot_parse_header(data, size, &h, &err);
    if (st != CORRAL_OK) {
        if (st != CORRAL_ERR_INVALID || !err.msg[0]) __builtin_trap();
        return 0;
    }
    if (h.elf_off > size || h.info.elf_bytes != size - h.elf_off) __builtin_trap();
    if (strlen(h.info.module_hash) != 64 || memchr(h.info.compiler, 0, sizeof h.info.compiler) == NULL)
        __builtin_trap();
    if (h.has_sig) {
        if (!(h.signer_off < h.sig_off && h.sig_off < h.sig_end && h.sig_end + 1 == h.elf_off) ||
            strlen(h.info.signer) != 56)
            __builtin_trap();
        static const char *const signers[] = {"OC75GGS2WBRMEE6WVQIRRPPSDI6MP7S3VG2JS6ELKM4OCQBTPRF2IMMP"};
        corral_aot_trust_t t = {.require_signed = 1, .signers = signers, .nsigners = 1};
        corral_err_clear(&err);
        st = aot_check_trust("fuzz", data, size, &h, &t, &err);
        if (st != CORRAL_OK && !err.msg[0]) __builtin_trap();
        corral_err_clear(&err);
        (void)aot_check_trust("fuzz", data, size, &h, NULL, &err);
    } else if (h.info.signer[0]) {
        __builtin_trap();
    }
    if (corral_alloc_live() != live) __builtin_trap();
    return 0;
}

/*
 * aot_int.h - private parts of the AOT tier shared by aot_compile.c,
 * aot_load.c and aot_sign.c: the runtime sources embedded into Corral
 * (generated at build time from aot_abi.h, aot_rt.h and aot_rt.c by
 * embed_rt.cmake), the parsed artifact header and the signature checks.
 */
#ifndef CORRAL_AOT_INT_H
#define CORRAL_AOT_INT_H

extern const char corral_aot_src_abi_h[];
extern const char corral_aot_src_rt_h[];
extern const char corral_aot_src_rt_c[];

#include <stdatomic.h>

#include "aot_abi.h"
#include "corral_aot.h"

/* aot_load.c: an instance behind corral_vm.h also stops when the corral_vm
 * instance's interrupt flag is set (aot_vm.c). */
void aot_instance_link_interrupt(corral_aot_instance_t *inst, atomic_int *flag);

/* aot_signal.c: the calling thread's "instance running wasm code" slot for
 * corral_aot_rt_t.thread_slot; installs the process's fault handler (once)
 * that turns an access to a guest memory's PROT_NONE pages into a trap. */
corral_aot_rt_t **aot_thread_slot(void);

/* An artifact's header as parsed from its bytes (aot_load.c). Offsets are
 * into the file. When signed, the signer line spans [signer_off, sig_off)
 * and the signature line [sig_off, sig_end), and sig_end is the blank line
 * that ends the header (elf_off - 1). */
typedef struct aot_hdr {
    corral_aot_info_t info;
    size_t elf_off;
    int has_sig;
    size_t signer_off, sig_off, sig_end;
    uint8_t sig[64];
} aot_hdr_t;

/* Parses and checks the header of p[0..n) (bounded to its first 4 KiB):
 * CORRAL_ERR_INVALID naming what is wrong. */
corral_status_t aot_parse_header(const uint8_t *p, size_t n, aot_hdr_t *out, corral_err_t *err);

/* aot_sign.c: the signature checks of corral_aot_module_load_trusted on
 * the bytes that will be mapped. trust NULL: the signature must be present
 * and verify by the signer it names, whoever that is. */
corral_status_t aot_check_trust(const char *path, const uint8_t *p, size_t n, const aot_hdr_t *h,
                                const corral_aot_trust_t *trust, corral_err_t *err);

/* aot_loops.c: the loops of wasm2c's C (patched by aot_compile.c) whose
 * back-edges go without a fuel check because the C compiler vectorises
 * them (so proves them finite). Per line of the source: */
enum {
    AOT_LINE_EDGE = 1, /* an unchecked back-edge (CORRAL_LOOP_COUNT) */
    AOT_LINE_NB = 2,   /* inside such a loop: loads without wasm2c's barrier */
    AOT_LINE_KEEP = 4  /* compiled by pass 1 (outside functions, or a function with a candidate) */
};
typedef struct aot_loops {
    size_t nlines, ncandidates;
    uint8_t *flags; /* nlines entries */
    uint32_t *from; /* for an AOT_LINE_EDGE line: its loop label's line (0-based) */
} aot_loops_t;

/* Finds the candidates in src[0..len) (wasm2c's m.c); memref is how its
 * loads and stores name memory 0, "(&instance->w2c_memory, (u64)", or NULL.
 * Fills *out (free with aot_loops_free, also after a failure). */
corral_status_t aot_loops_scan(const char *src, size_t len, const char *memref, aot_loops_t *out);

/* The most iterations an unchecked loop may run per entry (its fuel,
 * deadline and interrupt checks wait for its end): a vectorised body over
 * 2^20 iterations runs for milliseconds at most. */
#define AOT_LOOPS_MAX_ITERS (1u << 20)

/* Keeps as candidates only the back-edges whose loop the compiler
 * vectorised in every copy, with a constant iteration count of at most
 * AOT_LOOPS_MAX_ITERS and no assumption, from its -fdump-tree-vect-details
 * dump rep[0..len) of pass 1; returns how many remain. */
size_t aot_loops_apply_report(aot_loops_t *l, const char *rep, size_t len);

void aot_loops_free(aot_loops_t *l);

#endif

/*
 * aot_int.h - private parts of the AOT tier shared by aot_compile.c and
 * aot_load.c: the runtime sources embedded into Corral (generated at build
 * time from aot_abi.h, aot_rt.h and aot_rt.c by embed_rt.cmake).
 */
#ifndef CORRAL_AOT_INT_H
#define CORRAL_AOT_INT_H

extern const char corral_aot_src_abi_h[];
extern const char corral_aot_src_rt_h[];
extern const char corral_aot_src_rt_c[];

#include <stdatomic.h>

#include "corral_aot.h"

/* aot_load.c: an instance behind corral_vm.h also stops when the corral_vm
 * instance's interrupt flag is set (aot_vm.c). */
void aot_instance_link_interrupt(corral_aot_instance_t *inst, atomic_int *flag);

#endif

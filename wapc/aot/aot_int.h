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

#endif

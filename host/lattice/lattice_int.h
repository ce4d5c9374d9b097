/*
 * lattice_int.h - private declarations shared by the lattice's files
 * (invocation.c, antiforgery.c, lattice.c). Not installed; not for callers.
 */
#ifndef CORRAL_LATTICE_INT_H
#define CORRAL_LATTICE_INT_H

#include "corral_lattice.h"

/* Writes a random (v4) UUID, 36 characters and a NUL. */
void corral_lattice_new_id(char out[37]);

#endif

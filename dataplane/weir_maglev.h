/* weir_maglev.h — Maglev lookup, shared by both engines. Pure function; any thread.
 *
 * A Maglev table is `size` (a prime) slots, each holding the index of a backend
 * in the VIP's backend array, which the control plane sorts by address so that
 * the same backend set gives the same indices on every host. The table is built
 * by the control plane (control/maglev.cpp) and never written by the data path. */
#ifndef WEIR_MAGLEV_H
#define WEIR_MAGLEV_H

#include "weir_common.h"

/* Largest supported table; 655373 slots of 4 bytes = 2.5 MiB per table. */
#define WEIR_MAGLEV_MAX_SIZE 655373u
#define WEIR_MAGLEV_DEFAULT_SIZE 65537u

/* The slot a hash falls in. */
WEIR_INLINE __u32 weir_maglev_slot(__u32 hash, __u32 size)
{
	return hash % size;
}

/* The backend index for a hash. `size` must be the table's size (never 0). */
WEIR_INLINE __u32 weir_maglev_lookup(const __u32 *table, __u32 size, __u32 hash)
{
	return table[weir_maglev_slot(hash, size)];
}

#endif /* WEIR_MAGLEV_H */

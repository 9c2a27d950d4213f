/* weir_decap.h — what the backend decapsulation program (weir_decap.bpf.c) shares
 * with the programs that read it: the indexes of its per-CPU counters and the
 * GUE port it listens on unless told otherwise. Definitions only; compiled as BPF
 * C and as C++ (tests, tools). */
#ifndef WEIR_DECAP_H
#define WEIR_DECAP_H

#include "weir_proto.h"

/* What a backend loaded with xdp-loader or `ip link ... xdp obj` (which cannot
 * set read-only data) listens on: [dataplane] gue_port's default. */
#define WEIR_DECAP_GUE_PORT_DEFAULT WEIR_GUE_PORT_DEFAULT

/* Indexes of the weir_decap_counters per-CPU array: packets per outcome. The
 * decapsulated ones are named by outer and inner family. */
enum weir_decap_counter {
	WEIR_DECAP_4IN4 = 0, /* IPv4 in IPv4 (protocol 4) */
	WEIR_DECAP_6IN4 = 1, /* IPv6 in IPv4 (protocol 41) */
	WEIR_DECAP_4IN6 = 2, /* IPv4 in IPv6 (next header 4) */
	WEIR_DECAP_6IN6 = 3, /* IPv6 in IPv6 (next header 41) */
	WEIR_DECAP_GUE4 = 4, /* GUE over an IPv4 outer header, either inner family */
	WEIR_DECAP_GUE6 = 5, /* GUE over an IPv6 outer header, either inner family */
	WEIR_DECAP_NOT_LOCAL = 6, /* a well-formed tunnel packet for another host: untouched */
	WEIR_DECAP_PASSED = 7, /* everything else (not a tunnel, malformed): untouched */
	WEIR_DECAP_NR_COUNTERS = 8,
};

#endif /* WEIR_DECAP_H */

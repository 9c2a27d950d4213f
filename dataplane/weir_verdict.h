/* weir_verdict.h — what the packet core decides for each packet: the verdict and,
 * for drops, the reason. Shared by the C++ pipeline and the BPF programs.
 * Definitions only; any thread. */
#ifndef WEIR_VERDICT_H
#define WEIR_VERDICT_H

#include "weir_common.h"

/* Verdicts map one to one onto the engines' actions:
 * DPDK: TX on the port / the exception TAP / free;  XDP: XDP_TX / XDP_PASS / XDP_DROP. */
enum weir_verdict {
	WEIR_VERDICT_TX = 0, /* send the (rewritten) frame back out the data port */
	WEIR_VERDICT_PASS = 1, /* not the load balancer's business: to the kernel */
	WEIR_VERDICT_DROP = 2, /* dropped; the reason is counted */
};

enum weir_drop_reason {
#define WEIR_DROP(name, help) WEIR_DROP_##name,
#include "weir_drop_reasons.def"
#undef WEIR_DROP
	WEIR_DROP__COUNT
};

#endif /* WEIR_VERDICT_H */

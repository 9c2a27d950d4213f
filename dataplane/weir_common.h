/* weir_common.h — base definitions for headers shared by the C++ packet core and
 * the BPF programs (clang -target bpf). Pure definitions: no state, no threads.
 *
 * Shared headers use the kernel's fixed-width types (__u8 ... __u64, __be16,
 * __be32) so the same text compiles as C for BPF and as C++20 for the DPDK
 * engine, the control plane and the tests. */
#ifndef WEIR_COMMON_H
#define WEIR_COMMON_H

#include <linux/types.h>

#ifdef __cplusplus
#define WEIR_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define WEIR_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Functions in shared headers are always inlined: BPF has no calls to
 * non-inlined static functions across our headers, and the DPDK burst loop wants
 * them inlined anyway. */
#define WEIR_INLINE static inline __attribute__((always_inline))

#define WEIR_LIKELY(x) __builtin_expect(!!(x), 1)
#define WEIR_UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif /* WEIR_COMMON_H */

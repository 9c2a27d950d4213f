/* weir_byteorder.h — network/host byte-order conversion and big-endian loads for
 * the shared headers. Pure functions; any thread.
 *
 * Neither <endian.h> nor <arpa/inet.h> is available to clang -target bpf without
 * libc headers, so the conversions are built on compiler builtins, chosen by the
 * compiler's own __BYTE_ORDER__. */
#ifndef WEIR_BYTEORDER_H
#define WEIR_BYTEORDER_H

#include "weir_common.h"

#if !defined(__BYTE_ORDER__) || !defined(__ORDER_LITTLE_ENDIAN__) || !defined(__ORDER_BIG_ENDIAN__)
#error "weir_byteorder.h needs the compiler's __BYTE_ORDER__"
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WEIR_NTOHS(x) ((__u16)__builtin_bswap16((__u16)(x)))
#define WEIR_NTOHL(x) ((__u32)__builtin_bswap32((__u32)(x)))
#elif __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define WEIR_NTOHS(x) ((__u16)(x))
#define WEIR_NTOHL(x) ((__u32)(x))
#else
#error "unsupported byte order"
#endif

/* Both directions are the same swap; the names say which way a value goes. The
 * builtins fold on constants, so these also serve in case labels and initialisers. */
#define WEIR_HTONS(x) WEIR_NTOHS(x)
#define WEIR_HTONL(x) WEIR_NTOHL(x)

/* Big-endian fields read byte by byte: packet headers have no alignment the
 * compiler may assume, and this needs no casts of the frame to header structs. */
WEIR_INLINE __u16 weir_load_be16(const __u8 *p)
{
	return (__u16)(((__u16)p[0] << 8) | p[1]);
}

WEIR_INLINE __u32 weir_load_be32(const __u8 *p)
{
	return ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3];
}

#endif /* WEIR_BYTEORDER_H */

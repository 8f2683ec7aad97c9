// lwIP's architecture header for the side-by-side harness: Linux, GCC, x86-64
// or any little- or big-endian host; byte swaps and diagnostics.
#ifndef INLET_PEERS_ARCH_CC_H
#define INLET_PEERS_ARCH_CC_H

#include <stdio.h>
#include <stdlib.h>

// Release build, like inlet's -DNDEBUG: lwIP's assertions compiled out.
#ifndef LWIP_NOASSERT
#define LWIP_NOASSERT 1
#endif

#define LWIP_PLATFORM_DIAG(x) \
  do {                        \
    printf x;                 \
  } while (0)
#define LWIP_PLATFORM_ASSERT(x)                                             \
  do {                                                                     \
    fprintf(stderr, "lwIP assertion \"%s\" at %s:%d\n", x, __FILE__, __LINE__); \
    abort();                                                               \
  } while (0)

#define LWIP_RAND() ((u32_t)rand())

// The compiler's byte swaps instead of lwIP's out-of-line functions (what
// lwIP's def.c recommends a port to do).
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define lwip_htons(x) ((u16_t)__builtin_bswap16((u16_t)(x)))
#define lwip_htonl(x) ((u32_t)__builtin_bswap32((u32_t)(x)))
#endif

#endif  // INLET_PEERS_ARCH_CC_H

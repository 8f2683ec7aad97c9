// Counts heap allocations made by this process (global operator new and
// malloc), so a benchmark can prove the data path allocates nothing per packet.
// Include in exactly one translation unit of a benchmark binary.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace inlet::bench {
inline std::atomic<uint64_t> g_allocations{0};
inline uint64_t allocations() { return g_allocations.load(std::memory_order_relaxed); }
}  // namespace inlet::bench

extern "C" void* __libc_malloc(size_t);
extern "C" void* __libc_calloc(size_t, size_t);
extern "C" void* __libc_realloc(void*, size_t);

extern "C" void* malloc(size_t n) {
  inlet::bench::g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
extern "C" void* calloc(size_t a, size_t b) {
  inlet::bench::g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(a, b);
}
extern "C" void* realloc(void* p, size_t n) {
  inlet::bench::g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}

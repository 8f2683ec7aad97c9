// Benchmark instruments: counts heap allocations made by this process (global
// operator new and malloc), so a benchmark can prove the data path allocates
// nothing per packet, and a clock of this thread's CPU time.
// Include in exactly one translation unit of a benchmark binary.
#pragma once

#include <time.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace inlet::bench {
inline std::atomic<uint64_t> g_allocations{0};
inline uint64_t allocations() { return g_allocations.load(std::memory_order_relaxed); }

// This thread's CPU time (CLOCK_THREAD_CPUTIME_ID) as a std::chrono clock. On
// a shared machine wall time also counts the time other processes ran; per
// core figures are timed with this one.
struct ThreadCpuClock {
  using rep = int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<ThreadCpuClock>;
  static constexpr bool is_steady = true;
  static time_point now() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return time_point(duration(int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec));
  }
};
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

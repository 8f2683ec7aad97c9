#include "core/alloc.h"

#include <cstdio>
#include <cstdlib>

namespace inlet {

namespace {

void* new_allocate(void*, size_t size, size_t align) {
  if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) return ::operator new(size, std::nothrow);
  return ::operator new(size, std::align_val_t{align}, std::nothrow);
}

void new_deallocate(void*, void* p, size_t size, size_t align) {
  if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
    ::operator delete(p, size);
  } else {
    ::operator delete(p, size, std::align_val_t{align});
  }
}

// Constant-initialised: no global constructor, usable from any static initialiser.
constinit const Allocator kNewAllocator{&new_allocate, &new_deallocate, nullptr};
constinit std::atomic<const Allocator*> g_current{&kNewAllocator};

}  // namespace

const Allocator& default_allocator() { return kNewAllocator; }

const Allocator* set_allocator(const Allocator* a) {
  return g_current.exchange(a != nullptr ? a : &kNewAllocator, std::memory_order_acq_rel);
}

const Allocator& current_allocator() { return *g_current.load(std::memory_order_acquire); }

void* allocate_bytes(const Allocator& a, size_t size, size_t align) {
  void* p = a.allocate(a.ctx, size, align);
  if (p != nullptr) return p;
#if defined(__cpp_exceptions)
  throw std::bad_alloc();
#else
  std::fprintf(stderr, "inlet: out of memory allocating %zu bytes (align %zu)\n", size, align);
  std::abort();
#endif
}

}  // namespace inlet

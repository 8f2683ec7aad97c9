// Allocator: where every byte a context allocates at set-up comes from — the
// embedder's hook (a static arena, an RTOS heap) or ::operator new by default.
// Containers and owned objects in lib/ allocate through StdAllocator<T> and
// allocate_unique, which remember the allocator they were created with.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"

namespace inlet {

// The embedder's allocator. `allocate` returns memory of at least `size` bytes
// aligned to `align` (a power of two), or nullptr when it has none;
// `deallocate` gets back exactly the pointer, size and alignment it handed
// out. Both are called from the thread that sets up or runs the stack (never
// from an interrupt), only at set-up, teardown and when the application
// opens or closes sockets — never per packet.
struct Allocator {
  void* (*allocate)(void* ctx, size_t size, size_t align);
  void (*deallocate)(void* ctx, void* p, size_t size, size_t align);
  void* ctx;
};

// ::operator new / ::operator delete with the alignment (aligned forms above
// the default new alignment).
const Allocator& default_allocator();

// The process-wide allocator that objects created from now on take. Install
// it before creating any Stack (or any object of lib/); each object keeps the
// allocator it was created with and frees through it, so `a` must outlive
// every object created while it was installed. nullptr restores the default.
// Returns the previous one. Thread-safe, but meant to be called once at boot.
const Allocator* set_allocator(const Allocator* a);
const Allocator& current_allocator();

// allocate/deallocate through `a`. Running out is fatal: with exceptions
// enabled it throws std::bad_alloc (as std::allocator does); built with
// -fno-exceptions it prints the size and calls std::abort(). Size the
// allocator for the configuration (docs/porting.md).
void* allocate_bytes(const Allocator& a, size_t size, size_t align);
inline void deallocate_bytes(const Allocator& a, void* p, size_t size, size_t align) {
  if (p != nullptr) a.deallocate(a.ctx, p, size, align);
}

// A std-compatible allocator over an Allocator. Default-constructed, it takes
// the current allocator; containers carry it along on move, copy and swap.
template <class T>
class StdAllocator {
 public:
  using value_type = T;
  using propagate_on_container_copy_assignment = std::true_type;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;
  using is_always_equal = std::false_type;

  StdAllocator() noexcept : a_(&current_allocator()) {}
  explicit StdAllocator(const Allocator& a) noexcept : a_(&a) {}
  template <class U>
  StdAllocator(const StdAllocator<U>& other) noexcept : a_(&other.allocator()) {}

  T* allocate(size_t n) {
    if (n > size_t(-1) / sizeof(T)) return static_cast<T*>(allocate_bytes(*a_, size_t(-1), 1));
    return static_cast<T*>(allocate_bytes(*a_, n * sizeof(T), alignof(T)));
  }
  void deallocate(T* p, size_t n) noexcept { deallocate_bytes(*a_, p, n * sizeof(T), alignof(T)); }

  const Allocator& allocator() const { return *a_; }

  template <class U>
  bool operator==(const StdAllocator<U>& other) const {
    return a_ == &other.allocator();
  }

 private:
  const Allocator* a_;
};

// The containers lib/ uses, allocating through the hook.
template <class T>
using Vector = std::vector<T, StdAllocator<T>>;
template <class K, class V, class Hash = absl::Hash<K>, class Eq = std::equal_to<K>>
using FlatHashMap = absl::flat_hash_map<K, V, Hash, Eq, StdAllocator<std::pair<const K, V>>>;

// Deleters for objects and arrays made by allocate_unique*: they remember the
// allocator (and an array's length).
template <class T>
struct AllocDeleter {
  const Allocator* allocator = nullptr;
  void operator()(T* p) const {
    p->~T();
    deallocate_bytes(*allocator, p, sizeof(T), alignof(T));
  }
};
template <class T>
struct AllocDeleter<T[]> {
  const Allocator* allocator = nullptr;
  size_t length = 0;
  void operator()(T* p) const {
    for (size_t i = length; i > 0; --i) p[i - 1].~T();
    deallocate_bytes(*allocator, p, length * sizeof(T), alignof(T));
  }
};

// Owned through the hook. Holds exactly a T (no base-class pointers: the
// deleter frees sizeof(T) bytes).
template <class T>
using Unique = std::unique_ptr<T, AllocDeleter<T>>;

// The memory comes from here; `construct(void* memory)` builds the T in it
// and returns it. For classes whose constructor only their owner may call:
// the placement new then happens in the owner's scope.
template <class T, class Construct>
Unique<T> allocate_unique_with(Construct&& construct) {
  static_assert(!std::is_array_v<T>, "use allocate_unique_array_with");
  const Allocator& a = current_allocator();
  void* p = allocate_bytes(a, sizeof(T), alignof(T));
  return Unique<T>(construct(p), AllocDeleter<T>{&a});
}
template <class T, class... Args>
Unique<T> allocate_unique(Args&&... args) {
  return allocate_unique_with<T>([&](void* p) { return ::new (p) T(std::forward<Args>(args)...); });
}

// `n` elements, each built by `construct(void* memory)` in order.
template <class T, class Construct>
Unique<T[]> allocate_unique_array_with(size_t n, Construct&& construct) {
  const Allocator& a = current_allocator();
  T* p = StdAllocator<T>(a).allocate(n);
  for (size_t i = 0; i < n; ++i) construct(static_cast<void*>(p + i));
  return Unique<T[]>(p, AllocDeleter<T[]>{&a, n});
}
// `n` value-initialised elements.
template <class T>
Unique<T[]> allocate_unique_array(size_t n) {
  return allocate_unique_array_with<T>(n, [](void* p) { return ::new (p) T(); });
}

}  // namespace inlet

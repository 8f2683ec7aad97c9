// OwnerMap<T>: objects owned through the allocator hook (Unique<T>), found by
// a 64-bit key — TCP listeners by address and port, UDP sockets likewise.
#pragma once

#include <cstdint>
#include <utility>

#include "core/alloc.h"

namespace inlet {

// What an OwnerMap stores per key: the object and the allocator that frees it
// (the two halves of a Unique<T>, so a slot is as large as before).
struct OwnedObject {
  void* object = nullptr;
  const Allocator* allocator = nullptr;
};

// The one hash-table type behind every OwnerMap<T>: the table's code is
// instantiated once for all T rather than once per object type, which keeps
// the linked size of a firmware build down (docs/footprint.md). OwnerMap<T>
// is a typed front over it; it alone casts back to T.
using OwnedObjectTable = FlatHashMap<uint64_t, OwnedObject>;

// The object at `key`, or nullptr: shared by every OwnerMap<T>::find (left
// to the compiler to inline: it is on the receive path).
inline void* find_owned(const OwnedObjectTable& table, uint64_t key) {
  auto it = table.find(key);
  return it == table.end() ? nullptr : it->second.object;
}

// Empties `table`, freeing each object with `destroy`. This and erase_owned
// are one copy for every OwnerMap<T> (set-up and teardown only, never per
// packet).
using DestroyOwned = void (*)(const OwnedObject&);
[[gnu::noinline]] inline void clear_owned(OwnedObjectTable& table, DestroyOwned destroy) {
  for (const auto& entry : table) destroy(entry.second);
  table.clear();
}

// Removes the object at `key`, if any, freeing it with `destroy`.
[[gnu::noinline]] inline void erase_owned(OwnedObjectTable& table, uint64_t key,
                                          DestroyOwned destroy) {
  auto it = table.find(key);
  if (it == table.end()) return;
  const OwnedObject owned = it->second;
  table.erase(it);
  destroy(owned);
}

template <class T>
class OwnerMap {
 public:
  OwnerMap() = default;
  OwnerMap(const OwnerMap&) = delete;
  OwnerMap& operator=(const OwnerMap&) = delete;
  ~OwnerMap() { clear(); }

  bool contains(uint64_t key) const { return table_.contains(key); }

  // The object at `key`, or nullptr.
  T* find(uint64_t key) const { return static_cast<T*>(find_owned(table_, key)); }

  // Takes `object` under `key`, which must be free (the caller checks).
  T* insert(uint64_t key, Unique<T> object) {
    const Allocator* allocator = object.get_deleter().allocator;
    OwnedObject& slot = table_.try_emplace(key).first->second;  // may allocate: before release
    slot = {object.release(), allocator};
    return static_cast<T*>(slot.object);
  }

  // Destroys the object at `key`, if any.
  void erase(uint64_t key) { erase_owned(table_, key, &destroy); }

  void clear() { clear_owned(table_, &destroy); }

  // Calls f(T&) for every object; stops at and returns true on the first
  // call that returns true.
  template <class F>
  bool any_of(F&& f) const {
    for (const auto& entry : table_) {
      if (f(*static_cast<T*>(entry.second.object))) return true;
    }
    return false;
  }

  template <class F>
  void for_each(F&& f) const {
    for (const auto& entry : table_) f(*static_cast<T*>(entry.second.object));
  }

  size_t size() const { return table_.size(); }

 private:
  static void destroy(const OwnedObject& owned) {
    AllocDeleter<T>{owned.allocator}(static_cast<T*>(owned.object));
  }

  OwnedObjectTable table_;
};

}  // namespace inlet

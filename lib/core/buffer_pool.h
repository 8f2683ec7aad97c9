// BufferPool: every packet buffer a context will ever use, allocated once at
// set-up as fixed-size slabs plus descriptors, handed out from LIFO free lists.
// Exhaustion is counted, never fatal; in_use() is 0 again when a stack is gone.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/alloc.h"
#include "core/counters.h"
#include "core/packet.h"

namespace inlet {

// Gathers a (possibly chained) frame into `out`; returns the bytes written.
size_t copy_frame(const Packet& p, std::span<uint8_t> out);

struct BufferPoolConfig {
  uint32_t buffers = 1024;        // data slabs
  uint32_t buffer_size = 2048;    // bytes per slab (headroom + frame)
  uint32_t headroom = 128;        // reserved in front of fresh packets (NET_SKB_PAD-like)
  uint32_t descriptors = 0;       // 0 = 2 x buffers (clones need descriptors, not slabs)
};

class BufferPool {
 public:
  // `counters` (optional) receives drop counts from free(pkt, reason).
  explicit BufferPool(const BufferPoolConfig& config, Counters* counters = nullptr);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A fresh, empty packet with the configured headroom; empty ref when the pool
  // is exhausted (counted in alloc_failures()).
  PacketRef alloc();
  // A second descriptor sharing `p`'s slab (skb_clone): metadata is copied,
  // payload is not. Empty ref when out of descriptors.
  PacketRef clone(const PacketRef& p);
  // skb_cow: make `p` safe to write. A shared slab is copied into a fresh one;
  // returns false (leaving `p` untouched) when the pool has no slab to spare.
  bool make_writable(PacketRef& p);
  // Any packet, whichever pool it came from (clone and make_writable, too,
  // act on the packet's own pool).
  bool is_shared(const PacketRef& p) const {
    return p->pool == this ? slab_refs_[p->slab] > 1 : p->pool->is_shared(p);
  }

  // The only way a packet dies early: counts `reason` and gives it back.
  void free(PacketRef&& p, DropReason reason);

  uint32_t capacity() const { return config_.buffers; }
  uint32_t buffer_size() const { return config_.buffer_size; }
  uint32_t headroom() const { return config_.headroom; }
  uint32_t in_use() const { return slabs_in_use_; }
  // How many alloc() calls would succeed now (free slabs and descriptors).
  uint32_t available() const {
    return std::min(free_slab_top_, config_.descriptors - descs_in_use_);
  }
  uint32_t descriptors_in_use() const { return descs_in_use_; }
  uint64_t alloc_failures() const { return alloc_failures_; }
  uint64_t allocations() const { return allocations_; }
  Counters* counters() const { return counters_; }

  // Called by PacketRef::reset(); not for general use.
  void release(Packet* p);

 private:
  Packet* take_descriptor();

  BufferPoolConfig config_;
  Counters* counters_;
  const Allocator& allocator_;  // the slab memory's
  uint8_t* slab_memory_ = nullptr;
  Unique<Packet[]> descs_;
  Vector<uint16_t> slab_refs_;
  Vector<uint32_t> free_slabs_;  // LIFO stack of slab indices
  uint32_t free_slab_top_ = 0;
  uint32_t free_desc_head_;
  uint32_t slabs_in_use_ = 0;
  uint32_t descs_in_use_ = 0;
  uint64_t alloc_failures_ = 0;
  uint64_t allocations_ = 0;
};

}  // namespace inlet

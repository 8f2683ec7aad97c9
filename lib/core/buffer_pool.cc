#include "core/buffer_pool.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace inlet {

namespace {
constexpr uint32_t kNoDesc = 0xFFFFFFFF;
constexpr size_t kSlabAlign = 64;
}  // namespace

void Packet::reset(uint32_t headroom_bytes) {
  data = tail = headroom_bytes;
  ifindex = rx_queue = 0;
  l3_offset = l4_offset = kNoOffset;
  vlan_tci = 0;
  vlan_present = false;
  csum = ChecksumState::kNone;
  pkt_type = PacketType::kHost;
  flow_hash = csum_value = 0;
  gso_size = gso_segs = 0;
  rx_timestamp_ns = 0;
  next = prev = nullptr;
  chain = nullptr;
}

void PacketRef::release_to_pool() {
  p_->pool->release(p_);
  p_ = nullptr;
}

BufferPool::BufferPool(const BufferPoolConfig& config, Counters* counters)
    : config_(config), counters_(counters), allocator_(current_allocator()) {
  if (config_.descriptors == 0) config_.descriptors = 2 * config_.buffers;
  if (config_.headroom > config_.buffer_size) config_.headroom = config_.buffer_size;
  slab_memory_ = static_cast<uint8_t*>(
      allocate_bytes(allocator_, size_t{config_.buffers} * config_.buffer_size, kSlabAlign));
  descs_ = allocate_unique_array<Packet>(config_.descriptors);
  // Sized once, so built at their size rather than grown: resize() would
  // link the vector's growth path for nothing (docs/footprint.md).
  slab_refs_ = Vector<uint16_t>(config_.buffers);
  free_slabs_ = Vector<uint32_t>(config_.buffers);
  // LIFO: slab 0 on top, so the most recently freed (cache-warm) slab is reused first.
  for (uint32_t i = 0; i < config_.buffers; ++i) free_slabs_[i] = config_.buffers - 1 - i;
  free_slab_top_ = config_.buffers;
  for (uint32_t i = 0; i < config_.descriptors; ++i) {
    descs_[i].pool = this;
    descs_[i].self = i;
    descs_[i].next_free = i + 1 < config_.descriptors ? i + 1 : kNoDesc;
  }
  free_desc_head_ = config_.descriptors > 0 ? 0 : kNoDesc;
}

BufferPool::~BufferPool() {
  deallocate_bytes(allocator_, slab_memory_, size_t{config_.buffers} * config_.buffer_size,
                   kSlabAlign);
}

Packet* BufferPool::take_descriptor() {
  if (free_desc_head_ == kNoDesc) return nullptr;
  Packet* d = &descs_[free_desc_head_];
  free_desc_head_ = d->next_free;
  ++descs_in_use_;
  return d;
}

PacketRef BufferPool::alloc() {
  if (free_slab_top_ == 0 || free_desc_head_ == kNoDesc) {
    ++alloc_failures_;
    return PacketRef();
  }
  Packet* d = take_descriptor();
  uint32_t slab = free_slabs_[--free_slab_top_];
  slab_refs_[slab] = 1;
  ++slabs_in_use_;
  ++allocations_;
  d->slab = slab;
  d->head = slab_memory_ + size_t{slab} * config_.buffer_size;
  d->end = config_.buffer_size;
  d->truesize = config_.buffer_size;
  d->reset(config_.headroom);
  return PacketRef(d);
}

PacketRef BufferPool::clone(const PacketRef& p) {
  if (p->pool != this) return p->pool->clone(p);  // slabs belong to their own pool
  Packet* d = take_descriptor();
  if (d == nullptr) {
    ++alloc_failures_;
    return PacketRef();
  }
  const uint32_t self = d->self;
  *d = *p.get();
  d->self = self;
  d->next = d->prev = nullptr;
  d->chain = nullptr;  // a clone never owns the original's continuation  // queue links belong to the original (skb_clone)
  slab_refs_[d->slab]++;
  return PacketRef(d);
}

size_t copy_frame(const Packet& p, std::span<uint8_t> out) {
  size_t n = 0;
  for (const Packet* q = &p; q != nullptr && n < out.size(); q = q->chain) {
    const size_t take = std::min<size_t>(q->length(), out.size() - n);
    std::memcpy(out.data() + n, q->data_ptr(), take);
    n += take;
  }
  return n;
}

bool BufferPool::make_writable(PacketRef& p) {
  if (p->pool != this) return p->pool->make_writable(p);  // slabs belong to their own pool
  if (!is_shared(p)) return true;
  if (free_slab_top_ == 0) {
    ++alloc_failures_;
    return false;
  }
  uint32_t slab = free_slabs_[--free_slab_top_];
  slab_refs_[slab] = 1;
  ++slabs_in_use_;
  uint8_t* fresh = slab_memory_ + size_t{slab} * config_.buffer_size;
  std::memcpy(fresh, p->head, config_.buffer_size);
  const uint32_t old = p->slab;
  p->slab = slab;
  p->head = fresh;
  // The old slab had at least one other holder, so it cannot reach zero here.
  slab_refs_[old]--;
  return true;
}

void BufferPool::free(PacketRef&& p, DropReason reason) {
  if (!p) return;  // no packet, no drop (as kfree_skb_reason(NULL))
  if (counters_ != nullptr) counters_->drop(reason);
  p.reset();
}

void BufferPool::release(Packet* d) {
  if (d->chain != nullptr) {
    Packet* c = d->chain;
    d->chain = nullptr;
    c->pool->release(c);
  }
  if (--slab_refs_[d->slab] == 0) {
    free_slabs_[free_slab_top_++] = d->slab;
    --slabs_in_use_;
  }
  d->head = nullptr;
  d->next_free = free_desc_head_;
  free_desc_head_ = d->self;
  --descs_in_use_;
}

}  // namespace inlet

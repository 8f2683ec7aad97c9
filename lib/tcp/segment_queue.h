// SegmentQueue: an intrusive doubly linked list of packets (through
// Packet::next/prev), owning one reference each, with byte and truesize
// totals. The TCP receive queue is one; the out-of-order queue builds on it.
// Linking and unlinking never allocate.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/packet.h"
#include "tcp/seq.h"

namespace inlet::tcp {

// What TCP keeps in Packet::cb for a queued segment: the sequence range of
// the payload bytes between data and tail.
struct SegmentCb {
  uint32_t seq = 0;
  uint32_t end_seq = 0;
};

inline SeqNum seg_seq(const Packet* p) { return SeqNum(p->load_control<SegmentCb>().seq); }
inline SeqNum seg_end(const Packet* p) { return SeqNum(p->load_control<SegmentCb>().end_seq); }
inline void set_seg(Packet* p, SeqNum seq, SeqNum end) {
  p->store_control(SegmentCb{seq.raw(), end.raw()});
}

class SegmentQueue {
 public:
  SegmentQueue() = default;
  SegmentQueue(const SegmentQueue&) = delete;
  SegmentQueue& operator=(const SegmentQueue&) = delete;
  ~SegmentQueue() { clear(); }

  bool empty() const { return head_ == nullptr; }
  size_t count() const { return count_; }
  size_t bytes() const { return bytes_; }
  size_t truesize() const { return truesize_; }
  Packet* front() const { return head_; }
  Packet* back() const { return tail_; }

  void push_back(PacketRef p) { insert_after(tail_, std::move(p)); }
  // Inserts after `pos` (nullptr = at the front).
  void insert_after(Packet* pos, PacketRef p);
  PacketRef pop_front() { return unlink(head_); }
  PacketRef pop_back() { return unlink(tail_); }
  PacketRef unlink(Packet* p);
  // Bytes were pulled from or trimmed off a queued packet.
  void shrink_bytes(size_t n) { bytes_ -= n; }
  void clear() {
    while (head_ != nullptr) pop_front().reset();
  }

 private:
  Packet* head_ = nullptr;
  Packet* tail_ = nullptr;
  size_t count_ = 0;
  size_t bytes_ = 0;
  size_t truesize_ = 0;
};

}  // namespace inlet::tcp

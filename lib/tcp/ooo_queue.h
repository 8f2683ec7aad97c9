// OooQueue: TCP's out-of-order queue — segments beyond RCV.NXT kept in
// sequence order with no two overlapping (new data that overlaps queued data
// is trimmed to what is new; queued segments it fully covers are replaced),
// the ranges SACK reports, and pruning from the highest sequence first.
#pragma once

#include <cstdint>
#include <optional>

#include "core/packet.h"
#include "tcp/segment_queue.h"
#include "tcp/seq.h"

namespace inlet::tcp {

struct SeqRange {
  SeqNum left;
  SeqNum right;  // one past the end
  bool operator==(const SeqRange&) const = default;
};

struct OooInsert {
  bool queued = false;            // false: every byte was already queued
  // Segments dropped as wholly covered — the newcomer, or queued ones it
  // replaced (Linux's TcpExtTCPOFOMerge); a partial overlap is trimmed instead.
  uint32_t merged = 0;
  std::optional<SeqRange> dsack;  // the first duplicate range, extended while contiguous (RFC 2883)
  // The bytes this segment added (after trimming); when nothing was queued,
  // the queued data it repeated.
  SeqRange range;
};

class OooQueue {
 public:
  // `p` holds payload bytes [seq, end) between data and tail.
  OooInsert insert(PacketRef p, SeqNum seq, SeqNum end);
  // Hands over, in order, every queued segment that now starts at or below
  // `rcv_nxt` (trimmed so it starts at rcv_nxt; wholly old ones are dropped
  // and counted in *stale). Returns the new RCV.NXT.
  template <class Sink>
  SeqNum drain(SeqNum rcv_nxt, Sink&& to_receive_queue, uint32_t* stale) {
    while (!q_.empty() && seg_seq(q_.front()) <= rcv_nxt) {
      PacketRef p = q_.pop_front();
      const SeqNum seq = seg_seq(p.get()), end = seg_end(p.get());
      if (end <= rcv_nxt) {
        if (stale != nullptr) ++*stale;
        continue;  // released
      }
      p->pull(static_cast<uint32_t>(rcv_nxt - seq));
      set_seg(p.get(), rcv_nxt, end);
      rcv_nxt = end;
      to_receive_queue(std::move(p));
    }
    return rcv_nxt;
  }
  // Drops the highest segment (pruning); empty ref when the queue is empty.
  PacketRef pop_highest() { return q_.pop_back(); }
  const Packet* highest() const { return q_.back(); }

  bool empty() const { return q_.empty(); }
  size_t count() const { return q_.count(); }
  size_t bytes() const { return q_.bytes(); }
  size_t truesize() const { return q_.truesize(); }
  SeqNum lowest() const { return seg_seq(q_.front()); }
  SeqNum highest_end() const { return seg_end(q_.back()); }
  // Calls f(SeqRange) for each contiguous block, lowest first.
  template <class F>
  void for_each_block(F&& f) const {
    const Packet* p = q_.front();
    while (p != nullptr) {
      SeqRange r{seg_seq(p), seg_end(p)};
      p = p->next;
      while (p != nullptr && seg_seq(p) == r.right) {
        r.right = seg_end(p);
        p = p->next;
      }
      f(r);
    }
  }
  void clear() { q_.clear(); }

 private:
  SegmentQueue q_;
};

}  // namespace inlet::tcp

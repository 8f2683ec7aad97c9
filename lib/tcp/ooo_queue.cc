#include "tcp/ooo_queue.h"

namespace inlet::tcp {

namespace {
// The first duplicate range, extended while the next one continues it (as
// tcp_dsack_extend), so a segment repeating adjacent queued data reports it
// in one D-SACK block.
void note_dup(OooInsert& r, SeqNum left, SeqNum right) {
  if (!r.dsack) {
    r.dsack = SeqRange{left, right};
  } else if (r.dsack->right == left) {
    r.dsack->right = right;
  }
}
}  // namespace

OooInsert OooQueue::insert(PacketRef p, SeqNum seq, SeqNum end) {
  OooInsert r;
  // Find the last segment starting at or before `seq`. Fast paths: appending
  // past the tail (the usual case) and prepending before the head (a window
  // arriving in reverse).
  Packet* pos = q_.back();
  if (pos != nullptr && seq < seg_seq(pos)) {
    if (seq < seg_seq(q_.front())) {
      pos = nullptr;
    } else {
      while (pos != nullptr && seq < seg_seq(pos)) pos = pos->prev;
    }
  }
  if (pos != nullptr && seg_end(pos) > seq) {
    if (seg_end(pos) >= end) {  // wholly covered: nothing new, dropped
      ++r.merged;
      note_dup(r, seq, end);
      r.range = SeqRange{seg_seq(pos), seg_end(pos)};
      return r;  // p released
    }
    // Keep what is queued; take only the new tail of this segment.
    note_dup(r, seq, seg_end(pos));
    const uint32_t cut = static_cast<uint32_t>(seg_end(pos) - seq);
    p->pull(cut);
    seq = seg_end(pos);
  }
  // Successors the new segment reaches into.
  Packet* next = pos == nullptr ? q_.front() : pos->next;
  while (next != nullptr && seg_seq(next) < end) {
    if (seg_end(next) <= end) {  // wholly covered by the new data: replace it
      ++r.merged;
      note_dup(r, seg_seq(next), seg_end(next));
      Packet* after = next->next;
      q_.unlink(next).reset();
      next = after;
      continue;
    }
    // Partial overlap: the queued bytes stay, the new segment ends where they start.
    note_dup(r, seg_seq(next), end);
    end = seg_seq(next);
    if (end == seq) {
      // Nothing new after all: the tail of `pos` and the head of `next`
      // together held every byte. Never queue an empty segment.
      ++r.merged;
      r.range = SeqRange{pos != nullptr && seg_end(pos) == seq ? seg_seq(pos) : seq, seg_end(next)};
      return r;  // p released
    }
    p->trim(static_cast<uint32_t>(end - seq));
    break;
  }
  set_seg(p.get(), seq, end);
  q_.insert_after(pos, std::move(p));
  r.queued = true;
  r.range = SeqRange{seq, end};
  return r;
}

}  // namespace inlet::tcp

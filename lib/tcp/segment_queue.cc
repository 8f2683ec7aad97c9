#include "tcp/segment_queue.h"

namespace inlet::tcp {

void SegmentQueue::insert_after(Packet* pos, PacketRef ref) {
  Packet* p = ref.release();
  p->prev = pos;
  p->next = pos == nullptr ? head_ : pos->next;
  if (p->next != nullptr) {
    p->next->prev = p;
  } else {
    tail_ = p;
  }
  if (pos != nullptr) {
    pos->next = p;
  } else {
    head_ = p;
  }
  ++count_;
  bytes_ += p->length();
  truesize_ += p->truesize;
}

PacketRef SegmentQueue::unlink(Packet* p) {
  if (p == nullptr) return PacketRef();
  if (p->prev != nullptr) {
    p->prev->next = p->next;
  } else {
    head_ = p->next;
  }
  if (p->next != nullptr) {
    p->next->prev = p->prev;
  } else {
    tail_ = p->prev;
  }
  p->next = p->prev = nullptr;
  --count_;
  bytes_ -= p->length();
  truesize_ -= p->truesize;
  return PacketRef(p);
}

}  // namespace inlet::tcp

#include "link/interface.h"

namespace inlet::link {

void TxQueue::enqueue(PacketRef frame, BufferPool& pool) {
  if (count_ == ring_.size()) {
    pool.free(std::move(frame), DropReason::kTxRingFull);
    return;
  }
  ring_[(head_ + count_) % ring_.size()] = std::move(frame);
  ++count_;
}

size_t TxQueue::flush(PortQueue& port) {
  size_t sent = 0;
  while (count_ > 0) {
    // The contiguous run from head_ to the end of the ring (or of the queue).
    const size_t run = std::min(count_, ring_.size() - head_);
    const size_t took = port.tx_burst(std::span<PacketRef>(&ring_[head_], run));
    head_ = (head_ + took) % ring_.size();
    count_ -= took;
    sent += took;
    if (took < run) break;  // the port is full: try again next poll
  }
  if (count_ == 0) head_ = 0;
  return sent;
}

}  // namespace inlet::link

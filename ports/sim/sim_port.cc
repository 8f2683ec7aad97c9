#include "ports/sim/sim_port.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace inlet::sim {

SimPort::SimPort(SimPortConfig config) : config_(std::move(config)) {
  config_.rx_ring_size = std::max<uint32_t>(config_.rx_ring_size, 1);
  config_.tx_ring_size = std::max<uint32_t>(config_.tx_ring_size, 1);
  rx_ring_.resize(config_.rx_ring_size);
  tx_ring_.resize(config_.tx_ring_size);
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

SimPort::~SimPort() {
  detach();
  if (event_fd_ >= 0) close(event_fd_);
}

void SimPort::attach(BufferPool& pool) {
  detach();
  pool_ = &pool;
  // Hand every RX descriptor to the NIC with an empty buffer, as a driver's
  // ring refill does at open.
  for (Descriptor& d : rx_ring_) {
    PacketRef p = pool_->alloc();
    d.buffer = p.release();  // may be null when the pool is short: refilled later
    if (d.buffer == nullptr) ++unfilled_;
    d.ready = false;
    d.length = 0;
  }
  rx_hw_next_ = rx_driver_next_ = 0;
  tx_driver_next_ = tx_hw_next_ = 0;
}

void SimPort::detach() {
  if (pool_ == nullptr) return;
  for (Descriptor* ring : {rx_ring_.data(), tx_ring_.data()}) {
    const size_t n = ring == rx_ring_.data() ? rx_ring_.size() : tx_ring_.size();
    for (size_t i = 0; i < n; ++i) {
      if (ring[i].buffer != nullptr) PacketRef(ring[i].buffer).reset();
      ring[i] = Descriptor{};
    }
  }
  unfilled_ = 0;
  pool_ = nullptr;
}

bool SimPort::wire_receive(std::span<const uint8_t> frame) {
  if (pool_ == nullptr) return false;
  Descriptor& d = rx_ring_[rx_hw_next_];
  if (d.ready || d.buffer == nullptr) {
    ++stats_.rx_missed_errors;  // the driver has not cleaned / refilled it yet
    return false;
  }
  Packet& p = *d.buffer;
  if (frame.size() > config_.max_frame || frame.size() > p.end - pool_->headroom()) {
    ++stats_.rx_over_errors;
    return false;
  }
  std::memcpy(p.head + pool_->headroom(), frame.data(), frame.size());
  d.length = static_cast<uint32_t>(frame.size());
  d.eop = true;
  d.offload = {};
  d.ready = true;  // ownership passes to the driver
  rx_hw_next_ = (rx_hw_next_ + 1) % rx_ring_.size();
  ++stats_.rx_frames;
  raise_rx_interrupt();
  return true;
}

bool SimPort::wire_receive_scattered(std::span<const uint8_t> frame, RxOffload offload) {
  if (pool_ == nullptr) return false;
  const uint32_t cap = pool_->buffer_size() - pool_->headroom();
  if (frame.empty() || frame.size() > 65535 + 18) {
    ++stats_.rx_over_errors;
    return false;
  }
  const size_t need = (frame.size() + cap - 1) / cap;
  if (need > rx_ring_.size()) {
    ++stats_.rx_over_errors;
    return false;
  }
  for (size_t i = 0; i < need; ++i) {
    const Descriptor& d = rx_ring_[(rx_hw_next_ + i) % rx_ring_.size()];
    if (d.ready || d.buffer == nullptr) {
      ++stats_.rx_missed_errors;
      return false;
    }
  }
  size_t off = 0;
  for (size_t i = 0; i < need; ++i) {
    Descriptor& d = rx_ring_[rx_hw_next_];
    const size_t take = std::min<size_t>(cap, frame.size() - off);
    std::memcpy(d.buffer->head + pool_->headroom(), frame.data() + off, take);
    off += take;
    d.length = static_cast<uint32_t>(take);
    d.eop = i + 1 == need;
    d.offload = d.eop ? offload : RxOffload{};
    d.ready = true;
    rx_hw_next_ = (rx_hw_next_ + 1) % rx_ring_.size();
  }
  ++stats_.rx_frames;
  raise_rx_interrupt();
  return true;
}

void SimPort::raise_rx_interrupt() {
  if (irq_enabled_) {
    ++stats_.interrupts;
    irq_enabled_ = false;  // the handler masks it anyway; avoid an interrupt storm
    if (event_fd_ >= 0) {
      uint64_t one = 1;
      [[maybe_unused]] ssize_t n = write(event_fd_, &one, sizeof one);
    }
    raise_interrupt();
  }
}

void SimPort::set_interrupt_enabled(bool enabled) {
  // Re-arming acknowledges the previous interrupt: clear the eventfd once per
  // dry cycle rather than once per burst.
  if (enabled && !irq_enabled_) drain_interrupt_fd();
  irq_enabled_ = enabled;
}

bool SimPort::rx_pending() const { return !rx_ring_.empty() && rx_ring_[rx_driver_next_].ready; }

void SimPort::refill_empty_descriptors() {
  // Descriptors the NIC owns but that have no buffer (the pool was short at
  // attach or at a refill) get one as soon as the pool has some again.
  for (Descriptor& d : rx_ring_) {
    if (unfilled_ == 0) break;
    if (d.buffer != nullptr || d.ready) continue;
    PacketRef p = pool_->alloc();
    if (!p) return;
    d.buffer = p.release();
    --unfilled_;
  }
}

size_t SimPort::rx_burst(std::span<PacketRef> out) {
  if (pool_ == nullptr) return 0;
  if (unfilled_ > 0) refill_empty_descriptors();
  size_t n = 0;
  while (n < out.size()) {
    Descriptor& d = rx_ring_[rx_driver_next_];
    if (!d.ready) break;
    if (!d.eop) {
      n += take_scattered(out[n]) ? 1 : 0;
      continue;
    }
    // Refill first: a driver that cannot refill drops the frame and gives the
    // same buffer back to the NIC, so the ring never runs empty.
    PacketRef fresh = pool_->alloc();
    if (!fresh) {
      ++stats_.rx_nobuf;
      if (Counters* c = pool_->counters()) c->drop(DropReason::kPoolExhausted);
    } else {
      Packet* p = d.buffer;
      p->reset(pool_->headroom());
      p->tail = p->data + d.length;
      p->csum = d.offload.csum;
      out[n++] = PacketRef(p);
      d.buffer = fresh.release();
    }
    d.ready = false;
    d.length = 0;
    rx_driver_next_ = (rx_driver_next_ + 1) % rx_ring_.size();
  }
  return n;
}

// A frame spread over descriptors up to the end-of-packet one (all written
// together by wire_receive_scattered): chained in order, each descriptor
// refilled. Without buffers for every refill the whole frame is dropped and
// its buffers go back to the NIC.
bool SimPort::take_scattered(PacketRef& out) {
  size_t count = 1;
  while (!rx_ring_[(rx_driver_next_ + count - 1) % rx_ring_.size()].eop) ++count;
  PacketRef head;
  Packet* last = nullptr;
  bool ok = pool_->available() >= count;
  if (!ok) {
    ++stats_.rx_nobuf;
    if (Counters* c = pool_->counters()) c->drop(DropReason::kPoolExhausted);
  }
  for (size_t i = 0; i < count; ++i) {
    Descriptor& d = rx_ring_[rx_driver_next_];
    if (ok) {
      Packet* p = d.buffer;
      p->reset(pool_->headroom());
      p->tail = p->data + d.length;
      if (last == nullptr) {
        head = PacketRef(p);
      } else {
        last->chain = p;
      }
      last = p;
      if (d.eop) {
        head->csum = d.offload.csum;
        head->gso_size = d.offload.gso_size;
        head->gso_segs = d.offload.gso_segs;
      }
      d.buffer = pool_->alloc().release();  // available() said there is one
    }
    d.ready = false;
    d.length = 0;
    d.eop = true;
    rx_driver_next_ = (rx_driver_next_ + 1) % rx_ring_.size();
  }
  if (!ok) return false;
  out = std::move(head);
  return true;
}

size_t SimPort::tx_burst(std::span<PacketRef> frames) {
  size_t n = 0;
  for (; n < frames.size(); ++n) {
    Descriptor& d = tx_ring_[tx_driver_next_];
    if (d.buffer != nullptr) {  // not yet completed by the NIC
      ++stats_.tx_ring_full;
      break;
    }
    d.length = frames[n]->frame_length();
    d.buffer = frames[n].release();
    d.ready = true;
    tx_driver_next_ = (tx_driver_next_ + 1) % tx_ring_.size();
  }
  return n;
}

size_t SimPort::wire_collect(absl::FunctionRef<void(std::span<const uint8_t>)> sink) {
  size_t n = 0;
  for (;;) {
    Descriptor& d = tx_ring_[tx_hw_next_];
    if (!d.ready) break;
    if (d.buffer->chain == nullptr) {
      sink(std::span<const uint8_t>(d.buffer->data_ptr(), d.length));
    } else {
      // A chained frame (header + shared payload) is gathered as DMA would.
      if (gather_.size() < d.length) gather_.resize(d.length);
      sink(std::span<const uint8_t>(gather_.data(), copy_frame(*d.buffer, gather_)));
    }
    PacketRef(d.buffer).reset();  // transmit completion frees the buffer
    d = Descriptor{};
    tx_hw_next_ = (tx_hw_next_ + 1) % tx_ring_.size();
    ++stats_.tx_frames;
    ++n;
  }
  return n;
}

std::vector<std::vector<uint8_t>> SimPort::wire_collect_all() {
  std::vector<std::vector<uint8_t>> frames;
  wire_collect([&](std::span<const uint8_t> f) { frames.emplace_back(f.begin(), f.end()); });
  return frames;
}

size_t SimPort::wire_pump() {
  if (peer_ == nullptr) return 0;
  return wire_collect([&](std::span<const uint8_t> f) { peer_->wire_receive(f); });
}

void SimPort::drain_interrupt_fd() {
  uint64_t v;
  if (event_fd_ >= 0) [[maybe_unused]] ssize_t n = read(event_fd_, &v, sizeof v);
}

}  // namespace inlet::sim

#include "ports/fault/fault_injector.h"

#include <algorithm>

namespace inlet::fault {

FaultInjector::FaultInjector(std::unique_ptr<PortQueue> inner, const FaultConfig& config)
    : inner_(std::move(inner)), config_(config), rng_(config.seed) {
  held_.resize(std::max<uint32_t>(config_.hold_capacity, 1));
  scratch_.resize(256);
  inner_->set_interrupt_handler([this] { raise_interrupt(); });
}

void FaultInjector::attach(BufferPool& pool) {
  pool_ = &pool;
  inner_->attach(pool);
}

void FaultInjector::detach() {
  for (Held& h : held_) h.frame.reset();
  held_count_ = 0;
  for (PacketRef& p : scratch_) p.reset();
  inner_->detach();
  pool_ = nullptr;
}

size_t FaultInjector::release_due(std::span<PacketRef> out, size_t n, bool flush_all) {
  for (Held& h : held_) {
    if (n == out.size()) break;
    if (!h.frame) continue;
    if (flush_all || h.release_after == 0) {
      out[n++] = std::move(h.frame);
      --held_count_;
    }
  }
  return n;
}

size_t FaultInjector::rx_burst(std::span<PacketRef> out) {
  if (pool_ == nullptr) return 0;
  // Leave room in `out` for every held frame and one duplicate per arrival,
  // so nothing is ever lost for want of space.
  const size_t room = out.size() > held_count_ ? (out.size() - held_count_) / 2 : 0;
  const size_t want = std::min(room, scratch_.size());
  if (want == 0) return release_due(out, 0, true);
  const size_t got = inner_->rx_burst(std::span<PacketRef>(scratch_.data(), want));
  size_t n = 0;
  for (size_t i = 0; i < got; ++i) {
    PacketRef p = std::move(scratch_[i]);
    ++stats_.frames;
    // Every arrival moves held frames one step closer to release.
    for (Held& h : held_) {
      if (h.frame && h.release_after > 0) --h.release_after;
    }
    n = release_due(out, n, false);
    if (chance(config_.drop)) {
      ++stats_.dropped;
      continue;  // released: the wire lost it
    }
    if (chance(config_.corrupt) && p->length() > config_.corrupt_offset) {
      if (pool_->make_writable(p)) {
        const uint32_t span = p->length() - config_.corrupt_offset;
        const uint32_t at = config_.corrupt_offset + static_cast<uint32_t>(rng_() % span);
        p->data_ptr()[at] ^= static_cast<uint8_t>(1u << (rng_() % 8));
        ++stats_.corrupted;
      }
    }
    if (chance(config_.duplicate)) {
      PacketRef copy = pool_->clone(p);
      if (copy) {
        ++stats_.duplicated;
        out[n++] = std::move(copy);
      }
    }
    if (chance(config_.reorder) && held_count_ < held_.size()) {
      for (Held& h : held_) {
        if (!h.frame) {
          h.frame = std::move(p);
          h.release_after = std::max<uint32_t>(config_.reorder_depth, 1);
          ++held_count_;
          ++stats_.reordered;
          break;
        }
      }
      continue;
    }
    out[n++] = std::move(p);
  }
  // A quiet wire must not strand held frames: with nothing new, let them go.
  if (got == 0 && held_count_ > 0) n = release_due(out, n, true);
  return n;
}

}  // namespace inlet::fault

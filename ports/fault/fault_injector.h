// FaultInjector: wraps any port queue and damages what it receives — drops,
// duplicates, reorders (holds a frame back for a few others) and corrupts
// (flips one byte past the headers, so checksums must catch it) — with a
// seeded generator, so a test or a fuzzer gets the same faults every run.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "core/buffer_pool.h"
#include "core/port.h"

namespace inlet::fault {

struct FaultConfig {
  uint64_t seed = 1;
  double drop = 0;       // probability a received frame vanishes
  double duplicate = 0;  // probability it arrives twice
  double reorder = 0;    // probability it is held back ...
  uint32_t reorder_depth = 3;  // ... until this many later frames have passed
  double corrupt = 0;    // probability one byte is flipped
  uint32_t corrupt_offset = 54;  // only bytes at or after this offset (past Eth+IP+TCP)
  uint32_t hold_capacity = 64;   // frames that can be held back at once
};

struct FaultStats {
  uint64_t frames = 0;
  uint64_t dropped = 0;
  uint64_t duplicated = 0;
  uint64_t reordered = 0;
  uint64_t corrupted = 0;
};

class FaultInjector final : public PortQueue {
 public:
  FaultInjector(std::unique_ptr<PortQueue> inner, const FaultConfig& config);

  void attach(BufferPool& pool) override;
  void detach() override;
  size_t rx_burst(std::span<PacketRef> out) override;
  size_t tx_burst(std::span<PacketRef> frames) override { return inner_->tx_burst(frames); }
  void set_interrupt_enabled(bool enabled) override { inner_->set_interrupt_enabled(enabled); }
  bool rx_pending() const override { return held_count_ > 0 || inner_->rx_pending(); }
  int interrupt_fd() const override { return inner_->interrupt_fd(); }
  std::string_view name() const override { return inner_->name(); }

  PortQueue& inner() { return *inner_; }
  const FaultStats& stats() const { return stats_; }
  void set_config(const FaultConfig& c) { config_ = c; }

 private:
  struct Held {
    PacketRef frame;
    uint32_t release_after = 0;  // frames still to pass before it goes out
  };
  bool chance(double p) { return p > 0 && uniform_(rng_) < p; }
  // Emits held frames whose time has come into out[n...]; returns new n.
  size_t release_due(std::span<PacketRef> out, size_t n, bool flush_all);

  std::unique_ptr<PortQueue> inner_;
  FaultConfig config_;
  BufferPool* pool_ = nullptr;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
  std::vector<Held> held_;
  size_t held_count_ = 0;
  std::vector<PacketRef> scratch_;
  FaultStats stats_;
};

}  // namespace inlet::fault

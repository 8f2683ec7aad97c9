// PcapTap: wraps any port queue and records every frame it receives and every
// frame it transmits into one pcap file (as tcpdump on the interface would),
// readable with `tshark -r`. Ports compose: PcapTap over TAP, sim, io_uring…
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/port.h"
#include "ports/pcap/pcap_file.h"

namespace inlet::pcap {

class PcapTap final : public PortQueue {
 public:
  static absl::StatusOr<std::unique_ptr<PcapTap>> wrap(std::unique_ptr<PortQueue> inner,
                                                       const std::string& path);

  void attach(BufferPool& pool) override { inner_->attach(pool); }
  void detach() override;
  size_t rx_burst(std::span<PacketRef> out) override;
  size_t tx_burst(std::span<PacketRef> frames) override;
  void set_interrupt_enabled(bool enabled) override { inner_->set_interrupt_enabled(enabled); }
  bool rx_pending() const override { return inner_->rx_pending(); }
  int interrupt_fd() const override { return inner_->interrupt_fd(); }
  std::string_view name() const override { return inner_->name(); }

  PortQueue& inner() { return *inner_; }
  uint64_t frames_written() const { return writer_.records_written(); }

 private:
  PcapTap(std::unique_ptr<PortQueue> inner, PcapWriter writer);
  void record(std::span<const uint8_t> frame);

  std::unique_ptr<PortQueue> inner_;
  PcapWriter writer_;
  std::vector<uint8_t> gather_ = std::vector<uint8_t>(65536);
};

}  // namespace inlet::pcap

// PcapReplayPort: a port whose receive side is a pcap file. Ethernet records
// are delivered as they are; raw IPv4 (LINKTYPE_RAW/IPV4) and Linux cooked
// (SLL, SLL2) records get an Ethernet header synthesized in the headroom, with
// the destination MAC chosen from the packet type so the stack sees them as
// addressed to it. Transmitted frames are counted and, optionally, written.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/buffer_pool.h"
#include "core/port.h"
#include "ports/pcap/pcap_file.h"
#include "wire/bytes.h"

namespace inlet::pcap {

struct ReplayStats {
  uint64_t records = 0;          // records read from the file
  uint64_t delivered = 0;        // frames handed to the stack
  uint64_t oversize = 0;         // records larger than a pool buffer (rx_over_errors)
  uint64_t unsupported = 0;      // records of a link type or protocol we cannot frame
  uint64_t truncated = 0;        // incl_len < orig_len (snapped): delivered as captured
  uint64_t transmitted = 0;      // frames the stack sent back
};

class PcapReplayPort final : public PortQueue {
 public:
  // `local_mac`: the MAC of the interface the replay feeds (destination of
  // synthesized headers). `tx_path`: optional pcap of what the stack sends.
  static absl::StatusOr<std::unique_ptr<PcapReplayPort>> open(const std::string& path,
                                                              wire::MacAddress local_mac,
                                                              const std::string& tx_path = "");
  static std::unique_ptr<PcapReplayPort> from_reader(PcapReader reader, wire::MacAddress local_mac);

  void attach(BufferPool& pool) override { pool_ = &pool; }
  void detach() override {
    ahead_.reset();
    pool_ = nullptr;
  }
  size_t rx_burst(std::span<PacketRef> out) override;
  size_t tx_burst(std::span<PacketRef> frames) override;
  void set_interrupt_enabled(bool) override {}
  bool rx_pending() const override { return !done(); }
  std::string_view name() const override { return "pcap"; }

  bool done() const { return eof_ && !ahead_; }
  // Capture time of the next frame to be delivered (read ahead), so a
  // capture-driven clock can be set before the stack sees it.
  std::optional<int64_t> next_timestamp_ns();
  // Capture time of the last record delivered (for a capture-driven clock).
  int64_t last_timestamp_ns() const { return last_ts_ns_; }
  const ReplayStats& stats() const { return stats_; }
  const PcapReader& reader() const { return reader_; }
  // Stop after this many records per rx_burst call (1 = frame by frame).
  void set_burst_limit(size_t n) { burst_limit_ = n == 0 ? 1 : n; }

 private:
  PcapReplayPort(PcapReader reader, wire::MacAddress local_mac)
      : reader_(std::move(reader)), local_mac_(local_mac) {}
  // Builds the frame for one record into `p`; false when it cannot be framed.
  bool frame_record(const PcapReader::Record& r, Packet& p);
  bool fill_ahead();

  PcapReader reader_;
  wire::MacAddress local_mac_;
  std::optional<PcapWriter> tx_writer_;
  BufferPool* pool_ = nullptr;
  bool eof_ = false;
  PacketRef ahead_;
  int64_t ahead_ts_ns_ = 0;
  size_t burst_limit_ = SIZE_MAX;
  int64_t last_ts_ns_ = 0;
  ReplayStats stats_;
};

}  // namespace inlet::pcap

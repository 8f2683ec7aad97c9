// TraceCapture: pcap files recorded at the stack's trace points (core/trace.h)
// — the whole Ethernet frame at link-in/link-out, a Linux cooked (SLL) header
// and the network packet at the other points — readable with `tshark -r`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/clock.h"
#include "core/trace.h"
#include "ports/pcap/pcap_file.h"

namespace inlet::pcap {

// "link-in", "ipv4-in", … as trace_point_name prints them; nullopt otherwise.
std::optional<TracePoint> parse_trace_point(std::string_view name);
// LINKTYPE_ETHERNET at link-in/link-out (the frame still has its link
// header); LINKTYPE_LINUX_SLL elsewhere (the packet from its network header,
// after a 16-byte cooked header naming its protocol and direction).
uint32_t trace_capture_link_type(TracePoint point);

class TraceCapture {
 public:
  TraceCapture() = default;
  // trace() hands out `this`: the object stays where it is.
  TraceCapture(const TraceCapture&) = delete;
  TraceCapture& operator=(const TraceCapture&) = delete;

  // Records the packets seen at `point` into a new (truncated) file `path`.
  // Several files may watch one point, one file watches one point.
  absl::Status add(TracePoint point, const std::string& path);
  // "POINT:FILE", as --pcap-at takes it.
  absl::Status add_spec(std::string_view spec);
  bool empty() const { return files_.empty(); }

  // Record timestamps come from `clock` (replay: the capture's own time);
  // null (the default) means the wall clock, CLOCK_REALTIME.
  void set_clock(const Clock* clock) { clock_ = clock; }
  // A trace called after each recording (a printer, say): captures chain.
  void set_next(Trace next) { next_ = next; }
  // The hook to install with Stack::set_trace.
  Trace trace() { return Trace{&TraceCapture::on_trace, this}; }

  // One packet at one point. No allocation: one record buffer, reused.
  void record(TracePoint point, const Packet& packet, std::string_view note);
  // Flushes and closes every file; the first error, if any.
  absl::Status close();

  // Records written to the i-th file added, and write errors (all files).
  uint64_t records_written(size_t i) const { return files_[i].writer.records_written(); }
  uint64_t write_errors() const { return write_errors_; }

 private:
  struct File {
    TracePoint point;
    PcapWriter writer;
  };
  static void on_trace(void* user, TracePoint point, const Packet& packet, std::string_view note);
  int64_t now_ns() const;
  // The record for `point` into buffer_; its length.
  size_t build_record(TracePoint point, const Packet& packet, std::string_view note);

  std::vector<File> files_;
  uint32_t watched_ = 0;  // bit per TracePoint with at least one file
  const Clock* clock_ = nullptr;
  Trace next_;
  uint64_t write_errors_ = 0;
  std::vector<uint8_t> buffer_;  // sized once, at the first add()
};

}  // namespace inlet::pcap

#include "ports/pcap/trace_capture.h"

#include <time.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/buffer_pool.h"

namespace inlet::pcap {
namespace {

constexpr TracePoint kAllPoints[] = {
    TracePoint::kLinkIn, TracePoint::kArp,   TracePoint::kIpIn,    TracePoint::kIcmp,
    TracePoint::kUdp,    TracePoint::kTransportIn, TracePoint::kIpOut, TracePoint::kLinkOut,
    TracePoint::kDrop};

constexpr size_t kSllHeaderBytes = 16;
constexpr uint16_t kArphrdEther = 1;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
// "Transparent Ethernet Bridging": the payload is a whole Ethernet frame
// (what a link-level drop holds); Wireshark decodes it as one.
constexpr uint16_t kEtherTypeEthernet = 0x6558;

uint32_t bit(TracePoint p) { return 1u << static_cast<unsigned>(p); }

void store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

uint16_t sll_packet_type(TracePoint point, const Packet& p) {
  if (point == TracePoint::kIpOut) return kSllOutgoing;
  switch (p.pkt_type) {
    case PacketType::kHost: return kSllHost;
    case PacketType::kBroadcast: return kSllBroadcast;
    case PacketType::kMulticast: return kSllMulticast;
    case PacketType::kOtherHost: return kSllOtherHost;
  }
  return kSllHost;
}

// Bytes [from, tail) of `p`, then its chain, into `out`; the bytes written.
size_t gather(const Packet& p, uint32_t from, std::span<uint8_t> out) {
  size_t n = std::min<size_t>(p.tail - from, out.size());
  std::memcpy(out.data(), p.head + from, n);
  if (p.chain != nullptr && n < out.size()) n += copy_frame(*p.chain, out.subspan(n));
  return n;
}

}  // namespace

std::optional<TracePoint> parse_trace_point(std::string_view name) {
  for (TracePoint p : kAllPoints) {
    if (trace_point_name(p) == name) return p;
  }
  return std::nullopt;
}

uint32_t trace_capture_link_type(TracePoint point) {
  return point == TracePoint::kLinkIn || point == TracePoint::kLinkOut ? kLinkEthernet
                                                                       : kLinkLinuxSll;
}

absl::Status TraceCapture::add(TracePoint point, const std::string& path) {
  auto writer = PcapWriter::create(path, trace_capture_link_type(point));
  if (!writer.ok()) return writer.status();
  if (buffer_.empty()) buffer_.resize(kMaxRecordBytes);
  files_.push_back(File{point, std::move(*writer)});
  watched_ |= bit(point);
  return absl::OkStatus();
}

absl::Status TraceCapture::add_spec(std::string_view spec) {
  const size_t colon = spec.find(':');
  if (colon == std::string_view::npos || colon + 1 >= spec.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", std::string(spec), "': expected POINT:FILE"));
  }
  std::optional<TracePoint> point = parse_trace_point(spec.substr(0, colon));
  if (!point) {
    std::string names;
    for (TracePoint p : kAllPoints) absl::StrAppend(&names, names.empty() ? "" : ", ", std::string(trace_point_name(p)));
    return absl::InvalidArgumentError(absl::StrCat("'", std::string(spec.substr(0, colon)),
                                                   "' is not a trace point (", names, ")"));
  }
  return add(*point, std::string(spec.substr(colon + 1)));
}

int64_t TraceCapture::now_ns() const {
  if (clock_ != nullptr) return absl::ToUnixNanos(clock_->now());
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

size_t TraceCapture::build_record(TracePoint point, const Packet& p, std::string_view note) {
  std::span<uint8_t> out(buffer_);
  if (trace_capture_link_type(point) == kLinkEthernet) return copy_frame(p, out);
  // The network header, when this packet has one at or before its data (a
  // transport layer may have pulled past it); else the data itself.
  const bool has_l3 = p.l3_offset != kNoOffset && p.l3_offset <= p.data;
  uint16_t protocol = kEtherTypeIpv4;
  if (point == TracePoint::kArp) {
    protocol = kEtherTypeArp;
  } else if (point == TracePoint::kDrop) {
    // A drop's note is its reason. Without a network header the packet is
    // the whole frame. ARP_* hold the ARP packet; IPV6_NOT_SUPPORTED and
    // UNKNOWN_ETHER_TYPE (received frames only) hold what followed the
    // ethertype, which is still in the headroom just before it; the others
    // hold IPv4.
    if (!has_l3) {
      protocol = kEtherTypeEthernet;
    } else if (note.starts_with("ARP")) {
      protocol = kEtherTypeArp;
    } else if ((note == "IPV6_NOT_SUPPORTED" || note == "UNKNOWN_ETHER_TYPE") && p.l3_offset >= 2) {
      protocol = static_cast<uint16_t>(p.head[p.l3_offset - 2] << 8 | p.head[p.l3_offset - 1]);
    }
  }
  uint8_t* h = out.data();
  std::memset(h, 0, kSllHeaderBytes);  // link-layer address: none (length 0)
  store16(h + 0, sll_packet_type(point, p));
  store16(h + 2, kArphrdEther);
  store16(h + 14, protocol);
  const uint32_t from = has_l3 ? p.l3_offset : p.data;
  return kSllHeaderBytes + gather(p, from, out.subspan(kSllHeaderBytes));
}

void TraceCapture::record(TracePoint point, const Packet& packet, std::string_view note) {
  if ((watched_ & bit(point)) != 0) {
    const size_t n = build_record(point, packet, note);
    const int64_t ts = now_ns();
    for (File& f : files_) {
      if (f.point != point) continue;
      if (!f.writer.write(ts, std::span<const uint8_t>(buffer_.data(), n)).ok()) ++write_errors_;
    }
  }
  next_(point, packet, note);
}

void TraceCapture::on_trace(void* user, TracePoint point, const Packet& packet,
                            std::string_view note) {
  static_cast<TraceCapture*>(user)->record(point, packet, note);
}

absl::Status TraceCapture::close() {
  absl::Status first;
  for (File& f : files_) {
    absl::Status s = f.writer.close();
    if (first.ok() && !s.ok()) first = s;
  }
  return first;
}

}  // namespace inlet::pcap

#include "ports/pcap/pcap_replay_port.h"

#include <cstring>

#include "wire/ethernet.h"

namespace inlet::pcap {

namespace {
// The "peer" MAC of synthesized headers: locally administered, fixed.
constexpr wire::MacAddress kReplaySourceMac{{0x02, 0x00, 0x00, 0x70, 0x63, 0x70}};
constexpr wire::MacAddress kOtherHostMac{{0x02, 0x00, 0x00, 0x6f, 0x74, 0x68}};
}  // namespace

absl::StatusOr<std::unique_ptr<PcapReplayPort>> PcapReplayPort::open(const std::string& path,
                                                                     wire::MacAddress local_mac,
                                                                     const std::string& tx_path) {
  auto reader = PcapReader::open(path);
  if (!reader.ok()) return reader.status();
  auto port = from_reader(std::move(*reader), local_mac);
  if (!tx_path.empty()) {
    auto writer = PcapWriter::create(tx_path, kLinkEthernet);
    if (!writer.ok()) return writer.status();
    port->tx_writer_.emplace(std::move(*writer));
  }
  return port;
}

std::unique_ptr<PcapReplayPort> PcapReplayPort::from_reader(PcapReader reader,
                                                           wire::MacAddress local_mac) {
  return std::unique_ptr<PcapReplayPort>(new PcapReplayPort(std::move(reader), local_mac));
}

bool PcapReplayPort::frame_record(const PcapReader::Record& r, Packet& p) {
  std::span<const uint8_t> bytes = r.bytes;
  wire::MacAddress dst = local_mac_;
  uint16_t ethertype = 0;
  switch (reader_.link_type()) {
    case kLinkEthernet: {
      // Strip a trailing FCS when the file says frames carry one.
      if (reader_.fcs_length() > 0 && bytes.size() >= reader_.fcs_length() &&
          r.original_length == bytes.size()) {
        bytes = bytes.first(bytes.size() - reader_.fcs_length());
      }
      if (bytes.size() > p.tailroom()) return false;
      uint8_t* to = p.put(static_cast<uint32_t>(bytes.size()));
      // An empty record (incl_len 0) has no bytes to copy: memcpy from null is UB.
      if (!bytes.empty()) std::memcpy(to, bytes.data(), bytes.size());
      return true;
    }
    case kLinkRaw:
    case kLinkIpv4:
      if (bytes.empty()) return false;
      ethertype = (bytes[0] >> 4) == 6 ? wire::ethertype::kIpv6 : wire::ethertype::kIpv4;
      break;
    case kLinkLinuxSll:
    case kLinkLinuxSll2: {
      auto sll = reader_.link_type() == kLinkLinuxSll ? parse_sll(bytes) : parse_sll2(bytes);
      if (!sll) return false;
      ethertype = sll->protocol;
      bytes = bytes.subspan(sll->header_length);
      switch (sll->packet_type) {
        case kSllBroadcast: dst = wire::kMacBroadcast; break;
        case kSllMulticast: dst = wire::MacAddress({0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}); break;
        case kSllOtherHost: dst = kOtherHostMac; break;
        default: break;  // to us, or sent by us: replayed as received
      }
      break;
    }
    default:
      return false;
  }
  if (bytes.size() + wire::kEthernetHeaderLength > p.tailroom()) return false;
  uint8_t* frame = p.put(static_cast<uint32_t>(bytes.size() + wire::kEthernetHeaderLength));
  wire::EthernetRepr{dst, kReplaySourceMac, ethertype}.emit(
      std::span<uint8_t>(frame, wire::kEthernetHeaderLength));
  if (!bytes.empty()) std::memcpy(frame + wire::kEthernetHeaderLength, bytes.data(), bytes.size());
  return true;
}

bool PcapReplayPort::fill_ahead() {
  if (ahead_ || pool_ == nullptr) return static_cast<bool>(ahead_);
  PcapReader::Record r;
  while (!eof_) {
    PacketRef p = pool_->alloc();
    if (!p) return false;  // try again next poll
    if (!reader_.next(r)) {
      eof_ = true;
      return false;
    }
    ++stats_.records;
    if (r.bytes.size() < r.original_length) ++stats_.truncated;
    const bool known = reader_.link_type() == kLinkEthernet || reader_.link_type() == kLinkRaw ||
                       reader_.link_type() == kLinkIpv4 || reader_.link_type() == kLinkLinuxSll ||
                       reader_.link_type() == kLinkLinuxSll2;
    if (!frame_record(r, *p)) {
      if (known && r.bytes.size() + wire::kEthernetHeaderLength > p->tailroom()) {
        ++stats_.oversize;
      } else {
        ++stats_.unsupported;
      }
      continue;  // p goes back to the pool
    }
    p->rx_timestamp_ns = r.timestamp_ns;
    ahead_ts_ns_ = r.timestamp_ns;
    ahead_ = std::move(p);
    return true;
  }
  return false;
}

std::optional<int64_t> PcapReplayPort::next_timestamp_ns() {
  if (!fill_ahead()) return std::nullopt;
  return ahead_ts_ns_;
}

size_t PcapReplayPort::rx_burst(std::span<PacketRef> out) {
  if (pool_ == nullptr) return 0;
  size_t n = 0;
  const size_t limit = std::min(out.size(), burst_limit_);
  while (n < limit && fill_ahead()) {
    last_ts_ns_ = ahead_ts_ns_;
    ++stats_.delivered;
    out[n++] = std::move(ahead_);
  }
  return n;
}

size_t PcapReplayPort::tx_burst(std::span<PacketRef> frames) {
  for (PacketRef& f : frames) {
    if (tx_writer_) {
      uint8_t buf[65536];
      (void)tx_writer_->write(last_ts_ns_, std::span<const uint8_t>(buf, copy_frame(*f, buf)));
    }
    ++stats_.transmitted;
    f.reset();
  }
  return frames.size();
}

}  // namespace inlet::pcap

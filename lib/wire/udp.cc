// UDP header parse, checksum verification and emit.
#include "wire/udp.h"

#include "wire/checksum.h"
#include "wire/ipv4.h"

namespace inlet::wire {

WireResult<UdpView> UdpView::parse(std::span<const uint8_t> datagram) {
  if (datagram.size() < kUdpHeaderLength) return WireError::kTooShort;
  const size_t length = load_be16(datagram.data() + 4);
  if (length < kUdpHeaderLength || length > datagram.size()) return WireError::kBadLength;
  return UdpView(datagram.first(length));
}

WireResult<UdpView> UdpView::parse(std::span<const uint8_t> datagram, Ipv4Address src,
                                   Ipv4Address dst) {
  WireResult<UdpView> r = parse(datagram);
  if (r.ok() && !r.value().checksum_ok(src, dst)) return WireError::kBadChecksum;
  return r;
}

bool UdpView::checksum_ok(Ipv4Address src, Ipv4Address dst) const {
  if (!has_checksum()) return true;
  const uint32_t pseudo =
      ipv4_pseudo_header_sum(src, dst, ipproto::kUdp, static_cast<uint16_t>(bytes_.size()));
  return internet_checksum(bytes_, pseudo) == 0;
}

size_t UdpRepr::emit(std::span<uint8_t> out, Ipv4Address src, Ipv4Address dst) const {
  const size_t total = total_length();
  if (out.size() < total || total > 0xFFFF) return 0;
  uint8_t* p = out.data();
  store_be16(p, src_port);
  store_be16(p + 2, dst_port);
  store_be16(p + 4, static_cast<uint16_t>(total));
  store_be16(p + 6, 0);
  const uint32_t pseudo =
      ipv4_pseudo_header_sum(src, dst, ipproto::kUdp, static_cast<uint16_t>(total));
  uint16_t sum = internet_checksum(out.first(total), pseudo);
  if (sum == 0) sum = 0xFFFF;
  store_be16(p + 6, sum);
  return kUdpHeaderLength;
}

}  // namespace inlet::wire

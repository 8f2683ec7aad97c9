// ICMP message parse, quoted-datagram parse, emit and echo reply in place.
#include "wire/icmp.h"

#include <algorithm>
#include <cstring>

#include "wire/ipv4.h"

namespace inlet::wire {

WireResult<IcmpView> IcmpView::parse(std::span<const uint8_t> message, ChecksumMode checksum) {
  if (message.size() < kIcmpHeaderLength) return WireError::kTooShort;
  if (checksum == ChecksumMode::kVerify && internet_checksum(message) != 0) {
    return WireError::kBadChecksum;
  }
  return IcmpView(message);
}

WireResult<IcmpQuote> IcmpView::quote() const {
  if (!is_error()) return WireError::kUnsupported;
  const std::span<const uint8_t> q = payload();
  if (q.size() < kIpv4MinHeaderLength) return WireError::kTooShort;
  if ((q[0] >> 4) != 4) return WireError::kBadVersion;
  const size_t ihl = size_t{q[0] & 0x0Fu} * 4;
  if (ihl < kIpv4MinHeaderLength) return WireError::kBadHeaderLength;
  if (q.size() < ihl + 8) return WireError::kTruncated;
  IcmpQuote r;
  r.src = Ipv4Address::load(q.data() + 12);
  r.dst = Ipv4Address::load(q.data() + 16);
  r.protocol = q[9];
  r.header = q.first(ihl);
  r.transport = q.subspan(ihl);
  return r;
}

size_t IcmpRepr::emit(std::span<uint8_t> out) const {
  const size_t total = total_length();
  if (out.size() < total) return 0;
  uint8_t* p = out.data();
  // The payload may sit anywhere, even already in place or overlapping.
  if (!payload.empty() && payload.data() != p + kIcmpHeaderLength) {
    std::memmove(p + kIcmpHeaderLength, payload.data(), payload.size());
  }
  p[0] = type;
  p[1] = code;
  store_be16(p + 2, 0);
  store_be32(p + 4, rest);
  store_be16(p + 2, internet_checksum(out.first(total)));
  return total;
}

bool IcmpRepr::operator==(const IcmpRepr& o) const {
  return type == o.type && code == o.code && rest == o.rest &&
         std::equal(payload.begin(), payload.end(), o.payload.begin(), o.payload.end());
}

std::span<const uint8_t> icmp_error_quote(std::span<const uint8_t> offending,
                                          size_t error_ip_header_length) {
  const size_t overhead = error_ip_header_length + kIcmpHeaderLength;
  const size_t room = kIcmpErrorMaxDatagram > overhead ? kIcmpErrorMaxDatagram - overhead : 0;
  return offending.first(std::min(offending.size(), room));
}

bool icmp_echo_request_to_reply(std::span<uint8_t> message) {
  if (message.size() < kIcmpHeaderLength || message[0] != icmptype::kEchoRequest) return false;
  uint8_t* p = message.data();
  const uint16_t old_word = load_be16(p);
  p[0] = icmptype::kEchoReply;
  store_be16(p + 2, checksum_update16(load_be16(p + 2), old_word, load_be16(p)));
  return true;
}

}  // namespace inlet::wire

// ICMP for IPv4 (RFC 792, RFC 1122 3.2.2, RFC 1812 4.3): a checked view of a
// message with its checksum, the quoted datagram inside error messages, and a
// Repr that emits echo requests/replies and error messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/result.h"

namespace inlet::wire {

namespace icmptype {
inline constexpr uint8_t kEchoReply = 0;
inline constexpr uint8_t kDestUnreachable = 3;
inline constexpr uint8_t kSourceQuench = 4;
inline constexpr uint8_t kRedirect = 5;
inline constexpr uint8_t kEchoRequest = 8;
inline constexpr uint8_t kRouterAdvertisement = 9;
inline constexpr uint8_t kRouterSolicitation = 10;
inline constexpr uint8_t kTimeExceeded = 11;
inline constexpr uint8_t kParameterProblem = 12;
inline constexpr uint8_t kTimestamp = 13;
inline constexpr uint8_t kTimestampReply = 14;
inline constexpr uint8_t kInfoRequest = 15;
inline constexpr uint8_t kInfoReply = 16;
inline constexpr uint8_t kAddressMaskRequest = 17;
inline constexpr uint8_t kAddressMaskReply = 18;
}  // namespace icmptype

namespace icmpcode {
// Destination unreachable (RFC 792, RFC 1122 3.2.2.1, RFC 1812 5.2.7.1).
inline constexpr uint8_t kNetUnreachable = 0;
inline constexpr uint8_t kHostUnreachable = 1;
inline constexpr uint8_t kProtocolUnreachable = 2;
inline constexpr uint8_t kPortUnreachable = 3;
inline constexpr uint8_t kFragmentationNeeded = 4;  // with the next-hop MTU (RFC 1191)
inline constexpr uint8_t kSourceRouteFailed = 5;
inline constexpr uint8_t kNetUnknown = 6;
inline constexpr uint8_t kHostUnknown = 7;
inline constexpr uint8_t kSourceHostIsolated = 8;
inline constexpr uint8_t kNetProhibited = 9;
inline constexpr uint8_t kHostProhibited = 10;
inline constexpr uint8_t kNetUnreachableForTos = 11;
inline constexpr uint8_t kHostUnreachableForTos = 12;
inline constexpr uint8_t kAdminProhibited = 13;
inline constexpr uint8_t kHostPrecedenceViolation = 14;
inline constexpr uint8_t kPrecedenceCutoff = 15;
// Time exceeded.
inline constexpr uint8_t kTtlExceeded = 0;
inline constexpr uint8_t kReassemblyTimeExceeded = 1;
// Parameter problem.
inline constexpr uint8_t kPointerIndicatesError = 0;
inline constexpr uint8_t kMissingRequiredOption = 1;
inline constexpr uint8_t kBadLength = 2;
// Redirect.
inline constexpr uint8_t kRedirectNet = 0;
inline constexpr uint8_t kRedirectHost = 1;
inline constexpr uint8_t kRedirectTosNet = 2;
inline constexpr uint8_t kRedirectTosHost = 3;
}  // namespace icmpcode

inline constexpr size_t kIcmpHeaderLength = 8;
// RFC 1812 4.3.2.3: an error message, IP header included, stays within 576 bytes.
inline constexpr size_t kIcmpErrorMaxDatagram = 576;

constexpr bool icmp_is_error(uint8_t type) {
  return type == icmptype::kDestUnreachable || type == icmptype::kSourceQuench ||
         type == icmptype::kRedirect || type == icmptype::kTimeExceeded ||
         type == icmptype::kParameterProblem;
}

// The start of the datagram quoted in an error message (RFC 792: its IP
// header and at least 8 bytes of its payload). The quoted header is not
// checksum-checked: routers may have changed it (RFC 1812 4.3.2.3).
struct IcmpQuote {
  Ipv4Address src;
  Ipv4Address dst;
  uint8_t protocol = 0;
  std::span<const uint8_t> header;     // the quoted IP header, options included
  std::span<const uint8_t> transport;  // what follows it, at least 8 bytes
  // The ports of a quoted TCP or UDP header.
  uint16_t src_port() const { return load_be16(transport.data()); }
  uint16_t dst_port() const { return load_be16(transport.data() + 2); }
  // The sequence number of a quoted TCP header (RFC 5927).
  uint32_t tcp_seq() const { return load_be32(transport.data() + 4); }
};

class IcmpView {
 public:
  // `message` is the whole ICMP message (the IPv4 payload). kTooShort below 8
  // bytes; kBadChecksum unless the sum over the message is right or
  // `checksum` is kSkip.
  static WireResult<IcmpView> parse(std::span<const uint8_t> message,
                                    ChecksumMode checksum = ChecksumMode::kVerify);

  uint8_t type() const { return bytes_[0]; }
  uint8_t code() const { return bytes_[1]; }
  uint16_t checksum() const { return load_be16(bytes_.data() + 2); }
  // The second 32-bit word, whose meaning depends on the type.
  uint32_t rest_of_header() const { return load_be32(bytes_.data() + 4); }
  // Echo, timestamp, info and address mask messages.
  uint16_t echo_ident() const { return load_be16(bytes_.data() + 4); }
  uint16_t echo_seq() const { return load_be16(bytes_.data() + 6); }
  // Fragmentation needed (RFC 1191): the next-hop MTU, 0 from old routers.
  uint16_t next_hop_mtu() const { return load_be16(bytes_.data() + 6); }
  // Parameter problem: the offset of the offending byte.
  uint8_t parameter_pointer() const { return bytes_[4]; }
  // Redirect: the gateway to use.
  Ipv4Address gateway() const { return Ipv4Address::load(bytes_.data() + 4); }
  bool is_error() const { return icmp_is_error(type()); }

  // After the 8-byte header: echo data, or the quoted datagram of an error.
  std::span<const uint8_t> payload() const { return bytes_.subspan(kIcmpHeaderLength); }
  std::span<const uint8_t> bytes() const { return bytes_; }

  // The quoted datagram of an error message: kUnsupported if this is not an
  // error type, kTooShort under 20 bytes, kBadVersion, kBadHeaderLength (IHL
  // below 5), kTruncated when fewer than IHL*4 + 8 bytes are quoted.
  WireResult<IcmpQuote> quote() const;

 private:
  explicit IcmpView(std::span<const uint8_t> b) : bytes_(b) {}
  std::span<const uint8_t> bytes_;
};

struct IcmpRepr {
  uint8_t type = 0;
  uint8_t code = 0;
  uint32_t rest = 0;                  // the rest-of-header word
  std::span<const uint8_t> payload;  // copied after the header (may already be there)

  static IcmpRepr from(const IcmpView& v) {
    return {v.type(), v.code(), v.rest_of_header(), v.payload()};
  }
  static IcmpRepr echo_request(uint16_t ident, uint16_t seq, std::span<const uint8_t> data) {
    return {icmptype::kEchoRequest, 0, (uint32_t{ident} << 16) | seq, data};
  }
  static IcmpRepr echo_reply(uint16_t ident, uint16_t seq, std::span<const uint8_t> data) {
    return {icmptype::kEchoReply, 0, (uint32_t{ident} << 16) | seq, data};
  }
  // `quote` is the offending datagram from its IP header on; trim it with
  // icmp_error_quote first.
  static IcmpRepr dest_unreachable(uint8_t code, std::span<const uint8_t> quote,
                                   uint16_t next_hop_mtu = 0) {
    return {icmptype::kDestUnreachable, code, next_hop_mtu, quote};
  }
  static IcmpRepr time_exceeded(uint8_t code, std::span<const uint8_t> quote) {
    return {icmptype::kTimeExceeded, code, 0, quote};
  }
  static IcmpRepr parameter_problem(uint8_t pointer, std::span<const uint8_t> quote) {
    return {icmptype::kParameterProblem, icmpcode::kPointerIndicatesError,
            uint32_t{pointer} << 24, quote};
  }

  static constexpr size_t header_length() { return kIcmpHeaderLength; }
  size_t total_length() const { return kIcmpHeaderLength + payload.size(); }
  // Writes header and payload with the checksum over both. Returns
  // total_length(), or 0 (writing nothing) if `out` is shorter.
  size_t emit(std::span<uint8_t> out) const;
  bool operator==(const IcmpRepr& o) const;
};

// How much of an offending datagram an error message quotes: as much as
// keeps the error within 576 bytes (RFC 1812 4.3.2.3), given the length of
// the IP header the error itself will carry.
std::span<const uint8_t> icmp_error_quote(std::span<const uint8_t> offending,
                                          size_t error_ip_header_length = 20);

// Turns an echo request in a buffer into its reply (type 8 -> 0) with an
// RFC 1624 checksum update; false, changing nothing, if it is not a request.
bool icmp_echo_request_to_reply(std::span<uint8_t> message);

}  // namespace inlet::wire

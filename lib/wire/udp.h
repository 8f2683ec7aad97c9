// UDP headers (RFC 768, RFC 1122 4.1.3): a checked view whose length field
// fits the bytes given, checksum verification with the IPv4 pseudo-header,
// and a Repr that emits the header and its checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/bytes.h"
#include "wire/result.h"

namespace inlet::wire {

inline constexpr size_t kUdpHeaderLength = 8;

class UdpView {
 public:
  // `datagram` is the IPv4 payload. kTooShort below 8 bytes; kBadLength if
  // the length field is below 8 or above the bytes given. Bytes past the
  // length field (allowed; the kernel trims them) are outside the view.
  static WireResult<UdpView> parse(std::span<const uint8_t> datagram);
  // The same, then kBadChecksum unless checksum_ok(src, dst).
  static WireResult<UdpView> parse(std::span<const uint8_t> datagram, Ipv4Address src,
                                   Ipv4Address dst);

  uint16_t src_port() const { return load_be16(bytes_.data()); }
  uint16_t dst_port() const { return load_be16(bytes_.data() + 2); }
  uint16_t length() const { return load_be16(bytes_.data() + 4); }
  uint16_t checksum() const { return load_be16(bytes_.data() + 6); }
  // RFC 768: a transmitted checksum of zero means the sender computed none.
  bool has_checksum() const { return checksum() != 0; }
  // True when there is no checksum or it verifies over the pseudo-header,
  // header and data.
  bool checksum_ok(Ipv4Address src, Ipv4Address dst) const;

  std::span<const uint8_t> payload() const { return bytes_.subspan(kUdpHeaderLength); }
  std::span<const uint8_t> bytes() const { return bytes_; }

 private:
  explicit UdpView(std::span<const uint8_t> b) : bytes_(b) {}
  std::span<const uint8_t> bytes_;
};

struct UdpRepr {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t payload_length = 0;

  static UdpRepr from(const UdpView& v) {
    return {v.src_port(), v.dst_port(), static_cast<uint16_t>(v.payload().size())};
  }
  static constexpr size_t header_length() { return kUdpHeaderLength; }
  size_t total_length() const { return kUdpHeaderLength + payload_length; }
  // Writes the header into out[0, 8) and the checksum over the pseudo-header,
  // header and the payload_length bytes already at out[8, ...); a computed
  // zero is sent as 0xFFFF. Returns 8, or 0 (writing nothing) if `out` is
  // shorter than total_length() or that exceeds 65535.
  size_t emit(std::span<uint8_t> out, Ipv4Address src, Ipv4Address dst) const;
  bool operator==(const UdpRepr&) const = default;
};

}  // namespace inlet::wire

// ARP for IPv4 over Ethernet (RFC 826): the only hardware/protocol pair inlet
// speaks. A view over the 28-byte packet and a Repr to build requests/replies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/bytes.h"
#include "wire/result.h"

namespace inlet::wire {

inline constexpr size_t kArpPacketLength = 28;  // Ethernet/IPv4 ARP
inline constexpr uint16_t kArpHardwareEthernet = 1;

enum class ArpOperation : uint16_t { kRequest = 1, kReply = 2 };

class ArpView {
 public:
  // Checks, in order: 8 fixed bytes (kTooShort); hardware type 1 and protocol
  // 0x0800 (kUnsupported); hlen 6 and plen 4 (kBadLength); 28 bytes
  // (kTooShort); operation request or reply (kUnsupported).
  static WireResult<ArpView> parse(std::span<const uint8_t> bytes);

  ArpOperation operation() const { return static_cast<ArpOperation>(load_be16(p() + 6)); }
  MacAddress sender_mac() const { return MacAddress::load(p() + 8); }
  Ipv4Address sender_ip() const { return Ipv4Address::load(p() + 14); }
  MacAddress target_mac() const { return MacAddress::load(p() + 18); }
  Ipv4Address target_ip() const { return Ipv4Address::load(p() + 24); }
  // Gratuitous ARP (RFC 5227 announce): sender and target IP are the same.
  bool is_gratuitous() const { return sender_ip() == target_ip(); }

  std::span<const uint8_t> bytes() const { return bytes_.first(kArpPacketLength); }

 private:
  explicit ArpView(std::span<const uint8_t> b) : bytes_(b) {}
  const uint8_t* p() const { return bytes_.data(); }
  std::span<const uint8_t> bytes_;
};

struct ArpRepr {
  ArpOperation operation = ArpOperation::kRequest;
  MacAddress sender_mac;
  Ipv4Address sender_ip;
  MacAddress target_mac;  // zero in a request
  Ipv4Address target_ip;

  static ArpRepr from(const ArpView& v) {
    return {v.operation(), v.sender_mac(), v.sender_ip(), v.target_mac(), v.target_ip()};
  }
  static constexpr size_t header_length() { return kArpPacketLength; }
  // Writes the 28-byte packet; returns 28, or 0 if `out` is shorter.
  size_t emit(std::span<uint8_t> out) const;
  bool operator==(const ArpRepr&) const = default;
};

}  // namespace inlet::wire

// Ethernet II frames (IEEE 802.3 clause 3 with an EtherType): the 14-byte
// header view, its Repr for emitting, in-place address edits, EtherTypes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/bytes.h"
#include "wire/result.h"

namespace inlet::wire {

namespace ethertype {
inline constexpr uint16_t kIpv4 = 0x0800;
inline constexpr uint16_t kArp = 0x0806;
inline constexpr uint16_t kVlan = 0x8100;   // IEEE 802.1Q C-tag
inline constexpr uint16_t kQinQ = 0x88A8;   // IEEE 802.1ad S-tag
inline constexpr uint16_t kIpv6 = 0x86DD;
// Values up to 1500 are an 802.3 length (LLC follows), not a type.
inline constexpr uint16_t kMaxLength = 1500;
inline constexpr uint16_t kMinType = 0x0600;
}  // namespace ethertype

inline constexpr size_t kEthernetHeaderLength = 14;
inline constexpr size_t kEthernetMinFrame = 60;  // without FCS; shorter frames are padded

class EthernetView {
 public:
  // kTooShort below 14 bytes.
  static WireResult<EthernetView> parse(std::span<const uint8_t> frame);

  MacAddress dst() const { return MacAddress::load(bytes_.data()); }
  MacAddress src() const { return MacAddress::load(bytes_.data() + 6); }
  uint16_t ethertype() const { return load_be16(bytes_.data() + 12); }
  // An 802.3 frame whose type field is a length (an LLC frame).
  bool is_length_field() const { return ethertype() < ethertype::kMinType; }

  static constexpr size_t header_length() { return kEthernetHeaderLength; }
  std::span<const uint8_t> payload() const { return bytes_.subspan(kEthernetHeaderLength); }
  std::span<const uint8_t> bytes() const { return bytes_; }

 private:
  explicit EthernetView(std::span<const uint8_t> b) : bytes_(b) {}
  std::span<const uint8_t> bytes_;
};

struct EthernetRepr {
  MacAddress dst;
  MacAddress src;
  uint16_t ethertype = 0;

  static EthernetRepr from(const EthernetView& v) { return {v.dst(), v.src(), v.ethertype()}; }
  static constexpr size_t header_length() { return kEthernetHeaderLength; }
  // Writes the 14-byte header; returns 14, or 0 if `out` is shorter.
  size_t emit(std::span<uint8_t> out) const;
  bool operator==(const EthernetRepr&) const = default;
};

// In-place edits of a frame already in a buffer; false if it is under 14 bytes.
bool ethernet_set_addresses(std::span<uint8_t> frame, MacAddress dst, MacAddress src);
bool ethernet_swap_addresses(std::span<uint8_t> frame);

}  // namespace inlet::wire

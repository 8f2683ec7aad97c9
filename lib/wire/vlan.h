// IEEE 802.1Q VLAN tags: the 4 bytes that follow an 0x8100 (or 802.1ad 0x88A8)
// EtherType — the TCI (priority, drop-eligible bit, VLAN id) and the inner
// EtherType — as a view and a Repr.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/bytes.h"
#include "wire/result.h"

namespace inlet::wire {

inline constexpr size_t kVlanTagLength = 4;
inline constexpr uint16_t kVlanIdPriorityOnly = 0x000;  // a priority tag, no VLAN
inline constexpr uint16_t kVlanIdReserved = 0xFFF;      // must not be used

constexpr uint16_t vlan_tci(uint8_t pcp, bool dei, uint16_t vid) {
  return static_cast<uint16_t>(((pcp & 0x7) << 13) | (dei ? 0x1000 : 0) | (vid & 0x0FFF));
}

class VlanView {
 public:
  // `bytes` starts after the outer EtherType. kTooShort below 4 bytes.
  static WireResult<VlanView> parse(std::span<const uint8_t> bytes);

  uint16_t tci() const { return load_be16(bytes_.data()); }
  uint8_t pcp() const { return static_cast<uint8_t>(tci() >> 13); }
  bool dei() const { return (tci() & 0x1000) != 0; }
  uint16_t vid() const { return tci() & 0x0FFF; }
  uint16_t ethertype() const { return load_be16(bytes_.data() + 2); }  // the inner type

  static constexpr size_t header_length() { return kVlanTagLength; }
  std::span<const uint8_t> payload() const { return bytes_.subspan(kVlanTagLength); }

 private:
  explicit VlanView(std::span<const uint8_t> b) : bytes_(b) {}
  std::span<const uint8_t> bytes_;
};

struct VlanRepr {
  uint8_t pcp = 0;  // 0..7
  bool dei = false;
  uint16_t vid = 0;  // 0..4095
  uint16_t ethertype = 0;

  static VlanRepr from(const VlanView& v) { return {v.pcp(), v.dei(), v.vid(), v.ethertype()}; }
  uint16_t tci() const { return vlan_tci(pcp, dei, vid); }
  static constexpr size_t header_length() { return kVlanTagLength; }
  // Writes TCI and inner EtherType; returns 4, or 0 if `out` is shorter.
  size_t emit(std::span<uint8_t> out) const;
  bool operator==(const VlanRepr&) const = default;
};

}  // namespace inlet::wire

// 802.1Q tag parse and emit.
#include "wire/vlan.h"

namespace inlet::wire {

WireResult<VlanView> VlanView::parse(std::span<const uint8_t> bytes) {
  if (bytes.size() < kVlanTagLength) return WireError::kTooShort;
  return VlanView(bytes);
}

size_t VlanRepr::emit(std::span<uint8_t> out) const {
  if (out.size() < kVlanTagLength) return 0;
  store_be16(out.data(), tci());
  store_be16(out.data() + 2, ethertype);
  return kVlanTagLength;
}

}  // namespace inlet::wire

// Ethernet II header parse and emit.
#include "wire/ethernet.h"

#include <cstring>

namespace inlet::wire {

WireResult<EthernetView> EthernetView::parse(std::span<const uint8_t> frame) {
  if (frame.size() < kEthernetHeaderLength) return WireError::kTooShort;
  return EthernetView(frame);
}

size_t EthernetRepr::emit(std::span<uint8_t> out) const {
  if (out.size() < kEthernetHeaderLength) return 0;
  dst.store(out.data());
  src.store(out.data() + 6);
  store_be16(out.data() + 12, ethertype);
  return kEthernetHeaderLength;
}

bool ethernet_set_addresses(std::span<uint8_t> frame, MacAddress dst, MacAddress src) {
  if (frame.size() < kEthernetHeaderLength) return false;
  dst.store(frame.data());
  src.store(frame.data() + 6);
  return true;
}

bool ethernet_swap_addresses(std::span<uint8_t> frame) {
  if (frame.size() < kEthernetHeaderLength) return false;
  uint8_t tmp[6];
  std::memcpy(tmp, frame.data(), 6);
  std::memcpy(frame.data(), frame.data() + 6, 6);
  std::memcpy(frame.data() + 6, tmp, 6);
  return true;
}

}  // namespace inlet::wire

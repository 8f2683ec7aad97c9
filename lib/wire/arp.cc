// Ethernet/IPv4 ARP parse and emit.
#include "wire/arp.h"

#include "wire/ethernet.h"

namespace inlet::wire {

WireResult<ArpView> ArpView::parse(std::span<const uint8_t> bytes) {
  if (bytes.size() < 8) return WireError::kTooShort;
  const uint8_t* p = bytes.data();
  if (load_be16(p) != kArpHardwareEthernet || load_be16(p + 2) != ethertype::kIpv4) {
    return WireError::kUnsupported;
  }
  if (p[4] != 6 || p[5] != 4) return WireError::kBadLength;
  if (bytes.size() < kArpPacketLength) return WireError::kTooShort;
  const uint16_t op = load_be16(p + 6);
  if (op != static_cast<uint16_t>(ArpOperation::kRequest) &&
      op != static_cast<uint16_t>(ArpOperation::kReply)) {
    return WireError::kUnsupported;
  }
  return ArpView(bytes);
}

size_t ArpRepr::emit(std::span<uint8_t> out) const {
  if (out.size() < kArpPacketLength) return 0;
  uint8_t* p = out.data();
  store_be16(p, kArpHardwareEthernet);
  store_be16(p + 2, ethertype::kIpv4);
  p[4] = 6;
  p[5] = 4;
  store_be16(p + 6, static_cast<uint16_t>(operation));
  sender_mac.store(p + 8);
  sender_ip.store(p + 14);
  target_mac.store(p + 18);
  target_ip.store(p + 24);
  return kArpPacketLength;
}

}  // namespace inlet::wire

// Interface: one network interface of a context — name, ifindex, MAC, MTU, its
// IPv4 addresses, the port queue under it and the transmit queue in front of
// that port (flushed once per poll).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/buffer_pool.h"
#include "core/port.h"
#include "wire/bytes.h"

namespace inlet::link {

struct InterfaceAddress {
  wire::Ipv4Address address;
  uint8_t prefix_length = 24;

  uint32_t mask() const { return prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - prefix_length); }
  bool contains(wire::Ipv4Address a) const {
    return (a.value() & mask()) == (address.value() & mask());
  }
  wire::Ipv4Address network() const { return wire::Ipv4Address(address.value() & mask()); }
  // Directed broadcast (none for /31 and /32, RFC 3021).
  std::optional<wire::Ipv4Address> broadcast() const {
    if (prefix_length >= 31) return std::nullopt;
    return wire::Ipv4Address(address.value() | ~mask());
  }
};

// A bounded FIFO of frames waiting for the port (the qdisc of a Linux device).
class TxQueue {
 public:
  explicit TxQueue(uint32_t capacity) : ring_(capacity == 0 ? 1 : capacity) {}
  // Takes the frame, or drops it (counted tx_dropped) when the queue is full.
  void enqueue(PacketRef frame, BufferPool& pool);
  // Hands queued frames to the port in order; what the port refuses stays.
  size_t flush(PortQueue& port);
  size_t size() const { return count_; }
  void clear() {
    for (PacketRef& p : ring_) p.reset();
    head_ = count_ = 0;
  }

 private:
  std::vector<PacketRef> ring_;
  size_t head_ = 0;
  size_t count_ = 0;
};

struct InterfaceConfig {
  std::string name;
  wire::MacAddress mac;
  uint32_t mtu = 1500;
  std::vector<InterfaceAddress> addresses;
};

class Interface {
 public:
  Interface(uint16_t ifindex, InterfaceConfig config, PortQueue* port, uint32_t tx_capacity)
      : ifindex_(ifindex), config_(std::move(config)), port_(port), tx_(tx_capacity) {}

  uint16_t ifindex() const { return ifindex_; }
  const std::string& name() const { return config_.name; }
  const wire::MacAddress& mac() const { return config_.mac; }
  uint32_t mtu() const { return config_.mtu; }
  const std::vector<InterfaceAddress>& addresses() const { return config_.addresses; }
  PortQueue* port() const { return port_; }
  TxQueue& tx() { return tx_; }

  bool has_address(wire::Ipv4Address a) const {
    for (const InterfaceAddress& ia : config_.addresses) {
      if (ia.address == a) return true;
    }
    return false;
  }
  bool is_directed_broadcast(wire::Ipv4Address a) const {
    for (const InterfaceAddress& ia : config_.addresses) {
      if (ia.broadcast() == a) return true;
    }
    return false;
  }
  // The address on the subnet of `peer`, else the first address, else 0.0.0.0.
  wire::Ipv4Address source_for(wire::Ipv4Address peer) const {
    for (const InterfaceAddress& ia : config_.addresses) {
      if (ia.contains(peer)) return ia.address;
    }
    return config_.addresses.empty() ? wire::kIpv4Any : config_.addresses.front().address;
  }
  const InterfaceAddress* on_link(wire::Ipv4Address a) const {
    for (const InterfaceAddress& ia : config_.addresses) {
      if (ia.contains(a)) return &ia;
    }
    return nullptr;
  }

 private:
  uint16_t ifindex_;
  InterfaceConfig config_;
  PortQueue* port_;
  TxQueue tx_;
};

}  // namespace inlet::link

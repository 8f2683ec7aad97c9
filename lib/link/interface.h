// Interface: one network interface of a context — name, ifindex, MAC, MTU, its
// IPv4 addresses, the port queue under it and the transmit queue in front of
// that port (flushed once per poll). An interface is a port (a device queue of
// its own), an 802.1Q sub-interface of another interface (no port: it sends
// through its parent, tagged), or a bridge device (no port: it sends through
// the bridge's member ports).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/alloc.h"
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
  Vector<PacketRef> ring_;
  size_t head_ = 0;
  size_t count_ = 0;
};

struct InterfaceConfig {
  std::string name;
  wire::MacAddress mac;
  uint32_t mtu = 1500;
  Vector<InterfaceAddress> addresses;
};

class Bridge;

enum class InterfaceKind : uint8_t {
  kPort,    // has a PortQueue and a transmit queue
  kVlan,    // 802.1Q sub-interface: transmits through parent(), tagged with vlan_id()
  kBridge,  // a bridge device: transmits through the bridge's member ports
};

class Interface {
 public:
  Interface(uint16_t ifindex, InterfaceConfig config, PortQueue* port, uint32_t tx_capacity)
      : ifindex_(ifindex), config_(std::move(config)), port_(port), tx_(tx_capacity) {}

  uint16_t ifindex() const { return ifindex_; }
  const std::string& name() const { return config_.name; }
  const wire::MacAddress& mac() const { return config_.mac; }
  uint32_t mtu() const { return config_.mtu; }
  const Vector<InterfaceAddress>& addresses() const { return config_.addresses; }
  PortQueue* port() const { return port_; }
  TxQueue& tx() { return tx_; }

  InterfaceKind kind() const { return kind_; }
  // kVlan: the interface the tag is pushed onto / popped from, and the VID.
  Interface* parent() const { return parent_; }
  uint16_t vlan_id() const { return vlan_id_; }
  // The 802.1Q sub-interface of this interface for `vid`, or nullptr.
  Interface* vlan(uint16_t vid) const {
    if (vlans_.empty()) return nullptr;
    auto it = vlans_.find(vid);
    return it == vlans_.end() ? nullptr : it->second;
  }
  // 802.1Q 6.9 "Admit Only VLAN-tagged frames": untagged and priority-tagged
  // frames received here are dropped (rx_vlan_dropped, VLAN_UNTAGGED_REFUSED).
  bool tagged_only() const { return tagged_only_; }
  void set_tagged_only(bool on) { tagged_only_ = on; }
  // Unicast frames for other MACs are taken as ours (InterfaceSpec).
  bool accept_any_destination() const { return accept_any_destination_; }
  void set_accept_any_destination(bool on) { accept_any_destination_ = on; }
  // The bridge this interface is a member port of, or nullptr.
  Bridge* bridge_port_of() const { return member_of_; }
  // kBridge: the bridge this interface is the device of.
  Bridge* bridge_device_of() const { return device_of_; }

  // Set-up only (LinkLayer).
  void make_vlan(Interface& parent, uint16_t vid) {
    kind_ = InterfaceKind::kVlan;
    parent_ = &parent;
    vlan_id_ = vid;
    parent.vlans_[vid] = this;
  }
  void make_bridge_device(Bridge& bridge) {
    kind_ = InterfaceKind::kBridge;
    device_of_ = &bridge;
  }
  void set_bridge_port_of(Bridge* bridge) { member_of_ = bridge; }

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
  InterfaceKind kind_ = InterfaceKind::kPort;
  Interface* parent_ = nullptr;
  uint16_t vlan_id_ = 0;
  bool tagged_only_ = false;
  bool accept_any_destination_ = false;
  Bridge* member_of_ = nullptr;
  Bridge* device_of_ = nullptr;
  FlatHashMap<uint16_t, Interface*> vlans_;  // VID -> sub-interface (set-up only)
};

}  // namespace inlet::link

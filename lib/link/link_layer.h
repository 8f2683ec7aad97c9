// LinkLayer: the interfaces of a context, Ethernet and 802.1Q demux (VLAN
// sub-interfaces), learning bridges, ARP (replies, requests, the neighbour
// table), Ethernet output, and the packet filter's rule set (evaluated by IP).
// Hands IPv4 upward through the NetworkReceiver it is given; never looks above IP.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "core/buffer_pool.h"
#include "core/clock.h"
#include "core/counters.h"
#include "core/features.h"
#include "core/layers.h"
#include "core/timer_wheel.h"
#include "core/trace.h"
#include "core/tunables.h"
#include "filter/filter.h"
#include "link/bridge.h"
#include "link/interface.h"
#include "link/neighbour.h"
#include "wire/arp.h"

namespace inlet::link {

class LinkLayer {
 public:
  LinkLayer(const Tunables& tunables, BufferPool& pool, Counters& counters, TimerWheel& timers,
            const Clock& clock, const Trace& trace);
  ~LinkLayer();

  Interface& add_interface(InterfaceConfig config, PortQueue* port);
  // An 802.1Q sub-interface of `parent` for VLAN `vid` (1..4094): no port of
  // its own; frames tagged `vid` on the parent are received as if on it, and
  // it transmits through the parent with the tag pushed. `config.mac` should
  // be the parent's. Errors: bad VID, a parent that is itself a VLAN, a VID
  // already taken, an MTU above the parent's.
#if INLET_WITH_VLAN
  absl::StatusOr<Interface*> add_vlan(Interface& parent, uint16_t vid, InterfaceConfig config);
#endif
  // A bridge over `members` (port interfaces, not VLANs, each in no other
  // bridge) with its own device interface made from `config` (addresses for
  // the stack sit there, as on Linux's br0). Frames received on a member are
  // forwarded by destination MAC; those for the stack arrive on the device.
#if INLET_WITH_BRIDGE
  absl::StatusOr<Interface*> add_bridge(Vector<Interface*> members, InterfaceConfig config);
#endif
  const Vector<Unique<Bridge>>& bridges() const { return bridges_; }
  Interface* interface(uint16_t ifindex);
  const Interface* interface(uint16_t ifindex) const {
    return ifindex == 0 || ifindex > interfaces_.size() ? nullptr : interfaces_[ifindex - 1].get();
  }
  const Vector<Unique<Interface>>& interfaces() const { return interfaces_; }
  // The interface that owns address `a`, or nullptr.
  Interface* interface_with_address(wire::Ipv4Address a) const;
  // Whether `a` is one of this stack's addresses (the per-packet question:
  // a flat array of up to kFastLocalAddresses, no pointer chasing).
  bool is_local_address(wire::Ipv4Address a) const {
    if (local_count_ > kFastLocalAddresses) return interface_with_address(a) != nullptr;
    for (uint32_t i = 0; i < local_count_; ++i) {
      if (local_[i] == a.value()) return true;
    }
    return false;
  }
  void set_network_receiver(NetworkReceiver* receiver) { network_ = receiver; }

  // Receive: a burst of frames from one interface's port.
  void input(Interface& in, std::span<PacketRef> frames);
  // Transmit an IPv4 packet (data at the IPv4 header) toward `next_hop` on
  // `out`: resolved through ARP, waiting in the neighbour entry if needed.
  void output_ipv4(PacketRef packet, Interface& out, wire::Ipv4Address next_hop);
  // Hands every interface's queued frames to its port (once per poll).
  void flush();
  // Returns every buffer the layer holds (queued frames, ARP holds).
  void shutdown();

  NeighbourTable& neighbours() { return neighbours_; }

#if INLET_WITH_FILTER
  // The packet filter (nullptr when none is set). The IP layer evaluates it
  // at PREROUTING, INPUT and FORWARD (see docs/filter.md).
  filter::RuleSet* filter() { return filter_.get(); }
  const filter::RuleSet* filter() const { return filter_.get(); }
  void set_filter(Unique<filter::RuleSet> rules) { filter_ = std::move(rules); }
#endif

 private:
  void drop(PacketRef&& p, DropReason reason);
  void arp_input(Interface& in, PacketRef packet);
  void send_arp(Interface& out, wire::ArpOperation op, wire::MacAddress dst_mac,
                wire::MacAddress target_mac, wire::Ipv4Address target_ip,
                wire::Ipv4Address sender_ip);
  void send_frame(Interface& out, PacketRef packet, wire::MacAddress dst, uint16_t ethertype);
  // Frame demux on `dev` (data at the Ethernet header): a VLAN sub-interface,
  // the tagged-only check, the bridge, or local delivery.
  void receive_on(Interface& dev, PacketRef packet, absl::Time now);
  // Frames for the stack on `in`: destination MAC, the one allowed tag, the
  // EtherType -> ARP / IPv4.
  void deliver(Interface& in, PacketRef packet);
  void bridge_input(Bridge& bridge, Interface& ingress, PacketRef packet, absl::Time now);
  // Sends the frame to every member of `bridge` but `except` (clones sharing
  // the payload, the frame itself to the last); BRIDGE_NO_EGRESS when there
  // is no other member.
  void flood(Bridge& bridge, const Interface* except, PacketRef packet);
  // The same with clones only: the caller keeps the frame (local delivery).
  void flood_copies(Bridge& bridge, const Interface* except, const PacketRef& packet);
  void send_clone(Interface& port, const PacketRef& packet);
  // False when the frame exceeds the port's MTU + 18 (one tag).
  static bool fits(const Interface& port, const Packet& frame);
  // Puts a finished frame (data at the Ethernet header) on its way out of
  // `dev`: a VLAN's parent, a bridge's ports, or the port's transmit queue.
  void transmit(Interface& dev, PacketRef packet);
  void enqueue(Interface& port, PacketRef packet);
  void age_neighbours();

  const Tunables& tunables_;
  BufferPool& pool_;
  Counters& counters_;
  TimerWheel& timers_;
  const Clock& clock_;
  const Trace& trace_;
  NetworkReceiver* network_ = nullptr;
  Vector<Unique<Interface>> interfaces_;
  // Every interface's addresses, for is_local_address (no heap: beyond the
  // array it asks interface_with_address instead).
  static constexpr uint32_t kFastLocalAddresses = 16;
  std::array<uint32_t, kFastLocalAddresses> local_{};
  uint32_t local_count_ = 0;
  void note_addresses(const Interface& i);
  NeighbourTable neighbours_;
  Timer neighbour_timer_;
  Vector<Unique<Bridge>> bridges_;
#if INLET_WITH_FILTER
  Unique<filter::RuleSet> filter_;
#endif
};

}  // namespace inlet::link

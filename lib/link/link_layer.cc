#include "link/link_layer.h"

#include <string>
#include <utility>

#include "wire/arp.h"
#include "wire/ethernet.h"
#include "wire/vlan.h"

namespace inlet::link {

namespace {

NeighbourConfig neighbour_config(const Tunables& t) {
  NeighbourConfig c;
  c.max_entries = static_cast<uint32_t>(t.get(Tunable::kNeighGcThresh3));
  c.reachable_time = absl::Milliseconds(t.get(Tunable::kNeighBaseReachableMs));
  c.stale_time = absl::Seconds(t.get(Tunable::kNeighGcStaleTime));
  c.retrans_time = absl::Milliseconds(t.get(Tunable::kNeighRetransMs));
  c.max_probes = static_cast<uint32_t>(t.get(Tunable::kNeighMcastSolicit));
  c.unresolved_queue = static_cast<uint32_t>(t.get(Tunable::kNeighUnresQlen));
  return c;
}

// ARP sender addresses that must never enter the table (Linux arp_process:
// multicast/loopback senders are ignored; 0.0.0.0 is an RFC 5227 probe).
bool bogus_sender(wire::Ipv4Address ip, wire::MacAddress mac) {
  return ip.is_multicast() || ip.is_loopback() || ip.is_limited_broadcast() || ip.is_class_e() ||
         mac.is_multicast() || mac.is_zero();
}

// Linux neigh.default.locktime (1 s): within a second of its last
// confirmation a reachable entry does not move to another MAC, except for a
// gratuitous ARP (sender == target), so a spoofer racing the real neighbour
// cannot flip it (Linux arp_process: override only after locktime or garp).
constexpr absl::Duration kNeighLocktime = absl::Seconds(1);

}  // namespace

LinkLayer::LinkLayer(const Tunables& tunables, BufferPool& pool, Counters& counters,
                     TimerWheel& timers, const Clock& clock, const Trace& trace)
    : tunables_(tunables),
      pool_(pool),
      counters_(counters),
      timers_(timers),
      clock_(clock),
      trace_(trace),
      neighbours_(neighbour_config(tunables), pool, counters) {
  neighbour_timer_.set_callback([this] { age_neighbours(); });
}

LinkLayer::~LinkLayer() { shutdown(); }

Interface& LinkLayer::add_interface(InterfaceConfig config, PortQueue* port) {
  const uint16_t ifindex = static_cast<uint16_t>(interfaces_.size() + 1);
  interfaces_.push_back(allocate_unique<Interface>(
      ifindex, std::move(config), port, static_cast<uint32_t>(tunables_.get(Tunable::kTxRingSize))));
  note_addresses(*interfaces_.back());
  if (!neighbour_timer_.armed()) {
    timers_.arm(neighbour_timer_, clock_.now() + neighbours_.config().retrans_time);
  }
  return *interfaces_.back();
}

#if INLET_WITH_VLAN
absl::StatusOr<Interface*> LinkLayer::add_vlan(Interface& parent, uint16_t vid,
                                               InterfaceConfig config) {
  if (vid == wire::kVlanIdPriorityOnly || vid >= wire::kVlanIdReserved) {
    return absl::InvalidArgumentError("VLAN id " + std::to_string(vid) + " is not within 1 to 4094");
  }
  if (parent.kind() == InterfaceKind::kVlan) {
    return absl::InvalidArgumentError("stacked VLANs (QinQ) are not supported: " + parent.name() +
                                      " is itself a VLAN");
  }
  if (parent.vlan(vid) != nullptr) {
    return absl::AlreadyExistsError(parent.name() + " already has VLAN " + std::to_string(vid));
  }
  if (config.mtu > parent.mtu()) {
    return absl::InvalidArgumentError("MTU " + std::to_string(config.mtu) + " exceeds " +
                                      parent.name() + "'s " + std::to_string(parent.mtu()));
  }
  const uint16_t ifindex = static_cast<uint16_t>(interfaces_.size() + 1);
  interfaces_.push_back(allocate_unique<Interface>(ifindex, std::move(config), nullptr, 1));
  Interface& sub = *interfaces_.back();
  note_addresses(sub);
  sub.make_vlan(parent, vid);
  return &sub;
}

#endif  // INLET_WITH_VLAN

#if INLET_WITH_BRIDGE
absl::StatusOr<Interface*> LinkLayer::add_bridge(Vector<Interface*> members,
                                                 InterfaceConfig config) {
  if (members.empty()) return absl::InvalidArgumentError("a bridge needs at least one port");
  for (size_t i = 0; i < members.size(); ++i) {
    Interface* m = members[i];
    if (m == nullptr) return absl::InvalidArgumentError("no such interface");
    if (m->kind() != InterfaceKind::kPort) {
      return absl::InvalidArgumentError(m->name() + " is not a port (VLANs and bridges cannot be bridged)");
    }
    if (m->bridge_port_of() != nullptr) {
      return absl::InvalidArgumentError(m->name() + " is already a bridge port");
    }
    for (size_t j = 0; j < i; ++j) {
      if (members[j] == m) return absl::InvalidArgumentError(m->name() + " is listed twice");
    }
    if (config.mtu > m->mtu()) {
      return absl::InvalidArgumentError("MTU " + std::to_string(config.mtu) + " exceeds " +
                                        m->name() + "'s " + std::to_string(m->mtu()));
    }
  }
  const uint16_t ifindex = static_cast<uint16_t>(interfaces_.size() + 1);
  interfaces_.push_back(allocate_unique<Interface>(ifindex, std::move(config), nullptr, 1));
  Interface& device = *interfaces_.back();
  note_addresses(device);
  BridgeConfig bc;
  bc.fdb_max = static_cast<uint32_t>(tunables_.get(Tunable::kBridgeFdbMax));
  bc.ageing_time = absl::Seconds(tunables_.get(Tunable::kBridgeAgeingTime));
  bridges_.push_back(allocate_unique<Bridge>(bc, device, members, counters_));
  Bridge& bridge = *bridges_.back();
  device.make_bridge_device(bridge);
  for (Interface* m : members) m->set_bridge_port_of(&bridge);
  // Garbage-collects aged entries once a second; lookups ignore an aged
  // entry at once, so the period only bounds how long its slot stays taken.
  bridge.timer().set_callback([this, &bridge] {
    const absl::Time now = clock_.now();
    bridge.age(now);
    timers_.arm(bridge.timer(), now + absl::Seconds(1));
  });
  timers_.arm(bridge.timer(), clock_.now() + absl::Seconds(1));
  return &device;
}
#endif  // INLET_WITH_BRIDGE

Interface* LinkLayer::interface(uint16_t ifindex) {
  if (ifindex == 0 || ifindex > interfaces_.size()) return nullptr;
  return interfaces_[ifindex - 1].get();
}

void LinkLayer::note_addresses(const Interface& i) {
  for (const InterfaceAddress& ia : i.addresses()) {
    if (local_count_ < kFastLocalAddresses) local_[local_count_] = ia.address.value();
    ++local_count_;
  }
}

Interface* LinkLayer::interface_with_address(wire::Ipv4Address a) const {
  for (const auto& i : interfaces_) {
    if (i->has_address(a)) return i.get();
  }
  return nullptr;
}

void LinkLayer::drop(PacketRef&& p, DropReason reason) {
  trace_.drop(*p, reason);
  pool_.free(std::move(p), reason);
}

void LinkLayer::input(Interface& in, std::span<PacketRef> frames) {
  const absl::Time now = clock_.now();
  const int64_t now_ns = absl::ToUnixNanos(now);
  for (PacketRef& slot : frames) {
    if (!slot) continue;
    PacketRef p = std::move(slot);
    counters_.add(Counter::rx_packets);
    counters_.add(Counter::rx_bytes, p->frame_length());
    p->ifindex = in.ifindex();
    if (p->rx_timestamp_ns == 0) p->rx_timestamp_ns = now_ns;
    trace_(TracePoint::kLinkIn, *p, in.name());

    if (!wire::EthernetView::parse(p->bytes())) {
      drop(std::move(p), DropReason::kFrameTooShort);
      continue;
    }
    // MTU + Ethernet header + one VLAN tag (FCS is not part of the frame). A
    // super-frame (TSO from a TAP) is many segments, each within the MTU.
    if (p->gso_size == 0 &&
        p->frame_length() > in.mtu() + wire::kEthernetHeaderLength + wire::kVlanTagLength) {
      drop(std::move(p), DropReason::kFrameTooLong);
      continue;
    }
    receive_on(in, std::move(p), now);
  }
  if (network_ != nullptr) network_->end_of_burst();
}

void LinkLayer::receive_on(Interface& dev, PacketRef p, absl::Time now) {
  auto eth = wire::EthernetView::parse(p->bytes());
  // An 802.1Q C-tag whose VID has a sub-interface here: the frame is the
  // sub-interface's (as Linux's vlan_do_receive, ahead of any bridge).
#if INLET_WITH_VLAN
  bool tagged = false;
  uint16_t vid = 0;
  if (eth->ethertype() == wire::ethertype::kVlan || eth->ethertype() == wire::ethertype::kQinQ) {
    if (auto tag = wire::VlanView::parse(eth->payload())) {
      tagged = true;
      vid = tag->vid();
      const bool stacked = tag->ethertype() == wire::ethertype::kVlan ||
                           tag->ethertype() == wire::ethertype::kQinQ;
      Interface* sub = eth->ethertype() == wire::ethertype::kVlan && !stacked && vid != 0
                           ? dev.vlan(vid)
                           : nullptr;
      if (sub != nullptr) {
        if (p->gso_size == 0 &&
            p->frame_length() > sub->mtu() + wire::kEthernetHeaderLength + wire::kVlanTagLength) {
          drop(std::move(p), DropReason::kFrameTooLong);
          return;
        }
        p->ifindex = sub->ifindex();
        deliver(*sub, std::move(p));
        return;
      }
    }
  }
  // 802.1Q 6.9 "Admit Only VLAN-tagged frames": priority-tagged count as untagged.
  if (dev.tagged_only() && (!tagged || vid == wire::kVlanIdPriorityOnly)) {
    drop(std::move(p), DropReason::kVlanUntaggedRefused);
    return;
  }
#else
  (void)eth;
#endif
#if INLET_WITH_BRIDGE
  if (Bridge* bridge = dev.bridge_port_of()) {
    if (p->chain != nullptr) {
      drop(std::move(p), DropReason::kGsoUnsupported);  // a bridge does not segment (GSO)
      return;
    }
    bridge_input(*bridge, dev, std::move(p), now);
    return;
  }
#else
  (void)now;
#endif
  deliver(dev, std::move(p));
}

void LinkLayer::deliver(Interface& in, PacketRef p) {
  auto eth = wire::EthernetView::parse(p->bytes());
  const wire::MacAddress dst = eth->dst();
#if INLET_WITH_BRIDGE
  const Bridge* bridge = in.bridge_device_of();
  if (dst == in.mac() || (bridge != nullptr && bridge->is_local_mac(dst))) {
#else
  if (dst == in.mac()) {
#endif
    p->pkt_type = PacketType::kHost;
  } else if (dst.is_broadcast()) {
    p->pkt_type = PacketType::kBroadcast;
  } else if (dst.is_multicast()) {
    p->pkt_type = PacketType::kMulticast;
  } else if (in.accept_any_destination() ||
             (in.parent() != nullptr && in.parent()->accept_any_destination())) {
    // Another host's frame taken in (InterfaceSpec::accept_any_destination):
    // it stays OTHERHOST, so IP delivers it only when the IP destination is
    // ours and never forwards it or answers it with an ICMP error.
    p->pkt_type = PacketType::kOtherHost;
  } else {
    drop(std::move(p), DropReason::kOtherHost);
    return;
  }
  const uint16_t outer = eth->ethertype();
  uint16_t type = outer;
  p->pull(wire::kEthernetHeaderLength);
#if INLET_WITH_VLAN
  if (type == wire::ethertype::kVlan || type == wire::ethertype::kQinQ) {
    auto tag = wire::VlanView::parse(p->bytes());
    if (!tag) {
      drop(std::move(p), DropReason::kVlanMalformed);
      return;
    }
    if (tag->ethertype() == wire::ethertype::kVlan || tag->ethertype() == wire::ethertype::kQinQ) {
      drop(std::move(p), DropReason::kVlanStacked);
      return;
    }
    p->vlan_present = true;
    p->vlan_tci = tag->tci();
    // VLAN 0 is a priority tag (802.1Q 9.6): the frame belongs to `in`. Any
    // other VID must be the one of the sub-interface the frame was given to.
    const bool own_vlan = in.kind() == InterfaceKind::kVlan && outer == wire::ethertype::kVlan &&
                          tag->vid() == in.vlan_id();
    if (tag->vid() != wire::kVlanIdPriorityOnly && !own_vlan) {
      drop(std::move(p), DropReason::kVlanNotConfigured);
      return;
    }
    type = tag->ethertype();
    p->pull(wire::kVlanTagLength);
  }
#else
  (void)outer;
#endif
  p->set_l3_here();
  switch (type) {
    case wire::ethertype::kIpv4:
      if (network_ == nullptr) {
        drop(std::move(p), DropReason::kUnknownEtherType);
      } else {
        network_->receive_ipv4(std::move(p), in);
      }
      break;
    case wire::ethertype::kArp:
      arp_input(in, std::move(p));
      break;
    case wire::ethertype::kIpv6:
      drop(std::move(p), DropReason::kIpv6NotSupported);
      break;
    default:
      drop(std::move(p), DropReason::kUnknownEtherType);
      break;
  }
}

#if INLET_WITH_BRIDGE
void LinkLayer::bridge_input(Bridge& bridge, Interface& ingress, PacketRef p, absl::Time now) {
  auto eth = wire::EthernetView::parse(p->bytes());
  const BridgeDecision d = bridge.receive(ingress, eth->src(), eth->dst(), now);
  using Kind = BridgeDecision::Kind;
  switch (d.kind) {
    case Kind::kBadSource:
      drop(std::move(p), DropReason::kBridgeInvalidSource);
      return;
    case Kind::kSamePort:
      drop(std::move(p), DropReason::kBridgeSamePort);
      return;
    case Kind::kLocal:
      break;
    case Kind::kForward:
      if (!fits(*d.egress, *p)) {
        drop(std::move(p), DropReason::kBridgeTooBig);
        return;
      }
      counters_.add(Counter::BridgeForwarded);
      enqueue(*d.egress, std::move(p));
      return;
    case Kind::kFlood:
      counters_.add(Counter::BridgeFloods);
      if (!d.local) {
        flood(bridge, &ingress, std::move(p));
        return;
      }
      flood_copies(bridge, &ingress, p);
      break;
  }
  // For the stack: as if received on the bridge device.
  Interface& device = bridge.device();
  p->ifindex = device.ifindex();
  receive_on(device, std::move(p), now);
}

#endif  // INLET_WITH_BRIDGE

bool LinkLayer::fits(const Interface& port, const Packet& frame) {
  return frame.length() <= port.mtu() + wire::kEthernetHeaderLength + wire::kVlanTagLength;
}

void LinkLayer::send_clone(Interface& port, const PacketRef& frame) {
  PacketRef copy = pool_.clone(frame);
  if (!copy) {
    trace_.drop(*frame.get(), DropReason::kPoolExhausted);
    counters_.drop(DropReason::kPoolExhausted);  // out of descriptors (alloc_failures too)
    return;
  }
  enqueue(port, std::move(copy));
}

#if INLET_WITH_BRIDGE
void LinkLayer::flood(Bridge& bridge, const Interface* except, PacketRef frame) {
  // Clones (sharing the payload) for all but the last member; the frame itself
  // goes to the last one.
  Interface* last = nullptr;
  size_t targets = 0;
  for (Interface* m : bridge.members()) {
    if (m == except) continue;
    ++targets;
    if (!fits(*m, *frame.get())) {
      trace_.drop(*frame.get(), DropReason::kBridgeTooBig);
      counters_.drop(DropReason::kBridgeTooBig);  // this member gets no copy
      continue;
    }
    if (last != nullptr) send_clone(*last, frame);
    last = m;
  }
  if (last != nullptr) {
    enqueue(*last, std::move(frame));
  } else if (targets == 0) {
    drop(std::move(frame), DropReason::kBridgeNoEgress);
  }
  // else: every member refused it as too big (counted per member); `frame` is released.
}

void LinkLayer::flood_copies(Bridge& bridge, const Interface* except, const PacketRef& frame) {
  for (Interface* m : bridge.members()) {
    if (m == except) continue;
    if (fits(*m, *frame.get())) {
      send_clone(*m, frame);
    } else {
      trace_.drop(*frame.get(), DropReason::kBridgeTooBig);
      counters_.drop(DropReason::kBridgeTooBig);
    }
  }
}
#endif  // INLET_WITH_BRIDGE

void LinkLayer::enqueue(Interface& port, PacketRef p) {
  p->ifindex = port.ifindex();
  counters_.add(Counter::tx_packets);
  counters_.add(Counter::tx_bytes, p->frame_length());
  trace_(TracePoint::kLinkOut, *p, port.name());
  port.tx().enqueue(std::move(p), pool_);
}

void LinkLayer::transmit(Interface& dev, PacketRef p) {
  switch (dev.kind()) {
    case InterfaceKind::kPort:
      enqueue(dev, std::move(p));
      return;
    case InterfaceKind::kVlan:
#if INLET_WITH_VLAN
      transmit(*dev.parent(), std::move(p));  // the tag is already in the frame
#endif
      return;  // (no VLAN interface exists without INLET_WITH_VLAN)
    case InterfaceKind::kBridge: {
#if INLET_WITH_BRIDGE
      Bridge& bridge = *dev.bridge_device_of();
      const wire::MacAddress dst = wire::MacAddress::load(p->data_ptr());
      const BridgeDecision d = bridge.transmit(dst, clock_.now());
      if (d.kind != BridgeDecision::Kind::kForward) {
        flood(bridge, nullptr, std::move(p));
      } else if (fits(*d.egress, *p)) {
        enqueue(*d.egress, std::move(p));
      } else {
        drop(std::move(p), DropReason::kBridgeTooBig);
      }
#endif
      return;  // (no bridge device exists without INLET_WITH_BRIDGE)
    }
  }
}

void LinkLayer::arp_input(Interface& in, PacketRef p) {
  auto arp = wire::ArpView::parse(p->bytes());
  if (!arp) {
    drop(std::move(p), DropReason::kArpMalformed);
    return;
  }
  const bool request = arp->operation() == wire::ArpOperation::kRequest;
  counters_.add(request ? Counter::ArpInRequests : Counter::ArpInReplies);
  trace_(TracePoint::kArp, *p, request ? "request" : "reply");
  const wire::Ipv4Address sip = arp->sender_ip();
  const wire::Ipv4Address tip = arp->target_ip();
  const wire::MacAddress sha = arp->sender_mac();
  const bool probe = sip.is_unspecified();  // RFC 5227 2.1.1 probe
  if ((!probe && bogus_sender(sip, sha)) || (probe && sha.is_multicast()) || sha == in.mac() ||
      in.has_address(sip)) {
    // Our own address claimed by someone else, or a nonsensical sender.
    drop(std::move(p), DropReason::kArpInvalidSender);
    return;
  }
  const absl::Time now = clock_.now();
  const bool for_us = in.has_address(tip);
  // RFC 826 "merge": an existing entry for the sender is always refreshed.
  Neighbour* n = probe ? nullptr : neighbours_.find(sip);
  // A request addressed to us creates the sender's entry (we are about to
  // talk to it); nothing else creates entries (Linux arp_accept=0).
  if (n == nullptr && for_us && request && !probe && in.on_link(sip) != nullptr) {
    n = neighbours_.create(sip, in.ifindex(), now);
  }
  const bool locked = n != nullptr && n->state == NeighbourState::kReachable && n->mac != sha &&
                      sip != tip && now - n->confirmed < kNeighLocktime;
  if (locked) {
    n = nullptr;  // not refreshed; an answer to a request still goes out
  } else if (n != nullptr) {
    neighbours_.confirm(*n, sha, now, [&](PacketRef waiting) {
      send_frame(in, std::move(waiting), sha, wire::ethertype::kIpv4);
    });
  }
  if (for_us && request) {
    send_arp(in, wire::ArpOperation::kReply, sha, sha, sip, tip);
    return;  // p released here (consumed)
  }
  if (n == nullptr) {
    drop(std::move(p), for_us ? DropReason::kArpUnsolicited : DropReason::kArpNotForUs);
  }
}

void LinkLayer::send_arp(Interface& out, wire::ArpOperation op, wire::MacAddress dst_mac,
                         wire::MacAddress target_mac, wire::Ipv4Address target_ip,
                         wire::Ipv4Address sender_ip) {
  PacketRef p = pool_.alloc();
  if (!p) return;  // counted by the pool (alloc_failures)
  uint8_t* body = p->put(wire::kArpPacketLength);
  wire::ArpRepr repr{op, out.mac(), sender_ip, target_mac, target_ip};
  repr.emit(std::span<uint8_t>(body, wire::kArpPacketLength));
  counters_.add(op == wire::ArpOperation::kRequest ? Counter::ArpOutRequests
                                                   : Counter::ArpOutReplies);
  send_frame(out, std::move(p), dst_mac, wire::ethertype::kArp);
}

void LinkLayer::send_frame(Interface& out, PacketRef p, wire::MacAddress dst, uint16_t ethertype) {
  if (pool_.is_shared(p)) {
    // A clone (multicast replication): its headroom is shared with the other
    // copies, so the link header goes into a buffer of its own, chained in
    // front of the payload — no payload copy (as skb_cow_head would do).
    PacketRef head = pool_.alloc();
    if (!head) {
      drop(std::move(p), DropReason::kPoolExhausted);
      return;
    }
    head->chain = p.release();
    p = std::move(head);
  }
  const bool tagged = INLET_WITH_VLAN && out.kind() == InterfaceKind::kVlan;
  const uint32_t header = static_cast<uint32_t>(wire::kEthernetHeaderLength) +
                          (tagged ? static_cast<uint32_t>(wire::kVlanTagLength) : 0);
  uint8_t* h = p->push(header);
  if (h == nullptr) {
    drop(std::move(p), DropReason::kTxNoHeadroom);
    return;
  }
  if (tagged) {
    // 802.1Q: the sub-interface's VID pushed in front of the EtherType.
    wire::EthernetRepr{dst, out.mac(), wire::ethertype::kVlan}.emit(
        std::span<uint8_t>(h, wire::kEthernetHeaderLength));
    const wire::VlanRepr tag{0, false, out.vlan_id(), ethertype};
    tag.emit(std::span<uint8_t>(h + wire::kEthernetHeaderLength, wire::kVlanTagLength));
    p->vlan_present = true;
    p->vlan_tci = tag.tci();
  } else {
    wire::EthernetRepr{dst, out.mac(), ethertype}.emit(
        std::span<uint8_t>(h, wire::kEthernetHeaderLength));
  }
  // Pad to the Ethernet minimum, as a NIC would.
  if (p->chain == nullptr && p->length() < wire::kEthernetMinFrame) {
    const uint32_t pad = static_cast<uint32_t>(wire::kEthernetMinFrame) - p->length();
    if (uint8_t* tail = p->put(pad)) std::memset(tail, 0, pad);
  }
  p->ifindex = out.ifindex();
  transmit(out, std::move(p));
}

void LinkLayer::output_ipv4(PacketRef p, Interface& out, wire::Ipv4Address next_hop) {
  if (p->length() > out.mtu()) {
    drop(std::move(p), DropReason::kIpOutTooBig);  // fragmentation arrives with forwarding
    return;
  }
  if (next_hop.is_limited_broadcast() || out.is_directed_broadcast(next_hop)) {
    send_frame(out, std::move(p), wire::kMacBroadcast, wire::ethertype::kIpv4);
    return;
  }
  if (next_hop.is_multicast()) {
    send_frame(out, std::move(p), wire::multicast_mac(next_hop), wire::ethertype::kIpv4);
    return;
  }
  const absl::Time now = clock_.now();
  Neighbour* n = neighbours_.find(next_hop);
  if (n != nullptr && n->state != NeighbourState::kIncomplete) {
    n->used = now;
    send_frame(out, std::move(p), n->mac, wire::ethertype::kIpv4);
    return;
  }
  if (n == nullptr) {
    n = neighbours_.create(next_hop, out.ifindex(), now);
    if (n == nullptr) {
      drop(std::move(p), DropReason::kArpUnresolved);
      return;
    }
    n->probes = 1;
    send_arp(out, wire::ArpOperation::kRequest, wire::kMacBroadcast, wire::kMacZero, next_hop,
             out.source_for(next_hop));
  }
  neighbours_.hold(*n, std::move(p));
}

void LinkLayer::age_neighbours() {
  const absl::Time now = clock_.now();
  neighbours_.age(now, [&](Neighbour& n) {
    if (Interface* out = interface(n.ifindex)) {
      send_arp(*out, wire::ArpOperation::kRequest, wire::kMacBroadcast, wire::kMacZero, n.ip,
               out->source_for(n.ip));
    }
  });
  timers_.arm(neighbour_timer_, now + neighbours_.config().retrans_time);
}

void LinkLayer::flush() {
  for (auto& i : interfaces_) {
    if (i->tx().size() > 0 && i->port() != nullptr) i->tx().flush(*i->port());
  }
}

void LinkLayer::shutdown() {
  timers_.cancel(neighbour_timer_);
  for (auto& b : bridges_) timers_.cancel(b->timer());
  neighbours_.clear();
  for (auto& i : interfaces_) i->tx().clear();
}

}  // namespace inlet::link

#include "link/link_layer.h"

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
  interfaces_.push_back(std::make_unique<Interface>(
      ifindex, std::move(config), port, static_cast<uint32_t>(tunables_.get(Tunable::kTxRingSize))));
  if (!neighbour_timer_.armed()) {
    timers_.arm(neighbour_timer_, clock_.now() + neighbours_.config().retrans_time);
  }
  return *interfaces_.back();
}

Interface* LinkLayer::interface(uint16_t ifindex) {
  if (ifindex == 0 || ifindex > interfaces_.size()) return nullptr;
  return interfaces_[ifindex - 1].get();
}

Interface* LinkLayer::interface_with_address(wire::Ipv4Address a) {
  for (auto& i : interfaces_) {
    if (i->has_address(a)) return i.get();
  }
  return nullptr;
}

void LinkLayer::drop(PacketRef&& p, DropReason reason) {
  trace_(TracePoint::kDrop, *p, drop_reason_name(reason));
  pool_.free(std::move(p), reason);
}

void LinkLayer::input(Interface& in, std::span<PacketRef> frames) {
  const int64_t now_ns = absl::ToUnixNanos(clock_.now());
  for (PacketRef& slot : frames) {
    if (!slot) continue;
    PacketRef p = std::move(slot);
    counters_.add(Counter::rx_packets);
    counters_.add(Counter::rx_bytes, p->length());
    p->ifindex = in.ifindex();
    if (p->rx_timestamp_ns == 0) p->rx_timestamp_ns = now_ns;
    trace_(TracePoint::kLinkIn, *p, in.name());

    auto eth = wire::EthernetView::parse(p->bytes());
    if (!eth) {
      drop(std::move(p), DropReason::kFrameTooShort);
      continue;
    }
    // MTU + Ethernet header + one VLAN tag (FCS is not part of the frame).
    if (p->length() > in.mtu() + wire::kEthernetHeaderLength + wire::kVlanTagLength) {
      drop(std::move(p), DropReason::kFrameTooLong);
      continue;
    }
    const wire::MacAddress dst = eth->dst();
    if (dst == in.mac()) {
      p->pkt_type = PacketType::kHost;
    } else if (dst.is_broadcast()) {
      p->pkt_type = PacketType::kBroadcast;
    } else if (dst.is_multicast()) {
      p->pkt_type = PacketType::kMulticast;
    } else {
      drop(std::move(p), DropReason::kOtherHost);
      continue;
    }
    uint16_t type = eth->ethertype();
    p->pull(wire::kEthernetHeaderLength);
    if (type == wire::ethertype::kVlan || type == wire::ethertype::kQinQ) {
      auto tag = wire::VlanView::parse(p->bytes());
      if (!tag) {
        drop(std::move(p), DropReason::kVlanMalformed);
        continue;
      }
      if (tag->ethertype() == wire::ethertype::kVlan || tag->ethertype() == wire::ethertype::kQinQ) {
        drop(std::move(p), DropReason::kVlanStacked);
        continue;
      }
      p->vlan_present = true;
      p->vlan_tci = tag->tci();
      // VLAN 0 is a priority tag (802.1Q 9.6): the frame belongs to the port.
      // Sub-interfaces for other VLAN ids arrive with the routing/L2 work.
      if (tag->vid() != wire::kVlanIdPriorityOnly) {
        drop(std::move(p), DropReason::kVlanNotConfigured);
        continue;
      }
      type = tag->ethertype();
      p->pull(wire::kVlanTagLength);
    }
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
  if (n != nullptr) {
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
  uint8_t* h = p->push(wire::kEthernetHeaderLength);
  if (h == nullptr) {
    drop(std::move(p), DropReason::kTxNoHeadroom);
    return;
  }
  wire::EthernetRepr{dst, out.mac(), ethertype}.emit(
      std::span<uint8_t>(h, wire::kEthernetHeaderLength));
  // Pad to the Ethernet minimum, as a NIC would.
  if (p->length() < wire::kEthernetMinFrame) {
    const uint32_t pad = static_cast<uint32_t>(wire::kEthernetMinFrame) - p->length();
    if (uint8_t* tail = p->put(pad)) std::memset(tail, 0, pad);
  }
  p->ifindex = out.ifindex();
  counters_.add(Counter::tx_packets);
  counters_.add(Counter::tx_bytes, p->length());
  trace_(TracePoint::kLinkOut, *p, out.name());
  out.tx().enqueue(std::move(p), pool_);
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
  neighbours_.clear();
  for (auto& i : interfaces_) i->tx().clear();
}

}  // namespace inlet::link

// IPv4 receive: validation, martians, local delivery and protocol demux.
#include "ip/ipv4_layer.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace inlet::ip {

namespace {
#if INLET_WITH_REASSEMBLY
ReassemblyConfig reassembly_config(const Tunables& t) {
  ReassemblyConfig c;
  c.high_thresh = static_cast<size_t>(t.get(Tunable::kIpfragHighThresh));
  c.low_thresh = static_cast<size_t>(t.get(Tunable::kIpfragLowThresh));
  c.timeout = absl::Seconds(t.get(Tunable::kIpfragTime));
  return c;
}
#endif
}  // namespace

Ipv4Layer::Ipv4Layer(const Tunables& tunables, BufferPool& pool, Counters& counters,
                     const Clock& clock, const Trace& trace, link::LinkLayer& link,
                     TimerWheel& timers)
    : tunables_(tunables),
      pool_(pool),
      counters_(counters),
      clock_(clock),
      trace_(trace),
      link_(link),
      fib_(FibConfig{.max_routes = static_cast<uint32_t>(tunables.get(Tunable::kFibMaxRoutes))}),
      icmp_limiter_(static_cast<uint32_t>(tunables.get(Tunable::kIcmpMsgsPerSec)),
                    static_cast<uint32_t>(tunables.get(Tunable::kIcmpMsgsBurst)),
                    static_cast<uint32_t>(tunables.get(Tunable::kIcmpRatemask)))
#if INLET_WITH_REASSEMBLY
      ,
      reasm_(reassembly_config(tunables), pool, counters, timers, clock)
#endif
{
#if INLET_WITH_REASSEMBLY
  // RFC 792: a reassembly timeout after the first fragment is reported.
  reasm_.set_timeout_handler([this](const Packet& first) {
    send_icmp_error(first, wire::icmptype::kTimeExceeded, wire::icmpcode::kReassemblyTimeExceeded);
  });
#else
  (void)timers;
#endif
}

void Ipv4Layer::drop(PacketRef&& p, DropReason reason) {
  trace_.drop(*p, reason);
  pool_.free(std::move(p), reason);
}

// RFC 1812 5.3.7 / Linux ip_route_input_slow: sources that cannot be a host.
bool Ipv4Layer::martian_source(wire::Ipv4Address src, const link::Interface& in) const {
  if (src.is_multicast() || src.is_class_e() || src.is_loopback()) return true;  // incl. 255.255.255.255
  if (src.is_zeronet()) return true;  // 0/8 ("this network": only for DHCP, which inlet does not run)
  if (in.is_directed_broadcast(src)) return true;
  return link_.is_local_address(src);  // our own address coming back in (land)
}

void Ipv4Layer::receive_ipv4(PacketRef p, link::Interface& in) {
  counters_.add(Counter::IpInReceives);
  trace_(TracePoint::kIpIn, *p, "");
  // The header checksum is always checked in software: a NIC's
  // CHECKSUM_UNNECESSARY speaks for L4, and 20 bytes cost nothing.
  // A receive chain (a TAP super-frame) holds the header in its first buffer.
  auto ip = wire::Ipv4View::parse_head(p->bytes(), p->frame_length(), wire::ChecksumMode::kVerify);
  if (!ip) {
    DropReason reason = DropReason::kIpTooShort;
    switch (ip.error()) {
      case wire::WireError::kTooShort: reason = DropReason::kIpTooShort; break;
      case wire::WireError::kBadVersion: reason = DropReason::kIpBadVersion; break;
      case wire::WireError::kBadHeaderLength: reason = DropReason::kIpBadIhl; break;
      case wire::WireError::kBadTotalLength: reason = DropReason::kIpBadTotalLength; break;
      case wire::WireError::kTruncated: reason = DropReason::kIpTruncated; break;
      case wire::WireError::kBadChecksum:
        counters_.add(Counter::IpExtInCsumErrors);
        reason = DropReason::kIpBadChecksum;
        break;
      case wire::WireError::kBadOptions: reason = DropReason::kIpBadOptions; break;
      default: reason = DropReason::kIpTooShort; break;
    }
    drop(std::move(p), reason);
    return;
  }
  counters_.add(Counter::IpExtInOctets, ip->total_length());
  p->trim_frame(ip->total_length());  // Ethernet padding is not part of the datagram
  const wire::Ipv4Address src = ip->src();
  const wire::Ipv4Address dst = ip->dst();

#if INLET_WITH_FILTER
  if (!filter_allows(filter::Hook::kPrerouting, *ip, in.ifindex())) {
    drop(std::move(p), DropReason::kNetfilterDrop);
    return;
  }
#endif
  if (martian_source(src, in)) {
    drop(std::move(p), DropReason::kIpMartianSource);
    return;
  }
  if (p->chain != nullptr &&
      (ip->is_fragment() || ip->protocol() != wire::ipproto::kTcp || dst.is_multicast() ||
       dst.is_limited_broadcast() || in.is_directed_broadcast(dst))) {
    // Only TCP to a unicast address takes a super-frame as one unit (TSO and
    // GRO are TCP's); a copy for multicast would hold its first buffer only.
    drop(std::move(p), DropReason::kIpGsoNotTcp);
    return;
  }
  if (p->gso_segs > 1) {
    // A device's segment count is a hint (Linux marks a TAP's SKB_GSO_DODGY
    // and recomputes it): never more segments than the TCP payload fills at
    // gso_size each, so a lying count cannot inflate TcpInSegs. The TCP
    // header's length is read from the first buffer (a chain keeps every
    // header there); a malformed one is TCP's to drop, the bound just stays safe.
    const size_t ihl = ip->header_length();
    const uint32_t l4 = ip->total_length() - static_cast<uint32_t>(ihl);
    const std::span<const uint8_t> head = p->bytes();
    size_t tcp_header = wire::kTcpMinHeaderLength;
    if (head.size() > ihl + 12) tcp_header = std::max<size_t>(size_t{head[ihl + 12]} >> 4 << 2, wire::kTcpMinHeaderLength);
    const uint32_t payload = l4 > tcp_header ? l4 - static_cast<uint32_t>(tcp_header) : 0;
    const uint32_t most = p->gso_size > 0 ? std::max<uint32_t>((payload + p->gso_size - 1) / p->gso_size, 1) : 1;
    if (p->gso_segs > most) p->gso_segs = static_cast<uint16_t>(most);
  }
  Ipv4Delivery d;
  d.src = src;
  d.dst = dst;
  d.in = &in;
  d.ttl = ip->ttl();
  d.tos = ip->tos();
  // Weak host model (RFC 1122 3.3.4.2, as Linux): any local address on any
  // interface is ours.
  if (dst.is_limited_broadcast() || in.is_directed_broadcast(dst)) {
    d.broadcast = true;
    counters_.add(Counter::IpExtInBcastPkts);
  } else if (dst.is_multicast()) {
    // Only the all-hosts group (224.0.0.1) is joined until IGMP arrives.
    // Counted as multicast input only when joined or forwarded (as Linux,
    // whose route lookup refuses the others first).
    const bool joined = dst.value() == 0xE0000001u;
#if INLET_WITH_FORWARDING
    if (!mroutes_.empty() && forward_multicast(p, *ip, in, joined)) {
      counters_.add(Counter::IpExtInMcastPkts);
      return;
    }
#endif
    if (!joined) {
      drop(std::move(p), DropReason::kIpMulticastNotJoined);
      return;
    }
    counters_.add(Counter::IpExtInMcastPkts);
    d.multicast = true;
  } else if (!link_.is_local_address(dst)) {
#if INLET_WITH_FORWARDING
    if (p->chain != nullptr) {
      // A super-frame is never forwarded: inlet does not segment (GSO) on
      // output. The vnet TAP port offers TSO only to deliver locally.
      drop(std::move(p), DropReason::kIpGsoNotTcp);
      return;
    }
    if (p->pkt_type == PacketType::kHost && tunables_.get(Tunable::kIpForward) != 0) {
      forward(std::move(p), *ip, in);
      return;
    }
#endif
    // A host counts a datagram not for it as an address error (RFC 1122 3.2.1.3).
    drop(std::move(p), DropReason::kIpNotForUs);
    return;
  } else if (p->pkt_type == PacketType::kBroadcast || p->pkt_type == PacketType::kMulticast) {
    // A unicast IP datagram in a link-layer broadcast (RFC 1122 3.3.6).
    drop(std::move(p), DropReason::kIpNotForUs);
    return;
  }
  if (ip->is_fragment()) {
#if !INLET_WITH_REASSEMBLY
    // Built without reassembly (INLET_WITH_REASSEMBLY=0): a fragment is
    // counted as needing reassembly (IpReasmReqds), then dropped (IpReasmFails).
    counters_.add(Counter::IpReasmReqds);
    drop(std::move(p), DropReason::kIpReasmUnsupported);
    return;
#else
    PacketRef whole = reasm_.add(std::move(p), *ip);
    if (!whole) return;  // waiting for more (or counted as failed)
    auto full = wire::Ipv4View::parse(whole->bytes(), wire::ChecksumMode::kSkip);
    if (!full) {
      drop(std::move(whole), DropReason::kIpBadTotalLength);
      return;
    }
    whole->pull(static_cast<uint32_t>(full->header_length()));
    whole->set_l4_here();
    d.ttl = full->ttl();
    deliver_local(std::move(whole), d);
    return;
#endif
  }
  p->pull(static_cast<uint32_t>(ip->header_length()));
  p->set_l4_here();
#if INLET_WITH_GRO
  // Software GRO (inlet.gro): TCP data for us may wait for the burst's end,
  // chained to its flow's previous segment. Not under an INPUT filter,
  // whose rules see one segment at a time.
  bool input_filter = false;
#if INLET_WITH_FILTER
  input_filter = link_.filter() != nullptr && link_.filter()->active(filter::Hook::kInput);
#endif
  if (ip->protocol() == wire::ipproto::kTcp && tunables_.get(Tunable::kGro) != 0 &&
      !d.broadcast && !d.multicast && p->pkt_type == PacketType::kHost && !input_filter) {
    if (gro_.offer(p, d, [this](PacketRef q, const Ipv4Delivery& held) { gro_deliver(std::move(q), held); })) {
      return;
    }
  }
#endif
  deliver_local(std::move(p), d);
}

void Ipv4Layer::end_of_burst() {
#if INLET_WITH_GRO
  if (!gro_.empty()) {
    gro_.flush([this](PacketRef q, const Ipv4Delivery& held) { gro_deliver(std::move(q), held); });
  }
#endif
}

#if INLET_WITH_GRO
// IpInReceives counted each segment GRO merged; IpInDelivers does too, so
// that receives = delivers + discards still holds (Linux counts both once
// per super-frame, its GRO being below IP).
void Ipv4Layer::gro_deliver(PacketRef p, const Ipv4Delivery& d) {
  if (p->gso_segs > 1) counters_.add(Counter::IpInDelivers, p->gso_segs - 1u);
  deliver_local(std::move(p), d);
}
#endif

void Ipv4Layer::shutdown() {
#if INLET_WITH_GRO
  gro_.clear();
#endif
#if INLET_WITH_REASSEMBLY
  reasm_.clear();
#endif
}

#if INLET_WITH_FILTER
bool Ipv4Layer::filter_evaluate(filter::RuleSet& f, filter::Hook hook, const wire::Ipv4View& ip,
                                uint16_t ifindex) {
  if (!f.active(hook)) return true;
  return f.evaluate(hook, filter::FilterInput::from_ipv4(ip, ifindex)) != filter::Verdict::kDrop;
}
#endif

void Ipv4Layer::deliver_local(PacketRef p, const Ipv4Delivery& d) {
  const uint8_t protocol = p->head[p->l3_offset + 9];
#if INLET_WITH_FILTER
  if (filter::RuleSet* f = link_.filter(); f != nullptr && f->active(filter::Hook::kInput)) {
    auto ip = wire::Ipv4View::parse_head(
        std::span<const uint8_t>(p->head + p->l3_offset, p->tail - p->l3_offset),
        p->frame_length() + (p->data - p->l3_offset), wire::ChecksumMode::kSkip);
    if (ip && !filter_allows(filter::Hook::kInput, *ip, d.in->ifindex())) {
      drop(std::move(p), DropReason::kNetfilterDrop);
      return;
    }
  }
#endif

  if (protocol == wire::ipproto::kIcmp) {
    counters_.add(Counter::IpInDelivers);
    icmp_input(std::move(p), d);
    return;
  }
  if (TransportReceiver* t = transports_[protocol]) {
    counters_.add(Counter::IpInDelivers);
    trace_(TracePoint::kTransportIn, *p, "");
    t->receive(std::move(p), d);
    return;
  }
  // RFC 1122 3.2.2.1: protocol unreachable for a transport we do not speak.
  if (!d.broadcast && !d.multicast) send_icmp_error(*p, 3, 2);
  drop(std::move(p), DropReason::kIpUnknownProtocol);
}

wire::Ipv4Address Ipv4Layer::select_source(wire::Ipv4Address dst) {
  std::optional<FibResult> hop = fib_.lookup(dst);
  link::Interface* out =
      hop && hop->type == RouteType::kUnicast ? link_.interface(hop->ifindex) : nullptr;
  return out == nullptr ? wire::kIpv4Any : out->source_for(hop->next_hop);
}

bool Ipv4Layer::output(PacketRef p, wire::Ipv4Address src, wire::Ipv4Address dst,
                       uint8_t protocol, uint8_t tos, bool dont_fragment) {
  std::optional<FibResult> hop = fib_.lookup(dst);
  if (hop && hop->type != RouteType::kUnicast) {
    // blackhole / unreachable / prohibit: a local sender just fails (EINVAL,
    // EHOSTUNREACH, EACCES in Linux), counted.
    drop(std::move(p), hop->type == RouteType::kBlackhole    ? DropReason::kIpRouteBlackhole
                       : hop->type == RouteType::kProhibit   ? DropReason::kIpRouteProhibit
                                                             : DropReason::kIpRouteUnreachable);
    return false;
  }
  link::Interface* out = hop ? link_.interface(hop->ifindex) : nullptr;
  if (out == nullptr) {
    drop(std::move(p), DropReason::kIpNoRoute);
    return false;
  }
  if (src.is_unspecified()) src = out->source_for(hop->next_hop);
  wire::Ipv4Repr repr;
  repr.src = src;
  repr.dst = dst;
  repr.protocol = protocol;
  repr.ttl = static_cast<uint8_t>(tunables_.get(Tunable::kIpDefaultTtl));
  repr.tos = tos;
  repr.ident = next_ident_++;
  repr.dont_fragment = dont_fragment;
  repr.payload_length = static_cast<uint16_t>(p->length());
  uint8_t* h = p->push(static_cast<uint32_t>(repr.header_length()));
  if (h == nullptr || repr.emit(std::span<uint8_t>(h, repr.header_length())) == 0) {
    drop(std::move(p), DropReason::kTxNoHeadroom);
    return false;
  }
  p->set_l3_here();
  counters_.add(Counter::IpOutRequests);
  counters_.add(Counter::IpExtOutOctets, p->length());
  trace_(TracePoint::kIpOut, *p, "");
  if (p->length() > out->mtu() && dont_fragment) {
    drop(std::move(p), DropReason::kIpOutTooBig);  // EMSGSIZE for a local sender
    return false;
  }
  transmit(std::move(p), *out, hop->next_hop);
  return true;
}

}  // namespace inlet::ip

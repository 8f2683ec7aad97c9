// IPv4 receive: validation, martians, local delivery and protocol demux.
#include "ip/ipv4_layer.h"
#include "wire/ipv4.h"

namespace inlet::ip {

Ipv4Layer::Ipv4Layer(const Tunables& tunables, BufferPool& pool, Counters& counters,
                     const Clock& clock, const Trace& trace, link::LinkLayer& link)
    : tunables_(tunables),
      pool_(pool),
      counters_(counters),
      clock_(clock),
      trace_(trace),
      link_(link),
      icmp_limiter_(static_cast<uint32_t>(tunables.get(Tunable::kIcmpMsgsPerSec)),
                    static_cast<uint32_t>(tunables.get(Tunable::kIcmpMsgsBurst)),
                    static_cast<uint32_t>(tunables.get(Tunable::kIcmpRatemask))) {}

void Ipv4Layer::drop(PacketRef&& p, DropReason reason) {
  trace_(TracePoint::kDrop, *p, drop_reason_name(reason));
  pool_.free(std::move(p), reason);
}

// RFC 1812 5.3.7 / Linux ip_route_input_slow: sources that cannot be a host.
bool Ipv4Layer::martian_source(wire::Ipv4Address src, const link::Interface& in) const {
  if (src.is_multicast() || src.is_class_e() || src.is_loopback()) return true;  // incl. 255.255.255.255
  if (src.is_zeronet()) return true;  // 0/8 ("this network": only for DHCP, which inlet does not run)
  if (in.is_directed_broadcast(src)) return true;
  return link_.interface_with_address(src) != nullptr;  // our own address coming back in (land)
}

void Ipv4Layer::receive_ipv4(PacketRef p, link::Interface& in) {
  counters_.add(Counter::IpInReceives);
  trace_(TracePoint::kIpIn, *p, "");
  // The header checksum is always checked in software: a NIC's
  // CHECKSUM_UNNECESSARY speaks for L4, and 20 bytes cost nothing.
  auto ip = wire::Ipv4View::parse(p->bytes(), wire::ChecksumMode::kVerify);
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
  p->trim(ip->total_length());  // Ethernet padding is not part of the datagram
  const wire::Ipv4Address src = ip->src();
  const wire::Ipv4Address dst = ip->dst();

  if (martian_source(src, in)) {
    drop(std::move(p), DropReason::kIpMartianSource);
    return;
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
    if (dst.value() != 0xE0000001u) {
      drop(std::move(p), DropReason::kIpMulticastNotJoined);
      return;
    }
    d.multicast = true;
    counters_.add(Counter::IpExtInMcastPkts);
  } else if (link_.interface_with_address(dst) == nullptr) {
    // Forwarding (net.ipv4.ip_forward) arrives with the routing work; a host
    // counts a datagram not for it as an address error (RFC 1122 3.2.1.3).
    drop(std::move(p), DropReason::kIpNotForUs);
    return;
  } else if (p->pkt_type != PacketType::kHost) {
    // A unicast IP datagram in a link-layer broadcast (RFC 1122 3.3.6).
    drop(std::move(p), DropReason::kIpNotForUs);
    return;
  }
  if (ip->is_fragment()) {
    // Reassembly (ipfrag_*) arrives with the routing work: counted, not silent.
    counters_.add(Counter::IpReasmReqds);
    drop(std::move(p), DropReason::kIpFragmentNoReassembly);
    return;
  }
  const uint8_t protocol = ip->protocol();
  p->pull(static_cast<uint32_t>(ip->header_length()));
  p->set_l4_here();

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
  std::optional<NextHop> hop = routes_.lookup(dst);
  link::Interface* out = hop ? link_.interface(hop->ifindex) : nullptr;
  return out == nullptr ? wire::kIpv4Any : out->source_for(hop->address);
}

bool Ipv4Layer::output(PacketRef p, wire::Ipv4Address src, wire::Ipv4Address dst,
                       uint8_t protocol, uint8_t tos) {
  std::optional<NextHop> hop = routes_.lookup(dst);
  link::Interface* out = hop ? link_.interface(hop->ifindex) : nullptr;
  if (out == nullptr) {
    drop(std::move(p), DropReason::kIpNoRoute);
    return false;
  }
  if (src.is_unspecified()) src = out->source_for(hop->address);
  wire::Ipv4Repr repr;
  repr.src = src;
  repr.dst = dst;
  repr.protocol = protocol;
  repr.ttl = static_cast<uint8_t>(tunables_.get(Tunable::kIpDefaultTtl));
  repr.tos = tos;
  repr.ident = next_ident_++;
  repr.dont_fragment = true;  // as Linux does with PMTU discovery on (ip_no_pmtu_disc=0)
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
  link_.output_ipv4(std::move(p), *out, hop->address);
  return true;
}

}  // namespace inlet::ip

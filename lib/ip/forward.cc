// Forwarding (RFC 1812 5.2/5.3): TTL, reverse-path filtering, route types,
// egress MTU with fragmentation or "fragmentation needed", and the output
// fragmenter shared with local output (RFC 791 3.2, IpFragOKs/IpFragCreates).
#include <algorithm>
#include <cstring>

#include "ip/ipv4_layer.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

namespace inlet::ip {

#if INLET_WITH_FORWARDING
void Ipv4Layer::forward(PacketRef p, const wire::Ipv4View& ip, link::Interface& in) {
  const wire::Ipv4Address src = ip.src(), dst = ip.dst();
  // Never forwarded: limited broadcast, link-local multicast, 0/8 and
  // loopback destinations (RFC 1812 5.3.7, 4.2.2.11).
  if (dst.is_zeronet() || dst.is_loopback() || dst.is_class_e() || dst.is_multicast()) {
    drop(std::move(p), DropReason::kIpNotForUs);
    return;
  }
  // Reverse-path filtering (net.ipv4.conf.all.rp_filter, RFC 3704): strict —
  // the route back to the source leaves through the ingress interface; loose —
  // some route back exists.
  const int64_t rp = tunables_.get(Tunable::kRpFilter);
  if (rp != 0) {
    std::optional<FibResult> back = fib_.lookup(src);
    if (!back || back->type != RouteType::kUnicast || (rp == 1 && back->ifindex != in.ifindex())) {
      drop(std::move(p), DropReason::kIpRpFilter);
      return;
    }
  }
  // RFC 1812 5.3.1: TTL 1 or 0 cannot be forwarded; time exceeded.
  if (ip.ttl() <= 1) {
    send_icmp_error(*p, wire::icmptype::kTimeExceeded, wire::icmpcode::kTtlExceeded);
    drop(std::move(p), DropReason::kIpTtlExceeded);
    return;
  }
  // ECMP spreads flows, never packets of one flow: hash the addresses,
  // protocol and (first fragments only) ports.
  uint32_t flow = src.value() * 0x9E3779B1u ^ dst.value() ^ (uint32_t{ip.protocol()} << 24);
  if (!ip.is_fragment() && ip.payload().size() >= 4 &&
      (ip.protocol() == wire::ipproto::kTcp || ip.protocol() == wire::ipproto::kUdp)) {
    flow ^= wire::load_be32(ip.payload().data()) * 0x85EBCA6Bu;
  }
  p->flow_hash = flow;
  std::optional<FibResult> hop = fib_.lookup(dst, flow);
  if (hop && hop->type != RouteType::kUnicast) {
    switch (hop->type) {
      case RouteType::kBlackhole:
        drop(std::move(p), DropReason::kIpRouteBlackhole);  // silently, as Linux
        return;
      case RouteType::kProhibit:
        // RFC 1812 5.2.7.1: communication administratively prohibited.
        send_icmp_error(*p, wire::icmptype::kDestUnreachable, wire::icmpcode::kAdminProhibited);
        drop(std::move(p), DropReason::kIpRouteProhibit);
        return;
      default:  // unreachable (and local, which cannot be forwarded)
        send_icmp_error(*p, wire::icmptype::kDestUnreachable, wire::icmpcode::kHostUnreachable);
        drop(std::move(p), DropReason::kIpRouteUnreachable);
        return;
    }
  }
  link::Interface* out = hop ? link_.interface(hop->ifindex) : nullptr;
  if (out == nullptr) {
    // RFC 1812 5.2.7.1: network unreachable.
    send_icmp_error(*p, wire::icmptype::kDestUnreachable, wire::icmpcode::kNetUnreachable);
    drop(std::move(p), DropReason::kIpNoRoute);
    return;
  }
  // A directed broadcast of the egress subnet is not forwarded (RFC 2644:
  // off by default, as Linux's bc_forwarding=0); the link layer would
  // otherwise send it as an Ethernet broadcast.
  if (out->is_directed_broadcast(dst)) {
    drop(std::move(p), DropReason::kIpNotForUs);
    return;
  }
#if INLET_WITH_FILTER
  if (!filter_allows(filter::Hook::kForward, ip, in.ifindex())) {
    drop(std::move(p), DropReason::kNetfilterDrop);
    return;
  }
#endif
  // Checked before the TTL is touched (as Linux's ip_forward): the error
  // quotes the header as the sender sent it (RFC 1812 4.3.2.3).
  if (p->length() > out->mtu() && ip.dont_fragment()) {
    // RFC 1191: tell the sender the next-hop MTU so path-MTU discovery works.
    send_icmp_error(*p, wire::icmptype::kDestUnreachable, wire::icmpcode::kFragmentationNeeded,
                    out->mtu() & 0xFFFF);
    drop(std::move(p), DropReason::kIpFragNeeded);
    return;
  }
  if (!pool_.make_writable(p)) {
    drop(std::move(p), DropReason::kPoolExhausted);
    return;
  }
  // TTL - 1 with the RFC 1624 incremental checksum update.
  wire::ipv4_decrease_ttl(p->bytes());
  counters_.add(Counter::IpForwDatagrams);
  trace_(TracePoint::kIpOut, *p, "forward");
  transmit(std::move(p), *out, hop->next_hop);
}

absl::Status Ipv4Layer::add_multicast_route(wire::Ipv4Address group, uint16_t in_ifindex,
                                            std::vector<uint16_t> out) {
  if (!group.is_multicast()) {
    return absl::InvalidArgumentError(group.to_string() + " is not a multicast group");
  }
  if (out.empty()) return absl::InvalidArgumentError("a multicast route needs output interfaces");
  for (uint16_t i : out) {
    if (link_.interface(i) == nullptr) {
      return absl::InvalidArgumentError("no interface with ifindex " + std::to_string(i));
    }
  }
  mroutes_.push_back({group, in_ifindex, Vector<uint16_t>(out.begin(), out.end())});
  return absl::OkStatus();
}

bool Ipv4Layer::forward_multicast(PacketRef& p, const wire::Ipv4View& ip, link::Interface& in,
                                  bool deliver_locally) {
  if (tunables_.get(Tunable::kIpForward) == 0 || ip.dst().is_local_multicast()) return false;
  const MulticastRoute* route = nullptr;
  for (const MulticastRoute& r : mroutes_) {
    if (r.group == ip.dst() && (r.in_ifindex == 0 || r.in_ifindex == in.ifindex())) {
      route = &r;
      break;
    }
  }
  if (route == nullptr || ip.ttl() <= 1) return false;  // no ICMP about multicast
  if (!pool_.make_writable(p)) return false;
  wire::ipv4_decrease_ttl(p->bytes());  // once: every copy shares this header
  for (uint16_t ifindex : route->out) {
    if (ifindex == in.ifindex()) continue;  // never back where it came from
    link::Interface* out = link_.interface(ifindex);
    if (out == nullptr || p->length() > out->mtu()) continue;
    PacketRef copy = pool_.clone(p);
    if (!copy) {
      counters_.add(Counter::IpOutDiscards);
      continue;
    }
    counters_.add(Counter::IpForwDatagrams);
    counters_.add(Counter::IpExtOutMcastPkts);
    link_.output_ipv4(std::move(copy), *out, ip.dst());
  }
  if (deliver_locally) return false;  // the original goes on to local delivery
  p.reset();
  return true;
}
#endif  // INLET_WITH_FORWARDING

void Ipv4Layer::transmit(PacketRef p, link::Interface& out, wire::Ipv4Address next_hop) {
  if (p->length() > out.mtu()) {
#if INLET_WITH_REASSEMBLY
    fragment(std::move(p), out, next_hop);
#else
    // Built without fragmentation (INLET_WITH_REASSEMBLY=0): counted, as
    // when DF forbids it (IpFragFails).
    drop(std::move(p), DropReason::kIpFragNeeded);
#endif
    return;
  }
  link_.output_ipv4(std::move(p), out, next_hop);
}

#if INLET_WITH_REASSEMBLY
// RFC 791 3.2 / RFC 1812 5.2.6: split into fragments of at most the MTU, data
// in multiples of 8, options with the copied flag repeated in every fragment.
void Ipv4Layer::fragment(PacketRef p, link::Interface& out, wire::Ipv4Address next_hop) {
  auto ip = wire::Ipv4View::parse(p->bytes(), wire::ChecksumMode::kSkip);
  if (!ip || ip->dont_fragment() || out.mtu() < 68) {
    counters_.add(Counter::IpFragFails);
    drop(std::move(p), DropReason::kIpOutTooBig);
    return;
  }
  const size_t first_hlen = ip->header_length();
  // Later fragments carry only the options marked "copied".
  uint8_t later_opts[wire::kIpv4MaxOptionsLength];
  size_t later_len = 0;
  for (const wire::Ipv4Option& o : ip->options()) {
    if (o.kind == wire::ipv4opt::kNop || !o.copied()) continue;
    std::memcpy(later_opts + later_len, o.bytes.data(), o.bytes.size());
    later_len += o.bytes.size();
  }
  const size_t later_hlen = wire::kIpv4MinHeaderLength + ((later_len + 3) & ~size_t{3});
  std::span<const uint8_t> payload = ip->payload();
  const uint16_t base_offset = ip->fragment_offset();
  const bool base_more = ip->more_fragments();
  size_t done = 0;
  uint32_t created = 0;
  while (done < payload.size()) {
    const bool first = done == 0;
    const size_t hlen = first ? first_hlen : later_hlen;
    size_t chunk = std::min<size_t>(payload.size() - done, (out.mtu() - hlen) & ~size_t{7});
    const bool last = done + chunk == payload.size();
    PacketRef f = pool_.alloc();
    if (!f || f->tailroom() < hlen + chunk) {
      counters_.add(Counter::IpFragFails);
      drop(std::move(p), DropReason::kPoolExhausted);
      return;
    }
    uint8_t* h = f->put(static_cast<uint32_t>(hlen + chunk));
    if (first) {
      std::memcpy(h, ip->header().data(), hlen);
    } else {
      std::memcpy(h, ip->header().data(), wire::kIpv4MinHeaderLength);
      std::memset(h + wire::kIpv4MinHeaderLength, 0, hlen - wire::kIpv4MinHeaderLength);
      std::memcpy(h + wire::kIpv4MinHeaderLength, later_opts, later_len);
      h[0] = static_cast<uint8_t>(0x40 | (hlen / 4));
    }
    std::memcpy(h + hlen, payload.data() + done, chunk);
    const uint16_t off8 = static_cast<uint16_t>((base_offset + done) / 8);
    const bool more = !last || base_more;
    wire::store_be16(h + 2, static_cast<uint16_t>(hlen + chunk));
    wire::store_be16(h + 6, static_cast<uint16_t>((more ? 0x2000 : 0) | off8));
    wire::ipv4_fill_checksum(std::span<uint8_t>(h, hlen));
    f->set_l3_here();
    ++created;
    link_.output_ipv4(std::move(f), out, next_hop);
    done += chunk;
  }
  counters_.add(Counter::IpFragOKs);
  counters_.add(Counter::IpFragCreates, created);
}
#endif  // INLET_WITH_REASSEMBLY

// The per-destination limit of Linux's icmpv4_xrlim_allow: a token bucket of
// one message per net.ipv4.icmp_ratelimit ms, bursts of 6, per destination.
bool Ipv4Layer::icmp_host_allow(wire::Ipv4Address dst, uint8_t type) {
  const int64_t interval_ms = tunables_.get(Tunable::kIcmpRatelimit);
  const uint32_t mask = static_cast<uint32_t>(tunables_.get(Tunable::kIcmpRatemask));
  if (interval_ms == 0 || type >= 32 || (mask & (1u << type)) == 0) return true;
  constexpr double kBurst = 6;  // XRLIM_BURST_FACTOR
  HostLimit& h = icmp_hosts_[(dst.value() * 2654435761u) >> 24];
  const absl::Time now = clock_.now();
  if (h.addr != dst.value() || h.last == absl::InfinitePast()) {
    h.addr = dst.value();
    h.tokens = kBurst;
  } else {
    h.tokens = std::min(kBurst, h.tokens + absl::ToDoubleMilliseconds(now - h.last) / interval_ms);
  }
  h.last = now;
  if (h.tokens < 1) {
    counters_.add(Counter::IcmpOutRateLimitHost);
    return false;
  }
  h.tokens -= 1;
  return true;
}

}  // namespace inlet::ip

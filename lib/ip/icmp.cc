// ICMP (RFC 792, RFC 1122 3.2.2): input, echo replies and error messages.
#include <cstring>

#include "ip/ipv4_layer.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

namespace inlet::ip {

void Ipv4Layer::icmp_input(PacketRef p, const Ipv4Delivery& d) {
  counters_.add(Counter::IcmpInMsgs);
  const wire::ChecksumMode mode = p->csum == ChecksumState::kUnnecessary ||
                                          p->csum == ChecksumState::kPartial
                                      ? wire::ChecksumMode::kSkip
                                      : wire::ChecksumMode::kVerify;
  auto icmp = wire::IcmpView::parse(p->bytes(), mode);
  if (!icmp) {
    if (icmp.error() == wire::WireError::kBadChecksum) {
      counters_.add(Counter::IcmpInCsumErrors);
      drop(std::move(p), DropReason::kIcmpBadChecksum);
    } else {
      drop(std::move(p), DropReason::kIcmpTooShort);
    }
    return;
  }
  trace_(TracePoint::kIcmp, *p, "");
  switch (icmp->type()) {
    case wire::icmptype::kEchoRequest:
      counters_.add(Counter::IcmpInEchos);
      counters_.add(Counter::IcmpMsgInType8);
      if (tunables_.get(Tunable::kIcmpEchoIgnoreAll) != 0 ||
          ((d.broadcast || d.multicast) &&
           tunables_.get(Tunable::kIcmpEchoIgnoreBroadcasts) != 0)) {
        drop(std::move(p), DropReason::kIcmpEchoIgnored);
        return;
      }
      icmp_echo_reply(std::move(p), d);
      return;
    case wire::icmptype::kEchoReply:
      counters_.add(Counter::IcmpInEchoReps);
      counters_.add(Counter::IcmpMsgInType0);
      return;  // no raw sockets yet: consumed
    case wire::icmptype::kDestUnreachable:
      counters_.add(Counter::IcmpInDestUnreachs);
      counters_.add(Counter::IcmpMsgInType3);
      return;  // transports learn of errors when TCP arrives
    case wire::icmptype::kTimeExceeded:
      counters_.add(Counter::IcmpInTimeExcds);
      counters_.add(Counter::IcmpMsgInType11);
      return;
    case wire::icmptype::kParameterProblem:
      counters_.add(Counter::IcmpInParmProbs);
      return;
    default:
      return;  // RFC 1122 3.2.2: unknown types are silently discarded
  }
}

void Ipv4Layer::icmp_echo_reply(PacketRef p, const Ipv4Delivery& d) {
  // The request's buffer becomes the reply: type 8 -> 0 with an RFC 1624
  // update, then a fresh IP header in front (options are not echoed).
  // A reassembled request lives in the reassembler's pool: ask the pool that
  // owns the buffer (the stack pool's slab counts say nothing about it).
  if (!pool_.make_writable(p)) {  // also right for a reassembled (foreign-pool) request
    drop(std::move(p), DropReason::kPoolExhausted);
    return;
  }
  if (!wire::icmp_echo_request_to_reply(p->bytes())) {
    drop(std::move(p), DropReason::kIcmpTooShort);
    return;
  }
  // Reply from the address the request was sent to; for broadcast echo (when
  // allowed), from the receiving interface's address.
  const wire::Ipv4Address src =
      (d.broadcast || d.multicast) ? d.in->source_for(d.src) : d.dst;
  // Counted once IP has taken it, as Linux's icmp_push_reply does: a reply
  // with no route back (IpOutNoRoutes) was never sent.
  // Without DF, so a large (reassembled) request's reply is fragmented.
  if (!output(std::move(p), src, d.src, wire::ipproto::kIcmp, d.tos, false)) return;
  counters_.add(Counter::IcmpOutMsgs);
  counters_.add(Counter::IcmpOutEchoReps);
  counters_.add(Counter::IcmpMsgOutType0);
}

void Ipv4Layer::send_icmp_error(const Packet& original, uint8_t type, uint8_t code,
                                uint32_t rest) {
  if (original.l3_offset == kNoOffset) return;
  const uint8_t* l3 = original.head + original.l3_offset;
  const size_t available = original.tail - original.l3_offset;
  // The offending header was validated on the way in; re-read it unchecked.
  auto ip = wire::Ipv4View::parse(std::span<const uint8_t>(l3, available),
                                  wire::ChecksumMode::kSkip);
  if (!ip) return;
  const wire::Ipv4Address src = ip->src();
  // RFC 1122 3.2.2 / RFC 1812 4.3.2.7: no error about an error, a non-first
  // fragment, a broadcast/multicast (IP or link level), or a non-unicast source.
  if (ip->fragment_offset() != 0) return;
  if (original.pkt_type != PacketType::kHost) return;
  if (ip->dst().is_multicast() || ip->dst().is_limited_broadcast()) return;
  if (!src.is_unicast() || src.is_loopback() || src.is_limited_broadcast()) return;
  if (ip->protocol() == wire::ipproto::kIcmp) {
    const auto payload = ip->payload();
    if (payload.empty() || wire::icmp_is_error(payload[0])) return;
    // Types other than the informational ones we know are not answered either.
    const uint8_t t = payload[0];
    if (t != wire::icmptype::kEchoRequest && t != wire::icmptype::kEchoReply &&
        t != wire::icmptype::kTimestamp && t != wire::icmptype::kTimestampReply) {
      return;
    }
  }
  link::Interface* in = link_.interface(original.ifindex);
  if (in != nullptr && in->is_directed_broadcast(ip->dst())) return;
  // Linux icmpv4_mask_allow: path-MTU discovery (fragmentation needed) is
  // never rate limited, or PMTUD would black-hole under load (RFC 1191).
  const bool pmtud = type == wire::icmptype::kDestUnreachable &&
                     code == wire::icmpcode::kFragmentationNeeded;
  if (!pmtud && !icmp_limiter_.allow(type, clock_.now())) {
    counters_.add(Counter::IcmpOutRateLimitGlobal);
    return;
  }
  if (!pmtud && !icmp_host_allow(src, type)) return;  // counted IcmpOutRateLimitHost
  PacketRef err = pool_.alloc();
  if (!err) return;  // counted by the pool
  const std::span<const uint8_t> quote = wire::icmp_error_quote(ip->bytes());
  wire::IcmpRepr repr{type, code, rest, quote};
  const size_t len = repr.total_length();
  uint8_t* body = err->put(static_cast<uint32_t>(len));
  if (body == nullptr || repr.emit(std::span<uint8_t>(body, len)) == 0) {
    drop(std::move(err), DropReason::kTxNoHeadroom);
    return;
  }
  // From the address the datagram was sent to when it is ours (RFC 1812
  // 4.3.2.4 prefers the outgoing interface; for a host they coincide).
  const wire::Ipv4Address from =
      link_.is_local_address(ip->dst()) ? ip->dst() : wire::kIpv4Any;
  // Precedence internetwork control. Counted only once IP has taken it.
  // ICMP goes out without DF (Linux's ICMP socket: IP_PMTUDISC_DONT).
  if (!output(std::move(err), from, src, wire::ipproto::kIcmp, 0xC0, false)) return;
  counters_.add(Counter::IcmpOutMsgs);
  if (type == wire::icmptype::kDestUnreachable) {
    counters_.add(Counter::IcmpOutDestUnreachs);
    counters_.add(Counter::IcmpMsgOutType3);
  } else if (type == wire::icmptype::kTimeExceeded) {
    counters_.add(Counter::IcmpOutTimeExcds);
    counters_.add(Counter::IcmpMsgOutType11);
  }
}

}  // namespace inlet::ip

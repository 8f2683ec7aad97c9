#include "ports/sim/sim_peer.h"

#include "absl/strings/str_format.h"
#include "wire/arp.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/udp.h"
#include "wire/vlan.h"

namespace inlet::sim {

namespace {

Frame ethernet(wire::MacAddress dst, wire::MacAddress src, uint16_t type,
               std::span<const uint8_t> payload) {
  Frame f(wire::kEthernetHeaderLength + payload.size());
  wire::EthernetRepr{dst, src, type}.emit(f);
  std::copy(payload.begin(), payload.end(), f.begin() + wire::kEthernetHeaderLength);
  return f;
}

Frame arp(wire::MacAddress eth_dst, const wire::ArpRepr& repr) {
  uint8_t body[wire::kArpPacketLength];
  repr.emit(body);
  return ethernet(eth_dst, repr.sender_mac, wire::ethertype::kArp, body);
}

}  // namespace

Frame SimPeer::arp_request(wire::Ipv4Address target) const {
  return arp(wire::kMacBroadcast,
             {wire::ArpOperation::kRequest, mac_, ip_, wire::kMacZero, target});
}

Frame SimPeer::arp_reply(wire::MacAddress to_mac, wire::Ipv4Address to_ip) const {
  return arp(to_mac, {wire::ArpOperation::kReply, mac_, ip_, to_mac, to_ip});
}

Frame SimPeer::gratuitous_arp() const {
  return arp(wire::kMacBroadcast, {wire::ArpOperation::kRequest, mac_, ip_, wire::kMacZero, ip_});
}

Frame SimPeer::ipv4(wire::MacAddress dst_mac, wire::Ipv4Address dst, uint8_t proto,
                    std::span<const uint8_t> payload, uint8_t ttl, uint16_t ident) const {
  wire::Ipv4Repr repr;
  repr.src = ip_;
  repr.dst = dst;
  repr.protocol = proto;
  repr.ttl = ttl;
  repr.ident = ident;
  repr.payload_length = static_cast<uint16_t>(payload.size());
  Frame datagram(repr.total_length());
  repr.emit(datagram);
  std::copy(payload.begin(), payload.end(), datagram.begin() + repr.header_length());
  return ethernet(dst_mac, mac_, wire::ethertype::kIpv4, datagram);
}

Frame SimPeer::icmp_echo(wire::MacAddress dst_mac, wire::Ipv4Address dst, uint16_t ident,
                         uint16_t seq, std::span<const uint8_t> data) const {
  wire::IcmpRepr repr = wire::IcmpRepr::echo_request(ident, seq, data);
  Frame msg(repr.total_length());
  repr.emit(msg);
  return ipv4(dst_mac, dst, wire::ipproto::kIcmp, msg);
}

Frame SimPeer::udp(wire::MacAddress dst_mac, wire::Ipv4Address dst, uint16_t src_port,
                   uint16_t dst_port, std::span<const uint8_t> data) const {
  wire::UdpRepr repr{src_port, dst_port, static_cast<uint16_t>(data.size())};
  Frame dgram(repr.total_length());
  std::copy(data.begin(), data.end(), dgram.begin() + wire::kUdpHeaderLength);
  repr.emit(dgram, ip_, dst);
  return ipv4(dst_mac, dst, wire::ipproto::kUdp, dgram);
}

Frame SimPeer::tcp(wire::MacAddress dst_mac, wire::Ipv4Address dst, const wire::TcpRepr& header,
                   std::span<const uint8_t> payload) const {
  wire::TcpRepr r = header;
  r.payload_length = static_cast<uint16_t>(payload.size());
  Frame seg(r.total_length());
  std::copy(payload.begin(), payload.end(), seg.begin() + static_cast<ptrdiff_t>(r.header_length()));
  r.emit(seg, ip_, dst);
  return ipv4(dst_mac, dst, wire::ipproto::kTcp, seg);
}

std::string SimPeer::describe(std::span<const uint8_t> frame) {
  auto eth = wire::EthernetView::parse(frame);
  if (!eth) return "runt frame";
  std::span<const uint8_t> payload = eth->payload();
  uint16_t type = eth->ethertype();
  std::string prefix;
  if (type == wire::ethertype::kVlan) {
    auto tag = wire::VlanView::parse(payload);
    if (!tag) return "bad vlan tag";
    prefix = absl::StrFormat("vlan %u ", tag->vid());
    type = tag->ethertype();
    payload = tag->payload();
  }
  if (type == wire::ethertype::kArp) {
    auto a = wire::ArpView::parse(payload);
    if (!a) return prefix + "malformed arp";
    if (a->operation() == wire::ArpOperation::kReply) {
      return prefix + absl::StrFormat("arp reply %s is-at %s", a->sender_ip().to_string(),
                                      a->sender_mac().to_string());
    }
    return prefix + absl::StrFormat("arp who-has %s tell %s", a->target_ip().to_string(),
                                    a->sender_ip().to_string());
  }
  if (type != wire::ethertype::kIpv4) return prefix + absl::StrFormat("ethertype 0x%04x", type);
  auto ip = wire::Ipv4View::parse(payload);
  if (!ip) return prefix + "malformed ipv4";
  const std::string addrs =
      absl::StrFormat("%s > %s", ip->src().to_string(), ip->dst().to_string());
  if (ip->protocol() == wire::ipproto::kIcmp) {
    auto icmp = wire::IcmpView::parse(ip->payload());
    if (!icmp) return prefix + "malformed icmp " + addrs;
    if (icmp->type() == wire::icmptype::kEchoReply || icmp->type() == wire::icmptype::kEchoRequest) {
      return prefix + absl::StrFormat("icmp %s id=%u seq=%u %s",
                                      icmp->type() == 0 ? "echo-reply" : "echo-request",
                                      icmp->echo_ident(), icmp->echo_seq(), addrs);
    }
    std::string detail;
    if (auto q = icmp->quote()) {
      detail = absl::StrFormat(" (about %s proto %u port %u)", q->dst.to_string(), q->protocol,
                               q->protocol == 17 || q->protocol == 6 ? q->dst_port() : 0);
    }
    return prefix + absl::StrFormat("icmp type=%u code=%u %s%s", icmp->type(), icmp->code(), addrs,
                                    detail);
  }
  if (ip->protocol() == wire::ipproto::kTcp) {
    auto t = wire::TcpView::parse(ip->payload());
    if (!t) return prefix + "malformed tcp " + addrs;
    std::string flags;
    const char* names[] = {"F", "S", "R", "P", "."};
    const uint8_t bits[] = {wire::tcpflag::kFin, wire::tcpflag::kSyn, wire::tcpflag::kRst,
                            wire::tcpflag::kPsh, wire::tcpflag::kAck};
    for (int i = 0; i < 5; ++i) {
      if (t->flags() & bits[i]) flags += names[i];
    }
    std::string sack;
    for (const auto& b : t->options().sack()) sack += absl::StrFormat(" sack %u-%u", b.left, b.right);
    return prefix + absl::StrFormat("tcp %s:%u > %s:%u [%s] seq=%u ack=%u win=%u len=%u%s",
                                    ip->src().to_string(), t->src_port(), ip->dst().to_string(),
                                    t->dst_port(), flags, t->seq(), t->ack(), t->window(),
                                    t->payload().size(), sack);
  }
  if (ip->protocol() == wire::ipproto::kUdp) {
    auto u = wire::UdpView::parse(ip->payload());
    if (!u) return prefix + "malformed udp " + addrs;
    return prefix + absl::StrFormat("udp %s:%u > %s:%u len=%u", ip->src().to_string(),
                                    u->src_port(), ip->dst().to_string(), u->dst_port(),
                                    u->payload().size());
  }
  return prefix + absl::StrFormat("ipv4 proto %u %s", ip->protocol(), addrs);
}

}  // namespace inlet::sim

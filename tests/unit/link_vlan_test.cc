// IEEE 802.1Q VLAN sub-interfaces through the whole stack: frames tagged with
// a configured VID are received as if on the sub-interface (ARP, IPv4 and
// their replies see it, the tag kept in the packet's metadata), replies and
// requests leave tagged with its VID through the parent's port, unknown VIDs
// and stacked tags are still dropped, a tagged-only port (802.1Q 6.9 "Admit
// Only VLAN-tagged frames") refuses untagged frames, and the sub-interface's
// MTU holds in both directions.
#include "core/features.h"
#if INLET_WITH_VLAN
#include <doctest/doctest.h>

#include <vector>

#include "link_fixture.h"
#include "stack_fixture.h"

namespace inlet::stack_test {
namespace {

TEST_SUITE_BEGIN("link_vlan");

constexpr uint16_t kVid = 10;
const Bytes kPingData = bytes_of("abcdefghijklmnopqrstuvwabcdefghi");
const Bytes kPayload = bytes_of("vlan payload");

// The VLAN peer: a host on VLAN 10 of sim0's cable.
sim::SimPeer vlan_peer() { return sim::SimPeer(mac("02:00:00:00:10:01"), ip("10.10.0.1")); }

link::Interface* add_vlan10(StackHarness& h, VlanSpec spec = {}) {
  if (spec.addresses.empty()) spec.addresses = {{ip("10.10.0.2"), 24}};
  auto sub = h.stack().add_vlan(h.iface().ifindex(), kVid, spec);
  REQUIRE(sub.ok());
  return *sub;
}

// A tagged frame the stack sent: its tag, and the untagged frame inside.
struct Untagged {
  wire::VlanRepr tag;
  Bytes frame;  // the frame with the tag taken out
};

Untagged untag(const Bytes& frame) {
  auto eth = wire::EthernetView::parse(frame);
  REQUIRE(eth.ok());
  REQUIRE(eth->ethertype() == wire::ethertype::kVlan);
  auto tag = wire::VlanView::parse(eth->payload());
  REQUIRE(tag.ok());
  Untagged u{wire::VlanRepr::from(*tag), Bytes(frame.begin(), frame.begin() + 12)};
  u.frame.insert(u.frame.end(), frame.begin() + 16, frame.end());
  return u;
}

// Records the ingress metadata IP saw (TracePoint::kIpIn).
struct IpInSeen {
  uint16_t ifindex = 0;
  bool vlan_present = false;
  uint16_t vlan_tci = 0;
  int count = 0;
};

void record_ip_in(void* user, TracePoint point, const Packet& p, std::string_view) {
  if (point != TracePoint::kIpIn) return;
  auto* seen = static_cast<IpInSeen*>(user);
  seen->ifindex = p.ifindex;
  seen->vlan_present = p.vlan_present;
  seen->vlan_tci = p.vlan_tci;
  seen->count++;
}

TEST_CASE("IEEE 802.1Q: add_vlan makes a sub-interface with its own ifindex, the parent's MAC and MTU, and a connected route") {
  StackHarness h;
  link::Interface* sub = add_vlan10(h);
  CHECK(sub->ifindex() == 2);
  CHECK(sub->name() == "sim0.10");
  CHECK(sub->mac() == h.our_mac());
  CHECK(sub->mtu() == 1500);
  CHECK(sub->kind() == link::InterfaceKind::kVlan);
  CHECK(sub->parent() == &h.iface());
  CHECK(sub->vlan_id() == kVid);
  CHECK(sub->port() == nullptr);
  CHECK(h.iface().vlan(kVid) == sub);
  CHECK(h.iface().vlan(11) == nullptr);
  const auto hop = h.stack().ip().routes().lookup(ip("10.10.0.77"));
  REQUIRE(hop.has_value());
  CHECK(hop->ifindex == sub->ifindex());
  h.finish();
}

TEST_CASE("IEEE 802.1Q + RFC 826: an ARP request tagged with VID 10 is answered by the sub-interface, tagged VID 10") {
  StackHarness h;
  link::Interface* sub = add_vlan10(h);
  const sim::SimPeer vp = vlan_peer();
  const auto before = h.snapshot();
  const auto sent =
      h.exchange(with_vlan_tag(vp.arp_request(ip("10.10.0.2")), wire::vlan_tci(3, false, kVid)));
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].size() == wire::kEthernetMinFrame);  // tag included, then padded
  const Untagged u = untag(sent[0]);
  CHECK(u.tag.vid == kVid);
  CHECK(u.tag.pcp == 0);
  CHECK_FALSE(u.tag.dei);
  CHECK(u.tag.ethertype == wire::ethertype::kArp);
  auto eth = wire::EthernetView::parse(u.frame);
  REQUIRE(eth.ok());
  CHECK(eth->dst() == vp.mac());
  CHECK(eth->src() == h.our_mac());
  const wire::ArpView reply = parse_sent_arp(u.frame);
  CHECK(reply.operation() == wire::ArpOperation::kReply);
  CHECK(reply.sender_ip() == ip("10.10.0.2"));
  CHECK(reply.sender_mac() == h.our_mac());
  CHECK(reply.target_ip() == vp.ip());
  CHECK(reply.target_mac() == vp.mac());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::ArpInRequests, 1},
                                {Counter::ArpOutReplies, 1},
                                {Counter::tx_packets, 1}}) == "");
  const link::Neighbour* n = h.neighbours().find(vp.ip());
  REQUIRE(n != nullptr);
  CHECK(n->ifindex == sub->ifindex());
  CHECK(n->mac == vp.mac());

  // The same request untagged is not the VLAN's: sim0 has no 10.10.0.2.
  const auto untagged = h.exchange(vp.arp_request(ip("10.10.0.2")));
  CHECK(untagged.empty());
  h.finish();
}

TEST_CASE("IEEE 802.1Q + RFC 826: the stack resolves a VLAN neighbour with a tagged broadcast, then sends tagged") {
  StackHarness h;
  add_vlan10(h);
  const sim::SimPeer vp = vlan_peer();
  auto before = h.snapshot();
  CHECK(h.stack().udp_send({ip("10.10.0.2"), 5000}, {vp.ip(), 7000}, kPayload));
  auto sent = h.run();
  REQUIRE(sent.size() == 1);
  Untagged u = untag(sent[0]);
  CHECK(u.tag.vid == kVid);
  auto eth = wire::EthernetView::parse(u.frame);
  REQUIRE(eth.ok());
  CHECK(eth->dst() == wire::kMacBroadcast);
  const wire::ArpView request = parse_sent_arp(u.frame);
  CHECK(request.operation() == wire::ArpOperation::kRequest);
  CHECK(request.sender_ip() == ip("10.10.0.2"));
  CHECK(request.target_ip() == vp.ip());
  CHECK(h.counter_diff(before, {{Counter::ArpOutRequests, 1},
                                {Counter::UdpOutDatagrams, 1},
                                {Counter::IpOutRequests, 1},
                                {Counter::tx_packets, 1}}) == "");

  // The reply (tagged) releases the datagram, tagged VID 10.
  before = h.snapshot();
  sent = h.exchange(with_vlan_tag(vp.arp_reply(h.our_mac(), ip("10.10.0.2")), wire::vlan_tci(0, false, kVid)));
  REQUIRE(sent.size() == 1);
  u = untag(sent[0]);
  CHECK(u.tag.vid == kVid);
  CHECK(u.tag.ethertype == wire::ethertype::kIpv4);
  const SentIpv4 s = parse_sent_ipv4(u.frame);
  CHECK(s.eth.dst() == vp.mac());
  CHECK(s.ip.src() == ip("10.10.0.2"));
  CHECK(s.ip.dst() == vp.ip());
  auto udp = wire::UdpView::parse(s.ip.payload());
  REQUIRE(udp.ok());
  CHECK(udp->dst_port() == 7000);
  CHECK(Bytes(udp->payload().begin(), udp->payload().end()) == kPayload);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::ArpInReplies, 1},
                                {Counter::tx_packets, 1}}) == "");
  h.finish();
}

TEST_CASE("IEEE 802.1Q: a ping to the sub-interface is answered tagged with its VID; IP saw the sub-interface and the tag") {
  StackHarness h;
  link::Interface* sub = add_vlan10(h);
  const sim::SimPeer vp = vlan_peer();
  REQUIRE(h.exchange(with_vlan_tag(vp.arp_request(ip("10.10.0.2")), wire::vlan_tci(0, false, kVid))).size() == 1);
  IpInSeen seen;
  h.stack().set_trace(Trace{&record_ip_in, &seen});
  const uint16_t tci = wire::vlan_tci(5, true, kVid);
  const auto before = h.snapshot();
  const auto sent = h.exchange(with_vlan_tag(vp.icmp_echo(h.our_mac(), ip("10.10.0.2"), 0x77, 3, kPingData), tci));
  h.stack().set_trace(Trace{});
  REQUIRE(sent.size() == 1);
  const Untagged u = untag(sent[0]);
  CHECK(u.tag.vid == kVid);
  CHECK(u.tag.pcp == 0);
  const SentIpv4 s = parse_sent_ipv4(u.frame);
  CHECK(s.eth.dst() == vp.mac());
  CHECK(s.eth.src() == h.our_mac());
  CHECK(s.ip.src() == ip("10.10.0.2"));
  CHECK(s.ip.dst() == vp.ip());
  auto icmp = wire::IcmpView::parse(s.ip.payload(), wire::ChecksumMode::kVerify);
  REQUIRE(icmp.ok());
  CHECK(icmp->type() == wire::icmptype::kEchoReply);
  CHECK(icmp->echo_ident() == 0x77);
  CHECK(icmp->echo_seq() == 3);
  CHECK(Bytes(icmp->payload().begin(), icmp->payload().end()) == kPingData);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},      {Counter::IpInReceives, 1},
                                {Counter::IpInDelivers, 1},    {Counter::IcmpInMsgs, 1},
                                {Counter::IcmpInEchos, 1},     {Counter::IcmpMsgInType8, 1},
                                {Counter::IcmpOutMsgs, 1},     {Counter::IcmpOutEchoReps, 1},
                                {Counter::IcmpMsgOutType0, 1}, {Counter::IpOutRequests, 1},
                                {Counter::tx_packets, 1}}) == "");
  CHECK(seen.count == 1);
  CHECK(seen.ifindex == sub->ifindex());
  CHECK(seen.vlan_present);
  CHECK(seen.vlan_tci == tci);

  // The parent still answers untagged pings to its own address.
  h.learn_peer();
  const auto plain = h.exchange(h.peer().icmp_echo(h.our_mac(), h.our_ip(), 1, 1, kPingData));
  REQUIRE(plain.size() == 1);
  const SentIpv4 p = parse_sent_ipv4(plain[0]);
  CHECK(p.ip.src() == h.our_ip());
  CHECK(p.ip.dst() == h.peer().ip());
  h.finish();
}

TEST_CASE("Linux vlan_do_receive: with VLAN 10 configured, other VIDs still count rx_vlan_dropped") {
  StackHarness h;
  add_vlan10(h);
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  const sim::SimPeer vp = vlan_peer();
  for (uint16_t vid : {uint16_t{11}, uint16_t{100}, uint16_t{4094}, uint16_t{4095}}) {
    CAPTURE(vid);
    const auto before = h.snapshot();
    CHECK(h.exchange(with_vlan_tag(vp.udp(h.our_mac(), ip("10.10.0.2"), 5000, 7000, kPayload),
                                   wire::vlan_tci(0, false, vid)))
              .empty());
    CHECK(h.counter_diff(before, {{Counter::rx_packets, 1}, {Counter::rx_vlan_dropped, 1}}) == "");
  }
  CHECK(h.counters().drops(DropReason::kVlanNotConfigured) == 4);
  CHECK_FALSE((*sock)->readable());
  h.finish();
}

TEST_CASE("IEEE 802.1ad: stacked tags are dropped even when a VID is configured; an S-tag is not a C-VLAN") {
  StackHarness h;
  add_vlan10(h);
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  const sim::SimPeer vp = vlan_peer();
  const Bytes base = vp.udp(h.our_mac(), ip("10.10.0.2"), 5000, 7000, kPayload);
  const Bytes c_tagged = with_vlan_tag(base, wire::vlan_tci(0, false, kVid));
  for (const Bytes& f : {with_vlan_tag(c_tagged, wire::vlan_tci(0, false, kVid), wire::ethertype::kQinQ),
                         with_vlan_tag(c_tagged, wire::vlan_tci(0, false, kVid))}) {
    const auto before = h.snapshot();
    CHECK(h.exchange(f).empty());
    CHECK(h.counter_diff(before, {{Counter::rx_packets, 1}, {Counter::rx_vlan_dropped, 1}}) == "");
  }
  CHECK(h.counters().drops(DropReason::kVlanStacked) == 2);
  // One 802.1ad S-tag with VID 10: not the 802.1Q sub-interface's.
  const auto before = h.snapshot();
  CHECK(h.exchange(with_vlan_tag(base, wire::vlan_tci(0, false, kVid), wire::ethertype::kQinQ)).empty());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1}, {Counter::rx_vlan_dropped, 1}}) == "");
  CHECK(h.counters().drops(DropReason::kVlanNotConfigured) == 1);
  CHECK_FALSE((*sock)->readable());
  h.finish();
}

TEST_CASE("IEEE 802.1Q 6.9: a tagged-only port refuses untagged and priority-tagged frames; its VLANs still receive") {
  StackHarness h;
  add_vlan10(h);
  h.iface().set_tagged_only(true);
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  const Bytes untagged = h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kPayload);
  for (const Bytes& f : {untagged, with_vlan_tag(untagged, wire::vlan_tci(4, false, 0)),
                         h.peer().arp_request(h.our_ip())}) {
    const auto before = h.snapshot();
    CHECK(h.exchange(f).empty());
    CHECK(h.counter_diff(before, {{Counter::rx_packets, 1}, {Counter::rx_vlan_dropped, 1}}) == "");
  }
  CHECK(h.counters().drops(DropReason::kVlanUntaggedRefused) == 3);
  CHECK(h.neighbours().find(h.peer().ip()) == nullptr);

  const sim::SimPeer vp = vlan_peer();
  const auto before = h.snapshot();
  CHECK(h.exchange(with_vlan_tag(vp.udp(h.our_mac(), ip("10.10.0.2"), 5000, 7000, kPayload),
                                 wire::vlan_tci(0, false, kVid)))
            .empty());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpInDelivers, 1},
                                {Counter::UdpInDatagrams, 1}}) == "");
  uint8_t buf[64];
  auto d = (*sock)->recv(buf);
  REQUIRE(d.has_value());
  CHECK(Bytes(buf, buf + d->copied) == kPayload);
  CHECK(d->from.address == vp.ip());

  // Turned off again, untagged frames are the port's.
  h.iface().set_tagged_only(false);
  CHECK(h.exchange(untagged).empty());
  CHECK((*sock)->queued_datagrams() == 1);
  h.finish();
}

TEST_CASE("IEEE 802.1Q 6.9: InterfaceSpec::tagged_only sets the port's admission at add_interface") {
  ManualClock clock;
  Stack stack(Tunables(), &clock);
  InterfaceSpec spec;
  spec.tagged_only = true;
  auto iface = stack.add_interface(std::make_unique<sim::SimPort>(), spec);
  REQUIRE(iface.ok());
  CHECK((*iface)->tagged_only());
  auto plain = stack.add_interface(std::make_unique<sim::SimPort>(sim::SimPortConfig{.name = "sim1"}), {});
  REQUIRE(plain.ok());
  CHECK_FALSE((*plain)->tagged_only());
  stack.shutdown();
  CHECK(stack.pool().in_use() == 0);
}

TEST_CASE("IEEE 802.1Q: the sub-interface's MTU bounds what it receives and sends, and may not exceed the parent's") {
  StackHarness h;
  VlanSpec too_big;
  too_big.mtu = 1501;
  too_big.addresses = {{ip("10.10.0.2"), 24}};
  auto refused = h.stack().add_vlan(h.iface().ifindex(), kVid, too_big);
  CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
  link::Interface* sub = add_vlan10(h, VlanSpec{.mtu = 1400});
  CHECK(sub->mtu() == 1400);
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  const sim::SimPeer vp = vlan_peer();
  REQUIRE(h.exchange(with_vlan_tag(vp.arp_request(ip("10.10.0.2")), wire::vlan_tci(0, false, kVid))).size() == 1);

  // Receive: an IP datagram of exactly 1400 bytes is fine, 1401 is too long.
  const Bytes fits = with_vlan_tag(vp.udp(h.our_mac(), ip("10.10.0.2"), 5000, 7000, Bytes(1400 - 28, 0x33)),
                                   wire::vlan_tci(0, false, kVid));
  REQUIRE(fits.size() == 1418);
  auto before = h.snapshot();
  CHECK(h.exchange(fits).empty());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpInDelivers, 1},
                                {Counter::UdpInDatagrams, 1}}) == "");
  before = h.snapshot();
  CHECK(h.exchange(with_vlan_tag(vp.udp(h.our_mac(), ip("10.10.0.2"), 5000, 7000, Bytes(1401 - 28, 0x33)),
                                 wire::vlan_tci(0, false, kVid)))
            .empty());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1}, {Counter::rx_length_errors, 1}}) == "");
  CHECK((*sock)->queued_datagrams() == 1);

  // Send: 1400 bytes of IP leave as one 1418-byte tagged frame ...
  CHECK(h.stack().udp_send({ip("10.10.0.2"), 7000}, {vp.ip(), 5000}, Bytes(1400 - 28, 0x44)));
  auto sent = h.run();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].size() == 1418);
  Untagged u = untag(sent[0]);
  CHECK(u.tag.vid == kVid);
  CHECK(parse_sent_ipv4(u.frame).ip.total_length() == 1400);
  // ... and nothing larger ever leaves the sub-interface (fragmented or dropped by IP).
  (void)h.stack().udp_send({ip("10.10.0.2"), 7000}, {vp.ip(), 5000}, Bytes(1401 - 28, 0x44));
  sent = h.run();
  for (const Bytes& f : sent) {
    CHECK(f.size() <= 1418);
    CHECK(untag(f).tag.vid == kVid);
  }
  h.finish();
}

TEST_CASE("add_vlan refuses VID 0 and 4095, a taken VID, a VLAN parent, an unknown parent and bad addresses") {
  StackHarness h;
  link::Interface* sub = add_vlan10(h);
  auto& stack = h.stack();
  const uint16_t parent = h.iface().ifindex();
  CHECK(stack.add_vlan(parent, 0).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(stack.add_vlan(parent, 4095).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(stack.add_vlan(parent, 5000).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(stack.add_vlan(parent, kVid).status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(stack.add_vlan(sub->ifindex(), 20).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(stack.add_vlan(99, 20).status().code() == absl::StatusCode::kNotFound);
  CHECK(stack.add_vlan(parent, 20, VlanSpec{.addresses = {{ip("127.0.0.1"), 8}}}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  // A second VLAN and a VID of 4094 are fine.
  auto v4094 = stack.add_vlan(parent, 4094, VlanSpec{.name = "trunk.max"});
  REQUIRE(v4094.ok());
  CHECK((*v4094)->name() == "trunk.max");
  CHECK(stack.link().interfaces().size() == 3);
  h.finish();
}

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::stack_test
#endif  // INLET_WITH_VLAN

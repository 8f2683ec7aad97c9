// ARP through the whole stack (RFC 826, RFC 5227, Linux's arp_process with
// arp_accept=0, and the neighbour table's gc_thresh3 / base_reachable_time /
// gc_stale_time / unres_qlen / mcast_solicit knobs).
#include <doctest/doctest.h>

#include "stack_fixture.h"

namespace inlet::stack_test {
namespace {

using link::NeighbourState;

TEST_SUITE_BEGIN("stack_arp");

// An ARP packet in an Ethernet frame, to be damaged by the caller.
Bytes arp_frame(wire::MacAddress eth_dst, const wire::ArpRepr& repr) {
  Bytes f(kEth + wire::kArpPacketLength);
  wire::EthernetRepr{eth_dst, repr.sender_mac, wire::ethertype::kArp}.emit(f);
  repr.emit(std::span<uint8_t>(f).subspan(kEth));
  return f;
}

TEST_CASE("RFC 826: a request for our address is answered with our MAC and the requester is learned") {
  StackHarness h;
  const auto before = h.snapshot();
  const auto sent = h.exchange(h.peer().arp_request(h.our_ip()));
  REQUIRE(sent.size() == 1);
  // Padded to the Ethernet minimum, unicast back to the requester.
  CHECK(sent[0].size() == wire::kEthernetMinFrame);
  auto eth = wire::EthernetView::parse(sent[0]);
  REQUIRE(eth.ok());
  CHECK(eth->dst() == h.peer().mac());
  CHECK(eth->src() == h.our_mac());
  const wire::ArpView reply = parse_sent_arp(sent[0]);
  CHECK(reply.operation() == wire::ArpOperation::kReply);
  CHECK(reply.sender_mac() == h.our_mac());
  CHECK(reply.sender_ip() == h.our_ip());
  CHECK(reply.target_mac() == h.peer().mac());
  CHECK(reply.target_ip() == h.peer().ip());

  const link::Neighbour* n = h.neighbours().find(h.peer().ip());
  REQUIRE(n != nullptr);
  CHECK(n->state == NeighbourState::kReachable);
  CHECK(n->mac == h.peer().mac());
  CHECK(h.neighbours().size() == 1);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::ArpInRequests, 1},
                                {Counter::ArpOutReplies, 1},
                                {Counter::tx_packets, 1}}) == "");
  h.finish();
}

TEST_CASE("RFC 826: a request for another host's address is not answered and creates no entry") {
  StackHarness h;
  const auto before = h.snapshot();
  CHECK(h.exchange(h.peer().arp_request(ip("192.0.2.99"))).empty());
  CHECK(h.neighbours().size() == 0);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::ArpInRequests, 1},
                                {Counter::rx_dropped, 1}}) == "");
  CHECK(h.counters().drops(DropReason::kArpNotForUs) == 1);
  h.finish();
}

TEST_CASE("RFC 5227 2.1.1: a probe (sender 0.0.0.0) for our address is defended and learns nothing") {
  StackHarness h;
  const wire::ArpRepr probe{wire::ArpOperation::kRequest, h.peer().mac(), wire::kIpv4Any,
                            wire::kMacZero, h.our_ip()};
  const auto before = h.snapshot();
  const auto sent = h.exchange(arp_frame(wire::kMacBroadcast, probe));
  REQUIRE(sent.size() == 1);
  const wire::ArpView reply = parse_sent_arp(sent[0]);
  CHECK(reply.operation() == wire::ArpOperation::kReply);
  CHECK(reply.sender_ip() == h.our_ip());
  CHECK(reply.sender_mac() == h.our_mac());
  CHECK(reply.target_ip() == wire::kIpv4Any);
  CHECK(reply.target_mac() == h.peer().mac());
  CHECK(h.neighbours().size() == 0);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::ArpInRequests, 1},
                                {Counter::ArpOutReplies, 1},
                                {Counter::tx_packets, 1}}) == "");
  h.finish();
}

TEST_CASE("Linux arp_accept=0: gratuitous ARP updates an existing entry but creates none") {
  StackHarness h;
  // A stranger announcing itself is not learned.
  const sim::SimPeer stranger(mac("02:00:00:00:00:77"), ip("192.0.2.77"));
  auto before = h.snapshot();
  CHECK(h.exchange(stranger.gratuitous_arp()).empty());
  CHECK(h.neighbours().find(stranger.ip()) == nullptr);
  CHECK(h.neighbours().size() == 0);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::ArpInRequests, 1},
                                {Counter::rx_dropped, 1}}) == "");

  // A known neighbour that moves to a new MAC is followed (RFC 826 merge).
  h.learn_peer();
  const sim::SimPeer moved(mac("02:00:00:00:00:42"), h.peer().ip());
  before = h.snapshot();
  h.clock().advance(absl::Milliseconds(10));
  CHECK(h.exchange(moved.gratuitous_arp()).empty());
  const link::Neighbour* n = h.neighbours().find(h.peer().ip());
  REQUIRE(n != nullptr);
  CHECK(n->mac == moved.mac());
  CHECK(n->state == NeighbourState::kReachable);
  CHECK(n->confirmed == h.clock().now());
  CHECK(h.neighbours().size() == 1);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1}, {Counter::ArpInRequests, 1}}) == "");
  h.finish();
}

TEST_CASE("Linux arp_accept=0: an unsolicited reply creates no entry") {
  StackHarness h;
  const auto before = h.snapshot();
  CHECK(h.exchange(h.peer().arp_reply(h.our_mac(), h.our_ip())).empty());
  CHECK(h.neighbours().find(h.peer().ip()) == nullptr);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::ArpInReplies, 1},
                                {Counter::rx_dropped, 1}}) == "");
  CHECK(h.counters().drops(DropReason::kArpUnsolicited) == 1);
  h.finish();
}

TEST_CASE("RFC 826: malformed ARP (hlen 8, truncated, ptype IPv6, unknown opcode) counts ArpInErrors") {
  StackHarness h;
  const Bytes good = h.peer().arp_request(h.our_ip());
  Bytes hlen8 = good;
  hlen8[kEth + 4] = 8;
  const Bytes truncated(good.begin(), good.begin() + kEth + 20);
  Bytes ptype_v6 = good;
  ptype_v6[kEth + 2] = 0x86;
  ptype_v6[kEth + 3] = 0xDD;
  Bytes rarp = good;
  rarp[kEth + 7] = 3;  // RARP request
  for (const Bytes* f : std::vector<const Bytes*>{&hlen8, &truncated, &ptype_v6, &rarp}) {
    const auto before = h.snapshot();
    CHECK(h.exchange(*f).empty());
    CHECK(h.counter_diff(before, {{Counter::rx_packets, 1}, {Counter::ArpInErrors, 1}}) == "");
  }
  CHECK(h.neighbours().size() == 0);
  h.finish();
}

TEST_CASE("Linux arp_process: a sender claiming our address or a multicast MAC counts ArpInErrors") {
  StackHarness h;
  const sim::SimPeer impostor(mac("02:00:00:00:00:66"), h.our_ip());
  const sim::SimPeer multicast_sender(mac("01:00:5e:00:00:05"), ip("192.0.2.7"));
  const sim::SimPeer broadcast_sender(wire::kMacBroadcast, ip("192.0.2.8"));
  const sim::SimPeer our_mac_sender(h.our_mac(), ip("192.0.2.9"));
  for (const sim::SimPeer* p : {&impostor, &multicast_sender, &broadcast_sender, &our_mac_sender}) {
    const auto before = h.snapshot();
    CHECK(h.exchange(p->arp_request(h.our_ip())).empty());
    CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                  {Counter::ArpInRequests, 1},
                                  {Counter::ArpInErrors, 1}}) == "");
  }
  CHECK(h.neighbours().size() == 0);
  h.finish();
}

TEST_CASE("net.ipv4.neigh.default.gc_thresh3: a flood of senders never grows the table past the bound") {
  StackHarness h({.sysctls = {{Tunable::kNeighGcThresh3, 4}}});
  const auto before = h.snapshot();
  for (uint8_t i = 0; i < 20; ++i) {
    const sim::SimPeer sender(wire::MacAddress({0x02, 0, 0, 0, 1, i}),
                              wire::Ipv4Address::from_octets(192, 0, 2, static_cast<uint8_t>(10 + i)));
    // Every request for our address is still answered (RFC 826 does not make
    // the reply depend on the cache), the table simply stops learning.
    CHECK(h.exchange(sender.arp_request(h.our_ip())).size() == 1);
    CHECK(h.neighbours().size() <= 4);
  }
  CHECK(h.neighbours().size() == 4);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 20},
                                {Counter::ArpInRequests, 20},
                                {Counter::ArpOutReplies, 20},
                                {Counter::tx_packets, 20},
                                {Counter::ArpTableFull, 16}}) == "");

  // Output toward a new neighbour finds no room either: the packet is
  // dropped (counted), and no request is sent for an entry we cannot keep.
  const auto before_out = h.snapshot();
  const uint8_t payload[] = {1};
  CHECK(h.stack().udp_send({wire::kIpv4Any, 7000}, {ip("192.0.2.100"), 5000}, payload));
  CHECK(h.run().empty());
  CHECK(h.neighbours().size() == 4);
  CHECK(h.counter_diff(before_out, {{Counter::UdpOutDatagrams, 1},
                                    {Counter::IpOutRequests, 1},
                                    {Counter::ArpTableFull, 1},
                                    {Counter::ArpUnresolvedDiscards, 1}}) == "");

  // Once the entries have gone STALE, a newcomer evicts the least recently
  // used one (neighbour GC) instead of being refused.
  h.advance(absl::Seconds(31), absl::Seconds(1));
  const auto before_gc = h.snapshot();
  const sim::SimPeer late(mac("02:00:00:00:02:01"), ip("192.0.2.200"));
  CHECK(h.exchange(late.arp_request(h.our_ip())).size() == 1);
  CHECK(h.neighbours().size() == 4);
  CHECK(h.neighbours().find(late.ip()) != nullptr);
  CHECK(h.counter_diff(before_gc, {{Counter::rx_packets, 1},
                                   {Counter::ArpInRequests, 1},
                                   {Counter::ArpOutReplies, 1},
                                   {Counter::tx_packets, 1},
                                   {Counter::ArpGcEntries, 1}}) == "");
  h.finish();
}

TEST_CASE("Linux neighbour aging: REACHABLE -> STALE after base_reachable_time_ms, gone after gc_stale_time") {
  StackHarness h({.sysctls = {{Tunable::kNeighBaseReachableMs, 5000},
                              {Tunable::kNeighGcStaleTime, 10}}});
  h.learn_peer();
  const auto before = h.snapshot();
  auto state = [&] {
    const link::Neighbour* n = h.neighbours().find(h.peer().ip());
    return n == nullptr ? NeighbourState::kFree : n->state;
  };
  CHECK(h.advance(absl::Milliseconds(4900)).empty());
  CHECK(state() == NeighbourState::kReachable);
  CHECK(h.advance(absl::Milliseconds(100)).empty());
  CHECK(state() == NeighbourState::kStale);
  CHECK(h.advance(absl::Milliseconds(4900)).empty());
  CHECK(state() == NeighbourState::kStale);
  CHECK(h.advance(absl::Milliseconds(100)).empty());
  CHECK(state() == NeighbourState::kFree);
  CHECK(h.neighbours().size() == 0);
  CHECK(h.counter_diff(before, {{Counter::ArpGcEntries, 1}}) == "");
  h.finish();
}

TEST_CASE("Linux unres_qlen: output to an unresolved neighbour asks once, holds the newest packets, flushes on reply") {
  StackHarness h({.sysctls = {{Tunable::kNeighUnresQlen, 3}}});
  const auto before = h.snapshot();
  for (char c = '1'; c <= '5'; ++c) {
    const uint8_t payload[] = {static_cast<uint8_t>(c)};
    CHECK(h.stack().udp_send({wire::kIpv4Any, 7000}, {h.peer().ip(), 5000}, payload));
  }
  const auto asked = h.run();
  REQUIRE(asked.size() == 1);
  auto eth = wire::EthernetView::parse(asked[0]);
  REQUIRE(eth.ok());
  CHECK(eth->dst() == wire::kMacBroadcast);
  const wire::ArpView request = parse_sent_arp(asked[0]);
  CHECK(request.operation() == wire::ArpOperation::kRequest);
  CHECK(request.sender_mac() == h.our_mac());
  CHECK(request.sender_ip() == h.our_ip());
  CHECK(request.target_mac() == wire::kMacZero);
  CHECK(request.target_ip() == h.peer().ip());
  const link::Neighbour* n = h.neighbours().find(h.peer().ip());
  REQUIRE(n != nullptr);
  CHECK(n->state == NeighbourState::kIncomplete);
  CHECK(n->pending_count == 3);
  CHECK(h.counter_diff(before, {{Counter::UdpOutDatagrams, 5},
                                {Counter::IpOutRequests, 5},
                                {Counter::ArpOutRequests, 1},
                                {Counter::tx_packets, 1},
                                {Counter::ArpUnresolvedDiscards, 2}}) == "");

  const auto before_reply = h.snapshot();
  const auto flushed = h.exchange(h.peer().arp_reply(h.our_mac(), h.our_ip()));
  REQUIRE(flushed.size() == 3);
  for (size_t i = 0; i < flushed.size(); ++i) {
    const SentIpv4 s = parse_sent_ipv4(flushed[i]);
    CHECK(s.eth.dst() == h.peer().mac());
    CHECK(s.eth.src() == h.our_mac());
    auto u = wire::UdpView::parse(s.ip.payload(), s.ip.src(), s.ip.dst());
    REQUIRE(u.ok());
    REQUIRE(u->payload().size() == 1);
    CHECK(u->payload()[0] == static_cast<uint8_t>('3' + i));  // oldest two were dropped
  }
  CHECK(n->state == NeighbourState::kReachable);
  CHECK(n->mac == h.peer().mac());
  CHECK(h.counter_diff(before_reply, {{Counter::rx_packets, 1},
                                      {Counter::ArpInReplies, 1},
                                      {Counter::tx_packets, 3}}) == "");
  h.finish();
}

TEST_CASE("Linux mcast_solicit: a neighbour unresolved after the probes is dropped with its packets") {
  StackHarness h;  // mcast_solicit 3, retrans_time_ms 1000
  const auto before = h.snapshot();
  const uint8_t payload[] = {'x'};
  CHECK(h.stack().udp_send({wire::kIpv4Any, 7000}, {h.peer().ip(), 5000}, payload));
  CHECK(h.stack().udp_send({wire::kIpv4Any, 7000}, {h.peer().ip(), 5000}, payload));
  std::vector<Bytes> sent = h.run();
  for (Bytes& f : h.advance(absl::Seconds(5))) sent.push_back(std::move(f));
  REQUIRE(sent.size() == 3);
  for (const Bytes& f : sent) {
    const wire::ArpView a = parse_sent_arp(f);
    CHECK(a.operation() == wire::ArpOperation::kRequest);
    CHECK(a.target_ip() == h.peer().ip());
  }
  CHECK(h.neighbours().find(h.peer().ip()) == nullptr);
  CHECK(h.counter_diff(before, {{Counter::UdpOutDatagrams, 2},
                                {Counter::IpOutRequests, 2},
                                {Counter::ArpOutRequests, 3},
                                {Counter::tx_packets, 3},
                                {Counter::ArpUnresolvedDiscards, 2}}) == "");
  h.finish();
}

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::stack_test

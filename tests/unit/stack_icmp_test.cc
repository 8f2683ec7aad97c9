// ICMP through the whole stack: echo (RFC 792, RFC 1122 3.2.2.6), the
// icmp_echo_ignore_* sysctls, input errors, the RFC 1122 3.2.2 rules on when
// no error may be sent, and Linux's global rate limit (icmp_msgs_burst /
// icmp_msgs_per_sec over icmp_ratemask).
#include "core/features.h"
#include <doctest/doctest.h>

#include <cstring>

#include "stack_fixture.h"

namespace inlet::stack_test {
namespace {

TEST_SUITE_BEGIN("stack_icmp");

const Bytes kPingData = bytes_of("abcdefghijklmnopqrstuvwabcdefghi");

// Checks that `frame` is an echo reply to the peer, from `from`, echoing
// ident/seq/data exactly, with a valid ICMP checksum.
void check_echo_reply(StackHarness& h, const Bytes& frame, wire::Ipv4Address from, uint16_t ident,
                      uint16_t seq, const Bytes& data) {
  const SentIpv4 s = parse_sent_ipv4(frame);
  CHECK(s.eth.dst() == h.peer().mac());
  CHECK(s.eth.src() == h.our_mac());
  CHECK(s.ip.src() == from);
  CHECK(s.ip.dst() == h.peer().ip());
  CHECK(s.ip.protocol() == wire::ipproto::kIcmp);
  CHECK(s.ip.ttl() == 64);
  CHECK_FALSE(s.ip.is_fragment());
  auto icmp = wire::IcmpView::parse(s.ip.payload(), wire::ChecksumMode::kVerify);
  REQUIRE(icmp.ok());
  CHECK(icmp->type() == wire::icmptype::kEchoReply);
  CHECK(icmp->code() == 0);
  CHECK(icmp->echo_ident() == ident);
  CHECK(icmp->echo_seq() == seq);
  CHECK(Bytes(icmp->payload().begin(), icmp->payload().end()) == data);
}

const StackHarness::Expected kEchoAnswered = {
    {Counter::rx_packets, 1},      {Counter::IpInReceives, 1},    {Counter::IpInDelivers, 1},
    {Counter::IcmpInMsgs, 1},      {Counter::IcmpInEchos, 1},     {Counter::IcmpMsgInType8, 1},
    {Counter::IcmpOutMsgs, 1},     {Counter::IcmpOutEchoReps, 1}, {Counter::IcmpMsgOutType0, 1},
    {Counter::IpOutRequests, 1},   {Counter::tx_packets, 1}};

TEST_CASE("RFC 792 / RFC 1122 3.2.2.6: an echo request gets an echo reply with the same id, seq and data") {
  StackHarness h;
  h.learn_peer();
  const auto before = h.snapshot();
  const auto sent = h.exchange(h.peer().icmp_echo(h.our_mac(), h.our_ip(), 0x1234, 7, kPingData));
  REQUIRE(sent.size() == 1);
  check_echo_reply(h, sent[0], h.our_ip(), 0x1234, 7, kPingData);
  CHECK(h.counter_diff(before, kEchoAnswered) == "");
  h.finish();
}

TEST_CASE("RFC 1122 3.2.2.6: the reply comes from the address that was pinged") {
  StackHarness h({.addresses = {{ip("192.0.2.2"), 24}, {ip("198.51.100.2"), 24}}});
  h.learn_peer();
  const auto before = h.snapshot();
  const auto sent = h.exchange(h.peer().icmp_echo(h.our_mac(), ip("198.51.100.2"), 9, 1, kPingData));
  REQUIRE(sent.size() == 1);
  check_echo_reply(h, sent[0], ip("198.51.100.2"), 9, 1, kPingData);
  CHECK(h.counter_diff(before, kEchoAnswered) == "");
  h.finish();
}

TEST_CASE("RFC 1122 3.2.2.6: an echo request with an odd-length payload is echoed exactly") {
  StackHarness h;
  h.learn_peer();
  const Bytes odd = bytes_of("odd");
  const auto sent = h.exchange(h.peer().icmp_echo(h.our_mac(), h.our_ip(), 0xFFFF, 0xFFFF, odd));
  REQUIRE(sent.size() == 1);
  check_echo_reply(h, sent[0], h.our_ip(), 0xFFFF, 0xFFFF, odd);
  h.finish();
}

TEST_CASE("RFC 1122 3.2.2.6: an empty echo in a padded frame, or one with IP options, gets an exact reply") {
  StackHarness h;
  h.learn_peer();
  // 42 bytes of frame padded to the Ethernet minimum: the padding is not data.
  Bytes padded = h.peer().icmp_echo(h.our_mac(), h.our_ip(), 5, 6, {});
  padded.resize(wire::kEthernetMinFrame, 0xA5);
  auto sent = h.exchange(padded);
  REQUIRE(sent.size() == 1);
  check_echo_reply(h, sent[0], h.our_ip(), 5, 6, {});
  CHECK(parse_sent_ipv4(sent[0]).ip.total_length() == 28);

  // Options in the request: the reply carries a fresh 20-byte header.
  const wire::IcmpRepr echo = wire::IcmpRepr::echo_request(7, 8, kPingData);
  Bytes msg(echo.total_length());
  echo.emit(msg);
  const uint8_t options[] = {wire::ipv4opt::kNop, wire::ipv4opt::kNop, wire::ipv4opt::kNop,
                             wire::ipv4opt::kEol};
  wire::Ipv4Repr repr;
  repr.src = h.peer().ip();
  repr.dst = h.our_ip();
  repr.protocol = wire::ipproto::kIcmp;
  repr.options = options;
  sent = h.exchange(ipv4_frame(h.our_mac(), h.peer().mac(), repr, msg));
  REQUIRE(sent.size() == 1);
  check_echo_reply(h, sent[0], h.our_ip(), 7, 8, kPingData);
  CHECK(parse_sent_ipv4(sent[0]).ip.header_length() == 20);
  h.finish();
}

TEST_CASE("Linux icmp_reply: an echo request with no route back counts IpOutNoRoutes, not IcmpOutEchoReps") {
  StackHarness h;
  const sim::SimPeer far(h.peer().mac(), ip("203.0.113.5"));
  const auto before = h.snapshot();
  CHECK(h.exchange(far.icmp_echo(h.our_mac(), h.our_ip(), 1, 1, kPingData)).empty());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpInDelivers, 1},
                                {Counter::IcmpInMsgs, 1},
                                {Counter::IcmpInEchos, 1},
                                {Counter::IcmpMsgInType8, 1},
                                {Counter::IpOutNoRoutes, 1}}) == "");
  h.finish();
}

TEST_CASE("RFC 1122 3.2.2: an echo request with a bad ICMP checksum counts IcmpInCsumErrors and is not answered") {
  StackHarness h;
  h.learn_peer();
  Bytes f = h.peer().icmp_echo(h.our_mac(), h.our_ip(), 1, 1, kPingData);
  f[kEth + 20 + 2] ^= 0x01;
  const auto before = h.snapshot();
  CHECK(h.exchange(f).empty());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpInDelivers, 1},
                                {Counter::IcmpInMsgs, 1},
                                {Counter::IcmpInCsumErrors, 1},
                                {Counter::IcmpInErrors, 1}}) == "");
  h.finish();
}

TEST_CASE("net.ipv4.icmp_echo_ignore_broadcasts: broadcast echo ignored when 1, answered when 0") {
  const StackHarness::Expected ignored = {
      {Counter::rx_packets, 1},       {Counter::IpInReceives, 1}, {Counter::IpInDelivers, 1},
      {Counter::IpExtInBcastPkts, 1}, {Counter::IcmpInMsgs, 1},   {Counter::IcmpInEchos, 1},
      {Counter::IcmpMsgInType8, 1},   {Counter::IcmpInIgnored, 1}};
  SUBCASE("1 (the default): limited and directed broadcasts are ignored") {
    StackHarness h;
    h.learn_peer();
    for (const char* dst : {"255.255.255.255", "192.0.2.255"}) {
      CAPTURE(dst);
      const auto before = h.snapshot();
      CHECK(h.exchange(h.peer().icmp_echo(wire::kMacBroadcast, ip(dst), 2, 2, kPingData)).empty());
      CHECK(h.counter_diff(before, ignored) == "");
    }
    // The all-hosts group is covered by the same knob.
    const auto before = h.snapshot();
    CHECK(h.exchange(h.peer().icmp_echo(wire::multicast_mac(ip("224.0.0.1")), ip("224.0.0.1"), 2, 3,
                                        kPingData))
              .empty());
    CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                  {Counter::IpInReceives, 1},
                                  {Counter::IpInDelivers, 1},
                                  {Counter::IpExtInMcastPkts, 1},
                                  {Counter::IcmpInMsgs, 1},
                                  {Counter::IcmpInEchos, 1},
                                  {Counter::IcmpMsgInType8, 1},
                                  {Counter::IcmpInIgnored, 1}}) == "");
    h.finish();
  }
  SUBCASE("0: answered from the receiving interface's address") {
    StackHarness h({.sysctls = {{Tunable::kIcmpEchoIgnoreBroadcasts, 0}}});
    h.learn_peer();
    const auto before = h.snapshot();
    const auto sent =
        h.exchange(h.peer().icmp_echo(wire::kMacBroadcast, wire::kIpv4Broadcast, 3, 4, kPingData));
    REQUIRE(sent.size() == 1);
    check_echo_reply(h, sent[0], h.our_ip(), 3, 4, kPingData);
    StackHarness::Expected answered = kEchoAnswered;
    answered.push_back({Counter::IpExtInBcastPkts, 1});
    CHECK(h.counter_diff(before, answered) == "");
    h.finish();
  }
}

TEST_CASE("net.ipv4.icmp_echo_ignore_all=1: no echo request is answered") {
  StackHarness h({.sysctls = {{Tunable::kIcmpEchoIgnoreAll, 1}}});
  h.learn_peer();
  const auto before = h.snapshot();
  CHECK(h.exchange(h.peer().icmp_echo(h.our_mac(), h.our_ip(), 1, 1, kPingData)).empty());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpInDelivers, 1},
                                {Counter::IcmpInMsgs, 1},
                                {Counter::IcmpInEchos, 1},
                                {Counter::IcmpMsgInType8, 1},
                                {Counter::IcmpInIgnored, 1}}) == "");
  h.finish();
}

TEST_CASE("RFC 792: an ICMP message shorter than its 8-byte header counts IcmpInErrors") {
  StackHarness h;
  h.learn_peer();
  const uint8_t stub[] = {8, 0, 0xF7, 0xFF};
  const auto before = h.snapshot();
  CHECK(h.exchange(h.peer().ipv4(h.our_mac(), h.our_ip(), wire::ipproto::kIcmp, stub)).empty());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpInDelivers, 1},
                                {Counter::IcmpInMsgs, 1},
                                {Counter::IcmpInErrors, 1}}) == "");
  h.finish();
}

TEST_CASE("RFC 1122 3.2.2: incoming errors and echo replies are counted by type, never answered") {
  StackHarness h;
  h.learn_peer();
  // An error quoting a datagram we sent, and an echo reply nobody asked for.
  const Bytes quoted = h.peer().udp(h.peer().mac(), h.peer().ip(), 7000, 5000, bytes_of("12345678"));
  const wire::IcmpRepr unreach =
      wire::IcmpRepr::dest_unreachable(wire::icmpcode::kPortUnreachable, std::span(quoted).subspan(kEth));
  Bytes msg(unreach.total_length());
  unreach.emit(msg);
  auto before = h.snapshot();
  CHECK(h.exchange(h.peer().ipv4(h.our_mac(), h.our_ip(), wire::ipproto::kIcmp, msg)).empty());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpInDelivers, 1},
                                {Counter::IcmpInMsgs, 1},
                                {Counter::IcmpInDestUnreachs, 1},
                                {Counter::IcmpMsgInType3, 1}}) == "");

  const wire::IcmpRepr reply = wire::IcmpRepr::echo_reply(1, 1, kPingData);
  Bytes rmsg(reply.total_length());
  reply.emit(rmsg);
  before = h.snapshot();
  CHECK(h.exchange(h.peer().ipv4(h.our_mac(), h.our_ip(), wire::ipproto::kIcmp, rmsg)).empty());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpInDelivers, 1},
                                {Counter::IcmpInMsgs, 1},
                                {Counter::IcmpInEchoReps, 1},
                                {Counter::IcmpMsgInType0, 1}}) == "");
  h.finish();
}

// Asks IP for a port unreachable about `datagram` (an IPv4 datagram, as
// received on the harness interface with link-level `type`) and returns what
// was sent.
std::vector<Bytes> error_about(StackHarness& h, const Bytes& datagram,
                               PacketType type = PacketType::kHost) {
  {
    PacketRef p = h.stack().pool().alloc();
    REQUIRE(p);
    uint8_t* at = p->put(static_cast<uint32_t>(datagram.size()));
    REQUIRE(at != nullptr);
    std::memcpy(at, datagram.data(), datagram.size());
    p->set_l3_here();
    p->ifindex = h.iface().ifindex();
    p->pkt_type = type;
    h.stack().ip().send_icmp_error(*p, wire::icmptype::kDestUnreachable,
                                   wire::icmpcode::kPortUnreachable);
  }
  return h.run();
}

Bytes datagram_of(const Bytes& frame) { return Bytes(frame.begin() + kEth, frame.end()); }

TEST_CASE("RFC 1122 3.2.2: no ICMP error about an ICMP error, a broadcast, a multicast or a non-first fragment") {
  StackHarness h;
  h.learn_peer();
  // Control: an error about an echo request (an informational message) is sent.
  const Bytes echo = datagram_of(h.peer().icmp_echo(h.our_mac(), h.our_ip(), 1, 1, kPingData));
  REQUIRE(error_about(h, echo).size() == 1);

  const auto before = h.snapshot();
  // About an ICMP error message.
  const Bytes inner = datagram_of(h.peer().udp(h.peer().mac(), h.peer().ip(), 1, 2, kPingData));
  const wire::IcmpRepr unreach = wire::IcmpRepr::dest_unreachable(wire::icmpcode::kPortUnreachable, inner);
  Bytes msg(unreach.total_length());
  unreach.emit(msg);
  CHECK(error_about(h, datagram_of(h.peer().ipv4(h.our_mac(), h.our_ip(), wire::ipproto::kIcmp, msg)))
            .empty());
  // About a datagram that came in a link-layer broadcast or multicast.
  const Bytes udp = datagram_of(h.peer().udp(h.our_mac(), h.our_ip(), 5000, 9, kPingData));
  CHECK(error_about(h, udp, PacketType::kBroadcast).empty());
  CHECK(error_about(h, udp, PacketType::kMulticast).empty());
  // About an IP broadcast or multicast destination.
  CHECK(error_about(h, datagram_of(h.peer().udp(h.our_mac(), wire::kIpv4Broadcast, 5000, 9, kPingData)))
            .empty());
  CHECK(error_about(h, datagram_of(h.peer().udp(h.our_mac(), ip("192.0.2.255"), 5000, 9, kPingData)))
            .empty());
  CHECK(error_about(h, datagram_of(h.peer().udp(h.our_mac(), ip("224.0.0.1"), 5000, 9, kPingData)))
            .empty());
  // About a non-first fragment.
  wire::Ipv4Repr frag;
  frag.src = h.peer().ip();
  frag.dst = h.our_ip();
  frag.protocol = wire::ipproto::kUdp;
  frag.frag_offset = 8;
  CHECK(error_about(h, datagram_of(ipv4_frame(h.our_mac(), h.peer().mac(), frag, kPingData))).empty());
  CHECK(h.counter_diff(before, {}) == "");

  // And through the receive path: a UDP broadcast to a closed port, and a
  // non-first fragment to one, draw no port unreachable.
  const auto before_rx = h.snapshot();
  CHECK(h.exchange(h.peer().udp(wire::kMacBroadcast, wire::kIpv4Broadcast, 5000, 9, kPingData)).empty());
  CHECK(h.exchange(ipv4_frame(h.our_mac(), h.peer().mac(), frag, kPingData)).empty());
  CHECK(h.counter_diff(before_rx, {{Counter::rx_packets, 2},
                                   {Counter::IpInReceives, 2},
                                   {Counter::IpInDelivers, 1},
                                   {Counter::IpExtInBcastPkts, 1},
                                   {Counter::UdpIgnoredMulti, 1},
                                   {Counter::IpReasmReqds, 1},
                                   // waits for the rest; a build without reassembly drops it
                                   {Counter::IpReasmFails, INLET_WITH_REASSEMBLY ? 0 : 1}}) == "");
  h.finish();
}

TEST_CASE("Linux icmp_global_allow: with icmp_msgs_burst=5, 20 datagrams to a closed port draw 5 unreachables") {
  // icmp_ratelimit=0 switches the per-destination limit off, so the global
  // bucket is measured alone.
  StackHarness h({.sysctls = {{Tunable::kIcmpMsgsBurst, 5}, {Tunable::kIcmpRatelimit, 0}}});
  h.learn_peer();
  std::vector<Bytes> burst;
  for (uint16_t i = 0; i < 20; ++i) {
    burst.push_back(h.peer().udp(h.our_mac(), h.our_ip(), static_cast<uint16_t>(4000 + i), 9, kPingData));
  }
  const StackHarness::Expected expected = {
      {Counter::rx_packets, 20},          {Counter::IpInReceives, 20},
      {Counter::IpInDelivers, 20},        {Counter::UdpNoPorts, 20},
      {Counter::IcmpOutMsgs, 5},          {Counter::IcmpOutDestUnreachs, 5},
      {Counter::IcmpMsgOutType3, 5},      {Counter::IpOutRequests, 5},
      {Counter::tx_packets, 5},           {Counter::IcmpOutRateLimitGlobal, 15}};
  auto before = h.snapshot();
  auto sent = h.exchange(burst);
  CHECK(sent.size() == 5);
  CHECK(h.counter_diff(before, expected) == "");
  // The first five datagrams are the ones answered.
  for (size_t i = 0; i < sent.size(); ++i) {
    const SentIpv4 s = parse_sent_ipv4(sent[i]);
    auto icmp = wire::IcmpView::parse(s.ip.payload());
    REQUIRE(icmp.ok());
    auto q = icmp->quote();
    REQUIRE(q.ok());
    CHECK(q->src_port() == 4000 + i);
  }
  // No refill while the clock stands still ...
  before = h.snapshot();
  CHECK(h.exchange(burst[0]).empty());
  CHECK(h.count(Counter::IcmpOutRateLimitGlobal) -
            before.values[static_cast<size_t>(Counter::IcmpOutRateLimitGlobal)] ==
        1);
  // ... and a full bucket again once a second has passed.
  h.clock().advance(absl::Seconds(1));
  before = h.snapshot();
  sent = h.exchange(burst);
  CHECK(sent.size() == 5);
  CHECK(h.counter_diff(before, expected) == "");
  h.finish();
}

TEST_CASE("net.ipv4.icmp_ratemask: echo replies are not rate limited") {
  StackHarness h({.sysctls = {{Tunable::kIcmpMsgsBurst, 5}}});
  h.learn_peer();
  std::vector<Bytes> pings;
  for (uint16_t i = 0; i < 20; ++i) pings.push_back(h.peer().icmp_echo(h.our_mac(), h.our_ip(), 1, i, kPingData));
  const auto before = h.snapshot();
  CHECK(h.exchange(pings).size() == 20);
  CHECK(h.count(Counter::IcmpOutRateLimitGlobal) == before.values[static_cast<size_t>(Counter::IcmpOutRateLimitGlobal)]);
  h.finish();
}

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::stack_test

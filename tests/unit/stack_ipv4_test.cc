// IPv4 receive through the whole stack: RFC 791 3.1 header checks, RFC 1122
// 3.2.1 (addressing, TTL, link-layer broadcasts), RFC 1812 5.3.7 martian
// sources, fragments (no reassembly yet), unknown protocols, and Ethernet
// padding. Every malformation must move exactly its own counter.
#include "core/features.h"
#include <doctest/doctest.h>

#include "stack_fixture.h"

namespace inlet::stack_test {
namespace {

TEST_SUITE_BEGIN("stack_ipv4");

const Bytes kPayload = bytes_of("the quick brown fox jumps over");

// A well-formed UDP datagram from the peer to our port 7000.
Bytes good_udp(StackHarness& h) {
  return h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kPayload);
}

// Sends `frame` and checks it died in IP with exactly `counter` (besides the
// frame and IpInReceives) and that nothing was sent back.
void expect_ip_drop(StackHarness& h, const Bytes& frame,
                    std::initializer_list<std::pair<Counter, uint64_t>> extra) {
  const auto before = h.snapshot();
  CHECK(h.exchange(frame).empty());
  StackHarness::Expected want = {{Counter::rx_packets, 1}, {Counter::IpInReceives, 1}};
  want.insert(want.end(), extra.begin(), extra.end());
  CHECK(h.counter_diff(before, want) == "");
}

TEST_CASE("RFC 791 3.1: a version other than 4 is a header error") {
  StackHarness h;
  Bytes f = good_udp(h);
  f[kEth] = 0x65;  // version 6, IHL 5
  refill_ip_checksum(f);
  expect_ip_drop(h, f, {{Counter::IpInHdrErrors, 1}});
  h.finish();
}

TEST_CASE("RFC 791 3.1: fewer than 20 bytes of IPv4 is a header error") {
  StackHarness h;
  Bytes f = good_udp(h);
  f.resize(kEth + 19);
  expect_ip_drop(h, f, {{Counter::IpInHdrErrors, 1}});
  f.resize(kEth);
  expect_ip_drop(h, f, {{Counter::IpInHdrErrors, 1}});
  h.finish();
}

TEST_CASE("RFC 791 3.1: IHL below 5 is a header error") {
  StackHarness h;
  Bytes f = good_udp(h);
  f[kEth] = 0x44;
  expect_ip_drop(h, f, {{Counter::IpInHdrErrors, 1}});
  h.finish();
}

TEST_CASE("RFC 791 3.1: an IHL running past the frame is a header error") {
  StackHarness h;
  Bytes f = good_udp(h);
  f.resize(kEth + 40);  // 40 bytes of datagram, IHL claims 60
  f[kEth] = 0x4F;
  expect_ip_drop(h, f, {{Counter::IpInHdrErrors, 1}});
  h.finish();
}

TEST_CASE("RFC 1122 3.2.1.1: a total length below IHL*4 is a header error") {
  StackHarness h;
  Bytes f = good_udp(h);
  wire::store_be16(&f[kEth + 2], 19);
  refill_ip_checksum(f);
  expect_ip_drop(h, f, {{Counter::IpInHdrErrors, 1}});
  h.finish();
}

TEST_CASE("Linux ip_rcv_core: a total length beyond the frame counts IpExtInTruncatedPkts") {
  StackHarness h;
  Bytes f = good_udp(h);
  wire::store_be16(&f[kEth + 2], static_cast<uint16_t>(f.size() - kEth + 10));
  refill_ip_checksum(f);
  expect_ip_drop(h, f, {{Counter::IpExtInTruncatedPkts, 1}});
  h.finish();
}

TEST_CASE("RFC 1122 3.2.1.2: a bad header checksum counts IpInHdrErrors and IpExtInCsumErrors") {
  StackHarness h;
  Bytes f = good_udp(h);
  f[kEth + 10] ^= 0x5A;
  expect_ip_drop(h, f, {{Counter::IpInHdrErrors, 1}, {Counter::IpExtInCsumErrors, 1}});
  h.finish();
}

TEST_CASE("RFC 791 3.1 / Linux ip_options_compile: malformed options are header errors") {
  StackHarness h;
  const Bytes udp = udp_datagram(h.peer().ip(), h.our_ip(), 5000, 7000, kPayload);
  const uint8_t zero_length[] = {wire::ipv4opt::kSecurity, 0, 0, 0};
  const uint8_t past_header[] = {wire::ipv4opt::kRecordRoute, 8, 4, 0};
  const uint8_t bad_pointer[] = {wire::ipv4opt::kTimestamp, 4, 1, 0};
  for (std::span<const uint8_t> options :
       {std::span<const uint8_t>(zero_length), std::span<const uint8_t>(past_header),
        std::span<const uint8_t>(bad_pointer)}) {
    wire::Ipv4Repr repr;
    repr.src = h.peer().ip();
    repr.dst = h.our_ip();
    repr.protocol = wire::ipproto::kUdp;
    repr.options = options;
    expect_ip_drop(h, ipv4_frame(h.our_mac(), h.peer().mac(), repr, udp),
                   {{Counter::IpInHdrErrors, 1}});
  }
  h.finish();
}

TEST_CASE("RFC 791 3.1: well-formed options (NOP, router alert) do not stop delivery") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  const Bytes udp = udp_datagram(h.peer().ip(), h.our_ip(), 5000, 7000, kPayload);
  const uint8_t options[] = {wire::ipv4opt::kNop, wire::ipv4opt::kRouterAlert, 4, 0, 0,
                             wire::ipv4opt::kEol};
  wire::Ipv4Repr repr;
  repr.src = h.peer().ip();
  repr.dst = h.our_ip();
  repr.protocol = wire::ipproto::kUdp;
  repr.options = options;
  const auto before = h.snapshot();
  CHECK(h.exchange(ipv4_frame(h.our_mac(), h.peer().mac(), repr, udp)).empty());
  uint8_t buf[64];
  auto d = (*sock)->recv(buf);
  REQUIRE(d.has_value());
  CHECK(Bytes(buf, buf + d->copied) == kPayload);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpInDelivers, 1},
                                {Counter::UdpInDatagrams, 1}}) == "");
  h.finish();
}

TEST_CASE("RFC 1812 5.3.7 / Linux ip_route_input_slow: martian sources are dropped") {
  StackHarness h;
  for (const char* src : {"0.1.2.3", "0.0.0.0", "127.0.0.1", "224.0.0.5", "239.1.2.3",
                          "255.255.255.255", "240.0.0.1", "192.0.2.2" /* ours: land */,
                          "192.0.2.255" /* our subnet's broadcast */}) {
    CAPTURE(src);
    const sim::SimPeer liar(h.peer().mac(), ip(src));
    expect_ip_drop(h, liar.udp(h.our_mac(), h.our_ip(), 5000, 7000, kPayload),
                   {{Counter::IpExtInMartianSrc, 1}});
  }
  h.finish();
}

TEST_CASE("RFC 1122 3.2.1.3: a host drops datagrams not addressed to it (IpInAddrErrors)") {
  StackHarness h;
  for (const char* dst : {"192.0.2.77", "10.1.1.1", "198.51.100.2", "198.51.100.255", "0.0.0.0",
                          "127.0.0.1"}) {
    CAPTURE(dst);
    expect_ip_drop(h, h.peer().udp(h.our_mac(), ip(dst), 5000, 7000, kPayload),
                   {{Counter::IpInAddrErrors, 1}});
  }
  // A multicast group we have not joined.
  expect_ip_drop(h,
                 h.peer().udp(wire::multicast_mac(ip("224.0.0.9")), ip("224.0.0.9"), 520, 520,
                              kPayload),
                 {{Counter::IpInAddrErrors, 1}});
  h.finish();
}

TEST_CASE("RFC 1122 3.3.6: a unicast datagram inside a link-layer broadcast is dropped") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  expect_ip_drop(h, h.peer().udp(wire::kMacBroadcast, h.our_ip(), 5000, 7000, kPayload),
                 {{Counter::IpInAddrErrors, 1}});
  CHECK_FALSE((*sock)->readable());
  h.finish();
}

#if INLET_WITH_REASSEMBLY
TEST_CASE("RFC 791 3.2: two fragments are reassembled and the datagram delivered (IpReasmOKs)") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  const Bytes udp = udp_datagram(h.peer().ip(), h.our_ip(), 5000, 7000, kPayload);
  wire::Ipv4Repr first;
  first.src = h.peer().ip();
  first.dst = h.our_ip();
  first.protocol = wire::ipproto::kUdp;
  first.ident = 0x1234;
  first.more_fragments = true;
  wire::Ipv4Repr last = first;
  last.more_fragments = false;
  last.frag_offset = 16;
  auto before = h.snapshot();
  CHECK(h.exchange(ipv4_frame(h.our_mac(), h.peer().mac(), first, std::span(udp).first(16))).empty());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1}, {Counter::IpInReceives, 1},
                                {Counter::IpReasmReqds, 1}}) == "");
  CHECK_FALSE((*sock)->readable());
  before = h.snapshot();
  CHECK(h.exchange(ipv4_frame(h.our_mac(), h.peer().mac(), last, std::span(udp).subspan(16))).empty());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1}, {Counter::IpInReceives, 1},
                                {Counter::IpReasmReqds, 1}, {Counter::IpReasmOKs, 1},
                                {Counter::IpInDelivers, 1}, {Counter::UdpInDatagrams, 1}}) == "");
  REQUIRE((*sock)->readable());
  uint8_t buf[256];
  auto d = (*sock)->recv(buf);
  REQUIRE(d.has_value());
  CHECK(d->length == udp.size() - 8);
  CHECK(std::equal(buf, buf + d->copied, udp.begin() + 8));
  h.finish();
}
#endif  // INLET_WITH_REASSEMBLY

TEST_CASE("RFC 1122 3.2.1.7: a datagram is not discarded for a TTL below 2") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  const Bytes udp = udp_datagram(h.peer().ip(), h.our_ip(), 5000, 7000, kPayload);
  const auto before = h.snapshot();
  for (uint8_t ttl : {0, 1}) {
    const Bytes f = h.peer().ipv4(h.our_mac(), h.our_ip(), wire::ipproto::kUdp, udp, ttl);
    CHECK(h.exchange(f).empty());
  }
  CHECK((*sock)->queued_datagrams() == 2);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 2},
                                {Counter::IpInReceives, 2},
                                {Counter::IpInDelivers, 2},
                                {Counter::UdpInDatagrams, 2}}) == "");
  h.finish();
}

TEST_CASE("RFC 1122 3.2.2.1: an unknown protocol counts IpInUnknownProtos and gets a protocol unreachable") {
  StackHarness h;
  h.learn_peer();
  const Bytes f = h.peer().ipv4(h.our_mac(), h.our_ip(), 253, kPayload);
  const auto before = h.snapshot();
  const auto sent = h.exchange(f);
  REQUIRE(sent.size() == 1);
  const SentIpv4 s = parse_sent_ipv4(sent[0]);
  CHECK(s.eth.dst() == h.peer().mac());
  CHECK(s.eth.src() == h.our_mac());
  CHECK(s.ip.src() == h.our_ip());
  CHECK(s.ip.dst() == h.peer().ip());
  CHECK(s.ip.protocol() == wire::ipproto::kIcmp);
  CHECK(s.ip.ttl() == 64);
  auto icmp = wire::IcmpView::parse(s.ip.payload(), wire::ChecksumMode::kVerify);
  REQUIRE(icmp.ok());
  CHECK(icmp->type() == wire::icmptype::kDestUnreachable);
  CHECK(icmp->code() == wire::icmpcode::kProtocolUnreachable);
  CHECK(icmp->rest_of_header() == 0);
  // The whole offending datagram fits in 576 bytes, so all of it is quoted.
  CHECK(Bytes(icmp->payload().begin(), icmp->payload().end()) == Bytes(f.begin() + kEth, f.end()));
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpInUnknownProtos, 1},
                                {Counter::IcmpOutMsgs, 1},
                                {Counter::IcmpOutDestUnreachs, 1},
                                {Counter::IcmpMsgOutType3, 1},
                                {Counter::IpOutRequests, 1},
                                {Counter::tx_packets, 1}}) == "");

  // Not for a broadcast (RFC 1122 3.2.2).
  const Bytes bcast = h.peer().ipv4(wire::kMacBroadcast, wire::kIpv4Broadcast, 253, kPayload);
  expect_ip_drop(h, bcast, {{Counter::IpExtInBcastPkts, 1}, {Counter::IpInUnknownProtos, 1}});
  h.finish();
}

TEST_CASE("IEEE 802.3 padding: bytes beyond the IPv4 total length are trimmed before UDP") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  const Bytes data = bytes_of("abcd");
  Bytes f = h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, data);
  REQUIRE(f.size() == 46);
  f.resize(wire::kEthernetMinFrame, 0xEE);  // padding the checksum must not cover
  const auto before = h.snapshot();
  CHECK(h.exchange(f).empty());
  uint8_t buf[64];
  auto d = (*sock)->recv(buf);
  REQUIRE(d.has_value());
  CHECK(d->length == 4);
  CHECK(d->copied == 4);
  CHECK(Bytes(buf, buf + d->copied) == data);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpInDelivers, 1},
                                {Counter::UdpInDatagrams, 1}}) == "");
  CHECK(h.count(Counter::IpExtInOctets) - before.values[static_cast<size_t>(Counter::IpExtInOctets)] ==
        32);
  h.finish();
}

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::stack_test

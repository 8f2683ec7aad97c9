// UDP through the whole stack (RFC 768, RFC 1122 4.1.3, Linux's udp_rcv /
// __udp_enqueue_schedule_skb): delivery and recv(), checksum and length
// checks, port unreachable, receive-buffer limits, readiness, binding rules
// and the datagrams udp_send puts on the wire.
#include <doctest/doctest.h>

#include "stack_fixture.h"

namespace inlet::stack_test {
namespace {

TEST_SUITE_BEGIN("stack_udp");

const Bytes kData = bytes_of("datagram payload, 33 bytes long!!");

const StackHarness::Expected kDelivered = {{Counter::rx_packets, 1},
                                           {Counter::IpInReceives, 1},
                                           {Counter::IpInDelivers, 1},
                                           {Counter::UdpInDatagrams, 1}};

TEST_CASE("RFC 768: a datagram is delivered with its exact payload, source address and port") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  const auto before = h.snapshot();
  CHECK(h.exchange(h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kData)).empty());
  CHECK(h.counter_diff(before, kDelivered) == "");
  uint8_t buf[128];
  auto d = (*sock)->recv(buf);
  REQUIRE(d.has_value());
  CHECK(d->from.address == h.peer().ip());
  CHECK(d->from.port == 5000);
  CHECK(d->to.address == h.our_ip());
  CHECK(d->to.port == 7000);
  CHECK(d->length == kData.size());
  CHECK(d->copied == kData.size());
  CHECK(Bytes(buf, buf + d->copied) == kData);
  CHECK_FALSE((*sock)->recv(buf).has_value());
  CHECK((*sock)->received_datagrams() == 1);
  CHECK((*sock)->received_bytes() == kData.size());
  h.finish();
}

TEST_CASE("RFC 768: a zero-length payload is a valid datagram") {
  StackHarness h;
  auto sock = h.stack().udp_bind(h.our_ip(), 7000);
  REQUIRE(sock.ok());
  const auto before = h.snapshot();
  CHECK(h.exchange(h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, {})).empty());
  CHECK(h.counter_diff(before, kDelivered) == "");
  uint8_t buf[8];
  auto d = (*sock)->recv(buf);
  REQUIRE(d.has_value());
  CHECK(d->length == 0);
  CHECK(d->copied == 0);
  h.finish();
}

TEST_CASE("recv(2) without MSG_TRUNC: a short buffer gets the head of the datagram, the rest is discarded") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  h.exchange(h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kData));
  uint8_t buf[10];
  auto d = (*sock)->recv(buf);
  REQUIRE(d.has_value());
  CHECK(d->length == kData.size());
  CHECK(d->copied == 10);
  CHECK(d->copied < d->length);
  CHECK(Bytes(buf, buf + 10) == Bytes(kData.begin(), kData.begin() + 10));
  CHECK_FALSE((*sock)->readable());
  h.finish();
}

TEST_CASE("recv(2) into an empty buffer reports the datagram's length and discards it") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  h.exchange(h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kData));
  auto d = (*sock)->recv(std::span<uint8_t>());
  REQUIRE(d.has_value());
  CHECK(d->length == kData.size());
  CHECK(d->copied == 0);
  CHECK_FALSE((*sock)->readable());
  h.finish();
}

TEST_CASE("RFC 768: a zero checksum means none was computed and is accepted") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  Bytes f = h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kData);
  f[kEth + 20 + 6] = 0;
  f[kEth + 20 + 7] = 0;
  const auto before = h.snapshot();
  CHECK(h.exchange(f).empty());
  CHECK(h.counter_diff(before, kDelivered) == "");
  CHECK((*sock)->queued_datagrams() == 1);
  h.finish();
}

TEST_CASE("RFC 1122 4.1.3.4: a bad checksum counts UdpInCsumErrors and UdpInErrors and is discarded") {
  StackHarness h;
  h.learn_peer();
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  for (uint16_t port : {7000, 9}) {  // bound or not: the checksum is checked first, no ICMP
    CAPTURE(port);
    Bytes f = h.peer().udp(h.our_mac(), h.our_ip(), 5000, port, kData);
    f.back() ^= 0x40;
    const auto before = h.snapshot();
    CHECK(h.exchange(f).empty());
    CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                  {Counter::IpInReceives, 1},
                                  {Counter::IpInDelivers, 1},
                                  {Counter::UdpInCsumErrors, 1},
                                  {Counter::UdpInErrors, 1}}) == "");
  }
  CHECK_FALSE((*sock)->readable());
  h.finish();
}

TEST_CASE("RFC 768 / Linux udp_rcv: a length field above the IP payload or below 8 counts UdpInErrors") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  const Bytes good = h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kData);
  for (uint16_t length : {static_cast<uint16_t>(8 + kData.size() + 1), uint16_t{7}, uint16_t{0}}) {
    CAPTURE(length);
    Bytes f = good;
    wire::store_be16(&f[kEth + 20 + 4], length);
    const auto before = h.snapshot();
    CHECK(h.exchange(f).empty());
    CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                  {Counter::IpInReceives, 1},
                                  {Counter::IpInDelivers, 1},
                                  {Counter::UdpInErrors, 1}}) == "");
  }
  // Fewer than 8 bytes of UDP at all.
  const uint8_t stub[] = {0x13, 0x88, 0x1B, 0x58};
  const auto before = h.snapshot();
  CHECK(h.exchange(h.peer().ipv4(h.our_mac(), h.our_ip(), wire::ipproto::kUdp, stub)).empty());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpInDelivers, 1},
                                {Counter::UdpInErrors, 1}}) == "");
  CHECK_FALSE((*sock)->readable());
  h.finish();
}

TEST_CASE("RFC 768: a length field below the IP payload bounds the datagram (the rest is trimmed)") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  // A 5-byte datagram (checksummed as such) followed by 6 bytes of junk
  // inside the IP payload.
  Bytes udp = udp_datagram(h.peer().ip(), h.our_ip(), 5000, 7000, bytes_of("hello"));
  for (uint8_t junk : {1, 2, 3, 4, 5, 6}) udp.push_back(junk);
  const auto before = h.snapshot();
  CHECK(h.exchange(h.peer().ipv4(h.our_mac(), h.our_ip(), wire::ipproto::kUdp, udp)).empty());
  CHECK(h.counter_diff(before, kDelivered) == "");
  uint8_t buf[64];
  auto d = (*sock)->recv(buf);
  REQUIRE(d.has_value());
  CHECK(Bytes(buf, buf + d->copied) == bytes_of("hello"));
  h.finish();
}

TEST_CASE("RFC 1122 4.1.3.1: a closed port counts UdpNoPorts and sends a port unreachable quoting the datagram") {
  StackHarness h;
  h.learn_peer();
  const Bytes f = h.peer().udp(h.our_mac(), h.our_ip(), 5000, 9, kData);
  const auto before = h.snapshot();
  const auto sent = h.exchange(f);
  REQUIRE(sent.size() == 1);
  const SentIpv4 s = parse_sent_ipv4(sent[0]);
  CHECK(s.eth.dst() == h.peer().mac());
  CHECK(s.ip.src() == h.our_ip());
  CHECK(s.ip.dst() == h.peer().ip());
  CHECK(s.ip.protocol() == wire::ipproto::kIcmp);
  auto icmp = wire::IcmpView::parse(s.ip.payload(), wire::ChecksumMode::kVerify);
  REQUIRE(icmp.ok());
  CHECK(icmp->type() == wire::icmptype::kDestUnreachable);
  CHECK(icmp->code() == wire::icmpcode::kPortUnreachable);
  CHECK(icmp->rest_of_header() == 0);
  auto q = icmp->quote();
  REQUIRE(q.ok());
  // The original IP header and (at least) the 8 bytes after it, unchanged.
  const Bytes original(f.begin() + kEth, f.end());
  CHECK(Bytes(q->header.begin(), q->header.end()) == Bytes(original.begin(), original.begin() + 20));
  CHECK(Bytes(q->transport.begin(), q->transport.begin() + 8) ==
        Bytes(original.begin() + 20, original.begin() + 28));
  CHECK(Bytes(icmp->payload().begin(), icmp->payload().end()) == original);
  CHECK(q->src_port() == 5000);
  CHECK(q->dst_port() == 9);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpInDelivers, 1},
                                {Counter::UdpNoPorts, 1},
                                {Counter::IcmpOutMsgs, 1},
                                {Counter::IcmpOutDestUnreachs, 1},
                                {Counter::IcmpMsgOutType3, 1},
                                {Counter::IpOutRequests, 1},
                                {Counter::tx_packets, 1}}) == "");
  h.finish();
}

TEST_CASE("RFC 1122 4.1.3.1: a long datagram to a closed port is quoted up to 576 bytes (RFC 1812 4.3.2.3)") {
  StackHarness h;
  h.learn_peer();
  const Bytes big(1000, 0x5C);
  const Bytes f = h.peer().udp(h.our_mac(), h.our_ip(), 5000, 9, big);
  const auto sent = h.exchange(f);
  REQUIRE(sent.size() == 1);
  const SentIpv4 s = parse_sent_ipv4(sent[0]);
  CHECK(s.ip.total_length() == 576);
  auto icmp = wire::IcmpView::parse(s.ip.payload(), wire::ChecksumMode::kVerify);
  REQUIRE(icmp.ok());
  CHECK(Bytes(icmp->payload().begin(), icmp->payload().end()) ==
        Bytes(f.begin() + kEth, f.begin() + kEth + 548));
  h.finish();
}

TEST_CASE("bind(2) to one address: datagrams to the host's other address find no socket") {
  StackHarness h({.addresses = {{ip("192.0.2.2"), 24}, {ip("198.51.100.2"), 24}}});
  h.learn_peer();
  auto sock = h.stack().udp_bind(ip("192.0.2.2"), 7000);
  REQUIRE(sock.ok());
  auto before = h.snapshot();
  const auto sent = h.exchange(h.peer().udp(h.our_mac(), ip("198.51.100.2"), 5000, 7000, kData));
  REQUIRE(sent.size() == 1);
  const SentIpv4 s = parse_sent_ipv4(sent[0]);
  CHECK(s.ip.src() == ip("198.51.100.2"));  // from the address the datagram was sent to
  CHECK(h.count(Counter::UdpNoPorts) - before.values[static_cast<size_t>(Counter::UdpNoPorts)] == 1);
  CHECK_FALSE((*sock)->readable());
  before = h.snapshot();
  CHECK(h.exchange(h.peer().udp(h.our_mac(), ip("192.0.2.2"), 5000, 7000, kData)).empty());
  CHECK(h.counter_diff(before, kDelivered) == "");
  h.finish();
}

TEST_CASE("Linux __udp4_lib_mcast_deliver: a broadcast to a closed port counts UdpIgnoredMulti, no ICMP") {
  StackHarness h;
  h.learn_peer();
  for (const char* dst : {"255.255.255.255", "192.0.2.255"}) {
    CAPTURE(dst);
    const auto before = h.snapshot();
    CHECK(h.exchange(h.peer().udp(wire::kMacBroadcast, ip(dst), 5000, 9, kData)).empty());
    CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                  {Counter::IpInReceives, 1},
                                  {Counter::IpInDelivers, 1},
                                  {Counter::IpExtInBcastPkts, 1},
                                  {Counter::UdpIgnoredMulti, 1}}) == "");
  }
  h.finish();
}

TEST_CASE("RFC 1122 3.3.6: a broadcast reaches a wildcard-bound socket") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 67);
  REQUIRE(sock.ok());
  const auto before = h.snapshot();
  CHECK(h.exchange(h.peer().udp(wire::kMacBroadcast, wire::kIpv4Broadcast, 68, 67, kData)).empty());
  StackHarness::Expected want = kDelivered;
  want.push_back({Counter::IpExtInBcastPkts, 1});
  CHECK(h.counter_diff(before, want) == "");
  uint8_t buf[64];
  auto d = (*sock)->recv(buf);
  REQUIRE(d.has_value());
  CHECK(d->to.address == wire::kIpv4Broadcast);
  h.finish();
}

TEST_CASE("Linux __udp_enqueue_schedule_skb: a full receive buffer counts UdpRcvbufErrors and UdpInErrors") {
  StackHarness h;
  // Each datagram is charged its buffer's truesize (2048): two fit in 4096.
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000, 4096);
  REQUIRE(sock.ok());
  CHECK((*sock)->receive_buffer() == 4096);
  const auto before = h.snapshot();
  for (int i = 0; i < 5; ++i) {
    h.exchange(h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kData));
    CHECK((*sock)->queued_bytes() <= (*sock)->receive_buffer());
  }
  CHECK((*sock)->queued_datagrams() == 2);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 5},
                                {Counter::IpInReceives, 5},
                                {Counter::IpInDelivers, 5},
                                {Counter::UdpInDatagrams, 2},
                                {Counter::UdpRcvbufErrors, 3},
                                {Counter::UdpInErrors, 3}}) == "");
  // Reading makes room again.
  uint8_t buf[64];
  REQUIRE((*sock)->recv(buf).has_value());
  h.exchange(h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kData));
  CHECK((*sock)->queued_datagrams() == 2);
  h.finish();
}

TEST_CASE("Linux udp_poll / sk_data_ready: readable() and the data-ready callback follow the queue") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  int calls = 0;
  size_t seen_queued = 0;
  (*sock)->set_data_ready([&](udp::UdpSocket& s) {
    ++calls;
    seen_queued = s.queued_datagrams();
    CHECK(s.readable());
  });
  CHECK_FALSE((*sock)->readable());
  h.exchange({h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kData),
              h.peer().udp(h.our_mac(), h.our_ip(), 5001, 7000, kData)});
  CHECK(calls == 2);
  CHECK(seen_queued == 2);
  CHECK((*sock)->readable());
  uint8_t buf[64];
  auto first = (*sock)->recv(buf);
  REQUIRE(first.has_value());
  CHECK(first->from.port == 5000);  // FIFO
  CHECK((*sock)->readable());
  auto second = (*sock)->recv(buf);
  REQUIRE(second.has_value());
  CHECK(second->from.port == 5001);
  CHECK_FALSE((*sock)->readable());
  // Dropped datagrams do not wake the reader.
  Bytes bad = h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kData);
  bad.back() ^= 1;
  h.exchange(bad);
  CHECK(calls == 2);
  h.finish();
}

TEST_CASE("bind(2): port 0 and a port already bound are refused") {
  StackHarness h;
  CHECK_FALSE(h.stack().udp_bind(wire::kIpv4Any, 0).ok());
  auto a = h.stack().udp_bind(h.our_ip(), 7000);
  REQUIRE(a.ok());
  auto same = h.stack().udp_bind(h.our_ip(), 7000);
  REQUIRE_FALSE(same.ok());
  CHECK(absl::IsAlreadyExists(same.status()));
  // A wildcard over a specific bind, and a specific bind under a wildcard, clash too.
  CHECK(absl::IsAlreadyExists(h.stack().udp_bind(wire::kIpv4Any, 7000).status()));
  auto any = h.stack().udp_bind(wire::kIpv4Any, 7001);
  REQUIRE(any.ok());
  CHECK(absl::IsAlreadyExists(h.stack().udp_bind(h.our_ip(), 7001).status()));
  // Once closed, the port is free again.
  h.stack().udp_close(*a);
  CHECK(h.stack().udp_bind(h.our_ip(), 7000).ok());
  h.finish();
}

TEST_CASE("close(2): closing a socket releases its queued buffers and closes the port") {
  StackHarness h;
  h.learn_peer();
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  const uint32_t idle = h.stack().pool().in_use();
  h.exchange({h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kData),
              h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kData),
              h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kData)});
  CHECK((*sock)->queued_datagrams() == 3);
  CHECK(h.stack().pool().in_use() == idle + 3);
  h.stack().udp_close(*sock);
  CHECK(h.stack().pool().in_use() == idle);
  // The port is closed now: the next datagram draws a port unreachable.
  const auto before = h.snapshot();
  CHECK(h.exchange(h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kData)).size() == 1);
  CHECK(h.count(Counter::UdpNoPorts) - before.values[static_cast<size_t>(Counter::UdpNoPorts)] == 1);
  h.finish();
}

TEST_CASE("RFC 768: udp_send builds a datagram the peer can parse, with a valid checksum") {
  StackHarness h;
  h.learn_peer();
  const auto before = h.snapshot();
  CHECK(h.stack().udp_send({wire::kIpv4Any, 7000}, {h.peer().ip(), 5000}, kData));
  const auto sent = h.run();
  REQUIRE(sent.size() == 1);
  CHECK(sim::SimPeer::describe(sent[0]) == "udp 192.0.2.2:7000 > 192.0.2.1:5000 len=33");
  const SentIpv4 s = parse_sent_ipv4(sent[0]);
  CHECK(s.eth.dst() == h.peer().mac());
  CHECK(s.eth.src() == h.our_mac());
  CHECK(s.ip.src() == h.our_ip());
  CHECK(s.ip.dst() == h.peer().ip());
  CHECK(s.ip.protocol() == wire::ipproto::kUdp);
  CHECK(s.ip.ttl() == 64);
  CHECK(s.ip.dont_fragment());
  auto u = wire::UdpView::parse(s.ip.payload(), s.ip.src(), s.ip.dst());
  REQUIRE(u.ok());
  CHECK(u->has_checksum());
  CHECK(u->src_port() == 7000);
  CHECK(u->dst_port() == 5000);
  CHECK(u->length() == 8 + kData.size());
  CHECK(Bytes(u->payload().begin(), u->payload().end()) == kData);
  CHECK(h.counter_diff(before, {{Counter::UdpOutDatagrams, 1},
                                {Counter::IpOutRequests, 1},
                                {Counter::tx_packets, 1}}) == "");

  // Without a route the send fails, counted.
  const auto before_noroute = h.snapshot();
  CHECK_FALSE(h.stack().udp_send({wire::kIpv4Any, 7000}, {ip("203.0.113.9"), 5000}, kData));
  CHECK(h.run().empty());
  // Linux udp_sendmsg: no route is IpOutNoRoutes, and no datagram went out.
  CHECK(h.counter_diff(before_noroute, {{Counter::IpOutNoRoutes, 1}}) == "");
  h.finish();
}

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::stack_test

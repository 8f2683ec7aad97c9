// The link layer through the whole stack: Ethernet length checks, destination
// MAC filtering, EtherType demux and IEEE 802.1Q tags, with the counters
// `ip -s link` / ethtool name (rx_length_errors, rx_otherhost_dropped,
// rx_nohandler, rx_vlan_dropped).
#include "core/features.h"
#include <doctest/doctest.h>

#include "stack_fixture.h"

namespace inlet::stack_test {
namespace {

TEST_SUITE_BEGIN("stack_link");

const Bytes kPayload = bytes_of("link layer payload");

void expect_link_drop(StackHarness& h, const Bytes& frame, Counter counter) {
  const auto before = h.snapshot();
  CHECK(h.exchange(frame).empty());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1}, {counter, 1}}) == "");
}

TEST_CASE("IEEE 802.3: a runt shorter than an Ethernet header counts rx_length_errors") {
  StackHarness h;
  expect_link_drop(h, Bytes(10, 0xAB), Counter::rx_length_errors);
  expect_link_drop(h, Bytes(13, 0xAB), Counter::rx_length_errors);
  h.finish();
}

TEST_CASE("Linux netdev: a frame longer than MTU + 18 counts rx_length_errors") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  // MTU + Ethernet header + one VLAN tag is the longest frame accepted.
  const Bytes max_payload(1500 - 20 - 8, 0x11);
  Bytes longest = h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, max_payload);
  REQUIRE(longest.size() == 1514);
  longest.resize(1518, 0);  // trailing padding is fine
  auto before = h.snapshot();
  CHECK(h.exchange(longest).empty());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpInDelivers, 1},
                                {Counter::UdpInDatagrams, 1}}) == "");
  Bytes too_long = longest;
  too_long.push_back(0);
  expect_link_drop(h, too_long, Counter::rx_length_errors);
  CHECK((*sock)->queued_datagrams() == 1);
  h.finish();
}

TEST_CASE("Linux eth_type_trans: unicast to another host's MAC counts rx_otherhost_dropped") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  expect_link_drop(h, h.peer().udp(mac("02:00:00:00:00:99"), h.our_ip(), 5000, 7000, kPayload),
                   Counter::rx_otherhost_dropped);
  CHECK_FALSE((*sock)->readable());
  h.finish();
}

TEST_CASE("Linux __netif_receive_skb: IPv6, unknown EtherTypes and 802.3 length frames count rx_nohandler") {
  StackHarness h;
  const Bytes base = h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kPayload);
  for (uint16_t type : {wire::ethertype::kIpv6, uint16_t{0x88B5}, uint16_t{0x8847} /* MPLS */,
                        uint16_t{0x0026} /* an 802.3 length */}) {
    CAPTURE(type);
    Bytes f = base;
    wire::store_be16(&f[12], type);
    expect_link_drop(h, f, Counter::rx_nohandler);
  }
  h.finish();
}

#if INLET_WITH_VLAN
TEST_CASE("IEEE 802.1Q 9.6: a priority tag (VID 0) is received as untagged") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  const Bytes f = with_vlan_tag(h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kPayload),
                                wire::vlan_tci(5, false, 0));
  auto before = h.snapshot();
  CHECK(h.exchange(f).empty());
  uint8_t buf[64];
  auto d = (*sock)->recv(buf);
  REQUIRE(d.has_value());
  CHECK(Bytes(buf, buf + d->copied) == kPayload);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpInDelivers, 1},
                                {Counter::UdpInDatagrams, 1}}) == "");

  // ARP in a priority tag is answered (untagged, as Linux does on the real device).
  before = h.snapshot();
  const auto sent = h.exchange(with_vlan_tag(h.peer().arp_request(h.our_ip()), wire::vlan_tci(6, false, 0)));
  REQUIRE(sent.size() == 1);
  const wire::ArpView reply = parse_sent_arp(sent[0]);
  CHECK(reply.operation() == wire::ArpOperation::kReply);
  CHECK(reply.target_ip() == h.peer().ip());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::ArpInRequests, 1},
                                {Counter::ArpOutReplies, 1},
                                {Counter::tx_packets, 1}}) == "");
  h.finish();
}
#endif  // INLET_WITH_VLAN

#if INLET_WITH_VLAN
TEST_CASE("Linux vlan_do_receive: a VLAN without a sub-interface counts rx_vlan_dropped") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  const Bytes untagged = h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kPayload);
  expect_link_drop(h, with_vlan_tag(untagged, wire::vlan_tci(0, false, 5)), Counter::rx_vlan_dropped);
  expect_link_drop(h, with_vlan_tag(h.peer().arp_request(h.our_ip()), wire::vlan_tci(0, false, 5)),
                   Counter::rx_vlan_dropped);
  CHECK_FALSE((*sock)->readable());
  CHECK(h.neighbours().size() == 0);
  h.finish();
}
#endif  // INLET_WITH_VLAN

#if INLET_WITH_VLAN
TEST_CASE("IEEE 802.1ad: stacked tags (QinQ) count rx_vlan_dropped") {
  StackHarness h;
  const Bytes untagged = h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kPayload);
  const Bytes c_tagged = with_vlan_tag(untagged, wire::vlan_tci(0, false, 0));
  // 802.1ad S-tag over a C-tag, and two C-tags.
  expect_link_drop(h, with_vlan_tag(c_tagged, wire::vlan_tci(0, false, 0), wire::ethertype::kQinQ),
                   Counter::rx_vlan_dropped);
  expect_link_drop(h, with_vlan_tag(c_tagged, wire::vlan_tci(0, false, 0)), Counter::rx_vlan_dropped);
  h.finish();
}
#endif  // INLET_WITH_VLAN

#if INLET_WITH_VLAN
TEST_CASE("IEEE 802.1Q: a tag cut short by the end of the frame counts rx_length_errors") {
  StackHarness h;
  Bytes f(16, 0);
  const wire::MacAddress m = h.our_mac();
  m.store(f.data());
  h.peer().mac().store(f.data() + 6);
  wire::store_be16(&f[12], wire::ethertype::kVlan);
  expect_link_drop(h, f, Counter::rx_length_errors);
  h.finish();
}
#endif  // INLET_WITH_VLAN

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::stack_test

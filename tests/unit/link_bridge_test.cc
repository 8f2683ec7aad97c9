// The IEEE 802.1D learning bridge through the whole stack: source addresses
// learned per port (8.7), frames to a learned station forwarded to its port
// only (8.6), broadcast, multicast and unknown unicast flooded to every other
// port and never back to the ingress port, entries aged out (ageing_time)
// and bounded (fdb_max), stations that move re-learned, flood copies that
// share one payload buffer, reserved group addresses never forwarded
// (7.12.6), and the bridge device (br0) as the stack's own interface.
#include "core/features.h"
#if INLET_WITH_BRIDGE
#include <doctest/doctest.h>

#include <vector>

#include "link_fixture.h"
#include "stack_fixture.h"

namespace inlet::stack_test {
namespace {

TEST_SUITE_BEGIN("link_bridge");

constexpr uint16_t kTestType = 0x88B5;  // IEEE 802 local experimental EtherType

constexpr wire::MacAddress kA{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
constexpr wire::MacAddress kB{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}};
constexpr wire::MacAddress kC{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0c}};
constexpr wire::MacAddress kD{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0d}};

// Three ports sim0..sim2 (ifindex 1..3), bridged into br0 (ifindex 4) with
// 192.0.2.2/24.
struct BridgeSetup {
  explicit BridgeSetup(std::vector<std::pair<Tunable, int64_t>> sysctls = {},
                       std::vector<PortOptions> ports = {{}, {}, {}})
      : h(std::move(ports), std::move(sysctls)) {
    BridgeSpec spec;
    spec.addresses = {{ip("192.0.2.2"), 24}};
    std::vector<uint16_t> members;
    for (size_t i = 0; i < h.ports(); ++i) members.push_back(h.iface(i).ifindex());
    auto dev = h.stack().add_bridge(members, spec);
    REQUIRE(dev.ok());
    br = *dev;
    REQUIRE(h.stack().link().bridges().size() == 1);
    bridge = h.stack().link().bridges().front().get();
  }
  // The port index `mac` was learned on, or -1.
  int learned_port(wire::MacAddress m) {
    link::Interface* port = bridge->lookup(m, h.clock().now());
    for (size_t i = 0; i < h.ports(); ++i) {
      if (port == &h.iface(i)) return static_cast<int>(i);
    }
    return -1;
  }

  MultiPortHarness h;
  link::Interface* br = nullptr;
  link::Bridge* bridge = nullptr;
};

// Which ports sent something, and that each sent exactly `frame`.
std::vector<size_t> ports_that_sent(const PerPort& sent, const Bytes& frame) {
  std::vector<size_t> out;
  for (size_t i = 0; i < sent.size(); ++i) {
    if (sent[i].empty()) continue;
    out.push_back(i);
    CHECK(sent[i].size() == 1);
    CHECK(sent[i][0] == frame);
  }
  return out;
}

using Ports = std::vector<size_t>;

TEST_CASE("IEEE 802.1D 8.7: the source is learned on the ingress port; an unknown destination is flooded to every other port") {
  BridgeSetup s;
  const Bytes f = ethernet_frame(kB, kA, kTestType);
  const auto before = s.h.snapshot();
  const PerPort sent = s.h.exchange(0, f);
  CHECK(ports_that_sent(sent, f) == Ports{1, 2});
  CHECK(s.h.counter_diff(before, {{Counter::rx_packets, 1},
                                  {Counter::BridgeFdbLearned, 1},
                                  {Counter::BridgeFloods, 1},
                                  {Counter::tx_packets, 2}}) == "");
  CHECK(s.learned_port(kA) == 0);
  CHECK(s.learned_port(kB) == -1);
  CHECK(s.bridge->fdb_size() == 1);
  s.h.finish();
}

TEST_CASE("IEEE 802.1D 8.6: a frame to a learned station goes to its port only") {
  BridgeSetup s;
  (void)s.h.exchange(0, ethernet_frame(kB, kA, kTestType));  // A on port 0 (flooded)
  const Bytes reply = ethernet_frame(kA, kB, kTestType, 100);
  auto before = s.h.snapshot();
  CHECK(ports_that_sent(s.h.exchange(1, reply), reply) == Ports{0});
  CHECK(s.h.counter_diff(before, {{Counter::rx_packets, 1},
                                  {Counter::BridgeFdbLearned, 1},
                                  {Counter::BridgeForwarded, 1},
                                  {Counter::tx_packets, 1}}) == "");
  // Both known now: A -> B goes to port 1 only, with nothing learned.
  const Bytes again = ethernet_frame(kB, kA, kTestType, 200);
  before = s.h.snapshot();
  CHECK(ports_that_sent(s.h.exchange(0, again), again) == Ports{1});
  CHECK(s.h.counter_diff(before, {{Counter::rx_packets, 1},
                                  {Counter::BridgeForwarded, 1},
                                  {Counter::tx_packets, 1}}) == "");
  CHECK(s.bridge->fdb_size() == 2);
  s.h.finish();
}

TEST_CASE("IEEE 802.1D 8.6: broadcast and multicast are flooded to every port but the ingress, even with everything learned") {
  BridgeSetup s;
  (void)s.h.exchange(0, ethernet_frame(kB, kA, kTestType));
  (void)s.h.exchange(1, ethernet_frame(kA, kB, kTestType));
  (void)s.h.exchange(2, ethernet_frame(kA, kC, kTestType));
  REQUIRE(s.bridge->fdb_size() == 3);
  for (const wire::MacAddress dst : {wire::kMacBroadcast, mac("01:00:5e:00:00:fb")}) {
    CAPTURE(dst.to_string());
    for (size_t ingress = 0; ingress < 3; ++ingress) {
      CAPTURE(ingress);
      const Bytes f = ethernet_frame(dst, ingress == 0 ? kA : ingress == 1 ? kB : kC, kTestType);
      const auto before = s.h.snapshot();
      const PerPort sent = s.h.exchange(ingress, f);
      Ports expected;
      for (size_t i = 0; i < 3; ++i) {
        if (i != ingress) expected.push_back(i);
      }
      CHECK(ports_that_sent(sent, f) == expected);
      // Also delivered to br0, where the test EtherType has no handler.
      CHECK(s.h.counter_diff(before, {{Counter::rx_packets, 1},
                                      {Counter::BridgeFloods, 1},
                                      {Counter::tx_packets, 2},
                                      {Counter::rx_nohandler, 1}}) == "");
    }
  }
  CHECK(s.learned_port(kA) == 0);
  s.h.finish();
}

TEST_CASE("IEEE 802.1D 8.6.3: a frame whose destination was learned on its own ingress port is filtered, never sent back") {
  BridgeSetup s;
  (void)s.h.exchange(1, ethernet_frame(kA, kB, kTestType));  // B on port 1
  const auto before = s.h.snapshot();
  const PerPort sent = s.h.exchange(1, ethernet_frame(kB, kD, kTestType));  // D, also on port 1, to B
  CHECK(ports_that_sent(sent, {}).empty());
  CHECK(s.h.counter_diff(before, {{Counter::rx_packets, 1},
                                  {Counter::BridgeFdbLearned, 1},
                                  {Counter::BridgeFiltered, 1}}) == "");
  CHECK(s.h.counters().drops(DropReason::kBridgeSamePort) == 1);
  CHECK(s.learned_port(kD) == 1);
  s.h.finish();
}

TEST_CASE("IEEE 802.1D 7.9.2: an entry not refreshed for ageing_time is removed and its station flooded again") {
  BridgeSetup s({{Tunable::kBridgeAgeingTime, 10}});
  (void)s.h.exchange(0, ethernet_frame(kB, kA, kTestType));
  const Bytes to_a = ethernet_frame(kA, kB, kTestType);
  // 9.9 s later A is still known (B's frame refreshes only B).
  CHECK(s.h.advance(absl::Milliseconds(9900)) == PerPort(3));
  CHECK(ports_that_sent(s.h.exchange(1, to_a), to_a) == Ports{0});
  CHECK(s.h.count(Counter::BridgeFdbAged) == 0);
  // Past 10 s since A was last heard: gone, and B's frame is flooded.
  auto before = s.h.snapshot();
  (void)s.h.advance(absl::Milliseconds(1300));
  CHECK(s.learned_port(kA) == -1);
  CHECK(s.bridge->fdb_entry(kA) == nullptr);
  CHECK(s.h.counter_diff(before, {{Counter::BridgeFdbAged, 1}}) == "");
  before = s.h.snapshot();
  CHECK(ports_that_sent(s.h.exchange(1, to_a), to_a) == Ports{0, 2});
  CHECK(s.h.counter_diff(before, {{Counter::rx_packets, 1},
                                  {Counter::BridgeFloods, 1},
                                  {Counter::tx_packets, 2}}) == "");
  // B kept being heard (its entry refreshed): still there.
  CHECK(s.learned_port(kB) == 1);
  // An aged entry is ignored at once, before the collector runs.
  (void)s.h.exchange(2, ethernet_frame(kB, kC, kTestType));
  s.h.clock().advance(absl::Milliseconds(10001));
  CHECK(s.learned_port(kC) == -1);
  CHECK(s.bridge->fdb_entry(kC) != nullptr);
  s.h.finish();
}

TEST_CASE("inlet.bridge.fdb_max: the table never exceeds its bound; refused entries are counted and frames still flooded") {
  BridgeSetup s({{Tunable::kBridgeFdbMax, 4}, {Tunable::kBridgeAgeingTime, 5}});
  const auto before = s.h.snapshot();
  for (uint8_t i = 0; i < 10; ++i) {
    const wire::MacAddress src({0x02, 0x00, 0x00, 0x00, 0x01, i});
    const Bytes f = ethernet_frame(kD, src, kTestType);
    CHECK(ports_that_sent(s.h.exchange(0, f), f) == Ports{1, 2});
    CHECK(s.bridge->fdb_size() <= 4);
  }
  CHECK(s.bridge->fdb_size() == 4);
  CHECK(s.h.counter_diff(before, {{Counter::rx_packets, 10},
                                  {Counter::BridgeFdbLearned, 4},
                                  {Counter::BridgeFdbFull, 6},
                                  {Counter::BridgeFloods, 10},
                                  {Counter::tx_packets, 20}}) == "");
  // The first four were learned; the fifth was not.
  CHECK(s.learned_port(wire::MacAddress({0x02, 0x00, 0x00, 0x00, 0x01, 3})) == 0);
  CHECK(s.learned_port(wire::MacAddress({0x02, 0x00, 0x00, 0x00, 0x01, 4})) == -1);
  // Once they age out there is room again.
  (void)s.h.advance(absl::Seconds(7), absl::Milliseconds(500));
  CHECK(s.bridge->fdb_size() == 0);
  CHECK(s.h.count(Counter::BridgeFdbAged) == 4);
  (void)s.h.exchange(2, ethernet_frame(kD, kC, kTestType));
  CHECK(s.learned_port(kC) == 2);
  s.h.finish();
}

TEST_CASE("IEEE 802.1D 8.7: a station that moves to another port is re-learned there") {
  BridgeSetup s;
  (void)s.h.exchange(0, ethernet_frame(kB, kA, kTestType));
  (void)s.h.exchange(1, ethernet_frame(kA, kB, kTestType));
  REQUIRE(s.learned_port(kA) == 0);
  const auto before = s.h.snapshot();
  const Bytes moved = ethernet_frame(kB, kA, kTestType, 80);
  CHECK(ports_that_sent(s.h.exchange(2, moved), moved) == Ports{1});
  CHECK(s.h.counter_diff(before, {{Counter::rx_packets, 1},
                                  {Counter::BridgeFdbMoved, 1},
                                  {Counter::BridgeForwarded, 1},
                                  {Counter::tx_packets, 1}}) == "");
  CHECK(s.learned_port(kA) == 2);
  CHECK(s.bridge->fdb_size() == 2);
  const Bytes to_a = ethernet_frame(kA, kB, kTestType, 90);
  CHECK(ports_that_sent(s.h.exchange(1, to_a), to_a) == Ports{2});
  s.h.finish();
}

TEST_CASE("skb_clone: flood copies share the received frame's buffer — one slab, one descriptor per port") {
  BridgeSetup s({}, {{}, {}, {}, {}});  // four ports: an unknown destination goes to three
  s.h.poll_idle();
  const uint32_t slabs = s.h.stack().pool().in_use();  // the RX rings' buffers
  const uint32_t descriptors = s.h.stack().pool().descriptors_in_use();
  const Bytes f = ethernet_frame(kB, kA, kTestType, 1000);
  s.h.inject(0, f);
  s.h.poll_idle();
  // The ring was refilled (one slab), and the frame's slab is held three times.
  CHECK(s.h.stack().pool().in_use() == slabs + 1);
  CHECK(s.h.stack().pool().descriptors_in_use() == descriptors + 3);
  const PerPort sent = s.h.collect();
  CHECK(ports_that_sent(sent, f) == Ports{1, 2, 3});
  CHECK(s.h.stack().pool().in_use() == slabs);
  CHECK(s.h.stack().pool().descriptors_in_use() == descriptors);
  s.h.finish();
}

TEST_CASE("IEEE 802.1D 7.12.6: frames to the reserved group addresses (STP, LACP, 802.1X) are never forwarded") {
  BridgeSetup s;
  (void)s.h.exchange(0, ethernet_frame(kB, kA, kTestType));  // A learned on port 0
  for (const char* group : {"01:80:c2:00:00:00", "01:80:c2:00:00:02", "01:80:c2:00:00:03", "01:80:c2:00:00:0e"}) {
    CAPTURE(group);
    const auto before = s.h.snapshot();
    const PerPort sent = s.h.exchange(0, ethernet_frame(mac(group), kA, 0x0026));  // an LLC length
    CHECK(ports_that_sent(sent, {}).empty());
    // For the bridge device itself, which has no LLC handler.
    CHECK(s.h.counter_diff(before, {{Counter::rx_packets, 1}, {Counter::rx_nohandler, 1}}) == "");
  }
  CHECK(s.learned_port(kA) == 0);
  s.h.finish();
}

TEST_CASE("IEEE 802.3 / 802.1D 7.8: a multicast or zero source address is dropped and never learned") {
  BridgeSetup s;
  for (const wire::MacAddress src : {mac("01:00:5e:00:00:01"), wire::kMacBroadcast, wire::kMacZero}) {
    const auto before = s.h.snapshot();
    CHECK(ports_that_sent(s.h.exchange(0, ethernet_frame(kB, src, kTestType)), {}).empty());
    CHECK(s.h.counter_diff(before, {{Counter::rx_packets, 1}, {Counter::rx_dropped, 1}}) == "");
  }
  CHECK(s.h.counters().drops(DropReason::kBridgeInvalidSource) == 3);
  CHECK(s.bridge->fdb_size() == 0);
  s.h.finish();
}

TEST_CASE("Linux br_forward: a frame larger than an egress port's MTU is not sent on that port") {
  BridgeSetup s({}, {{}, {}, {.mtu = 1000}});
  const Bytes big = ethernet_frame(kB, kA, kTestType, 1200);
  const auto before = s.h.snapshot();
  CHECK(ports_that_sent(s.h.exchange(0, big), big) == Ports{1});
  CHECK(s.h.counter_diff(before, {{Counter::rx_packets, 1},
                                  {Counter::BridgeFdbLearned, 1},
                                  {Counter::BridgeFloods, 1},
                                  {Counter::tx_packets, 1},
                                  {Counter::tx_dropped, 1}}) == "");
  CHECK(s.h.counters().drops(DropReason::kBridgeTooBig) == 1);
  CHECK(s.br->mtu() == 1000);  // the bridge device takes the smallest member MTU
  s.h.finish();
}

TEST_CASE("Linux bridge: br0 answers ARP from any port and replies only where the asker was learned") {
  BridgeSetup s;
  const sim::SimPeer a(kA, ip("192.0.2.10"));
  const Bytes request = a.arp_request(ip("192.0.2.2"));
  const auto before = s.h.snapshot();
  const PerPort sent = s.h.exchange(0, request);
  // The broadcast is flooded to ports 1 and 2 as it came ...
  REQUIRE(sent[1].size() == 1);
  CHECK(sent[1][0] == request);
  REQUIRE(sent[2].size() == 1);
  CHECK(sent[2][0] == request);
  // ... and br0's reply goes to port 0 only, from br0's MAC (the first port's).
  REQUIRE(sent[0].size() == 1);
  CHECK(s.br->mac() == s.h.iface(0).mac());
  auto eth = wire::EthernetView::parse(sent[0][0]);
  REQUIRE(eth.ok());
  CHECK(eth->src() == s.br->mac());
  CHECK(eth->dst() == kA);
  const wire::ArpView reply = parse_sent_arp(sent[0][0]);
  CHECK(reply.operation() == wire::ArpOperation::kReply);
  CHECK(reply.sender_ip() == ip("192.0.2.2"));
  CHECK(s.h.counter_diff(before, {{Counter::rx_packets, 1},
                                  {Counter::BridgeFdbLearned, 1},
                                  {Counter::BridgeFloods, 1},
                                  {Counter::ArpInRequests, 1},
                                  {Counter::ArpOutReplies, 1},
                                  {Counter::tx_packets, 3}}) == "");
  const link::Neighbour* n = s.h.stack().link().neighbours().find(a.ip());
  REQUIRE(n != nullptr);
  CHECK(n->ifindex == s.br->ifindex());

  // A ping from a station on port 2 to br0 (addressed to br0's MAC) is not
  // forwarded, and the reply goes to port 2 only.
  const sim::SimPeer c(kC, ip("192.0.2.12"));
  (void)s.h.exchange(2, c.arp_request(ip("192.0.2.2")));
  const PerPort ping = s.h.exchange(2, c.icmp_echo(s.br->mac(), ip("192.0.2.2"), 1, 1, bytes_of("ping")));
  CHECK(ping[0].empty());
  CHECK(ping[1].empty());
  REQUIRE(ping[2].size() == 1);
  const SentIpv4 echo = parse_sent_ipv4(ping[2][0]);
  CHECK(echo.ip.dst() == c.ip());
  CHECK(echo.eth.dst() == kC);
  // Frames to another member's own MAC are the stack's too (local FDB entries).
  const PerPort to_port1 = s.h.exchange(2, c.icmp_echo(s.h.iface(1).mac(), ip("192.0.2.2"), 1, 2, bytes_of("ping")));
  CHECK(to_port1[0].empty());
  CHECK(to_port1[1].empty());
  CHECK(to_port1[2].size() == 1);
  s.h.finish();
}

TEST_CASE("Linux br_dev_xmit: the stack's frames on br0 are flooded until the destination is learned, then sent to its port") {
  BridgeSetup s;
  const sim::SimPeer c(kC, ip("192.0.2.12"));
  CHECK(s.h.stack().udp_send({ip("192.0.2.2"), 5000}, {c.ip(), 7000}, bytes_of("hello")));
  PerPort sent = s.h.run();
  // The ARP request goes out of every port.
  for (size_t i = 0; i < 3; ++i) {
    REQUIRE(sent[i].size() == 1);
    const wire::ArpView req = parse_sent_arp(sent[i][0]);
    CHECK(req.operation() == wire::ArpOperation::kRequest);
    CHECK(req.target_ip() == c.ip());
  }
  // C answers on port 2: learned there, and the datagram leaves port 2 only.
  sent = s.h.exchange(2, c.arp_reply(s.br->mac(), ip("192.0.2.2")));
  CHECK(sent[0].empty());
  CHECK(sent[1].empty());
  REQUIRE(sent[2].size() == 1);
  const SentIpv4 d = parse_sent_ipv4(sent[2][0]);
  CHECK(d.ip.dst() == c.ip());
  CHECK(d.eth.dst() == kC);
  CHECK(s.learned_port(kC) == 2);
  s.h.finish();
}

TEST_CASE("add_bridge refuses an empty list, unknown, VLAN, repeated and already-bridged members") {
  MultiPortHarness h({{}, {}, {}});
  Stack& stack = h.stack();
  auto vlan = stack.add_vlan(1, 10);
  REQUIRE(vlan.ok());
  CHECK(stack.add_bridge({}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(stack.add_bridge({1, 42}).status().code() == absl::StatusCode::kNotFound);
  CHECK(stack.add_bridge({1, (*vlan)->ifindex()}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(stack.add_bridge({1, 2, 1}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(stack.add_bridge({1, 2}, BridgeSpec{.mtu = 9000}).status().code() == absl::StatusCode::kInvalidArgument);
  auto br = stack.add_bridge({1, 2});
  REQUIRE(br.ok());
  CHECK((*br)->kind() == link::InterfaceKind::kBridge);
  CHECK((*br)->name() == "br0");
  CHECK(h.iface(0).bridge_port_of() != nullptr);
  CHECK(stack.add_bridge({2, 3}).status().code() == absl::StatusCode::kInvalidArgument);
  auto br1 = stack.add_bridge({3});
  REQUIRE(br1.ok());
  CHECK((*br1)->name() == "br1");
  auto named = stack.add_bridge({}, BridgeSpec{.name = "lan"});
  CHECK_FALSE(named.ok());
  CHECK(stack.link().bridges().size() == 2);
  // A one-port bridge has nowhere to flood unknown unicast.
  const auto before = h.snapshot();
  (void)h.exchange(2, ethernet_frame(kB, kA, kTestType));
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::BridgeFdbLearned, 1},
                                {Counter::BridgeFloods, 1},
                                {Counter::BridgeFiltered, 1}}) == "");
  CHECK(h.counters().drops(DropReason::kBridgeNoEgress) == 1);
  h.finish();
}

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::stack_test
#endif  // INLET_WITH_BRIDGE

// IPv4 forwarding through the whole stack (RFC 1812 5.2/5.3, RFC 791 3.2,
// RFC 1191, RFC 3704): a router with two SimPorts, 192.0.2.0/24 (peer A) and
// 198.51.100.0/24 (peer B), neighbours resolved by ARP. Every scenario checks
// exact counter movements, the decoded frames, and that shutdown returns
// every buffer.
#include "core/features.h"
#if INLET_WITH_FORWARDING
#include <doctest/doctest.h>

#include <set>

#include "filter/filter.h"
#include "link_fixture.h"

namespace inlet::stack_test {
namespace {

TEST_SUITE_BEGIN("ip.forward");

const Bytes kPayload = bytes_of("forwarded payload: 0123456789abcdef");

constexpr const char* kIpA = "192.0.2.2";       // the router on port 0
constexpr const char* kIpB = "198.51.100.2";    // the router on port 1
constexpr const char* kIpC = "203.0.113.2";     // the router on port 2 (3-port set-ups)

struct RouterOptions {
  std::vector<std::pair<Tunable, int64_t>> sysctls = {{Tunable::kIpForward, 1}};
  uint32_t mtu_b = 1500;
  bool third_port = false;
};

// The router and the two (or three) peers.
class Router {
 public:
  explicit Router(RouterOptions o = {})
      : h_(ports(o), o.sysctls),
        a_(mac("02:00:00:00:00:0a"), ip("192.0.2.1")),
        b_(mac("02:00:00:00:00:0b"), ip("198.51.100.1")),
        c_(mac("02:00:00:00:00:0c"), ip("203.0.113.1")) {}

  static std::vector<PortOptions> ports(const RouterOptions& o) {
    std::vector<PortOptions> p = {{1500, {{ip(kIpA), 24}}}, {o.mtu_b, {{ip(kIpB), 24}}}};
    if (o.third_port) p.push_back({1500, {{ip(kIpC), 24}}});
    return p;
  }

  MultiPortHarness& h() { return h_; }
  const sim::SimPeer& a() const { return a_; }
  const sim::SimPeer& b() const { return b_; }
  const sim::SimPeer& c() const { return c_; }
  wire::MacAddress mac_of(size_t port) { return h_.iface(port).mac(); }
  wire::Ipv4Address ip_of(size_t port) { return h_.iface(port).addresses().front().address; }

  // The peer on `port` announces itself (an ARP request for the router's
  // address): the router learns it and answers; the answer is discarded.
  void learn(size_t port, const sim::SimPeer& peer) {
    const PerPort sent = h_.exchange(port, peer.arp_request(ip_of(port)));
    REQUIRE(sent[port].size() == 1);
    REQUIRE(h_.stack().link().neighbours().find(peer.ip()) != nullptr);
  }
  void learn_both() {
    learn(0, a_);
    learn(1, b_);
  }

 private:
  MultiPortHarness h_;
  sim::SimPeer a_, b_, c_;
};

// A datagram from A (to the router's MAC on port 0) for `dst`.
Bytes from_a(Router& r, wire::Ipv4Address dst, uint8_t ttl = 64, bool df = false,
             uint8_t proto = wire::ipproto::kUdp, std::span<const uint8_t> payload = {},
             std::span<const uint8_t> options = {}, uint16_t ident = 0x1234,
             wire::Ipv4Address src = wire::kIpv4Any) {
  wire::Ipv4Repr repr;
  repr.src = src.is_unspecified() ? r.a().ip() : src;
  repr.dst = dst;
  repr.protocol = proto;
  repr.ttl = ttl;
  repr.ident = ident;
  repr.dont_fragment = df;
  repr.options = options;
  Bytes body = payload.empty() && proto == wire::ipproto::kUdp
                   ? udp_datagram(repr.src, dst, 5000, 7000, kPayload)
                   : Bytes(payload.begin(), payload.end());
  return ipv4_frame(r.mac_of(0), r.a().mac(), repr, body);
}

// An ICMP error the router sent: its IP view and ICMP view (checksums verified).
struct SentIcmp {
  SentIpv4 frame;
  wire::IcmpView icmp;
};
SentIcmp parse_sent_icmp(const Bytes& f) {
  SentIpv4 s = parse_sent_ipv4(f);
  REQUIRE(s.ip.protocol() == wire::ipproto::kIcmp);
  auto icmp = wire::IcmpView::parse(s.ip.payload(), wire::ChecksumMode::kVerify);
  REQUIRE(icmp.ok());
  return {s, *icmp};
}

// Checks an ICMP error to A about `original` (an untagged frame A sent):
// type/code, from the router's port-0 address, quoting the original header
// as received and at least 8 bytes of its payload (RFC 792, RFC 1812 4.3.2.3).
void check_error_to_a(Router& r, const Bytes& sent, const Bytes& original, uint8_t type,
                      uint8_t code) {
  const SentIcmp e = parse_sent_icmp(sent);
  CHECK(e.frame.eth.dst() == r.a().mac());
  CHECK(e.frame.eth.src() == r.mac_of(0));
  CHECK(e.frame.ip.src() == r.ip_of(0));
  CHECK(e.frame.ip.dst() == r.a().ip());
  CHECK(e.frame.ip.tos() == 0xC0);
  CHECK(e.icmp.type() == type);
  CHECK(e.icmp.code() == code);
  auto q = e.icmp.quote();
  REQUIRE(q.ok());
  const size_t hlen = (original[kEth] & 0x0F) * 4u;
  CHECK(Bytes(q->header.begin(), q->header.end()) ==
        Bytes(original.begin() + kEth, original.begin() + kEth + hlen));
  REQUIRE(q->transport.size() >= 8);
  CHECK(Bytes(q->transport.begin(), q->transport.begin() + 8) ==
        Bytes(original.begin() + kEth + hlen, original.begin() + kEth + hlen + 8));
}

// Frames a port sent, as "is this a forwarded copy of a datagram with ident X".
bool is_ipv4(const Bytes& f) {
  return f.size() >= kEth && wire::load_be16(&f[12]) == wire::ethertype::kIpv4;
}

uint16_t full_checksum(std::span<const uint8_t> header) {
  Bytes h(header.begin(), header.end());
  h[10] = h[11] = 0;
  return wire::internet_checksum(h);
}

TEST_CASE("RFC 1812 5.2.1 / 5.3.1: a datagram crosses with TTL-1, RFC 1624 checksum, after ARP") {
  Router r;
  r.learn(0, r.a());  // B is not known yet: the router must resolve it
  const Bytes f = from_a(r, r.b().ip());
  auto before = r.h().snapshot();
  PerPort sent = r.h().exchange(0, f);
  CHECK(sent[0].empty());
  REQUIRE(sent[1].size() == 1);  // the ARP request for B; the datagram waits
  const wire::ArpView req = parse_sent_arp(sent[1][0]);
  CHECK(req.operation() == wire::ArpOperation::kRequest);
  CHECK(req.target_ip() == r.b().ip());
  CHECK(req.sender_ip() == r.ip_of(1));
  CHECK(r.h().counter_diff(before, {{Counter::rx_packets, 1},
                                    {Counter::IpInReceives, 1},
                                    {Counter::IpForwDatagrams, 1},
                                    {Counter::ArpOutRequests, 1},
                                    {Counter::tx_packets, 1}}) == "");
  before = r.h().snapshot();
  sent = r.h().exchange(1, r.b().arp_reply(r.mac_of(1), r.ip_of(1)));
  CHECK(sent[0].empty());
  REQUIRE(sent[1].size() == 1);
  CHECK(r.h().counter_diff(before, {{Counter::rx_packets, 1},
                                    {Counter::ArpInReplies, 1},
                                    {Counter::tx_packets, 1}}) == "");
  const SentIpv4 out = parse_sent_ipv4(sent[1][0]);  // checksum verified
  CHECK(out.eth.src() == r.mac_of(1));
  CHECK(out.eth.dst() == r.b().mac());
  CHECK(out.ip.ttl() == 63);
  CHECK(out.ip.header_checksum() == full_checksum(out.ip.header()));
  // Everything but TTL and checksum is as A sent it.
  Bytes expect(f.begin() + kEth, f.end());
  expect[8] = 63;
  Bytes got(out.ip.bytes().begin(), out.ip.bytes().end());
  got[10] = got[11] = 0;
  expect[10] = expect[11] = 0;
  CHECK(got == expect);
  r.h().finish();
}

TEST_CASE("RFC 1624: the incremental checksum equals a full recompute for every TTL") {
  Router r;
  r.learn_both();
  for (int ttl = 2; ttl <= 255; ttl += 11) {
    CAPTURE(ttl);
    Bytes f = from_a(r, r.b().ip(), static_cast<uint8_t>(ttl), false, wire::ipproto::kUdp, {},
                     {}, static_cast<uint16_t>(ttl * 257));
    const PerPort sent = r.h().exchange(0, f);
    REQUIRE(sent[1].size() == 1);
    const SentIpv4 out = parse_sent_ipv4(sent[1][0]);
    CHECK(out.ip.ttl() == ttl - 1);
    CHECK(out.ip.header_checksum() == full_checksum(out.ip.header()));
  }
  r.h().finish();
}

TEST_CASE("RFC 1812 5.2.1: with net.ipv4.ip_forward=0 a datagram not for us is an address error") {
  Router r(RouterOptions{.sysctls = {{Tunable::kIpForward, 0}}});
  r.learn_both();
  const auto before = r.h().snapshot();
  const PerPort sent = r.h().exchange(0, from_a(r, r.b().ip()));
  CHECK(sent[0].empty());
  CHECK(sent[1].empty());
  CHECK(r.h().counter_diff(before, {{Counter::rx_packets, 1},
                                    {Counter::IpInReceives, 1},
                                    {Counter::IpInAddrErrors, 1}}) == "");
  r.h().finish();
}

TEST_CASE("RFC 1812 5.3.1: TTL 1 is not forwarded; ICMP time exceeded quotes header + 8 bytes") {
  Router r;
  r.learn_both();
  for (uint8_t ttl : {uint8_t{1}, uint8_t{0}}) {
    CAPTURE(int{ttl});
    const Bytes f = from_a(r, r.b().ip(), ttl, false, wire::ipproto::kUdp, {}, {},
                           static_cast<uint16_t>(100 + ttl));
    const auto before = r.h().snapshot();
    const PerPort sent = r.h().exchange(0, f);
    CHECK(sent[1].empty());
    REQUIRE(sent[0].size() == 1);
    check_error_to_a(r, sent[0][0], f, wire::icmptype::kTimeExceeded,
                     wire::icmpcode::kTtlExceeded);
    CHECK(r.h().counter_diff(before, {{Counter::rx_packets, 1},
                                      {Counter::IpInReceives, 1},
                                      {Counter::IpInHdrErrors, 1},
                                      {Counter::IpOutRequests, 1},
                                      {Counter::IcmpOutMsgs, 1},
                                      {Counter::IcmpOutTimeExcds, 1},
                                      {Counter::IcmpMsgOutType11, 1},
                                      {Counter::tx_packets, 1}}) == "");
  }
  r.h().finish();
}

TEST_CASE("RFC 1812 5.2.7.1: no route is an ICMP net unreachable and IpOutNoRoutes") {
  Router r;
  r.learn_both();
  const Bytes f = from_a(r, ip("10.9.8.7"));
  const auto before = r.h().snapshot();
  const PerPort sent = r.h().exchange(0, f);
  CHECK(sent[1].empty());
  REQUIRE(sent[0].size() == 1);
  check_error_to_a(r, sent[0][0], f, wire::icmptype::kDestUnreachable,
                   wire::icmpcode::kNetUnreachable);
  CHECK(r.h().counter_diff(before, {{Counter::rx_packets, 1},
                                    {Counter::IpInReceives, 1},
                                    {Counter::IpOutNoRoutes, 1},
                                    {Counter::IpOutRequests, 1},
                                    {Counter::IcmpOutMsgs, 1},
                                    {Counter::IcmpOutDestUnreachs, 1},
                                    {Counter::IcmpMsgOutType3, 1},
                                    {Counter::tx_packets, 1}}) == "");
  r.h().finish();
}

ip::FibRoute typed_route(const char* prefix, uint8_t len, ip::RouteType type) {
  ip::FibRoute rt;
  rt.prefix = ip(prefix);
  rt.prefix_length = len;
  rt.type = type;
  return rt;
}

TEST_CASE("RFC 1812 5.2.7.1 / ip-route(8): blackhole, unreachable and prohibit routes") {
  Router r;
  r.learn_both();
  REQUIRE(r.h().stack().add_route(typed_route("10.1.0.0", 16, ip::RouteType::kBlackhole)).ok());
  REQUIRE(r.h().stack().add_route(typed_route("10.2.0.0", 16, ip::RouteType::kUnreachable)).ok());
  REQUIRE(r.h().stack().add_route(typed_route("10.3.0.0", 16, ip::RouteType::kProhibit)).ok());
  const StackHarness::Expected icmp_sent = {{Counter::rx_packets, 1},
                                            {Counter::IpInReceives, 1},
                                            {Counter::IpOutNoRoutes, 1},
                                            {Counter::IpOutRequests, 1},
                                            {Counter::IcmpOutMsgs, 1},
                                            {Counter::IcmpOutDestUnreachs, 1},
                                            {Counter::IcmpMsgOutType3, 1},
                                            {Counter::tx_packets, 1}};
  SUBCASE("blackhole: silently discarded") {
    const auto before = r.h().snapshot();
    const PerPort sent = r.h().exchange(0, from_a(r, ip("10.1.2.3")));
    CHECK(sent[0].empty());
    CHECK(sent[1].empty());
    CHECK(r.h().counter_diff(before, {{Counter::rx_packets, 1},
                                      {Counter::IpInReceives, 1},
                                      {Counter::IpOutDiscards, 1}}) == "");
  }
  SUBCASE("unreachable: ICMP host unreachable (code 1)") {
    const Bytes f = from_a(r, ip("10.2.2.3"));
    const auto before = r.h().snapshot();
    const PerPort sent = r.h().exchange(0, f);
    CHECK(sent[1].empty());
    REQUIRE(sent[0].size() == 1);
    check_error_to_a(r, sent[0][0], f, 3, wire::icmpcode::kHostUnreachable);
    CHECK(r.h().counter_diff(before, icmp_sent) == "");
  }
  SUBCASE("prohibit: ICMP administratively prohibited (code 13)") {
    const Bytes f = from_a(r, ip("10.3.2.3"));
    const auto before = r.h().snapshot();
    const PerPort sent = r.h().exchange(0, f);
    CHECK(sent[1].empty());
    REQUIRE(sent[0].size() == 1);
    check_error_to_a(r, sent[0][0], f, 3, wire::icmpcode::kAdminProhibited);
    CHECK(r.h().counter_diff(before, icmp_sent) == "");
  }
  r.h().finish();
}

// Where a datagram for `dst` left: the port and the Ethernet destination.
std::pair<int, wire::MacAddress> egress(Router& r, wire::Ipv4Address dst, uint16_t ident = 7,
                                        uint16_t sport = 5000) {
  wire::Ipv4Repr repr;
  repr.src = r.a().ip();
  repr.dst = dst;
  repr.protocol = wire::ipproto::kUdp;
  repr.ident = ident;
  const Bytes f = ipv4_frame(r.mac_of(0), r.a().mac(), repr,
                             udp_datagram(repr.src, dst, sport, 7000, kPayload));
  const PerPort sent = r.h().exchange(0, f);
  int port = -1;
  wire::MacAddress to;
  for (size_t i = 0; i < sent.size(); ++i) {
    for (const Bytes& s : sent[i]) {
      if (!is_ipv4(s)) continue;
      CHECK(port == -1);
      port = static_cast<int>(i);
      to = parse_sent_ipv4(s).eth.dst();
    }
  }
  return {port, to};
}

TEST_CASE("RFC 1812 5.2.4.3: the longest prefix wins, then the lowest metric") {
  Router r;
  r.learn_both();
  const sim::SimPeer b2(mac("02:00:00:00:00:b2"), ip("198.51.100.3"));
  r.learn(1, b2);
  Stack& s = r.h().stack();
  REQUIRE(s.add_route(ip("10.0.0.0"), 8, r.b().ip()).ok());
  REQUIRE(s.add_route(ip("10.1.0.0"), 16, b2.ip(), 10).ok());
  REQUIRE(s.add_route(ip("10.1.0.0"), 16, r.b().ip(), 20).ok());
  CHECK(egress(r, ip("10.2.3.4")) == std::pair{1, r.b().mac()});  // /8
  CHECK(egress(r, ip("10.1.3.4")) == std::pair{1, b2.mac()});     // /16, metric 10
  REQUIRE(s.remove_route(ip("10.1.0.0"), 16, 10u).ok());
  CHECK(egress(r, ip("10.1.3.4")) == std::pair{1, r.b().mac()});  // /16, metric 20
  r.h().finish();
}

TEST_CASE("RFC 1812 5.2.4: a route removed or added at run time takes effect at the next poll") {
  Router r;
  r.learn_both();
  Stack& s = r.h().stack();
  REQUIRE(s.add_route(ip("10.0.0.0"), 8, r.b().ip()).ok());
  CHECK(egress(r, ip("10.2.3.4"), 1).first == 1);
  REQUIRE(s.remove_route(ip("10.0.0.0"), 8).ok());
  auto before = r.h().snapshot();
  const PerPort sent = r.h().exchange(0, from_a(r, ip("10.2.3.4")));
  CHECK(sent[1].empty());
  REQUIRE(sent[0].size() == 1);  // net unreachable back to A
  CHECK(r.h().count(Counter::IpOutNoRoutes) - before.values[size_t(Counter::IpOutNoRoutes)] == 1);
  REQUIRE(s.add_route(ip("10.2.0.0"), 16, r.a().ip()).ok());  // now back out of port 0
  CHECK(egress(r, ip("10.2.3.4"), 3) == std::pair{0, r.a().mac()});
  r.h().finish();
}

TEST_CASE("RFC 2992: ECMP spreads flows over next hops and keeps each flow on one") {
  Router r;
  r.learn_both();
  const sim::SimPeer b2(mac("02:00:00:00:00:b2"), ip("198.51.100.3"));
  r.learn(1, b2);
  ip::FibRoute rt;
  rt.prefix = ip("10.0.0.0");
  rt.prefix_length = 8;
  rt.nexthop_count = 2;
  rt.nexthops[0].gateway = r.b().ip();
  rt.nexthops[1].gateway = b2.ip();
  REQUIRE(r.h().stack().add_route(rt).ok());
  std::map<wire::MacAddress, int> used;
  for (uint16_t flow = 0; flow < 32; ++flow) {
    const auto first = egress(r, ip("10.0.0.9"), flow, static_cast<uint16_t>(1000 + flow));
    REQUIRE(first.first == 1);
    ++used[first.second];
    for (int again = 0; again < 3; ++again) {  // same flow, same next hop
      CHECK(egress(r, ip("10.0.0.9"), static_cast<uint16_t>(flow + 100 * again),
                   static_cast<uint16_t>(1000 + flow)) == first);
    }
  }
  CHECK(used.size() == 2);
  CHECK(used[r.b().mac()] >= 4);
  CHECK(used[b2.mac()] >= 4);
  r.h().finish();
}

TEST_CASE("RFC 3704: rp_filter strict (1) and loose (2) drop spoofed sources, pass others") {
  for (int mode : {1, 2}) {
    CAPTURE(mode);
    Router r(RouterOptions{.sysctls = {{Tunable::kIpForward, 1}, {Tunable::kRpFilter, mode}}});
    r.learn_both();
    REQUIRE(r.h().stack().add_route(ip("10.0.0.0"), 8, r.b().ip()).ok());
    // Legitimate: A's own address.
    CHECK(egress(r, r.b().ip(), 1).first == 1);
    // A source routed back through the other port: spoofed for strict only.
    {
      const auto before = r.h().snapshot();
      const PerPort sent = r.h().exchange(
          0, from_a(r, r.b().ip(), 64, false, wire::ipproto::kUdp, {}, {}, 2, ip("10.0.0.1")));
      if (mode == 1) {
        CHECK(sent[1].empty());
        CHECK(sent[0].empty());
        CHECK(r.h().counter_diff(before, {{Counter::rx_packets, 1},
                                          {Counter::IpInReceives, 1},
                                          {Counter::TcpExtIPReversePathFilter, 1}}) == "");
      } else {
        CHECK(sent[1].size() == 1);
      }
    }
    // A source with no route back at all: spoofed in both modes.
    const auto before = r.h().snapshot();
    const PerPort sent = r.h().exchange(
        0, from_a(r, r.b().ip(), 64, false, wire::ipproto::kUdp, {}, {}, 3, ip("172.16.0.1")));
    CHECK(sent[0].empty());
    CHECK(sent[1].empty());
    CHECK(r.h().counter_diff(before, {{Counter::rx_packets, 1},
                                      {Counter::IpInReceives, 1},
                                      {Counter::TcpExtIPReversePathFilter, 1}}) == "");
    r.h().finish();
  }
}

TEST_CASE("RFC 1191 / RFC 1812 5.2.6: DF set and a smaller egress MTU: fragmentation needed") {
  Router r(RouterOptions{.mtu_b = 576});
  r.learn_both();
  const Bytes big(1000, 0x42);
  const Bytes f = from_a(r, r.b().ip(), 64, true, wire::ipproto::kUdp,
                         udp_datagram(r.a().ip(), r.b().ip(), 5000, 7000, big));
  const auto before = r.h().snapshot();
  const PerPort sent = r.h().exchange(0, f);
  CHECK(sent[1].empty());
  REQUIRE(sent[0].size() == 1);
  check_error_to_a(r, sent[0][0], f, wire::icmptype::kDestUnreachable,
                   wire::icmpcode::kFragmentationNeeded);
  CHECK(parse_sent_icmp(sent[0][0]).icmp.next_hop_mtu() == 576);
  CHECK(r.h().counter_diff(before, {{Counter::rx_packets, 1},
                                    {Counter::IpInReceives, 1},
                                    {Counter::IpFragFails, 1},
                                    {Counter::IpOutRequests, 1},
                                    {Counter::IcmpOutMsgs, 1},
                                    {Counter::IcmpOutDestUnreachs, 1},
                                    {Counter::IcmpMsgOutType3, 1},
                                    {Counter::tx_packets, 1}}) == "");
  r.h().finish();
}

TEST_CASE("RFC 791 3.2 / RFC 1812 5.2.6: DF clear: fragments that reassemble to the original") {
  Router r(RouterOptions{.mtu_b = 576});
  r.learn_both();
  Bytes big(1400);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7 + 3);
  // Options: a copied one (security, 11 bytes -> padded) and a non-copied
  // one (record route).
  const uint8_t options[] = {wire::ipv4opt::kSecurity, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                             wire::ipv4opt::kNop,
                             wire::ipv4opt::kRecordRoute, 7, 4, 0, 0, 0, 0,
                             wire::ipv4opt::kEol};
  const Bytes udp = udp_datagram(r.a().ip(), r.b().ip(), 5000, 7000, big);
  const Bytes f = from_a(r, r.b().ip(), 64, false, wire::ipproto::kUdp, udp, options, 0x7777);
  const auto before = r.h().snapshot();
  const PerPort sent = r.h().exchange(0, f);
  CHECK(sent[0].empty());
  const size_t n = sent[1].size();
  REQUIRE(n >= 3);
  CHECK(r.h().counter_diff(before, {{Counter::rx_packets, 1},
                                    {Counter::IpInReceives, 1},
                                    {Counter::IpForwDatagrams, 1},
                                    {Counter::IpFragOKs, 1},
                                    {Counter::IpFragCreates, n},
                                    {Counter::tx_packets, n}}) == "");
  Bytes joined(udp.size(), 0);
  std::vector<bool> have(udp.size(), false);
  for (size_t i = 0; i < n; ++i) {
    CAPTURE(i);
    const SentIpv4 s = parse_sent_ipv4(sent[1][i]);
    CHECK(s.ip.total_length() <= 576);
    CHECK(s.ip.ident() == 0x7777);
    CHECK(s.ip.ttl() == 63);
    CHECK(!s.ip.dont_fragment());
    CHECK(s.ip.fragment_offset() % 8 == 0);
    CHECK(s.ip.more_fragments() == (i + 1 < n));
    if (i == 0) {
      CHECK(s.ip.fragment_offset() == 0);
      CHECK(Bytes(s.ip.options_bytes().begin(), s.ip.options_bytes().end()) ==
            Bytes(std::begin(options), std::end(options)));
    } else {
      // Only the copied option (security) is repeated, padded to 4 bytes.
      const Bytes o(s.ip.options_bytes().begin(), s.ip.options_bytes().end());
      REQUIRE(o.size() == 12);
      CHECK(Bytes(o.begin(), o.begin() + 11) == Bytes(options, options + 11));
      CHECK(o[11] == 0);
      CHECK(s.ip.payload().size() % 8 == (i + 1 < n ? 0u : s.ip.payload().size() % 8));
    }
    if (i + 1 < n) CHECK(s.ip.payload().size() % 8 == 0);
    const size_t off = s.ip.fragment_offset();
    REQUIRE(off + s.ip.payload().size() <= joined.size());
    for (size_t k = 0; k < s.ip.payload().size(); ++k) {
      CHECK_FALSE(have[off + k]);
      have[off + k] = true;
      joined[off + k] = s.ip.payload()[k];
    }
  }
  CHECK(std::all_of(have.begin(), have.end(), [](bool b) { return b; }));
  CHECK(joined == udp);
  r.h().finish();
}

TEST_CASE("RFC 1812 5.3.4 / 5.3.7 / 4.2.2.11: broadcasts, 0/8 and 127/8 are never forwarded") {
  Router r;
  r.learn_both();
  for (const char* dst : {"0.1.2.3", "127.0.0.1", "198.51.100.255", "240.1.2.3"}) {
    CAPTURE(dst);
    const auto before = r.h().snapshot();
    const PerPort sent = r.h().exchange(0, from_a(r, ip(dst)));
    CHECK(sent[0].empty());
    CHECK(sent[1].empty());
    CHECK(r.h().count(Counter::IpForwDatagrams) == before.values[size_t(Counter::IpForwDatagrams)]);
  }
  // Limited broadcast: for this host only (no UDP socket: dropped, never forwarded).
  {
    Bytes f = from_a(r, ip("255.255.255.255"));
    std::fill(f.begin(), f.begin() + 6, 0xFF);
    const PerPort sent = r.h().exchange(0, f);
    CHECK(sent[1].empty());
  }
  // A unicast datagram for B in a link-layer broadcast (RFC 1812 5.3.4).
  {
    Bytes f = from_a(r, r.b().ip());
    std::fill(f.begin(), f.begin() + 6, 0xFF);
    const auto before = r.h().snapshot();
    const PerPort sent = r.h().exchange(0, f);
    CHECK(sent[0].empty());
    CHECK(sent[1].empty());
    CHECK(r.h().counter_diff(before, {{Counter::rx_packets, 1},
                                      {Counter::IpInReceives, 1},
                                      {Counter::IpInAddrErrors, 1}}) == "");
  }
  r.h().finish();
}

TEST_CASE("RFC 1812 4.3.2.7: no ICMP error about an ICMP error, a broadcast, a later fragment") {
  Router r;
  r.learn_both();
  const StackHarness::Expected silent = {
      {Counter::rx_packets, 1}, {Counter::IpInReceives, 1}, {Counter::IpInHdrErrors, 1}};
  SUBCASE("an ICMP error with TTL 1") {
    const uint8_t quoted[28] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17};
    wire::IcmpRepr err{wire::icmptype::kDestUnreachable, 3, 0, quoted};
    Bytes body(err.total_length());
    REQUIRE(err.emit(body) > 0);
    const PerPort sent = r.h().exchange(0, from_a(r, r.b().ip(), 1, false, wire::ipproto::kIcmp, body));
    CHECK(sent[0].empty());
    CHECK(sent[1].empty());
  }
  SUBCASE("a non-first fragment with TTL 1") {
    wire::Ipv4Repr repr;
    repr.src = r.a().ip();
    repr.dst = r.b().ip();
    repr.protocol = wire::ipproto::kUdp;
    repr.ttl = 1;
    repr.frag_offset = 64;
    const auto before = r.h().snapshot();
    const PerPort sent = r.h().exchange(0, ipv4_frame(r.mac_of(0), r.a().mac(), repr, kPayload));
    CHECK(sent[0].empty());
    CHECK(sent[1].empty());
    CHECK(r.h().counter_diff(before, silent) == "");
  }
  SUBCASE("a link-layer broadcast with no route") {
    Bytes f = from_a(r, ip("10.9.9.9"));
    std::fill(f.begin(), f.begin() + 6, 0xFF);
    const PerPort sent = r.h().exchange(0, f);
    CHECK(sent[0].empty());
    CHECK(sent[1].empty());
  }
  SUBCASE("an echo request with TTL 1 is answered (not an error)") {
    wire::IcmpRepr echo = wire::IcmpRepr::echo_request(1, 1, kPayload);
    Bytes body(echo.total_length());
    REQUIRE(echo.emit(body) > 0);
    const PerPort sent = r.h().exchange(0, from_a(r, r.b().ip(), 1, false, wire::ipproto::kIcmp, body));
    REQUIRE(sent[0].size() == 1);
    CHECK(parse_sent_icmp(sent[0][0]).icmp.type() == wire::icmptype::kTimeExceeded);
  }
  r.h().finish();
}

TEST_CASE("Linux icmpv4_xrlim_allow: net.ipv4.icmp_ratelimit limits time exceeded per destination") {
  Router r;  // icmp_ratelimit 1000 ms, burst 6 per host; global burst 50
  r.learn_both();
  const auto before = r.h().snapshot();
  size_t errors = 0;
  for (uint16_t i = 0; i < 10; ++i) {
    errors += r.h().exchange(0, from_a(r, r.b().ip(), 1, false, wire::ipproto::kUdp, {}, {}, i))[0].size();
  }
  CHECK(errors == 6);
  CHECK(r.h().counter_diff(before, {{Counter::rx_packets, 10},
                                    {Counter::IpInReceives, 10},
                                    {Counter::IpInHdrErrors, 10},
                                    {Counter::IcmpOutRateLimitHost, 4},
                                    {Counter::IpOutRequests, 6},
                                    {Counter::IcmpOutMsgs, 6},
                                    {Counter::IcmpOutTimeExcds, 6},
                                    {Counter::IcmpMsgOutType11, 6},
                                    {Counter::tx_packets, 6}}) == "");
  // One token per second comes back.
  r.h().clock().advance(absl::Seconds(2));
  errors = 0;
  for (uint16_t i = 0; i < 4; ++i) {
    errors += r.h().exchange(0, from_a(r, r.b().ip(), 1, false, wire::ipproto::kUdp, {}, {}, i))[0].size();
  }
  CHECK(errors == 2);
  // Fragmentation needed is never limited (Linux icmpv4_mask_allow: PMTU discovery).
  r.h().finish();
}

TEST_CASE("Linux icmp_global_allow: net.ipv4.icmp_msgs_burst caps ICMP errors globally") {
  Router r(RouterOptions{.sysctls = {{Tunable::kIpForward, 1},
                                     {Tunable::kIcmpRatelimit, 0},
                                     {Tunable::kIcmpMsgsBurst, 3}}});
  r.learn_both();
  const auto before = r.h().snapshot();
  size_t errors = 0;
  for (uint16_t i = 0; i < 8; ++i) {
    errors += r.h().exchange(0, from_a(r, r.b().ip(), 1, false, wire::ipproto::kUdp, {}, {}, i))[0].size();
  }
  CHECK(errors == 3);
  CHECK(r.h().counter_diff(before, {{Counter::rx_packets, 8},
                                    {Counter::IpInReceives, 8},
                                    {Counter::IpInHdrErrors, 8},
                                    {Counter::IcmpOutRateLimitGlobal, 5},
                                    {Counter::IpOutRequests, 3},
                                    {Counter::IcmpOutMsgs, 3},
                                    {Counter::IcmpOutTimeExcds, 3},
                                    {Counter::IcmpMsgOutType11, 3},
                                    {Counter::tx_packets, 3}}) == "");
  r.h().finish();
}

TEST_CASE("RFC 1191 / Linux icmpv4_mask_allow: fragmentation needed is not rate limited") {
  Router r(RouterOptions{.mtu_b = 576});
  r.learn_both();
  const Bytes big(1000, 0x42);
  size_t errors = 0;
  for (uint16_t i = 0; i < 10; ++i) {
    errors += r.h().exchange(0, from_a(r, r.b().ip(), 64, true, wire::ipproto::kUdp,
                                       udp_datagram(r.a().ip(), r.b().ip(), 5000, 7000, big), {},
                                       i))[0].size();
  }
  CHECK(errors == 10);
  CHECK(r.h().count(Counter::IcmpOutRateLimitHost) == 0);
  r.h().finish();
}

filter::RuleSet rules(const char* text) {
  auto rs = filter::RuleSet::parse(text);
  REQUIRE(rs.ok());
  return std::move(*rs);
}

TEST_CASE("docs/filter.md: FORWARD, PREROUTING and INPUT rules drop what they name, counted") {
  Router r;
  r.learn_both();
  REQUIRE(r.h().stack().set_filter(rules("forward dst 198.51.100.1 proto udp dport 7000 drop\n"
                                         "prerouting src 192.0.2.0/24 proto 99 drop\n"
                                         "input proto udp dport 7000 drop\n")).ok());
  filter::RuleSet* f = r.h().stack().filter();
  REQUIRE(f != nullptr);
  const StackHarness::Expected dropped = {
      {Counter::rx_packets, 1}, {Counter::IpInReceives, 1}, {Counter::FilterDrops, 1}};
  // FORWARD
  auto before = r.h().snapshot();
  PerPort sent = r.h().exchange(0, from_a(r, r.b().ip()));
  CHECK(sent[1].empty());
  CHECK(r.h().counter_diff(before, dropped) == "");
  CHECK(f->hits(0) == 1);
  // Another protocol to B passes FORWARD.
  {
    wire::IcmpRepr echo = wire::IcmpRepr::echo_request(1, 1, kPayload);
    Bytes body(echo.total_length());
    REQUIRE(echo.emit(body) > 0);
    sent = r.h().exchange(0, from_a(r, r.b().ip(), 64, false, wire::ipproto::kIcmp, body));
    CHECK(sent[1].size() == 1);
    CHECK(f->hits(0) == 1);
  }
  // PREROUTING (protocol 99)
  before = r.h().snapshot();
  sent = r.h().exchange(0, from_a(r, r.b().ip(), 64, false, 99, kPayload));
  CHECK(sent[1].empty());
  CHECK(r.h().counter_diff(before, dropped) == "");
  CHECK(f->hits(1) == 1);
  // INPUT: UDP to the router itself.
  before = r.h().snapshot();
  sent = r.h().exchange(0, from_a(r, r.ip_of(0)));
  CHECK(sent[0].empty());
  CHECK(r.h().counter_diff(before, dropped) == "");
  CHECK(f->hits(2) == 1);
  r.h().finish();
}

TEST_CASE("RFC 1112 / Linux ipmr: multicast replicated to every listed interface but the ingress") {
  Router r(RouterOptions{.third_port = true});
  Stack& s = r.h().stack();
  const wire::Ipv4Address group = ip("239.1.2.3");
  REQUIRE(s.ip().add_multicast_route(group, 0, {1, 2, 3}).ok());
  wire::Ipv4Repr repr;
  repr.src = r.a().ip();
  repr.dst = group;
  repr.protocol = wire::ipproto::kUdp;
  repr.ttl = 5;
  const Bytes udp = udp_datagram(repr.src, group, 5000, 7000, kPayload);
  const Bytes f = ipv4_frame(wire::multicast_mac(group), r.a().mac(), repr, udp);
  r.h().inject(0, f);
  // During the poll, the copies share one payload slab: at most the frame's
  // slab plus one header slab per copy are in use, whatever the payload.
  const auto before = r.h().snapshot();
  r.h().poll_idle();
  const PerPort sent = r.h().collect();
  CHECK(sent[0].empty());
  for (size_t port : {size_t{1}, size_t{2}}) {
    CAPTURE(port);
    REQUIRE(sent[port].size() == 1);
    const SentIpv4 out = parse_sent_ipv4(sent[port][0]);
    CHECK(out.eth.src() == r.mac_of(port));
    CHECK(out.eth.dst() == wire::multicast_mac(group));
    CHECK(out.ip.ttl() == 4);
    CHECK(out.ip.header_checksum() == full_checksum(out.ip.header()));
    CHECK(Bytes(out.ip.payload().begin(), out.ip.payload().end()) == udp);
  }
  CHECK(r.h().counter_diff(before, {{Counter::rx_packets, 1},
                                    {Counter::IpInReceives, 1},
                                    {Counter::IpExtInMcastPkts, 1},
                                    {Counter::IpForwDatagrams, 2},
                                    {Counter::IpExtOutMcastPkts, 2},
                                    {Counter::tx_packets, 2}}) == "");
  r.h().finish();
}

TEST_CASE("Linux skb_clone: multicast copies share the payload slab") {
  Router r(RouterOptions{.third_port = true});
  Stack& s = r.h().stack();
  const wire::Ipv4Address group = ip("239.1.2.4");
  REQUIRE(s.ip().add_multicast_route(group, 1, {2, 3}).ok());
  wire::Ipv4Repr repr;
  repr.src = r.a().ip();
  repr.dst = group;
  repr.protocol = wire::ipproto::kUdp;
  const Bytes f = ipv4_frame(wire::multicast_mac(group), r.a().mac(), repr,
                             udp_datagram(repr.src, group, 5000, 7000, Bytes(1200, 0x33)));
  const uint32_t idle = s.pool().in_use();
  const uint32_t idle_desc = s.pool().descriptors_in_use();
  r.h().inject(0, f);
  s.poller().schedule_pending();
  // One poll: the frame is received and replicated; the transmit rings hold
  // the copies until the wire side collects them.
  s.poll();
  // Two copies: two clones of the frame's slab, each with a header slab in
  // front: 1 payload slab + 2 header slabs, 4 descriptors (the RX refill
  // replaces the frame's slab in the ring).
  const uint32_t slabs = s.pool().in_use() - idle;
  const uint32_t descs = s.pool().descriptors_in_use() - idle_desc;
  CHECK(slabs <= 4);  // a full copy per port would be 1 + 2 + (ring refill 1)
  CHECK(descs > slabs);
  const PerPort sent = r.h().collect();
  CHECK(sent[1].size() == 1);
  CHECK(sent[2].size() == 1);
  CHECK(s.pool().in_use() == idle);
  r.h().finish();
}

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::stack_test
#endif  // INLET_WITH_FORWARDING

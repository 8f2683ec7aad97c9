// The hostile-input suite (docs/hostile-input.md): every row of the table is
// one TEST_CASE here, named after the row. Each builds a malformed or abusive
// input, pushes it through a whole stack (an established TCP connection on
// port 80, a UDP socket on 7000, the peer's neighbour entry learned), and
// checks the exact counter movement, the drop reason, what was sent back
// (nothing, or exactly the RST / challenge ACK / ICMP the RFCs ask for), that
// the connection, socket and neighbour state did not move, and that every
// buffer went back to the pool.
#include "core/features.h"
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tcp_fixture.h"

namespace inlet::hostile_test {
namespace {

using namespace inlet::tcp_test;  // NOLINT: the fixtures' vocabulary
using stack_test::ip;
using stack_test::kEth;
using stack_test::mac;
using stack_test::refill_ip_checksum;

TEST_SUITE_BEGIN("hostile");

const Bytes kPayload = stack_test::bytes_of("hostile input payload");

// A whole stack with one established connection (peer 192.0.2.1:40000 to our
// port 80), a UDP socket on port 7000 and the peer's MAC learned.
struct World {
  explicit World(HarnessOptions ho = {}) : c(std::move(ho)) {
    auto s = c.h.stack().udp_bind(wire::kIpv4Any, 7000);
    REQUIRE(s.ok());
    udp = *s;
    c.h.poll();
    rcv_nxt = c.sock()->rcv_nxt().raw();
  }
  TcpHarness& h() { return c.h; }
  Peer& p() { return c.peer; }
  Bytes udp_frame() { return h().peer().udp(h().our_mac(), h().our_ip(), 5000, 7000, kPayload); }
  // A UDP/IPv4 frame to us through the IPv4 builder (options, fragments).
  wire::Ipv4Repr ip_repr(uint8_t proto = wire::ipproto::kUdp) {
    wire::Ipv4Repr r;
    r.src = h().peer().ip();
    r.dst = h().our_ip();
    r.protocol = proto;
    return r;
  }

  Connected c;
  udp::UdpSocket* udp = nullptr;
  uint32_t rcv_nxt = 0;  // what the connection expects next, as the tests left it
};

// Runs `push` (which puts the hostile input on the wire and returns what the
// stack sent) and checks: exactly `counters` moved, `reason` was tallied
// `reason_count` times and no other drop reason moved, `tx` frames went out,
// and the pool holds `pool_delta` more buffers than before (0: all returned).
std::vector<Bytes> check_hostile(World& w, const std::function<std::vector<Bytes>()>& push, const Expected& counters,
                                 std::optional<DropReason> reason, uint64_t reason_count, size_t tx,
                                 int64_t pool_delta) {
  Stack& stack = w.h().stack();
  const auto before = w.h().snapshot();
  std::array<uint64_t, kDropReasonCount> drops{};
  for (size_t i = 0; i < kDropReasonCount; ++i) drops[i] = stack.counters().drops(static_cast<DropReason>(i));
  const int64_t pool_before = stack.pool().in_use();
  const std::vector<Bytes> sent = push();
  CHECK_MESSAGE(sent.size() == tx, "sent " << sent.size() << " frames");
  const std::string diff = w.h().counter_diff(before, counters);
  CHECK_MESSAGE(diff == "", diff);
  std::string drop_diff;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    const DropReason r = static_cast<DropReason>(i);
    const uint64_t got = stack.counters().drops(r) - drops[i];
    const uint64_t want = (reason && *reason == r) ? reason_count : 0;
    if (got != want) drop_diff += absl::StrFormat("%s moved by %d, expected %d; ", std::string(drop_reason_name(r)), got, want);
  }
  CHECK_MESSAGE(drop_diff == "", drop_diff);
  CHECK(static_cast<int64_t>(stack.pool().in_use()) - pool_before == pool_delta);
  return sent;
}
// The same for `frames` sent as ordinary frames, 32 to a poll.
std::vector<Bytes> send_hostile(World& w, const std::vector<Bytes>& frames, const Expected& counters,
                                std::optional<DropReason> reason, uint64_t reason_count, size_t tx,
                                int64_t pool_delta = 0) {
  auto push = [&] {
    std::vector<Bytes> sent;
    for (size_t i = 0; i < frames.size(); i += 32) {
      std::vector<Bytes> chunk(frames.begin() + static_cast<ptrdiff_t>(i),
                               frames.begin() + static_cast<ptrdiff_t>(std::min(frames.size(), i + 32)));
      for (Bytes& f : w.h().exchange(chunk)) sent.push_back(std::move(f));
    }
    return sent;
  };
  return check_hostile(w, push, counters, reason, reason_count, tx, pool_delta);
}
// The same for one frame a NIC scattered over descriptors as a super-frame
// with `offload` metadata (checksum state, gso_size, gso_segs).
std::vector<Bytes> send_hostile_scattered(World& w, const Bytes& frame, sim::SimPort::RxOffload offload,
                                          const Expected& counters, std::optional<DropReason> reason, size_t tx = 0,
                                          int64_t pool_delta = 0) {
  auto push = [&] {
    REQUIRE(w.h().nic().wire_receive_scattered(frame, offload));
    return w.h().run();
  };
  return check_hostile(w, push, counters, reason, reason ? 1 : 0, tx, pool_delta);
}
std::vector<Bytes> send_hostile(World& w, const Bytes& frame, const Expected& counters,
                                std::optional<DropReason> reason, size_t tx = 0) {
  return send_hostile(w, std::vector<Bytes>{frame}, counters, reason, reason ? 1 : 0, tx);
}

// A frame that died in the link layer.
Expected link_drop(Counter c) { return {{Counter::rx_packets, 1}, {c, 1}}; }
// A frame that died in IPv4 with `c` (and `extra`).
Expected ip_drop(Counter c, Expected extra = {}) {
  Expected e = {{Counter::rx_packets, 1}, {Counter::IpInReceives, 1}, {c, 1}};
  e.insert(e.end(), extra.begin(), extra.end());
  return e;
}

// The state every case must leave as it found it: the connection established
// at the same RCV.NXT with nothing new queued, the UDP socket empty, the
// peer's neighbour entry on its own MAC; then the connection still works.
void expect_unharmed(World& w) {
  TcpSocket* s = w.c.sock();
  CHECK(s->state() == TcpState::kEstablished);
  CHECK(s->rcv_nxt().raw() == w.rcv_nxt);
  CHECK(s->ooo_segments() == 0);
  CHECK(w.udp->queued_datagrams() == 0);
  const link::Neighbour* n = w.h().neighbours().find(w.h().peer().ip());
  REQUIRE(n != nullptr);
  CHECK(n->mac == w.h().peer().mac());
  CHECK(w.h().tcp().connection_count() == 1);
  auto out = w.p().data(w.rcv_nxt, 10);
  REQUIRE_MESSAGE(out.size() == 1, describe(out));
  CHECK(out[0].h.ack == w.rcv_nxt + 10);
  w.rcv_nxt += 10;
  w.h().finish();
}

// One TCP segment from the peer (its usual address) with any flags.
Bytes tcp_from_peer(World& w, uint16_t dport, uint8_t flags, uint32_t seq = 5000, uint32_t ack = 0,
                    uint16_t sport = 41000) {
  wire::TcpRepr r;
  r.src_port = sport;
  r.dst_port = dport;
  r.seq = seq;
  r.ack = ack;
  r.flags = flags;
  r.window = 1024;
  return w.h().frame(r);
}

// The one TCP segment among `sent`.
Seg one_segment(const std::vector<Bytes>& sent) {
  auto segs = tcp_segments(sent);
  REQUIRE(segs.size() == 1);
  return segs[0];
}

namespace ipo = wire::ipv4opt;
constexpr uint8_t kFin = fl::kFin;
constexpr uint8_t kPsh = fl::kPsh;
constexpr uint8_t kUrg = fl::kUrg;

// ---------------------------------------------------------------- link layer

TEST_CASE("H01 runt frame") {
  World w;
  send_hostile(w, Bytes(13, 0xAB), link_drop(Counter::rx_length_errors), DropReason::kFrameTooShort);
  expect_unharmed(w);
}

TEST_CASE("H02 oversized frame") {
  World w;
  Bytes f = w.h().peer().udp(w.h().our_mac(), w.h().our_ip(), 5000, 7000, Bytes(1472, 0x11));
  f.resize(1519, 0);  // MTU + 18 + 1
  send_hostile(w, f, link_drop(Counter::rx_length_errors), DropReason::kFrameTooLong);
  expect_unharmed(w);
}

TEST_CASE("H03 foreign destination MAC") {
  World w;
  send_hostile(w, w.h().peer().udp(mac("02:00:00:00:00:99"), w.h().our_ip(), 5000, 7000, kPayload),
               link_drop(Counter::rx_otherhost_dropped), DropReason::kOtherHost);
  expect_unharmed(w);
}

TEST_CASE("H04 IPv6 EtherType") {
  World w;
  Bytes f = w.udp_frame();
  wire::store_be16(&f[12], wire::ethertype::kIpv6);
  send_hostile(w, f, link_drop(Counter::rx_nohandler), DropReason::kIpv6NotSupported);
  expect_unharmed(w);
}

TEST_CASE("H05 unknown EtherType") {
  World w;
  Bytes f = w.udp_frame();
  wire::store_be16(&f[12], 0x88B5);
  send_hostile(w, f, link_drop(Counter::rx_nohandler), DropReason::kUnknownEtherType);
  expect_unharmed(w);
}

TEST_CASE("H06 802.3 length in the EtherType field") {
  World w;
  Bytes f = w.udp_frame();
  wire::store_be16(&f[12], 0x0026);
  send_hostile(w, f, link_drop(Counter::rx_nohandler), DropReason::kUnknownEtherType);
  expect_unharmed(w);
}

#if INLET_WITH_VLAN
TEST_CASE("H07 stacked VLAN tags (QinQ)") {
  World w;
  const Bytes c_tagged = stack_test::with_vlan_tag(w.udp_frame(), wire::vlan_tci(0, false, 0));
  send_hostile(w, stack_test::with_vlan_tag(c_tagged, wire::vlan_tci(0, false, 0), wire::ethertype::kQinQ),
               link_drop(Counter::rx_vlan_dropped), DropReason::kVlanStacked);
  send_hostile(w, stack_test::with_vlan_tag(c_tagged, wire::vlan_tci(0, false, 0)),
               link_drop(Counter::rx_vlan_dropped), DropReason::kVlanStacked);
  expect_unharmed(w);
}

TEST_CASE("H08 VLAN with no sub-interface") {
  World w;
  send_hostile(w, stack_test::with_vlan_tag(w.udp_frame(), wire::vlan_tci(0, false, 5)),
               link_drop(Counter::rx_vlan_dropped), DropReason::kVlanNotConfigured);
  expect_unharmed(w);
}

TEST_CASE("H09 VLAN tag cut short") {
  World w;
  Bytes f(16, 0);
  w.h().our_mac().store(f.data());
  w.h().peer().mac().store(f.data() + 6);
  wire::store_be16(&f[12], wire::ethertype::kVlan);
  send_hostile(w, f, link_drop(Counter::rx_length_errors), DropReason::kVlanMalformed);
  expect_unharmed(w);
}
#endif  // INLET_WITH_VLAN

// ----------------------------------------------------------------------- ARP

TEST_CASE("H10 ARP spoofing of an existing neighbour") {
  World w;
  // Someone else claims the peer's address, within a second of the last
  // confirmation (Linux neigh locktime): the entry keeps the peer's MAC.
  const sim::SimPeer spoofer(mac("02:00:00:00:00:66"), w.h().peer().ip());
  send_hostile(w, spoofer.arp_reply(w.h().our_mac(), w.h().our_ip()),
               {{Counter::rx_packets, 1}, {Counter::ArpInReplies, 1}, {Counter::rx_dropped, 1}},
               DropReason::kArpUnsolicited);
  expect_unharmed(w);
}

TEST_CASE("H11 ARP sender claiming our address") {
  World w;
  const sim::SimPeer liar(mac("02:00:00:00:00:66"), w.h().our_ip());
  send_hostile(w, liar.arp_request(w.h().peer().ip()),
               {{Counter::rx_packets, 1}, {Counter::ArpInRequests, 1}, {Counter::ArpInErrors, 1}},
               DropReason::kArpInvalidSender);
  expect_unharmed(w);
}

TEST_CASE("H12 ARP with a multicast sender MAC") {
  World w;
  const sim::SimPeer liar(mac("01:00:5e:00:00:01"), ip("192.0.2.50"));
  send_hostile(w, liar.arp_request(w.h().our_ip()),
               {{Counter::rx_packets, 1}, {Counter::ArpInRequests, 1}, {Counter::ArpInErrors, 1}},
               DropReason::kArpInvalidSender);
  CHECK(w.h().neighbours().find(ip("192.0.2.50")) == nullptr);
  expect_unharmed(w);
}

TEST_CASE("H13 ARP with hardware length 8") {
  World w;
  Bytes f = w.h().peer().arp_request(w.h().our_ip());
  f[kEth + 4] = 8;
  send_hostile(w, f, {{Counter::rx_packets, 1}, {Counter::ArpInErrors, 1}}, DropReason::kArpMalformed);
  expect_unharmed(w);
}

TEST_CASE("H14 unsolicited ARP reply") {
  World w;
  const sim::SimPeer stranger(mac("02:00:00:00:00:77"), ip("192.0.2.77"));
  send_hostile(w, stranger.arp_reply(w.h().our_mac(), w.h().our_ip()),
               {{Counter::rx_packets, 1}, {Counter::ArpInReplies, 1}, {Counter::rx_dropped, 1}},
               DropReason::kArpUnsolicited);
  CHECK(w.h().neighbours().find(stranger.ip()) == nullptr);
  expect_unharmed(w);
}

// ---------------------------------------------------------------------- IPv4

TEST_CASE("H15 IPv4 header shorter than 20 bytes") {
  World w;
  Bytes f = w.udp_frame();
  f.resize(kEth + 19);
  send_hostile(w, f, ip_drop(Counter::IpInHdrErrors), DropReason::kIpTooShort);
  expect_unharmed(w);
}

TEST_CASE("H16 IP version 6 under the IPv4 EtherType") {
  World w;
  Bytes f = w.udp_frame();
  f[kEth] = 0x65;
  refill_ip_checksum(f);
  send_hostile(w, f, ip_drop(Counter::IpInHdrErrors), DropReason::kIpBadVersion);
  expect_unharmed(w);
}

TEST_CASE("H17 IHL below 5") {
  World w;
  Bytes f = w.udp_frame();
  f[kEth] = 0x44;
  send_hostile(w, f, ip_drop(Counter::IpInHdrErrors), DropReason::kIpBadIhl);
  expect_unharmed(w);
}

TEST_CASE("H18 IHL past the end of the frame") {
  World w;
  Bytes f = w.udp_frame();
  f.resize(kEth + 40);
  f[kEth] = 0x4F;
  send_hostile(w, f, ip_drop(Counter::IpInHdrErrors), DropReason::kIpBadIhl);
  expect_unharmed(w);
}

TEST_CASE("H19 total length below the header length") {
  World w;
  Bytes f = w.udp_frame();
  wire::store_be16(&f[kEth + 2], 19);
  refill_ip_checksum(f);
  send_hostile(w, f, ip_drop(Counter::IpInHdrErrors), DropReason::kIpBadTotalLength);
  expect_unharmed(w);
}

TEST_CASE("H20 total length beyond the frame") {
  World w;
  Bytes f = w.udp_frame();
  wire::store_be16(&f[kEth + 2], static_cast<uint16_t>(f.size() - kEth + 10));
  refill_ip_checksum(f);
  send_hostile(w, f, ip_drop(Counter::IpExtInTruncatedPkts), DropReason::kIpTruncated);
  expect_unharmed(w);
}

TEST_CASE("H21 bad IPv4 header checksum") {
  World w;
  Bytes f = w.udp_frame();
  f[kEth + 10] ^= 0x5A;
  send_hostile(w, f, ip_drop(Counter::IpInHdrErrors, {{Counter::IpExtInCsumErrors, 1}}),
               DropReason::kIpBadChecksum);
  expect_unharmed(w);
}

TEST_CASE("H22 IP option with length 0") {
  World w;
  const uint8_t opts[] = {ipo::kSecurity, 0, 0, 0};
  wire::Ipv4Repr r = w.ip_repr();
  r.options = opts;
  const Bytes udp = stack_test::udp_datagram(r.src, r.dst, 5000, 7000, kPayload);
  send_hostile(w, stack_test::ipv4_frame(w.h().our_mac(), w.h().peer().mac(), r, udp),
               ip_drop(Counter::IpInHdrErrors), DropReason::kIpBadOptions);
  expect_unharmed(w);
}

TEST_CASE("H23 IP option running past the header") {
  World w;
  const uint8_t opts[] = {ipo::kRecordRoute, 8, 4, 0};
  wire::Ipv4Repr r = w.ip_repr();
  r.options = opts;
  const Bytes udp = stack_test::udp_datagram(r.src, r.dst, 5000, 7000, kPayload);
  send_hostile(w, stack_test::ipv4_frame(w.h().our_mac(), w.h().peer().mac(), r, udp),
               ip_drop(Counter::IpInHdrErrors), DropReason::kIpBadOptions);
  expect_unharmed(w);
}

TEST_CASE("H24 martian source: loopback") {
  World w;
  const sim::SimPeer liar(w.h().peer().mac(), ip("127.0.0.1"));
  send_hostile(w, liar.udp(w.h().our_mac(), w.h().our_ip(), 5000, 7000, kPayload),
               ip_drop(Counter::IpExtInMartianSrc), DropReason::kIpMartianSource);
  expect_unharmed(w);
}

TEST_CASE("H25 martian source: limited broadcast") {
  World w;
  const sim::SimPeer liar(w.h().peer().mac(), ip("255.255.255.255"));
  send_hostile(w, liar.udp(w.h().our_mac(), w.h().our_ip(), 5000, 7000, kPayload),
               ip_drop(Counter::IpExtInMartianSrc), DropReason::kIpMartianSource);
  expect_unharmed(w);
}

TEST_CASE("H26 martian source: our subnet's broadcast") {
  World w;
  const sim::SimPeer liar(w.h().peer().mac(), ip("192.0.2.255"));
  send_hostile(w, liar.udp(w.h().our_mac(), w.h().our_ip(), 5000, 7000, kPayload),
               ip_drop(Counter::IpExtInMartianSrc), DropReason::kIpMartianSource);
  expect_unharmed(w);
}

TEST_CASE("H27 martian source: multicast and class E") {
  World w;
  for (const char* src : {"224.0.0.5", "240.0.0.1", "0.1.2.3"}) {
    CAPTURE(src);
    const sim::SimPeer liar(w.h().peer().mac(), ip(src));
    send_hostile(w, liar.udp(w.h().our_mac(), w.h().our_ip(), 5000, 7000, kPayload),
                 ip_drop(Counter::IpExtInMartianSrc), DropReason::kIpMartianSource);
  }
  expect_unharmed(w);
}

TEST_CASE("H28 land attack") {
  World w;
  const size_t synq = w.c.listener->syn_queue_length();
  const sim::SimPeer land(w.h().peer().mac(), w.h().our_ip());
  wire::TcpRepr r;
  r.src_port = 80;
  r.dst_port = 80;
  r.seq = 777;
  r.flags = kSyn;
  r.window = 1024;
  send_hostile(w, land.tcp(w.h().our_mac(), w.h().our_ip(), r, {}),
               ip_drop(Counter::IpExtInMartianSrc), DropReason::kIpMartianSource);
  CHECK(w.c.listener->syn_queue_length() == synq);
  expect_unharmed(w);
}

TEST_CASE("H29 unicast datagram in a link-layer broadcast") {
  World w;
  send_hostile(w, w.h().peer().udp(wire::kMacBroadcast, w.h().our_ip(), 5000, 7000, kPayload),
               ip_drop(Counter::IpInAddrErrors), DropReason::kIpNotForUs);
  expect_unharmed(w);
}

TEST_CASE("H30 datagram for another host") {
  World w;
  send_hostile(w, w.h().peer().udp(w.h().our_mac(), ip("198.51.100.2"), 5000, 7000, kPayload),
               ip_drop(Counter::IpInAddrErrors), DropReason::kIpNotForUs);
  expect_unharmed(w);
}

TEST_CASE("H31 unknown IP protocol") {
  World w;
  const auto sent = send_hostile(
      w, w.h().peer().ipv4(w.h().our_mac(), w.h().our_ip(), 253, kPayload),
      {{Counter::rx_packets, 1}, {Counter::IpInReceives, 1}, {Counter::IpInUnknownProtos, 1},
       {Counter::IcmpOutMsgs, 1}, {Counter::IcmpOutDestUnreachs, 1}, {Counter::IcmpMsgOutType3, 1},
       {Counter::IpOutRequests, 1}, {Counter::tx_packets, 1}},
      DropReason::kIpUnknownProtocol, 1);
  const auto out = stack_test::parse_sent_ipv4(sent[0]);
  auto icmp = wire::IcmpView::parse(out.ip.payload());
  REQUIRE(icmp.ok());
  CHECK(icmp->type() == 3);
  CHECK(icmp->code() == 2);  // protocol unreachable
  expect_unharmed(w);
}

// ----------------------------------------------------------------- fragments

#if INLET_WITH_REASSEMBLY
Bytes fragment_of(World& w, const Bytes& dgram, uint16_t ident, size_t offset, size_t length, bool more) {
  wire::Ipv4Repr r = w.ip_repr();
  r.ident = ident;
  r.frag_offset = static_cast<uint16_t>(offset);
  r.more_fragments = more;
  const size_t end = std::min(dgram.size(), offset + length);
  const Bytes part(dgram.begin() + static_cast<ptrdiff_t>(std::min(offset, end)),
                   dgram.begin() + static_cast<ptrdiff_t>(end));
  return stack_test::ipv4_frame(w.h().our_mac(), w.h().peer().mac(), r, part);
}
Bytes udp_dgram(World& w, size_t n) {
  return stack_test::udp_datagram(w.h().peer().ip(), w.h().our_ip(), 5000, 7000, Bytes(n, 0x5C));
}

TEST_CASE("H32 overlapping fragments") {
  World w;
  const Bytes d = udp_dgram(w, 500);
  send_hostile(w, {fragment_of(w, d, 11, 0, 128, true), fragment_of(w, d, 11, 64, 128, true)},
               {{Counter::rx_packets, 2}, {Counter::IpInReceives, 2}, {Counter::IpReasmReqds, 2},
                {Counter::IpReasmFails, 1}},
               DropReason::kIpReasmOverlap, 1, 0);
  CHECK(w.h().stack().ip().reassembler().queues() == 0);
  expect_unharmed(w);
}

TEST_CASE("H33 duplicate fragment") {
  World w;
  const Bytes d = udp_dgram(w, 500);
  const Bytes first = fragment_of(w, d, 12, 0, 128, true);
  send_hostile(w, {first, first},
               {{Counter::rx_packets, 2}, {Counter::IpInReceives, 2}, {Counter::IpReasmReqds, 2},
                {Counter::IpInDiscards, 1}},
               DropReason::kIpReasmDuplicate, 1, 0);
  // One queue holding one copy (in the reassembler's own buffers).
  CHECK(w.h().stack().ip().reassembler().queues() == 1);
  CHECK(w.h().stack().ip().reassembler().pool().in_use() == 1);
  // The incomplete datagram times out (ipfrag_time 30 s): time exceeded
  // (code 1, RFC 792) to the sender, and the buffer returns.
  const auto before = w.h().snapshot();
  const auto sent = w.h().advance(absl::Seconds(31), absl::Seconds(1));
  REQUIRE(sent.size() == 1);
  const auto icmp_ip = stack_test::parse_sent_ipv4(sent[0]);
  auto icmp = wire::IcmpView::parse(icmp_ip.ip.payload());
  REQUIRE(icmp.ok());
  CHECK(icmp->type() == 11);
  CHECK(icmp->code() == 1);
  CHECK(w.h().count(Counter::IpReasmTimeout) - before.values[static_cast<size_t>(Counter::IpReasmTimeout)] == 1);
  CHECK(w.h().stack().ip().reassembler().queues() == 0);
  CHECK(w.h().stack().ip().reassembler().pool().in_use() == 0);
  expect_unharmed(w);
}

TEST_CASE("H34 ping of death (fragment past 65535)") {
  World w;
  const Bytes d(65528 + 64, 0);
  send_hostile(w, fragment_of(w, d, 5, 65528 - 8, 72, false),
               {{Counter::rx_packets, 1}, {Counter::IpInReceives, 1}, {Counter::IpReasmReqds, 1},
                {Counter::IpReasmFails, 1}},
               DropReason::kIpReasmTooBig);
  CHECK(w.h().stack().ip().reassembler().queues() == 0);
  expect_unharmed(w);
}

TEST_CASE("H35 tiny fragments splitting the TCP header (RFC 1858)") {
  World w;
  // A RST for the live connection, cut into 8-byte fragments: reassembled
  // first, then judged as a whole segment (in window but not exact: a
  // challenge ACK, the connection lives).
  wire::TcpRepr rst = w.p().header(kRst, w.rcv_nxt + 1);
  const Bytes whole = w.h().frame(rst);
  const Bytes seg(whole.begin() + static_cast<ptrdiff_t>(kEth + 20), whole.end());
  wire::Ipv4Repr r = w.ip_repr(wire::ipproto::kTcp);
  std::vector<Bytes> frags;
  for (size_t off = 0; off < seg.size(); off += 8) {
    r.ident = 77;
    r.frag_offset = static_cast<uint16_t>(off);
    r.more_fragments = off + 8 < seg.size();
    const Bytes part(seg.begin() + static_cast<ptrdiff_t>(off),
                     seg.begin() + static_cast<ptrdiff_t>(std::min(seg.size(), off + 8)));
    frags.push_back(stack_test::ipv4_frame(w.h().our_mac(), w.h().peer().mac(), r, part));
  }
  const uint64_t n = frags.size();
  const auto sent = send_hostile(w, frags,
      {{Counter::rx_packets, n}, {Counter::IpInReceives, n}, {Counter::IpReasmReqds, n},
       {Counter::IpReasmOKs, 1}, {Counter::IpInDelivers, 1}, {Counter::TcpInSegs, 1},
       {Counter::TcpExtTCPChallengeACK, 1}, {Counter::TcpOutSegs, 1}, {Counter::IpOutRequests, 1},
       {Counter::tx_packets, 1}},
      DropReason::kTcpRstChallenged, 1, 1);
  const Seg ack = one_segment(sent);
  CHECK(ack.flags() == kAck);
  CHECK(ack.h.ack == w.rcv_nxt);
  expect_unharmed(w);
}

TEST_CASE("H36 fragment flood over ipfrag_high_thresh") {
  HarnessOptions ho;
  ho.sysctls = {{Tunable::kIpfragHighThresh, 3 * ip::Reassembler::kBufferSize + 100}};
  World w(ho);
  const Bytes d = udp_dgram(w, 300);
  std::vector<Bytes> firsts;
  for (uint16_t id = 1; id <= 40; ++id) firsts.push_back(fragment_of(w, d, id, 0, 128, true));
  send_hostile(w, firsts,
               {{Counter::rx_packets, 40}, {Counter::IpInReceives, 40}, {Counter::IpReasmReqds, 40},
                {Counter::IpReasmFails, 37}},
               DropReason::kIpReasmOverLimit, 37, 0);
  CHECK(w.h().stack().ip().reassembler().queues() == 3);
  CHECK(w.h().stack().ip().reassembler().pool().in_use() == 3);
  expect_unharmed(w);
}
#endif  // INLET_WITH_REASSEMBLY

// ----------------------------------------------------------------- UDP, ICMP

TEST_CASE("H37 bad UDP checksum") {
  World w;
  Bytes f = w.udp_frame();
  f[f.size() - 1] ^= 0x5A;
  send_hostile(w, f,
               {{Counter::rx_packets, 1}, {Counter::IpInReceives, 1}, {Counter::IpInDelivers, 1},
                {Counter::UdpInErrors, 1}, {Counter::UdpInCsumErrors, 1}},
               DropReason::kUdpBadChecksum);
  expect_unharmed(w);
}

TEST_CASE("H38 UDP length beyond the IP payload") {
  World w;
  Bytes f = w.udp_frame();
  wire::store_be16(&f[kEth + 20 + 4], static_cast<uint16_t>(8 + kPayload.size() + 20));
  send_hostile(w, f,
               {{Counter::rx_packets, 1}, {Counter::IpInReceives, 1}, {Counter::IpInDelivers, 1},
                {Counter::UdpInErrors, 1}},
               DropReason::kUdpBadLength);
  expect_unharmed(w);
}

TEST_CASE("H39 ICMP echo with a bad checksum") {
  World w;
  Bytes f = w.h().peer().icmp_echo(w.h().our_mac(), w.h().our_ip(), 1, 1, kPayload);
  f[f.size() - 1] ^= 0x5A;
  send_hostile(w, f,
               {{Counter::rx_packets, 1}, {Counter::IpInReceives, 1}, {Counter::IpInDelivers, 1},
                {Counter::IcmpInMsgs, 1}, {Counter::IcmpInErrors, 1}, {Counter::IcmpInCsumErrors, 1}},
               DropReason::kIcmpBadChecksum);
  expect_unharmed(w);
}

TEST_CASE("H40 ICMP shorter than its header") {
  World w;
  const uint8_t stub[4] = {8, 0, 0xF7, 0xFF};
  send_hostile(w, w.h().peer().ipv4(w.h().our_mac(), w.h().our_ip(), wire::ipproto::kIcmp, stub),
               {{Counter::rx_packets, 1}, {Counter::IpInReceives, 1}, {Counter::IpInDelivers, 1},
                {Counter::IcmpInMsgs, 1}, {Counter::IcmpInErrors, 1}},
               DropReason::kIcmpTooShort);
  expect_unharmed(w);
}

TEST_CASE("H41 broadcast echo request (smurf)") {
  World w;
  send_hostile(w, w.h().peer().icmp_echo(wire::kMacBroadcast, ip("192.0.2.255"), 2, 2, kPayload),
               {{Counter::rx_packets, 1}, {Counter::IpInReceives, 1}, {Counter::IpInDelivers, 1},
                {Counter::IpExtInBcastPkts, 1}, {Counter::IcmpInMsgs, 1}, {Counter::IcmpInEchos, 1},
                {Counter::IcmpMsgInType8, 1}, {Counter::IcmpInIgnored, 1}},
               DropReason::kIcmpEchoIgnored);
  expect_unharmed(w);
}

// ------------------------------------------------------- TCP: headers, scans

TEST_CASE("H42 bad TCP checksum") {
  World w;
  Bytes f = w.p().data_frame(w.rcv_nxt, 100);
  f[f.size() - 1] ^= 0x5A;
  send_hostile(w, f, io(1, 0, {{Counter::TcpInCsumErrors, 1}, {Counter::TcpInErrs, 1}}),
               DropReason::kTcpBadChecksum);
  expect_unharmed(w);
}

TEST_CASE("H43 TCP data offset below 5") {
  World w;
  Bytes f = tcp_from_peer(w, 80, kAck);
  f[kEth + 20 + 12] = 0x40;  // data offset 4
  send_hostile(w, f, io(1, 0, {{Counter::TcpInErrs, 1}}), DropReason::kTcpBadHeader);
  expect_unharmed(w);
}

TEST_CASE("H44 TCP option with length 0") {
  World w;
  wire::TcpRepr r = w.p().header(kPshAck, w.rcv_nxt);
  r.options.timestamps.reset();
  Bytes f = w.h().frame(r, stream_bytes(w.rcv_nxt, 8));
  // Grow the header by one option word holding kind 2 (MSS) with length 0.
  const Bytes seg(f.begin() + static_cast<ptrdiff_t>(kEth + 20), f.end());
  Bytes hdr(seg.size() + 4, 0);
  std::copy(seg.begin(), seg.begin() + 20, hdr.begin());
  hdr[20] = 2;  // kind 2 (MSS) with length 0; the zero bytes after it are EOL
  std::copy(seg.begin() + 20, seg.end(), hdr.begin() + 24);
  hdr[12] = static_cast<uint8_t>(6 << 4);
  hdr[16] = hdr[17] = 0;
  const uint16_t sum = wire::internet_checksum(
      hdr, wire::ipv4_pseudo_header_sum(w.h().peer().ip(), w.h().our_ip(), wire::ipproto::kTcp,
                                        static_cast<uint16_t>(hdr.size())));
  wire::store_be16(&hdr[16], sum);
  const Bytes frame = w.h().peer().ipv4(w.h().our_mac(), w.h().our_ip(), wire::ipproto::kTcp, hdr);
  send_hostile(w, frame, io(1, 0, {{Counter::TcpInErrs, 1}}), DropReason::kTcpBadHeader);
  expect_unharmed(w);
}

TEST_CASE("H45 SYN+FIN to a listener") {
  World w;
  const size_t synq = w.c.listener->syn_queue_length();
  send_hostile(w, tcp_from_peer(w, 80, kSyn | kFin), io(1, 0, {{Counter::TcpInErrs, 1}}),
               DropReason::kTcpBadFlags);
  CHECK(w.c.listener->syn_queue_length() == synq);
  expect_unharmed(w);
}

TEST_CASE("H46 SYN+RST to a listener") {
  World w;
  const size_t synq = w.c.listener->syn_queue_length();
  send_hostile(w, tcp_from_peer(w, 80, kSyn | kRst), io(1, 0, {{Counter::TcpInErrs, 1}}),
               DropReason::kTcpNotAcceptable);
  CHECK(w.c.listener->syn_queue_length() == synq);
  expect_unharmed(w);
}

TEST_CASE("H47 Xmas scan of a listener") {
  World w;
  send_hostile(w, tcp_from_peer(w, 80, kFin | kPsh | kUrg), io(1, 0, {{Counter::TcpInErrs, 1}}),
               DropReason::kTcpBadFlags);
  expect_unharmed(w);
}

TEST_CASE("H48 null scan of a listener") {
  World w;
  send_hostile(w, tcp_from_peer(w, 80, 0), io(1, 0, {{Counter::TcpInErrs, 1}}), DropReason::kTcpBadFlags);
  expect_unharmed(w);
}

TEST_CASE("H49 Xmas scan of a closed port") {
  World w;
  const auto sent = send_hostile(w, tcp_from_peer(w, 81, kFin | kPsh | kUrg, 5000),
                                 io(1, 1, {{Counter::TcpExtTCPNoSocket, 1}, {Counter::TcpOutRsts, 1}}),
                                 DropReason::kTcpNoSocket, 1);
  const Seg rst = one_segment(sent);
  CHECK(rst.flags() == kRstAck);
  CHECK(rst.h.ack == 5001u);  // SEG.SEQ + SEG.LEN (the FIN counts)
  expect_unharmed(w);
}

TEST_CASE("H50 ACK to a listener") {
  World w;
  const auto sent = send_hostile(w, tcp_from_peer(w, 80, kAck, 5000, 123456),
                                 io(1, 1, {{Counter::TcpOutRsts, 1}, {Counter::TcpExtTCPNoSocket, 1}}),
                                 DropReason::kTcpNoSocket, 1);
  const Seg rst = one_segment(sent);
  CHECK(rst.flags() == kRst);
  CHECK(rst.h.seq == 123456u);
  expect_unharmed(w);
}

// ------------------------------------------- TCP: the established connection

TEST_CASE("H51 RST in the window but not exact") {
  World w;
  const auto sent = send_hostile(w, w.p().frame(kRst, w.rcv_nxt + 1),
                                 io(1, 1, {{Counter::TcpExtTCPChallengeACK, 1}}), DropReason::kTcpRstChallenged, 1);
  const Seg ack = one_segment(sent);
  CHECK(ack.flags() == kAck);
  CHECK(ack.h.ack == w.rcv_nxt);
  expect_unharmed(w);
}

TEST_CASE("H52 RST outside the window") {
  World w;
  send_hostile(w, w.p().frame(kRst, w.rcv_nxt + 2000000), io(1, 0, {{Counter::TcpInErrs, 1}}),
               DropReason::kTcpNotAcceptable);
  expect_unharmed(w);
}

TEST_CASE("H53 SYN on an established connection") {
  World w;
  const auto sent = send_hostile(w, w.p().frame(kSyn, w.rcv_nxt + 100),
                                 io(1, 1, {{Counter::TcpExtTCPSYNChallenge, 1}, {Counter::TcpExtTCPChallengeACK, 1}}),
                                 DropReason::kTcpSynChallenged, 1);
  const Seg ack = one_segment(sent);
  CHECK(ack.flags() == kAck);
  CHECK(ack.h.ack == w.rcv_nxt);
  expect_unharmed(w);
}

TEST_CASE("H54 SYN+FIN on an established connection") {
  World w;
  const auto sent = send_hostile(w, w.p().frame(kSyn | kFin | fl::kAck, w.rcv_nxt),
                                 io(1, 1, {{Counter::TcpExtTCPSYNChallenge, 1}, {Counter::TcpExtTCPChallengeACK, 1}}),
                                 DropReason::kTcpSynChallenged, 1);
  CHECK(one_segment(sent).flags() == kAck);
  CHECK_FALSE(w.c.sock()->eof());
  expect_unharmed(w);
}

TEST_CASE("H55 SYN+RST on an established connection") {
  World w;
  const auto sent = send_hostile(w, w.p().frame(kSyn | kRst, w.rcv_nxt + 1),
                                 io(1, 1, {{Counter::TcpExtTCPChallengeACK, 1}}), DropReason::kTcpRstChallenged, 1);
  CHECK(one_segment(sent).flags() == kAck);
  expect_unharmed(w);
}

TEST_CASE("H56 old timestamp (PAWS)") {
  World w;
  const uint32_t tsval = w.p().tsval();
  w.p().set_tsval(tsval - 1000);
  const auto sent = send_hostile(w, w.p().data_frame(w.rcv_nxt, 100),
                                 io(1, 1, {{Counter::TcpExtPAWSEstab, 1}}), DropReason::kTcpPaws, 1);
  CHECK(one_segment(sent).h.ack == w.rcv_nxt);
  w.p().set_tsval(tsval + 1);
  CHECK(w.c.sock()->readable_bytes() == 0);
  expect_unharmed(w);
}

TEST_CASE("H57 data beyond the window") {
  World w;
  const auto sent = send_hostile(w, w.p().data_frame(w.rcv_nxt + 8000000, 100),
                                 io(1, 1, {{Counter::TcpInErrs, 1}}), DropReason::kTcpNotAcceptable, 1);
  CHECK(one_segment(sent).h.ack == w.rcv_nxt);
  expect_unharmed(w);
}

TEST_CASE("H58 sequence number half the space away (wrap-around)") {
  World w;
  // RCV.NXT + 2^31 is "before" RCV.NXT in modular order (RFC 1982): an old
  // duplicate, D-SACKed and acknowledged, never taken as new data.
  const auto sent = send_hostile(w, w.p().data_frame(w.rcv_nxt + 0x80000000u, 100),
                                 io(1, 1, {{Counter::TcpExtTCPDSACKOldSent, 1}}), DropReason::kTcpDuplicate, 1);
  const Seg dup = one_segment(sent);
  CHECK(dup.h.ack == w.rcv_nxt);
  REQUIRE(dup.sack().size() == 1);
  CHECK(dup.sack()[0].left == w.rcv_nxt + 0x80000000u);
  // A segment wholly in the half "after" RCV.NXT, far beyond the window: an ACK only.
  const auto sent2 = send_hostile(w, w.p().data_frame(w.rcv_nxt + 0x7FFFFF00u, 100),
                                  io(1, 1, {{Counter::TcpInErrs, 1}}), DropReason::kTcpNotAcceptable, 1);
  CHECK(one_segment(sent2).h.ack == w.rcv_nxt);
  expect_unharmed(w);
}

TEST_CASE("H59 ACK of unsent data") {
  World w;
  const uint32_t good_ack = w.p().ack();
  w.p().set_ack(good_ack + 5000);
  const auto sent = send_hostile(w, w.p().data_frame(w.rcv_nxt, 100),
                                 io(1, 1, {{Counter::TcpExtTCPChallengeACK, 1}, {Counter::TcpInErrs, 1}}),
                                 DropReason::kTcpInvalidAck, 1);
  CHECK(one_segment(sent).h.ack == w.rcv_nxt);
  w.p().set_ack(good_ack);
  expect_unharmed(w);
}

TEST_CASE("H60 segment without ACK on an established connection") {
  World w;
  send_hostile(w, w.p().frame(kPsh, w.rcv_nxt, stream_bytes(w.rcv_nxt, 10)),
               io(1, 0, {{Counter::TcpInErrs, 1}}), DropReason::kTcpInvalidAck);
  expect_unharmed(w);
}

TEST_CASE("H63 zero-window probe") {
  // rcvbuf 16384, first window 8192: fill it, then probe past the zero window.
  HarnessOptions ho;
  ho.sysctl_lines = {"net.ipv4.tcp_rmem=4096 16384 16384"};
  World w(ho);
  std::vector<Bytes> fill;
  for (uint32_t i = 0; i < 8; ++i) fill.push_back(w.p().data_frame(w.rcv_nxt + i * 1000, 1000));
  fill.push_back(w.p().data_frame(w.rcv_nxt + 8000, 192));
  auto acks = w.h().deliver(fill);
  for (Seg& a : w.h().wait(absl::Milliseconds(40))) acks.push_back(std::move(a));
  REQUIRE(!acks.empty());
  REQUIRE(acks.back().h.window == 0);
  const uint32_t edge = w.rcv_nxt + 8192;
  REQUIRE(w.c.sock()->rcv_nxt().raw() == edge);
  const auto sent = send_hostile(w, w.p().data_frame(edge, 1), io(1, 1, {{Counter::TcpExtTCPZeroWindowDrop, 1}}),
                                 DropReason::kTcpZeroWindow, 1);
  const Seg ack = one_segment(sent);
  CHECK(ack.h.ack == edge);
  CHECK(ack.h.window == 0);
  CHECK(w.c.sock()->rcv_nxt().raw() == edge);
  CHECK(w.c.sock()->readable_bytes() == 8192);
  CHECK(w.c.sock()->state() == TcpState::kEstablished);
  w.h().finish();
}

TEST_CASE("H61 out-of-order flood of one-byte holes") {
  World w;
  std::vector<Bytes> flood;
  for (uint32_t i = 0; i < 2000; ++i) flood.push_back(w.p().data_frame(w.rcv_nxt + 2 + 2 * i, 1));
  const int64_t pool_before = w.h().stack().pool().in_use();
  const auto acks = w.h().deliver(flood);
  // Every answer is a duplicate ACK for RCV.NXT (at most one per poll).
  CHECK(!acks.empty());
  for (const Seg& a : acks) {
    CHECK(a.flags() == kAck);
    CHECK(a.h.ack == w.rcv_nxt);
  }
  // Bounded: the out-of-order queue was pruned to the receive buffer, and
  // nothing reached the application.
  CHECK(w.c.sock()->rcv_nxt().raw() == w.rcv_nxt);
  CHECK(w.c.sock()->readable_bytes() == 0);
  CHECK(w.h().count(Counter::TcpExtOfoPruned) + w.h().count(Counter::TcpExtTCPOFODrop) > 0);
  const int64_t held = static_cast<int64_t>(w.h().stack().pool().in_use()) - pool_before;
  CHECK(held < 2000);
  CHECK(static_cast<size_t>(held) == w.c.sock()->ooo_segments());
  // The hole filled: everything queued is delivered in order up to the first gap.
  auto out = w.p().data(w.rcv_nxt, 2);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == w.rcv_nxt + 3);
  w.h().finish();
}

TEST_CASE("H62 SYN flood") {
  HarnessOptions ho;
  ho.sysctls = {{Tunable::kTcpSyncookies, 1}};
  World w(ho);
  std::vector<Bytes> syns;
  for (uint16_t i = 0; i < 400; ++i) {
    syns.push_back(tcp_from_peer(w, 80, kSyn, 1000u + i, 0, static_cast<uint16_t>(20000 + i)));
  }
  const auto before = w.h().snapshot();
#if INLET_WITH_SYNCOOKIES
  // One SYN-ACK per SYN: from the queue, then as cookies.
  const auto synacks = w.h().deliver(syns);
  CHECK(synacks.size() == syns.size());
  for (const Seg& a : synacks) CHECK(a.flags() == kSynAck);
  // The SYN queue stays within its bound; the rest are answered with cookies.
  CHECK(w.c.listener->syn_queue_length() <= w.c.listener->backlog());
  const uint64_t queued = w.c.listener->syn_queue_length();
  CHECK(w.h().count(Counter::TcpExtSyncookiesSent) - before.values[static_cast<size_t>(Counter::TcpExtSyncookiesSent)] ==
        400 - queued);
  CHECK(w.h().count(Counter::TcpExtTCPReqQFullDoCookies) - before.values[static_cast<size_t>(Counter::TcpExtTCPReqQFullDoCookies)] ==
        400 - queued);
#else
  // Built without cookies (as tcp_syncookies=0): the queue fills, each SYN
  // beyond it is dropped and counted, and only the queued ones get a SYN-ACK.
  const auto synacks = w.h().deliver(syns);
  const uint64_t queued = w.c.listener->syn_queue_length();
  CHECK(queued <= w.c.listener->backlog());
  CHECK(synacks.size() == queued);
  for (const Seg& a : synacks) CHECK(a.flags() == kSynAck);
  CHECK(w.h().count(Counter::TcpExtTCPReqQFullDrop) -
            before.values[static_cast<size_t>(Counter::TcpExtTCPReqQFullDrop)] ==
        400 - queued);
  CHECK(w.h().count(Counter::TcpExtSyncookiesSent) ==
        before.values[static_cast<size_t>(Counter::TcpExtSyncookiesSent)]);
#endif
  expect_unharmed(w);
}

// ------------------------------------------------ receive chains (super-frames)
// A NIC doing LRO, or a TAP with offloads, hands a whole TCP super-frame over
// as one chain of buffers with its own metadata; these rows are that path's
// hostile input. 6,000 bytes fill four 1,920-byte descriptors.

HarnessOptions chain_world() {
  HarnessOptions ho;
  ho.sysctl_lines = {"net.ipv4.ip_forward=1"};
  return ho;
}
constexpr uint16_t kChainBytes = 6000;
constexpr uint16_t kChainSegs = (kChainBytes + 1447) / 1448;  // 5
// What an in-order super-frame of `segs` segments moves: one frame in, one
// ACK out, TcpInSegs by its segment count.
Expected chain_delivered(uint64_t segs) {
  return {{Counter::rx_packets, 1},        {Counter::IpInReceives, 1},    {Counter::IpInDelivers, 1},
          {Counter::TcpInSegs, segs},      {Counter::TcpExtTCPHPHits, 1}, {Counter::TcpExtTCPQuickAck, 1},
          {Counter::tx_packets, 1},        {Counter::IpOutRequests, 1},   {Counter::TcpOutSegs, 1}};
}

TEST_CASE("H64 super-frame damaged deep in its chain (no checksum offload)") {
  World w(chain_world());
  Bytes f = w.p().data_frame(w.rcv_nxt, kChainBytes);
  f[f.size() - 100] ^= 0x01;  // in the last buffer
  send_hostile_scattered(w, f, {ChecksumState::kNone, 1448, kChainSegs},
                         {{Counter::rx_packets, 1},
                          {Counter::IpInReceives, 1},
                          {Counter::IpInDelivers, 1},
                          {Counter::TcpInSegs, kChainSegs},
                          {Counter::TcpInCsumErrors, 1},
                          {Counter::TcpInErrs, 1}},
                         DropReason::kTcpBadChecksum);
  CHECK(w.c.sock()->readable_bytes() == 0);
  expect_unharmed(w);
}

TEST_CASE("H65 UDP super-frame") {
  World w(chain_world());
  const Bytes f = w.h().peer().udp(w.h().our_mac(), w.h().our_ip(), 5000, 7000, Bytes(kChainBytes, 0x42));
  send_hostile_scattered(w, f, {ChecksumState::kPartial, 1472, 5}, ip_drop(Counter::IpInDiscards),
                         DropReason::kIpGsoNotTcp);
  expect_unharmed(w);
}

#if INLET_WITH_FORWARDING
TEST_CASE("H66 super-frame to be forwarded") {
  World w(chain_world());
  wire::TcpRepr h = w.p().header(kAck, 1);
  const Bytes f = w.h().peer().tcp(w.h().our_mac(), *wire::Ipv4Address::parse("192.0.2.77"), h, Bytes(kChainBytes, 1));
  send_hostile_scattered(w, f, {ChecksumState::kPartial, 1448, kChainSegs}, ip_drop(Counter::IpInDiscards),
                         DropReason::kIpGsoNotTcp);
  expect_unharmed(w);
}
#endif

TEST_CASE("H67 super-frame whose IP total length runs past its chain") {
  World w(chain_world());
  Bytes f = w.p().data_frame(w.rcv_nxt, kChainBytes);
  const uint16_t total = static_cast<uint16_t>(f.size() - kEth);
  REQUIRE(wire::ipv4_set_total_length(std::span<uint8_t>(f).subspan(kEth, 20), total + 100));
  send_hostile_scattered(w, f, {ChecksumState::kPartial, 1448, kChainSegs},
                         ip_drop(Counter::IpExtInTruncatedPkts), DropReason::kIpTruncated);
  expect_unharmed(w);
}

TEST_CASE("H68 super-frame claiming 65,535 segments") {
  // The device's gso_segs is a hint (Linux recomputes a TAP's: SKB_GSO_DODGY):
  // counted as the segments its bytes can fill, never what it claims.
  World w(chain_world());
  const Bytes f = w.p().data_frame(w.rcv_nxt, kChainBytes);
  const auto sent = send_hostile_scattered(w, f, {ChecksumState::kNone, 1448, 65535}, chain_delivered(kChainSegs),
                                           std::nullopt, 1, /*pool_delta=*/4);  // the data, queued in its 4 buffers
  CHECK(one_segment(sent).h.ack == w.rcv_nxt + kChainBytes);
  CHECK(w.c.sock()->readable_bytes() == kChainBytes);
  CHECK(w.c.peer.read_all(w.rcv_nxt) == kChainBytes);
  w.rcv_nxt += kChainBytes;
  expect_unharmed(w);
}

TEST_CASE("H68 super-frame claiming 65,535 segments: capped at the true count on a boundary") {
  // 4 x 1448 bytes with the connection's 12 bytes of timestamps: exactly 4
  // segments (a bound on the bytes past a minimal header would say 5).
  World w(chain_world());
  constexpr uint16_t kExact = 4 * 1448;
  const Bytes f = w.p().data_frame(w.rcv_nxt, kExact);
  const auto sent = send_hostile_scattered(w, f, {ChecksumState::kNone, 1448, 65535}, chain_delivered(4), std::nullopt, 1,
                                           /*pool_delta=*/4);
  CHECK(one_segment(sent).h.ack == w.rcv_nxt + kExact);
  CHECK(w.c.peer.read_all(w.rcv_nxt) == kExact);
  w.rcv_nxt += kExact;
  expect_unharmed(w);
}

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::hostile_test

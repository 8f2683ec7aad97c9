// IPv4 reassembly through the whole stack (RFC 791 3.2, RFC 815, RFC 792,
// Linux ip_fragment.c policies): orders, sizes, duplicates, overlaps, the
// ping of death, timeouts, the memory limit. Exact counter movements, the
// datagram delivered byte-exact, and every buffer back at shutdown.
#include "core/features.h"
#if INLET_WITH_REASSEMBLY
#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "ip/reassembly.h"
#include "stack_fixture.h"

namespace inlet::stack_test {
namespace {

TEST_SUITE_BEGIN("ip.reassembly");

Bytes pattern(size_t n, uint8_t seed = 1) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 31 + seed + (i >> 8));
  return b;
}

struct FragSpec {
  size_t offset;
  size_t length;
  bool more;
};

// One fragment of `datagram` (the IP payload) from `src`.
Bytes fragment(StackHarness& h, wire::Ipv4Address src, uint8_t proto, uint16_t ident,
               const Bytes& datagram, FragSpec s) {
  wire::Ipv4Repr repr;
  repr.src = src;
  repr.dst = h.our_ip();
  repr.protocol = proto;
  repr.ident = ident;
  repr.frag_offset = static_cast<uint16_t>(s.offset);
  repr.more_fragments = s.more;
  const size_t end = std::min(datagram.size(), s.offset + s.length);
  const Bytes part(datagram.begin() + static_cast<long>(std::min(s.offset, end)),
                   datagram.begin() + static_cast<long>(end));
  return ipv4_frame(h.our_mac(), h.peer().mac(), repr, part);
}

// `datagram` cut into pieces of `unit` bytes (a multiple of 8), in order.
std::vector<Bytes> fragments(StackHarness& h, const Bytes& datagram, uint16_t ident, size_t unit,
                             uint8_t proto = wire::ipproto::kUdp,
                             wire::Ipv4Address src = wire::kIpv4Any) {
  if (src.is_unspecified()) src = h.peer().ip();
  std::vector<Bytes> out;
  for (size_t off = 0; off < datagram.size(); off += unit) {
    out.push_back(fragment(h, src, proto, ident, datagram,
                           {off, unit, off + unit < datagram.size()}));
  }
  return out;
}

Bytes udp_to_us(StackHarness& h, const Bytes& payload, wire::Ipv4Address src = wire::kIpv4Any) {
  return udp_datagram(src.is_unspecified() ? h.peer().ip() : src, h.our_ip(), 5000, 7000, payload);
}

udp::UdpSocket* bind7000(StackHarness& h) {
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000, 4 << 20);
  REQUIRE(sock.ok());
  return *sock;
}

// The next datagram on the socket (empty when none).
Bytes recv_all(udp::UdpSocket* s) {
  Bytes buf(65536);
  auto d = s->recv(buf);
  if (!d) return {};
  buf.resize(d->copied);
  return buf;
}

StackHarness::Expected delivered(uint64_t frames) {
  return {{Counter::rx_packets, frames},   {Counter::IpInReceives, frames},
          {Counter::IpReasmReqds, frames}, {Counter::IpReasmOKs, 1},
          {Counter::IpInDelivers, 1},      {Counter::UdpInDatagrams, 1}};
}

TEST_CASE("RFC 791 3.2 / RFC 815: in-order, reverse and shuffled fragments reassemble exactly") {
  StackHarness h;
  udp::UdpSocket* sock = bind7000(h);
  const Bytes payload = pattern(1000);
  const Bytes dgram = udp_to_us(h, payload);
  std::mt19937 rng(7);
  for (int order = 0; order < 3; ++order) {
    CAPTURE(order);
    std::vector<Bytes> frags = fragments(h, dgram, static_cast<uint16_t>(40 + order), 256);
    REQUIRE(frags.size() == 4);
    if (order == 1) std::reverse(frags.begin(), frags.end());
    if (order == 2) std::shuffle(frags.begin(), frags.end(), rng);
    const auto before = h.snapshot();
    CHECK(h.exchange(frags).empty());
    CHECK(h.counter_diff(before, delivered(frags.size())) == "");
    CHECK(recv_all(sock) == payload);
    CHECK(h.stack().ip().reassembler().queues() == 0);
  }
  h.finish();
}

TEST_CASE("RFC 791 3.2: a 60 KB UDP datagram in 1480-byte fragments") {
  StackHarness h;
  udp::UdpSocket* sock = bind7000(h);
  const Bytes payload = pattern(60000, 9);
  const Bytes dgram = udp_to_us(h, payload);
  const std::vector<Bytes> frags = fragments(h, dgram, 0xBEEF, 1480);
  REQUIRE(frags.size() == 41);
  const auto before = h.snapshot();
  CHECK(h.exchange(frags).empty());
  CHECK(h.counter_diff(before, delivered(frags.size())) == "");
  CHECK(recv_all(sock) == payload);
  h.finish();
}

// Joins the fragments a stack sent (untagged frames) into the IP payload.
Bytes join_fragments(const std::vector<Bytes>& sent, uint16_t* ident = nullptr) {
  Bytes joined;
  size_t total = 0;
  for (const Bytes& f : sent) {
    const SentIpv4 s = parse_sent_ipv4(f);
    if (ident != nullptr) *ident = s.ip.ident();
    const size_t end = s.ip.fragment_offset() + s.ip.payload().size();
    if (joined.size() < end) joined.resize(end);
    std::copy(s.ip.payload().begin(), s.ip.payload().end(),
              joined.begin() + s.ip.fragment_offset());
    if (!s.ip.more_fragments()) total = end;
  }
  CHECK(total == joined.size());
  return joined;
}

TEST_CASE("RFC 792 / RFC 1122 3.2.2.6: a fragmented echo request gets a fragmented echo reply") {
  StackHarness h;
  h.learn_peer();
  const Bytes data = pattern(3000, 3);
  wire::IcmpRepr echo = wire::IcmpRepr::echo_request(0x4242, 7, data);
  Bytes msg(echo.total_length());
  REQUIRE(echo.emit(msg) > 0);
  const std::vector<Bytes> frags = fragments(h, msg, 0x0101, 1480, wire::ipproto::kIcmp);
  REQUIRE(frags.size() == 3);
  const auto before = h.snapshot();
  const std::vector<Bytes> sent = h.exchange(frags);
  REQUIRE(sent.size() == 3);
  for (size_t i = 0; i < sent.size(); ++i) {
    const SentIpv4 s = parse_sent_ipv4(sent[i]);
    CHECK(s.ip.total_length() <= 1500);
    CHECK(!s.ip.dont_fragment());
    CHECK(s.ip.more_fragments() == (i + 1 < sent.size()));
    CHECK(s.ip.src() == h.our_ip());
    CHECK(s.ip.dst() == h.peer().ip());
  }
  const Bytes reply = join_fragments(sent);
  auto icmp = wire::IcmpView::parse(reply, wire::ChecksumMode::kVerify);
  REQUIRE(icmp.ok());
  CHECK(icmp->type() == wire::icmptype::kEchoReply);
  CHECK(icmp->echo_ident() == 0x4242);
  CHECK(icmp->echo_seq() == 7);
  CHECK(Bytes(icmp->payload().begin(), icmp->payload().end()) == data);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 3},
                                {Counter::IpInReceives, 3},
                                {Counter::IpReasmReqds, 3},
                                {Counter::IpReasmOKs, 1},
                                {Counter::IpInDelivers, 1},
                                {Counter::IcmpInMsgs, 1},
                                {Counter::IcmpInEchos, 1},
                                {Counter::IcmpMsgInType8, 1},
                                {Counter::IpOutRequests, 1},
                                {Counter::IpFragOKs, 1},
                                {Counter::IpFragCreates, 3},
                                {Counter::IcmpOutMsgs, 1},
                                {Counter::IcmpOutEchoReps, 1},
                                {Counter::IcmpMsgOutType0, 1},
                                {Counter::tx_packets, 3}}) == "");
  h.finish();
}

TEST_CASE("RFC 815 / Linux ip_frag_queue: an exact duplicate fragment is ignored") {
  StackHarness h;
  udp::UdpSocket* sock = bind7000(h);
  const Bytes payload = pattern(500);
  const std::vector<Bytes> frags = fragments(h, udp_to_us(h, payload), 9, 128);
  REQUIRE(frags.size() == 4);
  const auto before = h.snapshot();
  CHECK(h.exchange({frags[0], frags[1], frags[1], frags[0], frags[2], frags[3], frags[3]}).empty());
  StackHarness::Expected want = delivered(7);
  want.push_back({Counter::IpInDiscards, 2});  // the two duplicates before completion
  // The last frame repeats a fragment of a datagram already complete: a new
  // queue (which times out later).
  CHECK(h.counter_diff(before, want) == "");
  CHECK(recv_all(sock) == payload);
  CHECK(h.stack().ip().reassembler().queues() == 1);
  h.finish();
}

TEST_CASE("RFC 5722 (Linux since 4.18): a partial overlap discards the whole datagram") {
  StackHarness h;
  udp::UdpSocket* sock = bind7000(h);
  const Bytes payload = pattern(500);
  const Bytes dgram = udp_to_us(h, payload);
  const std::vector<Bytes> frags = fragments(h, dgram, 11, 128);
  const Bytes overlap = fragment(h, h.peer().ip(), wire::ipproto::kUdp, 11, dgram, {64, 128, true});
  auto before = h.snapshot();
  CHECK(h.exchange({frags[0], overlap}).empty());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 2},
                                {Counter::IpInReceives, 2},
                                {Counter::IpReasmReqds, 2},
                                {Counter::IpReasmFails, 1}}) == "");
  CHECK(h.stack().ip().reassembler().queues() == 0);
  // Later fragments of the same id start a new queue, which completes.
  before = h.snapshot();
  CHECK(h.exchange({frags[1], frags[2], frags[3]}).empty());
  CHECK(h.stack().ip().reassembler().queues() == 1);
  CHECK(h.exchange(frags[0]).empty());
  CHECK(h.counter_diff(before, delivered(4)) == "");
  CHECK(recv_all(sock) == payload);
  h.finish();
}

TEST_CASE("RFC 791 3.2 / CVE-1996 ping of death: a fragment reaching past 65535 is refused") {
  StackHarness h;
  const Bytes junk = pattern(64);
  const Bytes dgram(65528 + 64, 0);
  Bytes tail_part(dgram);
  std::copy(junk.begin(), junk.end(), tail_part.begin() + 65528);
  const auto before = h.snapshot();
  CHECK(h.exchange(fragment(h, h.peer().ip(), wire::ipproto::kIcmp, 5, tail_part,
                            {65528 - 8, 72, false})).empty());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpReasmReqds, 1},
                                {Counter::IpReasmFails, 1}}) == "");
  CHECK(h.stack().ip().reassembler().queues() == 0);
  h.finish();
}

TEST_CASE("RFC 792 / RFC 1122 3.3.2: reassembly timeout; time exceeded (code 1) after the first fragment") {
  StackHarness h(HarnessOptions{.sysctls = {{Tunable::kIpfragTime, 5}}});
  h.learn_peer();
  const Bytes dgram = udp_to_us(h, pattern(600));
  const std::vector<Bytes> frags = fragments(h, dgram, 77, 256);
  SUBCASE("first fragment arrived") {
    auto before = h.snapshot();
    CHECK(h.exchange({frags[0], frags[2]}).empty());
    CHECK(h.advance(absl::Seconds(4)).empty());
    const std::vector<Bytes> sent = h.advance(absl::Seconds(2));
    REQUIRE(sent.size() == 1);
    const SentIpv4 s = parse_sent_ipv4(sent[0]);
    CHECK(s.ip.dst() == h.peer().ip());
    CHECK(s.ip.src() == h.our_ip());
    auto icmp = wire::IcmpView::parse(s.ip.payload(), wire::ChecksumMode::kVerify);
    REQUIRE(icmp.ok());
    CHECK(icmp->type() == wire::icmptype::kTimeExceeded);
    CHECK(icmp->code() == wire::icmpcode::kReassemblyTimeExceeded);
    auto q = icmp->quote();
    REQUIRE(q.ok());
    CHECK(Bytes(q->header.begin(), q->header.end()) ==
          Bytes(frags[0].begin() + kEth, frags[0].begin() + kEth + 20));
    CHECK(Bytes(q->transport.begin(), q->transport.begin() + 8) ==
          Bytes(dgram.begin(), dgram.begin() + 8));
    CHECK(h.counter_diff(before, {{Counter::rx_packets, 2},
                                  {Counter::IpInReceives, 2},
                                  {Counter::IpReasmReqds, 2},
                                  {Counter::IpReasmTimeout, 1},
                                  {Counter::IpReasmFails, 1},
                                  {Counter::IpOutRequests, 1},
                                  {Counter::IcmpOutMsgs, 1},
                                  {Counter::IcmpOutTimeExcds, 1},
                                  {Counter::IcmpMsgOutType11, 1},
                                  {Counter::tx_packets, 1}}) == "");
  }
  SUBCASE("first fragment missing: no ICMP") {
    auto before = h.snapshot();
    CHECK(h.exchange({frags[1], frags[2]}).empty());
    CHECK(h.advance(absl::Seconds(6)).empty());
    CHECK(h.counter_diff(before, {{Counter::rx_packets, 2},
                                  {Counter::IpInReceives, 2},
                                  {Counter::IpReasmReqds, 2},
                                  {Counter::IpReasmTimeout, 1},
                                  {Counter::IpReasmFails, 1}}) == "");
  }
  CHECK(h.stack().ip().reassembler().queues() == 0);
  h.finish();
}

TEST_CASE("Linux net.ipv4.ipfrag_high_thresh: datagrams over the memory limit are refused") {
  const int64_t thresh = 3 * ip::Reassembler::kBufferSize + 100;  // room for three
  StackHarness h(HarnessOptions{.sysctls = {{Tunable::kIpfragHighThresh, thresh}}});
  udp::UdpSocket* sock = bind7000(h);
  const Bytes payload = pattern(300);
  const Bytes dgram = udp_to_us(h, payload);
  std::vector<Bytes> firsts;
  for (uint16_t id = 1; id <= 10; ++id) firsts.push_back(fragments(h, dgram, id, 128)[0]);
  auto before = h.snapshot();
  CHECK(h.exchange(firsts).empty());
  CHECK(h.stack().ip().reassembler().queues() == 3);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 10},
                                {Counter::IpInReceives, 10},
                                {Counter::IpReasmReqds, 10},
                                {Counter::IpReasmFails, 7}}) == "");
  // A queued datagram still completes, freeing its room.
  const std::vector<Bytes> one = fragments(h, dgram, 2, 128);
  CHECK(h.exchange({one[1], one[2]}).empty());
  CHECK(recv_all(sock) == payload);
  CHECK(h.stack().ip().reassembler().queues() == 2);
  h.finish();
  CHECK(h.stack().ip().reassembler().pool().in_use() == 0);
}

TEST_CASE("RFC 791 3.2 / Linux ip_frag_queue: a non-last fragment not a multiple of 8 is trimmed") {
  StackHarness h;
  udp::UdpSocket* sock = bind7000(h);
  const Bytes payload = pattern(24);
  const Bytes dgram = udp_to_us(h, payload);  // 32 bytes
  Bytes first = fragment(h, h.peer().ip(), wire::ipproto::kUdp, 3, dgram, {0, 20, true});
  // Bytes 16..19 of the first fragment are wrong: the trimmed part must be
  // ignored, the last fragment supplies them.
  first[kEth + 20 + 16] ^= 0xFF;
  const Bytes last = fragment(h, h.peer().ip(), wire::ipproto::kUdp, 3, dgram, {16, 16, false});
  const auto before = h.snapshot();
  CHECK(h.exchange({first, last}).empty());
  CHECK(h.counter_diff(before, delivered(2)) == "");
  CHECK(recv_all(sock) == payload);
  h.finish();
}

TEST_CASE("RFC 791 3.2: fragments of different sources, ids and protocols do not mix") {
  StackHarness h;
  udp::UdpSocket* sock = bind7000(h);
  const wire::Ipv4Address other = ip("192.0.2.77");
  const Bytes p1 = pattern(400, 1), p2 = pattern(400, 2), p3 = pattern(400, 3);
  const std::vector<Bytes> a = fragments(h, udp_to_us(h, p1), 50, 128);
  const std::vector<Bytes> b = fragments(h, udp_to_us(h, p2, other), 50, 128,
                                         wire::ipproto::kUdp, other);  // same id, other source
  const std::vector<Bytes> c = fragments(h, udp_to_us(h, p3), 51, 128);  // other id
  // Same source and id, another protocol: never completes anything.
  const Bytes d = fragment(h, h.peer().ip(), 99, 50, udp_to_us(h, p1), {128, 128, true});
  std::vector<Bytes> mix;
  for (size_t i = 0; i < a.size(); ++i) {
    mix.push_back(a[i]);
    mix.push_back(b[i]);
    mix.push_back(c[i]);
    if (i == 0) mix.push_back(d);
  }
  CHECK(h.exchange(mix).empty());
  CHECK(h.count(Counter::IpReasmOKs) == 3);
  std::vector<Bytes> got;
  for (int i = 0; i < 3; ++i) got.push_back(recv_all(sock));
  for (const Bytes* want : {&p1, &p2, &p3}) {
    CHECK(std::find(got.begin(), got.end(), *want) != got.end());
  }
  CHECK(h.stack().ip().reassembler().queues() == 1);  // protocol 99's
  h.finish();
}

TEST_CASE("RFC 791 3.2: tiny fragments of 8 bytes each still reassemble") {
  StackHarness h;
  udp::UdpSocket* sock = bind7000(h);
  const Bytes payload = pattern(56);
  const std::vector<Bytes> frags = fragments(h, udp_to_us(h, payload), 8, 8);
  REQUIRE(frags.size() == 8);
  std::vector<Bytes> shuffled = frags;
  std::mt19937 rng(3);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  const auto before = h.snapshot();
  CHECK(h.exchange(shuffled).empty());
  CHECK(h.counter_diff(before, delivered(8)) == "");
  CHECK(recv_all(sock) == payload);
  h.finish();
}

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::stack_test
#endif  // INLET_WITH_REASSEMBLY

// libFuzzer target: every wire parser (Ethernet, 802.1Q, ARP, IPv4 with its
// options, ICMP, UDP, TCP and its options) over the input, as a frame walk and
// each on the raw bytes. Invariants: a parsed view's spans lie inside the
// bytes it was given; a parsed header's Repr emits bytes that parse back to
// the same Repr (with a valid checksum where there is one).
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "wire/arp.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/udp.h"
#include "wire/vlan.h"

namespace {
using namespace inlet;
using namespace inlet::wire;
using inlet::fuzz::within;

void check_tcp_options(std::span<const uint8_t> area) {
  if (area.size() > kTcpMaxOptionsLength) area = area.first(kTcpMaxOptionsLength);
  auto parsed = parse_tcp_options(area);
  if (!parsed.ok()) return;
  const TcpOptions& o = *parsed;
  FUZZ_CHECK(o.sack_count <= kTcpMaxSackBlocks);
  FUZZ_CHECK(o.fast_open_cookie_length <= kTcpFastOpenCookieMax);
  if (!o.encodable()) return;
  uint8_t out[kTcpMaxOptionsLength];
  const size_t n = emit_tcp_options(o, out);
  FUZZ_CHECK(n == o.encoded_length());
  FUZZ_CHECK(n % 4 == 0 && n <= kTcpMaxOptionsLength);
  auto again = parse_tcp_options(std::span<const uint8_t>(out, n));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == o);
}

void check_ipv4_options(std::span<const uint8_t> area) {
  if (area.size() > kIpv4MaxOptionsLength) area = area.first(kIpv4MaxOptionsLength);
  const auto problem = ipv4_options_problem(area);
  if (problem) {
    FUZZ_CHECK(*problem >= kIpv4MinHeaderLength && *problem < kIpv4MinHeaderLength + area.size());
    return;
  }
  size_t walked = 0;
  for (const Ipv4Option& opt : Ipv4Options{area}) {
    FUZZ_CHECK(within(opt.bytes, area));
    FUZZ_CHECK(opt.length() >= 1);
    FUZZ_CHECK(within(opt.data(), opt.bytes));
    walked += opt.length();
    FUZZ_CHECK(walked <= area.size());
  }
}

void check_tcp(std::span<const uint8_t> seg, Ipv4Address src, Ipv4Address dst) {
  auto v = TcpView::parse(seg);
  if (!v.ok()) return;
  FUZZ_CHECK(v->header_length() >= kTcpMinHeaderLength && v->header_length() <= seg.size());
  FUZZ_CHECK(within(v->payload(), seg) && within(v->options_bytes(), seg));
  FUZZ_CHECK(v->payload().size() + v->header_length() == seg.size());
  const TcpRepr r = TcpRepr::from(*v);
  if (!r.options.encodable() || r.total_length() > 65535) return;
  std::vector<uint8_t> out(r.total_length());
  std::memcpy(out.data() + r.header_length(), v->payload().data(), v->payload().size());
  FUZZ_CHECK(r.emit(out, src, dst) == r.header_length());
  auto again = TcpView::parse(out, src, dst);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(TcpRepr::from(*again) == r);
}

void check_udp(std::span<const uint8_t> dgram, Ipv4Address src, Ipv4Address dst) {
  auto v = UdpView::parse(dgram);
  if (!v.ok()) return;
  FUZZ_CHECK(within(v->bytes(), dgram) && within(v->payload(), dgram));
  FUZZ_CHECK(v->bytes().size() == v->length());
  const UdpRepr r = UdpRepr::from(*v);
  std::vector<uint8_t> out(r.total_length());
  std::memcpy(out.data() + kUdpHeaderLength, v->payload().data(), v->payload().size());
  FUZZ_CHECK(r.emit(out, src, dst) == kUdpHeaderLength);
  auto again = UdpView::parse(out, src, dst);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(UdpRepr::from(*again) == r);
}

void check_icmp(std::span<const uint8_t> msg) {
  auto v = IcmpView::parse(msg, ChecksumMode::kSkip);
  if (!v.ok()) return;
  FUZZ_CHECK(within(v->payload(), msg));
  auto q = v->quote();
  if (q.ok()) FUZZ_CHECK(within(q->transport, msg));
  const IcmpRepr r = IcmpRepr::from(*v);
  std::vector<uint8_t> out(r.total_length());
  FUZZ_CHECK(r.emit(out) == r.total_length());
  auto again = IcmpView::parse(out);  // checksum verified
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(IcmpRepr::from(*again) == r);
}

void check_ipv4(std::span<const uint8_t> bytes, ChecksumMode mode) {
  auto v = Ipv4View::parse(bytes, mode);
  if (!v.ok()) return;
  FUZZ_CHECK(within(v->bytes(), bytes) && within(v->payload(), bytes) && within(v->header(), bytes));
  FUZZ_CHECK(v->bytes().size() == v->total_length());
  FUZZ_CHECK(v->header_length() >= kIpv4MinHeaderLength && v->header_length() <= v->total_length());
  FUZZ_CHECK(!ipv4_options_problem(v->options_bytes()).has_value());
  check_ipv4_options(v->options_bytes());
  const Ipv4Repr r = Ipv4Repr::from(*v);
  if (r.frag_offset % 8 == 0) {
    std::vector<uint8_t> out(r.total_length());
    std::memcpy(out.data() + r.header_length(), v->payload().data(), v->payload().size());
    FUZZ_CHECK(r.emit(out) == r.header_length());
    auto again = Ipv4View::parse(out);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(Ipv4Repr::from(*again) == r);
  }
  switch (v->protocol()) {
    case ipproto::kTcp: check_tcp(v->payload(), v->src(), v->dst()); break;
    case ipproto::kUdp: check_udp(v->payload(), v->src(), v->dst()); break;
    case ipproto::kIcmp: check_icmp(v->payload()); break;
    default: break;
  }
}

void check_arp(std::span<const uint8_t> bytes) {
  auto v = ArpView::parse(bytes);
  if (!v.ok()) return;
  FUZZ_CHECK(within(v->bytes(), bytes));
  const ArpRepr r = ArpRepr::from(*v);
  uint8_t out[kArpPacketLength];
  FUZZ_CHECK(r.emit(out) == kArpPacketLength);
  auto again = ArpView::parse(out);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(ArpRepr::from(*again) == r);
}

// Ethernet, then up to four VLAN tags, then the network layer.
void walk_frame(std::span<const uint8_t> frame) {
  auto eth = EthernetView::parse(frame);
  if (!eth.ok()) {
    FUZZ_CHECK(frame.size() < kEthernetHeaderLength);
    return;
  }
  FUZZ_CHECK(within(eth->payload(), frame));
  const EthernetRepr er = EthernetRepr::from(*eth);
  uint8_t hdr[kEthernetHeaderLength];
  FUZZ_CHECK(er.emit(hdr) == kEthernetHeaderLength);
  FUZZ_CHECK(std::memcmp(hdr, frame.data(), kEthernetHeaderLength) == 0);
  uint16_t type = eth->ethertype();
  std::span<const uint8_t> rest = eth->payload();
  for (int tags = 0; tags < 4 && (type == ethertype::kVlan || type == ethertype::kQinQ); ++tags) {
    auto tag = VlanView::parse(rest);
    if (!tag.ok()) return;
    FUZZ_CHECK(within(tag->payload(), rest));
    const VlanRepr vr = VlanRepr::from(*tag);
    uint8_t t[kVlanTagLength];
    FUZZ_CHECK(vr.emit(t) == kVlanTagLength);
    FUZZ_CHECK(std::memcmp(t, rest.data(), kVlanTagLength) == 0);
    type = tag->ethertype();
    rest = tag->payload();
  }
  if (type == ethertype::kIpv4) check_ipv4(rest, ChecksumMode::kVerify);
  if (type == ethertype::kArp) check_arp(rest);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  walk_frame(in);
  // Each parser on the raw bytes too, so none depends on an Ethernet header
  // reaching it; IPv4 without checksum verification reaches every later check.
  check_ipv4(in, ChecksumMode::kSkip);
  check_arp(in);
  check_icmp(in);
  check_udp(in, Ipv4Address(0xC0000201u), Ipv4Address(0xC0000202u));
  check_tcp(in, Ipv4Address(0xC0000201u), Ipv4Address(0xC0000202u));
  check_tcp_options(in);
  check_ipv4_options(in);
  return 0;
}

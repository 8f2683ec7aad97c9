// ARP for IPv4 over Ethernet (RFC 826): round trips, the hardware/protocol
// pair checks, opcodes, and every truncation.
#include <doctest/doctest.h>

#include <vector>

#include "wire/arp.h"

namespace inlet::wire {
namespace {

ArpRepr sample_request() {
  return {ArpOperation::kRequest, MacAddress({0x02, 0, 0, 0, 0, 1}),
          *Ipv4Address::parse("192.0.2.1"), kMacZero, *Ipv4Address::parse("192.0.2.2")};
}

std::vector<uint8_t> emit(const ArpRepr& r) {
  std::vector<uint8_t> out(28);
  REQUIRE(r.emit(out) == 28);
  return out;
}

TEST_SUITE("wire.arp") {

TEST_CASE("RFC 826 Packet format: a request is laid out as the RFC says") {
  const std::vector<uint8_t> p = emit(sample_request());
  const std::vector<uint8_t> want = {0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 192, 0, 2, 1,
                                     0, 0, 0, 0, 0, 0, 192, 0, 2, 2};
  CHECK(p == want);
}

TEST_CASE("RFC 826 Packet format: emit then parse gives the same fields") {
  for (ArpOperation op : {ArpOperation::kRequest, ArpOperation::kReply}) {
    ArpRepr r = sample_request();
    r.operation = op;
    r.target_mac = MacAddress({0x02, 0, 0, 0, 0, 2});
    const std::vector<uint8_t> p = emit(r);
    const auto v = ArpView::parse(p);
    REQUIRE(v.ok());
    CHECK(v->operation() == op);
    CHECK(v->sender_mac() == r.sender_mac);
    CHECK(v->sender_ip() == r.sender_ip);
    CHECK(v->target_mac() == r.target_mac);
    CHECK(v->target_ip() == r.target_ip);
    CHECK_FALSE(v->is_gratuitous());
    CHECK(ArpRepr::from(*v) == r);
  }
}

TEST_CASE("RFC 5227 3: a gratuitous ARP names the sender's address as target") {
  ArpRepr r = sample_request();
  r.target_ip = r.sender_ip;
  CHECK(ArpView::parse(emit(r))->is_gratuitous());
}

TEST_CASE("RFC 826: Ethernet padding after the 28 bytes is ignored") {
  std::vector<uint8_t> p = emit(sample_request());
  p.resize(46, 0);
  const auto v = ArpView::parse(p);
  REQUIRE(v.ok());
  CHECK(v->bytes().size() == 28);
}

TEST_CASE("RFC 826: other hardware or protocol types are kUnsupported") {
  std::vector<uint8_t> p = emit(sample_request());
  p[1] = 6;  // IEEE 802 networks
  CHECK(ArpView::parse(p).error() == WireError::kUnsupported);
  p = emit(sample_request());
  p[2] = 0x86;
  p[3] = 0xDD;
  CHECK(ArpView::parse(p).error() == WireError::kUnsupported);
}

TEST_CASE("RFC 826: hardware length other than 6 or protocol length other than 4 is kBadLength") {
  std::vector<uint8_t> p = emit(sample_request());
  p[4] = 8;
  CHECK(ArpView::parse(p).error() == WireError::kBadLength);
  p = emit(sample_request());
  p[5] = 16;
  CHECK(ArpView::parse(p).error() == WireError::kBadLength);
}

TEST_CASE("RFC 826: opcodes other than request and reply are kUnsupported") {
  for (uint16_t op : {0, 3, 4, 8, 0xFFFF}) {
    std::vector<uint8_t> p = emit(sample_request());
    store_be16(p.data() + 6, op);
    CHECK(ArpView::parse(p).error() == WireError::kUnsupported);
  }
}

TEST_CASE("RFC 826: every truncation fails cleanly with kTooShort") {
  const std::vector<uint8_t> good = emit(sample_request());
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> prefix(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    const auto v = ArpView::parse(prefix);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error() == WireError::kTooShort);
  }
}

TEST_CASE("ARP emit never writes past a short buffer") {
  std::vector<uint8_t> out(27, 0x55);
  CHECK(sample_request().emit(out) == 0);
  CHECK(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0x55; }));
}

}  // TEST_SUITE
}  // namespace
}  // namespace inlet::wire

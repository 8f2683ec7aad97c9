// UDP (RFC 768, RFC 1122 4.1.3): round trips, the length field, the
// pseudo-header checksum and its zero, and every truncation.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "wire/checksum.h"
#include "wire/udp.h"

namespace inlet::wire {
namespace {

const Ipv4Address kSrc = *Ipv4Address::parse("192.0.2.1");
const Ipv4Address kDst = *Ipv4Address::parse("198.51.100.7");

std::vector<uint8_t> datagram(std::vector<uint8_t> payload, uint16_t sport = 5000,
                              uint16_t dport = 53) {
  const UdpRepr r{sport, dport, static_cast<uint16_t>(payload.size())};
  std::vector<uint8_t> out(8 + payload.size());
  std::copy(payload.begin(), payload.end(), out.begin() + 8);
  REQUIRE(r.emit(out, kSrc, kDst) == 8);
  return out;
}

TEST_SUITE("wire.udp") {

TEST_CASE("RFC 768 Format: emit then parse gives the same fields") {
  const std::vector<uint8_t> payload = {'h', 'e', 'l', 'l', 'o'};
  const std::vector<uint8_t> d = datagram(payload);
  const auto v = UdpView::parse(d, kSrc, kDst);
  REQUIRE(v.ok());
  CHECK(v->src_port() == 5000);
  CHECK(v->dst_port() == 53);
  CHECK(v->length() == 13);
  CHECK(v->has_checksum());
  CHECK(std::equal(payload.begin(), payload.end(), v->payload().begin(), v->payload().end()));
  CHECK(UdpRepr::from(*v) == UdpRepr{5000, 53, 5});
}

TEST_CASE("RFC 768 Fields: the checksum covers the pseudo-header") {
  const std::vector<uint8_t> d = datagram({1, 2, 3});
  // Recompute by hand over pseudo-header + datagram.
  std::vector<uint8_t> all(12);
  kSrc.store(all.data());
  kDst.store(all.data() + 4);
  all[9] = 17;
  store_be16(all.data() + 10, static_cast<uint16_t>(d.size()));
  all.insert(all.end(), d.begin(), d.end());
  CHECK(internet_checksum(all) == 0);
  CHECK(UdpView::parse(d)->checksum_ok(kSrc, kDst));
  CHECK_FALSE(UdpView::parse(d)->checksum_ok(kSrc, *Ipv4Address::parse("198.51.100.8")));
  CHECK(UdpView::parse(d, kDst, kSrc).ok());  // swapping addresses keeps the sum
  CHECK(UdpView::parse(d, kSrc, Ipv4Address(1)).error() == WireError::kBadChecksum);
}

TEST_CASE("RFC 768 Fields: a bad checksum is kBadChecksum") {
  std::vector<uint8_t> d = datagram({1, 2, 3, 4, 5, 6, 7});
  d.back() ^= 1;
  CHECK(UdpView::parse(d, kSrc, kDst).error() == WireError::kBadChecksum);
  CHECK(UdpView::parse(d).ok());  // without addresses, no checksum check
}

TEST_CASE("RFC 768 Fields: a checksum of zero means none was computed") {
  std::vector<uint8_t> d = datagram({9, 9, 9});
  store_be16(d.data() + 6, 0);
  d.back() ^= 0xFF;
  const auto v = UdpView::parse(d, kSrc, kDst);
  REQUIRE(v.ok());
  CHECK_FALSE(v->has_checksum());
}

TEST_CASE("RFC 768 Fields: a computed zero checksum is sent as all ones") {
  // Pick the payload word that makes the sum come out as zero.
  std::vector<uint8_t> d = datagram({0, 0});
  const uint16_t first = load_be16(d.data() + 6);
  std::vector<uint8_t> payload(2);
  store_be16(payload.data(), first);
  d = datagram(payload);
  CHECK(load_be16(d.data() + 6) == 0xFFFF);
  CHECK(UdpView::parse(d, kSrc, kDst).ok());
}

TEST_CASE("RFC 768 Fields: a datagram under 8 bytes is kTooShort") {
  const std::vector<uint8_t> d = datagram({});
  for (size_t n = 0; n < 8; ++n) {
    CHECK(UdpView::parse(std::span(d).first(n)).error() == WireError::kTooShort);
  }
  CHECK(UdpView::parse(d).ok());
}

TEST_CASE("RFC 768 Fields: a length below 8 or past the bytes is kBadLength") {
  std::vector<uint8_t> d = datagram({1, 2, 3, 4});
  for (uint16_t len : {0, 1, 7, 13, 0xFFFF}) {
    store_be16(d.data() + 4, len);
    CHECK(UdpView::parse(d).error() == WireError::kBadLength);
  }
}

TEST_CASE("RFC 1122 4.1.3.4: bytes past the UDP length are trimmed") {
  std::vector<uint8_t> d = datagram({1, 2, 3, 4});
  d.push_back(0xEE);
  d.push_back(0xEE);
  const auto v = UdpView::parse(d, kSrc, kDst);
  REQUIRE(v.ok());
  CHECK(v->payload().size() == 4);
  CHECK(v->bytes().size() == 12);
}

TEST_CASE("RFC 768: every truncation parses cleanly or fails cleanly") {
  const std::vector<uint8_t> good = datagram({1, 2, 3, 4, 5, 6, 7, 8, 9});
  for (size_t n = 0; n <= good.size(); ++n) {
    std::vector<uint8_t> prefix(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    const auto v = UdpView::parse(prefix, kSrc, kDst);
    if (n < 8) {
      CHECK(v.error() == WireError::kTooShort);
    } else if (n < good.size()) {
      CHECK(v.error() == WireError::kBadLength);
    } else {
      REQUIRE(v.ok());
      size_t sum = 0;
      for (uint8_t b : v->payload()) sum += b;
      CHECK(sum == 45);
    }
  }
}

TEST_CASE("RFC 768: random lengths and payloads round-trip with a valid checksum") {
  std::mt19937 rng(768);
  for (int iter = 0; iter < 500; ++iter) {
    std::vector<uint8_t> payload(rng() % 1500);
    for (auto& b : payload) b = static_cast<uint8_t>(rng());
    const std::vector<uint8_t> d = datagram(payload, static_cast<uint16_t>(rng()),
                                            static_cast<uint16_t>(rng()));
    const auto v = UdpView::parse(d, kSrc, kDst);
    REQUIRE(v.ok());
    CHECK(v->payload().size() == payload.size());
  }
}

TEST_CASE("UDP emit never writes past a short buffer") {
  std::vector<uint8_t> out(11, 0x55);
  CHECK(UdpRepr{1, 2, 4}.emit(out, kSrc, kDst) == 0);
  CHECK(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0x55; }));
}

}  // TEST_SUITE
}  // namespace
}  // namespace inlet::wire

// Byte order and address types: big-endian loads/stores at any alignment,
// dotted-quad and MAC text forms, and the address classes of RFC 1122 3.2.1.3.
#include <doctest/doctest.h>

#include <set>
#include <unordered_set>

#include "wire/bytes.h"
#include "wire/result.h"

namespace inlet::wire {
namespace {

TEST_SUITE("wire.bytes") {

TEST_CASE("RFC 791 3.1: fields are big-endian, at any alignment") {
  uint8_t buf[16] = {};
  for (size_t off = 0; off < 8; ++off) {
    store_be16(buf + off, 0x1234);
    CHECK(buf[off] == 0x12);
    CHECK(buf[off + 1] == 0x34);
    CHECK(load_be16(buf + off) == 0x1234);
    store_be32(buf + off, 0xC0000201u);
    CHECK(buf[off] == 0xC0);
    CHECK(buf[off + 3] == 0x01);
    CHECK(load_be32(buf + off) == 0xC0000201u);
  }
  CHECK(byteswap64(0x0102030405060708ull) == 0x0807060504030201ull);
}

TEST_CASE("Ipv4Address: dotted quad round-trips") {
  const auto a = Ipv4Address::parse("192.0.2.1");
  REQUIRE(a.has_value());
  CHECK(a->value() == 0xC0000201u);
  CHECK(a->to_string() == "192.0.2.1");
  CHECK(*a == Ipv4Address::from_octets(192, 0, 2, 1));
  CHECK(Ipv4Address::parse("0.0.0.0") == kIpv4Any);
  CHECK(Ipv4Address::parse("255.255.255.255") == kIpv4Broadcast);
  CHECK(kIpv4Broadcast.to_string() == "255.255.255.255");
  uint8_t buf[4];
  a->store(buf);
  CHECK(Ipv4Address::load(buf) == *a);
  CHECK(a->octets() == std::array<uint8_t, 4>{192, 0, 2, 1});
}

TEST_CASE("Ipv4Address: malformed text is refused") {
  for (const char* bad : {"", "1", "1.2.3", "1.2.3.4.", ".1.2.3", "1.2.3.4.5", "256.0.0.1",
                          "1.2.3.256", "01.2.3.4", "1.2.3.00", "1..3.4", "1.2.3.4 ", " 1.2.3.4",
                          "a.b.c.d", "1.2.3.-4", "1234.1.1.1", "1.2.3.0x1", "1,2,3,4"}) {
    CHECK_MESSAGE(!Ipv4Address::parse(bad).has_value(), bad);
  }
}

TEST_CASE("RFC 1122 3.2.1.3: address classes") {
  auto A = [](const char* s) { return *Ipv4Address::parse(s); };
  CHECK(A("0.0.0.0").is_unspecified());
  CHECK(A("0.1.2.3").is_zeronet());
  CHECK_FALSE(A("0.1.2.3").is_unspecified());
  CHECK(A("127.0.0.1").is_loopback());
  CHECK(A("127.255.255.254").is_loopback());
  CHECK_FALSE(A("128.0.0.1").is_loopback());
  CHECK(A("255.255.255.255").is_limited_broadcast());
  CHECK(A("255.255.255.255").is_class_e());
  CHECK(A("240.0.0.1").is_class_e());
  CHECK_FALSE(A("240.0.0.1").is_multicast());
  CHECK(A("224.0.0.1").is_multicast());
  CHECK(A("224.0.0.251").is_local_multicast());
  CHECK_FALSE(A("224.0.1.1").is_local_multicast());
  CHECK(A("239.255.255.255").is_multicast());
  CHECK_FALSE(A("223.255.255.255").is_multicast());
  CHECK(A("169.254.1.1").is_link_local());
  CHECK(A("10.1.2.3").is_private());
  CHECK(A("172.16.0.1").is_private());
  CHECK(A("172.31.255.255").is_private());
  CHECK_FALSE(A("172.32.0.1").is_private());
  CHECK(A("192.168.1.1").is_private());
  CHECK(A("192.0.2.1").is_unicast());
  CHECK_FALSE(A("224.0.0.1").is_unicast());
  CHECK_FALSE(A("0.0.0.0").is_unicast());
}

TEST_CASE("Ipv4Address: orders as its host-order value and hashes") {
  CHECK(Ipv4Address(1) < Ipv4Address(2));
  CHECK(*Ipv4Address::parse("10.0.0.2") > *Ipv4Address::parse("9.255.255.255"));
  std::unordered_set<Ipv4Address> set{Ipv4Address(1), Ipv4Address(1), Ipv4Address(2)};
  CHECK(set.size() == 2);
}

TEST_CASE("MacAddress: text round-trips and classes (IEEE 802 I/G bit)") {
  const auto m = MacAddress::parse("02:00:5e:10:00:ff");
  REQUIRE(m.has_value());
  CHECK(m->to_string() == "02:00:5e:10:00:ff");
  CHECK(MacAddress::parse("02-00-5E-10-00-FF") == m);
  CHECK(m->is_unicast());
  CHECK(m->is_locally_administered());
  CHECK_FALSE(m->is_multicast());
  CHECK(kMacBroadcast.is_broadcast());
  CHECK(kMacBroadcast.is_multicast());
  CHECK(kMacZero.is_zero());
  CHECK_FALSE(m->is_zero());
  CHECK(MacAddress::parse("01:00:5e:00:00:01")->is_multicast());
  for (const char* bad : {"", "02:00:5e:10:00", "02:00:5e:10:00:ff:", "02:00-5e:10:00:ff",
                          "02:00:5e:10:00:fg", "0200:5e:10:00:ff:", "02.00.5e.10.00.ff"}) {
    CHECK_MESSAGE(!MacAddress::parse(bad).has_value(), bad);
  }
  uint8_t buf[6];
  m->store(buf);
  CHECK(MacAddress::load(buf) == *m);
  std::unordered_set<MacAddress> set{*m, *m, kMacBroadcast};
  CHECK(set.size() == 2);
}

TEST_CASE("RFC 1112 6.4: a group maps to 01:00:5e plus its low 23 bits") {
  CHECK(multicast_mac(*Ipv4Address::parse("224.0.0.1")).to_string() == "01:00:5e:00:00:01");
  CHECK(multicast_mac(*Ipv4Address::parse("239.255.128.7")).to_string() == "01:00:5e:7f:80:07");
}

TEST_CASE("WireResult: holds a value or an error, cheaply") {
  WireResult<int> ok = 5;
  WireResult<int> bad = WireError::kTruncated;
  CHECK(ok.ok());
  CHECK(ok.value() == 5);
  CHECK_FALSE(bad.ok());
  CHECK(bad.error() == WireError::kTruncated);
  CHECK(std::string(wire_error_name(WireError::kBadChecksum)) == "bad_checksum");
  static_assert(std::is_trivially_copyable_v<WireResult<int>>);
  std::set<std::string> names;
  for (int e = 0; e <= static_cast<int>(WireError::kUnsupported); ++e) {
    names.insert(wire_error_name(static_cast<WireError>(e)));
  }
  CHECK(names.size() == 9);
}

}  // TEST_SUITE
}  // namespace
}  // namespace inlet::wire

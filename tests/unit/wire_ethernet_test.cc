// Ethernet II headers and IEEE 802.1Q tags: round trips, short frames, every
// truncation, and the in-place address edits.
#include <doctest/doctest.h>

#include <vector>

#include "wire/ethernet.h"
#include "wire/vlan.h"

namespace inlet::wire {
namespace {

const MacAddress kA({0x02, 0, 0, 0, 0, 0x0a});
const MacAddress kB({0x02, 0, 0, 0, 0, 0x0b});

TEST_SUITE("wire.ethernet") {

TEST_CASE("IEEE 802.3 3.1.1: emit then parse gives the same header") {
  const EthernetRepr repr{kA, kB, ethertype::kIpv4};
  std::vector<uint8_t> frame(60, 0xEE);
  REQUIRE(repr.emit(frame) == 14);
  const uint8_t want[] = {2, 0, 0, 0, 0, 0x0a, 2, 0, 0, 0, 0, 0x0b, 0x08, 0x00};
  CHECK(std::equal(std::begin(want), std::end(want), frame.begin()));
  const auto v = EthernetView::parse(frame);
  REQUIRE(v.ok());
  CHECK(v->dst() == kA);
  CHECK(v->src() == kB);
  CHECK(v->ethertype() == ethertype::kIpv4);
  CHECK_FALSE(v->is_length_field());
  CHECK(v->payload().size() == 46);
  CHECK(v->payload()[0] == 0xEE);
  CHECK(EthernetRepr::from(*v) == repr);
}

TEST_CASE("IEEE 802.3 3.2.6: a type of 1500 or less is an 802.3 length") {
  std::vector<uint8_t> frame(20, 0);
  EthernetRepr{kA, kB, 6}.emit(frame);
  CHECK(EthernetView::parse(frame)->is_length_field());
}

TEST_CASE("IEEE 802.3 3.1.1: frames under 14 bytes are kTooShort, at every length") {
  std::vector<uint8_t> good(14, 0);
  EthernetRepr{kA, kB, ethertype::kArp}.emit(good);
  for (size_t n = 0; n <= good.size(); ++n) {
    std::vector<uint8_t> prefix(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    const auto v = EthernetView::parse(prefix);
    if (n < 14) {
      REQUIRE_FALSE(v.ok());
      CHECK(v.error() == WireError::kTooShort);
    } else {
      REQUIRE(v.ok());
      CHECK(v->payload().empty());
      CHECK(v->ethertype() == ethertype::kArp);
    }
  }
}

TEST_CASE("Ethernet emit never writes past a short buffer") {
  std::vector<uint8_t> out(13, 0x55);
  CHECK(EthernetRepr{kA, kB, ethertype::kIpv4}.emit(out) == 0);
  CHECK(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0x55; }));
}

TEST_CASE("Ethernet in-place edits swap and set addresses") {
  std::vector<uint8_t> frame(14, 0);
  EthernetRepr{kA, kB, ethertype::kIpv4}.emit(frame);
  REQUIRE(ethernet_swap_addresses(frame));
  CHECK(EthernetView::parse(frame)->dst() == kB);
  CHECK(EthernetView::parse(frame)->src() == kA);
  REQUIRE(ethernet_set_addresses(frame, kMacBroadcast, kA));
  CHECK(EthernetView::parse(frame)->dst() == kMacBroadcast);
  std::vector<uint8_t> tiny(13, 0);
  CHECK_FALSE(ethernet_swap_addresses(tiny));
  CHECK_FALSE(ethernet_set_addresses(tiny, kA, kB));
}

}  // TEST_SUITE

TEST_SUITE("wire.vlan") {

TEST_CASE("IEEE 802.1Q 9.6: TCI splits into PCP, DEI and VID") {
  const uint8_t tag[] = {0xB0 | 0x01, 0x23, 0x08, 0x00, 0x45};
  const auto v = VlanView::parse(tag);
  REQUIRE(v.ok());
  CHECK(v->tci() == 0xB123);
  CHECK(v->pcp() == 5);
  CHECK(v->dei());
  CHECK(v->vid() == 0x123);
  CHECK(v->ethertype() == ethertype::kIpv4);
  CHECK(v->payload().size() == 1);
}

TEST_CASE("IEEE 802.1Q 9.6: emit then parse gives the same tag") {
  for (uint8_t pcp = 0; pcp < 8; ++pcp) {
    for (uint16_t vid : {0, 1, 100, 4094, 4095}) {
      for (bool dei : {false, true}) {
        const VlanRepr repr{pcp, dei, vid, ethertype::kArp};
        uint8_t out[4];
        REQUIRE(repr.emit(out) == 4);
        const auto v = VlanView::parse(out);
        REQUIRE(v.ok());
        CHECK(VlanRepr::from(*v) == repr);
        CHECK(v->tci() == vlan_tci(pcp, dei, vid));
      }
    }
  }
  uint8_t small[3];
  CHECK(VlanRepr{}.emit(small) == 0);
}

TEST_CASE("IEEE 802.1Q 9.6: a tag under 4 bytes is kTooShort") {
  const uint8_t tag[] = {0x00, 0x64, 0x08, 0x00};
  for (size_t n = 0; n <= sizeof tag; ++n) {
    std::vector<uint8_t> prefix(tag, tag + n);
    const auto v = VlanView::parse(prefix);
    if (n < 4) {
      CHECK(v.error() == WireError::kTooShort);
    } else {
      CHECK(v->vid() == 100);
    }
  }
}

TEST_CASE("IEEE 802.1ad: a QinQ frame peels an S-tag then a C-tag") {
  std::vector<uint8_t> frame(14 + 4 + 4 + 2, 0);
  EthernetRepr{kA, kB, ethertype::kQinQ}.emit(frame);
  VlanRepr{0, false, 10, ethertype::kVlan}.emit(std::span(frame).subspan(14));
  VlanRepr{3, false, 20, ethertype::kIpv4}.emit(std::span(frame).subspan(18));
  const auto eth = EthernetView::parse(frame);
  REQUIRE(eth.ok());
  CHECK(eth->ethertype() == ethertype::kQinQ);
  const auto outer = VlanView::parse(eth->payload());
  REQUIRE(outer.ok());
  CHECK(outer->vid() == 10);
  CHECK(outer->ethertype() == ethertype::kVlan);
  const auto inner = VlanView::parse(outer->payload());
  REQUIRE(inner.ok());
  CHECK(inner->vid() == 20);
  CHECK(inner->pcp() == 3);
  CHECK(inner->ethertype() == ethertype::kIpv4);
  CHECK(inner->payload().size() == 2);
}

}  // TEST_SUITE
}  // namespace
}  // namespace inlet::wire

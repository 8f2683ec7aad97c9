// IPv4 headers: RFC 791 3.1 fields, the RFC 1122 3.2.1 / RFC 1812 5.2.2
// validity checks (each error the parser can return), the option rules of
// Linux's ip_options_compile, every truncation, and in-place edits.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "wire/ipv4.h"

namespace inlet::wire {
namespace {

const Ipv4Address kSrc = *Ipv4Address::parse("192.0.2.1");
const Ipv4Address kDst = *Ipv4Address::parse("198.51.100.7");

Ipv4Repr sample(uint16_t payload_length = 8) {
  Ipv4Repr r;
  r.src = kSrc;
  r.dst = kDst;
  r.protocol = ipproto::kUdp;
  r.ttl = 61;
  r.tos = 0xB8;
  r.ident = 0xBEEF;
  r.dont_fragment = true;
  r.payload_length = payload_length;
  return r;
}

// A datagram with `options` (padded with EOL by emit) and a payload of 0xAB.
std::vector<uint8_t> datagram(const Ipv4Repr& r) {
  std::vector<uint8_t> out(r.total_length(), 0xAB);
  REQUIRE(r.emit(out) == r.header_length());
  return out;
}

std::vector<uint8_t> with_options(std::vector<uint8_t> options) {
  Ipv4Repr r = sample();
  r.options = options;
  return datagram(r);
}

WireError error_of(std::span<const uint8_t> bytes, ChecksumMode m = ChecksumMode::kVerify) {
  const auto v = Ipv4View::parse(bytes, m);
  REQUIRE_FALSE(v.ok());
  return v.error();
}

WireError options_error(std::vector<uint8_t> options) {
  return error_of(with_options(std::move(options)));
}

// Reads every accessor so that ASan sees any read out of bounds.
size_t touch(const Ipv4View& v) {
  size_t s = v.version() + v.header_length() + v.tos() + v.total_length() + v.ident() +
             v.fragment_offset() + v.ttl() + v.protocol() + v.header_checksum() +
             v.src().value() + v.dst().value() + v.is_fragment();
  for (uint8_t b : v.payload()) s += b;
  for (const Ipv4Option& o : v.options()) {
    s += o.kind;
    for (uint8_t b : o.bytes) s += b;
  }
  return s;
}

TEST_SUITE("wire.ipv4") {

TEST_CASE("RFC 791 3.1: emit writes the header and its checksum") {
  // The classic example: 45 00 00 30 44 22 40 00 80 06 [44 2e] 8c 7c 19 ac ae 24 1e 2b.
  Ipv4Repr r;
  r.src = Ipv4Address(0x8c7c19ac);
  r.dst = Ipv4Address(0xae241e2b);
  r.protocol = ipproto::kTcp;
  r.ttl = 0x80;
  r.ident = 0x4422;
  r.dont_fragment = true;
  r.payload_length = 0x30 - 20;
  std::vector<uint8_t> out(20);
  REQUIRE(r.emit(out) == 20);
  const std::vector<uint8_t> want = {0x45, 0x00, 0x00, 0x30, 0x44, 0x22, 0x40, 0x00, 0x80, 0x06,
                                     0x44, 0x2e, 0x8c, 0x7c, 0x19, 0xac, 0xae, 0x24, 0x1e, 0x2b};
  CHECK(out == want);
}

TEST_CASE("RFC 791 3.1: emit then parse gives the same fields") {
  const Ipv4Repr r = sample(100);
  const std::vector<uint8_t> d = datagram(r);
  const auto v = Ipv4View::parse(d);
  REQUIRE(v.ok());
  CHECK(v->version() == 4);
  CHECK(v->header_length() == 20);
  CHECK(v->total_length() == 120);
  CHECK(v->tos() == 0xB8);
  CHECK(v->dscp() == 46);
  CHECK(v->ecn() == 0);
  CHECK(v->ident() == 0xBEEF);
  CHECK(v->dont_fragment());
  CHECK_FALSE(v->more_fragments());
  CHECK_FALSE(v->reserved_flag());
  CHECK(v->fragment_offset() == 0);
  CHECK_FALSE(v->is_fragment());
  CHECK(v->ttl() == 61);
  CHECK(v->protocol() == ipproto::kUdp);
  CHECK(v->src() == kSrc);
  CHECK(v->dst() == kDst);
  CHECK_FALSE(v->has_options());
  CHECK(v->options().empty());
  CHECK(v->payload().size() == 100);
  CHECK(v->header().size() == 20);
  CHECK(Ipv4Repr::from(*v) == r);
}

TEST_CASE("RFC 791 3.1: options round-trip, padded with EOL to a 4-byte multiple") {
  Ipv4Repr r = sample(4);
  const std::vector<uint8_t> options = {ipv4opt::kRouterAlert, 4, 0, 0, ipv4opt::kNop};
  r.options = options;
  CHECK(r.header_length() == 28);
  const std::vector<uint8_t> d = datagram(r);
  CHECK(d[25] == ipv4opt::kEol);
  const auto v = Ipv4View::parse(d);
  REQUIRE(v.ok());
  CHECK(v->header_length() == 28);
  CHECK(v->has_options());
  std::vector<uint8_t> kinds;
  for (const Ipv4Option& o : v->options()) kinds.push_back(o.kind);
  CHECK(kinds == std::vector<uint8_t>{ipv4opt::kRouterAlert, ipv4opt::kNop});
  const auto ra = v->options().find(ipv4opt::kRouterAlert);
  REQUIRE(ra.has_value());
  CHECK(ra->length() == 4);
  CHECK(ra->data().size() == 2);
  CHECK(ra->copied());
  CHECK_FALSE(v->options().find(ipv4opt::kTimestamp).has_value());
  CHECK(v->payload().size() == 4);
  CHECK(v->payload()[0] == 0xAB);
}

TEST_CASE("RFC 791 3.1: fragment fields, offset in 8-byte units") {
  Ipv4Repr r = sample(16);
  r.dont_fragment = false;
  r.more_fragments = true;
  r.frag_offset = 8 * 1000;
  const std::vector<uint8_t> d = datagram(r);
  const auto v = Ipv4View::parse(d);
  REQUIRE(v.ok());
  CHECK(v->more_fragments());
  CHECK(v->fragment_offset() == 8000);
  CHECK(v->is_fragment());
  CHECK(load_be16(d.data() + 6) == (0x2000 | 1000));
  r.more_fragments = false;  // the last fragment
  CHECK(Ipv4View::parse(datagram(r))->is_fragment());
  r.frag_offset = 0;
  CHECK_FALSE(Ipv4View::parse(datagram(r))->is_fragment());
  r.frag_offset = 65528;
  CHECK(Ipv4View::parse(datagram(r))->fragment_offset() == 65528);
}

TEST_CASE("RFC 791 3.1: emit refuses what the header cannot carry") {
  std::vector<uint8_t> out(100, 0x55);
  Ipv4Repr r = sample();
  r.frag_offset = 12;  // not a multiple of 8
  CHECK(r.emit(out) == 0);
  r = sample(65535 - 19);
  CHECK(r.emit(out) == 0);  // total above 65535
  r = sample();
  const std::vector<uint8_t> too_many(41, ipv4opt::kNop);
  r.options = too_many;
  CHECK(r.emit(out) == 0);
  std::vector<uint8_t> small(19, 0x55);
  CHECK(sample().emit(small) == 0);
  CHECK(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0x55; }));
  CHECK(std::all_of(small.begin(), small.end(), [](uint8_t b) { return b == 0x55; }));
  const std::vector<uint8_t> forty(40, ipv4opt::kNop);
  r.options = forty;
  CHECK(r.emit(out) == 60);
}

TEST_CASE("RFC 1122 3.2.1.1: fewer than 20 bytes is kTooShort") {
  const std::vector<uint8_t> d = datagram(sample(0));
  CHECK(error_of(std::span(d).first(19)) == WireError::kTooShort);
  CHECK(error_of({}) == WireError::kTooShort);
}

TEST_CASE("RFC 1122 3.2.1.1: a version other than 4 is kBadVersion") {
  for (uint8_t version : {0, 5, 6, 15}) {
    std::vector<uint8_t> d = datagram(sample());
    d[0] = static_cast<uint8_t>((version << 4) | 5);
    CHECK(error_of(d) == WireError::kBadVersion);
  }
}

TEST_CASE("RFC 791 3.1: IHL below 5 is rejected") {
  for (uint8_t ihl = 0; ihl < 5; ++ihl) {
    std::vector<uint8_t> d = datagram(sample());
    d[0] = static_cast<uint8_t>(0x40 | ihl);
    CHECK(error_of(d) == WireError::kBadHeaderLength);
  }
}

TEST_CASE("RFC 791 3.1: an IHL past the bytes given is kBadHeaderLength") {
  std::vector<uint8_t> d = datagram(sample(0));  // 20 bytes
  d[0] = 0x46;
  CHECK(error_of(d) == WireError::kBadHeaderLength);
  d[0] = 0x4F;
  d.resize(59);
  CHECK(error_of(d) == WireError::kBadHeaderLength);
}

TEST_CASE("RFC 1812 5.2.2: a total length below the header length is kBadTotalLength") {
  std::vector<uint8_t> d = datagram(sample());
  store_be16(d.data() + 2, 19);
  CHECK(error_of(d, ChecksumMode::kSkip) == WireError::kBadTotalLength);
  store_be16(d.data() + 2, 0);
  CHECK(error_of(d, ChecksumMode::kSkip) == WireError::kBadTotalLength);
  std::vector<uint8_t> o = with_options({ipv4opt::kNop, ipv4opt::kNop, ipv4opt::kNop, 0});
  store_be16(o.data() + 2, 23);
  CHECK(error_of(o, ChecksumMode::kSkip) == WireError::kBadTotalLength);
}

TEST_CASE("RFC 1812 5.2.2: a total length past the bytes given is kTruncated") {
  std::vector<uint8_t> d = datagram(sample(8));
  d.pop_back();
  CHECK(error_of(d) == WireError::kTruncated);
}

TEST_CASE("RFC 1812 5.2.2: bytes past the total length (Ethernet padding) are trimmed") {
  std::vector<uint8_t> d = datagram(sample(6));
  d.resize(46, 0);
  const auto v = Ipv4View::parse(d);
  REQUIRE(v.ok());
  CHECK(v->total_length() == 26);
  CHECK(v->bytes().size() == 26);
  CHECK(v->payload().size() == 6);
}

TEST_CASE("RFC 1122 3.2.1.2: a bad header checksum is kBadChecksum unless the device checked it") {
  std::vector<uint8_t> d = datagram(sample());
  d[8] ^= 0x01;  // the TTL, without fixing the checksum
  CHECK(error_of(d) == WireError::kBadChecksum);
  CHECK(Ipv4View::parse(d, ChecksumMode::kSkip).ok());
  d = datagram(sample());
  d[25] ^= 0xFF;  // the payload is not covered
  CHECK(Ipv4View::parse(d).ok());
}

TEST_CASE("RFC 791 3.1: every truncation parses cleanly or fails cleanly") {
  Ipv4Repr r = sample(12);
  const std::vector<uint8_t> options = {ipv4opt::kRecordRoute, 11, 4, 0, 0, 0, 0,
                                        0, 0, 0, 0, ipv4opt::kNop};
  r.options = options;
  const std::vector<uint8_t> good = datagram(r);
  for (size_t n = 0; n <= good.size(); ++n) {
    std::vector<uint8_t> prefix(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    const auto v = Ipv4View::parse(prefix);
    if (n < good.size()) {
      REQUIRE_FALSE(v.ok());
      CHECK((v.error() == WireError::kTooShort || v.error() == WireError::kBadHeaderLength ||
             v.error() == WireError::kTruncated));
    } else {
      REQUIRE(v.ok());
      CHECK(touch(*v) != 0);
    }
  }
}

TEST_CASE("RFC 791 3.1: random bytes never read out of bounds") {
  std::mt19937 rng(791);
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<uint8_t> d(rng() % 80);
    for (auto& b : d) b = static_cast<uint8_t>(rng());
    if (!d.empty()) d[0] = static_cast<uint8_t>(0x40 | (d[0] & 0x0F));
    if (d.size() >= 4 && iter % 2 == 0) store_be16(d.data() + 2, static_cast<uint16_t>(d.size()));
    const auto v = Ipv4View::parse(d, ChecksumMode::kSkip);
    if (v.ok()) touch(*v);
    Ipv4Options all{d};
    for (const Ipv4Option& o : all) CHECK(o.bytes.size() >= 1);
  }
}

// Options, as Linux's ip_options_compile checks them.

TEST_CASE("RFC 791 3.1: EOL ends the options, whatever follows") {
  const auto d = with_options({ipv4opt::kNop, ipv4opt::kEol, 0xFF, 0x00});
  const auto v = Ipv4View::parse(d);
  REQUIRE(v.ok());
  size_t count = 0;
  for (const Ipv4Option& o : v->options()) {
    CHECK(o.kind == ipv4opt::kNop);
    ++count;
  }
  CHECK(count == 1);
}

TEST_CASE("RFC 791 3.1: an option length of 0 or 1 is kBadOptions") {
  CHECK(options_error({30, 0, 0, 0}) == WireError::kBadOptions);
  CHECK(options_error({ipv4opt::kRecordRoute, 0, 4, 0}) == WireError::kBadOptions);
  CHECK(options_error({ipv4opt::kRecordRoute, 1, 4, 0}) == WireError::kBadOptions);
  CHECK(options_error({30, 1, 0, 0}) == WireError::kBadOptions);
}

TEST_CASE("RFC 791 3.1: an option running past the header is kBadOptions") {
  CHECK(options_error({30, 5, 0, 0}) == WireError::kBadOptions);
  CHECK(options_error({ipv4opt::kNop, ipv4opt::kNop, ipv4opt::kNop, 30}) ==
        WireError::kBadOptions);  // no room for the length byte
  CHECK(options_error({ipv4opt::kRecordRoute, 12, 4, 0, 0, 0, 0, 0}) == WireError::kBadOptions);
}

TEST_CASE("RFC 791 3.1: unknown well-formed options are accepted") {
  const auto d = with_options({30, 4, 1, 2, ipv4opt::kSecurity, 3, 0, ipv4opt::kNop});
  const auto v = Ipv4View::parse(d);
  REQUIRE(v.ok());
  std::vector<uint8_t> kinds;
  for (const Ipv4Option& o : v->options()) kinds.push_back(o.kind);
  CHECK(kinds == std::vector<uint8_t>{30, ipv4opt::kSecurity, ipv4opt::kNop});
}

TEST_CASE("RFC 791 3.1 Record Route: length >= 3, pointer >= 4, room for an address") {
  CHECK(Ipv4View::parse(with_options({ipv4opt::kRecordRoute, 7, 4, 0, 0, 0, 0, 0})).ok());
  // Full (pointer past the length) is fine: the route is just not recorded.
  CHECK(Ipv4View::parse(with_options({ipv4opt::kRecordRoute, 7, 8, 0, 0, 0, 0, 0})).ok());
  CHECK(options_error({ipv4opt::kRecordRoute, 2, ipv4opt::kNop, 0}) == WireError::kBadOptions);
  CHECK(options_error({ipv4opt::kRecordRoute, 7, 3, 0, 0, 0, 0, 0}) == WireError::kBadOptions);
  // Pointer 5 <= length 7, but 5 + 3 > 7: no room for the next address.
  CHECK(options_error({ipv4opt::kRecordRoute, 7, 5, 0, 0, 0, 0, 0}) == WireError::kBadOptions);
}

TEST_CASE("RFC 791 3.1 Source Route: length >= 3, pointer >= 4, only one") {
  for (uint8_t kind : {ipv4opt::kLooseSourceRoute, ipv4opt::kStrictSourceRoute}) {
    CHECK(Ipv4View::parse(with_options({kind, 7, 4, 1, 2, 3, 4, 0})).ok());
    CHECK(options_error({kind, 2, 0, 0}) == WireError::kBadOptions);
    CHECK(options_error({kind, 7, 3, 1, 2, 3, 4, 0}) == WireError::kBadOptions);
  }
  // RFC 1812 5.2.4.1: two source routes.
  CHECK(options_error({ipv4opt::kLooseSourceRoute, 3, 4, ipv4opt::kStrictSourceRoute, 3, 4, 0,
                       0}) == WireError::kBadOptions);
}

TEST_CASE("RFC 791 3.1 Internet Timestamp: length >= 4, pointer >= 5, room for an entry") {
  const uint8_t ts = ipv4opt::kTimestamp;
  CHECK(Ipv4View::parse(with_options({ts, 8, 5, 0, 0, 0, 0, 0})).ok());  // timestamps only
  CHECK(Ipv4View::parse(with_options({ts, 12, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0})).ok());  // + addr
  CHECK(options_error({ts, 3, 5, 0}) == WireError::kBadOptions);
  CHECK(options_error({ts, 8, 4, 0, 0, 0, 0, 0}) == WireError::kBadOptions);
  CHECK(options_error({ts, 8, 6, 0, 0, 0, 0, 0}) == WireError::kBadOptions);  // 6+3 > 8
  CHECK(options_error({ts, 8, 5, 1, 0, 0, 0, 0}) == WireError::kBadOptions);  // 5+7 > 8
  CHECK(options_error({ts, 8, 5, 3, 0, 0, 0, 0}) == WireError::kBadOptions);
  // Full: accepted while the overflow count can still count, refused at 15.
  CHECK(Ipv4View::parse(with_options({ts, 8, 9, 0x10, 0, 0, 0, 0})).ok());
  CHECK(options_error({ts, 8, 9, 0xF0, 0, 0, 0, 0}) == WireError::kBadOptions);
  // An unknown flag on a received packet is let through, as Linux does.
  CHECK(Ipv4View::parse(with_options({ts, 8, 5, 2, 0, 0, 0, 0})).ok());
}

TEST_CASE("RFC 2113 2.1: Router Alert is exactly 4 bytes") {
  CHECK(Ipv4View::parse(with_options({ipv4opt::kRouterAlert, 4, 0, 0})).ok());
  CHECK(options_error({ipv4opt::kRouterAlert, 3, 0, 0}) == WireError::kBadOptions);
  CHECK(options_error({ipv4opt::kRouterAlert, 6, 0, 0, 0, 0, 0, 0}) == WireError::kBadOptions);
}

TEST_CASE("RFC 1812 4.3.2.3: the option problem names the offending byte") {
  const std::vector<uint8_t> ok = {ipv4opt::kNop, ipv4opt::kRouterAlert, 4, 0, 0};
  CHECK_FALSE(ipv4_options_problem(ok).has_value());
  const std::vector<uint8_t> bad_len = {ipv4opt::kNop, 30, 9, 0};
  CHECK(ipv4_options_problem(bad_len) == 22);  // its length byte
  const std::vector<uint8_t> bad_ptr = {ipv4opt::kRecordRoute, 7, 3, 0, 0, 0, 0, 0};
  CHECK(ipv4_options_problem(bad_ptr) == 22);
  const std::vector<uint8_t> ts_full = {ipv4opt::kTimestamp, 8, 9, 0xF0, 0, 0, 0, 0};
  CHECK(ipv4_options_problem(ts_full) == 23);
  const std::vector<uint8_t> no_len = {ipv4opt::kNop, ipv4opt::kNop, ipv4opt::kNop, 30};
  CHECK(ipv4_options_problem(no_len) == 23);
}

TEST_CASE("Ipv4OptionIterator stops at a malformed option instead of reading past it") {
  const std::vector<uint8_t> bad = {ipv4opt::kNop, 30, 200, 0};
  std::vector<uint8_t> kinds;
  for (const Ipv4Option& o : Ipv4Options{bad}) kinds.push_back(o.kind);
  CHECK(kinds == std::vector<uint8_t>{ipv4opt::kNop});
}

// In-place edits.

TEST_CASE("RFC 1812 5.3.1: decrementing the TTL keeps the checksum right (RFC 1624)") {
  std::mt19937 rng(1812);
  for (int iter = 0; iter < 2000; ++iter) {
    Ipv4Repr r = sample(0);
    r.ttl = static_cast<uint8_t>(rng());
    r.ident = static_cast<uint16_t>(rng());
    r.tos = static_cast<uint8_t>(rng());
    r.src = Ipv4Address(static_cast<uint32_t>(rng()));
    std::vector<uint8_t> d = datagram(r);
    const bool ok = ipv4_decrease_ttl(d);
    CHECK(ok == (r.ttl != 0));
    const auto v = Ipv4View::parse(d);
    REQUIRE(v.ok());
    CHECK(v->ttl() == (r.ttl == 0 ? 0 : r.ttl - 1));
    std::vector<uint8_t> full = d;
    REQUIRE(ipv4_fill_checksum(full));
    CHECK(full == d);
  }
}

TEST_CASE("RFC 1624 3: every header edit equals a full recompute") {
  std::mt19937 rng(3022);
  for (int iter = 0; iter < 2000; ++iter) {
    Ipv4Repr r = sample(static_cast<uint16_t>(rng() % 64));
    r.ident = static_cast<uint16_t>(rng());
    std::vector<uint8_t> d = datagram(r);
    switch (iter % 5) {
      case 0: CHECK(ipv4_set_ttl(d, static_cast<uint8_t>(rng()))); break;
      case 1: CHECK(ipv4_set_tos(d, static_cast<uint8_t>(rng()))); break;
      case 2: CHECK(ipv4_set_src(d, Ipv4Address(static_cast<uint32_t>(rng())))); break;
      case 3: CHECK(ipv4_set_dst(d, Ipv4Address(static_cast<uint32_t>(rng())))); break;
      case 4:
        CHECK(ipv4_set_total_length(d, static_cast<uint16_t>(20 + rng() % (d.size() - 19))));
        break;
    }
    CHECK(Ipv4View::parse(d).ok());
    std::vector<uint8_t> full = d;
    REQUIRE(ipv4_fill_checksum(full));
    CHECK(full == d);
  }
}

TEST_CASE("RFC 792 Echo: swapping addresses keeps the checksum") {
  std::vector<uint8_t> d = datagram(sample());
  REQUIRE(ipv4_swap_addresses(d));
  const auto v = Ipv4View::parse(d);
  REQUIRE(v.ok());
  CHECK(v->src() == kDst);
  CHECK(v->dst() == kSrc);
  std::vector<uint8_t> tiny(19);
  CHECK_FALSE(ipv4_swap_addresses(tiny));
  CHECK_FALSE(ipv4_set_ttl(tiny, 1));
  CHECK_FALSE(ipv4_decrease_ttl(tiny));
  CHECK_FALSE(ipv4_fill_checksum(tiny));
}

}  // TEST_SUITE
}  // namespace
}  // namespace inlet::wire

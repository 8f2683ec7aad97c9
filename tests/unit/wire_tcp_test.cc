// TCP headers (RFC 9293 3.1) and options (RFC 9293 3.2, RFC 7323, RFC 2018,
// RFC 7413): round trips, every parse error, option lengths 0/1/past the end,
// SACK with no blocks, the checksum, and every truncation.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "wire/checksum.h"
#include "wire/tcp.h"

namespace inlet::wire {
namespace {

const Ipv4Address kSrc = *Ipv4Address::parse("192.0.2.1");
const Ipv4Address kDst = *Ipv4Address::parse("198.51.100.7");

TcpRepr sample(uint16_t payload_length = 0) {
  TcpRepr r;
  r.src_port = 40000;
  r.dst_port = 80;
  r.seq = 0x01020304;
  r.ack = 0xA0B0C0D0;
  r.flags = tcpflag::kAck | tcpflag::kPsh;
  r.window = 0xFFEE;
  r.urgent_pointer = 0;
  r.payload_length = payload_length;
  return r;
}

// Header then payload bytes 0..n-1, checksummed.
std::vector<uint8_t> segment(const TcpRepr& r) {
  std::vector<uint8_t> out(r.total_length());
  for (size_t i = r.header_length(); i < out.size(); ++i) out[i] = static_cast<uint8_t>(i);
  REQUIRE(r.emit(out, kSrc, kDst) == r.header_length());
  return out;
}

// A 20-byte header followed by exactly these option bytes (a multiple of 4).
std::vector<uint8_t> with_raw_options(const std::vector<uint8_t>& options) {
  REQUIRE(options.size() % 4 == 0);
  std::vector<uint8_t> s = segment(sample());
  s[12] = static_cast<uint8_t>(((20 + options.size()) / 4) << 4);
  s.insert(s.end(), options.begin(), options.end());
  return s;
}

WireError options_error(const std::vector<uint8_t>& options) {
  const auto v = TcpView::parse(with_raw_options(options));
  REQUIRE_FALSE(v.ok());
  return v.error();
}

TcpOptions options_of(const std::vector<uint8_t>& options) {
  const std::vector<uint8_t> s = with_raw_options(options);
  const auto v = TcpView::parse(s);
  REQUIRE(v.ok());
  return v->options();
}

TcpOptions syn_options() {
  TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  o.timestamps = TcpTimestamps{0x11223344, 0};
  o.window_scale = 7;
  return o;
}

size_t touch(const TcpView& v) {
  size_t s = v.src_port() + v.dst_port() + v.seq() + v.ack() + v.header_length() + v.flags() +
             v.window() + v.checksum() + v.urgent_pointer() + v.segment_length() +
             v.reserved_bits();
  for (uint8_t b : v.payload()) s += b;
  for (uint8_t b : v.options_bytes()) s += b;
  return s + v.options().sack().size();
}

TEST_SUITE("wire.tcp") {

TEST_CASE("RFC 9293 3.1: emit then parse gives the same header") {
  const TcpRepr r = sample(5);
  const std::vector<uint8_t> s = segment(r);
  const auto v = TcpView::parse(s, kSrc, kDst);
  REQUIRE(v.ok());
  CHECK(v->src_port() == 40000);
  CHECK(v->dst_port() == 80);
  CHECK(v->seq() == 0x01020304);
  CHECK(v->ack() == 0xA0B0C0D0);
  CHECK(v->header_length() == 20);
  CHECK(v->ack_flag());
  CHECK(v->psh());
  CHECK_FALSE(v->syn());
  CHECK_FALSE(v->fin());
  CHECK_FALSE(v->rst());
  CHECK_FALSE(v->urg());
  CHECK_FALSE(v->ece());
  CHECK_FALSE(v->cwr());
  CHECK(v->window() == 0xFFEE);
  CHECK(v->payload().size() == 5);
  CHECK(v->payload()[0] == 20);
  CHECK(v->segment_length() == 5);
  CHECK(TcpRepr::from(*v) == r);
}

TEST_CASE("RFC 9293 3.1: each control bit has its place") {
  const std::pair<uint8_t, bool (TcpView::*)() const> bits[] = {
      {tcpflag::kFin, &TcpView::fin}, {tcpflag::kSyn, &TcpView::syn},
      {tcpflag::kRst, &TcpView::rst}, {tcpflag::kPsh, &TcpView::psh},
      {tcpflag::kAck, &TcpView::ack_flag}, {tcpflag::kUrg, &TcpView::urg},
      {tcpflag::kEce, &TcpView::ece}, {tcpflag::kCwr, &TcpView::cwr}};
  for (const auto& [bit, getter] : bits) {
    TcpRepr r = sample();
    r.flags = bit;
    const std::vector<uint8_t> s = segment(r);
    CHECK(s[13] == bit);
    const auto v = TcpView::parse(s);
    REQUIRE(v.ok());
    CHECK(v->flags() == bit);
    for (const auto& [other, other_getter] : bits) CHECK(((*v).*other_getter)() == (other == bit));
  }
}

TEST_CASE("RFC 9293 3.3.1: SYN and FIN each count in SEG.LEN") {
  TcpRepr r = sample(10);
  r.flags = tcpflag::kSyn | tcpflag::kFin;
  const std::vector<uint8_t> s = segment(r);
  CHECK(TcpView::parse(s)->segment_length() == 12);
}

TEST_CASE("RFC 9293 3.1: options round-trip in the kernel's SYN layout") {
  TcpRepr r = sample();
  r.flags = tcpflag::kSyn;
  r.options = syn_options();
  CHECK(r.header_length() == 40);
  const std::vector<uint8_t> s = segment(r);
  const std::vector<uint8_t> want = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0x11, 0x22,
                                     0x33, 0x44, 0, 0, 0, 0, 1, 3, 3, 7};
  CHECK(std::equal(want.begin(), want.end(), s.begin() + 20, s.end()));
  const auto v = TcpView::parse(s, kSrc, kDst);
  REQUIRE(v.ok());
  CHECK(v->options() == syn_options());
  CHECK(*v->options().mss == 1460);
  CHECK(*v->options().window_scale == 7);
  CHECK(v->options().sack_permitted);
  CHECK(v->options().timestamps->value == 0x11223344);
  CHECK(TcpRepr::from(*v) == r);
}

TEST_CASE("RFC 2018 3: SACK blocks round-trip, one to four of them") {
  for (size_t n = 1; n <= 4; ++n) {
    TcpRepr r = sample(3);
    if (n < 4) r.options.timestamps = TcpTimestamps{1, 2};
    for (size_t k = 0; k < n; ++k) {
      r.options.add_sack({static_cast<uint32_t>(1000 * k), static_cast<uint32_t>(1000 * k + 500)});
    }
    const std::vector<uint8_t> s = segment(r);
    const auto v = TcpView::parse(s, kSrc, kDst);
    REQUIRE(v.ok());
    REQUIRE(v->options().sack().size() == n);
    CHECK(v->options().sack()[n - 1].right == 1000 * (n - 1) + 500);
    CHECK(v->options() == r.options);
  }
}

TEST_CASE("RFC 7413 4.1.1: Fast Open cookies and cookie requests round-trip") {
  for (bool experimental : {false, true}) {
    for (size_t len : {0u, 4u, 6u, 8u, 16u}) {
      TcpRepr r = sample();
      r.flags = tcpflag::kSyn;
      r.options.mss = 1400;
      std::vector<uint8_t> cookie(len);
      for (size_t i = 0; i < len; ++i) cookie[i] = static_cast<uint8_t>(0xC0 + i);
      r.options.set_fast_open_cookie(cookie);
      r.options.fast_open_experimental = experimental;
      const std::vector<uint8_t> s = segment(r);
      CHECK(s.size() % 4 == 0);
      const auto v = TcpView::parse(s, kSrc, kDst);
      REQUIRE(v.ok());
      const TcpOptions& o = v->options();
      CHECK(o.fast_open);
      CHECK(o.fast_open_experimental == experimental);
      CHECK(o.fast_open_cookie_request() == (len == 0));
      CHECK(std::equal(cookie.begin(), cookie.end(), o.fast_open_cookie_bytes().begin(),
                       o.fast_open_cookie_bytes().end()));
      CHECK(o == r.options);
    }
  }
}

TEST_CASE("RFC 7413 4.1.1: the experimental Fast Open option carries ExID 0xF989") {
  TcpOptions o;
  const std::vector<uint8_t> cookie = {1, 2, 3, 4};
  o.set_fast_open_cookie(cookie);
  o.fast_open_experimental = true;
  uint8_t out[12] = {};
  REQUIRE(emit_tcp_options(o, out) == 8);
  const uint8_t want[] = {254, 8, 0xF9, 0x89, 1, 2, 3, 4};
  CHECK(std::equal(std::begin(want), std::end(want), out));
  o.fast_open_experimental = false;
  REQUIRE(emit_tcp_options(o, out) == 8);
  const uint8_t want34[] = {34, 6, 1, 2, 3, 4, 1, 1};  // NOP padding
  CHECK(std::equal(std::begin(want34), std::end(want34), out));
}

TEST_CASE("RFC 7323 2.3: a window scale above 14 is kept raw and clamped to 14") {
  const TcpOptions o = options_of({tcpopt::kNop, tcpopt::kWindowScale, 3, 15});
  CHECK(*o.window_scale == 15);
  CHECK(*o.window_scale_clamped() == 14);
  CHECK(*options_of({tcpopt::kNop, tcpopt::kWindowScale, 3, 9}).window_scale_clamped() == 9);
  CHECK_FALSE(options_of({tcpopt::kNop, tcpopt::kNop, tcpopt::kNop, tcpopt::kNop})
                  .window_scale_clamped()
                  .has_value());
}

TEST_CASE("RFC 9293 3.2: EOL ends the option list, whatever follows") {
  const TcpOptions o = options_of({tcpopt::kMss, 4, 0x02, 0x18, tcpopt::kEol, 0, 99, 1});
  CHECK(*o.mss == 536);
}

TEST_CASE("RFC 9293 3.2: unknown options with sane lengths are skipped") {
  const TcpOptions o = options_of({30, 4, 0xAA, 0xBB,  // MPTCP
                                   tcpopt::kExperimental, 4, 0x12, 0x34,  // another ExID
                                   tcpopt::kExperimental, 2, tcpopt::kMss, 4, 0x05, 0xDC,
                                   tcpopt::kNop, tcpopt::kNop});
  CHECK(*o.mss == 1500);
  CHECK_FALSE(o.fast_open);
}

TEST_CASE("RFC 9293 3.2 (MUST-7): an option length of 0 or 1 is kBadOptions") {
  CHECK(options_error({30, 0, 0, 0}) == WireError::kBadOptions);
  CHECK(options_error({30, 1, 0, 0}) == WireError::kBadOptions);
  CHECK(options_error({tcpopt::kMss, 0, 0, 0}) == WireError::kBadOptions);
  CHECK(options_error({tcpopt::kNop, tcpopt::kSack, 1, 0}) == WireError::kBadOptions);
}

TEST_CASE("RFC 9293 3.2: an option running past the header is kBadOptions") {
  CHECK(options_error({30, 5, 0, 0}) == WireError::kBadOptions);
  CHECK(options_error({tcpopt::kNop, tcpopt::kNop, tcpopt::kNop, 30}) == WireError::kBadOptions);
  CHECK(options_error({tcpopt::kNop, tcpopt::kNop, tcpopt::kTimestamps, 10}) ==
        WireError::kBadOptions);
  CHECK(options_error({tcpopt::kNop, tcpopt::kNop, tcpopt::kNop, tcpopt::kMss}) ==
        WireError::kBadOptions);
}

TEST_CASE("RFC 2018 3: a SACK option with no blocks or a partial block is kBadOptions") {
  CHECK(options_error({tcpopt::kNop, tcpopt::kNop, tcpopt::kSack, 2}) == WireError::kBadOptions);
  CHECK(options_error({tcpopt::kNop, tcpopt::kSack, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0}) ==
        WireError::kBadOptions);
  CHECK(options_error({tcpopt::kNop, tcpopt::kNop, tcpopt::kSack, 6, 0, 0, 0, 0}) ==
        WireError::kBadOptions);
  const TcpOptions o = options_of({tcpopt::kNop, tcpopt::kNop, tcpopt::kSack, 10, 0, 0, 0, 1,
                                   0, 0, 0, 9});
  REQUIRE(o.sack().size() == 1);
  CHECK(o.sack()[0] == TcpSackBlock{1, 9});
}

TEST_CASE("RFC 9293 3.2: known options with the wrong length are kBadOptions") {
  CHECK(options_error({tcpopt::kMss, 3, 0, tcpopt::kNop}) == WireError::kBadOptions);
  CHECK(options_error({tcpopt::kMss, 6, 0, 0, 0, 0, 1, 1}) == WireError::kBadOptions);
  CHECK(options_error({tcpopt::kWindowScale, 4, 7, 0}) == WireError::kBadOptions);
  CHECK(options_error({tcpopt::kWindowScale, 2, 1, 1}) == WireError::kBadOptions);
  CHECK(options_error({tcpopt::kSackPermitted, 3, 0, 1}) == WireError::kBadOptions);
  CHECK(options_error({tcpopt::kTimestamps, 8, 0, 0, 0, 0, 0, 0}) == WireError::kBadOptions);
}

TEST_CASE("RFC 7413 4.1.1: a Fast Open cookie of the wrong size is kBadOptions") {
  // 2 bytes (under 4), 5 (odd), 18 (over 16).
  CHECK(options_error({tcpopt::kFastOpen, 4, 1, 2}) == WireError::kBadOptions);
  CHECK(options_error({tcpopt::kFastOpen, 7, 1, 2, 3, 4, 5, 1}) == WireError::kBadOptions);
  std::vector<uint8_t> big = {tcpopt::kFastOpen, 20};
  big.resize(20, 0xCC);
  CHECK(options_error(big) == WireError::kBadOptions);
  CHECK(options_error({tcpopt::kExperimental, 6, 0xF9, 0x89, 1, 2, 1, 1}) ==
        WireError::kBadOptions);
  // ExID alone: a cookie request.
  CHECK(options_of({tcpopt::kExperimental, 4, 0xF9, 0x89}).fast_open_cookie_request());
  CHECK(options_of({tcpopt::kFastOpen, 2, tcpopt::kNop, tcpopt::kNop}).fast_open_cookie_request());
}

TEST_CASE("RFC 9293 3.1: a segment under 20 bytes is kTooShort") {
  const std::vector<uint8_t> s = segment(sample());
  for (size_t n = 0; n < 20; ++n) {
    CHECK(TcpView::parse(std::span(s).first(n)).error() == WireError::kTooShort);
  }
}

TEST_CASE("RFC 9293 3.1: a data offset below 5 is kBadHeaderLength") {
  for (uint8_t doff = 0; doff < 5; ++doff) {
    std::vector<uint8_t> s = segment(sample(40));
    s[12] = static_cast<uint8_t>(doff << 4);
    CHECK(TcpView::parse(s).error() == WireError::kBadHeaderLength);
  }
}

TEST_CASE("RFC 9293 3.1: a data offset past the bytes given is kBadHeaderLength") {
  std::vector<uint8_t> s = segment(sample(3));
  s[12] = 6 << 4;  // 24 bytes of header, 23 given
  CHECK(TcpView::parse(s).error() == WireError::kBadHeaderLength);
  s[12] = 15 << 4;
  CHECK(TcpView::parse(s).error() == WireError::kBadHeaderLength);
}

TEST_CASE("RFC 9293 3.1: a bad checksum is kBadChecksum") {
  std::vector<uint8_t> s = segment(sample(7));  // odd payload length
  CHECK(TcpView::parse(s, kSrc, kDst).ok());
  CHECK(TcpView::parse(s, kDst, kSrc).ok());  // the sum does not care about order
  CHECK(TcpView::parse(s, kSrc, Ipv4Address(0x01020304)).error() == WireError::kBadChecksum);
  s.back() ^= 0x01;
  CHECK(TcpView::parse(s, kSrc, kDst).error() == WireError::kBadChecksum);
  CHECK(TcpView::parse(s).ok());
  CHECK_FALSE(TcpView::parse(s)->checksum_ok(kSrc, kDst));
}

TEST_CASE("RFC 9293 3.1: every truncation parses cleanly or fails cleanly") {
  TcpRepr r = sample(6);
  r.flags = tcpflag::kSyn | tcpflag::kAck;
  r.options = syn_options();
  const std::vector<uint8_t> good = segment(r);
  for (size_t n = 0; n <= good.size(); ++n) {
    std::vector<uint8_t> prefix(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    const auto v = TcpView::parse(prefix);
    if (n < 20) {
      CHECK(v.error() == WireError::kTooShort);
    } else if (n < 40) {
      CHECK(v.error() == WireError::kBadHeaderLength);
    } else {
      REQUIRE(v.ok());
      CHECK(touch(*v) != 0);
      CHECK(v->options() == syn_options());
      CHECK(TcpView::parse(prefix, kSrc, kDst).ok() == (n == good.size()));
    }
  }
}

TEST_CASE("RFC 9293 3.1: random headers and options never read out of bounds") {
  std::mt19937 rng(9293);
  const uint8_t kinds[] = {0, 1, 2, 3, 4, 5, 8, 34, 254, 30, 19};
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<uint8_t> s(20 + rng() % 50);
    for (auto& b : s) b = static_cast<uint8_t>(rng());
    // Bias toward plausible options so the parser goes deep.
    for (size_t i = 20; i + 1 < s.size(); i += 1 + rng() % 6) {
      s[i] = kinds[rng() % sizeof kinds];
      if (rng() % 2 == 0) s[i + 1] = static_cast<uint8_t>(rng() % 20);
    }
    s[12] = static_cast<uint8_t>((5 + rng() % 11) << 4);
    const auto v = TcpView::parse(s);
    if (v.ok()) touch(*v);
    const auto o = parse_tcp_options(std::span(s).subspan(20));
    if (o.ok()) {
      CHECK(o->sack_count <= 4);
      CHECK(o->fast_open_cookie_bytes().size() <= 16);
    }
  }
}

TEST_CASE("RFC 9293 3.1: emit refuses options it cannot encode") {
  std::vector<uint8_t> out(100, 0x55);
  TcpRepr r = sample();
  r.options = syn_options();
  r.options.add_sack({1, 2});
  r.options.add_sack({3, 4});
  r.options.add_sack({5, 6});  // 20 + 4 + 3 * 8 = 48 bytes of options
  CHECK(r.emit(out, kSrc, kDst) == 0);
  r.options = TcpOptions{};
  r.options.set_fast_open_cookie(std::vector<uint8_t>(3, 1));  // under 4 bytes
  CHECK(r.emit(out, kSrc, kDst) == 0);
  r.options.set_fast_open_cookie(std::vector<uint8_t>(17, 1));  // over 16
  CHECK(r.emit(out, kSrc, kDst) == 0);
  r.options = TcpOptions{};
  r.options.sack_count = 5;
  CHECK(r.emit(out, kSrc, kDst) == 0);
  CHECK(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0x55; }));
  std::vector<uint8_t> small(23, 0x55);
  CHECK(sample(4).emit(small, kSrc, kDst) == 0);
  CHECK(std::all_of(small.begin(), small.end(), [](uint8_t b) { return b == 0x55; }));
  uint8_t tiny[3];
  TcpOptions mss;
  mss.mss = 1;
  CHECK(emit_tcp_options(mss, tiny) == 0);
}

TEST_CASE("RFC 9293 3.1: random reprs round-trip with a valid checksum") {
  std::mt19937 rng(793);
  for (int iter = 0; iter < 1000; ++iter) {
    TcpRepr r = sample(static_cast<uint16_t>(rng() % 200));
    r.seq = static_cast<uint32_t>(rng());
    r.ack = static_cast<uint32_t>(rng());
    r.flags = static_cast<uint8_t>(rng());
    r.window = static_cast<uint16_t>(rng());
    r.urgent_pointer = static_cast<uint16_t>(rng());
    if (rng() % 2) r.options.mss = static_cast<uint16_t>(rng());
    if (rng() % 2) r.options.window_scale = static_cast<uint8_t>(rng() % 16);
    if (rng() % 2) r.options.sack_permitted = true;
    if (rng() % 2) r.options.timestamps = TcpTimestamps{static_cast<uint32_t>(rng()), 7};
    const size_t blocks = rng() % 3;
    for (size_t k = 0; k < blocks; ++k) r.options.add_sack({static_cast<uint32_t>(rng()), 1});
    if (!r.options.encodable()) continue;
    const std::vector<uint8_t> s = segment(r);
    const auto v = TcpView::parse(s, kSrc, kDst);
    REQUIRE(v.ok());
    CHECK(TcpRepr::from(*v) == r);
  }
}

}  // TEST_SUITE
}  // namespace
}  // namespace inlet::wire

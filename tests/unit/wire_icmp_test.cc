// ICMP messages (RFC 792, RFC 1122 3.2.2, RFC 1812 4.3): echo and error round
// trips, the checksum, the quoted datagram, truncations and in-place replies.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "wire/icmp.h"
#include "wire/ipv4.h"

namespace inlet::wire {
namespace {

std::vector<uint8_t> emit(const IcmpRepr& r) {
  std::vector<uint8_t> out(r.total_length());
  REQUIRE(r.emit(out) == r.total_length());
  return out;
}

// An offending UDP datagram 192.0.2.1:5000 -> 198.51.100.7:53 with `payload` bytes.
std::vector<uint8_t> offending_datagram(uint16_t payload) {
  Ipv4Repr ip;
  ip.src = *Ipv4Address::parse("192.0.2.1");
  ip.dst = *Ipv4Address::parse("198.51.100.7");
  ip.protocol = ipproto::kUdp;
  ip.payload_length = static_cast<uint16_t>(8 + payload);
  std::vector<uint8_t> d(ip.total_length(), 0x77);
  REQUIRE(ip.emit(d) == 20);
  store_be16(d.data() + 20, 5000);
  store_be16(d.data() + 22, 53);
  return d;
}

size_t touch(const IcmpView& v) {
  size_t s = v.type() + v.code() + v.checksum() + v.rest_of_header() + v.echo_ident() +
             v.echo_seq() + v.next_hop_mtu() + v.parameter_pointer() + v.gateway().value();
  for (uint8_t b : v.payload()) s += b;
  const auto q = v.quote();
  if (q.ok()) s += q->src_port() + q->dst_port() + q->tcp_seq() + q->header.size();
  return s;
}

TEST_SUITE("wire.icmp") {

TEST_CASE("RFC 792 Echo: emit then parse gives the same request") {
  const std::vector<uint8_t> data = {1, 2, 3, 4, 5};  // odd length
  const IcmpRepr r = IcmpRepr::echo_request(0x1234, 7, data);
  const std::vector<uint8_t> m = emit(r);
  CHECK(m[0] == icmptype::kEchoRequest);
  CHECK(internet_checksum(m) == 0);
  const auto v = IcmpView::parse(m);
  REQUIRE(v.ok());
  CHECK(v->type() == icmptype::kEchoRequest);
  CHECK(v->code() == 0);
  CHECK(v->echo_ident() == 0x1234);
  CHECK(v->echo_seq() == 7);
  CHECK_FALSE(v->is_error());
  CHECK(std::equal(data.begin(), data.end(), v->payload().begin(), v->payload().end()));
  CHECK(IcmpRepr::from(*v) == r);
  CHECK(v->quote().error() == WireError::kUnsupported);
}

TEST_CASE("RFC 792 Echo: a reply echoes the request's data, built in place") {
  const std::vector<uint8_t> data(56, 0x42);
  std::vector<uint8_t> m = emit(IcmpRepr::echo_request(9, 10, data));
  const auto req = IcmpView::parse(m);
  REQUIRE(req.ok());
  // The payload is already where the reply needs it.
  const IcmpRepr reply = IcmpRepr::echo_reply(req->echo_ident(), req->echo_seq(), req->payload());
  REQUIRE(reply.emit(m) == 64);
  const auto v = IcmpView::parse(m);
  REQUIRE(v.ok());
  CHECK(v->type() == icmptype::kEchoReply);
  CHECK(v->echo_seq() == 10);
  CHECK(std::all_of(v->payload().begin(), v->payload().end(), [](uint8_t b) { return b == 0x42; }));
}

TEST_CASE("RFC 1624 3: turning a request into a reply in place equals a fresh reply") {
  std::mt19937 rng(792);
  for (int iter = 0; iter < 500; ++iter) {
    std::vector<uint8_t> data(rng() % 100);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    const uint16_t id = static_cast<uint16_t>(rng());
    const uint16_t seq = static_cast<uint16_t>(rng());
    std::vector<uint8_t> m = emit(IcmpRepr::echo_request(id, seq, data));
    REQUIRE(icmp_echo_request_to_reply(m));
    CHECK(m == emit(IcmpRepr::echo_reply(id, seq, data)));
    CHECK_FALSE(icmp_echo_request_to_reply(m));  // now a reply
  }
  std::vector<uint8_t> tiny(7, icmptype::kEchoRequest);
  CHECK_FALSE(icmp_echo_request_to_reply(tiny));
}

TEST_CASE("RFC 792 Destination Unreachable: the error quotes the datagram") {
  const std::vector<uint8_t> d = offending_datagram(12);
  const std::vector<uint8_t> m =
      emit(IcmpRepr::dest_unreachable(icmpcode::kPortUnreachable, icmp_error_quote(d)));
  const auto v = IcmpView::parse(m);
  REQUIRE(v.ok());
  CHECK(v->type() == icmptype::kDestUnreachable);
  CHECK(v->code() == icmpcode::kPortUnreachable);
  CHECK(v->rest_of_header() == 0);
  CHECK(v->is_error());
  const auto q = v->quote();
  REQUIRE(q.ok());
  CHECK(q->src == *Ipv4Address::parse("192.0.2.1"));
  CHECK(q->dst == *Ipv4Address::parse("198.51.100.7"));
  CHECK(q->protocol == ipproto::kUdp);
  CHECK(q->src_port() == 5000);
  CHECK(q->dst_port() == 53);
  CHECK(q->header.size() == 20);
  CHECK(q->transport.size() == 20);
}

TEST_CASE("RFC 1191 4: Fragmentation Needed carries the next-hop MTU") {
  const std::vector<uint8_t> d = offending_datagram(1472);
  const auto m = emit(IcmpRepr::dest_unreachable(icmpcode::kFragmentationNeeded,
                                                 icmp_error_quote(d), 1400));
  const auto v = IcmpView::parse(m);
  REQUIRE(v.ok());
  CHECK(v->next_hop_mtu() == 1400);
}

TEST_CASE("RFC 792 Time Exceeded and Parameter Problem round-trip") {
  const std::vector<uint8_t> d = offending_datagram(0);
  const IcmpRepr te = IcmpRepr::time_exceeded(icmpcode::kTtlExceeded, d);
  const std::vector<uint8_t> te_msg = emit(te);
  const auto v = IcmpView::parse(te_msg);
  REQUIRE(v.ok());
  CHECK(v->type() == icmptype::kTimeExceeded);
  CHECK(IcmpRepr::from(*v) == te);
  const std::vector<uint8_t> pp_msg = emit(IcmpRepr::parameter_problem(22, d));
  const auto pp = IcmpView::parse(pp_msg);
  REQUIRE(pp.ok());
  CHECK(pp->type() == icmptype::kParameterProblem);
  CHECK(pp->parameter_pointer() == 22);
  CHECK(pp->quote().ok());
}

TEST_CASE("RFC 792 Redirect: the gateway address is the second word") {
  const std::vector<uint8_t> d = offending_datagram(0);
  IcmpRepr r{icmptype::kRedirect, icmpcode::kRedirectHost, 0xC0000263u, d};
  const auto m = emit(r);
  CHECK(IcmpView::parse(m)->gateway() == *Ipv4Address::parse("192.0.2.99"));
}

TEST_CASE("RFC 1812 4.3.2.3: an error quotes as much as fits in 576 bytes") {
  const std::vector<uint8_t> big = offending_datagram(1000);
  CHECK(icmp_error_quote(big).size() == 576 - 20 - 8);
  CHECK(icmp_error_quote(big, 24).size() == 576 - 24 - 8);
  const std::vector<uint8_t> small = offending_datagram(4);
  CHECK(icmp_error_quote(small).size() == small.size());
}

TEST_CASE("RFC 1122 3.2.2: message classes") {
  for (uint8_t t : {icmptype::kDestUnreachable, icmptype::kSourceQuench, icmptype::kRedirect,
                    icmptype::kTimeExceeded, icmptype::kParameterProblem}) {
    CHECK(icmp_is_error(t));
  }
  for (uint8_t t : {icmptype::kEchoReply, icmptype::kEchoRequest, icmptype::kTimestamp,
                    icmptype::kAddressMaskReply, uint8_t{200}}) {
    CHECK_FALSE(icmp_is_error(t));
  }
}

TEST_CASE("RFC 792: a message under 8 bytes is kTooShort") {
  const std::vector<uint8_t> m(7, 0);
  CHECK(IcmpView::parse(m).error() == WireError::kTooShort);
  CHECK(IcmpView::parse({}).error() == WireError::kTooShort);
}

TEST_CASE("RFC 1122 3.2.2: a bad checksum is kBadChecksum unless the device checked it") {
  std::vector<uint8_t> m = emit(IcmpRepr::echo_request(1, 2, std::vector<uint8_t>(9, 3)));
  m.back() ^= 0x10;  // the checksum covers the data, odd last byte included
  CHECK(IcmpView::parse(m).error() == WireError::kBadChecksum);
  CHECK(IcmpView::parse(m, ChecksumMode::kSkip).ok());
}

TEST_CASE("RFC 792: a short or malformed quote is refused") {
  const std::vector<uint8_t> d = offending_datagram(0);  // 28 bytes: header + 8
  auto quote_error = [](std::span<const uint8_t> q) {
    const std::vector<uint8_t> m =
        emit(IcmpRepr::dest_unreachable(icmpcode::kHostUnreachable, q));
    const auto v = IcmpView::parse(m);
    REQUIRE(v.ok());
    const auto qv = v->quote();
    REQUIRE_FALSE(qv.ok());
    return qv.error();
  };
  CHECK(quote_error(std::span(d).first(19)) == WireError::kTooShort);
  CHECK(quote_error(std::span(d).first(27)) == WireError::kTruncated);
  std::vector<uint8_t> bad = d;
  bad[0] = 0x65;
  CHECK(quote_error(bad) == WireError::kBadVersion);
  bad[0] = 0x44;
  CHECK(quote_error(bad) == WireError::kBadHeaderLength);
  bad[0] = 0x46;  // 24-byte header: 28 bytes hold only 4 of the transport bytes
  CHECK(quote_error(bad) == WireError::kTruncated);
}

TEST_CASE("RFC 792: every truncation parses cleanly or fails cleanly") {
  const std::vector<uint8_t> d = offending_datagram(4);
  const std::vector<uint8_t> good =
      emit(IcmpRepr::dest_unreachable(icmpcode::kPortUnreachable, d));
  for (size_t n = 0; n <= good.size(); ++n) {
    std::vector<uint8_t> prefix(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    for (ChecksumMode mode : {ChecksumMode::kVerify, ChecksumMode::kSkip}) {
      const auto v = IcmpView::parse(prefix, mode);
      if (n < 8) {
        CHECK(v.error() == WireError::kTooShort);
      } else if (v.ok()) {
        CHECK(touch(*v) != 0);
      } else {
        CHECK(v.error() == WireError::kBadChecksum);
      }
    }
  }
}

TEST_CASE("ICMP emit never writes past a short buffer") {
  const std::vector<uint8_t> data(10, 1);
  std::vector<uint8_t> out(17, 0x55);
  CHECK(IcmpRepr::echo_request(1, 1, data).emit(out) == 0);
  CHECK(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0x55; }));
}

}  // TEST_SUITE
}  // namespace
}  // namespace inlet::wire

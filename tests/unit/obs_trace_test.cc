// The per-packet trace hook (core/trace.h) through a whole stack: the points
// each layer calls, in order, for a ping, for frames dropped at the link and
// IP layers (with their reasons), and nothing at all when no hook is set.
#include "core/features.h"
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "stack_fixture.h"

namespace inlet::stack_test {
namespace {

TEST_SUITE_BEGIN("obs_trace");

struct Seen {
  std::string point;
  std::string note;
  uint32_t length;
  bool operator==(const Seen&) const = default;
};

struct Recorder {
  std::vector<Seen> seen;
  static void hook(void* user, TracePoint point, const Packet& p, std::string_view note) {
    static_cast<Recorder*>(user)->seen.push_back(
        {std::string(trace_point_name(point)), std::string(note), p.length()});
  }
  std::vector<std::string> points() const {
    std::vector<std::string> out;
    for (const Seen& s : seen) out.push_back(s.point);
    return out;
  }
};

const Bytes kPing = bytes_of("trace me");

TEST_CASE("a ping passes link-in, ipv4-in, icmp, ipv4-out, link-out in that order") {
  StackHarness h;
  h.learn_peer();
  Recorder r;
  h.stack().set_trace({&Recorder::hook, &r});
  const auto sent = h.exchange(h.peer().icmp_echo(h.our_mac(), h.our_ip(), 7, 1, kPing));
  REQUIRE(sent.size() == 1);
  CHECK(r.points() ==
        std::vector<std::string>{"link-in", "ipv4-in", "icmp", "ipv4-out", "link-out"});
  // The frame at link-in and link-out is the whole Ethernet frame; the IPv4
  // points see the datagram (20 + 8 + payload).
  const uint32_t ip_length = static_cast<uint32_t>(20 + 8 + kPing.size());
  CHECK(r.seen[0].note == "sim0");
  CHECK(r.seen[1].length == ip_length);
  CHECK(r.seen[3].length == ip_length);
  CHECK(r.seen[4].length == sent[0].size());
  CHECK(r.seen[4].note == "sim0");
  h.finish();
}

TEST_CASE("an ARP request passes link-in, arp, link-out") {
  StackHarness h;
  Recorder r;
  h.stack().set_trace({&Recorder::hook, &r});
  REQUIRE(h.exchange(h.peer().arp_request(h.our_ip())).size() == 1);
  CHECK(r.points() == std::vector<std::string>{"link-in", "arp", "link-out"});
  CHECK(r.seen[1].note == "request");
  h.finish();
}

TEST_CASE("a UDP datagram passes ipv4-in, transport-in and udp") {
  StackHarness h;
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  Recorder r;
  h.stack().set_trace({&Recorder::hook, &r});
  CHECK(h.exchange(h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kPing)).empty());
  CHECK(r.points() == std::vector<std::string>{"link-in", "ipv4-in", "transport-in", "udp"});
  CHECK((*sock)->queued_datagrams() == 1);
  h.finish();
}

// Drop notes carry the reason names only with INLET_WITH_TEXT (the minimal
// preset leaves the name tables out).
#if INLET_WITH_TEXT
TEST_CASE("dropped frames end at the drop point, with their reason") {
  StackHarness h;
  Recorder r;
  h.stack().set_trace({&Recorder::hook, &r});

  SUBCASE("an IPv4 header with a bad checksum") {
    Bytes f = h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kPing);
    f[kEth + 10] ^= 0xFF;
    CHECK(h.exchange(f).empty());
    CHECK(r.points() == std::vector<std::string>{"link-in", "ipv4-in", "drop"});
    CHECK(r.seen.back().note == "IP_BAD_CHECKSUM");
    CHECK(h.counters().drops(DropReason::kIpBadChecksum) == 1);
  }
  SUBCASE("a runt frame") {
    CHECK(h.exchange(Bytes(10, 0xAB)).empty());
    CHECK(r.points() == std::vector<std::string>{"link-in", "drop"});
    CHECK(r.seen.back().note == "FRAME_TOO_SHORT");
  }
  SUBCASE("a frame for another host") {
    CHECK(h.exchange(h.peer().udp(mac("02:00:00:00:00:99"), h.our_ip(), 5000, 7000, kPing)).empty());
    CHECK(r.points() == std::vector<std::string>{"link-in", "drop"});
    CHECK(r.seen.back().note == "OTHER_HOST");
  }
  SUBCASE("a datagram to a closed port: a drop, and the ICMP error goes out") {
    h.learn_peer();
    r.seen.clear();
    const auto sent = h.exchange(h.peer().udp(h.our_mac(), h.our_ip(), 5000, 9, kPing));
    CHECK(sent.size() == 1);
    const std::vector<std::string> points = r.points();
    REQUIRE(points.size() >= 5);
    CHECK(std::vector<std::string>(points.begin(), points.begin() + 4) ==
          std::vector<std::string>{"link-in", "ipv4-in", "transport-in", "udp"});
    CHECK(std::count(points.begin(), points.end(), "drop") == 1);
    CHECK(std::count(points.begin(), points.end(), "link-out") == 1);
    for (const Seen& s : r.seen) {
      if (s.point == "drop") CHECK(s.note == "UDP_NO_PORT");
    }
  }
  h.finish();
}
#endif  // INLET_WITH_TEXT

TEST_CASE("with no hook set nothing is called, and setting an empty one turns it off") {
  StackHarness h;
  Recorder r;
  h.stack().set_trace({&Recorder::hook, &r});
  h.learn_peer();
  CHECK_FALSE(r.seen.empty());
  r.seen.clear();
  h.stack().set_trace({});
  CHECK(h.exchange(h.peer().icmp_echo(h.our_mac(), h.our_ip(), 7, 2, kPing)).size() == 1);
  CHECK(r.seen.empty());
  CHECK_FALSE(Trace{}.enabled());
  h.finish();
}

}  // namespace
}  // namespace inlet::stack_test

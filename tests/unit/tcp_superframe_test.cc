// Receive chains: TCP super-frames (TSO from a TAP with offloads, or a NIC
// scattering a coalesced frame over descriptors) taken as one unit — one
// header pass, each buffer queued as its own segment — and refused wherever
// inlet cannot take them (UDP, forwarding, no connection).
#include <doctest/doctest.h>

#include "core/features.h"
#include "tcp_fixture.h"
#include "wire/ipv4.h"

namespace inlet::tcp_test {
namespace {

using Offload = sim::SimPort::RxOffload;

HarnessOptions big_window(std::vector<std::string> extra = {}) {
  HarnessOptions o;
  o.rx_ring_size = 256;  // a 64 KiB frame takes 35 descriptors of 1,920 bytes
  o.sysctl_lines = {"net.ipv4.tcp_rmem=4096 1048576 4194304"};
  for (std::string& s : extra) o.sysctl_lines.push_back(std::move(s));
  return o;
}

// Delivers `frame` scattered over descriptors and returns what the stack sent.
std::vector<Seg> send_super(Connected& c, const Bytes& frame, Offload offload) {
  REQUIRE(c.h.nic().wire_receive_scattered(frame, offload));
  return c.peer.observe(c.h.decode(c.h.run()));
}

uint16_t segs_of(size_t len, uint16_t mss = 1448) {
  return static_cast<uint16_t>((len + mss - 1) / mss);
}

TEST_CASE("TSO super-frame (CHECKSUM_PARTIAL): 40,000 bytes in one chain are queued as one unit, "
          "ACKed once and read back intact") {
  Connected c(big_window());
  Peer& p = c.peer;
  const auto before = c.h.snapshot();
  Bytes f = p.data_frame(p.off(0), 40000);
  // A local sender's checksum is not filled in (CHECKSUM_PARTIAL): spoil it
  // to prove it is trusted, as Linux's skb_csum_unnecessary does.
  f[14 + 20 + 16] ^= 0x5A;
  auto out = send_super(c, f, {ChecksumState::kPartial, 1448, segs_of(40000)});
  REQUIRE_MESSAGE(out.size() == 1, describe(out));
  CHECK(out[0].flags() == kAck);
  CHECK(out[0].h.ack == p.off(40000));
  // One frame on the link and at IP; TcpInSegs counts the 28 segments it
  // stands for (Linux: gso_segs).
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpInSegs, segs_of(40000) - 1},
                                           {Counter::TcpExtTCPHPHits, 1},
                                           {Counter::TcpExtTCPQuickAck, 1}})) == "");
  CHECK(c.sock()->readable_bytes() == 40000);
  CHECK(p.read_all(p.off(0)) == 40000);
}

TEST_CASE("RFC 1071 2(A): a super-frame without checksum offload is verified across its buffers, "
          "odd-sized ones included; one flipped byte drops it whole") {
  // 2,047-byte slabs leave 1,919 bytes a buffer: every other block starts at
  // an odd offset of the segment.
  Connected c(big_window({"inlet.pool.buffer_size=2047"}));
  Peer& p = c.peer;
  auto out = send_super(c, p.data_frame(p.off(0), 30000), {ChecksumState::kNone, 1448, segs_of(30000)});
  REQUIRE_MESSAGE(out.size() == 1, describe(out));
  CHECK(out[0].h.ack == p.off(30000));
  CHECK(p.read_all(p.off(0)) == 30000);

  const auto before = c.h.snapshot();
  Bytes bad = p.data_frame(p.off(30000), 30000);
  bad[bad.size() / 2] ^= 0x01;  // deep in the chain, not in the first buffer
  out = send_super(c, bad, {ChecksumState::kNone, 1448, segs_of(30000)});
  CHECK_MESSAGE(out.empty(), describe(out));
  CHECK(c.h.counter_diff(before, {{Counter::rx_packets, 1},
                                  {Counter::IpInReceives, 1},
                                  {Counter::IpInDelivers, 1},
                                  {Counter::TcpInSegs, segs_of(30000)},
                                  {Counter::TcpInCsumErrors, 1},
                                  {Counter::TcpInErrs, 1}}) == "");
  CHECK(c.sock()->readable_bytes() == 0);
}

TEST_CASE("RFC 9293 3.10.7.4: a super-frame beyond a hole is held piece by piece and delivered "
          "when the hole fills") {
  Connected c(big_window());
  Peer& p = c.peer;
  auto out = send_super(c, p.data_frame(p.off(1000), 20000), {ChecksumState::kPartial, 1448, 14});
  REQUIRE_MESSAGE(out.size() == 1, describe(out));
  CHECK(out[0].h.ack == p.off(0));  // a duplicate ACK with SACK for the whole chain
  REQUIRE(out[0].sack().size() == 1);
  CHECK(out[0].sack()[0].left == p.off(1000));
  CHECK(out[0].sack()[0].right == p.off(21000));
  CHECK(c.sock()->readable_bytes() == 0);
  out = p.data(p.off(0), 1000);
  REQUIRE_MESSAGE(out.size() == 1, describe(out));
  CHECK(out[0].h.ack == p.off(21000));
  CHECK(p.read_all(p.off(0)) == 21000);
}

TEST_CASE("RFC 9293 3.10.7.4: a super-frame repeating queued data delivers only the new bytes") {
  Connected c(big_window());
  Peer& p = c.peer;
  for (uint32_t i = 0; i < 4; ++i) p.data(p.off(i * 1250), 1250);
  auto out = send_super(c, p.data_frame(p.off(0), 20000), {ChecksumState::kPartial, 1448, 14});
  REQUIRE_MESSAGE(!out.empty(), describe(out));
  CHECK(out.back().h.ack == p.off(20000));
  CHECK(c.sock()->readable_bytes() == 20000);
  CHECK(p.read_all(p.off(0)) == 20000);
}

TEST_CASE("RFC 9293 3.10.7.4: a FIN on a super-frame belongs to its last byte") {
  Connected c(big_window());
  Peer& p = c.peer;
  auto out = send_super(c, p.data_frame(p.off(0), 10000, kFinAck | fl::kPsh),
                        {ChecksumState::kPartial, 1448, 7});
  REQUIRE_MESSAGE(!out.empty(), describe(out));
  CHECK(out.back().h.ack == p.off(10000) + 1);
  CHECK(c.sock()->state() == TcpState::kCloseWait);
  CHECK(p.read_all(p.off(0)) == 10000);
}

TEST_CASE("A super-frame for no connection, or not TCP, or to be forwarded is a counted drop") {
  Connected c(big_window({"net.ipv4.ip_forward=1"}));
  SUBCASE("no connection: taken as its first buffer alone, which a listener answers with a reset") {
    PeerOptions other;
    other.sport = 40001;
    Peer stranger(c.h, other);
    auto out = send_super(c, stranger.data_frame(5000, 20000, kAck), {ChecksumState::kPartial, 1448, 14});
    REQUIRE_MESSAGE(out.size() == 1, describe(out));
    CHECK(out[0].flags() == kRst);  // RFC 9293 3.10.7.2: an ACK to LISTEN
    CHECK(c.h.stack().pool().in_use() > 0);
  }
  SUBCASE("UDP: IP_GSO_NOT_TCP") {
    const auto before = c.h.snapshot();
    Bytes payload(20000, 0x42);
    Bytes f = c.h.peer().udp(c.h.our_mac(), c.h.our_ip(), 5000, 9, payload);
    auto out = send_super(c, f, {ChecksumState::kPartial, 1472, 14});
    CHECK_MESSAGE(out.empty(), describe(out));
    CHECK(c.h.counter_diff(before, {{Counter::rx_packets, 1},
                                    {Counter::IpInReceives, 1},
                                    {Counter::IpInDiscards, 1}}) == "");
  }
#if INLET_WITH_FORWARDING
  SUBCASE("forwarding: IP_GSO_NOT_TCP (inlet does not segment on output)") {
    const auto before = c.h.snapshot();
    wire::TcpRepr h = c.peer.header(kAck, 1);
    h.dst_port = 80;
    Bytes f = c.h.peer().tcp(c.h.our_mac(), *wire::Ipv4Address::parse("192.0.2.77"), h, Bytes(20000, 1));
    auto out = send_super(c, f, {ChecksumState::kPartial, 1448, 14});
    CHECK_MESSAGE(out.empty(), describe(out));
    CHECK(c.h.counter_diff(before, {{Counter::rx_packets, 1},
                                    {Counter::IpInReceives, 1},
                                    {Counter::IpInDiscards, 1}}) == "");
  }
#endif
  CHECK(c.sock()->readable_bytes() == 0);
}

TEST_CASE("RFC 791 3.1: a super-frame's total length is checked against the whole chain") {
  Connected c(big_window());
  Peer& p = c.peer;
  SUBCASE("longer than the chain: truncated") {
    Bytes f = p.data_frame(p.off(0), 20000);
    const uint16_t total = static_cast<uint16_t>(f.size() - 14);
    REQUIRE(wire::ipv4_set_total_length(std::span<uint8_t>(f).subspan(14, 20), total + 100));
    const auto before = c.h.snapshot();
    auto out = send_super(c, f, {ChecksumState::kPartial, 1448, 14});
    CHECK_MESSAGE(out.empty(), describe(out));
    CHECK(c.h.counter_diff(before, {{Counter::rx_packets, 1},
                                    {Counter::IpInReceives, 1},
                                    {Counter::IpExtInTruncatedPkts, 1}}) == "");
  }
  SUBCASE("shorter than the chain: the tail is cut (as Ethernet padding)") {
    Bytes f = p.data_frame(p.off(0), 20000);
    // 300 stray bytes after the datagram, spread into the last buffer.
    f.insert(f.end(), 300, 0xEE);
    auto out = send_super(c, f, {ChecksumState::kPartial, 1448, 14});
    REQUIRE_MESSAGE(!out.empty(), describe(out));
    CHECK(out.back().h.ack == p.off(20000));
    CHECK(p.read_all(p.off(0)) == 20000);
  }
}

TEST_CASE("A scattered frame the pool cannot refill is dropped whole and the ring keeps its buffers") {
  Connected c(big_window({"inlet.pool.buffers=300"}));
  Peer& p = c.peer;
  // Hold buffers so fewer than a chain's refill remain.
  std::vector<PacketRef> held;
  while (c.h.stack().pool().available() > 10) held.push_back(c.h.stack().pool().alloc());
  const auto before = c.h.snapshot();
  auto out = send_super(c, p.data_frame(p.off(0), 40000), {ChecksumState::kPartial, 1448, 28});
  CHECK_MESSAGE(out.empty(), describe(out));
  CHECK(c.h.counter_diff(before, {{Counter::rx_nobuf, 1}}) == "");
  held.clear();
  out = send_super(c, p.data_frame(p.off(0), 40000), {ChecksumState::kPartial, 1448, 28});
  REQUIRE_MESSAGE(!out.empty(), describe(out));
  CHECK(p.read_all(p.off(0)) == 40000);
}

}  // namespace
}  // namespace inlet::tcp_test

// Software GRO (inlet.gro, lib/ip/gro.h): consecutive in-order data segments
// of one flow within one receive burst become one super-frame, as the
// kernel's tcp4_gro_receive merges them — and everything it must not merge
// (other flags, a push, changed options, a bad checksum, a gap) is not.
#include <doctest/doctest.h>

#include "core/features.h"
#include "tcp_fixture.h"

#if INLET_WITH_GRO
namespace inlet::tcp_test {
namespace {

HarnessOptions gro_on(bool on = true) {
  HarnessOptions o;
  o.sysctls = {{Tunable::kGro, on ? 1 : 0}};
  o.sysctl_lines = {"net.ipv4.tcp_rmem=4096 1048576 4194304"};
  return o;
}

PeerOptions no_timestamps() {
  PeerOptions o;
  o.ts = false;
  return o;
}

std::vector<Bytes> data_frames(Peer& p, uint32_t from, int count, uint32_t len, uint8_t flags = kAck) {
  std::vector<Bytes> frames;
  for (int i = 0; i < count; ++i) frames.push_back(p.data_frame(p.off(from + i * len), len, flags));
  return frames;
}

TEST_CASE("GRO (Linux tcp4_gro_receive): eight in-order segments of one burst are delivered as one "
          "super-frame: one ACK; IpInReceives, IpInDelivers and TcpInSegs count 8") {
  Connected c(gro_on(), no_timestamps());
  Peer& p = c.peer;
  const auto before = c.h.snapshot();
  auto out = p.send(data_frames(p, 0, 8, 1000));
  REQUIRE_MESSAGE(out.size() == 1, describe(out));
  CHECK(out[0].h.ack == p.off(8000));
  CHECK(c.h.counter_diff(before, {{Counter::rx_packets, 8},
                                  {Counter::IpInReceives, 8},
                                  {Counter::IpInDelivers, 8},
                                  {Counter::TcpInSegs, 8},
                                  {Counter::TcpExtTCPHPHits, 1},
                                  {Counter::TcpExtTCPQuickAck, 1},
                                  {Counter::tx_packets, 1},
                                  {Counter::IpOutRequests, 1},
                                  {Counter::TcpOutSegs, 1}}) == "");
  CHECK(c.h.stack().ip().gro_stats().merged == 7);
  CHECK(p.read_all(p.off(0)) == 8000);
}

TEST_CASE("GRO is off by default (inlet.gro=0): each segment is delivered alone") {
  Connected c(gro_on(false), no_timestamps());
  Peer& p = c.peer;
  const uint64_t hits = c.h.stack().counters().get(Counter::TcpExtTCPHPHits);
  p.send(data_frames(p, 0, 8, 1000));
  CHECK(c.h.stack().counters().get(Counter::TcpExtTCPHPHits) - hits == 8);  // TCP saw 8 segments
  CHECK(c.h.stack().ip().gro_stats().merged == 0);
  CHECK(p.read_all(p.off(0)) == 8000);
}

TEST_CASE("GRO: a push ends the super-frame; a FIN is never merged and comes after the data") {
  Connected c(gro_on(), no_timestamps());
  Peer& p = c.peer;
  std::vector<Bytes> frames = data_frames(p, 0, 3, 1000);
  frames.push_back(p.data_frame(p.off(3000), 1000, kPshAck));  // ends the first super-frame
  for (Bytes& f : data_frames(p, 4000, 2, 1000)) frames.push_back(std::move(f));
  frames.push_back(p.frame(kFinAck, p.off(6000)));
  auto out = p.send(frames);
  REQUIRE_MESSAGE(!out.empty(), describe(out));
  CHECK(out.back().h.ack == p.off(6000) + 1);
  CHECK(c.h.stack().ip().gro_stats().merged == 3 + 1);  // 3 into the first, 1 into the second
  CHECK(c.sock()->state() == TcpState::kCloseWait);
  CHECK(p.read_all(p.off(0)) == 6000);
}

TEST_CASE("GRO: changed options (a newer TSval) start a new super-frame, as tcp_gro_receive") {
  Connected c(gro_on());  // timestamps on
  Peer& p = c.peer;
  std::vector<Bytes> frames;
  const uint32_t ts = p.tsval();
  for (int i = 0; i < 6; ++i) {
    p.set_tsval(ts + static_cast<uint32_t>(i / 3));  // three segments per TSval
    frames.push_back(p.data_frame(p.off(static_cast<uint32_t>(i) * 1000), 1000, kAck));
  }
  auto out = p.send(frames);
  REQUIRE_MESSAGE(!out.empty(), describe(out));
  CHECK(out.back().h.ack == p.off(6000));
  CHECK(c.h.stack().ip().gro_stats().merged == 4);  // 2 + 2
  CHECK(p.read_all(p.off(0)) == 6000);
}

TEST_CASE("GRO: a segment with a bad checksum is not merged; TCP counts it and the data after it "
          "waits in the out-of-order queue") {
  Connected c(gro_on(), no_timestamps());
  Peer& p = c.peer;
  std::vector<Bytes> frames = data_frames(p, 0, 6, 1000);
  frames[3][frames[3].size() - 1] ^= 0x40;  // payload of the fourth
  const uint64_t csum_errors = c.h.stack().counters().get(Counter::TcpInCsumErrors);
  auto out = p.send(frames);
  REQUIRE_MESSAGE(!out.empty(), describe(out));
  CHECK(out.back().h.ack == p.off(3000));  // a duplicate ACK with SACK for 4000-6000
  CHECK(c.h.stack().counters().get(Counter::TcpInCsumErrors) - csum_errors == 1);
  CHECK(c.sock()->readable_bytes() == 3000);
  out = p.send(p.data_frame(p.off(3000), 1000));
  REQUIRE_MESSAGE(!out.empty(), describe(out));
  CHECK(out.back().h.ack == p.off(6000));
  CHECK(p.read_all(p.off(0)) == 6000);
}

TEST_CASE("GRO: a gap (a lost segment) ends the super-frame; the rest goes out of order") {
  Connected c(gro_on(), no_timestamps());
  Peer& p = c.peer;
  std::vector<Bytes> frames = data_frames(p, 0, 6, 1000);
  frames.erase(frames.begin() + 2);  // 2000-3000 lost
  auto out = p.send(frames);
  REQUIRE_MESSAGE(!out.empty(), describe(out));
  CHECK(out.back().h.ack == p.off(2000));
  REQUIRE(!out.back().sack().empty());
  CHECK(out.back().sack()[0].left == p.off(3000));
  CHECK(out.back().sack()[0].right == p.off(6000));
  out = p.send(p.data_frame(p.off(2000), 1000));
  CHECK(out.back().h.ack == p.off(6000));
  CHECK(p.read_all(p.off(0)) == 6000);
}

TEST_CASE("GRO: a TSO super-frame after a held segment of its flow comes after it (no reordering)") {
  Connected c(gro_on(), no_timestamps());
  Peer& p = c.peer;
  REQUIRE(c.h.nic().wire_receive(p.data_frame(p.off(0), 1000, kAck)));  // held by GRO
  REQUIRE(c.h.nic().wire_receive_scattered(p.data_frame(p.off(1000), 20000, kAck),
                                           {ChecksumState::kPartial, 1448, 14}));
  const uint64_t ofo = c.h.stack().counters().get(Counter::TcpExtTCPOFOQueue);
  auto out = p.observe(c.h.decode(c.h.run()));
  REQUIRE_MESSAGE(!out.empty(), describe(out));
  CHECK(out.back().h.ack == p.off(21000));
  CHECK(c.h.stack().counters().get(Counter::TcpExtTCPOFOQueue) == ofo);  // nothing out of order
  CHECK(p.read_all(p.off(0)) == 21000);
}

TEST_CASE("RFC 9293 3.10.7.3 with GRO: data merged ahead of a lost final ACK still completes the "
          "handshake") {
  HarnessOptions o = gro_on();
  TcpHarness h(o);
  TcpListener* l = h.listen(80);
  Peer p(h, no_timestamps());
  auto out = p.send(p.syn_frame());
  REQUIRE_MESSAGE(out.size() == 1, describe(out));
  REQUIRE(out[0].flags() == kSynAck);
  // The pure ACK is lost; two data segments (each acknowledging the SYN-ACK)
  // arrive in one burst and are merged.
  out = p.send(data_frames(p, 0, 2, 1000));
  REQUIRE(l->acceptable());
  TcpSocket* s = l->accept();
  REQUIRE(s != nullptr);
  CHECK(s->state() == TcpState::kEstablished);
  CHECK(s->readable_bytes() >= 1000);  // at least the first segment; the sender resends the rest
  REQUIRE_MESSAGE(!out.empty(), describe(out));
  // Whatever was not taken comes again and the stream is whole.
  const uint32_t acked = out.back().h.ack;
  if (acked != p.off(2000)) out = p.send(p.data_frame(acked, p.off(2000) - acked, kAck));
  Bytes buf(4096);
  const size_t n = s->read(buf);
  CHECK(n == 2000);
  CHECK(is_stream(p.off(0), std::span<const uint8_t>(buf).first(n)));
}

TEST_CASE("GRO: two flows in one burst, interleaved, are merged each on its own") {
  HarnessOptions o = gro_on();
  TcpHarness h(o);
  TcpListener* l = h.listen(80);
  PeerOptions a = no_timestamps(), b = no_timestamps();
  b.sport = 40001;
  b.isn = 900000;
  Peer pa(h, a), pb(h, b);
  pa.handshake(l);
  pb.handshake(l);
  std::vector<Bytes> frames;
  for (uint32_t i = 0; i < 5; ++i) {
    frames.push_back(pa.data_frame(pa.off(i * 1000), 1000, kAck));
    frames.push_back(pb.data_frame(pb.off(i * 700), 700, kAck));
  }
  auto out = pa.send(frames);
  pb.observe(out);
  CHECK(h.stack().ip().gro_stats().merged == 8);
  CHECK(pa.read_all(pa.off(0)) == 5000);
  CHECK(pb.read_all(pb.off(0)) == 3500);
}

}  // namespace
}  // namespace inlet::tcp_test
#endif  // INLET_WITH_GRO

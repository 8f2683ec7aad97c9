// The receive state machine of an established connection through a whole
// stack: segment acceptability (RFC 9293 3.10.7.4), header prediction, PAWS
// and timestamp echo (RFC 7323), RFC 5961 challenge ACKs, out-of-order data
// with SACK (RFC 2018) and D-SACK (RFC 2883), pruning, reads, the window
// (scaling, SWS avoidance, never shrinking, zero window and probes, window
// updates), the ACK policy (quick-ack, delayed ACK, one ACK per poll) and
// receive-buffer autotuning.
#include <doctest/doctest.h>

#include <random>

#include "tcp_fixture.h"

namespace inlet::tcp_test {
namespace {

TEST_SUITE_BEGIN("tcp.receive");

HarnessOptions small_rmem(const char* rmem) {
  HarnessOptions o;
  o.sysctl_lines = {std::string("net.ipv4.tcp_rmem=") + rmem};
  return o;
}

PeerOptions near_wrap(uint32_t isn = 0xFFFFFC00u) {
  PeerOptions o;
  o.isn = isn;
  return o;
}

std::vector<wire::TcpSackBlock> blocks(std::initializer_list<std::pair<uint32_t, uint32_t>> l) {
  std::vector<wire::TcpSackBlock> v;
  for (auto [a, b] : l) v.push_back({a, b});
  return v;
}

// --- in-order data, header prediction, the ACK policy ----------------------------

TEST_CASE("RFC 9293 3.10.7.4: in-order data across the 2^32 wrap is queued, acknowledged and read back intact") {
  Connected c({}, near_wrap());
  Peer& p = c.peer;
  RightEdge edge(7);
  auto before = c.h.snapshot();
  // Three 1000-byte segments, one per poll; the stream crosses 2^32 in the second.
  for (uint32_t i = 0; i < 3; ++i) {
    auto out = p.data(p.off(i * 1000), 1000);
    edge.see(out);
    REQUIRE_MESSAGE(out.size() == 1, describe(out));
    CHECK(out[0].flags() == kAck);
    CHECK(out[0].h.seq == p.iss() + 1);
    CHECK(out[0].h.ack == p.off((i + 1) * 1000));
    CHECK(out[0].payload.empty());
    REQUIRE(out[0].ts().has_value());
    CHECK(out[0].h.options.sack_count == 0);
  }
  // Header prediction takes all three; quick-ack answers each at once.
  CHECK(c.h.counter_diff(before, io(3, 3, {{Counter::TcpExtTCPHPHits, 3},
                                           {Counter::TcpExtTCPQuickAck, 3}})) == "");
  CHECK(c.sock()->readable_bytes() == 3000);
  CHECK(c.sock()->bytes_received() == 3000);
  CHECK(c.sock()->rcv_nxt() == SeqNum(p.off(3000)));
  CHECK(p.off(3000) < p.off(0));  // wrapped
  CHECK(p.read_all(p.off(0)) == 3000);
  CHECK(c.sock()->bytes_read() == 3000);
  CHECK(c.sock()->readable_bytes() == 0);
  c.h.finish();
}

TEST_CASE("RFC 9293 3.10.7.4 / Linux __tcp_ack_snd_check: at most one ACK per connection per poll") {
  Connected c;
  Peer& p = c.peer;
  std::vector<Bytes> frames;
  for (uint32_t i = 0; i < 10; ++i) frames.push_back(p.data_frame(p.off(i * 500), 500));
  auto out = p.send(frames);  // one burst, one poll
  REQUIRE_MESSAGE(out.size() == 1, describe(out));
  CHECK(out[0].h.ack == p.off(5000));
  CHECK(c.sock()->readable_bytes() == 5000);
  c.h.finish();
}

TEST_CASE("RFC 1122 4.2.3.2: after the quick-ack phase an ACK is delayed by inlet.tcp.delack_ms, or sent at once for two full segments") {
  HarnessOptions ho;
  ho.sysctls = {{Tunable::kTcpDelackMs, 25}};
  Connected c(ho);
  Peer& p = c.peer;
  // Quick-ack: min(rcv_wnd / (2 * rcv_mss), 16) = 16 segments answered at once.
  uint32_t at = 0;
  for (int i = 0; i < 16; ++i) {
    auto out = p.data(p.off(at), 100);
    at += 100;
    REQUIRE(out.size() == 1);
    CHECK(out[0].h.ack == p.off(at));
  }
  CHECK(c.h.count(Counter::TcpExtTCPQuickAck) == 16);
  // Now delayed: nothing for 24 ms, the ACK at 25 ms.
  auto before = c.h.snapshot();
  CHECK(p.data(p.off(at), 100).empty());
  at += 100;
  CHECK(c.h.wait(absl::Milliseconds(24)).empty());
  auto out = c.h.wait(absl::Milliseconds(1));
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(at));
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtDelayedACKs, 1},
                                           {Counter::TcpExtTCPHPHits, 1}})) == "");
  // A second segment inside the delay joins the same ACK.
  CHECK(p.data(p.off(at), 100).empty());
  c.h.clock().advance(absl::Milliseconds(10));
  CHECK(p.data(p.off(at + 100), 100).empty());
  at += 200;
  out = c.h.wait(absl::Milliseconds(15));
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(at));
  // More than one full-sized segment unacknowledged: at once.
  CHECK(p.data(p.off(at), 1000).empty());  // rcv_mss becomes 1000; 1000 is not more
  out = p.data(p.off(at + 1000), 1000);
  at += 2000;
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(at));
  CHECK(c.h.wait(absl::Milliseconds(100)).empty());  // the delayed ACK was cancelled
  c.h.finish();
}

TEST_CASE("Linux tcp_incr_quickack: out-of-order data re-enters quick-ack mode") {
  Connected c;
  Peer& p = c.peer;
  uint32_t at = 0;
  for (int i = 0; i < 16; ++i, at += 100) REQUIRE(p.data(p.off(at), 100).size() == 1);
  CHECK(p.data(p.off(at), 100).empty());  // delayed now
  at += 100;
  // A segment beyond a hole: an immediate duplicate ACK...
  auto out = p.data(p.off(at + 100), 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(at));
  // ... the hole filled: an immediate ACK ...
  out = p.data(p.off(at), 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(at + 200));
  at += 200;
  // ... and in-order segments are ACKed at once again for a while.
  auto before = c.h.snapshot();
  for (int i = 0; i < 5; ++i, at += 100) {
    out = p.data(p.off(at), 100);
    REQUIRE(out.size() == 1);
    CHECK(out[0].h.ack == p.off(at + 100));
  }
  CHECK(c.h.counter_diff(before, io(5, 5, {{Counter::TcpExtTCPQuickAck, 5},
                                           {Counter::TcpExtTCPHPHits, 5}})) == "");
  c.h.finish();
}

TEST_CASE("Header prediction: only plain in-order segments take the fast path") {
  Connected c;
  Peer& p = c.peer;
  auto before = c.h.snapshot();
  p.data(p.off(0), 100);                 // hit
  p.data(p.off(200), 100);               // out of order: miss
  p.data(p.off(100), 100);               // in order but a hole is queued: miss
  p.data(p.off(300), 100, kAck);         // hit (no PSH is fine)
  p.data(p.off(400), 100, kFinAck);      // FIN: miss
  CHECK(c.h.count(Counter::TcpExtTCPHPHits) - before.values[static_cast<size_t>(Counter::TcpExtTCPHPHits)] == 2);
  CHECK(c.sock()->readable_bytes() == 500);
  CHECK(c.sock()->state() == TcpState::kCloseWait);
  c.h.finish();
}

// --- malformed segments ---------------------------------------------------------------

TEST_CASE("RFC 9293 3.1: a segment with a bad checksum or a truncated header is dropped and counted, never answered") {
  Connected c;
  Peer& p = c.peer;
  Bytes bad = p.data_frame(p.off(0), 100);
  bad[bad.size() - 1] ^= 0x5A;  // a payload byte: the TCP checksum no longer holds
  auto before = c.h.snapshot();
  CHECK(c.h.deliver(bad).empty());
  CHECK(c.h.counter_diff(before, io(1, 0, {{Counter::TcpInCsumErrors, 1}, {Counter::TcpInErrs, 1}})) == "");
  CHECK(c.sock()->readable_bytes() == 0);
  before = c.h.snapshot();
  const uint8_t stub[10] = {0x9c, 0x40, 0x00, 0x50};
  CHECK(c.h.deliver(c.h.peer().ipv4(c.h.our_mac(), c.h.our_ip(), wire::ipproto::kTcp, stub)).empty());
  CHECK(c.h.counter_diff(before, io(1, 0, {{Counter::TcpInErrs, 1}})) == "");
  // The connection is unharmed.
  auto out = p.data(p.off(0), 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(100));
  c.h.finish();
}

// --- acceptability -------------------------------------------------------------------

TEST_CASE("RFC 9293 3.10.7.4: a segment wholly beyond the window is dropped and answered with an ACK") {
  Connected c({}, near_wrap(0xFFFFFFF0u));
  Peer& p = c.peer;
  RightEdge edge(7);
  edge.see(p.data(p.off(0), 100));
  auto before = c.h.snapshot();
  const uint32_t right = edge.last().raw();  // as the last ACK offered
  auto out = p.data(right + 10, 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kAck);
  CHECK(out[0].h.ack == p.off(100));
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpInErrs, 1}})) == "");
  CHECK(c.sock()->ooo_segments() == 0);
  // One that starts inside the window and runs past its edge is taken (held
  // out of order, here).
  before = c.h.snapshot();
  out = p.data(right - 50, 100);
  REQUIRE(out.size() == 1);
  CHECK(c.sock()->ooo_segments() == 1);
  REQUIRE(out[0].sack().size() == 1);
  CHECK(out[0].sack()[0].left == right - 50);
  CHECK(out[0].sack()[0].right == right + 50);
  c.h.finish();
}

TEST_CASE("RFC 2883 4.1: an old duplicate is D-SACKed; a partly old segment delivers only its new bytes") {
  Connected c({}, near_wrap(0xFFFFFF00u));
  Peer& p = c.peer;
  p.data(p.off(0), 1000);
  p.data(p.off(1000), 1000);
  // Wholly old (crossing 2^32): D-SACK block, nothing queued.
  auto before = c.h.snapshot();
  auto out = p.data(p.off(0), 1000);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(2000));
  CHECK(out[0].sack() == blocks({{p.off(0), p.off(1000)}}));
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPDSACKOldSent, 1}})) == "");
  CHECK(c.sock()->readable_bytes() == 2000);
  // Partly old: the old part D-SACKed, the new part delivered.
  before = c.h.snapshot();
  out = p.data(p.off(1500), 1000);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(2500));
  CHECK(out[0].sack() == blocks({{p.off(1500), p.off(2000)}}));
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPDSACKOldSent, 1},
                                           {Counter::TcpExtTCPQuickAck, 1}})) == "");
  CHECK(p.read_all(p.off(0)) == 2500);
  // The D-SACK is reported once.
  out = p.data(p.off(2500), 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].sack().empty());
  c.h.finish();
}

TEST_CASE("RFC 2883: without SACK an old duplicate still draws an immediate ACK, with no blocks") {
  PeerOptions po;
  po.sack = false;
  Connected c({}, po);
  Peer& p = c.peer;
  p.data(p.off(0), 500);
  auto out = p.data(p.off(0), 500);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(500));
  CHECK(out[0].h.options.sack_count == 0);
  c.h.finish();
}

// --- PAWS and timestamps --------------------------------------------------------------

TEST_CASE("RFC 7323 5.3: PAWS drops a segment with an older TSval and ACKs it; RST and long-idle connections are exempt") {
  PeerOptions po;
  po.tsval = 0xFFFFFFF0u;  // the peer's clock wraps during the test
  Connected c({}, po);
  Peer& p = c.peer;
  p.set_tsval(0x00000010u);  // later than 0xFFFFFFF0 modulo 2^32
  auto out = p.data(p.off(0), 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].ts()->echo == 0x10u);
  p.set_tsval(0xFFFFFFFFu);  // older
  auto before = c.h.snapshot();
  out = p.data(p.off(100), 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kAck);
  CHECK(out[0].h.ack == p.off(100));  // not accepted
  CHECK(out[0].ts()->echo == 0x10u);
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtPAWSEstab, 1}})) == "");
  CHECK(c.sock()->readable_bytes() == 100);
  // The same TSval is not older: accepted.
  p.set_tsval(0x10u);
  out = p.data(p.off(100), 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(200));
  // After 24 days of silence ts_recent is stale: an "old" TSval is accepted.
  c.h.clock().advance(absl::Hours(24 * 24) + absl::Seconds(1));
  p.set_tsval(5u);
  out = p.data(p.off(200), 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(300));
  CHECK(out[0].ts()->echo == 5u);
  // A reset with an old TSval still resets (RFC 7323 5.3 R1 excludes RST).
  p.set_tsval(1u);
  CHECK(p.send(p.frame(kRst, p.off(300))).empty());
  CHECK(c.sock()->was_reset());
  c.h.finish();
}

TEST_CASE("RFC 7323 4.3: TSecr echoes the TSval of the earliest segment not yet acknowledged") {
  Connected c;
  Peer& p = c.peer;
  p.set_tsval(500);
  Bytes a = p.data_frame(p.off(0), 100);  // TSval 500
  Bytes b = p.data_frame(p.off(100), 100);  // TSval 501
  auto out = p.send(std::vector<Bytes>{a, b});
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(200));
  CHECK(out[0].ts()->echo == 500u);
  out = p.data(p.off(200), 100);  // TSval 502, at Last.ACK.sent
  REQUIRE(out.size() == 1);
  CHECK(out[0].ts()->echo == 502u);
  // An out-of-order segment's TSval is not remembered.
  p.set_tsval(900);
  out = p.data(p.off(400), 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].ts()->echo == 502u);
  // Our TSvals follow our clock (ms).
  const uint32_t t0 = out[0].ts()->value;
  c.h.clock().advance(absl::Milliseconds(250));
  out = p.data(p.off(300), 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].ts()->value - t0 == 250u);
  CHECK(out[0].ts()->echo == 901u);
  c.h.finish();
}

// --- RFC 5961 ----------------------------------------------------------------------------

TEST_CASE("RFC 5961 3.2: a RST exactly at RCV.NXT resets the connection") {
  Connected c({}, near_wrap(0xFFFFFFFFu));
  Peer& p = c.peer;
  p.data(p.off(0), 100);
  int woken = 0;
  c.sock()->set_data_ready([&](TcpSocket&) { ++woken; });
  auto before = c.h.snapshot();
  CHECK(p.send(p.frame(kRst, p.off(100))).empty());
  CHECK(c.h.counter_diff(before, io(1, 0, {{Counter::TcpEstabResets, 1}})) == "");
  CHECK(woken == 1);
  CHECK(c.sock()->state() == TcpState::kClosed);
  CHECK(c.sock()->was_reset());
  CHECK(c.sock()->readable());
  // Data already queued stays readable.
  CHECK(p.read_all(p.off(0)) == 100);
  // The connection is gone for the peer: anything else draws a reset.
  auto out = p.data(p.off(100), 10);
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kRst);
  CHECK(out[0].h.seq == p.ack());
  c.sock()->close();
  c.h.poll();
  CHECK(c.h.tcp().connection_count() == 0);
  c.h.finish();
}

TEST_CASE("RFC 5961 3.2: an in-window RST that is not exact draws a challenge ACK; one outside the window is dropped") {
  Connected c({}, near_wrap(0xFFFFFFF0u));
  Peer& p = c.peer;
  p.data(p.off(0), 100);
  auto before = c.h.snapshot();
  auto out = p.send(p.frame(kRst, p.off(101)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kAck);
  CHECK(out[0].h.seq == p.iss() + 1);
  CHECK(out[0].h.ack == p.off(100));
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPChallengeACK, 1}})) == "");
  CHECK(c.sock()->state() == TcpState::kEstablished);
  // With ACK too, and at the far end of the window.
  out = p.send(p.frame(kRstAck, p.off(100) + 60000));
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(100));
  // Outside the window, either side: silently dropped.
  before = c.h.snapshot();
  CHECK(p.send(p.frame(kRst, p.off(100) + 2000000)).empty());
  CHECK(p.send(p.frame(kRst, p.off(99))).empty());
  CHECK(c.h.counter_diff(before, io(2, 0, {{Counter::TcpInErrs, 2}})) == "");
  CHECK(c.sock()->state() == TcpState::kEstablished);
  c.h.finish();
}

TEST_CASE("RFC 5961 7: challenge ACKs are limited to net.ipv4.tcp_challenge_ack_limit per second") {
  HarnessOptions ho;
  ho.sysctls = {{Tunable::kTcpChallengeAckLimit, 2}};
  Connected c(ho);
  Peer& p = c.peer;
  auto before = c.h.snapshot();
  CHECK(p.send(p.frame(kRst, p.off(5))).size() == 1);
  CHECK(p.send(p.frame(kSyn, p.off(7))).size() == 1);
  CHECK(p.send(p.frame(kRst, p.off(9))).empty());
  CHECK(p.send(p.frame(kSyn, p.off(9))).empty());
  CHECK(c.h.counter_diff(before, io(4, 2, {{Counter::TcpExtTCPChallengeACK, 2},
                                           {Counter::TcpExtTCPSYNChallenge, 2},
                                           {Counter::TcpExtTCPACKSkippedChallenge, 2},
                                           {Counter::TcpInErrs, 1}})) == "");
  c.h.clock().advance(absl::Seconds(1));
  CHECK(p.send(p.frame(kRst, p.off(9))).size() == 1);
  CHECK(c.sock()->state() == TcpState::kEstablished);
  c.h.finish();
}

TEST_CASE("RFC 5961 4.2: a SYN on an established connection, in the window or not, draws a challenge ACK") {
  Connected c({}, near_wrap(0xFFFFFFFAu));
  Peer& p = c.peer;
  p.data(p.off(0), 50);
  for (uint32_t seq : {p.off(50), p.off(1000), p.off(0) - 6, p.off(0) + 5000000}) {
    CAPTURE(seq);
    auto before = c.h.snapshot();
    auto out = p.send(p.frame(kSyn, seq));
    REQUIRE(out.size() == 1);
    CHECK(out[0].flags() == kAck);
    CHECK(out[0].h.seq == p.iss() + 1);
    CHECK(out[0].h.ack == p.off(50));
    CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPSYNChallenge, 1},
                                             {Counter::TcpExtTCPChallengeACK, 1}})) == "");
  }
  CHECK(c.sock()->state() == TcpState::kEstablished);
  CHECK(c.sock()->readable_bytes() == 50);
  c.h.finish();
}

TEST_CASE("RFC 5961 5.2: an ACK outside [SND.UNA - MAX.SND.WND, SND.NXT] is discarded with a challenge ACK") {
  Connected c;
  Peer& p = c.peer;
  // Acknowledging data we never sent.
  p.set_ack(p.iss() + 2);
  auto before = c.h.snapshot();
  auto out = p.data(p.off(0), 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kAck);
  CHECK(out[0].h.ack == p.off(0));  // the data was not taken
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPChallengeACK, 1},
                                           {Counter::TcpInErrs, 1}})) == "");
  CHECK(c.sock()->readable_bytes() == 0);
  // Far too old: the peer's largest window was 65535 << 7.
  p.set_ack(p.iss() + 1 - (65535u << 7) - 1);
  out = p.data(p.off(0), 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(0));
  CHECK(c.sock()->readable_bytes() == 0);
  // Old but within the window: the ACK is ignored, the data taken.
  p.set_ack(p.iss() + 1 - 1000);
  out = p.data(p.off(0), 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(100));
  CHECK(c.sock()->readable_bytes() == 100);
  // No ACK bit at all: dropped.
  before = c.h.snapshot();
  CHECK(p.send(p.frame(fl::kPsh, p.off(100), stream_bytes(p.off(100), 10))).empty());
  CHECK(c.h.counter_diff(before, io(1, 0, {{Counter::TcpInErrs, 1}})) == "");
  c.h.finish();
}

// --- out of order, SACK, D-SACK -----------------------------------------------------------

TEST_CASE("RFC 2018 4: out-of-order data draws an immediate duplicate ACK whose SACK blocks list the most recent first") {
  Connected c({}, near_wrap(0xFFFFE000u));
  Peer& p = c.peer;
  RightEdge edge(7);
  edge.see(p.data(p.off(0), 1000));
  auto before = c.h.snapshot();
  auto out = p.data(p.off(2000), 1000);
  edge.see(out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(1000));
  CHECK(out[0].sack() == blocks({{p.off(2000), p.off(3000)}}));
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPOFOQueue, 1}})) == "");
  out = p.data(p.off(4000), 1000);
  edge.see(out);
  CHECK(out[0].sack() == blocks({{p.off(4000), p.off(5000)}, {p.off(2000), p.off(3000)}}));
  out = p.data(p.off(6000), 1000);
  edge.see(out);
  CHECK(out[0].sack() == blocks({{p.off(6000), p.off(7000)}, {p.off(4000), p.off(5000)},
                                 {p.off(2000), p.off(3000)}}));
  // With timestamps, three blocks fit.
  out = p.data(p.off(8000), 1000);
  edge.see(out);
  CHECK(out[0].sack() == blocks({{p.off(8000), p.off(9000)}, {p.off(6000), p.off(7000)},
                                 {p.off(4000), p.off(5000)}}));
  // Data adjacent to a block joins it and moves it to the front.
  out = p.data(p.off(3000), 500);
  edge.see(out);
  CHECK(out[0].sack() == blocks({{p.off(2000), p.off(3500)}, {p.off(8000), p.off(9000)},
                                 {p.off(6000), p.off(7000)}}));
  CHECK(c.sock()->ooo_segments() == 5);
  // The hole filled: everything up to the next hole, the block gone.
  out = p.data(p.off(1000), 1000);
  edge.see(out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(3500));
  CHECK(out[0].sack() == blocks({{p.off(8000), p.off(9000)}, {p.off(6000), p.off(7000)},
                                 {p.off(4000), p.off(5000)}}));
  CHECK(c.sock()->readable_bytes() == 3500);
  // Fill the rest, in any order.
  p.data(p.off(5000), 1000);
  p.data(p.off(3500), 500);
  out = p.data(p.off(7000), 1000);
  edge.see(out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(9000));
  CHECK(out[0].sack().empty());
  CHECK(c.sock()->ooo_segments() == 0);
  CHECK(p.read_all(p.off(0)) == 9000);
  c.h.finish();
}

TEST_CASE("RFC 2018 3: without timestamps four SACK blocks fit") {
  PeerOptions po;
  po.ts = false;
  Connected c({}, po);
  Peer& p = c.peer;
  std::vector<Seg> out;
  for (uint32_t i = 1; i <= 5; ++i) out = p.data(p.off(i * 200), 100);
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].ts().has_value());
  CHECK(out[0].sack() == blocks({{p.off(1000), p.off(1100)}, {p.off(800), p.off(900)},
                                 {p.off(600), p.off(700)}, {p.off(400), p.off(500)}}));
  c.h.finish();
}

TEST_CASE("RFC 2883 4.2: a duplicate of queued out-of-order data is D-SACKed, followed by the block that holds it") {
  Connected c({}, near_wrap(0xFFFFFA00u));
  Peer& p = c.peer;
  p.data(p.off(500), 500);
  p.data(p.off(1500), 500);
  auto out = p.data(p.off(2500), 500);
  CHECK(out[0].sack() == blocks({{p.off(2500), p.off(3000)}, {p.off(1500), p.off(2000)},
                                 {p.off(500), p.off(1000)}}));
  auto before = c.h.snapshot();
  out = p.data(p.off(1500), 500);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(0));
  CHECK(out[0].sack() == blocks({{p.off(1500), p.off(2000)}, {p.off(1500), p.off(2000)},
                                 {p.off(2500), p.off(3000)}}));
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPOFOQueue, 1},
                                           {Counter::TcpExtTCPOFOMerge, 1},
                                           {Counter::TcpExtTCPDSACKOfoSent, 1}})) == "");
  CHECK(c.sock()->ooo_segments() == 3);
  // A segment overlapping two queued ones: trimmed to its new bytes
  // [1000, 1500), the first repeated part D-SACKed.
  before = c.h.snapshot();
  out = p.data(p.off(750), 1000);
  REQUIRE(out.size() == 1);
  CHECK(out[0].sack() == blocks({{p.off(750), p.off(1000)}, {p.off(500), p.off(2000)},
                                 {p.off(2500), p.off(3000)}}));
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPOFOQueue, 1},
                                           {Counter::TcpExtTCPDSACKOfoSent, 1}})) == "");
  CHECK(c.sock()->ooo_segments() == 4);
  // One covering a queued segment replaces it (a merge).
  before = c.h.snapshot();
  out = p.data(p.off(2250), 1000);
  REQUIRE(out.size() == 1);
  CHECK(out[0].sack() == blocks({{p.off(2500), p.off(3000)}, {p.off(2250), p.off(3250)},
                                 {p.off(500), p.off(2000)}}));
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPOFOQueue, 1},
                                           {Counter::TcpExtTCPOFOMerge, 1},
                                           {Counter::TcpExtTCPDSACKOfoSent, 1}})) == "");
  CHECK(c.sock()->ooo_segments() == 4);
  out = p.data(p.off(0), 500);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(2000));
  CHECK(out[0].sack() == blocks({{p.off(2250), p.off(3250)}}));
  out = p.data(p.off(2000), 250);
  CHECK(out[0].h.ack == p.off(3250));
  CHECK(p.read_all(p.off(0)) == 3250);
  c.h.finish();
}

TEST_CASE("OOO pruning: memory is charged to the receive buffer; the highest sequence goes first; the segment at RCV.NXT is never refused") {
  // rcvbuf 8192 = four 2048-byte buffers; the first window is 4096 bytes.
  Connected c(small_rmem("4096 8192 8192"), near_wrap(0xFFFFFD00u));
  Peer& p = c.peer;
  CHECK(c.sock()->receive_buffer() == 8192);
  CHECK(c.sock()->receive_window_scale() == 2);  // from net.core.rmem_max
  // A hole at [0, 1000); four 500-byte segments fill the buffer out of order.
  auto before = c.h.snapshot();
  auto out = p.send(std::vector<Bytes>{p.data_frame(p.off(1000), 500), p.data_frame(p.off(1500), 500),
                                       p.data_frame(p.off(2000), 500), p.data_frame(p.off(3000), 500)});
  // Two blocks grew in this poll: the older leads a duplicate ACK of its own,
  // the newest leads the final one (RFC 2018 4), so neither goes unreported.
  REQUIRE(out.size() == 2);
  CHECK(out[0].sack() == blocks({{p.off(1000), p.off(2500)}, {p.off(3000), p.off(3500)}}));
  CHECK(out[1].sack() == blocks({{p.off(3000), p.off(3500)}, {p.off(1000), p.off(2500)}}));
  CHECK(out[1].h.window == 4096 >> 2);  // the edge holds though the buffer is full
  CHECK(c.h.counter_diff(before, io(4, 2, {{Counter::TcpExtTCPOFOQueue, 4},
                                           {Counter::TcpExtTCPWantZeroWindowAdv, 2}})) == "");
  // The highest newcomer finds no room and nothing above it to prune: dropped.
  before = c.h.snapshot();
  out = p.data(p.off(3500), 500);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(0));
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtPruneCalled, 1},
                                           {Counter::TcpExtTCPOFODrop, 1},
                                           {Counter::TcpExtTCPWantZeroWindowAdv, 1}})) == "");
  CHECK(c.sock()->ooo_segments() == 4);
  // A lower newcomer prunes the highest queued segment.
  before = c.h.snapshot();
  out = p.data(p.off(2500), 500);
  REQUIRE(out.size() == 1);
  CHECK(out[0].sack() == blocks({{p.off(1000), p.off(3000)}}));
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtPruneCalled, 1},
                                           {Counter::TcpExtOfoPruned, 1},
                                           {Counter::TcpExtTCPOFOQueue, 1},
                                           {Counter::TcpExtTCPWantZeroWindowAdv, 1}})) == "");
  CHECK(c.sock()->ooo_segments() == 4);
  // The hole: the buffer is full, yet it is taken (the highest pruned instead).
  before = c.h.snapshot();
  out = p.data(p.off(0), 1000);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(2500));
  CHECK(out[0].sack().empty());
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtPruneCalled, 1},
                                           {Counter::TcpExtOfoPruned, 1},
                                           {Counter::TcpExtTCPWantZeroWindowAdv, 1}})) == "");
  CHECK(c.sock()->ooo_segments() == 0);
  CHECK(p.read_all(p.off(0)) == 2500);
  CHECK(c.h.held() == 0);
  c.h.finish();
}

TEST_CASE("Receive queue bound: a sender of tiny segments cannot grow the queue past twice rcvbuf (RcvPruned, TCPRcvQDrop)") {
  Connected c(small_rmem("4096 8192 8192"));
  Peer& p = c.peer;
  // Each 1-byte segment costs a 2048-byte buffer: eight fill 2 x rcvbuf.
  for (uint32_t i = 0; i < 8; ++i) p.data(p.off(i), 1);
  CHECK(c.sock()->readable_bytes() == 8);
  auto before = c.h.snapshot();
  auto out = p.data(p.off(8), 1);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(8));
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtRcvPruned, 1},
                                           {Counter::TcpExtTCPRcvQDrop, 1},
                                           {Counter::TcpExtTCPHPHits, 1},
                                           {Counter::TcpExtTCPWantZeroWindowAdv, 1}})) == "");
  CHECK(c.sock()->readable_bytes() == 8);
  CHECK(p.read_all(p.off(0)) == 8);
  p.data(p.off(8), 1);
  CHECK(c.sock()->readable_bytes() == 1);
  c.h.finish();
}

// --- reading ----------------------------------------------------------------------------------

TEST_CASE("read(span) copies once and may split a segment; read_zerocopy lends the buffer itself") {
  Connected c;
  Peer& p = c.peer;
  p.send(std::vector<Bytes>{p.data_frame(p.off(0), 1000), p.data_frame(p.off(1000), 1000),
                            p.data_frame(p.off(2000), 1000)});
  CHECK(c.h.held() == 3);
  Bytes small(300);
  CHECK(c.sock()->read(small) == 300);
  CHECK(is_stream(p.off(0), small));
  CHECK(c.sock()->readable_bytes() == 2700);
  CHECK(c.h.held() == 3);  // the first buffer is still partly unread
  // Zero-copy: the rest of the first segment, then the second.
  auto chunk = c.sock()->read_zerocopy();
  REQUIRE(chunk.has_value());
  CHECK(chunk->bytes.size() == 700);
  CHECK(is_stream(p.off(300), chunk->bytes));
  auto chunk2 = c.sock()->read_zerocopy();
  REQUIRE(chunk2.has_value());
  CHECK(chunk2->bytes.size() == 1000);
  CHECK(is_stream(p.off(1000), chunk2->bytes));
  CHECK(c.sock()->readable_bytes() == 1000);
  CHECK(c.sock()->bytes_read() == 2000);
  CHECK(c.h.held() == 3);  // lent, not freed
  chunk.reset();
  CHECK(c.h.held() == 2);
  Bytes big(5000);
  CHECK(c.sock()->read(big) == 1000);
  CHECK(is_stream(p.off(2000), std::span<const uint8_t>(big).first(1000)));
  CHECK(c.sock()->read(big) == 0);
  CHECK_FALSE(c.sock()->read_zerocopy().has_value());
  CHECK_FALSE(c.sock()->readable());
  CHECK(c.h.held() == 1);  // chunk2 still lent
  chunk2.reset();
  CHECK(c.h.held() == 0);
  c.h.finish();
}

TEST_CASE("Readiness: data_ready runs once per poll with news, and take_ready lists the socket") {
  Connected c;
  Peer& p = c.peer;
  int woken = 0;
  c.sock()->set_data_ready([&](TcpSocket& s) {
    ++woken;
    CHECK(&s == c.sock());
  });
  p.send(std::vector<Bytes>{p.data_frame(p.off(0), 100), p.data_frame(p.off(100), 100)});
  CHECK(woken == 1);
  TcpSocket* ready[4];
  CHECK(c.h.tcp().take_ready(ready) == 1);
  CHECK(ready[0] == c.sock());
  CHECK(c.h.tcp().take_ready(ready) == 0);
  p.data(p.off(400), 100);  // out of order: nothing to read yet
  CHECK(woken == 1);
  p.data(p.off(200), 200);
  CHECK(woken == 2);
  CHECK(c.sock()->readable_bytes() == 500);
  c.h.finish();
}

// --- the window --------------------------------------------------------------------------------

TEST_CASE("RFC 7323 2.3: the window field is scaled by our shift; without scaling it caps at 65535") {
  {
    Connected c;
    Peer& p = c.peer;
    auto out = p.data(p.off(0), 1000);
    REQUIRE(out.size() == 1);
    // rcvbuf 131072 less one 2048-byte buffer, at 1000/2048 payload per
    // byte, is 63000: below what was offered (65535 - 1000), so the old edge
    // stays, rounded up to the scale: 64535 -> 64640 = 505 << 7.
    CHECK(out[0].h.window == 505);
    CHECK(c.sock()->advertised_window() == 64640);
    c.h.finish();
  }
  {
    PeerOptions po;
    po.wscale.reset();
    Connected c({}, po);
    Peer& p = c.peer;
    auto out = p.data(p.off(0), 1000);
    REQUIRE(out.size() == 1);
    CHECK(out[0].h.window == 64535);  // the edge kept, no rounding needed
    CHECK(c.sock()->receive_window_scale() == 0);
    c.h.finish();
  }
}

TEST_CASE("RFC 9293 3.8.6.2.2: zero window, a window probe answered at the old edge, and the window update when the application reads") {
  // rcvbuf 16384 (8 buffers), first window 8192, our shift 2.
  Connected c(small_rmem("4096 16384 16384"));
  Peer& p = c.peer;
  RightEdge edge(2);
  // Eight 1000-byte segments in one burst: the buffer is full, but the
  // offered edge (8192) stands — 192 bytes more may come.
  std::vector<Bytes> burst;
  for (uint32_t i = 0; i < 8; ++i) burst.push_back(p.data_frame(p.off(i * 1000), 1000));
  auto out = p.send(burst);
  edge.see(out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(8000));
  CHECK(out[0].h.window == 192 >> 2);
  CHECK(c.h.count(Counter::TcpExtTCPWantZeroWindowAdv) == 1);
  // The last 192 bytes: now the window is zero (after the delayed-ACK timer).
  auto before = c.h.snapshot();
  CHECK(p.data(p.off(8000), 192).empty());
  out = c.h.wait(absl::Milliseconds(40));
  edge.see(out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(8192));
  CHECK(out[0].h.window == 0);
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPHPHits, 1},
                                           {Counter::TcpExtDelayedACKs, 1},
                                           {Counter::TcpExtTCPToZeroWindowAdv, 1}})) == "");
  // A zero-window probe: dropped, answered with the same zero window.
  before = c.h.snapshot();
  out = p.data(p.off(8192), 1);
  edge.see(out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(8192));
  CHECK(out[0].h.window == 0);
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPZeroWindowDrop, 1}})) == "");
  // Linux probes with an empty segment one below RCV.NXT (tcp_xmit_probe_skb):
  // unacceptable, so answered with an ACK showing the window.
  before = c.h.snapshot();
  out = p.send(p.frame(kAck, p.off(8191)));
  edge.see(out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(8192));
  CHECK(out[0].h.window == 0);
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpInErrs, 1}})) == "");
  // A pure ACK at RCV.NXT is still acceptable at zero window.
  before = c.h.snapshot();
  CHECK(p.send(p.frame(kAck, p.off(8192))).empty());
  CHECK(c.h.counter_diff(before, io(1, 0, {{Counter::TcpExtTCPPureAcks, 1}})) == "");
  // Receiver SWS avoidance: freeing one buffer (1000 bytes of window at
  // most) is not worth an update...
  Bytes buf(1000);
  REQUIRE(c.sock()->read(buf) == 1000);
  CHECK(c.h.poll().empty());
  // ... two are (one full segment's worth of window, and more than twice
  // the current zero).
  REQUIRE(c.sock()->read(buf) == 1000);
  before = c.h.snapshot();
  out = c.h.poll();
  edge.see(out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kAck);
  CHECK(out[0].h.ack == p.off(8192));
  CHECK(out[0].h.window == 1000 >> 2);
  CHECK(c.h.counter_diff(before, io(0, 1, {{Counter::TcpExtTCPFromZeroWindowAdv, 1}})) == "");
  // Reading everything opens the window to half the buffer again.
  Bytes all(20000);
  CHECK(c.sock()->read(all) == 6192);
  out = c.h.poll();
  edge.see(out);
  REQUIRE(out.size() == 1);
  // The whole buffer at the measured payload ratio (1000 per 2048): 8000.
  CHECK(out[0].h.window == 8000 >> 2);
  // And the data flows on.
  out = p.data(p.off(8192), 1000);
  edge.see(out);
  CHECK(c.sock()->readable_bytes() == 1000);
  c.h.finish();
}

TEST_CASE("Window update: a read that frees lots of space is announced at the next poll, never otherwise") {
  Connected c;
  Peer& p = c.peer;
  RightEdge edge(7);
  // 40 KB unread: the window left is about 25 KB.
  std::vector<Bytes> burst;
  for (uint32_t i = 0; i < 40; ++i) burst.push_back(p.data_frame(p.off(i * 1000), 1000));
  edge.see(p.send(burst));
  const SeqNum before_read = edge.last();
  CHECK(c.h.poll().empty());
  Bytes buf(100000);
  CHECK(c.sock()->read(buf) == 40000);
  auto out = c.h.poll();
  edge.see(out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(40000));
  CHECK(edge.last() > before_read);
  CHECK(c.h.poll().empty());
  c.h.finish();
}

TEST_CASE("net.ipv4.tcp_moderate_rcvbuf: a long fat stream grows rcvbuf (within tcp_rmem[2]); off, it stays") {
  // The round trip is measured from timestamp echoes, or without them from
  // the time one window of data takes (tcp_rcv_rtt_measure).
  struct Case {
    int64_t moderate;
    bool ts;
  };
  for (const Case k : {Case{1, true}, Case{1, false}, Case{0, true}}) {
    const int64_t moderate = k.moderate;
    CAPTURE(moderate);
    CAPTURE(k.ts);
    HarnessOptions ho;
    ho.sysctls = {{Tunable::kTcpModerateRcvbuf, moderate}, {Tunable::kPoolBuffers, 8192}};
    ho.sysctl_lines = {"net.ipv4.tcp_rmem=4096 131072 1048576"};
    PeerOptions po = near_wrap(0xF0000000u);
    po.ts = k.ts;
    Connected c(ho, po);
    CHECK(c.sock()->timestamps_enabled() == k.ts);
    Peer& p = c.peer;
    const uint8_t ws = c.sock()->receive_window_scale();
    CHECK(ws == 5);  // tcp_rmem[2] = 1 MiB needs a shift of 5
    RightEdge edge(ws);
    uint32_t sent = 0, read = 0;
    SeqNum right(p.off(0) + 65535);
    size_t max_rcvbuf = 0;
    for (int round = 0; round < 30; ++round) {
      // A window's worth (at most 600 segments), all echoing the TSval of
      // our last ACK: one 50 ms round trip.
      std::vector<Bytes> frames;
      while (frames.size() < 600 && SeqNum(p.off(sent)) + 1000 <= right) {
        frames.push_back(p.data_frame(p.off(sent), 1000));
        sent += 1000;
      }
      auto out = p.observe(c.h.deliver(frames));
      edge.see(out);
      for (const Seg& s : out) right = SeqNum(s.h.ack) + (uint32_t{s.h.window} << ws);
      c.h.clock().advance(absl::Milliseconds(50));
      read += static_cast<uint32_t>(p.read_all(p.off(read)));
      out = p.observe(c.h.poll());  // the window update, if any
      edge.see(out);
      for (const Seg& s : out) right = SeqNum(s.h.ack) + (uint32_t{s.h.window} << ws);
      max_rcvbuf = std::max(max_rcvbuf, c.sock()->receive_buffer());
    }
    CHECK(c.sock()->bytes_read() == sent);
    if (moderate == 1) {
      CHECK(c.sock()->receive_buffer() > 131072);
      CHECK(max_rcvbuf <= 1048576);
      CHECK(c.sock()->receive_buffer() == 1048576);  // 600 KB per RTT wants more than the cap
      CHECK(sent > 30u * 100000);
    } else {
      CHECK(max_rcvbuf == 131072);
    }
    c.h.finish();
  }
}

TEST_CASE("RFC 9293 / RFC 2018 / RFC 2883: a randomly reordered, duplicated, overlapping stream across 2^32 is delivered exactly once, with consistent ACKs, SACKs and window") {
  for (uint32_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    HarnessOptions ho;
    ho.sysctls = {{Tunable::kPoolBuffers, 2048}};
    Connected c(ho, near_wrap(0xFFFF0000u + seed * 4096));
    Peer& p = c.peer;
    const uint8_t ws = c.sock()->receive_window_scale();
    constexpr uint32_t kStream = 400000;
    std::vector<bool> sent(kStream, false);
    SeqNum ack(p.off(0));
    SeqNum right(p.off(0) + 65535);
    RightEdge edge(ws);
    uint32_t read = 0;
    uint64_t sacks = 0, dsacks = 0;
    auto check_acks = [&](const std::vector<Seg>& out) {
      edge.see(out);
      for (const Seg& s : out) {
        REQUIRE((s.flags() & fl::kRst) == 0);
        const SeqNum a(s.h.ack);
        CHECK(a >= ack);  // never backwards
        ack = a;
        right = a + (uint32_t{s.h.window} << ws);
        const auto blocks = s.sack();
        for (size_t i = 0; i < blocks.size(); ++i) {
          const SeqNum l(blocks[i].left), r(blocks[i].right);
          CHECK(l < r);
          // Every reported byte was sent by the peer.
          bool was_sent = true;
          for (SeqNum x = l; x < r; x += 1) {
            const uint32_t o = static_cast<uint32_t>(x - SeqNum(p.off(0)));
            was_sent = was_sent && o < kStream && sent[o];
          }
          CHECK(was_sent);
          const bool dsack = i == 0 && (r <= a || (blocks.size() > 1 && SeqNum(blocks[1].left) <= l &&
                                                   r <= SeqNum(blocks[1].right)));
          if (dsack) {
            ++dsacks;
          } else {
            ++sacks;
            CHECK(l > a);  // SACK blocks lie above the cumulative ACK
          }
        }
      }
    };
    for (int step = 0; step < 600; ++step) {
      std::vector<Bytes> frames;
      const int n = 1 + static_cast<int>(rng() % 8);
      for (int i = 0; i < n; ++i) {
        const uint32_t base = static_cast<uint32_t>(ack - SeqNum(p.off(0)));
        const uint32_t span = static_cast<uint32_t>(right - ack);
        if (span == 0) break;
        // Mostly new data anywhere in the window, sometimes old data.
        uint32_t start = base + static_cast<uint32_t>(rng() % span);
        if (rng() % 8 == 0) start = base > 3000 ? base - static_cast<uint32_t>(rng() % 3000) : 0;
        uint32_t len = 1 + static_cast<uint32_t>(rng() % (rng() % 4 == 0 ? 40 : 1400));
        len = std::min(len, static_cast<uint32_t>(right - SeqNum(p.off(start))));
        len = std::min(len, kStream - std::min(start, kStream));
        if (len == 0) continue;
        for (uint32_t k = start; k < start + len; ++k) sent[k] = true;
        frames.push_back(p.data_frame(p.off(start), len));
      }
      if (frames.empty()) {
        c.h.clock().advance(absl::Milliseconds(50));
        check_acks(c.h.poll());
      } else {
        check_acks(p.send(frames));
      }
      if (rng() % 3 == 0) read += static_cast<uint32_t>(p.read_all(p.off(read)));
      if (rng() % 5 == 0) check_acks(c.h.wait(absl::Milliseconds(40), absl::Milliseconds(40)));
      if (rng() % 4 == 0) check_acks(c.h.poll());  // window updates after reads
      if (SeqNum(p.off(kStream)) <= ack) break;
    }
    // The peer retransmits from the cumulative ACK until everything is in.
    for (int guard = 0; guard < 10000 && ack < SeqNum(p.off(kStream)); ++guard) {
      const uint32_t from = static_cast<uint32_t>(ack - SeqNum(p.off(0)));
      const uint32_t len = std::min<uint32_t>({1000, kStream - from, static_cast<uint32_t>(right - ack)});
      if (len > 0) {
        for (uint32_t k = from; k < from + len; ++k) sent[k] = true;
        check_acks(p.data(p.off(from), len));
        // The segment at RCV.NXT is never refused, however full the OOO queue.
        // (Its ACK may be delayed: look at RCV.NXT.)
        CHECK(c.sock()->rcv_nxt() >= SeqNum(p.off(from + len)));
      }
      read += static_cast<uint32_t>(p.read_all(p.off(read)));
      check_acks(c.h.poll());
      if (len == 0) check_acks(c.h.wait(absl::Milliseconds(40), absl::Milliseconds(40)));
    }
    CHECK(ack == SeqNum(p.off(kStream)));
    read += static_cast<uint32_t>(p.read_all(p.off(read)));
    CHECK(read == kStream);
    CHECK(c.sock()->bytes_received() == kStream);
    CHECK(c.sock()->ooo_segments() == 0);
    CHECK(sacks > 100);
    CHECK(dsacks > 10);
    // The run went through merging, pruning and dropping out-of-order data.
    CHECK(c.h.count(Counter::TcpExtTCPOFOMerge) > 100);
    CHECK(c.h.count(Counter::TcpExtOfoPruned) > 0);
    CHECK(c.h.count(Counter::TcpExtTCPOFODrop) > 0);
    c.h.finish();
  }
}

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::tcp_test

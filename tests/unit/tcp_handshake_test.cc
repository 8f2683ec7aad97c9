// Passive opens through a whole stack: the SYN-ACK and its options (RFC 9293
// 3.10.7.2, RFC 7323, RFC 2018), SYN-RECEIVED (retransmission with back-off,
// bad ACKs, resets), the SYN and accept queues and their overflow counters,
// SYN cookies (tcp_syncookies 0/1/2), TCP Fast Open (RFC 7413), resets for
// segments to closed ports (RFC 9293 3.10.7.1) and to listeners.
#include "core/features.h"
#include <doctest/doctest.h>

#include "tcp_fixture.h"

namespace inlet::tcp_test {
namespace {

TEST_SUITE_BEGIN("tcp.handshake");

HarnessOptions with(std::vector<std::pair<Tunable, int64_t>> sysctls) {
  HarnessOptions o;
  o.sysctls = std::move(sysctls);
  return o;
}

TEST_CASE("RFC 9293 3.10.7.2: a SYN draws a SYN-ACK with MSS, window scale, SACK-permitted and timestamps; the ACK establishes") {
  TcpHarness h;
  TcpListener* l = h.listen(80);
  PeerOptions po;
  po.isn = 0xFFFFFFFFu;  // the ACK of the SYN wraps to 0
  po.tsval = 0xFFFFFFF0u;
  Peer peer(h, po);
  auto before = h.snapshot();
  auto out = peer.send(peer.syn_frame());
  CHECK(h.counter_diff(before, io(1, 1)) == "");
  REQUIRE(out.size() == 1);
  const Seg& sa = out[0];
  CHECK(sa.flags() == kSynAck);
  CHECK(sa.src == h.our_ip());
  CHECK(sa.dst == h.peer().ip());
  CHECK(sa.h.src_port == 80);
  CHECK(sa.h.dst_port == 40000);
  CHECK(sa.h.ack == 0u);
  CHECK(sa.h.window == 65535);  // never scaled in a SYN-ACK (RFC 7323 2.2)
  CHECK(sa.payload.empty());
  CHECK(sa.h.options.mss == 1460);
  CHECK(sa.h.options.window_scale == 7);
  CHECK(sa.h.options.sack_permitted);
  REQUIRE(sa.ts().has_value());
  CHECK(sa.ts()->echo == 0xFFFFFFF0u);
  CHECK(sa.h.options.sack_count == 0);
  CHECK_FALSE(sa.h.options.fast_open);
  CHECK(l->syn_queue_length() == 1);
  CHECK(l->accept_queue_length() == 0);
  CHECK(h.tcp().connection_count() == 0);

  before = h.snapshot();
  peer.set_ack(sa.h.seq + 1);
  wire::TcpRepr ack;
  ack.src_port = 40000;
  ack.dst_port = 80;
  ack.seq = 0;
  ack.ack = sa.h.seq + 1;
  ack.flags = kAck;
  ack.window = 1000;
  ack.options.timestamps = wire::TcpTimestamps{0xFFFFFFF1u, sa.ts()->value};
  CHECK(h.deliver(h.frame(ack)).empty());
  CHECK(h.counter_diff(before, io(1, 0, {{Counter::TcpPassiveOpens, 1},
                                         {Counter::TcpExtTCPPureAcks, 1}})) == "");
  CHECK(l->syn_queue_length() == 0);
  CHECK(l->accept_queue_length() == 1);
  TcpSocket* s = l->accept();
  REQUIRE(s != nullptr);
  CHECK(l->accept() == nullptr);
  CHECK(s->state() == TcpState::kEstablished);
  CHECK(s->tuple().local == h.our_ip());
  CHECK(s->tuple().remote == h.peer().ip());
  CHECK(s->tuple().local_port == 80);
  CHECK(s->tuple().remote_port == 40000);
  CHECK(s->iss() == SeqNum(sa.h.seq));
  CHECK(s->rcv_nxt() == SeqNum(0));
  CHECK(s->peer_mss() == 1460);
  CHECK(s->send_window_scale() == 7);
  CHECK(s->receive_window_scale() == 7);
  CHECK(s->sack_enabled());
  CHECK(s->timestamps_enabled());
  CHECK_FALSE(s->fast_open());
  CHECK_FALSE(s->from_syncookie());
  CHECK(s->advertised_window() == 65535);
  CHECK(s->receive_buffer() == 131072);  // tcp_rmem[1]
  CHECK(h.tcp().connection_count() == 1);
  CHECK(h.tcp().established_count() == 1);
  h.finish();
}

TEST_CASE("RFC 7323 1.3 / RFC 2018 2: the SYN-ACK carries an option only when the peer offered it and its sysctl allows it") {
  struct Case {
    const char* name;
    std::vector<std::pair<Tunable, int64_t>> sysctls;
    PeerOptions peer;
    bool wscale, sack, ts;
  };
  PeerOptions bare;
  bare.wscale.reset();
  bare.sack = false;
  bare.ts = false;
  bare.mss.reset();
  const Case cases[] = {
      {"all on", {}, PeerOptions{}, true, true, true},
      {"tcp_window_scaling=0", {{Tunable::kTcpWindowScaling, 0}}, PeerOptions{}, false, true, true},
      {"tcp_sack=0", {{Tunable::kTcpSack, 0}}, PeerOptions{}, true, false, true},
      {"tcp_timestamps=0", {{Tunable::kTcpTimestamps, 0}}, PeerOptions{}, true, true, false},
      {"peer offers nothing", {}, bare, false, false, false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    TcpHarness h(with(c.sysctls));
    TcpListener* l = h.listen(80);
    Peer peer(h, c.peer);
    auto out = peer.send(peer.syn_frame());
    REQUIRE(out.size() == 1);
    const Seg& sa = out[0];
    CHECK(sa.flags() == kSynAck);
    CHECK(sa.h.options.mss == 1460);  // always announced
    CHECK(sa.h.options.window_scale.has_value() == c.wscale);
    CHECK(sa.h.options.sack_permitted == c.sack);
    CHECK(sa.ts().has_value() == c.ts);
    peer.set_ack(sa.h.seq + 1);
    // The ACK: timestamps only if both sides agreed.
    wire::TcpRepr ack;
    ack.src_port = 40000;
    ack.dst_port = 80;
    ack.seq = peer.off(0);
    ack.ack = sa.h.seq + 1;
    ack.flags = kAck;
    ack.window = 100;
    if (c.ts) ack.options.timestamps = wire::TcpTimestamps{200, sa.ts()->value};
    CHECK(h.deliver(h.frame(ack)).empty());
    TcpSocket* s = l->accept();
    REQUIRE(s != nullptr);
    CHECK(s->sack_enabled() == c.sack);
    CHECK(s->timestamps_enabled() == c.ts);
    CHECK(s->receive_window_scale() == (c.wscale ? 7 : 0));
    CHECK(s->send_window_scale() == (c.wscale ? 7 : 0));
    CHECK(s->peer_mss() == (c.peer.mss ? 1460 : 536));  // RFC 9293 3.7.1 default
    // Without window scaling the window can never exceed 64 KiB - 1.
    CHECK(s->advertised_window() <= 65535u);
    h.finish();
  }
}

TEST_CASE("RFC 7323 2.3: a window shift above 14 is used as 14; an MSS below 88 as 88") {
  TcpHarness h;
  TcpListener* l = h.listen(80);
  PeerOptions po;
  po.wscale = 15;
  po.mss = 20;
  Peer peer(h, po);
  peer.handshake(l);
  CHECK(peer.sock()->send_window_scale() == 14);
  CHECK(peer.sock()->peer_mss() == 88);
  h.finish();
}

TEST_CASE("RFC 9293 3.7.1: the SYN-ACK announces the MSS of the interface the SYN came in on") {
  HarnessOptions ho;
  ho.mtu = 1280;
  TcpHarness h(ho);
  TcpListener* l = h.listen(80);
  PeerOptions po;
  po.mss = 9000;
  Peer peer(h, po);
  Seg sa = peer.handshake(l);
  CHECK(sa.h.options.mss == 1240);
  CHECK(peer.sock()->peer_mss() == 9000);
  h.finish();
}

TEST_CASE("RFC 9293 3.10.7.1: a segment for a port nobody listens on draws a reset, a reset draws nothing") {
  TcpHarness h;
  Peer peer(h, PeerOptions{.dport = 81, .isn = 0xFFFFFFFFu});
  // SYN: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
  auto before = h.snapshot();
  auto out = peer.send(peer.syn_frame());
  CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpOutRsts, 1},
                                         {Counter::TcpExtTCPNoSocket, 1}})) == "");
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kRstAck);
  CHECK(out[0].h.seq == 0);
  CHECK(out[0].h.ack == 0);  // 0xFFFFFFFF + 1 wraps
  CHECK(out[0].h.window == 0);
  CHECK(out[0].h.src_port == 81);
  CHECK(out[0].h.dst_port == 40000);
  CHECK(out[0].h.options == wire::TcpOptions{});
  // Data without ACK: acknowledged up to its end.
  out = peer.send(peer.data_frame(5000, 10, fl::kPsh));
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kRstAck);
  CHECK(out[0].h.seq == 0);
  CHECK(out[0].h.ack == 5010);
  // A FIN counts one.
  out = peer.send(peer.frame(fl::kFin, 7000));
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == 7001);
  // With ACK: <SEQ=SEG.ACK><CTL=RST>.
  peer.set_ack(0xABCDEF01u);
  out = peer.send(peer.data_frame(5000, 10, kPshAck));
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kRst);
  CHECK(out[0].h.seq == 0xABCDEF01u);
  CHECK(out[0].h.ack == 0);
  // A reset is never answered.
  before = h.snapshot();
  CHECK(peer.send(peer.frame(kRst, 5000)).empty());
  CHECK(peer.send(peer.frame(kRstAck, 5000)).empty());
  CHECK(h.counter_diff(before, io(2, 0, {{Counter::TcpExtTCPNoSocket, 2}})) == "");
  h.finish();
}

TEST_CASE("RFC 9293 3.10.7.2: in LISTEN an ACK draws <SEQ=SEG.ACK><CTL=RST>, a RST is ignored, a segment without SYN is dropped") {
  TcpHarness h(with({{Tunable::kTcpSyncookies, 0}}));
  TcpListener* l = h.listen(80);
  Peer peer(h);
  peer.set_ack(0x12345678u);
  auto before = h.snapshot();
  auto out = peer.send(peer.frame(kAck, peer.off(0)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kRst);
  CHECK(out[0].h.seq == 0x12345678u);
  CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpOutRsts, 1},
                                         {Counter::TcpExtTCPNoSocket, 1}})) == "");
  // A SYN-ACK is an ACK too: reset, not a new request.
  before = h.snapshot();
  out = peer.send(peer.frame(kSynAck, peer.off(0)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kRst);
  CHECK(out[0].h.seq == 0x12345678u);
  CHECK(l->syn_queue_length() == 0);
  CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpOutRsts, 1}, {Counter::TcpInErrs, 1}})) == "");
  before = h.snapshot();
  CHECK(peer.send(peer.frame(kRst, peer.off(0))).empty());
  CHECK(peer.send(peer.frame(fl::kFin, peer.off(0))).empty());
  CHECK(peer.send(peer.frame(0, peer.off(0))).empty());
  CHECK(peer.send(peer.frame(fl::kSyn | fl::kFin, peer.options().isn)).empty());
  CHECK(h.counter_diff(before, io(4, 0, {{Counter::TcpInErrs, 4}})) == "");
  CHECK(l->syn_queue_length() == 0);
  CHECK(h.tcp().connection_count() == 0);
  h.finish();
}

// The times (since the SYN) at which SYN-ACKs were seen, stepping 100 ms.
std::vector<int64_t> synack_times(TcpHarness& h, absl::Duration total, std::vector<Seg>* all = nullptr) {
  std::vector<int64_t> times;
  for (absl::Duration t = absl::ZeroDuration(); t < total;) {
    t += absl::Milliseconds(100);
    for (const Seg& s : h.wait(absl::Milliseconds(100), absl::Milliseconds(100))) {
      if (s.flags() == kSynAck) times.push_back(absl::ToInt64Milliseconds(t));
      if (all != nullptr) all->push_back(s);
    }
  }
  return times;
}

TEST_CASE("SYN-RECEIVED: the SYN-ACK is retransmitted after 1, 3, 7 s… (tcp_synack_retries), then the request is dropped") {
  TcpHarness h(with({{Tunable::kTcpSynackRetries, 3}}));
  TcpListener* l = h.listen(80);
  Peer peer(h);
  auto out = peer.send(peer.syn_frame());
  REQUIRE(out.size() == 1);
  const Seg first = out[0];
  auto before = h.snapshot();
  std::vector<Seg> all;
  CHECK(synack_times(h, absl::Seconds(20), &all) == std::vector<int64_t>{1000, 3000, 7000});
  REQUIRE(all.size() == 3);
  for (const Seg& s : all) {
    CHECK(s.h.seq == first.h.seq);  // the same ISS
    CHECK(s.h.ack == first.h.ack);
    CHECK(s.h.options.mss == first.h.options.mss);
    CHECK(s.h.options.window_scale == first.h.options.window_scale);
    CHECK(s.h.options.sack_permitted);
    REQUIRE(s.ts().has_value());
    CHECK(s.ts()->echo == first.ts()->echo);
    CHECK(s.ts()->value > first.ts()->value);  // our clock moved on
  }
  CHECK(h.counter_diff(before, io(0, 3, {{Counter::TcpExtTCPSynRetrans, 3},
                                         {Counter::TcpRetransSegs, 3}})) == "");
  CHECK(l->syn_queue_length() == 0);  // given up at 15 s
  // The late ACK finds no request: a reset (cookies were never sent).
  peer.set_ack(first.h.seq + 1);
  out = peer.send(peer.frame(kAck, peer.off(0)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kRst);
  CHECK(out[0].h.seq == first.h.seq + 1);
  CHECK(l->accept() == nullptr);
  h.finish();
}

TEST_CASE("SYN-RECEIVED: a retransmitted SYN gets the same SYN-ACK again; a later ACK still establishes") {
  TcpHarness h;
  TcpListener* l = h.listen(80);
  Peer peer(h);
  const Bytes syn = peer.syn_frame();
  auto out = peer.send(syn);
  REQUIRE(out.size() == 1);
  const uint32_t iss = out[0].h.seq;
  auto before = h.snapshot();
  out = peer.send(syn);
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kSynAck);
  CHECK(out[0].h.seq == iss);
  CHECK(out[0].h.ack == peer.options().isn + 1);
  CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPSynRetrans, 1},
                                         {Counter::TcpRetransSegs, 1}})) == "");
  CHECK(l->syn_queue_length() == 1);
  peer.set_ack(iss + 1);
  CHECK(peer.send(peer.frame(kAck, peer.off(0))).empty());
  CHECK(l->accept() != nullptr);
  h.finish();
}

TEST_CASE("RFC 9293 3.10.7.4 SYN-RECEIVED: an unacceptable ACK draws <SEQ=SEG.ACK><CTL=RST>; the request survives") {
  TcpHarness h;
  TcpListener* l = h.listen(80);
  Peer peer(h);
  auto out = peer.send(peer.syn_frame());
  REQUIRE(out.size() == 1);
  const uint32_t iss = out[0].h.seq;
  for (uint32_t bad : {iss, iss + 2, iss + 1000000u}) {
    peer.set_ack(bad);
    auto before = h.snapshot();
    out = peer.send(peer.frame(kAck, peer.off(0)));
    REQUIRE(out.size() == 1);
    CHECK(out[0].flags() == kRst);
    CHECK(out[0].h.seq == bad);
    CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpOutRsts, 1}, {Counter::TcpInErrs, 1}})) == "");
  }
  CHECK(l->syn_queue_length() == 1);
  // Without the ACK bit: dropped silently.
  auto before = h.snapshot();
  CHECK(peer.send(peer.frame(fl::kPsh, peer.off(0), stream_bytes(peer.off(0), 10))).empty());
  CHECK(h.counter_diff(before, io(1, 0, {{Counter::TcpInErrs, 1}})) == "");
  // Data before the window, or an old timestamp (PAWS), is not acceptable.
  peer.set_ack(iss + 1);
  before = h.snapshot();
  CHECK(peer.send(peer.frame(kAck, peer.options().isn)).empty());
  peer.set_tsval(50);
  CHECK(peer.send(peer.frame(kAck, peer.off(0))).empty());
  CHECK(h.counter_diff(before, io(2, 0, {{Counter::TcpInErrs, 1}, {Counter::TcpExtPAWSEstab, 1}})) == "");
  CHECK(l->syn_queue_length() == 1);
  CHECK(l->accept() == nullptr);
  peer.set_tsval(300);
  CHECK(peer.send(peer.frame(kAck, peer.off(0))).empty());
  CHECK(l->accept() != nullptr);
  h.finish();
}

TEST_CASE("RFC 9293 3.10.7.4 SYN-RECEIVED: a reset at the expected sequence removes the request, any other is ignored") {
  TcpHarness h;
  TcpListener* l = h.listen(80);
  Peer peer(h);
  REQUIRE(peer.send(peer.syn_frame()).size() == 1);
  auto before = h.snapshot();
  CHECK(peer.send(peer.frame(kRst, peer.off(1))).empty());
  CHECK(peer.send(peer.frame(kRst, peer.options().isn)).empty());
  CHECK(l->syn_queue_length() == 1);
  CHECK(h.counter_diff(before, io(2, 0, {{Counter::TcpInErrs, 2}})) == "");
  before = h.snapshot();
  CHECK(peer.send(peer.frame(kRst, peer.off(0))).empty());
  CHECK(l->syn_queue_length() == 0);
  CHECK(h.counter_diff(before, io(1, 0, {{Counter::TcpAttemptFails, 1}, {Counter::TcpInErrs, 1}})) == "");
  // Its SYN-ACK is not retransmitted any more.
  CHECK(h.wait(absl::Seconds(5), absl::Milliseconds(50)).empty());
  h.finish();
}

TEST_CASE("listen(2): the backlog is capped by net.core.somaxconn") {
  TcpHarness h(with({{Tunable::kSomaxconn, 2}}));
  TcpListener* l = h.listen(80, 100);
  CHECK(l->backlog() == 2);
  auto again = h.stack().tcp_listen(wire::kIpv4Any, 80);
  CHECK(again.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(h.stack().tcp_listen(wire::kIpv4Any, 0).status().code() == absl::StatusCode::kInvalidArgument);
  h.finish();
}

TEST_CASE("Accept queue overflow: SYNs are dropped (ListenOverflows + ListenDrops), a third ACK is dropped but its request kept") {
  TcpHarness h;
  TcpListener* l = h.listen(80, 2);
  // Three connections complete and wait in the accept queue (backlog + 1).
  std::vector<uint32_t> isss;
  for (uint16_t i = 0; i < 3; ++i) {
    Peer p(h, PeerOptions{.sport = static_cast<uint16_t>(41000 + i)});
    auto out = p.send(p.syn_frame());
    REQUIRE(out.size() == 1);
    p.set_ack(out[0].h.seq + 1);
    CHECK(p.send(p.frame(kAck, p.off(0))).empty());
  }
  CHECK(l->accept_queue_length() == 3);
  // A fourth SYN: dropped, no SYN-ACK.
  Peer late(h, PeerOptions{.sport = 42000});
  auto before = h.snapshot();
  CHECK(late.send(late.syn_frame()).empty());
  CHECK(h.counter_diff(before, io(1, 0, {{Counter::TcpExtListenOverflows, 1},
                                         {Counter::TcpExtListenDrops, 1}})) == "");
  CHECK(l->syn_queue_length() == 0);
  // Make room for one request, let it get a SYN-ACK, then fill the queue again.
  TcpSocket* a = l->accept();
  REQUIRE(a != nullptr);
  auto out = late.send(late.syn_frame());
  REQUIRE(out.size() == 1);
  late.set_ack(out[0].h.seq + 1);
  Peer filler(h, PeerOptions{.sport = 43000});
  auto fo = filler.send(filler.syn_frame());
  REQUIRE(fo.size() == 1);
  filler.set_ack(fo[0].h.seq + 1);
  CHECK(filler.send(filler.frame(kAck, filler.off(0))).empty());
  CHECK(l->accept_queue_length() == 3);
  // The third ACK of `late` meets a full accept queue: dropped, request kept.
  before = h.snapshot();
  CHECK(late.send(late.frame(kAck, late.off(0))).empty());
  CHECK(h.counter_diff(before, io(1, 0, {{Counter::TcpExtListenOverflows, 1},
                                         {Counter::TcpExtListenDrops, 1}})) == "");
  CHECK(l->syn_queue_length() == 1);
  // Room again: the retransmitted ACK completes the handshake.
  REQUIRE(l->accept() != nullptr);
  CHECK(late.send(late.frame(kAck, late.off(0))).empty());
  CHECK(l->accept_queue_length() == 3);
  CHECK(l->syn_queue_length() == 0);
  a->close();
  h.finish();
}

#if INLET_WITH_SYNCOOKIES
TEST_CASE("net.ipv4.tcp_abort_on_overflow=1: a third ACK meeting a full accept queue is reset") {
  TcpHarness h(with({{Tunable::kTcpAbortOnOverflow, 1}}));
  TcpListener* l = h.listen(80, 1);  // SYN queue 1, accept queue 2
  Peer a(h, PeerOptions{.sport = 41000});
  REQUIRE(a.send(a.syn_frame()).size() == 1);
  // Two more fill the accept queue (through SYN cookies: the SYN queue is full).
  for (uint16_t port : {41001, 41002}) {
    Peer f(h, PeerOptions{.sport = port});
    f.connect();
  }
  CHECK(l->accept_queue_length() == 2);
  CHECK(h.count(Counter::TcpExtSyncookiesRecv) == 2);
  auto before = h.snapshot();
  auto out = a.send(a.frame(kAck, a.off(0)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kRst);
  CHECK(out[0].h.seq == a.ack());
  CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpExtListenOverflows, 1},
                                         {Counter::TcpExtListenDrops, 1},
                                         {Counter::TcpOutRsts, 1}})) == "");
  CHECK(l->syn_queue_length() == 0);
  CHECK(l->accept_queue_length() == 2);
  h.finish();
}
#endif  // INLET_WITH_SYNCOOKIES

TEST_CASE("SYN queue: with tcp_syncookies=0 a SYN beyond min(backlog, tcp_max_syn_backlog) is dropped (TCPReqQFullDrop)") {
  TcpHarness h(with({{Tunable::kTcpSyncookies, 0}, {Tunable::kTcpMaxSynBacklog, 3}}));
  TcpListener* l = h.listen(80, 128);
  for (uint16_t i = 0; i < 3; ++i) {
    Peer p(h, PeerOptions{.sport = static_cast<uint16_t>(41000 + i)});
    REQUIRE(p.send(p.syn_frame()).size() == 1);
  }
  CHECK(l->syn_queue_length() == 3);
  Peer p(h, PeerOptions{.sport = 42000});
  auto before = h.snapshot();
  CHECK(p.send(p.syn_frame()).empty());
  CHECK(h.counter_diff(before, io(1, 0, {{Counter::TcpExtTCPReqQFullDrop, 1},
                                         {Counter::TcpExtListenDrops, 1}})) == "");
  CHECK(l->syn_queue_length() == 3);
  // tcp_max_syn_backlog also sizes inlet's request table, shared by every
  // listener: another listener finds it full too.
  h.listen(81, 16);
  Peer other(h, PeerOptions{.sport = 43000, .dport = 81});
  before = h.snapshot();
  CHECK(other.send(other.syn_frame()).empty());
  CHECK(h.counter_diff(before, io(1, 0, {{Counter::TcpExtTCPReqQFullDrop, 1},
                                         {Counter::TcpExtListenDrops, 1}})) == "");
  h.finish();
}

TEST_CASE("SYN queue: a listener's backlog bounds its own SYN queue") {
  TcpHarness h(with({{Tunable::kTcpSyncookies, 0}}));
  TcpListener* small = h.listen(81, 1);
  Peer q1(h, PeerOptions{.sport = 43000, .dport = 81});
  Peer q2(h, PeerOptions{.sport = 43001, .dport = 81});
  REQUIRE(q1.send(q1.syn_frame()).size() == 1);
  CHECK(q2.send(q2.syn_frame()).empty());
  CHECK(small->syn_queue_length() == 1);
  h.finish();
}

// --- SYN cookies ---------------------------------------------------------------------

struct CookieSynAck {
  Seg seg;
  uint32_t cookie;
};

#if INLET_WITH_SYNCOOKIES
TEST_CASE("SYN cookies (tcp_syncookies=1): only when the SYN queue overflows; the ACK rebuilds MSS, window scale and SACK") {
  TcpHarness h(with({{Tunable::kTcpMaxSynBacklog, 1}}));
  TcpListener* l = h.listen(80);
  Peer queued(h, PeerOptions{.sport = 41000});
  auto before = h.snapshot();
  REQUIRE(queued.send(queued.syn_frame()).size() == 1);
  CHECK(h.counter_diff(before, io(1, 1)) == "");  // a normal request
  CHECK(l->syn_queue_length() == 1);

  PeerOptions po;
  po.sport = 42000;
  po.isn = 0xFFFFFFFEu;
  po.mss = 1400;
  po.wscale = 5;
  Peer peer(h, po);
  before = h.snapshot();
  auto out = peer.send(peer.syn_frame());
  CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpExtSyncookiesSent, 1},
                                         {Counter::TcpExtTCPReqQFullDoCookies, 1}})) == "");
  REQUIRE(out.size() == 1);
  const Seg sa = out[0];
  CHECK(sa.flags() == kSynAck);
  CHECK(sa.h.ack == 0xFFFFFFFFu);
  CHECK(sa.h.options.mss == 1460);        // ours
  CHECK(sa.h.options.window_scale == 7);  // ours
  CHECK(sa.h.options.sack_permitted);
  REQUIRE(sa.ts().has_value());
  CHECK((sa.ts()->value & 0xF) == 5);         // the peer's shift, in our TSval
  CHECK((sa.ts()->value & 0x10) != 0);        // SACK permitted
  CHECK(l->syn_queue_length() == 1);          // no state kept
  CHECK(h.tcp().connection_count() == 0);
  // The ACK, with data: the connection exists at once.
  peer.set_ack(sa.h.seq + 1);
  before = h.snapshot();
  auto reply = peer.send(peer.data_frame(peer.off(0), 100, kPshAck));
  REQUIRE(reply.size() == 1);
  CHECK(reply[0].flags() == kAck);
  CHECK(reply[0].h.ack == peer.off(100));
  CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpExtSyncookiesRecv, 1},
                                         {Counter::TcpPassiveOpens, 1},
                                         {Counter::TcpExtTCPQuickAck, 1}})) == "");
  TcpSocket* s = l->accept();
  REQUIRE(s != nullptr);
  CHECK(s->from_syncookie());
  CHECK(s->state() == TcpState::kEstablished);
  CHECK(s->peer_mss() == 1300);  // the table entry below 1400
  CHECK(s->send_window_scale() == 5);
  CHECK(s->receive_window_scale() == 7);
  CHECK(s->sack_enabled());
  CHECK(s->timestamps_enabled());
  CHECK(s->iss() == SeqNum(sa.h.seq));
  CHECK(s->readable_bytes() == 100);
  Bytes buf(100);
  CHECK(s->read(buf) == 100);
  CHECK(is_stream(peer.off(0), buf));
  // Our TSvals go on from the cookie's (never backwards).
  REQUIRE(reply[0].ts().has_value());
  CHECK(static_cast<int32_t>(reply[0].ts()->value - sa.ts()->value) >= 0);
  h.finish();
}

TEST_CASE("SYN cookies: without timestamps the SYN-ACK offers neither window scaling nor SACK") {
  TcpHarness h(with({{Tunable::kTcpSyncookies, 2}}));
  TcpListener* l = h.listen(80);
  PeerOptions po;
  po.ts = false;
  Peer peer(h, po);
  auto before = h.snapshot();
  auto out = peer.send(peer.syn_frame());
  // Mode 2: cookies even with an empty SYN queue (no overflow counted).
  CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpExtSyncookiesSent, 1}})) == "");
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].h.options.window_scale.has_value());
  CHECK_FALSE(out[0].h.options.sack_permitted);
  CHECK_FALSE(out[0].ts().has_value());
  CHECK(out[0].h.options.mss == 1460);
  CHECK(l->syn_queue_length() == 0);
  peer.set_ack(out[0].h.seq + 1);
  CHECK(peer.send(peer.frame(kAck, peer.off(0))).empty());
  TcpSocket* s = l->accept();
  REQUIRE(s != nullptr);
  CHECK(s->peer_mss() == 1460);
  CHECK(s->send_window_scale() == 0);
  CHECK(s->receive_window_scale() == 0);
  CHECK_FALSE(s->sack_enabled());
  CHECK_FALSE(s->timestamps_enabled());
  h.finish();
}

TEST_CASE("SYN cookies: a forged, altered or stale cookie fails (SyncookiesFailed) and is reset") {
  TcpHarness h(with({{Tunable::kTcpSyncookies, 2}}));
  TcpListener* l = h.listen(80);
  Peer peer(h);
  auto out = peer.send(peer.syn_frame());
  REQUIRE(out.size() == 1);
  const uint32_t cookie = out[0].h.seq;
  const uint32_t our_ts = out[0].ts()->value;
  auto bad_ack = [&](uint32_t ack, uint32_t seq) {
    peer.set_ack(ack);
    auto before = h.snapshot();
    auto r = peer.send(peer.frame(kAck, seq));
    REQUIRE(r.size() == 1);
    CHECK(r[0].flags() == kRst);
    CHECK(r[0].h.seq == ack);
    CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpExtSyncookiesFailed, 1},
                                           {Counter::TcpOutRsts, 1}})) == "");
  };
  bad_ack(cookie + 2, peer.off(0));         // cookie bits altered
  bad_ack(cookie ^ 0x01000000u, peer.off(0));  // minute counter altered
  bad_ack(cookie + 1, peer.off(1));         // a different client ISN
  CHECK(h.tcp().connection_count() == 0);
  // Two minutes on, the genuine cookie is too old.
  h.clock().advance(absl::Minutes(2) + absl::Seconds(1));
  bad_ack(cookie + 1, peer.off(0));
  CHECK(l->accept() == nullptr);
  (void)our_ts;
  h.finish();
}

TEST_CASE("SYN cookies: a cookie made in the previous minute is still good") {
  TcpHarness h(with({{Tunable::kTcpSyncookies, 2}}));
  TcpListener* l = h.listen(80);
  Peer peer(h);
  auto out = peer.send(peer.syn_frame());
  REQUIRE(out.size() == 1);
  h.clock().advance(absl::Seconds(61));
  peer.set_ack(out[0].h.seq + 1);
  CHECK(peer.send(peer.frame(kAck, peer.off(0))).empty());
  CHECK(l->accept() != nullptr);
  h.finish();
}

TEST_CASE("SYN cookies (tcp_syncookies=1): an ACK is only checked as a cookie within two minutes of an overflow") {
  TcpHarness h(with({{Tunable::kTcpMaxSynBacklog, 1}}));
  h.listen(80);
  Peer peer(h);
  peer.set_ack(0x55555555u);
  auto before = h.snapshot();
  auto out = peer.send(peer.frame(kAck, peer.off(0)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kRst);
  CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpOutRsts, 1},
                                         {Counter::TcpExtTCPNoSocket, 1}})) == "");
  // After an overflow the same ACK is a failed cookie.
  Peer a(h, PeerOptions{.sport = 41000});
  Peer b(h, PeerOptions{.sport = 41001});
  REQUIRE(a.send(a.syn_frame()).size() == 1);
  REQUIRE(b.send(b.syn_frame()).size() == 1);  // a cookie
  before = h.snapshot();
  out = peer.send(peer.frame(kAck, peer.off(0)));
  REQUIRE(out.size() == 1);
  CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpOutRsts, 1},
                                         {Counter::TcpExtSyncookiesFailed, 1}})) == "");
  // (The request of `a` keeps retransmitting its SYN-ACK meanwhile.)
  h.clock().advance(absl::Minutes(2));
  before = h.snapshot();
  out = to_port(peer.send(peer.frame(kAck, peer.off(0))), peer.options().sport);
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kRst);
  CHECK(h.count(Counter::TcpExtTCPNoSocket) - before.values[static_cast<size_t>(Counter::TcpExtTCPNoSocket)] == 1);
  CHECK(h.count(Counter::TcpExtSyncookiesFailed) - before.values[static_cast<size_t>(Counter::TcpExtSyncookiesFailed)] == 0);
  h.finish();
}

// --- TCP Fast Open ----------------------------------------------------------------------

wire::TcpRepr tfo_syn(Peer& peer, std::span<const uint8_t> cookie) {
  wire::TcpRepr r = peer.syn_header();
  r.options.set_fast_open_cookie(cookie);
  return r;
}

#endif  // INLET_WITH_SYNCOOKIES

#if INLET_WITH_TFO
TEST_CASE("RFC 7413 4.1.1: a cookie request is answered with a cookie in the SYN-ACK (TCPFastOpenCookieReqd)") {
  for (int variant = 0; variant < 2; ++variant) {
    CAPTURE(variant);
    // Server bit + a per-listener queue, or server bit + 0x400 (every listener).
    TcpHarness h(with({{Tunable::kTcpFastopen, variant == 0 ? 0x3 : 0x402}}));
    TcpListener* l = h.listen(80);
    if (variant == 0) l->set_fastopen_queue(16);
    Peer peer(h);
    auto before = h.snapshot();
    auto out = peer.send(h.frame(tfo_syn(peer, {})));
    CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPFastOpenCookieReqd, 1}})) == "");
    REQUIRE(out.size() == 1);
    CHECK(out[0].flags() == kSynAck);
    CHECK(out[0].h.ack == peer.options().isn + 1);
    REQUIRE(out[0].h.options.fast_open);
    const auto cookie = out[0].h.options.fast_open_cookie_bytes();
    REQUIRE(cookie.size() == tcp::kFastOpenCookieSize);
    const tcp::FastOpenCookie want = h.tcp().fastopen_keys().make(h.peer().ip(), h.our_ip());
    CHECK(std::equal(cookie.begin(), cookie.end(), want.begin()));
    CHECK(l->syn_queue_length() == 1);
    h.finish();
  }
}

TEST_CASE("RFC 7413: without the server bit (tcp_fastopen=1) or a queue, Fast Open options are ignored") {
  for (int64_t mode : {1, 2}) {
    CAPTURE(mode);
    TcpHarness h(with({{Tunable::kTcpFastopen, mode}}));
    TcpListener* l = h.listen(80);  // no set_fastopen_queue
    Peer peer(h);
    const tcp::FastOpenCookie cookie = h.tcp().fastopen_keys().make(h.peer().ip(), h.our_ip());
    auto before = h.snapshot();
    auto out = peer.send(h.frame(tfo_syn(peer, cookie), stream_bytes(peer.off(0), 100)));
    CHECK(h.counter_diff(before, io(1, 1)) == "");
    REQUIRE(out.size() == 1);
    CHECK(out[0].h.ack == peer.options().isn + 1);  // the data is not acknowledged
    CHECK_FALSE(out[0].h.options.fast_open);
    CHECK(l->accept() == nullptr);
    h.finish();
  }
}

TEST_CASE("RFC 7413 4.2.2: a valid cookie with data opens at once; the data is readable at accept (TCPFastOpenPassive)") {
  TcpHarness h(with({{Tunable::kTcpFastopen, 0x3}}));
  TcpListener* l = h.listen(80);
  l->set_fastopen_queue(1);
  for (uint16_t i = 0; i < 2; ++i) {  // the Fast Open queue (1) frees after each handshake
    CAPTURE(i);
    PeerOptions po;
    po.sport = static_cast<uint16_t>(41000 + i);
    po.isn = 0xFFFFFF00u;  // data across the wrap
    Peer peer(h, po);
    const tcp::FastOpenCookie cookie = h.tcp().fastopen_keys().make(h.peer().ip(), h.our_ip());
    const Bytes data = stream_bytes(peer.off(0), 400);
    auto before = h.snapshot();
    auto out = peer.send(h.frame(tfo_syn(peer, cookie), data));
    CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPFastOpenPassive, 1},
                                           {Counter::TcpPassiveOpens, 1}})) == "");
    REQUIRE(out.size() == 1);
    CHECK(out[0].flags() == kSynAck);
    CHECK(out[0].h.ack == peer.off(400));  // the SYN and its data
    CHECK_FALSE(out[0].h.options.fast_open);  // the client's cookie was good
    REQUIRE(l->acceptable());
    TcpSocket* s = l->accept();
    REQUIRE(s != nullptr);
    CHECK(s->fast_open());
    CHECK(s->state() == TcpState::kSynReceived);
    CHECK(s->readable());
    Bytes buf(1000);
    REQUIRE(s->read(buf) == 400);
    CHECK(is_stream(peer.off(0), std::span<const uint8_t>(buf).first(400)));
    // The handshake completes with the ACK of our SYN; more data follows.
    peer.set_ack(out[0].h.seq + 1);
    before = h.snapshot();
    out = peer.send(peer.data_frame(peer.off(400), 100));
    CHECK(s->state() == TcpState::kEstablished);
    REQUIRE(out.size() == 1);
    CHECK(out[0].h.ack == peer.off(500));
    CHECK(s->read(buf) == 100);
    CHECK(is_stream(peer.off(400), std::span<const uint8_t>(buf).first(100)));
    CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPQuickAck, 1}})) == "");
    // Nothing is retransmitted later.
    CHECK(h.wait(absl::Seconds(3), absl::Milliseconds(100)).empty());
  }
  h.finish();
}

TEST_CASE("RFC 7413 4.2.2: with the Fast Open queue full, a good cookie falls back to a normal handshake") {
  TcpHarness h(with({{Tunable::kTcpFastopen, 0x3}}));
  TcpListener* l = h.listen(80);
  l->set_fastopen_queue(1);
  const tcp::FastOpenCookie cookie = h.tcp().fastopen_keys().make(h.peer().ip(), h.our_ip());
  Peer a(h, PeerOptions{.sport = 41000});
  auto out = a.send(h.frame(tfo_syn(a, cookie), stream_bytes(a.off(0), 10)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == a.off(10));
  Peer b(h, PeerOptions{.sport = 41001});
  out = b.send(h.frame(tfo_syn(b, cookie), stream_bytes(b.off(0), 10)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == b.off(0));  // SYN only
  CHECK(l->syn_queue_length() == 1);
  h.finish();
}

TEST_CASE("RFC 7413: a Fast Open connection reset before its handshake completes frees its place in the Fast Open queue") {
  TcpHarness h(with({{Tunable::kTcpFastopen, 0x3}}));
  TcpListener* l = h.listen(80);
  l->set_fastopen_queue(1);
  const tcp::FastOpenCookie cookie = h.tcp().fastopen_keys().make(h.peer().ip(), h.our_ip());
  Peer a(h, PeerOptions{.sport = 41000});
  auto out = a.send(h.frame(tfo_syn(a, cookie), stream_bytes(a.off(0), 10)));
  REQUIRE(out.size() == 1);
  TcpSocket* s = l->accept();
  REQUIRE(s != nullptr);
  auto before = h.snapshot();
  CHECK(a.send(a.frame(kRst, a.off(10))).empty());
  CHECK(s->was_reset());
  CHECK(h.counter_diff(before, io(1, 0)) == "");
  Peer b(h, PeerOptions{.sport = 41001});
  out = b.send(h.frame(tfo_syn(b, cookie), stream_bytes(b.off(0), 10)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == b.off(10));  // Fast Open again
  s->close();
  h.finish();
}

TEST_CASE("RFC 7413 4.2.2: a bad cookie means a normal handshake, the SYN's data is not accepted, a fresh cookie is sent (TCPFastOpenPassiveFail)") {
  TcpHarness h(with({{Tunable::kTcpFastopen, 0x3}}));
  TcpListener* l = h.listen(80);
  l->set_fastopen_queue(8);
  Peer peer(h);
  tcp::FastOpenCookie bad = h.tcp().fastopen_keys().make(h.peer().ip(), h.our_ip());
  bad[0] ^= 1;
  auto before = h.snapshot();
  auto out = peer.send(h.frame(tfo_syn(peer, bad), stream_bytes(peer.off(0), 300)));
  CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPFastOpenPassiveFail, 1}})) == "");
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kSynAck);
  CHECK(out[0].h.ack == peer.off(0));
  REQUIRE(out[0].h.options.fast_open);
  const tcp::FastOpenCookie good = h.tcp().fastopen_keys().make(h.peer().ip(), h.our_ip());
  const auto got = out[0].h.options.fast_open_cookie_bytes();
  CHECK(std::equal(got.begin(), got.end(), good.begin(), good.end()));
  CHECK(l->accept() == nullptr);
  // The client sends its data again after the handshake.
  peer.set_ack(out[0].h.seq + 1);
  CHECK(peer.send(peer.frame(kAck, peer.off(0))).empty());
  TcpSocket* s = l->accept();
  REQUIRE(s != nullptr);
  CHECK_FALSE(s->fast_open());
  CHECK(s->readable_bytes() == 0);
  out = peer.data(peer.off(0), 300);
  CHECK(s->readable_bytes() == 300);
  h.finish();
}

TEST_CASE("RFC 7413 4.1.2: after a key rotation the previous key's cookies still open; two rotations retire them") {
  TcpHarness h(with({{Tunable::kTcpFastopen, 0x403}}));
  TcpListener* l = h.listen(80);
  const tcp::FastOpenCookie old_cookie = h.tcp().fastopen_keys().make(h.peer().ip(), h.our_ip());
  h.tcp().fastopen_keys().rotate(tcp::SipKey{11, 22});
  Peer a(h, PeerOptions{.sport = 41000});
  auto out = a.send(h.frame(tfo_syn(a, old_cookie), stream_bytes(a.off(0), 50)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == a.off(50));
  CHECK(h.count(Counter::TcpExtTCPFastOpenPassive) == 1);
  REQUIRE(l->accept() != nullptr);
  h.tcp().fastopen_keys().rotate(tcp::SipKey{33, 44});
  Peer b(h, PeerOptions{.sport = 41001});
  out = b.send(h.frame(tfo_syn(b, old_cookie), stream_bytes(b.off(0), 50)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == b.off(0));
  CHECK(h.count(Counter::TcpExtTCPFastOpenPassiveFail) == 1);
  h.finish();
}

TEST_CASE("tcp_fastopen 0x200: no cookie needed — a cookie request with data opens at once") {
  TcpHarness h(with({{Tunable::kTcpFastopen, 0x202}}));
  TcpListener* l = h.listen(80);
  l->set_fastopen_queue(4);
  Peer peer(h);
  auto before = h.snapshot();
  auto out = peer.send(h.frame(tfo_syn(peer, {}), stream_bytes(peer.off(0), 20)));
  // Linux counts the cookie request first (tcp_try_fastopen), whatever follows.
  CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPFastOpenPassive, 1},
                                         {Counter::TcpExtTCPFastOpenCookieReqd, 1},
                                         {Counter::TcpPassiveOpens, 1}})) == "");
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == peer.off(20));
  TcpSocket* s = l->accept();
  REQUIRE(s != nullptr);
  CHECK(s->readable_bytes() == 20);
  h.finish();
}

TEST_CASE("RFC 7413 / RFC 9293 3.8.1: a Fast Open SYN-ACK is retransmitted, and sent again for a retransmitted SYN") {
  TcpHarness h(with({{Tunable::kTcpFastopen, 0x403}, {Tunable::kTcpSynackRetries, 2}}));
  TcpListener* l = h.listen(80);
  Peer peer(h);
  const tcp::FastOpenCookie cookie = h.tcp().fastopen_keys().make(h.peer().ip(), h.our_ip());
  const Bytes syn = h.frame(tfo_syn(peer, cookie), stream_bytes(peer.off(0), 30));
  auto out = peer.send(syn);
  REQUIRE(out.size() == 1);
  const Seg first = out[0];
  TcpSocket* s = l->accept();
  REQUIRE(s != nullptr);
  // The SYN again (our SYN-ACK lost): the same SYN-ACK, the data not twice.
  auto before = h.snapshot();
  out = peer.send(syn);
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kSynAck);
  CHECK(out[0].h.seq == first.h.seq);
  CHECK(out[0].h.ack == peer.off(30));
  CHECK(h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPSynRetrans, 1},
                                         {Counter::TcpRetransSegs, 1}})) == "");
  CHECK(s->readable_bytes() == 30);
  // Timer-driven retransmissions at 1 s and 3 s, then the connection fails.
  std::vector<Seg> all;
  CHECK(synack_times(h, absl::Seconds(8), &all) == std::vector<int64_t>{1000, 3000});
  CHECK(s->state() == TcpState::kClosed);
  CHECK(s->was_reset());
  CHECK(h.count(Counter::TcpExtTCPAbortOnTimeout) == 1);
  s->close();
  h.poll();
  CHECK(h.tcp().connection_count() == 0);
  h.finish();
}

#endif  // INLET_WITH_TFO

TEST_CASE("close_listener: connections waiting in its accept queue are reset, requests dropped") {
  TcpHarness h;
  TcpListener* l = h.listen(80);
  Peer a(h, PeerOptions{.sport = 41000});
  auto out = a.send(a.syn_frame());
  REQUIRE(out.size() == 1);
  a.set_ack(out[0].h.seq + 1);
  CHECK(a.send(a.frame(kAck, a.off(0))).empty());
  Peer b(h, PeerOptions{.sport = 41001});
  REQUIRE(b.send(b.syn_frame()).size() == 1);
  auto before = h.snapshot();
  h.tcp().close_listener(l);
  out = h.poll();
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kRstAck);
  CHECK(out[0].h.dst_port == 41000);
  CHECK(out[0].h.seq == a.ack());
  CHECK(out[0].h.ack == a.off(0));
  CHECK(h.counter_diff(before, io(0, 1, {{Counter::TcpOutRsts, 1},
                                         {Counter::TcpEstabResets, 1}})) == "");
  CHECK(h.tcp().connection_count() == 0);
  // The port is closed now.
  out = b.send(b.syn_frame());
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kRstAck);
  h.finish();
}

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::tcp_test

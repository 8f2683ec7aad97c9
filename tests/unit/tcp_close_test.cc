// Closing through a whole stack: the peer's FIN (CLOSE_WAIT, LAST_ACK), our
// FIN (FIN_WAIT_1/2, half-close, CLOSING), TIME_WAIT in its compact table
// (re-ACKs, restarts, resets, reuse, tcp_max_tw_buckets), FIN retransmission,
// the FIN_WAIT_2 timeout, and aborts (close() with unread data, data after
// close, resets) — RFC 9293 3.6 and 3.10.7.4, with Linux's counters.
#include <doctest/doctest.h>

#include "tcp_fixture.h"

namespace inlet::tcp_test {
namespace {

TEST_SUITE_BEGIN("tcp.close");

HarnessOptions with(std::vector<std::pair<Tunable, int64_t>> sysctls) {
  HarnessOptions o;
  o.sysctls = std::move(sysctls);
  return o;
}

PeerOptions near_wrap(uint32_t isn) {
  PeerOptions o;
  o.isn = isn;
  return o;
}

TEST_CASE("RFC 9293 3.6: the peer's FIN is acknowledged (CLOSE_WAIT); close() sends ours (LAST_ACK); its ACK closes") {
  Connected c({}, near_wrap(0xFFFFFF9Au));  // the FIN ends at 2^32
  Peer& p = c.peer;
  int woken = 0;
  c.sock()->set_data_ready([&](TcpSocket&) { ++woken; });
  auto before = c.h.snapshot();
  auto out = p.data(p.off(0), 100, kFinAck | fl::kPsh);
  CHECK(c.h.counter_diff(before, io(1, 1)) == "");
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kAck);
  CHECK(out[0].h.ack == p.off(101));
  CHECK(out[0].h.ack == 0u);
  CHECK(woken == 1);
  CHECK(c.sock()->state() == TcpState::kCloseWait);
  CHECK_FALSE(c.sock()->eof());  // data first
  CHECK(p.read_all(p.off(0)) == 100);
  CHECK(c.sock()->eof());
  CHECK(c.sock()->readable());
  CHECK(c.h.tcp().established_count() == 1);  // CLOSE_WAIT counts as TcpCurrEstab
  // Data after the FIN is ignored; a repeated FIN is ACKed again.
  before = c.h.snapshot();
  CHECK(p.data(p.off(101), 10).empty());
  out = p.send(p.frame(kFinAck, p.off(100)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(101));
  CHECK(c.h.counter_diff(before, io(2, 1, {{Counter::TcpInErrs, 2}})) == "");
  // close(): our FIN.
  before = c.h.snapshot();
  c.sock()->close();
  out = c.h.poll();
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kFinAck);
  CHECK(out[0].h.seq == p.iss() + 1);
  CHECK(out[0].h.ack == p.off(101));
  CHECK(c.h.counter_diff(before, io(0, 1)) == "");
  CHECK(c.h.tcp().connection_count() == 1);  // LAST_ACK
  // Its ACK: gone, nothing sent.
  p.set_ack(p.iss() + 2);
  before = c.h.snapshot();
  CHECK(p.send(p.frame(kAck, p.off(101))).empty());
  CHECK(c.h.counter_diff(before, io(1, 0)) == "");
  CHECK(c.h.tcp().connection_count() == 0);
  CHECK(c.h.tcp().time_wait_count() == 0);
  c.h.finish();
}

TEST_CASE("RFC 9293 3.6: LAST_ACK retransmits the FIN with back-off until it is acknowledged") {
  Connected c;
  Peer& p = c.peer;
  p.send(p.frame(kFinAck, p.off(0)));
  c.sock()->close();
  REQUIRE(c.h.poll().size() == 1);
  auto before = c.h.snapshot();
  std::vector<int64_t> at;
  for (int ms = 100; ms <= 8000; ms += 100) {
    for (const Seg& s : c.h.wait(absl::Milliseconds(100), absl::Milliseconds(100))) {
      CHECK(s.flags() == kFinAck);
      CHECK(s.h.seq == p.iss() + 1);
      at.push_back(ms);
    }
  }
  CHECK(at == std::vector<int64_t>{1000, 3000, 7000});
  CHECK(c.h.counter_diff(before, io(0, 3, {{Counter::TcpRetransSegs, 3}})) == "");
  p.set_ack(p.iss() + 2);
  CHECK(p.send(p.frame(kAck, p.off(1))).empty());
  CHECK(c.h.tcp().connection_count() == 0);
  CHECK(c.h.wait(absl::Seconds(20), absl::Milliseconds(500)).empty());
  c.h.finish();
}

TEST_CASE("RFC 9293 3.6: half-close — after shutdown_write data keeps arriving (FIN_WAIT_1, FIN_WAIT_2), the peer's FIN leads to TIME_WAIT") {
  Connected c({}, near_wrap(0xFFFFFFFFu));
  Peer& p = c.peer;
  auto before = c.h.snapshot();
  c.sock()->shutdown_write();
  auto out = c.h.poll();
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kFinAck);
  CHECK(out[0].h.seq == p.iss() + 1);
  CHECK(out[0].h.ack == p.off(0));
  CHECK(c.sock()->state() == TcpState::kFinWait1);
  // Data that does not yet acknowledge our FIN.
  out = p.data(p.off(0), 300);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.seq == p.iss() + 2);  // after our FIN
  CHECK(out[0].h.ack == p.off(300));
  CHECK(c.sock()->state() == TcpState::kFinWait1);
  // Our FIN acknowledged.
  p.set_ack(p.iss() + 2);
  CHECK(p.send(p.frame(kAck, p.off(300))).empty());
  CHECK(c.sock()->state() == TcpState::kFinWait2);
  out = p.data(p.off(300), 200);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(500));
  // No FIN_WAIT_2 timeout while the application still holds the socket.
  CHECK(c.h.wait(absl::Seconds(120), absl::Seconds(1)).empty());
  CHECK(c.sock()->state() == TcpState::kFinWait2);
  // The peer's FIN: ACKed at once, TIME_WAIT.
  out = p.send(p.frame(kFinAck, p.off(500)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kAck);
  CHECK(out[0].h.seq == p.iss() + 2);
  CHECK(out[0].h.ack == p.off(501));
  CHECK(c.sock()->state() == TcpState::kTimeWait);
  CHECK(c.h.tcp().time_wait_count() == 1);
  CHECK(c.h.counter_diff(before, io(4, 4, {{Counter::TcpExtTW, 1},
                                           {Counter::TcpExtTCPPureAcks, 1},
                                           {Counter::TcpExtTCPQuickAck, 2}})) == "");
  // The data is still there to read, then EOF.
  CHECK(p.read_all(p.off(0)) == 500);
  CHECK(c.sock()->eof());
  c.sock()->close();
  c.h.poll();
  CHECK(c.h.tcp().connection_count() == 0);
  CHECK(c.h.tcp().time_wait_count() == 1);
  c.h.finish();
  CHECK(c.h.tcp().time_wait_count() == 0);
}

// A connection driven to TIME_WAIT by the peer's FIN after ours was ACKed.
void to_time_wait(Connected& c) {
  Peer& p = c.peer;
  c.sock()->close();
  auto out = c.h.poll();
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].flags() == kFinAck);
  p.set_ack(p.iss() + 2);
  out = p.send(p.frame(kFinAck, p.off(0)));
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].h.ack == p.off(1));
  REQUIRE(c.h.tcp().connection_count() == 0);  // the application let go: compact entry only
  REQUIRE(c.h.tcp().time_wait_count() == 1);
}

TEST_CASE("RFC 9293 3.10.7.4 TIME-WAIT: a retransmitted FIN is ACKed again and restarts the 2 MSL timer; TIME_WAIT ends after 60 s") {
  Connected c;
  Peer& p = c.peer;
  to_time_wait(c);
  CHECK(c.h.wait(absl::Seconds(30), absl::Milliseconds(500)).empty());
  auto before = c.h.snapshot();
  auto out = p.send(p.frame(kFinAck, p.off(0)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kAck);
  CHECK(out[0].h.seq == p.iss() + 2);
  CHECK(out[0].h.ack == p.off(1));
  REQUIRE(out[0].ts().has_value());
  CHECK(out[0].h.window > 0);
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpInErrs, 1}})) == "");
  // A pure ACK is absorbed silently.
  CHECK(p.send(p.frame(kAck, p.off(1))).empty());
  // 60 s from the first FIN: still there (restarted); 60 s from the second: gone.
  CHECK(c.h.wait(absl::Seconds(31), absl::Milliseconds(500)).empty());
  CHECK(c.h.tcp().time_wait_count() == 1);
  CHECK(c.h.wait(absl::Seconds(30), absl::Milliseconds(500)).empty());
  CHECK(c.h.tcp().time_wait_count() == 0);
  // Afterwards the tuple is unknown: the listener answers an ACK with a reset.
  out = p.send(p.frame(kAck, p.off(1)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kRst);
  c.h.finish();
}

TEST_CASE("TIME_WAIT: a RST ends it (tcp_rfc1337=0); a SYN with a higher sequence opens a new connection") {
  Connected c;
  Peer& p = c.peer;
  to_time_wait(c);
  auto before = c.h.snapshot();
  CHECK(p.send(p.frame(kRst, p.off(1))).empty());
  CHECK(c.h.tcp().time_wait_count() == 0);
  CHECK(c.h.counter_diff(before, io(1, 0, {{Counter::TcpInErrs, 1}})) == "");

  Connected d;
  Peer& q = d.peer;
  to_time_wait(d);
  wire::TcpRepr syn = q.syn_header();
  syn.seq = q.off(100000);
  auto out = q.send(d.h.frame(syn));
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kSynAck);
  CHECK(out[0].h.ack == q.off(100001));
  CHECK(d.h.tcp().time_wait_count() == 0);
  CHECK(d.listener->syn_queue_length() == 1);
  // An old SYN (not above RCV.NXT) just gets the TIME_WAIT ACK.
  Connected e;
  Peer& r = e.peer;
  to_time_wait(e);
  syn = r.syn_header();
  out = r.send(e.h.frame(syn));
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kAck);
  CHECK(out[0].h.ack == r.off(1));
  CHECK(e.h.tcp().time_wait_count() == 1);
  c.h.finish();
  d.h.finish();
  e.h.finish();
}

TEST_CASE("net.ipv4.tcp_max_tw_buckets: beyond it a closing connection skips TIME_WAIT (TCPTimeWaitOverflow); 0 means none") {
  for (int64_t buckets : {1, 0}) {
    CAPTURE(buckets);
    TcpHarness h(with({{Tunable::kTcpMaxTimeWait, buckets}}));
    TcpListener* l = h.listen(80);
    for (uint16_t i = 0; i < 2; ++i) {
      Peer p(h, PeerOptions{.sport = static_cast<uint16_t>(41000 + i)});
      p.handshake(l);
      p.sock()->close();
      REQUIRE(h.poll().size() == 1);
      p.set_ack(p.iss() + 2);
      auto before = h.snapshot();
      auto out = p.send(p.frame(kFinAck, p.off(0)));
      REQUIRE(out.size() == 1);
      CHECK(out[0].h.ack == p.off(1));
      const bool fits = i < buckets;
      CHECK(h.counter_diff(before, io(1, 1, {{fits ? Counter::TcpExtTW : Counter::TcpExtTCPTimeWaitOverflow, 1}})) == "");
    }
    CHECK(h.tcp().time_wait_count() == static_cast<size_t>(buckets));
    CHECK(h.tcp().connection_count() == 0);
    h.finish();
  }
}

TEST_CASE("TIME_WAIT table: entries ended early by resets make room again") {
  TcpHarness h(with({{Tunable::kTcpMaxTimeWait, 2}}));
  TcpListener* l = h.listen(80);
  std::vector<std::unique_ptr<Peer>> peers;
  auto close_one = [&](uint16_t sport) -> Peer& {
    peers.push_back(std::make_unique<Peer>(h, PeerOptions{.sport = sport}));
    Peer& p = *peers.back();
    p.handshake(l);
    p.sock()->close();
    REQUIRE(h.poll().size() == 1);
    p.set_ack(p.iss() + 2);
    REQUIRE(p.send(p.frame(kFinAck, p.off(0))).size() == 1);
    return p;
  };
  Peer& a = close_one(41000);
  Peer& b = close_one(41001);
  CHECK(h.tcp().time_wait_count() == 2);
  // Reset the newer one, then the older: the ring is full of dead entries.
  CHECK(b.send(b.frame(kRst, b.off(1))).empty());
  CHECK(a.send(a.frame(kRst, a.off(1))).empty());
  CHECK(h.tcp().time_wait_count() == 0);
  Peer& c1 = close_one(41002);
  Peer& c2 = close_one(41003);
  CHECK(h.tcp().time_wait_count() == 2);
  CHECK(h.count(Counter::TcpExtTCPTimeWaitOverflow) == 0);
  CHECK(h.count(Counter::TcpExtTW) == 4);
  // Both are live: each re-ACKs its FIN.
  auto out = c1.send(c1.frame(kFinAck, c1.off(0)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.dst_port == 41002);
  out = c2.send(c2.frame(kFinAck, c2.off(0)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.dst_port == 41003);
  // Kill the older, keep the newer, add one: still two, order kept.
  CHECK(c1.send(c1.frame(kRst, c1.off(1))).empty());
  Peer& c3 = close_one(41004);
  CHECK(h.tcp().time_wait_count() == 2);
  CHECK(c3.send(c3.frame(kFinAck, c3.off(0))).size() == 1);
  CHECK(h.wait(absl::Seconds(61), absl::Seconds(1)).empty());
  CHECK(h.tcp().time_wait_count() == 0);
  h.finish();
}

TEST_CASE("RFC 9293 3.6: simultaneous close — FIN_WAIT_1, the peer's FIN (CLOSING), then its ACK (TIME_WAIT)") {
  Connected c;
  Peer& p = c.peer;
  c.sock()->shutdown_write();
  REQUIRE(c.h.poll().size() == 1);
  // The peer's FIN crossed ours: it does not acknowledge it.
  auto out = p.send(p.frame(kFinAck, p.off(0)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kAck);
  CHECK(out[0].h.ack == p.off(1));
  CHECK(c.sock()->state() == TcpState::kClosing);
  p.set_ack(p.iss() + 2);
  CHECK(p.send(p.frame(kAck, p.off(1))).empty());
  CHECK(c.sock()->state() == TcpState::kTimeWait);
  CHECK(c.h.tcp().time_wait_count() == 1);
  c.sock()->close();
  c.h.finish();
}

TEST_CASE("FIN_WAIT_1: the FIN is retransmitted with back-off (capped at 64 s); after 8 tries the connection is aborted") {
  Connected c;
  c.sock()->close();
  REQUIRE(c.h.poll().size() == 1);
  auto before = c.h.snapshot();
  std::vector<int64_t> at;
  for (int s = 1; s <= 300; ++s) {
    for (const Seg& seg : c.h.wait(absl::Seconds(1), absl::Seconds(1))) {
      CHECK(seg.flags() == kFinAck);
      at.push_back(s);
    }
  }
  CHECK(at == std::vector<int64_t>{1, 3, 7, 15, 31, 63, 127, 191});
  CHECK(c.h.counter_diff(before, io(0, 8, {{Counter::TcpRetransSegs, 8},
                                           {Counter::TcpExtTCPAbortOnTimeout, 1}})) == "");
  CHECK(c.h.tcp().connection_count() == 0);
  c.h.finish();
}

TEST_CASE("FIN_WAIT_2 after close(): net.ipv4.tcp_fin_timeout ends it silently") {
  Connected c(with({{Tunable::kTcpFinTimeout, 10}}));
  Peer& p = c.peer;
  c.sock()->close();
  REQUIRE(c.h.poll().size() == 1);
  p.set_ack(p.iss() + 2);
  CHECK(p.send(p.frame(kAck, p.off(0))).empty());
  CHECK(c.h.tcp().connection_count() == 1);
  auto before = c.h.snapshot();
  CHECK(c.h.wait(absl::Milliseconds(9900), absl::Milliseconds(100)).empty());
  CHECK(c.h.tcp().connection_count() == 1);
  CHECK(c.h.wait(absl::Milliseconds(100), absl::Milliseconds(100)).empty());
  CHECK(c.h.tcp().connection_count() == 0);
  CHECK(c.h.tcp().time_wait_count() == 0);
  CHECK(c.h.counter_diff(before, {}) == "");
  c.h.finish();
}

TEST_CASE("Linux tcp_rcv_state_process: data for a closed socket in FIN_WAIT is answered with a reset (TCPAbortOnData)") {
  Connected c({}, near_wrap(0xFFFFFFFEu));
  Peer& p = c.peer;
  c.sock()->close();
  REQUIRE(c.h.poll().size() == 1);
  auto before = c.h.snapshot();
  auto out = p.data(p.off(0), 100);
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kRstAck);
  CHECK(out[0].h.seq == p.iss() + 2);
  CHECK(out[0].h.ack == p.off(0));
  CHECK(c.h.counter_diff(before, io(1, 1, {{Counter::TcpExtTCPAbortOnData, 1},
                                           {Counter::TcpOutRsts, 1},
                                           {Counter::TcpInErrs, 1}})) == "");
  CHECK(c.h.tcp().connection_count() == 0);
  c.h.finish();
}

TEST_CASE("RFC 2525 2.17: close() with unread data sends a reset, not a FIN (TCPAbortOnClose)") {
  Connected c({}, near_wrap(0xFFFFFF00u));
  Peer& p = c.peer;
  p.data(p.off(0), 1000);
  p.data(p.off(2000), 500);  // and something out of order
  auto before = c.h.snapshot();
  c.sock()->close();
  auto out = c.h.poll();
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kRstAck);
  CHECK(out[0].h.seq == p.iss() + 1);
  CHECK(out[0].h.ack == p.off(1000));
  CHECK(out[0].h.window == 0);
  CHECK(c.h.counter_diff(before, io(0, 1, {{Counter::TcpExtTCPAbortOnClose, 1},
                                           {Counter::TcpEstabResets, 1},
                                           {Counter::TcpOutRsts, 1}})) == "");
  CHECK(c.h.tcp().connection_count() == 0);
  CHECK(c.h.held() == 0);
  c.h.finish();
}

TEST_CASE("RFC 2525 2.17: close() with unread data resets a half-closed connection too") {
  Connected c;
  Peer& p = c.peer;
  c.sock()->shutdown_write();
  REQUIRE(c.h.poll().size() == 1);
  p.set_ack(p.iss() + 2);
  p.data(p.off(0), 300);  // acknowledges our FIN: FIN_WAIT_2
  REQUIRE(c.sock()->state() == TcpState::kFinWait2);
  auto before = c.h.snapshot();
  c.sock()->close();
  auto out = c.h.poll();
  REQUIRE(out.size() == 1);
  CHECK(out[0].flags() == kRstAck);
  CHECK(out[0].h.seq == p.iss() + 2);
  CHECK(out[0].h.ack == p.off(300));
  CHECK(c.h.counter_diff(before, io(0, 1, {{Counter::TcpExtTCPAbortOnClose, 1},
                                           {Counter::TcpOutRsts, 1}})) == "");
  CHECK(c.h.tcp().connection_count() == 0);
  CHECK(c.h.held() == 0);
  c.h.finish();
}

TEST_CASE("RFC 9293 3.10.7.4: a FIN beyond a hole waits for the hole; a bare FIN out of order is ACKed at once") {
  Connected c({}, near_wrap(0xFFFFFFF0u));
  Peer& p = c.peer;
  auto out = p.data(p.off(1000), 100, kFinAck);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(0));
  REQUIRE(out[0].sack().size() == 1);
  CHECK(out[0].sack()[0].left == p.off(1000));
  CHECK(out[0].sack()[0].right == p.off(1100));
  CHECK(c.sock()->state() == TcpState::kEstablished);
  out = p.data(p.off(0), 1000);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == p.off(1101));
  CHECK(c.sock()->state() == TcpState::kCloseWait);
  CHECK(p.read_all(p.off(0)) == 1100);
  CHECK(c.sock()->eof());

  Connected d;
  Peer& q = d.peer;
  auto before = d.h.snapshot();
  out = q.send(q.frame(kFinAck, q.off(500)));
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == q.off(0));
  CHECK(d.h.counter_diff(before, io(1, 1)) == "");
  out = q.data(q.off(0), 500);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == q.off(501));
  CHECK(d.sock()->state() == TcpState::kCloseWait);
  c.h.finish();
  d.h.finish();
}

TEST_CASE("RFC 9293 3.10.7.4: after a reset the socket reports it; close() then frees the connection") {
  Connected c;
  Peer& p = c.peer;
  c.sock()->shutdown_write();
  REQUIRE(c.h.poll().size() == 1);
  auto before = c.h.snapshot();
  CHECK(p.send(p.frame(kRstAck, p.off(0))).empty());
  CHECK(c.h.counter_diff(before, io(1, 0)) == "");  // FIN_WAIT_1: not an EstabReset
  CHECK(c.sock()->was_reset());
  CHECK(c.sock()->state() == TcpState::kClosed);
  Bytes buf(10);
  CHECK(c.sock()->read(buf) == 0);
  // No more FIN retransmissions.
  CHECK(c.h.wait(absl::Seconds(5), absl::Milliseconds(100)).empty());
  c.sock()->close();
  c.h.poll();
  CHECK(c.h.tcp().connection_count() == 0);
  c.h.finish();
}

TEST_CASE("Linux tcp_done: a closed connection frees its 4-tuple at once, though the application still holds the socket") {
  Connected c;
  Peer& p = c.peer;
  TcpSocket* old = c.sock();
  // Reset by the peer.
  CHECK(p.send(p.frame(kRst, p.off(0))).empty());
  CHECK(old->state() == TcpState::kClosed);
  // The same client port connects again: a new connection, the old handle intact.
  Peer again(c.h, PeerOptions{.isn = 777777});
  again.handshake(c.listener);
  CHECK(again.sock() != old);
  CHECK(again.sock()->tuple() == old->tuple());
  CHECK(old->was_reset());
  auto out = again.data(again.off(0), 10);
  REQUIRE(out.size() == 1);
  CHECK(out[0].h.ack == again.off(10));
  CHECK(again.sock()->readable_bytes() == 10);
  old->close();
  c.h.poll();
  CHECK(c.h.tcp().connection_count() == 1);
  CHECK(again.sock()->state() == TcpState::kEstablished);
  // LAST_ACK completed by half-close while the application still holds it.
  Peer third(c.h, PeerOptions{.sport = 41000});
  third.handshake(c.listener);
  third.send(third.frame(kFinAck, third.off(0)));
  third.sock()->shutdown_write();
  REQUIRE(c.h.poll().size() == 1);
  third.set_ack(third.iss() + 2);
  CHECK(third.send(third.frame(kAck, third.off(1))).empty());
  CHECK(third.sock()->state() == TcpState::kClosed);
  CHECK_FALSE(third.sock()->was_reset());
  CHECK(third.sock()->eof());
  Peer fourth(c.h, PeerOptions{.sport = 41000, .isn = 5000000});
  fourth.handshake(c.listener);
  CHECK(fourth.sock() != third.sock());
  third.sock()->close();
  c.h.finish();
}

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::tcp_test

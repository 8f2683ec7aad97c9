// The TCP tests' harness: a StackHarness (a whole Stack on a SimPort in
// ManualClock time) plus a scripted remote peer for one connection at a time.
// The peer builds segments (options, timestamps, payload bytes that encode
// their own sequence number), the harness decodes every segment the stack
// sent (checksums verified) into Seg records, and the tests assert on those,
// on exact counter movements and on socket state.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "stack_fixture.h"
#include "tcp/tcp_layer.h"
#include "tcp/tcp_socket.h"
#include "wire/tcp.h"

namespace inlet::tcp_test {

using stack_test::Bytes;
using stack_test::CounterSnapshot;
using stack_test::HarnessOptions;
using stack_test::StackHarness;
using tcp::SeqNum;
using tcp::TcpListener;
using tcp::TcpSocket;
using tcp::TcpState;
using Expected = StackHarness::Expected;

namespace fl = wire::tcpflag;
inline constexpr uint8_t kAck = fl::kAck;
inline constexpr uint8_t kPshAck = fl::kPsh | fl::kAck;
inline constexpr uint8_t kSynAck = fl::kSyn | fl::kAck;
inline constexpr uint8_t kFinAck = fl::kFin | fl::kAck;
inline constexpr uint8_t kRstAck = fl::kRst | fl::kAck;
inline constexpr uint8_t kRst = fl::kRst;
inline constexpr uint8_t kSyn = fl::kSyn;

// The byte a stream carries at sequence number `seq`: payloads encode their
// own position, so any misplaced, duplicated or lost byte shows on reading.
inline uint8_t stream_byte(uint32_t seq) {
  return static_cast<uint8_t>((seq * 2654435761u) >> 24);
}
inline Bytes stream_bytes(uint32_t seq, size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = stream_byte(seq + static_cast<uint32_t>(i));
  return b;
}
inline bool is_stream(uint32_t seq, std::span<const uint8_t> b) {
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i] != stream_byte(seq + static_cast<uint32_t>(i))) return false;
  }
  return true;
}

// One TCP segment the stack transmitted.
struct Seg {
  wire::Ipv4Address src, dst;
  wire::TcpRepr h;
  Bytes payload;

  uint8_t flags() const { return h.flags; }
  std::vector<wire::TcpSackBlock> sack() const {
    auto s = h.options.sack();
    return std::vector<wire::TcpSackBlock>(s.begin(), s.end());
  }
  std::optional<wire::TcpTimestamps> ts() const { return h.options.timestamps; }
  std::string str() const {
    std::string f;
    const char* names = "FSRPAU";
    for (int i = 0; i < 6; ++i) {
      if (h.flags & (1 << i)) f += names[i];
    }
    std::string sack;
    for (const auto& b : h.options.sack()) sack += absl::StrFormat(" sack %u-%u", b.left, b.right);
    return absl::StrFormat("[%s] seq=%u ack=%u win=%u len=%u%s", f, h.seq, h.ack, h.window,
                           payload.size(), sack);
  }
};

inline std::string describe(const std::vector<Seg>& segs) {
  std::string out;
  for (const Seg& s : segs) out += s.str() + "; ";
  return out;
}

// Decodes what the stack sent. Every frame must be IPv4/TCP with good IPv4
// and TCP checksums (the TCP tests learn the peer's MAC first, so no ARP).
inline std::vector<Seg> tcp_segments(const std::vector<Bytes>& frames) {
  std::vector<Seg> out;
  for (const Bytes& f : frames) {
    auto sent = stack_test::parse_sent_ipv4(f);
    REQUIRE(sent.ip.protocol() == wire::ipproto::kTcp);
    auto t = wire::TcpView::parse(sent.ip.payload(), sent.ip.src(), sent.ip.dst());
    REQUIRE(t.ok());
    Seg s;
    s.src = sent.ip.src();
    s.dst = sent.ip.dst();
    s.h = wire::TcpRepr::from(*t);
    s.payload.assign(t->payload().begin(), t->payload().end());
    out.push_back(std::move(s));
  }
  return out;
}

// Counter movements for `in` TCP segments received and `out` sent, plus the
// scenario's own (added to these).
inline Expected io(uint64_t in, uint64_t out, const Expected& extra = {}) {
  std::map<Counter, uint64_t> m;
  if (in > 0) {
    m[Counter::rx_packets] += in;
    m[Counter::IpInReceives] += in;
    m[Counter::IpInDelivers] += in;
    m[Counter::TcpInSegs] += in;
  }
  if (out > 0) {
    m[Counter::tx_packets] += out;
    m[Counter::IpOutRequests] += out;
    m[Counter::TcpOutSegs] += out;
  }
  for (const auto& [c, n] : extra) m[c] += n;
  return Expected(m.begin(), m.end());
}

// RFC 9293 3.8.6.2.2 / RFC 7323 2.4: the right edge of the offered window
// (SEG.ACK + SEG.WND << scale) never moves left. Feed it every segment the
// stack sent on one connection.
class RightEdge {
 public:
  explicit RightEdge(uint8_t wscale) : wscale_(wscale) {}
  void see(const std::vector<Seg>& segs) {
    for (const Seg& s : segs) {
      if ((s.flags() & fl::kAck) == 0 || (s.flags() & fl::kRst) != 0) continue;
      const SeqNum right = SeqNum(s.h.ack) + (uint32_t{s.h.window} << wscale_);
      if (seen_) CHECK_MESSAGE(right >= last_, s.str());
      last_ = right;
      seen_ = true;
    }
  }
  SeqNum last() const { return last_; }

 private:
  uint8_t wscale_;
  SeqNum last_;
  bool seen_ = false;
};

class TcpHarness : public StackHarness {
 public:
  explicit TcpHarness(HarnessOptions options = {}) : StackHarness(with_defaults(std::move(options))) {
    learn_peer();
    ring_buffers_ = stack().pool().in_use();
  }
  // Buffers held beyond those the NIC's receive ring keeps posted.
  uint32_t held() { return stack().pool().in_use() - ring_buffers_; }

  TcpListener* listen(uint16_t port = 80, size_t backlog = 128) {
    auto l = stack().tcp_listen(wire::kIpv4Any, port, backlog);
    REQUIRE(l.ok());
    return *l;
  }
  Bytes frame(const wire::TcpRepr& r, std::span<const uint8_t> payload = {}) const {
    return peer().tcp(our_mac(), our_ip(), r, payload);
  }
  // Puts segments on the wire (at most a ring's worth per round) and returns
  // what the stack sent in reply.
  std::vector<Seg> deliver(const std::vector<Bytes>& frames) {
    std::vector<Bytes> sent;
    for (size_t i = 0; i < frames.size(); i += 32) {
      std::vector<Bytes> chunk(frames.begin() + static_cast<ptrdiff_t>(i),
                               frames.begin() + static_cast<ptrdiff_t>(std::min(frames.size(), i + 32)));
      for (Bytes& f : exchange(chunk)) sent.push_back(std::move(f));
    }
    return decode(std::move(sent));
  }
  std::vector<Seg> deliver(const Bytes& frame) { return deliver(std::vector<Bytes>{frame}); }
  // Polls once more (a read's window update, say) and decodes what went out.
  std::vector<Seg> poll() { return decode(run()); }
  // Virtual time passes in `step`s, the stack polled after each.
  std::vector<Seg> wait(absl::Duration d, absl::Duration step = absl::Milliseconds(1)) {
    return decode(advance(d, step));
  }
  // The TCP segments among `frames`; ARP requests for the peer (a neighbour
  // entry aged out over a long wait) are answered as the peer would.
  std::vector<Seg> decode(std::vector<Bytes> frames) {
    std::vector<Bytes> tcp;
    for (int round = 0; round < 8 && !frames.empty(); ++round) {
      std::vector<Bytes> replies;
      for (Bytes& f : frames) {
        auto eth = wire::EthernetView::parse(f);
        REQUIRE(eth.ok());
        if (eth->ethertype() == wire::ethertype::kArp) {
          auto arp = wire::ArpView::parse(eth->payload());
          REQUIRE(arp.ok());
          if (arp->operation() == wire::ArpOperation::kRequest && arp->target_ip() == peer().ip()) {
            replies.push_back(peer().arp_reply(our_mac(), our_ip()));
          }
          ++arp_requests_;
          continue;
        }
        tcp.push_back(std::move(f));
      }
      frames = replies.empty() ? std::vector<Bytes>{} : exchange(replies);
    }
    return tcp_segments(tcp);
  }
  size_t arp_requests() const { return arp_requests_; }
  tcp::TcpLayer& tcp() { return stack().tcp(); }

 private:
  // Neighbour entries that outlive every test's virtual time (ARP traffic
  // would otherwise mix into the exact counter checks); a test's own
  // settings come after and win.
  static HarnessOptions with_defaults(HarnessOptions o) {
    o.sysctls.insert(o.sysctls.begin(), {{Tunable::kNeighBaseReachableMs, 3600000},
                                         {Tunable::kNeighGcStaleTime, 86400}});
    return o;
  }

  uint32_t ring_buffers_ = 0;
  size_t arp_requests_ = 0;
};

// The segments sent to one peer port.
inline std::vector<Seg> to_port(const std::vector<Seg>& segs, uint16_t port) {
  std::vector<Seg> out;
  for (const Seg& s : segs) {
    if (s.h.dst_port == port) out.push_back(s);
  }
  return out;
}

// What the peer puts in its SYN.
struct PeerOptions {
  uint16_t sport = 40000;
  uint16_t dport = 80;
  uint32_t isn = 1000;
  std::optional<uint16_t> mss = 1460;
  std::optional<uint8_t> wscale = 7;
  bool sack = true;
  bool ts = true;
  uint32_t tsval = 100;
  uint16_t window = 65535;
};

// The remote end of one connection, as a test drives it. Sequence numbers
// are absolute; off(n) is the peer's ISN + 1 + n (its n-th data byte).
class Peer {
 public:
  Peer(TcpHarness& h, PeerOptions o = {}) : h_(h), o_(o), tsval_(o.tsval) {}

  const PeerOptions& options() const { return o_; }
  uint32_t off(uint32_t n) const { return o_.isn + 1 + n; }
  // Our ISS as the SYN-ACK showed it, and what the peer acknowledges.
  uint32_t iss() const { return iss_; }
  uint32_t ack() const { return ack_; }
  void set_ack(uint32_t a) { ack_ = a; }
  // The next TSval the peer sends (each segment built takes one and adds 1).
  uint32_t tsval() const { return tsval_; }
  void set_tsval(uint32_t v) { tsval_ = v; }
  // Our latest TSval as seen in what the stack sent.
  uint32_t ts_echo() const { return ts_echo_; }
  bool ts_ok() const { return ts_ok_; }
  TcpSocket* sock() const { return sock_; }

  wire::TcpRepr syn_header() {
    wire::TcpRepr r;
    r.src_port = o_.sport;
    r.dst_port = o_.dport;
    r.seq = o_.isn;
    r.flags = kSyn;
    r.window = o_.window;
    r.options.mss = o_.mss;
    r.options.window_scale = o_.wscale;
    r.options.sack_permitted = o_.sack;
    if (o_.ts) r.options.timestamps = wire::TcpTimestamps{tsval_++, 0};
    return r;
  }
  Bytes syn_frame() { return h_.frame(syn_header()); }
  // Any segment of this connection: timestamps when negotiated.
  wire::TcpRepr header(uint8_t flags, uint32_t seq) {
    wire::TcpRepr r;
    r.src_port = o_.sport;
    r.dst_port = o_.dport;
    r.seq = seq;
    r.ack = (flags & fl::kAck) ? ack_ : 0;
    r.flags = flags;
    r.window = o_.window;
    if (ts_ok_) r.options.timestamps = wire::TcpTimestamps{tsval_++, ts_echo_};
    return r;
  }
  Bytes frame(uint8_t flags, uint32_t seq, std::span<const uint8_t> payload = {}) {
    return h_.frame(header(flags, seq), payload);
  }
  // `len` stream bytes at absolute sequence `seq`.
  Bytes data_frame(uint32_t seq, size_t len, uint8_t flags = kPshAck) {
    return frame(flags, seq, stream_bytes(seq, len));
  }

  // Sends and notes our timestamps from the reply.
  std::vector<Seg> send(const Bytes& frame) { return observe(h_.deliver(frame)); }
  std::vector<Seg> send(const std::vector<Bytes>& frames) { return observe(h_.deliver(frames)); }
  std::vector<Seg> data(uint32_t seq, size_t len, uint8_t flags = kPshAck) {
    return send(data_frame(seq, len, flags));
  }
  // Notes our TSvals, and from a SYN-ACK our ISS (what to acknowledge) and
  // whether timestamps were agreed.
  std::vector<Seg> observe(std::vector<Seg> segs) {
    for (const Seg& s : segs) {
      if (s.h.dst_port != o_.sport) continue;
      if (s.ts()) ts_echo_ = s.ts()->value;
      if (s.flags() == kSynAck) {
        iss_ = s.h.seq;
        ack_ = iss_ + 1;
        ts_ok_ = o_.ts && s.ts().has_value();
      }
    }
    return segs;
  }

  // SYN → SYN-ACK (checked loosely; the handshake tests check it exactly)
  // → ACK; the connection waits in the accept queue. Returns the SYN-ACK.
  Seg connect() {
    auto out = send(syn_frame());
    REQUIRE_MESSAGE(out.size() == 1, describe(out));
    const Seg synack = out[0];
    REQUIRE(synack.flags() == kSynAck);
    REQUIRE(synack.h.ack == o_.isn + 1);
    out = send(frame(kAck, off(0)));
    REQUIRE_MESSAGE(out.empty(), describe(out));
    return synack;
  }
  // connect(), then accept().
  Seg handshake(TcpListener* l) {
    const Seg synack = connect();
    REQUIRE(l->acceptable());
    sock_ = l->accept();
    REQUIRE(sock_ != nullptr);
    REQUIRE(sock_->state() == TcpState::kEstablished);
    return synack;
  }

  // Reads everything queued and checks it is the stream from `from` on.
  size_t read_all(uint32_t from) {
    Bytes buf(1 << 20);
    const size_t n = sock_->read(buf);
    CHECK(is_stream(from, std::span<const uint8_t>(buf).first(n)));
    return n;
  }

 private:
  TcpHarness& h_;
  PeerOptions o_;
  uint32_t tsval_;
  uint32_t ts_echo_ = 0;
  bool ts_ok_ = false;
  uint32_t iss_ = 0;
  uint32_t ack_ = 0;
  TcpSocket* sock_ = nullptr;
};

// One established connection on port 80, ready for a test.
struct Connected {
  explicit Connected(HarnessOptions ho = {}, PeerOptions po = {})
      : h(std::move(ho)), listener(h.listen(po.dport)), peer(h, po) {
    peer.handshake(listener);
  }
  TcpHarness h;
  TcpListener* listener;
  Peer peer;
  TcpSocket* sock() { return peer.sock(); }
};

}  // namespace inlet::tcp_test

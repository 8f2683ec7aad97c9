// libFuzzer target: one TCP listener driven deep into its states by a small op
// language. The input picks segments whose sequence and acknowledgement
// numbers are RELATIVE to the connection's state (the peer's stream offset,
// the stack's last ACK, the ISS the stack chose as read from its SYN-ACK on
// the sim port's TX ring): handshakes with chosen options, in-order,
// overlapping, out-of-order and out-of-window data, FIN / RST / URG / PSH,
// window and timestamp/SACK options, clock advances, application reads (or
// none, to reach a zero window), half-close and close, new connections;
// bursts of segments polled together (merged by GRO when the input turns
// inlet.gro on) and super-frames scattered over several buffers with a
// NIC's offload metadata (checksum state, gso_size/gso_segs), some with a
// byte damaged deep in the chain; Fast Open (with the extended language and
// knobs bit 6): cookie requests, the stack's own cookie or a forged one, with
// data on the SYN.
//
// Invariants, checked after every op:
//   - the application reads exactly the peer's stream: byte i read is the
//     byte the peer sent at offset i, and offset i was sent (no gap);
//   - bytes_received() never exceeds the contiguous prefix sent, and
//     RCV.NXT - (IRS + 1) is bytes_received (+1 once a FIN is in);
//   - no segment the stack emits (other than a RST) acknowledges a byte the
//     peer never sent in order;
//   - no counter (gauges aside) ever goes backwards;
//   - the right edge of the window the stack offers (ACK + window scaled by
//     its SYN-ACK's shift when both sides offered scaling) never moves left
//     (RFC 9293 3.8.6 and RFC 7323 2.4: shrinking is discouraged; Linux never
//     retracts an offered window);
//   - a SYN-cookie connection whose handshake ACK echoed the SYN-ACK's
//     timestamp truly runs with the window scale that SYN-ACK offered;
//   - after shutdown the packet pool is back to its starting use.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/stack.h"
#include "fuzz/fuzz_input.h"
#include "ports/sim/sim_peer.h"
#include "ports/sim/sim_port.h"
#include "tcp/tcp_socket.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace {
using namespace inlet;
using inlet::fuzz::FuzzInput;
namespace fl = wire::tcpflag;

constexpr uint32_t kStream = 1u << 17;  // stream offsets the model tracks
constexpr uint16_t kListenPort = 80;
constexpr int kMaxOps = 160;

uint8_t stream_byte(uint32_t seq) { return static_cast<uint8_t>((seq * 2654435761u) >> 24); }

// The peer's side of one connection: what it sent where.
struct PeerModel {
  uint16_t port = 40000;
  uint32_t isn = 0;                        // IRS as the stack sees it
  std::vector<bool> sent = std::vector<bool>(kStream, false);
  uint32_t contiguous = 0;                 // offsets [0, contiguous) all sent
  std::vector<uint32_t> fin_offsets;       // where FINs were sent
  bool have_iss = false;                   // a SYN-ACK was seen
  bool cookie_synack = false;              // ... and it carried a SYN cookie
  uint32_t stack_iss = 0;
  uint32_t stack_snd_nxt = 0;              // highest seq + len the stack sent
  uint32_t last_ack = 0;                   // the stack's last ACK number (absolute)
  uint32_t ts_val = 1;
  uint8_t stack_ws = 0;                    // the shift in the stack's SYN-ACK (both sides offered one)
  bool edge_valid = false;
  uint32_t right_edge = 0;                 // the furthest seq the stack's window has offered
  std::optional<uint32_t> synack_tsval;    // the TSval of the stack's last SYN-ACK (a cookie's options)
  std::vector<std::optional<uint8_t>> cookie_expect;  // per cookie connection made, in order: the shift
                                                      // it must have (echo true) or nullopt (forged)
  uint64_t read_total = 0;                 // bytes the application read
  tcp::TcpSocket* sock = nullptr;

  int64_t rel(uint32_t seq) const { return static_cast<int32_t>(seq - (isn + 1)); }
  void mark(int64_t offset, uint32_t len) {
    for (int64_t o = std::max<int64_t>(offset, 0); o < offset + len && o < kStream; ++o) sent[o] = true;
    while (contiguous < kStream && sent[contiguous]) ++contiguous;
  }
  uint32_t ack_bound() const {
    for (uint32_t f : fin_offsets) {
      if (f <= contiguous) return contiguous + 1;
    }
    return contiguous;
  }
};

class Harness {
 public:
  explicit Harness(FuzzInput& in) : in_(in), peer_(wire::MacAddress({2, 0, 0, 0, 0, 1}), wire::Ipv4Address(0xC0000201u)) {
    Tunables t;
    // Small tables: set-up cost is most of a short input's run time.
    t.set(Tunable::kPoolBuffers, 256);
    t.set(Tunable::kFibMaxRoutes, 64);
    t.set(Tunable::kNeighGcThresh3, 16);
    t.set(Tunable::kTcpMaxTimeWait, 16);
    t.set(Tunable::kTcpMaxSynBacklog, 16);
    t.set(Tunable::kTxRingSize, 64);
    t.set(Tunable::kIpfragHighThresh, 262144);
    t.set(Tunable::kIpfragLowThresh, 196608);
    t.set(Tunable::kTcpMaxConnections, 8);
    t.set(Tunable::kTcpModerateRcvbuf, 0);
    FUZZ_CHECK(t.set_assignment("net.ipv4.tcp_rmem=4096 8192 16384").ok());
    const uint8_t knobs = in_.u8();
    t.set(Tunable::kTcpSack, knobs & 1);
    t.set(Tunable::kTcpTimestamps, (knobs >> 1) & 1);
    t.set(Tunable::kTcpWindowScaling, (knobs >> 2) & 1);
    t.set(Tunable::kTcpSyncookies, ((knobs >> 3) & 3) % 3);
#if INLET_WITH_GRO
    t.set(Tunable::kGro, (knobs >> 5) & 1);
#endif
    // 0x80: the op language with bursts and super-frames (kinds 13, 14).
    // Without it, op % 13 as before they existed, so older corpora and
    // regression inputs keep their meaning.
    op_kinds_ = (knobs & 0x80) ? 15 : 13;
#if INLET_WITH_TFO
    // 0x40 (extended only): Fast Open on every listener, cookies required.
    if ((knobs & 0xC0) == 0xC0) t.set(Tunable::kTcpFastopen, 0x402);
#endif
    stack_ = std::make_unique<Stack>(t, &clock_);
    pool_start_ = stack_->pool().in_use();  // before the port posts its RX buffers
    auto port = std::make_unique<sim::SimPort>(sim::SimPortConfig{.name = "sim0", .rx_ring_size = 64, .tx_ring_size = 256});
    nic_ = port.get();
    InterfaceSpec spec;
    spec.mac = wire::MacAddress({2, 0, 0, 0, 0, 2});
    spec.addresses = {{our_ip_, 24}};
    auto iface = stack_->add_interface(std::move(port), spec);
    FUZZ_CHECK(iface.ok());
    auto l = stack_->tcp_listen(wire::kIpv4Any, kListenPort, 4);
    FUZZ_CHECK(l.ok());
    listener_ = *l;
    send(peer_.arp_request(our_ip_));  // the stack learns the peer's MAC
    snapshot_counters();
    m_.isn = in_.u32();
  }

  void run() {
    for (int op = 0; op < kMaxOps && !in_.empty(); ++op) {
      step(in_.u8());
      check();
    }
    if (m_.sock != nullptr) {
      m_.sock->close();
      m_.sock = nullptr;
    }
    clock_.advance(absl::Seconds(300));
    poll();
    check();
    if (std::getenv("INLET_FUZZ_TRACE") != nullptr) {  // which states this input reached
      std::fprintf(stderr, "states:");
      for (unsigned i = 0; i < 16; ++i) {
        if (states_seen_ & (1u << i)) std::fprintf(stderr, " %s", std::string(tcp::tcp_state_name(static_cast<tcp::TcpState>(i))).c_str());
      }
      std::fprintf(stderr, "%s%s; bytes read %llu", zero_window_seen_ ? " zero-window" : "",
                   ooo_seen_ ? " out-of-order" : "", static_cast<unsigned long long>(m_.read_total));
#if INLET_WITH_GRO
      std::fprintf(stderr, "; GRO merged %llu", static_cast<unsigned long long>(stack_->ip().gro_stats().merged));
#endif
      std::fprintf(stderr, "; checksum errors %llu\n",
                   static_cast<unsigned long long>(stack_->counters().get(Counter::TcpInCsumErrors)));
    }
    stack_->shutdown();
    if (stack_->pool().in_use() != pool_start_) std::fprintf(stderr, "pool in use %u, at start %u\n", stack_->pool().in_use(), pool_start_);
    FUZZ_CHECK(stack_->pool().in_use() == pool_start_);
    FUZZ_CHECK(stack_->ip().reassembler().pool().in_use() == 0);
  }

 private:
  void step(uint8_t op) {
    switch (op % op_kinds_) {
      case 0: syn(op); break;
      case 1: handshake_ack(op); break;
      case 2: case 3: case 4: data(op); break;
      case 5: segment(m_.contiguous, 0, fl::kAck, op); break;  // pure ACK / window update
      case 6: rst(op); break;
      case 7: advance(op); break;
      case 8: case 9: read(op); break;
      case 10: close(op); break;
      case 11: accept(); break;
      case 13: burst(op); break;
      case 14: super_frame(op); break;
      default: {  // anything but SYN, anywhere near the window
        const int64_t at = static_cast<int64_t>(m_.rel(m_.last_ack)) + static_cast<int8_t>(in_.u8()) * 16;
        segment(at, in_.small_below(200), static_cast<uint8_t>(in_.u8() & ~fl::kSyn), op);
      }
    }
  }

  wire::TcpOptions options(uint8_t choice, bool syn) {
    wire::TcpOptions o;
    if (syn) {
      if (choice & 0x01) o.mss = static_cast<uint16_t>(in_.u16() % 9000);
      if (choice & 0x02) o.window_scale = static_cast<uint8_t>(in_.u8() % 16);
      if (choice & 0x04) o.sack_permitted = true;
      if (op_kinds_ == 15 && (choice & 0x30)) {  // Fast Open: request, the stack's cookie, or a forged one
        o.fast_open = true;
        if ((choice & 0x30) == 0x20 && tfo_cookie_length_ > 0) {
          o.set_fast_open_cookie(std::span<const uint8_t>(tfo_cookie_.data(), tfo_cookie_length_));
        } else if ((choice & 0x30) == 0x30) {
          std::array<uint8_t, wire::kTcpFastOpenCookieMax> forged{};
          const size_t n = in_.u8() % (forged.size() + 1);
          for (size_t i = 0; i < n; ++i) forged[i] = in_.u8();
          o.set_fast_open_cookie(std::span<const uint8_t>(forged.data(), n));
        }
      }
    } else if (choice & 0x04) {
      const uint8_t n = 1 + in_.u8() % 3;
      for (uint8_t i = 0; i < n; ++i) {
        const uint32_t left = m_.stack_snd_nxt - in_.u8();
        o.add_sack({left, left + in_.u8()});
      }
    }
    if (choice & 0x08) {
      if (choice & 0x80) m_.ts_val += in_.u16();  // the peer's clock moves, or a random one (PAWS)
      const uint32_t value = (choice & 0x40) ? in_.u32() : m_.ts_val;
      // The echo: random in the original language; in the extended one the
      // stack's last TSval unless 0x20 asks for a random one (a cookie
      // connection decodes its window scale and SACK from it).
      const uint32_t echo = (op_kinds_ == 13 || syn || (choice & 0x20)) ? in_.u32() : stack_tsval_;
      o.timestamps = wire::TcpTimestamps{value, echo};
    }
    return o;
  }

  void syn(uint8_t op) {
    if (op & 0x80) {  // a new connection: the old one goes, the model restarts
      if (m_.sock != nullptr) m_.sock->close();
      const uint16_t port = static_cast<uint16_t>(m_.port + 1);
      m_ = PeerModel();
      m_.port = port;
      m_.isn = in_.u32();
    }
    wire::TcpRepr h;
    h.src_port = m_.port;
    h.dst_port = kListenPort;
    h.seq = m_.isn;
    h.flags = fl::kSyn | (op & 0x40 ? fl::kEce | fl::kCwr : 0);
    h.window = in_.u16();
    h.options = options(in_.u8(), true);
    std::vector<uint8_t> payload;
    if (op & 0x20) {  // data on the SYN (no Fast Open cookie: not to be delivered before the handshake)
      const uint32_t n = in_.small_below(64);
      for (uint32_t i = 0; i < n; ++i) payload.push_back(stream_byte(m_.isn + 1 + i));
      m_.mark(0, n);
    }
    send_tcp(h, payload);
  }

  void handshake_ack(uint8_t op) {
    wire::TcpRepr h;
    h.src_port = m_.port;
    h.dst_port = kListenPort;
    h.seq = m_.isn + 1;
    static constexpr int32_t kAckDelta[] = {0, 0, 0, 0, 1, -1, 2, 0x40000000};
    h.ack = m_.stack_iss + 1 + static_cast<uint32_t>(kAckDelta[(op >> 4) & 7]);
    h.flags = fl::kAck;
    h.window = in_.u16();
    h.options = options(in_.u8(), false);
    send_tcp(h, {});
  }

  void data(uint8_t op) {
    // Where: the peer's next new byte, the stack's RCV.NXT, or a way beyond it.
    int64_t at = (op & 0x10) ? m_.contiguous : m_.rel(m_.last_ack);
    const int8_t delta = static_cast<int8_t>(in_.u8());
    at += (op & 0x20) ? int64_t{delta} * 97 : int64_t{delta} / 16;
    const uint32_t len = (op & 0x40) ? 1 + in_.small_below(1460) : in_.small_below(48);
    uint8_t flags = fl::kAck | (in_.u8() & (fl::kPsh | fl::kUrg | fl::kEce | fl::kCwr));
    if ((op & 0x80) && (in_.u8() & 3) == 0) flags |= fl::kFin;
    segment(at, len, flags, op);
  }

  // 2..8 data segments of one size (the last may be shorter) received in one
  // poll, as a NIC ring hands a burst to NAPI: what GRO merges. Sometimes
  // one is dropped, duplicated or two swap places, which GRO must not merge
  // across. A connection made by a SYN cookie inside a burst would leave the
  // model unsure which segment made it, so without a live accepted socket
  // this is one ordinary segment.
  void burst(uint8_t op) {
    const bool live = m_.sock != nullptr && !socket_dead(*m_.sock);
    if (!live) {
      data(op);
      return;
    }
    const uint32_t n = 2 + in_.u8() % 7;
    const uint32_t size = 1 + in_.small_below(1460);
    int64_t at = (op & 0x08) ? m_.contiguous : m_.rel(m_.last_ack);
    at += static_cast<int8_t>(in_.u8()) / 8;
    const uint8_t fault = in_.u8();
    const uint8_t options_choice = in_.u8() & 0x0C;  // timestamps or SACK blocks, the same on each
    std::vector<int64_t> starts;
    std::vector<uint32_t> lengths;
    for (uint32_t i = 0; i < n; ++i) {
      starts.push_back(at + int64_t{i} * size);
      lengths.push_back(i + 1 == n && (fault & 0x80) ? 1 + size / 2 : size);
    }
    const uint32_t victim = (fault >> 3) % n;
    switch (fault & 7) {
      case 1: starts.erase(starts.begin() + victim); lengths.erase(lengths.begin() + victim); break;  // a loss
      case 2: starts.insert(starts.begin() + victim, starts[victim]); lengths.insert(lengths.begin() + victim, lengths[victim]); break;
      case 3: if (victim + 1 < starts.size()) { std::swap(starts[victim], starts[victim + 1]); std::swap(lengths[victim], lengths[victim + 1]); } break;
      default: break;
    }
    const wire::TcpOptions o = options(options_choice, false);
    for (size_t i = 0; i < starts.size(); ++i) {
      uint8_t flags = fl::kAck;
      if (i + 1 == starts.size()) flags |= (op & 0x20) ? fl::kPsh : 0;
      if (i + 1 == starts.size() && (op & 0x40) && (fault & 0x40)) flags |= fl::kFin;
      segment(starts[i], lengths[i], flags, op, &o, /*poll_after=*/false);
    }
    run_stack();
    collect();
  }

  // One TCP segment of up to 9000 bytes DMA'd across as many buffers as it
  // needs, the head carrying the offload metadata the input chooses (gso
  // values need not be true: the stack must not trust them with memory).
  // With no checksum offload, a damaged byte anywhere in the chain must get
  // the frame dropped as a checksum error, never delivered.
  void super_frame(uint8_t op) {
    int64_t at = (op & 0x08) ? m_.contiguous : m_.rel(m_.last_ack);
    at += static_cast<int8_t>(in_.u8()) / 4;
    const uint32_t len = 1 + in_.small_below(9000);
    const uint8_t meta = in_.u8();
    sim::SimPort::RxOffload offload;
    offload.csum = static_cast<ChecksumState>(meta & 3);
    offload.gso_size = static_cast<uint16_t>((meta & 4) ? in_.u16() : std::min<uint32_t>(len, 1448));
    offload.gso_segs = static_cast<uint16_t>((meta & 8) ? in_.u16() : (len + offload.gso_size - 1) / std::max<uint16_t>(offload.gso_size, 1));
    const bool damage = (meta & 0x30) == 0x30 && offload.csum != ChecksumState::kUnnecessary &&
                        offload.csum != ChecksumState::kPartial;
    const uint32_t damage_at = in_.small_below(len);
    uint8_t flags = fl::kAck | ((op & 0x20) ? fl::kPsh : 0);
    if ((op & 0x40) && (meta & 0x40)) flags |= fl::kFin;
    Scatter scatter{offload, damage ? static_cast<int64_t>(damage_at) : -1};
    segment(at, len, flags, op, nullptr, true, &scatter);
  }

  void rst(uint8_t op) {
    int64_t at = m_.rel(m_.last_ack);
    const uint8_t where = in_.u8();
    if (where & 1) at += static_cast<int8_t>(where) * 128;  // out of window / not exact: challenge ACK
    segment(at, 0, (op & 0x40) ? fl::kRst : fl::kRst | fl::kAck, op);
  }

  // A segment at stream offset `at` (relative to IRS + 1) carrying the
  // peer's bytes for [at, at + len).
  // With `scatter`, the frame arrives scattered over buffers with offload
  // metadata, and a damaged payload byte if it says so (then the model marks
  // nothing: those bytes must never reach the application). Without
  // `poll_after`, the frame waits in the RX ring for the caller's poll.
  struct Scatter {
    sim::SimPort::RxOffload offload;
    int64_t damage_at = -1;  // payload offset to damage, or -1
  };
  void segment(int64_t at, uint32_t len, uint8_t flags, uint8_t op, const wire::TcpOptions* fixed_options = nullptr,
               bool poll_after = true, const Scatter* scatter = nullptr) {
    if (at < -65536 || at + len >= kStream) return;
    wire::TcpRepr h;
    h.src_port = m_.port;
    h.dst_port = kListenPort;
    h.seq = m_.isn + 1 + static_cast<uint32_t>(at);
    static constexpr int32_t kAckDelta[] = {0, 0, 0, 0, 0, 1, -1, -70000};
    h.ack = (m_.have_iss ? m_.stack_snd_nxt : m_.stack_iss + 1) + static_cast<uint32_t>(kAckDelta[op & 7]);
    h.flags = flags;
    static constexpr uint16_t kWindows[] = {65535, 65535, 0, 1, 512, 29200, 8192, 65535};
    h.window = kWindows[(op >> 3) & 7];
    h.urgent_pointer = (flags & fl::kUrg) ? in_.u16() : 0;
    h.options = fixed_options != nullptr ? *fixed_options : options(in_.u8(), false);
    std::vector<uint8_t> payload(len);
    for (uint32_t i = 0; i < len; ++i) payload[i] = stream_byte(h.seq + i);
    const bool damaged = scatter != nullptr && scatter->damage_at >= 0;
    if (!damaged) {
      if (len > 0) m_.mark(at, len);
      if ((flags & fl::kFin) && at + len >= 0) m_.fin_offsets.push_back(static_cast<uint32_t>(at + len));
    }
    send_tcp(h, payload, poll_after, scatter);
  }

  void advance(uint8_t op) {
    static constexpr int64_t kMs[] = {1, 10, 40, 200, 1000, 3000, 30000, 130000};
    const absl::Duration d = absl::Milliseconds(kMs[(op >> 4) & 7] * (1 + (in_.u8() & 3)));
    clock_.advance(d);
    m_.ts_val += static_cast<uint32_t>(absl::ToInt64Milliseconds(d));
    poll();
  }

  void accept() {
    while (tcp::TcpSocket* s = listener_->accept()) {
      const bool current_dead = m_.sock != nullptr && socket_dead(*m_.sock);
      if (s->tuple().remote_port == m_.port && s->from_syncookie() && !m_.cookie_expect.empty()) {
        // Every cookie connection of this peer, adopted or not, in the order made.
        const std::optional<uint8_t> shift = m_.cookie_expect.front();
        m_.cookie_expect.erase(m_.cookie_expect.begin());
        if (shift && s->receive_window_scale() != *shift) {
          std::fprintf(stderr, "cookie connection: window scale %u, its SYN-ACK offered %u\n", s->receive_window_scale(), *shift);
        }
        FUZZ_CHECK(!shift || s->receive_window_scale() == *shift);
      }
      if (s->tuple().remote_port == m_.port && (m_.sock == nullptr || current_dead)) {
        // The same tuple and ISN may come back after a reset or close: a new
        // socket whose reads start from offset 0 of the same stream again.
        if (m_.sock != nullptr) m_.sock->close();
        m_.sock = s;
        m_.read_total = 0;
      } else {
        s->close();  // an older connection's: the application hangs up on it
      }
    }
    poll();
  }

  // A socket the tuple no longer leads to: reset, closed, or TIME-WAIT (the
  // socket object stays in that state after its TIME-WAIT entry is gone).
  static bool socket_dead(const tcp::TcpSocket& s) {
    return s.was_reset() || s.state() == tcp::TcpState::kClosed || s.state() == tcp::TcpState::kTimeWait;
  }

  void read(uint8_t op) {
    accept();
    if (m_.sock == nullptr) return;
    if (op & 0x80) {  // zero-copy: one chunk, then give it back
      auto chunk = m_.sock->read_zerocopy();
      if (chunk) check_read(chunk->bytes);
    } else {
      std::vector<uint8_t> buf((op & 0x40) ? 1 + in_.small_below(4096) : 65536);
      const size_t n = m_.sock->read(buf);
      check_read(std::span<const uint8_t>(buf.data(), n));
    }
    poll();
  }

  void check_read(std::span<const uint8_t> got) {
    for (size_t i = 0; i < got.size(); ++i) {
      const uint64_t offset = m_.read_total + i;
      FUZZ_CHECK(offset < kStream && m_.sent[offset]);
      FUZZ_CHECK(got[i] == stream_byte(m_.isn + 1 + static_cast<uint32_t>(offset)));
    }
    m_.read_total += got.size();
  }

  void close(uint8_t op) {
    accept();
    if (m_.sock == nullptr) return;
    if (op & 0x80) {
      m_.sock->shutdown_write();
    } else {
      m_.sock->close();
      m_.sock = nullptr;
    }
    poll();
  }

  void send_tcp(const wire::TcpRepr& h, std::span<const uint8_t> payload, bool poll_after = true,
                const Scatter* scatter = nullptr) {
    if (trace_) {
      std::fprintf(stderr, "peer  > flags %02x seq +%lld ack %u len %zu win %u (contiguous %u)%s\n", h.flags,
                   static_cast<long long>(m_.rel(h.seq)), h.ack - m_.stack_iss, payload.size(), h.window, m_.contiguous,
                   describe(h.options).c_str());
    }
    const size_t queued_before = listener_->accept_queue_length();
    const uint64_t cookies_before = stack_->counters().get(Counter::TcpExtSyncookiesSent);
    auto frame = peer_.tcp(wire::MacAddress({2, 0, 0, 0, 0, 2}), our_ip_, h, payload);
    const bool damaged = scatter != nullptr && scatter->damage_at >= 0;
    if (damaged) frame[frame.size() - payload.size() + static_cast<size_t>(scatter->damage_at)] ^= 0x5A;
    if (scatter != nullptr) {
      nic_->wire_receive_scattered(frame, scatter->offload);
    } else {
      nic_->wire_receive(frame);
    }
    if (!poll_after) return;  // the burst's caller polls (and has no SYN cookie to re-base)
    run_stack();
    // Whether this segment was answered with a SYN cookie: the SYN-ACK that
    // collect() is about to see (a request's, a Fast Open child's or a
    // timer's retransmission is not; a cookie is never retransmitted). The
    // SYN queue's length cannot tell: with tcp_syncookies = 1 a cookie goes
    // out when the queue is full of other tuples' requests.
    cookie_this_send_ = stack_->counters().get(Counter::TcpExtSyncookiesSent) > cookies_before;
    // A SYN cookie keeps no state: the ACK that completes the handshake
    // defines the IRS as its seq - 1 (the cookie's additive hash lets seq and
    // ack both be off by the same amount, as in Linux), and the cookie stays
    // good for later ACKs on the same tuple once the first connection is gone.
    // Re-base the model on the ACK that made the connection.
    if (!damaged && m_.cookie_synack && !(h.flags & fl::kSyn) && (h.flags & fl::kAck) &&
        listener_->accept_queue_length() > queued_before) {
      // Honest: the echo of the SYN-ACK's TSval, or no timestamps when the
      // SYN-ACK had none (RFC 7323 3.2: not to be sent unless negotiated; a
      // stateless cookie cannot tell, and decodes whatever echo comes).
      const bool echo_true = m_.synack_tsval ? h.options.timestamps && h.options.timestamps->echo == *m_.synack_tsval
                                             : !h.options.timestamps;
      m_.cookie_expect.push_back(echo_true ? std::optional<uint8_t>(m_.stack_ws) : std::nullopt);
      m_.edge_valid = false;  // a new connection (even on the same IRS), whose window starts afresh
      if (m_.sock != nullptr) {  // the tuple was free, so its old socket is dead: hang up on it
        m_.sock->close();
        m_.sock = nullptr;
      }
    }
    if (!damaged && m_.cookie_synack && !(h.flags & fl::kSyn) && (h.flags & fl::kAck) &&
        listener_->accept_queue_length() > queued_before && m_.isn != h.seq - 1) {
      if (trace_) std::fprintf(stderr, "model: cookie connection, IRS re-based by %lld\n", static_cast<long long>(m_.rel(h.seq)));
      m_.isn = h.seq - 1;
      std::fill(m_.sent.begin(), m_.sent.end(), false);
      m_.contiguous = 0;
      m_.fin_offsets.clear();
      m_.mark(0, static_cast<uint32_t>(payload.size()));
      if (h.flags & fl::kFin) m_.fin_offsets.push_back(static_cast<uint32_t>(payload.size()));
    }
    collect();
    cookie_this_send_ = false;
  }

  static std::string describe(const wire::TcpOptions& o) {
    std::string out;
    char b[64];
    if (o.window_scale) { std::snprintf(b, sizeof b, " ws %u", *o.window_scale); out += b; }
    if (o.timestamps) { std::snprintf(b, sizeof b, " ts %08x/%08x", o.timestamps->value, o.timestamps->echo); out += b; }
    if (o.sack_permitted) out += " sackok";
    return out;
  }

  void send(const std::vector<uint8_t>& frame) {
    nic_->wire_receive(frame);
    poll();
  }

  void run_stack() {
    for (int i = 0; i < 64; ++i) {
      stack_->poll();
      if (!stack_->has_work()) break;
    }
  }
  void collect() {
    nic_->wire_collect([&](std::span<const uint8_t> f) { observe(f); });
  }
  void poll() {
    run_stack();
    collect();
  }

  // What the stack sent: its ISS, SND.NXT and ACKs, checked against the model.
  void observe(std::span<const uint8_t> frame) {
    auto eth = wire::EthernetView::parse(frame);
    if (!eth || eth->ethertype() != wire::ethertype::kIpv4) return;
    auto ip = wire::Ipv4View::parse(eth->payload());
    FUZZ_CHECK(ip.ok());  // the stack emits only valid datagrams
    if (ip->protocol() != wire::ipproto::kTcp) return;
    auto tcp = wire::TcpView::parse(ip->payload(), ip->src(), ip->dst());
    FUZZ_CHECK(tcp.ok());
    if (tcp->dst_port() != m_.port || tcp->src_port() != kListenPort) return;
    if (trace_) {
      std::fprintf(stderr, "stack > flags %02x seq %u ack +%lld len %zu win %u%s\n", tcp->flags(), tcp->seq() - m_.stack_iss,
                   static_cast<long long>(m_.rel(tcp->ack())), tcp->payload().size(), tcp->window(),
                   describe(tcp->options()).c_str());
    }
    if (tcp->rst()) return;  // a reset's ACK answers the offending segment, not the stream
    if (tcp->options().timestamps) stack_tsval_ = tcp->options().timestamps->value;
    if (tcp->syn()) {
      m_.cookie_synack = cookie_this_send_;
      // The SYN-ACK carries a shift only when the SYN that made the request
      // offered one (RFC 7323 2.2); a retransmitted SYN with other options
      // does not change the request's.
      m_.stack_ws = tcp->options().window_scale ? std::min<uint8_t>(*tcp->options().window_scale, 14) : 0;
      m_.edge_valid = false;
      m_.synack_tsval.reset();
      if (tcp->options().timestamps) m_.synack_tsval = tcp->options().timestamps->value;
      if (tcp->options().fast_open && tcp->options().fast_open_cookie_length > 0) {
        tfo_cookie_length_ = tcp->options().fast_open_cookie_length;
        tfo_cookie_ = tcp->options().fast_open_cookie;
      }
      m_.have_iss = true;
      m_.stack_iss = tcp->seq();
      m_.stack_snd_nxt = tcp->seq() + 1;
    } else if (m_.have_iss) {
      const uint32_t end = tcp->seq() + tcp->segment_length();
      if (static_cast<int32_t>(end - m_.stack_snd_nxt) > 0) m_.stack_snd_nxt = end;
    }
    if (tcp->ack_flag()) {
      const int64_t acked = m_.rel(tcp->ack());
      FUZZ_CHECK(acked <= static_cast<int64_t>(m_.ack_bound()));
      m_.last_ack = tcp->ack();
      // A SYN-cookie connection takes its shift from the ACK's timestamp
      // echo, which the input may forge: then the stack's own shift is the
      // one its window means.
      const bool shift_known = !m_.cookie_synack || m_.sock != nullptr;
      const uint8_t shift = m_.cookie_synack && m_.sock != nullptr ? m_.sock->receive_window_scale() : m_.stack_ws;
      if (!tcp->syn() && !shift_known) m_.edge_valid = false;
      if (!tcp->syn() && shift_known) {
        const uint32_t right = tcp->ack() + (uint32_t{tcp->window()} << shift);
        if (m_.edge_valid && static_cast<int32_t>(right - m_.right_edge) < 0) {
          std::fprintf(stderr, "window retracted: right edge +%lld after +%lld (shift %u)\n",
                       static_cast<long long>(m_.rel(right)), static_cast<long long>(m_.rel(m_.right_edge)), shift);
          FUZZ_CHECK(false);
        }
        if (!m_.edge_valid || static_cast<int32_t>(right - m_.right_edge) > 0) m_.right_edge = right;
        m_.edge_valid = true;
      }
    }
  }

  void snapshot_counters() {
    for (size_t i = 0; i < kCounterCount; ++i) counters_[i] = stack_->counters().get(static_cast<Counter>(i));
  }

  void check() {
    for (size_t i = 0; i < kCounterCount; ++i) {
      const Counter c = static_cast<Counter>(i);
      const uint64_t now = stack_->counters().get(c);
      if (!counter_is_gauge(c)) FUZZ_CHECK(now >= counters_[i]);
      counters_[i] = now;
    }
    if (m_.sock == nullptr) return;
    tcp::TcpSocket& s = *m_.sock;
    states_seen_ |= 1u << static_cast<unsigned>(s.state());
    if (s.advertised_window() == 0) zero_window_seen_ = true;
    if (s.ooo_segments() > 0) ooo_seen_ = true;
    FUZZ_CHECK(s.bytes_received() <= m_.contiguous);
    FUZZ_CHECK(s.bytes_read() == m_.read_total);
    FUZZ_CHECK(s.bytes_received() >= s.bytes_read());
    FUZZ_CHECK(s.readable_bytes() <= s.bytes_received() - s.bytes_read());
    if (s.state() != tcp::TcpState::kClosed && !s.was_reset()) {
      const int64_t nxt = m_.rel(s.rcv_nxt().raw());
      const int64_t in_order = static_cast<int64_t>(s.bytes_received());
      FUZZ_CHECK(nxt == in_order || nxt == in_order + 1);
    }
  }

  FuzzInput& in_;
  ManualClock clock_;
  std::unique_ptr<Stack> stack_;
  sim::SimPort* nic_ = nullptr;
  sim::SimPeer peer_;
  const wire::Ipv4Address our_ip_{0xC0000202u};
  tcp::TcpListener* listener_ = nullptr;
  uint32_t pool_start_ = 0;
  std::array<uint64_t, kCounterCount> counters_{};
  PeerModel m_;
  const bool trace_ = std::getenv("INLET_FUZZ_TRACE") != nullptr;
  uint32_t states_seen_ = 0;  // TcpState bits the accepted socket was seen in
  bool zero_window_seen_ = false;
  bool ooo_seen_ = false;
  int op_kinds_ = 13;
  bool cookie_this_send_ = false;  // the segment send_tcp is delivering was answered by a SYN cookie
  uint32_t stack_tsval_ = 0;       // the last TSval the stack sent this peer
  uint8_t tfo_cookie_length_ = 0;  // the cookie the stack gave this client (kept across connections)
  std::array<uint8_t, wire::kTcpFastOpenCookieMax> tfo_cookie_{};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  Harness h(in);
  h.run();
  return 0;
}

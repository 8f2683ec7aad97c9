// SimTcpSender and SimWorld: the sending half of TCP, scripted, against an
// inlet Stack on a SimPort in virtual time (a ManualClock), for whole-transfer
// simulations — the DESIGN's "deterministic simulation". The world owns the
// stack, its port (optionally wrapped in a seeded fault::FaultInjector that
// damages what inlet receives), an application that accepts and reads, and
// the return path, which drops, delays and reorders inlet's ACKs with its own
// seeded generator, so both directions are impaired.
//
// The sender is small but honest: active open with MSS, window scale,
// SACK-permitted and timestamps (each can be left out); a byte stream within
// the receiver's scaled window and a congestion window (slow start, congestion
// avoidance, RFC 5681); RTT from timestamp echoes (or one timed segment per
// round trip, with Karn's rule) and the RFC 6298 RTO with back-off, go-back-N
// after a timeout; fast retransmit on three duplicate ACKs (limited transmit,
// RFC 3042) or a SACK scoreboard with holes, and recovery with an RFC 6675
// pipe (RFC 6582 NewReno without SACK); sender SWS avoidance, zero-window
// probes and the persist timer; FIN, then the ACK of inlet's FIN (and of its
// retransmissions) from TIME_WAIT. It also checks every segment inlet emits
// against what any receiver must keep (check_emitted).
//
// Virtual time moves in quanta (1 ms by default); when nothing is in flight
// and no timer is due sooner, run() jumps to the next event rather than
// polling through idle milliseconds.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "api/stack.h"
#include "core/clock.h"
#include "core/tunables.h"
#include "ports/fault/fault_injector.h"
#include "ports/sim/sim_peer.h"
#include "ports/sim/sim_port.h"
#include "tcp/tcp_socket.h"
#include "wire/tcp.h"

namespace inlet::simtest {

using Frame = std::vector<uint8_t>;

// FNV-1a, 64 bits: a digest of a whole stream, computed incrementally.
struct Fnv1a {
  uint64_t h = 0xcbf29ce484222325ull;
  void update(std::span<const uint8_t> b) {
    for (uint8_t c : b) h = (h ^ c) * 0x100000001b3ull;
  }
};

// Deterministic, incompressible test data (a xorshift stream).
std::vector<uint8_t> make_stream(size_t bytes, uint64_t seed);

struct SenderConfig {
  uint16_t mss = 1460;       // announced in the SYN
  uint8_t window_scale = 7;  // our shift (inlet sends no data; it matters little)
  bool sack = true;
  bool timestamps = true;
  bool window_scaling = true;
  uint32_t initial_cwnd_segments = 10;
  absl::Duration initial_rto = absl::Seconds(1);
  absl::Duration min_rto = absl::Milliseconds(200);
  absl::Duration max_rto = absl::Seconds(60);
  absl::Duration max_persist = absl::Seconds(10);
  uint32_t max_retries = 15;    // consecutive timeouts before the sender gives up
  std::optional<uint32_t> iss;  // default: derived from the port
};

struct SenderStats {
  uint64_t segments_sent = 0;     // every TCP frame this sender put on the wire
  uint64_t data_segments = 0;     // carrying payload (probes included)
  uint64_t retransmits = 0;       // data or FIN sent again
  uint64_t fast_retransmits = 0;  // of those, from SACK / duplicate-ACK recovery
  uint64_t recoveries = 0;        // fast-recovery episodes
  uint64_t timeouts = 0;          // RTO expiries (SYN included)
  uint64_t syn_retransmits = 0;
  uint64_t zero_window_probes = 0;
  uint64_t sws_overrides = 0;      // short segments the persist timer let out
  uint64_t segments_received = 0;  // from inlet (after the return path)
  uint64_t zero_window_acks = 0;   // ACKs advertising a zero window
  uint64_t dupacks = 0;
  uint64_t sack_blocks = 0;
  uint64_t dsacks = 0;
  uint64_t fins_received = 0;   // inlet's FIN, retransmissions included
  uint32_t initial_window = 0;  // the SYN-ACK's window
  uint32_t max_window = 0;      // largest scaled window advertised later
  bool operator==(const SenderStats&) const = default;
};

class SimWorld;

class SimTcpSender {
 public:
  enum class State : uint8_t { kIdle, kSynSent, kEstablished, kTimeWait, kFailed };

  SimTcpSender(SimWorld& world, uint16_t local_port, std::vector<uint8_t> data, absl::Time start,
               const SenderConfig& config);

  // A segment from inlet for this connection (already through the return path).
  void on_segment(const wire::TcpView& v);
  // Every segment inlet emits for this connection, in the order it emitted
  // them (before the return path): checks what any receiver must keep —
  // it acknowledges and SACKs only what was sent, and never moves the right
  // edge of its window left (RFC 9293 3.8.6). Breaches go to violations().
  void check_emitted(const wire::TcpView& v);
  const std::vector<std::string>& violations() const { return violations_; }
  // Opens at the start time, fires the SYN, RTO and persist timers.
  void on_tick(absl::Time now);
  // The earliest time on_tick has something to do.
  absl::Time next_event() const;

  // Our FIN is acknowledged and inlet's FIN acknowledged by us.
  bool done() const { return state_ == State::kTimeWait; }
  bool failed() const { return state_ == State::kFailed; }
  const std::string& error() const { return error_; }
  State state() const { return state_; }
  uint16_t local_port() const { return local_port_; }
  const std::vector<uint8_t>& data() const { return data_; }
  uint64_t digest() const { return digest_; }
  const SenderStats& stats() const { return stats_; }
  uint64_t cwnd() const { return cwnd_; }
  bool sack_ok() const { return sack_ok_; }
  bool ts_ok() const { return ts_ok_; }
  uint8_t send_window_scale() const { return snd_wscale_; }
  std::string describe() const;

 private:
  struct Range {
    uint64_t left, right;
  };
  uint32_t seq_of(uint64_t off) const { return iss_ + 1 + static_cast<uint32_t>(off); }
  uint32_t ts_now() const;
  void fail(std::string why);
  void open();
  void send_syn();
  void send_ack();
  // One segment of the stream: bytes [off, off + len) (len 0 with off == len_
  // is the FIN).
  void send_segment(uint64_t off, uint32_t len, bool retransmit);
  void output();
  void on_ack(const wire::TcpView& v);
  void add_sack(uint64_t left, uint64_t right);
  uint64_t sacked_bytes() const;
  uint64_t highest_sacked() const { return sacked_.empty() ? una_ : sacked_.back().right; }
  // RFC 6675 pipe: what is still in the network.
  uint64_t pipe() const;
  // The first unSACKed, not yet retransmitted range at or after `from` below `limit`.
  std::optional<Range> next_hole(uint64_t from, uint64_t limit) const;
  void rtt_sample(absl::Duration r);
  absl::Duration rto() const;
  void arm_rto(absl::Time now);
  void on_rto(absl::Time now);
  void on_persist(absl::Time now);

  SimWorld& world_;
  SenderConfig config_;
  uint16_t local_port_;
  std::vector<uint8_t> data_;
  uint64_t len_;  // data bytes; the FIN is at offset len_
  uint64_t digest_;
  absl::Time start_;
  State state_ = State::kIdle;
  std::string error_;

  uint32_t iss_ = 0;
  uint32_t irs_ = 0;
  uint32_t rcv_nxt_ = 0;  // inlet's sequence space (only SYN and FIN)
  bool peer_fin_ = false;
  bool sack_ok_ = false, ts_ok_ = false;
  uint8_t snd_wscale_ = 0;
  uint32_t mss_ = 536;  // payload bytes per segment
  uint32_t ts_base_ = 1;
  uint32_t ts_recent_ = 0;

  // Offsets into the stream (0 = first data byte, len_ = the FIN).
  uint64_t una_ = 0, nxt_ = 0, max_ = 0;  // max_: highest sent, probes included
  uint64_t sent_high_ = 0;                // highest sent as data (what a resend repeats)
  uint64_t wnd_ = 0;                      // scaled
  uint64_t max_wnd_ = 0;
  uint32_t wnd_tsval_ = 0;  // TSval of the ACK that set the window
  uint64_t cwnd_ = 0, ssthresh_ = UINT64_MAX;
  uint32_t dupacks_ = 0;
  bool in_recovery_ = false;
  uint64_t recover_ = 0, retx_next_ = 0, lost_end_ = 0;
  bool force_retx_ = false;    // the next hole goes out whatever the pipe
  uint64_t loss_until_ = 0;    // after a timeout: no fast recovery below this
  std::vector<Range> sacked_;  // sorted, disjoint, above una_

  std::optional<absl::Duration> srtt_;
  bool timed_ = false;  // without timestamps: a segment being timed (Karn)
  uint64_t timed_end_ = 0;
  absl::Time timed_at_;
  absl::Duration rttvar_ = absl::ZeroDuration();
  uint32_t backoff_ = 0;
  absl::Time rto_at_ = absl::InfiniteFuture();
  absl::Time persist_at_ = absl::InfiniteFuture();
  uint32_t persist_backoff_ = 0;

  SenderStats stats_;
  std::optional<uint32_t> inlet_right_edge_;
  std::vector<std::string> violations_;
};

// The return path: what happens to inlet's frames before the sender sees them.
struct ReturnPath {
  double drop = 0;     // probability an inlet segment is lost
  double reorder = 0;  // probability it is held back by `reorder_delay`
  absl::Duration delay = absl::ZeroDuration();
  absl::Duration reorder_delay = absl::Milliseconds(3);
};

// The application on inlet's side.
struct AppConfig {
  absl::Duration read_every = absl::ZeroDuration();  // 0: reads at every step
  size_t read_chunk = SIZE_MAX;                      // bytes per read turn
  bool zero_copy_odd_ports = false;                  // read_zerocopy() on odd source ports
};

struct WorldConfig {
  Tunables tunables;
  std::optional<fault::FaultConfig> faults;  // none: no injector at all
  ReturnPath ack_path;
  uint64_t ack_seed = 1;
  AppConfig app;
  absl::Duration quantum = absl::Milliseconds(1);       // one step of virtual time
  absl::Duration forward_delay = absl::ZeroDuration();  // sender -> inlet
  uint32_t inject_chunk = 16;                           // frames put in the ring between polls
  uint32_t rx_ring_size = 256;
  uint32_t tx_ring_size = 1024;
  uint16_t listen_port = 80;
  size_t backlog = 128;
};

// What inlet's application saw on one connection.
struct Received {
  tcp::TcpSocket* socket = nullptr;  // until closed
  uint64_t bytes = 0;
  Fnv1a digest;
  bool exact = true;  // every byte matched the sender's stream so far
  bool eof = false;
  bool closed = false;
  bool reset = false;
  size_t rcvbuf_at_eof = 0;
  uint32_t window_at_eof = 0;
  size_t max_rcvbuf = 0;
  uint64_t reads = 0;
  absl::Time next_read = absl::InfinitePast();
};

class SimWorld {
 public:
  explicit SimWorld(WorldConfig config);
  ~SimWorld();
  SimWorld(const SimWorld&) = delete;
  SimWorld& operator=(const SimWorld&) = delete;

  SimTcpSender& add_connection(uint16_t src_port, std::vector<uint8_t> data,
                               absl::Duration start_after = absl::ZeroDuration(),
                               const SenderConfig& config = {});

  // Steps virtual time until every connection is done on both sides and
  // inlet holds none. Returns "" or what went wrong (with the state of the
  // connections that did not finish).
  std::string run(absl::Duration max_virtual, uint64_t max_steps);

  // --- used by the senders ---
  void send(Frame frame);  // onto the wire towards inlet
  absl::Time now() const { return clock_.now(); }
  absl::Time epoch() const { return epoch_; }
  const sim::SimPeer& peer() const { return peer_; }
  wire::MacAddress inlet_mac() const { return inlet_mac_; }
  wire::Ipv4Address inlet_ip() const { return inlet_ip_; }
  uint16_t listen_port() const { return config_.listen_port; }

  // --- for the tests ---
  Stack& stack() { return *stack_; }
  ManualClock& clock() { return clock_; }
  sim::SimPort& nic() { return *nic_; }
  fault::FaultInjector* injector() { return injector_; }
  tcp::TcpListener& listener() { return *listener_; }
  size_t connections() const { return senders_.size(); }
  SimTcpSender& sender(size_t i) { return *senders_[i]; }
  const Received& received(size_t i) const { return received_[i]; }
  uint64_t steps() const { return steps_; }
  absl::Duration elapsed() const { return clock_.now() - epoch_; }
  uint64_t acks_dropped() const { return acks_dropped_; }
  uint64_t acks_reordered() const { return acks_reordered_; }
  uint64_t ring_overruns() const { return ring_overruns_; }
  // Called with every segment inlet sends, before the return path (tests
  // that watch windows, say).
  void set_inlet_tap(std::function<void(const wire::TcpView&)> tap) { tap_ = std::move(tap); }

 private:
  void step();
  void poll_until_idle();
  void inject_due();
  void app_turn();
  void collect();
  void deliver_due();
  bool finished() const;
  absl::Time next_event() const;
  bool chance(double p) { return p > 0 && uniform_(ack_rng_) < p; }

  WorldConfig config_;
  ManualClock clock_;
  absl::Time epoch_;
  std::unique_ptr<Stack> stack_;
  sim::SimPort* nic_ = nullptr;
  fault::FaultInjector* injector_ = nullptr;
  tcp::TcpListener* listener_ = nullptr;
  sim::SimPeer peer_;
  wire::MacAddress inlet_mac_;
  wire::Ipv4Address inlet_ip_;

  std::vector<std::unique_ptr<SimTcpSender>> senders_;
  std::vector<Received> received_;
  std::unordered_map<uint16_t, size_t> by_port_;

  struct Pending {
    absl::Time due;
    Frame frame;
  };
  std::deque<Pending> to_inlet_;                                // FIFO, constant delay
  std::map<std::pair<absl::Time, uint64_t>, Frame> to_sender_;  // by arrival time
  uint64_t to_sender_seq_ = 0;
  std::mt19937_64 ack_rng_;
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
  std::vector<uint8_t> scratch_;
  std::function<void(const wire::TcpView&)> tap_;
  std::string error_;
  uint64_t steps_ = 0;
  uint64_t acks_dropped_ = 0;
  uint64_t acks_reordered_ = 0;
  uint64_t ring_overruns_ = 0;
};

}  // namespace inlet::simtest

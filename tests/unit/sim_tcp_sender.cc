#include "sim_tcp_sender.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "wire/arp.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"

namespace inlet::simtest {

namespace {
constexpr uint64_t kMaxCwnd = 64ull << 20;
constexpr uint16_t kOurWindow = 65535;  // what the sender advertises (it receives nothing)

// INLET_SIM_TRACE=1 prints every segment and timer of every sender (stderr).
bool tracing() {
  static const bool on = std::getenv("INLET_SIM_TRACE") != nullptr;
  return on;
}

const char* state_name(SimTcpSender::State s) {
  switch (s) {
    case SimTcpSender::State::kIdle: return "IDLE";
    case SimTcpSender::State::kSynSent: return "SYN_SENT";
    case SimTcpSender::State::kEstablished: return "ESTABLISHED";
    case SimTcpSender::State::kTimeWait: return "TIME_WAIT";
    case SimTcpSender::State::kFailed: return "FAILED";
  }
  return "?";
}
}  // namespace

std::vector<uint8_t> make_stream(size_t bytes, uint64_t seed) {
  std::vector<uint8_t> out(bytes);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
  for (size_t i = 0; i < bytes; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<uint8_t>(x >> 24);
  }
  return out;
}

// --- the sender -----------------------------------------------------------------

SimTcpSender::SimTcpSender(SimWorld& world, uint16_t local_port, std::vector<uint8_t> data,
                           absl::Time start, const SenderConfig& config)
    : world_(world),
      config_(config),
      local_port_(local_port),
      data_(std::move(data)),
      len_(data_.size()),
      start_(start) {
  Fnv1a f;
  f.update(data_);
  digest_ = f.h;
  iss_ = config_.iss.value_or(0x9E3779B9u * local_port + 0x12345u);
  ts_base_ = 1000u + 13u * local_port;
}

uint32_t SimTcpSender::ts_now() const {
  return ts_base_ + static_cast<uint32_t>(absl::ToInt64Milliseconds(world_.now() - world_.epoch()));
}

void SimTcpSender::fail(std::string why) {
  if (state_ == State::kFailed) return;
  state_ = State::kFailed;
  error_ = absl::StrCat("port ", local_port_, ": ", why, " [", describe(), "]");
  rto_at_ = persist_at_ = absl::InfiniteFuture();
}

void SimTcpSender::open() {
  state_ = State::kSynSent;
  backoff_ = 0;
  send_syn();
  rto_at_ = world_.now() + rto();
}

void SimTcpSender::send_syn() {
  wire::TcpRepr r;
  r.src_port = local_port_;
  r.dst_port = world_.listen_port();
  r.seq = iss_;
  r.flags = wire::tcpflag::kSyn;
  r.window = kOurWindow;
  r.options.mss = config_.mss;
  if (config_.window_scaling) r.options.window_scale = config_.window_scale;
  r.options.sack_permitted = config_.sack;
  if (config_.timestamps) r.options.timestamps = wire::TcpTimestamps{ts_now(), 0};
  world_.send(world_.peer().tcp(world_.inlet_mac(), world_.inlet_ip(), r, {}));
  ++stats_.segments_sent;
}

void SimTcpSender::send_ack() {
  wire::TcpRepr r;
  r.src_port = local_port_;
  r.dst_port = world_.listen_port();
  r.seq = seq_of(nxt_);
  r.ack = rcv_nxt_;
  r.flags = wire::tcpflag::kAck;
  r.window = kOurWindow;
  if (ts_ok_) r.options.timestamps = wire::TcpTimestamps{ts_now(), ts_recent_};
  world_.send(world_.peer().tcp(world_.inlet_mac(), world_.inlet_ip(), r, {}));
  ++stats_.segments_sent;
}

void SimTcpSender::send_segment(uint64_t off, uint32_t len, bool retransmit) {
  if (retransmit) timed_ = false;  // Karn: an ambiguous ACK times nothing
  wire::TcpRepr r;
  r.src_port = local_port_;
  r.dst_port = world_.listen_port();
  r.seq = seq_of(off);
  r.ack = rcv_nxt_;
  r.flags = wire::tcpflag::kAck;
  r.window = kOurWindow;
  if (ts_ok_) r.options.timestamps = wire::TcpTimestamps{ts_now(), ts_recent_};
  std::span<const uint8_t> payload;
  if (off >= len_) {
    r.flags |= wire::tcpflag::kFin;
  } else {
    payload = std::span<const uint8_t>(data_).subspan(static_cast<size_t>(off), len);
    if (off + len == len_) r.flags |= wire::tcpflag::kPsh;
    ++stats_.data_segments;
  }
  world_.send(world_.peer().tcp(world_.inlet_mac(), world_.inlet_ip(), r, payload));
  ++stats_.segments_sent;
  if (retransmit) ++stats_.retransmits;
  if (tracing()) {
    std::fprintf(stderr, "%s %u > off=%llu len=%u%s%s una=%llu wnd=%llu cwnd=%llu\n",
                 absl::FormatDuration(world_.now() - world_.epoch()).c_str(), local_port_,
                 static_cast<unsigned long long>(off), len, off >= len_ ? " FIN" : "",
                 retransmit ? " retx" : "", static_cast<unsigned long long>(una_),
                 static_cast<unsigned long long>(wnd_), static_cast<unsigned long long>(cwnd_));
  }
}

void SimTcpSender::on_tick(absl::Time now) {
  if (state_ == State::kIdle) {
    if (now >= start_) open();
    return;
  }
  if (state_ != State::kSynSent && state_ != State::kEstablished) return;
  if (now >= rto_at_) on_rto(now);
  if (state_ == State::kEstablished && now >= persist_at_) on_persist(now);
}

absl::Time SimTcpSender::next_event() const {
  switch (state_) {
    case State::kIdle: return start_;
    case State::kSynSent:
    case State::kEstablished: return std::min(rto_at_, persist_at_);
    default: return absl::InfiniteFuture();
  }
}

void SimTcpSender::on_segment(const wire::TcpView& v) {
  if (state_ == State::kIdle || state_ == State::kFailed) return;
  ++stats_.segments_received;
  if (v.rst()) {
    if (state_ != State::kTimeWait) fail("reset by inlet");
    return;
  }
  const auto& ts = v.options().timestamps;
  if (state_ == State::kSynSent) {
    if (!v.syn() || !v.ack_flag()) return;
    if (v.ack() != iss_ + 1) {
      fail(absl::StrCat("SYN-ACK acknowledges ", v.ack(), ", not ISS+1"));
      return;
    }
    irs_ = v.seq();
    rcv_nxt_ = irs_ + 1;
    const wire::TcpOptions& o = v.options();
    snd_wscale_ = config_.window_scaling && o.window_scale ? *o.window_scale_clamped() : 0;
    sack_ok_ = config_.sack && o.sack_permitted;
    ts_ok_ = config_.timestamps && ts.has_value();
    if (ts_ok_) {
      ts_recent_ = ts->value;
      wnd_tsval_ = ts->value;
      const int32_t ms = static_cast<int32_t>(ts_now() - ts->echo);
      if (ts->echo != 0 && ms >= 0 && ms < 60000) rtt_sample(absl::Milliseconds(std::max(ms, 1)));
    }
    mss_ = std::min<uint32_t>(o.mss.value_or(536), config_.mss) - (ts_ok_ ? 12 : 0);
    wnd_ = v.window();  // a SYN-ACK's window is never scaled (RFC 7323 2.2)
    max_wnd_ = wnd_;
    stats_.initial_window = static_cast<uint32_t>(wnd_);
    cwnd_ = uint64_t{config_.initial_cwnd_segments} * mss_;
    state_ = State::kEstablished;
    backoff_ = 0;
    rto_at_ = absl::InfiniteFuture();
    send_ack();
    output();
    return;
  }
  if (ts_ok_ && ts && static_cast<int32_t>(ts->value - ts_recent_) >= 0) ts_recent_ = ts->value;
  if (v.syn()) {
    // The SYN-ACK again: our third ACK was lost (or the SYN-ACK duplicated).
    if (v.seq() == irs_) send_ack();
    return;
  }
  if (!v.ack_flag()) return;
  on_ack(v);
  if (state_ == State::kFailed) return;
  if (v.fin()) {
    ++stats_.fins_received;
    const uint32_t fin_seq = v.seq() + static_cast<uint32_t>(v.payload().size());
    if (!peer_fin_ && fin_seq == rcv_nxt_) {
      peer_fin_ = true;
      rcv_nxt_ += 1;
    }
    send_ack();  // a retransmitted FIN (our ACK was lost) is ACKed again
  } else if (!v.payload().empty()) {
    send_ack();
  }
  if (state_ == State::kEstablished && peer_fin_ && una_ == len_ + 1) {
    state_ = State::kTimeWait;
    rto_at_ = persist_at_ = absl::InfiniteFuture();
    return;
  }
  if (state_ == State::kEstablished) output();
}

void SimTcpSender::check_emitted(const wire::TcpView& v) {
  if (tracing() && v.rst()) {
    std::fprintf(stderr, "%s %u inlet sends RST seq=%u ack=%u [%s]\n",
                 absl::FormatDuration(world_.now() - world_.epoch()).c_str(), local_port_, v.seq(),
                 v.ack(), describe().c_str());
  }
  if (v.rst() || state_ == State::kIdle) return;
  auto violation = [&](std::string what) {
    if (violations_.size() < 10) {
      violations_.push_back(absl::StrCat(absl::FormatDuration(world_.now() - world_.epoch()),
                                         " port ", local_port_, ": ", what));
    }
  };
  const uint32_t sent_end = seq_of(max_);
  if (v.ack_flag() && static_cast<int32_t>(v.ack() - sent_end) > 0) {
    violation(absl::StrCat("acknowledges ", static_cast<int32_t>(v.ack() - sent_end),
                           " bytes beyond what was sent"));
  }
  for (const auto& b : v.options().sack()) {
    if (static_cast<int32_t>(b.right - b.left) <= 0 ||
        static_cast<int32_t>(b.right - sent_end) > 0) {
      violation(absl::StrCat("SACK block [", b.left, ",", b.right, ") beyond what was sent (",
                             sent_end, ")"));
    }
  }
  if (!v.ack_flag()) return;
  // The SYN-ACK's window is never scaled; after it, inlet's shift applies
  // (the sender knows it once the SYN-ACK has arrived).
  const bool scaled = !v.syn() && state_ != State::kSynSent;
  const uint32_t edge = v.ack() + (uint32_t{v.window()} << (scaled ? snd_wscale_ : 0));
  if (inlet_right_edge_ && static_cast<int32_t>(edge - *inlet_right_edge_) < 0) {
    violation(absl::StrCat("window right edge moved left by ",
                           static_cast<int32_t>(*inlet_right_edge_ - edge),
                           " bytes (ack=", static_cast<int32_t>(v.ack() - seq_of(0)),
                           " win=", v.window(), " << ", scaled ? snd_wscale_ : 0, ")"));
  }
  if (!inlet_right_edge_ || static_cast<int32_t>(edge - *inlet_right_edge_) > 0) {
    inlet_right_edge_ = edge;
  }
}

void SimTcpSender::add_sack(uint64_t left, uint64_t right) {
  if (right <= left) return;
  std::vector<Range> out;
  out.reserve(sacked_.size() + 1);
  Range n{left, right};
  bool placed = false;
  for (const Range& r : sacked_) {
    if (r.right < n.left) {
      out.push_back(r);
    } else if (n.right < r.left) {
      if (!placed) {
        out.push_back(n);
        placed = true;
      }
      out.push_back(r);
    } else {
      n.left = std::min(n.left, r.left);
      n.right = std::max(n.right, r.right);
    }
  }
  if (!placed) out.push_back(n);
  sacked_ = std::move(out);
}

uint64_t SimTcpSender::sacked_bytes() const {
  uint64_t n = 0;
  for (const Range& r : sacked_) n += r.right - r.left;
  return n;
}

uint64_t SimTcpSender::pipe() const {
  if (nxt_ <= una_) return 0;
  uint64_t p = nxt_ - una_;
  for (const Range& r : sacked_) {
    const uint64_t l = std::max(r.left, una_), h = std::min(r.right, nxt_);
    if (h > l) p -= h - l;
  }
  if (in_recovery_ && !sack_ok_) {
    // Without SACK each duplicate ACK reports one segment that left the
    // network (the window inflation of RFC 6582 3.2 step 3).
    p -= std::min<uint64_t>(p, uint64_t{dupacks_} * mss_);
  }
  if (in_recovery_) {
    // Holes below the highest SACK are lost; until retransmitted they are
    // not in the network.
    uint64_t x = std::max(retx_next_, una_);
    const uint64_t limit = std::min(lost_end_, nxt_);
    while (auto h = next_hole(x, limit)) {
      p -= std::min(p, h->right - h->left);
      x = h->right;
    }
  }
  return p;
}

std::optional<SimTcpSender::Range> SimTcpSender::next_hole(uint64_t from, uint64_t limit) const {
  uint64_t x = from;
  size_t i = 0;
  for (; i < sacked_.size(); ++i) {
    const Range& r = sacked_[i];
    if (r.right <= x) continue;
    if (r.left <= x) {
      x = r.right;
      continue;
    }
    break;
  }
  if (x >= limit) return std::nullopt;
  uint64_t end = limit;
  if (i < sacked_.size()) end = std::min(end, sacked_[i].left);
  return Range{x, end};
}

void SimTcpSender::rtt_sample(absl::Duration r) {
  // RFC 6298 2.2, 2.3.
  if (!srtt_) {
    srtt_ = r;
    rttvar_ = r / 2;
  } else {
    rttvar_ = (rttvar_ * 3 + absl::AbsDuration(*srtt_ - r)) / 4;
    srtt_ = (*srtt_ * 7 + r) / 8;
  }
}

absl::Duration SimTcpSender::rto() const {
  absl::Duration base = config_.initial_rto;
  if (srtt_)
    base = std::max(config_.min_rto, *srtt_ + std::max(absl::Milliseconds(1), rttvar_ * 4));
  for (uint32_t i = 0; i < backoff_ && base < config_.max_rto; ++i) base *= 2;  // RFC 6298 5.5
  return std::min(base, config_.max_rto);
}

void SimTcpSender::on_ack(const wire::TcpView& v) {
  const int32_t d = static_cast<int32_t>(v.ack() - seq_of(una_));
  if (tracing()) {
    std::string sacks;
    for (const auto& b : v.options().sack()) {
      absl::StrAppend(&sacks, " [", static_cast<int32_t>(b.left - seq_of(una_)), ",",
                      static_cast<int32_t>(b.right - seq_of(una_)), ")");
    }
    std::fprintf(stderr, "%s %u < ack=una%+d win=%u%s%s\n",
                 absl::FormatDuration(world_.now() - world_.epoch()).c_str(), local_port_, d,
                 uint32_t{v.window()} << snd_wscale_, v.fin() ? " FIN" : "", sacks.c_str());
  }
  if (d < 0) return;  // an older ACK, overtaken on the way
  const uint64_t ack = una_ + static_cast<uint32_t>(d);
  if (ack > max_) return;  // acknowledges what was never sent
  const auto& ts = v.options().timestamps;
  const uint32_t tsval = ts ? ts->value : 0;

  // SACK blocks (RFC 2018), and D-SACK (RFC 2883 4): a first block below the
  // cumulative ACK, or inside the second block, reports a duplicate.
  const uint64_t sacked_before = sacked_bytes();
  const auto blocks = v.options().sack();
  for (size_t i = 0; i < blocks.size(); ++i) {
    ++stats_.sack_blocks;
    const int32_t l = static_cast<int32_t>(blocks[i].left - seq_of(una_));
    const int32_t r = static_cast<int32_t>(blocks[i].right - seq_of(una_));
    if (i == 0) {
      bool dsack = r <= d;
      if (!dsack && blocks.size() > 1) {
        const int32_t l2 = static_cast<int32_t>(blocks[1].left - seq_of(una_));
        const int32_t r2 = static_cast<int32_t>(blocks[1].right - seq_of(una_));
        dsack = l >= l2 && r <= r2;
      }
      if (dsack) {
        ++stats_.dsacks;
        continue;
      }
    }
    if (r <= d || r <= l) continue;
    const uint64_t left = una_ + static_cast<uint64_t>(std::max(l, d));
    const uint64_t right =
        std::min<uint64_t>(una_ + static_cast<uint64_t>(r), std::min(max_, len_));
    add_sack(left, right);
  }
  const bool new_sack = sacked_bytes() != sacked_before;

  // The window (RFC 9293 3.10.7.4 SND.WL1/WL2): inlet's sequence number does
  // not move, so among ACKs of the same point the newer timestamp wins.
  const uint64_t old_wnd = wnd_;
  const uint64_t new_wnd = uint64_t{v.window()} << snd_wscale_;
  if (ack > una_ || !ts_ok_ || static_cast<int32_t>(tsval - wnd_tsval_) >= 0) {
    wnd_ = new_wnd;
    wnd_tsval_ = tsval;
  }
  if (new_wnd == 0) ++stats_.zero_window_acks;
  stats_.max_window = std::max<uint32_t>(stats_.max_window, static_cast<uint32_t>(new_wnd));
  max_wnd_ = std::max(max_wnd_, new_wnd);

  const absl::Time now = world_.now();
  if (ack > una_) {
    const uint64_t acked = ack - una_;
    una_ = ack;
    nxt_ = std::max(nxt_, una_);
    size_t keep = 0;
    for (Range& r : sacked_) {
      if (r.right <= una_) continue;
      r.left = std::max(r.left, una_);
      sacked_[keep++] = r;
    }
    sacked_.resize(keep);
    if (ts_ok_ && ts && ts->echo != 0) {
      const int32_t ms = static_cast<int32_t>(ts_now() - ts->echo);
      if (ms >= 0 && ms < 60000) rtt_sample(absl::Milliseconds(std::max(ms, 1)));
    } else if (!ts_ok_ && timed_ && una_ > timed_end_) {
      rtt_sample(std::max(now - timed_at_, absl::Milliseconds(1)));  // one timed segment
      timed_ = false;
    }
    backoff_ = 0;
    persist_backoff_ = 0;
    if (in_recovery_) {
      if (una_ >= recover_) {
        in_recovery_ = false;
        cwnd_ = std::max<uint64_t>(ssthresh_, mss_);
        dupacks_ = 0;
      } else {
        // A partial ACK (RFC 6582 3.2 step 5): the segment at the new una_
        // is lost too; without SACK it goes at once.
        retx_next_ = std::max(retx_next_, una_);
        lost_end_ = std::max(lost_end_, una_ + mss_);
        if (!sack_ok_) {
          dupacks_ = 0;
          force_retx_ = true;
        }
      }
    } else {
      dupacks_ = 0;
      if (cwnd_ < ssthresh_) {
        cwnd_ += acked;  // slow start
      } else {
        cwnd_ += std::max<uint64_t>(1, uint64_t{mss_} * acked / cwnd_);  // congestion avoidance
      }
      cwnd_ = std::min(cwnd_, kMaxCwnd);
    }
    rto_at_ = nxt_ > una_ ? now + rto() : absl::InfiniteFuture();
  } else if (nxt_ > una_ && v.payload().empty() && !v.fin() && (new_wnd == old_wnd || new_sack)) {
    ++dupacks_;
    ++stats_.dupacks;
  }

  if (in_recovery_) {
    lost_end_ = std::max(lost_end_, highest_sacked());
  } else if (nxt_ > una_ && una_ >= loss_until_ &&
             (dupacks_ >= 3 || (sack_ok_ && sacked_bytes() >= 3ull * mss_))) {
    // Fast retransmit / fast recovery (RFC 5681 3.2, RFC 6675 5).
    ++stats_.recoveries;
    in_recovery_ = true;
    recover_ = nxt_;
    ssthresh_ = std::max<uint64_t>((nxt_ - una_) / 2, 2ull * mss_);
    cwnd_ = ssthresh_;
    retx_next_ = una_;
    lost_end_ = std::max(highest_sacked(), una_ + mss_);
    force_retx_ = true;  // the first loss goes whatever the pipe (RFC 6675 5 (4.3))
  }
  if (una_ == len_ + 1) rto_at_ = persist_at_ = absl::InfiniteFuture();
}

void SimTcpSender::output() {
  if (state_ != State::kEstablished) return;
  const absl::Time now = world_.now();
  auto seg_len = [&](uint64_t off, uint64_t limit) -> uint32_t {
    if (off >= len_) return 0;  // the FIN
    return static_cast<uint32_t>(std::min<uint64_t>({mss_, len_ - off, limit - off}));
  };
  // 1. Fast recovery: the lost holes first.
  if (in_recovery_) {
    for (;;) {
      const uint64_t limit = std::min(lost_end_, nxt_);
      auto h = next_hole(std::max(retx_next_, una_), limit);
      if (!h) break;
      const uint32_t len = seg_len(h->left, h->right);
      const uint64_t p = pipe();
      if (!force_retx_ && p > 0 && p + std::max<uint32_t>(len, 1) > cwnd_) break;
      force_retx_ = false;
      send_segment(h->left, len, true);
      ++stats_.fast_retransmits;
      retx_next_ = h->left + std::max<uint32_t>(len, 1);
    }
  }
  // 2. New data — or, after a timeout, everything again from una_.
  while (nxt_ <= len_) {
    bool moved = true;
    while (moved) {  // skip what the receiver holds already
      moved = false;
      for (const Range& r : sacked_) {
        if (r.left <= nxt_ && nxt_ < r.right) {
          nxt_ = r.right;
          moved = true;
        }
      }
    }
    if (nxt_ > len_) break;
    const bool fin = nxt_ == len_;
    uint64_t limit = len_;
    for (const Range& r : sacked_) {
      if (r.left > nxt_) {
        limit = r.left;
        break;
      }
    }
    uint32_t len = seg_len(nxt_, limit);
    const uint64_t right = una_ + wnd_;
    const uint64_t avail = right > nxt_ ? right - nxt_ : 0;
    if (avail < (fin ? 1 : len)) {
      if (fin || avail == 0) break;
      // Sender SWS avoidance (RFC 9293 3.8.6.2.1): a short segment only if
      // it is half the largest window seen; else the persist timer overrides.
      if (avail * 2 < max_wnd_) break;
      len = static_cast<uint32_t>(avail);
    }
    // Limited transmit (RFC 3042): each of the first two duplicate ACKs
    // lets one more new segment out, to earn the third.
    const uint64_t allowance = in_recovery_ ? 0 : uint64_t{std::min<uint32_t>(dupacks_, 2)} * mss_;
    const uint64_t p = pipe();
    if (p > 0 && p + (fin ? 1 : len) > cwnd_ + allowance) break;
    if (!ts_ok_ && !timed_ && nxt_ >= sent_high_) {
      // Without timestamps, time one new segment per round trip (RFC 6298 3).
      timed_ = true;
      timed_end_ = nxt_;
      timed_at_ = now;
    }
    send_segment(nxt_, len, nxt_ < sent_high_);
    nxt_ += fin ? 1 : len;
    max_ = std::max(max_, nxt_);
    sent_high_ = std::max(sent_high_, nxt_);
  }
  if (nxt_ > una_) {
    if (rto_at_ == absl::InfiniteFuture()) rto_at_ = now + rto();
    persist_at_ = absl::InfiniteFuture();
  } else if (una_ <= len_) {
    // Nothing in flight and the window forbids more: probe it (RFC 9293 3.8.6.1).
    rto_at_ = absl::InfiniteFuture();
    if (persist_at_ == absl::InfiniteFuture()) persist_at_ = now + rto();
  }
}

void SimTcpSender::on_rto(absl::Time now) {
  if (tracing()) std::fprintf(stderr, "RTO %s\n", describe().c_str());
  ++stats_.timeouts;
  ++backoff_;
  if (backoff_ > config_.max_retries) {
    fail(absl::StrCat("gave up after ", backoff_ - 1, " timeouts"));
    return;
  }
  if (state_ == State::kSynSent) {
    ++stats_.syn_retransmits;
    send_syn();
    rto_at_ = now + rto();
    return;
  }
  // RFC 5681 3.1 / RFC 6298 5.4-5.6: one segment, from the first unacknowledged
  // byte, with the window collapsed. The SACK scoreboard is forgotten (the
  // receiver may have reneged), as a go-back-N.
  ssthresh_ = std::max<uint64_t>((nxt_ - una_) / 2, 2ull * mss_);
  cwnd_ = mss_;
  in_recovery_ = false;
  force_retx_ = false;
  dupacks_ = 0;
  sacked_.clear();
  loss_until_ = max_;
  nxt_ = una_;
  rto_at_ = absl::InfiniteFuture();
  output();
  if (nxt_ > una_) rto_at_ = now + rto();
}

void SimTcpSender::on_persist(absl::Time now) {
  if (tracing()) std::fprintf(stderr, "PERSIST %s\n", describe().c_str());
  const uint64_t right = una_ + wnd_;
  if (right > nxt_ && nxt_ < len_) {
    // A window too small to be worth filling (SWS avoidance held back):
    // the override timeout sends what fits (RFC 9293 3.8.6.2.1 (d)).
    uint64_t limit = len_;
    for (const Range& r : sacked_) {
      if (r.left > nxt_) {
        limit = r.left;
        break;
      }
    }
    const uint32_t len =
        static_cast<uint32_t>(std::min<uint64_t>({right - nxt_, mss_, limit - nxt_}));
    ++stats_.sws_overrides;
    send_segment(nxt_, len, nxt_ < sent_high_);
    nxt_ += len;
    max_ = std::max(max_, nxt_);
    sent_high_ = std::max(sent_high_, nxt_);
    persist_at_ = absl::InfiniteFuture();
    persist_backoff_ = 0;
    rto_at_ = now + rto();
    return;
  }
  ++stats_.zero_window_probes;
  // One byte past the window's edge (or the FIN): the answer carries the window.
  if (nxt_ < len_) {
    send_segment(nxt_, 1, false);
    max_ = std::max(max_, nxt_ + 1);
  } else {
    send_segment(len_, 0, false);
    max_ = std::max(max_, len_ + 1);
  }
  ++persist_backoff_;
  absl::Duration interval = rto();
  for (uint32_t i = 0; i < persist_backoff_ && interval < config_.max_persist; ++i) interval *= 2;
  persist_at_ = now + std::min(interval, config_.max_persist);
}

std::string SimTcpSender::describe() const {
  std::string sacks;
  for (const Range& r : sacked_) absl::StrAppend(&sacks, " [", r.left, ",", r.right, ")");
  return absl::StrFormat(
      "%s len=%u una=%u nxt=%u max=%u wnd=%u cwnd=%u ssthresh=%u pipe=%u recovery=%d "
      "dupacks=%u rto=%s backoff=%u persist_backoff=%u peer_fin=%d sent=%u retx=%u "
      "timeouts=%u probes=%u sacked:%s",
      state_name(state_), len_, una_, nxt_, max_, wnd_, cwnd_,
      ssthresh_ == UINT64_MAX ? 0 : ssthresh_, pipe(), int{in_recovery_}, dupacks_,
      absl::FormatDuration(rto()), backoff_, persist_backoff_, int{peer_fin_}, stats_.segments_sent,
      stats_.retransmits, stats_.timeouts, stats_.zero_window_probes, sacks);
}

// --- the world ---------------------------------------------------------------------

SimWorld::SimWorld(WorldConfig config)
    : config_(std::move(config)),
      epoch_(clock_.now()),
      peer_(*wire::MacAddress::parse("02:00:00:00:00:01"), *wire::Ipv4Address::parse("192.0.2.1")),
      inlet_ip_(*wire::Ipv4Address::parse("192.0.2.2")),
      ack_rng_(config_.ack_seed),
      scratch_(256 * 1024) {
  stack_ = std::make_unique<Stack>(config_.tunables, &clock_);
  auto port = std::make_unique<sim::SimPort>(sim::SimPortConfig{
      .name = "sim0", .rx_ring_size = config_.rx_ring_size, .tx_ring_size = config_.tx_ring_size});
  nic_ = port.get();
  std::unique_ptr<PortQueue> queue = std::move(port);
  if (config_.faults) {
    // Quiet until the peer is known: the ARP exchange is not what is tested.
    fault::FaultConfig quiet = *config_.faults;
    quiet.drop = quiet.duplicate = quiet.reorder = quiet.corrupt = 0;
    auto injector = std::make_unique<fault::FaultInjector>(std::move(queue), quiet);
    injector_ = injector.get();
    queue = std::move(injector);
  }
  InterfaceSpec spec;
  spec.name = "sim0";
  spec.addresses = {{inlet_ip_, 24}};
  auto iface = stack_->add_interface(std::move(queue), spec);
  REQUIRE(iface.ok());
  inlet_mac_ = (*iface)->mac();
  REQUIRE(nic_->wire_receive(peer_.arp_request(inlet_ip_)));
  for (int i = 0; i < 100 && (stack_->poll() > 0 || stack_->has_work()); ++i) {
  }
  nic_->wire_collect([](std::span<const uint8_t>) {});
  REQUIRE(stack_->link().neighbours().find(peer_.ip()) != nullptr);
  if (injector_ != nullptr) injector_->set_config(*config_.faults);
  auto l = stack_->tcp_listen(wire::kIpv4Any, config_.listen_port, config_.backlog);
  REQUIRE(l.ok());
  listener_ = *l;
}

SimWorld::~SimWorld() { stack_->shutdown(); }

SimTcpSender& SimWorld::add_connection(uint16_t src_port, std::vector<uint8_t> data,
                                       absl::Duration start_after, const SenderConfig& config) {
  REQUIRE(!by_port_.contains(src_port));
  by_port_[src_port] = senders_.size();
  senders_.push_back(std::make_unique<SimTcpSender>(*this, src_port, std::move(data),
                                                    now() + start_after, config));
  received_.emplace_back();
  return *senders_.back();
}

void SimWorld::send(Frame frame) {
  to_inlet_.push_back({now() + config_.forward_delay, std::move(frame)});
}

void SimWorld::poll_until_idle() {
  for (int i = 0; i < 1000; ++i) {
    stack_->poll();
    if (!stack_->has_work()) break;
  }
  collect();
}

void SimWorld::inject_due() {
  uint32_t n = 0;
  while (!to_inlet_.empty() && to_inlet_.front().due <= now()) {
    if (!nic_->wire_receive(to_inlet_.front().frame)) ++ring_overruns_;
    to_inlet_.pop_front();
    if (++n == config_.inject_chunk) {
      poll_until_idle();
      n = 0;
    }
  }
  poll_until_idle();  // timers, and the rest of the frames
}

void SimWorld::app_turn() {
  while (tcp::TcpSocket* s = listener_->accept()) {
    auto it = by_port_.find(s->tuple().remote_port);
    if (it == by_port_.end() || received_[it->second].socket != nullptr ||
        received_[it->second].closed) {
      error_ = absl::StrCat("inlet accepted an unexpected connection from port ",
                            s->tuple().remote_port);
      s->close();
      continue;
    }
    Received& r = received_[it->second];
    r.socket = s;
    r.next_read = now() + config_.app.read_every;
  }
  for (size_t i = 0; i < received_.size(); ++i) {
    Received& r = received_[i];
    if (r.socket == nullptr) continue;
    tcp::TcpSocket& s = *r.socket;
    const std::vector<uint8_t>& expected = senders_[i]->data();
    auto take = [&](std::span<const uint8_t> b) {
      if (r.exact && (r.bytes + b.size() > expected.size() ||
                      std::memcmp(expected.data() + r.bytes, b.data(), b.size()) != 0)) {
        r.exact = false;
        if (error_.empty()) {
          error_ = absl::StrCat("port ", senders_[i]->local_port(),
                                ": delivered bytes differ from the sent stream at or after offset ",
                                r.bytes);
        }
      }
      r.digest.update(b);
      r.bytes += b.size();
      ++r.reads;
    };
    r.max_rcvbuf = std::max(r.max_rcvbuf, s.receive_buffer());
    if (now() >= r.next_read) {
      size_t budget = config_.app.read_chunk;
      if (config_.app.zero_copy_odd_ports && senders_[i]->local_port() % 2 == 1) {
        while (budget > 0) {
          auto c = s.read_zerocopy();
          if (!c) break;
          take(c->bytes);
          budget -= std::min(budget, c->bytes.size());
        }
      } else {
        while (budget > 0) {
          const size_t n =
              s.read(std::span<uint8_t>(scratch_.data(), std::min(budget, scratch_.size())));
          if (n == 0) break;
          take(std::span<const uint8_t>(scratch_.data(), n));
          budget -= n;
        }
      }
      r.next_read = now() + config_.app.read_every;
    }
    if (s.was_reset()) {
      r.reset = true;
      if (error_.empty()) {
        error_ = absl::StrCat("port ", senders_[i]->local_port(), ": inlet reset the connection");
      }
    }
    if (s.eof() || s.was_reset()) {
      r.eof = s.eof();
      r.rcvbuf_at_eof = s.receive_buffer();
      r.window_at_eof = s.advertised_window();
      s.close();
      r.socket = nullptr;
      r.closed = true;
    }
  }
  poll_until_idle();  // window updates and FINs leave now
}

void SimWorld::collect() {
  nic_->wire_collect([&](std::span<const uint8_t> f) {
    auto eth = wire::EthernetView::parse(f);
    if (!eth) {
      error_ = "inlet sent a runt frame";
      return;
    }
    if (eth->ethertype() == wire::ethertype::kArp) {
      auto arp = wire::ArpView::parse(eth->payload());
      if (arp && arp->operation() == wire::ArpOperation::kRequest &&
          arp->target_ip() == peer_.ip()) {
        send(peer_.arp_reply(arp->sender_mac(), arp->sender_ip()));
      }
      return;
    }
    if (eth->ethertype() != wire::ethertype::kIpv4) return;
    auto ip = wire::Ipv4View::parse(eth->payload());
    if (!ip || ip->protocol() != wire::ipproto::kTcp) {
      error_ = "inlet sent a bad IPv4 frame";
      return;
    }
    auto t = wire::TcpView::parse(ip->payload(), ip->src(), ip->dst());
    if (!t) {
      error_ = "inlet sent a TCP segment that does not parse (or a bad checksum)";
      return;
    }
    if (tap_) tap_(*t);
    if (auto it = by_port_.find(t->dst_port()); it != by_port_.end()) {
      senders_[it->second]->check_emitted(*t);
    }
    if (chance(config_.ack_path.drop)) {
      ++acks_dropped_;
      return;
    }
    absl::Time due = now() + config_.ack_path.delay;
    if (chance(config_.ack_path.reorder)) {
      due += config_.ack_path.reorder_delay;
      ++acks_reordered_;
    }
    Frame copy(f.size());
    std::copy(f.begin(), f.end(), copy.begin());
    to_sender_.emplace(std::make_pair(due, to_sender_seq_++), std::move(copy));
  });
}

void SimWorld::deliver_due() {
  while (!to_sender_.empty() && to_sender_.begin()->first.first <= now()) {
    Frame f = std::move(to_sender_.begin()->second);
    to_sender_.erase(to_sender_.begin());
    auto eth = wire::EthernetView::parse(f);
    auto ip = wire::Ipv4View::parse(eth->payload(), wire::ChecksumMode::kSkip);
    auto t = wire::TcpView::parse(ip->payload());
    auto it = by_port_.find(t->dst_port());
    if (it != by_port_.end()) senders_[it->second]->on_segment(*t);
  }
}

void SimWorld::step() {
  ++steps_;
  deliver_due();
  for (auto& s : senders_) s->on_tick(now());
  inject_due();
  app_turn();
}

bool SimWorld::finished() const {
  if (stack_->tcp().connection_count() != 0) return false;
  for (const auto& s : senders_) {
    if (!s->done()) return false;
  }
  for (const Received& r : received_) {
    if (!r.closed) return false;
  }
  return true;
}

absl::Time SimWorld::next_event() const {
  absl::Time t = absl::InfiniteFuture();
  if (!to_inlet_.empty()) t = std::min(t, to_inlet_.front().due);
  if (!to_sender_.empty()) t = std::min(t, to_sender_.begin()->first.first);
  for (const auto& s : senders_) t = std::min(t, s->next_event());
  for (const Received& r : received_) {
    if (r.socket != nullptr && r.socket->readable()) t = std::min(t, r.next_read);
  }
  return std::min(t, stack_->timers().next_deadline());
}

std::string SimWorld::run(absl::Duration max_virtual, uint64_t max_steps) {
  const absl::Time deadline = now() + max_virtual;
  auto status = [&](std::string why) {
    std::string out =
        absl::StrCat(why, " after ", steps_, " steps, ", absl::FormatDuration(elapsed()),
                     " of virtual time; inlet holds ", stack_->tcp().connection_count(),
                     " connections; ", stack_->pool_line());
    int shown = 0;
    for (size_t i = 0; i < senders_.size() && shown < 5; ++i) {
      const Received& r = received_[i];
      if (senders_[i]->done() && r.closed) continue;
      ++shown;
      absl::StrAppend(&out, "\n  sender ", senders_[i]->local_port(), ": ", senders_[i]->describe(),
                      "\n    app: read ", r.bytes, " of ", senders_[i]->data().size(),
                      " eof=", r.eof, " closed=", r.closed);
      if (r.socket != nullptr) {
        out += absl::StrFormat(" inlet %s rcv_wnd=%u queued=%u ooo=%u rcvbuf=%u",
                               std::string(tcp::tcp_state_name(r.socket->state())),
                               r.socket->advertised_window(), r.socket->readable_bytes(),
                               r.socket->ooo_segments(), r.socket->receive_buffer());
      }
    }
    return out;
  };
  for (uint64_t i = 0; i < max_steps; ++i) {
    if (!error_.empty()) return status(error_);
    for (const auto& s : senders_) {
      if (s->failed()) return status(s->error());
    }
    if (finished()) return "";
    if (now() >= deadline) return status("the transfer did not finish in virtual time");
    // One quantum, or straight to the next thing that can happen.
    const absl::Time next = std::max(now() + config_.quantum, std::min(next_event(), deadline));
    clock_.set(next);
    step();
  }
  return status("the transfer did not finish within the step limit");
}

}  // namespace inlet::simtest

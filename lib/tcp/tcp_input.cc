// The receive state machine of a synchronized connection: RFC 9293 3.10.7.4
// in order — PAWS (RFC 7323 5), sequence acceptability, RST and SYN with
// RFC 5961 challenge ACKs, the ACK field, timestamps, then data (in order to
// the receive queue, out of order to the OOO queue with SACK and D-SACK) and
// FIN. A header-prediction fast path takes plain in-order data first.
#include <algorithm>

#include "tcp/tcp_layer.h"

namespace inlet::tcp {

namespace {
constexpr absl::Duration kPawsIdle = absl::Hours(24 * 24);  // RFC 7323 5.5: 24 days
}  // namespace

bool TcpLayer::paws_reject(TcpSocket& s, const Segment& g) const {
  if (!s.ts_ok_ || g.has(wire::tcpflag::kRst)) return false;
  const auto& ts = g.options->timestamps;
  if (!ts) return false;
  if (static_cast<int32_t>(ts->value - s.ts_recent_) >= 0) return false;
  return clock_.now() - s.ts_recent_stamp_ <= kPawsIdle;
}

// RFC 9293 3.10.7.4, first check: the four cases of segment acceptability.
bool TcpLayer::acceptable(const TcpSocket& s, const Segment& g) const {
  const int32_t w = (s.rcv_wup_ + s.rcv_wnd_) - s.rcv_nxt_;
  const uint32_t wnd = w > 0 ? static_cast<uint32_t>(w) : 0;
  const uint32_t seg_len = g.len + (g.has(wire::tcpflag::kSyn) ? 1 : 0) +
                           (g.has(wire::tcpflag::kFin) ? 1 : 0);
  const SeqNum right = s.rcv_nxt_ + wnd;
  if (seg_len == 0) {
    return wnd == 0 ? g.seq == s.rcv_nxt_ : seq_in(g.seq, s.rcv_nxt_, right);
  }
  if (wnd == 0) return false;
  return seq_in(g.seq, s.rcv_nxt_, right) || seq_in(g.seq + (seg_len - 1), s.rcv_nxt_, right);
}

// RFC 2883: one D-SACK block per ACK. Duplicates arriving together in one
// poll that touch or continue the block extend it, so a batch of
// retransmitted segments is reported whole rather than only its last one.
void TcpLayer::note_dsack(TcpSocket& s, const SeqRange& dup) {
  if (s.dsack_ && dup.left <= s.dsack_->right && s.dsack_->left <= dup.right) {
    s.dsack_->left = seq_min(s.dsack_->left, dup.left);
    s.dsack_->right = seq_max(s.dsack_->right, dup.right);
  } else if (!s.dsack_) {
    s.dsack_ = dup;
  }
}

bool TcpLayer::challenge_allowed() {
  const absl::Time now = clock_.now();
  if (now - challenge_window_start_ >= absl::Seconds(1)) {
    challenge_window_start_ = now;
    challenge_count_ = 0;
  }
  if (challenge_count_ >= static_cast<uint64_t>(tunables_.get(Tunable::kTcpChallengeAckLimit))) {
    counters_.add(Counter::TcpExtTCPACKSkippedChallenge);
    return false;
  }
  ++challenge_count_;
  return true;
}

bool TcpLayer::send_challenge_ack(TcpSocket& s) {
  if (!challenge_allowed()) return false;
  schedule_ack(s, true);
  return true;
}

void TcpLayer::connection_input(TcpSocket& s, PacketRef p, const wire::TcpView& v) {
  Segment g;
  g.seq = SeqNum(v.seq());
  g.ack = SeqNum(v.ack());
  g.flags = v.flags();
  g.window = v.window();
  // p's data starts at the TCP header; a super-frame's payload goes on in its chain.
  g.len = p->frame_length() - static_cast<uint32_t>(v.header_length());
  g.options = &v.options();
  using namespace wire::tcpflag;

  if (s.state_ == TcpState::kClosed) {
    // Reset or aborted, the application has not closed yet: as no socket.
    if (!g.has(kRst)) {
      if (g.has(kAck)) {
        send_reset(s.tuple_, g.ack, std::nullopt);
      } else {
        send_reset(s.tuple_, SeqNum(0), g.seq + (g.len + (g.has(kSyn) ? 1 : 0) + (g.has(kFin) ? 1 : 0)));
      }
    }
    drop(std::move(p), DropReason::kTcpClosed);
    return;
  }

  // A Fast Open SYN again (our SYN-ACK was lost): answer it as a request
  // would be answered (tcp_check_req), with the SYN-ACK.
  if (s.state_ == TcpState::kSynReceived && s.fast_open_ && (g.flags & (kSyn | kAck | kRst)) == kSyn &&
      g.seq == s.irs_) {
    resend_synack(s);
    return;  // consumed
  }

  // Header prediction: ESTABLISHED, a plain ACK (+PSH) carrying the next
  // expected bytes, nothing new acknowledged, no holes, timestamps in order.
  if (s.state_ == TcpState::kEstablished && (g.flags & (kSyn | kFin | kRst | kUrg | kAck)) == kAck &&
      g.seq == s.rcv_nxt_ && g.ack == s.snd_una_ && g.len > 0 && s.ooo_.empty() &&
      (!s.ts_ok_ || (g.options->timestamps &&
                     static_cast<int32_t>(g.options->timestamps->value - s.ts_recent_) >= 0)) &&
      g.len <= static_cast<uint32_t>(std::max<int32_t>((s.rcv_wup_ + s.rcv_wnd_) - s.rcv_nxt_, 0))) {
    counters_.add(Counter::TcpExtTCPHPHits);
    if (s.ts_ok_ && g.seq <= s.rcv_wup_) {
      s.ts_recent_ = g.options->timestamps->value;
      s.ts_recent_stamp_ = clock_.now();
    }
    s.snd_wnd_ = g.window << s.snd_wscale_;
    measure_rcv_rtt(s, g);
    p->pull(static_cast<uint32_t>(v.header_length()));
    queue_data(s, std::move(p), g);
    return;
  }

  // 1. PAWS (RFC 7323 5.3): an old timestamp means an old duplicate.
  if (paws_reject(s, g)) {
    schedule_ack(s, true);
    drop(std::move(p), DropReason::kTcpPaws);
    return;
  }
  // 2. Sequence acceptability.
  if (!acceptable(s, g)) {
    if (g.has(kRst)) {
      drop(std::move(p), DropReason::kTcpNotAcceptable);
      return;
    }
    if (g.has(kSyn)) {
      // RFC 5961 4.2: a SYN gets a challenge ACK wherever its sequence lies.
      if (send_challenge_ack(s)) counters_.add(Counter::TcpExtTCPChallengeACK);
      drop(std::move(p), DropReason::kTcpSynChallenged);
      return;
    }
    if (g.len > 0 && g.end() <= s.rcv_nxt_) {
      // Old data again (a spurious retransmission): D-SACK it (RFC 2883 4.1).
      // The drop reason counts TcpExtTCPDSACKOldSent.
      if (s.sack_ok_) note_dsack(s, SeqRange{g.seq, g.end()});
      schedule_ack(s, true);
      drop(std::move(p), DropReason::kTcpDuplicate);
      return;
    }
    const int32_t w = (s.rcv_wup_ + s.rcv_wnd_) - s.rcv_nxt_;
    schedule_ack(s, true);  // RFC 9293: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
    if (w <= 0 && g.len > 0 && g.seq == s.rcv_nxt_) {
      drop(std::move(p), DropReason::kTcpZeroWindow);  // a zero-window probe
    } else {
      drop(std::move(p), DropReason::kTcpNotAcceptable);
    }
    return;
  }
  // 3. RST (RFC 5961 3.2): exact match resets, anything else in the window
  // earns a challenge ACK.
  if (g.has(kRst)) {
    if (g.seq == s.rcv_nxt_) {
      reset_connection(s);
      maybe_release(s);
      return;  // consumed
    }
    // The drop reason counts TcpExtTCPChallengeACK: only when one is sent.
    drop(std::move(p), send_challenge_ack(s) ? DropReason::kTcpRstChallenged
                                             : DropReason::kTcpNotAcceptable);
    return;
  }
  // 4. SYN in a synchronized state (RFC 5961 4.2): challenge ACK.
  // (A Fast Open SYN sent again was answered above; at IRS it is never in
  // the window anyway.)
  if (g.has(kSyn)) {
    if (send_challenge_ack(s)) counters_.add(Counter::TcpExtTCPChallengeACK);
    drop(std::move(p), DropReason::kTcpSynChallenged);
    return;
  }
  // 5. The ACK field.
  if (!g.has(kAck)) {
    drop(std::move(p), DropReason::kTcpInvalidAck);
    return;
  }
  if (g.ack > s.snd_nxt_) {
    // ACK of data never sent (RFC 9293 3.10.7.4, RFC 5961 5.2): ACK and drop.
    if (send_challenge_ack(s)) counters_.add(Counter::TcpExtTCPChallengeACK);
    drop(std::move(p), DropReason::kTcpInvalidAck);
    return;
  }
  if (g.ack < s.snd_una_ - std::max<uint32_t>(s.max_snd_wnd_, 65535)) {
    // RFC 5961 5.2: too old to be true.
    if (send_challenge_ack(s)) counters_.add(Counter::TcpExtTCPChallengeACK);
    drop(std::move(p), DropReason::kTcpInvalidAck);
    return;
  }
  if (s.state_ == TcpState::kSynReceived) {
    if (g.ack != s.iss_ + 1 && !(s.fin_queued_ && g.ack == s.snd_nxt_)) {
      send_reset(s.tuple_, g.ack, std::nullopt);
      drop(std::move(p), DropReason::kTcpInvalidAck);
      return;
    }
    // The Fast Open connection's handshake completes (its passive open was
    // counted when the child was made).
    s.state_ = TcpState::kEstablished;
    fastopen_done(s);
    if (!s.fin_queued_) timers_.cancel(s.rto_timer_);  // no more SYN-ACKs
  }
  if (g.ack > s.snd_una_) s.snd_una_ = g.ack;
  s.snd_wnd_ = g.window << s.snd_wscale_;
  s.max_snd_wnd_ = std::max(s.max_snd_wnd_, s.snd_wnd_);
  if (s.fin_queued_ && s.snd_una_ == s.snd_nxt_) {
    // Our FIN is acknowledged.
    timers_.cancel(s.rto_timer_);
    switch (s.state_) {
      case TcpState::kFinWait1:
        s.state_ = TcpState::kFinWait2;
        if (s.app_closed_) {
          timers_.arm(s.rto_timer_,
                      clock_.now() + absl::Seconds(tunables_.get(Tunable::kTcpFinTimeout)));
        }
        break;
      case TcpState::kClosing:
        to_time_wait(s);
        return;
      case TcpState::kLastAck:
        s.state_ = TcpState::kClosed;
        unhash(s);
        maybe_release(s);
        return;
      default:
        break;
    }
  }
  // 6. Timestamps (RFC 7323 4.3): remember TSval of a segment covering
  // Last.ACK.sent.
  if (s.ts_ok_ && g.options->timestamps && g.seq <= s.rcv_wup_) {
    s.ts_recent_ = g.options->timestamps->value;
    s.ts_recent_stamp_ = clock_.now();
  }
  measure_rcv_rtt(s, g);

  // 7. Data and FIN.
  if (g.len == 0 && !g.has(kFin)) {
    counters_.add(Counter::TcpExtTCPPureAcks);
    return;  // a pure ACK, consumed
  }
  switch (s.state_) {
    case TcpState::kEstablished:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
    case TcpState::kSynReceived:
      break;
    default:
      // RFC 9293: after the peer's FIN, text is ignored (CLOSE_WAIT, CLOSING,
      // LAST_ACK); a repeated FIN is re-ACKed.
      if (g.has(kFin)) schedule_ack(s, true);
      drop(std::move(p), DropReason::kTcpNotAcceptable);
      return;
  }
  if (s.app_closed_ && g.len > 0) {
    // Data for a socket nobody will read (Linux tcp_rcv_state_process): abort.
    counters_.add(Counter::TcpExtTCPAbortOnData);
    send_rst_for(s);
    reset_connection(s);
    drop(std::move(p), DropReason::kTcpClosed);
    maybe_release(s);
    return;
  }
  p->pull(static_cast<uint32_t>(v.header_length()));
  queue_data(s, std::move(p), g);
}

void TcpLayer::queue_data(TcpSocket& s, PacketRef p, Segment& g) {
  if (p->chain != nullptr) {
    // A super-frame: its header was processed once; each buffer is queued as
    // its own segment (in order, out of order or duplicate, as it falls).
    // FIN and PSH belong to the last piece.
    SeqNum seq = g.seq;
    PacketRef piece = std::move(p);
    while (piece) {
      PacketRef rest(piece->chain);
      piece->chain = nullptr;
      piece->gso_size = piece->gso_segs = 0;
      Segment one = g;
      one.seq = seq;
      one.len = piece->length();
      one.continuation = one.seq != g.seq;
      if (rest) one.flags &= static_cast<uint8_t>(~(wire::tcpflag::kFin | wire::tcpflag::kPsh));
      seq = seq + one.len;
      if (one.len > 0 || one.has(wire::tcpflag::kFin)) {
        queue_data(s, std::move(piece), one);
        if (s.state_ != TcpState::kEstablished && s.state_ != TcpState::kFinWait1 &&
            s.state_ != TcpState::kFinWait2 && s.state_ != TcpState::kSynReceived) {
          return;  // no more data is taken (the FIN was the last piece anyway)
        }
      }
      piece = std::move(rest);
    }
    return;
  }
  const bool fin = g.has(wire::tcpflag::kFin);
  SeqNum seq = g.seq;
  const SeqNum end = g.seq + g.len;
  if (g.len >= s.rcv_mss_) {
    // The peer's segment size (tcp_measure_rcv_mss) and the payload/truesize
    // ratio the window is computed with — from full-sized segments only, as
    // Linux: a run of tiny segments must not collapse the window.
    s.rcv_mss_ = static_cast<uint16_t>(std::min<uint32_t>(g.len, s.adv_mss_));
    s.scaling_ratio_ = std::clamp<uint32_t>(g.len * 256 / std::max<uint32_t>(p->truesize, 1), 16, 256);
  }
  bool ack_now = false;
  if (g.len > 0 && seq <= s.rcv_nxt_) {
    if (end <= s.rcv_nxt_) {
      if (s.sack_ok_) note_dsack(s, SeqRange{seq, end});  // counted by the drop reason
      schedule_ack(s, true);
      drop(std::move(p), DropReason::kTcpDuplicate);
      return;
    }
    if (seq < s.rcv_nxt_) {  // an old prefix: keep only what is new
      if (s.sack_ok_) {
        note_dsack(s, SeqRange{seq, s.rcv_nxt_});
        counters_.add(Counter::TcpExtTCPDSACKOldSent);
      }
      p->pull(static_cast<uint32_t>(s.rcv_nxt_ - seq));
      seq = s.rcv_nxt_;
    }
    // The next expected bytes are never refused for lack of room while the
    // OOO queue holds anything: prune it from the highest sequence first.
    if (rmem(s) + p->truesize > s.rcvbuf_ && !s.ooo_.empty()) prune_ooo(s, s.rcv_nxt_, p->truesize);
    if (s.rcv_queue_.truesize() + p->truesize > 2 * s.rcvbuf_) {
      // The application stopped reading and the sender overran the window.
      counters_.add(Counter::TcpExtRcvPruned);
      schedule_ack(s, true);
      drop(std::move(p), DropReason::kTcpRcvQueueFull);
      return;
    }
    const uint32_t len = p->length();
    set_seg(p.get(), seq, end);
    s.rcv_queue_.push_back(std::move(p));
    s.rcv_nxt_ = end;
    s.bytes_received_ += len;
    if (!s.ooo_.empty()) {
      // A hole filled: move what is now in order, ACK at once (quick-ack).
      uint32_t stale = 0;
      s.rcv_nxt_ = s.ooo_.drain(
          s.rcv_nxt_,
          [&](PacketRef q) {
            s.bytes_received_ += q->length();
            s.rcv_queue_.push_back(std::move(q));
          },
          &stale);
      uint8_t kept = 0;
      for (uint8_t i = 0; i < s.sack_count_; ++i) {
        if (s.sack_blocks_[i].right > s.rcv_nxt_) s.sack_blocks_[kept++] = s.sack_blocks_[i];
      }
      s.sack_count_ = kept;
      quickack_enter(s);
      ack_now = true;
    }
    mark_ready(s);
  } else if (g.len > 0) {
    // Out of order (RFC 9293 3.10.7.4 "should be held", RFC 2018 SACK).
    if (rmem(s) + p->truesize > s.rcvbuf_) {
      prune_ooo(s, seq, p->truesize);
      if (rmem(s) + p->truesize > s.rcvbuf_) {
        schedule_ack(s, true);
        drop(std::move(p), DropReason::kTcpOfoMemory);
        return;
      }
    }
    counters_.add(Counter::TcpExtTCPOFOQueue);  // as Linux: once it has room
    OooInsert r = s.ooo_.insert(std::move(p), seq, end);
    if (r.merged > 0) counters_.add(Counter::TcpExtTCPOFOMerge, r.merged);
    if (r.dsack && s.sack_ok_) {
      note_dsack(s, *r.dsack);
      counters_.add(Counter::TcpExtTCPDSACKOfoSent);
    }
    // The block holding the newest data goes first (RFC 2018 4) — for a
    // duplicate too (r.range is then the queued data it repeats): RFC 2883
    // 4.2 wants the block containing a D-SACKed range right after it.
    if (s.sack_ok_) update_sack_blocks(s, r.range);
    quickack_enter(s);
    ack_now = true;  // an immediate duplicate ACK carrying SACK
  }
  if (fin) {
    const SeqNum fin_seq = g.seq + g.len;
    if (fin_seq == s.rcv_nxt_) {
      process_fin(s);
      return;
    }
    if (fin_seq > s.rcv_nxt_) {
      s.ooo_fin_ = fin_seq;  // FIN beyond a hole: a duplicate ACK at once
      ack_now = true;
    }
  }
  if (s.ooo_fin_ && *s.ooo_fin_ == s.rcv_nxt_) {
    process_fin(s);
    return;
  }
  // ACK policy (Linux __tcp_ack_snd_check): at once with more than one full
  // segment unacknowledged, in quick-ack mode, or with holes; else delayed.
  if (!ack_now) {
    if (static_cast<uint32_t>(s.rcv_nxt_ - s.rcv_wup_) > s.rcv_mss_) ack_now = true;
    if (s.quickack_ > 0 && !g.continuation) {
      --s.quickack_;
      counters_.add(Counter::TcpExtTCPQuickAck);
      ack_now = true;
    }
  }
  schedule_ack(s, ack_now);
}

void TcpLayer::process_fin(TcpSocket& s) {
  s.rcv_nxt_ += 1;
  s.fin_received_ = true;
  s.ooo_fin_.reset();
  s.ooo_.clear();  // as tcp_fin: nothing can follow the FIN
  s.sack_count_ = 0;
  mark_ready(s);
  switch (s.state_) {
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
      s.state_ = TcpState::kCloseWait;
      break;
    case TcpState::kFinWait1:
      s.state_ = TcpState::kClosing;  // our FIN is not acknowledged yet
      break;
    case TcpState::kFinWait2:
      send_ack(s);
      to_time_wait(s);
      return;
    default:
      break;
  }
  schedule_ack(s, true);
}

// RFC 2018 4: the first block reports the most recently received segment's
// block, then the most recently reported others. As Linux's
// tcp_sack_new_ofo_skb, the new range absorbs every block it touches, so no
// walk of the queue is needed (a window arriving in reverse stays O(1) per
// segment).
void TcpLayer::update_sack_blocks(TcpSocket& s, const SeqRange& added) {
  SeqRange newest = added;
  std::array<SeqRange, 4> out;
  uint8_t n = 1;
  for (uint8_t i = 0; i < s.sack_count_; ++i) {
    const SeqRange& b = s.sack_blocks_[i];
    if (b.left <= newest.right && newest.left <= b.right) {
      newest.left = seq_min(newest.left, b.left);
      newest.right = seq_max(newest.right, b.right);
    }
  }
  out[0] = newest;
  for (uint8_t i = 0; i < s.sack_count_ && n < out.size(); ++i) {
    const SeqRange& b = s.sack_blocks_[i];
    const bool absorbed = newest.left <= b.left && b.right <= newest.right;
    if (!absorbed && b.right > s.rcv_nxt_) out[n++] = b;
  }
  s.sack_blocks_ = out;
  s.sack_count_ = n;
  // Remember that this block grew in this poll (merged with what it absorbed).
  uint8_t t = 0;
  for (uint8_t i = 0; i < s.touched_count_; ++i) {
    const SeqRange& b = s.sack_touched_[i];
    if (!(newest.left <= b.left && b.right <= newest.right)) s.sack_touched_[t++] = b;
  }
  if (t == s.sack_touched_.size()) {  // full: the oldest has had its turn
    for (uint8_t i = 1; i < t; ++i) s.sack_touched_[i - 1] = s.sack_touched_[i];
    --t;
  }
  s.sack_touched_[t++] = newest;
  s.touched_count_ = t;
}

// tcp_prune_ofo_queue: drop from the highest sequence down until `needed`
// more bytes fit the receive buffer, never a segment starting below
// `keep_below` (the newcomer's sequence; RCV.NXT for in-order data).
void TcpLayer::prune_ooo(TcpSocket& s, SeqNum keep_below, size_t needed) {
  counters_.add(Counter::TcpExtPruneCalled);
  bool pruned = false;
  while (!s.ooo_.empty() && rmem(s) + needed > s.rcvbuf_ && seg_seq(s.ooo_.highest()) >= keep_below) {
    drop(s.ooo_.pop_highest(), DropReason::kTcpOfoPruned);
    pruned = true;
  }
  if (pruned) {
    // SACK state is rebuilt from what remains (as tcp_sack_reset).
    s.sack_count_ = 0;
    s.ooo_.for_each_block([&](const SeqRange& r) {
      if (s.sack_count_ < s.sack_blocks_.size()) s.sack_blocks_[s.sack_count_++] = r;
    });
    if (s.ooo_fin_ && s.ooo_.empty()) s.ooo_fin_.reset();
  }
}

void TcpLayer::measure_rcv_rtt(TcpSocket& s, const Segment& g) {
  const absl::Time now = clock_.now();
  if (s.ts_ok_ && g.options->timestamps && g.options->timestamps->echo != 0 && g.len >= s.rcv_mss_) {
    // tcp_rcv_rtt_measure_ts: the peer echoes our TSval.
    const int32_t ms = static_cast<int32_t>(ts_now() + s.ts_offset_ - g.options->timestamps->echo);
    if (ms >= 0 && ms < 60000) {
      const absl::Duration sample = absl::Milliseconds(std::max(ms, 1));
      s.rcv_rtt_ = s.rcv_rtt_ == absl::ZeroDuration() ? sample : (s.rcv_rtt_ * 7 + sample) / 8;
    }
    return;
  }
  // tcp_rcv_rtt_measure: one window's worth of data takes about one RTT.
  if (s.rtt_time_ == absl::InfinitePast() || s.rcv_nxt_ >= s.rtt_seq_) {
    if (s.rtt_time_ != absl::InfinitePast()) {
      const absl::Duration sample = std::max(now - s.rtt_time_, absl::Milliseconds(1));
      s.rcv_rtt_ = s.rcv_rtt_ == absl::ZeroDuration() ? sample : std::min(s.rcv_rtt_, sample);
    }
    s.rtt_seq_ = s.rcv_nxt_ + std::max<uint32_t>(s.rcv_wnd_, 1);
    s.rtt_time_ = now;
  }
}

// tcp_rcv_space_adjust (net.ipv4.tcp_moderate_rcvbuf): once per RTT, if the
// application read more than last time, let the buffer hold twice that.
void TcpLayer::space_adjust(TcpSocket& s) {
  if (tunables_.get(Tunable::kTcpModerateRcvbuf) == 0) return;
  const absl::Time now = clock_.now();
  if (s.rcv_rtt_ == absl::ZeroDuration() || now - s.space_time_ < s.rcv_rtt_) return;
  const uint64_t copied = s.copied_total_ - s.space_copied_mark_;
  if (copied > s.space_) {
    const uint64_t rcvwin = 2 * copied + 16ull * s.adv_mss_;
    const uint64_t want = rcvwin * 256 / std::max<uint32_t>(s.scaling_ratio_, 1);
    const uint64_t cap = static_cast<uint64_t>(tunables_.get_vector(Tunable::kTcpRmem)[2]);
    s.rcvbuf_ = static_cast<size_t>(std::max<uint64_t>(s.rcvbuf_, std::min(want, cap)));
    s.space_ = static_cast<uint32_t>(std::min<uint64_t>(copied, UINT32_MAX));
  }
  s.space_copied_mark_ = s.copied_total_;
  s.space_time_ = now;
}

void TcpLayer::socket_read(TcpSocket& s, size_t bytes, size_t truesize) {
  (void)truesize;
  s.copied_total_ += bytes;
  space_adjust(s);
  // tcp_cleanup_rbuf: a window at least twice what was advertised is worth
  // an update now (and reopens a zero window).
  if (s.state_ == TcpState::kClosed || s.state_ == TcpState::kTimeWait || s.fin_received_) return;
  const int32_t cur = std::max<int32_t>((s.rcv_wup_ + s.rcv_wnd_) - s.rcv_nxt_, 0);
  const uint32_t max_win = 65535u << s.rcv_wscale_;
  if (2u * static_cast<uint32_t>(cur) <= max_win) {
    const uint32_t fresh = free_window(s);
    if (fresh >= s.rcv_mss_ && fresh >= 2u * static_cast<uint32_t>(cur)) {
      schedule_ack(s, true);
    }
  }
}

}  // namespace inlet::tcp

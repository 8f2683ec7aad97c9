// What a TCP receiver sends: ACKs (with timestamps, SACK and D-SACK blocks
// and the window), window updates, SYN-ACKs, FINs and resets — and the
// window selection behind them (receiver SWS avoidance, never shrinking).
#include <algorithm>

#include "tcp/tcp_layer.h"
#include "wire/ipv4.h"

namespace inlet::tcp {

void TcpLayer::quickack_enter(TcpSocket& s) {
  // tcp_incr_quickack: about half a window of segments, at most 16.
  uint32_t q = s.rcv_wnd_ / (2u * std::max<uint16_t>(s.rcv_mss_, 1));
  if (q < 2) q = 2;
  s.quickack_ = std::max(s.quickack_, std::min<uint32_t>(q, 16));
}

uint8_t TcpLayer::our_wscale() const {
  // tcp_select_initial_window: the shift that lets the largest buffer show.
  uint64_t space = std::max<uint64_t>(tunables_.get_vector(Tunable::kTcpRmem)[2],
                                      static_cast<uint64_t>(tunables_.get(Tunable::kRmemMax)));
  uint8_t ws = 0;
  while (space > 65535 && ws < wire::kTcpMaxWindowScale) {
    space >>= 1;
    ++ws;
  }
  return ws;
}

uint16_t TcpLayer::our_mss(uint16_t ifindex) const {
  const link::Interface* i = ip_.link().interface(ifindex);
  const uint32_t mtu = i != nullptr ? i->mtu() : 1500;
  return static_cast<uint16_t>(std::max<uint32_t>(mtu, 88) - 40);
}

SeqNum TcpLayer::make_isn(const FourTuple& t) const {
  // RFC 6528: a keyed hash of the 4-tuple plus a clock ticking every 64 ns.
  const uint32_t words[3] = {t.local.value(), t.remote.value(),
                             (uint32_t{t.local_port} << 16) | t.remote_port};
  const uint64_t ns = static_cast<uint64_t>(absl::ToUnixNanos(clock_.now()));
  return SeqNum(static_cast<uint32_t>(siphash_words(isn_key_, words)) + static_cast<uint32_t>(ns >> 6));
}

uint32_t TcpLayer::ts_offset_for(const FourTuple& t) const {
  const uint32_t words[2] = {t.local.value(), t.remote.value()};
  return static_cast<uint32_t>(siphash_words(ts_key_, words));
}

// tcp_win_from_space: the payload the free buffer can hold at the observed
// payload-to-truesize ratio.
uint32_t TcpLayer::free_window(const TcpSocket& s) const {
  const size_t used = rmem(s);
  if (used >= s.rcvbuf_) return 0;
  const uint64_t free = s.rcvbuf_ - used;
  return static_cast<uint32_t>(std::min<uint64_t>(free * s.scaling_ratio_ / 256, UINT32_MAX));
}

// tcp_select_window: RFC 1122 4.2.3.3 receiver SWS avoidance (the right edge
// moves by at least one MSS or not at all), RFC 9293 3.8.6.2.2 never shrink.
uint32_t TcpLayer::select_window(TcpSocket& s) {
  const int32_t cur_signed = (s.rcv_wup_ + s.rcv_wnd_) - s.rcv_nxt_;
  const uint32_t cur = cur_signed > 0 ? static_cast<uint32_t>(cur_signed) : 0;
  const uint32_t max_win = 65535u << s.rcv_wscale_;
  const uint32_t mss = std::max<uint32_t>(s.rcv_mss_, 1);
  uint32_t free = std::min(free_window(s), max_win);
  uint32_t win;
  if (free < mss) {
    win = 0;  // too little to be worth offering
  } else if (cur > free - std::min(free, mss) && cur <= free) {
    win = cur;  // within one MSS of what we offer: keep it (SWS)
  } else {
    win = s.rcv_wscale_ > 0 ? (free >> s.rcv_wscale_) << s.rcv_wscale_ : (free / mss) * mss;
  }
  if (win < cur) {
    // Never shrink the right edge: keep the old one, rounded up to the scale.
    if (win == 0) counters_.add(Counter::TcpExtTCPWantZeroWindowAdv);
    const uint32_t unit = 1u << s.rcv_wscale_;
    win = std::min((cur + unit - 1) / unit * unit, max_win);
  }
  if (s.rcv_wscale_ > 0) {
    // The wire carries win >> rcv_wscale_: a window kept at an unaligned
    // `cur` would lose its low bits and move the right edge left (up to one
    // unit). Round up, as Linux ALIGNs the window to the scale.
    const uint32_t unit = 1u << s.rcv_wscale_;
    win = std::min((win + unit - 1) / unit * unit, max_win);
  }
  if (win == 0 && s.rcv_wnd_ != 0) counters_.add(Counter::TcpExtTCPToZeroWindowAdv);
  if (win != 0 && s.rcv_wnd_ == 0) counters_.add(Counter::TcpExtTCPFromZeroWindowAdv);
  s.rcv_wnd_ = win;
  s.rcv_wup_ = s.rcv_nxt_;
  return win;
}

void TcpLayer::schedule_ack(TcpSocket& s, bool now) {
  if (now) {
    timers_.cancel(s.delack_timer_);
    s.ack_owed_ = true;
    if (!s.ack_scheduled_) {
      s.ack_scheduled_ = true;
      ack_list_.push_back(&s);
    }
    return;
  }
  if (!s.delack_timer_.armed() && !s.ack_scheduled_) {
    timers_.arm(s.delack_timer_,
                clock_.now() + absl::Milliseconds(tunables_.get(Tunable::kTcpDelackMs)));
  }
}

void TcpLayer::send_ack(TcpSocket& s, const SeqRange* first) {
  timers_.cancel(s.delack_timer_);
  s.ack_owed_ = false;
  wire::TcpOptions o;
  if (s.ts_ok_) o.timestamps = wire::TcpTimestamps{ts_now() + s.ts_offset_, s.ts_recent_};
  if (s.sack_ok_) {
    // RFC 2883: a D-SACK block goes first; with timestamps 3 blocks fit.
    // `first` (a block that grew this poll) comes next, then the others by
    // recency (RFC 2018 4).
    const size_t room = s.ts_ok_ ? 3 : 4;
    if (s.dsack_) o.add_sack({s.dsack_->left.raw(), s.dsack_->right.raw()});
    if (first != nullptr && o.sack_count < room) o.add_sack({first->left.raw(), first->right.raw()});
    for (uint8_t i = 0; i < s.sack_count_ && o.sack_count < room; ++i) {
      if (first != nullptr && s.sack_blocks_[i] == *first) continue;
      o.add_sack({s.sack_blocks_[i].left.raw(), s.sack_blocks_[i].right.raw()});
    }
  }
  s.dsack_.reset();
  const uint32_t win = select_window(s);
  emit(s.tuple_, s.snd_nxt_, s.rcv_nxt_, wire::tcpflag::kAck,
       static_cast<uint16_t>(std::min<uint32_t>(win >> s.rcv_wscale_, 65535)), o);
}

void TcpLayer::send_fin(TcpSocket& s) {
  s.ack_owed_ = false;  // the FIN carries the same acknowledgment
  wire::TcpOptions o;
  if (s.ts_ok_) o.timestamps = wire::TcpTimestamps{ts_now() + s.ts_offset_, s.ts_recent_};
  const uint32_t win = select_window(s);
  emit(s.tuple_, s.snd_nxt_ - 1, s.rcv_nxt_, wire::tcpflag::kFin | wire::tcpflag::kAck,
       static_cast<uint16_t>(std::min<uint32_t>(win >> s.rcv_wscale_, 65535)), o);
}

void TcpLayer::send_rst_for(TcpSocket& s) {
  counters_.add(Counter::TcpOutRsts);
  emit(s.tuple_, s.snd_nxt_, s.rcv_nxt_, wire::tcpflag::kRst | wire::tcpflag::kAck, 0, {});
}

void TcpLayer::send_reset(const FourTuple& t, SeqNum seq, std::optional<SeqNum> ack) {
  counters_.add(Counter::TcpOutRsts);
  const uint8_t flags = ack ? (wire::tcpflag::kRst | wire::tcpflag::kAck) : wire::tcpflag::kRst;
  emit(t, seq, ack.value_or(SeqNum(0)), flags, 0, {});
}

void TcpLayer::send_synack(const FourTuple& t, uint16_t ifindex, SeqNum iss, SeqNum rcv_nxt,
                           const SynOptions& peer, uint32_t ts_offset, uint32_t tsval_override,
                           const FastOpenCookie* cookie) {
  wire::TcpOptions o;
  // RFC 9293 3.7.1: each side announces what it can receive — the MTU of
  // the interface the SYN came in on, less the IPv4 and TCP headers.
  o.mss = our_mss(ifindex);
  if (peer.wscale) o.window_scale = our_wscale();
  o.sack_permitted = peer.sack;
  if (peer.ts) {
    o.timestamps = wire::TcpTimestamps{tsval_override != 0 ? tsval_override : ts_now() + ts_offset,
                                       peer.tsval};
  }
  if (cookie != nullptr) o.set_fast_open_cookie(*cookie);
  // The SYN-ACK's window is never scaled (RFC 7323 2.2).
  const uint64_t initial = static_cast<uint64_t>(tunables_.get_vector(Tunable::kTcpRmem)[1]) / 2;
  const uint16_t window = static_cast<uint16_t>(std::min<uint64_t>(initial, 65535));
  emit(t, iss, rcv_nxt, wire::tcpflag::kSyn | wire::tcpflag::kAck, window, o);
}

bool TcpLayer::emit(const FourTuple& t, SeqNum seq, SeqNum ack, uint8_t flags, uint16_t window,
                    const wire::TcpOptions& options) {
  PacketRef p = pool_.alloc();
  if (!p) return false;  // counted by the pool
  wire::TcpRepr repr;
  repr.src_port = t.local_port;
  repr.dst_port = t.remote_port;
  repr.seq = seq.raw();
  repr.ack = ack.raw();
  repr.flags = flags;
  repr.window = window;
  repr.options = options;
  const size_t len = repr.header_length();
  uint8_t* h = p->put(static_cast<uint32_t>(len));
  if (h == nullptr || repr.emit(std::span<uint8_t>(h, len), t.local, t.remote) == 0) {
    drop(std::move(p), DropReason::kTxNoHeadroom);
    return false;
  }
  counters_.add(Counter::TcpOutSegs);
  return ip_.output(std::move(p), t.local, t.remote, wire::ipproto::kTcp);
}

}  // namespace inlet::tcp

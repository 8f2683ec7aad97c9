// TCP set-up, demux, listeners (SYN queue, SYN cookies, Fast Open), requests,
// TIME_WAIT and connection lifetime.
#include "tcp/tcp_layer.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"

namespace inlet::tcp {

namespace {

constexpr uint32_t kTfoServerEnable = 0x2;         // TFO_SERVER_ENABLE
constexpr uint32_t kTfoServerCookieNotReqd = 0x200;
constexpr uint32_t kTfoServerWoSockopt = 0x400;    // every listener does Fast Open
constexpr absl::Duration kSynackTimeoutInit = absl::Seconds(1);  // TCP_TIMEOUT_INIT
constexpr absl::Duration kTimeWaitLen = absl::Seconds(60);       // TCP_TIMEWAIT_LEN

uint64_t listener_key(wire::Ipv4Address a, uint16_t port) {
  return (uint64_t{a.value()} << 16) | port;
}

}  // namespace

std::string_view tcp_state_name(TcpState s) {
  switch (s) {
    case TcpState::kClosed: return "CLOSED";
    case TcpState::kListen: return "LISTEN";
    case TcpState::kSynReceived: return "SYN_RECV";
    case TcpState::kEstablished: return "ESTABLISHED";
    case TcpState::kFinWait1: return "FIN_WAIT1";
    case TcpState::kFinWait2: return "FIN_WAIT2";
    case TcpState::kCloseWait: return "CLOSE_WAIT";
    case TcpState::kClosing: return "CLOSING";
    case TcpState::kLastAck: return "LAST_ACK";
    case TcpState::kTimeWait: return "TIME_WAIT";
  }
  return "?";
}

TcpListener::TcpListener(wire::Ipv4Address address, uint16_t port, size_t backlog)
    : address_(address), port_(port), backlog_(backlog), accept_ring_(backlog + 1, nullptr) {}

void TcpListener::push(TcpSocket* s) {
  accept_ring_[(accept_head_ + accept_count_) % accept_ring_.size()] = s;
  ++accept_count_;
  s->listener_ = this;
}

TcpSocket* TcpListener::accept() {
  if (accept_count_ == 0) return nullptr;
  TcpSocket* s = accept_ring_[accept_head_];
  accept_head_ = (accept_head_ + 1) % accept_ring_.size();
  --accept_count_;
  s->listener_ = nullptr;
  return s;
}

TcpLayer::EntrySizes TcpLayer::entry_sizes() {
  using Slot = std::pair<const FourTuple, Entry>;
  return {sizeof(Request), sizeof(TimeWait), sizeof(Slot), alignof(Slot)};
}

TcpLayer::TcpLayer(const Tunables& tunables, BufferPool& pool, Counters& counters,
                   TimerWheel& timers, const Clock& clock, const Trace& trace, ip::Ipv4Layer& ip)
    : tunables_(tunables),
      pool_(pool),
      counters_(counters),
      timers_(timers),
      clock_(clock),
      trace_(trace),
      ip_(ip),
      epoch_(clock.now()),
      isn_key_(random_sip_key()),
      ts_key_(random_sip_key()) {
  const size_t max_conn = static_cast<size_t>(tunables.get(Tunable::kTcpMaxConnections));
  const size_t max_req = static_cast<size_t>(tunables.get(Tunable::kTcpMaxSynBacklog));
  const size_t max_tw = static_cast<size_t>(tunables.get(Tunable::kTcpMaxTimeWait));
  // TcpSocket's constructor is the layer's only: it builds them in place.
  sockets_ = allocate_unique_array_with<TcpSocket>(max_conn, [](void* p) { return ::new (p) TcpSocket(); });
  socket_capacity_ = max_conn;
  free_sockets_ = Vector<uint32_t>(max_conn);  // built full, socket 0 on top (at the back)
  for (size_t i = max_conn; i-- > 0;) {
    TcpSocket& s = sockets_[i];
    s.layer_ = this;
    s.index_ = static_cast<uint32_t>(i);
    s.delack_timer_.set_callback([this, &s] { schedule_ack(s, true); counters_.add(Counter::TcpExtDelayedACKs); });
    s.rto_timer_.set_callback([this, &s] {
      if (s.state_ == TcpState::kSynReceived && !s.fin_queued_) {
        // A Fast Open child's SYN-ACK, retransmitted as a request's would be
        // (tcp_fastopen_synack_timer); out of retries, the connection fails.
        if (s.retransmits_ >= tunables_.get(Tunable::kTcpSynackRetries)) {
          counters_.add(Counter::TcpExtTCPAbortOnTimeout);
          reset_connection(s);
          maybe_release(s);
          return;
        }
        ++s.retransmits_;
        resend_synack(s);
        timers_.arm(s.rto_timer_, clock_.now() + kSynackTimeoutInit * (1 << std::min<int>(s.retransmits_, 6)));
        return;
      }
      // FIN retransmission with back-off, or the FIN_WAIT_2 timeout.
      if (s.state_ == TcpState::kFinWait2 || s.retransmits_ >= 8) {
        if (s.state_ != TcpState::kFinWait2) counters_.add(Counter::TcpExtTCPAbortOnTimeout);
        reset_connection(s);
        maybe_release(s);
        return;
      }
      ++s.retransmits_;
      counters_.add(Counter::TcpRetransSegs);
      send_fin(s);
      timers_.arm(s.rto_timer_, clock_.now() + kSynackTimeoutInit * (1 << std::min<int>(s.retransmits_, 6)));
    });
    free_sockets_[max_conn - 1 - i] = static_cast<uint32_t>(i);
  }
  requests_ = allocate_unique_array<Request>(max_req);
  request_capacity_ = max_req;
  free_requests_ = Vector<uint32_t>(max_req);  // as free_sockets_
  for (size_t i = max_req; i-- > 0;) {
    Request& r = requests_[i];
    r.timer.set_callback([this, &r] {
      // SYN-ACK retransmission with exponential back-off (tcp_synack_retries).
      if (r.retransmits >= tunables_.get(Tunable::kTcpSynackRetries)) {
        free_request(r);
        return;
      }
      ++r.retransmits;
      counters_.add(Counter::TcpExtTCPSynRetrans);
      counters_.add(Counter::TcpRetransSegs);
      SynOptions peer{r.peer_mss, r.peer_wscale, r.sack_ok, r.ts_ok, r.ts_recent};
      send_synack(r.tuple, r.ifindex, r.iss, r.irs + 1, peer, r.ts_offset, 0, nullptr);
      timers_.arm(r.timer, clock_.now() + kSynackTimeoutInit * (1 << std::min<int>(r.retransmits, 6)));
    });
    free_requests_[max_req - 1 - i] = static_cast<uint32_t>(i);
  }
  tw_capacity_ = max_tw;
  time_waits_ = Vector<TimeWait>(std::max<size_t>(max_tw, 1));  // sized once: built, not grown
  tw_timer_.set_callback([this] { expire_time_wait(clock_.now()); });
  table_.reserve(max_conn + max_req + max_tw);
  ack_list_.reserve(max_conn);
  ready_list_.reserve(max_conn);
  ready_out_.reserve(max_conn);
  ip_.register_transport(wire::ipproto::kTcp, this);
}

TcpLayer::~TcpLayer() { shutdown(); }

uint32_t TcpLayer::ts_now() const {
  return static_cast<uint32_t>(absl::ToInt64Milliseconds(clock_.now() - epoch_)) + 1;
}

absl::StatusOr<TcpListener*> TcpLayer::listen(wire::Ipv4Address address, uint16_t port,
                                              size_t backlog) {
  if (port == 0) return absl::InvalidArgumentError("TCP port 0 cannot be listened on");
  if (listeners_.contains(listener_key(address, port)) ||
      listeners_.contains(listener_key(wire::kIpv4Any, port))) {
    return absl::AlreadyExistsError(absl::StrFormat("TCP port %u is in use", port));
  }
  backlog = std::min<size_t>(backlog, static_cast<size_t>(tunables_.get(Tunable::kSomaxconn)));
  // TcpListener's constructor is the layer's only: it builds it in place.
  Unique<TcpListener> l = allocate_unique_with<TcpListener>(
      [&](void* p) { return ::new (p) TcpListener(address, port, backlog); });
  return listeners_.insert(listener_key(address, port), std::move(l));
}

void TcpLayer::close_listener(TcpListener* l) {
  if (l == nullptr) return;
  while (TcpSocket* s = l->accept()) {
    send_rst_for(*s);
    s->app_closed_ = true;
    reset_connection(*s);
    maybe_release(*s);
  }
  for (size_t i = 0; i < request_capacity_; ++i) {
    if (requests_[i].in_use && requests_[i].listener == l) free_request(requests_[i]);
  }
  for (size_t i = 0; i < socket_capacity_; ++i) {
    if (sockets_[i].tfo_listener_ == l) sockets_[i].tfo_listener_ = nullptr;
  }
  listeners_.erase(listener_key(l->address(), l->port()));
}

TcpListener* TcpLayer::find_listener(wire::Ipv4Address addr, uint16_t port) {
  TcpListener* l = listeners_.find(listener_key(addr, port));
  return l != nullptr ? l : listeners_.find(listener_key(wire::kIpv4Any, port));
}

void TcpLayer::drop(PacketRef&& p, DropReason reason) {
  trace_.drop(*p, reason);
  pool_.free(std::move(p), reason);
}

// The checksum of a segment scattered over a receive chain (RFC 1071 2(A):
// blocks at odd offsets are combined byte-swapped).
bool TcpLayer::chain_checksum_ok(const Packet& p, const Ipv4Delivery& d) {
  // One walk: each buffer's sum at its offset, then the pseudo-header (whose
  // length is the total just found) at offset 0.
  uint32_t sum = 0;
  size_t length = 0;
  for (const Packet* q = &p; q != nullptr; q = q->chain) {
    sum = wire::checksum_combine(sum, wire::checksum_accumulate(q->bytes()), length);
    length += q->length();
  }
  if (length > 0xFFFF) return false;
  sum = wire::checksum_combine(
      sum, wire::ipv4_pseudo_header_sum(d.src, d.dst, wire::ipproto::kTcp, static_cast<uint16_t>(length)), 0);
  return wire::checksum_finish(sum) == 0;
}

void TcpLayer::keep_first_buffer(Packet& p) {
  PacketRef(std::exchange(p.chain, nullptr)).reset();
  p.gso_size = p.gso_segs = 0;
}

void TcpLayer::receive(PacketRef p, const Ipv4Delivery& d) {
  // A super-frame counts the segments it was made of (as Linux's gso_segs).
  counters_.add(Counter::TcpInSegs, std::max<uint32_t>(p->gso_segs, 1));
  if (d.broadcast || d.multicast || p->pkt_type == PacketType::kBroadcast ||
      p->pkt_type == PacketType::kMulticast) {
    drop(std::move(p), DropReason::kTcpNotAcceptable);  // TCP is unicast only
    return;
  }
  // CHECKSUM_UNNECESSARY: the device checked it. CHECKSUM_PARTIAL on receive
  // comes from a local sender (a TAP with offload): nothing crossed a wire
  // (Linux's skb_csum_unnecessary takes both).
  bool verify = p->csum != ChecksumState::kUnnecessary && p->csum != ChecksumState::kPartial;
  if (verify && p->chain != nullptr) {
    if (!chain_checksum_ok(*p, d)) {
      counters_.add(Counter::TcpInCsumErrors);
      drop(std::move(p), DropReason::kTcpBadChecksum);
      return;
    }
    verify = false;
  }
  auto v = verify ? wire::TcpView::parse(p->bytes(), d.src, d.dst) : wire::TcpView::parse(p->bytes());
  if (!v) {
    wire::WireError error = v.error();
    if (verify && error == wire::WireError::kBadOptions) {
      // Linux verifies the checksum before it reads the options (tcp_v4_rcv):
      // an options area damaged on the wire is a checksum error there.
      const std::span<const uint8_t> b = p->bytes();
      const uint32_t pseudo = wire::ipv4_pseudo_header_sum(d.src, d.dst, wire::ipproto::kTcp,
                                                           static_cast<uint16_t>(b.size()));
      if (b.size() > 0xFFFF || wire::internet_checksum(b, pseudo) != 0) {
        error = wire::WireError::kBadChecksum;
      }
    }
    switch (error) {
      case wire::WireError::kTooShort: drop(std::move(p), DropReason::kTcpTooShort); break;
      case wire::WireError::kBadChecksum:
        counters_.add(Counter::TcpInCsumErrors);
        drop(std::move(p), DropReason::kTcpBadChecksum);
        break;
      default: drop(std::move(p), DropReason::kTcpBadHeader); break;
    }
    return;
  }
  const FourTuple t{d.dst, d.src, v->dst_port(), v->src_port()};
  if (auto it = table_.find(t); it != table_.end()) {
    if (it->second.kind == EntryKind::kConnection) {
      connection_input(sockets_[it->second.index], std::move(p), *v);
      return;
    }
    // The handshake and TIME-WAIT paths read one buffer: a super-frame
    // (GRO merging data that overtook the handshake's last ACK, say) goes on
    // as its first buffer alone, its checksum already checked or trusted
    // over the whole; the sender retransmits the rest.
    if (p->chain != nullptr) keep_first_buffer(*p);
    switch (it->second.kind) {
      case EntryKind::kConnection: break;  // above
      case EntryKind::kRequest:
        request_input(requests_[it->second.index], std::move(p), d, *v);
        return;
      case EntryKind::kTimeWait:
        time_wait_input(time_waits_[it->second.index], std::move(p), *v);
        return;
    }
  }
  if (p->chain != nullptr) keep_first_buffer(*p);
  if (TcpListener* l = find_listener(d.dst, v->dst_port())) {
    listen_input(*l, std::move(p), d, *v);
    return;
  }
  no_socket(std::move(p), d, *v);
}

// RFC 9293 3.10.7.1: a segment for no connection is answered with a reset
// (never a reset for a reset).
void TcpLayer::no_socket(PacketRef p, const Ipv4Delivery& d, const wire::TcpView& v) {
  const FourTuple t{d.dst, d.src, v.dst_port(), v.src_port()};
  if (!v.rst()) {
    if (v.ack_flag()) {
      send_reset(t, SeqNum(v.ack()), std::nullopt);
    } else {
      send_reset(t, SeqNum(0), SeqNum(v.seq()) + v.segment_length());
    }
  }
  drop(std::move(p), DropReason::kTcpNoSocket);
}

void TcpLayer::listen_input(TcpListener& l, PacketRef p, const Ipv4Delivery& d,
                            const wire::TcpView& v) {
  const FourTuple t{d.dst, d.src, v.dst_port(), v.src_port()};
  if (v.rst()) {  // RFC 9293 3.10.7.2: ignore
    drop(std::move(p), DropReason::kTcpNotAcceptable);
    return;
  }
  if (v.ack_flag() && v.syn()) {
    // RFC 9293 3.10.7.2: any acknowledgment is bad in LISTEN: <SEQ=SEG.ACK><CTL=RST>.
    send_reset(t, SeqNum(v.ack()), std::nullopt);
    drop(std::move(p), DropReason::kTcpBadFlags);
    return;
  }
  if (v.ack_flag()) {
#if !INLET_WITH_SYNCOOKIES
    // Built without SYN cookies: a third ACK with no request is answered
    // with a reset, as with net.ipv4.tcp_syncookies=0.
    send_reset(t, SeqNum(v.ack()), std::nullopt);
    drop(std::move(p), DropReason::kTcpNoSocket);
    return;
#else
    // A third ACK with no request: a SYN cookie, if we have sent any lately.
    const int64_t mode = tunables_.get(Tunable::kTcpSyncookies);
    const bool cookies_live =
        mode == 2 || (mode == 1 && clock_.now() - last_synq_overflow_ < absl::Minutes(2));
    if (!cookies_live) {
      send_reset(t, SeqNum(v.ack()), std::nullopt);
      drop(std::move(p), DropReason::kTcpNoSocket);
      return;
    }
    const uint32_t minute = static_cast<uint32_t>(absl::ToInt64Seconds(clock_.now() - absl::UnixEpoch()) / 60);
    const CookieTuple ct{t.remote, t.local, t.remote_port, t.local_port};
    std::optional<uint16_t> mss = cookies_.check(ct, v.seq() - 1, v.ack() - 1, minute);
    if (!mss) {
      // As Linux (cookie_v4_check hands the segment back to LISTEN): an ACK
      // that is no valid cookie is answered with a reset.
      send_reset(t, SeqNum(v.ack()), std::nullopt);
      drop(std::move(p), DropReason::kTcpCookieFailed);
      return;
    }
    SynOptions o;
    o.mss = *mss;
    if (const auto& ts = v.options().timestamps) {
      std::optional<CookieOptions> co = SynCookies::decode_timestamp(ts->echo);
      if (!co || tunables_.get(Tunable::kTcpTimestamps) == 0) {
        drop(std::move(p), DropReason::kTcpCookieFailed);
        return;
      }
      o.ts = true;
      o.tsval = ts->value;
      o.sack = co->sack_permitted && tunables_.get(Tunable::kTcpSack) != 0;
      o.wscale = tunables_.get(Tunable::kTcpWindowScaling) != 0 ? co->window_scale : std::nullopt;
    }
    if (l.accept_queue_full()) {
      counters_.add(Counter::TcpExtListenDrops);
      drop(std::move(p), DropReason::kTcpListenOverflow);
      return;
    }
    counters_.add(Counter::TcpExtSyncookiesRecv);
    TcpSocket* s = new_connection(t, p->ifindex, SeqNum(v.seq() - 1), SeqNum(v.ack() - 1), o, &l);
    if (s == nullptr) {
      counters_.add(Counter::TcpExtListenDrops);
      drop(std::move(p), DropReason::kTcpListenOverflow);
      return;
    }
    s->from_syncookie_ = true;
    established(*s);
    enqueue_accept(l, *s);
    connection_input(*s, std::move(p), v);
    return;
#endif  // INLET_WITH_SYNCOOKIES
  }
  if (!v.syn()) {  // null scans, Xmas scans, stray FINs: nothing to answer
    drop(std::move(p), DropReason::kTcpBadFlags);
    return;
  }
  if (v.fin()) {  // SYN+FIN: never a valid opening
    drop(std::move(p), DropReason::kTcpBadFlags);
    return;
  }
  // Options of the SYN, as the tunables allow (RFC 7323 1.3, RFC 2018 2).
  const wire::TcpOptions& opt = v.options();
  SynOptions o;
  o.mss = opt.mss ? std::max<uint16_t>(*opt.mss, 88) : 536;  // RFC 9293 3.7.1 default
  if (opt.window_scale && tunables_.get(Tunable::kTcpWindowScaling) != 0) {
    o.wscale = opt.window_scale_clamped();
  }
  o.sack = opt.sack_permitted && tunables_.get(Tunable::kTcpSack) != 0;
  if (opt.timestamps && tunables_.get(Tunable::kTcpTimestamps) != 0) {
    o.ts = true;
    o.tsval = opt.timestamps->value;
  }

  bool send_cookie = false;
  FastOpenCookie cookie{};
#if INLET_WITH_TFO
  // Fast Open (RFC 7413 4.2): a valid cookie with data opens at once.
  const uint32_t tfo = static_cast<uint32_t>(tunables_.get(Tunable::kTcpFastopen));
  const bool tfo_listener = (tfo & kTfoServerEnable) != 0 &&
                            (l.fastopen_qlen_ > 0 || (tfo & kTfoServerWoSockopt) != 0);
  const uint32_t tfo_qlen = l.fastopen_qlen_ > 0 ? l.fastopen_qlen_ : static_cast<uint32_t>(l.backlog_);
  if (tfo_listener && opt.fast_open) {
    // As tcp_try_fastopen: a cookie request is counted whatever follows.
    if (opt.fast_open_cookie_request()) counters_.add(Counter::TcpExtTCPFastOpenCookieReqd);
    const bool cookie_ok = tfo_keys_.valid(t.remote, t.local, opt.fast_open_cookie_bytes()) ||
                           (tfo & kTfoServerCookieNotReqd) != 0;
    if (cookie_ok && !v.payload().empty() && l.fastopen_pending_ < tfo_qlen &&
        !l.accept_queue_full()) {
      const SeqNum iss = make_isn(t);
      TcpSocket* s = new_connection(t, p->ifindex, SeqNum(v.seq()), iss, o, &l);
      if (s != nullptr) {
        counters_.add(Counter::TcpExtTCPFastOpenPassive);
        counters_.add(Counter::TcpPassiveOpens);  // the child exists now (tcp_create_openreq_child)
        s->fast_open_ = true;
        s->state_ = TcpState::kSynReceived;
        s->tfo_listener_ = &l;
        ++l.fastopen_pending_;
        // The SYN's data is in order right after the SYN: queue it now and
        // acknowledge it in the SYN-ACK.
        const uint16_t p_ifindex = p->ifindex;
        p->pull(static_cast<uint32_t>(v.header_length()));
        const uint32_t len = p->length();
        set_seg(p.get(), s->rcv_nxt_, s->rcv_nxt_ + len);
        s->rcv_queue_.push_back(std::move(p));
        s->rcv_nxt_ += len;
        s->bytes_received_ += len;
        if (opt.timestamps) s->ts_recent_ = opt.timestamps->value;
        send_synack(t, p_ifindex, iss, s->rcv_nxt_, o, s->ts_offset_, 0, nullptr);
        s->rcv_wup_ = s->rcv_nxt_;
        timers_.arm(s->rto_timer_, clock_.now() + kSynackTimeoutInit);
        // Hand the connection to the application at once (data at accept).
        enqueue_accept(l, *s);
        mark_ready(*s);
        return;
      }
    }
    if (!opt.fast_open_cookie_request() && !cookie_ok) {
      counters_.add(Counter::TcpExtTCPFastOpenPassiveFail);
    }
    send_cookie = true;  // fall back to a normal handshake, with a fresh cookie
    cookie = tfo_keys_.make(t.remote, t.local);
  }
#endif  // INLET_WITH_TFO

  // Accept queue full: drop the SYN (Linux's tcp_conn_request).
  if (l.accept_queue_full()) {
    counters_.add(Counter::TcpExtListenDrops);
    drop(std::move(p), DropReason::kTcpListenOverflow);  // counts ListenOverflows
    return;
  }
#if INLET_WITH_SYNCOOKIES
  const int64_t mode = tunables_.get(Tunable::kTcpSyncookies);
#endif
  const size_t syn_limit = std::min<size_t>(
      std::max<size_t>(l.backlog_, 1), static_cast<size_t>(tunables_.get(Tunable::kTcpMaxSynBacklog)));
  const bool queue_full = l.syn_count_ >= syn_limit || free_requests_.empty();
#if INLET_WITH_SYNCOOKIES
  if (mode == 2 || (queue_full && mode == 1)) {
    if (queue_full) {
      counters_.add(Counter::TcpExtTCPReqQFullDoCookies);
      last_synq_overflow_ = clock_.now();
    }
    const uint32_t minute = static_cast<uint32_t>(absl::ToInt64Seconds(clock_.now() - absl::UnixEpoch()) / 60);
    const CookieTuple ct{t.remote, t.local, t.remote_port, t.local_port};
    uint16_t encoded_mss = 536;
    const SeqNum iss(cookies_.make(ct, v.seq(), o.mss, minute, &encoded_mss));
    SynOptions cookie_o = o;
    cookie_o.mss = encoded_mss;
    uint32_t tsval = 0;
    if (o.ts) {
      tsval = SynCookies::encode_timestamp(ts_now() + ts_offset_for(t),
                                           {o.wscale, o.sack, false});
    } else {
      // Without timestamps a cookie cannot carry window scale or SACK.
      cookie_o.wscale.reset();
      cookie_o.sack = false;
    }
    counters_.add(Counter::TcpExtSyncookiesSent);
    send_synack(t, p->ifindex, iss, SeqNum(v.seq()) + 1, cookie_o, ts_offset_for(t), tsval,
                send_cookie ? &cookie : nullptr);
    return;  // the SYN is consumed: a cookie keeps no state
  }
#endif  // INLET_WITH_SYNCOOKIES
  if (queue_full) {
    counters_.add(Counter::TcpExtTCPReqQFullDrop);
    drop(std::move(p), DropReason::kTcpSynQueueFull);
    return;
  }
  const uint32_t ri = free_requests_.back();
  free_requests_.pop_back();
  Request& r = requests_[ri];
  r.in_use = true;
  r.tuple = t;
  r.listener = &l;
  r.ifindex = p->ifindex;
  r.irs = SeqNum(v.seq());
  r.iss = make_isn(t);
  r.peer_mss = o.mss;
  r.peer_wscale = o.wscale;
  r.sack_ok = o.sack;
  r.ts_ok = o.ts;
  r.ts_recent = o.tsval;
  r.ts_offset = ts_offset_for(t);
  r.retransmits = 0;
  ++l.syn_count_;
  table_.emplace(t, Entry{EntryKind::kRequest, ri});
  // Data in a SYN without a valid cookie is not accepted (RFC 7413 4.2.2):
  // the SYN-ACK acknowledges only the SYN, and the client sends it again.
  send_synack(t, r.ifindex, r.iss, r.irs + 1, o, r.ts_offset, 0, send_cookie ? &cookie : nullptr);
  timers_.arm(r.timer, clock_.now() + kSynackTimeoutInit);
}  // the SYN is consumed (released here)

// SYN_RECEIVED for a request (tcp_check_req): the ACK that completes the
// handshake creates the connection; anything else is answered as RFC 9293
// 3.10.7.4 says for SYN-RECEIVED.
void TcpLayer::request_input(Request& r, PacketRef p, const Ipv4Delivery& d,
                             const wire::TcpView& v) {
  (void)d;
  if (v.rst()) {
    // RFC 5961 3.2 in spirit: only a reset at the expected sequence counts.
    if (SeqNum(v.seq()) == r.irs + 1) {
      counters_.add(Counter::TcpAttemptFails);
      free_request(r);
    }
    drop(std::move(p), DropReason::kTcpNotAcceptable);
    return;
  }
  if (v.syn()) {
    if (SeqNum(v.seq()) == r.irs && !v.ack_flag()) {
      // A retransmitted SYN: our SYN-ACK was lost; send it again
      // (inet_rtx_syn_ack, counted as a retransmission).
      counters_.add(Counter::TcpExtTCPSynRetrans);
      counters_.add(Counter::TcpRetransSegs);
      SynOptions peer{r.peer_mss, r.peer_wscale, r.sack_ok, r.ts_ok, r.ts_recent};
      send_synack(r.tuple, r.ifindex, r.iss, r.irs + 1, peer, r.ts_offset, 0, nullptr);
      return;
    }
    drop(std::move(p), DropReason::kTcpBadFlags);
    return;
  }
  if (!v.ack_flag()) {
    drop(std::move(p), DropReason::kTcpInvalidAck);
    return;
  }
  if (SeqNum(v.ack()) != r.iss + 1) {
    // RFC 9293 3.10.7.4 (SYN-RECEIVED, unacceptable ACK): <SEQ=SEG.ACK><CTL=RST>.
    send_reset(r.tuple, SeqNum(v.ack()), std::nullopt);
    drop(std::move(p), DropReason::kTcpInvalidAck);
    return;
  }
  const SeqNum seq(v.seq());
  if (seq < r.irs + 1 || seq > r.irs + 1 + (65535u << our_wscale())) {
    drop(std::move(p), DropReason::kTcpNotAcceptable);
    return;
  }
  if (r.ts_ok && v.options().timestamps &&
      static_cast<int32_t>(v.options().timestamps->value - r.ts_recent) < 0) {
    drop(std::move(p), DropReason::kTcpPaws);  // PAWS on the handshake (RFC 7323 5.3)
    return;
  }
  TcpListener& l = *r.listener;
  if (l.accept_queue_full() || free_sockets_.empty()) {
    // Linux keeps the request and drops the ACK: the client's retransmission
    // (or our SYN-ACK's) may find room later. (No free connection slot is
    // the same overflow: the request must not be lost before one exists.)
    counters_.add(Counter::TcpExtListenDrops);
    if (tunables_.get(Tunable::kTcpAbortOnOverflow) != 0) {
      send_reset(r.tuple, SeqNum(v.ack()), std::nullopt);
      free_request(r);
    }
    drop(std::move(p), DropReason::kTcpListenOverflow);
    return;
  }
  SynOptions o{r.peer_mss, r.peer_wscale, r.sack_ok, r.ts_ok, r.ts_recent};
  const FourTuple t = r.tuple;
  const SeqNum irs = r.irs, iss = r.iss;
  const uint16_t ifindex = r.ifindex;
  free_request(r);
  TcpSocket* s = new_connection(t, ifindex, irs, iss, o, &l);  // a slot is free (checked above)
  established(*s);
  enqueue_accept(l, *s);
  connection_input(*s, std::move(p), v);
}

void TcpLayer::enqueue_accept(TcpListener& l, TcpSocket& s) {
  l.push(&s);
  if (l.on_accept_) l.on_accept_(l);
}

TcpSocket* TcpLayer::new_connection(const FourTuple& t, uint16_t ifindex, SeqNum irs, SeqNum iss,
                                    const SynOptions& o, TcpListener* listener) {
  if (free_sockets_.empty()) return nullptr;  // the caller counts the drop
  const uint32_t i = free_sockets_.back();
  free_sockets_.pop_back();
  TcpSocket& s = sockets_[i];
  s.in_use_ = true;
  s.app_closed_ = false;
  s.state_ = TcpState::kSynReceived;
  s.tuple_ = t;
  s.listener_ = nullptr;
  s.tfo_listener_ = nullptr;
  s.ifindex_ = ifindex;
  s.iss_ = iss;
  s.snd_una_ = iss;
  s.snd_nxt_ = iss + 1;
  s.snd_wnd_ = 0;
  s.max_snd_wnd_ = 0;
  s.fin_queued_ = false;
  s.irs_ = irs;
  s.rcv_nxt_ = irs + 1;
  s.rcv_wup_ = s.rcv_nxt_;
  s.ws_ok_ = o.wscale.has_value();
  s.snd_wscale_ = o.wscale.value_or(0);
  s.rcv_wscale_ = s.ws_ok_ ? our_wscale() : 0;
  s.sack_ok_ = o.sack;
  s.ts_ok_ = o.ts;
  s.ts_recent_ = o.tsval;
  s.ts_recent_stamp_ = clock_.now();
  s.ts_offset_ = ts_offset_for(t);
  s.adv_mss_ = our_mss(ifindex);
  s.peer_mss_ = o.mss;
  s.rcv_mss_ = std::min<uint16_t>(std::min(o.mss, s.adv_mss_), 536);
  s.fin_received_ = false;
  s.ooo_fin_.reset();
  s.reset_ = false;
  s.fast_open_ = false;
  s.from_syncookie_ = false;
  s.rcvbuf_ = static_cast<size_t>(tunables_.get_vector(Tunable::kTcpRmem)[1]);
  s.scaling_ratio_ = 128;
  s.ack_scheduled_ = false;
  s.quickack_ = 0;
  s.dsack_.reset();
  s.sack_count_ = 0;
  s.retransmits_ = 0;
  s.copied_total_ = 0;
  s.space_copied_mark_ = 0;
  s.space_time_ = clock_.now();
  s.rcv_rtt_ = absl::ZeroDuration();
  s.rtt_time_ = absl::InfinitePast();
  s.bytes_received_ = 0;
  s.on_ready_list_ = false;
  s.in_ready_out_ = false;
  s.data_ready_ = nullptr;
  // The window the SYN-ACK advertises (never scaled, RFC 7323 2.2); the
  // autotuning baseline (tcp_init_buffer_space: min(rcv_wnd, 10 * advmss)).
  s.rcv_wnd_ = std::min<uint32_t>(free_window(s), 65535u);
  s.space_ = std::min<uint32_t>(s.rcv_wnd_, 10u * s.adv_mss_);
  quickack_enter(s);
  table_.insert_or_assign(t, Entry{EntryKind::kConnection, i});
  ++live_connections_;
  (void)listener;
  return &s;
}

void TcpLayer::established(TcpSocket& s) {
  s.state_ = TcpState::kEstablished;
  counters_.add(Counter::TcpPassiveOpens);
}

void TcpLayer::fastopen_done(TcpSocket& s) {
  if (s.tfo_listener_ == nullptr) return;
  if (s.tfo_listener_->fastopen_pending_ > 0) --s.tfo_listener_->fastopen_pending_;
  s.tfo_listener_ = nullptr;
}

void TcpLayer::resend_synack(TcpSocket& s) {
  counters_.add(Counter::TcpExtTCPSynRetrans);
  counters_.add(Counter::TcpRetransSegs);
  SynOptions peer{s.peer_mss_,
                  s.ws_ok_ ? std::optional<uint8_t>(s.snd_wscale_) : std::nullopt,
                  s.sack_ok_, s.ts_ok_, s.ts_recent_};
  send_synack(s.tuple_, s.ifindex_, s.iss_, s.rcv_nxt_, peer, s.ts_offset_, 0, nullptr);
}

void TcpLayer::reset_connection(TcpSocket& s) {
  if (s.state_ == TcpState::kEstablished || s.state_ == TcpState::kCloseWait) {
    counters_.add(Counter::TcpEstabResets);
  }
  fastopen_done(s);
  unhash(s);  // as tcp_done: the tuple is free for a new connection at once
  s.state_ = TcpState::kClosed;
  s.reset_ = true;
  timers_.cancel(s.delack_timer_);
  timers_.cancel(s.rto_timer_);
  s.ooo_.clear();
  mark_ready(s);
}

void TcpLayer::unhash(TcpSocket& s) {
  if (auto it = table_.find(s.tuple_); it != table_.end() && it->second.kind == EntryKind::kConnection &&
                                       it->second.index == s.index_) {
    table_.erase(it);
  }
}

void TcpLayer::to_time_wait(TcpSocket& s) {
  timers_.cancel(s.delack_timer_);
  timers_.cancel(s.rto_timer_);
  if (tw_live_ < tw_capacity_ && tw_count_ == time_waits_.size()) compact_time_waits();
  if (tw_live_ >= tw_capacity_) {
    // Linux's tcp_max_tw_buckets: no room, the connection just closes.
    counters_.add(Counter::TcpExtTCPTimeWaitOverflow);
  } else {
    const int32_t remaining = (s.rcv_wup_ + s.rcv_wnd_) - s.rcv_nxt_;
    const size_t i = (tw_head_ + tw_count_) % time_waits_.size();
    TimeWait& tw = time_waits_[i];
    tw.in_use = true;
    tw.tuple = s.tuple_;
    tw.rcv_nxt = s.rcv_nxt_;
    tw.snd_nxt = s.snd_nxt_;
    tw.ts_recent = s.ts_recent_;
    tw.ts_offset = s.ts_offset_;
    tw.ts_ok = s.ts_ok_;
    tw.rcv_wscale = s.rcv_wscale_;
    tw.window = static_cast<uint16_t>(
        std::min<uint32_t>(static_cast<uint32_t>(std::max(remaining, 0)) >> s.rcv_wscale_, 65535));
    tw.expiry = clock_.now() + kTimeWaitLen;
    ++tw_count_;
    ++tw_live_;
    counters_.add(Counter::TcpExtTW);
    table_.insert_or_assign(s.tuple_, Entry{EntryKind::kTimeWait, static_cast<uint32_t>(i)});
    if (!tw_timer_.armed()) timers_.arm(tw_timer_, tw.expiry);
  }
  // The full socket's memory is no longer needed: TIME_WAIT lives on in the
  // compact entry. The application's handle stays valid until close().
  s.state_ = TcpState::kTimeWait;
  s.ooo_.clear();
  if (auto it = table_.find(s.tuple_); it != table_.end() && it->second.kind == EntryKind::kConnection &&
                                       it->second.index == s.index_) {
    table_.erase(it);
  }
  maybe_release(s);
}

void TcpLayer::expire_time_wait(absl::Time now) {
  while (tw_count_ > 0) {
    TimeWait& tw = time_waits_[tw_head_];
    if (tw.in_use) {
      if (tw.expiry > now) {
        timers_.arm(tw_timer_, tw.expiry);
        return;
      }
      kill_time_wait(tw);
    }
    tw_head_ = (tw_head_ + 1) % time_waits_.size();
    --tw_count_;
  }
}

void TcpLayer::kill_time_wait(TimeWait& tw) {
  if (!tw.in_use) return;
  auto it = table_.find(tw.tuple);
  if (it != table_.end() && it->second.kind == EntryKind::kTimeWait &&
      it->second.index == static_cast<uint32_t>(&tw - time_waits_.data())) {
    table_.erase(it);
  }
  tw.in_use = false;
  --tw_live_;
}

// The FIFO ring is full of entries killed early (by a reset or a new SYN):
// squeeze the live ones together, oldest first, so the ring stays in order.
void TcpLayer::compact_time_waits() {
  const size_t n = time_waits_.size();
  size_t kept = 0;
  for (size_t k = 0; k < tw_count_; ++k) {
    const size_t from = (tw_head_ + k) % n;
    if (!time_waits_[from].in_use) continue;
    const size_t to = (tw_head_ + kept) % n;
    if (to != from) {
      time_waits_[to] = time_waits_[from];
      time_waits_[from].in_use = false;
      table_.insert_or_assign(time_waits_[to].tuple,
                              Entry{EntryKind::kTimeWait, static_cast<uint32_t>(to)});
    }
    ++kept;
  }
  tw_count_ = kept;
}

void TcpLayer::time_wait_input(TimeWait& tw, PacketRef p, const wire::TcpView& v) {
  if (v.rst()) {
    // RFC 1337 notwithstanding, Linux (tcp_rfc1337=0) lets a reset end TIME_WAIT.
    kill_time_wait(tw);
    drop(std::move(p), DropReason::kTcpClosed);
    return;
  }
  if (v.syn() && !v.ack_flag() && SeqNum(v.seq()) > tw.rcv_nxt) {
    // A new incarnation (RFC 6191 / Linux TCP_TW_SYN): hand it to the listener.
    const FourTuple t = tw.tuple;
    kill_time_wait(tw);
    if (TcpListener* l = find_listener(t.local, t.local_port)) {
      Ipv4Delivery d;
      d.src = t.remote;
      d.dst = t.local;
      listen_input(*l, std::move(p), d, v);
      return;
    }
    drop(std::move(p), DropReason::kTcpClosed);
    return;
  }
  if (v.fin() || !v.payload().empty() || v.syn()) {
    // A retransmitted FIN (our ACK was lost) or stray data: ACK again, and
    // (RFC 9293 3.10.7.4, TIME-WAIT) restart the 2 MSL timeout.
    wire::TcpOptions o;
    if (tw.ts_ok) o.timestamps = wire::TcpTimestamps{ts_now() + tw.ts_offset, tw.ts_recent};
    emit(tw.tuple, tw.snd_nxt, tw.rcv_nxt, wire::tcpflag::kAck, tw.window, o);
    if (v.fin()) tw.expiry = clock_.now() + kTimeWaitLen;
  }
  drop(std::move(p), DropReason::kTcpClosed);
}

void TcpLayer::free_request(Request& r) {
  timers_.cancel(r.timer);
  if (auto it = table_.find(r.tuple); it != table_.end() && it->second.kind == EntryKind::kRequest) {
    table_.erase(it);
  }
  if (r.listener != nullptr && r.listener->syn_count_ > 0) --r.listener->syn_count_;
  r.in_use = false;
  r.listener = nullptr;
  free_requests_.push_back(static_cast<uint32_t>(&r - requests_.get()));
}

void TcpLayer::release_connection(TcpSocket& s) {
  if (!s.in_use_) return;
  fastopen_done(s);
  timers_.cancel(s.delack_timer_);
  timers_.cancel(s.rto_timer_);
  s.rcv_queue_.clear();
  s.ooo_.clear();
  if (auto it = table_.find(s.tuple_); it != table_.end() && it->second.kind == EntryKind::kConnection &&
                                       it->second.index == s.index_) {
    table_.erase(it);
  }
  if (s.in_ready_out_) {
    ready_out_.erase(std::find(ready_out_.begin(), ready_out_.end(), &s));
    s.in_ready_out_ = false;
  }
  s.in_use_ = false;
  s.state_ = TcpState::kClosed;
  s.data_ready_ = nullptr;
  --live_connections_;
  free_sockets_.push_back(s.index_);
}

// A connection's slot is reused once the protocol is done with it (CLOSED or
// TIME_WAIT, the latter kept compactly) and the application has let go.
void TcpLayer::maybe_release(TcpSocket& s) {
  if (!s.app_closed_ || s.listener_ != nullptr) return;
  if (s.state_ == TcpState::kClosed || s.state_ == TcpState::kTimeWait) {
    // Not while it waits on the ACK or ready lists: flush() releases it.
    if (!s.ack_scheduled_ && !s.on_ready_list_) release_connection(s);
  }
}

void TcpLayer::mark_ready(TcpSocket& s) {
  if (!s.on_ready_list_) {
    s.on_ready_list_ = true;
    ready_list_.push_back(&s);
  }
}

void TcpLayer::flush() {
  // Wake-ups first: an application that reads now opens the window, and the
  // ACK below carries the update.
  for (size_t i = 0; i < ready_list_.size(); ++i) {
    TcpSocket* s = ready_list_[i];
    s->on_ready_list_ = false;
    if (!s->in_use_ || s->app_closed_) {
      maybe_release(*s);
      continue;
    }
    if (s->data_ready_) s->data_ready_(*s);
    if (!s->in_use_ || s->app_closed_) continue;  // closed from the callback
    if (!s->in_ready_out_) {
      s->in_ready_out_ = true;
      ready_out_.push_back(s);
    }
  }
  ready_list_.clear();
  for (size_t i = 0; i < ack_list_.size(); ++i) {
    TcpSocket* s = ack_list_[i];
    s->ack_scheduled_ = false;
    if (s->in_use_ && s->ack_owed_ && s->state_ != TcpState::kClosed &&
        s->state_ != TcpState::kTimeWait) {
      // Several SACK blocks grew in this poll: each older one leads a
      // duplicate ACK of its own, the newest goes in the final ACK, so the
      // sender's scoreboard misses nothing (at most 4 ACKs per poll).
      for (uint8_t k = 0; s->sack_ok_ && k + 1 < s->touched_count_; ++k) {
        for (uint8_t b = 0; b < s->sack_count_; ++b) {
          const SeqRange& blk = s->sack_blocks_[b];
          if (blk.left <= s->sack_touched_[k].left && s->sack_touched_[k].right <= blk.right) {
            send_ack(*s, &blk);
            break;
          }
        }
      }
      send_ack(*s);
    }
    s->touched_count_ = 0;
    maybe_release(*s);
  }
  ack_list_.clear();
}

size_t TcpLayer::established_count() const {
  size_t n = 0;
  for (size_t i = 0; i < socket_capacity_; ++i) {
    const TcpSocket& s = sockets_[i];
    if (s.in_use_ && (s.state_ == TcpState::kEstablished || s.state_ == TcpState::kCloseWait)) ++n;
  }
  return n;
}

size_t TcpLayer::take_ready(std::span<TcpSocket*> out) {
  size_t n = 0;
  size_t i = 0;
  for (; i < ready_out_.size() && n < out.size(); ++i) {
    TcpSocket* s = ready_out_[i];
    s->in_ready_out_ = false;
    if (s->in_use_ && !s->app_closed_) out[n++] = s;
  }
  ready_out_.erase(ready_out_.begin(), ready_out_.begin() + static_cast<ptrdiff_t>(i));
  return n;
}

void TcpLayer::socket_close(TcpSocket& s) {
  if (!s.in_use_ || s.app_closed_) return;
  s.app_closed_ = true;
  s.data_ready_ = nullptr;
  const bool open = s.state_ != TcpState::kClosed && s.state_ != TcpState::kTimeWait;
  if (open && !s.rcv_queue_.empty()) {
    // RFC 2525 2.17 / Linux tcp_close: closing with unread data aborts, in
    // any state still connected (a half-closed one too).
    counters_.add(Counter::TcpExtTCPAbortOnClose);
    send_rst_for(s);
    reset_connection(s);
    s.rcv_queue_.clear();
    maybe_release(s);
    return;
  }
  switch (s.state_) {
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
    case TcpState::kCloseWait:
      socket_shutdown_write(s);
      break;
    case TcpState::kFinWait2:
      timers_.arm(s.rto_timer_, clock_.now() + absl::Seconds(tunables_.get(Tunable::kTcpFinTimeout)));
      break;
    default:
      break;
  }
  s.rcv_queue_.clear();
  maybe_release(s);
}

void TcpLayer::socket_shutdown_write(TcpSocket& s) {
  if (s.fin_queued_) return;
  switch (s.state_) {
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
      s.state_ = TcpState::kFinWait1;
      break;
    case TcpState::kCloseWait:
      s.state_ = TcpState::kLastAck;
      break;
    default:
      return;
  }
  s.fin_queued_ = true;
  s.snd_nxt_ = s.snd_nxt_ + 1;  // the FIN occupies one sequence number
  s.retransmits_ = 0;
  send_fin(s);
  timers_.arm(s.rto_timer_, clock_.now() + kSynackTimeoutInit);
}

void TcpLayer::shutdown() {
  for (size_t i = 0; i < socket_capacity_; ++i) {
    TcpSocket& s = sockets_[i];
    if (s.in_use_) {
      s.app_closed_ = true;
      s.listener_ = nullptr;
      s.ack_scheduled_ = false;
      s.on_ready_list_ = false;
      s.in_ready_out_ = false;
      release_connection(s);
    }
  }
  for (size_t i = 0; i < request_capacity_; ++i) {
    if (requests_[i].in_use) free_request(requests_[i]);
  }
  timers_.cancel(tw_timer_);
  ack_list_.clear();
  ready_list_.clear();
  ready_out_.clear();
  table_.clear();
  for (TimeWait& tw : time_waits_) tw.in_use = false;
  tw_count_ = 0;
  tw_live_ = 0;
}

}  // namespace inlet::tcp

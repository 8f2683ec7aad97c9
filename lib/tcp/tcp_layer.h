// TcpLayer: TCP's receive side for a context — the connection table (exact
// 4-tuple, then the listener: two lookups at most), listeners with SYN and
// accept queues, SYN cookies, Fast Open, the RFC 9293/7323/2018/5961 receive
// state machine, the compact TIME_WAIT table, and the ACKs, window updates,
// SYN-ACKs, FINs and RSTs a receiver sends — at most one ACK per connection
// per poll, emitted by flush() at the end of the poll.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/alloc.h"
#include "core/buffer_pool.h"
#include "core/clock.h"
#include "core/counters.h"
#include "core/features.h"
#include "core/layers.h"
#include "core/owner_map.h"
#include "core/timer_wheel.h"
#include "core/trace.h"
#include "core/tunables.h"
#include "ip/ipv4_layer.h"
#include "tcp/fastopen.h"
#include "tcp/syn_cookies.h"
#include "tcp/tcp_socket.h"
#include "wire/tcp.h"

namespace inlet::tcp {

class TcpLayer final : public TransportReceiver {
 public:
  TcpLayer(const Tunables& tunables, BufferPool& pool, Counters& counters, TimerWheel& timers,
           const Clock& clock, const Trace& trace, ip::Ipv4Layer& ip);
  ~TcpLayer() override;

  // listen(): `backlog` is capped by net.core.somaxconn, as Linux does.
  absl::StatusOr<TcpListener*> listen(wire::Ipv4Address address, uint16_t port,
                                      size_t backlog = 128);
  // Closes a listener: connections still in its queues are reset.
  void close_listener(TcpListener* listener);

  void receive(PacketRef packet, const Ipv4Delivery& delivery) override;
  // End of poll: data-ready callbacks, then one ACK per connection that owes one.
  void flush();
  // Sockets that became readable since the last call (poll-style readiness).
  size_t take_ready(std::span<TcpSocket*> out);
  // Releases every buffer and connection (shutdown).
  void shutdown();

#if INLET_WITH_TFO
  FastOpenKeys& fastopen_keys() { return tfo_keys_; }
#endif
  size_t connection_count() const { return live_connections_; }
  // Sizes of one entry of the tables the constructor allocates, for the RAM
  // footprint (lib/api/footprint.h): request, TIME_WAIT, 4-tuple table slot.
  struct EntrySizes {
    size_t request, time_wait, table_slot, table_slot_align;
  };
  static EntrySizes entry_sizes();
  size_t time_wait_count() const { return tw_live_; }
  // ESTABLISHED + CLOSE_WAIT, the gauge Linux reports as TcpCurrEstab.
  size_t established_count() const;
  // Our TSval clock (ms), for tests that craft timestamps.
  uint32_t ts_now() const;

  // Used by TcpSocket.
  void socket_read(TcpSocket& s, size_t bytes, size_t truesize);
  void socket_shutdown_write(TcpSocket& s);
  void socket_close(TcpSocket& s);

 private:
  enum class EntryKind : uint8_t { kConnection, kRequest, kTimeWait };
  struct Entry {
    EntryKind kind;
    uint32_t index;
  };
  // A SYN_RECEIVED request (the kernel's request_sock): compact, no buffers.
  struct Request {
    bool in_use = false;
    FourTuple tuple;
    TcpListener* listener = nullptr;
    uint16_t ifindex = 0;
    SeqNum irs, iss;
    uint16_t peer_mss = 536;
    std::optional<uint8_t> peer_wscale;
    bool sack_ok = false;
    bool ts_ok = false;
    uint32_t ts_recent = 0;
    uint32_t ts_offset = 0;
    uint8_t retransmits = 0;
    Timer timer;
  };
  // TIME_WAIT (the kernel's inet_timewait_sock): what re-ACKing a FIN needs.
  struct TimeWait {
    bool in_use = false;
    FourTuple tuple;
    SeqNum rcv_nxt, snd_nxt;
    uint32_t ts_recent = 0;
    uint32_t ts_offset = 0;
    bool ts_ok = false;
    uint8_t rcv_wscale = 0;
    uint16_t window = 0;  // as sent: the remaining window, scaled
    absl::Time expiry;
  };
  // Fields of one incoming segment, parsed once.
  struct Segment {
    SeqNum seq;
    SeqNum ack;
    uint8_t flags = 0;
    // A super-frame's buffer after its first: the frame earns one ACK, so
    // only the first piece spends quick-ack credit.
    bool continuation = false;
    uint32_t window = 0;  // raw (unscaled)
    uint32_t len = 0;     // payload bytes
    const wire::TcpOptions* options = nullptr;
    bool has(uint8_t f) const { return (flags & f) != 0; }
    SeqNum end() const { return seq + len; }
  };
  struct SynOptions {
    uint16_t mss = 536;
    std::optional<uint8_t> wscale;
    bool sack = false;
    bool ts = false;
    uint32_t tsval = 0;
  };

  void drop(PacketRef&& p, DropReason reason);
  // Demux targets.
  void listen_input(TcpListener& l, PacketRef p, const Ipv4Delivery& d, const wire::TcpView& v);
  void request_input(Request& r, PacketRef p, const Ipv4Delivery& d, const wire::TcpView& v);
  void time_wait_input(TimeWait& tw, PacketRef p, const wire::TcpView& v);
  void connection_input(TcpSocket& s, PacketRef p, const wire::TcpView& v);
  void no_socket(PacketRef p, const Ipv4Delivery& d, const wire::TcpView& v);
  TcpListener* find_listener(wire::Ipv4Address addr, uint16_t port);

  // Connection life.
  TcpSocket* new_connection(const FourTuple& t, uint16_t ifindex, SeqNum irs, SeqNum iss,
                            const SynOptions& o, TcpListener* listener);
  void established(TcpSocket& s);
  void enqueue_accept(TcpListener& l, TcpSocket& s);  // SYN_RECEIVED -> ESTABLISHED bookkeeping
  void reset_connection(TcpSocket& s);  // peer reset / abort: CLOSED, app told
  void to_time_wait(TcpSocket& s);
  void release_connection(TcpSocket& s);
  // The 4-tuple no longer finds the connection (CLOSED; the application may
  // still hold the handle).
  void unhash(TcpSocket& s);
  void maybe_release(TcpSocket& s);
  void free_request(Request& r);
  void expire_time_wait(absl::Time now);
  void kill_time_wait(TimeWait& tw);
  void compact_time_waits();
  // A Fast Open child left SYN_RECEIVED: it no longer counts against its
  // listener's Fast Open queue.
  void fastopen_done(TcpSocket& s);

  // Receive-path pieces (tcp_input.cc).
  bool paws_reject(TcpSocket& s, const Segment& g) const;
  bool acceptable(const TcpSocket& s, const Segment& g) const;
  void queue_data(TcpSocket& s, PacketRef p, Segment& g);
  static bool chain_checksum_ok(const Packet& p, const Ipv4Delivery& d);
  static void keep_first_buffer(Packet& p);
  void process_fin(TcpSocket& s);
  void update_sack_blocks(TcpSocket& s, const SeqRange& newest);
  void note_dsack(TcpSocket& s, const SeqRange& dup);
  void prune_ooo(TcpSocket& s, SeqNum keep_below, size_t needed);
  void measure_rcv_rtt(TcpSocket& s, const Segment& g);
  void space_adjust(TcpSocket& s);
  size_t rmem(const TcpSocket& s) const { return s.rcv_queue_.truesize() + s.ooo_.truesize(); }
  void mark_ready(TcpSocket& s);

  // Output pieces (tcp_output.cc).
  void schedule_ack(TcpSocket& s, bool now);
  void send_ack(TcpSocket& s, const SeqRange* first = nullptr);
  // RFC 5961 challenge ACK within tcp_challenge_ack_limit; false when the
  // budget is spent (counted as TcpExtTCPACKSkippedChallenge).
  bool send_challenge_ack(TcpSocket& s);
  uint32_t select_window(TcpSocket& s);
  uint32_t free_window(const TcpSocket& s) const;
  void send_fin(TcpSocket& s);
  void send_rst_for(TcpSocket& s);
  void send_synack(const FourTuple& t, uint16_t ifindex, SeqNum iss, SeqNum rcv_nxt,
                   const SynOptions& peer, uint32_t ts_offset, uint32_t tsval_override,
                   const FastOpenCookie* cookie);
  // A Fast Open child's SYN-ACK again (lost, or the SYN came again).
  void resend_synack(TcpSocket& s);
  void send_reset(const FourTuple& t, SeqNum seq, std::optional<SeqNum> ack);
  bool emit(const FourTuple& t, SeqNum seq, SeqNum ack, uint8_t flags, uint16_t window,
            const wire::TcpOptions& options);
  void quickack_enter(TcpSocket& s);
  uint8_t our_wscale() const;
  uint16_t our_mss(uint16_t ifindex) const;
  SeqNum make_isn(const FourTuple& t) const;
  uint32_t ts_offset_for(const FourTuple& t) const;
  bool challenge_allowed();

  const Tunables& tunables_;
  BufferPool& pool_;
  Counters& counters_;
  TimerWheel& timers_;
  const Clock& clock_;
  const Trace& trace_;
  ip::Ipv4Layer& ip_;
  absl::Time epoch_;

  FlatHashMap<FourTuple, Entry> table_;
  Unique<TcpSocket[]> sockets_;
  size_t socket_capacity_ = 0;
  Vector<uint32_t> free_sockets_;
  Unique<Request[]> requests_;
  size_t request_capacity_ = 0;
  Vector<uint32_t> free_requests_;
  Vector<TimeWait> time_waits_;  // FIFO ring: entries expire in order
  size_t tw_head_ = 0;
  size_t tw_count_ = 0;     // ring slots in use (live or killed, not yet popped)
  size_t tw_live_ = 0;      // live TIME_WAIT entries
  size_t tw_capacity_ = 0;  // net.ipv4.tcp_max_tw_buckets
  Timer tw_timer_;
  OwnerMap<TcpListener> listeners_;
  Vector<TcpSocket*> ack_list_;
  Vector<TcpSocket*> ready_list_;
  Vector<TcpSocket*> ready_out_;
  size_t live_connections_ = 0;

  SipKey isn_key_;
  SipKey ts_key_;
#if INLET_WITH_SYNCOOKIES
  SynCookies cookies_;
#endif
#if INLET_WITH_TFO
  FastOpenKeys tfo_keys_;
#endif
  absl::Time last_synq_overflow_ = absl::InfinitePast();
  // Challenge ACK budget (net.ipv4.tcp_challenge_ack_limit per second).
  absl::Time challenge_window_start_ = absl::InfinitePast();
  uint32_t challenge_count_ = 0;
};

}  // namespace inlet::tcp

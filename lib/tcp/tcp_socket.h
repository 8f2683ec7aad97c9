// TcpSocket and TcpListener: what an application holds. A TcpSocket is one
// passive connection (the receive side of a TCB: state, sequence space,
// receive and out-of-order queues, window, ACK state) with read/zero-copy
// read, readiness and close; a TcpListener owns the accept queue of a port.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/hash/hash.h"
#include "absl/time/time.h"
#include "core/alloc.h"
#include "core/packet.h"
#include "core/timer_wheel.h"
#include "tcp/ooo_queue.h"
#include "tcp/segment_queue.h"
#include "tcp/seq.h"
#include "wire/bytes.h"

namespace inlet::tcp {

class TcpLayer;
class TcpListener;

enum class TcpState : uint8_t {
  kClosed,
  kListen,
  kSynReceived,
  kEstablished,
  kFinWait1,
  kFinWait2,
  kCloseWait,
  kClosing,
  kLastAck,
  kTimeWait,
};
std::string_view tcp_state_name(TcpState s);

struct FourTuple {
  wire::Ipv4Address local;
  wire::Ipv4Address remote;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  bool operator==(const FourTuple&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const FourTuple& t) {
    return H::combine(std::move(h), t.local.value(), t.remote.value(), t.local_port, t.remote_port);
  }
};

// A chunk lent by read_zerocopy(): the bytes stay valid while `buffer` is held.
struct ZeroCopyChunk {
  std::span<const uint8_t> bytes;
  PacketRef buffer;
};

class TcpSocket {
 public:
  // Copies up to buf.size() bytes of in-order data (the one copy) and returns
  // how many; 0 when nothing is queued (check eof()/was_reset()).
  size_t read(std::span<uint8_t> buf);
  // Lends the next queued segment's payload without copying. The buffer is
  // no longer charged to the receive window once lent; give it back by
  // dropping the PacketRef.
  std::optional<ZeroCopyChunk> read_zerocopy();

  size_t readable_bytes() const { return rcv_queue_.bytes(); }
  // poll(POLLIN): data, end of stream or an error is waiting.
  bool readable() const { return !rcv_queue_.empty() || eof() || reset_; }
  // The peer's FIN has been received and every byte before it read.
  bool eof() const { return fin_received_ && rcv_queue_.empty(); }
  bool was_reset() const { return reset_; }
  TcpState state() const { return state_; }
  const FourTuple& tuple() const { return tuple_; }

  // sk_data_ready: called at the end of a poll in which data, FIN or a reset
  // arrived for this socket.
  void set_data_ready(absl::AnyInvocable<void(TcpSocket&)> cb) { data_ready_ = std::move(cb); }

  // shutdown(SHUT_WR): sends our FIN; data keeps arriving (half-close).
  void shutdown_write();
  // close(): as Linux, unread data makes it an abort (RST, TcpExtTCPAbortOnClose);
  // otherwise a FIN. The handle must not be used afterwards.
  void close();

  // Lifetime figures.
  uint64_t bytes_received() const { return bytes_received_; }  // delivered in order
  uint64_t bytes_read() const { return copied_total_; }
  size_t receive_buffer() const { return rcvbuf_; }
  uint32_t advertised_window() const { return rcv_wnd_; }
  uint8_t receive_window_scale() const { return rcv_wscale_; }
  uint8_t send_window_scale() const { return snd_wscale_; }
  bool sack_enabled() const { return sack_ok_; }
  bool timestamps_enabled() const { return ts_ok_; }
  uint16_t peer_mss() const { return peer_mss_; }
  size_t ooo_segments() const { return ooo_.count(); }
  SeqNum rcv_nxt() const { return rcv_nxt_; }
  SeqNum iss() const { return iss_; }
  bool fast_open() const { return fast_open_; }
  bool from_syncookie() const { return from_syncookie_; }

 private:
  friend class TcpLayer;
  friend class TcpListener;
  TcpSocket() = default;

  TcpLayer* layer_ = nullptr;
  uint32_t index_ = 0;
  bool in_use_ = false;
  bool app_closed_ = false;  // the application gave the handle back
  TcpState state_ = TcpState::kClosed;
  FourTuple tuple_;
  TcpListener* listener_ = nullptr;  // while waiting in an accept queue
  TcpListener* tfo_listener_ = nullptr;  // a Fast Open child in SYN_RECEIVED: whose queue it counts in
  uint16_t ifindex_ = 0;

  // Send side (a receive stack still owns an ISN, a FIN, and the peer's window).
  SeqNum iss_, snd_una_, snd_nxt_;
  uint32_t snd_wnd_ = 0;
  uint32_t max_snd_wnd_ = 0;
  uint8_t snd_wscale_ = 0;
  bool fin_queued_ = false;  // our FIN is (to be) in sequence space at snd_nxt_ - 1

  // Receive side.
  SeqNum irs_, rcv_nxt_, rcv_wup_;
  uint32_t rcv_wnd_ = 0;      // window advertised in the last ACK (bytes)
  uint8_t rcv_wscale_ = 0;
  uint16_t peer_mss_ = 536;   // the MSS the peer announced
  uint16_t rcv_mss_ = 536;    // our estimate of the peer's segment size
  uint16_t adv_mss_ = 1460;   // the MSS we announced
  bool ws_ok_ = false, sack_ok_ = false, ts_ok_ = false;
  uint32_t ts_recent_ = 0;
  absl::Time ts_recent_stamp_;
  uint32_t ts_offset_ = 0;
  bool fin_received_ = false;
  std::optional<SeqNum> ooo_fin_;  // a FIN seen beyond a hole
  bool reset_ = false;
  bool fast_open_ = false;
  bool from_syncookie_ = false;

  SegmentQueue rcv_queue_;
  OooQueue ooo_;
  size_t rcvbuf_ = 0;
  uint32_t scaling_ratio_ = 128;  // payload bytes per 256 bytes of truesize

  // ACK state.
  bool ack_scheduled_ = false;   // on the layer's end-of-poll ACK list
  bool ack_owed_ = false;        // an ACK is due (a FIN or reset sent meanwhile pays it)
  // SACK blocks that grew during this poll, oldest first: each is reported
  // first in an ACK of its own at the end of the poll (RFC 2018 4), so
  // batching never hides a block's growth from the sender.
  std::array<SeqRange, 4> sack_touched_{};
  uint8_t touched_count_ = 0;
  uint32_t quickack_ = 0;
  std::optional<SeqRange> dsack_;
  std::array<SeqRange, 4> sack_blocks_{};  // most recent first (RFC 2018 4)
  uint8_t sack_count_ = 0;
  Timer delack_timer_;
  Timer rto_timer_;  // FIN retransmission, FIN_WAIT_2 timeout
  uint8_t retransmits_ = 0;

  // Receive-buffer autotuning (tcp_rcv_space_adjust).
  uint64_t copied_total_ = 0;
  uint64_t space_copied_mark_ = 0;
  uint32_t space_ = 0;
  absl::Time space_time_;
  absl::Duration rcv_rtt_ = absl::ZeroDuration();
  SeqNum rtt_seq_;
  absl::Time rtt_time_ = absl::InfinitePast();

  uint64_t bytes_received_ = 0;
  bool on_ready_list_ = false;  // woken this poll (data_ready pending)
  bool in_ready_out_ = false;   // on the poll-style readiness list
  absl::AnyInvocable<void(TcpSocket&)> data_ready_;
};

class TcpListener {
 public:
  // Takes the oldest established connection; nullptr when none waits.
  TcpSocket* accept();
  bool acceptable() const { return accept_count_ > 0; }
  size_t accept_queue_length() const { return accept_count_; }
  size_t syn_queue_length() const { return syn_count_; }
  size_t backlog() const { return backlog_; }
  uint16_t port() const { return port_; }
  wire::Ipv4Address address() const { return address_; }
  // Called when a connection joins the accept queue.
  void set_on_accept(absl::AnyInvocable<void(TcpListener&)> cb) { on_accept_ = std::move(cb); }
  // setsockopt(TCP_FASTOPEN, qlen): Fast Open for this listener (needs the
  // server bit 0x2 of net.ipv4.tcp_fastopen; 0x400 enables every listener).
  void set_fastopen_queue(uint32_t qlen) { fastopen_qlen_ = qlen; }
  uint32_t fastopen_queue() const { return fastopen_qlen_; }

 private:
  friend class TcpLayer;
  TcpListener(wire::Ipv4Address address, uint16_t port, size_t backlog);
  bool accept_queue_full() const { return accept_count_ > backlog_; }  // as sk_acceptq_is_full
  void push(TcpSocket* s);

  wire::Ipv4Address address_;
  uint16_t port_;
  size_t backlog_;
  Vector<TcpSocket*> accept_ring_;
  size_t accept_head_ = 0;
  size_t accept_count_ = 0;
  size_t syn_count_ = 0;
  uint32_t fastopen_qlen_ = 0;
  uint32_t fastopen_pending_ = 0;
  absl::AnyInvocable<void(TcpListener&)> on_accept_;
};

}  // namespace inlet::tcp

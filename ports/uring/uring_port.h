// UringPort: a Linux TAP device driven through io_uring. Owns the ring, the
// provided-buffer ring whose buffers are BufferPool packets, and every read and write in flight.
// Receive uses multishot reads where the kernel has them (probed at run time),
// else single-shot buffer-select reads, else plain read(); transmit is one
// WRITE/WRITEV SQE per frame, submitted once per burst. mode() says which.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/buffer_pool.h"
#include "core/port.h"

namespace inlet::uring {

// How frames are received; the best the kernel and the config allow.
enum class RxMode : uint8_t {
  kMultishot,  // IORING_OP_READ_MULTISHOT on a provided-buffer ring (kernel >= 6.7)
  kRead,       // single-shot IORING_OP_READ + IOSQE_BUFFER_SELECT, several in flight
  kPlainRead,  // read(2) per frame (buffer rings refused); transmit still via io_uring
};

struct UringConfig {
  std::string ifname;
  bool bring_up = true;
  bool multi_queue = false;       // IFF_MULTI_QUEUE (open_queues sets it for > 1 queue)
  bool sqpoll = false;            // IORING_SETUP_SQPOLL: a kernel thread submits
  uint32_t sqpoll_idle_ms = 50;   // its idle time before it sleeps
  // IORING_SETUP_DEFER_TASKRUN (Linux 6.1, not with SQPOLL): completions are
  // produced when rx_burst asks for them, not by interrupting the thread.
  // The ring is then bound to the thread that first polls it: detach() and
  // the destructor must run on that thread too.
  bool defer_taskrun = false;
  uint32_t rx_buffers = 256;      // provided-buffer ring entries (a power of two;
                                  // at most a quarter of the pool is lent to it)
  uint32_t rx_reads = 16;         // single-shot reads kept in flight (kRead)
  uint32_t tx_inflight = 256;     // writes in flight; beyond it tx_burst pushes back
  // The best mode to try; a lower one is used when the kernel refuses it
  // (tests and benchmarks force the fallbacks with it).
  RxMode max_rx_mode = RxMode::kMultishot;
};

struct UringPortStats {
  uint64_t rx_frames = 0;
  uint64_t rx_errors = 0;     // read completions with an error other than EAGAIN/ENOBUFS
  uint64_t rx_nobuf = 0;      // a ring slot left empty: the pool had no buffer
  uint64_t rx_ring_empty = 0; // reads that found the buffer ring empty (-ENOBUFS)
  uint64_t rx_rearms = 0;     // reads (re-)armed: multishot ends, or one per single-shot frame
  uint64_t tx_frames = 0;
  uint64_t tx_errors = 0;     // write completions with an error (frame dropped)
  uint64_t tx_busy = 0;       // bursts cut short: every write slot or SQE in use
  uint64_t submits = 0;       // io_uring_submit calls
  uint64_t completions = 0;   // CQEs reaped
};

// "rx_frames=… rx_nobuf=… …" on one line, prefixed with the port's name and mode.
std::string format_stats(std::string_view name, std::string_view mode, const UringPortStats& s);

class UringPort final : public PortQueue {
 public:
  // Attaches to TAP config.ifname (created when missing, needs CAP_NET_ADMIN)
  // and sets up the ring. Fails when io_uring is unavailable (ENOSYS, or
  // kernel.io_uring_disabled) or the TAP cannot be opened.
  static absl::StatusOr<std::unique_ptr<UringPort>> open(const UringConfig& config);
  // `queues` ports on the queues of one multi-queue TAP (IFF_MULTI_QUEUE when
  // queues > 1), each with its own ring.
  static absl::StatusOr<std::vector<std::unique_ptr<UringPort>>> open_queues(UringConfig config,
                                                                             int queues);
  ~UringPort() override;
  UringPort(const UringPort&) = delete;
  UringPort& operator=(const UringPort&) = delete;

  // Fills the buffer ring from `pool`; the first rx_burst arms the reads.
  void attach(BufferPool& pool) override;
  // Cancels every request, reaps the completions and gives every buffer back.
  void detach() override;
  size_t rx_burst(std::span<PacketRef> out) override;
  size_t tx_burst(std::span<PacketRef> frames) override;
  // The eventfd stays registered; masking is the application not waiting on it.
  void set_interrupt_enabled(bool enabled) override { irq_enabled_ = enabled; }
  bool rx_pending() const override;
  // The eventfd the ring signals on each completion (the TAP fd in kPlainRead).
  int interrupt_fd() const override;
  std::string_view name() const override { return config_.ifname; }

  RxMode rx_mode() const { return rx_mode_; }
  // "multishot+bufring", "read+bufring" or "read", plus "+sqpoll".
  std::string mode() const;
  const UringPortStats& stats() const { return stats_; }
  bool interrupt_enabled() const { return irq_enabled_; }

 private:
  struct TxSlot {
    PacketRef frame;
    iovec iov[4];
  };

  UringPort(int tap_fd, const UringConfig& config) : tap_fd_(tap_fd), config_(config) {}
  absl::Status init_ring();
  void setup_buffer_ring();
  bool register_buffer_ring();

  // Moves completions off the CQ: received frames into the stash (while it
  // has room), finished writes free their slot.
  void reap();
  void on_rx_completion(const io_uring_cqe& cqe);
  // Puts a fresh pool packet into every empty ring slot it can.
  void refill();
  // Keeps the configured reads armed while the ring has buffers.
  void arm_reads();
  void submit_pending();
  // Submits what is queued and, with DEFER_TASKRUN, runs the pending task
  // work (which posts the completions): one system call at most.
  void enter();
  bool enable_ring();
  size_t plain_read(std::span<PacketRef> out);
  // Waits (bounded) for every request in flight to complete, releasing buffers.
  void cancel_and_reap();
  void release_buffers();

  int tap_fd_;
  UringConfig config_;
  io_uring ring_{};
  bool ring_ready_ = false;
  bool defer_ = false;      // the ring was set up with DEFER_TASKRUN
  bool enabled_ = true;     // false until the polling thread enables it (defer_)
  int event_fd_ = -1;
  RxMode rx_mode_ = RxMode::kPlainRead;
  BufferPool* pool_ = nullptr;
  bool irq_enabled_ = true;
  UringPortStats stats_;

  // The provided-buffer ring: entry bid lends slots_[bid] to the kernel.
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  bool buf_ring_registered_ = false;
  uint32_t ring_entries_ = 0;
  std::vector<PacketRef> slots_;
  std::vector<uint16_t> empty_bids_;  // slots without a packet (a stack)
  uint32_t empty_count_ = 0;
  uint32_t bufs_in_ring_ = 0;         // buffers the kernel may pick
  bool multishot_armed_ = false;
  uint32_t reads_in_flight_ = 0;

  // Received frames not yet handed up (a FIFO of ring_entries_).
  std::vector<PacketRef> stash_;
  uint32_t stash_head_ = 0;
  uint32_t stash_count_ = 0;

  std::vector<TxSlot> tx_slots_;
  std::vector<uint32_t> tx_free_;     // free tx slot indexes (a stack)
  uint32_t tx_free_count_ = 0;
};

}  // namespace inlet::uring

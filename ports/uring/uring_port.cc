#include "ports/uring/uring_port.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <bit>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ports/tap/tap_port.h"

namespace inlet::uring {
namespace {

// Debian 12's liburing 2.3 predates multishot read (Linux 6.7): its opcode
// follows IORING_OP_SENDMSG_ZC in the kernel's enum io_uring_op.
static_assert(IORING_OP_SENDMSG_ZC == 48, "the kernel's opcode numbering changed?");
constexpr int kOpReadMultishot = 49;  // IORING_OP_READ_MULTISHOT
// IORING_ASYNC_CANCEL_ANY (5.19) is in 2.3's header; keep the build working
// with an older one.
#ifndef IORING_ASYNC_CANCEL_ANY
#define IORING_ASYNC_CANCEL_ANY (1U << 2)
#endif

constexpr uint16_t kBufferGroup = 0;

// user_data: the kind in the upper half, an index in the lower.
enum Kind : uint64_t { kRx = 1, kTx = 2, kCancel = 3 };
uint64_t tag(Kind kind, uint32_t index) { return (uint64_t{kind} << 32) | index; }
Kind kind_of(uint64_t user_data) { return static_cast<Kind>(user_data >> 32); }
uint32_t index_of(uint64_t user_data) { return static_cast<uint32_t>(user_data); }

uint32_t floor_pow2(uint32_t v) {
  uint32_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}

}  // namespace

std::string format_stats(std::string_view name, std::string_view mode, const UringPortStats& s) {
  return absl::StrFormat(
      "uring %s mode=%s rx_frames=%u rx_errors=%u rx_nobuf=%u rx_ring_empty=%u rx_rearms=%u "
      "tx_frames=%u tx_errors=%u tx_busy=%u submits=%u completions=%u",
      name, mode, s.rx_frames, s.rx_errors, s.rx_nobuf, s.rx_ring_empty, s.rx_rearms, s.tx_frames,
      s.tx_errors, s.tx_busy, s.submits, s.completions);
}

absl::StatusOr<std::unique_ptr<UringPort>> UringPort::open(const UringConfig& config) {
  absl::StatusOr<int> fd = tap::open_tap_fd(config.ifname, config.multi_queue, config.bring_up);
  if (!fd.ok()) return fd.status();
  std::unique_ptr<UringPort> port(new UringPort(*fd, config));
  if (absl::Status s = port->init_ring(); !s.ok()) return s;
  return port;
}

absl::StatusOr<std::vector<std::unique_ptr<UringPort>>> UringPort::open_queues(UringConfig config,
                                                                               int queues) {
  if (queues < 1) return absl::InvalidArgumentError("a TAP needs at least one queue");
  config.multi_queue = queues > 1;
  std::vector<std::unique_ptr<UringPort>> ports;
  for (int i = 0; i < queues; ++i) {
    auto port = open(config);
    if (!port.ok()) return port.status();
    ports.push_back(std::move(*port));
  }
  return ports;
}

absl::Status UringPort::init_ring() {
  const uint32_t rx_entries = floor_pow2(std::clamp<uint32_t>(config_.rx_buffers, 1, 32768));
  config_.rx_reads = std::clamp<uint32_t>(config_.rx_reads, 1, rx_entries);
  config_.tx_inflight = std::max<uint32_t>(config_.tx_inflight, 1);
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE;
  // Room for a multishot read's completions for every buffer plus every write.
  params.cq_entries = 2 * (rx_entries + config_.tx_inflight);
  if (config_.sqpoll) {
    params.flags |= IORING_SETUP_SQPOLL;
    params.sq_thread_idle = config_.sqpoll_idle_ms;
  }
  const uint32_t sq_entries = config_.rx_reads + config_.tx_inflight + 8;
  // The kernel rounds the SQ up to a power of two and refuses a CQ smaller
  // than it (EINVAL), which would read as "no io_uring" with tiny configs.
  params.cq_entries = std::max(params.cq_entries, 2 * std::bit_ceil(sq_entries));
  int r = -EINVAL;
  if (config_.defer_taskrun && !config_.sqpoll) {
    io_uring_params defer = params;
    // Disabled until the polling thread enables it: that thread becomes the
    // ring's single issuer.
    defer.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                   IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_R_DISABLED;
    r = io_uring_queue_init_params(sq_entries, &ring_, &defer);
    defer_ = r == 0;
    enabled_ = !defer_;
  }
  if (r < 0) r = io_uring_queue_init_params(sq_entries, &ring_, &params);  // before 6.1
  if (r < 0) {
    const char* why = r == -EPERM ? " (kernel.io_uring_disabled?)" : "";
    return absl::UnavailableError(
        absl::StrCat("io_uring_setup", config_.sqpoll ? " (SQPOLL)" : "", ": ", strerror(-r), why));
  }
  ring_ready_ = true;

  tx_slots_.resize(config_.tx_inflight);
  tx_free_.resize(config_.tx_inflight);
  for (uint32_t i = 0; i < config_.tx_inflight; ++i) tx_free_[i] = config_.tx_inflight - 1 - i;
  tx_free_count_ = config_.tx_inflight;

  // The mode: multishot when the kernel knows the opcode, single-shot reads
  // with buffer select when it takes a buffer ring, else read(2).
  bool multishot = false;
  if (io_uring_probe* probe = io_uring_get_probe_ring(&ring_)) {
    multishot = io_uring_opcode_supported(probe, kOpReadMultishot);
    io_uring_free_probe(probe);
  }
  rx_mode_ = RxMode::kPlainRead;
  if (config_.max_rx_mode != RxMode::kPlainRead) {
    ring_entries_ = rx_entries;
    setup_buffer_ring();
    if (buf_ring_ != nullptr) {
      rx_mode_ = multishot && config_.max_rx_mode == RxMode::kMultishot ? RxMode::kMultishot
                                                                         : RxMode::kRead;
    }
  }
  if (rx_mode_ != RxMode::kPlainRead) {
    event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd_ < 0) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
    r = io_uring_register_eventfd(&ring_, event_fd_);
    if (r < 0) return absl::InternalError(absl::StrCat("io_uring_register_eventfd: ", strerror(-r)));
  }
  return absl::OkStatus();
}

void UringPort::setup_buffer_ring() {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t bytes = (ring_entries_ * sizeof(io_uring_buf) + page - 1) / page * page;
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) return;
  buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
  buf_ring_bytes_ = bytes;
  if (!register_buffer_ring()) {  // before 5.19: EINVAL
    munmap(mem, bytes);
    buf_ring_ = nullptr;
    ring_entries_ = 0;
    return;
  }
  slots_.resize(ring_entries_);
  empty_bids_.resize(ring_entries_);
  stash_.resize(ring_entries_);
}

bool UringPort::register_buffer_ring() {
  io_uring_buf_ring_init(buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uintptr_t>(buf_ring_);
  reg.ring_entries = ring_entries_;
  reg.bgid = kBufferGroup;
  buf_ring_registered_ = io_uring_register_buf_ring(&ring_, &reg, 0) == 0;
  return buf_ring_registered_;
}

UringPort::~UringPort() {
  if (ring_ready_) {
    cancel_and_reap();
    if (pool_ != nullptr) release_buffers();
    io_uring_queue_exit(&ring_);  // unregisters the buffer ring and the eventfd
  }
  if (buf_ring_ != nullptr) munmap(buf_ring_, buf_ring_bytes_);
  if (event_fd_ >= 0) close(event_fd_);
  if (tap_fd_ >= 0) close(tap_fd_);
}

std::string UringPort::mode() const {
  std::string m;
  switch (rx_mode_) {
    case RxMode::kMultishot: m = "multishot+bufring"; break;
    case RxMode::kRead: m = "read+bufring"; break;
    case RxMode::kPlainRead: m = "read"; break;
  }
  if (config_.sqpoll) m += "+sqpoll";
  if (defer_) m += "+defer";
  return m;
}

int UringPort::interrupt_fd() const { return rx_mode_ == RxMode::kPlainRead ? tap_fd_ : event_fd_; }

void UringPort::attach(BufferPool& pool) {
  pool_ = &pool;
  if (rx_mode_ == RxMode::kPlainRead) return;
  // A ring handed back by detach() is registered afresh (the kernel's head
  // restarts at 0 with our tail).
  if (!buf_ring_registered_ && !register_buffer_ring()) {
    rx_mode_ = RxMode::kPlainRead;
    return;
  }
  // Lend at most a quarter of the pool to the kernel: the rest is for the
  // frames the stack holds (socket queues, out-of-order queues).
  const uint32_t lend = std::min(ring_entries_, std::max<uint32_t>(pool.capacity() / 4, 1));
  empty_count_ = 0;
  for (uint32_t bid = lend; bid-- > 0;) empty_bids_[empty_count_++] = static_cast<uint16_t>(bid);
  refill();
  // The reads are armed by the first rx_burst, from the thread that polls:
  // io_uring runs a request's task work in the thread that submitted it.
}

void UringPort::detach() {
  if (!ring_ready_) return;
  cancel_and_reap();
  release_buffers();
  pool_ = nullptr;
}

void UringPort::release_buffers() {
  for (PacketRef& p : slots_) p.reset();
  for (PacketRef& p : stash_) p.reset();
  for (TxSlot& t : tx_slots_) t.frame.reset();
  stash_head_ = stash_count_ = 0;
  empty_count_ = 0;
  for (uint32_t bid = 0; bid < ring_entries_; ++bid) empty_bids_[empty_count_++] = static_cast<uint16_t>(bid);
  bufs_in_ring_ = 0;
  // Its entries name released buffers: the kernel forgets them with the ring.
  if (buf_ring_registered_) {
    io_uring_unregister_buf_ring(&ring_, kBufferGroup);
    buf_ring_registered_ = false;
  }
  tx_free_count_ = 0;
  for (uint32_t i = static_cast<uint32_t>(tx_slots_.size()); i-- > 0;) tx_free_[tx_free_count_++] = i;
}

void UringPort::cancel_and_reap() {
  const bool busy = multishot_armed_ || reads_in_flight_ > 0 || tx_free_count_ < tx_slots_.size();
  if (!busy) return;
  if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_)) {
    io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
    sqe->user_data = tag(kCancel, 0);
  }
  io_uring_submit(&ring_);
  ++stats_.submits;
  // Bounded: each pending request completes (cancelled) within microseconds.
  for (int round = 0; round < 200; ++round) {
    unsigned head;
    io_uring_cqe* cqe;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      ++stats_.completions;
      const uint32_t index = index_of(cqe->user_data);
      switch (kind_of(cqe->user_data)) {
        case kRx:
          if (!(cqe->flags & IORING_CQE_F_MORE)) {
            if (rx_mode_ == RxMode::kMultishot) multishot_armed_ = false;
            else if (reads_in_flight_ > 0) --reads_in_flight_;
          }
          if (cqe->flags & IORING_CQE_F_BUFFER) {
            const uint16_t bid = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
            if (bid < slots_.size()) slots_[bid].reset();  // a frame read as we stop: dropped
            if (bufs_in_ring_ > 0) --bufs_in_ring_;
          }
          break;
        case kTx:
          if (index < tx_slots_.size() && tx_slots_[index].frame) {
            tx_slots_[index].frame.reset();
            tx_free_[tx_free_count_++] = index;
          }
          break;
        case kCancel:
          break;
      }
    }
    io_uring_cq_advance(&ring_, seen);
    if (!multishot_armed_ && reads_in_flight_ == 0 && tx_free_count_ == tx_slots_.size()) return;
    __kernel_timespec ts{0, 10 * 1000 * 1000};
    io_uring_wait_cqe_timeout(&ring_, &cqe, &ts);
  }
}

bool UringPort::rx_pending() const {
  if (rx_mode_ == RxMode::kPlainRead) {
    pollfd p{tap_fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
  }
  // Clear the eventfd first: a completion after this read raises it again.
  uint64_t count;
  [[maybe_unused]] ssize_t r = ::read(event_fd_, &count, sizeof(count));
  if (stash_count_ > 0) return true;
  // DEFER_TASKRUN: the eventfd says task work is pending; rx_burst runs it.
  if (defer_ && (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_TASKRUN)) return true;
  // Only receive completions count: finished writes wait for the next burst.
  io_uring* ring = const_cast<io_uring*>(&ring_);
  unsigned head;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(ring, head, cqe) {
    if (kind_of(cqe->user_data) == kRx) return true;
  }
  if (pool_ == nullptr) return false;
  // Reads to (re-)arm with buffers in the ring (the first poll arms them).
  if (bufs_in_ring_ > 0 && (rx_mode_ == RxMode::kMultishot ? !multishot_armed_
                                                             : reads_in_flight_ == 0)) {
    return true;
  }
  // Empty slots the pool could fill now.
  return empty_count_ > 0 && pool_->in_use() < pool_->capacity();
}

void UringPort::on_rx_completion(const io_uring_cqe& cqe) {
  if (!(cqe.flags & IORING_CQE_F_MORE)) {
    if (rx_mode_ == RxMode::kMultishot) multishot_armed_ = false;
    else if (reads_in_flight_ > 0) --reads_in_flight_;
  }
  if (cqe.flags & IORING_CQE_F_BUFFER) {
    const uint16_t bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    if (bid >= slots_.size() || !slots_[bid]) {  // not ours: cannot happen
      ++stats_.rx_errors;
      return;
    }
    --bufs_in_ring_;
    PacketRef p = std::move(slots_[bid]);
    empty_bids_[empty_count_++] = bid;
    if (cqe.res > 0) {
      p->tail += static_cast<uint32_t>(cqe.res);
      ++stats_.rx_frames;
      stash_[(stash_head_ + stash_count_) % stash_.size()] = std::move(p);
      ++stash_count_;
    }
    return;  // an empty read gives its packet back to the pool
  }
  if (cqe.res == -ENOBUFS) {
    ++stats_.rx_ring_empty;
  } else if (cqe.res < 0 && cqe.res != -EAGAIN && cqe.res != -EINTR && cqe.res != -ECANCELED) {
    ++stats_.rx_errors;
  }
}

void UringPort::reap() {
  unsigned head;
  io_uring_cqe* cqe;
  unsigned seen = 0;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    const Kind kind = kind_of(cqe->user_data);
    if (kind == kRx) {
      // A full stash leaves the rest on the CQ for the next burst.
      if (stash_count_ == stash_.size()) break;
      on_rx_completion(*cqe);
    } else if (kind == kTx) {
      const uint32_t index = index_of(cqe->user_data);
      if (cqe->res < 0) ++stats_.tx_errors;
      else ++stats_.tx_frames;
      tx_slots_[index].frame.reset();
      tx_free_[tx_free_count_++] = index;
    }
    ++seen;
  }
  stats_.completions += seen;
  io_uring_cq_advance(&ring_, seen);
}

void UringPort::refill() {
  const int mask = io_uring_buf_ring_mask(ring_entries_);
  int added = 0;
  while (empty_count_ > 0) {
    PacketRef p = pool_->alloc();
    if (!p) {
      // The slot stays empty until the next poll; the ring shrinks meanwhile.
      ++stats_.rx_nobuf;
      if (Counters* c = pool_->counters()) c->add(Counter::rx_nobuf);
      break;
    }
    const uint16_t bid = empty_bids_[--empty_count_];
    io_uring_buf_ring_add(buf_ring_, p->data_ptr(), p->tailroom(), bid, mask, added++);
    slots_[bid] = std::move(p);
  }
  if (added > 0) {
    io_uring_buf_ring_advance(buf_ring_, added);
    bufs_in_ring_ += static_cast<uint32_t>(added);
  }
}

void UringPort::arm_reads() {
  if (bufs_in_ring_ == 0) return;  // it would only fail with ENOBUFS
  if (rx_mode_ == RxMode::kMultishot) {
    if (multishot_armed_) return;
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) return;
    io_uring_prep_rw(kOpReadMultishot, sqe, tap_fd_, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    sqe->user_data = tag(kRx, 0);
    multishot_armed_ = true;
    ++stats_.rx_rearms;
    return;
  }
  const uint32_t want = std::min(config_.rx_reads, bufs_in_ring_);
  while (reads_in_flight_ < want) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) return;
    // len 0: the kernel reads up to the picked buffer's length.
    io_uring_prep_read(sqe, tap_fd_, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    sqe->user_data = tag(kRx, reads_in_flight_);
    ++reads_in_flight_;
    ++stats_.rx_rearms;
  }
}

bool UringPort::enable_ring() {
  if (enabled_) return true;
  // liburing 2.3 declares io_uring_enable_rings but does not export it.
  enabled_ = syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) == 0;
  return enabled_;
}

void UringPort::enter() {
  if (defer_ && (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_TASKRUN)) {
    io_uring_submit_and_get_events(&ring_);
    ++stats_.submits;
    return;
  }
  submit_pending();
}

void UringPort::submit_pending() {
  if (io_uring_sq_ready(&ring_) == 0) return;
  io_uring_submit(&ring_);
  ++stats_.submits;
}

size_t UringPort::plain_read(std::span<PacketRef> out) {
  size_t n = 0;
  while (n < out.size()) {
    PacketRef p = pool_->alloc();
    if (!p) {
      ++stats_.rx_nobuf;
      if (Counters* c = pool_->counters()) c->add(Counter::rx_nobuf);
      break;
    }
    const ssize_t got = ::read(tap_fd_, p->data_ptr(), p->tailroom());
    if (got <= 0) {
      if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++stats_.rx_errors;
      break;
    }
    p->tail += static_cast<uint32_t>(got);
    ++stats_.rx_frames;
    out[n++] = std::move(p);
  }
  return n;
}

size_t UringPort::rx_burst(std::span<PacketRef> out) {
  if (pool_ == nullptr) return 0;
  if (rx_mode_ == RxMode::kPlainRead) {
    reap();  // finished writes only
    return plain_read(out);
  }
  if (!enable_ring()) return 0;
  // Refill and re-arm first, so that one system call (at most) both submits
  // and, with DEFER_TASKRUN, runs the task work that posts completions.
  refill();
  arm_reads();
  enter();
  reap();
  size_t n = 0;
  while (n < out.size() && stash_count_ > 0) {
    out[n++] = std::move(stash_[stash_head_]);
    stash_head_ = (stash_head_ + 1) % static_cast<uint32_t>(stash_.size());
    --stash_count_;
  }
  return n;
}

size_t UringPort::tx_burst(std::span<PacketRef> frames) {
  if (!ring_ready_ || !enable_ring()) return 0;
  reap();  // frees the slots of finished writes
  size_t n = 0;
  for (; n < frames.size(); ++n) {
    if (tx_free_count_ == 0) {
      ++stats_.tx_busy;
      break;
    }
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
      ++stats_.tx_busy;
      break;
    }
    const uint32_t index = tx_free_[--tx_free_count_];
    TxSlot& slot = tx_slots_[index];
    // A chained frame (link header + shared payload) goes out with writev.
    int cnt = 0;
    for (Packet* q = frames[n].get(); q != nullptr && cnt < 4; q = q->chain) {
      slot.iov[cnt].iov_base = q->data_ptr();
      slot.iov[cnt].iov_len = q->length();
      ++cnt;
    }
    if (cnt == 1) {
      io_uring_prep_write(sqe, tap_fd_, slot.iov[0].iov_base, static_cast<unsigned>(slot.iov[0].iov_len), 0);
    } else {
      io_uring_prep_writev(sqe, tap_fd_, slot.iov, static_cast<unsigned>(cnt), 0);
    }
    sqe->user_data = tag(kTx, index);
    // The frame stays alive until its completion.
    slot.frame = std::move(frames[n]);
  }
  submit_pending();
  return n;
}

}  // namespace inlet::uring

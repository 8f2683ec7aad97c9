// TapPort: a Linux TAP device (IFF_TAP | IFF_NO_PI) as a port queue. Opens an
// existing TAP by name or creates it, non-blocking; rx_burst reads up to the
// poll weight frames into pool buffers, tx_burst writes one frame per call.
// The fd is the "interrupt": the application waits for it to become readable.
// With IFF_MULTI_QUEUE one TAP has several fds (queues), one TapPort each.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/buffer_pool.h"
#include "core/port.h"

namespace inlet::tap {

struct TapPortStats {
  uint64_t rx_frames = 0;
  uint64_t rx_errors = 0;     // read() failures other than EAGAIN
  uint64_t rx_nobuf = 0;      // no pool buffer: the frame stays in the kernel queue
  uint64_t tx_frames = 0;
  uint64_t tx_errors = 0;     // write() failures (frame dropped)
  uint64_t tx_busy = 0;       // EAGAIN on write: the frame stays with the stack
};

// Opens /dev/net/tun non-blocking and attaches it to TAP `ifname` (IFF_TAP |
// IFF_NO_PI, plus IFF_MULTI_QUEUE when `multi_queue`), creating the device when
// missing (needs CAP_NET_ADMIN); `bring_up` sets the kernel side up. Returns
// the fd, which the caller owns. Shared by TapPort, the vnet port (which adds
// IFF_VNET_HDR through `extra_flags`) and the io_uring port.
absl::StatusOr<int> open_tap_fd(const std::string& ifname, bool multi_queue, bool bring_up,
                                int extra_flags = 0);
// Sets the kernel side of `ifname` administratively up (best effort).
void set_tap_up(const std::string& ifname);

// What writing one frame to a TAP fd came to.
enum class TapWrite { kSent, kBusy, kError };
// Writes `frame` (and its chain: a link header in front of a shared payload,
// up to 8 pieces) to `fd`, after `prefix_len` bytes of `prefix` when given
// (a virtio-net header). EAGAIN is kBusy: the frame stays with the caller.
TapWrite write_tap_frame(int fd, const Packet& frame, const void* prefix = nullptr,
                         size_t prefix_len = 0);

class TapPort final : public PortQueue {
 public:
  // Attaches to TAP `ifname`, creating it when missing (needs CAP_NET_ADMIN).
  // `bring_up` sets the kernel side administratively up.
  static absl::StatusOr<std::unique_ptr<TapPort>> open(const std::string& ifname,
                                                       bool bring_up = true);
  // `queues` fds of one multi-queue TAP (IFF_MULTI_QUEUE), one port each:
  // the kernel picks a queue per flow hash, so a flow stays on one port. The
  // device must be missing or have been created multi-queue (`ip tuntap add
  // ... multi_queue`). queues == 1 is open() (no IFF_MULTI_QUEUE).
  static absl::StatusOr<std::vector<std::unique_ptr<TapPort>>> open_queues(
      const std::string& ifname, int queues, bool bring_up = true);
  ~TapPort() override;

  void attach(BufferPool& pool) override { pool_ = &pool; }
  void detach() override { pool_ = nullptr; }
  size_t rx_burst(std::span<PacketRef> out) override;
  size_t tx_burst(std::span<PacketRef> frames) override;
  // The fd is level-triggered; masking is the application not waiting on it.
  void set_interrupt_enabled(bool enabled) override { irq_enabled_ = enabled; }
  bool rx_pending() const override;
  int interrupt_fd() const override { return fd_; }
  std::string_view name() const override { return ifname_; }

  const TapPortStats& stats() const { return stats_; }
  bool interrupt_enabled() const { return irq_enabled_; }

 private:
  TapPort(int fd, std::string ifname) : fd_(fd), ifname_(std::move(ifname)) {}

  int fd_;
  std::string ifname_;
  BufferPool* pool_ = nullptr;
  bool irq_enabled_ = true;
  TapPortStats stats_;
};

}  // namespace inlet::tap

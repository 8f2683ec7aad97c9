// VnetTapPort: a Linux TAP with IFF_VNET_HDR and TUNSETOFFLOAD (checksum and
// TSO), as a port queue. Each read scatters one frame — up to a 64 KiB TCP
// super-frame — into pool slabs and hands it to the stack as a packet chain
// with the kernel's checksum state (CHECKSUM_PARTIAL / UNNECESSARY) and GSO
// size. One frame per read/write syscall, like the plain TAP, but a TSO frame
// carries up to ~44 segments. Frames it sends are marked checksum-valid.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/alloc.h"
#include "core/buffer_pool.h"
#include "core/port.h"
#include "ports/tap/tap_port.h"

namespace inlet::tap {

struct VnetTapConfig {
  // Ask the kernel for TCP segmentation offload (TUN_F_TSO4): it then sends
  // TCP super-frames of up to 64 KiB. Checksum offload (TUN_F_CSUM) is always
  // on. Turn TSO off on interfaces whose traffic inlet forwards or bridges:
  // inlet does not segment on output, and drops super-frames there.
  bool tso = true;
  // Ask for checksum offload (TUN_F_CSUM): the kernel may then leave a
  // frame's TCP/UDP checksum unfilled (CHECKSUM_PARTIAL). inlet does not
  // complete it on output, so turn this off too where inlet forwards or
  // bridges; TSO needs it.
  bool csum = true;
  bool bring_up = true;
  bool multi_queue = false;  // IFF_MULTI_QUEUE: one port per queue (open_queues)
};

struct VnetTapStats {
  uint64_t rx_frames = 0;
  uint64_t rx_superframes = 0;   // frames the kernel sent with GSO (TSO)
  uint64_t rx_segments = 0;      // segments those frames carried (gso_segs)
  uint64_t rx_csum_partial = 0;  // VIRTIO_NET_HDR_F_NEEDS_CSUM: CHECKSUM_PARTIAL
  uint64_t rx_csum_valid = 0;    // VIRTIO_NET_HDR_F_DATA_VALID: CHECKSUM_UNNECESSARY
  uint64_t rx_errors = 0;        // read failures, short reads, GSO types not offered
  uint64_t rx_nobuf = 0;         // too few pool buffers to scatter a 64 KiB frame into
  uint64_t tx_frames = 0;
  uint64_t tx_errors = 0;
  uint64_t tx_busy = 0;
};

class VnetTapPort final : public PortQueue {
 public:
  // Attaches to TAP `ifname` (created when missing; needs CAP_NET_ADMIN) with
  // a virtio-net header on every frame and the offloads of `config`.
  static absl::StatusOr<std::unique_ptr<VnetTapPort>> open(const std::string& ifname,
                                                           VnetTapConfig config = {});
  // `queues` ports on one multi-queue TAP (as TapPort::open_queues).
  static absl::StatusOr<std::vector<std::unique_ptr<VnetTapPort>>> open_queues(
      const std::string& ifname, int queues, VnetTapConfig config = {});
  ~VnetTapPort() override;

  void attach(BufferPool& pool) override;
  void detach() override;
  size_t rx_burst(std::span<PacketRef> out) override;
  size_t tx_burst(std::span<PacketRef> frames) override;
  void set_interrupt_enabled(bool enabled) override { irq_enabled_ = enabled; }
  bool rx_pending() const override;
  int interrupt_fd() const override { return fd_; }
  std::string_view name() const override { return ifname_; }

  const VnetTapStats& stats() const { return stats_; }
  // "vnet tso csum", "vnet csum" or "vnet": the offloads in force.
  std::string mode() const;
  // The largest frame a read can take: 65,535 bytes of IP plus headers.
  static constexpr uint32_t kMaxFrame = 65535 + 14 + 4;
  // Buffers one read scatters into at most; smaller pool buffers than
  // kMaxFrame / kMaxScatter turn TSO off at attach.
  static constexpr size_t kMaxScatter = 63;

 private:
  VnetTapPort(int fd, std::string ifname, VnetTapConfig config)
      : fd_(fd), ifname_(std::move(ifname)), config_(config) {}
  // Fills the scatter reserve; false when the pool cannot.
  bool refill();

  int fd_;
  std::string ifname_;
  VnetTapConfig config_;
  BufferPool* pool_ = nullptr;
  uint32_t buffer_capacity_ = 0;  // bytes of frame a slab takes (size - headroom)
  // Slabs a read scatters into: enough for kMaxFrame. Slots taken by a frame
  // are refilled before the next read.
  Vector<Packet*> reserve_;
  bool irq_enabled_ = true;
  VnetTapStats stats_;
};

}  // namespace inlet::tap

// AfPacketPort: a real Linux interface as a port queue, through an AF_PACKET
// socket with a memory-mapped TPACKET_V3 receive ring and batched sendmmsg.
// Owns the socket, the ring mapping, the ring geometry rules and the port's counters.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/buffer_pool.h"
#include "core/port.h"
#include "wire/bytes.h"

namespace inlet::af_packet {

// The receive ring, as the kernel's struct tpacket_req3 wants it (see
// Documentation/networking/packet_mmap.rst). Defaults: 64 blocks of 256 KiB
// (a 16 MiB ring, about 170 full-size frames a block), blocks handed to us
// when full or after 1 ms, whichever comes first.
struct AfPacketConfig {
  std::string ifname;
  uint32_t block_size = 256 * 1024;  // tp_block_size: a multiple of the page size
  uint32_t block_count = 64;         // tp_block_nr
  uint32_t frame_size = 2048;        // tp_frame_size: a multiple of 16 (TPACKET_ALIGNMENT)
  uint32_t retire_timeout_ms = 1;  // tp_retire_blk_tov: 0 lets the kernel pick from the link speed
  // Receive frames for any destination MAC (PACKET_MR_PROMISC). Turned on by
  // itself when `mac` is set and differs from the interface's own address.
  bool promiscuous = false;
  // PACKET_FANOUT (hash mode) group id, for several queues on one interface.
  std::optional<uint16_t> fanout_group;
  // PACKET_QDISC_BYPASS: transmit straight to the driver, past the qdisc.
  bool qdisc_bypass = false;
  // Zero = the interface's own MAC (SIOCGIFHWADDR).
  wire::MacAddress mac;
};

// What the configuration gives the kernel, checked before any system call.
struct RingGeometry {
  uint32_t block_size = 0;
  uint32_t block_count = 0;
  uint32_t frame_size = 0;
  uint32_t frames_per_block = 0;  // tp_frame_nr / tp_block_nr (the kernel's check)
  uint32_t frame_count = 0;       // tp_frame_nr
  uint64_t ring_bytes = 0;        // the mmap length
  uint32_t max_frame_len = 0;     // the largest frame a block can carry (V3 packs frames)
};

// Errors name the field and the rule (InvalidArgument).
absl::StatusOr<RingGeometry> compute_ring_geometry(const AfPacketConfig& config,
                                                   uint32_t page_size);

struct AfPacketStats {
  uint64_t rx_frames = 0;
  uint64_t rx_bytes = 0;
  uint64_t rx_blocks = 0;      // blocks handed back to the kernel (TP_STATUS_KERNEL)
  uint64_t rx_nobuf = 0;       // no pool buffer: the frame waits in the ring
  uint64_t rx_truncated = 0;   // tp_snaplen < tp_len (a GRO/GSO super-frame): dropped
  uint64_t rx_oversize = 0;    // longer than a pool buffer's room: dropped
  uint64_t rx_malformed = 0;   // a frame header pointing outside its block: rest of block skipped
  uint64_t rx_csum_valid = 0;  // TP_STATUS_CSUM_VALID: handed up as CHECKSUM_UNNECESSARY
  uint64_t rx_csum_completed = 0;   // TP_STATUS_CSUMNOTREADY: the L4 checksum filled in here
  uint64_t rx_csum_unfinished = 0;  // TP_STATUS_CSUMNOTREADY on a frame we cannot finish
  uint64_t rx_vlan_restored = 0;    // tags the kernel stripped (TP_STATUS_VLAN_VALID) put back
  uint64_t rx_losing_blocks = 0;    // blocks flagged TP_STATUS_LOSING
  uint64_t rx_kernel_packets = 0;   // PACKET_STATISTICS tp_packets (summed over reads)
  uint64_t rx_kernel_drops = 0;     // PACKET_STATISTICS tp_drops: the ring was full
  uint64_t rx_kernel_freezes = 0;   // PACKET_STATISTICS tp_freeze_q_cnt
  uint64_t tx_frames = 0;
  uint64_t tx_bytes = 0;
  uint64_t tx_batches = 0;  // sendmmsg calls that sent something
  uint64_t tx_errors = 0;   // frames the kernel refused (dropped)
  uint64_t tx_busy = 0;     // EAGAIN: the frames stay with the stack (ENOBUFS is an error, as Linux drops)
};

// "af_packet IF: rx_frames=N ..." on one line, every field.
std::string format_stats(std::string_view ifname, const AfPacketStats& stats);

// The TPACKET_V3 receive ring walk over any memory laid out as the kernel lays
// out the ring: blocks of `block_size` bytes, each a tpacket_block_desc, its
// frames chained by tp_next_offset. The port runs it over its mmap; the unit
// tests over a ring they write themselves. Frames are copied once, into pool
// buffers; a block goes back to the kernel when its last frame has been taken.
class Tpacket3Ring {
 public:
  Tpacket3Ring() = default;
  Tpacket3Ring(uint8_t* base, uint32_t block_size, uint32_t block_count)
      : base_(base), block_size_(block_size), block_count_(block_count) {}

  // Up to out.size() frames (the poll budget); stops mid-block and resumes
  // there next time. A block flagged TP_STATUS_LOSING bumps rx_losing_blocks.
  size_t receive(std::span<PacketRef> out, BufferPool& pool, AfPacketStats& stats);
  // True when the block at the read position belongs to user space.
  bool pending() const;
  uint32_t current_block() const { return block_; }

 private:
  uint8_t* block_at(uint32_t i) const { return base_ + static_cast<size_t>(i) * block_size_; }
  // Copies one frame into a packet: delivered, dropped (consumed and
  // counted), or no buffer (the frame stays in the ring for the next poll).
  enum class Take { kDelivered, kDropped, kNoBuffer };
  Take take_frame(const uint8_t* hdr, BufferPool& pool, AfPacketStats& stats, PacketRef& out);
  void release_block(AfPacketStats& stats);

  uint8_t* base_ = nullptr;
  uint32_t block_size_ = 0;
  uint32_t block_count_ = 0;
  uint32_t block_ = 0;         // the block being read
  bool in_block_ = false;      // the walk has started on block_
  uint32_t frames_left_ = 0;   // in block_
  uint32_t frame_offset_ = 0;  // of the next frame, from the block start
};

class AfPacketPort final : public PortQueue {
 public:
  // Opens an AF_PACKET socket bound to config.ifname with its receive ring.
  // NotFound: no such interface; PermissionDenied: no CAP_NET_RAW;
  // InvalidArgument: a bad ring geometry; Unavailable/Internal: the kernel
  // refused a step (the message names it).
  static absl::StatusOr<std::unique_ptr<AfPacketPort>> open(const AfPacketConfig& config);
  ~AfPacketPort() override;

  void attach(BufferPool& pool) override { pool_ = &pool; }
  void detach() override;
  size_t rx_burst(std::span<PacketRef> out) override;
  size_t tx_burst(std::span<PacketRef> frames) override;
  // The socket is level-triggered (readable while a block is ours); masking
  // is the application not waiting on it, as for a TAP.
  void set_interrupt_enabled(bool enabled) override { irq_enabled_ = enabled; }
  bool rx_pending() const override { return ring_.pending(); }
  int interrupt_fd() const override { return fd_; }
  std::string_view name() const override { return ifname_; }

  wire::MacAddress mac() const { return mac_; }
  int ifindex() const { return ifindex_; }
  uint32_t mtu() const { return mtu_; }
  const RingGeometry& geometry() const { return geometry_; }
  // Reads (and resets, as the kernel does) PACKET_STATISTICS into the totals.
  void refresh_kernel_stats();
  const AfPacketStats& stats() const { return stats_; }

 private:
  AfPacketPort() = default;

  static constexpr size_t kTxBatch = 64;
  static constexpr size_t kTxIovPerFrame = 4;

  int fd_ = -1;
  std::string ifname_;
  int ifindex_ = 0;
  uint32_t mtu_ = 0;
  wire::MacAddress mac_;
  RingGeometry geometry_;
  void* map_ = nullptr;
  size_t map_len_ = 0;
  Tpacket3Ring ring_;
  BufferPool* pool_ = nullptr;
  bool irq_enabled_ = true;
  AfPacketStats stats_;
  std::array<mmsghdr, kTxBatch> tx_msgs_{};
  std::array<iovec, kTxBatch * kTxIovPerFrame> tx_iov_{};
};

}  // namespace inlet::af_packet

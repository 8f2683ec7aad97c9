// SimPort: an in-memory NIC. Receive and transmit descriptor rings with an
// ownership (ready) bit, buffers refilled from the pool, an interrupt that can
// be masked — the template for a real NIC driver (see docs/porting.md). The
// "wire" side injects frames (as the NIC's DMA would) and collects transmits;
// two SimPorts can be cabled together.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "core/alloc.h"
#include "core/buffer_pool.h"
#include "core/port.h"

namespace inlet::sim {

struct SimPortConfig {
  std::string name = "sim0";
  uint32_t rx_ring_size = 256;
  uint32_t tx_ring_size = 256;
  uint32_t max_frame = 1518 + 4;  // largest frame the "NIC" accepts (with a VLAN tag)
};

struct SimPortStats {
  uint64_t rx_frames = 0;         // frames the wire delivered into the ring
  uint64_t rx_missed_errors = 0;  // wire frames lost: no descriptor owned by the NIC
  uint64_t rx_over_errors = 0;    // wire frames larger than max_frame / the buffer
  uint64_t rx_nobuf = 0;          // frames dropped because the ring could not be refilled
  uint64_t tx_frames = 0;
  uint64_t tx_ring_full = 0;      // tx_burst calls that found no free descriptor
  uint64_t interrupts = 0;
};

class SimPort final : public PortQueue {
 public:
  explicit SimPort(SimPortConfig config = {});
  ~SimPort() override;

  // --- driver side (PortQueue) ---
  void attach(BufferPool& pool) override;
  void detach() override;
  size_t rx_burst(std::span<PacketRef> out) override;
  size_t tx_burst(std::span<PacketRef> frames) override;
  void set_interrupt_enabled(bool enabled) override;
  bool rx_pending() const override;
  int interrupt_fd() const override { return event_fd_; }
  std::string_view name() const override { return config_.name; }

  // --- wire side (the NIC hardware and the cable) ---
  // DMA a frame into the next descriptor the NIC owns; false (counted) when the
  // ring is full or the frame is too large. Raises the interrupt if enabled.
  bool wire_receive(std::span<const uint8_t> frame);
  // What a NIC with receive offloads reports with a frame (in its last
  // descriptor): the checksum state and, for a coalesced TCP super-frame
  // (LRO / TSO from a virtual device), its segment size and count.
  struct RxOffload {
    ChecksumState csum = ChecksumState::kNone;
    uint16_t gso_size = 0;
    uint16_t gso_segs = 0;
  };
  // DMA a frame of up to 64 KiB across as many descriptors as it needs, each
  // filled to its buffer's capacity, the last marked end-of-packet (as a NIC
  // scatters a jumbo or LRO frame). The driver hands it to the stack as one
  // packet chain. False (counted, nothing written) when the ring has too few
  // free descriptors or the frame is empty or above 65,535 + 18 bytes.
  bool wire_receive_scattered(std::span<const uint8_t> frame, RxOffload offload);
  // Hands every frame the stack transmitted to `sink` (in order) and completes
  // their descriptors (buffers go back to the pool). Returns the count.
  size_t wire_collect(absl::FunctionRef<void(std::span<const uint8_t>)> sink);
  // Convenience for tests: collected frames as byte vectors.
  std::vector<std::vector<uint8_t>> wire_collect_all();
  // Cables this port's transmit to `peer`'s receive (one direction; call on
  // both for a full cable). Transmitted frames are delivered on wire_pump().
  void connect_to(SimPort* peer) { peer_ = peer; }
  // Moves transmitted frames across the cable; returns how many.
  size_t wire_pump();
  // Reads and clears the eventfd (after a wait on interrupt_fd()).
  void drain_interrupt_fd();

  const SimPortStats& stats() const { return stats_; }
  uint32_t rx_ring_size() const { return config_.rx_ring_size; }

 private:
  struct Descriptor {
    Packet* buffer = nullptr;  // owned by whoever holds the descriptor
    uint32_t length = 0;
    bool ready = false;        // RX: NIC wrote a frame. TX: frame waiting for the NIC.
    bool eop = true;           // RX: the frame ends in this descriptor
    RxOffload offload;         // RX: valid in the end-of-packet descriptor
  };
  void raise_rx_interrupt();
  bool take_scattered(PacketRef& out);

  void refill_empty_descriptors();

  SimPortConfig config_;
  BufferPool* pool_ = nullptr;
  uint32_t unfilled_ = 0;  // RX descriptors without a buffer
  Vector<Descriptor> rx_ring_;  // through the allocator hook, as a driver's rings
  Vector<Descriptor> tx_ring_;
  uint32_t rx_hw_next_ = 0;     // next descriptor the NIC will write
  uint32_t rx_driver_next_ = 0; // next descriptor the driver will clean
  uint32_t tx_driver_next_ = 0; // next free descriptor for the driver to fill
  uint32_t tx_hw_next_ = 0;     // next descriptor the NIC will send
  bool irq_enabled_ = true;
  int event_fd_ = -1;
  SimPort* peer_ = nullptr;
  Vector<uint8_t> gather_ = Vector<uint8_t>(65536);  // for chained frames
  SimPortStats stats_;
};

}  // namespace inlet::sim

// PortQueue: what a device queue (a NIC ring, a TAP fd, an io_uring, a pcap
// file) offers the stack — the one interface that crosses from ports into lib.
// Receive is pulled in bursts by the Poller; transmit is pushed in bursts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "core/packet.h"

namespace inlet {

class BufferPool;

class PortQueue {
 public:
  virtual ~PortQueue() = default;

  // The stack hands the queue its context's pool when the queue joins an
  // interface (a receive ring fills itself from it) ...
  virtual void attach(BufferPool& pool) = 0;
  // ... and takes it back when the stack shuts down: every buffer the queue
  // holds must be returned, so the pool's in_use() can reach zero.
  virtual void detach() = 0;

  // Moves up to out.size() received frames into `out` (each a packet whose
  // data starts at the Ethernet header, ifindex/rx_queue/timestamp set by the
  // stack) and returns how many. Never blocks.
  virtual size_t rx_burst(std::span<PacketRef> out) = 0;
  // Sends frames from the front of `frames`; takes (empties) each one it
  // accepts and returns how many. Frames it did not take stay with the caller.
  virtual size_t tx_burst(std::span<PacketRef> frames) = 0;

  // NAPI interrupt control: while enabled, a frame arriving raises the
  // interrupt (calls the handler and/or makes interrupt_fd() readable).
  virtual void set_interrupt_enabled(bool enabled) = 0;
  // True when received frames are waiting: checked after re-arming, so a frame
  // that slipped in between the last poll and the re-arm is not stranded.
  virtual bool rx_pending() const = 0;
  // Readable while the interrupt is raised; -1 when the port has none.
  virtual int interrupt_fd() const { return -1; }
  // Called (from the port's context thread) when the interrupt fires.
  void set_interrupt_handler(absl::AnyInvocable<void()> handler) {
    interrupt_handler_ = std::move(handler);
  }

  virtual std::string_view name() const = 0;

 protected:
  void raise_interrupt() {
    if (interrupt_handler_) interrupt_handler_();
  }

 private:
  absl::AnyInvocable<void()> interrupt_handler_;
};

}  // namespace inlet

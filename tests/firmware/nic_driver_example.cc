// inlet-nic-driver-example: docs/porting.md's worked example, compiled and
// run. A PortQueue driver for a NIC with Intel-style descriptor rings (the
// driver posts buffers and moves a tail register; the NIC writes frames and
// sets a "descriptor done" bit; transmit descriptors are completed by the NIC
// and reclaimed by the driver), an interrupt service routine that only masks
// and flags, and a bare-metal main loop that runs the Stack on a tick clock.
// The NIC itself is simulated (SimulatedNic) so the driver can be exercised
// here: ARP, ping and 100 UDP datagrams through a 64-descriptor ring.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "api/stack.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/port.h"
#include "ports/sim/sim_peer.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

namespace hw {

// --- what the NIC's datasheet specifies -------------------------------------

// Receive descriptor: the driver writes buffer_addr and clears status; the
// NIC writes length and status (DD hands the descriptor back to the driver).
constexpr uint16_t kRxStatusDone = 0x01;       // DD
constexpr uint16_t kRxStatusEndOfPacket = 0x02;  // EOP (this example posts whole-frame buffers)
constexpr uint16_t kRxStatusL4Checked = 0x20;  // L4CS: the NIC verified the TCP/UDP checksum
constexpr uint16_t kRxErrorL4 = 0x40;          // L4E: ... and found it bad
struct RxDescriptor {
  uint64_t buffer_addr;
  uint16_t length;
  uint16_t status;
  uint32_t reserved;
};

// Transmit descriptor: the driver writes address, length and EOP on a
// frame's last segment; the NIC sets DD when it has sent it.
constexpr uint16_t kTxCommandEndOfPacket = 0x01;
constexpr uint16_t kTxStatusDone = 0x01;
struct TxDescriptor {
  uint64_t buffer_addr;
  uint16_t length;
  uint16_t command;
  uint16_t status;
  uint16_t reserved;
};

// The register block (memory-mapped on real hardware).
struct Registers {
  RxDescriptor* rx_base = nullptr;  // RDBA / RDLEN
  uint32_t rx_count = 0;
  uint32_t rx_tail = 0;             // RDT: the NIC may fill descriptors up to, not including, it
  TxDescriptor* tx_base = nullptr;  // TDBA / TDLEN
  uint32_t tx_count = 0;
  uint32_t tx_tail = 0;             // TDT: the doorbell
  uint32_t irq_enabled = 0;         // IMS (1) / IMC (0): the receive interrupt
  void (*isr)(Registers&) = nullptr;  // the interrupt vector
};

// --- the hardware, simulated (stands in for silicon and the cable) ----------

class SimulatedNic {
 public:
  explicit SimulatedNic(Registers& regs) : regs_(regs) {}

  // A frame arrives from the wire: DMA into the next descriptor the driver
  // gave us, set DD, raise the interrupt if it is not masked.
  bool receive(std::span<const uint8_t> frame) {
    if (rx_head_ == regs_.rx_tail) {
      ++rx_missed;  // no descriptor owned by the NIC
      return false;
    }
    RxDescriptor& d = regs_.rx_base[rx_head_];
    std::memcpy(reinterpret_cast<uint8_t*>(d.buffer_addr), frame.data(), frame.size());
    d.length = static_cast<uint16_t>(frame.size());
    d.status = kRxStatusDone | kRxStatusEndOfPacket;  // no checksum offload on this NIC
    rx_head_ = (rx_head_ + 1) % regs_.rx_count;
    if (regs_.irq_enabled != 0 && regs_.isr != nullptr) {
      ++interrupts;
      regs_.isr(regs_);
    }
    return true;
  }

  // Sends what the doorbell announced: gathers each frame's segments, marks
  // every descriptor done.
  template <class Sink>
  void transmit(Sink&& sink) {
    std::vector<uint8_t> frame;
    while (tx_head_ != regs_.tx_tail) {
      TxDescriptor& d = regs_.tx_base[tx_head_];
      const uint8_t* bytes = reinterpret_cast<const uint8_t*>(d.buffer_addr);
      frame.insert(frame.end(), bytes, bytes + d.length);
      if (d.command & kTxCommandEndOfPacket) {
        sink(frame);
        frame.clear();
      }
      d.status = kTxStatusDone;
      tx_head_ = (tx_head_ + 1) % regs_.tx_count;
    }
  }

  uint64_t rx_missed = 0;
  uint64_t interrupts = 0;

 private:
  Registers& regs_;
  uint32_t rx_head_ = 0;
  uint32_t tx_head_ = 0;
};

}  // namespace hw

namespace {

using namespace inlet;

// --- the driver: what docs/porting.md walks through --------------------------

class ExampleNicPort final : public PortQueue {
 public:
  ExampleNicPort(hw::Registers& regs, uint32_t rx_count, uint32_t tx_count)
      : regs_(regs), rx_ring_(rx_count), rx_buffers_(rx_count), tx_ring_(tx_count),
        tx_buffers_(tx_count) {
    // Rings and their shadow arrays come from the allocator hook (Vector).
    // On hardware they must be DMA-able memory: allocate them from the
    // allocator that hands out such memory, or place them statically.
    regs_.rx_base = rx_ring_.data();
    regs_.rx_count = rx_count;
    regs_.tx_base = tx_ring_.data();
    regs_.tx_count = tx_count;
    regs_.rx_tail = regs_.tx_tail = 0;  // nothing posted yet
    regs_.irq_enabled = 0;
  }
  ~ExampleNicPort() override { detach(); }

  void attach(BufferPool& pool) override {
    detach();
    pool_ = &pool;
    // Ring refill at open: a buffer on every descriptor. The tail holds one
    // back (tail == head reads as "none posted"); it joins as cleaning advances.
    for (uint32_t i = 0; i < rx_ring_.size(); ++i) {
      PacketRef p = pool.alloc();
      if (!p) {  // the pool cannot cover the ring: stay down (a NIC must not see address 0)
        detach();
        return;
      }
      post_rx(i, p.release());
    }
    rx_next_ = 0;
    regs_.rx_tail = static_cast<uint32_t>(rx_ring_.size() - 1);
    tx_next_to_use_ = tx_next_to_clean_ = 0;
  }

  void detach() override {
    if (pool_ == nullptr) return;
    regs_.irq_enabled = 0;
    regs_.rx_tail = 0;  // a real driver stops the receive and transmit units here
    for (Packet*& p : rx_buffers_) {
      if (p != nullptr) PacketRef(std::exchange(p, nullptr)).reset();
    }
    for (Packet*& p : tx_buffers_) {
      if (p != nullptr) PacketRef(std::exchange(p, nullptr)).reset();
    }
    pool_ = nullptr;
  }

  size_t rx_burst(std::span<PacketRef> out) override {
    if (pool_ == nullptr) return 0;
    clean_tx();  // as NAPI drivers do: reclaim transmit completions first
    size_t n = 0;
    uint32_t cleaned = 0;
    while (n < out.size()) {
      hw::RxDescriptor& d = rx_ring_[rx_next_];
      if ((d.status & hw::kRxStatusDone) == 0) break;  // the NIC still owns it
      // Refill first: without a fresh buffer the frame is dropped and the
      // old buffer goes straight back to the NIC, so the ring never empties.
      PacketRef fresh = pool_->alloc();
      if (!fresh) {
        ++rx_nobuf_;
        if (Counters* c = pool_->counters()) c->drop(DropReason::kPoolExhausted);
        post_rx(rx_next_, rx_buffers_[rx_next_]);
      } else {
        Packet* p = rx_buffers_[rx_next_];
        p->reset(pool_->headroom());
        p->tail = p->data + d.length;
        if ((d.status & hw::kRxStatusL4Checked) != 0 && (d.status & hw::kRxErrorL4) == 0) {
          p->csum = ChecksumState::kUnnecessary;  // TCP/UDP skip their software check
        }
        out[n++] = PacketRef(p);
        post_rx(rx_next_, fresh.release());
      }
      rx_next_ = (rx_next_ + 1) % static_cast<uint32_t>(rx_ring_.size());
      ++cleaned;
    }
    // Give the cleaned descriptors back to the NIC in one register write.
    if (cleaned > 0) {
      regs_.rx_tail = (rx_next_ + static_cast<uint32_t>(rx_ring_.size()) - 1) %
                      static_cast<uint32_t>(rx_ring_.size());
    }
    return n;
  }

  size_t tx_burst(std::span<PacketRef> frames) override {
    if (pool_ == nullptr) return 0;
    clean_tx();
    size_t n = 0;
    for (; n < frames.size(); ++n) {
      // A frame may be a chain (a header buffer in front of a shared
      // payload): one descriptor per segment, EOP on the last.
      uint32_t segments = 0;
      for (const Packet* s = frames[n].get(); s != nullptr; s = s->chain) ++segments;
      if (segments > tx_free()) break;  // ring full: the caller keeps the rest
      uint32_t i = tx_next_to_use_;
      for (Packet* s = frames[n].get(); s != nullptr; s = s->chain) {
        hw::TxDescriptor& d = tx_ring_[i];
        d.buffer_addr = reinterpret_cast<uintptr_t>(s->data_ptr());
        d.length = static_cast<uint16_t>(s->length());
        d.command = s->chain == nullptr ? hw::kTxCommandEndOfPacket : 0;
        d.status = 0;
        // The reference sits on the last descriptor: freed when that one completes.
        tx_buffers_[i] = s->chain == nullptr ? frames[n].release() : nullptr;
        i = (i + 1) % static_cast<uint32_t>(tx_ring_.size());
      }
      tx_next_to_use_ = i;
    }
    if (n > 0) regs_.tx_tail = tx_next_to_use_;  // the doorbell, once per burst
    return n;
  }

  void set_interrupt_enabled(bool enabled) override { regs_.irq_enabled = enabled ? 1 : 0; }
  bool rx_pending() const override {
    return pool_ != nullptr && (rx_ring_[rx_next_].status & hw::kRxStatusDone) != 0;
  }
  std::string_view name() const override { return "nic0"; }

  uint64_t rx_nobuf() const { return rx_nobuf_; }

 private:
  void post_rx(uint32_t i, Packet* p) {
    rx_buffers_[i] = p;
    rx_ring_[i].buffer_addr = reinterpret_cast<uintptr_t>(p->head + pool_->headroom());
    rx_ring_[i].length = 0;
    rx_ring_[i].status = 0;  // ownership to the NIC
  }

  // Transmit completion: every descriptor the NIC marked done gives its
  // buffer back to the pool.
  void clean_tx() {
    while (tx_next_to_clean_ != tx_next_to_use_ &&
           (tx_ring_[tx_next_to_clean_].status & hw::kTxStatusDone) != 0) {
      if (Packet* p = std::exchange(tx_buffers_[tx_next_to_clean_], nullptr)) PacketRef(p).reset();
      tx_ring_[tx_next_to_clean_] = hw::TxDescriptor{};
      tx_next_to_clean_ = (tx_next_to_clean_ + 1) % static_cast<uint32_t>(tx_ring_.size());
    }
  }
  uint32_t tx_free() const {
    const uint32_t size = static_cast<uint32_t>(tx_ring_.size());
    return size - 1 - (tx_next_to_use_ + size - tx_next_to_clean_) % size;
  }

  hw::Registers& regs_;
  BufferPool* pool_ = nullptr;
  Vector<hw::RxDescriptor> rx_ring_;
  Vector<Packet*> rx_buffers_;  // the buffer behind each receive descriptor
  uint32_t rx_next_ = 0;        // next descriptor to clean
  Vector<hw::TxDescriptor> tx_ring_;
  Vector<Packet*> tx_buffers_;  // the reference each transmit descriptor holds
  uint32_t tx_next_to_use_ = 0;
  uint32_t tx_next_to_clean_ = 0;
  uint64_t rx_nobuf_ = 0;
};

// --- interrupt context: mask and flag, nothing else --------------------------

constinit std::atomic<bool> g_rx_interrupt{false};

void nic_isr(hw::Registers& regs) {
  regs.irq_enabled = 0;  // IMC: mask until the stack re-arms (NAPI)
  g_rx_interrupt.store(true, std::memory_order_release);
}

// --- time: a free-running microsecond counter ---------------------------------

constinit uint64_t g_ticks_us = 0;  // a hardware timer on a real board

class TickClock final : public Clock {
 public:
  absl::Time now() const override { return absl::UnixEpoch() + absl::Microseconds(g_ticks_us); }
};

// --- the bare-metal main loop, one iteration ---------------------------------

void main_loop_once(Stack& stack) {
  if (g_rx_interrupt.exchange(false, std::memory_order_acquire)) {
    stack.poller().schedule_pending();  // napi_schedule, outside interrupt context
  }
  stack.poll();  // due timers, NAPI poll with budget, transmit flush
  // if (!stack.has_work()) sleep (WFI) until an interrupt or
  // stack.timers().next_deadline().
}

int g_failures = 0;
#define EXPECT(cond)                                                          \
  do {                                                                        \
    if (!(cond)) {                                                            \
      std::fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); \
      ++g_failures;                                                           \
    }                                                                         \
  } while (0)

}  // namespace

int main() {
  hw::Registers regs;
  regs.isr = &nic_isr;
  hw::SimulatedNic nic(regs);

  Tunables tunables;
  // Sized for a small device: 512 buffers of 2 KiB, 16 connections.
  EXPECT(tunables.set("inlet.pool.buffers", "512").ok());
  EXPECT(tunables.set("inlet.tcp.max_connections", "16").ok());
  TickClock clock;
  Stack stack(tunables, &clock);

  const wire::Ipv4Address our_ip = *wire::Ipv4Address::parse("192.0.2.2");
  const wire::Ipv4Address peer_ip = *wire::Ipv4Address::parse("192.0.2.1");
  auto port = std::make_unique<ExampleNicPort>(regs, 64, 64);
  ExampleNicPort* driver = port.get();
  auto iface = stack.add_interface(std::move(port), {.name = "nic0", .addresses = {{our_ip, 24}}});
  EXPECT(iface.ok());
  if (!iface.ok()) return 1;
  auto udp = stack.udp_bind(wire::kIpv4Any, 7000);
  EXPECT(udp.ok());
  if (!udp.ok()) return 1;

  sim::SimPeer peer(wire::MacAddress({0x02, 0, 0, 0, 0, 0x01}), peer_ip);
  const wire::MacAddress our_mac = (*iface)->mac();
  int arp_replies = 0, echo_replies = 0;
  auto run = [&] {
    for (int i = 0; i < 100; ++i) {
      main_loop_once(stack);
      g_ticks_us += 100;
      if (!stack.has_work() && !g_rx_interrupt.load()) break;
    }
    nic.transmit([&](const std::vector<uint8_t>& frame) {
      auto eth = wire::EthernetView::parse(frame);
      if (!eth.ok()) return;
      if (eth->ethertype() == wire::ethertype::kArp) ++arp_replies;
      if (eth->ethertype() != wire::ethertype::kIpv4) return;
      auto ip = wire::Ipv4View::parse(eth->payload());
      if (ip.ok() && ip->protocol() == wire::ipproto::kIcmp && !ip->payload().empty() &&
          ip->payload()[0] == wire::icmptype::kEchoReply) {
        ++echo_replies;
      }
    });
  };

  nic.receive(peer.arp_request(our_ip));
  run();
  const uint8_t data[56] = {};
  for (uint16_t seq = 1; seq <= 3; ++seq) nic.receive(peer.icmp_echo(our_mac, our_ip, 1, seq, data));
  run();

  // 100 datagrams in bursts of 32 (half the ring), read after each.
  size_t datagrams = 0;
  for (int burst = 0; burst < 4; ++burst) {
    for (int i = 0; i < 25; ++i) {
      const uint8_t payload[64] = {static_cast<uint8_t>(burst), static_cast<uint8_t>(i)};
      nic.receive(peer.udp(our_mac, our_ip, 5000, 7000, payload));
    }
    run();
    uint8_t buf[128];
    while ((*udp)->recv(buf)) ++datagrams;
  }
  run();

  std::printf("interrupts=%llu rx_missed=%llu rx_nobuf=%llu arp_replies=%d echo_replies=%d "
              "udp=%zu pool_in_use=%u (posted on the ring)\n",
              static_cast<unsigned long long>(nic.interrupts),
              static_cast<unsigned long long>(nic.rx_missed),
              static_cast<unsigned long long>(driver->rx_nobuf()), arp_replies, echo_replies,
              datagrams, stack.pool().in_use());
  EXPECT(arp_replies == 1);
  EXPECT(echo_replies == 3);
  EXPECT(datagrams == 100);
  EXPECT(nic.rx_missed == 0);
  // One interrupt per burst, not per frame (masked while polled, re-armed
  // when idle): ping and the four UDP bursts. The ARP request found the queue
  // still scheduled (masked) from add_interface.
  EXPECT(nic.interrupts == 5);
  EXPECT(regs.irq_enabled == 1);  // idle: the stack re-armed the interrupt
  EXPECT(stack.pool().in_use() == 64);  // exactly the posted receive buffers
  stack.shutdown();
  EXPECT(stack.pool().in_use() == 0);
  if (g_failures != 0) return 1;
  std::printf("ok\n");
  return 0;
}

// SimPort: the in-memory NIC that is the template for a real driver. Checks
// the descriptor ownership rules a NIC datasheet states (the NIC writes only
// descriptors it owns; the driver refills before it hands a buffer up; a full
// ring drops on the wire, counted as rx_missed_errors), interrupt masking and
// that detach() gives every buffer back to the pool.
#include <doctest/doctest.h>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "core/buffer_pool.h"
#include "core/clock.h"
#include "core/counters.h"
#include "core/poller.h"
#include "ports/sim/sim_port.h"

namespace inlet {
namespace {

using sim::SimPort;
using sim::SimPortConfig;

BufferPoolConfig pool_config(uint32_t buffers) {
  BufferPoolConfig c;
  c.buffers = buffers;
  c.buffer_size = 2048;
  c.headroom = 128;
  return c;
}

SimPortConfig port_config(uint32_t rx_ring, uint32_t tx_ring = 8) {
  SimPortConfig c;
  c.name = "sim-test";
  c.rx_ring_size = rx_ring;
  c.tx_ring_size = tx_ring;
  return c;
}

std::vector<uint8_t> frame(uint8_t tag, size_t size = 64) {
  std::vector<uint8_t> f(size, tag);
  return f;
}

bool fd_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

size_t burst(SimPort& port, std::vector<PacketRef>& out, size_t max = 64) {
  std::vector<PacketRef> tmp(max);
  const size_t n = port.rx_burst(tmp);
  for (size_t i = 0; i < n; ++i) out.push_back(std::move(tmp[i]));
  return n;
}

TEST_SUITE("core.sim_port") {

TEST_CASE("attach hands every RX descriptor a buffer; detach gives them all back") {
  BufferPool pool(pool_config(64));
  {
    SimPort port(port_config(16));
    CHECK(port.name() == "sim-test");
    CHECK(port.rx_ring_size() == 16);
    port.attach(pool);
    CHECK(pool.in_use() == 16);
    port.detach();
    CHECK(pool.in_use() == 0);
    port.detach();  // twice is harmless
    CHECK(pool.in_use() == 0);
    // Re-attach after detach, then let the destructor detach.
    port.attach(pool);
    CHECK(pool.in_use() == 16);
    port.attach(pool);  // attach again: no leak
    CHECK(pool.in_use() == 16);
  }
  CHECK(pool.in_use() == 0);
  CHECK(pool.descriptors_in_use() == 0);
}

TEST_CASE("wire_receive -> rx_burst: bytes, length and headroom as DMA'd") {
  BufferPool pool(pool_config(64));
  SimPort port(port_config(8));
  port.attach(pool);
  const std::vector<uint8_t> f = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0x08, 0x00};
  CHECK_FALSE(port.rx_pending());
  CHECK(port.wire_receive(f));
  CHECK(port.rx_pending());
  CHECK(port.stats().rx_frames == 1);
  std::vector<PacketRef> got;
  CHECK(burst(port, got) == 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0]->length() == f.size());
  CHECK(got[0]->headroom() == pool.headroom());
  CHECK(std::vector<uint8_t>(got[0]->bytes().begin(), got[0]->bytes().end()) == f);
  CHECK_FALSE(port.rx_pending());
  // The ring was refilled: still one buffer per descriptor, plus the one handed up.
  CHECK(pool.in_use() == 9);
  got.clear();
  CHECK(pool.in_use() == 8);
}

TEST_CASE("a full RX ring drops on the wire (rx_missed_errors) until the driver cleans it") {
  BufferPool pool(pool_config(64));
  SimPort port(port_config(4));
  port.attach(pool);
  for (uint8_t i = 0; i < 4; ++i) CHECK(port.wire_receive(frame(i)));
  CHECK_FALSE(port.wire_receive(frame(4)));
  CHECK_FALSE(port.wire_receive(frame(5)));
  CHECK(port.stats().rx_missed_errors == 2);
  CHECK(port.stats().rx_frames == 4);
  // The driver cleans two descriptors: two more fit.
  std::vector<PacketRef> got;
  CHECK(burst(port, got, 2) == 2);
  CHECK(got[0]->data_ptr()[0] == 0);
  CHECK(got[1]->data_ptr()[0] == 1);
  CHECK(port.wire_receive(frame(6)));
  CHECK(port.wire_receive(frame(7)));
  CHECK_FALSE(port.wire_receive(frame(8)));
  CHECK(port.stats().rx_missed_errors == 3);
  // In ring order.
  CHECK(burst(port, got) == 4);
  REQUIRE(got.size() == 6);
  const std::array<uint8_t, 6> expected = {0, 1, 2, 3, 6, 7};
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i]->data_ptr()[0] == expected[i]);
  CHECK(burst(port, got) == 0);
  got.clear();
  CHECK(pool.in_use() == 4);
}

TEST_CASE("rx_burst: at most out.size() frames; each handed-up buffer is replaced from the pool") {
  BufferPool pool(pool_config(64));
  SimPort port(port_config(8));
  port.attach(pool);
  for (uint8_t i = 0; i < 6; ++i) REQUIRE(port.wire_receive(frame(i)));
  const uint64_t allocs = pool.allocations();
  std::vector<PacketRef> got;
  CHECK(burst(port, got, 4) == 4);
  CHECK(pool.allocations() == allocs + 4);  // one refill per frame
  CHECK(port.rx_pending());
  CHECK(burst(port, got, 4) == 2);
  CHECK(pool.in_use() == 8 + 6);
  got.clear();
  CHECK(pool.in_use() == 8);
}

TEST_CASE("pool empty: the frame is dropped, the buffer recycled, rx_nobuf and kPoolExhausted counted") {
  Counters counters;
  BufferPool pool(pool_config(6), &counters);
  SimPort port(port_config(4));
  port.attach(pool);
  CHECK(pool.in_use() == 4);
  std::vector<PacketRef> held;
  held.push_back(pool.alloc());
  held.push_back(pool.alloc());
  REQUIRE(pool.in_use() == 6);  // nothing left to refill with
  REQUIRE(port.wire_receive(frame(1)));
  REQUIRE(port.wire_receive(frame(2)));
  std::vector<PacketRef> got;
  CHECK(burst(port, got) == 0);
  CHECK(port.stats().rx_nobuf == 2);
  CHECK(counters.drops(DropReason::kPoolExhausted) == 2);
  CHECK(counters.get(Counter::rx_nobuf) == 2);
  CHECK_FALSE(port.rx_pending());  // the descriptors went back to the NIC
  CHECK(pool.in_use() == 6);       // no buffer lost or gained
  // The ring still works: with a buffer free, frames flow again.
  held.pop_back();
  for (uint8_t i = 3; i < 7; ++i) CHECK(port.wire_receive(frame(i)));
  CHECK(burst(port, got) == 1);  // one refill possible, then the pool is empty again
  CHECK(got[0]->data_ptr()[0] == 3);
  CHECK(port.stats().rx_nobuf == 5);
  got.clear();
  held.clear();
  port.detach();
  CHECK(pool.in_use() == 0);
}

TEST_CASE("oversize frames are refused and counted (rx_over_errors)") {
  BufferPool pool(pool_config(16));
  SimPortConfig config = port_config(4);
  config.max_frame = 1522;
  SimPort port(config);
  port.attach(pool);
  CHECK(port.wire_receive(frame(1, 1522)));
  CHECK_FALSE(port.wire_receive(frame(2, 1523)));
  CHECK(port.stats().rx_over_errors == 1);
  // Larger than the buffer (2048 - 128 headroom) even if max_frame allows it.
  SimPortConfig jumbo = port_config(4);
  jumbo.max_frame = 9000;
  SimPort big(jumbo);
  big.attach(pool);
  CHECK(big.wire_receive(frame(3, 1920)));
  CHECK_FALSE(big.wire_receive(frame(4, 1921)));
  CHECK(big.stats().rx_over_errors == 1);
  CHECK(big.stats().rx_frames == 1);
  // A refused frame does not consume a descriptor.
  std::vector<PacketRef> got;
  CHECK(burst(big, got) == 1);
  CHECK(got[0]->length() == 1920);
}

TEST_CASE("a detached port receives nothing") {
  BufferPool pool(pool_config(16));
  SimPort port(port_config(4));
  CHECK_FALSE(port.wire_receive(frame(1)));
  port.attach(pool);
  port.detach();
  CHECK_FALSE(port.wire_receive(frame(1)));
  std::vector<PacketRef> got;
  CHECK(burst(port, got) == 0);
  CHECK(pool.in_use() == 0);
}

TEST_CASE("tx_burst: takes frames until the ring is full; wire_collect completes them") {
  BufferPool pool(pool_config(32));
  SimPort port(port_config(4, /*tx_ring=*/3));
  port.attach(pool);
  const uint32_t base = pool.in_use();
  std::vector<PacketRef> frames;
  for (uint8_t i = 0; i < 5; ++i) {
    PacketRef p = pool.alloc();
    std::vector<uint8_t> f = frame(i, 60 + i);
    std::copy(f.begin(), f.end(), p->put(static_cast<uint32_t>(f.size())));
    frames.push_back(std::move(p));
  }
  CHECK(port.tx_burst(frames) == 3);
  CHECK_FALSE(frames[0]);  // taken
  CHECK_FALSE(frames[2]);
  CHECK(frames[3]);        // left with the caller
  CHECK(frames[4]);
  CHECK(port.stats().tx_ring_full == 1);
  CHECK(pool.in_use() == base + 5);
  // Ring full: nothing more fits until the NIC completes.
  CHECK(port.tx_burst(std::span<PacketRef>(frames).subspan(3)) == 0);
  CHECK(port.stats().tx_ring_full == 2);

  std::vector<std::vector<uint8_t>> wire = port.wire_collect_all();
  REQUIRE(wire.size() == 3);
  for (uint8_t i = 0; i < 3; ++i) CHECK(wire[i] == frame(i, 60 + i));
  CHECK(port.stats().tx_frames == 3);
  CHECK(pool.in_use() == base + 2);  // completion freed the buffers
  CHECK(port.wire_collect_all().empty());

  CHECK(port.tx_burst(std::span<PacketRef>(frames).subspan(3)) == 2);
  size_t seen = 0;
  CHECK(port.wire_collect([&](std::span<const uint8_t> f) {
    CHECK(f.size() == 63 + seen);
    ++seen;
  }) == 2);
  CHECK(pool.in_use() == base);
}

TEST_CASE("detach returns transmit buffers not yet completed, too") {
  BufferPool pool(pool_config(32));
  SimPort port(port_config(4, 4));
  port.attach(pool);
  std::vector<PacketRef> frames;
  for (int i = 0; i < 3; ++i) {
    frames.push_back(pool.alloc());
    frames.back()->put(60);
  }
  CHECK(port.tx_burst(frames) == 3);
  REQUIRE(port.wire_receive(frame(1)));
  CHECK(pool.in_use() == 4 + 3);
  port.detach();
  CHECK(pool.in_use() == 0);
  CHECK(pool.descriptors_in_use() == 0);
}

TEST_CASE("wire_pump cables one port's transmit to another's receive") {
  BufferPool pool(pool_config(64));
  SimPort a(port_config(8));
  SimPort b(port_config(8));
  a.attach(pool);
  b.attach(pool);
  CHECK(a.wire_pump() == 0);  // not connected
  a.connect_to(&b);
  std::vector<PacketRef> out;
  out.push_back(pool.alloc());
  std::vector<uint8_t> f = frame(0x5A, 70);
  std::copy(f.begin(), f.end(), out[0]->put(70));
  CHECK(a.tx_burst(out) == 1);
  CHECK(a.wire_pump() == 1);
  std::vector<PacketRef> got;
  CHECK(burst(b, got) == 1);
  CHECK(std::vector<uint8_t>(got[0]->bytes().begin(), got[0]->bytes().end()) == f);
}

TEST_CASE("interrupts: raised only while enabled; masked while the driver polls") {
  BufferPool pool(pool_config(64));
  SimPort port(port_config(8));
  port.attach(pool);
  int raised = 0;
  port.set_interrupt_handler([&] { ++raised; });
  CHECK(port.wire_receive(frame(1)));
  CHECK(raised == 1);
  CHECK(port.stats().interrupts == 1);
  // The port masks itself after an interrupt (no storm) ...
  CHECK(port.wire_receive(frame(2)));
  CHECK(raised == 1);
  // ... and while the driver keeps it masked.
  port.set_interrupt_enabled(false);
  CHECK(port.wire_receive(frame(3)));
  CHECK(raised == 1);
  CHECK(port.stats().interrupts == 1);
  // Re-armed: the next frame raises it again.
  port.set_interrupt_enabled(true);
  CHECK(port.wire_receive(frame(4)));
  CHECK(raised == 2);
  CHECK(port.stats().interrupts == 2);
  // A refused frame (ring full / oversize) raises nothing.
  port.set_interrupt_enabled(true);
  CHECK_FALSE(port.wire_receive(frame(5, 5000)));
  CHECK(raised == 2);
}

TEST_CASE("the eventfd is readable after an interrupt and cleared by the re-arm") {
  BufferPool pool(pool_config(64));
  SimPort port(port_config(8));
  port.attach(pool);
  REQUIRE(port.interrupt_fd() >= 0);
  CHECK_FALSE(fd_readable(port.interrupt_fd()));
  CHECK(port.wire_receive(frame(1)));
  CHECK(fd_readable(port.interrupt_fd()));
  // Masked frames do not add to it; re-arming acknowledges it.
  CHECK(port.wire_receive(frame(2)));
  port.set_interrupt_enabled(true);
  CHECK_FALSE(fd_readable(port.interrupt_fd()));
  CHECK(port.wire_receive(frame(3)));
  CHECK(fd_readable(port.interrupt_fd()));
  port.drain_interrupt_fd();
  CHECK_FALSE(fd_readable(port.interrupt_fd()));
}

TEST_CASE("with a Poller: interrupt -> schedule -> poll -> re-arm, every buffer back at the end") {
  Counters counters;
  BufferPool pool(pool_config(128), &counters);
  ManualClock clock;
  PollerConfig pc;
  pc.weight = 4;
  Poller poller(pc, clock);
  SimPort port(port_config(16));
  port.attach(pool);
  std::vector<uint8_t> tags;
  poller.add_queue(&port, [&](std::span<PacketRef> batch) {
    for (PacketRef& p : batch) tags.push_back(p->data_ptr()[0]);
  });
  CHECK(poller.poll() == 0);
  CHECK_FALSE(poller.has_work());
  for (uint8_t i = 0; i < 6; ++i) CHECK(port.wire_receive(frame(i)));
  CHECK(port.stats().interrupts == 1);  // masked after the first frame until the poller re-arms
  CHECK(poller.has_work());
  CHECK(poller.poll() == 4);  // weight 4: poll again
  CHECK(poller.has_work());
  CHECK(poller.poll() == 2);
  CHECK_FALSE(poller.has_work());
  CHECK(tags == std::vector<uint8_t>{0, 1, 2, 3, 4, 5});
  CHECK(fd_readable(port.interrupt_fd()) == false);
  port.detach();
  CHECK(pool.in_use() == 0);
}

// attach() leaves descriptors without a buffer when the pool cannot fill the
// whole ring; rx_burst refills them once the pool has buffers again.
TEST_CASE("a descriptor left empty at attach (pool short) is refilled later") {
  // Pool of 8 for a ring of 4: with 6 held at attach only two descriptors get
  // a buffer. Once the pool has buffers again, rx_burst refills the empty
  // ones and the ring carries full rounds (4 ring buffers + 4 for refills).
  BufferPool pool(pool_config(8));
  SimPort port(port_config(4));
  std::vector<PacketRef> held;
  for (int i = 0; i < 6; ++i) held.push_back(pool.alloc());
  port.attach(pool);
  held.clear();
  std::vector<PacketRef> got;
  burst(port, got);  // nothing waiting yet: refills the empty descriptors
  size_t delivered = 0;
  for (int round = 0; round < 4; ++round) {
    for (uint8_t i = 0; i < 4; ++i) port.wire_receive(frame(i));
    delivered += burst(port, got);
    got.clear();
  }
  CHECK(delivered == 16);
  CHECK(port.stats().rx_missed_errors == 0);
  port.detach();
  CHECK(pool.in_use() == 0);
}

}  // TEST_SUITE

}  // namespace
}  // namespace inlet

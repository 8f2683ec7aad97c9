// libFuzzer target: a sequence of frames through a fully configured stack
// (addresses, a route, a TCP listener with Fast Open, a UDP socket, a VLAN
// sub-interface, a bridge-free port, filter rules, forwarding on), with clock
// advances between frames. Invariants: no crash, no sanitizer report, and
// every buffer back in the pool after shutdown.
//
// Input: records of [len_hi, len_lo, advance_ms, bytes...].
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "api/stack.h"
#include "filter/filter.h"
#include "ports/sim/sim_port.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inlet;
  ManualClock clock;
  Tunables t;
  t.set(Tunable::kPoolBuffers, 256);
  t.set(Tunable::kIpForward, 1);
  t.set(Tunable::kTcpMaxConnections, 16);
  t.set(Tunable::kTcpFastopen, 0x602);
  t.set(Tunable::kIpfragHighThresh, 4 * 65536 * 2);
  Stack stack(t, &clock);
  auto p0 = std::make_unique<sim::SimPort>(sim::SimPortConfig{.name = "a", .rx_ring_size = 16, .tx_ring_size = 64});
  auto p1 = std::make_unique<sim::SimPort>(sim::SimPortConfig{.name = "b", .rx_ring_size = 16, .tx_ring_size = 64});
  sim::SimPort* a = p0.get();
  sim::SimPort* b = p1.get();
  auto ia = stack.add_interface(std::move(p0), {.mac = wire::MacAddress({2, 0, 0, 0, 0, 1}),
                                                .addresses = {{wire::Ipv4Address(0xC0000202u), 24}}});
  auto ib = stack.add_interface(std::move(p1), {.addresses = {{wire::Ipv4Address(0xC6336402u), 24}}});
  if (!ia.ok() || !ib.ok()) abort();
  (void)stack.add_vlan((*ia)->ifindex(), 10, {.addresses = {{wire::Ipv4Address(0xCB007102u), 24}}});
  (void)stack.add_route(wire::Ipv4Address(0x0A000000u), 8, wire::Ipv4Address(0xC6336401u));
  (void)stack.tcp_listen(wire::kIpv4Any, 80);
  (void)stack.udp_bind(wire::kIpv4Any, 7000, 4096);
  auto rules = filter::RuleSet::parse("forward proto udp dport 9999 drop\ninput proto tcp dport 81 drop\n");
  if (rules.ok()) (void)stack.set_filter(std::move(*rules));

  size_t i = 0;
  int frames = 0;
  while (i + 3 <= size && frames < 64) {
    const size_t len = (size_t{data[i]} << 8 | data[i + 1]) % 1600;
    const uint8_t advance = data[i + 2];
    i += 3;
    const size_t n = std::min(len, size - i);
    (frames % 3 == 2 ? b : a)->wire_receive(std::span<const uint8_t>(data + i, n));
    i += n;
    ++frames;
    stack.poll();
    // Read whatever the application would read.
    clock.advance(absl::Milliseconds(advance * 50));
    stack.poll();
    a->wire_collect([](std::span<const uint8_t>) {});
    b->wire_collect([](std::span<const uint8_t>) {});
  }
  clock.advance(absl::Seconds(120));
  stack.poll();
  stack.shutdown();
  if (stack.pool().in_use() != 0 || stack.ip().reassembler().pool().in_use() != 0) abort();
  return 0;
}

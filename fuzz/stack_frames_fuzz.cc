// libFuzzer target: a sequence of frames through a fully configured stack
// (addresses, a route, a TCP listener with Fast Open, a UDP socket, a VLAN
// sub-interface, a bridge-free port, filter rules, forwarding on, GRO on),
// with clock advances between frames; the application accepts, reads and
// closes. Frames may arrive in bursts (polled together, as GRO sees them)
// and scattered over several buffers with offload metadata (super-frames).
// Invariants: no crash, no sanitizer report, no counter (gauges aside) goes
// backwards, a socket never hands the application more than it received,
// and every buffer is back in the pool after shutdown.
//
// Input: records of [flags|len_hi, len_lo, advance, (gso_size/8, gso_segs,) bytes...]:
//   len_hi bits 0..5 and len_lo: the frame's length (modulo 1600 unless scattered);
//   0x80: scattered over buffers with offload metadata: checksum state from
//         advance bits 0..1, gso_size and gso_segs from the two extra bytes
//         (the input's choice: a device's metadata need not be true);
//   0x40: held in the RX ring, polled with the next record's frame;
//   advance: the clock moves advance * 50 ms after the poll (scattered:
//            bits 2..7 * 200 ms).
#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "api/stack.h"
#include "filter/filter.h"
#include "fuzz/fuzz_input.h"
#include "ports/sim/sim_port.h"
#include "tcp/tcp_socket.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inlet;
  ManualClock clock;
  Tunables t;
  t.set(Tunable::kPoolBuffers, 256);
  // Small tables: set-up cost is most of a short input's run time.
  t.set(Tunable::kFibMaxRoutes, 64);
  t.set(Tunable::kNeighGcThresh3, 16);
  t.set(Tunable::kTcpMaxTimeWait, 16);
  t.set(Tunable::kTcpMaxSynBacklog, 16);
  t.set(Tunable::kIpForward, 1);
  t.set(Tunable::kTcpMaxConnections, 16);
  t.set(Tunable::kTcpFastopen, 0x602);
  t.set(Tunable::kIpfragHighThresh, 4 * 65536 * 2);
#if INLET_WITH_GRO
  t.set(Tunable::kGro, 1);
#endif
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
  auto listener = stack.tcp_listen(wire::kIpv4Any, 80);
  auto udp = stack.udp_bind(wire::kIpv4Any, 7000, 4096);
  if (!listener.ok() || !udp.ok()) abort();
  std::vector<tcp::TcpSocket*> sockets;
  std::array<uint64_t, kCounterCount> counters{};
  std::vector<uint8_t> buf(4096);
  // The application: accepts, reads what is there, closes at end of stream.
  auto application = [&] {
    while (tcp::TcpSocket* s = (*listener)->accept()) sockets.push_back(s);
    for (auto it = sockets.begin(); it != sockets.end();) {
      tcp::TcpSocket* s = *it;
      const uint64_t before = s->bytes_read();
      const size_t n = s->read(buf);
      FUZZ_CHECK(s->bytes_read() == before + n);
      FUZZ_CHECK(s->bytes_read() <= s->bytes_received());
      if (s->eof() || s->was_reset()) {
        s->close();
        it = sockets.erase(it);
      } else {
        ++it;
      }
    }
    while ((*udp)->recv(buf)) {
    }
    for (size_t c = 0; c < kCounterCount; ++c) {
      const uint64_t now = stack.counters().get(static_cast<Counter>(c));
      if (!counter_is_gauge(static_cast<Counter>(c))) FUZZ_CHECK(now >= counters[c]);
      counters[c] = now;
    }
  };
  auto rules = filter::RuleSet::parse("forward proto udp dport 9999 drop\ninput proto tcp dport 81 drop\n");
  if (rules.ok()) (void)stack.set_filter(std::move(*rules));

  size_t i = 0;
  int frames = 0;
  while (i + 3 <= size && frames < 64) {
    const uint8_t record_flags = data[i] & 0xC0;
    const size_t raw_len = size_t{data[i] & 0x3Fu} << 8 | data[i + 1];
    const uint8_t advance = data[i + 2];
    i += 3;
    sim::SimPort* port = frames % 3 == 2 ? b : a;
    if (record_flags & 0x80) {
      if (i + 2 > size) break;
      sim::SimPort::RxOffload offload;
      offload.csum = static_cast<ChecksumState>(advance & 3);
      offload.gso_size = static_cast<uint16_t>(data[i] * 8);
      offload.gso_segs = data[i + 1];
      i += 2;
      const size_t n = std::min(raw_len, size - i);
      port->wire_receive_scattered(std::span<const uint8_t>(data + i, n), offload);
      i += n;
    } else {
      const size_t n = std::min(raw_len % 1600, size - i);
      port->wire_receive(std::span<const uint8_t>(data + i, n));
      i += n;
    }
    ++frames;
    if (record_flags & 0x40) continue;  // a burst: polled with the next frame
    stack.poll();
    application();
    clock.advance(absl::Milliseconds((record_flags & 0x80) ? (advance >> 2) * 200 : advance * 50));
    stack.poll();
    a->wire_collect([](std::span<const uint8_t>) {});
    b->wire_collect([](std::span<const uint8_t>) {});
  }
  stack.poll();
  application();
  for (tcp::TcpSocket* s : sockets) s->close();
  clock.advance(absl::Seconds(120));
  stack.poll();
  stack.shutdown();
  if (stack.pool().in_use() != 0 || stack.ip().reassembler().pool().in_use() != 0) abort();
  return 0;
}

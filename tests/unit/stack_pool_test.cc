// Buffer pool exhaustion through the whole stack (inlet.pool.buffers): the
// NIC's refill failing is a counted drop (rx_nobuf, as a driver's
// rx_no_buffer_count), output that cannot get a buffer is skipped, nothing
// crashes, and every buffer comes back at shutdown.
#include <doctest/doctest.h>

#include "stack_fixture.h"

namespace inlet::stack_test {
namespace {

TEST_SUITE_BEGIN("stack_pool");

const Bytes kData = bytes_of("pool pressure");

TEST_CASE("inlet.pool.buffers: a burst beyond a tiny pool counts rx_nobuf and the pool comes back") {
  // 16 buffers: 8 sit in the receive ring, 8 are free for refills.
  StackHarness h({.sysctls = {{Tunable::kPoolBuffers, 16}}, .rx_ring_size = 8});
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  CHECK(h.stack().pool().in_use() == 8);
  std::vector<Bytes> burst;
  for (uint16_t i = 0; i < 8; ++i) {
    burst.push_back(h.peer().udp(h.our_mac(), h.our_ip(), static_cast<uint16_t>(5000 + i), 7000, kData));
  }
  // The socket keeps every datagram of the first burst: the pool runs dry.
  auto before = h.snapshot();
  h.exchange(burst);
  CHECK((*sock)->queued_datagrams() == 8);
  CHECK(h.stack().pool().in_use() == 16);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 8},
                                {Counter::IpInReceives, 8},
                                {Counter::IpInDelivers, 8},
                                {Counter::UdpInDatagrams, 8}}) == "");
  // The second burst cannot be refilled for: every frame is dropped by the
  // driver, which hands the same buffer back to the NIC.
  before = h.snapshot();
  for (int round = 0; round < 4; ++round) h.exchange(burst);
  CHECK(h.counter_diff(before, {{Counter::rx_nobuf, 32}}) == "");
  CHECK(h.nic().stats().rx_nobuf == 32);
  CHECK(h.stack().pool().in_use() == 16);
  // Reading frees buffers and traffic flows again.
  uint8_t buf[64];
  while ((*sock)->recv(buf)) {
  }
  CHECK(h.stack().pool().in_use() == 8);
  before = h.snapshot();
  h.exchange(burst.front());
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpInDelivers, 1},
                                {Counter::UdpInDatagrams, 1}}) == "");
  h.finish();
}

TEST_CASE("pool exhaustion: an ICMP error with no buffer is skipped; an echo reply reuses the request") {
  StackHarness h({.sysctls = {{Tunable::kPoolBuffers, 16}}, .rx_ring_size = 8});
  h.learn_peer();
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000);
  REQUIRE(sock.ok());
  std::vector<Bytes> hog;
  for (int i = 0; i < 7; ++i) hog.push_back(h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kData));
  h.exchange(hog);
  REQUIRE(h.stack().pool().in_use() == 15);  // one buffer left: the next refill takes it

  auto before = h.snapshot();
  const uint64_t failures = h.stack().pool().alloc_failures();
  CHECK(h.exchange(h.peer().udp(h.our_mac(), h.our_ip(), 5000, 9, kData)).empty());
  CHECK(h.stack().pool().alloc_failures() == failures + 1);
  CHECK(h.counter_diff(before, {{Counter::rx_packets, 1},
                                {Counter::IpInReceives, 1},
                                {Counter::IpInDelivers, 1},
                                {Counter::UdpNoPorts, 1}}) == "");

  before = h.snapshot();
  const auto sent = h.exchange(h.peer().icmp_echo(h.our_mac(), h.our_ip(), 1, 1, kData));
  CHECK(sent.size() == 1);
  CHECK(h.count(Counter::IcmpOutEchoReps) -
            before.values[static_cast<size_t>(Counter::IcmpOutEchoReps)] ==
        1);
  CHECK(h.stack().pool().in_use() == 15);
  h.finish();
}

TEST_CASE("pool exhaustion: a flood with a tiny pool never crashes and never leaks") {
  StackHarness h({.sysctls = {{Tunable::kPoolBuffers, 16}}, .rx_ring_size = 8});
  h.learn_peer();
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000, 8192);
  REQUIRE(sock.ok());
  uint64_t offered = 0;
  for (uint16_t round = 0; round < 50; ++round) {
    std::vector<Bytes> burst;
    burst.push_back(h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, kData));
    burst.push_back(h.peer().udp(h.our_mac(), h.our_ip(), 5000, 9, kData));
    burst.push_back(h.peer().icmp_echo(h.our_mac(), h.our_ip(), 2, round, kData));
    burst.push_back(h.peer().arp_request(h.our_ip()));
    burst.push_back(Bytes(10, 0));
    // Don't collect what the stack sent for a while: the TX ring holds buffers.
    for (const Bytes& f : burst) {
      if (h.nic().wire_receive(f)) ++offered;
    }
    for (int i = 0; i < 3; ++i) h.stack().poll();
    if (round % 5 == 4) h.nic().wire_collect_all();
    uint8_t buf[64];
    if (round % 7 == 6) {
      while ((*sock)->recv(buf)) {
      }
    }
    CHECK(h.stack().pool().in_use() <= 16);
  }
  h.run();
  CHECK(h.count(Counter::rx_packets) + h.count(Counter::rx_nobuf) == offered + 1 /* learn_peer */);
  h.finish();
}

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::stack_test

TEST_CASE("Stack::set_runtime_tunable: knobs read at use change; out of range or set-up ones are refused") {
  inlet::Stack stack;
  CHECK(stack.set_runtime_tunable(inlet::Tunable::kGro, 1).ok());
  CHECK(stack.tunables().get(inlet::Tunable::kGro) == 1);
  const absl::Status range = stack.set_runtime_tunable(inlet::Tunable::kGro, 2);
  CHECK(range.code() == absl::StatusCode::kOutOfRange);
  CHECK(stack.tunables().get(inlet::Tunable::kGro) == 1);  // unchanged
  const absl::Status setup = stack.set_runtime_tunable(inlet::Tunable::kPoolBuffers, 64);
  CHECK(setup.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(setup.message()).find("inlet.pool.buffers") != std::string::npos);
  CHECK(stack.tunables().get(inlet::Tunable::kPoolBuffers) == 4096);
}

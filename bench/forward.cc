// Forwarding benchmark through two sim ports: 64-byte UDP frames in on one
// port, routed (TTL-1, incremental checksum, FIB lookup, neighbour, Ethernet
// header) and out on the other; Mpps per core with one route and with 1 M
// random routes in the FIB (one destination, as the comparison; and
// 64 k destinations spread over the 1 M routes, so that lookups miss the
// caches), against the sim ports alone (DMA in, rx_burst, tx collect)
// measured in the same process; heap allocations per packet.
// Medians of several runs, timed in this thread's CPU time. `--quick`: fewer
// and shorter runs. Ends with `spread NAME MIN MAX` and `figure NAME VALUE
// UNIT` lines (read by scripts/bench-table).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "alloc_counter.h"
#include "api/stack.h"
#include "ports/sim/sim_peer.h"
#include "ports/sim/sim_port.h"

namespace {

using WallClock = std::chrono::steady_clock;
using CpuClock = inlet::bench::ThreadCpuClock;  // per-packet times: CPU time of this thread
using namespace inlet;

size_t packets_per_run = 2'000'000;  // fewer with --quick
constexpr size_t kBurst = 256;
int run_count = 5;

struct Router {
  ManualClock clock;
  std::unique_ptr<Stack> stack;
  sim::SimPort* a = nullptr;
  sim::SimPort* b = nullptr;
  wire::MacAddress mac_a;
  sim::SimPeer host_a{*wire::MacAddress::parse("02:00:00:00:0a:01"), *wire::Ipv4Address::parse("192.0.2.2")};
  sim::SimPeer host_b{*wire::MacAddress::parse("02:00:00:00:0b:01"), *wire::Ipv4Address::parse("198.51.100.2")};
  std::vector<std::pair<uint32_t, uint8_t>> random_routes;  // the extra routes added: prefix, length

  explicit Router(size_t extra_routes) {
    Tunables t;
    t.set(Tunable::kIpForward, 1);
    t.set(Tunable::kPoolBuffers, 4096);
    t.set(Tunable::kFibMaxRoutes, static_cast<int64_t>(extra_routes + 1024));
    stack = std::make_unique<Stack>(t, &clock);
    auto pa = std::make_unique<sim::SimPort>(sim::SimPortConfig{.name = "a", .rx_ring_size = 512, .tx_ring_size = 1024});
    auto pb = std::make_unique<sim::SimPort>(sim::SimPortConfig{.name = "b", .rx_ring_size = 512, .tx_ring_size = 1024});
    a = pa.get();
    b = pb.get();
    mac_a = (*stack->add_interface(std::move(pa), {.addresses = {{*wire::Ipv4Address::parse("192.0.2.1"), 24}}}))->mac();
    auto ib = *stack->add_interface(std::move(pb), {.addresses = {{*wire::Ipv4Address::parse("198.51.100.1"), 24}}});
    // A million random routes via host B (the benchmark's destination stays
    // inside 203.0.113.0/24, routed by its own /24).
    std::mt19937 rng(7);
    for (size_t tries = 0; stack->ip().routes().size() < extra_routes && tries < 4 * extra_routes; ++tries) {
      ip::FibRoute r;
      const uint8_t len = static_cast<uint8_t>(std::uniform_int_distribution<int>(16, 24)(rng));
      const uint32_t addr = (rng() | 0x01000000u) & (~uint32_t{0} << (32 - len));
      if ((addr >> 24) == 203 || (addr >> 24) >= 224 || (addr >> 24) == 127) continue;
      r.prefix = wire::Ipv4Address(addr);
      r.prefix_length = len;
      r.nexthops[0] = {ib->ifindex(), host_b.ip(), 1};
      if (stack->add_route(r).ok()) random_routes.emplace_back(addr, len);
    }
    (void)stack->add_route(*wire::Ipv4Address::parse("203.0.113.0"), 24, host_b.ip());
    // Resolve both neighbours before measuring.
    a->wire_receive(host_a.arp_request(*wire::Ipv4Address::parse("192.0.2.1")));
    b->wire_receive(host_b.arp_request(*wire::Ipv4Address::parse("198.51.100.1")));
    stack->poll();
    a->wire_collect_all();
    b->wire_collect_all();
  }
  ~Router() { stack->shutdown(); }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Feeds `frames` in turn (their count a power of two) in bursts; returns ns
// per packet. `packets`: 0 for packets_per_run.
template <class Process>
double run(sim::SimPort* in, const std::vector<sim::Frame>& frames, Process&& process, uint64_t* allocs,
           size_t packets = 0) {
  if (packets == 0) packets = packets_per_run;
  const size_t mask = frames.size() - 1;
  size_t next = 0;
  const uint64_t a0 = bench::allocations();
  const auto t0 = CpuClock::now();
  for (size_t sent = 0; sent < packets; sent += kBurst) {
    for (size_t i = 0; i < kBurst; ++i) {
      in->wire_receive(frames[next]);
      next = (next + 1) & mask;
    }
    process();
  }
  const double ns = std::chrono::duration<double, std::nano>(CpuClock::now() - t0).count() / static_cast<double>(packets);
  if (allocs != nullptr) *allocs += bench::allocations() - a0;
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--quick") {
    packets_per_run = 500'000;
    run_count = 3;
  }
  std::vector<uint8_t> payload(18, 'f');  // 14 + 20 + 8 + 18 = 60-byte frame (64 with FCS)
  Router one(0);
  const std::vector<sim::Frame> frame = {
      one.host_a.udp(one.mac_a, *wire::Ipv4Address::parse("203.0.113.7"), 4000, 9, payload)};
  std::printf("building 1 M routes...\n");
  const auto tb = WallClock::now();
  Router million(1'000'000);
  const double build_s = std::chrono::duration<double>(WallClock::now() - tb).count();
  // 64 k destinations, each inside a random one of the million routes.
  std::vector<sim::Frame> spread_frames;
  std::mt19937 rng(9);
  for (size_t i = 0; i < (size_t{1} << 16); ++i) {
    const auto [prefix, len] = million.random_routes[rng() % million.random_routes.size()];
    const uint32_t host = static_cast<uint32_t>(rng()) & ~(~uint32_t{0} << (32 - len));
    spread_frames.push_back(million.host_a.udp(million.mac_a, wire::Ipv4Address(prefix | host), 4000, 9, payload));
  }
  auto forward_all = [](Router& r) {
    return [&r] {
      while (r.stack->poll() > 0 || r.stack->has_work()) {
      }
      r.b->wire_collect([](std::span<const uint8_t>) {});
    };
  };
  auto port_only = [](Router& r) {
    return [&r] {
      PacketRef batch[64];
      while (r.a->rx_burst(batch) > 0) {
        for (auto& p : batch) p.reset();
      }
    };
  };
  // Warm-up.
  run(one.a, frame, forward_all(one), nullptr);
  run(million.a, frame, forward_all(million), nullptr);
  // The spread destinations are ~5x slower: a quarter of the packets.
  const size_t spread_packets = packets_per_run / 4;
  run(million.a, spread_frames, forward_all(million), nullptr, spread_packets);
  std::vector<double> base, f1, fm, fs;
  uint64_t alloc1 = 0, allocm = 0, allocs = 0;
  for (int i = 0; i < run_count; ++i) {
    base.push_back(run(one.a, frame, port_only(one), nullptr));
    f1.push_back(run(one.a, frame, forward_all(one), &alloc1));
    fm.push_back(run(million.a, frame, forward_all(million), &allocm));
    fs.push_back(run(million.a, spread_frames, forward_all(million), &allocs, spread_packets));
  }
  const double mb = median(base), m1 = median(f1), mm = median(fm), ms = median(fs);
  std::printf("inlet forward benchmark: 60-byte UDP frames, %zu x %d runs, bursts of %zu, medians\n", packets_per_run,
              run_count, kBurst);
  std::printf("%-34s %7.1f ns/pkt  %6.2f Mpps\n", "baseline: sim port rx only", mb, 1e3 / mb);
  std::printf("%-34s %7.1f ns/pkt  %6.2f Mpps  x%.2f of baseline  allocs/pkt=%.4f\n", "forward, 1 route", m1,
              1e3 / m1, m1 / mb, static_cast<double>(alloc1) / (run_count * packets_per_run));
  std::printf("%-34s %7.1f ns/pkt  %6.2f Mpps  x%.2f of 1 route  allocs/pkt=%.4f\n", "forward, 1 M routes", mm,
              1e3 / mm, mm / m1, static_cast<double>(allocm) / (run_count * packets_per_run));
  std::printf("%-34s %7.1f ns/pkt  %6.2f Mpps  x%.2f of 1 route  allocs/pkt=%.4f\n",
              "forward, 1 M routes, 64 k dsts", ms, 1e3 / ms, ms / m1,
              static_cast<double>(allocs) / static_cast<double>(run_count * spread_packets));
  std::printf("FIB: %zu routes, %.1f MiB, built in %.2f s\n", million.stack->ip().routes().size(),
              million.stack->ip().routes().memory_bytes() / 1048576.0, build_s);
  const auto& c = one.stack->counters();
  std::printf("IpForwDatagrams=%llu tx_dropped=%llu rx_nobuf=%llu\n",
              static_cast<unsigned long long>(c.get(Counter::IpForwDatagrams)),
              static_cast<unsigned long long>(c.get(Counter::tx_dropped)),
              static_cast<unsigned long long>(c.get(Counter::rx_nobuf)));
  const auto mpps_figure = [](const char* name, const std::vector<double>& ns) {
    std::printf("spread %s %.3f %.3f\nfigure %s %.3f Mpps\n", name, 1e3 / *std::max_element(ns.begin(), ns.end()),
                1e3 / *std::min_element(ns.begin(), ns.end()), name, 1e3 / median(ns));
  };
  mpps_figure("forward_1route_mpps", f1);
  mpps_figure("forward_1m_routes_mpps", fm);
  mpps_figure("forward_1m_routes_spread_dst_mpps", fs);
  std::printf("figure forward_1m_vs_1route_ratio %.3f x\n", mm / m1);
  std::printf("figure allocs_per_packet_forward %.4f allocs\n",
              std::max(static_cast<double>(std::max(alloc1, allocm)) / static_cast<double>(run_count * packets_per_run),
                       static_cast<double>(allocs) / static_cast<double>(run_count * spread_packets)));
  return 0;
}

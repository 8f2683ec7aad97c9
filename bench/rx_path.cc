// Receive-path benchmark through the sim port: UDP receive (with the one copy
// to the application) and ICMP echo, in packets per second per core, against a
// baseline in the same process — the sim port alone (DMA into the ring and
// rx_burst, no protocol work). Also counts heap allocations per packet.
// Figures are medians of several runs; the machine is shared, compare ratios.
// `--quick`: fewer and shorter runs. Ends with `spread NAME MIN MAX` and
// `figure NAME VALUE UNIT` lines (scripts/bench-table reads them).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "alloc_counter.h"
#include "api/stack.h"
#include "ports/sim/sim_peer.h"
#include "ports/sim/sim_port.h"

namespace {

using CpuClock = inlet::bench::ThreadCpuClock;  // CPU time of this thread
using inlet::wire::Ipv4Address;
using inlet::wire::MacAddress;

size_t packets_per_run = 1'000'000;  // fewer with --quick
constexpr size_t kBurst = 256;
int run_count = 5;

struct Result {
  double ns_per_packet;
  double allocs_per_packet;
};

struct Bench {
  inlet::ManualClock clock;
  std::unique_ptr<inlet::Stack> stack;
  inlet::sim::SimPort* nic = nullptr;
  MacAddress mac;
  Ipv4Address ip = *Ipv4Address::parse("192.0.2.2");
  inlet::sim::SimPeer peer{*MacAddress::parse("02:00:00:00:00:01"), *Ipv4Address::parse("192.0.2.1")};
  inlet::udp::UdpSocket* socket = nullptr;
  uint64_t bytes_read = 0;
  uint8_t app_buf[2048];

  Bench() {
    inlet::Tunables t;
    t.set(inlet::Tunable::kPoolBuffers, 2048);
    stack = std::make_unique<inlet::Stack>(t, &clock);
    auto port = std::make_unique<inlet::sim::SimPort>(
        inlet::sim::SimPortConfig{.name = "sim0", .rx_ring_size = 512, .tx_ring_size = 512});
    nic = port.get();
    auto iface = stack->add_interface(std::move(port), {.addresses = {{ip, 24}}});
    mac = (*iface)->mac();
    socket = *stack->udp_bind(inlet::wire::kIpv4Any, 7000, 1 << 20);
    socket->set_data_ready([this](inlet::udp::UdpSocket& s) {
      while (auto d = s.recv(app_buf)) bytes_read += d->copied;
    });
    // Resolve the peer once so echo replies go straight out.
    nic->wire_receive(peer.arp_request(ip));
    stack->poll();
    nic->wire_collect_all();
  }
  ~Bench() { stack->shutdown(); }

  // Feeds `frame` packets_per_run times in bursts; `process` runs after each burst.
  template <class Process>
  Result run(const inlet::sim::Frame& frame, Process&& process) {
    const uint64_t a0 = inlet::bench::allocations();
    const auto t0 = CpuClock::now();
    for (size_t sent = 0; sent < packets_per_run; sent += kBurst) {
      for (size_t i = 0; i < kBurst; ++i) nic->wire_receive(frame);
      process();
    }
    const auto t1 = CpuClock::now();
    const uint64_t a1 = inlet::bench::allocations();
    return {std::chrono::duration<double, std::nano>(t1 - t0).count() / packets_per_run,
            static_cast<double>(a1 - a0) / packets_per_run};
  }

  void poll_all() {
    while (stack->poll() > 0 || stack->has_work()) {
    }
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Prints the case's line; returns {median, min, max} in ns and the largest
// allocations per packet of any run.
struct Summary {
  double median_ns, min_ns, max_ns, allocs;
};
Summary report(const char* name, const std::vector<Result>& runs, double baseline_ns) {
  std::vector<double> ns;
  double allocs = 0;
  for (const Result& r : runs) {
    ns.push_back(r.ns_per_packet);
    allocs = std::max(allocs, r.allocs_per_packet);
  }
  const Summary s{median(ns), *std::min_element(ns.begin(), ns.end()), *std::max_element(ns.begin(), ns.end()),
                  allocs};
  std::printf("%-28s %8.1f ns/pkt  %6.2f Mpps/core  x%.2f of baseline  allocs/pkt=%.4f  (min %.1f max %.1f)\n",
              name, s.median_ns, 1e3 / s.median_ns, s.median_ns / baseline_ns, allocs, s.min_ns, s.max_ns);
  return s;
}

// Packets per second as a figure: the median, and the spread of the runs.
void mpps_figure(const char* name, const Summary& s) {
  std::printf("spread %s %.3f %.3f\nfigure %s %.3f Mpps\n", name, 1e3 / s.max_ns, 1e3 / s.min_ns, name,
              1e3 / s.median_ns);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--quick") {
    packets_per_run = 300'000;
    run_count = 3;
  }
  Bench b;
  std::vector<uint8_t> small(18, 'x'), large(1400, 'y');
  const auto udp_small = b.peer.udp(b.mac, b.ip, 5000, 7000, small);   // 64-byte frame
  const auto udp_large = b.peer.udp(b.mac, b.ip, 5000, 7000, large);
  const auto echo = b.peer.icmp_echo(b.mac, b.ip, 1, 1, small);
  const auto drain_tx = [&] { b.nic->wire_collect([](std::span<const uint8_t>) {}); };

  // Warm-up (pool, caches, hash tables), outside the measurements.
  b.run(udp_small, [&] { b.poll_all(); });
  b.run(echo, [&] { b.poll_all(); drain_tx(); });

  std::vector<Result> base, us, ul, ic;
  for (int r = 0; r < run_count; ++r) {
    // Baseline: the port alone — DMA into the ring, rx_burst, release.
    base.push_back(b.run(udp_small, [&] {
      inlet::PacketRef batch[64];
      while (b.nic->rx_burst(batch) > 0) {
        for (auto& p : batch) p.reset();
      }
    }));
    us.push_back(b.run(udp_small, [&] { b.poll_all(); }));
    ul.push_back(b.run(udp_large, [&] { b.poll_all(); }));
    ic.push_back(b.run(echo, [&] { b.poll_all(); drain_tx(); }));
  }
  std::vector<double> base_ns;
  for (const Result& r : base) base_ns.push_back(r.ns_per_packet);
  const double baseline = median(base_ns);
  std::printf("inlet rx_path benchmark: %zu packets x %d runs, bursts of %zu, medians\n", packets_per_run,
              run_count, kBurst);
  const Summary sb = report("baseline: sim port only", base, baseline);
  const Summary s64 = report("udp rx 64B frame + copy", us, baseline);
  const Summary s1442 = report("udp rx 1442B frame + copy", ul, baseline);
  const Summary secho = report("icmp echo -> reply", ic, baseline);
  std::printf("bytes read by the application: %llu\n",
              static_cast<unsigned long long>(b.bytes_read));
  std::printf("%s\n", b.stack->pool_line().c_str());
  const auto& c = b.stack->counters();
  std::printf("UdpInDatagrams=%llu IcmpOutEchoReps=%llu rx_nobuf=%llu\n",
              static_cast<unsigned long long>(c.get(inlet::Counter::UdpInDatagrams)),
              static_cast<unsigned long long>(c.get(inlet::Counter::IcmpOutEchoReps)),
              static_cast<unsigned long long>(c.get(inlet::Counter::rx_nobuf)));
  mpps_figure("sim_port_baseline_mpps", sb);
  mpps_figure("udp64_rx_mpps", s64);
  mpps_figure("udp1442_rx_mpps", s1442);
  mpps_figure("icmp_echo_mpps", secho);
  std::printf("figure allocs_per_packet_rx_path %.4f allocs\n",
              std::max({s64.allocs, s1442.allocs, secho.allocs}));
  return 0;
}

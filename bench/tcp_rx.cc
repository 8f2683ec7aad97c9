// TCP receive benchmark through the sim port: one established connection, a
// scripted sender, checksums verified in software, every byte read by the
// application (one copy, or zero-copy). Patterns: in order; 1 in 50 segments
// late by 8; whole 1 MiB windows delivered in reverse; odd segments first
// (a hole after every segment). Reports ns per 1460-byte segment, Gbit/s of
// payload per core, the ratio to in-order copy measured in the same process,
// and heap allocations per segment. Medians of several runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <vector>

#include "alloc_counter.h"
#include "api/stack.h"
#include "ports/sim/sim_peer.h"
#include "ports/sim/sim_port.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace inlet;

constexpr uint32_t kMss = 1460;
constexpr size_t kWindowSegments = 718;  // ~1 MiB of payload
constexpr size_t kSegmentsPerRun = 200 * kWindowSegments;
constexpr int kRuns = 5;

enum class Pattern { kInOrder, kLateEvery50, kReversedWindow, kOddThenEven };

struct Fixture {
  ManualClock clock;
  std::unique_ptr<Stack> stack;
  sim::SimPort* nic = nullptr;
  wire::MacAddress mac;
  wire::Ipv4Address ip = *wire::Ipv4Address::parse("192.0.2.2");
  sim::SimPeer peer{*wire::MacAddress::parse("02:00:00:00:00:01"),
                    *wire::Ipv4Address::parse("192.0.2.1")};
  tcp::TcpSocket* sock = nullptr;
  uint32_t seq = 0;  // next sequence number the sender sends
  uint32_t right_edge = 0;  // what the receiver's last ACK allows
  uint8_t rcv_wscale = 0;  // inlet's window scale, from its SYN-ACK
  uint32_t ack = 0;
  uint64_t read_bytes = 0;
  std::vector<uint8_t> app_buf = std::vector<uint8_t>(256 * 1024);
  std::vector<uint8_t> payload = std::vector<uint8_t>(kMss);

  Fixture() {
    Tunables t;
    t.set(Tunable::kPoolBuffers, 8192);
    (void)t.set("net.ipv4.tcp_rmem", "4096 8388608 16777216");
    (void)t.set("net.core.rmem_max", "16777216");
    stack = std::make_unique<Stack>(t, &clock);
    auto port = std::make_unique<sim::SimPort>(
        sim::SimPortConfig{.name = "sim0", .rx_ring_size = 2048, .tx_ring_size = 2048});
    nic = port.get();
    mac = (*stack->add_interface(std::move(port), {.addresses = {{ip, 24}}}))->mac();
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
    nic->wire_receive(peer.arp_request(ip));
    stack->poll();
    nic->wire_collect_all();
    auto l = *stack->tcp_listen(wire::kIpv4Any, 5001);
    wire::TcpRepr syn;
    syn.src_port = 40000;
    syn.dst_port = 5001;
    syn.seq = 0xFFFF0000u;  // the run crosses the 2^32 wrap
    syn.flags = wire::tcpflag::kSyn;
    syn.window = 65535;
    syn.options.mss = kMss;
    syn.options.window_scale = 7;
    syn.options.sack_permitted = true;
    nic->wire_receive(peer.tcp(mac, ip, syn, {}));
    stack->poll();
    uint32_t iss = 0;
    nic->wire_collect([&](std::span<const uint8_t> f) {
      auto eth = wire::EthernetView::parse(f);
      auto v4 = wire::Ipv4View::parse(eth->payload());
      auto syn_ack = wire::TcpView::parse(v4->payload());
      iss = syn_ack->seq();
      rcv_wscale = syn_ack->options().window_scale.value_or(0);
    });
    seq = syn.seq + 1;
    ack = iss + 1;
    right_edge = seq + 65535;  // the SYN-ACK's window is never scaled
    nic->wire_receive(peer.tcp(mac, ip, segment_header(0), {}));
    stack->poll();
    sock = l->accept();
  }
  ~Fixture() { stack->shutdown(); }

  wire::TcpRepr segment_header(uint32_t offset) const {
    wire::TcpRepr h;
    h.src_port = 40000;
    h.dst_port = 5001;
    h.seq = seq + offset;
    h.ack = ack;
    h.flags = wire::tcpflag::kAck;
    h.window = 4096;
    return h;
  }

  // Reads inlet's ACKs: the right edge of the window it offers.
  void collect_acks() {
    nic->wire_collect([&](std::span<const uint8_t> fr) {
      auto eth = wire::EthernetView::parse(fr);
      if (!eth) return;
      auto v4 = wire::Ipv4View::parse(eth->payload());
      if (!v4) return;
      auto t = wire::TcpView::parse(v4->payload());
      if (!t || !t->ack_flag()) return;
      const uint32_t edge = t->ack() + (uint32_t{t->window()} << rcv_wscale);
      if (static_cast<int32_t>(edge - right_edge) > 0) right_edge = edge;
    });
  }

  // A real sender starts inside the SYN-ACK's 64 KiB and grows with the
  // windows inlet advertises: send in order, within the window, until the
  // offer exceeds what the measured patterns need (2 MiB).
  void open_window() {
    for (int i = 0; i < 100000 && static_cast<int32_t>(right_edge - seq) < (2 << 20); ++i) {
      if (static_cast<int32_t>(right_edge - seq) >= static_cast<int32_t>(kMss)) {
        nic->wire_receive(peer.tcp(mac, ip, segment_header(0), payload));
        seq += kMss;
      }
      while (stack->poll() > 0 || stack->has_work()) {
      }
      while (size_t got = sock->read(app_buf)) read_bytes += got;
      stack->poll();  // the window update a read earns
      collect_acks();
    }
    opening_bytes = read_bytes;
  }
  uint64_t opening_bytes = 0;

  // Returns nanoseconds spent in the stack and the application for n segments.
  double run(Pattern pattern, bool zero_copy, size_t n, uint64_t* allocs) {
    std::vector<sim::Frame> batch;
    std::vector<size_t> order;
    double ns = 0;
    uint64_t a = 0;
    for (size_t done = 0; done < n; done += kWindowSegments) {
      batch.clear();
      if (static_cast<int32_t>(right_edge - seq) < static_cast<int32_t>(kWindowSegments * kMss)) {
        std::printf("ERROR: inlet offers %d bytes, the pattern needs %u\n",
                    static_cast<int32_t>(right_edge - seq), static_cast<unsigned>(kWindowSegments * kMss));
        std::exit(1);
      }
      for (size_t i = 0; i < kWindowSegments; ++i) {
        batch.push_back(peer.tcp(mac, ip, segment_header(static_cast<uint32_t>(i * kMss)), payload));
      }
      order.resize(kWindowSegments);
      std::iota(order.begin(), order.end(), 0);
      switch (pattern) {
        case Pattern::kInOrder: break;
        case Pattern::kLateEvery50:
          for (size_t i = 0; i + 8 < order.size(); i += 50) std::rotate(&order[i], &order[i + 1], &order[i + 9]);
          break;
        case Pattern::kReversedWindow: std::reverse(order.begin(), order.end()); break;
        case Pattern::kOddThenEven:
          std::stable_partition(order.begin(), order.end(), [](size_t i) { return i % 2 == 1; });
          break;
      }
      const uint64_t a0 = bench::allocations();
      const auto t0 = Clock::now();
      for (size_t k = 0; k < order.size();) {
        // Bursts of 64 frames per poll, as a NIC ring would deliver them.
        const size_t end = std::min(order.size(), k + 64);
        for (; k < end; ++k) nic->wire_receive(batch[order[k]]);
        while (stack->poll() > 0 || stack->has_work()) {
        }
        if (zero_copy) {
          while (auto c = sock->read_zerocopy()) read_bytes += c->bytes.size();
        } else {
          while (size_t got = sock->read(app_buf)) read_bytes += got;
        }
        collect_acks();
      }
      ns += std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
      a += bench::allocations() - a0;
      seq += static_cast<uint32_t>(kWindowSegments * kMss);
    }
    if (allocs != nullptr) *allocs += a;
    return ns;
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main() {
  Fixture f;
  struct Case {
    const char* name;
    Pattern pattern;
    bool zero_copy;
  };
  const Case cases[] = {
      {"in order, copy", Pattern::kInOrder, false},
      {"in order, zero-copy", Pattern::kInOrder, true},
      {"1 in 50 late by 8, copy", Pattern::kLateEvery50, false},
      {"1 MiB window reversed, copy", Pattern::kReversedWindow, false},
      {"odd segments first, copy", Pattern::kOddThenEven, false},
  };
  f.open_window();
  f.run(Pattern::kInOrder, false, 20 * kWindowSegments, nullptr);  // warm-up
  std::vector<std::vector<double>> ns(std::size(cases));
  std::vector<uint64_t> allocs(std::size(cases));
  for (int r = 0; r < kRuns; ++r) {
    for (size_t c = 0; c < std::size(cases); ++c) {
      const uint64_t before = f.read_bytes;
      ns[c].push_back(f.run(cases[c].pattern, cases[c].zero_copy, kSegmentsPerRun, &allocs[c]) /
                      kSegmentsPerRun);
      if (f.read_bytes - before != uint64_t{kMss} * kSegmentsPerRun) {
        std::printf("run %d case '%s': read %llu of %llu bytes\n", r, cases[c].name,
                    static_cast<unsigned long long>(f.read_bytes - before),
                    static_cast<unsigned long long>(uint64_t{kMss} * kSegmentsPerRun));
      }
    }
  }
  const double base = median(ns[0]);
  std::printf("inlet tcp_rx benchmark: %zu segments of %u bytes x %d runs, checksums verified, medians\n",
              kSegmentsPerRun, kMss, kRuns);
  for (size_t c = 0; c < std::size(cases); ++c) {
    const double m = median(ns[c]);
    std::printf("%-30s %7.1f ns/seg  %6.2f Gbit/s  %5.2f Mseg/s  x%.2f of in-order copy  allocs/seg=%.4f\n",
                cases[c].name, m, kMss * 8 / m, 1e3 / m, m / base,
                static_cast<double>(allocs[c]) / (kRuns * kSegmentsPerRun));
  }
  const auto& c = f.stack->counters();
  std::printf("read=%llu bytes, TcpExtTCPOFOQueue=%llu TcpExtTCPOFODrop=%llu TcpExtTCPHPHits=%llu "
              "TcpOutSegs=%llu rcvbuf=%zu\n",
              static_cast<unsigned long long>(f.read_bytes),
              static_cast<unsigned long long>(c.get(Counter::TcpExtTCPOFOQueue)),
              static_cast<unsigned long long>(c.get(Counter::TcpExtTCPOFODrop)),
              static_cast<unsigned long long>(c.get(Counter::TcpExtTCPHPHits)),
              static_cast<unsigned long long>(c.get(Counter::TcpOutSegs)), f.sock->receive_buffer());
  std::printf("%s\n", f.stack->pool_line().c_str());
  const uint64_t expected =
      f.opening_bytes + static_cast<uint64_t>(kMss) * (20 + kRuns * std::size(cases) * 200) * kWindowSegments;
  if (f.read_bytes != expected) {
    std::printf("%s", f.stack->report().c_str());
    std::printf("ERROR: read %llu bytes, expected %llu\n", static_cast<unsigned long long>(f.read_bytes),
                static_cast<unsigned long long>(expected));
    return 1;
  }
  return 0;
}

// TCP receive benchmark through the sim port: one established connection, a
// scripted sender, checksums verified in software, every byte read by the
// application (one copy, or zero-copy). Patterns: in order; 1 in 50 segments
// late by 8; whole 1 MiB windows delivered in reverse; odd segments first
// (a hole after every segment); in order as 64 KiB super-frames (LRO/TSO
// style, checksum verified across the chain, or trusted as the port's
// CHECKSUM_UNNECESSARY). Reports ns per 1460-byte segment, Gbit/s of
// payload per core, the ratio to in-order copy measured in the same run, heap
// allocations per segment, and the sim port alone with the same frames (its
// copy into the ring is what a NIC's DMA would do). Timed in this thread's
// CPU time; medians of several runs, each interleaving the cases in chunks of
// 10 windows (ratios are taken within each run, then their median). `--quick`: fewer and shorter runs; `--inorder-only`: the
// in-order copy case alone (for perf record). Ends with `spread NAME MIN MAX`
// and `figure NAME VALUE UNIT` lines (read by scripts/bench-table).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "alloc_counter.h"
#include "api/stack.h"
#include "ports/sim/sim_peer.h"
#include "ports/sim/sim_port.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace {

using CpuClock = inlet::bench::ThreadCpuClock;  // CPU time of this thread
using namespace inlet;

constexpr uint32_t kMss = 1460;
constexpr size_t kWindowSegments = 718;  // ~1 MiB of payload
size_t windows_per_run = 140;  // a multiple of 10; fewer with --quick
int run_count = 7;

// kSuperFrames: in order, each window's 718 segments as 64 KiB TCP
// super-frames (16 of 44 segments, one of 14), scattered over descriptors as
// a NIC with LRO (or a TAP with TSO from its sender) hands them over.
enum class Pattern { kInOrder, kLateEvery50, kReversedWindow, kOddThenEven, kSuperFrames };
constexpr size_t kSegmentsPerSuperFrame = 44;  // 64,240 bytes of payload

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

  // The sim port alone with the same frames: copied into the ring (the DMA a
  // NIC would do), taken by rx_burst and released; no protocol work. Returns
  // nanoseconds for n segments.
  double run_port_only(size_t n) {
    std::vector<sim::Frame> batch;
    double ns = 0;
    for (size_t done = 0; done < n; done += kWindowSegments) {
      batch.clear();
      for (size_t i = 0; i < kWindowSegments; ++i) {
        batch.push_back(peer.tcp(mac, ip, segment_header(static_cast<uint32_t>(i * kMss)), payload));
      }
      const auto t0 = CpuClock::now();
      for (size_t k = 0; k < batch.size();) {
        const size_t end = std::min(batch.size(), k + 64);
        for (; k < end; ++k) nic->wire_receive(batch[k]);
        PacketRef taken[64];
        while (size_t got = nic->rx_burst(taken)) {
          for (size_t i = 0; i < got; ++i) taken[i].reset();
        }
      }
      ns += std::chrono::duration<double, std::nano>(CpuClock::now() - t0).count();
    }
    return ns;
  }

  // In order as super-frames; `port_csum` is the checksum state the port
  // reports with each (kNone: TCP verifies it across the chain's buffers).
  double run_superframes(size_t n, ChecksumState port_csum, uint64_t* allocs) {
    std::vector<sim::Frame> batch;
    std::vector<uint16_t> segs;
    double ns = 0;
    uint64_t a = 0;
    for (size_t done = 0; done < n; done += kWindowSegments) {
      batch.clear();
      segs.clear();
      if (static_cast<int32_t>(right_edge - seq) < static_cast<int32_t>(kWindowSegments * kMss)) {
        std::printf("ERROR: inlet offers %d bytes, the pattern needs %u\n",
                    static_cast<int32_t>(right_edge - seq), static_cast<unsigned>(kWindowSegments * kMss));
        std::exit(1);
      }
      for (size_t i = 0; i < kWindowSegments; i += kSegmentsPerSuperFrame) {
        const size_t k = std::min(kSegmentsPerSuperFrame, kWindowSegments - i);
        batch.push_back(peer.tcp(mac, ip, segment_header(static_cast<uint32_t>(i * kMss)),
                                 std::span<const uint8_t>(super_payload).first(k * kMss)));
        segs.push_back(static_cast<uint16_t>(k));
      }
      const uint64_t a0 = bench::allocations();
      const auto t0 = CpuClock::now();
      for (size_t i = 0; i < batch.size(); ++i) {
        if (!nic->wire_receive_scattered(batch[i], {.csum = port_csum, .gso_size = kMss, .gso_segs = segs[i]})) {
          std::printf("ERROR: the sim port refused a super-frame\n");
          std::exit(1);
        }
      }
      while (stack->poll() > 0 || stack->has_work()) {
      }
      while (size_t got = sock->read(app_buf)) read_bytes += got;
      collect_acks();
      ns += std::chrono::duration<double, std::nano>(CpuClock::now() - t0).count();
      a += bench::allocations() - a0;
      seq += static_cast<uint32_t>(kWindowSegments * kMss);
    }
    if (allocs != nullptr) *allocs += a;
    return ns;
  }
  std::vector<uint8_t> super_payload = std::vector<uint8_t>(kSegmentsPerSuperFrame * kMss, 0x5a);

  // Returns nanoseconds spent in the stack and the application for n segments.
  double run(Pattern pattern, bool zero_copy, size_t n, uint64_t* allocs,
             ChecksumState port_csum = ChecksumState::kNone) {
    if (pattern == Pattern::kSuperFrames) return run_superframes(n, port_csum, allocs);
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
        case Pattern::kSuperFrames: break;  // run_superframes()
      }
      const uint64_t a0 = bench::allocations();
      const auto t0 = CpuClock::now();
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
      ns += std::chrono::duration<double, std::nano>(CpuClock::now() - t0).count();
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

int main(int argc, char** argv) {
  constexpr size_t kAllCases = 8;
  size_t case_count = kAllCases;
  if (argc > 1 && std::string(argv[1]) == "--quick") {
    windows_per_run = 40;
    run_count = 5;
  }
  if (argc > 1 && std::string(argv[1]) == "--inorder-only") case_count = 1;
  const size_t segments_per_run = windows_per_run * kWindowSegments;
  Fixture f;
  struct Case {
    const char* name;
    Pattern pattern;
    bool zero_copy;
    ChecksumState port_csum = ChecksumState::kNone;
    bool gro = false;  // inlet.gro: software GRO within each burst
  };
  const Case cases[] = {
      {"in order, copy", Pattern::kInOrder, false},
      {"in order, zero-copy", Pattern::kInOrder, true},
      {"1 in 50 late by 8, copy", Pattern::kLateEvery50, false},
      {"1 MiB window reversed, copy", Pattern::kReversedWindow, false},
      {"odd segments first, copy", Pattern::kOddThenEven, false},
      {"64 KiB super-frames, copy", Pattern::kSuperFrames, false},
      {"super-frames, csum trusted", Pattern::kSuperFrames, false, ChecksumState::kUnnecessary},
      {"in order, copy, GRO", Pattern::kInOrder, false, ChecksumState::kNone, true},
  };
  static_assert(std::size(cases) == kAllCases);
  f.open_window();
  f.run(Pattern::kInOrder, false, 20 * kWindowSegments, nullptr);  // warm-up
  std::vector<std::vector<double>> ns(case_count), ratio(case_count);
  std::vector<uint64_t> allocs(case_count);
  std::vector<double> port_only, stack_only;  // the sim port alone; in-order copy less it
  // Each run interleaves the cases (and the port alone) in chunks of 10
  // windows, so that the machine's load drifts over all of them alike.
  constexpr size_t kChunkWindows = 10;
  const size_t chunk = kChunkWindows * kWindowSegments;
  for (int r = 0; r < run_count; ++r) {
    double port_ns = 0;
    std::vector<double> case_ns(case_count);
    std::vector<uint64_t> case_read(case_count);
    for (size_t w = 0; w < windows_per_run; w += kChunkWindows) {
      if (case_count == kAllCases) port_ns += f.run_port_only(chunk);  // not under --inorder-only (a profile of the stack)
      for (size_t c = 0; c < case_count; ++c) {
        const uint64_t before = f.read_bytes;
        if (!f.stack->set_runtime_tunable(Tunable::kGro, cases[c].gro ? 1 : 0).ok()) return 1;
        case_ns[c] += f.run(cases[c].pattern, cases[c].zero_copy, chunk, &allocs[c], cases[c].port_csum);
        case_read[c] += f.read_bytes - before;
      }
    }
    for (size_t c = 0; c < case_count; ++c) {
      ns[c].push_back(case_ns[c] / static_cast<double>(segments_per_run));
      ratio[c].push_back(case_ns[c] / case_ns[0]);  // against this run's in-order copy
      if (case_read[c] != uint64_t{kMss} * segments_per_run) {
        std::printf("run %d case '%s': read %llu of %llu bytes\n", r, cases[c].name,
                    static_cast<unsigned long long>(case_read[c]),
                    static_cast<unsigned long long>(uint64_t{kMss} * segments_per_run));
      }
    }
    if (case_count == kAllCases) {
      port_only.push_back(port_ns / static_cast<double>(segments_per_run));
      stack_only.push_back(ns[0].back() - port_only.back());
    }
  }
  std::printf("inlet tcp_rx benchmark: %zu segments of %u bytes x %d runs, checksums verified, medians\n",
              segments_per_run, kMss, run_count);
  double max_allocs = 0;
  for (size_t c = 0; c < case_count; ++c) {
    const double m = median(ns[c]);
    const double a = static_cast<double>(allocs[c]) / static_cast<double>(run_count * segments_per_run);
    max_allocs = std::max(max_allocs, a);
    std::printf("%-30s %7.1f ns/seg  %6.2f Gbit/s  %5.2f Mseg/s  x%.2f of in-order copy  allocs/seg=%.4f"
                "  (min %.1f max %.1f)\n",
                cases[c].name, m, kMss * 8 / m, 1e3 / m, median(ratio[c]), a,
                *std::min_element(ns[c].begin(), ns[c].end()), *std::max_element(ns[c].begin(), ns[c].end()));
  }
  if (!port_only.empty()) {
    std::printf("%-30s %7.1f ns/seg  (min %.1f max %.1f); in-order copy less it: %.1f ns/seg\n",
                "sim port alone, same frames", median(port_only),
                *std::min_element(port_only.begin(), port_only.end()),
                *std::max_element(port_only.begin(), port_only.end()), median(stack_only));
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
  // Figures: each with the spread of its runs.
  const auto figure = [](const char* name, const std::vector<double>& runs, const char* unit, auto transform) {
    std::vector<double> v;
    for (double x : runs) v.push_back(transform(x));
    std::printf("spread %s %.3f %.3f\nfigure %s %.3f %s\n", name, *std::min_element(v.begin(), v.end()),
                *std::max_element(v.begin(), v.end()), name, median(v), unit);
  };
  const auto same = [](double x) { return x; };
  figure("tcp_inorder_ns_per_seg", ns[0], "ns", same);
  figure("tcp_inorder_gbps", ns[0], "Gbit/s", [](double x) { return kMss * 8 / x; });
  if (case_count == kAllCases) {
    figure("tcp_sim_port_ns_per_seg", port_only, "ns", same);
    figure("tcp_inorder_less_port_ns_per_seg", stack_only, "ns", same);
    figure("tcp_zerocopy_mseg_per_s", ns[1], "Mseg/s", [](double x) { return 1e3 / x; });
    figure("tcp_late1in50_ratio", ratio[2], "x", same);
    figure("tcp_reversed_ratio", ratio[3], "x", same);
    figure("tcp_oddfirst_ratio", ratio[4], "x", same);
    figure("tcp_superframe_ns_per_seg", ns[5], "ns", same);
    figure("tcp_superframe_ratio", ratio[5], "x", same);
    figure("tcp_superframe_csum_trusted_ns_per_seg", ns[6], "ns", same);
    figure("tcp_superframe_csum_trusted_ratio", ratio[6], "x", same);
    figure("tcp_gro_ns_per_seg", ns[7], "ns", same);
    figure("tcp_gro_ratio", ratio[7], "x", same);
  }
  std::printf("figure allocs_per_packet_tcp_rx %.4f allocs\n", max_allocs);
  const uint64_t expected =
      f.opening_bytes +
      static_cast<uint64_t>(kMss) * (20 + static_cast<uint64_t>(run_count) * case_count * windows_per_run) *
          kWindowSegments;
  if (f.read_bytes != expected) {
    std::printf("%s", f.stack->report().c_str());
    std::printf("ERROR: read %llu bytes, expected %llu\n", static_cast<unsigned long long>(f.read_bytes),
                static_cast<unsigned long long>(expected));
    return 1;
  }
  return 0;
}

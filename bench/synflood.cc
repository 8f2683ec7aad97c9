// SYN-flood benchmark through the sim port: a listener with
// net.ipv4.tcp_syncookies=2 (every SYN answered with a cookie, no state) takes
// SYNs from random sources and ports (Linux-like options: MSS, SACK,
// timestamps, window scale) in bursts of 64 as fast as one core can; one
// established flow receives 1460-byte segments (checksums verified, one copy
// to the application) interleaved one per 8 SYNs.
//
// Three kinds of run alternate so that load drifts over all alike, each the
// same number of polls: SYNs only (64 per poll), the flow only (8 segments per
// poll), and both mixed in the same polls (8 SYNs, 1 segment, ...). The flow's
// cost under flood is (mixed - SYNs only) / segments, compared to the flow
// alone: the ratio says whether the flood slows the flow beyond the core time
// the SYNs themselves take. Times are this thread's CPU time (the machine is
// shared). Every SYN-ACK is counted on the wire; after the runs a few cookies
// are completed with a third ACK and must each yield an accepted connection.
// Medians of several runs, heap allocations per SYN, `figure` lines.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
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

using namespace inlet;

constexpr uint32_t kMss = 1460;
constexpr uint16_t kListenPort = 5001;
constexpr uint16_t kFlowPort = 40000;
constexpr size_t kSynsPerSegment = 8;
constexpr size_t kSegmentsPerPoll = 8;
constexpr size_t kSynsPerPoll = kSynsPerSegment * kSegmentsPerPoll;  // 64
constexpr size_t kDistinctSyns = 1 << 16;
// Offsets in the frames inlet sends (Ethernet, a 20-byte IPv4 header, TCP).
constexpr size_t kTcpOffset = 14 + 20;

double cpu_ns() {
  return static_cast<double>(bench::ThreadCpuClock::now().time_since_epoch().count());
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct SynSource {
  wire::Ipv4Address ip;
  uint16_t port;
  uint32_t isn;
  uint32_t tsval;
};

struct Flood {
  ManualClock clock;
  std::unique_ptr<Stack> stack;
  sim::SimPort* nic = nullptr;
  wire::MacAddress mac;
  wire::Ipv4Address ip = *wire::Ipv4Address::parse("192.0.2.2");
  sim::SimPeer gateway{*wire::MacAddress::parse("02:00:00:00:00:01"), *wire::Ipv4Address::parse("192.0.2.1")};
  tcp::TcpListener* listener = nullptr;
  tcp::TcpSocket* flow = nullptr;
  // The flow's sender.
  uint32_t seq = 0, ack = 0, right_edge = 0;
  uint8_t rcv_wscale = 0;
  uint64_t read_bytes = 0, sent_bytes = 0;
  std::vector<uint8_t> app_buf = std::vector<uint8_t>(256 * 1024);
  std::vector<uint8_t> payload = std::vector<uint8_t>(kMss);
  // The flood.
  std::vector<sim::Frame> syns;
  std::vector<SynSource> sources;
  size_t next_syn = 0;
  uint64_t synacks = 0, flow_acks = 0, other_frames = 0;

  Flood() {
    Tunables t;
    t.set(Tunable::kPoolBuffers, 8192);
    t.set(Tunable::kTcpSyncookies, 2);
    (void)t.set("net.ipv4.tcp_rmem", "4096 8388608 16777216");
    (void)t.set("net.core.rmem_max", "16777216");
    stack = std::make_unique<Stack>(t, &clock);
    auto port = std::make_unique<sim::SimPort>(
        sim::SimPortConfig{.name = "sim0", .rx_ring_size = 2048, .tx_ring_size = 2048});
    nic = port.get();
    mac = (*stack->add_interface(std::move(port), {.addresses = {{ip, 24}}}))->mac();
    // The flood comes from everywhere, through the gateway.
    if (!stack->set_default_gateway(gateway.ip()).ok()) fail("default route refused");
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
    nic->wire_receive(gateway.arp_request(ip));
    stack->poll();
    nic->wire_collect_all();
    listener = *stack->tcp_listen(wire::kIpv4Any, kListenPort);
    build_syns();
    open_flow();
  }
  ~Flood() { stack->shutdown(); }

  [[noreturn]] static void fail(const std::string& why) {
    std::printf("ERROR: %s\n", why.c_str());
    std::exit(1);
  }

  // `ts` 0: no timestamps option.
  static wire::TcpRepr syn_header(uint16_t sport, uint32_t isn, uint32_t ts) {
    wire::TcpRepr syn;
    syn.src_port = sport;
    syn.dst_port = kListenPort;
    syn.seq = isn;
    syn.flags = wire::tcpflag::kSyn;
    syn.window = 64240;
    syn.options.mss = kMss;
    syn.options.window_scale = 7;
    syn.options.sack_permitted = true;
    if (ts != 0) syn.options.timestamps = wire::TcpTimestamps{ts, 0};
    return syn;
  }

  // Sources uniform over 1.0.0.0 - 126.255.255.255 (routed via the gateway),
  // random ports, ISNs and TSvals.
  void build_syns() {
    std::mt19937 rng(11);
    syns.reserve(kDistinctSyns);
    for (size_t i = 0; i < kDistinctSyns; ++i) {
      const SynSource s{wire::Ipv4Address(0x01000000u + static_cast<uint32_t>(rng() % (126u << 24))),
                        static_cast<uint16_t>(1024 + rng() % 64000), static_cast<uint32_t>(rng()),
                        static_cast<uint32_t>(rng())};
      sim::SimPeer host(gateway.mac(), s.ip);
      syns.push_back(host.tcp(mac, ip, syn_header(s.port, s.isn, s.tsval), {}));
      sources.push_back(s);
    }
  }

  // The established flow: a cookie handshake (mode 2 answers every SYN with
  // a cookie). No timestamps, so that segments carry 1460 bytes in a
  // 1500-byte MTU; a cookie then carries no window scale, and the unscaled
  // 64 KiB window is ample for 8 segments per poll read at once.
  void open_flow() {
    nic->wire_receive(gateway.tcp(mac, ip, syn_header(kFlowPort, 0xFFFF0000u, 0), {}));
    stack->poll();
    uint32_t iss = 0;
    bool got = false;
    nic->wire_collect([&](std::span<const uint8_t> f) {
      auto eth = wire::EthernetView::parse(f);
      auto v4 = wire::Ipv4View::parse(eth->payload());
      auto syn_ack = wire::TcpView::parse(v4->payload());
      if (!syn_ack || !syn_ack->syn() || !syn_ack->ack_flag()) return;
      got = true;
      iss = syn_ack->seq();
      rcv_wscale = syn_ack->options().window_scale.value_or(0);
    });
    if (!got) fail("no SYN-ACK for the flow");
    seq = 0xFFFF0000u + 1;
    ack = iss + 1;
    right_edge = seq + 65535;
    nic->wire_receive(gateway.tcp(mac, ip, segment_header(), {}));
    stack->poll();
    flow = listener->accept();
    if (flow == nullptr) fail("the flow's cookie was not accepted");
    collect();
    // Grow the window a real sender would see before measuring.
    for (int i = 0; i < 2000; ++i) flow_poll(kSegmentsPerPoll);
    if (!delivered()) fail("the flow lost data while opening");
  }

  wire::TcpRepr segment_header() {
    wire::TcpRepr h;
    h.src_port = kFlowPort;
    h.dst_port = kListenPort;
    h.seq = seq;
    h.ack = ack;
    h.flags = wire::tcpflag::kAck;
    h.window = 4096;
    return h;
  }

  // The next in-order segment of the flow. Segments are built ahead of a
  // run; each poll's 8 fit the window the previous poll's ACK offered (the
  // application reads everything after each poll), which delivered() checks.
  sim::Frame next_segment() {
    sim::Frame f = gateway.tcp(mac, ip, segment_header(), payload);
    seq += kMss;
    sent_bytes += kMss;
    return f;
  }

  // Counts what inlet transmitted: SYN-ACKs to the flood, ACKs to the flow
  // (whose windows move the sender's right edge). Cheap byte checks, as they
  // run inside the timed region.
  void collect() {
    nic->wire_collect([&](std::span<const uint8_t> f) {
      if (f.size() < kTcpOffset + 20 || f[12] != 0x08 || f[13] != 0x00 || f[14 + 9] != 6) {
        ++other_frames;
        return;
      }
      const uint8_t* tcp = f.data() + kTcpOffset;
      const uint8_t flags = tcp[13];
      const uint16_t dport = static_cast<uint16_t>(tcp[2] << 8 | tcp[3]);
      if ((flags & (wire::tcpflag::kSyn | wire::tcpflag::kAck)) == (wire::tcpflag::kSyn | wire::tcpflag::kAck)) {
        ++synacks;
      } else if (dport == kFlowPort && (flags & wire::tcpflag::kAck) != 0) {
        ++flow_acks;
        const uint32_t a = static_cast<uint32_t>(tcp[8] << 24 | tcp[9] << 16 | tcp[10] << 8 | tcp[11]);
        const uint32_t w = static_cast<uint32_t>(tcp[14] << 8 | tcp[15]);
        const uint32_t edge = a + (w << rcv_wscale);
        if (static_cast<int32_t>(edge - right_edge) > 0) right_edge = edge;
      } else {
        ++other_frames;
      }
    });
  }

  void poll_and_read() {
    while (stack->poll() > 0 || stack->has_work()) {
    }
    while (size_t got = flow->read(app_buf)) read_bytes += got;
    collect();
  }
  // Every byte sent so far was read, and the window still covers 8 more.
  bool delivered() const {
    return read_bytes == sent_bytes &&
           static_cast<int32_t>(right_edge - seq) >= static_cast<int32_t>(kSegmentsPerPoll * kMss);
  }

  void flow_poll(size_t segments) {
    for (size_t i = 0; i < segments; ++i) nic->wire_receive(next_segment());
    poll_and_read();
  }

  const sim::Frame& next_syn_frame() {
    const sim::Frame& f = syns[next_syn];
    next_syn = (next_syn + 1) % syns.size();
    return f;
  }

  enum class Kind { kSynsOnly, kFlowOnly, kMixed };

  // `polls` polls of the given kind; returns CPU ns. The flow's segments are
  // built before the clock starts (their checksums are the sender's cost).
  double run(Kind kind, size_t polls, uint64_t* allocs) {
    segs.clear();
    if (kind != Kind::kSynsOnly) {
      for (size_t i = 0; i < polls * kSegmentsPerPoll; ++i) segs.push_back(next_segment());
    }
    const uint64_t a0 = bench::allocations();
    const double t0 = cpu_ns();
    size_t k = 0;
    for (size_t p = 0; p < polls; ++p) {
      switch (kind) {
        case Kind::kSynsOnly:
          for (size_t i = 0; i < kSynsPerPoll; ++i) nic->wire_receive(next_syn_frame());
          break;
        case Kind::kFlowOnly:
          for (size_t i = 0; i < kSegmentsPerPoll; ++i) nic->wire_receive(segs[k++]);
          break;
        case Kind::kMixed:
          for (size_t i = 0; i < kSegmentsPerPoll; ++i) {
            for (size_t j = 0; j < kSynsPerSegment; ++j) nic->wire_receive(next_syn_frame());
            nic->wire_receive(segs[k++]);
          }
          break;
      }
      poll_and_read();
    }
    const double ns = cpu_ns() - t0;
    *allocs += bench::allocations() - a0;
    return ns;
  }
  std::vector<sim::Frame> segs;

  // Completes `n` fresh cookie handshakes one by one: each SYN-ACK must
  // answer its SYN (ack = ISN + 1, to the SYN's source) and the third ACK,
  // echoing the cookie's timestamp, must yield an accepted connection.
  int verify_cookies(int n) {
    int accepted = 0;
    for (int i = 0; i < n; ++i) {
      const size_t k = (next_syn + static_cast<size_t>(i) * 977) % syns.size();
      const SynSource& s = sources[k];
      nic->wire_receive(syns[k]);
      stack->poll();
      std::optional<wire::TcpRepr> third;
      nic->wire_collect([&](std::span<const uint8_t> f) {
        auto eth = wire::EthernetView::parse(f);
        if (!eth) return;
        auto v4 = wire::Ipv4View::parse(eth->payload());
        if (!v4 || v4->dst() != s.ip) return;
        auto sa = wire::TcpView::parse(v4->payload(), v4->src(), v4->dst());
        if (!sa || !sa->syn() || !sa->ack_flag() || sa->ack() != s.isn + 1 || sa->dst_port() != s.port) return;
        wire::TcpRepr h;
        h.src_port = s.port;
        h.dst_port = kListenPort;
        h.seq = s.isn + 1;
        h.ack = sa->seq() + 1;
        h.flags = wire::tcpflag::kAck;
        h.window = 502;
        if (sa->options().timestamps) h.options.timestamps = wire::TcpTimestamps{s.tsval + 1, sa->options().timestamps->value};
        third = h;
      });
      if (!third) continue;
      sim::SimPeer host(gateway.mac(), s.ip);
      nic->wire_receive(host.tcp(mac, ip, *third, {}));
      stack->poll();
      nic->wire_collect([](std::span<const uint8_t>) {});
      if (tcp::TcpSocket* c = listener->accept(); c != nullptr && c->from_syncookie()) ++accepted;
    }
    return accepted;
  }
};

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int runs = quick ? 3 : 7;
  const size_t polls = quick ? 1000 : 3000;  // 64 k / 192 k SYNs per run (multiples of 100)
  Flood f;
  uint64_t warm = 0;
  f.run(Flood::Kind::kMixed, polls / 2, &warm);  // warm-up
  const uint64_t synacks0 = f.synacks;
  const uint64_t cookies0 = f.stack->counters().get(Counter::TcpExtSyncookiesSent);
  const uint64_t read0 = f.read_bytes;
  std::vector<double> syn_ns, flow_ns, flow_under_flood_ns, ratio, mixed_syn_rate;
  uint64_t syn_allocs = 0, flow_allocs = 0, mixed_allocs = 0;
  // Each run alternates the three kinds in chunks of kChunk polls.
  constexpr size_t kChunk = 100;
  for (int r = 0; r < runs; ++r) {
    double s = 0, fl = 0, m = 0;
    for (size_t c = 0; c < polls; c += kChunk) {
      s += f.run(Flood::Kind::kSynsOnly, kChunk, &syn_allocs);
      fl += f.run(Flood::Kind::kFlowOnly, kChunk, &flow_allocs);
      m += f.run(Flood::Kind::kMixed, kChunk, &mixed_allocs);
      if (!f.delivered()) Flood::fail("the flow lost data or its window closed");
    }
    const double n_syn = static_cast<double>(polls * kSynsPerPoll);
    const double n_seg = static_cast<double>(polls * kSegmentsPerPoll);
    syn_ns.push_back(s / n_syn);
    flow_ns.push_back(fl / n_seg);
    flow_under_flood_ns.push_back((m - s) / n_seg);
    ratio.push_back((m - s) / fl);
    mixed_syn_rate.push_back(n_syn / m * 1e3);
  }
  const uint64_t total_syns = 2ull * static_cast<uint64_t>(runs) * polls * kSynsPerPoll;
  const uint64_t total_segs = 2ull * static_cast<uint64_t>(runs) * polls * kSegmentsPerPoll;
  const uint64_t synacks = f.synacks - synacks0;
  const uint64_t cookies = f.stack->counters().get(Counter::TcpExtSyncookiesSent) - cookies0;
  const int verified = f.verify_cookies(16);

  auto minmax = [](const std::vector<double>& v) { return std::minmax_element(v.begin(), v.end()); };
  const double syn_m = median(syn_ns);
  const double flow_m = median(flow_ns);
  const double under_m = median(flow_under_flood_ns);
  const double ratio_m = median(ratio);
  const double syn_allocs_per = static_cast<double>(syn_allocs + mixed_allocs) / static_cast<double>(total_syns + total_segs / 2);
  std::printf("inlet synflood benchmark: syncookies=2, %zu SYNs + %zu segments per poll, %zu polls x %d runs, "
              "thread CPU time, medians\n",
              kSynsPerPoll, kSegmentsPerPoll, polls, runs);
  auto [smin, smax] = minmax(syn_ns);
  std::printf("%-40s %7.1f ns/SYN  %6.2f M SYN/s  (min %.1f max %.1f)\n", "SYNs only (64 per poll)", syn_m,
              1e3 / syn_m, *smin, *smax);
  auto [fmin, fmax] = minmax(flow_ns);
  std::printf("%-40s %7.1f ns/seg  %6.2f Gbit/s  (min %.1f max %.1f)\n", "flow only (8 segments per poll)", flow_m,
              kMss * 8 / flow_m, *fmin, *fmax);
  auto [umin, umax] = minmax(flow_under_flood_ns);
  std::printf("%-40s %7.1f ns/seg  (min %.1f max %.1f)\n", "flow under flood (mixed - SYNs only)", under_m,
              *umin, *umax);
  auto [rmin, rmax] = minmax(ratio);
  std::printf("%-40s x%.2f  (min %.2f max %.2f)\n", "flow under flood / flow alone", ratio_m, *rmin, *rmax);
  std::printf("%-40s %6.2f M SYN/s while the flow runs\n", "mixed polls", median(mixed_syn_rate));
  std::printf("SYNs sent=%llu SYN-ACKs seen=%llu TcpExtSyncookiesSent=%llu other frames=%llu; flow: read %llu "
              "of %llu bytes, ACKs=%llu; cookies completed: %d of 16\n",
              static_cast<unsigned long long>(total_syns), static_cast<unsigned long long>(synacks),
              static_cast<unsigned long long>(cookies), static_cast<unsigned long long>(f.other_frames),
              static_cast<unsigned long long>(f.read_bytes - read0),
              static_cast<unsigned long long>(total_segs * kMss), static_cast<unsigned long long>(f.flow_acks),
              verified);
  std::printf("allocs: per packet %.4f (SYN-only and mixed runs), flow alone per segment %.4f\n", syn_allocs_per,
              static_cast<double>(flow_allocs) / static_cast<double>(total_segs / 2));
  std::printf("%s\n", f.stack->pool_line().c_str());
  std::printf("spread synflood_msyn_per_s %.3f %.3f\n", 1e3 / *smax, 1e3 / *smin);
  std::printf("figure synflood_msyn_per_s %.3f MSYN/s\n", 1e3 / syn_m);
  std::printf("spread synflood_ns_per_syn %.1f %.1f\nfigure synflood_ns_per_syn %.1f ns\n", *smin, *smax, syn_m);
  std::printf("spread synflood_flow_ratio %.3f %.3f\n", *rmin, *rmax);
  std::printf("figure synflood_flow_ratio %.3f x\n", ratio_m);
  std::printf("figure synflood_synack_ratio %.4f x\n", static_cast<double>(synacks) / static_cast<double>(total_syns));
  std::printf("figure synflood_allocs_per_syn %.4f allocs\n",
              static_cast<double>(syn_allocs) / static_cast<double>(total_syns / 2));
  std::printf("figure allocs_per_packet_synflood %.4f allocs\n", syn_allocs_per);
  int rc = 0;
  if (synacks != total_syns || cookies != total_syns) {
    std::printf("ERROR: %llu SYNs but %llu SYN-ACKs and %llu cookies\n", static_cast<unsigned long long>(total_syns),
                static_cast<unsigned long long>(synacks), static_cast<unsigned long long>(cookies));
    rc = 1;
  }
  if (f.read_bytes - read0 != total_segs * kMss) {
    std::printf("ERROR: the flow lost data under the flood\n");
    rc = 1;
  }
  if (verified != 16) {
    std::printf("ERROR: only %d of 16 cookies completed a handshake\n", verified);
    rc = 1;
  }
  return rc;
}

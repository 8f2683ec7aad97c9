// inlet-replay: pushes a pcap capture through a configured stack and prints
// what happened — replay figures, counters (nstat format), the pool line.
// The stack's clock follows the capture's timestamps (--clock capture) or the
// host's monotonic time as the replay runs flat out (--clock fast);
// --promisc lets frames for any destination MAC reach the upper layers.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "api/stack.h"
#include "core/clock.h"
#include "core/port.h"
#include "examples/common/observability.h"
#include "ports/pcap/pcap_replay_port.h"

namespace {

[[noreturn]] void usage(const char* msg) {
  if (msg != nullptr) std::fprintf(stderr, "inlet-replay: %s\n", msg);
  std::fprintf(stderr,
               "usage: inlet-replay FILE.pcap [--addr A.B.C.D/P]... [--udp PORT]...\n"
               "                    [--sysctl key=value]... [--tx-pcap FILE] [--mac MAC]\n"
               "                    [--promisc] [--clock capture|fast]\n"
               "  --promisc        accept every destination MAC: unicast frames for other\n"
               "                   hosts are handed to the stack as addressed to the replay\n"
               "                   interface, so any capture reaches IPv4, TCP and UDP\n"
               "                   (without it they count rx_otherhost_dropped)\n"
               "  --clock capture  protocol time follows the capture's timestamps: timers\n"
               "                   (reassembly, TIME_WAIT, ARP, retransmission) fire as they\n"
               "                   would have on the wire (the default)\n"
               "  --clock fast     protocol time is the host's monotonic time since the\n"
               "                   first frame while frames are fed back to back, as fast as\n"
               "                   possible: gaps in the capture do not expire anything\n%s",
               inlet::examples::kCommonOptionsUsage);
  std::exit(2);
}

// The replay interface's NIC: the capture, paced.
// Pacing (--clock capture): a frame is handed over only once the main loop
// has released its capture time (after the timers due by then have run), one
// record per rx_burst call, so the poller cannot pull a later frame in early.
// (--promisc is the interface's accept_any_destination: frames keep their
// destination MAC, so captures at link-in show them as they were.)
class ReplayNic final : public inlet::PortQueue {
 public:
  ReplayNic(std::unique_ptr<inlet::pcap::PcapReplayPort> replay, bool paced)
      : replay_(std::move(replay)), paced_(paced) {}
  // Paced: frames captured up to `t` may be handed over.
  void release_until(absl::Time t) { released_ = t; }
  void attach(inlet::BufferPool& pool) override { replay_->attach(pool); }
  void detach() override { replay_->detach(); }
  size_t rx_burst(std::span<inlet::PacketRef> out) override {
    size_t n = 0;
    while (n < out.size()) {
      if (paced_) {
        const std::optional<int64_t> next = replay_->next_timestamp_ns();
        if (!next || absl::FromUnixNanos(*next) > released_) break;
      }
      const size_t got = replay_->rx_burst(out.subspan(n, 1));
      if (got == 0) break;
      n += got;
    }
    return n;
  }
  size_t tx_burst(std::span<inlet::PacketRef> frames) override { return replay_->tx_burst(frames); }
  void set_interrupt_enabled(bool enabled) override { replay_->set_interrupt_enabled(enabled); }
  bool rx_pending() const override { return replay_->rx_pending(); }
  std::string_view name() const override { return replay_->name(); }

  inlet::pcap::PcapReplayPort& replay() { return *replay_; }

 private:
  std::unique_ptr<inlet::pcap::PcapReplayPort> replay_;
  bool paced_;
  absl::Time released_ = absl::InfinitePast();
};

enum class ClockMode { kCapture, kFast };

}  // namespace

int main(int argc, char** argv) {
  std::string path, tx_path;
  std::vector<inlet::link::InterfaceAddress> addrs;
  std::vector<uint16_t> udp_ports;
  inlet::Tunables tunables;
  inlet::wire::MacAddress mac({0x02, 0x00, 0x5e, 0x10, 0x00, 0x01});
  inlet::examples::CommonOptions common;
  common.tunables = &tunables;
  bool promisc = false;
  ClockMode clock_mode = ClockMode::kCapture;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string error;
    switch (inlet::examples::parse_common_option(argc, argv, i, common, &error)) {
      case inlet::examples::OptionResult::kConsumed: continue;
      case inlet::examples::OptionResult::kError: usage(error.c_str());
      case inlet::examples::OptionResult::kNotCommon: break;
    }
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--addr") {
      std::string v = value();
      size_t slash = v.find('/');
      auto ip = inlet::wire::Ipv4Address::parse(v.substr(0, slash));
      int len = slash == std::string::npos ? 32 : std::atoi(v.c_str() + slash + 1);
      if (!ip || len < 0 || len > 32) usage(("bad --addr " + v).c_str());
      addrs.push_back({*ip, static_cast<uint8_t>(len)});
    } else if (a == "--udp") {
      long p = std::strtol(value().c_str(), nullptr, 10);
      if (p <= 0 || p > 65535) usage("bad --udp");
      udp_ports.push_back(static_cast<uint16_t>(p));
    } else if (a == "--sysctl") {
      absl::Status s = tunables.set_assignment(value());
      if (!s.ok()) usage(std::string(s.message()).c_str());
    } else if (a == "--tx-pcap") {
      tx_path = value();
    } else if (a == "--mac") {
      auto m = inlet::wire::MacAddress::parse(value());
      if (!m) usage("bad --mac");
      mac = *m;
    } else if (a == "--promisc") {
      promisc = true;
    } else if (a == "--clock") {
      const std::string v = value();
      if (v == "capture") {
        clock_mode = ClockMode::kCapture;
      } else if (v == "fast") {
        clock_mode = ClockMode::kFast;
      } else {
        usage(("bad --clock " + v + " (capture or fast)").c_str());
      }
    } else if (a == "-h" || a == "--help") {
      usage(nullptr);
    } else if (!a.empty() && a[0] == '-') {
      usage(("unknown option " + a).c_str());
    } else if (path.empty()) {
      path = a;
    } else {
      usage("one capture at a time");
    }
  }
  if (path.empty()) usage("no capture given");

  auto port = inlet::pcap::PcapReplayPort::open(path, mac, tx_path);
  if (!port.ok()) {
    std::fprintf(stderr, "inlet-replay: %s\n", std::string(port.status().message()).c_str());
    return 1;
  }
  // Protocol time starts at the capture's first record (the timer wheel
  // only moves forward, so the clock must not be set back once armed).
  inlet::ManualClock clock;
  if (auto first = inlet::pcap::PcapReader::open(path); first.ok()) {
    inlet::pcap::PcapReader::Record r;
    if (first->next(r)) clock.set(absl::FromUnixNanos(r.timestamp_ns));
  }
  inlet::examples::exit_if_listing_profiles(common);
  inlet::Stack stack(tunables, &clock);
  inlet::examples::Observability obs(common);
  // Captures, like the stack's clock, follow the replayed capture's time.
  if (absl::Status s = obs.attach(stack, &clock); !s.ok()) usage(std::string(s.message()).c_str());
  inlet::examples::Observability::install_sigusr1();
  auto nic = std::make_unique<ReplayNic>(std::move(*port), clock_mode == ClockMode::kCapture);
  ReplayNic* replay_nic = nic.get();
  inlet::pcap::PcapReplayPort* replay = &nic->replay();
  auto iface = stack.add_interface(std::move(nic), {.name = "pcap0", .mac = mac, .addresses = addrs, .accept_any_destination = promisc});
  if (!iface.ok()) {
    std::fprintf(stderr, "inlet-replay: %s\n", std::string(iface.status().message()).c_str());
    return 1;
  }
  std::vector<inlet::udp::UdpSocket*> sockets;
  for (uint16_t p : udp_ports) {
    auto s = stack.udp_bind(inlet::wire::kIpv4Any, p);
    if (!s.ok()) usage(std::string(s.status().message()).c_str());
    sockets.push_back(*s);
  }
  replay->set_burst_limit(1);  // frame by frame, so the clock follows each record
  // --clock fast: time starts at the first frame's capture time and then
  // moves with the host's monotonic clock, however far apart the frames were.
  const inlet::MonotonicClock host_clock;
  const absl::Time fast_origin = clock.now();
  const absl::Time host_origin = host_clock.now();
  while (!replay->done() || stack.has_work()) {
    if (clock_mode == ClockMode::kCapture) {
      // The clock moves to the next frame's capture time and the timers due
      // by then run (reassembly, ARP, TCP) before the stack sees the frame.
      if (std::optional<int64_t> next = replay->next_timestamp_ns()) {
        const absl::Time t = absl::FromUnixNanos(*next);
        if (t > clock.now()) {
          clock.set(t);
          stack.poll();
        }
        replay_nic->release_until(t);
      }
    } else {
      const absl::Time t = fast_origin + (host_clock.now() - host_origin);
      if (t > clock.now()) clock.set(t);
    }
    stack.poll();
    obs.tick();  // --stats-interval counts capture time
  }
  const auto& rs = replay->stats();
  std::printf("replay %s: records=%llu delivered=%llu oversize=%llu unsupported=%llu truncated=%llu "
              "transmitted=%llu%s%s\n",
              path.c_str(), static_cast<unsigned long long>(rs.records),
              static_cast<unsigned long long>(rs.delivered),
              static_cast<unsigned long long>(rs.oversize),
              static_cast<unsigned long long>(rs.unsupported),
              static_cast<unsigned long long>(rs.truncated),
              static_cast<unsigned long long>(rs.transmitted),
              replay->reader().error().ok() ? "" : " error=",
              replay->reader().error().ok() ? "" : std::string(replay->reader().error().message()).c_str());
  std::printf("clock %s", clock_mode == ClockMode::kCapture ? "capture" : "fast");
  if (promisc) std::printf(" promisc");
  std::printf("\n");
  for (auto* s : sockets) {
    std::printf("udp %u datagrams=%llu bytes=%llu\n", s->local().port,
                static_cast<unsigned long long>(s->received_datagrams()),
                static_cast<unsigned long long>(s->received_bytes()));
  }
  stack.shutdown();
  std::fflush(stdout);
  obs.print_totals();
  std::printf("%s\n", stack.pool_line().c_str());
  if (absl::Status s = obs.finish(); !s.ok()) {
    std::fprintf(stderr, "inlet-replay: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return stack.pool().in_use() == 0 ? 0 : 3;
}

// inlet-replay: pushes a pcap capture through a configured stack and prints
// what happened — replay figures, counters (nstat format), the pool line.
// The stack's clock follows the capture's timestamps.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "api/stack.h"
#include "examples/common/observability.h"
#include "ports/pcap/pcap_replay_port.h"

namespace {

[[noreturn]] void usage(const char* msg) {
  if (msg != nullptr) std::fprintf(stderr, "inlet-replay: %s\n", msg);
  std::fprintf(stderr,
               "usage: inlet-replay FILE.pcap [--addr A.B.C.D/P]... [--udp PORT]...\n"
               "                    [--sysctl key=value]... [--tx-pcap FILE] [--mac MAC]\n%s",
               inlet::examples::kCommonOptionsUsage);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string path, tx_path;
  std::vector<inlet::link::InterfaceAddress> addrs;
  std::vector<uint16_t> udp_ports;
  inlet::Tunables tunables;
  inlet::wire::MacAddress mac({0x02, 0x00, 0x5e, 0x10, 0x00, 0x01});
  inlet::examples::CommonOptions common;
  common.tunables = &tunables;
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
  inlet::pcap::PcapReplayPort* replay = port->get();
  inlet::ManualClock clock;
  inlet::examples::exit_if_listing_profiles(common);
  inlet::Stack stack(tunables, &clock);
  inlet::examples::Observability obs(common);
  // Captures, like the stack's clock, follow the replayed capture's time.
  if (absl::Status s = obs.attach(stack, &clock); !s.ok()) usage(std::string(s.message()).c_str());
  inlet::examples::Observability::install_sigusr1();
  auto iface = stack.add_interface(std::move(*port), {.name = "pcap0", .mac = mac, .addresses = addrs});
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
  while (!replay->done() || stack.has_work()) {
    // The clock moves to the next frame's capture time before the stack sees
    // it, so protocol timers (reassembly, ARP, TCP) follow the capture.
    if (std::optional<int64_t> next = replay->next_timestamp_ns()) {
      const absl::Time t = absl::FromUnixNanos(*next);
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

// inlet-sink: the stack on a Linux TAP device (or a real interface with
// --port-kind af_packet). Answers ARP and ping, counts
// what arrives on each --udp port, and prints per-port lines, counters (nstat
// format) and the pool line at exit (SIGINT/SIGTERM or after --seconds).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "api/stack.h"
#include "examples/common/observability.h"
#include "examples/common/sha256.h"
#include "ports/af_packet/af_packet_port.h"
#include "ports/pcap/pcap_tap.h"
#include "ports/tap/tap_port.h"

namespace {

// Written by the signal handler: sig_atomic_t is the type that is safe there.
// (SIGUSR1, the counters, is examples/common's.)
volatile sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

[[noreturn]] void usage(const char* msg) {
  if (msg != nullptr) std::fprintf(stderr, "inlet-sink: %s\n", msg);
  std::fprintf(stderr,
               "usage: inlet-sink --tap IFNAME | --port-kind af_packet --ifname IFNAME\n"
               "                  [--af-packet-ring BLOCK_BYTES,BLOCKS,RETIRE_MS]\n"
               "                  --addr A.B.C.D/P [--gateway IP] [--udp PORT]...\n"
               "                  [--seconds S] [--sysctl key=value]... [--pcap FILE]\n"
               "                  [--mac MAC] [--mtu N] [--tcp PORT]... [--sysctl-file FILE]\n%s",
               inlet::examples::kCommonOptionsUsage);
  std::exit(2);
}

bool parse_prefix(const std::string& text, inlet::link::InterfaceAddress* out) {
  size_t slash = text.find('/');
  auto ip = inlet::wire::Ipv4Address::parse(text.substr(0, slash));
  if (!ip) return false;
  int len = 32;
  if (slash != std::string::npos) {
    char* end = nullptr;
    len = static_cast<int>(std::strtol(text.c_str() + slash + 1, &end, 10));
    if (*end != '\0' || len < 0 || len > 32) return false;
  }
  *out = {*ip, static_cast<uint8_t>(len)};
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string tap_name, pcap_path;
  std::string port_kind = "tap";  // or af_packet (--ifname NAME)
  inlet::af_packet::AfPacketPort* af_packet = nullptr;
  inlet::af_packet::AfPacketConfig af_packet_config;
  std::vector<inlet::link::InterfaceAddress> addrs;
  std::vector<uint16_t> udp_ports;
  std::vector<uint16_t> tcp_ports;
  std::vector<inlet::wire::Ipv4Address> gateways;
  double seconds = 0;
  uint32_t mtu = 1500;
  inlet::wire::MacAddress mac;
  inlet::Tunables tunables;
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
    if (a == "--tap") {
      tap_name = value();
    } else if (a == "--ifname") {  // with --port-kind af_packet
      tap_name = value();
    } else if (a == "--af-packet-ring") {  // BLOCK_BYTES,BLOCKS,RETIRE_MS
      std::string v = value();
      if (std::sscanf(v.c_str(), "%u,%u,%u", &af_packet_config.block_size,
                      &af_packet_config.block_count, &af_packet_config.retire_timeout_ms) != 3) {
        usage(("bad --af-packet-ring " + v).c_str());
      }
    } else if (a == "--port-kind") {
      port_kind = value();
      if (port_kind != "tap" && port_kind != "af_packet") {
        usage(("bad --port-kind " + port_kind).c_str());
      }
    } else if (a == "--addr") {
      inlet::link::InterfaceAddress ia;
      std::string v = value();
      if (!parse_prefix(v, &ia)) usage(("bad --addr " + v).c_str());
      addrs.push_back(ia);
    } else if (a == "--gateway") {
      std::string v = value();
      auto ip = inlet::wire::Ipv4Address::parse(v);
      if (!ip) usage(("bad --gateway " + v).c_str());
      gateways.push_back(*ip);
    } else if (a == "--udp") {
      std::string v = value();
      long port = std::strtol(v.c_str(), nullptr, 10);
      if (port <= 0 || port > 65535) usage(("bad --udp " + v).c_str());
      udp_ports.push_back(static_cast<uint16_t>(port));
    } else if (a == "--tcp") {
      std::string v = value();
      long port = std::strtol(v.c_str(), nullptr, 10);
      if (port <= 0 || port > 65535) usage(("bad --tcp " + v).c_str());
      tcp_ports.push_back(static_cast<uint16_t>(port));
    } else if (a == "--sysctl-file") {
      std::string v = value();
      absl::Status s = tunables.load_file(v);
      if (!s.ok()) usage(("--sysctl-file " + std::string(s.message())).c_str());
    } else if (a == "--seconds") {
      seconds = std::atof(value().c_str());
    } else if (a == "--sysctl") {
      std::string v = value();
      absl::Status s = tunables.set_assignment(v);
      if (!s.ok()) usage(("--sysctl " + std::string(s.message())).c_str());
    } else if (a == "--pcap") {
      pcap_path = value();
    } else if (a == "--mtu") {
      mtu = static_cast<uint32_t>(std::atoi(value().c_str()));
    } else if (a == "--mac") {
      std::string v = value();
      auto m = inlet::wire::MacAddress::parse(v);
      if (!m) usage(("bad --mac " + v).c_str());
      mac = *m;
    } else if (a == "-h" || a == "--help") {
      usage(nullptr);
    } else {
      usage(("unknown option " + a).c_str());
    }
  }
  if (tap_name.empty()) usage("--tap (or --port-kind af_packet --ifname) is required");
  if (addrs.empty()) usage("--addr is required");

  std::unique_ptr<inlet::PortQueue> port;
  if (port_kind == "af_packet") {
    // A real interface: its own MAC unless --mac names another (then promiscuous).
    af_packet_config.ifname = tap_name;
    af_packet_config.mac = mac;
    auto opened = inlet::af_packet::AfPacketPort::open(af_packet_config);
    if (!opened.ok()) {
      std::fprintf(stderr, "inlet-sink: %s\n", std::string(opened.status().message()).c_str());
      return 1;
    }
    af_packet = opened->get();
    mac = af_packet->mac();
    port = std::move(*opened);
  } else {
    auto tap = inlet::tap::TapPort::open(tap_name);
    if (!tap.ok()) {
      std::fprintf(stderr, "inlet-sink: %s\n", std::string(tap.status().message()).c_str());
      return 1;
    }
    port = std::move(*tap);
  }
  if (!pcap_path.empty()) {
    auto tapped = inlet::pcap::PcapTap::wrap(std::move(port), pcap_path);
    if (!tapped.ok()) {
      std::fprintf(stderr, "inlet-sink: %s\n", std::string(tapped.status().message()).c_str());
      return 1;
    }
    port = std::move(*tapped);
  }

  inlet::examples::exit_if_listing_profiles(common);
  inlet::Stack stack(tunables);
  inlet::examples::Observability obs(common);
  if (absl::Status s = obs.attach(stack); !s.ok()) usage(std::string(s.message()).c_str());
  auto iface = stack.add_interface(std::move(port), {.name = tap_name, .mac = mac, .mtu = mtu,
                                                     .addresses = addrs});
  if (!iface.ok()) {
    std::fprintf(stderr, "inlet-sink: %s\n", std::string(iface.status().message()).c_str());
    return 1;
  }
  for (const auto& gw : gateways) {
    absl::Status s = stack.set_default_gateway(gw);
    if (!s.ok()) {
      std::fprintf(stderr, "inlet-sink: --gateway: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  std::vector<inlet::udp::UdpSocket*> sockets;
  static uint8_t scratch[65536];
  for (uint16_t p : udp_ports) {
    auto s = stack.udp_bind(inlet::wire::kIpv4Any, p);
    if (!s.ok()) {
      std::fprintf(stderr, "inlet-sink: --udp %u: %s\n", p, std::string(s.status().message()).c_str());
      return 1;
    }
    // The application drains each datagram as it arrives (sk_data_ready).
    (*s)->set_data_ready([](inlet::udp::UdpSocket& sock) {
      while (sock.recv(scratch)) {
      }
    });
    sockets.push_back(*s);
  }

  // TCP: accept everything, read everything, digest it, close on EOF.
  struct Flow {
    std::string peer;
    uint64_t bytes = 0;
    inlet::examples::Sha256 sha;
    bool open = true;
  };
  std::vector<std::unique_ptr<Flow>> flows;  // in accept order
  std::vector<inlet::tcp::TcpListener*> listeners;
  auto drain = [](inlet::tcp::TcpSocket& sock, Flow& f) {
    for (;;) {
      const size_t n = sock.read(scratch);
      if (n == 0) break;
      f.bytes += n;
      f.sha.update(std::span<const uint8_t>(scratch, n));
    }
    if ((sock.eof() || sock.was_reset()) && f.open) {
      f.open = false;
      sock.close();
    }
  };
  for (uint16_t p : tcp_ports) {
    auto l = stack.tcp_listen(inlet::wire::kIpv4Any, p, 4096);
    if (!l.ok()) {
      std::fprintf(stderr, "inlet-sink: --tcp %u: %s\n", p, std::string(l.status().message()).c_str());
      return 1;
    }
    (*l)->set_fastopen_queue(256);
    (*l)->set_on_accept([&flows, drain](inlet::tcp::TcpListener& lst) {
      while (inlet::tcp::TcpSocket* sock = lst.accept()) {
        flows.push_back(std::make_unique<Flow>());
        Flow* f = flows.back().get();
        f->peer = sock->tuple().remote.to_string() + ":" + std::to_string(sock->tuple().remote_port);
        sock->set_data_ready([f, drain](inlet::tcp::TcpSocket& so) { drain(so, *f); });
        drain(*sock, *f);  // Fast Open data is there at accept
      }
    });
    listeners.push_back(*l);
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  inlet::examples::Observability::install_sigusr1();
  std::fprintf(stderr, "inlet-sink: %s mac %s up\n", tap_name.c_str(),
               (*iface)->mac().to_string().c_str());

  const absl::Time deadline = seconds > 0 ? stack.clock().now() + absl::Seconds(seconds)
                                          : absl::InfiniteFuture();
  while (!g_stop && stack.clock().now() < deadline) {
    stack.poll();
    if (!stack.has_work()) {
      stack.wait(std::min({absl::Milliseconds(100), deadline - stack.clock().now(),
                           obs.until_next_interval()}));
    }
    obs.tick();
  }

  for (auto* s : sockets) {
    std::printf("udp %u datagrams=%llu bytes=%llu\n", s->local().port,
                static_cast<unsigned long long>(s->received_datagrams()),
                static_cast<unsigned long long>(s->received_bytes()));
  }
  for (const auto& f : flows) {
    std::printf("tcp %s bytes=%llu sha256=%s\n", f->peer.c_str(),
                static_cast<unsigned long long>(f->bytes), f->sha.hex_digest().c_str());
  }
  stack.shutdown();
  std::fflush(stdout);
  obs.print_totals();
  if (af_packet != nullptr) {
    std::printf("%s\n", inlet::af_packet::format_stats(tap_name, af_packet->stats()).c_str());
  }
  std::printf("%s\n", stack.pool_line().c_str());
  if (absl::Status s = obs.finish(); !s.ok()) {
    std::fprintf(stderr, "inlet-sink: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return stack.pool().in_use() == 0 ? 0 : 3;
}

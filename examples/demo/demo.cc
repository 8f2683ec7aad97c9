// inlet-demo: one stack on an in-memory NIC (the sim port) and a scripted peer
// on the other end of the cable. Shows each frame's path through the layers,
// the frames the stack sends back, and the counters. Needs no root.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "api/stack.h"
#include "examples/common/observability.h"
#include "ports/sim/sim_peer.h"
#include "ports/sim/sim_port.h"

namespace {

using inlet::wire::Ipv4Address;
using inlet::wire::MacAddress;

void print_trace(void*, inlet::TracePoint point, const inlet::Packet& p, std::string_view note) {
  std::printf("    %-13s len=%-5u %.*s\n", std::string(inlet::trace_point_name(point)).c_str(),
              p.length(), static_cast<int>(note.size()), note.data());
}

[[noreturn]] void usage(const std::string& msg) {
  if (!msg.empty()) std::fprintf(stderr, "inlet-demo: %s\n", msg.c_str());
  std::fprintf(stderr, "usage: inlet-demo [shared options]\n%s", inlet::examples::kCommonOptionsUsage);
  std::exit(2);
}

}  // namespace

// The receive ring is filled from the pool: keep three quarters of the pool
// for the stack (a low-memory profile has only 64 buffers).
static uint32_t demo_rx_ring_size(const inlet::Tunables& tunables) {
  const auto buffers = static_cast<uint32_t>(tunables.get(inlet::Tunable::kPoolBuffers));
  return std::clamp<uint32_t>(buffers / 4, 4, 64);
}

int main(int argc, char** argv) {
  inlet::Tunables tunables;
  tunables.set(inlet::Tunable::kPoolBuffers, 256);
  inlet::examples::CommonOptions common;
  common.tunables = &tunables;
  for (int i = 1; i < argc; ++i) {
    std::string error;
    const std::string a = argv[i];
    switch (inlet::examples::parse_common_option(argc, argv, i, common, &error)) {
      case inlet::examples::OptionResult::kConsumed: continue;
      case inlet::examples::OptionResult::kError: usage(error);
      case inlet::examples::OptionResult::kNotCommon: break;
    }
    usage(a == "-h" || a == "--help" ? "" : "unknown option " + a);
  }
  inlet::examples::exit_if_listing_profiles(common);
  inlet::ManualClock clock;
  inlet::Stack stack(tunables, &clock);
  inlet::examples::Observability obs(common);
  // The capture files carry the demo's virtual time.
  if (absl::Status s = obs.attach(stack, &clock, {print_trace, nullptr}); !s.ok()) {
    usage(std::string(s.message()));
  }
  inlet::examples::Observability::install_sigusr1();

  auto port = std::make_unique<inlet::sim::SimPort>(inlet::sim::SimPortConfig{.name = "sim0", .rx_ring_size = demo_rx_ring_size(tunables)});
  inlet::sim::SimPort* nic = port.get();
  const Ipv4Address our_ip = *Ipv4Address::parse("192.0.2.2");
  auto iface = stack.add_interface(std::move(port), {.name = "sim0", .addresses = {{our_ip, 24}}});
  if (!iface.ok()) {
    std::fprintf(stderr, "inlet-demo: %s\n", std::string(iface.status().message()).c_str());
    return 1;
  }
  const MacAddress our_mac = (*iface)->mac();
  inlet::sim::SimPeer peer(*MacAddress::parse("02:00:00:00:00:01"), *Ipv4Address::parse("192.0.2.1"));
  auto sock = stack.udp_bind(inlet::wire::kIpv4Any, 7000);
  if (!sock.ok()) return 1;
  (*sock)->set_data_ready([](inlet::udp::UdpSocket& s) {
    std::printf("    %-13s port %u has %zu datagram(s) waiting\n", "data-ready", s.local().port,
                s.queued_datagrams());
  });

  std::printf("inlet-demo: stack 192.0.2.2/24 (%s) on sim0, peer 192.0.2.1 (%s)\n\n",
              our_mac.to_string().c_str(), peer.mac().to_string().c_str());

  const std::vector<uint8_t> hello = {'h', 'e', 'l', 'l', 'o', ' ', 'i', 'n', 'l', 'e', 't'};
  inlet::sim::Frame bad_checksum = peer.udp(our_mac, our_ip, 5000, 7000, hello);
  bad_checksum[14 + 10] ^= 0xFF;  // corrupt the IPv4 header checksum
  inlet::sim::Frame ipv6 = peer.udp(our_mac, our_ip, 5000, 7000, hello);
  ipv6[12] = 0x86;
  ipv6[13] = 0xDD;

  struct Step {
    const char* what;
    inlet::sim::Frame frame;
  };
  std::vector<Step> steps;
  steps.push_back({"ARP request: who has 192.0.2.2?", peer.arp_request(our_ip)});
  steps.push_back({"ICMP echo request (ping)", peer.icmp_echo(our_mac, our_ip, 0x1234, 1, hello)});
  steps.push_back({"UDP datagram to bound port 7000", peer.udp(our_mac, our_ip, 5000, 7000, hello)});
  steps.push_back({"UDP datagram to closed port 9", peer.udp(our_mac, our_ip, 5000, 9, hello)});
  steps.push_back({"IPv4 header with a bad checksum", bad_checksum});
  steps.push_back({"an IPv6 frame", ipv6});
  steps.push_back({"a 10-byte runt frame", inlet::sim::Frame(10, 0xAB)});

  for (Step& s : steps) {
    std::printf("-> %s\n", s.what);
    nic->wire_receive(s.frame);
    while (stack.poll() > 0 || stack.has_work()) {
    }
    for (const auto& out : nic->wire_collect_all()) {
      std::printf("  <- %s\n", inlet::sim::SimPeer::describe(out).c_str());
    }
    clock.advance(absl::Milliseconds(10));
    obs.tick();
  }

  std::printf("\napplication reads port 7000:\n");
  uint8_t buf[2048];
  while (auto d = (*sock)->recv(buf)) {
    std::printf("  %s:%u -> \"%.*s\"\n", d->from.address.to_string().c_str(), d->from.port,
                static_cast<int>(d->copied), reinterpret_cast<const char*>(buf));
  }

  stack.shutdown();
  std::printf("\ncounters (nstat format):\n");
  std::fflush(stdout);
  obs.print_totals();
  std::printf("%s\n", stack.pool_line().c_str());
  if (absl::Status s = obs.finish(); !s.ok()) {
    std::fprintf(stderr, "inlet-demo: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return stack.pool().in_use() == 0 ? 0 : 1;
}

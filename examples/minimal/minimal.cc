// inlet-minimal: the smallest useful program on inlet, as a firmware image
// would be — one stack with a small pool (64 buffers, 8 connections) on the
// in-memory NIC, answering ARP and ping, receiving a UDP datagram and a TCP
// connection's data from a scripted peer. scripts/size-report measures the
// library code linked into it (docs/footprint.md). Exits 0 when every
// exchange happened, 1 otherwise. (inlet-footprint prints the RAM table.)
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "api/stack.h"
#include "api/footprint.h"  // small_footprint_tunables()
#include "ports/sim/sim_peer.h"
#include "ports/sim/sim_port.h"

namespace {

using inlet::wire::Ipv4Address;
using inlet::wire::MacAddress;

uint32_t load32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

}  // namespace

int main(int argc, char**) {
  if (argc != 1) {
    std::fputs("usage: inlet-minimal\n", stderr);
    return 2;
  }
  const inlet::Tunables tunables = inlet::small_footprint_tunables();
  inlet::ManualClock clock;
  inlet::Stack stack(tunables, &clock);

  auto port = std::make_unique<inlet::sim::SimPort>(
      inlet::sim::SimPortConfig{.name = "sim0", .rx_ring_size = 16});
  inlet::sim::SimPort* nic = port.get();
  const Ipv4Address our_ip(0xC0000202);   // 192.0.2.2
  const Ipv4Address peer_ip(0xC0000201);  // 192.0.2.1
  auto iface = stack.add_interface(std::move(port), {.name = "sim0", .addresses = {{our_ip, 24}}});
  if (!iface.ok()) return 1;
  const MacAddress our_mac = (*iface)->mac();
  inlet::sim::SimPeer peer(MacAddress({0x02, 0, 0, 0, 0, 1}), peer_ip);

  auto udp = stack.udp_bind(our_ip, 7000);
  auto listener = stack.tcp_listen(our_ip, 5001, 4);
  if (!udp.ok() || !listener.ok()) return 1;

  std::vector<std::vector<uint8_t>> replies;
  auto exchange = [&](const std::vector<uint8_t>& frame) {
    nic->wire_receive(frame);
    stack.poll();
    for (auto& f : nic->wire_collect_all()) replies.push_back(std::move(f));
  };
  const uint8_t data[] = {'h', 'e', 'l', 'l', 'o'};
  exchange(peer.arp_request(our_ip));
  exchange(peer.icmp_echo(our_mac, our_ip, 1, 1, data));
  exchange(peer.udp(our_mac, our_ip, 4000, 7000, data));

  inlet::wire::TcpRepr syn;
  syn.src_port = 40000;
  syn.dst_port = 5001;
  syn.seq = 1000;
  syn.flags = inlet::wire::tcpflag::kSyn;
  syn.window = 65535;
  syn.options.mss = 1460;
  const size_t before = replies.size();
  exchange(peer.tcp(our_mac, our_ip, syn, {}));
  bool tcp_ok = false;
  if (replies.size() > before && replies.back().size() >= 14 + 20 + 20) {
    const uint8_t* ip = replies.back().data() + 14;
    const uint8_t* tcp = ip + (ip[0] & 0x0F) * 4;
    inlet::wire::TcpRepr ack;
    ack.src_port = 40000;
    ack.dst_port = 5001;
    ack.seq = 1001;
    ack.ack = load32(tcp + 4) + 1;
    ack.flags = inlet::wire::tcpflag::kAck | inlet::wire::tcpflag::kPsh;
    ack.window = 65535;
    ack.payload_length = sizeof(data);
    exchange(peer.tcp(our_mac, our_ip, ack, data));
    if (inlet::tcp::TcpSocket* s = (*listener)->accept()) {
      uint8_t buf[16];
      tcp_ok = s->read(buf) == sizeof(data) && std::memcmp(buf, data, sizeof(data)) == 0;
    }
  }
  uint8_t datagram[16];
  const bool udp_ok = (*udp)->recv(datagram).has_value();

  std::printf("inlet-minimal: replies=%zu udp=%s tcp=%s\n", replies.size(), udp_ok ? "ok" : "missing",
              tcp_ok ? "ok" : "missing");
  stack.shutdown();
  return replies.size() >= 3 && udp_ok && tcp_ok ? 0 : 1;
}

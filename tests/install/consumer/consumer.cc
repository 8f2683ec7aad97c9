// inlet-consumer: a program outside the inlet tree that uses only what an
// installed inlet provides (headers, libraries, the sim port). It pings a stack
// and sends it a UDP datagram, and exits 0 only if both arrive as they should.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "api/stack.h"
#include "core/clock.h"
#include "core/tunables.h"
#include "ports/sim/sim_peer.h"
#include "ports/sim/sim_port.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

namespace {

int fail(const char* what) {
  std::fprintf(stderr, "inlet-consumer: FAIL: %s\n", what);
  return 1;
}

}  // namespace

int main() {
  using inlet::wire::Ipv4Address;
  using inlet::wire::MacAddress;

  inlet::ManualClock clock;
  inlet::Tunables tunables;
  tunables.set(inlet::Tunable::kPoolBuffers, 256);
  inlet::Stack stack(tunables, &clock);

  auto port = std::make_unique<inlet::sim::SimPort>(inlet::sim::SimPortConfig{.name = "sim0", .rx_ring_size = 32});
  inlet::sim::SimPort* nic = port.get();
  const Ipv4Address our_ip = *Ipv4Address::parse("192.0.2.2");
  auto iface = stack.add_interface(std::move(port), {.name = "sim0", .addresses = {{our_ip, 24}}});
  if (!iface.ok()) return fail("add_interface");
  const MacAddress our_mac = (*iface)->mac();
  const inlet::sim::SimPeer peer(*MacAddress::parse("02:00:00:00:00:01"),
                                 *Ipv4Address::parse("192.0.2.1"));
  auto sock = stack.udp_bind(inlet::wire::kIpv4Any, 7000);
  if (!sock.ok()) return fail("udp_bind");

  auto run = [&] {
    for (int i = 0; i < 100 && (stack.poll() > 0 || stack.has_work()); ++i) {
    }
    return nic->wire_collect_all();
  };

  // The peer announces itself (so the echo reply needs no ARP round trip).
  if (!nic->wire_receive(peer.arp_request(our_ip))) return fail("wire_receive arp");
  if (run().size() != 1) return fail("no ARP reply");

  const std::vector<uint8_t> data = {'p', 'i', 'n', 'g'};
  if (!nic->wire_receive(peer.icmp_echo(our_mac, our_ip, 0x4242, 7, data))) {
    return fail("wire_receive echo");
  }
  const auto replies = run();
  if (replies.size() != 1) return fail("expected one frame back for the echo request");
  auto eth = inlet::wire::EthernetView::parse(replies[0]);
  if (!eth.ok() || eth->dst() != peer.mac()) return fail("echo reply: Ethernet header");
  auto ip = inlet::wire::Ipv4View::parse(eth->payload(), inlet::wire::ChecksumMode::kVerify);
  if (!ip.ok() || ip->src() != our_ip || ip->dst() != peer.ip()) return fail("echo reply: IPv4");
  auto icmp = inlet::wire::IcmpView::parse(ip->payload(), inlet::wire::ChecksumMode::kVerify);
  if (!icmp.ok() || icmp->type() != inlet::wire::icmptype::kEchoReply ||
      icmp->echo_ident() != 0x4242 || icmp->echo_seq() != 7) {
    return fail("echo reply: ICMP");
  }

  const std::string hello = "hello from outside the tree";
  const std::vector<uint8_t> payload(hello.begin(), hello.end());
  if (!nic->wire_receive(peer.udp(our_mac, our_ip, 5000, 7000, payload))) {
    return fail("wire_receive udp");
  }
  if (!run().empty()) return fail("the stack answered a datagram to a bound port");
  uint8_t buf[256];
  auto got = (*sock)->recv(buf);
  if (!got || got->from.port != 5000 || got->copied != hello.size() ||
      std::memcmp(buf, hello.data(), hello.size()) != 0) {
    return fail("UDP datagram not delivered intact");
  }

  stack.shutdown();
  if (stack.pool().in_use() != 0) return fail("buffers still in use after shutdown");
  std::printf("inlet-consumer: echo reply and UDP delivery ok\n");
  return 0;
}

// A first end-to-end TCP exchange through the sim port: handshake, in-order
// data, an out-of-order segment and its SACK, FIN, close.
#include <doctest/doctest.h>

#include "api/stack.h"
#include "ports/sim/sim_peer.h"
#include "ports/sim/sim_port.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace {
using namespace inlet;
using wire::Ipv4Address;
using wire::MacAddress;

struct Parsed {
  wire::TcpRepr tcp;
  size_t payload = 0;
};

std::vector<Parsed> tcp_out(sim::SimPort* nic) {
  std::vector<Parsed> out;
  for (const auto& f : nic->wire_collect_all()) {
    auto eth = wire::EthernetView::parse(f);
    if (!eth || eth->ethertype() != wire::ethertype::kIpv4) continue;
    auto ip = wire::Ipv4View::parse(eth->payload());
    if (!ip || ip->protocol() != wire::ipproto::kTcp) continue;
    auto t = wire::TcpView::parse(ip->payload(), ip->src(), ip->dst());
    REQUIRE(t.ok());
    out.push_back({wire::TcpRepr::from(*t), t->payload().size()});
  }
  return out;
}

TEST_CASE("RFC 9293 3.5: passive open, data in order and out of order, FIN") {
  ManualClock clock;
  Tunables t;
  t.set(Tunable::kPoolBuffers, 512);
  Stack stack(t, &clock);
  auto port = std::make_unique<sim::SimPort>(sim::SimPortConfig{.rx_ring_size = 64});
  sim::SimPort* nic = port.get();
  const Ipv4Address ip = *Ipv4Address::parse("192.0.2.2");
  auto iface = stack.add_interface(std::move(port), {.addresses = {{ip, 24}}});
  REQUIRE(iface.ok());
  const MacAddress mac = (*iface)->mac();
  sim::SimPeer peer(*MacAddress::parse("02:00:00:00:00:01"), *Ipv4Address::parse("192.0.2.1"));
  nic->wire_receive(peer.arp_request(ip));
  stack.poll();
  nic->wire_collect_all();
  auto l = stack.tcp_listen(wire::kIpv4Any, 80);
  REQUIRE(l.ok());

  wire::TcpRepr syn;
  syn.src_port = 40000;
  syn.dst_port = 80;
  syn.seq = 1000;
  syn.flags = wire::tcpflag::kSyn;
  syn.window = 65535;
  syn.options.mss = 1460;
  syn.options.window_scale = 7;
  syn.options.sack_permitted = true;
  syn.options.timestamps = wire::TcpTimestamps{100, 0};
  nic->wire_receive(peer.tcp(mac, ip, syn, {}));
  stack.poll();
  auto out = tcp_out(nic);
  REQUIRE(out.size() == 1);
  CHECK(out[0].tcp.flags == (wire::tcpflag::kSyn | wire::tcpflag::kAck));
  CHECK(out[0].tcp.ack == 1001);
  CHECK(out[0].tcp.options.mss == 1460);
  CHECK(out[0].tcp.options.sack_permitted);
  REQUIRE(out[0].tcp.options.timestamps);
  const uint32_t iss = out[0].tcp.seq;
  const uint32_t our_ts = out[0].tcp.options.timestamps->value;

  wire::TcpRepr ack;
  ack.src_port = 40000;
  ack.dst_port = 80;
  ack.seq = 1001;
  ack.ack = iss + 1;
  ack.flags = wire::tcpflag::kAck;
  ack.window = 512;
  ack.options.timestamps = wire::TcpTimestamps{101, our_ts};
  nic->wire_receive(peer.tcp(mac, ip, ack, {}));
  stack.poll();
  REQUIRE((*l)->acceptable());
  tcp::TcpSocket* s = (*l)->accept();
  REQUIRE(s != nullptr);
  CHECK(s->state() == tcp::TcpState::kEstablished);

  std::vector<uint8_t> a(1000, 'a'), b(1000, 'b'), c(1000, 'c');
  // In order, then a hole: 'c' before 'b'.
  ack.options.timestamps = wire::TcpTimestamps{102, our_ts};
  nic->wire_receive(peer.tcp(mac, ip, ack, a));
  wire::TcpRepr seg_c = ack;
  seg_c.seq = 1001 + 2000;
  nic->wire_receive(peer.tcp(mac, ip, seg_c, c));
  stack.poll();
  out = tcp_out(nic);
  REQUIRE(out.size() == 1);  // one ACK per connection per poll
  CHECK(out[0].tcp.ack == 2001);
  REQUIRE(out[0].tcp.options.sack_count == 1);
  CHECK(out[0].tcp.options.sack_blocks[0].left == 3001);
  CHECK(out[0].tcp.options.sack_blocks[0].right == 4001);
  CHECK(s->readable_bytes() == 1000);
  CHECK(s->ooo_segments() == 1);

  wire::TcpRepr seg_b = ack;
  seg_b.seq = 1001 + 1000;
  seg_b.flags |= wire::tcpflag::kFin;  // FIN after 'b' is not the end: 'c' follows
  seg_b.flags = wire::tcpflag::kAck;
  nic->wire_receive(peer.tcp(mac, ip, seg_b, b));
  stack.poll();
  out = tcp_out(nic);
  REQUIRE(out.size() == 1);
  CHECK(out[0].tcp.ack == 4001);
  CHECK(out[0].tcp.options.sack_count == 0);
  CHECK(s->readable_bytes() == 3000);
  std::vector<uint8_t> buf(4000);
  REQUIRE(s->read(buf) == 3000);
  CHECK(std::equal(a.begin(), a.end(), buf.begin()));
  CHECK(std::equal(b.begin(), b.end(), buf.begin() + 1000));
  CHECK(std::equal(c.begin(), c.end(), buf.begin() + 2000));

  wire::TcpRepr fin = ack;
  fin.seq = 4001;
  fin.flags = wire::tcpflag::kFin | wire::tcpflag::kAck;
  nic->wire_receive(peer.tcp(mac, ip, fin, {}));
  stack.poll();
  out = tcp_out(nic);
  REQUIRE(!out.empty());
  CHECK(out.back().tcp.ack == 4002);
  CHECK(s->state() == tcp::TcpState::kCloseWait);
  CHECK(s->eof());
  s->close();
  stack.poll();
  out = tcp_out(nic);
  REQUIRE(out.size() == 1);
  CHECK(out[0].tcp.flags == (wire::tcpflag::kFin | wire::tcpflag::kAck));
  wire::TcpRepr last = ack;
  last.seq = 4002;
  last.ack = out[0].tcp.seq + 1;
  nic->wire_receive(peer.tcp(mac, ip, last, {}));
  stack.poll();
  CHECK(stack.tcp().connection_count() == 0);
  stack.shutdown();
  CHECK(stack.pool().in_use() == 0);
}

}  // namespace

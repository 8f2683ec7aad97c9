// Ipv4Layer: IPv4 receive (RFC 791 / 1122 3.2.1 / 1812 5.2.2 validation,
// martian filtering, local delivery, protocol demux), ICMP (echo, errors with
// RFC 1122 3.2.2 rules, rate limiting) and local output through the host's
// RouteTable. Hands datagrams upward through registered TransportReceivers.
#pragma once

#include <array>
#include <vector>

#include "absl/status/status.h"
#include <cstdint>

#include "core/alloc.h"
#include "core/buffer_pool.h"
#include "core/clock.h"
#include "core/counters.h"
#include "core/features.h"
#include "core/layers.h"
#include "core/trace.h"
#include "core/tunables.h"
#include "ip/icmp_rate_limit.h"
#include "ip/reassembly.h"
#include "filter/filter.h"
#include "ip/fib.h"
#include "ip/gro.h"
#include "link/link_layer.h"

namespace inlet::ip {

class Ipv4Layer final : public NetworkReceiver {
 public:
  Ipv4Layer(const Tunables& tunables, BufferPool& pool, Counters& counters, const Clock& clock,
            const Trace& trace, link::LinkLayer& link, TimerWheel& timers);

  void register_transport(uint8_t protocol, TransportReceiver* receiver) {
    transports_[protocol] = receiver;
  }
  // The FIB (lib/ip/fib.h): connected routes, gateways, blackhole/unreachable/
  // prohibit, metrics, ECMP; changed at run time between polls.
  Fib& routes() { return fib_; }
  const Fib& routes() const { return fib_; }
  link::LinkLayer& link() { return link_; }
  const link::LinkLayer& link() const { return link_; }

  // From the link layer: data at the IPv4 header.
  void receive_ipv4(PacketRef packet, link::Interface& in) override;

  // Local output: `packet` holds the transport header and payload (data at the
  // transport header); prepends the IPv4 header, routes and transmits.
  // `src` 0.0.0.0 picks the outgoing interface's address. False (counted) when
  // there is no route.
  // `dont_fragment`: set DF (TCP, path-MTU discovery); otherwise a datagram
  // larger than the MTU is fragmented (IpFragOKs, IpFragCreates).
  bool output(PacketRef packet, wire::Ipv4Address src, wire::Ipv4Address dst, uint8_t protocol,
              uint8_t tos = 0, bool dont_fragment = true);

  // The source address output() would use toward `dst` (0.0.0.0 without a route).
  wire::Ipv4Address select_source(wire::Ipv4Address dst);

  // An ICMP error about `original` (its l3_offset marks the offending IPv4
  // header), unless RFC 1122 3.2.2 / RFC 1812 4.3.2.7 forbid one: never about
  // an ICMP error, a non-first fragment, a broadcast or multicast datagram, or
  // a source that is not a unicast host. Rate limited (icmp_ratemask).
  void send_icmp_error(const Packet& original, uint8_t type, uint8_t code, uint32_t rest = 0);

  // A static multicast forwarding entry (Linux's MFC): datagrams to `group`
  // arriving on `in_ifindex` (0 = any interface) are replicated to every
  // interface in `out` but the ingress one, by cloning the packet: the
  // payload is shared, each copy gets its own link header.
#if INLET_WITH_FORWARDING
  absl::Status add_multicast_route(wire::Ipv4Address group, uint16_t in_ifindex,
                                   std::vector<uint16_t> out);
#endif

#if INLET_WITH_REASSEMBLY
  const Reassembler& reassembler() const { return reasm_; }
#endif
  // Releases reassembly buffers and anything GRO holds (shutdown).
  void shutdown();
  void end_of_burst() override;
#if INLET_WITH_GRO
  const Gro::Stats& gro_stats() const { return gro_.stats(); }
#endif

 private:
  void drop(PacketRef&& p, DropReason reason);
  bool martian_source(wire::Ipv4Address src, const link::Interface& in) const;
  void deliver_local(PacketRef p, const Ipv4Delivery& d);
#if INLET_WITH_GRO
  void gro_deliver(PacketRef p, const Ipv4Delivery& d);
#endif
  // The filter (lib/filter) at one hook: true when the packet may go on.
#if INLET_WITH_FILTER
  // True unless an installed filter drops the packet at `hook`; without a
  // filter, one pointer test (inline: it runs for every packet).
  bool filter_allows(filter::Hook hook, const wire::Ipv4View& ip, uint16_t ifindex) {
    filter::RuleSet* f = link_.filter();  // re-read: set_filter replaces it
    return f == nullptr || filter_evaluate(*f, hook, ip, ifindex);
  }
  bool filter_evaluate(filter::RuleSet& f, filter::Hook hook, const wire::Ipv4View& ip,
                       uint16_t ifindex);
#endif
#if INLET_WITH_FORWARDING
  // Replicates a multicast datagram along its MFC entry; returns true when
  // the packet was consumed.
  bool forward_multicast(PacketRef& p, const wire::Ipv4View& ip, link::Interface& in,
                         bool deliver_locally);
  void forward(PacketRef p, const wire::Ipv4View& ip, link::Interface& in);
#endif
  // Sends a datagram (data at its IPv4 header) out of `out` toward
  // `next_hop`, fragmenting it when it exceeds the MTU and DF is clear.
  void transmit(PacketRef p, link::Interface& out, wire::Ipv4Address next_hop);
#if INLET_WITH_REASSEMBLY
  void fragment(PacketRef p, link::Interface& out, wire::Ipv4Address next_hop);
#endif
  bool icmp_host_allow(wire::Ipv4Address dst, uint8_t type);
  void icmp_input(PacketRef p, const Ipv4Delivery& d);
  void icmp_echo_reply(PacketRef p, const Ipv4Delivery& d);

  const Tunables& tunables_;
  BufferPool& pool_;
  Counters& counters_;
  const Clock& clock_;
  const Trace& trace_;
  link::LinkLayer& link_;
  Fib fib_;
  IcmpRateLimiter icmp_limiter_;
  // Per-destination ICMP limit (net.ipv4.icmp_ratelimit, Linux's inet_peer
  // token bucket): a small direct-mapped table, set up once.
  struct HostLimit {
    uint32_t addr = 0;
    double tokens = 0;
    absl::Time last = absl::InfinitePast();
  };
  std::array<HostLimit, 256> icmp_hosts_{};
#if INLET_WITH_REASSEMBLY
  Reassembler reasm_;
#endif
#if INLET_WITH_GRO
  Gro gro_;
#endif
#if INLET_WITH_FORWARDING
  struct MulticastRoute {
    wire::Ipv4Address group;
    uint16_t in_ifindex = 0;
    Vector<uint16_t> out;
  };
  Vector<MulticastRoute> mroutes_;
#endif
  std::array<TransportReceiver*, 256> transports_{};
  uint16_t next_ident_ = 1;
};

}  // namespace inlet::ip

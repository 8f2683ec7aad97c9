// Ipv4Layer: IPv4 receive (RFC 791 / 1122 3.2.1 / 1812 5.2.2 validation,
// martian filtering, local delivery, protocol demux), ICMP (echo, errors with
// RFC 1122 3.2.2 rules, rate limiting) and local output through the host's
// RouteTable. Hands datagrams upward through registered TransportReceivers.
#pragma once

#include <array>
#include <cstdint>

#include "core/buffer_pool.h"
#include "core/clock.h"
#include "core/counters.h"
#include "core/layers.h"
#include "core/trace.h"
#include "core/tunables.h"
#include "ip/icmp_rate_limit.h"
#include "ip/route_table.h"
#include "link/link_layer.h"

namespace inlet::ip {

class Ipv4Layer final : public NetworkReceiver {
 public:
  Ipv4Layer(const Tunables& tunables, BufferPool& pool, Counters& counters, const Clock& clock,
            const Trace& trace, link::LinkLayer& link);

  void register_transport(uint8_t protocol, TransportReceiver* receiver) {
    transports_[protocol] = receiver;
  }
  RouteTable& routes() { return routes_; }
  link::LinkLayer& link() { return link_; }
  const link::LinkLayer& link() const { return link_; }

  // From the link layer: data at the IPv4 header.
  void receive_ipv4(PacketRef packet, link::Interface& in) override;

  // Local output: `packet` holds the transport header and payload (data at the
  // transport header); prepends the IPv4 header, routes and transmits.
  // `src` 0.0.0.0 picks the outgoing interface's address. False (counted) when
  // there is no route.
  bool output(PacketRef packet, wire::Ipv4Address src, wire::Ipv4Address dst, uint8_t protocol,
              uint8_t tos = 0);

  // The source address output() would use toward `dst` (0.0.0.0 without a route).
  wire::Ipv4Address select_source(wire::Ipv4Address dst);

  // An ICMP error about `original` (its l3_offset marks the offending IPv4
  // header), unless RFC 1122 3.2.2 / RFC 1812 4.3.2.7 forbid one: never about
  // an ICMP error, a non-first fragment, a broadcast or multicast datagram, or
  // a source that is not a unicast host. Rate limited (icmp_ratemask).
  void send_icmp_error(const Packet& original, uint8_t type, uint8_t code, uint32_t rest = 0);

 private:
  void drop(PacketRef&& p, DropReason reason);
  bool martian_source(wire::Ipv4Address src, const link::Interface& in) const;
  void icmp_input(PacketRef p, const Ipv4Delivery& d);
  void icmp_echo_reply(PacketRef p, const Ipv4Delivery& d);

  const Tunables& tunables_;
  BufferPool& pool_;
  Counters& counters_;
  const Clock& clock_;
  const Trace& trace_;
  link::LinkLayer& link_;
  RouteTable routes_;
  IcmpRateLimiter icmp_limiter_;
  std::array<TransportReceiver*, 256> transports_{};
  uint16_t next_ident_ = 1;
};

}  // namespace inlet::ip

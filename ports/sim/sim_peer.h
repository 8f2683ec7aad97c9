// SimPeer: a scripted host at the far end of a SimPort's cable, for the demo,
// tests and benchmarks. It builds well-formed Ethernet/ARP/IPv4/ICMP/UDP
// frames (which callers may then damage on purpose) and decodes replies.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "wire/bytes.h"
#include "wire/tcp.h"

namespace inlet::sim {

using Frame = std::vector<uint8_t>;

class SimPeer {
 public:
  SimPeer(wire::MacAddress mac, wire::Ipv4Address ip) : mac_(mac), ip_(ip) {}

  const wire::MacAddress& mac() const { return mac_; }
  const wire::Ipv4Address& ip() const { return ip_; }

  Frame arp_request(wire::Ipv4Address target) const;
  Frame arp_reply(wire::MacAddress to_mac, wire::Ipv4Address to_ip) const;
  Frame gratuitous_arp() const;
  // An IPv4 datagram to (dst_mac, dst) carrying `payload` as protocol `proto`.
  Frame ipv4(wire::MacAddress dst_mac, wire::Ipv4Address dst, uint8_t proto,
             std::span<const uint8_t> payload, uint8_t ttl = 64, uint16_t ident = 1) const;
  Frame icmp_echo(wire::MacAddress dst_mac, wire::Ipv4Address dst, uint16_t ident, uint16_t seq,
                  std::span<const uint8_t> data) const;
  Frame udp(wire::MacAddress dst_mac, wire::Ipv4Address dst, uint16_t src_port, uint16_t dst_port,
            std::span<const uint8_t> data) const;

  Frame tcp(wire::MacAddress dst_mac, wire::Ipv4Address dst, const wire::TcpRepr& header,
            std::span<const uint8_t> payload) const;

  // A one-line description of a frame ("arp reply 192.0.2.2 is-at ...",
  // "icmp echo-reply id=1 seq=1 192.0.2.2 > 192.0.2.1", ...).
  static std::string describe(std::span<const uint8_t> frame);

 private:
  wire::MacAddress mac_;
  wire::Ipv4Address ip_;
};

}  // namespace inlet::sim

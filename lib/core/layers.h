// The interfaces between layers, in one place (as gVisor's registration.go):
// what a port offers the stack (core/port.h) and the upcall each layer is
// handed at set-up to pass packets to the layer above. Nothing else crosses.
#pragma once

#include <cstdint>

#include "core/packet.h"
#include "core/port.h"
#include "wire/bytes.h"

namespace inlet {

namespace link {
class Interface;
}

// What the network layer offers the link layer: a validated Ethernet frame of
// EtherType IPv4, data pointing at the IPv4 header, pkt_type set.
class NetworkReceiver {
 public:
  virtual ~NetworkReceiver() = default;
  virtual void receive_ipv4(PacketRef packet, link::Interface& in) = 0;
  // The end of one receive burst (GRO hands on what it held).
  virtual void end_of_burst() {}
};

// How IP delivered a datagram locally.
struct Ipv4Delivery {
  wire::Ipv4Address src;
  wire::Ipv4Address dst;
  link::Interface* in = nullptr;
  uint8_t ttl = 0;
  uint8_t tos = 0;
  bool broadcast = false;  // limited or directed broadcast destination
  bool multicast = false;
};

// What a transport protocol (UDP, later TCP) offers IP: a datagram whose data
// starts at the transport header (l3_offset/l4_offset set) and whose length
// is the IP payload length.
class TransportReceiver {
 public:
  virtual ~TransportReceiver() = default;
  virtual void receive(PacketRef packet, const Ipv4Delivery& delivery) = 0;
};

}  // namespace inlet

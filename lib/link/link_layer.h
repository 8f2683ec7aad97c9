// LinkLayer: the interfaces of a context, Ethernet and 802.1Q demux, ARP
// (replies, requests, the neighbour table) and Ethernet output. Hands IPv4
// upward through the NetworkReceiver it is given; never looks above IP.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "core/buffer_pool.h"
#include "core/clock.h"
#include "core/counters.h"
#include "core/layers.h"
#include "core/timer_wheel.h"
#include "core/trace.h"
#include "core/tunables.h"
#include "link/interface.h"
#include "link/neighbour.h"
#include "wire/arp.h"

namespace inlet::link {

class LinkLayer {
 public:
  LinkLayer(const Tunables& tunables, BufferPool& pool, Counters& counters, TimerWheel& timers,
            const Clock& clock, const Trace& trace);
  ~LinkLayer();

  Interface& add_interface(InterfaceConfig config, PortQueue* port);
  Interface* interface(uint16_t ifindex);
  const Interface* interface(uint16_t ifindex) const {
    return ifindex == 0 || ifindex > interfaces_.size() ? nullptr : interfaces_[ifindex - 1].get();
  }
  const std::vector<std::unique_ptr<Interface>>& interfaces() const { return interfaces_; }
  // The interface that owns address `a`, or nullptr.
  Interface* interface_with_address(wire::Ipv4Address a);
  void set_network_receiver(NetworkReceiver* receiver) { network_ = receiver; }

  // Receive: a burst of frames from one interface's port.
  void input(Interface& in, std::span<PacketRef> frames);
  // Transmit an IPv4 packet (data at the IPv4 header) toward `next_hop` on
  // `out`: resolved through ARP, waiting in the neighbour entry if needed.
  void output_ipv4(PacketRef packet, Interface& out, wire::Ipv4Address next_hop);
  // Hands every interface's queued frames to its port (once per poll).
  void flush();
  // Returns every buffer the layer holds (queued frames, ARP holds).
  void shutdown();

  NeighbourTable& neighbours() { return neighbours_; }

 private:
  void drop(PacketRef&& p, DropReason reason);
  void arp_input(Interface& in, PacketRef packet);
  void send_arp(Interface& out, wire::ArpOperation op, wire::MacAddress dst_mac,
                wire::MacAddress target_mac, wire::Ipv4Address target_ip,
                wire::Ipv4Address sender_ip);
  void send_frame(Interface& out, PacketRef packet, wire::MacAddress dst, uint16_t ethertype);
  void age_neighbours();

  const Tunables& tunables_;
  BufferPool& pool_;
  Counters& counters_;
  TimerWheel& timers_;
  const Clock& clock_;
  const Trace& trace_;
  NetworkReceiver* network_ = nullptr;
  std::vector<std::unique_ptr<Interface>> interfaces_;
  NeighbourTable neighbours_;
  Timer neighbour_timer_;
};

}  // namespace inlet::link

// Stack: one inlet context — a buffer pool, a NAPI poller over its ports'
// queues, a timer wheel, the link/IPv4/ICMP/UDP layers and their counters —
// run by one thread without locks. The application's entry point: set-up,
// sockets, the poll loop, counters and shutdown.
#pragma once

#include <poll.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/alloc.h"
#include "core/buffer_pool.h"
#include "core/clock.h"
#include "core/counters.h"
#include "core/features.h"
#include "core/log.h"
#include "core/poller.h"
#include "core/port.h"
#include "core/timer_wheel.h"
#include "core/trace.h"
#include "core/tunables.h"
#include "ip/ipv4_layer.h"
#include "link/link_layer.h"
#include "tcp/tcp_layer.h"
#include "udp/udp_layer.h"

namespace inlet {

struct InterfaceSpec {
  std::string name;             // defaults to the port's name
  wire::MacAddress mac;         // zero = a locally administered MAC derived from the ifindex
  uint32_t mtu = 1500;
  std::vector<link::InterfaceAddress> addresses;
  // 802.1Q 6.9 "Admit Only VLAN-tagged frames": untagged and priority-tagged
  // frames are dropped (rx_vlan_dropped); only VLAN sub-interfaces receive.
  bool tagged_only = false;
  // Take unicast frames for any destination MAC (here and on this
  // interface's VLAN sub-interfaces) instead of dropping them as OTHERHOST:
  // for pushing a capture of someone else's traffic through the whole stack
  // (inlet-replay --promisc). They stay PACKET_OTHERHOST: IP delivers them
  // when the IP destination is ours (Linux's promiscuous mode drops them
  // there), and never forwards them or sends an ICMP error for them.
  bool accept_any_destination = false;
};

// An 802.1Q sub-interface (Stack::add_vlan).
struct VlanSpec {
  std::string name;   // defaults to "<parent>.<vid>"
  uint32_t mtu = 0;   // 0 = the parent's; never above it
  std::vector<link::InterfaceAddress> addresses;
};

// A learning bridge's device (Stack::add_bridge), as Linux's br0.
struct BridgeSpec {
  std::string name;       // defaults to "br<N>", N counting this stack's bridges from 0
  wire::MacAddress mac;  // zero = the first member's MAC
  uint32_t mtu = 0;      // 0 = the smallest member MTU; never above it
  std::vector<link::InterfaceAddress> addresses;
};

class Stack {
 public:
  // `clock` (not owned) defaults to CLOCK_MONOTONIC; tests pass a ManualClock.
  explicit Stack(const Tunables& tunables = Tunables(), const Clock* clock = nullptr);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // Takes the port, attaches it to the pool and the poller, and adds the
  // connected routes of its addresses. Returns the interface.
  absl::StatusOr<link::Interface*> add_interface(std::unique_ptr<PortQueue> port,
                                                 InterfaceSpec spec);
  // A route via `gateway` (which must be on a connected subnet).
  absl::Status add_route(wire::Ipv4Address prefix, uint8_t prefix_length,
                         wire::Ipv4Address gateway, uint32_t metric = 0);
  // Any route: types local/unicast/blackhole/unreachable/prohibit, metrics,
  // ECMP next hops. A unicast next hop's gateway must be on a connected
  // subnet; its interface is filled in when 0. Takes effect at once (between
  // polls: a context is single-threaded).
  absl::Status add_route(ip::FibRoute route);
  absl::Status remove_route(wire::Ipv4Address prefix, uint8_t prefix_length,
                            std::optional<uint32_t> metric = std::nullopt);
  absl::Status set_default_gateway(wire::Ipv4Address gateway) {
    return add_route(wire::kIpv4Any, 0, gateway);
  }

#if INLET_WITH_VLAN
  // An 802.1Q sub-interface of `parent_ifindex` (a port or a bridge) for
  // VLAN `vid` (1..4094): the parent's MAC, its own ifindex, addresses and
  // connected routes, no port — it transmits through the parent's port with
  // the tag pushed, and receives the frames tagged `vid` on it.
  absl::StatusOr<link::Interface*> add_vlan(uint16_t parent_ifindex, uint16_t vid,
                                            VlanSpec spec = {});
#endif
#if INLET_WITH_BRIDGE
  // An IEEE 802.1D learning bridge over the port interfaces `member_ifindexes`
  // and its device interface (returned), where the stack's own addresses for
  // the bridged segment go (connected routes point at it). See docs/link.md.
  absl::StatusOr<link::Interface*> add_bridge(const std::vector<uint16_t>& member_ifindexes,
                                              BridgeSpec spec = {});
#endif

#if INLET_WITH_FILTER
  // Installs the packet filter (docs/filter.md), replacing any previous one;
  // `in NAME` is resolved against the interfaces now (an unknown name is an
  // error naming its line, and the previous filter stays). The IP layer
  // evaluates it through link().filter().
  absl::Status set_filter(filter::RuleSet rules);
  void clear_filter() { link_.set_filter(nullptr); }
  // The installed filter (hit counters, listing), or nullptr.
  filter::RuleSet* filter() { return link_.filter(); }
#endif

  absl::StatusOr<udp::UdpSocket*> udp_bind(wire::Ipv4Address address, uint16_t port,
                                           size_t rcvbuf = 0) {
    return udp_.bind(address, port, rcvbuf);
  }
  void udp_close(udp::UdpSocket* s) { udp_.close(s); }
  bool udp_send(const udp::UdpEndpoint& from, const udp::UdpEndpoint& to,
                std::span<const uint8_t> payload) {
    return udp_.send(from, to, payload);
  }

  absl::StatusOr<tcp::TcpListener*> tcp_listen(wire::Ipv4Address address, uint16_t port,
                                               size_t backlog = 128) {
    return tcp_.listen(address, port, backlog);
  }

  // One round: fire due timers, poll scheduled queues (NAPI), flush transmit.
  // Returns the frames processed.
  uint32_t poll();
  // True when a queue is still on the poll list: call poll() again.
  bool has_work() const { return poller_.has_work(); }
  // Sleeps until a port's interrupt fd is readable, the next timer is due or
  // `max_wait` passes, then schedules the queues that have frames.
  void wait(absl::Duration max_wait);
  // Polls and waits until `deadline` (by this stack's clock) or `*stop`.
  void run_until(absl::Time deadline, const volatile bool* stop = nullptr);

  // Detaches every port and releases every buffer the stack holds; the pool's
  // in_use() is 0 afterwards. Idempotent; the destructor calls it.
  void shutdown();

  Counters& counters() { return counters_; }
  const Counters& counters() const { return counters_; }
  BufferPool& pool() { return pool_; }
  Poller& poller() { return poller_; }
  TimerWheel& timers() { return timers_; }
  const Clock& clock() const { return *clock_; }
  const Tunables& tunables() const { return tunables_; }
  // Changes a knob that is read each time it is used (as sysctl -w on a
  // running kernel): inlet.gro, net.ipv4.ip_forward,
  // net.ipv4.conf.all.rp_filter, net.ipv4.icmp_echo_ignore_all and
  // net.ipv4.icmp_echo_ignore_broadcasts. Others size or configure parts at
  // set-up: FailedPrecondition (pass them to the constructor).
  absl::Status set_runtime_tunable(Tunable t, int64_t value);
  link::LinkLayer& link() { return link_; }
  ip::Ipv4Layer& ip() { return ip_; }
  udp::UdpLayer& udp() { return udp_; }
  tcp::TcpLayer& tcp() { return tcp_; }
  PortQueue* port(size_t i) { return ports_[i].get(); }
  void set_trace(Trace trace) { trace_ = trace; }
  // Where the stack's diagnostic messages go (core/log.h); none by default.
  void set_log(Log log) { log_ = log; }
  const Log& log() const { return log_; }

  // "pool: capacity=N in_use=N alloc_failures=N"
  std::string pool_line() const;
  // Counters in nstat format, the softnet line and the drop reasons.
  std::string report() const;

 private:
  absl::Status check_addresses(const std::vector<link::InterfaceAddress>& addresses) const;
  // add_interface without its log message. Takes the port when it succeeds
  // (and may when a later step fails); reads `spec` only.
  absl::StatusOr<link::Interface*> attach_interface(std::unique_ptr<PortQueue>& port,
                                                    const InterfaceSpec& spec);
  // The connected route of each of the interface's addresses.
  absl::Status add_connected_routes(const link::Interface& iface);

  Tunables tunables_;
  MonotonicClock default_clock_;
  const Clock* clock_;
  Counters counters_;
  BufferPool pool_;
  TimerWheel timers_;
  Trace trace_;
  Log log_;
  bool pool_exhaustion_logged_ = false;  // the first exhaustion is logged, once
  link::LinkLayer link_;
  ip::Ipv4Layer ip_;
  udp::UdpLayer udp_;
  tcp::TcpLayer tcp_;
  Poller poller_;
  Vector<std::unique_ptr<PortQueue>> ports_;  // the ports themselves are the embedder's
  Vector<pollfd> wait_fds_;
  bool shut_down_ = false;
};

}  // namespace inlet

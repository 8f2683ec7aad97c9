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
#include "core/buffer_pool.h"
#include "core/clock.h"
#include "core/counters.h"
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
                         wire::Ipv4Address gateway);
  absl::Status set_default_gateway(wire::Ipv4Address gateway) {
    return add_route(wire::kIpv4Any, 0, gateway);
  }

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
  link::LinkLayer& link() { return link_; }
  ip::Ipv4Layer& ip() { return ip_; }
  udp::UdpLayer& udp() { return udp_; }
  tcp::TcpLayer& tcp() { return tcp_; }
  PortQueue* port(size_t i) { return ports_[i].get(); }
  void set_trace(Trace trace) { trace_ = trace; }

  // "pool: capacity=N in_use=N alloc_failures=N"
  std::string pool_line() const;
  // Counters in nstat format, the softnet line and the drop reasons.
  std::string report() const;

 private:
  Tunables tunables_;
  MonotonicClock default_clock_;
  const Clock* clock_;
  Counters counters_;
  BufferPool pool_;
  TimerWheel timers_;
  Trace trace_;
  link::LinkLayer link_;
  ip::Ipv4Layer ip_;
  udp::UdpLayer udp_;
  tcp::TcpLayer tcp_;
  Poller poller_;
  std::vector<std::unique_ptr<PortQueue>> ports_;
  std::vector<pollfd> wait_fds_;
  bool shut_down_ = false;
};

}  // namespace inlet

#include "api/stack.h"

#include <sched.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace inlet {

namespace {

BufferPoolConfig pool_config(const Tunables& t) {
  BufferPoolConfig c;
  c.buffers = static_cast<uint32_t>(t.get(Tunable::kPoolBuffers));
  c.buffer_size = static_cast<uint32_t>(t.get(Tunable::kPoolBufferSize));
  return c;
}

PollerConfig poller_config(const Tunables& t) {
  PollerConfig c;
  c.budget = static_cast<uint32_t>(t.get(Tunable::kNetdevBudget));
  c.time_limit = absl::Microseconds(t.get(Tunable::kNetdevBudgetUsecs));
  c.weight = static_cast<uint32_t>(t.get(Tunable::kDevWeight));
  c.busy_poll = absl::Microseconds(t.get(Tunable::kBusyPoll));
  return c;
}

}  // namespace

Stack::Stack(const Tunables& tunables, const Clock* clock)
    : tunables_(tunables),
      clock_(clock != nullptr ? clock : &default_clock_),
      pool_(pool_config(tunables_), &counters_),
      timers_(clock_->now()),
      link_(tunables_, pool_, counters_, timers_, *clock_, trace_),
      ip_(tunables_, pool_, counters_, *clock_, trace_, link_, timers_),
      udp_(tunables_, pool_, counters_, trace_, ip_),
      tcp_(tunables_, pool_, counters_, timers_, *clock_, trace_, ip_),
      poller_(poller_config(tunables_), *clock_) {
  link_.set_network_receiver(&ip_);
  // End of a poll: TCP's wake-ups and ACKs (one per connection), then transmit.
  poller_.set_poll_end_hook([this] {
    tcp_.flush();
    link_.flush();
  });
}

Stack::~Stack() { shutdown(); }

absl::StatusOr<link::Interface*> Stack::add_interface(std::unique_ptr<PortQueue> port,
                                                      InterfaceSpec spec) {
  // The name views `spec` or the port, both alive until we return: the port
  // is ours or, once taken, ports_'s.
  const std::string_view name = !spec.name.empty() ? std::string_view(spec.name)
                                : port != nullptr  ? port->name()
                                                   : std::string_view("?");
  absl::StatusOr<link::Interface*> iface = attach_interface(port, spec);
  if (!iface.ok()) {
    log_.warning("interface %s refused: %s", absl::string_view(name.data(), name.size()),
                 iface.status().message());
  } else if (log_.enabled(LogLevel::kInfo)) {  // to_string() allocates: only for a sink
    log_.info("interface %s ifindex %u mac %s mtu %u up", (*iface)->name(), (*iface)->ifindex(),
              (*iface)->mac().to_string(), (*iface)->mtu());
  }
  return iface;
}

absl::StatusOr<link::Interface*> Stack::attach_interface(std::unique_ptr<PortQueue>& port,
                                                         const InterfaceSpec& spec) {
  if (shut_down_) return absl::FailedPreconditionError("the stack is shut down");
  if (port == nullptr) return absl::InvalidArgumentError("no port");
  if (spec.mtu < 68 || spec.mtu + 18 > pool_.buffer_size() - pool_.headroom()) {
    // StrFormat: one call over the packed arguments, where StrCat inlines the
    // conversion of each number (set-up paths, docs/footprint.md).
    return absl::InvalidArgumentError(absl::StrFormat(
        "MTU %u must be within [68, %u] for inlet.pool.buffer_size=%u", spec.mtu,
        pool_.buffer_size() - pool_.headroom() - 18, pool_.buffer_size()));
  }
  if (absl::Status s = check_addresses(spec.addresses); !s.ok()) return s;
  link::InterfaceConfig config;
  config.name.assign(spec.name.empty() ? port->name() : std::string_view(spec.name));
  config.mac = spec.mac;
  if (config.mac.is_zero()) {
    const uint16_t n = static_cast<uint16_t>(link_.interfaces().size() + 1);
    config.mac = wire::MacAddress({0x02, 0x00, 0x5e, 0x10, static_cast<uint8_t>(n >> 8),
                                   static_cast<uint8_t>(n)});
  }
  config.mtu = spec.mtu;
  // Built from the range (the iterator-pair constructor) rather than
  // assign()ed: no assign() path linked.
  config.addresses = {spec.addresses.begin(), spec.addresses.end()};
  PortQueue* raw = port.get();
  ports_.push_back(std::move(port));
  link::Interface& iface = link_.add_interface(std::move(config), raw);
  iface.set_tagged_only(spec.tagged_only);
  iface.set_accept_any_destination(spec.accept_any_destination);
  if (absl::Status st = add_connected_routes(iface); !st.ok()) return st;
  raw->attach(pool_);
  poller_.add_queue(raw, [this, &iface](std::span<PacketRef> batch) { link_.input(iface, batch); });
  return &iface;
}

absl::Status Stack::check_addresses(const std::vector<link::InterfaceAddress>& addresses) const {
  for (const link::InterfaceAddress& a : addresses) {
    if (a.prefix_length > 32 || !a.address.is_unicast() || a.address.is_loopback()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("bad interface address %s/%u", a.address.to_string(),
                          unsigned{a.prefix_length}));
    }
  }
  return absl::OkStatus();
}

absl::Status Stack::add_connected_routes(const link::Interface& iface) {
  for (const link::InterfaceAddress& a : iface.addresses()) {
    // Connected route (scope link, as the kernel's proto kernel routes); a
    // second address on the same subnet is fine.
    ip::FibRoute r;
    r.prefix = a.network();
    r.prefix_length = a.prefix_length;
    r.nexthops[0] = {iface.ifindex(), wire::kIpv4Any, 1};
    absl::Status st = ip_.routes().add(r);
    // A full FIB must not leave an interface silently unroutable.
    if (!st.ok() && !absl::IsAlreadyExists(st)) {
      return absl::Status(st.code(), absl::StrFormat("%s: connected route: %s", iface.name(), st.message()));
    }
  }
  return absl::OkStatus();
}

#if INLET_WITH_VLAN
absl::StatusOr<link::Interface*> Stack::add_vlan(uint16_t parent_ifindex, uint16_t vid,
                                                 VlanSpec spec) {
  if (shut_down_) return absl::FailedPreconditionError("the stack is shut down");
  link::Interface* parent = link_.interface(parent_ifindex);
  if (parent == nullptr) {
    return absl::NotFoundError(absl::StrCat("no interface with ifindex ", parent_ifindex));
  }
  if (absl::Status s = check_addresses(spec.addresses); !s.ok()) return s;
  link::InterfaceConfig config;
  config.name = spec.name.empty() ? absl::StrCat(parent->name(), ".", vid) : spec.name;
  config.mac = parent->mac();
  config.mtu = spec.mtu == 0 ? parent->mtu() : spec.mtu;
  if (config.mtu < 68) return absl::InvalidArgumentError(absl::StrCat("MTU ", config.mtu, " is below 68"));
  // Built from the range (the iterator-pair constructor) rather than
  // assign()ed: no assign() path linked.
  config.addresses = {spec.addresses.begin(), spec.addresses.end()};
  absl::StatusOr<link::Interface*> sub = link_.add_vlan(*parent, vid, std::move(config));
  if (sub.ok()) {
    if (absl::Status st = add_connected_routes(**sub); !st.ok()) return st;
  }
  return sub;
}

#endif  // INLET_WITH_VLAN

#if INLET_WITH_BRIDGE
absl::StatusOr<link::Interface*> Stack::add_bridge(const std::vector<uint16_t>& member_ifindexes,
                                                   BridgeSpec spec) {
  if (shut_down_) return absl::FailedPreconditionError("the stack is shut down");
  Vector<link::Interface*> members;
  uint32_t min_mtu = 0;
  for (const uint16_t ifindex : member_ifindexes) {
    link::Interface* m = link_.interface(ifindex);
    if (m == nullptr) return absl::NotFoundError(absl::StrCat("no interface with ifindex ", ifindex));
    members.push_back(m);
    if (min_mtu == 0 || m->mtu() < min_mtu) min_mtu = m->mtu();
  }
  if (members.empty()) return absl::InvalidArgumentError("a bridge needs at least one port");
  if (absl::Status s = check_addresses(spec.addresses); !s.ok()) return s;
  link::InterfaceConfig config;
  config.name = spec.name.empty() ? absl::StrCat("br", link_.bridges().size()) : spec.name;
  config.mac = spec.mac.is_zero() ? members.front()->mac() : spec.mac;
  config.mtu = spec.mtu == 0 ? min_mtu : spec.mtu;
  if (config.mtu < 68) return absl::InvalidArgumentError(absl::StrCat("MTU ", config.mtu, " is below 68"));
  // Built from the range (the iterator-pair constructor) rather than
  // assign()ed: no assign() path linked.
  config.addresses = {spec.addresses.begin(), spec.addresses.end()};
  absl::StatusOr<link::Interface*> device = link_.add_bridge(std::move(members), std::move(config));
  if (device.ok()) {
    if (absl::Status st = add_connected_routes(**device); !st.ok()) return st;
  }
  return device;
}

#endif  // INLET_WITH_BRIDGE

#if INLET_WITH_FILTER
absl::Status Stack::set_filter(filter::RuleSet rules) {
  absl::Status s = rules.resolve_interfaces([this](std::string_view name) -> std::optional<uint16_t> {
    for (const auto& iface : link_.interfaces()) {
      if (iface->name() == name) return iface->ifindex();
    }
    return std::nullopt;
  });
  if (!s.ok()) {
    log_.warning("filter refused: %s", s.message());
    return s;
  }
  link_.set_filter(allocate_unique<filter::RuleSet>(std::move(rules)));
  log_.info("filter installed");
  return absl::OkStatus();
}

#endif  // INLET_WITH_FILTER

absl::Status Stack::add_route(wire::Ipv4Address prefix, uint8_t prefix_length,
                              wire::Ipv4Address gateway, uint32_t metric) {
  ip::FibRoute r;
  r.prefix = prefix;
  r.prefix_length = prefix_length;
  r.metric = metric;
  r.nexthops[0].gateway = gateway;
  return add_route(r);
}

absl::Status Stack::add_route(ip::FibRoute route) {
  if (route.type == ip::RouteType::kUnicast) {
    // A gateway must be on a connected subnet; its interface is found here
    // when the route does not name one (as `ip route add ... via GW`).
    for (uint8_t i = 0; i < route.nexthop_count && i < route.nexthops.size(); ++i) {
      ip::FibNextHop& nh = route.nexthops[i];
      if (nh.gateway.is_unspecified()) {
        if (link_.interface(nh.ifindex) == nullptr) {
          return absl::InvalidArgumentError("a directly connected route needs an interface");
        }
        continue;
      }
      const link::Interface* via = nullptr;
      for (const auto& iface : link_.interfaces()) {
        if (iface->on_link(nh.gateway) != nullptr && (nh.ifindex == 0 || nh.ifindex == iface->ifindex())) {
          via = iface.get();
          break;
        }
      }
      if (via == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("gateway ", nh.gateway.to_string(), " is not on a connected subnet"));
      }
      nh.ifindex = via->ifindex();
    }
  }
  absl::Status st = ip_.routes().add(route);
  if (!st.ok() && log_.enabled(LogLevel::kDebug)) {  // to_string() allocates: only for a sink
    log_.debug("route %s/%u refused: %s", route.prefix.to_string(), route.prefix_length,
               st.message());
  }
  return st;
}

absl::Status Stack::remove_route(wire::Ipv4Address prefix, uint8_t prefix_length,
                                 std::optional<uint32_t> metric) {
  return ip_.routes().remove(prefix, prefix_length, metric);
}

absl::Status Stack::set_runtime_tunable(Tunable t, int64_t value) {
  switch (t) {
    case Tunable::kGro:
    case Tunable::kIpForward:
    case Tunable::kRpFilter:
    case Tunable::kIcmpEchoIgnoreAll:
    case Tunable::kIcmpEchoIgnoreBroadcasts:
      // Range-checked; nothing changes on error.
      return tunables_.set(Tunables::name(t), absl::StrCat(value));
    default:
      return absl::FailedPreconditionError(absl::StrCat(
          absl::string_view(Tunables::name(t).data(), Tunables::name(t).size()),
          " is read at set-up: pass it in the Tunables the Stack is built with"));
  }
}

uint32_t Stack::poll() {
  timers_.advance(clock_->now());
  const uint32_t n = poller_.poll();
  ip_.end_of_burst();  // each burst ends with one; this covers frames from outside a burst
  // Timer-driven output (ARP probes, delayed ACKs) and window updates from
  // reads outside a poll also leave this round.
  tcp_.flush();
  link_.flush();
  if (!pool_exhaustion_logged_ && pool_.alloc_failures() != 0) [[unlikely]] {
    pool_exhaustion_logged_ = true;
    log_.warning("buffer pool exhausted (capacity %u, inlet.pool.buffers): frames are dropped, "
                 "counted in rx_nobuf",
                 pool_.capacity());
  }
  return n;
}

void Stack::wait(absl::Duration max_wait) {
  if (poller_.has_work()) return;
  Vector<pollfd>& fds = wait_fds_;  // reused: no allocation per wait
  fds.clear();
  for (const auto& p : ports_) {
    if (p->interrupt_fd() >= 0) fds.push_back({p->interrupt_fd(), POLLIN, 0});
  }
  absl::Duration timeout = max_wait;
  const absl::Time next = timers_.next_deadline();
  if (next != absl::InfiniteFuture()) timeout = std::min(timeout, next - clock_->now());
  timeout = std::max(timeout, absl::ZeroDuration());
  const int ms = static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(timeout, absl::Milliseconds(1))));
  ::poll(fds.data(), fds.size(), ms);
  poller_.schedule_pending();
}

void Stack::run_until(absl::Time deadline, const volatile bool* stop) {
  while ((stop == nullptr || !*stop) && clock_->now() < deadline) {
    const uint32_t frames = poll();
    if (!poller_.has_work()) {
      wait(std::min(absl::Milliseconds(100), deadline - clock_->now()));
    } else if (frames == 0) {
      // Busy polling found nothing: let a thread woken on this CPU (the
      // peer this stack just answered, often) run, as the kernel's busy
      // loop stops on need_resched().
      sched_yield();
    }
  }
}

void Stack::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  tcp_.shutdown();
  udp_.shutdown();
  ip_.shutdown();
  link_.shutdown();
  for (auto& p : ports_) p->detach();
  if (pool_.in_use() != 0) {
    log_.warning("shutdown: %u buffers still held (by the application?)", pool_.in_use());
  }
}

std::string Stack::pool_line() const {
  return absl::StrFormat("pool: capacity=%u in_use=%u alloc_failures=%u", pool_.capacity(),
                         pool_.in_use(), pool_.alloc_failures());
}

std::string Stack::report() const {
  Counters c = counters_;
  c.set(Counter::TcpCurrEstab, tcp_.established_count());  // a gauge, as Linux
  std::string out = c.to_nstat();
  // softnet_stat's "dropped" column: frames lost for want of a buffer.
  SoftnetStat softnet = poller_.stats();
  softnet.dropped = counters_.drops(DropReason::kPoolExhausted);
  out += softnet_line(softnet, 0);
  out += counters_.drop_reasons_text();
  return out;
}

}  // namespace inlet

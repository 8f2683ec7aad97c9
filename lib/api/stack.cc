#include "api/stack.h"


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
      ip_(tunables_, pool_, counters_, *clock_, trace_, link_),
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
  if (shut_down_) return absl::FailedPreconditionError("the stack is shut down");
  if (port == nullptr) return absl::InvalidArgumentError("no port");
  if (spec.mtu < 68 || spec.mtu + 18 > pool_.buffer_size() - pool_.headroom()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MTU ", spec.mtu, " must be within [68, ", pool_.buffer_size() - pool_.headroom() - 18,
        "] for inlet.pool.buffer_size=", pool_.buffer_size()));
  }
  for (const link::InterfaceAddress& a : spec.addresses) {
    if (a.prefix_length > 32 || !a.address.is_unicast() || a.address.is_loopback()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad interface address ", a.address.to_string(), "/", a.prefix_length));
    }
  }
  link::InterfaceConfig config;
  config.name = spec.name.empty() ? std::string(port->name()) : spec.name;
  config.mac = spec.mac;
  if (config.mac.is_zero()) {
    const uint16_t n = static_cast<uint16_t>(link_.interfaces().size() + 1);
    config.mac = wire::MacAddress({0x02, 0x00, 0x5e, 0x10, static_cast<uint8_t>(n >> 8),
                                   static_cast<uint8_t>(n)});
  }
  config.mtu = spec.mtu;
  config.addresses = spec.addresses;
  PortQueue* raw = port.get();
  ports_.push_back(std::move(port));
  link::Interface& iface = link_.add_interface(std::move(config), raw);
  for (const link::InterfaceAddress& a : iface.addresses()) {
    // Connected route; a second address on the same subnet is fine.
    (void)ip_.routes().add({a.network(), a.prefix_length, wire::kIpv4Any, iface.ifindex()});
  }
  raw->attach(pool_);
  poller_.add_queue(raw, [this, &iface](std::span<PacketRef> batch) { link_.input(iface, batch); });
  return &iface;
}

absl::Status Stack::add_route(wire::Ipv4Address prefix, uint8_t prefix_length,
                              wire::Ipv4Address gateway) {
  for (const auto& iface : link_.interfaces()) {
    if (iface->on_link(gateway) != nullptr) {
      return ip_.routes().add({prefix, prefix_length, gateway, iface->ifindex()});
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("gateway ", gateway.to_string(), " is not on a connected subnet"));
}

uint32_t Stack::poll() {
  timers_.advance(clock_->now());
  const uint32_t n = poller_.poll();
  // Timer-driven output (ARP probes, delayed ACKs) and window updates from
  // reads outside a poll also leave this round.
  tcp_.flush();
  link_.flush();
  return n;
}

void Stack::wait(absl::Duration max_wait) {
  if (poller_.has_work()) return;
  std::vector<pollfd>& fds = wait_fds_;  // reused: no allocation per wait
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
    poll();
    if (!poller_.has_work()) wait(std::min(absl::Milliseconds(100), deadline - clock_->now()));
  }
}

void Stack::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  tcp_.shutdown();
  udp_.shutdown();
  link_.shutdown();
  for (auto& p : ports_) p->detach();
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

// A whole inlet Stack on several in-memory NICs (one SimPort per interface)
// and virtual time, for the link_*_test.cc behaviour tests that need more
// than one port (the learning bridge): inject frames on any port, poll until
// idle, collect what each port transmitted, assert exact counter movements,
// and check that shutdown returns every buffer. Builds on stack_fixture.h.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "stack_fixture.h"

namespace inlet::stack_test {

// "" when, since `before`, exactly the listed counters moved by exactly the
// listed amounts (byte counters ignored unless listed); else every difference.
inline std::string counters_moved(const Counters& now, const CounterSnapshot& before,
                                  const StackHarness::Expected& expected) {
  std::map<Counter, uint64_t> want(expected.begin(), expected.end());
  std::string diff;
  for (size_t i = 0; i < kCounterCount; ++i) {
    const Counter c = static_cast<Counter>(i);
    const uint64_t got = now.get(c) - before.values[i];
    auto it = want.find(c);
    if (it == want.end() && is_byte_counter(c)) continue;
    const uint64_t w = it == want.end() ? 0 : it->second;
    if (got != w) {
      diff += absl::StrFormat("%s: moved by %d, expected %d; ", std::string(counter_name(c)), got, w);
    }
  }
  return diff;
}

// An Ethernet II frame of `length` bytes (header included) with a payload of
// recognisable bytes.
inline Bytes ethernet_frame(wire::MacAddress dst, wire::MacAddress src, uint16_t ethertype,
                            size_t length = 64, uint8_t fill = 0x5A) {
  Bytes f(length, fill);
  wire::EthernetRepr{dst, src, ethertype}.emit(f);
  for (size_t i = kEth; i < f.size(); ++i) f[i] = static_cast<uint8_t>(fill + i);
  return f;
}

struct PortOptions {
  uint32_t mtu = 1500;
  std::vector<link::InterfaceAddress> addresses;  // none by default
};

using PerPort = std::vector<std::vector<Bytes>>;

class MultiPortHarness {
 public:
  explicit MultiPortHarness(std::vector<PortOptions> ports,
                            std::vector<std::pair<Tunable, int64_t>> sysctls = {}) {
    for (const auto& [knob, value] : sysctls) tunables_.set(knob, value);
    stack_ = std::make_unique<Stack>(tunables_, &clock_);
    for (size_t i = 0; i < ports.size(); ++i) {
      const std::string name = "sim" + std::to_string(i);
      auto port = std::make_unique<sim::SimPort>(
          sim::SimPortConfig{.name = name, .rx_ring_size = 64});
      nics_.push_back(port.get());
      InterfaceSpec spec;
      spec.name = name;
      spec.mtu = ports[i].mtu;
      spec.addresses = ports[i].addresses;
      auto iface = stack_->add_interface(std::move(port), spec);
      REQUIRE(iface.ok());
      ifaces_.push_back(*iface);
    }
  }
  ~MultiPortHarness() { stack_->shutdown(); }
  MultiPortHarness(const MultiPortHarness&) = delete;
  MultiPortHarness& operator=(const MultiPortHarness&) = delete;

  Stack& stack() { return *stack_; }
  Counters& counters() { return stack_->counters(); }
  ManualClock& clock() { return clock_; }
  sim::SimPort& nic(size_t i) { return *nics_[i]; }
  link::Interface& iface(size_t i) { return *ifaces_[i]; }
  size_t ports() const { return nics_.size(); }

  void inject(size_t port, const Bytes& frame) { REQUIRE(nics_[port]->wire_receive(frame)); }
  // Polls until no queue is scheduled; transmitted frames stay on the ports.
  void poll_idle() {
    for (int i = 0; i < 1000; ++i) {
      stack_->poll();
      if (!stack_->has_work()) break;
    }
  }
  // What each port transmitted since the last collect.
  PerPort collect() {
    PerPort out(nics_.size());
    for (size_t i = 0; i < nics_.size(); ++i) out[i] = nics_[i]->wire_collect_all();
    return out;
  }
  PerPort run() {
    poll_idle();
    return collect();
  }
  PerPort exchange(size_t port, const Bytes& frame) {
    inject(port, frame);
    return run();
  }
  // Moves virtual time forward in `step`s, polling after each.
  PerPort advance(absl::Duration total, absl::Duration step = absl::Milliseconds(100)) {
    PerPort sent(nics_.size());
    for (absl::Duration done; done < total; done += step) {
      clock_.advance(std::min(step, total - done));
      PerPort now = run();
      for (size_t i = 0; i < now.size(); ++i) {
        for (Bytes& f : now[i]) sent[i].push_back(std::move(f));
      }
    }
    return sent;
  }

  uint64_t count(Counter c) const { return stack_->counters().get(c); }
  CounterSnapshot snapshot() const {
    CounterSnapshot s;
    for (size_t i = 0; i < kCounterCount; ++i) s.values[i] = count(static_cast<Counter>(i));
    return s;
  }
  std::string counter_diff(const CounterSnapshot& before, const StackHarness::Expected& expected) const {
    return counters_moved(stack_->counters(), before, expected);
  }

  void finish() {
    stack_->shutdown();
    CHECK(stack_->pool().in_use() == 0);
    CHECK(stack_->pool().descriptors_in_use() == 0);
  }

 private:
  ManualClock clock_;
  Tunables tunables_;
  std::unique_ptr<Stack> stack_;
  std::vector<sim::SimPort*> nics_;
  std::vector<link::Interface*> ifaces_;
};

}  // namespace inlet::stack_test

// A whole inlet Stack on an in-memory NIC (SimPort), a scripted peer
// (SimPeer) and virtual time (ManualClock), for the stack_*_test.cc behaviour
// tests: inject frames, poll until idle, collect what the stack transmitted,
// assert exact counter movements, and check that shutdown returns every buffer.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "api/stack.h"
#include "core/clock.h"
#include "core/counters.h"
#include "core/tunables.h"
#include "ports/sim/sim_peer.h"
#include "ports/sim/sim_port.h"
#include "wire/arp.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/udp.h"
#include "wire/vlan.h"

namespace inlet::stack_test {

using Bytes = std::vector<uint8_t>;

inline wire::Ipv4Address ip(const char* text) {
  auto a = wire::Ipv4Address::parse(text);
  REQUIRE(a.has_value());
  return *a;
}

inline wire::MacAddress mac(const char* text) {
  auto m = wire::MacAddress::parse(text);
  REQUIRE(m.has_value());
  return *m;
}

inline Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

// --- frame surgery: a SimPeer frame, then damaged on purpose ------------------

inline constexpr size_t kEth = wire::kEthernetHeaderLength;

// The IPv4 header of an untagged frame (from byte 14).
inline std::span<uint8_t> ip_header_of(Bytes& frame) {
  return std::span<uint8_t>(frame).subspan(kEth);
}
// Recomputes the IPv4 header checksum of an untagged frame after an edit.
inline void refill_ip_checksum(Bytes& frame) {
  REQUIRE(wire::ipv4_fill_checksum(ip_header_of(frame)));
}

// An Ethernet frame around an IPv4 datagram built from `repr` (options,
// fragment fields and all) and `payload`.
inline Bytes ipv4_frame(wire::MacAddress dst_mac, wire::MacAddress src_mac, wire::Ipv4Repr repr,
                        std::span<const uint8_t> payload) {
  repr.payload_length = static_cast<uint16_t>(payload.size());
  Bytes f(kEth + repr.total_length());
  wire::EthernetRepr{dst_mac, src_mac, wire::ethertype::kIpv4}.emit(f);
  REQUIRE(repr.emit(std::span<uint8_t>(f).subspan(kEth)) == repr.header_length());
  std::copy(payload.begin(), payload.end(), f.begin() + kEth + repr.header_length());
  return f;
}

// A UDP header + payload with a correct checksum for (src, dst).
inline Bytes udp_datagram(wire::Ipv4Address src, wire::Ipv4Address dst, uint16_t sport,
                          uint16_t dport, std::span<const uint8_t> payload) {
  wire::UdpRepr repr{sport, dport, static_cast<uint16_t>(payload.size())};
  Bytes d(repr.total_length());
  std::copy(payload.begin(), payload.end(), d.begin() + wire::kUdpHeaderLength);
  REQUIRE(repr.emit(d, src, dst) == wire::kUdpHeaderLength);
  return d;
}

// Inserts an 802.1Q (or 802.1ad) tag after the MAC addresses.
inline Bytes with_vlan_tag(const Bytes& frame, uint16_t tci, uint16_t tpid = wire::ethertype::kVlan) {
  Bytes f(frame.begin(), frame.begin() + 12);
  f.push_back(static_cast<uint8_t>(tpid >> 8));
  f.push_back(static_cast<uint8_t>(tpid));
  f.push_back(static_cast<uint8_t>(tci >> 8));
  f.push_back(static_cast<uint8_t>(tci));
  f.insert(f.end(), frame.begin() + 12, frame.end());
  return f;
}

// --- decoding what the stack sent ------------------------------------------------

struct SentIpv4 {
  wire::EthernetView eth;
  wire::Ipv4View ip;
};

// Parses an untagged Ethernet/IPv4 frame the stack transmitted, requiring a
// valid header checksum.
inline SentIpv4 parse_sent_ipv4(const Bytes& frame) {
  auto eth = wire::EthernetView::parse(frame);
  REQUIRE(eth.ok());
  REQUIRE(eth->ethertype() == wire::ethertype::kIpv4);
  auto ip4 = wire::Ipv4View::parse(eth->payload(), wire::ChecksumMode::kVerify);
  REQUIRE(ip4.ok());
  return {*eth, *ip4};
}

inline wire::ArpView parse_sent_arp(const Bytes& frame) {
  auto eth = wire::EthernetView::parse(frame);
  REQUIRE(eth.ok());
  REQUIRE(eth->ethertype() == wire::ethertype::kArp);
  auto arp = wire::ArpView::parse(eth->payload());
  REQUIRE(arp.ok());
  return *arp;
}

// --- counters ---------------------------------------------------------------------

struct CounterSnapshot {
  std::array<uint64_t, kCounterCount> values{};
};

inline bool is_byte_counter(Counter c) {
  return c == Counter::rx_bytes || c == Counter::tx_bytes || c == Counter::IpExtInOctets ||
         c == Counter::IpExtOutOctets;
}

// --- the harness --------------------------------------------------------------------

struct HarnessOptions {
  std::vector<std::pair<Tunable, int64_t>> sysctls;
  // "key=value" assignments as sysctl -w takes them, for vector knobs
  // ("net.ipv4.tcp_rmem=4096 16384 16384"); applied after `sysctls`.
  std::vector<std::string> sysctl_lines;
  std::vector<link::InterfaceAddress> addresses;  // empty = 192.0.2.2/24
  uint32_t mtu = 1500;
  uint32_t rx_ring_size = 64;
};

class StackHarness {
 public:
  static constexpr const char* kOurIp = "192.0.2.2";
  static constexpr const char* kPeerIp = "192.0.2.1";
  static constexpr const char* kPeerMac = "02:00:00:00:00:01";

  explicit StackHarness(HarnessOptions options = {})
      : peer_(mac(kPeerMac), ip(kPeerIp)) {
    for (const auto& [knob, value] : options.sysctls) tunables_.set(knob, value);
    for (const std::string& line : options.sysctl_lines) REQUIRE(tunables_.set_assignment(line).ok());
    stack_ = std::make_unique<Stack>(tunables_, &clock_);
    auto port = std::make_unique<sim::SimPort>(
        sim::SimPortConfig{.name = "sim0", .rx_ring_size = options.rx_ring_size});
    nic_ = port.get();
    InterfaceSpec spec;
    spec.name = "sim0";
    spec.mtu = options.mtu;
    spec.addresses = options.addresses.empty()
                         ? std::vector<link::InterfaceAddress>{{ip(kOurIp), 24}}
                         : options.addresses;
    auto iface = stack_->add_interface(std::move(port), spec);
    REQUIRE(iface.ok());
    iface_ = *iface;
  }
  ~StackHarness() { stack_->shutdown(); }
  StackHarness(const StackHarness&) = delete;
  StackHarness& operator=(const StackHarness&) = delete;

  Stack& stack() { return *stack_; }
  Counters& counters() { return stack_->counters(); }
  sim::SimPort& nic() { return *nic_; }
  link::Interface& iface() { return *iface_; }
  ManualClock& clock() { return clock_; }
  const sim::SimPeer& peer() const { return peer_; }
  wire::MacAddress our_mac() const { return iface_->mac(); }
  wire::Ipv4Address our_ip() const { return iface_->addresses().front().address; }
  link::NeighbourTable& neighbours() { return stack_->link().neighbours(); }

  // Polls until no queue is scheduled, then returns what the stack sent.
  std::vector<Bytes> run() {
    for (int i = 0; i < 1000; ++i) {
      stack_->poll();
      if (!stack_->has_work()) break;
    }
    return nic_->wire_collect_all();
  }
  // Puts frames on the wire (as the NIC's DMA would), then run().
  std::vector<Bytes> exchange(const std::vector<Bytes>& frames) {
    for (const Bytes& f : frames) REQUIRE(nic_->wire_receive(f));
    return run();
  }
  std::vector<Bytes> exchange(const Bytes& frame) { return exchange(std::vector<Bytes>{frame}); }
  // Moves virtual time forward in `step`s, polling after each (timers fire
  // from poll()); returns everything sent meanwhile.
  std::vector<Bytes> advance(absl::Duration total, absl::Duration step = absl::Milliseconds(100)) {
    std::vector<Bytes> sent;
    for (absl::Duration done; done < total; done += step) {
      clock_.advance(std::min(step, total - done));
      for (Bytes& f : run()) sent.push_back(std::move(f));
    }
    return sent;
  }
  // The peer announces itself with an ARP request for our address, so the
  // stack can answer it without resolving first; the ARP reply is discarded.
  void learn_peer() {
    const auto sent = exchange(peer_.arp_request(our_ip()));
    REQUIRE(sent.size() == 1);
    REQUIRE(neighbours().find(peer_.ip()) != nullptr);
  }

  uint64_t count(Counter c) const { return stack_->counters().get(c); }
  CounterSnapshot snapshot() const {
    CounterSnapshot s;
    for (size_t i = 0; i < kCounterCount; ++i) s.values[i] = count(static_cast<Counter>(i));
    return s;
  }
  // "" when, since `before`, exactly the listed counters moved and by exactly
  // the listed amounts (byte counters are ignored unless listed); otherwise a
  // description of every difference.
  using Expected = std::vector<std::pair<Counter, uint64_t>>;
  std::string counter_diff(const CounterSnapshot& before, const Expected& expected) const {
    std::map<Counter, uint64_t> want(expected.begin(), expected.end());
    std::string diff;
    for (size_t i = 0; i < kCounterCount; ++i) {
      const Counter c = static_cast<Counter>(i);
      const uint64_t got = count(c) - before.values[i];
      auto it = want.find(c);
      if (it == want.end() && is_byte_counter(c)) continue;
      const uint64_t w = it == want.end() ? 0 : it->second;
      if (got != w) {
        diff += absl::StrFormat("%s: moved by %d, expected %d; ", std::string(counter_name(c)),
                                got, w);
      }
    }
    return diff;
  }

  // Every scenario ends here: shutdown returns every buffer to the pool.
  void finish() {
    stack_->shutdown();
    CHECK(stack_->pool().in_use() == 0);
    CHECK(stack_->pool().descriptors_in_use() == 0);
  }

 private:
  ManualClock clock_;
  Tunables tunables_;
  std::unique_ptr<Stack> stack_;
  sim::SimPort* nic_ = nullptr;
  link::Interface* iface_ = nullptr;
  sim::SimPeer peer_;
};

}  // namespace inlet::stack_test

// The packet filter: a RuleSet parsed from a small text language (see
// docs/filter.md) and evaluated at three hooks — PREROUTING (every IPv4
// datagram, before the route decision), INPUT (datagrams for this host) and
// FORWARD (datagrams being routed through). Owns the rules, the per-hook
// policies and the per-rule packet/byte counters; evaluation never allocates.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/alloc.h"
#include "wire/bytes.h"

namespace inlet::wire {
class Ipv4View;
}

namespace inlet::filter {

enum class Hook : uint8_t { kPrerouting, kInput, kForward };
inline constexpr size_t kHookCount = 3;
// "PREROUTING", "INPUT", "FORWARD".
std::string_view hook_name(Hook hook);

enum class Action : uint8_t { kAccept, kDrop, kCount };
enum class Verdict : uint8_t { kAccept, kDrop };

// What a rule looks at: filled by the IP layer from a validated datagram.
struct FilterInput {
  uint16_t ifindex = 0;  // ingress interface
  wire::Ipv4Address src;
  wire::Ipv4Address dst;
  uint8_t protocol = 0;
  uint8_t tcp_flags = 0;   // valid when protocol is TCP and has_ports
  uint16_t sport = 0;      // valid when has_ports
  uint16_t dport = 0;
  bool has_ports = false;  // a TCP/UDP header is present (not a later fragment)
  uint32_t length = 0;     // bytes (IP total length), for the byte counters

  // From a datagram that passed Ipv4View::parse: addresses and protocol;
  // ports when the protocol is TCP or UDP, the datagram is not a non-first
  // fragment and the header is there (TCP flags when 14 bytes are).
  static FilterInput from_ipv4(const wire::Ipv4View& ip, uint16_t ifindex);
};

struct PortRange {
  uint16_t first = 0;
  uint16_t last = 65535;
  bool contains(uint16_t p) const { return p >= first && p <= last; }
};

struct Prefix {
  wire::Ipv4Address address;
  uint8_t length = 32;
  uint32_t mask() const { return length == 0 ? 0 : ~uint32_t{0} << (32 - length); }
  bool contains(wire::Ipv4Address a) const {
    return ((a.value() ^ address.value()) & mask()) == 0;
  }
};

struct Rule {
  Hook hook = Hook::kInput;
  Action action = Action::kAccept;
  uint32_t line = 0;  // in the text it was parsed from

  std::optional<std::string> in_name;  // `in NAME`
  uint16_t in_ifindex = 0;             // resolved from in_name (0: unresolved, never matches)
  std::optional<Prefix> src;
  std::optional<Prefix> dst;
  std::optional<uint8_t> protocol;
  std::optional<PortRange> sport;
  std::optional<PortRange> dport;
  uint8_t flags_mask = 0;   // TCP flags the rule looks at
  uint8_t flags_value = 0;  // ... and the values they must have

  bool matches(const FilterInput& in) const;
  // The rule in canonical form; parses back to the same rule.
  std::string to_text() const;
};

struct RuleCounters {
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

class RuleSet {
 public:
  // Maps an interface name to its ifindex (nullopt: no such interface).
  using InterfaceResolver = std::function<std::optional<uint16_t>(std::string_view name)>;

  // An empty set: every hook accepts.
  RuleSet() = default;

  // One rule or policy per line; errors name the line and the token
  // ("line 4: unknown protocol 'tpc'"). Interface names stay unresolved (and
  // their rules match nothing) until resolve_interfaces().
  static absl::StatusOr<RuleSet> parse(std::string_view text);
  // Binds every `in NAME` to an ifindex; an unknown name is an error naming
  // its line ("line 2: unknown interface 'eth9'"), and nothing changes.
  absl::Status resolve_interfaces(const InterfaceResolver& resolve);

  // First matching accept/drop rule of `hook` wins; count rules count and go
  // on; no verdict -> the hook's policy. Bumps the counters of every rule
  // that matched (and of the policy when it decided). Never allocates.
  Verdict evaluate(Hook hook, const FilterInput& in);
  // False when `hook` has no rule and accepts: the caller may skip building
  // a FilterInput.
  bool active(Hook hook) const {
    const size_t h = static_cast<size_t>(hook);
    return !by_hook_[h].empty() || policies_[h] == Verdict::kDrop;
  }

  size_t size() const { return rules_.size(); }
  const Rule& rule(size_t index) const { return rules_[index]; }
  // Packets (bytes) that matched rule `index` (in text order, from 0).
  uint64_t hits(size_t index) const { return counters_[index].packets; }
  uint64_t hit_bytes(size_t index) const { return counters_[index].bytes; }
  Verdict policy(Hook hook) const { return policies_[static_cast<size_t>(hook)]; }
  // Packets (bytes) the policy decided.
  uint64_t policy_hits(Hook hook) const { return policy_counters_[static_cast<size_t>(hook)].packets; }
  uint64_t policy_bytes(Hook hook) const { return policy_counters_[static_cast<size_t>(hook)].bytes; }
  void reset_counters();

  // The rules as text that parses back to this set (policies first).
  std::string rules_text() const;
  // A listing with counters, as `iptables -L -v`: per hook a "Chain" line with
  // the policy and its counts, then one line per rule: packets, bytes, the
  // source line, the rule.
  std::string to_text() const;

 private:
  Vector<Rule> rules_;
  Vector<RuleCounters> counters_;
  std::array<Vector<uint32_t>, kHookCount> by_hook_;  // rule indexes per hook
  std::array<Verdict, kHookCount> policies_{Verdict::kAccept, Verdict::kAccept, Verdict::kAccept};
  std::array<RuleCounters, kHookCount> policy_counters_{};
};

}  // namespace inlet::filter

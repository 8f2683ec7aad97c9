#include "filter/filter.h"

#include <cstdio>
#include <utility>

#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace inlet::filter {

namespace {

constexpr std::array<std::string_view, kHookCount> kHookNames = {"PREROUTING", "INPUT",
                                                                  "FORWARD"};

// TCP flag names, in bit order (bit 0 = FIN).
constexpr std::array<std::string_view, 8> kFlagNames = {"FIN", "SYN", "RST", "PSH",
                                                         "ACK", "URG", "ECE", "CWR"};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

absl::Status line_error(uint32_t line, const std::string& message) {
  return absl::InvalidArgumentError("line " + std::to_string(line) + ": " + message);
}

std::string quoted(std::string_view token) {
  std::string out;
  out.reserve(token.size() + 2);
  out += '\'';
  out += token;
  out += '\'';
  return out;
}

std::optional<Hook> parse_hook(std::string_view t) {
  if (iequals(t, "prerouting")) return Hook::kPrerouting;
  if (iequals(t, "input")) return Hook::kInput;
  if (iequals(t, "forward")) return Hook::kForward;
  return std::nullopt;
}

std::optional<Action> parse_action(std::string_view t) {
  if (iequals(t, "accept")) return Action::kAccept;
  if (iequals(t, "drop")) return Action::kDrop;
  if (iequals(t, "count")) return Action::kCount;
  return std::nullopt;
}

// Decimal digits only, value <= max.
std::optional<uint32_t> parse_number(std::string_view t, uint32_t max) {
  if (t.empty() || t.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return static_cast<uint32_t>(v);
}

absl::StatusOr<Prefix> parse_prefix(uint32_t line, std::string_view t) {
  const size_t slash = t.find('/');
  const std::string_view addr = t.substr(0, slash);
  auto a = wire::Ipv4Address::parse(addr);
  if (!a) return line_error(line, "bad address " + quoted(t));
  Prefix p{*a, 32};
  if (slash != std::string_view::npos) {
    auto len = parse_number(t.substr(slash + 1), 32);
    if (!len || t.size() - slash - 1 > 2) {
      return line_error(line, "bad prefix length in " + quoted(t) + " (0 to 32)");
    }
    p.length = static_cast<uint8_t>(*len);
  }
  if ((p.address.value() & ~p.mask()) != 0) {
    const wire::Ipv4Address net(p.address.value() & p.mask());
    return line_error(line, quoted(t) + " has host bits set (the network is " + net.to_string() +
                                "/" + std::to_string(p.length) + ")");
  }
  return p;
}

std::optional<PortRange> parse_ports(std::string_view t) {
  const size_t dash = t.find('-');
  auto first = parse_number(t.substr(0, dash), 65535);
  if (!first) return std::nullopt;
  PortRange r{static_cast<uint16_t>(*first), static_cast<uint16_t>(*first)};
  if (dash != std::string_view::npos) {
    auto last = parse_number(t.substr(dash + 1), 65535);
    if (!last || *last < *first) return std::nullopt;
    r.last = static_cast<uint16_t>(*last);
  }
  return r;
}

std::optional<uint8_t> parse_protocol(std::string_view t) {
  if (iequals(t, "tcp")) return wire::ipproto::kTcp;
  if (iequals(t, "udp")) return wire::ipproto::kUdp;
  if (iequals(t, "icmp")) return wire::ipproto::kIcmp;
  auto n = parse_number(t, 255);
  if (!n) return std::nullopt;
  return static_cast<uint8_t>(*n);
}

std::string prefix_text(const Prefix& p) {
  std::string s = p.address.to_string();
  if (p.length != 32) {
    s += '/';
    s += std::to_string(p.length);
  }
  return s;
}

std::string ports_text(const PortRange& r) {
  std::string s = std::to_string(r.first);
  if (r.last != r.first) {
    s += '-';
    s += std::to_string(r.last);
  }
  return s;
}

std::string protocol_text(uint8_t p) {
  switch (p) {
    case wire::ipproto::kTcp:
      return "tcp";
    case wire::ipproto::kUdp:
      return "udp";
    case wire::ipproto::kIcmp:
      return "icmp";
    default:
      return std::to_string(p);
  }
}

std::string_view action_text(Action a) {
  switch (a) {
    case Action::kAccept:
      return "accept";
    case Action::kDrop:
      return "drop";
    case Action::kCount:
      return "count";
  }
  return "?";
}

std::string lower_hook(Hook h) {
  std::string s(hook_name(h));
  for (char& c : s) c = lower(c);
  return s;
}

// Splits a line (comment already cut) into whitespace-separated tokens.
std::vector<std::string_view> tokens_of(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    const size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

std::string_view hook_name(Hook hook) { return kHookNames[static_cast<size_t>(hook)]; }

FilterInput FilterInput::from_ipv4(const wire::Ipv4View& ip, uint16_t ifindex) {
  FilterInput in;
  in.ifindex = ifindex;
  in.src = ip.src();
  in.dst = ip.dst();
  in.protocol = ip.protocol();
  in.length = ip.total_length();
  const std::span<const uint8_t> l4 = ip.payload();
  const bool first_fragment = ip.fragment_offset() == 0;
  if (first_fragment && (in.protocol == wire::ipproto::kTcp || in.protocol == wire::ipproto::kUdp)) {
    if (in.protocol == wire::ipproto::kUdp && l4.size() >= 4) {
      in.has_ports = true;
    } else if (in.protocol == wire::ipproto::kTcp && l4.size() >= 14) {
      in.has_ports = true;
      in.tcp_flags = l4[13];
    }
    if (in.has_ports) {
      in.sport = wire::load_be16(l4.data());
      in.dport = wire::load_be16(l4.data() + 2);
    }
  }
  return in;
}

bool Rule::matches(const FilterInput& in) const {
  if (in_name && (in_ifindex == 0 || in.ifindex != in_ifindex)) return false;
  if (src && !src->contains(in.src)) return false;
  if (dst && !dst->contains(in.dst)) return false;
  if (protocol && in.protocol != *protocol) return false;
  if (sport || dport || flags_mask != 0) {
    if (!in.has_ports) return false;
    if (sport && !sport->contains(in.sport)) return false;
    if (dport && !dport->contains(in.dport)) return false;
    if ((in.tcp_flags & flags_mask) != flags_value) return false;
  }
  return true;
}

std::string Rule::to_text() const {
  std::string s = lower_hook(hook);
  if (in_name) s += " in " + *in_name;
  if (src) s += " src " + prefix_text(*src);
  if (dst) s += " dst " + prefix_text(*dst);
  if (protocol) s += " proto " + protocol_text(*protocol);
  if (sport) s += " sport " + ports_text(*sport);
  if (dport) s += " dport " + ports_text(*dport);
  if (flags_mask != 0) {
    s += " flags ";
    bool first = true;
    for (size_t bit = 0; bit < kFlagNames.size(); ++bit) {
      if ((flags_mask & (1u << bit)) == 0) continue;
      if (!first) s += ",";
      first = false;
      if ((flags_value & (1u << bit)) == 0) s += "!";
      s += kFlagNames[bit];
    }
  }
  s += " ";
  s += action_text(action);
  return s;
}

absl::StatusOr<RuleSet> RuleSet::parse(std::string_view text) {
  RuleSet set;
  uint32_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    const std::vector<std::string_view> tok = tokens_of(line);
    if (tok.empty()) continue;

    if (iequals(tok[0], "policy")) {
      if (tok.size() < 2) return line_error(line_no, "'policy' needs a hook and accept or drop");
      auto hook = parse_hook(tok[1]);
      if (!hook) {
        return line_error(line_no, "unknown hook " + quoted(tok[1]) + " (prerouting, input or forward)");
      }
      if (tok.size() < 3) return line_error(line_no, "'policy' needs accept or drop");
      auto action = parse_action(tok[2]);
      if (!action || *action == Action::kCount) {
        return line_error(line_no, "policy must be accept or drop, not " + quoted(tok[2]));
      }
      if (tok.size() > 3) return line_error(line_no, "unexpected " + quoted(tok[3]) + " after the policy");
      set.policies_[static_cast<size_t>(*hook)] =
          *action == Action::kAccept ? Verdict::kAccept : Verdict::kDrop;
      continue;
    }

    auto hook = parse_hook(tok[0]);
    if (!hook) {
      return line_error(line_no, "unknown hook " + quoted(tok[0]) +
                                     " (prerouting, input, forward or policy)");
    }
    Rule rule;
    rule.hook = *hook;
    rule.line = line_no;
    bool have_action = false;
    for (size_t i = 1; i < tok.size(); ++i) {
      const std::string_view key = tok[i];
      if (auto action = parse_action(key)) {
        if (i + 1 < tok.size()) {
          return line_error(line_no, "unexpected " + quoted(tok[i + 1]) + " after the action " + quoted(key));
        }
        rule.action = *action;
        have_action = true;
        break;
      }
      const bool known = iequals(key, "in") || iequals(key, "src") || iequals(key, "dst") ||
                         iequals(key, "proto") || iequals(key, "sport") || iequals(key, "dport") ||
                         iequals(key, "flags");
      if (!known) return line_error(line_no, "unknown keyword " + quoted(key));
      if (i + 1 >= tok.size() || parse_action(tok[i + 1])) {
        return line_error(line_no, quoted(key) + " needs a value");
      }
      const std::string_view value = tok[++i];
      auto duplicate = [&] { return line_error(line_no, "duplicate " + quoted(key)); };
      if (iequals(key, "in")) {
        if (rule.in_name) return duplicate();
        rule.in_name = std::string(value);
      } else if (iequals(key, "src") || iequals(key, "dst")) {
        std::optional<Prefix>& slot = iequals(key, "src") ? rule.src : rule.dst;
        if (slot) return duplicate();
        auto p = parse_prefix(line_no, value);
        if (!p.ok()) return p.status();
        slot = *p;
      } else if (iequals(key, "proto")) {
        if (rule.protocol) return duplicate();
        rule.protocol = parse_protocol(value);
        if (!rule.protocol) {
          return line_error(line_no, "unknown protocol " + quoted(value) + " (tcp, udp, icmp or 0 to 255)");
        }
      } else if (iequals(key, "sport") || iequals(key, "dport")) {
        std::optional<PortRange>& slot = iequals(key, "sport") ? rule.sport : rule.dport;
        if (slot) return duplicate();
        slot = parse_ports(value);
        if (!slot) {
          return line_error(line_no, "bad port or range " + quoted(value) + " (N or N-M, 0 to 65535, N <= M)");
        }
      } else {  // flags
        if (rule.flags_mask != 0) return duplicate();
        size_t start = 0;
        while (start <= value.size()) {
          size_t comma = value.find(',', start);
          if (comma == std::string_view::npos) comma = value.size();
          std::string_view name = value.substr(start, comma - start);
          start = comma + 1;
          const bool negated = !name.empty() && name[0] == '!';
          if (negated) name.remove_prefix(1);
          if (name.empty()) return line_error(line_no, "empty TCP flag in " + quoted(value));
          size_t bit = 0;
          while (bit < kFlagNames.size() && !iequals(name, kFlagNames[bit])) ++bit;
          if (bit == kFlagNames.size()) {
            return line_error(line_no, "unknown TCP flag " + quoted(name) +
                                           " (FIN, SYN, RST, PSH, ACK, URG, ECE, CWR)");
          }
          const uint8_t m = static_cast<uint8_t>(1u << bit);
          if ((rule.flags_mask & m) != 0) {
            return line_error(line_no, "TCP flag " + quoted(kFlagNames[bit]) + " given twice");
          }
          rule.flags_mask |= m;
          if (!negated) rule.flags_value |= m;
        }
      }
    }
    if (!have_action) return line_error(line_no, "missing action (accept, drop or count) at the end");
    const bool tcp_or_udp =
        rule.protocol && (*rule.protocol == wire::ipproto::kTcp || *rule.protocol == wire::ipproto::kUdp);
    if (rule.sport && !tcp_or_udp) return line_error(line_no, "'sport' needs 'proto tcp' or 'proto udp'");
    if (rule.dport && !tcp_or_udp) return line_error(line_no, "'dport' needs 'proto tcp' or 'proto udp'");
    if (rule.flags_mask != 0 && !(rule.protocol && *rule.protocol == wire::ipproto::kTcp)) {
      return line_error(line_no, "'flags' needs 'proto tcp'");
    }
    set.by_hook_[static_cast<size_t>(rule.hook)].push_back(static_cast<uint32_t>(set.rules_.size()));
    set.rules_.push_back(std::move(rule));
  }
  set.counters_.assign(set.rules_.size(), RuleCounters{});
  return set;
}

absl::Status RuleSet::resolve_interfaces(const InterfaceResolver& resolve) {
  Vector<uint16_t> resolved(rules_.size(), 0);
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (!rules_[i].in_name) continue;
    std::optional<uint16_t> ifindex = resolve ? resolve(*rules_[i].in_name) : std::nullopt;
    if (!ifindex || *ifindex == 0) {
      return line_error(rules_[i].line, "unknown interface " + quoted(*rules_[i].in_name));
    }
    resolved[i] = *ifindex;
  }
  for (size_t i = 0; i < rules_.size(); ++i) rules_[i].in_ifindex = resolved[i];
  return absl::OkStatus();
}

Verdict RuleSet::evaluate(Hook hook, const FilterInput& in) {
  const size_t h = static_cast<size_t>(hook);
  for (const uint32_t i : by_hook_[h]) {
    const Rule& r = rules_[i];
    if (!r.matches(in)) continue;
    counters_[i].packets++;
    counters_[i].bytes += in.length;
    if (r.action == Action::kCount) continue;
    return r.action == Action::kAccept ? Verdict::kAccept : Verdict::kDrop;
  }
  policy_counters_[h].packets++;
  policy_counters_[h].bytes += in.length;
  return policies_[h];
}

void RuleSet::reset_counters() {
  for (RuleCounters& c : counters_) c = RuleCounters{};
  policy_counters_.fill(RuleCounters{});
}

std::string RuleSet::rules_text() const {
  std::string out;
  for (size_t h = 0; h < kHookCount; ++h) {
    out += "policy " + lower_hook(static_cast<Hook>(h)) +
           (policies_[h] == Verdict::kAccept ? " accept\n" : " drop\n");
  }
  for (const Rule& r : rules_) out += r.to_text() + "\n";
  return out;
}

std::string RuleSet::to_text() const {
  std::string out;
  char buf[96];
  for (size_t h = 0; h < kHookCount; ++h) {
    if (h > 0) out += "\n";
    std::snprintf(buf, sizeof buf, " (policy %s %llu packets, %llu bytes)\n",
                  policies_[h] == Verdict::kAccept ? "ACCEPT" : "DROP",
                  static_cast<unsigned long long>(policy_counters_[h].packets),
                  static_cast<unsigned long long>(policy_counters_[h].bytes));
    out += "Chain ";
    out += kHookNames[h];
    out += buf;
    out += "    pkts      bytes  line  rule\n";
    for (const uint32_t i : by_hook_[h]) {
      std::snprintf(buf, sizeof buf, "%8llu %10llu %5u  ",
                    static_cast<unsigned long long>(counters_[i].packets),
                    static_cast<unsigned long long>(counters_[i].bytes), rules_[i].line);
      out += buf;
      out += rules_[i].to_text();
      out += "\n";
    }
  }
  return out;
}

}  // namespace inlet::filter

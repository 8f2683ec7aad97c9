// The packet filter's rule language and evaluation (docs/filter.md): every
// documented form parses, bad input is refused with the line and the token,
// rules are evaluated in order (first accept/drop wins, count goes on, the
// policy decides last), port ranges and TCP flags (with negation) match as
// documented, per-rule and per-policy counters and the iptables -L -v style
// listing, interface names resolved at installation, the FilterInput taken
// from a real datagram, and random rule text never crashing the parser.
#include "core/features.h"
#if INLET_WITH_FILTER
#include <doctest/doctest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "api/stack.h"
#include "filter/filter.h"
#include "ports/sim/sim_port.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace inlet::filter {
namespace {

TEST_SUITE_BEGIN("filter");

wire::Ipv4Address addr(const char* text) {
  auto a = wire::Ipv4Address::parse(text);
  REQUIRE(a.has_value());
  return *a;
}

RuleSet parse_ok(std::string_view text) {
  auto rules = RuleSet::parse(text);
  INFO(rules.status().ToString());
  REQUIRE(rules.ok());
  return *std::move(rules);
}

std::string parse_error(std::string_view text) {
  auto rules = RuleSet::parse(text);
  REQUIRE_FALSE(rules.ok());
  CHECK(rules.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(rules.status().message());
}

FilterInput tcp_in(const char* src, const char* dst, uint16_t sport, uint16_t dport, uint8_t flags,
                   uint16_t ifindex = 1) {
  FilterInput in;
  in.ifindex = ifindex;
  in.src = addr(src);
  in.dst = addr(dst);
  in.protocol = wire::ipproto::kTcp;
  in.sport = sport;
  in.dport = dport;
  in.tcp_flags = flags;
  in.has_ports = true;
  in.length = 60;
  return in;
}

FilterInput udp_in(const char* src, const char* dst, uint16_t sport, uint16_t dport) {
  FilterInput in = tcp_in(src, dst, sport, dport, 0);
  in.protocol = wire::ipproto::kUdp;
  in.length = 100;
  return in;
}

FilterInput icmp_in(const char* src, const char* dst) {
  FilterInput in;
  in.ifindex = 1;
  in.src = addr(src);
  in.dst = addr(dst);
  in.protocol = wire::ipproto::kIcmp;
  in.length = 84;
  return in;
}

using wire::tcpflag::kAck;
using wire::tcpflag::kFin;
using wire::tcpflag::kRst;
using wire::tcpflag::kSyn;

// The example of docs/filter.md, verbatim.
constexpr std::string_view kDocExample = R"(# A host that answers ping, SSH and DNS on sim0, and nothing else.
policy input drop
policy forward drop

prerouting count                                # everything received
prerouting src 127.0.0.0/8 drop                 # loopback never comes from a cable
prerouting src 192.0.2.0/24 dst 192.0.2.255 count

input proto icmp accept
input proto tcp dport 22 accept
input in sim0 proto udp dport 53 accept
input proto udp sport 67-68 dport 67-68 accept  # DHCP
input proto tcp flags SYN,!ACK dport 1024-65535 drop
input proto tcp flags ACK accept                # segments of connections we opened
input proto 47 accept                           # GRE, by number

forward in lan0 src 10.0.0.0/8 accept
forward dst 198.51.100.7 drop                   # a single host (/32)
forward proto TCP flags rst,FIN count           # case does not matter
)";

TEST_CASE("docs/filter.md: the documented example parses into the documented rules") {
  RuleSet rules = parse_ok(kDocExample);
  REQUIRE(rules.size() == 13);
  CHECK(rules.policy(Hook::kPrerouting) == Verdict::kAccept);
  CHECK(rules.policy(Hook::kInput) == Verdict::kDrop);
  CHECK(rules.policy(Hook::kForward) == Verdict::kDrop);
  const std::vector<std::string> canonical = {
      "prerouting count",
      "prerouting src 127.0.0.0/8 drop",
      "prerouting src 192.0.2.0/24 dst 192.0.2.255 count",
      "input proto icmp accept",
      "input proto tcp dport 22 accept",
      "input in sim0 proto udp dport 53 accept",
      "input proto udp sport 67-68 dport 67-68 accept",
      "input proto tcp dport 1024-65535 flags SYN,!ACK drop",
      "input proto tcp flags ACK accept",
      "input proto 47 accept",
      "forward in lan0 src 10.0.0.0/8 accept",
      "forward dst 198.51.100.7 drop",
      "forward proto tcp flags FIN,RST count",
  };
  const std::vector<uint32_t> lines = {5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19};
  for (size_t i = 0; i < rules.size(); ++i) {
    CAPTURE(i);
    CHECK(rules.rule(i).to_text() == canonical[i]);
    CHECK(rules.rule(i).line == lines[i]);
  }
  const Rule& ssh = rules.rule(4);
  CHECK(ssh.hook == Hook::kInput);
  CHECK(ssh.action == Action::kAccept);
  CHECK(ssh.protocol == wire::ipproto::kTcp);
  REQUIRE(ssh.dport.has_value());
  CHECK(ssh.dport->first == 22);
  CHECK(ssh.dport->last == 22);
  CHECK_FALSE(ssh.sport.has_value());
  const Rule& syn = rules.rule(7);
  CHECK(syn.flags_mask == (kSyn | kAck));
  CHECK(syn.flags_value == kSyn);
  const Rule& lan = rules.rule(10);
  REQUIRE(lan.in_name.has_value());
  CHECK(*lan.in_name == "lan0");
  CHECK(lan.in_ifindex == 0);
  REQUIRE(lan.src.has_value());
  CHECK(lan.src->address == addr("10.0.0.0"));
  CHECK(lan.src->length == 8);
  CHECK(rules.rule(11).dst->length == 32);
  CHECK(rules.rule(9).protocol == 47);

  // The canonical text parses back to the same rule set.
  RuleSet again = parse_ok(rules.rules_text());
  CHECK(again.rules_text() == rules.rules_text());
}

TEST_CASE("rule language: every match form, in any order, any case, with tabs, comments and CRLF") {
  RuleSet rules = parse_ok(
      "INPUT\tsrc 0.0.0.0/0 DROP\r\n"
      "  # only a comment\n"
      "\n"
      "forward dport 80 proto udp sport 1 src 10.1.2.3/32 dst 10.0.0.0/16 in eth0 count\n"
      "Prerouting proto 0 accept\n"
      "prerouting proto tcp flags cwr,ece,urg,psh,!fin,!syn,!rst,!ack accept\n"
      "policy PREROUTING DROP # a trailing comment\n"
      "input proto tcp sport 0-65535 dport 65535 accept#no space before the comment");
  REQUIRE(rules.size() == 5);
  CHECK(rules.rule(0).to_text() == "input src 0.0.0.0/0 drop");
  CHECK(rules.rule(1).to_text() ==
        "forward in eth0 src 10.1.2.3 dst 10.0.0.0/16 proto udp sport 1 dport 80 count");
  CHECK(rules.rule(2).to_text() == "prerouting proto 0 accept");
  CHECK(rules.rule(3).to_text() == "prerouting proto tcp flags !FIN,!SYN,!RST,PSH,!ACK,URG,ECE,CWR accept");
  CHECK(rules.rule(4).to_text() == "input proto tcp sport 0-65535 dport 65535 accept");
  CHECK(rules.rule(1).line == 4);
  CHECK(rules.rule(4).line == 8);
  CHECK(rules.policy(Hook::kPrerouting) == Verdict::kDrop);
  // Empty text (or only comments): an empty set that accepts everything.
  RuleSet empty = parse_ok("# nothing\n\n   \n");
  CHECK(empty.size() == 0);
  CHECK_FALSE(empty.active(Hook::kInput));
  CHECK(empty.evaluate(Hook::kInput, icmp_in("192.0.2.1", "192.0.2.2")) == Verdict::kAccept);
}

TEST_CASE("rule language: bad input is refused with the line number and the offending token") {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"# ok\npolicy input drop\n\ninput proto tpc accept", "line 4: unknown protocol 'tpc' (tcp, udp, icmp or 0 to 255)"},
      {"inptu accept", "line 1: unknown hook 'inptu' (prerouting, input, forward or policy)"},
      {"input accept\ninput port 22 accept", "line 2: unknown keyword 'port'"},
      {"\n\ninput proto tcp", "line 3: missing action (accept, drop or count) at the end"},
      {"input", "line 1: missing action (accept, drop or count) at the end"},
      {"\n\ninput proto tcp accept dport 22", "line 3: unexpected 'dport' after the action 'accept'"},
      {"input drop drop", "line 1: unexpected 'drop' after the action 'drop'"},
      {"input src", "line 1: 'src' needs a value"},
      {"input src accept", "line 1: 'src' needs a value"},
      {"input proto tcp dport 1 dport 2 accept", "line 1: duplicate 'dport'"},
      {"input in a in b accept", "line 1: duplicate 'in'"},
      {"input proto tcp proto udp accept", "line 1: duplicate 'proto'"},
      {"input proto tcp flags SYN flags ACK accept", "line 1: duplicate 'flags'"},
      {"input src 10.0.0.256 accept", "line 1: bad address '10.0.0.256'"},
      {"input dst 10.0.0 accept", "line 1: bad address '10.0.0'"},
      {"input dst 010.0.0.1 accept", "line 1: bad address '010.0.0.1'"},
      {"input src 10.0.0.0/33 accept", "line 1: bad prefix length in '10.0.0.0/33' (0 to 32)"},
      {"input src 10.0.0.0/ accept", "line 1: bad prefix length in '10.0.0.0/' (0 to 32)"},
      {"input src 10.0.0.0/008 accept", "line 1: bad prefix length in '10.0.0.0/008' (0 to 32)"},
      {"input src 10.0.0.0/-1 accept", "line 1: bad prefix length in '10.0.0.0/-1' (0 to 32)"},
      {"input src 10.0.0.1/8 accept", "line 1: '10.0.0.1/8' has host bits set (the network is 10.0.0.0/8)"},
      {"input proto tcp dport 80-22 accept", "line 1: bad port or range '80-22' (N or N-M, 0 to 65535, N <= M)"},
      {"input proto tcp dport 65536 accept", "line 1: bad port or range '65536' (N or N-M, 0 to 65535, N <= M)"},
      {"input proto tcp dport -5 accept", "line 1: bad port or range '-5' (N or N-M, 0 to 65535, N <= M)"},
      {"input proto tcp dport 1- accept", "line 1: bad port or range '1-' (N or N-M, 0 to 65535, N <= M)"},
      {"input proto tcp dport ssh accept", "line 1: bad port or range 'ssh' (N or N-M, 0 to 65535, N <= M)"},
      {"input proto 256 accept", "line 1: unknown protocol '256' (tcp, udp, icmp or 0 to 255)"},
      {"input proto tcp flags SYNN accept", "line 1: unknown TCP flag 'SYNN' (FIN, SYN, RST, PSH, ACK, URG, ECE, CWR)"},
      {"input proto tcp flags SYN,!syn accept", "line 1: TCP flag 'SYN' given twice"},
      {"input proto tcp flags SYN, accept", "line 1: empty TCP flag in 'SYN,'"},
      {"input proto tcp flags ! accept", "line 1: empty TCP flag in '!'"},
      {"input proto tcp flags ,ACK accept", "line 1: empty TCP flag in ',ACK'"},
      {"input dport 53 accept", "line 1: 'dport' needs 'proto tcp' or 'proto udp'"},
      {"input proto icmp sport 1 accept", "line 1: 'sport' needs 'proto tcp' or 'proto udp'"},
      {"input proto udp flags SYN accept", "line 1: 'flags' needs 'proto tcp'"},
      {"input flags SYN accept", "line 1: 'flags' needs 'proto tcp'"},
      {"policy", "line 1: 'policy' needs a hook and accept or drop"},
      {"policy input", "line 1: 'policy' needs accept or drop"},
      {"policy output drop", "line 1: unknown hook 'output' (prerouting, input or forward)"},
      {"\npolicy input count", "line 2: policy must be accept or drop, not 'count'"},
      {"policy input reject", "line 1: policy must be accept or drop, not 'reject'"},
      {"policy input drop now", "line 1: unexpected 'now' after the policy"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    CHECK(parse_error(c.text) == c.error);
  }
}

TEST_CASE("evaluation: the first matching accept or drop decides; count rules count and go on; then the policy") {
  RuleSet rules = parse_ok(
      "policy input drop\n"
      "input count\n"                                // 0
      "input proto udp count\n"                      // 1
      "input src 192.0.2.66 drop\n"                  // 2
      "input proto udp dport 53 accept\n"            // 3
      "input src 192.0.2.0/24 proto udp accept\n"    // 4
      "input proto udp dport 53 drop\n"              // 5: shadowed by 3
      "forward proto icmp drop\n");                  // 6
  CHECK(rules.active(Hook::kInput));
  CHECK(rules.active(Hook::kForward));
  CHECK_FALSE(rules.active(Hook::kPrerouting));

  CHECK(rules.evaluate(Hook::kInput, udp_in("198.51.100.1", "192.0.2.2", 4000, 53)) == Verdict::kAccept);
  CHECK(rules.evaluate(Hook::kInput, udp_in("192.0.2.66", "192.0.2.2", 4000, 53)) == Verdict::kDrop);
  CHECK(rules.evaluate(Hook::kInput, udp_in("192.0.2.9", "192.0.2.2", 4000, 9)) == Verdict::kAccept);
  CHECK(rules.evaluate(Hook::kInput, udp_in("198.51.100.1", "192.0.2.2", 4000, 9)) == Verdict::kDrop);  // policy
  CHECK(rules.evaluate(Hook::kInput, icmp_in("198.51.100.1", "192.0.2.2")) == Verdict::kDrop);  // policy
  // Another hook's rules are not consulted; its policy is accept.
  CHECK(rules.evaluate(Hook::kPrerouting, icmp_in("198.51.100.1", "192.0.2.2")) == Verdict::kAccept);
  CHECK(rules.evaluate(Hook::kForward, icmp_in("198.51.100.1", "192.0.2.2")) == Verdict::kDrop);
  CHECK(rules.evaluate(Hook::kForward, udp_in("198.51.100.1", "192.0.2.2", 1, 2)) == Verdict::kAccept);

  const std::vector<uint64_t> hits = {5, 4, 1, 1, 1, 0, 1};
  for (size_t i = 0; i < hits.size(); ++i) {
    CAPTURE(i);
    CHECK(rules.hits(i) == hits[i]);
  }
  CHECK(rules.hit_bytes(0) == 4 * 100 + 84);
  CHECK(rules.hit_bytes(1) == 400);
  CHECK(rules.policy_hits(Hook::kInput) == 2);
  CHECK(rules.policy_bytes(Hook::kInput) == 184);
  CHECK(rules.policy_hits(Hook::kPrerouting) == 1);
  CHECK(rules.policy_hits(Hook::kForward) == 1);

  CHECK(rules.to_text() ==
        "Chain PREROUTING (policy ACCEPT 1 packets, 84 bytes)\n"
        "    pkts      bytes  line  rule\n"
        "\n"
        "Chain INPUT (policy DROP 2 packets, 184 bytes)\n"
        "    pkts      bytes  line  rule\n"
        "       5        484     2  input count\n"
        "       4        400     3  input proto udp count\n"
        "       1        100     4  input src 192.0.2.66 drop\n"
        "       1        100     5  input proto udp dport 53 accept\n"
        "       1        100     6  input src 192.0.2.0/24 proto udp accept\n"
        "       0          0     7  input proto udp dport 53 drop\n"
        "\n"
        "Chain FORWARD (policy ACCEPT 1 packets, 100 bytes)\n"
        "    pkts      bytes  line  rule\n"
        "       1         84     8  forward proto icmp drop\n");

  rules.reset_counters();
  for (size_t i = 0; i < rules.size(); ++i) CHECK(rules.hits(i) == 0);
  CHECK(rules.policy_hits(Hook::kInput) == 0);
}

TEST_CASE("evaluation: a drop policy with no rules still makes the hook active") {
  RuleSet rules = parse_ok("policy forward drop");
  CHECK(rules.active(Hook::kForward));
  CHECK_FALSE(rules.active(Hook::kInput));
  CHECK(rules.evaluate(Hook::kForward, icmp_in("192.0.2.1", "198.51.100.1")) == Verdict::kDrop);
  CHECK(rules.policy_hits(Hook::kForward) == 1);
}

TEST_CASE("matches: prefixes at their edges, /0 and /32") {
  RuleSet rules = parse_ok(
      "input src 10.0.0.0/8 dst 192.0.2.128/25 accept\n"
      "input src 0.0.0.0/0 dst 198.51.100.7 count\n"
      "policy input drop");
  auto v = [&](const char* src, const char* dst) { return rules.evaluate(Hook::kInput, icmp_in(src, dst)); };
  CHECK(v("10.0.0.0", "192.0.2.128") == Verdict::kAccept);
  CHECK(v("10.255.255.255", "192.0.2.255") == Verdict::kAccept);
  CHECK(v("11.0.0.0", "192.0.2.200") == Verdict::kDrop);
  CHECK(v("9.255.255.255", "192.0.2.200") == Verdict::kDrop);
  CHECK(v("10.1.1.1", "192.0.2.127") == Verdict::kDrop);
  CHECK(v("1.2.3.4", "198.51.100.7") == Verdict::kDrop);
  CHECK(v("255.255.255.255", "198.51.100.7") == Verdict::kDrop);
  CHECK(v("1.2.3.4", "198.51.100.8") == Verdict::kDrop);
  CHECK(rules.hits(0) == 2);
  CHECK(rules.hits(1) == 2);
}

TEST_CASE("matches: port ranges include both ends; single ports; sport and dport together") {
  RuleSet rules = parse_ok(
      "input proto tcp dport 1000-2000 accept\n"
      "input proto udp sport 53 dport 1024-65535 accept\n"
      "input proto tcp sport 0 accept\n"
      "policy input drop");
  auto tcp = [&](uint16_t sport, uint16_t dport) {
    return rules.evaluate(Hook::kInput, tcp_in("192.0.2.1", "192.0.2.2", sport, dport, kAck));
  };
  auto udp = [&](uint16_t sport, uint16_t dport) {
    return rules.evaluate(Hook::kInput, udp_in("192.0.2.1", "192.0.2.2", sport, dport));
  };
  CHECK(tcp(5, 999) == Verdict::kDrop);
  CHECK(tcp(5, 1000) == Verdict::kAccept);
  CHECK(tcp(5, 1500) == Verdict::kAccept);
  CHECK(tcp(5, 2000) == Verdict::kAccept);
  CHECK(tcp(5, 2001) == Verdict::kDrop);
  CHECK(tcp(0, 2001) == Verdict::kAccept);
  CHECK(udp(53, 1023) == Verdict::kDrop);
  CHECK(udp(53, 1024) == Verdict::kAccept);
  CHECK(udp(53, 65535) == Verdict::kAccept);
  CHECK(udp(54, 5000) == Verdict::kDrop);
  // The protocol must match too: a UDP datagram to 1500 is not TCP.
  CHECK(udp(5, 1500) == Verdict::kDrop);
  // No transport header (a later fragment): port rules cannot match.
  FilterInput frag = tcp_in("192.0.2.1", "192.0.2.2", 5, 1500, kAck);
  frag.has_ports = false;
  CHECK(rules.evaluate(Hook::kInput, frag) == Verdict::kDrop);
  CHECK(rules.hits(0) == 3);
  CHECK(rules.hits(1) == 2);
  CHECK(rules.hits(2) == 1);
}

TEST_CASE("matches: TCP flags — listed flags set, negated flags clear, the rest ignored") {
  RuleSet rules = parse_ok(
      "input proto tcp flags SYN,!ACK count\n"   // 0: a connection request
      "input proto tcp flags RST accept\n"       // 1
      "input proto tcp flags !SYN,!RST,!FIN,ACK accept\n"  // 2
      "policy input drop");
  auto v = [&](uint8_t flags) {
    return rules.evaluate(Hook::kInput, tcp_in("192.0.2.1", "192.0.2.2", 1, 2, flags));
  };
  CHECK(v(kSyn) == Verdict::kDrop);                                  // counted, then policy
  CHECK(v(kSyn | wire::tcpflag::kEce | wire::tcpflag::kCwr) == Verdict::kDrop);  // ECN SYN: counted
  CHECK(v(kSyn | kAck) == Verdict::kDrop);                           // SYN-ACK: neither
  CHECK(v(kRst) == Verdict::kAccept);
  CHECK(v(kRst | kAck) == Verdict::kAccept);
  CHECK(v(kAck) == Verdict::kAccept);
  CHECK(v(kAck | wire::tcpflag::kPsh) == Verdict::kAccept);
  CHECK(v(kAck | kFin) == Verdict::kDrop);
  CHECK(v(0) == Verdict::kDrop);
  CHECK(rules.hits(0) == 2);
  CHECK(rules.hits(1) == 2);
  CHECK(rules.hits(2) == 2);
  CHECK(rules.policy_hits(Hook::kInput) == 5);
  // Without the TCP header no flags rule matches.
  FilterInput no_header = tcp_in("192.0.2.1", "192.0.2.2", 1, 2, kRst);
  no_header.has_ports = false;
  CHECK(rules.evaluate(Hook::kInput, no_header) == Verdict::kDrop);
}

TEST_CASE("matches: `in NAME` matches the resolved ifindex only; unresolved names match nothing") {
  RuleSet rules = parse_ok(
      "input in lan0 accept\n"
      "input in wan0 drop\n"
      "policy input drop");
  // Unresolved: neither rule matches.
  CHECK(rules.evaluate(Hook::kInput, tcp_in("192.0.2.1", "192.0.2.2", 1, 2, kAck, 1)) == Verdict::kDrop);
  CHECK(rules.hits(0) == 0);
  auto bad = rules.resolve_interfaces([](std::string_view name) -> std::optional<uint16_t> {
    if (name == "lan0") return 3;
    return std::nullopt;
  });
  CHECK(bad.code() == absl::StatusCode::kInvalidArgument);
  CHECK(bad.message() == "line 2: unknown interface 'wan0'");
  CHECK(rules.rule(0).in_ifindex == 0);  // nothing changed on error
  REQUIRE(rules.resolve_interfaces([](std::string_view name) -> std::optional<uint16_t> {
                  return name == "lan0" ? 3 : 4;
                }).ok());
  CHECK(rules.rule(0).in_ifindex == 3);
  CHECK(rules.rule(1).in_ifindex == 4);
  CHECK(rules.evaluate(Hook::kInput, tcp_in("192.0.2.1", "192.0.2.2", 1, 2, kAck, 3)) == Verdict::kAccept);
  CHECK(rules.evaluate(Hook::kInput, tcp_in("192.0.2.1", "192.0.2.2", 1, 2, kAck, 4)) == Verdict::kDrop);
  CHECK(rules.evaluate(Hook::kInput, tcp_in("192.0.2.1", "192.0.2.2", 1, 2, kAck, 5)) == Verdict::kDrop);
  CHECK(rules.hits(0) == 1);
  CHECK(rules.hits(1) == 1);
  CHECK(rules.policy_hits(Hook::kInput) == 2);
}

// An IPv4 datagram (header + `l4`) as the IP layer would see it.
std::vector<uint8_t> datagram(uint8_t proto, const std::vector<uint8_t>& l4, uint16_t frag_offset = 0,
                              bool more = false) {
  wire::Ipv4Repr r;
  r.src = addr("198.51.100.9");
  r.dst = addr("192.0.2.2");
  r.protocol = proto;
  r.frag_offset = frag_offset;
  r.more_fragments = more;
  r.payload_length = static_cast<uint16_t>(l4.size());
  std::vector<uint8_t> d(r.total_length());
  REQUIRE(r.emit(d) == 20);
  std::copy(l4.begin(), l4.end(), d.begin() + 20);
  return d;
}

TEST_CASE("FilterInput::from_ipv4: addresses, protocol, length; ports and flags only from a first fragment with the header") {
  std::vector<uint8_t> tcp(20, 0);
  wire::store_be16(&tcp[0], 40000);
  wire::store_be16(&tcp[2], 22);
  tcp[12] = 5 << 4;
  tcp[13] = kSyn | wire::tcpflag::kEce;
  {
    const auto d = datagram(wire::ipproto::kTcp, tcp);
    auto v = wire::Ipv4View::parse(d);
    REQUIRE(v.ok());
    const FilterInput in = FilterInput::from_ipv4(*v, 7);
    CHECK(in.ifindex == 7);
    CHECK(in.src == addr("198.51.100.9"));
    CHECK(in.dst == addr("192.0.2.2"));
    CHECK(in.protocol == wire::ipproto::kTcp);
    CHECK(in.length == 40);
    CHECK(in.has_ports);
    CHECK(in.sport == 40000);
    CHECK(in.dport == 22);
    CHECK(in.tcp_flags == (kSyn | wire::tcpflag::kEce));
  }
  {  // a first fragment carrying the header (MF set) still has its ports
    const auto d = datagram(wire::ipproto::kTcp, tcp, 0, true);
    auto v = wire::Ipv4View::parse(d);
    REQUIRE(v.ok());
    CHECK(FilterInput::from_ipv4(*v, 1).has_ports);
  }
  {  // a later fragment has none
    const auto d = datagram(wire::ipproto::kTcp, tcp, 8);
    auto v = wire::Ipv4View::parse(d);
    REQUIRE(v.ok());
    const FilterInput in = FilterInput::from_ipv4(*v, 1);
    CHECK_FALSE(in.has_ports);
    CHECK(in.sport == 0);
    CHECK(in.tcp_flags == 0);
  }
  {  // TCP cut short before the flags byte
    const auto d = datagram(wire::ipproto::kTcp, std::vector<uint8_t>(tcp.begin(), tcp.begin() + 13));
    auto v = wire::Ipv4View::parse(d);
    REQUIRE(v.ok());
    CHECK_FALSE(FilterInput::from_ipv4(*v, 1).has_ports);
  }
  {  // UDP: ports from 4 bytes on
    const auto d = datagram(wire::ipproto::kUdp, {0x00, 0x35, 0x04, 0x00});
    auto v = wire::Ipv4View::parse(d);
    REQUIRE(v.ok());
    const FilterInput in = FilterInput::from_ipv4(*v, 1);
    CHECK(in.has_ports);
    CHECK(in.sport == 53);
    CHECK(in.dport == 1024);
    CHECK(in.tcp_flags == 0);
  }
  {  // ICMP: no ports
    const auto d = datagram(wire::ipproto::kIcmp, {8, 0, 0, 0, 0, 1, 0, 1});
    auto v = wire::Ipv4View::parse(d);
    REQUIRE(v.ok());
    const FilterInput in = FilterInput::from_ipv4(*v, 1);
    CHECK_FALSE(in.has_ports);
    CHECK(in.protocol == wire::ipproto::kIcmp);
  }
}

TEST_CASE("Stack::set_filter resolves interface names, keeps the old filter on error, and is reachable from the link layer") {
  ManualClock clock;
  Stack stack(Tunables(), &clock);
  REQUIRE(stack.add_interface(std::make_unique<sim::SimPort>(sim::SimPortConfig{.name = "lan0"}), {}).ok());
  REQUIRE(stack.add_interface(std::make_unique<sim::SimPort>(sim::SimPortConfig{.name = "wan0"}), {}).ok());
  auto vlan = stack.add_vlan(1, 7);
  REQUIRE(vlan.ok());
  CHECK(stack.filter() == nullptr);
  REQUIRE(stack.set_filter(parse_ok("input in wan0 drop\ninput in lan0.7 accept")).ok());
  filter::RuleSet* installed = stack.filter();
  REQUIRE(installed != nullptr);
  CHECK(installed == stack.link().filter());
  CHECK(installed->rule(0).in_ifindex == 2);
  CHECK(installed->rule(1).in_ifindex == (*vlan)->ifindex());

  const absl::Status bad = stack.set_filter(parse_ok("input accept\ninput in eth9 drop"));
  CHECK(bad.message() == "line 2: unknown interface 'eth9'");
  CHECK(stack.filter() == installed);
  stack.clear_filter();
  CHECK(stack.filter() == nullptr);
  stack.shutdown();
  CHECK(stack.pool().in_use() == 0);
}

TEST_CASE("fuzz: random rule text never crashes the parser; what parses round-trips and evaluates") {
  const std::vector<std::string> vocabulary = {
      "input", "forward", "prerouting", "policy", "accept", "drop", "count", "in", "src", "dst",
      "proto", "sport", "dport", "flags", "tcp", "udp", "icmp", "17", "256", "-1", "0", "65535",
      "65536", "1-2", "2-1", "10.0.0.0/8", "10.0.0.1/8", "192.0.2.1", "1.2.3.4/33", "0.0.0.0/0",
      "SYN", "!ACK", "SYN,!ACK", "FIN,,RST", "!", ",", "#", "\n", "\r\n", "\t", "eth0", "/", "-",
      "", "\xff", "\0", "999999999999999999999", "1.2.3.4/", "policy input drop\n"};
  std::mt19937 rng(20240611);
  size_t parsed = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    const int tokens = static_cast<int>(rng() % 24);
    for (int t = 0; t < tokens; ++t) {
      if (rng() % 10 == 0) {
        text.push_back(static_cast<char>(rng() % 256));  // raw noise
      } else {
        text += vocabulary[rng() % vocabulary.size()];
      }
      text.push_back(rng() % 6 == 0 ? '\n' : ' ');
    }
    auto rules = RuleSet::parse(text);
    if (!rules.ok()) {
      const std::string message(rules.status().message());
      CHECK(message.rfind("line ", 0) == 0);
      continue;
    }
    ++parsed;
    auto again = RuleSet::parse(rules->rules_text());
    REQUIRE(again.ok());
    CHECK(again->rules_text() == rules->rules_text());
    (void)rules->resolve_interfaces([](std::string_view) -> std::optional<uint16_t> { return 1; });
    for (int i = 0; i < 8; ++i) {
      FilterInput in;
      in.ifindex = static_cast<uint16_t>(rng() % 3);
      in.src = wire::Ipv4Address(static_cast<uint32_t>(rng()));
      in.dst = wire::Ipv4Address(static_cast<uint32_t>(rng()));
      in.protocol = static_cast<uint8_t>(rng() % 2 == 0 ? wire::ipproto::kTcp : rng() % 256);
      in.sport = static_cast<uint16_t>(rng());
      in.dport = static_cast<uint16_t>(rng());
      in.tcp_flags = static_cast<uint8_t>(rng());
      in.has_ports = rng() % 2 == 0;
      in.length = static_cast<uint32_t>(rng() % 65536);
      (void)rules->evaluate(static_cast<Hook>(rng() % kHookCount), in);
    }
    (void)rules->to_text();
  }
  CHECK(parsed > 50);  // the generator does reach valid rule sets
}

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::filter
#endif  // INLET_WITH_FILTER

// Tunables: sysctl names and Linux's defaults (Documentation/admin-guide/
// sysctl/net.rst, Documentation/networking/ip-sysctl.rst), and sysctl.conf(5)
// parsing: `key = value`, '#' and ';' comments, a leading '-' to ignore an
// unknown key, errors that name the line, nothing applied when a line fails.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "core/tunables.h"

namespace inlet {
namespace {

std::string msg(const absl::Status& s) { return std::string(s.message()); }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST_SUITE("core.tunables") {

TEST_CASE("defaults match Linux's") {
  const Tunables t;
  CHECK(t.get(Tunable::kNetdevBudget) == 300);
  CHECK(t.get(Tunable::kNetdevBudgetUsecs) == 2000);
  CHECK(t.get(Tunable::kDevWeight) == 64);
  CHECK(t.get(Tunable::kBusyPoll) == 0);
  CHECK(t.get(Tunable::kBusyRead) == 0);
  CHECK(t.get(Tunable::kRmemDefault) == 212992);
  CHECK(t.get(Tunable::kRmemMax) == 212992);
  CHECK(t.get(Tunable::kSomaxconn) == 4096);
  CHECK(t.get(Tunable::kIpForward) == 0);
  CHECK(t.get(Tunable::kIpDefaultTtl) == 64);
  CHECK(t.get(Tunable::kRpFilter) == 0);
  CHECK(t.get(Tunable::kIcmpEchoIgnoreAll) == 0);
  CHECK(t.get(Tunable::kIcmpEchoIgnoreBroadcasts) == 1);
  CHECK(t.get(Tunable::kIcmpRatelimit) == 1000);
  CHECK(t.get(Tunable::kIcmpRatemask) == 6168);
  CHECK(t.get(Tunable::kIcmpMsgsPerSec) == 1000);
  CHECK(t.get(Tunable::kIcmpMsgsBurst) == 50);
  CHECK(t.get(Tunable::kIpfragHighThresh) == 4194304);
  CHECK(t.get(Tunable::kIpfragLowThresh) == 3145728);
  CHECK(t.get(Tunable::kIpfragTime) == 30);
  CHECK(t.get(Tunable::kNeighGcThresh3) == 1024);
  CHECK(t.get(Tunable::kNeighBaseReachableMs) == 30000);
  CHECK(t.get(Tunable::kNeighGcStaleTime) == 60);
  CHECK(t.get(Tunable::kNeighRetransMs) == 1000);
  CHECK(t.get(Tunable::kNeighMcastSolicit) == 3);
  const std::array<int64_t, 3> rmem = {4096, 131072, 6291456};
  CHECK(t.get_vector(Tunable::kTcpRmem) == rmem);
  CHECK(t.get(Tunable::kTcpRmem) == 4096);
  CHECK(t.get(Tunable::kTcpModerateRcvbuf) == 1);
  CHECK(t.get(Tunable::kTcpFastopen) == 1);
  CHECK(t.get(Tunable::kTcpSyncookies) == 1);
  CHECK(t.get(Tunable::kTcpSack) == 1);
  CHECK(t.get(Tunable::kTcpTimestamps) == 1);
  CHECK(t.get(Tunable::kTcpWindowScaling) == 1);
}

TEST_CASE("names: find() by dots or slashes, name() gives the dotted form") {
  CHECK(Tunables::find("net.core.netdev_budget") == Tunable::kNetdevBudget);
  CHECK(Tunables::find("net/core/netdev_budget") == Tunable::kNetdevBudget);
  CHECK(Tunables::find("net/ipv4/conf/all/rp_filter") == Tunable::kRpFilter);
  CHECK_FALSE(Tunables::find("net.core.nope").has_value());
  CHECK_FALSE(Tunables::find("").has_value());
  CHECK_FALSE(Tunables::find("net.core.netdev_budge").has_value());
  CHECK(Tunables::name(Tunable::kTcpRmem) == "net.ipv4.tcp_rmem");
  for (size_t i = 0; i < kTunableCount; ++i) {
    const Tunable t = static_cast<Tunable>(i);
    CHECK(Tunables::find(Tunables::name(t)) == t);
  }
}

TEST_CASE("set by dotted and by slashed name") {
  Tunables t;
  CHECK(t.set("net.core.netdev_budget", "600").ok());
  CHECK(t.get(Tunable::kNetdevBudget) == 600);
  CHECK(t.set("net/core/dev_weight", "16").ok());
  CHECK(t.get(Tunable::kDevWeight) == 16);
  CHECK(t.set("  net.core.busy_poll  ", "  50  ").ok());
  CHECK(t.get(Tunable::kBusyPoll) == 50);
  CHECK(t.set("net.ipv4.tcp_rmem", "8192\t262144   4194304").ok());
  CHECK(t.get_vector(Tunable::kTcpRmem) == std::array<int64_t, 3>{8192, 262144, 4194304});
  t.set(Tunable::kIpForward, 1);
  CHECK(t.get(Tunable::kIpForward) == 1);
}

TEST_CASE("set: errors leave the value alone") {
  Tunables t;
  SUBCASE("unknown key") {
    absl::Status s = t.set("net.core.nope", "1");
    CHECK(absl::IsNotFound(s));
    CHECK(contains(msg(s), "unknown key 'net.core.nope'"));
  }
  SUBCASE("not an integer") {
    absl::Status s = t.set("net.core.dev_weight", "lots");
    CHECK(absl::IsInvalidArgument(s));
    CHECK(contains(msg(s), "not an integer"));
    CHECK_FALSE(t.set("net.core.dev_weight", "1.5").ok());
    CHECK_FALSE(t.set("net.core.dev_weight", "0x10").ok());
    CHECK_FALSE(t.set("net.core.dev_weight", "99999999999999999999999").ok());
  }
  SUBCASE("out of range") {
    absl::Status s = t.set("net.core.dev_weight", "0");
    CHECK(absl::IsOutOfRange(s));
    CHECK(contains(msg(s), "outside"));
    CHECK(absl::IsOutOfRange(t.set("net.ipv4.ip_forward", "2")));
    CHECK(absl::IsOutOfRange(t.set("net.ipv4.ip_default_ttl", "256")));
    CHECK(absl::IsOutOfRange(t.set("net.core.busy_poll", "-1")));
  }
  SUBCASE("wrong value count") {
    absl::Status s = t.set("net.core.dev_weight", "1 2");
    CHECK(absl::IsInvalidArgument(s));
    CHECK(contains(msg(s), "takes 1 integer"));
    CHECK(contains(msg(t.set("net.ipv4.tcp_rmem", "4096 131072")), "takes 3 integers"));
    CHECK_FALSE(t.set("net.core.dev_weight", "").ok());
    CHECK_FALSE(t.set("net.ipv4.tcp_rmem", "1 2 3 4").ok());
  }
  SUBCASE("unordered tcp_rmem") {
    absl::Status s = t.set("net.ipv4.tcp_rmem", "8192 4096 6291456");
    CHECK(absl::IsInvalidArgument(s));
    CHECK(contains(msg(s), "ordered"));
    CHECK_FALSE(t.set("net.ipv4.tcp_rmem", "4096 131072 65536").ok());
    CHECK(t.set("net.ipv4.tcp_rmem", "4096 4096 4096").ok());  // equal is ordered
    t = Tunables();
  }
  SUBCASE("a vector knob with one bad value changes none of its values") {
    CHECK_FALSE(t.set("net.ipv4.tcp_rmem", "1 2 x").ok());
  }
  CHECK(t.get(Tunable::kDevWeight) == 64);
  CHECK(t.get(Tunable::kIpForward) == 0);
  CHECK(t.get(Tunable::kIpDefaultTtl) == 64);
  CHECK(t.get(Tunable::kBusyPoll) == 0);
  CHECK(t.get_vector(Tunable::kTcpRmem) == std::array<int64_t, 3>{4096, 131072, 6291456});
}

TEST_CASE("set_assignment: key=value as sysctl -w takes it") {
  Tunables t;
  CHECK(t.set_assignment("net.core.somaxconn=1024").ok());
  CHECK(t.get(Tunable::kSomaxconn) == 1024);
  CHECK(t.set_assignment("net.ipv4.tcp_rmem=4096 87380 6291456").ok());
  CHECK(t.get_vector(Tunable::kTcpRmem)[1] == 87380);
  CHECK(t.set_assignment("net/ipv4/ip_forward = 1").ok());
  CHECK(t.get(Tunable::kIpForward) == 1);
  absl::Status s = t.set_assignment("net.core.somaxconn");
  CHECK(absl::IsInvalidArgument(s));
  CHECK(contains(msg(s), "key=value"));
  CHECK(absl::IsNotFound(t.set_assignment("net.core.nope=1")));
  CHECK(t.get(Tunable::kSomaxconn) == 1024);
}

TEST_CASE("load: sysctl.conf text with comments, blank lines and spaces") {
  Tunables t;
  const char* text =
      "# /etc/sysctl.d/90-inlet.conf\n"
      "\n"
      "net.core.netdev_budget = 600\n"
      "   ; another comment style\n"
      "net.core.netdev_budget_usecs=4000\n"
      "\t net.core.dev_weight   =   128  \r\n"
      "net/ipv4/tcp_rmem = 8192 262144 8388608\n"
      "   \n"
      "net.ipv4.icmp_ratelimit =0\n"
      "net.core.busy_poll= 50";  // no final newline
  absl::Status s = t.load(text);
  CHECK_MESSAGE(s.ok(), msg(s));
  CHECK(t.get(Tunable::kNetdevBudget) == 600);
  CHECK(t.get(Tunable::kNetdevBudgetUsecs) == 4000);
  CHECK(t.get(Tunable::kDevWeight) == 128);
  CHECK(t.get_vector(Tunable::kTcpRmem) == std::array<int64_t, 3>{8192, 262144, 8388608});
  CHECK(t.get(Tunable::kIcmpRatelimit) == 0);
  CHECK(t.get(Tunable::kBusyPoll) == 50);
  CHECK(t.get(Tunable::kSomaxconn) == 4096);  // untouched
  CHECK(t.load("").ok());
  CHECK(t.load("\n\n# only comments\n;\n").ok());
  CHECK(t.get(Tunable::kNetdevBudget) == 600);
}

TEST_CASE("load: errors name the line") {
  Tunables t;
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"# header\nnet.core.dev_weight = 32\nnet.core.nope = 1\n", "line 3: unknown key 'net.core.nope'"},
      {"net.core.dev_weight = many\n", "line 1: "},
      {"\n\nnet.ipv4.ip_forward = 7\n", "line 3: "},
      {"net.core.dev_weight = 1 2\n", "line 1: "},
      {"# a\n# b\n# c\nnet.ipv4.tcp_rmem = 9000 4096 10000\n", "line 4: "},
      {"net.core.dev_weight 32\n", "line 1: expected 'key = value'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    absl::Status s = t.load(c.text);
    CHECK_FALSE(s.ok());
    CHECK_MESSAGE(msg(s).rfind(c.expected, 0) == 0, msg(s));
  }
  CHECK(absl::IsNotFound(t.load("net.core.nope = 1")));
  CHECK(absl::IsOutOfRange(t.load("net.ipv4.ip_forward = 7")));
  CHECK(absl::IsInvalidArgument(t.load("net.core.dev_weight = x")));
  CHECK(contains(msg(t.load("net.core.dev_weight = x")), "not an integer"));
  CHECK(contains(msg(t.load("net.ipv4.ip_forward = 7")), "outside"));
  CHECK(contains(msg(t.load("net.ipv4.tcp_rmem = 3 2 1")), "ordered"));
  CHECK(contains(msg(t.load("net.ipv4.tcp_rmem = 3")), "takes 3 integers"));
  // Nothing was applied by any of these.
  CHECK(t.get(Tunable::kDevWeight) == 64);
  CHECK(t.get(Tunable::kIpForward) == 0);
}

TEST_CASE("load: a leading '-' ignores an unknown key, not a bad value") {
  Tunables t;
  CHECK(t.load("-net.core.nope = 1\nnet.core.dev_weight = 8\n").ok());
  CHECK(t.get(Tunable::kDevWeight) == 8);
  CHECK(t.load("  -net.ipv6.conf.all.disable_ipv6 = 1\n").ok());
  CHECK(t.load("-net.core.dev_weight = 16\n").ok());  // known key: applied
  CHECK(t.get(Tunable::kDevWeight) == 16);
  absl::Status s = t.load("-net.core.dev_weight = 0\n");
  CHECK(absl::IsOutOfRange(s));
  CHECK(msg(s).rfind("line 1: ", 0) == 0);
  CHECK(t.get(Tunable::kDevWeight) == 16);
}

TEST_CASE("load is all-or-nothing: a bad line leaves earlier lines unapplied") {
  Tunables t;
  absl::Status s = t.load(
      "net.core.netdev_budget = 999\n"
      "net.core.dev_weight = 7\n"
      "net.ipv4.tcp_rmem = 1 2 3\n"
      "net.core.somaxconn = 70000\n");  // out of range
  CHECK_FALSE(s.ok());
  CHECK(msg(s).rfind("line 4: ", 0) == 0);
  CHECK(t.get(Tunable::kNetdevBudget) == 300);
  CHECK(t.get(Tunable::kDevWeight) == 64);
  CHECK(t.get_vector(Tunable::kTcpRmem) == std::array<int64_t, 3>{4096, 131072, 6291456});
  CHECK(t.get(Tunable::kSomaxconn) == 4096);
}

TEST_CASE("to_text() round-trips through load()") {
  Tunables a;
  REQUIRE(a.load("net.core.netdev_budget = 123\n"
                 "net.ipv4.tcp_rmem = 1000 2000 3000\n"
                 "net.ipv4.ip_forward = 1\n"
                 "inlet.pool.buffers = 512\n")
              .ok());
  const std::string text = a.to_text();
  CHECK(contains(text, "net.core.netdev_budget = 123\n"));
  CHECK(contains(text, "net.ipv4.tcp_rmem = 1000 2000 3000\n"));
  CHECK(contains(text, "inlet.pool.buffers = 512\n"));
  // One line per knob.
  size_t lines = 0;
  for (char ch : text) lines += ch == '\n';
  CHECK(lines == kTunableCount);
  Tunables b;
  absl::Status s = b.load(text);
  REQUIRE_MESSAGE(s.ok(), msg(s));
  for (size_t i = 0; i < kTunableCount; ++i) {
    const Tunable t = static_cast<Tunable>(i);
    CAPTURE(Tunables::name(t));
    CHECK(a.get_vector(t) == b.get_vector(t));
  }
  CHECK(b.to_text() == text);
  // The defaults round-trip too.
  Tunables d, e;
  CHECK(e.load(d.to_text()).ok());
  CHECK(e.to_text() == d.to_text());
}

TEST_CASE("load_file: reads a file; the error names file and line") {
  const std::string path = "/tmp/inlet_core_tunables_test.conf";
  {
    std::ofstream out(path);
    out << "net.core.dev_weight = 32\n# x\nnet.core.bogus = 1\n";
  }
  Tunables t;
  absl::Status s = t.load_file(path);
  CHECK(absl::IsNotFound(s));
  CHECK(contains(msg(s), path + ": line 3: unknown key 'net.core.bogus'"));
  CHECK(t.get(Tunable::kDevWeight) == 64);
  {
    std::ofstream out(path);
    out << "net.core.dev_weight = 32\n";
  }
  CHECK(t.load_file(path).ok());
  CHECK(t.get(Tunable::kDevWeight) == 32);
  std::remove(path.c_str());
  CHECK(absl::IsNotFound(t.load_file(path)));
}

}  // TEST_SUITE

}  // namespace
}  // namespace inlet

// Counters: Linux's names and nstat's output format (iproute2 misc/nstat.c
// prints "%-32s%-16llu%6.1f\n" after a "#kernel" line), drop reasons mapped to
// the MIB counter the kernel bumps for them, merging contexts by summing.
#include <doctest/doctest.h>

#include <cstdio>
#include <set>
#include <string>

#include "core/counters.h"

namespace inlet {
namespace {

std::string nstat_line(const char* name, unsigned long long value) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%-32s%-16llu%6.1f\n", name, value, 0.0);
  return buf;
}

TEST_SUITE("core.counters") {

TEST_CASE("counter names are the nstat/ip -s link names") {
  CHECK(counter_name(Counter::IpInReceives) == "IpInReceives");
  CHECK(counter_name(Counter::IpInHdrErrors) == "IpInHdrErrors");
  CHECK(counter_name(Counter::IpExtInCsumErrors) == "IpExtInCsumErrors");
  CHECK(counter_name(Counter::rx_nobuf) == "rx_nobuf");
  CHECK(counter_name(Counter::UdpNoPorts) == "UdpNoPorts");
  CHECK(counter_name(Counter::UdpOutDatagrams) == "UdpOutDatagrams");
  std::set<std::string> names;
  for (size_t i = 0; i < kCounterCount; ++i) {
    std::string_view n = counter_name(static_cast<Counter>(i));
    CHECK_FALSE(n.empty());
    CHECK(n.size() < 32);  // fits nstat's name column
    names.insert(std::string(n));
  }
  CHECK(names.size() == kCounterCount);
}

TEST_CASE("add/get, and a fresh Counters is all zero") {
  Counters c;
  for (size_t i = 0; i < kCounterCount; ++i) CHECK(c.get(static_cast<Counter>(i)) == 0);
  CHECK(c.total_drops() == 0);
  c.add(Counter::IpInReceives);
  c.add(Counter::IpInReceives, 41);
  CHECK(c.get(Counter::IpInReceives) == 42);
  CHECK(c.get(Counter::IpInDelivers) == 0);
}

TEST_CASE("to_nstat: '#kernel' then \"%-32s%-16u%6.1f\" per non-zero counter, in list order") {
  Counters c;
  CHECK(c.to_nstat() == "#kernel\n");
  c.add(Counter::IpInReceives, 3);
  c.add(Counter::IpInHdrErrors, 1);
  c.add(Counter::UdpNoPorts, 12345678901ull);
  const std::string expected = std::string("#kernel\n") + nstat_line("IpInReceives", 3) +
                               nstat_line("IpInHdrErrors", 1) +
                               nstat_line("UdpNoPorts", 12345678901ull);
  CHECK(c.to_nstat() == expected);
  // The exact columns: name padded to 32, value padded to 16, rate in 6.
  CHECK(nstat_line("IpInReceives", 3) ==
        "IpInReceives                    3                  0.0\n");
}

TEST_CASE("to_nstat(include_zero) lists every counter") {
  Counters c;
  c.add(Counter::IpInReceives, 2);
  const std::string all = c.to_nstat(true);
  size_t lines = 0;
  for (char ch : all) lines += ch == '\n';
  CHECK(lines == kCounterCount + 1);
  CHECK(all.rfind("#kernel\n", 0) == 0);
  CHECK(all.find(nstat_line("IpInReceives", 2)) != std::string::npos);
  CHECK(all.find(nstat_line("IpInHdrErrors", 0)) != std::string::npos);
  CHECK(all.find(nstat_line("rx_packets", 0)) != std::string::npos);
}

TEST_CASE("drop reasons: each bumps its own tally and its mapped counter") {
  CHECK(drop_reason_counter(DropReason::kIpBadChecksum) == Counter::IpInHdrErrors);
  CHECK(drop_reason_counter(DropReason::kIpTruncated) == Counter::IpExtInTruncatedPkts);
  CHECK(drop_reason_counter(DropReason::kPoolExhausted) == Counter::rx_nobuf);
  CHECK(drop_reason_counter(DropReason::kUdpNoPort) == Counter::UdpNoPorts);
  CHECK(drop_reason_counter(DropReason::kUdpBadChecksum) == Counter::UdpInErrors);
  CHECK(drop_reason_counter(DropReason::kIpNotForUs) == Counter::IpInAddrErrors);
  CHECK(drop_reason_counter(DropReason::kIpUnknownProtocol) == Counter::IpInUnknownProtos);
  CHECK(drop_reason_counter(DropReason::kFrameTooShort) == Counter::rx_length_errors);
  CHECK(drop_reason_counter(DropReason::kTxRingFull) == Counter::tx_dropped);
  CHECK(drop_reason_counter(DropReason::kArpUnresolved) == Counter::ArpUnresolvedDiscards);

  Counters c;
  c.drop(DropReason::kIpBadChecksum);
  c.drop(DropReason::kIpBadChecksum);
  c.drop(DropReason::kIpBadVersion);  // same counter, different reason
  c.drop(DropReason::kUdpNoPort);
  CHECK(c.drops(DropReason::kIpBadChecksum) == 2);
  CHECK(c.drops(DropReason::kIpBadVersion) == 1);
  CHECK(c.drops(DropReason::kUdpNoPort) == 1);
  CHECK(c.drops(DropReason::kIpTooShort) == 0);
  CHECK(c.get(Counter::IpInHdrErrors) == 3);
  CHECK(c.get(Counter::UdpNoPorts) == 1);
  CHECK(c.total_drops() == 4);
  // Every reason maps to a real counter and bumps exactly it.
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    const DropReason r = static_cast<DropReason>(i);
    CAPTURE(drop_reason_name(r));
    Counters one;
    one.drop(r);
    CHECK(static_cast<size_t>(drop_reason_counter(r)) < kCounterCount);
    CHECK(one.get(drop_reason_counter(r)) == 1);
    CHECK(one.drops(r) == 1);
    CHECK(one.total_drops() == 1);
    uint64_t sum = 0;
    for (size_t j = 0; j < kCounterCount; ++j) sum += one.get(static_cast<Counter>(j));
    CHECK(sum == 1);
  }
}

TEST_CASE("drop_reason_name: SKB_DROP_REASON style") {
  CHECK(drop_reason_name(DropReason::kIpBadChecksum) == "IP_BAD_CHECKSUM");
  CHECK(drop_reason_name(DropReason::kPoolExhausted) == "POOL_EXHAUSTED");
  CHECK(drop_reason_name(DropReason::kIpv6NotSupported) == "IPV6_NOT_SUPPORTED");
  CHECK(drop_reason_name(DropReason::kUdpNoPort) == "UDP_NO_PORT");
  CHECK(drop_reason_name(DropReason::kShutdown) == "SHUTDOWN");
  std::set<std::string> names;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    const std::string n(drop_reason_name(static_cast<DropReason>(i)));
    CHECK_FALSE(n.empty());
    for (char ch : n) CHECK(((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'));
    CHECK(n.front() != '_');
    names.insert(n);
  }
  CHECK(names.size() == kDropReasonCount);
}

TEST_CASE("drop_reasons_text: one line per non-zero reason") {
  Counters c;
  CHECK(c.drop_reasons_text().empty());
  c.drop(DropReason::kUdpNoPort);
  c.drop(DropReason::kUdpNoPort);
  const std::string text = c.drop_reasons_text();
  char expected[128];
  std::snprintf(expected, sizeof expected, "drop %-28s%u\n", "UDP_NO_PORT", 2u);
  CHECK(text == expected);
}

TEST_CASE("merge sums counters and drop tallies") {
  Counters a, b;
  a.add(Counter::IpInReceives, 5);
  a.drop(DropReason::kIpBadChecksum);
  b.add(Counter::IpInReceives, 7);
  b.add(Counter::UdpInDatagrams, 2);
  b.drop(DropReason::kIpBadChecksum);
  b.drop(DropReason::kPoolExhausted);
  a.merge(b);
  CHECK(a.get(Counter::IpInReceives) == 12);
  CHECK(a.get(Counter::UdpInDatagrams) == 2);
  CHECK(a.get(Counter::IpInHdrErrors) == 2);
  CHECK(a.get(Counter::rx_nobuf) == 1);
  CHECK(a.drops(DropReason::kIpBadChecksum) == 2);
  CHECK(a.drops(DropReason::kPoolExhausted) == 1);
  CHECK(a.total_drops() == 3);
  // The source is unchanged; merging an empty set changes nothing.
  CHECK(b.get(Counter::IpInReceives) == 7);
  const std::string before = a.to_nstat();
  a.merge(Counters());
  CHECK(a.to_nstat() == before);
  // Summing on read: a total built from several contexts.
  Counters total;
  for (int i = 0; i < 3; ++i) total.merge(b);
  CHECK(total.get(Counter::IpInReceives) == 21);
  CHECK(total.drops(DropReason::kPoolExhausted) == 3);
}

TEST_CASE("to_json: non-zero counters as a JSON object") {
  Counters c;
  CHECK(c.to_json() == "{}");
  c.add(Counter::IpInReceives, 3);
  CHECK(c.to_json() == "{\"IpInReceives\": 3}");
  c.add(Counter::IpInHdrErrors, 1);
  c.add(Counter::UdpNoPorts, 18446744073709551615ull);
  CHECK(c.to_json() ==
        "{\"IpInReceives\": 3, \"IpInHdrErrors\": 1, \"UdpNoPorts\": 18446744073709551615}");
}

TEST_CASE("softnet_line: one line per poller") {
  SoftnetStat s;
  s.processed = 1000;
  s.dropped = 2;
  s.time_squeeze = 3;
  s.polls = 40;
  CHECK(softnet_line(s, 1) ==
        "softnet poller=1 processed=1000 dropped=2 time_squeeze=3 polls=40\n");
}

}  // TEST_SUITE

}  // namespace
}  // namespace inlet

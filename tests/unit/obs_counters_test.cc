// Counter reports for observability: deltas between snapshots (gauges keep
// their value), nstat's text with per-second rates, and nstat --json's shape.
#include <doctest/doctest.h>

#include <string>

#include "core/counters.h"

namespace inlet {
namespace {

TEST_SUITE_BEGIN("obs_counters");

TEST_CASE("delta_since subtracts counters and drop tallies, keeps gauges") {
  Counters before;
  before.add(Counter::IpInReceives, 10);
  before.set(Counter::TcpCurrEstab, 5);
  before.drop(DropReason::kIpBadChecksum);
  Counters now = before;
  now.add(Counter::IpInReceives, 7);
  now.add(Counter::UdpInDatagrams, 3);
  now.set(Counter::TcpCurrEstab, 2);
  now.drop(DropReason::kIpBadChecksum);
  now.drop(DropReason::kIpBadChecksum);
  const Counters d = now.delta_since(before);
  CHECK(d.get(Counter::IpInReceives) == 7);
  CHECK(d.get(Counter::UdpInDatagrams) == 3);
  CHECK(d.get(Counter::TcpCurrEstab) == 2);
  CHECK(d.drops(DropReason::kIpBadChecksum) == 2);
  // The checksum drop counts IpInHdrErrors too: 1 before, 3 now.
  CHECK(d.get(Counter::IpInHdrErrors) == 2);
  CHECK(counter_is_gauge(Counter::TcpCurrEstab));
  CHECK_FALSE(counter_is_gauge(Counter::IpInReceives));
}

TEST_CASE("to_nstat_rates prints nstat's columns with the rate per second") {
  Counters d;
  d.add(Counter::IpInReceives, 50);
  d.add(Counter::UdpInDatagrams, 5);
  const std::string text = d.to_nstat_rates(10.0);
  // nstat's columns: name (32 wide), value (16 wide), rate (6.1).
  CHECK(text ==
        "#kernel\n"
        "IpInReceives                    50                 5.0\n"
        "UdpInDatagrams                  5                  0.5\n");
  // With zeros: every counter, one line each, after the header.
  const std::string all = d.to_nstat_rates(1.0, true);
  size_t lines = 0;
  for (char ch : all) lines += ch == '\n' ? 1 : 0;
  CHECK(lines == kCounterCount + 1);
}

TEST_CASE("to_nstat_json has nstat --json's shape") {
  Counters c;
  CHECK(c.to_nstat_json() == "{\"kernel\":{}}");
  c.add(Counter::IpInReceives, 12);
  c.add(Counter::IcmpInEchos, 1);
  CHECK(c.to_nstat_json() == "{\"kernel\":{\"IpInReceives\":12,\"IcmpInEchos\":1}}");
  const std::string all = c.to_nstat_json(true);
  CHECK(all.find("\"rx_packets\":0") != std::string::npos);
  c.drop(DropReason::kUdpNoPort);
  CHECK(c.drop_reasons_json() == "{\"UDP_NO_PORT\":1}");
}

}  // namespace
}  // namespace inlet

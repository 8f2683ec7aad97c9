// Whole TCP transfers into inlet in virtual time (DESIGN.md, "Deterministic
// simulation"): a scripted sender (sim_tcp_sender.h) against a Stack whose
// port is wrapped in a seeded FaultInjector ("Ports compose"), with the
// return path impaired by the sender's world. Every transfer must arrive
// byte-exact, end with every connection closed and every buffer returned,
// and leave the counters the faults explain (RFC 9293 3.10, RFC 2018 / 2883
// SACK and D-SACK, RFC 7323, RFC 1122 4.2.2.17 zero-window probing).
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/counters.h"
#include "sim_tcp_sender.h"

namespace inlet::simtest {
namespace {

constexpr absl::Duration kMaxVirtual = absl::Minutes(10);
constexpr uint64_t kMaxSteps = 2'000'000;

struct Outcome {
  std::string error;
  std::array<uint64_t, kCounterCount> counters{};
  SenderStats sender;
  fault::FaultStats faults;
  uint64_t steps = 0;
  absl::Duration elapsed;
  bool exact = false;
  uint64_t acks_dropped = 0;
  uint64_t acks_reordered = 0;
  uint64_t ring_overruns = 0;
  uint32_t pool_in_use_after_shutdown = 1;
  size_t rcvbuf_at_eof = 0;
  size_t max_rcvbuf = 0;
  uint64_t get(Counter c) const { return counters[static_cast<size_t>(c)]; }
};

std::array<uint64_t, kCounterCount> counters_of(const Stack& stack) {
  std::array<uint64_t, kCounterCount> out{};
  for (size_t i = 0; i < kCounterCount; ++i) out[i] = stack.counters().get(static_cast<Counter>(i));
  return out;
}

// Runs one connection of `bytes` to completion and shuts the stack down.
Outcome transfer(WorldConfig config, size_t bytes, uint64_t data_seed, SenderConfig sender = {}) {
  Outcome o;
  SimWorld world(std::move(config));
  SimTcpSender& s = world.add_connection(40000, make_stream(bytes, data_seed), absl::ZeroDuration(), sender);
  o.error = world.run(kMaxVirtual, kMaxSteps);
  const Received& r = world.received(0);
  o.exact = o.error.empty() && r.exact && r.eof && r.bytes == bytes && r.digest.h == s.digest();
  o.counters = counters_of(world.stack());
  o.sender = s.stats();
  if (world.injector() != nullptr) o.faults = world.injector()->stats();
  o.steps = world.steps();
  o.elapsed = world.elapsed();
  o.acks_dropped = world.acks_dropped();
  o.acks_reordered = world.acks_reordered();
  o.ring_overruns = world.ring_overruns();
  o.rcvbuf_at_eof = r.rcvbuf_at_eof;
  o.max_rcvbuf = r.max_rcvbuf;
  world.stack().shutdown();
  o.pool_in_use_after_shutdown = world.stack().pool().in_use();
  return o;
}

WorldConfig with_faults(uint64_t seed, double drop, double reorder, double duplicate,
                        double corrupt) {
  WorldConfig c;
  fault::FaultConfig f;
  f.seed = seed;
  f.drop = drop;
  f.reorder = reorder;
  f.duplicate = duplicate;
  f.corrupt = corrupt;
  f.corrupt_offset = 14 + 20;  // past Ethernet and IPv4: every flip lands in TCP
  c.faults = f;
  c.ack_seed = seed * 7919 + 1;
  return c;
}

std::string summary(const Outcome& o) {
  return absl::StrCat("steps=", o.steps, " virtual=", absl::FormatDuration(o.elapsed),
                      " sent=", o.sender.segments_sent, " retx=", o.sender.retransmits,
                      " fast=", o.sender.fast_retransmits, " rto=", o.sender.timeouts,
                      " faults: frames=", o.faults.frames, " dropped=", o.faults.dropped,
                      " dup=", o.faults.duplicated, " reordered=", o.faults.reordered,
                      " corrupted=", o.faults.corrupted, " | TcpInSegs=", o.get(Counter::TcpInSegs),
                      " OFOQueue=", o.get(Counter::TcpExtTCPOFOQueue),
                      " CsumErrors=", o.get(Counter::TcpInCsumErrors),
                      " DSACKOld=", o.get(Counter::TcpExtTCPDSACKOldSent),
                      " DSACKOfo=", o.get(Counter::TcpExtTCPDSACKOfoSent),
                      " OFOMerge=", o.get(Counter::TcpExtTCPOFOMerge),
                      " OFODrop=", o.get(Counter::TcpExtTCPOFODrop),
                      " PAWS=", o.get(Counter::TcpExtPAWSEstab));
}

void check_common(const Outcome& o) {
  INFO(summary(o));
  CHECK(o.error == "");
  CHECK(o.exact);
  CHECK(o.ring_overruns == 0);
  CHECK(o.pool_in_use_after_shutdown == 0);
  CHECK(o.get(Counter::TcpPassiveOpens) == 1);
  CHECK(o.get(Counter::TcpEstabResets) == 0);
  CHECK(o.get(Counter::TcpOutRsts) == 0);
  CHECK(o.get(Counter::IpInHdrErrors) == 0);
}

TEST_SUITE("tcp.sim_transfer") {

TEST_CASE("clean wire: 4 MB across sequence wrap-around arrive exact, in order, and are counted") {
  WorldConfig c;
  SenderConfig sc;
  sc.iss = 0xFFFFFFFFu - 1'000'000u;  // the stream crosses 2^32 (RFC 9293 3.4)
  const Outcome o = transfer(std::move(c), 4u << 20, 1, sc);
  INFO(summary(o));
  check_common(o);
  CHECK(o.get(Counter::TcpExtTCPOFOQueue) == 0);
  CHECK(o.get(Counter::TcpInSegs) == o.sender.segments_sent);  // nothing lost, nothing extra
  CHECK(o.get(Counter::TcpInCsumErrors) == 0);
  CHECK(o.get(Counter::TcpExtTCPDSACKOldSent) == 0);
  CHECK(o.sender.retransmits == 0);
  CHECK(o.sender.timeouts == 0);
  CHECK(o.sender.dsacks == 0);
  CHECK(o.sender.data_segments == ((4u << 20) + 1447) / 1448);
}

// Each impairment alone on the forward path (what inlet receives), five seeds.
TEST_CASE("seeded loss, reordering, duplication and corruption each: exact delivery, counted") {
  constexpr size_t kBytes = 384 * 1024;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    CAPTURE(seed);
    {
      const Outcome o = transfer(with_faults(seed, 0.02, 0, 0, 0), kBytes, seed);
      INFO("loss 2%: ", summary(o));
      check_common(o);
      CHECK(o.faults.dropped > 0);
      CHECK(o.sender.retransmits >= o.faults.dropped / 2);
      CHECK(o.get(Counter::TcpExtTCPOFOQueue) > 0);  // later segments overtook the holes
      CHECK(o.get(Counter::TcpInSegs) == o.sender.segments_sent - o.faults.dropped);
    }
    {
      const Outcome o = transfer(with_faults(seed, 0, 0.05, 0, 0), kBytes, seed);
      INFO("reorder 5%: ", summary(o));
      check_common(o);
      CHECK(o.faults.reordered > 0);
      CHECK(o.get(Counter::TcpExtTCPOFOQueue) > 0);
      CHECK(o.get(Counter::TcpInSegs) == o.sender.segments_sent);
    }
    {
      const Outcome o = transfer(with_faults(seed, 0, 0, 0.02, 0), kBytes, seed);
      INFO("duplicate 2%: ", summary(o));
      check_common(o);
      CHECK(o.faults.duplicated > 0);
      CHECK(o.get(Counter::TcpInSegs) == o.sender.segments_sent + o.faults.duplicated);
      // RFC 2883: a duplicate of data is reported (D-SACK), below RCV.NXT or
      // inside the out-of-order queue.
      CHECK(o.get(Counter::TcpExtTCPDSACKOldSent) + o.get(Counter::TcpExtTCPDSACKOfoSent) > 0);
      CHECK(o.sender.dsacks > 0);
    }
    {
      const Outcome o = transfer(with_faults(seed, 0, 0, 0, 0.01), kBytes, seed);
      INFO("corrupt 1%: ", summary(o));
      check_common(o);
      CHECK(o.faults.corrupted > 0);
      // Every flipped bit is past the IPv4 header, so the TCP checksum (RFC
      // 9293 3.1) catches each one; none reaches the byte stream.
      CHECK(o.get(Counter::TcpInCsumErrors) == o.faults.corrupted);
      CHECK(o.get(Counter::TcpInSegs) == o.sender.segments_sent);
    }
  }
}

WorldConfig everything(uint64_t seed) {
  WorldConfig c = with_faults(seed, 0.02, 0.05, 0.02, 0.01);
  c.ack_path.drop = 0.02;
  c.ack_path.reorder = 0.05;
  c.ack_path.delay = absl::Milliseconds(2);
  return c;
}

TEST_CASE("all impairments together, both directions: exact delivery for every seed") {
  for (uint64_t seed = 11; seed <= 15; ++seed) {
    CAPTURE(seed);
    const Outcome o = transfer(everything(seed), 512 * 1024, seed);
    INFO(summary(o), " acks dropped=", o.acks_dropped, " reordered=", o.acks_reordered);
    check_common(o);
    CHECK(o.acks_dropped > 0);
    CHECK(o.acks_reordered > 0);
    CHECK(o.get(Counter::TcpInCsumErrors) > 0);
    CHECK(o.get(Counter::TcpExtTCPOFOQueue) > 0);
    CHECK(o.get(Counter::TcpExtTCPDSACKOldSent) + o.get(Counter::TcpExtTCPDSACKOfoSent) > 0);
    CHECK(o.sender.retransmits > 0);
  }
}

TEST_CASE("the same seed gives the same faults, the same counters and the same transfer") {
  const Outcome a = transfer(everything(42), 256 * 1024, 3);
  const Outcome b = transfer(everything(42), 256 * 1024, 3);
  INFO(summary(a));
  INFO(summary(b));
  check_common(a);
  check_common(b);
  CHECK(a.counters == b.counters);
  CHECK(a.sender == b.sender);
  CHECK(a.faults.frames == b.faults.frames);
  CHECK(a.faults.dropped == b.faults.dropped);
  CHECK(a.faults.duplicated == b.faults.duplicated);
  CHECK(a.faults.reordered == b.faults.reordered);
  CHECK(a.faults.corrupted == b.faults.corrupted);
  CHECK(a.acks_dropped == b.acks_dropped);
  CHECK(a.steps == b.steps);
  CHECK(a.elapsed == b.elapsed);
  // And the seed is what decides: another one damages other frames.
  const Outcome c = transfer(everything(43), 256 * 1024, 3);
  check_common(c);
  CHECK(c.counters != a.counters);
}

}  // TEST_SUITE

}  // namespace
}  // namespace inlet::simtest

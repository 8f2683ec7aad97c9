// Whole TCP transfers into inlet in virtual time (DESIGN.md, "Deterministic
// simulation"): a scripted sender (sim_tcp_sender.h) against a Stack whose
// port is wrapped in a seeded FaultInjector ("Ports compose"), with the
// return path impaired by the sender's world. Every transfer must arrive
// byte-exact, end with every connection closed and every buffer returned,
// and leave the counters the faults explain (RFC 9293 3.10, RFC 2018 / 2883
// SACK and D-SACK, RFC 7323, RFC 1122 4.2.2.17 zero-window probing).
#include <doctest/doctest.h>

#include <array>
#include <cstdlib>
#include <optional>
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
  std::vector<std::string> violations;
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
  SimTcpSender& s =
      world.add_connection(40000, make_stream(bytes, data_seed), absl::ZeroDuration(), sender);
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
  o.violations = s.violations();
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
                      " InErrs=", o.get(Counter::TcpInErrs),
                      " DSACKOld=", o.get(Counter::TcpExtTCPDSACKOldSent),
                      " DSACKOfo=", o.get(Counter::TcpExtTCPDSACKOfoSent),
                      " OFOMerge=", o.get(Counter::TcpExtTCPOFOMerge),
                      " OFODrop=", o.get(Counter::TcpExtTCPOFODrop),
                      " PAWS=", o.get(Counter::TcpExtPAWSEstab));
}

void check_common(const Outcome& o) {
  if (std::getenv("INLET_SIM_VERBOSE") != nullptr) MESSAGE(summary(o));
  INFO(summary(o));
  CHECK(o.error == "");
  CHECK(o.exact);
  for (const std::string& v : o.violations) FAIL_CHECK("inlet broke a receiver rule: ", v);
  CHECK(o.ring_overruns == 0);
  CHECK(o.pool_in_use_after_shutdown == 0);
  CHECK(o.get(Counter::TcpPassiveOpens) == 1);
  CHECK(o.get(Counter::TcpEstabResets) == 0);
  CHECK(o.get(Counter::IpInHdrErrors) == 0);
  // (A reset may still answer a duplicate of the last ACK that arrives after
  // the connection is gone, as RFC 9293 3.10.7.1 says; the sender fails the
  // run if one reaches it before it is done.)
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
  CHECK(o.get(Counter::TcpOutRsts) == 0);
  CHECK(o.get(Counter::TcpInSegs) == o.sender.segments_sent);  // nothing lost, nothing extra
  CHECK(o.get(Counter::TcpOutSegs) == o.sender.segments_received);
  CHECK(o.get(Counter::TcpRetransSegs) == 0);
  CHECK(o.get(Counter::TcpExtTCPHPHits) > 0);  // in-order data took the fast path
  CHECK(o.get(Counter::TcpInCsumErrors) == 0);
  CHECK(o.get(Counter::TcpExtTCPDSACKOldSent) == 0);
  CHECK(o.sender.retransmits == 0);
  CHECK(o.sender.timeouts == 0);
  CHECK(o.sender.dsacks == 0);
  // Full segments but where the window ends short of one (RFC 9293 3.8.6.2.1).
  CHECK(o.sender.data_segments >= ((4u << 20) + 1447) / 1448);
  // SYN, third ACK, data, FIN, the ACK of inlet's FIN.
  CHECK(o.sender.segments_sent == o.sender.data_segments + 4);
}

// INLET_SIM_SEEDS=N runs N seeds instead of five (a soak, by hand).
uint64_t seeds() {
  const char* n = std::getenv("INLET_SIM_SEEDS");
  return n != nullptr ? std::strtoull(n, nullptr, 10) : 5;
}

// Each impairment alone on the forward path (what inlet receives), five seeds.
// Exact relations hold per seed; "it happened" is asked of the seeds together.
TEST_CASE("seeded loss, reordering, duplication and corruption each: exact delivery, counted") {
  constexpr size_t kBytes = 1024 * 1024;
  uint64_t dropped = 0, retransmits = 0, ofo_after_loss = 0;
  uint64_t reordered = 0, ofo_after_reorder = 0;
  uint64_t duplicated = 0, dsack_sent = 0, dsack_seen = 0;
  uint64_t corrupted = 0;
  for (uint64_t seed = 1; seed <= seeds(); ++seed) {
    CAPTURE(seed);
    {
      const Outcome o = transfer(with_faults(seed, 0.02, 0, 0, 0), kBytes, seed);
      INFO("loss 2%: ", summary(o));
      check_common(o);
      CHECK(o.get(Counter::TcpInSegs) == o.sender.segments_sent - o.faults.dropped);
      CHECK(o.get(Counter::TcpInCsumErrors) == 0);
      dropped += o.faults.dropped;
      retransmits += o.sender.retransmits;
      ofo_after_loss += o.get(Counter::TcpExtTCPOFOQueue);
    }
    {
      const Outcome o = transfer(with_faults(seed, 0, 0.05, 0, 0), kBytes, seed);
      INFO("reorder 5%: ", summary(o));
      check_common(o);
      CHECK(o.get(Counter::TcpInSegs) == o.sender.segments_sent);
      reordered += o.faults.reordered;
      ofo_after_reorder += o.get(Counter::TcpExtTCPOFOQueue);
    }
    {
      const Outcome o = transfer(with_faults(seed, 0, 0, 0.02, 0), kBytes, seed);
      INFO("duplicate 2%: ", summary(o));
      check_common(o);
      CHECK(o.get(Counter::TcpInSegs) == o.sender.segments_sent + o.faults.duplicated);
      duplicated += o.faults.duplicated;
      // RFC 2883: a duplicate of data is reported (D-SACK), below RCV.NXT or
      // inside the out-of-order queue.
      dsack_sent += o.get(Counter::TcpExtTCPDSACKOldSent) + o.get(Counter::TcpExtTCPDSACKOfoSent);
      dsack_seen += o.sender.dsacks;
    }
    {
      const Outcome o = transfer(with_faults(seed, 0, 0, 0, 0.01), kBytes, seed);
      INFO("corrupt 1%: ", summary(o));
      check_common(o);
      // Every flipped bit is past the IPv4 header, so the TCP checksum (RFC
      // 9293 3.1) catches each one and none reaches the byte stream.
      CHECK(o.get(Counter::TcpInCsumErrors) == o.faults.corrupted);
      CHECK(o.get(Counter::TcpInSegs) == o.sender.segments_sent);
      corrupted += o.faults.corrupted;
    }
  }
  CHECK(dropped > 0);
  CHECK(retransmits > 0);
  CHECK(ofo_after_loss > 0);      // later segments overtook the holes
  CHECK(reordered > 0);
  CHECK(ofo_after_reorder > 0);
  CHECK(duplicated > 0);
  CHECK(dsack_sent > 0);
  CHECK(dsack_seen > 0);
  CHECK(corrupted > 0);
}

WorldConfig everything(uint64_t seed) {
  WorldConfig c = with_faults(seed, 0.02, 0.05, 0.02, 0.01);
  c.ack_path.drop = 0.02;
  c.ack_path.reorder = 0.05;
  c.ack_path.delay = absl::Milliseconds(2);
  return c;
}

TEST_CASE("all impairments together, both directions: exact delivery for every seed") {
  uint64_t acks_dropped = 0, acks_reordered = 0, csum = 0, ofo = 0, dsack = 0, retx = 0;
  for (uint64_t seed = 11; seed < 11 + seeds(); ++seed) {
    CAPTURE(seed);
    const Outcome o = transfer(everything(seed), 512 * 1024, seed);
    INFO(summary(o), " acks dropped=", o.acks_dropped, " reordered=", o.acks_reordered);
    check_common(o);
    acks_dropped += o.acks_dropped;
    acks_reordered += o.acks_reordered;
    csum += o.get(Counter::TcpInCsumErrors);
    ofo += o.get(Counter::TcpExtTCPOFOQueue);
    dsack += o.get(Counter::TcpExtTCPDSACKOldSent) + o.get(Counter::TcpExtTCPDSACKOfoSent);
    retx += o.sender.retransmits;
  }
  CHECK(acks_dropped > 0);
  CHECK(acks_reordered > 0);
  CHECK(csum > 0);
  CHECK(ofo > 0);
  CHECK(dsack > 0);
  CHECK(retx > 0);
}

// Without the options (RFC 9293 alone): no SACK, so NewReno recovery from
// duplicate ACKs; no timestamps, so no PAWS, and inlet times its RTT by the
// window; no window scaling, so 64 KB at most in flight.
TEST_CASE("a sender without SACK, timestamps or window scaling, over a lossy wire") {
  uint64_t retx = 0, fast = 0;
  for (uint64_t seed = 21; seed < 21 + seeds(); ++seed) {
    CAPTURE(seed);
    SenderConfig sc;
    sc.sack = false;
    sc.timestamps = false;
    sc.window_scaling = false;
    WorldConfig c = with_faults(seed, 0.02, 0.03, 0.01, 0.005);
    c.ack_path.drop = 0.02;
    const Outcome o = transfer(std::move(c), 512 * 1024, seed, sc);
    INFO(summary(o));
    check_common(o);
    CHECK(o.sender.dsacks == 0);
    CHECK(o.sender.sack_blocks == 0);
    CHECK(o.sender.max_window <= 65535);
    retx += o.sender.retransmits;
    fast += o.sender.fast_retransmits;
  }
  CHECK(retx > 0);
  CHECK(fast > 0);  // three duplicate ACKs (RFC 5681 3.2), helped by limited transmit
}

TEST_CASE("the same seed gives the same faults, the same counters and the same transfer") {
  const Outcome a = transfer(everything(42), 1024 * 1024, 3);
  const Outcome b = transfer(everything(42), 1024 * 1024, 3);
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
  CHECK(a.sender.retransmits > 0);
  const Outcome c = transfer(everything(43), 1024 * 1024, 3);
  check_common(c);
  CHECK(c.counters != a.counters);
}

// RFC 9293 3.8.6.1 / RFC 1122 4.2.2.17: an application that reads in bursts
// closes the window; the sender probes it; reads reopen it.
TEST_CASE("a slow reader: zero window advertised, probed, reopened, and the stream still exact") {
  SUBCASE("clean return path") {
    WorldConfig c;
    c.app.read_every = absl::Milliseconds(500);
    c.app.read_chunk = 96 * 1024;
    const Outcome o = transfer(std::move(c), 1024 * 1024, 21);
    INFO(summary(o), " zero-window ACKs=", o.sender.zero_window_acks,
         " probes=", o.sender.zero_window_probes);
    check_common(o);
    CHECK(o.get(Counter::TcpExtTCPToZeroWindowAdv) > 0);
    CHECK(o.get(Counter::TcpExtTCPFromZeroWindowAdv) > 0);
    CHECK(o.sender.zero_window_acks > 0);
    CHECK(o.sender.zero_window_probes > 0);
    // Each probe found the window still shut: dropped, and answered with an ACK.
    CHECK(o.get(Counter::TcpExtTCPZeroWindowDrop) > 0);
    CHECK(o.sender.timeouts == 0);  // probing is not retransmission
    CHECK(o.sender.retransmits == 0);
  }
  SUBCASE("window updates lost on the way back: the probes find the reopened window") {
    const uint64_t n = std::getenv("INLET_SIM_SEEDS") != nullptr ? seeds() : 1;
    uint64_t to_zero = 0, from_zero = 0, probes = 0;
    for (uint64_t seed = 5; seed < 5 + n; ++seed) {
      CAPTURE(seed);
      WorldConfig c = with_faults(seed, 0.01, 0, 0, 0);
      c.ack_path.drop = 0.15;
      c.app.read_every = absl::Seconds(1);
      c.app.read_chunk = 128 * 1024;
      const Outcome o = transfer(std::move(c), 512 * 1024, 22);
      INFO(summary(o), " zero-window ACKs=", o.sender.zero_window_acks,
           " probes=", o.sender.zero_window_probes, " acks dropped=", o.acks_dropped);
      check_common(o);
      to_zero += o.get(Counter::TcpExtTCPToZeroWindowAdv);
      from_zero += o.get(Counter::TcpExtTCPFromZeroWindowAdv);
      probes += o.sender.zero_window_probes;
    }
    CHECK(to_zero > 0);
    CHECK(from_zero > 0);
    CHECK(probes > 0);
  }
}

// "Hundreds of concurrent connections": 300 senders on distinct source ports,
// opening 10 per millisecond, interleaved on one wire, each a few KB.
TEST_CASE("300 concurrent connections, interleaved, all exact and all closed") {
  auto run = [](std::optional<uint64_t> fault_seed) {
    WorldConfig c;
    if (fault_seed) {
      c = with_faults(*fault_seed, 0.01, 0.02, 0.01, 0.005);
      c.ack_path.drop = 0.01;
      c.ack_path.reorder = 0.02;
    }
    c.tunables.set(Tunable::kTcpMaxConnections, 512);
    c.tunables.set(Tunable::kTcpMaxSynBacklog, 512);
    c.tunables.set(Tunable::kPoolBuffers, 8192);
    c.backlog = 512;
    c.app.zero_copy_odd_ports = true;
    SimWorld world(std::move(c));
    constexpr int kConnections = 300;
    uint64_t total = 0;
    for (int i = 0; i < kConnections; ++i) {
      const size_t bytes = 1000 + static_cast<size_t>(i) * 7919 % 7000;
      total += bytes;
      world.add_connection(static_cast<uint16_t>(20000 + i), make_stream(bytes, 1000 + i),
                           absl::Microseconds(100) * i);
    }
    const std::string error = world.run(kMaxVirtual, kMaxSteps);
    CHECK(error == "");
    uint64_t delivered = 0;
    size_t exact = 0, closed = 0;
    for (int i = 0; i < kConnections; ++i) {
      const Received& r = world.received(static_cast<size_t>(i));
      delivered += r.bytes;
      if (r.exact && r.eof && r.digest.h == world.sender(static_cast<size_t>(i)).digest() &&
          r.bytes == world.sender(static_cast<size_t>(i)).data().size()) {
        ++exact;
      }
      if (r.closed && world.sender(static_cast<size_t>(i)).done()) ++closed;
      for (const std::string& v : world.sender(static_cast<size_t>(i)).violations()) {
        FAIL_CHECK("inlet broke a receiver rule: ", v);
      }
    }
    INFO("virtual ", absl::FormatDuration(world.elapsed()), " steps ", world.steps());
    CHECK(delivered == total);
    CHECK(exact == kConnections);
    CHECK(closed == kConnections);
    CHECK(world.stack().tcp().connection_count() == 0);
    CHECK(world.stack().counters().get(Counter::TcpPassiveOpens) == kConnections);
    CHECK(world.stack().counters().get(Counter::TcpEstabResets) == 0);
    CHECK(world.stack().counters().get(Counter::TcpExtListenOverflows) == 0);
    CHECK(world.stack().counters().get(Counter::tx_dropped) == 0);
    CHECK(world.ring_overruns() == 0);
    world.stack().shutdown();
    CHECK(world.stack().pool().in_use() == 0);
  };
  SUBCASE("clean") { run(std::nullopt); }
  SUBCASE("lossy, reordering, duplicating, corrupting wire") {
    const uint64_t n = std::getenv("INLET_SIM_SEEDS") != nullptr ? seeds() : 1;
    for (uint64_t seed = 77; seed < 77 + n; ++seed) {
      CAPTURE(seed);
      run(seed);
    }
  }
}

// tcp_rcv_space_adjust (net.ipv4.tcp_moderate_rcvbuf): with an application
// that keeps up and a 20 ms round trip, the buffer grows past tcp_rmem[1] and
// the window with it; with autotuning off it stays at tcp_rmem[1].
TEST_CASE("receive-buffer autotuning grows the window over a 20 ms RTT; off, it stays put") {
  auto run = [](int moderate) {
    WorldConfig c;
    c.tunables.set(Tunable::kTcpModerateRcvbuf, moderate);
    c.ack_path.delay = absl::Milliseconds(20);
    return transfer(std::move(c), 6u << 20, 31);
  };
  const size_t rmem_default = static_cast<size_t>(Tunables().get_vector(Tunable::kTcpRmem)[1]);
  const Outcome on = run(1);
  const Outcome off = run(0);
  INFO("on: ", summary(on), " rcvbuf=", on.rcvbuf_at_eof, " max window=", on.sender.max_window,
       " initial=", on.sender.initial_window);
  INFO("off: ", summary(off), " rcvbuf=", off.rcvbuf_at_eof, " max window=", off.sender.max_window);
  check_common(on);
  check_common(off);
  CHECK(on.rcvbuf_at_eof > rmem_default);
  CHECK(on.sender.max_window > on.sender.initial_window);
  CHECK(on.sender.max_window > rmem_default);  // more than the untuned buffer could ever offer
  CHECK(off.rcvbuf_at_eof == rmem_default);
  CHECK(off.max_rcvbuf == rmem_default);
  CHECK(off.sender.max_window <= rmem_default);
  CHECK(on.elapsed < off.elapsed);  // a bigger window over the same RTT finishes sooner
}

}  // TEST_SUITE

}  // namespace
}  // namespace inlet::simtest

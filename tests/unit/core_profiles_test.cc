// Tuning profiles (lib/core/profiles.h): each applies through Tunables::load,
// sets what it documents (tuned's values where tuned has the knob), rejects
// unknown names listing the valid ones, and leaves a stack that still works —
// a ping answered and concurrent TCP transfers byte-exact through the sim port.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/profiles.h"
#include "core/tunables.h"
#include "sim_tcp_sender.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

namespace inlet {
namespace {

Tunables profiled(std::string_view name) {
  Tunables t;
  const absl::Status s = apply_tuning_profile(t, name);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return t;
}

}  // namespace

TEST_SUITE("core.profiles") {

TEST_CASE("the three profiles exist under tuned's names and apply cleanly") {
  std::vector<std::string> names;
  for (const TuningProfile& p : tuning_profiles()) names.emplace_back(p.name);
  CHECK(names == std::vector<std::string>{"network-latency", "network-throughput", "low-memory"});
  CHECK(tuning_profile_names() == "network-latency, network-throughput, low-memory");
  for (const TuningProfile& p : tuning_profiles()) {
    INFO(p.name);
    CHECK(find_tuning_profile(p.name) == &p);
    CHECK(!p.summary.empty());
    Tunables t;
    CHECK(apply_tuning_profile(t, p.name).ok());
  }
}

TEST_CASE("every listed setting is a known knob and is what the profile leaves behind") {
  for (const TuningProfile& p : tuning_profiles()) {
    const auto settings = tuning_profile_settings(p);
    REQUIRE(settings.size() >= 6);
    const Tunables applied = profiled(p.name);
    for (const auto& setting : settings) {
      // Not a structured binding: clang 14 (the fuzz and coverage builds)
      // cannot capture one in INFO's lambda.
      const auto& key = setting.first;
      const auto& value = setting.second;
      INFO(p.name, ": ", key, " = ", value);
      const std::optional<Tunable> knob = Tunables::find(key);
      REQUIRE(knob.has_value());
      Tunables one;
      REQUIRE(one.set(key, value).ok());
      CHECK(applied.get_vector(*knob) == one.get_vector(*knob));
      CHECK(applied.get_vector(*knob) != Tunables().get_vector(*knob));  // it changes something
    }
  }
}

TEST_CASE("tuned's values where a knob exists in both") {
  const Tunables latency = profiled("network-latency");
  CHECK(latency.get(Tunable::kBusyPoll) == 50);
  CHECK(latency.get(Tunable::kBusyRead) == 50);
  CHECK(latency.get(Tunable::kTcpFastopen) == 3);
  const Tunables throughput = profiled("network-throughput");
  CHECK(throughput.get_vector(Tunable::kTcpRmem) == std::array<int64_t, 3>{4096, 131072, 16777216});
  CHECK(throughput.get(Tunable::kGro) == 1);
  const Tunables small = profiled("low-memory");
  CHECK(small.get(Tunable::kPoolBuffers) == 64);
  CHECK(small.get(Tunable::kTcpMaxConnections) == 8);
}

TEST_CASE("a profile layers over earlier settings and leaves the knobs it does not name") {
  Tunables t;
  REQUIRE(t.set_assignment("net.ipv4.ip_default_ttl=17").ok());
  REQUIRE(t.set_assignment("net.core.busy_poll=7").ok());
  REQUIRE(apply_tuning_profile(t, "network-latency").ok());
  CHECK(t.get(Tunable::kIpDefaultTtl) == 17);
  CHECK(t.get(Tunable::kBusyPoll) == 50);
  REQUIRE(t.set_assignment("net.core.busy_poll=0").ok());  // --sysctl after --profile refines it
  CHECK(t.get(Tunable::kBusyPoll) == 0);
}

TEST_CASE("an unknown profile is InvalidArgument naming the valid ones, and changes nothing") {
  Tunables t;
  const std::string before = t.to_text();
  const absl::Status s = apply_tuning_profile(t, "throughput-performance");
  CHECK(absl::IsInvalidArgument(s));
  CHECK(std::string(s.message()) ==
        "unknown tuning profile 'throughput-performance'; valid: network-latency, "
        "network-throughput, low-memory");
  CHECK(t.to_text() == before);
  CHECK(absl::IsInvalidArgument(apply_tuning_profile(t, "")));
  CHECK(find_tuning_profile("Network-Latency") == nullptr);
}

TEST_CASE("the listing shows every profile with its settings") {
  const std::string text = describe_tuning_profiles();
  for (const TuningProfile& p : tuning_profiles()) {
    CHECK(text.find(absl::StrCat(std::string(p.name), ": ")) != std::string::npos);
  }
  CHECK(text.find("  net.ipv4.tcp_rmem = 4096 131072 16777216\n") != std::string::npos);
  CHECK(text.find("  inlet.pool.buffers = 64\n") != std::string::npos);
  CHECK(text.find("  net.core.busy_poll = 50\n") != std::string::npos);
}

// Every profile (and the defaults, "") must leave a working stack: 8
// concurrent connections (low-memory's whole table) byte-exact, then a ping.
TEST_CASE("a stack built with each profile answers a ping and receives 8 TCP streams exactly") {
  for (const char* name : {"", "network-latency", "network-throughput", "low-memory"}) {
    INFO("profile '", name, "'");
    simtest::WorldConfig c;
    if (*name != '\0') c.tunables = profiled(name);
    c.rx_ring_size = 16;  // low-memory's pool is 64 buffers: the ring must leave most of them
    c.inject_chunk = 16;
    c.ack_path.delay = absl::Milliseconds(2);
    simtest::SimWorld world(std::move(c));
    std::vector<simtest::SimTcpSender*> senders;
    for (uint16_t i = 0; i < 8; ++i) {
      senders.push_back(&world.add_connection(static_cast<uint16_t>(40000 + i),
                                              simtest::make_stream(96 * 1024, 100 + i),
                                              absl::Milliseconds(i)));
    }
    const std::string error = world.run(absl::Minutes(5), 2'000'000);
    CHECK(error == "");
    for (size_t i = 0; i < senders.size(); ++i) {
      INFO("connection ", i);
      const simtest::Received& r = world.received(i);
      CHECK(r.exact);
      CHECK(r.eof);
      CHECK(r.bytes == 96u * 1024u);
      CHECK(r.digest.h == senders[i]->digest());
      CHECK(senders[i]->violations().empty());
    }

    // A ping on the same stack, after the transfers.
    const uint8_t data[] = {'p', 'r', 'o', 'f', 'i', 'l', 'e'};
    REQUIRE(world.nic().wire_receive(
        world.peer().icmp_echo(world.inlet_mac(), world.inlet_ip(), 0x77, 1, data)));
    for (int i = 0; i < 10 && (world.stack().poll() > 0 || world.stack().has_work()); ++i) {
    }
    int replies = 0;
    world.nic().wire_collect([&](std::span<const uint8_t> f) {
      auto eth = wire::EthernetView::parse(f);
      if (!eth.ok() || eth->ethertype() != wire::ethertype::kIpv4) return;
      auto ip = wire::Ipv4View::parse(eth->payload());
      if (!ip.ok() || ip->protocol() != wire::ipproto::kIcmp) return;
      auto icmp = wire::IcmpView::parse(ip->payload());
      if (icmp.ok() && icmp->type() == wire::icmptype::kEchoReply) ++replies;
    });
    CHECK(replies == 1);
    if (*name != '\0') {
      CHECK(world.stack().pool().capacity() ==
            static_cast<uint32_t>(world.stack().tunables().get(Tunable::kPoolBuffers)));
    }
    world.stack().shutdown();
    CHECK(world.stack().pool().in_use() == 0);
  }
}

}  // TEST_SUITE

}  // namespace inlet

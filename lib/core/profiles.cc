#include "core/profiles.h"

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace inlet {
namespace {

// Debian's Abseil has its own string_view; convert at the boundary.
absl::string_view av(std::string_view s) { return absl::string_view(s.data(), s.size()); }
std::string str(absl::string_view s) { return std::string(s.data(), s.size()); }

// Values taken from tuned's profiles of the same name say "tuned"; the rest
// are inlet's own, with the reason. docs/tuning.md has the measured effects.
constexpr std::string_view kNetworkLatency = R"(# tuned network-latency: busy-poll a dry queue 50 us before re-arming its interrupt.
net.core.busy_poll = 50
# tuned network-latency: accepted and kept; inlet has no blocking socket read to busy-poll.
net.core.busy_read = 50
# tuned network-latency: TCP Fast Open. inlet acts on the server bit (0x2); the client
# bit (0x1) means nothing to a receive stack. Data in a SYN reaches the application
# one round trip sooner.
net.ipv4.tcp_fastopen = 3
# inlet: a poll round ends after 64 frames, so the wake-ups and ACKs flushed at the end
# of the round leave sooner (shorter rounds, more of them).
net.core.netdev_budget = 64
# inlet: a queue with a burst yields after 16 frames, so a frame on another queue waits
# behind at most 16 frames per busy queue.
net.core.dev_weight = 16
# inlet: no poll round runs longer than 200 us.
net.core.netdev_budget_usecs = 200
# inlet: a lone segment is acknowledged after 1 ms rather than 40 (a Nagle sender holds
# its next small segment until that ACK).
inlet.tcp.delack_ms = 1
)";

constexpr std::string_view kNetworkThroughput = R"(# tuned network-throughput: receive buffers autotune up to 16 MiB (4 KiB min, 128 KiB initial).
net.ipv4.tcp_rmem = 4096 131072 16777216
# inlet (tuned leaves it): UDP sockets may ask for as much; it also keeps the window
# scale chosen from max(tcp_rmem max, rmem_max) at 9.
net.core.rmem_max = 16777216
# inlet: 16384 buffers of 2 KiB (32 MiB). A 16 MiB receive buffer charged at 2 KiB a
# segment holds 8192 segments, so two connections at full window (or one with a full
# out-of-order queue) fit without rx_nobuf drops.
inlet.pool.buffers = 16384
# inlet: twice Linux's budget and weight: fewer poll rounds, hence fewer end-of-round
# flushes and more segments per ACK.
net.core.netdev_budget = 600
net.core.dev_weight = 128
# inlet: room for a 600-frame round on a slow core before time_squeeze.
net.core.netdev_budget_usecs = 8000
# inlet: software GRO (on by default in Linux, through ethtool): a burst's in-order
# segments of one flow reach TCP as one super-frame, one ACK each.
inlet.gro = 1
)";

constexpr std::string_view kLowMemory = R"(# inlet: 64 buffers of 2 KiB (128 KiB). Pair with a NIC receive ring of at most 16
# descriptors: the ring's posted buffers come out of this pool.
inlet.pool.buffers = 64
# inlet: 8 connection slots, allocated at set-up.
inlet.tcp.max_connections = 8
# A listener's accept queue and the SYN queue sized to the slots; SYN cookies
# (tcp_syncookies = 1) take over beyond them.
net.core.somaxconn = 8
net.ipv4.tcp_max_syn_backlog = 16
net.ipv4.tcp_max_tw_buckets = 16
# Receive buffers of 8 KiB growing to 16 KiB: 4 to 8 buffers a connection, so the 8
# connections fit the pool. The window stays below 64 KiB: no scaling needed.
net.ipv4.tcp_rmem = 4096 8192 16384
net.core.rmem_default = 16384
net.core.rmem_max = 16384
# Small tables, each allocated at set-up.
net.ipv4.neigh.default.gc_thresh3 = 32
# Packets held while a neighbour resolves come out of the pool.
net.ipv4.neigh.default.unres_qlen = 4
inlet.ip.fib_max_routes = 64
inlet.bridge.fdb_max = 64
inlet.tx_ring_size = 32
# One reassembly buffer (65724 bytes: 128 headroom + 60 header + 64 KiB) instead of 63.
net.ipv4.ipfrag_high_thresh = 65724
net.ipv4.ipfrag_low_thresh = 49152
)";

constexpr std::array<TuningProfile, 3> kProfiles = {{
    {"network-latency",
     "tuned's network-latency (busy polling, Fast Open) plus short poll rounds, light "
     "queue weights and a 1 ms delayed ACK",
     kNetworkLatency},
    {"network-throughput",
     "tuned's network-throughput (16 MiB tcp_rmem) plus a pool to back it and larger "
     "poll rounds",
     kNetworkThroughput},
    {"low-memory",
     "small appliances: 64 buffers, 8 connections, 16 KiB receive buffers, small tables",
     kLowMemory},
}};

}  // namespace

std::span<const TuningProfile> tuning_profiles() { return kProfiles; }

const TuningProfile* find_tuning_profile(std::string_view name) {
  for (const TuningProfile& p : kProfiles) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string tuning_profile_names() {
  std::string out;
  for (const TuningProfile& p : kProfiles) {
    if (!out.empty()) out += ", ";
    out += p.name;
  }
  return out;
}

absl::Status apply_tuning_profile(Tunables& tunables, std::string_view name) {
  const TuningProfile* p = find_tuning_profile(name);
  if (p == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown tuning profile '", av(name),
                                                   "'; valid: ", tuning_profile_names()));
  }
  absl::Status s = tunables.load(p->text);
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat("profile ", av(p->name), ": ", s.message()));
  }
  return absl::OkStatus();
}

std::vector<std::pair<std::string, std::string>> tuning_profile_settings(
    const TuningProfile& profile) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view line : absl::StrSplit(av(profile.text), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    absl::ConsumePrefix(&line, "-");
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) continue;  // not in a profile: the unit test applies each
    out.emplace_back(str(absl::StripAsciiWhitespace(line.substr(0, eq))),
                     str(absl::StripAsciiWhitespace(line.substr(eq + 1))));
  }
  return out;
}

std::string describe_tuning_profiles() {
  std::string out;
  for (const TuningProfile& p : kProfiles) {
    absl::StrAppend(&out, av(p.name), ": ", av(p.summary), "\n");
    for (const auto& [key, value] : tuning_profile_settings(p)) {
      absl::StrAppend(&out, "  ", key, " = ", value, "\n");
    }
  }
  return out;
}

}  // namespace inlet

// Tunables: every knob of a stack, keyed by its Linux sysctl name (inlet-only
// knobs are prefixed `inlet.`), loadable from sysctl.conf-style text. Owns the
// knob list, defaults, bounds and parsing; an unknown key or bad value is an
// error naming the line.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace inlet {

// X(Id, "sysctl.name", value count, default0, default1, default2, min, max)
#define INLET_TUNABLES(X)                                                                     \
  X(kNetdevBudget, "net.core.netdev_budget", 1, 300, 0, 0, 1, 1 << 20)                         \
  X(kNetdevBudgetUsecs, "net.core.netdev_budget_usecs", 1, 2000, 0, 0, 1, 10000000)            \
  X(kDevWeight, "net.core.dev_weight", 1, 64, 0, 0, 1, 1 << 16)                                \
  X(kBusyPoll, "net.core.busy_poll", 1, 0, 0, 0, 0, 10000000)                                  \
  X(kBusyRead, "net.core.busy_read", 1, 0, 0, 0, 0, 10000000)                                  \
  X(kRmemDefault, "net.core.rmem_default", 1, 212992, 0, 0, 2304, 1LL << 31)                   \
  X(kRmemMax, "net.core.rmem_max", 1, 212992, 0, 0, 2304, 1LL << 31)                           \
  X(kSomaxconn, "net.core.somaxconn", 1, 4096, 0, 0, 1, 65535)                                 \
  X(kIpForward, "net.ipv4.ip_forward", 1, 0, 0, 0, 0, 1)                                       \
  X(kIpDefaultTtl, "net.ipv4.ip_default_ttl", 1, 64, 0, 0, 1, 255)                             \
  X(kRpFilter, "net.ipv4.conf.all.rp_filter", 1, 0, 0, 0, 0, 2)                                \
  X(kIcmpEchoIgnoreAll, "net.ipv4.icmp_echo_ignore_all", 1, 0, 0, 0, 0, 1)                      \
  X(kIcmpEchoIgnoreBroadcasts, "net.ipv4.icmp_echo_ignore_broadcasts", 1, 1, 0, 0, 0, 1)        \
  X(kIcmpRatelimit, "net.ipv4.icmp_ratelimit", 1, 1000, 0, 0, 0, 1 << 30)                      \
  X(kIcmpRatemask, "net.ipv4.icmp_ratemask", 1, 6168, 0, 0, 0, 0x3FFFF)                        \
  X(kIcmpMsgsPerSec, "net.ipv4.icmp_msgs_per_sec", 1, 1000, 0, 0, 0, 1 << 30)                  \
  X(kIcmpMsgsBurst, "net.ipv4.icmp_msgs_burst", 1, 50, 0, 0, 0, 1 << 30)                       \
  X(kIpfragHighThresh, "net.ipv4.ipfrag_high_thresh", 1, 4194304, 0, 0, 0, 1LL << 31)          \
  X(kIpfragLowThresh, "net.ipv4.ipfrag_low_thresh", 1, 3145728, 0, 0, 0, 1LL << 31)            \
  X(kIpfragTime, "net.ipv4.ipfrag_time", 1, 30, 0, 0, 1, 3600)                                 \
  X(kNeighGcThresh3, "net.ipv4.neigh.default.gc_thresh3", 1, 1024, 0, 0, 1, 1 << 20)           \
  X(kNeighBaseReachableMs, "net.ipv4.neigh.default.base_reachable_time_ms", 1, 30000, 0, 0, 1, \
    3600000)                                                                                   \
  X(kNeighGcStaleTime, "net.ipv4.neigh.default.gc_stale_time", 1, 60, 0, 0, 1, 86400)          \
  X(kNeighUnresQlen, "net.ipv4.neigh.default.unres_qlen", 1, 32, 0, 0, 0, 1024)                 \
  X(kNeighRetransMs, "net.ipv4.neigh.default.retrans_time_ms", 1, 1000, 0, 0, 10, 3600000)     \
  X(kNeighMcastSolicit, "net.ipv4.neigh.default.mcast_solicit", 1, 3, 0, 0, 0, 32)             \
  X(kTcpRmem, "net.ipv4.tcp_rmem", 3, 4096, 131072, 6291456, 1, 1LL << 31)                     \
  X(kTcpModerateRcvbuf, "net.ipv4.tcp_moderate_rcvbuf", 1, 1, 0, 0, 0, 1)                      \
  X(kTcpFastopen, "net.ipv4.tcp_fastopen", 1, 1, 0, 0, 0, 0x7FF)                               \
  X(kTcpSyncookies, "net.ipv4.tcp_syncookies", 1, 1, 0, 0, 0, 2)                               \
  X(kTcpMaxSynBacklog, "net.ipv4.tcp_max_syn_backlog", 1, 256, 0, 0, 1, 1 << 20)               \
  X(kTcpSack, "net.ipv4.tcp_sack", 1, 1, 0, 0, 0, 1)                                           \
  X(kTcpTimestamps, "net.ipv4.tcp_timestamps", 1, 1, 0, 0, 0, 2)                               \
  X(kTcpWindowScaling, "net.ipv4.tcp_window_scaling", 1, 1, 0, 0, 0, 1)                        \
  X(kTcpSynackRetries, "net.ipv4.tcp_synack_retries", 1, 5, 0, 0, 0, 255)                     \
  X(kTcpFinTimeout, "net.ipv4.tcp_fin_timeout", 1, 60, 0, 0, 1, 86400)                          \
  X(kTcpChallengeAckLimit, "net.ipv4.tcp_challenge_ack_limit", 1, 1000, 0, 0, 0, 1 << 30)       \
  X(kTcpRetries2, "net.ipv4.tcp_retries2", 1, 15, 0, 0, 0, 255)                                 \
  X(kTcpAbortOnOverflow, "net.ipv4.tcp_abort_on_overflow", 1, 0, 0, 0, 0, 1)                    \
  X(kTcpMaxConnections, "inlet.tcp.max_connections", 1, 1024, 0, 0, 1, 1 << 20)                \
  X(kTcpMaxTimeWait, "net.ipv4.tcp_max_tw_buckets", 1, 4096, 0, 0, 0, 1 << 22)                  \
  X(kTcpDelackMs, "inlet.tcp.delack_ms", 1, 40, 0, 0, 1, 500)                                  \
  X(kFibMaxRoutes, "inlet.ip.fib_max_routes", 1, 16384, 0, 0, 16, 1 << 24)                      \
  X(kPoolBuffers, "inlet.pool.buffers", 1, 4096, 0, 0, 16, 1 << 22)                            \
  X(kPoolBufferSize, "inlet.pool.buffer_size", 1, 2048, 0, 0, 256, 65536)                      \
  X(kTxRingSize, "inlet.tx_ring_size", 1, 512, 0, 0, 1, 1 << 16)                             \
  X(kGro, "inlet.gro", 1, 0, 0, 0, 0, 1)                                                       \
  X(kBridgeFdbMax, "inlet.bridge.fdb_max", 1, 4096, 0, 0, 1, 1 << 20)                          \
  X(kBridgeAgeingTime, "inlet.bridge.ageing_time", 1, 300, 0, 0, 0, 1000000)

enum class Tunable : uint16_t {
#define INLET_TUNABLE_ENUM(id, name, n, d0, d1, d2, lo, hi) id,
  INLET_TUNABLES(INLET_TUNABLE_ENUM)
#undef INLET_TUNABLE_ENUM
      kCount
};
inline constexpr size_t kTunableCount = static_cast<size_t>(Tunable::kCount);

class Tunables {
 public:
  Tunables();  // Linux's defaults (inlet's where noted in docs/tuning.md)

  int64_t get(Tunable t) const { return values_[static_cast<size_t>(t)][0]; }
  // For vector knobs such as tcp_rmem (min, default, max).
  const std::array<int64_t, 3>& get_vector(Tunable t) const {
    return values_[static_cast<size_t>(t)];
  }
  void set(Tunable t, int64_t v) { values_[static_cast<size_t>(t)][0] = v; }

  // `key` by sysctl name (dots or slashes), `value` as sysctl prints it.
  absl::Status set(std::string_view key, std::string_view value);
  // "key=value" as `sysctl -w` and the command lines take it.
  absl::Status set_assignment(std::string_view assignment);
  // sysctl.conf text: `key = value` lines, `#`/`;` comments, blank lines; a
  // leading '-' makes an unknown key ignorable, as sysctl does. Errors name the
  // line ("line 3: unknown key 'net.core.nope'"). Nothing changes on error.
  absl::Status load(std::string_view text);
  absl::Status load_file(const std::string& path);

  static std::optional<Tunable> find(std::string_view key);
  static std::string_view name(Tunable t);
  // Every knob as sysctl.conf text.
  std::string to_text() const;

 private:
  std::array<std::array<int64_t, 3>, kTunableCount> values_;
};

}  // namespace inlet

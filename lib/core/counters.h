// Counters: the per-context statistics, named exactly as Linux names them in
// `nstat` (/proc/net/snmp, /proc/net/netstat) and in `ip -s link`/softnet_stat.
// Owns the counter list (an X-macro), the drop-reason list and their printing.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace inlet {

// X(Name): one counter. Names follow nstat: MIB prefix + field.
#define INLET_COUNTERS(X)                                                     \
  /* link layer (ip -s link / ethtool names) */                                \
  X(rx_packets) X(rx_bytes) X(rx_dropped) X(rx_length_errors)                  \
  X(rx_nohandler) X(rx_otherhost_dropped) X(rx_nobuf) X(rx_vlan_dropped)        \
  X(tx_packets) X(tx_bytes) X(tx_dropped)                                      \
  /* ARP (/proc/net/stat/arp_cache and arp_tbl names) */                       \
  X(ArpInRequests) X(ArpInReplies) X(ArpInErrors) X(ArpOutRequests)            \
  X(ArpOutReplies) X(ArpUnresolvedDiscards) X(ArpTableFull)                    \
  X(ArpGcEntries)                                                              \
  /* IPv4 (/proc/net/snmp Ip:, /proc/net/netstat IpExt:) */                    \
  X(IpInReceives) X(IpInHdrErrors) X(IpInAddrErrors) X(IpForwDatagrams)        \
  X(IpInUnknownProtos) X(IpInDiscards) X(IpInDelivers) X(IpOutRequests)        \
  X(IpOutDiscards) X(IpOutNoRoutes) X(IpReasmReqds) X(IpReasmOKs) X(IpReasmFails) X(IpReasmTimeout)            \
  X(IpFragOKs) X(IpFragFails) X(IpFragCreates)            \
  X(IpExtInTruncatedPkts) X(IpExtInCsumErrors) X(IpExtInBcastPkts)             \
  X(IpExtInMcastPkts) X(IpExtOutMcastPkts) X(IpExtInOctets) X(IpExtOutOctets)                       \
  X(IpExtInMartianSrc)                                                         \
  /* ICMP (/proc/net/snmp Icmp: and IcmpMsg:) */                               \
  X(IcmpInMsgs) X(IcmpInErrors) X(IcmpInCsumErrors) X(IcmpInDestUnreachs)      \
  X(IcmpInTimeExcds) X(IcmpInParmProbs) X(IcmpInEchos) X(IcmpInEchoReps)       \
  X(IcmpInIgnored) X(IcmpOutMsgs) X(IcmpOutRateLimitGlobal) X(IcmpOutRateLimitHost)                    \
  X(IcmpOutDestUnreachs) X(IcmpOutEchoReps) X(IcmpOutTimeExcds)                                    \
  X(IcmpMsgInType0) X(IcmpMsgInType3) X(IcmpMsgInType8) X(IcmpMsgInType11)     \
  X(IcmpMsgOutType0) X(IcmpMsgOutType3) X(IcmpMsgOutType11)                                        \
  /* UDP (/proc/net/snmp Udp:) */                                              \
  X(UdpInDatagrams) X(UdpNoPorts) X(UdpInErrors) X(UdpRcvbufErrors)            \
  X(UdpInCsumErrors) X(UdpIgnoredMulti) X(UdpOutDatagrams)                     \
  /* TCP (/proc/net/snmp Tcp:) */                                              \
  X(TcpPassiveOpens) X(TcpAttemptFails) X(TcpEstabResets) X(TcpCurrEstab)       \
  X(TcpInSegs) X(TcpOutSegs) X(TcpRetransSegs) X(TcpInErrs) X(TcpOutRsts)       \
  X(TcpInCsumErrors)                                                           \
  /* TCP extensions (/proc/net/netstat TcpExt:) */                             \
  X(TcpExtListenOverflows) X(TcpExtListenDrops) X(TcpExtSyncookiesSent)        \
  X(TcpExtSyncookiesRecv) X(TcpExtSyncookiesFailed) X(TcpExtTCPReqQFullDoCookies) \
  X(TcpExtTCPReqQFullDrop) X(TcpExtTCPFastOpenPassive)                         \
  X(TcpExtTCPFastOpenPassiveFail) X(TcpExtTCPFastOpenCookieReqd)               \
  X(TcpExtTCPOFOQueue) X(TcpExtTCPOFODrop) X(TcpExtTCPOFOMerge)                \
  X(TcpExtPruneCalled) X(TcpExtRcvPruned) X(TcpExtOfoPruned) X(TcpExtTCPRcvQDrop) \
  X(TcpExtTCPChallengeACK) X(TcpExtTCPSYNChallenge) X(TcpExtPAWSEstab)         \
  X(TcpExtDelayedACKs) X(TcpExtTCPHPHits) X(TcpExtTCPPureAcks)                 \
  X(TcpExtTCPDSACKOldSent) X(TcpExtTCPDSACKOfoSent) X(TcpExtTCPZeroWindowDrop) \
  X(TcpExtTCPToZeroWindowAdv) X(TcpExtTCPFromZeroWindowAdv)                    \
  X(TcpExtTCPWantZeroWindowAdv) X(TcpExtTCPAbortOnData) X(TcpExtTCPAbortOnClose) \
  X(TcpExtTCPAbortOnTimeout) X(TcpExtTCPTimeWaitOverflow) X(TcpExtTW)           \
  X(TcpExtTCPSynRetrans) X(TcpExtTCPACKSkippedChallenge) \
  X(TcpExtTCPNoSocket) X(TcpExtTCPQuickAck) X(TcpExtIPReversePathFilter) \
  /* bridge (inlet names: Linux keeps no counters for these) */                \
  X(BridgeFdbLearned) X(BridgeFdbMoved) X(BridgeFdbAged) X(BridgeFdbFull)      \
  X(BridgeForwarded) X(BridgeFloods) X(BridgeFiltered)                         \
  /* packet filter (lib/filter; per-rule counters live in the RuleSet) */      \
  X(FilterDrops)

enum class Counter : uint16_t {
#define INLET_COUNTER_ENUM(name) name,
  INLET_COUNTERS(INLET_COUNTER_ENUM)
#undef INLET_COUNTER_ENUM
      kCount
};
inline constexpr size_t kCounterCount = static_cast<size_t>(Counter::kCount);

std::string_view counter_name(Counter c);
// True for the counters that are levels, not event counts (TcpCurrEstab).
bool counter_is_gauge(Counter c);

// Every early death of a packet has one reason; each reason bumps one counter
// (besides its own per-reason tally), as the kernel's SKB_DROP_REASON_* do.
// X(Reason, Counter)
#define INLET_DROP_REASONS(X)                                                  \
  X(kPoolExhausted, rx_nobuf)                                                  \
  X(kFrameTooShort, rx_length_errors)                                          \
  X(kFrameTooLong, rx_length_errors)                                           \
  X(kOtherHost, rx_otherhost_dropped)                                          \
  X(kUnknownEtherType, rx_nohandler)                                           \
  X(kIpv6NotSupported, rx_nohandler)                                           \
  X(kVlanMalformed, rx_length_errors)                                          \
  X(kVlanStacked, rx_vlan_dropped)                                             \
  X(kVlanNotConfigured, rx_vlan_dropped)                                       \
  X(kGsoUnsupported, rx_dropped)                                               \
  X(kArpMalformed, ArpInErrors)                                                \
  X(kArpNotForUs, rx_dropped)                                                  \
  X(kArpUnsolicited, rx_dropped)                                               \
  X(kArpInvalidSender, ArpInErrors)                                            \
  X(kArpUnresolved, ArpUnresolvedDiscards)                                     \
  X(kIpTooShort, IpInHdrErrors)                                                \
  X(kIpBadVersion, IpInHdrErrors)                                              \
  X(kIpBadIhl, IpInHdrErrors)                                                  \
  X(kIpBadTotalLength, IpInHdrErrors)                                          \
  X(kIpTruncated, IpExtInTruncatedPkts)                                        \
  X(kIpBadChecksum, IpInHdrErrors)                                             \
  X(kIpBadOptions, IpInHdrErrors)                                              \
  X(kIpMartianSource, IpExtInMartianSrc)                                       \
  X(kIpNotForUs, IpInAddrErrors)                                               \
  X(kIpMulticastNotJoined, IpInAddrErrors)                                     \
  X(kIpReasmTooBig, IpReasmFails)                                              \
  X(kIpReasmOverLimit, IpReasmFails)                                           \
  X(kIpReasmOverlap, IpReasmFails)                                             \
  X(kIpReasmDuplicate, IpInDiscards)                                           \
  X(kIpReasmUnsupported, IpReasmFails)                                         \
  X(kIpGsoNotTcp, IpInDiscards)                                                \
  X(kIpTtlExceeded, IpInHdrErrors)                                             \
  X(kIpFragNeeded, IpFragFails)                                                \
  X(kIpRpFilter, TcpExtIPReversePathFilter)                                    \
  X(kIpRouteBlackhole, IpOutDiscards)                                          \
  X(kIpRouteUnreachable, IpOutNoRoutes)                                        \
  X(kIpRouteProhibit, IpOutNoRoutes)                                           \
  X(kIpUnknownProtocol, IpInUnknownProtos)                                     \
  X(kIpNoRoute, IpOutNoRoutes)                                                 \
  X(kIpOutTooBig, IpOutDiscards)                                               \
  X(kIcmpTooShort, IcmpInErrors)                                               \
  X(kIcmpBadChecksum, IcmpInErrors)                                            \
  X(kUdpTooShort, UdpInErrors)                                                 \
  X(kUdpBadLength, UdpInErrors)                                                \
  X(kUdpBadChecksum, UdpInErrors)                                              \
  X(kUdpNoPort, UdpNoPorts)                                                    \
  X(kUdpRcvbufFull, UdpRcvbufErrors)                                           \
  X(kUdpMulticastNoSocket, UdpIgnoredMulti)                                    \
  X(kIcmpEchoIgnored, IcmpInIgnored)                                           \
  X(kTcpTooShort, TcpInErrs)                                                   \
  X(kTcpBadHeader, TcpInErrs)                                                  \
  X(kTcpBadChecksum, TcpInErrs)                                                \
  X(kTcpBadFlags, TcpInErrs)                                                   \
  X(kTcpNoSocket, TcpExtTCPNoSocket)                                               \
  X(kTcpNotAcceptable, TcpInErrs)                                              \
  X(kTcpPaws, TcpExtPAWSEstab)                                                 \
  X(kTcpInvalidAck, TcpInErrs)                                                 \
  X(kTcpRstChallenged, TcpExtTCPChallengeACK)                                  \
  X(kTcpSynChallenged, TcpExtTCPSYNChallenge)                                  \
  X(kTcpListenOverflow, TcpExtListenOverflows)                                 \
  X(kTcpSynQueueFull, TcpExtListenDrops)                                       \
  X(kTcpCookieFailed, TcpExtSyncookiesFailed)                                  \
  X(kTcpOfoMemory, TcpExtTCPOFODrop)                                           \
  X(kTcpOfoPruned, TcpExtOfoPruned)                                            \
  X(kTcpRcvQueueFull, TcpExtTCPRcvQDrop)                                       \
  X(kTcpZeroWindow, TcpExtTCPZeroWindowDrop)                                   \
  X(kTcpDuplicate, TcpExtTCPDSACKOldSent)                                      \
  X(kTcpClosed, TcpInErrs)                                                     \
  X(kTxRingFull, tx_dropped)                                                   \
  X(kTxNoHeadroom, tx_dropped)                                                \
  X(kShutdown, rx_dropped) \
  X(kVlanUntaggedRefused, rx_vlan_dropped)                                     \
  X(kBridgeSamePort, BridgeFiltered)                                           \
  X(kBridgeNoEgress, BridgeFiltered)                                           \
  X(kBridgeInvalidSource, rx_dropped)                                          \
  X(kBridgeTooBig, tx_dropped)                                                 \
  X(kNetfilterDrop, FilterDrops)

enum class DropReason : uint16_t {
#define INLET_DROP_ENUM(reason, counter) reason,
  INLET_DROP_REASONS(INLET_DROP_ENUM)
#undef INLET_DROP_ENUM
      kCount
};
inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kCount);

std::string_view drop_reason_name(DropReason r);  // "kIpBadChecksum" -> "IP_BAD_CHECKSUM"
Counter drop_reason_counter(DropReason r);

// A softnet_stat-like line per poller (/proc/net/softnet_stat columns).
struct SoftnetStat {
  uint64_t processed = 0;
  uint64_t dropped = 0;
  uint64_t time_squeeze = 0;
  uint64_t budget_exhausted = 0;  // polls that ended on the packet budget
  uint64_t polls = 0;
};

class Counters {
 public:
  void add(Counter c, uint64_t n = 1) { values_[static_cast<size_t>(c)] += n; }
  uint64_t get(Counter c) const { return values_[static_cast<size_t>(c)]; }
  // For the few gauges (TcpCurrEstab): set from the current state on read.
  void set(Counter c, uint64_t v) { values_[static_cast<size_t>(c)] = v; }
  // Counts a drop: its reason's tally, and the reason's counter.
  void drop(DropReason r) {
    drops_[static_cast<size_t>(r)]++;
    add(drop_reason_counter(r));
  }
  uint64_t drops(DropReason r) const { return drops_[static_cast<size_t>(r)]; }
  uint64_t total_drops() const;

  // Adds another context's counters into this one (summing on read).
  void merge(const Counters& other);

  // nstat format: "#kernel" then one "Name  value  rate" line per non-zero
  // counter (all of them when `include_zero`).
  std::string to_nstat(bool include_zero = false) const;
  // One line per non-zero drop reason: "drop REASON count".
  std::string drop_reasons_text() const;
  // Machine-readable: {"IpInReceives": 3, ...}
  std::string to_json() const;

  // What changed since `earlier`, a snapshot of the same context: counters
  // and drop tallies subtracted. Gauges (TcpCurrEstab) keep their value.
  Counters delta_since(const Counters& earlier) const;
  // nstat format for a delta taken over `seconds`: the rate column is the
  // value per second (as nstat's, averaged over the interval).
  std::string to_nstat_rates(double seconds, bool include_zero = false) const;
  // What `nstat --json` prints: {"kernel":{"IpInReceives":12,...}}, non-zero
  // counters only unless `include_zero`. One line, no trailing newline.
  std::string to_nstat_json(bool include_zero = false) const;
  // {"IP_BAD_CHECKSUM":1,...}: the non-zero drop reasons.
  std::string drop_reasons_json() const;

 private:
  std::array<uint64_t, kCounterCount> values_{};
  std::array<uint64_t, kDropReasonCount> drops_{};
};

std::string softnet_line(const SoftnetStat& s, int poller_index);

}  // namespace inlet

// NeighbourTable: the ARP cache. A fixed array of entries sized at set-up
// (net.ipv4.neigh.default.gc_thresh3) with Linux's states — INCOMPLETE while
// resolving (holding up to unres_qlen packets), REACHABLE after a reply, STALE
// after base_reachable_time — and garbage collection of entries stale for
// longer than gc_stale_time. Nothing is allocated after construction.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "core/alloc.h"
#include "core/buffer_pool.h"
#include "core/counters.h"
#include "wire/bytes.h"

namespace inlet::link {

enum class NeighbourState : uint8_t { kFree, kIncomplete, kReachable, kStale };

struct NeighbourConfig {
  uint32_t max_entries = 1024;                         // gc_thresh3
  absl::Duration reachable_time = absl::Seconds(30);   // base_reachable_time_ms
  absl::Duration stale_time = absl::Seconds(60);       // gc_stale_time
  absl::Duration retrans_time = absl::Seconds(1);      // retrans_time_ms
  uint32_t max_probes = 3;                             // mcast_solicit
  uint32_t unresolved_queue = 3;                       // unres_qlen
};

struct Neighbour {
  wire::Ipv4Address ip;
  wire::MacAddress mac;
  NeighbourState state = NeighbourState::kFree;
  uint16_t ifindex = 0;
  uint8_t probes = 0;          // ARP requests sent while INCOMPLETE
  absl::Time confirmed;        // last time the mapping was confirmed
  absl::Time used;             // last time it was used or probed
  uint32_t pending_count = 0;  // packets waiting (INCOMPLETE only)
};

class NeighbourTable {
 public:
  NeighbourTable(const NeighbourConfig& config, BufferPool& pool, Counters& counters);
  ~NeighbourTable() { clear(); }

  Neighbour* find(wire::Ipv4Address ip);
  // Creates an entry (evicting the least recently used STALE one when full);
  // nullptr when the table is full of live entries (counted ArpTableFull).
  Neighbour* create(wire::Ipv4Address ip, uint16_t ifindex, absl::Time now);
  // A confirmed mapping (ARP reply, or a request addressed to us): the entry
  // becomes REACHABLE; returns the packets that were waiting, in order, via
  // `drain` (called once per packet).
  template <class Drain>
  void confirm(Neighbour& n, wire::MacAddress mac, absl::Time now, Drain&& drain) {
    n.mac = mac;
    n.state = NeighbourState::kReachable;
    n.confirmed = n.used = now;
    n.probes = 0;
    const size_t base = index_of(n) * config_.unresolved_queue;
    for (uint32_t i = 0; i < n.pending_count; ++i) drain(std::move(pending_[base + i]));
    n.pending_count = 0;
  }
  // Queues a packet on an INCOMPLETE entry; drops the oldest when full
  // (as Linux's unres_qlen does), counted ArpUnresolvedDiscards.
  void hold(Neighbour& n, PacketRef packet);
  // Drops the entry and any packets it holds.
  void remove(Neighbour& n, DropReason reason_for_pending);
  // Ages entries: REACHABLE -> STALE after reachable_time, STALE entries
  // unused for stale_time are removed. INCOMPLETE entries that need another
  // probe are reported to `reprobe`; those out of probes are removed.
  template <class Reprobe>
  void age(absl::Time now, Reprobe&& reprobe) {
    for (Neighbour& n : entries_) {
      switch (n.state) {
        case NeighbourState::kFree:
          break;
        case NeighbourState::kReachable:
          if (now - n.confirmed >= config_.reachable_time) n.state = NeighbourState::kStale;
          break;
        case NeighbourState::kStale:
          if (now - n.used >= config_.stale_time) {
            counters_.add(Counter::ArpGcEntries);
            remove(n, DropReason::kArpUnresolved);
          }
          break;
        case NeighbourState::kIncomplete:
          if (now - n.used < config_.retrans_time) break;
          if (n.probes >= config_.max_probes) {
            remove(n, DropReason::kArpUnresolved);
          } else {
            ++n.probes;
            n.used = now;
            reprobe(n);
          }
          break;
      }
    }
  }
  void clear();

  size_t size() const { return live_; }
  const NeighbourConfig& config() const { return config_; }
  const Vector<Neighbour>& entries() const { return entries_; }

 private:
  size_t index_of(const Neighbour& n) const { return static_cast<size_t>(&n - entries_.data()); }

  NeighbourConfig config_;
  BufferPool& pool_;
  Counters& counters_;
  Vector<Neighbour> entries_;
  Vector<PacketRef> pending_;  // unresolved_queue slots per entry
  Vector<uint32_t> free_list_;
  FlatHashMap<uint32_t, uint32_t> index_;  // ip -> entry
  size_t live_ = 0;
};

}  // namespace inlet::link

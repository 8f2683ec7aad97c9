// Bridge: an IEEE 802.1D learning bridge between ports of one context — its
// member ports, its bridge device (the Interface the stack's own addresses sit
// on, as Linux's br0), and the filtering database (FDB: source MAC -> port),
// bounded by inlet.bridge.fdb_max and aged after inlet.bridge.ageing_time.
// It decides where a frame goes; LinkLayer moves the packets (clones for a
// flood, the tx queues, local delivery).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "core/alloc.h"
#include "core/counters.h"
#include "core/timer_wheel.h"
#include "wire/bytes.h"

namespace inlet::link {

class Interface;

struct BridgeConfig {
  uint32_t fdb_max = 4096;                           // inlet.bridge.fdb_max
  absl::Duration ageing_time = absl::Seconds(300);   // inlet.bridge.ageing_time
};

struct FdbEntry {
  wire::MacAddress mac;
  Interface* port = nullptr;  // nullptr = free slot
  absl::Time seen;       // last frame from this station
};

// Where a frame goes.
struct BridgeDecision {
  enum class Kind : uint8_t {
    kLocal,      // only to the bridge device (our MAC, reserved group addresses)
    kForward,    // to `egress` only (its MAC was learned there)
    kFlood,      // to every member but the ingress port (and locally if `local`)
    kSamePort,   // learned on the ingress port itself: filtered (802.1D 8.6.3)
    kBadSource,  // multicast or zero source MAC: dropped before learning
  };
  Kind kind = Kind::kLocal;
  Interface* egress = nullptr;
  bool local = false;  // also deliver to the bridge device (broadcast, multicast)
};

class Bridge {
 public:
  Bridge(const BridgeConfig& config, Interface& device, Vector<Interface*> members,
         Counters& counters);
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  Interface& device() const { return device_; }
  const Vector<Interface*>& members() const { return members_; }
  const BridgeConfig& config() const { return config_; }

  // A frame received on member `ingress`: learns its source, then decides
  // (802.1D 8.6 forwarding process). Counts BridgeFdb* as it learns.
  BridgeDecision receive(Interface& ingress, wire::MacAddress src, wire::MacAddress dst,
                         absl::Time now);
  // A frame the stack sends on the bridge device: to the learned port or a
  // flood to every member.
  BridgeDecision transmit(wire::MacAddress dst, absl::Time now) const;

  // Frames to these are for the stack: the device's MAC and every member's
  // (Linux's "local" FDB entries).
  bool is_local_mac(wire::MacAddress mac) const;
  // 802.1D 7.12.6: 01-80-C2-00-00-00..0F are never forwarded.
  static bool is_reserved_group(wire::MacAddress mac);

  // The member `mac` was learned on and not aged out, or nullptr.
  Interface* lookup(wire::MacAddress mac, absl::Time now) const;
  // Frees entries not refreshed for ageing_time (BridgeFdbAged).
  void age(absl::Time now);
  size_t fdb_size() const { return index_.size(); }
  // The entry for `mac` (aged or not), or nullptr.
  const FdbEntry* fdb_entry(wire::MacAddress mac) const;
  void clear();

  // The aging timer (armed by LinkLayer).
  Timer& timer() { return timer_; }

 private:
  void learn(Interface& port, wire::MacAddress src, absl::Time now);
  bool expired(const FdbEntry& e, absl::Time now) const { return now - e.seen > config_.ageing_time; }
  void remove(uint32_t slot);

  BridgeConfig config_;
  Interface& device_;
  Vector<Interface*> members_;
  Counters& counters_;
  Vector<FdbEntry> entries_;   // fdb_max slots, allocated at set-up
  Vector<uint32_t> free_;      // free slots (a stack)
  FlatHashMap<wire::MacAddress, uint32_t> index_;  // mac -> slot
  Timer timer_;
};

}  // namespace inlet::link

#include "link/bridge.h"

#include <utility>

#include "link/interface.h"

namespace inlet::link {

Bridge::Bridge(const BridgeConfig& config, Interface& device, Vector<Interface*> members,
               Counters& counters)
    : config_(config), device_(device), members_(std::move(members)), counters_(counters) {
  if (config_.fdb_max == 0) config_.fdb_max = 1;
  entries_.resize(config_.fdb_max);
  free_.resize(config_.fdb_max);
  for (uint32_t i = 0; i < config_.fdb_max; ++i) free_[i] = config_.fdb_max - 1 - i;
  index_.reserve(config_.fdb_max);
}

bool Bridge::is_reserved_group(wire::MacAddress mac) {
  const auto o = mac.octets();
  return o[0] == 0x01 && o[1] == 0x80 && o[2] == 0xC2 && o[3] == 0x00 && o[4] == 0x00 &&
         (o[5] & 0xF0) == 0x00;
}

bool Bridge::is_local_mac(wire::MacAddress mac) const {
  if (mac == device_.mac()) return true;
  for (const Interface* m : members_) {
    if (m->mac() == mac) return true;
  }
  return false;
}

const FdbEntry* Bridge::fdb_entry(wire::MacAddress mac) const {
  auto it = index_.find(mac);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

Interface* Bridge::lookup(wire::MacAddress mac, absl::Time now) const {
  const FdbEntry* e = fdb_entry(mac);
  if (e == nullptr || expired(*e, now)) return nullptr;
  return e->port;
}

void Bridge::remove(uint32_t slot) {
  index_.erase(entries_[slot].mac);
  entries_[slot] = FdbEntry{};
  free_.push_back(slot);  // never beyond fdb_max: capacity reserved at set-up
}

void Bridge::learn(Interface& port, wire::MacAddress src, absl::Time now) {
  auto it = index_.find(src);
  if (it != index_.end()) {
    FdbEntry& e = entries_[it->second];
    if (e.port != &port) {
      // A station that moved (or an aged entry seen again elsewhere).
      counters_.add(expired(e, now) ? Counter::BridgeFdbLearned : Counter::BridgeFdbMoved);
      e.port = &port;
    }
    e.seen = now;
    return;
  }
  if (free_.empty()) {
    counters_.add(Counter::BridgeFdbFull);  // the frame is still forwarded
    return;
  }
  const uint32_t slot = free_.back();
  free_.pop_back();
  entries_[slot] = FdbEntry{src, &port, now};
  index_.emplace(src, slot);
  counters_.add(Counter::BridgeFdbLearned);
}

BridgeDecision Bridge::receive(Interface& ingress, wire::MacAddress src, wire::MacAddress dst,
                               absl::Time now) {
  using Kind = BridgeDecision::Kind;
  if (src.is_multicast() || src.is_zero()) return {Kind::kBadSource};
  learn(ingress, src, now);
  if (is_reserved_group(dst) || is_local_mac(dst)) return {Kind::kLocal, nullptr, true};
  if (dst.is_multicast()) return {Kind::kFlood, nullptr, true};  // broadcast too
  Interface* egress = lookup(dst, now);
  if (egress == &ingress) return {Kind::kSamePort};
  if (egress != nullptr) return {Kind::kForward, egress, false};
  return {Kind::kFlood, nullptr, false};  // unknown unicast
}

BridgeDecision Bridge::transmit(wire::MacAddress dst, absl::Time now) const {
  using Kind = BridgeDecision::Kind;
  if (!dst.is_multicast()) {
    if (Interface* egress = lookup(dst, now)) return {Kind::kForward, egress, false};
  }
  return {Kind::kFlood, nullptr, false};
}

void Bridge::age(absl::Time now) {
  for (uint32_t slot = 0; slot < entries_.size(); ++slot) {
    if (entries_[slot].port != nullptr && expired(entries_[slot], now)) {
      remove(slot);
      counters_.add(Counter::BridgeFdbAged);
    }
  }
}

void Bridge::clear() {
  for (uint32_t slot = 0; slot < entries_.size(); ++slot) {
    if (entries_[slot].port != nullptr) remove(slot);
  }
}

}  // namespace inlet::link

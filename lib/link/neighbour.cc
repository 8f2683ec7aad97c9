#include "link/neighbour.h"

namespace inlet::link {

NeighbourTable::NeighbourTable(const NeighbourConfig& config, BufferPool& pool, Counters& counters)
    : config_(config), pool_(pool), counters_(counters) {
  if (config_.max_entries == 0) config_.max_entries = 1;
  // Sized once: built at their size, not grown (no growth path linked).
  entries_ = Vector<Neighbour>(config_.max_entries);
  pending_ = Vector<PacketRef>(size_t{config_.max_entries} * config_.unresolved_queue);
  free_list_ = Vector<uint32_t>(config_.max_entries);  // entry 0 on top (at the back)
  for (uint32_t i = 0; i < config_.max_entries; ++i) free_list_[i] = config_.max_entries - 1 - i;
  index_.reserve(config_.max_entries);
}

Neighbour* NeighbourTable::find(wire::Ipv4Address ip) {
  auto it = index_.find(ip.value());
  return it == index_.end() ? nullptr : &entries_[it->second];
}

Neighbour* NeighbourTable::create(wire::Ipv4Address ip, uint16_t ifindex, absl::Time now) {
  if (Neighbour* existing = find(ip)) return existing;
  if (free_list_.empty()) {
    // Evict the least recently used STALE entry, as neighbour GC would.
    Neighbour* victim = nullptr;
    for (Neighbour& n : entries_) {
      if (n.state == NeighbourState::kStale && (victim == nullptr || n.used < victim->used)) {
        victim = &n;
      }
    }
    if (victim == nullptr) {
      counters_.add(Counter::ArpTableFull);
      return nullptr;
    }
    counters_.add(Counter::ArpGcEntries);
    remove(*victim, DropReason::kArpUnresolved);
  }
  const uint32_t i = free_list_.back();
  free_list_.pop_back();
  Neighbour& n = entries_[i];
  n = Neighbour{};
  n.ip = ip;
  n.ifindex = ifindex;
  n.state = NeighbourState::kIncomplete;
  n.used = now;
  n.confirmed = absl::InfinitePast();
  index_.emplace(ip.value(), i);
  ++live_;
  return &n;
}

void NeighbourTable::hold(Neighbour& n, PacketRef packet) {
  if (config_.unresolved_queue == 0) {
    pool_.free(std::move(packet), DropReason::kArpUnresolved);
    return;
  }
  const size_t base = index_of(n) * config_.unresolved_queue;
  if (n.pending_count == config_.unresolved_queue) {
    pool_.free(std::move(pending_[base]), DropReason::kArpUnresolved);
    for (uint32_t i = 1; i < n.pending_count; ++i) pending_[base + i - 1] = std::move(pending_[base + i]);
    --n.pending_count;
  }
  pending_[base + n.pending_count++] = std::move(packet);
}

void NeighbourTable::remove(Neighbour& n, DropReason reason_for_pending) {
  if (n.state == NeighbourState::kFree) return;
  const size_t i = index_of(n);
  const size_t base = i * config_.unresolved_queue;
  for (uint32_t k = 0; k < n.pending_count; ++k) pool_.free(std::move(pending_[base + k]), reason_for_pending);
  index_.erase(n.ip.value());
  n = Neighbour{};
  free_list_.push_back(static_cast<uint32_t>(i));
  --live_;
}

void NeighbourTable::clear() {
  for (Neighbour& n : entries_) {
    if (n.state != NeighbourState::kFree) remove(n, DropReason::kShutdown);
  }
}

}  // namespace inlet::link

#include "ip/fib.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstdlib>
#include <memory>
#include <new>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include "absl/strings/str_cat.h"

// x86-64's baseline has no POPCNT instruction (GCC calls libgcc for
// std::popcount); such builds pick a POPCNT lookup at run time.
#if defined(__x86_64__) && !defined(__POPCNT__) && (defined(__GNUC__) || defined(__clang__))
#define INLET_FIB_POPCNT_DISPATCH 1
#endif

namespace inlet::ip {

namespace {

constexpr uint32_t kInternal = 0xFFFFFFFFu;  // decompressed position that is a child node

constexpr uint64_t bit(int i) { return uint64_t{1} << i; }
// Bits 0..i set (i = 63 gives all ones: 2 << 63 wraps to 0).
constexpr uint64_t upto(int i) { return (uint64_t{2} << i) - 1; }
constexpr uint32_t mask_of(int len) { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }
// Buddy order of a block holding n entries (n ≥ 1).
int order_of(uint32_t n) { return n <= 1 ? 0 : std::bit_width(n - 1); }
// The 6 bits of addr below the first `depth` bits (zero-padded past bit 31).
int child_index(uint32_t addr, int depth) {
  return static_cast<int>(((uint64_t{addr} << 32) << depth) >> 58);
}
// Position of set bit i among the set bits of v.
int rank_of(uint64_t v, int i) { return std::popcount(v & upto(i)) - 1; }

size_t scale(uint32_t hash, size_t n) { return static_cast<size_t>((uint64_t{hash} * n) >> 32); }

// Linear-probing deletion without tombstones: slot i is emptied and later
// entries of the cluster move back over it unless their home lies in (i, j].
template <class Home>
void erase_slot(Vector<uint32_t>& table, size_t i, uint32_t empty, Home home) {
  const size_t n = table.size();
  table[i] = empty;
  size_t j = i;
  for (;;) {
    j = j + 1 == n ? 0 : j + 1;
    const uint32_t v = table[j];
    if (v == empty) return;
    const size_t h = home(v);
    const bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
    if (!stays) {
      table[i] = v;
      table[j] = empty;
      i = j;
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// BuddyAllocator

namespace fib_internal {

void BuddyAllocator::init(uint32_t slots) {
  slots_ = std::max<uint32_t>(64, (slots + 63) / 64 * 64);
  used_ = 0;
  for (int k = 0; k <= kMaxOrder; ++k) {
    const size_t blocks = slots_ >> k;
    const size_t words = (blocks + 63) / 64;
    bits_[k].assign(words, 0);
    summary_[k].assign((words + 63) / 64, 0);
    free_blocks_[k] = 0;
    hint_[k] = 0;
  }
  for (uint32_t b = 0; b < (slots_ >> kMaxOrder); ++b) set(kMaxOrder, b);
}

void BuddyAllocator::set(int order, uint32_t block) {
  const uint32_t w = block >> 6;
  bits_[order][w] |= bit(block & 63);
  summary_[order][w >> 6] |= bit(w & 63);
  ++free_blocks_[order];
  hint_[order] = std::min(hint_[order], w >> 6);
}

void BuddyAllocator::clear(int order, uint32_t block) {
  const uint32_t w = block >> 6;
  bits_[order][w] &= ~bit(block & 63);
  if (bits_[order][w] == 0) summary_[order][w >> 6] &= ~bit(w & 63);
  --free_blocks_[order];
}

bool BuddyAllocator::test(int order, uint32_t block) const {
  return (bits_[order][block >> 6] >> (block & 63)) & 1;
}

uint32_t BuddyAllocator::find(int order) {
  const Vector<uint64_t>& summary = summary_[order];
  for (uint32_t s = hint_[order]; s < summary.size(); ++s) {
    if (summary[s] == 0) continue;
    hint_[order] = s;
    const uint32_t w = s * 64 + static_cast<uint32_t>(std::countr_zero(summary[s]));
    return w * 64 + static_cast<uint32_t>(std::countr_zero(bits_[order][w]));
  }
  return kFail;  // unreachable while free_blocks_[order] > 0
}

uint32_t BuddyAllocator::alloc(int order) {
  int j = order;
  while (j <= kMaxOrder && free_blocks_[j] == 0) ++j;
  if (j > kMaxOrder) return kFail;
  uint32_t b = find(j);
  clear(j, b);
  while (j > order) {  // split, keeping the lower half
    --j;
    b <<= 1;
    set(j, b + 1);
  }
  used_ += size_t{1} << order;
  return b << order;
}

void BuddyAllocator::free(uint32_t base, int order) {
  used_ -= size_t{1} << order;
  uint32_t b = base >> order;
  int k = order;
  while (k < kMaxOrder && test(k, b ^ 1)) {
    clear(k, b ^ 1);
    b >>= 1;
    ++k;
  }
  set(k, b);
}

void BuddyAllocator::shrink(uint32_t base, int old_order, int new_order) {
  for (int j = new_order; j < old_order; ++j) free(base + (uint32_t{1} << j), j);
}

size_t BuddyAllocator::memory_bytes() const {
  size_t words = 0;
  for (int k = 0; k <= kMaxOrder; ++k) words += bits_[k].size() + summary_[k].size();
  return words * sizeof(uint64_t);
}

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
}

template <class T>
T* LookupAllocator<T>::allocate(size_t n) {
  if (n * sizeof(T) < kHugePage) return StdAllocator<T>(*allocator).allocate(n);
  const size_t bytes = n * sizeof(T);
  void* p = allocate_bytes(*allocator, (bytes + kHugePage - 1) / kHugePage * kHugePage, kHugePage);
#ifdef __linux__
  madvise(p, bytes, MADV_HUGEPAGE);  // advice only: fine if it is refused
#endif
  return static_cast<T*>(p);
}

template <class T>
void LookupAllocator<T>::deallocate(T* p, size_t n) {
  if (n * sizeof(T) < kHugePage) return StdAllocator<T>(*allocator).deallocate(p, n);
  deallocate_bytes(*allocator, p, (n * sizeof(T) + kHugePage - 1) / kHugePage * kHugePage,
                   kHugePage);
}

template struct LookupAllocator<uint32_t>;
template struct LookupAllocator<TrieNode>;
template struct LookupAllocator<Fib::RouteEntry>;  // access checks do not apply here

}  // namespace fib_internal

// ---------------------------------------------------------------------------
// Construction, lookup

Fib::Fib(const FibConfig& config) {
  const uint32_t max_routes = std::clamp<uint32_t>(config.max_routes, 1, 1u << 28);
  direct_bits_ = config.direct_bits != 0 ? std::clamp<uint8_t>(config.direct_bits, 8, 20)
                                         : (max_routes > 65536 ? 18 : 12);
  direct_.assign(size_t{1} << direct_bits_, kNone);
#ifdef INLET_FIB_POPCNT_DISPATCH
  __builtin_cpu_init();  // in case a Fib is built during static initialisation
  hw_popcount_ = __builtin_cpu_supports("popcnt");
#endif

  // Arena sizes for a realistic mix (mostly /24, some /16–/23 and /25–/32), from
  // measured use (bench/fib.cc) with 1.3–2x headroom: with 12 direct bits a sparse
  // table needs 1.2–1.8 nodes and 3.7–4.6 leaves per route; with 18 bits the
  // first level saturates at 2^18 nodes and a 1 M table needs 0.3 nodes and 2.7
  // leaves per route.
  const bool wide = direct_bits_ >= 16;
  const uint64_t n = max_routes;
  const uint64_t nodes = config.trie_nodes != 0 ? config.trie_nodes
                         : wide                 ? n / 2 + (1u << 17)
                                                : 2 * n + 4096;
  const uint64_t leaves = config.trie_leaves != 0 ? config.trie_leaves
                          : wide                  ? n * 7 / 2 + (1u << 19)
                                                  : 5 * n + 16384;
  node_arena_.init(static_cast<uint32_t>(std::min<uint64_t>(nodes, kNone)));
  nodes_.resize(node_arena_.slots());
  leaf_arena_.init(static_cast<uint32_t>(std::min<uint64_t>(leaves, kNone)));
  leaves_.resize(leaf_arena_.slots());

  routes_.resize(max_routes);
  links_.resize(max_routes);
  for (uint32_t i = 0; i < max_routes; ++i) links_[i].next = i + 1 < max_routes ? i + 1 : kNone;
  free_route_ = 0;
  index_.assign(size_t{max_routes} + max_routes / 2 + 16, kNone);

  const uint32_t max_groups = config.max_ecmp_groups != 0
                                  ? std::min<uint32_t>(config.max_ecmp_groups, 1u << 24)
                                  : std::clamp<uint32_t>(max_routes / 64, 16, 16384);
  groups_.resize(max_groups);
  for (uint32_t i = 0; i < max_groups; ++i) groups_[i].hash = i + 1 < max_groups ? i + 1 : kNone;
  free_group_ = max_groups > 0 ? 0 : kNone;
  group_index_.assign(size_t{max_groups} * 2 + 16, kNone);
}

namespace {

// The trie walk: a direct entry, then a node per 6 bits until a leaf, with a
// popcount per node: POPCNT where the CPU has it, else a SWAR count.
struct SoftPopcount {
  static int count(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555u);
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Fu;
    return static_cast<int>((x * 0x0101010101010101u) >> 56);
  }
};
struct StdPopcount {
  static int count(uint64_t x) { return std::popcount(x); }
};

template <class Popcount>
[[gnu::always_inline]] inline uint32_t walk(const uint32_t* direct, const fib_internal::TrieNode* nodes,
                                            const uint32_t* leaves, int bits, uint32_t addr) {
  constexpr uint32_t kNodeBit = 0x80000000u;
  const uint32_t entry = direct[addr >> (32 - bits)];
  if (!(entry & kNodeBit)) return entry;
  const fib_internal::TrieNode* n = &nodes[entry & ~kNodeBit];
  const uint64_t key = uint64_t{addr} << 32;
  int depth = bits;
  for (;;) {
    const int c = static_cast<int>((key << depth) >> 58);
    if ((n->vector >> c) & 1) {
      n = &nodes[n->base1 + Popcount::count(n->vector & upto(c)) - 1];
      depth += 6;
    } else {
      return leaves[n->base0 + Popcount::count(n->leafvec & upto(c)) - 1];
    }
  }
}

// walk() for up to kLanes addresses at once, a level at a time: each step
// prefetches what the next one reads, so the lanes' cache misses overlap.
constexpr size_t kLanes = 16;

template <class Popcount>
[[gnu::always_inline]] inline void walk_lanes(const uint32_t* direct,
                                              const fib_internal::TrieNode* nodes,
                                              const uint32_t* leaves, int bits,
                                              const uint32_t* addr, uint32_t* leaf, size_t m) {
  constexpr uint32_t kNodeBit = 0x80000000u;
  const fib_internal::TrieNode* node[kLanes];
  int depth[kLanes];
  for (size_t i = 0; i < m; ++i) __builtin_prefetch(&direct[addr[i] >> (32 - bits)]);
  uint32_t walking = 0;  // lanes at a node
  for (size_t i = 0; i < m; ++i) {
    const uint32_t entry = direct[addr[i] >> (32 - bits)];
    leaf[i] = entry;
    if (entry & kNodeBit) {
      node[i] = &nodes[entry & ~kNodeBit];
      depth[i] = bits;
      __builtin_prefetch(node[i]);
      walking |= 1u << i;
    }
  }
  const uint32_t* leaf_at[kLanes];
  uint32_t reading = 0;  // lanes that found their leaf slot
  while (walking != 0) {
    for (uint32_t w = walking; w != 0; w &= w - 1) {
      const int i = std::countr_zero(w);
      const fib_internal::TrieNode* n = node[i];
      const int c = static_cast<int>(((uint64_t{addr[i]} << 32) << depth[i]) >> 58);
      if ((n->vector >> c) & 1) {
        node[i] = &nodes[n->base1 + Popcount::count(n->vector & upto(c)) - 1];
        depth[i] += 6;
        __builtin_prefetch(node[i]);
      } else {
        leaf_at[i] = &leaves[n->base0 + Popcount::count(n->leafvec & upto(c)) - 1];
        __builtin_prefetch(leaf_at[i]);
        walking &= ~(1u << i);
        reading |= 1u << i;
      }
    }
  }
  for (uint32_t r = reading; r != 0; r &= r - 1) {
    const int i = std::countr_zero(r);
    leaf[i] = *leaf_at[i];
  }
}

#ifdef INLET_FIB_POPCNT_DISPATCH
[[gnu::target("popcnt")]] void walk_lanes_popcnt(const uint32_t* direct,
                                                 const fib_internal::TrieNode* nodes,
                                                 const uint32_t* leaves, int bits,
                                                 const uint32_t* addr, uint32_t* leaf, size_t m) {
  walk_lanes<StdPopcount>(direct, nodes, leaves, bits, addr, leaf, m);
}
[[gnu::target("popcnt")]] uint32_t walk_popcnt(const uint32_t* direct,
                                                const fib_internal::TrieNode* nodes,
                                                const uint32_t* leaves, int bits, uint32_t addr) {
  return walk<StdPopcount>(direct, nodes, leaves, bits, addr);
}
using FallbackPopcount = SoftPopcount;
#else
using FallbackPopcount = StdPopcount;
#endif

}  // namespace

std::optional<FibResult> Fib::lookup(wire::Ipv4Address dst, uint32_t flow_hash) const {
  const uint32_t addr = dst.value();
#ifdef INLET_FIB_POPCNT_DISPATCH
  const uint32_t leaf =
      hw_popcount_ ? walk_popcnt(direct_.data(), nodes_.data(), leaves_.data(), direct_bits_, addr)
                   : walk<FallbackPopcount>(direct_.data(), nodes_.data(), leaves_.data(),
                                            direct_bits_, addr);
#else
  const uint32_t leaf =
      walk<FallbackPopcount>(direct_.data(), nodes_.data(), leaves_.data(), direct_bits_, addr);
#endif
  if (leaf == kNone) {
    if (default_route_ == kNone) return std::nullopt;
    return result(default_route_, addr, flow_hash);
  }
  return result(leaf, addr, flow_hash);
}

void Fib::lookup_batch(std::span<const wire::Ipv4Address> dst,
                       std::span<const uint32_t> flow_hash,
                       std::span<std::optional<FibResult>> out) const {
  const size_t n = std::min(dst.size(), out.size());
  uint32_t addr[kLanes];
  uint32_t leaf[kLanes];
  for (size_t base = 0; base < n; base += kLanes) {
    const size_t m = std::min(kLanes, n - base);
    for (size_t i = 0; i < m; ++i) addr[i] = dst[base + i].value();
#ifdef INLET_FIB_POPCNT_DISPATCH
    if (hw_popcount_) {
      walk_lanes_popcnt(direct_.data(), nodes_.data(), leaves_.data(), direct_bits_, addr, leaf, m);
    } else {
      walk_lanes<FallbackPopcount>(direct_.data(), nodes_.data(), leaves_.data(), direct_bits_,
                                   addr, leaf, m);
    }
#else
    walk_lanes<FallbackPopcount>(direct_.data(), nodes_.data(), leaves_.data(), direct_bits_, addr,
                                 leaf, m);
#endif
    for (size_t i = 0; i < m; ++i) {
      if (leaf[i] == kNone) leaf[i] = default_route_;
      if (leaf[i] != kNone) __builtin_prefetch(&routes_[leaf[i]]);
    }
    for (size_t i = 0; i < m; ++i) {
      const uint32_t hash = base + i < flow_hash.size() ? flow_hash[base + i] : 0;
      if (leaf[i] == kNone) {
        out[base + i] = std::nullopt;
      } else {
        out[base + i] = result(leaf[i], addr[i], hash);
      }
    }
  }
}

FibResult Fib::result(uint32_t leaf, uint32_t addr, uint32_t flow_hash) const {
  const RouteEntry& r = routes_[leaf];
  uint32_t gateway = r.gateway;
  uint16_t ifindex = r.ifindex;
  if (r.nexthop_count > 1) {
    // Weighted choice: the mixed hash scaled onto [0, total weight), then the
    // first next hop whose cumulative weight exceeds it (as the kernel's
    // fib_select_multipath, with hash-threshold bounds).
    const EcmpGroup& g = groups_[r.gateway];
    const uint32_t pick = static_cast<uint32_t>(scale(fib_mix32(flow_hash), g.upper[g.count - 1]));
    int i = 0;
    while (pick >= g.upper[i]) ++i;
    gateway = g.nexthops[i].gateway;
    ifindex = g.nexthops[i].ifindex;
  }
  return FibResult{r.type, ifindex, wire::Ipv4Address(gateway != 0 ? gateway : addr),
                   r.prefix_length, r.metric};
}

size_t Fib::memory_bytes() const {
  return direct_.size() * sizeof(uint32_t) + nodes_.size() * sizeof(Node) +
         leaves_.size() * sizeof(uint32_t) + node_arena_.memory_bytes() +
         leaf_arena_.memory_bytes() + routes_.size() * sizeof(RouteEntry) +
         links_.size() * sizeof(RouteLink) + index_.size() * sizeof(uint32_t) +
         groups_.size() * sizeof(EcmpGroup) + group_index_.size() * sizeof(uint32_t) +
         sizeof(*this);
}

FibUsage Fib::usage() const {
  FibUsage u;
  u.trie_nodes = node_arena_.used();
  u.trie_nodes_capacity = node_arena_.slots();
  u.trie_leaves = leaf_arena_.used();
  u.trie_leaves_capacity = leaf_arena_.slots();
  u.ecmp_groups = groups_used_;
  u.ecmp_groups_capacity = groups_.size();
  return u;
}

// ---------------------------------------------------------------------------
// Control plane: routes, the prefix index, ECMP groups

absl::Status Fib::validate(const FibRoute& route) const {
  const auto name = [&] {
    return absl::StrCat(route.prefix.to_string(), "/", route.prefix_length);
  };
  if (route.prefix_length > 32) {
    return absl::InvalidArgumentError(absl::StrCat("prefix length ", route.prefix_length, " > 32"));
  }
  if ((route.prefix.value() & ~mask_of(route.prefix_length)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(name(), " has host bits set"));
  }
  if (static_cast<uint8_t>(route.type) > static_cast<uint8_t>(RouteType::kProhibit)) {
    return absl::InvalidArgumentError(absl::StrCat(name(), ": unknown route type"));
  }
  if (route.nexthop_count == 0 || route.nexthop_count > route.nexthops.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name(), ": ", route.nexthop_count, " next hops (1..8)"));
  }
  if (route.nexthop_count > 1 && route.type != RouteType::kUnicast) {
    return absl::InvalidArgumentError(
        absl::StrCat(name(), ": ECMP on a ", std::string(route_type_name(route.type)), " route"));
  }
  for (int i = 0; i < route.nexthop_count; ++i) {
    if (route.nexthops[i].weight == 0) {
      return absl::InvalidArgumentError(absl::StrCat(name(), ": next hop ", i, " has weight 0"));
    }
  }
  return absl::OkStatus();
}

size_t Fib::index_home(uint32_t prefix, uint8_t len) const {
  return scale(fib_mix32(prefix * 0x9E3779B1u + len), index_.size());
}

uint32_t Fib::find_prefix(uint32_t prefix, uint8_t len) const {
  for (size_t i = index_home(prefix, len);;) {
    const uint32_t r = index_[i];
    if (r == kNone) return kNone;
    if (links_[r].prefix == prefix && routes_[r].prefix_length == len) return r;
    if (++i == index_.size()) i = 0;
  }
}

uint32_t Fib::find_metric(uint32_t head, uint32_t metric) const {
  for (uint32_t r = head; r != kNone; r = links_[r].next) {
    if (routes_[r].metric == metric) return r;
  }
  return kNone;
}

// The default route is not in the trie (see default_route_), so the cover
// looked for is at least a /1: without one the leaves become kNone.
uint32_t Fib::find_cover(uint32_t prefix, uint8_t len) const {
  for (int l = len - 1; l >= 1; --l) {
    if (prefixes_per_length_[l] == 0) continue;
    const uint32_t r = find_prefix(prefix & mask_of(l), static_cast<uint8_t>(l));
    if (r != kNone) return r;
  }
  return kNone;
}

void Fib::index_insert(uint32_t route) {
  size_t i = index_home(links_[route].prefix, routes_[route].prefix_length);
  while (index_[i] != kNone) {
    if (++i == index_.size()) i = 0;
  }
  index_[i] = route;
}

void Fib::index_swap(uint32_t old_route, uint32_t new_route) {
  for (size_t i = index_home(links_[old_route].prefix, routes_[old_route].prefix_length);;) {
    if (index_[i] == old_route) {
      index_[i] = new_route;
      return;
    }
    if (++i == index_.size()) i = 0;
  }
}

void Fib::index_erase(uint32_t route) {
  size_t i = index_home(links_[route].prefix, routes_[route].prefix_length);
  while (index_[i] != route) {
    if (++i == index_.size()) i = 0;
  }
  erase_slot(index_, i, kNone,
             [this](uint32_t r) { return index_home(links_[r].prefix, routes_[r].prefix_length); });
}

uint32_t Fib::intern_group(const EcmpGroup& group) {
  const auto home = [this](uint32_t h) { return scale(h, group_index_.size()); };
  size_t i = home(group.hash);
  for (; group_index_[i] != kNone; i = i + 1 == group_index_.size() ? 0 : i + 1) {
    EcmpGroup& g = groups_[group_index_[i]];
    if (g.hash == group.hash && g.count == group.count && g.nexthops == group.nexthops) {
      ++g.refs;
      return group_index_[i];
    }
  }
  if (free_group_ == kNone) return kNone;
  const uint32_t id = free_group_;
  free_group_ = groups_[id].hash;
  groups_[id] = group;
  groups_[id].refs = 1;
  group_index_[i] = id;
  ++groups_used_;
  return id;
}

absl::Status Fib::store_nexthops(const FibRoute& route, RouteEntry& entry) {
  entry.nexthop_count = route.nexthop_count;
  if (route.nexthop_count == 1) {
    entry.gateway = route.nexthops[0].gateway.value();
    entry.ifindex = route.nexthops[0].ifindex;
    entry.weight = route.nexthops[0].weight;
    return absl::OkStatus();
  }
  EcmpGroup g;
  g.count = route.nexthop_count;
  uint32_t total = 0;
  uint32_t hash = g.count;
  for (int i = 0; i < g.count; ++i) {
    const FibNextHop& nh = route.nexthops[i];
    g.nexthops[i] = {nh.gateway.value(), nh.ifindex, nh.weight, 0};
    total += nh.weight;
    g.upper[i] = static_cast<uint16_t>(total);
    hash = fib_mix32(hash ^ nh.gateway.value()) ^ (uint32_t{nh.ifindex} << 8 | nh.weight);
  }
  g.hash = fib_mix32(hash);
  const uint32_t id = intern_group(g);
  if (id == kNone) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "all ", groups_.size(), " ECMP groups in use (FibConfig::max_ecmp_groups)"));
  }
  entry.gateway = id;
  entry.ifindex = 0;
  entry.weight = 0;
  return absl::OkStatus();
}

void Fib::release_nexthops(const RouteEntry& entry) {
  if (entry.nexthop_count <= 1) return;
  const uint32_t id = entry.gateway;
  EcmpGroup& g = groups_[id];
  if (--g.refs > 0) return;
  const auto home = [this](uint32_t gid) { return scale(groups_[gid].hash, group_index_.size()); };
  size_t i = home(id);
  while (group_index_[i] != id) i = i + 1 == group_index_.size() ? 0 : i + 1;
  erase_slot(group_index_, i, kNone, home);
  g.hash = free_group_;
  free_group_ = id;
  --groups_used_;
}

FibRoute Fib::to_route(uint32_t index) const {
  const RouteEntry& e = routes_[index];
  FibRoute r;
  r.prefix = wire::Ipv4Address(links_[index].prefix);
  r.prefix_length = e.prefix_length;
  r.type = e.type;
  r.metric = e.metric;
  r.nexthop_count = e.nexthop_count;
  if (e.nexthop_count == 1) {
    r.nexthops[0] = {e.ifindex, wire::Ipv4Address(e.gateway), e.weight};
  } else {
    const EcmpGroup& g = groups_[e.gateway];
    for (int i = 0; i < g.count; ++i) {
      r.nexthops[i] = {g.nexthops[i].ifindex, wire::Ipv4Address(g.nexthops[i].gateway),
                       g.nexthops[i].weight};
    }
  }
  return r;
}

void Fib::for_each(absl::FunctionRef<void(const FibRoute&)> fn) const {
  for (uint32_t head : index_) {
    for (uint32_t r = head; r != kNone; r = links_[r].next) fn(to_route(r));
  }
}

absl::Status Fib::add(const FibRoute& route) {
  if (absl::Status s = validate(route); !s.ok()) return s;
  const uint32_t prefix = route.prefix.value();
  const uint8_t len = route.prefix_length;
  const uint32_t head = find_prefix(prefix, len);
  if (head != kNone && find_metric(head, route.metric) != kNone) {
    return absl::AlreadyExistsError(absl::StrCat("route ", route.prefix.to_string(), "/", len,
                                                 " metric ", route.metric, " exists"));
  }
  if (free_route_ == kNone) {
    return absl::ResourceExhaustedError(
        absl::StrCat("FIB full: ", routes_.size(), " routes (FibConfig::max_routes)"));
  }
  RouteEntry entry;
  entry.metric = route.metric;
  entry.prefix_length = len;
  entry.type = route.type;
  if (absl::Status s = store_nexthops(route, entry); !s.ok()) return s;

  const uint32_t id = free_route_;
  free_route_ = links_[id].next;
  routes_[id] = entry;
  links_[id] = {prefix, kNone};
  if (head == kNone) {
    if (absl::Status s = trie_add(prefix, len, id); !s.ok()) {
      release_nexthops(entry);
      routes_[id] = RouteEntry{};
      links_[id] = {0, free_route_};
      free_route_ = id;
      return s;
    }
    index_insert(id);
    ++prefixes_per_length_[len];
  } else if (route.metric < routes_[head].metric) {
    links_[id].next = head;
    index_swap(head, id);
    trie_swap(prefix, len, head, id);
  } else {
    uint32_t prev = head;
    while (links_[prev].next != kNone && routes_[links_[prev].next].metric < route.metric) {
      prev = links_[prev].next;
    }
    links_[id].next = links_[prev].next;
    links_[prev].next = id;
  }
  ++size_;
  return absl::OkStatus();
}

absl::Status Fib::replace(const FibRoute& route) {
  if (absl::Status s = validate(route); !s.ok()) return s;
  const uint32_t head = find_prefix(route.prefix.value(), route.prefix_length);
  const uint32_t id = head == kNone ? kNone : find_metric(head, route.metric);
  if (id == kNone) return add(route);
  // Same prefix, length and metric: the trie's leaves keep pointing at this
  // slot, so only the slot changes.
  // The old ECMP group goes first, so that a route whose group is its own can
  // change it with every group in use; on failure it is taken back, which
  // cannot fail (its slot, or the group itself, is still there).
  const FibRoute previous = to_route(id);
  release_nexthops(routes_[id]);
  RouteEntry entry = routes_[id];
  entry.type = route.type;
  if (absl::Status s = store_nexthops(route, entry); !s.ok()) {
    (void)store_nexthops(previous, routes_[id]);
    return s;
  }
  routes_[id] = entry;
  return absl::OkStatus();
}

absl::Status Fib::remove(wire::Ipv4Address prefix_address, uint8_t len,
                         std::optional<uint32_t> metric) {
  const uint32_t prefix = prefix_address.value();
  if (len > 32) {
    return absl::InvalidArgumentError(absl::StrCat("prefix length ", len, " > 32"));
  }
  if ((prefix & ~mask_of(len)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix_address.to_string(), "/", len, " has host bits set"));
  }
  const uint32_t head = find_prefix(prefix, len);
  const uint32_t id = head == kNone ? kNone : metric ? find_metric(head, *metric) : head;
  if (id == kNone) {
    return absl::NotFoundError(absl::StrCat("no route ", prefix_address.to_string(), "/", len,
                                            metric ? absl::StrCat(" metric ", *metric) : ""));
  }
  if (id == head) {
    const uint32_t next = links_[head].next;
    if (next != kNone) {
      index_swap(head, next);
      trie_swap(prefix, len, head, next);
    } else {
      trie_swap(prefix, len, head, find_cover(prefix, len));
      index_erase(head);
      --prefixes_per_length_[len];
    }
  } else {
    uint32_t prev = head;
    while (links_[prev].next != id) prev = links_[prev].next;
    links_[prev].next = links_[id].next;
  }
  release_nexthops(routes_[id]);
  routes_[id] = RouteEntry{};
  links_[id] = {0, free_route_};
  free_route_ = id;
  --size_;
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Trie updates

namespace {

// A node's leaves, one per position (kInternal where a child node is).
struct Expanded {
  std::array<uint32_t, 64> value;
};

void expand(uint64_t vector, uint64_t leafvec, const uint32_t* leaves, Expanded& out) {
  int run = -1;
  for (int pos = 0; pos < 64; ++pos) {
    if ((vector >> pos) & 1) {
      out.value[pos] = kInternal;
      continue;
    }
    if ((leafvec >> pos) & 1) ++run;
    out.value[pos] = leaves[run];
  }
}

// Runs of equal leaves, skipping child positions; returns the run count.
uint32_t compress(uint64_t vector, const Expanded& in, uint64_t& leafvec,
                  std::array<uint32_t, 64>& runs) {
  uint32_t n = 0;
  leafvec = 0;
  for (int pos = 0; pos < 64; ++pos) {
    if ((vector >> pos) & 1) continue;
    if (n == 0 || in.value[pos] != runs[n - 1]) {
      runs[n++] = in.value[pos];
      leafvec |= bit(pos);
    }
  }
  return n;
}

}  // namespace

uint32_t Fib::apply(const Patch& p, uint32_t leaf) const {
  if (p.add) return leaf == kNone || routes_[leaf].prefix_length < p.len ? p.to : leaf;
  return leaf == p.from ? p.to : leaf;
}

// Applies a value-only patch to every leaf of a node's runs, in place. Runs
// can only merge (a patch never tells apart two positions that held the same
// route), so the leaf block keeps its place and gives back any unused tail.
void Fib::rewrite_leaves(Node& node, const Patch& p) {
  const uint32_t runs = static_cast<uint32_t>(std::popcount(node.leafvec));
  if (runs == 0) return;
  uint32_t* leaf = &leaves_[node.base0];
  uint64_t starts = node.leafvec;
  uint64_t leafvec = 0;
  uint32_t out = 0;
  for (uint32_t r = 0; r < runs; ++r) {
    const int pos = std::countr_zero(starts);
    starts &= starts - 1;
    const uint32_t v = apply(p, leaf[r]);
    if (out == 0 || leaf[out - 1] != v) {
      leaf[out++] = v;
      leafvec |= bit(pos);
    }
  }
  node.leafvec = leafvec;
  if (order_of(out) < order_of(runs)) leaf_arena_.shrink(node.base0, order_of(runs), order_of(out));
}

// A node whose whole region lies inside the patched prefix.
void Fib::patch_subtree(uint32_t index, const Patch& p) {
  Node& node = nodes_[index];
  const int children = std::popcount(node.vector);
  for (int k = 0; k < children; ++k) patch_subtree(node.base1 + k, p);
  rewrite_leaves(node, p);
}

absl::Status Fib::trie_add(uint32_t prefix, uint8_t len, uint32_t route) {
  if (len == 0) {
    default_route_ = route;
    return absl::OkStatus();
  }
  const Patch p{len, true, kNone, route};
  const int s = direct_bits_;
  const uint32_t slot = prefix >> (32 - s);
  if (len <= s) {  // whole direct entries: rewrite in place, nothing to allocate
    const uint32_t end = slot + (uint32_t{1} << (s - len));
    for (uint32_t i = slot; i < end; ++i) {
      const uint32_t e = direct_[i];
      if (e & kNodeBit) {
        patch_subtree(e & ~kNodeBit, p);
      } else {
        direct_[i] = apply(p, e);
      }
    }
    return absl::OkStatus();
  }

  // The path from the direct entry to the boundary node, whose 6 bits hold the
  // end of the prefix (depth < len <= depth + 6). Levels past the existing trie
  // are created; they start out with the leaf they replace (`inherit`).
  struct Level {
    uint32_t node;  // index, or kNone when it is to be created
    int child;      // position of the next level (all but the boundary)
  };
  std::array<Level, 5> path{};
  int k = 0;
  int depth = s;
  const uint32_t entry = direct_[slot];
  bool exists = (entry & kNodeBit) != 0;
  uint32_t index = entry & ~kNodeBit;
  uint32_t inherit = exists ? kNone : entry;
  int first_new = exists ? -1 : 0;
  for (;;) {
    path[k].node = exists ? index : kNone;
    if (len <= depth + 6) break;
    const int c = child_index(prefix, depth);
    path[k].child = c;
    if (exists) {
      const Node& n = nodes_[index];
      if ((n.vector >> c) & 1) {
        index = n.base1 + rank_of(n.vector, c);
      } else {
        exists = false;
        inherit = leaves_[n.base0 + rank_of(n.leafvec, c)];
        first_new = k + 1;
      }
    }
    depth += 6;
    ++k;
  }
  const int c0 = child_index(prefix, depth);
  const int c1 = c0 + (1 << (depth + 6 - len));

  if (first_new < 0) {
    // The boundary node exists: its leaves in [c0, c1) take the route, and the
    // subtrees there are patched whole. Runs can grow by two.
    Node& b = nodes_[path[k].node];
    Expanded x;
    expand(b.vector, b.leafvec, &leaves_[b.base0], x);
    for (int c = c0; c < c1; ++c) {
      if (x.value[c] != kInternal) x.value[c] = apply(p, x.value[c]);
    }
    uint64_t leafvec;
    std::array<uint32_t, 64> runs;
    const uint32_t n = compress(b.vector, x, leafvec, runs);
    const uint32_t old = static_cast<uint32_t>(std::popcount(b.leafvec));
    uint32_t base = b.base0;
    const bool move = n > 0 && (old == 0 || order_of(n) > order_of(old));
    if (move) {
      base = leaf_arena_.alloc(order_of(n));
      if (base == fib_internal::BuddyAllocator::kFail) {
        return absl::ResourceExhaustedError("FIB trie leaf arena full (FibConfig::trie_leaves)");
      }
    }
    // Nothing below can fail.
    for (int c = c0; c < c1; ++c) {
      if ((b.vector >> c) & 1) patch_subtree(b.base1 + rank_of(b.vector, c), p);
    }
    if (move) {
      if (old > 0) leaf_arena_.free(b.base0, order_of(old));
    } else if (old > 0 && n == 0) {
      leaf_arena_.free(b.base0, order_of(old));
    } else if (old > 0 && order_of(n) < order_of(old)) {
      leaf_arena_.shrink(b.base0, order_of(old), order_of(n));
    }
    std::copy_n(runs.begin(), n, leaves_.begin() + base);
    b.leafvec = leafvec;
    b.base0 = base;
    return absl::OkStatus();
  }

  // Levels first_new..k are new. Reserve every block before changing anything:
  // a leaf block per new node, a one-child block per new node above the
  // boundary, and a place for the first new node — its own block under a
  // direct entry, or a grown child block in its parent.
  struct Block {
    bool leaves;
    uint32_t base;
    int order;
  };
  std::array<Block, 12> reserved{};
  int nreserved = 0;
  const auto reserve = [&](bool is_leaf, int order) {
    fib_internal::BuddyAllocator& arena = is_leaf ? leaf_arena_ : node_arena_;
    const uint32_t base = arena.alloc(order);
    if (base == fib_internal::BuddyAllocator::kFail) return false;
    reserved[nreserved++] = {is_leaf, base, order};
    return true;
  };

  // The boundary node's leaves: `inherit`, and the route over [c0, c1).
  Expanded bx;
  bx.value.fill(inherit);
  for (int c = c0; c < c1; ++c) bx.value[c] = route;
  uint64_t boundary_leafvec;
  std::array<uint32_t, 64> boundary_runs;
  const uint32_t boundary_n = compress(0, bx, boundary_leafvec, boundary_runs);

  // Parent of the first new level (if any): the child position turns into a
  // node, so its child block grows by one and its leaves lose a position.
  Node* parent = first_new > 0 ? &nodes_[path[first_new - 1].node] : nullptr;
  const int parent_child = first_new > 0 ? path[first_new - 1].child : 0;
  const uint32_t parent_kids = parent ? static_cast<uint32_t>(std::popcount(parent->vector)) : 0;
  const bool parent_move =
      parent != nullptr && (parent_kids == 0 || order_of(parent_kids + 1) > order_of(parent_kids));

  bool ok = true;
  for (int i = first_new; ok && i <= k; ++i) {
    ok = reserve(true, i == k ? order_of(boundary_n) : 0) && (i == k || reserve(false, 0));
  }
  if (ok && first_new == 0) ok = reserve(false, 0);
  if (ok && parent_move) ok = reserve(false, order_of(parent_kids + 1));
  if (!ok) {
    for (int i = 0; i < nreserved; ++i) {
      (reserved[i].leaves ? leaf_arena_ : node_arena_).free(reserved[i].base, reserved[i].order);
    }
    return absl::ResourceExhaustedError(
        "FIB trie arena full (FibConfig::trie_nodes / trie_leaves)");
  }

  // Commit, bottom-up: build the new chain, then hang it in place.
  // `reserved` holds, for each new level, its leaf block and (above the
  // boundary) its child block; then the direct entry's node block or the
  // parent's grown child block.
  std::array<uint32_t, 5> leaf_base{}, child_base{};
  int r = 0;
  for (int i = first_new; i <= k; ++i) {
    leaf_base[i] = reserved[r++].base;
    if (i < k) child_base[i] = reserved[r++].base;
  }
  Node below;
  for (int i = k; i >= first_new; --i) {
    Node n;
    n.base0 = leaf_base[i];
    if (i == k) {
      n.leafvec = boundary_leafvec;
      std::copy_n(boundary_runs.begin(), boundary_n, leaves_.begin() + n.base0);
    } else {
      const int c = path[i].child;
      n.vector = bit(c);
      n.leafvec = bit(c == 0 ? 1 : 0);
      leaves_[n.base0] = inherit;
      n.base1 = child_base[i];
      nodes_[n.base1] = below;
    }
    below = n;
  }
  if (first_new == 0) {
    const uint32_t own = reserved[r++].base;
    nodes_[own] = below;
    direct_[slot] = kNodeBit | own;
    return absl::OkStatus();
  }
  // Insert into the parent: child block with the new node at its rank, and
  // the position removed from the leaf runs (which only shrinks them).
  const uint64_t vector = parent->vector | bit(parent_child);
  const int at = rank_of(vector, parent_child);
  if (parent_move) {
    const uint32_t base = reserved[r++].base;
    for (int j = 0; j < at; ++j) nodes_[base + j] = nodes_[parent->base1 + j];
    nodes_[base + at] = below;
    for (uint32_t j = at; j < parent_kids; ++j) nodes_[base + j + 1] = nodes_[parent->base1 + j];
    if (parent_kids > 0) node_arena_.free(parent->base1, order_of(parent_kids));
    parent->base1 = base;
  } else {
    for (uint32_t j = parent_kids; j > static_cast<uint32_t>(at); --j) {
      nodes_[parent->base1 + j] = nodes_[parent->base1 + j - 1];
    }
    nodes_[parent->base1 + at] = below;
  }
  Expanded px;
  expand(parent->vector, parent->leafvec, &leaves_[parent->base0], px);
  px.value[parent_child] = kInternal;
  uint64_t leafvec;
  std::array<uint32_t, 64> runs;
  const uint32_t n = compress(vector, px, leafvec, runs);
  const uint32_t old = static_cast<uint32_t>(std::popcount(parent->leafvec));
  std::copy_n(runs.begin(), n, leaves_.begin() + parent->base0);
  if (n == 0) {
    leaf_arena_.free(parent->base0, order_of(old));
  } else if (order_of(n) < order_of(old)) {
    leaf_arena_.shrink(parent->base0, order_of(old), order_of(n));
  }
  parent->vector = vector;
  parent->leafvec = leafvec;
  return absl::OkStatus();
}

// Removes a uniform child (no children, one run) of `parent`, turning its
// position back into a leaf. Gives up (leaving a correct, uniform node) only if
// the parent's leaf runs grow and the leaf arena has no block for them.
bool Fib::try_collapse(uint32_t parent_index, int c) {
  Node& x = nodes_[parent_index];
  const uint32_t kids = static_cast<uint32_t>(std::popcount(x.vector));
  const int at = rank_of(x.vector, c);
  const uint32_t ci = x.base1 + at;
  const uint32_t v = leaves_[nodes_[ci].base0];

  Expanded px;
  expand(x.vector, x.leafvec, &leaves_[x.base0], px);
  px.value[c] = v;
  const uint64_t vector = x.vector & ~bit(c);
  uint64_t leafvec;
  std::array<uint32_t, 64> runs;
  const uint32_t n = compress(vector, px, leafvec, runs);
  const uint32_t old = static_cast<uint32_t>(std::popcount(x.leafvec));
  uint32_t base = x.base0;
  if (old == 0 || order_of(n) > order_of(old)) {
    base = leaf_arena_.alloc(order_of(n));
    if (base == fib_internal::BuddyAllocator::kFail) return false;
    if (old > 0) leaf_arena_.free(x.base0, order_of(old));
  } else if (order_of(n) < order_of(old)) {
    leaf_arena_.shrink(base, order_of(old), order_of(n));
  }
  std::copy_n(runs.begin(), n, leaves_.begin() + base);

  leaf_arena_.free(nodes_[ci].base0, 0);
  for (uint32_t j = at; j + 1 < kids; ++j) nodes_[x.base1 + j] = nodes_[x.base1 + j + 1];
  if (kids == 1) {
    node_arena_.free(x.base1, 0);
  } else if (order_of(kids - 1) < order_of(kids)) {
    node_arena_.shrink(x.base1, order_of(kids), order_of(kids - 1));
  }
  x.vector = vector;
  x.leafvec = leafvec;
  x.base0 = base;
  return true;
}

void Fib::trie_swap(uint32_t prefix, uint8_t len, uint32_t from, uint32_t to) {
  if (len == 0) {
    default_route_ = to;
    return;
  }
  const Patch p{len, false, from, to};
  const int s = direct_bits_;
  const uint32_t slot = prefix >> (32 - s);
  if (len <= s) {
    // Whole direct entries. Nodes under them stay: each holds a longer route.
    const uint32_t end = slot + (uint32_t{1} << (s - len));
    for (uint32_t i = slot; i < end; ++i) {
      const uint32_t e = direct_[i];
      if (e & kNodeBit) {
        patch_subtree(e & ~kNodeBit, p);
      } else {
        direct_[i] = apply(p, e);
      }
    }
    return;
  }
  // The route's leaves sit in the boundary node (and in subtrees under it);
  // the nodes on the way there exist because the route does.
  std::array<uint32_t, 5> path{};
  std::array<int, 5> child{};
  int k = 0;
  int depth = s;
  const uint32_t entry = direct_[slot];
  assert(entry & kNodeBit);
  if (!(entry & kNodeBit)) return;
  uint32_t index = entry & ~kNodeBit;
  for (;;) {
    path[k] = index;
    if (len <= depth + 6) break;
    const int c = child_index(prefix, depth);
    child[k] = c;
    const Node& n = nodes_[index];
    assert((n.vector >> c) & 1);
    if (!((n.vector >> c) & 1)) return;
    index = n.base1 + rank_of(n.vector, c);
    depth += 6;
    ++k;
  }
  Node& b = nodes_[path[k]];
  const int c0 = child_index(prefix, depth);
  const int c1 = c0 + (1 << (depth + 6 - len));
  for (int c = c0; c < c1; ++c) {
    if ((b.vector >> c) & 1) patch_subtree(b.base1 + rank_of(b.vector, c), p);
  }
  rewrite_leaves(b, p);  // `from` only occurs in [c0, c1)

  // Removing the last longer route below a node leaves it uniform: fold it
  // back into its parent, level by level.
  for (int i = k; i >= 0; --i) {
    const Node& n = nodes_[path[i]];
    if (n.vector != 0 || std::popcount(n.leafvec) != 1) return;
    if (i == 0) {
      direct_[slot] = leaves_[n.base0];
      leaf_arena_.free(n.base0, 0);
      node_arena_.free(path[0], 0);
      return;
    }
    if (!try_collapse(path[i - 1], child[i - 1])) return;
  }
}

}  // namespace inlet::ip

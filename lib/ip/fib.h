// Fib: the IPv4 forwarding table — longest-prefix match that stays fast at a
// million routes, with route types, metrics and weighted ECMP. Owns the routes,
// their shared ECMP next-hop groups and the lookup trie, all in arrays sized at
// construction; lookup() allocates nothing and takes no lock.
//
// Structure (a poptrie, Asai & Ohara, SIGCOMM 2015):
//   - a direct-pointing array indexed by the top `direct_bits` of the
//     destination (18 bits above 65536 routes of capacity, else 12); an entry is
//     a leaf (a route index) or a trie node;
//   - 6-bit-stride nodes of 24 bytes: `vector` (which of the 64 children are
//     nodes) and `leafvec` (where a run of equal leaves starts), children and
//     leaves in contiguous blocks found by popcount. Equal neighbouring leaves
//     are stored once, so a /24 costs a few bytes, not the 256 entries of a
//     DIR-24-8 table;
//   - a lookup is one direct load, then one node per 6 bits until a leaf, then
//     the route (a /24 in an 18-bit table: direct → node → leaf → route);
//     lookup_batch() walks 16 destinations side by side to overlap cache misses;
//   - the best /0 route is kept outside the trie (a leaf "none" falls back to
//     it), so changing the default route costs O(1).
// A node exists only where a longer route lies below it (kept so on removal by
// folding uniform nodes back into a leaf), so memory follows the routes. Node
// and leaf blocks (1–64 entries) come from two buddy allocators over arrays
// allocated in the constructor (2 MiB-aligned, MADV_HUGEPAGE on Linux).
//
// Memory — all allocated by the constructor (memory_bytes()); per route of
// capacity: route 16 B + prefix/link 8 B + prefix index 6 B + ECMP share ~2 B
// + trie arenas:
//   18 bits: 0.5 node + 3.5 leaves = 27 B  → ≈ 59 B/route + 6 MiB fixed;
//            max_routes = 1 M: 62 MiB;
//   12 bits: 2 nodes + 5 leaves = 70 B     → ≈ 101 B/route + 0.2 MiB fixed;
//            max_routes = 1 k: 0.3 MiB, 65536: 6.5 MiB.
// In use for a random BGP-like 1 M table (58 % /24, bench/fib.cc): trie 18 B
// per route (0.26 nodes, 2.7 leaves; 17 MiB with the direct array), so the
// arenas have 1.5–2.5x headroom; sparse 1 k–64 k tables use 1.2–1.8 nodes and
// 3.7–4.6 leaves per route. A table of mostly /25–/32 routes scattered over
// distinct /24s needs up to three nodes per route and can fill the arenas
// before max_routes: add() then returns ResourceExhausted (raise
// FibConfig::trie_nodes / trie_leaves).
//
// Updates are incremental: an add/replace/remove rewrites the leaves under the
// prefix's span (direct entries and the nodes below them) and the nodes on its
// path — never the whole table. At 1 M routes: a /24 ≈ 2 µs, a /8 ≈ 0.4 ms,
// a /1 ≈ 35 ms (half the table), the default route O(1). The table answers
// correctly after every single change, so route changes simply run between
// polls on the context's thread. add() reserves every block it needs before
// touching anything (an error leaves the table as it was); remove() never
// needs memory it cannot get (at worst a uniform node stays, still correct).
//
// A multi-threaded embedder (readers on other threads) either applies the same
// change stream to one Fib per context between that context's polls (the
// shard model: nothing shared), or builds a fresh Fib off the data path and
// publishes it by swapping an atomic pointer between polls, freeing the old one
// once every reader has passed a poll boundary (an RCU-style grace period).
// This class itself is not thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "core/alloc.h"
#include "core/features.h"
#include "wire/bytes.h"

namespace inlet::ip {

// As ip-route(8): unicast (via a gateway or directly connected), local (ours),
// blackhole (silently dropped), unreachable and prohibit (dropped with ICMP
// host unreachable / administratively prohibited).
enum class RouteType : uint8_t { kUnicast, kLocal, kBlackhole, kUnreachable, kProhibit };
// "unicast", "local", … as ip-route prints.
constexpr std::string_view route_type_name(RouteType type) {
  switch (type) {
    case RouteType::kUnicast: return "unicast";
    case RouteType::kLocal: return "local";
    case RouteType::kBlackhole: return "blackhole";
    case RouteType::kUnreachable: return "unreachable";
    case RouteType::kProhibit: return "prohibit";
  }
  return "unknown";
}

// The ECMP flow-hash mix (murmur3's finaliser). Both FIB builds (poptrie and
// linear) pick a group member from it, so a flow takes the same next hop in
// either build.
constexpr uint32_t fib_mix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return h;
}

struct FibNextHop {
  uint16_t ifindex = 0;
  wire::Ipv4Address gateway;  // 0.0.0.0 = directly connected
  uint8_t weight = 1;         // ECMP share, 1..255
};

struct FibRoute {
  wire::Ipv4Address prefix;
  uint8_t prefix_length = 0;
  RouteType type = RouteType::kUnicast;
  uint32_t metric = 0;  // lower wins among routes with the same prefix
  std::array<FibNextHop, 8> nexthops{};
  uint8_t nexthop_count = 1;  // >1 = ECMP (kUnicast only)
};

struct FibConfig {
  uint32_t max_routes = 65536;    // capacity allocated at construction
  // Distinct ECMP next-hop sets (routes with the same set share one); 0 =
  // max_routes / 64, at least 16 and at most 16384.
  uint32_t max_ecmp_groups = 0;
  // Trie arenas in nodes (24 B) and leaves (4 B); 0 = derived from max_routes
  // for a realistic mix (see above). Raise for tables of mostly /25–/32 routes.
  uint32_t trie_nodes = 0;
  uint32_t trie_leaves = 0;
  // Bits resolved by the direct-pointing array (4 bytes per entry), 8..20;
  // 0 = 18 when max_routes exceeds 65536, else 12. Multiples of 6 from 12 put
  // /24s at a node boundary.
  uint8_t direct_bits = 0;
};

struct FibResult {
  RouteType type;
  uint16_t ifindex;
  wire::Ipv4Address next_hop;  // the gateway, or dst itself when directly connected
  uint8_t prefix_length;
  uint32_t metric;
};

// What the preallocated arenas hold right now (for benchmarks and `ip route`-style
// summaries); capacities are fixed at construction.
struct FibUsage {
  size_t trie_nodes = 0, trie_nodes_capacity = 0;
  size_t trie_leaves = 0, trie_leaves_capacity = 0;
  size_t ecmp_groups = 0, ecmp_groups_capacity = 0;
};

namespace fib_internal {

// 6-bit-stride trie node (poptrie): bit i of `vector` says child i is a node,
// found at nodes[base1 + (set bits of vector up to i) - 1]; otherwise its leaf
// is leaves[base0 + (set bits of leafvec up to i) - 1].
struct TrieNode {
  uint64_t vector = 0;
  uint64_t leafvec = 0;
  uint32_t base0 = 0;
  uint32_t base1 = 0;
};

// A buddy allocator of index ranges [0, slots): blocks of 1, 2, 4 … 64 slots
// (orders 0..6), free blocks tracked in one bitmap per order with a summary
// word per 64 bitmap words. Allocation takes the lowest free block; freeing
// merges buddies. Never allocates after init().
class BuddyAllocator {
 public:
  static constexpr int kMaxOrder = 6;
  static constexpr uint32_t kFail = 0xFFFFFFFFu;

  void init(uint32_t slots);  // rounds slots up to a multiple of 64
  uint32_t alloc(int order);  // first slot of the block, or kFail
  void free(uint32_t base, int order);
  // Keeps the first 2^new_order slots of a block, frees the rest.
  void shrink(uint32_t base, int old_order, int new_order);
  size_t slots() const { return slots_; }
  size_t used() const { return used_; }
  size_t memory_bytes() const;

 private:
  void set(int order, uint32_t block);
  void clear(int order, uint32_t block);
  bool test(int order, uint32_t block) const;
  uint32_t find(int order);

  uint32_t slots_ = 0;
  size_t used_ = 0;
  std::array<Vector<uint64_t>, kMaxOrder + 1> bits_;
  std::array<Vector<uint64_t>, kMaxOrder + 1> summary_;
  std::array<uint32_t, kMaxOrder + 1> free_blocks_{};
  std::array<uint32_t, kMaxOrder + 1> hint_{};  // no summary word below it is non-zero
};

// Allocates the lookup arrays through the allocator hook (core/alloc.h);
// arrays of 2 MiB and more are asked for 2 MiB-aligned and, on Linux, marked
// for transparent huge pages (MADV_HUGEPAGE) before they are first touched,
// so a million-route table costs few TLB misses.
template <class T>
struct LookupAllocator {
  using value_type = T;
  using propagate_on_container_copy_assignment = std::true_type;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;
  using is_always_equal = std::false_type;
  LookupAllocator() : allocator(&current_allocator()) {}
  template <class U>
  LookupAllocator(const LookupAllocator<U>& other) : allocator(other.allocator) {}
  T* allocate(size_t n);
  void deallocate(T* p, size_t n);
  template <class U>
  bool operator==(const LookupAllocator<U>& other) const {
    return allocator == other.allocator;
  }
  const Allocator* allocator;
};

template <class T>
using LookupArray = std::vector<T, LookupAllocator<T>>;

}  // namespace fib_internal

class Fib {
 public:
  explicit Fib(const FibConfig& config);
  Fib(const Fib&) = delete;
  Fib& operator=(const Fib&) = delete;

  // AlreadyExists for the same prefix+len+metric; InvalidArgument for host bits
  // set, len > 32, ECMP on a non-unicast route, 0 or more than 8 next hops, a
  // weight of 0; ResourceExhausted when max_routes, the ECMP groups or the trie
  // arenas are full (never grows; the table is unchanged on any error).
  absl::Status add(const FibRoute& route);
  // Adds, or overwrites the route with the same prefix+len+metric in place.
  absl::Status replace(const FibRoute& route);
  // Removes the route with that metric, or without one the best (lowest
  // metric) route of the prefix. NotFound when there is none. Never runs out
  // of memory.
  absl::Status remove(wire::Ipv4Address prefix, uint8_t len,
                      std::optional<uint32_t> metric = std::nullopt);

  // Longest prefix match; among equal prefixes the lowest metric; ECMP picks a
  // next hop by flow_hash (weighted, stable for a given hash). nullopt when
  // nothing matches. No allocation, no branch on table size.
  std::optional<FibResult> lookup(wire::Ipv4Address dst, uint32_t flow_hash = 0) const;
  // lookup() for a burst: out[i] = lookup(dst[i], flow_hash[i]) for i below
  // min(dst.size(), out.size()); a missing flow_hash[i] counts as 0. Walks 16
  // destinations side by side so their cache misses overlap: the faster call
  // once the table outgrows the caches.
  void lookup_batch(std::span<const wire::Ipv4Address> dst, std::span<const uint32_t> flow_hash,
                    std::span<std::optional<FibResult>> out) const;

  size_t size() const { return size_; }
  size_t capacity() const { return routes_.size(); }
  size_t memory_bytes() const;  // everything allocated at construction
  FibUsage usage() const;
  uint8_t direct_bits() const { return direct_bits_; }
  // Every route, grouped by prefix, best metric first (prefix order unspecified).
  void for_each(absl::FunctionRef<void(const FibRoute&)> fn) const;

 private:
#if INLET_WITH_FIB_POPTRIE
  static constexpr uint32_t kNone = 0x7FFFFFFFu;     // leaf value: no route
  static constexpr uint32_t kNodeBit = 0x80000000u;  // direct entry is a node

  using Node = fib_internal::TrieNode;
  // What lookup reads of a route: 16 bytes.
  struct RouteEntry {
    uint32_t metric = 0;
    uint32_t gateway = 0;  // or the ECMP group index when nexthop_count > 1
    uint16_t ifindex = 0;
    uint8_t prefix_length = 0;
    RouteType type = RouteType::kUnicast;
    uint8_t nexthop_count = 0;  // 0 = free slot
    uint8_t weight = 0;
    uint16_t reserved = 0;
  };
  // The control plane's half: the prefix and the next route of the same
  // prefix (ascending metric), or the next free slot.
  struct RouteLink {
    uint32_t prefix = 0;
    uint32_t next = kNone;
  };
  struct PackedNextHop {
    uint32_t gateway = 0;
    uint16_t ifindex = 0;
    uint8_t weight = 0;
    uint8_t reserved = 0;
    bool operator==(const PackedNextHop&) const = default;
  };
  struct EcmpGroup {
    std::array<PackedNextHop, 8> nexthops{};
    std::array<uint16_t, 8> upper{};  // cumulative weights
    uint32_t refs = 0;                // 0 = free (next free in `hash`)
    uint32_t hash = 0;
    uint8_t count = 0;
  };
  // A leaf rewrite over a prefix's span: add (a leaf whose route is shorter
  // than `len`, or none, becomes `to`) or swap (`from` becomes `to`).
  struct Patch {
    uint8_t len;
    bool add;
    uint32_t from;
    uint32_t to;
  };


  FibResult result(uint32_t leaf, uint32_t addr, uint32_t flow_hash) const;

  // Control plane.
  absl::Status validate(const FibRoute& route) const;
  uint32_t find_prefix(uint32_t prefix, uint8_t len) const;  // best route or kNone
  uint32_t find_metric(uint32_t head, uint32_t metric) const;
  uint32_t find_cover(uint32_t prefix, uint8_t len) const;  // best shorter covering route
  size_t index_home(uint32_t prefix, uint8_t len) const;
  void index_insert(uint32_t route);
  void index_erase(uint32_t route);
  void index_swap(uint32_t old_route, uint32_t new_route);
  absl::Status store_nexthops(const FibRoute& route, RouteEntry& entry);
  void release_nexthops(const RouteEntry& entry);
  uint32_t intern_group(const EcmpGroup& group);
  FibRoute to_route(uint32_t index) const;

  // Trie.
  uint32_t apply(const Patch& p, uint32_t leaf) const;
  absl::Status trie_add(uint32_t prefix, uint8_t len, uint32_t route);
  void trie_swap(uint32_t prefix, uint8_t len, uint32_t from, uint32_t to);
  void patch_subtree(uint32_t node, const Patch& p);
  void rewrite_leaves(Node& node, const Patch& p);
  bool try_collapse(uint32_t parent, int child);

  // The best /0 route, kept out of the trie: a leaf of kNone means "no route
  // of /1 or longer", so adding or removing a default route costs O(1) instead
  // of rewriting every leaf of the table.
  uint32_t default_route_ = kNone;
  uint8_t direct_bits_;
  bool hw_popcount_ = false;  // the CPU has POPCNT (x86-64 builds without -mpopcnt)
  fib_internal::LookupArray<uint32_t> direct_;
  fib_internal::LookupArray<Node> nodes_;
  fib_internal::LookupArray<uint32_t> leaves_;
  fib_internal::BuddyAllocator node_arena_;
  fib_internal::BuddyAllocator leaf_arena_;

  fib_internal::LookupArray<RouteEntry> routes_;
  Vector<RouteLink> links_;
  uint32_t free_route_ = kNone;
  size_t size_ = 0;
  Vector<uint32_t> index_;                    // open addressing: best route of each prefix
  std::array<uint32_t, 33> prefixes_per_length_{};  // distinct prefixes of each length

  Vector<EcmpGroup> groups_;
  Vector<uint32_t> group_index_;  // open addressing over groups_ by content hash
  uint32_t free_group_ = kNone;
  size_t groups_used_ = 0;
#else
  // INLET_WITH_FIB_POPTRIE=0 (lib/ip/fib_linear.cc): the routes in one array
  // allocated at construction, [0, size_) in use; a lookup scans them all
  // (longest prefix, then lowest metric). For a handful of routes.
  absl::Status validate(const FibRoute& route) const;
  size_t find(uint32_t prefix, uint8_t len, uint32_t metric) const;  // index or size_
  uint8_t direct_bits_ = 0;
  size_t size_ = 0;
  Vector<FibRoute> routes_;
#endif

};

}  // namespace inlet::ip

// FIB benchmark: longest-prefix-match lookups per second per core with 1 k and
// 1 M random routes (a BGP-like prefix-length mix: mostly /24, /16–/23, some
// /8–/15 and /25–/32), for destinations spread over every route, uniformly
// random addresses, and a small hot set (locality); the 1 M / 1 k ratio; the
// memory allocated and used; the 1 M table's build time; incremental update
// cost at 1 M; heap allocations per lookup (must be 0). Medians of 5 runs; the
// machine is shared, compare ratios. `--quick`: fewer and shorter runs. Ends
// with `spread NAME MIN MAX` and `figure NAME VALUE UNIT` lines.
#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "alloc_counter.h"
#include "ip/fib.h"

namespace {

using inlet::ip::Fib;
using inlet::ip::FibRoute;
using inlet::wire::Ipv4Address;

int run_count = 5;                  // fewer with --quick
size_t lookups_per_run = 2'000'000;  // fewer with --quick

// Lookups are timed in this thread's CPU time: on a shared machine, wall time
// also counts the time other processes ran.
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

uint32_t mask_of(int len) { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }

// Prefix lengths roughly as in today's IPv4 DFZ table.
uint8_t random_length(std::mt19937& rng) {
  const uint32_t p = rng() % 1000;
  if (p < 580) return 24;
  if (p < 700) return 23;
  if (p < 790) return 22;
  if (p < 850) return 21;
  if (p < 890) return 20;
  if (p < 950) return static_cast<uint8_t>(16 + rng() % 4);
  if (p < 975) return static_cast<uint8_t>(8 + rng() % 8);
  if (p < 990) return static_cast<uint8_t>(25 + rng() % 4);
  return static_cast<uint8_t>(29 + rng() % 4);
}

std::vector<FibRoute> random_routes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<FibRoute> routes;
  routes.reserve(n);
  while (routes.size() < n) {
    FibRoute r;
    r.prefix_length = random_length(rng);
    // Unicast space 1.0.0.0 – 223.255.255.255.
    const uint32_t addr = 0x01000000u + static_cast<uint32_t>(rng() % (0xE0000000u - 0x01000000u));
    r.prefix = Ipv4Address(addr & mask_of(r.prefix_length));
    r.nexthops[0] = {static_cast<uint16_t>(1 + rng() % 16),
                     Ipv4Address(0xC0000200u + static_cast<uint32_t>(rng() % 250)), 1};
    routes.push_back(r);
  }
  return routes;
}

struct Table {
  std::unique_ptr<Fib> fib;
  std::vector<FibRoute> routes;  // as added (duplicates refused)
  double build_seconds = 0;
};

Table build(size_t n, uint32_t seed) {
  Table t;
  t.fib = std::make_unique<Fib>(inlet::ip::FibConfig{.max_routes = static_cast<uint32_t>(n)});
  const std::vector<FibRoute> candidates = random_routes(n, seed);
  const double t0 = cpu_seconds();
  for (const FibRoute& r : candidates) {
    if (t.fib->add(r).ok()) t.routes.push_back(r);
  }
  t.build_seconds = cpu_seconds() - t0;
  return t;
}

// Destinations: inside a random route each (every lookup walks to a real
// route), uniform over the whole space, or a hot set of 256 flows.
std::vector<uint32_t> spread(const Table& t, std::mt19937& rng) {
  std::vector<uint32_t> d(lookups_per_run);
  for (uint32_t& a : d) {
    const FibRoute& r = t.routes[rng() % t.routes.size()];
    a = r.prefix.value() | (static_cast<uint32_t>(rng()) & ~mask_of(r.prefix_length));
  }
  return d;
}
std::vector<uint32_t> uniform(std::mt19937& rng) {
  std::vector<uint32_t> d(lookups_per_run);
  for (uint32_t& a : d) a = static_cast<uint32_t>(rng());
  return d;
}
std::vector<uint32_t> hot(const Table& t, std::mt19937& rng) {
  std::vector<uint32_t> flows = spread(t, rng);
  flows.resize(256);
  std::vector<uint32_t> d(lookups_per_run);
  for (uint32_t& a : d) a = flows[rng() % flows.size()];
  return d;
}

struct Result {
  double ns;
  double allocs;
};

Result run(const Fib& fib, const std::vector<uint32_t>& dst) {
  uint64_t sink = 0;
  const uint64_t a0 = inlet::bench::allocations();
  const double t0 = cpu_seconds();
  for (size_t i = 0; i < dst.size(); ++i) {
    const auto r = fib.lookup(Ipv4Address(dst[i]), static_cast<uint32_t>(i));
    sink += r ? r->next_hop.value() + r->ifindex : 1;
  }
  const double s = cpu_seconds() - t0;
  const uint64_t a1 = inlet::bench::allocations();
  if (sink == 42) std::printf(" ");  // keep the loop
  return {s * 1e9 / static_cast<double>(dst.size()),
          static_cast<double>(a1 - a0) / static_cast<double>(dst.size())};
}

// The same through lookup_batch(), in bursts of 32 as a poll hands them over.
Result run_batch(const Fib& fib, const std::vector<uint32_t>& dst) {
  constexpr size_t kBurst = 32;
  std::array<Ipv4Address, kBurst> burst;
  std::array<uint32_t, kBurst> hash;
  std::array<std::optional<inlet::ip::FibResult>, kBurst> out;
  uint64_t sink = 0;
  const uint64_t a0 = inlet::bench::allocations();
  const double t0 = cpu_seconds();
  for (size_t i = 0; i + kBurst <= dst.size(); i += kBurst) {
    for (size_t j = 0; j < kBurst; ++j) {
      burst[j] = Ipv4Address(dst[i + j]);
      hash[j] = static_cast<uint32_t>(i + j);
    }
    fib.lookup_batch(burst, hash, out);
    for (const auto& r : out) sink += r ? r->next_hop.value() + r->ifindex : 1;
  }
  const double s = cpu_seconds() - t0;
  const uint64_t a1 = inlet::bench::allocations();
  if (sink == 42) std::printf(" ");
  return {s * 1e9 / static_cast<double>(dst.size()),
          static_cast<double>(a1 - a0) / static_cast<double>(dst.size())};
}

struct Summary {
  double median_ns, min_ns, max_ns, allocs;
};
double g_max_allocs_per_lookup = 0;

Summary report(const char* table, const char* traffic, const Fib& fib, const std::vector<uint32_t>& dst,
               bool batch = false) {
  std::vector<double> ns;
  double allocs = 0;
  const auto once = [&] { return batch ? run_batch(fib, dst) : run(fib, dst); };
  once();  // warm-up
  for (int i = 0; i < run_count; ++i) {
    const Result r = once();
    ns.push_back(r.ns);
    allocs = std::max(allocs, r.allocs);
  }
  g_max_allocs_per_lookup = std::max(g_max_allocs_per_lookup, allocs);
  const Summary s{median(ns), *std::min_element(ns.begin(), ns.end()), *std::max_element(ns.begin(), ns.end()),
                  allocs};
  std::printf("  %-6s %-34s %7.1f ns/lookup %7.2f M lookups/s  allocs/lookup=%.4f  (min %.1f max %.1f)\n",
              table, traffic, s.median_ns, 1e3 / s.median_ns, allocs, s.min_ns, s.max_ns);
  return s;
}

void ns_figure(const char* name, const Summary& s) {
  std::printf("spread %s %.2f %.2f\nfigure %s %.2f ns\n", name, s.min_ns, s.max_ns, name, s.median_ns);
}

void describe(const char* name, const Table& t) {
  const inlet::ip::FibUsage u = t.fib->usage();
  const double used = static_cast<double>(u.trie_nodes * 24 + u.trie_leaves * 4 +
                                          (size_t{1} << t.fib->direct_bits()) * 4);
  std::printf(
      "  %-6s %zu routes, direct %u bits, allocated %.1f MiB (%.0f B/route), trie in use %.1f MiB "
      "(%.1f B/route: %zu/%zu nodes, %zu/%zu leaves), build %.3f s (%.2f us/route)\n",
      name, t.fib->size(), t.fib->direct_bits(), static_cast<double>(t.fib->memory_bytes()) / (1 << 20),
      static_cast<double>(t.fib->memory_bytes()) / static_cast<double>(t.fib->size()),
      used / (1 << 20), used / static_cast<double>(t.fib->size()), u.trie_nodes,
      u.trie_nodes_capacity, u.trie_leaves, u.trie_leaves_capacity, t.build_seconds,
      t.build_seconds * 1e6 / static_cast<double>(t.fib->size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--quick") {
    run_count = 3;
    lookups_per_run = 500'000;
  }
  std::printf("inlet FIB benchmark: %zu lookups x %d runs, medians, one core\n", lookups_per_run, run_count);
  Table small = build(1000, 1);
  Table large = build(1'000'000, 2);
  describe("1k", small);
  describe("1M", large);

  std::mt19937 rng(3);
  const auto small_spread = spread(small, rng);
  const auto large_spread = spread(large, rng);
  const auto all_uniform = uniform(rng);
  const auto small_hot = hot(small, rng);
  const auto large_hot = hot(large, rng);

  const Summary s1 = report("1k", "dst inside a random route", *small.fib, small_spread);
  const Summary l1 = report("1M", "dst inside a random route", *large.fib, large_spread);
  const double s2 = report("1k", "dst uniform over 0/0", *small.fib, all_uniform).median_ns;
  const double l2 = report("1M", "dst uniform over 0/0", *large.fib, all_uniform).median_ns;
  const double s3 = report("1k", "locality: 256 hot flows", *small.fib, small_hot).median_ns;
  const double l3 = report("1M", "locality: 256 hot flows", *large.fib, large_hot).median_ns;
  std::printf("  ratio 1M/1k (time per lookup): inside routes x%.2f, uniform x%.2f, hot x%.2f\n",
              l1.median_ns / s1.median_ns, l2 / s2, l3 / s3);
  const double sb = report("1k", "batch of 32, dst inside a route", *small.fib, small_spread, true).median_ns;
  const Summary lbs = report("1M", "batch of 32, dst inside a route", *large.fib, large_spread, true);
  const double lb = lbs.median_ns;
  report("1M", "batch of 32, dst uniform", *large.fib, all_uniform, true);
  report("1M", "batch of 32, 256 hot flows", *large.fib, large_hot, true);
  std::printf("  ratio 1M/1k batched, inside routes: x%.2f; batching speeds 1M up x%.2f\n", lb / sb,
              l1.median_ns / lb);

  // Incremental updates on the full table: remove and re-add random routes
  // (the table answers correctly after each one; see tests/unit/fib_test.cc).
  constexpr int kUpdates = 20000;
  std::vector<double> update_us;
  for (int r = 0; r < 3; ++r) {
    std::vector<const FibRoute*> picks;
    for (int i = 0; i < kUpdates; ++i) picks.push_back(&large.routes[rng() % large.routes.size()]);
    const uint64_t a0 = inlet::bench::allocations();
    const double t0 = cpu_seconds();
    int failures = 0;
    for (const FibRoute* p : picks) {
      failures += !large.fib->remove(p->prefix, p->prefix_length, p->metric).ok();
      failures += !large.fib->add(*p).ok();
    }
    const double us = (cpu_seconds() - t0) * 1e6 / (2.0 * kUpdates);
    const uint64_t allocations = inlet::bench::allocations() - a0;
    update_us.push_back(us);
    if (failures != 0 || allocations != 0) {
      std::printf("  update run: %d failures, %llu allocations\n", failures,
                  static_cast<unsigned long long>(allocations));
    }
  }
  std::printf("  1M     incremental remove/add of a random route: %.2f us per change (median of 3 x %d)\n",
              median(update_us), 2 * kUpdates);
  // Wide changes: a /1 spans half the table and rewrites every subtree below
  // it; the default route is kept out of the trie and costs O(1).
  for (const auto& [text, len] :
       {std::pair{"0.0.0.0", 0}, std::pair{"128.0.0.0", 1}, std::pair{"10.0.0.0", 8},
        std::pair{"10.0.0.0", 16}}) {
    FibRoute wide;
    wide.prefix = *Ipv4Address::parse(text);
    wide.prefix_length = static_cast<uint8_t>(len);
    while (large.fib->remove(wide.prefix, wide.prefix_length).ok()) {
      // make it a new prefix, whose leaves must all be rewritten
    }
    const double t0 = cpu_seconds();
    const bool added = large.fib->add(wide).ok();
    const double t1 = cpu_seconds();
    const bool removed = large.fib->remove(wide.prefix, wide.prefix_length, wide.metric).ok();
    const double t2 = cpu_seconds();
    std::printf("  1M     add a /%d: %.1f us, remove it: %.1f us%s\n", len, (t1 - t0) * 1e6,
                (t2 - t1) * 1e6, added && removed ? "" : " (failed)");
  }
  describe("1M", large);
  ns_figure("fib_1k_lookup_ns", s1);
  ns_figure("fib_1m_lookup_ns", l1);
  ns_figure("fib_1m_batch_lookup_ns", lbs);
  std::printf("figure allocs_per_packet_fib %.4f allocs\n", g_max_allocs_per_lookup);
  return 0;
}

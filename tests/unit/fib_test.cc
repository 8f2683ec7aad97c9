// Fib: longest-prefix match (RFC 1812 5.2.4.3: the most specific route wins;
// among equal prefixes the lowest metric), route types, weighted ECMP and
// incremental changes — checked against a naive reference (a vector scanned
// linearly) on random route sets, after every single add and remove.
#include "core/features.h"
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <tuple>
#include <vector>

#include "ip/fib.h"

namespace inlet::ip {
namespace {

using wire::Ipv4Address;

Ipv4Address A(const char* s) { return *Ipv4Address::parse(s); }
uint32_t mask_of(int len) { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }

FibRoute R(const char* prefix, uint8_t len, const char* gateway = "0.0.0.0", uint16_t ifindex = 1,
           uint32_t metric = 0, RouteType type = RouteType::kUnicast) {
  FibRoute r;
  r.prefix = A(prefix);
  r.prefix_length = len;
  r.type = type;
  r.metric = metric;
  r.nexthops[0] = {ifindex, A(gateway), 1};
  r.nexthop_count = 1;
  return r;
}

// The reference: every route in a vector, lookups by a linear scan.
class ReferenceFib {
 public:
  explicit ReferenceFib(size_t capacity) : capacity_(capacity) {}

  absl::StatusCode add(const FibRoute& r) {
    if (find(r.prefix.value(), r.prefix_length, r.metric) != routes_.end()) {
      return absl::StatusCode::kAlreadyExists;
    }
    if (routes_.size() == capacity_) return absl::StatusCode::kResourceExhausted;
    routes_.push_back(r);
    return absl::StatusCode::kOk;
  }
  absl::StatusCode replace(const FibRoute& r) {
    auto it = find(r.prefix.value(), r.prefix_length, r.metric);
    if (it == routes_.end()) return add(r);
    *it = r;
    return absl::StatusCode::kOk;
  }
  absl::StatusCode remove(uint32_t prefix, uint8_t len, std::optional<uint32_t> metric) {
    auto best = routes_.end();
    for (auto it = routes_.begin(); it != routes_.end(); ++it) {
      if (it->prefix.value() != prefix || it->prefix_length != len) continue;
      if (metric ? it->metric == *metric : (best == routes_.end() || it->metric < best->metric)) {
        best = it;
      }
    }
    if (best == routes_.end()) return absl::StatusCode::kNotFound;
    routes_.erase(best);
    return absl::StatusCode::kOk;
  }
  // The matching route: longest prefix, then lowest metric.
  const FibRoute* lookup(uint32_t dst) const {
    const FibRoute* best = nullptr;
    for (const FibRoute& r : routes_) {
      if ((dst & mask_of(r.prefix_length)) != r.prefix.value()) continue;
      if (best == nullptr || r.prefix_length > best->prefix_length ||
          (r.prefix_length == best->prefix_length && r.metric < best->metric)) {
        best = &r;
      }
    }
    return best;
  }
  const std::vector<FibRoute>& routes() const { return routes_; }

 private:
  std::vector<FibRoute>::iterator find(uint32_t prefix, uint8_t len, uint32_t metric) {
    return std::find_if(routes_.begin(), routes_.end(), [&](const FibRoute& r) {
      return r.prefix.value() == prefix && r.prefix_length == len && r.metric == metric;
    });
  }
  size_t capacity_;
  std::vector<FibRoute> routes_;
};

// One lookup compared: same type, prefix length and metric, and a next hop
// that is one of the route's (the gateway, or dst when directly connected).
void check_lookup(const Fib& fib, const ReferenceFib& ref, uint32_t dst, uint32_t hash = 0) {
  const FibRoute* want = ref.lookup(dst);
  const std::optional<FibResult> got = fib.lookup(Ipv4Address(dst), hash);
  CAPTURE(Ipv4Address(dst).to_string());
  REQUIRE(got.has_value() == (want != nullptr));
  if (want == nullptr) return;
  CAPTURE(want->prefix.to_string());
  CAPTURE(int{want->prefix_length});
  CHECK(got->type == want->type);
  CHECK(int{got->prefix_length} == int{want->prefix_length});
  CHECK(got->metric == want->metric);
  bool member = false;
  for (int i = 0; i < want->nexthop_count; ++i) {
    const FibNextHop& nh = want->nexthops[i];
    const Ipv4Address expect = nh.gateway.is_unspecified() ? Ipv4Address(dst) : nh.gateway;
    member |= got->ifindex == nh.ifindex && got->next_hop == expect;
  }
  CHECK(member);
}

// Addresses where answers change: each prefix's first and last address and
// their neighbours.
std::vector<uint32_t> boundaries(const FibRoute& r) {
  const uint32_t first = r.prefix.value();
  const uint32_t last = first | ~mask_of(r.prefix_length);
  return {first, last, first - 1, last + 1, first + ((last - first) >> 1)};
}

// The boundaries of every route (or of `max_routes` of them picked at random,
// to bound the reference's linear scans), plus random addresses.
void check_all(const Fib& fib, const ReferenceFib& ref, std::mt19937& rng, int random_probes,
               size_t max_routes = SIZE_MAX) {
  REQUIRE(fib.size() == ref.routes().size());
  const std::vector<FibRoute>& routes = ref.routes();
  const bool sample = routes.size() > max_routes;
  for (size_t i = 0; i < std::min(routes.size(), max_routes); ++i) {
    const FibRoute& r = routes[sample ? rng() % routes.size() : i];
    for (uint32_t a : boundaries(r)) check_lookup(fib, ref, a, static_cast<uint32_t>(rng()));
  }
  for (int i = 0; i < random_probes; ++i) check_lookup(fib, ref, static_cast<uint32_t>(rng()));
}

// Random routes that overlap: most prefixes are cut from a few base addresses
// at random lengths, so /8s contain /16s contain /24s contain host routes.
class RouteGenerator {
 public:
  explicit RouteGenerator(std::mt19937& rng) : rng_(rng) {
    for (auto& b : bases_) b = static_cast<uint32_t>(rng_());
  }
  FibRoute next() {
    FibRoute r;
    const uint32_t roll = rng_() % 100;
    uint8_t len;
    if (roll < 3) {
      len = 0;
    } else if (roll < 15) {
      len = 32;
    } else if (roll < 45) {
      len = static_cast<uint8_t>(20 + rng_() % 13);
    } else {
      len = static_cast<uint8_t>(rng_() % 33);
    }
    const uint32_t base = rng_() % 4 == 0 ? static_cast<uint32_t>(rng_())
                                          : bases_[rng_() % bases_.size()] ^ (rng_() & 0xFFu);
    r.prefix = Ipv4Address(base & mask_of(len));
    r.prefix_length = len;
    static constexpr uint32_t kMetrics[] = {0, 10, 20, 100, 1024};
    r.metric = kMetrics[rng_() % 5];
    const uint32_t t = rng_() % 20;
    r.type = t < 14 ? RouteType::kUnicast : static_cast<RouteType>(1 + t % 4);
    r.nexthop_count = 1;
    if (r.type == RouteType::kUnicast && rng_() % 8 == 0) {
      r.nexthop_count = static_cast<uint8_t>(2 + rng_() % 7);
    }
    for (int i = 0; i < r.nexthop_count; ++i) {
      const bool direct = rng_() % 3 == 0;
      r.nexthops[i] = {static_cast<uint16_t>(1 + rng_() % 4),
                       direct ? Ipv4Address() : Ipv4Address(0x0A000000u + rng_() % 64),
                       static_cast<uint8_t>(1 + rng_() % 4)};
    }
    return r;
  }
  uint32_t near_base() { return bases_[rng_() % bases_.size()] ^ (rng_() & 0x3FFu); }

 private:
  std::mt19937& rng_;
  std::array<uint32_t, 12> bases_;
};

std::set<std::tuple<uint32_t, int, uint32_t, int, int>> listing(const Fib& fib) {
  std::set<std::tuple<uint32_t, int, uint32_t, int, int>> out;
  fib.for_each([&](const FibRoute& r) {
    out.emplace(r.prefix.value(), r.prefix_length, r.metric, static_cast<int>(r.type),
                r.nexthop_count);
  });
  return out;
}
std::set<std::tuple<uint32_t, int, uint32_t, int, int>> listing(const ReferenceFib& ref) {
  std::set<std::tuple<uint32_t, int, uint32_t, int, int>> out;
  for (const FibRoute& r : ref.routes()) {
    out.emplace(r.prefix.value(), r.prefix_length, r.metric, static_cast<int>(r.type),
                r.nexthop_count);
  }
  return out;
}

TEST_SUITE("ip.fib") {

TEST_CASE("differential: random route sets of 1..5000 routes, every boundary") {
  for (uint8_t bits : {uint8_t{8}, uint8_t{12}, uint8_t{18}}) {
    for (size_t n : {size_t{1}, size_t{2}, size_t{7}, size_t{100}, size_t{1000}, size_t{5000}}) {
      CAPTURE(int{bits});
      CAPTURE(n);
      std::mt19937 rng(static_cast<uint32_t>(n * 131 + bits));
      RouteGenerator gen(rng);
      Fib fib({.max_routes = 6000, .max_ecmp_groups = 6000, .direct_bits = bits});
      ReferenceFib ref(6000);
      while (ref.routes().size() < n) {
        const FibRoute r = gen.next();
        REQUIRE(fib.add(r).code() == ref.add(r));
      }
      check_all(fib, ref, rng, 2000, 1000);
      CHECK(listing(fib) == listing(ref));
      // Tear down in random order; the trie must give back every node.
      std::vector<FibRoute> all = ref.routes();
      std::shuffle(all.begin(), all.end(), rng);
      for (size_t i = 0; i < all.size(); ++i) {
        const FibRoute& r = all[i];
        REQUIRE(fib.remove(r.prefix, r.prefix_length, r.metric).code() ==
                ref.remove(r.prefix.value(), r.prefix_length, r.metric));
        if (n <= 1000 || i % 4 == 0) {
          for (uint32_t a : boundaries(r)) check_lookup(fib, ref, a);
        }
        if (i % (all.size() / 8 + 1) == 0) check_all(fib, ref, rng, 200, 100);
      }
      CHECK(fib.size() == 0);
      CHECK(fib.usage().trie_nodes == 0);
      CHECK(fib.usage().trie_leaves == 0);
      CHECK(fib.usage().ecmp_groups == 0);
      CHECK_FALSE(fib.lookup(Ipv4Address(static_cast<uint32_t>(rng()))).has_value());
    }
  }
}

TEST_CASE("differential: interleaved add/replace/remove, lookups checked after every change") {
  for (uint8_t bits : {uint8_t{12}, uint8_t{18}}) {
    CAPTURE(int{bits});
    std::mt19937 rng(7 + bits);
    RouteGenerator gen(rng);
    Fib fib({.max_routes = 800, .max_ecmp_groups = 800, .direct_bits = bits});
    ReferenceFib ref(800);
    for (int step = 0; step < 6000; ++step) {
      CAPTURE(step);
      const uint32_t op = rng() % 10;
      FibRoute touched;
      if (op < 5 || ref.routes().empty()) {
        touched = gen.next();
        REQUIRE(fib.add(touched).code() == ref.add(touched));
      } else if (op < 6) {
        touched = gen.next();
        REQUIRE(fib.replace(touched).code() == ref.replace(touched));
      } else if (op < 7) {
        // Usually absent: NotFound from both.
        touched = gen.next();
        std::optional<uint32_t> metric;
        if (rng() % 2) metric = touched.metric;
        REQUIRE(fib.remove(touched.prefix, touched.prefix_length, metric).code() ==
                ref.remove(touched.prefix.value(), touched.prefix_length, metric));
      } else {
        touched = ref.routes()[rng() % ref.routes().size()];
        std::optional<uint32_t> metric;
        if (rng() % 3) metric = touched.metric;
        REQUIRE(fib.remove(touched.prefix, touched.prefix_length, metric).code() ==
                ref.remove(touched.prefix.value(), touched.prefix_length, metric));
      }
      REQUIRE(fib.size() == ref.routes().size());
      for (uint32_t a : boundaries(touched)) check_lookup(fib, ref, a, static_cast<uint32_t>(rng()));
      for (int i = 0; i < 4; ++i) check_lookup(fib, ref, gen.near_base());
      check_lookup(fib, ref, static_cast<uint32_t>(rng()));
      if (step % 500 == 0) check_all(fib, ref, rng, 200);
    }
    check_all(fib, ref, rng, 2000);
    CHECK(listing(fib) == listing(ref));
  }
}

TEST_CASE("lookup_batch answers as lookup, for any burst size") {
  for (uint8_t bits : {uint8_t{12}, uint8_t{18}}) {
    std::mt19937 rng(11 + bits);
    RouteGenerator gen(rng);
    Fib fib({.max_routes = 3000, .max_ecmp_groups = 3000, .direct_bits = bits});
    for (int i = 0; i < 3000; ++i) (void)fib.add(gen.next());
    for (size_t burst : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{64},
                         size_t{100}}) {
      CAPTURE(burst);
      for (int round = 0; round < 20; ++round) {
        std::vector<Ipv4Address> dst(burst);
        std::vector<uint32_t> hash(burst);
        for (size_t i = 0; i < burst; ++i) {
          dst[i] = Ipv4Address(rng() % 2 ? gen.near_base() : static_cast<uint32_t>(rng()));
          hash[i] = static_cast<uint32_t>(rng());
        }
        std::vector<std::optional<FibResult>> out(burst, FibResult{});
        // Fewer hashes than destinations: the rest count as 0.
        const size_t hashes = round % 2 ? burst : burst / 2;
        fib.lookup_batch(dst, std::span<const uint32_t>(hash.data(), hashes), out);
        for (size_t i = 0; i < burst; ++i) {
          const auto want = fib.lookup(dst[i], i < hashes ? hash[i] : 0);
          REQUIRE(out[i].has_value() == want.has_value());
          if (!want) continue;
          CHECK(out[i]->type == want->type);
          CHECK(out[i]->ifindex == want->ifindex);
          CHECK(out[i]->next_hop == want->next_hop);
          CHECK(out[i]->prefix_length == want->prefix_length);
          CHECK(out[i]->metric == want->metric);
        }
      }
    }
  }
}

TEST_CASE("/0 is the default route and loses to anything longer") {
  Fib fib({});
  CHECK_FALSE(fib.lookup(A("8.8.8.8")).has_value());
  REQUIRE(fib.add(R("192.0.2.0", 24)).ok());
  const FibUsage before = fib.usage();
  REQUIRE(fib.add(R("0.0.0.0", 0, "192.0.2.1", 2)).ok());
  // Kept beside the trie: the default route costs no trie memory or rewrite.
  CHECK(fib.usage().trie_nodes == before.trie_nodes);
  CHECK(fib.usage().trie_leaves == before.trie_leaves);
  REQUIRE(fib.remove(A("192.0.2.0"), 24).ok());
  for (const char* dst : {"0.0.0.0", "8.8.8.8", "255.255.255.255", "10.1.2.3"}) {
    const auto r = fib.lookup(A(dst));
    REQUIRE(r.has_value());
    CHECK(r->next_hop == A("192.0.2.1"));
    CHECK(r->ifindex == 2);
    CHECK(r->prefix_length == 0);
  }
  REQUIRE(fib.add(R("10.0.0.0", 8)).ok());
  CHECK(fib.lookup(A("10.1.2.3"))->next_hop == A("10.1.2.3"));  // directly connected
  CHECK(fib.lookup(A("11.0.0.0"))->next_hop == A("192.0.2.1"));
  REQUIRE(fib.remove(A("0.0.0.0"), 0).ok());
  CHECK_FALSE(fib.lookup(A("11.0.0.0")).has_value());
  CHECK(fib.lookup(A("10.255.255.255"))->prefix_length == 8);
}

TEST_CASE("/32 host routes match one address only") {
  for (uint8_t bits : {uint8_t{12}, uint8_t{18}}) {
    Fib fib({.direct_bits = bits});
    REQUIRE(fib.add(R("192.0.2.0", 24, "0.0.0.0", 1)).ok());
    REQUIRE(fib.add(R("192.0.2.77", 32, "198.51.100.1", 3)).ok());
    REQUIRE(fib.add(R("192.0.2.78", 32, "198.51.100.2", 4)).ok());
    CHECK(fib.lookup(A("192.0.2.77"))->ifindex == 3);
    CHECK(fib.lookup(A("192.0.2.78"))->ifindex == 4);
    CHECK(fib.lookup(A("192.0.2.76"))->prefix_length == 24);
    CHECK(fib.lookup(A("192.0.2.79"))->prefix_length == 24);
    REQUIRE(fib.add(R("0.0.0.0", 32)).ok());
    REQUIRE(fib.add(R("255.255.255.255", 32)).ok());
    CHECK(fib.lookup(A("0.0.0.0"))->prefix_length == 32);
    CHECK(fib.lookup(A("255.255.255.255"))->prefix_length == 32);
    CHECK_FALSE(fib.lookup(A("0.0.0.1")).has_value());
    CHECK_FALSE(fib.lookup(A("255.255.255.254")).has_value());
    REQUIRE(fib.remove(A("192.0.2.77"), 32).ok());
    CHECK(fib.lookup(A("192.0.2.77"))->prefix_length == 24);
  }
}

TEST_CASE("RFC 1812 5.2.4.3: /8 overlapping /16 overlapping /24, longest wins") {
  Fib fib({});
  REQUIRE(fib.add(R("10.0.0.0", 8, "0.0.0.0", 8)).ok());
  REQUIRE(fib.add(R("10.1.0.0", 16, "0.0.0.0", 16)).ok());
  REQUIRE(fib.add(R("10.1.2.0", 24, "0.0.0.0", 24)).ok());
  CHECK(fib.lookup(A("10.1.2.3"))->ifindex == 24);
  CHECK(fib.lookup(A("10.1.3.3"))->ifindex == 16);
  CHECK(fib.lookup(A("10.2.2.3"))->ifindex == 8);
  CHECK(fib.lookup(A("10.1.1.255"))->ifindex == 16);
  CHECK(fib.lookup(A("10.1.2.255"))->ifindex == 24);
  // Removing the middle exposes the /8 around the /24.
  REQUIRE(fib.remove(A("10.1.0.0"), 16).ok());
  CHECK(fib.lookup(A("10.1.3.3"))->ifindex == 8);
  CHECK(fib.lookup(A("10.1.2.3"))->ifindex == 24);
  // Adding it back under the /24 changes nothing for the /24.
  REQUIRE(fib.add(R("10.1.0.0", 16, "0.0.0.0", 16)).ok());
  CHECK(fib.lookup(A("10.1.2.3"))->ifindex == 24);
  CHECK(fib.lookup(A("10.1.3.3"))->ifindex == 16);
  REQUIRE(fib.remove(A("10.0.0.0"), 8).ok());
  CHECK_FALSE(fib.lookup(A("10.2.0.0")).has_value());
  CHECK(fib.lookup(A("10.1.200.1"))->ifindex == 16);
}

TEST_CASE("metrics: the lowest wins, removing the best exposes the next") {
  Fib fib({});
  REQUIRE(fib.add(R("198.51.100.0", 24, "192.0.2.1", 1, 100)).ok());
  REQUIRE(fib.add(R("198.51.100.0", 24, "192.0.2.2", 2, 50)).ok());
  REQUIRE(fib.add(R("198.51.100.0", 24, "192.0.2.3", 3, 200)).ok());
  CHECK(fib.size() == 3);
  auto r = fib.lookup(A("198.51.100.9"));
  CHECK(r->metric == 50);
  CHECK(r->next_hop == A("192.0.2.2"));
  CHECK(fib.add(R("198.51.100.0", 24, "192.0.2.9", 9, 50)).code() ==
        absl::StatusCode::kAlreadyExists);
  REQUIRE(fib.remove(A("198.51.100.0"), 24, 50).ok());
  CHECK(fib.lookup(A("198.51.100.9"))->metric == 100);
  REQUIRE(fib.remove(A("198.51.100.0"), 24, 200).ok());  // not the best: no change
  CHECK(fib.lookup(A("198.51.100.9"))->metric == 100);
  CHECK(fib.remove(A("198.51.100.0"), 24, 200).code() == absl::StatusCode::kNotFound);
  REQUIRE(fib.remove(A("198.51.100.0"), 24).ok());  // no metric: the best
  CHECK_FALSE(fib.lookup(A("198.51.100.9")).has_value());
  CHECK(fib.size() == 0);
}

TEST_CASE("replace overwrites the same prefix+len+metric, or adds") {
  Fib fib({});
  REQUIRE(fib.replace(R("203.0.113.0", 24, "192.0.2.1", 1, 5)).ok());
  CHECK(fib.lookup(A("203.0.113.1"))->next_hop == A("192.0.2.1"));
  REQUIRE(fib.replace(R("203.0.113.0", 24, "192.0.2.2", 2, 5)).ok());
  CHECK(fib.size() == 1);
  CHECK(fib.lookup(A("203.0.113.1"))->next_hop == A("192.0.2.2"));
  REQUIRE(fib.replace(R("203.0.113.0", 24, "0.0.0.0", 0, 5, RouteType::kBlackhole)).ok());
  CHECK(fib.lookup(A("203.0.113.1"))->type == RouteType::kBlackhole);
  REQUIRE(fib.replace(R("203.0.113.0", 24, "192.0.2.3", 3, 1)).ok());  // other metric: added
  CHECK(fib.size() == 2);
  CHECK(fib.lookup(A("203.0.113.1"))->next_hop == A("192.0.2.3"));
}

TEST_CASE("each route type is returned as such") {
  Fib fib({});
  REQUIRE(fib.add(R("192.0.2.1", 32, "0.0.0.0", 1, 0, RouteType::kLocal)).ok());
  REQUIRE(fib.add(R("192.0.2.0", 24, "0.0.0.0", 1)).ok());
  REQUIRE(fib.add(R("0.0.0.0", 0, "192.0.2.254", 1)).ok());
  REQUIRE(fib.add(R("198.18.0.0", 15, "0.0.0.0", 0, 0, RouteType::kBlackhole)).ok());
  REQUIRE(fib.add(R("203.0.113.0", 24, "0.0.0.0", 0, 0, RouteType::kUnreachable)).ok());
  REQUIRE(fib.add(R("100.64.0.0", 10, "0.0.0.0", 0, 0, RouteType::kProhibit)).ok());
  const auto local = fib.lookup(A("192.0.2.1"));
  CHECK(local->type == RouteType::kLocal);
  CHECK(local->next_hop == A("192.0.2.1"));
  const auto direct = fib.lookup(A("192.0.2.9"));
  CHECK(direct->type == RouteType::kUnicast);
  CHECK(direct->next_hop == A("192.0.2.9"));
  const auto via = fib.lookup(A("8.8.8.8"));
  CHECK(via->type == RouteType::kUnicast);
  CHECK(via->next_hop == A("192.0.2.254"));
  CHECK(fib.lookup(A("198.19.1.1"))->type == RouteType::kBlackhole);
  CHECK(fib.lookup(A("203.0.113.5"))->type == RouteType::kUnreachable);
  CHECK(fib.lookup(A("100.100.0.1"))->type == RouteType::kProhibit);
  CHECK(route_type_name(RouteType::kProhibit) == "prohibit");
  CHECK(route_type_name(RouteType::kUnicast) == "unicast");
}

FibRoute ecmp(const char* prefix, uint8_t len, std::initializer_list<std::pair<const char*, int>> hops) {
  FibRoute r = R(prefix, len);
  r.nexthop_count = 0;
  for (const auto& [gw, weight] : hops) {
    r.nexthops[r.nexthop_count] = {static_cast<uint16_t>(r.nexthop_count + 1), A(gw),
                                   static_cast<uint8_t>(weight)};
    ++r.nexthop_count;
  }
  return r;
}

TEST_CASE("ECMP: a next hop per flow hash, deterministic, weights respected") {
  Fib fib({});
  REQUIRE(fib.add(ecmp("0.0.0.0", 0, {{"192.0.2.1", 1}, {"192.0.2.2", 2}, {"192.0.2.3", 1}})).ok());
  std::map<uint32_t, int> seen;
  constexpr int kFlows = 40000;
  std::vector<uint32_t> first(kFlows);
  for (int h = 0; h < kFlows; ++h) {
    const auto r = fib.lookup(A("8.8.8.8"), static_cast<uint32_t>(h));
    REQUIRE(r.has_value());
    first[h] = r->next_hop.value();
    ++seen[r->next_hop.value()];
    CHECK(r->ifindex == (r->next_hop.value() & 0xFF));  // ifindex i+1 goes with 192.0.2.(i+1)
  }
  REQUIRE(seen.size() == 3);
  CHECK(seen[A("192.0.2.1").value()] == doctest::Approx(kFlows / 4).epsilon(0.05));
  CHECK(seen[A("192.0.2.2").value()] == doctest::Approx(kFlows / 2).epsilon(0.05));
  CHECK(seen[A("192.0.2.3").value()] == doctest::Approx(kFlows / 4).epsilon(0.05));
  // Stable: the same hash picks the same next hop, also after unrelated changes.
  REQUIRE(fib.add(R("10.0.0.0", 8)).ok());
  for (int h = 0; h < kFlows; h += 7) {
    CHECK(fib.lookup(A("8.8.8.8"), static_cast<uint32_t>(h))->next_hop.value() == first[h]);
  }
  // Routes with the same set share one group (the poptrie FIB's group table;
  // the linear table keeps next hops in the route).
  REQUIRE(fib.add(ecmp("10.1.0.0", 16, {{"192.0.2.1", 1}, {"192.0.2.2", 2}, {"192.0.2.3", 1}})).ok());
  if (INLET_WITH_FIB_POPTRIE) CHECK(fib.usage().ecmp_groups == 1);
  REQUIRE(fib.add(ecmp("10.2.0.0", 16, {{"192.0.2.1", 1}, {"192.0.2.2", 1}})).ok());
  if (INLET_WITH_FIB_POPTRIE) CHECK(fib.usage().ecmp_groups == 2);
  REQUIRE(fib.remove(A("0.0.0.0"), 0).ok());
  if (INLET_WITH_FIB_POPTRIE) CHECK(fib.usage().ecmp_groups == 2);
  REQUIRE(fib.remove(A("10.1.0.0"), 16).ok());
  if (INLET_WITH_FIB_POPTRIE) CHECK(fib.usage().ecmp_groups == 1);
  // for_each gives the next hops back as added.
  int listed = 0;
  fib.for_each([&](const FibRoute& r) {
    if (r.prefix != A("10.2.0.0")) return;
    ++listed;
    CHECK(r.nexthop_count == 2);
    CHECK(r.nexthops[1].gateway == A("192.0.2.2"));
    CHECK(r.nexthops[1].ifindex == 2);
  });
  CHECK(listed == 1);
}

TEST_CASE("bad input is refused with InvalidArgument, a missing route with NotFound") {
  Fib fib({});
  CHECK(fib.add(R("10.0.0.1", 8)).code() == absl::StatusCode::kInvalidArgument);  // host bits
  CHECK(fib.add(R("10.0.0.0", 33)).code() == absl::StatusCode::kInvalidArgument);
  FibRoute zero = R("10.0.0.0", 8);
  zero.nexthop_count = 0;
  CHECK(fib.add(zero).code() == absl::StatusCode::kInvalidArgument);
  FibRoute nine = R("10.0.0.0", 8);
  nine.nexthop_count = 9;
  CHECK(fib.add(nine).code() == absl::StatusCode::kInvalidArgument);
  FibRoute weightless = ecmp("10.0.0.0", 8, {{"192.0.2.1", 1}, {"192.0.2.2", 0}});
  CHECK(fib.add(weightless).code() == absl::StatusCode::kInvalidArgument);
  FibRoute single_weightless = R("10.0.0.0", 8);
  single_weightless.nexthops[0].weight = 0;
  CHECK(fib.add(single_weightless).code() == absl::StatusCode::kInvalidArgument);
  FibRoute blackhole_ecmp = ecmp("10.0.0.0", 8, {{"192.0.2.1", 1}, {"192.0.2.2", 1}});
  blackhole_ecmp.type = RouteType::kBlackhole;
  CHECK(fib.add(blackhole_ecmp).code() == absl::StatusCode::kInvalidArgument);
  CHECK(fib.replace(R("10.0.0.1", 8)).code() == absl::StatusCode::kInvalidArgument);
  CHECK(fib.remove(A("10.0.0.1"), 8).code() == absl::StatusCode::kInvalidArgument);
  CHECK(fib.remove(A("10.0.0.0"), 40).code() == absl::StatusCode::kInvalidArgument);
  CHECK(fib.remove(A("10.0.0.0"), 8).code() == absl::StatusCode::kNotFound);
  CHECK(fib.size() == 0);
  REQUIRE(fib.add(R("10.0.0.0", 8)).ok());
  CHECK(fib.add(R("10.0.0.0", 8, "192.0.2.1")).code() == absl::StatusCode::kAlreadyExists);
  CHECK(fib.remove(A("10.0.0.0"), 8, 7).code() == absl::StatusCode::kNotFound);
  CHECK(fib.size() == 1);
}

TEST_CASE("capacity: a full table refuses with ResourceExhausted and stays intact") {
  Fib fib({.max_routes = 4});
  CHECK(fib.capacity() == 4);
  REQUIRE(fib.add(R("10.0.0.0", 8, "0.0.0.0", 1)).ok());
  REQUIRE(fib.add(R("10.1.0.0", 16, "0.0.0.0", 2)).ok());
  REQUIRE(fib.add(R("10.1.2.0", 24, "0.0.0.0", 3)).ok());
  REQUIRE(fib.add(R("10.1.2.3", 32, "0.0.0.0", 4)).ok());
  CHECK(fib.add(R("10.1.2.0", 25, "0.0.0.0", 5)).code() == absl::StatusCode::kResourceExhausted);
  CHECK(fib.add(R("10.1.2.0", 24, "0.0.0.0", 5, 9)).code() ==
        absl::StatusCode::kResourceExhausted);
  CHECK(fib.replace(R("0.0.0.0", 0)).code() == absl::StatusCode::kResourceExhausted);
  CHECK(fib.size() == 4);
  CHECK(fib.lookup(A("10.1.2.3"))->ifindex == 4);
  CHECK(fib.lookup(A("10.1.2.4"))->ifindex == 3);
  CHECK(fib.lookup(A("10.1.3.4"))->ifindex == 2);
  CHECK(fib.lookup(A("10.2.3.4"))->ifindex == 1);
  CHECK_FALSE(fib.lookup(A("11.0.0.0")).has_value());
  REQUIRE(fib.replace(R("10.1.2.0", 24, "0.0.0.0", 6)).ok());  // overwrite needs no room
  CHECK(fib.lookup(A("10.1.2.4"))->ifindex == 6);
  REQUIRE(fib.remove(A("10.1.0.0"), 16).ok());
  REQUIRE(fib.add(R("10.1.2.0", 25, "0.0.0.0", 5)).ok());
  CHECK(fib.lookup(A("10.1.2.4"))->ifindex == 5);
}

#if INLET_WITH_FIB_POPTRIE  // trie arenas, ECMP group table, memory layout
TEST_CASE("capacity: full trie arenas and ECMP groups refuse without changing anything") {
  SUBCASE("trie arenas") {
    std::mt19937 rng(3);
    Fib fib({.max_routes = 1000, .trie_nodes = 64, .trie_leaves = 64, .direct_bits = 12});
    ReferenceFib ref(1000);
    int refused = 0;
    for (int i = 0; i < 300; ++i) {
      // Host routes scattered over distinct /12s: three nodes and leaves each.
      const FibRoute r = R("0.0.0.0", 32, "0.0.0.0", static_cast<uint16_t>(i));
      FibRoute host = r;
      host.prefix = Ipv4Address(static_cast<uint32_t>(rng()));
      const absl::Status s = fib.add(host);
      if (s.ok()) {
        REQUIRE(ref.add(host) == absl::StatusCode::kOk);
      } else {
        CHECK(s.code() == absl::StatusCode::kResourceExhausted);
        ++refused;
      }
      check_lookup(fib, ref, host.prefix.value());
    }
    CHECK(refused > 0);
    check_all(fib, ref, rng, 500);
    // Then prefixes of every length near a few addresses, filling nodes that exist.
    RouteGenerator gen(rng);
    for (int i = 0; i < 400; ++i) {
      const FibRoute r = gen.next();
      const absl::Status s = fib.add(r);
      if (s.ok()) {
        REQUIRE(ref.add(r) == absl::StatusCode::kOk);
      } else if (s.code() == absl::StatusCode::kResourceExhausted) {
        ++refused;
      } else {
        REQUIRE(s.code() == ref.add(r));
      }
      for (uint32_t a : boundaries(r)) check_lookup(fib, ref, a);
    }
    check_all(fib, ref, rng, 500);
    // Shorter routes still fit where no node is needed; removal always works.
    REQUIRE(fib.add(R("0.0.0.0", 0, "0.0.0.0", 1, 7777)).ok());
    REQUIRE(ref.add(R("0.0.0.0", 0, "0.0.0.0", 1, 7777)) == absl::StatusCode::kOk);
    check_all(fib, ref, rng, 500);
    for (const FibRoute& r : std::vector<FibRoute>(ref.routes())) {
      REQUIRE(fib.remove(r.prefix, r.prefix_length).ok());
      ref.remove(r.prefix.value(), r.prefix_length, std::nullopt);
    }
    CHECK(fib.usage().trie_nodes == 0);
    CHECK(fib.usage().trie_leaves == 0);
  }
  SUBCASE("ECMP groups") {
    Fib fib({.max_ecmp_groups = 2});
    REQUIRE(fib.add(ecmp("10.0.0.0", 8, {{"192.0.2.1", 1}, {"192.0.2.2", 1}})).ok());
    REQUIRE(fib.add(ecmp("11.0.0.0", 8, {{"192.0.2.1", 1}, {"192.0.2.3", 1}})).ok());
    CHECK(fib.add(ecmp("12.0.0.0", 8, {{"192.0.2.4", 1}, {"192.0.2.3", 1}})).code() ==
          absl::StatusCode::kResourceExhausted);
    CHECK_FALSE(fib.lookup(A("12.0.0.1")).has_value());
    CHECK(fib.size() == 2);
    REQUIRE(fib.add(ecmp("12.0.0.0", 8, {{"192.0.2.1", 1}, {"192.0.2.2", 1}})).ok());  // shared
    CHECK(fib.usage().ecmp_groups == 2);
    // A route that owns its group can change it while all groups are in use;
    // one that shares it cannot, and keeps its next hops.
    REQUIRE(fib.replace(ecmp("11.0.0.0", 8, {{"192.0.2.7", 1}, {"192.0.2.8", 1}})).ok());
    const auto changed = fib.lookup(A("11.0.0.1"), 1);
    CHECK((changed->next_hop == A("192.0.2.7") || changed->next_hop == A("192.0.2.8")));
    CHECK(fib.replace(ecmp("12.0.0.0", 8, {{"192.0.2.5", 1}, {"192.0.2.6", 1}})).code() ==
          absl::StatusCode::kResourceExhausted);
    const auto kept = fib.lookup(A("12.0.0.1"), 1);
    CHECK((kept->next_hop == A("192.0.2.1") || kept->next_hop == A("192.0.2.2")));
    CHECK(fib.usage().ecmp_groups == 2);
  }
}

TEST_CASE("a node whose 64 children are all nodes, covered and uncovered") {
  // 10.0.0.0/12 with a /24 in each of its 64 /18s: with 12 direct bits the
  // node for 10.0/12 has only child nodes and no leaves.
  Fib fib({.direct_bits = 12});
  ReferenceFib ref(65536);
  std::mt19937 rng(5);
  for (uint32_t i = 0; i < 64; ++i) {
    const FibRoute r = R("0.0.0.0", 24, "0.0.0.0", static_cast<uint16_t>(i));
    FibRoute sub = r;
    sub.prefix = Ipv4Address(0x0A000000u + (i << 14) + ((i * 37 % 64) << 8));
    REQUIRE(fib.add(sub).ok());
    REQUIRE(ref.add(sub) == absl::StatusCode::kOk);
  }
  check_all(fib, ref, rng, 200);
  for (const FibRoute& cover : {R("10.0.0.0", 12, "0.0.0.0", 100), R("10.0.0.0", 14, "0.0.0.0", 101),
                                R("0.0.0.0", 0, "0.0.0.0", 102), R("10.0.0.0", 18, "0.0.0.0", 103)}) {
    REQUIRE(fib.add(cover).ok());
    REQUIRE(ref.add(cover) == absl::StatusCode::kOk);
    check_all(fib, ref, rng, 200);
  }
  std::vector<FibRoute> all = ref.routes();
  std::shuffle(all.begin(), all.end(), rng);
  for (const FibRoute& r : all) {
    REQUIRE(fib.remove(r.prefix, r.prefix_length).ok());
    ref.remove(r.prefix.value(), r.prefix_length, std::nullopt);
    check_all(fib, ref, rng, 20);
  }
  CHECK(fib.usage().trie_nodes == 0);
  CHECK(fib.usage().trie_leaves == 0);
}

TEST_CASE("memory_bytes: everything allocated at construction, and nothing after") {
  // Per route of capacity, as the header states: ≈ 100 B with 12 direct bits,
  // ≈ 60 B with 18, on top of a fixed part.
  Fib small({.max_routes = 1024});
  Fib large({.max_routes = 65536});
  CHECK(small.memory_bytes() > 0);
  CHECK(small.memory_bytes() < 512 * 1024);
  CHECK(large.memory_bytes() > small.memory_bytes());
  const double per_route = static_cast<double>(large.memory_bytes() - small.memory_bytes()) /
                           (65536 - 1024);
  CHECK(per_route < 110);
  {
    Fib huge({.max_routes = 1u << 20});
    CHECK(huge.direct_bits() == 18);
    CHECK(static_cast<double>(huge.memory_bytes()) / (1u << 20) < 70);
  }
  const size_t before = large.memory_bytes();
  std::mt19937 rng(1);
  RouteGenerator gen(rng);
  for (int i = 0; i < 5000; ++i) (void)large.add(gen.next());
  CHECK(large.memory_bytes() == before);
  CHECK(large.usage().trie_nodes <= large.usage().trie_nodes_capacity);
  CHECK(large.usage().trie_leaves > 0);
}

#endif  // INLET_WITH_FIB_POPTRIE

}  // TEST_SUITE

}  // namespace
}  // namespace inlet::ip

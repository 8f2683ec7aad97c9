// The Fib of a build without the poptrie (INLET_WITH_FIB_POPTRIE=0, the
// `minimal` preset): the same interface and route semantics as lib/ip/fib.cc
// (longest prefix, then lowest metric; route types; weighted ECMP by flow
// hash), over one array scanned per lookup. Meant for a few routes.
#include <algorithm>

#include "ip/fib.h"

#if !INLET_WITH_FIB_POPTRIE

namespace inlet::ip {

namespace {

constexpr uint32_t mask_of(int len) { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }

}  // namespace

Fib::Fib(const FibConfig& config) : routes_(config.max_routes) {}

size_t Fib::memory_bytes() const { return routes_.size() * sizeof(FibRoute) + sizeof(*this); }

FibUsage Fib::usage() const { return FibUsage{}; }  // no trie, no ECMP group table

// Fixed messages (no formatting code): this table is for size-bound builds.
absl::Status Fib::validate(const FibRoute& route) const {
  if (route.prefix_length > 32) return absl::InvalidArgumentError("prefix length > 32");
  if ((route.prefix.value() & ~mask_of(route.prefix_length)) != 0) {
    return absl::InvalidArgumentError("the prefix has host bits set");
  }
  if (static_cast<uint8_t>(route.type) > static_cast<uint8_t>(RouteType::kProhibit)) {
    return absl::InvalidArgumentError("unknown route type");
  }
  if (route.nexthop_count == 0 || route.nexthop_count > route.nexthops.size()) {
    return absl::InvalidArgumentError("a route has 1..8 next hops");
  }
  if (route.nexthop_count > 1 && route.type != RouteType::kUnicast) {
    return absl::InvalidArgumentError("ECMP on a route that is not unicast");
  }
  for (int i = 0; i < route.nexthop_count; ++i) {
    if (route.nexthops[i].weight == 0) return absl::InvalidArgumentError("a next hop has weight 0");
  }
  return absl::OkStatus();
}

size_t Fib::find(uint32_t prefix, uint8_t len, uint32_t metric) const {
  for (size_t i = 0; i < size_; ++i) {
    const FibRoute& r = routes_[i];
    if (r.prefix.value() == prefix && r.prefix_length == len && r.metric == metric) return i;
  }
  return size_;
}

absl::Status Fib::add(const FibRoute& route) {
  if (absl::Status s = validate(route); !s.ok()) return s;
  if (find(route.prefix.value(), route.prefix_length, route.metric) != size_) {
    return absl::AlreadyExistsError("a route with this prefix and metric exists");
  }
  if (size_ == routes_.size()) {
    return absl::ResourceExhaustedError("FIB full (inlet.ip.fib_max_routes)");
  }
  routes_[size_++] = route;
  return absl::OkStatus();
}

absl::Status Fib::replace(const FibRoute& route) {
  if (absl::Status s = validate(route); !s.ok()) return s;
  const size_t i = find(route.prefix.value(), route.prefix_length, route.metric);
  if (i == size_) return add(route);
  routes_[i] = route;
  return absl::OkStatus();
}

absl::Status Fib::remove(wire::Ipv4Address prefix_address, uint8_t len,
                         std::optional<uint32_t> metric) {
  const uint32_t prefix = prefix_address.value();
  if (len > 32) return absl::InvalidArgumentError("prefix length > 32");
  if ((prefix & ~mask_of(len)) != 0) return absl::InvalidArgumentError("the prefix has host bits set");
  // Without a metric, the best (lowest-metric) route of the prefix goes.
  size_t victim = size_;
  for (size_t i = 0; i < size_; ++i) {
    const FibRoute& r = routes_[i];
    if (r.prefix.value() != prefix || r.prefix_length != len) continue;
    if (metric ? r.metric == *metric : (victim == size_ || r.metric < routes_[victim].metric)) {
      victim = i;
    }
  }
  if (victim == size_) return absl::NotFoundError("no such route");
  // Kept in insertion order, so that for_each lists routes as they came.
  std::move(routes_.begin() + static_cast<std::ptrdiff_t>(victim) + 1,
            routes_.begin() + static_cast<std::ptrdiff_t>(size_),
            routes_.begin() + static_cast<std::ptrdiff_t>(victim));
  --size_;
  return absl::OkStatus();
}

std::optional<FibResult> Fib::lookup(wire::Ipv4Address dst, uint32_t flow_hash) const {
  const uint32_t addr = dst.value();
  const FibRoute* best = nullptr;
  for (size_t i = 0; i < size_; ++i) {
    const FibRoute& r = routes_[i];
    if ((addr & mask_of(r.prefix_length)) != r.prefix.value()) continue;
    if (best == nullptr || r.prefix_length > best->prefix_length ||
        (r.prefix_length == best->prefix_length && r.metric < best->metric)) {
      best = &r;
    }
  }
  if (best == nullptr) return std::nullopt;
  const FibNextHop* hop = &best->nexthops[0];
  if (best->nexthop_count > 1) {
    // Weighted choice over the cumulative weights, as the poptrie FIB.
    uint32_t total = 0;
    for (int i = 0; i < best->nexthop_count; ++i) total += best->nexthops[i].weight;
    const uint32_t pick =
        static_cast<uint32_t>((uint64_t{fib_mix32(flow_hash)} * total) >> 32);
    uint32_t upper = 0;
    for (int i = 0; i < best->nexthop_count; ++i) {
      upper += best->nexthops[i].weight;
      if (pick < upper) {
        hop = &best->nexthops[i];
        break;
      }
    }
  }
  return FibResult{best->type, hop->ifindex,
                   hop->gateway.is_unspecified() ? dst : hop->gateway, best->prefix_length,
                   best->metric};
}

void Fib::lookup_batch(std::span<const wire::Ipv4Address> dst, std::span<const uint32_t> flow_hash,
                       std::span<std::optional<FibResult>> out) const {
  const size_t n = std::min(dst.size(), out.size());
  for (size_t i = 0; i < n; ++i) out[i] = lookup(dst[i], i < flow_hash.size() ? flow_hash[i] : 0);
}

void Fib::for_each(absl::FunctionRef<void(const FibRoute&)> fn) const {
  for (size_t i = 0; i < size_; ++i) fn(routes_[i]);
}

}  // namespace inlet::ip

#endif  // !INLET_WITH_FIB_POPTRIE

// libFuzzer target, differential: random add / replace / remove / lookup on
// the poptrie Fib against a naive longest-prefix-match list. Invariants: every
// call's status is the one the reference predicts (AlreadyExists, NotFound,
// InvalidArgument; ResourceExhausted when the arenas are full, leaving the
// table unchanged); every lookup and lookup_batch answer equals the
// reference's best route (ECMP: one of that route's next hops); size() and
// for_each() list exactly the reference's routes.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "ip/fib.h"

namespace {
using namespace inlet;
using inlet::fuzz::FuzzInput;
using ip::Fib;
using ip::FibRoute;
using ip::RouteType;

uint32_t mask_of(uint8_t len) { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }

using Key = std::tuple<uint32_t, uint8_t, uint32_t>;  // prefix, length, metric
Key key_of(const FibRoute& r) { return {r.prefix.value(), r.prefix_length, r.metric}; }

bool same_route(const FibRoute& a, const FibRoute& b) {
  if (key_of(a) != key_of(b) || a.type != b.type || a.nexthop_count != b.nexthop_count) return false;
  for (int i = 0; i < a.nexthop_count; ++i) {
    const auto &x = a.nexthops[i], &y = b.nexthops[i];
    if (x.ifindex != y.ifindex || x.gateway != y.gateway) return false;
    if (a.nexthop_count > 1 && x.weight != y.weight) return false;
  }
  return true;
}

// The reference: every route in a list; the best match scanned for.
const FibRoute* reference_lookup(const std::vector<FibRoute>& routes, uint32_t dst) {
  const FibRoute* best = nullptr;
  for (const FibRoute& r : routes) {
    if (((dst ^ r.prefix.value()) & mask_of(r.prefix_length)) != 0) continue;
    if (best == nullptr || r.prefix_length > best->prefix_length ||
        (r.prefix_length == best->prefix_length && r.metric < best->metric)) {
      best = &r;
    }
  }
  return best;
}

void check_result(const FibRoute* want, const std::optional<ip::FibResult>& got, uint32_t dst) {
  FUZZ_CHECK(got.has_value() == (want != nullptr));
  if (want == nullptr) return;
  FUZZ_CHECK(got->type == want->type);
  FUZZ_CHECK(got->prefix_length == want->prefix_length);
  FUZZ_CHECK(got->metric == want->metric);
  bool hop_matches = false;
  for (int i = 0; i < want->nexthop_count; ++i) {
    const auto& h = want->nexthops[i];
    const uint32_t next_hop = h.gateway.value() != 0 ? h.gateway.value() : dst;
    hop_matches = hop_matches || (got->ifindex == h.ifindex && got->next_hop.value() == next_hop);
  }
  FUZZ_CHECK(hop_matches);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  ip::FibConfig config;
  config.max_routes = 8 + in.u8() % 57;
  static constexpr uint8_t kDirectBits[] = {8, 12, 14, 12};
  config.direct_bits = kDirectBits[in.u8() % 4];
  Fib fib(config);
  std::vector<FibRoute> ref;
  // A few base addresses so that prefixes nest and collide.
  const uint32_t bases[4] = {in.u32(), in.u32(), 0xC0000200u, 0x0A000000u};

  for (int step = 0; step < 200 && !in.empty(); ++step) {
    const uint8_t op = in.u8();
    FibRoute r;
    uint8_t len = in.u8();
    len = len % 8 == 7 ? len % 40 : static_cast<uint8_t>(len % 33);  // now and then > 32
    const uint32_t addr = bases[op >> 6] ^ (in.u16() << (in.u8() % 17));
    r.prefix_length = len;
    const bool keep_host_bits = (op & 0x20) != 0 && (op & 0x10) != 0;
    r.prefix = wire::Ipv4Address(keep_host_bits || len > 32 ? addr : addr & mask_of(len));
    r.metric = in.u8() % 4;
    const uint8_t kind = in.u8();
    r.type = static_cast<RouteType>(kind % 7 < 5 ? kind % 7 : 0);
    r.nexthop_count = static_cast<uint8_t>(kind >> 5 == 7 ? in.u8() % 10 : 1 + (kind >> 6));
    for (int i = 0; i < 8; ++i) {
      r.nexthops[i].ifindex = static_cast<uint16_t>(1 + in.u8() % 4);
      r.nexthops[i].gateway = wire::Ipv4Address(in.flag() ? 0 : 0xC6336400u + i);
      r.nexthops[i].weight = static_cast<uint8_t>(i == 0 && (kind & 1) ? 0 : 1 + in.u8() % 8);
    }
    bool invalid = len > 32 || (r.prefix.value() & ~mask_of(len)) != 0 || r.nexthop_count == 0 ||
                   r.nexthop_count > 8 || (r.nexthop_count > 1 && r.type != RouteType::kUnicast);
    for (int i = 0; i < r.nexthop_count && i < 8; ++i) invalid = invalid || r.nexthops[i].weight == 0;
    auto existing = std::find_if(ref.begin(), ref.end(), [&](const FibRoute& x) { return key_of(x) == key_of(r); });

    switch (op % 8) {
      case 0: case 1: case 2: {  // add
        const absl::Status s = fib.add(r);
        if (invalid) {
          FUZZ_CHECK(absl::IsInvalidArgument(s));
        } else if (existing != ref.end()) {
          FUZZ_CHECK(absl::IsAlreadyExists(s));
        } else if (s.ok()) {
          ref.push_back(r);
        } else {
          FUZZ_CHECK(absl::IsResourceExhausted(s));
        }
        break;
      }
      case 3: {  // replace
        const absl::Status s = fib.replace(r);
        if (invalid) {
          FUZZ_CHECK(absl::IsInvalidArgument(s));
        } else if (s.ok()) {
          if (existing != ref.end()) *existing = r; else ref.push_back(r);
        } else {
          FUZZ_CHECK(absl::IsResourceExhausted(s));
        }
        break;
      }
      case 4: case 5: {  // remove, with or without the metric
        if (len > 32) break;
        const bool by_metric = (op & 0x08) != 0;
        const absl::Status s = fib.remove(r.prefix, len, by_metric ? std::optional<uint32_t>(r.metric) : std::nullopt);
        auto victim = ref.end();
        for (auto it = ref.begin(); it != ref.end(); ++it) {
          if (it->prefix != r.prefix || it->prefix_length != len) continue;
          if (by_metric ? it->metric == r.metric : (victim == ref.end() || it->metric < victim->metric)) victim = it;
        }
        if ((r.prefix.value() & ~mask_of(len)) != 0) {
          FUZZ_CHECK(absl::IsInvalidArgument(s));
        } else if (victim == ref.end()) {
          FUZZ_CHECK(absl::IsNotFound(s));
        } else {
          FUZZ_CHECK(s.ok());
          ref.erase(victim);
        }
        break;
      }
      default: {  // lookups: one, then a batch around it
        const uint32_t dst = (op & 0x08) ? addr : in.u32();
        const uint32_t hash = in.u32();
        check_result(reference_lookup(ref, dst), fib.lookup(wire::Ipv4Address(dst), hash), dst);
        wire::Ipv4Address dsts[20];
        uint32_t hashes[20];
        std::optional<ip::FibResult> out[20];
        for (int i = 0; i < 20; ++i) {
          dsts[i] = wire::Ipv4Address(dst + static_cast<uint32_t>(i * i * 977));
          hashes[i] = hash + static_cast<uint32_t>(i);
        }
        fib.lookup_batch(dsts, hashes, out);
        for (int i = 0; i < 20; ++i) {
          const auto single = fib.lookup(dsts[i], hashes[i]);
          FUZZ_CHECK(single.has_value() == out[i].has_value());
          if (single) {
            FUZZ_CHECK(single->ifindex == out[i]->ifindex && single->next_hop == out[i]->next_hop &&
                       single->prefix_length == out[i]->prefix_length && single->metric == out[i]->metric);
          }
          check_result(reference_lookup(ref, dsts[i].value()), out[i], dsts[i].value());
        }
        break;
      }
    }
    FUZZ_CHECK(fib.size() == ref.size());
  }
  // The table lists exactly the reference's routes.
  std::vector<FibRoute> listed;
  fib.for_each([&](const FibRoute& r) { listed.push_back(r); });
  FUZZ_CHECK(listed.size() == ref.size());
  for (const FibRoute& r : ref) {
    FUZZ_CHECK(std::count_if(listed.begin(), listed.end(), [&](const FibRoute& x) { return same_route(x, r); }) == 1);
  }
  // Every route's own prefix resolves to the reference's answer.
  for (const FibRoute& r : ref) {
    check_result(reference_lookup(ref, r.prefix.value()), fib.lookup(r.prefix, 0), r.prefix.value());
  }
  return 0;
}

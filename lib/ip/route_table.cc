#include "ip/route_table.h"

#include "absl/strings/str_cat.h"

namespace inlet::ip {

namespace {
uint32_t mask_of(uint8_t len) { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }
}  // namespace

absl::Status RouteTable::add(const Route& route) {
  if (route.prefix_length > 32) {
    return absl::InvalidArgumentError(absl::StrCat("prefix length ", route.prefix_length, " > 32"));
  }
  if ((route.prefix.value() & ~mask_of(route.prefix_length)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(route.prefix.to_string(), "/",
                                                   route.prefix_length, " has host bits set"));
  }
  for (const Route& r : routes_) {
    if (r.prefix == route.prefix && r.prefix_length == route.prefix_length) {
      return absl::AlreadyExistsError(
          absl::StrCat("route ", route.prefix.to_string(), "/", route.prefix_length, " exists"));
    }
  }
  routes_.push_back(route);
  return absl::OkStatus();
}

std::optional<NextHop> RouteTable::lookup(wire::Ipv4Address dst) const {
  const Route* best = nullptr;
  for (const Route& r : routes_) {
    if ((dst.value() & mask_of(r.prefix_length)) != r.prefix.value()) continue;
    if (best == nullptr || r.prefix_length > best->prefix_length) best = &r;
  }
  if (best == nullptr) return std::nullopt;
  return NextHop{best->ifindex, best->gateway.is_unspecified() ? dst : best->gateway};
}

}  // namespace inlet::ip

// RouteTable: the local host's routes — connected subnets of its interfaces
// and gateways (a default route) — with longest-prefix match by linear scan.
// A host has a handful; the million-route FIB for forwarding is separate work.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "wire/bytes.h"

namespace inlet::ip {

struct Route {
  wire::Ipv4Address prefix;
  uint8_t prefix_length = 0;
  wire::Ipv4Address gateway;  // 0.0.0.0 = directly connected
  uint16_t ifindex = 0;
};

struct NextHop {
  uint16_t ifindex = 0;
  wire::Ipv4Address address;  // the gateway, or the destination itself
};

class RouteTable {
 public:
  // Rejects a prefix with host bits set, a length above 32, or a duplicate.
  absl::Status add(const Route& route);
  std::optional<NextHop> lookup(wire::Ipv4Address dst) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace inlet::ip

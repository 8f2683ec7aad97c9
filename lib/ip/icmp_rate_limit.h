// IcmpRateLimiter: Linux's global ICMP output limit — a token bucket refilled
// at net.ipv4.icmp_msgs_per_sec up to net.ipv4.icmp_msgs_burst — applied to
// the ICMP types selected by net.ipv4.icmp_ratemask (bit n = type n).
#pragma once

#include <cstdint>

#include "absl/time/time.h"

namespace inlet::ip {

class IcmpRateLimiter {
 public:
  IcmpRateLimiter(uint32_t per_second, uint32_t burst, uint32_t ratemask)
      : per_second_(per_second), burst_(burst), ratemask_(ratemask), tokens_(burst) {}

  // True when a message of `type` may go out now (and takes a token if so).
  bool allow(uint8_t type, absl::Time now);

 private:
  uint32_t per_second_;
  uint32_t burst_;
  uint32_t ratemask_;
  double tokens_;
  absl::Time last_ = absl::InfinitePast();
};

}  // namespace inlet::ip

#include "ip/icmp_rate_limit.h"

#include <algorithm>

namespace inlet::ip {

bool IcmpRateLimiter::allow(uint8_t type, absl::Time now) {
  if (type >= 32 || (ratemask_ & (1u << type)) == 0) return true;
  if (last_ != absl::InfinitePast()) {
    const double elapsed = absl::ToDoubleSeconds(now - last_);
    if (elapsed > 0) tokens_ = std::min<double>(burst_, tokens_ + elapsed * per_second_);
  }
  last_ = now;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

}  // namespace inlet::ip

#include "tcp/fastopen.h"

#include <algorithm>

namespace inlet::tcp {

FastOpenCookie FastOpenKeys::make_with(const SipKey& k, wire::Ipv4Address client,
                                       wire::Ipv4Address server) {
  const uint32_t words[2] = {client.value(), server.value()};
  const uint64_t h = siphash_words(k, words);
  FastOpenCookie c;
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<uint8_t>(h >> (8 * i));
  return c;
}

bool FastOpenKeys::valid(wire::Ipv4Address client, wire::Ipv4Address server,
                         std::span<const uint8_t> cookie) const {
  if (cookie.size() != kFastOpenCookieSize) return false;
  const FastOpenCookie a = make_with(primary_, client, server);
  if (std::equal(a.begin(), a.end(), cookie.begin())) return true;
  if (!has_backup_) return false;
  const FastOpenCookie b = make_with(backup_, client, server);
  return std::equal(b.begin(), b.end(), cookie.begin());
}

}  // namespace inlet::tcp

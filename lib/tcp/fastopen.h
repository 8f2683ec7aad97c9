// TCP Fast Open server cookies (RFC 7413 4.1.2): an 8-byte SipHash of the
// client and server addresses under a secret key that can be rotated; a
// cookie made under the previous key stays valid until the next rotation.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "tcp/siphash.h"
#include "wire/bytes.h"

namespace inlet::tcp {

inline constexpr size_t kFastOpenCookieSize = 8;  // as Linux's TCP_FASTOPEN_COOKIE_SIZE
using FastOpenCookie = std::array<uint8_t, kFastOpenCookieSize>;

class FastOpenKeys {
 public:
  explicit FastOpenKeys(SipKey primary = random_sip_key()) : primary_(primary) {}

  // Makes `key` the primary; the old primary becomes the backup.
  void rotate(SipKey key) {
    backup_ = primary_;
    has_backup_ = true;
    primary_ = key;
  }
  FastOpenCookie make(wire::Ipv4Address client, wire::Ipv4Address server) const {
    return make_with(primary_, client, server);
  }
  bool valid(wire::Ipv4Address client, wire::Ipv4Address server,
             std::span<const uint8_t> cookie) const;

 private:
  static FastOpenCookie make_with(const SipKey& k, wire::Ipv4Address client,
                                  wire::Ipv4Address server);
  SipKey primary_;
  SipKey backup_;
  bool has_backup_ = false;
};

}  // namespace inlet::tcp

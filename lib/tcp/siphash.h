// SipHash-2-4 (Aumasson & Bernstein): the keyed hash behind inlet's secrets —
// initial sequence numbers (RFC 6528), SYN cookies and Fast Open cookies, as
// Linux uses it for the same three.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace inlet::tcp {

struct SipKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
  bool operator==(const SipKey&) const = default;
};

uint64_t siphash24(const SipKey& key, std::span<const uint8_t> data);

// Convenience for fixed words (hashed as their little-endian bytes).
uint64_t siphash_words(const SipKey& key, std::span<const uint32_t> words);

// A key from the system's randomness (getrandom), for secrets at set-up.
SipKey random_sip_key();

}  // namespace inlet::tcp

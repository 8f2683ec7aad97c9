// The wide ones'-complement sum. Words are added in native byte order, 64 bits
// at a time with the carries counted separately, then folded; RFC 1071 2(B)
// (byte-order independence) lets a little-endian host swap the folded result.
#include "wire/checksum.h"

#include <bit>
#include <cstring>

namespace inlet::wire {
namespace {

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// acc + carry * 2^64 is the running sum; 2^64 == 1 modulo 2^64 - 1, a
// multiple of 0xFFFF, so the carries are simply added back at the end.
inline void add_carry(uint64_t& acc, uint64_t& carry, uint64_t x) {
  acc += x;
  carry += acc < x ? 1 : 0;
}

}  // namespace

uint32_t checksum_accumulate(std::span<const uint8_t> bytes, uint32_t initial) {
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  // Four independent chains keep the adders busy.
  while (n >= 64) {
    add_carry(a0, c0, load64(p));
    add_carry(a1, c1, load64(p + 8));
    add_carry(a2, c2, load64(p + 16));
    add_carry(a3, c3, load64(p + 24));
    add_carry(a0, c0, load64(p + 32));
    add_carry(a1, c1, load64(p + 40));
    add_carry(a2, c2, load64(p + 48));
    add_carry(a3, c3, load64(p + 56));
    p += 64;
    n -= 64;
  }
  while (n >= 8) {
    add_carry(a0, c0, load64(p));
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    // The tail starts 16-bit aligned relative to the start, so its 4- and
    // 2-byte pieces are whole native words; a last odd byte is the first
    // byte of a word: the low half on a little-endian host, the high half
    // on a big-endian one.
    uint64_t tail = 0;
    if (n & 4) {
      uint32_t t;
      std::memcpy(&t, p, 4);
      tail += t;
      p += 4;
    }
    if (n & 2) {
      uint16_t t;
      std::memcpy(&t, p, 2);
      tail += t;
      p += 2;
    }
    if (n & 1) {
      tail += std::endian::native == std::endian::little ? uint64_t{p[0]} : uint64_t{p[0]} << 8;
    }
    add_carry(a0, c0, tail);
  }
  uint64_t carry = c0 + c1 + c2 + c3;
  uint64_t acc = a0;
  add_carry(acc, carry, a1);
  add_carry(acc, carry, a2);
  add_carry(acc, carry, a3);
  acc += carry;
  if (acc < carry) acc += 1;

  uint16_t folded = checksum_fold((acc & 0xFFFFFFFFu) + (acc >> 32));
  if constexpr (std::endian::native == std::endian::little) folded = byteswap16(folded);

  const uint32_t r = initial + folded;
  return r + (r < folded ? 1u : 0u);
}

}  // namespace inlet::wire

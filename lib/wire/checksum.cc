// The wide ones'-complement sum. Words are added in native byte order, 64 bits
// at a time with the carries counted separately, then folded; RFC 1071 2(B)
// (byte-order independence) lets a little-endian host swap the folded result.
// On x86-64 CPUs with AVX2 the bulk runs 64 bytes per step in vector lanes.
#include "wire/checksum.h"

#include <bit>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(INLET_NO_SIMD)
#include <immintrin.h>
#define INLET_CHECKSUM_AVX2 1
#endif

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

#if INLET_CHECKSUM_AVX2
// The sum of the native 16-bit words of p[0, 64 * blocks), as a 64-bit value
// (congruent modulo 0xFFFF to the 64-bit-word sum the scalar loop forms).
// Each 32-bit lane takes the zero-extended low and high halves of its word:
// at most 2 * 0xFFFF per lane per vector, four vectors per block, so 32-bit
// lanes cannot overflow below 8191 blocks (512 KiB); longer runs are cut.
__attribute__((target("avx2"))) uint64_t sum_blocks_avx2(const uint8_t* p, size_t blocks) {
  const __m256i low16 = _mm256_set1_epi32(0xFFFF);
  uint64_t total = 0;
  while (blocks > 0) {
    const size_t run = blocks < 8000 ? blocks : 8000;
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    __m256i s2 = _mm256_setzero_si256(), s3 = _mm256_setzero_si256();
    for (size_t i = 0; i < run; ++i, p += 64) {
      const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
      const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
      s0 = _mm256_add_epi32(s0, _mm256_and_si256(v0, low16));
      s1 = _mm256_add_epi32(s1, _mm256_srli_epi32(v0, 16));
      s2 = _mm256_add_epi32(s2, _mm256_and_si256(v1, low16));
      s3 = _mm256_add_epi32(s3, _mm256_srli_epi32(v1, 16));
    }
    // Widen the lanes to 64 bits before adding them together.
    const __m256i a = _mm256_add_epi32(s0, s1);  // each lane < 2^31: no overflow
    const __m256i b = _mm256_add_epi32(s2, s3);
    const __m256i zero = _mm256_setzero_si256();
    __m256i w = _mm256_add_epi64(_mm256_unpacklo_epi32(a, zero), _mm256_unpackhi_epi32(a, zero));
    w = _mm256_add_epi64(w, _mm256_unpacklo_epi32(b, zero));
    w = _mm256_add_epi64(w, _mm256_unpackhi_epi32(b, zero));
    alignas(32) uint64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), w);
    total += lanes[0] + lanes[1] + lanes[2] + lanes[3];  // < 2^40 per run
    blocks -= run;
  }
  return total;
}

// libgcc sets the CPU model up before any constructor runs; the test is a load.
bool cpu_has_avx2() { return __builtin_cpu_supports("avx2"); }
#endif

}  // namespace

uint32_t checksum_accumulate(std::span<const uint8_t> bytes, uint32_t initial) {
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
#if INLET_CHECKSUM_AVX2
  if (n >= 128 && cpu_has_avx2()) {
    const size_t blocks = n / 64;
    a0 = sum_blocks_avx2(p, blocks);  // a fresh chain: no carry yet
    p += blocks * 64;
    n -= blocks * 64;
  }
#endif
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

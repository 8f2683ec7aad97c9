#include "tcp/siphash.h"

#include <sys/random.h>

#include <cstring>
#include <vector>

namespace inlet::tcp {
namespace {

constexpr uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct State {
  uint64_t v0, v1, v2, v3;
  void round() {
    v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
    v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
  }
};

uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

uint64_t siphash24(const SipKey& key, std::span<const uint8_t> data) {
  State s{0x736f6d6570736575ULL ^ key.k0, 0x646f72616e646f6dULL ^ key.k1,
          0x6c7967656e657261ULL ^ key.k0, 0x7465646279746573ULL ^ key.k1};
  const size_t n = data.size();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint64_t m = load_le64(data.data() + i);
    s.v3 ^= m;
    s.round();
    s.round();
    s.v0 ^= m;
  }
  uint64_t b = static_cast<uint64_t>(n) << 56;
  for (size_t j = 0; i + j < n; ++j) b |= static_cast<uint64_t>(data[i + j]) << (8 * j);
  s.v3 ^= b;
  s.round();
  s.round();
  s.v0 ^= b;
  s.v2 ^= 0xff;
  for (int r = 0; r < 4; ++r) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t siphash_words(const SipKey& key, std::span<const uint32_t> words) {
  uint8_t buf[64];
  const size_t n = words.size() < 16 ? words.size() : 16;
  for (size_t i = 0; i < n; ++i) {
    for (int b = 0; b < 4; ++b) buf[i * 4 + b] = static_cast<uint8_t>(words[i] >> (8 * b));
  }
  return siphash24(key, std::span<const uint8_t>(buf, n * 4));
}

SipKey random_sip_key() {
  uint64_t k[2] = {0, 0};
  size_t got = 0;
  while (got < sizeof k) {
    ssize_t r = getrandom(reinterpret_cast<uint8_t*>(k) + got, sizeof k - got, 0);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  return {k[0], k[1]};
}

}  // namespace inlet::tcp

// The Internet checksum: the fast sum against the RFC 1071 byte-pair loop on
// random buffers, lengths and alignments, and RFC 1624 incremental updates
// against full recomputation.
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "wire/checksum.h"

namespace inlet::wire {
namespace {

// RFC 1071 4.1, the plain loop: 16-bit big-endian words, a trailing odd
// byte padded with zero, carries folded at the end.
uint16_t reference_sum(const uint8_t* p, size_t n) {
  uint64_t sum = 0;
  while (n > 1) {
    sum += static_cast<uint64_t>(p[0] << 8 | p[1]);
    p += 2;
    n -= 2;
  }
  if (n > 0) sum += static_cast<uint64_t>(p[0] << 8);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

std::vector<uint8_t> random_bytes(std::mt19937& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

TEST_SUITE("wire.checksum") {

TEST_CASE("RFC 1071 3: the numerical example sums to 0xddf2") {
  const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  CHECK(checksum_fold(checksum_accumulate(bytes)) == 0xddf2);
  CHECK(internet_checksum(bytes) == 0x220d);
}

TEST_CASE("RFC 791 3.1: a known IPv4 header checksums to 0xb861") {
  // 45 00 00 73 00 00 40 00 40 11 [b8 61] c0 a8 00 01 c0 a8 00 c7
  uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  CHECK(internet_checksum(h) == 0xb861);
  h[10] = 0xb8;
  h[11] = 0x61;
  CHECK(internet_checksum(h) == 0);
  CHECK(checksum_fold(checksum_accumulate(h)) == 0xFFFF);
}

TEST_CASE("RFC 1071 2: the empty sum is zero and a lone byte is the high half") {
  CHECK(checksum_accumulate({}) == 0);
  CHECK(checksum_accumulate({}, 0x1234) == 0x1234);
  const uint8_t one[] = {0xAB};
  CHECK(checksum_accumulate(one) == 0xAB00);
}

TEST_CASE("RFC 1071 4.1: the fast sum equals the byte-pair loop on random buffers") {
  std::mt19937 rng(1071);
  std::vector<uint8_t> arena = random_bytes(rng, 9000 + 64);
  for (int iter = 0; iter < 4000; ++iter) {
    const size_t len = iter < 200 ? static_cast<size_t>(iter) : rng() % 9000;
    const size_t off = rng() % 64;
    const uint32_t initial = iter % 3 == 0 ? 0 : static_cast<uint32_t>(rng());
    const std::span<const uint8_t> s(arena.data() + off, len);
    const uint32_t fast = checksum_accumulate(s, initial);
    const uint16_t want = checksum_fold(uint64_t{reference_sum(s.data(), s.size())} + initial);
    REQUIRE_MESSAGE(checksum_fold(fast) == want, "len " << len << " off " << off);
  }
}

TEST_CASE("RFC 1071 2(C): the sum does not depend on the buffer's alignment") {
  std::mt19937 rng(2);
  for (int iter = 0; iter < 500; ++iter) {
    const size_t len = rng() % 300;
    const std::vector<uint8_t> data = random_bytes(rng, len);
    const uint32_t initial = static_cast<uint32_t>(rng());
    std::vector<uint8_t> arena(len + 16);
    uint32_t first = 0;
    for (size_t off = 0; off < 16; ++off) {
      std::copy(data.begin(), data.end(), arena.begin() + static_cast<std::ptrdiff_t>(off));
      const uint32_t sum = checksum_accumulate({arena.data() + off, len}, initial);
      if (off == 0) first = sum;
      REQUIRE(sum == first);
    }
  }
}

TEST_CASE("RFC 1071 2: carries are kept on long runs of 0xFF") {
  // 600,000 bytes cross the vector loop's 512,000-byte run (its lanes are cut there).
  for (size_t len : {1u, 7u, 8u, 63u, 64u, 65u, 127u, 128u, 1500u, 65535u, 200000u, 600000u}) {
    std::vector<uint8_t> ff(len, 0xFF);
    CHECK(checksum_fold(checksum_accumulate(ff)) == reference_sum(ff.data(), ff.size()));
    std::vector<uint8_t> zero(len, 0);
    CHECK(checksum_accumulate(zero) == 0);
  }
}

TEST_CASE("RFC 1071 2(A): blocks combine, an odd offset swapping the block's bytes") {
  std::mt19937 rng(3);
  for (int iter = 0; iter < 500; ++iter) {
    const std::vector<uint8_t> data = random_bytes(rng, 1 + rng() % 400);
    const size_t cut = rng() % (data.size() + 1);
    const std::span<const uint8_t> all(data);
    const uint32_t a = checksum_accumulate(all.first(cut));
    const uint32_t b = checksum_accumulate(all.subspan(cut));
    CHECK(checksum_fold(checksum_combine(a, b, cut)) == reference_sum(data.data(), data.size()));
  }
}

TEST_CASE("RFC 793 3.1: the pseudo-header sum equals summing its 12 bytes") {
  std::mt19937 rng(4);
  for (int iter = 0; iter < 200; ++iter) {
    const Ipv4Address src(static_cast<uint32_t>(rng()));
    const Ipv4Address dst(static_cast<uint32_t>(rng()));
    const uint8_t proto = static_cast<uint8_t>(rng());
    const uint16_t len = static_cast<uint16_t>(rng());
    uint8_t ph[12] = {};
    src.store(ph);
    dst.store(ph + 4);
    ph[9] = proto;
    store_be16(ph + 10, len);
    CHECK(checksum_fold(ipv4_pseudo_header_sum(src, dst, proto, len)) ==
          reference_sum(ph, sizeof ph));
  }
}

TEST_CASE("RFC 1624 4: eqn. 3 gives 0x0000 where RFC 1141's eqn. 2 gave -0") {
  CHECK(checksum_update16(0xDD2F, 0x5555, 0x3285) == 0x0000);
  // RFC 1624 errata 5864: a change needing two end-around carries.
  CHECK(checksum_update16(0x0000, 0x5555, 0x5556) == 0xFFFE);
}

TEST_CASE("RFC 1624 3: an incremental update equals a full recompute") {
  std::mt19937 rng(1624);
  for (int iter = 0; iter < 5000; ++iter) {
    // A random IPv4-like header (version nibble set so the sum is never 0).
    std::vector<uint8_t> h = random_bytes(rng, 20);
    h[0] = static_cast<uint8_t>(0x40 | (h[0] & 0x0F));
    store_be16(h.data() + 10, 0);
    store_be16(h.data() + 10, internet_checksum(h));
    const uint16_t old_check = load_be16(h.data() + 10);
    if (iter % 2 == 0) {
      size_t word = 2 * (rng() % 10);
      if (word == 10) word = 8;  // not the checksum field
      if (word == 0) word = 2;   // keep the version nibble
      const uint16_t old_value = load_be16(h.data() + word);
      const uint16_t new_value = static_cast<uint16_t>(rng());
      store_be16(h.data() + word, new_value);
      const uint16_t incremental = checksum_update16(old_check, old_value, new_value);
      store_be16(h.data() + 10, 0);
      REQUIRE(incremental == internet_checksum(h));
    } else {
      const size_t at = rng() % 2 == 0 ? 12 : 16;
      const uint32_t old_value = load_be32(h.data() + at);
      const uint32_t new_value = static_cast<uint32_t>(rng());
      store_be32(h.data() + at, new_value);
      const uint16_t incremental = checksum_update32(old_check, old_value, new_value);
      store_be16(h.data() + 10, 0);
      REQUIRE(incremental == internet_checksum(h));
    }
  }
}

}  // TEST_SUITE
}  // namespace
}  // namespace inlet::wire

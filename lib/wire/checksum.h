// The Internet checksum (RFC 1071): a fast ones'-complement sum over bytes, the
// IPv4 pseudo-header, and RFC 1624 incremental updates for in-place edits.
// Sums are kept in "big-endian word" form: the sum of the 16-bit words as read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "wire/bytes.h"

namespace inlet::wire {

// Whether a parser checks a checksum or trusts that the device already did
// (ChecksumState::kUnnecessary in lib/core).
enum class ChecksumMode : uint8_t { kVerify, kSkip };

// Folds a ones'-complement sum of any width to 16 bits (end-around carry).
// Not inverted: a block that carries its own valid checksum folds to 0xFFFF.
constexpr uint16_t checksum_fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The value for a checksum field: the inverted fold.
constexpr uint16_t checksum_finish(uint64_t sum) {
  return static_cast<uint16_t>(~checksum_fold(sum));
}

// Adds the 16-bit big-endian words of `bytes` (an odd last byte is padded with
// a zero) to `initial`. Reads 8 bytes at a time with unaligned loads, so the
// result depends only on the bytes, never on their address. Chaining calls
// is only valid when every earlier block had an even length; otherwise use
// checksum_combine with the block's offset.
uint32_t checksum_accumulate(std::span<const uint8_t> bytes, uint32_t initial = 0);

// checksum_finish(checksum_accumulate(bytes, initial)). Over a block that
// includes its own correct checksum field this is 0.
inline uint16_t internet_checksum(std::span<const uint8_t> bytes, uint32_t initial = 0) {
  return checksum_finish(checksum_accumulate(bytes, initial));
}

// Whether a block of `words32` 32-bit words (an IPv4 header: IHL of them)
// carrying its own checksum sums to 0xFFFF. Native-order loads: 0xFFFF is
// its own byte swap (RFC 1071 2(B)), so no swap is needed. Inline, for the
// per-packet header check.
inline bool header_checksum_ok(const uint8_t* p, size_t words32) {
  uint64_t sum = 0;
  for (size_t i = 0; i < words32; ++i) {
    uint32_t w;
    std::memcpy(&w, p + 4 * i, sizeof w);
    sum += w;
  }
  return checksum_fold(sum) == 0xFFFF;
}

// Adds the sum of a block that starts at `block_offset` within the message
// (as the kernel's csum_block_add): a block at an odd offset has its bytes in
// the other half of each word, so its folded sum is byte-swapped first.
constexpr uint32_t checksum_combine(uint32_t sum, uint32_t block_sum, size_t block_offset) {
  uint32_t add = checksum_fold(block_sum);
  if (block_offset & 1) add = byteswap16(static_cast<uint16_t>(add));
  const uint32_t r = sum + add;
  return r + (r < add ? 1u : 0u);
}

// Sum of the IPv4 pseudo-header (RFC 793 3.1 / RFC 768): src, dst, zero,
// protocol, and the transport length (header + data).
constexpr uint32_t ipv4_pseudo_header_sum(Ipv4Address src, Ipv4Address dst, uint8_t protocol,
                                          uint16_t length) {
  return (src.value() >> 16) + (src.value() & 0xFFFF) + (dst.value() >> 16) +
         (dst.value() & 0xFFFF) + protocol + length;
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), the checksum after a 16-bit field
// changes from m to m'. Unlike RFC 1141's eqn. 2 it never yields -0 (0xFFFF)
// for a header whose full recompute gives 0x0000.
constexpr uint16_t checksum_update16(uint16_t old_checksum, uint16_t old_value,
                                     uint16_t new_value) {
  const uint32_t sum = uint32_t{static_cast<uint16_t>(~old_checksum)} +
                       uint32_t{static_cast<uint16_t>(~old_value)} + new_value;
  return checksum_finish(sum);
}

// The same for a 32-bit field (an address): two 16-bit updates at once.
constexpr uint16_t checksum_update32(uint16_t old_checksum, uint32_t old_value,
                                     uint32_t new_value) {
  const uint32_t sum = uint32_t{static_cast<uint16_t>(~old_checksum)} +
                       uint32_t{static_cast<uint16_t>(~(old_value >> 16))} +
                       uint32_t{static_cast<uint16_t>(~old_value)} + (new_value >> 16) +
                       (new_value & 0xFFFF);
  return checksum_finish(sum);
}

}  // namespace inlet::wire

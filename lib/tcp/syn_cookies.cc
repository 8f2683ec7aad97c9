#include "tcp/syn_cookies.h"

namespace inlet::tcp {

namespace {
constexpr uint32_t kCookieBits = 24;  // upper 8 bits: the minute counter
constexpr uint32_t kCookieMask = (uint32_t{1} << kCookieBits) - 1;
constexpr uint32_t kIndexMask = 3;  // two bits: the kMssTable index
constexpr uint32_t kTsBits = 6;
constexpr uint32_t kTsMask = (uint32_t{1} << kTsBits) - 1;
}  // namespace

uint32_t SynCookies::hash(const CookieTuple& t, uint32_t count, int which) const {
  const uint32_t words[4] = {t.saddr.value(), t.daddr.value(),
                             (uint32_t{t.sport} << 16) | t.dport, count};
  return static_cast<uint32_t>(siphash_words(which == 0 ? key0_ : key1_, words));
}

// The low 24 bits: the MSS index in bits 0-1, and 22 bits of a hash over the
// tuple, the minute and that index. Linux adds the index to a hash instead,
// which lets an ACK one or two off (or a client ISN one or two off) pass as
// a cookie for a smaller MSS; hashing the index makes every change fail but
// with the same 2^-22 odds a blind guess has.
uint32_t SynCookies::low_bits(const CookieTuple& t, uint32_t minute, uint32_t index) const {
  return (hash(t, (minute << 2) | index, 1) & kCookieMask & ~kIndexMask) | index;
}

uint32_t SynCookies::make(const CookieTuple& t, uint32_t client_isn, uint16_t client_mss,
                          uint32_t minute, uint16_t* encoded_mss) const {
  uint32_t index = 0;
  for (uint32_t i = 0; i < 4; ++i) {
    if (kMssTable[i] <= client_mss) index = i;
  }
  if (encoded_mss != nullptr) *encoded_mss = kMssTable[index];
  return hash(t, 0, 0) + client_isn + (minute << kCookieBits) + low_bits(t, minute, index);
}

std::optional<uint16_t> SynCookies::check(const CookieTuple& t, uint32_t client_isn,
                                          uint32_t cookie, uint32_t minute) const {
  cookie -= hash(t, 0, 0) + client_isn;
  const uint32_t diff = (minute - (cookie >> kCookieBits)) & (~uint32_t{0} >> kCookieBits);
  if (diff >= kMaxAgeMinutes) return std::nullopt;
  const uint32_t low = cookie & kCookieMask;
  const uint32_t index = low & kIndexMask;
  if (low_bits(t, minute - diff, index) != low) return std::nullopt;
  return kMssTable[index];
}

uint32_t SynCookies::encode_timestamp(uint32_t ts_now, const CookieOptions& o) {
  uint32_t bits = o.window_scale ? (*o.window_scale & 0xF) : 0xF;
  if (o.sack_permitted) bits |= 1u << 4;
  if (o.ecn) bits |= 1u << 5;
  uint32_t ts = (ts_now & ~kTsMask) | bits;
  if (static_cast<int32_t>(ts - ts_now) > 0) ts -= uint32_t{1} << kTsBits;
  return ts;
}

std::optional<CookieOptions> SynCookies::decode_timestamp(uint32_t tsecr) {
  CookieOptions o;
  const uint32_t ws = tsecr & 0xF;
  if (ws != 0xF) {
    if (ws > 14) return std::nullopt;
    o.window_scale = static_cast<uint8_t>(ws);
  }
  o.sack_permitted = (tsecr & (1u << 4)) != 0;
  o.ecn = (tsecr & (1u << 5)) != 0;
  return o;
}

}  // namespace inlet::tcp

// SYN cookies (as Linux's net/ipv4/syncookies.c): when a listener's SYN queue
// overflows, the SYN-ACK's ISN encodes a keyed hash of the 4-tuple, a minute
// counter and the MSS (one of four values, covered by the hash so that no
// altered cookie passes for another MSS), and — when the peer sent
// timestamps — the low 6 bits of our TSval carry window scale, SACK and ECN.
// A returning ACK that checks out rebuilds the connection without state.
#pragma once

#include <cstdint>
#include <optional>

#include "tcp/siphash.h"
#include "wire/bytes.h"

namespace inlet::tcp {

struct CookieTuple {
  wire::Ipv4Address saddr;  // the client (the SYN's source)
  wire::Ipv4Address daddr;
  uint16_t sport = 0;
  uint16_t dport = 0;
};

// What a cookie carries in its timestamp (cookie_init_timestamp layout):
// bits 0-3 window scale (0xF = none), bit 4 SACK permitted, bit 5 ECN.
struct CookieOptions {
  std::optional<uint8_t> window_scale;
  bool sack_permitted = false;
  bool ecn = false;
};

class SynCookies {
 public:
  static constexpr uint16_t kMssTable[4] = {536, 1300, 1440, 1460};
  static constexpr uint32_t kMaxAgeMinutes = 2;  // MAX_SYNCOOKIE_AGE

  explicit SynCookies(SipKey k0 = random_sip_key(), SipKey k1 = random_sip_key())
      : key0_(k0), key1_(k1) {}

  // The largest table MSS not above the client's; returns the ISN.
  // `minute` is the coarse clock (seconds / 60).
  uint32_t make(const CookieTuple& t, uint32_t client_isn, uint16_t client_mss,
                uint32_t minute, uint16_t* encoded_mss) const;
  // The MSS the cookie encodes, or nullopt when the cookie is forged or older
  // than kMaxAgeMinutes. `cookie` is the ACK's ack - 1, `client_isn` seq - 1.
  std::optional<uint16_t> check(const CookieTuple& t, uint32_t client_isn, uint32_t cookie,
                                uint32_t minute) const;

  // TSval for the SYN-ACK: `ts_now` with its low 6 bits replaced by the
  // options, kept not above ts_now (so the peer never sees time go back).
  static uint32_t encode_timestamp(uint32_t ts_now, const CookieOptions& o);
  // The options from an ACK's TSecr; nullopt if the bits are impossible.
  static std::optional<CookieOptions> decode_timestamp(uint32_t tsecr);

 private:
  uint32_t hash(const CookieTuple& t, uint32_t count, int which) const;
  uint32_t low_bits(const CookieTuple& t, uint32_t minute, uint32_t index) const;

  SipKey key0_;
  SipKey key1_;
};

}  // namespace inlet::tcp

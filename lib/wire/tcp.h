// TCP headers (RFC 9293 3.1) and their options (MSS, window scale RFC 7323,
// SACK RFC 2018, timestamps RFC 7323, Fast Open RFC 7413): a checked view
// with the options parsed once, checksum verification, and a Repr to emit.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "wire/bytes.h"
#include "wire/result.h"

namespace inlet::wire {

namespace tcpflag {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;
inline constexpr uint8_t kEce = 0x40;
inline constexpr uint8_t kCwr = 0x80;
}  // namespace tcpflag

namespace tcpopt {
inline constexpr uint8_t kEol = 0;
inline constexpr uint8_t kNop = 1;
inline constexpr uint8_t kMss = 2;
inline constexpr uint8_t kWindowScale = 3;
inline constexpr uint8_t kSackPermitted = 4;
inline constexpr uint8_t kSack = 5;
inline constexpr uint8_t kTimestamps = 8;
inline constexpr uint8_t kMd5 = 19;
inline constexpr uint8_t kAuthentication = 29;
inline constexpr uint8_t kMptcp = 30;
inline constexpr uint8_t kFastOpen = 34;
inline constexpr uint8_t kExperimental = 254;     // RFC 6994, with a 16-bit ExID
inline constexpr uint16_t kFastOpenExid = 0xF989;  // TFO before kind 34 was assigned
}  // namespace tcpopt

inline constexpr size_t kTcpMinHeaderLength = 20;
inline constexpr size_t kTcpMaxHeaderLength = 60;
inline constexpr size_t kTcpMaxOptionsLength = 40;
inline constexpr uint8_t kTcpMaxWindowScale = 14;  // RFC 7323 2.3
inline constexpr size_t kTcpMaxSackBlocks = 4;
inline constexpr size_t kTcpFastOpenCookieMin = 4;
inline constexpr size_t kTcpFastOpenCookieMax = 16;

struct TcpSackBlock {
  uint32_t left = 0;   // first sequence number of the block
  uint32_t right = 0;  // one past the last
  bool operator==(const TcpSackBlock&) const = default;
};

struct TcpTimestamps {
  uint32_t value = 0;  // TSval
  uint32_t echo = 0;   // TSecr
  bool operator==(const TcpTimestamps&) const = default;
};

// The options of one segment. The wire layer records what was sent; whether
// an option counts (MSS and window scale only on a SYN, say) is TCP's call.
struct TcpOptions {
  std::optional<uint16_t> mss;
  std::optional<uint8_t> window_scale;  // the shift as received, may exceed 14
  bool sack_permitted = false;
  uint8_t sack_count = 0;  // 0..4 valid entries in sack_blocks
  std::array<TcpSackBlock, kTcpMaxSackBlocks> sack_blocks{};
  std::optional<TcpTimestamps> timestamps;
  // Fast Open: present with an empty cookie is a cookie request (RFC 7413 4.1.1).
  bool fast_open = false;
  bool fast_open_experimental = false;  // came (or goes) as kind 254 + ExID 0xF989
  uint8_t fast_open_cookie_length = 0;
  std::array<uint8_t, kTcpFastOpenCookieMax> fast_open_cookie{};

  // RFC 7323 2.3: a shift above 14 is used as 14 (and worth logging).
  std::optional<uint8_t> window_scale_clamped() const {
    if (!window_scale) return std::nullopt;
    return *window_scale > kTcpMaxWindowScale ? kTcpMaxWindowScale : *window_scale;
  }
  std::span<const TcpSackBlock> sack() const {
    const size_t n = sack_count < kTcpMaxSackBlocks ? sack_count : kTcpMaxSackBlocks;
    return std::span<const TcpSackBlock>(sack_blocks).first(n);
  }
  void add_sack(TcpSackBlock b) {
    if (sack_count < kTcpMaxSackBlocks) sack_blocks[sack_count++] = b;
  }
  std::span<const uint8_t> fast_open_cookie_bytes() const {
    const size_t n = fast_open_cookie_length < kTcpFastOpenCookieMax ? fast_open_cookie_length
                                                                     : kTcpFastOpenCookieMax;
    return std::span<const uint8_t>(fast_open_cookie).first(n);
  }
  bool fast_open_cookie_request() const { return fast_open && fast_open_cookie_length == 0; }
  // Sets a cookie (or, empty, a cookie request).
  void set_fast_open_cookie(std::span<const uint8_t> cookie);

  // Encoded length, NOP padding included (may exceed 40: emit then fails).
  size_t encoded_length() const;
  // Every field can be encoded: at most 4 SACK blocks, a cookie of 0 or
  // 4..16 even bytes, at most 40 bytes in all.
  bool encodable() const;
  // Compares what is present, not stale bytes past the counts.
  bool operator==(const TcpOptions& o) const;
};

// Parses an options area (RFC 9293 3.1, 3.2): EOL ends it; NOP is one byte;
// any other option needs a length byte >= 2 that fits (else kBadOptions).
// Known kinds must have their length: MSS 4, window scale 3, SACK-permitted
// 2, SACK 2 + 8n with n in 1..4, timestamps 10, Fast Open 2 + a cookie of 0
// or 4..16 even bytes (kind 34, or kind 254 with ExID 0xF989 and 4 + cookie);
// a wrong length is kBadOptions. Unknown kinds are skipped.
WireResult<TcpOptions> parse_tcp_options(std::span<const uint8_t> options);

// Writes the options in the kernel's order and layout (MSS; SACK-permitted
// and timestamps packed with NOPs; NOP + window scale; NOP NOP + SACK; Fast
// Open), NOP-padded to a multiple of 4. Returns the length, or 0 (writing
// nothing) if not encodable() or `out` is too short. Nothing to write is 0 too.
size_t emit_tcp_options(const TcpOptions& options, std::span<uint8_t> out);

class TcpView {
 public:
  // `segment` is the whole IPv4 payload (TCP has no length field of its own).
  // kTooShort below 20 bytes; kBadHeaderLength if the data offset is below 5
  // or past the bytes; kBadOptions from parse_tcp_options.
  static WireResult<TcpView> parse(std::span<const uint8_t> segment);
  // The same, then kBadChecksum unless checksum_ok(src, dst).
  static WireResult<TcpView> parse(std::span<const uint8_t> segment, Ipv4Address src,
                                   Ipv4Address dst);

  uint16_t src_port() const { return load_be16(p()); }
  uint16_t dst_port() const { return load_be16(p() + 2); }
  uint32_t seq() const { return load_be32(p() + 4); }
  uint32_t ack() const { return load_be32(p() + 8); }
  size_t header_length() const { return static_cast<size_t>(p()[12] >> 4) * 4; }
  // The four bits after the data offset (the last is AccECN's AE).
  uint8_t reserved_bits() const { return p()[12] & 0x0F; }
  uint8_t flags() const { return p()[13]; }
  bool fin() const { return (flags() & tcpflag::kFin) != 0; }
  bool syn() const { return (flags() & tcpflag::kSyn) != 0; }
  bool rst() const { return (flags() & tcpflag::kRst) != 0; }
  bool psh() const { return (flags() & tcpflag::kPsh) != 0; }
  bool ack_flag() const { return (flags() & tcpflag::kAck) != 0; }
  bool urg() const { return (flags() & tcpflag::kUrg) != 0; }
  bool ece() const { return (flags() & tcpflag::kEce) != 0; }
  bool cwr() const { return (flags() & tcpflag::kCwr) != 0; }
  uint16_t window() const { return load_be16(p() + 14); }  // unscaled
  uint16_t checksum() const { return load_be16(p() + 16); }
  uint16_t urgent_pointer() const { return load_be16(p() + 18); }

  const TcpOptions& options() const { return options_; }
  std::span<const uint8_t> options_bytes() const {
    return bytes_.subspan(kTcpMinHeaderLength, header_length() - kTcpMinHeaderLength);
  }
  std::span<const uint8_t> payload() const { return bytes_.subspan(header_length()); }
  std::span<const uint8_t> bytes() const { return bytes_; }
  // SEG.LEN (RFC 9293 3.3.1): data plus one for each of SYN and FIN.
  uint32_t segment_length() const {
    return static_cast<uint32_t>(payload().size()) + (syn() ? 1 : 0) + (fin() ? 1 : 0);
  }
  // Over the pseudo-header (RFC 9293 3.1), header and data.
  bool checksum_ok(Ipv4Address src, Ipv4Address dst) const;

 private:
  TcpView(std::span<const uint8_t> b, const TcpOptions& o) : bytes_(b), options_(o) {}
  const uint8_t* p() const { return bytes_.data(); }
  std::span<const uint8_t> bytes_;
  TcpOptions options_;
};

struct TcpRepr {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;  // tcpflag bits
  uint16_t window = 0;
  uint16_t urgent_pointer = 0;
  TcpOptions options;
  uint16_t payload_length = 0;

  static TcpRepr from(const TcpView& v);
  size_t header_length() const { return kTcpMinHeaderLength + options.encoded_length(); }
  size_t total_length() const { return header_length() + payload_length; }
  // Writes header and options into out[0, header_length()) and the checksum
  // over the pseudo-header, header and the payload_length bytes that follow
  // in `out`. Returns header_length(), or 0 (writing nothing) if the options
  // are not encodable, `out` is shorter than total_length(), or that exceeds
  // 65535.
  size_t emit(std::span<uint8_t> out, Ipv4Address src, Ipv4Address dst) const;
  bool operator==(const TcpRepr&) const = default;
};

}  // namespace inlet::wire

// IPv4 headers (RFC 791 3.1, RFC 1122 3.2.1, RFC 1812 5.2.2): a checked view
// with an option iterator, the option checks of Linux's ip_options_compile, a
// Repr that emits a header with its checksum, and in-place header edits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>

#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/result.h"

namespace inlet::wire {

namespace ipproto {
inline constexpr uint8_t kIcmp = 1;
inline constexpr uint8_t kIgmp = 2;
inline constexpr uint8_t kTcp = 6;
inline constexpr uint8_t kUdp = 17;
}  // namespace ipproto

namespace ipv4opt {
inline constexpr uint8_t kEol = 0;
inline constexpr uint8_t kNop = 1;
inline constexpr uint8_t kRecordRoute = 7;
inline constexpr uint8_t kTimestamp = 68;
inline constexpr uint8_t kSecurity = 130;
inline constexpr uint8_t kLooseSourceRoute = 131;
inline constexpr uint8_t kCipso = 134;
inline constexpr uint8_t kStreamId = 136;
inline constexpr uint8_t kStrictSourceRoute = 137;
inline constexpr uint8_t kRouterAlert = 148;  // RFC 2113
}  // namespace ipv4opt

inline constexpr size_t kIpv4MinHeaderLength = 20;
inline constexpr size_t kIpv4MaxHeaderLength = 60;
inline constexpr size_t kIpv4MaxOptionsLength = 40;
inline constexpr size_t kIpv4MaxTotalLength = 65535;

// One option as it sits in the header. `bytes` is the whole option: one byte
// for NOP, kind + length + data for the others.
struct Ipv4Option {
  uint8_t kind = 0;
  std::span<const uint8_t> bytes;

  size_t length() const { return bytes.size(); }
  // After the kind and length bytes (empty for NOP).
  std::span<const uint8_t> data() const {
    return bytes.size() > 2 ? bytes.subspan(2) : bytes.first(0);
  }
  // RFC 791: the copied flag says the option goes into every fragment.
  bool copied() const { return (kind & 0x80) != 0; }
};

// Walks the options area, yielding NOPs and options, stopping at EOL or at the
// first malformed option (which a parsed view never has).
class Ipv4OptionIterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = Ipv4Option;
  using difference_type = std::ptrdiff_t;
  using pointer = const Ipv4Option*;
  using reference = const Ipv4Option&;

  Ipv4OptionIterator() = default;
  explicit Ipv4OptionIterator(std::span<const uint8_t> rest) : rest_(rest) { load(); }

  reference operator*() const { return current_; }
  pointer operator->() const { return &current_; }
  Ipv4OptionIterator& operator++() {
    rest_ = rest_.subspan(current_.bytes.size());
    load();
    return *this;
  }
  Ipv4OptionIterator operator++(int) {
    Ipv4OptionIterator old = *this;
    ++*this;
    return old;
  }
  // Iterators compare equal when both are done; the walk is forward only.
  bool operator==(const Ipv4OptionIterator& other) const {
    return done() == other.done() && (done() || rest_.data() == other.rest_.data());
  }

 private:
  bool done() const { return rest_.empty(); }
  void load();
  std::span<const uint8_t> rest_;
  Ipv4Option current_;
};

struct Ipv4Options {
  std::span<const uint8_t> bytes;
  Ipv4OptionIterator begin() const { return Ipv4OptionIterator(bytes); }
  Ipv4OptionIterator end() const { return Ipv4OptionIterator(); }
  bool empty() const { return begin() == end(); }
  std::optional<Ipv4Option> find(uint8_t kind) const;
};

// Checks an options area as Linux's ip_options_compile does on receive: EOL
// ends the list; NOP is one byte; any other option needs a length byte >= 2
// that fits; record route and source routes need length >= 3 and pointer >= 4
// (record route with room for the next address when pointer <= length); a
// second source route is refused (RFC 1812 5.2.4.1); timestamp needs length
// >= 4, pointer >= 5, room for its next entry, and a non-full overflow count
// once full; router alert is exactly 4 bytes. Unknown kinds pass when they
// are well-formed. Returns nullopt when fine, else the offset from the start
// of the IPv4 header of the offending byte — the Parameter Problem pointer
// (RFC 792, RFC 1812 4.3.2.3).
std::optional<uint8_t> ipv4_options_problem(std::span<const uint8_t> options);

class Ipv4View {
 public:
  // Checks, in order: 20 bytes (kTooShort), version 4 (kBadVersion), IHL >= 5
  // and IHL*4 <= bytes (kBadHeaderLength), total length >= IHL*4
  // (kBadTotalLength), total length <= bytes (kTruncated), header checksum
  // unless `checksum` is kSkip (kBadChecksum), options (kBadOptions). Bytes
  // beyond the total length (Ethernet padding) are outside the view.
  static WireResult<Ipv4View> parse(std::span<const uint8_t> bytes,
                                    ChecksumMode checksum = ChecksumMode::kVerify) {
    return parse_head(bytes, bytes.size(), checksum);
  }
  // The same for a datagram scattered over buffers (a receive chain): `first`
  // is the first buffer, which must hold the whole header, and the total
  // length is checked against `frame_length`, the bytes of all buffers. The
  // view, and so payload(), covers what `first` holds of the datagram.
  static WireResult<Ipv4View> parse_head(std::span<const uint8_t> first, size_t frame_length,
                                         ChecksumMode checksum = ChecksumMode::kVerify);

  uint8_t version() const { return p()[0] >> 4; }
  size_t header_length() const { return size_t{p()[0] & 0x0Fu} * 4; }
  uint8_t tos() const { return p()[1]; }
  uint8_t dscp() const { return p()[1] >> 2; }
  uint8_t ecn() const { return p()[1] & 0x3; }
  uint16_t total_length() const { return load_be16(p() + 2); }
  uint16_t ident() const { return load_be16(p() + 4); }
  bool reserved_flag() const { return (p()[6] & 0x80) != 0; }
  bool dont_fragment() const { return (p()[6] & 0x40) != 0; }
  bool more_fragments() const { return (p()[6] & 0x20) != 0; }
  // In bytes (the field counts 8-byte units).
  uint16_t fragment_offset() const {
    return static_cast<uint16_t>((load_be16(p() + 6) & 0x1FFF) * 8);
  }
  bool is_fragment() const { return more_fragments() || (load_be16(p() + 6) & 0x1FFF) != 0; }
  uint8_t ttl() const { return p()[8]; }
  uint8_t protocol() const { return p()[9]; }
  uint16_t header_checksum() const { return load_be16(p() + 10); }
  Ipv4Address src() const { return Ipv4Address::load(p() + 12); }
  Ipv4Address dst() const { return Ipv4Address::load(p() + 16); }

  std::span<const uint8_t> header() const { return bytes_.first(header_length()); }
  std::span<const uint8_t> options_bytes() const {
    return bytes_.subspan(kIpv4MinHeaderLength, header_length() - kIpv4MinHeaderLength);
  }
  Ipv4Options options() const { return {options_bytes()}; }
  bool has_options() const { return header_length() > kIpv4MinHeaderLength; }
  // From the end of the header to the total length.
  std::span<const uint8_t> payload() const { return bytes_.subspan(header_length()); }
  // The whole datagram, header to total length.
  std::span<const uint8_t> bytes() const { return bytes_; }

 private:
  explicit Ipv4View(std::span<const uint8_t> b) : bytes_(b) {}
  const uint8_t* p() const { return bytes_.data(); }
  std::span<const uint8_t> bytes_;
};

struct Ipv4Repr {
  Ipv4Address src;
  Ipv4Address dst;
  uint8_t protocol = 0;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t ident = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  uint16_t frag_offset = 0;       // in bytes, a multiple of 8
  uint16_t payload_length = 0;
  std::span<const uint8_t> options;  // raw option bytes, at most 40; padded with EOL

  static Ipv4Repr from(const Ipv4View& v);
  size_t header_length() const {
    return kIpv4MinHeaderLength + ((options.size() + 3) & ~size_t{3});
  }
  size_t total_length() const { return header_length() + payload_length; }
  // Writes the header with its checksum (the payload is the caller's). Returns
  // the header length, or 0 — writing nothing — if `out` is too short, the
  // options exceed 40 bytes, the total length exceeds 65535, or frag_offset
  // is not a multiple of 8 below 65536.
  size_t emit(std::span<uint8_t> out) const;
  bool operator==(const Ipv4Repr& o) const;
};

// In-place edits of a header in a buffer, each keeping the header checksum
// right by an RFC 1624 incremental update. All return false, changing
// nothing, when `header` is shorter than 20 bytes.
bool ipv4_set_ttl(std::span<uint8_t> header, uint8_t ttl);
// Forwarding's TTL - 1 (as the kernel's ip_decrease_ttl); false as well if TTL is 0.
bool ipv4_decrease_ttl(std::span<uint8_t> header);
bool ipv4_set_tos(std::span<uint8_t> header, uint8_t tos);
bool ipv4_set_src(std::span<uint8_t> header, Ipv4Address src);
bool ipv4_set_dst(std::span<uint8_t> header, Ipv4Address dst);
bool ipv4_set_total_length(std::span<uint8_t> header, uint16_t total_length);
// Swapping src and dst leaves the sum, and so the checksum, unchanged.
bool ipv4_swap_addresses(std::span<uint8_t> header);
// Recomputes the checksum over IHL*4 bytes; false if the span is shorter.
bool ipv4_fill_checksum(std::span<uint8_t> header);

}  // namespace inlet::wire

// IPv4 header parse, option checks, emit and in-place edits.
#include "wire/ipv4.h"

#include <algorithm>
#include <cstring>

namespace inlet::wire {

void Ipv4OptionIterator::load() {
  if (rest_.empty()) return;
  const uint8_t kind = rest_[0];
  if (kind == ipv4opt::kEol) {
    rest_ = {};
    return;
  }
  if (kind == ipv4opt::kNop) {
    current_ = {kind, rest_.first(1)};
    return;
  }
  if (rest_.size() < 2 || rest_[1] < 2 || rest_[1] > rest_.size()) {
    rest_ = {};  // malformed: stop rather than read past the area
    return;
  }
  current_ = {kind, rest_.first(rest_[1])};
}

std::optional<Ipv4Option> Ipv4Options::find(uint8_t kind) const {
  for (const Ipv4Option& o : *this) {
    if (o.kind == kind) return o;
  }
  return std::nullopt;
}

std::optional<uint8_t> ipv4_options_problem(std::span<const uint8_t> options) {
  const uint8_t* const start = options.data();
  const auto at = [start](const uint8_t* q) {
    return static_cast<uint8_t>(kIpv4MinHeaderLength + static_cast<size_t>(q - start));
  };
  bool seen_source_route = false;
  const uint8_t* opt = start;
  size_t left = options.size();
  while (left > 0) {
    const uint8_t kind = opt[0];
    if (kind == ipv4opt::kEol) break;
    if (kind == ipv4opt::kNop) {
      ++opt;
      --left;
      continue;
    }
    if (left < 2) return at(opt);
    const uint8_t len = opt[1];
    if (len < 2 || len > left) return at(opt + 1);
    switch (kind) {
      case ipv4opt::kLooseSourceRoute:
      case ipv4opt::kStrictSourceRoute:
        if (len < 3) return at(opt + 1);
        if (opt[2] < 4) return at(opt + 2);
        if (seen_source_route) return at(opt);
        seen_source_route = true;
        break;
      case ipv4opt::kRecordRoute:
        if (len < 3) return at(opt + 1);
        if (opt[2] < 4) return at(opt + 2);
        if (opt[2] <= len && opt[2] + 3 > len) return at(opt + 2);
        break;
      case ipv4opt::kTimestamp: {
        if (len < 4) return at(opt + 1);
        if (opt[2] < 5) return at(opt + 2);
        if (opt[2] <= len) {
          const uint8_t flag = opt[3] & 0x0F;
          // 0: timestamps only; 1: address + timestamp; 3: prespecified.
          const int entry = flag == 0 ? 4 : (flag == 1 || flag == 3) ? 8 : 0;
          if (entry != 0 && opt[2] + entry - 1 > len) return at(opt + 2);
        } else if ((opt[3] >> 4) == 0x0F) {
          return at(opt + 3);  // full, and the overflow count is full too
        }
        break;
      }
      case ipv4opt::kRouterAlert:
        if (len != 4) return at(opt + 1);
        break;
      default:
        break;
    }
    opt += len;
    left -= len;
  }
  return std::nullopt;
}

WireResult<Ipv4View> Ipv4View::parse_head(std::span<const uint8_t> bytes, size_t frame_length,
                                           ChecksumMode checksum) {
  if (frame_length < bytes.size()) frame_length = bytes.size();
  if (bytes.size() < kIpv4MinHeaderLength) return WireError::kTooShort;
  const uint8_t* p = bytes.data();
  if ((p[0] >> 4) != 4) return WireError::kBadVersion;
  const size_t ihl = size_t{p[0] & 0x0Fu} * 4;
  if (ihl < kIpv4MinHeaderLength || ihl > bytes.size()) return WireError::kBadHeaderLength;
  const size_t total = load_be16(p + 2);
  if (total < ihl) return WireError::kBadTotalLength;
  if (total > frame_length) return WireError::kTruncated;
  if (checksum == ChecksumMode::kVerify && !header_checksum_ok(p, ihl / 4)) {
    return WireError::kBadChecksum;
  }
  if (ihl > kIpv4MinHeaderLength &&
      ipv4_options_problem(bytes.subspan(kIpv4MinHeaderLength, ihl - kIpv4MinHeaderLength))) {
    return WireError::kBadOptions;
  }
  return Ipv4View(bytes.first(std::min(total, bytes.size())));
}

Ipv4Repr Ipv4Repr::from(const Ipv4View& v) {
  Ipv4Repr r;
  r.src = v.src();
  r.dst = v.dst();
  r.protocol = v.protocol();
  r.ttl = v.ttl();
  r.tos = v.tos();
  r.ident = v.ident();
  r.dont_fragment = v.dont_fragment();
  r.more_fragments = v.more_fragments();
  r.frag_offset = v.fragment_offset();
  r.payload_length = static_cast<uint16_t>(v.payload().size());
  r.options = v.options_bytes();
  return r;
}

size_t Ipv4Repr::emit(std::span<uint8_t> out) const {
  const size_t hlen = header_length();
  if (options.size() > kIpv4MaxOptionsLength || hlen + payload_length > kIpv4MaxTotalLength ||
      frag_offset % 8 != 0 || out.size() < hlen) {
    return 0;
  }
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(0x40 | (hlen / 4));
  p[1] = tos;
  store_be16(p + 2, static_cast<uint16_t>(hlen + payload_length));
  store_be16(p + 4, ident);
  const uint16_t flags =
      static_cast<uint16_t>((dont_fragment ? 0x4000 : 0) | (more_fragments ? 0x2000 : 0));
  store_be16(p + 6, static_cast<uint16_t>(flags | (frag_offset / 8)));
  p[8] = ttl;
  p[9] = protocol;
  store_be16(p + 10, 0);
  src.store(p + 12);
  dst.store(p + 16);
  if (!options.empty()) std::memmove(p + kIpv4MinHeaderLength, options.data(), options.size());
  std::memset(p + kIpv4MinHeaderLength + options.size(), ipv4opt::kEol,
              hlen - kIpv4MinHeaderLength - options.size());
  store_be16(p + 10, internet_checksum(out.first(hlen)));
  return hlen;
}

bool Ipv4Repr::operator==(const Ipv4Repr& o) const {
  return src == o.src && dst == o.dst && protocol == o.protocol && ttl == o.ttl &&
         tos == o.tos && ident == o.ident && dont_fragment == o.dont_fragment &&
         more_fragments == o.more_fragments && frag_offset == o.frag_offset &&
         payload_length == o.payload_length &&
         std::equal(options.begin(), options.end(), o.options.begin(), o.options.end());
}

namespace {

// Replaces the 16-bit word at `offset` and patches the checksum (RFC 1624).
void replace_word(std::span<uint8_t> header, size_t offset, uint16_t value) {
  uint8_t* p = header.data();
  const uint16_t old = load_be16(p + offset);
  store_be16(p + offset, value);
  store_be16(p + 10, checksum_update16(load_be16(p + 10), old, value));
}

}  // namespace

bool ipv4_set_ttl(std::span<uint8_t> header, uint8_t ttl) {
  if (header.size() < kIpv4MinHeaderLength) return false;
  replace_word(header, 8, static_cast<uint16_t>((ttl << 8) | header[9]));
  return true;
}

bool ipv4_decrease_ttl(std::span<uint8_t> header) {
  if (header.size() < kIpv4MinHeaderLength || header[8] == 0) return false;
  return ipv4_set_ttl(header, static_cast<uint8_t>(header[8] - 1));
}

bool ipv4_set_tos(std::span<uint8_t> header, uint8_t tos) {
  if (header.size() < kIpv4MinHeaderLength) return false;
  replace_word(header, 0, static_cast<uint16_t>((header[0] << 8) | tos));
  return true;
}

bool ipv4_set_total_length(std::span<uint8_t> header, uint16_t total_length) {
  if (header.size() < kIpv4MinHeaderLength) return false;
  replace_word(header, 2, total_length);
  return true;
}

bool ipv4_set_src(std::span<uint8_t> header, Ipv4Address src) {
  if (header.size() < kIpv4MinHeaderLength) return false;
  uint8_t* p = header.data();
  const uint32_t old = load_be32(p + 12);
  src.store(p + 12);
  store_be16(p + 10, checksum_update32(load_be16(p + 10), old, src.value()));
  return true;
}

bool ipv4_set_dst(std::span<uint8_t> header, Ipv4Address dst) {
  if (header.size() < kIpv4MinHeaderLength) return false;
  uint8_t* p = header.data();
  const uint32_t old = load_be32(p + 16);
  dst.store(p + 16);
  store_be16(p + 10, checksum_update32(load_be16(p + 10), old, dst.value()));
  return true;
}

bool ipv4_swap_addresses(std::span<uint8_t> header) {
  if (header.size() < kIpv4MinHeaderLength) return false;
  uint8_t tmp[4];
  std::memcpy(tmp, header.data() + 12, 4);
  std::memmove(header.data() + 12, header.data() + 16, 4);
  std::memcpy(header.data() + 16, tmp, 4);
  return true;
}

bool ipv4_fill_checksum(std::span<uint8_t> header) {
  if (header.size() < kIpv4MinHeaderLength) return false;
  const size_t ihl = size_t{header[0] & 0x0Fu} * 4;
  if (ihl < kIpv4MinHeaderLength || ihl > header.size()) return false;
  store_be16(header.data() + 10, 0);
  store_be16(header.data() + 10, internet_checksum(header.first(ihl)));
  return true;
}

}  // namespace inlet::wire

// TCP header and option parse, checksum verification, and emit.
#include "wire/tcp.h"

#include <algorithm>
#include <cstring>

#include "wire/checksum.h"
#include "wire/ipv4.h"

namespace inlet::wire {
namespace {

constexpr bool valid_cookie_length(size_t n) {
  return n == 0 || (n >= kTcpFastOpenCookieMin && n <= kTcpFastOpenCookieMax && n % 2 == 0);
}

// Writes (when `out` is non-null) or measures the option bytes, unpadded.
size_t encode_options(const TcpOptions& o, uint8_t* out) {
  size_t n = 0;
  auto put = [&](uint8_t b) {
    if (out != nullptr) out[n] = b;
    ++n;
  };
  auto put16 = [&](uint16_t v) {
    put(static_cast<uint8_t>(v >> 8));
    put(static_cast<uint8_t>(v));
  };
  auto put32 = [&](uint32_t v) {
    put16(static_cast<uint16_t>(v >> 16));
    put16(static_cast<uint16_t>(v));
  };
  if (o.mss) {
    put(tcpopt::kMss);
    put(4);
    put16(*o.mss);
  }
  if (o.timestamps) {
    if (o.sack_permitted) {
      put(tcpopt::kSackPermitted);
      put(2);
    } else {
      put(tcpopt::kNop);
      put(tcpopt::kNop);
    }
    put(tcpopt::kTimestamps);
    put(10);
    put32(o.timestamps->value);
    put32(o.timestamps->echo);
  } else if (o.sack_permitted) {
    put(tcpopt::kNop);
    put(tcpopt::kNop);
    put(tcpopt::kSackPermitted);
    put(2);
  }
  if (o.window_scale) {
    put(tcpopt::kNop);
    put(tcpopt::kWindowScale);
    put(3);
    put(*o.window_scale);
  }
  if (o.sack_count > 0) {
    const std::span<const TcpSackBlock> blocks = o.sack();
    put(tcpopt::kNop);
    put(tcpopt::kNop);
    put(tcpopt::kSack);
    put(static_cast<uint8_t>(2 + 8 * blocks.size()));
    for (const TcpSackBlock& b : blocks) {
      put32(b.left);
      put32(b.right);
    }
  }
  if (o.fast_open) {
    const std::span<const uint8_t> cookie = o.fast_open_cookie_bytes();
    if (o.fast_open_experimental) {
      put(tcpopt::kExperimental);
      put(static_cast<uint8_t>(4 + cookie.size()));
      put16(tcpopt::kFastOpenExid);
    } else {
      put(tcpopt::kFastOpen);
      put(static_cast<uint8_t>(2 + cookie.size()));
    }
    for (uint8_t b : cookie) put(b);
  }
  while (n % 4 != 0) put(tcpopt::kNop);
  return n;
}

}  // namespace

void TcpOptions::set_fast_open_cookie(std::span<const uint8_t> cookie) {
  fast_open = true;
  const size_t n = std::min(cookie.size(), kTcpFastOpenCookieMax);
  std::copy_n(cookie.begin(), n, fast_open_cookie.begin());
  // An over-long cookie keeps its length so that encodable() refuses it.
  fast_open_cookie_length = static_cast<uint8_t>(std::min<size_t>(cookie.size(), 255));
}

size_t TcpOptions::encoded_length() const { return encode_options(*this, nullptr); }

bool TcpOptions::encodable() const {
  if (sack_count > kTcpMaxSackBlocks) return false;
  if (fast_open && !valid_cookie_length(fast_open_cookie_length)) return false;
  return encoded_length() <= kTcpMaxOptionsLength;
}

bool TcpOptions::operator==(const TcpOptions& o) const {
  const auto s1 = sack();
  const auto s2 = o.sack();
  const auto c1 = fast_open_cookie_bytes();
  const auto c2 = o.fast_open_cookie_bytes();
  return mss == o.mss && window_scale == o.window_scale && sack_permitted == o.sack_permitted &&
         sack_count == o.sack_count && std::equal(s1.begin(), s1.end(), s2.begin(), s2.end()) &&
         timestamps == o.timestamps && fast_open == o.fast_open &&
         (!fast_open || (fast_open_experimental == o.fast_open_experimental &&
                         fast_open_cookie_length == o.fast_open_cookie_length &&
                         std::equal(c1.begin(), c1.end(), c2.begin(), c2.end())));
}

WireResult<TcpOptions> parse_tcp_options(std::span<const uint8_t> options) {
  TcpOptions out;
  const uint8_t* o = options.data();
  const size_t n = options.size();
  size_t i = 0;
  while (i < n) {
    const uint8_t kind = o[i];
    if (kind == tcpopt::kEol) break;
    if (kind == tcpopt::kNop) {
      ++i;
      continue;
    }
    if (n - i < 2) return WireError::kBadOptions;  // no room for a length byte
    const uint8_t len = o[i + 1];
    if (len < 2 || len > n - i) return WireError::kBadOptions;
    const uint8_t* body = o + i + 2;
    const size_t body_len = len - 2u;
    switch (kind) {
      case tcpopt::kMss:
        if (len != 4) return WireError::kBadOptions;
        out.mss = load_be16(body);
        break;
      case tcpopt::kWindowScale:
        if (len != 3) return WireError::kBadOptions;
        out.window_scale = body[0];
        break;
      case tcpopt::kSackPermitted:
        if (len != 2) return WireError::kBadOptions;
        out.sack_permitted = true;
        break;
      case tcpopt::kSack: {
        if (body_len == 0 || body_len % 8 != 0 || body_len / 8 > kTcpMaxSackBlocks) {
          return WireError::kBadOptions;
        }
        out.sack_count = 0;
        for (size_t k = 0; k < body_len / 8; ++k) {
          out.add_sack({load_be32(body + 8 * k), load_be32(body + 8 * k + 4)});
        }
        break;
      }
      case tcpopt::kTimestamps:
        if (len != 10) return WireError::kBadOptions;
        out.timestamps = TcpTimestamps{load_be32(body), load_be32(body + 4)};
        break;
      case tcpopt::kFastOpen:
        if (!valid_cookie_length(body_len)) return WireError::kBadOptions;
        out.fast_open_experimental = false;
        out.set_fast_open_cookie({body, body_len});
        break;
      case tcpopt::kExperimental:
        // Other experiments (and ExID-less lengths 2..3) are skipped.
        if (body_len >= 2 && load_be16(body) == tcpopt::kFastOpenExid) {
          if (!valid_cookie_length(body_len - 2)) return WireError::kBadOptions;
          out.fast_open_experimental = true;
          out.set_fast_open_cookie({body + 2, body_len - 2});
        }
        break;
      default:
        break;
    }
    i += len;
  }
  return out;
}

size_t emit_tcp_options(const TcpOptions& options, std::span<uint8_t> out) {
  if (!options.encodable()) return 0;
  const size_t n = options.encoded_length();
  if (out.size() < n) return 0;
  return encode_options(options, out.data());
}

WireResult<TcpView> TcpView::parse(std::span<const uint8_t> segment) {
  if (segment.size() < kTcpMinHeaderLength) return WireError::kTooShort;
  const size_t hlen = static_cast<size_t>(segment[12] >> 4) * 4;
  if (hlen < kTcpMinHeaderLength || hlen > segment.size()) return WireError::kBadHeaderLength;
  const WireResult<TcpOptions> options =
      parse_tcp_options(segment.subspan(kTcpMinHeaderLength, hlen - kTcpMinHeaderLength));
  if (!options.ok()) return options.error();
  return TcpView(segment, options.value());
}

WireResult<TcpView> TcpView::parse(std::span<const uint8_t> segment, Ipv4Address src,
                                   Ipv4Address dst) {
  WireResult<TcpView> r = parse(segment);
  if (r.ok() && !r.value().checksum_ok(src, dst)) return WireError::kBadChecksum;
  return r;
}

bool TcpView::checksum_ok(Ipv4Address src, Ipv4Address dst) const {
  if (bytes_.size() > 0xFFFF) return false;
  const uint32_t pseudo =
      ipv4_pseudo_header_sum(src, dst, ipproto::kTcp, static_cast<uint16_t>(bytes_.size()));
  return internet_checksum(bytes_, pseudo) == 0;
}

TcpRepr TcpRepr::from(const TcpView& v) {
  TcpRepr r;
  r.src_port = v.src_port();
  r.dst_port = v.dst_port();
  r.seq = v.seq();
  r.ack = v.ack();
  r.flags = v.flags();
  r.window = v.window();
  r.urgent_pointer = v.urgent_pointer();
  r.options = v.options();
  r.payload_length = static_cast<uint16_t>(v.payload().size());
  return r;
}

size_t TcpRepr::emit(std::span<uint8_t> out, Ipv4Address src, Ipv4Address dst) const {
  if (!options.encodable()) return 0;
  const size_t hlen = header_length();
  const size_t total = hlen + payload_length;
  if (out.size() < total || total > 0xFFFF) return 0;
  uint8_t* p = out.data();
  store_be16(p, src_port);
  store_be16(p + 2, dst_port);
  store_be32(p + 4, seq);
  store_be32(p + 8, ack);
  p[12] = static_cast<uint8_t>((hlen / 4) << 4);
  p[13] = flags;
  store_be16(p + 14, window);
  store_be16(p + 16, 0);
  store_be16(p + 18, urgent_pointer);
  encode_options(options, p + kTcpMinHeaderLength);
  const uint32_t pseudo =
      ipv4_pseudo_header_sum(src, dst, ipproto::kTcp, static_cast<uint16_t>(total));
  store_be16(p + 16, internet_checksum(out.first(total), pseudo));
  return hlen;
}

}  // namespace inlet::wire

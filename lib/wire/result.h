// WireError and WireResult: how a wire parser says no. A parser returns either
// a view that has passed every check or the first check it failed; no heap, no
// exceptions, cheap enough to build and test once per packet.
#pragma once

#include <cassert>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace inlet::wire {

enum class WireError : uint8_t {
  kTooShort,         // fewer bytes than the fixed header needs
  kBadVersion,       // IPv4 version field is not 4
  kBadHeaderLength,  // IHL / data offset too small or past the bytes given
  kBadTotalLength,   // IPv4 total length below the header length
  kTruncated,        // a length field promises more bytes than were given
  kBadChecksum,      // a checksum did not verify
  kBadOptions,       // an IPv4 or TCP option is malformed
  kBadLength,        // a length field (UDP length, ARP hlen/plen) is wrong
  kUnsupported,      // well-formed but not something inlet handles
};

constexpr const char* wire_error_name(WireError e) {
  switch (e) {
    case WireError::kTooShort: return "too_short";
    case WireError::kBadVersion: return "bad_version";
    case WireError::kBadHeaderLength: return "bad_header_length";
    case WireError::kBadTotalLength: return "bad_total_length";
    case WireError::kTruncated: return "truncated";
    case WireError::kBadChecksum: return "bad_checksum";
    case WireError::kBadOptions: return "bad_options";
    case WireError::kBadLength: return "bad_length";
    case WireError::kUnsupported: return "unsupported";
  }
  return "unknown";
}

// Either a T or a WireError. T must be trivially copyable and destructible
// (views and plain values are), which keeps WireResult trivially copyable too.
template <class T>
class [[nodiscard]] WireResult {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                "WireResult holds views and plain values only");

 public:
  constexpr WireResult(const T& value) : value_(value), ok_(true) {}  // NOLINT: implicit by design
  constexpr WireResult(WireError error) : error_(error), ok_(false) {}  // NOLINT

  constexpr bool ok() const { return ok_; }
  constexpr explicit operator bool() const { return ok_; }

  // Precondition: ok().
  constexpr const T& value() const {
    assert(ok_);
    return value_;
  }
  constexpr T& value() {
    assert(ok_);
    return value_;
  }
  constexpr const T& operator*() const { return value(); }
  constexpr const T* operator->() const { return &value(); }

  // Precondition: !ok().
  constexpr WireError error() const {
    assert(!ok_);
    return error_;
  }

 private:
  union {
    T value_;
    WireError error_;
  };
  bool ok_;
};

}  // namespace inlet::wire

// Byte order and addresses: portable big-endian loads and stores (memcpy, no
// alignment assumptions) and the two address types every header carries,
// Ipv4Address (host-order value) and MacAddress (six octets).
#pragma once

#include <array>
#include <bit>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace inlet::wire {

constexpr uint16_t byteswap16(uint16_t v) { return static_cast<uint16_t>((v << 8) | (v >> 8)); }
constexpr uint32_t byteswap32(uint32_t v) {
  return ((v & 0x000000FFu) << 24) | ((v & 0x0000FF00u) << 8) | ((v & 0x00FF0000u) >> 8) |
         ((v & 0xFF000000u) >> 24);
}
constexpr uint64_t byteswap64(uint64_t v) {
  return (static_cast<uint64_t>(byteswap32(static_cast<uint32_t>(v))) << 32) |
         byteswap32(static_cast<uint32_t>(v >> 32));
}

// Host <-> network order. These are the only place byte order is decided.
constexpr uint16_t host_to_be16(uint16_t v) {
  if constexpr (std::endian::native == std::endian::little) return byteswap16(v);
  return v;
}
constexpr uint32_t host_to_be32(uint32_t v) {
  if constexpr (std::endian::native == std::endian::little) return byteswap32(v);
  return v;
}

inline uint16_t load_be16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return host_to_be16(v);
}
inline uint32_t load_be32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return host_to_be32(v);
}
inline void store_be16(uint8_t* p, uint16_t v) {
  v = host_to_be16(v);
  std::memcpy(p, &v, sizeof v);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  v = host_to_be32(v);
  std::memcpy(p, &v, sizeof v);
}

// An IPv4 address as a host-order integer: 192.0.2.1 is 0xC0000201.
class Ipv4Address {
 public:
  constexpr Ipv4Address() = default;
  constexpr explicit Ipv4Address(uint32_t host_order) : value_(host_order) {}
  static constexpr Ipv4Address from_octets(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return Ipv4Address((uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d);
  }
  // Reads / writes four bytes in network order.
  static Ipv4Address load(const uint8_t* p) { return Ipv4Address(load_be32(p)); }
  void store(uint8_t* p) const { store_be32(p, value_); }

  // Strict dotted quad: four decimal octets 0..255, no leading zeros (so
  // "010.0.0.1" is not silently octal or decimal), nothing else.
  static std::optional<Ipv4Address> parse(std::string_view text);
  std::string to_string() const;

  constexpr uint32_t value() const { return value_; }
  constexpr std::array<uint8_t, 4> octets() const {
    return {static_cast<uint8_t>(value_ >> 24), static_cast<uint8_t>(value_ >> 16),
            static_cast<uint8_t>(value_ >> 8), static_cast<uint8_t>(value_)};
  }

  // Names follow the kernel's ipv4_is_*() helpers (include/linux/in.h).
  constexpr bool is_unspecified() const { return value_ == 0; }                       // 0.0.0.0
  constexpr bool is_zeronet() const { return (value_ & 0xFF000000u) == 0; }           // 0/8
  constexpr bool is_loopback() const { return (value_ & 0xFF000000u) == 0x7F000000u; }  // 127/8
  constexpr bool is_multicast() const { return (value_ & 0xF0000000u) == 0xE0000000u; }  // 224/4
  constexpr bool is_local_multicast() const {  // 224.0.0/24, never forwarded
    return (value_ & 0xFFFFFF00u) == 0xE0000000u;
  }
  constexpr bool is_limited_broadcast() const { return value_ == 0xFFFFFFFFu; }  // 255.255.255.255
  // 240/4 (the kernel's ipv4_is_badclass); includes 255.255.255.255.
  constexpr bool is_class_e() const { return (value_ & 0xF0000000u) == 0xF0000000u; }
  constexpr bool is_link_local() const {  // 169.254/16
    return (value_ & 0xFFFF0000u) == 0xA9FE0000u;
  }
  constexpr bool is_private() const {  // RFC 1918
    return (value_ & 0xFF000000u) == 0x0A000000u || (value_ & 0xFFF00000u) == 0xAC100000u ||
           (value_ & 0xFFFF0000u) == 0xC0A80000u;
  }
  // Neither multicast, broadcast, class E nor 0/8: may be a unicast source.
  constexpr bool is_unicast() const { return !is_multicast() && !is_class_e() && !is_zeronet(); }

  constexpr auto operator<=>(const Ipv4Address&) const = default;

  template <typename H>
  friend H AbslHashValue(H h, Ipv4Address a) {
    return H::combine(std::move(h), a.value_);
  }

 private:
  uint32_t value_ = 0;
};

inline constexpr Ipv4Address kIpv4Any{0};
inline constexpr Ipv4Address kIpv4Broadcast{0xFFFFFFFFu};

// An Ethernet (EUI-48) address.
class MacAddress {
 public:
  constexpr MacAddress() = default;
  constexpr explicit MacAddress(const std::array<uint8_t, 6>& octets) : octets_(octets) {}
  static MacAddress load(const uint8_t* p) {
    MacAddress m;
    std::memcpy(m.octets_.data(), p, 6);
    return m;
  }
  void store(uint8_t* p) const { std::memcpy(p, octets_.data(), 6); }

  // Six two-digit hex groups separated by ':' or '-' (one kind throughout).
  static std::optional<MacAddress> parse(std::string_view text);
  std::string to_string() const;  // "02:00:00:00:00:01"

  constexpr const std::array<uint8_t, 6>& octets() const { return octets_; }
  constexpr bool is_broadcast() const {
    for (uint8_t o : octets_) {
      if (o != 0xFF) return false;
    }
    return true;
  }
  // The I/G bit; broadcast is a multicast address too.
  constexpr bool is_multicast() const { return (octets_[0] & 0x01) != 0; }
  constexpr bool is_unicast() const { return !is_multicast(); }
  constexpr bool is_locally_administered() const { return (octets_[0] & 0x02) != 0; }
  constexpr bool is_zero() const {
    for (uint8_t o : octets_) {
      if (o != 0) return false;
    }
    return true;
  }

  constexpr auto operator<=>(const MacAddress&) const = default;

  template <typename H>
  friend H AbslHashValue(H h, const MacAddress& m) {
    return H::combine(std::move(h), m.octets_);
  }

 private:
  std::array<uint8_t, 6> octets_{};
};

inline constexpr MacAddress kMacBroadcast{{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}};
inline constexpr MacAddress kMacZero{};

// The Ethernet multicast address an IPv4 group maps to (RFC 1112 6.4).
constexpr MacAddress multicast_mac(Ipv4Address group) {
  const uint32_t v = group.value();
  return MacAddress({0x01, 0x00, 0x5E, static_cast<uint8_t>((v >> 16) & 0x7F),
                     static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)});
}

}  // namespace inlet::wire

template <>
struct std::hash<inlet::wire::Ipv4Address> {
  size_t operator()(inlet::wire::Ipv4Address a) const noexcept {
    return std::hash<uint32_t>{}(a.value());
  }
};

template <>
struct std::hash<inlet::wire::MacAddress> {
  size_t operator()(const inlet::wire::MacAddress& m) const noexcept {
    uint64_t v = 0;
    for (uint8_t o : m.octets()) v = (v << 8) | o;
    return std::hash<uint64_t>{}(v);
  }
};

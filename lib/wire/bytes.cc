// Text forms of the address types (configuration and logs; never on the data path).
#include "wire/bytes.h"

#include <cstdio>

namespace inlet::wire {

std::optional<Ipv4Address> Ipv4Address::parse(std::string_view text) {
  uint32_t value = 0;
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= text.size() || text[i] != '.') return std::nullopt;
      ++i;
    }
    const size_t start = i;
    uint32_t octet = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 3) {
      octet = octet * 10 + static_cast<uint32_t>(text[i] - '0');
      ++i;
    }
    const size_t digits = i - start;
    if (digits == 0 || octet > 255) return std::nullopt;
    if (digits > 1 && text[start] == '0') return std::nullopt;
    value = (value << 8) | octet;
  }
  if (i != text.size()) return std::nullopt;
  return Ipv4Address(value);
}

std::string Ipv4Address::to_string() const {
  char buf[16];
  const auto o = octets();
  const int n = std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", o[0], o[1], o[2], o[3]);
  return std::string(buf, static_cast<size_t>(n));
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<MacAddress> MacAddress::parse(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  const char sep = text[2];
  if (sep != ':' && sep != '-') return std::nullopt;
  std::array<uint8_t, 6> octets{};
  for (size_t k = 0; k < 6; ++k) {
    const size_t at = k * 3;
    if (k > 0 && text[at - 1] != sep) return std::nullopt;
    const int hi = hex_value(text[at]);
    const int lo = hex_value(text[at + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    octets[k] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return MacAddress(octets);
}

std::string MacAddress::to_string() const {
  char buf[18];
  const int n = std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", octets_[0],
                              octets_[1], octets_[2], octets_[3], octets_[4], octets_[5]);
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace inlet::wire

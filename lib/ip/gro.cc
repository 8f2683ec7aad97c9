#include "ip/gro.h"

#include <cstring>

#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"

namespace inlet::ip {

bool Gro::parse(const Packet& p, Segment* s) {
  const uint8_t* t = p.data_ptr();
  const uint32_t n = p.length();
  if (n < 20) return false;
  const uint8_t hlen = static_cast<uint8_t>((t[12] >> 4) * 4);
  if (hlen < 20 || hlen > n) return false;
  std::memcpy(&s->ports, t, 4);
  s->seq = wire::load_be32(t + 4);
  s->ack = wire::load_be32(t + 8);
  s->flags = t[13];
  s->window = wire::load_be16(t + 14);
  s->header_length = hlen;
  s->payload = n - hlen;
  return true;
}

bool Gro::checksum_ok(const Packet& p, const Ipv4Delivery& d) {
  const uint32_t pseudo = wire::ipv4_pseudo_header_sum(d.src, d.dst, wire::ipproto::kTcp,
                                                       static_cast<uint16_t>(p.length()));
  return wire::internet_checksum(p.bytes(), pseudo) == 0;
}

// tcp_gro_receive flushes unless every option byte matches, timestamps
// included: a segment with a newer TSval starts a new super-frame.
bool Gro::same_options(const Held& h, const Packet& p) {
  const uint32_t options = h.header_length - 20u;
  return options == 0 || std::memcmp(h.head->data_ptr() + 20, p.data_ptr() + 20, options) == 0;
}

void Gro::hold(size_t slot, PacketRef& p, const Ipv4Delivery& d, const Segment& s) {
  Held& h = held_[slot];
  h.head = std::move(p);
  h.tail = h.head.get();
  h.d = d;
  h.saddr = d.src.value();
  h.daddr = d.dst.value();
  h.ports = s.ports;
  h.next_seq = s.seq + s.payload;
  h.ack = s.ack;
  h.window = s.window;
  h.header_length = s.header_length;
  h.segments = 1;
  h.first_payload = static_cast<uint16_t>(s.payload);
  h.bytes = s.payload;
}

void Gro::remove(size_t i) {
  for (size_t j = i + 1; j < count_; ++j) held_[j - 1] = std::move(held_[j]);
  --count_;
}

}  // namespace inlet::ip

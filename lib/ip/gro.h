// Software GRO for TCP over IPv4 (the kernel's napi_gro_receive and
// tcp4_gro_receive): within one receive burst, consecutive in-order segments
// of one flow are chained into a super-frame that TCP takes as one unit.
#pragma once

#include <array>
#include <cstdint>

#include "core/layers.h"
#include "core/packet.h"

namespace inlet::ip {

class Gro {
 public:
  // At most this many flows are held at once (the kernel's GRO_HASH_BUCKETS
  // is 8 too); a ninth flow pushes the oldest out.
  static constexpr size_t kFlows = 8;
  // A super-frame stops growing at 64 KiB of payload or 64 segments (as the
  // kernel's GRO_MAX_SIZE / MAX_SKB_FRAGS bounds).
  static constexpr uint32_t kMaxBytes = 65535 - 20 - 60;
  static constexpr uint16_t kMaxSegments = 64;

  struct Stats {
    uint64_t merged = 0;   // segments appended to a held one
    uint64_t flushed = 0;  // super-frames (and lone held segments) handed on
  };

  // Offers a TCP segment for local delivery: `p`'s data starts at the TCP
  // header, d is its delivery. Returns true when GRO took it (held or
  // merged). A segment it does not take is for the caller to deliver, after
  // any held segments of its flow have been handed to `deliver` (order
  // within a flow is kept). Checksums are verified here, once per segment;
  // a segment that fails is not taken, so TCP counts it.
  template <class Deliver>
  bool offer(PacketRef& p, const Ipv4Delivery& d, Deliver&& deliver);
  // Hands every held flow on (end of a burst).
  template <class Deliver>
  void flush(Deliver&& deliver) {
    for (size_t i = 0; i < count_; ++i) hand_on(held_[i], deliver);
    count_ = 0;
  }
  bool empty() const { return count_ == 0; }
  // Releases what is held without handing it on (shutdown).
  void clear() {
    for (size_t i = 0; i < count_; ++i) held_[i].head.reset();
    count_ = 0;
  }
  const Stats& stats() const { return stats_; }

 private:
  struct Held {
    PacketRef head;           // data at the TCP header
    Packet* tail = nullptr;   // the last packet of the chain
    Ipv4Delivery d;
    uint32_t saddr = 0, daddr = 0;
    uint32_t ports = 0;       // source and destination port, as on the wire
    uint32_t next_seq = 0;    // the sequence number a merge must start at
    uint32_t ack = 0;
    uint16_t window = 0;
    uint8_t header_length = 0;
    uint16_t segments = 0;
    uint16_t first_payload = 0;
    uint32_t bytes = 0;
  };
  // What offer() learns of a segment.
  struct Segment {
    uint32_t ports, seq, ack;
    uint16_t window;
    uint8_t header_length, flags;
    uint32_t payload;
  };

  static bool parse(const Packet& p, Segment* s);
  static bool checksum_ok(const Packet& p, const Ipv4Delivery& d);
  static bool same_options(const Held& h, const Packet& p);
  void hold(size_t slot, PacketRef& p, const Ipv4Delivery& d, const Segment& s);
  template <class Deliver>
  void hand_on(Held& h, Deliver& deliver) {
    if (h.segments > 1) {
      h.head->gso_size = h.first_payload;
      h.head->gso_segs = h.segments;
    }
    ++stats_.flushed;
    deliver(std::move(h.head), h.d);
    h.tail = nullptr;
  }
  void remove(size_t i);

  std::array<Held, kFlows> held_;
  size_t count_ = 0;
  Stats stats_;
};

template <class Deliver>
bool Gro::offer(PacketRef& p, const Ipv4Delivery& d, Deliver&& deliver) {
  Segment s;
  if (!parse(*p, &s)) return false;  // TCP drops it: no flow to keep in order
  size_t i = 0;
  while (i < count_ && !(held_[i].ports == s.ports && held_[i].saddr == d.src.value() &&
                         held_[i].daddr == d.dst.value())) {
    ++i;
  }
  const bool found = i < count_;
  if (p->chain != nullptr) {
    // Already a super-frame (a TAP's TSO): it goes on as it is, after what
    // is held of its flow.
    if (found) {
      hand_on(held_[i], deliver);
      remove(i);
    }
    return false;
  }
  // Only plain data segments merge (ACK, maybe PSH; not SYN, FIN, RST, URG,
  // ECE or CWR), as tcp_gro_receive.
  constexpr uint8_t kAck = 0x10, kPsh = 0x08;
  const bool candidate = (s.flags & ~kPsh) == kAck && s.payload > 0;
  if (!candidate) {
    if (found) {
      hand_on(held_[i], deliver);
      remove(i);
    }
    return false;
  }
  if (p->csum != ChecksumState::kUnnecessary && p->csum != ChecksumState::kPartial) {
    if (!checksum_ok(*p, d)) {
      if (found) {
        hand_on(held_[i], deliver);
        remove(i);
      }
      return false;  // TCP counts it (TcpInCsumErrors) and drops it
    }
    p->csum = ChecksumState::kUnnecessary;  // verified: TCP need not again
  }
  if (found) {
    Held& h = held_[i];
    // As inet_gro_receive and tcp_gro_receive: TOS and TTL, ACK, window,
    // header length and options must match, and the data must follow on.
    if (s.seq == h.next_seq && s.ack == h.ack && s.window == h.window &&
        s.header_length == h.header_length && d.tos == h.d.tos && d.ttl == h.d.ttl &&
        h.bytes + s.payload <= kMaxBytes && h.segments < kMaxSegments && same_options(h, *p)) {
      p->pull(s.header_length);
      h.tail->chain = p.release();
      h.tail = h.tail->chain;
      h.next_seq += s.payload;
      h.bytes += s.payload;
      ++h.segments;
      ++stats_.merged;
      if (s.flags & kPsh) {  // the sender's push ends the super-frame
        hand_on(h, deliver);
        remove(i);
      }
      return true;
    }
    hand_on(h, deliver);
    if (s.flags & kPsh) {  // pushed: it goes on alone, after the held ones
      remove(i);
      return false;
    }
    hold(i, p, d, s);  // this segment starts the flow's next super-frame
    return true;
  }
  if (s.flags & kPsh) return false;  // nothing to merge it with
  if (count_ == kFlows) {
    hand_on(held_[0], deliver);
    remove(0);
  }
  hold(count_++, p, d, s);
  return true;
}

}  // namespace inlet::ip

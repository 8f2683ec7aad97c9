#include "ip/reassembly.h"

#include <algorithm>
#include <cstring>

namespace inlet::ip {

Reassembler::Reassembler(const ReassemblyConfig& config, BufferPool& fragments_pool,
                         Counters& counters, TimerWheel& timers, const Clock& clock)
    : config_(config), fragments_pool_(fragments_pool), counters_(counters), timers_(timers), clock_(clock) {
  // One large buffer per datagram in flight: high_thresh / buffer size of them.
  const uint32_t n = static_cast<uint32_t>(config_.high_thresh / kBufferSize);
  BufferPoolConfig pc;
  pc.buffers = std::max<uint32_t>(n, 1);
  pc.buffer_size = kBufferSize;
  pc.headroom = 128;
  pc.descriptors = pc.buffers * 2;
  pool_ = allocate_unique<BufferPool>(pc, &counters_);
  queue_storage_ = allocate_unique_array<Queue>(n);
  for (uint32_t i = 0; i < n; ++i) {
    Queue* q = &queue_storage_[i];
    queues_.push_back(q);
    free_.push_back(q);
    q->timer.set_callback([this, q] {
      counters_.add(Counter::IpReasmTimeout);
      counters_.add(Counter::IpReasmFails);
      if (q->have_first && on_timeout_) {
        // The first fragment's header and data sit in the buffer: offer them
        // for the ICMP time exceeded (code 1) that RFC 792 asks for.
        Packet& p = *q->buffer;
        p.data = static_cast<uint32_t>(payload_base(*q) - p.head - q->first_hlen);
        p.l3_offset = static_cast<uint16_t>(p.data);
        // The whole first fragment, so its header's total length matches
        // what follows (the error quotes the header and 8 bytes of it).
        p.tail = p.data + q->first_hlen + q->first_len;
        on_timeout_(p);
      }
      release(*q);
    });
  }
  map_.reserve(n);
}

Reassembler::~Reassembler() { clear(); }

uint8_t* Reassembler::payload_base(Queue& q) const {
  return q.buffer->head + 128 + wire::kIpv4MaxHeaderLength;
}

void Reassembler::release(Queue& q) {
  timers_.cancel(q.timer);
  map_.erase(q.key);
  q.buffer.reset();
  q.in_use = false;
  free_.push_back(&q);
}

void Reassembler::discard(Queue& q, DropReason reason) {
  counters_.drop(reason);
  release(q);
}

void Reassembler::clear() {
  for (Queue* q : queues_) {
    if (q->in_use) release(*q);
  }
}

PacketRef Reassembler::add(PacketRef frag, const wire::Ipv4View& ip) {
  counters_.add(Counter::IpReasmReqds);
  const uint32_t offset = ip.fragment_offset();
  const uint32_t hlen = static_cast<uint32_t>(ip.header_length());
  uint32_t len = ip.total_length() - hlen;
  const bool more = ip.more_fragments();
  // RFC 791: every fragment but the last carries a multiple of 8 bytes; Linux
  // trims the excess rather than failing.
  if (more) len &= ~7u;
  if (offset + len > kMaxPayload) {  // the "ping of death"
    fragments_pool_.free(std::move(frag), DropReason::kIpReasmTooBig);
    return PacketRef();
  }
  const Key key{ip.src().value(), ip.dst().value(), ip.ident(), ip.protocol()};
  Queue* q = nullptr;
  if (auto it = map_.find(key); it != map_.end()) {
    q = it->second;
  } else {
    if (free_.empty()) {  // ipfrag_high_thresh reached: refuse new datagrams
      fragments_pool_.free(std::move(frag), DropReason::kIpReasmOverLimit);
      return PacketRef();
    }
    PacketRef buf = pool_->alloc();
    if (!buf) {
      fragments_pool_.free(std::move(frag), DropReason::kIpReasmOverLimit);
      return PacketRef();
    }
    q = free_.back();
    free_.pop_back();
    q->in_use = true;
    q->key = key;
    q->buffer = std::move(buf);
    q->total = 0;
    q->have_last = q->have_first = false;
    q->first_hlen = 0;
    q->first_len = 0;
    q->received = 0;
    q->max_end = 0;
    q->data.reset();
    q->starts.reset();
    q->ends.reset();
    map_.emplace(key, q);
    timers_.arm(q->timer, clock_.now() + config_.timeout);
  }
  const uint32_t end = offset + len;
  // The last fragment fixes the length; nothing may reach past it, and a
  // second "last" must agree (Linux ip_frag_queue).
  if (!more) {
    if ((q->have_last && end != q->total) || end < q->max_end) {
      discard(*q, DropReason::kIpReasmOverlap);  // one IpReasmFails for the datagram
      return PacketRef();                          // the fragment goes with it
    }
    q->have_last = true;
    q->total = end;
  } else if (q->have_last && end > q->total) {
    discard(*q, DropReason::kIpReasmOverlap);
    return PacketRef();
  }
  if (len > 0) {
    const uint32_t first_unit = offset / 8, last_unit = (end - 1) / 8;
    bool any = false, all = true;
    for (uint32_t u = first_unit; u <= last_unit; ++u) {
      const bool set = q->data.test(u);
      any |= set;
      all &= set;
    }
    if (any) {
      // An exact repeat of a fragment we hold is dropped alone; any other
      // overlap poisons the datagram (RFC 5722's rule, Linux's for IPv4).
      const bool exact = all && q->starts.test(first_unit) && q->ends.test((end + 7) / 8);
      if (exact) {
        fragments_pool_.free(std::move(frag), DropReason::kIpReasmDuplicate);
        return PacketRef();
      }
      discard(*q, DropReason::kIpReasmOverlap);  // one IpReasmFails for the datagram
      return PacketRef();                          // the fragment goes with it
    }
    for (uint32_t u = first_unit; u <= last_unit; ++u) q->data.set(u);
    q->starts.set(first_unit);
    q->ends.set((end + 7) / 8);
    std::memcpy(payload_base(*q) + offset, ip.payload().data(), len);
    q->received += len;
    q->max_end = std::max(q->max_end, end);
  }
  if (offset == 0 && !q->have_first) {
    // Keep the first fragment's header (its options are the datagram's).
    q->have_first = true;
    q->first_hlen = hlen;
    q->first_len = len;
    std::memcpy(payload_base(*q) - hlen, ip.header().data(), hlen);
  }
  Packet& meta = *frag;
  const uint16_t ifindex = meta.ifindex;
  const PacketType pkt_type = meta.pkt_type;
  const int64_t ts = meta.rx_timestamp_ns;
  frag.reset();  // its bytes are copied: the fragment's buffer goes back now
  if (!(q->have_first && q->have_last && q->received == q->total)) return PacketRef();

  // Complete: rebuild the header in front of the payload.
  uint8_t* const base = payload_base(*q);
  PacketRef whole = std::move(q->buffer);
  Packet& p = *whole;
  p.data = static_cast<uint32_t>(base - p.head - q->first_hlen);
  p.tail = p.data + q->first_hlen + q->total;
  std::span<uint8_t> header(p.head + p.data, q->first_hlen);
  wire::store_be16(header.data() + 6, 0);  // no MF, offset 0 (DF kept as 0: it was fragmented)
  wire::store_be16(header.data() + 2, static_cast<uint16_t>(q->first_hlen + q->total));
  wire::ipv4_fill_checksum(header);
  p.ifindex = ifindex;
  p.pkt_type = pkt_type;
  p.rx_timestamp_ns = ts;
  p.l3_offset = static_cast<uint16_t>(p.data);
  p.csum = ChecksumState::kNone;
  // Charge what the fragments would have cost, not the whole large buffer.
  p.truesize = std::max<uint32_t>(q->total + q->first_hlen, 2048);
  counters_.add(Counter::IpReasmOKs);
  release(*q);
  return whole;
}

}  // namespace inlet::ip

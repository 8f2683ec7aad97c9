// Reassembler: IPv4 fragment reassembly for local delivery (RFC 791 3.2,
// RFC 815), with Linux's limits and policies: queues keyed by (src, dst, id,
// protocol), memory bounded by net.ipv4.ipfrag_high_thresh, a timeout of
// net.ipv4.ipfrag_time, an exact duplicate dropped alone, any other overlap
// discarding the whole datagram (as Linux since 4.18), datagrams past 65535
// bytes refused. Fragments are copied into one large buffer per datagram from
// the reassembler's own pool (allocated at set-up), so the result is an
// ordinary contiguous packet the transports read as any other.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "core/alloc.h"
#include "core/buffer_pool.h"
#include "core/clock.h"
#include "core/counters.h"
#include "core/timer_wheel.h"
#include "wire/ipv4.h"

namespace inlet::ip {

struct ReassemblyConfig {
  size_t high_thresh = 4 * 1024 * 1024;  // net.ipv4.ipfrag_high_thresh (bytes)
  size_t low_thresh = 3 * 1024 * 1024;   // net.ipv4.ipfrag_low_thresh (accepted; see docs)
  absl::Duration timeout = absl::Seconds(30);  // net.ipv4.ipfrag_time
};

class Reassembler {
 public:
  static constexpr uint32_t kMaxPayload = 65535 - wire::kIpv4MinHeaderLength;
  static constexpr uint32_t kBufferSize = 128 + wire::kIpv4MaxHeaderLength + 65536;

  Reassembler(const ReassemblyConfig& config, BufferPool& fragments_pool, Counters& counters,
              TimerWheel& timers, const Clock& clock);
  ~Reassembler();

  // Takes one fragment (data at its IPv4 header, trimmed to its total
  // length). Returns the whole datagram — data at a rebuilt IPv4 header with
  // MF and offset cleared — when this fragment completes it, else an empty ref.
  PacketRef add(PacketRef fragment, const wire::Ipv4View& ip);
  // Called when a datagram times out after its first fragment arrived; the
  // packet holds that fragment's header and data (for an ICMP time exceeded,
  // RFC 792 code 1). The reassembler frees it afterwards.
  void set_timeout_handler(absl::AnyInvocable<void(const Packet&)> h) { on_timeout_ = std::move(h); }

  size_t queues() const { return map_.size(); }
  size_t memory() const { return map_.size() * kBufferSize; }
  size_t capacity() const { return queues_.size(); }
  const BufferPool& pool() const { return *pool_; }
  void clear();
  // Sizes for the RAM footprint (lib/api/footprint.h): one queue, one index slot.
  static size_t queue_bytes() { return sizeof(Queue); }
  static size_t map_slot_bytes() { return sizeof(std::pair<const Key, Queue*>); }

 private:
  struct Key {
    uint32_t src, dst;
    uint16_t id;
    uint8_t protocol;
    bool operator==(const Key&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.src, k.dst, k.id, k.protocol);
    }
  };
  static constexpr size_t kUnits = 65536 / 8;
  struct Queue {
    bool in_use = false;
    Key key{};
    PacketRef buffer;
    uint32_t total = 0;        // payload length, known once the last fragment came
    bool have_last = false;
    bool have_first = false;
    uint32_t first_hlen = 0;
    uint32_t first_len = 0;    // payload bytes of the first fragment
    uint32_t received = 0;     // payload bytes, no overlaps
    uint32_t max_end = 0;      // highest payload byte received + 1
    std::bitset<kUnits> data;  // 8-byte units present
    std::bitset<kUnits> starts;
    std::bitset<kUnits + 1> ends;
    Timer timer;
  };
  void discard(Queue& q, DropReason reason);
  void release(Queue& q);
  uint8_t* payload_base(Queue& q) const;

  ReassemblyConfig config_;
  BufferPool& fragments_pool_;
  Counters& counters_;
  TimerWheel& timers_;
  const Clock& clock_;
  Unique<BufferPool> pool_;
  Unique<Queue[]> queue_storage_;
  Vector<Queue*> queues_;
  Vector<Queue*> free_;
  FlatHashMap<Key, Queue*> map_;
  absl::AnyInvocable<void(const Packet&)> on_timeout_;
};

}  // namespace inlet::ip

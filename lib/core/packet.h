// Packet and PacketRef: the sk_buff of inlet. A Packet is a descriptor (offsets
// into a pool slab plus RX metadata); a PacketRef is the move-only handle that
// owns one reference and gives it back to its BufferPool when it goes away.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <utility>

namespace inlet {

class BufferPool;

// As the kernel's skb->ip_summed (Documentation/networking/skbuff.rst):
//  kNone        - nothing verified; software must check every checksum.
//  kUnnecessary - the device verified the L4 checksum (CHECKSUM_UNNECESSARY).
//  kComplete    - the device summed the whole packet; `csum_value` holds it.
//  kPartial     - locally generated / from a TAP with offload: the checksum
//                 is still to be filled in at csum_start + csum_offset.
enum class ChecksumState : uint8_t { kNone, kUnnecessary, kComplete, kPartial };

inline constexpr uint16_t kNoOffset = 0xFFFF;

// As skb->pkt_type: how the frame was addressed at the link layer.
enum class PacketType : uint8_t { kHost, kBroadcast, kMulticast, kOtherHost };

// The descriptor. The first cache line holds what the receive path touches.
struct alignas(64) Packet {
  uint8_t* head = nullptr;  // start of the slab
  uint32_t data = 0;        // offset of the first valid byte
  uint32_t tail = 0;        // offset one past the last valid byte
  uint32_t end = 0;         // slab size
  uint16_t ifindex = 0;     // ingress (or egress, on transmit) interface
  uint16_t rx_queue = 0;
  uint16_t l3_offset = kNoOffset;  // offsets from head, kNoOffset when unset
  uint16_t l4_offset = kNoOffset;
  uint16_t vlan_tci = 0;
  bool vlan_present = false;
  ChecksumState csum = ChecksumState::kNone;
  PacketType pkt_type = PacketType::kHost;
  uint32_t flow_hash = 0;
  uint32_t csum_value = 0;   // for kComplete
  // A TCP super-frame (skb_shinfo gso_size/gso_segs): a TAP with TSO offload
  // or software GRO made it of gso_segs segments of gso_size payload bytes.
  // 0 for an ordinary frame.
  uint16_t gso_size = 0;
  uint16_t gso_segs = 0;
  int64_t rx_timestamp_ns = 0;
  // Cold: bookkeeping owned by the pool.
  BufferPool* pool = nullptr;
  uint32_t slab = 0;        // index of the data slab (shared between clones)
  uint32_t self = 0;        // index of this descriptor
  uint32_t next_free = 0;
  uint32_t truesize = 0;    // memory charged to a socket for this packet
  // Chains: a frame may continue in further packets, owned by this packet and
  // released with it. On transmit, typically a small header buffer in front
  // of a shared payload clone (a multicast copy gets its own link header
  // without copying the payload); ports gather it (frame_bytes/writev). On
  // receive, a super-frame (gso_size != 0) scattered into pool slabs: all
  // headers are in the first packet, the rest is TCP payload. IP delivers
  // receive chains to TCP only; TCP queues each slab as its own segment.
  Packet* chain = nullptr;
  // Links for the one queue that holds this reference (skb->next/prev): a
  // socket's receive queue or TCP's out-of-order queue. Owned by that queue.
  Packet* next = nullptr;
  Packet* prev = nullptr;
  // Control buffer (skb->cb): private to the layer that holds the packet.
  alignas(8) uint8_t cb[24] = {};

  template <class T>
  T load_control() const {
    static_assert(sizeof(T) <= sizeof(cb) && std::is_trivially_copyable_v<T>);
    T v;
    std::memcpy(&v, cb, sizeof(T));
    return v;
  }
  template <class T>
  void store_control(const T& v) {
    static_assert(sizeof(T) <= sizeof(cb) && std::is_trivially_copyable_v<T>);
    std::memcpy(cb, &v, sizeof(T));
  }

  uint8_t* data_ptr() { return head + data; }
  const uint8_t* data_ptr() const { return head + data; }
  uint32_t length() const { return tail - data; }
  // The whole frame's length, chain included.
  uint32_t frame_length() const {
    uint32_t n = length();
    for (const Packet* q = chain; q != nullptr; q = q->chain) n += q->length();
    return n;
  }
  // Cuts the frame, chain included, to `len` bytes; continuation packets
  // left empty are released by their owner when it goes.
  void trim_frame(uint32_t len) {
    for (Packet* q = this; q != nullptr; q = q->chain) {
      if (q->length() >= len) {
        q->trim(len);
        len = 0;
      } else {
        len -= q->length();
      }
    }
  }
  uint32_t headroom() const { return data; }
  uint32_t tailroom() const { return end - tail; }
  std::span<uint8_t> bytes() { return {head + data, tail - data}; }
  std::span<const uint8_t> bytes() const { return {head + data, tail - data}; }

  // skb_push: grow the front into headroom; nullptr when there is no room.
  uint8_t* push(uint32_t n) {
    if (n > data) return nullptr;
    data -= n;
    return head + data;
  }
  // skb_pull: drop n bytes from the front; false when shorter than n.
  bool pull(uint32_t n) {
    if (n > length()) return false;
    data += n;
    return true;
  }
  // skb_put: extend the end into tailroom; nullptr when there is no room.
  uint8_t* put(uint32_t n) {
    if (n > tailroom()) return nullptr;
    uint8_t* p = head + tail;
    tail += n;
    return p;
  }
  // skb_trim: cut to `len` bytes (no-op if already shorter).
  void trim(uint32_t len) {
    if (len < length()) tail = data + len;
  }
  void set_l3_here() { l3_offset = static_cast<uint16_t>(data); }
  void set_l4_here() { l4_offset = static_cast<uint16_t>(data); }
  uint8_t* l3() { return l3_offset == kNoOffset ? nullptr : head + l3_offset; }
  uint8_t* l4() { return l4_offset == kNoOffset ? nullptr : head + l4_offset; }
  // Clears metadata for reuse as a fresh packet with `headroom` bytes in front.
  void reset(uint32_t headroom_bytes);
};

// What the receive path reads per packet (offsets, checksum and GSO state,
// timestamp, pool) is in the first cache line; queue links and the control
// buffer in the second. A descriptor is exactly two lines.
static_assert(offsetof(Packet, rx_timestamp_ns) + sizeof(int64_t) <= 64, "hot fields span one line");
static_assert(offsetof(Packet, pool) < 64, "the pool pointer (every free) stays in the first line");
static_assert(sizeof(Packet) == 128, "a descriptor is two cache lines");

// Owns one reference to a Packet. Move-only: the reference cannot be copied by
// accident, and it is returned to the pool when the handle is destroyed.
class PacketRef {
 public:
  PacketRef() = default;
  explicit PacketRef(Packet* p) : p_(p) {}
  PacketRef(const PacketRef&) = delete;
  PacketRef& operator=(const PacketRef&) = delete;
  PacketRef(PacketRef&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  PacketRef& operator=(PacketRef&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  ~PacketRef() { reset(); }

  explicit operator bool() const { return p_ != nullptr; }
  Packet* operator->() { return p_; }
  const Packet* operator->() const { return p_; }
  Packet& operator*() { return *p_; }
  Packet* get() { return p_; }
  const Packet* get() const { return p_; }
  // Gives the reference back to the pool now (normal consumption, not a drop).
  // Inline: every moved-from handle's destructor comes here and finds nothing.
  void reset() {
    if (p_ != nullptr) release_to_pool();
  }
  // Hands the raw reference over (to a ring descriptor, say); the caller must
  // later rebuild a PacketRef from it.
  [[nodiscard]] Packet* release() { return std::exchange(p_, nullptr); }

 private:
  void release_to_pool();
  Packet* p_ = nullptr;
};

}  // namespace inlet

// BufferPool, Packet and PacketRef: the sk_buff rules of
// Documentation/networking/skbuff.rst (push/pull/put/trim stay inside the
// slab, clones share data, skb_cow copies only a shared buffer) and the pool's
// own promises: fixed slabs, LIFO reuse, exhaustion counted, in_use() back to 0.
#include <doctest/doctest.h>

#include <cstring>
#include <utility>
#include <vector>

#include "core/buffer_pool.h"
#include "core/counters.h"
#include "core/packet.h"

namespace inlet {
namespace {

BufferPoolConfig small_pool(uint32_t buffers, uint32_t descriptors = 0) {
  BufferPoolConfig c;
  c.buffers = buffers;
  c.buffer_size = 256;
  c.headroom = 32;
  c.descriptors = descriptors;
  return c;
}

TEST_SUITE("core.buffer_pool") {

TEST_CASE("alloc: a fresh packet has the configured headroom and is empty") {
  BufferPool pool(small_pool(4));
  PacketRef p = pool.alloc();
  REQUIRE(p);
  CHECK(p->headroom() == 32);
  CHECK(p->length() == 0);
  CHECK(p->tailroom() == 256 - 32);
  CHECK(p->end == 256);
  CHECK(p->truesize == 256);
  CHECK(p->pool == &pool);
  CHECK(p->l3() == nullptr);
  CHECK(p->l4() == nullptr);
  CHECK(p->csum == ChecksumState::kNone);
  CHECK(pool.in_use() == 1);
  CHECK(pool.descriptors_in_use() == 1);
  CHECK(pool.allocations() == 1);
  p.reset();
  CHECK(pool.in_use() == 0);
  CHECK(pool.descriptors_in_use() == 0);
}

TEST_CASE("alloc until exhaustion: empty ref, alloc_failures counted, in_use == capacity") {
  BufferPool pool(small_pool(8));
  std::vector<PacketRef> held;
  for (int i = 0; i < 8; ++i) {
    PacketRef p = pool.alloc();
    REQUIRE(p);
    held.push_back(std::move(p));
  }
  CHECK(pool.in_use() == pool.capacity());
  CHECK(pool.alloc_failures() == 0);
  PacketRef none = pool.alloc();
  CHECK_FALSE(none);
  CHECK(none.get() == nullptr);
  CHECK(pool.alloc_failures() == 1);
  CHECK_FALSE(pool.alloc());
  CHECK(pool.alloc_failures() == 2);
  CHECK(pool.in_use() == 8);
  CHECK(pool.allocations() == 8);
  // Every slab is distinct.
  for (size_t i = 0; i < held.size(); ++i) {
    for (size_t j = i + 1; j < held.size(); ++j) CHECK(held[i]->head != held[j]->head);
  }
  // One back: alloc works again.
  held.pop_back();
  CHECK(pool.in_use() == 7);
  PacketRef again = pool.alloc();
  CHECK(again);
  CHECK(pool.in_use() == 8);
  held.clear();
  again.reset();
  CHECK(pool.in_use() == 0);
  CHECK(pool.descriptors_in_use() == 0);
}

TEST_CASE("LIFO reuse: the most recently freed slab comes back first") {
  BufferPool pool(small_pool(8));
  PacketRef a = pool.alloc();
  PacketRef b = pool.alloc();
  PacketRef c = pool.alloc();
  uint8_t* const a_head = a->head;
  uint8_t* const c_head = c->head;
  a.reset();
  c.reset();  // freed last
  PacketRef d = pool.alloc();
  CHECK(d->head == c_head);
  PacketRef e = pool.alloc();
  CHECK(e->head == a_head);
  // The first allocation of a fresh pool takes slab 0 (the lowest address).
  BufferPool fresh(small_pool(4));
  PacketRef f0 = fresh.alloc();
  PacketRef f1 = fresh.alloc();
  CHECK(f1->head == f0->head + fresh.buffer_size());
  b.reset();
  d.reset();
  e.reset();
  CHECK(pool.in_use() == 0);
  CHECK(pool.descriptors_in_use() == 0);
}

TEST_CASE("a reused packet comes back with fresh metadata") {
  BufferPool pool(small_pool(1));
  PacketRef p = pool.alloc();
  std::memcpy(p->put(20), "0123456789abcdefghij", 20);
  p->ifindex = 7;
  p->rx_queue = 3;
  p->vlan_present = true;
  p->vlan_tci = 100;
  p->csum = ChecksumState::kUnnecessary;
  p->pkt_type = PacketType::kBroadcast;
  p->flow_hash = 0xdeadbeef;
  p->rx_timestamp_ns = 42;
  p->set_l3_here();
  p->pull(10);
  p->set_l4_here();
  p.reset();
  PacketRef q = pool.alloc();
  REQUIRE(q);
  CHECK(q->length() == 0);
  CHECK(q->headroom() == 32);
  CHECK(q->ifindex == 0);
  CHECK(q->rx_queue == 0);
  CHECK_FALSE(q->vlan_present);
  CHECK(q->vlan_tci == 0);
  CHECK(q->csum == ChecksumState::kNone);
  CHECK(q->pkt_type == PacketType::kHost);
  CHECK(q->flow_hash == 0);
  CHECK(q->rx_timestamp_ns == 0);
  CHECK(q->l3_offset == kNoOffset);
  CHECK(q->l4_offset == kNoOffset);
}

TEST_CASE("skb_push/pull/put/trim stay inside headroom, length and tailroom") {
  BufferPool pool(small_pool(2));
  PacketRef p = pool.alloc();
  REQUIRE(p);
  const uint32_t room = p->tailroom();  // 224

  SUBCASE("put") {
    uint8_t* a = p->put(10);
    REQUIRE(a != nullptr);
    CHECK(a == p->head + 32);
    CHECK(p->length() == 10);
    CHECK(p->put(room - 10) != nullptr);
    CHECK(p->tailroom() == 0);
    CHECK(p->put(1) == nullptr);  // beyond the end
    CHECK(p->length() == room);
    CHECK(p->put(0) != nullptr);  // zero bytes always fit
  }
  SUBCASE("put more than the tailroom changes nothing") {
    CHECK(p->put(room + 1) == nullptr);
    CHECK(p->length() == 0);
    CHECK(p->tail == 32);
  }
  SUBCASE("push") {
    uint8_t* h = p->push(14);
    REQUIRE(h != nullptr);
    CHECK(h == p->head + 18);
    CHECK(p->headroom() == 18);
    CHECK(p->length() == 14);
    CHECK(p->push(19) == nullptr);  // beyond the headroom
    CHECK(p->headroom() == 18);
    CHECK(p->push(18) == p->head);  // exactly the headroom
    CHECK(p->headroom() == 0);
    CHECK(p->push(1) == nullptr);
    CHECK(p->length() == 32);
  }
  SUBCASE("pull") {
    std::memcpy(p->put(8), "ABCDEFGH", 8);
    CHECK_FALSE(p->pull(9));  // longer than the packet
    CHECK(p->length() == 8);
    CHECK(p->pull(3));
    CHECK(p->length() == 5);
    CHECK(p->data_ptr()[0] == 'D');
    CHECK(p->headroom() == 35);
    CHECK(p->pull(5));
    CHECK(p->length() == 0);
    CHECK_FALSE(p->pull(1));
    CHECK(p->pull(0));
  }
  SUBCASE("trim") {
    std::memcpy(p->put(8), "ABCDEFGH", 8);
    p->trim(20);  // longer: no-op
    CHECK(p->length() == 8);
    p->trim(5);
    CHECK(p->length() == 5);
    CHECK(p->bytes().back() == 'E');
    CHECK(p->tailroom() == room - 5);
    p->trim(0);
    CHECK(p->length() == 0);
  }
  SUBCASE("l3/l4 offsets record where the headers start") {
    std::memcpy(p->put(40), std::vector<uint8_t>(40, 0xAB).data(), 40);
    p->pull(14);
    p->set_l3_here();
    CHECK(p->l3() == p->data_ptr());
    p->pull(20);
    p->set_l4_here();
    CHECK(p->l4() == p->data_ptr());
    CHECK(p->l4() - p->l3() == 20);
  }
  p.reset();
  CHECK(pool.in_use() == 0);
}

TEST_CASE("clone (skb_clone) shares the payload: one slab, two descriptors") {
  BufferPool pool(small_pool(4));
  PacketRef a = pool.alloc();
  std::memcpy(a->put(5), "hello", 5);
  a->ifindex = 3;
  a->flow_hash = 99;
  PacketRef b = pool.clone(a);
  REQUIRE(b);
  CHECK(b.get() != a.get());
  CHECK(b->head == a->head);
  CHECK(b->data_ptr() == a->data_ptr());
  CHECK(b->length() == 5);
  CHECK(b->ifindex == 3);  // metadata copied
  CHECK(b->flow_hash == 99);
  CHECK(pool.in_use() == 1);
  CHECK(pool.descriptors_in_use() == 2);
  CHECK(pool.is_shared(a));
  CHECK(pool.is_shared(b));
  // Metadata is per descriptor: pulling one clone does not move the other.
  CHECK(b->pull(2));
  CHECK(b->length() == 3);
  CHECK(a->length() == 5);
  // The slab lives until the last reference goes.
  a.reset();
  CHECK(pool.in_use() == 1);
  CHECK(pool.descriptors_in_use() == 1);
  CHECK_FALSE(pool.is_shared(b));
  CHECK(std::memcmp(b->data_ptr(), "llo", 3) == 0);
  b.reset();
  CHECK(pool.in_use() == 0);
  CHECK(pool.descriptors_in_use() == 0);
}

TEST_CASE("clone: descriptor exhaustion gives an empty ref and is counted") {
  BufferPool pool(small_pool(4, /*descriptors=*/3));
  PacketRef a = pool.alloc();
  PacketRef b = pool.clone(a);
  PacketRef c = pool.clone(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK(pool.descriptors_in_use() == 3);
  CHECK(pool.alloc_failures() == 0);
  PacketRef d = pool.clone(a);
  CHECK_FALSE(d);
  CHECK(pool.alloc_failures() == 1);
  // Slabs are free but descriptors are not: alloc fails too.
  CHECK(pool.in_use() == 1);
  CHECK_FALSE(pool.alloc());
  CHECK(pool.alloc_failures() == 2);
  b.reset();
  PacketRef e = pool.clone(c);
  CHECK(e);
  CHECK(e->head == a->head);
  a.reset();
  c.reset();
  e.reset();
  CHECK(pool.in_use() == 0);
  CHECK(pool.descriptors_in_use() == 0);
}

TEST_CASE("default descriptors: twice the buffers") {
  BufferPool pool(small_pool(2));
  PacketRef a = pool.alloc();
  PacketRef b = pool.alloc();
  PacketRef a2 = pool.clone(a);
  PacketRef b2 = pool.clone(b);
  CHECK(a2);
  CHECK(b2);
  CHECK(pool.descriptors_in_use() == 4);
  CHECK_FALSE(pool.clone(a));
}

TEST_CASE("make_writable (skb_cow): copies only a shared slab and leaves the other clone alone") {
  BufferPool pool(small_pool(4));
  PacketRef a = pool.alloc();
  std::memcpy(a->put(6), "abcdef", 6);

  SUBCASE("not shared: no copy") {
    uint8_t* const head = a->head;
    CHECK(pool.make_writable(a));
    CHECK(a->head == head);
    CHECK(pool.in_use() == 1);
  }
  SUBCASE("shared: private copy, same offsets and bytes") {
    PacketRef b = pool.clone(a);
    uint8_t* const shared_head = a->head;
    const uint32_t data = b->data, tail = b->tail;
    CHECK(pool.make_writable(b));
    CHECK(b->head != shared_head);
    CHECK(a->head == shared_head);  // the other clone is untouched
    CHECK(b->data == data);
    CHECK(b->tail == tail);
    CHECK(std::memcmp(b->data_ptr(), "abcdef", 6) == 0);
    CHECK(pool.in_use() == 2);
    CHECK(pool.descriptors_in_use() == 2);
    CHECK_FALSE(pool.is_shared(a));
    CHECK_FALSE(pool.is_shared(b));
    b->data_ptr()[0] = 'X';
    CHECK(a->data_ptr()[0] == 'a');
    // Freeing the copy frees its own slab only.
    b.reset();
    CHECK(pool.in_use() == 1);
    CHECK(std::memcmp(a->data_ptr(), "abcdef", 6) == 0);
  }
  SUBCASE("shared, no slab to spare: false and p untouched") {
    PacketRef b = pool.clone(a);
    std::vector<PacketRef> rest;
    for (int i = 0; i < 3; ++i) rest.push_back(pool.alloc());
    CHECK(pool.in_use() == 4);
    const uint64_t failures = pool.alloc_failures();
    uint8_t* const head = b->head;
    CHECK_FALSE(pool.make_writable(b));
    CHECK(b->head == head);
    CHECK(pool.is_shared(b));
    CHECK(pool.alloc_failures() == failures + 1);
  }
  a.reset();
  CHECK(pool.in_use() == 0);
  CHECK(pool.descriptors_in_use() == 0);
}

TEST_CASE("free(pkt, reason): the reason's tally and its counter, and the buffer comes back") {
  Counters counters;
  BufferPool pool(small_pool(4), &counters);
  CHECK(pool.counters() == &counters);
  PacketRef p = pool.alloc();
  pool.free(std::move(p), DropReason::kIpBadChecksum);
  CHECK_FALSE(p);
  CHECK(pool.in_use() == 0);
  CHECK(pool.descriptors_in_use() == 0);
  CHECK(counters.drops(DropReason::kIpBadChecksum) == 1);
  CHECK(counters.get(Counter::IpInHdrErrors) == 1);
  CHECK(counters.total_drops() == 1);

  PacketRef q = pool.alloc();
  pool.free(std::move(q), DropReason::kPoolExhausted);
  CHECK(counters.drops(DropReason::kPoolExhausted) == 1);
  CHECK(counters.get(Counter::rx_nobuf) == 1);
  CHECK(counters.total_drops() == 2);

  // Freeing one clone keeps the slab for the other.
  PacketRef a = pool.alloc();
  PacketRef b = pool.clone(a);
  pool.free(std::move(a), DropReason::kUdpNoPort);
  CHECK(pool.in_use() == 1);
  CHECK(counters.get(Counter::UdpNoPorts) == 1);
  b.reset();
  CHECK(pool.in_use() == 0);
  CHECK(pool.descriptors_in_use() == 0);
}

TEST_CASE("free of an empty ref counts no drop") {
  Counters counters;
  BufferPool pool(small_pool(2), &counters);
  PacketRef none;
  pool.free(std::move(none), DropReason::kIpBadChecksum);
  CHECK(counters.total_drops() == 0);
  CHECK(counters.get(Counter::IpInHdrErrors) == 0);
  // A ref already handed on (moved from) is not dropped twice.
  PacketRef p = pool.alloc();
  PacketRef taken = std::move(p);
  pool.free(std::move(p), DropReason::kIpBadChecksum);
  CHECK(counters.total_drops() == 0);
  CHECK(pool.in_use() == 1);
}

TEST_CASE("free without counters still returns the buffer") {
  BufferPool pool(small_pool(2));
  CHECK(pool.counters() == nullptr);
  PacketRef p = pool.alloc();
  pool.free(std::move(p), DropReason::kShutdown);
  CHECK(pool.in_use() == 0);
}

TEST_CASE("PacketRef is move-only: the moved-from handle is empty, reset twice is harmless") {
  BufferPool pool(small_pool(4));
  PacketRef a = pool.alloc();
  Packet* const raw = a.get();
  PacketRef b(std::move(a));
  CHECK_FALSE(a);
  CHECK(a.get() == nullptr);
  CHECK(b.get() == raw);
  CHECK(pool.descriptors_in_use() == 1);

  PacketRef c;
  CHECK_FALSE(c);
  c = std::move(b);
  CHECK_FALSE(b);
  CHECK(c.get() == raw);
  CHECK(pool.descriptors_in_use() == 1);

  // Move-assigning over a live ref releases the old one.
  PacketRef d = pool.alloc();
  CHECK(pool.in_use() == 2);
  d = std::move(c);
  CHECK(pool.in_use() == 1);
  CHECK(d.get() == raw);

  // Self-move keeps the reference.
  PacketRef& alias = d;
  d = std::move(alias);
  CHECK(d.get() == raw);
  CHECK(pool.in_use() == 1);

  d.reset();
  d.reset();
  a.reset();  // empty all along
  CHECK(pool.in_use() == 0);
  CHECK(pool.descriptors_in_use() == 0);

  // release() hands the raw reference over; a new PacketRef gives it back.
  PacketRef e = pool.alloc();
  Packet* handed = e.release();
  CHECK_FALSE(e);
  CHECK(pool.in_use() == 1);
  PacketRef(handed).reset();
  CHECK(pool.in_use() == 0);
}

TEST_CASE("destruction gives references back: in_use() returns to 0 after every scenario") {
  BufferPool pool(small_pool(16));
  {
    std::vector<PacketRef> v;
    for (int i = 0; i < 16; ++i) v.push_back(pool.alloc());
    for (int i = 0; i < 8; ++i) v.push_back(pool.clone(v[static_cast<size_t>(i)]));
    CHECK(pool.in_use() == 16);
    CHECK(pool.descriptors_in_use() == 24);
  }
  CHECK(pool.in_use() == 0);
  CHECK(pool.descriptors_in_use() == 0);
  // After a full cycle every slab is still usable.
  std::vector<PacketRef> again;
  for (int i = 0; i < 16; ++i) {
    again.push_back(pool.alloc());
    CHECK(again.back());
  }
}

TEST_CASE("headroom larger than the slab is clamped") {
  BufferPoolConfig c = small_pool(1);
  c.headroom = 1000;
  BufferPool pool(c);
  CHECK(pool.headroom() == 256);
  PacketRef p = pool.alloc();
  REQUIRE(p);
  CHECK(p->tailroom() == 0);
  CHECK(p->put(1) == nullptr);
}

}  // TEST_SUITE

}  // namespace
}  // namespace inlet

namespace inlet {
namespace {
TEST_CASE("skb_cow on a packet from another pool (a reassembled datagram) acts on that pool") {
  BufferPool mine(BufferPoolConfig{.buffers = 4, .buffer_size = 256, .headroom = 32});
  BufferPool other(BufferPoolConfig{.buffers = 4, .buffer_size = 256, .headroom = 32});
  PacketRef p = other.alloc();
  std::memset(p->put(16), 0xAB, 16);
  PacketRef copy = mine.clone(p);  // the clone comes from the packet's own pool
  REQUIRE(copy);
  CHECK(mine.descriptors_in_use() == 0);
  CHECK(other.descriptors_in_use() == 2);
  CHECK(mine.is_shared(p));
  REQUIRE(mine.make_writable(p));  // copies within `other`, never touches `mine`
  CHECK_FALSE(mine.is_shared(p));
  CHECK(mine.in_use() == 0);
  CHECK(other.in_use() == 2);
  CHECK(p->data_ptr()[15] == 0xAB);
  p.reset();
  copy.reset();
  CHECK(other.in_use() == 0);
}
}  // namespace
}  // namespace inlet

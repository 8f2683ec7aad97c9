// The TCP layer's pure parts, without a stack: sequence-number arithmetic
// (RFC 9293 3.4), SipHash-2-4, SYN cookies (Linux syncookies.c layout), Fast
// Open cookies (RFC 7413 4.1.2), the segment queue's accounting, and the
// out-of-order queue against a byte-map model.
#include "core/features.h"
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "core/buffer_pool.h"
#include "tcp/fastopen.h"
#include "tcp/ooo_queue.h"
#include "tcp/segment_queue.h"
#include "tcp/seq.h"
#include "tcp/siphash.h"
#include "tcp/syn_cookies.h"
#include "wire/bytes.h"

namespace inlet::tcp {
namespace {

TEST_SUITE_BEGIN("tcp.units");

// --- SeqNum ------------------------------------------------------------------

TEST_CASE("RFC 9293 3.4: sequence comparisons are modulo 2^32 across the wrap") {
  const SeqNum before_wrap(0xFFFFFFF0u), after_wrap(0x10u);
  CHECK(before_wrap < after_wrap);
  CHECK(before_wrap <= after_wrap);
  CHECK(after_wrap > before_wrap);
  CHECK(after_wrap >= before_wrap);
  CHECK_FALSE(after_wrap < before_wrap);
  CHECK(after_wrap - before_wrap == 0x20);
  CHECK(before_wrap - after_wrap == -0x20);
  CHECK(before_wrap + 0x20u == after_wrap);
  CHECK(after_wrap - 0x20u == before_wrap);
  SeqNum s(0xFFFFFFFFu);
  s += 1;
  CHECK(s.raw() == 0);
  CHECK(seq_max(before_wrap, after_wrap) == after_wrap);
  CHECK(seq_min(before_wrap, after_wrap) == before_wrap);
  // seq_in: a <= x < b, with the interval straddling zero.
  CHECK(seq_in(SeqNum(0xFFFFFFFFu), before_wrap, after_wrap));
  CHECK(seq_in(SeqNum(0), before_wrap, after_wrap));
  CHECK(seq_in(before_wrap, before_wrap, after_wrap));
  CHECK_FALSE(seq_in(after_wrap, before_wrap, after_wrap));
  CHECK_FALSE(seq_in(SeqNum(0x11u), before_wrap, after_wrap));
  CHECK_FALSE(seq_in(SeqNum(0xFFFFFFEFu), before_wrap, after_wrap));
  // Half the space either way is the horizon of "later".
  CHECK(SeqNum(0x7FFFFFFFu) > SeqNum(0));
  CHECK(SeqNum(0x80000001u) < SeqNum(0));
  CHECK(SeqNum(5) == SeqNum(5));
  CHECK_FALSE(SeqNum(5) < SeqNum(5));
}

// --- SipHash ------------------------------------------------------------------

TEST_CASE("SipHash-2-4 reference vector (Aumasson & Bernstein, appendix A)") {
  SipKey key{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
  uint8_t msg[15];
  for (uint8_t i = 0; i < 15; ++i) msg[i] = i;
  CHECK(siphash24(key, msg) == 0xa129ca6149be45e5ull);
  // The empty message's vector from the same table.
  CHECK(siphash24(key, std::span<const uint8_t>()) == 0x726fdb47dd0e0e31ull);
  // 8 bytes (a whole block, then the length-only final block).
  CHECK(siphash24(key, std::span<const uint8_t>(msg, 8)) == 0x93f5f5799a932462ull);
  // Words hash as their little-endian bytes.
  const uint32_t words[2] = {0x03020100u, 0x07060504u};
  CHECK(siphash_words(key, words) == siphash24(key, std::span<const uint8_t>(msg, 8)));
  CHECK(random_sip_key() != random_sip_key());
}

#if INLET_WITH_SYNCOOKIES
// --- SYN cookies --------------------------------------------------------------

const SipKey kCookieKey0{0x0123456789abcdefull, 0xfedcba9876543210ull};
const SipKey kCookieKey1{0x1111111122222222ull, 0x3333333344444444ull};

CookieTuple tuple(uint32_t n = 0) {
  return CookieTuple{wire::Ipv4Address(0xC0000201u + n), wire::Ipv4Address(0xC0000202u),
                     static_cast<uint16_t>(40000 + n), 80};
}

TEST_CASE("SYN cookies: every MSS table entry survives make/check, in its minute and the next") {
  const SynCookies c(kCookieKey0, kCookieKey1);
  for (uint32_t n = 0; n < 64; ++n) {
    for (uint16_t mss : SynCookies::kMssTable) {
      const uint32_t isn = 0xFFFFFF00u + n * 0x01000001u;  // some near the wrap
      const uint32_t minute = 1000 + n;
      uint16_t encoded = 0;
      const uint32_t cookie = c.make(tuple(n), isn, mss, minute, &encoded);
      CHECK(encoded == mss);
      CHECK(c.check(tuple(n), isn, cookie, minute) == mss);
      CHECK(c.check(tuple(n), isn, cookie, minute + 1) == mss);
    }
  }
}

TEST_CASE("SYN cookies: the client's MSS is rounded down to a table entry") {
  const SynCookies c(kCookieKey0, kCookieKey1);
  const std::pair<uint16_t, uint16_t> cases[] = {{88, 536},    {535, 536},   {536, 536},
                                                 {1299, 536},  {1300, 1300}, {1439, 1300},
                                                 {1440, 1440}, {1459, 1440}, {1460, 1460},
                                                 {9000, 1460}, {65535, 1460}};
  for (auto [client, want] : cases) {
    uint16_t encoded = 0;
    const uint32_t cookie = c.make(tuple(), 777, client, 50, &encoded);
    CHECK(encoded == want);
    CHECK(c.check(tuple(), 777, cookie, 50) == want);
  }
}

TEST_CASE("SYN cookies: a cookie older than two minutes, or from the future, fails") {
  const SynCookies c(kCookieKey0, kCookieKey1);
  for (uint32_t minute : {5u, 255u, 256u, 0xFFFFFFFFu}) {
    const uint32_t cookie = c.make(tuple(), 1, 1460, minute, nullptr);
    CHECK(c.check(tuple(), 1, cookie, minute).has_value());
    CHECK(c.check(tuple(), 1, cookie, minute + 1).has_value());
    CHECK_FALSE(c.check(tuple(), 1, cookie, minute + 2).has_value());
    CHECK_FALSE(c.check(tuple(), 1, cookie, minute + 100).has_value());
    CHECK_FALSE(c.check(tuple(), 1, cookie, minute - 1).has_value());
  }
}

TEST_CASE("SYN cookies: tampering with the ISN, the 4-tuple, the key or any cookie bit fails") {
  const SynCookies c(kCookieKey0, kCookieKey1);
  const SynCookies other(kCookieKey1, kCookieKey0);
  const uint32_t minute = 4242;
  int checked = 0;
  for (uint32_t n = 0; n < 32; ++n) {
    const uint32_t isn = 0x9E3779B9u * (n + 1);
    const uint32_t cookie = c.make(tuple(n), isn, 1460, minute, nullptr);
    REQUIRE(c.check(tuple(n), isn, cookie, minute) == 1460);
    CHECK_FALSE(c.check(tuple(n), isn + 1, cookie, minute).has_value());
    CHECK_FALSE(c.check(tuple(n), isn - 1, cookie, minute).has_value());
    CHECK_FALSE(other.check(tuple(n), isn, cookie, minute).has_value());
    CookieTuple t = tuple(n);
    t.sport ^= 1;
    CHECK_FALSE(c.check(t, isn, cookie, minute).has_value());
    t = tuple(n);
    t.dport = 81;
    CHECK_FALSE(c.check(t, isn, cookie, minute).has_value());
    t = tuple(n);
    t.saddr = wire::Ipv4Address(t.saddr.value() ^ 0x100);
    CHECK_FALSE(c.check(t, isn, cookie, minute).has_value());
    t = tuple(n);
    t.daddr = wire::Ipv4Address(t.daddr.value() + 1);
    CHECK_FALSE(c.check(t, isn, cookie, minute).has_value());
    for (int bit = 0; bit < 32; ++bit) {
      CHECK_FALSE(c.check(tuple(n), isn, cookie ^ (1u << bit), minute).has_value());
      ++checked;
    }
  }
  CHECK(checked == 32 * 32);
}

TEST_CASE("SYN cookies: the timestamp carries wscale and SACK, and never runs ahead of ts_now") {
  std::vector<CookieOptions> all;
  for (int ws = -1; ws <= 14; ++ws) {
    for (bool sack : {false, true}) {
      for (bool ecn : {false, true}) {
        CookieOptions o;
        if (ws >= 0) o.window_scale = static_cast<uint8_t>(ws);
        o.sack_permitted = sack;
        o.ecn = ecn;
        all.push_back(o);
      }
    }
  }
  for (uint32_t now : {0u, 1u, 63u, 64u, 65u, 1000u, 123456789u, 0x7FFFFFFFu, 0xFFFFFFC0u,
                       0xFFFFFFFFu}) {
    for (const CookieOptions& o : all) {
      const uint32_t ts = SynCookies::encode_timestamp(now, o);
      const int32_t ahead = static_cast<int32_t>(ts - now);
      CHECK(ahead <= 0);
      CHECK(ahead > -64);
      auto d = SynCookies::decode_timestamp(ts);
      REQUIRE(d.has_value());
      CHECK(d->window_scale == o.window_scale);
      CHECK(d->sack_permitted == o.sack_permitted);
      CHECK(d->ecn == o.ecn);
    }
  }
}

#endif  // INLET_WITH_SYNCOOKIES

#if INLET_WITH_TFO
// --- Fast Open keys -------------------------------------------------------------

TEST_CASE("RFC 7413 4.1.2: a Fast Open cookie is valid for its client only, and survives one rotation") {
  const wire::Ipv4Address client(0xC0000201u), other(0xC0000203u), server(0xC0000202u);
  FastOpenKeys keys(SipKey{1, 2});
  const FastOpenCookie a = keys.make(client, server);
  CHECK(keys.valid(client, server, a));
  CHECK_FALSE(keys.valid(other, server, a));
  CHECK_FALSE(keys.valid(client, wire::Ipv4Address(0xC0000204u), a));
  CHECK(keys.make(other, server) != a);
  FastOpenCookie bad = a;
  bad[3] ^= 0x40;
  CHECK_FALSE(keys.valid(client, server, bad));
  CHECK_FALSE(keys.valid(client, server, std::span<const uint8_t>(a).first(4)));
  CHECK_FALSE(keys.valid(client, server, std::span<const uint8_t>()));
  const uint8_t longer[16] = {};
  CHECK_FALSE(keys.valid(client, server, longer));

  keys.rotate(SipKey{3, 4});
  const FastOpenCookie b = keys.make(client, server);
  CHECK(b != a);
  CHECK(keys.valid(client, server, b));
  CHECK(keys.valid(client, server, a));  // the previous key's cookie still works
  keys.rotate(SipKey{5, 6});
  CHECK_FALSE(keys.valid(client, server, a));  // two rotations ago: gone
  CHECK(keys.valid(client, server, b));
  CHECK(keys.valid(client, server, keys.make(client, server)));
  // The same key makes the same cookie (stateless server).
  CHECK(FastOpenKeys(SipKey{3, 4}).make(client, server) == b);
}

#endif  // INLET_WITH_TFO

// --- SegmentQueue ------------------------------------------------------------------

BufferPoolConfig small_pool() {
  BufferPoolConfig c;
  c.buffers = 512;
  c.buffer_size = 2048;
  return c;
}

PacketRef packet(BufferPool& pool, SeqNum seq, std::span<const uint8_t> bytes) {
  PacketRef p = pool.alloc();
  REQUIRE(p);
  uint8_t* d = p->put(static_cast<uint32_t>(bytes.size()));
  REQUIRE(d != nullptr);
  std::copy(bytes.begin(), bytes.end(), d);
  set_seg(p.get(), seq, seq + static_cast<uint32_t>(bytes.size()));
  return p;
}

std::vector<uint8_t> fill(size_t n, uint8_t v) { return std::vector<uint8_t>(n, v); }

TEST_CASE("SegmentQueue: count, bytes and truesize follow every link and unlink") {
  BufferPool pool(small_pool());
  {
    SegmentQueue q;
    CHECK(q.empty());
    CHECK(q.pop_front().get() == nullptr);
    CHECK(q.pop_back().get() == nullptr);
    q.push_back(packet(pool, SeqNum(0), fill(100, 1)));
    q.push_back(packet(pool, SeqNum(100), fill(200, 2)));
    q.insert_after(nullptr, packet(pool, SeqNum(0), fill(50, 3)));  // at the front
    Packet* middle = q.front()->next;
    q.insert_after(middle, packet(pool, SeqNum(0), fill(25, 4)));
    CHECK(q.count() == 4);
    CHECK(q.bytes() == 375);
    CHECK(q.truesize() == 4u * pool.buffer_size());
    CHECK(pool.in_use() == 4);
    std::vector<uint8_t> order;
    for (Packet* p = q.front(); p != nullptr; p = p->next) order.push_back(p->data_ptr()[0]);
    CHECK(order == std::vector<uint8_t>{3, 1, 4, 2});
    CHECK(q.back()->data_ptr()[0] == 2);
    CHECK(q.back()->prev->data_ptr()[0] == 4);

    PacketRef m = q.unlink(middle);  // the 100-byte one
    CHECK(m->length() == 100);
    CHECK(m->next == nullptr);
    CHECK(m->prev == nullptr);
    CHECK(q.count() == 3);
    CHECK(q.bytes() == 275);
    CHECK(q.truesize() == 3u * pool.buffer_size());
    m.reset();
    CHECK(pool.in_use() == 3);

    // A partial read pulls bytes from the front packet.
    q.front()->pull(20);
    q.shrink_bytes(20);
    CHECK(q.bytes() == 255);
    PacketRef f = q.pop_front();
    CHECK(f->length() == 30);
    CHECK(q.bytes() == 225);
    PacketRef b = q.pop_back();
    CHECK(b->length() == 200);
    CHECK(q.count() == 1);
    CHECK(q.bytes() == 25);
    CHECK(q.front() == q.back());
    f.reset();
    b.reset();
    q.push_back(packet(pool, SeqNum(7), fill(10, 9)));
    CHECK(seg_seq(q.back()) == SeqNum(7));
    CHECK(seg_end(q.back()) == SeqNum(17));
    q.clear();
    CHECK(q.empty());
    CHECK(q.count() == 0);
    CHECK(q.bytes() == 0);
    CHECK(q.truesize() == 0);
    q.push_back(packet(pool, SeqNum(0), fill(10, 9)));
  }  // the destructor releases what is left
  CHECK(pool.in_use() == 0);
  CHECK(pool.descriptors_in_use() == 0);
}

// --- OooQueue ------------------------------------------------------------------------

uint8_t byte_at(SeqNum s) { return static_cast<uint8_t>((s.raw() * 2654435761u) >> 24); }

std::vector<uint8_t> bytes_at(SeqNum seq, uint32_t n) {
  std::vector<uint8_t> b(n);
  for (uint32_t i = 0; i < n; ++i) b[i] = byte_at(seq + i);
  return b;
}

// Every queued segment: sorted, disjoint, non-empty, carrying the right bytes;
// totals as the segments add up. Returns the queued byte ranges.
std::vector<SeqRange> check_queue(const OooQueue& q) {
  std::vector<SeqRange> out;
  size_t bytes = 0, count = 0;
  q.for_each_block([&](const SeqRange& r) { out.push_back(r); });
  SeqRange last{SeqNum(0), SeqNum(0)};
  bool first = true;
  const Packet* p = q.empty() ? nullptr : q.highest();
  // Walk backwards from the highest: prev links must mirror next links.
  std::vector<const Packet*> rev;
  for (; p != nullptr; p = p->prev) rev.push_back(p);
  std::reverse(rev.begin(), rev.end());
  for (const Packet* s : rev) {
    const SeqNum a = seg_seq(s), b = seg_end(s);
    REQUIRE(b - a > 0);
    REQUIRE(static_cast<uint32_t>(b - a) == s->length());
    if (!first) REQUIRE(a >= last.right);
    first = false;
    last = {a, b};
    CHECK(std::equal(s->data_ptr(), s->data_ptr() + s->length(), bytes_at(a, s->length()).begin()));
    bytes += s->length();
    ++count;
  }
  CHECK(count == q.count());
  CHECK(bytes == q.bytes());
  return out;
}

TEST_CASE("OooQueue: random overlapping and duplicate segments near the 2^32 wrap match a byte-map model") {
  BufferPool pool(small_pool());
  std::mt19937 rng(20240229);
  constexpr uint32_t kWindow = 6000;
  uint64_t inserts = 0, merged_total = 0, dsacks = 0, pops = 0, rounds_with_wrap = 0;
  for (int round = 0; round < 150; ++round) {
    // The window straddles 2^32 in most rounds.
    const SeqNum base(0xFFFFFFFFu - static_cast<uint32_t>(rng() % (2 * kWindow)) + kWindow / 2);
    if (base.raw() > (base + kWindow).raw()) ++rounds_with_wrap;
    SeqNum rcv_nxt = base;
    std::vector<bool> have(kWindow, false);  // model: byte base+i is queued
    std::vector<uint8_t> delivered;
    OooQueue q;
    auto idx = [&](SeqNum s) { return static_cast<uint32_t>(s - base); };
    auto deliver_in_order = [&](PacketRef p) {
      REQUIRE(seg_seq(p.get()) == rcv_nxt);
      delivered.insert(delivered.end(), p->data_ptr(), p->data_ptr() + p->length());
      for (SeqNum s = seg_seq(p.get()); s < seg_end(p.get()); s += 1) have[idx(s)] = false;
      rcv_nxt = seg_end(p.get());
    };
    for (int step = 0; step < 80; ++step) {
      const uint32_t choice = rng() % 100;
      if (choice < 8 && !q.empty()) {
        // Pruning: the highest segment goes; its bytes are no longer held.
        PacketRef top = q.pop_highest();
        for (SeqNum s = seg_seq(top.get()); s < seg_end(top.get()); s += 1) have[idx(s)] = false;
        ++pops;
        continue;
      }
      const uint32_t len = 1 + rng() % (choice < 20 ? 40 : 1200);
      const uint32_t hi = static_cast<uint32_t>(base + kWindow - rcv_nxt);
      if (hi <= 1) break;
      const uint32_t start_off = rng() % std::min<uint32_t>(hi - 1, 3000);
      SeqNum seq = rcv_nxt + start_off;
      const uint32_t n = std::min<uint32_t>(len, static_cast<uint32_t>(base + kWindow - seq));
      if (n == 0) continue;
      SeqNum end = seq + n;
      if (start_off == 0) {
        // In order: as TCP does, straight to the receiver, then drain.
        PacketRef p = packet(pool, seq, bytes_at(seq, n));
        deliver_in_order(std::move(p));
        uint32_t stale = 0;
        rcv_nxt = q.drain(rcv_nxt, [&](PacketRef r) { deliver_in_order(std::move(r)); }, &stale);
        // The model: bytes at or below rcv_nxt are gone, contiguous ones delivered.
        CHECK(std::none_of(have.begin(), have.begin() + idx(rcv_nxt), [](bool b) { return b; }));
        if (idx(rcv_nxt) < kWindow) CHECK_FALSE(have[idx(rcv_nxt)]);
        check_queue(q);
        continue;
      }
      bool any_old = false, any_new = false;
      for (SeqNum s = seq; s < end; s += 1) (have[idx(s)] ? any_old : any_new) = true;
      const size_t count_before = q.count();
      OooInsert r = q.insert(packet(pool, seq, bytes_at(seq, n)), seq, end);
      ++inserts;
      // New bytes are always queued; a segment with none may still be
      // queued when it replaces the queued segments it exactly covers.
      if (any_new) CHECK(r.queued);
      if (r.queued && !any_new) CHECK(r.merged > 0);
      CHECK(r.dsack.has_value() == any_old);
      if (r.dsack) {
        ++dsacks;
        CHECK(r.dsack->left >= seq);
        CHECK(r.dsack->right <= end);
        CHECK(r.dsack->left < r.dsack->right);
        bool all_old = true;
        for (SeqNum s = r.dsack->left; s < r.dsack->right; s += 1) all_old = all_old && have[idx(s)];
        CHECK(all_old);
      }
      // Merged: exactly the segments dropped as wholly covered.
      CHECK(count_before + 1 - q.count() == r.merged);
      merged_total += r.merged;
      for (SeqNum s = seq; s < end; s += 1) have[idx(s)] = true;
      if (r.queued) {
        CHECK(r.range.left >= seq);
        CHECK(r.range.right <= end);
        CHECK(r.range.left < r.range.right);
      } else {
        CHECK(r.range.left <= seq);
        CHECK(r.range.right >= end);
      }
      bool range_held = true;
      for (SeqNum s = r.range.left; s < r.range.right; s += 1) range_held = range_held && have[idx(s)];
      CHECK(range_held);
      // The queue holds exactly the model's bytes, as maximal blocks.
      std::vector<SeqRange> blocks = check_queue(q);
      std::vector<SeqRange> model;
      for (uint32_t i = 0; i < kWindow; ++i) {
        if (!have[i]) continue;
        if (!model.empty() && model.back().right == base + i) {
          model.back().right = base + i + 1;
        } else {
          model.push_back({base + i, base + i + 1});
        }
      }
      // for_each_block joins adjacent segments: the same as the model's runs.
      REQUIRE(blocks.size() == model.size());
      CHECK(blocks == model);
      if (!q.empty()) {
        CHECK(q.lowest() == model.front().left);
        CHECK(q.highest_end() == model.back().right);
      }
    }
    // Fill every hole in order, as retransmissions would: the stream is whole.
    while (rcv_nxt < base + kWindow) {
      const uint32_t n = std::min<uint32_t>(700, static_cast<uint32_t>(base + kWindow - rcv_nxt));
      deliver_in_order(packet(pool, rcv_nxt, bytes_at(rcv_nxt, n)));
      rcv_nxt = q.drain(rcv_nxt, [&](PacketRef r) { deliver_in_order(std::move(r)); }, nullptr);
    }
    CHECK(q.empty());
    CHECK(q.bytes() == 0);
    REQUIRE(delivered.size() == kWindow);
    CHECK(delivered == bytes_at(base, kWindow));
    CHECK(pool.in_use() == 0);
  }
  CHECK(inserts > 5000);
  CHECK(merged_total > 100);
  CHECK(dsacks > 1000);
  CHECK(pops > 100);
  CHECK(rounds_with_wrap > 50);
  CHECK(pool.in_use() == 0);
}

TEST_CASE("OooQueue: a segment whose bytes two queued neighbours already hold is not queued empty") {
  BufferPool pool(small_pool());
  OooQueue q;
  const SeqNum b(0xFFFFFFF0u);
  CHECK(q.insert(packet(pool, b, bytes_at(b, 20)), b, b + 20).queued);           // [-16, 4)
  CHECK(q.insert(packet(pool, b + 20, bytes_at(b + 20, 20)), b + 20, b + 40).queued);  // [4, 24)
  OooInsert r = q.insert(packet(pool, b + 10, bytes_at(b + 10, 20)), b + 10, b + 30);
  CHECK_FALSE(r.queued);
  CHECK(r.merged == 1);
  REQUIRE(r.dsack.has_value());
  CHECK(*r.dsack == SeqRange{b + 10, b + 30});  // one block across both neighbours
  CHECK(r.range == SeqRange{b, b + 40});
  CHECK(q.count() == 2);
  CHECK(q.bytes() == 40);
  CHECK(pool.in_use() == 2);
  // A segment covering queued ones replaces them (and is counted as a merge each).
  r = q.insert(packet(pool, b - 5, bytes_at(b - 5, 50)), b - 5, b + 45);
  CHECK(r.queued);
  CHECK(r.merged == 2);
  CHECK(*r.dsack == SeqRange{b, b + 40});
  CHECK(r.range == SeqRange{b - 5, b + 45});
  CHECK(q.count() == 1);
  CHECK(q.bytes() == 50);
  // Partial overlaps trim the newcomer: no merge counted.
  r = q.insert(packet(pool, b + 40, bytes_at(b + 40, 20)), b + 40, b + 60);
  CHECK(r.queued);
  CHECK(r.merged == 0);
  CHECK(*r.dsack == SeqRange{b + 40, b + 45});
  CHECK(r.range == SeqRange{b + 45, b + 60});
  r = q.insert(packet(pool, b - 10, bytes_at(b - 10, 10)), b - 10, b);
  CHECK(r.range == SeqRange{b - 10, b - 5});
  check_queue(q);
  q.clear();
  CHECK(pool.in_use() == 0);
}

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::tcp

// libFuzzer target, differential: segments (in order, out of order,
// overlapping, duplicate, near the 2^32 wrap) into tcp::OooQueue against a
// byte map of what is held. Invariants: the queue's blocks are exactly the
// map's runs; segments sorted, disjoint and carrying their own bytes; insert's
// queued / merged / dsack / range agree with the map; drain hands over in
// order exactly the bytes at RCV.NXT; the pool holds one buffer per queued
// segment and none once the queue is cleared.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/buffer_pool.h"
#include "fuzz/fuzz_input.h"
#include "tcp/ooo_queue.h"

namespace {
using namespace inlet;
using namespace inlet::tcp;
using inlet::fuzz::FuzzInput;

constexpr uint32_t kWindow = 4096;

uint8_t byte_at(SeqNum s) { return static_cast<uint8_t>((s.raw() * 2654435761u) >> 24); }

PacketRef make_segment(BufferPool& pool, SeqNum seq, uint32_t n) {
  PacketRef p = pool.alloc();
  FUZZ_CHECK(p);
  uint8_t* d = p->put(n);
  FUZZ_CHECK(d != nullptr);
  for (uint32_t i = 0; i < n; ++i) d[i] = byte_at(seq + i);
  set_seg(p.get(), seq, seq + n);
  return p;
}

void check_against_map(const OooQueue& q, const std::vector<bool>& have, SeqNum base, SeqNum rcv_nxt) {
  size_t bytes = 0, count = 0;
  SeqNum last_end = rcv_nxt;
  for (const Packet* p = q.empty() ? nullptr : q.highest(); p != nullptr; p = p->prev) {
    const SeqNum a = seg_seq(p), b = seg_end(p);
    FUZZ_CHECK(b - a > 0 && static_cast<uint32_t>(b - a) == p->length());
    if (count > 0) FUZZ_CHECK(b <= last_end);
    last_end = a;
    FUZZ_CHECK(a > rcv_nxt);
    for (uint32_t i = 0; i < p->length(); ++i) FUZZ_CHECK(p->data_ptr()[i] == byte_at(a + i));
    bytes += p->length();
    ++count;
  }
  FUZZ_CHECK(count == q.count() && bytes == q.bytes());
  std::vector<SeqRange> blocks, model;
  q.for_each_block([&](const SeqRange& r) { blocks.push_back(r); });
  for (uint32_t i = 0; i < kWindow; ++i) {
    if (!have[i]) continue;
    if (!model.empty() && model.back().right == base + i) {
      model.back().right = base + i + 1;
    } else {
      model.push_back({base + i, base + i + 1});
    }
  }
  FUZZ_CHECK(blocks == model);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  // One pool for every input (building it is most of a short input's cost):
  // each input must give every buffer back, which is checked at its end.
  static BufferPool pool([] {
    BufferPoolConfig pc;
    pc.buffers = 256;
    pc.buffer_size = 2048;
    return pc;
  }());
  FUZZ_CHECK(pool.in_use() == 0);
  const uint32_t start = in.u8() & 1 ? 0xFFFFFFFFu - in.small_below(2 * kWindow) : in.u32();
  const SeqNum base(start);
  SeqNum rcv_nxt = base;
  std::vector<bool> have(kWindow, false);
  uint64_t delivered = 0;
  auto idx = [&](SeqNum s) { return static_cast<uint32_t>(s - base); };
  auto deliver = [&](PacketRef p) {
    FUZZ_CHECK(seg_seq(p.get()) == rcv_nxt);
    FUZZ_CHECK(static_cast<uint32_t>(seg_end(p.get()) - seg_seq(p.get())) == p->length());
    for (uint32_t i = 0; i < p->length(); ++i) {
      FUZZ_CHECK(p->data_ptr()[i] == byte_at(rcv_nxt + i));
      have[idx(rcv_nxt + i)] = false;
    }
    delivered += p->length();
    rcv_nxt = seg_end(p.get());
  };
  OooQueue q;

  for (int step = 0; step < 120 && !in.empty(); ++step) {
    const uint8_t op = in.u8();
    const uint32_t room = static_cast<uint32_t>(base + kWindow - rcv_nxt);
    if (room <= 1) break;
    if (op % 8 == 0) {  // pruning: the highest segment goes
      if (q.empty()) continue;
      PacketRef top = q.pop_highest();
      if (!q.empty()) FUZZ_CHECK(seg_seq(top.get()) >= q.highest_end());
      for (SeqNum s = seg_seq(top.get()); s < seg_end(top.get()); s += 1) {
        FUZZ_CHECK(have[idx(s)]);
        have[idx(s)] = false;
      }
    } else if (op % 8 == 1) {  // in order: straight to the receiver, then drain
      const uint32_t n = std::min<uint32_t>(1 + in.small_below(1400), room);
      deliver(make_segment(pool, rcv_nxt, n));
      uint32_t stale = 0;
      const SeqNum after = q.drain(rcv_nxt, [&](PacketRef r) { deliver(std::move(r)); }, &stale);
      FUZZ_CHECK(after == rcv_nxt);
      // Nothing at or below RCV.NXT is held any more.
      for (uint32_t i = 0; i <= idx(rcv_nxt) && i < kWindow; ++i) have[i] = false;
      if (!q.empty()) FUZZ_CHECK(q.lowest() > rcv_nxt);
    } else {  // out of order, somewhere after RCV.NXT
      const uint32_t off = 1 + (op & 0x80 ? in.small_below(64) : in.small_below(room - 1));
      if (off >= room) continue;
      const SeqNum seq = rcv_nxt + off;
      const uint32_t n = std::min<uint32_t>(1 + (op & 0x40 ? in.small_below(40) : in.small_below(1400)), room - off);
      const SeqNum end = seq + n;
      bool any_old = false, any_new = false;
      for (SeqNum s = seq; s < end; s += 1) (have[idx(s)] ? any_old : any_new) = true;
      const size_t count_before = q.count();
      const OooInsert r = q.insert(make_segment(pool, seq, n), seq, end);
      if (any_new) FUZZ_CHECK(r.queued);
      if (r.queued && !any_new) FUZZ_CHECK(r.merged > 0);
      FUZZ_CHECK(r.dsack.has_value() == any_old);
      if (r.dsack) {
        FUZZ_CHECK(r.dsack->left >= seq && r.dsack->right <= end && r.dsack->left < r.dsack->right);
        for (SeqNum s = r.dsack->left; s < r.dsack->right; s += 1) FUZZ_CHECK(have[idx(s)]);
      }
      FUZZ_CHECK(count_before + 1 - q.count() == r.merged);
      for (SeqNum s = seq; s < end; s += 1) have[idx(s)] = true;
      if (r.queued) {
        FUZZ_CHECK(r.range.left >= seq && r.range.right <= end && r.range.left < r.range.right);
      } else {
        FUZZ_CHECK(r.range.left <= seq && r.range.right >= end);
      }
      for (SeqNum s = r.range.left; s < r.range.right; s += 1) FUZZ_CHECK(have[idx(s)]);
    }
    FUZZ_CHECK(pool.in_use() == q.count());
    FUZZ_CHECK(delivered == static_cast<uint32_t>(rcv_nxt - base));
    // The whole queue against the map every fourth step and at the end (the
    // walk costs the window's size): segments sorted, disjoint, own bytes;
    // blocks = the map's runs.
    if (step % 4 == 3) check_against_map(q, have, base, rcv_nxt);
  }
  check_against_map(q, have, base, rcv_nxt);
  q.clear();
  FUZZ_CHECK(pool.in_use() == 0);
  return 0;
}

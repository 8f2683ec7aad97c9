// Poller: the NAPI contract of Documentation/networking/napi.rst and the
// net_rx_action() loop of net/core/dev.c — a queue that did less than its
// weight completes and re-arms its interrupt; one that did exactly its weight
// stays on the poll list with the interrupt masked; netdev_budget and
// netdev_budget_usecs end a round (time_squeeze); busy_poll delays the re-arm.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/buffer_pool.h"
#include "core/clock.h"
#include "core/poller.h"
#include "core/port.h"

namespace inlet {
namespace {

// A port queue that hands out frames from a deque (each a pool buffer holding
// a 4-byte sequence number) and records what the poller does with it.
class FakeQueue final : public PortQueue {
 public:
  explicit FakeQueue(BufferPool& pool, std::string name = "fake") : pool_(pool), name_(name) {}

  void attach(BufferPool&) override {}
  void detach() override { frames_.clear(); }
  size_t rx_burst(std::span<PacketRef> out) override {
    ++rx_burst_calls;
    size_t n = 0;
    while (n < out.size() && !frames_.empty()) {
      out[n++] = std::move(frames_.front());
      frames_.pop_front();
    }
    return n;
  }
  size_t tx_burst(std::span<PacketRef>) override { return 0; }
  void set_interrupt_enabled(bool enabled) override {
    irq_enabled = enabled;
    (enabled ? enables : disables)++;
    if (on_irq_enable && enabled) on_irq_enable();
  }
  bool rx_pending() const override { return !frames_.empty(); }
  std::string_view name() const override { return name_; }

  // The wire: a frame lands in the queue; raises the interrupt when enabled
  // (as a NIC does), silently while masked.
  void arrive(uint32_t count = 1) {
    for (uint32_t i = 0; i < count; ++i) {
      PacketRef p = pool_.alloc();
      REQUIRE(p);
      const uint32_t seq = next_seq_++;
      std::memcpy(p->put(sizeof seq), &seq, sizeof seq);
      frames_.push_back(std::move(p));
    }
    if (irq_enabled) {
      ++interrupts;
      raise_irq();
    }
  }
  void raise_irq() { raise_interrupt(); }
  size_t queued() const { return frames_.size(); }

  bool irq_enabled = true;
  int enables = 0;
  int disables = 0;
  int interrupts = 0;
  int rx_burst_calls = 0;
  std::function<void()> on_irq_enable;

 private:
  BufferPool& pool_;
  std::string name_;
  std::deque<PacketRef> frames_;
  uint32_t next_seq_ = 0;
};

uint32_t seq_of(const PacketRef& p) {
  uint32_t s;
  std::memcpy(&s, p->data_ptr(), sizeof s);
  return s;
}

BufferPoolConfig pool_config() {
  BufferPoolConfig c;
  c.buffers = 2048;
  c.buffer_size = 256;
  c.headroom = 32;
  return c;
}

PollerConfig poller_config(uint32_t budget, uint32_t weight) {
  PollerConfig c;
  c.budget = budget;
  c.weight = weight;
  return c;
}

// Counts frames per handler and checks they arrive in order.
struct Sink {
  uint64_t frames = 0;
  uint32_t next_seq = 0;
  int batches = 0;
  bool in_order = true;
  Poller::RxHandler handler() {
    return [this](std::span<PacketRef> batch) {
      ++batches;
      for (PacketRef& p : batch) {
        if (seq_of(p) != next_seq) in_order = false;
        ++next_seq;
        ++frames;
      }
    };
  }
};

TEST_SUITE("core.poller") {

TEST_CASE("add_queue: schedules the queue once and masks its interrupt") {
  BufferPool pool(pool_config());
  ManualClock clock;
  Poller poller(poller_config(300, 64), clock);
  FakeQueue q(pool);
  Sink sink;
  CHECK(poller.add_queue(&q, sink.handler()) == 0);
  CHECK(poller.queue_count() == 1);
  CHECK(poller.queue(0) == &q);
  CHECK(poller.has_work());
  CHECK_FALSE(q.irq_enabled);
  // Nothing waiting: the first poll completes and re-arms.
  CHECK(poller.poll() == 0);
  CHECK_FALSE(poller.has_work());
  CHECK(q.irq_enabled);
  CHECK(poller.stats().polls == 1);
}

TEST_CASE("napi.rst: work < weight completes and re-arms the interrupt") {
  BufferPool pool(pool_config());
  ManualClock clock;
  Poller poller(poller_config(300, 64), clock);
  FakeQueue q(pool);
  Sink sink;
  poller.add_queue(&q, sink.handler());
  poller.poll();
  REQUIRE(q.irq_enabled);
  q.arrive(10);
  CHECK(q.interrupts == 1);
  CHECK(poller.has_work());
  CHECK_FALSE(q.irq_enabled);  // napi_schedule masks it
  const int enables = q.enables;
  CHECK(poller.poll() == 10);
  CHECK(sink.frames == 10);
  CHECK(sink.in_order);
  CHECK_FALSE(poller.has_work());
  CHECK(q.irq_enabled);
  CHECK(q.enables == enables + 1);
  CHECK(poller.stats().processed == 10);
  CHECK(poller.stats().time_squeeze == 0);
  CHECK(pool.in_use() == 0);  // the poller released what the handler left
}

TEST_CASE("napi.rst: work == weight means 'poll again'; the interrupt stays masked") {
  BufferPool pool(pool_config());
  ManualClock clock;
  Poller poller(poller_config(300, 64), clock);
  FakeQueue q(pool);
  Sink sink;
  poller.add_queue(&q, sink.handler());
  poller.poll();
  q.arrive(64);  // exactly the weight
  const int enables = q.enables;
  CHECK(poller.poll() == 64);
  CHECK(q.queued() == 0);       // the ring happens to be empty now ...
  CHECK(poller.has_work());     // ... but the queue stays scheduled
  CHECK_FALSE(q.irq_enabled);   // with the interrupt masked
  CHECK(q.enables == enables);  // and never re-armed in between
  // A frame arriving while masked raises nothing, and is found by the next poll.
  q.arrive(1);
  CHECK(q.interrupts == 1);
  CHECK(poller.poll() == 1);
  CHECK_FALSE(poller.has_work());
  CHECK(q.irq_enabled);
  CHECK(sink.frames == 65);
  CHECK(sink.in_order);
}

TEST_CASE("napi.rst: work == weight, then a dry poll completes") {
  BufferPool pool(pool_config());
  ManualClock clock;
  Poller poller(poller_config(300, 64), clock);
  FakeQueue q(pool);
  Sink sink;
  poller.add_queue(&q, sink.handler());
  poller.poll();
  q.arrive(64);
  CHECK(poller.poll() == 64);
  REQUIRE(poller.has_work());
  CHECK(poller.poll() == 0);
  CHECK_FALSE(poller.has_work());
  CHECK(q.irq_enabled);
  CHECK(poller.stats().polls == 3);
  CHECK(poller.stats().processed == 64);
}

TEST_CASE("napi_poll: returns the work done, at most the weight, in batches of kBatch") {
  BufferPool pool(pool_config());
  ManualClock clock;
  Poller poller(poller_config(300, 200), clock);
  FakeQueue q(pool);
  Sink sink;
  const int index = poller.add_queue(&q, sink.handler());
  q.arrive(150);
  CHECK(poller.napi_poll(index, 100) == 100);
  CHECK(sink.batches == 2);  // 64 + 36
  CHECK(q.queued() == 50);
  CHECK(poller.napi_poll(index, 100) == 50);
  CHECK(poller.napi_poll(index, 100) == 0);
  CHECK(sink.frames == 150);
  CHECK(sink.in_order);
  CHECK(pool.in_use() == 0);
}

TEST_CASE("a handler may keep packets; the rest are released") {
  BufferPool pool(pool_config());
  ManualClock clock;
  Poller poller(poller_config(300, 64), clock);
  FakeQueue q(pool);
  std::vector<PacketRef> kept;
  poller.add_queue(&q, [&](std::span<PacketRef> batch) {
    for (size_t i = 0; i < batch.size(); i += 2) kept.push_back(std::move(batch[i]));
  });
  q.arrive(10);
  poller.poll();
  CHECK(kept.size() == 5);
  CHECK(pool.in_use() == 5);
  kept.clear();
  CHECK(pool.in_use() == 0);
}

TEST_CASE("netdev_budget ends a round: time_squeeze and budget_exhausted, the rest next round") {
  BufferPool pool(pool_config());
  ManualClock clock;
  // Three queues, weight 8, budget 16: the third queue waits for the next round.
  Poller poller(poller_config(16, 8), clock);
  FakeQueue a(pool, "a"), b(pool, "b"), c(pool, "c");
  Sink sa, sb, sc;
  poller.add_queue(&a, sa.handler());
  poller.add_queue(&b, sb.handler());
  poller.add_queue(&c, sc.handler());
  a.arrive(20);
  b.arrive(20);
  c.arrive(20);
  CHECK(poller.poll() == 16);
  CHECK(sa.frames == 8);
  CHECK(sb.frames == 8);
  CHECK(sc.frames == 0);
  CHECK(poller.stats().time_squeeze == 1);
  CHECK(poller.stats().budget_exhausted == 1);
  CHECK(poller.has_work());
  CHECK_FALSE(a.irq_enabled);
  CHECK_FALSE(b.irq_enabled);
  CHECK_FALSE(c.irq_enabled);
  // Next round starts with the queue that was left out.
  CHECK(poller.poll() == 16);
  CHECK(sc.frames == 8);
  CHECK(sa.frames == 16);
  CHECK(sb.frames == 8);
  CHECK(poller.stats().time_squeeze == 2);
  CHECK(poller.stats().budget_exhausted == 2);
  // Drain everything; all complete and re-arm.
  for (int i = 0; i < 20 && poller.has_work(); ++i) poller.poll();
  CHECK_FALSE(poller.has_work());
  CHECK(sa.frames == 20);
  CHECK(sb.frames == 20);
  CHECK(sc.frames == 20);
  CHECK(sa.in_order);
  CHECK(sb.in_order);
  CHECK(sc.in_order);
  CHECK(a.irq_enabled);
  CHECK(b.irq_enabled);
  CHECK(c.irq_enabled);
  CHECK(poller.stats().processed == 60);
  CHECK(pool.in_use() == 0);
}

TEST_CASE("a round that uses the budget but empties the poll list is no squeeze") {
  BufferPool pool(pool_config());
  ManualClock clock;
  Poller poller(poller_config(10, 64), clock);
  FakeQueue q(pool);
  Sink sink;
  poller.add_queue(&q, sink.handler());
  poller.poll();
  q.arrive(5);
  CHECK(poller.poll() == 5);
  CHECK(poller.stats().time_squeeze == 0);
  CHECK(poller.stats().budget_exhausted == 0);
  // More than the budget: the round stops at the budget.
  q.arrive(25);
  CHECK(poller.poll() == 10);
  CHECK(poller.stats().time_squeeze == 1);
  CHECK(poller.stats().budget_exhausted == 1);
  CHECK(poller.has_work());
}

TEST_CASE("round-robin: two busy queues get the same share") {
  BufferPool pool(pool_config());
  ManualClock clock;
  SUBCASE("budget a multiple of the weight") {
    Poller poller(poller_config(300, 64), clock);
    FakeQueue a(pool, "a"), b(pool, "b");
    Sink sa, sb;
    poller.add_queue(&a, sa.handler());
    poller.add_queue(&b, sb.handler());
    a.arrive(500);
    b.arrive(500);
    for (int i = 0; i < 5; ++i) poller.poll();
    CHECK(sa.frames == 320);
    CHECK(sb.frames == 320);
    for (int i = 0; i < 20 && poller.has_work(); ++i) poller.poll();
    CHECK(sa.frames == 500);
    CHECK(sb.frames == 500);
  }
  SUBCASE("budget not a multiple of the weight") {
    // weight 64, budget 100: the budget runs out during the second queue's
    // turn every round. Whatever the split, over several rounds both queues
    // must be served alike (net_rx_action rotates its list).
    Poller poller(poller_config(100, 64), clock);
    FakeQueue a(pool, "a"), b(pool, "b");
    Sink sa, sb;
    poller.add_queue(&a, sa.handler());
    poller.add_queue(&b, sb.handler());
    a.arrive(1000);
    b.arrive(1000);
    for (int i = 0; i < 10; ++i) CHECK(poller.poll() <= 100);  // never beyond the budget
    const int64_t diff = static_cast<int64_t>(sa.frames) - static_cast<int64_t>(sb.frames);
    INFO("a=" << sa.frames << " b=" << sb.frames);
    CHECK(sa.frames + sb.frames >= 900);
    CHECK(diff <= 64);
    CHECK(diff >= -64);
    CHECK(sa.in_order);
    CHECK(sb.in_order);
    CHECK(poller.stats().budget_exhausted >= 5);
  }
  SUBCASE("four queues, budget 150, weight 64") {
    Poller poller(poller_config(150, 64), clock);
    std::vector<std::unique_ptr<FakeQueue>> queues;
    std::vector<Sink> sinks(4);
    for (int i = 0; i < 4; ++i) {
      queues.push_back(std::make_unique<FakeQueue>(pool));
      poller.add_queue(queues.back().get(), sinks[static_cast<size_t>(i)].handler());
      queues.back()->arrive(400);
    }
    for (int i = 0; i < 8; ++i) CHECK(poller.poll() == 150);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (const Sink& s : sinks) {
      lo = std::min(lo, s.frames);
      hi = std::max(hi, s.frames);
      CHECK(s.in_order);
    }
    INFO("lo=" << lo << " hi=" << hi);
    CHECK(hi - lo <= 64);
    for (int i = 0; i < 40 && poller.has_work(); ++i) poller.poll();
    for (const Sink& s : sinks) CHECK(s.frames == 400);
  }
  CHECK(pool.in_use() == 0);
}

TEST_CASE("netdev_budget_usecs: the time limit ends a round (time_squeeze)") {
  BufferPool pool(pool_config());
  ManualClock clock;
  PollerConfig config = poller_config(300, 8);
  config.time_limit = absl::Microseconds(2000);
  Poller poller(config, clock);
  FakeQueue a(pool, "a"), b(pool, "b"), c(pool, "c");
  // a's and b's batches each take 1.5 ms of virtual time; c's take none.
  uint64_t fa = 0, fb = 0, fc = 0;
  poller.add_queue(&a, [&](std::span<PacketRef> batch) {
    fa += batch.size();
    clock.advance(absl::Microseconds(1500));
  });
  poller.add_queue(&b, [&](std::span<PacketRef> batch) {
    fb += batch.size();
    clock.advance(absl::Microseconds(1500));
  });
  poller.add_queue(&c, [&](std::span<PacketRef> batch) { fc += batch.size(); });
  a.arrive(40);
  b.arrive(40);
  c.arrive(5);
  // a: 1.5 ms (under 2 ms), b: 3 ms (over): c waits for the next round.
  CHECK(poller.poll() == 16);
  CHECK(fa == 8);
  CHECK(fb == 8);
  CHECK(fc == 0);
  CHECK(poller.stats().time_squeeze == 1);
  CHECK(poller.stats().budget_exhausted == 0);  // 16 of 300: not the budget
  CHECK(poller.has_work());
  CHECK_FALSE(c.irq_enabled);
  // Next round: c first (it completes), then a, then b runs out the clock again.
  CHECK(poller.poll() == 21);
  CHECK(fc == 5);
  CHECK(c.irq_enabled);
  CHECK(fa == 16);
  CHECK(fb == 16);
  CHECK(poller.stats().time_squeeze == 2);
  CHECK(poller.stats().budget_exhausted == 0);
}

TEST_CASE("netdev_budget_usecs: a handler that eats the whole limit stops the round after one queue") {
  BufferPool pool(pool_config());
  ManualClock clock;
  PollerConfig config = poller_config(300, 64);
  config.time_limit = absl::Microseconds(100);
  Poller poller(config, clock);
  FakeQueue a(pool, "a"), b(pool, "b");
  uint64_t fa = 0, fb = 0;
  poller.add_queue(&a, [&](std::span<PacketRef> batch) {
    fa += batch.size();
    clock.advance(absl::Microseconds(100));
  });
  poller.add_queue(&b, [&](std::span<PacketRef> batch) { fb += batch.size(); });
  a.arrive(3);
  b.arrive(3);
  CHECK(poller.poll() == 3);
  CHECK(fa == 3);
  CHECK(fb == 0);
  CHECK(poller.stats().time_squeeze == 1);
  CHECK(poller.stats().budget_exhausted == 0);
  CHECK(a.irq_enabled);  // a ran dry and completed
  CHECK_FALSE(b.irq_enabled);
  CHECK(poller.poll() == 3);
  CHECK(fb == 3);
  CHECK_FALSE(poller.has_work());
}

TEST_CASE("busy_poll: a dry queue stays on the list until busy_poll µs have passed") {
  BufferPool pool(pool_config());
  ManualClock clock;
  PollerConfig config = poller_config(300, 64);
  config.busy_poll = absl::Microseconds(50);
  Poller poller(config, clock);
  FakeQueue q(pool);
  Sink sink;
  poller.add_queue(&q, sink.handler());
  q.arrive(3);
  CHECK(poller.poll() == 3);
  // Dry now, but busy polling: still scheduled, interrupt masked.
  CHECK(poller.has_work());
  CHECK_FALSE(q.irq_enabled);
  const int enables = q.enables;
  clock.advance(absl::Microseconds(20));
  CHECK(poller.poll() == 0);
  CHECK(poller.has_work());
  CHECK_FALSE(q.irq_enabled);
  // A frame found while busy polling restarts the window.
  q.arrive(1);
  CHECK(q.interrupts == 0);  // masked the whole time
  clock.advance(absl::Microseconds(20));
  CHECK(poller.poll() == 1);
  CHECK(poller.has_work());
  clock.advance(absl::Microseconds(49));
  CHECK(poller.poll() == 0);
  CHECK(poller.has_work());
  CHECK(q.enables == enables);
  clock.advance(absl::Microseconds(1));  // 50 µs since the last frame
  CHECK(poller.poll() == 0);
  CHECK_FALSE(poller.has_work());
  CHECK(q.irq_enabled);
  CHECK(q.enables == enables + 1);
  CHECK(sink.frames == 4);
}

TEST_CASE("busy_poll 0: a dry queue re-arms at once") {
  BufferPool pool(pool_config());
  ManualClock clock;
  Poller poller(poller_config(300, 64), clock);
  FakeQueue q(pool);
  Sink sink;
  poller.add_queue(&q, sink.handler());
  q.arrive(1);
  poller.poll();
  CHECK_FALSE(poller.has_work());
  CHECK(q.irq_enabled);
}

TEST_CASE("a frame that arrives between the last rx_burst and the re-arm is not stranded") {
  BufferPool pool(pool_config());
  ManualClock clock;
  Poller poller(poller_config(300, 64), clock);
  FakeQueue q(pool);
  Sink sink;
  poller.add_queue(&q, sink.handler());
  poller.poll();
  q.arrive(2);
  SUBCASE("arrives while the handler runs (interrupt masked)") {
    // The handler runs after rx_burst and before the poller completes the queue.
    FakeQueue r(pool, "r");
    Sink rs;
    bool injected = false;
    poller.add_queue(&r, [&](std::span<PacketRef> batch) {
      rs.handler()(batch);
      if (!injected) {
        injected = true;
        r.arrive(1);  // masked: raises nothing
      }
    });
    poller.poll();  // q's two frames, and r's first (empty) turn
    REQUIRE_FALSE(poller.has_work());
    r.arrive(2);
    CHECK(r.interrupts == 1);
    CHECK(poller.poll() == 2);
    CHECK(r.interrupts == 1);
    // rx_pending() after the re-arm put it back on the list, masked again.
    CHECK(poller.has_work());
    CHECK_FALSE(r.irq_enabled);
    CHECK(poller.poll() == 1);
    CHECK(rs.frames == 3);
    CHECK(rs.in_order);
    CHECK_FALSE(poller.has_work());
    CHECK(r.irq_enabled);
  }
  SUBCASE("arrives just before the re-arm takes effect") {
    // The port's interrupt logic misses it (it was masked when it arrived).
    bool injected = false;
    q.on_irq_enable = [&] {
      if (injected) return;
      injected = true;
      q.irq_enabled = false;  // still masked when the frame lands
      q.arrive(1);
      q.irq_enabled = true;
    };
    CHECK(poller.poll() == 2);
    CHECK(q.interrupts == 1);  // only the interrupt for the first two frames
    CHECK(poller.has_work());
    CHECK_FALSE(q.irq_enabled);
    CHECK(poller.poll() == 1);
    CHECK(sink.frames == 3);
    CHECK_FALSE(poller.has_work());
    CHECK(q.irq_enabled);
  }
  CHECK(pool.in_use() == 0);
}

TEST_CASE("the poll-end hook runs once per poll()") {
  BufferPool pool(pool_config());
  ManualClock clock;
  Poller poller(poller_config(16, 8), clock);
  FakeQueue a(pool, "a"), b(pool, "b");
  Sink sa, sb;
  int hooks = 0;
  poller.set_poll_end_hook([&] { ++hooks; });
  poller.add_queue(&a, sa.handler());
  poller.add_queue(&b, sb.handler());
  a.arrive(30);
  b.arrive(30);
  poller.poll();  // two queues, several batches: still one hook
  CHECK(hooks == 1);
  poller.poll();
  CHECK(hooks == 2);
  int polls = 2;
  while (poller.has_work()) {
    poller.poll();
    ++polls;
  }
  CHECK(hooks == polls);
  CHECK(static_cast<uint64_t>(hooks) == poller.stats().polls);
}

TEST_CASE("the interrupt handler (napi_schedule) puts the queue on the poll list, once") {
  BufferPool pool(pool_config());
  ManualClock clock;
  Poller poller(poller_config(300, 64), clock);
  FakeQueue a(pool, "a"), b(pool, "b");
  Sink sa, sb;
  poller.add_queue(&a, sa.handler());
  poller.add_queue(&b, sb.handler());
  poller.poll();
  REQUIRE_FALSE(poller.has_work());
  const int disables = b.disables;
  b.raise_irq();
  CHECK(poller.has_work());
  CHECK_FALSE(b.irq_enabled);
  CHECK(b.disables == disables + 1);
  CHECK(a.irq_enabled);  // only the queue that raised it
  b.raise_irq();         // already scheduled: no second entry
  CHECK(b.disables == disables + 1);
  b.arrive(3);           // masked: nothing raised
  CHECK(b.interrupts == 0);
  CHECK(poller.poll() == 3);
  CHECK(sb.frames == 3);
  CHECK(sa.frames == 0);
  CHECK_FALSE(poller.has_work());
  // schedule() by index does the same as the interrupt.
  poller.schedule(0);
  CHECK(poller.has_work());
  CHECK_FALSE(a.irq_enabled);
  CHECK(poller.poll() == 0);
  CHECK(a.irq_enabled);
}

TEST_CASE("schedule_pending: queues with frames waiting are scheduled, others not") {
  BufferPool pool(pool_config());
  ManualClock clock;
  Poller poller(poller_config(300, 64), clock);
  FakeQueue a(pool, "a"), b(pool, "b");
  Sink sa, sb;
  poller.add_queue(&a, sa.handler());
  poller.add_queue(&b, sb.handler());
  poller.poll();
  // Frames that landed without an interrupt (an fd-based port, say).
  a.irq_enabled = false;
  a.arrive(2);
  a.irq_enabled = true;
  CHECK_FALSE(poller.has_work());
  poller.schedule_pending();
  CHECK(poller.has_work());
  CHECK_FALSE(a.irq_enabled);
  CHECK(b.irq_enabled);
  CHECK(poller.poll() == 2);
  CHECK(sa.frames == 2);
}

TEST_CASE("SoftnetStat: processed counts frames, polls counts rounds") {
  BufferPool pool(pool_config());
  ManualClock clock;
  Poller poller(poller_config(300, 64), clock);
  FakeQueue q(pool);
  Sink sink;
  poller.add_queue(&q, sink.handler());
  q.arrive(7);
  poller.poll();
  q.arrive(100);
  while (poller.has_work()) poller.poll();
  CHECK(poller.stats().processed == 107);
  CHECK(sink.frames == 107);
  CHECK(poller.stats().dropped == 0);
  CHECK(poller.stats().polls >= 3);
}

TEST_CASE("weight and budget of 0 are raised to 1") {
  ManualClock clock;
  Poller poller(poller_config(0, 0), clock);
  CHECK(poller.config().weight == 1);
  CHECK(poller.config().budget == 1);
}

}  // TEST_SUITE

}  // namespace
}  // namespace inlet

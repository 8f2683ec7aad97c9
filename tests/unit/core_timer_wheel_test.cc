// TimerWheel: a hashed timing wheel (Varghese & Lauck, as the kernel's
// kernel/time/timer.c). The rules: a timer never fires before its deadline and
// at most one granularity after it (given advance() is called); cancel and
// re-arm work from anywhere, callbacks included; advance() always terminates;
// a gap longer than a revolution fires everything due exactly once.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "core/clock.h"
#include "core/timer_wheel.h"

namespace inlet {
namespace {

const absl::Time kStart = absl::UnixEpoch() + absl::Hours(1);
constexpr absl::Duration kMs = absl::Milliseconds(1);

TEST_SUITE("core.timer_wheel") {

TEST_CASE("a timer never fires before its deadline") {
  TimerWheel wheel(kStart);
  int fired = 0;
  Timer t([&] { ++fired; });
  wheel.arm(t, kStart + absl::Microseconds(500));
  CHECK(t.armed());
  CHECK(t.deadline() == kStart + absl::Microseconds(500));
  CHECK(wheel.advance(kStart) == 0);
  CHECK(fired == 0);
  CHECK(wheel.advance(kStart + absl::Microseconds(499)) == 0);
  CHECK(fired == 0);
  CHECK(t.armed());
  // Fires at the first advance at or after its deadline's tick (1 ms).
  CHECK(wheel.advance(kStart + kMs) == 1);
  CHECK(fired == 1);
  CHECK_FALSE(t.armed());
  CHECK(wheel.advance(kStart + 5 * kMs) == 0);
  CHECK(fired == 1);
}

TEST_CASE("never early, at most one granularity late, from any starting point") {
  TimerWheel wheel(kStart);
  ManualClock clock(kStart);
  int fired = 0;
  absl::Time fired_at;
  Timer t([&] {
    ++fired;
    fired_at = clock.now();
  });
  // Deadlines on, just after and just before tick boundaries, advanced in
  // 100 µs steps.
  const absl::Duration offsets[] = {absl::Milliseconds(3),
                                    absl::Milliseconds(3) + absl::Nanoseconds(1),
                                    absl::Milliseconds(3) - absl::Nanoseconds(1),
                                    absl::Microseconds(1250), absl::ZeroDuration() + kMs / 10};
  for (absl::Duration off : offsets) {
    CAPTURE(absl::FormatDuration(off));
    const absl::Time deadline = clock.now() + off;
    wheel.arm(t, deadline);
    fired = 0;
    for (int step = 0; step < 100 && fired == 0; ++step) {
      clock.advance(absl::Microseconds(100));
      wheel.advance(clock.now());
    }
    CHECK(fired == 1);
    CHECK(fired_at >= deadline);
    CHECK(fired_at - deadline <= kMs);
  }
}

TEST_CASE("a deadline on a tick boundary fires at that tick") {
  TimerWheel wheel(kStart);
  int fired = 0;
  Timer t([&] { ++fired; });
  wheel.arm(t, kStart + 7 * kMs);
  CHECK(wheel.advance(kStart + 7 * kMs - absl::Nanoseconds(1)) == 0);
  CHECK(wheel.advance(kStart + 7 * kMs) == 1);
  CHECK(fired == 1);
}

TEST_CASE("a deadline already passed fires on a later advance(), at most a tick late") {
  TimerWheel wheel(kStart);
  int fired = 0;
  Timer t([&] { ++fired; });
  wheel.advance(kStart + 10 * kMs);
  wheel.arm(t, kStart + 2 * kMs);  // in the past
  CHECK(t.armed());
  CHECK(wheel.advance(kStart + 11 * kMs) == 1);
  CHECK(fired == 1);
  // A deadline before the wheel's origin also fires.
  wheel.arm(t, kStart - absl::Hours(1));
  CHECK(wheel.advance(kStart + 12 * kMs) == 1);
  CHECK(fired == 2);
}

TEST_CASE("cancel: a cancelled timer does not fire; cancel twice is harmless") {
  TimerWheel wheel(kStart);
  int fired = 0;
  Timer t([&] { ++fired; });
  wheel.arm(t, kStart + 2 * kMs);
  CHECK(wheel.armed_count() == 1);
  wheel.cancel(t);
  CHECK_FALSE(t.armed());
  CHECK(wheel.armed_count() == 0);
  wheel.cancel(t);
  CHECK(wheel.armed_count() == 0);
  CHECK(wheel.advance(kStart + 10 * kMs) == 0);
  CHECK(fired == 0);
  // A never-armed timer can be cancelled.
  Timer idle;
  wheel.cancel(idle);
  CHECK_FALSE(idle.armed());
}

TEST_CASE("re-arm moves the timer: it fires once, at the new deadline") {
  TimerWheel wheel(kStart);
  int fired = 0;
  Timer t([&] { ++fired; });
  SUBCASE("later") {
    wheel.arm(t, kStart + 2 * kMs);
    wheel.arm(t, kStart + 5 * kMs);
    CHECK(wheel.armed_count() == 1);
    CHECK(t.deadline() == kStart + 5 * kMs);
    CHECK(wheel.advance(kStart + 4 * kMs) == 0);
    CHECK(wheel.advance(kStart + 5 * kMs) == 1);
  }
  SUBCASE("earlier") {
    wheel.arm(t, kStart + 5 * kMs);
    wheel.arm(t, kStart + 2 * kMs);
    CHECK(wheel.armed_count() == 1);
    CHECK(wheel.advance(kStart + 2 * kMs) == 1);
    CHECK(wheel.advance(kStart + 10 * kMs) == 0);
  }
  SUBCASE("same slot, next revolution") {
    TimerWheel small(kStart, kMs, 8);
    small.arm(t, kStart + 3 * kMs);
    small.arm(t, kStart + 11 * kMs);  // same slot (11 % 8 == 3)
    CHECK(small.advance(kStart + 3 * kMs) == 0);
    CHECK(small.advance(kStart + 10 * kMs) == 0);
    CHECK(small.advance(kStart + 11 * kMs) == 1);
  }
  CHECK(fired == 1);
}

TEST_CASE("several timers in one slot fire together; others wait") {
  TimerWheel wheel(kStart);
  std::vector<int> order;
  Timer a([&] { order.push_back(1); });
  Timer b([&] { order.push_back(2); });
  Timer c([&] { order.push_back(3); });
  wheel.arm(a, kStart + 3 * kMs);
  wheel.arm(b, kStart + 3 * kMs);
  wheel.arm(c, kStart + 4 * kMs);
  CHECK(wheel.armed_count() == 3);
  CHECK(wheel.advance(kStart + 3 * kMs) == 2);
  CHECK(order.size() == 2);
  CHECK(wheel.armed_count() == 1);
  CHECK(wheel.advance(kStart + 4 * kMs) == 1);
  CHECK(order.back() == 3);
}

TEST_CASE("a periodic timer re-arms itself from its callback") {
  TimerWheel wheel(kStart);
  int fired = 0;
  Timer t;
  t.set_callback([&] {
    ++fired;
    wheel.arm(t, t.deadline() + 10 * kMs);
  });
  wheel.arm(t, kStart + 10 * kMs);
  for (int ms = 1; ms <= 100; ++ms) wheel.advance(kStart + ms * kMs);
  CHECK(fired == 10);
  CHECK(t.armed());
  CHECK(t.deadline() == kStart + 110 * kMs);
  // One big step covering several periods: each period fires once.
  wheel.advance(kStart + 150 * kMs);
  CHECK(fired == 15);
  CHECK(t.deadline() == kStart + 160 * kMs);
}

TEST_CASE("advance() terminates when a callback re-arms into the past") {
  TimerWheel wheel(kStart);
  int fired = 0;
  Timer t;
  t.set_callback([&] {
    ++fired;
    wheel.arm(t, absl::InfinitePast());
  });
  wheel.arm(t, kStart + kMs);
  const size_t n = wheel.advance(kStart + 5 * kMs);
  // At most once per tick processed.
  CHECK(n >= 1);
  CHECK(n <= 5);
  CHECK(fired == static_cast<int>(n));
  CHECK(t.armed());
  // Still due: fires again (once) on the next tick.
  CHECK(wheel.advance(kStart + 6 * kMs) == 1);
  // Re-arming to "now" from the callback behaves the same.
  Timer u;
  int u_fired = 0;
  absl::Time now = kStart + 6 * kMs;
  u.set_callback([&] {
    ++u_fired;
    wheel.arm(u, now);
  });
  wheel.cancel(t);
  wheel.arm(u, now);
  now = kStart + 20 * kMs;
  CHECK(wheel.advance(now) <= 15);
  CHECK(u_fired >= 1);
}

TEST_CASE("a callback that cancels another due timer prevents it from firing") {
  TimerWheel wheel(kStart, kMs, 8);
  int a_fired = 0, b_fired = 0;
  Timer b([&] { ++b_fired; });
  Timer a([&] {
    ++a_fired;
    wheel.cancel(b);
  });
  SUBCASE("same slot") {
    wheel.arm(a, kStart + 2 * kMs);
    wheel.arm(b, kStart + 2 * kMs);
  }
  SUBCASE("a later slot, same advance") {
    wheel.arm(a, kStart + 2 * kMs);
    wheel.arm(b, kStart + 5 * kMs);
  }
  SUBCASE("across a long gap") {
    wheel.arm(a, kStart + 2 * kMs);
    wheel.arm(b, kStart + 30 * kMs);  // more than a revolution later
  }
  const size_t n = wheel.advance(kStart + 40 * kMs);
  CHECK(n == 1);
  CHECK(a_fired == 1);
  CHECK(b_fired == 0);
  CHECK_FALSE(b.armed());
  CHECK(wheel.armed_count() == 0);
}

TEST_CASE("a callback may arm another timer that is due: it fires in the same advance") {
  TimerWheel wheel(kStart, kMs, 8);
  int b_fired = 0;
  Timer b([&] { ++b_fired; });
  Timer a([&] { wheel.arm(b, kStart + 4 * kMs); });
  wheel.arm(a, kStart + 2 * kMs);
  CHECK(wheel.advance(kStart + 6 * kMs) == 2);
  CHECK(b_fired == 1);
}

TEST_CASE("a long gap (more than slots x granularity) fires everything due exactly once") {
  TimerWheel wheel(kStart, kMs, 8);  // one revolution = 8 ms
  std::vector<int> counts(40, 0);
  std::vector<std::unique_ptr<Timer>> timers;
  for (int i = 0; i < 40; ++i) {
    timers.push_back(std::make_unique<Timer>([&counts, i] { ++counts[static_cast<size_t>(i)]; }));
    wheel.arm(*timers.back(), kStart + (i + 1) * kMs);  // 1 ms .. 40 ms
  }
  CHECK(wheel.armed_count() == 40);
  // 25 ms in one step: timers 1..25 ms are due, 26..40 are not.
  CHECK(wheel.advance(kStart + 25 * kMs) == 25);
  for (int i = 0; i < 40; ++i) {
    CAPTURE(i);
    CHECK(counts[static_cast<size_t>(i)] == (i < 25 ? 1 : 0));
  }
  CHECK(wheel.armed_count() == 15);
  CHECK(wheel.next_deadline() == kStart + 26 * kMs);
  // Each remaining one fires at its own tick.
  for (int ms = 26; ms <= 40; ++ms) CHECK(wheel.advance(kStart + ms * kMs) == 1);
  for (int c : counts) CHECK(c == 1);
  CHECK(wheel.armed_count() == 0);
  // A gap of many revolutions with nothing armed, then more timers.
  wheel.advance(kStart + absl::Seconds(10));
  int late = 0;
  Timer t([&] { ++late; });
  wheel.arm(t, kStart + absl::Seconds(10) + 3 * kMs);
  CHECK(wheel.advance(kStart + absl::Seconds(10) + 2 * kMs) == 0);
  CHECK(wheel.advance(kStart + absl::Seconds(11)) == 1);
  CHECK(late == 1);
}

TEST_CASE("a periodic timer is not stranded by a long gap") {
  // The callback re-arms one period after the old deadline, which is still in
  // the past during a long gap. It must keep firing promptly afterwards, not
  // wait a revolution of the wheel.
  TimerWheel wheel(kStart, kMs, 8);
  ManualClock clock(kStart);
  int fired = 0;
  Timer t;
  t.set_callback([&] {
    ++fired;
    wheel.arm(t, t.deadline() + 3 * kMs);
  });
  wheel.arm(t, kStart + 3 * kMs);
  clock.advance(100 * kMs);  // 12.5 revolutions
  wheel.advance(clock.now());
  CHECK(fired >= 1);
  REQUIRE(t.armed());
  // From here on, at most one granularity late: next_deadline() is what a
  // caller sleeps on, and advancing to it (plus a tick) must fire the timer.
  for (int i = 0; i < 5; ++i) {
    const int before = fired;
    const absl::Time due = std::max(wheel.next_deadline(), clock.now());
    clock.set(due + kMs);
    wheel.advance(clock.now());
    CAPTURE(i);
    CHECK(fired > before);
  }
}

TEST_CASE("timers armed during a long gap for a tick inside it still fire in that advance") {
  TimerWheel wheel(kStart, kMs, 8);
  int b_fired = 0;
  Timer b([&] { ++b_fired; });
  // a fires during the gap and arms b for 88 ms: due (<= now), in slot 0,
  // which a sweep that starts at tick 0 has already passed.
  Timer a([&] { wheel.arm(b, kStart + 88 * kMs); });
  wheel.arm(a, kStart + 1 * kMs);
  wheel.advance(kStart + 100 * kMs);
  CHECK(b_fired == 1);
  CHECK_FALSE(b.armed());
}

TEST_CASE("next_deadline: the tick the earliest timer fires on, InfiniteFuture when none") {
  TimerWheel wheel(kStart);
  CHECK(wheel.next_deadline() == absl::InfiniteFuture());
  Timer a, b, c;
  wheel.arm(a, kStart + 50 * kMs);
  wheel.arm(b, kStart + absl::Microseconds(2500));
  wheel.arm(c, kStart + absl::Seconds(5));  // beyond one revolution (1.024 s)
  // 2.5 ms rounds up to the 3 ms tick: sleeping until then never spins.
  CHECK(wheel.next_deadline() == kStart + absl::Microseconds(3000));
  wheel.cancel(b);
  CHECK(wheel.next_deadline() == kStart + 50 * kMs);
  wheel.advance(kStart + 50 * kMs);
  CHECK(wheel.next_deadline() == kStart + absl::Seconds(5));
  wheel.cancel(c);
  CHECK(wheel.next_deadline() == absl::InfiniteFuture());
}

TEST_CASE("armed_count follows arm, re-arm, cancel and firing") {
  TimerWheel wheel(kStart);
  Timer a, b;
  CHECK(wheel.armed_count() == 0);
  wheel.arm(a, kStart + 1 * kMs);
  wheel.arm(b, kStart + 2 * kMs);
  CHECK(wheel.armed_count() == 2);
  wheel.arm(a, kStart + 3 * kMs);  // re-arm does not double count
  CHECK(wheel.armed_count() == 2);
  wheel.advance(kStart + 2 * kMs);
  CHECK(wheel.armed_count() == 1);
  wheel.cancel(a);
  CHECK(wheel.armed_count() == 0);
}

TEST_CASE("destroying an armed Timer cancels it") {
  TimerWheel wheel(kStart);
  int fired = 0;
  {
    Timer t([&] { ++fired; });
    wheel.arm(t, kStart + kMs);
    Timer u([&] { ++fired; });
    wheel.arm(u, kStart + kMs);  // shares the slot with t
    CHECK(wheel.armed_count() == 2);
  }
  CHECK(wheel.armed_count() == 0);
  CHECK(wheel.next_deadline() == absl::InfiniteFuture());
  CHECK(wheel.advance(kStart + 5 * kMs) == 0);
  CHECK(fired == 0);
}

TEST_CASE("destroying the wheel disarms its timers") {
  Timer t;
  {
    TimerWheel wheel(kStart);
    wheel.arm(t, kStart + kMs);
    CHECK(t.armed());
  }
  CHECK_FALSE(t.armed());
}

TEST_CASE("a timer without a callback fires harmlessly") {
  TimerWheel wheel(kStart);
  Timer t;
  wheel.arm(t, kStart + kMs);
  CHECK(wheel.advance(kStart + kMs) == 1);
  CHECK_FALSE(t.armed());
}

TEST_CASE("an InfiniteFuture deadline never fires") {
  TimerWheel wheel(kStart, kMs, 8);
  int fired = 0;
  Timer t([&] { ++fired; });
  wheel.arm(t, absl::InfiniteFuture());
  CHECK(wheel.advance(kStart + absl::Hours(24 * 365)) == 0);
  CHECK(fired == 0);
  CHECK(t.armed());
  CHECK(wheel.next_deadline() == absl::InfiniteFuture());
}

TEST_CASE("a coarser granularity: rounding up to 10 ms ticks") {
  TimerWheel wheel(kStart, absl::Milliseconds(10), 64);
  int fired = 0;
  Timer t([&] { ++fired; });
  wheel.arm(t, kStart + 11 * kMs);
  CHECK(wheel.advance(kStart + 19 * kMs) == 0);
  CHECK(wheel.advance(kStart + 20 * kMs) == 1);
  CHECK(fired == 1);
}

}  // TEST_SUITE

}  // namespace
}  // namespace inlet

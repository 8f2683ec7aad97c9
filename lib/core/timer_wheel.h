// TimerWheel: protocol timers (ARP aging, ICMP rate limit refill, later TCP
// delayed ACK and retransmission) on a hashed wheel of fixed-size slots.
// Timers are intrusive: the owner embeds a Timer, so arming never allocates.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "core/alloc.h"

namespace inlet {

class TimerWheel;

class Timer {
 public:
  Timer() = default;
  // The callback is set once, at set-up; it runs from TimerWheel::advance().
  explicit Timer(absl::AnyInvocable<void()> on_expiry) : on_expiry_(std::move(on_expiry)) {}
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  ~Timer();

  void set_callback(absl::AnyInvocable<void()> on_expiry) { on_expiry_ = std::move(on_expiry); }
  bool armed() const { return wheel_ != nullptr; }
  absl::Time deadline() const { return deadline_; }

 private:
  friend class TimerWheel;
  absl::AnyInvocable<void()> on_expiry_;
  TimerWheel* wheel_ = nullptr;
  Timer* prev_ = nullptr;
  Timer* next_ = nullptr;
  absl::Time deadline_;
  int64_t tick_ = 0;
};

class TimerWheel {
 public:
  // `granularity`: one slot's width; timers fire at most this late.
  explicit TimerWheel(absl::Time start, absl::Duration granularity = absl::Milliseconds(1),
                      uint32_t slots = 1024);
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // (Re)arms `t` to fire at `deadline` (a deadline in the past fires on the
  // next advance() that reaches a tick not yet processed: at most one
  // granularity after the last advance()).
  void arm(Timer& t, absl::Time deadline);
  void cancel(Timer& t);
  // Fires every timer whose deadline tick is <= now's tick, slot by slot.
  // Returns how many fired.
  size_t advance(absl::Time now);
  // When advance() will next fire something: the earliest armed deadline
  // rounded up to its tick (absl::InfiniteFuture() when none) — how long a
  // caller may sleep without waking early and spinning.
  absl::Time next_deadline() const;
  size_t armed_count() const { return armed_; }

 private:
  int64_t tick_of(absl::Time t) const;
  void link(Timer& t);
  void unlink(Timer& t);

  absl::Time origin_;
  absl::Duration granularity_;
  int64_t granularity_ns_;
  Vector<Timer*> slots_;  // heads of circular doubly linked lists
  int64_t current_tick_ = 0;   // every tick < current_tick_ has been processed
  size_t armed_ = 0;
};

}  // namespace inlet

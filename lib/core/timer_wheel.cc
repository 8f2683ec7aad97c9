#include "core/timer_wheel.h"

#include <algorithm>

namespace inlet {

Timer::~Timer() {
  if (wheel_ != nullptr) wheel_->cancel(*this);
}

TimerWheel::TimerWheel(absl::Time start, absl::Duration granularity, uint32_t slots)
    : origin_(start),
      granularity_(granularity),
      granularity_ns_(std::max<int64_t>(absl::ToInt64Nanoseconds(granularity), 1)),
      slots_(std::max<uint32_t>(slots, 1), nullptr) {}

TimerWheel::~TimerWheel() {
  for (Timer*& head : slots_) {
    while (head != nullptr) cancel(*head);
  }
}

int64_t TimerWheel::tick_of(absl::Time t) const {
  if (t <= origin_) return 0;
  if (t == absl::InfiniteFuture()) return INT64_MAX / 2;
  return absl::ToInt64Nanoseconds(t - origin_) / granularity_ns_;
}

void TimerWheel::link(Timer& t) {
  Timer*& head = slots_[static_cast<size_t>(t.tick_) % slots_.size()];
  if (head == nullptr) {
    t.prev_ = t.next_ = &t;
    head = &t;
  } else {
    t.next_ = head;
    t.prev_ = head->prev_;
    head->prev_->next_ = &t;
    head->prev_ = &t;
  }
  t.wheel_ = this;
  ++armed_;
}

void TimerWheel::unlink(Timer& t) {
  Timer*& head = slots_[static_cast<size_t>(t.tick_) % slots_.size()];
  if (t.next_ == &t) {
    head = nullptr;
  } else {
    t.prev_->next_ = t.next_;
    t.next_->prev_ = t.prev_;
    if (head == &t) head = t.next_;
  }
  t.prev_ = t.next_ = nullptr;
  t.wheel_ = nullptr;
  --armed_;
}

void TimerWheel::arm(Timer& t, absl::Time deadline) {
  if (t.wheel_ != nullptr) t.wheel_->unlink(t);
  t.deadline_ = deadline;
  // Rounded up, so a timer never fires before its deadline; a deadline already
  // passed lands on the current tick and fires on the next advance().
  int64_t tick = tick_of(deadline);
  if (deadline > origin_ + granularity_ * tick) ++tick;
  t.tick_ = std::max(tick, current_tick_);
  link(t);
}

void TimerWheel::cancel(Timer& t) {
  if (t.wheel_ == this) unlink(t);
}

size_t TimerWheel::advance(absl::Time now) {
  const int64_t target = tick_of(now);  // process ticks up to and including target
  size_t fired = 0;
  if (armed_ == 0) {
    current_tick_ = std::max(current_tick_, target + 1);
    return 0;
  }
  // A long gap visits each slot at most once: one revolution sees every slot,
  // and timers keep their own tick for the "is it due" check. The revolution
  // is the one that ends at `target`, so that a timer (re-)armed from a
  // callback for a tick <= target lands in a slot still to be visited rather
  // than one already passed (where it would wait a whole revolution).
  const int64_t first =
      std::max(current_tick_, target - static_cast<int64_t>(slots_.size()) + 1);
  for (int64_t tick = first; tick <= target && armed_ > 0; ++tick) {
    // Re-arms from callbacks land after this tick, so a callback that re-arms
    // into the past fires at most once per tick: advance() always terminates.
    current_tick_ = tick + 1;
    Timer*& head = slots_[static_cast<size_t>(tick) % slots_.size()];
    for (;;) {
      Timer* due = nullptr;
      if (head != nullptr) {
        Timer* t = head;
        do {
          if (t->tick_ <= target) {
            due = t;
            break;
          }
          t = t->next_;
        } while (t != head);
      }
      if (due == nullptr) break;
      // One at a time: a callback may cancel or re-arm any other timer.
      unlink(*due);
      ++fired;
      if (due->on_expiry_) due->on_expiry_();
    }
  }
  current_tick_ = std::max(current_tick_, target + 1);
  return fired;
}

absl::Time TimerWheel::next_deadline() const {
  if (armed_ == 0) return absl::InfiniteFuture();
  // The time of the earliest tick that holds a timer: that is when advance()
  // will fire it (deadlines are rounded up to a tick). Returning the exact
  // deadline instead would have a caller wake early and spin until the tick.
  int64_t best = INT64_MAX;
  for (Timer* head : slots_) {
    if (head == nullptr) continue;
    Timer* t = head;
    do {
      best = std::min(best, t->tick_);
      t = t->next_;
    } while (t != head);
  }
  if (best >= INT64_MAX / 2) return absl::InfiniteFuture();
  return origin_ + granularity_ * best;
}

}  // namespace inlet

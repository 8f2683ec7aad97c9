// Clock: where a context reads the time. Injectable so that tests, fuzzers and
// pcap replay run in virtual time; the system clock is CLOCK_MONOTONIC.
#pragma once

#include "absl/time/time.h"

namespace inlet {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time now() const = 0;
};

// CLOCK_MONOTONIC as an absl::Time (epoch = boot), cheap enough per poll.
class MonotonicClock final : public Clock {
 public:
  absl::Time now() const override;
};

// Virtual time that moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start = absl::UnixEpoch() + absl::Hours(1)) : now_(start) {}
  absl::Time now() const override { return now_; }
  void advance(absl::Duration d) { now_ += d; }
  void set(absl::Time t) { now_ = t; }

 private:
  absl::Time now_;
};

}  // namespace inlet

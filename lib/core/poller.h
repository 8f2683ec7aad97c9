// Poller: NAPI for inlet. Queues whose interrupt fired are polled up to
// net.core.dev_weight frames each, round-robin, until a poll has used
// net.core.netdev_budget frames or net.core.netdev_budget_usecs (time_squeeze);
// a queue that runs dry re-arms its interrupt, after net.core.busy_poll µs of
// busy polling when that is set. Transmit is flushed once at the end of a poll.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/counters.h"
#include "core/packet.h"
#include "core/port.h"

namespace inlet {

struct PollerConfig {
  uint32_t budget = 300;                           // net.core.netdev_budget
  absl::Duration time_limit = absl::Microseconds(2000);  // net.core.netdev_budget_usecs
  uint32_t weight = 64;                            // net.core.dev_weight
  absl::Duration busy_poll = absl::ZeroDuration();  // net.core.busy_poll
};

class Poller {
 public:
  using RxHandler = absl::AnyInvocable<void(std::span<PacketRef> batch)>;
  static constexpr size_t kBatch = 64;  // frames handed up the stack at a time

  Poller(const PollerConfig& config, const Clock& clock);
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Registers a queue; its frames go to `on_rx` in batches. Starts with the
  // interrupt enabled and the queue scheduled once (frames may be waiting).
  int add_queue(PortQueue* queue, RxHandler on_rx);
  // Runs after every poll that did work: where the stack flushes transmit.
  void set_poll_end_hook(absl::AnyInvocable<void()> hook) { poll_end_ = std::move(hook); }

  // napi_schedule: masks the queue's interrupt and puts it on the poll list.
  void schedule(int queue_index);
  // Schedules every queue whose port reports pending frames (for ports whose
  // interrupt is an fd the application waited on).
  void schedule_pending();

  // net_rx_action: one round. Returns the frames processed.
  uint32_t poll();
  // True while some queue is on the poll list (the caller should poll again
  // rather than sleep).
  bool has_work() const { return !poll_list_.empty(); }

  const SoftnetStat& stats() const { return stats_; }
  size_t queue_count() const { return queues_.size(); }
  PortQueue* queue(int i) const { return queues_[i].port; }
  const PollerConfig& config() const { return config_; }

  // Exposed for tests of the NAPI contract: polls one queue for at most
  // `weight` frames and returns the work done (== weight means "poll again").
  uint32_t napi_poll(int queue_index, uint32_t weight);

 private:
  struct Queue {
    PortQueue* port = nullptr;
    RxHandler on_rx;
    bool scheduled = false;
    absl::Time idle_since = absl::InfinitePast();  // for busy polling
    uint32_t turn_left = 0;  // rest of a turn the budget cut short (0: none)
  };
  // napi_complete_done: leave the poll list and re-arm, unless busy polling.
  // Returns true when the queue left the list.
  bool complete(Queue& q, absl::Time now);

  PollerConfig config_;
  const Clock& clock_;
  Vector<Queue> queues_;
  Vector<int> poll_list_;  // FIFO of scheduled queue indices
  std::array<PacketRef, kBatch> batch_;
  absl::AnyInvocable<void()> poll_end_;
  SoftnetStat stats_;
};

}  // namespace inlet

#include "core/poller.h"

#include <algorithm>

namespace inlet {

Poller::Poller(const PollerConfig& config, const Clock& clock) : config_(config), clock_(clock) {
  config_.weight = std::max<uint32_t>(config_.weight, 1);
  config_.budget = std::max<uint32_t>(config_.budget, 1);
}

int Poller::add_queue(PortQueue* queue, RxHandler on_rx) {
  const int index = static_cast<int>(queues_.size());
  Queue& q = queues_.emplace_back();  // in place: no temporary Queue to move and destroy
  q.port = queue;
  q.on_rx = std::move(on_rx);
  poll_list_.reserve(queues_.size());
  queue->set_interrupt_handler([this, index] { schedule(index); });
  schedule(index);
  return index;
}

void Poller::schedule(int queue_index) {
  Queue& q = queues_[queue_index];
  if (q.scheduled) return;
  q.scheduled = true;
  q.idle_since = absl::InfinitePast();
  q.port->set_interrupt_enabled(false);
  poll_list_.push_back(queue_index);
}

void Poller::schedule_pending() {
  for (size_t i = 0; i < queues_.size(); ++i) {
    if (!queues_[i].scheduled && queues_[i].port->rx_pending()) schedule(static_cast<int>(i));
  }
}

uint32_t Poller::napi_poll(int queue_index, uint32_t weight) {
  Queue& q = queues_[queue_index];
  uint32_t work = 0;
  while (work < weight) {
    const size_t want = std::min<size_t>(kBatch, weight - work);
    const size_t got = q.port->rx_burst(std::span<PacketRef>(batch_.data(), want));
    if (got == 0) break;
    work += static_cast<uint32_t>(got);
    q.on_rx(std::span<PacketRef>(batch_.data(), got));
    // Whatever the handler did not take is consumed here (normal release).
    for (size_t i = 0; i < got; ++i) batch_[i].reset();
    if (got < want) break;  // the ring ran dry
  }
  return work;
}

bool Poller::complete(Queue& q, absl::Time now) {
  if (config_.busy_poll > absl::ZeroDuration()) {
    if (q.idle_since == absl::InfinitePast()) q.idle_since = now;
    if (now - q.idle_since < config_.busy_poll) return false;  // keep spinning
  }
  q.scheduled = false;
  q.port->set_interrupt_enabled(true);
  return true;
}

uint32_t Poller::poll() {
  const absl::Time start = clock_.now();
  const absl::Time time_limit = start + config_.time_limit;
  int64_t budget = config_.budget;
  uint32_t total = 0;
  ++stats_.polls;
  // Each queue on the list at the start gets a turn; queues that did a full
  // weight go to the back (round-robin), the others complete.
  size_t turns = poll_list_.size();
  while (turns-- > 0 && !poll_list_.empty()) {
    const int index = poll_list_.front();
    poll_list_.erase(poll_list_.begin());
    Queue& q = queues_[index];
    const uint32_t turn = q.turn_left > 0 ? q.turn_left : config_.weight;
    const uint32_t weight = static_cast<uint32_t>(std::min<int64_t>(turn, budget));
    const uint32_t work = napi_poll(index, weight);
    q.turn_left = 0;
    total += work;
    budget -= work;
    const absl::Time now = clock_.now();
    if (work > 0) q.idle_since = absl::InfinitePast();
    if (work == weight && weight < turn) {
      // The budget cut this turn short: the queue goes first next round for
      // the rest of its weight (at the back, the queue polled last would get
      // only the budget's remainder, round after round).
      q.turn_left = turn - weight;
      poll_list_.insert(poll_list_.begin(), index);
    } else if (work == weight) {
      // NAPI contract: work == weight means "poll me again"; the interrupt
      // stays masked even if the ring happens to be empty now.
      poll_list_.push_back(index);
    } else if (!complete(q, now)) {
      poll_list_.push_back(index);  // busy polling: stay on the list
    } else if (q.port->rx_pending()) {
      schedule(index);  // a frame raced the re-arm
    }
    if (budget <= 0 || now >= time_limit) {
      if (!poll_list_.empty()) {
        ++stats_.time_squeeze;
        if (budget <= 0) ++stats_.budget_exhausted;
      }
      break;
    }
  }
  stats_.processed += total;
  if (poll_end_) poll_end_();
  return total;
}

}  // namespace inlet

#include "examples/common/observability.h"

#include <signal.h>

#include "absl/strings/str_format.h"

namespace inlet::examples {
namespace {

volatile sig_atomic_t g_report_requested = 0;

void on_sigusr1(int) { g_report_requested = 1; }

// --trace: one line per trace point on stderr, after anything chained.
struct TracePrinter {
  Trace also;
};
TracePrinter g_printer;

void print_trace(void* user, TracePoint point, const Packet& p, std::string_view note) {
  auto* printer = static_cast<TracePrinter*>(user);
  const std::string_view name = trace_point_name(point);
  std::fprintf(stderr, "trace %-13.*s ifindex=%u len=%u %.*s\n", static_cast<int>(name.size()),
               name.data(), p.ifindex, p.length(), static_cast<int>(note.size()), note.data());
  printer->also(point, p, note);
}

}  // namespace

Observability::Observability(const CommonOptions& options, FILE* out)
    : options_(options), out_(out) {}

absl::Status Observability::attach(Stack& stack, const Clock* capture_clock, Trace also) {
  stack_ = &stack;
  if (options_.log_level) {
    stack.set_log(Log{&log_to_file, stderr, *options_.log_level});
  }
  for (const std::string& spec : options_.pcap_at) {
    if (absl::Status s = capture_.add_spec(spec); !s.ok()) return s;
  }
  Trace trace = also;
  if (options_.trace) {
    g_printer.also = trace;
    trace = Trace{&print_trace, &g_printer};
  }
  if (!capture_.empty()) {
    capture_.set_clock(capture_clock);
    capture_.set_next(trace);
    trace = capture_.trace();
  }
  stack.set_trace(trace);
  last_ = snapshot();
  last_time_ = stack.clock().now();
  return absl::OkStatus();
}

void Observability::install_sigusr1() {
  struct sigaction sa {};
  sa.sa_handler = on_sigusr1;
  sigaction(SIGUSR1, &sa, nullptr);
}

Counters Observability::snapshot() const {
  Counters c = stack_->counters();
  c.set(Counter::TcpCurrEstab, stack_->tcp().established_count());  // a gauge, as report()
  return c;
}

absl::Duration Observability::until_next_interval() const {
  if (options_.stats_interval_seconds <= 0 || stack_ == nullptr) return absl::InfiniteDuration();
  const absl::Time next = last_time_ + absl::Seconds(options_.stats_interval_seconds);
  return std::max(absl::ZeroDuration(), next - stack_->clock().now());
}

bool Observability::tick() {
  if (stack_ == nullptr) return false;
  bool printed = false;
  if (g_report_requested) {
    g_report_requested = 0;
    print_totals();
    printed = true;
  }
  if (options_.stats_interval_seconds > 0) {
    const absl::Time now = stack_->clock().now();
    const absl::Duration elapsed = now - last_time_;
    if (elapsed >= absl::Seconds(options_.stats_interval_seconds)) {
      print_delta(elapsed);
      last_time_ = now;
      printed = true;
    }
  }
  return printed;
}

void Observability::print_totals() {
  if (!options_.json) {
    std::string text = stack_->report();
    if (options_.stats_zero) {
      // report() lists non-zero counters; --stats-zero wants them all.
      const Counters c = snapshot();
      text = c.to_nstat(true) + text.substr(c.to_nstat(false).size());
    }
    std::fputs(text.c_str(), out_);
  } else {
    const Counters c = snapshot();
    const std::string kernel = c.to_nstat_json(options_.stats_zero);
    const SoftnetStat s = stack_->poller().stats();
    std::fprintf(out_,
                 "%s,\"inlet\":{\"report\":\"total\",\"drop_reasons\":%s,"
                 "\"pool\":{\"capacity\":%u,\"in_use\":%u,\"alloc_failures\":%llu},"
                 "\"softnet\":{\"processed\":%llu,\"time_squeeze\":%llu,\"polls\":%llu}}}\n",
                 kernel.substr(0, kernel.size() - 1).c_str(), c.drop_reasons_json().c_str(),
                 stack_->pool().capacity(), stack_->pool().in_use(),
                 static_cast<unsigned long long>(stack_->pool().alloc_failures()),
                 static_cast<unsigned long long>(s.processed),
                 static_cast<unsigned long long>(s.time_squeeze),
                 static_cast<unsigned long long>(s.polls));
  }
  std::fflush(out_);
}

void Observability::print_delta(absl::Duration elapsed) {
  const Counters now = snapshot();
  const Counters delta = now.delta_since(last_);
  last_ = now;
  const double seconds = absl::ToDoubleSeconds(elapsed);
  if (!options_.json) {
    std::fputs(delta.to_nstat_rates(seconds, options_.stats_zero).c_str(), out_);
    std::fputs(delta.drop_reasons_text().c_str(), out_);
  } else {
    const std::string kernel = delta.to_nstat_json(options_.stats_zero);
    std::fprintf(out_, "%s,\"inlet\":{\"report\":\"delta\",\"seconds\":%.3f,\"drop_reasons\":%s}}\n",
                 kernel.substr(0, kernel.size() - 1).c_str(), seconds,
                 delta.drop_reasons_json().c_str());
  }
  std::fflush(out_);
}

absl::Status Observability::finish() {
  absl::Status s = capture_.close();
  if (capture_.write_errors() != 0 && s.ok()) {
    s = absl::DataLossError(absl::StrFormat("%u capture records could not be written",
                                            capture_.write_errors()));
  }
  return s;
}

}  // namespace inlet::examples

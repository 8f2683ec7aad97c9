// Observability for the examples: installs the stderr log sink, the trace
// (captures at trace points, --trace printing) and the SIGUSR1 handler, and
// prints the counter reports — nstat text or JSON, totals or interval deltas.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "api/stack.h"
#include "examples/common/options.h"
#include "ports/pcap/trace_capture.h"

namespace inlet::examples {

class Observability {
 public:
  Observability(const CommonOptions& options, FILE* out = stdout);
  Observability(const Observability&) = delete;
  Observability& operator=(const Observability&) = delete;

  // Installs the log sink (stderr at --log-level), the captures and the trace
  // on `stack`. `capture_clock` stamps capture records (null: wall clock);
  // `also` is a trace the example wants as well (the demo's printer).
  absl::Status attach(Stack& stack, const Clock* capture_clock = nullptr, Trace also = {});

  // SIGUSR1 asks for a report: the handler only sets a flag, tick() prints.
  static void install_sigusr1();

  // From the main loop: the totals if SIGUSR1 came, the deltas when an
  // interval has passed (by the stack's clock). Returns true if it printed.
  bool tick();
  // How long the main loop may sleep before tick() has work (InfiniteDuration
  // without --stats-interval).
  absl::Duration until_next_interval() const;

  // The totals: `Stack::report()` (nstat -a format, softnet line, drop
  // reasons), or with --json one line {"kernel":{...},"inlet":{...}}.
  void print_totals();
  // Closes the capture files; call after Stack::shutdown.
  absl::Status finish();

 private:
  Counters snapshot() const;
  void print_delta(absl::Duration elapsed);

  CommonOptions options_;
  FILE* out_;
  Stack* stack_ = nullptr;
  pcap::TraceCapture capture_;
  Counters last_;          // at the previous delta report
  absl::Time last_time_;   // when it was taken
};

}  // namespace inlet::examples

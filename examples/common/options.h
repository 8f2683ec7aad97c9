// The command-line options every example shares (statistics reports, logging,
// tracing, capture at trace points), parsed in one place so that a new shared
// option is added once. Each example's own options stay in its main().
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/tunables.h"

namespace inlet::examples {

struct CommonOptions {
  double stats_interval_seconds = 0;  // --stats-interval S: deltas every S seconds (0 = none)
  bool json = false;                  // --json: reports as JSON objects, one a line
  bool stats_zero = false;            // --stats-zero: zero counters too
  std::optional<LogLevel> log_level = LogLevel::kWarning;  // --log-level L|off
  std::vector<std::string> pcap_at;   // --pcap-at POINT:FILE, repeatable
  bool trace = false;                 // --trace: every trace point on stderr
  // --profile NAME applies a tuning profile (core/profiles.h) to *tunables at
  // its place in the command line, so a later --sysctl refines it. The example
  // points this at its Tunables before parsing; null means "not offered".
  Tunables* tunables = nullptr;
  bool list_profiles = false;         // --profile list: print them and exit
};

enum class OptionResult { kNotCommon, kConsumed, kError };

// If argv[i] is a shared option, takes it and its value (advancing i) and
// returns kConsumed; kError with `*error` set when its value is bad or
// missing; kNotCommon when the example must look at argv[i] itself.
OptionResult parse_common_option(int argc, char** argv, int& i, CommonOptions& options,
                                 std::string* error);

// After parsing: when --profile list was given, prints every profile and
// exits with status 0.
void exit_if_listing_profiles(const CommonOptions& options);

// The usage lines of the shared options, for an example's --help.
extern const char kCommonOptionsUsage[];

}  // namespace inlet::examples

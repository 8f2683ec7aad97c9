// Tuning profiles: named sets of tunables (network-latency, network-throughput,
// low-memory), each kept as sysctl.conf text and applied through Tunables::load.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/tunables.h"

namespace inlet {

// A profile is sysctl.conf text: one `key = value` line per knob it sets,
// each preceded by `#` lines giving the reason (and naming the tuned profile
// when the value is tuned's). Knobs it does not name keep their values, so a
// profile layers over defaults or a file, and `--sysctl` can refine it.
struct TuningProfile {
  std::string_view name;     // as tuned-adm names its profiles
  std::string_view summary;  // one line
  std::string_view text;     // sysctl.conf text, parsed by Tunables::load
};

// Every profile, in a fixed order.
std::span<const TuningProfile> tuning_profiles();
// nullptr when no profile has that name.
const TuningProfile* find_tuning_profile(std::string_view name);
// "network-latency, network-throughput, low-memory".
std::string tuning_profile_names();

// Applies the profile's settings on top of `tunables`. An unknown name is
// InvalidArgument naming the valid ones; nothing changes on any error.
absl::Status apply_tuning_profile(Tunables& tunables, std::string_view name);

// The (sysctl name, value) pairs a profile sets, in its order, as the text
// spells them (the same lines Tunables::load reads).
std::vector<std::pair<std::string, std::string>> tuning_profile_settings(
    const TuningProfile& profile);

// For `--profile list`: each profile's name, summary and settings, one
// `  key = value` line each.
std::string describe_tuning_profiles();

}  // namespace inlet

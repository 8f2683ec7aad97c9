#include "examples/common/options.h"

#include <cstdio>
#include <cstdlib>

#include "core/profiles.h"
#include "ports/pcap/trace_capture.h"

namespace inlet::examples {

const char kCommonOptionsUsage[] =
    "  shared: [--stats-interval S] [--json] [--stats-zero] [--log-level error|warning|info|debug|off]\n"
    "          [--pcap-at POINT:FILE]... [--trace]   (SIGUSR1 prints the counters)\n"
    "          [--profile network-latency|network-throughput|low-memory|list]\n"
    "          POINT: link-in arp ipv4-in icmp udp transport-in ipv4-out link-out drop\n";

OptionResult parse_common_option(int argc, char** argv, int& i, CommonOptions& options,
                                 std::string* error) {
  const std::string a = argv[i];
  const bool takes_value =
      a == "--stats-interval" || a == "--log-level" || a == "--pcap-at" || a == "--profile";
  if (takes_value && i + 1 >= argc) {
    *error = "missing value after " + a;
    return OptionResult::kError;
  }
  if (a == "--stats-interval") {
    const std::string v = argv[++i];
    char* end = nullptr;
    const double s = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0' || !(s > 0) || s > 86400) {
      *error = "bad --stats-interval " + v + " (seconds, > 0)";
      return OptionResult::kError;
    }
    options.stats_interval_seconds = s;
  } else if (a == "--log-level") {
    const std::string v = argv[++i];
    if (v == "off" || v == "none") {
      options.log_level = std::nullopt;
    } else if (auto level = parse_log_level(v)) {
      options.log_level = *level;
    } else {
      *error = "bad --log-level " + v + " (error, warning, info, debug or off)";
      return OptionResult::kError;
    }
  } else if (a == "--pcap-at") {
    const std::string v = argv[++i];
    const size_t colon = v.find(':');
    if (colon == std::string::npos || colon + 1 >= v.size() ||
        !pcap::parse_trace_point(v.substr(0, colon))) {
      *error = "bad --pcap-at " + v + " (POINT:FILE)";
      return OptionResult::kError;
    }
    options.pcap_at.push_back(v);
  } else if (a == "--profile") {
    const std::string v = argv[++i];
    if (v == "list") {
      options.list_profiles = true;
    } else if (options.tunables == nullptr) {
      *error = "--profile is not offered by this program";
      return OptionResult::kError;
    } else if (absl::Status s = apply_tuning_profile(*options.tunables, v); !s.ok()) {
      *error = "--profile: " + std::string(s.message());
      return OptionResult::kError;
    }
  } else if (a == "--json") {
    options.json = true;
  } else if (a == "--stats-zero") {
    options.stats_zero = true;
  } else if (a == "--trace") {
    options.trace = true;
  } else {
    return OptionResult::kNotCommon;
  }
  return OptionResult::kConsumed;
}

void exit_if_listing_profiles(const CommonOptions& options) {
  if (!options.list_profiles) return;
  std::fputs(describe_tuning_profiles().c_str(), stdout);
  std::exit(0);
}

}  // namespace inlet::examples

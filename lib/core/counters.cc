#include "core/counters.h"

#include <cctype>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace inlet {
namespace {

constexpr std::string_view kCounterNames[] = {
#define INLET_COUNTER_NAME(name) #name,
    INLET_COUNTERS(INLET_COUNTER_NAME)
#undef INLET_COUNTER_NAME
};

constexpr std::string_view kDropEnumNames[] = {
#define INLET_DROP_NAME(reason, counter) #reason,
    INLET_DROP_REASONS(INLET_DROP_NAME)
#undef INLET_DROP_NAME
};

constexpr Counter kDropCounters[] = {
#define INLET_DROP_COUNTER(reason, counter) Counter::counter,
    INLET_DROP_REASONS(INLET_DROP_COUNTER)
#undef INLET_DROP_COUNTER
};

// "kIpBadChecksum" -> "IP_BAD_CHECKSUM", built once.
struct DropNames {
  std::array<std::string, kDropReasonCount> names;
  DropNames() {
    for (size_t i = 0; i < kDropReasonCount; ++i) {
      std::string_view src = kDropEnumNames[i].substr(1);  // drop the 'k'
      std::string out;
      for (size_t j = 0; j < src.size(); ++j) {
        char ch = src[j];
        if (j > 0 && std::isupper(static_cast<unsigned char>(ch))) out.push_back('_');
        out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
      }
      names[i] = std::move(out);
    }
  }
};

}  // namespace

std::string_view counter_name(Counter c) { return kCounterNames[static_cast<size_t>(c)]; }

std::string_view drop_reason_name(DropReason r) {
  static const DropNames* names = new DropNames();  // built on first use, never destroyed
  return names->names[static_cast<size_t>(r)];
}

Counter drop_reason_counter(DropReason r) { return kDropCounters[static_cast<size_t>(r)]; }

uint64_t Counters::total_drops() const {
  uint64_t total = 0;
  for (uint64_t d : drops_) total += d;
  return total;
}

void Counters::merge(const Counters& other) {
  for (size_t i = 0; i < kCounterCount; ++i) values_[i] += other.values_[i];
  for (size_t i = 0; i < kDropReasonCount; ++i) drops_[i] += other.drops_[i];
}

std::string Counters::to_nstat(bool include_zero) const {
  std::string out = "#kernel\n";
  for (size_t i = 0; i < kCounterCount; ++i) {
    if (values_[i] == 0 && !include_zero) continue;
    absl::StrAppendFormat(&out, "%-32s%-16u%6.1f\n", kCounterNames[i], values_[i], 0.0);
  }
  return out;
}

std::string Counters::drop_reasons_text() const {
  std::string out;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    if (drops_[i] == 0) continue;
    absl::StrAppendFormat(&out, "drop %-28s%u\n", drop_reason_name(static_cast<DropReason>(i)),
                          drops_[i]);
  }
  return out;
}

std::string Counters::to_json() const {
  std::string out = "{";
  bool first = true;
  for (size_t i = 0; i < kCounterCount; ++i) {
    if (values_[i] == 0) continue;
    absl::StrAppendFormat(&out, "%s\"%s\": %u", first ? "" : ", ", kCounterNames[i], values_[i]);
    first = false;
  }
  out += "}";
  return out;
}

std::string softnet_line(const SoftnetStat& s, int poller_index) {
  return absl::StrFormat("softnet poller=%d processed=%u dropped=%u time_squeeze=%u polls=%u\n",
                         poller_index, s.processed, s.dropped, s.time_squeeze, s.polls);
}

}  // namespace inlet

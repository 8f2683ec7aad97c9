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

bool counter_is_gauge(Counter c) { return c == Counter::TcpCurrEstab; }

Counters Counters::delta_since(const Counters& earlier) const {
  Counters d;
  for (size_t i = 0; i < kCounterCount; ++i) {
    const bool gauge = counter_is_gauge(static_cast<Counter>(i));
    // A counter below its snapshot (the context was reset): its value as is.
    d.values_[i] = gauge || values_[i] < earlier.values_[i] ? values_[i]
                                                            : values_[i] - earlier.values_[i];
  }
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    d.drops_[i] = drops_[i] < earlier.drops_[i] ? drops_[i] : drops_[i] - earlier.drops_[i];
  }
  return d;
}

std::string Counters::to_nstat_rates(double seconds, bool include_zero) const {
  std::string out = "#kernel\n";
  for (size_t i = 0; i < kCounterCount; ++i) {
    if (values_[i] == 0 && !include_zero) continue;
    const double rate = seconds > 0 ? static_cast<double>(values_[i]) / seconds : 0.0;
    absl::StrAppendFormat(&out, "%-32s%-16u%6.1f\n", kCounterNames[i], values_[i], rate);
  }
  return out;
}

std::string Counters::to_nstat_json(bool include_zero) const {
  std::string out = "{\"kernel\":{";
  bool first = true;
  for (size_t i = 0; i < kCounterCount; ++i) {
    if (values_[i] == 0 && !include_zero) continue;
    absl::StrAppendFormat(&out, "%s\"%s\":%u", first ? "" : ",", kCounterNames[i], values_[i]);
    first = false;
  }
  out += "}}";
  return out;
}

std::string Counters::drop_reasons_json() const {
  std::string out = "{";
  bool first = true;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    if (drops_[i] == 0) continue;
    absl::StrAppendFormat(&out, "%s\"%s\":%u", first ? "" : ",",
                          drop_reason_name(static_cast<DropReason>(i)), drops_[i]);
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

#include "core/tunables.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace inlet {
namespace {

// Debian's Abseil has its own string_view; convert at the boundary.
absl::string_view av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

struct TunableInfo {
  std::string_view name;
  int count;
  std::array<int64_t, 3> defaults;
  int64_t min;
  int64_t max;
};

constexpr TunableInfo kInfo[] = {
#define INLET_TUNABLE_INFO(id, name, n, d0, d1, d2, lo, hi) {name, n, {d0, d1, d2}, lo, hi},
    INLET_TUNABLES(INLET_TUNABLE_INFO)
#undef INLET_TUNABLE_INFO
};

// The defaults alone: a stack that never parses text links no knob names.
// Every default fits 32 bits, and only the few three-valued knobs have a
// second and third one, so the table keeps the first default of each knob as
// an int32_t (a sixth of three int64_t); the constructor sets the
// three-valued knobs' triples below.
#define INLET_TUNABLE_DEFAULT_FITS(id, name, n, d0, d1, d2, lo, hi)                     \
  static_assert(d0 >= INT32_MIN && d0 <= INT32_MAX, "default of " name " exceeds 32 bits"); \
  static_assert(n == 3 || (d1 == 0 && d2 == 0), "one-valued " name " has extra defaults");
INLET_TUNABLES(INLET_TUNABLE_DEFAULT_FITS)
#undef INLET_TUNABLE_DEFAULT_FITS

constexpr int32_t kFirstDefaults[] = {
#define INLET_TUNABLE_DEFAULTS(id, name, n, d0, d1, d2, lo, hi) d0,
    INLET_TUNABLES(INLET_TUNABLE_DEFAULTS)
#undef INLET_TUNABLE_DEFAULTS
};

}  // namespace

Tunables::Tunables() {
  for (size_t i = 0; i < kTunableCount; ++i) values_[i] = {kFirstDefaults[i], 0, 0};
#define INLET_TUNABLE_TRIPLE(id, name, n, d0, d1, d2, lo, hi) \
  if constexpr (n == 3) values_[static_cast<size_t>(Tunable::id)] = {d0, d1, d2};
  INLET_TUNABLES(INLET_TUNABLE_TRIPLE)
#undef INLET_TUNABLE_TRIPLE
}

std::optional<Tunable> Tunables::find(std::string_view key) {
  std::string dotted = absl::StrReplaceAll(av(key), {{"/", "."}});
  for (size_t i = 0; i < kTunableCount; ++i) {
    if (kInfo[i].name == std::string_view(dotted)) return static_cast<Tunable>(i);
  }
  return std::nullopt;
}

std::string_view Tunables::name(Tunable t) { return kInfo[static_cast<size_t>(t)].name; }

absl::Status Tunables::set(std::string_view key_in, std::string_view value_in) {
  const absl::string_view key = absl::StripAsciiWhitespace(av(key_in));
  const absl::string_view value = av(value_in);
  std::optional<Tunable> t = find(std::string_view(key.data(), key.size()));
  if (!t) return absl::NotFoundError(absl::StrCat("unknown key '", key, "'"));
  const TunableInfo& info = kInfo[static_cast<size_t>(*t)];
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::StripAsciiWhitespace(value), absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (static_cast<int>(parts.size()) != info.count) {
    return absl::InvalidArgumentError(absl::StrCat("'", key, "' takes ", info.count,
                                                   info.count == 1 ? " integer" : " integers",
                                                   ", got '", value, "'"));
  }
  std::array<int64_t, 3> parsed = values_[static_cast<size_t>(*t)];
  for (size_t i = 0; i < parts.size(); ++i) {
    int64_t v;
    if (!absl::SimpleAtoi(parts[i], &v)) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", key, "': '", parts[i], "' is not an integer"));
    }
    if (v < info.min || v > info.max) {
      return absl::OutOfRangeError(absl::StrCat("'", key, "': ", v, " is outside [", info.min,
                                                ", ", info.max, "]"));
    }
    parsed[i] = v;
  }
  if (info.count == 3 && !(parsed[0] <= parsed[1] && parsed[1] <= parsed[2])) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", key, "': values must be ordered min <= default <= max"));
  }
  values_[static_cast<size_t>(*t)] = parsed;
  return absl::OkStatus();
}

absl::Status Tunables::set_assignment(std::string_view assignment_in) {
  const absl::string_view assignment = av(assignment_in);
  size_t eq = assignment.find('=');
  if (eq == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected key=value, got '", assignment, "'"));
  }
  const absl::string_view k = assignment.substr(0, eq), v = assignment.substr(eq + 1);
  return set(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()));
}

absl::Status Tunables::load(std::string_view text) {
  Tunables staged = *this;  // all or nothing
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(av(text), '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    bool ignorable = absl::ConsumePrefix(&line, "-");
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_no, ": expected 'key = value', got '", line, "'"));
    }
    const absl::string_view k = line.substr(0, eq), v = line.substr(eq + 1);
    absl::Status s = staged.set(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()));
    if (!s.ok()) {
      if (ignorable && absl::IsNotFound(s)) continue;
      return absl::Status(s.code(), absl::StrCat("line ", line_no, ": ", s.message()));
    }
  }
  *this = staged;
  return absl::OkStatus();
}

absl::Status Tunables::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  std::stringstream ss;
  ss << in.rdbuf();
  absl::Status s = load(ss.str());
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
  return s;
}

std::string Tunables::to_text() const {
  std::string out;
  for (size_t i = 0; i < kTunableCount; ++i) {
    absl::StrAppend(&out, av(kInfo[i].name), " =");
    for (int j = 0; j < kInfo[i].count; ++j) absl::StrAppend(&out, " ", values_[i][j]);
    out += "\n";
  }
  return out;
}

}  // namespace inlet

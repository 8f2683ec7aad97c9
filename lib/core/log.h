// Log: the library's diagnostic messages — four levels, a threshold and a
// pluggable sink (function pointer + user pointer, as Trace). No sink by
// default, so the library prints nothing unless the application asks. Used at
// set-up and for rare events (an interface refused, the pool's first
// exhaustion), never per packet.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/strings/str_format.h"

namespace inlet {

// Ordered from most to least severe, as syslog's.
enum class LogLevel : uint8_t { kError, kWarning, kInfo, kDebug };

// "error", "warning", "info", "debug".
std::string_view log_level_name(LogLevel level);
// The inverse of log_level_name (also "warn"); nullopt for anything else.
std::optional<LogLevel> parse_log_level(std::string_view text);

struct Log {
  using Fn = void (*)(void* user, LogLevel level, std::string_view message);
  Fn fn = nullptr;
  void* user = nullptr;
  // Messages above this level (less severe) are not formatted nor passed on.
  LogLevel threshold = LogLevel::kInfo;

  bool enabled(LogLevel level) const { return fn != nullptr && level <= threshold; }
  void write(LogLevel level, std::string_view message) const {
    if (enabled(level)) fn(user, level, message);
  }
  // printf-style (absl::StrFormat, checked at compile time); formats only
  // when a sink takes the level.
  template <typename... Args>
  void format(LogLevel level, const absl::FormatSpec<Args...>& spec, const Args&... args) const {
    if (enabled(level)) [[unlikely]] fn(user, level, absl::StrFormat(spec, args...));
  }
  template <typename... Args>
  void error(const absl::FormatSpec<Args...>& spec, const Args&... args) const {
    format(LogLevel::kError, spec, args...);
  }
  template <typename... Args>
  void warning(const absl::FormatSpec<Args...>& spec, const Args&... args) const {
    format(LogLevel::kWarning, spec, args...);
  }
  template <typename... Args>
  void info(const absl::FormatSpec<Args...>& spec, const Args&... args) const {
    format(LogLevel::kInfo, spec, args...);
  }
  template <typename... Args>
  void debug(const absl::FormatSpec<Args...>& spec, const Args&... args) const {
    format(LogLevel::kDebug, spec, args...);
  }
};

// A ready-made sink: one line "inlet: LEVEL: message" on the std::FILE* given
// as `user` (stderr when null), flushed at once.
void log_to_file(void* user, LogLevel level, std::string_view message);

}  // namespace inlet

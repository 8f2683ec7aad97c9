#include "core/log.h"

#include <cstdio>

namespace inlet {

std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
  }
  return "?";
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "error") return LogLevel::kError;
  if (text == "warning" || text == "warn") return LogLevel::kWarning;
  if (text == "info") return LogLevel::kInfo;
  if (text == "debug") return LogLevel::kDebug;
  return std::nullopt;
}

void log_to_file(void* user, LogLevel level, std::string_view message) {
  std::FILE* out = user != nullptr ? static_cast<std::FILE*>(user) : stderr;
  const std::string_view name = log_level_name(level);
  std::fprintf(out, "inlet: %.*s: %.*s\n", static_cast<int>(name.size()), name.data(),
               static_cast<int>(message.size()), message.data());
  std::fflush(out);
}

}  // namespace inlet

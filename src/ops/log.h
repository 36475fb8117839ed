// Structured logging: one JSON object per line on stdout, through an asynchronous spdlog
// logger so an I/O thread never waits on the terminal or a pipe. Build a line with
// LogLine("request").str("method", "GET").num("status", 200).info();
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace lms::ops {

// Installs the JSON logger as spdlog's default. `level` is trace|debug|info|warn|error|off.
void init_logging(const std::string& level);
// For command-line tools whose stdout is their result: the same JSON lines, on stderr.
void init_stderr_logging(const std::string& level);
void flush_logs();
void shutdown_logging();

class LogLine {
 public:
  explicit LogLine(std::string_view message);
  LogLine& str(std::string_view key, std::string_view value);
  LogLine& num(std::string_view key, std::int64_t value);
  LogLine& real(std::string_view key, double value);
  LogLine& flag(std::string_view key, bool value);
  void log(spdlog::level::level_enum level) const;
  void info() const { log(spdlog::level::info); }
  void warn() const { log(spdlog::level::warn); }
  void error() const { log(spdlog::level::err); }
  void debug() const { log(spdlog::level::debug); }

 private:
  void key(std::string_view k);
  std::string fields_;
};

}  // namespace lms::ops

#include "ops/log.h"

#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <fmt/format.h>

#include "common/json.h"

namespace lms::ops {

void init_logging(const std::string& level) {
  if (spdlog::get("lms")) return;
  spdlog::init_thread_pool(16384, 1);
  auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  // A full queue drops the oldest line rather than blocking a request thread.
  auto logger = std::make_shared<spdlog::async_logger>("lms", sink, spdlog::thread_pool(),
                                                       spdlog::async_overflow_policy::overrun_oldest);
  logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})", spdlog::pattern_time_type::utc));
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(1));
}

void init_stderr_logging(const std::string& level) {
  if (spdlog::get("lms")) return;
  auto logger = std::make_shared<spdlog::logger>("lms", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})", spdlog::pattern_time_type::utc));
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

void flush_logs() { spdlog::default_logger()->flush(); }

void shutdown_logging() {
  flush_logs();
  spdlog::shutdown();
}

LogLine::LogLine(std::string_view message) {
  fields_.reserve(192);
  fields_ += "\"msg\":";
  fields_ += json::quote(message);
}

void LogLine::key(std::string_view k) {
  fields_ += ",\"";
  fields_ += k;
  fields_ += "\":";
}

LogLine& LogLine::str(std::string_view k, std::string_view value) {
  key(k);
  fields_ += json::quote(value);
  return *this;
}

LogLine& LogLine::num(std::string_view k, std::int64_t value) {
  key(k);
  fields_ += std::to_string(value);
  return *this;
}

LogLine& LogLine::real(std::string_view k, double value) {
  key(k);
  fields_ += fmt::format("{:.3f}", value);
  return *this;
}

LogLine& LogLine::flag(std::string_view k, bool value) {
  key(k);
  fields_ += value ? "true" : "false";
  return *this;
}

void LogLine::log(spdlog::level::level_enum level) const {
  spdlog::default_logger_raw()->log(level, "{}", fields_);
}

}  // namespace lms::ops

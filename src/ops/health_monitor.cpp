#include "ops/health_monitor.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <fstream>
#include <unistd.h>

#include "ops/log.h"

namespace lms::ops {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::int64_t resident_memory_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
}

HealthMonitor::HealthMonitor(asio::io_context& context, HealthSettings settings, Sampler sample)
    : context_(context), settings_(settings), sample_(std::move(sample)), timer_(context) {}

void HealthMonitor::start() { asio::co_spawn(context_, run(), asio::detached); }

void HealthMonitor::stop() {
  asio::post(context_, [this] {
    stopped_ = true;
    timer_.cancel();
  });
}

bool HealthMonitor::due(Clock::time_point& last, Clock::time_point now) {
  if (last != Clock::time_point{} && now - last < std::chrono::minutes(1)) return false;
  last = now;
  return true;
}

namespace {

// The upper bound of the bucket holding the 95th percentile of the requests between two
// samples (0 when there were none; 10 s or more reads as the last bound).
double p95_seconds(const HealthSample& before, const HealthSample& after) {
  std::uint64_t total = 0;
  std::array<std::uint64_t, RequestMetrics::kBuckets.size() + 1> delta{};
  for (std::size_t i = 0; i < delta.size(); ++i) {
    delta[i] = after.duration_buckets[i] - before.duration_buckets[i];
    total += delta[i];
  }
  if (total == 0) return 0;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < RequestMetrics::kBuckets.size(); ++i) {
    seen += delta[i];
    if (seen * 100 >= total * 95) return RequestMetrics::kBuckets[i];
  }
  return RequestMetrics::kBuckets.back();
}

}  // namespace

asio::awaitable<void> HealthMonitor::run() {
  constexpr auto kTick = std::chrono::seconds(1);
  Clock::time_point lag_warned{}, memory_warned{}, queue_warned{}, readers_warned{};
  auto summary_at = Clock::now() + settings_.summary_interval;
  auto previous = sample_();
  auto previous_at = Clock::now();
  while (!stopped_) {
    auto expected = Clock::now() + kTick;
    timer_.expires_at(expected);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) break;
    const auto now = Clock::now();
    const auto lag = std::chrono::duration_cast<std::chrono::milliseconds>(now - expected);
    if (lag > settings_.lag_warning && due(lag_warned, now))
      LogLine("event loop lag").num("lag_ms", lag.count()).num("threshold_ms", settings_.lag_warning.count()).warn();

    const auto rss = resident_memory_bytes();
    if (settings_.memory_warning > 0 && rss > static_cast<std::int64_t>(settings_.memory_warning) &&
        due(memory_warned, now))
      LogLine("resident memory over threshold")
          .num("rss_bytes", rss)
          .num("threshold_bytes", static_cast<std::int64_t>(settings_.memory_warning))
          .warn();

    auto s = sample_();
    if (s.write_queue > settings_.write_queue_warning && due(queue_warned, now))
      LogLine("database writer saturated").num("write_queue", static_cast<std::int64_t>(s.write_queue)).warn();
    if (s.readers > 0 && s.idle_readers == 0 && due(readers_warned, now))
      LogLine("database readers all busy").num("readers", static_cast<std::int64_t>(s.readers)).warn();

    if (settings_.summary_interval.count() > 0 && now >= summary_at) {
      const double seconds = std::chrono::duration<double>(now - previous_at).count();
      const double rate = seconds > 0 ? static_cast<double>(s.requests - previous.requests) / seconds : 0;
      LogLine("health")
          .num("http_connections", static_cast<std::int64_t>(s.http_connections))
          .real("requests_per_s", rate)
          .real("p95_ms_at_most", p95_seconds(previous, s) * 1000)
          .num("sockets", s.realtime_connections)
          .num("write_queue", static_cast<std::int64_t>(s.write_queue))
          .num("busy_readers", static_cast<std::int64_t>(s.readers - std::min(s.idle_readers, s.readers)))
          .num("rss_bytes", rss)
          .info();
      previous = s;
      previous_at = now;
      summary_at = now + settings_.summary_interval;
    }
  }
}

}  // namespace lms::ops

#include "ops/health_monitor.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <fstream>
#include <unistd.h>

#include "ops/log.h"
#include "ops/ops_routes.h"

namespace lms::ops {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::int64_t resident_memory_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
}

HealthMonitor::HealthMonitor(std::vector<asio::io_context*> contexts, HealthSettings settings, Sampler sample)
    : settings_(settings), sample_(std::move(sample)), timer_(*contexts.at(0)) {
  for (auto* context : contexts) probes_.push_back(std::make_unique<LagProbe>(*context));
}

void HealthMonitor::start() {
  asio::co_spawn(timer_.get_executor(), run(), asio::detached);
  for (auto& p : probes_) asio::co_spawn(p->context, probe(*p), asio::detached);
}

void HealthMonitor::stop() {
  stopped_ = true;
  asio::post(timer_.get_executor(), [this] { timer_.cancel(); });
  for (auto& p : probes_) asio::post(p->context, [probe = p.get()] { probe->timer.cancel(); });
}

// Short ticks so that a thread blocked for a few hundred milliseconds is likely to be caught
// (a timer is only late if the block overlaps its expiry).
asio::awaitable<void> HealthMonitor::probe(LagProbe& probe) {
  constexpr auto kTick = std::chrono::milliseconds(100);
  while (!stopped_) {
    auto expected = Clock::now() + kTick;
    probe.timer.expires_at(expected);
    boost::system::error_code ec;
    co_await probe.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || stopped_) break;
    auto lag = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - expected).count();
    if (lag > probe.worst_ms.load(std::memory_order_relaxed)) probe.worst_ms.store(lag, std::memory_order_relaxed);
  }
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
  std::int64_t max_lag_since_summary = 0;
  auto summary_at = Clock::now() + settings_.summary_interval;
  auto previous = sample_();
  auto previous_at = Clock::now();
  std::uint64_t last_waits = previous.db.waits;
  std::array<std::int64_t, 60> lag_window{};  // the worst lag of each of the last 60 ticks
  std::size_t lag_slot = 0;
  constexpr std::size_t kLiveTicks = 10;
  std::array<std::pair<HealthSample, Clock::time_point>, kLiveTicks> live_window;
  live_window.fill({previous, previous_at});
  std::size_t live_slot = 0;
  while (!stopped_) {
    timer_.expires_after(kTick);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) break;
    const auto now = Clock::now();
    std::int64_t worst_lag = 0;
    std::size_t worst_thread = 0;
    for (std::size_t i = 0; i < probes_.size(); ++i) {
      auto lag = probes_[i]->worst_ms.exchange(0, std::memory_order_relaxed);
      if (lag > worst_lag) worst_lag = lag, worst_thread = i;
    }
    max_lag_since_summary = std::max(max_lag_since_summary, worst_lag);
    lag_window[lag_slot++ % lag_window.size()] = worst_lag;
    recent_lag_ms_.store(*std::max_element(lag_window.begin(), lag_window.end()), std::memory_order_relaxed);
    if (worst_lag > settings_.lag_warning.count() && due(lag_warned, now))
      LogLine("event loop lag")
          .num("lag_ms", worst_lag)
          .num("io_thread", static_cast<std::int64_t>(worst_thread))
          .num("threshold_ms", settings_.lag_warning.count())
          .warn();

    const auto rss = resident_memory_bytes();
    if (settings_.memory_warning > 0 && rss > static_cast<std::int64_t>(settings_.memory_warning) &&
        due(memory_warned, now))
      LogLine("resident memory over threshold")
          .num("rss_bytes", rss)
          .num("threshold_bytes", static_cast<std::int64_t>(settings_.memory_warning))
          .warn();

    auto s = sample_();
    // Saturated: writes queued behind the threshold at some moment of the last period (the
    // peak, not a sample: a sample taken between two bursts would see an empty queue).
    if (std::max(s.db.queued, s.db.queued_peak) >= settings_.write_queue_warning && due(queue_warned, now))
      LogLine("database writer saturated")
          .num("write_queue", static_cast<std::int64_t>(s.db.queued))
          .num("write_queue_peak", static_cast<std::int64_t>(s.db.queued_peak))
          .num("threshold", static_cast<std::int64_t>(settings_.write_queue_warning))
          .warn();
    // Saturated: reads queued for a reader during the last second.
    const auto waited = s.db.waits - last_waits;
    last_waits = s.db.waits;
    if (waited > 0 && due(readers_warned, now))
      LogLine("database readers all busy")
          .num("readers", static_cast<std::int64_t>(s.db.workers))
          .num("reads_waited_last_second", static_cast<std::int64_t>(waited))
          .warn();

    {
      // live_window[live_slot] is the sample of kLiveTicks ticks ago: the window's start.
      const auto& [oldest, oldest_at] = live_window[live_slot];
      const double seconds = std::chrono::duration<double>(now - oldest_at).count();
      LiveFigures figures;
      figures.http_connections = s.http_connections;
      figures.realtime_connections = s.realtime_connections;
      figures.requests_per_second = seconds > 0 ? static_cast<double>(s.requests - oldest.requests) / seconds : 0;
      figures.p95_ms = p95_seconds(oldest, s) * 1000;
      figures.resident_memory_bytes = rss;
      for (std::size_t i = 0; i < kLiveTicks; ++i)
        figures.event_loop_lag_ms =
            std::max(figures.event_loop_lag_ms, lag_window[(lag_slot + lag_window.size() - 1 - i) % lag_window.size()]);
      figures.uptime_seconds = std::chrono::duration<double>(now - started_).count();
      live_window[live_slot] = {s, now};
      live_slot = (live_slot + 1) % kLiveTicks;
      std::lock_guard lock(live_mutex_);
      live_ = figures;
    }

    if (settings_.summary_interval.count() > 0 && now >= summary_at) {
      const double seconds = std::chrono::duration<double>(now - previous_at).count();
      const double rate = seconds > 0 ? static_cast<double>(s.requests - previous.requests) / seconds : 0;
      LogLine("health")
          .num("http_connections", static_cast<std::int64_t>(s.http_connections))
          .real("requests_per_s", rate)
          .real("p95_ms_at_most", p95_seconds(previous, s) * 1000)
          .num("sockets", s.realtime_connections)
          .num("write_queue", static_cast<std::int64_t>(s.db.queued))
          .num("busy_readers", static_cast<std::int64_t>(s.db.workers - std::min(s.db.idle_workers, s.db.workers)))
          .num("max_lag_ms", max_lag_since_summary)
          .num("rss_bytes", rss)
          .info();
      max_lag_since_summary = 0;
      previous = s;
      previous_at = now;
      summary_at = now + settings_.summary_interval;
    }
  }
}

LiveFigures HealthMonitor::live() const {
  std::lock_guard lock(live_mutex_);
  return live_;
}

void HealthMonitor::write_metrics(std::string& out) const {
  write_gauge(out, "eventloop_lag_seconds",
              "Worst I/O thread (event-loop) lag in the last 60 s: how late a 100 ms probe timer ran.",
              static_cast<double>(recent_lag_ms_.load(std::memory_order_relaxed)) / 1000.0);
}

}  // namespace lms::ops

// HealthMonitor: the checks operators add by hand, written to the log. On every I/O thread a
// small timer measures how late it fires (event-loop lag: something blocked that thread); once a
// second the monitor reads the worst lag per thread, the process's resident memory and the
// store's queues, and warns (at most once a minute per kind) when the lag, the memory or the
// writer queue passes its threshold, or every reader is busy.
// Every `summary_interval` it logs one `health` line: connections, requests/s, p95, sockets,
// queue depths. It only reads numbers the components already keep.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ops/request_metrics.h"
#include "store/store.h"

namespace lms::ops {

struct HealthSettings {
  std::chrono::milliseconds summary_interval{60'000};  // 0: no summary line
  std::size_t memory_warning = 0;                      // bytes of RSS; 0: no warning
  std::chrono::milliseconds lag_warning{250};
  std::size_t write_queue_warning = 1000;
};

// What the monitor reads, once a second.
struct HealthSample {
  std::size_t http_connections = 0;
  std::int64_t realtime_connections = 0;
  std::uint64_t requests = 0;  // answered since start
  // Requests since start by duration bucket (RequestMetrics::kBuckets, the last one above).
  std::array<std::uint64_t, RequestMetrics::kBuckets.size() + 1> duration_buckets{};
  store::StoreLoad db;  // the store's own load figures
};

// What an operator watches, over the last ~10 s (the desk's dashboard shows it to admins).
struct LiveFigures {
  std::size_t http_connections = 0;
  std::int64_t realtime_connections = 0;
  double requests_per_second = 0;
  double p95_ms = 0;  // the upper bound of the bucket holding the 95th percentile
  std::int64_t resident_memory_bytes = 0;
  std::int64_t event_loop_lag_ms = 0;  // the worst of the window
  double uptime_seconds = 0;
};

class HealthMonitor {
 public:
  using Sampler = std::function<HealthSample()>;
  // The monitor itself runs on the first context; every context gets a lag probe.
  HealthMonitor(std::vector<boost::asio::io_context*> contexts, HealthSettings settings, Sampler sample);

  void start();
  void stop();

  // /metrics: `eventloop_lag_seconds`, the worst I/O-thread lag of the last minute (a window,
  // not a reset-on-read value, so any scrape interval up to a minute sees every spike).
  void write_metrics(std::string& out) const;
  // The figures of the last window, refreshed every second (zero until the first tick).
  LiveFigures live() const;

 private:
  struct LagProbe {
    explicit LagProbe(boost::asio::io_context& context) : context(context), timer(context) {}
    boost::asio::io_context& context;
    boost::asio::steady_timer timer;           // its thread only
    std::atomic<std::int64_t> worst_ms{0};     // since the monitor last took it
  };
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> probe(LagProbe& probe);
  bool due(std::chrono::steady_clock::time_point& last, std::chrono::steady_clock::time_point now);

  HealthSettings settings_;
  Sampler sample_;
  std::vector<std::unique_ptr<LagProbe>> probes_;
  boost::asio::steady_timer timer_;  // the first context's thread only
  std::atomic<bool> stopped_{false};
  std::atomic<std::int64_t> recent_lag_ms_{0};  // worst lag of the last kLagWindow seconds
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  mutable std::mutex live_mutex_;
  LiveFigures live_;  // guarded by live_mutex_
};

std::int64_t resident_memory_bytes();

}  // namespace lms::ops

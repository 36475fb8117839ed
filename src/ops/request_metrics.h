// RequestMetrics: what the HTTP server did, in Prometheus series. Counts requests by method,
// route pattern and status (`http_requests_total`) and their durations by route
// (`http_request_duration_seconds`, a histogram with buckets from 1 ms to 10 s), plus build
// information and uptime. Route labels are patterns (`/api/leads/:id`), never raw paths, so the
// number of series is bounded by the route table. Recording takes a lock of one of 16 shards
// one per thread (round robin), so I/O threads do not contend; /metrics merges the shards.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace lms::ops {

class RequestMetrics {
 public:
  static constexpr std::array<double, 13> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                       0.25,  0.5,    1,     2.5,  5,     10};

  RequestMetrics();

  // `route` is the matched pattern, or empty when no route matched.
  void observe(std::string_view method, std::string_view route, int status, std::chrono::microseconds duration);
  void write(std::string& out) const;
  // Requests since start, all routes together, and by duration bucket (the last: above 10 s).
  std::uint64_t total(std::array<std::uint64_t, kBuckets.size() + 1>* buckets = nullptr) const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size() + 1> buckets{};  // the last one: above 10 s
    double sum = 0;
    std::uint64_t count = 0;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::map<std::string, std::uint64_t, std::less<>> requests;  // "method route status"
    std::map<std::string, Histogram, std::less<>> durations;    // route
  };

  std::chrono::system_clock::time_point started_;
  std::chrono::steady_clock::time_point started_steady_;
  std::array<Shard, 16> shards_;
};

}  // namespace lms::ops

#include "ops/request_metrics.h"

#include <charconv>
#include <atomic>

namespace lms::ops {

namespace {

constexpr std::string_view kUnmatched = "unmatched";

void append_number(std::string& out, double value) {
  char number[32];
  auto [end, ec] = std::to_chars(number, number + sizeof number, value);
  out.append(number, ec == std::errc() ? end : number);
}

}  // namespace

RequestMetrics::RequestMetrics()
    : started_(std::chrono::system_clock::now()), started_steady_(std::chrono::steady_clock::now()) {}

void RequestMetrics::observe(std::string_view method, std::string_view route, int status,
                             std::chrono::microseconds duration) {
  if (route.empty()) route = kUnmatched;
  thread_local std::string key;
  key.assign(method);
  key += ' ';
  key += route;
  key += ' ';
  key += std::to_string(status);
  const double seconds = static_cast<double>(duration.count()) / 1e6;
  std::size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;

  // Each thread takes the next shard the first time it records (thread ids hashed modulo 16
  // tend to collide: they are aligned addresses).
  static std::atomic<std::size_t> next_shard{0};
  thread_local const std::size_t mine = next_shard.fetch_add(1, std::memory_order_relaxed);
  Shard& shard = shards_[mine % shards_.size()];
  std::lock_guard lock(shard.mutex);
  auto request = shard.requests.find(key);
  if (request == shard.requests.end()) request = shard.requests.emplace(key, 0).first;
  ++request->second;
  auto histogram = shard.durations.find(route);
  if (histogram == shard.durations.end()) histogram = shard.durations.emplace(std::string(route), Histogram{}).first;
  ++histogram->second.buckets[bucket];
  histogram->second.sum += seconds;
  ++histogram->second.count;
}

std::uint64_t RequestMetrics::total(std::array<std::uint64_t, kBuckets.size() + 1>* buckets) const {
  std::uint64_t n = 0;
  if (buckets) buckets->fill(0);
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [route, h] : shard.durations) {
      n += h.count;
      if (buckets)
        for (std::size_t i = 0; i < h.buckets.size(); ++i) (*buckets)[i] += h.buckets[i];
    }
  }
  return n;
}

void RequestMetrics::write(std::string& out) const {
  std::map<std::string, std::uint64_t> requests;
  std::map<std::string, Histogram> durations;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [key, n] : shard.requests) requests[key] += n;
    for (const auto& [route, h] : shard.durations) {
      auto& total = durations[route];
      for (std::size_t i = 0; i < h.buckets.size(); ++i) total.buckets[i] += h.buckets[i];
      total.sum += h.sum;
      total.count += h.count;
    }
  }

  out += "# HELP lms_build_info The running build.\n# TYPE lms_build_info gauge\n";
  out += "lms_build_info{version=\"" LMS_VERSION "\"} 1\n";
  out += "# HELP process_start_time_seconds Start time of the process, seconds since the Unix epoch.\n";
  out += "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds ";
  append_number(out, static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(started_.time_since_epoch()).count()));
  out += "\n# HELP lms_uptime_seconds Seconds since the server started.\n# TYPE lms_uptime_seconds gauge\nlms_uptime_seconds ";
  append_number(out, std::chrono::duration<double>(std::chrono::steady_clock::now() - started_steady_).count());
  out += '\n';

  out += "# HELP http_requests_total HTTP requests answered, by method, route pattern and status.\n";
  out += "# TYPE http_requests_total counter\n";
  for (const auto& [key, n] : requests) {
    auto first = key.find(' ');
    auto last = key.rfind(' ');
    out += "http_requests_total{method=\"";
    out.append(key, 0, first);
    out += "\",route=\"";
    out.append(key, first + 1, last - first - 1);
    out += "\",status=\"";
    out.append(key, last + 1);
    out += "\"} ";
    out += std::to_string(n);
    out += '\n';
  }

  out += "# HELP http_request_duration_seconds Time from a request's arrival to its response, by route pattern.\n";
  out += "# TYPE http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : durations) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= kBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      out += "http_request_duration_seconds_bucket{route=\"";
      out += route;
      out += "\",le=\"";
      if (i == kBuckets.size()) out += "+Inf";
      else append_number(out, kBuckets[i]);
      out += "\"} ";
      out += std::to_string(cumulative);
      out += '\n';
    }
    out += "http_request_duration_seconds_sum{route=\"" + route + "\"} ";
    append_number(out, h.sum);
    out += "\nhttp_request_duration_seconds_count{route=\"" + route + "\"} " + std::to_string(h.count) + "\n";
  }
}

}  // namespace lms::ops

// RedisRateLimiter: one quota for every instance. The same GCRA rule as GcraLimiter
// (rate_limit.h), decided by one Lua script in Redis per request (atomic: the theoretical
// arrival time is read, checked and moved in one step, with Redis's clock), so a quota spent
// on one instance holds on all. The key expires when its quota is whole again.
//
// While Redis is unreachable (or a decision does not come back in time), each instance falls
// back to its own in-process limiter: requests are still limited, per instance, and never wait
// on Redis. The fallback is logged once per outage and counted in
// ratelimit_local_fallback_total.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "http/rate_limit.h"
#include "redis/client.h"

namespace lms::http {

class RedisRateLimiter final : public RateLimiter {
 public:
  // `links`: one per I/O thread (a request uses the one on its own thread, or the first).
  RedisRateLimiter(std::vector<redis::Connection*> links, std::size_t local_max_keys);
  RedisRateLimiter(redis::Connection& link, std::size_t local_max_keys)
      : RedisRateLimiter(std::vector<redis::Connection*>{&link}, local_max_keys) {}

  boost::asio::awaitable<RateDecision> take(RateScope scope, std::string key, const RateRule& rule) override;
  void write_metrics(std::string& out) const override;

  // The script's text and its SHA-1 (EVALSHA), for tests.
  static const std::string& script();

 private:
  RateDecision fall_back(RateScope scope, std::string_view key, const RateRule& rule, std::string_view why);

  redis::Connection& link_for(const boost::asio::any_io_executor& executor) const;

  const std::vector<redis::Connection*> links_;
  GcraLimiter local_;
  const std::string sha_;
  std::atomic<std::int64_t> fallbacks_{0};
  std::atomic<bool> falling_back_{false};
};

}  // namespace lms::http

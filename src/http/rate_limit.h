// Rate limiting: the rule of a scope ("5000 requests per 15 minutes"), the RateLimiter
// interface the dispatcher asks before a limited route runs, and GcraLimiter, the in-process
// implementation. With Redis, RedisRateLimiter (redis_rate_limit.h) backs the same interface
// with one shared quota for every instance; the interface is asynchronous for it.
//
// GCRA (generic cell rate algorithm): each key keeps one number, its theoretical arrival time
// (TAT). A rule of N per W spaces requests T = W/N apart and lets up to N arrive at once; a
// request is allowed when TAT + T - W <= now, and then moves TAT forward by T. Unlike fixed
// windows, a client that spent its quota at the end of one window gets nothing back at the
// start of the next: quota returns one request per T, so there is no double burst.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lms::http {

struct RateRule {
  std::int64_t limit = 0;  // 0: off
  std::chrono::milliseconds window{0};
  bool enabled() const { return limit > 0 && window.count() > 0; }
};

// "5000/15m", "200/15m", "10/2s", "off". nullopt when malformed.
std::optional<RateRule> parse_rate_rule(std::string_view text);

struct RateDecision {
  bool allowed = true;
  std::int64_t limit = 0;
  std::int64_t remaining = 0;
  std::int64_t reset_seconds = 0;        // until the whole quota is back
  std::int64_t retry_after_seconds = 0;  // when refused: until one request is allowed again
};

enum class RateScope { api, auth };
constexpr std::string_view scope_name(RateScope s) { return s == RateScope::api ? "api" : "auth"; }

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Counts one request of `key` (a user or a client address) against `rule`.
  virtual boost::asio::awaitable<RateDecision> take(RateScope scope, std::string key, const RateRule& rule) = 0;
  // Prometheus samples (ratelimit_rejected_total{scope}, tracked keys).
  virtual void write_metrics(std::string& out) const = 0;
};

// In-process GCRA. Keys are kept as 64-bit fingerprints with their TAT in open-addressing
// tables split into shards (one mutex each). Memory is bounded: a shard at its share of
// `max_keys` first drops keys whose quota is whole again (they carry no information); if it is
// still full, new keys are allowed without being tracked (counted in
// ratelimit_untracked_total) rather than evicting keys that are being limited.
class GcraLimiter final : public RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit GcraLimiter(std::size_t max_keys = 1'000'000);

  boost::asio::awaitable<RateDecision> take(RateScope scope, std::string key, const RateRule& rule) override;
  void write_metrics(std::string& out) const override;

  // The decision now, synchronously.
  RateDecision decide(RateScope scope, std::string_view key, const RateRule& rule);
  // Counts a refusal decided elsewhere (the shared limiter), for ratelimit_rejected_total.
  void count_rejected(RateScope scope) { rejected_[static_cast<int>(scope)].fetch_add(1, std::memory_order_relaxed); }

  // The decision at an explicit time (tests, benchmarks).
  RateDecision take_at(RateScope scope, std::string_view key, const RateRule& rule, Clock::time_point now);
  std::size_t tracked_keys() const;
  std::size_t memory_bytes() const;

 private:
  struct Slot {
    std::uint64_t key = 0;  // 0: empty
    std::int64_t tat = 0;   // nanoseconds on Clock
  };
  struct Shard {
    mutable std::mutex mutex;
    std::vector<Slot> slots;  // a power of two long, at most half full
    std::size_t count = 0;
  };
  static constexpr std::size_t kShards = 64;

  Slot* find_or_add(Shard& shard, std::uint64_t key, std::int64_t now);
  void drop_expired(Shard& shard, std::int64_t now);
  static void rehash(Shard& shard, std::size_t size, std::int64_t now);

  std::size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
  std::atomic<std::int64_t> rejected_[2] = {0, 0};
  std::atomic<std::int64_t> untracked_{0};
};

}  // namespace lms::http

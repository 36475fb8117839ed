#include "http/redis_rate_limit.h"

#include <boost/asio/this_coro.hpp>
#include <openssl/sha.h>

#include <stdexcept>

#include "ops/log.h"
#include "ops/ops_routes.h"

namespace lms::http {

namespace {

// KEYS[1]: the key; ARGV[1]: the limit; ARGV[2]: the window in microseconds.
// Returns {allowed, remaining, reset_us, retry_after_us}. Microsecond integers stay exact in
// Lua's doubles (2^53 us is 285 years).
constexpr const char* kScript = R"lua(
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = math.max(1, math.floor(window / limit))
local burst = interval * limit
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then tat = math.max(tonumber(stored), now) end
local new_tat = tat + interval
local allowed_from = new_tat - burst
if allowed_from > now then
  return {0, 0, tat - now, allowed_from - now}
end
redis.call('SET', KEYS[1], string.format("%.0f", new_tat), "PX", math.floor((new_tat - now) / 1000) + 1)
return {1, math.floor((now - allowed_from) / interval), new_tat - now, 0}
)lua";

std::string sha1_hex(const std::string& text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

std::int64_t ceil_seconds(long long micros) { return micros <= 0 ? 0 : (micros + 999'999) / 1'000'000; }

}  // namespace

const std::string& RedisRateLimiter::script() {
  static const std::string text = kScript;
  return text;
}

RedisRateLimiter::RedisRateLimiter(std::vector<redis::Connection*> links, std::size_t local_max_keys)
    : links_(std::move(links)), local_(local_max_keys), sha_(sha1_hex(script())) {
  if (links_.empty()) throw std::invalid_argument("RedisRateLimiter needs a Redis link");
}

redis::Connection& RedisRateLimiter::link_for(const boost::asio::any_io_executor& executor) const {
  for (auto* link : links_)
    if (&executor.context() == static_cast<boost::asio::execution_context*>(&link->context())) return *link;
  return *links_.front();
}

RateDecision RedisRateLimiter::fall_back(RateScope scope, std::string_view key, const RateRule& rule,
                                         std::string_view why) {
  fallbacks_.fetch_add(1, std::memory_order_relaxed);
  if (!falling_back_.exchange(true))
    ops::LogLine("rate limiter: Redis unreachable, limiting per instance").str("reason", why).warn();
  return local_.decide(scope, key, rule);
}

boost::asio::awaitable<RateDecision> RedisRateLimiter::take(RateScope scope, std::string key, const RateRule& rule) {
  if (!rule.enabled()) co_return local_.decide(scope, key, rule);
  redis::Connection& redis = link_for(co_await boost::asio::this_coro::executor);
  if (!redis.up()) co_return fall_back(scope, key, rule, "redis unavailable");
  const std::string redis_key = "lms:rl:" + std::string(scope_name(scope)) + ":" + key;
  const std::string window_us = std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(rule.window).count());
  // Built before the co_await: GCC 12 cannot keep a braced list of literals in a coroutine frame.
  std::vector<std::string> args{std::string("EVALSHA"), sha_, std::string("1"), redis_key, std::to_string(rule.limit), window_us};
  auto reply = co_await redis.async_command(args);
  if (reply.is_error() && reply.str.rfind("NOSCRIPT", 0) == 0) {
    args[0] = "EVAL";
    args[1] = script();
    reply = co_await redis.async_command(std::move(args));
  }
  if (reply.type != redis::Reply::Type::array || reply.elements.size() != 4)
    co_return fall_back(scope, key, rule, reply.is_error() ? reply.str : "unexpected reply");
  if (falling_back_.exchange(false)) ops::LogLine("rate limiter: Redis back, one quota for every instance").info();
  RateDecision d;
  d.limit = rule.limit;
  d.allowed = reply.elements[0].integer == 1;
  d.remaining = reply.elements[1].integer;
  d.reset_seconds = ceil_seconds(reply.elements[2].integer);
  if (!d.allowed) {
    d.retry_after_seconds = std::max<std::int64_t>(1, ceil_seconds(reply.elements[3].integer));
    local_.count_rejected(scope);
  }
  co_return d;
}

void RedisRateLimiter::write_metrics(std::string& out) const {
  local_.write_metrics(out);
  ops::write_counter(out, "ratelimit_local_fallback_total",
                     "Decisions taken by the in-process limiter because Redis was unreachable.",
                     static_cast<std::uint64_t>(fallbacks_.load(std::memory_order_relaxed)));
}

}  // namespace lms::http

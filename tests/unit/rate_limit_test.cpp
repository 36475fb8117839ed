#include "http/rate_limit.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>

namespace lms::http {
namespace {

using namespace std::chrono_literals;
using Clock = GcraLimiter::Clock;

const Clock::time_point t0 = Clock::time_point(std::chrono::hours(1000));

TEST(RateRule, Parses) {
  auto r = parse_rate_rule("5000/15m");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->limit, 5000);
  EXPECT_EQ(r->window, 15min);
  EXPECT_TRUE(parse_rate_rule("10/2s")->enabled());
  EXPECT_FALSE(parse_rate_rule("off")->enabled());
  for (const char* bad : {"", "/", "5000", "5000/", "/15m", "x/15m", "5000/15y", "-1/1s", "0/1s", "10/0s"})
    EXPECT_FALSE(parse_rate_rule(bad)) << bad;
}

TEST(GcraLimiter, AllowsTheLimitAtOnceThenRefusesWithHonestRetryAfter) {
  GcraLimiter limiter;
  RateRule rule{10, 2s};  // one request back every 200 ms
  for (int i = 0; i < 10; ++i) {
    auto d = limiter.take_at(RateScope::api, "u:1", rule, t0);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 10);
    EXPECT_EQ(d.remaining, 9 - i);
  }
  auto refused = limiter.take_at(RateScope::api, "u:1", rule, t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.retry_after_seconds, 1);  // 200 ms, rounded up to whole seconds
  EXPECT_EQ(refused.reset_seconds, 2);
  EXPECT_FALSE(limiter.take_at(RateScope::api, "u:1", rule, t0 + 199ms).allowed);
  EXPECT_TRUE(limiter.take_at(RateScope::api, "u:1", rule, t0 + 200ms).allowed);
  // Waiting Retry-After always suffices.
  EXPECT_FALSE(limiter.take_at(RateScope::api, "u:1", rule, t0 + 200ms).allowed);
  auto again = limiter.take_at(RateScope::api, "u:1", rule, t0 + 200ms);
  EXPECT_TRUE(limiter.take_at(RateScope::api, "u:1", rule, t0 + 200ms + std::chrono::seconds(again.retry_after_seconds)).allowed);
}

TEST(GcraLimiter, KeysAndScopesAreIndependent) {
  GcraLimiter limiter;
  RateRule rule{2, 1min};
  EXPECT_TRUE(limiter.take_at(RateScope::api, "u:1", rule, t0).allowed);
  EXPECT_TRUE(limiter.take_at(RateScope::api, "u:1", rule, t0).allowed);
  EXPECT_FALSE(limiter.take_at(RateScope::api, "u:1", rule, t0).allowed);
  EXPECT_TRUE(limiter.take_at(RateScope::api, "u:2", rule, t0).allowed);
  EXPECT_TRUE(limiter.take_at(RateScope::auth, "u:1", rule, t0).allowed);
}

// A fixed-window limiter lets 2x the limit through around a window boundary. Here, over a
// steady stream of requests (one every 10 ms for 3 windows), no interval of a tenth of the
// window ever sees more than the limit plus what a tenth of the window gives back.
TEST(GcraLimiter, NoDoubleBurstAcrossWindowEdges) {
  GcraLimiter limiter;
  RateRule rule{20, 2s};  // one back every 100 ms
  std::deque<Clock::time_point> allowed;
  int total = 0;
  for (auto t = t0; t < t0 + 6s; t += 10ms) {
    if (!limiter.take_at(RateScope::api, "a:1.2.3.4", rule, t).allowed) continue;
    ++total;
    allowed.push_back(t);
    while (allowed.front() <= t - 200ms) allowed.pop_front();
    ASSERT_LE(allowed.size(), 20u + 2u);
  }
  // 20 at once, then one per 100 ms for the remaining 6 s minus the first 100 ms.
  EXPECT_GE(total, 20 + 58);
  EXPECT_LE(total, 20 + 60);
}

TEST(GcraLimiter, OffRuleAllowsEverything) {
  GcraLimiter limiter;
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(limiter.take_at(RateScope::auth, "a:x", RateRule{}, t0).allowed);
  EXPECT_EQ(limiter.tracked_keys(), 0u);
}

TEST(GcraLimiter, MemoryStaysBoundedWhenKeysRotate) {
  GcraLimiter limiter(64 * 1024);
  RateRule rule{5, 1s};
  // An attacker rotating addresses: every key is new. Keys whose quota is whole again are
  // dropped when a shard is full, so the table never grows past the cap.
  for (int i = 0; i < 400'000; ++i) {
    auto now = t0 + std::chrono::milliseconds(i / 100);  // 100 new keys per ms
    ASSERT_TRUE(limiter.take_at(RateScope::api, "a:" + std::to_string(i), rule, now).allowed);
  }
  EXPECT_LE(limiter.tracked_keys(), 64u * 1024u);
  EXPECT_LE(limiter.memory_bytes(), 64u * 1024u * 2 * 16 + 64 * 1024);
  std::string metrics;
  limiter.write_metrics(metrics);
  EXPECT_NE(metrics.find("ratelimit_untracked_total 0\n"), std::string::npos);  // expired keys made room
  // A key that is being limited is still limited after the churn.
  for (int i = 0; i < 5; ++i) limiter.take_at(RateScope::api, "u:victim", rule, t0 + 4s);
  EXPECT_FALSE(limiter.take_at(RateScope::api, "u:victim", rule, t0 + 4s).allowed);
}

TEST(GcraLimiter, FullOfLimitedKeysAllowsNewKeysUntracked) {
  GcraLimiter limiter(1024);
  RateRule rule{1, 1h};
  for (int i = 0; i < 5000; ++i) limiter.take_at(RateScope::api, "a:" + std::to_string(i), rule, t0);
  EXPECT_LE(limiter.tracked_keys(), 1024u);
  std::string metrics;
  limiter.write_metrics(metrics);
  EXPECT_NE(metrics.find("ratelimit_untracked_total "), std::string::npos);
  EXPECT_EQ(metrics.find("ratelimit_untracked_total 0\n"), std::string::npos);
}

}  // namespace
}  // namespace lms::http

// The schedules of lms-load: the open model's intended times, coordinated omission corrected
// against a "server" that stalls on purpose, the think-time distribution and action weights.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <map>
#include <random>
#include <vector>

#include "histogram.h"
#include "schedule.h"

namespace lms::load {
namespace {

namespace net = boost::asio;

std::int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

TEST(OpenSchedule, IntendedTimesFollowTheRateWhateverTheServerDoes) {
  OpenSchedule s{1'000'000, 250};  // 250 per second: one every 4 ms
  EXPECT_EQ(s.intended_us(0), 1'000'000);
  EXPECT_EQ(s.intended_us(1), 1'004'000);
  EXPECT_EQ(s.intended_us(250), 2'000'000);
  OpenSchedule odd{0, 3};
  EXPECT_EQ(odd.intended_us(1), 333'333);
  EXPECT_EQ(odd.intended_us(3), 1'000'000);
}

// One lane, 500 arrivals a second for 0.6 s, against a server that answers at once except
// for one request it holds 200 ms. Measured from the intended time, every arrival that queued
// behind the stall is charged for its wait (about 100 of them); measured from the actual send,
// only the stalled request would look slow.
TEST(OpenSchedule, CoordinatedOmissionIsCorrected) {
  net::io_context io;
  const std::int64_t start = steady_us() + 20'000;
  OpenSchedule schedule{start, 500};
  std::atomic<std::int64_t> next{0};
  Histogram from_intended, from_send;
  std::map<std::int64_t, std::int64_t> sent_at;
  auto send = [&](std::int64_t i) -> net::awaitable<void> {
    sent_at[i] = steady_us();
    if (i == 50) {
      net::steady_timer stall(co_await net::this_coro::executor, std::chrono::milliseconds(200));
      co_await stall.async_wait(net::use_awaitable);
    }
  };
  auto done = [&](std::int64_t i, std::int64_t intended, std::int64_t completed) {
    from_intended.record(completed - intended);
    from_send.record(completed - sent_at[i]);
  };
  net::co_spawn(io, open_lane(schedule, next, start + 600'000, send, done, [] { return steady_us(); }), net::detached);
  io.run();
  EXPECT_EQ(from_intended.count(), 300);
  // p70 from the intended time is above 20 ms (the last ~30% include the 90 arrivals queued
  // behind the stall, each late by 2 ms more than the one before); from the send it is tiny.
  EXPECT_GT(from_intended.value_at_percentile(70), 20'000) << "the stall was not charged to the queued arrivals";
  EXPECT_GE(from_intended.max(), 195'000);
  EXPECT_LT(from_send.value_at_percentile(70), 20'000);
  EXPECT_GE(from_send.max(), 195'000);  // the stalled request itself
}

TEST(ThinkTime, ExponentialWithTheMeanAndClamped) {
  Scenario s;
  s.think_mean_ms = 1000;
  s.think_min_ms = 100;
  s.think_max_ms = 5000;
  std::mt19937_64 rng(7);
  double sum = 0, low = 1e9, high = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    double t = think_time_ms(s, rng);
    sum += t;
    low = std::min(low, t);
    high = std::max(high, t);
  }
  EXPECT_GE(low, 100);
  EXPECT_LE(high, 5000);
  // E[clamp(X, 100, 5000)] for X ~ Exp(mean 1000): 100 P(X<100) + the integral of x f(x) over
  // [100, 5000] + 5000 P(X>5000) = 9.5 + 954.9 + 33.7 = 998.1.
  EXPECT_NEAR(sum / n, 998.1, 12);
}

TEST(ActionPicker, PicksInProportionToTheWeights) {
  Scenario s;  // 35/15/20/10/10/5/5/0.2
  ActionPicker picker(s);
  std::mt19937_64 rng(11);
  std::array<int, kActions> seen{};
  const int n = 1'000'000;
  for (int i = 0; i < n; ++i) ++seen[static_cast<std::size_t>(picker.pick(rng))];
  double total = 0;
  for (double w : s.weights) total += w;
  for (std::size_t a = 0; a < kActions; ++a)
    EXPECT_NEAR(static_cast<double>(seen[a]) / n, s.weights[a] / total, 0.003) << action_name(static_cast<Action>(a));
  Scenario only_count;
  only_count.weights.fill(0);
  only_count.weights[static_cast<std::size_t>(Action::count)] = 1;
  ActionPicker one(only_count);
  for (double u : {0.0, 0.3, 0.999999}) EXPECT_EQ(one.pick_at(u), Action::count);
}

}  // namespace
}  // namespace lms::load

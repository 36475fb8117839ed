// When virtual users act. Closed model: each user thinks (exponential think time, clamped),
// acts, and thinks again. Open model: arrivals are intended at a constant rate whatever the
// server does (arrival i at start + i / rate); a lane takes the next arrival, waits for its
// intended time and sends, and latency is measured from the intended time, so a stalled
// server is charged for every arrival it delayed (coordinated omission corrected, as wrk2).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>

#include "scenario.h"

namespace lms::load {

// Think time in ms: exponential with the scenario's mean, clamped to [min, max].
double think_time_ms(const Scenario& s, std::mt19937_64& rng);

// Picks actions in proportion to the scenario's weights.
class ActionPicker {
 public:
  explicit ActionPicker(const Scenario& s);
  Action pick(std::mt19937_64& rng) const;
  Action pick_at(double u01) const;  // u01 in [0, 1)

 private:
  std::array<double, kActions> cumulative_{};
};

struct OpenSchedule {
  std::int64_t start_us = 0;
  double rate = 1;  // arrivals per second
  std::int64_t intended_us(std::int64_t i) const {
    return start_us + static_cast<std::int64_t>(std::llround(static_cast<double>(i) * 1e6 / rate));
  }
};

// One lane of the open model: takes arrivals (shared counter `next`) until one is intended at
// or after `end_us`, waits until its intended time, awaits `send(i)`, and reports
// `done(i, intended_us, completed_us)`. Several lanes share one schedule; when all are busy
// the next arrival starts late, and its latency (completed - intended) includes the wait.
template <class Send, class Done, class Now>
boost::asio::awaitable<void> open_lane(const OpenSchedule& schedule, std::atomic<std::int64_t>& next,
                                       std::int64_t end_us, Send send, Done done, Now now_us) {
  auto executor = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer timer(executor);
  for (;;) {
    std::int64_t i = next.fetch_add(1, std::memory_order_relaxed);
    std::int64_t intended = schedule.intended_us(i);
    if (intended >= end_us) co_return;
    std::int64_t wait = intended - now_us();
    if (wait > 0) {
      timer.expires_after(std::chrono::microseconds(wait));
      co_await timer.async_wait(boost::asio::use_awaitable);
    }
    co_await send(i);
    done(i, intended, now_us());
  }
}

}  // namespace lms::load

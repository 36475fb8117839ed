// Redis: the URL, the bus's message format, and — against a private redis-server — the
// connection (commands, reconnect), the shared rate limiter and the event bus between two
// "instances" in one process (each with its own links, as two processes would have).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "http/redis_rate_limit.h"
#include "realtime/redis_event_bus.h"
#include "redis/client.h"
#include "support/redis_server.h"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using lms::realtime::Event;
using lms::realtime::EventKind;

TEST(RedisUrl, ParsesHostPortPasswordAndDatabase) {
  auto u = lms::redis::parse_url("redis://:s3cret@10.0.0.5:6380/2");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "10.0.0.5");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->password, "s3cret");
  EXPECT_EQ(u->db, 2);
  auto plain = lms::redis::parse_url("redis://localhost");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->host, "localhost");
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->db, 0);
  EXPECT_EQ(lms::redis::redacted(*u), "redis://***@10.0.0.5:6380/2");
  EXPECT_FALSE(lms::redis::parse_url("http://localhost"));
  EXPECT_FALSE(lms::redis::parse_url("redis://host:99999"));
  EXPECT_FALSE(lms::redis::parse_url("redis://host:port"));
  EXPECT_FALSE(lms::redis::parse_url("redis://host/x"));
}

Event sample_event() {
  Event e;
  e.kind = EventKind::lead_assigned;
  e.organization_id = "org-1";
  e.assignee = "u-2";
  e.previous_assignee = "u-1";
  e.user_id = "u-9";
  e.job_id = "job:7";
  e.counts = {3, 4, 5};
  e.until = 1'765'000'000'000;
  e.payload = R"({"name":"Ann | 12:34","tags":["a:b"]})";
  return e;
}

TEST(EventCodec, RoundTripsEveryField) {
  auto text = lms::realtime::encode_event(sample_event(), "n1-abc");
  auto d = lms::realtime::decode_event(text);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->origin, "n1-abc");
  const Event& e = d->event;
  EXPECT_EQ(e.kind, EventKind::lead_assigned);
  EXPECT_EQ(e.organization_id, "org-1");
  EXPECT_EQ(e.assignee, "u-2");
  EXPECT_EQ(e.previous_assignee, "u-1");
  EXPECT_EQ(e.user_id, "u-9");
  EXPECT_EQ(e.job_id, "job:7");
  EXPECT_EQ(e.counts.created, 3);
  EXPECT_EQ(e.counts.updated, 4);
  EXPECT_EQ(e.counts.deleted, 5);
  EXPECT_EQ(e.until, 1'765'000'000'000);
  EXPECT_EQ(e.payload, sample_event().payload);
}

TEST(EventCodec, RefusesEveryTruncationAndGarbage) {
  auto text = lms::realtime::encode_event(sample_event(), "n1");
  for (std::size_t n = 0; n < text.size(); ++n) EXPECT_FALSE(lms::realtime::decode_event(text.substr(0, n))) << n;
  EXPECT_FALSE(lms::realtime::decode_event(text + "x"));
  EXPECT_FALSE(lms::realtime::decode_event("2:e12:n199999999999999999999:x"));
  EXPECT_FALSE(lms::realtime::decode_event("2:e9"));
  ASSERT_EQ(text.substr(0, 11), "2:e12:n11:2");  // format, origin, kind (lead_assigned = 2)
  std::string bad_kind = text;
  bad_kind.replace(8, 3, "2:99");
  EXPECT_FALSE(lms::realtime::decode_event(bad_kind));
  bad_kind.replace(8, 4, "2:-1");
  EXPECT_FALSE(lms::realtime::decode_event(bad_kind));
}

// An io_context on its own thread, as an I/O thread of the server.
struct Loop {
  asio::io_context context{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(context);
  std::thread thread{[this] { context.run(); }};
  ~Loop() {
    guard.reset();
    context.stop();
    thread.join();
  }
  template <class F>
  auto run(F f) {
    return asio::co_spawn(context, std::move(f), asio::use_future).get();
  }
};

// One command from the loop's thread, awaited here (the list is built outside the coroutine:
// GCC 12 cannot keep a braced list of literals in a coroutine frame).
lms::redis::Reply call(Loop& loop, lms::redis::Connection& conn, std::vector<std::string> args) {
  return loop.run([&conn, args = std::move(args)]() mutable -> asio::awaitable<lms::redis::Reply> {
    co_return co_await conn.async_command(std::move(args));
  });
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

TEST(RedisConnection, RunsCommandsAndComesBackAfterRedisRestarts) {
  lms::testing::RedisServer redis;
  Loop loop;
  lms::redis::Connection conn(loop.context, *lms::redis::parse_url(redis.url()), {}, "test");
  conn.start();
  ASSERT_TRUE(eventually([&] { return conn.up(); }));
  auto set = call(loop, conn, {"SET", "k", "v\r\nx"});
  EXPECT_EQ(set.str, "OK");
  auto get = call(loop, conn, {"GET", "k"});
  EXPECT_EQ(get.str, "v\r\nx");

  redis.stop();
  ASSERT_TRUE(eventually([&] { return !conn.up(); }));
  auto down = call(loop, conn, {"PING"});
  EXPECT_TRUE(down.is_error());  // answered at once, not queued forever

  redis.start();
  ASSERT_TRUE(eventually([&] { return conn.up(); }));
  EXPECT_GE(conn.reconnects(), 1u);
  auto pong = call(loop, conn, {"PING"});
  EXPECT_EQ(pong.str, "PONG");
  asio::post(loop.context, [&] { conn.stop(); });
  ASSERT_TRUE(eventually([&] { return !conn.up(); }));
}

TEST(RedisConnection, AStoppedRedisThatKeepsItsSocketIsDetectedByTheCommandTimeout) {
  lms::testing::RedisServer redis;
  Loop loop;
  lms::redis::ConnectionSettings settings;
  settings.command_timeout = 300ms;
  lms::redis::Connection conn(loop.context, *lms::redis::parse_url(redis.url()), settings, "test");
  conn.start();
  ASSERT_TRUE(eventually([&] { return conn.up(); }));
  // DEBUG SLEEP holds Redis longer than the timeout: the reply is given up on, the link renewed.
  auto started = std::chrono::steady_clock::now();
  auto slow = call(loop, conn, {"DEBUG", "SLEEP", "2"});
  EXPECT_TRUE(slow.is_error()) << slow.str;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1900ms);
  ASSERT_TRUE(eventually([&] { return conn.up() && conn.reconnects() >= 1; }));
  asio::post(loop.context, [&] { conn.stop(); });
  eventually([&] { return !conn.up(); });
}

lms::http::RateDecision take(Loop& loop, lms::http::RateLimiter& limiter, const std::string& key,
                             const lms::http::RateRule& rule) {
  return loop.run([&]() -> asio::awaitable<lms::http::RateDecision> {
    co_return co_await limiter.take(lms::http::RateScope::api, key, rule);
  });
}

TEST(RedisRateLimiter, OneQuotaForEveryInstance) {
  lms::testing::RedisServer redis;
  Loop loop;
  auto url = *lms::redis::parse_url(redis.url());
  lms::redis::Connection a_link(loop.context, url, {}, "a"), b_link(loop.context, url, {}, "b");
  a_link.start();
  b_link.start();
  ASSERT_TRUE(eventually([&] { return a_link.up() && b_link.up(); }));
  lms::http::RedisRateLimiter a(a_link, 1024), b(b_link, 1024);
  lms::http::RateRule rule{5, std::chrono::minutes(1)};

  std::vector<std::int64_t> remaining;
  for (int i = 0; i < 3; ++i) remaining.push_back(take(loop, a, "u:1", rule).remaining);
  for (int i = 0; i < 2; ++i) remaining.push_back(take(loop, b, "u:1", rule).remaining);
  EXPECT_EQ(remaining, (std::vector<std::int64_t>{4, 3, 2, 1, 0}));
  auto refused_on_a = take(loop, a, "u:1", rule);
  auto refused_on_b = take(loop, b, "u:1", rule);
  EXPECT_FALSE(refused_on_a.allowed);
  EXPECT_FALSE(refused_on_b.allowed);
  EXPECT_EQ(refused_on_b.retry_after_seconds, 12);  // one request back every 60/5 s
  EXPECT_GE(refused_on_b.reset_seconds, 59);
  EXPECT_LE(refused_on_b.reset_seconds, 60);
  EXPECT_TRUE(take(loop, b, "u:2", rule).allowed);  // another key has its own quota

  std::string metrics;
  b.write_metrics(metrics);
  EXPECT_NE(metrics.find("ratelimit_rejected_total{scope=\"api\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("ratelimit_local_fallback_total 0"), std::string::npos) << metrics;

  // Redis gone: each instance limits on its own, at once, and says so.
  redis.stop();
  ASSERT_TRUE(eventually([&] { return !a_link.up(); }));
  auto local = take(loop, a, "u:1", rule);
  EXPECT_TRUE(local.allowed);  // a fresh local quota
  EXPECT_EQ(local.remaining, 4);
  metrics.clear();
  a.write_metrics(metrics);
  EXPECT_NE(metrics.find("ratelimit_local_fallback_total 1"), std::string::npos) << metrics;
  asio::post(loop.context, [&] {
    a_link.stop();
    b_link.stop();
  });
  eventually([&] { return !a_link.up() && !b_link.up(); });
}

TEST(RedisRateLimiter, ADecisionUsesTheLinkOnTheRequestsOwnThread) {
  lms::testing::RedisServer redis;
  Loop one, two;
  auto url = *lms::redis::parse_url(redis.url());
  lms::redis::Connection on_one(one.context, url, {}, "one"), on_two(two.context, url, {}, "two");
  on_one.start();
  on_two.start();
  ASSERT_TRUE(eventually([&] { return on_one.up() && on_two.up(); }));
  lms::http::RedisRateLimiter limiter({&on_one, &on_two}, 1024);
  lms::http::RateRule rule{5, std::chrono::minutes(1)};
  asio::post(one.context, [&] { on_one.stop(); });  // thread one's link is gone
  ASSERT_TRUE(eventually([&] { return !on_one.up(); }));

  auto from_two = take(two, limiter, "u:1", rule);  // decided in Redis, on thread two's link
  EXPECT_EQ(from_two.remaining, 4);
  std::string metrics;
  limiter.write_metrics(metrics);
  EXPECT_NE(metrics.find("ratelimit_local_fallback_total 0"), std::string::npos) << metrics;
  auto from_one = take(one, limiter, "u:1", rule);  // thread one falls back to its local limiter
  EXPECT_EQ(from_one.remaining, 4);
  metrics.clear();
  limiter.write_metrics(metrics);
  EXPECT_NE(metrics.find("ratelimit_local_fallback_total 1"), std::string::npos) << metrics;
  asio::post(two.context, [&] { on_two.stop(); });
  eventually([&] { return !on_two.up(); });
}

struct Recorder {
  std::mutex mutex;
  std::vector<Event> events;
  void operator()(const Event& e) {
    std::lock_guard lock(mutex);
    events.push_back(e);
  }
  std::size_t count(EventKind kind) {
    std::lock_guard lock(mutex);
    std::size_t n = 0;
    for (auto& e : events) n += e.kind == kind;
    return n;
  }
};

TEST(RedisEventBus, AnEventReachesEveryInstanceOnceAndALossEndsInResync) {
  lms::testing::RedisServer redis;
  Loop loop_a, loop_b;
  auto url = *lms::redis::parse_url(redis.url());
  lms::realtime::RedisEventBus a(loop_a.context, url, "a-1"), b(loop_b.context, url, "b-1");
  Recorder heard_a, heard_b;
  a.subscribe([&](const Event& e) { heard_a(e); });
  b.subscribe([&](const Event& e) { heard_b(e); });
  a.start();
  b.start();
  ASSERT_TRUE(eventually([&] { return a.healthy() && b.healthy(); }));
  std::this_thread::sleep_for(200ms);  // SUBSCRIBE confirmed

  a.publish(sample_event());
  ASSERT_TRUE(eventually([&] { return heard_b.count(EventKind::lead_assigned) == 1; }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(heard_a.count(EventKind::lead_assigned), 1u);  // its own, once (not echoed back)
  EXPECT_EQ(heard_b.count(EventKind::lead_assigned), 1u);
  {
    std::lock_guard lock(heard_b.mutex);
    EXPECT_EQ(heard_b.events.back().payload, sample_event().payload);
  }
  EXPECT_EQ(heard_a.count(EventKind::resync), 0u);

  // Redis goes away; what A publishes meanwhile cannot reach B. When Redis is back, both
  // instances tell their sockets to resync, once each.
  redis.stop();
  ASSERT_TRUE(eventually([&] { return !a.healthy() && !b.healthy(); }));
  a.publish(sample_event());
  EXPECT_EQ(heard_a.count(EventKind::lead_assigned), 2u);  // local sockets still hear it
  redis.start();
  ASSERT_TRUE(eventually([&] { return heard_a.count(EventKind::resync) >= 1 && heard_b.count(EventKind::resync) >= 1; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_LE(heard_a.count(EventKind::resync), 2u);  // its own, and possibly B's
  EXPECT_EQ(heard_b.count(EventKind::lead_assigned), 1u);

  std::string metrics;
  a.write_metrics(metrics);
  EXPECT_NE(metrics.find("redis_connected 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("eventbus_publish_failed_total 1"), std::string::npos) << metrics;
  asio::post(loop_a.context, [&] { a.stop(); });
  asio::post(loop_b.context, [&] { b.stop(); });
  eventually([&] { return !a.healthy() && !b.healthy(); });
}

}  // namespace

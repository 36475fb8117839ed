// Micro benchmarks of the per-request hot path: token verification, routing, JSON parsing
// (RapidJSON, which lms uses, against simdjson, measured for the choice) and rendering.
//   ./build/bench/micro_bench
#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <rapidjson/document.h>

#ifdef LMS_HAVE_SIMDJSON
#include <simdjson.h>
#endif

#include "accounts/render.h"
#include "auth/tokens.h"
#include "common/json.h"
#include "http/dispatcher.h"
#include "http/rate_limit.h"
#include "ops/request_metrics.h"
#include "http/router.h"

namespace {

using namespace lms;

const std::string kSecret(32, 's');

// A lead-sized request body (~400 bytes), the typical JSON lms parses.
const std::string kBody =
    R"({"name":"Jane Doe","phone":"+1 (415) 555-0123","email":"Jane.Doe@Example.com","company":"Acme Corp",)"
    R"("source":"webinar","status":"contacted","assignedTo":"01939a3e-8c1f-7b5e-9d2a-3f4b5c6d7e8f",)"
    R"("tags":["vip","q4","west-coast"],"custom":{"budget":25000,"decisionMaker":true,"notes":"asked for a demo"}})";

void BM_TokenSign(benchmark::State& state) {
  auth::TokenSigner signer(kSecret);
  auth::AccessClaims claims{"01939a3e-8c1f-7b5e-9d2a-3f4b5c6d7e8f", "01939a3e-8c1f-7b5e-9d2a-000000000000",
                            accounts::Role::agent, 1'700'000'000'000, 4'000'000'000'000};
  for (auto _ : state) benchmark::DoNotOptimize(signer.sign(claims));
}
BENCHMARK(BM_TokenSign);

void BM_TokenVerify(benchmark::State& state) {
  auth::TokenSigner signer(kSecret);
  auth::AccessClaims claims{"01939a3e-8c1f-7b5e-9d2a-3f4b5c6d7e8f", "01939a3e-8c1f-7b5e-9d2a-000000000000",
                            accounts::Role::agent, 1'700'000'000'000, 4'000'000'000'000};
  std::string token = signer.sign(claims);
  for (auto _ : state) benchmark::DoNotOptimize(signer.verify(token, 1'800'000'000'000));
}
BENCHMARK(BM_TokenVerify);

void BM_RouterMatch(benchmark::State& state) {
  http::Router router;
  http::Handler noop = [](http::RequestContext&) -> boost::asio::awaitable<http::Response> { co_return http::Response{}; };
  for (auto p : {"/healthz", "/readyz", "/api/auth/register", "/api/auth/login", "/api/auth/refresh",
                 "/api/auth/logout", "/api/auth/me", "/api/users", "/api/users/:id", "/api/organization",
                 "/api/leads", "/api/leads/count", "/api/leads/export", "/api/leads/bulk", "/api/leads/:id",
                 "/api/leads/:id/activities", "/api/leads/:id/notes", "/api/imports", "/api/imports/:id",
                 "/api/imports/:id/errors", "/api/imports/:id/revert"})
    router.add(http::bhttp::verb::get, p, noop);
  for (auto _ : state) benchmark::DoNotOptimize(router.match(http::bhttp::verb::get, "/api/leads/01939a3e-8c1f/activities"));
}
BENCHMARK(BM_RouterMatch);

void BM_JsonParse_RapidJSON(benchmark::State& state) {
  for (auto _ : state) {
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag>(kBody.data(), kBody.size());
    benchmark::DoNotOptimize(doc["name"].GetString());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kBody.size()));
}
BENCHMARK(BM_JsonParse_RapidJSON);

#ifdef LMS_HAVE_SIMDJSON
void BM_JsonParse_simdjson(benchmark::State& state) {
  simdjson::dom::parser parser;
  simdjson::padded_string body(kBody);
  for (auto _ : state) {
    simdjson::dom::element doc = parser.parse(body);
    benchmark::DoNotOptimize(std::string_view(doc["name"]));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kBody.size()));
}
BENCHMARK(BM_JsonParse_simdjson);
#endif

void BM_RenderUserAndOrganization(benchmark::State& state) {
  accounts::User user{"01939a3e-8c1f-7b5e-9d2a-3f4b5c6d7e8f", "01939a3e-8c1f-7b5e-9d2a-000000000000", "Jane Doe",
                      "jane@example.com", accounts::Role::manager, true, 1'700'000'000'123};
  accounts::Organization org{"01939a3e-8c1f-7b5e-9d2a-000000000000", "Acme", "US", 1'700'000'000'000};
  for (auto _ : state)
    benchmark::DoNotOptimize(json::build([&](json::Writer& w) {
      w.StartObject();
      json::key(w, "user");
      accounts::write_user(w, user);
      json::key(w, "organization");
      accounts::write_organization(w, org);
      w.EndObject();
    }));
}
BENCHMARK(BM_RenderUserAndOrganization);

}  // namespace

// The rate limiter's decision on the hot path: one key per user, many users.
static void BM_RateLimiterTake(benchmark::State& state) {
  lms::http::GcraLimiter limiter;
  lms::http::RateRule rule{1'000'000, std::chrono::minutes(15)};
  std::vector<std::string> keys;
  for (int i = 0; i < 10'000; ++i) keys.push_back("u:" + std::to_string(i));
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(limiter.decide(lms::http::RateScope::api, keys[i++ % keys.size()], rule));
  }
}
BENCHMARK(BM_RateLimiterTake);

// The limiter's memory with 1,000,000 tracked keys (all still limited: the worst case).
static void BM_RateLimiterMemoryAtOneMillionKeys(benchmark::State& state) {
  for (auto _ : state) {
    lms::http::GcraLimiter limiter(1'000'000);
    lms::http::RateRule rule{5000, std::chrono::minutes(15)};
    auto now = lms::http::GcraLimiter::Clock::now();
    for (int i = 0; i < 1'000'000; ++i) limiter.take_at(lms::http::RateScope::api, "a:" + std::to_string(i), rule, now);
    state.counters["tracked_keys"] = static_cast<double>(limiter.tracked_keys());
    state.counters["MiB"] = static_cast<double>(limiter.memory_bytes()) / (1024.0 * 1024.0);
    state.counters["bytes_per_key"] = static_cast<double>(limiter.memory_bytes()) / static_cast<double>(limiter.tracked_keys());
  }
}
BENCHMARK(BM_RateLimiterMemoryAtOneMillionKeys)->Iterations(1)->Unit(benchmark::kMillisecond);

// The whole per-request cost of the rate limiter and the request metrics: the dispatcher
// answering GET /api/leads/:id from a stub handler (a lead-sized JSON body), with both off
// and both on, and each alone. The difference is what a request pays for them in the
// dispatcher; the three RateLimit-* headers then cost their bytes in the flat header write.
static void BM_DispatchGetLead(benchmark::State& state) {
  namespace asio = boost::asio;
  const bool limit = state.range(0) == 1 || state.range(0) == 2;
  const bool measure = state.range(0) == 1 || state.range(0) == 3;
  lms::http::Router router;
  const std::string body(520, 'x');
  router.add(lms::http::bhttp::verb::get, "/api/leads/:id",
             [&body](lms::http::RequestContext&) -> asio::awaitable<lms::http::Response> {
               co_return lms::http::json_response(lms::http::bhttp::status::ok, body);
             });
  lms::http::GcraLimiter limiter;
  lms::ops::RequestMetrics metrics;
  lms::http::RateLimits limits;
  if (limit) limits = {&limiter, lms::http::RateRule{1'000'000'000, std::chrono::minutes(15)}, lms::http::RateRule{}, false};
  lms::http::Dispatcher dispatcher(
      router,
      [](std::string_view) -> asio::awaitable<lms::accounts::Principal> {
        co_return lms::accounts::Principal{"01939a3e-8c1f-7b5e-9d2a-3f4b5c6d7e8f", "01939a3e-0000-7b5e-9d2a-3f4b5c6d7e8f",
                                           lms::accounts::Role::admin};
      },
      false, limits, measure ? &metrics : nullptr);
  lms::http::Request request{lms::http::bhttp::verb::get, "/api/leads/01939a3e-8c1f-7b5e-9d2a-3f4b5c6d7e00", 11};
  request.set(lms::http::bhttp::field::authorization, "Bearer token");
  lms::http::ClientInfo client{"127.0.0.1", {}};
  asio::io_context context(1);
  for (auto _ : state) {
    asio::co_spawn(context, dispatcher.handle(request, client), [](std::exception_ptr, lms::http::Reply reply) {
      benchmark::DoNotOptimize(reply.response.body().data());
    });
    context.run();
    context.restart();
  }
}
// 0: both off, 1: both on, 2: the limiter only, 3: the metrics only.
BENCHMARK(BM_DispatchGetLead)->Arg(0)->Arg(1)->Arg(2)->Arg(3);

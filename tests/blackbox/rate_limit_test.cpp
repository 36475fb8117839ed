// Black-box tests of the rate limits (--rate-api, --rate-auth, --trust-proxy) with small
// configured limits: exact 429s, counting-down headers, an honest Retry-After, per-user and
// per-address keys, forwarded addresses, and the ratelimit_rejected_total counter.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "harness.h"

namespace lms::test {
namespace {

int header_int(const Response& r, const char* name) {
  auto v = r.header(name);
  return v.empty() ? -1 : std::stoi(v);
}

Response login(Client& c, const std::string& email, const std::map<std::string, std::string>& headers = {}) {
  auto h = headers;
  h["Content-Type"] = "application/json";
  return c.request("POST", "/api/auth/login", R"({"email":")" + email + R"(","password":"wrong-password"})", h);
}

TEST(RateLimitTest, AuthRoutesRefuseExactlyAfterTheLimitWithCountdownHeaders) {
  LmsServer server({"--rate-auth", "5/10s", "--rate-api", "off"});
  Client c(server.port());
  for (int i = 0; i < 5; ++i) {
    auto r = login(c, "nobody@example.com");
    ASSERT_EQ(r.status, 401) << i << r.body;
    EXPECT_EQ(header_int(r, "ratelimit-limit"), 5);
    EXPECT_EQ(header_int(r, "ratelimit-remaining"), 4 - i);
    EXPECT_GE(header_int(r, "ratelimit-reset"), 1);
    EXPECT_LE(header_int(r, "ratelimit-reset"), 10);
    EXPECT_TRUE(r.header("retry-after").empty());
  }
  auto refused = login(c, "nobody@example.com");
  ASSERT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(refused.str("/error/code"), "rate_limited");
  EXPECT_EQ(header_int(refused, "ratelimit-remaining"), 0);
  int retry_after = header_int(refused, "retry-after");
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 2);  // one request back every 2 s
  // Refusals do not spend quota: after Retry-After, a request goes through.
  EXPECT_EQ(login(c, "nobody@example.com").status, 429);
  std::this_thread::sleep_for(std::chrono::seconds(retry_after) + std::chrono::milliseconds(50));
  EXPECT_EQ(login(c, "nobody@example.com").status, 401);
  EXPECT_EQ(login(c, "nobody@example.com").status, 429);
  // Routes outside /api are never limited.
  EXPECT_EQ(c.get("/healthz").status, 200);
  EXPECT_TRUE(c.get("/healthz").header("ratelimit-limit").empty());

  // /metrics is lms's own (scraped per instance, never through the proxy: deploy/nginx).
  auto metrics = Client(server.lms_port()).get("/metrics");
  EXPECT_NE(metrics.body.find("ratelimit_rejected_total{scope=\"auth\"} 3\n"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("ratelimit_rejected_total{scope=\"api\"} 0\n"), std::string::npos);
}

// No double burst at a window edge: a fixed window of 6 per 3 s would let 6 more through the
// moment its window turns over; GCRA gives them back one every 0.5 s. The client spends the
// burst, then asks every 25 ms for 3.5 s (past the edge): successes come one at a time.
TEST(RateLimitTest, NoDoubleBurstAtTheWindowEdge) {
  LmsServer server({"--rate-auth", "6/3s", "--rate-api", "off"});
  Client c(server.port());
  // A refresh with an unknown token: answered 401 at once (a login would spend time hashing).
  auto attempt = [&] {
    return c.request("POST", "/api/auth/refresh", R"({"refreshToken":"unknown"})",
                     {{"Content-Type", "application/json"}});
  };
  for (int i = 0; i < 6; ++i) ASSERT_EQ(attempt().status, 401) << i;
  ASSERT_EQ(attempt().status, 429);
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::vector<double> allowed_at;  // seconds since the burst was spent
  while (Clock::now() - start < std::chrono::milliseconds(3500)) {
    if (attempt().status == 401)
      allowed_at.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  // One back every 0.5 s: about 7 in 3.5 s; a second burst would add 6 at once.
  EXPECT_GE(allowed_at.size(), 5u);
  EXPECT_LE(allowed_at.size(), 8u);
  for (std::size_t i = 2; i < allowed_at.size(); ++i)
    EXPECT_GT(allowed_at[i] - allowed_at[i - 2], 0.6) << "three successes within 0.6 s, ending at " << allowed_at[i];
}

TEST(RateLimitTest, ApiLimitIsPerUserAndPerAddressBeforeAuthentication) {
  LmsServer server({"--rate-api", "4/1m", "--rate-auth", "off"});
  Client c(server.port());
  auto a = register_org(c, "Limited A");
  auto b = register_org(c, "Limited B");
  for (int i = 0; i < 4; ++i) ASSERT_EQ(c.get("/api/leads", a.access_token).status, 200) << i;
  auto refused = c.get("/api/leads", a.access_token);
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.str("/error/code"), "rate_limited");
  // Another user from the same address has their own quota.
  auto other = c.get("/api/leads", b.access_token);
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(header_int(other, "ratelimit-remaining"), 3);
  // Unauthenticated requests (no token, a forged one) count against the address, then get
  // their 401 while quota lasts, and 429 after.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(c.get("/api/leads", i % 2 ? "forged.token.x" : "").status, 401) << i;
  EXPECT_EQ(c.get("/api/leads").status, 429);
  EXPECT_EQ(c.get("/api/leads", "forged.token.x").status, 429);
  // ...which does not touch the users' own quotas.
  EXPECT_EQ(c.get("/api/leads", b.access_token).status, 200);
}

TEST(RateLimitTest, ForwardedForIsIgnoredWithoutTrustProxy) {
  LmsServer server({"--rate-auth", "2/1m", "--rate-api", "off"});
  Client c(server.port());
  EXPECT_EQ(login(c, "x@example.com", {{"X-Forwarded-For", "10.0.0.1"}}).status, 401);
  EXPECT_EQ(login(c, "x@example.com", {{"X-Forwarded-For", "10.0.0.2"}}).status, 401);
  // A client rotating the header is still one address.
  EXPECT_EQ(login(c, "x@example.com", {{"X-Forwarded-For", "10.0.0.3"}}).status, 429);
}

TEST(RateLimitTest, TrustProxyUsesTheAddressTheProxyAppended) {
  LMS_SKIP_BEHIND_PROXY("the test plays the proxy itself (it writes the X-Forwarded-For a proxy would append); behind a real nginx, nginx appends the address it saw (127.0.0.1) after it, so every request is one client");
  LmsServer server({"--rate-auth", "2/1m", "--rate-api", "off", "--trust-proxy", "true"});
  Client c(server.port());
  // The proxy appends the address it saw; what the client sent before it is not trusted.
  EXPECT_EQ(login(c, "x@example.com", {{"X-Forwarded-For", "6.6.6.6, 10.0.0.1"}}).status, 401);
  EXPECT_EQ(login(c, "x@example.com", {{"X-Forwarded-For", "7.7.7.7, 10.0.0.1"}}).status, 401);
  EXPECT_EQ(login(c, "x@example.com", {{"X-Forwarded-For", "8.8.8.8,10.0.0.1"}}).status, 429);
  // Another client behind the same proxy has its own quota.
  EXPECT_EQ(login(c, "x@example.com", {{"X-Forwarded-For", "10.0.0.2"}}).status, 401);
}

TEST(RateLimitTest, DefaultsComeFromTheContract) {
  // The harness turns limits off through the environment; the defaults themselves are the
  // contract's: 5000 per 15 minutes for the API, 200 per 15 minutes for /api/auth.
  int code = 0;
  auto help = run_command("env -u LMS_RATE_API -u LMS_RATE_AUTH " + std::string(LMS_BINARY) + " serve --help", &code);
  EXPECT_EQ(code, 0);
  EXPECT_NE(help.find("5000/15m"), std::string::npos) << help;
  EXPECT_NE(help.find("200/15m"), std::string::npos) << help;
}

TEST(RateLimitTest, MalformedRuleIsRefusedAtStart) {
  int code = 0;
  run_command(std::string(LMS_BINARY) + " serve --port 0 --rate-api 5000 2>&1", &code);
  EXPECT_NE(code, 0);
  run_command(std::string(LMS_BINARY) + " serve --port 0 --rate-auth 10/15y 2>&1", &code);
  EXPECT_NE(code, 0);
}

}  // namespace
}  // namespace lms::test

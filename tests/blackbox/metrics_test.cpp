// Black-box tests of GET /metrics: Prometheus' own parser accepts the exposition (promtool,
// installed by scripts/setup.sh), and the request counters and histograms match the requests
// this test made.
#include <gtest/gtest.h>

#include <fstream>

#include "harness.h"

namespace lms::test {
namespace {

// The value of one sample line `name{labels} value`, or -1 when absent.
double sample(const std::string& exposition, const std::string& series) {
  auto at = exposition.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  auto start = at + series.size() + 2;
  return std::stod(exposition.substr(start, exposition.find('\n', start) - start));
}

TEST(MetricsTest, ExpositionPassesPromtoolAndCountsTheRequestsMade) {
  LmsServer server;
  Client c(server.port());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(c.get("/healthz").status, 200);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(c.get("/api/leads").status, 401);
  auto account = register_org(c, "Metrics");
  auto lead = c.post("/api/leads", R"({"name":"Ann","phone":"+14155550100"})", account.access_token);
  ASSERT_EQ(lead.status, 201) << lead.body;
  ASSERT_EQ(c.get("/api/leads/" + lead.str("/id"), account.access_token).status, 200);
  ASSERT_EQ(c.get("/api/leads/no-such-lead", account.access_token).status, 404);
  ASSERT_EQ(c.get("/api/no/such/route").status, 404);

  // /metrics is lms's own (scraped per instance, never through the proxy: deploy/nginx).
  auto metrics = Client(server.lms_port()).get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  const std::string& text = metrics.body;

  std::string file = server.dir() + "/metrics.txt";
  std::ofstream(file) << text;
  int code = 0;
  auto out = run_command("promtool check metrics < " + file + " 2>&1", &code);
  EXPECT_EQ(code, 0) << "promtool (Debian package prometheus, installed by scripts/setup.sh): " << out;

  EXPECT_EQ(sample(text, R"(http_requests_total{method="GET",route="/healthz",status="200"})"), 3);
  EXPECT_EQ(sample(text, R"(http_requests_total{method="GET",route="/api/leads",status="401"})"), 2);
  EXPECT_EQ(sample(text, R"(http_requests_total{method="POST",route="/api/leads",status="201"})"), 1);
  // Route labels are patterns, never raw paths: both lead reads share one series per status.
  EXPECT_EQ(sample(text, R"(http_requests_total{method="GET",route="/api/leads/:id",status="200"})"), 1);
  EXPECT_EQ(sample(text, R"(http_requests_total{method="GET",route="/api/leads/:id",status="404"})"), 1);
  EXPECT_EQ(text.find("no-such-lead"), std::string::npos);
  EXPECT_EQ(text.find("/api/no/such/route"), std::string::npos);
  EXPECT_EQ(sample(text, R"(http_requests_total{method="GET",route="unmatched",status="404"})"), 1);

  // The histogram: buckets from 1 ms to 10 s, cumulative, +Inf equal to the count.
  EXPECT_EQ(sample(text, R"(http_request_duration_seconds_count{route="/healthz"})"), 3);
  EXPECT_GE(sample(text, R"(http_request_duration_seconds_bucket{route="/healthz",le="0.001"})"), 0);
  EXPECT_EQ(sample(text, R"(http_request_duration_seconds_bucket{route="/healthz",le="10"})"), 3);
  EXPECT_EQ(sample(text, R"(http_request_duration_seconds_bucket{route="/healthz",le="+Inf"})"), 3);
  EXPECT_EQ(sample(text, R"(http_request_duration_seconds_count{route="/api/leads/:id"})"), 2);

  for (const char* series : {"lms_build_info{version=", "lms_uptime_seconds ", "process_start_time_seconds ",
                             "process_resident_memory_bytes ", "process_cpu_seconds_total ", "http_connections ", "http_connections_refused_total 0\n", "db_pool_connections{state=\"idle\"} ",
                             "realtime_connections ", "import_rows_total{result=\"inserted\"} ",
                             "ratelimit_rejected_total{scope=\"api\"} "})
    EXPECT_NE(text.find(series), std::string::npos) << series;
}

}  // namespace
}  // namespace lms::test

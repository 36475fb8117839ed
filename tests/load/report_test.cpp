// Tests of report.h: status by p95, the service level, capacity, each bottleneck rule, and the
// content of capacity.md and capacity.html.
#include <gtest/gtest.h>

#include <string>

#include "report.h"

namespace lms::load {
namespace {

// A step of `users` whose every request took `p95_ms` and `errors` of 1000 answers failed.
StepResult step_at(std::int64_t users, double p95_ms, std::int64_t errors = 0, const std::string& kind = "500") {
  StepResult s;
  s.users = users;
  s.seconds = 60;
  ActionResult& list = s.actions["list"];
  list.ok = 1000 - errors;
  if (errors > 0) list.errors[kind] = errors;
  list.latency.record(static_cast<std::int64_t>(p95_ms * 1000), 1000);
  s.overall = list.latency;
  s.requests = 1000;
  s.sockets_wanted = s.sockets_connected = users;
  s.events_expected = s.events_delivered = 10;
  s.event_delivery.record(static_cast<std::int64_t>(p95_ms * 500), 10);
  s.server = {true, 1.0, 200.0 * 1024 * 1024, 0, 0, 3, 0, 1000, 0};
  s.generator = {0.5, 2, false, 65536};
  return s;
}

RunResults run_with(std::vector<StepResult> steps) {
  RunResults r;
  r.url = "http://lms.test:8080";
  r.started_at = "2024-05-01T10:00:00Z";
  r.scenario_json = R"({"weights":{"list":35,"search":15,"import":0},"thinkTimeMs":{"mean":9000},"teamSize":50,"sockets":true})";
  r.workers = 2;
  r.accounts = 500;
  r.steps = std::move(steps);
  return r;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

bool contains(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

const ServiceLevel kLevel{};  // p95 under 100 ms, errors under 1 %
constexpr int kCores = 4;

TEST(StatusOf, Boundaries) {
  EXPECT_EQ(status_of(0), "Excellent");
  EXPECT_EQ(status_of(99.9), "Excellent");
  EXPECT_EQ(status_of(100), "Very Good");
  EXPECT_EQ(status_of(199.9), "Very Good");
  EXPECT_EQ(status_of(200), "Good");
  EXPECT_EQ(status_of(399.9), "Good");
  EXPECT_EQ(status_of(400), "Moderate");
  EXPECT_EQ(status_of(599.9), "Moderate");
  EXPECT_EQ(status_of(600), "Heavy");
  EXPECT_EQ(status_of(60000), "Heavy");
}

TEST(Meets, LatencyAndErrors) {
  EXPECT_TRUE(meets(step_at(10, 50), kLevel));
  EXPECT_TRUE(meets(step_at(10, 50, 9), kLevel));    // 0.9 %
  EXPECT_FALSE(meets(step_at(10, 50, 10), kLevel));  // 1 % is not under 1 %
  EXPECT_FALSE(meets(step_at(10, 50, 30), kLevel));
  EXPECT_FALSE(meets(step_at(10, 150), kLevel));
  EXPECT_TRUE(meets(step_at(10, 150), ServiceLevel{200, 0.01}));
  EXPECT_TRUE(meets(step_at(10, 50, 30), ServiceLevel{100, 0.05}));
  const StepResult nothing_answered;
  EXPECT_FALSE(meets(nothing_answered, kLevel));
}

TEST(CapacityOf, LargestMeetingStepWithAnUnsaturatedGenerator) {
  StepResult saturated = step_at(300, 50);
  saturated.generator.saturated = true;
  const RunResults r = run_with({step_at(100, 40), step_at(200, 60), saturated, step_at(400, 250)});
  EXPECT_EQ(capacity_of(r, kLevel), 200);
  EXPECT_EQ(capacity_of(run_with({step_at(100, 150)}), kLevel), 0);
  EXPECT_EQ(capacity_of(run_with({}), kLevel), 0);
}

TEST(CapacityOf, OpenModelCountsTheRate) {
  StepResult a = step_at(0, 40), b = step_at(0, 80), c = step_at(0, 300);
  a.rate = 50, b.rate = 100, c.rate = 200;
  RunResults r = run_with({a, b, c});
  r.model = "open";
  EXPECT_EQ(capacity_of(r, kLevel), 100);
}

TEST(BottleneckOf, EachRule) {
  EXPECT_EQ(bottleneck_of(step_at(100, 50), kLevel, kCores), "none observed");

  StepResult s = step_at(100, 50);
  s.generator.saturated = true;
  s.server.cpu_cores = 4;  // the generator is blamed first: its limit hides the server's
  EXPECT_EQ(bottleneck_of(s, kLevel, kCores), "generator");

  s = step_at(100, 50);
  s.server.cpu_cores = 3.6;
  EXPECT_EQ(bottleneck_of(s, kLevel, kCores), "CPU");
  s.server.cpu_cores = 3.5;
  EXPECT_EQ(bottleneck_of(s, kLevel, kCores), "none observed");
  s.server.cpu_cores = 3.6;
  EXPECT_EQ(bottleneck_of(s, kLevel, 0), "none observed");  // unknown core count

  s = step_at(100, 50, 5, "connect");
  EXPECT_EQ(bottleneck_of(s, kLevel, kCores), "descriptors");
  s = step_at(100, 50);
  s.sockets_connected = 90;
  EXPECT_EQ(bottleneck_of(s, kLevel, kCores), "descriptors");

  s = step_at(100, 50);
  s.server.write_queue_max = 101;
  EXPECT_EQ(bottleneck_of(s, kLevel, kCores), "database writer");
  s.server.write_queue_max = 100;
  EXPECT_EQ(bottleneck_of(s, kLevel, kCores), "none observed");

  s = step_at(100, 150);
  s.server.reads_waited = 12;
  EXPECT_EQ(bottleneck_of(s, kLevel, kCores), "database readers");
  s = step_at(100, 50);
  s.server.reads_waited = 12;  // waits that did not cost the level are not the limit
  EXPECT_EQ(bottleneck_of(s, kLevel, kCores), "none observed");

  s = step_at(100, 50);
  s.events_delivered = 9;
  EXPECT_EQ(bottleneck_of(s, kLevel, kCores), "event fan-out");
  s = step_at(100, 50);
  s.event_delivery.record(150'000, 100);
  EXPECT_EQ(bottleneck_of(s, kLevel, kCores), "event fan-out");

  s = step_at(100, 50, 5, "429");
  EXPECT_EQ(bottleneck_of(s, kLevel, kCores), "rate limit");
}

TEST(RecommendationOf, OneSentencePerStatusAndTheExceptions) {
  EXPECT_NE(recommendation_of(step_at(1, 50), kLevel), recommendation_of(step_at(1, 150), kLevel));
  EXPECT_NE(recommendation_of(step_at(1, 250), kLevel), recommendation_of(step_at(1, 450), kLevel));
  EXPECT_NE(recommendation_of(step_at(1, 450), kLevel), recommendation_of(step_at(1, 900), kLevel));
  EXPECT_TRUE(contains(recommendation_of(step_at(1, 50, 50), kLevel), "errors"));
  StepResult s = step_at(1, 50);
  s.generator.saturated = true;
  EXPECT_TRUE(contains(recommendation_of(s, kLevel), "not a server figure"));
}

RunResults three_steps() {
  StepResult saturated = step_at(400, 90);
  saturated.generator.saturated = true;
  saturated.generator.schedule_lag_p99_ms = 250;
  return run_with({step_at(200, 150), step_at(100, 50), step_at(300, 450), saturated});
}

TEST(CapacityMarkdown, TableVerdictAndDetails) {
  const std::string md = capacity_markdown(three_steps(), kLevel, kCores);
  EXPECT_TRUE(contains(md, "| users | status | p95 | recommendation |"));
  EXPECT_TRUE(contains(md, "| 100 | Excellent | 50.0 ms |"));
  EXPECT_TRUE(contains(md, "| 200 | Very Good | 150.0 ms |"));
  EXPECT_TRUE(contains(md, "| 300 | Moderate | 450.0 ms |"));
  EXPECT_TRUE(contains(md, "| 400 | Excellent | 90.0 ms | Generator saturated: not a server figure."));
  EXPECT_LT(md.find("| 100 |"), md.find("| 200 |"));  // ordered by users
  EXPECT_TRUE(contains(md, "## Verdict"));
  EXPECT_TRUE(contains(md, "This server carries 100 users at p95 under 100 ms with errors under 1 %."));
  EXPECT_TRUE(contains(md, "Bottleneck observed at the highest step (400 users): generator"));
  EXPECT_TRUE(contains(md, "| generator saturated: not a server figure |"));
  EXPECT_TRUE(contains(md, "p99.9 (ms)"));
  EXPECT_TRUE(contains(md, "## Actions at the highest step (400 users)"));
  EXPECT_TRUE(contains(md, "| list | 1000 |"));
  EXPECT_TRUE(contains(md, "http://lms.test:8080"));
  EXPECT_TRUE(contains(md, "weights list 35, search 15; think time 9000 ms on average; teams of 50"));
}

TEST(CapacityMarkdown, OpenModelAndNoStepMeetingTheLevel) {
  StepResult a = step_at(0, 300), b = step_at(0, 700);
  a.rate = 5, b.rate = 10.5;
  RunResults r = run_with({a, b});
  r.model = "open";
  const std::string md = capacity_markdown(r, kLevel, kCores);
  EXPECT_TRUE(contains(md, "| rate (req/s) | status | p95 | recommendation |"));
  EXPECT_TRUE(contains(md, "| 10.5 | Heavy |"));
  EXPECT_TRUE(contains(md, "No step met the level (p95 under 100 ms with errors under 1 %)."));
  EXPECT_TRUE(contains(md, "highest step (10.5 req/s)"));
}

TEST(CapacityMarkdown, NoSteps) {
  const std::string md = capacity_markdown(run_with({}), kLevel, kCores);
  EXPECT_TRUE(contains(md, "no completed step"));
  EXPECT_FALSE(contains(md, "## Actions"));
}

TEST(CapacityMarkdown, EscapesTableCells) {
  StepResult s = step_at(10, 50, 3, "bad|kind");
  const std::string md = capacity_markdown(run_with({s}), kLevel, kCores);
  EXPECT_TRUE(contains(md, "bad\\|kind: 3"));
}

TEST(CapacityHtml, FourChartsNothingExternalNoScript) {
  const std::string html = capacity_html(three_steps(), kLevel, kCores);
  EXPECT_EQ(occurrences(html, "<svg"), 4u);
  EXPECT_FALSE(contains(html, "http://"));
  EXPECT_FALSE(contains(html, "https://"));
  EXPECT_FALSE(contains(html, "<script"));
  EXPECT_FALSE(contains(html, "url("));
  EXPECT_TRUE(contains(html, "<!DOCTYPE html>"));
  EXPECT_TRUE(contains(html, "<style>"));
  EXPECT_TRUE(contains(html, "Latency percentiles"));
  EXPECT_TRUE(contains(html, "Throughput"));
  EXPECT_TRUE(contains(html, "Server CPU and memory"));
  EXPECT_TRUE(contains(html, "Event delivery latency"));
  EXPECT_TRUE(contains(html, "<td>Very Good</td>"));
  EXPECT_TRUE(contains(html, "This server carries 100 users"));
  EXPECT_TRUE(contains(html, "Hollow markers"));
  EXPECT_TRUE(contains(html, "<polyline"));
  EXPECT_TRUE(contains(html, "</html>"));
}

TEST(CapacityHtml, EscapesTheUrl) {
  RunResults r = three_steps();
  r.url = "http://lms.test/?a=<b>&c=\"d\"";
  const std::string html = capacity_html(r, kLevel, kCores);
  EXPECT_TRUE(contains(html, "lms.test/?a=&lt;b&gt;&amp;c=&quot;d&quot;"));
  EXPECT_FALSE(contains(html, "<b>"));
  EXPECT_FALSE(contains(html, "http://"));
}

TEST(CapacityHtml, OneStepOrNoneGetsASentenceInsteadOfCharts) {
  const std::string one = capacity_html(run_with({step_at(100, 50)}), kLevel, kCores);
  EXPECT_EQ(occurrences(one, "<svg"), 0u);
  EXPECT_TRUE(contains(one, "single step"));
  EXPECT_TRUE(contains(one, "<td>Excellent</td>"));

  const std::string none = capacity_html(run_with({}), kLevel, kCores);
  EXPECT_EQ(occurrences(none, "<svg"), 0u);
  EXPECT_TRUE(contains(none, "no completed step"));
}

TEST(CapacityHtml, ChartsWithoutDataBecomeSentences) {
  RunResults r = run_with({step_at(100, 50), step_at(200, 80)});
  for (auto& s : r.steps) {
    s.server.sampled = false;
    s.event_delivery.reset();
  }
  const std::string html = capacity_html(r, kLevel, kCores);
  EXPECT_EQ(occurrences(html, "<svg"), 2u);
  EXPECT_TRUE(contains(html, "not sampled"));
  EXPECT_TRUE(contains(html, "No event delivery was measured"));
}

}  // namespace
}  // namespace lms::load

// Tests of results.h: the results.json round trip, its errors on malformed input, the error
// totals of a step, and the merge of runs made on several machines.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <functional>
#include <limits>
#include <stdexcept>
#include <string>

#include "results.h"

namespace lms::load {
namespace {

Histogram histogram_of(std::int64_t base_us, std::int64_t count) {
  Histogram h;
  for (std::int64_t i = 0; i < count; ++i) h.record(base_us + i * 37);
  return h;
}

ActionResult action_of(std::int64_t base_us, std::int64_t ok, std::map<std::string, std::int64_t> errors) {
  ActionResult a;
  a.latency = histogram_of(base_us, ok);
  a.ok = ok;
  a.errors = std::move(errors);
  return a;
}

StepResult step_of(std::int64_t users, std::int64_t base_us) {
  StepResult s;
  s.users = users;
  s.seconds = 60.5;
  s.actions["list"] = action_of(base_us, 40, {{"429", 2}});
  s.actions["create"] = action_of(base_us * 2, 10, {{"timeout", 1}, {"500", 3}});
  s.overall = histogram_of(base_us, 50);
  s.requests = 56;
  s.sockets_wanted = users;
  s.sockets_connected = users - 1;
  s.event_delivery = histogram_of(base_us / 2, 20);
  s.events_expected = 25;
  s.events_delivered = 20;
  s.server = {true, 1.25, 123456789.0, 42, 40, 17, 3, 5000, 12.5};
  s.generator = {0.75, 3.5, false, 65536};
  return s;
}

RunResults run_of(std::initializer_list<std::int64_t> users) {
  RunResults r;
  r.url = "http://lms.test:8080";
  r.started_at = "2024-05-01T10:00:00Z";
  r.http_mode = "pooled";
  r.scenario_json = R"({"teamSize":50,"sockets":true})";
  r.workers = 4;
  r.accounts = 300;
  r.interrupted = true;
  for (auto u : users) r.steps.push_back(step_of(u, 1000 * u));
  return r;
}

void expect_same_histogram(const Histogram& a, const Histogram& b) {
  EXPECT_EQ(a.to_string(), b.to_string());
  EXPECT_EQ(a.count(), b.count());
}

void expect_same_step(const StepResult& a, const StepResult& b) {
  EXPECT_EQ(a.users, b.users);
  EXPECT_EQ(a.rate, b.rate);
  EXPECT_EQ(a.seconds, b.seconds);
  ASSERT_EQ(a.actions.size(), b.actions.size());
  for (const auto& [name, action] : a.actions) {
    ASSERT_TRUE(b.actions.count(name)) << name;
    const ActionResult& other = b.actions.at(name);
    expect_same_histogram(action.latency, other.latency);
    EXPECT_EQ(action.ok, other.ok);
    EXPECT_EQ(action.errors, other.errors);
  }
  expect_same_histogram(a.overall, b.overall);
  EXPECT_EQ(a.requests, b.requests);
  EXPECT_EQ(a.sockets_wanted, b.sockets_wanted);
  EXPECT_EQ(a.sockets_connected, b.sockets_connected);
  expect_same_histogram(a.event_delivery, b.event_delivery);
  EXPECT_EQ(a.events_expected, b.events_expected);
  EXPECT_EQ(a.events_delivered, b.events_delivered);
  EXPECT_EQ(a.server.sampled, b.server.sampled);
  EXPECT_EQ(a.server.cpu_cores, b.server.cpu_cores);
  EXPECT_EQ(a.server.rss_bytes, b.server.rss_bytes);
  EXPECT_EQ(a.server.http_connections, b.server.http_connections);
  EXPECT_EQ(a.server.realtime_connections, b.server.realtime_connections);
  EXPECT_EQ(a.server.write_queue_max, b.server.write_queue_max);
  EXPECT_EQ(a.server.reads_waited, b.server.reads_waited);
  EXPECT_EQ(a.server.requests, b.server.requests);
  EXPECT_EQ(a.server.max_lag_ms, b.server.max_lag_ms);
  EXPECT_EQ(a.generator.cpu_cores, b.generator.cpu_cores);
  EXPECT_EQ(a.generator.schedule_lag_p99_ms, b.generator.schedule_lag_p99_ms);
  EXPECT_EQ(a.generator.saturated, b.generator.saturated);
  EXPECT_EQ(a.generator.descriptors_limit, b.generator.descriptors_limit);
}

TEST(ResultsJson, RoundTripKeepsEverything) {
  RunResults run = run_of({100, 200, 400});
  run.steps[2].generator.saturated = true;
  run.steps[1].server.sampled = false;
  const std::string json = results_to_json(run);
  const RunResults back = results_from_json(json);
  EXPECT_EQ(back.tool_version, run.tool_version);
  EXPECT_EQ(back.url, run.url);
  EXPECT_EQ(back.started_at, run.started_at);
  EXPECT_EQ(back.model, run.model);
  EXPECT_EQ(back.http_mode, run.http_mode);
  EXPECT_EQ(back.scenario_json, run.scenario_json);
  EXPECT_EQ(back.workers, run.workers);
  EXPECT_EQ(back.accounts, run.accounts);
  EXPECT_EQ(back.interrupted, run.interrupted);
  ASSERT_EQ(back.steps.size(), run.steps.size());
  for (std::size_t i = 0; i < run.steps.size(); ++i) expect_same_step(back.steps[i], run.steps[i]);
  EXPECT_EQ(results_to_json(back), json);  // stable: writing what was read gives the same text
}

TEST(ResultsJson, RoundTripOfOpenModelAndEmptyRun) {
  RunResults open;
  open.model = "open";
  StepResult step;
  step.rate = 12.75;
  open.steps.push_back(step);
  const RunResults back = results_from_json(results_to_json(open));
  EXPECT_EQ(back.model, "open");
  ASSERT_EQ(back.steps.size(), 1u);
  EXPECT_EQ(back.steps[0].rate, 12.75);
  EXPECT_TRUE(back.steps[0].actions.empty());

  const RunResults empty = results_from_json(results_to_json(RunResults{}));
  EXPECT_TRUE(empty.steps.empty());
  EXPECT_EQ(empty.workers, 1);
}

TEST(ResultsJson, NonFiniteNumbersAreWrittenAsZero) {
  RunResults run = run_of({10});
  run.steps[0].server.cpu_cores = std::numeric_limits<double>::quiet_NaN();
  const RunResults back = results_from_json(results_to_json(run));
  EXPECT_EQ(back.steps[0].server.cpu_cores, 0);
}

// Parses the JSON of a valid run, lets `edit` break it, and returns the broken text.
std::string edited(const std::function<void(rapidjson::Document&)>& edit) {
  rapidjson::Document doc;
  doc.Parse(results_to_json(run_of({100, 200})).c_str());
  edit(doc);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  return buffer.GetString();
}

// Expects results_from_json to throw std::invalid_argument whose message names `member`.
void expect_rejected(const std::string& json, const std::string& member) {
  try {
    results_from_json(json);
    ADD_FAILURE() << "accepted: " << json.substr(0, 200);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(member), std::string::npos) << e.what();
  }
}

TEST(ResultsJson, RejectsTextThatIsNotAnObject) {
  expect_rejected("", "not valid JSON");
  expect_rejected("{\"url\":", "not valid JSON");
  expect_rejected("[]", "must be an object");
  expect_rejected("42", "must be an object");
  expect_rejected("\"results\"", "must be an object");
}

TEST(ResultsJson, RejectsMissingMembers) {
  expect_rejected(edited([](auto& d) { d.RemoveMember("url"); }), "url: missing");
  expect_rejected(edited([](auto& d) { d.RemoveMember("steps"); }), "steps: missing");
  expect_rejected(edited([](auto& d) { d["steps"][1].RemoveMember("overall"); }), "steps[1].overall: missing");
  expect_rejected(edited([](auto& d) { d["steps"][0]["server"].RemoveMember("cpuCores"); }),
                  "steps[0].server.cpuCores: missing");
  expect_rejected(edited([](auto& d) { d["steps"][0]["actions"]["list"].RemoveMember("ok"); }),
                  "steps[0].actions.list.ok: missing");
  expect_rejected(edited([](auto& d) { d["steps"][0].RemoveMember("generator"); }), "steps[0].generator: missing");
}

TEST(ResultsJson, RejectsWrongTypes) {
  expect_rejected(edited([](auto& d) { d["workers"].SetString("4"); }), "workers: must be an integer");
  expect_rejected(edited([](auto& d) { d["workers"].SetInt(0); }), "workers: must be between");
  expect_rejected(edited([](auto& d) { d["url"].SetInt(1); }), "url: must be a string");
  expect_rejected(edited([](auto& d) { d["steps"].SetObject(); }), "steps: must be an array");
  expect_rejected(edited([](auto& d) { d["steps"][0].SetArray(); }), "steps[0]: must be an object");
  expect_rejected(edited([](auto& d) { d["steps"][0]["users"].SetDouble(1.5); }), "steps[0].users: must be an integer");
  expect_rejected(edited([](auto& d) { d["steps"][1]["seconds"].SetString("60"); }),
                  "steps[1].seconds: must be a number");
  expect_rejected(edited([](auto& d) { d["interrupted"].SetInt(1); }), "interrupted: must be true or false");
  expect_rejected(edited([](auto& d) { d["steps"][0]["actions"]["list"]["errors"]["429"].SetString("2"); }),
                  "steps[0].actions.list.errors.429: must be an integer");
  expect_rejected(edited([](auto& d) { d["steps"][0]["actions"].SetArray(); }), "steps[0].actions: must be an object");
  expect_rejected(edited([](auto& d) { d["model"].SetString("half-open"); }), "model: must be");
}

TEST(ResultsJson, RejectsBadHistogramText) {
  expect_rejected(edited([](auto& d) { d["steps"][0]["overall"].SetString("nonsense"); }),
                  "steps[0].overall: bad histogram");
  expect_rejected(edited([](auto& d) { d["steps"][1]["eventDelivery"].SetString("v1;x;y"); }),
                  "steps[1].eventDelivery: bad histogram");
  expect_rejected(edited([](auto& d) { d["steps"][0]["actions"]["create"]["latency"].SetInt(3); }),
                  "steps[0].actions.create.latency: must be a string");
}

TEST(StepResult, ErrorTotalsAndRate) {
  StepResult s;
  EXPECT_EQ(s.errors_total(), 0);
  EXPECT_EQ(s.error_rate(), 0);
  s.actions["list"].ok = 90;
  s.actions["list"].errors = {{"429", 4}, {"timeout", 1}};
  s.actions["note"].ok = 5;
  s.actions["note"].errors = {{"500", 0}};
  EXPECT_EQ(s.errors_total(), 5);
  EXPECT_DOUBLE_EQ(s.error_rate(), 0.05);
  s.actions["list"].ok = 0;
  s.actions["note"].ok = 0;
  EXPECT_DOUBLE_EQ(s.error_rate(), 1.0);
}

TEST(MergeResults, SameLevelsAddAndOthersAreAppendedInOrder) {
  RunResults a = run_of({100, 200});
  RunResults b = run_of({200, 50});
  b.steps[0].generator.schedule_lag_p99_ms = 80;
  b.steps[0].generator.saturated = true;
  b.steps[0].server.cpu_cores = 9;
  b.steps[0].actions["search"] = action_of(5000, 7, {{"connect", 2}});
  const StepResult a200 = a.steps[1];
  const StepResult b200 = b.steps[0];

  merge_results(a, b);

  ASSERT_EQ(a.steps.size(), 3u);
  EXPECT_EQ(a.steps[0].users, 50);
  EXPECT_EQ(a.steps[1].users, 100);
  EXPECT_EQ(a.steps[2].users, 200);
  const StepResult& m = a.steps[2];
  EXPECT_EQ(m.overall.count(), a200.overall.count() + b200.overall.count());
  EXPECT_EQ(m.actions.at("list").latency.count(), 80);
  EXPECT_EQ(m.actions.at("list").ok, 80);
  EXPECT_EQ(m.actions.at("list").errors.at("429"), 4);
  EXPECT_EQ(m.actions.at("create").errors.at("500"), 6);
  EXPECT_EQ(m.actions.at("search").ok, 7);
  EXPECT_EQ(m.actions.at("search").errors.at("connect"), 2);
  EXPECT_EQ(m.requests, 112);
  EXPECT_EQ(m.sockets_wanted, 400);
  EXPECT_EQ(m.sockets_connected, 398);
  EXPECT_EQ(m.event_delivery.count(), 40);
  EXPECT_EQ(m.events_expected, 50);
  EXPECT_EQ(m.events_delivered, 40);
  EXPECT_EQ(m.seconds, 60.5);
  EXPECT_EQ(m.server.cpu_cores, 1.25);  // kept from `into`, which had a sample
  EXPECT_DOUBLE_EQ(m.generator.cpu_cores, 1.5);
  EXPECT_EQ(m.generator.schedule_lag_p99_ms, 80);
  EXPECT_TRUE(m.generator.saturated);
  EXPECT_EQ(a.workers, 8);
  EXPECT_EQ(a.accounts, 600);
}

TEST(MergeResults, ServerSampleTakenWhenIntoHasNone) {
  RunResults a = run_of({100});
  RunResults b = run_of({100});
  a.steps[0].server = {};
  b.steps[0].server.cpu_cores = 3.5;
  merge_results(a, b);
  EXPECT_TRUE(a.steps[0].server.sampled);
  EXPECT_EQ(a.steps[0].server.cpu_cores, 3.5);
}

TEST(MergeResults, IntoABlankRunAdoptsTheOther) {
  RunResults blank;
  RunResults b = run_of({300, 100});
  b.model = "closed";
  merge_results(blank, b);
  EXPECT_EQ(blank.url, b.url);
  EXPECT_EQ(blank.workers, 4);
  ASSERT_EQ(blank.steps.size(), 2u);
  EXPECT_EQ(blank.steps[0].users, 100);
  EXPECT_EQ(blank.steps[1].users, 300);
}

TEST(MergeResults, KeepsTheEarliestStart) {
  RunResults a = run_of({100});
  RunResults b = run_of({200});
  b.started_at = "2024-05-01T09:59:58Z";
  merge_results(a, b);
  EXPECT_EQ(a.started_at, "2024-05-01T09:59:58Z");
}

TEST(MergeResults, OpenModelMergesByRate) {
  RunResults a, b;
  a.model = b.model = "open";
  a.url = b.url = "http://x";
  StepResult s;
  s.rate = 20;
  s.overall.record(1000);
  a.steps.push_back(s);
  s.rate = 10;
  b.steps.push_back(s);
  s.rate = 20;
  b.steps.push_back(s);
  merge_results(a, b);
  ASSERT_EQ(a.steps.size(), 2u);
  EXPECT_EQ(a.steps[0].rate, 10);
  EXPECT_EQ(a.steps[1].rate, 20);
  EXPECT_EQ(a.steps[1].overall.count(), 2);
}

TEST(MergeResults, RefusesRunsThatCannotBeCombined) {
  RunResults a = run_of({100});
  RunResults b = run_of({100});
  b.model = "open";
  EXPECT_THROW(merge_results(a, b), std::invalid_argument);
  b = run_of({100});
  b.http_mode = "per-user";
  EXPECT_THROW(merge_results(a, b), std::invalid_argument);

  b = run_of({100});
  b.steps[0].overall = Histogram(1000);
  const std::string before = results_to_json(a);
  EXPECT_THROW(merge_results(a, b), std::invalid_argument);
  EXPECT_EQ(results_to_json(a), before);  // nothing half-merged
}

}  // namespace
}  // namespace lms::load

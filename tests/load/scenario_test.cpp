// The load tester's scenario file: defaults, every member, every rejected input (with the
// member named in the error), the JSON round trip and the request rate a scenario implies.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "scenario.h"

namespace lms::load {
namespace {

void expect_same(const Scenario& a, const Scenario& b) {
  for (std::size_t i = 0; i < kActions; ++i) {
    EXPECT_EQ(a.weights[i], b.weights[i]) << action_name(static_cast<Action>(i));
  }
  EXPECT_EQ(a.think_mean_ms, b.think_mean_ms);
  EXPECT_EQ(a.think_min_ms, b.think_min_ms);
  EXPECT_EQ(a.think_max_ms, b.think_max_ms);
  EXPECT_EQ(a.manager_share, b.manager_share);
  EXPECT_EQ(a.team_size, b.team_size);
  EXPECT_EQ(a.leads_per_team, b.leads_per_team);
  EXPECT_EQ(a.import_rows, b.import_rows);
  EXPECT_EQ(a.page_size, b.page_size);
  EXPECT_EQ(a.http, b.http);
  EXPECT_EQ(a.pool_size, b.pool_size);
  EXPECT_EQ(a.sockets, b.sockets);
}

Scenario parse_ok(const std::string& json) {
  std::string error = "stale";
  const std::optional<Scenario> scenario = parse_scenario(json, error);
  EXPECT_TRUE(scenario.has_value()) << json << " → " << error;
  EXPECT_EQ(error, "") << json;
  return scenario.value_or(Scenario{});
}

// Expects `json` to be rejected with an error that starts with `prefix` (the member's name).
void expect_rejected(const std::string& json, const std::string& prefix) {
  std::string error;
  const std::optional<Scenario> scenario = parse_scenario(json, error);
  EXPECT_FALSE(scenario.has_value()) << json;
  EXPECT_EQ(error.rfind(prefix, 0), 0u) << json << " → \"" << error << "\", expected it to start with \"" << prefix << '"';
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

TEST(Scenario, ActionNames) {
  const std::vector<std::string> names = {"list", "search", "open", "status", "note", "create", "count", "import"};
  ASSERT_EQ(names.size(), kActions);
  for (std::size_t i = 0; i < kActions; ++i) EXPECT_EQ(action_name(static_cast<Action>(i)), names[i]);
}

TEST(Scenario, EmptyObjectIsTheDefault) {
  const Scenario parsed = parse_ok("{}");
  expect_same(parsed, Scenario{});
  EXPECT_EQ(parsed.weights[static_cast<std::size_t>(Action::list)], 35);
  EXPECT_EQ(parsed.weights[static_cast<std::size_t>(Action::import)], 0.2);
  EXPECT_EQ(parsed.think_mean_ms, 9000);
  EXPECT_EQ(parsed.team_size, 50);
  EXPECT_EQ(parsed.http, HttpMode::per_user);
  EXPECT_TRUE(parsed.sockets);
  expect_same(parse_ok(" \n{ }\t"), Scenario{});
  expect_same(parse_ok(R"({"weights": {}, "thinkTimeMs": {}})"), Scenario{});
}

TEST(Scenario, EveryMemberIsRead) {
  const Scenario s = parse_ok(R"({
    "weights": {"list": 1, "search": 2, "open": 3, "status": 4, "note": 5, "create": 6, "count": 7, "import": 8.5},
    "thinkTimeMs": {"mean": 1500, "min": 100, "max": 20000},
    "managerShare": 0.25, "teamSize": 12, "leadsPerTeam": 345, "importRows": 67, "pageSize": 89,
    "http": "pooled", "poolSize": 16, "sockets": false})");
  const std::array<double, kActions> weights{1, 2, 3, 4, 5, 6, 7, 8.5};
  EXPECT_EQ(s.weights, weights);
  EXPECT_EQ(s.think_mean_ms, 1500);
  EXPECT_EQ(s.think_min_ms, 100);
  EXPECT_EQ(s.think_max_ms, 20000);
  EXPECT_EQ(s.manager_share, 0.25);
  EXPECT_EQ(s.team_size, 12);
  EXPECT_EQ(s.leads_per_team, 345);
  EXPECT_EQ(s.import_rows, 67);
  EXPECT_EQ(s.page_size, 89);
  EXPECT_EQ(s.http, HttpMode::pooled);
  EXPECT_EQ(s.pool_size, 16);
  EXPECT_FALSE(s.sockets);
  EXPECT_EQ(parse_ok(R"({"http": "per-user"})").http, HttpMode::per_user);
}

TEST(Scenario, MembersLeftOutKeepTheirDefaults) {
  const Scenario s = parse_ok(R"({"weights": {"import": 0}, "thinkTimeMs": {"max": 30000}})");
  Scenario expected;
  expected.weights[static_cast<std::size_t>(Action::import)] = 0;
  expected.think_max_ms = 30000;
  expect_same(s, expected);
}

TEST(Scenario, BoundariesAreAccepted) {
  const Scenario low = parse_ok(R"({"weights": {"list": 0, "search": 0, "open": 0, "status": 0, "note": 0,
    "create": 0, "count": 0, "import": 1e-9}, "thinkTimeMs": {"mean": 0.001, "min": 0, "max": 0.001},
    "managerShare": 0, "teamSize": 1, "leadsPerTeam": 0, "importRows": 1, "pageSize": 1, "poolSize": 1})");
  EXPECT_EQ(low.team_size, 1);
  EXPECT_EQ(low.think_min_ms, 0);
  const Scenario high = parse_ok(R"({"thinkTimeMs": {"mean": 500, "min": 500, "max": 500}, "managerShare": 1,
    "teamSize": 100000, "leadsPerTeam": 10000000, "importRows": 10000, "pageSize": 200, "poolSize": 100000})");
  EXPECT_EQ(high.manager_share, 1);
  EXPECT_EQ(high.leads_per_team, 10'000'000);
  EXPECT_EQ(high.pool_size, 100'000);
}

TEST(Scenario, RejectsWrongWeights) {
  expect_rejected(R"({"weights": []})", "weights: must be an object");
  expect_rejected(R"({"weights": 5})", "weights: must be an object");
  expect_rejected(R"({"weights": null})", "weights: must be an object");
  for (std::size_t i = 0; i < kActions; ++i) {
    const std::string name(action_name(static_cast<Action>(i)));
    for (const char* bad : {"-1", "-0.001", "\"5\"", "true", "null", "{}", "[]"}) {
      expect_rejected(R"({"weights": {")" + name + "\": " + bad + "}}", "weights." + name + ": must be a number >= 0");
    }
  }
  expect_rejected(R"({"weights": {"list": 0, "search": 0, "open": 0, "status": 0, "note": 0, "create": 0,
    "count": 0, "import": 0}})", "weights: at least one weight must be > 0");
  expect_rejected(R"({"weights": {"lsit": 35}})", "weights: unknown member \"lsit\"");
  expect_rejected(R"({"weights": {"List": 35}})", "weights: unknown member \"List\"");
  expect_rejected(R"({"weights": {"list": 1, "list": 2}})", "weights.list: appears more than once");
}

TEST(Scenario, RejectsWrongThinkTime) {
  expect_rejected(R"({"thinkTimeMs": 9000})", "thinkTimeMs: must be an object");
  expect_rejected(R"({"thinkTimeMs": [9000]})", "thinkTimeMs: must be an object");
  for (const char* bad : {"0", "-1", "\"9000\"", "null", "false"}) {
    expect_rejected(std::string(R"({"thinkTimeMs": {"mean": )") + bad + "}}", "thinkTimeMs.mean: must be a number > 0");
  }
  for (const char* bad : {"-1", "\"500\"", "null"}) {
    expect_rejected(std::string(R"({"thinkTimeMs": {"min": )") + bad + "}}", "thinkTimeMs.min: must be a number >= 0");
    expect_rejected(std::string(R"({"thinkTimeMs": {"max": )") + bad + "}}", "thinkTimeMs.max: must be a number >= 0");
  }
  expect_rejected(R"({"thinkTimeMs": {"mean": 100}})", "thinkTimeMs.min: must be <= thinkTimeMs.mean");
  expect_rejected(R"({"thinkTimeMs": {"mean": 100, "min": 200, "max": 300}})", "thinkTimeMs.min: must be <=");
  expect_rejected(R"({"thinkTimeMs": {"mean": 90000}})", "thinkTimeMs.max: must be >= thinkTimeMs.mean");
  expect_rejected(R"({"thinkTimeMs": {"max": 0}})", "thinkTimeMs.max: must be >=");
  expect_rejected(R"({"thinkTimeMs": {"avg": 9000}})", "thinkTimeMs: unknown member \"avg\"");
  expect_rejected(R"({"thinkTimeMs": {"mean": 9000, "mean": 8000}})", "thinkTimeMs.mean: appears more than once");
}

TEST(Scenario, RejectsWrongScalars) {
  for (const char* bad : {"-0.1", "1.1", "2", "\"0.1\"", "true", "null", "[]"}) {
    expect_rejected(std::string(R"({"managerShare": )") + bad + "}", "managerShare: must be a number from 0 to 1");
  }
  struct Bound {
    const char* member;
    std::vector<const char*> bad;
    const char* message;
  };
  const std::vector<Bound> integers = {
      {"teamSize", {"0", "-1", "100001", "1.5", "50.0", "5e1", "\"50\"", "null", "true", "9999999999999"},
       "teamSize: must be an integer from 1 to 100000"},
      {"leadsPerTeam", {"-1", "10000001", "0.5", "\"1000\"", "{}", "18446744073709551615"},
       "leadsPerTeam: must be an integer from 0 to 10000000"},
      {"importRows", {"0", "10001", "20.5", "\"20\"", "false"}, "importRows: must be an integer from 1 to 10000"},
      {"pageSize", {"0", "201", "-50", "\"50\"", "[50]"}, "pageSize: must be an integer from 1 to 200"},
      {"poolSize", {"0", "100001", "64.1", "\"64\"", "null"}, "poolSize: must be an integer from 1 to 100000"},
  };
  for (const Bound& bound : integers) {
    for (const char* bad : bound.bad) {
      expect_rejected(std::string("{\"") + bound.member + "\": " + bad + "}", bound.message);
    }
  }
  for (const char* bad : {"\"Pooled\"", "\"per_user\"", "\"\"", "1", "null", "true", "[\"pooled\"]"}) {
    expect_rejected(std::string(R"({"http": )") + bad + "}", "http: must be \"per-user\" or \"pooled\"");
  }
  for (const char* bad : {"1", "0", "\"true\"", "null", "{}"}) {
    expect_rejected(std::string(R"({"sockets": )") + bad + "}", "sockets: must be true or false");
  }
}

TEST(Scenario, RejectsUnknownAndRepeatedTopLevelMembers) {
  expect_rejected(R"({"teamsize": 50})", "scenario: unknown member \"teamsize\"");
  expect_rejected(R"({"teamSize": 50, "extra": {}})", "scenario: unknown member \"extra\"");
  expect_rejected(R"({"": 1})", "scenario: unknown member \"\"");
  expect_rejected(R"({"teamSize": 50, "teamSize": 60})", "teamSize: appears more than once");
  std::string error;
  ASSERT_FALSE(parse_scenario(R"({"thinkTime": {}})", error));
  EXPECT_NE(error.find("thinkTimeMs"), std::string::npos) << error;  // the expected names are listed
}

TEST(Scenario, RejectsANonObject) {
  for (const char* json : {"[]", "[{}]", "1", "\"{}\"", "null", "true"}) {
    expect_rejected(json, "scenario: must be a JSON object");
  }
}

TEST(Scenario, RejectsMalformedJsonWithTheOffset) {
  expect_rejected(R"({"teamSize": })", "scenario: malformed JSON at offset 13: ");
  expect_rejected("", "scenario: malformed JSON at offset 0: ");
  expect_rejected("{", "scenario: malformed JSON at offset 1: ");
  expect_rejected("{} {}", "scenario: malformed JSON at offset 3: ");
  expect_rejected("{'teamSize': 5}", "scenario: malformed JSON at offset 1: ");
  expect_rejected(R"({"teamSize": 5,})", "scenario: malformed JSON at offset 15: ");
  expect_rejected(R"({"managerShare": NaN})", "scenario: malformed JSON");
  expect_rejected(R"({"thinkTimeMs": {"mean": 1e400}})", "scenario: malformed JSON");
  expect_rejected(std::string("{\"teamSize\": 5}\0", 16), "scenario: malformed JSON at offset 15: ");
}

TEST(Scenario, RoundTripsThroughJson) {
  expect_same(parse_ok(scenario_to_json(Scenario{})), Scenario{});

  Scenario custom;
  custom.weights = {0.1, 1.0 / 3, 0, 1e-300, 5e-324, 123456789.123456789, 2.5e10, 0.2};
  custom.think_mean_ms = 9000.000000001;
  custom.think_min_ms = 0;
  custom.think_max_ms = 1e15;
  custom.manager_share = 2.0 / 3;
  custom.team_size = 100'000;
  custom.leads_per_team = 0;
  custom.import_rows = 10'000;
  custom.page_size = 1;
  custom.http = HttpMode::pooled;
  custom.pool_size = 7;
  custom.sockets = false;
  const std::string json = scenario_to_json(custom);
  expect_same(parse_ok(json), custom);
  EXPECT_EQ(scenario_to_json(parse_ok(json)), json);
}

TEST(Scenario, ToJsonRefusesNonFiniteNumbers) {
  Scenario s;
  s.think_max_ms = std::numeric_limits<double>::infinity();
  EXPECT_THROW(scenario_to_json(s), std::invalid_argument);
  s = Scenario{};
  s.weights[0] = std::nan("");
  EXPECT_THROW(scenario_to_json(s), std::invalid_argument);
}

TEST(Scenario, RequestsPerUserPerSecond) {
  const Scenario s;
  EXPECT_DOUBLE_EQ(requests_per_user_per_second(s), 1.0 / 9);
  EXPECT_NEAR(requests_per_user_per_second(s) * 15 * 60, 100, 1e-9);  // 100 per 15 minutes
  Scenario fast;
  fast.think_mean_ms = 250;
  EXPECT_DOUBLE_EQ(requests_per_user_per_second(fast), 4);
}

}  // namespace
}  // namespace lms::load

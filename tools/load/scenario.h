// The scenario of a load run: what each virtual user (a browser tab at the lead desk) does, how
// often, how users are spread over organizations, and how HTTP connections are used. Read from
// a JSON file (`--scenario FILE`); every member is optional and defaults to the documented
// default scenario (about 100 requests per user per 15 minutes, teams of 50).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lms::load {

// The actions of a virtual user, in the order of Scenario::weights.
enum class Action { list, search, open, status, note, create, count, import, kCount };
constexpr std::size_t kActions = static_cast<std::size_t>(Action::kCount);
std::string_view action_name(Action a);  // "list", "search", "open", "status", "note", "create", "count", "import"

enum class HttpMode { per_user, pooled };  // each user its own keep-alive connection, or a shared pool

struct Scenario {
  // Relative weights (need not sum to 100; at least one > 0). Defaults: list 35, search 15,
  // open 20, status 10, note 10, create 5, count 5, import 0.2 (a small CSV now and then).
  std::array<double, kActions> weights{35, 15, 20, 10, 10, 5, 5, 0.2};
  // Think time between two actions of one user: exponential with this mean (ms), clamped to
  // [think_min_ms, think_max_ms]. Default mean 9000 ms: 100 requests / 15 min per user.
  double think_mean_ms = 9000;
  double think_min_ms = 500;
  double think_max_ms = 60000;
  double manager_share = 0.1;  // share of users who are managers (the rest are agents); 0..1
  int team_size = 50;          // users per organization (one organization per team); >= 1
  int leads_per_team = 1000;   // leads `setup` creates per organization (when --leads is not given)
  int import_rows = 20;        // rows of the small CSV an `import` action uploads; 1..10000
  int page_size = 50;          // `limit` of list and search pages; 1..200
  HttpMode http = HttpMode::per_user;
  int pool_size = 64;          // connections of the shared pool (http: "pooled"); >= 1
  bool sockets = true;         // each user keeps a Socket.IO connection open
};

// Parses a scenario JSON object. Unknown members are errors (a typo must not silently run the
// default), and so are repeated members. A member left out keeps its default, inside
// "weights" and "thinkTimeMs" too (set a weight to 0 to disable an action); the relations
// (a weight > 0, min <= mean <= max) are checked on the result. Integer members must be JSON
// integers (50, not 50.0). Shape:
//   {"weights": {"list": 35, "search": 15, ...}, "thinkTimeMs": {"mean": 9000, "min": 500, "max": 60000},
//    "managerShare": 0.1, "teamSize": 50, "leadsPerTeam": 1000, "importRows": 20, "pageSize": 50,
//    "http": "per-user" | "pooled", "poolSize": 64, "sockets": true}
// On error returns nullopt and sets `error` to one clear sentence naming the member.
std::optional<Scenario> parse_scenario(std::string_view json, std::string& error);
// Serializes (for results files): parse_scenario(to_json(s)) == s for every valid s.
// Throws std::invalid_argument when a number is NaN or infinite (JSON has neither).
std::string scenario_to_json(const Scenario& s);

// Requests per user per second that the scenario produces on average (1 / mean think time,
// ignoring request latency): what `setup` compares with the server's per-user rate limit.
double requests_per_user_per_second(const Scenario& s);

}  // namespace lms::load

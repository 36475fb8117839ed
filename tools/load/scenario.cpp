// Scenario: strict parsing of the scenario JSON (every member type- and range-checked, unknown
// or repeated members rejected), its serialization, and the request rate it implies.
#include "scenario.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <set>
#include <stdexcept>

namespace lms::load {
namespace {

constexpr std::array<std::string_view, kActions> kActionNames{
    "list", "search", "open", "status", "note", "create", "count", "import"};

// Thrown inside the parser only; parse_scenario turns it into its error string.
struct ScenarioError {
  std::string message;
};

[[noreturn]] void fail(std::string_view member, std::string_view problem) {
  throw ScenarioError{std::string(member) + ": " + std::string(problem)};
}

std::string_view name_of(const rapidjson::Value& name) {
  return {name.GetString(), name.GetStringLength()};
}

std::string quoted(std::string_view name) {
  constexpr std::size_t kShown = 64;  // a runaway key must not flood the message
  return "\"" + std::string(name.substr(0, kShown)) + (name.size() > kShown ? "...\"" : "\"");
}

std::string join(std::initializer_list<std::string_view> names) {
  std::string text;
  for (std::string_view name : names) {
    if (!text.empty()) text += ", ";
    text += name;
  }
  return text;
}

std::string format_ms(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

// Walks an object's members once, rejecting repeats (RapidJSON keeps them; the first would
// silently win) so each member's handler sees it exactly once.
template <class Handler>
void for_each_member(const rapidjson::Value& object, std::string_view path, Handler&& handle) {
  std::set<std::string_view> seen;
  for (const auto& member : object.GetObject()) {
    const std::string_view name = name_of(member.name);
    const std::string full = path.empty() ? std::string(name) : std::string(path) + "." + std::string(name);
    if (!seen.insert(name).second) fail(full, "appears more than once");
    handle(name, full, member.value);
  }
}

double read_number(const rapidjson::Value& value, std::string_view member, double lowest, bool lowest_inclusive,
                   std::string_view requirement) {
  if (!value.IsNumber()) fail(member, requirement);
  const double number = value.GetDouble();
  if (!std::isfinite(number) || number < lowest || (!lowest_inclusive && number == lowest)) fail(member, requirement);
  return number;
}

int read_integer(const rapidjson::Value& value, std::string_view member, int lowest, int highest) {
  const std::string requirement = "must be an integer from " + std::to_string(lowest) + " to " + std::to_string(highest);
  if (!value.IsInt64()) fail(member, requirement);
  const std::int64_t number = value.GetInt64();
  if (number < lowest || number > highest) fail(member, requirement);
  return static_cast<int>(number);
}

void read_weights(const rapidjson::Value& value, Scenario& scenario) {
  if (!value.IsObject()) fail("weights", "must be an object");
  for_each_member(value, "weights", [&](std::string_view name, const std::string& full, const rapidjson::Value& weight) {
    for (std::size_t i = 0; i < kActions; ++i) {
      if (name == kActionNames[i]) {
        scenario.weights[i] = read_number(weight, full, 0, true, "must be a number >= 0");
        return;
      }
    }
    fail("weights", "unknown member " + quoted(name) + " (expected one of " +
                        join({"list", "search", "open", "status", "note", "create", "count", "import"}) + ")");
  });
}

void read_think_time(const rapidjson::Value& value, Scenario& scenario) {
  if (!value.IsObject()) fail("thinkTimeMs", "must be an object");
  for_each_member(value, "thinkTimeMs", [&](std::string_view name, const std::string& full, const rapidjson::Value& ms) {
    if (name == "mean") {
      scenario.think_mean_ms = read_number(ms, full, 0, false, "must be a number > 0");
    } else if (name == "min") {
      scenario.think_min_ms = read_number(ms, full, 0, true, "must be a number >= 0");
    } else if (name == "max") {
      scenario.think_max_ms = read_number(ms, full, 0, true, "must be a number >= 0");
    } else {
      fail("thinkTimeMs", "unknown member " + quoted(name) + " (expected one of mean, min, max)");
    }
  });
}

// Checks that need the whole scenario: members a file leaves out keep their defaults, so
// these relations are checked after every member has been read.
void check_relations(const Scenario& scenario) {
  bool any_positive = false;
  for (double weight : scenario.weights) any_positive = any_positive || weight > 0;
  if (!any_positive) fail("weights", "at least one weight must be > 0");
  if (scenario.think_min_ms > scenario.think_mean_ms) {
    fail("thinkTimeMs.min", "must be <= thinkTimeMs.mean (" + format_ms(scenario.think_min_ms) + " > " +
                                format_ms(scenario.think_mean_ms) + ")");
  }
  if (scenario.think_max_ms < scenario.think_mean_ms) {
    fail("thinkTimeMs.max", "must be >= thinkTimeMs.mean (" + format_ms(scenario.think_max_ms) + " < " +
                                format_ms(scenario.think_mean_ms) + ")");
  }
}

Scenario read_scenario(std::string_view json) {
  // RapidJSON reads a NUL byte as the end of the text and would ignore whatever follows it.
  if (const std::size_t nul = json.find('\0'); nul != std::string_view::npos) {
    fail("scenario", "malformed JSON at offset " + std::to_string(nul) + ": a NUL character");
  }
  rapidjson::Document document;
  // Full precision so that scenario_to_json's shortest doubles read back bit for bit.
  document.Parse<rapidjson::kParseFullPrecisionFlag>(json.data(), json.size());
  if (document.HasParseError()) {
    std::string reason = rapidjson::GetParseError_En(document.GetParseError());
    if (!reason.empty() && reason.back() == '.') reason.pop_back();
    if (!reason.empty()) reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
    fail("scenario", "malformed JSON at offset " + std::to_string(document.GetErrorOffset()) + ": " + reason);
  }
  if (!document.IsObject()) fail("scenario", "must be a JSON object");

  Scenario scenario;
  for_each_member(document, "", [&](std::string_view name, const std::string& full, const rapidjson::Value& value) {
    if (name == "weights") {
      read_weights(value, scenario);
    } else if (name == "thinkTimeMs") {
      read_think_time(value, scenario);
    } else if (name == "managerShare") {
      const char* requirement = "must be a number from 0 to 1";
      scenario.manager_share = read_number(value, full, 0, true, requirement);
      if (scenario.manager_share > 1) fail(full, requirement);
    } else if (name == "teamSize") {
      scenario.team_size = read_integer(value, full, 1, 100'000);
    } else if (name == "leadsPerTeam") {
      scenario.leads_per_team = read_integer(value, full, 0, 10'000'000);
    } else if (name == "importRows") {
      scenario.import_rows = read_integer(value, full, 1, 10'000);
    } else if (name == "pageSize") {
      scenario.page_size = read_integer(value, full, 1, 200);
    } else if (name == "http") {
      const std::string_view mode = value.IsString() ? name_of(value) : std::string_view();
      if (mode == "per-user") {
        scenario.http = HttpMode::per_user;
      } else if (mode == "pooled") {
        scenario.http = HttpMode::pooled;
      } else {
        fail(full, "must be \"per-user\" or \"pooled\"");
      }
    } else if (name == "poolSize") {
      scenario.pool_size = read_integer(value, full, 1, 100'000);
    } else if (name == "sockets") {
      if (!value.IsBool()) fail(full, "must be true or false");
      scenario.sockets = value.GetBool();
    } else {
      fail("scenario", "unknown member " + quoted(name) + " (expected one of " +
                           join({"weights", "thinkTimeMs", "managerShare", "teamSize", "leadsPerTeam", "importRows",
                                 "pageSize", "http", "poolSize", "sockets"}) +
                           ")");
    }
  });
  check_relations(scenario);
  return scenario;
}

}  // namespace

std::string_view action_name(Action a) {
  const auto index = static_cast<std::size_t>(a);
  return index < kActions ? kActionNames[index] : std::string_view();
}

std::optional<Scenario> parse_scenario(std::string_view json, std::string& error) {
  try {
    Scenario scenario = read_scenario(json);
    error.clear();
    return scenario;
  } catch (const ScenarioError& e) {
    error = e.message;
    return std::nullopt;
  }
}

std::string scenario_to_json(const Scenario& s) {
  // JSON has no NaN or infinity (RapidJSON's writer would refuse them mid-object).
  bool finite = std::isfinite(s.think_mean_ms) && std::isfinite(s.think_min_ms) &&
                std::isfinite(s.think_max_ms) && std::isfinite(s.manager_share);
  for (double weight : s.weights) finite = finite && std::isfinite(weight);
  if (!finite) throw std::invalid_argument("scenario_to_json: a number is not finite");

  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  auto number = [&](const char* key, double value) {
    writer.Key(key);
    writer.Double(value);
  };
  writer.StartObject();
  writer.Key("weights");
  writer.StartObject();
  for (std::size_t i = 0; i < kActions; ++i) number(kActionNames[i].data(), s.weights[i]);
  writer.EndObject();
  writer.Key("thinkTimeMs");
  writer.StartObject();
  number("mean", s.think_mean_ms);
  number("min", s.think_min_ms);
  number("max", s.think_max_ms);
  writer.EndObject();
  number("managerShare", s.manager_share);
  writer.Key("teamSize");
  writer.Int(s.team_size);
  writer.Key("leadsPerTeam");
  writer.Int(s.leads_per_team);
  writer.Key("importRows");
  writer.Int(s.import_rows);
  writer.Key("pageSize");
  writer.Int(s.page_size);
  writer.Key("http");
  writer.String(s.http == HttpMode::pooled ? "pooled" : "per-user");
  writer.Key("poolSize");
  writer.Int(s.pool_size);
  writer.Key("sockets");
  writer.Bool(s.sockets);
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

double requests_per_user_per_second(const Scenario& s) { return 1000.0 / s.think_mean_ms; }

}  // namespace lms::load

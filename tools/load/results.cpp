// Owns results.h: the results.json form of a run (written and read with RapidJSON, histograms
// in Histogram's text form), the error totals of a step, and the merge of runs made by several
// processes or machines.
#include "results.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace lms::load {

std::int64_t StepResult::errors_total() const {
  std::int64_t total = 0;
  for (const auto& [name, action] : actions)
    for (const auto& [kind, count] : action.errors) total += count;
  return total;
}

double StepResult::error_rate() const {
  std::int64_t ok = 0;
  for (const auto& [name, action] : actions) ok += action.ok;
  const std::int64_t errors = errors_total();
  if (ok + errors == 0) return 0;
  return static_cast<double>(errors) / static_cast<double>(ok + errors);
}

// ---------------------------------------------------------------------------------------------
// Writing

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void put(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void put(Writer& w, const char* key, std::int64_t value) {
  w.Key(key);
  w.Int64(value);
}

void put(Writer& w, const char* key, double value) {
  w.Key(key);
  // JSON has no NaN or infinity; a broken sample must not cost the results of a whole run.
  w.Double(std::isfinite(value) ? value : 0.0);
}

void put(Writer& w, const char* key, bool value) {
  w.Key(key);
  w.Bool(value);
}

void put(Writer& w, const char* key, const Histogram& h) { put(w, key, h.to_string()); }

void put_counts(Writer& w, const char* key, const std::map<std::string, std::int64_t>& counts) {
  w.Key(key);
  w.StartObject();
  for (const auto& [name, count] : counts) put(w, name.c_str(), count);
  w.EndObject();
}

void put_actions(Writer& w, const std::map<std::string, ActionResult>& actions) {
  w.Key("actions");
  w.StartObject();
  for (const auto& [name, action] : actions) {
    w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    w.StartObject();
    put(w, "latency", action.latency);
    put(w, "ok", action.ok);
    put_counts(w, "errors", action.errors);
    w.EndObject();
  }
  w.EndObject();
}

void put_server(Writer& w, const ServerSample& s) {
  w.Key("server");
  w.StartObject();
  put(w, "sampled", s.sampled);
  put(w, "cpuCores", s.cpu_cores);
  put(w, "rssBytes", s.rss_bytes);
  put(w, "httpConnections", s.http_connections);
  put(w, "realtimeConnections", s.realtime_connections);
  put(w, "writeQueueMax", s.write_queue_max);
  put(w, "readsWaited", s.reads_waited);
  put(w, "requests", s.requests);
  put(w, "maxLagMs", s.max_lag_ms);
  w.EndObject();
}

void put_generator(Writer& w, const GeneratorSample& g) {
  w.Key("generator");
  w.StartObject();
  put(w, "cpuCores", g.cpu_cores);
  put(w, "scheduleLagP99Ms", g.schedule_lag_p99_ms);
  put(w, "saturated", g.saturated);
  put(w, "descriptorsLimit", g.descriptors_limit);
  w.EndObject();
}

void put_step(Writer& w, const StepResult& s) {
  w.StartObject();
  put(w, "users", s.users);
  put(w, "rate", s.rate);
  put(w, "seconds", s.seconds);
  put_actions(w, s.actions);
  put(w, "overall", s.overall);
  put(w, "requests", s.requests);
  put(w, "socketsWanted", s.sockets_wanted);
  put(w, "socketsConnected", s.sockets_connected);
  put(w, "eventDelivery", s.event_delivery);
  put(w, "eventsExpected", s.events_expected);
  put(w, "eventsDelivered", s.events_delivered);
  put(w, "eventsSummarized", s.events_summarized);
  put_server(w, s.server);
  put_generator(w, s.generator);
  w.EndObject();
}

}  // namespace

std::string results_to_json(const RunResults& r) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  put(w, "toolVersion", r.tool_version);
  put(w, "url", r.url);
  put(w, "startedAt", r.started_at);
  put(w, "model", r.model);
  put(w, "httpMode", r.http_mode);
  put(w, "scenario", r.scenario_json);
  put(w, "workers", static_cast<std::int64_t>(r.workers));
  put(w, "accounts", r.accounts);
  put(w, "interrupted", r.interrupted);
  w.Key("steps");
  w.StartArray();
  for (const auto& step : r.steps) put_step(w, step);
  w.EndArray();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

// ---------------------------------------------------------------------------------------------
// Reading: every member is required, so a truncated or hand-edited file fails loudly, naming
// the member by its path (e.g. "steps[2].actions.list.ok").

namespace {

using Value = rapidjson::Value;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::invalid_argument("results: " + path + ": " + what);
}

std::string child_path(const std::string& parent, const char* key) {
  return parent.empty() ? key : parent + "." + key;
}

// An object that knows its own path, so each getter names the member it could not read.
class Reader {
 public:
  Reader(const Value& object, std::string path) : object_(object), path_(std::move(path)) {
    if (!object_.IsObject()) fail(path_.empty() ? "document" : path_, "must be an object");
  }

  const Value& member(const char* key) const {
    auto it = object_.FindMember(key);
    if (it == object_.MemberEnd()) fail(child_path(path_, key), "missing");
    return it->value;
  }
  std::string path(const char* key) const { return child_path(path_, key); }

  std::string text(const char* key) const {
    const Value& v = member(key);
    if (!v.IsString()) fail(path(key), "must be a string");
    return {v.GetString(), v.GetStringLength()};
  }
  std::int64_t integer(const char* key) const {
    const Value& v = member(key);
    if (!v.IsInt64()) fail(path(key), "must be an integer");
    return v.GetInt64();
  }
  double number(const char* key) const {
    const Value& v = member(key);
    if (!v.IsNumber()) fail(path(key), "must be a number");
    return v.GetDouble();
  }
  bool boolean(const char* key) const {
    const Value& v = member(key);
    if (!v.IsBool()) fail(path(key), "must be true or false");
    return v.GetBool();
  }
  Histogram histogram(const char* key) const {
    const std::string encoded = text(key);
    try {
      return Histogram::from_string(encoded);
    } catch (const std::exception& e) {
      fail(path(key), std::string("bad histogram: ") + e.what());
    }
  }
  Reader object(const char* key) const { return Reader(member(key), path(key)); }
  const Value& raw() const { return object_; }

 private:
  const Value& object_;
  std::string path_;
};

std::map<std::string, std::int64_t> read_counts(const Reader& in) {
  std::map<std::string, std::int64_t> counts;
  for (const auto& m : in.raw().GetObject()) {
    const std::string name(m.name.GetString(), m.name.GetStringLength());
    if (!m.value.IsInt64()) fail(in.path(name.c_str()), "must be an integer");
    counts[name] = m.value.GetInt64();
  }
  return counts;
}

std::map<std::string, ActionResult> read_actions(const Reader& in) {
  std::map<std::string, ActionResult> actions;
  for (const auto& m : in.raw().GetObject()) {
    const std::string name(m.name.GetString(), m.name.GetStringLength());
    const Reader action(m.value, in.path(name.c_str()));
    ActionResult& out = actions[name];
    out.latency = action.histogram("latency");
    out.ok = action.integer("ok");
    out.errors = read_counts(action.object("errors"));
  }
  return actions;
}

ServerSample read_server(const Reader& in) {
  ServerSample s;
  s.sampled = in.boolean("sampled");
  s.cpu_cores = in.number("cpuCores");
  s.rss_bytes = in.number("rssBytes");
  s.http_connections = in.number("httpConnections");
  s.realtime_connections = in.number("realtimeConnections");
  s.write_queue_max = in.number("writeQueueMax");
  s.reads_waited = in.number("readsWaited");
  s.requests = in.number("requests");
  s.max_lag_ms = in.number("maxLagMs");
  return s;
}

GeneratorSample read_generator(const Reader& in) {
  GeneratorSample g;
  g.cpu_cores = in.number("cpuCores");
  g.schedule_lag_p99_ms = in.number("scheduleLagP99Ms");
  g.saturated = in.boolean("saturated");
  g.descriptors_limit = in.integer("descriptorsLimit");
  return g;
}

StepResult read_step(const Reader& in) {
  StepResult s;
  s.users = in.integer("users");
  s.rate = in.number("rate");
  s.seconds = in.number("seconds");
  s.actions = read_actions(in.object("actions"));
  s.overall = in.histogram("overall");
  s.requests = in.integer("requests");
  s.sockets_wanted = in.integer("socketsWanted");
  s.sockets_connected = in.integer("socketsConnected");
  s.event_delivery = in.histogram("eventDelivery");
  s.events_expected = in.integer("eventsExpected");
  s.events_delivered = in.integer("eventsDelivered");
  s.events_summarized = in.integer("eventsSummarized");
  s.server = read_server(in.object("server"));
  s.generator = read_generator(in.object("generator"));
  return s;
}

std::vector<StepResult> read_steps(const Reader& in) {
  const Value& array = in.member("steps");
  if (!array.IsArray()) fail(in.path("steps"), "must be an array");
  std::vector<StepResult> steps;
  for (rapidjson::SizeType i = 0; i < array.Size(); ++i)
    steps.push_back(read_step(Reader(array[i], "steps[" + std::to_string(i) + "]")));
  return steps;
}

int read_workers(const Reader& in) {
  const std::int64_t workers = in.integer("workers");
  if (workers < 1 || workers > 1'000'000) fail(in.path("workers"), "must be between 1 and 1000000");
  return static_cast<int>(workers);
}

}  // namespace

RunResults results_from_json(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError())
    fail("document", "not valid JSON (at offset " + std::to_string(doc.GetErrorOffset()) + ")");
  const Reader in(doc, "");
  RunResults r;
  r.tool_version = in.text("toolVersion");
  r.url = in.text("url");
  r.started_at = in.text("startedAt");
  r.model = in.text("model");
  if (r.model != "closed" && r.model != "open") fail("model", "must be \"closed\" or \"open\"");
  r.http_mode = in.text("httpMode");
  r.scenario_json = in.text("scenario");
  r.workers = read_workers(in);
  r.accounts = in.integer("accounts");
  r.interrupted = in.boolean("interrupted");
  r.steps = read_steps(in);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Merging

namespace {

bool same_level(const StepResult& a, const StepResult& b) { return a.users == b.users && a.rate == b.rate; }

void merge_actions(std::map<std::string, ActionResult>& into, const std::map<std::string, ActionResult>& other) {
  for (const auto& [name, action] : other) {
    ActionResult& target = into[name];
    target.latency.merge(action.latency);
    target.ok += action.ok;
    for (const auto& [kind, count] : action.errors) target.errors[kind] += count;
  }
}

void merge_step(StepResult& into, const StepResult& other) {
  // The machines ran the step side by side, so its duration is the longest, not the sum.
  into.seconds = std::max(into.seconds, other.seconds);
  merge_actions(into.actions, other.actions);
  into.overall.merge(other.overall);
  into.requests += other.requests;
  into.sockets_wanted += other.sockets_wanted;
  into.sockets_connected += other.sockets_connected;
  into.event_delivery.merge(other.event_delivery);
  into.events_expected += other.events_expected;
  into.events_delivered += other.events_delivered;
  into.events_summarized += other.events_summarized;
  if (!into.server.sampled) into.server = other.server;
  into.generator.cpu_cores += other.generator.cpu_cores;
  into.generator.schedule_lag_p99_ms = std::max(into.generator.schedule_lag_p99_ms, other.generator.schedule_lag_p99_ms);
  // One saturated machine is enough to make the combined step a client figure.
  into.generator.saturated = into.generator.saturated || other.generator.saturated;
  into.generator.descriptors_limit += other.generator.descriptors_limit;
}

bool is_blank(const RunResults& r) { return r.steps.empty() && r.url.empty(); }

void merge_run_facts(RunResults& into, const RunResults& other) {
  if (is_blank(into)) {
    into.tool_version = other.tool_version;
    into.url = other.url;
    into.started_at = other.started_at;
    into.model = other.model;
    into.http_mode = other.http_mode;
    into.scenario_json = other.scenario_json;
    into.workers = other.workers;
    into.accounts = other.accounts;
    into.interrupted = other.interrupted;
    return;
  }
  if (into.model != other.model)
    throw std::invalid_argument("results: cannot merge a " + into.model + "-model run with a " + other.model + "-model run");
  if (into.http_mode != other.http_mode)
    throw std::invalid_argument("results: cannot merge HTTP mode " + into.http_mode + " with " + other.http_mode);
  if (into.scenario_json.empty()) into.scenario_json = other.scenario_json;
  // RFC 3339 stamps in the same zone order as text; the earliest start is the run's start.
  if (into.started_at.empty() || (!other.started_at.empty() && other.started_at < into.started_at))
    into.started_at = other.started_at;
  into.workers += other.workers;
  into.accounts += other.accounts;
  into.interrupted = into.interrupted || other.interrupted;
}

void merge_or_append(std::vector<StepResult>& steps, const StepResult& step) {
  auto it = std::find_if(steps.begin(), steps.end(), [&](const StepResult& s) { return same_level(s, step); });
  if (it == steps.end())
    steps.push_back(step);
  else
    merge_step(*it, step);
}

}  // namespace

void merge_results(RunResults& into, const RunResults& other) {
  // Merged on a copy: a histogram that does not fit (another max_value) leaves `into` as it was.
  RunResults merged = into;
  const bool adopt = is_blank(merged);
  merge_run_facts(merged, other);
  if (adopt) {
    merged.steps = other.steps;
  } else {
    for (const auto& step : other.steps) merge_or_append(merged.steps, step);
  }
  std::stable_sort(merged.steps.begin(), merged.steps.end(), [](const StepResult& a, const StepResult& b) {
    return a.users != b.users ? a.users < b.users : a.rate < b.rate;
  });
  into = std::move(merged);
}

}  // namespace lms::load

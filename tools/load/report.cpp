// Owns report.h: the judgement of a run (status by p95, the service level, the capacity, the
// bottleneck and the recommendation of each step) and its two renderings, capacity.md and a
// self-contained capacity.html whose charts are inline SVG drawn here.
#include "report.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <optional>
#include <utility>
#include <vector>

namespace lms::load {

// ---------------------------------------------------------------------------------------------
// Judgement

namespace {

double to_ms(std::int64_t microseconds) { return static_cast<double>(microseconds) / 1000.0; }
double percentile_ms(const Histogram& h, double percentile) { return to_ms(h.value_at_percentile(percentile)); }
double p95_ms(const StepResult& step) { return percentile_ms(step.overall, 95); }

bool has_error(const StepResult& step, std::string_view fragment) {
  for (const auto& [name, action] : step.actions)
    for (const auto& [kind, count] : action.errors)
      if (count > 0 && kind.find(fragment) != std::string::npos) return true;
  return false;
}

bool cpu_bound(const StepResult& step, int server_cores) {
  return step.server.sampled && server_cores > 0 && step.server.cpu_cores >= 0.9 * server_cores;
}

bool events_late_or_missing(const StepResult& step, const ServiceLevel& level) {
  if (step.events_delivered < step.events_expected) return true;
  return step.event_delivery.count() > 0 && percentile_ms(step.event_delivery, 95) >= level.p95_ms;
}

bool is_open(const RunResults& r) { return r.model == "open"; }
double level_of(const RunResults& r, const StepResult& step) {
  return is_open(r) ? step.rate : static_cast<double>(step.users);
}

}  // namespace

std::string_view status_of(double p95) {
  if (p95 < 100) return "Excellent";
  if (p95 < 200) return "Very Good";
  if (p95 < 400) return "Good";
  if (p95 < 600) return "Moderate";
  return "Heavy";  // also NaN: an unknown latency is never good news
}

bool meets(const StepResult& step, const ServiceLevel& level) {
  return step.overall.count() > 0 && p95_ms(step) < level.p95_ms && step.error_rate() < level.max_error_rate;
}

double capacity_of(const RunResults& results, const ServiceLevel& level) {
  double best = 0;
  for (const auto& step : results.steps)
    if (!step.generator.saturated && meets(step, level)) best = std::max(best, level_of(results, step));
  return best;
}

std::string bottleneck_of(const StepResult& step, const ServiceLevel& level, int server_cores) {
  if (step.generator.saturated) return "generator";
  if (cpu_bound(step, server_cores)) return "CPU";
  if (has_error(step, "connect") || step.sockets_connected < step.sockets_wanted) return "descriptors";
  if (step.server.sampled && step.server.write_queue_max > 100) return "database writer";
  if (step.server.sampled && step.server.reads_waited > 0 && p95_ms(step) >= level.p95_ms) return "database readers";
  if (events_late_or_missing(step, level)) return "event fan-out";
  if (has_error(step, "429")) return "rate limit";
  return "none observed";
}

std::string recommendation_of(const StepResult& step, const ServiceLevel& level) {
  if (step.generator.saturated)
    return "Generator saturated: not a server figure. Rerun with more generator workers or machines.";
  if (step.overall.count() == 0) return "Nothing was answered at this step: check the run before reading it.";
  if (step.error_rate() >= level.max_error_rate) return "Too many errors: find their cause before using this load.";
  const std::string_view status = status_of(p95_ms(step));
  if (status == "Excellent") return "Comfortable: room to grow at this load.";
  if (status == "Very Good") return "Fine for daily work; watch the trend as you grow.";
  if (status == "Good") return "Usable, but users notice the wait; plan more capacity before growing.";
  if (status == "Moderate") return "Slow: add capacity before running this many users.";
  return "Overloaded: do not run this load on this server.";
}

// ---------------------------------------------------------------------------------------------
// Formatting shared by both renderings

namespace {

std::string fixed(double value, int decimals) {
  if (!std::isfinite(value)) return "—";
  char buffer[400];  // %.Nf of the largest double needs ~310 characters
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// Up to two decimals, without trailing zeros: 100 → "100", 0.5 → "0.5".
std::string trimmed(double value) {
  std::string text = fixed(value, 2);
  if (text.find('.') == std::string::npos) return text;
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text == "-0" ? "0" : text;
}

std::string ms_text(double ms) { return fixed(ms, 1); }
std::string percent_text(double share) { return fixed(share * 100, 2) + " %"; }
std::string mib_text(double bytes) { return fixed(bytes / (1024.0 * 1024.0), 1); }

std::string level_text(const RunResults& r, const StepResult& step) {
  return is_open(r) ? trimmed(step.rate) : std::to_string(step.users);
}
std::string level_header(const RunResults& r) { return is_open(r) ? "rate (req/s)" : "users"; }
std::string x_unit(const RunResults& r) { return is_open(r) ? "req/s" : "users"; }
std::string level_noun(const RunResults& r, double level) { return trimmed(level) + " " + x_unit(r); }

// Throughput of the measured hold: user actions answered (an `open` is two requests, and
// step.requests also counts the ramp-up and the users' first page, so it is not used here).
double requests_per_second(const StepResult& step) {
  if (step.seconds <= 0) return 0;
  std::int64_t actions = 0;
  for (const auto& [name, a] : step.actions) {
    if (name == "socket") continue;  // connections, not actions
    actions += a.ok;
    for (const auto& [kind, n] : a.errors) actions += n;
  }
  return static_cast<double>(actions) / step.seconds;
}

std::map<std::string, std::int64_t> errors_by_kind(const StepResult& step) {
  std::map<std::string, std::int64_t> kinds;
  for (const auto& [name, action] : step.actions)
    for (const auto& [kind, count] : action.errors) kinds[kind] += count;
  return kinds;
}

std::string kinds_text(const std::map<std::string, std::int64_t>& kinds) {
  std::string text;
  for (const auto& [kind, count] : kinds) {
    if (count == 0) continue;
    if (!text.empty()) text += ", ";
    text += kind + ": " + std::to_string(count);
  }
  return text.empty() ? "none" : text;
}

std::vector<const StepResult*> steps_by_level(const RunResults& r) {
  std::vector<const StepResult*> steps;
  for (const auto& step : r.steps) steps.push_back(&step);
  std::stable_sort(steps.begin(), steps.end(),
                   [&](const StepResult* a, const StepResult* b) { return level_of(r, *a) < level_of(r, *b); });
  return steps;
}

const StepResult* highest_step(const RunResults& r) {
  auto steps = steps_by_level(r);
  return steps.empty() ? nullptr : steps.back();
}

std::string service_level_text(const ServiceLevel& level) {
  return "p95 under " + trimmed(level.p95_ms) + " ms with errors under " + trimmed(level.max_error_rate * 100) + " %";
}

// ---------------------------------------------------------------------------------------------
// The scenario, summarized from its JSON (the form scenario.h documents) without depending on
// the scenario parser: an unknown or missing member is just left out of the summary.

std::string weights_text(const rapidjson::Value& weights) {
  std::string text;
  for (const auto& m : weights.GetObject()) {
    if (!m.value.IsNumber() || m.value.GetDouble() <= 0) continue;
    if (!text.empty()) text += ", ";
    text += std::string(m.name.GetString(), m.name.GetStringLength()) + " " + trimmed(m.value.GetDouble());
  }
  return text.empty() ? "" : "weights " + text;
}

std::optional<double> number_member(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return std::nullopt;
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsNumber()) return std::nullopt;
  return it->value.GetDouble();
}

std::string scenario_summary(const std::string& json) {
  if (json.empty()) return "not recorded";
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return "unreadable";
  std::vector<std::string> parts;
  if (doc.HasMember("weights") && doc["weights"].IsObject()) parts.push_back(weights_text(doc["weights"]));
  if (doc.HasMember("thinkTimeMs")) {
    if (auto mean = number_member(doc["thinkTimeMs"], "mean")) parts.push_back("think time " + trimmed(*mean) + " ms on average");
  }
  if (auto team = number_member(doc, "teamSize")) parts.push_back("teams of " + trimmed(*team));
  if (auto share = number_member(doc, "managerShare")) parts.push_back(trimmed(*share * 100) + " % managers");
  if (doc.HasMember("sockets") && doc["sockets"].IsBool())
    parts.push_back(doc["sockets"].GetBool() ? "a Socket.IO connection per user" : "no sockets");
  std::string text;
  for (const auto& part : parts) {
    if (part.empty()) continue;
    if (!text.empty()) text += "; ";
    text += part;
  }
  return text.empty() ? "default" : text;
}

// ---------------------------------------------------------------------------------------------
// The content of the report, independent of its rendering

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row_class;  // HTML only: the status of the row, "saturated"
};

std::string status_class(std::string_view status) {
  std::string slug;
  for (char c : status) slug += c == ' ' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return slug;
}

std::vector<std::pair<std::string, std::string>> run_facts(const RunResults& r, const ServiceLevel& level,
                                                           int server_cores) {
  return {
      {"URL", r.url.empty() ? "unknown" : r.url},
      {"Model", is_open(r) ? "open (a fixed arrival rate per step)" : "closed (a fixed number of virtual users per step)"},
      {"HTTP mode", r.http_mode},
      {"Workers", std::to_string(r.workers)},
      {"Accounts", std::to_string(r.accounts)},
      {"Date", r.started_at.empty() ? "unknown" : r.started_at},
      {"Scenario", scenario_summary(r.scenario_json)},
      {"Service level", service_level_text(level)},
      {"Server cores", server_cores > 0 ? std::to_string(server_cores) : "unknown"},
  };
}

Table summary_table(const RunResults& r, const ServiceLevel& level) {
  Table t{{level_header(r), "status", "p95", "recommendation"}, {}, {}};
  for (const StepResult* step : steps_by_level(r)) {
    const std::string_view status = status_of(p95_ms(*step));
    t.rows.push_back({level_text(r, *step), std::string(status), ms_text(p95_ms(*step)) + " ms",
                      recommendation_of(*step, level)});
    t.row_class.push_back(step->generator.saturated ? "saturated" : status_class(status));
  }
  return t;
}

std::string server_text(const StepResult& step, double value, int decimals) {
  return step.server.sampled ? fixed(value, decimals) : "—";
}

std::string event_percentile_text(const StepResult& step, double percentile) {
  return step.event_delivery.count() > 0 ? ms_text(percentile_ms(step.event_delivery, percentile)) : "—";
}

std::vector<std::string> detail_row(const RunResults& r, const StepResult& step) {
  const Histogram& h = step.overall;
  return {level_text(r, step),
          fixed(requests_per_second(step), 1),
          ms_text(percentile_ms(h, 50)),
          ms_text(percentile_ms(h, 90)),
          ms_text(percentile_ms(h, 95)),
          ms_text(percentile_ms(h, 99)),
          ms_text(percentile_ms(h, 99.9)),
          ms_text(to_ms(h.max())),
          percent_text(step.error_rate()),
          kinds_text(errors_by_kind(step)),
          std::to_string(step.sockets_connected) + " / " + std::to_string(step.sockets_wanted),
          std::to_string(step.events_delivered) + " / " + std::to_string(step.events_expected) +
              (step.events_summarized > 0 ? " (" + std::to_string(step.events_summarized) + " as leads:bulk)" : ""),
          event_percentile_text(step, 95),
          event_percentile_text(step, 99),
          server_text(step, step.server.cpu_cores, 2),
          step.server.sampled ? mib_text(step.server.rss_bytes) : "—",
          server_text(step, step.server.write_queue_max, 0),
          server_text(step, step.server.reads_waited, 0),
          fixed(step.generator.cpu_cores, 2),
          fixed(step.generator.schedule_lag_p99_ms, 1),
          step.generator.saturated ? "generator saturated: not a server figure" : ""};
}

Table detail_table(const RunResults& r) {
  Table t{{level_header(r), "actions/s", "p50 (ms)", "p90 (ms)", "p95 (ms)", "p99 (ms)", "p99.9 (ms)", "max (ms)",
           "error rate", "errors by kind", "sockets connected/wanted", "events delivered/expected",
           "event delivery p95 (ms)", "event delivery p99 (ms)", "server CPU (cores)", "RSS (MiB)",
           "write queue max", "reads waited", "generator CPU (cores)", "schedule lag p99 (ms)", "note"},
          {},
          {}};
  for (const StepResult* step : steps_by_level(r)) {
    t.rows.push_back(detail_row(r, *step));
    t.row_class.push_back(step->generator.saturated ? "saturated" : "");
  }
  return t;
}

Table action_table(const StepResult& step) {
  Table t{{"action", "count", "p50 (ms)", "p95 (ms)", "p99 (ms)", "errors"}, {}, {}};
  for (const auto& [name, action] : step.actions) {
    if (name == "socket") continue;  // connections are in the step table (sockets connected/wanted)
    std::int64_t errors = 0;
    for (const auto& [kind, count] : action.errors) errors += count;
    std::string errors_cell = std::to_string(errors);
    if (errors > 0) errors_cell += " (" + kinds_text(action.errors) + ")";
    t.rows.push_back({name, std::to_string(action.latency.count()), ms_text(percentile_ms(action.latency, 50)),
                      ms_text(percentile_ms(action.latency, 95)), ms_text(percentile_ms(action.latency, 99)),
                      errors_cell});
    t.row_class.push_back("");
  }
  return t;
}

std::string bottleneck_explanation(const std::string& bottleneck, const StepResult& step, int server_cores) {
  if (bottleneck == "generator")
    return "the load generator itself was saturated (CPU " + fixed(step.generator.cpu_cores, 2) +
           " cores, schedule lag p99 " + fixed(step.generator.schedule_lag_p99_ms, 1) +
           " ms), so this step measures the client, not the server.";
  if (bottleneck == "CPU")
    return "the server used " + fixed(step.server.cpu_cores, 2) + " of its " + std::to_string(server_cores) + " cores.";
  if (bottleneck == "descriptors")
    return std::to_string(step.sockets_connected) + " of " + std::to_string(step.sockets_wanted) +
           " sockets connected, or connections failed; check the server's descriptor limit and connection cap.";
  if (bottleneck == "database writer")
    return "the database write queue reached " + fixed(step.server.write_queue_max, 0) + ".";
  if (bottleneck == "database readers")
    return fixed(step.server.reads_waited, 0) + " reads waited for a database reader.";
  if (bottleneck == "event fan-out")
    return std::to_string(step.events_delivered) + " of " + std::to_string(step.events_expected) +
           " events delivered, delivery p95 " + event_percentile_text(step, 95) + " ms.";
  if (bottleneck == "rate limit") return "the server answered 429: the scenario exceeds its rate limits.";
  return "no limit of the server showed at this load.";
}

// The verdict as plain sentences; each rendering escapes them.
std::vector<std::string> verdict_sentences(const RunResults& r, const ServiceLevel& level, int server_cores) {
  const StepResult* top = highest_step(r);
  if (!top) return {"The run has no completed step, so there is nothing to judge."};
  std::vector<std::string> sentences;
  const double capacity = capacity_of(r, level);
  if (capacity > 0)
    sentences.push_back("This server carries " + level_noun(r, capacity) + " at " + service_level_text(level) + ".");
  else
    sentences.push_back("No step met the level (" + service_level_text(level) + ").");
  if (std::any_of(r.steps.begin(), r.steps.end(), [](const StepResult& s) { return s.generator.saturated; }))
    sentences.push_back("Steps where the generator was saturated do not count: they measure the client, not the server.");
  const std::string bottleneck = bottleneck_of(*top, level, server_cores);
  sentences.push_back("Bottleneck observed at the highest step (" + level_noun(r, level_of(r, *top)) +
                      "): " + bottleneck + " — " + bottleneck_explanation(bottleneck, *top, server_cores));
  if (r.interrupted) sentences.push_back("The run was interrupted: only its completed steps are reported.");
  return sentences;
}

// ---------------------------------------------------------------------------------------------
// Markdown

std::string md_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\r') {
      out += ' ';
      continue;
    }
    if (std::string_view("\\`*_[]<>|").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::string md_table(const Table& t) {
  std::string out = "|";
  for (const auto& h : t.header) out += " " + md_escape(h) + " |";
  out += "\n|";
  for (std::size_t i = 0; i < t.header.size(); ++i) out += "---|";
  out += "\n";
  for (const auto& row : t.rows) {
    out += "|";
    for (const auto& cell : row) out += " " + md_escape(cell) + " |";
    out += "\n";
  }
  return out;
}

std::string joined(const std::vector<std::string>& sentences, std::string (*escape)(const std::string&)) {
  std::string out;
  for (const auto& s : sentences) out += (out.empty() ? "" : " ") + escape(s);
  return out;
}

// ---------------------------------------------------------------------------------------------
// HTML and SVG

// The page must hold no URL at all, not even the target server's as text, so that nothing reads
// as a link to fetch: "://" is written with its colon as a character reference.
std::string html_escape(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '"') out += "&quot;";
    else if (c == '\'') out += "&#39;";
    else if (c == ':' && text.compare(i + 1, 2, "//") == 0) out += "&#58;";
    else out += c;
  }
  return out;
}

std::string html_table(const Table& t) {
  std::string out = "<table>\n<thead><tr>";
  for (const auto& h : t.header) out += "<th>" + html_escape(h) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const std::string& css = i < t.row_class.size() ? t.row_class[i] : "";
    out += css.empty() ? "<tr>" : "<tr class=\"" + html_escape(css) + "\">";
    for (const auto& cell : t.rows[i]) out += "<td>" + html_escape(cell) + "</td>";
    out += "</tr>\n";
  }
  return out + "</tbody>\n</table>\n";
}

struct Point {
  double x = 0, y = 0;
  bool hollow = false;  // the generator was saturated: not a server figure
};

struct Series {
  std::string name, color, unit;
  std::vector<Point> points;
  bool right_axis = false;
};

struct Chart {
  std::string title, x_label, x_unit, y_label, y2_label;
  std::vector<Series> series;
  std::optional<double> guide_y;  // a dashed line on the left axis (the level's p95)
  std::string guide_label;
};

struct Axis {
  double lo = 0, hi = 1, step = 1;
};

// Ticks at 1, 2 or 5 times a power of ten, about `target` of them over [lo, hi].
Axis nice_axis(double lo, double hi, int target) {
  if (!(hi > lo)) hi = lo + (lo == 0 ? 1 : std::abs(lo) * 0.1);
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  const double f = raw / magnitude;
  const double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude;
  return {std::floor(lo / step) * step, std::ceil(hi / step) * step, step};
}

std::vector<double> ticks_of(const Axis& a) {
  std::vector<double> ticks;
  for (double v = a.lo; v <= a.hi + a.step * 1e-9; v += a.step) ticks.push_back(std::abs(v) < a.step * 1e-9 ? 0 : v);
  return ticks;
}

struct Frame {
  static constexpr double width = 660, height = 340;
  double left = 72, right = width - 24, top = 44, bottom = height - 84;
  Axis x, y, y2;
  double px(double v) const { return left + (v - x.lo) / (x.hi - x.lo) * (right - left); }
  double py(const Axis& a, double v) const { return bottom - (v - a.lo) / (a.hi - a.lo) * (bottom - top); }
};

std::string num(double v) { return fixed(v, 1); }  // SVG coordinates

Axis value_axis(const Chart& c, bool right) {
  double hi = 0;
  for (const auto& s : c.series)
    if (s.right_axis == right)
      for (const auto& p : s.points) hi = std::max(hi, p.y);
  if (!right && c.guide_y) hi = std::max(hi, *c.guide_y);
  return nice_axis(0, hi, 5);
}

Frame frame_of(const Chart& c) {
  Frame f;
  if (!c.y2_label.empty()) f.right = Frame::width - 72;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& s : c.series)
    for (const auto& p : s.points) lo = std::min(lo, p.x), hi = std::max(hi, p.x);
  f.x = nice_axis(lo, hi, 6);
  f.y = value_axis(c, false);
  f.y2 = value_axis(c, true);
  return f;
}

std::string svg_text(double x, double y, const std::string& anchor, const std::string& text,
                     const std::string& extra = "") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + anchor + "\"" + extra + ">" +
         html_escape(text) + "</text>\n";
}

std::string svg_line(double x1, double y1, double x2, double y2, const std::string& css) {
  return "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" + num(y2) +
         "\" class=\"" + css + "\"/>\n";
}

std::string svg_x_axis(const Frame& f, const std::string& label) {
  std::string out = svg_line(f.left, f.bottom, f.right, f.bottom, "axis");
  for (double v : ticks_of(f.x)) {
    out += svg_line(f.px(v), f.bottom, f.px(v), f.bottom + 5, "axis");
    out += svg_text(f.px(v), f.bottom + 18, "middle", trimmed(v));
  }
  return out + svg_text((f.left + f.right) / 2, f.bottom + 38, "middle", label, " class=\"label\"");
}

std::string svg_y_axis(const Frame& f, const Axis& a, bool right, const std::string& label) {
  const double x = right ? f.right : f.left;
  const double tick_end = right ? x + 5 : x - 5;
  std::string out = svg_line(x, f.top, x, f.bottom, "axis");
  for (double v : ticks_of(a)) {
    if (!right) out += svg_line(f.left, f.py(a, v), f.right, f.py(a, v), "grid");
    out += svg_line(x, f.py(a, v), tick_end, f.py(a, v), "axis");
    out += svg_text(right ? x + 8 : x - 8, f.py(a, v) + 4, right ? "start" : "end", trimmed(v));
  }
  const double label_x = right ? Frame::width - 14 : 18;
  const double label_y = (f.top + f.bottom) / 2;
  return out + svg_text(label_x, label_y, "middle", label,
                        " class=\"label\" transform=\"rotate(-90 " + num(label_x) + " " + num(label_y) + ")\"");
}

std::string svg_series(const Frame& f, const Series& s, const std::string& x_unit) {
  const Axis& a = s.right_axis ? f.y2 : f.y;
  std::vector<Point> points;
  std::copy_if(s.points.begin(), s.points.end(), std::back_inserter(points),
               [](const Point& p) { return std::isfinite(p.x) && std::isfinite(p.y); });
  std::sort(points.begin(), points.end(), [](const Point& p, const Point& q) { return p.x < q.x; });
  std::string coordinates;
  for (const auto& p : points) coordinates += num(f.px(p.x)) + "," + num(f.py(a, p.y)) + " ";
  std::string out = "<polyline fill=\"none\" stroke=\"" + s.color + "\" stroke-width=\"2\" points=\"" + coordinates + "\"/>\n";
  for (const auto& p : points) {
    out += "<circle cx=\"" + num(f.px(p.x)) + "\" cy=\"" + num(f.py(a, p.y)) + "\" r=\"4\" stroke=\"" + s.color +
           "\" stroke-width=\"2\" fill=\"" + (p.hollow ? "#fff" : s.color) + "\"><title>" +
           html_escape(s.name + " at " + trimmed(p.x) + " " + x_unit + ": " + trimmed(p.y) + " " + s.unit) +
           "</title></circle>\n";
  }
  return out;
}

std::string svg_legend(const Chart& c) {
  std::string out;
  double x = 72;
  const double y = Frame::height - 24;
  for (const auto& s : c.series) {
    out += "<rect x=\"" + num(x) + "\" y=\"" + num(y - 10) + "\" width=\"12\" height=\"12\" fill=\"" + s.color + "\"/>\n";
    out += svg_text(x + 18, y, "start", s.name);
    x += 36 + 7.0 * static_cast<double>(s.name.size());
  }
  if (c.guide_y) {
    out += svg_line(x, y - 4, x + 18, y - 4, "guide");
    out += svg_text(x + 24, y, "start", c.guide_label);
  }
  return out;
}

std::string svg_guide(const Frame& f, const Chart& c) {
  if (!c.guide_y) return "";
  return svg_line(f.left, f.py(f.y, *c.guide_y), f.right, f.py(f.y, *c.guide_y), "guide");
}

std::string svg_chart(const Chart& c) {
  const Frame f = frame_of(c);
  std::string out = "<svg class=\"chart\" width=\"" + num(Frame::width) + "\" height=\"" + num(Frame::height) +
                    "\" viewBox=\"0 0 " + num(Frame::width) + " " + num(Frame::height) + "\" role=\"img\" aria-label=\"" +
                    html_escape(c.title) + "\">\n";
  out += svg_text(Frame::width / 2, 22, "middle", c.title, " class=\"title\"");
  out += svg_y_axis(f, f.y, false, c.y_label);
  if (!c.y2_label.empty()) out += svg_y_axis(f, f.y2, true, c.y2_label);
  out += svg_x_axis(f, c.x_label);
  out += svg_guide(f, c);
  for (const auto& s : c.series) out += svg_series(f, s, c.x_unit);
  return out + svg_legend(c) + "</svg>\n";
}

bool has_points(const Chart& c) {
  return std::any_of(c.series.begin(), c.series.end(), [](const Series& s) { return !s.points.empty(); });
}

bool has_hollow(const Chart& c) {
  for (const auto& s : c.series)
    for (const auto& p : s.points)
      if (p.hollow) return true;
  return false;
}

std::string figure(const Chart& c, const std::string& when_empty) {
  if (!has_points(c)) return "<p>" + html_escape(when_empty) + "</p>\n";
  std::string out = "<figure>\n" + svg_chart(c);
  if (has_hollow(c))
    out += "<figcaption>Hollow markers: the generator was saturated (not a server figure).</figcaption>\n";
  return out + "</figure>\n";
}

Point point_of(const RunResults& r, const StepResult& step, double y) {
  return {level_of(r, step), y, step.generator.saturated};
}

Chart latency_chart(const RunResults& r, const ServiceLevel& level) {
  Chart c{"Latency percentiles", level_header(r), x_unit(r), "ms", "", {}, level.p95_ms, "level p95"};
  c.series = {{"p50", "#4e79a7", "ms", {}}, {"p95", "#f28e2b", "ms", {}}, {"p99", "#e15759", "ms", {}}};
  const double percentiles[] = {50, 95, 99};
  for (const StepResult* step : steps_by_level(r))
    for (std::size_t i = 0; i < 3; ++i)
      c.series[i].points.push_back(point_of(r, *step, percentile_ms(step->overall, percentiles[i])));
  return c;
}

Chart throughput_chart(const RunResults& r) {
  Chart c{"Throughput", level_header(r), x_unit(r), "actions/s", "", {}, std::nullopt, ""};
  c.series = {{"actions/s", "#59a14f", "actions/s", {}}};
  for (const StepResult* step : steps_by_level(r))
    c.series[0].points.push_back(point_of(r, *step, requests_per_second(*step)));
  return c;
}

Chart server_chart(const RunResults& r) {
  Chart c{"Server CPU and memory", level_header(r), x_unit(r), "CPU (cores)", "RSS (MiB)", {}, std::nullopt, ""};
  c.series = {{"CPU (cores)", "#4e79a7", "cores", {}}, {"RSS (MiB)", "#b07aa1", "MiB", {}, true}};
  for (const StepResult* step : steps_by_level(r)) {
    if (!step->server.sampled) continue;
    c.series[0].points.push_back(point_of(r, *step, step->server.cpu_cores));
    c.series[1].points.push_back(point_of(r, *step, step->server.rss_bytes / (1024.0 * 1024.0)));
  }
  return c;
}

Chart event_chart(const RunResults& r, const ServiceLevel& level) {
  Chart c{"Event delivery latency", level_header(r), x_unit(r), "ms", "", {}, level.p95_ms, "level p95"};
  c.series = {{"p95", "#f28e2b", "ms", {}}, {"p99", "#e15759", "ms", {}}};
  for (const StepResult* step : steps_by_level(r)) {
    if (step->event_delivery.count() == 0) continue;
    c.series[0].points.push_back(point_of(r, *step, percentile_ms(step->event_delivery, 95)));
    c.series[1].points.push_back(point_of(r, *step, percentile_ms(step->event_delivery, 99)));
  }
  return c;
}

std::string html_charts(const RunResults& r, const ServiceLevel& level) {
  if (r.steps.empty()) return "<p>The run has no completed step, so there is nothing to chart.</p>\n";
  if (r.steps.size() == 1) return "<p>The run has a single step: the charts need at least two.</p>\n";
  return figure(latency_chart(r, level), "No request was answered, so there is no latency to chart.") +
         figure(throughput_chart(r), "No request was answered.") +
         figure(server_chart(r), "The server's /metrics were not sampled, so there is no CPU or memory chart.") +
         figure(event_chart(r, level), "No event delivery was measured (no sockets, or no write produced an event).");
}

constexpr const char* kStyle = R"(body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.8em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right;vertical-align:top}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.scroll{overflow-x:auto}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dl.facts dt{font-weight:600}dl.facts dd{margin:0}
tr.excellent td:nth-child(2){color:#1a7f37}tr.very-good td:nth-child(2){color:#3b8a2e}
tr.good td:nth-child(2){color:#9a6700}tr.moderate td:nth-child(2){color:#bc4c00}
tr.heavy td:nth-child(2){color:#cf222e}tr.saturated{background:#fff4d6}
figure{margin:1em 0}figcaption{font-size:.85em;color:#555}
svg.chart{font-size:12px;background:#fff;border:1px solid #ddd}
svg .axis{stroke:#333;stroke-width:1}svg .grid{stroke:#e5e5e5;stroke-width:1}
svg .guide{stroke:#888;stroke-width:1.5;stroke-dasharray:6 4}
svg .title{font-size:15px;font-weight:600}svg .label{font-size:13px}
)";

std::string html_facts(const RunResults& r, const ServiceLevel& level, int server_cores) {
  std::string out = "<dl class=\"facts\">\n";
  for (const auto& [name, value] : run_facts(r, level, server_cores))
    out += "<dt>" + html_escape(name) + "</dt><dd>" + html_escape(value) + "</dd>\n";
  return out + "</dl>\n";
}

std::string html_section(const std::string& heading, const std::string& body) {
  return "<h2>" + html_escape(heading) + "</h2>\n" + body;
}

std::string actions_heading(const RunResults& r, const StepResult& top) {
  return "Actions at the highest step (" + level_noun(r, level_of(r, top)) + ")";
}

}  // namespace

std::string capacity_markdown(const RunResults& results, const ServiceLevel& level, int server_cores) {
  std::string out = "# Capacity report\n\n";
  for (const auto& [name, value] : run_facts(results, level, server_cores))
    out += "- " + name + ": " + md_escape(value) + "\n";
  out += "\n## Steps\n\n" + md_table(summary_table(results, level));
  out += "\n## Verdict\n\n" + joined(verdict_sentences(results, level, server_cores), md_escape) + "\n";
  out += "\n## Step details\n\n" + md_table(detail_table(results));
  if (const StepResult* top = highest_step(results))
    out += "\n## " + md_escape(actions_heading(results, *top)) + "\n\n" + md_table(action_table(*top));
  return out;
}

std::string capacity_html(const RunResults& results, const ServiceLevel& level, int server_cores) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Capacity report</title>\n";
  out += "<style>\n" + std::string(kStyle) + "</style>\n</head>\n<body>\n<h1>Capacity report</h1>\n";
  out += html_facts(results, level, server_cores);
  out += html_section("Steps", html_table(summary_table(results, level)));
  out += html_section("Verdict", "<p>" + joined(verdict_sentences(results, level, server_cores), html_escape) + "</p>\n");
  out += html_section("Charts", html_charts(results, level));
  out += html_section("Step details", "<div class=\"scroll\">\n" + html_table(detail_table(results)) + "</div>\n");
  if (const StepResult* top = highest_step(results))
    out += html_section(actions_heading(results, *top), html_table(action_table(*top)));
  return out + "</body>\n</html>\n";
}

}  // namespace lms::load

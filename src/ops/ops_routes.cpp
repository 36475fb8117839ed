#include "ops/ops_routes.h"

#include <sys/resource.h>

#include <charconv>

#include "common/json.h"
#include "ops/health_monitor.h"

namespace lms::ops {

namespace asio = boost::asio;
using http::bhttp::status;
using http::bhttp::verb;

namespace {

// "# HELP", "# TYPE" and the start of the sample line, up to its value.
void write_head(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
  out += name;
  out += ' ';
}

}  // namespace

void write_gauge(std::string& out, std::string_view name, std::string_view help, double value) {
  write_head(out, name, help, "gauge");
  char number[32];
  auto [end, ec] = std::to_chars(number, number + sizeof number, value);
  out.append(number, ec == std::errc() ? end : number);
  out += '\n';
}

void write_counter(std::string& out, std::string_view name, std::string_view help, std::uint64_t value) {
  write_head(out, name, help, "counter");
  out += std::to_string(value);
  out += '\n';
}

void add_ops_routes(http::Router& router, store::Store& store, std::function<bool()> is_draining,
                    std::function<bool()> redis_up,
                    MetricsSource metrics) {
  const http::RouteOptions anyone{.authenticated = false};

  router.add(verb::get, "/healthz", [](http::RequestContext&) -> asio::awaitable<http::Response> {
    co_return http::json_response(status::ok, R"({"status":"ok"})");
  }, anyone);

  // One shape whatever the answer: `checks` names every dependency (the database, and the
  // server itself while it drains) with its `status`; a 503 says which one failed.
  router.add(verb::get, "/readyz", [&store, is_draining, redis_up](http::RequestContext&) -> asio::awaitable<http::Response> {
    bool database = false;
    try {
      database = co_await store.ping();
    } catch (const std::exception&) {
      database = false;
    }
    bool draining = is_draining();
    // Without Redis an instance still serves its own clients, but it is cut off from the
    // others' events and shared limits: a balancer should prefer instances that are whole.
    const bool redis = !redis_up || redis_up();
    bool ready = database && !draining && redis;
    co_return http::json_response(ready ? status::ok : status::service_unavailable,
                                  json::build([&](json::Writer& w) {
                                    w.StartObject();
                                    json::field(w, "status", ready ? "ok" : "unavailable");
                                    json::key(w, "draining");
                                    w.Bool(draining);
                                    json::key(w, "checks");
                                    w.StartObject();
                                    json::key(w, "database");
                                    w.StartObject();
                                    json::field(w, "status", database ? "ok" : "failing");
                                    json::field(w, "engine", store.engine());
                                    w.EndObject();
                                    if (redis_up) {
                                      json::key(w, "redis");
                                      w.StartObject();
                                      json::field(w, "status", redis ? "ok" : "failing");
                                      w.EndObject();
                                    }
                                    json::key(w, "server");
                                    w.StartObject();
                                    json::field(w, "status", draining ? "draining" : "ok");
                                    w.EndObject();
                                    w.EndObject();
                                    w.EndObject();
                                  }));
  }, anyone);

  router.add(verb::get, "/metrics", [metrics](http::RequestContext&) -> asio::awaitable<http::Response> {
    std::string out;
    write_gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
                static_cast<double>(resident_memory_bytes()));
    // Prometheus' standard name: load tests and dashboards read the server's CPU from it.
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    out += "# HELP process_cpu_seconds_total User and system CPU time spent, in seconds.\n"
           "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ";
    out += std::to_string(seconds(usage.ru_utime) + seconds(usage.ru_stime));
    out += '\n';
    if (metrics) metrics(out);
    http::Response res{status::ok, 11};
    res.set(http::bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = std::move(out);
    co_return res;
  }, anyone);
}

void add_live_route(http::Router& router, std::function<LiveFigures()> live, std::string instance) {
  router.add(
      verb::get, "/api/ops/live",
      [live = std::move(live), instance = std::move(instance)](http::RequestContext&) -> asio::awaitable<http::Response> {
        const auto f = live();
        co_return http::json_response(status::ok, json::build([&](json::Writer& w) {
                                        w.StartObject();
                                        json::field(w, "instance", instance);
                                        json::key(w, "uptimeSeconds");
                                        w.Double(f.uptime_seconds);
                                        json::key(w, "httpConnections");
                                        w.Uint64(f.http_connections);
                                        json::key(w, "realtimeConnections");
                                        w.Int64(f.realtime_connections);
                                        json::key(w, "requestsPerSecond");
                                        w.Double(f.requests_per_second);
                                        json::key(w, "p95Ms");
                                        w.Double(f.p95_ms);
                                        json::key(w, "residentMemoryBytes");
                                        w.Int64(f.resident_memory_bytes);
                                        json::key(w, "eventLoopLagMs");
                                        w.Int64(f.event_loop_lag_ms);
                                        w.EndObject();
                                      }));
      },
      http::RouteOptions{.least_role = accounts::Role::admin});
}

}  // namespace lms::ops

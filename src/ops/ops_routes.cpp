#include "ops/ops_routes.h"

#include "common/json.h"

namespace lms::ops {

namespace asio = boost::asio;
using http::bhttp::status;
using http::bhttp::verb;

void add_ops_routes(http::Router& router, store::Store& store, std::function<bool()> is_draining) {
  const http::RouteOptions anyone{.authenticated = false};

  router.add(verb::get, "/healthz", [](http::RequestContext&) -> asio::awaitable<http::Response> {
    co_return http::json_response(status::ok, R"({"status":"ok"})");
  }, anyone);

  router.add(verb::get, "/readyz", [&store, is_draining](http::RequestContext&) -> asio::awaitable<http::Response> {
    bool database = false;
    try {
      database = co_await store.ping();
    } catch (const std::exception&) {
      database = false;
    }
    bool draining = is_draining();
    bool ready = database && !draining;
    co_return http::json_response(ready ? status::ok : status::service_unavailable,
                                  json::build([&](json::Writer& w) {
                                    w.StartObject();
                                    json::field(w, "status", ready ? "ok" : "unavailable");
                                    json::key(w, "draining");
                                    w.Bool(draining);
                                    json::key(w, "checks");
                                    w.StartObject();
                                    json::field(w, store.engine(), database ? "ok" : "failing");
                                    w.EndObject();
                                    w.EndObject();
                                  }));
  }, anyone);
}

}  // namespace lms::ops

// The route table: method + pattern (`/api/users/:id`) → handler. Matching is by segments;
// a literal segment beats a parameter (`/api/leads/count` before `/api/leads/:id`). A path
// that exists under other methods yields 405 with the allowed methods.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "http/types.h"

namespace lms::http {

struct RouteOptions {
  bool authenticated = true;
  // A credential route (register, login, refresh, logout): rate limited per client address in
  // the auth scope. Every other /api/* route, `GET /api/auth/me` included, counts against the
  // caller's per-user API quota.
  bool credentials = false;
  // The least role allowed (admin > manager > agent), checked right after authentication and
  // before the handler reads the body: a caller below it gets 403 whatever it sent. The
  // service checks its rules again; this only fixes the order of the answers.
  accounts::Role least_role = accounts::Role::agent;
};

struct Route {
  bhttp::verb method;
  std::string pattern;
  Handler handler;
  RouteOptions options;
  std::vector<std::string> segments;  // ":name" for parameters
};

struct RouteMatch {
  enum class Kind { found, not_found, method_not_allowed } kind = Kind::not_found;
  const Route* route = nullptr;
  Params params;       // views into the matched path
  std::string allow;   // for 405: "GET, POST"
};

class Router {
 public:
  void add(bhttp::verb method, std::string pattern, Handler handler, RouteOptions options = {});
  RouteMatch match(bhttp::verb method, std::string_view path) const;
  // Answers GET and HEAD for any path no route matches, outside `/api/` and `/socket.io/`
  // (the desk's files and its single-page routes). Its pattern, the metrics' route label, is
  // `pattern`. Without it such paths are 404 like any other.
  void set_fallback(std::string pattern, Handler handler);
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  std::optional<Route> fallback_;
};

}  // namespace lms::http

#include "http/router.h"

#include <algorithm>
#include <stdexcept>

namespace lms::http {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 1;
  if (path.empty() || path[0] != '/') return parts;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  // "/a/b/" matches like "/a/b"; "/" has no segments.
  if (!parts.empty() && parts.back().empty()) parts.pop_back();
  return parts;
}

// Literal segments score higher in earlier positions, so the most specific route wins.
bool match_segments(const Route& route, const std::vector<std::string_view>& parts, Params& params,
                    unsigned& score) {
  if (route.segments.size() != parts.size()) return false;
  params.clear();
  score = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto& seg = route.segments[i];
    score <<= 1;
    if (!seg.empty() && seg[0] == ':') {
      if (parts[i].empty()) return false;
      params.emplace_back(std::string_view(seg).substr(1), parts[i]);
    } else if (seg == parts[i]) {
      score |= 1;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

void Router::add(bhttp::verb method, std::string pattern, Handler handler, RouteOptions options) {
  Route route{method, pattern, std::move(handler), options, {}};
  for (auto part : split_path(route.pattern)) route.segments.emplace_back(part);
  // Parameter names do not matter for matching: /a/:id and /a/:key are the same route.
  auto shape = [](const std::vector<std::string>& segments) {
    std::vector<std::string_view> out;
    for (const auto& s : segments) out.push_back(!s.empty() && s[0] == ':' ? std::string_view(":") : s);
    return out;
  };
  for (const auto& existing : routes_)
    if (existing.method == method && shape(existing.segments) == shape(route.segments))
      throw std::logic_error("duplicate route " + pattern);
  routes_.push_back(std::move(route));
}

void Router::set_fallback(std::string pattern, Handler handler) {
  RouteOptions options;
  options.authenticated = false;
  fallback_ = Route{bhttp::verb::get, std::move(pattern), std::move(handler), options, {}};
}

RouteMatch Router::match(bhttp::verb method, std::string_view path) const {
  RouteMatch result;
  auto parts = split_path(path);
  unsigned best_score = 0;
  std::vector<std::string_view> allowed;
  Params params;
  for (const auto& route : routes_) {
    unsigned score = 0;
    if (!match_segments(route, parts, params, score)) continue;
    // HEAD is served by the GET route (the server then writes the head alone) unless a route
    // for HEAD itself exists; an exact method wins over the fallback at the same score.
    bool exact = route.method == method;
    bool head_fallback = method == bhttp::verb::head && route.method == bhttp::verb::get;
    if (exact || head_fallback) {
      bool better = !result.route || score > best_score ||
                    (score == best_score && exact && result.route->method != method);
      if (better) {
        result.route = &route;
        result.params = params;
        best_score = score;
      }
    }
    allowed.push_back(bhttp::to_string(route.method));
    if (route.method == bhttp::verb::get) allowed.push_back(bhttp::to_string(bhttp::verb::head));
  }
  if (result.route) {
    result.kind = RouteMatch::Kind::found;
    return result;
  }
  if (allowed.empty() && fallback_ && (method == bhttp::verb::get || method == bhttp::verb::head) &&
      !path.starts_with("/api/") && path != "/api" && !path.starts_with("/socket.io")) {
    result.kind = RouteMatch::Kind::found;
    result.route = &*fallback_;
    return result;
  }
  if (allowed.empty()) return result;
  std::sort(allowed.begin(), allowed.end());
  allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
  result.kind = RouteMatch::Kind::method_not_allowed;
  for (auto m : allowed) {
    if (!result.allow.empty()) result.allow += ", ";
    result.allow += m;
  }
  return result;
}

}  // namespace lms::http

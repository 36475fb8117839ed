#include "http/dispatcher.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>

#include "ops/log.h"

namespace lms::http {

namespace {

std::optional<std::string_view> bearer_token(const Request& request) {
  auto header = request[bhttp::field::authorization];
  constexpr std::string_view prefix = "Bearer ";
  if (header.size() <= prefix.size() || !beast::iequals(header.substr(0, prefix.size()), prefix)) return std::nullopt;
  auto token = header.substr(prefix.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

std::optional<RateScope> scope_of(std::string_view route, const RouteOptions& options) {
  if (!route.starts_with("/api/")) return std::nullopt;
  return options.credentials ? RateScope::auth : RateScope::api;
}

bool role_allows(accounts::Role caller, accounts::Role least) {
  return static_cast<int>(caller) <= static_cast<int>(least);  // admin < manager < agent
}

// The RateLimit-* lines (and Retry-After on a refusal), formatted on the stack and appended
// at once: this runs on every limited request.
void append_rate_lines(std::string& out, const RateDecision& d) {
  char buffer[160];
  char* at = buffer;
  auto line = [&](std::string_view name, std::int64_t value) {
    at = std::copy(name.begin(), name.end(), at);
    *at++ = ':';
    *at++ = ' ';
    at = std::to_chars(at, at + 20, value).ptr;
    *at++ = '\r';
    *at++ = '\n';
  };
  line("RateLimit-Limit", d.limit);
  line("RateLimit-Remaining", d.remaining);
  line("RateLimit-Reset", d.reset_seconds);
  if (!d.allowed) line("Retry-After", d.retry_after_seconds);
  out.append(buffer, static_cast<std::size_t>(at - buffer));
}

}  // namespace

std::string_view client_address(const Request& request, const ClientInfo& client, bool trust_proxy) {
  if (!trust_proxy) return client.address;
  std::string_view forwarded = request["X-Forwarded-For"];
  auto comma = forwarded.rfind(',');
  std::string_view last = comma == std::string_view::npos ? forwarded : forwarded.substr(comma + 1);
  while (!last.empty() && (last.front() == ' ' || last.front() == '\t')) last.remove_prefix(1);
  while (!last.empty() && (last.back() == ' ' || last.back() == '\t')) last.remove_suffix(1);
  if (last.empty() || last.size() > 64) return client.address;
  return last;
}

Dispatcher::Dispatcher(const Router& router, Authenticator authenticate, bool log_requests, RateLimits limits,
                       ops::RequestMetrics* metrics)
    : router_(router),
      authenticate_(std::move(authenticate)),
      log_requests_(log_requests),
      limits_(limits),
      metrics_(metrics) {}

asio::awaitable<Reply> Dispatcher::handle(Request& request, const ClientInfo& client) {
  auto started = std::chrono::steady_clock::now();
  std::string_view target = request.target();
  auto question = target.find('?');
  RequestContext ctx{request,
                     target.substr(0, question),
                     question == std::string_view::npos ? std::string_view{} : target.substr(question + 1),
                     {},
                     {},
                     choose_request_id(request["X-Request-Id"]),
                     std::nullopt,
                     {},
                     client.body_file};
  Response response;
  std::optional<RateDecision> rate;
  bool failed = false;
  std::string failure;
  try {
    auto match = router_.match(request.method(), ctx.path);
    if (match.kind == RouteMatch::Kind::not_found) throw ApiError::not_found("no such route");
    if (match.kind == RouteMatch::Kind::method_not_allowed) {
      response = error_response(405, "method_not_allowed", "method not allowed on this route");
      response.set(bhttp::field::allow, match.allow);
    } else {
      ctx.route = match.route->pattern;
      ctx.params = std::move(match.params);
      // Authentication first (its failure is only reported after the rate limit, so a client
      // guessing tokens is limited like any other), then the limit, then the handler.
      std::exception_ptr auth_error;
      if (match.route->options.authenticated) {
        try {
          auto token = bearer_token(request);
          if (!token) throw ApiError::unauthorized("missing bearer token");
          ctx.principal = co_await authenticate_(*token);
        } catch (const ApiError&) {
          auth_error = std::current_exception();
        }
      }
      auto scope = limits_.limiter ? scope_of(ctx.route, match.route->options) : std::nullopt;
      const RateRule* rule = !scope ? nullptr : *scope == RateScope::api ? &limits_.api : &limits_.auth;
      if (rule && rule->enabled()) {
        std::string key;
        if (*scope == RateScope::api && ctx.principal) {
          key.assign("u:");
          key += ctx.principal->user_id;
        } else {
          key.assign("a:");
          key += client_address(request, client, limits_.trust_proxy);
        }
        rate = co_await limits_.limiter->take(*scope, std::move(key), *rule);
        if (!rate->allowed)
          throw ApiError(429, "rate_limited", "too many requests; retry after " + std::to_string(rate->retry_after_seconds) + " s");
      }
      if (auth_error) std::rethrow_exception(auth_error);
      if (ctx.principal && !role_allows(ctx.principal->role, match.route->options.least_role))
        throw ApiError::forbidden("not allowed for your role");
      response = co_await match.route->handler(ctx);
    }
  } catch (const ApiError& error) {
    response = error_response(error);
  } catch (const std::exception& error) {
    failed = true;
    failure = error.what();
    response = error_response(500, "internal", "internal server error");
  }
  std::string head_lines;
  head_lines.reserve(160);
  head_lines += "X-Request-Id: ";
  head_lines += ctx.request_id;  // plain characters only (choose_request_id)
  head_lines += "\r\n";
  if (rate) append_rate_lines(head_lines, *rate);

  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  if (metrics_) metrics_->observe(request.method_string(), ctx.route, response.result_int(), micros);
  if (failed) {
    ops::LogLine("unhandled error")
        .str("request_id", ctx.request_id)
        .str("route", ctx.route)
        .str("error", failure)
        .error();
  }
  if (log_requests_) {
    ops::LogLine("request")
        .str("method", request.method_string())
        .str("route", ctx.route.empty() ? std::string_view("-") : ctx.route)
        .num("status", response.result_int())
        .real("duration_ms", static_cast<double>(micros.count()) / 1000.0)
        .str("request_id", ctx.request_id)
        .str("user_id", ctx.principal ? std::string_view(ctx.principal->user_id) : std::string_view())
        .str("client", client.address)
        .info();
  }
  bool streams = !failed && ctx.stream && response.result_int() < 300;
  co_return Reply{std::move(response), streams ? std::move(ctx.stream) : StreamBody{}, std::move(head_lines)};
}

}  // namespace lms::http

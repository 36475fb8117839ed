// Turns a parsed request into a response: request id, routing (404/405), authentication,
// rate limits (credential routes per client address, other `/api/*` routes per user, or per
// client address before authentication), the route's least role, the handler, and the one
// place where errors become the contract's error body. Logs one line per request (method,
// route pattern, status, duration, request id, user id).
#pragma once

#include <functional>
#include <string_view>

#include "http/rate_limit.h"
#include "ops/request_metrics.h"
#include "http/router.h"
#include "http/server.h"

namespace lms::http {

// Resolves a bearer token to the caller; throws ApiError (401) when it cannot.
using Authenticator = std::function<asio::awaitable<accounts::Principal>(std::string_view token)>;

struct RateLimits {
  RateLimiter* limiter = nullptr;  // none: nothing is limited
  RateRule api;
  RateRule auth;
  // Behind a reverse proxy: the client is the address the proxy appended to X-Forwarded-For.
  bool trust_proxy = false;
};

class Dispatcher {
 public:
  Dispatcher(const Router& router, Authenticator authenticate, bool log_requests, RateLimits limits = {},
             ops::RequestMetrics* metrics = nullptr);

  asio::awaitable<Reply> handle(Request& request, const ClientInfo& client);

 private:
  const Router& router_;
  Authenticator authenticate_;
  bool log_requests_;
  RateLimits limits_;
  ops::RequestMetrics* metrics_;
};

// The client's address: the socket's peer, or with `trust_proxy` the last X-Forwarded-For
// entry (the one the proxy itself appended; earlier entries are the client's own claims).
std::string_view client_address(const Request& request, const ClientInfo& client, bool trust_proxy);

}  // namespace lms::http

// Turns a parsed request into a response: request id, routing (404/405), authentication,
// the handler, and the one place where errors become the contract's error body. Logs one
// line per request (method, route pattern, status, duration, request id, user id).
#pragma once

#include <functional>
#include <string_view>

#include "http/router.h"
#include "http/server.h"

namespace lms::http {

// Resolves a bearer token to the caller; throws ApiError (401) when it cannot.
using Authenticator = std::function<asio::awaitable<accounts::Principal>(std::string_view token)>;

class Dispatcher {
 public:
  Dispatcher(const Router& router, Authenticator authenticate, bool log_requests);

  asio::awaitable<Reply> handle(Request& request, const ClientInfo& client);

 private:
  const Router& router_;
  Authenticator authenticate_;
  bool log_requests_;
};

// The request id to use: the client's X-Request-Id when it is short and plain, else a new one.
std::string choose_request_id(std::string_view inbound);

}  // namespace lms::http

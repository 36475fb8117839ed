// The few calls of the contract that lms-load's set-up makes (register, sign in, create users,
// refresh, import leads), each honouring 429 with its Retry-After instead of failing, and
// what the server's RateLimit-* headers say of its per-user quota.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <string>

#include "client.h"
#include "state.h"

namespace lms::load {

// Thrown for an answer set-up cannot go on from (a wrong password, a server that is not lms,
// an unreachable server); the message is the one line the operator sees.
struct SetupError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Api {
 public:
  // `on_wait(seconds)` is told whenever a 429 makes a call wait.
  Api(HttpConnection& http, std::function<void(int seconds)> on_wait) : http_(http), on_wait_(std::move(on_wait)) {}

  // Sends the request again after each 429's Retry-After (at most `max_waits` times).
  net::awaitable<HttpAnswer> call(std::string method, std::string path, std::string token, std::string body = {},
                                  std::string content_type = "application/json", int max_waits = 1000);

  net::awaitable<Organization> register_organization(const std::string& name, const std::string& email,
                                                     const std::string& password);
  // Signs in; returns the account with fresh tokens. Throws SetupError on 401.
  net::awaitable<Account> login(const std::string& email, const std::string& password);
  net::awaitable<Account> create_user(const Account& admin, const std::string& name, const std::string& email,
                                      const std::string& password, const std::string& role);
  // Renews the account's tokens in place; false when the refresh token no longer works.
  net::awaitable<bool> refresh(Account& account);
  // Imports `csv` into the caller's organization (assign=round_robin) and waits for the job.
  net::awaitable<std::int64_t> import_leads(const Account& admin, const std::string& csv);

  // The per-user quota the server announced (requests per second, from RateLimit-Limit and
  // RateLimit-Reset of the last authenticated call), or nullopt when it sends none.
  std::optional<double> per_user_rate() const { return per_user_rate_; }

 private:
  HttpConnection& http_;
  std::function<void(int)> on_wait_;
  std::optional<double> per_user_rate_;
};

}  // namespace lms::load

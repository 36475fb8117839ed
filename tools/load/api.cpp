// The contract calls of lms-load's set-up (see api.h).
#include "api.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>

namespace lms::load {

namespace {

std::string json_string(const std::string& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
  return std::string(buffer.GetString(), buffer.GetSize());
}

rapidjson::Document parse_body(const HttpAnswer& answer, const char* what) {
  rapidjson::Document doc;
  doc.Parse(answer.body.c_str(), answer.body.size());
  if (doc.HasParseError() || !doc.IsObject()) throw SetupError(std::string(what) + ": the answer is not a JSON object");
  return doc;
}

std::string get(const rapidjson::Value& v, const char* pointer_a, const char* pointer_b = nullptr) {
  const rapidjson::Value* at = &v;
  for (const char* key : {pointer_a, pointer_b}) {
    if (!key) break;
    if (!at->IsObject()) return {};
    auto it = at->FindMember(key);
    if (it == at->MemberEnd()) return {};
    at = &it->value;
  }
  return at->IsString() ? std::string(at->GetString(), at->GetStringLength()) : std::string();
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string describe(const HttpAnswer& a) {
  if (a.status == 0) return "no answer (" + a.error + ")";
  return "HTTP " + std::to_string(a.status) + " " + a.body.substr(0, 200);
}

void take_session(Account& account, const rapidjson::Document& doc) {
  account.access_token = get(doc, "accessToken");
  account.refresh_token = get(doc, "refreshToken");
  auto expires = doc.FindMember("expiresIn");
  std::int64_t seconds = expires != doc.MemberEnd() && expires->value.IsInt64() ? expires->value.GetInt64() : 900;
  account.access_expires_at_ms = wall_ms() + seconds * 1000;
}

}  // namespace

net::awaitable<HttpAnswer> Api::call(std::string method, std::string path, std::string token, std::string body,
                                     std::string content_type, int max_waits) {
  for (int waits = 0;; ++waits) {
    HttpAnswer answer = co_await http_.request(method, path, token, body, content_type);
    if (!token.empty() && !answer.ratelimit_limit.empty() && !answer.ratelimit_reset.empty()) {
      // GCRA: Reset is the time until the spent part of the quota (limit - remaining) is back,
      // so the quota refills at (limit - remaining) / reset requests a second (rounded down,
      // as Reset is rounded up to whole seconds).
      try {
        double limit = std::stod(answer.ratelimit_limit), remaining = std::stod(answer.ratelimit_remaining);
        double reset = std::stod(answer.ratelimit_reset);
        if (limit > remaining && reset > 0) per_user_rate_ = (limit - remaining) / reset;
      } catch (const std::exception&) {
      }
    }
    if (answer.status != 429 || waits >= max_waits) co_return answer;
    int seconds = 1;
    try {
      seconds = std::max(1, std::stoi(answer.retry_after));
    } catch (const std::exception&) {
    }
    if (on_wait_) on_wait_(seconds);
    net::steady_timer timer(co_await net::this_coro::executor, std::chrono::seconds(seconds));
    co_await timer.async_wait(net::use_awaitable);
  }
}

net::awaitable<Organization> Api::register_organization(const std::string& name, const std::string& email,
                                                        const std::string& password) {
  std::string body = "{\"organizationName\":" + json_string(name) + ",\"name\":\"Load Admin\",\"email\":" +
                     json_string(email) + ",\"password\":" + json_string(password) + "}";
  auto answer = co_await call("POST", "/api/auth/register", "", body);
  if (answer.status != 201) throw SetupError("registering an organization failed: " + describe(answer));
  auto doc = parse_body(answer, "register");
  Organization org;
  org.id = get(doc, "organization", "id");
  Account admin{get(doc, "user", "id"), email, password, "admin"};
  take_session(admin, doc);
  if (org.id.empty() || admin.user_id.empty() || admin.access_token.empty())
    throw SetupError("register answered without organization, user or tokens: is this an lms server?");
  org.accounts.push_back(std::move(admin));
  co_return org;
}

net::awaitable<Account> Api::login(const std::string& email, const std::string& password) {
  auto answer = co_await call("POST", "/api/auth/login", "",
                              "{\"email\":" + json_string(email) + ",\"password\":" + json_string(password) + "}");
  if (answer.status == 401) throw SetupError("signing in as " + email + " failed: wrong email or password");
  if (answer.status != 200) throw SetupError("signing in as " + email + " failed: " + describe(answer));
  auto doc = parse_body(answer, "login");
  Account account{get(doc, "user", "id"), email, password, get(doc, "user", "role")};
  take_session(account, doc);
  co_return account;
}

net::awaitable<Account> Api::create_user(const Account& admin, const std::string& name, const std::string& email,
                                         const std::string& password, const std::string& role) {
  std::string body = "{\"name\":" + json_string(name) + ",\"email\":" + json_string(email) +
                     ",\"password\":" + json_string(password) + ",\"role\":" + json_string(role) + "}";
  auto answer = co_await call("POST", "/api/users", admin.access_token, body);
  if (answer.status != 201) throw SetupError("creating user " + email + " failed: " + describe(answer));
  co_return co_await login(email, password);
}

net::awaitable<bool> Api::refresh(Account& account) {
  auto answer = co_await call("POST", "/api/auth/refresh", "", "{\"refreshToken\":" + json_string(account.refresh_token) + "}");
  if (answer.status != 200) co_return false;
  take_session(account, parse_body(answer, "refresh"));
  co_return true;
}

net::awaitable<std::int64_t> Api::import_leads(const Account& admin, const std::string& csv) {
  auto answer = co_await call("POST", "/api/imports?assign=round_robin&source=load-test", admin.access_token, csv,
                              "text/csv");
  if (answer.status != 202) throw SetupError("importing leads failed: " + describe(answer));
  std::string id = get(parse_body(answer, "import"), "id");
  for (;;) {
    net::steady_timer timer(co_await net::this_coro::executor, std::chrono::milliseconds(200));
    co_await timer.async_wait(net::use_awaitable);
    auto job = co_await call("GET", "/api/imports/" + id, admin.access_token);
    if (job.status != 200) throw SetupError("reading the import job failed: " + describe(job));
    auto doc = parse_body(job, "import job");
    auto state = get(doc, "state");
    if (state == "completed") {
      auto inserted = doc.FindMember("inserted");
      co_return inserted != doc.MemberEnd() && inserted->value.IsInt64() ? inserted->value.GetInt64() : 0;
    }
    if (state == "failed" || state == "reverted") throw SetupError("the lead import ended " + state + ": " + job.body);
  }
}

}  // namespace lms::load

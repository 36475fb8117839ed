#include "auth/auth_routes.h"

#include "accounts/render.h"

namespace lms::auth {

namespace asio = boost::asio;
using http::bhttp::status;
using http::bhttp::verb;

namespace {

void write_session_fields(json::Writer& w, const Session& s) {
  json::field(w, "accessToken", s.access_token);
  json::field(w, "refreshToken", s.refresh_token);
  json::key(w, "expiresIn");
  w.Int64(s.expires_in);
  json::key(w, "user");
  accounts::write_user(w, s.user);
}

http::Response session_response(status code, const Session& s) {
  return http::json_response(code, json::build([&](json::Writer& w) {
                               w.StartObject();
                               write_session_fields(w, s);
                               w.EndObject();
                             }));
}

}  // namespace

void add_auth_routes(http::Router& router, AuthService& auth) {
  // Credential routes share the per-address auth limit; `me` is an ordinary API call.
  const http::RouteOptions anyone{.authenticated = false, .credentials = true};
  const http::RouteOptions signed_in_credentials{.authenticated = true, .credentials = true};

  router.add(verb::post, "/api/auth/register", [&auth](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto body = ctx.json_body();
    Registration input{json::optional_string(body, "organizationName").value_or(""),
                       json::optional_string(body, "name").value_or(""),
                       json::optional_string(body, "email").value_or(""),
                       json::optional_string(body, "password").value_or(""),
                       json::optional_string(body, "defaultCountry")};
    auto [session, org] = co_await auth.register_organization(std::move(input));
    co_return http::json_response(status::created, json::build([&](json::Writer& w) {
                                    w.StartObject();
                                    write_session_fields(w, session);
                                    json::key(w, "organization");
                                    accounts::write_organization(w, org);
                                    w.EndObject();
                                  }));
  }, anyone);

  router.add(verb::post, "/api/auth/login", [&auth](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto body = ctx.json_body();
    auto session = co_await auth.login(json::optional_string(body, "email").value_or(""),
                                       json::optional_string(body, "password").value_or(""));
    co_return session_response(status::ok, session);
  }, anyone);

  router.add(verb::post, "/api/auth/refresh", [&auth](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto body = ctx.json_body();
    auto session = co_await auth.refresh(json::required_string(body, "refreshToken"));
    co_return session_response(status::ok, session);
  }, anyone);

  router.add(verb::post, "/api/auth/logout", [&auth](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto body = ctx.json_body();
    std::string token = json::required_string(body, "refreshToken");
    co_await auth.logout(ctx.caller(), std::move(token));
    co_return http::empty_response(status::no_content);
  }, signed_in_credentials);

  router.add(verb::get, "/api/auth/me", [&auth](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto [user, org] = co_await auth.me(ctx.caller());
    co_return http::json_response(status::ok, json::build([&](json::Writer& w) {
                                    w.StartObject();
                                    json::key(w, "user");
                                    accounts::write_user(w, user);
                                    json::key(w, "organization");
                                    accounts::write_organization(w, org);
                                    w.EndObject();
                                  }));
  });
}

}  // namespace lms::auth

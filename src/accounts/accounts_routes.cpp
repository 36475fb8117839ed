#include "accounts/accounts_routes.h"

#include "accounts/render.h"

namespace lms::accounts {

namespace asio = boost::asio;
using http::bhttp::status;
using http::bhttp::verb;

void add_account_routes(http::Router& router, AccountsService& accounts) {
  const http::RouteOptions admins{.least_role = Role::admin};
  const http::RouteOptions managers{.least_role = Role::manager};

  router.add(verb::get, "/api/users", [&accounts](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto users = co_await accounts.list_users(ctx.caller());
    co_return http::json_response(status::ok, json::build([&](json::Writer& w) {
                                    w.StartObject();
                                    json::key(w, "items");
                                    w.StartArray();
                                    for (const auto& u : users) write_user(w, u);
                                    w.EndArray();
                                    w.EndObject();
                                  }));
  }, managers);

  router.add(verb::post, "/api/users", [&accounts](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto body = ctx.json_body();
    NewUser input{json::optional_string(body, "name").value_or(""), json::optional_string(body, "email").value_or(""),
                  json::optional_string(body, "password").value_or(""),
                  json::optional_string(body, "role").value_or("")};
    auto user = co_await accounts.create_user(ctx.caller(), std::move(input));
    auto res = http::json_response(status::created, user_json(user));
    res.set(http::bhttp::field::location, "/api/users/" + user.id);
    co_return res;
  }, admins);

  router.add(verb::get, "/api/users/:id", [&accounts](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto user = co_await accounts.get_user(ctx.caller(), ctx.param("id"));
    co_return http::json_response(status::ok, user_json(user));
  });

  router.add(verb::patch, "/api/users/:id", [&accounts](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto body = ctx.json_body();
    UserChanges changes{json::optional_string(body, "name"), json::optional_string(body, "role"),
                        json::optional_bool(body, "active"), json::optional_string(body, "password")};
    auto user = co_await accounts.update_user(ctx.caller(), ctx.param("id"), std::move(changes));
    co_return http::json_response(status::ok, user_json(user));
  }, admins);

  router.add(verb::get, "/api/organization", [&accounts](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto org = co_await accounts.get_organization(ctx.caller());
    co_return http::json_response(status::ok, organization_json(org));
  });

  router.add(verb::patch, "/api/organization",
             [&accounts](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
               auto body = ctx.json_body();
               OrganizationChanges changes{json::optional_string(body, "name"),
                                           json::optional_string(body, "defaultCountry")};
               auto org = co_await accounts.update_organization(ctx.caller(), std::move(changes));
               co_return http::json_response(status::ok, organization_json(org));
             }, admins);
}

}  // namespace lms::accounts

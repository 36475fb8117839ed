#include "leads/leads_routes.h"

#include <charconv>

#include "common/validate.h"
#include "leads/render.h"
#include "store/store.h"

namespace lms::leads {

namespace asio = boost::asio;
using http::bhttp::field;
using http::bhttp::status;
using http::bhttp::verb;

namespace {

// `reported` names the field in a 422 when it is not `name` itself (`set.status` in a bulk body).
Field<std::string> string_field(const rapidjson::Value& body, const char* name, const char* reported = nullptr) {
  auto it = body.FindMember(name);
  if (it == body.MemberEnd()) return std::nullopt;
  if (it->value.IsNull()) return std::optional<std::string>{};
  if (!it->value.IsString()) throw ApiError::validation(reported ? reported : name, "must be a string or null");
  return std::optional<std::string>{std::string(it->value.GetString(), it->value.GetStringLength())};
}

std::optional<std::vector<std::string>> tags_field(const rapidjson::Value& body, const char* name,
                                                   const char* reported = nullptr) {
  auto it = body.FindMember(name);
  if (it == body.MemberEnd()) return std::nullopt;
  const char* field = reported ? reported : name;
  std::vector<std::string> tags;
  if (it->value.IsNull()) return tags;
  if (!it->value.IsArray()) throw ApiError::validation(field, "must be an array of strings");
  if (it->value.Size() > 100) throw ApiError::validation(field, "too many tags");
  for (auto& v : it->value.GetArray()) {
    if (!v.IsString()) throw ApiError::validation(field, "must be an array of strings");
    tags.emplace_back(v.GetString(), v.GetStringLength());
  }
  return tags;
}

// `custom` must be an object of string, number or boolean values; it is re-serialized so the
// stored text is always canonical, small and safe to embed.
std::optional<std::string> custom_field(const rapidjson::Value& body) {
  auto it = body.FindMember("custom");
  if (it == body.MemberEnd()) return std::nullopt;
  if (it->value.IsNull()) return std::string("{}");
  if (!it->value.IsObject()) throw ApiError::validation("custom", "must be an object");
  if (it->value.MemberCount() > 50) throw ApiError::validation("custom", "at most 50 keys");
  return json::build([&](json::Writer& w) {
    w.StartObject();
    for (auto& m : it->value.GetObject()) {
      if (m.name.GetStringLength() == 0 || m.name.GetStringLength() > 100)
        throw ApiError::validation("custom", "keys must be 1 to 100 characters");
      const auto& v = m.value;
      if (!validate::is_free_text({m.name.GetString(), m.name.GetStringLength()}))
        throw ApiError::validation("custom", "keys must not contain control characters");
      if (v.IsString()) check_custom_string({m.name.GetString(), m.name.GetStringLength()}, {v.GetString(), v.GetStringLength()});
      if (!v.IsString() && !v.IsNumber() && !v.IsBool())
        throw ApiError::validation("custom", "values must be strings, numbers or booleans");
      w.Key(m.name.GetString(), m.name.GetStringLength());
      v.Accept(w);
    }
    w.EndObject();
  });
}

LeadInput lead_input(const rapidjson::Value& body) {
  LeadInput in;
  validate::all([&] { in.name = string_field(body, "name"); }, [&] { in.phone = string_field(body, "phone"); },
                [&] { in.email = string_field(body, "email"); }, [&] { in.company = string_field(body, "company"); },
                [&] { in.source = string_field(body, "source"); }, [&] { in.status = string_field(body, "status"); },
                [&] { in.assigned_to = string_field(body, "assignedTo"); },
                [&] { in.tags = tags_field(body, "tags"); }, [&] { in.custom_json = custom_field(body); });
  return in;
}

ListRequest list_request(const http::RequestContext& ctx) {
  ListRequest r;
  r.status = ctx.query_param("status");
  r.assigned_to = ctx.query_param("assignedTo");
  r.source = ctx.query_param("source");
  r.tag = ctx.query_param("tag");
  r.q = ctx.query_param("q");
  r.created_from = ctx.query_param("createdFrom");
  r.created_to = ctx.query_param("createdTo");
  r.sort = ctx.query_param("sort");
  r.limit = ctx.query_param("limit");
  r.cursor = ctx.query_param("cursor");
  return r;
}

// `"7"`, `W/"7"` or `7`; `*` matches any version.
std::optional<std::int64_t> if_match(const http::RequestContext& ctx) {
  auto raw = ctx.request[field::if_match];
  if (raw.empty() || raw == "*") return std::nullopt;
  std::string_view v = raw;
  if (v.substr(0, 2) == "W/") v.remove_prefix(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  std::int64_t version = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), version);
  // A malformed header is the client's mistake (400); a well-formed stale one is 412 (service).
  if (ec != std::errc() || end != v.data() + v.size() || version < 1)
    throw ApiError::bad_request("If-Match: must be a lead version such as \"3\"");
  return version;
}

http::Response lead_response(status code, const Lead& lead) {
  auto res = http::json_response(code, lead_json(lead));
  res.set(field::etag, "\"" + std::to_string(lead.version) + "\"");
  return res;
}

}  // namespace

void add_lead_routes(http::Router& router, LeadsService& leads) {
  const http::RouteOptions managers{.least_role = accounts::Role::manager};

  router.add(verb::post, "/api/leads", [&leads](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto body = ctx.json_body();
    auto lead = co_await leads.create(ctx.caller(), lead_input(body));
    auto res = lead_response(status::created, lead);
    res.set(field::location, "/api/leads/" + lead.id);
    co_return res;
  });

  router.add(verb::get, "/api/leads", [&leads](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto result = co_await leads.list(ctx.caller(), list_request(ctx));
    co_return http::json_response(status::ok, json::build([&](json::Writer& w) {
                                    w.StartObject();
                                    json::key(w, "items");
                                    w.StartArray();
                                    for (const auto& lead : result.items) write_lead(w, lead);
                                    w.EndArray();
                                    json::key(w, "nextCursor");
                                    result.next_cursor ? json::string(w, *result.next_cursor) : (void)w.Null();
                                    w.EndObject();
                                  }));
  });

  router.add(verb::get, "/api/leads/count", [&leads](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto n = co_await leads.count(ctx.caller(), list_request(ctx));
    co_return http::json_response(status::ok, "{\"count\":" + std::to_string(n) + "}");
  });

  router.add(verb::get, "/api/leads/stats", [&leads](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto result = co_await leads.stats(ctx.caller(), list_request(ctx), ctx.query_param("days"));
    co_return http::json_response(status::ok, json::build([&](json::Writer& w) {
                                    w.StartObject();
                                    json::key(w, "total");
                                    w.Int64(result.total);
                                    json::key(w, "byStatus");
                                    w.StartObject();
                                    for (auto status : {"new", "contacted", "qualified", "converted", "lost"}) {
                                      std::int64_t n = 0;
                                      for (const auto& [name, count] : result.stats.by_status)
                                        if (name == status) n = count;
                                      json::key(w, status);
                                      w.Int64(n);
                                    }
                                    w.EndObject();
                                    json::key(w, "bySource");
                                    w.StartArray();
                                    for (const auto& [source, count] : result.stats.by_source) {
                                      w.StartObject();
                                      json::field(w, "source", source);
                                      json::key(w, "count");
                                      w.Int64(count);
                                      w.EndObject();
                                    }
                                    w.EndArray();
                                    json::key(w, "byAssignee");
                                    w.StartArray();
                                    for (const auto& [assignee, count] : result.stats.by_assignee) {
                                      w.StartObject();
                                      json::key(w, "assignedTo");
                                      assignee ? json::string(w, *assignee) : (void)w.Null();
                                      json::key(w, "count");
                                      w.Int64(count);
                                      w.EndObject();
                                    }
                                    w.EndArray();
                                    json::key(w, "createdPerDay");
                                    w.StartArray();
                                    for (const auto& [day, count] : result.per_day) {
                                      w.StartObject();
                                      json::field(w, "day", day);
                                      json::key(w, "count");
                                      w.Int64(count);
                                      w.EndObject();
                                    }
                                    w.EndArray();
                                    w.EndObject();
                                  }));
  });

  router.add(verb::get, "/api/leads/export", [&leads](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    std::shared_ptr<store::LeadCursor> cursor = leads.export_leads(
        ctx.caller(), list_request(ctx), [](std::string& out, const LeadView& lead) { append_csv_row(out, lead); });
    ctx.stream = [cursor](http::ChunkWriter& out) -> asio::awaitable<void> {
      if (!co_await out.write(std::string(kCsvHeader))) co_return;
      for (;;) {
        auto chunk = co_await cursor->next();
        if (chunk.empty()) co_return;
        if (!co_await out.write(std::move(chunk))) co_return;
      }
    };
    http::Response head{status::ok, 11};
    head.set(field::content_type, "text/csv; charset=utf-8");
    head.set(field::content_disposition, "attachment; filename=\"leads.csv\"");
    co_return head;
  });

  router.add(verb::post, "/api/leads/bulk", [&leads](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto body = ctx.json_body();
    BulkRequest request;
    auto ids = body.FindMember("ids");
    if (ids == body.MemberEnd() || !ids->value.IsArray()) throw ApiError::validation("ids", "must be an array of lead ids");
    if (ids->value.Size() > 1000) throw ApiError::validation("ids", "at most 1000 ids");
    for (auto& v : ids->value.GetArray()) {
      if (!v.IsString()) throw ApiError::validation("ids", "must be an array of lead ids");
      request.ids.emplace_back(v.GetString(), v.GetStringLength());
    }
    auto set = body.FindMember("set");
    if (set == body.MemberEnd() || !set->value.IsObject()) throw ApiError::validation("set", "must be an object");
    validate::all(
        [&] {
          auto status_field = string_field(set->value, "status", "set.status");
          if (!status_field) return;
          if (!*status_field) throw ApiError::validation("set.status", "must not be null");
          request.status = **status_field;
        },
        [&] { request.assigned_to = string_field(set->value, "assignedTo", "set.assignedTo"); },
        [&] { request.tags = tags_field(set->value, "tags", "set.tags"); });
    auto updated = co_await leads.bulk_update(ctx.caller(), std::move(request));
    co_return http::json_response(status::ok, "{\"updated\":" + std::to_string(updated) + "}");
  }, managers);

  router.add(verb::get, "/api/leads/:id", [&leads](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto lead = co_await leads.get(ctx.caller(), ctx.param("id"));
    co_return lead_response(status::ok, lead);
  });

  router.add(verb::patch, "/api/leads/:id", [&leads](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto body = ctx.json_body();
    auto version = if_match(ctx);
    auto lead = co_await leads.update(ctx.caller(), ctx.param("id"), lead_input(body), version);
    co_return lead_response(status::ok, lead);
  });

  router.add(verb::delete_, "/api/leads/:id", [&leads](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    co_await leads.remove(ctx.caller(), ctx.param("id"));
    co_return http::empty_response(status::no_content);
  });

  router.add(verb::get, "/api/leads/:id/activities",
             [&leads](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
               // A named local, not a temporary inside co_await (GCC 12 destroys those twice).
               ActivitiesRequest request{ctx.query_param("limit"), ctx.query_param("cursor")};
               auto page = co_await leads.activities(ctx.caller(), ctx.param("id"), std::move(request));
               co_return http::json_response(status::ok, json::build([&](json::Writer& w) {
                                               w.StartObject();
                                               json::key(w, "items");
                                               w.StartArray();
                                               for (const auto& a : page.items) write_activity(w, a);
                                               w.EndArray();
                                               json::key(w, "nextCursor");
                                               page.next_cursor ? json::string(w, *page.next_cursor) : (void)w.Null();
                                               w.EndObject();
                                             }));
             });

  router.add(verb::post, "/api/leads/:id/notes", [&leads](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto body = ctx.json_body();
    std::string text = json::required_string(body, "body");
    auto note = co_await leads.add_note(ctx.caller(), ctx.param("id"), std::move(text));
    co_return http::json_response(status::created, activity_json(note));
  });
}

}  // namespace lms::leads

// Black-box tests of leads: create and its 4xx, duplicates (including a 100-connection race),
// get/patch/delete with If-Match, versions and activities, role rules, bulk updates, notes,
// list filters and keyset pagination (also while leads are being inserted), signed cursors,
// literal substring search, count, streamed CSV export, and a cross-tenant sweep.
#include <gtest/gtest.h>
#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <functional>
#include <latch>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace lms::test {
namespace {

using Headers = std::map<std::string, std::string>;

// ---------------------------------------------------------------------------------------
// Small helpers

// A JSON string literal.
std::string js(const std::string& s) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string json_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const auto& i : items) out += (out.size() > 1 ? "," : "") + js(i);
  return out + "]";
}

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string url(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

Headers bearer(const std::string& token, Headers extra = {}) {
  extra["Authorization"] = "Bearer " + token;
  return extra;
}

// A scalar at a JSON pointer of a value, as text ("null" for null, "<absent>" when missing).
std::string at(const rapidjson::Value& v, const char* pointer) {
  const rapidjson::Value* x = rapidjson::Pointer(pointer).Get(v);
  if (!x) return "<absent>";
  if (x->IsString()) return std::string(x->GetString(), x->GetStringLength());
  if (x->IsNull()) return "null";
  if (x->IsBool()) return x->GetBool() ? "true" : "false";
  if (x->IsInt64()) return std::to_string(x->GetInt64());
  return "<non-scalar>";
}

std::vector<std::string> string_array(const rapidjson::Value& v) {
  std::vector<std::string> out;
  if (!v.IsArray()) return {"<not an array>"};
  for (auto& x : v.GetArray()) out.push_back(x.IsString() ? x.GetString() : "<non-string>");
  return out;
}

// Unique valid US phone numbers: the 415-555-NNNN block, in two spellings.
struct Phone {
  std::string display;  // "(415) 555-1234"
  std::string e164;     // "+14155551234"
  std::string digits;   // "4155551234"
};
Phone phone_number(int n) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04d", n % 10000);
  return {std::string("(415) 555-") + buf, std::string("+1415555") + buf, std::string("415555") + buf};
}
Phone fresh_phone() {
  static std::atomic<int> next{1000};
  return phone_number(next++);
}

// RFC 3339 with milliseconds <-> epoch milliseconds (UTC, `Z` only: what lms writes).
std::int64_t parse_ms(const std::string& t) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &ms) != 7)
    throw std::runtime_error("not an RFC 3339 timestamp with milliseconds: " + t);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}
std::string format_ms(std::int64_t v) {
  std::time_t secs = static_cast<std::time_t>(v / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(v % 1000));
  return buf;
}

// An RFC 4180 parser that accepts only CRLF as the record separator outside quotes.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string cell;
  bool quoted = false, in_quotes = false, any = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        cell.push_back(c);
      }
      continue;
    }
    if (c == '"') {
      if (!cell.empty() || quoted) throw std::runtime_error("csv: quote inside an unquoted cell");
      quoted = in_quotes = any = true;
    } else if (c == ',') {
      row.push_back(cell);
      cell.clear();
      quoted = false;
    } else if (c == '\r') {
      if (i + 1 >= text.size() || text[i + 1] != '\n') throw std::runtime_error("csv: bare CR");
      ++i;
      row.push_back(cell);
      rows.push_back(row);
      row.clear();
      cell.clear();
      quoted = any = false;
    } else if (c == '\n') {
      throw std::runtime_error("csv: bare LF as a record separator");
    } else {
      if (quoted) throw std::runtime_error("csv: text after a closing quote");
      cell.push_back(c);
      any = true;
    }
  }
  if (in_quotes) throw std::runtime_error("csv: unterminated quote");
  if (any || !cell.empty() || !row.empty()) throw std::runtime_error("csv: last record lacks CRLF");
  return rows;
}

const char* kCsvHeader = "id,name,phone,email,company,source,status,assignedTo,tags,createdAt,updatedAt";

// A lead as the tests track it.
struct L {
  int idx = 0;
  std::string id, name, phone, email, company, source, status, assigned, created, updated;
  std::vector<std::string> tags;
  std::int64_t version = 0;
};
L to_lead(const rapidjson::Value& v, int idx = 0) {
  L l;
  l.idx = idx;
  l.id = at(v, "/id");
  l.name = at(v, "/name");
  l.phone = at(v, "/phone");
  l.email = at(v, "/email");
  l.company = at(v, "/company");
  l.source = at(v, "/source");
  l.status = at(v, "/status");
  l.assigned = at(v, "/assignedTo");
  l.created = at(v, "/createdAt");
  l.updated = at(v, "/updatedAt");
  if (v.HasMember("tags")) l.tags = string_array(v["tags"]);
  if (v.HasMember("version") && v["version"].IsInt64()) l.version = v["version"].GetInt64();
  return l;
}

// ---------------------------------------------------------------------------------------
// Shared fixture plumbing

// Operations shared by both fixtures, bound to one server.
struct Api {
  std::uint16_t port;
  Client c() const { return Client(port); }

  Response create(const Account& who, const std::string& body) const {
    return c().post("/api/leads", body, who.access_token);
  }
  // Creates a lead and returns it; throws on anything but 201.
  L must_create(const Account& who, const std::string& body, int idx = 0) const {
    auto res = create(who, body);
    if (res.status != 201) throw std::runtime_error("create failed (" + std::to_string(res.status) + "): " + res.body);
    return to_lead(res.json, idx);
  }
  Response get(const Account& who, const std::string& id) const {
    return c().get("/api/leads/" + id, who.access_token);
  }
  Response patch(const Account& who, const std::string& id, const std::string& body, Headers extra = {}) const {
    return c().request("PATCH", "/api/leads/" + id, body, bearer(who.access_token, std::move(extra)));
  }
  Response del(const Account& who, const std::string& id) const {
    return c().request("DELETE", "/api/leads/" + id, {}, bearer(who.access_token));
  }
  Response activities(const Account& who, const std::string& id) const {
    return c().get("/api/leads/" + id + "/activities", who.access_token);
  }
  Response note(const Account& who, const std::string& id, const std::string& body) const {
    return c().post("/api/leads/" + id + "/notes", body, who.access_token);
  }
  Response bulk(const Account& who, const std::string& body) const {
    return c().post("/api/leads/bulk", body, who.access_token);
  }
  Response list(const Account& who, const std::string& query) const {
    return c().get("/api/leads" + (query.empty() ? "" : "?" + query), who.access_token);
  }
  std::int64_t count(const Account& who, const std::string& query) const {
    auto res = c().get("/api/leads/count" + (query.empty() ? "" : "?" + query), who.access_token);
    if (res.status != 200 || !res.json.IsObject() || !res.json.HasMember("count") || !res.json["count"].IsInt64())
      throw std::runtime_error("count failed (" + std::to_string(res.status) + "): " + res.body);
    return res.json["count"].GetInt64();
  }
  Response export_csv(const Account& who, const std::string& query) const {
    return fetch(port, "GET", "/api/leads/export" + (query.empty() ? "" : "?" + query), bearer(who.access_token));
  }
  // Walks every page of a list query; checks page sizes and the last page's null cursor.
  std::vector<L> walk(const Account& who, const std::string& query, int limit,
                      const std::function<void()>& between_pages = {}) const {
    std::vector<L> out;
    std::string cursor;
    for (int page = 0; page < 10000; ++page) {
      std::string q = query;
      q += (q.empty() ? "" : "&") + std::string("limit=") + std::to_string(limit);
      if (!cursor.empty()) q += "&cursor=" + url(cursor);
      auto res = list(who, q);
      if (res.status != 200 || !res.json.IsObject() || !res.json["items"].IsArray())
        throw std::runtime_error("list failed (" + std::to_string(res.status) + ") for " + q + ": " + res.body);
      auto& items = res.json["items"];
      if (static_cast<int>(items.Size()) > limit) throw std::runtime_error("page larger than limit for " + q);
      for (auto& v : items.GetArray()) out.push_back(to_lead(v));
      const auto& next = res.json["nextCursor"];
      if (next.IsNull()) return out;
      if (!next.IsString() || next.GetStringLength() == 0) throw std::runtime_error("bad nextCursor: " + res.body);
      if (items.Size() == 0) throw std::runtime_error("empty page with a next cursor for " + q);
      cursor = next.GetString();
      if (between_pages) between_pages();
    }
    throw std::runtime_error("pagination does not end for " + query);
  }
};

std::vector<std::string> ids(const std::vector<L>& leads) {
  std::vector<std::string> out;
  for (const auto& l : leads) out.push_back(l.id);
  return out;
}

// ---------------------------------------------------------------------------------------
// LeadsTest: one server; organizations Acme (admin, manager, two agents) and Globex.

class LeadsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new LmsServer();
    Client c(server_->port());
    admin_ = new Account(register_org(c, "Acme"));
    manager_ = new Account(add_user(c, *admin_, "manager"));
    agent_ = new Account(add_user(c, *admin_, "agent"));
    agent2_ = new Account(add_user(c, *admin_, "agent"));
    globex_admin_ = new Account(register_org(c, "Globex"));
    globex_agent_ = new Account(add_user(c, *globex_admin_, "agent"));
  }
  static void TearDownTestSuite() {
    delete server_;
    for (auto* a : {admin_, manager_, agent_, agent2_, globex_admin_, globex_agent_}) delete a;
  }
  Api api() const { return Api{server_->port()}; }
  Client client() const { return Client(server_->port()); }

  // A lead of Acme with a fresh phone and email.
  L make_lead(const Account& who, const std::string& extra_fields = {}) {
    auto p = fresh_phone();
    std::string body = R"({"name":"Lead )" + p.digits + R"(","phone":)" + js(p.display) +
                       R"(,"email":)" + js(unique_email("lead")) + extra_fields + "}";
    return api().must_create(who, body);
  }

  // The organizationId of a lead as `who` reads it.
  std::string at_org(const Account& who, const std::string& id) { return api().get(who, id).str("/organizationId"); }

  static LmsServer* server_;
  static Account *admin_, *manager_, *agent_, *agent2_, *globex_admin_, *globex_agent_;
};
LmsServer* LeadsTest::server_ = nullptr;
Account *LeadsTest::admin_, *LeadsTest::manager_, *LeadsTest::agent_, *LeadsTest::agent2_, *LeadsTest::globex_admin_,
    *LeadsTest::globex_agent_;

// ----- create

TEST_F(LeadsTest, CreateReturnsTheNormalizedLeadWithDefaults) {
  auto c = client();
  auto p = fresh_phone();
  std::string email = unique_email("ada");
  auto res = c.post("/api/leads",
                    R"({"name":"Ada Lovelace","phone":)" + js(p.display) + R"(,"email":)" + js("  " + upper(email) + " ") + "}",
                    admin_->access_token);
  ASSERT_EQ(res.status, 201) << res.body;
  const std::string id = res.str("/id");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(res.header("Location"), "/api/leads/" + id);
  EXPECT_EQ(res.header("ETag"), "\"1\"");
  EXPECT_EQ(res.str("/organizationId"), admin_->organization_id);
  EXPECT_EQ(res.str("/name"), "Ada Lovelace");
  EXPECT_EQ(res.str("/phone"), p.e164);
  EXPECT_EQ(res.str("/email"), lower(email));
  EXPECT_EQ(res.str("/status"), "new");
  EXPECT_EQ(res.str("/version"), "1");
  EXPECT_EQ(res.str("/assignedTo"), "null");
  EXPECT_EQ(res.str("/company"), "null");
  EXPECT_EQ(res.str("/source"), "null");
  EXPECT_EQ(res.str("/createdBy"), admin_->user_id);
  ASSERT_TRUE(res.json["tags"].IsArray());
  EXPECT_EQ(res.json["tags"].Size(), 0u);
  ASSERT_TRUE(res.json["custom"].IsObject());
  EXPECT_EQ(res.json["custom"].MemberCount(), 0u);
  static const std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  EXPECT_TRUE(std::regex_match(res.str("/createdAt"), rfc3339)) << res.str("/createdAt");
  EXPECT_EQ(res.str("/createdAt"), res.str("/updatedAt"));

  auto got = c.get(res.header("Location"), admin_->access_token);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.header("ETag"), "\"1\"");
  EXPECT_EQ(got.body, res.body);

  auto acts = api().activities(*admin_, id);
  ASSERT_EQ(acts.status, 200) << acts.body;
  ASSERT_EQ(acts.json["items"].Size(), 1u) << acts.body;
  EXPECT_EQ(at(acts.json, "/items/0/type"), "created");
  EXPECT_EQ(at(acts.json, "/items/0/leadId"), id);
  EXPECT_EQ(at(acts.json, "/items/0/actorId"), admin_->user_id);
}

TEST_F(LeadsTest, CreateKeepsOptionalFieldsTagsAndCustom) {
  auto p = fresh_phone();
  auto res = api().create(*manager_, R"({"name":"Grace","phone":)" + js(p.display) +
                                         R"(,"company":"Navy","source":"referral","status":"contacted",)"
                                         R"("tags":[" hot ","vip","hot"],"custom":{"budget":5000,"vip":true,"note":"x y"},)"
                                         R"("assignedTo":)" + js(agent_->user_id) + "}");
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_EQ(res.str("/email"), "null");
  EXPECT_EQ(res.str("/company"), "Navy");
  EXPECT_EQ(res.str("/source"), "referral");
  EXPECT_EQ(res.str("/status"), "contacted");
  EXPECT_EQ(res.str("/assignedTo"), agent_->user_id);
  EXPECT_EQ(string_array(res.json["tags"]), (std::vector<std::string>{"hot", "vip"}));
  EXPECT_EQ(res.str("/custom/budget"), "5000");
  EXPECT_EQ(res.str("/custom/vip"), "true");
  EXPECT_EQ(res.str("/custom/note"), "x y");
  // The assigned agent sees it.
  EXPECT_EQ(api().get(*agent_, res.str("/id")).status, 200);
}

TEST_F(LeadsTest, AgentsLeadsAreAssignedToThemselves) {
  auto p = fresh_phone();
  auto res = api().create(*agent_, R"({"name":"Mine","phone":)" + js(p.display) + R"(,"assignedTo":)" +
                                       js(agent2_->user_id) + "}");
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_EQ(res.str("/assignedTo"), agent_->user_id);
  EXPECT_EQ(res.str("/createdBy"), agent_->user_id);
  auto plain = api().create(*agent_, R"({"name":"Mine too","email":)" + js(unique_email("mine")) + "}");
  ASSERT_EQ(plain.status, 201) << plain.body;
  EXPECT_EQ(plain.str("/assignedTo"), agent_->user_id);
  EXPECT_EQ(api().get(*agent_, plain.str("/id")).status, 200);
  EXPECT_EQ(api().get(*agent2_, res.str("/id")).status, 404);

  // Admins assign only users of their own organization.
  auto foreign = api().create(*admin_, R"({"name":"X","email":)" + js(unique_email("x")) + R"(,"assignedTo":)" +
                                           js(globex_agent_->user_id) + "}");
  EXPECT_EQ(foreign.status, 422) << foreign.body;
  EXPECT_EQ(foreign.str("/error/details/0/field"), "assignedTo");
  auto nobody = api().create(*admin_, R"({"name":"X","email":)" + js(unique_email("x")) + R"(,"assignedTo":"no-such-user"})");
  EXPECT_EQ(nobody.status, 422) << nobody.body;
}

TEST_F(LeadsTest, CreateValidationErrors) {
  const std::string p = js(fresh_phone().display);
  const std::string e = js(unique_email("valid"));
  struct Case {
    std::string body;
    std::string field;  // empty: only the status and code are checked
  };
  std::vector<Case> cases = {
      {R"({"phone":)" + p + "}", "name"},
      {R"({"name":"","phone":)" + p + "}", "name"},
      {R"({"name":"   ","phone":)" + p + "}", "name"},
      {R"({"name":null,"phone":)" + p + "}", "name"},
      {R"({"name":)" + js(std::string(201, 'n')) + R"(,"phone":)" + p + "}", "name"},
      {R"({"name":"No contact"})", ""},
      {R"({"name":"No contact","phone":null,"email":null})", ""},
      {R"({"name":"No contact","phone":"","email":"  "})", ""},
      {R"({"name":"X","phone":"12345"})", "phone"},
      {R"({"name":"X","phone":"not a phone"})", "phone"},
      {R"({"name":"X","phone":"(415) 555-01"})", "phone"},
      {R"({"name":"X","phone":"12345","email":)" + e + "}", "phone"},
      // An invalid phone is details[0] even when other fields fail too.
      {R"({"phone":"12345"})", "phone"},
      {R"({"name":"","phone":"12345","email":"bad"})", "phone"},
      {R"({"name":"X","phone":"12345","status":"won"})", "phone"},
      {R"({"name":"X","email":"not-an-email"})", "email"},
      {R"({"name":"X","email":"a@b"})", "email"},
      {R"({"name":"X","email":)" + e + R"(,"status":"won"})", "status"},
      {R"({"name":"X","email":)" + e + R"(,"status":""})", "status"},
      {R"({"name":123,"email":)" + e + "}", "name"},
      {R"({"name":"X","phone":4155550123})", "phone"},
      {R"({"name":"X","email":true})", "email"},
      {R"({"name":"X","email":)" + e + R"(,"status":1})", "status"},
      {R"({"name":"X","email":)" + e + R"(,"tags":"hot"})", "tags"},
      {R"({"name":"X","email":)" + e + R"(,"tags":[1,2]})", "tags"},
      {R"({"name":"X","email":)" + e + R"(,"tags":[{"a":1}]})", "tags"},
      {R"({"name":"X","email":)" + e + R"(,"company":["a"]})", "company"},
      {R"({"name":"X","email":)" + e + R"(,"custom":[]})", "custom"},
      {R"({"name":"X","email":)" + e + R"(,"custom":"x"})", "custom"},
      {R"({"name":"X","email":)" + e + R"(,"custom":{"a":{"b":1}}})", "custom"},
      {R"({"name":"X","email":)" + e + R"(,"custom":{"a":[1,2]}})", "custom"},
      {R"({"name":"X","email":)" + e + R"(,"custom":{"a":null}})", "custom"},
  };
  const auto before = api().count(*admin_, "");
  for (const auto& tc : cases) {
    auto res = api().create(*admin_, tc.body);
    EXPECT_EQ(res.status, 422) << tc.body << " -> " << res.body;
    EXPECT_EQ(res.str("/error/code"), "validation_failed") << tc.body;
    ASSERT_TRUE(res.json.IsObject()) << tc.body;
    const rapidjson::Value* details = rapidjson::Pointer("/error/details").Get(res.json);
    ASSERT_TRUE(details && details->IsArray() && details->Size() > 0) << tc.body << " -> " << res.body;
    if (!tc.field.empty()) {
      EXPECT_EQ(res.str("/error/details/0/field"), tc.field) << tc.body << " -> " << res.body;
    }
  }
  EXPECT_EQ(api().count(*admin_, ""), before) << "a rejected create wrote a lead";
}

TEST_F(LeadsTest, CreateRejectsOtherMediaTypesAndMalformedJson) {
  auto c = client();
  const std::string body = R"({"name":"X","email":)" + js(unique_email("media")) + "}";
  for (std::string type : {"text/plain", "application/x-www-form-urlencoded", "text/csv", "application/xml"}) {
    auto res = c.request("POST", "/api/leads", body, bearer(admin_->access_token, {{"Content-Type", type}}));
    EXPECT_EQ(res.status, 415) << type << ": " << res.body;
    EXPECT_EQ(res.str("/error/code"), "unsupported_media_type") << type;
  }
  auto charset = c.request("POST", "/api/leads", body,
                           bearer(admin_->access_token, {{"Content-Type", "application/json; charset=utf-8"}}));
  EXPECT_EQ(charset.status, 201) << charset.body;
  for (std::string bad : {R"({"name":"X","email":)", R"({"name":"X",})", "{name: 'x'}", "not json", "{\"a\":1}}"}) {
    auto res = c.post("/api/leads", bad, admin_->access_token);
    EXPECT_EQ(res.status, 400) << bad << ": " << res.body;
    EXPECT_EQ(res.str("/error/code"), "bad_request") << bad;
  }
  EXPECT_EQ(c.post("/api/leads", body, "").status, 401);
  EXPECT_EQ(c.get("/api/leads", "forged.token.value").status, 401);
}

// ----- duplicates

TEST_F(LeadsTest, DuplicatePhoneInAnotherSpellingIs409WithTheExistingId) {
  auto p = fresh_phone();
  auto first = api().must_create(*admin_, R"({"name":"First","phone":)" + js(p.display) + "}");
  for (std::string spelling : {p.e164, "+1 " + p.digits.substr(0, 3) + " " + p.digits.substr(3, 3) + " " +
                                            p.digits.substr(6), "1-" + p.digits.substr(0, 3) + "-" +
                                                                    p.digits.substr(3, 3) + "-" + p.digits.substr(6),
                               p.digits.substr(0, 3) + "." + p.digits.substr(3, 3) + "." + p.digits.substr(6)}) {
    auto dup = api().create(*admin_, R"({"name":"Second","phone":)" + js(spelling) + R"(,"email":)" +
                                         js(unique_email("second")) + "}");
    EXPECT_EQ(dup.status, 409) << spelling << ": " << dup.body;
    EXPECT_EQ(dup.str("/error/code"), "duplicate_lead");
    EXPECT_EQ(dup.str("/error/existingId"), first.id);
  }
  // An agent gets the same answer (the duplicate rule is per organization).
  auto by_agent = api().create(*agent_, R"({"name":"Agent dup","phone":)" + js(p.e164) + "}");
  EXPECT_EQ(by_agent.status, 409) << by_agent.body;
}

TEST_F(LeadsTest, DuplicateEmailInAnotherCaseIs409) {
  std::string email = unique_email("dupmail");
  auto first = api().must_create(*admin_, R"({"name":"First","email":)" + js(email) + "}");
  auto dup = api().create(*manager_, R"({"name":"Second","email":)" + js(" " + upper(email) + " ") + "}");
  EXPECT_EQ(dup.status, 409) << dup.body;
  EXPECT_EQ(dup.str("/error/code"), "duplicate_lead");
  EXPECT_EQ(dup.str("/error/existingId"), first.id);
  // A new phone does not make the same email acceptable.
  auto mixed = api().create(*admin_, R"({"name":"Third","phone":)" + js(fresh_phone().display) + R"(,"email":)" +
                                         js(email) + "}");
  EXPECT_EQ(mixed.status, 409) << mixed.body;
  EXPECT_EQ(mixed.str("/error/existingId"), first.id);
}

TEST_F(LeadsTest, SamePhoneAndEmailInAnotherOrganizationAreFine) {
  auto p = fresh_phone();
  std::string email = unique_email("shared");
  auto acme = api().must_create(*admin_, R"({"name":"Acme's","phone":)" + js(p.display) + R"(,"email":)" + js(email) + "}");
  auto globex = api().create(*globex_admin_, R"({"name":"Globex's","phone":)" + js(p.e164) + R"(,"email":)" +
                                                 js(upper(email)) + "}");
  ASSERT_EQ(globex.status, 201) << globex.body;
  EXPECT_NE(globex.str("/id"), acme.id);
  EXPECT_EQ(globex.str("/organizationId"), globex_admin_->organization_id);
}

TEST_F(LeadsTest, ADeletedLeadNoLongerCountsAsADuplicate) {
  auto p = fresh_phone();
  auto first = api().must_create(*admin_, R"({"name":"Gone","phone":)" + js(p.display) + "}");
  ASSERT_EQ(api().del(*admin_, first.id).status, 204);
  auto again = api().create(*admin_, R"({"name":"Back","phone":)" + js(p.e164) + "}");
  EXPECT_EQ(again.status, 201) << again.body;
}

TEST_F(LeadsTest, ConcurrentCreatesOfOnePhoneMakeExactlyOneLead) {
  constexpr int kClients = 100;
  auto p = fresh_phone();
  std::vector<int> statuses(kClients, 0);
  std::vector<std::string> created(kClients), existing(kClients), bodies(kClients);
  std::latch start(kClients);
  std::vector<std::thread> threads;
  const std::uint16_t port = server_->port();
  const std::string token = admin_->access_token;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      // Every client spells the number its own way.
      std::string spelling = i % 2 ? p.display : p.e164;
      std::string body = R"({"name":"Racer )" + std::to_string(i) + R"(","phone":)" + js(spelling) + "}";
      start.arrive_and_wait();
      try {
        Client c(port);
        auto res = c.post("/api/leads", body, token);
        statuses[i] = res.status;
        bodies[i] = res.body;
        created[i] = res.str("/id");
        existing[i] = res.str("/error/existingId");
      } catch (const std::exception& e) {
        statuses[i] = -1;
        bodies[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  int ok = 0, dup = 0;
  std::string winner;
  for (int i = 0; i < kClients; ++i) {
    if (statuses[i] == 201) {
      ++ok;
      winner = created[i];
    } else if (statuses[i] == 409) {
      ++dup;
    } else {
      ADD_FAILURE() << "client " << i << ": " << statuses[i] << " " << bodies[i];
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(dup, kClients - 1);
  ASSERT_FALSE(winner.empty());
  for (int i = 0; i < kClients; ++i)
    if (statuses[i] == 409) {
      EXPECT_EQ(existing[i], winner) << "client " << i << ": " << bodies[i];
    }
  EXPECT_EQ(api().count(*admin_, "q=" + url(p.e164.substr(1))), 1);
  EXPECT_EQ(api().get(*admin_, winner).str("/phone"), p.e164);
}

// ----- get / patch / delete

TEST_F(LeadsTest, IfMatchGuardsPatch) {
  auto lead = make_lead(*admin_);
  auto got = api().get(*admin_, lead.id);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.header("ETag"), "\"1\"");

  auto first = api().patch(*admin_, lead.id, R"({"status":"contacted"})", {{"If-Match", "\"1\""}});
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.str("/version"), "2");
  EXPECT_EQ(first.header("ETag"), "\"2\"");
  EXPECT_EQ(first.str("/status"), "contacted");

  auto stale = api().patch(*admin_, lead.id, R"({"status":"lost"})", {{"If-Match", "\"1\""}});
  EXPECT_EQ(stale.status, 412) << stale.body;
  EXPECT_EQ(stale.str("/error/code"), "precondition_failed");
  auto after = api().get(*admin_, lead.id);
  EXPECT_EQ(after.str("/status"), "contacted");
  EXPECT_EQ(after.str("/version"), "2");
  EXPECT_EQ(after.header("ETag"), "\"2\"");

  // A future version is stale too; the current one works; no If-Match always works.
  EXPECT_EQ(api().patch(*admin_, lead.id, R"({"status":"lost"})", {{"If-Match", "\"7\""}}).status, 412);
  auto current = api().patch(*admin_, lead.id, R"({"status":"qualified"})", {{"If-Match", "\"2\""}});
  ASSERT_EQ(current.status, 200) << current.body;
  EXPECT_EQ(current.str("/version"), "3");
  auto blind = api().patch(*admin_, lead.id, R"({"status":"converted"})");
  ASSERT_EQ(blind.status, 200) << blind.body;
  EXPECT_EQ(blind.str("/version"), "4");
  // A 412 wrote no activity: created + three status changes.
  auto acts = api().activities(*admin_, lead.id);
  ASSERT_EQ(acts.status, 200);
  EXPECT_EQ(acts.json["items"].Size(), 4u) << acts.body;
}

TEST_F(LeadsTest, ConcurrentPatchesEachBumpTheVersionByOne) {
  constexpr int kWriters = 20;
  auto lead = make_lead(*admin_);
  std::vector<std::string> versions(kWriters);
  std::vector<int> statuses(kWriters, 0), bystanders(kWriters, 0);
  std::latch start(2 * kWriters);
  std::vector<std::thread> threads;
  const Api a = api();
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      try {
        auto res = a.patch(*admin_, lead.id, R"({"company":"Writer )" + std::to_string(i) + R"("})");
        statuses[i] = res.status;
        versions[i] = res.str("/version");
      } catch (const std::exception&) {
        statuses[i] = -1;
      }
    });
    // Unrelated writes at the same moment must not be affected either.
    threads.emplace_back([&, i] {
      auto p = fresh_phone();
      std::string body = R"({"name":"Bystander )" + std::to_string(i) + R"(","phone":)" + js(p.display) + "}";
      start.arrive_and_wait();
      try {
        bystanders[i] = a.create(*manager_, body).status;
      } catch (const std::exception&) {
        bystanders[i] = -1;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kWriters; ++i) EXPECT_EQ(bystanders[i], 201) << "unrelated create " << i;
  std::set<std::string> distinct;
  for (int i = 0; i < kWriters; ++i) {
    EXPECT_EQ(statuses[i], 200) << "writer " << i;
    distinct.insert(versions[i]);
  }
  std::set<std::string> want;
  for (int v = 2; v <= kWriters + 1; ++v) want.insert(std::to_string(v));
  EXPECT_EQ(distinct, want) << "every change is its own version";
  auto final_state = api().get(*admin_, lead.id);
  EXPECT_EQ(final_state.str("/version"), std::to_string(kWriters + 1));
  EXPECT_EQ(api().activities(*admin_, lead.id).json["items"].Size(), static_cast<rapidjson::SizeType>(kWriters + 1));
}

TEST_F(LeadsTest, ConcurrentPatchesWithOneIfMatchLetExactlyOneWin) {
  constexpr int kWriters = 20;
  auto lead = make_lead(*admin_);
  std::vector<int> statuses(kWriters, 0);
  std::latch start(kWriters);
  std::vector<std::thread> threads;
  const Api a = api();
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      try {
        statuses[i] = a.patch(*admin_, lead.id, R"({"company":"Winner )" + std::to_string(i) + R"("})",
                              {{"If-Match", "\"1\""}})
                          .status;
      } catch (const std::exception&) {
        statuses[i] = -1;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 412), kWriters - 1);
  EXPECT_EQ(api().get(*admin_, lead.id).str("/version"), "2");
}

TEST_F(LeadsTest, PatchRecordsActivitiesAndBumpsTheVersionOnce) {
  auto lead = make_lead(*admin_);
  auto res = api().patch(*admin_, lead.id,
                         R"({"status":"qualified","assignedTo":)" + js(agent_->user_id) +
                             R"(,"company":"Initech","name":"Renamed"})");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.str("/version"), "2");
  EXPECT_EQ(res.str("/status"), "qualified");
  EXPECT_EQ(res.str("/assignedTo"), agent_->user_id);
  EXPECT_EQ(res.str("/company"), "Initech");
  EXPECT_EQ(res.str("/name"), "Renamed");
  EXPECT_EQ(res.str("/createdAt"), lead.created);
  EXPECT_GE(parse_ms(res.str("/updatedAt")), parse_ms(lead.created));
  EXPECT_EQ(res.str("/phone"), lead.phone);  // untouched fields stay

  auto acts = api().activities(*admin_, lead.id);
  ASSERT_EQ(acts.status, 200) << acts.body;
  auto& items = acts.json["items"];
  ASSERT_EQ(items.Size(), 4u) << acts.body;
  std::map<std::string, const rapidjson::Value*> by_type;
  for (auto& a : items.GetArray()) {
    by_type[a["type"].GetString()] = &a;
    EXPECT_EQ(at(a, "/leadId"), lead.id);
    EXPECT_EQ(at(a, "/actorId"), admin_->user_id);
  }
  EXPECT_EQ(at(items[items.Size() - 1], "/type"), "created") << "newest first";
  ASSERT_TRUE(by_type.count("status_changed")) << acts.body;
  EXPECT_EQ(at(*by_type["status_changed"], "/data/from"), "new");
  EXPECT_EQ(at(*by_type["status_changed"], "/data/to"), "qualified");
  ASSERT_TRUE(by_type.count("assigned")) << acts.body;
  EXPECT_EQ(at(*by_type["assigned"], "/data/from"), "null");
  EXPECT_EQ(at(*by_type["assigned"], "/data/to"), agent_->user_id);
  ASSERT_TRUE(by_type.count("updated")) << acts.body;
  auto fields = string_array((*by_type["updated"])["data"]["fields"]);
  std::sort(fields.begin(), fields.end());
  EXPECT_EQ(fields, (std::vector<std::string>{"company", "name"}));

  // Reassigning and unassigning record from/to.
  auto re = api().patch(*admin_, lead.id, R"({"assignedTo":)" + js(agent2_->user_id) + "}");
  ASSERT_EQ(re.status, 200) << re.body;
  EXPECT_EQ(re.str("/version"), "3");
  auto un = api().patch(*manager_, lead.id, R"({"assignedTo":null})");
  ASSERT_EQ(un.status, 200) << un.body;
  EXPECT_EQ(un.str("/assignedTo"), "null");
  EXPECT_EQ(un.str("/version"), "4");
  auto acts2 = api().activities(*admin_, lead.id);
  ASSERT_EQ(acts2.json["items"].Size(), 6u) << acts2.body;
  EXPECT_EQ(at(acts2.json, "/items/0/type"), "assigned");
  EXPECT_EQ(at(acts2.json, "/items/0/data/from"), agent2_->user_id);
  EXPECT_EQ(at(acts2.json, "/items/0/data/to"), "null");
  EXPECT_EQ(at(acts2.json, "/items/0/actorId"), manager_->user_id);
  EXPECT_EQ(at(acts2.json, "/items/1/data/from"), agent_->user_id);
  EXPECT_EQ(at(acts2.json, "/items/1/data/to"), agent2_->user_id);
}

TEST_F(LeadsTest, NoOpPatchKeepsTheVersion) {
  auto lead = make_lead(*admin_, R"(,"status":"contacted","tags":["a","b"],"company":"Same Co")");
  const std::string email = lead.email;
  for (std::string body : {std::string("{}"), std::string(R"({"status":"contacted"})"),
                           R"({"name":)" + js(lead.name) + R"(,"company":"Same Co","tags":["a","b"]})",
                           R"({"email":)" + js(" " + upper(email) + " ") + "}",
                           R"({"phone":)" + js(lead.phone) + "}"}) {
    auto res = api().patch(*admin_, lead.id, body);
    ASSERT_EQ(res.status, 200) << body << ": " << res.body;
    EXPECT_EQ(res.str("/version"), "1") << body;
    EXPECT_EQ(res.header("ETag"), "\"1\"") << body;
    EXPECT_EQ(res.str("/updatedAt"), lead.updated) << body;
  }
  auto acts = api().activities(*admin_, lead.id);
  EXPECT_EQ(acts.json["items"].Size(), 1u) << "no-op patches wrote activities: " << acts.body;
  // If-Match on a no-op still checks the version.
  EXPECT_EQ(api().patch(*admin_, lead.id, "{}", {{"If-Match", "\"1\""}}).status, 200);
}

TEST_F(LeadsTest, PatchValidationAndDuplicates) {
  auto a = make_lead(*admin_);
  auto b = make_lead(*admin_);
  auto dup_phone = api().patch(*admin_, b.id, R"({"phone":)" + js(a.phone) + "}");
  EXPECT_EQ(dup_phone.status, 409) << dup_phone.body;
  EXPECT_EQ(dup_phone.str("/error/code"), "duplicate_lead");
  EXPECT_EQ(dup_phone.str("/error/existingId"), a.id);
  auto dup_email = api().patch(*admin_, b.id, R"({"email":)" + js(upper(a.email)) + "}");
  EXPECT_EQ(dup_email.status, 409) << dup_email.body;
  EXPECT_EQ(dup_email.str("/error/existingId"), a.id);

  auto bad_phone = api().patch(*admin_, b.id, R"({"phone":"12"})");
  EXPECT_EQ(bad_phone.status, 422);
  EXPECT_EQ(bad_phone.str("/error/details/0/field"), "phone");
  EXPECT_EQ(api().patch(*admin_, b.id, R"({"email":"nope"})").str("/error/details/0/field"), "email");
  EXPECT_EQ(api().patch(*admin_, b.id, R"({"status":"won"})").status, 422);
  EXPECT_EQ(api().patch(*admin_, b.id, R"({"name":null})").status, 422);
  EXPECT_EQ(api().patch(*admin_, b.id, R"({"phone":null,"email":null})").status, 422);
  EXPECT_EQ(api().patch(*admin_, b.id, R"({"custom":{"x":{"y":1}}})").status, 422);
  auto foreign = api().patch(*admin_, b.id, R"({"assignedTo":)" + js(globex_agent_->user_id) + "}");
  EXPECT_EQ(foreign.status, 422) << foreign.body;
  EXPECT_EQ(foreign.str("/error/details/0/field"), "assignedTo");
  EXPECT_EQ(api().patch(*admin_, b.id, "nope").status, 400);
  EXPECT_EQ(client().request("PATCH", "/api/leads/" + b.id, R"({"status":"lost"})",
                             bearer(admin_->access_token, {{"Content-Type", "text/plain"}}))
                .status,
            415);
  // Nothing of that changed b.
  auto now = api().get(*admin_, b.id);
  EXPECT_EQ(now.str("/version"), "1");
  EXPECT_EQ(now.str("/phone"), b.phone);
  EXPECT_EQ(now.str("/email"), b.email);
  EXPECT_EQ(now.str("/status"), "new");

  // Clearing one contact while the other remains is fine; the phone is then free.
  auto cleared = api().patch(*admin_, a.id, R"({"phone":null})");
  ASSERT_EQ(cleared.status, 200) << cleared.body;
  EXPECT_EQ(cleared.str("/phone"), "null");
  auto moved = api().patch(*admin_, b.id, R"({"phone":)" + js(a.phone) + "}");
  EXPECT_EQ(moved.status, 200) << moved.body;
  EXPECT_EQ(moved.str("/version"), "2");
  EXPECT_EQ(api().patch(*admin_, "no-such-lead", R"({"status":"lost"})").status, 404);
}

TEST_F(LeadsTest, AgentRules) {
  auto own = make_lead(*agent_);
  auto others = make_lead(*agent2_);
  auto unassigned = make_lead(*admin_);
  ASSERT_EQ(own.assigned, agent_->user_id);

  // Own lead: read, update, note, but no reassignment and no delete.
  EXPECT_EQ(api().get(*agent_, own.id).status, 200);
  auto st = api().patch(*agent_, own.id, R"({"status":"contacted"})");
  ASSERT_EQ(st.status, 200) << st.body;
  EXPECT_EQ(st.str("/version"), "2");
  auto reassign = api().patch(*agent_, own.id, R"({"assignedTo":)" + js(agent2_->user_id) + "}");
  EXPECT_EQ(reassign.status, 403) << reassign.body;
  EXPECT_EQ(reassign.str("/error/code"), "forbidden");
  EXPECT_EQ(api().patch(*agent_, own.id, R"({"assignedTo":null})").status, 403);
  EXPECT_EQ(api().patch(*agent_, own.id, R"({"status":"lost","assignedTo":)" + js(admin_->user_id) + "}").status,
            403);
  auto self = api().patch(*agent_, own.id, R"({"assignedTo":)" + js(agent_->user_id) + "}");
  EXPECT_EQ(self.status, 200) << "keeping oneself is no reassignment: " << self.body;
  auto del = api().del(*agent_, own.id);
  EXPECT_EQ(del.status, 403);
  EXPECT_EQ(del.str("/error/code"), "forbidden");
  EXPECT_EQ(api().note(*agent_, own.id, R"({"body":"called"})").status, 201);
  EXPECT_EQ(api().activities(*agent_, own.id).status, 200);
  auto still = api().get(*admin_, own.id);
  EXPECT_EQ(still.str("/assignedTo"), agent_->user_id);
  EXPECT_EQ(still.str("/status"), "contacted");
  EXPECT_EQ(still.str("/version"), "2");

  // Anyone else's lead does not exist for the agent.
  for (const auto& id : {others.id, unassigned.id}) {
    std::vector<Response> attempts;
    attempts.push_back(api().get(*agent_, id));
    attempts.push_back(api().patch(*agent_, id, R"({"status":"lost"})"));
    attempts.push_back(api().activities(*agent_, id));
    attempts.push_back(api().note(*agent_, id, R"({"body":"peek"})"));
    attempts.push_back(api().del(*agent_, id));
    for (const auto& res : attempts) {
      EXPECT_EQ(res.status, 404) << id << ": " << res.body;
      EXPECT_EQ(res.str("/error/code"), "not_found");
    }
  }
  auto untouched = api().get(*admin_, others.id);
  EXPECT_EQ(untouched.str("/version"), "1");
  EXPECT_EQ(untouched.str("/status"), "new");
  EXPECT_EQ(api().activities(*admin_, others.id).json["items"].Size(), 1u);
}

TEST_F(LeadsTest, ManagersAndAdminsDeleteAndADeletedLeadIsGone) {
  for (auto* who : {manager_, admin_}) {
    auto lead = make_lead(*admin_);
    auto del = api().del(*who, lead.id);
    EXPECT_EQ(del.status, 204) << del.body;
    EXPECT_TRUE(del.body.empty());
    EXPECT_EQ(api().get(*admin_, lead.id).status, 404);
    EXPECT_EQ(api().del(*who, lead.id).status, 404);
    EXPECT_EQ(api().patch(*admin_, lead.id, R"({"status":"lost"})").status, 404);
    EXPECT_EQ(api().note(*admin_, lead.id, R"({"body":"x"})").status, 404);
    EXPECT_EQ(api().activities(*admin_, lead.id).status, 404);
    EXPECT_EQ(api().count(*admin_, "q=" + url(lead.phone.substr(1))), 0);
    auto listed = api().walk(*admin_, "q=" + url(lead.email), 50);
    EXPECT_TRUE(listed.empty());
  }
  EXPECT_EQ(api().del(*admin_, "no-such-lead").status, 404);
}

// ----- bulk

TEST_F(LeadsTest, BulkUpdatesOnlyTheCallersOrganization) {
  std::vector<L> mine;
  for (int i = 0; i < 5; ++i) mine.push_back(make_lead(*admin_));
  auto theirs = api().must_create(*globex_admin_, R"({"name":"Globex bulk","email":)" + js(unique_email("gb")) + "}");
  std::vector<std::string> targets = ids(mine);
  targets.push_back(theirs.id);
  targets.push_back("no-such-lead");
  const std::string body = R"({"ids":)" + json_array(targets) + R"(,"set":{"status":"contacted","assignedTo":)" +
                           js(agent_->user_id) + R"(,"tags":["b1","b2"]}})";

  auto by_agent = api().bulk(*agent_, body);
  EXPECT_EQ(by_agent.status, 403) << by_agent.body;
  EXPECT_EQ(by_agent.str("/error/code"), "forbidden");
  EXPECT_EQ(api().get(*admin_, mine[0].id).str("/version"), "1");

  auto res = api().bulk(*manager_, body);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.str("/updated"), "5");
  for (const auto& l : mine) {
    auto got = api().get(*admin_, l.id);
    EXPECT_EQ(got.str("/status"), "contacted");
    EXPECT_EQ(got.str("/assignedTo"), agent_->user_id);
    EXPECT_EQ(string_array(got.json["tags"]), (std::vector<std::string>{"b1", "b2"}));
    EXPECT_EQ(got.str("/version"), "2");
    EXPECT_EQ(api().get(*agent_, l.id).status, 200) << "the new assignee sees it";
  }
  auto acts = api().activities(*admin_, mine[0].id);
  std::set<std::string> types;
  for (auto& a : acts.json["items"].GetArray()) types.insert(a["type"].GetString());
  EXPECT_EQ(types, (std::set<std::string>{"created", "status_changed", "assigned", "updated"})) << acts.body;

  auto other = api().get(*globex_admin_, theirs.id);
  ASSERT_EQ(other.status, 200);
  EXPECT_EQ(other.str("/status"), "new");
  EXPECT_EQ(other.str("/assignedTo"), "null");
  EXPECT_EQ(other.json["tags"].Size(), 0u);
  EXPECT_EQ(other.str("/version"), "1");

  // Applying the same change again changes nothing.
  auto again = api().bulk(*admin_, body);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.str("/updated"), "0");
  EXPECT_EQ(api().get(*admin_, mine[0].id).str("/version"), "2");

  // A repeated id is one lead.
  auto twice = api().bulk(*admin_, R"({"ids":)" + json_array({mine[0].id, mine[0].id, mine[0].id}) +
                                       R"(,"set":{"status":"converted"}})");
  ASSERT_EQ(twice.status, 200) << twice.body;
  EXPECT_EQ(twice.str("/updated"), "1");
  EXPECT_EQ(api().get(*admin_, mine[0].id).str("/version"), "3");

  // Unassigning in bulk.
  auto un = api().bulk(*admin_, R"({"ids":)" + json_array(ids(mine)) + R"(,"set":{"assignedTo":null}})");
  ASSERT_EQ(un.status, 200) << un.body;
  EXPECT_EQ(un.str("/updated"), "5");
  EXPECT_EQ(api().get(*admin_, mine[1].id).str("/assignedTo"), "null");
}

TEST_F(LeadsTest, BulkLimitsAndValidation) {
  std::vector<L> mine;
  for (int i = 0; i < 3; ++i) mine.push_back(make_lead(*admin_));
  std::vector<std::string> thousand;
  for (int i = 0; i < 997; ++i) thousand.push_back("missing-" + std::to_string(i));
  for (const auto& l : mine) thousand.push_back(l.id);
  ASSERT_EQ(thousand.size(), 1000u);
  auto ok = api().bulk(*admin_, R"({"ids":)" + json_array(thousand) + R"(,"set":{"status":"qualified"}})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.str("/updated"), "3");
  EXPECT_EQ(api().get(*admin_, mine[2].id).str("/status"), "qualified");

  auto too_many = thousand;
  too_many.push_back("one-more");
  auto big = api().bulk(*admin_, R"({"ids":)" + json_array(too_many) + R"(,"set":{"status":"lost"}})");
  EXPECT_EQ(big.status, 422) << big.body;
  EXPECT_EQ(big.str("/error/code"), "validation_failed");
  EXPECT_EQ(big.str("/error/details/0/field"), "ids");
  EXPECT_EQ(api().get(*admin_, mine[0].id).str("/status"), "qualified") << "a refused bulk changed a lead";

  const std::string one = json_array({mine[0].id});
  auto foreign = api().bulk(*admin_, R"({"ids":)" + one + R"(,"set":{"assignedTo":)" + js(globex_agent_->user_id) + "}}");
  EXPECT_EQ(foreign.status, 422) << foreign.body;
  EXPECT_EQ(foreign.str("/error/details/0/field"), "set.assignedTo");
  EXPECT_EQ(api().get(*admin_, mine[0].id).str("/assignedTo"), "null");
  for (const std::string& bad : std::vector<std::string>{R"({"ids":)" + one + R"(,"set":{"status":"won"}})", R"({"ids":[],"set":{"status":"lost"}})",
                          R"({"set":{"status":"lost"}})", R"({"ids":"x","set":{"status":"lost"}})",
                          R"({"ids":[1],"set":{"status":"lost"}})", R"({"ids":)" + one + "}",
                          R"({"ids":)" + one + R"(,"set":{}})", R"({"ids":)" + one + R"(,"set":{"tags":"x"}})"}) {
    auto res = api().bulk(*manager_, bad);
    EXPECT_EQ(res.status, 422) << bad << ": " << res.body;
  }
  EXPECT_EQ(api().bulk(*manager_, "{").status, 400);
  EXPECT_EQ(api().get(*admin_, mine[0].id).str("/version"), "2");
}

// ----- notes and activities

TEST_F(LeadsTest, NotesAreActivitiesNewestFirst) {
  auto lead = make_lead(*agent_);
  auto n1 = api().note(*agent_, lead.id, R"({"body":"Called, left voicemail"})");
  ASSERT_EQ(n1.status, 201) << n1.body;
  EXPECT_EQ(n1.str("/type"), "note");
  EXPECT_EQ(n1.str("/data/body"), "Called, left voicemail");
  EXPECT_EQ(n1.str("/leadId"), lead.id);
  EXPECT_EQ(n1.str("/actorId"), agent_->user_id);
  EXPECT_FALSE(n1.str("/id").empty());
  auto n2 = api().note(*admin_, lead.id, R"({"body":"Unicode \u00e9 and \"quotes\" <b>"})");
  ASSERT_EQ(n2.status, 201) << n2.body;
  EXPECT_EQ(n2.str("/data/body"), "Unicode \xc3\xa9 and \"quotes\" <b>");

  auto acts = api().activities(*agent_, lead.id);
  ASSERT_EQ(acts.status, 200) << acts.body;
  auto& items = acts.json["items"];
  ASSERT_EQ(items.Size(), 3u) << acts.body;
  EXPECT_EQ(at(items[0], "/id"), n2.str("/id"));
  EXPECT_EQ(at(items[1], "/id"), n1.str("/id"));
  EXPECT_EQ(at(items[2], "/type"), "created");
  for (rapidjson::SizeType i = 1; i < items.Size(); ++i)
    EXPECT_GE(at(items[i - 1], "/createdAt"), at(items[i], "/createdAt"));
  // Notes do not change the lead.
  EXPECT_EQ(api().get(*admin_, lead.id).str("/version"), "1");

  for (std::string bad : {R"({"body":""})", R"({"body":"   "})", R"({})", R"({"body":12})", R"({"body":null})"}) {
    auto res = api().note(*agent_, lead.id, bad);
    EXPECT_EQ(res.status, 422) << bad << ": " << res.body;
    EXPECT_EQ(res.str("/error/code"), "validation_failed");
  }
  EXPECT_EQ(api().activities(*agent_, lead.id).json["items"].Size(), 3u);
  EXPECT_EQ(api().note(*admin_, "no-such-lead", R"({"body":"x"})").status, 404);
  EXPECT_EQ(api().activities(*admin_, "no-such-lead").status, 404);
}

// ----- export

class ExportData {
 public:
  Account admin, manager, agent;
  std::vector<L> leads;  // in creation order
};

TEST_F(LeadsTest, ExportStreamsCsvForManagersWithFilters) {
  auto c = client();
  ExportData d;
  d.admin = register_org(c, "ExportCo");
  d.manager = add_user(c, d.admin, "manager");
  d.agent = add_user(c, d.admin, "agent");
  const auto a = api();
  auto p = fresh_phone();
  d.leads.push_back(a.must_create(d.admin, R"({"name":"Smith, \"Bob\"","phone":)" + js(p.display) +
                                               R"(,"email":"bob@export.example","company":"Comma, Inc.","source":"web",)"
                                               R"("status":"contacted","tags":["a","b"],"assignedTo":)" +
                                               js(d.agent.user_id) + "}"));
  d.leads.push_back(a.must_create(d.admin, R"j({"name":"=HYPERLINK(\"http://evil\")","email":"f@export.example","company":"@risk"})j"));
  d.leads.push_back(a.must_create(d.admin, R"({"name":"Plain","email":"plain@export.example"})"));
  d.leads.push_back(a.must_create(d.agent, R"({"name":"Caf\u00e9 \u00dcn\u00efc\u00f6d\u00e9","email":"u@export.example","status":"contacted"})"));

  auto res = a.export_csv(d.admin, "");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.header("Content-Type").rfind("text/csv", 0), 0u) << res.header("Content-Type");
  ASSERT_EQ(res.body.rfind(std::string(kCsvHeader) + "\r\n", 0), 0u) << res.body.substr(0, 200);
  std::vector<std::vector<std::string>> rows;
  ASSERT_NO_THROW(rows = parse_csv(res.body)) << res.body;
  ASSERT_EQ(rows.size(), d.leads.size() + 1) << res.body;
  for (std::size_t i = 1; i < rows.size(); ++i) ASSERT_EQ(rows[i].size(), 11u) << "row " << i;
  // Default order: newest first.
  std::vector<std::string> order;
  for (std::size_t i = 1; i < rows.size(); ++i) order.push_back(rows[i][0]);
  EXPECT_EQ(order, (std::vector<std::string>{d.leads[3].id, d.leads[2].id, d.leads[1].id, d.leads[0].id}));

  std::map<std::string, std::vector<std::string>> by_id;
  for (std::size_t i = 1; i < rows.size(); ++i) by_id[rows[i][0]] = rows[i];
  const auto& bob = by_id[d.leads[0].id];
  EXPECT_EQ(bob[1], "Smith, \"Bob\"");
  EXPECT_EQ(bob[2], p.e164);
  EXPECT_EQ(bob[3], "bob@export.example");
  EXPECT_EQ(bob[4], "Comma, Inc.");
  EXPECT_EQ(bob[5], "web");
  EXPECT_EQ(bob[6], "contacted");
  EXPECT_EQ(bob[7], d.agent.user_id);
  EXPECT_NE(bob[8].find('a'), std::string::npos);
  EXPECT_NE(bob[8].find('b'), std::string::npos);
  EXPECT_EQ(bob[9], d.leads[0].created);
  EXPECT_EQ(bob[10], d.leads[0].updated);
  EXPECT_NE(res.body.find("\"Smith, \"\"Bob\"\"\""), std::string::npos);
  const auto& formula = by_id[d.leads[1].id];
  EXPECT_NE(formula[1].front(), '=') << "a formula cell reaches the spreadsheet: " << formula[1];
  EXPECT_NE(formula[1].find("HYPERLINK"), std::string::npos);
  EXPECT_NE(formula[4].front(), '@');
  EXPECT_EQ(formula[2], "");
  EXPECT_EQ(by_id[d.leads[3].id][1], "Caf\xc3\xa9 \xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9");

  // Managers too; agents never.
  // A line break can only arrive in a tag (text fields refuse control characters); if the
  // server takes it, the export must quote it.
  auto multi = a.create(d.admin, R"({"name":"Multi","email":"multi@export.example","tags":["two\nlines","x,y"]})");
  if (multi.status == 201) {
    auto with_break = a.export_csv(d.admin, "q=multi");
    ASSERT_EQ(with_break.status, 200);
    std::vector<std::vector<std::string>> mrows;
    ASSERT_NO_THROW(mrows = parse_csv(with_break.body)) << with_break.body;
    ASSERT_EQ(mrows.size(), 2u) << with_break.body;
    EXPECT_NE(mrows[1][8].find("two\nlines"), std::string::npos) << mrows[1][8];
    EXPECT_NE(mrows[1][8].find("x,y"), std::string::npos) << mrows[1][8];
    ASSERT_EQ(a.del(d.admin, multi.str("/id")).status, 204);
  } else {
    EXPECT_EQ(multi.status, 422) << multi.body;
  }

  auto by_manager = a.export_csv(d.manager, "");
  EXPECT_EQ(by_manager.status, 200);
  EXPECT_EQ(by_manager.body, res.body);
  auto by_agent = a.export_csv(d.agent, "");
  EXPECT_EQ(by_agent.status, 403) << by_agent.body;
  EXPECT_EQ(by_agent.str("/error/code"), "forbidden");

  // Filters and sort apply.
  auto contacted = a.export_csv(d.admin, "status=contacted&sort=createdAt");
  ASSERT_EQ(contacted.status, 200);
  auto crow = parse_csv(contacted.body);
  ASSERT_EQ(crow.size(), 3u) << contacted.body;
  EXPECT_EQ(crow[0][0], "id");
  EXPECT_EQ(crow[1][0], d.leads[0].id);
  EXPECT_EQ(crow[2][0], d.leads[3].id);
  auto named = parse_csv(a.export_csv(d.admin, "sort=name").body);
  ASSERT_EQ(named.size(), 5u);
  std::vector<std::string> names;
  for (std::size_t i = 1; i < named.size(); ++i) names.push_back(by_id[named[i][0]][1]);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end())) << "sort=name ignored";
  auto q = parse_csv(a.export_csv(d.admin, "q=plain").body);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[1][0], d.leads[2].id);
  auto assigned = parse_csv(a.export_csv(d.admin, "assignedTo=" + d.agent.user_id).body);
  EXPECT_EQ(assigned.size(), 3u);
  auto none = a.export_csv(d.admin, "tag=nothing-has-this");
  ASSERT_EQ(none.status, 200);
  EXPECT_EQ(none.body, std::string(kCsvHeader) + "\r\n");
  auto bad = a.export_csv(d.admin, "status=bogus");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.str("/error/code"), "bad_request");
  EXPECT_EQ(a.export_csv(d.admin, "sort=nope").status, 400);
}

TEST_F(LeadsTest, LargeOrganizationExportAndSearch) {
  // More rows than one export batch of the store (5,000 today), created by four concurrent
  // writers; also enough search hits to make the store pick its large-result search plans.
  constexpr int kRows = 5050;
  auto c = client();
  auto org = register_org(c, "BigCo");
  const Api a = api();
  std::atomic<int> next{0}, failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&] {
      for (int i = next++; i < kRows; i = next++) {
        auto res = a.create(org, R"({"name":"Row )" + std::to_string(i) + R"(","email":"row)" + std::to_string(i) +
                                     R"(@big.example"})");
        if (res.status != 201) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  ASSERT_EQ(a.count(org, ""), kRows);

  for (std::string sort : {"", "sort=name", "sort=createdAt"}) {
    auto res = a.export_csv(org, sort);
    ASSERT_EQ(res.status, 200) << sort;
    std::vector<std::vector<std::string>> rows;
    ASSERT_NO_THROW(rows = parse_csv(res.body)) << sort;
    ASSERT_EQ(rows.size(), static_cast<std::size_t>(kRows) + 1) << sort;
    std::set<std::string> seen;
    for (std::size_t i = 1; i < rows.size(); ++i) seen.insert(rows[i][0]);
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kRows)) << sort << ": a row was exported twice";
    int misordered = 0;
    for (std::size_t i = 2; i < rows.size(); ++i) {
      if (sort.empty() && rows[i - 1][9] < rows[i][9]) ++misordered;
      if (sort == "sort=createdAt" && rows[i - 1][9] > rows[i][9]) ++misordered;
      if (sort == "sort=name" && rows[i - 1][1] > rows[i][1]) ++misordered;
    }
    EXPECT_EQ(misordered, 0) << sort;
  }

  // Search over many hits: exact sets, every page exactly once, counts agree.
  auto number = [](const L& l) { return std::stoi(l.name.substr(4)); };
  struct Case {
    std::string q;
    std::function<bool(int)> match;
  };
  std::vector<Case> cases = {
      {"big.example", [](int) { return true; }},
      {"Row 12", [](int i) { return std::to_string(i).rfind("12", 0) == 0; }},
      {"row1", [](int i) { return std::to_string(i).rfind("1", 0) == 0; }},
      {"ROW 4999", [](int i) { return i == 4999; }},
      {"w 50", [](int i) { return std::to_string(i).rfind("50", 0) == 0; }},
  };
  for (const auto& tc : cases) {
    int want = 0;
    for (int i = 0; i < kRows; ++i) want += tc.match(i) ? 1 : 0;
    for (std::string sort : {"-createdAt", "name"}) {
      auto got = a.walk(org, "q=" + url(tc.q) + "&sort=" + url(sort), 200);
      std::set<std::string> unique;
      int wrong = 0;
      for (const auto& l : got) {
        unique.insert(l.id);
        if (!tc.match(number(l))) ++wrong;
      }
      EXPECT_EQ(static_cast<int>(got.size()), want) << tc.q << " " << sort;
      EXPECT_EQ(static_cast<int>(unique.size()), want) << tc.q << " " << sort;
      EXPECT_EQ(wrong, 0) << tc.q << " " << sort;
      for (std::size_t i = 1; i < got.size(); ++i) {
        bool ordered = sort == "name" ? got[i - 1].name <= got[i].name : got[i - 1].created >= got[i].created;
        if (!ordered) {
          ADD_FAILURE() << tc.q << " " << sort << ": out of order at " << i;
          break;
        }
      }
    }
    EXPECT_EQ(a.count(org, "q=" + url(tc.q)), want) << tc.q;
    // A small first page comes from the same set.
    auto first = a.list(org, "limit=5&q=" + url(tc.q));
    ASSERT_EQ(first.status, 200);
    EXPECT_EQ(first.json["items"].Size(), static_cast<rapidjson::SizeType>(std::min(want, 5))) << tc.q;
  }
}

// ----- tenancy

TEST_F(LeadsTest, AnotherOrganizationsLeadsAreInvisibleAndUntouchable) {
  auto lead = make_lead(*admin_, R"(,"company":"Acme Secret Project","tags":["secret"])");
  ASSERT_EQ(api().note(*admin_, lead.id, R"({"body":"internal"})").status, 201);
  const auto before = api().get(*admin_, lead.id);
  ASSERT_EQ(before.status, 200);
  const auto acts_before = api().activities(*admin_, lead.id).body;

  for (auto* intruder : {globex_admin_, globex_agent_}) {
    std::vector<std::pair<std::string, Response>> attempts;
    attempts.emplace_back("GET", api().get(*intruder, lead.id));
    attempts.emplace_back("PATCH", api().patch(*intruder, lead.id, R"({"status":"lost","name":"pwned"})"));
    attempts.emplace_back("PATCH If-Match",
                          api().patch(*intruder, lead.id, R"({"status":"lost"})", {{"If-Match", "\"1\""}}));
    attempts.emplace_back("PATCH stale If-Match",
                          api().patch(*intruder, lead.id, R"({"status":"lost"})", {{"If-Match", "\"99\""}}));
    attempts.emplace_back("DELETE", api().del(*intruder, lead.id));
    attempts.emplace_back("activities", api().activities(*intruder, lead.id));
    attempts.emplace_back("notes", api().note(*intruder, lead.id, R"({"body":"hi"})"));
    for (const auto& [what, res] : attempts) {
      if (intruder == globex_agent_ && what == "DELETE") {
        EXPECT_TRUE(res.status == 404 || res.status == 403) << what << ": " << res.status;
        continue;
      }
      EXPECT_EQ(res.status, 404) << what << ": " << res.body;
      EXPECT_EQ(res.str("/error/code"), "not_found") << what;
      EXPECT_EQ(res.body.find(lead.id), std::string::npos) << what;
    }
  }
  auto bulk = api().bulk(*globex_admin_, R"({"ids":)" + json_array({lead.id}) +
                                             R"(,"set":{"status":"lost","tags":["x"],"assignedTo":null}})");
  ASSERT_EQ(bulk.status, 200) << bulk.body;
  EXPECT_EQ(bulk.str("/updated"), "0");
  auto bulk_assign = api().bulk(*globex_admin_, R"({"ids":)" + json_array({lead.id}) + R"(,"set":{"assignedTo":)" +
                                                    js(globex_agent_->user_id) + "}}");
  EXPECT_EQ(bulk_assign.status, 200);
  EXPECT_EQ(bulk_assign.str("/updated"), "0");

  const auto after = api().get(*admin_, lead.id);
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(after.body, before.body) << "another organization changed the lead";
  EXPECT_EQ(api().activities(*admin_, lead.id).body, acts_before);

  // Lists, counts and exports of the other organization never contain it.
  const std::vector<std::pair<std::string, bool>> queries = {
      {"", false},         {"q=" + url("Acme Secret"), true}, {"q=" + url(lead.phone.substr(1)), true},
      {"q=" + url(lead.email), true}, {"tag=secret", true},   {"assignedTo=none", false},
      {"status=new", false}};
  for (const auto& [q, none_expected] : queries) {
    auto items = api().walk(*globex_admin_, q, 200);
    for (const auto& l : items) {
      EXPECT_NE(l.id, lead.id) << q;
      EXPECT_EQ(at_org(*globex_admin_, l.id), globex_admin_->organization_id) << q;
    }
    const auto n = api().count(*globex_admin_, q);
    EXPECT_EQ(n, static_cast<std::int64_t>(items.size())) << q;
    if (none_expected) {
      EXPECT_EQ(n, 0) << q;
    }
    auto csv = api().export_csv(*globex_admin_, q);
    ASSERT_EQ(csv.status, 200) << q;
    EXPECT_EQ(csv.body.find(lead.id), std::string::npos) << q;
    EXPECT_EQ(csv.body.find("Acme Secret"), std::string::npos) << q;
  }
  // And Acme sees it with the same queries.
  EXPECT_EQ(api().count(*admin_, "q=" + url("Acme Secret")), 1);
  EXPECT_EQ(api().count(*admin_, "tag=secret"), 1);
}

// ---------------------------------------------------------------------------------------
// LeadsListTest: one server; ListCo with a known data set for filters, sorts and pages.

constexpr int kListLeads = 40;
const char* kSorts[] = {"-createdAt", "createdAt", "-updatedAt", "updatedAt", "name"};

class LeadsListTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new LmsServer();
    Client c(server_->port());
    admin_ = new Account(register_org(c, "ListCo"));
    agent_a_ = new Account(add_user(c, *admin_, "agent"));
    agent_b_ = new Account(add_user(c, *admin_, "agent"));
    data_ = new std::vector<L>();
    Api a{server_->port()};
    static const char* statuses[] = {"new", "contacted", "qualified", "converted", "lost"};
    for (int i = 0; i < kListLeads; ++i) {
      std::string name = i % 4 == 0 ? "Delta" : std::string(1, static_cast<char>('A' + (i * 7) % 26)) + "ane " + std::to_string(i);
      std::string body = R"({"name":)" + js(name) + R"(,"email":)" + js("list" + std::to_string(i) + "@listco.example");
      if (i % 2 == 0) body += R"(,"phone":)" + js("(646) 201-" + std::to_string(1000 + i));
      body += R"(,"status":)" + js(statuses[i % 5]);
      if (i % 3 == 0) body += R"(,"source":"web")";
      if (i % 3 == 1) body += R"(,"source":"referral")";
      switch (i % 6) {
        case 0: body += R"(,"tags":["hot"])"; break;
        case 1: body += R"(,"tags":["hot","vip"])"; break;
        case 2: body += R"(,"tags":["vip"])"; break;
        default: break;
      }
      const Account* assignee = i % 4 == 0 ? agent_a_ : i % 4 == 1 ? agent_b_ : i % 4 == 2 ? admin_ : nullptr;
      if (assignee) body += R"(,"assignedTo":)" + js(assignee->user_id);
      body += R"(,"company":)" + js(i % 7 == 0 ? "Initech" : i % 7 == 1 ? "Initrode" : "Company " + std::to_string(i));
      body += "}";
      data_->push_back(a.must_create(*admin_, body, i));
      // Distinct creation milliseconds keep the expected order independent of tie-breaks.
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
    // Some later updates reorder the updatedAt sorts.
    for (int i : {5, 12, 33, 0}) {
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      auto res = a.patch(*admin_, (*data_)[i].id, R"({"company":"Updated )" + std::to_string(i) + R"("})");
      if (res.status != 200) throw std::runtime_error("patch failed: " + res.body);
      (*data_)[i] = to_lead(res.json, i);
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    for (auto* a : {admin_, agent_a_, agent_b_}) delete a;
    delete data_;
  }
  Api api() const { return Api{server_->port()}; }
  Client client() const { return Client(server_->port()); }

  // The data set filtered and sorted as the server should.
  static std::vector<L> expected(const std::function<bool(const L&)>& keep, const std::string& sort) {
    std::vector<L> out;
    for (const auto& l : *data_)
      if (keep(l)) out.push_back(l);
    auto key = [&](const L& l) -> std::string {
      if (sort == "name") return l.name;
      if (sort == "-updatedAt" || sort == "updatedAt") return l.updated;
      return l.created;
    };
    bool desc = sort[0] == '-';
    std::stable_sort(out.begin(), out.end(), [&](const L& x, const L& y) {
      auto kx = key(x), ky = key(y);
      if (kx != ky) return desc ? kx > ky : kx < ky;
      return desc ? x.idx > y.idx : x.idx < y.idx;
    });
    return out;
  }

  // Every sort, walked with limit 7, gives exactly the expected ids in order; count agrees.
  void check_query(const Account& who, const std::string& query, const std::function<bool(const L&)>& keep) {
    for (const char* sort : kSorts) {
      std::string q = query + (query.empty() ? "" : "&") + "sort=" + url(sort);
      auto got = api().walk(who, q, 7);
      auto want = expected(keep, sort);
      EXPECT_EQ(ids(got), ids(want)) << "query " << q;
    }
    EXPECT_EQ(api().count(who, query), static_cast<std::int64_t>(expected(keep, "name").size())) << "count " << query;
  }

  static bool has_tag(const L& l, const std::string& t) {
    return std::find(l.tags.begin(), l.tags.end(), t) != l.tags.end();
  }

  static LmsServer* server_;
  static Account *admin_, *agent_a_, *agent_b_;
  static std::vector<L>* data_;
};
LmsServer* LeadsListTest::server_ = nullptr;
Account *LeadsListTest::admin_, *LeadsListTest::agent_a_, *LeadsListTest::agent_b_;
std::vector<L>* LeadsListTest::data_ = nullptr;

TEST_F(LeadsListTest, EverySortWalksEveryLeadExactlyOnceInOrder) {
  for (int limit : {1, 7, 40, 200}) {
    for (const char* sort : kSorts) {
      auto got = api().walk(*admin_, "sort=" + url(sort), limit);
      auto want = expected([](const L&) { return true; }, sort);
      ASSERT_EQ(want.size(), static_cast<std::size_t>(kListLeads));
      EXPECT_EQ(ids(got), ids(want)) << "sort " << sort << " limit " << limit;
    }
  }
  // The default is -createdAt and 50.
  auto first = api().list(*admin_, "");
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.json["items"].Size(), static_cast<rapidjson::SizeType>(kListLeads));
  EXPECT_TRUE(first.json["nextCursor"].IsNull());
  EXPECT_EQ(at(first.json, "/items/0/id"), expected([](const L&) { return true; }, "-createdAt")[0].id);
  auto page = api().list(*admin_, "limit=39");
  EXPECT_TRUE(page.json["nextCursor"].IsString());
  auto exact = api().list(*admin_, "limit=40");
  EXPECT_TRUE(exact.json["nextCursor"].IsNull()) << "a full last page must not promise more";
}

TEST_F(LeadsListTest, FiltersSelectExactlyTheMatchingLeads) {
  const std::string admin = admin_->user_id, a = agent_a_->user_id;
  check_query(*admin_, "", [](const L&) { return true; });
  check_query(*admin_, "status=qualified", [](const L& l) { return l.status == "qualified"; });
  check_query(*admin_, "assignedTo=me", [&](const L& l) { return l.assigned == admin; });
  check_query(*admin_, "assignedTo=" + a, [&](const L& l) { return l.assigned == a; });
  check_query(*admin_, "assignedTo=none", [](const L& l) { return l.assigned == "null"; });
  check_query(*admin_, "assignedTo=no-such-user", [](const L&) { return false; });
  check_query(*admin_, "source=web", [](const L& l) { return l.source == "web"; });
  check_query(*admin_, "source=Web", [](const L&) { return false; });
  check_query(*admin_, "tag=hot", [](const L& l) { return has_tag(l, "hot"); });
  check_query(*admin_, "tag=vip", [](const L& l) { return has_tag(l, "vip"); });
  check_query(*admin_, "q=initech", [](const L& l) { return l.company == "Initech"; });
  check_query(*admin_, "q=INITR", [](const L& l) { return l.company == "Initrode"; });
  check_query(*admin_, "q=updated", [](const L& l) { return l.company.rfind("Updated", 0) == 0; });
  check_query(*admin_, "q=list17%40", [](const L& l) { return l.idx == 17; });
  const auto& d = *data_;
  const std::string from = d[10].created;
  const std::string to = format_ms(parse_ms(d[30].created) - 1);
  ASSERT_LT(d[29].created, to);
  check_query(*admin_, "createdFrom=" + url(from), [&](const L& l) { return l.idx >= 10; });
  check_query(*admin_, "createdTo=" + url(to), [&](const L& l) { return l.idx < 30; });
  check_query(*admin_, "createdFrom=" + url(from) + "&createdTo=" + url(to),
              [&](const L& l) { return l.idx >= 10 && l.idx < 30; });
  // Offsets other than Z mean the same instant.
  const std::int64_t from_ms = parse_ms(from);
  std::string plus_two = format_ms(from_ms + 2 * 3600 * 1000);
  plus_two = plus_two.substr(0, plus_two.size() - 1) + "+02:00";
  check_query(*admin_, "createdFrom=" + url(plus_two), [&](const L& l) { return l.idx >= 10; });
  check_query(*admin_, "createdFrom=2000-01-01T00:00:00Z&createdTo=2000-01-02T00:00:00Z",
              [](const L&) { return false; });
  // Filters combine with AND.
  check_query(*admin_, "status=new&tag=hot&source=web",
              [](const L& l) { return l.status == "new" && has_tag(l, "hot") && l.source == "web"; });
  check_query(*admin_, "assignedTo=" + a + "&tag=vip", [&](const L& l) { return l.assigned == a && has_tag(l, "vip"); });
  check_query(*admin_, "q=delta&status=new", [](const L& l) { return l.name == "Delta" && l.status == "new"; });
}

TEST_F(LeadsListTest, AgentsSeeOnlyTheirOwnLeadsWhateverTheFilters) {
  const std::string a = agent_a_->user_id, b = agent_b_->user_id;
  auto own = [&](const std::function<bool(const L&)>& f) {
    return [&, f](const L& l) { return l.assigned == a && f(l); };
  };
  check_query(*agent_a_, "", own([](const L&) { return true; }));
  check_query(*agent_a_, "assignedTo=me", own([](const L&) { return true; }));
  check_query(*agent_a_, "assignedTo=" + a, own([](const L&) { return true; }));
  check_query(*agent_a_, "assignedTo=" + b, [](const L&) { return false; });
  check_query(*agent_a_, "assignedTo=" + admin_->user_id, [](const L&) { return false; });
  check_query(*agent_a_, "assignedTo=none", [](const L&) { return false; });
  check_query(*agent_a_, "status=new", own([](const L& l) { return l.status == "new"; }));
  check_query(*agent_a_, "tag=hot", own([](const L& l) { return has_tag(l, "hot"); }));
  check_query(*agent_a_, "q=initech", own([](const L& l) { return l.company == "Initech"; }));
  check_query(*agent_a_, "q=list", own([](const L&) { return true; }));
  check_query(*agent_b_, "q=list", [&](const L& l) { return l.assigned == b; });
  // Agents cannot export their way around it either.
  EXPECT_EQ(api().export_csv(*agent_a_, "").status, 403);
}

TEST_F(LeadsListTest, BadQueryParametersAre400) {
  for (std::string q : {"status=bogus", "status=NEW", "sort=foo", "sort=-name", "limit=0", "limit=201", "limit=x",
                        "limit=-1", "limit=1.5", "limit=7abc", "createdFrom=yesterday", "createdTo=2020-13-01T00:00:00Z",
                        "createdTo=2020-01-01", "cursor=garbage", "q=%zz"}) {
    auto res = api().list(*admin_, q);
    EXPECT_EQ(res.status, 400) << q << ": " << res.body;
    EXPECT_EQ(res.str("/error/code"), "bad_request") << q;
  }
  for (std::string q : {"status=bogus", "sort=foo", "createdFrom=yesterday"}) {
    auto res = client().get("/api/leads/count?" + q, admin_->access_token);
    EXPECT_EQ(res.status, 400) << "count " << q << ": " << res.body;
  }
  EXPECT_EQ(api().list(*admin_, "limit=1").status, 200);
  EXPECT_EQ(api().list(*admin_, "limit=200").status, 200);
  EXPECT_EQ(api().list(*admin_, "unknown=1").status, 200);
}

TEST_F(LeadsListTest, CursorsAreSignedPerOrganizationAndSort) {
  auto page = api().list(*admin_, "limit=7");
  ASSERT_EQ(page.status, 200);
  ASSERT_TRUE(page.json["nextCursor"].IsString());
  const std::string cursor = page.json["nextCursor"].GetString();
  ASSERT_EQ(api().list(*admin_, "limit=7&cursor=" + url(cursor)).status, 200);

  // Every flipped character is refused.
  int accepted = 0;
  for (std::size_t i = 0; i + 2 < cursor.size(); i += std::max<std::size_t>(1, cursor.size() / 12)) {
    std::string bad = cursor;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    auto res = api().list(*admin_, "limit=7&cursor=" + url(bad));
    if (res.status != 400) ++accepted;
    EXPECT_EQ(res.status, 400) << "flipped char " << i << ": " << res.body;
    EXPECT_EQ(res.str("/error/code"), "bad_request");
  }
  EXPECT_EQ(accepted, 0);
  EXPECT_EQ(api().list(*admin_, "limit=7&cursor=" + url(cursor.substr(0, cursor.size() - 4))).status, 400);

  // Another organization's cursor, with that organization's token, both ways.
  auto c = client();
  auto other = register_org(c, "CursorCo");
  for (int i = 0; i < 3; ++i)
    api().must_create(other, R"({"name":"C)" + std::to_string(i) + R"(","email":)" + js(unique_email("cc")) + "}");
  auto theirs = api().list(other, "limit=1");
  ASSERT_TRUE(theirs.json["nextCursor"].IsString()) << theirs.body;
  const std::string their_cursor = theirs.json["nextCursor"].GetString();
  ASSERT_EQ(api().list(other, "limit=1&cursor=" + url(their_cursor)).status, 200);
  auto cross = api().list(*admin_, "limit=1&cursor=" + url(their_cursor));
  EXPECT_EQ(cross.status, 400) << cross.body;
  auto cross2 = api().list(other, "limit=7&cursor=" + url(cursor));
  EXPECT_EQ(cross2.status, 400) << cross2.body;
  EXPECT_EQ(cross2.body.find("list"), std::string::npos) << "leaked leads: " << cross2.body;

  // A cursor of one sort is not valid for another.
  auto by_name = api().list(*admin_, "sort=name&limit=7");
  ASSERT_TRUE(by_name.json["nextCursor"].IsString());
  const std::string name_cursor = by_name.json["nextCursor"].GetString();
  EXPECT_EQ(api().list(*admin_, "sort=name&limit=7&cursor=" + url(name_cursor)).status, 200);
  for (std::string sort : {"", "sort=-createdAt&", "sort=createdAt&", "sort=updatedAt&", "sort=-updatedAt&"}) {
    auto res = api().list(*admin_, sort + "limit=7&cursor=" + url(name_cursor));
    EXPECT_EQ(res.status, 400) << sort << ": " << res.body;
  }
  EXPECT_EQ(api().list(*admin_, "sort=name&limit=7&cursor=" + url(cursor)).status, 400);
}

TEST_F(LeadsListTest, PaginationSeesEveryExistingLeadOnceWhileLeadsAreInserted) {
  auto c = client();
  auto org = register_org(c, "PageCo");
  const auto a = api();
  std::set<std::string> existing;
  for (int i = 0; i < 50; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "Base %02d %c", (i * 37) % 50, 'a' + i % 26);
    existing.insert(a.must_create(org, R"({"name":)" + js(name) + R"(,"email":)" + js(unique_email("page")) + "}").id);
  }
  int round = 0;
  for (const char* sort : {"-createdAt", "createdAt", "name", "-updatedAt"}) {
    std::atomic<bool> stop{false};
    std::atomic<int> inserted{0};
    std::string failure;
    std::thread writer([&, round] {
      for (int i = 0; i < 25 && !stop; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "%s %d-%02d", i % 2 ? "Base" : "New", round, (i * 13) % 25);
        auto res = a.create(org, R"({"name":)" + js(name) + R"(,"email":)" + js(unique_email("ins")) + "}");
        if (res.status != 201) failure = res.body;
        ++inserted;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
    // Start walking once the writer is under way.
    for (int spin = 0; spin < 2000 && inserted.load() == 0; ++spin)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::vector<L> seen;
    try {
      seen = a.walk(org, "sort=" + url(sort), 7, [] { std::this_thread::sleep_for(std::chrono::milliseconds(4)); });
    } catch (const std::exception& e) {
      ADD_FAILURE() << sort << ": " << e.what();
    }
    stop = true;
    writer.join();
    EXPECT_TRUE(failure.empty()) << failure;
    EXPECT_GT(inserted.load(), 0);
    std::map<std::string, int> times;
    for (const auto& l : seen) ++times[l.id];
    for (const auto& [id, n] : times) EXPECT_EQ(n, 1) << sort << ": lead " << id << " seen " << n << " times";
    for (const auto& id : existing) EXPECT_EQ(times.count(id), 1u) << sort << ": existing lead " << id << " missed";
    // The order holds across pages.
    for (std::size_t i = 1; i < seen.size(); ++i) {
      const auto &x = seen[i - 1], &y = seen[i];
      std::string sx = std::string(sort) == "name" ? x.name : std::string(sort).find("updated") != std::string::npos ? x.updated : x.created;
      std::string sy = std::string(sort) == "name" ? y.name : std::string(sort).find("updated") != std::string::npos ? y.updated : y.created;
      if (sort[0] == '-')
        EXPECT_GE(sx, sy) << sort << " at " << i;
      else
        EXPECT_LE(sx, sy) << sort << " at " << i;
    }
    for (const auto& l : a.walk(org, "", 200)) existing.insert(l.id);
    ++round;
  }
  EXPECT_EQ(existing.size(), static_cast<std::size_t>(a.count(org, "")));
}

// ----- search

TEST_F(LeadsListTest, SearchIsALiteralCaseInsensitiveSubstringMatch) {
  auto c = client();
  auto org = register_org(c, "SearchCo");
  const auto a = api();
  std::map<std::string, std::string> id;  // short name -> lead id
  auto add = [&](const std::string& key, const std::string& body) { id[key] = a.must_create(org, body).id; };
  add("alice", R"({"name":"Alice Smith","phone":"(415) 555-0123","email":"alice@wonderland.example","company":"Rabbit Hole Inc"})");
  add("bob", R"({"name":"Bob Jones","phone":"212-555-0100","email":"bob@builder.example","company":"Acme"})");
  add("sale", R"({"name":"50% off_sale \"quoted\"","email":"sale@shop.example"})");
  add("zoe", R"({"name":"Zo\u00eb \u00c5ngstr\u00f6m","email":"zoe@unicode.example","company":"Caf\u00e9 M\u00fcnster"})");
  add("obrien", R"({"name":"O'Brien & Sons","email":"obrien@pub.example"})");
  add("plain", R"({"name":"Plain Lead","email":"plain@example.com","company":"Nothing special","phone":"+44 20 7946 0958"})");
  const std::size_t total = id.size();

  auto search = [&](const std::string& q) {
    auto res = a.list(org, "limit=200&q=" + url(q));
    std::set<std::string> keys;
    if (res.status != 200) {
      ADD_FAILURE() << "q=" << q << ": " << res.status << " " << res.body;
      return std::set<std::string>{"<error>"};
    }
    for (auto& v : res.json["items"].GetArray())
      for (const auto& [k, i] : id)
        if (i == at(v, "/id")) keys.insert(k);
    EXPECT_EQ(keys.size(), res.json["items"].Size()) << q;
    EXPECT_EQ(a.count(org, "q=" + url(q)), static_cast<std::int64_t>(keys.size())) << "count q=" << q;
    return keys;
  };
  using S = std::set<std::string>;
  // Phone digits, however the query spells them.
  EXPECT_EQ(search("5550"), (S{"alice", "bob"}));
  EXPECT_EQ(search("(415) 555"), (S{"alice"}));
  EXPECT_EQ(search("415.555.0123"), (S{"alice"}));
  EXPECT_EQ(search("+1 415 555 0123"), (S{"alice"}));
  EXPECT_EQ(search("0123"), (S{"alice"}));
  EXPECT_EQ(search("2079460958"), (S{"plain"}));
  EXPECT_EQ(search("+44 20 7946"), (S{"plain"}));
  // Name, email and company, in any case; short queries too.
  EXPECT_EQ(search("ALICE"), (S{"alice"}));
  EXPECT_EQ(search("smi"), (S{"alice"}));
  EXPECT_EQ(search("wonderland"), (S{"alice"}));
  EXPECT_EQ(search("Bob@Builder"), (S{"bob"}));
  EXPECT_EQ(search("rabbit hole"), (S{"alice"}));
  EXPECT_EQ(search("acme"), (S{"bob"}));
  EXPECT_EQ(search("Jo"), (S{"bob"}));
  EXPECT_EQ(search(" alice "), (S{"alice"}));
  EXPECT_EQ(search("").size(), total);
  EXPECT_EQ(search("nobody-has-this"), S{});
  // SQL LIKE and FTS syntax are searched literally.
  EXPECT_EQ(search("50% off_"), (S{"sale"}));
  EXPECT_EQ(search("\"quoted\""), (S{"sale"}));
  EXPECT_EQ(search("%"), (S{"sale"}));
  EXPECT_EQ(search("_"), (S{"sale"}));
  EXPECT_EQ(search("\""), (S{"sale"}));
  EXPECT_EQ(search("'"), (S{"obrien"}));
  EXPECT_EQ(search("O'Brien"), (S{"obrien"}));
  EXPECT_EQ(search("& Sons"), (S{"obrien"}));
  EXPECT_EQ(search("0%"), (S{"sale"}));
  EXPECT_EQ(search("%%"), S{});
  EXPECT_EQ(search("*"), S{});
  EXPECT_EQ(search("a*"), S{});
  EXPECT_EQ(search("Ali*"), S{});
  EXPECT_EQ(search("OR 1=1"), S{});
  EXPECT_EQ(search("' OR '1'='1"), S{});
  EXPECT_EQ(search("name:foo"), S{});
  EXPECT_EQ(search("doc:alice"), S{});
  EXPECT_EQ(search("NEAR(a b)"), S{});
  EXPECT_EQ(search("a\" OR \"b"), S{});
  EXPECT_EQ(search("alice OR bob"), S{});
  EXPECT_EQ(search("alice AND smith"), S{});
  EXPECT_EQ(search("NOT alice"), S{});
  EXPECT_EQ(search("'; DROP TABLE leads; --"), S{});
  EXPECT_EQ(search("\\"), S{});
  EXPECT_EQ(search("^alice"), S{});
  EXPECT_EQ(search("(((("), S{});
  EXPECT_EQ(search("a\tb"), S{});
  // Unicode.
  EXPECT_EQ(search("\xc3\x85ngstr\xc3\xb6m"), (S{"zoe"}));
  EXPECT_EQ(search("M\xc3\xbcnster"), (S{"zoe"}));
  EXPECT_EQ(search("\xc3\xab"), (S{"zoe"}));
  EXPECT_EQ(search("\xc3\xa5ngstr\xc3\xb6m"), (S{"zoe"})) << "case-insensitive beyond ASCII";
  EXPECT_EQ(search("M\xc3\x9cNSTER"), (S{"zoe"})) << "case-insensitive beyond ASCII";
  EXPECT_EQ(search("\xf0\x9f\x98\x80"), S{});
  EXPECT_EQ(search("\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97"), S{});
  // Nothing was dropped or damaged on the way.
  EXPECT_EQ(a.count(org, ""), static_cast<std::int64_t>(total));
  // Longest accepted query and beyond.
  EXPECT_EQ(a.list(org, "q=" + std::string(200, 'x')).status, 200);
  EXPECT_EQ(a.list(org, "q=" + std::string(201, 'x')).status, 400);
}

TEST_F(LeadsListTest, SearchFollowsUpdatesAndDeletes) {
  auto c = client();
  auto org = register_org(c, "SearchMoves");
  const auto a = api();
  auto lead = a.must_create(org, R"({"name":"Before Name","email":"mover@example.org","phone":"(646) 201-4242"})");
  EXPECT_EQ(a.count(org, "q=before"), 1);
  ASSERT_EQ(a.patch(org, lead.id, R"({"name":"After Name","phone":"(646) 201-4343","company":"Zebra"})").status, 200);
  EXPECT_EQ(a.count(org, "q=before"), 0);
  EXPECT_EQ(a.count(org, "q=after"), 1);
  EXPECT_EQ(a.count(org, "q=zebra"), 1);
  EXPECT_EQ(a.count(org, "q=4242"), 0);
  EXPECT_EQ(a.count(org, "q=4343"), 1);
  ASSERT_EQ(a.del(org, lead.id).status, 204);
  EXPECT_EQ(a.count(org, "q=after"), 0);
  EXPECT_EQ(a.count(org, "q=4343"), 0);
}

TEST_F(LeadsListTest, CountMatchesListTotals) {
  for (const std::string& q : std::vector<std::string>{"", "status=lost", "tag=hot", "assignedTo=none", "q=ane", "source=referral&tag=vip",
                        "q=delta", "createdFrom=" + url((*data_)[20].created)}) {
    auto items = api().walk(*admin_, q, 200);
    EXPECT_EQ(api().count(*admin_, q), static_cast<std::int64_t>(items.size())) << q;
    EXPECT_EQ(api().count(*agent_b_, q), static_cast<std::int64_t>(api().walk(*agent_b_, q, 200).size())) << q;
  }
  // Paging parameters do not change a count.
  EXPECT_EQ(api().count(*admin_, "limit=1&sort=name"), kListLeads);
}

}  // namespace
}  // namespace lms::test

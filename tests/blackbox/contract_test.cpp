// Black-box tests of the contract's finer rules, as a new integrator meets them: free text
// with line breaks, which rate-limit scope each route counts in, what an import's `source`
// touches, logout ending the access token (also on a second instance of the same
// database), the activity timeline's pages, If-Match, HEAD, deactivated assignees, bulk
// error names, role checks before the body is read, request ids on transport errors.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace lms::test {
namespace {

using namespace std::chrono_literals;

std::map<std::string, std::string> bearer(const Account& who) { return {{"Authorization", "Bearer " + who.access_token}}; }

Response create_lead(Client& c, const Account& who, const std::string& json) {
  return c.post("/api/leads", json, who.access_token);
}

// Uploads `csv` as an import with `query` and waits for the job to end.
Response run_import(Client& c, const Account& who, const std::string& csv, const std::string& query) {
  auto h = bearer(who);
  h["Content-Type"] = "text/csv";
  auto started = c.request("POST", "/api/imports?" + query, csv, h);
  if (started.status != 202) return started;
  std::string id = started.str("/id");
  auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    auto job = c.get("/api/imports/" + id, who.access_token);
    std::string state = job.str("/state");
    if (state == "completed" || state == "failed" || state == "reverted" || std::chrono::steady_clock::now() > deadline)
      return job;
    std::this_thread::sleep_for(50ms);
  }
}

std::string first_field(const Response& r) { return r.str("/error/details/0/field"); }

TEST(ContractTest, FreeTextKeepsLineBreaksAndTabsAndRefusesOtherControlCharacters) {
  LmsServer server;
  Client c(server.port());
  auto admin = register_org(c, "Text");
  auto lead = create_lead(c, admin,
                          R"({"name":"Ann\tLee","phone":"+14155550101","company":"Acme, Inc.\nSecond line",)"
                          R"("source":"fair\r\nhall 2","custom":{"memo":"line one\nline two"}})");
  ASSERT_EQ(lead.status, 201) << lead.body;
  std::string id = lead.str("/id");
  auto read = c.get("/api/leads/" + id, admin.access_token);
  EXPECT_EQ(read.str("/company"), "Acme, Inc.\nSecond line");
  EXPECT_EQ(read.str("/name"), "Ann\tLee");
  EXPECT_EQ(read.str("/source"), "fair\r\nhall 2");
  EXPECT_EQ(read.str("/custom/memo"), "line one\nline two");

  auto patched = c.patch("/api/leads/" + id, R"({"company":"Globex\n\tEurope"})", admin.access_token);
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.str("/company"), "Globex\n\tEurope");
  auto note = c.post("/api/leads/" + id + "/notes", R"({"body":"called\nleft a message"})", admin.access_token);
  ASSERT_EQ(note.status, 201) << note.body;
  EXPECT_EQ(note.str("/data/body"), "called\nleft a message");

  // The export quotes the cell, so a spreadsheet reads one cell with a line break.
  auto csv = fetch(server.port(), "GET", "/api/leads/export", bearer(admin));
  ASSERT_EQ(csv.status, 200);
  EXPECT_NE(csv.body.find(",\"Globex\n\tEurope\","), std::string::npos) << csv.body;

  // Other control characters are refused with 422 naming the field: creates, patches,
  // notes, custom values.
  struct Refused {
    const char* body;
    const char* field;
  };
  for (auto [body, field] : std::vector<Refused>{
           {R"({"name":"Ann","phone":"+14155550102","company":"Acme\u001b[31m"})", "company"},
           {R"({"name":"A\u0000nn","phone":"+14155550103"})", "name"},
           {R"({"name":"Ann","phone":"+14155550104","source":"x\u0007"})", "source"},
           {R"({"name":"Ann","phone":"+14155550105","custom":{"memo":"bell\u0007"}})", "custom.memo"},
       }) {
    auto r = create_lead(c, admin, body);
    EXPECT_EQ(r.status, 422) << body << " " << r.body;
    EXPECT_EQ(first_field(r), field) << r.body;
  }
  auto bad_patch = c.patch("/api/leads/" + id, R"({"company":"x\u007f"})", admin.access_token);
  EXPECT_EQ(bad_patch.status, 422);
  EXPECT_EQ(first_field(bad_patch), "company");
  auto bad_note = c.post("/api/leads/" + id + "/notes", R"({"body":"esc\u001b"})", admin.access_token);
  EXPECT_EQ(bad_note.status, 422);
  EXPECT_EQ(first_field(bad_note), "body");

  // Imports: the same rule. A quoted cell with a line break is kept; ESC makes the row invalid.
  auto job = run_import(c, admin,
                        "name,phone,company,memo\r\n"
                        "Bo,+14155550110,\"Initech\nFloor 3\",\"a\tb\"\r\n"
                        "Cy,+14155550111,\"Bad\x1b\",x\r\n"
                        "Di,+14155550112,Fine,\"bell\x07\"\r\n",
                        "dedupe=skip");
  ASSERT_EQ(job.str("/state"), "completed") << job.body;
  EXPECT_EQ(job.str("/inserted"), "1") << job.body;
  EXPECT_EQ(job.str("/invalid"), "2") << job.body;
  auto errors = fetch(server.port(), "GET", "/api/imports/" + job.str("/id") + "/errors", bearer(admin));
  EXPECT_NE(errors.body.find("company"), std::string::npos) << errors.body;
  EXPECT_NE(errors.body.find("custom.memo"), std::string::npos) << errors.body;
  auto found = c.get("/api/leads?q=Initech", admin.access_token);
  ASSERT_EQ(found.json["items"].Size(), 1u) << found.body;
  EXPECT_EQ(found.str("/items/0/company"), "Initech\nFloor 3");
  EXPECT_EQ(found.str("/items/0/custom/memo"), "a\tb");
}

TEST(ContractTest, AuthMeCountsInTheUsersApiQuotaAndCredentialRoutesInTheAddressQuota) {
  // Hour-long windows: no quota comes back while the test runs, so every count is exact.
  LmsServer server({"--rate-auth", "4/1h", "--rate-api", "100/1h"});
  Client c(server.port());
  auto admin = register_org(c, "Scopes");  // auth: 1 of 4
  int expected_remaining = 100;
  for (int i = 0; i < 10; ++i) {
    auto me = c.get("/api/auth/me", admin.access_token);
    ASSERT_EQ(me.status, 200) << i << me.body;
    EXPECT_EQ(me.header("ratelimit-limit"), "100");
    EXPECT_EQ(me.header("ratelimit-remaining"), std::to_string(--expected_remaining));
    // Another API call of the same user counts down the same quota.
    auto list = c.get("/api/leads", admin.access_token);
    EXPECT_EQ(list.header("ratelimit-remaining"), std::to_string(--expected_remaining));
  }
  // The credential routes share the per-address quota of 4: register (above), two logins,
  // a logout, and then the address is limited, while `me` still answers.
  auto login_body = R"({"email":")" + admin.email + R"(","password":"correct-horse"})";
  auto login = c.post("/api/auth/login", login_body);
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_EQ(login.header("ratelimit-limit"), "4");
  EXPECT_EQ(login.header("ratelimit-remaining"), "2");
  auto second = c.post("/api/auth/login", login_body);
  EXPECT_EQ(second.header("ratelimit-remaining"), "1");
  auto logout = c.post("/api/auth/logout", R"({"refreshToken":")" + second.str("/refreshToken") + R"("})",
                       second.str("/accessToken"));
  EXPECT_EQ(logout.status, 204);
  EXPECT_EQ(logout.header("ratelimit-limit"), "4");
  EXPECT_EQ(logout.header("ratelimit-remaining"), "0");
  EXPECT_EQ(c.post("/api/auth/login", login_body).status, 429);
  auto me = c.get("/api/auth/me", admin.access_token);
  EXPECT_EQ(me.status, 200);
  EXPECT_EQ(me.header("ratelimit-limit"), "100");
}

TEST(ContractTest, ImportSourceGoesToInsertedLeadsOnly) {
  LmsServer server;
  Client c(server.port());
  auto admin = register_org(c, "Sources");
  auto existing = create_lead(c, admin, R"({"name":"Old","phone":"+14155550120"})");
  ASSERT_EQ(existing.status, 201);
  auto with_source = create_lead(c, admin, R"({"name":"Older","phone":"+14155550121"})");
  ASSERT_EQ(with_source.status, 201);
  // Row 1 updates `existing` (no source cell), row 2 updates `with_source` from its own source
  // cell, row 3 is new.
  auto job = run_import(c, admin,
                        "name,phone,company,source\r\n"
                        "Old,+14155550120,Acme,\r\n"
                        "Older,+14155550121,,webinar\r\n"
                        "New,+14155550122,Initech,\r\n",
                        "dedupe=update&source=trade-fair");
  ASSERT_EQ(job.str("/state"), "completed") << job.body;
  EXPECT_EQ(job.str("/updated"), "2") << job.body;
  EXPECT_EQ(job.str("/inserted"), "1") << job.body;
  auto old_lead = c.get("/api/leads/" + existing.str("/id"), admin.access_token);
  EXPECT_EQ(old_lead.str("/company"), "Acme");
  EXPECT_EQ(old_lead.str("/source"), "null") << "the job's source was written onto an existing lead";
  EXPECT_EQ(c.get("/api/leads/" + with_source.str("/id"), admin.access_token).str("/source"), "webinar");
  auto inserted = c.get("/api/leads?q=Initech", admin.access_token);
  ASSERT_EQ(inserted.json["items"].Size(), 1u);
  EXPECT_EQ(inserted.str("/items/0/source"), "trade-fair");

  auto reverted = c.post("/api/imports/" + job.str("/id") + "/revert", "{}", admin.access_token);
  ASSERT_EQ(reverted.status, 200) << reverted.body;
  old_lead = c.get("/api/leads/" + existing.str("/id"), admin.access_token);
  EXPECT_EQ(old_lead.str("/company"), "null");
  EXPECT_EQ(old_lead.str("/source"), "null");
  EXPECT_EQ(c.get("/api/leads/" + with_source.str("/id"), admin.access_token).str("/source"), "null");
}

TEST(ContractTest, LogoutEndsTheAccessTokenOnEveryInstanceOfTheDatabase) {
  LmsServer first;
  Client a(first.port());
  auto admin = register_org(a, "Logout");
  LmsServer second({}, first.dir());  // a second instance on the same database file
  Client b(second.port());
  auto login = a.post("/api/auth/login", R"({"email":")" + admin.email + R"(","password":"correct-horse"})");
  ASSERT_EQ(login.status, 200);
  std::string token = login.str("/accessToken");
  ASSERT_EQ(b.get("/api/auth/me", token).status, 200) << "the instances share the token secret";

  auto logout = a.post("/api/auth/logout", R"({"refreshToken":")" + login.str("/refreshToken") + R"("})", token);
  ASSERT_EQ(logout.status, 204);
  EXPECT_EQ(a.get("/api/auth/me", token).status, 401) << "the token logout was called with still works";
  EXPECT_EQ(a.post("/api/auth/refresh", R"({"refreshToken":")" + login.str("/refreshToken") + R"("})").status, 401);
  // The other instance reads revocations at least once a second.
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    status = b.get("/api/auth/me", token).status;
    if (status == 401) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(status, 401) << "the second instance still accepts a logged-out token";
  // Other sign-ins of the same user are untouched.
  EXPECT_EQ(a.get("/api/auth/me", admin.access_token).status, 200);
  EXPECT_EQ(b.get("/api/auth/me", admin.access_token).status, 200);

  // A logout whose refresh token is of another sign-in of the user ends that one too.
  auto other = b.post("/api/auth/login", R"({"email":")" + admin.email + R"(","password":"correct-horse"})");
  ASSERT_EQ(other.status, 200);
  auto cross = b.post("/api/auth/logout", R"({"refreshToken":")" + other.str("/refreshToken") + R"("})",
                      admin.access_token);
  EXPECT_EQ(cross.status, 204);
  EXPECT_EQ(b.get("/api/auth/me", other.str("/accessToken")).status, 401);
  EXPECT_EQ(b.get("/api/auth/me", admin.access_token).status, 401);
}

TEST(ContractTest, RefreshTokenReuseEndsTheSessionsAccessTokens) {
  LmsServer server;
  Client c(server.port());
  auto admin = register_org(c, "Reuse");
  auto rotated = c.post("/api/auth/refresh", R"({"refreshToken":")" + admin.refresh_token + R"("})");
  ASSERT_EQ(rotated.status, 200);
  std::string token = rotated.str("/accessToken");
  ASSERT_EQ(c.get("/api/auth/me", token).status, 200);
  // The spent token again: reuse, the family is revoked and so are its access tokens.
  EXPECT_EQ(c.post("/api/auth/refresh", R"({"refreshToken":")" + admin.refresh_token + R"("})").status, 401);
  EXPECT_EQ(c.get("/api/auth/me", token).status, 401);
  EXPECT_EQ(c.get("/api/auth/me", admin.access_token).status, 401);
}

TEST(ContractTest, ActivityTimelinePagesWithACursor) {
  LmsServer server;
  Client c(server.port());
  auto admin = register_org(c, "Timeline");
  auto other_org = register_org(c, "Timeline elsewhere");
  auto lead = create_lead(c, admin, R"({"name":"Ann","phone":"+14155550130"})");
  ASSERT_EQ(lead.status, 201);
  std::string id = lead.str("/id");
  auto other_lead = create_lead(c, admin, R"({"name":"Bo","phone":"+14155550131"})");
  for (int i = 0; i < 7; ++i)
    ASSERT_EQ(c.post("/api/leads/" + id + "/notes", R"({"body":"note )" + std::to_string(i) + R"("})", admin.access_token).status,
              201);
  std::vector<std::string> ids;
  std::string cursor;
  int pages = 0;
  do {
    auto page = c.get("/api/leads/" + id + "/activities?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor),
                      admin.access_token);
    ASSERT_EQ(page.status, 200) << page.body;
    ASSERT_LE(page.json["items"].Size(), 3u);
    for (auto& item : page.json["items"].GetArray()) ids.emplace_back(item["id"].GetString());
    cursor = page.json["nextCursor"].IsNull() ? "" : page.json["nextCursor"].GetString();
    ASSERT_LT(++pages, 10);
  } while (!cursor.empty());
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(ids.size(), 8u);  // created + 7 notes
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 8u);
  auto all = c.get("/api/leads/" + id + "/activities", admin.access_token);
  ASSERT_EQ(all.json["items"].Size(), 8u);
  EXPECT_EQ(all.str("/nextCursor"), "null");
  EXPECT_EQ(all.str("/items/0/data/body"), "note 6");  // newest first
  EXPECT_EQ(all.str("/items/7/type"), "created");
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], all.json["items"][static_cast<rapidjson::SizeType>(i)]["id"].GetString());

  auto first = c.get("/api/leads/" + id + "/activities?limit=2", admin.access_token);
  std::string next = first.str("/nextCursor");
  EXPECT_EQ(c.get("/api/leads/" + other_lead.str("/id") + "/activities?cursor=" + next, admin.access_token).status, 400)
      << "a cursor of one lead's timeline was accepted on another";
  EXPECT_EQ(c.get("/api/leads/" + id + "/activities?cursor=garbage", admin.access_token).status, 400);
  EXPECT_EQ(c.get("/api/leads/" + id + "/activities?limit=0", admin.access_token).status, 400);
  EXPECT_EQ(c.get("/api/leads/" + id + "/activities?limit=201", admin.access_token).status, 400);
  EXPECT_EQ(c.get("/api/leads/" + id + "/activities?cursor=" + next, other_org.access_token).status, 400);
  EXPECT_EQ(c.get("/api/leads/" + id + "/activities", other_org.access_token).status, 404);
}

TEST(ContractTest, MalformedIfMatchIs400AndAStaleOneIs412) {
  LmsServer server;
  Client c(server.port());
  auto admin = register_org(c, "IfMatch");
  auto lead = create_lead(c, admin, R"({"name":"Ann","phone":"+14155550140"})");
  std::string path = "/api/leads/" + lead.str("/id");
  auto patch = [&](const std::string& if_match, const std::string& body) {
    auto h = bearer(admin);
    h["If-Match"] = if_match;
    return c.request("PATCH", path, body, h);
  };
  for (const char* bad : {"abc", "\"1", "\"\"", "\"-1\"", "\"1.5\"", "W/", "\"99999999999999999999999\""}) {
    auto r = patch(bad, R"({"status":"contacted"})");
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
    EXPECT_EQ(r.str("/error/code"), "bad_request");
  }
  EXPECT_EQ(c.get(path, admin.access_token).str("/version"), "1") << "a refused patch changed the lead";
  EXPECT_EQ(patch("\"1\"", R"({"status":"contacted"})").status, 200);
  auto stale = patch("\"1\"", R"({"status":"qualified"})");
  EXPECT_EQ(stale.status, 412);
  EXPECT_EQ(stale.str("/error/code"), "precondition_failed");
  EXPECT_EQ(patch("W/\"2\"", R"({"status":"qualified"})").status, 200);
  EXPECT_EQ(patch("*", R"({"status":"lost"})").status, 200);
}

// The head of a response, split from what followed it.
struct RawAnswer {
  std::string head, rest;
};
RawAnswer raw_request(std::uint16_t port, const std::string& request) {
  RawConnection conn(port);
  conn.send(request);
  std::string all = conn.read_until_close(3s);
  auto end = all.find("\r\n\r\n");
  if (end == std::string::npos) return {all, {}};
  return {all.substr(0, end + 2), all.substr(end + 4)};
}

TEST(ContractTest, HeadIsAnsweredWhereverGetIs) {
  LmsServer server;
  Client c(server.port());
  auto admin = register_org(c, "Head");
  auto lead = create_lead(c, admin, R"({"name":"Ann","phone":"+14155550150"})");
  std::string path = "/api/leads/" + lead.str("/id");
  auto get = c.get(path, admin.access_token);
  std::string auth = "Authorization: Bearer " + admin.access_token + "\r\n";
  auto head = raw_request(server.port(), "HEAD " + path + " HTTP/1.1\r\nHost: x\r\n" + auth + "Connection: close\r\n\r\n");
  EXPECT_EQ(head.head.rfind("HTTP/1.1 200", 0), 0u) << head.head;
  EXPECT_NE(head.head.find("Content-Length: " + std::to_string(get.body.size()) + "\r\n"), std::string::npos) << head.head;
  EXPECT_NE(head.head.find("ETag: \"1\""), std::string::npos) << head.head;
  EXPECT_NE(head.head.find("X-Request-Id: "), std::string::npos);
  EXPECT_TRUE(head.rest.empty()) << head.rest;

  for (const std::string& target : std::vector<std::string>{"/healthz", "/readyz", "/metrics", "/api/leads", "/api/leads/count", "/api/auth/me",
                                    "/api/leads/export", "/api/users", "/api/leads/" + lead.str("/id") + "/activities"}) {
    // /metrics is lms's own (scraped per instance, never through the proxy: deploy/nginx).
    auto r = raw_request(target == "/metrics" ? server.lms_port() : server.port(), "HEAD " + target + " HTTP/1.1\r\nHost: x\r\n" + auth + "Connection: close\r\n\r\n");
    EXPECT_EQ(r.head.rfind("HTTP/1.1 200", 0), 0u) << target << ": " << r.head;
    EXPECT_TRUE(r.rest.empty()) << target << ": " << r.rest;
  }
  // Keep-alive: two HEADs and a GET on one connection, each answered in order.
  RawConnection conn(server.port());
  conn.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nHEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto three = conn.read_until_close(3s);
  EXPECT_EQ(three.find("{\"status\":\"ok\"}"), three.rfind("{\"status\":\"ok\"}")) << three;
  EXPECT_NE(three.find("{\"status\":\"ok\"}"), std::string::npos) << three;
  // Unauthenticated HEAD is 401 like GET; HEAD on a POST-only path is 405.
  EXPECT_EQ(raw_request(server.port(), "HEAD /api/leads HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").head.rfind("HTTP/1.1 401", 0), 0u);
  auto post_only = raw_request(server.port(), "HEAD /api/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(post_only.head.rfind("HTTP/1.1 405", 0), 0u) << post_only.head;
  // HEAD on the real-time endpoint opens no session.
  auto rt = raw_request(server.port(), "HEAD /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(rt.head.rfind("HTTP/1.1 400", 0), 0u) << rt.head;
  EXPECT_NE(Client(server.lms_port()).get("/metrics").body.find("\nrealtime_sessions 0\n"), std::string::npos);
}

TEST(ContractTest, DeactivatedUsersCannotBeAssigned) {
  LmsServer server;
  Client c(server.port());
  auto admin = register_org(c, "Deactivated");
  auto agent = add_user(c, admin, "agent");
  ASSERT_EQ(c.patch("/api/users/" + agent.user_id, R"({"active":false})", admin.access_token).status, 200);
  auto create = create_lead(c, admin, R"({"name":"Ann","phone":"+14155550160","assignedTo":")" + agent.user_id + R"("})");
  EXPECT_EQ(create.status, 422) << create.body;
  EXPECT_EQ(first_field(create), "assignedTo");
  auto lead = create_lead(c, admin, R"({"name":"Ann","phone":"+14155550160"})");
  ASSERT_EQ(lead.status, 201);
  auto patch = c.patch("/api/leads/" + lead.str("/id"), R"({"assignedTo":")" + agent.user_id + R"("})", admin.access_token);
  EXPECT_EQ(patch.status, 422) << patch.body;
  EXPECT_EQ(first_field(patch), "assignedTo");
  auto bulk = c.post("/api/leads/bulk", R"({"ids":[")" + lead.str("/id") + R"("],"set":{"assignedTo":")" + agent.user_id + R"("}})",
                     admin.access_token);
  EXPECT_EQ(bulk.status, 422) << bulk.body;
  EXPECT_EQ(first_field(bulk), "set.assignedTo");
  EXPECT_EQ(c.get("/api/leads/" + lead.str("/id"), admin.access_token).str("/assignedTo"), "null");
  // Active again: assignable again.
  ASSERT_EQ(c.patch("/api/users/" + agent.user_id, R"({"active":true})", admin.access_token).status, 200);
  EXPECT_EQ(c.patch("/api/leads/" + lead.str("/id"), R"({"assignedTo":")" + agent.user_id + R"("})", admin.access_token).status, 200);
}

TEST(ContractTest, BulkErrorsNameFieldsUnderSet) {
  LmsServer server;
  Client c(server.port());
  auto admin = register_org(c, "Bulk names");
  auto lead = create_lead(c, admin, R"({"name":"Ann","phone":"+14155550170"})");
  std::string ids = R"({"ids":[")" + lead.str("/id") + R"("],"set":)";
  std::string many_tags = "[";
  for (int i = 0; i < 21; ++i) many_tags += std::string(i ? "," : "") + "\"t" + std::to_string(i) + "\"";
  many_tags += "]";
  struct Case {
    std::string set;
    const char* field;
  };
  for (const auto& [set, field] : std::vector<Case>{
           {R"({"status":"won"})", "set.status"},
           {R"({"status":7})", "set.status"},
           {R"({"status":null})", "set.status"},
           {R"({"assignedTo":7})", "set.assignedTo"},
           {R"({"assignedTo":"no-such-user"})", "set.assignedTo"},
           {R"({"tags":"vip"})", "set.tags"},
           {R"({"tags":[1]})", "set.tags"},
           {R"({"tags":)" + many_tags + "}", "set.tags"},
           {R"({"tags":["bell\u0007"]})", "set.tags"},
       }) {
    auto r = c.post("/api/leads/bulk", ids + set + "}", admin.access_token);
    EXPECT_EQ(r.status, 422) << set << " " << r.body;
    EXPECT_EQ(first_field(r), field) << set << " " << r.body;
  }
  // Several malformed fields at once: each named.
  auto r = c.post("/api/leads/bulk", ids + R"({"status":7,"tags":"x","assignedTo":1}})", admin.access_token);
  ASSERT_EQ(r.status, 422);
  EXPECT_EQ(r.json["error"]["details"].Size(), 3u) << r.body;
}

TEST(ContractTest, RoleChecksComeBeforeTheBody) {
  LmsServer server;
  Client c(server.port());
  auto admin = register_org(c, "Roles first");
  auto agent = add_user(c, admin, "agent");
  auto manager = add_user(c, admin, "manager");
  struct Case {
    const Account* who;
    const char* method;
    std::string path;
    std::string body;
    std::string type;
  };
  std::vector<Case> cases = {
      {&agent, "POST", "/api/leads/bulk", "{not json", "application/json"},
      {&agent, "POST", "/api/leads/bulk", R"({"ids":"x"})", "application/json"},
      {&agent, "POST", "/api/leads/bulk", "ids=1", "text/plain"},
      {&manager, "POST", "/api/users", "{not json", "application/json"},
      {&manager, "POST", "/api/users", R"({"role":"wizard"})", "application/json"},
      {&agent, "POST", "/api/users", "", "text/plain"},
      {&manager, "PATCH", "/api/users/" + agent.user_id, "{not json", "application/json"},
      {&agent, "PATCH", "/api/users/" + agent.user_id, R"({"role":"admin"})", "application/json"},
      {&manager, "PATCH", "/api/organization", R"({"defaultCountry":"XX"})", "application/json"},
      {&agent, "PATCH", "/api/organization", "<xml/>", "application/xml"},
      {&agent, "GET", "/api/users", "", ""},
      {&agent, "GET", "/api/leads/export?sort=bogus", "", ""},
  };
  for (const auto& k : cases) {
    auto h = bearer(*k.who);
    if (!k.type.empty()) h["Content-Type"] = k.type;
    auto r = c.request(k.method, k.path, k.body, h);
    EXPECT_EQ(r.status, 403) << k.method << " " << k.path << " " << k.body << ": " << r.body;
    EXPECT_EQ(r.str("/error/code"), "forbidden");
  }
  // The same bodies from an allowed role get the body's own error.
  EXPECT_EQ(c.post("/api/leads/bulk", "{not json", manager.access_token).status, 400);
  EXPECT_EQ(c.post("/api/users", R"({"role":"wizard"})", admin.access_token).status, 422);
}

TEST(ContractTest, TransportErrorsCarryARequestId) {
  LMS_SKIP_BEHIND_PROXY("the subject is the request id on errors lms's own HTTP parser produces (malformed request line, 413 before the body, 431, header and body timeouts); behind nginx, nginx parses and times out the client's bytes itself and such requests never reach lms");
  LmsServer server({"--header-timeout", "300ms", "--body-timeout", "300ms", "--max-body-size", "1KB",
                    "--max-header-size", "2KB"});
  auto has_id = [](const std::string& answer, const std::string& id) {
    return answer.find("X-Request-Id: " + id) != std::string::npos;
  };
  auto malformed = raw_request(server.port(), "GET / HTTP/1.1\r\nHost x\r\nX-Request-Id: mine-1\r\n\r\n");
  EXPECT_EQ(malformed.head.rfind("HTTP/1.1 400", 0), 0u) << malformed.head;
  EXPECT_TRUE(has_id(malformed.head, "")) << malformed.head;
  auto large = raw_request(server.port(), "POST /api/leads HTTP/1.1\r\nHost: x\r\nX-Request-Id: mine-2\r\n"
                                          "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n");
  EXPECT_EQ(large.head.rfind("HTTP/1.1 413", 0), 0u) << large.head;
  EXPECT_TRUE(has_id(large.head, "mine-2")) << large.head;
  auto headers = raw_request(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  EXPECT_EQ(headers.head.rfind("HTTP/1.1 431", 0), 0u) << headers.head.substr(0, 200);
  EXPECT_TRUE(has_id(headers.head, "")) << headers.head.substr(0, 300);
  // Headers that never end: the server has not parsed them, so the id is its own.
  RawConnection slow(server.port());
  slow.send("GET /healthz HTTP/1.1\r\nX-Request-Id: mine-4\r\n");
  auto timeout = slow.read_until_close(3s);
  EXPECT_EQ(timeout.rfind("HTTP/1.1 408", 0), 0u) << "[" << timeout << "]";
  auto at = timeout.find("X-Request-Id: ");
  ASSERT_NE(at, std::string::npos) << timeout;
  std::string id = timeout.substr(at + 14, timeout.find("\r\n", at) - at - 14);
  EXPECT_EQ(id.size(), 24u) << id;
  // The log line of the rejection carries the same id.
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (server.logs().find("\"request_id\":\"" + id + "\"") == std::string::npos && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  EXPECT_NE(server.logs().find("\"request_id\":\"" + id + "\""), std::string::npos) << server.logs();
  // A body that never arrives: 408 with the client's id.
  RawConnection slow_body(server.port());
  slow_body.send("POST /api/auth/login HTTP/1.1\r\nHost: x\r\nX-Request-Id: mine-5\r\nContent-Type: application/json\r\n"
                 "Content-Length: 100\r\n\r\n{");
  auto body_timeout = slow_body.read_until_close(3s);
  EXPECT_EQ(body_timeout.rfind("HTTP/1.1 408", 0), 0u) << body_timeout;
  EXPECT_TRUE(has_id(body_timeout, "mine-5")) << body_timeout;
}

}  // namespace
}  // namespace lms::test

// Black-box tests of the web desk's serving (src/web/desk.*): the copy built into the binary
// (caching, precompressed copies, security headers, the single-page fallback that never hides
// the API), `--web-dir`, and the two endpoints the desk's dashboard reads: /api/leads/stats
// and /api/ops/live. The desk itself is tested in a browser (tests/web).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "harness.h"

namespace lms::test {
namespace {

// The first /assets/ file index.html names.
std::string first_asset(const std::string& html) {
  std::smatch m;
  if (!std::regex_search(html, m, std::regex(R"re((/assets/[A-Za-z0-9._-]+\.js))re"))) return {};
  return m[1];
}

TEST(DeskTest, TheBuiltInDeskIsServedWithCachingAndCompression) {
#ifndef LMS_WEB_BUILT
  GTEST_SKIP() << "built with -DLMS_WEB=OFF";
#endif
  LmsServer server;
  Client c(server.port());
  auto page = c.get("/");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(page.header("cache-control"), "no-cache");
  EXPECT_NE(page.header("content-security-policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(page.header("x-content-type-options"), "nosniff");
  ASSERT_FALSE(page.header("etag").empty());
  EXPECT_NE(page.body.find("<html"), std::string::npos);

  // Revalidation: the same ETag is a 304 without a body.
  auto again = c.request("GET", "/", {}, {{"If-None-Match", page.header("etag")}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());

  // The desk's own routes are the page, so they can be bookmarked and reloaded.
  for (std::string path : {"/leads", "/leads/0190abcd?x=1", "/imports/abc", "/admin/users?tab=2"}) {
    auto res = c.get(path);
    EXPECT_EQ(res.status, 200) << path;
    EXPECT_EQ(res.body, page.body) << path;
  }

  // A hashed asset: cached for a year, compressed as the client allows.
  auto asset = first_asset(page.body);
  ASSERT_FALSE(asset.empty()) << page.body;
  auto plain = c.get(asset);
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(plain.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(plain.header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(plain.header("content-encoding"), "");
  auto gzip = c.request("GET", asset, {}, {{"Accept-Encoding", "gzip, deflate"}});
  EXPECT_EQ(gzip.header("content-encoding"), "gzip");
  ASSERT_GE(gzip.body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gzip.body[0]), 0x1f);
  EXPECT_LT(gzip.body.size(), plain.body.size());
  auto br = c.request("GET", asset, {}, {{"Accept-Encoding", "gzip, br"}});
  EXPECT_EQ(br.header("content-encoding"), "br");
  EXPECT_LT(br.body.size(), gzip.body.size());
  EXPECT_EQ(br.header("vary"), "Accept-Encoding");
  auto refused = c.request("GET", asset, {}, {{"Accept-Encoding", "br;q=0, gzip;q=0"}});
  EXPECT_EQ(refused.header("content-encoding"), "");
}

TEST(DeskTest, TheFallbackNeverHidesTheApiOrAMissingFile) {
  LmsServer server;
  Client c(server.port());
  for (std::string path : {"/api/no/such/route", "/api", "/assets/missing-0123456789.js", "/favicon.ico"}) {
    auto res = c.get(path);
    EXPECT_EQ(res.status, 404) << path;
    EXPECT_EQ(res.str("/error/code"), "not_found") << path << " " << res.body;
  }
  // Only GET and HEAD reach the desk.
  EXPECT_EQ(c.post("/leads", "{}").status, 404);
  // Names that could leave the folder are never files.
  for (std::string path : {"/../lms.db", "/assets/../../lms.db", "/.secret.js", "/%2e%2e/lms.db", "/assets//x.js"}) {
    auto res = c.get(path);
    EXPECT_NE(res.header("content-type"), "application/octet-stream") << path;
    EXPECT_EQ(res.body.find("SQLite format"), std::string::npos) << path;
  }
}

TEST(DeskTest, WebDirServesAFolderAsItChanges) {
  auto dir = std::filesystem::temp_directory_path() / ("lms-desk-" + unique_email("d"));
  std::filesystem::create_directories(dir / "assets");
  std::ofstream(dir / "index.html") << "<!doctype html><html><title>one</title></html>";
  std::ofstream(dir / "assets" / "app-0123456789.js") << "console.log(1)";
  LmsServer server({"--web-dir", dir.string()});
  Client c(server.port());
  auto page = c.get("/leads?status=new");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("one"), std::string::npos);
  EXPECT_EQ(c.get("/assets/app-0123456789.js").body, "console.log(1)");
  EXPECT_EQ(c.get("/assets/app-0123456789.js").header("cache-control"), "no-cache");
  std::ofstream(dir / "index.html") << "<!doctype html><html><title>two, longer</title></html>";
  EXPECT_NE(c.get("/").body.find("two"), std::string::npos);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(c.get("/").status, 404);
}

TEST(DeskTest, StatsCountTheCallersLeadsByStatusSourceAgentAndDay) {
  LmsServer server;
  Client c(server.port());
  auto admin = register_org(c, "Stats");
  auto agent = add_user(c, admin, "agent");
  auto other = register_org(c, "Elsewhere");
  auto lead = [&](const Account& who, const std::string& fields) {
    auto res = c.post("/api/leads", "{\"name\":\"L\",\"email\":\"" + unique_email("s") + "\"" + fields + "}", who.access_token);
    ASSERT_EQ(res.status, 201) << res.body;
  };
  lead(admin, R"(,"source":"web","status":"contacted")");
  lead(admin, R"(,"source":"web")");
  lead(admin, "");
  lead(admin, R"(,"source":"fair","assignedTo":")" + agent.user_id + "\"");
  lead(other, R"(,"source":"web")");

  auto res = c.get("/api/leads/stats?days=7", admin.access_token);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.json["total"].GetInt64(), 4);
  EXPECT_EQ(res.json["byStatus"]["new"].GetInt64(), 3);
  EXPECT_EQ(res.json["byStatus"]["contacted"].GetInt64(), 1);
  EXPECT_EQ(res.json["byStatus"]["lost"].GetInt64(), 0);
  ASSERT_EQ(res.json["bySource"].Size(), 3u);
  EXPECT_EQ(std::string(res.json["bySource"][0]["source"].GetString()), "web");
  EXPECT_EQ(res.json["bySource"][0]["count"].GetInt64(), 2);
  ASSERT_EQ(res.json["byAssignee"].Size(), 2u);
  EXPECT_TRUE(res.json["byAssignee"][0]["assignedTo"].IsNull());
  EXPECT_EQ(res.json["byAssignee"][0]["count"].GetInt64(), 3);
  EXPECT_EQ(std::string(res.json["byAssignee"][1]["assignedTo"].GetString()), agent.user_id);
  const auto& days = res.json["createdPerDay"];
  ASSERT_EQ(days.Size(), 7u);
  EXPECT_EQ(days[6]["count"].GetInt64(), 4);  // today, the last entry
  EXPECT_LT(std::string(days[0]["day"].GetString()), std::string(days[6]["day"].GetString()));

  // Filters as on the list; an agent counts only their own leads.
  auto contacted = c.get("/api/leads/stats?status=contacted", admin.access_token);
  EXPECT_EQ(contacted.json["total"].GetInt64(), 1);
  EXPECT_EQ(contacted.json["createdPerDay"].Size(), 30u);
  auto mine = c.get("/api/leads/stats", agent.access_token);
  ASSERT_EQ(mine.status, 200);
  EXPECT_EQ(mine.json["total"].GetInt64(), 1);
  EXPECT_EQ(std::string(mine.json["bySource"][0]["source"].GetString()), "fair");

  for (std::string days_param : {"0", "367", "x", "-1", "7.5"})
    EXPECT_EQ(c.get("/api/leads/stats?days=" + days_param, admin.access_token).status, 400) << days_param;
  EXPECT_EQ(c.get("/api/leads/stats").status, 401);
}

TEST(DeskTest, OpsLiveIsForAdmins) {
  LmsServer server;
  Client c(server.port());
  auto admin = register_org(c, "Live");
  auto manager = add_user(c, admin, "manager");
  EXPECT_EQ(c.get("/api/ops/live").status, 401);
  EXPECT_EQ(c.get("/api/ops/live", manager.access_token).status, 403);
  auto res = c.get("/api/ops/live", admin.access_token);
  ASSERT_EQ(res.status, 200) << res.body;
  for (auto* field : {"instance", "uptimeSeconds", "httpConnections", "realtimeConnections", "requestsPerSecond", "p95Ms",
                      "residentMemoryBytes", "eventLoopLagMs"})
    EXPECT_TRUE(res.json.HasMember(field)) << field;
}

}  // namespace
}  // namespace lms::test

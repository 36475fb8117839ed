// An import resumed by an instance that never saw the file: the server receiving the upload
// is killed (SIGKILL) in the middle of the job, its spool is deleted (as if the job moved to
// another machine), and a new server on the same database finishes the job from the copy the
// database keeps, with exact counts. PostgreSQL only: SQLite's database is a local file, and
// its spool beside it is the upload's one copy (the node suite kills and resumes it there).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "harness.h"

namespace lms::test {
namespace {

using namespace std::chrono_literals;

std::int64_t number(const Response& r, const char* member) {
  if (!r.json.IsObject() || !r.json.HasMember(member) || !r.json[member].IsInt64()) return -1;
  return r.json[member].GetInt64();
}

TEST(ImportResume, AnotherInstanceFinishesTheJobFromTheDatabasesCopyOfTheFile) {
  if (!on_postgres()) GTEST_SKIP() << "PostgreSQL only: SQLite keeps uploads in its local spool alone";
  constexpr int kRows = 20000;
  std::string csv = "name,email\n";
  for (int i = 0; i < kRows; ++i) csv += "Lead " + std::to_string(i) + ",lead" + std::to_string(i) + "@resume.test\n";

  std::string dir = make_temp_dir();
  std::string id;
  Account admin;
  {
    LmsServer first({"--import-batch-rows", "200"}, dir);
    Client c(first.port());
    admin = register_org(c, "Resume Co");
    auto started = c.request("POST", "/api/imports", csv,
                             {{"Authorization", "Bearer " + admin.access_token}, {"Content-Type", "text/csv"}});
    ASSERT_EQ(started.status, 202) << started.body;
    id = started.str("/id");
    // Kill it once some batches are committed, long before the last.
    auto deadline = std::chrono::steady_clock::now() + 20s;
    std::int64_t processed = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      processed = number(c.get("/api/imports/" + id, admin.access_token), "processedRows");
      if (processed >= 400) break;
      std::this_thread::sleep_for(5ms);
    }
    first.kill_hard();
    ASSERT_GE(processed, 400);
    ASSERT_LT(processed, kRows) << "the job finished before it could be interrupted";
  }
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(dir) / "spool", ec);

  LmsServer second({}, dir);
  Client c(second.port());
  auto deadline = std::chrono::steady_clock::now() + 60s;
  Response job;
  while (std::chrono::steady_clock::now() < deadline) {
    job = c.get("/api/imports/" + id, admin.access_token);
    if (job.str("/state") == "completed" || job.str("/state") == "failed") break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(job.str("/state"), "completed") << job.body << "\n" << second.logs();
  EXPECT_EQ(number(job, "inserted"), kRows);
  EXPECT_EQ(number(job, "duplicates"), 0);
  EXPECT_EQ(number(job, "invalid"), 0);
  EXPECT_EQ(number(job, "processedRows"), kRows);
  EXPECT_NE(second.logs().find("import file restored from the database"), std::string::npos);
  auto count = c.get("/api/leads/count", admin.access_token);
  ASSERT_EQ(count.status, 200) << count.body;
  EXPECT_EQ(number(count, "count"), kRows) << count.body;
}

}  // namespace
}  // namespace lms::test

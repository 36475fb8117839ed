// Import jobs across instances: two servers run on one PostgreSQL database. The instance that
// received an upload (A) runs the job under a lease and is killed (SIGKILL) mid-job; the other
// (B), running all along and never restarted, takes the job over once A's lease has run out
// and finishes it from A's last committed checkpoint, reading the file from the database's
// copy (A's spool is deleted): every row imported exactly once. PostgreSQL only: a SQLite
// database is one process's file.
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

// The value of an unlabelled counter in a Prometheus exposition, or -1.
std::int64_t counter(const std::string& metrics, const std::string& name) {
  auto at = metrics.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(metrics.substr(at + name.size() + 2));
}

TEST(ImportTakeover, ARunningInstanceFinishesTheJobOfAKilledOneExactlyOnce) {
  if (!on_postgres()) GTEST_SKIP() << "PostgreSQL only: several instances share a PostgreSQL database";
  constexpr int kRows = 200000;
  std::string csv = "name,email,company\n";
  csv.reserve(kRows * 48);
  for (int i = 0; i < kRows; ++i)
    csv += "Lead " + std::to_string(i) + ",lead" + std::to_string(i) + "@takeover.test,Company " +
           std::to_string(i % 97) + "\n";

  const std::string dir = make_temp_dir();
  // A short lease keeps the test quick; batches small enough that A is caught mid-job.
  LmsServer a({"--import-batch-rows", "2000", "--import-lease", "3s"}, dir);
  Client ca(a.port());
  Account admin = register_org(ca, "Takeover Co");
  auto started = ca.request("POST", "/api/imports", csv,
                            {{"Authorization", "Bearer " + admin.access_token}, {"Content-Type", "text/csv"}});
  ASSERT_EQ(started.status, 202) << started.body;
  const std::string id = started.str("/id");

  auto progress = [&](Client& c) { return number(c.get("/api/imports/" + id, admin.access_token), "processedRows"); };
  auto wait_for_rows = [&](Client& c, std::int64_t rows, std::chrono::seconds within) {
    auto deadline = std::chrono::steady_clock::now() + within;
    std::int64_t seen = 0;
    while (std::chrono::steady_clock::now() < deadline && (seen = progress(c)) < rows) std::this_thread::sleep_for(5ms);
    return seen;
  };
  // A holds the job (it has committed batches) before B exists, so B can only take it over.
  ASSERT_GE(wait_for_rows(ca, 4000, 60s), 4000) << a.logs();

  // B: the same database (the same data folder), a spool of its own.
  LmsServer b({"--import-lease", "3s", "--spool-dir", dir + "/spool-b"}, dir);
  Client cb(b.port());
  const std::int64_t before = wait_for_rows(ca, 20000, 60s);
  a.kill_hard();
  ASSERT_GE(before, 20000) << a.logs();
  ASSERT_LT(before, kRows) << "the job finished before A could be killed";
  const std::int64_t committed = progress(cb);
  EXPECT_GE(committed, before) << "B sees less than A had reported committed";
  EXPECT_LT(committed, kRows);
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(dir) / "spool", ec);  // A's copy of the file is gone

  auto deadline = std::chrono::steady_clock::now() + 90s;
  Response job;
  while (std::chrono::steady_clock::now() < deadline) {
    job = cb.get("/api/imports/" + id, admin.access_token);
    if (job.str("/state") == "completed" || job.str("/state") == "failed") break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(job.str("/state"), "completed") << job.body << "\n" << b.logs();
  EXPECT_EQ(number(job, "totalRows"), kRows);
  EXPECT_EQ(number(job, "processedRows"), kRows);
  EXPECT_EQ(number(job, "inserted"), kRows);
  EXPECT_EQ(number(job, "updated"), 0);
  EXPECT_EQ(number(job, "duplicates"), 0) << "a row was imported twice";
  EXPECT_EQ(number(job, "invalid"), 0);
  auto count = cb.get("/api/leads/count", admin.access_token);
  ASSERT_EQ(count.status, 200) << count.body;
  EXPECT_EQ(number(count, "count"), kRows) << count.body;

  const std::string logs = b.logs();
  EXPECT_NE(logs.find("import taken over"), std::string::npos) << logs;
  EXPECT_NE(logs.find("import file restored from the database"), std::string::npos) << logs;
  auto metrics = cb.get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(counter(metrics.body, "import_jobs_taken_over_total"), 1) << metrics.body;
  EXPECT_EQ(counter(metrics.body, "import_leases_lost_total"), 0) << metrics.body;
  EXPECT_EQ(b.terminate(), 0);
}

}  // namespace
}  // namespace lms::test

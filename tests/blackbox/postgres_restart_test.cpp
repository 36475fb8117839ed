// PostgreSQL restarted under load: the real lms binary on a private PostgreSQL server of its
// own (scripts/pg.sh), clients creating and reading leads in a loop, and the database server
// stopped and started again in the middle. While it is down, requests fail with 503 (never
// another error, never a hang, never a crash); once it is back, every request succeeds again,
// on the same lms process.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "harness.h"

namespace lms::test {
namespace {

// The URL pg.sh prints (its last line; run_command also captures its progress messages).
std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  auto line = s.rfind('\n');
  return line == std::string::npos ? s : s.substr(line + 1);
}

std::string fresh_dir() {
  char name[] = "/tmp/lms-pg-restart-XXXXXX";
  if (!::mkdtemp(name)) return "/tmp/lms-pg-restart-failed";
  ::chmod(name, 0755);
  return name;
}

// A private server for this test alone (restarting the shared one would disturb others).
class PrivatePostgres {
 public:
  // Directly under /tmp: the server's user (not ours, when the tests run as root) must be
  // able to reach the folder.
  PrivatePostgres() : dir_(fresh_dir()) {
    int code = 0;
    url_ = trim(run_command("bash " LMS_SOURCE_DIR "/scripts/pg.sh start " + dir_ + " --fast 2>/dev/null", &code));
    ok_ = code == 0 && url_.rfind("postgres://", 0) == 0;
  }
  ~PrivatePostgres() {
    run_command("bash " LMS_SOURCE_DIR "/scripts/pg.sh stop " + dir_ + " >/dev/null 2>&1; rm -rf " + dir_);
  }
  bool ok() const { return ok_; }
  const std::string& url() const { return url_; }
  void stop() { run_command("bash " LMS_SOURCE_DIR "/scripts/pg.sh stop " + dir_ + " >/dev/null 2>&1"); }
  std::string start() {
    return trim(run_command("bash " LMS_SOURCE_DIR "/scripts/pg.sh start " + dir_ + " --fast 2>/dev/null"));
  }

 private:
  std::string dir_;
  std::string url_;
  bool ok_ = false;
};

// Points the test databases of this process at `url` while it lives.
class ServerUrlOverride {
 public:
  explicit ServerUrlOverride(const std::string& url) {
    if (const char* old = std::getenv("LMS_TEST_POSTGRES_URL")) old_ = old;
    ::setenv("LMS_TEST_POSTGRES_URL", url.c_str(), 1);
  }
  ~ServerUrlOverride() {
    if (old_.empty())
      ::unsetenv("LMS_TEST_POSTGRES_URL");
    else
      ::setenv("LMS_TEST_POSTGRES_URL", old_.c_str(), 1);
  }

 private:
  std::string old_;
};

TEST(PostgresRestart, RequestsGet503WhileItIsDownAndSucceedOnceItIsBack) {
  if (!on_postgres()) GTEST_SKIP() << "PostgreSQL only: the subject is the database server restarting";
  PrivatePostgres pg;
  ASSERT_TRUE(pg.ok()) << "scripts/pg.sh could not start a private server: " << pg.url();
  ServerUrlOverride use(pg.url());
  LmsServer server({"--db-pool", "4"});
  Client setup(server.port());
  Account admin = register_org(setup, "Restart Co");

  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::map<int, int> statuses;  // status -> count, while the database goes away and back
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&, t] {
      Client c(server.port());
      for (int i = 0; !stop; ++i) {
        Response r = (i % 2 == 0)
                         ? c.post("/api/leads",
                                  "{\"name\":\"Lead\",\"email\":\"lead-" + std::to_string(t) + "-" +
                                      std::to_string(i) + "@restart.test\"}",
                                  admin.access_token)
                         : c.get("/api/leads?limit=5", admin.access_token);
        std::lock_guard lock(mutex);
        ++statuses[r.status];
      }
    });

  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  pg.stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  {
    Response down = setup.get("/readyz");
    EXPECT_EQ(down.status, 503) << down.body;
    EXPECT_NE(down.body.find("\"failing\""), std::string::npos) << down.body;
  }
  ASSERT_EQ(pg.start(), pg.url()) << "the server came back on another port";
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  stop = true;
  for (auto& c : clients) c.join();

  for (const auto& [status, count] : statuses)
    EXPECT_TRUE(status == 200 || status == 201 || status == 503) << count << " answers with status " << status;
  EXPECT_GT(statuses[503], 0) << "no request noticed the database was down";
  EXPECT_GT(statuses[201], 0);

  // Back: every request succeeds, on the same process.
  Client after(server.port());
  for (int i = 0; i < 20; ++i) {
    Response created = after.post(
        "/api/leads", "{\"name\":\"After\",\"email\":\"after-" + std::to_string(i) + "@restart.test\"}",
        admin.access_token);
    EXPECT_EQ(created.status, 201) << created.body;
  }
  EXPECT_EQ(after.get("/readyz").status, 200);
  EXPECT_TRUE(server.running());
}

}  // namespace
}  // namespace lms::test

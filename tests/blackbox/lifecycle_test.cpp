// Black-box tests of the process: graceful shutdown, restarts, the CLI subcommands.
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <filesystem>
#include <set>

#include "harness.h"

namespace lms::test {
namespace {

using namespace std::chrono_literals;

TEST(LifecycleTest, SigtermDuringLoadLosesNoAcknowledgedWrite) {
  std::string dir = make_temp_dir();
  std::set<std::string> acknowledged;
  std::mutex mutex;
  Account admin;
  {
    LmsServer server({}, dir);
    Client setup(server.port());
    admin = register_org(setup, "DurableCo");
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int t = 0; t < 6; ++t)
      writers.emplace_back([&, t] {
        Client c(server.port());
        for (int i = 0; !stop; ++i) {
          std::string email = "w" + std::to_string(t) + "-" + std::to_string(i) + "@durable.example";
          try {
            auto res = c.post("/api/users",
                              R"({"name":"W","email":")" + email + R"(","password":"correct-horse","role":"agent"})",
                              admin.access_token);
            if (res.status == 201) {
              std::lock_guard lock(mutex);
              acknowledged.insert(email);
            }
          } catch (...) {
            // Refused or reset while shutting down: not acknowledged, so not required.
          }
        }
      });
    std::this_thread::sleep_for(1500ms);
    int status = server.terminate();
    stop = true;
    for (auto& w : writers) w.join();
    EXPECT_EQ(status, 0) << server.logs();
    auto logs = server.logs();
    EXPECT_NE(logs.find(R"("msg":"draining")"), std::string::npos);
    EXPECT_NE(logs.find(R"("msg":"stopped","unfinished_connections":0)"), std::string::npos) << logs;
  }
  ASSERT_GT(acknowledged.size(), 5u);
  LmsServer restarted({}, dir);
  Client c(restarted.port());
  auto login = c.post("/api/auth/login", R"({"email":")" + admin.email + R"(","password":"correct-horse"})");
  ASSERT_EQ(login.status, 200);
  auto users = c.get("/api/users", login.str("/accessToken"));
  ASSERT_EQ(users.status, 200);
  std::set<std::string> stored;
  for (auto& u : users.json["items"].GetArray()) stored.insert(u["email"].GetString());
  for (const auto& email : acknowledged) EXPECT_TRUE(stored.count(email)) << email << " was acknowledged but lost";
  std::filesystem::remove_all(dir);
}

TEST(LifecycleTest, TokensSurviveARestart) {
  std::string dir = make_temp_dir();
  Account admin;
  {
    LmsServer server({}, dir);
    Client c(server.port());
    admin = register_org(c, "RestartCo");
  }
  if (on_postgres()) {
    // PostgreSQL keeps the secret in the database, for every instance on it: no file.
    EXPECT_FALSE(std::filesystem::exists(dir + "/lms.secret"));
  } else {
    // SQLite keeps it beside the database file, readable by its owner alone.
    EXPECT_TRUE(std::filesystem::exists(dir + "/lms.secret"));
    auto perms = std::filesystem::status(dir + "/lms.secret").permissions();
    EXPECT_EQ(perms & std::filesystem::perms::others_read, std::filesystem::perms::none);
  }
  LmsServer again({}, dir);
  Client c(again.port());
  EXPECT_EQ(c.get("/api/auth/me", admin.access_token).status, 200);
  EXPECT_EQ(c.post("/api/auth/refresh", R"({"refreshToken":")" + admin.refresh_token + R"("})").status, 200);
  std::filesystem::remove_all(dir);
}

TEST(LifecycleTest, ReadinessIsUnavailableWhileDraining) {
  LMS_SKIP_BEHIND_PROXY("the subject is lms closing its listening socket while it drains (new TCP connections refused) with a request in flight; behind nginx the client connects to nginx, which stays up and answers for lms, and nginx buffers the unfinished body so lms holds no request");
  LmsServer server({"--shutdown-timeout", "5s"});
  // Hold a request in flight (a body that never completes) so draining takes a while.
  RawConnection busy(server.port());
  busy.send("POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{");
  std::this_thread::sleep_for(200ms);
  kill(server.pid(), SIGTERM);
  std::this_thread::sleep_for(300ms);
  // New connections are refused once draining starts.
  bool refused = false;
  try {
    Client(server.port()).get("/readyz");
  } catch (...) {
    refused = true;
  }
  EXPECT_TRUE(refused);
  EXPECT_EQ(server.terminate(), 0);
}

TEST(LifecycleTest, DrainDelayKeepsServingWhileReadinessSays503) {
  LmsServer server({"--drain-delay", "1500ms"});
  Client c(server.port());
  ASSERT_EQ(c.get("/readyz").status, 200);
  kill(server.pid(), SIGTERM);
  std::this_thread::sleep_for(300ms);
  // Not ready, but still accepting and serving: a load balancer sees the 503 and stops.
  auto ready = c.get("/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.str("/draining"), "true");
  EXPECT_EQ(ready.str("/status"), "unavailable");
  EXPECT_EQ(ready.str("/checks/server/status"), "draining");
  EXPECT_EQ(ready.str("/checks/database/status"), "ok");
  EXPECT_EQ(Client(server.port()).get("/healthz").status, 200);
  // After the delay the server drains as usual and exits cleanly, with no second signal.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (server.running() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(server.running());
  EXPECT_EQ(server.terminate(), 0);
  EXPECT_NE(server.logs().find("not ready, still serving"), std::string::npos);
}

TEST(LifecycleTest, CommandLineTools) {
  int code = -1;
  auto version = run_command(std::string(LMS_BINARY) + " version", &code);
  EXPECT_EQ(code, 0);
  EXPECT_NE(version.find("lms "), std::string::npos);

  auto help = run_command(std::string(LMS_BINARY) + " serve --help", &code);
  EXPECT_EQ(code, 0);
  for (auto flag : {"--port", "--bind", "--db", "--token-secret", "--max-body-size", "--idle-timeout", "--log-level"})
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  EXPECT_NE(help.find("LMS_PORT"), std::string::npos);

  std::string dir = make_temp_dir();
  const std::string db = "'" + database_url(dir) + "'";  // the file, or the folder's PostgreSQL database
  auto migrated = run_command(std::string(LMS_BINARY) + " migrate --db " + db, &code);
  EXPECT_EQ(code, 0) << migrated;

  Account admin;
  {
    LmsServer server({}, dir);
    Client c(server.port());
    admin = register_org(c, "CliCo");
  }
  auto created = run_command(std::string(LMS_BINARY) + " user create --db " + db + " --org " +
                                 admin.organization_id + " --email CLI@Example.com --role manager --password cli-secret-1",
                             &code);
  EXPECT_EQ(code, 0) << created;
  auto missing_org = run_command(std::string(LMS_BINARY) + " user create --db " + db +
                                     " --org nope --email x@example.com --role agent",
                                 &code);
  EXPECT_NE(code, 0);
  auto bad_role = run_command(std::string(LMS_BINARY) + " user create --db " + db + " --org " +
                                  admin.organization_id + " --email y@example.com --role owner",
                              &code);
  EXPECT_NE(code, 0);
  run_command(std::string(LMS_BINARY) + " serve --port nope", &code);
  EXPECT_NE(code, 0);

  LmsServer server({}, dir);
  Client c(server.port());
  auto login = c.post("/api/auth/login", R"({"email":"cli@example.com","password":"cli-secret-1"})");
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_EQ(login.str("/user/role"), "manager");
  EXPECT_EQ(login.str("/user/organizationId"), admin.organization_id);
  std::filesystem::remove_all(dir);
}

TEST(LifecycleTest, DemoSeedPrintsALogin) {
  LmsServer server({"--demo"});
  std::this_thread::sleep_for(1200ms);
  auto logs = server.logs();
  ASSERT_NE(logs.find("demo organization created"), std::string::npos) << logs;
  auto at = logs.find(R"("password":")");
  ASSERT_NE(at, std::string::npos);
  auto password = logs.substr(at + 12, logs.find('"', at + 12) - at - 12);
  Client c(server.port());
  EXPECT_EQ(c.post("/api/auth/login", R"({"email":"admin@demo.lms","password":")" + password + R"("})").status, 200);
}

}  // namespace
}  // namespace lms::test

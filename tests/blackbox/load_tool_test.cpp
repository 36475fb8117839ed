// Black-box tests of lms-load against the real server: a smoke run of setup and capacity
// (both report files written, the tool's request counts equal to the server's
// http_requests_total, every event the run caused delivered), and one clear message with a
// non-zero exit for an unreachable server, a wrong password and a malformed scenario.
#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace lms::test {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Sum of http_requests_total over the /api routes (lms's own /metrics, never proxied).
double api_requests(std::uint16_t port) {
  auto text = Client(port).get("/metrics").body;
  double total = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("http_requests_total{", 0) == 0 && line.find("route=\"/api") != std::string::npos)
      total += std::stod(line.substr(line.rfind(' ') + 1));
  return total;
}

std::string load_tool() { return LMS_LOAD_BINARY; }

TEST(LoadToolTest, SetupAndCapacityReportWithMatchingCountsAndEveryEventDelivered) {
  LmsServer server;
  std::string dir = server.dir();
  std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  // Fast users (a third of a second of thought) in two teams of 10, a fifth of them managers.
  std::ofstream(dir + "/scenario.json")
      << R"({"teamSize": 10, "managerShare": 0.2, "thinkTimeMs": {"mean": 300, "min": 50, "max": 2000},)"
         R"( "weights": {"import": 0}})";
  int code = -1;
  auto setup = run_command(load_tool() + " setup --url " + url + " --accounts 20 --leads 200 --state " + dir +
                               "/state.json --scenario " + dir + "/scenario.json",
                           &code);
  ASSERT_EQ(code, 0) << setup;
  double before = api_requests(server.lms_port());
  // /metrics is lms's own (never proxied): the tool reads it there, behind the proxy too.
  std::string metrics_url = "http://127.0.0.1:" + std::to_string(server.lms_port());
  auto capacity = run_command(load_tool() + " capacity --url " + url + " --metrics-url " + metrics_url + " --state " + dir +
                                  "/state.json --scenario " + dir +
                                  "/scenario.json --users 10,20 --ramp 1s --hold 3s --out " + dir + "/report",
                              &code);
  ASSERT_EQ(code, 0) << capacity;
  double after = api_requests(server.lms_port());

  auto md = read_file(dir + "/report/capacity.md");
  auto html = read_file(dir + "/report/capacity.html");
  ASSERT_FALSE(md.empty()) << capacity;
  ASSERT_FALSE(html.empty());
  EXPECT_NE(md.find("| 10 | Excellent |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 20 | Excellent |"), std::string::npos) << md;
  EXPECT_NE(md.find("## Verdict"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);

  rapidjson::Document results;
  auto json = read_file(dir + "/report/results.json");
  results.Parse(json.c_str());
  ASSERT_FALSE(results.HasParseError()) << json.substr(0, 300);
  ASSERT_EQ(results["steps"].Size(), 2u);
  double counted = 0;
  for (auto& step : results["steps"].GetArray()) {
    double requests = step["requests"].GetDouble();
    counted += requests;
    EXPECT_GT(requests, 20) << "a step sent almost nothing";
    // The server's own count over the step, as the tool sampled it from /metrics.
    EXPECT_EQ(step["server"]["requests"].GetDouble(), requests);
    EXPECT_GT(step["eventsExpected"].GetInt64(), 0) << "no write caused an event";
    EXPECT_EQ(step["eventsDelivered"].GetInt64(), step["eventsExpected"].GetInt64()) << "events were lost";
    EXPECT_EQ(step["socketsConnected"].GetInt64(), step["socketsWanted"].GetInt64());
    EXPECT_EQ(step["socketsConnected"].GetInt64(), step["users"].GetInt64());
  }
  // Everything the run sent reached the server, and nothing else: the steps plus the one
  // pre-flight call that reads the rate limit.
  EXPECT_EQ(after - before, counted + 1);
}

// Ctrl-C during the second step: the tool stops, exits 130 and the report has the first step.
TEST(LoadToolTest, InterruptKeepsTheReportOfTheCompletedSteps) {
  LmsServer server;
  std::string dir = server.dir();
  std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  int code = -1;
  auto setup = run_command(load_tool() + " setup --url " + url + " --accounts 4 --leads 20 --state " + dir + "/state.json", &code);
  ASSERT_EQ(code, 0) << setup;
  std::vector<std::string> args = {load_tool(), "capacity", "--url", url, "--state", dir + "/state.json", "--users", "3,6",
                                   "--ramp", "1s", "--hold", "2s", "--out", dir + "/report"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  // The report is written after every step: its first appearance means step one is done.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(dir + "/report/capacity.md") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(std::filesystem::exists(dir + "/report/capacity.md"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // inside the second step
  kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  auto md = read_file(dir + "/report/capacity.md");
  EXPECT_NE(md.find("| 3 |"), std::string::npos) << md;
  EXPECT_EQ(md.find("| 6 |"), std::string::npos) << md;
}

TEST(LoadToolTest, BadInputGetsOneClearMessageAndANonZeroExit) {
  LmsServer server;
  std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  std::string dir = server.dir();
  int code = 0;
  // An unreachable server (a port nobody listens on).
  auto unreachable = run_command(load_tool() + " setup --url http://127.0.0.1:1 --accounts 1 --state " + dir + "/s.json", &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(unreachable.find("lms-load: "), std::string::npos) << unreachable;
  // A wrong password for an existing admin.
  Client c(server.port());
  auto admin = register_org(c, "Load tool");
  auto wrong = run_command(load_tool() + " setup --url " + url + " --accounts 2 --email " + admin.email +
                               " --password not-the-password --state " + dir + "/s.json",
                           &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(wrong.find("wrong email or password"), std::string::npos) << wrong;
  // A malformed scenario names the member.
  std::ofstream(dir + "/bad.json") << R"({"weights": {"lsit": 3}})";
  auto bad = run_command(load_tool() + " setup --url " + url + " --accounts 1 --scenario " + dir + "/bad.json --state " + dir +
                             "/s.json",
                         &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(bad.find("lsit"), std::string::npos) << bad;
  // A missing state file, a bad URL, a bad user list.
  auto no_state = run_command(load_tool() + " run --url " + url + " --state " + dir + "/none.json --users 1", &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(no_state.find("lms-load setup"), std::string::npos) << no_state;
  auto bad_url = run_command(load_tool() + " run --url ftp://x --state " + dir + "/none.json --users 1", &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(bad_url.find("http://"), std::string::npos) << bad_url;
  auto help = run_command(load_tool() + " capacity --help", &code);
  EXPECT_EQ(code, 0);
  EXPECT_NE(help.find("--users"), std::string::npos);
}

}  // namespace
}  // namespace lms::test

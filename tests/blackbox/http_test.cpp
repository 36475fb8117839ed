// Black-box tests of the HTTP transport: routing errors, limits, timeouts, hostile clients.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <thread>
#include <vector>

#include "harness.h"

namespace lms::test {
namespace {

using namespace std::chrono_literals;

TEST(HttpTest, HealthAndReadiness) {
  LmsServer server;
  Client c(server.port());
  auto health = c.get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, R"({"status":"ok"})");
  auto ready = c.get("/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.str("/checks/database/status"), "ok");
  EXPECT_EQ(ready.str("/checks/database/engine"), test_engine());
  EXPECT_EQ(ready.str("/checks/server/status"), "ok");
}

TEST(HttpTest, RequestIdIsEchoedOrGenerated) {
  LmsServer server;
  Client c(server.port());
  auto mine = c.request("GET", "/healthz", {}, {{"X-Request-Id", "abc-123"}});
  EXPECT_EQ(mine.header("X-Request-Id"), "abc-123");
  auto hostile = c.request("GET", "/healthz", {}, {{"X-Request-Id", "<script>alert(1)</script>"}});
  EXPECT_NE(hostile.header("X-Request-Id"), "<script>alert(1)</script>");
  EXPECT_FALSE(hostile.header("X-Request-Id").empty());
  EXPECT_NE(c.get("/healthz").header("X-Request-Id"), c.get("/healthz").header("X-Request-Id"));
  // The request is logged as one JSON line with its id and route pattern.
  std::this_thread::sleep_for(1200ms);
  auto logs = server.logs();
  EXPECT_NE(logs.find(R"("msg":"request","method":"GET","route":"/healthz","status":200)"), std::string::npos) << logs;
  EXPECT_NE(logs.find(R"("request_id":"abc-123")"), std::string::npos);
}

TEST(HttpTest, UnknownRouteAndWrongMethod) {
  LmsServer server;
  Client c(server.port());
  auto missing = c.get("/api/nothing-here");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.str("/error/code"), "not_found");
  auto wrong = c.request("DELETE", "/api/auth/login");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("Allow"), "POST");
  EXPECT_EQ(wrong.str("/error/code"), "method_not_allowed");
  auto users = c.request("PUT", "/api/users", "{}");
  EXPECT_EQ(users.status, 405);
  EXPECT_EQ(users.header("Allow"), "GET, HEAD, POST");
  // Authentication is checked only on routes that exist.
  EXPECT_EQ(c.get("/api/users").status, 401);
}

TEST(HttpTest, OversizedBodyIs413) {
  LmsServer server({"--max-body-size", "4KB"});
  Client c(server.port());
  std::string big = R"({"email":")" + std::string(8000, 'a') + R"("})";
  auto res = c.post("/api/auth/login", big);
  EXPECT_EQ(res.status, 413);
  EXPECT_EQ(res.str("/error/code"), "payload_too_large");
  // Default limit is 1 MB: a 2 MB body on another server is refused too.
  LmsServer defaults;
  Client d(defaults.port());
  auto huge = d.post("/api/auth/register", std::string(2 << 20, ' '));
  EXPECT_EQ(huge.status, 413);
  EXPECT_EQ(d.get("/healthz").status, 200);
}

TEST(HttpTest, OversizedHeadersAre431) {
  LmsServer server;
  Client c(server.port());
  auto res = c.request("GET", "/healthz", {}, {{"X-Filler", std::string(20000, 'x')}});
  EXPECT_EQ(res.status, 431);
  EXPECT_EQ(c.get("/healthz").status, 200);
}

TEST(HttpTest, MalformedRequestIs400AndServerKeepsServing) {
  LmsServer server;
  RawConnection raw(server.port());
  raw.send("THIS IS NOT HTTP\r\n\r\n");
  auto answer = raw.read_until_close(3s);
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  RawConnection binary(server.port());
  binary.send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + std::string(100, '\0') + "\r\n\r\n");
  binary.read_until_close(3s);
  EXPECT_EQ(Client(server.port()).get("/healthz").status, 200);
}

TEST(HttpTest, PipelinedRequestsAreAnsweredInOrder) {
  LmsServer server;
  RawConnection raw(server.port());
  raw.send(
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: one\r\n\r\n"
      "GET /api/nope HTTP/1.1\r\nHost: x\r\nX-Request-Id: two\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: three\r\nConnection: close\r\n\r\n");
  auto all = raw.read_until_close(5s);
  auto first = all.find("X-Request-Id: one");
  auto second = all.find("X-Request-Id: two");
  auto third = all.find("X-Request-Id: three");
  ASSERT_NE(first, std::string::npos) << all;
  ASSERT_NE(second, std::string::npos) << all;
  ASSERT_NE(third, std::string::npos) << all;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_NE(all.find("HTTP/1.1 404"), std::string::npos);
}

TEST(HttpTest, SilentClientIsClosedAndOthersAreServed) {
  LMS_SKIP_BEHIND_PROXY("the subject is lms's own --header-timeout/--body-timeout on a raw client connection; behind nginx that connection is nginx's (client_header_timeout, client_body_timeout) and lms sees no request until nginx has it whole");
  LmsServer server({"--header-timeout", "1s", "--body-timeout", "1s"});
  RawConnection half_header(server.port());
  half_header.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  RawConnection half_body(server.port());
  half_body.send("POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"em");
  // Meanwhile other clients are served without delay.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Client(server.port()).get("/healthz").status, 200);
  EXPECT_TRUE(half_header.closed_within(4s));
  EXPECT_TRUE(half_body.closed_within(4s));
}

// Sends `piece` every ~100 ms (for at most 4 s) until the server closes the connection;
// returns whether it did.
bool closed_while_trickling(RawConnection& slow, const std::string& piece) {
  for (int i = 0; i < 40; ++i) {
    try {
      slow.send(piece);
    } catch (...) {
      return true;
    }
    if (slow.closed_within(100ms)) return true;
  }
  return false;
}

TEST(HttpTest, TricklingClientCannotStretchTheHeaderTimeout) {
  LMS_SKIP_BEHIND_PROXY("the subject is lms's own --header-timeout against a trickling raw client; behind nginx the client's connection is nginx's, which reads the headers under its own client_header_timeout and forwards nothing before they are complete");
  LmsServer server({"--header-timeout", "1s"});
  RawConnection slow(server.port());
  slow.send("GET /healthz HTTP/1.1\r\n");
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(closed_while_trickling(slow, "X-A: b\r\n"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(HttpTest, TricklingClientCannotStretchTheBodyTimeout) {
  LMS_SKIP_BEHIND_PROXY("the subject is lms's own --body-timeout against a trickling raw client; behind nginx the client's connection is nginx's, which buffers the body under its own client_body_timeout before lms sees the request");
  LmsServer server({"--body-timeout", "1s"});
  RawConnection slow(server.port());
  slow.send("POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n");
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(closed_while_trickling(slow, " "));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(Client(server.port()).get("/healthz").status, 200);
}

TEST(HttpTest, IdleKeepAliveConnectionIsClosed) {
  LMS_SKIP_BEHIND_PROXY("the subject is lms's own --idle-timeout on the client's keep-alive connection; behind nginx that connection is nginx's (keepalive_timeout), and lms's idle connections are nginx's upstream keepalive pool");
  LmsServer server({"--idle-timeout", "1s"});
  RawConnection idle(server.port());
  idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  auto answer = idle.read_until_close(3s);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u);
  // read_until_close returned early only if the server closed; check a silent client directly too.
  RawConnection silent(server.port());
  EXPECT_TRUE(silent.closed_within(3s));
}

TEST(HttpTest, ManyConcurrentClients) {
  LmsServer server;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      Client c(server.port());
      for (int i = 0; i < 50; ++i)
        if (c.get("/healthz").status == 200) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 400);
}

// --max-connections: beyond the cap a new connection gets a 503 with the contract's error body
// and is closed; the connections already open keep working, and a freed slot is usable again.
TEST(HttpTest, ConnectionCapRefusesNewConnectionsCleanly) {
  LMS_SKIP_BEHIND_PROXY("the subject is lms's --max-connections on raw TCP connections; behind nginx every client connection ends at nginx, which multiplexes requests over its own upstream keepalive connections, so client connections and lms connections are not one-to-one");
  LmsServer server({"--max-connections", "3"});
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<RawConnection>(server.port()));
    held.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  RawConnection extra(server.port());
  auto refused = extra.read_until_close(std::chrono::milliseconds(3000));
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  EXPECT_NE(refused.find(R"("code":"unavailable")"), std::string::npos) << refused;
  // An existing keep-alive connection still serves.
  held[0]->send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto served = held[0]->read_until_close(std::chrono::milliseconds(3000));
  EXPECT_NE(served.find("HTTP/1.1 200"), std::string::npos) << served;
  // Its slot is free once it closed: a new client gets through.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(Client(server.port()).get("/healthz").status, 200);
  // The operator sees the refusal in /metrics.
  // /metrics is lms's own (scraped per instance, never through the proxy: deploy/nginx).
  auto metrics = Client(server.lms_port()).get("/metrics");
  EXPECT_NE(metrics.body.find("\nhttp_connections_refused_total 1\n"), std::string::npos) << metrics.body;
}

// Health warnings and the periodic summary line in the log (small thresholds to trigger them).
TEST(HttpTest, HealthSummaryAndWarningsAreLogged) {
  LmsServer server({"--health-summary", "1s", "--memory-warning", "1MB"});
  Client c(server.port());
  for (int i = 0; i < 20; ++i) ASSERT_EQ(c.get("/healthz").status, 200);
  std::string logs;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    logs = server.logs();
    if (logs.find(R"("msg":"health")") != std::string::npos &&
        logs.find(R"("msg":"resident memory over threshold")") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(logs.find(R"("msg":"resident memory over threshold")"), std::string::npos) << logs;
  auto health = logs.find(R"("msg":"health")");
  ASSERT_NE(health, std::string::npos) << logs;
  auto line = logs.substr(health, logs.find('\n', health) - health);
  for (const char* field : {"\"http_connections\":", "\"requests_per_s\":", "\"p95_ms_at_most\":", "\"sockets\":",
                            "\"write_queue\":", "\"busy_readers\":", "\"max_lag_ms\":", "\"rss_bytes\":"})
    EXPECT_NE(line.find(field), std::string::npos) << field << " in " << line;
  // The warning is not repeated every second.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  logs = server.logs();
  auto first = logs.find("resident memory over threshold");
  EXPECT_EQ(logs.find("resident memory over threshold", first + 1), std::string::npos);
}

// Waits up to `limit` for `needle` in the server's log.
bool log_shows(LmsServer& server, const std::string& needle, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (server.logs().find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Event-loop lag: the whole process is stopped for 700 ms (as a starved VM would be), so every
// I/O thread's timer fires late and the monitor says which thread and by how much.
TEST(HttpTest, EventLoopLagIsLogged) {
  LmsServer server({"--lag-warning", "200ms"});  // two I/O threads (the harness default)
  ASSERT_EQ(Client(server.port()).get("/healthz").status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(server.logs().find("event loop lag"), std::string::npos) << "no lag before the stop";
  ASSERT_EQ(::kill(server.pid(), SIGSTOP), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ASSERT_EQ(::kill(server.pid(), SIGCONT), 0);
  ASSERT_TRUE(log_shows(server, R"("msg":"event loop lag")", std::chrono::seconds(5))) << server.logs();
  auto logs = server.logs();
  auto line = logs.substr(logs.find(R"("msg":"event loop lag")"));
  line = line.substr(0, line.find('\n'));
  EXPECT_NE(line.find("\"io_thread\":"), std::string::npos) << line;
  auto lag = line.find("\"lag_ms\":");
  ASSERT_NE(lag, std::string::npos) << line;
  EXPECT_GE(std::stol(line.substr(lag + 9)), 200) << line;
}

// Writer saturation: with a threshold of 2 queued writes, eight clients creating leads at once
// keep the writer's queue at or over it.
TEST(HttpTest, WriterSaturationIsLogged) {
  // On PostgreSQL every statement waits for a pooled connection: two connections are the
  // writer that eight clients keep busy.
  std::vector<std::string> args = {"--write-queue-warning", "2"};
  if (on_postgres()) args.insert(args.end(), {"--db-pool", "2"});
  LmsServer server(args);
  Client c(server.port());
  auto account = register_org(c, "Saturation");
  std::atomic<bool> stop{false};
  std::atomic<int> created{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t)
    writers.emplace_back([&, t] {
      Client w(server.port());
      for (int i = 0; !stop; ++i) {
        auto phone = "+1415" + std::to_string(5000000 + t * 100000 + i);
        if (w.post("/api/leads", R"({"name":"Q","phone":")" + phone + R"("})", account.access_token).status == 201)
          ++created;
      }
    });
  bool warned = log_shows(server, R"("msg":"database writer saturated")", std::chrono::seconds(15));
  stop = true;
  for (auto& w : writers) w.join();
  EXPECT_TRUE(warned) << created.load() << " leads created; logs: " << server.logs();
}

// Reader pool saturation: two reader threads (PostgreSQL: two pooled connections) and sixteen clients listing leads at once keep
// every reader busy when the monitor looks.
TEST(HttpTest, ReadersAllBusyIsLogged) {
  // On PostgreSQL the readers are the pool's connections.
  LmsServer server({on_postgres() ? "--db-pool" : "--db-readers", "2"});
  Client c(server.port());
  auto account = register_org(c, "Readers");
  for (int i = 0; i < 200; ++i)
    ASSERT_EQ(c.post("/api/leads", R"({"name":"R","phone":"+1415)" + std::to_string(6000000 + i) + R"("})",
                     account.access_token)
                  .status,
              201);
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 16; ++t)
    readers.emplace_back([&] {
      Client r(server.port());
      while (!stop) r.get("/api/leads?limit=200&sort=name", account.access_token);
    });
  bool warned = log_shows(server, R"("msg":"database readers all busy")", std::chrono::seconds(15));
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_TRUE(warned) << server.logs();
}

}  // namespace
}  // namespace lms::test

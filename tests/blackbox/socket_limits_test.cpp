// Black-box tests of the real-time endpoint's hard limits against hostile raw clients: a
// WebSocket that never sends Socket.IO CONNECT, and a polling session's upgrade that never
// sends its probe, are both closed within their configured time limits.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "harness.h"

namespace lms::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string upgrade_request(const std::string& target) {
  return "GET " + target +
         " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

// Engine.IO's open packet over polling: `0{"sid":"...",...}`.
std::string polling_sid(std::uint16_t port) {
  auto open = Client(port).get("/socket.io/?EIO=4&transport=polling");
  EXPECT_EQ(open.status, 200) << open.body;
  auto at = open.body.find(R"("sid":")");
  if (at == std::string::npos) return {};
  at += 7;
  return open.body.substr(at, open.body.find('"', at) - at);
}

TEST(SocketLimitsTest, WebSocketWithoutConnectIsClosedAtTheConnectTimeout) {
  LmsServer server({"--socket-connect-timeout", "1s"});
  RawConnection ws(server.port());
  auto start = Clock::now();
  ws.send(upgrade_request("/socket.io/?EIO=4&transport=websocket"));
  auto seen = ws.read_until_close(6s);
  auto elapsed = Clock::now() - start;
  EXPECT_EQ(seen.rfind("HTTP/1.1 101", 0), 0u) << seen;
  EXPECT_NE(seen.find(R"("sid":")"), std::string::npos) << "the open packet arrived: " << seen;
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 4s) << "closed by the 1 s connect timeout, not the 45 s default";
  // The log line is written asynchronously: it may follow the close by a moment.
  auto deadline = Clock::now() + 3s;
  while (server.logs().find("connect timeout") == std::string::npos && Clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  EXPECT_NE(server.logs().find("connect timeout"), std::string::npos) << server.logs();
}

TEST(SocketLimitsTest, SilentUpgradeProbeIsClosedAtTheHandshakeTimeout) {
  LmsServer server({"--ws-handshake-timeout", "1s"});
  auto sid = polling_sid(server.port());
  ASSERT_FALSE(sid.empty());
  RawConnection ws(server.port());
  auto start = Clock::now();
  ws.send(upgrade_request("/socket.io/?EIO=4&transport=websocket&sid=" + sid));
  auto seen = ws.read_until_close(6s);
  auto elapsed = Clock::now() - start;
  EXPECT_EQ(seen.rfind("HTTP/1.1 101", 0), 0u) << seen;
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 4s) << "the silent probe holds the connection";
  // The polling session itself survives its abandoned upgrade: it answers a ping.
  const std::string polling = "/socket.io/?EIO=4&transport=polling&sid=" + sid;
  auto ping = Client(server.port()).post(polling, "2");
  EXPECT_EQ(ping.status, 200) << ping.body;
  auto pong = Client(server.port()).get(polling);
  EXPECT_EQ(pong.status, 200) << pong.body;
  EXPECT_EQ(pong.body, "3");
}

// --max-connections counts WebSockets too: two sockets and one HTTP client fill a cap of 3,
// the next connection is refused with 503, and a closed WebSocket frees its slot.
TEST(SocketLimitsTest, ConnectionCapCountsWebSockets) {
  LMS_SKIP_BEHIND_PROXY("the subject is lms's --max-connections on raw TCP connections (WebSockets included); behind nginx client connections end at nginx and an idle keep-alive client holds no lms connection, so the count lms enforces is not the clients'");
  LmsServer server({"--max-connections", "3"});
  auto first = std::make_unique<RawConnection>(server.port());
  first->send(upgrade_request("/socket.io/?EIO=4&transport=websocket"));
  RawConnection second(server.port());
  second.send(upgrade_request("/socket.io/?EIO=4&transport=websocket"));
  RawConnection http(server.port());
  http.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  // Wait for each answer (not a fixed sleep): both sockets are handed over, the HTTP client
  // is served and stays open.
  EXPECT_EQ(first->read_until_contains("\r\n\r\n", 5s).rfind("HTTP/1.1 101", 0), 0u);
  EXPECT_EQ(second.read_until_contains("\r\n\r\n", 5s).rfind("HTTP/1.1 101", 0), 0u);
  EXPECT_NE(http.read_until_contains("{\"status\":\"ok\"}", 5s).find("HTTP/1.1 200"), std::string::npos);
  EXPECT_FALSE(first->closed_within(100ms));
  EXPECT_FALSE(second.closed_within(100ms));
  RawConnection extra(server.port());
  auto refused = extra.read_until_close(3s);
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  // The HTTP client asks for /metrics on its open connection: both sockets are counted.
  http.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto metrics = http.read_until_close(3s);
  EXPECT_NE(metrics.find("\nhttp_upgraded_connections 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nhttp_connections_refused_total 1\n"), std::string::npos) << metrics;
  first.reset();  // the client closes its WebSocket
  // Its slot is free once the server has read the close: poll (a refused attempt is a 503).
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    status = Client(server.port()).get("/healthz").status;
    if (status == 200) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(status, 200);
}

// --max-pending-sockets bounds sessions that never CONNECT (each holds memory until the
// connect timeout): beyond it a polling or WebSocket handshake gets 503 with Engine.IO's error
// body, and a session that completes CONNECT frees its place.
TEST(SocketLimitsTest, PendingSessionsAreCapped) {
  LmsServer server({"--max-pending-sockets", "2"});
  Client c(server.port());
  auto admin = register_org(c, "Pending");
  auto first = polling_sid(server.port());
  auto second = polling_sid(server.port());
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  auto refused = c.get("/socket.io/?EIO=4&transport=polling");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.str("/message"), "Too many pending sessions");
  EXPECT_EQ(refused.header("retry-after"), "1");
  RawConnection ws(server.port());
  ws.send(upgrade_request("/socket.io/?EIO=4&transport=websocket"));
  auto ws_answer = ws.read_until_close(3s);
  EXPECT_EQ(ws_answer.rfind("HTTP/1.1 503", 0), 0u) << ws_answer;

  // The first session connects: there is room for one more handshake.
  auto connect = c.post("/socket.io/?EIO=4&transport=polling&sid=" + first,
                        R"(40{"token":")" + admin.access_token + R"("})");
  ASSERT_EQ(connect.status, 200) << connect.body;
  auto answer = c.get("/socket.io/?EIO=4&transport=polling&sid=" + first);
  ASSERT_NE(answer.body.find("40{"), std::string::npos) << answer.body;
  EXPECT_FALSE(polling_sid(server.port()).empty());
  // /metrics is lms's own (scraped per instance, never through the proxy: deploy/nginx).
  auto metrics = Client(server.lms_port()).get("/metrics");
  EXPECT_NE(metrics.body.find("\nrealtime_sessions_refused_total 2\n"), std::string::npos) << metrics.body;
}

TEST(SocketLimitsTest, HandshakeTimeoutsAreInHelp) {
  auto help = run_command(std::string(LMS_BINARY) + " serve --help");
  EXPECT_NE(help.find("--ws-handshake-timeout"), std::string::npos);
  EXPECT_NE(help.find("--socket-connect-timeout"), std::string::npos);
  EXPECT_NE(help.find("--max-pending-sockets"), std::string::npos);
}

}  // namespace
}  // namespace lms::test

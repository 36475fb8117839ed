// Black-box test harness: starts the real `lms` binary on a free loopback port with a fresh
// database, and talks to it over real sockets (a small HTTP/1.1 client and raw sockets for
// hostile clients). Nothing here links the server's internals.
#pragma once

#include <rapidjson/document.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace lms::testing {
class TestDatabase;
}

namespace lms::test {

std::string make_temp_dir();

// The engine the servers of this run use: LMS_TEST_ENGINE, "sqlite" (the default) or
// "postgres" (a fresh database per data folder on the server of LMS_TEST_POSTGRES_URL).
const std::string& test_engine();
bool on_postgres();

// LMS_TEST_PROXY=nginx: every LmsServer gets a private nginx in front of it, configured from
// deploy/nginx/lms.conf.template (rendered by `scripts/cluster render-nginx`), and lms runs
// with `--trust-proxy true --node-id n1`; port() is then nginx's port. Unset: no proxy.
bool behind_proxy();
// Skips the current test behind the proxy; `reason` says why a proxy replaces its subject.
#define LMS_SKIP_BEHIND_PROXY(reason) \
  do {                                \
    if (::lms::test::behind_proxy()) GTEST_SKIP() << (reason); \
  } while (0)

// A private nginx (master in the foreground, one worker) listening on a free loopback port and
// passing everything to lms on 127.0.0.1:<lms_port>, with the deployment template.
class NginxProxy {
 public:
  explicit NginxProxy(std::uint16_t lms_port);
  ~NginxProxy();
  NginxProxy(const NginxProxy&) = delete;
  NginxProxy& operator=(const NginxProxy&) = delete;
  std::uint16_t port() const { return port_; }
  // nginx's error log, for failure messages.
  std::string error_log() const;
  void stop();

 private:
  void write_config(std::uint16_t listen_port, std::uint16_t lms_port);
  std::string dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};
// What `--db` takes for the data folder `dir`: <dir>/lms.db on SQLite; on PostgreSQL the URL
// of the database of that folder, created on first use and kept for every server started on
// the same folder (restarts, a second instance) until the folder's owner goes: the server
// that made the folder, or the end of the test process for a folder the test made.
std::string database_url(const std::string& dir);

class LmsServer {
 public:
  // Starts `lms serve --port 0 --bind 127.0.0.1 --db <database of dir>` plus `extra`
  // arguments (database_url; on PostgreSQL also `--spool-dir <dir>/spool`, where SQLite puts
  // its spool). With an empty `dir` a fresh temporary directory is used.
  explicit LmsServer(std::vector<std::string> extra = {}, std::string dir = {});
  ~LmsServer();
  LmsServer(const LmsServer&) = delete;
  LmsServer& operator=(const LmsServer&) = delete;

  // Where clients connect: lms itself, or its nginx in proxy mode (behind_proxy()).
  std::uint16_t port() const { return proxy_ ? proxy_->port() : port_; }
  // lms's own port, even in proxy mode.
  std::uint16_t lms_port() const { return port_; }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and waits; returns the exit status (or -signal).
  int terminate(std::chrono::seconds wait = std::chrono::seconds(30));
  void kill_hard();
  bool running();
  std::string logs();

 private:
  void start(const std::vector<std::string>& extra);

  std::string dir_;
  bool own_dir_ = false;
  std::shared_ptr<lms::testing::TestDatabase> database_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread reader_;
  std::mutex logs_mutex_;
  std::string logs_;
  int exit_status_ = 0;
  bool exited_ = false;
  std::unique_ptr<NginxProxy> proxy_;
};

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  rapidjson::Document json;  // parsed when the body is JSON
  std::string header(const std::string& name) const;
  std::string str(const char* pointer) const;  // JSON pointer, e.g. "/error/code"
};

class Client {
 public:
  explicit Client(std::uint16_t port) : port_(port) {}
  Response request(const std::string& method, const std::string& target, const std::string& body = {},
                   const std::map<std::string, std::string>& headers = {});
  Response get(const std::string& target, const std::string& token = {});
  Response post(const std::string& target, const std::string& json, const std::string& token = {});
  Response patch(const std::string& target, const std::string& json, const std::string& token = {});

 private:
  std::uint16_t port_;
};

// A raw TCP connection for hostile clients.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port);
  ~RawConnection();
  void send(const std::string& bytes);
  // Reads until the peer closes or `timeout` passes; returns what arrived.
  std::string read_until_close(std::chrono::milliseconds timeout);
  // Reads until what arrived contains `needle`, the peer closes, or `timeout` passes.
  std::string read_until_contains(const std::string& needle, std::chrono::milliseconds timeout);
  // True if the peer closed the connection within `timeout`.
  bool closed_within(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
};

// Decodes an HTTP/1.1 chunked body (chunk extensions and trailers allowed). Throws
// std::runtime_error when it is malformed or lacks the final zero-size chunk.
std::string decode_chunked(const std::string& body);
// Sends one request with `Connection: close` on a raw connection, reads until the server
// closes, and decodes the body whether it is chunked (streamed responses such as CSV
// exports) or has a Content-Length.
Response fetch(std::uint16_t port, const std::string& method, const std::string& target,
               const std::map<std::string, std::string>& headers = {}, const std::string& body = {});

struct Account {
  std::string access_token;
  std::string refresh_token;
  std::string user_id;
  std::string organization_id;
  std::string email;
};

// Registers a new organization with a unique admin email.
Account register_org(Client& client, const std::string& org_name);
// Creates a user as `admin` and logs them in.
Account add_user(Client& client, const Account& admin, const std::string& role);
std::string unique_email(const std::string& prefix);
std::string run_command(const std::string& command, int* exit_code = nullptr);

}  // namespace lms::test

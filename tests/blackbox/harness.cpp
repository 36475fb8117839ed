#include "harness.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>
#include <stdexcept>

#include <rapidjson/pointer.h>

#include "support/test_databases.h"

namespace lms::test {

std::string make_temp_dir() {
  char tmpl[] = "/tmp/lms-test-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

const std::string& test_engine() {
  static const std::string engine = [] {
    const char* e = std::getenv("LMS_TEST_ENGINE");
    std::string name = e && *e ? e : "sqlite";
    if (name != "sqlite" && name != "postgres")
      throw std::runtime_error("LMS_TEST_ENGINE=" + name + ": expected sqlite or postgres");
    return name;
  }();
  return engine;
}

bool on_postgres() { return test_engine() == "postgres"; }

namespace {

// On PostgreSQL without a server to use (LMS_TEST_POSTGRES_URL: `make test` and
// scripts/with_postgres.sh set it), every test is reported skipped, with the reason, rather
// than failed: a plain `ctest -R Name` in build/ then still passes on SQLite. With the URL
// set, a server that cannot be reached fails the tests.
class PostgresRun : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!on_postgres()) return;
    const char* url = std::getenv("LMS_TEST_POSTGRES_URL");
    if (!url || !*url) {
      // gtest reports tests skipped by an environment as passed: this line is what ctest's
      // SKIP_REGULAR_EXPRESSION (gtest_discover_tests) sees.
      std::printf("[  SKIPPED ] LMS_TEST_ENGINE=postgres but LMS_TEST_POSTGRES_URL is not set: run `make test`, or "
                  "scripts/with_postgres.sh ctest ...\n");
      std::fflush(stdout);
      GTEST_SKIP();
    }
  }
};
[[maybe_unused]] ::testing::Environment* const postgres_run = ::testing::AddGlobalTestEnvironment(new PostgresRun);

// The database of each data folder. Held by the servers started on the folder and by this
// map; the map lets go when the server that made the folder goes (forget_database), else when
// the process ends (the map's destructor), and the last holder drops the database.
struct Databases {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<lms::testing::TestDatabase>> by_dir;
};

Databases& databases() {
  static Databases d;
  return d;
}

std::string folder_key(const std::string& dir) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(dir, ec);
  return ec ? dir : canonical.string();
}

std::shared_ptr<lms::testing::TestDatabase> database_for(const std::string& dir) {
  std::lock_guard lock(databases().mutex);
  auto& slot = databases().by_dir[folder_key(dir)];
  if (!slot) slot = std::make_shared<lms::testing::TestDatabase>(test_engine(), dir);
  return slot;
}

void forget_database(const std::string& dir) {
  std::shared_ptr<lms::testing::TestDatabase> last;  // dropped outside the lock
  std::lock_guard lock(databases().mutex);
  auto it = databases().by_dir.find(folder_key(dir));
  if (it == databases().by_dir.end()) return;
  last = std::move(it->second);
  databases().by_dir.erase(it);
}

}  // namespace

std::string database_url(const std::string& dir) { return database_for(dir)->url(); }

bool behind_proxy() {
  static const bool proxy = [] {
    const char* p = std::getenv("LMS_TEST_PROXY");
    std::string name = p ? p : "";
    if (!name.empty() && name != "nginx") throw std::runtime_error("LMS_TEST_PROXY=" + name + ": expected nginx or nothing");
    return name == "nginx";
  }();
  return proxy;
}

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// True when something accepts connections on 127.0.0.1:port.
bool accepting(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// A loopback port below the kernel's ephemeral range (lms's own port and every connection
// nginx opens to it come from that range) that can be bound now.
std::uint16_t free_low_port() {
  static std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> pick(20000, 32000);
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto port = static_cast<std::uint16_t>(pick(rng));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (ok) return port;
  }
  throw std::runtime_error("no free loopback port for nginx");
}

}  // namespace

NginxProxy::NginxProxy(std::uint16_t lms_port) {
  char tmpl[] = "/tmp/lms-nginx-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  // As root nginx's worker runs as nobody: it must reach the folder (nginx makes its temp
  // folders inside, owned by the worker's user).
  chmod(dir_.c_str(), 0755);
  std::string last_error;
  for (int attempt = 0; attempt < 5 && port_ == 0; ++attempt) {
    std::uint16_t port = free_low_port();
    write_config(port, lms_port);
    pid_ = fork();
    if (pid_ == 0) {
      int null = open("/dev/null", O_RDWR);
      if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
      }
      std::string prefix = dir_ + "/", conf = dir_ + "/nginx.conf", err = dir_ + "/error.log";
      execlp("nginx", "nginx", "-p", prefix.c_str(), "-e", err.c_str(), "-c", conf.c_str(), "-g", "daemon off;",
             static_cast<char*>(nullptr));
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {  // e.g. the port was taken meanwhile
        pid_ = -1;
        last_error = error_log();
        break;
      }
      if (accepting(port)) {
        port_ = port;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (port_ == 0 && pid_ > 0) {
      stop();
      last_error = "nginx did not listen within 15 s: " + error_log();
    }
  }
  if (port_ == 0) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    throw std::runtime_error("nginx did not start: " + last_error);
  }
}

void NginxProxy::write_config(std::uint16_t listen_port, std::uint16_t lms_port) {
  // The server block is the deployment template, rendered by the script that renders it for
  // the cluster (LMS_CLUSTER_DIR: nothing of a real cluster's state is read).
  int code = 0;
  std::string out = run_command("LMS_CLUSTER_DIR='" + dir_ + "/cluster' bash '" LMS_SOURCE_DIR "/scripts/cluster' render-nginx 127.0.0.1:" +
                                    std::to_string(listen_port) + " '" + dir_ + "/access.log' " + std::to_string(lms_port),
                                &code);
  if (code != 0) throw std::runtime_error("scripts/cluster render-nginx failed: " + out);
  std::ofstream(dir_ + "/lms.conf") << out;
  std::string user = geteuid() == 0 ? "user nobody nogroup;\n" : "";
  std::ofstream(dir_ + "/nginx.conf")
      << "# written by tests/blackbox/harness.cpp (LMS_TEST_PROXY=nginx)\n"
      << user << "worker_processes 1;\n"
      << "pid " << dir_ << "/nginx.pid;\n"
      << "error_log " << dir_ << "/error.log warn;\n"
      << "events { worker_connections 4096; }\n"
      << "http {\n"
      << "  default_type application/octet-stream;\n"
      << "  tcp_nodelay on;\n"
      << "  client_body_temp_path " << dir_ << "/tmp/client_body;\n"
      << "  proxy_temp_path " << dir_ << "/tmp/proxy;\n"
      << "  fastcgi_temp_path " << dir_ << "/tmp/fastcgi;\n"
      << "  uwsgi_temp_path " << dir_ << "/tmp/uwsgi;\n"
      << "  scgi_temp_path " << dir_ << "/tmp/scgi;\n"
      << "  include " << dir_ << "/lms.conf;\n"
      << "}\n";
  std::filesystem::create_directories(dir_ + "/tmp");
  chmod((dir_ + "/tmp").c_str(), 0755);
}

std::string NginxProxy::error_log() const { return read_text(dir_ + "/error.log"); }

void NginxProxy::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);  // fast shutdown; the master waits for its worker
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

NginxProxy::~NginxProxy() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

LmsServer::LmsServer(std::vector<std::string> extra, std::string dir) : dir_(std::move(dir)) {
  if (dir_.empty()) {
    dir_ = make_temp_dir();
    own_dir_ = true;
  }
  try {
    database_ = database_for(dir_);
    if (behind_proxy()) {
      // As deployed behind nginx (deploy/nginx/lms.conf.template), unless the test says otherwise.
      std::vector<std::string> with_proxy;
      auto given = [&](const std::string& flag) {
        for (const auto& a : extra)
          if (a == flag || a.rfind(flag + "=", 0) == 0) return true;
        return false;
      };
      for (const auto& [flag, value] : {std::pair{"--trust-proxy", "true"}, std::pair{"--node-id", "n1"}})
        if (!given(flag)) with_proxy.insert(with_proxy.end(), {flag, value});
      with_proxy.insert(with_proxy.end(), extra.begin(), extra.end());
      start(with_proxy);
      try {
        proxy_ = std::make_unique<NginxProxy>(port_);
      } catch (...) {
        kill_hard();
        if (reader_.joinable()) reader_.join();
        throw;
      }
    } else {
      start(extra);
    }
  } catch (...) {
    if (own_dir_) {
      forget_database(dir_);
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
    throw;
  }
}

void LmsServer::start(const std::vector<std::string>& extra) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> args = {LMS_BINARY, "serve", "--port", "0", "--bind", "127.0.0.1", "--db",
                                   database_->url(), "--threads", "2"};
  // SQLite spools uploads in spool/ beside its file; on PostgreSQL the folder is given, so
  // uploads stay in the test's folder (and survive a restart on it) rather than ./data/spool.
  bool spool_given = false;
  for (const auto& a : extra) spool_given = spool_given || a == "--spool-dir" || a.rfind("--spool-dir=", 0) == 0;
  if (on_postgres() && !spool_given) {
    args.push_back("--spool-dir");
    args.push_back(dir_ + "/spool");
  }
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = fork();
  if (pid_ == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    // Suites make many requests from one address: rate limits are off unless a test turns
    // them on with --rate-api / --rate-auth (flags win over the environment).
    setenv("LMS_RATE_API", "off", 1);
    setenv("LMS_RATE_AUTH", "off", 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  out_fd_ = pipe_fds[0];
  // The first log line names the port.
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (port_ == 0 && std::chrono::steady_clock::now() < deadline) {
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char c;
    ssize_t n = read(out_fd_, &c, 1);
    if (n <= 0) break;
    logs_.push_back(c);
    if (c != '\n') {
      line.push_back(c);
      continue;
    }
    auto at = line.find("\"port\":");
    if (line.find("\"listening\"") != std::string::npos && at != std::string::npos)
      port_ = static_cast<std::uint16_t>(std::stoi(line.substr(at + 7)));
    line.clear();
  }
  if (port_ == 0) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    throw std::runtime_error("lms did not start; output: " + logs_);
  }
  reader_ = std::thread([this] {
    char buf[4096];
    for (;;) {
      ssize_t n = read(out_fd_, buf, sizeof buf);
      if (n <= 0) break;
      std::lock_guard lock(logs_mutex_);
      logs_.append(buf, static_cast<std::size_t>(n));
    }
  });
}

bool LmsServer::running() {
  if (exited_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    return false;
  }
  return true;
}

int LmsServer::terminate(std::chrono::seconds wait) {
  if (!running()) return exit_status_;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (running()) {
    kill_hard();
    return -SIGKILL;
  }
  return exit_status_;
}

void LmsServer::kill_hard() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  exited_ = true;
  exit_status_ = -SIGKILL;
}

std::string LmsServer::logs() {
  std::lock_guard lock(logs_mutex_);
  return logs_;
}

LmsServer::~LmsServer() {
  int status = terminate();
  proxy_.reset();
  // A clean shutdown exits 0; sanitizer findings (leaks included) make it non-zero.
  if (status != 0 && status != -SIGKILL) ADD_FAILURE() << "lms exited with status " << status << "\n" << logs();
  if (reader_.joinable()) reader_.join();
  if (out_fd_ >= 0) close(out_fd_);
  database_.reset();
  if (own_dir_) {
    forget_database(dir_);  // dropped now unless another server on the folder still runs
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

namespace {

int connect_to(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("connect failed");
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("send failed");
    sent += static_cast<std::size_t>(n);
  }
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The status line and headers of a response (header names lower-cased), without the body.
Response parse_head(const std::string& text) {
  Response res;
  std::istringstream head(text);
  std::string line;
  std::getline(head, line);
  res.status = std::stoi(line.substr(9, 3));
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    res.headers[lower(line.substr(0, colon))] = value;
  }
  return res;
}

// Reads one HTTP/1.1 response with Content-Length (what lms always sends).
Response read_response(int fd) {
  std::string data;
  char buf[8192];
  std::size_t header_end = std::string::npos;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto read_more = [&] {
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, 100) <= 0)
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("response timed out");
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) throw std::runtime_error("connection closed before a full response: " + data);
    data.append(buf, static_cast<std::size_t>(n));
  };
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) read_more();
  Response res = parse_head(data.substr(0, header_end));
  std::size_t length = res.headers.count("content-length") ? std::stoul(res.headers["content-length"]) : 0;
  while (data.size() < header_end + 4 + length) read_more();
  res.body = data.substr(header_end + 4, length);
  if (res.header("content-type").find("application/json") != std::string::npos) res.json.Parse(res.body.c_str());
  return res;
}

}  // namespace

std::string Response::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

std::string Response::str(const char* pointer) const {
  if (!json.IsObject()) return {};
  const rapidjson::Value* v = rapidjson::Pointer(pointer).Get(json);
  if (!v) return {};
  if (v->IsString()) return v->GetString();
  if (v->IsBool()) return v->GetBool() ? "true" : "false";
  if (v->IsInt64()) return std::to_string(v->GetInt64());
  if (v->IsNull()) return "null";
  return "<non-scalar>";
}

Response Client::request(const std::string& method, const std::string& target, const std::string& body,
                         const std::map<std::string, std::string>& headers) {
  int fd = connect_to(port_);
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    if (lower(k) == "content-type") has_type = true;
  }
  if (!body.empty() && !has_type) req += "Content-Type: application/json\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  try {
    send_all(fd, req);
    Response res = read_response(fd);
    close(fd);
    return res;
  } catch (...) {
    close(fd);
    throw;
  }
}

Response Client::get(const std::string& target, const std::string& token) {
  std::map<std::string, std::string> h;
  if (!token.empty()) h["Authorization"] = "Bearer " + token;
  return request("GET", target, {}, h);
}

Response Client::post(const std::string& target, const std::string& json, const std::string& token) {
  std::map<std::string, std::string> h;
  if (!token.empty()) h["Authorization"] = "Bearer " + token;
  return request("POST", target, json, h);
}

Response Client::patch(const std::string& target, const std::string& json, const std::string& token) {
  std::map<std::string, std::string> h;
  if (!token.empty()) h["Authorization"] = "Bearer " + token;
  return request("PATCH", target, json, h);
}

RawConnection::RawConnection(std::uint16_t port) : fd_(connect_to(port)) {}
RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}
void RawConnection::send(const std::string& bytes) { send_all(fd_, bytes); }

// Reads until `enough(data)`, the peer closes, or `timeout` passes.
template <class Enough>
std::string read_until(int fd, std::chrono::milliseconds timeout, Enough enough) {
  std::string data;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[8192];
  while (!enough(data) && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  return data;
}

std::string RawConnection::read_until_contains(const std::string& needle, std::chrono::milliseconds timeout) {
  return read_until(fd_, timeout, [&](const std::string& data) { return data.find(needle) != std::string::npos; });
}

std::string RawConnection::read_until_close(std::chrono::milliseconds timeout) {
  return read_until(fd_, timeout, [](const std::string&) { return false; });
}

bool RawConnection::closed_within(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
  return false;
}

std::string decode_chunked(const std::string& body) {
  std::string out;
  std::size_t pos = 0;
  for (;;) {
    auto eol = body.find("\r\n", pos);
    if (eol == std::string::npos) throw std::runtime_error("chunked body: missing chunk size line");
    std::string size_line = body.substr(pos, eol - pos);
    auto semi = size_line.find(';');
    if (semi != std::string::npos) size_line.resize(semi);
    while (!size_line.empty() && size_line.back() == ' ') size_line.pop_back();
    if (size_line.empty() || size_line.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      throw std::runtime_error("chunked body: bad chunk size '" + size_line + "'");
    std::size_t size = std::stoul(size_line, nullptr, 16);
    pos = eol + 2;
    if (size == 0) {
      // Trailers, then the final empty line.
      for (;;) {
        auto end = body.find("\r\n", pos);
        if (end == std::string::npos) throw std::runtime_error("chunked body: unterminated trailer");
        if (end == pos) return out;
        pos = end + 2;
      }
    }
    if (body.size() < pos + size + 2 || body.compare(pos + size, 2, "\r\n") != 0)
      throw std::runtime_error("chunked body: truncated chunk");
    out.append(body, pos, size);
    pos += size + 2;
  }
}

Response fetch(std::uint16_t port, const std::string& method, const std::string& target,
               const std::map<std::string, std::string>& headers, const std::string& body) {
  RawConnection conn(port);
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  conn.send(req);
  std::string raw = conn.read_until_close(std::chrono::seconds(60));
  auto header_end = raw.find("\r\n\r\n");
  if (header_end == std::string::npos || raw.size() < 12) throw std::runtime_error("no full response head: " + raw);
  Response res = parse_head(raw.substr(0, header_end));
  std::string rest = raw.substr(header_end + 4);
  if (lower(res.header("transfer-encoding")).find("chunked") != std::string::npos) {
    res.body = decode_chunked(rest);
  } else if (res.headers.count("content-length")) {
    std::size_t length = std::stoul(res.headers["content-length"]);
    if (rest.size() < length) throw std::runtime_error("truncated response body");
    res.body = rest.substr(0, length);
  } else {
    res.body = rest;
  }
  if (res.header("content-type").find("application/json") != std::string::npos) res.json.Parse(res.body.c_str());
  return res;
}

std::string unique_email(const std::string& prefix) {
  static std::atomic<int> counter{0};
  static const auto seed = std::random_device{}();
  return prefix + "-" + std::to_string(seed % 100000) + "-" + std::to_string(counter++) + "@example.com";
}

Account register_org(Client& client, const std::string& org_name) {
  Account a;
  a.email = unique_email("admin");
  auto res = client.post("/api/auth/register", R"({"organizationName":")" + org_name +
                                                   R"(","name":"Admin","email":")" + a.email +
                                                   R"(","password":"correct-horse"})");
  if (res.status != 201) throw std::runtime_error("register failed: " + res.body);
  a.access_token = res.str("/accessToken");
  a.refresh_token = res.str("/refreshToken");
  a.user_id = res.str("/user/id");
  a.organization_id = res.str("/organization/id");
  return a;
}

Account add_user(Client& client, const Account& admin, const std::string& role) {
  Account a;
  a.email = unique_email(role);
  auto res = client.post("/api/users",
                         R"({"name":"A )" + role + R"(","email":")" + a.email +
                             R"(","password":"correct-horse","role":")" + role + R"("})",
                         admin.access_token);
  if (res.status != 201) throw std::runtime_error("create user failed: " + res.body);
  a.user_id = res.str("/id");
  a.organization_id = res.str("/organizationId");
  auto login = client.post("/api/auth/login", R"({"email":")" + a.email + R"(","password":"correct-horse"})");
  if (login.status != 200) throw std::runtime_error("login failed: " + login.body);
  a.access_token = login.str("/accessToken");
  a.refresh_token = login.str("/refreshToken");
  return a;
}

std::string run_command(const std::string& command, int* exit_code) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed");
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int status = pclose(pipe);
  if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

}  // namespace lms::test

// lms-load: measures how many people at the lead desk a server carries, and how fast it
// feels. Commands: setup (accounts and leads through the contract, kept in a state file),
// run (one user level or arrival rate), capacity (steps up the users and writes the capacity
// report), report (merges results files into one report). See README, "Capacity".
//
// This file owns the command line, the worker processes (each step forks --workers
// generators, merges their results), the /metrics sampler, the live line and Ctrl-C.
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <rapidjson/document.h>

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "api.h"
#include "report.h"
#include "results.h"
#include "runner.h"
#include "scenario.h"
#include "state.h"

namespace lms::load {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_interrupt(int) { g_stop.store(true); }

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "30s", "2m", "500ms", "1h", or a bare number of seconds.
double parse_seconds(const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    throw Failure("not a duration: '" + text + "' (use e.g. 30s, 2m, 500ms)");
  }
  std::string unit = text.substr(used);
  double factor = unit.empty() || unit == "s" ? 1 : unit == "ms" ? 0.001 : unit == "m" ? 60 : unit == "h" ? 3600 : -1;
  if (factor < 0 || value < 0) throw Failure("not a duration: '" + text + "' (use e.g. 30s, 2m, 500ms)");
  return value * factor;
}

Scenario load_scenario(const std::string& path) {
  if (path.empty()) return Scenario{};
  std::ifstream in(path);
  if (!in) throw Failure("cannot read the scenario file " + path);
  std::stringstream text;
  text << in.rdbuf();
  std::string error;
  auto s = parse_scenario(text.str(), error);
  if (!s) throw Failure("the scenario " + path + " is malformed: " + error);
  return *s;
}

std::vector<net::ip::address> parse_sources(const std::string& list) {
  std::vector<net::ip::address> out;
  std::stringstream ss(list);
  for (std::string a; std::getline(ss, a, ',');) {
    if (a.empty()) continue;
    boost::system::error_code ec;
    auto address = net::ip::make_address(a, ec);
    if (ec) throw Failure("--source-addresses: not an address: " + a);
    out.push_back(address);
  }
  return out;
}

// Runs one coroutine to completion on a private io_context (set-up work, pre-flight checks).
template <class T>
T block_on(std::function<net::awaitable<T>(net::io_context&)> make) {
  net::io_context io;
  std::optional<T> result;
  std::exception_ptr error;
  net::co_spawn(io, make(io), [&](std::exception_ptr e, T value) {
    if (e) error = e;
    else result = std::move(value);
  });
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

std::string rfc3339_now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return text;
}

// ---------------------------------------------------------------------------------------------
// /metrics of the server under test

struct MetricsSnapshot {
  bool ok = false;
  double cpu_seconds = -1, rss = 0, http_connections = 0, realtime_connections = 0, write_queue = 0;
  double reads_waited = 0, api_requests = 0;
  std::chrono::steady_clock::time_point at;
};

// Sums the samples of `name` (any labels) in a Prometheus text exposition; with `label`, only
// samples whose labels contain it.
double metric(const std::string& text, std::string_view name, std::string_view label = {}) {
  double total = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#' || line.compare(0, name.size(), name) != 0) continue;
    char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != ' ' && next != '{') continue;
    if (!label.empty() && line.find(label) == std::string::npos) continue;
    auto space = line.rfind(' ');
    try {
      total += std::stod(line.substr(space + 1));
    } catch (const std::exception&) {
    }
  }
  return total;
}

MetricsSnapshot sample_metrics(const Target& target) {
  MetricsSnapshot s;
  s.at = std::chrono::steady_clock::now();
  try {
    net::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(5));
    stream.connect(target.endpoint);
    namespace bhttp = beast::http;
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, "/metrics", 11};
    req.set(bhttp::field::host, target.host_header);
    bhttp::write(stream, req);
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buffer, res);
    if (res.result_int() != 200) return s;
    const std::string& text = res.body();
    s.ok = true;
    s.cpu_seconds = text.find("\nprocess_cpu_seconds_total ") != std::string::npos ? metric(text, "process_cpu_seconds_total") : -1;
    s.rss = metric(text, "process_resident_memory_bytes");
    s.http_connections = metric(text, "http_connections");
    s.realtime_connections = metric(text, "realtime_connections");
    s.write_queue = metric(text, "db_write_queue_depth");
    s.reads_waited = metric(text, "db_reads_waited_total");
    s.api_requests = metric(text, "http_requests_total", "route=\"/api");
  } catch (const std::exception&) {
    s.ok = false;
  }
  return s;
}

ServerSample server_sample(const MetricsSnapshot& before, const MetricsSnapshot& after, double write_queue_max) {
  ServerSample s;
  if (!before.ok || !after.ok) return s;
  s.sampled = true;
  double seconds = std::chrono::duration<double>(after.at - before.at).count();
  if (before.cpu_seconds >= 0 && seconds > 0) s.cpu_cores = (after.cpu_seconds - before.cpu_seconds) / seconds;
  s.rss_bytes = after.rss;
  s.http_connections = after.http_connections;
  s.realtime_connections = after.realtime_connections;
  s.write_queue_max = write_queue_max;
  s.reads_waited = after.reads_waited - before.reads_waited;
  s.requests = after.api_requests - before.api_requests;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Steps over worker processes

struct Common {
  std::string url;
  std::string metrics_url;  // where /metrics is read; empty: url
  std::string state_path;
  std::string scenario_path;
  std::string sources = "auto";
  int workers = 1;
  int threads = 1;
  std::string ramp = "5s";
  std::string hold = "30s";
  double p95_ms = 100;
  int server_cores = 0;
  std::string http;  // "per-user" or "pooled": overrides the scenario's
};

struct Prepared {
  Target target;
  Target metrics;  // the instance whose /metrics is sampled
  LoadState state;
  Scenario scenario;
  std::vector<net::ip::address> sources;
  std::string run_tag;
};

void live_line(const std::string& level, LiveSlot* slots, int workers, double elapsed, std::int64_t& last_requests,
               std::int64_t& last_events, bool tty) {
  std::int64_t requests = 0, errors = 0, sockets = 0, events = 0, p95 = 0;
  for (int w = 0; w < workers; ++w) {
    requests += slots[w].requests.load();
    errors += slots[w].errors.load();
    sockets += slots[w].sockets.load();
    events += slots[w].events.load();
    p95 = std::max(p95, slots[w].p95_us.load());
  }
  char line[256];
  std::snprintf(line, sizeof line, "%s | %5.0fs | %7lld req/s | p95 %8.1f ms | errors %lld | sockets %lld | events %lld/s",
                level.c_str(), elapsed, static_cast<long long>(requests - last_requests), static_cast<double>(p95) / 1000.0,
                static_cast<long long>(errors), static_cast<long long>(sockets),
                static_cast<long long>(events - last_events));
  last_requests = requests;
  last_events = events;
  if (tty) std::fprintf(stderr, "\r\033[K%s", line);
  else if (static_cast<long>(elapsed) % 10 == 0) std::fprintf(stderr, "%s\n", line);
}

// Runs one level (users, or an arrival rate) over the workers; nullopt when interrupted.
std::optional<StepResult> run_level(const Common& c, const Prepared& p, std::int64_t users, double rate) {
  int workers = std::max(1, std::min<int>(c.workers, static_cast<int>(p.state.organizations.size())));
  auto* slots = static_cast<LiveSlot*>(
      mmap(nullptr, sizeof(LiveSlot) * static_cast<std::size_t>(workers), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  if (slots == MAP_FAILED) throw Failure("mmap failed");
  for (int w = 0; w < workers; ++w) new (&slots[w]) LiveSlot();
  auto dir = std::filesystem::temp_directory_path() / ("lms-load-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  StepPlan plan;
  plan.ramp_s = parse_seconds(c.ramp);
  plan.hold_s = parse_seconds(c.hold);
  plan.threads = c.threads;
  plan.rate = rate / workers;

  // One source address holds about 28,000 ports towards one server port: beyond 20,000
  // connections, spread them over more of 127.0.0.0/8 (every address of it is this machine).
  std::vector<net::ip::address> sources = p.sources;
  std::int64_t connections = users * (p.scenario.sockets ? 2 : 1);
  if (c.sources == "auto" && p.target.endpoint.address().is_v4() && p.target.endpoint.address().is_loopback() &&
      connections > 20000) {
    for (std::int64_t k = 0; k <= connections / 20000; ++k)
      sources.push_back(net::ip::make_address_v4(static_cast<std::uint32_t>(0x7f000001 + k)));
  }
  auto before = sample_metrics(p.metrics);
  std::vector<pid_t> children;
  for (int w = 0; w < workers; ++w) {
    pid_t pid = fork();
    if (pid < 0) throw Failure("fork failed");
    if (pid == 0) {
      rlimit limit{};
      getrlimit(RLIMIT_NOFILE, &limit);
      limit.rlim_cur = limit.rlim_max;
      setrlimit(RLIMIT_NOFILE, &limit);
      // The tag names the step too: leads created by an earlier step keep their emails.
      RunContext context{p.target, &p.state, p.scenario, sources, w, workers,
                         p.run_tag + "-" + std::to_string(users) + "-" + std::to_string(static_cast<long long>(rate))};
      StepPlan mine = plan;
      mine.users = users / workers + (w < users % workers ? 1 : 0);
      if (rate > 0 && mine.users == 0) mine.users = 1;
      int code = 0;
      try {
        RunResults out;
        out.steps.push_back(run_step(context, mine, &slots[w], g_stop));
        // Every worker reports the whole level, so merge_results adds the workers' steps up.
        out.steps.back().users = rate > 0 ? 0 : users;
        out.steps.back().rate = rate;
        std::ofstream(dir / ("worker-" + std::to_string(w) + ".json")) << results_to_json(out);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "\nlms-load worker %d: %s\n", w, e.what());
        code = 1;
      }
      std::fflush(nullptr);
      _exit(code);
    }
    children.push_back(pid);
  }
  bool tty = isatty(STDERR_FILENO);
  std::string level = rate > 0 ? "rate " + std::to_string(static_cast<long long>(rate)) + "/s"
                               : "users " + std::to_string(users);
  auto started = std::chrono::steady_clock::now();
  std::int64_t last_requests = 0, last_events = 0;
  double write_queue_max = 0;
  bool forwarded = false;
  std::size_t running = children.size();
  while (running > 0) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    if (g_stop && !forwarded) {
      for (auto pid : children) kill(pid, SIGINT);
      forwarded = true;
    }
    for (auto& pid : children) {
      if (pid <= 0) continue;
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
          std::fprintf(stderr, "\nlms-load: a worker failed (status %d)\n", status);
        pid = -1;
        --running;
      }
    }
    auto sample = sample_metrics(p.metrics);
    if (sample.ok) write_queue_max = std::max(write_queue_max, sample.write_queue);
    live_line(level, slots, workers, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
              last_requests, last_events, tty);
  }
  if (tty) std::fprintf(stderr, "\n");
  auto after = sample_metrics(p.metrics);
  munmap(slots, sizeof(LiveSlot) * static_cast<std::size_t>(workers));
  if (g_stop) {
    std::filesystem::remove_all(dir);
    return std::nullopt;
  }
  RunResults merged;
  for (int w = 0; w < workers; ++w) {
    std::ifstream in(dir / ("worker-" + std::to_string(w) + ".json"));
    if (!in) continue;
    std::stringstream text;
    text << in.rdbuf();
    merge_results(merged, results_from_json(text.str()));
  }
  std::filesystem::remove_all(dir);
  if (merged.steps.empty()) throw Failure("no worker produced results");
  StepResult step = merged.steps.front();
  step.users = rate > 0 ? 0 : users;
  step.rate = rate;
  step.server = server_sample(before, after, write_queue_max);
  return step;
}

Prepared prepare(const Common& c, double planned_seconds) {
  Prepared p;
  p.target = parse_target(c.url);
  p.metrics = parse_target(c.metrics_url.empty() ? c.url : c.metrics_url);
  p.state = load_state(c.state_path);
  p.scenario = load_scenario(c.scenario_path);
  if (c.http == "pooled") p.scenario.http = HttpMode::pooled;
  else if (c.http == "per-user") p.scenario.http = HttpMode::per_user;
  else if (!c.http.empty()) throw Failure("--http: per-user or pooled, not '" + c.http + "'");
  if (c.sources != "auto") p.sources = parse_sources(c.sources);
  std::random_device random;
  p.run_tag = std::to_string(std::time(nullptr) % 100000000) + std::to_string(random() % 1000);
  // Tokens that would expire during the run are refreshed now, through the contract.
  auto horizon = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count() +
                 static_cast<std::int64_t>((planned_seconds + 120) * 1000);
  bool changed = block_on<bool>([&](net::io_context& io) -> net::awaitable<bool> {
    HttpConnection http(io.get_executor(), p.target, std::nullopt, std::chrono::seconds(30));
    bool told = false;
    Api api(http, [&](int seconds) {
      if (!told) std::fprintf(stderr, "lms-load: the server rate-limits sign-ins; waiting %d s (Retry-After)\n", seconds);
      told = true;
    });
    bool any = false;
    for (auto& org : p.state.organizations)
      for (auto& account : org.accounts) {
        if (account.access_expires_at_ms > horizon) continue;
        if (!co_await api.refresh(account)) account = co_await api.login(account.email, account.password);
        any = true;
      }
    co_return any;
  });
  if (changed) save_state(c.state_path, p.state);
  return p;
}

// Says when the users would exceed the server's per-user rate limit: 429s would then measure
// the limit, not capacity.
void check_rate_limit(const Prepared& p, std::int64_t users, double rate) {
  auto per_user = block_on<std::optional<double>>([&](net::io_context& io) -> net::awaitable<std::optional<double>> {
    HttpConnection http(io.get_executor(), p.target, std::nullopt, std::chrono::seconds(10));
    Api api(http, {});
    auto answer = co_await api.call("GET", "/api/auth/me", p.state.organizations[0].accounts[0].access_token, {}, {}, 0);
    if (answer.status == 401) throw Failure("the server refused the state file's token: run lms-load setup again");
    co_return api.per_user_rate();
  });
  if (!per_user) return;
  double accounts = static_cast<double>(p.state.account_count());
  // An `open` action is two requests; the first list of every user one more.
  double per_account = rate > 0 ? rate * 1.2 / accounts
                                : static_cast<double>(users) / accounts * requests_per_user_per_second(p.scenario) * 1.2;
  if (per_account > *per_user)
    std::fprintf(stderr,
                 "lms-load: warning: %.3f requests/s per account exceeds the server's per-user limit (%.3f/s, from "
                 "RateLimit-*): 429s would measure the limit, not capacity. Use more --accounts in setup or raise "
                 "the server's --rate-api.\n",
                 per_account, *per_user);
}

RunResults new_results(const Common& c, const Prepared& p, bool open) {
  RunResults r;
  r.url = c.url;
  r.started_at = rfc3339_now();
  r.model = open ? "open" : "closed";
  r.http_mode = p.scenario.http == HttpMode::pooled ? "pooled" : "per-user";
  r.scenario_json = scenario_to_json(p.scenario);
  r.workers = c.workers;
  r.accounts = static_cast<std::int64_t>(p.state.account_count());
  return r;
}

int server_cores_for(const Common& c, const Target& t) {
  if (c.server_cores > 0) return c.server_cores;
  return t.endpoint.address().is_loopback() ? static_cast<int>(std::thread::hardware_concurrency()) : 0;
}

void write_report(const std::string& dir, const RunResults& results, const Common& c, int cores) {
  std::filesystem::create_directories(dir);
  ServiceLevel level{c.p95_ms, 0.01};
  std::ofstream(std::filesystem::path(dir) / "results.json") << results_to_json(results);
  std::ofstream(std::filesystem::path(dir) / "capacity.md") << capacity_markdown(results, level, cores);
  std::ofstream(std::filesystem::path(dir) / "capacity.html") << capacity_html(results, level, cores);
  std::fprintf(stderr, "lms-load: wrote %s/capacity.md, capacity.html, results.json\n", dir.c_str());
}

std::vector<std::int64_t> parse_levels(const std::string& list) {
  std::vector<std::int64_t> out;
  std::stringstream ss(list);
  for (std::string v; std::getline(ss, v, ',');) {
    try {
      std::size_t used = 0;
      long long n = std::stoll(v, &used);
      if (used != v.size() || n <= 0) throw std::invalid_argument(v);
      out.push_back(n);
    } catch (const std::exception&) {
      throw Failure("--users: expected a comma-separated list of positive counts, got '" + list + "'");
    }
  }
  if (out.empty()) throw Failure("--users: no user counts given");
  std::sort(out.begin(), out.end());
  return out;
}

// ---------------------------------------------------------------------------------------------
// setup

struct SetupArgs {
  std::string url, state_path, scenario_path, email, password;
  std::int64_t accounts = 50;
  std::int64_t leads = -1;
  int concurrency = 8;
};

int run_setup(const SetupArgs& a) {
  Target target = parse_target(a.url);
  Scenario scenario = load_scenario(a.scenario_path);
  if (a.accounts < 1) throw Failure("--accounts must be at least 1");
  LoadState state;
  state.url = a.url;
  std::random_device random;
  std::string tag = std::to_string(std::time(nullptr)) + "-" + std::to_string(random() % 100000);
  const std::string password = "load-test-" + std::to_string(random());
  std::int64_t teams = a.email.empty() ? (a.accounts + scenario.team_size - 1) / scenario.team_size : 1;
  std::int64_t team_size = a.email.empty() ? scenario.team_size : a.accounts;
  std::int64_t leads_total = a.leads >= 0 ? a.leads : scenario.leads_per_team * teams;
  std::fprintf(stderr, "lms-load setup: %lld accounts in %lld organization(s), %lld leads\n",
               static_cast<long long>(a.accounts), static_cast<long long>(teams), static_cast<long long>(leads_total));
  block_on<bool>([&](net::io_context& io) -> net::awaitable<bool> {
    HttpConnection http(io.get_executor(), target, std::nullopt, std::chrono::seconds(60));
    bool told = false;
    auto on_wait = [&](int seconds) {
      if (!told) std::fprintf(stderr, "lms-load setup: rate limited by the server; waiting %d s as it asks (Retry-After)\n", seconds);
      told = true;
    };
    Api api(http, on_wait);
    std::int64_t made = 0;
    for (std::int64_t t = 0; t < teams; ++t) {
      Organization org;
      if (!a.email.empty()) {
        Account admin = co_await api.login(a.email, a.password);
        if (admin.role != "admin") throw Failure(a.email + " is not an admin: setup creates users with it");
        auto me = co_await api.call("GET", "/api/auth/me", admin.access_token);
        rapidjson::Document doc;
        doc.Parse(me.body.c_str());
        if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("user"))
          throw Failure("GET /api/auth/me answered " + std::to_string(me.status));
        org.id = doc["user"]["organizationId"].GetString();
        org.accounts.push_back(admin);
      } else {
        org = co_await api.register_organization("Load team " + std::to_string(t + 1) + " " + tag,
                                                 "load-admin-" + std::to_string(t) + "-" + tag + "@load.test", password);
      }
      ++made;
      std::int64_t in_team = std::min<std::int64_t>(team_size, a.accounts - made + 1);
      auto watchers = static_cast<std::int64_t>(std::llround(static_cast<double>(in_team) * scenario.manager_share));
      // Users are created a few at a time: the server hashes each password (argon2id).
      std::vector<Account> created(static_cast<std::size_t>(std::max<std::int64_t>(0, in_team - 1)));
      std::atomic<std::size_t> next{0};
      std::exception_ptr failed;
      int lanes = std::max(1, a.concurrency);
      std::atomic<int> running{lanes};
      net::steady_timer all_done(io, std::chrono::steady_clock::time_point::max());
      for (int lane = 0; lane < lanes; ++lane) {
        net::co_spawn(
            io,
            [&]() -> net::awaitable<void> {
              HttpConnection mine(io.get_executor(), target, std::nullopt, std::chrono::seconds(60));
              Api lane_api(mine, on_wait);
              for (std::size_t i; (i = next.fetch_add(1)) < created.size() && !failed;) {
                std::string role = static_cast<std::int64_t>(i) + 1 < watchers ? "manager" : "agent";
                std::string email = "load-" + role + "-" + std::to_string(t) + "-" + std::to_string(i) + "-" + tag + "@load.test";
                created[i] = co_await lane_api.create_user(org.accounts[0], "Load " + role + " " + std::to_string(i), email,
                                                           password, role);
              }
            },
            [&](std::exception_ptr e) {
              if (e && !failed) failed = e;
              if (--running == 0) all_done.cancel();
            });
      }
      boost::system::error_code ec;
      co_await all_done.async_wait(net::redirect_error(net::use_awaitable, ec));
      if (failed) std::rethrow_exception(failed);
      for (auto& account : created) org.accounts.push_back(std::move(account));
      made += static_cast<std::int64_t>(created.size());
      std::int64_t leads = leads_total / teams + (t < leads_total % teams ? 1 : 0);
      for (std::int64_t done = 0; done < leads;) {
        std::int64_t chunk = std::min<std::int64_t>(50000, leads - done);
        std::string csv = "name,email,company\r\n";
        for (std::int64_t i = 0; i < chunk; ++i) {
          static constexpr const char* kFirst[] = {"Anna", "Maria", "James", "Chen", "Olsen", "Garcia", "Noah", "Lena"};
          static constexpr const char* kCompany[] = {"Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne"};
          std::int64_t n = done + i;
          csv += std::string(kFirst[n % 8]) + " Lead " + std::to_string(n) + ",lead-" + std::to_string(t) + "-" +
                 std::to_string(n) + "-" + tag + "@load.test," + kCompany[(n / 8) % 6] + "\r\n";
        }
        org.leads += co_await api.import_leads(org.accounts[0], csv);
        done += chunk;
      }
      state.organizations.push_back(std::move(org));
      save_state(a.state_path, state);  // after each team: an interrupted setup leaves what it made
      std::fprintf(stderr, "lms-load setup: team %lld of %lld ready (%zu accounts, %lld leads)\n",
                   static_cast<long long>(t + 1), static_cast<long long>(teams), state.organizations.back().accounts.size(),
                   static_cast<long long>(state.organizations.back().leads));
    }
    co_return true;
  });
  std::fprintf(stderr, "lms-load setup: state written to %s\n", a.state_path.c_str());
  return 0;
}

void add_common(CLI::App* app, Common& c) {
  app->add_option("--url", c.url, "server base URL, http://host:port")->required();
  app->add_option("--metrics-url", c.metrics_url,
                  "where the server's /metrics is read, http://host:port (default: --url); behind a load "
                  "balancer that does not publish it, one instance's own address");
  app->add_option("--state", c.state_path, "state file written by lms-load setup")->required();
  app->add_option("--scenario", c.scenario_path, "scenario JSON file (default: the built-in scenario)");
  app->add_option("--workers", c.workers, "generator processes (each with its own descriptor limit)")->check(CLI::Range(1, 256));
  app->add_option("--threads", c.threads, "I/O threads per worker")->check(CLI::Range(1, 64));
  app->add_option("--source-addresses", c.sources,
                  "comma-separated local addresses to spread connections over, or auto (default: for a loopback "
                  "server, enough of 127.0.0.0/8 that no address needs more than 20,000 ports)");
  app->add_option("--http", c.http, "per-user (each user its own keep-alive connection, as a browser) or pooled "
                                    "(a shared pool, as behind a proxy); default: the scenario's");
  app->add_option("--ramp", c.ramp, "time over which users connect before the hold (default 5s)");
  app->add_option("--p95", c.p95_ms, "service level: p95 under this many ms (default 100)");
  app->add_option("--server-cores", c.server_cores, "the server's cores, for the CPU verdict (default: this machine's when the URL is loopback)");
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"lms-load: the capacity of a lead desk server, measured"};
  app.require_subcommand(1);
  SetupArgs setup;
  auto* setup_cmd = app.add_subcommand("setup", "register organizations, create and sign in users, create leads");
  setup_cmd->add_option("--url", setup.url, "server base URL, http://host:port")->required();
  setup_cmd->add_option("--state", setup.state_path, "state file to write")->required();
  setup_cmd->add_option("--accounts", setup.accounts, "user accounts to create (spread over teams of the scenario's teamSize)");
  setup_cmd->add_option("--leads", setup.leads, "leads to create in total (default: the scenario's leadsPerTeam per team)");
  setup_cmd->add_option("--email", setup.email, "sign in to this existing admin instead of registering organizations");
  setup_cmd->add_option("--password", setup.password, "password of --email");
  setup_cmd->add_option("--scenario", setup.scenario_path, "scenario JSON file");
  setup_cmd->add_option("--concurrency", setup.concurrency, "users created at once (default 8)");

  Common run_c;
  std::int64_t run_users = 0;
  double run_rate = 0;
  std::string run_out = "results.json", run_report;
  auto* run_cmd = app.add_subcommand("run", "one user level (closed model) or one arrival rate (open model)");
  add_common(run_cmd, run_c);
  run_cmd->add_option("--users", run_users, "virtual users (closed model; in the open model: lanes, default 100)");
  run_cmd->add_option("--rate", run_rate, "arrivals per second (open model)");
  run_cmd->add_option("--duration", run_c.hold, "measured time (default 30s)");
  run_cmd->add_option("--out", run_out, "results file (default results.json)");
  run_cmd->add_option("--report", run_report, "also write capacity.md and capacity.html into this folder");

  Common cap_c;
  std::string cap_users = "100,1000,10000", cap_out = "capacity";
  auto* cap_cmd = app.add_subcommand("capacity", "step the users up and write the capacity report");
  add_common(cap_cmd, cap_c);
  cap_cmd->add_option("--users", cap_users, "comma-separated user counts, one step each (default 100,1000,10000)");
  cap_cmd->add_option("--hold", cap_c.hold, "measured time of each step (default 30s)");
  cap_cmd->add_option("--out", cap_out, "folder for capacity.md, capacity.html, results.json")->required();

  std::vector<std::string> report_files;
  std::string report_out = "capacity";
  Common report_c;
  auto* report_cmd = app.add_subcommand("report", "merge results files (of several machines) into one report");
  report_cmd->add_option("files", report_files, "results.json files")->required();
  report_cmd->add_option("--out", report_out, "folder for the report")->required();
  report_cmd->add_option("--p95", report_c.p95_ms, "service level: p95 under this many ms (default 100)");
  report_cmd->add_option("--server-cores", report_c.server_cores, "the server's cores, for the CPU verdict");

  CLI11_PARSE(app, argc, argv);
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    if (*setup_cmd) return run_setup(setup);
    if (*run_cmd) {
      bool open = run_rate > 0;
      if (!open && run_users <= 0) throw Failure("give --users N (closed model) or --rate R (open model)");
      if (open && run_users <= 0) run_users = 100;
      double planned = parse_seconds(run_c.ramp) + parse_seconds(run_c.hold);
      Prepared p = prepare(run_c, planned);
      check_rate_limit(p, run_users, run_rate);
      RunResults results = new_results(run_c, p, open);
      auto step = run_level(run_c, p, run_users, run_rate);
      if (!step) results.interrupted = true;
      else results.steps.push_back(std::move(*step));
      std::ofstream(run_out) << results_to_json(results);
      std::fprintf(stderr, "lms-load: wrote %s\n", run_out.c_str());
      if (!run_report.empty()) write_report(run_report, results, run_c, server_cores_for(run_c, p.target));
      return results.interrupted ? 130 : 0;
    }
    if (*cap_cmd) {
      auto levels = parse_levels(cap_users);
      double planned = (parse_seconds(cap_c.ramp) + parse_seconds(cap_c.hold) + 5) * static_cast<double>(levels.size());
      Prepared p = prepare(cap_c, planned);
      check_rate_limit(p, levels.back(), 0);
      RunResults results = new_results(cap_c, p, false);
      int cores = server_cores_for(cap_c, p.target);
      for (auto users : levels) {
        auto step = run_level(cap_c, p, users, 0);
        if (!step) {
          results.interrupted = true;
          std::fprintf(stderr, "lms-load: interrupted; the report has the %zu completed step(s)\n", results.steps.size());
          break;
        }
        results.steps.push_back(std::move(*step));
        write_report(cap_out, results, cap_c, cores);  // after every step: Ctrl-C keeps what is done
      }
      write_report(cap_out, results, cap_c, cores);
      return results.interrupted ? 130 : 0;
    }
    if (*report_cmd) {
      RunResults merged;
      bool first = true;
      for (const auto& file : report_files) {
        std::ifstream in(file);
        if (!in) throw Failure("cannot read " + file);
        std::stringstream text;
        text << in.rdbuf();
        RunResults r;
        try {
          r = results_from_json(text.str());
        } catch (const std::invalid_argument& e) {
          throw Failure(file + " is not a results file: " + e.what());
        }
        if (first) merged = r;
        else merge_results(merged, r);
        first = false;
      }
      write_report(report_out, merged, report_c, report_c.server_cores);
      return 0;
    }
  } catch (const Failure& e) {
    std::fprintf(stderr, "lms-load: %s\n", e.what());
    return 1;
  } catch (const SetupError& e) {
    std::fprintf(stderr, "lms-load: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lms-load: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace lms::load

int main(int argc, char** argv) { return lms::load::run_cli(argc, argv); }

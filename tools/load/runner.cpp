// One step of a load run (see runner.h): virtual users or open-model lanes on a few
// io_contexts, per-thread statistics merged at the end, and the event-delivery ledger.
#include "runner.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <rapidjson/document.h>

#include <sys/resource.h>

#include <array>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "schedule.h"

namespace lms::load {

namespace {

constexpr std::array<const char*, 5> kStatuses = {"new", "contacted", "qualified", "converted", "lost"};
constexpr std::array<const char*, 12> kWords = {"Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne",
                                                "Anna", "Maria", "James", "Chen", "Olsen", "Garcia"};

std::string_view scan_string(std::string_view json, std::string_view key) {
  auto at = json.find(key);
  if (at == std::string_view::npos) return {};
  at += key.size();
  auto end = json.find('"', at);
  return end == std::string_view::npos ? std::string_view{} : json.substr(at, end - at);
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(usage.ru_utime) + s(usage.ru_stime);
}

// Per-organization ledger of expected event receipts: each write expects one receipt on
// every socket connected at its REST answer that should hear of it. A receipt may arrive
// before the answer is processed: it waits in `early` until then. A socket that got a
// `leads:bulk` within a few seconds after a write it missed had that event summarized, as the
// contract allows (more than 20 events a second for one receiver).
class EventLedger {
 public:
  void expect(const std::string& lead_id, std::int64_t version, std::int64_t answered_us, std::vector<int> sockets) {
    std::lock_guard lock(mutex_);
    auto& e = entries_[key(lead_id, version)];
    // A second answer with the same version changed nothing (a PATCH to the status the lead
    // already had, set meanwhile by another user): the server sends no event for it.
    if (e.answered_us != 0) return;
    e.answered_us = answered_us;
    for (int socket : sockets) e.receivers.push_back({socket, 0});
    auto early = std::move(e.early);
    for (auto [socket, at] : early) record(e, socket, at);
  }
  void receive(std::string_view lead_id, std::int64_t version, int socket, std::int64_t at_us) {
    std::lock_guard lock(mutex_);
    auto& e = entries_[key(lead_id, version)];
    if (e.answered_us == 0) {
      if (e.early.size() < 1000) e.early.emplace_back(socket, at_us);
      return;
    }
    record(e, socket, at_us);
  }
  void bulk(int socket, std::int64_t at_us) {
    std::lock_guard lock(mutex_);
    bulks_[socket].push_back(at_us);
  }
  // Adds the ledger's figures to the step (receipts of writes not expected are ignored).
  void collect(StepResult& step) {
    std::lock_guard lock(mutex_);
    for (const auto& [k, e] : entries_) {
      if (e.answered_us == 0) continue;
      for (const auto& r : e.receivers) {
        ++step.events_expected;
        if (r.received_us != 0) {
          ++step.events_delivered;
          step.event_delivery.record(std::max<std::int64_t>(0, r.received_us - e.answered_us));
        } else if (summarized(r.socket, e.answered_us)) {
          ++step.events_delivered;
          ++step.events_summarized;
        }
      }
    }
  }

 private:
  struct Receiver {
    int socket;
    std::int64_t received_us;
  };
  struct Entry {
    std::int64_t answered_us = 0;
    std::vector<Receiver> receivers;
    std::vector<std::pair<int, std::int64_t>> early;
  };
  static std::string key(std::string_view id, std::int64_t version) {
    return std::string(id) + ":" + std::to_string(version);
  }
  static void record(Entry& e, int socket, std::int64_t at_us) {
    for (auto& r : e.receivers)
      if (r.socket == socket && r.received_us == 0) {
        r.received_us = at_us;
        return;
      }
    // not one we counted on (a socket that connected after the answer)
  }
  bool summarized(int socket, std::int64_t answered_us) const {
    auto it = bulks_.find(socket);
    if (it == bulks_.end()) return false;
    for (auto at : it->second)
      if (at >= answered_us - 1'000'000 && at <= answered_us + 3'000'000) return true;
    return false;
  }

  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::unordered_map<int, std::vector<std::int64_t>> bulks_;  // socket → times of leads:bulk
};

// Who may hear of a lead change in an organization: the sockets of its admins and managers,
// and those of the assignee. Sockets connect and close on every thread: under a mutex.
class OrgAudience {
 public:
  EventLedger ledger;
  void connected(int socket, bool watcher, const std::string& user_id) {
    std::lock_guard lock(mutex_);
    (watcher ? watchers_[socket] : by_user_[user_id][socket]) = true;
  }
  void closed(int socket, bool watcher, const std::string& user_id) {
    std::lock_guard lock(mutex_);
    if (watcher) watchers_.erase(socket);
    else by_user_[user_id].erase(socket);
  }
  std::vector<int> receivers(const std::string& assignee) {
    std::lock_guard lock(mutex_);
    std::vector<int> out;
    for (const auto& [socket, on] : watchers_) out.push_back(socket);
    if (!assignee.empty())
      if (auto it = by_user_.find(assignee); it != by_user_.end())
        for (const auto& [socket, on] : it->second) out.push_back(socket);
    return out;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<int, bool> watchers_;
  std::unordered_map<std::string, std::unordered_map<int, bool>> by_user_;
};

// Statistics of one thread: touched only by the coroutines of its io_context.
struct ThreadStats {
  std::array<ActionResult, kActions> actions;
  ActionResult socket;  // ok: sockets connected; errors: why the others did not
  Histogram overall;
  Histogram lag;  // closed model: how late a user woke after thinking
  std::int64_t requests = 0;
  Histogram recent;  // for the live p95, reset by the live publisher
};

// HTTP through a shared pool, as behind a proxy (http: "pooled"): a user borrows a connection
// for one request. One pool per thread, touched only by that thread's coroutines.
class ConnectionPool {
 public:
  ConnectionPool(net::any_io_executor executor, const Target& target, std::size_t size,
                 const std::vector<net::ip::address>& sources)
      : executor_(executor) {
    for (std::size_t i = 0; i < size; ++i) {
      std::optional<net::ip::address> source;
      if (!sources.empty()) source = sources[i % sources.size()];
      all_.push_back(std::make_unique<HttpConnection>(executor, target, source, std::chrono::seconds(30)));
      free_.push_back(all_.back().get());
    }
  }
  net::awaitable<HttpConnection*> acquire() {
    while (free_.empty()) {
      net::steady_timer wake(executor_, std::chrono::steady_clock::time_point::max());
      waiting_.push_back(&wake);
      boost::system::error_code ec;
      co_await wake.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
    HttpConnection* c = free_.back();
    free_.pop_back();
    co_return c;
  }
  void release(HttpConnection* c) {
    free_.push_back(c);
    if (!waiting_.empty()) {
      waiting_.front()->cancel();
      waiting_.pop_front();
    }
  }

 private:
  net::any_io_executor executor_;
  std::vector<std::unique_ptr<HttpConnection>> all_;
  std::vector<HttpConnection*> free_;
  std::deque<net::steady_timer*> waiting_;
};

struct KnownLead {
  std::string id;
  std::string status;
};

struct Shared {
  const RunContext& context;
  const StepPlan& plan;
  LiveSlot* live;
  const std::atomic<bool>& stop;
  ActionPicker picker;
  std::int64_t measure_start_us = 0, measure_end_us = 0;
  std::vector<std::unique_ptr<OrgAudience>> audiences;  // parallel to organizations_of(worker)
  std::atomic<std::int64_t> created{0};
  std::atomic<std::int64_t> sockets_connected{0};
  std::atomic<std::int64_t> sockets_wanted{0};
  std::atomic<std::int64_t> next_arrival{0};
  std::atomic<std::int64_t> active_users{0};
  OpenSchedule schedule;
  bool over() const { return stop.load(std::memory_order_relaxed) || now_us() >= measure_end_us; }
};

// One virtual user (closed model) or lane (open model).
class User {
 public:
  User(Shared& shared, ThreadStats& stats, net::any_io_executor executor, const Account& account, OrgAudience& audience,
       std::size_t index, ConnectionPool* pool)
      : shared_(shared),
        stats_(stats),
        executor_(executor),
        account_(account),
        audience_(audience),
        index_(index),
        rng_(0x9e3779b97f4a7c15ull ^ (index * 1000003 + static_cast<std::size_t>(shared.context.worker))),
        pool_(pool) {
    if (!pool_) own_http_ = std::make_unique<HttpConnection>(executor, shared.context.target, source(), std::chrono::seconds(30));
  }

  net::awaitable<void> run_closed(std::int64_t start_at_us) {
    Active active(shared_.active_users);
    co_await sleep_until(start_at_us);
    co_await connect_socket();
    co_await act(Action::list, Mode::warm_up);  // learn some leads first, as the desk's first page does
    net::steady_timer timer(executor_);
    while (!shared_.over()) {
      auto think = std::chrono::microseconds(static_cast<std::int64_t>(think_time_ms(shared_.context.scenario, rng_) * 1000));
      std::int64_t intended = now_us() + think.count();
      // A user thinking past the end of the step wakes at the end: the step does not wait for it.
      timer.expires_after(std::chrono::microseconds(std::min(intended, shared_.measure_end_us) - now_us()));
      co_await timer.async_wait(net::use_awaitable);
      std::int64_t woke = now_us();
      if (woke >= shared_.measure_start_us && woke < shared_.measure_end_us) stats_.lag.record(woke - intended);
      if (shared_.over()) break;
      co_await act(shared_.picker.pick(rng_), Mode::closed);
    }
  }

  net::awaitable<void> run_open(std::int64_t start_at_us) {
    Active active(shared_.active_users);
    co_await sleep_until(start_at_us);
    co_await connect_socket();
    co_await act(Action::list, Mode::warm_up);
    while (now_us() < shared_.schedule.start_us && !shared_.stop) co_await sleep_until(shared_.schedule.start_us);
    co_await open_lane(
        shared_.schedule, shared_.next_arrival, shared_.measure_end_us,
        [this](std::int64_t) -> net::awaitable<void> { co_await act(shared_.picker.pick(rng_), Mode::open); },
        [this](std::int64_t, std::int64_t intended, std::int64_t completed) { record_open(intended, completed); },
        [] { return now_us(); });
  }

  void stop_socket() {
    if (socket_) socket_->stop();
  }
  bool socket_connected() const { return socket_ && socket_->connected(); }

 private:
  // Counts a running user for the end of the step: it waits until every user's last action
  // is answered, so the requests counted match what the server saw.
  struct Active {
    explicit Active(std::atomic<std::int64_t>& n) : n_(n) { n_.fetch_add(1); }
    ~Active() { n_.fetch_sub(1); }
    std::atomic<std::int64_t>& n_;
  };
  // warm_up: not measured; closed: measured from the actual start; open: measured by the lane
  // from the arrival's intended time.
  enum class Mode { warm_up, closed, open };

  std::optional<net::ip::address> source() const {
    const auto& sources = shared_.context.sources;
    if (sources.empty()) return std::nullopt;
    return sources[index_ % sources.size()];
  }

  net::awaitable<void> sleep_until(std::int64_t at_us) {
    std::int64_t wait = at_us - now_us();
    if (wait <= 0) co_return;
    net::steady_timer timer(executor_, std::chrono::microseconds(wait));
    co_await timer.async_wait(net::use_awaitable);
  }

  net::awaitable<void> connect_socket() {
    if (!shared_.context.scenario.sockets) co_return;
    shared_.sockets_wanted.fetch_add(1, std::memory_order_relaxed);
    socket_ = std::make_unique<SocketIoClient>(executor_, shared_.context.target, source());
    auto error = co_await socket_->connect(account_.access_token, std::chrono::seconds(30));
    if (!error.empty()) {
      ++stats_.socket.errors[error.rfind("connect_error", 0) == 0 ? "socket refused" : "socket connect"];
      socket_.reset();
      co_return;
    }
    ++stats_.socket.ok;
    shared_.sockets_connected.fetch_add(1, std::memory_order_relaxed);
    if (shared_.live) shared_.live->sockets.fetch_add(1, std::memory_order_relaxed);
    const int socket = static_cast<int>(index_);
    audience_.connected(socket, account_.watches_all(), account_.user_id);
    net::co_spawn(
        executor_,
        [this, socket]() -> net::awaitable<void> {
          co_await socket_->run([this, socket](std::string_view name, std::string_view payload, std::int64_t at) {
            if (name == "leads:bulk") {
              audience_.ledger.bulk(socket, at);
              return;
            }
            if (name != "lead:created" && name != "lead:updated" && name != "lead:assigned") return;
            if (auto key = scan_lead(payload)) audience_.ledger.receive(key->id, key->version, socket, at);
            if (shared_.live) shared_.live->events.fetch_add(1, std::memory_order_relaxed);
          });
          audience_.closed(socket, account_.watches_all(), account_.user_id);
          if (shared_.live) shared_.live->sockets.fetch_sub(1, std::memory_order_relaxed);
        },
        net::detached);
  }

  struct Call {
    std::string method, path, body, content_type = "application/json";
  };

  Call plan_call(Action action, int part) {
    const auto& s = shared_.context.scenario;
    std::string limit = std::to_string(s.page_size);
    switch (action) {
      case Action::list: return {"GET", "/api/leads?limit=" + limit, {}};
      case Action::search:
        return {"GET", "/api/leads?limit=" + limit + "&q=" + kWords[rng_() % kWords.size()], {}};
      case Action::count: return {"GET", "/api/leads/count", {}};
      case Action::open:
        if (known_.empty()) return {"GET", "/api/leads?limit=" + limit, {}};
        if (part == 0) target_ = known_[rng_() % known_.size()].id;
        return part == 0 ? Call{"GET", "/api/leads/" + target_, {}} : Call{"GET", "/api/leads/" + target_ + "/activities?limit=20", {}};
      case Action::status: {
        if (known_.empty()) return {"GET", "/api/leads?limit=" + limit, {}};
        auto& lead = known_[rng_() % known_.size()];
        std::string next = lead.status;
        while (next == lead.status) next = kStatuses[rng_() % kStatuses.size()];
        lead.status = next;
        target_ = lead.id;
        return {"PATCH", "/api/leads/" + lead.id, "{\"status\":\"" + next + "\"}"};
      }
      case Action::note:
        if (known_.empty()) return {"GET", "/api/leads?limit=" + limit, {}};
        return {"POST", "/api/leads/" + known_[rng_() % known_.size()].id + "/notes",
                "{\"body\":\"called, left a message\"}"};
      case Action::create: {
        auto n = shared_.created.fetch_add(1, std::memory_order_relaxed);
        return {"POST", "/api/leads",
                "{\"name\":\"Load " + std::string(kWords[rng_() % kWords.size()]) + "\",\"email\":\"lt-" +
                    shared_.context.run_tag + "-" + std::to_string(shared_.context.worker) + "-" + std::to_string(n) +
                    "@load.test\",\"company\":\"" + kWords[rng_() % 6] + "\"}"};
      }
      case Action::import: {
        auto n = shared_.created.fetch_add(s.import_rows, std::memory_order_relaxed);
        std::string csv = "name,email,company\r\n";
        for (int r = 0; r < s.import_rows; ++r)
          csv += "Imported " + std::to_string(r) + ",li-" + shared_.context.run_tag + "-" +
                 std::to_string(shared_.context.worker) + "-" + std::to_string(n + r) + "@load.test,Import Co\r\n";
        return {"POST", "/api/imports?source=load-test", csv, "text/csv"};
      }
      case Action::kCount: break;
    }
    return {"GET", "/api/leads", {}};
  }

  // Performs one action (an `open` is two requests); in the closed model records it when it
  // started inside the hold.
  net::awaitable<void> act(Action action, Mode mode) {
    std::int64_t started = now_us();
    int parts = action == Action::open && !known_.empty() ? 2 : 1;
    HttpAnswer answer;
    for (int part = 0; part < parts; ++part) {
      Call call = plan_call(action, part);
      HttpConnection* http = pool_ ? co_await pool_->acquire() : own_http_.get();
      answer = co_await http->request(call.method, call.path, account_.access_token, call.body, call.content_type);
      if (pool_) pool_->release(http);
      if (answer.status != 0) {  // what the server saw (a refused connect never reached it)
        ++stats_.requests;
        if (shared_.live) shared_.live->requests.fetch_add(1, std::memory_order_relaxed);
      }
      if (answer.status < 200 || answer.status >= 300) break;
      learn(action, answer);
    }
    std::int64_t done = now_us();
    last_ok_ = answer.status >= 200 && answer.status < 300;
    last_error_ = last_ok_ ? std::string() : answer.status == 0 ? answer.error : std::to_string(answer.status);
    last_action_ = action;
    if (mode == Mode::closed && started >= shared_.measure_start_us && started < shared_.measure_end_us)
      record(action, done - started);
  }

  void record(Action action, std::int64_t latency_us) {
    auto& result = stats_.actions[static_cast<std::size_t>(action)];
    if (last_ok_) {
      ++result.ok;
      result.latency.record(latency_us);
      stats_.overall.record(latency_us);
      stats_.recent.record(latency_us);
    } else {
      ++result.errors[last_error_];
      if (shared_.live) shared_.live->errors.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void record_open(std::int64_t intended, std::int64_t completed) {
    if (intended >= shared_.measure_start_us && intended < shared_.measure_end_us) record(last_action_, completed - intended);
  }

  void learn(Action action, const HttpAnswer& answer) {
    if (action == Action::list || action == Action::search) {
      remember_page(answer.body);
      return;
    }
    if (action != Action::status && action != Action::create) return;
    auto key = scan_lead(answer.body);
    if (!key) return;
    // Receivers are counted at the answer: a socket that connects later is not expected.
    audience_.ledger.expect(key->id, key->version, now_us(), audience_.receivers(key->assigned_to));
    if (action == Action::create && known_.size() < 100) known_.push_back({key->id, "new"});
  }

  void remember_page(const std::string& body) {
    rapidjson::Document doc;
    doc.Parse(body.c_str(), body.size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("items") || !doc["items"].IsArray()) return;
    for (auto& item : doc["items"].GetArray()) {
      if (!item.IsObject() || !item.HasMember("id") || !item["id"].IsString()) continue;
      KnownLead lead{item["id"].GetString(), item.HasMember("status") && item["status"].IsString() ? item["status"].GetString() : "new"};
      bool seen = false;
      for (auto& k : known_)
        if (k.id == lead.id) {
          k.status = lead.status;
          seen = true;
        }
      if (!seen) {
        if (known_.size() >= 100) known_[rng_() % known_.size()] = lead;
        else known_.push_back(std::move(lead));
      }
    }
  }

  Shared& shared_;
  ThreadStats& stats_;
  net::any_io_executor executor_;
  const Account& account_;
  OrgAudience& audience_;
  std::size_t index_;
  std::mt19937_64 rng_;
  ConnectionPool* pool_;
  std::unique_ptr<HttpConnection> own_http_;  // http: "per-user"
  std::unique_ptr<SocketIoClient> socket_;
  std::vector<KnownLead> known_;
  std::string target_;
  bool last_ok_ = false;
  std::string last_error_;
  Action last_action_ = Action::list;
};

// Every second: the thread's p95 of the last second, for the live line.
net::awaitable<void> publish_recent(ThreadStats& stats, std::atomic<std::int64_t>& p95, const Shared& shared) {
  net::steady_timer timer(co_await net::this_coro::executor);
  while (!shared.over()) {
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(net::use_awaitable);
    p95.store(stats.recent.value_at_percentile(95), std::memory_order_relaxed);
    stats.recent.reset();
  }
}

}  // namespace

std::optional<LeadKey> scan_lead(std::string_view json) {
  LeadKey key;
  key.id = std::string(scan_string(json, "\"id\":\""));
  if (key.id.empty()) return std::nullopt;
  auto at = json.find("\"version\":");
  if (at == std::string_view::npos) return std::nullopt;
  at += 10;
  while (at < json.size() && json[at] >= '0' && json[at] <= '9') key.version = key.version * 10 + (json[at++] - '0');
  key.assigned_to = std::string(scan_string(json, "\"assignedTo\":\""));
  return key;
}

std::vector<std::size_t> organizations_of(const LoadState& state, int worker, int workers) {
  std::vector<std::size_t> mine;
  for (std::size_t o = 0; o < state.organizations.size(); ++o)
    if (static_cast<int>(o % static_cast<std::size_t>(workers)) == worker) mine.push_back(o);
  return mine;
}

StepResult run_step(const RunContext& context, const StepPlan& plan, LiveSlot* live, const std::atomic<bool>& stop) {
  StepResult step;
  step.users = plan.rate > 0 ? 0 : plan.users;
  step.rate = plan.rate;
  auto orgs = organizations_of(*context.state, context.worker, context.workers);
  if (orgs.empty() || plan.users <= 0) return step;

  Shared shared{context, plan, live, stop, ActionPicker(context.scenario)};
  // The accounts this worker's users sign in as: its organizations' accounts, taken in turn
  // across organizations so every team gets users as the count grows.
  std::vector<std::pair<const Account*, OrgAudience*>> seats;
  for (std::size_t i = 0; i < orgs.size(); ++i) {
    shared.audiences.push_back(std::make_unique<OrgAudience>());
  }
  std::size_t longest = 0;
  for (auto o : orgs) longest = std::max(longest, context.state->organizations[o].accounts.size());
  for (std::size_t k = 0; k < longest; ++k)
    for (std::size_t i = 0; i < orgs.size(); ++i) {
      const auto& accounts = context.state->organizations[orgs[i]].accounts;
      if (k < accounts.size()) seats.emplace_back(&accounts[k], shared.audiences[i].get());
    }

  int threads = std::max(1, plan.threads);
  // The io_contexts outlive the users: a user's sockets belong to its context's services.
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<std::unique_ptr<ThreadStats>> stats;
  std::vector<std::unique_ptr<ConnectionPool>> pools;
  std::vector<std::atomic<std::int64_t>> recent_p95(static_cast<std::size_t>(threads));
  std::vector<std::unique_ptr<User>> users;
  for (int t = 0; t < threads; ++t) {
    contexts.push_back(std::make_unique<net::io_context>(1));
    stats.push_back(std::make_unique<ThreadStats>());
    if (context.scenario.http == HttpMode::pooled)
      pools.push_back(std::make_unique<ConnectionPool>(
          contexts.back()->get_executor(), context.target,
          static_cast<std::size_t>(std::max(1, context.scenario.pool_size / threads)), context.sources));
  }
  std::int64_t t0 = now_us();
  std::int64_t ramp_us = static_cast<std::int64_t>(plan.ramp_s * 1e6);
  shared.measure_start_us = t0 + ramp_us;
  shared.measure_end_us = shared.measure_start_us + static_cast<std::int64_t>(plan.hold_s * 1e6);
  shared.schedule = OpenSchedule{shared.measure_start_us, std::max(plan.rate, 1e-9)};
  // Arrivals of the ramp are not sent: lanes start with the hold.
  users.reserve(static_cast<std::size_t>(plan.users));
  for (std::int64_t u = 0; u < plan.users; ++u) {
    auto& seat = seats[static_cast<std::size_t>(u) % seats.size()];
    auto t = static_cast<std::size_t>(u % threads);
    users.push_back(std::make_unique<User>(shared, *stats[t], contexts[t]->get_executor(), *seat.first, *seat.second,
                                           static_cast<std::size_t>(u), pools.empty() ? nullptr : pools[t].get()));
    std::int64_t start_at = t0 + (plan.users > 1 ? ramp_us * u / plan.users : 0);
    User* user = users.back().get();
    net::co_spawn(
        contexts[t]->get_executor(),
        [user, start_at, open = plan.rate > 0]() -> net::awaitable<void> {
          if (open) co_await user->run_open(start_at);
          else co_await user->run_closed(start_at);
        },
        [](std::exception_ptr) {});
  }

  for (int t = 0; t < threads; ++t)
    net::co_spawn(*contexts[static_cast<std::size_t>(t)],
                  publish_recent(*stats[static_cast<std::size_t>(t)], recent_p95[static_cast<std::size_t>(t)], shared),
                  [](std::exception_ptr) {});
  double cpu_start = 0, cpu_end = 0;
  std::int64_t wall_start = 0, wall_end = 0;
  using Guard = net::executor_work_guard<net::io_context::executor_type>;
  std::vector<Guard> guards;
  std::atomic<int> finished{0};
  std::vector<std::thread> runners;
  for (auto& io : contexts) {
    guards.push_back(net::make_work_guard(*io));
    runners.emplace_back([&io, &finished] {
      io->run();
      finished.fetch_add(1);
    });
  }
  // The live p95 and the measurement's CPU window, from this thread.
  while (!stop && now_us() < shared.measure_end_us) {
    if (wall_start == 0 && now_us() >= shared.measure_start_us) {
      wall_start = now_us();
      cpu_start = cpu_seconds();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (live) {
      std::int64_t p95 = 0;
      for (auto& p : recent_p95) p95 = std::max(p95, p.load(std::memory_order_relaxed));
      live->p95_us.store(p95, std::memory_order_relaxed);
    }
  }
  wall_end = now_us();
  cpu_end = cpu_seconds();
  if (wall_start == 0) wall_start = wall_end, cpu_start = cpu_end;
  // Every user's last action is answered (their timeouts bound the wait), then receipts of
  // the last writes get a grace, then the sockets close.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(35);
  while (shared.active_users.load() > 0 && std::chrono::steady_clock::now() < deadline && !stop)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(plan.event_grace_s * 1000)));
  for (std::size_t u = 0; u < users.size(); ++u)
    net::post(*contexts[u % contexts.size()], [user = users[u].get()] { user->stop_socket(); });
  // The contexts run out of work once every coroutine has ended; one that does not within
  // 10 s (a request stuck past its timeout) is stopped.
  guards.clear();
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (finished.load() < threads && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  for (auto& io : contexts) io->stop();
  for (auto& r : runners) r.join();

  step.seconds = static_cast<double>(wall_end - wall_start) / 1e6;
  step.sockets_wanted = shared.sockets_wanted;
  step.sockets_connected = shared.sockets_connected;
  Histogram lag;
  for (auto& s : stats) {
    for (std::size_t a = 0; a < kActions; ++a) {
      if (s->actions[a].ok == 0 && s->actions[a].errors.empty()) continue;
      auto& into = step.actions[std::string(action_name(static_cast<Action>(a)))];
      into.ok += s->actions[a].ok;
      into.latency.merge(s->actions[a].latency);
      for (auto& [k, v] : s->actions[a].errors) into.errors[k] += v;
    }
    if (s->socket.ok > 0 || !s->socket.errors.empty()) {
      auto& into = step.actions["socket"];
      into.ok += s->socket.ok;
      for (auto& [k, v] : s->socket.errors) into.errors[k] += v;
    }
    step.overall.merge(s->overall);
    step.requests += s->requests;
    lag.merge(s->lag);
  }
  for (auto& audience : shared.audiences) audience->ledger.collect(step);
  double wall_s = std::max(1e-3, static_cast<double>(wall_end - wall_start) / 1e6);
  step.generator.cpu_cores = (cpu_end - cpu_start) / wall_s;
  step.generator.schedule_lag_p99_ms = static_cast<double>(lag.value_at_percentile(99)) / 1000.0;
  step.generator.saturated = step.generator.cpu_cores >= 0.9 * threads || step.generator.schedule_lag_p99_ms > 100;
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  step.generator.descriptors_limit = static_cast<std::int64_t>(limit.rlim_cur);
  return step;
}

}  // namespace lms::load

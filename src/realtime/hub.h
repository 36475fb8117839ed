// Hub: every real-time session of this process and who hears what.
//
// It keeps the Engine.IO sessions by id (polling requests and upgrades find theirs here),
// and, for sockets that completed the Socket.IO CONNECT, a receiver registry split into one
// shard per I/O thread: a shard is touched only on its own thread, so a fan-out to 10,000
// sockets runs in parallel on every core without locks, and each event's packet is encoded
// once and shared. Each receiver has a FloodGate; each shard ticks once a second to turn
// counted events into `leads:bulk`.
//
// Audience (API.md, Real-time events): admins and managers hear every lead and import event
// of their organization; an agent hears the events of leads assigned to them, `lead:assigned`
// when a lead leaves them, and the import events of jobs they created. Nobody hears another
// organization.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "realtime/event_bus.h"
#include "realtime/flood.h"
#include "realtime/session.h"

namespace lms::realtime {

struct HubSettings {
  SessionLimits session;
  int bulk_threshold = 20;  // lead events per second per receiver before `leads:bulk`
  // Sessions open without a Socket.IO CONNECT (each costs memory until the connect timeout);
  // beyond it new handshakes are refused with 503. 0: no cap.
  std::size_t max_pending_sessions = 10'000;
  // Engine.IO session ids start with "<prefix>." (the node id: see docs/deploy.md); empty: none.
  std::string sid_prefix;
};

class Hub {
 public:
  Hub(std::vector<asio::io_context*> contexts, EventBus& bus, HubSettings settings);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Starts the shards' ticks; call once the I/O threads are about to run.
  void start();

  // A new Engine.IO session living on `home` (the executor of the request that opened it).
  std::shared_ptr<Session> open_session(asio::any_io_executor home, Transport transport);
  std::shared_ptr<Session> find(const std::string& sid) const;

  // The socket completed CONNECT as `principal`: it now receives its audience's events.
  void join(const std::shared_ptr<Session>& session, const accounts::Principal& principal);
  // The socket sent DISCONNECT (the session may stay open).
  void leave(const std::shared_ptr<Session>& session);

  // Closes every session (graceful shutdown: clients reconnect elsewhere).
  void close_all();

  const HubSettings& settings() const { return settings_; }
  // Sockets that completed CONNECT and are still open (the `realtime_connections` gauge).
  std::int64_t connections() const { return connections_.load(std::memory_order_relaxed); }
  // Engine.IO sessions open, connected or not.
  std::size_t sessions() const;
  // Whether a new session may open (pending sessions under max_pending_sessions); a refusal
  // is counted (realtime_sessions_refused_total).
  bool admit_new_session();
  std::uint64_t refused_sessions() const { return refused_sessions_.load(std::memory_order_relaxed); }
  // `resync` broadcasts sent to this instance's sockets (the bus may have lost events).
  std::uint64_t resyncs() const { return resyncs_.load(std::memory_order_relaxed); }

 private:
  struct Receiver {
    std::shared_ptr<Session> session;
    accounts::Principal principal;
    FloodGate gate;
  };
  struct Shard {
    asio::io_context* context;
    // organization id -> session -> receiver; only touched on the shard's thread.
    std::unordered_map<std::string, std::unordered_map<Session*, Receiver>> by_org;
    std::unique_ptr<asio::steady_timer> tick;
  };

  void on_event(const Event& event);
  void fan_out(Shard& shard, const Event& event, const Packet& packet);
  void tick(Shard& shard);
  void count_into_bulk(Shard& shard, const Event& event);
  void schedule_tick(Shard& shard);
  // Every session's heartbeat, from one timer: a timer and a coroutine per socket would cost
  // more memory than the rest of an idle socket's state.
  void schedule_sweep();
  void sweep();
  void on_session_closed(Session& session);
  Shard& shard_of(const asio::any_io_executor& executor);
  static bool hears(const Receiver& receiver, const Event& event);

  HubSettings settings_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<std::uint64_t> refused_sessions_{0};
  std::atomic<std::uint64_t> resyncs_{0};
  std::atomic<std::int64_t> connections_{0};
  std::unique_ptr<asio::steady_timer> sweeper_;  // on the first shard's context
  std::atomic<bool> stopping_{false};

  mutable std::mutex sessions_mutex_;
  std::unordered_map<std::string, std::shared_ptr<Session>> sessions_;  // by sid; guarded

  std::mutex progress_mutex_;
  ProgressThrottle progress_;  // guarded by progress_mutex_
};

}  // namespace lms::realtime

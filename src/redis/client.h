// Redis through hiredis's asynchronous API, driven by an Asio event loop: no thread ever waits
// on Redis. One Connection is one TCP link (commands, or a subscriber): it connects, selects
// its database, reconnects with backoff for as long as it lives, and bounds what it queues.
//
// Design note. hiredis is single-threaded: every hiredis call happens on the connection's
// io_context (one of the I/O threads). Public calls from other threads post there. hiredis
// tells us which readiness it wants (addRead/addWrite) and we wait for it with a
// stream_descriptor on the socket hiredis owns (released, never closed, by us). A command's
// reply comes back on that thread; commands that cannot be sent (down, queue full) or that
// were in flight when the link broke are answered with an error reply at once, never dropped.
// A link whose oldest command waited past `command_timeout` is treated as dead (a Redis that
// stopped answering but kept its socket open), closed and reconnected.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisAsyncContext;

namespace lms::redis {

namespace asio = boost::asio;

// redis://[:password@]host[:port][/db]  (also redis://user:password@host, the user ignored
// before Redis 6 ACLs; lms sends AUTH password).
struct Url {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  int db = 0;
};
std::optional<Url> parse_url(std::string_view text);
// The URL without its password, for logs.
std::string redacted(const Url& url);

struct Reply {
  enum class Type { nil, integer, string, status, error, array };
  Type type = Type::nil;
  long long integer = 0;
  std::string str;  // string, status and error replies
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::error; }
  static Reply error(std::string message) {
    Reply r;
    r.type = Type::error;
    r.str = std::move(message);
    return r;
  }
};

struct ConnectionSettings {
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{2000};
  std::size_t max_pending = 10'000;  // commands queued or in flight; beyond: refused at once
};

class Connection {
 public:
  using Callback = std::function<void(const Reply&)>;
  // Called on the connection's thread when the link comes up (true) or goes down (false).
  using StateHandler = std::function<void(bool up)>;
  // Subscriber links: (channel, message) for every message of a subscribed channel.
  using MessageHandler = std::function<void(std::string_view channel, std::string_view message)>;

  Connection(asio::io_context& context, Url url, ConnectionSettings settings, std::string name);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Set before start().
  void on_state(StateHandler handler) { state_handler_ = std::move(handler); }
  // Makes this a subscriber link: SUBSCRIBE to `channels` on every (re)connect.
  void subscribe(std::vector<std::string> channels, MessageHandler handler);

  void start();
  // Closes the link and stops reconnecting; pending commands get an error reply. Must be
  // called on the connection's thread or after its io_context stopped running.
  void stop();

  // Any thread. `callback` runs on the connection's thread.
  void command(std::vector<std::string> args, Callback callback);
  // Any thread; resumes the caller on its own executor.
  asio::awaitable<Reply> async_command(std::vector<std::string> args);

  bool up() const { return up_.load(std::memory_order_relaxed); }
  std::uint64_t reconnects() const { return reconnects_.load(std::memory_order_relaxed); }
  std::size_t pending() const { return pending_count_.load(std::memory_order_relaxed); }
  asio::io_context& context() { return context_; }
  const std::string& name() const { return name_; }

 private:
  struct Link;
  struct Pending;

  void connect();
  void schedule_reconnect();
  void link_up();
  void link_down(const char* why);
  void send(std::vector<std::string> args, Callback callback);
  void watch();
  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_message(redisAsyncContext* ac, void* reply, void* privdata);

  asio::io_context& context_;
  const Url url_;
  const ConnectionSettings settings_;
  const std::string name_;
  StateHandler state_handler_;
  std::vector<std::string> channels_;
  MessageHandler message_handler_;

  // Touched on the connection's thread only.
  redisAsyncContext* ac_ = nullptr;
  std::shared_ptr<Link> link_;
  bool connected_ = false;
  bool stopped_ = false;
  bool ever_up_ = false;
  bool reported_down_ = false;
  std::chrono::milliseconds backoff_{0};
  std::deque<std::chrono::steady_clock::time_point> in_flight_;  // sent times, oldest first
  asio::steady_timer retry_timer_;
  asio::steady_timer watchdog_;

  std::atomic<bool> up_{false};
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<std::size_t> pending_count_{0};
};

}  // namespace lms::redis

// Session: one Engine.IO connection (one client), whatever its transport. It owns the
// outbound queue (bounded: a client that cannot keep up is closed, never allowed to grow
// memory), the heartbeat state, and the Socket.IO identity once the client has connected.
//
// Threads: a session is touched from several threads (the fan-out on a hub shard, the HTTP
// requests of a polling client, the WebSocket connection's I/O thread), so its state is
// guarded by one mutex held only for a few instructions. Whoever consumes the queue (a
// pending long-poll or the WebSocket connection) registers a Waker, which posts to its own
// executor when there is something to take. A WebSocket connection also registers itself as
// the session's DirectSink: a packet sent on the connection's own thread while nothing is
// queued goes straight to it, without the queue, the mutex or a wake-up (the fan-out's
// common case: a hub shard delivering to the sockets of its own thread).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "accounts/model.h"
#include "realtime/websocket.h"

namespace lms::realtime {

namespace asio = boost::asio;

// One Engine.IO packet, encoded once for both transports and shared by every receiver of a
// fan-out: its WebSocket frame (header and text in one buffer) and, inside it, its text for a
// polling payload.
class Outbound {
 public:
  explicit Outbound(std::string_view text, ws::Opcode opcode = ws::Opcode::text)
      : wire_(ws::frame(opcode, text)), header_(static_cast<std::uint8_t>(wire_.size() - text.size())) {}
  std::string_view text() const { return std::string_view(wire_).substr(header_); }
  std::string_view frame() const { return wire_; }
  std::size_t size() const { return wire_.size() - header_; }

 private:
  std::string wire_;
  std::uint8_t header_;
};
using Packet = std::shared_ptr<const Outbound>;
inline Packet make_packet(std::string_view text) { return std::make_shared<const Outbound>(text); }

enum class Transport { polling, websocket };

enum class CloseReason {
  client_close,     // the client sent a close packet or closed its transport
  transport_error,  // read or write failed
  ping_timeout,     // no pong within pingTimeout
  protocol_error,   // malformed packet, overlapping polls, oversized payload
  slow_consumer,    // outbound queue over its limit
  server_disconnect,  // the server ended it (deactivated user, shutdown)
  connect_timeout,  // no Socket.IO CONNECT in time
};
const char* to_string(CloseReason reason);

struct SessionLimits {
  std::chrono::milliseconds ping_interval{25'000};
  std::chrono::milliseconds ping_timeout{20'000};
  std::uint64_t max_payload = 1'000'000;
  std::size_t queue_limit_bytes = 1 << 20;
  std::chrono::milliseconds connect_timeout{45'000};  // to complete Socket.IO CONNECT
  // To finish the WebSocket opening handshake, and a polling session's upgrade probe.
  std::chrono::milliseconds handshake_timeout{10'000};
};

// The consumer of a session's queue (a pending long-poll, a WebSocket writer). wake() is
// called with the session's lock held: it must only post work to the consumer's executor.
class Waker {
 public:
  virtual ~Waker() = default;
  // Packets arrived, or the session closed (`closing`).
  virtual void wake(bool closing) = 0;
};

// A WebSocket connection taking packets directly (see Session::send). Its functions are
// called on the connection's own thread only.
class DirectSink {
 public:
  virtual ~DirectSink() = default;
  virtual bool on_own_thread() const = 0;
  // Writes the packet's frame, or keeps it for a write in progress.
  virtual void deliver(const Packet& packet) = 0;
};

// A Waker that cancels a timer the consumer waits on.
class TimerWaker final : public Waker, public std::enable_shared_from_this<TimerWaker> {
 public:
  explicit TimerWaker(asio::any_io_executor executor) : timer_(executor, asio::steady_timer::time_point::max()) {}
  void wake(bool) override;
  // Waits until woken (returns at once if a wake was posted before).
  asio::awaitable<void> wait();

 private:
  asio::steady_timer timer_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  using CloseHandler = std::function<void(Session&)>;

  Session(std::string sid, Transport transport, asio::any_io_executor home, const SessionLimits& limits,
          CloseHandler on_close);

  const std::string& sid() const { return sid_; }
  const SessionLimits& limits() const { return limits_; }
  asio::any_io_executor home() const { return home_; }

  // Queues a packet for the client. Returns false when the session is closed; closes it
  // (slow consumer) when the queue would exceed its byte limit.
  bool send(Packet packet);
  bool send(std::string_view packet) { return send(make_packet(packet)); }

  struct Batch {
    std::vector<Packet> packets;
    bool closed = false;
  };
  // Takes every queued packet (the queue is then empty), and whether the session is closed.
  Batch take();

  // The consumer, woken when packets arrive or the session closes. At most one at a time.
  void set_waker(std::shared_ptr<Waker> waker);
  void clear_waker(const std::shared_ptr<Waker>& waker);
  // The WebSocket connection of this session, or nullptr; set and cleared on its own thread.
  void set_sink(DirectSink* sink) { sink_.store(sink, std::memory_order_release); }

  // Idempotent; wakes the consumer and runs the close handler once.
  void close(CloseReason reason);
  // Sends the Socket.IO DISCONNECT and closes once the client has taken it: a close in the
  // same polling payload would make the stock client report "transport close" (and
  // reconnect) instead of "io server disconnect".
  void disconnect(CloseReason reason);
  bool closed() const;
  std::optional<CloseReason> close_reason() const;

  // Transport state.
  Transport transport() const;
  bool begin_poll();  // false when another poll is pending (a protocol error)
  void end_poll();
  bool begin_upgrade();  // false unless polling and not already upgrading
  void finish_upgrade();  // the transport is now the WebSocket
  void abort_upgrade();

  // Heartbeat, driven by the hub's sweep (no timer or coroutine per session): sends a ping
  // when one is due, closes the session when a pong or the Socket.IO CONNECT is overdue.
  void heartbeat(std::chrono::steady_clock::time_point now);
  void pong_received();

  // Socket.IO identity, set on a successful CONNECT.
  void set_principal(accounts::Principal principal);
  // Clears the identity and returns it (nullopt if there was none), so exactly one of a
  // DISCONNECT and a close accounts for the socket leaving.
  std::optional<accounts::Principal> take_principal();
  std::optional<accounts::Principal> principal() const;

  // Approximate bytes queued now (for tests and metrics).
  std::size_t queued_bytes() const;

 private:
  void wake_locked(bool closing = false);

  const std::string sid_;
  const asio::any_io_executor home_;
  const SessionLimits limits_;
  CloseHandler on_close_;

  std::atomic<DirectSink*> sink_{nullptr};
  // Read without the mutex by send()'s direct path; written under it.
  std::atomic<std::size_t> queued_count_{0};
  std::atomic<bool> closing_{false};

  mutable std::mutex mutex_;
  std::vector<Packet> queue_;
  std::size_t queued_bytes_ = 0;
  std::shared_ptr<Waker> waker_;
  bool wake_posted_ = false;
  Transport transport_;
  bool polling_now_ = false;
  bool upgrading_ = false;
  const std::chrono::steady_clock::time_point opened_at_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point next_ping_at_ = opened_at_ + limits_.ping_interval;
  std::optional<std::chrono::steady_clock::time_point> pong_due_;  // a ping is unanswered
  std::optional<CloseReason> closed_;
  std::optional<CloseReason> close_when_flushed_;
  std::optional<accounts::Principal> principal_;
};

}  // namespace lms::realtime

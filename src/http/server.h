// The HTTP/1.1 server: one acceptor, one io_context per I/O thread, one coroutine per
// connection. Each connection reads a request within its timeouts and size limits, hands it
// to the RequestHandler, writes the answer, and loops while keep-alive holds.
//
// Timeouts: `idle` bounds the wait for the first byte of a request, `header` the time to
// receive the rest of the header, `body` the time to receive the body. A client that
// trickles bytes cannot stretch any of them.
//
// Draining (graceful shutdown): stop accepting, close idle connections at once, let
// in-flight requests finish and answer them with `Connection: close`.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/beast/core/tcp_stream.hpp>

#include "http/types.h"

namespace lms::http {

struct ServerLimits {
  std::size_t header_limit = 16 * 1024;
  std::size_t body_limit = 1024 * 1024;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  // Connections open at once, WebSockets included; beyond it a new connection gets 503 and is
  // closed while existing ones keep working. 0: no cap.
  std::size_t max_connections = 0;
};

struct ClientInfo {
  std::string address;
  // A request body the server spooled to disk (an upload), or empty. The handler that keeps
  // the file moves it away; otherwise the server removes it after the handler.
  std::string body_file;
};

// Where to spool the body of a request whose body must not be held in memory (uploads), or
// nullopt for an ordinary request. Decided from the header alone; `reject` may refuse the
// request before its body is read (e.g. 401 for a missing token).
struct UploadTarget {
  std::string file;
  std::size_t limit = 0;
};
struct UploadDecision {
  std::optional<UploadTarget> target;
  std::optional<std::pair<int, std::string>> reject;  // status, code
};
using UploadPolicy = std::function<UploadDecision(const Request&)>;

// Counts one accepted connection against --max-connections from the moment it is accepted
// until it is closed, whoever owns it then: the HTTP server, or the WebSocket it was handed
// over to (the slot moves with the socket). One counter for both, so a connection being
// handed over is never counted twice or not at all. Safe to outlive the Server: the counters
// are shared.
class ConnectionSlot {
 public:
  struct Counters {
    std::atomic<std::size_t> total{0};     // every open connection: the cap counts these
    std::atomic<std::size_t> upgraded{0};  // those handed over on upgrade
  };
  ConnectionSlot() = default;
  explicit ConnectionSlot(std::shared_ptr<Counters> counters) : counters_(std::move(counters)) {
    if (counters_) counters_->total.fetch_add(1, std::memory_order_relaxed);
  }
  ConnectionSlot(ConnectionSlot&& other) noexcept
      : counters_(std::move(other.counters_)), upgraded_(std::exchange(other.upgraded_, false)) {}
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ~ConnectionSlot() {
    if (!counters_) return;
    if (upgraded_) counters_->upgraded.fetch_sub(1, std::memory_order_relaxed);
    counters_->total.fetch_sub(1, std::memory_order_relaxed);
  }
  // The connection is (or is no longer) a WebSocket: for the http_upgraded_connections gauge.
  void set_upgraded(bool upgraded) {
    if (!counters_ || upgraded == upgraded_) return;
    upgraded_ = upgraded;
    if (upgraded) counters_->upgraded.fetch_add(1, std::memory_order_relaxed);
    else counters_->upgraded.fetch_sub(1, std::memory_order_relaxed);
  }
  explicit operator bool() const { return counters_ != nullptr; }

 private:
  std::shared_ptr<Counters> counters_;
  bool upgraded_ = false;
};

// Offered every request that asks for a protocol upgrade (WebSocket). Returns true when it
// took the connection over (it moved from the stream, and took the slot); the server then
// forgets it.
using UpgradeHandler = std::function<bool(Request&, beast::tcp_stream&, ConnectionSlot&)>;

using RequestHandler = std::function<asio::awaitable<Reply>(Request&, const ClientInfo&)>;
// Called for requests the server answers itself (oversized, malformed): status and reason.
using RejectLogger =
    std::function<void(int status, std::string_view reason, const ClientInfo&, std::string_view request_id)>;

class Server {
 public:
  Server(std::vector<asio::io_context*> contexts, ServerLimits limits, RequestHandler handler,
         RejectLogger on_reject = {});
  ~Server();

  // Binds and listens; returns the bound port (useful with port 0).
  std::uint16_t listen(const std::string& address, std::uint16_t port);
  void start();
  void set_upgrade_handler(UpgradeHandler handler) { upgrade_ = std::move(handler); }
  void set_upload_policy(UploadPolicy policy) { upload_ = std::move(policy); }
  // Stops accepting and closes idle connections. In-flight requests finish.
  void begin_drain();
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  // HTTP connections (the drain waits for these), and connections handed over on upgrade.
  // Derived from the slots: every open connection less those handed over.
  std::size_t open_connections() const {
    std::size_t upgraded = slots_->upgraded.load(std::memory_order_relaxed);
    std::size_t total = slots_->total.load(std::memory_order_relaxed);
    return total > upgraded ? total - upgraded : 0;
  }
  std::size_t upgraded_connections() const { return slots_->upgraded.load(std::memory_order_relaxed); }
  // Every connection open, HTTP or handed over: what --max-connections caps.
  std::size_t total_connections() const { return slots_->total.load(std::memory_order_relaxed); }
  // Connections refused at the cap (--max-connections) since start.
  std::size_t refused_connections() const { return refused_connections_.load(std::memory_order_relaxed); }
  // Prometheus series: http_connections, http_upgraded_connections, http_connections_refused_total.
  void write_metrics(std::string& out) const;

 private:
  struct Connection;
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> refuse_connection(asio::ip::tcp::socket socket);
  asio::awaitable<void> serve(std::shared_ptr<Connection> conn);
  asio::awaitable<bool> write_streamed(Connection& conn, Response& head, std::string_view head_lines,
                                       const StreamBody& body, bool head_only);
  asio::awaitable<bool> read_request(Connection& conn, bhttp::request_parser<bhttp::string_body>& parser,
                                     bool& rejected, std::optional<Request>& spooled, ClientInfo& info);
  asio::awaitable<bool> read_upload(Connection& conn, bhttp::request_parser<bhttp::string_body>& parser,
                                    const UploadTarget& target, std::optional<Request>& spooled, ClientInfo& info,
                                    bool& rejected);

  std::vector<asio::io_context*> contexts_;
  ServerLimits limits_;
  RequestHandler handler_;
  RejectLogger on_reject_;
  UpgradeHandler upgrade_;
  UploadPolicy upload_;
  asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> draining_{false};
  std::chrono::steady_clock::time_point last_accept_warning_{};  // acceptor's thread only
  std::shared_ptr<ConnectionSlot::Counters> slots_ = std::make_shared<ConnectionSlot::Counters>();
  std::atomic<std::size_t> refused_connections_{0};
  std::mutex connections_mutex_;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections_;  // guarded by connections_mutex_
};

}  // namespace lms::http

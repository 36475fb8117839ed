// The load generator's own network clients, on Boost.Asio/Beast coroutines so one process
// holds tens of thousands of users: a keep-alive HTTP/1.1 connection (reconnects after an
// error) and a Socket.IO v5 / Engine.IO v4 client over the websocket transport that answers
// pings and hands every event to a callback. They speak only the public contract
// (../shared/API.md); nothing here links the server.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace lms::load {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

using Clock = std::chrono::steady_clock;
inline std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
}

// Where the server is: parsed from `http://host:port` (https is not supported: a load test of
// TLS belongs in front of lms, at the proxy).
struct Target {
  std::string host;
  std::uint16_t port = 80;
  tcp::endpoint endpoint;  // resolved once
  std::string host_header;
};
// Throws std::invalid_argument with a clear message for anything but http://host[:port][/].
Target parse_target(const std::string& url);

struct HttpAnswer {
  int status = 0;  // 0: no answer (see error)
  std::string error;  // "connect", "timeout", "closed", ... when status is 0
  std::string body;
  std::string location, retry_after, ratelimit_limit, ratelimit_remaining, ratelimit_reset;
};

// One keep-alive connection. Not thread-safe: one request at a time, on its executor.
class HttpConnection {
 public:
  HttpConnection(net::any_io_executor executor, const Target& target, std::optional<net::ip::address> source,
                 std::chrono::milliseconds timeout);
  net::awaitable<HttpAnswer> request(std::string_view method, std::string_view target_path, std::string_view token,
                                     std::string_view body = {}, std::string_view content_type = "application/json");
  bool open() const { return stream_ != nullptr; }

 private:
  net::awaitable<bool> connect();

  net::any_io_executor executor_;
  const Target& target_;
  std::optional<net::ip::address> source_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

// A Socket.IO client. connect() does the websocket handshake, Engine.IO open and Socket.IO
// CONNECT with `{"token": ...}`; run() then reads until the socket closes or stop() is called,
// answering pings and calling on_event(name, payload JSON, receipt time in µs) for each
// `42["name", payload]` packet.
class SocketIoClient {
 public:
  using EventHandler = std::function<void(std::string_view name, std::string_view payload, std::int64_t at_us)>;
  SocketIoClient(net::any_io_executor executor, const Target& target, std::optional<net::ip::address> source);
  // Returns "" on success, else why it failed ("connect_error: unauthorized", "timeout", ...).
  net::awaitable<std::string> connect(const std::string& token, std::chrono::milliseconds timeout);
  net::awaitable<void> run(EventHandler on_event);
  void stop();
  bool connected() const { return connected_; }

 private:
  using Stream = beast::websocket::stream<beast::tcp_stream>;
  net::any_io_executor executor_;
  const Target& target_;
  std::optional<net::ip::address> source_;
  std::unique_ptr<Stream> ws_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
};

// Splits `42["name",payload]` into name and payload; nullopt for anything else.
std::optional<std::pair<std::string_view, std::string_view>> split_event(std::string_view packet);

}  // namespace lms::load

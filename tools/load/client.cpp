// The HTTP and Socket.IO clients of lms-load (see client.h).
#include "client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <stdexcept>

namespace lms::load {

namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using boost::system::error_code;
using net::use_awaitable;

Target parse_target(const std::string& url) {
  constexpr std::string_view scheme = "http://";
  if (url.rfind(scheme, 0) != 0) throw std::invalid_argument("--url must start with http:// (got '" + url + "')");
  std::string rest = url.substr(scheme.size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos)
    throw std::invalid_argument("--url must be http://host[:port] without a path (got '" + url + "')");
  Target t;
  auto colon = rest.rfind(':');
  t.host = colon == std::string::npos ? rest : rest.substr(0, colon);
  if (colon != std::string::npos) {
    int port = 0;
    try {
      port = std::stoi(rest.substr(colon + 1));
    } catch (const std::exception&) {
      port = 0;
    }
    if (port <= 0 || port > 65535) throw std::invalid_argument("--url has a bad port: '" + url + "'");
    t.port = static_cast<std::uint16_t>(port);
  }
  net::io_context io;
  tcp::resolver resolver(io);
  error_code ec;
  auto results = resolver.resolve(t.host, std::to_string(t.port), ec);
  if (ec || results.empty()) throw std::invalid_argument("cannot resolve " + t.host + ": " + ec.message());
  t.endpoint = *results.begin();
  t.host_header = t.host + ":" + std::to_string(t.port);
  return t;
}

namespace {

// Opens `socket`, bound to `source` when given (the port is chosen at connect time, per
// destination, so many sockets can share one source address), and connects it.
net::awaitable<error_code> open_and_connect(beast::tcp_stream& stream, const Target& target,
                                            const std::optional<net::ip::address>& source) {
  error_code ec;
  auto& socket = stream.socket();
  socket.open(target.endpoint.protocol(), ec);
  if (ec) co_return ec;
  if (source) {
    int one = 1;
    ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    socket.bind(tcp::endpoint(*source, 0), ec);
    if (ec) co_return ec;
  }
  co_await stream.async_connect(target.endpoint, net::redirect_error(use_awaitable, ec));
  if (!ec) socket.set_option(tcp::no_delay(true), ec);
  co_return ec;
}

std::string header(const bhttp::response<bhttp::string_body>& res, std::string_view name) {
  auto it = res.find(name);
  return it == res.end() ? std::string() : std::string(it->value());
}

}  // namespace

HttpConnection::HttpConnection(net::any_io_executor executor, const Target& target,
                               std::optional<net::ip::address> source, std::chrono::milliseconds timeout)
    : executor_(std::move(executor)), target_(target), source_(std::move(source)), timeout_(timeout) {}

net::awaitable<bool> HttpConnection::connect() {
  stream_ = std::make_unique<beast::tcp_stream>(executor_);
  buffer_.clear();
  stream_->expires_after(timeout_);
  auto ec = co_await open_and_connect(*stream_, target_, source_);
  if (ec) {
    stream_.reset();
    co_return false;
  }
  co_return true;
}

net::awaitable<HttpAnswer> HttpConnection::request(std::string_view method, std::string_view path,
                                                   std::string_view token, std::string_view body,
                                                   std::string_view content_type) {
  HttpAnswer answer;
  // One retry on a kept-alive connection the server closed meanwhile (idle timeout): the
  // request never reached it, so sending it again is safe.
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = stream_ != nullptr;
    if (!stream_ && !co_await connect()) {
      answer.error = "connect";
      co_return answer;
    }
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), std::string(path), 11};
    req.set(bhttp::field::host, target_.host_header);
    if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + std::string(token));
    if (!body.empty() || method == "POST" || method == "PATCH") {
      req.set(bhttp::field::content_type, content_type);
      req.body() = std::string(body);
      req.prepare_payload();
    }
    req.keep_alive(true);
    error_code ec;
    stream_->expires_after(timeout_);
    co_await bhttp::async_write(*stream_, req, net::redirect_error(use_awaitable, ec));
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64u << 20);
    if (!ec) co_await bhttp::async_read(*stream_, buffer_, parser, net::redirect_error(use_awaitable, ec));
    if (ec) {
      stream_.reset();
      if (reused && ec != beast::error::timeout && attempt == 0) continue;
      answer.error = ec == beast::error::timeout ? "timeout" : "closed";
      co_return answer;
    }
    auto& res = parser.get();
    answer.status = res.result_int();
    answer.location = header(res, "Location");
    answer.retry_after = header(res, "Retry-After");
    answer.ratelimit_limit = header(res, "RateLimit-Limit");
    answer.ratelimit_remaining = header(res, "RateLimit-Remaining");
    answer.ratelimit_reset = header(res, "RateLimit-Reset");
    answer.body = std::move(res.body());
    if (!res.keep_alive()) stream_.reset();
    co_return answer;
  }
  co_return answer;
}

SocketIoClient::SocketIoClient(net::any_io_executor executor, const Target& target,
                               std::optional<net::ip::address> source)
    : executor_(std::move(executor)), target_(target), source_(std::move(source)) {}

std::optional<std::pair<std::string_view, std::string_view>> split_event(std::string_view packet) {
  // 42["name",{...}]  (default namespace, no ack id)
  if (!packet.starts_with("42[\"") || packet.back() != ']') return std::nullopt;
  auto name_end = packet.find('"', 4);
  if (name_end == std::string_view::npos) return std::nullopt;
  auto name = packet.substr(4, name_end - 4);
  auto rest = packet.substr(name_end + 1);
  if (rest.size() < 2 || rest[0] != ',') return std::pair{name, std::string_view{}};
  return std::pair{name, rest.substr(1, rest.size() - 2)};
}

net::awaitable<std::string> SocketIoClient::connect(const std::string& token, std::chrono::milliseconds timeout) {
  ws_ = std::make_unique<Stream>(executor_);
  auto& stream = beast::get_lowest_layer(*ws_);
  stream.expires_after(timeout);
  if (auto ec = co_await open_and_connect(stream, target_, source_)) co_return "connect: " + ec.message();
  stream.expires_never();
  ws_->set_option(websocket::stream_base::timeout{timeout, std::chrono::seconds(60), false});
  ws_->read_message_max(4u << 20);
  error_code ec;
  co_await ws_->async_handshake(target_.host_header, "/socket.io/?EIO=4&transport=websocket",
                                net::redirect_error(use_awaitable, ec));
  if (ec) co_return "websocket handshake: " + ec.message();
  ws_->text(true);
  auto read = [&]() -> net::awaitable<std::string_view> {
    buffer_.clear();
    co_await ws_->async_read(buffer_, net::redirect_error(use_awaitable, ec));
    co_return std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  };
  auto open = co_await read();
  if (ec) co_return "engine.io open: " + ec.message();
  if (!open.starts_with("0{")) co_return "engine.io open: unexpected packet";
  std::string connect_packet = "40{\"token\":\"" + token + "\"}";
  co_await ws_->async_write(net::buffer(connect_packet), net::redirect_error(use_awaitable, ec));
  if (ec) co_return "socket.io connect: " + ec.message();
  for (;;) {
    auto reply = co_await read();
    if (ec) co_return "socket.io connect: " + ec.message();
    if (reply == "2") {
      co_await ws_->async_write(net::buffer("3", 1), net::redirect_error(use_awaitable, ec));
      continue;
    }
    if (reply.starts_with("40")) break;
    if (reply.starts_with("44")) co_return "connect_error: " + std::string(reply.substr(2, 80));
  }
  connected_ = true;
  co_return std::string();
}

net::awaitable<void> SocketIoClient::run(EventHandler on_event) {
  error_code ec;
  while (ws_ && connected_) {
    buffer_.clear();
    co_await ws_->async_read(buffer_, net::redirect_error(use_awaitable, ec));
    if (ec) break;
    std::int64_t at = now_us();
    std::string_view msg(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    if (msg == "2") {
      co_await ws_->async_write(net::buffer("3", 1), net::redirect_error(use_awaitable, ec));
      if (ec) break;
    } else if (auto event = split_event(msg)) {
      on_event(event->first, event->second, at);
    } else if (msg.starts_with("41") || msg.starts_with("1")) {
      break;  // Socket.IO DISCONNECT or Engine.IO close
    }
  }
  connected_ = false;
  // Destroying the stream cancels its idle-timeout timer, which would otherwise keep the
  // io_context busy for up to a minute after the socket closed.
  error_code ignored;
  if (ws_) beast::get_lowest_layer(*ws_).socket().close(ignored);
  ws_.reset();
}

void SocketIoClient::stop() {
  if (!ws_) return;
  error_code ignored;
  beast::get_lowest_layer(*ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
  beast::get_lowest_layer(*ws_).socket().close(ignored);
}

}  // namespace lms::load

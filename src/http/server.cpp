#include "http/server.h"

#include "ops/log.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http/file_body.hpp>

#include <array>
#include <filesystem>
#include <limits>

namespace lms::http {

using tcp = asio::ip::tcp;
using boost::system::error_code;

struct Server::Connection {
  Connection(tcp::socket socket, ConnectionSlot slot) : stream(std::move(socket)), slot(std::move(slot)) {}
  beast::tcp_stream stream;
  ConnectionSlot slot;  // taken at accept; moves to the new owner on upgrade
  beast::flat_buffer buffer;
  bool idle = true;  // touched only on the connection's own I/O thread
  ClientInfo client;
  std::string head;  // the serialized status line and fields of the response being written
};

namespace {

// The status line and fields in one flat buffer, written with the body as two pieces. Beast's
// serializer walks a buffer sequence of several pieces per field, which costs more than the
// copy (about 5% of a small request's CPU); prepare_payload() has set the framing fields.
void serialize_head(const Response& response, std::string_view extra_lines, std::string& out) {
  out.clear();
  out += response.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  char code[4] = {static_cast<char>('0' + response.result_int() / 100 % 10),
                  static_cast<char>('0' + response.result_int() / 10 % 10),
                  static_cast<char>('0' + response.result_int() % 10), ' '};
  out.append(code, sizeof code);
  auto reason = response.reason();
  out += reason.empty() ? bhttp::obsolete_reason(response.result()) : reason;
  out += "\r\n";
  for (const auto& field : response) {
    out += field.name_string();
    out += ": ";
    out += field.value();
    out += "\r\n";
  }
  out += extra_lines;
  out += "\r\n";
}

}  // namespace

Server::Server(std::vector<asio::io_context*> contexts, ServerLimits limits, RequestHandler handler,
               RejectLogger on_reject)
    : contexts_(std::move(contexts)),
      limits_(limits),
      handler_(std::move(handler)),
      on_reject_(std::move(on_reject)),
      acceptor_(*contexts_.at(0)) {}

Server::~Server() {
  error_code ec;
  acceptor_.close(ec);
}

std::uint16_t Server::listen(const std::string& address, std::uint16_t port) {
  tcp::endpoint endpoint(asio::ip::make_address(address), port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  return acceptor_.local_endpoint().port();
}

void Server::write_metrics(std::string& out) const {
  out += "# HELP http_connections HTTP connections open (WebSockets handed to the real-time hub not included).\n";
  out += "# TYPE http_connections gauge\nhttp_connections " + std::to_string(open_connections()) + "\n";
  out += "# HELP http_upgraded_connections Connections handed over on upgrade (WebSockets), open.\n";
  out += "# TYPE http_upgraded_connections gauge\nhttp_upgraded_connections " + std::to_string(upgraded_connections()) + "\n";
  out += "# HELP http_connections_refused_total Connections refused with 503 at --max-connections.\n";
  out += "# TYPE http_connections_refused_total counter\nhttp_connections_refused_total " +
         std::to_string(refused_connections()) + "\n";
}

void Server::start() { asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached); }

void Server::begin_drain() {
  if (draining_.exchange(true)) return;
  asio::post(acceptor_.get_executor(), [this] {
    error_code ec;
    acceptor_.close(ec);
  });
  std::lock_guard lock(connections_mutex_);
  for (auto& [raw, weak] : connections_) {
    if (auto conn = weak.lock()) {
      asio::post(conn->stream.get_executor(), [conn] {
        if (conn->idle) conn->stream.cancel();
      });
    }
  }
}

asio::awaitable<void> Server::accept_loop() {
  std::size_t next = 0;
  while (!draining_) {
    error_code ec;
    asio::any_io_executor target = contexts_[next++ % contexts_.size()]->get_executor();
    tcp::socket socket = co_await acceptor_.async_accept(target, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open() || ec == asio::error::operation_aborted) co_return;
      // Out of file descriptors or a transient error: back off briefly instead of spinning,
      // and tell the operator (at most once a minute): new connections wait meanwhile.
      auto now = std::chrono::steady_clock::now();
      if (now - last_accept_warning_ > std::chrono::minutes(1)) {
        last_accept_warning_ = now;
        ops::LogLine("accept failed; new connections wait")
            .str("error", ec.message())
            .num("open_connections", static_cast<std::int64_t>(open_connections()))
            .warn();
      }
      asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    // The slot is taken here, on the acceptor's thread, before the next accept: the count the
    // cap reads is exact however the connection's own coroutine is scheduled.
    if (limits_.max_connections > 0 && total_connections() >= limits_.max_connections) {
      asio::co_spawn(target, refuse_connection(std::move(socket)), asio::detached);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_shared<Connection>(std::move(socket), ConnectionSlot(slots_));
    auto remote = conn->stream.socket().remote_endpoint(ec);
    if (!ec) conn->client.address = remote.address().to_string();
    {
      std::lock_guard lock(connections_mutex_);
      connections_.emplace(conn.get(), conn);
    }
    asio::co_spawn(conn->stream.get_executor(), serve(conn), asio::detached);
  }
}

// Over the connection cap: a short 503 (the contract's error body) and a clean close, so the
// client sees why instead of a reset.
asio::awaitable<void> Server::refuse_connection(tcp::socket socket) {
  static constexpr std::string_view kBody = R"({"error":{"code":"unavailable","message":"too many connections"}})";
  static const std::string kResponse =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
      "Connection: close\r\nContent-Length: " + std::to_string(kBody.size()) + "\r\n\r\n" + std::string(kBody);
  refused_connections_.fetch_add(1, std::memory_order_relaxed);
  beast::tcp_stream stream(std::move(socket));
  stream.expires_after(std::chrono::seconds(2));
  error_code ec;
  co_await asio::async_write(stream, asio::buffer(kResponse), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  // Shut down our side, then wait (briefly) for the client's close: closing with its request
  // unread would reset the connection, and a reset can discard the 503 before the client reads it.
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, 4096> sink;
  std::size_t discarded = 0;
  while (!ec && discarded < (1u << 20))
    discarded += co_await stream.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
  stream.close();
}

namespace {

// Bounds one read without closing the socket when time runs out. Beast's own expiry closes
// the socket, which leaves no way to answer 408; this timer cancels the pending read
// instead, and expired() tells the caller it was the timer. The handler runs on the
// connection's own thread, as do the constructor and destructor, so `cancelled` needs no
// lock, and it keeps the handler off the stream once the read is over.
class ReadDeadline {
 public:
  ReadDeadline(beast::tcp_stream& stream, std::chrono::milliseconds after) : timer_(stream.get_executor()) {
    stream.expires_never();
    timer_.expires_after(after);
    timer_.async_wait([&stream, state = state_](error_code ec) {
      if (ec || state->cancelled) return;
      state->expired = true;
      error_code ignored;
      stream.socket().cancel(ignored);
    });
  }
  ~ReadDeadline() {
    state_->cancelled = true;
    timer_.cancel();
  }
  ReadDeadline(const ReadDeadline&) = delete;
  ReadDeadline& operator=(const ReadDeadline&) = delete;
  bool expired() const { return state_->expired; }

 private:
  struct State {
    bool expired = false;
    bool cancelled = false;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
  asio::steady_timer timer_;
};

// Writes a response the server produced itself, then closes gently: the client may still be
// sending (an oversized body), and closing with unread data would reset the connection
// before it reads our answer.
asio::awaitable<void> reject_and_close(beast::tcp_stream& stream, beast::flat_buffer& buffer, Response res,
                                       std::string_view request_id) {
  error_code ec;
  res.set("X-Request-Id", request_id);
  res.keep_alive(false);
  res.prepare_payload();
  stream.expires_after(std::chrono::seconds(5));
  co_await bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(std::chrono::seconds(2));
  std::size_t discarded = 0;
  while (!ec && discarded < (8u << 20)) {
    buffer.consume(buffer.size());
    discarded += co_await stream.async_read_some(buffer.prepare(64 * 1024), asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace

asio::awaitable<bool> Server::read_request(Connection& conn, bhttp::request_parser<bhttp::string_body>& parser,
                                           bool& rejected, std::optional<Request>& spooled, ClientInfo& info) {
  error_code ec;
  conn.idle = true;
  if (conn.buffer.size() == 0) {
    conn.stream.expires_after(limits_.idle_timeout);
    std::size_t n = co_await conn.stream.async_read_some(conn.buffer.prepare(4096),
                                                         asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
    conn.buffer.commit(n);
  }
  conn.idle = false;

  // The answers the server gives itself carry a request id too, so a client's report of a
  // 400/408/413/431 can be matched with the log line.
  auto reject = [&](int status, std::string_view code, std::string_view message) -> asio::awaitable<bool> {
    rejected = true;
    std::string request_id = choose_request_id(parser.get()["X-Request-Id"]);
    if (on_reject_) on_reject_(status, code, conn.client, request_id);
    co_await reject_and_close(conn.stream, conn.buffer, error_response(status, code, message), request_id);
    co_return false;
  };

  bool header_late = false;
  {
    ReadDeadline deadline(conn.stream, limits_.header_timeout);
    co_await bhttp::async_read_header(conn.stream, conn.buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    header_late = deadline.expired();
  }
  if (header_late)
    co_return co_await reject(408, "request_timeout", "request headers not received in time");
  if (ec == bhttp::error::header_limit)
    co_return co_await reject(431, "request_header_fields_too_large", "request headers are too large");
  if (ec == bhttp::error::body_limit)
    co_return co_await reject(413, "payload_too_large", "request body is too large");
  if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::operation_aborted ||
      ec == asio::error::connection_reset)
    co_return false;
  if (ec) co_return co_await reject(400, "bad_request", "malformed HTTP request");

  if (!parser.is_done() && upload_) {
    auto decision = upload_(parser.get());
    if (decision.reject)
      co_return co_await reject(decision.reject->first, decision.reject->second, "the request was refused");
    if (decision.target) co_return co_await read_upload(conn, parser, *decision.target, spooled, info, rejected);
  }
  if (auto length = parser.content_length(); length && *length > limits_.body_limit)
    co_return co_await reject(413, "payload_too_large", "request body is too large");
  parser.body_limit(limits_.body_limit);
  if (!parser.is_done()) {
    if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
      co_await bhttp::async_write(conn.stream, cont, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return false;
    }
    bool body_late = false;
    {
      ReadDeadline deadline(conn.stream, limits_.body_timeout);
      co_await bhttp::async_read(conn.stream, conn.buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      body_late = deadline.expired();
    }
    if (body_late) co_return co_await reject(408, "request_timeout", "request body not received in time");
    if (ec == bhttp::error::body_limit)
      co_return co_await reject(413, "payload_too_large", "request body is too large");
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset)
      co_return false;
    if (ec) co_return co_await reject(400, "bad_request", "malformed HTTP request body");
  }
  co_return true;
}

asio::awaitable<bool> Server::read_upload(Connection& conn, bhttp::request_parser<bhttp::string_body>& parser,
                                          const UploadTarget& target, std::optional<Request>& spooled,
                                          ClientInfo& info, bool& rejected) {
  std::string request_id = choose_request_id(parser.get()["X-Request-Id"]);
  auto reject = [&](int status, std::string_view code, std::string_view message) -> asio::awaitable<bool> {
    rejected = true;
    std::error_code ignored;
    std::filesystem::remove(target.file, ignored);
    if (on_reject_) on_reject_(status, code, conn.client, request_id);
    co_await reject_and_close(conn.stream, conn.buffer, error_response(status, code, message), request_id);
    co_return false;
  };
  error_code ec;
  auto length = parser.content_length();
  if (length && *length > target.limit)
    co_return co_await reject(413, "payload_too_large", "the upload is larger than the limit");
  bhttp::request_parser<bhttp::file_body> file_parser{std::move(parser)};
  file_parser.body_limit(target.limit);
  file_parser.get().body().open(target.file.c_str(), beast::file_mode::write, ec);
  if (ec) co_return co_await reject(500, "internal", "cannot store the upload");
  if (beast::iequals(file_parser.get()[bhttp::field::expect], "100-continue")) {
    bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
    co_await bhttp::async_write(conn.stream, cont, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
  }
  // An upload may take longer than a JSON body; the body timeout bounds each stretch without
  // progress instead of the whole transfer.
  while (!file_parser.is_done()) {
    bool stalled = false;
    {
      ReadDeadline deadline(conn.stream, limits_.body_timeout);
      co_await bhttp::async_read_some(conn.stream, conn.buffer, file_parser,
                                      asio::redirect_error(asio::use_awaitable, ec));
      stalled = deadline.expired();
    }
    if (stalled) co_return co_await reject(408, "request_timeout", "upload stalled");
    if (ec == bhttp::error::body_limit)
      co_return co_await reject(413, "payload_too_large", "the upload is larger than the limit");
    if (ec) {
      std::error_code ignored;
      std::filesystem::remove(target.file, ignored);
      co_return false;
    }
  }
  file_parser.get().body().file().close(ec);
  auto& header = file_parser.get().base();
  spooled.emplace();
  spooled->base() = std::move(header);
  info.body_file = target.file;
  co_return true;
}

namespace {

// Sends each piece as one HTTP chunk; every write has the body timeout, so a client that
// stops reading cannot hold the export (and its database cursor) open.
class SocketChunkWriter final : public ChunkWriter {
 public:
  SocketChunkWriter(beast::tcp_stream& stream, std::chrono::milliseconds timeout) : stream_(stream), timeout_(timeout) {}
  asio::awaitable<bool> write(std::string chunk) override {
    if (failed_ || chunk.empty()) co_return !failed_;
    error_code ec;
    stream_.expires_after(timeout_);
    co_await asio::async_write(stream_, bhttp::make_chunk(asio::buffer(chunk)),
                               asio::redirect_error(asio::use_awaitable, ec));
    failed_ = static_cast<bool>(ec);
    co_return !failed_;
  }
  bool failed() const { return failed_; }

 private:
  beast::tcp_stream& stream_;
  std::chrono::milliseconds timeout_;
  bool failed_ = false;
};

}  // namespace

asio::awaitable<bool> Server::write_streamed(Connection& conn, Response& head, std::string_view head_lines,
                                             const StreamBody& body, bool head_only) {
  head.erase(bhttp::field::content_length);
  head.chunked(true);
  serialize_head(head, head_lines, conn.head);
  error_code ec;
  conn.stream.expires_after(limits_.body_timeout);
  co_await asio::async_write(conn.stream, asio::buffer(conn.head), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return false;
  if (head_only) co_return true;
  SocketChunkWriter writer(conn.stream, limits_.body_timeout);
  try {
    co_await body(writer);
  } catch (const std::exception& error) {
    // The head is out: the only honest signal left is to end the connection without the
    // final chunk, so the client sees a truncated body rather than a complete one.
    ops::LogLine("streamed response failed").str("error", error.what()).error();
    co_return false;
  }
  if (writer.failed()) co_return false;
  conn.stream.expires_after(limits_.body_timeout);
  co_await asio::async_write(conn.stream, bhttp::make_chunk_last(), asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

asio::awaitable<void> Server::serve(std::shared_ptr<Connection> conn) {
  bool handed_off = false;
  try {
    while (!draining_) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(limits_.header_limit));
      // The body limit is applied once the header tells what the request is: uploads have
      // their own (see read_request). (Not boost::none: Beast 1.74 compares a content length
      // with an empty optional as "over the limit".)
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      bool rejected = false;
      std::optional<Request> spooled;
      ClientInfo info = conn->client;
      if (!co_await read_request(*conn, parser, rejected, spooled, info)) break;
      Request& request = spooled ? *spooled : parser.get();
      if (upgrade_ && request.count(bhttp::field::upgrade)) {
        conn->slot.set_upgraded(true);
        if (upgrade_(request, conn->stream, conn->slot)) {
          handed_off = true;
          break;
        }
        conn->slot.set_upgraded(false);
      }
      Reply reply = co_await handler_(request, info);
      if (!info.body_file.empty()) {
        std::error_code ignored;
        std::filesystem::remove(info.body_file, ignored);
      }
      Response& response = reply.response;
      bool keep_alive = request.keep_alive() && !draining_;
      response.keep_alive(keep_alive);
      // HEAD is answered by the GET route (the router's fallback): the same head, no body.
      bool head_only = request.method() == bhttp::verb::head;
      if (reply.stream) {
        if (!co_await write_streamed(*conn, response, reply.head_lines, reply.stream, head_only) || !keep_alive) break;
        continue;
      }
      response.prepare_payload();
      error_code ec;
      conn->stream.expires_after(limits_.body_timeout);
      serialize_head(response, reply.head_lines, conn->head);
      std::array<asio::const_buffer, 2> pieces{asio::buffer(conn->head),
                                               head_only ? asio::const_buffer() : asio::buffer(response.body())};
      co_await asio::async_write(conn->stream, pieces, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !keep_alive) break;
    }
  } catch (const std::exception&) {
    // A handler must not throw (the dispatcher answers every error); if one does, this
    // connection ends and the server keeps serving the others.
  }
  if (!handed_off) {
    error_code ec;
    conn->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    conn->stream.close();
  }
  {
    std::lock_guard lock(connections_mutex_);
    connections_.erase(conn.get());
  }
}

}  // namespace lms::http

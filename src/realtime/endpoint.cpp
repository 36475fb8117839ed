#include "realtime/endpoint.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <array>

#include <rapidjson/document.h>
#include <sodium.h>

#include "auth/tokens.h"
#include "common/json.h"
#include "ops/log.h"
#include "ops/ops_routes.h"
#include "realtime/packets.h"

namespace lms::realtime {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
using http::bhttp::status;
using http::bhttp::verb;
using boost::system::error_code;

namespace {

constexpr std::string_view kPath = "/socket.io";

// Engine.IO's error body for transport-level HTTP errors.
http::Response eio_error(status code, int eio_code, std::string_view message) {
  auto res = http::json_response(code, json::build([&](json::Writer& w) {
                                   w.StartObject();
                                   json::key(w, "code");
                                   w.Int(eio_code);
                                   json::field(w, "message", message);
                                   w.EndObject();
                                 }));
  return res;
}

// Answers an upgrade request over HTTP instead of upgrading, then closes the connection.
asio::awaitable<void> answer_and_close(beast::tcp_stream& stream, http::Response res) {
  res.keep_alive(false);
  res.prepare_payload();
  stream.expires_after(std::chrono::seconds(5));
  error_code ec;
  co_await http::bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
}

// Too many sessions still handshaking: the stock client reports a connect error and retries
// with its backoff.
http::Response too_many_pending() {
  auto res = eio_error(status::service_unavailable, 3, "Too many pending sessions");
  res.set(http::bhttp::field::retry_after, "1");
  return res;
}

http::Response text_response(std::string body) {
  http::Response res{status::ok, 11};
  res.set(http::bhttp::field::content_type, "text/plain; charset=UTF-8");
  res.set(http::bhttp::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

std::optional<std::string> query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    return http::url_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
  }
  return std::nullopt;
}

std::string new_socket_id() {
  unsigned char bytes[15];
  randombytes_buf(bytes, sizeof bytes);
  return auth::base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

std::string open_packet(const SessionLimits& limits, std::string_view sid, bool can_upgrade) {
  return eio_open(sid, can_upgrade, static_cast<std::uint32_t>(limits.ping_interval.count()),
                  static_cast<std::uint32_t>(limits.ping_timeout.count()), limits.max_payload);
}

bool is_socketio_path(std::string_view path) { return path == kPath || path == "/socket.io/"; }

std::optional<std::string> token_of(std::string_view connect_data) {
  if (connect_data.empty()) return std::nullopt;
  rapidjson::Document doc;
  doc.Parse(connect_data.data(), connect_data.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  auto it = doc.FindMember("token");
  if (it == doc.MemberEnd() || !it->value.IsString() || it->value.GetStringLength() == 0) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

// The WebSocket side of one session, on the connection's own I/O thread. Frames go to the
// socket straight from the fan-out when it can take them (a non-blocking write: no coroutine,
// post or copy); what it cannot take yet is kept (the packets themselves, shared) and goes out
// in one gathered write. Reading waits for the socket to become readable while holding no
// buffer, then reads into the thread's buffer; only an unfinished message is kept.
class WsConnection final : public Waker, public DirectSink, public std::enable_shared_from_this<WsConnection> {
 public:
  struct Message {
    ws::Opcode opcode;
    std::string payload;
  };

  WsConnection(tcp::socket socket, http::ConnectionSlot slot, const SessionLimits& limits)
      : context_(static_cast<asio::io_context&>(socket.get_executor().context())),
        socket_(std::move(socket)),
        slot_(std::move(slot)),
        reader_(limits.max_payload),
        queue_limit_(limits.queue_limit_bytes) {
    error_code ec;
    socket_.non_blocking(true, ec);
  }

  // Waker: the session queued packets (from another thread) or closed.
  void wake(bool) override {
    asio::post(context_, [self = shared_from_this()] { self->drain_session(); });
  }
  bool on_own_thread() const override { return context_.get_executor().running_in_this_thread(); }
  void deliver(const Packet& packet) override { send(packet); }

  // From now on the session's packets come here (on this thread).
  void attach(std::shared_ptr<Session> session) {
    session_ = std::move(session);
    session_->set_waker(shared_from_this());
    session_->set_sink(this);
    drain_session();
  }
  void detach() {
    if (!session_) return;
    session_->set_sink(nullptr);
    session_->clear_waker(shared_from_this());
  }

  // Writes `packet`'s frame now if the socket takes it, else keeps it for a gathered write.
  void send(const Packet& packet) {
    if (shut_) return;
    const auto frame = packet->frame();
    std::size_t written = 0;
    if (!writing_ && pending_.empty()) {
      error_code ec;
      written = socket_.write_some(asio::buffer(frame.data(), frame.size()), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        ec = {};
        written = 0;
      }
      if (ec) {
        fail();
        return;
      }
      if (written == frame.size()) return;
    }
    pending_.push_back(Pending{packet, written});
    pending_bytes_ += frame.size() - written;
    if (pending_bytes_ > queue_limit_) {
      // A client that does not read: cut off at its bound, as the session's queue would.
      if (session_) session_->close(CloseReason::slow_consumer);
      shut();
      return;
    }
    if (!writing_) start_write();
  }

  // The next complete message or control frame; nullopt when the connection ended or broke
  // the protocol (then a close frame with the reason was sent).
  asio::awaitable<std::optional<Message>> next_message() {
    for (;;) {
      std::string_view input;
      // A read per readiness into this thread's buffer: an idle connection holds none.
      thread_local std::array<char, 16 * 1024> buffer;
      if (!carry_.empty()) {
        input = carry_;
      } else {
        error_code ec;
        co_await socket_.async_wait(tcp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
        if (ec || shut_) co_return std::nullopt;
        std::size_t n = socket_.read_some(asio::buffer(buffer), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
        if (ec) co_return std::nullopt;
        input = std::string_view(buffer.data(), n);
      }
      auto result = reader_.feed(input);
      // Bytes after a complete message wait for the next call (rarely any: clients send one
      // message per write and wait for the answer).
      carry_ = std::string(input);
      if (result == ws::Reader::Result::error) {
        close_with(reader_.close_code());
        co_return std::nullopt;
      }
      if (result == ws::Reader::Result::message) co_return Message{reader_.opcode(), std::move(reader_.payload())};
    }
  }

  // Answers the client's close frame (or a protocol error) with a close frame, then ends.
  void close_with(std::uint16_t code) {
    send(std::make_shared<const Outbound>(ws::close_payload(code), ws::Opcode::close));
    finish();
  }
  void pong(std::string_view payload) { send(std::make_shared<const Outbound>(payload, ws::Opcode::pong)); }

  // Ends the connection once what is kept has been written (or at once if nothing is).
  void finish() {
    if (pending_.empty()) {
      shut();
      return;
    }
    shut_when_flushed_ = true;
    // A client that stopped reading must not keep it open: a last deadline.
    auto deadline = std::make_shared<asio::steady_timer>(context_, std::chrono::seconds(5));
    deadline->async_wait([self = shared_from_this(), deadline](error_code ec) {
      if (!ec) self->shut();
    });
  }

  void shut() {
    if (shut_) return;
    shut_ = true;
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    pending_.clear();
    pending_bytes_ = 0;
  }

 private:
  struct Pending {
    Packet packet;
    std::size_t offset;  // bytes of its frame already written
  };

  // On this thread: whatever the session queued, then its close.
  void drain_session() {
    if (!session_ || shut_) return;
    for (;;) {
      auto batch = session_->take();
      for (auto& packet : batch.packets) send(packet);
      if (batch.closed) {
        finish();
        return;
      }
      if (batch.packets.empty()) return;  // (a second take lets a flushed DISCONNECT close)
    }
  }

  void start_write() {
    writing_ = true;
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(std::min<std::size_t>(pending_.size(), kGather));
    for (const auto& item : pending_) {
      auto frame = item.packet->frame().substr(item.offset);
      buffers.emplace_back(frame.data(), frame.size());
      if (buffers.size() == kGather) break;
    }
    asio::async_write(socket_, std::move(buffers),
                      [self = shared_from_this()](error_code ec, std::size_t n) { self->on_written(ec, n); });
  }

  void on_written(error_code ec, std::size_t n) {
    writing_ = false;
    if (shut_) return;
    if (ec) {
      fail();
      return;
    }
    std::size_t done = 0;
    while (n > 0) {
      auto& item = pending_[done];
      const std::size_t left = item.packet->frame().size() - item.offset;
      if (n < left) {
        item.offset += n;
        pending_bytes_ -= n;
        break;
      }
      n -= left;
      pending_bytes_ -= left;
      ++done;
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(done));
    if (!pending_.empty()) {
      start_write();
      return;
    }
    std::vector<Pending>().swap(pending_);  // an idle connection keeps no queue
    if (shut_when_flushed_) shut();
  }

  void fail() {
    if (session_) session_->close(CloseReason::transport_error);
    shut();
  }

  static constexpr std::size_t kGather = 64;  // frames per gathered write

  asio::io_context& context_;
  tcp::socket socket_;
  http::ConnectionSlot slot_;  // counts this socket against --max-connections until it is gone
  ws::Reader reader_;
  std::string carry_;  // bytes read past the last message
  std::shared_ptr<Session> session_;
  std::vector<Pending> pending_;
  std::size_t pending_bytes_ = 0;
  const std::size_t queue_limit_;
  bool writing_ = false;
  bool shut_when_flushed_ = false;
  bool shut_ = false;
};

// Messages in order, each handled before the next is read, until either side ends.
asio::awaitable<void> read_loop(Endpoint& endpoint, std::shared_ptr<WsConnection> conn, std::shared_ptr<Session> session) {
  for (;;) {
    auto message = co_await conn->next_message();
    if (!message) break;
    if (message->opcode == ws::Opcode::text) {
      co_await endpoint.on_packet(session, message->payload);
    } else if (message->opcode == ws::Opcode::ping) {
      conn->pong(message->payload);
    } else if (message->opcode == ws::Opcode::close) {
      conn->close_with(1000);
      break;
    } else if (message->opcode == ws::Opcode::binary) {
      session->close(CloseReason::protocol_error);  // not part of the contract
      conn->close_with(1003);
      break;
    }
    if (session->closed()) break;
  }
  session->close(CloseReason::transport_error);  // no effect when already closed
  conn->detach();
}

// The opening handshake's answer, or nullopt when the request is not a WebSocket handshake
// this endpoint takes (then the server answers it over HTTP).
std::optional<http::Response> accept_response(const http::Request& request, http::Response& refusal) {
  using http::bhttp::field;
  auto key = request[field::sec_websocket_key];
  if (request[field::sec_websocket_version] != "13") {
    refusal = eio_error(status::upgrade_required, 3, "Unsupported WebSocket version");
    refusal.set(field::sec_websocket_version, "13");
    return std::nullopt;
  }
  if (key.size() != 24 || key.substr(22) != "==") {
    refusal = eio_error(status::bad_request, 3, "Bad Sec-WebSocket-Key");
    return std::nullopt;
  }
  http::Response res{status::switching_protocols, request.version()};
  res.set(field::upgrade, "websocket");
  res.set(field::connection, "Upgrade");
  res.set(field::sec_websocket_accept, ws::accept_key(key));
  return res;
}

}  // namespace

Endpoint::Endpoint(Hub& hub, Authenticator authenticate) : hub_(hub), authenticate_(std::move(authenticate)) {}

void Endpoint::add_routes(http::Router& router) {
  const http::RouteOptions anyone{.authenticated = false};
  router.add(verb::get, std::string(kPath), [this](http::RequestContext& ctx) { return poll(ctx); }, anyone);
  router.add(verb::post, std::string(kPath), [this](http::RequestContext& ctx) { return post(ctx); }, anyone);
}

void Endpoint::write_metrics(std::string& out) const {
  ops::write_gauge(out, "realtime_connections", "Sockets connected to the real-time endpoint (Socket.IO CONNECT done).",
                   static_cast<double>(hub_.connections()));
  ops::write_gauge(out, "realtime_sessions", "Engine.IO sessions open, connected or still handshaking.",
                   static_cast<double>(hub_.sessions()));
  ops::write_counter(out, "realtime_sessions_refused_total", "Handshakes refused at --max-pending-sockets.",
                     hub_.refused_sessions());
  ops::write_counter(out, "eventbus_resyncs_total",
                     "`resync` broadcasts to this instance's sockets after the bus may have lost events.",
                     hub_.resyncs());
}

asio::awaitable<http::Response> Endpoint::poll(http::RequestContext& ctx) {
  // HEAD reaches here through the router's GET fallback: it must neither open a session nor
  // wait as a long poll.
  if (ctx.request.method() == http::bhttp::verb::head)
    co_return eio_error(status::bad_request, 2, "Bad handshake method");
  if (ctx.query_param("EIO") != "4") co_return eio_error(status::bad_request, 5, "Unsupported protocol version");
  if (ctx.query_param("transport") != "polling") co_return eio_error(status::bad_request, 0, "Transport unknown");
  auto executor = co_await asio::this_coro::executor;
  const auto& limits = hub_.settings().session;
  auto sid = ctx.query_param("sid");
  if (!sid) {
    if (!hub_.admit_new_session()) co_return too_many_pending();
    auto session = hub_.open_session(executor, Transport::polling);
    co_return text_response(open_packet(limits, session->sid(), true));
  }
  auto session = hub_.find(*sid);
  if (!session) co_return eio_error(status::bad_request, 1, "Session ID unknown");
  if (session->transport() != Transport::polling) co_return eio_error(status::bad_request, 3, "Bad request");
  if (!session->begin_poll()) {
    // Two polls at once: the client is confused (or hostile); end the session.
    session->close(CloseReason::protocol_error);
    co_return eio_error(status::bad_request, 3, "Bad request");
  }
  auto waker = std::make_shared<TimerWaker>(executor);
  session->set_waker(waker);
  Session::Batch batch;
  for (;;) {
    // Upgraded meanwhile: this poll ends empty-handed (a noop); the WebSocket has the queue.
    if (session->transport() != Transport::polling) {
      batch.packets.push_back(make_packet("6"));
      break;
    }
    batch = session->take();
    if (!batch.packets.empty() || batch.closed) break;
    co_await waker->wait();
  }
  session->clear_waker(waker);
  session->end_poll();
  std::string body;
  for (auto& packet : batch.packets) {
    if (!body.empty()) body += kRecordSeparator;
    body += packet->text();
  }
  if (batch.closed) {
    if (!body.empty()) body += kRecordSeparator;
    body += '1';
  }
  co_return text_response(std::move(body));
}

asio::awaitable<http::Response> Endpoint::post(http::RequestContext& ctx) {
  if (ctx.query_param("EIO") != "4") co_return eio_error(status::bad_request, 5, "Unsupported protocol version");
  if (ctx.query_param("transport") != "polling") co_return eio_error(status::bad_request, 0, "Transport unknown");
  auto sid = ctx.query_param("sid");
  auto session = sid ? hub_.find(*sid) : nullptr;
  if (!session) co_return eio_error(status::bad_request, 1, "Session ID unknown");
  const std::string& body = ctx.request.body();
  if (body.size() > hub_.settings().session.max_payload) {
    session->close(CloseReason::protocol_error);
    co_return eio_error(status::payload_too_large, 3, "Payload too large");
  }
  auto packets = decode_eio_payload(body);
  if (!packets) {
    session->close(CloseReason::protocol_error);
    co_return eio_error(status::bad_request, 3, "Bad request");
  }
  for (auto& packet : *packets) {
    // Views into `body`, which lives in the request for the whole loop.
    std::string text(1, static_cast<char>(packet.type));
    text += packet.data;
    co_await on_packet(session, text);
    if (session->closed()) break;
  }
  auto res = text_response("ok");
  res.set(http::bhttp::field::content_type, "text/html");
  co_return res;
}

asio::awaitable<void> Endpoint::on_packet(std::shared_ptr<Session> session, std::string_view text) {
  auto packet = decode_eio(text);
  if (!packet) {
    session->close(CloseReason::protocol_error);
    co_return;
  }
  switch (packet->type) {
    case EioType::pong:
      session->pong_received();
      break;
    case EioType::ping:
      session->send("3" + std::string(packet->data));
      break;
    case EioType::message:
      co_await on_socketio(session, packet->data);
      break;
    case EioType::close:
      session->close(CloseReason::client_close);
      break;
    case EioType::noop:
      break;
    case EioType::open:
    case EioType::upgrade:
      session->close(CloseReason::protocol_error);
      break;
  }
}

asio::awaitable<void> Endpoint::on_socketio(std::shared_ptr<Session> session, std::string_view text) {
  auto packet = decode_sio(text);
  if (!packet) {
    session->close(CloseReason::protocol_error);
    co_return;
  }
  switch (packet->type) {
    case SioType::connect: {
      if (packet->nsp != "/") {
        session->send(sio_connect_error(packet->nsp, "Invalid namespace"));
        co_return;
      }
      if (session->principal()) co_return;
      auto token = token_of(packet->data);
      std::optional<accounts::Principal> principal;
      if (token) {
        try {
          principal = co_await authenticate_(*token);
        } catch (const std::exception&) {
          principal.reset();
        }
      }
      if (!principal) {
        session->send(sio_connect_error("/", "unauthorized"));
        co_return;
      }
      // The acknowledgement goes first, so no event can reach the client before it.
      session->send(sio_connect_ok(new_socket_id()));
      hub_.join(session, *principal);
      co_return;
    }
    case SioType::disconnect:
      if (packet->nsp == "/") hub_.leave(session);
      co_return;
    case SioType::event: {
      if (packet->nsp != "/" || !packet->ack_id || !session->principal()) co_return;
      if (event_name(packet->data) == "ping:ack")
        session->send(sio_ack("/", *packet->ack_id, event_arguments(packet->data)));
      co_return;
    }
    default:
      co_return;  // acknowledgements from the client: lms asks for none
  }
}

bool Endpoint::take_upgrade(http::Request& request, beast::tcp_stream& stream, http::ConnectionSlot& slot) {
  std::string_view target = request.target();
  if (!is_socketio_path(target.substr(0, target.find('?'))) || !websocket::is_upgrade(request)) return false;
  asio::co_spawn(stream.get_executor(), serve_websocket(std::move(request), std::move(stream), std::move(slot)),
                 asio::detached);
  return true;
}

asio::awaitable<void> Endpoint::serve_websocket(http::Request request, beast::tcp_stream stream, http::ConnectionSlot slot) {
  std::string_view target = request.target();
  auto q = target.find('?');
  std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  auto eio = query_value(query, "EIO");
  auto transport = query_value(query, "transport");
  auto sid = query_value(query, "sid");
  error_code ec;
  std::optional<http::Response> refusal;
  if (eio != "4")
    refusal = eio_error(status::bad_request, 5, "Unsupported protocol version");
  else if (transport != "websocket")
    refusal = eio_error(status::bad_request, 0, "Transport unknown");
  else if (!sid && !hub_.admit_new_session())
    refusal = too_many_pending();
  if (refusal) {
    co_await answer_and_close(stream, std::move(*refusal));
    co_return;
  }

  const auto& limits = hub_.settings().session;
  http::Response refusal_answer;
  auto accepted = accept_response(request, refusal_answer);
  if (!accepted) {
    co_await answer_and_close(stream, std::move(refusal_answer));
    co_return;
  }
  stream.expires_after(limits.handshake_timeout);
  co_await http::bhttp::async_write(stream, *accepted, asio::redirect_error(asio::use_awaitable, ec));
  request = {};
  if (ec) co_return;
  stream.expires_never();
  auto conn = std::make_shared<WsConnection>(stream.release_socket(), std::move(slot), limits);

  auto executor = co_await asio::this_coro::executor;
  std::shared_ptr<Session> session;
  if (sid) {
    session = hub_.find(*sid);
    if (!session || !session->begin_upgrade()) {
      conn->shut();
      co_return;
    }
    // A client that upgrades and then stays silent must not hold the connection: the probe
    // exchange has the handshake's time limit too.
    asio::steady_timer probe_deadline(executor, limits.handshake_timeout);
    probe_deadline.async_wait([conn](error_code wait) {
      if (!wait) conn->shut();
    });
    // The probe: "2probe" → "3probe", then the pending poll is released with a noop and the
    // client confirms with "5". Anything else abandons the upgrade (polling goes on).
    auto probe = co_await conn->next_message();
    if (!probe || probe->opcode != ws::Opcode::text || probe->payload != "2probe") {
      session->abort_upgrade();
      conn->shut();
      co_return;
    }
    conn->send(make_packet("3probe"));
    session->send(make_packet("6"));
    auto confirm = co_await conn->next_message();
    if (!confirm || confirm->opcode != ws::Opcode::text || confirm->payload != "5") {
      session->abort_upgrade();
      conn->shut();
      co_return;
    }
    probe_deadline.cancel();
    session->finish_upgrade();
  } else {
    session = hub_.open_session(executor, Transport::websocket);
    session->send(open_packet(limits, session->sid(), false));
  }

  conn->attach(session);
  // The rest of the connection's life in a coroutine of its own: an idle socket then holds
  // that small frame, not this one's request, response and stream.
  asio::co_spawn(executor, read_loop(*this, std::move(conn), std::move(session)), asio::detached);
}

}  // namespace lms::realtime

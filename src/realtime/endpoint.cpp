#include "realtime/endpoint.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>

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

// The WebSocket side of one session: a reader (the connection's coroutine) and a writer
// that drains the session's queue. Wakes come from any thread, as posts to this executor.
struct WsConnection final : Waker, std::enable_shared_from_this<WsConnection> {
  WsConnection(beast::tcp_stream stream, http::ConnectionSlot slot)
      : ws(std::move(stream)),
        timer(ws.get_executor(), asio::steady_timer::time_point::max()),
        slot(std::move(slot)) {}

  void wake(bool closing) override {
    asio::post(ws.get_executor(), [self = shared_from_this(), closing] {
      self->timer.cancel();
      // A writer stuck on a client that does not read would never see the close: end the
      // connection under it.
      if (closing && self->writing) self->shut();
    });
  }

  void shut() {
    error_code ec;
    beast::get_lowest_layer(ws).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws).socket().close(ec);
  }

  websocket::stream<beast::tcp_stream> ws;
  asio::steady_timer timer;
  http::ConnectionSlot slot;  // counts this socket against --max-connections until it is gone
  bool writing = false;
};

asio::awaitable<void> write_loop(std::shared_ptr<WsConnection> conn, std::shared_ptr<Session> session) {
  session->set_waker(conn);
  error_code ec;
  for (;;) {
    auto batch = session->take();
    conn->writing = true;
    for (auto& packet : batch.packets) {
      co_await conn->ws.async_write(asio::buffer(*packet), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    conn->writing = false;
    if (ec) {
      session->close(CloseReason::transport_error);
      break;
    }
    if (batch.closed) break;
    if (batch.packets.empty()) {
      conn->timer.expires_at(asio::steady_timer::time_point::max());
      co_await conn->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      ec = {};
    }
  }
  session->clear_waker(conn);
  conn->shut();
}

// Reads one text message; nullopt when the connection ended or sent something else.
asio::awaitable<std::optional<std::string>> read_text(websocket::stream<beast::tcp_stream>& ws) {
  // Per message, and read in small steps: Beast allocates the read's buffer before data
  // arrives, so an idle socket holds only the first step's 256 bytes, not 1.5 KB.
  constexpr std::size_t kStep = 256;
  beast::flat_buffer buffer;
  error_code ec;
  do {
    co_await ws.async_read_some(buffer, kStep, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return std::nullopt;
  } while (!ws.is_message_done());
  if (!ws.got_text()) co_return std::nullopt;
  co_return beast::buffers_to_string(buffer.data());
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
  out += "# HELP realtime_sessions_refused_total Handshakes refused at --max-pending-sockets.\n";
  out += "# TYPE realtime_sessions_refused_total counter\nrealtime_sessions_refused_total " +
         std::to_string(hub_.refused_sessions()) + "\n";
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
      batch.packets.push_back(std::make_shared<const std::string>(1, '6'));
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
    body += *packet;
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
  auto conn = std::make_shared<WsConnection>(std::move(stream), std::move(slot));
  auto& ws = conn->ws;
  beast::get_lowest_layer(ws).expires_never();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = limits.handshake_timeout;
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws.set_option(timeouts);
  ws.read_message_max(limits.max_payload);
  co_await ws.async_accept(request, asio::redirect_error(asio::use_awaitable, ec));
  request = {};
  if (ec) co_return;

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
    auto probe = co_await read_text(ws);
    if (probe != "2probe") {
      session->abort_upgrade();
      conn->shut();
      co_return;
    }
    co_await ws.async_write(asio::buffer(std::string_view("3probe")), asio::redirect_error(asio::use_awaitable, ec));
    session->send(std::string(1, '6'));
    // (No co_await inside a conditional expression: GCC 12 miscompiles it.)
    std::optional<std::string> confirm;
    if (!ec) confirm = co_await read_text(ws);
    if (confirm != "5") {
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

  asio::co_spawn(executor, write_loop(conn, session), asio::detached);
  for (;;) {
    auto text = co_await read_text(ws);
    if (!text) break;
    co_await on_packet(session, *text);
    if (session->closed()) break;
  }
  session->close(CloseReason::transport_error);  // no effect when already closed
}

}  // namespace lms::realtime

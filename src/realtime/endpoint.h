// Endpoint: the `/socket.io/` URL. It speaks Engine.IO 4 over HTTP long-polling (as routes
// of the ordinary router) and over WebSocket (connections the HTTP server hands over on an
// Upgrade request), and Socket.IO 5 on top: CONNECT with `auth: {token}`, DISCONNECT, and
// the `ping:ack` event. Everything about who receives what lives in the Hub.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>

#include <functional>
#include <memory>
#include <string>

#include "http/router.h"
#include "http/server.h"
#include "realtime/hub.h"
#include "store/store.h"

namespace lms::realtime {

// Turns an access token into the caller's identity; throws when the token is not valid.
using Authenticator = std::function<store::Task<accounts::Principal>(std::string_view token)>;

class Endpoint {
 public:
  Endpoint(Hub& hub, Authenticator authenticate);

  // GET and POST /socket.io/ for the polling transport.
  void add_routes(http::Router& router);

  // For the HTTP server: takes over `stream` when `request` is a WebSocket upgrade to
  // /socket.io/ (returns true; the server must forget the connection), else returns false.
  bool take_upgrade(http::Request& request, boost::beast::tcp_stream& stream, http::ConnectionSlot& slot);

  // The `realtime_connections` and `realtime_sessions` gauges, in Prometheus text format.
  void write_metrics(std::string& out) const;

  // Handles one Engine.IO packet from the client (either transport).
  asio::awaitable<void> on_packet(std::shared_ptr<Session> session, std::string_view text);

 private:
  asio::awaitable<http::Response> poll(http::RequestContext& ctx);
  asio::awaitable<http::Response> post(http::RequestContext& ctx);
  asio::awaitable<void> on_socketio(std::shared_ptr<Session> session, std::string_view text);
  asio::awaitable<void> serve_websocket(http::Request request, boost::beast::tcp_stream stream, http::ConnectionSlot slot);

  Hub& hub_;
  Authenticator authenticate_;
};

}  // namespace lms::realtime

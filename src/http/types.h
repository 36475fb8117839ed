// The HTTP vocabulary shared by the server, router and handlers: Beast's request/response
// types, the per-request context a handler sees, and response builders in the contract's
// shapes. Handlers depend on this header only, never on the server's sessions.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "accounts/model.h"
#include "common/errors.h"

namespace lms::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
using Params = std::vector<std::pair<std::string_view, std::string_view>>;

// Writes a response body in pieces while a handler produces it (exports): memory stays flat
// whatever the size. write() returns false once the client has gone; stop producing then.
class ChunkWriter {
 public:
  virtual ~ChunkWriter() = default;
  virtual asio::awaitable<bool> write(std::string chunk) = 0;
};
using StreamBody = std::function<asio::awaitable<void>(ChunkWriter&)>;

struct RequestContext {
  const Request& request;
  std::string_view path;   // the target without the query string
  std::string_view query;  // after '?', undecoded
  std::string_view route;  // the matched route pattern, e.g. /api/users/:id
  Params params;
  std::string request_id;
  std::optional<accounts::Principal> principal;
  // Set by a handler that streams: the returned Response is then only the head, sent with
  // chunked transfer encoding, and this produces the body.
  StreamBody stream;
  // The spooled body of an upload (see UploadPolicy), or empty. A handler that keeps the file
  // renames it; the server removes whatever is left at this path afterwards.
  std::string body_file;

  // A path parameter by name (the router guarantees it exists for the matched route).
  std::string param(std::string_view name) const;
  // A decoded query parameter, or nullopt when absent. Throws 400 on bad percent-encoding.
  std::optional<std::string> query_param(std::string_view name) const;
  // The body as a JSON object: 415 unless Content-Type is application/json, 400 if malformed.
  rapidjson::Document json_body() const;
  // The authenticated caller; only valid on routes that require authentication.
  const accounts::Principal& caller() const { return *principal; }
};

using Handler = std::function<asio::awaitable<Response>(RequestContext&)>;

// What the server writes back: a complete response, or a head and a streamed body.
struct Reply {
  Response response;
  StreamBody stream;
  // Header lines ("Name: value\r\n" each) the server writes after the response's own fields.
  // The dispatcher renders its per-request headers (X-Request-Id, RateLimit-*) here: one
  // string instead of a Beast field node each, which cost more than the limiter's decision.
  std::string head_lines;
};

Response json_response(bhttp::status status, std::string body);
Response empty_response(bhttp::status status);
Response error_response(const ApiError& error);
Response error_response(int status, std::string_view code, std::string_view message);

// The request id to use: the client's X-Request-Id when it is short and plain, else a new one.
std::string choose_request_id(std::string_view inbound);

// Decodes %XX and '+' in a query component; nullopt on a malformed escape.
std::optional<std::string> url_decode(std::string_view text);

}  // namespace lms::http

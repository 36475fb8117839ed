#include "http/types.h"

#include <sodium.h>

#include <cctype>
#include <cstdint>

#include "common/json.h"

namespace lms::http {

std::string RequestContext::param(std::string_view name) const {
  for (const auto& [key, value] : params)
    if (key == name) return std::string(value);
  return {};
}

std::optional<std::string> RequestContext::query_param(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    auto eq = pair.find('=');
    auto key = url_decode(pair.substr(0, eq));
    if (!key) throw ApiError::bad_request("malformed query string");
    if (*key != name) continue;
    auto value = url_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!value) throw ApiError::bad_request("malformed query string");
    return value;
  }
  return std::nullopt;
}

rapidjson::Document RequestContext::json_body() const {
  auto type = request[bhttp::field::content_type];
  auto media = type.substr(0, type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (!beast::iequals(media, "application/json"))
    throw ApiError(415, "unsupported_media_type", "the request body must be application/json");
  return json::parse_object(request.body());
}

Response json_response(bhttp::status status, std::string body) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

Response empty_response(bhttp::status status) { return Response{status, 11}; }

Response error_response(int status, std::string_view code, std::string_view message) {
  return error_response(ApiError(status, std::string(code), std::string(message)));
}

Response error_response(const ApiError& error) {
  std::string body = json::build([&](json::Writer& w) {
    w.StartObject();
    json::key(w, "error");
    w.StartObject();
    json::field(w, "code", error.code());
    json::field(w, "message", error.what());
    if (!error.details().empty()) {
      json::key(w, "details");
      w.StartArray();
      for (const auto& d : error.details()) {
        w.StartObject();
        json::field(w, "field", d.field);
        json::field(w, "message", d.message);
        w.EndObject();
      }
      w.EndArray();
    }
    for (const auto& [k, v] : error.extra) json::field(w, k, v);
    w.EndObject();
    w.EndObject();
  });
  auto res = json_response(static_cast<bhttp::status>(error.status()), std::move(body));
  if (error.status() == 401) res.set(bhttp::field::www_authenticate, "Bearer");
  return res;
}

std::optional<std::string> url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string choose_request_id(std::string_view inbound) {
  bool plain = !inbound.empty() && inbound.size() <= 64;
  for (char c : inbound) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      plain = false;
      break;
    }
  }
  if (plain) return std::string(inbound);
  // Request ids need to be unique, not secret: a per-thread generator seeded once from the
  // system avoids a getrandom() call per request.
  thread_local std::uint64_t state = [] {
    std::uint64_t seed = 0;
    while (seed == 0) randombytes_buf(&seed, sizeof seed);
    return seed;
  }();
  static constexpr char hex[] = "0123456789abcdef";
  std::string id(24, '0');
  for (int half = 0; half < 2; ++half) {
    state ^= state << 13;  // xorshift64
    state ^= state >> 7;
    state ^= state << 17;
    std::uint64_t v = state;
    for (int i = 0; i < 12; ++i, v >>= 4) id[static_cast<std::size_t>(half * 12 + i)] = hex[v & 0xf];
  }
  return id;
}

}  // namespace lms::http

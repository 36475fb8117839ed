#include "realtime/packets.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "common/json.h"

namespace lms::realtime {

namespace {

// Depth-limited so a hostile payload of nested brackets cannot exhaust the stack.
constexpr unsigned kMaxJsonDepth = 64;

bool too_deep(std::string_view text) {
  unsigned depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return true;
    } else if (c == ']' || c == '}') {
      if (depth > 0) --depth;
    }
  }
  return false;
}

// True when `text` is exactly one JSON value (RapidJSON without StopWhenDone rejects trailing
// non-space characters itself).
std::optional<rapidjson::Document> parse_whole(std::string_view text) {
  if (too_deep(text)) return std::nullopt;
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) return std::nullopt;
  return doc;
}

std::string serialize(const rapidjson::Value& value) {
  return json::build([&](json::Writer& w) { value.Accept(w); });
}

}  // namespace

std::optional<EioPacket> decode_eio(std::string_view text) {
  if (text.empty()) return std::nullopt;
  char t = text[0];
  if (t < '0' || t > '6') return std::nullopt;
  return EioPacket{static_cast<EioType>(t), text.substr(1)};
}

std::optional<std::vector<EioPacket>> decode_eio_payload(std::string_view body) {
  if (body.empty()) return std::nullopt;
  std::vector<EioPacket> packets;
  std::size_t start = 0;
  while (start <= body.size()) {
    auto end = body.find(kRecordSeparator, start);
    if (end == std::string_view::npos) end = body.size();
    auto packet = decode_eio(body.substr(start, end - start));
    if (!packet) return std::nullopt;
    packets.push_back(*packet);
    start = end + 1;
  }
  return packets;
}

std::optional<SioPacket> decode_sio(std::string_view text) {
  if (text.empty()) return std::nullopt;
  char t = text[0];
  if (t < '0' || t > '4') return std::nullopt;  // 5 and 6 carry binary attachments: unsupported
  SioPacket packet{static_cast<SioType>(t)};
  std::string_view rest = text.substr(1);

  if (!rest.empty() && rest[0] == '/') {
    auto comma = rest.find(',');
    std::string_view nsp = rest.substr(0, comma);
    if (nsp.size() > 256) return std::nullopt;
    for (char c : nsp)
      if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
    packet.nsp = std::string(nsp);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }

  std::size_t digits = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
  if (digits > 0) {
    if (digits > 15) return std::nullopt;
    std::uint64_t id = 0;
    for (std::size_t i = 0; i < digits; ++i) id = id * 10 + static_cast<std::uint64_t>(rest[i] - '0');
    packet.ack_id = id;
    rest = rest.substr(digits);
  }

  packet.data = rest;
  switch (packet.type) {
    case SioType::connect: {
      if (packet.ack_id) return std::nullopt;
      if (rest.empty()) return packet;
      auto doc = parse_whole(rest);
      if (!doc || !doc->IsObject()) return std::nullopt;
      return packet;
    }
    case SioType::disconnect:
      if (!rest.empty() || packet.ack_id) return std::nullopt;
      return packet;
    case SioType::event: {
      auto doc = parse_whole(rest);
      if (!doc || !doc->IsArray() || doc->Empty() || !(*doc)[0].IsString()) return std::nullopt;
      return packet;
    }
    case SioType::ack: {
      if (!packet.ack_id) return std::nullopt;
      auto doc = parse_whole(rest);
      if (!doc || !doc->IsArray()) return std::nullopt;
      return packet;
    }
    default:
      return std::nullopt;  // clients never send CONNECT_ERROR
  }
}

std::string eio_open(std::string_view sid, bool can_upgrade, std::uint32_t ping_interval_ms,
                     std::uint32_t ping_timeout_ms, std::uint64_t max_payload) {
  std::string out = "0";
  out += json::build([&](json::Writer& w) {
    w.StartObject();
    json::field(w, "sid", sid);
    json::key(w, "upgrades");
    w.StartArray();
    if (can_upgrade) json::string(w, "websocket");
    w.EndArray();
    json::key(w, "pingInterval");
    w.Uint(ping_interval_ms);
    json::key(w, "pingTimeout");
    w.Uint(ping_timeout_ms);
    json::key(w, "maxPayload");
    w.Uint64(max_payload);
    w.EndObject();
  });
  return out;
}

std::string sio_connect_ok(std::string_view sid) {
  return "40" + json::build([&](json::Writer& w) {
           w.StartObject();
           json::field(w, "sid", sid);
           w.EndObject();
         });
}

std::string sio_connect_error(std::string_view nsp, std::string_view message) {
  std::string out = "44";
  if (nsp != "/") {
    out += nsp;
    out += ',';
  }
  out += json::build([&](json::Writer& w) {
    w.StartObject();
    json::field(w, "message", message);
    w.EndObject();
  });
  return out;
}

std::string sio_disconnect() { return "41"; }

std::string sio_event(std::string_view name, std::string_view payload_json) {
  std::string out;
  out.reserve(name.size() + payload_json.size() + 8);
  out += "42[";
  out += json::quote(name);
  out += ',';
  out += payload_json;
  out += ']';
  return out;
}

std::string sio_ack(std::string_view nsp, std::uint64_t id, std::string_view args_array_json) {
  std::string out = "43";
  if (nsp != "/") {
    out += nsp;
    out += ',';
  }
  out += std::to_string(id);
  out += args_array_json;
  return out;
}

std::string event_arguments(std::string_view event_array_json) {
  auto doc = parse_whole(event_array_json);
  if (!doc || !doc->IsArray() || doc->Empty()) return "[]";
  rapidjson::Value args(rapidjson::kArrayType);
  auto& alloc = doc->GetAllocator();
  for (rapidjson::SizeType i = 1; i < doc->Size(); ++i) args.PushBack(rapidjson::Value((*doc)[i], alloc), alloc);
  return serialize(args);
}

std::string event_name(std::string_view event_array_json) {
  auto doc = parse_whole(event_array_json);
  if (!doc || !doc->IsArray() || doc->Empty() || !(*doc)[0].IsString()) return {};
  return std::string((*doc)[0].GetString(), (*doc)[0].GetStringLength());
}

}  // namespace lms::realtime

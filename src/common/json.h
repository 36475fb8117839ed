// JSON reading and writing on RapidJSON. Reading turns every malformed or mistyped input
// into an ApiError (400 for syntax, 422 for a field of the wrong type), so handlers never
// see a half-valid document.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <optional>
#include <string>
#include <string_view>

namespace lms::json {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Parses a request body that must be one JSON object.
rapidjson::Document parse_object(std::string_view body);

// Field access on a parsed object. `required_*` throw 422 naming the field when absent;
// all throw 422 when the field has the wrong type.
std::optional<std::string> optional_string(const rapidjson::Value& object, const char* field);
std::string required_string(const rapidjson::Value& object, const char* field);
std::optional<bool> optional_bool(const rapidjson::Value& object, const char* field);
bool has_field(const rapidjson::Value& object, const char* field);

inline void key(Writer& w, std::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
inline void string(Writer& w, std::string_view v) { w.String(v.data(), static_cast<rapidjson::SizeType>(v.size())); }
inline void field(Writer& w, std::string_view k, std::string_view v) { key(w, k); string(w, v); }

// Builds a document with a writer callback and returns its text.
template <class Fn>
std::string build(Fn&& fn) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  fn(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Escapes a string as a JSON string literal including the quotes.
std::string quote(std::string_view text);

}  // namespace lms::json

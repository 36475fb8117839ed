#include "common/json.h"

#include <rapidjson/error/en.h>

#include "common/errors.h"

namespace lms::json {

rapidjson::Document parse_object(std::string_view body) {
  rapidjson::Document doc;
  // kParseStopWhenDoneFlag is off: trailing garbage after the object is an error.
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  if (doc.HasParseError())
    throw ApiError::bad_request(std::string("malformed JSON: ") + rapidjson::GetParseError_En(doc.GetParseError()) +
                                " at offset " + std::to_string(doc.GetErrorOffset()));
  if (!doc.IsObject()) throw ApiError::bad_request("the request body must be a JSON object");
  return doc;
}

bool has_field(const rapidjson::Value& object, const char* field) {
  return object.FindMember(field) != object.MemberEnd();
}

std::optional<std::string> optional_string(const rapidjson::Value& object, const char* field) {
  auto it = object.FindMember(field);
  if (it == object.MemberEnd() || it->value.IsNull()) return std::nullopt;
  if (!it->value.IsString()) throw ApiError::validation(field, "must be a string");
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::string required_string(const rapidjson::Value& object, const char* field) {
  auto value = optional_string(object, field);
  if (!value) throw ApiError::validation(field, "is required");
  return *value;
}

std::optional<bool> optional_bool(const rapidjson::Value& object, const char* field) {
  auto it = object.FindMember(field);
  if (it == object.MemberEnd() || it->value.IsNull()) return std::nullopt;
  if (!it->value.IsBool()) throw ApiError::validation(field, "must be true or false");
  return it->value.GetBool();
}

std::string quote(std::string_view text) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  string(writer, text);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace lms::json

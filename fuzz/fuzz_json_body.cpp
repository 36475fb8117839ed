// libFuzzer target: request bodies. Whatever bytes arrive, parse_object and the field readers
// either yield values or throw ApiError; never crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/errors.h"
#include "common/json.h"
#include "common/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    auto doc = lms::json::parse_object(body);
    for (const char* field : {"email", "name", "password", "organizationName", "role", "refreshToken"}) {
      try {
        if (auto v = lms::json::optional_string(doc, field)) {
          (void)lms::validate::normalize_email(*v);
          (void)lms::validate::utf8_length(*v);
        }
      } catch (const lms::ApiError&) {
      }
    }
    try {
      (void)lms::json::optional_bool(doc, "active");
    } catch (const lms::ApiError&) {
    }
  } catch (const lms::ApiError&) {
  }
  return 0;
}

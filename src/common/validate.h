// Input rules shared by every service: emails, names, passwords, country codes. Each returns
// the normalized value or throws ApiError 422 naming the field.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/errors.h"

namespace lms::validate {

// Trims, lower-cases and checks the shape of an email address.
std::optional<std::string> normalize_email(std::string_view raw);
std::string email(std::string_view raw, const char* field = "email");
// Trims; 1..max characters (UTF-8 code points), no control characters.
std::string name(std::string_view raw, const char* field, std::size_t max = 200);
// Free text (a lead's name, company and source, note bodies, custom strings): trimmed at the
// ends; 1..max characters; newlines (LF, CR) and tabs inside are kept as sent, any other
// control character (NUL, ESC, DEL, ...) is refused. The one rule for API writes and imports.
std::string text(std::string_view raw, std::string_view field, std::size_t max);
// The character rule of text() alone: true when `raw` has no control character but tab, LF, CR.
bool is_free_text(std::string_view raw);
// 8..1024 bytes; the upper bound keeps hashing cost bounded.
void password(std::string_view raw, const char* field = "password");
// ISO 3166-1 alpha-2 shape, upper-cased.
std::string country(std::string_view raw, const char* field = "defaultCountry");

std::size_t utf8_length(std::string_view text);

// Runs every check and throws one 422 listing all the fields that failed.
template <class... Checks>
void all(Checks&&... checks) {
  std::vector<FieldError> errors;
  auto run = [&](auto& check) {
    try {
      check();
    } catch (const ApiError& e) {
      errors.insert(errors.end(), e.details().begin(), e.details().end());
    }
  };
  (run(checks), ...);
  if (!errors.empty()) throw ApiError::validation(std::move(errors));
}

}  // namespace lms::validate

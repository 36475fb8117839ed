#include "common/validate.h"

#include "common/errors.h"

namespace lms::validate {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text)
    if ((c & 0xc0) != 0x80) ++n;
  return n;
}

std::optional<std::string> normalize_email(std::string_view raw) {
  auto s = trim(raw);
  if (s.empty() || s.size() > 254) return std::nullopt;
  auto at = s.find('@');
  if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos) return std::nullopt;
  auto local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.size() > 64 || domain.size() < 3) return std::nullopt;
  auto dot = domain.find('.');
  if (dot == std::string_view::npos || dot == 0 || domain.back() == '.' || domain.find("..") != std::string_view::npos)
    return std::nullopt;
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == ',' || c == ';' || c == '<' || c == '>' || c == '(' || c == ')' ||
        c == '[' || c == ']' || c == '\\' || c == '"')
      return std::nullopt;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

std::string email(std::string_view raw, const char* field) {
  auto normalized = normalize_email(raw);
  if (!normalized) throw ApiError::validation(field, "not a valid email address");
  return *normalized;
}

std::string name(std::string_view raw, const char* field, std::size_t max) {
  auto s = trim(raw);
  if (s.empty()) throw ApiError::validation(field, "must not be empty");
  if (utf8_length(s) > max) throw ApiError::validation(field, "must be at most " + std::to_string(max) + " characters");
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) throw ApiError::validation(field, "must not contain control characters");
  return std::string(s);
}

bool is_free_text(std::string_view raw) {
  for (unsigned char c : raw)
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return false;
  return true;
}

std::string text(std::string_view raw, std::string_view field, std::size_t max) {
  auto s = trim(raw);
  if (s.empty()) throw ApiError::validation(std::string(field), "must not be empty");
  if (utf8_length(s) > max)
    throw ApiError::validation(std::string(field), "must be at most " + std::to_string(max) + " characters");
  if (!is_free_text(s))
    throw ApiError::validation(std::string(field), "must not contain control characters other than tab and newline");
  return std::string(s);
}

void password(std::string_view raw, const char* field) {
  if (utf8_length(raw) < 8) throw ApiError::validation(field, "must be at least 8 characters");
  if (raw.size() > 1024) throw ApiError::validation(field, "must be at most 1024 bytes");
}

std::string country(std::string_view raw, const char* field) {
  auto s = trim(raw);
  if (s.size() != 2) throw ApiError::validation(field, "must be an ISO 3166-1 alpha-2 country code");
  std::string out;
  for (char c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c < 'A' || c > 'Z') throw ApiError::validation(field, "must be an ISO 3166-1 alpha-2 country code");
    out.push_back(c);
  }
  return out;
}

}  // namespace lms::validate

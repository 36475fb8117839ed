#include "leads/model.h"

#include <algorithm>

#include "common/errors.h"
#include "common/validate.h"

namespace lms::leads {

bool is_status(std::string_view text) {
  return text == "new" || text == "contacted" || text == "qualified" || text == "converted" || text == "lost";
}

std::optional<SortKey> parse_sort(std::string_view text) {
  if (text == "-createdAt") return SortKey::created_desc;
  if (text == "createdAt") return SortKey::created_asc;
  if (text == "-updatedAt") return SortKey::updated_desc;
  if (text == "updatedAt") return SortKey::updated_asc;
  if (text == "name") return SortKey::name_asc;
  return std::nullopt;
}

std::string_view sort_name(SortKey sort) {
  switch (sort) {
    case SortKey::created_desc: return "-createdAt";
    case SortKey::created_asc: return "createdAt";
    case SortKey::updated_desc: return "-updatedAt";
    case SortKey::updated_asc: return "updatedAt";
    case SortKey::name_asc: return "name";
  }
  return "-createdAt";
}

std::optional<std::string> phone_query_digits(std::string_view q) {
  std::string digits;
  for (char c : q) {
    if (c >= '0' && c <= '9')
      digits.push_back(c);
    else if (c != ' ' && c != '+' && c != '-' && c != '(' && c != ')' && c != '.')
      return std::nullopt;
  }
  if (digits.empty()) return std::nullopt;
  return digits;
}

void check_custom_string(std::string_view key, std::string_view value) {
  if (validate::utf8_length(value) > 2000)
    throw ApiError::validation("custom." + std::string(key), "values must be at most 2000 characters");
  if (!validate::is_free_text(value))
    throw ApiError::validation("custom." + std::string(key),
                               "must not contain control characters other than tab and newline");
}

void add_source_count(LeadStats& stats, std::string_view source, std::int64_t count) {
  for (auto& [name, n] : stats.by_source)
    if (name == source) {
      n += count;
      std::stable_sort(stats.by_source.begin(), stats.by_source.end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; });
      return;
    }
  stats.by_source.emplace_back(source, count);
}

}  // namespace lms::leads

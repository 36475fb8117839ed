#include "leads/model.h"

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

}  // namespace lms::leads

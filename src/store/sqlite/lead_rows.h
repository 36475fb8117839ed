// Row helpers shared by the SQLite lead store's files: the tags column (a JSON array of
// strings) and binding a list of values to a statement. Internal to the SQLite lead store.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "store/sqlite/connection.h"

namespace lms::store::sqlite::detail {

std::string tags_json(const std::vector<std::string>& tags);

// Tags as the column stores them (a JSON array of strings) into views of `text`, without
// allocating in the usual case of tags without escapes; escaped ones are decoded into
// `decoded`, which the views then point into.
void tag_views(std::string_view text, std::vector<std::string_view>& views, std::vector<std::string>& decoded);

std::vector<std::string> parse_tags(std::string_view text);

using Bind = std::variant<std::int64_t, std::string>;

void bind_all(Statement& s, const std::vector<Bind>& binds);

}  // namespace lms::store::sqlite::detail

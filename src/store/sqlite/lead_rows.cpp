// Row helpers shared by the SQLite lead store's files (see lead_rows.h).
#include "store/sqlite/lead_rows.h"

#include "common/json.h"

namespace lms::store::sqlite::detail {

std::string tags_json(const std::vector<std::string>& tags) {
  return json::build([&](json::Writer& w) {
    w.StartArray();
    for (const auto& t : tags) json::string(w, t);
    w.EndArray();
  });
}

void tag_views(std::string_view text, std::vector<std::string_view>& views, std::vector<std::string>& decoded) {
  views.clear();
  if (text.size() <= 2) return;  // "[]"
  if (text.find('\\') == std::string_view::npos) {
    // The common case, written by tags_json without escapes: ["a","b"].
    std::size_t pos = 1;
    while (pos < text.size()) {
      auto open = text.find('"', pos);
      if (open == std::string_view::npos) break;
      auto close = text.find('"', open + 1);
      if (close == std::string_view::npos) break;
      views.push_back(text.substr(open + 1, close - open - 1));
      pos = close + 1;
    }
    return;
  }
  decoded.clear();
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (!doc.IsArray()) return;
  for (auto& v : doc.GetArray())
    if (v.IsString()) decoded.emplace_back(v.GetString(), v.GetStringLength());
  views.assign(decoded.begin(), decoded.end());
}

std::vector<std::string> parse_tags(std::string_view text) {
  std::vector<std::string_view> views;
  std::vector<std::string> decoded;
  tag_views(text, views, decoded);
  return std::vector<std::string>(views.begin(), views.end());
}

void bind_all(Statement& s, const std::vector<Bind>& binds) {
  int i = 1;
  for (const auto& b : binds) {
    if (std::holds_alternative<std::int64_t>(b))
      s.bind(i++, std::get<std::int64_t>(b));
    else
      s.bind(i++, std::string_view(std::get<std::string>(b)));
  }
}

}  // namespace lms::store::sqlite::detail

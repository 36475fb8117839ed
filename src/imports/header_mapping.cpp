// Header matching (synonyms, explicit mapping, custom columns) and record → lead values.
#include "imports/header_mapping.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <unordered_set>

#include "leads/model.h"

namespace lms::imports {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

struct Synonym {
  std::string_view normalized;
  LeadField field;
};

// Normalized forms (see normalize_header) of the headers recognized without a mapping.
constexpr Synonym kSynonyms[] = {
    {"name", LeadField::name},
    {"full name", LeadField::name},
    {"fullname", LeadField::name},
    {"contact name", LeadField::name},
    {"first name", LeadField::first_name},
    {"firstname", LeadField::first_name},
    {"given name", LeadField::first_name},
    {"givenname", LeadField::first_name},
    {"forename", LeadField::first_name},
    {"last name", LeadField::last_name},
    {"lastname", LeadField::last_name},
    {"surname", LeadField::last_name},
    {"family name", LeadField::last_name},
    {"familyname", LeadField::last_name},
    {"phone", LeadField::phone},
    {"phone number", LeadField::phone},
    {"phonenumber", LeadField::phone},
    {"phone no", LeadField::phone},
    {"mobile", LeadField::phone},
    {"mobile phone", LeadField::phone},
    {"mobile number", LeadField::phone},
    {"tel", LeadField::phone},
    {"telephone", LeadField::phone},
    {"telephone number", LeadField::phone},
    {"cell", LeadField::phone},
    {"cell phone", LeadField::phone},
    {"cellphone", LeadField::phone},
    {"email", LeadField::email},
    {"e mail", LeadField::email},
    {"email address", LeadField::email},
    {"e mail address", LeadField::email},
    {"emailaddress", LeadField::email},
    {"company", LeadField::company},
    {"company name", LeadField::company},
    {"companyname", LeadField::company},
    {"organization", LeadField::company},
    {"organisation", LeadField::company},
    {"organization name", LeadField::company},
    {"organisation name", LeadField::company},
    {"source", LeadField::source},
    {"lead source", LeadField::source},
    {"status", LeadField::status},
    {"lead status", LeadField::status},
    {"tags", LeadField::tags},
    {"tag", LeadField::tags},
};

std::optional<LeadField> field_for_header(std::string_view header) {
  std::string normalized = normalize_header(header);
  for (const auto& synonym : kSynonyms)
    if (synonym.normalized == normalized) return synonym.field;
  return std::nullopt;
}

// What an explicit mapping may say about a column.
enum class Target { field, custom, ignore };
struct MappingTarget {
  Target target = Target::field;
  LeadField field = LeadField::name;
};

std::optional<MappingTarget> parse_target(std::string_view name) {
  struct Known {
    std::string_view normalized;
    MappingTarget target;
  };
  static constexpr Known kKnown[] = {
      {"name", {Target::field, LeadField::name}},
      {"firstname", {Target::field, LeadField::first_name}},
      {"first name", {Target::field, LeadField::first_name}},
      {"lastname", {Target::field, LeadField::last_name}},
      {"last name", {Target::field, LeadField::last_name}},
      {"phone", {Target::field, LeadField::phone}},
      {"email", {Target::field, LeadField::email}},
      {"company", {Target::field, LeadField::company}},
      {"source", {Target::field, LeadField::source}},
      {"status", {Target::field, LeadField::status}},
      {"tags", {Target::field, LeadField::tags}},
      {"custom", {Target::custom, {}}},
      {"ignore", {Target::ignore, {}}},
      {"", {Target::ignore, {}}},
  };
  // firstName → "firstname"; first_name → "first name": both are accepted.
  std::string normalized = normalize_header(name);
  for (const auto& known : kKnown)
    if (known.normalized == normalized) return known.target;
  return std::nullopt;
}

std::string_view field_name(LeadField field) {
  switch (field) {
    case LeadField::name: return "name";
    case LeadField::first_name: return "firstName";
    case LeadField::last_name: return "lastName";
    case LeadField::phone: return "phone";
    case LeadField::email: return "email";
    case LeadField::company: return "company";
    case LeadField::source: return "source";
    case LeadField::status: return "status";
    case LeadField::tags: return "tags";
  }
  return "";
}

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// The column an explicit mapping key names: the exact (trimmed) header first, else the
// first header that matches it loosely.
std::optional<std::size_t> find_column(std::span<const std::string> header, std::string_view key) {
  std::string_view wanted = trim(key);
  for (std::size_t i = 0; i < header.size(); ++i)
    if (trim(header[i]) == wanted) return i;
  std::string normalized = normalize_header(key);
  for (std::size_t i = 0; i < header.size(); ++i)
    if (normalize_header(header[i]) == normalized) return i;
  return std::nullopt;
}

// The column's role: a field, custom, or nothing.
struct ColumnRole {
  bool decided = false;
  MappingTarget target;
};

void apply_explicit_mapping(std::span<const std::string> header, const ExplicitMapping& mapping,
                            std::vector<ColumnRole>& roles, HeaderMapping& result) {
  for (const auto& [key, field] : mapping) {
    auto target = parse_target(field);
    if (!target) {
      result.errors.push_back("mapping sends " + quoted(key) + " to unknown field " + quoted(field) +
                              " (known: name, firstName, lastName, phone, email, company, source, status, tags, "
                              "custom, ignore)");
      continue;
    }
    auto index = find_column(header, key);
    if (!index) {
      result.errors.push_back("mapping names column " + quoted(key) + ", which the file does not have");
      continue;
    }
    if (roles[*index].decided) {
      result.errors.push_back("mapping names column " + quoted(key) + " more than once");
      continue;
    }
    roles[*index] = {true, *target};
    if (target->target != Target::field) continue;
    auto& slot = result.columns.column(target->field);
    if (slot) {
      result.errors.push_back("mapping sends both " + quoted(trim(header[*slot])) + " and " + quoted(key) + " to " +
                              std::string(field_name(target->field)));
      continue;
    }
    slot = *index;
  }
}

void add_custom_column(ColumnMap& columns, std::unordered_set<std::string>& keys, std::size_t index,
                       std::string_view header_text) {
  std::string base(trim(header_text));
  if (base.empty()) base = "column " + std::to_string(index + 1);
  std::string key = base;
  for (int copy = 2; keys.count(key) != 0; ++copy) key = base + " (" + std::to_string(copy) + ")";
  keys.insert(key);
  columns.custom.push_back({index, std::move(key)});
}

std::string_view cell(std::span<const std::string_view> record, const std::optional<std::size_t>& column) {
  if (!column || *column >= record.size()) return {};
  return trim(record[*column]);
}

std::string join_name(std::string_view first, std::string_view last) {
  std::string name(first);
  if (!name.empty() && !last.empty()) name.push_back(' ');
  name += last;
  return name;
}

std::vector<std::string> split_tags(std::string_view text) {
  std::vector<std::string> tags;
  while (!text.empty()) {
    std::size_t stop = text.find_first_of(",;|");
    std::string_view tag = trim(text.substr(0, stop));
    if (!tag.empty() && std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.emplace_back(tag);
    if (stop == std::string_view::npos) break;
    text.remove_prefix(stop + 1);
  }
  return tags;
}

std::string custom_json(std::span<const std::string_view> record, const std::vector<CustomColumn>& custom) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  for (const auto& column : custom) {
    std::string_view value = cell(record, column.index);
    if (value.empty()) continue;
    leads::check_custom_string(column.key, value);
    writer.Key(column.key.data(), static_cast<rapidjson::SizeType>(column.key.size()));
    writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

std::string normalize_header(std::string_view text) {
  std::string normalized;
  normalized.reserve(text.size());
  bool pending_space = false;
  for (char c : trim(text)) {
    if (c == '_' || c == '-' || is_space(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space && !normalized.empty()) normalized.push_back(' ');
    pending_space = false;
    normalized.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return normalized;
}

namespace {

template <class Map>
auto& column_of(Map& map, LeadField field) {
  switch (field) {
    case LeadField::name: return map.name;
    case LeadField::first_name: return map.first_name;
    case LeadField::last_name: return map.last_name;
    case LeadField::phone: return map.phone;
    case LeadField::email: return map.email;
    case LeadField::company: return map.company;
    case LeadField::source: return map.source;
    case LeadField::status: return map.status;
    case LeadField::tags: return map.tags;
  }
  return map.name;
}

}  // namespace

std::optional<std::size_t>& ColumnMap::column(LeadField field) { return column_of(*this, field); }
const std::optional<std::size_t>& ColumnMap::column(LeadField field) const { return column_of(*this, field); }

std::string ColumnMap::unusable_reason() const {
  std::string missing_name = "no name column (Name, Full Name, or First Name and Last Name)";
  std::string missing_contact = "no phone or email column (Phone, Phone Number, Mobile, Tel, Email, E-mail)";
  if (!has_name() && !phone && !email) return "the file has " + missing_name + " and " + missing_contact;
  if (!has_name()) return "the file has " + missing_name;
  if (!phone && !email) return "the file has " + missing_contact;
  return {};
}

std::string HeaderMapping::error_message() const {
  std::string message;
  for (const auto& error : errors) {
    if (!message.empty()) message += "; ";
    message += error;
  }
  return message;
}

ParsedMapping parse_mapping_json(std::string_view json) {
  ParsedMapping parsed;
  rapidjson::Document document;
  document.Parse(json.data(), json.size());
  if (document.HasParseError()) {
    parsed.error = std::string("mapping is not valid JSON: ") + rapidjson::GetParseError_En(document.GetParseError());
    return parsed;
  }
  if (!document.IsObject()) {
    parsed.error = "mapping must be a JSON object {csvHeader: field}";
    return parsed;
  }
  // Indexing rather than iterating: RapidJSON's iterator comparison warns under C++20 clang.
  for (rapidjson::SizeType i = 0; i < document.MemberCount(); ++i) {
    const auto& member = document.MemberBegin()[i];
    std::string header(member.name.GetString(), member.name.GetStringLength());
    if (member.value.IsNull()) {
      parsed.mapping.emplace_back(std::move(header), "ignore");
    } else if (member.value.IsString()) {
      parsed.mapping.emplace_back(std::move(header),
                                  std::string(member.value.GetString(), member.value.GetStringLength()));
    } else {
      parsed.error = "mapping value for " + quoted(header) + " must be a field name";
      parsed.mapping.clear();
      return parsed;
    }
  }
  return parsed;
}

HeaderMapping map_headers(std::span<const std::string> header, const ExplicitMapping& explicit_mapping) {
  HeaderMapping result;
  std::vector<ColumnRole> roles(header.size());
  apply_explicit_mapping(header, explicit_mapping, roles, result);

  for (std::size_t i = 0; i < header.size(); ++i) {
    if (roles[i].decided) continue;
    auto field = field_for_header(header[i]);
    if (!field || result.columns.column(*field)) {
      roles[i] = {true, {Target::custom, {}}};
      continue;
    }
    roles[i] = {true, {Target::field, *field}};
    result.columns.column(*field) = i;
  }

  std::unordered_set<std::string> custom_keys;
  for (std::size_t i = 0; i < header.size(); ++i)
    if (roles[i].target.target == Target::custom) add_custom_column(result.columns, custom_keys, i, header[i]);
  return result;
}

LeadValues lead_values(std::span<const std::string_view> record, const ColumnMap& columns) {
  LeadValues values;
  values.name = std::string(cell(record, columns.name));
  if (values.name.empty()) values.name = join_name(cell(record, columns.first_name), cell(record, columns.last_name));
  values.phone = std::string(cell(record, columns.phone));
  values.email = std::string(cell(record, columns.email));
  values.company = std::string(cell(record, columns.company));
  values.source = std::string(cell(record, columns.source));
  values.status = std::string(cell(record, columns.status));
  values.tags = split_tags(cell(record, columns.tags));
  values.custom_json = custom_json(record, columns.custom);
  return values;
}

}  // namespace lms::imports

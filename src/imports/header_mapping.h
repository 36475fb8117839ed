// Which CSV column feeds which lead field: header synonyms, an explicit `mapping`
// ({csvHeader: field}) that overrides them, custom columns, and turning one record into the
// raw lead values the import validates. Plain values only: no HTTP, no store.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lms::imports {

enum class LeadField { name, first_name, last_name, phone, email, company, source, status, tags };

struct CustomColumn {
  std::size_t index = 0;
  std::string key;  // the header text trimmed; made unique, never empty
};

struct ColumnMap {
  std::optional<std::size_t> name, first_name, last_name, phone, email, company, source, status, tags;
  std::vector<CustomColumn> custom;  // in column order

  std::optional<std::size_t>& column(LeadField field);
  const std::optional<std::size_t>& column(LeadField field) const;
  bool has_name() const { return name || first_name || last_name; }
  // Enough to import anything: a name column (or first/last) and a phone or email column.
  bool usable() const { return has_name() && (phone || email); }
  // What is missing, for the 422 message; empty when usable.
  std::string unusable_reason() const;
};

// An explicit mapping in document order: header text → field name. Field names are the
// contract's (name, phone, email, company, source, status, tags) plus firstName, lastName,
// custom (keep the column in custom) and ignore (drop it; a JSON null means the same).
using ExplicitMapping = std::vector<std::pair<std::string, std::string>>;

struct ParsedMapping {
  ExplicitMapping mapping;
  std::string error;  // empty when the text was a JSON object of strings or nulls
};
ParsedMapping parse_mapping_json(std::string_view json);

struct HeaderMapping {
  ColumnMap columns;
  std::vector<std::string> errors;  // problems with the explicit mapping, one sentence each
  bool ok() const { return errors.empty(); }
  std::string error_message() const;  // the errors joined with "; "
};

// Maps a header row. Headers are compared case-insensitively, ignoring surrounding spaces
// and treating '_', '-' and spaces alike. Explicit entries win; of several columns matching
// the same field otherwise, the first wins and the others go to custom.
HeaderMapping map_headers(std::span<const std::string> header, const ExplicitMapping& explicit_mapping = {});

// A header text in the form used for matching: "  E-Mail_Address " → "e mail address".
std::string normalize_header(std::string_view text);

// The raw values of one record, trimmed; empty when the column is absent or the cell empty.
struct LeadValues {
  std::string name;  // the name column, else first and last name joined with a space
  std::string phone, email, company, source, status;
  std::vector<std::string> tags;  // the tags cell split on ',', ';' and '|', without blanks or repeats
  std::string custom_json = "{}";  // {key: value} of the non-empty custom cells
};
LeadValues lead_values(std::span<const std::string_view> record, const ColumnMap& columns);

}  // namespace lms::imports

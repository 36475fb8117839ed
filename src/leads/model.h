// The lead domain: leads, their activity timeline, and the shapes of list queries. Plain
// values shared by the service, the stores and the renderers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"

namespace lms::leads {

// The contract's statuses, in their wire spelling.
bool is_status(std::string_view text);
inline constexpr std::string_view kDefaultStatus = "new";

struct Lead {
  std::string id;
  std::string organization_id;
  std::string name;
  std::optional<std::string> phone;  // E.164
  std::optional<std::string> email;  // trimmed, lower-case
  std::optional<std::string> company;
  std::optional<std::string> source;
  std::string status{kDefaultStatus};
  std::optional<std::string> assigned_to;  // user id
  std::vector<std::string> tags;
  std::string custom_json = "{}";  // a validated JSON object of string/number/boolean values
  std::int64_t version = 1;
  Millis created_at = 0;
  Millis updated_at = 0;
  std::optional<std::string> created_by;
};

// A lead as a store reads it, borrowed for the duration of one call: exports render rows
// straight from the database's buffers instead of building a Lead per row. Absent optional
// fields are empty.
struct LeadView {
  std::string_view id, name, phone, email, company, source, status, assigned_to;
  std::span<const std::string_view> tags;
  Millis created_at = 0;
  Millis updated_at = 0;
};

struct Activity {
  std::string id;
  std::string lead_id;
  std::string type;  // created, updated, status_changed, assigned, note, imported, deleted
  std::optional<std::string> actor_id;
  std::string data_json = "{}";
  Millis created_at = 0;
};

enum class SortKey { created_desc, created_asc, updated_desc, updated_asc, name_asc };
std::optional<SortKey> parse_sort(std::string_view text);
std::string_view sort_name(SortKey sort);

struct LeadFilter {
  std::optional<std::string> status;
  std::optional<std::string> assigned_to;  // a user id
  bool unassigned = false;                 // assignedTo=none
  std::optional<std::string> source;
  std::optional<std::string> tag;
  std::optional<std::string> q;  // case-insensitive substring, searched literally
  std::optional<Millis> created_from;
  std::optional<Millis> created_to;
};

// Where the previous page ended: the sort key of its last row and that row's id, which breaks
// ties (ids are unique and time-ordered). Only what every engine has, so a position means the
// same on any engine and any instance.
struct Position {
  SortKey sort = SortKey::created_desc;
  std::int64_t number = 0;  // created_at / updated_at
  std::string text;         // name
  std::string id;           // the lead's id
};

struct LeadQuery {
  LeadFilter filter;
  SortKey sort = SortKey::created_desc;
  int limit = 50;
  std::optional<Position> after;
};

// A lead with the engine's own row key (stores only: it never leaves the engine).
struct LeadRow {
  Lead lead;
  std::int64_t seq = 0;
};

// The dashboard's counts over the leads a filter selects (GET /api/leads/stats).
struct LeadStats {
  std::vector<std::pair<std::string, std::int64_t>> by_status;                 // every status present
  std::vector<std::pair<std::string, std::int64_t>> by_source;                 // "" for none; most first
  std::vector<std::pair<std::optional<std::string>, std::int64_t>> by_assignee;  // most first
  std::vector<std::pair<std::int64_t, std::int64_t>> created_per_day;          // UTC day number (since 1970) → count
};
// Adds a source's count, no source (NULL) and "" being one: "".
void add_source_count(LeadStats& stats, std::string_view source, std::int64_t count);
// At most this many sources and assignees are counted (the largest ones).
inline constexpr int kStatsTopSources = 12;
inline constexpr int kStatsTopAssignees = 100;

struct LeadPage {
  std::vector<Lead> items;
  std::optional<Position> next;  // absent on the last page
};

// One page of a lead's timeline, newest first (by activity id: ids are time-ordered, and
// increase within a millisecond too); `next_before` is the id of the last activity on the page
// when more follow.
struct ActivityPage {
  std::vector<Activity> items;
  std::optional<std::string> next_before;
};

// Search: a phone-like query ("(415) 555", "+44 20": digits, spaces and + - ( ) .) searches
// the digits of phone numbers; returns those digits, or nullopt for any other query. Every
// engine applies this rule.
std::optional<std::string> phone_query_digits(std::string_view q);

// Changes applied to many leads at once by POST /api/leads/bulk.
struct BulkChange {
  std::optional<std::string> status;
  std::optional<std::optional<std::string>> assigned_to;  // set to a user or to nobody
  std::optional<std::vector<std::string>> tags;
};

// A string value of `custom` (API bodies and imported columns alike): free text of at most
// 2000 characters, kept as sent. Throws ApiError 422 naming `custom.<key>`. Here, with the
// model, so the CSV header mapping (and its fuzz target) need not link the service.
void check_custom_string(std::string_view key, std::string_view value);

}  // namespace lms::leads

// The SQL of the PostgreSQL lead store and the values it exchanges: text[] literals (tags and
// the unnest() columns of multi-row statements), the WHERE clause of a lead filter with its
// keyset range and sort, and leads read back from result rows. Pure functions: no connection.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "leads/model.h"
#include "store/postgres/connection.h"

namespace lms::store::postgres::lead_queries {

// ---- values ----

// A text[] literal in the server's text format, every element quoted ({"a","b\"c"}); a nullopt
// element is NULL.
std::string text_array(const std::vector<std::string>& values);
std::string text_array(const std::vector<std::optional<std::string>>& values);
std::string bigint_array(const std::vector<std::int64_t>& values);

// The elements of a text[] value as the server prints it, as views of `text` when none has an
// escape; otherwise they are decoded into `decoded`, which the views then point into.
void array_views(std::string_view text, std::vector<std::string_view>& views, std::vector<std::string>& decoded);
std::vector<std::string> parse_text_array(std::string_view text);

// Whether the server can take `text` as a text value: valid UTF-8 without NUL. An id or filter
// value that is not can match no stored row (SQLite's answer), instead of failing the query.
bool is_storable(std::string_view text);

// ---- lead rows ----

// The lead columns every read selects, in this order (the Col indexes).
inline constexpr const char* kLeadColumns =
    "l.seq, l.created_at, l.updated_at, l.id, l.name, l.phone, l.email, l.company, l.source, l.status, "
    "l.assigned_to, l.tags, l.custom, l.version, l.created_by";
enum Col { seq, created_at, updated_at, id, name, phone, email, company, source, status, assigned_to, tags, custom,
           version, created_by };
// Exports read the first columns only (up to and including tags).
inline constexpr const char* kExportColumns =
    "l.seq, l.created_at, l.updated_at, l.id, l.name, l.phone, l.email, l.company, l.source, l.status, "
    "l.assigned_to, l.tags";

leads::LeadRow read_lead(const Result& r, int row, const std::string& org_id);
// Where a page that ended on `row` continues.
leads::Position position_of(const Result& r, int row, leads::SortKey sort);

// ---- statements ----

// A WHERE clause under construction and its parameters, numbered as they are added.
struct Where {
  std::string sql;
  Params params;
  // Adds a parameter; returns its placeholder ("$3").
  std::string add(Param value);
};

// The rows of the organization that `filter` selects; nullopt when it can select none.
std::optional<Where> filter_where(const std::string& org_id, const leads::LeadFilter& filter);
// Narrows `where` to the rows after `after` in its sort order.
void append_after(Where& where, const leads::Position& after);
const char* order_by(leads::SortKey sort);
// SELECT `columns` of the rows of `where`, sorted, at most `limit` of them.
std::string page_sql(const char* columns, Where& where, leads::SortKey sort, std::int64_t limit);

// The duplicate lookup: the lead other than `lead` holding its phone, else its email
// ($1 org, $2 phone, $3 email, $4 the lead's own id).
inline constexpr const char* kFindDuplicate =
    "SELECT id FROM (SELECT id, 1 AS k FROM leads WHERE org = $1 AND phone = $2 AND id <> $4 "
    "UNION ALL SELECT id, 2 AS k FROM leads WHERE org = $1 AND email = $3 AND id <> $4) d ORDER BY k LIMIT 1";
Params find_duplicate_params(const std::string& org_id, const leads::Lead& lead);

// One lead and its activity in one statement; returns a row when the lead was inserted
// (nothing when its phone, email or id is taken, or the organization does not exist).
extern const char* const kInsertLead;
Params insert_lead_params(const leads::Lead& lead, const leads::Activity& activity);

// Many leads of one organization and a `created` activity each; duplicates are skipped (the
// first of the batch wins). Affects one row per inserted lead.
extern const char* const kInsertLeads;
Params insert_leads_params(const std::string& org_id, std::span<const leads::Lead> leads,
                           const std::string& activity_type, const std::string& activity_data);

// New states of leads (by seq) and activities, in one statement. May violate the unique
// indexes when a phone or email changes.
extern const char* const kWriteChanges;
struct SeqLead {
  std::int64_t seq;
  leads::Lead lead;
};
Params write_changes_params(const std::string& org_id, const std::vector<SeqLead>& leads,
                            const std::vector<leads::Activity>& activities);

// Deletes a lead and records its activity; returns a row when the lead existed.
extern const char* const kDeleteLead;
Params delete_lead_params(const std::string& org_id, const std::string& lead_id, const leads::Activity& activity);

// One activity, unless the organization does not exist (then it affects no row).
extern const char* const kInsertActivity;
Params insert_activity_params(const std::string& org_id, const leads::Activity& activity);

}  // namespace lms::store::postgres::lead_queries

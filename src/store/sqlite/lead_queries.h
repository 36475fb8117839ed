// Builds the SQL of lead lists and counts: filter conditions, sort order, keyset ranges and
// the sorted SELECT. Internal to the SQLite lead store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/validate.h"
#include "store/sqlite/lead_rows.h"
#include "store/sqlite/search_planner.h"
#include "store/sqlite/sqlite_store.h"

namespace lms::store::sqlite::detail {

// Appends the WHERE conditions of a filter. Returns false when the filter can match nothing
// (an assignee that does not exist), so the caller can answer without a query.
struct FilterSql {
  std::string where;
  std::vector<Bind> binds;
  bool drive_by_rowid = false;  // few search hits: look them up by rowid, then sort
};

const char* order_by(leads::SortKey sort);

// The sort key of `sort` followed by the row key, as result columns.
const char* sort_columns(leads::SortKey sort);

// Rows strictly after `after` in its sort order; with `through`, rows up to and including it.
void append_keyset(FilterSql& sql, const leads::Position& after, bool through = false);

// SELECT `columns` of the rows of `sql` in `sort` order (LIMIT left to the caller).
std::string select_sorted(const char* columns, const FilterSql& sql, leads::SortKey sort);

// The WHERE clause of a filter; nullopt when it can match nothing (unknown assignee).
// With a planner, search picks its plan by frequency; without one, it looks hits up by rowid
// (counts), indexed_through saying where the search index ends.
template <class UserKey>
std::optional<FilterSql> filter_sql(std::int64_t org, const leads::LeadFilter& f, UserKey&& user_key,
                                    std::int64_t indexed_through, const SearchPlanner* planner = nullptr) {
  FilterSql out;
  out.where = "l.org = ?";
  out.binds.emplace_back(org);
  if (f.status) {
    out.where += " AND l.status = ?";
    out.binds.emplace_back(*f.status);
  }
  if (f.assigned_to) {
    auto key = user_key(*f.assigned_to);
    if (!key) return std::nullopt;
    out.where += " AND l.assignee = ?";
    out.binds.emplace_back(*key);
  } else if (f.unassigned) {
    out.where += " AND l.assignee IS NULL";
  }
  if (f.source) {
    out.where += " AND l.source = ?";
    out.binds.emplace_back(*f.source);
  }
  if (f.tag) {
    out.where += " AND l.seq IN (SELECT lead FROM lead_tags WHERE org = ? AND tag = ?)";
    out.binds.emplace_back(org);
    out.binds.emplace_back(*f.tag);
  }
  if (f.q && !f.q->empty()) {
    std::string needle = leads::phone_query_digits(*f.q).value_or(*f.q);
    if (validate::utf8_length(needle) >= 3) {
      // One FTS5 phrase, quotes doubled: the trigram index matches it as a literal substring,
      // whatever FTS or SQL syntax it contains.
      std::string phrase = "\"";
      for (char ch : needle) {
        phrase.push_back(ch);
        if (ch == '"') phrase.push_back('"');
      }
      phrase.push_back('"');
      std::int64_t hits = 0;
      const std::int64_t row_set_band = planner ? planner->bands.row_set_band : 0;
      if (planner)
        hits = planner->estimate(phrase) > row_set_band ? row_set_band + 1 : planner->collect(phrase, needle, row_set_band);
      if (planner && hits > row_set_band) {
        append_scan_condition(out, needle);
      } else if (planner && hits > planner->bands.rowid_band) {
        out.where += " AND lms_in_row_set(l.seq)";
      } else {
        out.drive_by_rowid = planner != nullptr;
        out.where +=
            " AND l.seq IN (SELECT rowid FROM leads_search WHERE leads_search MATCH ? "
            "UNION ALL SELECT t.seq FROM leads t WHERE t.seq > ? AND " +
            scan_condition("t") + ")";
        out.binds.emplace_back(std::move(phrase));
        out.binds.emplace_back(indexed_through);
        bind_scan(out.binds, needle);
      }
    } else {
      // Too short for trigrams: scan in the requested order, which stops at the page size.
      append_scan_condition(out, needle);
    }
  }
  if (f.created_from) {
    out.where += " AND l.created_at >= ?";
    out.binds.emplace_back(*f.created_from);
  }
  if (f.created_to) {
    out.where += " AND l.created_at < ?";
    out.binds.emplace_back(*f.created_to);
  }
  return out;
}

// The WHERE clause of the rows of `query` after query.after and, with `through`, up to it.
template <class UserKey>
std::optional<FilterSql> range_sql(Connection& c, std::int64_t org, const leads::LeadQuery& query,
                                   const std::optional<leads::Position>& through, const ReadTuning& tuning,
                                   UserKey&& user_key) {
  auto planner = make_search_planner(c, tuning, SqliteStore::search_indexed_through(c));
  auto sql = filter_sql(org, query.filter, user_key, planner.indexed_through, &planner);
  if (!sql) return sql;
  if (query.after) append_keyset(*sql, *query.after);
  if (through) append_keyset(*sql, *through, true);
  return sql;
}

}  // namespace lms::store::sqlite::detail

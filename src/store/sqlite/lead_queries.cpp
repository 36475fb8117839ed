// Building the SQL of lead lists: sort order, keyset ranges, the sorted SELECT (see lead_queries.h).
#include "store/sqlite/lead_queries.h"

namespace lms::store::sqlite::detail {

using leads::SortKey;

namespace {

bool descending(SortKey sort) { return sort == SortKey::created_desc || sort == SortKey::updated_desc; }

}  // namespace

const char* order_by(SortKey sort) {
  switch (sort) {
    case SortKey::created_desc: return " ORDER BY l.created_at DESC, l.id DESC";
    case SortKey::created_asc: return " ORDER BY l.created_at ASC, l.id ASC";
    case SortKey::updated_desc: return " ORDER BY l.updated_at DESC, l.id DESC";
    case SortKey::updated_asc: return " ORDER BY l.updated_at ASC, l.id ASC";
    case SortKey::name_asc: return " ORDER BY l.name ASC, l.id ASC";
  }
  return "";
}

const char* sort_columns(SortKey sort) {
  switch (sort) {
    case SortKey::created_desc:
    case SortKey::created_asc: return "l.created_at, l.id";
    case SortKey::updated_desc:
    case SortKey::updated_asc: return "l.updated_at, l.id";
    case SortKey::name_asc: return "l.name, l.id";
  }
  return "";
}

void append_keyset(FilterSql& sql, const leads::Position& after, bool through) {
  sql.where += " AND (";
  sql.where += sort_columns(after.sort);
  sql.where += ")";
  if (through)
    sql.where += descending(after.sort) ? " >= (?, ?)" : " <= (?, ?)";
  else
    sql.where += descending(after.sort) ? " < (?, ?)" : " > (?, ?)";
  if (after.sort == SortKey::name_asc)
    sql.binds.emplace_back(after.text);
  else
    sql.binds.emplace_back(after.number);
  sql.binds.emplace_back(after.id);
}

std::string select_sorted(const char* columns, const FilterSql& sql, SortKey sort) {
  // NOT INDEXED keeps rowid lookups but stops the planner from walking a whole index in
  // sort order to find a handful of search hits.
  return std::string("SELECT ") + columns + " FROM leads l" + (sql.drive_by_rowid ? " NOT INDEXED" : "") +
         " WHERE " + sql.where + order_by(sort);
}

}  // namespace lms::store::sqlite::detail

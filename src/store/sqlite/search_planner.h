// How a text search drives a lead query (SearchPlanner: rowid lookups, the connection's
// RowSet, or a substring scan) and the scan conditions it uses. Internal to the SQLite lead store.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "store/sqlite/lead_rows.h"
#include "store/sqlite/sqlite_store.h"

namespace lms::store::sqlite::detail {

struct FilterSql;  // lead_queries.h

// How a search phrase drives a page query, by its number of FTS hits:
//  - up to ReadTuning::rowid_band (2,000): the hits are looked up by rowid and sorted;
//  - up to row_set_band (50,000): the hits are collected into the connection's RowSet (~0.2 us each), then
//    SQLite walks the sort index and tests each entry against it (index entries only,
//    ~0.1 us each) until the page is full;
//  - more: the phrase is so common that testing rows in sort order fills the page sooner than
//    collecting its hits would (substring test with ASCII case folding).

//  Collecting costs as much as the hits it collects, so a phrase's frequency is first
//  estimated from the newest sample_rows (5,000) rows (a rowid range FTS5 seeks to directly).
struct SearchPlanner {
  ReadTuning bands;
  // Rows above this mark are not in the search index yet (see IndexTuning); every plan tests
  // them directly, a rowid range of at most a few thousand rows while the writer keeps up.
  std::int64_t indexed_through = 0;
  // Estimated number of rows matching the phrase in the whole table.
  std::function<std::int64_t(const std::string& fts_phrase)> estimate;
  // Puts the rows matching the phrase (the needle, in rows not yet indexed) into the
  // connection's RowSet, up to `limit` + 1, and returns how many it put.
  std::function<std::int64_t(const std::string& fts_phrase, const std::string& needle, std::int64_t limit)> collect;
};

// The substring test on the row itself (ASCII case folding), for rows of table alias `t`.
std::string scan_condition(const char* t);

void bind_scan(std::vector<Bind>& binds, const std::string& needle);

void append_scan_condition(FilterSql& out, const std::string& needle);

// Empties the connection's RowSet when a query that may have filled it ends.
struct ClearRowSet {
  RowSet& set;
  ~ClearRowSet() { set.clear(); }
};

SearchPlanner make_search_planner(Connection& c, const ReadTuning bands, std::int64_t indexed_through);

}  // namespace lms::store::sqlite::detail

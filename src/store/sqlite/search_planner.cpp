// The SearchPlanner of the SQLite lead store and its scan conditions (see search_planner.h).
#include "store/sqlite/search_planner.h"

#include "store/sqlite/lead_queries.h"

namespace lms::store::sqlite::detail {

namespace {

std::string lower_ascii(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

}  // namespace

std::string scan_condition(const char* t) {
  std::string c = "(instr(lower(";
  c += t;
  c += ".name), ?) > 0 OR instr(coalesce(";
  c += t;
  c += ".email, ''), ?) > 0 OR instr(lower(coalesce(";
  c += t;
  c += ".company, '')), ?) > 0 OR instr(substr(coalesce(";
  c += t;
  c += ".phone, ''), 2), ?) > 0)";
  return c;
}

void bind_scan(std::vector<Bind>& binds, const std::string& needle) {
  std::string lowered = lower_ascii(needle);
  for (int i = 0; i < 4; ++i) binds.emplace_back(lowered);
}

void append_scan_condition(FilterSql& out, const std::string& needle) {
  out.where += " AND " + scan_condition("l");
  bind_scan(out.binds, needle);
}

SearchPlanner make_search_planner(Connection& c, const ReadTuning bands, std::int64_t indexed_through) {
  return SearchPlanner{bands, indexed_through,
                       [&c, bands](const std::string& phrase) -> std::int64_t {
                         const std::int64_t rows = SqliteStore::last_lead_seq(c);
                         if (rows <= bands.sample_rows) return 0;  // small enough to collect outright
                         auto sample =
                             c.prepare("SELECT count(*) FROM leads_search WHERE leads_search MATCH ? AND rowid > ?");
                         sample.bind(1, phrase).bind(2, rows - bands.sample_rows);
                         std::int64_t in_sample = sample.step() ? sample.integer(0) : 0;
                         return in_sample * rows / bands.sample_rows;
                       },
                       [&c, indexed_through](const std::string& phrase, const std::string& needle,
                                             std::int64_t limit) -> std::int64_t {
                         auto hits = c.prepare("SELECT rowid FROM leads_search WHERE leads_search MATCH ? LIMIT ?");
                         hits.bind(1, phrase).bind(2, limit + 1);
                         std::int64_t n = 0;
                         for (; hits.step(); ++n) c.row_set().add(hits.integer(0));
                         if (n > limit) return n;
                         std::vector<Bind> binds{indexed_through};
                         bind_scan(binds, needle);
                         binds.emplace_back(limit + 1 - n);
                         auto tail = c.prepare_text("SELECT t.seq FROM leads t WHERE t.seq > ? AND " +
                                                    scan_condition("t") + " LIMIT ?");
                         bind_all(tail, binds);
                         for (; tail.step(); ++n) c.row_set().add(tail.integer(0));
                         return n;
                       }};
}

}  // namespace lms::store::sqlite::detail

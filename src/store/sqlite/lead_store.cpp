#include "store/sqlite/lead_store.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <stdexcept>
#include <variant>

#include "common/ids.h"
#include "common/json.h"
#include "common/validate.h"

namespace lms::store::sqlite {

using leads::Activity;
using leads::Lead;
using leads::LeadRow;
using leads::SortKey;

namespace {

constexpr const char* kLeadColumns =
    "l.seq, l.id, l.name, l.phone, l.email, l.company, l.source, l.status, l.assignee, l.tags, l.custom, "
    "l.version, l.created_at, l.updated_at, l.created_by";

std::string tags_json(const std::vector<std::string>& tags) {
  return json::build([&](json::Writer& w) {
    w.StartArray();
    for (const auto& t : tags) json::string(w, t);
    w.EndArray();
  });
}

// Tags as the column stores them (a JSON array of strings) into views of `text`, without
// allocating in the usual case of tags without escapes; escaped ones are decoded into
// `decoded`, which the views then point into.
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

using Bind = std::variant<std::int64_t, std::string>;

void bind_all(Statement& s, const std::vector<Bind>& binds) {
  int i = 1;
  for (const auto& b : binds) {
    if (std::holds_alternative<std::int64_t>(b))
      s.bind(i++, std::get<std::int64_t>(b));
    else
      s.bind(i++, std::string_view(std::get<std::string>(b)));
  }
}

// Binds the 15 columns of a new lead, in the order of the INSERT statements below.
Statement& bind_new_lead(Statement& s, std::int64_t org, std::optional<std::int64_t> assignee, const Lead& lead) {
  return s.bind(1, lead.id)
      .bind(2, org)
      .bind(3, lead.name)
      .bind(4, lead.phone)
      .bind(5, lead.email)
      .bind(6, lead.company)
      .bind(7, lead.source)
      .bind(8, lead.status)
      .bind(9, assignee)
      .bind(10, tags_json(lead.tags))
      .bind(11, lead.custom_json)
      .bind(12, lead.version)
      .bind(13, lead.created_at)
      .bind(14, lead.updated_at)
      .bind(15, lead.created_by);
}

// The text the substring search sees: name, email, company and the phone's digits.
// Whether a change leaves the text search looks at (kSearchDocument in sqlite_store.cpp) as it was.
bool same_search_text(const Lead& a, const Lead& b) {
  return a.name == b.name && a.email == b.email && a.company == b.company && a.phone == b.phone;
}

std::string lower_ascii(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Appends the WHERE conditions of a filter. Returns false when the filter can match nothing
// (an assignee that does not exist), so the caller can answer without a query.
struct FilterSql {
  std::string where;
  std::vector<Bind> binds;
  bool drive_by_rowid = false;  // few search hits: look them up by rowid, then sort
};

}  // namespace

std::optional<std::int64_t> SqliteLeadStore::org_key(Connection& c, const std::string& org_id) {
  return cached_rowid(c, org_keys_, "SELECT rowid FROM organizations WHERE id = ?", org_id);
}

std::optional<std::int64_t> SqliteLeadStore::user_key(Connection& c, const std::string& id) {
  auto key = cached_rowid(c, user_keys_, "SELECT rowid FROM users WHERE id = ?", id);
  if (key) {
    std::lock_guard lock(keys_mutex_);
    user_ids_.emplace(*key, id);
  }
  return key;
}

std::optional<std::int64_t> SqliteLeadStore::cached_rowid(Connection& c,
                                                          std::unordered_map<std::string, std::int64_t>& cache,
                                                          const char* sql, const std::string& id) {
  {
    std::lock_guard lock(keys_mutex_);
    auto it = cache.find(id);
    if (it != cache.end()) return it->second;
  }
  auto s = c.prepare(sql);
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  std::int64_t key = s.integer(0);
  std::lock_guard lock(keys_mutex_);
  cache.emplace(id, key);
  return key;
}

std::optional<std::string> SqliteLeadStore::user_id(Connection& c, std::optional<std::int64_t> key) {
  if (!key) return std::nullopt;
  {
    std::lock_guard lock(keys_mutex_);
    auto it = user_ids_.find(*key);
    if (it != user_ids_.end()) return it->second;
  }
  auto s = c.prepare("SELECT id FROM users WHERE rowid = ?");
  s.bind(1, *key);
  if (!s.step()) return std::nullopt;
  std::string id = s.text(0);
  std::lock_guard lock(keys_mutex_);
  user_ids_.emplace(*key, id);
  user_keys_.emplace(id, *key);
  return id;
}

LeadRow SqliteLeadStore::read_row(Connection& c, const Statement& s, const std::string& org_id) {
  LeadRow row;
  row.seq = s.integer(0);
  Lead& l = row.lead;
  l.id = s.text(1);
  l.organization_id = org_id;
  l.name = s.text(2);
  l.phone = s.optional_text(3);
  l.email = s.optional_text(4);
  l.company = s.optional_text(5);
  l.source = s.optional_text(6);
  l.status = s.text(7);
  if (!s.is_null(8)) l.assigned_to = user_id(c, s.integer(8));
  l.tags = parse_tags(s.text(9));
  l.custom_json = s.text(10);
  l.version = s.integer(11);
  l.created_at = s.integer(12);
  l.updated_at = s.integer(13);
  l.created_by = s.optional_text(14);
  return row;
}

std::optional<LeadRow> SqliteLeadStore::select_lead(Connection& c, std::int64_t org, const std::string& org_id,
                                                    const std::string& lead_id) {
  auto s = c.prepare(
      "SELECT l.seq, l.id, l.name, l.phone, l.email, l.company, l.source, l.status, l.assignee, l.tags, l.custom, "
      "l.version, l.created_at, l.updated_at, l.created_by FROM leads l WHERE l.id = ? AND l.org = ?");
  s.bind(1, lead_id).bind(2, org);
  if (!s.step()) return std::nullopt;
  return read_row(c, s, org_id);
}

void SqliteLeadStore::write_tags(Connection& c, std::int64_t org, std::int64_t seq,
                                 const std::vector<std::string>& tags) {
  c.prepare("DELETE FROM lead_tags WHERE lead = ?").bind(1, seq).run();
  for (const auto& tag : tags)
    c.prepare("INSERT OR IGNORE INTO lead_tags (org, tag, lead) VALUES (?, ?, ?)")
        .bind(1, org)
        .bind(2, tag)
        .bind(3, seq)
        .run();
}

void SqliteLeadStore::write_activity(Connection& c, std::int64_t org, const Activity& a) {
  c.prepare(
       "INSERT INTO activities (id, org, lead_id, type, actor_id, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(1, a.id)
      .bind(2, org)
      .bind(3, a.lead_id)
      .bind(4, a.type)
      .bind(5, a.actor_id)
      .bind(6, a.data_json)
      .bind(7, a.created_at)
      .run();
}

std::string SqliteLeadStore::find_duplicate(Connection& c, std::int64_t org, const Lead& lead) {
  if (lead.phone) {
    auto s = c.prepare("SELECT id FROM leads WHERE org = ? AND phone = ? AND id <> ?");
    s.bind(1, org).bind(2, *lead.phone).bind(3, lead.id);
    if (s.step()) return s.text(0);
  }
  if (lead.email) {
    auto s = c.prepare("SELECT id FROM leads WHERE org = ? AND email = ? AND id <> ?");
    s.bind(1, org).bind(2, *lead.email).bind(3, lead.id);
    if (s.step()) return s.text(0);
  }
  return {};
}

Task<WriteResult> SqliteLeadStore::insert_lead(Lead lead, Activity activity) {
  co_return co_await engine_.write([&](Connection& c) -> WriteResult {
    auto org = org_key(c, lead.organization_id);
    if (!org) throw std::logic_error("insert_lead: unknown organization");
    std::optional<std::int64_t> assignee;
    if (lead.assigned_to) assignee = user_key(c, *lead.assigned_to);
    try {
      auto insert = c.prepare(
          "INSERT INTO leads (id, org, name, phone, email, company, source, status, assignee, tags, custom, version, "
          "created_at, updated_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      bind_new_lead(insert, *org, assignee, lead).run();
    } catch (const DbError& e) {
      if (!e.is_unique_violation()) throw;
      return WriteResult{WriteOutcome::duplicate, find_duplicate(c, *org, lead), std::nullopt, false};
    }
    std::int64_t seq = sqlite3_last_insert_rowid(c.handle());
    if (!lead.tags.empty()) write_tags(c, *org, seq, lead.tags);
    write_activity(c, *org, activity);
    engine_.search_touched(seq);
    return WriteResult{WriteOutcome::ok, {}, lead, true};
  });
}

std::optional<std::int64_t> SqliteLeadStore::insert_imported(Connection& c, std::int64_t org, const Lead& lead,
                                                             const std::string& import_id, const Activity& activity) {
  std::optional<std::int64_t> assignee;
  if (lead.assigned_to) assignee = user_key(c, *lead.assigned_to);
  auto insert = c.prepare(
      "INSERT INTO leads (id, org, name, phone, email, company, source, status, assignee, tags, custom, version, "
      "created_at, updated_at, created_by, import_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT DO NOTHING");
  bind_new_lead(insert, org, assignee, lead).bind(16, import_id).run();
  if (c.changes() == 0) return std::nullopt;
  std::int64_t seq = sqlite3_last_insert_rowid(c.handle());
  for (const auto& tag : lead.tags)
    c.prepare("INSERT OR IGNORE INTO lead_tags (org, tag, lead) VALUES (?, ?, ?)").bind(1, org).bind(2, tag).bind(3, seq).run();
  write_activity(c, org, activity);
  engine_.search_touched(seq);
  return seq;
}

Task<std::optional<Lead>> SqliteLeadStore::find_lead(std::string org_id, std::string lead_id) {
  if (auto hit = engine_.lead_cache_.find(org_id, lead_id)) co_return hit;
  const auto generation = engine_.lead_cache_.generation(lead_id);
  auto lead = co_await engine_.read([&](Connection& c) -> std::optional<Lead> {
    auto org = org_key(c, org_id);
    if (!org) return std::nullopt;
    auto row = select_lead(c, *org, org_id, lead_id);
    if (!row) return std::nullopt;
    return std::move(row->lead);
  });
  if (lead) engine_.lead_cache_.offer(*lead, generation);
  co_return lead;
}

void SqliteLeadStore::write_row(Connection& c, std::int64_t org, std::int64_t seq, const Lead& l) {
  std::optional<std::int64_t> assignee;
  if (l.assigned_to) assignee = user_key(c, *l.assigned_to);
  c.prepare(
       "UPDATE leads SET name = ?, phone = ?, email = ?, company = ?, source = ?, status = ?, assignee = ?, "
       "tags = ?, custom = ?, version = ?, updated_at = ? WHERE seq = ? AND org = ?")
      .bind(1, l.name)
      .bind(2, l.phone)
      .bind(3, l.email)
      .bind(4, l.company)
      .bind(5, l.source)
      .bind(6, l.status)
      .bind(7, assignee)
      .bind(8, tags_json(l.tags))
      .bind(9, l.custom_json)
      .bind(10, l.version)
      .bind(11, l.updated_at)
      .bind(12, seq)
      .bind(13, org)
      .run();
}

WriteResult SqliteLeadStore::mutate_one(Connection& c, std::int64_t org, const std::string& org_id,
                                        const std::string& lead_id, const LeadMutation& mutate) {
  auto row = select_lead(c, org, org_id, lead_id);
  if (!row) return WriteResult{WriteOutcome::not_found, {}, std::nullopt, false};
  auto change = mutate(row->lead);
  if (!change) return WriteResult{WriteOutcome::ok, {}, std::move(row->lead), false};
  Lead& next = change->next;
  next.id = row->lead.id;
  next.organization_id = org_id;
  next.version = row->lead.version + 1;
  next.created_at = row->lead.created_at;
  next.created_by = row->lead.created_by;
  engine_.lead_changed(next.id);
  c.exec("SAVEPOINT lead_change");
  try {
    write_row(c, org, row->seq, next);
    if (next.tags != row->lead.tags) write_tags(c, org, row->seq, next.tags);
    for (const auto& a : change->activities) write_activity(c, org, a);
    if (!same_search_text(next, row->lead)) engine_.search_touched(row->seq);
    c.exec("RELEASE lead_change");
  } catch (const DbError& e) {
    c.exec("ROLLBACK TO lead_change");
    c.exec("RELEASE lead_change");
    if (!e.is_unique_violation()) throw;
    return WriteResult{WriteOutcome::duplicate, find_duplicate(c, org, next), std::nullopt, false};
  }
  return WriteResult{WriteOutcome::ok, {}, std::move(next), true};
}

Task<WriteResult> SqliteLeadStore::update_lead(std::string org_id, std::string lead_id, LeadMutation mutate) {
  co_return co_await engine_.write([&](Connection& c) -> WriteResult {
    auto org = org_key(c, org_id);
    if (!org) return WriteResult{WriteOutcome::not_found, {}, std::nullopt, false};
    return mutate_one(c, *org, org_id, lead_id, mutate);
  });
}

Task<std::vector<Lead>> SqliteLeadStore::bulk_update(std::string org_id, std::vector<std::string> ids,
                                                     LeadMutation mutate) {
  co_return co_await engine_.write([&](Connection& c) {
    std::vector<Lead> changed;
    auto org = org_key(c, org_id);
    if (!org) return changed;
    for (const auto& id : ids) {
      auto result = mutate_one(c, *org, org_id, id, mutate);
      if (result.outcome == WriteOutcome::duplicate)
        throw std::logic_error("bulk_update cannot create duplicates");  // phone/email are not bulk fields
      if (result.changed) changed.push_back(std::move(*result.lead));
    }
    return changed;
  });
}

Task<WriteResult> SqliteLeadStore::delete_lead(std::string org_id, std::string lead_id, Activity activity) {
  co_return co_await engine_.write([&](Connection& c) -> WriteResult {
    auto org = org_key(c, org_id);
    if (!org) return WriteResult{WriteOutcome::not_found, {}, std::nullopt, false};
    std::int64_t seq = 0;
    {
      auto s = c.prepare("SELECT seq FROM leads WHERE id = ? AND org = ?");
      s.bind(1, lead_id).bind(2, *org);
      if (!s.step()) return WriteResult{WriteOutcome::not_found, {}, std::nullopt, false};
      seq = s.integer(0);
    }
    c.prepare("DELETE FROM leads WHERE seq = ?").bind(1, seq).run();
    engine_.search_touched(seq);
    engine_.lead_changed(lead_id);
    write_activity(c, *org, activity);
    return WriteResult{WriteOutcome::ok, {}, std::nullopt, true};
  });
}

namespace {

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

const char* order_by(SortKey sort) {
  switch (sort) {
    case SortKey::created_desc: return " ORDER BY l.created_at DESC, l.seq DESC";
    case SortKey::created_asc: return " ORDER BY l.created_at ASC, l.seq ASC";
    case SortKey::updated_desc: return " ORDER BY l.updated_at DESC, l.seq DESC";
    case SortKey::updated_asc: return " ORDER BY l.updated_at ASC, l.seq ASC";
    case SortKey::name_asc: return " ORDER BY l.name ASC, l.seq ASC";
  }
  return "";
}

// The sort key of `sort` followed by the row key, as result columns.
const char* sort_columns(SortKey sort) {
  switch (sort) {
    case SortKey::created_desc:
    case SortKey::created_asc: return "l.created_at, l.seq";
    case SortKey::updated_desc:
    case SortKey::updated_asc: return "l.updated_at, l.seq";
    case SortKey::name_asc: return "l.name, l.seq";
  }
  return "";
}

bool descending(SortKey sort) { return sort == SortKey::created_desc || sort == SortKey::updated_desc; }

// Rows strictly after `after` in its sort order; with `through`, rows up to and including it.
void append_keyset(FilterSql& sql, const leads::Position& after, bool through = false) {
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
  sql.binds.emplace_back(after.seq);
}

}  // namespace

namespace {

// Empties the connection's RowSet when a query that may have filled it ends.
struct ClearRowSet {
  RowSet& set;
  ~ClearRowSet() { set.clear(); }
};

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

// SELECT `columns` of the rows of `sql` in `sort` order (LIMIT left to the caller).
std::string select_sorted(const char* columns, const FilterSql& sql, SortKey sort) {
  // NOT INDEXED keeps rowid lookups but stops the planner from walking a whole index in
  // sort order to find a handful of search hits.
  return std::string("SELECT ") + columns + " FROM leads l" + (sql.drive_by_rowid ? " NOT INDEXED" : "") +
         " WHERE " + sql.where + order_by(sort);
}

}  // namespace

std::optional<leads::Position> SqliteLeadStore::scout(Connection& c, const std::string& org_id,
                                                     const leads::LeadQuery& query, int rows) {
  auto org = org_key(c, org_id);
  if (!org) return std::nullopt;
  ClearRowSet clear_after{c.row_set()};
  auto sql = range_sql(c, *org, query, std::nullopt, engine_.read_tuning_,
                       [&](const std::string& id) { return user_key(c, id); });
  if (!sql) return std::nullopt;
  auto s = c.prepare_text(select_sorted(sort_columns(query.sort), *sql, query.sort) + " LIMIT 1 OFFSET ?");
  sql->binds.emplace_back(static_cast<std::int64_t>(rows - 1));
  bind_all(s, sql->binds);
  if (!s.step()) return std::nullopt;
  leads::Position at{query.sort, 0, {}, s.integer(1)};
  if (query.sort == SortKey::name_asc)
    at.text = s.text(0);
  else
    at.number = s.integer(0);
  return at;
}

std::optional<leads::Position> SqliteLeadStore::walk_page(Connection& c, const std::string& org_id,
                                                         const leads::LeadQuery& query,
                                                         const std::function<void(const Statement&)>& on_row,
                                                         const std::optional<leads::Position>& through) {
  auto org = org_key(c, org_id);
  if (!org) return std::nullopt;
  ClearRowSet clear_after{c.row_set()};
  auto sql = range_sql(c, *org, query, through, engine_.read_tuning_,
                       [&](const std::string& id) { return user_key(c, id); });
  if (!sql) return std::nullopt;
  sql->binds.emplace_back(static_cast<std::int64_t>(query.limit) + 1);
  auto s = c.prepare_text(select_sorted(kLeadColumns, *sql, query.sort) + " LIMIT ?");
  bind_all(s, sql->binds);
  leads::Position last{query.sort, 0, {}, 0};
  for (int rows = 0; s.step(); ++rows) {
    if (rows == query.limit) return last;  // a further row exists: the next page starts after `last`
    on_row(s);
    last.seq = s.integer(0);
    switch (query.sort) {
      case SortKey::name_asc: last.text.assign(s.view(2)); break;
      case SortKey::updated_desc:
      case SortKey::updated_asc: last.number = s.integer(13); break;
      case SortKey::created_desc:
      case SortKey::created_asc: last.number = s.integer(12); break;
    }
  }
  return std::nullopt;
}

leads::LeadPage SqliteLeadStore::read_page(Connection& c, const std::string& org_id, const leads::LeadQuery& query) {
  leads::LeadPage page;
  page.next = walk_page(c, org_id, query,
                        [&](const Statement& s) { page.items.push_back(std::move(read_row(c, s, org_id).lead)); });
  return page;
}

Task<leads::LeadPage> SqliteLeadStore::list_leads(std::string org_id, leads::LeadQuery query) {
  co_return co_await engine_.read([&](Connection& c) { return read_page(c, org_id, query); });
}

Task<std::int64_t> SqliteLeadStore::count_leads(std::string org_id, leads::LeadFilter filter) {
  co_return co_await engine_.read([&](Connection& c) -> std::int64_t {
    auto org = org_key(c, org_id);
    if (!org) return 0;
    auto sql = filter_sql(*org, filter, [&](const std::string& id) { return user_key(c, id); },
                          SqliteStore::search_indexed_through(c));
    if (!sql) return 0;
    auto s = c.prepare_text("SELECT COUNT(*) FROM leads l WHERE " + sql->where);
    bind_all(s, sql->binds);
    s.step();
    return s.integer(0);
  });
}

namespace {

// Exports in pages of ReadTuning::export_page_rows, several read at once on the reader threads: a cheap scout
// walks the sort index to the end key of each page, so page N+1 can be read while page N is
// still being read, rendered or written. Pages are key ranges (after one key, up to and
// including the next), so a row inserted or deleted meanwhile shifts no page boundary: every
// lead that exists throughout the export appears exactly once, as with keyset pagination.
// At most kWindow pages are in memory, whatever the number of rows.
class SqliteExportCursor final : public LeadCursor {
 public:
  static constexpr std::size_t kWindow = 3;

  SqliteExportCursor(SqliteLeadStore& store, std::string org_id, leads::LeadQuery query, LeadRenderer render,
                     int page_rows)
      : store_(store),
        org_id_(std::move(org_id)),
        query_(std::move(query)),
        render_(std::move(render)),
        page_rows_(std::max(1, page_rows)) {}

  Task<std::string> next() override {
    for (;;) {
      while (!scouted_all_ && reading_.size() < kWindow) {
        auto end = co_await store_.scout_page_end(org_id_, query_, page_rows_);
        reading_.push_back(store_.start_raw_page(org_id_, query_, end));
        if (end)
          query_.after = std::move(end);
        else
          scouted_all_ = true;
      }
      if (reading_.empty()) co_return std::string{};
      auto pending = std::move(reading_.front());
      reading_.pop_front();
      auto page = co_await pending->get();
      if (page.rows.empty()) continue;  // its rows were deleted since it was scouted
      co_return co_await store_.render_raw_page(std::move(page), render_);
    }
  }

 private:
  SqliteLeadStore& store_;
  std::string org_id_;
  leads::LeadQuery query_;  // `after` is the end of the last page started
  LeadRenderer render_;
  int page_rows_;
  std::deque<std::shared_ptr<Pending<SqliteLeadStore::RawPage>>> reading_;
  bool scouted_all_ = false;
};

}  // namespace

SqliteLeadStore::RawPage SqliteLeadStore::read_raw_page(Connection& c, const std::string& org_id,
                                                        const leads::LeadQuery& query,
                                                        const std::optional<leads::Position>& through) {
  RawPage page;
  auto range = query;
  range.limit = std::numeric_limits<int>::max() - 1;  // a page ends at its scouted key, not at a count
  const auto expected_rows = static_cast<std::size_t>(engine_.read_tuning_.export_page_rows);
  page.arena.reserve(expected_rows * 128);
  page.rows.reserve(expected_rows);
  std::unordered_map<std::int64_t, std::string> assignees;  // a handful of agents per page
  page.next = walk_page(c, org_id, range, [&](const Statement& s) {
    RawPage::Row row{};
    auto put = [&](RawPage::Field field, std::string_view text) {
      row.offset[field] = static_cast<std::uint32_t>(page.arena.size());
      row.size[field] = static_cast<std::uint32_t>(text.size());
      page.arena += text;
    };
    put(RawPage::id, s.view(1));
    put(RawPage::name, s.view(2));
    put(RawPage::phone, s.view(3));
    put(RawPage::email, s.view(4));
    put(RawPage::company, s.view(5));
    put(RawPage::source, s.view(6));
    put(RawPage::status, s.view(7));
    std::string_view assignee;
    if (!s.is_null(8)) {
      auto key = s.integer(8);
      auto it = assignees.find(key);
      if (it == assignees.end()) it = assignees.emplace(key, user_id(c, key).value_or("")).first;
      assignee = it->second;
    }
    put(RawPage::assigned_to, assignee);
    put(RawPage::tags, s.view(9));
    row.created_at = s.integer(12);
    row.updated_at = s.integer(13);
    page.rows.push_back(row);
  }, through);
  return page;
}

std::shared_ptr<Pending<SqliteLeadStore::RawPage>> SqliteLeadStore::start_raw_page(
    std::string org_id, leads::LeadQuery query, std::optional<leads::Position> through) {
  return Pending<RawPage>::start(engine_.readers_.get_executor(), [this, org_id = std::move(org_id),
                                                                    query = std::move(query),
                                                                    through = std::move(through),
                                                                    ticket = SqliteStore::ReadTicket(engine_)]() {
    auto lease = engine_.borrow_reader();
    return read_raw_page(*lease.conn, org_id, query, through);
  });
}

Task<std::optional<leads::Position>> SqliteLeadStore::scout_page_end(std::string org_id, leads::LeadQuery query,
                                                                    int rows) {
  co_return co_await engine_.read([&](Connection& c) { return scout(c, org_id, query, rows); });
}

Task<std::string> SqliteLeadStore::render_raw_page(RawPage page, LeadRenderer render) {
  co_return co_await run_on(engine_.readers_.get_executor(), [&, ticket = SqliteStore::ReadTicket(engine_)]() {
    std::string text;
    text.reserve(page.arena.size() + page.rows.size() * 64);
    std::vector<std::string_view> tags;
    std::vector<std::string> decoded_tags;
    for (const auto& row : page.rows) {
      auto field = [&](RawPage::Field f) { return std::string_view(page.arena).substr(row.offset[f], row.size[f]); };
      tag_views(field(RawPage::tags), tags, decoded_tags);
      leads::LeadView view{field(RawPage::id),          field(RawPage::name),   field(RawPage::phone),
                           field(RawPage::email),       field(RawPage::company), field(RawPage::source),
                           field(RawPage::status),      field(RawPage::assigned_to), tags,
                           row.created_at,              row.updated_at};
      render(text, view);
    }
    return text;
  });
}

std::unique_ptr<LeadCursor> SqliteLeadStore::export_leads(std::string org_id, leads::LeadFilter filter, SortKey sort,
                                                          LeadRenderer render) {
  leads::LeadQuery query{std::move(filter), sort, 0, std::nullopt};
  return std::make_unique<SqliteExportCursor>(*this, std::move(org_id), std::move(query), std::move(render),
                                              engine_.read_tuning_.export_page_rows);
}

Task<void> SqliteLeadStore::insert_activity(std::string org_id, Activity activity) {
  co_await engine_.write([&](Connection& c) {
    auto org = org_key(c, org_id);
    if (!org) throw std::logic_error("insert_activity: unknown organization");
    write_activity(c, *org, activity);
  });
}

Task<std::int64_t> SqliteLeadStore::insert_leads(std::string org_id, std::vector<Lead> leads,
                                                  std::string activity_type, std::string activity_data) {
  co_return co_await engine_.write([&](Connection& c) -> std::int64_t {
    auto org = org_key(c, org_id);
    if (!org) throw std::logic_error("insert_leads: unknown organization");
    std::int64_t inserted = 0;
    for (const auto& lead : leads) {
      std::optional<std::int64_t> assignee;
      if (lead.assigned_to) assignee = user_key(c, *lead.assigned_to);
      auto insert = c.prepare(
          "INSERT INTO leads (id, org, name, phone, email, company, source, status, assignee, tags, custom, "
          "version, created_at, updated_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
          "ON CONFLICT DO NOTHING");
      bind_new_lead(insert, *org, assignee, lead).run();
      if (c.changes() == 0) continue;
      ++inserted;
      std::int64_t seq = sqlite3_last_insert_rowid(c.handle());
      engine_.search_touched(seq);
      for (const auto& tag : lead.tags)
        c.prepare("INSERT OR IGNORE INTO lead_tags (org, tag, lead) VALUES (?, ?, ?)")
            .bind(1, *org)
            .bind(2, tag)
            .bind(3, seq)
            .run();
      write_activity(c, *org,
                     Activity{new_id_at(lead.created_at), lead.id, activity_type, lead.created_by, activity_data, lead.created_at});
    }
    return inserted;
  });
}

Task<leads::ActivityPage> SqliteLeadStore::list_activities(std::string org_id, std::string lead_id, int limit,
                                                           std::optional<std::int64_t> before) {
  co_return co_await engine_.read([&](Connection& c) {
    leads::ActivityPage page;
    auto org = org_key(c, org_id);
    if (!org) return page;
    // One row past the page tells whether another page follows.
    auto s = c.prepare(
        "SELECT id, lead_id, type, actor_id, data, created_at, seq FROM activities WHERE lead_id = ? AND org = ? "
        "AND seq < ? ORDER BY seq DESC LIMIT ?");
    s.bind(1, lead_id)
        .bind(2, *org)
        .bind(3, before.value_or(std::numeric_limits<std::int64_t>::max()))
        .bind(4, static_cast<std::int64_t>(limit) + 1);
    std::int64_t last_seq = 0;
    while (s.step()) {
      if (page.items.size() == static_cast<std::size_t>(limit)) {
        page.next_before = last_seq;
        break;
      }
      page.items.push_back(Activity{s.text(0), s.text(1), s.text(2), s.optional_text(3), s.text(4), s.integer(5)});
      last_seq = s.integer(6);
    }
    return page;
  });
}

}  // namespace lms::store::sqlite

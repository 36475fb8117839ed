#include "store/sqlite/lead_store.h"


#include "store/sqlite/lead_queries.h"
#include "store/sqlite/lead_rows.h"
#include "store/sqlite/search_planner.h"

namespace lms::store::sqlite {

using namespace detail;
using leads::Activity;
using leads::Lead;
using leads::LeadRow;
using leads::SortKey;

namespace {

constexpr const char* kLeadColumns =
    "l.seq, l.id, l.name, l.phone, l.email, l.company, l.source, l.status, l.assignee, l.tags, l.custom, "
    "l.version, l.created_at, l.updated_at, l.created_by";

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
  leads::Position at{query.sort, 0, {}, s.text(1)};
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
  leads::Position last{query.sort, 0, {}, {}};
  for (int rows = 0; s.step(); ++rows) {
    if (rows == query.limit) return last;  // a further row exists: the next page starts after `last`
    on_row(s);
    last.id.assign(s.view(1));
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

Task<leads::LeadStats> SqliteLeadStore::lead_stats(std::string org_id, leads::LeadFilter filter, Millis days_from) {
  co_return co_await engine_.read([&](Connection& c) {
    leads::LeadStats stats;
    auto org = org_key(c, org_id);
    if (!org) return stats;
    auto sql = filter_sql(*org, filter, [&](const std::string& id) { return user_key(c, id); },
                          SqliteStore::search_indexed_through(c));
    if (!sql) return stats;
    auto grouped = [&](const std::string& select, const std::string& rest, auto&& read) {
      auto s = c.prepare_text(select + " FROM leads l WHERE " + sql->where + rest);
      bind_all(s, sql->binds);
      while (s.step()) read(s);
    };
    grouped("SELECT l.status, COUNT(*)", " GROUP BY l.status",
            [&](const Statement& s) { stats.by_status.emplace_back(s.text(0), s.integer(1)); });
    // By the column itself (not COALESCE), so the count reads leads_by_source alone.
    grouped("SELECT l.source, COUNT(*)",
            " GROUP BY l.source ORDER BY 2 DESC, 1 LIMIT " + std::to_string(leads::kStatsTopSources),
            [&](const Statement& s) { leads::add_source_count(stats, s.text(0), s.integer(1)); });
    grouped("SELECT (SELECT u.id FROM users u WHERE u.rowid = l.assignee), COUNT(*)",
            " GROUP BY l.assignee ORDER BY 2 DESC LIMIT " + std::to_string(leads::kStatsTopAssignees),
            [&](const Statement& s) {
              stats.by_assignee.emplace_back(s.is_null(0) ? std::nullopt : std::optional<std::string>(s.text(0)),
                                             s.integer(1));
            });
    sql->where += " AND l.created_at >= ?";
    sql->binds.emplace_back(days_from);
    grouped("SELECT l.created_at / 86400000, COUNT(*)", " GROUP BY 1",
            [&](const Statement& s) { stats.created_per_day.emplace_back(s.integer(0), s.integer(1)); });
    return stats;
  });
}

namespace {

// A lead's timeline: its activity rows, and the `imported` entry of the job that imported it
// (the job's one entry, shown with the lead's id and creation time), newest first by id. ?3 is
// the id the page starts below.
constexpr const char* kTimeline =
    "SELECT id, lead_id, type, actor_id, data, created_at FROM activities WHERE lead_id = ?1 AND org = ?2 AND id < ?3 "
    "UNION ALL "
    "SELECT l.id, l.id, 'imported', j.created_by, '{\"importId\":\"' || l.import_id || '\"}', l.created_at "
    "FROM leads l JOIN import_jobs j ON j.id = l.import_id WHERE l.id = ?1 AND l.org = ?2 AND l.id < ?3 "
    "ORDER BY 1 DESC LIMIT ?4";
// Sorts after every id (ids are lower-case hex and '-').
constexpr const char* kAfterEveryId = "~";

}  // namespace

Task<leads::ActivityPage> SqliteLeadStore::list_activities(std::string org_id, std::string lead_id, int limit,
                                                           std::optional<std::string> before) {
  co_return co_await engine_.read([&](Connection& c) {
    leads::ActivityPage page;
    auto org = org_key(c, org_id);
    if (!org) return page;
    // One row past the page tells whether another page follows.
    auto s = c.prepare(kTimeline);
    s.bind(1, lead_id).bind(2, *org).bind(3, before.value_or(kAfterEveryId));
    s.bind(4, static_cast<std::int64_t>(limit) + 1);
    while (s.step()) {
      if (page.items.size() == static_cast<std::size_t>(limit)) {
        page.next_before = page.items.empty() ? std::string() : page.items.back().id;
        break;
      }
      page.items.push_back(Activity{s.text(0), s.text(1), s.text(2), s.optional_text(3), s.text(4), s.integer(5)});
    }
    return page;
  });
}

}  // namespace lms::store::sqlite

// The PostgreSQL lead store: each call leases a pooled connection, or runs one transaction,
// for the statements of lead_queries.h. The answers are the SQLite store's, row for row:
// the same filters, sorts and keyset positions (the id breaks ties), the same search text and
// duplicate outcomes. Nothing is cached here; other instances may share the database.
#include "store/postgres/lead_store.h"

#include <algorithm>
#include <span>
#include <stdexcept>
#include <unordered_map>

#include "store/postgres/lead_queries.h"

namespace lms::store::postgres {

namespace q = lead_queries;
using leads::Activity;
using leads::Lead;
using leads::SortKey;

namespace {

constexpr std::int64_t kExportPageRows = 5000;
constexpr std::size_t kSeedRowsPerStatement = 5000;
// A create whose phone or email holder is deleted before it can be named tries again, this often.
constexpr int kInsertAttempts = 10;

const std::string kSelectLead = std::string("SELECT ") + q::kLeadColumns + " FROM leads l WHERE l.org = $1 AND l.id = $2";
const std::string kSelectLeadForUpdate = kSelectLead + " FOR UPDATE";
// Rows locked in seq order, whatever the order of the ids, so that two bulk updates of
// overlapping leads cannot deadlock.
const std::string kSelectLeadsForUpdate = std::string("SELECT ") + q::kLeadColumns +
                                          " FROM leads l WHERE l.org = $1 AND l.id = ANY($2::text[]) "
                                          "ORDER BY l.seq FOR UPDATE";

WriteResult not_found() { return WriteResult{WriteOutcome::not_found, {}, std::nullopt, false}; }

// What a mutation may not change: identity, creation, and the version, one past the current.
Lead next_state(Lead next, const Lead& current) {
  next.id = current.id;
  next.organization_id = current.organization_id;
  next.version = current.version + 1;
  next.created_at = current.created_at;
  next.created_by = current.created_by;
  return next;
}

// A bulk update worked out in memory: the final state of each changed lead and every activity.
struct BulkPlan {
  std::vector<Lead> changed;  // in the order of the ids, as each mutation left the lead
  std::vector<q::SeqLead> writes;
  std::vector<Activity> activities;
};

// Applies `mutate` for each id in turn (an id given twice is mutated twice, the second time
// from the first one's result), to the locked rows of `r`; ids not among them are skipped.
BulkPlan plan_bulk(const Result& r, const std::string& org_id, const std::vector<std::string>& ids,
                   const LeadMutation& mutate) {
  std::unordered_map<std::string, std::size_t> index;  // id -> position in `rows`
  std::vector<q::SeqLead> rows;
  for (int i = 0; i < r.rows(); ++i) {
    auto row = q::read_lead(r, i, org_id);
    index.emplace(row.lead.id, rows.size());
    rows.push_back(q::SeqLead{row.seq, std::move(row.lead)});
  }
  BulkPlan plan;
  std::vector<bool> touched(rows.size(), false);
  for (const auto& id : ids) {
    auto it = index.find(id);
    if (it == index.end()) continue;
    auto& row = rows[it->second];
    auto change = mutate(row.lead);
    if (!change) continue;
    row.lead = next_state(std::move(change->next), row.lead);
    touched[it->second] = true;
    plan.activities.insert(plan.activities.end(), change->activities.begin(), change->activities.end());
    plan.changed.push_back(row.lead);
  }
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (touched[i]) plan.writes.push_back(std::move(rows[i]));
  return plan;
}

std::vector<std::string> storable_ids(const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  for (const auto& id : ids)
    if (q::is_storable(id)) out.push_back(id);
  return out;
}

// Exports in keyset pages of kExportPageRows: each page starts after the last row of the one
// before, so a lead inserted or deleted meanwhile moves no other lead across a page boundary
// (every lead that exists throughout appears exactly once), and memory stays one page.
class PgExportCursor final : public LeadCursor {
 public:
  PgExportCursor(Pool& pool, std::string org_id, leads::LeadFilter filter, SortKey sort, LeadRenderer render)
      : pool_(pool), org_id_(std::move(org_id)), filter_(std::move(filter)), sort_(sort), render_(std::move(render)) {}

  Task<std::string> next() override {
    if (done_) co_return std::string{};
    auto where = q::filter_where(org_id_, filter_);
    if (!where) {
      done_ = true;
      co_return std::string{};
    }
    if (after_) q::append_after(*where, *after_);
    auto sql = q::page_sql(q::kExportColumns, *where, sort_, kExportPageRows);
    auto page = co_await pool_.with([&](Connection& c) -> Task<Result> {
      co_return co_await c.query(sql, std::move(where->params));
    });
    if (page.rows() < kExportPageRows)
      done_ = true;
    else
      after_ = q::position_of(page, page.rows() - 1, sort_);
    co_return render(page);
  }

 private:
  std::string render(const Result& page) {
    std::string out;
    std::vector<std::string_view> tags;
    std::vector<std::string> decoded;
    for (int i = 0; i < page.rows(); ++i) {
      q::array_views(page.text(i, q::Col::tags), tags, decoded);
      leads::LeadView view{page.text(i, q::Col::id),          page.text(i, q::Col::name),
                           page.text(i, q::Col::phone),       page.text(i, q::Col::email),
                           page.text(i, q::Col::company),     page.text(i, q::Col::source),
                           page.text(i, q::Col::status),      page.text(i, q::Col::assigned_to),
                           tags,                              page.integer(i, q::Col::created_at),
                           page.integer(i, q::Col::updated_at)};
      render_(out, view);
    }
    return out;
  }

  Pool& pool_;
  std::string org_id_;
  leads::LeadFilter filter_;
  SortKey sort_;
  LeadRenderer render_;
  std::optional<leads::Position> after_;  // the last row exported so far
  bool done_ = false;
};

}  // namespace

Task<WriteResult> PgLeadStore::insert_lead(Lead lead, Activity activity) {
  co_return co_await pool_.with([&](Connection& c) -> Task<WriteResult> {
    for (int attempt = 1;; ++attempt) {
      auto insert = q::insert_lead_params(lead, activity);
      auto inserted = co_await c.query(q::kInsertLead, std::move(insert));
      if (inserted.rows() == 1) co_return WriteResult{WriteOutcome::ok, {}, lead, true};
      // The unique indexes refused it (ON CONFLICT waited for any concurrent insert to commit
      // or abort), so its holder is visible to the next statement, unless deleted since.
      auto lookup = q::find_duplicate_params(lead.organization_id, lead);
      auto holder = co_await c.query(q::kFindDuplicate, std::move(lookup));
      if (holder.rows() == 1) co_return WriteResult{WriteOutcome::duplicate, holder.str(0, 0), std::nullopt, false};
      Params ids{param(lead.organization_id), param(lead.id)};
      auto known = co_await c.query(
          "SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1), EXISTS (SELECT 1 FROM leads WHERE id = $2)",
          std::move(ids));
      if (!known.boolean(0, 0)) throw std::logic_error("insert_lead: unknown organization");
      // A taken id is a duplicate no phone or email names (as on SQLite).
      if (known.boolean(0, 1) || attempt == kInsertAttempts)
        co_return WriteResult{WriteOutcome::duplicate, {}, std::nullopt, false};
    }
  });
}

Task<std::optional<Lead>> PgLeadStore::find_lead(std::string org_id, std::string lead_id) {
  if (!q::is_storable(lead_id)) co_return std::nullopt;
  co_return co_await pool_.with([&](Connection& c) -> Task<std::optional<Lead>> {
    Params p{param(org_id), param(lead_id)};
    auto r = co_await c.query(kSelectLead, std::move(p));
    if (r.rows() == 0) co_return std::nullopt;
    co_return std::move(q::read_lead(r, 0, org_id).lead);
  });
}

Task<WriteResult> PgLeadStore::update_lead(std::string org_id, std::string lead_id, LeadMutation mutate) {
  if (!q::is_storable(lead_id)) co_return not_found();
  co_return co_await pool_.transaction([&](Connection& c) -> Task<WriteResult> {
    Params key{param(org_id), param(lead_id)};
    auto r = co_await c.query(kSelectLeadForUpdate, std::move(key));
    if (r.rows() == 0) co_return not_found();
    auto row = q::read_lead(r, 0, org_id);
    auto change = mutate(row.lead);
    if (!change) co_return WriteResult{WriteOutcome::ok, {}, std::move(row.lead), false};
    Lead next = next_state(std::move(change->next), row.lead);
    std::vector<q::SeqLead> writes{q::SeqLead{row.seq, next}};
    auto write = q::write_changes_params(org_id, writes, change->activities);
    if (next.phone == row.lead.phone && next.email == row.lead.email) {
      co_await c.query(q::kWriteChanges, std::move(write));  // no unique index can object
      co_return WriteResult{WriteOutcome::ok, {}, std::move(next), true};
    }
    // A new phone or email may be taken: after the violation, the savepoint keeps the
    // transaction usable for naming the holder.
    co_await c.exec("SAVEPOINT lead_change");
    bool taken = false;
    try {
      co_await c.query(q::kWriteChanges, std::move(write));
    } catch (const PgError& e) {
      if (!e.unique_violation()) throw;
      taken = true;
    }
    if (!taken) {
      co_await c.exec("RELEASE SAVEPOINT lead_change");
      co_return WriteResult{WriteOutcome::ok, {}, std::move(next), true};
    }
    co_await c.exec("ROLLBACK TO SAVEPOINT lead_change");
    auto lookup = q::find_duplicate_params(org_id, next);
    auto holder = co_await c.query(q::kFindDuplicate, std::move(lookup));
    co_return WriteResult{WriteOutcome::duplicate, holder.rows() ? holder.str(0, 0) : std::string(), std::nullopt,
                          false};
  });
}

Task<WriteResult> PgLeadStore::delete_lead(std::string org_id, std::string lead_id, Activity activity) {
  if (!q::is_storable(lead_id)) co_return not_found();
  // One statement deletes the row and records the activity: atomic without BEGIN/COMMIT.
  co_return co_await pool_.with([&](Connection& c) -> Task<WriteResult> {
    auto p = q::delete_lead_params(org_id, lead_id, activity);
    auto r = co_await c.query(q::kDeleteLead, std::move(p));
    if (r.rows() == 0) co_return not_found();
    co_return WriteResult{WriteOutcome::ok, {}, std::nullopt, true};
  });
}

Task<std::vector<Lead>> PgLeadStore::bulk_update(std::string org_id, std::vector<std::string> ids,
                                                 LeadMutation mutate) {
  co_return co_await pool_.transaction([&](Connection& c) -> Task<std::vector<Lead>> {
    Params p{param(org_id), q::text_array(storable_ids(ids))};
    auto locked = co_await c.query(kSelectLeadsForUpdate, std::move(p));
    auto plan = plan_bulk(locked, org_id, ids, mutate);  // may throw: nothing is written then
    if (plan.changed.empty()) co_return std::move(plan.changed);
    auto write = q::write_changes_params(org_id, plan.writes, plan.activities);
    bool duplicate = false;
    try {
      co_await c.query(q::kWriteChanges, std::move(write));
    } catch (const PgError& e) {
      if (!e.unique_violation()) throw;
      duplicate = true;
    }
    if (duplicate) throw std::logic_error("bulk_update cannot create duplicates");  // phone/email are not bulk fields
    co_return std::move(plan.changed);
  });
}

Task<leads::LeadPage> PgLeadStore::list_leads(std::string org_id, leads::LeadQuery query) {
  leads::LeadPage page;
  auto where = q::filter_where(org_id, query.filter);
  if (!where) co_return page;
  if (query.after) q::append_after(*where, *query.after);
  // One row past the page tells whether another follows.
  auto sql = q::page_sql(q::kLeadColumns, *where, query.sort, static_cast<std::int64_t>(query.limit) + 1);
  auto r = co_await pool_.with([&](Connection& c) -> Task<Result> {
    co_return co_await c.query(sql, std::move(where->params));
  });
  const int take = std::min(r.rows(), std::max(query.limit, 0));
  for (int i = 0; i < take; ++i) page.items.push_back(std::move(q::read_lead(r, i, org_id).lead));
  if (r.rows() > take)
    page.next = take > 0 ? q::position_of(r, take - 1, query.sort) : leads::Position{query.sort, 0, {}, {}};
  co_return page;
}

Task<std::int64_t> PgLeadStore::count_leads(std::string org_id, leads::LeadFilter filter) {
  auto where = q::filter_where(org_id, filter);
  if (!where) co_return 0;
  auto sql = "SELECT count(*) FROM leads l WHERE " + where->sql;
  co_return co_await pool_.with([&](Connection& c) -> Task<std::int64_t> {
    auto r = co_await c.query(sql, std::move(where->params));
    co_return r.integer(0, 0);
  });
}

Task<leads::LeadStats> PgLeadStore::lead_stats(std::string org_id, leads::LeadFilter filter, Millis days_from) {
  leads::LeadStats stats;
  auto where = q::filter_where(org_id, filter);
  if (!where) co_return stats;
  auto recent = *where;
  recent.sql += " AND l.created_at >= " + recent.add(param(days_from));
  // One statement, one round trip: the four groupings, told apart by their first column.
  auto sql = "SELECT 's', l.status, count(*) FROM leads l WHERE " + where->sql + " GROUP BY l.status" +
             " UNION ALL (SELECT 'o', l.source, count(*) FROM leads l WHERE " + where->sql +
             " GROUP BY l.source ORDER BY 3 DESC, 2 LIMIT " + std::to_string(leads::kStatsTopSources) + ")" +
             " UNION ALL (SELECT 'a', l.assigned_to, count(*) FROM leads l WHERE " + where->sql +
             " GROUP BY 2 ORDER BY 3 DESC LIMIT " + std::to_string(leads::kStatsTopAssignees) + ")" +
             " UNION ALL SELECT 'd', (l.created_at / 86400000)::text, count(*) FROM leads l WHERE " + recent.sql +
             " GROUP BY 2";
  auto r = co_await pool_.with([&](Connection& c) -> Task<Result> { co_return co_await c.query(sql, std::move(recent.params)); });
  for (int i = 0; i < r.rows(); ++i) {
    auto kind = r.text(i, 0);
    auto count = r.integer(i, 2);
    std::string key(r.text(i, 1));
    if (kind == "s") stats.by_status.emplace_back(std::move(key), count);
    else if (kind == "o") leads::add_source_count(stats, key, count);
    else if (kind == "a") stats.by_assignee.emplace_back(r.null(i, 1) ? std::nullopt : std::optional<std::string>(std::move(key)), count);
    else stats.created_per_day.emplace_back(std::stoll(key), count);
  }
  co_return stats;
}

std::unique_ptr<LeadCursor> PgLeadStore::export_leads(std::string org_id, leads::LeadFilter filter, SortKey sort,
                                                      LeadRenderer render) {
  return std::make_unique<PgExportCursor>(pool_, std::move(org_id), std::move(filter), sort, std::move(render));
}

Task<void> PgLeadStore::insert_activity(std::string org_id, Activity activity) {
  auto inserted = co_await pool_.with([&](Connection& c) -> Task<std::int64_t> {
    auto p = q::insert_activity_params(org_id, activity);
    auto r = co_await c.query(q::kInsertActivity, std::move(p));
    co_return r.affected();
  });
  if (inserted == 0) throw std::logic_error("insert_activity: unknown organization");
}

Task<std::int64_t> PgLeadStore::insert_leads(std::string org_id, std::vector<Lead> leads, std::string activity_type,
                                             std::string activity_data) {
  co_return co_await pool_.transaction([&](Connection& c) -> Task<std::int64_t> {
    Params org{param(org_id)};
    auto known = co_await c.query("SELECT 1 FROM organizations WHERE id = $1", std::move(org));
    if (known.rows() == 0) throw std::logic_error("insert_leads: unknown organization");
    std::int64_t inserted = 0;
    for (std::size_t from = 0; from < leads.size(); from += kSeedRowsPerStatement) {
      std::span<const Lead> chunk(leads.data() + from, std::min(kSeedRowsPerStatement, leads.size() - from));
      auto p = q::insert_leads_params(org_id, chunk, activity_type, activity_data);
      auto r = co_await c.query(q::kInsertLeads, std::move(p));
      inserted += r.affected();
    }
    co_return inserted;
  });
}

Task<leads::ActivityPage> PgLeadStore::list_activities(std::string org_id, std::string lead_id, int limit,
                                                       std::optional<std::string> before) {
  leads::ActivityPage page;
  if (!q::is_storable(lead_id)) co_return page;
  // One row past the page tells whether another page follows.
  auto r = co_await pool_.with([&](Connection& c) -> Task<Result> {
    Params p{param(lead_id), param(org_id), param(before.value_or("~")), param(static_cast<std::int64_t>(limit) + 1)};
    // The activity rows and the `imported` entry of the job that imported the lead (one per
    // job, shown with the lead's id and creation time), newest first by id ("~" sorts after
    // every id).
    co_return co_await c.query(
        "SELECT id, lead_id, type, actor_id, data, created_at FROM activities "
        "WHERE lead_id = $1 AND org = $2 AND id < $3 "
        "UNION ALL "
        "SELECT l.id, l.id, 'imported', j.created_by, '{\"importId\":\"' || l.import_id || '\"}', l.created_at "
        "FROM leads l JOIN import_jobs j ON j.id = l.import_id WHERE l.id = $1 AND l.org = $2 AND l.id < $3 "
        "ORDER BY 1 DESC LIMIT $4",
        std::move(p));
  });
  const int take = std::min(r.rows(), std::max(limit, 0));
  for (int i = 0; i < take; ++i)
    page.items.push_back(Activity{r.str(i, 0), r.str(i, 1), r.str(i, 2), r.opt(i, 3), r.str(i, 4), r.integer(i, 5)});
  if (r.rows() > take) page.next_before = take > 0 ? r.str(take - 1, 0) : std::string();
  co_return page;
}

}  // namespace lms::store::postgres

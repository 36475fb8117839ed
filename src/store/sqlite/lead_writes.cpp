// Writes of the SQLite lead store: inserting, updating and deleting leads, their tags and
// their activities.
#include <stdexcept>

#include "common/ids.h"
#include "store/sqlite/lead_rows.h"
#include "store/sqlite/lead_store.h"

namespace lms::store::sqlite {

using namespace detail;
using leads::Activity;
using leads::Lead;

namespace {

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

}  // namespace

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
                                                             const std::string& import_id) {
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
  engine_.search_touched(seq);
  return seq;
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

}  // namespace lms::store::sqlite

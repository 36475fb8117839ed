#include "store/sqlite/import_store.h"

#include <map>
#include <stdexcept>

#include "common/ids.h"
#include "common/json.h"

namespace lms::store::sqlite {

using imports::Dedupe;
using imports::ImportBatch;
using imports::ImportBatchResult;
using imports::ImportCounts;
using imports::ImportJob;
using leads::Activity;
using leads::Lead;

namespace {

constexpr const char* kJobColumns =
    "id, org_id, created_by, file_name, spool_path, header_csv, state, dedupe, assign, source, mapping, dry_run, "
    "total_rows, processed_rows, inserted, updated, duplicates, invalid, next_offset, next_row, rr_position, error, "
    "created_at, started_at, finished_at, reverted, kept, lease_owner, lease_expires";

std::optional<std::int64_t> optional_integer(const Statement& s, int column) {
  if (s.is_null(column)) return std::nullopt;
  return s.integer(column);
}

ImportJob read_job(const Statement& s) {
  ImportJob j;
  j.id = s.text(0);
  j.organization_id = s.text(1);
  j.created_by = s.text(2);
  j.file_name = s.text(3);
  j.spool_path = s.text(4);
  j.header_csv = s.text(5);
  j.state = s.text(6);
  j.dedupe = s.text(7) == "update" ? Dedupe::update : Dedupe::skip;
  j.assign = s.text(8);
  j.source = s.text(9);
  j.mapping_json = s.text(10);
  j.dry_run = s.integer(11) != 0;
  j.total_rows = optional_integer(s, 12);
  j.processed_rows = s.integer(13);
  j.counts = {s.integer(14), s.integer(15), s.integer(16), s.integer(17)};
  j.next_offset = s.integer(18);
  j.next_row = s.integer(19);
  j.rr_position = s.integer(20);
  j.error = s.optional_text(21);
  j.created_at = s.integer(22);
  j.started_at = optional_integer(s, 23);
  j.finished_at = optional_integer(s, 24);
  j.reverted = optional_integer(s, 25);
  j.kept = optional_integer(s, 26);
  j.lease_owner = s.optional_text(27).value_or("");
  j.lease_expires = optional_integer(s, 28);
  return j;
}

std::vector<ImportJob> read_jobs(Statement& s) {
  std::vector<ImportJob> jobs;
  while (s.step()) jobs.push_back(read_job(s));
  return jobs;
}

// The fields a dedupe=update row may fill: those empty on the existing lead and present in
// the row's own cells. Never overwrites a value. The job's `source` parameter is for the leads
// it inserts: a row without a source cell fills no source.
std::vector<std::string> fill_empty_fields(Lead& existing, const imports::ImportRow& imported) {
  const Lead& row = imported.lead;
  std::vector<std::string> filled;
  auto fill = [&](std::optional<std::string>& into, const std::optional<std::string>& from, const char* name) {
    if (!into && from) {
      into = from;
      filled.emplace_back(name);
    }
  };
  fill(existing.phone, row.phone, "phone");
  fill(existing.email, row.email, "email");
  fill(existing.company, row.company, "company");
  if (imported.source_from_file) fill(existing.source, row.source, "source");
  if (existing.tags.empty() && !row.tags.empty()) {
    existing.tags = row.tags;
    filled.emplace_back("tags");
  }
  return filled;
}

std::string import_data(const std::string& job_id, const std::vector<std::string>* fields = nullptr) {
  return json::build([&](json::Writer& w) {
    w.StartObject();
    json::field(w, "importId", job_id);
    if (fields) {
      json::key(w, "fields");
      w.StartArray();
      for (const auto& f : *fields) json::string(w, f);
      w.EndArray();
    }
    w.EndObject();
  });
}

// The fence's owner: NULL for "nobody holds the lease" (`lease_owner IS ?` matches it then).
std::optional<std::string> owner_value(const std::string& owner) {
  return owner.empty() ? std::nullopt : std::optional<std::string>(owner);
}

void record_error(Connection& c, const std::string& job, const imports::ImportRow& row, const std::string& reason) {
  c.prepare("INSERT OR REPLACE INTO import_errors (job, row, reason, cells) VALUES (?, ?, ?, ?)")
      .bind(1, job)
      .bind(2, row.row)
      .bind(3, reason)
      .bind(4, row.cells_csv)
      .run();
}

}  // namespace

Task<void> SqliteImportStore::create_job(ImportJob j) {
  co_await engine_.write([&](Connection& c) {
    c.prepare(
         "INSERT INTO import_jobs (id, org_id, created_by, file_name, spool_path, header_csv, state, dedupe, assign, "
         "source, mapping, dry_run, created_at, ready) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)")
        .bind(1, j.id)
        .bind(2, j.organization_id)
        .bind(3, j.created_by)
        .bind(4, j.file_name)
        .bind(5, j.spool_path)
        .bind(6, j.header_csv)
        .bind(7, j.state)
        .bind(8, j.dedupe == Dedupe::update ? "update" : "skip")
        .bind(9, j.assign)
        .bind(10, j.source)
        .bind(11, j.mapping_json)
        .bind(12, j.dry_run)
        .bind(13, j.created_at)
        .run();
  });
}

Task<std::optional<ImportJob>> SqliteImportStore::find_job(std::string org_id, std::string job_id) {
  co_return co_await engine_.read([&](Connection& c) -> std::optional<ImportJob> {
    auto s = c.prepare_text(std::string("SELECT ") + kJobColumns + " FROM import_jobs WHERE id = ? AND org_id = ?");
    s.bind(1, job_id).bind(2, org_id);
    if (!s.step()) return std::nullopt;
    return read_job(s);
  });
}

Task<std::vector<ImportJob>> SqliteImportStore::list_jobs(std::string org_id, std::optional<std::string> created_by,
                                                          int limit) {
  co_return co_await engine_.read([&](Connection& c) {
    std::string sql = std::string("SELECT ") + kJobColumns + " FROM import_jobs WHERE org_id = ?";
    if (created_by) sql += " AND created_by = ?";
    sql += " ORDER BY created_at DESC, id DESC LIMIT ?";
    auto s = c.prepare_text(sql);
    int i = 1;
    s.bind(i++, org_id);
    if (created_by) s.bind(i++, *created_by);
    s.bind(i, limit);
    return read_jobs(s);
  });
}

Task<std::vector<ImportJob>> SqliteImportStore::unfinished_jobs() {
  co_return co_await engine_.read([&](Connection& c) {
    auto s = c.prepare_text(std::string("SELECT ") + kJobColumns +
                            " FROM import_jobs WHERE state IN ('queued', 'running') ORDER BY created_at, id");
    return read_jobs(s);
  });
}

Task<void> SqliteImportStore::start_job(std::string org_id, std::string job_id, std::int64_t total_rows,
                                        Millis started_at) {
  co_await engine_.write([&](Connection& c) {
    c.prepare(
         "UPDATE import_jobs SET state = 'running', total_rows = ?, started_at = coalesce(started_at, ?) "
         "WHERE id = ? AND org_id = ? AND state IN ('queued', 'running')")
        .bind(1, total_rows)
        .bind(2, started_at)
        .bind(3, job_id)
        .bind(4, org_id)
        .run();
  });
}

Task<void> SqliteImportStore::open_job(std::string org_id, std::string job_id) {
  co_await engine_.write([&](Connection& c) {
    c.prepare("UPDATE import_jobs SET ready = 1 WHERE id = ? AND org_id = ?").bind(1, job_id).bind(2, org_id).run();
  });
}

// Claims and renewals run on the one writer, one after the other, with the clock read there:
// the same serialization PostgreSQL gets from its advisory lock.
Task<std::optional<imports::ClaimedJob>> SqliteImportStore::claim_job(std::string owner, Millis ttl) {
  co_return co_await engine_.write([&](Connection& c) -> std::optional<imports::ClaimedJob> {
    const Millis now = now_ms();
    std::string id, previous;
    {
      auto s = c.prepare(
          "SELECT c.id, c.lease_owner FROM import_jobs c "
          "WHERE c.state IN ('queued', 'running') AND c.ready AND (c.lease_expires IS NULL OR c.lease_expires <= ?1) "
          "AND NOT EXISTS (SELECT 1 FROM import_jobs o WHERE o.org_id = c.org_id AND o.id <> c.id "
          "  AND o.state IN ('queued', 'running') AND o.lease_expires > ?1) "
          "ORDER BY c.created_at, c.id LIMIT 1");
      s.bind(1, now);
      if (!s.step()) return std::nullopt;
      id = s.text(0);
      previous = s.optional_text(1).value_or("");
    }
    c.prepare("UPDATE import_jobs SET lease_owner = ?, lease_expires = ? WHERE id = ?")
        .bind(1, owner)
        .bind(2, now + ttl)
        .bind(3, id)
        .run();
    auto s = c.prepare_text(std::string("SELECT ") + kJobColumns + " FROM import_jobs WHERE id = ?");
    s.bind(1, id);
    s.step();
    return imports::ClaimedJob{read_job(s), previous};
  });
}

Task<bool> SqliteImportStore::renew_lease(std::string org_id, std::string job_id, std::string owner, Millis ttl) {
  co_return co_await engine_.write([&](Connection& c) {
    const Millis now = now_ms();
    c.prepare(
         "UPDATE import_jobs SET lease_expires = ? WHERE id = ? AND org_id = ? AND lease_owner = ? "
         "AND lease_expires > ?")
        .bind(1, now + ttl)
        .bind(2, job_id)
        .bind(3, org_id)
        .bind(4, owner)
        .bind(5, now)
        .run();
    return c.changes() == 1;
  });
}

Task<void> SqliteImportStore::release_lease(std::string org_id, std::string job_id, std::string owner) {
  co_await engine_.write([&](Connection& c) {
    c.prepare(
         "UPDATE import_jobs SET lease_owner = NULL, lease_expires = NULL WHERE id = ? AND org_id = ? "
         "AND lease_owner = ?")
        .bind(1, job_id)
        .bind(2, org_id)
        .bind(3, owner)
        .run();
  });
}

Task<void> SqliteImportStore::reset_job(std::string org_id, std::string job_id, std::string lease_owner) {
  co_await engine_.write([&](Connection& c) {
    c.prepare(
         "UPDATE import_jobs SET processed_rows = 0, inserted = 0, updated = 0, duplicates = 0, invalid = 0, "
         "next_offset = 0, next_row = 2, rr_position = 0 WHERE id = ? AND org_id = ? AND lease_owner IS ?")
        .bind(1, job_id)
        .bind(2, org_id)
        .bind(3, owner_value(lease_owner))
        .run();
    if (c.changes() == 0) return;  // another organization's job, or the fence: its errors stay
    c.prepare("DELETE FROM import_errors WHERE job = ?").bind(1, job_id).run();
  });
}

std::optional<SqliteImportStore::Existing> SqliteImportStore::find_existing(Connection& c, std::int64_t org,
                                                                           const Lead& lead) {
  auto lookup = [&](const char* sql, const std::string& value) -> std::optional<Existing> {
    auto s = c.prepare(sql);
    s.bind(1, org).bind(2, value);
    if (!s.step()) return std::nullopt;
    return Existing{s.integer(0), s.text(1), s.optional_text(2)};
  };
  if (lead.phone)
    if (auto hit = lookup("SELECT seq, id, import_id FROM leads WHERE org = ? AND phone = ?", *lead.phone)) return hit;
  if (lead.email)
    if (auto hit = lookup("SELECT seq, id, import_id FROM leads WHERE org = ? AND email = ?", *lead.email)) return hit;
  return std::nullopt;
}

ImportBatchResult SqliteImportStore::apply_rows(Connection& c, const ImportBatch& b) {
  auto org = leads_.org_key(c, b.organization_id);
  if (!org) throw std::logic_error("apply_batch: unknown organization");
  {  // The writer is the only one: a lease seen here is the lease when the batch commits.
    auto lease = c.prepare("SELECT 1 FROM import_jobs WHERE id = ? AND lease_owner IS ?");
    lease.bind(1, b.job_id).bind(2, owner_value(b.lease_owner));
    if (!lease.step()) {
      ImportBatchResult lost;
      lost.lease_lost = true;
      lost.rr_position = b.rr_position;
      return lost;
    }
  }
  ImportCounts counts;
  std::map<std::string, ImportCounts> by_assignee;
  std::int64_t rr = b.rr_position;

  for (const auto& row : b.rows) {
    if (row.error) {
      ++counts.invalid;
      record_error(c, b.job_id, row, *row.error);
      continue;
    }
    if (row.earlier_duplicate) {
      ++counts.duplicates;
      record_error(c, b.job_id, row, "duplicate of an earlier row of this file");
      continue;
    }
    if (!b.dry_run) {
      const Lead* lead = &row.lead;
      Lead assigned;
      if (!b.round_robin.empty()) {
        assigned = row.lead;
        assigned.assigned_to = b.round_robin[static_cast<std::size_t>(rr % static_cast<std::int64_t>(b.round_robin.size()))];
        lead = &assigned;
      }
      if (leads_.insert_imported(c, *org, *lead, b.job_id)) {
        if (!b.round_robin.empty()) ++rr;
        ++counts.inserted;
        ++by_assignee[lead->assigned_to.value_or("")].inserted;
        continue;
      }
    }
    auto existing = find_existing(c, *org, row.lead);
    if (!existing) {  // a dry run: this row would be inserted
      ++counts.inserted;
      continue;
    }
    if (existing->import_id == b.job_id) {
      ++counts.duplicates;
      record_error(c, b.job_id, row, "duplicate of an earlier row of this file");
      continue;
    }
    if (b.dedupe == Dedupe::update) {
      auto current = leads_.select_lead(c, *org, b.organization_id, existing->id);
      if (current) {
        Lead next = current->lead;
        auto filled = fill_empty_fields(next, row);
        bool stored = !filled.empty();
        if (stored && !b.dry_run) {
          next.version = current->lead.version + 1;
          next.updated_at = row.lead.created_at;
          c.exec("SAVEPOINT import_fill");
          try {
            leads_.write_row(c, *org, current->seq, next);
            if (next.tags != current->lead.tags) leads_.write_tags(c, *org, current->seq, next.tags);
            leads_.write_activity(c, *org,
                                  Activity{new_id_at(next.updated_at), next.id, "updated", b.actor_id,
                                           import_data(b.job_id, &filled), next.updated_at});
            c.prepare("INSERT OR REPLACE INTO import_fills (job, lead, fields, version) VALUES (?, ?, ?, ?)")
                .bind(1, b.job_id)
                .bind(2, current->seq)
                .bind(3, json::build([&](json::Writer& w) {
                        w.StartArray();
                        for (const auto& f : filled) json::string(w, f);
                        w.EndArray();
                      }))
                .bind(4, next.version)
                .run();
            c.exec("RELEASE import_fill");
            engine_.search_touched(current->seq);
            engine_.lead_changed(next.id);
          } catch (const DbError& e) {
            c.exec("ROLLBACK TO import_fill");
            c.exec("RELEASE import_fill");
            if (!e.is_unique_violation()) throw;
            stored = false;  // the filled phone or email belongs to yet another lead
          }
        }
        if (stored) {
          ++counts.updated;
          ++by_assignee[next.assigned_to.value_or("")].updated;
          continue;
        }
      }
    }
    ++counts.duplicates;
    record_error(c, b.job_id, row, "duplicate of lead " + existing->id);
  }

  c.prepare(
       "UPDATE import_jobs SET processed_rows = processed_rows + ?, inserted = inserted + ?, updated = updated + ?, "
       "duplicates = duplicates + ?, invalid = invalid + ?, next_offset = ?, next_row = ?, rr_position = ? "
       "WHERE id = ? AND lease_owner IS ?")
      .bind(1, static_cast<std::int64_t>(b.rows.size()))
      .bind(2, counts.inserted)
      .bind(3, counts.updated)
      .bind(4, counts.duplicates)
      .bind(5, counts.invalid)
      .bind(6, b.next_offset)
      .bind(7, b.next_row)
      .bind(8, rr)
      .bind(9, b.job_id)
      .bind(10, owner_value(b.lease_owner))
      .run();
  // The fence, as on PostgreSQL (it cannot fail here after the check above, but the
  // checkpoint is what must never be written without the lease).
  if (c.changes() != 1) throw std::logic_error("apply_batch: the job's lease changed during the batch");

  ImportBatchResult result{counts, rr, {}};
  for (auto& [assignee, n] : by_assignee) result.by_assignee.emplace_back(assignee, n);
  return result;
}

Task<ImportBatchResult> SqliteImportStore::apply_batch(ImportBatch batch) {
  co_return co_await engine_.write([&](Connection& c) { return apply_rows(c, batch); });
}

Task<bool> SqliteImportStore::finish_job(std::string org_id, std::string job_id, std::string state,
                                         std::optional<std::string> error, Millis finished_at, std::string lease_owner) {
  co_return co_await engine_.write([&](Connection& c) {
    c.prepare(
         "UPDATE import_jobs SET state = ?, error = ?, finished_at = ?, lease_owner = NULL, lease_expires = NULL "
         "WHERE id = ? AND org_id = ? AND lease_owner IS ?")
        .bind(1, state)
        .bind(2, error)
        .bind(3, finished_at)
        .bind(4, job_id)
        .bind(5, org_id)
        .bind(6, owner_value(lease_owner))
        .run();
    return c.changes() == 1;
  });
}

Task<std::vector<imports::ImportError>> SqliteImportStore::errors(std::string org_id, std::string job_id,
                                                                  std::int64_t after_row, int limit) {
  co_return co_await engine_.read([&](Connection& c) {
    auto s = c.prepare(
        "SELECT row, reason, cells FROM import_errors WHERE job = ? AND row > ? "
        "AND EXISTS (SELECT 1 FROM import_jobs WHERE id = ? AND org_id = ?) ORDER BY row LIMIT ?");
    s.bind(1, job_id).bind(2, after_row).bind(3, job_id).bind(4, org_id).bind(5, limit);
    std::vector<imports::ImportError> out;
    while (s.step()) out.push_back({s.integer(0), s.text(1), s.text(2)});
    return out;
  });
}

// The database is a local file: the spool beside it is the upload's only copy.
Task<bool> SqliteImportStore::keep_upload_part(std::string, std::string, int, std::string) { co_return false; }
Task<std::optional<std::string>> SqliteImportStore::upload_part(std::string, std::string, int) {
  co_return std::nullopt;
}

Task<imports::RevertResult> SqliteImportStore::revert(std::string org_id, std::string job_id, std::string actor_id,
                                                      Millis now) {
  co_return co_await engine_.write([&](Connection& c) {
    imports::RevertResult result;
    auto org = leads_.org_key(c, org_id);
    if (!org) return result;
    {
      auto kept = c.prepare("SELECT count(*) FROM leads WHERE import_id = ? AND version > 1");
      kept.bind(1, job_id);
      if (kept.step()) result.kept = kept.integer(0);
    }
    std::vector<std::pair<std::int64_t, std::string>> unchanged;
    {
      auto s = c.prepare("SELECT seq, id FROM leads WHERE import_id = ? AND version = 1");
      s.bind(1, job_id);
      while (s.step()) unchanged.emplace_back(s.integer(0), s.text(1));
    }
    for (const auto& [seq, id] : unchanged) {
      c.prepare("DELETE FROM leads WHERE seq = ?").bind(1, seq).run();
      engine_.search_touched(seq);
      engine_.lead_changed(id);
      leads_.write_activity(c, *org, Activity{new_id_at(now), id, "deleted", actor_id, import_data(job_id), now});
      ++result.reverted;
    }

    struct Fill {
      std::int64_t seq;
      std::string fields;
      std::int64_t version;
    };
    std::vector<Fill> fills;
    {
      auto s = c.prepare("SELECT lead, fields, version FROM import_fills WHERE job = ?");
      s.bind(1, job_id);
      while (s.step()) fills.push_back({s.integer(0), s.text(1), s.integer(2)});
    }
    for (const auto& fill : fills) {
      std::optional<std::string> lead_id;
      {
        auto s = c.prepare("SELECT id FROM leads WHERE seq = ? AND org = ?");
        s.bind(1, fill.seq).bind(2, *org);
        if (s.step()) lead_id = s.text(0);
      }
      auto row = lead_id ? leads_.select_lead(c, *org, org_id, *lead_id) : std::nullopt;
      if (!row || row->lead.version != fill.version) {
        ++result.kept;
        continue;
      }
      Lead next = row->lead;
      rapidjson::Document fields;
      fields.Parse(fill.fields.c_str());
      std::vector<std::string> names;
      for (const auto& f : fields.GetArray()) {
        std::string name = f.GetString();
        if (name == "phone") next.phone.reset();
        else if (name == "email") next.email.reset();
        else if (name == "company") next.company.reset();
        else if (name == "source") next.source.reset();
        else if (name == "tags") next.tags.clear();
        names.push_back(name);
      }
      next.version += 1;
      next.updated_at = now;
      leads_.write_row(c, *org, row->seq, next);
      if (next.tags != row->lead.tags) leads_.write_tags(c, *org, row->seq, next.tags);
      leads_.write_activity(c, *org, Activity{new_id_at(now), next.id, "updated", actor_id, import_data(job_id, &names), now});
      engine_.search_touched(row->seq);
      engine_.lead_changed(next.id);
      ++result.restored;
    }
    c.prepare("UPDATE import_jobs SET state = 'reverted', reverted = ?, kept = ? WHERE id = ?")
        .bind(1, result.reverted)
        .bind(2, result.kept)
        .bind(3, job_id)
        .run();
    return result;
  });
}

}  // namespace lms::store::sqlite

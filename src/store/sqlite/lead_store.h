// The SQLite implementation of LeadStore, on the engine (writer queue, reader pool) of
// SqliteStore. Leads are addressed by their organization's integer key; the id <-> key maps
// of organizations and users are immutable once created and cached here.
#pragma once

#include <mutex>
#include <unordered_map>

#include "store/sqlite/sqlite_store.h"

namespace lms::store::sqlite {

class SqliteLeadStore final : public LeadStore {
 public:
  explicit SqliteLeadStore(SqliteStore& engine) : engine_(engine) {}

  Task<WriteResult> insert_lead(leads::Lead lead, leads::Activity activity) override;
  Task<std::optional<leads::Lead>> find_lead(std::string org_id, std::string lead_id) override;
  Task<WriteResult> update_lead(std::string org_id, std::string lead_id, LeadMutation mutate) override;
  Task<WriteResult> delete_lead(std::string org_id, std::string lead_id, leads::Activity activity) override;
  Task<std::vector<leads::Lead>> bulk_update(std::string org_id, std::vector<std::string> ids,
                                             LeadMutation mutate) override;
  Task<leads::LeadPage> list_leads(std::string org_id, leads::LeadQuery query) override;
  Task<std::int64_t> count_leads(std::string org_id, leads::LeadFilter filter) override;
  std::unique_ptr<LeadCursor> export_leads(std::string org_id, leads::LeadFilter filter,
                                           leads::SortKey sort) override;
  Task<void> insert_activity(std::string org_id, leads::Activity activity) override;
  Task<std::int64_t> insert_leads(std::string org_id, std::vector<leads::Lead> leads, std::string activity_type,
                                  std::string activity_data) override;
  Task<std::vector<leads::Activity>> list_activities(std::string org_id, std::string lead_id, int limit) override;

  // One page on the calling (reader) thread; list_leads and the export cursor use it.
  leads::LeadPage read_page(Connection& c, const std::string& org_id, const leads::LeadQuery& query);

 private:
  // Called on store threads only; they may query the database on a cache miss.
  std::optional<std::int64_t> org_key(Connection& c, const std::string& org_id);
  std::optional<std::int64_t> user_key(Connection& c, const std::string& user_id);
  std::optional<std::string> user_id(Connection& c, std::optional<std::int64_t> key);
  // The rowid of `id` through `cache` (an immutable mapping), querying `sql` on a miss.
  std::optional<std::int64_t> cached_rowid(Connection& c, std::unordered_map<std::string, std::int64_t>& cache,
                                           const char* sql, const std::string& id);

  std::optional<leads::LeadRow> select_lead(Connection& c, std::int64_t org, const std::string& org_id,
                                            const std::string& lead_id);
  leads::LeadRow read_row(Connection& c, const Statement& s, const std::string& org_id);
  void write_row(Connection& c, std::int64_t org, std::int64_t seq, const leads::Lead& lead);
  void write_tags(Connection& c, std::int64_t org, std::int64_t seq, const std::vector<std::string>& tags);
  void write_activity(Connection& c, std::int64_t org, const leads::Activity& activity);
  std::string find_duplicate(Connection& c, std::int64_t org, const leads::Lead& lead);
  // Applies a mutation to one lead; shared by update_lead and bulk_update.
  WriteResult mutate_one(Connection& c, std::int64_t org, const std::string& org_id, const std::string& lead_id,
                         const LeadMutation& mutate);

  SqliteStore& engine_;
  std::mutex keys_mutex_;
  std::unordered_map<std::string, std::int64_t> org_keys_;     // guarded by keys_mutex_
  std::unordered_map<std::string, std::int64_t> user_keys_;    // guarded by keys_mutex_
  std::unordered_map<std::int64_t, std::string> user_ids_;     // guarded by keys_mutex_
};

}  // namespace lms::store::sqlite

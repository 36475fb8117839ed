// The SQLite implementation of LeadStore, on the engine (writer queue, reader pool) of
// SqliteStore. Leads are addressed by their organization's integer key; the id <-> key maps
// of organizations and users are immutable once created and cached here.
#pragma once

#include <functional>
#include <mutex>
#include <unordered_map>

#include "store/sqlite/sqlite_store.h"

namespace lms::store::sqlite {

class SqliteLeadStore final : public LeadStore {
 public:
  explicit SqliteLeadStore(SqliteStore& engine) : engine_(engine) {}

  // For imports, on the writer thread inside its transaction: inserts `lead` marked with
  // `import_id`, and its tags, unless its phone or email is taken (its `imported` timeline
  // entry is the job's: see list_activities). Returns the new row's seq, or nullopt for a
  // duplicate.
  std::optional<std::int64_t> insert_imported(Connection& c, std::int64_t org, const leads::Lead& lead,
                                              const std::string& import_id);

  Task<WriteResult> insert_lead(leads::Lead lead, leads::Activity activity) override;
  Task<std::optional<leads::Lead>> find_lead(std::string org_id, std::string lead_id) override;
  Task<WriteResult> update_lead(std::string org_id, std::string lead_id, LeadMutation mutate) override;
  Task<WriteResult> delete_lead(std::string org_id, std::string lead_id, leads::Activity activity) override;
  Task<std::vector<leads::Lead>> bulk_update(std::string org_id, std::vector<std::string> ids,
                                             LeadMutation mutate) override;
  Task<leads::LeadPage> list_leads(std::string org_id, leads::LeadQuery query) override;
  Task<std::int64_t> count_leads(std::string org_id, leads::LeadFilter filter) override;
  Task<leads::LeadStats> lead_stats(std::string org_id, leads::LeadFilter filter, Millis days_from) override;
  std::unique_ptr<LeadCursor> export_leads(std::string org_id, leads::LeadFilter filter, leads::SortKey sort,
                                           LeadRenderer render) override;
  Task<void> insert_activity(std::string org_id, leads::Activity activity) override;
  Task<std::int64_t> insert_leads(std::string org_id, std::vector<leads::Lead> leads, std::string activity_type,
                                  std::string activity_data) override;
  Task<leads::ActivityPage> list_activities(std::string org_id, std::string lead_id, int limit,
                                            std::optional<std::string> before) override;

  // One page on the calling (reader) thread.
  leads::LeadPage read_page(Connection& c, const std::string& org_id, const leads::LeadQuery& query);

  // One page of an export, its text columns copied out of SQLite into one arena, so that
  // reading the next page and rendering this one can run on two threads at once.
  struct RawPage {
    enum Field { id, name, phone, email, company, source, status, assigned_to, tags, kFields };
    struct Row {
      std::uint32_t offset[kFields];
      std::uint32_t size[kFields];
      Millis created_at;
      Millis updated_at;
    };
    std::string arena;
    std::vector<Row> rows;
    std::optional<leads::Position> next;
  };
  // Starts reading, on a reader thread, the export rows after query.after up to and including
  // `through` (all the rest when nullopt); query.limit does not apply.
  std::shared_ptr<Pending<RawPage>> start_raw_page(std::string org_id, leads::LeadQuery query,
                                                   std::optional<leads::Position> through);
  // The position of the `rows`-th row after query.after, nullopt when fewer remain. Walks the
  // sort index only (when the filter allows), so it is far cheaper than reading the rows.
  Task<std::optional<leads::Position>> scout_page_end(std::string org_id, leads::LeadQuery query, int rows);
  // Renders a page on a reader-pool thread.
  Task<std::string> render_raw_page(RawPage page, LeadRenderer render);

 private:
  friend class SqliteImportStore;

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
  // Runs the page query of `query` and calls on_row for each of its first query.limit rows
  // (columns as in kLeadColumns); returns where the next page starts, nullopt after the last.
  RawPage read_raw_page(Connection& c, const std::string& org_id, const leads::LeadQuery& query,
                        const std::optional<leads::Position>& through);
  std::optional<leads::Position> scout(Connection& c, const std::string& org_id, const leads::LeadQuery& query,
                                       int rows);
  // With `through`, the rows stop there (inclusive) as well as at query.limit.
  std::optional<leads::Position> walk_page(Connection& c, const std::string& org_id, const leads::LeadQuery& query,
                                           const std::function<void(const Statement&)>& on_row,
                                           const std::optional<leads::Position>& through = std::nullopt);
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

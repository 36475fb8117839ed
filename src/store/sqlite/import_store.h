// The SQLite implementation of ImportStore: jobs, their error rows and fills in the tables of
// migration 4, and the batch write, which runs on the engine's writer thread inside one
// group-committed transaction (rows, activities, error rows and the job's checkpoint).
#pragma once

#include "store/sqlite/lead_store.h"
#include "store/sqlite/sqlite_store.h"

namespace lms::store::sqlite {

class SqliteImportStore final : public ImportStore {
 public:
  SqliteImportStore(SqliteStore& engine, SqliteLeadStore& leads) : engine_(engine), leads_(leads) {}

  Task<void> create_job(imports::ImportJob job) override;
  Task<std::optional<imports::ImportJob>> find_job(std::string org_id, std::string job_id) override;
  Task<std::vector<imports::ImportJob>> list_jobs(std::string org_id, std::optional<std::string> created_by,
                                                  int limit) override;
  Task<std::vector<imports::ImportJob>> unfinished_jobs() override;
  Task<void> start_job(std::string org_id, std::string job_id, std::int64_t total_rows,
                       Millis started_at) override;
  Task<void> open_job(std::string org_id, std::string job_id) override;
  Task<std::optional<imports::ClaimedJob>> claim_job(std::string owner, Millis ttl) override;
  Task<bool> renew_lease(std::string org_id, std::string job_id, std::string owner, Millis ttl) override;
  Task<void> release_lease(std::string org_id, std::string job_id, std::string owner) override;
  Task<void> reset_job(std::string org_id, std::string job_id, std::string lease_owner) override;
  Task<imports::ImportBatchResult> apply_batch(imports::ImportBatch batch) override;
  Task<bool> finish_job(std::string org_id, std::string job_id, std::string state, std::optional<std::string> error,
                        Millis finished_at, std::string lease_owner) override;
  Task<std::vector<imports::ImportError>> errors(std::string org_id, std::string job_id, std::int64_t after_row,
                                                 int limit) override;
  Task<bool> keep_upload_part(std::string org_id, std::string job_id, int part, std::string bytes) override;
  Task<std::optional<std::string>> upload_part(std::string org_id, std::string job_id, int part) override;
  Task<imports::RevertResult> revert(std::string org_id, std::string job_id, std::string actor_id, Millis now) override;

 private:
  struct Existing {
    std::int64_t seq = 0;
    std::string id;
    std::optional<std::string> import_id;
  };
  std::optional<Existing> find_existing(Connection& c, std::int64_t org, const leads::Lead& lead);
  imports::ImportBatchResult apply_rows(Connection& c, const imports::ImportBatch& batch);

  SqliteStore& engine_;
  SqliteLeadStore& leads_;
};

}  // namespace lms::store::sqlite

// The PostgreSQL implementation of ImportStore. A batch's rows go in through COPY into a
// temporary staging table, then set-based statements apply duplicates, dedupe=update fills
// and activities; the batch, its error rows and the job's checkpoint commit in one
// transaction, so a killed process resumes exactly after the last committed batch.
#pragma once

#include "store/postgres/pool.h"
#include "store/store.h"

namespace lms::store::postgres {

class PgImportStore final : public ImportStore {
 public:
  explicit PgImportStore(Pool& pool) : pool_(pool) {}

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
  Task<imports::RevertResult> revert(std::string org_id, std::string job_id, std::string actor_id,
                                     Millis now) override;

 private:
  Pool& pool_;
};

}  // namespace lms::store::postgres

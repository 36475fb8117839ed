// ImportService: the rules and the engine of CSV imports. It checks an upload before a job
// exists (422 for an empty file, a header without name and phone/email columns, a bad mapping
// or assign), persists the job, and runs jobs in the background on its own threads: records
// are read from the spool file, validated and normalized exactly like API creates
// (leads::validate_new_lead), and written in batches that commit together with the job's
// checkpoint, so a restart resumes where the last batch ended. Knows nothing of HTTP.
//
// Jobs across instances: every instance on a database takes part. A keeper thread claims
// claimable jobs from the store (ImportStore::claim_job: queued ones, and running ones whose
// lease expired because their runner died) every `claim_interval`, and at once after a local
// submit or a finished job, while fewer than `workers` run here; it renews the leases of the
// jobs running here every lease_ttl / 3. Each batch is fenced by the lease, so a runner that
// lost its lease writes nothing more and stops; whoever claims the job next continues from the
// last committed checkpoint. One job of an organization runs at a time, across instances (the
// store's claim rule). stop() releases the leases of the jobs it interrupts, so another
// instance takes them over at once.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <thread>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "accounts/directory.h"
#include "imports/model.h"
#include "realtime/event_bus.h"
#include "store/store.h"

namespace lms::imports {

struct ImportSettings {
  std::filesystem::path spool_dir;
  std::size_t max_upload = 100u << 20;
  std::size_t batch_rows = 10000;
  unsigned workers = 2;
  // How long a job's lease lasts without a renewal: how long a dead runner keeps its job from
  // the other instances. Renewed every lease_ttl / 3.
  std::chrono::milliseconds lease_ttl{15'000};
  // How often this instance looks for jobs to claim (besides at once after a local submit).
  std::chrono::milliseconds claim_interval{1'000};
};

// An upload as the routes received it: the CSV is already in `spool_path` (the service
// takes the file over), the query parameters unparsed.
struct Upload {
  std::filesystem::path spool_path;
  std::string file_name;
  std::optional<std::string> dedupe, assign, source, mapping, dry_run;
};

class ImportService {
 public:
  ImportService(store::Store& store, accounts::AccountDirectory& directory, realtime::EventBus* events,
                ImportSettings settings);
  ~ImportService();

  // Starts taking part in the claims: jobs a stop or a crash interrupted (here or on another
  // instance) are claimed as soon as nobody holds their lease. (submit starts it too.)
  store::Task<void> resume();
  // Stops claiming, stops the jobs running here between batches, releases their leases and
  // waits for the workers; unfinished jobs stay `running`, for any instance to claim. Call
  // before the store closes.
  void stop();

  store::Task<ImportJob> submit(accounts::Principal caller, Upload upload);
  store::Task<ImportJob> get(accounts::Principal caller, std::string id);
  store::Task<std::vector<ImportJob>> list(accounts::Principal caller);
  store::Task<ImportJob> revert(accounts::Principal caller, std::string id);
  // The errors report, in pieces: the header line first, then rows after `after_row`; an
  // empty piece ends it.
  store::Task<std::string> errors_page(const ImportJob& job, std::int64_t& after_row, bool& header_sent);


  const ImportSettings& settings() const { return settings_; }
  // This process's lease owner id (random, per process).
  const std::string& owner() const { return owner_; }
  // `import_rows_total{result}`, `import_jobs_claimed_total`, `import_jobs_taken_over_total`,
  // `import_leases_lost_total` in Prometheus text format.
  void write_metrics(std::string& out) const;
  // For blocking file work of the routes (multipart extraction): the import threads.
  boost::asio::thread_pool::executor_type executor() { return pool_.get_executor(); }

 private:
  // A job running here and its lease.
  struct Lease {
    std::string org_id, job_id;
    std::chrono::steady_clock::time_point renewed;  // last successful claim or renewal; keeper only
    std::atomic<bool> lost{false};                  // set by the keeper or the runner: stop, write nothing
  };

  void start_keeper();
  void wake();
  void keep();                // the keeper thread's loop
  void renew_due();           // keeper thread
  void claim_while_free();    // keeper thread
  store::Task<void> run_job(imports::ClaimedJob claimed, std::shared_ptr<Lease> lease);
  store::Task<ImportJob> process(ImportJob job, std::shared_ptr<Lease> lease);
  // Copies the job's file into the store (where the engine keeps uploads), part by part.
  store::Task<void> keep_upload(const ImportJob& job);
  // When the job's file is not on this machine (another instance received it), writes the
  // store's copy into this instance's spool; returns the path to read.
  store::Task<std::string> local_upload(const ImportJob& job);
  void announce_batch(const ImportJob& job, const ImportBatchResult& result);
  void announce_job(realtime::EventKind kind, const ImportJob& job);

  store::Store& store_;
  accounts::AccountDirectory& directory_;
  realtime::EventBus* events_;
  ImportSettings settings_;
  const std::string owner_;
  boost::asio::thread_pool pool_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> rows_inserted_{0}, rows_updated_{0}, rows_duplicate_{0}, rows_invalid_{0};
  std::atomic<std::int64_t> jobs_claimed_{0}, jobs_taken_over_{0}, leases_lost_{0};

  std::mutex mutex_;
  std::condition_variable wake_;                         // the keeper waits on it
  bool woken_ = false;                                   // guarded by mutex_
  std::thread keeper_;                                   // started once; guarded by mutex_
  std::map<std::string, std::shared_ptr<Lease>> running_;  // job id -> lease; guarded by mutex_
};

// The job as the contract renders it.
std::string job_json(const ImportJob& job);

}  // namespace lms::imports

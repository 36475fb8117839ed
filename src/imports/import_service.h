// ImportService: the rules and the engine of CSV imports. It checks an upload before a job
// exists (422 for an empty file, a header without name and phone/email columns, a bad mapping
// or assign), persists the job, and runs jobs in the background on its own threads: records
// are read from the spool file, validated and normalized exactly like API creates
// (leads::validate_new_lead), and written in batches that commit together with the job's
// checkpoint, so a restart resumes where the last batch ended. Jobs of one organization run
// one at a time; at most `workers` run at once. Knows nothing of HTTP.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
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

  // Resumes the jobs a stop or a crash interrupted.
  store::Task<void> resume();
  // Stops between batches and waits for the workers; unfinished jobs stay `running` and
  // resume at the next start. Call before the store closes.
  void stop();

  store::Task<ImportJob> submit(accounts::Principal caller, Upload upload);
  store::Task<ImportJob> get(accounts::Principal caller, std::string id);
  store::Task<std::vector<ImportJob>> list(accounts::Principal caller);
  store::Task<ImportJob> revert(accounts::Principal caller, std::string id);
  // The errors report, in pieces: the header line first, then rows after `after_row`; an
  // empty piece ends it.
  store::Task<std::string> errors_page(const ImportJob& job, std::int64_t& after_row, bool& header_sent);


  const ImportSettings& settings() const { return settings_; }
  // `import_rows_total{result}` in Prometheus text format.
  void write_metrics(std::string& out) const;
  // For blocking file work of the routes (multipart extraction): the import threads.
  boost::asio::thread_pool::executor_type executor() { return pool_.get_executor(); }

 private:
  void schedule();
  store::Task<void> run_job(ImportJob job);
  store::Task<ImportJob> process(ImportJob job);
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
  boost::asio::thread_pool pool_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> rows_inserted_{0}, rows_updated_{0}, rows_duplicate_{0}, rows_invalid_{0};

  std::mutex mutex_;
  std::deque<ImportJob> pending_;        // guarded by mutex_
  std::set<std::string> busy_orgs_;      // guarded by mutex_
  unsigned running_ = 0;                 // guarded by mutex_
};

// The job as the contract renders it.
std::string job_json(const ImportJob& job);

}  // namespace lms::imports

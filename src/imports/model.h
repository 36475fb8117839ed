// The import domain: a durable CSV import job and the rows it hands to the store in batches.
// Plain values shared by the import service, the stores and the renderers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/time.h"
#include "leads/model.h"

namespace lms::imports {

enum class Dedupe { skip, update };

struct ImportCounts {
  std::int64_t inserted = 0, updated = 0, duplicates = 0, invalid = 0;
  std::int64_t total() const { return inserted + updated + duplicates + invalid; }
};

struct ImportJob {
  std::string id;
  std::string organization_id;
  std::string created_by;
  std::string file_name;
  std::string spool_path;
  // The file's header cells as one comma-separated CSV line, for the errors report.
  std::string header_csv;
  std::string state = "queued";  // queued, running, completed, failed, reverted
  Dedupe dedupe = Dedupe::skip;
  std::string assign = "none";  // none, me (resolved to a user id at upload), round_robin, or a user id
  std::string source = "import";
  std::string mapping_json;  // the explicit header mapping, or empty
  bool dry_run = false;
  std::optional<std::int64_t> total_rows;
  std::int64_t processed_rows = 0;
  ImportCounts counts;
  // The checkpoint: where the next unprocessed record starts, its row number, and the
  // round-robin position, all committed with the batch before it.
  std::int64_t next_offset = 0;
  std::int64_t next_row = 2;
  std::int64_t rr_position = 0;
  std::optional<std::string> error;
  Millis created_at = 0;
  std::optional<Millis> started_at, finished_at;
  std::optional<std::int64_t> reverted, kept;
  // The lease: which instance runs the job (a random per-process id, empty when nobody holds
  // it) and until when, in the store's clock (the database's on PostgreSQL). See ImportStore.
  std::string lease_owner;
  std::optional<Millis> lease_expires;
};

// A job an instance claimed (ImportStore::claim_job), and who held its lease before: empty
// when nobody did (a queued job, a released lease), another owner when this is a takeover of
// a lease that expired under it.
struct ClaimedJob {
  ImportJob job;
  std::string previous_owner;
};

// One CSV record on its way to the store.
struct ImportRow {
  std::int64_t row = 0;              // as a spreadsheet numbers it: the header is row 1
  std::string cells_csv;             // the original cells as one comma-separated CSV line
  std::optional<std::string> error;  // invalid: why
  bool earlier_duplicate = false;    // dry runs: the phone or email appeared in an earlier row
  leads::Lead lead;                  // valid: the lead to insert
  bool source_from_file = false;     // lead.source came from the row's own cell, not the job's default
};

struct ImportBatch {
  std::string job_id;
  std::string organization_id;
  std::string actor_id;
  Dedupe dedupe = Dedupe::skip;
  bool dry_run = false;
  std::vector<ImportRow> rows;
  // assign=round_robin: the agents, in order; a row gets the next one when it is inserted
  // (invalid and duplicate rows take no turn).
  std::vector<std::string> round_robin;
  // The checkpoint committed with these rows (rr_position: the turn before the batch).
  std::int64_t next_offset = 0;
  std::int64_t next_row = 0;
  std::int64_t rr_position = 0;
  // The fence: the batch commits only while this owner holds the job's lease (empty: only
  // while nobody holds it). Otherwise nothing is written and the result says lease_lost.
  std::string lease_owner;
};

struct ImportBatchResult {
  ImportCounts counts;
  std::int64_t rr_position = 0;  // the turn after the batch
  // Inserted or updated leads per assignee ("" for none), for coalesced lead events.
  std::vector<std::pair<std::string, ImportCounts>> by_assignee;
  // The job's lease was no longer the batch's owner's: nothing was written (the transaction
  // rolled back), and the owner must stop running the job.
  bool lease_lost = false;
};

struct ImportError {
  std::int64_t row = 0;
  std::string reason;
  std::string cells_csv;
};

struct RevertResult {
  std::int64_t reverted = 0;  // inserted leads deleted
  std::int64_t kept = 0;      // inserted or filled leads changed since, left alone
  std::int64_t restored = 0;  // leads whose filled fields were emptied again
};

}  // namespace lms::imports

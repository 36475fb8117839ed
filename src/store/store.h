// The storage boundary. Services talk to these interfaces only; each engine (SQLite in
// store/sqlite, PostgreSQL in store/postgres) implements them and is chosen once at start-up
// in app.cpp, by the form of --db. The same storage suite (tests/unit/store_*_suite_test.cpp)
// runs on every engine. Every method
// is a coroutine: an implementation runs its blocking work on its own threads, never on
// the caller's I/O thread. Every tenant-owned row is addressed with its organization id.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "accounts/model.h"
#include "imports/model.h"
#include "leads/model.h"

namespace lms::store {

// Coroutine parameters are taken by value: a reference parameter would dangle as soon as
// a caller passed a temporary (and GCC 12 mishandles temporaries inside co_await).
template <class T>
using Task = boost::asio::awaitable<T>;

struct RefreshTokenRow {
  std::string token_hash;  // SHA-256 of the token, hex; the token itself is never stored
  std::string family_id;   // all tokens rotated from one login share a family
  std::string user_id;
  Millis created_at = 0;
  Millis expires_at = 0;
};

// A session (one refresh-token family) whose access tokens no longer work, recorded until
// the last of them would have expired anyway.
struct RevokedSession {
  std::int64_t seq = 0;  // order of recording, for readers that poll
  std::string session_id;
  Millis expires_at = 0;
};

enum class RotateOutcome { rotated, unknown, reused, expired };

struct RotateResult {
  RotateOutcome outcome = RotateOutcome::unknown;
  std::string user_id;
  std::string organization_id;
  std::string family_id;
};

class AccountStore {
 public:
  virtual ~AccountStore() = default;

  // Returns false when the email is taken (nothing is written then).
  virtual Task<bool> create_organization(accounts::Organization org, accounts::UserRecord admin) = 0;
  virtual Task<std::optional<accounts::Organization>> find_organization(std::string org_id) = 0;
  virtual Task<std::optional<accounts::Organization>> update_organization(std::string org_id,
                                                                          accounts::OrganizationPatch patch) = 0;

  virtual Task<std::optional<accounts::UserRecord>> find_user_by_email(std::string email) = 0;
  virtual Task<std::optional<accounts::User>> find_user(std::string org_id, std::string user_id) = 0;
  virtual Task<std::vector<accounts::User>> list_users(std::string org_id) = 0;
  // Returns false when the email is taken.
  virtual Task<bool> insert_user(accounts::UserRecord record) = 0;
  virtual Task<std::optional<accounts::User>> update_user(std::string org_id, std::string user_id,
                                                          accounts::UserPatch patch) = 0;
  virtual Task<std::size_t> count_users() = 0;

  virtual Task<void> insert_refresh_token(RefreshTokenRow row) = 0;
  // Atomically spends `old_hash` and stores `replacement` in the same family. A token that was
  // already spent or revoked is reuse: its whole family is revoked.
  virtual Task<RotateResult> rotate_refresh_token(std::string old_hash, RefreshTokenRow replacement) = 0;
  // Revokes the family of `token_hash` if it belongs to `user_id`; returns the family's id then.
  virtual Task<std::optional<std::string>> revoke_refresh_family(std::string token_hash, std::string user_id) = 0;
  // Records that the access tokens of session `session_id` are revoked (until `expires_at`),
  // for every instance that shares the database; drops records already past their expiry.
  virtual Task<void> revoke_session(std::string session_id, Millis expires_at) = 0;
  // Revocations recorded after `after_seq` and not yet expired at `now`, oldest first. An
  // engine whose sequence values may become visible out of order (PostgreSQL, with several
  // writers) also returns rows of the last seconds it may have returned before: callers take
  // rows idempotently.
  virtual Task<std::vector<RevokedSession>> revoked_sessions(std::int64_t after_seq, Millis now) = 0;
};

enum class WriteOutcome { ok, not_found, duplicate };

struct WriteResult {
  WriteOutcome outcome = WriteOutcome::ok;
  std::string existing_id;          // the lead that holds the phone or email, for `duplicate`
  std::optional<leads::Lead> lead;  // the lead as stored after the write
  bool changed = false;
};

// What a mutation makes of a lead: its next state and the activities that record the change.
struct LeadChange {
  leads::Lead next;
  std::vector<leads::Activity> activities;
};
// A service rule applied to the current state of a lead inside the write transaction, so
// read-modify-write cannot race: each engine runs it its own way (SQLite on its one writer
// thread; PostgreSQL after SELECT ... FOR UPDATE of the row, on the caller's thread). Returns
// nullopt for "no change"; may throw ApiError (e.g. a stale If-Match), which aborts that
// lead's write. It must be pure computation: it may run again if the engine retries.
using LeadMutation = std::function<std::optional<LeadChange>(const leads::Lead& current)>;

// How an export renders one lead: appends it to `out`. Called (on a store thread, or on the
// thread awaiting LeadCursor::next) with a view that is valid for that call only, so rows go from the database's buffers to the output
// without a Lead (and its allocations) per row.
using LeadRenderer = std::function<void(std::string& out, const leads::LeadView& lead)>;

// A stream of rendered leads for exports: each next() returns the following batch of rows as
// one chunk of text; an empty chunk means every row was read. An implementation may read
// the next batch ahead while the caller writes the current one.
class LeadCursor {
 public:
  virtual ~LeadCursor() = default;
  virtual Task<std::string> next() = 0;
};

class LeadStore {
 public:
  virtual ~LeadStore() = default;

  // Inserts the lead and its activity in one transaction. A lead with the same phone or
  // email in the organization makes it `duplicate` (enforced by unique indexes, so
  // concurrent inserts cannot both win).
  virtual Task<WriteResult> insert_lead(leads::Lead lead, leads::Activity activity) = 0;
  virtual Task<std::optional<leads::Lead>> find_lead(std::string org_id, std::string lead_id) = 0;
  // Applies `mutate` to the lead and stores the result (version + 1) with its activities.
  virtual Task<WriteResult> update_lead(std::string org_id, std::string lead_id, LeadMutation mutate) = 0;
  virtual Task<WriteResult> delete_lead(std::string org_id, std::string lead_id, leads::Activity activity) = 0;
  // Applies `mutate` to each of the organization's leads among `ids`, all in one transaction;
  // returns the leads that changed. Ids of other organizations are skipped.
  virtual Task<std::vector<leads::Lead>> bulk_update(std::string org_id, std::vector<std::string> ids,
                                                     LeadMutation mutate) = 0;
  virtual Task<leads::LeadPage> list_leads(std::string org_id, leads::LeadQuery query) = 0;
  virtual Task<std::int64_t> count_leads(std::string org_id, leads::LeadFilter filter) = 0;
  // Counts by status, source and assignee of the leads `filter` selects, and per UTC day of
  // those created at or after `days_from` (a day's start).
  virtual Task<leads::LeadStats> lead_stats(std::string org_id, leads::LeadFilter filter, Millis days_from) = 0;
  virtual std::unique_ptr<LeadCursor> export_leads(std::string org_id, leads::LeadFilter filter,
                                                   leads::SortKey sort, LeadRenderer render) = 0;
  virtual Task<void> insert_activity(std::string org_id, leads::Activity activity) = 0;
  // Inserts many leads of one organization in one transaction (seeding, imports); a lead
  // whose phone or email is taken is skipped. Each inserted lead gets a `created`
  // activity of `activity_type` with `activity_data`. Returns how many were inserted.
  virtual Task<std::int64_t> insert_leads(std::string org_id, std::vector<leads::Lead> leads,
                                          std::string activity_type, std::string activity_data) = 0;
  // A page of the lead's activities, newest first (descending id), older than `before` (an
  // earlier page's next_before, an activity id) when given.
  virtual Task<leads::ActivityPage> list_activities(std::string org_id, std::string lead_id, int limit,
                                                    std::optional<std::string> before) = 0;
};

// Durable CSV import jobs. A batch commits its rows (leads, activities, error rows) together
// with the job's checkpoint and counts, so a job resumes exactly where the last committed
// batch ended.
//
// Leases: any instance on the database may run any job. An instance claims a job (claim_job)
// with a lease, an owner (a random id per process) and an expiry in the store's clock (the
// database's on PostgreSQL, so instances' clocks need not agree), and renews it while it runs.
// Every batch is fenced by the lease: its checkpoint is written only if the batch's owner still
// holds the lease, in the same transaction as its rows, else nothing is written. A job whose
// lease expired (its runner died or stalled) is claimed by another instance, which continues
// from the last committed checkpoint: no row is imported twice or skipped. At most one job of
// an organization holds a live lease at a time: claims and renewals are serialized (one
// advisory lock on PostgreSQL, the one writer on SQLite), a claim skips organizations with a
// live lease, and a renewal never brings an expired lease back.
class ImportStore {
 public:
  virtual ~ImportStore() = default;
  virtual Task<void> create_job(imports::ImportJob job) = 0;
  virtual Task<std::optional<imports::ImportJob>> find_job(std::string org_id, std::string job_id) = 0;
  // Newest first; with `created_by`, only that user's jobs.
  virtual Task<std::vector<imports::ImportJob>> list_jobs(std::string org_id, std::optional<std::string> created_by,
                                                          int limit) = 0;
  // Jobs a stop or a crash left queued or running, oldest first.
  virtual Task<std::vector<imports::ImportJob>> unfinished_jobs() = 0;
  // A created job is not claimable until its upload is stored where every instance that may
  // claim it can read it: open_job makes it claimable.
  virtual Task<void> open_job(std::string org_id, std::string job_id) = 0;
  // Claims the oldest claimable job, if any: open, queued or running, its lease free or
  // expired, and no other job of its organization holding a live lease. The lease is `owner`'s
  // for `ttl` ms from the store's clock. Rows a concurrent claim holds are skipped, never
  // waited for.
  virtual Task<std::optional<imports::ClaimedJob>> claim_job(std::string owner, Millis ttl) = 0;
  // Extends `owner`'s live lease on the job to `ttl` ms from now. False when the lease is no
  // longer `owner`'s or has expired (an expired lease is never renewed: another job of the
  // organization may have been claimed since); the owner must then stop running the job.
  virtual Task<bool> renew_lease(std::string org_id, std::string job_id, std::string owner, Millis ttl) = 0;
  // Gives the lease up (when `owner` holds it), so another instance may claim the job at once.
  virtual Task<void> release_lease(std::string org_id, std::string job_id, std::string owner) = 0;
  // The job calls below address a job with its organization, like every tenant-owned row: a
  // job id of another organization changes nothing and reads nothing.
  // Marks a queued or running job running with its row count (a finished job stays finished:
  // a runner that lost its lease cannot bring it back).
  virtual Task<void> start_job(std::string org_id, std::string job_id, std::int64_t total_rows,
                               Millis started_at) = 0;
  // Forgets a job's progress (counts, errors, checkpoint): dry runs start over after a restart.
  // Fenced like a batch: only while `lease_owner` holds the lease (empty: while nobody does).
  virtual Task<void> reset_job(std::string org_id, std::string job_id, std::string lease_owner) = 0;
  virtual Task<imports::ImportBatchResult> apply_batch(imports::ImportBatch batch) = 0;
  // Ends the job and frees its lease; fenced like a batch (`lease_owner`, empty: while nobody
  // holds the lease). Returns false when the fence refused it (nothing written).
  virtual Task<bool> finish_job(std::string org_id, std::string job_id, std::string state,
                                std::optional<std::string> error, Millis finished_at, std::string lease_owner) = 0;
  // The job's invalid and duplicate rows with row > after_row, in row order.
  virtual Task<std::vector<imports::ImportError>> errors(std::string org_id, std::string job_id, std::int64_t after_row,
                                                         int limit) = 0;
  // Deletes the job's inserted leads unless changed since, empties the fields it filled
  // unless changed since, and marks the job reverted, in one transaction.
  // The uploaded file of a job, kept in the database part by part (0, 1, ...) so that any
  // instance on the database can run or resume the job, whatever its local disk holds.
  // Engines whose database is a local file keep nothing: keep_upload_part returns false (the
  // spool beside the database is the only copy) and upload_part nullopt. Parts are dropped
  // when the job finishes.
  virtual Task<bool> keep_upload_part(std::string org_id, std::string job_id, int part, std::string bytes) = 0;
  virtual Task<std::optional<std::string>> upload_part(std::string org_id, std::string job_id, int part) = 0;
  virtual Task<imports::RevertResult> revert(std::string org_id, std::string job_id, std::string actor_id,
                                             Millis now) = 0;
};

// How busy the engine is right now, for the health monitor, in terms every engine has: the
// workers that run statements and the work queued for them. What each engine means by them
// (SQLite: reader threads and its one writer's queue; PostgreSQL: pooled connections and the
// callers waiting for one) and its other figures are in its own write_metrics.
struct StoreLoad {
  std::size_t workers = 0;
  std::size_t idle_workers = 0;
  std::size_t queued = 0;  // statements (or transactions) waiting for a worker
  // The most that were queued since the previous take_queue_peak() (0 from load()).
  std::size_t queued_peak = 0;
  std::uint64_t waits = 0;  // since start: statements that found every worker busy
};

class Store {
 public:
  virtual ~Store() = default;
  virtual AccountStore& accounts() = 0;
  virtual LeadStore& leads() = 0;
  virtual ImportStore& imports() = 0;
  // True when the database answers a trivial query.
  virtual Task<bool> ping() = 0;
  // The engine's name ("sqlite", "postgres"), as /readyz reports it.
  virtual std::string engine() const = 0;
  // Prometheus samples of the engine: db_pool_connections{state}, queue depths.
  virtual void write_metrics(std::string& out) = 0;
  virtual StoreLoad load() = 0;
  // The most that were queued since the previous call, which starts a new period: the health
  // monitor's saturation signal (a sampled depth misses bursts between samples).
  virtual std::size_t take_queue_peak() = 0;
  // Finishes queued writes and the work an engine defers after a write (SQLite: the search
  // index of new rows), then closes every connection. Idempotent.
  virtual void close() = 0;
};

}  // namespace lms::store

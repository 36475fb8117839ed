#include "imports/import_service.h"
#include "ops/ops_routes.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "common/validate.h"
#include "common/async.h"
#include "common/errors.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/time.h"
#include "imports/csv_reader.h"
#include "imports/fingerprint_set.h"
#include "imports/header_mapping.h"
#include "leads/leads_service.h"
#include "ops/log.h"

namespace lms::imports {

namespace asio = boost::asio;
using accounts::Principal;
using accounts::Role;

namespace {

bool is_manager(const Principal& p) { return p.role == Role::admin || p.role == Role::manager; }

// One CSV cell, quoted when it needs to be (RFC 4180).
void append_cell(std::string& out, std::string_view value) {
  bool quote = value.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

template <class Cells>
std::string csv_line(const Cells& cells) {
  std::string out;
  bool first = true;
  for (const auto& cell : cells) {
    if (!first) out += ',';
    first = false;
    append_cell(out, cell);
  }
  return out;
}

std::string reason_of(const ApiError& error) {
  if (error.details().empty()) return error.what();
  std::string out;
  for (const auto& d : error.details()) {
    if (!out.empty()) out += "; ";
    out += d.field + ": " + d.message;
  }
  return out;
}

// Turns a mapped record into the API's input shape, so imports run the API's rules.
leads::LeadInput lead_input(const LeadValues& v, const std::string& default_source) {
  leads::LeadInput in;
  auto set = [](leads::Field<std::string>& field, const std::string& value) {
    if (!value.empty()) field = std::optional<std::string>(value);
  };
  set(in.name, v.name);
  set(in.phone, v.phone);
  set(in.email, v.email);
  set(in.company, v.company);
  set(in.source, v.source.empty() ? default_source : v.source);
  set(in.status, v.status);
  if (!v.tags.empty()) in.tags = v.tags;
  if (v.custom_json != "{}") in.custom_json = v.custom_json;
  return in;
}

std::optional<Dedupe> parse_dedupe(const std::optional<std::string>& text) {
  if (!text || *text == "skip") return Dedupe::skip;
  if (*text == "update") return Dedupe::update;
  return std::nullopt;
}

std::optional<bool> parse_flag(const std::optional<std::string>& text) {
  if (!text || *text == "false" || *text == "0") return false;
  if (*text == "true" || *text == "1" || text->empty()) return true;
  return std::nullopt;
}

// Removes the spool file unless released: an upload refused with 422 leaves nothing behind.
struct SpoolGuard {
  std::filesystem::path path;
  bool keep = false;
  ~SpoolGuard() {
    if (keep) return;
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

// The four counts every job rendering carries (the job, and import:progress).
void write_counts(json::Writer& w, const ImportCounts& counts) {
  json::key(w, "inserted");
  w.Int64(counts.inserted);
  json::key(w, "updated");
  w.Int64(counts.updated);
  json::key(w, "duplicates");
  w.Int64(counts.duplicates);
  json::key(w, "invalid");
  w.Int64(counts.invalid);
}

std::string progress_json(const ImportJob& job) {
  return json::build([&](json::Writer& w) {
    w.StartObject();
    json::field(w, "id", job.id);
    json::key(w, "processedRows");
    w.Int64(job.processed_rows);
    json::key(w, "totalRows");
    w.Int64(job.total_rows.value_or(0));
    write_counts(w, job.counts);
    w.EndObject();
  });
}

// Import threads run at a lower CPU priority (nice 10) than the I/O threads, so parsing a
// large file never takes a core from API requests on a small machine. Linux applies nice
// per thread; elsewhere this does nothing.
void yield_to_requests() {
#ifdef __linux__
  thread_local bool lowered = false;
  if (lowered) return;
  lowered = true;
  setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
#endif
}

// Reads a job's file from its checkpoint and turns records into batches of checked rows,
// one batch per call to next() (never two at once). Each batch carries the checkpoint after
// its last record; the store assigns round-robin turns when it writes.
class BatchParser {
 public:
  BatchParser(const ImportJob& job, std::string region, std::vector<std::string> agents, std::size_t batch_rows)
      : reader_(CsvReader::open(job.spool_path)),
        job_(job),
        region_(std::move(region)),
        agents_(std::move(agents)),
        batch_rows_(batch_rows) {
    auto mapping = parse_mapping_json(job.mapping_json.empty() ? "{}" : job.mapping_json);
    columns_ = map_headers(reader_.header_names(), mapping.mapping).columns;
    if (job.next_offset > 0)
      reader_.resume_at(static_cast<std::uint64_t>(job.next_offset), static_cast<std::uint64_t>(job.next_row));
  }

  ImportBatch next() {
    yield_to_requests();
    ImportBatch batch{job_.id, job_.organization_id, job_.created_by, job_.dedupe, job_.dry_run, {}, agents_, 0, 0, 0};
    batch.rows.reserve(std::min<std::size_t>(batch_rows_, 8192));
    const Millis now = now_ms();
    while (batch.rows.size() < batch_rows_) {
      const CsvRecord* record = reader_.next();
      if (!record) break;
      batch.rows.push_back(check(*record, now));
    }
    auto checkpoint = reader_.checkpoint();
    batch.next_offset = static_cast<std::int64_t>(checkpoint.offset);
    batch.next_row = static_cast<std::int64_t>(checkpoint.next_row);
    return batch;
  }

 private:
  ImportRow check(const CsvRecord& record, Millis now) {
    ImportRow row;
    row.row = static_cast<std::int64_t>(record.row);
    row.cells_csv = csv_line(record.fields);
    if (!record.valid()) {
      row.error = record.reason();
      return row;
    }
    try {
      auto values = lead_values(record.fields, columns_);  // throws 422 for a bad custom value
      auto f = leads::validate_new_lead(lead_input(values, job_.source), region_);
      row.lead = leads::new_lead(f, job_.organization_id, job_.created_by, now);
      row.source_from_file = !values.source.empty();
      leads::Lead& lead = row.lead;
      if (values.custom_json != "{}") lead.custom_json = values.custom_json;
      if (job_.assign != "none" && job_.assign != "round_robin") lead.assigned_to = job_.assign;
      if (job_.dry_run) {
        bool earlier = (lead.phone && !seen_.insert("phone", *lead.phone));
        earlier = (lead.email && !seen_.insert("email", *lead.email)) || earlier;
        row.earlier_duplicate = earlier;
      }
    } catch (const ApiError& error) {
      row.error = reason_of(error);
    }
    return row;
  }

  CsvReader reader_;
  const ImportJob job_;
  const std::string region_;
  const std::vector<std::string> agents_;
  const std::size_t batch_rows_;
  ColumnMap columns_;
  FingerprintSet seen_;  // dry runs: phones and emails of earlier rows
};

}  // namespace

std::string job_json(const ImportJob& job) {
  auto time_or_null = [](json::Writer& w, const char* key, const std::optional<Millis>& t) {
    json::key(w, key);
    t ? json::string(w, format_rfc3339(*t)) : (void)w.Null();
  };
  return json::build([&](json::Writer& w) {
    w.StartObject();
    json::field(w, "id", job.id);
    json::field(w, "state", job.state);
    json::field(w, "fileName", job.file_name);
    json::key(w, "totalRows");
    job.total_rows ? (void)w.Int64(*job.total_rows) : (void)w.Null();
    json::key(w, "processedRows");
    w.Int64(job.processed_rows);
    write_counts(w, job.counts);
    json::field(w, "createdBy", job.created_by);
    json::field(w, "createdAt", format_rfc3339(job.created_at));
    time_or_null(w, "startedAt", job.started_at);
    time_or_null(w, "finishedAt", job.finished_at);
    json::key(w, "error");
    job.error ? json::string(w, *job.error) : (void)w.Null();
    json::key(w, "dryRun");
    w.Bool(job.dry_run);
    json::field(w, "dedupe", job.dedupe == Dedupe::update ? "update" : "skip");
    json::field(w, "source", job.source);
    if (job.reverted) {
      json::key(w, "reverted");
      w.Int64(*job.reverted);
      json::key(w, "kept");
      w.Int64(job.kept.value_or(0));
    }
    w.EndObject();
  });
}

namespace {

// A lease owner id: unique per process (a new UUID each start), with the host and pid for
// the logs of whoever finds it on a job.
std::string make_owner_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = 0;
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + new_id();
}

// Runs a store call to completion from the keeper thread (never an I/O thread).
template <class T>
T wait_for(asio::awaitable<T> task) {
  asio::io_context ctx;
  auto future = asio::co_spawn(ctx, std::move(task), asio::use_future);
  ctx.run();
  return future.get();
}

}  // namespace

ImportService::ImportService(store::Store& store, accounts::AccountDirectory& directory, realtime::EventBus* events,
                             ImportSettings settings)
    : store_(store),
      directory_(directory),
      events_(events),
      settings_(std::move(settings)),
      owner_(make_owner_id()),
      pool_(std::max(1u, settings_.workers)) {
  std::filesystem::create_directories(settings_.spool_dir);
}

ImportService::~ImportService() { stop(); }

void ImportService::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  // The keeper first: once it is gone nothing new starts, and the runners stop after their
  // batch (a batch is far shorter than a lease, so no renewal is missed that matters).
  if (keeper_.joinable()) keeper_.join();
  pool_.join();
}

store::Task<void> ImportService::resume() {
  ops::LogLine("import leases").str("owner", owner_).num("lease_ttl_ms", settings_.lease_ttl.count()).info();
  start_keeper();
  co_return;
}

void ImportService::start_keeper() {
  std::lock_guard lock(mutex_);
  if (keeper_.joinable() || stopping_) return;
  keeper_ = std::thread([this] { keep(); });
}

void ImportService::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

void ImportService::keep() {
  using namespace std::chrono;
  const auto tick = std::max(milliseconds(10), std::min(settings_.claim_interval, settings_.lease_ttl / 3));
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    renew_due();
    claim_while_free();
    lock.lock();
    wake_.wait_for(lock, tick, [&] { return stopping_.load() || woken_; });
  }
}

void ImportService::renew_due() {
  const auto now = std::chrono::steady_clock::now();
  const auto every = settings_.lease_ttl / 3;
  std::vector<std::shared_ptr<Lease>> due;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, lease] : running_)
      if (!lease->lost && now - lease->renewed >= every) due.push_back(lease);
  }
  for (auto& lease : due) {
    bool renewed = false;
    try {
      renewed = wait_for(store_.imports().renew_lease(lease->org_id, lease->job_id, owner_, settings_.lease_ttl.count()));
    } catch (const std::exception& error) {
      // The database may be back before the lease ends; past it, the job may be another's.
      ops::LogLine("import lease not renewed").str("job", lease->job_id).str("error", error.what()).warn();
      if (std::chrono::steady_clock::now() - lease->renewed < settings_.lease_ttl) continue;
    }
    if (renewed) {
      lease->renewed = now;
      continue;
    }
    if (!lease->lost.exchange(true)) {
      ++leases_lost_;
      ops::LogLine("import lease lost").str("job", lease->job_id).str("owner", owner_).warn();
    }
  }
}

void ImportService::claim_while_free() {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || running_.size() >= std::max(1u, settings_.workers)) return;
    }
    std::optional<ClaimedJob> claimed;
    const auto asked = std::chrono::steady_clock::now();
    try {
      claimed = wait_for(store_.imports().claim_job(owner_, settings_.lease_ttl.count()));
    } catch (const std::exception& error) {
      ops::LogLine("import claim failed").str("error", error.what()).warn();
      return;
    }
    if (!claimed) return;
    auto lease = std::make_shared<Lease>();
    lease->org_id = claimed->job.organization_id;
    lease->job_id = claimed->job.id;
    lease->renewed = asked;  // the lease runs from (at the latest) when the claim was sent
    ++jobs_claimed_;
    const bool taken_over = !claimed->previous_owner.empty() && claimed->previous_owner != owner_;
    if (taken_over) ++jobs_taken_over_;
    ops::LogLine(taken_over ? "import taken over" : "import claimed")
        .str("job", claimed->job.id)
        .str("state", claimed->job.state)
        .num("processedRows", claimed->job.processed_rows)
        .str("previous_owner", claimed->previous_owner)
        .info();
    {
      std::lock_guard lock(mutex_);
      running_[lease->job_id] = lease;
    }
    asio::co_spawn(pool_.get_executor(), run_job(std::move(*claimed), lease), asio::detached);
  }
}

store::Task<void> ImportService::run_job(ClaimedJob claimed, std::shared_ptr<Lease> lease) {
  bool finished = false;
  try {
    auto job = co_await process(std::move(claimed.job), lease);
    finished = job.state != "queued" && job.state != "running";
  } catch (const std::exception& error) {
    ops::LogLine("import failed").str("error", error.what()).error();
  }
  if (!finished && !lease->lost) {
    // Stopped between batches (or by an error that left it unfinished): the next claimer,
    // here or elsewhere, need not wait for the lease to run out.
    try {
      co_await store_.imports().release_lease(lease->org_id, lease->job_id, owner_);
    } catch (const std::exception& error) {
      ops::LogLine("import lease not released").str("job", lease->job_id).str("error", error.what()).warn();
    }
  }
  {
    std::lock_guard lock(mutex_);
    running_.erase(lease->job_id);
  }
  if (!stopping_) wake();  // a worker is free
}

namespace {
constexpr std::size_t kUploadPart = 4u << 20;  // bytes per part of an upload kept in the store
}  // namespace

store::Task<void> ImportService::keep_upload(const ImportJob& job) {
  std::ifstream in(job.spool_path, std::ios::binary);
  for (int part = 0;; ++part) {
    std::string bytes = co_await run_on(pool_.get_executor(), [&]() {
      std::string chunk(kUploadPart, '\0');
      in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      chunk.resize(static_cast<std::size_t>(in.gcount()));
      return chunk;
    });
    if (bytes.empty() && part > 0) break;
    const bool last = bytes.size() < kUploadPart;
    if (!co_await store_.imports().keep_upload_part(job.organization_id, job.id, part, std::move(bytes))) break;
    if (last) break;
  }
}

store::Task<std::string> ImportService::local_upload(const ImportJob& job) {
  if (std::filesystem::exists(job.spool_path)) co_return job.spool_path;
  auto local = settings_.spool_dir / std::filesystem::path(job.spool_path).filename();
  auto first = co_await store_.imports().upload_part(job.organization_id, job.id, 0);
  if (!first) throw std::runtime_error("the import's file is gone: " + job.spool_path);
  co_await run_on(pool_.get_executor(), [&]() {
    std::filesystem::create_directories(settings_.spool_dir);
    std::ofstream(local, std::ios::binary | std::ios::trunc).write(first->data(), static_cast<std::streamsize>(first->size()));
  });
  for (int part = 1;; ++part) {
    auto bytes = co_await store_.imports().upload_part(job.organization_id, job.id, part);
    if (!bytes) break;
    co_await run_on(pool_.get_executor(), [&]() {
      std::ofstream(local, std::ios::binary | std::ios::app).write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
    });
  }
  ops::LogLine("import file restored from the database").str("job_id", job.id).str("path", local.string()).info();
  co_return local.string();
}

store::Task<ImportJob> ImportService::process(ImportJob job, std::shared_ptr<Lease> lease) {
  try {
    job.spool_path = co_await local_upload(job);
    if (job.dry_run && job.processed_rows > 0) {  // dry runs keep no state across a restart
      co_await store_.imports().reset_job(job.organization_id, job.id, owner_);
      job.processed_rows = 0;
      job.counts = {};
      job.next_offset = 0;
      job.next_row = 2;
      job.rr_position = 0;
    }
    if (job.state == "queued" || !job.total_rows) {
      auto total = static_cast<std::int64_t>(count_records(job.spool_path));
      Millis started = now_ms();
      co_await store_.imports().start_job(job.organization_id, job.id, total, started);
      job.total_rows = total;
      if (!job.started_at) job.started_at = started;
      job.state = "running";
    }

    auto org = co_await directory_.organization(job.organization_id);
    std::vector<std::string> agents;
    if (job.assign == "round_robin") {
      for (const auto& user : co_await store_.accounts().list_users(job.organization_id))
        if (user.role == Role::agent && user.active) agents.push_back(user.id);
      std::sort(agents.begin(), agents.end());
    }
    auto parser = std::make_shared<BatchParser>(job, org ? org->default_country : std::string("US"),
                                                std::move(agents), settings_.batch_rows);

    // Parsing the next batch overlaps writing this one: the store's writer and an import
    // thread work at once. The parser is shared with the work in flight, so leaving early
    // (an error, a stop) never pulls it from under a running parse.
    std::chrono::steady_clock::duration write_wait{}, parse_wait{};
    ImportBatch batch = parser->next();
    while (!batch.rows.empty()) {
      if (lease->lost) co_return job;  // another instance may run it now: write nothing more
      auto upcoming = Pending<ImportBatch>::start(pool_.get_executor(), [parser] { return parser->next(); });
      batch.rr_position = job.rr_position;
      batch.lease_owner = owner_;
      const auto rows = static_cast<std::int64_t>(batch.rows.size());
      const std::int64_t next_offset = batch.next_offset, next_row = batch.next_row;
      auto write_started = std::chrono::steady_clock::now();
      auto result = co_await store_.imports().apply_batch(std::move(batch));
      auto wait_started = std::chrono::steady_clock::now();
      write_wait += wait_started - write_started;
      if (result.lease_lost) {  // the fence: nothing of this batch was written
        if (!lease->lost.exchange(true)) ++leases_lost_;
        ops::LogLine("import lease lost").str("job", job.id).str("owner", owner_).num("processedRows", job.processed_rows).warn();
        co_return job;
      }
      job.processed_rows += rows;
      job.counts.inserted += result.counts.inserted;
      job.counts.updated += result.counts.updated;
      job.counts.duplicates += result.counts.duplicates;
      job.counts.invalid += result.counts.invalid;
      job.rr_position = result.rr_position;
      job.next_offset = next_offset;
      job.next_row = next_row;
      rows_inserted_ += result.counts.inserted;
      rows_updated_ += result.counts.updated;
      rows_duplicate_ += result.counts.duplicates;
      rows_invalid_ += result.counts.invalid;
      announce_batch(job, result);
      if (stopping_) co_return job;  // any instance resumes it from the committed checkpoint
      batch = co_await upcoming->get();
      parse_wait += std::chrono::steady_clock::now() - wait_started;
    }
    job.state = "completed";
    auto ms = [](auto d) { return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()); };
    // Which side of the pipeline held the job up: the writer, or parsing and checking rows.
    ops::LogLine("import finished")
        .str("job", job.id)
        .num("rows", job.processed_rows)
        .num("waitedForWriterMs", ms(write_wait))
        .num("waitedForParserMs", ms(parse_wait))
        .info();
  } catch (const std::exception& error) {
    job.state = "failed";
    job.error = error.what();
  }
  // (Not inside the handler: a catch block cannot co_await.)
  job.finished_at = now_ms();
  if (!co_await store_.imports().finish_job(job.organization_id, job.id, job.state, job.error, *job.finished_at, owner_)) {
    // The lease went to another instance meanwhile: the job is its to finish.
    if (!lease->lost.exchange(true)) ++leases_lost_;
    ops::LogLine("import lease lost").str("job", job.id).str("owner", owner_).str("state", job.state).warn();
    job.state = "running";
    co_return job;
  }
  // The rows that matter later (errors, fills) are in the database; the file is done with.
  std::error_code ignored;
  std::filesystem::remove(job.spool_path, ignored);
  announce_job(realtime::EventKind::import_completed, job);
  co_return job;
}

void ImportService::write_metrics(std::string& out) const {
  out += "# HELP import_rows_total Rows processed by CSV imports, by result.\n# TYPE import_rows_total counter\n";
  auto sample = [&](const char* result, const std::atomic<std::int64_t>& n) {
    out += "import_rows_total{result=\"";
    out += result;
    out += "\"} ";
    out += std::to_string(n.load(std::memory_order_relaxed));
    out += '\n';
  };
  sample("inserted", rows_inserted_);
  sample("updated", rows_updated_);
  sample("duplicate", rows_duplicate_);
  sample("invalid", rows_invalid_);
  auto counter = [&](const char* name, const char* help, const std::atomic<std::int64_t>& n) {
    ops::write_counter(out, name, help, static_cast<std::uint64_t>(n.load(std::memory_order_relaxed)));
  };
  counter("import_jobs_claimed_total", "Import jobs this instance claimed (queued, released or expired).",
          jobs_claimed_);
  counter("import_jobs_taken_over_total",
          "Import jobs this instance claimed whose lease had expired under another owner.", jobs_taken_over_);
  counter("import_leases_lost_total", "Import jobs this instance stopped because their lease was no longer its own.",
          leases_lost_);
}

void ImportService::announce_batch(const ImportJob& job, const ImportBatchResult& result) {
  if (!events_) return;
  for (const auto& [assignee, counts] : result.by_assignee) {
    realtime::Event event;
    event.kind = realtime::EventKind::leads_changed;
    event.organization_id = job.organization_id;
    event.assignee = assignee;
    event.counts = {counts.inserted, counts.updated, 0};
    events_->publish(std::move(event));
  }
  announce_job(realtime::EventKind::import_progress, job);
}

void ImportService::announce_job(realtime::EventKind kind, const ImportJob& job) {
  if (!events_) return;
  realtime::Event event;
  event.kind = kind;
  event.organization_id = job.organization_id;
  event.user_id = job.created_by;
  event.job_id = job.id;
  event.payload = kind == realtime::EventKind::import_progress ? progress_json(job) : job_json(job);
  events_->publish(std::move(event));
}

store::Task<ImportJob> ImportService::submit(Principal caller, Upload upload) {
  SpoolGuard guard{upload.spool_path};
  auto dedupe = parse_dedupe(upload.dedupe);
  if (!dedupe) throw ApiError::validation("dedupe", "must be skip or update");
  auto dry_run = parse_flag(upload.dry_run);
  if (!dry_run) throw ApiError::validation("dryRun", "must be true or false");
  std::string assign = upload.assign.value_or("none");
  if (caller.role == Role::agent || assign == "me") {
    assign = caller.user_id;  // agents' rows are their own
  } else if (assign != "none" && assign != "round_robin") {
    auto user = co_await directory_.user(caller.organization_id, assign);
    if (!user || !user->active) throw ApiError::validation("assign", "not an active user of this organization");
  }
  // The same rule as a lead's own source: the job's source is what inserted leads get.
  std::string source = validate::text(upload.source.value_or("import"), "source", 100);
  std::string mapping_json = upload.mapping.value_or("");
  auto mapping = parse_mapping_json(mapping_json.empty() ? "{}" : mapping_json);
  if (!mapping.error.empty()) throw ApiError::validation("mapping", mapping.error);

  // The file itself, checked now (on the import threads: it is disk work) so a hopeless
  // upload is a 422, not a job that fails later.
  std::string header_csv = co_await run_on(pool_.get_executor(), [&]() -> std::string {
    auto reader = CsvReader::open(upload.spool_path, CsvOptions{64 * 1024, 1 << 20});
    const CsvRecord* header = reader.header();
    if (!header) throw ApiError::validation("file", "the file is empty");
    if (header->error != RecordError::none)
      throw ApiError::validation("file", "the header row is unreadable: " + header->reason());
    auto mapped = map_headers(reader.header_names(), mapping.mapping);
    if (!mapped.ok()) throw ApiError::validation("mapping", mapped.error_message());
    if (!mapped.columns.usable()) throw ApiError::validation("file", mapped.columns.unusable_reason());
    if (!reader.next()) throw ApiError::validation("file", "the file has a header but no rows");
    return csv_line(reader.header_names());
  });

  ImportJob job;
  job.id = new_id();
  job.organization_id = caller.organization_id;
  job.created_by = caller.user_id;
  job.file_name = upload.file_name.empty() ? "upload.csv" : upload.file_name;
  job.spool_path = upload.spool_path.string();
  job.header_csv = std::move(header_csv);
  job.dedupe = *dedupe;
  job.assign = assign;
  job.source = source;
  job.mapping_json = mapping_json;
  job.dry_run = *dry_run;
  job.created_at = now_ms();
  co_await store_.imports().create_job(job);
  std::exception_ptr not_kept;
  try {
    co_await keep_upload(job);
  } catch (...) {
    not_kept = std::current_exception();
  }
  if (not_kept) {  // a job whose file no instance could read would only fail later
    co_await store_.imports().finish_job(job.organization_id, job.id, "failed", std::string("the upload could not be stored"), now_ms(), "");
    std::rethrow_exception(not_kept);
  }
  guard.keep = true;
  // Claimable from now on, by this instance (woken at once) or any other.
  co_await store_.imports().open_job(job.organization_id, job.id);
  start_keeper();
  wake();
  co_return job;
}

store::Task<ImportJob> ImportService::get(Principal caller, std::string id) {
  auto job = co_await store_.imports().find_job(caller.organization_id, id);
  if (!job || (!is_manager(caller) && job->created_by != caller.user_id)) throw ApiError::not_found("import not found");
  co_return std::move(*job);
}

store::Task<std::vector<ImportJob>> ImportService::list(Principal caller) {
  std::optional<std::string> only;
  if (!is_manager(caller)) only = caller.user_id;
  co_return co_await store_.imports().list_jobs(caller.organization_id, only, 100);
}

store::Task<ImportJob> ImportService::revert(Principal caller, std::string id) {
  auto job = co_await get(caller, id);
  if (!is_manager(caller)) throw ApiError::forbidden("only admins and managers may revert imports");
  if (job.state != "completed" || job.dry_run)
    throw ApiError::validation("state", "only a completed import that is not a dry run can be reverted");
  auto result = co_await store_.imports().revert(caller.organization_id, id, caller.user_id, now_ms());
  if (events_ && (result.reverted > 0 || result.restored > 0)) {
    realtime::Event event;
    event.kind = realtime::EventKind::leads_changed;
    event.organization_id = caller.organization_id;
    event.counts = {0, result.restored, result.reverted};
    events_->publish(std::move(event));
  }
  co_return co_await get(caller, id);
}

store::Task<std::string> ImportService::errors_page(const ImportJob& job, std::int64_t& after_row, bool& header_sent) {
  if (!header_sent) {
    header_sent = true;
    co_return "row,reason," + job.header_csv + "\r\n";
  }
  auto errors = co_await store_.imports().errors(job.organization_id, job.id, after_row, 2000);
  std::string out;
  for (const auto& e : errors) {
    out += std::to_string(e.row);
    out += ',';
    append_cell(out, e.reason);
    out += ',';
    out += e.cells_csv;
    out += "\r\n";
    after_row = e.row;
  }
  co_return out;
}

}  // namespace lms::imports

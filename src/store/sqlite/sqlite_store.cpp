#include "store/sqlite/sqlite_store.h"

#include <filesystem>
#include <set>

#include "common/json.h"
#include "store/sqlite/account_store.h"
#include "store/sqlite/import_store.h"
#include "store/sqlite/lead_store.h"

namespace lms::store::sqlite {

namespace {

// A lead's search document: name, email, company and the digits of the phone, for rows of
// `leads`. The one definition; both the writer's flush and the backlog indexer use it.
constexpr const char* kSearchDocument =
    "name || ' ' || coalesce(email, '') || ' ' || coalesce(company, '') || ' ' || substr(coalesce(phone, ''), 2)";

}  // namespace

SqliteStore::ReaderLease::~ReaderLease() {
  if (!conn) return;
  {
    std::lock_guard lock(store->readers_mutex_);
    store->idle_readers_.push_back(std::move(conn));
  }
  store->reader_returned_.notify_one();
}

SqliteStore::SqliteStore(std::string path, int reader_threads, ReadTuning tuning, IndexTuning index_tuning)
    : path_(std::move(path)), read_tuning_(tuning), index_tuning_(index_tuning), lead_cache_(tuning.lead_cache_entries), readers_(static_cast<std::size_t>(reader_threads)) {
  auto parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  writer_conn_ = std::make_unique<Connection>(path_, false);
  migrate(*writer_conn_);
  // One process per SQLite file (README): a lease still held now is a crashed predecessor's,
  // so its jobs resume at once instead of after the lease time.
  writer_conn_->exec("UPDATE import_jobs SET lease_owner = NULL, lease_expires = NULL WHERE lease_owner IS NOT NULL");
  note_search_backlog(*writer_conn_);
  checkpointer_ = std::make_unique<Checkpointer>(path_, *writer_conn_);
  for (int i = 0; i < reader_threads; ++i) idle_readers_.push_back(std::make_unique<Connection>(path_, true));
  reader_count_ = idle_readers_.size();
  accounts_ = std::make_unique<SqliteAccountStore>(*this);
  leads_ = std::make_unique<SqliteLeadStore>(*this);
  imports_ = std::make_unique<SqliteImportStore>(*this, *leads_);
  writer_ = std::thread([this] { writer_loop(); });
}

SqliteStore::~SqliteStore() { close(); }

AccountStore& SqliteStore::accounts() { return *accounts_; }
LeadStore& SqliteStore::leads() { return *leads_; }
ImportStore& SqliteStore::imports() { return *imports_; }

void SqliteStore::enqueue_write(WriteJob job) {
  {
    std::lock_guard lock(write_mutex_);
    write_queue_.push_back(std::move(job));
    write_queue_peak_ = std::max(write_queue_peak_, write_queue_.size());
  }
  write_ready_.notify_one();
}

std::size_t SqliteStore::take_queue_peak() {
  std::lock_guard lock(write_mutex_);
  return std::exchange(write_queue_peak_, write_queue_.size());
}

void SqliteStore::writer_loop() {
  constexpr std::size_t kMaxBatch = 512;
  for (;;) {
    std::vector<WriteJob> batch;
    {
      std::unique_lock lock(write_mutex_);
      write_ready_.wait(lock, [this] { return stopping_ || !write_queue_.empty() || index_when_idle(); });
      if (write_queue_.empty() && stopping_) return;  // every queued write is done; the index can wait
      while (!write_queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(write_queue_.front()));
        write_queue_.pop_front();
      }
    }
    if (batch.empty()) {
      index_search_tail_now();  // idle: the writer catches the search index up
      continue;
    }
    run_batch(batch);
    if (search_behind_by_ >= index_tuning_.chunk_rows) index_search_tail_now();
    if (checkpointer_->overdue())
      sqlite3_wal_checkpoint_v2(writer_conn_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
}

void SqliteStore::run_batch(std::vector<WriteJob>& batch) {
  std::vector<std::exception_ptr> errors(batch.size());
  Connection& c = *writer_conn_;
  try {
    c.prepare("BEGIN IMMEDIATE").run();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto search_mark = search_touched_.size();
      c.prepare("SAVEPOINT job").run();
      try {
        batch[i].run(c);
        c.prepare("RELEASE job").run();
      } catch (...) {
        errors[i] = std::current_exception();
        c.prepare("ROLLBACK TO job").run();
        c.prepare("RELEASE job").run();
        search_touched_.resize(search_mark);
      }
    }
    flush_search();
    note_search_backlog(c);
    c.prepare("COMMIT").run();
  } catch (...) {
    // The transaction itself failed (disk full, I/O error): nothing of the batch is durable.
    auto error = std::current_exception();
    try {
      c.exec("ROLLBACK");
    } catch (...) {
    }
    for (auto& e : errors) e = error;
    search_touched_.clear();
  }
  // Committed or not, the cached copies of what the batch touched are dropped before any
  // caller hears back, so nobody reads a lead older than their own write.
  for (const auto& id : changed_leads_) lead_cache_.invalidate(id);
  changed_leads_.clear();
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(errors[i]);
}

StoreLoad SqliteStore::load() {
  StoreLoad l;
  // Reads run on the reader threads and wait for one; writes queue for the one writer.
  l.workers = reader_count_;
  {
    std::lock_guard lock(readers_mutex_);
    l.idle_workers = idle_readers_.size();
  }
  {
    std::lock_guard lock(write_mutex_);
    l.queued = write_queue_.size();
  }
  l.waits = reads_waited_.load(std::memory_order_relaxed);
  return l;
}

void SqliteStore::write_metrics(std::string& out) {
  const StoreLoad l = load();
  const std::size_t idle = l.idle_workers, queued = l.queued;
  out += "# HELP db_pool_connections Database connections by state (readers idle or busy, the one writer).\n";
  out += "# TYPE db_pool_connections gauge\n";
  out += "db_pool_connections{state=\"idle\"} " + std::to_string(idle) + "\n";
  out += "db_pool_connections{state=\"busy\"} " + std::to_string(reader_count_ - std::min(idle, reader_count_)) + "\n";
  out += "db_pool_connections{state=\"writer\"} 1\n";
  out += "# HELP db_reads_waited_total Reads that found every reader connection taken and queued.\n";
  out += "# TYPE db_reads_waited_total counter\ndb_reads_waited_total " + std::to_string(l.waits) + "\n";
  out += "# HELP db_write_queue_depth Write jobs waiting for the writer.\n# TYPE db_write_queue_depth gauge\n";
  out += "db_write_queue_depth " + std::to_string(queued) + "\n";
  out += "# HELP db_search_backlog Leads not in the search index yet (searched directly meanwhile).\n";
  out += "# TYPE db_search_backlog gauge\ndb_search_backlog " + std::to_string(search_behind_by_.load()) + "\n";
}

std::int64_t SqliteStore::search_indexed_through(Connection& c) {
  auto s = c.prepare("SELECT indexed_through FROM search_progress WHERE id = 1");
  return s.step() ? s.integer(0) : 0;
}

std::int64_t SqliteStore::last_lead_seq(Connection& c) {
  auto s = c.prepare("SELECT coalesce(max(seq), 0) FROM leads");
  return s.step() ? s.integer(0) : 0;
}

void SqliteStore::note_search_backlog(Connection& c) {
  search_behind_by_ = std::max<std::int64_t>(0, last_lead_seq(c) - search_indexed_through(c));
}

std::int64_t SqliteStore::index_search_tail(Connection& c, std::int64_t max_rows) {
  const std::int64_t from = search_indexed_through(c);
  const std::int64_t last = last_lead_seq(c);
  if (last <= from) return 0;
  const std::int64_t through = std::min(last, from + max_rows);
  // Rows in rowid order, in one statement, so FTS5 writes one segment for the whole chunk.
  static const std::string index_range = std::string("INSERT INTO leads_search (rowid, doc) SELECT seq, ") +
                                         kSearchDocument + " FROM leads WHERE seq > ? AND seq <= ? ORDER BY seq";
  c.prepare(index_range.c_str()).bind(1, from).bind(2, through).run();
  c.prepare("UPDATE search_progress SET indexed_through = ? WHERE id = 1").bind(1, through).run();
  return through - from;
}

void SqliteStore::index_search_tail_now() {
  Connection& c = *writer_conn_;
  try {
    c.exec("BEGIN IMMEDIATE");
    index_search_tail(c, index_tuning_.chunk_rows);
    note_search_backlog(c);
    c.exec("COMMIT");
  } catch (...) {
    try {
      c.exec("ROLLBACK");
    } catch (...) {
    }
    // Tried again after the next write batch, not in a loop against a failing disk.
    search_behind_by_ = 0;
  }
}

void SqliteStore::flush_search() {
  // Rows above the indexed mark are not in the index; index_search_tail writes them later
  // from their state at that time. Every touched row below it is removed from the index, then
  // rewritten from its committed-to-be state if it still exists, in rowid order: FTS5 flushes
  // its pending terms whenever a rowid arrives out of order, so an unordered batch would write
  // one tiny segment per row and spend its time merging them.
  std::set<std::int64_t> rows;
  if (!search_touched_.empty()) {
    const std::int64_t indexed_through = search_indexed_through(*writer_conn_);
    for (auto seq : search_touched_)
      if (seq <= indexed_through) rows.insert(seq);
  }
  search_touched_.clear();
  if (rows.empty()) return;
  Connection& c = *writer_conn_;
  std::string seqs = json::build([&](json::Writer& w) {
    w.StartArray();
    for (auto seq : rows) w.Int64(seq);
    w.EndArray();
  });
  c.prepare("DELETE FROM leads_search WHERE rowid IN (SELECT value FROM json_each(?))").bind(1, seqs).run();
  static const std::string rewrite = std::string("INSERT INTO leads_search (rowid, doc) SELECT seq, ") +
                                     kSearchDocument +
                                     " FROM leads WHERE seq IN (SELECT value FROM json_each(?)) ORDER BY seq";
  c.prepare(rewrite.c_str()).bind(1, seqs).run();
}

void SqliteStore::close() {
  if (closed_) return;
  closed_ = true;
  {
    std::lock_guard lock(write_mutex_);
    stopping_ = true;
  }
  write_ready_.notify_all();
  if (writer_.joinable()) writer_.join();
  readers_.join();
  // The writer thread has ended: its connection is this thread's now. New rows go into the
  // search index before the database closes, so a tool that exits right after a bulk load
  // leaves it complete (a server would otherwise finish it after its next start).
  if (writer_conn_) {
    try {
      while (index_search_tail(*writer_conn_, index_tuning_.chunk_rows) > 0) {
      }
    } catch (...) {
      // The next start continues from search_progress.
    }
  }
  idle_readers_.clear();
  checkpointer_.reset();
  if (writer_conn_) {
    try {
      writer_conn_->exec("PRAGMA optimize");
      writer_conn_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (...) {
    }
    writer_conn_.reset();
  }
}

SqliteStore::ReaderLease SqliteStore::borrow_reader() {
  std::unique_lock lock(readers_mutex_);
  reader_returned_.wait(lock, [this] { return !idle_readers_.empty(); });
  auto conn = std::move(idle_readers_.back());
  idle_readers_.pop_back();
  return ReaderLease(this, std::move(conn));
}

Task<void> SqliteStore::settle() {
  co_await write([this](Connection& c) {
    while (index_search_tail(c, index_tuning_.chunk_rows) > 0) {
    }
  });
}

Task<std::int64_t> SqliteStore::search_backlog() {
  co_return co_await read(
      [](Connection& c) { return std::max<std::int64_t>(0, last_lead_seq(c) - search_indexed_through(c)); });
}

Task<bool> SqliteStore::ping() {
  co_return co_await read([](Connection& c) {
    auto stmt = c.prepare("SELECT 1");
    return stmt.step() && stmt.integer(0) == 1;
  });
}

}  // namespace lms::store::sqlite

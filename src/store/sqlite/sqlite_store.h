// The embedded engine: SQLite in WAL mode. All writes go through one writer connection on
// one writer thread (SQLite allows one writer at a time anyway; serializing in-process
// avoids busy waits); reads run on a small pool of threads, each borrowing a reader
// connection. Callers' I/O threads only ever await.
//
// Group commit: the writer takes every write job queued so far (up to a bound), runs each in
// its own SAVEPOINT inside one transaction, commits once (one fsync), and only then
// completes the jobs. A job that throws is rolled back alone. So a write is durable when it
// is answered, and concurrent writers share the cost of the fsync.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <condition_variable>
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/async.h"
#include "store/sqlite/checkpointer.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/lead_cache.h"
#include "store/store.h"

namespace lms::store::sqlite {

// Applies the versioned migrations that are not yet applied. Returns how many ran.
int migrate(Connection& conn);

class SqliteLeadStore;
class SqliteImportStore;

// How substring search picks its plan by the number of rows a phrase matches (see
// SearchPlanner in lead_store.cpp), and how many rows an export reads per page. The defaults
// suit this schema at 10^5..10^7 rows; tests shrink them to reach every plan and many pages
// with a few thousand rows.
struct ReadTuning {
  std::int64_t rowid_band = 2000;     // up to this many hits: fetch them by rowid, then sort
  std::int64_t row_set_band = 50000;  // up to this many: test sort-index entries against a RowSet
  std::int64_t sample_rows = 5000;    // newest rows whose hits estimate a phrase's frequency
  int export_page_rows = 5000;        // rows per export page (several pages are read at once)
  std::size_t lead_cache_entries = 100000;  // leads kept by LeadCache (0: no cache)
};

// When the writer writes the search documents of new rows (see index_search_tail): in chunks of
// chunk_rows, whenever it has no write waiting or the backlog reached a chunk. Searches test
// the rows not yet indexed directly, so the lag costs search time, never results.
struct IndexTuning {
  std::int64_t chunk_rows = 4096;
  bool when_idle = true;  // tests turn it off to keep a backlog
};

class SqliteAccountStore;

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, int reader_threads, ReadTuning tuning = {}, IndexTuning index_tuning = {});
  ~SqliteStore() override;

  AccountStore& accounts() override;
  LeadStore& leads() override;
  ImportStore& imports() override;
  Task<bool> ping() override;
  std::string engine() const override { return "sqlite"; }
  void write_metrics(std::string& out) override;
  StoreLoad load() override;
  std::size_t take_queue_peak() override;
  void close() override;
  // Brings the search index up to the last lead now, as close() does (tests of the indexed
  // search path; the deferred indexing does it on its own soon after a write).
  Task<void> settle();
  // Rows not yet in the search index.
  Task<std::int64_t> search_backlog();
  // The search index holds exactly the living rows with seq up to this mark.
  static std::int64_t search_indexed_through(Connection& c);
  // The highest row key in use (0 for no leads).
  static std::int64_t last_lead_seq(Connection& c);

 private:
  friend class SqliteAccountStore;
  friend class SqliteLeadStore;
  friend class SqliteImportStore;

  // Runs fn(Connection&) on the writer thread inside a group-committed transaction; resumes
  // the caller once the transaction is durable.
  template <class Fn>
  Task<std::invoke_result_t<Fn&, Connection&>> write(Fn fn) {
    using Result = std::invoke_result_t<Fn&, Connection&>;
    using Slot = std::conditional_t<std::is_void_v<Result>, bool, std::optional<Result>>;
    Slot slot{};
    co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(std::exception_ptr)>(
        [&](auto handler) {
          auto home = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                          boost::asio::execution::outstanding_work.tracked);
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          enqueue_write(WriteJob{[&](Connection& c) {
                                   if constexpr (std::is_void_v<Result>) {
                                     fn(c);
                                   } else {
                                     slot.emplace(fn(c));
                                   }
                                 },
                                 [home, shared](std::exception_ptr error) {
                                   boost::asio::post(home, [shared, error]() { std::move (*shared)(error); });
                                 }});
        },
        boost::asio::use_awaitable);
    if constexpr (!std::is_void_v<Result>) co_return std::move(*slot);
  }

  // Records that the current job inserted, changed the searchable text of, or deleted row
  // `seq`; just before COMMIT, flush_search rewrites the index entries of the touched rows from
  // their final state, in two statements. Writer thread only.
  void search_touched(std::int64_t seq) { search_touched_.push_back(seq); }
  void flush_search();
  // Indexes up to max_rows rows past the mark and moves it; returns how many.
  static std::int64_t index_search_tail(Connection& c, std::int64_t max_rows);
  void index_search_tail_now();  // one chunk, in its own transaction
  void note_search_backlog(Connection& c);
  bool index_when_idle() const { return index_tuning_.when_idle && search_behind_by_ > 0; }
  // Records that the current job changed (or deleted) a lead: its cache entry is dropped once
  // the batch commits, before any caller is answered. Writer thread only.
  void lead_changed(const std::string& lead_id) { changed_leads_.push_back(lead_id); }

  struct WriteJob {
    std::function<void(Connection&)> run;
    std::function<void(std::exception_ptr)> done;
  };
  void enqueue_write(WriteJob job);
  void writer_loop();
  void run_batch(std::vector<WriteJob>& batch);

  // A read job submitted to the reader pool and not finished yet. Taken when the job is
  // submitted: a job that finds every reader already taken waits, and is counted
  // (reads_waited, the saturation signal of the health monitor).
  class ReadTicket {
   public:
    explicit ReadTicket(SqliteStore& store) : store_(&store) {
      if (store.reads_in_flight_.fetch_add(1, std::memory_order_relaxed) >= store.reader_count_)
        store.reads_waited_.fetch_add(1, std::memory_order_relaxed);
    }
    ReadTicket(ReadTicket&& other) noexcept : store_(std::exchange(other.store_, nullptr)) {}
    ReadTicket& operator=(ReadTicket&&) = delete;
    ~ReadTicket() {
      if (store_) store_->reads_in_flight_.fetch_sub(1, std::memory_order_relaxed);
    }

   private:
    SqliteStore* store_;
  };

  // Runs fn(Connection&) on a reader thread with a borrowed reader connection.
  template <class Fn>
  auto read(Fn fn) {
    return run_on(readers_.get_executor(), [this, fn = std::move(fn), ticket = ReadTicket(*this)]() mutable {
      auto lease = borrow_reader();
      return fn(*lease.conn);
    });
  }

  // A reader connection borrowed from the idle list, returned when the lease ends.
  struct ReaderLease {
    SqliteStore* store;
    std::unique_ptr<Connection> conn;
    ReaderLease(SqliteStore* s, std::unique_ptr<Connection> c) : store(s), conn(std::move(c)) {}
    ReaderLease(ReaderLease&&) = default;
    ~ReaderLease();
  };
  ReaderLease borrow_reader();


  std::string path_;
  ReadTuning read_tuning_;
  IndexTuning index_tuning_;
  // Rows past the search index's mark as of the last commit. Writer thread only (read in its
  // wait predicate).
  std::atomic<std::int64_t> search_behind_by_{0};  // written by the writer, read by metrics
  std::unique_ptr<Connection> writer_conn_;
  std::unique_ptr<Checkpointer> checkpointer_;
  std::mutex write_mutex_;
  std::condition_variable write_ready_;
  std::deque<WriteJob> write_queue_;  // guarded by write_mutex_
  std::size_t write_queue_peak_ = 0;  // guarded by write_mutex_
  bool stopping_ = false;             // guarded by write_mutex_
  std::vector<std::int64_t> search_touched_;  // rows, in write order; writer thread only
  std::vector<std::string> changed_leads_;  // writer thread only
  LeadCache lead_cache_;
  std::thread writer_;
  std::mutex readers_mutex_;
  std::size_t reader_count_ = 0;
  std::atomic<std::size_t> reads_in_flight_{0};  // submitted, not finished (ReadTicket)
  std::atomic<std::uint64_t> reads_waited_{0};   // submitted while every reader was taken
  std::condition_variable reader_returned_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;  // guarded by readers_mutex_
  boost::asio::thread_pool readers_;
  std::unique_ptr<SqliteAccountStore> accounts_;
  std::unique_ptr<SqliteLeadStore> leads_;
  std::unique_ptr<SqliteImportStore> imports_;
  bool closed_ = false;
};

}  // namespace lms::store::sqlite

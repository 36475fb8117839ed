// The server engine: PostgreSQL through libpq. Every query runs on a connection of a bounded
// pool whose sockets are watched by one reactor thread (an io_context of the store's own):
// callers' coroutines are suspended while the server works and resumed on their own
// executors, so no thread, I/O or other, ever blocks on a query. Several lms instances may
// share one database: nothing here keeps state that another instance could contradict
// (no id caches, no single writer); uniqueness, read-modify-write and job ownership are the
// database's (unique indexes, SELECT ... FOR UPDATE).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <thread>

#include "store/postgres/pool.h"
#include "store/store.h"

namespace lms::store::postgres {

class PgAccountStore;
class PgLeadStore;
class PgImportStore;

// Applies the versioned migrations not yet applied, under an advisory lock so instances that
// start together apply each once. Returns how many ran.
Task<int> migrate(Connection& conn);

class PostgresStore final : public Store {
 public:
  // `url`: postgres://user[:password]@host[:port]/database[?options] (any libpq conninfo).
  // Connects, applies migrations, and throws std::runtime_error if the server cannot be used.
  PostgresStore(std::string url, std::size_t pool_size);
  ~PostgresStore() override;

  AccountStore& accounts() override;
  LeadStore& leads() override;
  ImportStore& imports() override;
  Task<bool> ping() override;
  std::string engine() const override { return "postgres"; }
  void write_metrics(std::string& out) override;
  StoreLoad load() override;
  std::size_t take_queue_peak() override;
  void close() override;

  Pool& pool() { return *pool_; }
  // A named value kept in the database for every instance (the token secret): the stored one,
  // or `proposal` stored now if there is none yet (the first instance to store wins).
  Task<std::string> shared_setting(std::string name, std::string proposal);

 private:
  boost::asio::io_context reactor_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> reactor_work_;
  std::thread reactor_thread_;
  std::unique_ptr<Pool> pool_;
  std::unique_ptr<PgAccountStore> accounts_;
  std::unique_ptr<PgLeadStore> leads_;
  std::unique_ptr<PgImportStore> imports_;
  std::size_t peak_waiting_ = 0;
  bool closed_ = false;
};

}  // namespace lms::store::postgres

#include "store/postgres/postgres_store.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <stdexcept>

#include "store/postgres/account_store.h"
#include "store/postgres/import_store.h"
#include "store/postgres/lead_store.h"

namespace lms::store::postgres {

namespace asio = boost::asio;

namespace {

// Runs a start-up task on the reactor and waits for it (the constructor has no caller
// coroutine to suspend).
template <class T>
T run_blocking(asio::io_context& reactor, Task<T> task) {
  return asio::co_spawn(reactor, std::move(task), asio::use_future).get();
}

}  // namespace

PostgresStore::PostgresStore(std::string url, std::size_t pool_size)
    : reactor_(1), reactor_work_(reactor_.get_executor()), reactor_thread_([this] { reactor_.run(); }) {
  pool_ = std::make_unique<Pool>(reactor_, url, pool_size);
  try {
    run_blocking(reactor_, [this]() -> Task<int> {
      auto lease = co_await pool_->acquire();
      co_return co_await migrate(*lease);
    }());
  } catch (const std::exception& e) {
    pool_->close();
    reactor_work_.reset();
    reactor_.stop();
    reactor_thread_.join();
    throw std::runtime_error(std::string("PostgreSQL at the --db URL cannot be used: ") + e.what());
  }
  accounts_ = std::make_unique<PgAccountStore>(*pool_);
  leads_ = std::make_unique<PgLeadStore>(*pool_);
  imports_ = std::make_unique<PgImportStore>(*pool_);
}

PostgresStore::~PostgresStore() { close(); }

AccountStore& PostgresStore::accounts() { return *accounts_; }
LeadStore& PostgresStore::leads() { return *leads_; }
ImportStore& PostgresStore::imports() { return *imports_; }

Task<bool> PostgresStore::ping() {
  try {
    co_await pool_->with([](Connection& c) -> Task<void> { co_await c.query("SELECT 1"); });
  } catch (...) {
    co_return false;
  }
  co_return true;
}

void PostgresStore::write_metrics(std::string& out) {
  const auto f = pool_->figures();
  const std::size_t busy = f.open - std::min(f.idle, f.open);
  out += "# HELP db_pool_connections Database connections by state (PostgreSQL pool: idle, busy, not opened).\n";
  out += "# TYPE db_pool_connections gauge\n";
  out += "db_pool_connections{state=\"idle\"} " + std::to_string(f.idle) + "\n";
  out += "db_pool_connections{state=\"busy\"} " + std::to_string(busy) + "\n";
  out += "db_pool_connections{state=\"closed\"} " + std::to_string(f.size - std::min(f.open, f.size)) + "\n";
  out += "# HELP db_pool_waiting Callers waiting for a PostgreSQL connection.\n# TYPE db_pool_waiting gauge\n";
  out += "db_pool_waiting " + std::to_string(f.waiting) + "\n";
  out += "# HELP db_reads_waited_total Statements that found every pooled connection taken and queued.\n";
  out += "# TYPE db_reads_waited_total counter\ndb_reads_waited_total " + std::to_string(f.waits) + "\n";
  out += "# HELP db_reconnects_total Broken PostgreSQL connections dropped (and reopened on demand).\n";
  out += "# TYPE db_reconnects_total counter\ndb_reconnects_total " + std::to_string(f.reconnects) + "\n";
}

StoreLoad PostgresStore::load() {
  const auto f = pool_->figures();
  peak_waiting_ = std::max(peak_waiting_, f.waiting);
  StoreLoad l;
  l.workers = f.size;
  l.idle_workers = f.idle + (f.size - std::min(f.open, f.size));
  l.queued = f.waiting;  // one queue for every statement: callers waiting for a connection
  l.waits = f.waits;
  return l;
}

std::size_t PostgresStore::take_queue_peak() {
  auto peak = std::max(peak_waiting_, pool_->figures().waiting);
  peak_waiting_ = 0;
  return peak;
}

void PostgresStore::close() {
  if (closed_) return;
  closed_ = true;
  pool_->close();
  reactor_work_.reset();
  // Leases still out finish on the reactor; wait for its work to end, then stop it.
  reactor_thread_.join();
}


Task<std::string> PostgresStore::shared_setting(std::string name, std::string proposal) {
  co_return co_await pool_->with([&](Connection& c) -> Task<std::string> {
    Params p{param(name), param(proposal)};
    auto r = co_await c.query(
        "WITH ins AS (INSERT INTO shared_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING "
        "RETURNING value) "
        "SELECT value FROM ins UNION ALL SELECT value FROM shared_settings WHERE name = $1 LIMIT 1",
        std::move(p));
    if (r.rows() == 1) co_return r.str(0, 0);
    // Another instance stored it between this statement's snapshot and its insert (instances
    // starting together on a new database): read what it stored, in a fresh snapshot.
    Params again{param(name)};
    auto stored = co_await c.query("SELECT value FROM shared_settings WHERE name = $1", std::move(again));
    if (stored.rows() == 0) throw std::runtime_error("shared setting " + name + " could not be read");
    co_return stored.str(0, 0);
  });
}

}  // namespace lms::store::postgres

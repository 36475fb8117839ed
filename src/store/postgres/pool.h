// A bounded pool of PostgreSQL connections (--db-pool). A caller leases a connection for one
// unit of work (a statement or a transaction) and gives it back when the lease ends; when all
// are leased, callers wait in order without holding a thread. A connection that broke (the
// server restarted) is dropped on return and replaced by a fresh one on demand, so requests in
// flight during a restart fail with 503 and the next ones succeed.
#pragma once

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "common/errors.h"
#include "store/postgres/connection.h"

namespace lms::store::postgres {

class Pool;

// A leased connection; returned to the pool when destroyed.
class Lease {
 public:
  Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease();
  Connection& operator*() const { return *conn_; }
  Connection* operator->() const { return conn_.get(); }

 private:
  Pool* pool_;
  std::unique_ptr<Connection> conn_;
};

struct PoolFigures {
  std::size_t size = 0;     // the bound
  std::size_t open = 0;     // connections that exist
  std::size_t idle = 0;     // open and not leased
  std::size_t waiting = 0;  // callers waiting for a connection
  std::uint64_t waits = 0;  // since start: acquisitions that had to wait
  std::uint64_t reconnects = 0;  // since start: broken connections dropped
};

class Pool {
 public:
  Pool(boost::asio::io_context& reactor, std::string conninfo, std::size_t size);
  ~Pool();

  // A connection, opening one when none is idle and the bound allows. Throws
  // ApiError::unavailable when the server cannot be reached.
  Task<Lease> acquire();

  // Runs fn(Connection&) -> Task<R> inside BEGIN ... COMMIT on one leased connection; rolls
  // back and rethrows if fn throws. A serialization failure or deadlock runs fn again (a few
  // times). A lost connection becomes ApiError::unavailable.
  template <class Fn>
  auto transaction(Fn fn) -> Task<typename std::invoke_result_t<Fn&, Connection&>::value_type>;

  // Runs fn(Connection&) -> Task<R> on one leased connection, outside a transaction.
  template <class Fn>
  auto with(Fn fn) -> Task<typename std::invoke_result_t<Fn&, Connection&>::value_type>;

  PoolFigures figures();
  // Closes idle connections and refuses new leases. Leases out keep working until returned.
  void close();

 private:
  friend class Lease;
  void give_back(std::unique_ptr<Connection> conn);
  // An idle connection that is still alive (dead ones are dropped on the way), or null.
  // Caller holds mutex_.
  std::unique_ptr<Connection> take_idle();
  // Opens a connection in a slot already counted in open_ (released again if it fails).
  Task<Lease> open_reserved();

  boost::asio::io_context& reactor_;
  std::string conninfo_;
  std::size_t size_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;                   // guarded by mutex_
  std::size_t open_ = 0;                                            // guarded by mutex_
  // Callers waiting for a connection: given one, or a free slot to open one (bool).
  std::deque<std::function<void(std::unique_ptr<Connection>, bool)>> waiters_;  // guarded by mutex_
  std::uint64_t waits_ = 0;                                         // guarded by mutex_
  std::uint64_t reconnects_ = 0;                                    // guarded by mutex_
  bool closed_ = false;                                             // guarded by mutex_
};

// Turns a lost connection into the contract's 503; anything else passes through.
[[noreturn]] void rethrow_as_api_error(std::exception_ptr error);

template <class Fn>
auto Pool::with(Fn fn) -> Task<typename std::invoke_result_t<Fn&, Connection&>::value_type> {
  using R = typename std::invoke_result_t<Fn&, Connection&>::value_type;
  std::exception_ptr error;
  try {
    auto lease = co_await acquire();
    if constexpr (std::is_void_v<R>) {
      co_await fn(*lease);
      co_return;
    } else {
      co_return co_await fn(*lease);
    }
  } catch (const PgError& e) {
    if (!e.connection_lost()) throw;
    error = std::current_exception();
  }
  rethrow_as_api_error(error);
}

template <class Fn>
auto Pool::transaction(Fn fn) -> Task<typename std::invoke_result_t<Fn&, Connection&>::value_type> {
  using R = typename std::invoke_result_t<Fn&, Connection&>::value_type;
  for (int attempt = 1;; ++attempt) {
    std::exception_ptr error;
    bool retry = false;
    try {
      auto lease = co_await acquire();
      co_await lease->exec("BEGIN");
      std::exception_ptr inner;
      try {
        if constexpr (std::is_void_v<R>) {
          co_await fn(*lease);
          co_await lease->exec("COMMIT");
          co_return;
        } else {
          R value = co_await fn(*lease);
          co_await lease->exec("COMMIT");
          co_return value;
        }
      } catch (...) {
        inner = std::current_exception();
      }
      if (!lease->broken()) {
        try {
          co_await lease->exec("ROLLBACK");
        } catch (...) {
        }
      }
      std::rethrow_exception(inner);
    } catch (const PgError& e) {
      if (e.retryable() && attempt < 5) {
        retry = true;
      } else if (e.connection_lost()) {
        error = std::current_exception();
      } else {
        throw;
      }
    }
    if (!retry) rethrow_as_api_error(error);
  }
}

}  // namespace lms::store::postgres

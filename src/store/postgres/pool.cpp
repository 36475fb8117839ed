#include "store/postgres/pool.h"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "ops/log.h"

namespace lms::store::postgres {

namespace asio = boost::asio;

Lease::~Lease() {
  if (pool_ && conn_) pool_->give_back(std::move(conn_));
}

Pool::Pool(asio::io_context& reactor, std::string conninfo, std::size_t size)
    : reactor_(reactor), conninfo_(std::move(conninfo)), size_(std::max<std::size_t>(1, size)) {}

Pool::~Pool() { close(); }

Task<Lease> Pool::acquire() {
  bool open_new = false;
  std::unique_ptr<Connection> idle;
  {
    std::lock_guard lock(mutex_);
    if (closed_) throw ApiError::unavailable("the database is closing");
    idle = take_idle();
    if (!idle && open_ < size_) {
      ++open_;
      open_new = true;
    }
  }
  if (idle) co_return Lease(this, std::move(idle));
  if (open_new) co_return co_await open_reserved();
  // Every connection is leased: wait for one to come back (or for a slot, if one broke).
  std::unique_ptr<Connection> handed;
  bool slot = false;
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
      [&](auto handler) {
        auto home = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        std::unique_lock lock(mutex_);
        // Re-check under the lock: a connection may have come back since.
        if (!closed_) handed = take_idle();
        if (handed || open_ < size_ || closed_) {
          if (!handed && !closed_) {
            ++open_;
            slot = true;
          }
          lock.unlock();
          asio::post(home, [shared]() { std::move(*shared)(); });
          return;
        }
        ++waits_;
        waiters_.push_back([&, home, shared](std::unique_ptr<Connection> conn, bool free_slot) {
          // Called under the mutex by give_back: a connection, or a free slot (or, from
          // close(), neither).
          handed = std::move(conn);
          slot = free_slot;
          asio::post(home, [shared]() { std::move(*shared)(); });
        });
      },
      asio::use_awaitable);
  if (handed) co_return Lease(this, std::move(handed));
  if (!slot) throw ApiError::unavailable("the database is closing");
  co_return co_await open_reserved();
}

Task<Lease> Pool::open_reserved() {
  std::exception_ptr error;
  try {
    auto conn = co_await Connection::open(reactor_, conninfo_);
    co_return Lease(this, std::move(conn));
  } catch (...) {
    error = std::current_exception();
  }
  {
    std::lock_guard lock(mutex_);
    --open_;
  }
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    ops::LogLine("database connection failed").str("error", e.what()).warn();
  }
  throw ApiError::unavailable("the database is unavailable");
}

std::unique_ptr<Connection> Pool::take_idle() {
  while (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    if (!conn->stale()) return conn;
    ++reconnects_;
    --open_;  // closing a dead socket does not block
  }
  return nullptr;
}

void Pool::give_back(std::unique_ptr<Connection> conn) {
  std::unique_lock lock(mutex_);
  // A connection that broke, or that a caller left inside a transaction (it was abandoned
  // mid-way), is not reused.
  if (conn->broken() || conn->in_transaction() || closed_) {
    if (conn->broken()) ++reconnects_;
    --open_;
    lock.unlock();
    conn.reset();
    lock.lock();
    if (!waiters_.empty() && !closed_) {
      ++open_;
      auto waiter = std::move(waiters_.front());
      waiters_.pop_front();
      waiter(nullptr, true);
    }
    return;
  }
  if (!waiters_.empty()) {
    auto waiter = std::move(waiters_.front());
    waiters_.pop_front();
    waiter(std::move(conn), false);
    return;
  }
  idle_.push_back(std::move(conn));
}

PoolFigures Pool::figures() {
  std::lock_guard lock(mutex_);
  return PoolFigures{size_, open_, idle_.size(), waiters_.size(), waits_, reconnects_};
}

void Pool::close() {
  std::vector<std::unique_ptr<Connection>> idle;
  std::deque<std::function<void(std::unique_ptr<Connection>, bool)>> waiters;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    idle.swap(idle_);
    open_ -= idle.size();
    waiters.swap(waiters_);
  }
  // Waiters see neither a connection nor a slot: they fail with 503.
  for (auto& w : waiters) w(nullptr, false);
}

void rethrow_as_api_error(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const PgError& e) {
    if (!e.connection_lost()) throw;
    ops::LogLine("database connection lost").str("error", e.what()).warn();
    throw ApiError::unavailable("the database connection was lost; try again");
  }
}

}  // namespace lms::store::postgres

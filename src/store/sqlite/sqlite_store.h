// The embedded engine: SQLite in WAL mode. All writes go through one writer connection on
// one writer thread (SQLite allows one writer at a time anyway; serializing in-process
// avoids busy waits); reads run on a small pool of threads, each borrowing a reader
// connection. Callers' I/O threads only ever await.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/async.h"
#include "store/sqlite/connection.h"
#include "store/store.h"

namespace lms::store::sqlite {

// Applies the versioned migrations that are not yet applied. Returns how many ran.
int migrate(Connection& conn);

class SqliteStore final : public Store, private AccountStore {
 public:
  SqliteStore(std::string path, int reader_threads);
  ~SqliteStore() override;

  AccountStore& accounts() override { return *this; }
  Task<bool> ping() override;
  std::string engine() const override { return "sqlite"; }
  void close() override;

 private:
  // Runs fn(Connection&) on the writer thread with the writer connection.
  template <class Fn>
  auto write(Fn fn) {
    return run_on(writer_.get_executor(), [this, fn = std::move(fn)]() mutable { return fn(*writer_conn_); });
  }
  // Runs fn(Connection&) on a reader thread with a borrowed reader connection.
  template <class Fn>
  auto read(Fn fn) {
    return run_on(readers_.get_executor(), [this, fn = std::move(fn)]() mutable {
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

  Task<bool> create_organization(accounts::Organization org, accounts::UserRecord admin) override;
  Task<std::optional<accounts::Organization>> find_organization(std::string org_id) override;
  Task<std::optional<accounts::Organization>> update_organization(std::string org_id,
                                                                  accounts::OrganizationPatch patch) override;
  Task<std::optional<accounts::UserRecord>> find_user_by_email(std::string email) override;
  Task<std::optional<accounts::User>> find_user(std::string org_id, std::string user_id) override;
  Task<std::vector<accounts::User>> list_users(std::string org_id) override;
  Task<bool> insert_user(accounts::UserRecord record) override;
  Task<std::optional<accounts::User>> update_user(std::string org_id, std::string user_id,
                                                  accounts::UserPatch patch) override;
  Task<std::size_t> count_users() override;
  Task<void> insert_refresh_token(RefreshTokenRow row) override;
  Task<RotateResult> rotate_refresh_token(std::string old_hash, RefreshTokenRow replacement) override;
  Task<void> revoke_refresh_family(std::string token_hash, std::string user_id) override;

  std::string path_;
  std::unique_ptr<Connection> writer_conn_;
  std::mutex readers_mutex_;
  std::condition_variable reader_returned_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;  // guarded by readers_mutex_
  boost::asio::thread_pool writer_{1};
  boost::asio::thread_pool readers_;
  bool closed_ = false;
};

}  // namespace lms::store::sqlite

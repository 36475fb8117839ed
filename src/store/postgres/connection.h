// One libpq connection driven without blocking: the socket (PQsocket) is watched by Asio on
// the store's reactor, and the coroutine that runs a query is suspended until the server has
// answered, then resumed on its own executor. No thread ever waits inside libpq.
//
// Statements use the extended protocol with text-format parameters; each distinct SQL text is
// prepared once per connection (named s1, s2, ...) and executed by name afterwards.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/store.h"

struct pg_conn;
struct pg_result;

namespace lms::store::postgres {

// An error the server (or the connection) reported. `sqlstate` is the five-character code
// ("23505" unique_violation, "40001" serialization_failure, ...), empty when the connection
// itself failed; `connection_lost` says the connection is unusable now.
class PgError : public std::runtime_error {
 public:
  PgError(std::string message, std::string sqlstate, bool connection_lost)
      : std::runtime_error(std::move(message)), sqlstate_(std::move(sqlstate)), connection_lost_(connection_lost) {}
  const std::string& sqlstate() const { return sqlstate_; }
  bool connection_lost() const { return connection_lost_; }
  bool unique_violation() const { return sqlstate_ == "23505"; }
  // Worth running the whole transaction again: serialization failure or deadlock.
  bool retryable() const { return sqlstate_ == "40001" || sqlstate_ == "40P01"; }

 private:
  std::string sqlstate_;
  bool connection_lost_;
};

// A statement's result rows, in text format. Owns the PGresult.
class Result {
 public:
  Result() = default;
  explicit Result(pg_result* r);
  Result(Result&& other) noexcept;
  Result& operator=(Result&& other) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  ~Result();

  int rows() const;
  bool null(int row, int col) const;
  std::string_view text(int row, int col) const;  // "" for NULL
  std::string str(int row, int col) const { return std::string(text(row, col)); }
  std::optional<std::string> opt(int row, int col) const;
  std::int64_t integer(int row, int col) const;  // 0 for NULL
  std::optional<std::int64_t> opt_integer(int row, int col) const;
  bool boolean(int row, int col) const;  // 't' / 'f'
  std::int64_t affected() const;         // rows a command touched (PQcmdTuples)

 private:
  pg_result* result_ = nullptr;
};

// Text-format parameters, $1 ... $n; nullopt is NULL. Build them in a named local before
// co_await (`Params p{...}; co_await c.query(sql, std::move(p));`): GCC 12 rejects or
// miscompiles braced lists and aggregate temporaries inside a co_await expression.
using Param = std::optional<std::string>;
using Params = std::vector<Param>;
inline Param param(std::int64_t v) { return std::to_string(v); }
inline Param param(int v) { return std::to_string(v); }
inline Param param(bool v) { return std::string(v ? "t" : "f"); }
inline Param param(std::string v) { return v; }
inline Param param(const char* v) { return std::string(v); }
inline Param param(std::optional<std::string> v) { return v; }
inline Param param(std::optional<std::int64_t> v) { return v ? Param(std::to_string(*v)) : std::nullopt; }

// One statement of a pipeline: SQL text and its parameters.
struct Statement {
  std::string sql;
  Params params;
};

class Connection {
 public:
  // Connects without blocking (PQconnectStart / PQconnectPoll). Throws PgError.
  static Task<std::unique_ptr<Connection>> open(boost::asio::io_context& reactor, std::string conninfo);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement (prepared on first use on this connection) and returns its rows.
  // Throws PgError.
  Task<Result> query(std::string sql, Params params = {});
  // Runs several statements in one round trip (libpq pipeline mode), each prepared on first
  // use; returns their results in order. The first error throws, after the rest are drained.
  Task<std::vector<Result>> pipeline(std::vector<Statement> statements);
  // Runs SQL text without parameters by the simple protocol (may hold several statements:
  // migrations, BEGIN/COMMIT).
  Task<void> exec(std::string sql);
  // COPY ... FROM STDIN with `data` in COPY's text format. Returns the rows copied.
  Task<std::int64_t> copy_in(std::string copy_sql, std::string data);

  // The connection failed (server gone, protocol error): the pool drops it.
  bool broken() const;
  // An idle connection whose server went away (restart, idle timeout) has its farewell or
  // EOF waiting on the socket: reads it without blocking and says whether the connection
  // is dead, so the pool drops it before a request is sent on it.
  bool stale();
  // Inside BEGIN ... COMMIT (or an aborted transaction), as the server last said.
  bool in_transaction() const;

 private:
  Connection(boost::asio::io_context& reactor, pg_conn* conn);
  Task<void> connect_poll();
  Task<void> flush();
  Task<void> wait_readable();
  // Reads until libpq has a whole result to give (PQisBusy false).
  Task<void> until_result();
  // Reads every result of the statement(s) sent; throws the first error after draining.
  Task<std::vector<Result>> collect(std::size_t expected, bool pipeline_mode);
  Task<std::string> prepared_name(const std::string& sql, int params);
  void watch_socket();
  [[noreturn]] void fail(const char* what);

  boost::asio::io_context& reactor_;
  pg_conn* conn_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> socket_;
  int watched_fd_ = -1;
  std::unordered_map<std::string, std::string> prepared_;
  bool broken_ = false;
};

}  // namespace lms::store::postgres

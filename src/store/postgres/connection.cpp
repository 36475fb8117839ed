#include "store/postgres/connection.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <unistd.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <cstring>

namespace lms::store::postgres {

namespace asio = boost::asio;
using Descriptor = asio::posix::stream_descriptor;

// ---- Result ----

Result::Result(pg_result* r) : result_(r) {}
Result::Result(Result&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    if (result_) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}
Result::~Result() {
  if (result_) PQclear(result_);
}

int Result::rows() const { return result_ ? PQntuples(result_) : 0; }
bool Result::null(int row, int col) const { return PQgetisnull(result_, row, col) != 0; }
std::string_view Result::text(int row, int col) const {
  return {PQgetvalue(result_, row, col), static_cast<std::size_t>(PQgetlength(result_, row, col))};
}
std::optional<std::string> Result::opt(int row, int col) const {
  if (null(row, col)) return std::nullopt;
  return str(row, col);
}
std::int64_t Result::integer(int row, int col) const {
  auto t = text(row, col);
  std::int64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}
std::optional<std::int64_t> Result::opt_integer(int row, int col) const {
  if (null(row, col)) return std::nullopt;
  return integer(row, col);
}
bool Result::boolean(int row, int col) const {
  auto t = text(row, col);
  return !t.empty() && t[0] == 't';
}
std::int64_t Result::affected() const {
  if (!result_) return 0;
  const char* n = PQcmdTuples(result_);
  std::int64_t v = 0;
  std::from_chars(n, n + std::strlen(n), v);
  return v;
}

// ---- Connection ----

Connection::Connection(asio::io_context& reactor, pg_conn* conn) : reactor_(reactor), conn_(conn) {}

Connection::~Connection() {
  // libpq owns the socket: take it back from Asio before PQfinish closes it.
  if (socket_) {
    boost::system::error_code ignored;
    socket_->cancel(ignored);
    socket_->release();
  }
  PQfinish(conn_);
}

void Connection::fail(const char* what) {
  broken_ = broken_ || PQstatus(conn_) == CONNECTION_BAD;
  std::string message = what;
  message += ": ";
  message += PQerrorMessage(conn_);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  throw PgError(message, "", true);
}

void Connection::watch_socket() {
  int fd = PQsocket(conn_);
  if (fd == watched_fd_ && socket_) return;
  if (socket_) {
    boost::system::error_code ignored;
    socket_->cancel(ignored);
    socket_->release();
  }
  socket_.reset();
  watched_fd_ = fd;
  if (fd >= 0) socket_ = std::make_unique<Descriptor>(reactor_, fd);
}

Task<std::unique_ptr<Connection>> Connection::open(asio::io_context& reactor, std::string conninfo) {
  pg_conn* raw = PQconnectStart(conninfo.c_str());
  if (!raw) throw PgError("cannot allocate a PostgreSQL connection", "", true);
  std::unique_ptr<Connection> conn(new Connection(reactor, raw));
  if (PQstatus(raw) == CONNECTION_BAD) conn->fail("cannot connect to PostgreSQL");
  // Notices ("relation already exists, skipping") would go to stderr beside the JSON log;
  // nothing lms runs needs them.
  PQsetNoticeProcessor(raw, [](void*, const char*) {}, nullptr);
  co_await conn->connect_poll();
  if (PQsetnonblocking(raw, 1) != 0) conn->fail("cannot make the PostgreSQL connection non-blocking");
  co_return conn;
}

Task<void> Connection::connect_poll() {
  // The protocol of PQconnectPoll: wait for what it asks, call again, until OK or FAILED.
  // The socket may change between calls (another address of the host is tried).
  auto wants = PGRES_POLLING_WRITING;
  for (;;) {
    watch_socket();
    if (!socket_) fail("cannot connect to PostgreSQL");
    boost::system::error_code ec;
    co_await socket_->async_wait(wants == PGRES_POLLING_READING ? Descriptor::wait_read : Descriptor::wait_write,
                                 asio::redirect_error(asio::use_awaitable, ec));
    if (ec) fail("cannot connect to PostgreSQL");
    wants = PQconnectPoll(conn_);
    if (wants == PGRES_POLLING_OK) break;
    if (wants == PGRES_POLLING_FAILED) fail("cannot connect to PostgreSQL");
  }
  watch_socket();
}

bool Connection::broken() const { return broken_ || PQstatus(conn_) == CONNECTION_BAD; }

bool Connection::stale() {
  if (broken()) return true;
  pollfd p{PQsocket(conn_), POLLIN, 0};
  if (p.fd < 0) return true;
  if (::poll(&p, 1, 0) <= 0) return false;  // nothing arrived: the usual case, one syscall
  if (p.revents & (POLLHUP | POLLERR)) broken_ = true;
  // A server that shut down sent its farewell (FATAL 57P01) and closed: libpq reads the
  // message without marking the connection bad, so look past it for the end of the stream.
  if (!broken_ && PQconsumeInput(conn_) == 0) broken_ = true;
  while (!broken_ && !PQisBusy(conn_)) {
    PGresult* r = PQgetResult(conn_);
    if (!r) break;
    PQclear(r);
  }
  if (!broken_) {
    char byte;
    ssize_t n = ::recv(p.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) broken_ = true;
  }
  return broken();
}

bool Connection::in_transaction() const {
  auto s = PQtransactionStatus(conn_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

Task<void> Connection::wait_readable() {
  watch_socket();
  if (!socket_) fail("lost the PostgreSQL connection");
  boost::system::error_code ec;
  co_await socket_->async_wait(Descriptor::wait_read, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) fail("lost the PostgreSQL connection");
}

Task<void> Connection::until_result() {
  while (PQisBusy(conn_)) {
    co_await wait_readable();
    if (PQconsumeInput(conn_) == 0) fail("lost the PostgreSQL connection");
  }
}

Task<void> Connection::flush() {
  for (;;) {
    int r = PQflush(conn_);
    if (r == 0) co_return;
    if (r < 0) fail("cannot send to PostgreSQL");
    // Output is blocked: wait until the socket takes more (reading whatever the server sent
    // meanwhile, as libpq asks, so neither side stalls on a full buffer).
    watch_socket();
    boost::system::error_code ec;
    co_await socket_->async_wait(Descriptor::wait_write, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) fail("cannot send to PostgreSQL");
    if (PQconsumeInput(conn_) == 0) fail("cannot read from PostgreSQL");
  }
}

namespace {

PgError server_error(const PGresult* r) {
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  std::string message = PQresultErrorMessage(r);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return PgError(message, state ? state : "", false);
}

bool is_copy_in(const PGresult* r) { return r && PQresultStatus(r) == PGRES_COPY_IN; }

bool is_error(ExecStatusType s) {
  return s == PGRES_BAD_RESPONSE || s == PGRES_NONFATAL_ERROR || s == PGRES_FATAL_ERROR;
}

}  // namespace

Task<std::vector<Result>> Connection::collect(std::size_t expected, bool pipeline_mode) {
  std::vector<Result> results;
  std::optional<PgError> first_error;
  std::size_t finished = 0;  // statements whose results ended (a null PGresult each)
  bool synced = !pipeline_mode;
  while (finished < expected || !synced) {
    co_await until_result();
    PGresult* raw = PQgetResult(conn_);
    if (!raw) {
      ++finished;
      continue;
    }
    Result r(raw);
    auto status = PQresultStatus(raw);
    if (status == PGRES_PIPELINE_SYNC) {
      synced = true;
      continue;
    }
    if (status == PGRES_PIPELINE_ABORTED) {
      if (!first_error) first_error = PgError("statement skipped after an earlier error in the pipeline", "", false);
      results.emplace_back();
      continue;
    }
    if (is_error(status)) {
      if (!first_error) first_error = server_error(raw);
      results.emplace_back();
      continue;
    }
    results.push_back(std::move(r));
  }
  if (PQstatus(conn_) == CONNECTION_BAD) fail("lost the PostgreSQL connection");
  if (first_error) throw *first_error;
  co_return results;
}

Task<std::string> Connection::prepared_name(const std::string& sql, int params) {
  if (auto it = prepared_.find(sql); it != prepared_.end()) co_return it->second;
  std::string name = "s" + std::to_string(prepared_.size() + 1);
  if (PQsendPrepare(conn_, name.c_str(), sql.c_str(), params, nullptr) == 0) fail("cannot prepare a statement");
  co_await flush();
  co_await collect(1, false);
  prepared_.emplace(sql, name);
  co_return name;
}

namespace {

struct ParamArrays {
  std::vector<const char*> values;
  std::vector<int> lengths;
  explicit ParamArrays(const Params& params) {
    for (const auto& p : params) {
      values.push_back(p ? p->c_str() : nullptr);
      lengths.push_back(p ? static_cast<int>(p->size()) : 0);
    }
  }
};

}  // namespace

Task<Result> Connection::query(std::string sql, Params params) {
  auto name = co_await prepared_name(sql, static_cast<int>(params.size()));
  ParamArrays arrays(params);
  if (PQsendQueryPrepared(conn_, name.c_str(), static_cast<int>(params.size()), arrays.values.data(),
                          arrays.lengths.data(), nullptr, 0) == 0)
    fail("cannot send a query");
  co_await flush();
  auto results = co_await collect(1, false);
  co_return results.empty() ? Result() : std::move(results.front());
}

Task<std::vector<Result>> Connection::pipeline(std::vector<Statement> statements) {
  // Prepare what is new first (a round trip each, once per connection), then send every
  // execution and one sync together.
  std::vector<std::string> names;
  names.reserve(statements.size());
  for (std::size_t i = 0; i < statements.size(); ++i)
    names.push_back(co_await prepared_name(statements[i].sql, static_cast<int>(statements[i].params.size())));
  if (PQenterPipelineMode(conn_) == 0) fail("cannot enter pipeline mode");
  std::vector<ParamArrays> arrays;
  arrays.reserve(statements.size());
  for (std::size_t i = 0; i < statements.size(); ++i) {
    arrays.emplace_back(statements[i].params);
    if (PQsendQueryPrepared(conn_, names[i].c_str(), static_cast<int>(statements[i].params.size()),
                            arrays.back().values.data(), arrays.back().lengths.data(), nullptr, 0) == 0)
      fail("cannot send a pipelined query");
  }
  if (PQpipelineSync(conn_) == 0) fail("cannot end a pipeline");
  co_await flush();
  std::exception_ptr error;
  std::vector<Result> results;
  try {
    results = co_await collect(statements.size(), true);
  } catch (...) {
    error = std::current_exception();
  }
  if (!broken()) PQexitPipelineMode(conn_);
  if (error) std::rethrow_exception(error);
  co_return results;
}

Task<void> Connection::exec(std::string sql) {
  if (PQsendQuery(conn_, sql.c_str()) == 0) fail("cannot send a statement");
  co_await flush();
  // A simple query may hold several statements; their results end with one null result.
  co_await collect(1, false);
}

Task<std::int64_t> Connection::copy_in(std::string copy_sql, std::string data) {
  if (PQsendQuery(conn_, copy_sql.c_str()) == 0) fail("cannot start COPY");
  co_await flush();
  co_await until_result();
  PGresult* first = PQgetResult(conn_);
  if (!first) fail("COPY did not start");
  if (!is_copy_in(first)) {
    PgError refused = is_error(PQresultStatus(first)) ? server_error(first) : PgError("COPY did not start", "", false);
    PQclear(first);
    std::exception_ptr ignored;
    try {
      co_await collect(1, false);  // drains what follows
    } catch (...) {
      ignored = std::current_exception();
    }
    throw refused;
  }
  PQclear(first);
  constexpr std::size_t kChunk = 256 * 1024;
  for (std::size_t offset = 0; offset < data.size();) {
    std::size_t n = std::min(kChunk, data.size() - offset);
    int r = PQputCopyData(conn_, data.data() + offset, static_cast<int>(n));
    if (r < 0) fail("COPY failed");
    if (r == 1) offset += n;
    co_await flush();
  }
  for (;;) {
    int r = PQputCopyEnd(conn_, nullptr);
    if (r < 0) fail("COPY failed");
    co_await flush();
    if (r == 1) break;
  }
  auto results = co_await collect(1, false);
  co_return results.empty() ? 0 : results.front().affected();
}

}  // namespace lms::store::postgres

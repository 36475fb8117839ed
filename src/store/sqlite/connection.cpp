#include "store/sqlite/connection.h"

namespace lms::store::sqlite {

namespace {

[[noreturn]] void fail(sqlite3* db, int rc) {
  throw DbError(rc, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

}  // namespace

Statement& Statement::bind(int index, std::string_view value) {
  int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) fail(sqlite3_db_handle(stmt_), rc);
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) fail(sqlite3_db_handle(stmt_), rc);
  return *this;
}

Statement& Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) fail(sqlite3_db_handle(stmt_), rc);
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(sqlite3_db_handle(stmt_), rc);
}

std::string Statement::text(int column) const {
  auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (!data) return {};
  return std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

Connection::Connection(const std::string& path, bool read_only) {
  // Process-wide and only possible before SQLite initializes: without memory statistics,
  // SQLite's allocator takes no global mutex (a few percent of every write and read).
  static const int configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)configured;
  // Readers open read-write (WAL readers need the shared-memory file) but refuse writes.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw DbError(rc, "cannot open " + path + ": " + message);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);
  exec("PRAGMA foreign_keys = ON");
  if (!read_only) {
    exec("PRAGMA journal_mode = WAL");
    // FULL: a transaction acknowledged to a client survives a power loss, not just a crash.
    exec("PRAGMA synchronous = FULL");
    // A WAL that grew under a burst of writes is cut back when it starts over.
    exec("PRAGMA journal_size_limit = 67108864");
  }
  if (read_only) exec("PRAGMA query_only = 1");
  exec("PRAGMA temp_store = MEMORY");
  // Readers go through the OS page cache via mmap (no copy into SQLite's cache). The writer
  // reads with pread into its own bounded cache instead: a bulk import touches every index
  // page, and mapped pages it touched would count against the process's memory for as long
  // as they stay mapped, growing with the database.
  exec(read_only ? "PRAGMA mmap_size = 17179869184" : "PRAGMA mmap_size = 0");
  exec(read_only ? "PRAGMA cache_size = -65536" : "PRAGMA cache_size = -98304");
  sqlite3_create_function_v2(
      db_, "lms_in_row_set", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, &row_set_,
      [](sqlite3_context* ctx, int, sqlite3_value** args) {
        const auto* set = static_cast<const RowSet*>(sqlite3_user_data(ctx));
        sqlite3_result_int(ctx, set->contains(sqlite3_value_int64(args[0])) ? 1 : 0);
      },
      nullptr, nullptr, nullptr);
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  for (auto& [sql, stmt] : text_cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

void Connection::exec(const char* sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string message = error ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    throw DbError(rc, message);
  }
}

Statement Connection::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return Statement(it->second);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) fail(db_, rc);
  cache_.emplace(sql, stmt);
  return Statement(stmt);
}

}  // namespace lms::store::sqlite

namespace lms::store::sqlite {

Statement Connection::prepare_text(const std::string& sql) {
  auto it = text_cache_.find(sql);
  if (it != text_cache_.end()) return Statement(it->second);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) fail(db_, rc);
  // Dynamic SQL has a bounded number of shapes (filter combinations x sorts), so the cache
  // stays small without eviction.
  text_cache_.emplace(sql, stmt);
  return Statement(stmt);
}

}  // namespace lms::store::sqlite

// RAII over libsqlite3: a Connection owns one sqlite3 handle and a cache of prepared
// statements; a Statement is a borrowed, reset-on-destruction use of a cached statement;
// a Transaction rolls back unless committed. A Connection is used by one thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lms::store::sqlite {

// A database failure; carries SQLite's message for the log, never for a response.
class DbError : public std::runtime_error {
 public:
  DbError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }
  bool is_constraint() const { return (code_ & 0xff) == SQLITE_CONSTRAINT; }
  bool is_unique_violation() const { return code_ == SQLITE_CONSTRAINT_UNIQUE; }

 private:
  int code_;
};

class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, bool value) { return bind(index, static_cast<std::int64_t>(value ? 1 : 0)); }
  Statement& bind_null(int index);
  template <class T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // Advances to the next row; false when done. Throws DbError on failure.
  bool step();
  // Runs a statement that returns no rows.
  void run() {
    while (step()) {
    }
  }

  std::string text(int column) const;
  // The column's text without a copy; valid until the next step or reset. Empty for NULL.
  std::string_view view(int column) const {
    auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return data ? std::string_view(data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
                : std::string_view();
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::optional<std::string> optional_text(int column) const {
    if (is_null(column)) return std::nullopt;
    return text(column);
  }
  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

 private:
  sqlite3_stmt* stmt_;
};

// A set of row keys (rowids) that a query tests with the SQL function lms_in_row_set(key):
// a bitmap, so testing is a few instructions and SQLite can evaluate it on index entries
// before it fetches a row. Filled by the caller before a query and cleared after it.
class RowSet {
 public:
  void add(std::int64_t key) {
    if (key < 0) return;
    auto word = static_cast<std::size_t>(key) / 64;
    if (word >= bits_.size()) bits_.resize(word + 1 + word / 4, 0);
    bits_[word] |= std::uint64_t{1} << (static_cast<std::size_t>(key) % 64);
  }
  bool contains(std::int64_t key) const {
    if (key < 0) return false;
    auto word = static_cast<std::size_t>(key) / 64;
    return word < bits_.size() && (bits_[word] >> (static_cast<std::size_t>(key) % 64) & 1) != 0;
  }
  void clear() { bits_.clear(); }

 private:
  std::vector<std::uint64_t> bits_;
};

class Connection {
 public:
  // Opens (creating if needed) the database at `path` with lms's pragmas applied.
  Connection(const std::string& path, bool read_only);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  void exec(const char* sql);
  // A cached prepared statement, reset when the returned Statement is destroyed. `sql` must
  // be a string literal (the cache is keyed by its address).
  Statement prepare(const char* sql);
  // The same for statements built at run time (keyed by their text).
  Statement prepare_text(const std::string& sql);
  int changes() const { return sqlite3_changes(db_); }
  sqlite3* handle() const { return db_; }
  // The set lms_in_row_set() tests on this connection.
  RowSet& row_set() { return row_set_; }

 private:
  sqlite3* db_ = nullptr;
  RowSet row_set_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;  // keyed by the literal's address
  std::unordered_map<std::string, sqlite3_stmt*> text_cache_;
};

class Transaction {
 public:
  explicit Transaction(Connection& conn) : conn_(conn) { conn_.exec("BEGIN IMMEDIATE"); }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (!done_) {
      try {
        conn_.exec("ROLLBACK");
      } catch (...) {
      }
    }
  }
  void commit() {
    conn_.exec("COMMIT");
    done_ = true;
  }

 private:
  Connection& conn_;
  bool done_ = false;
};

}  // namespace lms::store::sqlite

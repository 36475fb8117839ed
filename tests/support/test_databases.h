// Databases for tests, on every engine: a fresh SQLite file in a temporary directory, or a
// fresh database on the PostgreSQL server that `make test` starts (scripts/pg.sh), named by
// LMS_TEST_POSTGRES_URL (a URL of its maintenance database). Each TestDatabase is dropped
// when it goes. Without LMS_TEST_POSTGRES_URL, asking for PostgreSQL fails the test: a suite
// that silently skipped an engine would pass without testing it.
#pragma once

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace lms::testing {

// The engines a suite runs on, in order. LMS_TEST_ENGINES (comma-separated) narrows them.
inline std::vector<std::string> test_engines() {
  std::vector<std::string> all{"sqlite", "postgres"};
  const char* only = std::getenv("LMS_TEST_ENGINES");
  if (!only || !*only) return all;
  std::vector<std::string> chosen;
  std::string list = only;
  for (const auto& e : all)
    if (("," + list + ",").find("," + e + ",") != std::string::npos) chosen.push_back(e);
  return chosen;
}

inline std::string postgres_server_url() {
  const char* url = std::getenv("LMS_TEST_POSTGRES_URL");
  if (!url || !*url)
    throw std::runtime_error(
        "LMS_TEST_POSTGRES_URL is not set: run the tests through `make test` (which starts PostgreSQL with "
        "scripts/pg.sh), or set LMS_TEST_ENGINES=sqlite to test SQLite alone");
  return url;
}

// The URL `base` with its database replaced by `database`.
inline std::string with_database(const std::string& base, const std::string& database) {
  auto scheme = base.find("://");
  auto slash = base.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  auto query = base.find('?');
  std::string head = slash == std::string::npos ? base.substr(0, query) : base.substr(0, slash);
  std::string tail = query == std::string::npos ? "" : base.substr(query);
  return head + "/" + database + tail;
}

// Runs one statement on the maintenance database, blocking (tests only).
inline void postgres_admin(const std::string& sql) {
  PGconn* conn = PQconnectdb(postgres_server_url().c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string error = PQerrorMessage(conn);
    PQfinish(conn);
    throw std::runtime_error("cannot reach the test PostgreSQL server: " + error);
  }
  PGresult* r = PQexec(conn, sql.c_str());
  std::string error = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK
                          ? ""
                          : std::string(PQresultErrorMessage(r));
  PQclear(r);
  PQfinish(conn);
  if (!error.empty()) throw std::runtime_error(sql + ": " + error);
}

class TestDatabase {
 public:
  // engine: "sqlite" or "postgres"; `dir` holds the SQLite file (and anything else a test
  // keeps beside the database).
  TestDatabase(std::string engine, const std::filesystem::path& dir) : engine_(std::move(engine)) {
    if (engine_ == "sqlite") {
      url_ = (dir / "lms.db").string();
      return;
    }
    static std::atomic<int> counter{0};
    name_ = "lms_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
            std::to_string(std::rand() % 100000);
    postgres_admin("CREATE DATABASE " + name_);
    url_ = with_database(postgres_server_url(), name_);
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;
  ~TestDatabase() {
    if (name_.empty()) return;
    try {
      postgres_admin("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
    }
  }

  const std::string& engine() const { return engine_; }
  // What `lms serve --db` takes: a file path or a postgres:// URL.
  const std::string& url() const { return url_; }

 private:
  std::string engine_;
  std::string url_;
  std::string name_;
};

}  // namespace lms::testing

// Versioned schema migrations for the SQLite engine. Append new versions at the end; never
// edit an applied one. Each runs in its own transaction with its version record.
#include "common/time.h"
#include "store/sqlite/sqlite_store.h"

namespace lms::store::sqlite {

namespace {

struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
      CREATE TABLE organizations (
        id              TEXT PRIMARY KEY,
        name            TEXT NOT NULL,
        default_country TEXT NOT NULL DEFAULT 'US',
        created_at      INTEGER NOT NULL
      );
      CREATE TABLE users (
        id              TEXT PRIMARY KEY,
        organization_id TEXT NOT NULL REFERENCES organizations(id),
        name            TEXT NOT NULL,
        email           TEXT NOT NULL UNIQUE,
        password_hash   TEXT NOT NULL,
        role            TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'agent')),
        active          INTEGER NOT NULL DEFAULT 1,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
      );
      CREATE INDEX users_by_organization ON users (organization_id, created_at, id);
      CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        family_id  TEXT NOT NULL,
        user_id    TEXT NOT NULL REFERENCES users(id),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        spent_at   INTEGER,
        revoked_at INTEGER
      ) WITHOUT ROWID;
      CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
      CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);
    )sql"},
};

}  // namespace

int migrate(Connection& conn) {
  conn.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  std::int64_t current = 0;
  {
    auto stmt = conn.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (stmt.step()) current = stmt.integer(0);
  }
  int applied = 0;
  for (const auto& m : kMigrations) {
    if (m.version <= current) continue;
    Transaction tx(conn);
    conn.exec(m.sql);
    conn.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)")
        .bind(1, m.version)
        .bind(2, now_ms())
        .run();
    tx.commit();
    ++applied;
  }
  return applied;
}

}  // namespace lms::store::sqlite

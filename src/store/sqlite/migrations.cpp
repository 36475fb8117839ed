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
    {2, R"sql(
      -- Leads keep small integer keys for their organization and assignee (the rowids of
      -- organizations and users): every index below starts with them, and at ten million
      -- rows 36-byte text ids would double the size of every index.
      CREATE TABLE leads (
        seq        INTEGER PRIMARY KEY,
        id         TEXT NOT NULL UNIQUE,
        org        INTEGER NOT NULL,
        name       TEXT NOT NULL,
        phone      TEXT,
        email      TEXT,
        company    TEXT,
        source     TEXT,
        status     TEXT NOT NULL,
        assignee   INTEGER,
        tags       TEXT NOT NULL DEFAULT '[]',
        custom     TEXT NOT NULL DEFAULT '{}',
        version    INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        created_by TEXT,
        import_id  TEXT
      );
      -- Duplicates are refused by the database itself, so concurrent creates cannot race.
      CREATE UNIQUE INDEX leads_by_phone ON leads (org, phone) WHERE phone IS NOT NULL;
      CREATE UNIQUE INDEX leads_by_email ON leads (org, email) WHERE email IS NOT NULL;
      -- Every index implicitly ends with seq (the rowid), the keyset tie-breaker.
      CREATE INDEX leads_by_created ON leads (org, created_at);
      CREATE INDEX leads_by_updated ON leads (org, updated_at);
      CREATE INDEX leads_by_name ON leads (org, name);
      CREATE INDEX leads_by_assignee ON leads (org, assignee, created_at);
      CREATE INDEX leads_by_status ON leads (org, status, created_at);
      CREATE INDEX leads_by_assignee_status ON leads (org, assignee, status, created_at);
      CREATE INDEX leads_by_import ON leads (import_id) WHERE import_id IS NOT NULL;

      CREATE TABLE lead_tags (
        org  INTEGER NOT NULL,
        tag  TEXT NOT NULL,
        lead INTEGER NOT NULL,
        PRIMARY KEY (org, tag, lead)
      ) WITHOUT ROWID;
      CREATE INDEX lead_tags_by_lead ON lead_tags (lead);

      CREATE TABLE activities (
        seq        INTEGER PRIMARY KEY,
        id         TEXT NOT NULL,
        org        INTEGER NOT NULL,
        lead_id    TEXT NOT NULL,
        type       TEXT NOT NULL,
        actor_id   TEXT,
        data       TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX activities_by_lead ON activities (lead_id, seq);

      -- Substring search over name, email, company and the digits of the phone number. Kept
      -- by the writer (see SqliteStore::flush_search), not by triggers: FTS5 flushes its
      -- pending terms at every statement savepoint, so row-by-row trigger inserts would write
      -- one tiny segment per lead and spend their time merging them.
      CREATE VIRTUAL TABLE leads_search USING fts5 (doc, tokenize = 'trigram');
      CREATE TRIGGER lead_tags_cleanup AFTER DELETE ON leads BEGIN
        DELETE FROM lead_tags WHERE lead = old.seq;
      END;
    )sql"},
    {3, R"sql(
      -- The search index is written behind the rows (SqliteStore::index_search_tail): leads
      -- with seq above indexed_through are not in leads_search yet, and searches test them
      -- directly. Every row that exists when this migration runs is already indexed.
      CREATE TABLE search_progress (
        id              INTEGER PRIMARY KEY CHECK (id = 1),
        indexed_through INTEGER NOT NULL
      );
      INSERT INTO search_progress (id, indexed_through) VALUES (1, (SELECT coalesce(max(seq), 0) FROM leads));
    )sql"},
    {4, R"sql(
      -- CSV import jobs. next_offset / next_row / rr_position are the checkpoint, written in
      -- the same transaction as the batch of rows before it (leads.import_id marks its leads).
      CREATE TABLE import_jobs (
        id             TEXT PRIMARY KEY,
        org_id         TEXT NOT NULL,
        created_by     TEXT NOT NULL,
        file_name      TEXT NOT NULL,
        spool_path     TEXT NOT NULL,
        header_csv     TEXT NOT NULL,
        state          TEXT NOT NULL,
        dedupe         TEXT NOT NULL,
        assign         TEXT NOT NULL,
        source         TEXT NOT NULL,
        mapping        TEXT NOT NULL,
        dry_run        INTEGER NOT NULL,
        total_rows     INTEGER,
        processed_rows INTEGER NOT NULL DEFAULT 0,
        inserted       INTEGER NOT NULL DEFAULT 0,
        updated        INTEGER NOT NULL DEFAULT 0,
        duplicates     INTEGER NOT NULL DEFAULT 0,
        invalid        INTEGER NOT NULL DEFAULT 0,
        next_offset    INTEGER NOT NULL DEFAULT 0,
        next_row       INTEGER NOT NULL DEFAULT 2,
        rr_position    INTEGER NOT NULL DEFAULT 0,
        error          TEXT,
        created_at     INTEGER NOT NULL,
        started_at     INTEGER,
        finished_at    INTEGER,
        reverted       INTEGER,
        kept           INTEGER
      );
      CREATE INDEX import_jobs_by_org ON import_jobs (org_id, created_at);
      CREATE INDEX import_jobs_unfinished ON import_jobs (state) WHERE state IN ('queued', 'running');
      -- Invalid and duplicate rows, for the errors report.
      CREATE TABLE import_errors (
        job    TEXT NOT NULL,
        row    INTEGER NOT NULL,
        reason TEXT NOT NULL,
        cells  TEXT NOT NULL,
        PRIMARY KEY (job, row)
      ) WITHOUT ROWID;
      -- Fields a dedupe=update import filled on existing leads, and the version it left them
      -- at: a revert empties them again only if the lead has not changed since.
      CREATE TABLE import_fills (
        job     TEXT NOT NULL,
        lead    INTEGER NOT NULL,
        fields  TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (job, lead)
      ) WITHOUT ROWID;
    )sql"},
    {5, R"sql(
      -- Sessions whose access tokens were revoked at logout (or on refresh-token reuse). Every
      -- instance reads the rows past the last seq it saw; a row is dropped once expired.
      CREATE TABLE revoked_sessions (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL UNIQUE,
        expires_at INTEGER NOT NULL
      );
    )sql"},
    {6, R"sql(
      -- Keyset positions are (sort key, lead id) on every engine, instead of this engine's seq:
      -- the sort indexes end in id, so a page reads no more than its rows even where thousands
      -- of leads share a sort key (an import batch's created_at, a seed's updated_at).
      DROP INDEX leads_by_created;
      DROP INDEX leads_by_updated;
      DROP INDEX leads_by_name;
      DROP INDEX leads_by_assignee;
      DROP INDEX leads_by_status;
      DROP INDEX leads_by_assignee_status;
      CREATE INDEX leads_by_created ON leads (org, created_at, id);
      CREATE INDEX leads_by_updated ON leads (org, updated_at, id);
      CREATE INDEX leads_by_name ON leads (org, name, id);
      CREATE INDEX leads_by_assignee ON leads (org, assignee, created_at, id);
      CREATE INDEX leads_by_status ON leads (org, status, created_at, id);
      CREATE INDEX leads_by_assignee_status ON leads (org, assignee, status, created_at, id);
      -- Timelines page by activity id (time-ordered, increasing within a millisecond), as on
      -- every engine, instead of this engine's seq.
      DROP INDEX activities_by_lead;
      CREATE INDEX activities_by_lead ON activities (lead_id, id);
      -- An import's `imported` entry is the job's, shown on each of its leads' timelines from
      -- leads.import_id (SqliteLeadStore::list_activities): no row per imported lead.
      DELETE FROM activities WHERE type = 'imported';
    )sql"},
    {7, R"sql(
      -- Import jobs under leases, as on PostgreSQL: the instance holding a job's lease runs it
      -- (owner: a random id per process; expiry: milliseconds). A new job is claimable once its
      -- upload is stored (ready); jobs of earlier versions are.
      ALTER TABLE import_jobs ADD COLUMN lease_owner TEXT;
      ALTER TABLE import_jobs ADD COLUMN lease_expires INTEGER;
      ALTER TABLE import_jobs ADD COLUMN ready INTEGER NOT NULL DEFAULT 1;
      CREATE INDEX import_jobs_unfinished_by_org ON import_jobs (org_id) WHERE state IN ('queued', 'running');
    )sql"},
    {8, R"sql(
      -- Counting or filtering by source (the dashboard's sources, ?source=) reads this index
      -- instead of every row.
      CREATE INDEX leads_by_source ON leads (org, source, created_at, id);
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

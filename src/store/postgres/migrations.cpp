// Versioned schema migrations for the PostgreSQL engine. Append new versions at the end;
// never edit an applied one. Each runs in its own transaction with its version record, under
// an advisory lock, so instances that start at once apply each version exactly once.
//
// Times are milliseconds since the epoch (bigint), as on SQLite, so both engines hold the same
// values. Text that is sorted or compared (names, ids) uses the "C" collation: byte order, the
// same as SQLite's, whatever the database's default locale.
#include "common/time.h"
#include "store/postgres/postgres_store.h"

namespace lms::store::postgres {

namespace {

struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
      CREATE EXTENSION IF NOT EXISTS pg_trgm;

      CREATE TABLE organizations (
        id              text COLLATE "C" PRIMARY KEY,
        name            text NOT NULL,
        default_country text NOT NULL DEFAULT 'US',
        created_at      bigint NOT NULL
      );
      CREATE TABLE users (
        id              text COLLATE "C" PRIMARY KEY,
        organization_id text COLLATE "C" NOT NULL REFERENCES organizations(id),
        name            text NOT NULL,
        email           text COLLATE "C" NOT NULL UNIQUE,
        password_hash   text NOT NULL,
        role            text NOT NULL CHECK (role IN ('admin', 'manager', 'agent')),
        active          boolean NOT NULL DEFAULT true,
        created_at      bigint NOT NULL,
        updated_at      bigint NOT NULL
      );
      CREATE INDEX users_by_organization ON users (organization_id, created_at, id);
      CREATE TABLE refresh_tokens (
        token_hash text COLLATE "C" PRIMARY KEY,
        family_id  text COLLATE "C" NOT NULL,
        user_id    text COLLATE "C" NOT NULL REFERENCES users(id),
        created_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        spent_at   bigint,
        revoked_at bigint
      );
      CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
      CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);
      CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);
      -- Sessions whose access tokens were revoked; every instance polls the rows past the
      -- last seq it saw.
      CREATE TABLE revoked_sessions (
        seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session_id text COLLATE "C" NOT NULL UNIQUE,
        expires_at bigint NOT NULL
      );
      -- Values every instance must share (the token secret).
      CREATE TABLE shared_settings (
        name  text PRIMARY KEY,
        value text NOT NULL
      );

      -- seq is the keyset tie-breaker of every sort (and the key import_fills records): an
      -- 8-byte, insertion-ordered identity is cheaper in each index than the 36-byte id.
      CREATE TABLE leads (
        seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id          text COLLATE "C" NOT NULL UNIQUE,
        org         text COLLATE "C" NOT NULL,
        name        text COLLATE "C" NOT NULL,
        phone       text COLLATE "C",
        email       text COLLATE "C",
        company     text,
        source      text COLLATE "C",
        status      text COLLATE "C" NOT NULL,
        assigned_to text COLLATE "C",
        tags        text[] COLLATE "C" NOT NULL DEFAULT '{}',
        custom      text NOT NULL DEFAULT '{}',
        version     bigint NOT NULL,
        created_at  bigint NOT NULL,
        updated_at  bigint NOT NULL,
        created_by  text,
        import_id   text COLLATE "C",
        -- What substring search looks at: name, email, company and the phone's digits, folded
        -- to lower case by ICU (full Unicode, independent of the database's locale).
        search_doc  text GENERATED ALWAYS AS (
                      lower((name || ' ' || coalesce(email, '') || ' ' || coalesce(company, '') || ' ' ||
                             coalesce(substr(phone, 2), '')) COLLATE "und-x-icu")) STORED
      );
      -- Duplicates are refused by the database itself, so concurrent creates (on any
      -- instance) cannot both win.
      CREATE UNIQUE INDEX leads_by_phone ON leads (org, phone) WHERE phone IS NOT NULL;
      CREATE UNIQUE INDEX leads_by_email ON leads (org, email) WHERE email IS NOT NULL;
      CREATE INDEX leads_by_created ON leads (org, created_at, seq);
      CREATE INDEX leads_by_updated ON leads (org, updated_at, seq);
      CREATE INDEX leads_by_name ON leads (org, name, seq);
      CREATE INDEX leads_by_assignee ON leads (org, assigned_to, created_at, seq);
      CREATE INDEX leads_by_status ON leads (org, status, created_at, seq);
      CREATE INDEX leads_by_tags ON leads USING gin (tags);
      CREATE INDEX leads_search ON leads USING gin (search_doc gin_trgm_ops);
      CREATE INDEX leads_by_import ON leads (import_id) WHERE import_id IS NOT NULL;

      CREATE TABLE activities (
        seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id         text COLLATE "C" NOT NULL,
        org        text COLLATE "C" NOT NULL,
        lead_id    text COLLATE "C" NOT NULL,
        type       text NOT NULL,
        actor_id   text,
        data       text NOT NULL,
        created_at bigint NOT NULL
      );
      CREATE INDEX activities_by_lead ON activities (lead_id, seq);

      -- CSV import jobs. next_offset / next_row / rr_position are the checkpoint, written in
      -- the same transaction as the batch of rows before it (leads.import_id marks its leads).
      CREATE TABLE import_jobs (
        id             text COLLATE "C" PRIMARY KEY,
        org_id         text COLLATE "C" NOT NULL,
        created_by     text NOT NULL,
        file_name      text NOT NULL,
        spool_path     text NOT NULL,
        header_csv     text NOT NULL,
        state          text NOT NULL,
        dedupe         text NOT NULL,
        assign         text NOT NULL,
        source         text NOT NULL,
        mapping        text NOT NULL,
        dry_run        boolean NOT NULL,
        total_rows     bigint,
        processed_rows bigint NOT NULL DEFAULT 0,
        inserted       bigint NOT NULL DEFAULT 0,
        updated        bigint NOT NULL DEFAULT 0,
        duplicates     bigint NOT NULL DEFAULT 0,
        invalid        bigint NOT NULL DEFAULT 0,
        next_offset    bigint NOT NULL DEFAULT 0,
        next_row       bigint NOT NULL DEFAULT 2,
        rr_position    bigint NOT NULL DEFAULT 0,
        error          text,
        created_at     bigint NOT NULL,
        started_at     bigint,
        finished_at    bigint,
        reverted       bigint,
        kept           bigint
      );
      CREATE INDEX import_jobs_by_org ON import_jobs (org_id, created_at);
      CREATE INDEX import_jobs_unfinished ON import_jobs (state) WHERE state IN ('queued', 'running');
      CREATE TABLE import_errors (
        job    text COLLATE "C" NOT NULL,
        row    bigint NOT NULL,
        reason text NOT NULL,
        cells  text NOT NULL,
        PRIMARY KEY (job, row)
      );
      -- Fields a dedupe=update import filled on existing leads (by seq), and the version it
      -- left them at: a revert empties them again only if the lead has not changed since.
      CREATE TABLE import_fills (
        job     text COLLATE "C" NOT NULL,
        lead    bigint NOT NULL,
        fields  text NOT NULL,
        version bigint NOT NULL,
        PRIMARY KEY (job, lead)
      );
    )sql"},
    {2, R"sql(
      -- The uploaded file of an unfinished import job, in parts, so that any instance on the
      -- database can run or resume the job (its local spool may be another machine's).
      -- Dropped when the job finishes.
      CREATE TABLE import_uploads (
        job  text COLLATE "C" NOT NULL,
        part integer NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (job, part)
      );
    )sql"},
    {3, R"sql(
      -- When a revocation was recorded, by the database's clock. A row's seq is taken before
      -- its transaction commits, so with several instances writing, a row with a smaller seq
      -- may become visible after one with a larger seq that a poller already passed: pollers
      -- also re-read the rows of the last seconds (see PgAccountStore::revoked_sessions).
      ALTER TABLE revoked_sessions
        ADD COLUMN recorded_at bigint NOT NULL DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
    )sql"},
    {4, R"sql(
      -- Keyset positions are (sort key, lead id) on every engine, instead of this engine's seq:
      -- the sort indexes end in id. Without a tie-breaker in the index a page would read whole
      -- groups of equal keys (Incremental Sort over 9,523 equal updated_at: 5.2 ms, not 0.03).
      DROP INDEX leads_by_created;
      DROP INDEX leads_by_updated;
      DROP INDEX leads_by_name;
      DROP INDEX leads_by_assignee;
      DROP INDEX leads_by_status;
      CREATE INDEX leads_by_created ON leads (org, created_at, id);
      CREATE INDEX leads_by_updated ON leads (org, updated_at, id);
      CREATE INDEX leads_by_name ON leads (org, name, id);
      CREATE INDEX leads_by_assignee ON leads (org, assigned_to, created_at, id);
      CREATE INDEX leads_by_status ON leads (org, status, created_at, id);
      -- Timelines page by activity id (time-ordered, increasing within a millisecond), as on
      -- every engine, instead of this engine's seq.
      DROP INDEX activities_by_lead;
      CREATE INDEX activities_by_lead ON activities (lead_id, id);
      -- An import's `imported` entry is the job's, shown on each of its leads' timelines from
      -- leads.import_id (PgLeadStore::list_activities): no row per imported lead.
      DELETE FROM activities WHERE type = 'imported';
    )sql"},
    {5, R"sql(
      -- Import jobs across instances: a job is run by the instance holding its lease (owner: a
      -- random id per process; expiry: milliseconds in the database's clock). A new job is
      -- claimable once its upload is stored (ready); jobs of earlier versions are.
      ALTER TABLE import_jobs ADD COLUMN lease_owner text;
      ALTER TABLE import_jobs ADD COLUMN lease_expires bigint;
      ALTER TABLE import_jobs ADD COLUMN ready boolean NOT NULL DEFAULT true;
      CREATE INDEX import_jobs_unfinished_by_org ON import_jobs (org_id) WHERE state IN ('queued', 'running');
    )sql"},
    {6, R"sql(
      -- Counting or filtering by source (the dashboard's sources, ?source=) reads this index
      -- instead of every row.
      CREATE INDEX leads_by_source ON leads (org, source, created_at, seq);
    )sql"},
};

// Any constant both engines' instances agree on: the key of the migration advisory lock.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7301162024)";

}  // namespace

Task<int> migrate(Connection& conn) {
  // Under the lock too: CREATE TABLE IF NOT EXISTS is not safe against a concurrent creator
  // (instances starting together on a new database).
  co_await conn.exec(std::string("BEGIN; ") + kMigrationLock +
                     "; CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                     "applied_at bigint NOT NULL); COMMIT");
  int applied = 0;
  // An index loop: GCC 12 cannot range-for over an array inside a coroutine.
  for (std::size_t i = 0; i < std::size(kMigrations); ++i) {
    const Migration& m = kMigrations[i];
    co_await conn.exec("BEGIN");
    std::exception_ptr error;
    try {
      co_await conn.exec(kMigrationLock);
      Params version{param(m.version)};
      auto done = co_await conn.query("SELECT 1 FROM schema_migrations WHERE version = $1", std::move(version));
      if (done.rows() == 0) {
        co_await conn.exec(m.sql);
        Params record{param(m.version), param(now_ms())};
        co_await conn.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", std::move(record));
        ++applied;
      }
      co_await conn.exec("COMMIT");
    } catch (...) {
      error = std::current_exception();
    }
    if (error) {
      if (!conn.broken()) co_await conn.exec("ROLLBACK");
      std::rethrow_exception(error);
    }
  }
  co_return applied;
}

}  // namespace lms::store::postgres

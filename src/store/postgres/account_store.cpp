#include "store/postgres/account_store.h"

#include "common/time.h"

namespace lms::store::postgres {

using accounts::Organization;
using accounts::User;
using accounts::UserRecord;

namespace {

constexpr const char* kUserColumns = "id, organization_id, name, email, role, active, created_at";

User read_user(const Result& r, int row) {
  User u;
  u.id = r.str(row, 0);
  u.organization_id = r.str(row, 1);
  u.name = r.str(row, 2);
  u.email = r.str(row, 3);
  u.role = accounts::parse_role(r.text(row, 4)).value_or(accounts::Role::agent);
  u.active = r.boolean(row, 5);
  u.created_at = r.integer(row, 6);
  return u;
}

Organization read_organization(const Result& r, int row) {
  return Organization{r.str(row, 0), r.str(row, 1), r.str(row, 2), r.integer(row, 3)};
}

Params user_row(const UserRecord& rec) {
  return Params{param(rec.user.id),
                param(rec.user.organization_id),
                param(rec.user.name),
                param(rec.user.email),
                param(std::string(accounts::role_name(rec.user.role))),
                param(rec.user.active),
                param(rec.password_hash),
                param(rec.user.created_at)};
}

constexpr const char* kInsertUser =
    "INSERT INTO users (id, organization_id, name, email, role, active, password_hash, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (email) DO NOTHING";

}  // namespace

// Thrown inside a transaction to roll it back when the email is taken.
struct EmailTaken {};

Task<bool> PgAccountStore::create_organization(Organization org, UserRecord admin) {
  try {
    co_await pool_.transaction([&](Connection& c) -> Task<void> {
      Params o{param(org.id), param(org.name), param(org.default_country), param(org.created_at)};
      co_await c.query("INSERT INTO organizations (id, name, default_country, created_at) VALUES ($1, $2, $3, $4)",
                       std::move(o));
      auto inserted = co_await c.query(kInsertUser, user_row(admin));
      if (inserted.affected() == 0) throw EmailTaken{};
    });
  } catch (const EmailTaken&) {
    co_return false;
  }
  co_return true;
}

Task<std::optional<Organization>> PgAccountStore::find_organization(std::string org_id) {
  co_return co_await pool_.with([&](Connection& c) -> Task<std::optional<Organization>> {
    Params p{param(org_id)};
    auto r = co_await c.query("SELECT id, name, default_country, created_at FROM organizations WHERE id = $1",
                              std::move(p));
    if (r.rows() == 0) co_return std::nullopt;
    co_return read_organization(r, 0);
  });
}

Task<std::optional<Organization>> PgAccountStore::update_organization(std::string org_id,
                                                                      accounts::OrganizationPatch patch) {
  co_return co_await pool_.with([&](Connection& c) -> Task<std::optional<Organization>> {
    Params p{param(patch.name), param(patch.default_country), param(org_id)};
    auto r = co_await c.query(
        "UPDATE organizations SET name = COALESCE($1, name), default_country = COALESCE($2, default_country) "
        "WHERE id = $3 RETURNING id, name, default_country, created_at",
        std::move(p));
    if (r.rows() == 0) co_return std::nullopt;
    co_return read_organization(r, 0);
  });
}

Task<std::optional<UserRecord>> PgAccountStore::find_user_by_email(std::string email) {
  co_return co_await pool_.with([&](Connection& c) -> Task<std::optional<UserRecord>> {
    Params p{param(email)};
    auto r = co_await c.query(std::string("SELECT ") + kUserColumns + ", password_hash FROM users WHERE email = $1",
                              std::move(p));
    if (r.rows() == 0) co_return std::nullopt;
    co_return UserRecord{read_user(r, 0), r.str(0, 7)};
  });
}

Task<std::optional<User>> PgAccountStore::find_user(std::string org_id, std::string user_id) {
  co_return co_await pool_.with([&](Connection& c) -> Task<std::optional<User>> {
    Params p{param(org_id), param(user_id)};
    auto r = co_await c.query(
        std::string("SELECT ") + kUserColumns + " FROM users WHERE organization_id = $1 AND id = $2", std::move(p));
    if (r.rows() == 0) co_return std::nullopt;
    co_return read_user(r, 0);
  });
}

Task<std::vector<User>> PgAccountStore::list_users(std::string org_id) {
  co_return co_await pool_.with([&](Connection& c) -> Task<std::vector<User>> {
    Params p{param(org_id)};
    auto r = co_await c.query(
        std::string("SELECT ") + kUserColumns + " FROM users WHERE organization_id = $1 ORDER BY created_at, id",
        std::move(p));
    std::vector<User> users;
    for (int i = 0; i < r.rows(); ++i) users.push_back(read_user(r, i));
    co_return users;
  });
}

Task<bool> PgAccountStore::insert_user(UserRecord record) {
  co_return co_await pool_.with([&](Connection& c) -> Task<bool> {
    auto r = co_await c.query(kInsertUser, user_row(record));
    co_return r.affected() == 1;
  });
}

Task<std::optional<User>> PgAccountStore::update_user(std::string org_id, std::string user_id,
                                                      accounts::UserPatch patch) {
  co_return co_await pool_.transaction([&](Connection& c) -> Task<std::optional<User>> {
    std::optional<std::string> role;
    if (patch.role) role = std::string(accounts::role_name(*patch.role));
    std::optional<std::string> active;
    if (patch.active) active = *patch.active ? "t" : "f";
    const Millis now = now_ms();
    Params p{param(patch.name), param(role), active, param(patch.password_hash), param(now), param(org_id),
             param(user_id)};
    auto r = co_await c.query(std::string("UPDATE users SET name = COALESCE($1, name), role = COALESCE($2, role), "
                                          "active = COALESCE($3::boolean, active), "
                                          "password_hash = COALESCE($4, password_hash), updated_at = $5 "
                                          "WHERE organization_id = $6 AND id = $7 RETURNING ") +
                                  kUserColumns,
                              std::move(p));
    if (r.rows() == 0) co_return std::nullopt;
    if (patch.active == false || patch.password_hash) {
      // Deactivation or a new password ends every session of the user.
      Params revoke{param(now), param(user_id)};
      co_await c.query("UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                       std::move(revoke));
    }
    co_return read_user(r, 0);
  });
}

Task<std::size_t> PgAccountStore::count_users() {
  co_return co_await pool_.with([&](Connection& c) -> Task<std::size_t> {
    auto r = co_await c.query("SELECT count(*) FROM users");
    co_return static_cast<std::size_t>(r.integer(0, 0));
  });
}

Task<void> PgAccountStore::insert_refresh_token(RefreshTokenRow row) {
  co_await pool_.with([&](Connection& c) -> Task<void> {
    Params p{param(row.token_hash), param(row.family_id), param(row.user_id), param(row.created_at),
             param(row.expires_at)};
    co_await c.query(
        "INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        std::move(p));
  });
}

Task<RotateResult> PgAccountStore::rotate_refresh_token(std::string old_hash, RefreshTokenRow replacement) {
  co_return co_await pool_.transaction([&](Connection& c) -> Task<RotateResult> {
    RotateResult result;
    Params find{param(old_hash)};
    // FOR UPDATE OF r: two instances presenting the same token at once serialize here, and
    // the second sees it spent (reuse).
    auto r = co_await c.query(
        "SELECT r.family_id, r.user_id, r.expires_at, r.spent_at IS NOT NULL OR r.revoked_at IS NOT NULL, "
        "u.organization_id FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE r.token_hash = $1 "
        "FOR UPDATE OF r",
        std::move(find));
    if (r.rows() == 0) co_return result;
    result.family_id = r.str(0, 0);
    result.user_id = r.str(0, 1);
    const Millis expires_at = r.integer(0, 2);
    const bool spent_or_revoked = r.boolean(0, 3);
    result.organization_id = r.str(0, 4);
    if (spent_or_revoked) {
      Params revoke{param(replacement.created_at), param(result.family_id)};
      co_await c.query("UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE family_id = $2",
                       std::move(revoke));
      result.outcome = RotateOutcome::reused;
      co_return result;
    }
    if (expires_at <= replacement.created_at) {
      result.outcome = RotateOutcome::expired;
      co_return result;
    }
    Params spend{param(replacement.created_at), param(old_hash)};
    Params insert{param(replacement.token_hash), param(result.family_id), param(result.user_id),
                  param(replacement.created_at), param(replacement.expires_at)};
    std::vector<Statement> both;
    both.push_back(Statement{"UPDATE refresh_tokens SET spent_at = $1 WHERE token_hash = $2", std::move(spend)});
    both.push_back(Statement{"INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at) "
                             "VALUES ($1, $2, $3, $4, $5)",
                             std::move(insert)});
    co_await c.pipeline(std::move(both));
    result.outcome = RotateOutcome::rotated;
    co_return result;
  });
}

Task<std::optional<std::string>> PgAccountStore::revoke_refresh_family(std::string token_hash, std::string user_id) {
  co_return co_await pool_.with([&](Connection& c) -> Task<std::optional<std::string>> {
    Params p{param(now_ms()), param(token_hash), param(user_id)};
    auto r = co_await c.query(
        "WITH f AS (SELECT family_id FROM refresh_tokens WHERE token_hash = $2 AND user_id = $3), "
        "u AS (UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, $1) "
        "      WHERE family_id IN (SELECT family_id FROM f)) "
        "SELECT family_id FROM f",
        std::move(p));
    if (r.rows() == 0) co_return std::nullopt;
    co_return r.str(0, 0);
  });
}

Task<void> PgAccountStore::revoke_session(std::string session_id, Millis expires_at) {
  co_await pool_.with([&](Connection& c) -> Task<void> {
    Params drop{param(now_ms())};
    Params record{param(session_id), param(expires_at)};
    std::vector<Statement> both;
    both.push_back(Statement{"DELETE FROM revoked_sessions WHERE expires_at <= $1", std::move(drop)});
    both.push_back(Statement{"INSERT INTO revoked_sessions (session_id, expires_at) VALUES ($1, $2) "
                             "ON CONFLICT (session_id) DO UPDATE SET expires_at = "
                             "greatest(revoked_sessions.expires_at, excluded.expires_at), recorded_at = DEFAULT",
                             std::move(record)});
    co_await c.pipeline(std::move(both));
  });
}

// How far back a poll re-reads revocations it may have passed (see migration 3): far longer
// than a revocation's transaction stays open.
constexpr std::int64_t kRevocationRereadMs = 10'000;

Task<std::vector<RevokedSession>> PgAccountStore::revoked_sessions(std::int64_t after_seq, Millis now) {
  co_return co_await pool_.with([&](Connection& c) -> Task<std::vector<RevokedSession>> {
    Params p{param(after_seq), param(now), param(kRevocationRereadMs)};
    auto r = co_await c.query(
        "SELECT seq, session_id, expires_at FROM revoked_sessions "
        "WHERE (seq > $1 OR recorded_at > (extract(epoch FROM clock_timestamp()) * 1000)::bigint - $3) "
        "AND expires_at > $2 ORDER BY seq",
        std::move(p));
    std::vector<RevokedSession> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back({r.integer(i, 0), r.str(i, 1), r.integer(i, 2)});
    co_return out;
  });
}

}  // namespace lms::store::postgres

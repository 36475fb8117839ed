#include "store/sqlite/account_store.h"

#include "common/time.h"

namespace lms::store::sqlite {

using accounts::Organization;
using accounts::User;
using accounts::UserRecord;

namespace {

User read_user(const Statement& s, int first = 0) {
  User u;
  u.id = s.text(first + 0);
  u.organization_id = s.text(first + 1);
  u.name = s.text(first + 2);
  u.email = s.text(first + 3);
  u.role = accounts::parse_role(s.text(first + 4)).value_or(accounts::Role::agent);
  u.active = s.integer(first + 5) != 0;
  u.created_at = s.integer(first + 6);
  return u;
}

Organization read_organization(const Statement& s) {
  return Organization{s.text(0), s.text(1), s.text(2), s.integer(3)};
}

std::optional<Organization> select_organization(Connection& c, const std::string& id) {
  auto s = c.prepare("SELECT id, name, default_country, created_at FROM organizations WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_organization(s);
}

std::optional<User> select_user(Connection& c, const std::string& org_id, const std::string& user_id) {
  auto s = c.prepare(
      "SELECT id, organization_id, name, email, role, active, created_at FROM users "
      "WHERE organization_id = ? AND id = ?");
  s.bind(1, org_id).bind(2, user_id);
  if (!s.step()) return std::nullopt;
  return read_user(s);
}

bool email_exists(Connection& c, const std::string& email) {
  auto s = c.prepare("SELECT 1 FROM users WHERE email = ?");
  s.bind(1, email);
  return s.step();
}

void insert_refresh_row(Connection& c, const RefreshTokenRow& row) {
  c.prepare(
       "INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
      .bind(1, row.token_hash)
      .bind(2, row.family_id)
      .bind(3, row.user_id)
      .bind(4, row.created_at)
      .bind(5, row.expires_at)
      .run();
}

void insert_user_row(Connection& c, const UserRecord& r) {
  c.prepare(
       "INSERT INTO users (id, organization_id, name, email, password_hash, role, active, created_at, updated_at) "
       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(1, r.user.id)
      .bind(2, r.user.organization_id)
      .bind(3, r.user.name)
      .bind(4, r.user.email)
      .bind(5, r.password_hash)
      .bind(6, accounts::role_name(r.user.role))
      .bind(7, r.user.active)
      .bind(8, r.user.created_at)
      .bind(9, r.user.created_at)
      .run();
}

}  // namespace

Task<bool> SqliteAccountStore::create_organization(Organization org, UserRecord admin) {
  co_return co_await engine_.write([&](Connection& c) {
    if (email_exists(c, admin.user.email)) return false;
    c.prepare("INSERT INTO organizations (id, name, default_country, created_at) VALUES (?, ?, ?, ?)")
        .bind(1, org.id)
        .bind(2, org.name)
        .bind(3, org.default_country)
        .bind(4, org.created_at)
        .run();
    insert_user_row(c, admin);
    return true;
  });
}

Task<std::optional<Organization>> SqliteAccountStore::find_organization(std::string org_id) {
  co_return co_await engine_.read([&](Connection& c) { return select_organization(c, org_id); });
}

Task<std::optional<Organization>> SqliteAccountStore::update_organization(std::string org_id,
                                                                   accounts::OrganizationPatch patch) {
  co_return co_await engine_.write([&](Connection& c) -> std::optional<Organization> {
    c.prepare(
         "UPDATE organizations SET name = COALESCE(?, name), default_country = COALESCE(?, default_country) "
         "WHERE id = ?")
        .bind(1, patch.name)
        .bind(2, patch.default_country)
        .bind(3, org_id)
        .run();
    auto org = select_organization(c, org_id);
    return org;
  });
}

Task<std::optional<UserRecord>> SqliteAccountStore::find_user_by_email(std::string email) {
  co_return co_await engine_.read([&](Connection& c) -> std::optional<UserRecord> {
    auto s = c.prepare(
        "SELECT id, organization_id, name, email, role, active, created_at, password_hash FROM users "
        "WHERE email = ?");
    s.bind(1, email);
    if (!s.step()) return std::nullopt;
    return UserRecord{read_user(s), s.text(7)};
  });
}

Task<std::optional<User>> SqliteAccountStore::find_user(std::string org_id, std::string user_id) {
  co_return co_await engine_.read([&](Connection& c) { return select_user(c, org_id, user_id); });
}

Task<std::vector<User>> SqliteAccountStore::list_users(std::string org_id) {
  co_return co_await engine_.read([&](Connection& c) {
    std::vector<User> users;
    auto s = c.prepare(
        "SELECT id, organization_id, name, email, role, active, created_at FROM users "
        "WHERE organization_id = ? ORDER BY created_at, id");
    s.bind(1, org_id);
    while (s.step()) users.push_back(read_user(s));
    return users;
  });
}

Task<bool> SqliteAccountStore::insert_user(UserRecord record) {
  co_return co_await engine_.write([&](Connection& c) {
    if (email_exists(c, record.user.email)) return false;
    insert_user_row(c, record);
    return true;
  });
}

Task<std::optional<User>> SqliteAccountStore::update_user(std::string org_id, std::string user_id,
                                                   accounts::UserPatch patch) {
  co_return co_await engine_.write([&](Connection& c) -> std::optional<User> {
    std::optional<std::string> role;
    if (patch.role) role = std::string(accounts::role_name(*patch.role));
    c.prepare(
         "UPDATE users SET name = COALESCE(?, name), role = COALESCE(?, role), active = COALESCE(?, active), "
         "password_hash = COALESCE(?, password_hash), updated_at = ? WHERE organization_id = ? AND id = ?")
        .bind(1, patch.name)
        .bind(2, role)
        .bind(3, patch.active)
        .bind(4, patch.password_hash)
        .bind(5, now_ms())
        .bind(6, org_id)
        .bind(7, user_id)
        .run();
    if (c.changes() == 0) return std::nullopt;
    if (patch.active == false || patch.password_hash) {
      // Deactivation or a new password ends every session of the user.
      c.prepare("UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
          .bind(1, now_ms())
          .bind(2, user_id)
          .run();
    }
    auto user = select_user(c, org_id, user_id);
    return user;
  });
}

Task<std::size_t> SqliteAccountStore::count_users() {
  co_return co_await engine_.read([](Connection& c) {
    auto s = c.prepare("SELECT COUNT(*) FROM users");
    s.step();
    return static_cast<std::size_t>(s.integer(0));
  });
}

Task<void> SqliteAccountStore::insert_refresh_token(RefreshTokenRow row) {
  co_await engine_.write([&](Connection& c) { insert_refresh_row(c, row); });
}

Task<RotateResult> SqliteAccountStore::rotate_refresh_token(std::string old_hash, RefreshTokenRow replacement) {
  co_return co_await engine_.write([&](Connection& c) {
    RotateResult result;
    bool spent_or_revoked;
    Millis expires_at;
    {
      auto s = c.prepare(
          "SELECT r.family_id, r.user_id, r.expires_at, r.spent_at IS NOT NULL OR r.revoked_at IS NOT NULL, "
          "u.organization_id FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE r.token_hash = ?");
      s.bind(1, old_hash);
      if (!s.step()) return result;
      result.family_id = s.text(0);
      result.user_id = s.text(1);
      expires_at = s.integer(2);
      spent_or_revoked = s.integer(3) != 0;
      result.organization_id = s.text(4);
    }
    if (spent_or_revoked) {
      c.prepare("UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE family_id = ?")
          .bind(1, replacement.created_at)
          .bind(2, result.family_id)
          .run();
        result.outcome = RotateOutcome::reused;
      return result;
    }
    if (expires_at <= replacement.created_at) {
      result.outcome = RotateOutcome::expired;
      return result;
    }
    c.prepare("UPDATE refresh_tokens SET spent_at = ? WHERE token_hash = ?")
        .bind(1, replacement.created_at)
        .bind(2, old_hash)
        .run();
    replacement.family_id = result.family_id;
    replacement.user_id = result.user_id;
    insert_refresh_row(c, replacement);
    result.outcome = RotateOutcome::rotated;
    return result;
  });
}

Task<std::optional<std::string>> SqliteAccountStore::revoke_refresh_family(std::string token_hash, std::string user_id) {
  co_return co_await engine_.write([&](Connection& c) -> std::optional<std::string> {
    std::string family;
    {
      auto s = c.prepare("SELECT family_id FROM refresh_tokens WHERE token_hash = ? AND user_id = ?");
      s.bind(1, token_hash).bind(2, user_id);
      if (!s.step()) return std::nullopt;
      family = s.text(0);
    }
    c.prepare("UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE family_id = ?")
        .bind(1, now_ms())
        .bind(2, family)
        .run();
    return family;
  });
}

Task<void> SqliteAccountStore::revoke_session(std::string session_id, Millis expires_at) {
  co_await engine_.write([&](Connection& c) {
    Millis now = now_ms();
    c.prepare("DELETE FROM revoked_sessions WHERE expires_at <= ?").bind(1, now).run();
    c.prepare(
         "INSERT INTO revoked_sessions (session_id, expires_at) VALUES (?, ?) "
         "ON CONFLICT (session_id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)")
        .bind(1, session_id)
        .bind(2, expires_at)
        .run();
  });
}

Task<std::vector<RevokedSession>> SqliteAccountStore::revoked_sessions(std::int64_t after_seq, Millis now) {
  co_return co_await engine_.read([after_seq, now](Connection& c) {
    std::vector<RevokedSession> out;
    auto s = c.prepare(
        "SELECT seq, session_id, expires_at FROM revoked_sessions WHERE seq > ? AND expires_at > ? ORDER BY seq");
    s.bind(1, after_seq).bind(2, now);
    while (s.step()) out.push_back({s.integer(0), s.text(1), s.integer(2)});
    return out;
  });
}

}  // namespace lms::store::sqlite

// The SQLite implementation of AccountStore: organizations, users, refresh tokens and
// revoked sessions, on the engine (writer queue, reader pool) of SqliteStore. Email
// uniqueness and refresh-token rotation are single write jobs, so they cannot race.
#pragma once

#include "store/sqlite/sqlite_store.h"

namespace lms::store::sqlite {

class SqliteAccountStore final : public AccountStore {
 public:
  explicit SqliteAccountStore(SqliteStore& engine) : engine_(engine) {}

  Task<bool> create_organization(accounts::Organization org, accounts::UserRecord admin) override;
  Task<std::optional<accounts::Organization>> find_organization(std::string org_id) override;
  Task<std::optional<accounts::Organization>> update_organization(std::string org_id,
                                                                  accounts::OrganizationPatch patch) override;
  Task<std::optional<accounts::UserRecord>> find_user_by_email(std::string email) override;
  Task<std::optional<accounts::User>> find_user(std::string org_id, std::string user_id) override;
  Task<std::vector<accounts::User>> list_users(std::string org_id) override;
  Task<bool> insert_user(accounts::UserRecord record) override;
  Task<std::optional<accounts::User>> update_user(std::string org_id, std::string user_id,
                                                  accounts::UserPatch patch) override;
  Task<std::size_t> count_users() override;
  Task<void> insert_refresh_token(RefreshTokenRow row) override;
  Task<RotateResult> rotate_refresh_token(std::string old_hash, RefreshTokenRow replacement) override;
  Task<std::optional<std::string>> revoke_refresh_family(std::string token_hash, std::string user_id) override;
  Task<void> revoke_session(std::string session_id, Millis expires_at) override;
  Task<std::vector<RevokedSession>> revoked_sessions(std::int64_t after_seq, Millis now) override;

 private:
  SqliteStore& engine_;
};

}  // namespace lms::store::sqlite

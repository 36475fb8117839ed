// The storage boundary. Services talk to these interfaces only; each engine (SQLite now,
// PostgreSQL later) implements them and is chosen once at start-up in app.cpp. Every method
// is a coroutine: an implementation runs its blocking work on its own threads, never on
// the caller's I/O thread. Every tenant-owned row is addressed with its organization id.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "accounts/model.h"

namespace lms::store {

// Coroutine parameters are taken by value: a reference parameter would dangle as soon as
// a caller passed a temporary (and GCC 12 mishandles temporaries inside co_await).
template <class T>
using Task = boost::asio::awaitable<T>;

struct RefreshTokenRow {
  std::string token_hash;  // SHA-256 of the token, hex; the token itself is never stored
  std::string family_id;   // all tokens rotated from one login share a family
  std::string user_id;
  Millis created_at = 0;
  Millis expires_at = 0;
};

enum class RotateOutcome { rotated, unknown, reused, expired };

struct RotateResult {
  RotateOutcome outcome = RotateOutcome::unknown;
  std::string user_id;
  std::string organization_id;
  std::string family_id;
};

class AccountStore {
 public:
  virtual ~AccountStore() = default;

  // Returns false when the email is taken (nothing is written then).
  virtual Task<bool> create_organization(accounts::Organization org, accounts::UserRecord admin) = 0;
  virtual Task<std::optional<accounts::Organization>> find_organization(std::string org_id) = 0;
  virtual Task<std::optional<accounts::Organization>> update_organization(std::string org_id,
                                                                          accounts::OrganizationPatch patch) = 0;

  virtual Task<std::optional<accounts::UserRecord>> find_user_by_email(std::string email) = 0;
  virtual Task<std::optional<accounts::User>> find_user(std::string org_id, std::string user_id) = 0;
  virtual Task<std::vector<accounts::User>> list_users(std::string org_id) = 0;
  // Returns false when the email is taken.
  virtual Task<bool> insert_user(accounts::UserRecord record) = 0;
  virtual Task<std::optional<accounts::User>> update_user(std::string org_id, std::string user_id,
                                                          accounts::UserPatch patch) = 0;
  virtual Task<std::size_t> count_users() = 0;

  virtual Task<void> insert_refresh_token(RefreshTokenRow row) = 0;
  // Atomically spends `old_hash` and stores `replacement` in the same family. A token that was
  // already spent or revoked is reuse: its whole family is revoked.
  virtual Task<RotateResult> rotate_refresh_token(std::string old_hash, RefreshTokenRow replacement) = 0;
  // Revokes the family of `token_hash` if it belongs to `user_id`.
  virtual Task<void> revoke_refresh_family(std::string token_hash, std::string user_id) = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual AccountStore& accounts() = 0;
  // True when the database answers a trivial query.
  virtual Task<bool> ping() = 0;
  // Pool sizes and queue depth, for readiness and metrics.
  virtual std::string engine() const = 0;
  // Finishes queued writes and closes every connection. Idempotent.
  virtual void close() = 0;
};

}  // namespace lms::store

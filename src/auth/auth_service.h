// AuthService: registration, login, token refresh with rotation and reuse detection,
// logout, and resolving an access token to the caller. Knows nothing of HTTP. Password
// hashing runs on the hashing executor; everything else awaits the store.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <string>

#include "accounts/directory.h"
#include "auth/passwords.h"
#include "auth/revocations.h"
#include "auth/tokens.h"
#include "store/store.h"

namespace lms::auth {

struct AuthSettings {
  std::chrono::seconds access_ttl{15 * 60};
  std::chrono::seconds refresh_ttl{30 * 24 * 3600};
  // How often revocations recorded by other instances (logouts there) are read.
  std::chrono::milliseconds revocation_poll{1000};
};

struct Session {
  std::string access_token;
  std::string refresh_token;
  std::int64_t expires_in = 0;  // seconds
  accounts::User user;
};

struct Registration {
  std::string organization_name;
  std::string name;
  std::string email;
  std::string password;
  std::optional<std::string> default_country;
};

class AuthService {
 public:
  AuthService(store::AccountStore& store, accounts::AccountDirectory& directory, const TokenSigner& signer,
              const PasswordHasher& hasher, boost::asio::any_io_executor hashing, AuthSettings settings);

  store::Task<std::pair<Session, accounts::Organization>> register_organization(Registration input);
  store::Task<Session> login(std::string email, std::string password);
  store::Task<Session> refresh(std::string refresh_token);
  // Ends the caller's sign-in: its access token (and every other of its session) and the
  // refresh token's family stop working, on every instance that shares the database.
  store::Task<void> logout(const accounts::Principal& caller, std::string refresh_token);
  // The caller behind an access token; throws 401 for a bad, expired or revoked one.
  store::Task<accounts::Principal> authenticate(std::string_view access_token);
  store::Task<std::pair<accounts::User, accounts::Organization>> me(const accounts::Principal& caller);

  // Hashes on the hashing executor; for the account service and CLI too.
  store::Task<std::string> hash_password(std::string password);

  // The sign-in sessions revoked here and elsewhere (the wiring connects them to the bus).
  SessionRevocations& revocations() { return revocations_; }

 private:
  store::Task<Session> issue_session(const accounts::User& user, std::string family_id);
  std::string access_token(const accounts::User& user, const std::string& session_id, Millis now) const;
  Millis access_expiry(Millis now) const;

  store::AccountStore& store_;
  accounts::AccountDirectory& directory_;
  const TokenSigner& signer_;
  const PasswordHasher& hasher_;
  boost::asio::any_io_executor hashing_;
  AuthSettings settings_;
  SessionRevocations revocations_;
};

}  // namespace lms::auth

#include "auth/auth_service.h"

#include "common/async.h"
#include "common/errors.h"
#include "common/ids.h"
#include "common/validate.h"
#include "leads/phone.h"

namespace lms::auth {

using accounts::Organization;
using accounts::Principal;
using accounts::User;

AuthService::AuthService(store::AccountStore& store, accounts::AccountDirectory& directory, const TokenSigner& signer,
                         const PasswordHasher& hasher, boost::asio::any_io_executor hashing, AuthSettings settings)
    : store_(store),
      directory_(directory),
      signer_(signer),
      hasher_(hasher),
      hashing_(std::move(hashing)),
      settings_(settings),
      revocations_(store, settings.revocation_poll) {}

Millis AuthService::access_expiry(Millis now) const {
  return now + std::chrono::duration_cast<std::chrono::milliseconds>(settings_.access_ttl).count();
}

std::string AuthService::access_token(const User& user, const std::string& session_id, Millis now) const {
  return signer_.sign(AccessClaims{user.id, user.organization_id, user.role, now, access_expiry(now), session_id});
}

store::Task<std::string> AuthService::hash_password(std::string password) {
  co_return co_await run_on(hashing_, [&] { return hasher_.hash(password); });
}

store::Task<Session> AuthService::issue_session(const User& user, std::string family_id) {
  Millis now = now_ms();
  Session session{access_token(user, family_id, now), new_refresh_token(), settings_.access_ttl.count(), user};
  store::RefreshTokenRow row{hash_refresh_token(session.refresh_token), std::move(family_id), user.id, now,
                             now + std::chrono::duration_cast<std::chrono::milliseconds>(settings_.refresh_ttl).count()};
  co_await store_.insert_refresh_token(std::move(row));
  co_return session;
}

store::Task<std::pair<Session, Organization>> AuthService::register_organization(Registration input) {
  Organization org;
  User admin;
  validate::all([&] { org.name = validate::name(input.organization_name, "organizationName"); },
                [&] { admin.name = validate::name(input.name, "name"); },
                [&] { admin.email = validate::email(input.email); },
                [&] { validate::password(input.password); },
                [&] {
                  if (!input.default_country) return;
                  org.default_country = validate::country(*input.default_country);
                  if (!leads::is_supported_region(org.default_country))
                    throw ApiError::validation("defaultCountry", "not a country known to the phone number library");
                });

  Millis now = now_ms();
  org.id = new_id_at(now);
  org.created_at = now;
  admin.id = new_id_at(now);
  admin.organization_id = org.id;
  admin.role = accounts::Role::admin;
  admin.created_at = now;
  std::string hash = co_await hash_password(std::move(input.password));
  accounts::UserRecord record{admin, std::move(hash)};
  bool created = co_await store_.create_organization(org, std::move(record));
  if (!created) throw ApiError(409, "email_taken", "a user with this email already exists");
  directory_.put(org);
  directory_.put(admin);
  Session session = co_await issue_session(admin, new_id());
  co_return std::pair{std::move(session), org};
}

store::Task<Session> AuthService::login(std::string email, std::string password) {
  auto normalized = validate::normalize_email(email);
  std::optional<accounts::UserRecord> record;
  if (normalized && password.size() <= 1024) {
    std::string key = *normalized;
    record = co_await store_.find_user_by_email(std::move(key));
  }
  // Unknown emails cost a dummy verification, so timing does not tell which emails exist.
  bool verified = co_await run_on(hashing_, [&] {
    if (!record) {
      hasher_.verify_dummy(password.substr(0, 1024));
      return false;
    }
    return hasher_.verify(password, record->password_hash);
  });
  if (!verified || !record->user.active) throw ApiError::invalid_credentials();
  directory_.put(record->user);
  Session session = co_await issue_session(record->user, new_id());
  co_return session;
}

store::Task<Session> AuthService::refresh(std::string refresh_token) {
  if (refresh_token.empty() || refresh_token.size() > 256) throw ApiError::unauthorized("invalid refresh token");
  Millis now = now_ms();
  std::string replacement = new_refresh_token();
  store::RefreshTokenRow row{hash_refresh_token(replacement), {}, {}, now,
                             now + std::chrono::duration_cast<std::chrono::milliseconds>(settings_.refresh_ttl).count()};
  auto result = co_await store_.rotate_refresh_token(hash_refresh_token(refresh_token), std::move(row));
  switch (result.outcome) {
    case store::RotateOutcome::unknown:
    case store::RotateOutcome::expired: throw ApiError::unauthorized("invalid refresh token");
    case store::RotateOutcome::reused:
      // A stolen token was used (by the thief or the owner): the whole sign-in ends, its
      // access tokens included.
      co_await revocations_.revoke(result.family_id, access_expiry(now));
      throw ApiError::unauthorized("refresh token already used; the session has been revoked");
    case store::RotateOutcome::rotated: break;
  }
  auto user = co_await store_.find_user(result.organization_id, result.user_id);
  if (!user || !user->active) throw ApiError::unauthorized("invalid refresh token");
  directory_.put(*user);
  co_return Session{access_token(*user, result.family_id, now), std::move(replacement), settings_.access_ttl.count(),
                    *user};
}

store::Task<void> AuthService::logout(const Principal& caller, std::string refresh_token) {
  // Access tokens live at most access_ttl from now: the record may be dropped after that.
  Millis until = access_expiry(now_ms());
  co_await revocations_.revoke(caller.session_id, until);
  if (refresh_token.empty() || refresh_token.size() > 256) co_return;
  auto family = co_await store_.revoke_refresh_family(hash_refresh_token(refresh_token), caller.user_id);
  if (family && *family != caller.session_id) co_await revocations_.revoke(*family, until);
}

store::Task<Principal> AuthService::authenticate(std::string_view access_token) {
  auto claims = signer_.verify(access_token, now_ms());
  if (!claims) throw ApiError::unauthorized("invalid or expired token");
  auto user = co_await directory_.user(claims->organization_id, claims->user_id);
  if (!user || !user->active) throw ApiError::unauthorized("invalid or expired token");
  if (co_await revocations_.revoked(claims->session_id)) throw ApiError::unauthorized("the session has ended (logout)");
  co_return Principal{user->id, user->organization_id, user->role, claims->session_id};
}

store::Task<std::pair<User, Organization>> AuthService::me(const Principal& caller) {
  auto user = co_await directory_.user(caller.organization_id, caller.user_id);
  auto org = co_await directory_.organization(caller.organization_id);
  if (!user || !org) throw ApiError::unauthorized("invalid or expired token");
  co_return std::pair{*user, *org};
}

}  // namespace lms::auth

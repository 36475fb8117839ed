// Access tokens: compact JWS (JWT) signed with HMAC-SHA256. Verification accepts exactly the
// header lms writes (alg HS256), so `alg: none` and algorithm-confusion tokens are rejected
// before any signature work; signatures are compared in constant time.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "accounts/model.h"
#include "common/time.h"

namespace lms::auth {

struct AccessClaims {
  std::string user_id;          // sub
  std::string organization_id;  // org
  accounts::Role role = accounts::Role::agent;
  Millis issued_at = 0;   // iat, in ms for the struct, seconds in the token
  Millis expires_at = 0;  // exp
  std::string session_id;  // sid: the refresh-token family; empty in tokens of older builds
};

class TokenSigner {
 public:
  // `secret` is raw key material, at least 32 bytes.
  explicit TokenSigner(std::string secret);
  ~TokenSigner();
  TokenSigner(const TokenSigner&) = delete;
  TokenSigner& operator=(const TokenSigner&) = delete;

  std::string sign(const AccessClaims& claims) const;
  // The claims of a well-formed, correctly signed, unexpired token; nullopt otherwise.
  std::optional<AccessClaims> verify(std::string_view token, Millis now) const;

 private:
  // HMAC-SHA256 of `data` with the secret, as 32 raw bytes.
  std::string mac(std::string_view data) const;

  std::string secret_;
  std::string header_b64_;
  // A keyed HMAC context, duplicated per call: keying once avoids OpenSSL 3's per-call
  // algorithm fetch and key setup (about half the cost of a verification). Read-only after
  // construction, so concurrent dups are safe.
  struct MacTemplate;
  MacTemplate* template_ = nullptr;
};

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

// Refresh tokens: 32 random bytes, base64url; stored only as their SHA-256 (hex).
std::string new_refresh_token();
std::string hash_refresh_token(std::string_view token);

}  // namespace lms::auth

// The account domain: organizations (tenants), their users and roles. Plain values, shared by
// the services, the stores and the renderers; no behaviour beyond parsing and naming.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/time.h"

namespace lms::accounts {

enum class Role { admin, manager, agent };

std::optional<Role> parse_role(std::string_view text);
std::string_view role_name(Role role);

struct Organization {
  std::string id;
  std::string name;
  std::string default_country = "US";
  Millis created_at = 0;
};

struct User {
  std::string id;
  std::string organization_id;
  std::string name;
  std::string email;
  Role role = Role::agent;
  bool active = true;
  Millis created_at = 0;
};

// A user with the secret the store keeps for it; never rendered.
struct UserRecord {
  User user;
  std::string password_hash;
};

struct UserPatch {
  std::optional<std::string> name;
  std::optional<Role> role;
  std::optional<bool> active;
  std::optional<std::string> password_hash;
};

struct OrganizationPatch {
  std::optional<std::string> name;
  std::optional<std::string> default_country;
};

}  // namespace lms::accounts

namespace lms::accounts {

// Who is making a request: resolved from a verified access token and the user's current
// state (role and active flag come from the store, not from the token).
struct Principal {
  std::string user_id;
  std::string organization_id;
  Role role = Role::agent;
  std::string session_id;  // the sign-in (refresh-token family) the access token belongs to
};

}  // namespace lms::accounts

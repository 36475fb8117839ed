#include "accounts/model.h"

namespace lms::accounts {

std::optional<Role> parse_role(std::string_view text) {
  if (text == "admin") return Role::admin;
  if (text == "manager") return Role::manager;
  if (text == "agent") return Role::agent;
  return std::nullopt;
}

std::string_view role_name(Role role) {
  switch (role) {
    case Role::admin: return "admin";
    case Role::manager: return "manager";
    case Role::agent: return "agent";
  }
  return "agent";
}

}  // namespace lms::accounts

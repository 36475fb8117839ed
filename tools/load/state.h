// The state file of lms-load: the organizations and accounts `setup` made (or signed in to),
// with their tokens, so later runs reuse them instead of signing in again (no virtual user
// ever hammers login). Written atomically (temporary file + rename), mode 0600: it holds
// passwords and tokens of load-test accounts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lms::load {

struct Account {
  std::string user_id;
  std::string email;
  std::string password;
  std::string role;  // admin, manager, agent
  std::string access_token;
  std::string refresh_token;
  std::int64_t access_expires_at_ms = 0;  // wall clock
  bool watches_all() const { return role == "admin" || role == "manager"; }
};

struct Organization {
  std::string id;
  std::vector<Account> accounts;  // the first is the organization's admin
  std::int64_t leads = 0;         // leads setup created in it
};

struct LoadState {
  std::string url;
  std::vector<Organization> organizations;
  std::size_t account_count() const;
};

std::string state_to_json(const LoadState& state);
// Throws std::invalid_argument naming what is wrong.
LoadState state_from_json(const std::string& json);
// Throws std::runtime_error when the file cannot be read or written.
LoadState load_state(const std::string& path);
void save_state(const std::string& path, const LoadState& state);

}  // namespace lms::load

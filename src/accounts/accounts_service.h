// AccountsService: the organization's users and settings, with the contract's role rules
// (admins manage users and the organization; managers read users; agents neither). Every
// operation is scoped to the caller's organization: another organization's ids are 404.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "accounts/directory.h"
#include "auth/auth_service.h"
#include "realtime/event_bus.h"
#include "store/store.h"

namespace lms::accounts {

struct NewUser {
  std::string name;
  std::string email;
  std::string password;
  std::string role;
};

struct UserChanges {
  std::optional<std::string> name;
  std::optional<std::string> role;
  std::optional<bool> active;
  std::optional<std::string> password;
};

struct OrganizationChanges {
  std::optional<std::string> name;
  std::optional<std::string> default_country;
};

class AccountsService {
 public:
  // A deactivation is announced on `events` (when given), so the user's sockets close.
  AccountsService(store::AccountStore& store, AccountDirectory& directory, auth::AuthService& auth,
                  realtime::EventBus* events = nullptr);

  store::Task<std::vector<User>> list_users(const Principal& caller);
  store::Task<User> get_user(const Principal& caller, std::string user_id);
  store::Task<User> create_user(const Principal& caller, NewUser input);
  store::Task<User> update_user(const Principal& caller, std::string user_id, UserChanges changes);
  store::Task<Organization> get_organization(const Principal& caller);
  store::Task<Organization> update_organization(const Principal& caller, OrganizationChanges changes);

  // For the CLI: creates a user in an organization without a caller.
  store::Task<User> create_user_in(const std::string& org_id, NewUser input);

 private:
  store::AccountStore& store_;
  AccountDirectory& directory_;
  auth::AuthService& auth_;
  realtime::EventBus* events_;
};

}  // namespace lms::accounts

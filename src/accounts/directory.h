// AccountDirectory: a read-through cache of users and organizations, consulted on every
// authenticated request (is the user still active, what is their role). Entries this
// process changes are replaced at once; entries older than the refresh interval are
// re-read from the store, which bounds how long a change made elsewhere (another
// instance, the CLI) takes to be seen.
#pragma once

#include <chrono>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "accounts/model.h"
#include "store/store.h"

namespace lms::accounts {

class AccountDirectory {
 public:
  AccountDirectory(store::AccountStore& store, std::chrono::milliseconds refresh_interval);

  // nullptr when the user does not exist in that organization.
  store::Task<std::shared_ptr<const User>> user(const std::string& org_id, const std::string& user_id);
  store::Task<std::shared_ptr<const Organization>> organization(const std::string& org_id);

  void put(const User& user);
  void put(const Organization& org);
  // Drops the cached user (changed on another instance): the next read goes to the store.
  void forget_user(const std::string& user_id);

 private:
  template <class T>
  struct Entry {
    std::shared_ptr<const T> value;
    std::chrono::steady_clock::time_point loaded;
  };

  store::AccountStore& store_;
  std::chrono::milliseconds refresh_interval_;
  std::shared_mutex mutex_;
  std::unordered_map<std::string, Entry<User>> users_;          // by user id; guarded by mutex_
  std::unordered_map<std::string, Entry<Organization>> orgs_;   // by org id; guarded by mutex_
};

}  // namespace lms::accounts

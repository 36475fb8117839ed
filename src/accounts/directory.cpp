#include "accounts/directory.h"

#include <mutex>

namespace lms::accounts {

using Clock = std::chrono::steady_clock;

AccountDirectory::AccountDirectory(store::AccountStore& store, std::chrono::milliseconds refresh_interval)
    : store_(store), refresh_interval_(refresh_interval) {}

store::Task<std::shared_ptr<const User>> AccountDirectory::user(const std::string& org_id,
                                                                const std::string& user_id) {
  {
    std::shared_lock lock(mutex_);
    auto it = users_.find(user_id);
    if (it != users_.end() && Clock::now() - it->second.loaded < refresh_interval_) {
      if (it->second.value->organization_id != org_id) co_return nullptr;
      co_return it->second.value;
    }
  }
  auto loaded = co_await store_.find_user(org_id, user_id);
  if (!loaded) co_return nullptr;
  auto value = std::make_shared<const User>(std::move(*loaded));
  std::unique_lock lock(mutex_);
  users_[user_id] = Entry<User>{value, Clock::now()};
  co_return value;
}

store::Task<std::shared_ptr<const Organization>> AccountDirectory::organization(const std::string& org_id) {
  {
    std::shared_lock lock(mutex_);
    auto it = orgs_.find(org_id);
    if (it != orgs_.end() && Clock::now() - it->second.loaded < refresh_interval_) co_return it->second.value;
  }
  auto loaded = co_await store_.find_organization(org_id);
  if (!loaded) co_return nullptr;
  auto value = std::make_shared<const Organization>(std::move(*loaded));
  std::unique_lock lock(mutex_);
  orgs_[org_id] = Entry<Organization>{value, Clock::now()};
  co_return value;
}

void AccountDirectory::put(const User& user) {
  auto value = std::make_shared<const User>(user);
  std::unique_lock lock(mutex_);
  users_[user.id] = Entry<User>{std::move(value), Clock::now()};
}

void AccountDirectory::forget_user(const std::string& user_id) {
  std::unique_lock lock(mutex_);
  users_.erase(user_id);
}

void AccountDirectory::put(const Organization& org) {
  auto value = std::make_shared<const Organization>(org);
  std::unique_lock lock(mutex_);
  orgs_[org.id] = Entry<Organization>{std::move(value), Clock::now()};
}

}  // namespace lms::accounts

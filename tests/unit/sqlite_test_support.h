// Shared by the SQLite engine's unit tests: a fresh database directory per test, and an
// organization with its admin.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "app/app.h"
#include "common/ids.h"
#include "common/time.h"
#include "store/store.h"

namespace lms::store::sqlite {

// A new, empty directory under the system's temporary directory, named after the test.
inline std::filesystem::path unique_temp_dir() {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "lms-unit-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
                     (info ? std::string(info->name()) : std::string("x")) + "-" + new_id().substr(24);
  auto dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// unique_temp_dir(), removed with everything in it when the object goes.
struct ScopedTempDir {
  std::filesystem::path path = unique_temp_dir();
  ScopedTempDir() = default;
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  ~ScopedTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

struct OrgWithAdmin {
  accounts::Organization org;
  std::string admin_id;
};

// Creates organization `name` (country US) with an admin; fails the test if it cannot.
inline OrgWithAdmin create_org_with_admin(AccountStore& accounts, const std::string& name) {
  OrgWithAdmin created{accounts::Organization{new_id(), name, "US", now_ms()}, new_id()};
  accounts::UserRecord admin;
  admin.user = accounts::User{created.admin_id, created.org.id, "Admin", "admin-" + created.org.id + "@test.lms",
                              accounts::Role::admin, true, now_ms()};
  admin.password_hash = "x";
  EXPECT_TRUE(app::block_on(accounts.create_organization(created.org, admin)));
  return created;
}

}  // namespace lms::store::sqlite

// argon2id password hashing. Each hash at the default cost takes tens of milliseconds, so one
// hasher is shared and the number of hashes is kept small.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "auth/passwords.h"

namespace lms::auth {
namespace {

class PasswordHasherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    hasher_ = std::make_unique<PasswordHasher>();
    first_ = new std::string(hasher_->hash("correct horse battery staple"));
  }
  static void TearDownTestSuite() {
    delete first_;
    first_ = nullptr;
    hasher_.reset();
  }
  static std::unique_ptr<PasswordHasher> hasher_;
  static std::string* first_;  // a hash of "correct horse battery staple"
};

std::unique_ptr<PasswordHasher> PasswordHasherTest::hasher_;
std::string* PasswordHasherTest::first_ = nullptr;

TEST_F(PasswordHasherTest, HashThenVerifySucceeds) {
  EXPECT_TRUE(hasher_->verify("correct horse battery staple", *first_));
}

TEST_F(PasswordHasherTest, WrongPasswordFails) {
  EXPECT_FALSE(hasher_->verify("correct horse battery stapl", *first_));
  EXPECT_FALSE(hasher_->verify("Correct horse battery staple", *first_));
  EXPECT_FALSE(hasher_->verify("", *first_));
}

TEST_F(PasswordHasherTest, HashIsArgon2idWithDefaultCost) {
  EXPECT_EQ(first_->rfind("$argon2id$", 0), 0u) << *first_;
  // libsodium encodes memory in KiB: 19 MiB = 19456 KiB, 2 passes.
  EXPECT_NE(first_->find("m=19456,t=2,"), std::string::npos) << *first_;
  // The stored form never contains the password.
  EXPECT_EQ(first_->find("correct horse"), std::string::npos);
}

TEST_F(PasswordHasherTest, SamePasswordHashesDifferently) {
  auto second = hasher_->hash("correct horse battery staple");
  EXPECT_NE(second, *first_);
  EXPECT_TRUE(hasher_->verify("correct horse battery staple", second));
}

TEST_F(PasswordHasherTest, GarbageStoredHashNeverVerifies) {
  EXPECT_FALSE(hasher_->verify("anything", ""));
  EXPECT_FALSE(hasher_->verify("anything", "not a hash"));
  EXPECT_FALSE(hasher_->verify("anything", "$argon2id$v=19$m=19456,t=2,p=1$garbage$garbage"));
}

TEST_F(PasswordHasherTest, VerifyDummyDoesNotThrow) { EXPECT_NO_THROW(hasher_->verify_dummy("whatever")); }

TEST(PasswordHasher, PasswordWithEmbeddedNulIsHashedWhole) {
  // A cheap cost keeps this fast; the point is that the length, not a C string, is used.
  PasswordHasher cheap(PasswordCost{1, 8u << 10});
  std::string with_nul("abc\0def", 7);
  auto hash = cheap.hash(with_nul);
  EXPECT_TRUE(cheap.verify(with_nul, hash));
  EXPECT_FALSE(cheap.verify("abc", hash));
}

}  // namespace
}  // namespace lms::auth

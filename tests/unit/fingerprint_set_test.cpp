#include "imports/fingerprint_set.h"

#include <gtest/gtest.h>

#include <string>

namespace lms::imports {
namespace {

TEST(FingerprintSet, ReportsTheSecondInsertOfAKey) {
  FingerprintSet set;
  EXPECT_TRUE(set.insert("phone", "+14155550100"));
  EXPECT_FALSE(set.insert("phone", "+14155550100"));
  EXPECT_TRUE(set.insert("phone", "+14155550101"));
  EXPECT_EQ(set.size(), 2u);
}

TEST(FingerprintSet, KindsAreSeparate) {
  FingerprintSet set;
  EXPECT_TRUE(set.insert("phone", "x"));
  EXPECT_TRUE(set.insert("email", "x"));
  // The kind/key boundary matters: ("ab", "c") is not ("a", "bc").
  EXPECT_TRUE(set.insert("ab", "c"));
  EXPECT_TRUE(set.insert("a", "bc"));
  EXPECT_TRUE(set.insert("", ""));
  EXPECT_FALSE(set.insert("", ""));
}

TEST(FingerprintSet, KeepsEveryKeyThroughGrowth) {
  FingerprintSet set;
  constexpr int kKeys = 300000;
  for (int i = 0; i < kKeys; ++i) ASSERT_TRUE(set.insert("email", "user" + std::to_string(i) + "@example.com")) << i;
  for (int i = 0; i < kKeys; ++i) ASSERT_FALSE(set.insert("email", "user" + std::to_string(i) + "@example.com")) << i;
  EXPECT_EQ(set.size(), static_cast<std::size_t>(kKeys));
}

}  // namespace
}  // namespace lms::imports

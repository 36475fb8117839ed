// UUIDv7 ids: shape, version/variant bits, embedded time and sort order.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.h"

namespace lms {
namespace {

void expect_uuid_v7(const std::string& id) {
  ASSERT_EQ(id.size(), 36u) << id;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      EXPECT_EQ(id[i], '-') << id;
    } else {
      EXPECT_NE(std::string("0123456789abcdef").find(id[i]), std::string::npos) << id << " at " << i;
    }
  }
  EXPECT_EQ(id[14], '7') << id;                                       // version nibble
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;  // RFC 4122 variant
}

TEST(Ids, NewIdIsUuidV7) {
  for (int i = 0; i < 100; ++i) expect_uuid_v7(new_id());
}

TEST(Ids, NewIdsAreUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 10'000; ++i) seen.insert(new_id());
  EXPECT_EQ(seen.size(), 10'000u);
}

TEST(Ids, TimestampIsTheFirst48Bits) {
  auto id = new_id_at(0x0123456789ab);
  expect_uuid_v7(id);
  EXPECT_EQ(id.substr(0, 13), "01234567-89ab");
  EXPECT_EQ(new_id_at(0).substr(0, 13), "00000000-0000");
}

TEST(Ids, NewIdEmbedsTheCurrentTime) {
  Millis before = now_ms();
  auto id = new_id();
  Millis after = now_ms();
  std::string hex = id.substr(0, 8) + id.substr(9, 4);
  auto ms = static_cast<Millis>(std::stoull(hex, nullptr, 16));
  EXPECT_GE(ms, before);
  EXPECT_LE(ms, after);
}

TEST(Ids, LaterIdsSortAfterEarlierOnes) {
  std::vector<std::string> ids;
  // Increasing times, including steps that carry across byte and nibble boundaries.
  for (Millis ms : {Millis{1}, Millis{15}, Millis{16}, Millis{255}, Millis{256}, Millis{65'535}, Millis{65'536},
                    Millis{1'700'000'000'000}, Millis{1'700'000'000'001}, Millis{1'700'000'000'255},
                    Millis{1'700'000'000'256}, Millis{4'102'444'800'000}})
    ids.push_back(new_id_at(ms));
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  for (std::size_t i = 1; i < ids.size(); ++i) EXPECT_LT(ids[i - 1], ids[i]) << i;
}

TEST(Ids, ManyConsecutiveMillisecondsSortInOrder) {
  Millis base = 1'700'000'000'000;
  std::string previous = new_id_at(base);
  for (Millis ms = base + 1; ms < base + 5000; ++ms) {
    auto id = new_id_at(ms);
    ASSERT_LT(previous, id) << ms;
    previous = id;
  }
}

// A lead's timeline is ordered by activity id: ids made one after the other for the same
// millisecond (one request's activities) must increase.
TEST(Ids, IdsOfOneMillisecondIncreaseInOrderOfMaking) {
  const Millis now = now_ms();
  std::string previous = new_id_at(now);
  for (int i = 0; i < 20'000; ++i) {
    auto id = new_id_at(now);
    ASSERT_LT(previous, id) << i;
    previous = id;
  }
}

TEST(Ids, IdsFromManyThreadsAreUniqueAndEachThreadsIncrease) {
  std::vector<std::vector<std::string>> made(4);
  std::vector<std::thread> threads;
  for (auto& out : made)
    threads.emplace_back([&out] {
      for (int i = 0; i < 5'000; ++i) out.push_back(new_id());
    });
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (const auto& out : made) {
    EXPECT_TRUE(std::is_sorted(out.begin(), out.end()));
    all.insert(out.begin(), out.end());
  }
  EXPECT_EQ(all.size(), 20'000u);
}

TEST(Ids, AFutureIdDoesNotMoveTheClock) {
  new_id_at(now_ms() + 86'400'000);
  Millis before = now_ms();
  auto id = new_id();
  std::string hex = id.substr(0, 8) + id.substr(9, 4);
  EXPECT_GE(static_cast<Millis>(std::stoull(hex, nullptr, 16)), before);
  EXPECT_LE(static_cast<Millis>(std::stoull(hex, nullptr, 16)), now_ms());
}

}  // namespace
}  // namespace lms

// Substring search of the SQLite lead store through each of its plans (rowid lookups, the
// RowSet walk, the in-order scan), with the bands shrunk so a few thousand rows reach all
// three. Every plan must return exactly the matching leads, in the requested order, once.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "app/app.h"
#include "common/ids.h"
#include "leads/seed.h"
#include "store/sqlite/sqlite_store.h"

namespace lms::store::sqlite {
namespace {

namespace fs = std::filesystem;
using app::block_on;
using leads::Lead;
using leads::SortKey;

constexpr int kLeads = 3000;

class SqliteSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lms-search-" + std::to_string(::getpid()) + "-" + new_id().substr(24));
    fs::create_directories(dir_);
    store_ = std::make_unique<SqliteStore>((dir_ / "lms.db").string(), 2,
                                           SearchTuning{.rowid_band = 50, .row_set_band = 1000, .sample_rows = 500});
    org_.id = new_id();
    org_.name = "Search";
    org_.default_country = "US";
    org_.created_at = now_ms();
    accounts::UserRecord admin;
    admin.user = accounts::User{new_id(), org_.id, "Admin", "admin@search.test", accounts::Role::admin, true, now_ms()};
    admin.password_hash = "x";
    ASSERT_TRUE(block_on(store_->accounts().create_organization(org_, admin)));
    agent_ = admin.user.id;

    leads::LeadGenerator generator(org_.id, {agent_}, agent_, now_ms(), kLeads);
    std::vector<Lead> leads;
    for (int i = 0; i < kLeads; ++i) {
      Lead l = generator.make(static_cast<std::uint64_t>(i));
      // Names carry the phrases at known frequencies, in mixed case: "alpha" 20 times (rowid
      // plan), "bravo" ~430 (RowSet plan), "charlie" 2,000 (scan plan).
      l.name = "Lead " + std::to_string(i);
      if (i % 150 == 0) l.name += " ALPHA";
      if (i % 7 == 0) l.name += " bRaVo";
      if (i % 3 != 2) l.name += " Charlie";
      // Creation order unrelated to insertion order, so the sort walk is really exercised.
      l.created_at = 1'700'000'000'000 + (static_cast<Millis>(i) * 7919 % kLeads) * 1000;
      l.updated_at = l.created_at + (i % 5) * 1000;  // ties broken by the row key
      l.status = i % 2 == 0 ? "new" : "contacted";
      leads.push_back(l);
    }
    all_ = leads;
    ASSERT_EQ(block_on(store_->leads().insert_leads(org_.id, leads, "created", "{}")), kLeads);
  }

  void TearDown() override {
    store_->close();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Walks every page of `filter` in `sort`, 37 at a time; returns the ids in page order.
  std::vector<std::string> walk(leads::LeadFilter filter, SortKey sort) {
    std::vector<std::string> ids;
    leads::LeadQuery query{filter, sort, 37, std::nullopt};
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = block_on(store_->leads().list_leads(org_.id, query));
      for (const auto& l : page.items) ids.push_back(l.id);
      if (!page.next) return ids;
      query.after = page.next;
    }
    ADD_FAILURE() << "pagination did not end";
    return ids;
  }

  // The ids of the leads whose name contains `needle` (case-insensitive, ASCII), in `sort`.
  std::vector<std::string> expected(const std::string& needle, SortKey sort, const char* status = nullptr) {
    std::vector<Lead> hits;
    for (const auto& l : all_) {
      std::string name = l.name;
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
      if (name.find(needle) != std::string::npos && (!status || l.status == status)) hits.push_back(l);
    }
    // Row keys follow insertion order, which is the order of all_.
    auto seq = [&](const Lead& l) {
      return std::find_if(all_.begin(), all_.end(), [&](const Lead& x) { return x.id == l.id; }) - all_.begin();
    };
    std::stable_sort(hits.begin(), hits.end(), [&](const Lead& a, const Lead& b) {
      switch (sort) {
        case SortKey::created_desc:
          return std::pair(a.created_at, seq(a)) > std::pair(b.created_at, seq(b));
        case SortKey::created_asc:
          return std::pair(a.created_at, seq(a)) < std::pair(b.created_at, seq(b));
        case SortKey::updated_desc:
          return std::pair(a.updated_at, seq(a)) > std::pair(b.updated_at, seq(b));
        case SortKey::updated_asc:
          return std::pair(a.updated_at, seq(a)) < std::pair(b.updated_at, seq(b));
        case SortKey::name_asc:
          return std::pair(a.name, seq(a)) < std::pair(b.name, seq(b));
      }
      return false;
    });
    std::vector<std::string> ids;
    for (const auto& l : hits) ids.push_back(l.id);
    return ids;
  }

  fs::path dir_;
  std::unique_ptr<SqliteStore> store_;
  accounts::Organization org_;
  std::string agent_;
  std::vector<Lead> all_;
};

TEST_F(SqliteSearchTest, EveryPlanReturnsExactlyTheMatchesInOrder) {
  const std::vector<SortKey> sorts = {SortKey::created_desc, SortKey::created_asc, SortKey::updated_desc,
                                      SortKey::updated_asc, SortKey::name_asc};
  for (const char* needle : {"alpha", "bravo", "charlie"}) {
    for (SortKey sort : sorts) {
      SCOPED_TRACE(std::string(needle) + " sorted by " + std::string(leads::sort_name(sort)));
      leads::LeadFilter filter;
      filter.q = needle;
      auto want = expected(needle, sort);
      ASSERT_FALSE(want.empty());
      EXPECT_EQ(walk(filter, sort), want);
    }
  }
}

TEST_F(SqliteSearchTest, PlansCombineWithOtherFilters) {
  for (const char* needle : {"alpha", "bravo", "charlie"}) {
    SCOPED_TRACE(needle);
    leads::LeadFilter filter;
    filter.q = std::string(needle);
    filter.status = "contacted";
    EXPECT_EQ(walk(filter, SortKey::created_desc), expected(needle, SortKey::created_desc, "contacted"));
    EXPECT_EQ(block_on(store_->leads().count_leads(org_.id, filter)),
              static_cast<std::int64_t>(expected(needle, SortKey::created_desc, "contacted").size()));
  }
}

TEST_F(SqliteSearchTest, AnotherOrganizationSeesNoneOfTheHits) {
  accounts::Organization other{new_id(), "Other", "US", now_ms()};
  accounts::UserRecord admin;
  admin.user = accounts::User{new_id(), other.id, "Other", "admin@other.test", accounts::Role::admin, true, now_ms()};
  admin.password_hash = "x";
  ASSERT_TRUE(block_on(store_->accounts().create_organization(other, admin)));
  for (const char* needle : {"alpha", "bravo", "charlie"}) {
    leads::LeadFilter filter;
    filter.q = std::string(needle);
    auto page = block_on(store_->leads().list_leads(other.id, leads::LeadQuery{filter, SortKey::created_desc, 50, {}}));
    EXPECT_TRUE(page.items.empty()) << needle;
  }
}

}  // namespace
}  // namespace lms::store::sqlite
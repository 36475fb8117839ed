// The storage suite's leads part, run unchanged on every engine (SQLite and PostgreSQL):
// duplicates and their races, tenancy, read-modify-write under concurrent patches, bulk
// atomicity, keyset walks of every sort while leads are added, filters and counts, search of
// hostile strings, exports and activity pages. Each test gets its own database.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/app.h"
#include "common/errors.h"
#include "common/ids.h"
#include "leads/seed.h"
#include "sqlite_test_support.h"
#include "store/sqlite/sqlite_store.h"
#include "support/test_databases.h"

namespace lms::store {
namespace {

namespace fs = std::filesystem;
using app::block_on;
using leads::Activity;
using leads::Lead;
using leads::LeadFilter;
using leads::LeadQuery;
using leads::SortKey;

constexpr Millis kT0 = 1'700'000'000'000;
const std::vector<SortKey> kSorts = {SortKey::created_desc, SortKey::created_asc, SortKey::updated_desc,
                                     SortKey::updated_asc, SortKey::name_asc};

// Runs every task at once on one io_context (the store sees them all in flight together) and
// returns their results in order.
template <class T>
std::vector<T> run_together(std::vector<Task<T>> tasks) {
  boost::asio::io_context ctx;
  std::vector<std::optional<T>> results(tasks.size());
  std::exception_ptr error;
  for (std::size_t i = 0; i < tasks.size(); ++i)
    boost::asio::co_spawn(ctx, std::move(tasks[i]), [&results, &error, i](std::exception_ptr e, T value) {
      if (e)
        error = e;
      else
        results[i] = std::move(value);
    });
  ctx.run();
  if (error) std::rethrow_exception(error);
  std::vector<T> out;
  for (auto& r : results) out.push_back(std::move(*r));
  return out;
}

// A mutation that sets the status (and says so in one activity).
LeadMutation set_status(std::string status, Millis at) {
  return [status, at](const Lead& current) -> std::optional<LeadChange> {
    if (current.status == status) return std::nullopt;
    LeadChange change{current, {}};
    change.next.status = status;
    change.next.updated_at = at;
    change.activities.push_back(Activity{new_id(), current.id, "status_changed", std::nullopt,
                                         "{\"to\":\"" + status + "\"}", at});
    return change;
  };
}

class LeadsSuite : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = sqlite::unique_temp_dir();
    db_ = std::make_unique<lms::testing::TestDatabase>(GetParam(), dir_);
    store_ = app::open_store(db_->url(), 2);
    auto acme = sqlite::create_org_with_admin(store_->accounts(), "Acme");
    auto globex = sqlite::create_org_with_admin(store_->accounts(), "Globex");
    org_ = acme.org.id;
    admin_ = acme.admin_id;
    other_org_ = globex.org.id;
  }
  void TearDown() override {
    if (store_) store_->close();
    store_.reset();
    db_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  LeadStore& leads() { return store_->leads(); }

  Lead make_lead(const std::string& name, std::optional<std::string> phone = std::nullopt,
                 std::optional<std::string> email = std::nullopt, const std::string& org = "") {
    Lead l;
    l.id = new_id();
    l.organization_id = org.empty() ? org_ : org;
    l.name = name;
    l.phone = std::move(phone);
    l.email = std::move(email);
    l.created_at = l.updated_at = kT0 + (++clock_) * 1000;
    l.created_by = admin_;
    return l;
  }

  static Activity created_activity(const Lead& l) {
    return Activity{new_id(), l.id, "created", l.created_by, "{}", l.created_at};
  }

  WriteResult insert(const Lead& l) { return block_on(leads().insert_lead(l, created_activity(l))); }

  Lead create(const std::string& name, std::optional<std::string> phone = std::nullopt,
              std::optional<std::string> email = std::nullopt) {
    Lead l = make_lead(name, std::move(phone), std::move(email));
    EXPECT_EQ(insert(l).outcome, WriteOutcome::ok) << name;
    return l;
  }

  std::optional<Lead> find(const std::string& id, const std::string& org = "") {
    return block_on(leads().find_lead(org.empty() ? org_ : org, id));
  }

  std::vector<Activity> all_activities(const std::string& lead_id, const std::string& org = "") {
    std::vector<Activity> out;
    std::optional<std::string> before;
    for (int pages = 0; pages < 100; ++pages) {
      auto page = block_on(leads().list_activities(org.empty() ? org_ : org, lead_id, 7, before));
      out.insert(out.end(), page.items.begin(), page.items.end());
      if (!page.next_before) break;
      before = page.next_before;
    }
    return out;
  }

  // Every page of `filter` in `sort`, `limit` at a time; `between` runs after each page.
  std::vector<Lead> walk(LeadFilter filter, SortKey sort, int limit = 17,
                         const std::function<void()>& between = nullptr) {
    std::vector<Lead> out;
    LeadQuery query{std::move(filter), sort, limit, std::nullopt};
    for (int pages = 0; pages < 10000; ++pages) {
      auto page = block_on(leads().list_leads(org_, query));
      out.insert(out.end(), page.items.begin(), page.items.end());
      if (!page.next) return out;
      query.after = page.next;
      if (between) between();
    }
    ADD_FAILURE() << "the walk did not end";
    return out;
  }

  static std::vector<std::string> ids_of(const std::vector<Lead>& leads) {
    std::vector<std::string> ids;
    for (const auto& l : leads) ids.push_back(l.id);
    return ids;
  }

  std::vector<std::string> search(const std::string& q) {
    LeadFilter f;
    f.q = q;
    auto ids = ids_of(walk(f, SortKey::name_asc));
    EXPECT_EQ(block_on(leads().count_leads(org_, f)), static_cast<std::int64_t>(ids.size())) << q;
    return ids;
  }

  // Searches read unindexed rows too; this brings SQLite's deferred search index up to date so
  // the indexed path is the one tested. Other engines defer nothing.
  void settle_search() {
    if (auto* sqlite = dynamic_cast<sqlite::SqliteStore*>(store_.get())) block_on(sqlite->settle());
  }

  fs::path dir_;
  std::unique_ptr<lms::testing::TestDatabase> db_;
  std::unique_ptr<Store> store_;
  std::string org_, admin_, other_org_;
  int clock_ = 0;
};

TEST_P(LeadsSuite, ALeadReadsBackExactlyAsWritten) {
  Lead l = make_lead("Zoë O'Brien", "+14155550100", "zoe@example.com");
  l.company = "Straße & Söhne";
  l.source = "web";
  l.status = "contacted";
  l.assigned_to = admin_;
  l.tags = {"vip", "a,b", "quo\"te", "back\\slash", "{braces}", "NULL", "two words", "ünï"};
  l.custom_json = R"({"b":1,"a":"x\"y","c":true})";
  auto written = insert(l);
  ASSERT_EQ(written.outcome, WriteOutcome::ok);
  ASSERT_TRUE(written.lead);
  EXPECT_EQ(written.lead->id, l.id);

  auto read = find(l.id);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->organization_id, org_);
  EXPECT_EQ(read->name, l.name);
  EXPECT_EQ(read->phone, l.phone);
  EXPECT_EQ(read->email, l.email);
  EXPECT_EQ(read->company, l.company);
  EXPECT_EQ(read->source, l.source);
  EXPECT_EQ(read->status, "contacted");
  EXPECT_EQ(read->assigned_to, admin_);
  EXPECT_EQ(read->tags, l.tags);  // in the order given
  EXPECT_EQ(read->custom_json, l.custom_json);
  EXPECT_EQ(read->version, 1);
  EXPECT_EQ(read->created_at, l.created_at);
  EXPECT_EQ(read->updated_at, l.updated_at);
  EXPECT_EQ(read->created_by, admin_);

  Lead bare = create("Bare");
  auto bare_read = find(bare.id);
  ASSERT_TRUE(bare_read);
  EXPECT_FALSE(bare_read->phone || bare_read->email || bare_read->company || bare_read->source ||
               bare_read->assigned_to);
  EXPECT_TRUE(bare_read->tags.empty());
  EXPECT_EQ(bare_read->custom_json, "{}");

  for (const auto& tag : l.tags) {
    LeadFilter f;
    f.tag = tag;
    EXPECT_EQ(ids_of(walk(f, SortKey::created_desc)), std::vector<std::string>{l.id}) << tag;
  }
}

TEST_P(LeadsSuite, IdsThatAreNoLeadsAreNotFound) {
  create("Somebody", "+14155550100");
  const std::vector<std::string> bogus = {"nope", "", "' OR '1'='1", std::string(300, 'x'), "\xff\xfe",
                                          std::string("a\0b", 3), "%", new_id()};
  for (const auto& id : bogus) {
    SCOPED_TRACE(id);
    EXPECT_FALSE(find(id));
    EXPECT_EQ(block_on(leads().update_lead(org_, id, set_status("lost", kT0))).outcome, WriteOutcome::not_found);
    Activity a{new_id(), id, "deleted", admin_, "{}", kT0};
    EXPECT_EQ(block_on(leads().delete_lead(org_, id, a)).outcome, WriteOutcome::not_found);
    EXPECT_TRUE(block_on(leads().list_activities(org_, id, 10, std::nullopt)).items.empty());
  }
  EXPECT_TRUE(block_on(leads().bulk_update(org_, bogus, set_status("lost", kT0))).empty());
  LeadFilter f;
  f.status = "\xff";
  EXPECT_EQ(block_on(leads().count_leads(org_, f)), 0);
  f = {};
  f.q = "\xc3";
  EXPECT_EQ(block_on(leads().count_leads(org_, f)), 0);
}

TEST_P(LeadsSuite, DuplicatesNameTheLeadThatHoldsThePhoneOrEmail) {
  Lead a = create("A", "+14155550100", "a@example.com");
  Lead b = create("B", "+14155550101", "b@example.com");

  auto by_phone = insert(make_lead("C", "+14155550100", "c@example.com"));
  EXPECT_EQ(by_phone.outcome, WriteOutcome::duplicate);
  EXPECT_EQ(by_phone.existing_id, a.id);
  auto by_email = insert(make_lead("C", "+14155550199", "b@example.com"));
  EXPECT_EQ(by_email.outcome, WriteOutcome::duplicate);
  EXPECT_EQ(by_email.existing_id, b.id);
  // Both taken by different leads: the phone's holder is named.
  auto both = insert(make_lead("C", "+14155550100", "b@example.com"));
  EXPECT_EQ(both.existing_id, a.id);
  EXPECT_EQ(block_on(leads().count_leads(org_, {})), 2);

  // Another organization may hold the same phone and email.
  auto elsewhere = make_lead("A elsewhere", "+14155550100", "a@example.com", other_org_);
  EXPECT_EQ(insert(elsewhere).outcome, WriteOutcome::ok);

  // A deleted lead's phone is free again.
  Activity gone{new_id(), a.id, "deleted", admin_, "{}", kT0};
  EXPECT_EQ(block_on(leads().delete_lead(org_, a.id, gone)).outcome, WriteOutcome::ok);
  EXPECT_EQ(insert(make_lead("A again", "+14155550100")).outcome, WriteOutcome::ok);
}

TEST_P(LeadsSuite, OfAHundredConcurrentCreatesOfOnePhoneExactlyOneWins) {
  constexpr int kCreates = 100;
  std::vector<Lead> attempts;
  std::vector<Task<WriteResult>> tasks;
  for (int i = 0; i < kCreates; ++i) {
    attempts.push_back(make_lead("Racer " + std::to_string(i), "+14155550100", "racer" + std::to_string(i) + "@x.test"));
    tasks.push_back(leads().insert_lead(attempts.back(), created_activity(attempts.back())));
  }
  auto results = run_together(std::move(tasks));
  std::string winner;
  int ok = 0;
  for (int i = 0; i < kCreates; ++i)
    if (results[i].outcome == WriteOutcome::ok) {
      ++ok;
      winner = attempts[i].id;
    }
  ASSERT_EQ(ok, 1);
  for (const auto& r : results)
    if (r.outcome != WriteOutcome::ok) {
      EXPECT_EQ(r.outcome, WriteOutcome::duplicate);
      EXPECT_EQ(r.existing_id, winner);
    }
  EXPECT_EQ(block_on(leads().count_leads(org_, {})), 1);
  EXPECT_EQ(all_activities(winner).size(), 1u);
}

TEST_P(LeadsSuite, AnotherOrganizationCanNeitherSeeNorChangeALead) {
  Lead l = create("Mine", "+14155550100");
  EXPECT_FALSE(find(l.id, other_org_));
  EXPECT_EQ(block_on(leads().update_lead(other_org_, l.id, set_status("lost", kT0))).outcome,
            WriteOutcome::not_found);
  Activity a{new_id(), l.id, "deleted", admin_, "{}", kT0};
  EXPECT_EQ(block_on(leads().delete_lead(other_org_, l.id, a)).outcome, WriteOutcome::not_found);
  std::vector<std::string> ids{l.id};
  EXPECT_TRUE(block_on(leads().bulk_update(other_org_, ids, set_status("lost", kT0))).empty());
  EXPECT_TRUE(block_on(leads().list_activities(other_org_, l.id, 10, std::nullopt)).items.empty());
  EXPECT_EQ(block_on(leads().count_leads(other_org_, {})), 0);
  EXPECT_TRUE(block_on(leads().list_leads(other_org_, LeadQuery{})).items.empty());

  auto still = find(l.id);
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, "new");
  EXPECT_EQ(still->version, 1);
  EXPECT_EQ(all_activities(l.id).size(), 1u);
}

TEST_P(LeadsSuite, AnUpdateStoresTheMutationsResultWithItsActivities) {
  Lead l = create("Before", "+14155550100");
  auto changed = block_on(leads().update_lead(org_, l.id, [&](const Lead& current) {
    LeadChange change{current, {}};
    change.next.name = "After";
    change.next.tags = {"x", "y"};
    change.next.version = 99;      // not the mutation's to choose
    change.next.created_at = 1;    // nor this
    change.next.updated_at = kT0 + 500'000;
    change.activities.push_back(Activity{new_id(), l.id, "updated", admin_, "{\"n\":1}", kT0 + 500'000});
    change.activities.push_back(Activity{new_id(), l.id, "assigned", admin_, "{\"n\":2}", kT0 + 500'000});
    return std::optional<LeadChange>(change);
  }));
  ASSERT_EQ(changed.outcome, WriteOutcome::ok);
  EXPECT_TRUE(changed.changed);
  ASSERT_TRUE(changed.lead);
  EXPECT_EQ(changed.lead->version, 2);
  auto read = find(l.id);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->name, "After");
  EXPECT_EQ(read->tags, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(read->version, 2);
  EXPECT_EQ(read->created_at, l.created_at);
  EXPECT_EQ(read->updated_at, kT0 + 500'000);
  auto timeline = all_activities(l.id);
  ASSERT_EQ(timeline.size(), 3u);  // newest first
  EXPECT_EQ(timeline[0].data_json, "{\"n\":2}");
  EXPECT_EQ(timeline[1].data_json, "{\"n\":1}");
  EXPECT_EQ(timeline[2].type, "created");

  // No change: nothing written.
  auto same = block_on(leads().update_lead(org_, l.id, [](const Lead&) { return std::optional<LeadChange>(); }));
  EXPECT_EQ(same.outcome, WriteOutcome::ok);
  EXPECT_FALSE(same.changed);
  ASSERT_TRUE(same.lead);
  EXPECT_EQ(same.lead->version, 2);

  // A mutation that throws writes nothing and its error reaches the caller.
  EXPECT_THROW(block_on(leads().update_lead(org_, l.id,
                                            [](const Lead&) -> std::optional<LeadChange> {
                                              throw ApiError(412, "precondition_failed", "stale");
                                            })),
               ApiError);
  EXPECT_EQ(find(l.id)->version, 2);
  EXPECT_EQ(all_activities(l.id).size(), 3u);
}

TEST_P(LeadsSuite, AnUpdateToATakenPhoneOrEmailIsADuplicate) {
  Lead a = create("A", "+14155550100", "a@example.com");
  Lead b = create("B", "+14155550101", "b@example.com");
  auto take = [&](std::optional<std::string> phone, std::optional<std::string> email) {
    return block_on(leads().update_lead(org_, b.id, [=](const Lead& current) {
      LeadChange change{current, {Activity{new_id(), current.id, "updated", std::nullopt, "{}", kT0}}};
      change.next.phone = phone;
      change.next.email = email;
      return std::optional<LeadChange>(change);
    }));
  };
  auto phone = take(a.phone, b.email);
  EXPECT_EQ(phone.outcome, WriteOutcome::duplicate);
  EXPECT_EQ(phone.existing_id, a.id);
  auto email = take(b.phone, a.email);
  EXPECT_EQ(email.outcome, WriteOutcome::duplicate);
  EXPECT_EQ(email.existing_id, a.id);
  auto unchanged = find(b.id);
  ASSERT_TRUE(unchanged);
  EXPECT_EQ(unchanged->phone, b.phone);
  EXPECT_EQ(unchanged->version, 1);
  EXPECT_EQ(all_activities(b.id).size(), 1u);
  // A free phone is taken fine afterwards.
  auto fresh = take(std::string("+14155550102"), std::nullopt);
  EXPECT_EQ(fresh.outcome, WriteOutcome::ok);
  EXPECT_EQ(find(b.id)->phone, "+14155550102");
  EXPECT_FALSE(find(b.id)->email);
  EXPECT_EQ(insert(make_lead("C", "+14155550101", "b@example.com")).outcome, WriteOutcome::ok);
}

TEST_P(LeadsSuite, ConcurrentPatchesLoseNoUpdate) {
  constexpr int kPatches = 40;
  Lead l = create("Counter");
  auto increment = [](const Lead& current) {
    // custom holds {"n":<count>}
    int n = std::stoi(current.custom_json.substr(5));
    LeadChange change{current, {Activity{new_id(), current.id, "updated", std::nullopt, "{}", kT0}}};
    change.next.custom_json = "{\"n\":" + std::to_string(n + 1) + "}";
    return std::optional<LeadChange>(change);
  };
  block_on(leads().update_lead(org_, l.id, [](const Lead& current) {
    LeadChange change{current, {}};
    change.next.custom_json = "{\"n\":0}";
    return std::optional<LeadChange>(change);
  }));
  std::vector<Task<WriteResult>> tasks;
  for (int i = 0; i < kPatches; ++i) tasks.push_back(leads().update_lead(org_, l.id, increment));
  std::set<std::int64_t> versions;
  for (const auto& r : run_together(std::move(tasks))) {
    ASSERT_EQ(r.outcome, WriteOutcome::ok);
    versions.insert(r.lead->version);
  }
  EXPECT_EQ(versions.size(), static_cast<std::size_t>(kPatches));  // each saw its predecessor
  auto read = find(l.id);
  EXPECT_EQ(read->custom_json, "{\"n\":" + std::to_string(kPatches) + "}");
  EXPECT_EQ(read->version, 2 + kPatches);
  EXPECT_EQ(all_activities(l.id).size(), static_cast<std::size_t>(1 + kPatches));
}

TEST_P(LeadsSuite, ABulkUpdateIsAllOrNothing) {
  std::vector<Lead> mine;
  for (int i = 0; i < 5; ++i) mine.push_back(create("Bulk " + std::to_string(i)));
  Lead foreign = make_lead("Foreign", std::nullopt, std::nullopt, other_org_);
  ASSERT_EQ(insert(foreign).outcome, WriteOutcome::ok);

  auto contacted = set_status("contacted", kT0 + 1);
  auto fails_on_third = [&](const Lead& current) -> std::optional<LeadChange> {
    if (current.id == mine[2].id) throw ApiError::validation("status", "refused");
    return contacted(current);
  };
  auto ids = ids_of(mine);
  EXPECT_THROW(block_on(leads().bulk_update(org_, ids, fails_on_third)), ApiError);
  for (const auto& l : mine) {
    auto read = find(l.id);
    EXPECT_EQ(read->status, "new");
    EXPECT_EQ(read->version, 1);
    EXPECT_EQ(all_activities(l.id).size(), 1u);
  }

  // In the order given; unknown ids, other organizations' and unchanged leads are skipped.
  block_on(leads().update_lead(org_, mine[1].id, contacted));
  std::vector<std::string> asked{mine[4].id, "nope", foreign.id, mine[0].id, mine[1].id, mine[3].id};
  auto changed = block_on(leads().bulk_update(org_, asked, contacted));
  EXPECT_EQ(ids_of(changed), (std::vector<std::string>{mine[4].id, mine[0].id, mine[3].id}));
  for (const auto& l : changed) {
    EXPECT_EQ(l.status, "contacted");
    EXPECT_EQ(l.version, 2);
    EXPECT_EQ(find(l.id)->status, "contacted");
    EXPECT_EQ(all_activities(l.id).size(), 2u);
  }
  EXPECT_EQ(find(mine[2].id)->status, "new");
  EXPECT_EQ(find(foreign.id, other_org_)->status, "new");
}

TEST_P(LeadsSuite, KeysetWalksOfEverySortSeeEveryLeadOnceWhileLeadsAreAdded) {
  // Few distinct sort keys, so ties (broken by insertion order) are everywhere.
  std::vector<Lead> batch;
  const std::vector<std::string> names = {"b", "B", "a", "é", "a b", "Z", "_", "%"};
  for (int i = 0; i < 240; ++i) {
    Lead l = make_lead(names[i % names.size()]);
    l.created_at = kT0 + (i % 13) * 1000;
    l.updated_at = kT0 + (i % 7) * 1000;
    batch.push_back(l);
  }
  ASSERT_EQ(block_on(leads().insert_leads(org_, batch, "created", "{}")), 240);
  std::map<std::string, std::size_t> inserted_at;  // insertion order breaks ties
  for (std::size_t i = 0; i < batch.size(); ++i) inserted_at[batch[i].id] = i;

  for (SortKey sort : kSorts) {
    SCOPED_TRACE(std::string(leads::sort_name(sort)));
    auto key_less = [&](const Lead& a, const Lead& b) {
      switch (sort) {
        case SortKey::created_desc: return std::pair(a.created_at, inserted_at[a.id]) > std::pair(b.created_at, inserted_at[b.id]);
        case SortKey::created_asc: return std::pair(a.created_at, inserted_at[a.id]) < std::pair(b.created_at, inserted_at[b.id]);
        case SortKey::updated_desc: return std::pair(a.updated_at, inserted_at[a.id]) > std::pair(b.updated_at, inserted_at[b.id]);
        case SortKey::updated_asc: return std::pair(a.updated_at, inserted_at[a.id]) < std::pair(b.updated_at, inserted_at[b.id]);
        case SortKey::name_asc: return std::pair(a.name, inserted_at[a.id]) < std::pair(b.name, inserted_at[b.id]);
      }
      return false;
    };
    auto want = batch;
    std::sort(want.begin(), want.end(), key_less);

    int added = 0;
    auto add_some = [&] {
      // New leads land before, among and after the pages already read.
      for (int k = 0; k < 3; ++k) {
        Lead l = make_lead(names[(added + k) % names.size()]);
        l.created_at = kT0 + ((added * 5 + k) % 15 - 1) * 1000;
        l.updated_at = kT0 + ((added * 3 + k) % 9 - 1) * 1000;
        ASSERT_EQ(insert(l).outcome, WriteOutcome::ok);
      }
      ++added;
    };
    std::vector<std::string> seen;
    for (const auto& l : walk({}, sort, 17, add_some))
      if (inserted_at.count(l.id)) seen.push_back(l.id);
    EXPECT_GT(added, 10);
    EXPECT_EQ(seen, ids_of(want));
  }
}

TEST_P(LeadsSuite, FiltersSelectAndCountTheSameLeads) {
  std::vector<Lead> batch;
  for (int i = 0; i < 60; ++i) {
    Lead l = make_lead("Lead " + std::to_string(i));
    l.status = i % 3 == 0 ? "new" : i % 3 == 1 ? "contacted" : "lost";
    if (i % 2 == 0) l.assigned_to = admin_;
    l.source = i % 4 == 0 ? "web" : "fair";
    if (i % 5 == 0) l.tags = {"hot", "2024"};
    if (i % 5 == 1) l.tags = {"cold"};
    l.created_at = kT0 + i * 1000;
    batch.push_back(l);
  }
  ASSERT_EQ(block_on(leads().insert_leads(org_, batch, "created", "{}")), 60);
  auto check = [&](const LeadFilter& f, const std::function<bool(const Lead&)>& pick, const char* what) {
    SCOPED_TRACE(what);
    std::vector<std::string> want;
    for (auto it = batch.rbegin(); it != batch.rend(); ++it)
      if (pick(*it)) want.push_back(it->id);
    EXPECT_EQ(ids_of(walk(f, SortKey::created_desc, 7)), want);
    EXPECT_EQ(block_on(leads().count_leads(org_, f)), static_cast<std::int64_t>(want.size()));
  };
  LeadFilter f;
  check(f, [](const Lead&) { return true; }, "none");
  f.status = "contacted";
  check(f, [](const Lead& l) { return l.status == "contacted"; }, "status");
  f = {};
  f.assigned_to = admin_;
  check(f, [&](const Lead& l) { return l.assigned_to == admin_; }, "assignee");
  f = {};
  f.assigned_to = "-";
  check(f, [](const Lead&) { return false; }, "unknown assignee");
  f = {};
  f.unassigned = true;
  check(f, [](const Lead& l) { return !l.assigned_to; }, "unassigned");
  f = {};
  f.source = "web";
  check(f, [](const Lead& l) { return l.source == "web"; }, "source");
  f = {};
  f.tag = "hot";
  check(f, [](const Lead& l) { return !l.tags.empty() && l.tags[0] == "hot"; }, "tag");
  f.tag = "ho";
  check(f, [](const Lead&) { return false; }, "tag prefix");
  f = {};
  f.created_from = kT0 + 10'000;
  f.created_to = kT0 + 20'000;
  check(f, [](const Lead& l) { return l.created_at >= kT0 + 10'000 && l.created_at < kT0 + 20'000; }, "range");
  f = {};
  f.status = "new";
  f.assigned_to = admin_;
  f.source = "web";
  f.tag = "hot";
  f.q = "lead";
  check(f, [&](const Lead& l) { return l.status == "new" && l.assigned_to && l.source == "web" && !l.tags.empty() && l.tags[0] == "hot"; },
        "all at once");
  f.q = "Lead 4";
  check(f, [](const Lead& l) { return l.name.starts_with("Lead 4") && l.status == "new" && l.source == "web" &&
                                      !l.tags.empty() && l.tags[0] == "hot" && l.assigned_to; },
        "search with the rest");
}

TEST_P(LeadsSuite, SearchTakesHostileStringsLiterally) {
  Lead pct = create("100% Pure", "+14155550100", "pure@example.com");
  Lead under = create("snake_case Ltd");
  Lead slash = create("back\\slash");
  Lead quote = create("O'Brien \"Bob\"");
  Lead upper = make_lead("ÄBC Ünited");
  upper.company = "Große Straße";
  ASSERT_EQ(insert(upper).outcome, WriteOutcome::ok);
  Lead plain = create("Plain Jane", "+442079460000", "jane.doe@example.org");
  settle_search();

  EXPECT_EQ(search("%"), std::vector<std::string>{pct.id});
  EXPECT_EQ(search("0% p"), std::vector<std::string>{pct.id});
  EXPECT_EQ(search("_"), std::vector<std::string>{under.id});
  EXPECT_EQ(search("e_c"), std::vector<std::string>{under.id});
  EXPECT_EQ(search("\\"), std::vector<std::string>{slash.id});
  EXPECT_EQ(search("k\\s"), std::vector<std::string>{slash.id});
  EXPECT_EQ(search("'"), std::vector<std::string>{quote.id});
  EXPECT_EQ(search("o'b"), std::vector<std::string>{quote.id});
  EXPECT_EQ(search("\"Bob\""), std::vector<std::string>{quote.id});
  EXPECT_TRUE(search("%%").empty());
  EXPECT_TRUE(search("__x").empty());
  EXPECT_TRUE(search(std::string(200, 'a')).empty());
  EXPECT_TRUE(search("\"; DROP TABLE leads; --").empty());
  // Case folds beyond ASCII.
  EXPECT_EQ(search("äbc"), std::vector<std::string>{upper.id});
  EXPECT_EQ(search("ÄBC"), std::vector<std::string>{upper.id});
  EXPECT_EQ(search("ünited"), std::vector<std::string>{upper.id});
  EXPECT_EQ(search("große"), std::vector<std::string>{upper.id});
  // Email (stored lower-case) and company, whatever the query's case.
  EXPECT_EQ(search("JANE.DOE@EXAMPLE"), std::vector<std::string>{plain.id});
  EXPECT_EQ(search("pure@"), std::vector<std::string>{pct.id});
  // A phone-like query searches the digits of numbers.
  EXPECT_EQ(search("(415) 555-01"), std::vector<std::string>{pct.id});
  EXPECT_EQ(search("+44 20 7946"), std::vector<std::string>{plain.id});
  EXPECT_EQ(search("2079460000"), std::vector<std::string>{plain.id});
  EXPECT_TRUE(search("+1 999").empty());
  // Other organizations' leads are never hits.
  ASSERT_EQ(insert(make_lead("100% Other", std::nullopt, std::nullopt, other_org_)).outcome, WriteOutcome::ok);
  settle_search();
  EXPECT_EQ(search("100%"), std::vector<std::string>{pct.id});
}

TEST_P(LeadsSuite, AnExportHasEveryLeadOnceInOrderPageByPage) {
  constexpr int kLeads = 11'000;
  leads::LeadGenerator generator(org_, {admin_}, admin_, kT0, kLeads);
  std::vector<Lead> batch;
  for (int i = 0; i < kLeads; ++i) batch.push_back(generator.make(static_cast<std::uint64_t>(i)));
  batch[7].tags = {"a,b", "q\"t", "b\\s"};
  ASSERT_EQ(block_on(leads().insert_leads(org_, batch, "created", "{}")), kLeads);

  auto render = [](std::string& out, const leads::LeadView& v) {
    out.append(v.id).append("|").append(v.name).append("|");
    for (const auto& t : v.tags) out.append(t).append(";");
    out.append("|").append(std::to_string(v.created_at)).append("\n");
  };
  int chunks = 0;
  auto export_lines = [&](LeadFilter f, SortKey sort, const std::function<void()>& between) {
    auto cursor = leads().export_leads(org_, std::move(f), sort, render);
    std::vector<std::string> lines;
    chunks = 0;
    for (;;) {
      auto chunk = block_on(cursor->next());
      if (chunk.empty()) break;
      ++chunks;
      auto rows = std::count(chunk.begin(), chunk.end(), '\n');
      EXPECT_LE(rows, 5000);  // a page at a time, not the whole result
      for (std::size_t at = 0; at < chunk.size();) {
        auto end = chunk.find('\n', at);
        lines.push_back(chunk.substr(at, end - at));
        at = end + 1;
      }
      if (between) between();
    }
    return lines;
  };

  std::vector<std::size_t> by_created(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) by_created[i] = i;
  std::sort(by_created.begin(), by_created.end(), [&](std::size_t a, std::size_t b) {
    return std::pair(batch[a].created_at, a) > std::pair(batch[b].created_at, b);  // ties: newest row first
  });
  std::vector<std::string> want;
  for (std::size_t i : by_created) {
    const Lead& l = batch[i];
    std::string tags;
    for (const auto& t : l.tags) tags += t + ";";
    want.push_back(l.id + "|" + l.name + "|" + tags + "|" + std::to_string(l.created_at));
  }
  // Leads added between pages may appear or not; every other one appears once, in order.
  std::set<std::string> batch_ids;
  for (const auto& l : batch) batch_ids.insert(l.id);
  std::size_t added = 0;
  auto lines = export_lines({}, SortKey::created_desc, [&] {
    // Ahead of the cursor and behind it.
    for (std::size_t at : {std::size_t{100}, batch.size() - 100}) {
      Lead l = make_lead("Added meanwhile " + std::to_string(added++));
      l.created_at = batch[at].created_at;
      EXPECT_EQ(insert(l).outcome, WriteOutcome::ok);
    }
  });
  EXPECT_GT(chunks, kLeads / 5000);
  EXPECT_GT(added, 0u);
  std::vector<std::string> kept;
  for (const auto& line : lines)
    if (batch_ids.count(line.substr(0, line.find('|')))) kept.push_back(line);
  EXPECT_EQ(kept, want);

  LeadFilter f;
  f.tag = "a,b";
  EXPECT_EQ(export_lines(f, SortKey::name_asc, nullptr).size(), 1u);
  f = {};
  f.status = "\xff";
  auto none = leads().export_leads(org_, f, SortKey::name_asc, render);
  EXPECT_TRUE(block_on(none->next()).empty());
}

TEST_P(LeadsSuite, ActivitiesComeNewestFirstPageByPage) {
  Lead l = create("Noted");
  for (int i = 0; i < 20; ++i)
    block_on(leads().insert_activity(org_, Activity{new_id(), l.id, "note", admin_,
                                                    "{\"i\":" + std::to_string(i) + "}", kT0 + i}));
  std::vector<std::string> data;
  std::optional<std::string> before;
  int pages = 0;
  for (;; ++pages) {
    auto page = block_on(leads().list_activities(org_, l.id, 6, before));
    EXPECT_LE(page.items.size(), 6u);
    for (const auto& a : page.items) data.push_back(a.data_json);
    if (!page.next_before) break;
    EXPECT_EQ(page.items.size(), 6u);
    before = page.next_before;
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(data.size(), 21u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(data[static_cast<std::size_t>(i)], "{\"i\":" + std::to_string(19 - i) + "}");
  EXPECT_EQ(data.back(), "{}");  // the created activity
  auto exact = block_on(leads().list_activities(org_, l.id, 21, std::nullopt));
  EXPECT_EQ(exact.items.size(), 21u);
  EXPECT_FALSE(exact.next_before);

  EXPECT_THROW(block_on(leads().insert_activity(new_id(), Activity{new_id(), l.id, "note", admin_, "{}", kT0})),
               std::logic_error);
}

TEST_P(LeadsSuite, DeletingALeadRecordsItsActivity) {
  Lead l = create("Doomed", "+14155550100");
  Activity gone{new_id(), l.id, "deleted", admin_, "{}", kT0 + 9};
  auto deleted = block_on(leads().delete_lead(org_, l.id, gone));
  EXPECT_EQ(deleted.outcome, WriteOutcome::ok);
  EXPECT_TRUE(deleted.changed);
  EXPECT_FALSE(find(l.id));
  EXPECT_EQ(block_on(leads().delete_lead(org_, l.id, gone)).outcome, WriteOutcome::not_found);
  auto timeline = all_activities(l.id);
  ASSERT_EQ(timeline.size(), 2u);
  EXPECT_EQ(timeline[0].type, "deleted");
  EXPECT_EQ(block_on(leads().count_leads(org_, {})), 0);
}

TEST_P(LeadsSuite, ASeedSkipsDuplicatesAndRecordsEachInsertedLead) {
  Lead existing = create("Existing", "+14155550100");
  std::vector<Lead> batch;
  batch.push_back(make_lead("One", "+14155550101"));
  batch.push_back(make_lead("Clash with existing", "+14155550100"));
  batch.push_back(make_lead("Two", std::nullopt, "two@example.com"));
  batch.push_back(make_lead("Clash within the batch", "+14155550109", "two@example.com"));
  batch.push_back(make_lead("Three"));
  batch[4].tags = {"t1", "t,2"};
  batch[4].custom_json = R"({"k":"v"})";
  EXPECT_EQ(block_on(leads().insert_leads(org_, batch, "imported", "{\"seed\":true}")), 3);
  EXPECT_EQ(block_on(leads().count_leads(org_, {})), 4);
  EXPECT_FALSE(find(batch[1].id));
  EXPECT_FALSE(find(batch[3].id));
  auto three = find(batch[4].id);
  ASSERT_TRUE(three);
  EXPECT_EQ(three->tags, batch[4].tags);
  EXPECT_EQ(three->custom_json, batch[4].custom_json);
  auto timeline = all_activities(batch[0].id);
  ASSERT_EQ(timeline.size(), 1u);
  EXPECT_EQ(timeline[0].type, "imported");
  EXPECT_EQ(timeline[0].data_json, "{\"seed\":true}");
  EXPECT_EQ(timeline[0].actor_id, admin_);
  EXPECT_EQ(timeline[0].created_at, batch[0].created_at);
  EXPECT_TRUE(all_activities(batch[1].id).empty());
  EXPECT_EQ(all_activities(existing.id).size(), 1u);
  EXPECT_EQ(block_on(leads().insert_leads(org_, {}, "created", "{}")), 0);
  EXPECT_THROW(block_on(leads().insert_leads(new_id(), batch, "created", "{}")), std::logic_error);
}

INSTANTIATE_TEST_SUITE_P(Engines, LeadsSuite, ::testing::ValuesIn(lms::testing::test_engines()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace lms::store

// The ImportStore contract on every engine (SQLite, PostgreSQL), with the same expectations:
// batch counts and error rows, duplicates within a batch and against existing leads,
// dedupe=update fills, round-robin turns, dry runs, the checkpoint and resuming after a
// reopen, revert, and tenancy. Rows are built directly (no CSV), so each case states exactly
// what the store is given.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>

#include "sqlite_test_support.h"
#include "support/test_databases.h"

namespace lms::store {
namespace {

using imports::Dedupe;
using imports::ImportBatch;
using imports::ImportBatchResult;
using imports::ImportJob;
using imports::ImportRow;
using leads::Lead;
using sqlite::OrgWithAdmin;
using sqlite::ScopedTempDir;

struct LeadSpec {
  std::string name;
  std::optional<std::string> phone, email, company, source;
  std::vector<std::string> tags;
  bool source_from_file = false;
};

class StoreImports : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<testing::TestDatabase>(GetParam(), dir_.path);
    open();
    org_ = sqlite::create_org_with_admin(store_->accounts(), "Acme");
  }
  void TearDown() override {
    if (store_) store_->close();
    store_.reset();
    db_.reset();
  }

  void open() { store_ = app::open_store(db_->url(), 2); }
  void reopen() {
    store_->close();
    store_.reset();
    open();
  }
  ImportStore& imports() { return store_->imports(); }

  ImportJob job(Dedupe dedupe = Dedupe::skip, bool dry_run = false, const std::string& assign = "none",
                const std::string& org_id = "", const std::string& created_by = "") {
    ImportJob j;
    j.id = new_id();
    j.organization_id = org_id.empty() ? org_.org.id : org_id;
    j.created_by = created_by.empty() ? org_.admin_id : created_by;
    j.file_name = "leads.csv";
    j.spool_path = (dir_.path / (j.id + ".csv")).string();
    j.header_csv = "name,phone,email";
    j.dedupe = dedupe;
    j.assign = assign;
    j.dry_run = dry_run;
    j.created_at = now_ms() + created_tick_++;
    app::block_on(imports().create_job(j));
    app::block_on(imports().start_job(j.organization_id, j.id, 100, j.created_at));
    return j;
  }

  ImportRow row(std::int64_t number, const LeadSpec& spec) {
    ImportRow r;
    r.row = number;
    r.cells_csv = spec.name + "," + spec.phone.value_or("") + "," + spec.email.value_or("");
    Lead& l = r.lead;
    l.id = new_id();
    l.organization_id = org_.org.id;
    l.name = spec.name;
    l.phone = spec.phone;
    l.email = spec.email;
    l.company = spec.company;
    l.source = spec.source ? spec.source : std::optional<std::string>("import");
    l.tags = spec.tags;
    l.created_at = l.updated_at = now_ms();
    l.created_by = org_.admin_id;
    r.source_from_file = spec.source_from_file;
    return r;
  }
  static ImportRow invalid(std::int64_t number, const std::string& cells, const std::string& reason) {
    ImportRow r;
    r.row = number;
    r.cells_csv = cells;
    r.error = reason;
    return r;
  }

  // The batch that follows the job's checkpoint: rows, then the offset after them.
  ImportBatchResult apply(const ImportJob& j, std::vector<ImportRow> rows, std::vector<std::string> agents = {},
                          std::string lease_owner = "") {
    auto current = *app::block_on(imports().find_job(j.organization_id, j.id));
    ImportBatch b;
    b.job_id = j.id;
    b.organization_id = j.organization_id;
    b.actor_id = j.created_by;
    b.dedupe = j.dedupe;
    b.dry_run = j.dry_run;
    b.round_robin = std::move(agents);
    b.lease_owner = std::move(lease_owner);
    b.rr_position = current.rr_position;
    b.next_row = rows.empty() ? current.next_row : rows.back().row + 1;
    b.next_offset = current.next_offset + 100 * static_cast<std::int64_t>(rows.size());
    b.rows = std::move(rows);
    return app::block_on(imports().apply_batch(std::move(b)));
  }

  // A job that is claimable (its upload stored).
  ImportJob open_job(Dedupe dedupe = Dedupe::skip, const std::string& org_id = "") {
    auto j = job(dedupe, false, "none", org_id);
    app::block_on(imports().open_job(j.organization_id, j.id));
    return j;
  }
  std::optional<imports::ClaimedJob> claim(const std::string& owner, Millis ttl = 60'000) {
    return app::block_on(imports().claim_job(owner, ttl));
  }
  bool renew(const ImportJob& j, const std::string& owner, Millis ttl = 60'000) {
    return app::block_on(imports().renew_lease(j.organization_id, j.id, owner, ttl));
  }

  ImportJob reread(const ImportJob& j) { return *app::block_on(imports().find_job(j.organization_id, j.id)); }
  std::optional<Lead> lead(const std::string& id) { return app::block_on(store_->leads().find_lead(org_.org.id, id)); }
  std::vector<imports::ImportError> errors(const ImportJob& j) {
    return app::block_on(imports().errors(j.organization_id, j.id, 0, 1000));
  }
  std::string agent(const std::string& name) {
    accounts::UserRecord r;
    r.user = accounts::User{new_id(), org_.org.id, name, name + "-" + new_id() + "@test.lms", accounts::Role::agent,
                            true, now_ms()};
    r.password_hash = "x";
    EXPECT_TRUE(app::block_on(store_->accounts().insert_user(r)));
    return r.user.id;
  }
  // A change since the import: the name, as an API update would make it.
  void touch(const std::string& id) {
    auto result = app::block_on(store_->leads().update_lead(org_.org.id, id, [](const Lead& current) {
      LeadChange change{current, {}};
      change.next.name = current.name + " (edited)";
      change.next.updated_at = current.updated_at + 1;
      return std::optional<LeadChange>(change);
    }));
    ASSERT_EQ(result.outcome, WriteOutcome::ok);
  }

  ScopedTempDir dir_;
  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<Store> store_;
  OrgWithAdmin org_;
  Millis created_tick_ = 0;
};

void expect_counts(const imports::ImportCounts& n, std::int64_t inserted, std::int64_t updated,
                   std::int64_t duplicates, std::int64_t invalid) {
  EXPECT_EQ(n.inserted, inserted);
  EXPECT_EQ(n.updated, updated);
  EXPECT_EQ(n.duplicates, duplicates);
  EXPECT_EQ(n.invalid, invalid);
}

TEST_P(StoreImports, BatchCountsErrorRowsAndCheckpoint) {
  auto j = job();
  std::vector<ImportRow> rows;
  rows.push_back(row(2, {"Ann", "+14155550101", "ann@example.com"}));
  rows.push_back(invalid(3, "x,,", "name: required"));
  rows.push_back(row(4, {"Bob", "+14155550102", std::nullopt}));
  rows.push_back(row(5, {"Ann again", "+14155550199", "ann@example.com"}));  // email of row 2
  rows.push_back(row(6, {"Cid", std::nullopt, "cid@example.com"}));
  rows.push_back(row(7, {"Bob again", "+14155550102", "bob@example.com"}));  // phone of row 4
  const std::string ann = rows[0].lead.id, again = rows[3].lead.id;
  auto result = apply(j, std::move(rows));
  expect_counts(result.counts, 3, 0, 2, 1);
  ASSERT_EQ(result.by_assignee.size(), 1u);
  EXPECT_EQ(result.by_assignee[0].first, "");
  EXPECT_EQ(result.by_assignee[0].second.inserted, 3);

  auto errs = errors(j);
  ASSERT_EQ(errs.size(), 3u);
  EXPECT_EQ(errs[0].row, 3);
  EXPECT_EQ(errs[0].reason, "name: required");
  EXPECT_EQ(errs[0].cells_csv, "x,,");
  EXPECT_EQ(errs[1].row, 5);
  EXPECT_EQ(errs[1].reason, "duplicate of an earlier row of this file");
  EXPECT_EQ(errs[1].cells_csv, "Ann again,+14155550199,ann@example.com");
  EXPECT_EQ(errs[2].row, 7);
  EXPECT_EQ(app::block_on(imports().errors(j.organization_id, j.id, 5, 10)).size(), 1u);
  EXPECT_EQ(app::block_on(imports().errors(j.organization_id, j.id, 0, 1)).size(), 1u);

  auto stored = reread(j);
  EXPECT_EQ(stored.processed_rows, 6);
  expect_counts(stored.counts, 3, 0, 2, 1);
  EXPECT_EQ(stored.next_offset, 600);
  EXPECT_EQ(stored.next_row, 8);
  EXPECT_EQ(stored.rr_position, 0);
  EXPECT_EQ(stored.state, "running");
  EXPECT_EQ(stored.total_rows, 100);

  auto inserted = lead(ann);
  ASSERT_TRUE(inserted);
  EXPECT_EQ(inserted->phone, "+14155550101");
  EXPECT_EQ(inserted->version, 1);
  EXPECT_FALSE(lead(again));
  auto activities = app::block_on(store_->leads().list_activities(org_.org.id, ann, 10, std::nullopt));
  ASSERT_EQ(activities.items.size(), 1u);
  EXPECT_EQ(activities.items[0].type, "imported");
  EXPECT_EQ(activities.items[0].actor_id, org_.admin_id);
  EXPECT_EQ(activities.items[0].data_json, "{\"importId\":\"" + j.id + "\"}");
  // The job's one entry, shown on the lead's timeline with the lead's id and creation time; it
  // stays the oldest entry, and timeline pages reach it.
  EXPECT_EQ(activities.items[0].id, ann);
  EXPECT_EQ(activities.items[0].created_at, inserted->created_at);
  leads::Activity note{new_id(), ann, "note", org_.admin_id, "{\"body\":\"called\"}", now_ms()};
  app::block_on(store_->leads().insert_activity(org_.org.id, note));
  auto first = app::block_on(store_->leads().list_activities(org_.org.id, ann, 1, std::nullopt));
  ASSERT_EQ(first.items.size(), 1u);
  EXPECT_EQ(first.items[0].id, note.id);
  ASSERT_TRUE(first.next_before);
  auto second = app::block_on(store_->leads().list_activities(org_.org.id, ann, 1, first.next_before));
  ASSERT_EQ(second.items.size(), 1u);
  EXPECT_EQ(second.items[0].type, "imported");
  EXPECT_FALSE(second.next_before);
  // Under another organization's id the timeline is empty.
  EXPECT_TRUE(app::block_on(store_->leads().list_activities(new_id(), ann, 10, std::nullopt)).items.empty());

  // A second batch: rows of the first are earlier rows of this file too; counts add up.
  std::vector<ImportRow> more;
  more.push_back(row(8, {"Ann thrice", std::nullopt, "ann@example.com"}));
  more.push_back(row(9, {"Dee", "+14155550104", std::nullopt}));
  result = apply(j, std::move(more));
  expect_counts(result.counts, 1, 0, 1, 0);
  stored = reread(j);
  EXPECT_EQ(stored.processed_rows, 8);
  expect_counts(stored.counts, 4, 0, 3, 1);
  EXPECT_EQ(stored.next_offset, 800);
  EXPECT_EQ(stored.next_row, 10);
  EXPECT_EQ(errors(j).back().reason, "duplicate of an earlier row of this file");
}

TEST_P(StoreImports, DuplicatesOfExistingLeadsNameThem) {
  auto first = job();
  std::vector<ImportRow> seed;
  seed.push_back(row(2, {"Xena", "+14155550201", "xena@example.com"}));
  seed.push_back(row(3, {"Yuri", "+14155550202", "yuri@example.com"}));
  const std::string xena = seed[0].lead.id, yuri = seed[1].lead.id;
  apply(first, std::move(seed));

  auto second = job();
  std::vector<ImportRow> rows;
  rows.push_back(row(2, {"By phone", "+14155550201", "new@example.com"}));
  rows.push_back(row(3, {"By email", "+14155550299", "yuri@example.com"}));
  rows.push_back(row(4, {"Phone wins", "+14155550202", "xena@example.com"}));  // Yuri's phone, Xena's email
  rows.push_back(row(5, {"New", "+14155550203", std::nullopt}));
  auto result = apply(second, std::move(rows));
  expect_counts(result.counts, 1, 0, 3, 0);
  auto errs = errors(second);
  ASSERT_EQ(errs.size(), 3u);
  EXPECT_EQ(errs[0].reason, "duplicate of lead " + xena);
  EXPECT_EQ(errs[1].reason, "duplicate of lead " + yuri);
  EXPECT_EQ(errs[2].reason, "duplicate of lead " + yuri);
  EXPECT_EQ(lead(xena)->name, "Xena");
}

TEST_P(StoreImports, DedupeUpdateFillsOnlyEmptyFields) {
  auto first = job();
  std::vector<ImportRow> seed;
  seed.push_back(row(2, {"Xena", "+14155550301", std::nullopt, "Old Co", std::nullopt}));
  seed.push_back(row(3, {"Yuri", std::nullopt, "yuri@example.com"}));
  seed.push_back(row(4, {"Zed", "+14155550303", std::nullopt}));
  seed[1].lead.source.reset();
  seed[2].lead.tags = {"vip"};
  const std::string xena = seed[0].lead.id, yuri = seed[1].lead.id, zed = seed[2].lead.id;
  apply(first, std::move(seed));

  auto update = job(Dedupe::update);
  std::vector<ImportRow> rows;
  // Xena: company is taken, source is the job's default (not a cell): email and tags fill.
  rows.push_back(row(2, {"X", "+14155550301", "xena@example.com", "New Co", std::nullopt, {"a", "b"}}));
  // Xena again, now by the email row 2 filled: nothing left to fill.
  rows.push_back(row(3, {"X2", std::nullopt, "xena@example.com", "Other Co", std::nullopt, {"c"}}));
  // Yuri: phone, company and a source from the file.
  rows.push_back(row(4, {"Y", "+14155550302", "yuri@example.com", "Yuri Co", std::string("fair"), {}, true}));
  // Zed: the email would be Yuri's, so nothing fills (tags are taken anyway).
  rows.push_back(row(5, {"Z", "+14155550303", "yuri@example.com", "Zed Co", std::nullopt, {"x"}}));
  auto result = apply(update, std::move(rows));
  expect_counts(result.counts, 0, 2, 2, 0);
  ASSERT_EQ(result.by_assignee.size(), 1u);
  EXPECT_EQ(result.by_assignee[0].second.updated, 2);

  auto x = lead(xena);
  EXPECT_EQ(x->email, "xena@example.com");
  EXPECT_EQ(x->company, "Old Co");
  EXPECT_EQ(x->tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(x->source, "import");
  EXPECT_EQ(x->name, "Xena");
  EXPECT_EQ(x->version, 2);
  auto y = lead(yuri);
  EXPECT_EQ(y->phone, "+14155550302");
  EXPECT_EQ(y->company, "Yuri Co");
  EXPECT_EQ(y->source, "fair");
  EXPECT_EQ(y->version, 2);
  auto z = lead(zed);
  EXPECT_FALSE(z->email);
  EXPECT_EQ(z->version, 1);

  auto errs = errors(update);
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_EQ(errs[0].row, 3);
  EXPECT_EQ(errs[0].reason, "duplicate of lead " + xena);
  EXPECT_EQ(errs[1].reason, "duplicate of lead " + zed);

  auto activities = app::block_on(store_->leads().list_activities(org_.org.id, xena, 10, std::nullopt));
  ASSERT_EQ(activities.items.size(), 2u);  // newest first
  EXPECT_EQ(activities.items[0].type, "updated");
  EXPECT_EQ(activities.items[0].data_json,
            "{\"importId\":\"" + update.id + "\",\"fields\":[\"email\",\"tags\"]}");
  EXPECT_EQ(activities.items[1].type, "imported");
}

TEST_P(StoreImports, RoundRobinTurnsGoToInsertedRowsOnly) {
  std::vector<std::string> agents{agent("a"), agent("b"), agent("c")};
  std::sort(agents.begin(), agents.end());
  auto first = job();
  std::vector<ImportRow> seed;
  seed.push_back(row(2, {"Existing", "+14155550400", std::nullopt}));
  apply(first, std::move(seed));

  auto j = job(Dedupe::skip, false, "round_robin");
  std::vector<ImportRow> rows;
  rows.push_back(row(2, {"R1", "+14155550401", std::nullopt}));
  rows.push_back(invalid(3, "bad", "phone: invalid"));
  rows.push_back(row(4, {"R2", "+14155550400", std::nullopt}));  // duplicate of the existing lead
  rows.push_back(row(5, {"R3", "+14155550403", std::nullopt}));
  rows.push_back(row(6, {"R1 again", "+14155550401", std::nullopt}));  // earlier row
  rows.push_back(row(7, {"R4", "+14155550404", std::nullopt}));
  rows.push_back(row(8, {"R5", "+14155550405", std::nullopt}));
  std::vector<std::string> ids;
  for (const auto& r : rows) ids.push_back(r.lead.id);
  auto result = apply(j, std::move(rows), agents);
  expect_counts(result.counts, 4, 0, 2, 1);
  EXPECT_EQ(result.rr_position, 4);
  EXPECT_EQ(lead(ids[0])->assigned_to, agents[0]);
  EXPECT_EQ(lead(ids[3])->assigned_to, agents[1]);
  EXPECT_EQ(lead(ids[5])->assigned_to, agents[2]);
  EXPECT_EQ(lead(ids[6])->assigned_to, agents[0]);
  ASSERT_EQ(result.by_assignee.size(), 3u);
  for (const auto& [assignee, n] : result.by_assignee) EXPECT_EQ(n.inserted, assignee == agents[0] ? 2 : 1);
  EXPECT_EQ(reread(j).rr_position, 4);

  std::vector<ImportRow> next;
  next.push_back(row(9, {"R6", "+14155550406", std::nullopt}));
  next.push_back(row(10, {"R7", "+14155550407", std::nullopt}));
  const std::string r6 = next[0].lead.id, r7 = next[1].lead.id;
  result = apply(j, std::move(next), agents);
  EXPECT_EQ(result.rr_position, 6);
  EXPECT_EQ(lead(r6)->assigned_to, agents[1]);
  EXPECT_EQ(lead(r7)->assigned_to, agents[2]);
}

TEST_P(StoreImports, DryRunCountsWithoutWritingLeads) {
  auto first = job();
  std::vector<ImportRow> seed;
  seed.push_back(row(2, {"Xena", "+14155550501", std::nullopt}));
  const std::string xena = seed[0].lead.id;
  apply(first, std::move(seed));

  auto dry = job(Dedupe::update, true, "round_robin");
  std::vector<ImportRow> rows;
  rows.push_back(row(2, {"New", "+14155550502", std::nullopt}));
  rows.push_back(row(3, {"Fills Xena", "+14155550501", "xena@example.com"}));
  rows.push_back(row(4, {"Again", "+14155550501", "other@example.com"}));  // would fill the same email
  auto earlier = row(5, {"Earlier", "+14155550502", std::nullopt});
  earlier.earlier_duplicate = true;
  rows.push_back(earlier);
  rows.push_back(invalid(6, "x", "email: invalid"));
  rows.push_back(row(7, {"Nothing to fill", "+14155550501", std::nullopt}));
  const std::string fresh = rows[0].lead.id;
  auto result = apply(dry, std::move(rows), {agent("a")});
  expect_counts(result.counts, 1, 2, 2, 1);
  EXPECT_EQ(result.rr_position, 0);
  EXPECT_FALSE(lead(fresh));
  auto x = lead(xena);
  EXPECT_FALSE(x->email);
  EXPECT_EQ(x->version, 1);
  auto errs = errors(dry);
  ASSERT_EQ(errs.size(), 3u);
  EXPECT_EQ(errs[0].reason, "duplicate of an earlier row of this file");
  EXPECT_EQ(errs[1].row, 6);
  EXPECT_EQ(errs[2].reason, "duplicate of lead " + xena);
  auto stored = reread(dry);
  EXPECT_EQ(stored.processed_rows, 6);
  expect_counts(stored.counts, 1, 2, 2, 1);

  app::block_on(imports().reset_job(dry.organization_id, dry.id, ""));
  stored = reread(dry);
  EXPECT_EQ(stored.processed_rows, 0);
  expect_counts(stored.counts, 0, 0, 0, 0);
  EXPECT_EQ(stored.next_offset, 0);
  EXPECT_EQ(stored.next_row, 2);
  EXPECT_TRUE(errors(dry).empty());
}

TEST_P(StoreImports, ReopenedStoreResumesFromTheCheckpoint) {
  auto done = job();
  app::block_on(imports().finish_job(done.organization_id, done.id, "completed", std::nullopt, now_ms(), ""));
  auto j = job(Dedupe::skip, false, "round_robin");
  std::vector<std::string> agents{agent("a"), agent("b")};
  std::vector<ImportRow> rows;
  rows.push_back(row(2, {"A", "+14155550601", std::nullopt}));
  rows.push_back(row(3, {"B", "+14155550602", std::nullopt}));
  rows.push_back(row(4, {"C", "+14155550603", std::nullopt}));
  apply(j, std::move(rows), agents);
  reopen();

  auto unfinished = app::block_on(imports().unfinished_jobs());
  ASSERT_EQ(unfinished.size(), 1u);
  const auto& resumed = unfinished[0];
  EXPECT_EQ(resumed.id, j.id);
  EXPECT_EQ(resumed.state, "running");
  EXPECT_EQ(resumed.processed_rows, 3);
  EXPECT_EQ(resumed.next_offset, 300);
  EXPECT_EQ(resumed.next_row, 5);
  EXPECT_EQ(resumed.rr_position, 3);
  EXPECT_EQ(resumed.assign, "round_robin");
  EXPECT_EQ(resumed.header_csv, "name,phone,email");
  expect_counts(resumed.counts, 3, 0, 0, 0);

  app::block_on(imports().finish_job(j.organization_id, j.id, "failed", std::string("disk full"), now_ms(), ""));
  EXPECT_TRUE(app::block_on(imports().unfinished_jobs()).empty());
  auto failed = reread(j);
  EXPECT_EQ(failed.state, "failed");
  EXPECT_EQ(failed.error, "disk full");
  EXPECT_TRUE(failed.finished_at);
  EXPECT_TRUE(failed.started_at);
}

TEST_P(StoreImports, RevertDeletesUnchangedLeadsAndEmptiesUnchangedFills) {
  auto seed_job = job();
  std::vector<ImportRow> seed;
  seed.push_back(row(2, {"Xena", "+14155550701", std::nullopt}));
  seed.push_back(row(3, {"Yuri", "+14155550702", std::nullopt}));
  const std::string xena = seed[0].lead.id, yuri = seed[1].lead.id;
  apply(seed_job, std::move(seed));

  auto j = job(Dedupe::update);
  std::vector<ImportRow> rows;
  rows.push_back(row(2, {"A", "+14155550711", std::nullopt}));
  rows.push_back(row(3, {"B", "+14155550712", std::nullopt}));
  rows.push_back(row(4, {"C", "+14155550713", std::nullopt}));
  rows.push_back(row(5, {"Xena", "+14155550701", "xena@example.com", std::nullopt, std::nullopt, {"t"}}));
  rows.push_back(row(6, {"Yuri", "+14155550702", "yuri@example.com"}));
  const std::string a = rows[0].lead.id, b = rows[1].lead.id, c = rows[2].lead.id;
  expect_counts(apply(j, std::move(rows)).counts, 3, 2, 0, 0);
  app::block_on(imports().finish_job(j.organization_id, j.id, "completed", std::nullopt, now_ms(), ""));
  touch(b);     // changed since: kept
  touch(yuri);  // changed since its fill: keeps its email

  auto result = app::block_on(imports().revert(org_.org.id, j.id, org_.admin_id, now_ms()));
  EXPECT_EQ(result.reverted, 2);
  EXPECT_EQ(result.kept, 2);
  EXPECT_EQ(result.restored, 1);
  EXPECT_FALSE(lead(a));
  EXPECT_FALSE(lead(c));
  EXPECT_TRUE(lead(b));
  auto x = lead(xena);
  EXPECT_FALSE(x->email);
  EXPECT_TRUE(x->tags.empty());
  EXPECT_EQ(x->phone, "+14155550701");
  EXPECT_EQ(x->version, 3);
  EXPECT_EQ(lead(yuri)->email, "yuri@example.com");
  auto activities = app::block_on(store_->leads().list_activities(org_.org.id, xena, 10, std::nullopt));
  ASSERT_FALSE(activities.items.empty());
  EXPECT_EQ(activities.items[0].type, "updated");
  EXPECT_EQ(activities.items[0].data_json, "{\"importId\":\"" + j.id + "\",\"fields\":[\"email\",\"tags\"]}");

  auto stored = reread(j);
  EXPECT_EQ(stored.state, "reverted");
  EXPECT_EQ(stored.reverted, 2);
  EXPECT_EQ(stored.kept, 2);
  // The leads the revert freed may be imported again.
  auto again = job();
  std::vector<ImportRow> back;
  back.push_back(row(2, {"A", "+14155550711", std::nullopt}));
  expect_counts(apply(again, std::move(back)).counts, 1, 0, 0, 0);
}

TEST_P(StoreImports, JobsAreScopedToTheirOrganization) {
  auto other = sqlite::create_org_with_admin(store_->accounts(), "Other");
  auto mine = job();
  auto theirs = job(Dedupe::skip, false, "none", other.org.id, other.admin_id);
  auto agent_id = agent("agent");
  auto agents_job = job(Dedupe::update, true, "none", "", agent_id);

  EXPECT_FALSE(app::block_on(imports().find_job(other.org.id, mine.id)));
  EXPECT_FALSE(app::block_on(imports().find_job(org_.org.id, theirs.id)));
  auto found = app::block_on(imports().find_job(org_.org.id, agents_job.id));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->dedupe, Dedupe::update);
  EXPECT_TRUE(found->dry_run);
  EXPECT_EQ(found->file_name, "leads.csv");

  auto listed = app::block_on(imports().list_jobs(org_.org.id, std::nullopt, 10));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, agents_job.id);  // newest first
  EXPECT_EQ(listed[1].id, mine.id);
  auto own = app::block_on(imports().list_jobs(org_.org.id, agent_id, 10));
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0].id, agents_job.id);
  EXPECT_EQ(app::block_on(imports().list_jobs(org_.org.id, std::nullopt, 1)).size(), 1u);
  EXPECT_EQ(app::block_on(imports().list_jobs(other.org.id, std::nullopt, 10)).size(), 1u);
}

// The job calls address a job with its organization: through another one, they change and
// read nothing.
TEST_P(StoreImports, JobCallsThroughAnotherOrganizationChangeAndReadNothing) {
  auto other = sqlite::create_org_with_admin(store_->accounts(), "Other");
  auto j = job();
  std::vector<ImportRow> rows;
  rows.push_back(row(2, {"Good", "+14155550801", std::nullopt}));
  rows.push_back(invalid(3, "x,,", "name: required"));
  apply(j, std::move(rows));
  ASSERT_EQ(errors(j).size(), 1u);

  app::block_on(imports().start_job(other.org.id, j.id, 999, now_ms()));
  app::block_on(imports().reset_job(other.org.id, j.id, ""));
  app::block_on(imports().finish_job(other.org.id, j.id, "failed", std::string("not yours"), now_ms(), ""));
  EXPECT_TRUE(app::block_on(imports().errors(other.org.id, j.id, 0, 100)).empty());

  auto kept = reread(j);
  EXPECT_EQ(kept.state, "running");
  EXPECT_EQ(kept.total_rows, 100);
  EXPECT_FALSE(kept.error);
  EXPECT_EQ(kept.processed_rows, 2);
  EXPECT_EQ(errors(j).size(), 1u);
}

// PostgreSQL keeps a job's file in the database (any instance may resume the job); SQLite's
// database is a local file and its spool beside it is the only copy, so it keeps nothing.
TEST_P(StoreImports, UploadPartsAreKeptWhereTheEngineKeepsThem) {
  auto j = job();
  std::string binary("a,b\r\n\0\x01\xff\\x\n", 11);
  std::string big(3u << 20, 'z');
  const bool kept = app::block_on(imports().keep_upload_part(j.organization_id, j.id, 0, binary));
  if (GetParam() == "sqlite") {
    EXPECT_FALSE(kept);
    EXPECT_FALSE(app::block_on(imports().upload_part(j.organization_id, j.id, 0)));
    return;
  }
  ASSERT_TRUE(kept);
  ASSERT_TRUE(app::block_on(imports().keep_upload_part(j.organization_id, j.id, 1, big)));
  EXPECT_EQ(app::block_on(imports().upload_part(j.organization_id, j.id, 0)), binary);
  EXPECT_EQ(app::block_on(imports().upload_part(j.organization_id, j.id, 1)), big);
  EXPECT_FALSE(app::block_on(imports().upload_part(j.organization_id, j.id, 2)));

  auto other = sqlite::create_org_with_admin(store_->accounts(), "Other");
  EXPECT_FALSE(app::block_on(imports().upload_part(other.org.id, j.id, 0)));
  EXPECT_FALSE(app::block_on(imports().keep_upload_part(other.org.id, j.id, 5, binary)));

  app::block_on(imports().finish_job(j.organization_id, j.id, "completed", std::nullopt, now_ms(), ""));
  EXPECT_FALSE(app::block_on(imports().upload_part(j.organization_id, j.id, 0)));
}

TEST_P(StoreImports, CellsAndValuesSurviveTabsNewlinesAndBackslashes) {
  auto j = job();
  std::vector<ImportRow> rows;
  auto odd = row(2, {"Tab\there \\ back\\slash\nnew line\r", "+14155550801", std::nullopt, "Co \"quoted\", {x}",
                     std::nullopt, {"a,b", "q\"uote", "back\\slash", "{brace}", "NULL", ""}});
  const std::string id = odd.lead.id;
  odd.lead.custom_json = "{\"note\":\"line\\nbreak\\\\ and \\t tab\"}";
  rows.push_back(odd);
  rows.push_back(invalid(3, "\"a\tb\",\"c\\d\",\"e\nf\"", "reason with\ttab and \\N"));
  apply(j, std::move(rows));
  auto stored = lead(id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->name, "Tab\there \\ back\\slash\nnew line\r");
  EXPECT_EQ(stored->company, "Co \"quoted\", {x}");
  EXPECT_EQ(stored->tags, (std::vector<std::string>{"a,b", "q\"uote", "back\\slash", "{brace}", "NULL", ""}));
  EXPECT_EQ(stored->custom_json, "{\"note\":\"line\\nbreak\\\\ and \\t tab\"}");
  auto errs = errors(j);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].cells_csv, "\"a\tb\",\"c\\d\",\"e\nf\"");
  EXPECT_EQ(errs[0].reason, "reason with\ttab and \\N");
}

// API creates of the batch's phones while it is written: every phone ends with one lead, the
// row's or the API's, and the counts and error rows say which.
TEST_P(StoreImports, ConcurrentCreatesOfTheSamePhonesLeaveOneLeadEach) {
  auto j = job();
  auto phone = [](int i) { return "+1415555" + std::to_string(1000 + i); };
  std::vector<ImportRow> rows;
  for (int i = 0; i < 2000; ++i) rows.push_back(row(2 + i, {"Row " + std::to_string(i), phone(i), std::nullopt}));
  std::vector<std::string> row_ids;
  for (const auto& r : rows) row_ids.push_back(r.lead.id);
  std::map<int, WriteResult> api;
  std::thread creates([&] {
    for (int i = 0; i < 2000; i += 20) {
      Lead l;
      l.id = new_id();
      l.organization_id = org_.org.id;
      l.name = "API " + std::to_string(i);
      l.phone = phone(i);
      l.created_at = l.updated_at = now_ms();
      leads::Activity a{new_id(), l.id, "created", org_.admin_id, "{}", l.created_at};
      api[i] = app::block_on(store_->leads().insert_lead(l, a));
    }
  });
  std::optional<ImportBatchResult> applied;
  std::exception_ptr failure;
  try {
    applied = apply(j, std::move(rows));
  } catch (...) {
    failure = std::current_exception();
  }
  creates.join();
  if (failure) std::rethrow_exception(failure);
  const ImportBatchResult& result = *applied;

  std::map<std::int64_t, std::string> reasons;
  for (const auto& e : errors(j)) reasons[e.row] = e.reason;
  std::int64_t imported = 0;
  for (int i = 0; i < 2000; ++i) {
    bool mine = lead(row_ids[i]).has_value();
    imported += mine;
    auto it = api.find(i);
    if (it == api.end()) {
      EXPECT_TRUE(mine) << i;
      continue;
    }
    const WriteResult& theirs = it->second;
    if (mine) {
      EXPECT_EQ(theirs.outcome, WriteOutcome::duplicate) << i;
      EXPECT_EQ(theirs.existing_id, row_ids[i]) << i;
    } else {
      EXPECT_EQ(theirs.outcome, WriteOutcome::ok) << i;
      EXPECT_EQ(reasons[2 + i], "duplicate of lead " + theirs.lead->id) << i;
    }
  }
  EXPECT_EQ(result.counts.inserted, imported);
  EXPECT_EQ(result.counts.duplicates, 2000 - imported);
}

// Not a contract test: the speed of a 5,000-row batch on each engine, printed.
TEST_P(StoreImports, FiveThousandRowBatchThroughput) {
  auto j = job();
  auto make = [&](int base) {
    std::vector<ImportRow> rows;
    for (int i = 0; i < 5000; ++i) {
      auto n = std::to_string(base + i);
      rows.push_back(row(2 + i, {"Lead " + n, "+1415" + std::string(7 - n.size(), '0') + n, "lead" + n + "@example.com",
                                 std::string("Company ") + n, std::nullopt, {"t" + std::to_string(i % 7)}}));
    }
    return rows;
  };
  auto time = [&](std::vector<ImportRow> rows) {
    auto started = std::chrono::steady_clock::now();
    auto result = apply(j, std::move(rows));
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return std::make_pair(result, seconds);
  };
  auto [inserted, insert_s] = time(make(0));
  EXPECT_EQ(inserted.counts.inserted, 5000);
  auto [second, second_s] = time(make(5000));
  EXPECT_EQ(second.counts.inserted, 5000);
  auto again = job();
  j = again;
  auto [dups, dup_s] = time(make(0));
  EXPECT_EQ(dups.counts.duplicates, 5000);
  std::printf("[ %s ] 5,000-row batch: insert %.0f rows/s (then %.0f rows/s), all duplicates %.0f rows/s\n",
              GetParam().c_str(), 5000 / insert_s, 5000 / second_s, 5000 / dup_s);
}

// ---- leases: which instance runs a job ----

TEST_P(StoreImports, AClaimTakesAnOpenJobWithALeaseThatOthersCannotClaim) {
  auto j = job();
  EXPECT_FALSE(claim("A")) << "a job whose upload is not stored yet is not claimable";
  app::block_on(imports().open_job(j.organization_id, j.id));
  auto claimed = claim("A");
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->job.id, j.id);
  EXPECT_EQ(claimed->previous_owner, "");
  EXPECT_EQ(claimed->job.lease_owner, "A");
  ASSERT_TRUE(claimed->job.lease_expires);
  EXPECT_EQ(claimed->job.processed_rows, 0);
  EXPECT_EQ(reread(j).lease_owner, "A");
  EXPECT_FALSE(claim("B")) << "a live lease is not claimable";
  EXPECT_FALSE(claim("A")) << "not even by its owner";
}

TEST_P(StoreImports, OnlyTheOwnerRenewsItsLiveLease) {
  auto j = open_job();
  ASSERT_TRUE(claim("A", 1'000));
  const Millis first = *reread(j).lease_expires;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(renew(j, "A", 60'000));
  EXPECT_GE(*reread(j).lease_expires, first + 50'000);
  EXPECT_FALSE(renew(j, "B"));
  EXPECT_EQ(reread(j).lease_owner, "A");
  auto other = sqlite::create_org_with_admin(store_->accounts(), "Other");
  EXPECT_FALSE(app::block_on(imports().renew_lease(other.org.id, j.id, "A", 60'000))) << "tenancy";
}

TEST_P(StoreImports, AnExpiredLeaseIsNeverRenewedAndAnotherOwnerTakesTheJobOver) {
  auto j = open_job();
  ASSERT_TRUE(claim("A", 100));
  EXPECT_FALSE(claim("B"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(renew(j, "A")) << "an expired lease must not come back";
  auto taken = claim("B");
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->job.id, j.id);
  EXPECT_EQ(taken->previous_owner, "A");
  EXPECT_EQ(reread(j).lease_owner, "B");
  EXPECT_FALSE(renew(j, "A"));
  EXPECT_TRUE(renew(j, "B"));
}

TEST_P(StoreImports, AReleasedLeaseIsClaimableAtOnce) {
  auto j = open_job();
  ASSERT_TRUE(claim("A"));
  app::block_on(imports().release_lease(j.organization_id, j.id, "B"));  // not B's to release
  EXPECT_FALSE(claim("B"));
  app::block_on(imports().release_lease(j.organization_id, j.id, "A"));
  EXPECT_EQ(reread(j).lease_owner, "");
  auto again = claim("B");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->previous_owner, "") << "a release is no takeover";
}

TEST_P(StoreImports, ABatchFencedOutByALostLeaseWritesNothing) {
  auto j = open_job();
  ASSERT_TRUE(claim("A", 150));
  std::vector<ImportRow> first;
  first.push_back(row(2, {"A1", "+14155550801", std::nullopt}));
  first.push_back(invalid(3, "x,y", "bad row"));
  auto ok = apply(j, std::move(first), {}, "A");
  EXPECT_FALSE(ok.lease_lost);
  expect_counts(ok.counts, 1, 0, 0, 1);
  std::vector<ImportRow> unowned;
  unowned.push_back(row(4, {"Z", "+14155550899", std::nullopt}));
  EXPECT_TRUE(apply(j, std::move(unowned)).lease_lost) << "a batch without the owner while someone holds the lease";

  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  ASSERT_TRUE(claim("B"));  // A's runner stalled past its lease
  std::vector<ImportRow> late;
  late.push_back(row(4, {"A2", "+14155550802", std::nullopt}));
  late.push_back(invalid(5, "p,q", "bad too"));
  const std::string late_id = late[0].lead.id;
  auto refused = apply(j, std::move(late), {}, "A");
  EXPECT_TRUE(refused.lease_lost);
  auto stored = reread(j);
  EXPECT_EQ(stored.processed_rows, 2);
  EXPECT_EQ(stored.next_row, 4);
  expect_counts(stored.counts, 1, 0, 0, 1);
  EXPECT_FALSE(lead(late_id)) << "the refused batch's lead was written";
  EXPECT_EQ(errors(j).size(), 1u) << "the refused batch's error row was written";
  EXPECT_FALSE(app::block_on(imports().finish_job(j.organization_id, j.id, "failed", std::string("stale"), now_ms(), "A")));
  app::block_on(imports().reset_job(j.organization_id, j.id, "A"));
  EXPECT_EQ(reread(j).state, "running");
  EXPECT_EQ(reread(j).processed_rows, 2) << "a stale reset went through the fence";

  // The new owner continues from the last committed checkpoint, row 4.
  std::vector<ImportRow> again;
  again.push_back(row(4, {"A2", "+14155550802", std::nullopt}));
  again.push_back(invalid(5, "p,q", "bad too"));
  auto resumed = apply(j, std::move(again), {}, "B");
  EXPECT_FALSE(resumed.lease_lost);
  expect_counts(resumed.counts, 1, 0, 0, 1);
  EXPECT_TRUE(app::block_on(imports().finish_job(j.organization_id, j.id, "completed", std::nullopt, now_ms(), "B")));
  stored = reread(j);
  EXPECT_EQ(stored.state, "completed");
  EXPECT_EQ(stored.processed_rows, 4);
  EXPECT_EQ(stored.lease_owner, "") << "a finished job holds no lease";
  expect_counts(stored.counts, 2, 0, 0, 2);
  app::block_on(imports().start_job(j.organization_id, j.id, 100, now_ms()));
  EXPECT_EQ(reread(j).state, "completed") << "a late start_job brought a finished job back";
  EXPECT_FALSE(claim("C"));
}

TEST_P(StoreImports, OneJobPerOrganizationHoldsALiveLease) {
  auto first = open_job();
  auto second = open_job();
  auto other_org = sqlite::create_org_with_admin(store_->accounts(), "Other");
  auto elsewhere = open_job(Dedupe::skip, other_org.org.id);

  auto a = claim("A");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->job.id, first.id) << "the oldest job first";
  auto b = claim("B");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->job.id, elsewhere.id) << "the organization's second job waits while its first holds a lease";
  EXPECT_FALSE(claim("C"));

  // Released, not finished: the first is claimable again, and still comes before the second.
  app::block_on(imports().release_lease(first.organization_id, first.id, "A"));
  auto c = claim("C");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->job.id, first.id);
  EXPECT_FALSE(claim("D"));
  ASSERT_TRUE(app::block_on(imports().finish_job(first.organization_id, first.id, "completed", std::nullopt, now_ms(), "C")));
  auto d = claim("D");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->job.id, second.id);
  EXPECT_FALSE(claim("E"));

  // An expired lease no longer holds its organization: the job itself is claimable again.
  auto third_org = sqlite::create_org_with_admin(store_->accounts(), "Third");
  auto x = open_job(Dedupe::skip, third_org.org.id);
  auto y = open_job(Dedupe::skip, third_org.org.id);
  auto held = claim("E", 100);
  ASSERT_TRUE(held);
  EXPECT_EQ(held->job.id, x.id);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto over = claim("F");
  ASSERT_TRUE(over);
  EXPECT_EQ(over->job.id, x.id);
  EXPECT_EQ(over->previous_owner, "E");
  EXPECT_FALSE(claim("G")) << y.id << " ran beside its organization's live lease";
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreImports, ::testing::ValuesIn(lms::testing::test_engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace lms::store

// The storage suite's accounts part, run unchanged on every engine (SQLite and PostgreSQL):
// organizations, users, tenancy, refresh-token rotation with reuse detection (also when many
// rotate the same token at once), and revoked sessions. Each test gets its own database.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "app/app.h"
#include "auth/tokens.h"
#include "common/ids.h"
#include "sqlite_test_support.h"
#include "store/postgres/postgres_store.h"
#include "support/test_databases.h"

namespace lms::store {
namespace {

namespace fs = std::filesystem;
using accounts::Organization;
using accounts::Role;
using accounts::User;
using accounts::UserPatch;
using accounts::UserRecord;
using app::block_on;

constexpr Millis kHour = 3'600'000;

class AccountsSuite : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = sqlite::unique_temp_dir();
    db_ = std::make_unique<lms::testing::TestDatabase>(GetParam(), dir_);
    store_ = app::open_store(db_->url(), 2);
  }
  void TearDown() override {
    if (store_) store_->close();
    store_.reset();
    db_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  AccountStore& accounts() { return store_->accounts(); }

  static Organization make_org(const std::string& name) {
    Organization org;
    org.id = new_id();
    org.name = name;
    org.default_country = "DE";
    org.created_at = now_ms();
    return org;
  }

  static UserRecord make_user(const std::string& org_id, const std::string& email, Role role = Role::agent) {
    UserRecord r;
    r.user.id = new_id();
    r.user.organization_id = org_id;
    r.user.name = "User " + email;
    r.user.email = email;
    r.user.role = role;
    r.user.active = true;
    r.user.created_at = now_ms();
    r.password_hash = "$argon2id$fake$" + email;
    return r;
  }

  // Creates an organization with an admin; returns {org, admin}.
  std::pair<Organization, UserRecord> create_org(const std::string& name, const std::string& admin_email) {
    Organization org = make_org(name);
    UserRecord admin = make_user(org.id, admin_email, Role::admin);
    bool created = block_on(accounts().create_organization(org, admin));
    EXPECT_TRUE(created);
    return {org, admin};
  }

  static RefreshTokenRow token_row(const std::string& hash, const std::string& family, const std::string& user_id,
                                   Millis created, Millis expires) {
    return RefreshTokenRow{hash, family, user_id, created, expires};
  }

  RotateResult rotate(const std::string& old_hash, const std::string& new_hash, Millis at) {
    RefreshTokenRow replacement = token_row(new_hash, "", "", at, at + kHour);
    return block_on(accounts().rotate_refresh_token(old_hash, replacement));
  }

  void insert_token(const std::string& hash, const std::string& family, const std::string& user_id, Millis created,
                    Millis expires) {
    RefreshTokenRow row = token_row(hash, family, user_id, created, expires);
    block_on(accounts().insert_refresh_token(row));
  }

  fs::path dir_;
  std::unique_ptr<lms::testing::TestDatabase> db_;
  std::unique_ptr<Store> store_;
};

TEST_P(AccountsSuite, PingAndEngine) {
  EXPECT_TRUE(block_on(store_->ping()));
  EXPECT_EQ(store_->engine(), GetParam());
}

TEST_P(AccountsSuite, CreateOrganizationThenFindUserByEmail) {
  auto [org, admin] = create_org("Acme", "boss@acme.test");

  std::string email = "boss@acme.test";
  auto found = block_on(accounts().find_user_by_email(email));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->user.id, admin.user.id);
  EXPECT_EQ(found->user.organization_id, org.id);
  EXPECT_EQ(found->user.name, admin.user.name);
  EXPECT_EQ(found->user.email, email);
  EXPECT_EQ(found->user.role, Role::admin);
  EXPECT_TRUE(found->user.active);
  EXPECT_EQ(found->user.created_at, admin.user.created_at);
  EXPECT_EQ(found->password_hash, admin.password_hash);

  std::string org_id = org.id;
  auto stored_org = block_on(accounts().find_organization(org_id));
  ASSERT_TRUE(stored_org.has_value());
  EXPECT_EQ(stored_org->name, "Acme");
  EXPECT_EQ(stored_org->default_country, "DE");
  EXPECT_EQ(stored_org->created_at, org.created_at);

  std::string user_id = admin.user.id;
  auto user = block_on(accounts().find_user(org_id, user_id));
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(user->email, email);

  EXPECT_EQ(block_on(accounts().count_users()), 1u);
  auto users = block_on(accounts().list_users(org_id));
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].id, admin.user.id);

  std::string unknown = "nobody@acme.test";
  EXPECT_FALSE(block_on(accounts().find_user_by_email(unknown)).has_value());
}

TEST_P(AccountsSuite, DataSurvivesReopening) {
  auto [org, admin] = create_org("Acme", "boss@acme.test");
  store_->close();
  store_.reset();
  store_ = app::open_store(db_->url(), 1);
  std::string email = "boss@acme.test";
  auto found = block_on(accounts().find_user_by_email(email));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->user.organization_id, org.id);
}

TEST_P(AccountsSuite, DuplicateEmailReturnsFalseAndWritesNothing) {
  auto [org, admin] = create_org("Acme", "boss@acme.test");

  Organization other = make_org("Other");
  UserRecord clash = make_user(other.id, "boss@acme.test", Role::admin);
  EXPECT_FALSE(block_on(accounts().create_organization(other, clash)));
  std::string other_id = other.id;
  EXPECT_FALSE(block_on(accounts().find_organization(other_id)).has_value());
  EXPECT_EQ(block_on(accounts().count_users()), 1u);

  // insert_user reports the clash too, in the same or another organization.
  UserRecord same_org = make_user(org.id, "boss@acme.test");
  EXPECT_FALSE(block_on(accounts().insert_user(same_org)));
  EXPECT_EQ(block_on(accounts().count_users()), 1u);

  UserRecord fresh = make_user(org.id, "agent@acme.test");
  EXPECT_TRUE(block_on(accounts().insert_user(fresh)));
  EXPECT_EQ(block_on(accounts().count_users()), 2u);
}

TEST_P(AccountsSuite, FindUserWithWrongOrganizationIsNullopt) {
  auto [acme, acme_admin] = create_org("Acme", "boss@acme.test");
  auto [globex, globex_admin] = create_org("Globex", "boss@globex.test");

  std::string globex_id = globex.id;
  std::string acme_user_id = acme_admin.user.id;
  EXPECT_FALSE(block_on(accounts().find_user(globex_id, acme_user_id)).has_value());
  std::string acme_id = acme.id;
  EXPECT_TRUE(block_on(accounts().find_user(acme_id, acme_user_id)).has_value());
  std::string bogus = new_id();
  EXPECT_FALSE(block_on(accounts().find_user(bogus, acme_user_id)).has_value());

  // list_users is scoped to the organization as well.
  auto globex_users = block_on(accounts().list_users(globex_id));
  ASSERT_EQ(globex_users.size(), 1u);
  EXPECT_EQ(globex_users[0].id, globex_admin.user.id);
}

TEST_P(AccountsSuite, UpdateUserInAnotherOrganizationIsNulloptAndChangesNothing) {
  auto [acme, acme_admin] = create_org("Acme", "boss@acme.test");
  auto [globex, globex_admin] = create_org("Globex", "boss@globex.test");

  std::string globex_id = globex.id;
  std::string acme_user_id = acme_admin.user.id;
  UserPatch patch;
  patch.name = "Hijacked";
  patch.role = Role::agent;
  patch.active = false;
  EXPECT_FALSE(block_on(accounts().update_user(globex_id, acme_user_id, patch)).has_value());

  std::string acme_id = acme.id;
  auto user = block_on(accounts().find_user(acme_id, acme_user_id));
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(user->name, acme_admin.user.name);
  EXPECT_EQ(user->role, Role::admin);
  EXPECT_TRUE(user->active);
}

TEST_P(AccountsSuite, UpdateUserInOwnOrganization) {
  auto [org, admin] = create_org("Acme", "boss@acme.test");
  UserRecord agent = make_user(org.id, "agent@acme.test");
  ASSERT_TRUE(block_on(accounts().insert_user(agent)));

  std::string org_id = org.id;
  std::string agent_id = agent.user.id;
  UserPatch patch;
  patch.name = "Renamed";
  patch.role = Role::manager;
  auto updated = block_on(accounts().update_user(org_id, agent_id, patch));
  ASSERT_TRUE(updated.has_value());
  EXPECT_EQ(updated->name, "Renamed");
  EXPECT_EQ(updated->role, Role::manager);
  EXPECT_TRUE(updated->active);
  EXPECT_EQ(updated->email, "agent@acme.test");

  // An empty patch leaves everything as it is.
  UserPatch empty;
  auto same = block_on(accounts().update_user(org_id, agent_id, empty));
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(same->name, "Renamed");
  EXPECT_EQ(same->role, Role::manager);

  std::string unknown = new_id();
  EXPECT_FALSE(block_on(accounts().update_user(org_id, unknown, patch)).has_value());
}

TEST_P(AccountsSuite, UpdateOrganizationAppliesPatch) {
  auto [org, admin] = create_org("Acme", "boss@acme.test");
  std::string org_id = org.id;
  accounts::OrganizationPatch patch;
  patch.default_country = "FR";
  auto updated = block_on(accounts().update_organization(org_id, patch));
  ASSERT_TRUE(updated.has_value());
  EXPECT_EQ(updated->name, "Acme");
  EXPECT_EQ(updated->default_country, "FR");
  std::string unknown = new_id();
  EXPECT_FALSE(block_on(accounts().update_organization(unknown, patch)).has_value());
}

TEST_P(AccountsSuite, RotateRefreshTokenThenReuseRevokesFamily) {
  auto [org, admin] = create_org("Acme", "boss@acme.test");
  const Millis t0 = now_ms();
  const std::string family = new_id();
  const std::string h0 = auth::hash_refresh_token(auth::new_refresh_token());
  const std::string h1 = auth::hash_refresh_token(auth::new_refresh_token());
  const std::string h2 = auth::hash_refresh_token(auth::new_refresh_token());
  const std::string h3 = auth::hash_refresh_token(auth::new_refresh_token());
  insert_token(h0, family, admin.user.id, t0, t0 + kHour);

  auto first = rotate(h0, h1, t0 + 1000);
  EXPECT_EQ(first.outcome, RotateOutcome::rotated);
  EXPECT_EQ(first.user_id, admin.user.id);
  EXPECT_EQ(first.organization_id, org.id);
  EXPECT_EQ(first.family_id, family);

  // The old token is presented again: reuse. The whole family is revoked.
  auto replay = rotate(h0, h2, t0 + 2000);
  EXPECT_EQ(replay.outcome, RotateOutcome::reused);
  EXPECT_EQ(replay.user_id, admin.user.id);
  EXPECT_EQ(replay.family_id, family);

  // The legitimate replacement is now dead too.
  auto after = rotate(h1, h3, t0 + 3000);
  EXPECT_EQ(after.outcome, RotateOutcome::reused);

  // Nothing was stored for the rejected rotations.
  EXPECT_EQ(rotate(h2, new_id(), t0 + 4000).outcome, RotateOutcome::unknown);
  EXPECT_EQ(rotate(h3, new_id(), t0 + 4000).outcome, RotateOutcome::unknown);
}

TEST_P(AccountsSuite, RotationChainKeepsWorkingWithoutReuse) {
  auto [org, admin] = create_org("Acme", "boss@acme.test");
  const Millis t0 = now_ms();
  const std::string family = new_id();
  std::string current = auth::hash_refresh_token(auth::new_refresh_token());
  insert_token(current, family, admin.user.id, t0, t0 + kHour);
  for (int i = 1; i <= 5; ++i) {
    std::string next = auth::hash_refresh_token(auth::new_refresh_token());
    auto r = rotate(current, next, t0 + i * 1000);
    ASSERT_EQ(r.outcome, RotateOutcome::rotated) << i;
    EXPECT_EQ(r.family_id, family);
    current = next;
  }
}

TEST_P(AccountsSuite, ReuseRevokesOnlyItsOwnFamily) {
  auto [org, admin] = create_org("Acme", "boss@acme.test");
  const Millis t0 = now_ms();
  const std::string a0 = "a0-hash", a1 = "a1-hash", b0 = "b0-hash", b1 = "b1-hash";
  insert_token(a0, "family-a", admin.user.id, t0, t0 + kHour);
  insert_token(b0, "family-b", admin.user.id, t0, t0 + kHour);
  ASSERT_EQ(rotate(a0, a1, t0 + 1).outcome, RotateOutcome::rotated);
  ASSERT_EQ(rotate(a0, "a2-hash", t0 + 2).outcome, RotateOutcome::reused);
  // Another session (family) of the same user is unaffected.
  EXPECT_EQ(rotate(b0, b1, t0 + 3).outcome, RotateOutcome::rotated);
}

TEST_P(AccountsSuite, UnknownHashIsUnknown) {
  auto [org, admin] = create_org("Acme", "boss@acme.test");
  auto r = rotate(auth::hash_refresh_token("never issued"), "whatever", now_ms());
  EXPECT_EQ(r.outcome, RotateOutcome::unknown);
  EXPECT_TRUE(r.user_id.empty());
  EXPECT_EQ(rotate("", "whatever2", now_ms()).outcome, RotateOutcome::unknown);
}

TEST_P(AccountsSuite, ExpiredTokenIsExpiredAndNotSpent) {
  auto [org, admin] = create_org("Acme", "boss@acme.test");
  const Millis t0 = now_ms();
  insert_token("old-hash", "family-x", admin.user.id, t0 - 2 * kHour, t0 - kHour);
  auto r = rotate("old-hash", "new-hash", t0);
  EXPECT_EQ(r.outcome, RotateOutcome::expired);
  EXPECT_EQ(r.user_id, admin.user.id);
  // No replacement was stored, and the expired token was not marked as spent (not "reused").
  EXPECT_EQ(rotate("new-hash", "newer-hash", t0).outcome, RotateOutcome::unknown);
  EXPECT_EQ(rotate("old-hash", "new-hash-2", t0).outcome, RotateOutcome::expired);

  // Expiry is exclusive: a token expiring exactly now is expired, one ms later is fine.
  insert_token("edge-hash", "family-y", admin.user.id, t0 - kHour, t0);
  EXPECT_EQ(rotate("edge-hash", "edge-next", t0).outcome, RotateOutcome::expired);
  EXPECT_EQ(rotate("edge-hash", "edge-next", t0 - 1).outcome, RotateOutcome::rotated);
}

TEST_P(AccountsSuite, DeactivatingUserRevokesItsRefreshTokens) {
  auto [org, admin] = create_org("Acme", "boss@acme.test");
  UserRecord agent = make_user(org.id, "agent@acme.test");
  ASSERT_TRUE(block_on(accounts().insert_user(agent)));
  const Millis t0 = now_ms();
  insert_token("agent-1", "agent-family-1", agent.user.id, t0, t0 + kHour);
  insert_token("agent-2", "agent-family-2", agent.user.id, t0, t0 + kHour);
  insert_token("admin-1", "admin-family-1", admin.user.id, t0, t0 + kHour);

  std::string org_id = org.id;
  std::string agent_id = agent.user.id;
  UserPatch patch;
  patch.active = false;
  auto updated = block_on(accounts().update_user(org_id, agent_id, patch));
  ASSERT_TRUE(updated.has_value());
  EXPECT_FALSE(updated->active);

  EXPECT_EQ(rotate("agent-1", "agent-1b", t0 + 1000).outcome, RotateOutcome::reused);
  EXPECT_EQ(rotate("agent-2", "agent-2b", t0 + 1000).outcome, RotateOutcome::reused);
  EXPECT_EQ(rotate("agent-1b", "agent-1c", t0 + 1000).outcome, RotateOutcome::unknown);
  // Other users keep their sessions.
  EXPECT_EQ(rotate("admin-1", "admin-1b", t0 + 1000).outcome, RotateOutcome::rotated);
}

TEST_P(AccountsSuite, PasswordChangeRevokesRefreshTokens) {
  auto [org, admin] = create_org("Acme", "boss@acme.test");
  const Millis t0 = now_ms();
  insert_token("tok", "fam", admin.user.id, t0, t0 + kHour);
  std::string org_id = org.id;
  std::string user_id = admin.user.id;
  UserPatch patch;
  patch.password_hash = "$argon2id$new";
  ASSERT_TRUE(block_on(accounts().update_user(org_id, user_id, patch)).has_value());
  EXPECT_EQ(rotate("tok", "tok2", t0 + 1).outcome, RotateOutcome::reused);
  std::string email = "boss@acme.test";
  auto record = block_on(accounts().find_user_by_email(email));
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->password_hash, "$argon2id$new");
}

TEST_P(AccountsSuite, RenamingUserKeepsRefreshTokens) {
  auto [org, admin] = create_org("Acme", "boss@acme.test");
  const Millis t0 = now_ms();
  insert_token("tok", "fam", admin.user.id, t0, t0 + kHour);
  std::string org_id = org.id;
  std::string user_id = admin.user.id;
  UserPatch patch;
  patch.name = "New Name";
  patch.active = true;
  ASSERT_TRUE(block_on(accounts().update_user(org_id, user_id, patch)).has_value());
  EXPECT_EQ(rotate("tok", "tok2", t0 + 1).outcome, RotateOutcome::rotated);
}

TEST_P(AccountsSuite, DeactivationFromAnotherOrganizationRevokesNothing) {
  auto [acme, acme_admin] = create_org("Acme", "boss@acme.test");
  auto [globex, globex_admin] = create_org("Globex", "boss@globex.test");
  const Millis t0 = now_ms();
  insert_token("acme-tok", "acme-fam", acme_admin.user.id, t0, t0 + kHour);
  std::string globex_id = globex.id;
  std::string acme_user_id = acme_admin.user.id;
  UserPatch patch;
  patch.active = false;
  EXPECT_FALSE(block_on(accounts().update_user(globex_id, acme_user_id, patch)).has_value());
  EXPECT_EQ(rotate("acme-tok", "acme-tok2", t0 + 1).outcome, RotateOutcome::rotated);
}

TEST_P(AccountsSuite, RevokeRefreshFamilyRequiresOwner) {
  auto [org, admin] = create_org("Acme", "boss@acme.test");
  UserRecord agent = make_user(org.id, "agent@acme.test");
  ASSERT_TRUE(block_on(accounts().insert_user(agent)));
  const Millis t0 = now_ms();
  insert_token("admin-tok", "admin-fam", admin.user.id, t0, t0 + kHour);
  ASSERT_EQ(rotate("admin-tok", "admin-tok2", t0 + 1).outcome, RotateOutcome::rotated);

  // Another user cannot revoke it (logout with someone else's token).
  std::string hash = "admin-tok2";
  std::string other_user = agent.user.id;
  block_on(accounts().revoke_refresh_family(hash, other_user));
  ASSERT_EQ(rotate("admin-tok2", "admin-tok3", t0 + 2).outcome, RotateOutcome::rotated);

  // The owner can, with any token of the family; the current one then counts as reuse.
  std::string old_hash = "admin-tok";
  std::string owner = admin.user.id;
  block_on(accounts().revoke_refresh_family(old_hash, owner));
  EXPECT_EQ(rotate("admin-tok3", "admin-tok4", t0 + 3).outcome, RotateOutcome::reused);
}

// Many callers (as if on several instances) present the same refresh token at once: exactly
// one rotates it; the rest are reuse, which revokes the family.
TEST_P(AccountsSuite, ConcurrentRotationOfOneTokenRotatesOnce) {
  auto [org, admin] = create_org("Acme", "boss@acme.test");
  Millis t0 = now_ms();
  insert_token("h0", "fam", admin.user.id, t0, t0 + kHour);
  constexpr int kCallers = 16;
  std::atomic<int> rotated{0}, reused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i)
    threads.emplace_back([&, i] {
      auto r = rotate("h0", "next-" + std::to_string(i), t0 + 1);
      if (r.outcome == RotateOutcome::rotated) ++rotated;
      if (r.outcome == RotateOutcome::reused) ++reused;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(rotated.load(), 1);
  EXPECT_EQ(reused.load(), kCallers - 1);
}

TEST_P(AccountsSuite, ConcurrentRegistrationsOfOneEmailCreateOneOrganization) {
  constexpr int kCallers = 12;
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i)
    threads.emplace_back([&] {
      Organization org = make_org("Race");
      UserRecord admin = make_user(org.id, "same@race.test", Role::admin);
      if (block_on(accounts().create_organization(org, admin))) ++created;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(block_on(accounts().count_users()), 1u);
}

TEST_P(AccountsSuite, RevokedSessionsArePolledInOrderAndExpire) {
  Millis now = now_ms();
  block_on(accounts().revoke_session("s1", now + kHour));
  block_on(accounts().revoke_session("s2", now + kHour));
  block_on(accounts().revoke_session("s1", now + 2 * kHour));  // again: kept once, later expiry
  auto all = block_on(accounts().revoked_sessions(0, now));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].session_id, "s1");
  EXPECT_EQ(all[0].expires_at, now + 2 * kHour);
  EXPECT_EQ(all[1].session_id, "s2");
  EXPECT_LT(all[0].seq, all[1].seq);
  // What follows s1: s2, and perhaps (PostgreSQL re-reads the last seconds) s1 again.
  auto after = block_on(accounts().revoked_sessions(all[0].seq, now));
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after.back().session_id, "s2");
  EXPECT_LE(after.size(), 2u);
  EXPECT_TRUE(block_on(accounts().revoked_sessions(0, now + 3 * kHour)).empty());
}

// On PostgreSQL a revocation's seq is taken before its transaction commits: one that commits
// after a later one was already polled must still be seen by the next poll.
TEST_P(AccountsSuite, RevocationCommittedAfterALaterOneIsStillPolled) {
  if (GetParam() != "postgres") GTEST_SKIP() << "PostgreSQL only: SQLite's single writer commits in seq order";
  Millis now = now_ms();
  PGconn* slow = PQconnectdb(db_->url().c_str());
  ASSERT_EQ(PQstatus(slow), CONNECTION_OK) << PQerrorMessage(slow);
  auto exec = [&](const std::string& sql) {
    PGresult* r = PQexec(slow, sql.c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
    PQclear(r);
  };
  exec("BEGIN");
  exec("INSERT INTO revoked_sessions (session_id, expires_at) VALUES ('late', " + std::to_string(now + kHour) + ")");
  block_on(accounts().revoke_session("early", now + kHour));  // a larger seq, committed first
  auto first = block_on(accounts().revoked_sessions(0, now));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].session_id, "early");
  exec("COMMIT");
  PQfinish(slow);
  auto next = block_on(accounts().revoked_sessions(first[0].seq, now));
  bool late_seen = false;
  for (const auto& row : next) late_seen = late_seen || row.session_id == "late";
  EXPECT_TRUE(late_seen) << "a revocation committed out of seq order was missed";
}

// Instances starting together on a new PostgreSQL database: every one applies (or waits for)
// the migrations and reads the same token secret, whoever stored it first.
TEST_P(AccountsSuite, InstancesStartingTogetherOnANewDatabaseAllOpenAndShareOneSecret) {
  if (GetParam() != "postgres") GTEST_SKIP() << "PostgreSQL only: SQLite is one process's file";
  lms::testing::TestDatabase fresh("postgres", dir_);
  constexpr int kInstances = 4;
  std::vector<std::string> secrets(kInstances), errors(kInstances);
  std::vector<std::thread> threads;
  for (int i = 0; i < kInstances; ++i)
    threads.emplace_back([&, i] {
      try {
        auto store = app::open_store(fresh.url(), 1);
        auto* pg = dynamic_cast<postgres::PostgresStore*>(store.get());
        if (!pg) throw std::runtime_error("not the PostgreSQL engine");
        secrets[i] = block_on(pg->shared_setting("token_secret", "proposal-" + std::to_string(i)));
        store->close();
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kInstances; ++i) {
    EXPECT_EQ(errors[i], "") << "instance " << i;
    EXPECT_EQ(secrets[i], secrets[0]) << "instance " << i;
  }
  EXPECT_EQ(secrets[0].rfind("proposal-", 0), 0u);
}

INSTANTIATE_TEST_SUITE_P(Engines, AccountsSuite, ::testing::ValuesIn(lms::testing::test_engines()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace lms::store

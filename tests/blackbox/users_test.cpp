// Black-box tests of users and the organization: roles, tenancy, deactivation.
#include <gtest/gtest.h>

#include "harness.h"

namespace lms::test {
namespace {

class UsersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new LmsServer();
    Client c(server_->port());
    acme_admin_ = new Account(register_org(c, "Acme"));
    acme_manager_ = new Account(add_user(c, *acme_admin_, "manager"));
    acme_agent_ = new Account(add_user(c, *acme_admin_, "agent"));
    globex_admin_ = new Account(register_org(c, "Globex"));
    globex_agent_ = new Account(add_user(c, *globex_admin_, "agent"));
  }
  static void TearDownTestSuite() {
    delete server_;
    for (auto* a : {acme_admin_, acme_manager_, acme_agent_, globex_admin_, globex_agent_}) delete a;
  }
  Client client() { return Client(server_->port()); }
  static LmsServer* server_;
  static Account *acme_admin_, *acme_manager_, *acme_agent_, *globex_admin_, *globex_agent_;
};
LmsServer* UsersTest::server_ = nullptr;
Account *UsersTest::acme_admin_, *UsersTest::acme_manager_, *UsersTest::acme_agent_, *UsersTest::globex_admin_,
    *UsersTest::globex_agent_;

TEST_F(UsersTest, AdminsAndManagersListOnlyTheirOrganization) {
  auto c = client();
  for (auto* who : {acme_admin_, acme_manager_}) {
    auto res = c.get("/api/users", who->access_token);
    ASSERT_EQ(res.status, 200) << res.body;
    ASSERT_TRUE(res.json["items"].IsArray());
    EXPECT_GE(res.json["items"].Size(), 3u);
    for (auto& u : res.json["items"].GetArray()) {
      EXPECT_EQ(std::string(u["organizationId"].GetString()), acme_admin_->organization_id);
      EXPECT_FALSE(u.HasMember("password") || u.HasMember("passwordHash"));
    }
  }
  auto agent = c.get("/api/users", acme_agent_->access_token);
  EXPECT_EQ(agent.status, 403);
  EXPECT_EQ(agent.str("/error/code"), "forbidden");
}

TEST_F(UsersTest, OnlyAdminsCreateUsers) {
  auto c = client();
  std::string body = R"({"name":"New","email":")" + unique_email("new") + R"(","password":"correct-horse","role":"agent"})";
  EXPECT_EQ(c.post("/api/users", body, acme_manager_->access_token).status, 403);
  EXPECT_EQ(c.post("/api/users", body, acme_agent_->access_token).status, 403);
  auto created = c.post("/api/users", body, acme_admin_->access_token);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.header("Location"), "/api/users/" + created.str("/id"));
  EXPECT_EQ(created.str("/role"), "agent");
  EXPECT_EQ(created.str("/organizationId"), acme_admin_->organization_id);
  EXPECT_EQ(c.post("/api/users", body, acme_admin_->access_token).status, 409);

  auto bad_role = c.post("/api/users",
                         R"({"name":"X","email":")" + unique_email("x") + R"(","password":"correct-horse","role":"owner"})",
                         acme_admin_->access_token);
  EXPECT_EQ(bad_role.status, 422);
  EXPECT_EQ(bad_role.str("/error/details/0/field"), "role");
  auto short_pw = c.post("/api/users",
                         R"({"name":"X","email":")" + unique_email("x") + R"(","password":"short","role":"agent"})",
                         acme_admin_->access_token);
  EXPECT_EQ(short_pw.status, 422);
  EXPECT_EQ(short_pw.str("/error/details/0/field"), "password");
}

TEST_F(UsersTest, AnotherOrganizationsUsersAreNotFound) {
  auto c = client();
  const std::string foreign = "/api/users/" + globex_agent_->user_id;
  auto patch = c.patch(foreign, R"({"name":"Hacked"})", acme_admin_->access_token);
  EXPECT_EQ(patch.status, 404);
  EXPECT_EQ(patch.str("/error/code"), "not_found");
  EXPECT_EQ(c.get(foreign, acme_admin_->access_token).status, 404);
  EXPECT_EQ(c.get(foreign, acme_manager_->access_token).status, 404);
  EXPECT_EQ(c.patch("/api/users/does-not-exist", R"({"name":"x"})", acme_admin_->access_token).status, 404);
  // The foreign user is untouched.
  auto theirs = c.get(foreign, globex_admin_->access_token);
  ASSERT_EQ(theirs.status, 200);
  EXPECT_EQ(theirs.str("/name"), "A agent");
}

TEST_F(UsersTest, RoleRulesOnPatch) {
  auto c = client();
  auto target = add_user(c, *acme_admin_, "agent");
  EXPECT_EQ(c.patch("/api/users/" + target.user_id, R"({"role":"manager"})", acme_manager_->access_token).status, 403);
  EXPECT_EQ(c.patch("/api/users/" + target.user_id, R"({"role":"admin"})", acme_agent_->access_token).status, 403);
  auto promoted = c.patch("/api/users/" + target.user_id, R"({"role":"manager","name":"Promoted"})",
                          acme_admin_->access_token);
  ASSERT_EQ(promoted.status, 200) << promoted.body;
  EXPECT_EQ(promoted.str("/role"), "manager");
  EXPECT_EQ(promoted.str("/name"), "Promoted");
  // The promotion applies to the existing token at once.
  EXPECT_EQ(c.get("/api/users", target.access_token).status, 200);

  auto self = c.patch("/api/users/" + acme_admin_->user_id, R"({"active":false})", acme_admin_->access_token);
  EXPECT_EQ(self.status, 422);
  EXPECT_EQ(c.patch("/api/users/" + target.user_id, R"({"active":"no"})", acme_admin_->access_token).status, 422);
}

TEST_F(UsersTest, DeactivatedUserIsLockedOutAtOnce) {
  auto c = client();
  auto agent = add_user(c, *acme_admin_, "agent");
  ASSERT_EQ(c.get("/api/auth/me", agent.access_token).status, 200);
  auto off = c.patch("/api/users/" + agent.user_id, R"({"active":false})", acme_admin_->access_token);
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_EQ(off.str("/active"), "false");
  EXPECT_EQ(c.get("/api/auth/me", agent.access_token).status, 401);
  EXPECT_EQ(c.post("/api/auth/refresh", R"({"refreshToken":")" + agent.refresh_token + R"("})").status, 401);
  EXPECT_EQ(c.post("/api/auth/login", R"({"email":")" + agent.email + R"(","password":"correct-horse"})").status, 401);

  auto on = c.patch("/api/users/" + agent.user_id, R"({"active":true})", acme_admin_->access_token);
  ASSERT_EQ(on.status, 200);
  EXPECT_EQ(c.post("/api/auth/login", R"({"email":")" + agent.email + R"(","password":"correct-horse"})").status, 200);
}

TEST_F(UsersTest, PasswordChangeEndsSessions) {
  auto c = client();
  auto agent = add_user(c, *acme_admin_, "agent");
  auto changed = c.patch("/api/users/" + agent.user_id, R"({"password":"brand-new-pass"})", acme_admin_->access_token);
  ASSERT_EQ(changed.status, 200);
  EXPECT_EQ(c.post("/api/auth/refresh", R"({"refreshToken":")" + agent.refresh_token + R"("})").status, 401);
  EXPECT_EQ(c.post("/api/auth/login", R"({"email":")" + agent.email + R"(","password":"correct-horse"})").status, 401);
  EXPECT_EQ(c.post("/api/auth/login", R"({"email":")" + agent.email + R"(","password":"brand-new-pass"})").status, 200);
}

TEST_F(UsersTest, OrganizationSettings) {
  auto c = client();
  auto org = c.get("/api/organization", acme_agent_->access_token);
  ASSERT_EQ(org.status, 200);
  EXPECT_EQ(org.str("/id"), acme_admin_->organization_id);
  EXPECT_EQ(c.patch("/api/organization", R"({"defaultCountry":"GB"})", acme_manager_->access_token).status, 403);
  auto bad = c.patch("/api/organization", R"({"defaultCountry":"Britain"})", acme_admin_->access_token);
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(bad.str("/error/details/0/field"), "defaultCountry");
  auto ok = c.patch("/api/organization", R"({"defaultCountry":"gb","name":"Acme Ltd"})", acme_admin_->access_token);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.str("/defaultCountry"), "GB");
  EXPECT_EQ(ok.str("/name"), "Acme Ltd");
  EXPECT_EQ(c.get("/api/auth/me", acme_agent_->access_token).str("/organization/defaultCountry"), "GB");
  // Globex is untouched.
  EXPECT_EQ(c.get("/api/organization", globex_admin_->access_token).str("/defaultCountry"), "US");
}

}  // namespace
}  // namespace lms::test

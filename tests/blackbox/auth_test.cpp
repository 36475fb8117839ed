// Black-box tests of /api/auth/*: registration, login, tokens, refresh rotation, logout.
#include <gtest/gtest.h>

#include <algorithm>

#include "harness.h"

namespace lms::test {
namespace {

class AuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new LmsServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  Client client() { return Client(server_->port()); }
  static LmsServer* server_;
};
LmsServer* AuthTest::server_ = nullptr;

std::string b64url(const std::string& in) {
  static const char* chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(chars[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(chars[((val << 8) >> (bits + 8)) & 0x3F]);
  return out;
}

TEST_F(AuthTest, RegisterCreatesOrganizationAndAdmin) {
  auto c = client();
  std::string email = unique_email("founder");
  std::string upper = email;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  auto res = c.post("/api/auth/register",
                    R"({"organizationName":"Acme","name":"Ann","email":"  )" + upper + R"( ","password":"secret-123"})");
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_EQ(res.str("/user/role"), "admin");
  EXPECT_EQ(res.str("/user/email"), email);  // trimmed and lower-cased
  EXPECT_EQ(res.str("/user/active"), "true");
  EXPECT_EQ(res.str("/organization/name"), "Acme");
  EXPECT_EQ(res.str("/organization/defaultCountry"), "US");
  EXPECT_EQ(res.str("/user/organizationId"), res.str("/organization/id"));
  EXPECT_EQ(res.str("/expiresIn"), "900");
  EXPECT_FALSE(res.str("/accessToken").empty());
  EXPECT_FALSE(res.str("/refreshToken").empty());
  EXPECT_EQ(res.body.find("password"), std::string::npos);
  EXPECT_TRUE(res.json["user"]["createdAt"].IsString());
  EXPECT_EQ(std::string(res.json["user"]["createdAt"].GetString()).size(), 24u);  // 2026-11-26T18:37:48.123Z

  auto again = c.post("/api/auth/register",
                      R"({"organizationName":"Other","name":"Eve","email":")" + email + R"(","password":"secret-123"})");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.str("/error/code"), "email_taken");
}

TEST_F(AuthTest, RegisterValidatesEveryField) {
  auto c = client();
  auto res = c.post("/api/auth/register", R"({"organizationName":"","name":"","email":"nope","password":"short"})");
  ASSERT_EQ(res.status, 422) << res.body;
  EXPECT_EQ(res.str("/error/code"), "validation_failed");
  ASSERT_TRUE(res.json["error"]["details"].IsArray());
  std::vector<std::string> fields;
  for (auto& d : res.json["error"]["details"].GetArray()) fields.push_back(d["field"].GetString());
  for (auto f : {"organizationName", "name", "email", "password"})
    EXPECT_NE(std::find(fields.begin(), fields.end(), f), fields.end()) << f;

  auto wrong_type = c.post("/api/auth/register", R"({"organizationName":5,"name":"a","email":"a@b.co","password":"12345678"})");
  EXPECT_EQ(wrong_type.status, 422);
  EXPECT_EQ(wrong_type.str("/error/details/0/field"), "organizationName");
}

TEST_F(AuthTest, MalformedJsonAndWrongContentType) {
  auto c = client();
  auto bad = c.post("/api/auth/login", R"({"email": "a@b.co", )");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.str("/error/code"), "bad_request");
  auto not_object = c.post("/api/auth/login", R"(["a"])");
  EXPECT_EQ(not_object.status, 400);
  auto trailing = c.post("/api/auth/login", R"({"email":"a@b.co"} x)");
  EXPECT_EQ(trailing.status, 400);
  auto invalid_utf8 = c.post("/api/auth/login", std::string("{\"email\":\"\xff\xfe\"}"));
  EXPECT_EQ(invalid_utf8.status, 400);
  auto form = c.request("POST", "/api/auth/login", "email=a@b.co",
                        {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(form.status, 415);
  EXPECT_EQ(form.str("/error/code"), "unsupported_media_type");
  auto charset = c.request("POST", "/api/auth/login", R"({"email":"x@y.co","password":"whatever1"})",
                           {{"Content-Type", "application/json; charset=utf-8"}});
  EXPECT_EQ(charset.status, 401);
}

TEST_F(AuthTest, LoginAnswersTheSameForUnknownEmailAndWrongPassword) {
  auto c = client();
  auto admin = register_org(c, "LoginCo");
  auto ok = c.post("/api/auth/login", R"({"email":")" + admin.email + R"(","password":"correct-horse"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.str("/user/id"), admin.user_id);
  EXPECT_TRUE(ok.json.HasMember("accessToken") && ok.json.HasMember("refreshToken") && ok.json.HasMember("expiresIn"));

  auto time_login = [&](const std::string& email, Response& out) {
    auto start = std::chrono::steady_clock::now();
    out = c.post("/api/auth/login", R"({"email":")" + email + R"(","password":"wrong-password"})");
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  Response wrong, unknown;
  double t_wrong = 0, t_unknown = 0;
  for (int i = 0; i < 3; ++i) {
    t_wrong += time_login(admin.email, wrong);
    t_unknown += time_login(unique_email("ghost"), unknown);
  }
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.body, unknown.body);
  EXPECT_EQ(wrong.str("/error/code"), "invalid_credentials");
  // Without the dummy hash an unknown email answers ~50x faster; allow wide noise.
  EXPECT_GT(t_unknown, t_wrong / 3) << "unknown email answered much faster than a wrong password";
}

TEST_F(AuthTest, MeNeedsAValidToken) {
  auto c = client();
  auto admin = register_org(c, "MeCo");
  auto me = c.get("/api/auth/me", admin.access_token);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.str("/user/id"), admin.user_id);
  EXPECT_EQ(me.str("/organization/id"), admin.organization_id);

  auto missing = c.get("/api/auth/me");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.str("/error/code"), "unauthorized");
  EXPECT_EQ(c.get("/api/auth/me", "garbage").status, 401);
  EXPECT_EQ(c.get("/api/auth/me", "a.b.c").status, 401);
  EXPECT_EQ(c.get("/api/auth/me", std::string(5000, 'a')).status, 401);
  EXPECT_EQ(c.request("GET", "/api/auth/me", {}, {{"Authorization", "Basic " + admin.access_token}}).status, 401);

  // Flip one character of the signature.
  std::string forged = admin.access_token;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(c.get("/api/auth/me", forged).status, 401);

  // Payload changed to another role, signature kept.
  auto first = admin.access_token.find('.');
  auto second = admin.access_token.find('.', first + 1);
  std::string payload = R"({"sub":")" + admin.user_id + R"(","org":")" + admin.organization_id +
                        R"(","role":"admin","iat":1,"exp":4102444800})";
  std::string tampered = admin.access_token.substr(0, first + 1) + b64url(payload) + admin.access_token.substr(second);
  EXPECT_EQ(c.get("/api/auth/me", tampered).status, 401);

  // alg: none with no signature.
  std::string none = b64url(R"({"alg":"none","typ":"JWT"})") + "." + b64url(payload) + ".";
  EXPECT_EQ(c.get("/api/auth/me", none).status, 401);
}

TEST_F(AuthTest, RefreshRotatesAndReuseRevokesTheFamily) {
  auto c = client();
  auto admin = register_org(c, "RefreshCo");
  auto first = c.post("/api/auth/refresh", R"({"refreshToken":")" + admin.refresh_token + R"("})");
  ASSERT_EQ(first.status, 200) << first.body;
  std::string second_token = first.str("/refreshToken");
  EXPECT_NE(second_token, admin.refresh_token);
  EXPECT_EQ(c.get("/api/auth/me", first.str("/accessToken")).status, 200);

  // Reusing the spent token is 401 and revokes the family: the fresh one dies too.
  auto reuse = c.post("/api/auth/refresh", R"({"refreshToken":")" + admin.refresh_token + R"("})");
  EXPECT_EQ(reuse.status, 401);
  auto after = c.post("/api/auth/refresh", R"({"refreshToken":")" + second_token + R"("})");
  EXPECT_EQ(after.status, 401);

  // Another login is a separate family and still works.
  auto login = c.post("/api/auth/login", R"({"email":")" + admin.email + R"(","password":"correct-horse"})");
  ASSERT_EQ(login.status, 200);
  EXPECT_EQ(c.post("/api/auth/refresh", R"({"refreshToken":")" + login.str("/refreshToken") + R"("})").status, 200);

  EXPECT_EQ(c.post("/api/auth/refresh", R"({"refreshToken":"not-a-token"})").status, 401);
  EXPECT_EQ(c.post("/api/auth/refresh", R"({})").status, 422);
}

TEST_F(AuthTest, LogoutRevokesTheRefreshToken) {
  auto c = client();
  auto admin = register_org(c, "LogoutCo");
  auto out = c.post("/api/auth/logout", R"({"refreshToken":")" + admin.refresh_token + R"("})", admin.access_token);
  EXPECT_EQ(out.status, 204);
  EXPECT_TRUE(out.body.empty());
  EXPECT_EQ(c.post("/api/auth/refresh", R"({"refreshToken":")" + admin.refresh_token + R"("})").status, 401);
  EXPECT_EQ(c.post("/api/auth/logout", R"({"refreshToken":"x"})").status, 401);  // needs a user
}

TEST_F(AuthTest, ExpiredAccessTokenIsRejected) {
  LmsServer short_lived({"--access-ttl", "1s"});
  Client c(short_lived.port());
  auto admin = register_org(c, "ExpiryCo");
  EXPECT_EQ(c.get("/api/auth/me", admin.access_token).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_EQ(c.get("/api/auth/me", admin.access_token).status, 401);
  // The refresh token still gets a fresh access token.
  auto refreshed = c.post("/api/auth/refresh", R"({"refreshToken":")" + admin.refresh_token + R"("})");
  ASSERT_EQ(refreshed.status, 200);
  EXPECT_EQ(c.get("/api/auth/me", refreshed.str("/accessToken")).status, 200);
}

TEST_F(AuthTest, TokensOfAnotherServerSecretAreRejected) {
  LmsServer other({"--token-secret", std::string(40, 'z')});
  Client oc(other.port());
  auto foreign = register_org(oc, "ForeignCo");
  EXPECT_EQ(client().get("/api/auth/me", foreign.access_token).status, 401);
}

}  // namespace
}  // namespace lms::test

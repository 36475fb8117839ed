// Shared input rules: emails, names, passwords, country codes, and validate::all.
#include <gtest/gtest.h>

#include <string>

#include "common/validate.h"

namespace lms::validate {
namespace {

// Runs fn, expecting ApiError 422 whose first detail names `field`.
template <class Fn>
void expect_422(Fn fn, const std::string& field, const std::string& what) {
  try {
    fn();
    ADD_FAILURE() << "expected 422 for " << what;
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 422) << what;
    EXPECT_EQ(e.code(), "validation_failed") << what;
    ASSERT_FALSE(e.details().empty()) << what;
    EXPECT_EQ(e.details()[0].field, field) << what;
  }
}

TEST(NormalizeEmail, TrimsAndLowerCases) {
  EXPECT_EQ(normalize_email("  Alice.Smith@Example.COM \t\r\n"), std::string("alice.smith@example.com"));
  EXPECT_EQ(normalize_email("bob+tag@sub.example.org"), std::string("bob+tag@sub.example.org"));
  EXPECT_EQ(normalize_email("a@b.co"), std::string("a@b.co"));
}

TEST(NormalizeEmail, NonAsciiBytesAreKeptUnchanged) {
  // Only ASCII letters are lower-cased; UTF-8 bytes pass through.
  EXPECT_EQ(normalize_email("J\xc3\x9cRGEN@Example.de"), std::string("j\xc3\x9crgen@example.de"));
}

TEST(NormalizeEmail, BadShapesAreRejected) {
  for (std::string_view bad : {"", "   ", "alice", "alice@", "@example.com", "alice@@example.com",
                               "a@b@example.com", "alice@example", "alice@.com", "alice@example.",
                               "alice@exa..mple.com", "al ice@example.com", "alice@exa mple.com",
                               "alice@ex,ample.com", "<alice@example.com>", "alice@example.com;",
                               "\"alice\"@example.com", "alice@[1.2.3.4]", "ali\\ce@example.com",
                               "alice\t@example.com", "alice@b.", "alice@.c"})
    EXPECT_FALSE(normalize_email(bad).has_value()) << "'" << bad << "'";
  EXPECT_FALSE(normalize_email(std::string_view("al\0ice@example.com", 18)).has_value());
  EXPECT_FALSE(normalize_email("alice@example.com\x7f").has_value());
}

TEST(NormalizeEmail, LengthLimits) {
  std::string local64(64, 'a');
  EXPECT_TRUE(normalize_email(local64 + "@example.com").has_value());
  EXPECT_FALSE(normalize_email(local64 + "a@example.com").has_value());
  // 254 characters in total is the maximum.
  std::string domain = std::string(254 - 2 - 4, 'd') + ".com";  // "a@" + domain = 254
  EXPECT_TRUE(normalize_email("a@" + domain).has_value());
  EXPECT_FALSE(normalize_email("ab@" + domain).has_value());
}

TEST(Email, ThrowsNamingTheField) {
  EXPECT_EQ(email(" X@Y.io "), "x@y.io");
  expect_422([] { email("nope"); }, "email", "default field");
  expect_422([] { email("nope", "adminEmail"); }, "adminEmail", "custom field");
}

TEST(Name, TrimsAndChecksLength) {
  EXPECT_EQ(name("  Ann Lee \t", "name"), "Ann Lee");
  EXPECT_EQ(name(std::string(200, 'x'), "name"), std::string(200, 'x'));
  expect_422([] { name(std::string(201, 'x'), "name"); }, "name", "201 chars");
  expect_422([] { name("", "name"); }, "name", "empty");
  expect_422([] { name("  \t ", "orgName"); }, "orgName", "blank");
  EXPECT_EQ(name("abc", "name", 3), "abc");
  expect_422([] { name("abcd", "name", 3); }, "name", "custom max");
}

TEST(Name, CountsCodePointsNotBytes) {
  std::string e_acute = "\xc3\xa9";  // é, 2 bytes
  std::string two_hundred;
  for (int i = 0; i < 200; ++i) two_hundred += e_acute;
  EXPECT_EQ(name(two_hundred, "name"), two_hundred);  // 400 bytes, 200 characters
  std::string too_long = two_hundred + e_acute;
  expect_422([&] { name(too_long, "name"); }, "name", "201 code points");
}

TEST(Name, RejectsControlCharacters) {
  expect_422([] { name("Ann\x01Lee", "name"); }, "name", "SOH");
  expect_422([] { name("Ann\nLee", "name"); }, "name", "newline inside");
  expect_422([] { name("Ann\tLee", "name"); }, "name", "tab inside");
  expect_422([] { name("Ann\x7fLee", "name"); }, "name", "DEL");
  expect_422([] { name(std::string_view("Ann\0Lee", 7), "name"); }, "name", "NUL");
}

TEST(Password, LengthLimits) {
  expect_422([] { password(""); }, "password", "empty");
  expect_422([] { password("1234567"); }, "password", "7 chars");
  EXPECT_NO_THROW(password("12345678"));
  EXPECT_NO_THROW(password(std::string(1024, 'p')));
  expect_422([] { password(std::string(1025, 'p')); }, "password", "1025 bytes");
  expect_422([] { password("short", "newPassword"); }, "newPassword", "custom field");
}

TEST(Password, MinimumCountsCharactersMaximumCountsBytes) {
  std::string four_chars = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";  // 8 bytes, 4 characters
  expect_422([&] { password(four_chars); }, "password", "4 two-byte chars");
  EXPECT_NO_THROW(password(four_chars + four_chars));  // 8 characters
  std::string many;
  for (int i = 0; i < 513; ++i) many += "\xc3\xa9";  // 513 characters, 1026 bytes
  expect_422([&] { password(many); }, "password", "1026 bytes");
}

TEST(Country, UpperCasesAndTrims) {
  EXPECT_EQ(country("us"), "US");
  EXPECT_EQ(country("De"), "DE");
  EXPECT_EQ(country(" gb "), "GB");
  EXPECT_EQ(country("FR"), "FR");
}

TEST(Country, RejectsBadShapes) {
  for (std::string_view bad : {"", "U", "USA", "1A", "U1", "u$", "  ", "U S", "\xc3\xa9"})
    expect_422([&] { country(bad); }, "defaultCountry", std::string("'") + std::string(bad) + "'");
  expect_422([] { country("X", "country"); }, "country", "custom field");
}

TEST(Utf8Length, CountsCodePoints) {
  EXPECT_EQ(utf8_length(""), 0u);
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("\xc3\xa9"), 1u);
  EXPECT_EQ(utf8_length("\xe2\x82\xac"), 1u);
  EXPECT_EQ(utf8_length("\xf0\x9f\x98\x80x"), 2u);
}

TEST(All, CollectsEveryFailingField) {
  try {
    all([] { email("bad"); }, [] { name("ok", "name"); }, [] { password("short"); });
    ADD_FAILURE() << "expected 422";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 422);
    ASSERT_EQ(e.details().size(), 2u);
    EXPECT_EQ(e.details()[0].field, "email");
    EXPECT_EQ(e.details()[1].field, "password");
  }
  EXPECT_NO_THROW(all([] { email("a@b.co"); }, [] { password("long enough"); }));
}

}  // namespace
}  // namespace lms::validate

namespace lms::validate {
namespace {

TEST(FreeText, KeepsLineBreaksAndTabsInside) {
  EXPECT_EQ(text("  Acme, Inc.\nSecond line \t", "company", 200), "Acme, Inc.\nSecond line");
  EXPECT_EQ(text("a\tb\r\nc", "company", 200), "a\tb\r\nc");
  EXPECT_TRUE(is_free_text("tab\tnew\nline\r"));
}

TEST(FreeText, RefusesOtherControlCharactersNamingTheField) {
  for (std::string bad : {std::string("a\0b", 3), std::string("esc\x1b[0m"), std::string("bell\x07"),
                          std::string("del\x7f"), std::string("vt\x0b"), std::string("ff\x0c")}) {
    EXPECT_FALSE(is_free_text(bad)) << bad;
    try {
      text(bad, "company", 200);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 422);
      ASSERT_EQ(e.details().size(), 1u);
      EXPECT_EQ(e.details()[0].field, "company");
    }
  }
}

TEST(FreeText, EmptyAndTooLongAreRefused) {
  EXPECT_THROW(text(" \n\t ", "name", 200), ApiError);
  EXPECT_THROW(text(std::string(201, 'x'), "name", 200), ApiError);
  EXPECT_EQ(text(std::string(200, 'x'), "name", 200).size(), 200u);
  // Characters, not bytes: 200 two-byte letters fit.
  std::string umlauts;
  for (int i = 0; i < 200; ++i) umlauts += "\xc3\xa4";
  EXPECT_EQ(text(umlauts, "name", 200), umlauts);
}

}  // namespace
}  // namespace lms::validate

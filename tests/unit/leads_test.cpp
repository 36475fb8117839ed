// The pure parts of leads: phone normalization, field normalization and its 422s, tags,
// signed pagination cursors, CSV rows and sort names.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "auth/tokens.h"
#include "common/errors.h"
#include "common/time.h"
#include "leads/cursor.h"
#include "leads/leads_service.h"
#include "leads/model.h"
#include "leads/phone.h"
#include "leads/render.h"

namespace lms::leads {
namespace {

// Runs fn, expecting one ApiError 422 whose details name exactly `fields`, in order.
template <class Fn>
void expect_422(Fn fn, const std::vector<std::string>& fields, const std::string& what) {
  try {
    fn();
    ADD_FAILURE() << "expected 422 for " << what;
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 422) << what;
    EXPECT_EQ(e.code(), "validation_failed") << what;
    std::vector<std::string> got;
    for (const auto& d : e.details()) {
      got.push_back(d.field);
      EXPECT_FALSE(d.message.empty()) << what;
    }
    EXPECT_EQ(got, fields) << what;
  }
}

Field<std::string> value(std::string text) { return std::optional<std::string>(std::move(text)); }
Field<std::string> null_value() { return std::optional<std::string>(); }

// ---------------------------------------------------------------------------------------
// normalize_phone

TEST(PhoneNormalize, UsFormatsAllBecomeE164) {
  for (std::string_view raw : {"(415) 555-0123", "415.555.0123", "+1 415 555 0123", "1-415-555-0123", "4155550123",
                               "415-555-0123", "+14155550123", "1 (415) 555 0123"})
    EXPECT_EQ(normalize_phone(raw, "US"), std::optional<std::string>("+14155550123")) << raw;
}

TEST(PhoneNormalize, GbNationalFormatUsesTheRegion) {
  EXPECT_EQ(normalize_phone("020 7946 0958", "GB"), std::optional<std::string>("+442079460958"));
  EXPECT_EQ(normalize_phone("+44 20 7946 0958", "GB"), std::optional<std::string>("+442079460958"));
  EXPECT_EQ(normalize_phone("(020) 7946-0958", "GB"), std::optional<std::string>("+442079460958"));
  // An explicit country code wins over the default region, both ways.
  EXPECT_EQ(normalize_phone("+44 20 7946 0958", "US"), std::optional<std::string>("+442079460958"));
  EXPECT_EQ(normalize_phone("+1 415 555 0123", "GB"), std::optional<std::string>("+14155550123"));
  // The same digits read as a US number are not a valid US number.
  EXPECT_EQ(normalize_phone("020 7946 0958", "US"), std::nullopt);
}

TEST(PhoneNormalize, InvalidNumbersAreRejected) {
  for (std::string_view raw : {"", " ", "abc", "123", "555-0123", "415 555 012", "4155550123456", "+1 000 000 0000",
                               "+999 123 456", "not a phone", "0207946095"})
    EXPECT_EQ(normalize_phone(raw, "US"), std::nullopt) << "'" << raw << "'";
  EXPECT_EQ(normalize_phone("0207946095", "GB"), std::nullopt);  // one digit short
  EXPECT_EQ(normalize_phone(std::string(65, '1'), "US"), std::nullopt);
  EXPECT_EQ(normalize_phone(std::string(200, '5'), "US"), std::nullopt);
}

TEST(PhoneNormalize, SupportedRegions) {
  EXPECT_TRUE(is_supported_region("US"));
  EXPECT_TRUE(is_supported_region("GB"));
  EXPECT_TRUE(is_supported_region("DE"));
  EXPECT_FALSE(is_supported_region("XX"));
  EXPECT_FALSE(is_supported_region(""));
  EXPECT_FALSE(is_supported_region("USA"));
}

// ---------------------------------------------------------------------------------------
// normalize()

TEST(LeadNormalize, ValidInputIsNormalized) {
  LeadInput in;
  in.name = value("  Ada Lovelace ");
  in.phone = value("  (415) 555-0123 ");
  in.email = value("  Ada@Example.COM ");
  in.company = value("  Analytical Engines  ");
  in.source = value("web");
  in.status = value("qualified");
  in.tags = std::vector<std::string>{" hot ", "vip", "hot"};
  auto f = normalize(in, "US");
  EXPECT_EQ(f.name, std::optional<std::string>("Ada Lovelace"));
  EXPECT_EQ(f.phone, std::optional<std::string>("+14155550123"));
  EXPECT_EQ(f.email, std::optional<std::string>("ada@example.com"));
  EXPECT_EQ(f.company, std::optional<std::string>("Analytical Engines"));
  EXPECT_EQ(f.source, std::optional<std::string>("web"));
  EXPECT_EQ(f.status, std::optional<std::string>("qualified"));
  ASSERT_TRUE(f.tags.has_value());
  EXPECT_EQ(*f.tags, (std::vector<std::string>{"hot", "vip"}));
}

TEST(LeadNormalize, RegionIsUsedForNationalNumbers) {
  LeadInput in;
  in.phone = value("020 7946 0958");
  EXPECT_EQ(normalize(in, "GB").phone, std::optional<std::string>("+442079460958"));
  expect_422([&] { normalize(in, "US"); }, {"phone"}, "GB number read as US");
}

TEST(LeadNormalize, AbsentFieldsStayAbsentAndBlankOptionalsMeanNoValue) {
  LeadInput none;
  auto f = normalize(none, "US");
  EXPECT_FALSE(f.name || f.phone || f.email || f.company || f.source || f.status || f.tags);

  LeadInput blanks;
  blanks.phone = value("   ");
  blanks.company = value("   ");
  blanks.source = null_value();
  blanks.email = null_value();
  auto g = normalize(blanks, "US");
  EXPECT_FALSE(g.phone.has_value());
  EXPECT_FALSE(g.email.has_value());
  EXPECT_FALSE(g.company.has_value());
  EXPECT_FALSE(g.source.has_value());
}

TEST(LeadNormalize, EachBadFieldIsNamed) {
  auto one = [](auto set, const std::string& field) {
    LeadInput in;
    set(in);
    expect_422([&] { normalize(in, "US"); }, {field}, field);
  };
  one([](LeadInput& in) { in.name = null_value(); }, "name");
  one([](LeadInput& in) { in.name = value(""); }, "name");
  one([](LeadInput& in) { in.name = value("   "); }, "name");
  one([](LeadInput& in) { in.name = value(std::string(201, 'x')); }, "name");
  one([](LeadInput& in) { in.phone = value("12345"); }, "phone");
  one([](LeadInput& in) { in.phone = value("call me maybe"); }, "phone");
  one([](LeadInput& in) { in.email = value("not-an-email"); }, "email");
  one([](LeadInput& in) { in.email = value("a@b"); }, "email");
  one([](LeadInput& in) { in.company = value(std::string(201, 'c')); }, "company");
  one([](LeadInput& in) { in.source = value(std::string(101, 's')); }, "source");
  one([](LeadInput& in) { in.status = value("won"); }, "status");
  one([](LeadInput& in) { in.status = value("NEW"); }, "status");
  one([](LeadInput& in) { in.status = value(""); }, "status");
  one([](LeadInput& in) { in.status = null_value(); }, "status");
  one([](LeadInput& in) { in.tags = std::vector<std::string>{std::string(51, 't')}; }, "tags");
}

TEST(LeadNormalize, LimitsAreInclusive) {
  LeadInput in;
  in.name = value(std::string(200, 'n'));
  in.company = value(std::string(200, 'c'));
  in.source = value(std::string(100, 's'));
  auto f = normalize(in, "US");
  EXPECT_EQ(f.name->size(), 200u);
  EXPECT_EQ(f.company->size(), 200u);
  EXPECT_EQ(f.source->size(), 100u);
}

TEST(LeadNormalize, AllFailingFieldsAreCollectedInOne422) {
  LeadInput in;
  in.name = null_value();
  in.phone = value("123");
  in.email = value("nope");
  in.status = value("won");
  in.tags = std::vector<std::string>(21, "x");  // one unique tag: fine
  try {
    normalize(in, "US");
    ADD_FAILURE() << "expected 422";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 422);
    std::vector<std::string> got;
    for (const auto& d : e.details()) got.push_back(d.field);
    // The contract: an invalid phone is details[0]; the others follow in any order.
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got[0], "phone");
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"email", "name", "phone", "status"}));
  }
}

TEST(LeadNormalize, EveryStatusOfTheContractIsAccepted) {
  for (std::string s : {"new", "contacted", "qualified", "converted", "lost"}) {
    EXPECT_TRUE(is_status(s)) << s;
    LeadInput in;
    in.status = value(s);
    EXPECT_EQ(normalize(in, "US").status, std::optional<std::string>(s));
  }
  EXPECT_FALSE(is_status("won"));
  EXPECT_FALSE(is_status(""));
  EXPECT_FALSE(is_status("New"));
  EXPECT_EQ(kDefaultStatus, "new");
}

// ---------------------------------------------------------------------------------------
// normalize_tags

TEST(LeadTags, TrimsDropsEmptiesAndDedupesInOrder) {
  EXPECT_EQ(normalize_tags({" b ", "a", "", "   ", "b", "a ", "c"}), (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_TRUE(normalize_tags({}).empty());
  EXPECT_TRUE(normalize_tags({"", " "}).empty());
  // Case is kept: tags are compared exactly.
  EXPECT_EQ(normalize_tags({"VIP", "vip"}), (std::vector<std::string>{"VIP", "vip"}));
}

TEST(LeadTags, Limits) {
  std::vector<std::string> twenty;
  for (int i = 0; i < 20; ++i) twenty.push_back("t" + std::to_string(i));
  EXPECT_EQ(normalize_tags(twenty).size(), 20u);
  // Duplicates do not count towards the limit.
  auto with_dups = twenty;
  with_dups.insert(with_dups.end(), twenty.begin(), twenty.end());
  EXPECT_EQ(normalize_tags(with_dups).size(), 20u);
  auto twenty_one = twenty;
  twenty_one.push_back("t20");
  expect_422([&] { normalize_tags(twenty_one); }, {"tags"}, "21 tags");

  EXPECT_EQ(normalize_tags({std::string(50, 'x')}).size(), 1u);
  expect_422([&] { normalize_tags({std::string(51, 'x')}); }, {"tags"}, "51-character tag");
  // The limit counts characters, not bytes: 50 two-byte characters are fine.
  std::string fifty_e;
  for (int i = 0; i < 50; ++i) fifty_e += "\xc3\xa9";
  EXPECT_EQ(normalize_tags({fifty_e}), (std::vector<std::string>{fifty_e}));
  expect_422([&] { normalize_tags({fifty_e + "\xc3\xa9"}); }, {"tags"}, "51 two-byte characters");
}

// ---------------------------------------------------------------------------------------
// CursorCodec

constexpr std::string_view kSecret = "a test secret that is at least thirty-two bytes long";
constexpr std::string_view kOrg = "0190f3a0-0000-7000-8000-000000000001";
constexpr std::string_view kOtherOrg = "0190f3a0-0000-7000-8000-000000000002";

bool same(const Position& a, const Position& b) {
  return a.sort == b.sort && a.number == b.number && a.text == b.text && a.id == b.id;
}

TEST(CursorCodec, RoundTripsEverySort) {
  CursorCodec codec(kSecret);
  std::vector<Position> positions = {
      {SortKey::created_desc, 1767225600123, "", "0190f3a0-0000-7000-8000-0000000000aa"},
      {SortKey::created_asc, 0, "", "0190f3a0-0000-7000-8000-0000000000ab"},
      {SortKey::updated_desc, 1767225600999, "", "019c0000-ffff-7fff-bfff-ffffffffffff"},
      {SortKey::updated_asc, -5, "", ""},
      {SortKey::name_asc, 0, "Zo\xc3\xab \"O'Brien\", 50% off_", "0190f3a0-0000-7000-8000-000000000007"},
      {SortKey::name_asc, 0, std::string("nul\0byte", 8), "0190f3a0-0000-7000-8000-000000000008"},
      {SortKey::name_asc, 0, std::string(300, 'n'), "0190f3a0-0000-7000-8000-000001234567"},
  };
  for (const auto& p : positions) {
    auto cursor = codec.encode(p, kOrg);
    EXPECT_FALSE(cursor.empty());
    // Opaque and URL-safe.
    EXPECT_EQ(cursor.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="),
              std::string::npos)
        << cursor;
    auto back = codec.decode(cursor, kOrg);
    ASSERT_TRUE(back.has_value()) << sort_name(p.sort);
    EXPECT_TRUE(same(*back, p)) << sort_name(p.sort) << " " << back->text << " " << back->number << " " << back->id;
  }
  // The same secret in another codec instance (another server process) reads it too.
  CursorCodec twin(kSecret);
  EXPECT_TRUE(twin.decode(codec.encode(positions[0], kOrg), kOrg).has_value());
}

TEST(CursorCodec, EveryTamperedByteIsRefused) {
  CursorCodec codec(kSecret);
  Position p{SortKey::name_asc, 0, "Alice", "0190f3a0-0000-7000-8000-000000000017"};
  auto cursor = codec.encode(p, kOrg);
  auto raw = auth::base64url_decode(cursor);
  ASSERT_TRUE(raw.has_value());
  for (std::size_t i = 0; i < raw->size(); ++i) {
    for (unsigned char bit : {0x01, 0x80}) {
      std::string bytes = *raw;
      bytes[i] = static_cast<char>(static_cast<unsigned char>(bytes[i]) ^ bit);
      EXPECT_FALSE(codec.decode(auth::base64url_encode(bytes), kOrg).has_value()) << "byte " << i;
    }
  }
  // Truncated, extended, or with the MAC removed.
  EXPECT_FALSE(codec.decode(auth::base64url_encode(raw->substr(0, raw->size() - 1)), kOrg).has_value());
  EXPECT_FALSE(codec.decode(auth::base64url_encode(*raw + "x"), kOrg).has_value());
  EXPECT_FALSE(codec.decode(auth::base64url_encode(raw->substr(0, raw->size() - 16)), kOrg).has_value());
  // A flipped character of the text form.
  std::string text = cursor;
  text[text.size() / 2] = text[text.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(codec.decode(text, kOrg).has_value());
}

TEST(CursorCodec, AnotherOrganizationOrSecretIsRefused) {
  CursorCodec codec(kSecret);
  Position p{SortKey::created_desc, 1767225600123, "", "0190f3a0-0000-7000-8000-000000000042"};
  auto cursor = codec.encode(p, kOrg);
  EXPECT_TRUE(codec.decode(cursor, kOrg).has_value());
  EXPECT_FALSE(codec.decode(cursor, kOtherOrg).has_value());
  EXPECT_FALSE(codec.decode(cursor, "").has_value());
  // The org id and the payload are separated: moving bytes between them does not verify.
  EXPECT_FALSE(codec.decode(cursor, std::string(kOrg) + "x").has_value());
  CursorCodec other(std::string(kSecret) + "!");
  EXPECT_FALSE(other.decode(cursor, kOrg).has_value());
}

TEST(CursorCodec, GarbageIsRefused) {
  CursorCodec codec(kSecret);
  for (std::string_view bad : {"", "x", "abc", "!!!!", "not a cursor", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                               "////", "eyJhbGciOiJIUzI1NiJ9", "%41%42", "null"})
    EXPECT_FALSE(codec.decode(bad, kOrg).has_value()) << "'" << bad << "'";
  EXPECT_FALSE(codec.decode(std::string(5000, 'A'), kOrg).has_value());
  EXPECT_FALSE(codec.decode(auth::base64url_encode(std::string(64, '\0')), kOrg).has_value());
  // Trailing junk after a valid cursor must not crash the decoder.
  auto cursor = codec.encode(Position{SortKey::created_asc, 1, "", "0190f3a0-0000-7000-8000-000000000001"}, kOrg);
  (void)codec.decode(cursor + "==", kOrg);
  (void)codec.decode(cursor + "\n", kOrg);
}

// ---------------------------------------------------------------------------------------
// append_csv_row

Lead sample_lead() {
  Lead l;
  l.id = "0190f3a0-0000-7000-8000-0000000000aa";
  l.organization_id = std::string(kOrg);
  l.name = "Ada Lovelace";
  l.phone = "+14155550123";
  l.email = "ada@example.com";
  l.company = "Analytical Engines";
  l.source = "web";
  l.status = "qualified";
  l.assigned_to = "0190f3a0-0000-7000-8000-0000000000bb";
  l.tags = {"hot", "vip"};
  l.created_at = *parse_rfc3339("2026-11-26T18:37:48.123Z");
  l.updated_at = *parse_rfc3339("2026-11-27T09:00:00.000Z");
  return l;
}

TEST(CsvRow, PlainRow) {
  std::string out;
  append_csv_row(out, sample_lead());
  EXPECT_EQ(out,
            "0190f3a0-0000-7000-8000-0000000000aa,Ada Lovelace,+14155550123,ada@example.com,Analytical Engines,web,"
            "qualified,0190f3a0-0000-7000-8000-0000000000bb,hot;vip,2026-11-26T18:37:48.123Z,"
            "2026-11-27T09:00:00.000Z\r\n");
  // The header has the same number of columns.
  EXPECT_EQ(kCsvHeader, "id,name,phone,email,company,source,status,assignedTo,tags,createdAt,updatedAt\r\n");
}

TEST(CsvRow, AbsentValuesAreEmptyCellsAndRowsAppend) {
  Lead l = sample_lead();
  l.phone.reset();
  l.company.reset();
  l.source.reset();
  l.assigned_to.reset();
  l.tags.clear();
  std::string out = "previous\r\n";
  append_csv_row(out, l);
  EXPECT_EQ(out,
            "previous\r\n0190f3a0-0000-7000-8000-0000000000aa,Ada Lovelace,,ada@example.com,,,qualified,,,"
            "2026-11-26T18:37:48.123Z,2026-11-27T09:00:00.000Z\r\n");
}

TEST(CsvRow, QuotesCommasQuotesAndLineBreaks) {
  Lead l = sample_lead();
  l.name = "Smith, \"Bob\"";
  l.company = "Line1\nLine2";
  l.source = "a\r\nb";
  l.tags = {"x,y"};
  std::string out;
  append_csv_row(out, l);
  EXPECT_NE(out.find(",\"Smith, \"\"Bob\"\"\","), std::string::npos) << out;
  EXPECT_NE(out.find(",\"Line1\nLine2\","), std::string::npos) << out;
  EXPECT_NE(out.find(",\"a\r\nb\","), std::string::npos) << out;
  EXPECT_NE(out.find(",\"x,y\","), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.size() - 2), "\r\n");
  // A lone quote in the middle of a value.
  Lead q = sample_lead();
  q.name = "5\" floppy";
  std::string out2;
  append_csv_row(out2, q);
  EXPECT_NE(out2.find(",\"5\"\" floppy\","), std::string::npos) << out2;
}

TEST(CsvRow, FormulaCellsAreDefused) {
  for (std::string bad : {"=SUM(A1:A9)", "+1+2", "-2+3", "@cmd", "=HYPERLINK(\"http://x\",\"y\")"}) {
    Lead l = sample_lead();
    l.name = bad;
    l.company = bad;
    std::string out;
    append_csv_row(out, l);
    // Quoted, prefixed with an apostrophe, inner quotes doubled.
    std::string escaped;
    for (char c : bad) {
      if (c == '"') escaped.push_back('"');
      escaped.push_back(c);
    }
    std::string cell = ",\"'" + escaped + "\",";
    auto first = out.find(cell);
    EXPECT_NE(first, std::string::npos) << out;
    EXPECT_NE(out.find(cell, first + 1), std::string::npos) << "company: " << out;
    EXPECT_EQ(out.find("," + bad + ","), std::string::npos) << out;
  }
  // E.164 phone numbers start with '+' and are left alone.
  std::string out;
  append_csv_row(out, sample_lead());
  EXPECT_NE(out.find(",+14155550123,"), std::string::npos) << out;
  // A sign in the middle is harmless.
  Lead mid = sample_lead();
  mid.name = "A=B";
  std::string out3;
  append_csv_row(out3, mid);
  EXPECT_NE(out3.find(",A=B,"), std::string::npos) << out3;
}

// ---------------------------------------------------------------------------------------
// parse_sort

TEST(LeadSort, ParsesTheContractNames) {
  EXPECT_EQ(parse_sort("-createdAt"), SortKey::created_desc);
  EXPECT_EQ(parse_sort("createdAt"), SortKey::created_asc);
  EXPECT_EQ(parse_sort("-updatedAt"), SortKey::updated_desc);
  EXPECT_EQ(parse_sort("updatedAt"), SortKey::updated_asc);
  EXPECT_EQ(parse_sort("name"), SortKey::name_asc);
  for (auto key : {SortKey::created_desc, SortKey::created_asc, SortKey::updated_desc, SortKey::updated_asc,
                   SortKey::name_asc})
    EXPECT_EQ(parse_sort(sort_name(key)), key);
}

TEST(LeadSort, RejectsEverythingElse) {
  for (std::string_view bad : {"", "-name", "+createdAt", "createdat", "CreatedAt", "created_at", " name", "name ",
                               "-createdAt,name", "updated", "--createdAt", "id"})
    EXPECT_EQ(parse_sort(bad), std::nullopt) << "'" << bad << "'";
}

}  // namespace
}  // namespace lms::leads

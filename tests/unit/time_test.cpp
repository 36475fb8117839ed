// RFC 3339 timestamps: formatting, parsing, offsets and rejection of malformed text.
#include <gtest/gtest.h>

#include <string>

#include "common/time.h"

namespace lms {
namespace {

bool has_contract_shape(const std::string& s) {
  // YYYY-MM-DDTHH:MM:SS.mmmZ
  if (s.size() != 24) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    switch (i) {
      case 4: case 7: if (c != '-') return false; break;
      case 10: if (c != 'T') return false; break;
      case 13: case 16: if (c != ':') return false; break;
      case 19: if (c != '.') return false; break;
      case 23: if (c != 'Z') return false; break;
      default: if (c < '0' || c > '9') return false;
    }
  }
  return true;
}

TEST(FormatRfc3339, KnownValues) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(1), "1970-01-01T00:00:00.001Z");
  EXPECT_EQ(format_rfc3339(1'700'000'000'123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(format_rfc3339(951'782'400'000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(253'402'300'799'999), "9999-12-31T23:59:59.999Z");
}

TEST(FormatRfc3339, BeforeTheEpoch) {
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339(-1000), "1969-12-31T23:59:59.000Z");
  EXPECT_EQ(format_rfc3339(-1001), "1969-12-31T23:59:58.999Z");
}

TEST(FormatRfc3339, NowHasContractShape) {
  auto now = format_rfc3339(now_ms());
  EXPECT_TRUE(has_contract_shape(now)) << now;
  EXPECT_EQ(now.substr(0, 2), "20");
}

TEST(ParseRfc3339, RoundTrip) {
  for (Millis ms : {Millis{0}, Millis{1}, Millis{999}, Millis{1'700'000'000'123}, Millis{951'782'400'000},
                    Millis{4'102'444'800'000}, Millis{253'402'300'799'999}, Millis{-1}, Millis{-86'400'001},
                    now_ms()}) {
    auto text = format_rfc3339(ms);
    auto back = parse_rfc3339(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(*back, ms) << text;
  }
}

TEST(ParseRfc3339, FractionIsOptionalAndTruncatedToMillis) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:01Z"), Millis{1000});
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:01.5Z"), Millis{1500});
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:01.05Z"), Millis{1050});
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:01.123456789Z"), Millis{1123});
}

TEST(ParseRfc3339, Offsets) {
  auto utc = parse_rfc3339("2024-06-01T10:00:00.000Z");
  ASSERT_TRUE(utc.has_value());
  EXPECT_EQ(parse_rfc3339("2024-06-01T12:00:00.000+02:00"), utc);
  EXPECT_EQ(parse_rfc3339("2024-06-01T12:00:00+02:00"), utc);
  EXPECT_EQ(parse_rfc3339("2024-06-01T04:30:00-05:30"), utc);
  EXPECT_EQ(parse_rfc3339("2024-06-01T10:00:00+00:00"), utc);
  EXPECT_EQ(parse_rfc3339("2024-06-01T10:00:00-00:00"), utc);
  // Crossing a date boundary.
  EXPECT_EQ(parse_rfc3339("2024-06-02T01:00:00+15:00"), utc);
  EXPECT_EQ(parse_rfc3339("2024-01-01T01:00:00+02:00"), parse_rfc3339("2023-12-31T23:00:00Z"));
}

TEST(ParseRfc3339, LowerCaseSeparatorsAreAccepted) {
  EXPECT_EQ(parse_rfc3339("2024-06-01t10:00:00z"), parse_rfc3339("2024-06-01T10:00:00Z"));
}

TEST(ParseRfc3339, LeapDay) {
  auto leap = parse_rfc3339("2024-02-29T00:00:00Z");
  ASSERT_TRUE(leap.has_value());
  EXPECT_EQ(format_rfc3339(*leap), "2024-02-29T00:00:00.000Z");
}

TEST(ParseRfc3339, InvalidStringsAreRejected) {
  for (std::string_view bad : {
           "",
           "2024",
           "2024-06-01",
           "2024-06-01T10:00",
           "2024-06-01T10:00:00",         // no zone
           "2024-06-01T10:00:00.000",     // no zone
           "2024-06-01 10:00:00Z",        // space instead of T
           "2024/06/01T10:00:00Z",
           "24-06-01T10:00:00Z",
           "2024-6-01T10:00:00Z",
           "2024-06-1T10:00:00Z",
           "2024-13-01T10:00:00Z",        // month 13
           "2024-00-01T10:00:00Z",        // month 0
           "2024-06-00T10:00:00Z",        // day 0
           "2024-06-32T10:00:00Z",        // day 32
           "2024-06-01T24:00:00Z",        // hour 24
           "2024-06-01T10:60:00Z",        // minute 60
           "2024-06-01T10:00:61Z",        // second 61
           "2024-06-01T10:00:00.Z",       // empty fraction
           "2024-06-01T10:00:00ZZ",       // trailing junk
           "2024-06-01T10:00:00Z ",
           " 2024-06-01T10:00:00Z",
           "2024-06-01T10:00:00+0200",    // offset without colon
           "2024-06-01T10:00:00+02",      // offset without minutes
           "2024-06-01T10:00:00+2:00",
           "2024-06-01T10:00:00+02:00Z",
           "2024-06-01T10:00:00UTC",
           "abcd-ef-ghTij:kl:mnZ",
           "2024-06-01T10:00:00.12a3Z",
           "２０２４-06-01T10:00:00Z",
       })
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << "'" << bad << "'";
}

TEST(ParseRfc3339, ImpossibleCalendarDatesAreRejected) {
  // Shows a bug in src/common/time.cpp:58 (parse_rfc3339): the day is only checked against 31,
  // not against the month's length, so "2024-02-30T00:00:00Z" is accepted and silently becomes
  // 2024-03-01T00:00:00.000Z.
  // RFC 3339 section 5.7: the day must exist in its month and year.
  for (std::string_view bad : {"2023-02-29T00:00:00Z", "2024-02-30T00:00:00Z", "2024-04-31T00:00:00Z",
                               "2100-02-29T00:00:00Z"})
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
}

TEST(ParseRfc3339, OutOfRangeOffsetsAreRejected) {
  // Shows a bug in src/common/time.cpp:77-81 (parse_rfc3339): the offset's hours and minutes are
  // not range-checked, so "+24:00", "+02:60" and "-99:99" are accepted and applied.
  // RFC 3339 time-numoffset: hours 00-23, minutes 00-59.
  for (std::string_view bad : {"2024-06-01T10:00:00+24:00", "2024-06-01T10:00:00+02:60", "2024-06-01T10:00:00-99:99"})
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
}

}  // namespace
}  // namespace lms

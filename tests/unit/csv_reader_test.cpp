// Imports: the streaming CSV reader (quoting, line endings, BOM, sniffing, problems, chunk
// borders, resuming, counting, hostile input) and the header mapping.
#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <unistd.h>

#include "common/errors.h"
#include "imports/csv_reader.h"
#include "imports/header_mapping.h"

namespace lms::imports {
namespace {

using namespace std::literals;

// An owned copy of a record, comparable across readers.
struct Row {
  std::uint64_t row = 0, offset = 0, next_offset = 0;
  std::string raw;
  std::vector<std::string> fields;
  RecordError error = RecordError::none;
  bool ragged = false;
  std::string reason;
  bool operator==(const Row&) const = default;
};

Row copy(const CsvRecord& r) {
  return Row{r.row, r.offset, r.next_offset, std::string(r.raw), std::vector<std::string>(r.fields.begin(), r.fields.end()),
             r.error, r.ragged(), r.reason()};
}

std::ostream& operator<<(std::ostream& out, const Row& r) {
  out << "{row " << r.row << " @" << r.offset << ".." << r.next_offset << " error " << static_cast<int>(r.error)
      << " reason '" << r.reason << "' fields [";
  for (const auto& f : r.fields) out << "'" << f << "' ";
  return out << "]}";
}

std::vector<Row> drain(CsvReader& reader) {
  std::vector<Row> rows;
  while (const CsvRecord* r = reader.next()) rows.push_back(copy(*r));
  return rows;
}

std::vector<Row> read_all(std::string_view csv, CsvOptions options = {}) {
  CsvReader reader(std::make_unique<MemorySource>(csv), options);
  return drain(reader);
}

std::uint64_t count(std::string_view csv, CsvOptions options = {}) {
  return count_records(std::make_unique<MemorySource>(csv), options);
}

std::vector<std::string> values(std::initializer_list<const char*> list) { return {list.begin(), list.end()}; }

class TempFile {
 public:
  explicit TempFile(std::string_view content) {
    static std::atomic<int> serial{0};
    path_ = std::filesystem::temp_directory_path() /
            ("lms-csv-test-" + std::to_string(::getpid()) + "-" + std::to_string(serial++) + ".csv");
    std::ofstream out(path_, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  }
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Offsets point at the record's own bytes and move forward.
void expect_consistent(std::string_view csv, const std::vector<Row>& rows) {
  std::uint64_t previous_end = 0;
  for (const auto& r : rows) {
    EXPECT_GE(r.offset, previous_end) << r;
    EXPECT_LT(r.offset, r.next_offset) << r;
    EXPECT_LE(r.next_offset, csv.size()) << r;
    if (r.error != RecordError::too_large) {
      EXPECT_EQ(csv.substr(r.offset, r.raw.size()), r.raw) << r;
    }
    previous_end = r.next_offset;
  }
}

// ---- reading ----

TEST(CsvReader, ReadsHeaderAndRecords) {
  std::string csv = "name,phone\nAnn,123\nBob,456\n";
  CsvReader reader(std::make_unique<MemorySource>(csv));
  ASSERT_NE(reader.header(), nullptr);
  EXPECT_EQ(reader.header()->row, 1u);
  EXPECT_EQ(reader.header()->raw, "name,phone");
  EXPECT_EQ(reader.header_names(), values({"name", "phone"}));
  EXPECT_EQ(reader.delimiter(), ',');
  auto rows = drain(reader);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (Row{2, 11, 19, "Ann,123", values({"Ann", "123"}), RecordError::none, false, ""}));
  EXPECT_EQ(rows[1], (Row{3, 19, 27, "Bob,456", values({"Bob", "456"}), RecordError::none, false, ""}));
  EXPECT_EQ(reader.next(), nullptr);
  EXPECT_EQ(reader.next(), nullptr);
}

TEST(CsvReader, HeaderStaysValidWhileReading) {
  std::string csv = "\"a\"\"x\",b\n" + std::string(100, 'z') + ",1\n";
  CsvReader reader(std::make_unique<MemorySource>(csv), CsvOptions{4, 1024});
  while (reader.next() != nullptr) {
  }
  ASSERT_NE(reader.header(), nullptr);
  EXPECT_EQ(reader.header()->fields.size(), 2u);
  EXPECT_EQ(reader.header()->fields[0], "a\"x");
  EXPECT_EQ(reader.header()->raw, "\"a\"\"x\",b");
}

TEST(CsvReader, QuotedFieldsAndEscapedQuotes) {
  auto rows = read_all("a,b,c,d\n\"x,y\",\"say \"\"hi\"\"\",\"\",\"\"\"\"\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].fields, values({"x,y", "say \"hi\"", "", "\""}));
  EXPECT_TRUE(rows[0].error == RecordError::none);
}

TEST(CsvReader, QuotesInsideUnquotedFieldsAreLiteral) {
  auto rows = read_all("a,b\n5\" screen,x\"y\"\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].fields, values({"5\" screen", "x\"y\""}));
}

TEST(CsvReader, TextAfterClosingQuoteIsKept) {
  auto rows = read_all("a,b\n\"ab\"cd,\"x\"\"y\"z\"\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].fields, values({"abcd", "x\"yz\""}));
}

TEST(CsvReader, NewlinesInsideQuotesKeepRowNumbersAndOffsets) {
  std::string csv = "h1,h2\n\"multi\nline\r\nnote\",1\nnext,2\n";
  auto rows = read_all(csv);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].row, 2u);
  EXPECT_EQ(rows[0].fields, values({"multi\nline\r\nnote", "1"}));
  EXPECT_EQ(rows[0].offset, 6u);
  EXPECT_EQ(rows[0].raw, "\"multi\nline\r\nnote\",1");
  EXPECT_EQ(rows[1].row, 3u);
  EXPECT_EQ(rows[1].offset, csv.find("next"));
  EXPECT_EQ(rows[1].fields, values({"next", "2"}));
  expect_consistent(csv, rows);
}

TEST(CsvReader, LineEndings) {
  std::vector<std::string> expected_fields = {"1", "2"};
  for (std::string ending : {"\n", "\r\n", "\r"}) {
    std::string csv = "a,b" + ending + "1,2" + ending + "1,2" + ending;
    auto rows = read_all(csv);
    ASSERT_EQ(rows.size(), 2u) << "ending " << ending.size();
    for (const auto& r : rows) {
      EXPECT_EQ(r.fields, expected_fields);
      EXPECT_EQ(r.raw, "1,2");
    }
    EXPECT_EQ(rows[1].next_offset, csv.size());
  }
  std::string mixed = "a,b\r\n1,2\n3,4\r5,6\r\n7,8";
  auto rows = read_all(mixed);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[2].fields, values({"5", "6"}));
  EXPECT_EQ(rows[3].fields, values({"7", "8"}));
  EXPECT_EQ(rows[3].row, 5u);
  EXPECT_EQ(rows[3].next_offset, mixed.size());
  expect_consistent(mixed, rows);
}

TEST(CsvReader, LastRecordWithoutLineEnd) {
  auto rows = read_all("a,b\n1,");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].fields, values({"1", ""}));
  EXPECT_EQ(rows[0].next_offset, 6u);
}

TEST(CsvReader, SkipsBom) {
  std::string csv = "\xEF\xBB\xBFname,email\nAnn,a@x.io\n";
  CsvReader reader(std::make_unique<MemorySource>(csv));
  EXPECT_EQ(reader.header_names(), values({"name", "email"}));
  EXPECT_EQ(reader.header()->offset, 3u);
  auto rows = drain(reader);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].offset, csv.find("Ann"));
  // Only a leading BOM is special.
  auto later = read_all("a\n\xEF\xBB\xBFx\n");
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].fields, values({"\xEF\xBB\xBFx"}));
}

TEST(CsvReader, SniffsDelimiter) {
  struct Case {
    std::string csv;
    char delimiter;
    std::vector<std::string> first_row;
  };
  std::vector<Case> cases = {
      {"a,b,c\n1,2;3,4\n", ',', values({"1", "2;3", "4"})},
      {"a;b;c\n1;2,5;3\n", ';', values({"1", "2,5", "3"})},
      {"a\tb\tc\n1\t2,5;6\t3\n", '\t', values({"1", "2,5;6", "3"})},
      {"name\n1,2\n", ',', values({"1", "2"})},             // none: comma
      {"a;b,c\n1;2,3\n", ',', values({"1;2", "3"})},        // tie: comma
      {"a;b\tc\n1;2\t3\n", ';', values({"1", "2\t3"})},     // tie between ; and tab: ;
      {"\"x,y,z\";b\n1;2\n", ';', values({"1", "2"})},      // commas inside quotes do not count
      {"a;b;c,d\n1;2;3,4\n", ';', values({"1", "2", "3,4"})},
      {"\n\r\n  a;b\n1;2\n", ';', values({"1", "2"})},      // after empty lines
      {"\xEF\xBB\xBF" "a\tb\n1\t2\n", '\t', values({"1", "2"})},
  };
  for (const auto& c : cases) {
    CsvReader reader(std::make_unique<MemorySource>(c.csv));
    EXPECT_EQ(reader.delimiter(), c.delimiter) << c.csv;
    auto rows = drain(reader);
    ASSERT_FALSE(rows.empty()) << c.csv;
    EXPECT_EQ(rows[0].fields, c.first_row) << c.csv;
  }
}

TEST(CsvReader, RaggedRowsAreFlaggedWithTheirRow) {
  auto rows = read_all("a,b,c\n1,2,3\n1,2\n\"x\ny\",2,3,4\n1,2,3\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_FALSE(rows[0].ragged);
  EXPECT_TRUE(rows[1].ragged);
  EXPECT_EQ(rows[1].row, 3u);
  EXPECT_EQ(rows[1].reason, "expected 3 fields, found 2");
  EXPECT_TRUE(rows[2].ragged);
  EXPECT_EQ(rows[2].row, 4u);
  EXPECT_EQ(rows[2].reason, "expected 3 fields, found 4");
  EXPECT_FALSE(rows[3].ragged);
  EXPECT_EQ(rows[3].row, 5u);
}

TEST(CsvReader, RecordValidity) {
  CsvReader reader(std::make_unique<MemorySource>("a,b\n1,2\n1\n"));
  const CsvRecord* good = reader.next();
  ASSERT_NE(good, nullptr);
  EXPECT_TRUE(good->valid());
  EXPECT_EQ(good->reason(), "");
  const CsvRecord* ragged = reader.next();
  ASSERT_NE(ragged, nullptr);
  EXPECT_FALSE(ragged->valid());
  EXPECT_TRUE(ragged->error == RecordError::none);
}

TEST(Utf8, AcceptsWellFormedText) {
  for (std::string_view text : {""sv, "plain ascii"sv, "Zo\xC3\xAB"sv, "\xE2\x82\xAC"sv, "\xED\x9F\xBF"sv,
                                "\xEE\x80\x80"sv, "\xEF\xBF\xBF"sv, "\xF0\x90\x80\x80"sv, "\xF0\x9F\x98\x80"sv,
                                "\xF4\x8F\xBF\xBF"sv, "\xC2\x80"sv, "\xDF\xBF"sv, "\xE0\xA0\x80"sv, "a\0b"sv,
                                "0123456789abcdef0123456789abcdef\xC3\xA9 0123456789abcdef\xE2\x82\xAC"sv})
    EXPECT_TRUE(is_valid_utf8(text)) << text;
}

TEST(Utf8, RejectsMalformedText) {
  for (std::string_view text : {
           "\x80"sv,                  // lone continuation byte
           "\xBF"sv,                  //
           "\xC0\x80"sv,              // overlong NUL
           "\xC1\xBF"sv,              // overlong
           "\xE0\x80\x80"sv,          // overlong 3-byte
           "\xE0\x9F\xBF"sv,          // overlong 3-byte
           "\xF0\x80\x80\x80"sv,      // overlong 4-byte
           "\xF0\x8F\xBF\xBF"sv,      // overlong 4-byte
           "\xED\xA0\x80"sv,          // surrogate U+D800
           "\xED\xBF\xBF"sv,          // surrogate U+DFFF
           "\xF4\x90\x80\x80"sv,      // above U+10FFFF
           "\xF5\x80\x80\x80"sv,      // invalid lead
           "\xFE"sv, "\xFF"sv,        // never in UTF-8
           "\xC3"sv,                  // truncated 2-byte
           "\xE2\x82"sv,              // truncated 3-byte
           "\xF0\x9F\x98"sv,          // truncated 4-byte
           "\xE2\x28\xA1"sv,          // bad continuation
           "\xC3\x28"sv,              //
           "0123456789abcdef0123456789abcdef\xC3"sv,  // truncated after the fast path
           "\xFF\xFEn\0a\0m\0e\0"sv,  // UTF-16 with its BOM
       })
    EXPECT_FALSE(is_valid_utf8(text)) << testing::PrintToString(std::string(text));
}

TEST(CsvReader, InvalidUtf8FlagsTheRecord) {
  std::string csv = "name,city\nZo\xC3\xAB,ok\nbad\xC3,x\nover\xC0\xAF,x\nsur\xED\xA0\x80,x\nfine,\xE2\x82\xAC\n";
  auto rows = read_all(csv);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_TRUE(rows[0].error == RecordError::none);
  for (int i : {1, 2, 3}) {
    EXPECT_TRUE(rows[i].error == RecordError::invalid_utf8) << rows[i];
    EXPECT_EQ(rows[i].reason, "invalid UTF-8");
    EXPECT_EQ(rows[i].fields.size(), 2u);
  }
  EXPECT_EQ(rows[1].row, 3u);
  EXPECT_TRUE(rows[4].error == RecordError::none);
}

TEST(CsvReader, InvalidUtf8InHeaderIsReported) {
  CsvReader reader(std::make_unique<MemorySource>("\xFF\xFEn\0a\0m\0e\0\n"sv));
  ASSERT_NE(reader.header(), nullptr);
  EXPECT_TRUE(reader.header()->error == RecordError::invalid_utf8);
}

TEST(CsvReader, UnterminatedQuoteInvalidatesTheLastRecord) {
  std::string csv = "a,b\n1,2\n3,\"open\nstill open,4\n5,6\n";
  auto rows = read_all(csv);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[0].error == RecordError::none);
  EXPECT_TRUE(rows[1].error == RecordError::unterminated_quote);
  EXPECT_EQ(rows[1].reason, "unterminated quoted field");
  EXPECT_EQ(rows[1].row, 3u);
  EXPECT_EQ(rows[1].next_offset, csv.size());
  EXPECT_EQ(rows[1].fields, values({"3", "open\nstill open,4\n5,6\n"}));
  EXPECT_EQ(count(csv), 2u);
}

TEST(CsvReader, EmptyLinesAreSkippedAndNotNumbered) {
  std::string csv = "\n\r\na,b\n\n1,2\r\n\r\n\r\n3,4\n\r\r\n\n";
  CsvReader reader(std::make_unique<MemorySource>(csv));
  EXPECT_EQ(reader.header_names(), values({"a", "b"}));
  auto rows = drain(reader);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].row, 2u);
  EXPECT_EQ(rows[0].fields, values({"1", "2"}));
  EXPECT_EQ(rows[1].row, 3u);
  EXPECT_EQ(rows[1].fields, values({"3", "4"}));
  EXPECT_EQ(count(csv), 2u);
  expect_consistent(csv, rows);
}

TEST(CsvReader, EmptyAndHeaderOnlyFiles) {
  for (std::string_view csv : {""sv, "\n\n"sv, "\r\n"sv, "\xEF\xBB\xBF"sv, "\xEF\xBB\xBF\r\n"sv}) {
    CsvReader reader(std::make_unique<MemorySource>(csv));
    EXPECT_EQ(reader.header(), nullptr);
    EXPECT_TRUE(reader.header_names().empty());
    EXPECT_EQ(reader.next(), nullptr);
    EXPECT_EQ(count(csv), 0u);
  }
  CsvReader reader(std::make_unique<MemorySource>("a,b\r\n"));
  ASSERT_NE(reader.header(), nullptr);
  EXPECT_EQ(reader.next(), nullptr);
  EXPECT_EQ(reader.checkpoint().offset, 5u);
  EXPECT_EQ(reader.checkpoint().next_row, 2u);
}

// A corpus that puts quotes, CRLF pairs and multi-byte characters everywhere.
std::string tricky_csv() {
  std::string csv = "\xEF\xBB\xBFname;\"phone\";notes\r\n";
  for (int i = 0; i < 40; ++i) {
    csv += "Zo\xC3\xAB " + std::to_string(i) + ";+1415555" + std::to_string(1000 + i) + ";";
    switch (i % 6) {
      case 0: csv += "\"multi\r\nline \"\"quoted\"\"; text\"\r\n"; break;
      case 1: csv += "plain\n"; break;
      case 2: csv += "\"\"\r\n\r\n"; break;
      case 3: csv += "ragged;extra\r"; break;
      case 4: csv += "bad\xE2\x82\r\n"; break;
      case 5: csv += "\xF0\x9F\x98\x80\"mid\"quote\"\n"; break;
    }
  }
  return csv + "last;\"unterminated\n;x";
}

TEST(CsvReader, ChunkBordersDoNotChangeTheRecords) {
  std::string csv = tricky_csv();
  auto expected = read_all(csv);
  ASSERT_EQ(expected.size(), 41u);
  expect_consistent(csv, expected);
  EXPECT_TRUE(expected.back().error == RecordError::unterminated_quote);
  for (std::size_t chunk = 1; chunk <= 70; ++chunk) {
    auto rows = read_all(csv, CsvOptions{chunk, 1 << 20});
    ASSERT_EQ(rows, expected) << "chunk " << chunk;
    EXPECT_EQ(count(csv, CsvOptions{chunk, 1 << 20}), expected.size());
  }
}

TEST(CsvReader, ResumingGivesTheSameRemainingRecords) {
  std::string csv = tricky_csv();
  TempFile file(csv);
  for (std::size_t chunk : {std::size_t{3}, std::size_t{17}, std::size_t{1} << 20}) {
    CsvOptions options{chunk, 1 << 20};
    auto reader = CsvReader::open(file.path(), options);
    std::vector<ResumePoint> checkpoints{reader.checkpoint()};
    std::vector<Row> all;
    while (const CsvRecord* r = reader.next()) {
      all.push_back(copy(*r));
      checkpoints.push_back(reader.checkpoint());
    }
    ASSERT_EQ(all.size(), 41u);
    for (std::size_t i = 0; i < checkpoints.size(); ++i) {
      EXPECT_EQ(checkpoints[i].delimiter, ';');
      EXPECT_EQ(checkpoints[i].expected_fields, 3u);
      EXPECT_EQ(checkpoints[i].next_row, i + 2);
      auto resumed = CsvReader::open(file.path(), checkpoints[i], options);
      EXPECT_EQ(resumed.header(), nullptr);
      EXPECT_EQ(drain(resumed), std::vector<Row>(all.begin() + static_cast<std::ptrdiff_t>(i), all.end()))
          << "checkpoint " << i << " chunk " << chunk;
    }
  }
}

TEST(CsvReader, ResumeAtKeepsTheHeader) {
  std::string csv = tricky_csv();
  TempFile file(csv);
  auto all = read_all(csv);
  for (std::size_t i : {std::size_t{0}, std::size_t{5}, std::size_t{40}}) {
    auto reader = CsvReader::open(file.path(), CsvOptions{11, 1 << 20});
    reader.resume_at(all[i].offset, all[i].row);
    EXPECT_EQ(reader.header_names(), values({"name", "phone", "notes"}));
    EXPECT_EQ(reader.delimiter(), ';');
    EXPECT_EQ(drain(reader), std::vector<Row>(all.begin() + static_cast<std::ptrdiff_t>(i), all.end()));
  }
  auto reader = CsvReader::open(file.path());
  reader.resume_at(csv.size(), 99);
  EXPECT_EQ(reader.next(), nullptr);
  EXPECT_EQ(reader.checkpoint().next_row, 99u);
}

TEST(CsvReader, CheckpointAfterHeaderAndAtTheEnd) {
  std::string csv = "a,b\n1,2\n\n";
  CsvReader reader(std::make_unique<MemorySource>(csv));
  auto start = reader.checkpoint();
  EXPECT_EQ(start.offset, 4u);
  EXPECT_EQ(start.next_row, 2u);
  EXPECT_EQ(start.expected_fields, 2u);
  ASSERT_NE(reader.next(), nullptr);
  EXPECT_EQ(reader.next(), nullptr);
  EXPECT_EQ(reader.checkpoint().offset, 8u);
  EXPECT_EQ(reader.checkpoint().next_row, 3u);
  CsvReader resumed(std::make_unique<MemorySource>(csv), reader.checkpoint());
  EXPECT_EQ(resumed.next(), nullptr);
}

TEST(CsvReader, CountAgreesWithReading) {
  std::string csv = tricky_csv();
  TempFile file(csv);
  EXPECT_EQ(count_records(file.path()), read_all(csv).size());
  EXPECT_EQ(count_records(file.path(), CsvOptions{5, 64}), read_all(csv, CsvOptions{5, 64}).size());
}

TEST(CsvReader, OversizedRecordsAreSkipped) {
  std::string big(100, 'x');
  std::string csv = "a,b\n1,2\n" + big + ",3\n\"" + big + "\n" + big + "\",4\n5,6\n\"" + big + "\n";
  std::vector<Row> expected;
  for (std::size_t chunk : {1, 2, 7, 33, 64, 200, 1 << 20}) {
    auto rows = read_all(csv, CsvOptions{chunk, 64});
    ASSERT_EQ(rows.size(), 5u) << "chunk " << chunk;
    EXPECT_TRUE(rows[0].error == RecordError::none);
    EXPECT_TRUE(rows[1].error == RecordError::too_large);
    EXPECT_EQ(rows[1].reason, "row larger than 64 bytes");
    EXPECT_TRUE(rows[1].raw.empty());
    EXPECT_TRUE(rows[1].fields.empty());
    EXPECT_FALSE(rows[1].ragged);
    EXPECT_EQ(rows[1].row, 3u);
    EXPECT_TRUE(rows[2].error == RecordError::too_large);  // a quoted newline inside does not end it
    EXPECT_EQ(rows[2].row, 4u);
    EXPECT_EQ(rows[3].fields, values({"5", "6"}));
    EXPECT_EQ(rows[3].row, 5u);
    EXPECT_TRUE(rows[4].error == RecordError::unterminated_quote);
    expect_consistent(csv, rows);
    EXPECT_EQ(count(csv, CsvOptions{chunk, 64}), 5u);
    if (expected.empty()) expected = rows;
    EXPECT_EQ(rows, expected) << "chunk " << chunk;
  }
  // Exactly at the limit is fine, with either line ending.
  for (std::string ending : {"\n", "\r\n", "\r"}) {
    auto rows = read_all("a\n" + std::string(64, 'y') + ending + "z" + ending, CsvOptions{5, 64});
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_TRUE(rows[0].error == RecordError::none);
    EXPECT_EQ(rows[0].raw.size(), 64u);
  }
  auto mib = read_all("a\n" + std::string((1 << 20) + 1, 'y') + "\nz\n");
  ASSERT_EQ(mib.size(), 2u);
  EXPECT_EQ(mib[0].reason, "row larger than 1 MiB");
}

TEST(CsvReader, OversizedHeader) {
  CsvReader reader(std::make_unique<MemorySource>(std::string(100, 'h') + "\n1\n"), CsvOptions{8, 64});
  ASSERT_NE(reader.header(), nullptr);
  EXPECT_TRUE(reader.header()->error == RecordError::too_large);
  EXPECT_TRUE(reader.header_names().empty());
  auto rows = drain(reader);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows[0].ragged);  // no field count to compare with
}

TEST(CsvReader, FileSourceErrors) {
  EXPECT_THROW(CsvReader::open("/nonexistent/lms/file.csv"), std::system_error);
  EXPECT_THROW(count_records(std::filesystem::path("/nonexistent/lms/file.csv")), std::system_error);
}

TEST(CsvReader, LargeGeneratedFileReadsLikeMemory) {
  std::string csv = "First Name,Last Name,Phone,Email,Notes\r\n";
  for (int i = 0; i < 30000; ++i)
    csv += "Ann" + std::to_string(i) + ",Lee,+1415555" + std::to_string(i % 10000) + ",a" + std::to_string(i) +
           "@x.io," + (i % 7 == 0 ? "\"long\nnote, with \"\"quotes\"\"\"" : "plain") + "\r\n";
  TempFile file(csv);
  CsvOptions small_chunks{4096, 1 << 20};
  auto reader = CsvReader::open(file.path(), small_chunks);
  auto rows = drain(reader);
  ASSERT_EQ(rows.size(), 30000u);
  EXPECT_EQ(rows.back().row, 30001u);
  EXPECT_EQ(rows.back().next_offset, csv.size());
  EXPECT_EQ(rows[7].fields[4], "long\nnote, with \"quotes\"");
  for (const auto& r : rows) ASSERT_TRUE(r.error == RecordError::none && !r.ragged) << r;
  EXPECT_EQ(rows, read_all(csv));
  EXPECT_EQ(count_records(file.path(), small_chunks), 30000u);
}

// ---- against a plain byte-by-byte parser of the same grammar ----

struct ReferenceRecord {
  std::vector<std::string> fields;
  std::string raw;
  bool unterminated = false;
};

std::vector<ReferenceRecord> reference_parse(std::string_view csv, char delimiter) {
  enum class At { field_start, unquoted, quoted, quote_in_quoted };
  std::vector<ReferenceRecord> records;
  std::size_t i = csv.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  while (i < csv.size()) {
    if (csv[i] == '\n' || csv[i] == '\r') {  // an empty line
      i += (csv[i] == '\r' && i + 1 < csv.size() && csv[i + 1] == '\n') ? 2 : 1;
      continue;
    }
    ReferenceRecord record;
    std::size_t start = i;
    std::string field;
    At at = At::field_start;
    for (;;) {
      if (i == csv.size()) {
        record.fields.push_back(field);
        record.raw = csv.substr(start);
        record.unterminated = at == At::quoted;
        break;
      }
      char c = csv[i];
      if (at == At::field_start) {
        if (c == '"') {
          at = At::quoted;
          ++i;
          continue;
        }
        at = At::unquoted;
      }
      if (at == At::quoted) {
        if (c == '"') at = At::quote_in_quoted;
        else field += c;
        ++i;
      } else if (at == At::quote_in_quoted) {
        if (c == '"') {
          field += '"';
          at = At::quoted;
          ++i;
        } else {
          at = At::unquoted;
        }
      } else if (c == delimiter) {
        record.fields.push_back(field);
        field.clear();
        at = At::field_start;
        ++i;
      } else if (c == '\n' || c == '\r') {
        record.fields.push_back(field);
        record.raw = csv.substr(start, i - start);
        i += (c == '\r' && i + 1 < csv.size() && csv[i + 1] == '\n') ? 2 : 1;
        break;
      } else {
        field += c;
        ++i;
      }
    }
    records.push_back(std::move(record));
  }
  return records;
}

std::string random_csv(std::mt19937& random) {
  static const std::string_view pieces[] = {",", ",", ";", "\t", "\"", "\"\"", "\n", "\r\n", "\r", "\xC3\xA9"};
  std::string csv;
  std::size_t length = random() % 600;
  while (csv.size() < length) {
    if (random() % 2 == 0) csv.append(random() % 150, static_cast<char>('a' + random() % 26));
    else csv += pieces[random() % std::size(pieces)];
  }
  return csv;
}

TEST(CsvReader, AgreesWithAPlainParser) {
  std::mt19937 random(2024);
  for (int n = 0; n < 400; ++n) {
    std::string csv = random_csv(random);
    for (std::size_t chunk : {std::size_t{1} << 20, std::size_t{5}, std::size_t{64}}) {
      CsvReader reader(std::make_unique<MemorySource>(csv), CsvOptions{chunk, 1 << 20});
      auto expected = reference_parse(csv, reader.delimiter());
      if (expected.empty()) {
        EXPECT_EQ(reader.header(), nullptr);
        continue;
      }
      ASSERT_NE(reader.header(), nullptr);
      EXPECT_EQ(reader.header_names(), expected[0].fields) << testing::PrintToString(csv);
      auto rows = drain(reader);
      ASSERT_EQ(rows.size(), expected.size() - 1) << testing::PrintToString(csv);
      for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& want = expected[i + 1];
        EXPECT_EQ(rows[i].fields, want.fields) << testing::PrintToString(csv);
        EXPECT_EQ(rows[i].raw, want.raw);
        EXPECT_EQ(rows[i].error == RecordError::unterminated_quote, want.unterminated);
      }
    }
  }
}

// ---- hostile input: never a crash, always self-consistent ----

std::vector<std::string> hostile_inputs() {
  std::vector<std::string> inputs = {
      ""s,
      "\0"s,
      "a,b\n\0,\0\n\0\0\0"s,
      "\""s,
      "\"\""s,
      "\"\"\""s,
      std::string(1000, '"'),
      std::string(1001, '"'),
      ","s,
      std::string(1000, ','),
      std::string(1000, ';'),
      std::string(1000, '\t'),
      "\r"s,
      "\r\r\r"s,
      "a\rb\r\r\nc"s,
      "\n\r\n\r"s,
      "a,b\n\"x\"\"\r"s,
      "a,b\n\"\r\n\"\r\n\"\r"s,
      "\xEF\xBB"s,
      "\xEF\xBB\xBF\xEF\xBB\xBF"s,
      "\xFF\xFE\xFD"s,
      "a\n\"\"\"\",\"\"\n"s,
      "a,\"b\nc\"d\"e\"\"\n"s,
  };
  std::string wide;
  for (int i = 0; i < 10000; ++i) wide += (i ? "," : "") + std::to_string(i);
  inputs.push_back(wide + "\n" + wide + "\n" + wide.substr(0, wide.size() / 2) + "\n");
  std::mt19937 random(12345);
  const std::string alphabet = "ab,;\t\"\r\n\0\xC3\xA9\xFF"s;
  for (int n = 0; n < 200; ++n) {
    std::string text;
    std::size_t length = random() % 200;
    for (std::size_t i = 0; i < length; ++i) text.push_back(alphabet[random() % alphabet.size()]);
    inputs.push_back(text);
  }
  return inputs;
}

TEST(CsvReader, HostileInputsDoNotBreakIt) {
  for (const auto& input : hostile_inputs()) {
    std::vector<Row> reference;
    bool first = true;
    for (CsvOptions options : {CsvOptions{}, CsvOptions{1, 16}, CsvOptions{3, 1}, CsvOptions{7, 64}}) {
      CsvReader reader(std::make_unique<MemorySource>(input), options);
      auto rows = drain(reader);
      expect_consistent(input, rows);
      EXPECT_EQ(count(input, options), rows.size()) << testing::PrintToString(input);
      if (const CsvRecord* header = reader.header()) {
        auto mapping = map_headers(reader.header_names());
        for (const auto& r : rows) {
          std::vector<std::string_view> fields(r.fields.begin(), r.fields.end());
          try {
            (void)lead_values(fields, mapping.columns);
          } catch (const ApiError&) {
            // a control character in a custom cell: an invalid row, not a crash
          }
        }
        EXPECT_EQ(header->row, 1u);
      }
      for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].row, i + 2);
      if (first) reference = rows;
      if (options.max_record_size >= input.size()) {
        EXPECT_EQ(rows, reference) << testing::PrintToString(input);
      }
      first = false;
    }
  }
}

// ---- header mapping ----

std::vector<std::string> header_of(std::initializer_list<const char*> names) { return {names.begin(), names.end()}; }

TEST(HeaderMapping, NormalizesHeaders) {
  EXPECT_EQ(normalize_header("  E-Mail_Address "), "e mail address");
  EXPECT_EQ(normalize_header("Phone  Number"), "phone number");
  EXPECT_EQ(normalize_header("__first--name__"), "first name");
  EXPECT_EQ(normalize_header(""), "");
  EXPECT_EQ(normalize_header("Téléphone"), "téléphone");
}

TEST(HeaderMapping, RecognizesSynonyms) {
  struct Case {
    const char* header;
    LeadField field;
  };
  for (auto [header, field] : std::vector<Case>{
           {"Phone Number", LeadField::phone}, {"Mobile", LeadField::phone}, {"Tel", LeadField::phone},
           {"phone", LeadField::phone}, {"Telephone", LeadField::phone}, {"CELL", LeadField::phone},
           {"mobile phone", LeadField::phone}, {"phone_number", LeadField::phone}, {"Full Name", LeadField::name},
           {" Name ", LeadField::name}, {"First Name", LeadField::first_name}, {"firstname", LeadField::first_name},
           {"Given Name", LeadField::first_name}, {"Last Name", LeadField::last_name},
           {"surname", LeadField::last_name}, {"last_name", LeadField::last_name}, {"E-mail", LeadField::email},
           {"Email", LeadField::email}, {"Email Address", LeadField::email}, {"email-address", LeadField::email},
           {"Company", LeadField::company}, {"Organization", LeadField::company},
           {"Organisation", LeadField::company}, {"Company Name", LeadField::company},
           {"source", LeadField::source}, {"STATUS", LeadField::status}, {"Tags", LeadField::tags}}) {
    auto result = map_headers(header_of({header}));
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.columns.column(field), std::optional<std::size_t>(0)) << header;
    EXPECT_TRUE(result.columns.custom.empty()) << header;
  }
}

TEST(HeaderMapping, MapsATypicalHeader) {
  auto result = map_headers(header_of({"First Name", "Last Name", "Mobile", "E-mail", "Organization", "Notes", "Tags"}));
  ASSERT_TRUE(result.ok());
  const ColumnMap& c = result.columns;
  EXPECT_FALSE(c.name);
  EXPECT_EQ(c.first_name, 0u);
  EXPECT_EQ(c.last_name, 1u);
  EXPECT_EQ(c.phone, 2u);
  EXPECT_EQ(c.email, 3u);
  EXPECT_EQ(c.company, 4u);
  EXPECT_EQ(c.tags, 6u);
  ASSERT_EQ(c.custom.size(), 1u);
  EXPECT_EQ(c.custom[0].index, 5u);
  EXPECT_EQ(c.custom[0].key, "Notes");
  EXPECT_TRUE(c.usable());
  EXPECT_EQ(c.unusable_reason(), "");
}

TEST(HeaderMapping, FirstMatchWinsAndOthersBecomeCustom) {
  auto result = map_headers(header_of({"Name", "Phone", "Mobile", "  Notes ", "Notes", "", "notes"}));
  const ColumnMap& c = result.columns;
  EXPECT_EQ(c.phone, 1u);
  ASSERT_EQ(c.custom.size(), 5u);
  EXPECT_EQ(c.custom[0].key, "Mobile");
  EXPECT_EQ(c.custom[1].key, "Notes");
  EXPECT_EQ(c.custom[2].key, "Notes (2)");
  EXPECT_EQ(c.custom[3].key, "column 6");
  EXPECT_EQ(c.custom[4].key, "notes");
}

TEST(HeaderMapping, UnusableHeaders) {
  auto none = map_headers(header_of({"foo", "bar"})).columns;
  EXPECT_FALSE(none.usable());
  EXPECT_NE(none.unusable_reason().find("no name column"), std::string::npos);
  EXPECT_NE(none.unusable_reason().find("no phone or email column"), std::string::npos);
  auto no_contact = map_headers(header_of({"Name", "Company"})).columns;
  EXPECT_FALSE(no_contact.usable());
  EXPECT_EQ(no_contact.unusable_reason().find("no name"), std::string::npos);
  auto no_name = map_headers(header_of({"Email"})).columns;
  EXPECT_FALSE(no_name.usable());
  EXPECT_TRUE(map_headers(header_of({"Last Name", "Email"})).columns.usable());
  EXPECT_FALSE(map_headers({}).columns.usable());
}

TEST(HeaderMapping, ExplicitMappingOverrides) {
  auto parsed = parse_mapping_json(R"({"Work Phone": "phone", "Contact": "name", "Mobile": null, "Ref": "custom",
                                      "Organization": "ignore", "Given": "firstName", "Family": "last_name"})");
  ASSERT_EQ(parsed.error, "");
  auto result = map_headers(header_of({"Mobile", "Work Phone", "Contact", "Name", "Ref", "Organization", "Email",
                                       "Given", "Family"}),
                            parsed.mapping);
  ASSERT_TRUE(result.ok()) << result.error_message();
  const ColumnMap& c = result.columns;
  EXPECT_EQ(c.phone, 1u);
  EXPECT_EQ(c.name, 2u);
  EXPECT_EQ(c.email, 6u);
  EXPECT_FALSE(c.company);
  EXPECT_EQ(c.first_name, 7u);
  EXPECT_EQ(c.last_name, 8u);
  ASSERT_EQ(c.custom.size(), 2u);  // "Name" lost to the explicit name; "Ref" kept; "Mobile" dropped
  EXPECT_EQ(c.custom[0].key, "Name");
  EXPECT_EQ(c.custom[1].key, "Ref");
}

TEST(HeaderMapping, ExplicitMappingMatchesHeadersLoosely) {
  auto result = map_headers(header_of({" Cell Number "}), ExplicitMapping{{"cell_number", "Phone"}});
  ASSERT_TRUE(result.ok()) << result.error_message();
  EXPECT_EQ(result.columns.phone, 0u);
}

TEST(HeaderMapping, ExplicitMappingErrors) {
  auto header = header_of({"A", "B", "C"});
  auto unknown_field = map_headers(header, ExplicitMapping{{"A", "nickname"}});
  ASSERT_EQ(unknown_field.errors.size(), 1u);
  EXPECT_NE(unknown_field.errors[0].find("unknown field \"nickname\""), std::string::npos);
  auto missing_header = map_headers(header, ExplicitMapping{{"Z", "phone"}});
  ASSERT_EQ(missing_header.errors.size(), 1u);
  EXPECT_NE(missing_header.errors[0].find("\"Z\", which the file does not have"), std::string::npos);
  auto twice = map_headers(header, ExplicitMapping{{"A", "phone"}, {"B", "phone"}});
  ASSERT_EQ(twice.errors.size(), 1u);
  EXPECT_NE(twice.errors[0].find("both \"A\" and \"B\" to phone"), std::string::npos);
  auto same_column = map_headers(header, ExplicitMapping{{"A", "phone"}, {"a", "email"}});
  ASSERT_EQ(same_column.errors.size(), 1u);
  auto several = map_headers(header, ExplicitMapping{{"A", "x"}, {"Y", "name"}});
  EXPECT_EQ(several.errors.size(), 2u);
  EXPECT_NE(several.error_message().find("; "), std::string::npos);
}

TEST(HeaderMapping, ParsesMappingJson) {
  auto parsed = parse_mapping_json(R"({"Tel": "phone", "X": null})");
  ASSERT_EQ(parsed.error, "");
  ASSERT_EQ(parsed.mapping.size(), 2u);
  EXPECT_EQ(parsed.mapping[0], (std::pair<std::string, std::string>{"Tel", "phone"}));
  EXPECT_EQ(parsed.mapping[1], (std::pair<std::string, std::string>{"X", "ignore"}));
  EXPECT_NE(parse_mapping_json("{").error, "");
  EXPECT_NE(parse_mapping_json("").error, "");
  EXPECT_NE(parse_mapping_json("[]").error, "");
  EXPECT_NE(parse_mapping_json(R"({"a": 1})").error, "");
  EXPECT_EQ(parse_mapping_json("{}").error, "");
}

TEST(LeadValues, BuildsValuesFromARecord) {
  auto columns = map_headers(header_of({"First Name", "Last Name", "Phone", "Email", "Company", "Source", "Status",
                                        "Tags", "City", "Notes"}))
                     .columns;
  std::vector<std::string_view> record = {" Ann ", "Lee", " +1 415 555 0100 ", "A@X.IO", "Acme", "web", "new",
                                          "vip; hot|vip ,, cold", "Paris", "  "};
  LeadValues v = lead_values(record, columns);
  EXPECT_EQ(v.name, "Ann Lee");
  EXPECT_EQ(v.phone, "+1 415 555 0100");
  EXPECT_EQ(v.email, "A@X.IO");
  EXPECT_EQ(v.company, "Acme");
  EXPECT_EQ(v.source, "web");
  EXPECT_EQ(v.status, "new");
  EXPECT_EQ(v.tags, values({"vip", "hot", "cold"}));
  EXPECT_EQ(v.custom_json, R"({"City":"Paris"})");
}

TEST(LeadValues, NameVariants) {
  auto columns = map_headers(header_of({"Name", "First Name", "Last Name"})).columns;
  auto name_of = [&](std::vector<std::string_view> record) { return lead_values(record, columns).name; };
  EXPECT_EQ(name_of({"Full One", "A", "B"}), "Full One");
  EXPECT_EQ(name_of({"", "A", "B"}), "A B");
  EXPECT_EQ(name_of({"", "", "B"}), "B");
  EXPECT_EQ(name_of({"", "A", ""}), "A");
  EXPECT_EQ(name_of({"", " ", " "}), "");
  EXPECT_EQ(name_of({}), "");  // a short (ragged) record reads as empty cells
}

TEST(LeadValues, CustomJsonEscapesAndSkipsEmptyCells) {
  auto columns = map_headers(header_of({"Name", "Email", "Quote \"q\"", "Empty", "Zoë", "Extra"})).columns;
  std::vector<std::string_view> record = {"Ann", "a@x.io", "say \"hi\"\n\\", "", "\xC3\xA9t\xC3\xA9"};
  LeadValues v = lead_values(record, columns);
  rapidjson::Document parsed;
  parsed.Parse(v.custom_json.c_str());
  ASSERT_TRUE(parsed.IsObject()) << v.custom_json;
  EXPECT_EQ(parsed.MemberCount(), 2u);
  EXPECT_STREQ(parsed["Quote \"q\""].GetString(), "say \"hi\"\n\\");
  EXPECT_STREQ(parsed["Zoë"].GetString(), "\xC3\xA9t\xC3\xA9");
  EXPECT_FALSE(parsed.HasMember("Empty"));
  EXPECT_FALSE(parsed.HasMember("Extra"));
  EXPECT_EQ(lead_values(std::vector<std::string_view>{"Ann", "a@x.io"}, columns).custom_json, "{}");
}

TEST(LeadValues, NoTagsColumnMeansNoTags) {
  auto columns = map_headers(header_of({"Name", "Email"})).columns;
  std::vector<std::string_view> record = {"Ann", "a@x.io"};
  EXPECT_TRUE(lead_values(record, columns).tags.empty());
}

}  // namespace
}  // namespace lms::imports

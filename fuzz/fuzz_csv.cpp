// libFuzzer target: CSV imports. Arbitrary bytes must read without crashing, with records
// that agree with the count, with their own offsets, across chunk sizes and when resumed
// from any checkpoint; the header mapping and lead values must cope with whatever comes out.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/errors.h"
#include "imports/csv_reader.h"
#include "imports/header_mapping.h"

namespace {

using namespace lms::imports;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

struct Seen {
  std::uint64_t row, offset, next_offset;
  std::string raw;
  std::vector<std::string> fields;
  RecordError error;
  bool operator==(const Seen&) const = default;
};

Seen copy(const CsvRecord& r) {
  return {r.row, r.offset, r.next_offset, std::string(r.raw), {r.fields.begin(), r.fields.end()}, r.error};
}

struct Reading {
  std::vector<Seen> rows;
  std::vector<ResumePoint> checkpoints;  // before each row, then at the end
};

Reading read_all(std::string_view input, CsvOptions options) {
  CsvReader reader(std::make_unique<MemorySource>(input), options);
  Reading reading;
  ColumnMap columns;
  if (reader.header() != nullptr) {
    check(reader.header()->row == 1);
    columns = map_headers(reader.header_names()).columns;
    (void)columns.unusable_reason();
  }
  reading.checkpoints.push_back(reader.checkpoint());
  std::uint64_t previous_end = reading.checkpoints.back().offset;
  while (const CsvRecord* r = reader.next()) {
    check(r->row == reading.rows.size() + 2);
    check(r->offset >= previous_end && r->offset < r->next_offset && r->next_offset <= input.size());
    if (r->error != RecordError::too_large) check(input.substr(r->offset, r->raw.size()) == r->raw);
    if (r->valid()) {
      check(is_valid_utf8(r->raw));
      for (auto field : r->fields) check(is_valid_utf8(field));
      try {
        (void)lead_values(r->fields, columns);
      } catch (const lms::ApiError&) {
        // a custom value the lead rules refuse: the row is reported as invalid
      }
    }
    (void)r->reason();
    previous_end = r->next_offset;
    reading.rows.push_back(copy(*r));
    reading.checkpoints.push_back(reader.checkpoint());
  }
  check(count_records(std::make_unique<MemorySource>(input), options) == reading.rows.size());
  return reading;
}

void check_resume(std::string_view input, const Reading& reading, std::size_t from, CsvOptions options) {
  CsvReader resumed(std::make_unique<MemorySource>(input), reading.checkpoints[from], options);
  for (std::size_t i = from; i < reading.rows.size(); ++i) {
    const CsvRecord* r = resumed.next();
    check(r != nullptr && copy(*r) == reading.rows[i]);
  }
  check(resumed.next() == nullptr);

  CsvReader reopened(std::make_unique<MemorySource>(input), options);
  reopened.resume_at(reading.checkpoints[from].offset, reading.checkpoints[from].next_row);
  for (std::size_t i = from; i < reading.rows.size(); ++i) {
    const CsvRecord* r = reopened.next();
    check(r != nullptr && copy(*r) == reading.rows[i]);
  }
  check(reopened.next() == nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const CsvOptions whole{size + 1, size + 1};  // one read, no record too large
  const CsvOptions tiny_chunks{1 + size % 13, 1 << 20};
  const CsvOptions tiny_records{1 + size % 7, 1 + size % 61};

  Reading reference = read_all(input, whole);
  check(read_all(input, tiny_chunks).rows == reference.rows);
  Reading limited = read_all(input, tiny_records);

  check_resume(input, reference, reference.rows.size() / 2, tiny_chunks);
  check_resume(input, limited, limited.rows.size() / 3, tiny_records);

  (void)parse_mapping_json(input);
  return 0;
}

// The streaming CSV reader behind imports: RFC 4180 records read from a spool file (or any
// byte source) in fixed-size chunks, so memory stays bounded whatever the file size. It owns
// the byte sources, delimiter sniffing, BOM skipping, UTF-8 validation, per-record problems
// (ragged, unterminated quote, invalid UTF-8, too large), resumable positions and the
// record count that must agree with reading.
//
// Rows are numbered as a spreadsheet shows them: the header is row 1 and the first data
// record row 2. A row is a record, not a physical line (a quoted field may span lines);
// empty lines are skipped and take no row number.
// Offsets are byte offsets in the file, the BOM included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lms::imports {

// Where bytes come from. Readers throw std::system_error on I/O failure.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Copies up to `size` bytes into `into`; returns how many, 0 only at the end.
  virtual std::size_t read(char* into, std::size_t size) = 0;
  // The next read starts at this byte offset (past the end: the source is at its end).
  virtual void seek(std::uint64_t offset) = 0;
};

class FileSource final : public ByteSource {
 public:
  explicit FileSource(const std::filesystem::path& path);  // throws std::system_error
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  std::size_t read(char* into, std::size_t size) override;
  void seek(std::uint64_t offset) override;

 private:
  int fd_ = -1;
};

// Reads from bytes the caller keeps alive (tests, the fuzzer).
class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
  std::size_t read(char* into, std::size_t size) override;
  void seek(std::uint64_t offset) override;

 private:
  std::string_view bytes_;
  std::size_t position_ = 0;
};

struct CsvOptions {
  std::size_t chunk_size = std::size_t{1} << 20;       // bytes per read
  std::size_t max_record_size = std::size_t{1} << 20;  // a longer record is skipped as too large
};

enum class RecordError {
  none,
  too_large,           // longer than max_record_size: skipped, fields and raw are empty
  unterminated_quote,  // the file ends inside a quoted field (only the last record)
  invalid_utf8,
};

// One record, valid until the reader's next call.
struct CsvRecord {
  std::uint64_t row = 0;          // spreadsheet row: header 1, first data record 2
  std::uint64_t offset = 0;       // byte offset of the record's first byte
  std::uint64_t next_offset = 0;  // byte offset just past its line terminator
  std::string_view raw;           // original text without the line terminator
  std::vector<std::string_view> fields;  // unquoted, unescaped values
  RecordError error = RecordError::none;
  std::size_t expected_fields = 0;  // the header's field count; 0 when unknown
  std::size_t size_limit = 0;       // max_record_size, for the too_large reason

  // The field count differs from the header's (not asked of a too_large record, which has
  // no fields). The caller decides what that means.
  bool ragged() const {
    return expected_fields != 0 && error != RecordError::too_large && fields.size() != expected_fields;
  }
  bool valid() const { return error == RecordError::none && !ragged(); }
  // Why the record is not valid ("invalid UTF-8", "expected 10 fields, found 7", ...);
  // empty when it is.
  std::string reason() const;
};

// Everything needed to continue reading after a crash: store it with the work done up to it.
struct ResumePoint {
  std::uint64_t offset = 0;    // where the next record starts (or empty lines before it)
  std::uint64_t next_row = 2;  // the row number that record gets
  char delimiter = ',';
  std::size_t expected_fields = 0;
};

class CsvReader {
 public:
  // Reads from the start: skips a UTF-8 BOM and empty lines, sniffs the delimiter and reads
  // the header record.
  explicit CsvReader(std::unique_ptr<ByteSource> source, CsvOptions options = {});
  // Continues at a checkpoint taken from an earlier reader of the same file; no header.
  CsvReader(std::unique_ptr<ByteSource> source, const ResumePoint& at, CsvOptions options = {});
  ~CsvReader();
  CsvReader(CsvReader&&) noexcept;
  CsvReader& operator=(CsvReader&&) noexcept;

  static CsvReader open(const std::filesystem::path& path, CsvOptions options = {});
  static CsvReader open(const std::filesystem::path& path, const ResumePoint& at, CsvOptions options = {});

  // The header record (row 1), or null for a file without any record or a resumed reader.
  // A header with an error (too large, invalid UTF-8...) is still returned: refuse the file.
  // Unlike data records, it stays valid for the reader's lifetime.
  const CsvRecord* header() const;
  // The owned header values, for mapping and for the errors report (empty without a header).
  const std::vector<std::string>& header_names() const;
  char delimiter() const;

  // The next data record, or null at the end of the file.
  const CsvRecord* next();

  // Where to resume to read the records after the last one returned (or after the header).
  ResumePoint checkpoint() const;
  // Continues at a checkpoint's offset and row, keeping this reader's header and delimiter:
  // after a restart, open the file afresh (header, sniffing) and jump to the stored position.
  void resume_at(std::uint64_t offset, std::uint64_t next_row);

 private:
  CsvReader(std::unique_ptr<ByteSource> source, CsvOptions options, bool count_only);
  friend std::uint64_t count_records(std::unique_ptr<ByteSource> source, CsvOptions options);

  struct State;
  std::unique_ptr<State> state_;
};

// The number of data records (the header excluded) a CsvReader with the same options
// returns: the job's totalRows. Faster than reading: it finds record boundaries only.
std::uint64_t count_records(std::unique_ptr<ByteSource> source, CsvOptions options = {});
std::uint64_t count_records(const std::filesystem::path& path, CsvOptions options = {});

// Whether `text` is well-formed UTF-8 (no overlongs, surrogates, truncated sequences or
// code points above U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace lms::imports

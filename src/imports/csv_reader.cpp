// The streaming CSV reader: byte sources, the record scanner (one state machine shared by
// reading, skipping oversized records and counting, so they always agree), delimiter
// sniffing, UTF-8 validation and the chunked buffer.
#include "imports/csv_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace lms::imports {

// ---- byte sources ----

FileSource::FileSource(const std::filesystem::path& path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
}

FileSource::~FileSource() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t FileSource::read(char* into, std::size_t size) {
  for (;;) {
    ssize_t got = ::read(fd_, into, size);
    if (got >= 0) return static_cast<std::size_t>(got);
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "read");
  }
}

void FileSource::seek(std::uint64_t offset) {
  if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0)
    throw std::system_error(errno, std::generic_category(), "seek");
}

std::size_t MemorySource::read(char* into, std::size_t size) {
  std::size_t count = std::min(size, bytes_.size() - position_);
  if (count != 0) std::memcpy(into, bytes_.data() + position_, count);
  position_ += count;
  return count;
}

void MemorySource::seek(std::uint64_t offset) {
  position_ = static_cast<std::size_t>(std::min<std::uint64_t>(offset, bytes_.size()));
}

// ---- UTF-8 ----

namespace {

bool has_non_ascii(const unsigned char* p) {
  std::uint64_t a, b;
  std::memcpy(&a, p, 8);
  std::memcpy(&b, p + 8, 8);
  return ((a | b) & 0x8080808080808080ULL) != 0;
}

// Length of the well-formed sequence starting at a non-ASCII lead byte, or 0 (Unicode
// table 3-7: the second byte's range excludes overlongs, surrogates and > U+10FFFF).
std::size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) {
  unsigned char lead = p[0];
  unsigned char low = 0x80, high = 0xBF;
  std::size_t length;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead == 0xE0) {
    length = 3, low = 0xA0;
  } else if (lead == 0xED) {
    length = 3, high = 0x9F;
  } else if (lead >= 0xE1 && lead <= 0xEF) {
    length = 3;
  } else if (lead == 0xF0) {
    length = 4, low = 0x90;
  } else if (lead == 0xF4) {
    length = 4, high = 0x8F;
  } else if (lead >= 0xF1 && lead <= 0xF3) {
    length = 4;
  } else {
    return 0;
  }
  if (static_cast<std::size_t>(end - p) < length) return 0;
  if (p[1] < low || p[1] > high) return 0;
  for (std::size_t i = 2; i < length; ++i)
    if ((p[i] & 0xC0) != 0x80) return 0;
  return length;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  auto p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    while (end - p >= 16 && !has_non_ascii(p)) p += 16;
    if (p == end) break;
    if (*p < 0x80) {
      ++p;
      continue;
    }
    std::size_t length = utf8_sequence_length(p, end);
    if (length == 0) return false;
    p += length;
  }
  return true;
}

// ---- records ----

namespace {

std::string human_size(std::size_t bytes) {
  constexpr std::size_t kib = 1024, mib = kib * 1024;
  if (bytes != 0 && bytes % mib == 0) return std::to_string(bytes / mib) + " MiB";
  if (bytes != 0 && bytes % kib == 0) return std::to_string(bytes / kib) + " KiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

std::string CsvRecord::reason() const {
  switch (error) {
    case RecordError::too_large:
      return "row larger than " + human_size(size_limit);
    case RecordError::unterminated_quote:
      return "unterminated quoted field";
    case RecordError::invalid_utf8:
      return "invalid UTF-8";
    case RecordError::none:
      break;
  }
  if (ragged())
    return "expected " + std::to_string(expected_fields) + " fields, found " + std::to_string(fields.size());
  return {};
}

// ---- the scanner ----

namespace {

// Finds the first delimiter, LF or CR at or after a position: the stops of an unquoted
// field (quotes inside one are ordinary characters). It keeps the bitmask of stops in the
// current 64-byte block, so the many short fields of a line cost a shift and a count each.
class StopFinder {
 public:
  explicit StopFinder(char delimiter) : delimiter_(delimiter) {}

  // The first stop in [p, end), or end. Forget the block when the bytes under it change.
  const char* find(const char* p, const char* end) {
    for (;;) {
      if (block_ != nullptr && p >= block_ && p < block_ + 64) {
        std::uint64_t later = mask_ >> (p - block_);
        if (later != 0) return p + __builtin_ctzll(later);
        p = block_ + 64;
      }
      if (end - p < 64) return find_slowly(p, end);
      block_ = p;
      mask_ = stops_in_block(p);
    }
  }

  void forget() { block_ = nullptr; }

 private:
  std::uint64_t stops_in_block(const char* p) const {
#ifdef __SSE2__
    const __m128i delimiters = _mm_set1_epi8(delimiter_);
    const __m128i line_feeds = _mm_set1_epi8('\n');
    const __m128i carriage_returns = _mm_set1_epi8('\r');
    std::uint64_t mask = 0;
    for (int i = 0; i < 4; ++i) {
      __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
      __m128i stops = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, delimiters), _mm_cmpeq_epi8(bytes, line_feeds)),
                                   _mm_cmpeq_epi8(bytes, carriage_returns));
      mask |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(stops))) << (16 * i);
    }
    return mask;
#else
    std::uint64_t mask = 0;
    for (int i = 0; i < 64; ++i) mask |= static_cast<std::uint64_t>(is_stop(p[i])) << i;
    return mask;
#endif
  }

  bool is_stop(char c) const { return c == delimiter_ || c == '\n' || c == '\r'; }

  const char* find_slowly(const char* p, const char* end) const {
    while (p < end && !is_stop(*p)) ++p;
    return p;
  }

  char delimiter_;
  const char* block_ = nullptr;
  std::uint64_t mask_ = 0;
};

enum class ScanState : std::uint8_t { field_start, unquoted, quoted, quote_in_quoted, after_cr };
enum class ScanEnd : std::uint8_t { need_more, record, unterminated };

struct Scanner {
  explicit Scanner(char delimiter) : stops(delimiter) {}
  ScanState state = ScanState::field_start;
  StopFinder stops;
  const char* content_end = nullptr;  // where the line terminator starts, once known
};

// Advances `p` through one record. The grammar, lenient where RFC 4180 is silent:
//  - a field starting with '"' is quoted until a lone '"'; "" inside is one quote; text after
//    the closing quote is kept literally;
//  - a '"' elsewhere is an ordinary character;
//  - a record ends at LF, CRLF, a lone CR, or the end of the file.
// At need_more the state is resumable with the following bytes; `on_field_end` is called with
// the end of every field.
template <class OnFieldEnd>
ScanEnd scan(Scanner& s, const char*& p, const char* end, bool at_eof, OnFieldEnd&& on_field_end) {
  for (;;) {
    switch (s.state) {
      case ScanState::field_start:
        if (p == end) goto out_of_data;
        if (*p == '"') {
          ++p;
          s.state = ScanState::quoted;
          break;
        }
        s.state = ScanState::unquoted;
        [[fallthrough]];
      case ScanState::unquoted: {
        p = s.stops.find(p, end);
        if (p == end) goto out_of_data;
        char stop = *p;
        on_field_end(p);
        if (stop != '\n' && stop != '\r') {
          ++p;
          s.state = ScanState::field_start;
          break;
        }
        s.content_end = p++;
        if (stop == '\n') {
          s.state = ScanState::field_start;
          return ScanEnd::record;
        }
        s.state = ScanState::after_cr;
        break;
      }
      case ScanState::quoted: {
        auto quote = static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(end - p)));
        if (quote == nullptr) {
          p = end;
          goto out_of_data;
        }
        p = quote + 1;
        s.state = ScanState::quote_in_quoted;
        break;
      }
      case ScanState::quote_in_quoted:
        if (p == end) goto out_of_data;
        if (*p == '"') {
          ++p;
          s.state = ScanState::quoted;
          break;
        }
        s.state = ScanState::unquoted;
        break;
      case ScanState::after_cr:
        if (p == end) goto out_of_data;
        if (*p == '\n') ++p;
        s.state = ScanState::field_start;
        return ScanEnd::record;
    }
  }
out_of_data:
  if (!at_eof) return ScanEnd::need_more;
  ScanState last = s.state;
  s.state = ScanState::field_start;
  if (last == ScanState::after_cr) return ScanEnd::record;
  on_field_end(end);
  s.content_end = end;
  return last == ScanState::quoted ? ScanEnd::unterminated : ScanEnd::record;
}

// The most frequent of ',', ';' and tab outside quotes in the first line of [p, end);
// comma on a tie or when there is none. `line_complete` tells whether the line ended.
char sniff_delimiter(const char* p, const char* end, bool& line_complete) {
  std::size_t commas = 0, semicolons = 0, tabs = 0;
  bool in_quotes = false;
  line_complete = false;
  for (; p < end; ++p) {
    char c = *p;
    if (c == '"') {
      in_quotes = !in_quotes;
    } else if (!in_quotes) {
      if (c == '\n' || c == '\r') {
        line_complete = true;
        break;
      }
      commas += c == ',';
      semicolons += c == ';';
      tabs += c == '\t';
    }
  }
  if (semicolons > commas && semicolons >= tabs) return ';';
  if (tabs > commas && tabs > semicolons) return '\t';
  return ',';
}

// Writes the value of a raw field that starts with a quote: the quoted part unescaped, then
// whatever followed the closing quote. Returns the end of what it wrote.
char* unescape_quoted(std::string_view raw, char* out) {
  std::size_t i = 1;
  while (i < raw.size()) {
    char c = raw[i++];
    if (c != '"') {
      *out++ = c;
    } else if (i < raw.size() && raw[i] == '"') {
      *out++ = '"';
      ++i;
    } else {
      std::size_t rest = raw.size() - i;
      std::memcpy(out, raw.data() + i, rest);
      return out + rest;
    }
  }
  return out;
}

constexpr std::string_view kBom = "\xEF\xBB\xBF";

}  // namespace

// ---- the reader ----

struct CsvReader::State {
  std::unique_ptr<ByteSource> source;
  CsvOptions options;
  bool count_only = false;

  std::unique_ptr<char[]> buffer;
  std::size_t capacity = 0;
  std::size_t begin = 0;  // the unconsumed bytes are buffer[begin, end)
  std::size_t end = 0;
  std::uint64_t buffer_offset = 0;  // file offset of buffer[0]
  bool at_eof = false;

  char delimiter = ',';
  std::size_t expected_fields = 0;
  std::uint64_t next_row = 1;
  std::uint64_t consumed_offset = 0;  // just past the last record returned

  bool has_header = false;
  CsvRecord header;
  std::vector<std::string> header_names;
  std::string header_raw;
  CsvRecord record;

  std::vector<const char*> field_ends;
  std::unique_ptr<char[]> scratch;  // unescaped quoted values
  std::size_t scratch_size = 0;

  State(std::unique_ptr<ByteSource> from, CsvOptions with, bool counting)
      : source(std::move(from)), options(with), count_only(counting) {
    options.chunk_size = std::max<std::size_t>(options.chunk_size, 1);
    options.max_record_size = std::max<std::size_t>(options.max_record_size, 1);
    // A record of max_record_size plus a CRLF, plus one more chunk, always fits.
    capacity = options.max_record_size + 2 + options.chunk_size;
    buffer = std::make_unique_for_overwrite<char[]>(capacity);
  }

  const char* data(std::size_t index) const { return buffer.get() + index; }
  std::uint64_t offset_of(const char* p) const { return buffer_offset + static_cast<std::uint64_t>(p - buffer.get()); }

  // Keeps buffer[begin, end) and appends up to one chunk; sets at_eof when nothing came.
  void refill() {
    if (at_eof) return;
    if (begin != 0) {
      std::memmove(buffer.get(), buffer.get() + begin, end - begin);
      buffer_offset += begin;
      end -= begin;
      begin = 0;
    }
    std::size_t room = std::min(options.chunk_size, capacity - end);
    std::size_t got = source->read(buffer.get() + end, room);
    if (got == 0) at_eof = true;
    end += got;
  }

  void skip_bom() {
    while (end - begin < kBom.size() && !at_eof) refill();
    if (std::string_view(data(begin), std::min(end - begin, kBom.size())) == kBom) begin += kBom.size();
  }

  // Skips empty lines; false at the end of the data.
  bool skip_empty_lines() {
    for (;;) {
      if (begin == end) {
        if (at_eof) return false;
        refill();
        continue;
      }
      char c = buffer[begin];
      if (c == '\n') {
        ++begin;
      } else if (c == '\r') {
        if (begin + 1 == end && !at_eof) {
          refill();
          continue;
        }
        begin += (begin + 1 < end && buffer[begin + 1] == '\n') ? 2 : 1;
      } else {
        return true;
      }
    }
  }

  void sniff() {
    for (;;) {
      bool line_complete = false;
      std::size_t window = std::min(end - begin, options.max_record_size + 2);
      delimiter = sniff_delimiter(data(begin), data(begin + window), line_complete);
      if (line_complete || at_eof || end - begin > options.max_record_size + 1) return;
      refill();
    }
  }

  // Reads the record at `begin` (which is not an empty line) into `into`.
  void read_record(CsvRecord& into) {
    for (;;) {
      Scanner scanner(delimiter);
      const char* p = data(begin);
      field_ends.clear();
      ScanEnd outcome = count_only ? scan(scanner, p, data(end), at_eof, [](const char*) {})
                                   : scan(scanner, p, data(end), at_eof,
                                          [this](const char* field_end) { field_ends.push_back(field_end); });
      if (outcome != ScanEnd::need_more) return finish_record(into, scanner.content_end, p, outcome);
      if (end - begin > options.max_record_size + 1) return skip_too_large_record(into);
      refill();
    }
  }

  void start_record(CsvRecord& into, std::uint64_t offset) {
    into.row = next_row++;
    into.offset = offset;
    into.raw = {};
    into.fields.clear();
    into.error = RecordError::none;
    into.expected_fields = expected_fields;
    into.size_limit = options.max_record_size;
  }

  void finish_record(CsvRecord& into, const char* content_end, const char* next, ScanEnd outcome) {
    const char* start = data(begin);
    start_record(into, offset_of(start));
    into.next_offset = offset_of(next);
    begin = static_cast<std::size_t>(next - buffer.get());
    auto size = static_cast<std::size_t>(content_end - start);
    if (size > options.max_record_size) {
      into.error = outcome == ScanEnd::unterminated ? RecordError::unterminated_quote : RecordError::too_large;
      return;
    }
    into.raw = std::string_view(start, size);
    if (outcome == ScanEnd::unterminated) into.error = RecordError::unterminated_quote;
    if (count_only) return;
    split_fields(into, start);
    if (into.error == RecordError::none && !is_valid_utf8(into.raw)) into.error = RecordError::invalid_utf8;
  }

  void split_fields(CsvRecord& into, const char* start) {
    if (scratch_size < into.raw.size()) {
      scratch_size = std::max(into.raw.size(), scratch_size * 2);
      scratch = std::make_unique_for_overwrite<char[]>(scratch_size);
    }
    char* out = scratch.get();
    const char* field_start = start;
    for (const char* field_end : field_ends) {
      std::string_view raw(field_start, static_cast<std::size_t>(field_end - field_start));
      into.fields.push_back(field_value(raw, out));
      field_start = field_end + 1;
    }
  }

  static std::string_view field_value(std::string_view raw, char*& out) {
    if (raw.empty() || raw.front() != '"') return raw;
    bool plain_quoted = raw.size() >= 2 && raw.back() == '"' &&
                        raw.substr(1, raw.size() - 2).find('"') == std::string_view::npos;
    if (plain_quoted) return raw.substr(1, raw.size() - 2);
    char* value = out;
    out = unescape_quoted(raw, out);
    return std::string_view(value, static_cast<std::size_t>(out - value));
  }

  // Consumes a record longer than the limit chunk by chunk, keeping nothing of it.
  void skip_too_large_record(CsvRecord& into) {
    start_record(into, offset_of(data(begin)));
    Scanner scanner(delimiter);
    const char* p = data(begin);
    ScanEnd outcome;
    while ((outcome = scan(scanner, p, data(end), at_eof, [](const char*) {})) == ScanEnd::need_more) {
      begin = end;
      refill();
      p = data(begin);
      scanner.stops.forget();
    }
    into.next_offset = offset_of(p);
    begin = static_cast<std::size_t>(p - buffer.get());
    into.error = outcome == ScanEnd::unterminated ? RecordError::unterminated_quote : RecordError::too_large;
  }

  void read_header() {
    skip_bom();
    if (!skip_empty_lines()) {
      consumed_offset = offset_of(data(begin));
      return;
    }
    sniff();
    read_record(header);
    has_header = true;
    consumed_offset = header.next_offset;
    // The header outlives the buffer: point it at owned copies.
    header_names.assign(header.fields.begin(), header.fields.end());
    header_raw.assign(header.raw);
    header.raw = header_raw;
    header.fields.assign(header_names.begin(), header_names.end());
    expected_fields = header.fields.size();
    header.expected_fields = expected_fields;
  }

  const CsvRecord* next() {
    if (!skip_empty_lines()) return nullptr;
    read_record(record);
    consumed_offset = record.next_offset;
    return &record;
  }
};

CsvReader::CsvReader(std::unique_ptr<ByteSource> source, CsvOptions options, bool count_only)
    : state_(std::make_unique<State>(std::move(source), options, count_only)) {
  state_->read_header();
}

CsvReader::CsvReader(std::unique_ptr<ByteSource> source, CsvOptions options)
    : CsvReader(std::move(source), options, false) {}

CsvReader::CsvReader(std::unique_ptr<ByteSource> source, const ResumePoint& at, CsvOptions options)
    : state_(std::make_unique<State>(std::move(source), options, false)) {
  State& s = *state_;
  s.source->seek(at.offset);
  s.buffer_offset = at.offset;
  s.consumed_offset = at.offset;
  s.next_row = at.next_row;
  s.delimiter = at.delimiter;
  s.expected_fields = at.expected_fields;
  if (at.offset == 0) s.skip_bom();
}

CsvReader::~CsvReader() = default;
CsvReader::CsvReader(CsvReader&&) noexcept = default;
CsvReader& CsvReader::operator=(CsvReader&&) noexcept = default;

CsvReader CsvReader::open(const std::filesystem::path& path, CsvOptions options) {
  return CsvReader(std::make_unique<FileSource>(path), options);
}

CsvReader CsvReader::open(const std::filesystem::path& path, const ResumePoint& at, CsvOptions options) {
  return CsvReader(std::make_unique<FileSource>(path), at, options);
}

const CsvRecord* CsvReader::header() const { return state_->has_header ? &state_->header : nullptr; }
const std::vector<std::string>& CsvReader::header_names() const { return state_->header_names; }
char CsvReader::delimiter() const { return state_->delimiter; }
const CsvRecord* CsvReader::next() { return state_->next(); }

ResumePoint CsvReader::checkpoint() const {
  return ResumePoint{state_->consumed_offset, state_->next_row, state_->delimiter, state_->expected_fields};
}

void CsvReader::resume_at(std::uint64_t offset, std::uint64_t next_row) {
  State& s = *state_;
  s.source->seek(offset);
  s.begin = s.end = 0;
  s.buffer_offset = offset;
  s.at_eof = false;
  s.consumed_offset = offset;
  s.next_row = next_row;
}

std::uint64_t count_records(std::unique_ptr<ByteSource> source, CsvOptions options) {
  CsvReader reader(std::move(source), options, true);
  std::uint64_t count = 0;
  while (reader.next() != nullptr) ++count;
  return count;
}

std::uint64_t count_records(const std::filesystem::path& path, CsvOptions options) {
  return count_records(std::make_unique<FileSource>(path), options);
}

}  // namespace lms::imports

// The parts of a CSV import, each alone, on a real file, so the import's bottleneck is
// visible: the record count (the job's first pass), the streaming reader, the phone
// normalization (libphonenumber), and the per-row work of the import thread before the store
// (reader + header mapping + name/email/phone checks + the row's CSV copy for the errors
// report). No database: what remains of an end-to-end import is the store's.
//
// Standalone (bench/imports.sh builds it; or by hand, from the repository root):
//   nice -n 19 g++ -std=c++20 -O3 -DNDEBUG -include utility -Isrc bench/micro/import_parts.cpp
//     src/imports/csv_reader.cpp src/imports/header_mapping.cpp src/leads/phone.cpp
//     src/common/validate.cpp -lphonenumber -lpthread -o /tmp/import_parts      (one line)
//   /tmp/import_parts FILE [--region US] [--repeat 3] [--slow-repeat 1] [--threads 2] [--show-invalid N]
//
// Prints a readable table and, for scripts, one `RESULT name value` line per figure.
// The reader parts run --repeat times, the parts that call libphonenumber (tens of seconds
// on a 1M-row file) --slow-repeat times; the best run is reported (the file is read once
// first so every run reads from the page cache).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <phonenumbers/phonenumberutil.h>

#include "common/validate.h"
#include "imports/csv_reader.h"
#include "imports/header_mapping.h"
#include "leads/phone.h"

namespace {

using Clock = std::chrono::steady_clock;
using lms::imports::CsvReader;
using lms::imports::CsvRecord;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Best (shortest) of `repeat` runs of `run`, which returns a checksum so work is not dropped.
template <class F>
double best_of(int repeat, F&& run, std::uint64_t& checksum) {
  double best = 1e300;
  for (int i = 0; i < repeat; ++i) {
    auto start = Clock::now();
    checksum = run();
    best = std::min(best, seconds_since(start));
  }
  return best;
}

// As the import does (import_service.cpp, csv_line): the row's fields as one CSV line.
std::string csv_line(const std::vector<std::string_view>& cells) {
  std::string out;
  bool first = true;
  for (auto value : cells) {
    if (!first) out += ',';
    first = false;
    if (value.find_first_of(",\"\r\n") == std::string_view::npos) {
      out += value;
      continue;
    }
    out += '"';
    for (char c : value) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
  return out;
}

void result(const char* name, double value) { std::printf("RESULT %s %.6g\n", name, value); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE [--region US] [--repeat 3] [--slow-repeat 1] [--threads 2] [--show-invalid N]\n",
                 argv[0]);
    return 2;
  }
  std::filesystem::path file = argv[1];
  std::string region = "US";
  int repeat = 3;
  int slow_repeat = 1;
  unsigned threads = 2;
  long show_invalid = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "--region") region = argv[i + 1];
    else if (flag == "--repeat") repeat = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--slow-repeat") slow_repeat = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--threads") threads = static_cast<unsigned>(std::max(1, std::atoi(argv[i + 1])));
    else if (flag == "--show-invalid") show_invalid = std::atol(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  const double bytes = static_cast<double>(std::filesystem::file_size(file));
  const double mb = bytes / 1e6;
  std::printf("file %s: %.1f MB, region %s, best of %d runs (%d for the phone parts)\n", file.c_str(), mb,
              region.c_str(), repeat, slow_repeat);

  // Warm the page cache (and find the columns and phone cells once).
  auto columns = [&] {
    auto reader = CsvReader::open(file);
    return lms::imports::map_headers(reader.header_names()).columns;
  }();
  if (!columns.phone) {
    std::fprintf(stderr, "no phone column\n");
    return 1;
  }
  std::vector<std::string> phones;
  std::uint64_t records = 0;
  {
    auto reader = CsvReader::open(file);
    while (const CsvRecord* r = reader.next()) {
      ++records;
      if (r->valid() && *columns.phone < r->fields.size() && !r->fields[*columns.phone].empty())
        phones.emplace_back(r->fields[*columns.phone]);
    }
  }
  std::printf("%llu records, %zu non-empty phone cells\n", static_cast<unsigned long long>(records), phones.size());

  std::uint64_t sum = 0;

  // 1. The record count: the job's first pass over the file (totalRows).
  double count_s = best_of(repeat, [&] { return lms::imports::count_records(file); }, sum);
  std::printf("%-52s %8.3f s %9.0f MB/s %11.0f rows/s\n", "count_records (totalRows pass)", count_s, mb / count_s,
              records / count_s);

  // 2. The streaming reader: every record with its fields (RFC 4180, UTF-8 check).
  double read_s = best_of(repeat, [&] {
    std::uint64_t n = 0;
    auto reader = CsvReader::open(file);
    while (const CsvRecord* r = reader.next()) n += r->fields.size();
    return n;
  }, sum);
  std::printf("%-52s %8.3f s %9.0f MB/s %11.0f rows/s\n", "CsvReader::next (records + fields)", read_s, mb / read_s,
              records / read_s);

  // 3. Phone normalization alone, on the file's phone column.
  const auto* util = i18n::phonenumbers::PhoneNumberUtil::GetInstance();
  std::uint64_t valid = 0;
  double phone_s = best_of(slow_repeat, [&] {
    std::uint64_t ok = 0;
    for (const auto& p : phones) ok += lms::leads::normalize_phone(p, region).has_value();
    return ok;
  }, valid);
  std::printf("%-52s %8.3f s %9s      %11.0f numbers/s (%llu valid, %llu invalid)\n",
              "normalize_phone (Parse + IsValidNumber + Format)", phone_s, "", phones.size() / phone_s,
              static_cast<unsigned long long>(valid), static_cast<unsigned long long>(phones.size() - valid));
  double parse_s = best_of(slow_repeat, [&] {
    std::uint64_t ok = 0;
    i18n::phonenumbers::PhoneNumber number;
    for (const auto& p : phones) ok += util->Parse(p, region, &number) == i18n::phonenumbers::PhoneNumberUtil::NO_PARSING_ERROR;
    return ok;
  }, sum);
  std::printf("%-52s %8.3f s %9s      %11.0f numbers/s\n", "  of which PhoneNumberUtil::Parse alone", parse_s, "",
              phones.size() / parse_s);

  // The same on `threads` threads at once (libphonenumber is thread-safe): the headroom if
  // the import normalized in parallel.
  double phone_mt_s = 0;
  if (threads > 1) {
    phone_mt_s = best_of(slow_repeat, [&] {
      std::vector<std::thread> pool;
      std::vector<std::uint64_t> ok(threads, 0);
      for (unsigned t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
          for (std::size_t i = t; i < phones.size(); i += threads)
            ok[t] += lms::leads::normalize_phone(phones[i], region).has_value();
        });
      for (auto& th : pool) th.join();
      std::uint64_t total = 0;
      for (auto n : ok) total += n;
      return total;
    }, sum);
    std::printf("%-52s %8.3f s %9s      %11.0f numbers/s\n",
                ("normalize_phone on " + std::to_string(threads) + " threads").c_str(), phone_mt_s, "",
                phones.size() / phone_mt_s);
  }

  // 4. The import thread's work per row before the store: read, map, check name, email and
  //    phone, keep the row's CSV for the errors report (import_service.cpp, process()).
  std::uint64_t rows_ok = 0;
  double pipeline_s = best_of(slow_repeat, [&] {
    std::uint64_t ok = 0;
    auto reader = CsvReader::open(file);
    while (const CsvRecord* r = reader.next()) {
      std::string cells = csv_line(r->fields);
      if (!r->valid()) continue;
      auto v = lms::imports::lead_values(r->fields, columns);
      bool good = !v.name.empty();
      try {
        if (good) lms::validate::name(v.name, "name", 200);
      } catch (const std::exception&) {
        good = false;
      }
      std::optional<std::string> phone, email;
      if (!v.phone.empty()) {
        phone = lms::leads::normalize_phone(v.phone, region);
        good = good && phone.has_value();
      }
      if (!v.email.empty()) {
        email = lms::validate::normalize_email(v.email);
        good = good && email.has_value();
      }
      good = good && (phone || email);
      ok += good;
      sum += cells.size();
    }
    return ok;
  }, rows_ok);
  std::printf("%-52s %8.3f s %9.0f MB/s %11.0f rows/s (%llu rows pass the checks)\n",
              "import thread before the store (read+map+check)", pipeline_s, mb / pipeline_s, records / pipeline_s,
              static_cast<unsigned long long>(rows_ok));

  if (show_invalid > 0) {
    std::printf("invalid phone cells (first %ld):\n", show_invalid);
    for (const auto& p : phones)
      if (!lms::leads::normalize_phone(p, region) && show_invalid-- > 0) std::printf("  %s\n", p.c_str());
  }

  result("records", static_cast<double>(records));
  result("count_mb_s", mb / count_s);
  result("reader_mb_s", mb / read_s);
  result("reader_rows_s", records / read_s);
  result("phones", static_cast<double>(phones.size()));
  result("phones_invalid", static_cast<double>(phones.size() - valid));
  result("phone_numbers_s", phones.size() / phone_s);
  result("phone_parse_numbers_s", phones.size() / parse_s);
  if (threads > 1) result("phone_numbers_s_mt", phones.size() / phone_mt_s);
  result("pipeline_rows_s", records / pipeline_s);
  result("pipeline_rows_ok", static_cast<double>(rows_ok));
  std::printf("checksum %llu\n", static_cast<unsigned long long>(sum));  // keeps the work alive
  return 0;
}

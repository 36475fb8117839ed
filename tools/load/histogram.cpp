// Histogram: the log-linear bucket geometry, recording, merging, percentiles and the sparse
// text form of histogram.h.
#include "histogram.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace lms::load {
namespace {

// 2048 exact sub-buckets for values 0..2047; every power-of-two range above reuses the upper
// half (1024 sub-buckets), each `2^shift` wide, where shift = bit_width(value) - 11.
constexpr int kSubBucketBits = 11;
constexpr std::uint64_t kSubBucketCount = std::uint64_t{1} << kSubBucketBits;  // 2048
constexpr std::uint64_t kSubBucketHalf = kSubBucketCount / 2;                   // 1024

std::size_t geometric_index(std::uint64_t value) {
  const int width = std::bit_width(value);
  const int shift = width > kSubBucketBits ? width - kSubBucketBits : 0;
  return static_cast<std::size_t>(static_cast<std::uint64_t>(shift) * kSubBucketHalf + (value >> shift));
}

// The shift (log2 of the bucket width) of an index; indices below 2048 have width 1.
int shift_of(std::size_t index) {
  return index < kSubBucketCount ? 0 : static_cast<int>(index / kSubBucketHalf) - 1;
}

[[noreturn]] void malformed(const std::string& what) {
  throw std::invalid_argument("histogram text: " + what);
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

// Whole-field number parsing: no sign for unsigned, no whitespace, no trailing characters.
template <class Number>
Number parse_number(std::string_view field, const char* name) {
  Number value{};
  const char* end = field.data() + field.size();
  const auto [ptr, ec] = std::from_chars(field.data(), end, value);
  if (field.empty() || ec != std::errc() || ptr != end) {
    malformed(std::string(name) + " \"" + std::string(field.substr(0, 32)) + "\" is not a number");
  }
  return value;
}

template <class Number>
std::string format_number(Number value) {
  char buffer[64];
  const auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, ec == std::errc() ? ptr : buffer);
}

}  // namespace

Histogram::Histogram(std::int64_t max_value) : max_value_(max_value) {
  if (max_value < 1) throw std::invalid_argument("histogram: max_value must be >= 1");
  counts_.assign(geometric_index(static_cast<std::uint64_t>(max_value)) + 1, 0);
}

void Histogram::record(std::int64_t value, std::int64_t count) {
  if (count < 0) throw std::invalid_argument("histogram: negative count");
  if (count == 0) return;
  if (value < 0) value = 0;
  if (value > max_value_) {
    value = max_value_;
    clamped_ += count;
  }
  counts_[index_of(value)] += count;
  if (total_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  total_ += count;
  sum_ += static_cast<long double>(value) * static_cast<long double>(count);
}

void Histogram::merge(const Histogram& other) {
  if (other.max_value_ != max_value_) {
    throw std::invalid_argument("histogram: cannot merge histograms of different max_value");
  }
  if (other.total_ == 0) return;
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  if (total_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  total_ += other.total_;
  clamped_ += other.clamped_;
  sum_ += other.sum_;
}

void Histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = clamped_ = 0;
  sum_ = 0;
  min_ = max_ = 0;
}

std::int64_t Histogram::min() const { return total_ == 0 ? 0 : min_; }
std::int64_t Histogram::max() const { return total_ == 0 ? 0 : max_; }

double Histogram::mean() const {
  return total_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(total_));
}

std::int64_t Histogram::value_at_percentile(double percentile) const {
  if (total_ == 0) return 0;
  if (!(percentile > 0)) percentile = 0;
  if (percentile > 100) percentile = 100;
  const double exact_rank = percentile / 100.0 * static_cast<double>(total_);
  // percentile/100 is rarely exact in binary: 99.9/100*1000 comes out a hair above 999.
  auto rank = static_cast<std::int64_t>(std::ceil(exact_rank - exact_rank * 1e-12));
  rank = std::clamp<std::int64_t>(rank, 1, total_);
  std::int64_t cumulative = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    cumulative += counts_[i];
    if (cumulative >= rank) return std::min(highest_equivalent(i), max_);
  }
  return max_;  // not reached: the buckets add up to total_
}

std::size_t Histogram::index_of(std::int64_t value) const {
  return geometric_index(static_cast<std::uint64_t>(std::clamp<std::int64_t>(value, 0, max_value_)));
}

std::int64_t Histogram::lowest_equivalent(std::size_t index) const {
  if (index >= counts_.size()) throw std::out_of_range("histogram: bucket index out of range");
  const int shift = shift_of(index);
  const std::uint64_t sub_bucket = index - static_cast<std::size_t>(shift) * kSubBucketHalf;
  return static_cast<std::int64_t>(sub_bucket << shift);
}

std::int64_t Histogram::highest_equivalent(std::size_t index) const {
  const std::int64_t lowest = lowest_equivalent(index);
  const std::uint64_t width = std::uint64_t{1} << shift_of(index);
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(lowest) + (width - 1));
}

std::string Histogram::to_string() const {
  std::string text = "v1;" + format_number(max_value_) + ";" + format_number(sum_) + ";" +
                     format_number(min()) + ";" + format_number(max()) + ";" +
                     format_number(clamped_) + ";";
  bool first = true;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    if (!first) text += ',';
    first = false;
    text += format_number(i);
    text += ':';
    text += format_number(counts_[i]);
  }
  return text;
}

Histogram Histogram::from_string(const std::string& text) {
  const std::vector<std::string_view> fields = split(text, ';');
  if (fields.size() != 7) malformed("expected 7 ';'-separated fields, got " + std::to_string(fields.size()));
  if (fields[0] != "v1") malformed("unsupported version \"" + std::string(fields[0].substr(0, 16)) + "\"");

  const auto max_value = parse_number<std::int64_t>(fields[1], "max_value");
  if (max_value < 1) malformed("max_value must be >= 1");
  const auto sum = parse_number<long double>(fields[2], "sum");
  if (!std::isfinite(sum) || std::signbit(sum)) malformed("sum must be a finite number >= 0");
  const auto min = parse_number<std::int64_t>(fields[3], "min");
  const auto max = parse_number<std::int64_t>(fields[4], "max");
  if (min < 0 || max < min || max > max_value) malformed("min and max must satisfy 0 <= min <= max <= max_value");
  const auto clamped = parse_number<std::int64_t>(fields[5], "clamped");
  if (clamped < 0) malformed("clamped must be >= 0");

  Histogram histogram(max_value);
  std::size_t first_index = 0, last_index = 0;
  if (!fields[6].empty()) {
    for (std::string_view bucket : split(fields[6], ',')) {
      const std::size_t colon = bucket.find(':');
      if (colon == std::string_view::npos) malformed("bucket \"" + std::string(bucket.substr(0, 32)) + "\" is not index:count");
      const auto index = parse_number<std::size_t>(bucket.substr(0, colon), "bucket index");
      const auto count = parse_number<std::int64_t>(bucket.substr(colon + 1), "bucket count");
      if (index >= histogram.counts_.size()) malformed("bucket index " + std::to_string(index) + " is out of range");
      if (histogram.total_ > 0 && index <= last_index) malformed("bucket indices must be ascending and unique");
      if (count < 1) malformed("bucket count must be >= 1");
      if (__builtin_add_overflow(histogram.total_, count, &histogram.total_)) malformed("total count overflows");
      histogram.counts_[index] = count;
      if (histogram.total_ == count) first_index = index;
      last_index = index;
    }
  }

  if (histogram.total_ == 0) {
    if (sum != 0 || min != 0 || max != 0 || clamped != 0) malformed("an empty histogram must have sum, min, max and clamped 0");
    return histogram;
  }
  if (histogram.index_of(min) != first_index) malformed("min is not in the first non-empty bucket");
  if (histogram.index_of(max) != last_index) malformed("max is not in the last non-empty bucket");
  if (clamped > histogram.total_) malformed("clamped exceeds the total count");
  if (clamped > 0 && max != max_value) malformed("clamped values imply max == max_value");
  histogram.sum_ = sum;
  histogram.min_ = min;
  histogram.max_ = max;
  histogram.clamped_ = clamped;
  return histogram;
}

}  // namespace lms::load

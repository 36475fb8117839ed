// A log-linear latency histogram after HdrHistogram's design: values (microseconds) are kept
// with 3 significant decimal digits of precision from 1 µs up to `max_value` (default one hour),
// in fixed memory, so recording is O(1) and histograms of many threads, processes or machines
// merge exactly (bucket by bucket). Percentiles report the highest value equivalent to the
// bucket that holds the rank (HdrHistogram's convention), so they never understate latency.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lms::load {

class Histogram {
 public:
  // Values above max_value are clamped to it (and counted in clamped()). Values 0..2047 are
  // exact; above, each power-of-two range has 1024 buckets of equal width (error < 0.1 %).
  // Throws std::invalid_argument when max_value < 1.
  explicit Histogram(std::int64_t max_value = 3'600'000'000);

  // Negative values record as 0; count 0 records nothing; a negative count throws
  // std::invalid_argument.
  void record(std::int64_t value, std::int64_t count = 1);
  // Adds every count of `other` (same max_value required; throws std::invalid_argument otherwise).
  void merge(const Histogram& other);
  void reset();

  std::int64_t count() const { return total_; }
  std::int64_t clamped() const { return clamped_; }
  std::int64_t min() const;  // 0 when empty; the exact lowest value recorded (after clamping)
  std::int64_t max() const;  // 0 when empty; the exact highest value recorded (after clamping)
  double mean() const;       // 0 when empty; of the exact values recorded (after clamping)
  // The value at `percentile` (0..100]: the smallest bucket whose cumulative count reaches
  // rank = ceil(percentile/100 * count) (at least 1; a relative 1e-12 is forgiven so that
  // 99.9 % of 1000 is rank 999, not 1000), reported as that bucket's highest equivalent
  // value but never above max(). Percentiles outside [0, 100] are clamped (NaN counts as 0).
  // 0 when empty. percentile 100 = max().
  std::int64_t value_at_percentile(double percentile) const;
  std::int64_t max_value() const { return max_value_; }

  // Sparse, stable text form for results files: "v1;max_value;sum;min;max;clamped;i:c,i:c,..."
  // (the exact sum, min and max of the recorded values, so mean(), min() and max() survive a
  // round trip and merges exactly; then bucket index:count for the non-empty buckets, indices
  // ascending, counts >= 1). from_string throws std::invalid_argument on anything malformed or
  // inconsistent (min/max not in the first/last non-empty bucket, clamped > count, ...).
  std::string to_string() const;
  static Histogram from_string(const std::string& text);

  // Bucket geometry (exposed for tests): the index a value lands in (after clamping to
  // [0, max_value]), and the lowest and highest values equivalent to an index (indices run
  // 0..index_of(max_value); others throw std::out_of_range). The top bucket's highest
  // equivalent value may exceed max_value.
  std::size_t index_of(std::int64_t value) const;
  std::int64_t lowest_equivalent(std::size_t index) const;
  std::int64_t highest_equivalent(std::size_t index) const;

 private:
  std::int64_t max_value_;
  std::vector<std::int64_t> counts_;
  std::int64_t total_ = 0;
  std::int64_t clamped_ = 0;
  long double sum_ = 0;  // for mean(): exact values recorded, not bucket values (exact to 2^64)
  std::int64_t min_ = 0, max_ = 0;  // exact extremes seen
};

}  // namespace lms::load

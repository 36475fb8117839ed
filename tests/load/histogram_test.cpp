// The load tester's latency histogram: bucket geometry, percentiles against exact sorted-sample
// percentiles, clamping, merging, and the text form (round trip and rejection of bad text).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "histogram.h"

namespace lms::load {
namespace {

// The exact value at a percentile given in thousandths of a percent (99.9 % = 99'900), by the
// histogram's rank rule: rank = ceil(p/100 * n), at least 1, computed in integers.
std::int64_t exact_percentile(const std::vector<std::int64_t>& sorted, std::int64_t thousandths) {
  const auto n = static_cast<std::int64_t>(sorted.size());
  std::int64_t rank = (thousandths * n + 99'999) / 100'000;
  rank = std::clamp<std::int64_t>(rank, 1, n);
  return sorted[static_cast<std::size_t>(rank - 1)];
}

Histogram histogram_of(const std::vector<std::int64_t>& values, std::int64_t max_value = 3'600'000'000) {
  Histogram h(max_value);
  for (std::int64_t v : values) h.record(v);
  return h;
}

std::vector<std::int64_t> log_uniform_samples(std::size_t n, double highest, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<double> exponent(0.0, std::log(highest));
  std::vector<std::int64_t> values(n);
  for (auto& v : values) v = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::exp(exponent(random))));
  return values;
}

// Percentiles (thousandths of a percent) checked against the exact ones.
std::vector<std::int64_t> checked_percentiles() {
  std::vector<std::int64_t> list = {1, 10, 100, 500, 99'900, 99'990, 99'999};
  for (std::int64_t p = 1; p <= 100; ++p) list.push_back(p * 1000);
  return list;
}

// The histogram's answer is never below the exact value and at most 0.1 % above it.
void expect_close_above(const Histogram& h, const std::vector<std::int64_t>& values) {
  std::vector<std::int64_t> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t thousandths : checked_percentiles()) {
    const double percentile = static_cast<double>(thousandths) / 1000.0;
    const std::int64_t exact = exact_percentile(sorted, thousandths);
    const std::int64_t reported = h.value_at_percentile(percentile);
    EXPECT_GE(reported, exact) << "p" << percentile;
    EXPECT_LE(static_cast<double>(reported - exact), 0.001 * static_cast<double>(exact)) << "p" << percentile;
    if (exact < 2048) {
      EXPECT_EQ(reported, exact) << "p" << percentile << " (exact range)";
    }
  }
}

TEST(HistogramGeometry, EveryBucketMapsBackToItself) {
  const Histogram h;
  const std::size_t buckets = h.index_of(h.max_value()) + 1;
  for (std::size_t i = 0; i < buckets; ++i) {
    ASSERT_EQ(h.index_of(h.lowest_equivalent(i)), i);
    ASSERT_EQ(h.index_of(h.highest_equivalent(i)), i);
    ASSERT_LE(h.lowest_equivalent(i), h.highest_equivalent(i));
    if (i + 1 < buckets) {
      ASSERT_EQ(h.highest_equivalent(i) + 1, h.lowest_equivalent(i + 1)) << i;
    }
  }
  EXPECT_LE(h.lowest_equivalent(buckets - 1), h.max_value());
  EXPECT_GE(h.highest_equivalent(buckets - 1), h.max_value());
  EXPECT_THROW(h.lowest_equivalent(buckets), std::out_of_range);
  EXPECT_THROW(h.highest_equivalent(buckets), std::out_of_range);
}

TEST(HistogramGeometry, ExactBelow2048ThenThreeSignificantDigits) {
  const Histogram h;
  for (std::int64_t v = 0; v < 2048; ++v) {
    ASSERT_EQ(h.index_of(v), static_cast<std::size_t>(v));
    ASSERT_EQ(h.lowest_equivalent(h.index_of(v)), v);
    ASSERT_EQ(h.highest_equivalent(h.index_of(v)), v);
  }
  EXPECT_EQ(h.index_of(2048), 2048u);
  EXPECT_EQ(h.lowest_equivalent(2048), 2048);
  EXPECT_EQ(h.highest_equivalent(2048), 2049);  // width 2 from 2048 to 4095
  EXPECT_EQ(h.index_of(4095), 3071u);
  EXPECT_EQ(h.index_of(4096), 3072u);
  EXPECT_EQ(h.highest_equivalent(3072), 4099);  // width 4 from 4096
  const std::size_t buckets = h.index_of(h.max_value()) + 1;
  for (std::size_t i = 2048; i < buckets; ++i) {
    const auto width = static_cast<double>(h.highest_equivalent(i) - h.lowest_equivalent(i) + 1);
    ASSERT_LT(width / static_cast<double>(h.lowest_equivalent(i)), 0.001) << i;
  }
}

TEST(HistogramGeometry, WholeInt64RangeWithoutOverflow) {
  const Histogram h(std::numeric_limits<std::int64_t>::max());
  const std::size_t top = h.index_of(h.max_value());
  EXPECT_EQ(h.highest_equivalent(top), std::numeric_limits<std::int64_t>::max());
  for (std::size_t i = top - 3000; i < top; ++i) {
    ASSERT_EQ(h.highest_equivalent(i) + 1, h.lowest_equivalent(i + 1));
    ASSERT_EQ(h.index_of(h.highest_equivalent(i)), i);
  }
  Histogram big(std::numeric_limits<std::int64_t>::max());
  big.record(std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(big.value_at_percentile(50), std::numeric_limits<std::int64_t>::max());
}

TEST(HistogramGeometry, IndexOfClampsToTheTrackedRange) {
  const Histogram h(1000);
  EXPECT_EQ(h.index_of(-7), 0u);
  EXPECT_EQ(h.index_of(5000), h.index_of(1000));
}

TEST(Histogram, RejectsAMaxValueBelowOne) {
  EXPECT_THROW(Histogram(0), std::invalid_argument);
  EXPECT_THROW(Histogram(-1), std::invalid_argument);
  EXPECT_NO_THROW(Histogram(1));
}

TEST(Histogram, PercentilesOfOneToTenThousand) {
  std::vector<std::int64_t> values;
  for (std::int64_t v = 1; v <= 10'000; ++v) values.push_back(v);
  const Histogram h = histogram_of(values);
  expect_close_above(h, values);
  EXPECT_EQ(h.count(), 10'000);
  EXPECT_EQ(h.min(), 1);
  EXPECT_EQ(h.max(), 10'000);
  EXPECT_DOUBLE_EQ(h.mean(), 5000.5);
  EXPECT_EQ(h.value_at_percentile(50), 5003);  // 5000's bucket is 5000..5003
  EXPECT_EQ(h.value_at_percentile(100), 10'000);
}

TEST(Histogram, PercentilesOfLogUniformSamples) {
  const std::vector<std::int64_t> values = log_uniform_samples(100'000, 1e9, 20240601);
  const Histogram h = histogram_of(values);
  expect_close_above(h, values);
  EXPECT_EQ(h.count(), 100'000);
  EXPECT_EQ(h.min(), *std::min_element(values.begin(), values.end()));
  EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end()));
  long double sum = 0;
  for (std::int64_t v : values) sum += static_cast<long double>(v);
  EXPECT_DOUBLE_EQ(h.mean(), static_cast<double>(sum / values.size()));
}

TEST(Histogram, RankForgivesBinaryRoundingOfThePercentile) {
  std::vector<std::int64_t> values;
  for (std::int64_t v = 1; v <= 1000; ++v) values.push_back(v);
  const Histogram h = histogram_of(values);
  EXPECT_EQ(h.value_at_percentile(99.9), 999);  // rank 999, though 99.9/100*1000 > 999 in doubles
  EXPECT_EQ(h.value_at_percentile(99.95), 1000);
  EXPECT_EQ(h.value_at_percentile(0.1), 1);
  EXPECT_EQ(h.value_at_percentile(0.15), 2);
  EXPECT_EQ(h.value_at_percentile(10), 100);
}

TEST(Histogram, LowestAndHighestPercentiles) {
  Histogram h;
  h.record(1'000'003);  // in a bucket 512 wide
  h.record(5);
  h.record(2'000'001);
  EXPECT_EQ(h.value_at_percentile(0), 5);
  EXPECT_EQ(h.value_at_percentile(1e-9), 5);
  EXPECT_EQ(h.value_at_percentile(-3), 5);
  EXPECT_EQ(h.value_at_percentile(std::nan("")), 5);
  EXPECT_EQ(h.value_at_percentile(100), 2'000'001);  // the exact max, not the bucket's top
  EXPECT_EQ(h.value_at_percentile(250), 2'000'001);
  const std::int64_t middle = h.value_at_percentile(50);
  EXPECT_GE(middle, 1'000'003);
  EXPECT_EQ(middle, h.highest_equivalent(h.index_of(1'000'003)));
}

TEST(Histogram, Empty) {
  const Histogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.clamped(), 0);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.value_at_percentile(0), 0);
  EXPECT_EQ(h.value_at_percentile(50), 0);
  EXPECT_EQ(h.value_at_percentile(100), 0);
}

TEST(Histogram, SingleValue) {
  Histogram h;
  h.record(12'345);  // bucket 12344..12351
  EXPECT_EQ(h.count(), 1);
  EXPECT_EQ(h.min(), 12'345);
  EXPECT_EQ(h.max(), 12'345);
  EXPECT_DOUBLE_EQ(h.mean(), 12'345.0);
  for (double p : {0.0, 1.0, 50.0, 99.0, 99.999, 100.0}) EXPECT_EQ(h.value_at_percentile(p), 12'345) << p;
}

TEST(Histogram, ClampsAboveMaxValue) {
  Histogram h(1000);
  h.record(1000);
  EXPECT_EQ(h.clamped(), 0);
  h.record(5000, 3);
  EXPECT_EQ(h.clamped(), 3);
  EXPECT_EQ(h.count(), 4);
  EXPECT_EQ(h.max(), 1000);
  EXPECT_DOUBLE_EQ(h.mean(), 1000.0);
  EXPECT_EQ(h.value_at_percentile(100), 1000);
}

TEST(Histogram, NegativeValuesRecordAsZero) {
  Histogram h;
  h.record(-5);
  h.record(std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(h.count(), 2);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.clamped(), 0);
  EXPECT_EQ(h.value_at_percentile(100), 0);
}

TEST(Histogram, RecordWithCount) {
  Histogram once, repeated;
  once.record(777, 5);
  for (int i = 0; i < 5; ++i) repeated.record(777);
  EXPECT_EQ(once.to_string(), repeated.to_string());
  once.record(900, 0);
  EXPECT_EQ(once.count(), 5);
  EXPECT_EQ(once.max(), 777);
  EXPECT_THROW(once.record(1, -1), std::invalid_argument);
}

TEST(Histogram, Reset) {
  Histogram h = histogram_of({1, 5000, 7'000'000});
  h.reset();
  EXPECT_EQ(h.to_string(), Histogram().to_string());
  h.record(3);
  EXPECT_EQ(h.min(), 3);
  EXPECT_EQ(h.max(), 3);
}

TEST(Histogram, MergeEqualsHistogramOfTheUnion) {
  const std::vector<std::int64_t> a = log_uniform_samples(30'000, 1e9, 1);
  const std::vector<std::int64_t> b = log_uniform_samples(20'000, 1e6, 2);
  std::vector<std::int64_t> both = a;
  both.insert(both.end(), b.begin(), b.end());

  Histogram merged = histogram_of(a);
  merged.merge(histogram_of(b));
  const Histogram whole = histogram_of(both);
  EXPECT_EQ(merged.to_string(), whole.to_string());  // bucket for bucket, with sum, min and max
  EXPECT_EQ(merged.count(), whole.count());
  EXPECT_EQ(merged.min(), whole.min());
  EXPECT_EQ(merged.max(), whole.max());
  EXPECT_DOUBLE_EQ(merged.mean(), whole.mean());
  for (std::int64_t thousandths : checked_percentiles()) {
    const double p = static_cast<double>(thousandths) / 1000.0;
    EXPECT_EQ(merged.value_at_percentile(p), whole.value_at_percentile(p)) << p;
  }
  expect_close_above(merged, both);
}

TEST(Histogram, MergeWithEmptyAndIntoEmpty) {
  const Histogram values = histogram_of({4, 40, 4000, 400'000});
  Histogram into_empty;
  into_empty.merge(values);
  EXPECT_EQ(into_empty.to_string(), values.to_string());
  Histogram with_empty = values;
  with_empty.merge(Histogram());
  EXPECT_EQ(with_empty.to_string(), values.to_string());
}

TEST(Histogram, MergeKeepsClampedCounts) {
  Histogram a(1000), b(1000);
  a.record(2000);
  b.record(3000, 2);
  a.merge(b);
  EXPECT_EQ(a.clamped(), 3);
  EXPECT_EQ(a.count(), 3);
}

TEST(Histogram, MergeOfDifferentMaxValueThrows) {
  Histogram a(1000);
  const Histogram b(2000);
  EXPECT_THROW(a.merge(b), std::invalid_argument);
}

TEST(HistogramText, KnownForm) {
  Histogram h(1000);
  h.record(3, 2);
  h.record(5);
  EXPECT_EQ(h.to_string(), "v1;1000;11;3;5;0;3:2,5:1");
  EXPECT_EQ(Histogram(1000).to_string(), "v1;1000;0;0;0;0;");
}

TEST(HistogramText, RoundTrip) {
  std::vector<std::int64_t> values = log_uniform_samples(50'000, 3e9, 7);
  values.push_back(0);
  Histogram h = histogram_of(values);
  h.record(9'000'000'000);  // clamped
  const Histogram back = Histogram::from_string(h.to_string());
  EXPECT_EQ(back.to_string(), h.to_string());
  EXPECT_EQ(back.max_value(), h.max_value());
  EXPECT_EQ(back.count(), h.count());
  EXPECT_EQ(back.clamped(), 1);
  EXPECT_EQ(back.min(), h.min());
  EXPECT_EQ(back.max(), h.max());
  EXPECT_EQ(back.mean(), h.mean());
  for (std::int64_t thousandths : checked_percentiles()) {
    const double p = static_cast<double>(thousandths) / 1000.0;
    EXPECT_EQ(back.value_at_percentile(p), h.value_at_percentile(p)) << p;
  }

  const Histogram empty = Histogram::from_string(Histogram(5000).to_string());
  EXPECT_EQ(empty.count(), 0);
  EXPECT_EQ(empty.max_value(), 5000);
}

TEST(HistogramText, HugeSumSurvives) {
  Histogram h;
  h.record(h.max_value(), 4'000'000'000'000);  // the sum is past 2^63
  const Histogram back = Histogram::from_string(h.to_string());
  EXPECT_EQ(back.mean(), static_cast<double>(h.max_value()));
  EXPECT_EQ(back.to_string(), h.to_string());
}

TEST(HistogramText, RejectsMalformedText) {
  const std::string valid = "v1;1000;11;3;5;0;3:2,5:1";
  ASSERT_NO_THROW(Histogram::from_string(valid));
  const std::vector<std::string> malformed = {
      "",
      "v1",
      "v1;1000;11;3;5;0",                  // a field missing
      "v1;1000;11;3;5;0;3:2,5:1;",         // a field too many
      "v2;1000;11;3;5;0;3:2,5:1",          // version
      "V1;1000;11;3;5;0;3:2,5:1",
      " v1;1000;11;3;5;0;3:2,5:1",
      "v1;abc;11;3;5;0;3:2,5:1",           // max_value
      "v1;;11;3;5;0;3:2,5:1",
      "v1;0;0;0;0;0;",
      "v1;-1000;11;3;5;0;3:2,5:1",
      "v1; 1000;11;3;5;0;3:2,5:1",
      "v1;+1000;11;3;5;0;3:2,5:1",
      "v1;1000.5;11;3;5;0;3:2,5:1",
      "v1;99999999999999999999;11;3;5;0;3:2,5:1",
      "v1;1000;x;3;5;0;3:2,5:1",           // sum
      "v1;1000;;3;5;0;3:2,5:1",
      "v1;1000;nan;3;5;0;3:2,5:1",
      "v1;1000;inf;3;5;0;3:2,5:1",
      "v1;1000;-11;3;5;0;3:2,5:1",
      "v1;1000;11;a;5;0;3:2,5:1",          // min, max
      "v1;1000;11;3;b;0;3:2,5:1",
      "v1;1000;11;-3;5;0;0:2,5:1",
      "v1;1000;11;5;3;0;3:2,5:1",          // min > max
      "v1;1000;11;3;1001;0;3:2,5:1",       // max > max_value
      "v1;1000;11;4;5;0;3:2,5:1",          // min not in the first bucket
      "v1;1000;11;3;6;0;3:2,5:1",          // max not in the last bucket
      "v1;1000;11;3;5;-1;3:2,5:1",         // clamped
      "v1;1000;11;3;5;x;3:2,5:1",
      "v1;1000;11;3;5;4;3:2,5:1",          // clamped > count
      "v1;1000;11;3;5;1;3:2,5:1",          // clamped but max < max_value
      "v1;1000;11;3;5;0;3:2,,5:1",         // buckets
      "v1;1000;11;3;5;0;3:2,5:1,",
      "v1;1000;11;3;5;0;,3:2,5:1",
      "v1;1000;11;3;5;0;3-2,5:1",
      "v1;1000;11;3;5;0;3:,5:1",
      "v1;1000;11;3;5;0;:2,5:1",
      "v1;1000;11;3;5;0;3:2:1,5:1",
      "v1;1000;11;3;5;0;3:x,5:1",
      "v1;1000;11;3;5;0;x:2,5:1",
      "v1;1000;11;3;5;0;3:2, 5:1",
      "v1;1000;11;3;5;0;3:2,+5:1",
      "v1;1000;11;3;5;0;-3:2,5:1",
      "v1;1000;11;3;5;0;3:-2,5:1",         // negative count
      "v1;1000;11;3;5;0;3:0,5:1",          // zero count
      "v1;1000;11;3;5;0;5:1,3:2",          // unordered
      "v1;1000;11;3;5;0;3:2,3:1,5:1",      // duplicate
      "v1;1000;11;3;5;0;3:2,5:1,1001:1",   // index out of range
      "v1;1000;11;3;5;0;3:2,99999999999999999999:1",
      "v1;1000;11;3;5;0;3:9223372036854775807,5:1",  // total overflows
      "v1;1000;5;0;0;0;",                  // empty but a sum
      "v1;1000;0;1;1;0;",                  // empty but a min and max
      "v1;1000;0;0;0;1;",                  // empty but clamped
  };
  for (const std::string& text : malformed) {
    EXPECT_THROW(Histogram::from_string(text), std::invalid_argument) << '"' << text << '"';
  }
}

}  // namespace
}  // namespace lms::load

// The capacity report: `capacity.md` and a self-contained `capacity.html` (charts drawn as
// inline SVG, no script, nothing fetched), from RunResults. The table is the seed's: users,
// status (Excellent < 100 ms, Very Good < 200 ms, Good < 400 ms, Moderate < 600 ms, Heavy
// beyond, by overall p95), p95, recommendation; then the verdict and the bottleneck observed.
#pragma once

#include <string>
#include <string_view>

#include "results.h"

namespace lms::load {

struct ServiceLevel {
  double p95_ms = 100;       // a step meets the level when its overall p95 is under this
  double max_error_rate = 0.01;  // ... and errors are under this share
};

std::string_view status_of(double p95_ms);  // "Excellent", "Very Good", "Good", "Moderate", "Heavy"
bool meets(const StepResult& step, const ServiceLevel& level);
// The largest user count (or rate) whose step meets the level and whose generator was not
// saturated; 0 when none.
double capacity_of(const RunResults& results, const ServiceLevel& level);
// What limited the highest step: "generator" (its CPU or schedule lag), "CPU" (server near all
// cores), "descriptors" (connect errors or sockets refused), "database writer" (write queue),
// "database readers" (reads waited), "event fan-out" (events missing or delivery p95 over the
// level), "rate limit" (429s), or "none observed".
std::string bottleneck_of(const StepResult& step, const ServiceLevel& level, int server_cores);
std::string recommendation_of(const StepResult& step, const ServiceLevel& level);

std::string capacity_markdown(const RunResults& results, const ServiceLevel& level, int server_cores);
std::string capacity_html(const RunResults& results, const ServiceLevel& level, int server_cores);

}  // namespace lms::load

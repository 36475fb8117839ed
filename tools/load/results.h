// The raw results of a load run: one StepResult per user level (or arrival rate) with its
// histograms, errors, event delivery and the server and generator samples. Written as JSON
// (`results.json`), read back by `lms-load report`, and merged across processes and machines
// (merge adds counts and histograms of steps with the same level).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "histogram.h"

namespace lms::load {

struct ActionResult {
  Histogram latency;                       // µs, from the intended send time in the open model
  std::int64_t ok = 0;                     // 2xx answers
  std::map<std::string, std::int64_t> errors;  // "429", "500", "timeout", "connect", ... → count
};

// What the server's /metrics said during the step (deltas over the step where a counter).
struct ServerSample {
  bool sampled = false;
  double cpu_cores = 0;         // process CPU seconds per second over the step (1.0 = one core)
  double rss_bytes = 0;         // at the end of the step
  double http_connections = 0;  // at the end of the step
  double realtime_connections = 0;
  double write_queue_max = 0;   // the highest db_write_queue_depth seen
  double reads_waited = 0;      // db_reads_waited_total delta
  double requests = 0;          // http_requests_total delta (all routes, all statuses)
  double max_lag_ms = 0;        // not in /metrics: from the health summary, when known (else 0)
};

// The generator's own state, so a report never blames the server for the client's limit.
struct GeneratorSample {
  double cpu_cores = 0;            // the generator's CPU seconds per second (all workers)
  double schedule_lag_p99_ms = 0;  // how late actions started against their schedule (p99)
  bool saturated = false;          // cpu near its cores, or lag p99 over 100 ms
  std::int64_t descriptors_limit = 0;
};

struct StepResult {
  std::int64_t users = 0;     // closed model: virtual users; open model: 0
  double rate = 0;            // open model: requests per second intended; closed: 0
  double seconds = 0;         // measured duration of the step (after ramp-up)
  std::map<std::string, ActionResult> actions;  // by action_name()
  Histogram overall;          // every request of the step
  std::int64_t requests = 0;  // answered requests (any status) the generator counted
  std::int64_t sockets_wanted = 0, sockets_connected = 0;
  Histogram event_delivery;   // µs from the REST answer of a write to its receipt on a socket
  std::int64_t events_expected = 0, events_delivered = 0;  // receipts expected / seen
  // Of the delivered: receipts the server folded into a `leads:bulk` summary, as the contract
  // allows when more than 20 events would reach a socket in one second (no latency for those).
  std::int64_t events_summarized = 0;
  ServerSample server;
  GeneratorSample generator;
  std::int64_t errors_total() const;  // over all actions
  double error_rate() const;          // errors / (ok + errors); 0 when nothing was sent
};

struct RunResults {
  std::string tool_version = "1";
  std::string url;
  std::string started_at;  // RFC 3339
  std::string model = "closed";  // "closed" or "open"
  std::string http_mode = "per-user";  // "per-user" or "pooled"
  std::string scenario_json;           // the scenario the run used
  int workers = 1;
  std::int64_t accounts = 0;           // distinct user accounts the virtual users signed in as
  std::vector<StepResult> steps;
  bool interrupted = false;            // stopped by Ctrl-C: the steps here are the completed ones
};

std::string results_to_json(const RunResults& r);
// Throws std::invalid_argument with a clear message on malformed input.
RunResults results_from_json(const std::string& json);
// Adds `other` into `into`: steps with the same users/rate are merged (histograms, counts,
// sockets, events; server samples are kept from `into` when it has one, else taken; generator
// CPU adds up, lag takes the max); other steps are appended, and steps stay ordered by level.
// Into a blank RunResults (no steps, no url) the other run is copied. Otherwise workers and
// accounts add up and the earliest start is kept; runs of another model or HTTP mode, or with
// histograms of another max_value, throw std::invalid_argument and leave `into` unchanged.
void merge_results(RunResults& into, const RunResults& other);

}  // namespace lms::load

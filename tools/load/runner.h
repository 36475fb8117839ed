// One step of a load run in this process: the virtual users of this worker (each a browser
// tab at the lead desk: a Socket.IO connection and a loop of weighted actions), or the lanes
// of the open model, for a ramp-up and a measured hold; then the step's StepResult.
//
// Organizations are split over workers (organization o belongs to worker o % workers), so
// every socket that should hear of a write runs in the process that made it, and event
// delivery is measured exactly: from the REST answer of a create or status change to its
// receipt on every connected socket of the organization's admins and managers and of the
// lead's assignee; receipts that never come are counted.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client.h"
#include "results.h"
#include "scenario.h"
#include "state.h"

namespace lms::load {

// Counters a worker publishes while it runs, for the live line (in memory shared across
// the worker processes; relaxed atomics).
struct LiveSlot {
  std::atomic<std::int64_t> requests{0}, errors{0}, sockets{0}, events{0}, p95_us{0};
};

struct StepPlan {
  std::int64_t users = 0;  // closed model: this worker's users; open model: its lanes
  double rate = 0;         // open model: this worker's arrivals per second; 0 = closed model
  double ramp_s = 5;       // users connect spread over this time, then the hold is measured
  double hold_s = 30;
  int threads = 1;         // io_contexts (one thread each)
  double event_grace_s = 2;  // after the hold, how long receipts may still arrive
};

struct RunContext {
  Target target;
  const LoadState* state = nullptr;
  Scenario scenario;
  std::vector<net::ip::address> sources;  // source addresses, round-robin (empty: the kernel's)
  int worker = 0, workers = 1;
  std::string run_tag;  // makes emails of created leads unique to the run
};

// Runs one step; returns early (with what was measured) once `stop` is set.
StepResult run_step(const RunContext& context, const StepPlan& plan, LiveSlot* live, const std::atomic<bool>& stop);

// The organizations (indexes into state.organizations) a worker drives.
std::vector<std::size_t> organizations_of(const LoadState& state, int worker, int workers);

// Scans a lead's JSON for its id, version and assignedTo (the server writes them as plain
// members; this avoids a full parse on the hot path of event receipt).
struct LeadKey {
  std::string id;
  std::int64_t version = 0;
  std::string assigned_to;  // empty: none
};
std::optional<LeadKey> scan_lead(std::string_view json);

}  // namespace lms::load

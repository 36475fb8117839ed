// Fills an organization with synthetic agents and leads (lms seed, and the demo of make run).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "store/store.h"

namespace lms::app {

struct SeedResult {
  std::int64_t inserted = 0;
  int agents = 0;
  double seconds = 0;        // until every lead was committed (and searchable)
};

// Creates `agents` agent users (all with `agent_password_hash`) and `leads` leads spread over
// them, in batches of `batch` leads per transaction. Blocks; `progress` sees the running total.
SeedResult seed_organization(store::Store& store, const std::string& org_id, std::uint64_t leads, int agents,
                             const std::string& agent_password_hash, std::size_t batch = 10000,
                             const std::function<void(std::int64_t)>& progress = {});

}  // namespace lms::app

// Synthetic leads for demos and benchmarks: realistic names, companies, valid phone numbers
// of several countries (unique per index), sources, statuses and tags, spread over agents and
// over the past year. Deterministic for a given seed and index.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "leads/model.h"

namespace lms::leads {

class LeadGenerator {
 public:
  LeadGenerator(std::string org_id, std::vector<std::string> agent_ids, std::string created_by, Millis now,
                std::uint64_t seed = 42);
  // The lead number `index` (0, 1, 2, ...): every index gives a distinct phone and email.
  Lead make(std::uint64_t index) const;

 private:
  std::string org_id_;
  std::vector<std::string> agents_;
  std::string created_by_;
  Millis now_;
  std::uint64_t seed_;
};

}  // namespace lms::leads

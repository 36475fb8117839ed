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
  // Leads 0..total-1 get creation times spread evenly over the year before `now`, in index
  // order, as if they had been entered one after another over that year.
  LeadGenerator(std::string org_id, std::vector<std::string> agent_ids, std::string created_by, Millis now,
                std::uint64_t total, std::uint64_t first_number = 0);
  // The lead number `index` (0, 1, 2, ...): every index gives a distinct phone and email
  // (numbered from `first_number`, so later runs do not repeat earlier ones).
  Lead make(std::uint64_t index) const;

 private:
  std::string org_id_;
  std::vector<std::string> agents_;
  std::string created_by_;
  Millis now_;
  std::uint64_t total_;
  std::uint64_t first_;
};

}  // namespace lms::leads

// Think times and action choice of the closed model (see schedule.h).
#include "schedule.h"

namespace lms::load {

double think_time_ms(const Scenario& s, std::mt19937_64& rng) {
  std::exponential_distribution<double> exponential(1.0 / s.think_mean_ms);
  return std::clamp(exponential(rng), s.think_min_ms, s.think_max_ms);
}

ActionPicker::ActionPicker(const Scenario& s) {
  double total = 0;
  for (std::size_t i = 0; i < kActions; ++i) {
    total += std::max(0.0, s.weights[i]);
    cumulative_[i] = total;
  }
  for (auto& c : cumulative_) c = total > 0 ? c / total : 1.0;
}

Action ActionPicker::pick_at(double u01) const {
  for (std::size_t i = 0; i < kActions; ++i)
    if (u01 < cumulative_[i] && (i == 0 || cumulative_[i] > cumulative_[i - 1])) return static_cast<Action>(i);
  for (std::size_t i = kActions; i-- > 0;)
    if (i == 0 || cumulative_[i] > cumulative_[i - 1]) return static_cast<Action>(i);
  return Action::list;
}

Action ActionPicker::pick(std::mt19937_64& rng) const {
  return pick_at(std::uniform_real_distribution<double>(0.0, 1.0)(rng));
}

}  // namespace lms::load

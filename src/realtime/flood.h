// Flood control, as pure state machines driven by the hub's one-second tick.
//
// FloodGate (one per receiving socket): lets up to `limit` lead events per second through
// one by one; beyond that, events are only counted, and the tick turns the counts into one
// `leads:bulk` per second. A receiver that overflowed stays in counting mode for the next
// second too, so a burst is not answered with twenty single events every second.
//
// ProgressThrottle (one per hub): at most one `import:progress` per second per job; a
// thinned-out progress is kept and sent by the tick, so the last figures always arrive.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "realtime/event_bus.h"

namespace lms::realtime {

struct BulkCounts {
  std::int64_t created = 0, updated = 0, deleted = 0;
  bool any() const { return created + updated + deleted > 0; }
};

class FloodGate {
 public:
  explicit FloodGate(int limit = 20) : limit_(limit) {}

  // True: deliver the event itself. False: it was counted for the next `leads:bulk`.
  bool admit(EventKind kind) {
    ++in_window_;
    if (!counting_ && in_window_ <= limit_) return true;
    switch (kind) {
      case EventKind::lead_created: ++pending_.created; break;
      case EventKind::lead_deleted: ++pending_.deleted; break;
      default: ++pending_.updated; break;
    }
    return false;
  }

  // Counts that always go into the next `leads:bulk` (imports announce batches, not leads).
  void add(const BulkCounts& counts) {
    pending_.created += counts.created;
    pending_.updated += counts.updated;
    pending_.deleted += counts.deleted;
  }

  // The one-second tick: the counts to send as one `leads:bulk`, if any; starts a new window.
  std::optional<BulkCounts> tick() {
    std::optional<BulkCounts> out;
    if (pending_.any()) out = pending_;
    pending_ = {};
    counting_ = in_window_ > limit_;
    in_window_ = 0;
    return out;
  }

  bool idle() const { return in_window_ == 0 && !counting_ && !pending_.any(); }

 private:
  int limit_;
  int in_window_ = 0;
  bool counting_ = false;
  BulkCounts pending_;
};

class ProgressThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  // True: send this progress now. False: it is kept as the job's latest, for the tick.
  bool admit(const Event& event, Clock::time_point now) {
    auto& job = jobs_[event.job_id];
    if (job.last_sent && now - *job.last_sent < std::chrono::seconds(1)) {
      job.held = event;
      return false;
    }
    job.last_sent = now;
    job.held.reset();
    return true;
  }

  // A job's completion supersedes any held progress.
  void finish(const std::string& job_id) { jobs_.erase(job_id); }

  // Progress held for at least a second since the job's last send, ready to go now.
  template <class Fn>
  void tick(Clock::time_point now, Fn&& send) {
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      auto& job = it->second;
      if (job.held && (!job.last_sent || now - *job.last_sent >= std::chrono::seconds(1))) {
        send(*job.held);
        job.held.reset();
        job.last_sent = now;
      }
      // Forget jobs that have been quiet for a while.
      if (!job.held && job.last_sent && now - *job.last_sent > std::chrono::seconds(60)) it = jobs_.erase(it);
      else ++it;
    }
  }

 private:
  struct Job {
    std::optional<Clock::time_point> last_sent;
    std::optional<Event> held;
  };
  std::unordered_map<std::string, Job> jobs_;
};

}  // namespace lms::realtime

// The event bus: how services announce what changed, and how the real-time hub hears it.
// Services publish domain events (a lead was created, an import progressed, a user was
// deactivated) with the facts needed to choose their audience; they know nothing of sockets.
// The interface is engine-neutral: events are plain values with a JSON payload, so a Redis
// implementation can carry them between instances unchanged. LocalEventBus delivers within
// this process.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace lms::realtime {

enum class EventKind {
  lead_created,
  lead_updated,
  lead_assigned,
  lead_deleted,
  // Many leads changed at once (an import batch, a revert): counts only, delivered as part of
  // the receivers' next `leads:bulk`, never one event per lead.
  leads_changed,
  import_progress,
  import_completed,
  user_deactivated,
};

// The event name on the wire ("lead:created"), empty for control events.
std::string_view event_wire_name(EventKind kind);
bool is_lead_event(EventKind kind);

struct Event {
  EventKind kind = EventKind::lead_created;
  std::string organization_id;
  // JSON text of the payload as clients receive it (the REST representation).
  std::string payload;
  // Lead events: the lead's assignee after the change (empty: none).
  std::string assignee;
  // lead_assigned: the assignee before the change (empty: none).
  std::string previous_assignee;
  // Import events: the job's creator; user_deactivated: the user.
  std::string user_id;
  // Import events: the job, so progress can be thinned per job.
  std::string job_id;
  // leads_changed: how many leads were created, updated and deleted.
  struct Counts {
    std::int64_t created = 0, updated = 0, deleted = 0;
  } counts;
};

class EventBus {
 public:
  using Subscriber = std::function<void(const Event&)>;
  virtual ~EventBus() = default;
  // Never blocks on subscribers' I/O; safe from any thread.
  virtual void publish(Event event) = 0;
  // Subscribers are registered at start-up, before the first publish.
  virtual void subscribe(Subscriber subscriber) = 0;
};

// Delivers each event to every subscriber synchronously on the publishing thread; the
// subscribers (the hub) hand the work to their own executors.
class LocalEventBus final : public EventBus {
 public:
  void publish(Event event) override;
  void subscribe(Subscriber subscriber) override;

 private:
  std::mutex mutex_;
  std::vector<Subscriber> subscribers_;  // guarded by mutex_
};

}  // namespace lms::realtime

#include "realtime/event_bus.h"

namespace lms::realtime {

std::string_view event_wire_name(EventKind kind) {
  switch (kind) {
    case EventKind::lead_created: return "lead:created";
    case EventKind::lead_updated: return "lead:updated";
    case EventKind::lead_assigned: return "lead:assigned";
    case EventKind::lead_deleted: return "lead:deleted";
    case EventKind::import_progress: return "import:progress";
    case EventKind::import_completed: return "import:completed";
    case EventKind::leads_changed: return "leads:bulk";
    case EventKind::user_deactivated: return {};
  }
  return {};
}

bool is_lead_event(EventKind kind) {
  return kind == EventKind::lead_created || kind == EventKind::lead_updated || kind == EventKind::lead_assigned ||
         kind == EventKind::lead_deleted;
}

void LocalEventBus::publish(Event event) {
  // Subscribers only hand the event to their executors, so holding the lock is brief.
  std::lock_guard lock(mutex_);
  for (auto& s : subscribers_) s(event);
}

void LocalEventBus::subscribe(Subscriber subscriber) {
  std::lock_guard lock(mutex_);
  subscribers_.push_back(std::move(subscriber));
}

}  // namespace lms::realtime

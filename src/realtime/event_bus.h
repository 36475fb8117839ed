// The event bus: how services announce what changed, and how the real-time hub hears it.
// Services publish domain events (a lead was created, an import progressed, a user was
// deactivated) with the facts needed to choose their audience; they know nothing of sockets.
// The interface is engine-neutral: events are plain values with a JSON payload, so the Redis
// bus (redis_event_bus.h) carries them between instances unchanged (encode_event /
// decode_event). LocalEventBus delivers within this process.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
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
  // Control events, never sent to sockets as such. A user's role, name or password changed
  // (payload: the role's name): caches drop the user, sockets take the new role.
  user_changed,
  // A sign-in session's access tokens were revoked (logout, refresh reuse): `user_id` holds
  // the session id, `until` when its last access token expires anyway.
  session_revoked,
  // The bus may have lost events (Redis was unreachable): every socket gets `resync`, its
  // cue to refetch. `payload` is the event's JSON body.
  resync,
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
  // session_revoked: milliseconds since the epoch until which the revocation matters.
  std::int64_t until = 0;
};

// The Redis bus's message format: length-prefixed fields, so no payload byte needs escaping.
// decode_event returns nullopt for anything malformed (a message from another version).
std::string encode_event(const Event& event, std::string_view origin);
struct DecodedEvent {
  std::string origin;
  Event event;
};
std::optional<DecodedEvent> decode_event(std::string_view message);

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

#include "realtime/event_bus.h"

#include <charconv>

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
    case EventKind::resync: return "resync";
    case EventKind::user_deactivated:
    case EventKind::user_changed:
    case EventKind::session_revoked: return {};
  }
  return {};
}

bool is_lead_event(EventKind kind) {
  return kind == EventKind::lead_created || kind == EventKind::lead_updated || kind == EventKind::lead_assigned ||
         kind == EventKind::lead_deleted;
}

namespace {

constexpr std::string_view kFormat = "e1";
constexpr int kLastKind = static_cast<int>(EventKind::resync);

void put(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

void put(std::string& out, std::int64_t number) { put(out, std::to_string(number)); }

// Reads one `<length>:<bytes>` field from the front of `in`.
bool take(std::string_view& in, std::string_view& field) {
  std::size_t length = 0;
  auto [end, ec] = std::from_chars(in.data(), in.data() + in.size(), length);
  if (ec != std::errc{} || end == in.data() + in.size() || *end != ':') return false;
  const std::size_t header = static_cast<std::size_t>(end - in.data()) + 1;
  if (length > in.size() - header) return false;
  field = in.substr(header, length);
  in.remove_prefix(header + length);
  return true;
}

bool take(std::string_view& in, std::string& field) {
  std::string_view view;
  if (!take(in, view)) return false;
  field.assign(view);
  return true;
}

bool take(std::string_view& in, std::int64_t& number) {
  std::string_view view;
  if (!take(in, view) || view.empty()) return false;
  auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), number);
  return ec == std::errc{} && end == view.data() + view.size();
}

}  // namespace

std::string encode_event(const Event& e, std::string_view origin) {
  std::string out;
  out.reserve(96 + e.payload.size());
  put(out, kFormat);
  put(out, origin);
  put(out, static_cast<std::int64_t>(e.kind));
  put(out, e.organization_id);
  put(out, e.assignee);
  put(out, e.previous_assignee);
  put(out, e.user_id);
  put(out, e.job_id);
  put(out, e.counts.created);
  put(out, e.counts.updated);
  put(out, e.counts.deleted);
  put(out, e.until);
  put(out, e.payload);
  return out;
}

std::optional<DecodedEvent> decode_event(std::string_view in) {
  DecodedEvent d;
  std::string_view format;
  std::int64_t kind = -1;
  Event& e = d.event;
  if (!take(in, format) || format != kFormat) return std::nullopt;
  if (!take(in, d.origin) || !take(in, kind) || kind < 0 || kind > kLastKind) return std::nullopt;
  e.kind = static_cast<EventKind>(kind);
  if (!take(in, e.organization_id) || !take(in, e.assignee) || !take(in, e.previous_assignee) ||
      !take(in, e.user_id) || !take(in, e.job_id) || !take(in, e.counts.created) || !take(in, e.counts.updated) ||
      !take(in, e.counts.deleted) || !take(in, e.until) || !take(in, e.payload) || !in.empty())
    return std::nullopt;
  return d;
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

#include "realtime/hub.h"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <sodium.h>

#include "auth/tokens.h"
#include "common/json.h"
#include "ops/log.h"
#include "realtime/packets.h"

namespace lms::realtime {

namespace {

// `prefix` (the node id behind a load balancer) lets a proxy route every request of a session
// to the instance that holds it; '.' never occurs in base64url, so it cannot be forged by chance.
std::string new_session_id(const std::string& prefix) {
  unsigned char bytes[15];
  randombytes_buf(bytes, sizeof bytes);
  auto random = auth::base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
  return prefix.empty() ? random : prefix + "." + random;
}

Packet bulk_packet(const BulkCounts& counts) {
  return make_packet(sio_event("leads:bulk", json::build([&](json::Writer& w) {
                                                          w.StartObject();
                                                          json::key(w, "created");
                                                          w.Int64(counts.created);
                                                          json::key(w, "updated");
                                                          w.Int64(counts.updated);
                                                          json::key(w, "deleted");
                                                          w.Int64(counts.deleted);
                                                          w.EndObject();
                                                        })));
}

bool is_manager(accounts::Role role) { return role == accounts::Role::admin || role == accounts::Role::manager; }

}  // namespace

Hub::Hub(std::vector<asio::io_context*> contexts, EventBus& bus, HubSettings settings) : settings_(settings) {
  for (auto* context : contexts) {
    auto shard = std::make_unique<Shard>();
    shard->context = context;
    shard->tick = std::make_unique<asio::steady_timer>(*context);
    shards_.push_back(std::move(shard));
  }
  bus.subscribe([this](const Event& event) { on_event(event); });
}

Hub::~Hub() = default;

void Hub::start() {
  for (auto& shard : shards_) schedule_tick(*shard);
  sweeper_ = std::make_unique<asio::steady_timer>(*shards_.front()->context);
  schedule_sweep();
}

void Hub::schedule_sweep() {
  // Pings go out within a quarter of the shorter heartbeat setting of being due.
  auto period = std::min(settings_.session.ping_interval, settings_.session.ping_timeout) / 4;
  period = std::clamp(period, std::chrono::milliseconds(20), std::chrono::milliseconds(1000));
  sweeper_->expires_after(period);
  sweeper_->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    sweep();
    schedule_sweep();
  });
}

void Hub::sweep() {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard lock(sessions_mutex_);
    all.reserve(sessions_.size());
    for (auto& [sid, session] : sessions_) all.push_back(session);
  }
  // Outside the lock: a heartbeat may close its session, which takes the lock to forget it.
  auto now = std::chrono::steady_clock::now();
  for (auto& session : all) session->heartbeat(now);
}

std::shared_ptr<Session> Hub::open_session(asio::any_io_executor home, Transport transport) {
  auto session = std::make_shared<Session>(new_session_id(settings_.sid_prefix), transport, std::move(home), settings_.session,
                                           [this](Session& closed) { on_session_closed(closed); });
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_.emplace(session->sid(), session);
  }
  if (stopping_) {
    session->close(CloseReason::server_disconnect);
  }
  return session;
}

std::shared_ptr<Session> Hub::find(const std::string& sid) const {
  std::lock_guard lock(sessions_mutex_);
  auto it = sessions_.find(sid);
  return it == sessions_.end() ? nullptr : it->second;
}

std::size_t Hub::sessions() const {
  std::lock_guard lock(sessions_mutex_);
  return sessions_.size();
}

bool Hub::admit_new_session() {
  if (settings_.max_pending_sessions == 0) return true;
  const auto connected = static_cast<std::size_t>(std::max<std::int64_t>(0, connections()));
  const auto open = sessions();
  if (open < connected + settings_.max_pending_sessions) return true;
  refused_sessions_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

Hub::Shard& Hub::shard_of(const asio::any_io_executor& executor) {
  for (auto& shard : shards_)
    if (&executor.context() == static_cast<asio::execution_context*>(shard->context)) return *shard;
  return *shards_.front();
}

void Hub::join(const std::shared_ptr<Session>& session, const accounts::Principal& principal) {
  session->set_principal(principal);
  connections_.fetch_add(1, std::memory_order_relaxed);
  Shard& shard = shard_of(session->home());
  asio::post(*shard.context, [&shard, session, principal, limit = settings_.bulk_threshold] {
    // A session closed meanwhile has already had its removal posted (or will find nothing).
    if (session->closed() || !session->principal()) return;
    shard.by_org[principal.organization_id].emplace(session.get(), Receiver{session, principal, FloodGate{limit}});
  });
}

void Hub::leave(const std::shared_ptr<Session>& session) {
  auto principal = session->take_principal();
  if (!principal) return;
  connections_.fetch_sub(1, std::memory_order_relaxed);
  Shard& shard = shard_of(session->home());
  asio::post(*shard.context, [&shard, session, org = principal->organization_id] {
    auto it = shard.by_org.find(org);
    if (it == shard.by_org.end()) return;
    it->second.erase(session.get());
    if (it->second.empty()) shard.by_org.erase(it);
  });
}

void Hub::on_session_closed(Session& session) {
  auto reason = session.close_reason().value_or(CloseReason::transport_error);
  // Closes the server decided on are worth an operator's attention; clients leaving are not.
  bool notable = reason == CloseReason::slow_consumer || reason == CloseReason::protocol_error ||
                 reason == CloseReason::connect_timeout;
  ops::LogLine line("socket closed");
  line.str("sid", session.sid()).str("reason", to_string(reason));
  if (auto who = session.principal()) line.str("user_id", who->user_id);
  notable ? line.info() : line.debug();
  std::shared_ptr<Session> self;
  {
    std::lock_guard lock(sessions_mutex_);
    auto it = sessions_.find(session.sid());
    if (it != sessions_.end()) {
      self = std::move(it->second);
      sessions_.erase(it);
    }
  }
  if (self) leave(self);
}

void Hub::close_all() {
  stopping_ = true;
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard lock(sessions_mutex_);
    for (auto& [sid, session] : sessions_) all.push_back(session);
  }
  for (auto& session : all) session->close(CloseReason::server_disconnect);
}

bool Hub::hears(const Receiver& receiver, const Event& event) {
  const auto& who = receiver.principal;
  if (who.organization_id != event.organization_id) return false;
  if (is_manager(who.role)) return true;
  switch (event.kind) {
    case EventKind::lead_assigned:
      return who.user_id == event.assignee || who.user_id == event.previous_assignee;
    case EventKind::import_progress:
    case EventKind::import_completed:
      return who.user_id == event.user_id;
    case EventKind::user_deactivated:
    case EventKind::user_changed:
    case EventKind::session_revoked:
      return false;
    case EventKind::resync:
      return true;
    default:
      return who.user_id == event.assignee;
  }
}

void Hub::on_event(const Event& event) {
  if (event.kind == EventKind::user_deactivated) {
    for (auto& shard : shards_) {
      asio::post(*shard->context, [this, s = shard.get(), event] {
        auto it = s->by_org.find(event.organization_id);
        if (it == s->by_org.end()) return;
        std::vector<std::shared_ptr<Session>> ending;
        for (auto& [raw, receiver] : it->second)
          if (receiver.principal.user_id == event.user_id) ending.push_back(receiver.session);
        for (auto& session : ending) {
          leave(session);
          session->disconnect(CloseReason::server_disconnect);
        }
      });
    }
    return;
  }
  if (event.kind == EventKind::user_changed) {
    auto role = accounts::parse_role(event.payload);
    if (!role) return;
    for (auto& shard : shards_) {
      asio::post(*shard->context, [s = shard.get(), event, role = *role] {
        auto it = s->by_org.find(event.organization_id);
        if (it == s->by_org.end()) return;
        for (auto& [raw, receiver] : it->second)
          if (receiver.principal.user_id == event.user_id) receiver.principal.role = role;
      });
    }
    return;
  }
  if (event.kind == EventKind::session_revoked) return;
  if (event.kind == EventKind::resync) {
    auto packet = make_packet(sio_event(event_wire_name(event.kind), event.payload));
    for (auto& shard : shards_)
      asio::post(*shard->context, [s = shard.get(), packet] {
        for (auto& [org, receivers] : s->by_org)
          for (auto& [raw, receiver] : receivers) receiver.session->send(packet);
      });
    resyncs_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (event.kind == EventKind::import_progress || event.kind == EventKind::import_completed) {
    std::lock_guard lock(progress_mutex_);
    if (event.kind == EventKind::import_completed) progress_.finish(event.job_id);
    else if (!progress_.admit(event, ProgressThrottle::Clock::now())) return;
  }
  if (event.kind == EventKind::leads_changed) {
    for (auto& shard : shards_)
      asio::post(*shard->context, [this, s = shard.get(), event] { count_into_bulk(*s, event); });
    return;
  }
  auto packet = make_packet(sio_event(event_wire_name(event.kind), event.payload));
  for (auto& shard : shards_)
    asio::post(*shard->context, [this, s = shard.get(), event, packet] { fan_out(*s, event, packet); });
}

void Hub::fan_out(Shard& shard, const Event& event, const Packet& packet) {
  auto it = shard.by_org.find(event.organization_id);
  if (it == shard.by_org.end()) return;
  const bool lead_event = is_lead_event(event.kind);
  for (auto& [raw, receiver] : it->second) {
    if (!hears(receiver, event)) continue;
    if (lead_event && !receiver.gate.admit(event.kind)) continue;
    receiver.session->send(packet);
  }
}

void Hub::count_into_bulk(Shard& shard, const Event& event) {
  auto it = shard.by_org.find(event.organization_id);
  if (it == shard.by_org.end()) return;
  const BulkCounts counts{event.counts.created, event.counts.updated, event.counts.deleted};
  for (auto& [raw, receiver] : it->second)
    if (hears(receiver, event)) receiver.gate.add(counts);
}

void Hub::schedule_tick(Shard& shard) {
  shard.tick->expires_after(std::chrono::seconds(1));
  shard.tick->async_wait([this, &shard](boost::system::error_code ec) {
    if (ec) return;
    tick(shard);
    schedule_tick(shard);
  });
}

void Hub::tick(Shard& shard) {
  for (auto& [org, receivers] : shard.by_org)
    for (auto& [raw, receiver] : receivers)
      if (auto counts = receiver.gate.tick()) receiver.session->send(bulk_packet(*counts));

  if (&shard != shards_.front().get()) return;
  std::vector<Event> due;
  {
    std::lock_guard lock(progress_mutex_);
    progress_.tick(ProgressThrottle::Clock::now(), [&](const Event& held) { due.push_back(held); });
  }
  for (auto& event : due) {
    auto packet = make_packet(sio_event(event_wire_name(event.kind), event.payload));
    for (auto& s : shards_) asio::post(*s->context, [this, sp = s.get(), event, packet] { fan_out(*sp, event, packet); });
  }
}

}  // namespace lms::realtime

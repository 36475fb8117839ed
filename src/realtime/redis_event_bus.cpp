#include "realtime/redis_event_bus.h"

#include <boost/asio/post.hpp>

#include "ops/log.h"
#include "ops/ops_routes.h"

namespace lms::realtime {

namespace asio = boost::asio;

RedisEventBus::RedisEventBus(asio::io_context& context, const redis::Url& url, std::string origin, std::string channel)
    : commands_(context, url, redis::ConnectionSettings{}, "commands"),
      subscriber_(context, url, redis::ConnectionSettings{}, "events"),
      origin_(std::move(origin)),
      channel_(std::move(channel)) {
  commands_.on_state([this](bool up) { on_link(up); });
  subscriber_.on_state([this](bool up) { on_link(up); });
  subscriber_.subscribe({channel_}, [this](std::string_view, std::string_view message) { on_message(message); });
}

RedisEventBus::~RedisEventBus() { stop(); }

void RedisEventBus::start() {
  commands_.start();
  subscriber_.start();
}

void RedisEventBus::stop() {
  subscriber_.stop();
  commands_.stop();
}

void RedisEventBus::subscribe(Subscriber subscriber) {
  std::lock_guard lock(mutex_);
  subscribers_.push_back(std::move(subscriber));
}

void RedisEventBus::deliver(const Event& event) {
  std::lock_guard lock(mutex_);
  for (auto& s : subscribers_) s(event);
}

void RedisEventBus::publish(Event event) {
  deliver(event);
  commands_.command({"PUBLISH", channel_, encode_event(event, origin_)}, [this](const redis::Reply& reply) {
    if (!reply.is_error()) {
      published_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    publish_failed_.fetch_add(1, std::memory_order_relaxed);
    // The callback may run on the caller's thread (queue full): note the loss on the links'.
    asio::post(commands_.context(), [this] {
      missed_ = true;
      resync_if_needed();
    });
  });
}

void RedisEventBus::on_message(std::string_view message) {
  auto decoded = decode_event(message);
  if (!decoded) {
    malformed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (decoded->origin == origin_) return;  // delivered locally when published
  received_.fetch_add(1, std::memory_order_relaxed);
  deliver(decoded->event);
}

void RedisEventBus::on_link(bool up) {
  if (!up) {
    missed_ = true;
    return;
  }
  resync_if_needed();
}

void RedisEventBus::resync_if_needed() {
  if (!missed_ || !healthy()) return;
  missed_ = false;
  Event event;
  event.kind = EventKind::resync;
  event.payload = R"({"reason":"events may have been missed while the event bus was unreachable"})";
  ops::LogLine("event bus back: sockets told to resync").info();
  publish(std::move(event));
}

void RedisEventBus::write_metrics(std::string& out) const {
  ops::write_gauge(out, "redis_connected", "Whether both Redis links (commands, events) are connected.",
                   healthy() ? 1 : 0);
  ops::write_counter(out, "redis_reconnects_total", "Redis links re-established after a loss.",
                     commands_.reconnects() + subscriber_.reconnects());
  ops::write_gauge(out, "redis_pending_commands", "Redis commands queued or in flight.",
                   static_cast<double>(commands_.pending()));
  ops::write_counter(out, "eventbus_published_total", "Events published to the other instances.", published_.load());
  ops::write_counter(out, "eventbus_publish_failed_total",
                     "Events that could not reach the other instances (Redis unreachable).", publish_failed_.load());
  ops::write_counter(out, "eventbus_received_total", "Events received from other instances.", received_.load());
  ops::write_counter(out, "eventbus_malformed_total", "Bus messages that could not be decoded (another version).",
                     malformed_.load());
}

}  // namespace lms::realtime

// RedisEventBus: the event bus of many instances, on Redis pub/sub.
//
// An event published here reaches this instance's subscribers at once (on the publishing
// thread, as with LocalEventBus) and the other instances through one Redis channel; an
// instance ignores its own messages coming back, so every socket hears an event exactly once.
// Each instance's hub then applies the audience rules and flood control to its own sockets,
// exactly as for a local event.
//
// Redis being unreachable never blocks a request: publishes that cannot be sent are dropped
// and counted. Whenever events may have been lost (a link went down, a publish failed), the
// bus remembers it; once both links are up again it delivers one `resync` control event
// locally (every socket of this instance gets `resync` and refetches) and publishes one, so
// the other instances, whose sockets may have missed this instance's events, do the same.
//
// Threads: the two Redis links live on one io_context (an I/O thread); link state and the
// missed-events flag are touched only there. publish() and subscribe() may be called from any
// thread.
#pragma once

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "realtime/event_bus.h"
#include "redis/client.h"

namespace lms::realtime {

class RedisEventBus final : public EventBus {
 public:
  RedisEventBus(boost::asio::io_context& context, const redis::Url& url, std::string origin,
                std::string channel = "lms:events");
  ~RedisEventBus() override;

  void start();
  // On the links' thread, or after their io_context stopped.
  void stop();

  void publish(Event event) override;
  void subscribe(Subscriber subscriber) override;

  // Both links connected: events flow between instances.
  bool healthy() const { return commands_.up() && subscriber_.up(); }
  // redis_connected, redis_reconnects_total, eventbus_* counters.
  void write_metrics(std::string& out) const;

 private:
  void deliver(const Event& event);
  void on_message(std::string_view message);
  void on_link(bool up);
  void resync_if_needed();

  redis::Connection commands_;
  redis::Connection subscriber_;
  const std::string origin_;
  const std::string channel_;

  std::mutex mutex_;
  std::vector<Subscriber> subscribers_;  // guarded by mutex_

  bool missed_ = false;  // on the links' thread only
  std::atomic<std::uint64_t> published_{0}, publish_failed_{0}, received_{0}, malformed_{0};
};

}  // namespace lms::realtime

#include "realtime/session.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace lms::realtime {

const char* to_string(CloseReason reason) {
  switch (reason) {
    case CloseReason::client_close: return "client close";
    case CloseReason::transport_error: return "transport error";
    case CloseReason::ping_timeout: return "ping timeout";
    case CloseReason::protocol_error: return "protocol error";
    case CloseReason::slow_consumer: return "slow consumer";
    case CloseReason::server_disconnect: return "server disconnect";
    case CloseReason::connect_timeout: return "connect timeout";
  }
  return "unknown";
}

Session::Session(std::string sid, Transport transport, asio::any_io_executor home, const SessionLimits& limits,
                 CloseHandler on_close)
    : sid_(std::move(sid)),
      home_(std::move(home)),
      limits_(limits),
      on_close_(std::move(on_close)),
      transport_(transport) {}

bool Session::send(Packet packet) {
  // On the WebSocket connection's own thread with nothing queued that the packet could
  // overtake: straight to the connection (which bounds what it keeps by queue_limit_bytes).
  if (auto* sink = sink_.load(std::memory_order_acquire);
      sink && queued_count_.load(std::memory_order_acquire) == 0 && !closing_.load(std::memory_order_acquire) &&
      sink->on_own_thread()) {
    sink->deliver(packet);
    return true;
  }
  bool overflow = false;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    if (queued_bytes_ + packet->size() > limits_.queue_limit_bytes) {
      overflow = true;
    } else {
      queued_bytes_ += packet->size();
      queue_.push_back(std::move(packet));
      queued_count_.store(queue_.size(), std::memory_order_release);
      wake_locked();
    }
  }
  if (overflow) {
    close(CloseReason::slow_consumer);
    return false;
  }
  return true;
}

Session::Batch Session::take() {
  Batch batch;
  std::optional<CloseReason> close_now;
  {
    std::lock_guard lock(mutex_);
    batch.packets.swap(queue_);
    queued_bytes_ = 0;
    queued_count_.store(0, std::memory_order_release);
    batch.closed = closed_.has_value();
    wake_posted_ = false;
    if (!batch.closed && batch.packets.empty() && close_when_flushed_) close_now = close_when_flushed_;
  }
  if (close_now) {
    close(*close_now);
    batch.closed = true;
  }
  return batch;
}

void Session::disconnect(CloseReason reason) {
  std::lock_guard lock(mutex_);
  if (closed_ || close_when_flushed_) return;
  auto packet = make_packet("41");
  queued_bytes_ += packet->size();
  queue_.push_back(std::move(packet));
  queued_count_.store(queue_.size(), std::memory_order_release);
  // Later packets must queue behind the DISCONNECT (which closes the session once taken).
  closing_.store(true, std::memory_order_release);
  close_when_flushed_ = reason;
  wake_locked();
}

void TimerWaker::wake(bool) {
  asio::post(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
}

asio::awaitable<void> TimerWaker::wait() {
  boost::system::error_code ec;
  timer_.expires_at(asio::steady_timer::time_point::max());
  co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

void Session::wake_locked(bool closing) {
  if (!waker_ || (wake_posted_ && !closing)) return;
  wake_posted_ = true;
  waker_->wake(closing);
}

void Session::set_waker(std::shared_ptr<Waker> waker) {
  std::lock_guard lock(mutex_);
  // A replaced consumer (a poll left pending across the upgrade) is woken to notice.
  if (waker_ && waker_ != waker) waker_->wake(false);
  waker_ = std::move(waker);
  wake_posted_ = false;
  if (!queue_.empty() || closed_) wake_locked(closed_.has_value());
}

void Session::clear_waker(const std::shared_ptr<Waker>& waker) {
  std::lock_guard lock(mutex_);
  if (waker_ == waker) waker_.reset();
}

void Session::close(CloseReason reason) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = reason;
    closing_.store(true, std::memory_order_release);
    wake_locked(true);
  }
  if (on_close_) on_close_(*this);
}

bool Session::closed() const {
  std::lock_guard lock(mutex_);
  return closed_.has_value();
}

std::optional<CloseReason> Session::close_reason() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

Transport Session::transport() const {
  std::lock_guard lock(mutex_);
  return transport_;
}

bool Session::begin_poll() {
  std::lock_guard lock(mutex_);
  if (polling_now_ || transport_ != Transport::polling) return false;
  polling_now_ = true;
  return true;
}

void Session::end_poll() {
  std::lock_guard lock(mutex_);
  polling_now_ = false;
}

bool Session::begin_upgrade() {
  std::lock_guard lock(mutex_);
  if (transport_ != Transport::polling || upgrading_ || closed_) return false;
  upgrading_ = true;
  return true;
}

void Session::finish_upgrade() {
  std::lock_guard lock(mutex_);
  transport_ = Transport::websocket;
  upgrading_ = false;
}

void Session::abort_upgrade() {
  std::lock_guard lock(mutex_);
  upgrading_ = false;
}

void Session::heartbeat(std::chrono::steady_clock::time_point now) {
  std::optional<CloseReason> overdue;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    if (!principal_ && now - opened_at_ >= limits_.connect_timeout) {
      overdue = CloseReason::connect_timeout;
    } else if (pong_due_) {
      if (now >= *pong_due_) overdue = CloseReason::ping_timeout;
    } else if (now >= next_ping_at_) {
      pong_due_ = now + limits_.ping_timeout;
      auto ping = make_packet("2");
      queued_bytes_ += ping->size();
      queue_.push_back(std::move(ping));
      queued_count_.store(queue_.size(), std::memory_order_release);
      wake_locked();
    }
  }
  if (overdue) close(*overdue);
}

void Session::pong_received() {
  std::lock_guard lock(mutex_);
  if (!pong_due_) return;
  pong_due_.reset();
  next_ping_at_ = std::chrono::steady_clock::now() + limits_.ping_interval;
}

void Session::set_principal(accounts::Principal principal) {
  std::lock_guard lock(mutex_);
  principal_ = std::move(principal);
}

std::optional<accounts::Principal> Session::take_principal() {
  std::lock_guard lock(mutex_);
  auto out = std::move(principal_);
  principal_.reset();
  return out;
}

std::optional<accounts::Principal> Session::principal() const {
  std::lock_guard lock(mutex_);
  return principal_;
}

std::size_t Session::queued_bytes() const {
  std::lock_guard lock(mutex_);
  return queued_bytes_;
}

}  // namespace lms::realtime

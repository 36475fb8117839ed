#include "auth/revocations.h"

#include <mutex>
#include <vector>

namespace lms::auth {

namespace {

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

SessionRevocations::SessionRevocations(store::AccountStore& store, std::chrono::milliseconds poll_interval)
    : store_(store), poll_interval_(poll_interval) {}

void SessionRevocations::remember(const std::string& session_id, Millis expires_at) {
  auto& expiry = revoked_[session_id];
  if (expiry < expires_at) expiry = expires_at;
}

store::Task<void> SessionRevocations::revoke(std::string session_id, Millis expires_at) {
  if (session_id.empty()) co_return;
  {
    std::unique_lock lock(mutex_);
    remember(session_id, expires_at);
  }
  co_await store_.revoke_session(session_id, expires_at);
  if (on_revoke_) on_revoke_(session_id, expires_at);
}

void SessionRevocations::note(const std::string& session_id, Millis expires_at) {
  if (session_id.empty()) return;
  std::unique_lock lock(mutex_);
  remember(session_id, expires_at);
}

store::Task<void> SessionRevocations::poll_if_due() {
  auto now = steady_ns();
  if (now < next_poll_ns_.load(std::memory_order_relaxed)) co_return;
  if (polling_.exchange(true, std::memory_order_acquire)) co_return;  // another request reads
  std::int64_t after = 0;
  {
    std::shared_lock lock(mutex_);
    after = seen_seq_;
  }
  std::vector<store::RevokedSession> rows;
  try {
    rows = co_await store_.revoked_sessions(after, now_ms());
  } catch (...) {
    polling_.store(false, std::memory_order_release);
    throw;
  }
  {
    std::unique_lock lock(mutex_);
    for (const auto& row : rows) {
      remember(row.session_id, row.expires_at);
      if (row.seq > seen_seq_) seen_seq_ = row.seq;
    }
    Millis wall = now_ms();
    std::erase_if(revoked_, [wall](const auto& entry) { return entry.second <= wall; });
  }
  next_poll_ns_.store(steady_ns() + std::chrono::nanoseconds(poll_interval_).count(), std::memory_order_relaxed);
  polling_.store(false, std::memory_order_release);
}

store::Task<bool> SessionRevocations::revoked(std::string session_id) {
  if (session_id.empty()) co_return false;
  co_await poll_if_due();
  std::shared_lock lock(mutex_);
  co_return revoked_.count(session_id) != 0;
}

}  // namespace lms::auth

// SessionRevocations: which sign-in sessions have had their access tokens revoked (logout,
// refresh-token reuse). A revocation made here takes effect here at once; one made by
// another instance sharing the database is read at most one poll interval later. The hot
// path (a token whose session is not revoked) costs a shared lock and a hash lookup.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "common/time.h"
#include "store/store.h"

namespace lms::auth {

class SessionRevocations {
 public:
  SessionRevocations(store::AccountStore& store, std::chrono::milliseconds poll_interval);

  // Records the revocation (until `expires_at`, when its last access token expires anyway).
  store::Task<void> revoke(std::string session_id, Millis expires_at);
  // Whether the session is revoked; reads other instances' revocations when the last read is
  // older than the poll interval. An empty id (a token of an older build) is never revoked.
  store::Task<bool> revoked(std::string session_id);

  // Told of every revocation made here once it is stored (several instances: the bus
  // carries it to the others at once instead of at their next poll). Set at start-up.
  void on_revoke(std::function<void(const std::string& session_id, Millis expires_at)> listener) {
    on_revoke_ = std::move(listener);
  }
  // A revocation another instance announced.
  void note(const std::string& session_id, Millis expires_at);

 private:
  void remember(const std::string& session_id, Millis expires_at);
  store::Task<void> poll_if_due();

  store::AccountStore& store_;
  const std::chrono::milliseconds poll_interval_;
  std::atomic<std::int64_t> next_poll_ns_{0};  // steady clock
  std::atomic<bool> polling_{false};
  std::shared_mutex mutex_;
  std::unordered_map<std::string, Millis> revoked_;  // session id → expiry; guarded by mutex_
  std::int64_t seen_seq_ = 0;                        // guarded by mutex_
  std::function<void(const std::string&, Millis)> on_revoke_;
};

}  // namespace lms::auth

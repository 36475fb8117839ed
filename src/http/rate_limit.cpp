#include "http/rate_limit.h"

#include <algorithm>

#include "common/hash.h"
#include "ops/config.h"

namespace lms::http {

namespace {

std::int64_t ceil_seconds(std::int64_t nanos) {
  constexpr std::int64_t kSecond = 1'000'000'000;
  return nanos <= 0 ? 0 : (nanos + kSecond - 1) / kSecond;
}

}  // namespace

std::optional<RateRule> parse_rate_rule(std::string_view text) {
  if (text == "off" || text == "0") return RateRule{};
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  std::int64_t limit = 0;
  for (char c : text.substr(0, slash)) {
    if (c < '0' || c > '9' || limit > 1'000'000'000) return std::nullopt;
    limit = limit * 10 + (c - '0');
  }
  auto window = ops::parse_duration(text.substr(slash + 1));
  if (limit <= 0 || !window || window->count() <= 0) return std::nullopt;
  return RateRule{limit, *window};
}

GcraLimiter::GcraLimiter(std::size_t max_keys) : max_per_shard_(std::max<std::size_t>(16, max_keys / kShards)) {}

RateDecision GcraLimiter::decide(RateScope scope, std::string_view key, const RateRule& rule) {
  return take_at(scope, key, rule, Clock::now());
}

boost::asio::awaitable<RateDecision> GcraLimiter::take(RateScope scope, std::string key, const RateRule& rule) {
  co_return decide(scope, key, rule);
}

RateDecision GcraLimiter::take_at(RateScope scope, std::string_view key, const RateRule& rule, Clock::time_point at) {
  RateDecision d;
  d.limit = rule.limit;
  if (!rule.enabled()) {
    d.remaining = rule.limit;
    return d;
  }
  const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
  const std::int64_t window = std::chrono::duration_cast<std::chrono::nanoseconds>(rule.window).count();
  const std::int64_t interval = std::max<std::int64_t>(1, window / rule.limit);
  const std::int64_t burst = interval * rule.limit;  // the window, rounded to whole intervals

  const std::uint64_t fp = fingerprint64(static_cast<std::uint64_t>(scope), key);
  Shard& shard = shards_[fp >> 58];  // the top 6 bits pick the shard, the low bits the slot
  std::lock_guard lock(shard.mutex);
  Slot* slot = find_or_add(shard, fp, now);
  const std::int64_t tat = slot ? std::max(slot->tat, now) : now;
  const std::int64_t next = tat + interval;
  const std::int64_t allowed_from = next - burst;
  if (allowed_from > now) {
    d.allowed = false;
    d.remaining = 0;
    d.reset_seconds = ceil_seconds(tat - now);
    d.retry_after_seconds = std::max<std::int64_t>(1, ceil_seconds(allowed_from - now));
    rejected_[static_cast<int>(scope)].fetch_add(1, std::memory_order_relaxed);
    return d;
  }
  if (slot) slot->tat = next;
  d.remaining = (now - allowed_from) / interval;
  d.reset_seconds = ceil_seconds(next - now);
  return d;
}

GcraLimiter::Slot* GcraLimiter::find_or_add(Shard& shard, std::uint64_t key, std::int64_t now) {
  if (shard.slots.empty()) shard.slots.assign(64, Slot{});
  auto probe = [&]() -> Slot* {
    const std::size_t mask = shard.slots.size() - 1;
    for (std::size_t i = key & mask;; i = (i + 1) & mask) {
      if (shard.slots[i].key == key || shard.slots[i].key == 0) return &shard.slots[i];
    }
  };
  Slot* slot = probe();
  if (slot->key == key) return slot;
  if (shard.count >= max_per_shard_) {
    drop_expired(shard, now);
    if (shard.count >= max_per_shard_) {
      untracked_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
  }
  if ((shard.count + 1) * 2 > shard.slots.size()) rehash(shard, shard.slots.size() * 2, now);
  slot = probe();
  slot->key = key;
  slot->tat = now;
  ++shard.count;
  return slot;
}

void GcraLimiter::drop_expired(Shard& shard, std::int64_t now) { rehash(shard, shard.slots.size(), now); }

// Rebuilds the table at `size` slots, keeping only keys whose quota is not whole yet
// (TAT in the future): a key with TAT <= now would start from `now` anyway.
void GcraLimiter::rehash(Shard& shard, std::size_t size, std::int64_t now) {
  std::vector<Slot> old = std::move(shard.slots);
  shard.slots.assign(size, Slot{});
  shard.count = 0;
  const std::size_t mask = size - 1;
  for (const Slot& s : old) {
    if (s.key == 0 || s.tat <= now) continue;
    std::size_t i = s.key & mask;
    while (shard.slots[i].key != 0) i = (i + 1) & mask;
    shard.slots[i] = s;
    ++shard.count;
  }
}

std::size_t GcraLimiter::tracked_keys() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += shard.count;
  }
  return n;
}

std::size_t GcraLimiter::memory_bytes() const {
  std::size_t bytes = sizeof(*this);
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    bytes += shard.slots.capacity() * sizeof(Slot);
  }
  return bytes;
}

void GcraLimiter::write_metrics(std::string& out) const {
  out += "# HELP ratelimit_rejected_total Requests refused with 429, by scope.\n# TYPE ratelimit_rejected_total counter\n";
  for (RateScope scope : {RateScope::api, RateScope::auth}) {
    out += "ratelimit_rejected_total{scope=\"";
    out += scope_name(scope);
    out += "\"} ";
    out += std::to_string(rejected_[static_cast<int>(scope)].load(std::memory_order_relaxed));
    out += '\n';
  }
  out += "# HELP ratelimit_tracked_keys Users and client addresses the rate limiter remembers.\n# TYPE ratelimit_tracked_keys gauge\n";
  out += "ratelimit_tracked_keys " + std::to_string(tracked_keys()) + "\n";
  out += "# HELP ratelimit_untracked_total Requests allowed untracked because the limiter was full of limited keys.\n# TYPE ratelimit_untracked_total counter\n";
  out += "ratelimit_untracked_total " + std::to_string(untracked_.load(std::memory_order_relaxed)) + "\n";
}

}  // namespace lms::http

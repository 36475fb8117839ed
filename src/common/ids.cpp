#include "common/ids.h"

#include <sodium.h>

#include <array>
#include <atomic>
#include <cstdint>

namespace lms {

std::string new_id() { return new_id_at(now_ms()); }

namespace {

// The id clock: the last (millisecond << 16 | counter) handed out by this process. An id for the
// current time continues from it, so ids made one after the other increase even within a
// millisecond (a lead's activities are ordered by id); a clock stepped back by less than a
// second, or more than 65,536 ids in one millisecond, run a little ahead of the clock. An id
// for another time (seeds, back-dated or future rows) gets a random counter and leaves the
// clock alone.
std::atomic<std::uint64_t> id_clock{0};

std::uint64_t next_stamp(std::uint64_t ms, std::uint64_t random) {
  const std::uint64_t floor = ms << 16;
  const auto now = static_cast<std::uint64_t>(now_ms());
  if (ms > now + 1000 || ms + 1000 < now) return floor | (random & 0xffff);
  std::uint64_t last = id_clock.load(std::memory_order_relaxed);
  for (;;) {
    if ((last >> 16) > ms + 1000) return floor | (random & 0xffff);
    // A new millisecond starts its counter at a random low value, so consecutive ids do not
    // reveal how many were made.
    std::uint64_t next = last >= floor ? last + 1 : floor | (random & 0x3fff);
    if (id_clock.compare_exchange_weak(last, next, std::memory_order_relaxed)) return next;
  }
}

}  // namespace

std::string new_id_at(Millis ms) {
  // The random bits make ids unguessable enough to not collide, nothing more (access is
  // checked by tenancy, never by secrecy of ids), so a per-thread xorshift seeded once from
  // the system is enough and avoids a getrandom() call per id.
  thread_local std::uint64_t state = [] {
    std::uint64_t seed = 0;
    while (seed == 0) randombytes_buf(&seed, sizeof seed);
    return seed;
  }();
  std::array<std::uint8_t, 16> b{};
  for (int half = 0; half < 2; ++half) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    std::uint64_t v = state * 0x2545F4914F6CDD1Dull;
    for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(half * 8 + i)] = static_cast<std::uint8_t>(v >> (8 * i));
  }
  // Layout (RFC 9562, method 1): 48 bits of milliseconds, the version, a 16-bit counter (12 bits,
  // then 4 more after the variant bits), then random bits.
  const std::uint64_t stamp = next_stamp(static_cast<std::uint64_t>(ms) & 0xffffffffffffull, state);
  const std::uint64_t t = stamp >> 16;
  const auto counter = static_cast<std::uint32_t>(stamp & 0xffff);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(t >> (40 - 8 * i));
  b[6] = static_cast<std::uint8_t>(0x70 | (counter >> 12));
  b[7] = static_cast<std::uint8_t>((counter >> 4) & 0xff);
  b[8] = static_cast<std::uint8_t>(0x80 | ((counter & 0x0f) << 2) | (b[8] & 0x03));
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(hex[b[i] >> 4]);
    out.push_back(hex[b[i] & 0xf]);
  }
  return out;
}

}  // namespace lms

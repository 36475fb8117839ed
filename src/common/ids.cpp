#include "common/ids.h"

#include <sodium.h>

#include <array>
#include <cstdint>

namespace lms {

std::string new_id() { return new_id_at(now_ms()); }

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
  auto t = static_cast<std::uint64_t>(ms);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(t >> (40 - 8 * i));
  b[6] = static_cast<std::uint8_t>(0x70 | (b[6] & 0x0f));
  b[8] = static_cast<std::uint8_t>(0x80 | (b[8] & 0x3f));
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

// fingerprint64: a 64-bit hash of a short tagged key (FNV-1a, then splitmix64's avalanche so
// nearby keys spread over a whole table). For in-memory sets and tables that keep hashes
// instead of keys; never 0, so 0 can mark an empty slot. Not for anything an attacker must not
// be able to collide.
#pragma once

#include <cstdint>
#include <string_view>

namespace lms {

inline std::uint64_t fingerprint64(std::uint64_t tag, std::string_view key) {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ tag;
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h == 0 ? 1 : h;
}

}  // namespace lms

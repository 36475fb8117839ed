#include "imports/fingerprint_set.h"

namespace lms::imports {

namespace {

// FNV-1a over the bytes, then a final avalanche (from splitmix64) so that nearby keys spread
// over the whole table.
std::uint64_t mix(std::uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::uint64_t avalanche(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::uint64_t FingerprintSet::fingerprint(std::string_view kind, std::string_view key) {
  std::uint64_t h = mix(0xcbf29ce484222325ULL, kind);
  h = mix(h ^ 0xff, key);  // the separator keeps ("ab", "c") apart from ("a", "bc")
  h = avalanche(h);
  return h == 0 ? 1 : h;
}

bool FingerprintSet::insert(std::string_view kind, std::string_view key) {
  if ((count_ + 1) * 2 > slots_.size()) grow();
  if (!place(fingerprint(kind, key))) return false;
  ++count_;
  return true;
}

bool FingerprintSet::place(std::uint64_t fp) {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = fp & mask;; i = (i + 1) & mask) {
    if (slots_[i] == fp) return false;
    if (slots_[i] == 0) {
      slots_[i] = fp;
      return true;
    }
  }
}

void FingerprintSet::grow() {
  std::vector<std::uint64_t> old = std::move(slots_);
  slots_.assign(old.empty() ? 1024 : old.size() * 2, 0);
  for (std::uint64_t fp : old)
    if (fp != 0) place(fp);
}

}  // namespace lms::imports
